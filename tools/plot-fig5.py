#!/usr/bin/python3
"""plot-fig5.py: the paper's Figure 5 -- radial tunnel width against a swept hyperparameter.

usage: plot-fig5.py OUT.nc [OUT2.nc ...] [-o PNG] [--key KEY] [--level 1.0]
                    [--epoch last|N] [--errors minmax|std]

Two panels: the angular width phi (degrees) and the distance (median a*) at one
level (default dL = 1 nat) of the probe at the last probed epoch, each the mean
over seeds with error bars (min-max over seeds by default, or +-1 std), against
KEY (default: the first swept key that is not seed; log axis when its values
span a decade or more, symlog if they include 0).  Other swept keys give one line each.  Only complete
probes count (every split task done).  Prints the plotted numbers as a markdown
table on stdout.  Several files of one sweep (array jobs) are combined.

Default output: <title>-fig5.png next to the first input.
Exit status: 0 written, 1 error, 2 bad arguments or no (done) tunnel probes.
"""
import argparse
import os
import sys

os.environ.setdefault("MPLBACKEND", "Agg")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

import wedgeds  # noqa: E402
from wedgeds import fmt  # noqa: E402


def die(msg, code=2):
    print(f"plot-fig5.py: {msg}", file=sys.stderr)
    sys.exit(code)


