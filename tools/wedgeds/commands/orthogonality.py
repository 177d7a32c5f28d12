#!/usr/bin/python3
"""wedge-orthogonality: are the optima and the tunnels of different seeds orthogonal? (Figure 2)

usage: wedge-orthogonality OUT.nc [OUT2.nc ...] [-o PNG] [--between E1 E2]
                           [--final-only] [--digits N]

The paper (Figure 2) argues that the radial tunnels of different optima are
nearly orthogonal to each other.  For the done trainings of a sweep that differ
only in the seed (one group per setting of the other swept keys), from the
stored parameter vectors (`params`; keep more than the final one with
`train.snapshots`), with D the parameter count:

  (a) final      cos(P0_i, P0_j) between the final vectors of seeds i < j
  (b) direction  cos(d_i, d_j), d = P_E2 - P_E1 the direction of training
                 between two snapshots: the last two of each training, or the
                 epochs E1 < E2 of --between
  (c) own        cos(d_i, P_E2,i) within one training (the final P0 by
                 default): how radial the training direction is, for reference

Each against the baseline of two independent random directions in R^D: their
cosine has mean 0, standard deviation 1/sqrt(D) and 95% of its values within
+-1.96/sqrt(D).  Orthogonal in the paper's sense means |cos| of the order of
1/sqrt(D) (|cos| sqrt(D) of order 1); aligned means |cos| sqrt(D) >> 1.

Prints markdown tables: per group and statistic the number of pairs, mean, min
and max cosine, mean and max |cos| sqrt(D) and the fraction of |cos| outside the
95% band; and per training its seed, D, E1 -> E2, |P0|, |d| and own cosine.
Draws one panel per statistic: the histogram of the cosines, one colour per
group, with the random band +-1.96/sqrt(D) shaded.

On the toy wedge model (`model: {arch: toy}`) the parameter vector is the
point's coordinates, so the same command gives the toy counterpart the paper
argues from (sweeps/toy-orthogonality.yaml).

Several files of one sweep (array jobs) are combined.  --digits N sets the
significant digits of the tables (default 4).
Default output: <name>-orthogonality.png next to the first input.
Exit status: 0 written, 1 a file that is not a readable wedge output (or an
unwritable PNG), 2 bad arguments, no parameter vectors, no setting with 2 done
seeds, or (without --final-only) a training with fewer than 2 snapshots or none
at an epoch of --between.
"""
import os
import sys

import numpy as np

from .. import cli, labels, plotting
from ..files import open_outputs, sweep_title
from ..orthogonality import NoVectors, random_baseline, seed_cosines, training_vectors
from ..tables import fmt, kv, print_table

PROG = "wedge-orthogonality"
STATS = [("final", "(a) final vectors P0_i, P0_j"),
         ("direction", "(b) directions P_E2 - P_E1 of two seeds"),
         ("own", "(c) P_E2 - P_E1 against P_E2, one training")]


def summary(cos, D):
    """n, mean, min, max of the cosines, mean and max |cos| sqrt(D), and the
    fraction with |cos| > 1.96/sqrt(D)."""
    c = np.asarray(cos, dtype=float)
    s, band = random_baseline(D)
    if c.size == 0:
        return dict(n=0, mean=np.nan, min=np.nan, max=np.nan, scaled_mean=np.nan,
                    scaled_max=np.nan, outside=np.nan)
    a = np.abs(c) / s
    return dict(n=int(c.size), mean=float(c.mean()), min=float(c.min()), max=float(c.max()),
                scaled_mean=float(a.mean()), scaled_max=float(a.max()),
                outside=float(np.mean(np.abs(c) > band)))


