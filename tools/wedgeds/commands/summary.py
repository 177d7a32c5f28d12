"""wedge-summary: a Markdown table of a wedge sweep, one row per setting (seeds aggregated).

usage: wedge-summary OUT.nc [OUT2.nc ...] [--level 1.0] [--epoch last|N]
                     [--chance-margin 0.02]

Prints the task counts per kind and status, then one row per setting of the
swept keys other than seed: training tasks done / failed / diverged / pending,
how many done trainings did not learn, final train loss and test accuracy
(mean ± sd over the done seeds), and, when the output has tunnel probes, the
angular width phi (degrees) and the distance (median a*) at the level (default
dL = 1 nat) of the last probed epoch (mean ± sd over the seeds with a complete
probe; "n/a" when a median was not reached), and, when the output has Hessian
tasks at the optima, N_short there at the study's lambda_thr (the mean over the
done seeds: exact for full spectra and converged Lanczos, ">= N (not
converged)" when a Lanczos count among them is a lower bound, "N [lo, hi]" for
SLQ estimates; wedge-hessian says more).  Trained optima with eigenvalues below
-lambda_thr (n_negative > 0: no minimum at that threshold) are named in warning
lines.  Several files of one sweep (array jobs) are combined.

"Did not learn": a done training whose final training loss is above its first
epoch's, or whose final test accuracy is at or below chance, 1/classes +
--chance-margin (absolute, default 0.02).  Such rows are marked "NO" in the
"learned" column ("NO 1/3": one of three seeds), and a line counts them.

Exit status: 0, 1 a file that is not a readable wedge output, 2 bad arguments.
"""

import numpy as np

from .. import cli, flags, spectra, tunnels
from ..connectors import NoHessians, hessian_frame
from ..files import swept_keys
from ..tables import kv, pm, print_table
from ..training import CHANCE_MARGIN, training_frame

PROG = "wedge-summary"


def _run(argv):
    ap = cli.parser(PROG, __doc__)
    ap.add_argument("files", nargs="+", metavar="OUT.nc")
    ap.add_argument("--level", default="1.0", help="tunnel level dL (default 1.0) or 'chance'")
    ap.add_argument("--epoch", default="last", help="probe epoch (default: the last probed)")
    ap.add_argument("--chance-margin", type=float, default=CHANCE_MARGIN, metavar="M",
                    help="'at chance' is accuracy <= 1/classes + M (default %(default)g)")
    a = ap.parse_args(argv)
    try:
        epoch = a.epoch if a.epoch == "last" else int(a.epoch)
    except ValueError:
        cli.die(f"--epoch {a.epoch}: 'last' or an epoch number")

    ds, title, _ = cli.open_for_cli(a.files)
    keys = swept_keys(ds)
    sc = flags.status_counts(ds)
    print(f"## {title}")
    print()
    print(f"{' + '.join(a.files)}; swept: {' x '.join(keys) or 'nothing'}")
    print()
    cols = list(sc.columns)
    print_table(None, ["kind"] + cols,
                [[kind] + [str(int(row[c])) for c in cols] for kind, row in sc.iterrows()],
                ["l"] + ["r"] * len(cols))

    if not flags.is_kind(ds, "train").any():
        print("No training rows.")
        return 0
    try:
        df = training_frame(ds, level=a.level, epoch=epoch, margin=a.chance_margin)
    except tunnels.NoProbes as e:  # --epoch N that was never probed
        cli.die(str(e))
    except (KeyError, ValueError) as e:
        cli.die(f"--level {a.level}: {e}")
    probes = df.attrs.get("level") is not None
    by = [k for k in keys if k != "seed"]
    hdr = by + ["done", "failed", "diverged", "pending", "learned", "train loss",
                "test accuracy"]
    note = ""
    try:
        hf = hessian_frame(ds)
        hopt = hf[(hf.site == "optimum") & (hf.status == "done")]
    except NoHessians:
        hf = hopt = None
    nshort = {}
    if hopt is not None and not hopt.empty:
        for _, r in hopt.iterrows():
            nshort.setdefault(tuple(_plain(r[k]) for k in by), []).append(
                spectra.stored_count(r))
        hdr += ["N_short (optima)"]
        note += (f"; N_short at the trained optima, lambda_thr = {hf.attrs['threshold']:g} "
                 f"({hf.attrs['method']}), mean over the done seeds")
    if probes:
        lvl = tunnels.level_label(ds, df.attrs["level"])
        eps = sorted(set(int(e) for e in df.probe_epoch.dropna()))
        hdr += ["probes", "phi (deg)", "distance"]
        note = (f"; tunnel width at {lvl}, probe epoch {', '.join(map(str, eps))}, over "
                "the seeds with a complete probe (probes: complete/all)")
    rows = []
    groups = df.groupby(by if len(by) > 1 else by[0], sort=False) if by else [((), df)]
    for gval, g in groups:
        gval = gval if isinstance(gval, tuple) else (gval,)
        st = g.status.values
        done = g[g.status == "done"]
        bad = int(done.did_not_learn.sum())
        cells = [f"{v:.4g}" if isinstance(v, (float, np.floating)) else kv(v) for v in gval]
        cells += [str(int((st == s).sum())) for s in ("done", "failed", "diverged", "pending")]
        cells += [("NO" if bad == len(done) else f"NO {bad}/{len(done)}") if bad else
                  ("yes" if len(done) else "-")]
        cells += [pm(done.final_train_loss, ".4f"), pm(done.final_test_accuracy, ".4f")]
        if nshort:
            ns = spectra.aggregate(nshort.get(tuple(_plain(v) for v in gval), []))
            cells += [ns.text(".1f" if ns.n > 1 and ns.kind != "estimate" else None)]
        if probes:
            c = g[g.probe_complete]
            nr = len(c) - int(np.isfinite(c.phi_deg.values).sum())
            cells += [f"{len(c)}/{int(g.probe_epoch.notna().sum())}",
                      pm(c.phi_deg, ".2f") + (f" ({nr} n/a)" if nr else ""),
                      pm(c.distance, ".4g", ".2g")]
        rows.append(cells)
    print_table(f"Mean ± sd (n-1) over seeds; final-epoch metrics of done trainings{note}.",
                hdr, rows, ["l" if h in by else "r" for h in hdr])
    done = df[df.status == "done"]
    n_bad = int(done.did_not_learn.sum())
    chance = sorted(set(float(c) for c in done.chance.dropna()))
    ch = ", ".join(f"1/{round(1 / c)}" for c in chance) or "1/classes"
    print(f"Did not learn: {n_bad} of {len(done)} done trainings "
          f"({int(done.loss_rose.sum())} with the final training loss above the first "
          f"epoch's, {int(done.at_chance.sum())} with the final test accuracy at or below "
          f"chance {ch} + {a.chance_margin:g}).")
    if hf is not None:
        print()
        spectra.print_negative_warnings(hf, spectra.setting_keys(ds))
    return 0


def _plain(v):
    return v.item() if hasattr(v, "item") else v


def main(argv=None):
    return cli.command(PROG, _run, argv)