def aggregate(df, key, others):
    """Per (others..., key): n seeds and mean/std/min/max of phi and distance."""
    rows = []
    by = others + [key]
    for gval, g in df.groupby(by if len(by) > 1 else key, sort=True, dropna=False):
        gval = gval if isinstance(gval, tuple) else (gval,)
        p = g.phi_deg.dropna()
        d = g.distance.dropna()
        acc = g.final_test_accuracy.dropna()
        rows.append(dict(zip(others + [key], gval),
                         n=int(g.probe_complete.sum()), n_phi=len(p),
                         phi_mean=p.mean(), phi_std=p.std(ddof=1) if len(p) > 1 else np.nan,
                         phi_min=p.min(), phi_max=p.max(),
                         dist_mean=d.mean(), dist_std=d.std(ddof=1) if len(d) > 1 else np.nan,
                         dist_min=d.min(), dist_max=d.max(),
                         acc_mean=acc.mean() if len(acc) else np.nan))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="+", metavar="OUT.nc")
    ap.add_argument("-o", "--output", metavar="PNG")
    ap.add_argument("--key", help="swept key on the x axis (default: first non-seed key)")
    ap.add_argument("--level", default="1.0",
                    help="dL of the level (default 1.0), or 'chance' for ln 10")
    ap.add_argument("--epoch", default="last", help="probe epoch (default: the last probed)")
    ap.add_argument("--errors", choices=("minmax", "std"), default="minmax",
                    help="error bars: min-max over seeds (default) or +-1 std")
    a = ap.parse_args()

    ds, title = wedgeds.open_for_cli(a.files, die)
    keys = wedgeds.swept_keys(ds)
    if a.key is None:
        cand = [k for k in keys if k != "seed"]
        if not cand:
            die(f"{a.files[0]}: no swept key besides seed (swept: {' '.join(keys) or 'none'})")
        a.key = cand[0]
    elif a.key not in keys:
        a.key = {"name": "dataset"}.get(a.key.split(".")[-1], a.key.split(".")[-1])
        if a.key not in keys:
            die(f"--key {a.key}: not a swept key (swept: {' '.join(keys)})")
    others = [k for k in keys if k not in (a.key, "seed")]
    epoch = a.epoch if a.epoch == "last" else int(a.epoch)

    try:
        tw = wedgeds.tunnel_widths(ds, epoch=epoch, unstack=False)
    except wedgeds.NoProbes as e:
        die(f"{a.files[0]}: {e}")
    try:
        level = wedgeds.pick_level(tw, a.level)
    except (KeyError, ValueError) as e:
        die(f"--level {a.level}: {e}")
    if not tw.complete.values.any():
        die(f"{a.files[0]}: no done tunnel probes yet "
            f"({int(tw.n_tasks_done.sum())} of {int(tw.n_tasks.sum())} probe tasks done)")
    df = wedgeds.training_frame(ds, level=level, epoch=epoch)
    df = df[df.probe_complete]
    probe_epochs = sorted(set(int(e) for e in df.probe_epoch))
    lvl = wedgeds.level_label(tw, level)
    rows = aggregate(df, a.key, others)

    # ---- the table
    num = a.key not in ("dataset", "arch", "activation", "optimizer", "schedule")
    print(f"{title}: radial tunnel width at {lvl}, probe epoch "
          f"{', '.join(map(str, probe_epochs))}; mean and std (n-1) over seeds, "
          f"complete probes only (test acc: the same seeds)")
    print()
    hdr = others + [a.key, "n seeds", "phi mean (deg)", "phi std (deg)",
                    "distance mean", "distance std", "test acc mean"]
    print("| " + " | ".join(hdr) + " |")
    print("|" + "|".join("---:" for _ in hdr) + "|")
    for r in rows:
        vals = [f"{r[k]:.4g}" if isinstance(r[k], (float, np.floating)) else str(r[k])
                for k in others + [a.key]]
        n = str(r["n"]) if r["n_phi"] == r["n"] else f"{r['n']} ({r['n'] - r['n_phi']} not reached)"
        vals += [n, fmt(r["phi_mean"], ".3f"), fmt(r["phi_std"], ".3f"),
                 fmt(r["dist_mean"], ".4g"), fmt(r["dist_std"], ".3g"),
                 fmt(r["acc_mean"], ".4f")]
        print("| " + " | ".join(vals) + " |")

    # ---- the figure
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), dpi=150)
    series = {}
    for r in rows:
        series.setdefault(tuple(r[k] for k in others), []).append(r)
    xs_all = np.array([r[a.key] for r in rows], dtype=float) if num else None
    # log axis when the values span a decade or more (lr, l2); symlog if 0 is among them
    pos = xs_all[xs_all > 0] if num else np.array([])
    logx = bool(num and pos.size > 1 and (xs_all >= 0).all() and pos.max() / pos.min() >= 10)
    symlog = logx and (xs_all == 0).any()
    nseeds = sorted(set(r["n"] for r in rows))
    nlab = f"{nseeds[0]}" if len(nseeds) == 1 else f"{nseeds[0]}-{nseeds[-1]}"
    barlab = "min-max" if a.errors == "minmax" else "+-1 std"
    for s, rs in series.items():
        x = np.array([r[a.key] for r in rs], dtype=float) if num else np.arange(len(rs))
        lab = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                        for k, v in zip(others, s))
        what = "1 seed" if nseeds == [1] else f"mean of {nlab} seeds, bars {barlab}"
        lab = (lab + ": " if lab else "") + what
        for ax, q in zip(axes, ("phi", "dist")):
            m = np.array([r[f"{q}_mean"] for r in rs])
            if a.errors == "minmax":
                lo = m - np.array([r[f"{q}_min"] for r in rs])
                hi = np.array([r[f"{q}_max"] for r in rs]) - m
            else:
                lo = hi = np.nan_to_num(np.array([r[f"{q}_std"] for r in rs]))
            ax.errorbar(x, m, yerr=[lo, hi], marker="o", capsize=3, label=lab)
    for ax, yl in zip(axes, ("angular width phi (deg)", "distance: median a*")):
        ax.set_xlabel(a.key)
        ax.set_ylabel(yl)
        if symlog:
            ax.set_xscale("symlog", linthresh=pos.min())
        elif logx:
            ax.set_xscale("log")
        if not num:
            ax.set_xticks(range(len(rows) // max(1, len(series))))
            ax.set_xticklabels([str(r[a.key]) for r in next(iter(series.values()))])
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(f"{title}: tunnel width vs {a.key} ({lvl}, probe epoch "
                 f"{', '.join(map(str, probe_epochs))})", fontsize=10)
    fig.tight_layout()
    out = a.output or os.path.join(os.path.dirname(os.path.abspath(a.files[0])),
                                   f"{title}-fig5.png")
    wedgeds.save_plot(fig, out, "plot-fig5.py", die)
    return 0


if __name__ == "__main__":
    sys.exit(main())
