#!/usr/bin/python3
"""plot-toy-near-zero.py: near-zero coordinates of the toy model against m.

usage: plot-toy-near-zero.py OUT.nc [OUT2.nc ...] [-o PNG]

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

Default output: <title>-near-zero.png next to the first input.
Exit status: 0 written, 1 error, 2 bad arguments or no toy near-zero counts.
"""
import argparse
import os
import sys

os.environ.setdefault("MPLBACKEND", "Agg")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

import wedgeds  # noqa: E402

KIND_TRAIN, KIND_CONNECT = 0, 3


def die(msg, code=2):
    print(f"plot-toy-near-zero.py: {msg}", file=sys.stderr)
    sys.exit(code)


def counts(ds):
    """{(D, n): {m: [count per optimum / connector]}}."""
    if "near_zero" not in ds.variables or "dim" not in ds.variables:
        die("no toy near-zero counts: the output has no near_zero variable (a sweep with "
            "model.arch toy, written by this wedge)")
    kind, status = ds["kind"].values, ds["status"].values
    D, n = ds["dim"].values, ds["long"].values
    done = status == wedgeds.DONE
    out = {}
    nz = ds["near_zero"].values
    for i in np.flatnonzero((kind == KIND_TRAIN) & done & np.isfinite(D)):
        if np.isfinite(nz[i]) and nz[i] >= 0:
            out.setdefault((int(D[i]), int(n[i])), {}).setdefault(0, []).append(float(nz[i]))
    if "connector_near_zero" in ds.variables:
        cm, cnz = ds["connector_m"].values, ds["connector_near_zero"].values
        for i in np.flatnonzero((kind == KIND_CONNECT) & done & np.isfinite(D)):
            v = cnz[i][np.isfinite(cnz[i]) & (cnz[i] >= 0)]
            if v.size:
                m = int(cm[i])
                out.setdefault((int(D[i]), int(n[i])), {}).setdefault(m, []).append(
                    float(v.mean()) if m == 1 else float(v[0]))
    if not out:
        die("no done toy trainings or connectors with near-zero counts")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n", 2)[2])
    ap.add_argument("files", nargs="+", metavar="OUT.nc")
    ap.add_argument("-o", "--output", metavar="PNG")
    a = ap.parse_args()
    ds, title = wedgeds.open_for_cli(a.files, die)
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

    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4.2))
    for i, ((D, n), bym) in enumerate(sorted(data.items())):
        c = f"C{i % 10}"
        ms = sorted(bym)
        mean = np.array([np.mean(bym[m]) for m in ms])
        lo = mean - np.array([np.min(bym[m]) for m in ms])
        hi = np.array([np.max(bym[m]) for m in ms]) - mean
        ax.errorbar(ms, mean, yerr=[lo, hi], fmt="o-", color=c, capsize=3, ms=4,
                    label=f"D={D}, n={n}")
        ax.axhline(D - n, color=c, ls="--", lw=0.8)
    ax.set_xlabel("m (0 = optima, 1 = tunnel points, > 1 = m-connector centres)")
    ax.set_ylabel("near-zero coordinates")
    ax.set_title(f"{title}: near-zero coordinates against m; dashed: D - n", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    out = a.output or os.path.join(os.path.dirname(os.path.abspath(a.files[0])),
                                   f"{title}-near-zero.png")
    fig.set_dpi(120)
    wedgeds.save_plot(fig, out, "plot-toy-near-zero.py", die)
    return 0


if __name__ == "__main__":
    sys.exit(main())
