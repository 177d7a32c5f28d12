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

Default output: <name>-near-zero.png next to the first input.
Exit status: 0 written, 1 a file that is not a readable wedge output (or an
unwritable PNG), 2 bad arguments or no toy near-zero counts.
"""
import numpy as np

from .. import cli, flags, labels, plotting

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


def _run(argv):
    ap = cli.parser(PROG, __doc__)
    ap.add_argument("files", nargs="+", metavar="OUT.nc")
    ap.add_argument("-o", "--output", metavar="PNG")
    ap.add_argument("--print-labels", action="store_true",
                    help="print each panel's axis labels on stdout")
    a = ap.parse_args(argv)
    ds, title, name = cli.open_for_cli(a.files)
    data = counts(ds)

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
