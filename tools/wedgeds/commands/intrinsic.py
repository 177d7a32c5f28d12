#!/usr/bin/python3
"""wedge-plot-intrinsic: intrinsic dimension d_int90 from random-subspace training.

usage: wedge-plot-intrinsic OUT.nc [OUT2.nc ...] [-o PNG] [--fraction 0.9]

d_int90 (METHODS.md, "Intrinsic dimension"; Li et al. 2018) is the smallest d at
which training inside a random d-dimensional subspace (`probes: subspace:`)
reaches 90% of the directly trained network's test accuracy.  Each subspace row
is joined with its training (`source_task`): the target of a seed is `fraction`
x that training's test accuracy at its last epoch.  Per setting group (the swept
keys other than seed) and seed:
  sampled       the smallest sampled d whose subspace test accuracy reaches the
                target ("not reached" if none does)
  interpolated  log-linear interpolation between the largest sampled d below it
                (which fell short) and it: log d is interpolated linearly in
                accuracy.  Only an estimate between two sampled d's; "<=d" when
                the smallest sampled d already reaches the target.
and over the seeds of a group: the median and the range (min-max), a seed that
never reaches the target counting as infinitely large.

Prints markdown tables on stdout: the test accuracy against d (per seed, and the
mean over seeds), d_int per seed, and the per-group summary.  The figure has one
panel per group: accuracy against d (log x) per seed, the seed's target as a
dashed line of its colour, and its interpolated d_int as a cross on that line.
Several files of one sweep (array jobs) are combined.

Default output: <name>-intrinsic.png next to the first input.
Exit status: 0 written, 1 a file that is not a readable wedge output (or an
unwritable PNG), 2 bad arguments, no (done) subspace rows.
"""
import math

import numpy as np

from .. import cli, labels, plotting
from ..files import swept_keys
from ..subspaces import NoSubspaces, intrinsic_dims, subspace_frame
from ..tables import fmt, kv, median_inf, print_table

PROG = "wedge-plot-intrinsic"

