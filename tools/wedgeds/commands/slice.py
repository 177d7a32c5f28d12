#!/usr/bin/python3
"""wedge-plot-slice: 1-D and 2-D loss slices along filter-normalised random directions (Li et al. 2018).

usage: wedge-plot-slice OUT.nc [OUT2.nc ...] [-o PNG] [--task N] [--group N] [--epoch E]
                        [--test] [--vmin X] [--vmax X] [--levels N] [--print-labels]

For a sweep with `probes: slice:` (docs/sweep-format.md): the loss at
theta + a d1 (1-D) and theta + a d1 + b d2 (2-D) around a trained snapshot theta,
d1 and d2 random directions rescaled filter by filter to theta's filter norms, as
Li et al. (2018) plot it with their loss-landscape code.

  left     the 1-D slices: the probe-set loss against a, one thin line per seed,
           their mean over seeds bold (where every seed has the point), and the
           accuracy of the mean on a second axis (dashed), as loss-landscape's
           1-D plots do.
  right    the 2-D slices, one panel per seed (at most 4): contours of the loss
           over (a, b) at log-spaced levels from --vmin to --vmax (default: the
           surfaces' smallest loss and 3 x the chance loss ln(classes), or their
           largest loss if lower), --levels of them (default 20), filled, with
           the snapshot theta (a = b = 0) marked by a star.

The split tasks of one slice (same source_task, probe_epoch and slice_dims) are
combined point by point (1-D) or row by row (2-D).  A sweep that sweeps other
keys than seed has one group of trainings per setting: --group N picks one
(default 0, the first in task order); --task N shows the training task N alone.
--epoch E picks the probed snapshot epoch (default the last one probed).  --test
shows the test split's loss and accuracy (sweeps with `test: yes`).

Prints the numbers as markdown tables on stdout: per seed (and their mean) for
the 1-D slices the loss at the centre (theta), at a = -range and a = +range, the
largest loss and the accuracy at the centre, |theta| and |d1|; for the 2-D
slices the loss at the centre, the smallest and largest loss on the grid, the
cosine between d1 and d2 and the rows filled.

Several files of one sweep (array jobs) are combined.  --print-labels prints the
figure's axis labels.

Default output: <name>-slice.png next to the first input.
Exit status: 0 written, 1 a file that is not a readable wedge output (or an
unwritable PNG), 2 bad arguments or no slice probes (done) to show.
"""
import math
import sys
import textwrap

import numpy as np

from .. import cli, flags, labels, plotting
from ..files import swept_keys
from ..tables import fmt, print_table
from ..training import chance_accuracy

PROG = "wedge-plot-slice"
MAX_PANELS = 4

AXES = {"a": "a (along d1)", "b": "b (along d2)"}
# what a = 1 means, by the file's normalisation attribute
SCALE = {
    "filter": "Every filter of d1 (d2) is as long as θ's same filter, so a = 1 moves each "
              "filter by its own length. ",
    "layer": "Every weight tensor of d1 (d2) is as long as θ's same tensor. ",
    "none": "d1, d2 are N(0, I) as drawn (not normalised). ",
}


def group_keys(ds):
    """Per task: the values of the swept keys other than seed (a tuple), and their names."""
    names = [k for k in swept_keys(ds) if k != "seed"]
    cols = [[v if isinstance(v, str) else float(v) for v in ds[n].values] for n in names]
    return [tuple(c[i] for c in cols) for i in range(ds.sizes["task"])], names


def slices(ds, dims, split):
    """{(source_task, epoch): dict} of the done slices of ``dims`` (1 or 2), the split
    tasks of each combined: loss and acc (1-D: G; 2-D: G x G), loss0, acc0, norms."""
    sel = flags.is_kind(ds, "slice") & (np.asarray(ds.slice_dims.values) == dims)
    done = flags.is_status(ds, "done")
    pre = f"slice{dims}_"
    lv, av = (f"{pre}test_loss", f"{pre}test_accuracy") if split == "test" else \
             (f"{pre}loss", f"{pre}accuracy")
    if lv not in ds:
        return {}
    loss, acc = ds[lv].values, ds[av].values
    l0n, a0n = ("slice_test_loss0", "slice_test_accuracy0") if split == "test" else \
               ("slice_loss0", "slice_accuracy0")
    src, pep = ds.source_task.values, ds.probe_epoch.values
    groups = {}
    for i in np.flatnonzero(sel):
        groups.setdefault((int(src[i]), int(pep[i])), []).append(i)
    out = {}
    for g, members in sorted(groups.items()):
        ok = [i for i in members if done[i]]
        r = dict(ntask=len(members), ndone=len(ok), complete=len(ok) == len(members))
        comb, cacc = np.full(loss.shape[1:], np.nan), np.full(acc.shape[1:], np.nan)
        for i in ok:  # each point (1-D) or row (2-D) from the task that computed it
            have = np.isfinite(loss[i]) if dims == 1 else np.isfinite(loss[i]).any(axis=1)
            comb[have], cacc[have] = loss[i][have], acc[i][have]
        r.update(loss=comb, acc=cacc)
        for key, var in (("loss0", l0n), ("acc0", a0n), ("theta", "slice_theta_norm"),
                         ("d1", "slice_d1_norm"), ("d2", "slice_d2_norm"), ("cos", "slice_cos")):
            r[key] = float(ds[var].values[ok[0]]) if ok else np.nan
        out[g] = r
    return out


