#!/usr/bin/python3
"""wedge-plot-fig6: the paper's Figure 6 -- weight averaging (SWA) against prediction averaging.

usage: wedge-plot-fig6 OUT.nc [OUT2.nc ...] [-o PNG] [--split test|train]
                    [--errors minmax|std]

From the swa probes of a sweep (`probes: swa:`): for each lr_max of the cycles,
four panels against lr_max (log axis): (1) accuracy and (2) loss of the
snapshots (their mean), of the weight average (SWA) and of the averaged softmax
predictions, with the pre-trained point as a reference; (3) the mean pairwise
distance |theta_i - theta_j| between snapshots and their mean distance from the
pre-trained point; (4) the mean pairwise cosine between snapshots and between
their displacements from the pre-trained point.  Each point is the mean over
seeds (done swa tasks only) with error bars (min-max over seeds by default, or
+-1 std).  Other swept keys besides seed give one line each.  --split train
plots the probe-set (training subset) numbers instead of the test split's.

Prints the plotted numbers as a markdown table on stdout (accuracy and loss to 4
decimals, distance to 4 significant digits, cosines to 4 decimals).  Several
files of one sweep (array jobs) are combined.

Default output: <name>-fig6.png next to the first input.
Exit status: 0 written, 1 a file that is not a readable wedge output (or an
unwritable PNG), 2 bad arguments or no (done) swa tasks.
"""
import numpy as np

from .. import cli, labels, plotting
from ..files import swept_keys
from ..swa import NoSwa, swa_frame
from ..tables import fmt

PROG = "wedge-plot-fig6"

def aggregate(df, others, split):
    """Per (others..., lr_max): seeds done/total and mean/std/min/max of every
    plotted quantity over the done seeds."""
    cols = {"snap_acc": f"snap_{split}_accuracy", "swa_acc": f"swa_{split}_accuracy",
            "ens_acc": f"ens_{split}_accuracy", "start_acc": f"start_{split}_accuracy",
            "snap_loss": f"snap_{split}_loss", "swa_loss": f"swa_{split}_loss",
            "ens_loss": f"ens_{split}_loss", "start_loss": f"start_{split}_loss",
            "distance": "distance", "start_distance": "start_distance", "cosine": "cosine",
            "delta_cosine": "delta_cosine"}
    rows = []
    by = others + ["lr_max"]
    for gval, g in df.groupby(by if len(by) > 1 else "lr_max", sort=True, dropna=False):
        gval = gval if isinstance(gval, tuple) else (gval,)
        d = g[g.status == "done"]
        r = dict(zip(by, gval), n=len(d), total=len(g),
                 not_done=", ".join(sorted(s for s in g.status if s != "done")))
        for short, col in cols.items():
            v = d[col].dropna()
            r[f"{short}_mean"] = v.mean() if len(v) else np.nan
            r[f"{short}_std"] = v.std(ddof=1) if len(v) > 1 else np.nan
            r[f"{short}_min"] = v.min() if len(v) else np.nan
            r[f"{short}_max"] = v.max() if len(v) else np.nan
        rows.append(r)
    return rows


