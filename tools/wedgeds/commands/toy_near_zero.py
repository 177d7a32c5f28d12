#!/usr/bin/python3
"""wedge-plot-toy-near-zero: near-zero coordinates of the toy model against m.

usage: wedge-plot-toy-near-zero OUT.nc [OUT2.nc ...] [-o PNG]

On the toy wedge model the short directions at a point are its near-zero
coordinates, |P_j| <= 1e-3 |P|/sqrt(D) (docs/METHODS.md, "Toy wedge model").
This reads the counts the output stores (docs/output-format.md): `near_zero` at
every toy training's final point and `connector_near_zero` at every connector
point, and shows them against the connector order m:
  m = 0   the optima (one value per training);
  m = 1   the 1-connectors' K points (each connector: the mean over its points);
  m > 1   the m-connectors' centres.
Points: mean over the sweep's connectors (or optima) of that m, bars min-max;
dashed line: D - n, the count on a wedge (every short coordinate exactly zero).
Prints a markdown table (m, how many, mean, min, max) per (D, n).  Several files
of one sweep (array jobs) are combined.

Which wedge along each 1-connector (the toy's counterpart of Figure 3's changed
test labels: the toy has no predictions).  The toy loss at P measures its D - n
smallest |P_j|: that set of coordinates is the wedge P is in.  At each point of
a 1-connector (O1, X_1..X_K, O2 at positions k/(K+1)) the tool prints the
fraction of that set which differs from O1's and from O2's, and the same shape
statistics as wedge-plot-fig3 (values at 1/4, 1/2, 3/4 of the way from the end
compared with; R^2 of a line and of a ramp then plateau).  Needs the optima's
parameter vectors (`params`) and the connector points (`connector_x`).

Default output: <name>-near-zero.png next to the first input.
Exit status: 0 written, 1 a file that is not a readable wedge output (or an
unwritable PNG), 2 bad arguments or no toy near-zero counts.
"""
import numpy as np

from .. import cli, flags, labels, plotting
from ..connectors import connector_optima
from ..files import open_outputs
from ..orthogonality import changed_shape
from ..tables import print_table

PROG = "wedge-plot-toy-near-zero"

def counts(ds):
    """{(D, n): {m: [count per optimum / connector]}}."""
    if "near_zero" not in ds.variables or "dim" not in ds.variables:
        cli.die("no toy near-zero counts: the output has no near_zero variable (a sweep with "
            "model.arch toy, written by this wedge)")
    D, n = ds["dim"].values, ds["long"].values
    done = flags.is_status(ds, "done")
    out = {}
    nz = ds["near_zero"].values
    for i in np.flatnonzero(flags.is_kind(ds, "train") & done & np.isfinite(D)):
        if np.isfinite(nz[i]) and nz[i] >= 0:
            out.setdefault((int(D[i]), int(n[i])), {}).setdefault(0, []).append(float(nz[i]))
    if "connector_near_zero" in ds.variables:
        cm, cnz = ds["connector_m"].values, ds["connector_near_zero"].values
        for i in np.flatnonzero(flags.is_kind(ds, "connect") & done & np.isfinite(D)):
            v = cnz[i][np.isfinite(cnz[i]) & (cnz[i] >= 0)]
            if v.size:
                m = int(cm[i])
                out.setdefault((int(D[i]), int(n[i])), {}).setdefault(m, []).append(
                    float(v.mean()) if m == 1 else float(v[0]))
    if not out:
        cli.die("no done toy trainings or connectors with near-zero counts")
    return out


def _final_params(ds, task):
    """Training ``task``'s last kept parameter vector (float64), or None."""
    i = int(np.flatnonzero(ds.task.values == task)[0])
    ep = np.asarray(ds.snapshot_epoch.values[i], dtype=float)
    ok = np.flatnonzero(np.isfinite(ep) & (ep >= 0))
    D = int(ds.nparams.values[i])
    if not ok.size or D <= 0:
        return None
    return np.asarray(ds.params.values[i, ok[np.argmax(ep[ok])], :D], dtype=np.float64)