def _run(argv):
    ap = cli.parser(PROG, __doc__)
    ap.add_argument("files", nargs="+", metavar="OUT.nc")
    ap.add_argument("-o", "--output", metavar="PNG")
    ap.add_argument("--task", type=int, default=None,
                    help="show the slices of this training task only")
    ap.add_argument("--group", type=int, default=0,
                    help="which group of seed replicates (when other keys are swept); default 0")
    ap.add_argument("--epoch", type=int, default=None,
                    help="probed snapshot epoch (default: the last one probed)")
    ap.add_argument("--test", action="store_true",
                    help="the test split's loss and accuracy (sweeps with `test: yes`)")
    ap.add_argument("--vmin", type=float, default=None, help="lowest contour level (loss)")
    ap.add_argument("--vmax", type=float, default=None, help="highest contour level (loss)")
    ap.add_argument("--levels", type=int, default=20, help="contour levels (default 20)")
    ap.add_argument("--print-labels", action="store_true",
                    help="print each panel's axis labels on stdout")
    a = ap.parse_args(argv)
    die = cli.die
    if a.levels < 2:
        die(f"--levels {a.levels}: need at least 2")
    if a.vmin is not None and not a.vmin > 0:
        die(f"--vmin {a.vmin:g}: contour levels are log-spaced, need a loss > 0")
    if a.vmin is not None and a.vmax is not None and not a.vmax > a.vmin:
        die(f"--vmax {a.vmax:g} is not above --vmin {a.vmin:g}")

    ds, title, name = cli.open_for_cli(a.files)
    if "slice_dims" not in ds or not flags.is_kind(ds, "slice").any():
        die(f"{a.files[0]}: no slice probes (needs `probes: slice:` in the sweep)")
    split = "test" if a.test else "probe"
    if a.test and "slice_test_loss0" not in ds:
        die(f"{a.files[0]}: no test-split slices (the sweep's probes.slice has no `test: yes`)")
    s1, s2 = slices(ds, 1, split), slices(ds, 2, split)
    if not any(r["ndone"] for r in list(s1.values()) + list(s2.values())):
        die(f"{a.files[0]}: no done slice tasks yet")

    pos = {int(t): i for i, t in enumerate(ds.task.values)}
    gkeys, gnames = group_keys(ds)
    seeds = ds.seed.values
    if a.task is not None:
        if a.task not in pos or not flags.is_kind(ds, "train")[pos[a.task]]:
            die(f"--task {a.task}: not a training task of this sweep")
        keep = {a.task}
        gdesc = labels.settings(gnames, gkeys[pos[a.task]])
    else:
        groups = []
        for i in np.flatnonzero(flags.is_kind(ds, "train")):
            if gkeys[i] not in groups:
                groups.append(gkeys[i])
        if not 0 <= a.group < max(1, len(groups)):
            die(f"--group {a.group}: the sweep has {len(groups)} group(s) of seeds")
        gsel = groups[a.group] if groups else ()
        if len(groups) > 1:
            print(f"{PROG}: {len(groups)} groups of seeds; showing group {a.group} "
                  f"({labels.settings(gnames, gsel)}); pick another with --group",
                  file=sys.stderr)
        keep = {int(ds.task.values[i]) for i in np.flatnonzero(flags.is_kind(ds, "train"))
                if gkeys[i] == gsel}
        gdesc = labels.settings(gnames, gsel)
    epochs = sorted({e for (s, e), r in list(s1.items()) + list(s2.items())
                     if s in keep and r["ndone"]})
    if not epochs:
        die(f"{a.files[0]}: no done slice tasks of the training(s) shown")
    ep = a.epoch if a.epoch is not None else epochs[-1]
    if ep not in epochs:
        die(f"--epoch {ep}: the slices shown were probed at epoch(s) "
            + ", ".join(str(e) for e in epochs))
    one = {s: r for (s, e), r in s1.items() if s in keep and e == ep and r["ndone"]}
    two = {s: r for (s, e), r in s2.items() if s in keep and e == ep and r["ndone"]}

    def seed_of(src):
        return float(seeds[pos[src]])

    x1 = ds.slice1_x.values if one else None
    x2, y2 = (ds.slice2_x.values, ds.slice2_y.values) if two else (None, None)
    chance = -math.log(float(np.nanmin(chance_accuracy(ds))))
    what = "test" if a.test else "probe-set"
    head = f"{title}" + (f" ({gdesc})" if gdesc else "") + f", epoch {ep}"
    att = ds.slice_d1_norm.attrs
    how = (f"normalisation {att.get('normalisation', '?')}, biases {att.get('bias', '?')}, "
           f"probe set {fmt(float(ds.slice_loss0.attrs.get('probe_size', np.nan)), 'g')} images")

    # ---- the tables
    mean1 = None
    if one:
        order = sorted(one, key=seed_of)
        L = np.array([one[s]["loss"] for s in order])
        full = np.isfinite(L).all(axis=0)
        mean1 = np.where(full, L.mean(axis=0), np.nan)
        macc = np.where(full, np.array([one[s]["acc"] for s in order]).mean(axis=0), np.nan)
        rows = []
        for s in order:
            r = one[s]
            rows.append([f"{seed_of(s):g}", str(s), fmt(r["loss0"]), fmt(r["loss"][0]),
                         fmt(r["loss"][-1]), fmt(np.nanmax(r["loss"]) if np.isfinite(r["loss"]).any()
                                                 else np.nan), fmt(r["acc0"]), fmt(r["theta"]),
                         fmt(r["d1"]),
                         f"{int(np.isfinite(r['loss']).sum())}/{r['loss'].size}"
                         + ("" if r["complete"] else f" ({r['ndone']}/{r['ntask']} tasks done)")])
        if len(order) > 1:
            l0 = np.array([one[s]["loss0"] for s in order])
            a0 = np.array([one[s]["acc0"] for s in order])
            rows.append(["mean", "-", fmt(l0.mean()), fmt(mean1[0]), fmt(mean1[-1]),
                         fmt(np.nanmax(mean1) if np.isfinite(mean1).any() else np.nan),
                         fmt(a0.mean()), "-", "-", f"{int(full.sum())}/{full.size}"])
        print_table(f"{head}: 1-D slices L(theta + a d1), {what} loss (nats), a in "
                    f"[{x1[0]:g}, {x1[-1]:g}] ({x1.size} points); {how}; the mean row is "
                    "the mean over seeds at each a (points every seed has)",
                    ["seed", "task", "L(theta)", f"L(a={x1[0]:g})", f"L(a={x1[-1]:g})",
                     "max L", "acc(theta)", r"\|theta\|", r"\|d1\|", "points"], rows)
    if two:
        rows = []
        for s in sorted(two, key=seed_of):
            r = two[s]
            fin = np.isfinite(r["loss"])
            rows.append([f"{seed_of(s):g}", str(s), fmt(r["loss0"]),
                         fmt(np.nanmin(r["loss"]) if fin.any() else np.nan),
                         fmt(np.nanmax(r["loss"]) if fin.any() else np.nan), fmt(r["cos"], ".3f"),
                         f"{int(fin.all(axis=1).sum())}/{fin.shape[0]}"
                         + ("" if r["complete"] else f" ({r['ndone']}/{r['ntask']} tasks done)")])
        print_table(f"{head}: 2-D slices L(theta + a d1 + b d2), {what} loss (nats), a, b in "
                    f"[{x2[0]:g}, {x2[-1]:g}] ({x2.size} x {y2.size}); {how}",
                    ["seed", "task", "L(theta)", "min L", "max L", "cos(d1, d2)", "rows"], rows)

    # ---- the figure: the panels above, the caption below (constrained layout, so the
    # accuracy axis, the 2-D panels' labels and the colour bar do not overlap)
    plt = plotting.pyplot()
    from matplotlib.colors import LogNorm
    from matplotlib.ticker import FuncFormatter, NullFormatter

    shown2 = sorted(two, key=seed_of)
    if len(shown2) > MAX_PANELS:
        print(f"{PROG}: {len(shown2)} 2-D slices; drawing the first {MAX_PANELS} seeds",
              file=sys.stderr)
        shown2 = shown2[:MAX_PANELS]
    npan = (1 if one else 0) + len(shown2)
    width = 4.6 * npan + (1.2 if shown2 else 0.0) + (0.6 if one else 0.0)
    levels = None
    if shown2:
        allv = np.concatenate([two[s]["loss"][np.isfinite(two[s]["loss"])] for s in shown2])
        lo = a.vmin if a.vmin is not None else max(float(allv.min()), 1e-3)
        hi = a.vmax if a.vmax is not None else min(float(allv.max()), 3 * chance)
        if not hi > lo * 1.001:
            hi = lo * 1.1
        levels = np.geomspace(lo, hi, a.levels)
    caption = (f"Loss along random directions d1, d2 around the trained θ (epoch {ep}); "
               f"{how}. {SCALE.get(att.get('normalisation'), '')}The "
               "directions are drawn from the training's seed: every seed has its own. "
               + (("1-D: thin lines one seed each, bold their mean; dashed red the accuracy "
                   "of the mean. " if len(one) > 1 else
                   "1-D: the loss (solid) and the accuracy (dashed red). ") if one else "")
               + (f"2-D: {len(levels)} log-spaced contour levels from {levels[0]:.3g} to "
                  f"{levels[-1]:.3g} nats (losses beyond are drawn at the ends); star = θ."
                  if shown2 else ""))
    text = "\n".join(textwrap.wrap(caption, int(width * 15)))
    cap_h = 0.25 + 0.16 * (text.count("\n") + 1)
    fig = plt.figure(figsize=(width, 4.2 + cap_h), layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=[4.2, cap_h])
    axes = list(top.subplots(1, npan, squeeze=False)[0])
    if one:
        ax = axes.pop(0)
        for s in sorted(one, key=seed_of):
            ax.plot(x1, one[s]["loss"], lw=0.9, alpha=0.6, label=labels.setting("seed", seed_of(s)))
        if len(one) > 1:
            ax.plot(x1, mean1, color="k", lw=2.0, label=f"mean over {len(one)} seeds")
        ax.axvline(0.0, color="0.5", lw=0.6, ls=":")
        ax.set_xlabel(AXES["a"])
        plotting.y_axis(ax, "loss", f"{what}")
        ax2 = ax.twinx()
        acc_line = macc if len(one) > 1 else one[next(iter(one))]["acc"]
        ax2.plot(x1, acc_line, color="tab:red", ls="--", lw=1.2)
        ax2.set_ylabel(labels.axis("accuracy", what), color="tab:red")
        ax2.tick_params(axis="y", colors="tab:red")
        ax2.grid(False)
        ax2.spines["right"].set_visible(True)
        ax.set_title("1-D: L(θ + a d1)")
        plotting.legend(ax, loc="upper center", fontsize=8)
    if shown2:
        norm = LogNorm(vmin=levels[0], vmax=levels[-1])
        cs = None
        for k, (ax, s) in enumerate(zip(axes, shown2)):
            z = np.ma.masked_invalid(np.clip(two[s]["loss"], levels[0], levels[-1]))
            cs = ax.contourf(x2, y2, z, levels=levels, norm=norm, cmap="viridis")
            ax.contour(x2, y2, z, levels=levels, colors="w", linewidths=0.3, alpha=0.6)
            ax.plot([0.0], [0.0], marker="*", ms=12, mfc="red", mec="w", mew=0.8, ls="none")
            ax.set_aspect("equal")
            ax.set_xlabel(AXES["a"])
            if k == 0:
                ax.set_ylabel(AXES["b"])
            ax.set_title(f"2-D: {labels.setting('seed', seed_of(s))}"
                         + ("" if two[s]["complete"] else " (incomplete)"))
            ax.grid(False)
        cb = top.colorbar(cs, ax=axes[:len(shown2)], shrink=0.9, pad=0.02)
        cb.set_ticks(levels[::max(1, len(levels) // 6)])
        cb.ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.3g}"))
        cb.ax.yaxis.set_minor_formatter(NullFormatter())
        cb.set_label(labels.axis("loss", f"{what}, log colour scale"))
    top.suptitle(f"{head}: loss slices along filter-normalised directions (Li et al. 2018)",
                 fontsize=10)
    bottom.text(0.01, 0.95, text, ha="left", va="top", fontsize=7.5, color="0.25")
    if a.print_labels:
        plotting.print_labels(fig)
    out = a.output or cli.default_output(a.files, name, "slice")
    plotting.save(fig, out, PROG)
    return 0


def main(argv=None):
    return cli.command(PROG, _run, argv)