def _run(argv):
    ap = cli.parser(PROG, __doc__)
    ap.add_argument("files", nargs="+", metavar="OUT.nc")
    ap.add_argument("-o", "--output", metavar="PNG")
    ap.add_argument("--split", choices=("test", "train"), default="test",
                    help="evaluate on the test split (default) or the probe set of "
                         "training images")
    ap.add_argument("--errors", choices=("minmax", "std"), default="minmax",
                    help="error bars: min-max over seeds (default) or +-1 std")
    ap.add_argument("--print-labels", action="store_true",
                    help="print each panel's axis labels on stdout")
    a = ap.parse_args(argv)

    ds, title, name = cli.open_for_cli(a.files)
    try:
        df = swa_frame(ds)
    except NoSwa as e:
        cli.die(f"{a.files[0]}: {e}")
    if not (df.status == "done").any():
        counts = df.status.value_counts()
        cli.die(f"{a.files[0]}: no done swa tasks yet ({len(df)} swa tasks: "
            f"{', '.join(f'{n} {k}' for k, n in counts.items())})")
    others = [k for k in swept_keys(ds) if k != "seed"]
    rows = aggregate(df, others, a.split)
    M = sorted(set(int(m) for m in df.cycles))
    where = "test split" if a.split == "test" else "probe set (training images)"

    # ---- the table
    print(f"{title}: SWA against prediction averaging, M = {', '.join(map(str, M))} "
          f"cycle-end snapshots per lr_max; {where}; mean over the done seeds "
          f"(snapshot: the mean over the M snapshots; distance, cosines: the mean over "
          f"pairs of snapshots)")
    print()
    hdr = others + ["lr_max", "n seeds", "start acc", "snapshot acc", "SWA acc",
                    "pred-avg acc", "pred-avg - SWA acc", "start loss", "snapshot loss",
                    "SWA loss", "pred-avg loss", "distance", "distance from start",
                    "cosine", "cosine of displacements"]
    print("| " + " | ".join(hdr) + " |")
    print("|" + "|".join("---:" for _ in hdr) + "|")
    for r in rows:
        vals = [f"{r[k]:.4g}" if isinstance(r[k], (float, np.floating)) else str(r[k])
                for k in others + ["lr_max"]]
        n = str(r["n"]) if r["n"] == r["total"] else f"{r['n']} of {r['total']} ({r['not_done']})"
        vals += [n, fmt(r["start_acc_mean"], ".4f"), fmt(r["snap_acc_mean"], ".4f"),
                 fmt(r["swa_acc_mean"], ".4f"), fmt(r["ens_acc_mean"], ".4f"),
                 fmt(r["ens_acc_mean"] - r["swa_acc_mean"], "+.4f"),
                 fmt(r["start_loss_mean"], ".4f"), fmt(r["snap_loss_mean"], ".4f"),
                 fmt(r["swa_loss_mean"], ".4f"), fmt(r["ens_loss_mean"], ".4f"),
                 fmt(r["distance_mean"], ".4g"), fmt(r["start_distance_mean"], ".4g"),
                 fmt(r["cosine_mean"], ".4f"), fmt(r["delta_cosine_mean"], ".4f")]
        print("| " + " | ".join(vals) + " |")

    # ---- the figure
    plt = plotting.pyplot()

    from matplotlib.lines import Line2D
    fig, axes = plt.subplots(1, 4, figsize=(18, 4.4))
    shown = [r for r in rows if r["n"] > 0]  # an lr_max whose seeds all diverged: table only
    series = {}
    for r in shown:
        series.setdefault(tuple(r[k] for k in others), []).append(r)
    barlab = "min-max" if a.errors == "minmax" else "±1 standard deviation (n-1)"

    def bars(rs, q):
        m = np.array([r[f"{q}_mean"] for r in rs], dtype=float)
        if a.errors == "minmax":
            lo = m - np.array([r[f"{q}_min"] for r in rs], dtype=float)
            hi = np.array([r[f"{q}_max"] for r in rs], dtype=float) - m
        else:
            lo = hi = np.nan_to_num(np.array([r[f"{q}_std"] for r in rs], dtype=float))
        # rounding can make mean - min a hair negative
        return m, [np.clip(np.nan_to_num(lo), 0, None), np.clip(np.nan_to_num(hi), 0, None)]

    # line style and marker say which quantity, colour which setting: one legend
    # entry per quantity (per panel) and one per setting (first panel)
    curves = [(0, "acc", f"{a.split}_accuracy"), (1, "loss", f"{a.split}_loss")]
    kinds = {0: [("snap", "snapshots (mean)", "o-"), ("swa", "weight average (SWA)", "s-"),
                 ("ens", "prediction average", "^-"), ("start", "pre-trained point θ0", "--")],
             2: [("distance", "|θ_i - θ_j|", "o-"), ("start_distance", "|θ_i - θ0|", "s--")],
             3: [("cosine", "cos(θ_i, θ_j)", "o-"),
                 ("delta_cosine", "cos(θ_i - θ0, θ_j - θ0)", "s--")]}
    kinds[1] = kinds[0]
    for ax in axes:
        xpos = plotting.x_axis(ax, "lr_max", [r["lr_max"] for r in shown])
    one = len(series) == 1
    for j, (s, rs) in enumerate(series.items()):
        x = np.array([xpos(r["lr_max"]) for r in rs], dtype=float)
        for ax_i, ax in enumerate(axes):
            q = {0: "_acc", 1: "_loss"}.get(ax_i, "")
            for k, (who, lab, style) in enumerate(kinds[ax_i]):
                col = (f"C{k}" if who != "start" else "k") if one else f"C{j % 10}"
                m, e = bars(rs, who + q)
                if who == "start":
                    ax.plot(x, m, style, color=col, lw=1)
                else:
                    ax.errorbar(x, m, yerr=e, fmt=style, color=col, capsize=3)
    for ax_i, ax in enumerate(axes):
        hs = [Line2D([], [], linestyle="--" if "--" in st else "-",
                     marker=st[0] if st[0] in "os^" else None,
                     color=(f"C{k}" if who != "start" else "k") if one else "0.3", label=lab)
              for k, (who, lab, st) in enumerate(kinds[ax_i])]
        if not one and ax_i == 0:
            hs += [Line2D([], [], color=f"C{j % 10}", lw=4, label=labels.settings(others, s))
                   for j, s in enumerate(series)]
        ax.legend(handles=hs, fontsize=7)
    ylabels = [curves[0][2], curves[1][2], "snapshot_distance", "snapshot_cosine"]
    for ax, yl in zip(axes, ylabels):
        plotting.y_axis(ax, yl)
    nseeds = sorted(set(r["n"] for r in shown))
    skipped = ", ".join(dict.fromkeys(f"{r['lr_max']:g}" for r in rows if r["n"] == 0))
    nlab = f"{nseeds[0]}" if len(nseeds) == 1 else f"{nseeds[0]}-{nseeds[-1]}"
    plotting.finish(fig, f"{title}: SWA vs prediction averaging over M = "
                    f"{', '.join(map(str, M))} snapshots ({where})",
                    f"Points: mean over {nlab} seeds (done swa tasks); bars: {barlab} over the "
                    "seeds. Snapshots: the mean over the M cycle-end snapshots; distances and "
                    "cosines: the mean over pairs of snapshots; θ0: the pre-trained point."
                    + (f" Not drawn (no done seed): lr_max {skipped}." if skipped else ""))
    if a.print_labels:
        plotting.print_labels(fig)
    out = a.output or cli.default_output(a.files, name, "fig6")
    plotting.save(fig, out, PROG)
    return 0


def main(argv=None):
    return cli.command(PROG, _run, argv)