def wedge_changes(ds):
    """Per done toy 1-connector: (task, position, changed vs O1, changed vs O2),
    the arrays over O1, X_1..X_K, O2; changed = fraction of the point's D - n
    smallest |P_j| not among the end's."""
    if "params" not in ds.variables or "connector_x" not in ds.variables:
        return []
    out = []
    done = flags.is_kind(ds, "connect") & flags.is_status(ds, "done")
    for i in np.flatnonzero(done & (ds.connector_m.values == 1) & np.isfinite(ds.dim.values)):
        task = int(ds.task.values[i])
        ends = [_final_params(ds, t) for t in connector_optima(ds, task)]
        X = np.asarray(ds.connector_x.values[i], dtype=np.float64)
        X = X[np.all(np.isfinite(X), axis=1)]
        if len(ends) != 2 or any(e is None for e in ends) or not len(X):
            continue
        short = int(ds.dim.values[i]) - int(ds.long.values[i])
        pts = [ends[0]] + [x[:ends[0].size] for x in X] + [ends[1]]
        sets = [set(np.argsort(np.abs(p), kind="stable")[:short].tolist()) for p in pts]
        pos = np.arange(len(pts)) / (len(pts) - 1)
        ch = [np.array([1.0 - len(s & e) / short for s in sets]) for e in (sets[0], sets[-1])]
        out.append((task, pos, ch[0], ch[1]))
    return out


def print_wedge_changes(title, rows):
    """The per-point and the shape tables of wedge_changes ``rows``."""
    if not rows:
        return
    print_table(f"{title}: which wedge along each 1-connector: fraction of the D - n "
                f"short coordinates (smallest |P_j|) that differ from O1's / O2's, "
                f"at O1, X_1..X_K, O2",
                ["connector task", "vs O1", "vs O2"],
                [[str(t), " ".join(f"{v:.2f}" for v in a), " ".join(f"{v:.2f}" for v in b)]
                 for t, _, a, b in rows])
    cols = ["at_quarter", "at_middle", "at_three_quarters", "r2_line", "r2_ramp", "break_at"]
    srows, shapes = [], []
    for t, pos, a, b in rows:
        for end, x, y in (("O1", pos, a), ("O2", 1.0 - pos, b)):
            sh = changed_shape(x, y)
            shapes.append(sh)
            srows.append([str(t), end] + [f"{sh[c]:.3g}" for c in cols])
    srows.append(["mean", ""] + [f"{np.nanmean([s[c] for s in shapes]):.3g}" for c in cols])
    print_table(f"{title}: short coordinates changed along each 1-connector, by distance "
                f"from the end compared with; R^2 of a line and of a ramp then plateau "
                f"a + b min(x, break)",
                ["connector task", "vs", "at 1/4", "at 1/2", "at 3/4", "R^2 line",
                 "R^2 ramp", "break"], srows)


def _run(argv):
    ap = cli.parser(PROG, __doc__)
    ap.add_argument("files", nargs="+", metavar="OUT.nc")
    ap.add_argument("-o", "--output", metavar="PNG")
    ap.add_argument("--print-labels", action="store_true",
                    help="print each panel's axis labels on stdout")
    a = ap.parse_args(argv)
    ds, title, name = cli.open_for_cli(a.files)
    data = counts(ds)
    changes = wedge_changes(open_outputs(a.files, params=True))

    print(f"Near-zero coordinates |P_j| <= 1e-3 |P|/sqrt(D) on the toy model ({title}); "
          "m = 0: optima, m = 1: 1-connector points (mean per connector), m > 1: centres")
    print()
    print("| D | n | D-n | m | count | mean | min | max |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for (D, n), bym in sorted(data.items()):
        for m in sorted(bym):
            v = np.array(bym[m])
            print(f"| {D} | {n} | {D - n} | {m} | {v.size} | {v.mean():.1f} | {v.min():.4g} | "
                  f"{v.max():.4g} |")
    print()
    print_wedge_changes(title, changes)

    plt = plotting.pyplot()
    fig, ax = plt.subplots(figsize=(6, 4.2))
    for i, ((D, n), bym) in enumerate(sorted(data.items())):
        c = f"C{i % 10}"
        ms = sorted(bym)
        mean = np.array([np.mean(bym[m]) for m in ms])
        lo = mean - np.array([np.min(bym[m]) for m in ms])
        hi = np.array([np.max(bym[m]) for m in ms]) - mean
        ax.errorbar(ms, mean, yerr=[lo, hi], fmt="o-", color=c, capsize=3, ms=4,
                    label=labels.settings(("dim", "long"), (D, n)))
        ax.axhline(D - n, color=c, ls="--", lw=0.8)
    ax.set_xlabel(labels.axis("m_site"))
    plotting.integer_ticks(ax.xaxis)
    plotting.y_axis(ax, "near_zero")
    plotting.legend(ax, fontsize=8)
    plotting.finish(fig, f"{title}: near-zero coordinates against m",
                    "Points: mean over the optima (m = 0), the 1-connectors (m = 1: each the "
                    "mean over its points) or the m-connector centres; bars: min-max; "
                    "dashed: D - n, the count on a wedge.")
    if a.print_labels:
        plotting.print_labels(fig)
    out = a.output or cli.default_output(a.files, name, "near-zero")
    plotting.save(fig, out, PROG)
    return 0


def main(argv=None):
    return cli.command(PROG, _run, argv)