def _run(argv):
    ap = cli.parser(PROG, __doc__)
    ap.add_argument("files", nargs="+", metavar="OUT.nc")
    ap.add_argument("-o", "--output", metavar="PNG")
    ap.add_argument("--between", nargs=2, type=int, metavar=("E1", "E2"),
                    help="the training direction P_E2 - P_E1 between these snapshot epochs "
                         "(default: each training's last two snapshots)")
    ap.add_argument("--final-only", action="store_true",
                    help="only (a), the final vectors (no snapshots needed)")
    ap.add_argument("--digits", type=int, default=4, metavar="N",
                    help="significant digits of the tables (default 4)")
    ap.add_argument("--print-labels", action="store_true",
                    help="print each panel's axis labels on stdout")
    a = ap.parse_args(argv)
    if not 1 <= a.digits <= 17:
        cli.die(f"--digits {a.digits}: 1 to 17")
    if a.between and not 1 <= a.between[0] < a.between[1]:
        cli.die(f"--between {a.between[0]} {a.between[1]}: epochs 1 <= E1 < E2")
    between = tuple(a.between) if a.between else None

    ds = open_outputs(a.files, params=True)
    stem = os.path.splitext(os.path.basename(a.files[0]))[0]
    title, name = sweep_title(ds, stem), str(ds.attrs.get("title") or stem)
    try:
        groups, names = training_vectors(ds)
    except NoVectors as e:
        cli.die(f"{a.files[0]}: {e}")
    results, skipped = [], []
    for key, members in groups.items():
        if len(members) < 2:
            skipped.append(key)
            continue
        try:
            results.append((key, members, seed_cosines(members, between, a.final_only)))
        except NoVectors as e:
            g = labels.settings(names, key)
            cli.die(f"{a.files[0]}: {e}" + (f" ({g})" if g else ""))
    if not results:
        cli.die(f"{a.files[0]}: no setting has 2 done trainings to compare "
                f"({sum(len(m) for m in groups.values())} done training(s) in "
                f"{len(groups)} setting(s))")

    g = f".{a.digits}g"
    stats = STATS[:1] if a.final_only else STATS
    rows = []
    for key, members, r in results:
        s, band = random_baseline(r["D"])
        for st, what in stats:
            m = summary([x[-1] for x in r[st]], r["D"])
            rows.append([kv(v) for v in key] +
                        [what, str(len(members)), str(r["D"]), str(m["n"]), fmt(m["mean"], g),
                         fmt(m["min"], g), fmt(m["max"], g), fmt(m["scaled_mean"], g),
                         fmt(m["scaled_max"], g), fmt(m["outside"], ".3f"), fmt(s, g),
                         fmt(band, g)])
    hdr = names + ["cosines", "seeds", "D", "n", "mean cos", "min cos", "max cos",
                   "mean \\|cos\\| sqrt(D)", "max \\|cos\\| sqrt(D)", "outside 95% band",
                   "1/sqrt(D)", "1.96/sqrt(D)"]
    print_table(f"{title}: cosines between the trainings of different seeds; random "
                f"directions in R^D: mean 0, sd 1/sqrt(D), 95% within +-1.96/sqrt(D)",
                hdr, rows)

    if not a.final_only:
        rows = []
        for key, members, r in results:
            own = dict(r["own"])
            for t in members:
                e1, e2 = r["stretch"][t["task"]]
                d = t["vectors"][e2] - t["vectors"][e1]
                rows.append([kv(v) for v in key] +
                            [str(t["task"]), kv(t["seed"]), str(t["D"]), f"{e1} -> {e2}",
                             fmt(float(np.linalg.norm(t["vectors"][t["epochs"][-1]])), g),
                             fmt(float(np.linalg.norm(d)), g), fmt(own[t["task"]], g)])
        print_table(f"{title}: each training; \\|P0\\| of the final vector, d = P_E2 - P_E1",
                    names + ["task", "seed", "D", "E1 -> E2", "\\|P0\\|", "\\|d\\|", "cos(d, P_E2)"],
                    rows)
    for key in skipped:
        print(f"{PROG}: setting {labels.settings(names, key) or '(all)'}: one done training, "
              f"left out", file=sys.stderr)

    # ---- the figure
    plt = plotting.pyplot()
    fig, axes = plt.subplots(1, len(stats), figsize=(5.2 * len(stats), 4.2), squeeze=False)
    for ax, (st, what) in zip(axes[0], stats):
        lo, hi = 0.0, 0.0
        for gi, (key, members, r) in enumerate(results):
            c = np.array([x[-1] for x in r[st]], dtype=float)
            c = c[np.isfinite(c)]
            _, band = random_baseline(r["D"])
            if gi == 0 or any(r["D"] != rr["D"] for _, _, rr in results[:gi]):
                ax.axvspan(-band, band, color="0.85", zorder=0,
                           label=f"random, 95%: +-1.96/sqrt({r['D']})")
            lo, hi = min(lo, -band, *c), max(hi, band, *c)
            gl = labels.settings(names, key) or f"{len(members)} seeds"
            ax.hist(c, bins=max(5, min(30, c.size)), alpha=0.6, color=f"C{gi % 10}",
                    label=gl)
        pad = 0.05 * (hi - lo or 1.0)
        ax.set_xlim(lo - pad, hi + pad)
        ax.axvline(0, color="0.4", lw=0.8)
        ax.set_xlabel("cosine")
        ax.set_ylabel("pairs" if st != "own" else "trainings")
        ax.set_title(what, fontsize=9)
        plotting.legend(ax, fontsize=7)
    plotting.finish(fig, title=f"{title}: orthogonality of optima and training directions",
                    caption="Grey: where 95% of the cosines of two independent random "
                            "directions in R^D fall. (a), (b): pairs of seeds; (c): each "
                            "training's direction against the point it leads to.")
    if a.print_labels:
        plotting.print_labels(fig)
    out = a.output or cli.default_output(a.files, name, "orthogonality")
    plotting.save(fig, out, PROG, f"{len(results)} setting(s)")
    return 0


def main(argv=None):
    return cli.command(PROG, _run, argv)