def fmt_d(x, bound=False):
    """A d_int for a table: 'not reached' for inf, '<=d' for an upper bound."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if math.isinf(x):
        return "not reached"
    s = f"{x:.0f}"
    return f"<={s}" if bound else s


def fmt_range(v):
    v = np.asarray(v, dtype=float)
    v = v[~np.isnan(v)]
    if v.size == 0:
        return "-"
    lo, hi = fmt_d(v.min()), fmt_d(v.max())
    return lo if lo == hi else f"{lo}-{hi}"


def _run(argv):
    ap = cli.parser(PROG, __doc__)
    ap.add_argument("files", nargs="+", metavar="OUT.nc")
    ap.add_argument("-o", "--output", metavar="PNG")
    ap.add_argument("--fraction", type=float, default=0.9,
                    help="target = FRACTION x the direct test accuracy (default 0.9)")
    ap.add_argument("--print-labels", action="store_true",
                    help="print each panel's axis labels on stdout")
    a = ap.parse_args(argv)
    if not 0 < a.fraction <= 1:
        cli.die(f"--fraction {a.fraction:g}: must be in (0, 1]")
    pct = f"{100 * a.fraction:g}%"

    ds, title, name = cli.open_for_cli(a.files)
    try:
        sf = subspace_frame(ds)
    except NoSubspaces as e:
        cli.die(f"{a.files[0]}: {e} (add probes.subspace to the sweep)")
    except ValueError as e:
        cli.die(f"{a.files[0]}: {e}", 1)
    ntot = len(sf)
    if not (sf.status == "done").any():
        cli.die(f"{a.files[0]}: no done subspace rows yet (0 of {ntot} done)")
    at = sf.attrs.get("at", "init")
    sp = sf.attrs.get("subspace", {})
    # the subspace's optimiser as the sweep gave it ("default" where it relies on one)
    how = ", ".join(f"{k} {sp[k] if k in sp else 'default'}"
                    for k in ("epochs", "lr", "lr_ref_d", "nnz"))
    dims = intrinsic_dims(sf, fraction=a.fraction)
    gkeys = [k for k in swept_keys(ds) if k != "seed"]

    def label(row):
        return ", ".join(f"{k}={kv(row[k])}" for k in gkeys) or title

    byname = {}  # label -> (key values, rows of dims), in plan order
    for _, r in dims.iterrows():
        byname.setdefault(label(r), ([kv(r[k]) for k in gkeys], []))[1].append(r)
    groups = [(lab, kvals, rs) for lab, (kvals, rs) in byname.items()]
    seeds = sorted(set(float(s) for s in dims.seed))
    done = sf[sf.status == "done"]

    # ---- accuracy against d, per group
    hdr = gkeys + ["d"] + [f"seed {s:g}" for s in seeds] + ["mean", "mean / direct"]
    rows = []
    for lab, kvals, rs in groups:
        srcs = {float(r.seed): int(r.source_task) for r in rs}
        direct = {float(r.seed): r.direct_test_accuracy for r in rs}
        rows.append(kvals + ["direct"] + [fmt(direct.get(s, np.nan), ".4f") for s in seeds] +
                    [fmt(np.nanmean(list(direct.values())), ".4f"), "1"])
        rows.append(kvals + [f"target ({pct})"] +
                    [fmt(a.fraction * direct.get(s, np.nan), ".4f") for s in seeds] +
                    [fmt(a.fraction * np.nanmean(list(direct.values())), ".4f"), fmt(a.fraction, "g")])
        g = done[done.source_task.isin(list(srcs.values()))]
        for d in sorted(set(g.d)):
            at_d = g[g.d == d]
            acc = {float(r.seed): r.subspace_test_accuracy for _, r in at_d.iterrows()}
            vals = [acc[s] for s in seeds if s in acc]
            ratio = at_d.ratio.values
            rows.append(kvals + [f"{d:.0f}"] + [fmt(acc.get(s, np.nan), ".4f") for s in seeds] +
                        [fmt(np.mean(vals), ".4f"),
                         fmt(np.nanmean(ratio) if np.isfinite(ratio).any() else np.nan, ".3f")])
    print_table(f"{title}: test accuracy after training in a random d-dimensional subspace "
                f"(anchored at the {'initialisation' if at == 'init' else 'optimum'}; {how}); "
                f"direct = the trained network's", hdr, rows)

    # ---- d_int per seed
    hdr = gkeys + ["seed", "training task", "direct acc", "target",
                   f"d_int{100 * a.fraction:g} (sampled)", "bracket",
                   f"d_int{100 * a.fraction:g} (log-linear interp.)", "d done"]
    rows = []
    for lab, kvals, rs in groups:
        for r in sorted(rs, key=lambda r: float(r.seed)):
            br = ("-" if not r.reached or r.below_range else
                  f"{r.lower:.0f}-{r.upper:.0f}")
            if not r.reached and np.isfinite(r.lower):
                br = f">{r.lower:.0f}"
            rows.append(kvals + [kv(r.seed), str(r.source_task), fmt(r.direct_test_accuracy, ".4f"),
                                 fmt(r.target, ".4f"), fmt_d(r.sampled), br,
                                 fmt_d(r.interpolated, bound=bool(r.below_range)),
                                 f"{r.n_dims}/{r.n_tasks}" + ("" if r.complete else " (incomplete)")])
    print_table(f"{title}: d_int per seed: the smallest sampled d reaching {pct} of the direct "
                "test accuracy, and a log-linear interpolation between the bracketing d's",
                hdr, rows)

    # ---- summary per group
    hdr = gkeys + ["seeds", "median (sampled)", "range (sampled)", "median (interp.)",
                   "range (interp.)", "not reached"]
    rows = []
    for lab, kvals, rs in groups:
        samp = [r.sampled for r in rs]
        itp = [r.interpolated for r in rs]
        nr = sum(1 for r in rs if np.isfinite(r.target) and not r.reached)
        nt = sum(1 for r in rs if np.isfinite(r.target))  # seeds whose training is done
        rows.append(kvals + [str(nt) if nt == len(rs) else f"{nt} of {len(rs)}",
                             fmt_d(median_inf(samp)), fmt_range(samp),
                             fmt_d(median_inf(itp)), fmt_range(itp), str(nr)])
    print_table(f"{title}: d_int{100 * a.fraction:g} over seeds (median and min-max; a seed "
                "not reaching the target counts as infinite)", hdr, rows)

    # ---- the figure
    plt = plotting.pyplot()
    n = len(groups)
    fig, axes = plt.subplots(1, n, figsize=(5.4 * n, 4.6), squeeze=False)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, (lab, kvals, rs) in zip(axes[0], groups):
        for r in sorted(rs, key=lambda r: float(r.seed)):
            c = colors[seeds.index(float(r.seed)) % len(colors)]
            g = done[done.source_task == r.source_task].sort_values("d")
            ax.plot(g.d, g.subspace_test_accuracy, "o-", color=c, ms=4, lw=1.2,
                    label=labels.setting("seed", r.seed))
            if np.isfinite(r.target):
                ax.axhline(r.target, color=c, ls="--", lw=0.8, alpha=0.8)
            if r.reached and not r.below_range:
                ax.plot([r.interpolated], [r.target], "x", color=c, ms=8, mew=1.8)
        med = median_inf([r.sampled for r in rs])
        medi = median_inf([r.interpolated for r in rs])
        plotting.x_axis(ax, "d", list(done.d.dropna()))
        plotting.y_axis(ax, "test_accuracy")
        ax.set_title(f"{lab}\nd_int{100 * a.fraction:g} sampled: median {fmt_d(med)}, "
                     f"range {fmt_range([r.sampled for r in rs])}\n"
                     f"interpolated: median {fmt_d(medi)}, "
                     f"range {fmt_range([r.interpolated for r in rs])}", fontsize=8.5)
        plotting.legend(ax, fontsize=8)
    plotting.finish(fig, f"{title}: random-subspace training at the "
                    f"{'initialisation' if at == 'init' else 'optimum'} ({how})",
                    f"One line per seed: test accuracy after training in a random "
                    f"d-dimensional subspace; dashed: that seed's target, {pct} of its directly "
                    "trained test accuracy; x: the log-linear interpolated d_int.")
    if a.print_labels:
        plotting.print_labels(fig)
    out = a.output or cli.default_output(a.files, name, "intrinsic")
    plotting.save(fig, out, PROG,
                  f"{n} group(s), {len(done)} of {ntot} subspace rows done")
    return 0


def main(argv=None):
    return cli.command(PROG, _run, argv)
