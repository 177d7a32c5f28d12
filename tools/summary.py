#!/usr/bin/python3
"""summary.py: a markdown table of a wedge sweep, one row per setting (seeds aggregated).

usage: summary.py OUT.nc [OUT2.nc ...] [--level 1.0] [--epoch last|N]

Prints the task counts per kind and status, then one row per setting of the
swept keys other than seed: training tasks done / failed / diverged / pending,
final train loss and test accuracy (mean +- std over the done seeds), and, when
the output has tunnel probes, the angular width phi (degrees) and the distance
(median a*) at the level (default dL = 1 nat) of the last probed epoch
(mean +- std over the seeds with a complete probe; "n/a" when a median was not
reached).  Several files of one sweep (array jobs) are combined.
Exit status: 0, 1 error, 2 bad arguments.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

import wedgeds  # noqa: E402


def pm(x, spec, sspec=None):
    """mean +- std (n-1) of the finite values of x, '-' if none."""
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return "-"
    if x.size == 1:
        return format(x[0], spec)
    return f"{format(x.mean(), spec)} ± {format(x.std(ddof=1), sspec or spec)}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="+", metavar="OUT.nc")
    ap.add_argument("--level", default="1.0", help="tunnel level dL (default 1.0) or 'chance'")
    ap.add_argument("--epoch", default="last", help="probe epoch (default: the last probed)")
    a = ap.parse_args()
    def die(msg):
        print(f"summary.py: {msg}", file=sys.stderr)
        sys.exit(2)

    ds, title = wedgeds.open_for_cli(a.files, die)
    epoch = a.epoch if a.epoch == "last" else int(a.epoch)
    keys = wedgeds.swept_keys(ds)

    sc = wedgeds.status_counts(ds)
    print(f"## {title}")
    print()
    print(f"{' + '.join(a.files)}; swept: {' x '.join(keys) or 'nothing'}")
    print()
    cols = list(sc.columns)
    print("| kind | " + " | ".join(cols) + " |")
    print("|---|" + "|".join("---:" for _ in cols) + "|")
    for kind, row in sc.iterrows():
        print(f"| {kind} | " + " | ".join(str(int(row[c])) for c in cols) + " |")
    print()

    try:
        df = wedgeds.training_frame(ds, level=a.level, epoch=epoch)
    except wedgeds.NoProbes as e:  # --epoch N that was never probed
        print(f"summary.py: {e}", file=sys.stderr)
        return 2
    except KeyError as e:
        print(f"summary.py: --level {a.level}: {e}", file=sys.stderr)
        return 2
    probes = df.attrs.get("level") is not None
    by = [k for k in keys if k != "seed"]
    hdr = by + ["done", "failed", "diverged", "pending", "train loss", "test accuracy"]
    note = ""
    if probes:
        lvl = wedgeds.level_label(ds, df.attrs["level"])
        eps = sorted(set(int(e) for e in df.probe_epoch.dropna()))
        hdr += ["probes", "phi (deg)", "distance"]
        note = (f"; tunnel width at {lvl}, probe epoch {', '.join(map(str, eps))}, over "
                "the seeds with a complete probe (probes: complete/all)")
    print(f"Mean ± std (n-1) over seeds; final-epoch metrics of done trainings{note}.")
    print()
    print("| " + " | ".join(hdr) + " |")
    print("|" + "|".join("---" if h in by else "---:" for h in hdr) + "|")
    groups = df.groupby(by if len(by) > 1 else by[0], sort=False) if by else [((), df)]
    for gval, g in groups:
        gval = gval if isinstance(gval, tuple) else (gval,)
        st = g.status.values
        cells = [f"{v:.4g}" if isinstance(v, (float, np.floating)) else str(v) for v in gval]
        cells += [str(int((st == s).sum())) for s in (wedgeds.DONE, wedgeds.FAILED,
                                                     wedgeds.DIVERGED, wedgeds.PENDING)]
        cells += [pm(g.final_train_loss, ".4f"), pm(g.final_test_accuracy, ".4f")]
        if probes:
            c = g[g.probe_complete]
            nr = len(c) - int(np.isfinite(c.phi_deg.values).sum())
            cells += [f"{len(c)}/{int(g.probe_epoch.notna().sum())}",
                      pm(c.phi_deg, ".2f") + (f" ({nr} n/a)" if nr else ""),
                      pm(c.distance, ".4g", ".2g")]
        print("| " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
