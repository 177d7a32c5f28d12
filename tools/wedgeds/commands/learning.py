"""wedge-plot-learning: learning curves -- loss and accuracy per epoch, per setting.

usage: wedge-plot-learning OUT.nc [OUT2.nc ...] [-o PNG] [--spread minmax|sd]
                           [--every N] [--print-labels]

Four panels against epoch: training loss, test loss, training accuracy, test
accuracy (the training statistics are means over each epoch's minibatches,
dropout on; the test ones are measured after the epoch, dropout off).  One line
per setting (the values of the swept keys other than seed): the mean over the
done seeds, with a band showing the spread over the seeds: min-max
(--spread minmax, the default) or mean ± one standard deviation with n-1
(--spread sd).  Trainings that are not done (failed, diverged, pending) are
left out and counted in the table.  Prints the plotted numbers as a Markdown
table (every N-th epoch and the last; default: every epoch up to 20 epochs,
else about 10 rows per setting).  Several files of one sweep are combined.

Default output: <name>-learning.png next to the first input.
Exit status: 0 written, 1 a file that is not a readable wedge output (or an
unwritable PNG), 2 bad arguments or no done training.
"""

import numpy as np

from .. import cli, flags, labels, plotting
from ..tables import fmt, kv, print_table
from ..training import learning_curves

PROG = "wedge-plot-learning"
PANELS = ("train_loss", "test_loss", "train_accuracy", "test_accuracy")


def _run(argv):
    ap = cli.parser(PROG, __doc__)
    ap.add_argument("files", nargs="+", metavar="OUT.nc")
    ap.add_argument("-o", "--output", metavar="PNG")
    ap.add_argument("--spread", choices=("minmax", "sd"), default="minmax",
                    help="band: min-max over seeds (default) or mean ± 1 sd (n-1)")
    ap.add_argument("--every", type=int, metavar="N",
                    help="print every N-th epoch in the table (and the last)")
    ap.add_argument("--print-labels", action="store_true",
                    help="print each panel's axis labels on stdout")
    a = ap.parse_args(argv)
    if a.every is not None and a.every < 1:
        cli.die(f"--every {a.every}: must be at least 1")

    ds, title, name = cli.open_for_cli(a.files)
    train = flags.is_kind(ds, "train")
    if not train.any():
        cli.die(f"{a.files[0]}: no training rows")
    ndone = int((train & flags.is_status(ds, "done")).sum())
    if not ndone:
        cli.die(f"{a.files[0]}: no done training yet (0 of {int(train.sum())} done)")
    lc = learning_curves(ds, spread=a.spread)
    keys, total = lc.attrs["keys"], lc.attrs["total"]
    settings = list(total)
    last = int(lc.epoch.max())
    every = a.every or (1 if last <= 20 else max(1, round(last / 10)))
    spread = "min-max" if a.spread == "minmax" else "mean ± 1 sd (n-1)"

    # ---- the table: one row per (setting, printed epoch)
    hdr = keys + ["epoch", "seeds"] + [f"{labels.name(q)} mean" for q in PANELS] + \
        [f"{labels.name(q)} {'range' if a.spread == 'minmax' else 'sd'}" for q in PANELS]
    rows = []
    by = {(tuple(getattr(r, k) for k in keys), r.quantity, r.epoch): r
          for r in lc.itertuples(index=False)}
    for s in settings:
        for e in sorted(set(int(x) for x in lc.epoch)):
            if (e - 1) % every and e != last:
                continue
            cells = [kv(v) for v in s] + [str(e)]
            rs = [by.get((s, q, e)) for q in PANELS]
            n = max((r.n for r in rs if r is not None), default=0)
            cells.append(f"{n}/{total[s]}")
            cells += [fmt(r.mean if r is not None else None, ".4f") for r in rs]
            for r in rs:
                if r is None or not np.isfinite(r.mean):
                    cells.append("-")
                elif a.spread == "minmax":
                    cells.append(f"{r.lo:.4f}-{r.hi:.4f}")
                else:
                    cells.append(f"{(r.hi - r.lo) / 2:.4f}")
            rows.append(cells)
    print_table(f"{title}: learning curves, mean over the done seeds and the spread "
                f"({spread}) over them; seeds: done/all trainings of the setting",
                hdr, rows, ["l"] * len(keys) + ["r"] * (len(hdr) - len(keys)))

    # ---- the figure
    plt = plotting.pyplot()
    fig, axes = plt.subplots(2, 2, figsize=(9, 6.4), sharex=True)
    axes = axes.ravel()
    for j, s in enumerate(settings):
        lab = labels.settings(keys, s) or None
        for ax, q in zip(axes, PANELS):
            sel = lc[(lc.quantity == q) & (lc.n > 0)]
            for k, v in zip(keys, s):
                sel = sel[sel[k] == v]
            if sel.empty:
                continue
            col = f"C{j % 10}"
            ax.plot(sel.epoch, sel["mean"], "-o", color=col, ms=3, label=lab)
            ax.fill_between(sel.epoch, sel.lo, sel.hi, color=col, alpha=0.18, lw=0)
    for ax, q in zip(axes, PANELS):
        plotting.y_axis(ax, q)
        plotting.integer_ticks(ax.xaxis)
    for ax in axes[2:]:
        plotting.epoch_axis(ax)
    plotting.legend(axes[0], fontsize=7)
    nseeds = sorted(set(int(n) for n in lc.n if n > 0))
    nlab = f"{nseeds[0]}" if len(nseeds) == 1 else f"{nseeds[0]}-{nseeds[-1]}"
    notdone = sum(total.values()) - ndone
    plotting.finish(fig, f"{title}: learning curves",
                    f"Lines: mean over {nlab} seeds; bands: {spread} over the seeds. "
                    "Training loss and accuracy: means over each epoch's minibatches (dropout "
                    "on); test: after each epoch (dropout off)."
                    + (f" {notdone} training(s) not done are left out." if notdone else ""))
    if a.print_labels:
        plotting.print_labels(fig)
    out = a.output or cli.default_output(a.files, name, "learning")
    plotting.save(fig, out, PROG, f"{len(settings)} setting(s), {ndone} done trainings")
    return 0


def main(argv=None):
    return cli.command(PROG, _run, argv)
