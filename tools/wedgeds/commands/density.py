#!/usr/bin/python3
"""wedge-plot-density: the Hessian's spectral density at optima, tunnel points and m-connector centres.

usage: wedge-plot-density OUT.nc [OUT2.nc ...] [-o PNG] [--xlim LO HI] [--csv FILE]

The log spectral density against the eigenvalue, as in the literature (Ghorbani
et al. 2019; PyHessian, Yao et al. 2020), from the spectra the Hessian tasks
stored (probes.hessian with method slq or full):
  slq   rho(x) = (1/nprobe) sum_p sum_k w_pk N(x; theta_pk, sigma^2) over each
        probe's nodes theta_pk and quadrature weights w_pk (each probe's sum to
        1): the stochastic Lanczos quadrature estimate of the density
  full  the same with the D eigenvalues as nodes of weight 1/D each: a broadened
        histogram of the eigenvalues.
Gaussian broadening as PyHessian's: sigma^2 = 1e-5 max(1, range), range = the
mean over probes of (largest - smallest node) + 0.02 (src/hessian.c,
wg_hessian_slq_sigma); one sigma per task.  The density integrates to 1: it is
the fraction of eigenvalues per unit eigenvalue (multiply by D for a count).
Values below 1e-7 are drawn at 1e-7 (PyHessian's plots add 1e-7).

One line per place, the mean of the densities of its done tasks: the trained
optima, the interior points of 1-connectors (tunnel points X_1..X_K) and the
centres of m-connectors (m > 1); thin lines: each task.  Vertical lines: the
study threshold lambda_thr (dashed) and -lambda_thr (dotted).  Prints a table
per place: tasks, the trace of H (SLQ: the mean of the stored Hutchinson
estimates with its standard error; full: the sum of the eigenvalues), the
counts above lambda_thr and below -lambda_thr (mean over the tasks; SLQ with
[mean lo, mean hi], the tasks' 95% intervals), the largest eigenvalue (SLQ: node)
and sigma.  Lanczos Ritz values carry no weights and give no density.
--csv FILE writes the curves drawn: the eigenvalue grid, then the mean density of
each place and the density of each task (column "task N"), unfloored.
Several files of one sweep (array jobs) are combined.

Default output: <name>-density.png next to the first input.
Exit status: 0 written, 1 a file that is not a readable wedge output (or an
unwritable PNG), 2 bad arguments, no done Hessian rows, or a Lanczos study.
"""
import math
import sys

import numpy as np

from .. import cli, plotting, spectra
from ..connectors import NoHessians, hessian_frame
from ..tables import fmt, print_table

PROG = "wedge-plot-density"
FLOOR = 1e-7
GRID_MIN, GRID_MAX = 10_000, 1_000_000
PLACES = (("optima", "trained optima"), ("tunnel", "tunnel points (1-connectors)"),
          ("centre", "m-connector centres"))


def _place(row):
    if row["site"] == "optimum":
        return "optima"
    return "tunnel" if int(row["m"]) == 1 else "centre"


def _grid(quads, sigmas):
    """An even grid over every node, padded by 0.01 (PyHessian's) and 8 sigma, fine
    enough for the narrowest Gaussian (4 points per sigma)."""
    lo = min(float(n[w > 0].min()) for n, w in quads)
    hi = max(float(n[w > 0].max()) for n, w in quads)
    pad = max(0.01, 8 * max(sigmas))
    lo, hi = lo - pad, hi + pad
    n = int(min(GRID_MAX, max(GRID_MIN, math.ceil((hi - lo) / (min(sigmas) / 4)) + 1)))
    return np.linspace(lo, hi, n)


def _run(argv):
    ap = cli.parser(PROG, __doc__)
    ap.add_argument("files", nargs="+", metavar="OUT.nc")
    ap.add_argument("-o", "--output", metavar="PNG")
    ap.add_argument("--xlim", nargs=2, type=float, metavar=("LO", "HI"),
                    help="eigenvalue range shown (default: all nodes)")
    ap.add_argument("--csv", metavar="FILE", help="also write the densities drawn as CSV")
    ap.add_argument("--print-labels", action="store_true",
                    help="print each panel's axis labels on stdout")
    a = ap.parse_args(argv)
    if a.xlim and not a.xlim[0] < a.xlim[1]:
        cli.die(f"--xlim {a.xlim[0]:g} {a.xlim[1]:g}: LO must be below HI")

    ds, title, name = cli.open_for_cli(a.files)
    try:
        hf = hessian_frame(ds)
        specs = spectra.task_spectra(ds)
    except NoHessians as e:
        cli.die(f"{a.files[0]}: {e} (add probes.hessian with method slq or full)")
    if not specs:
        cli.die(f"{a.files[0]}: no done Hessian rows yet (0 of {len(hf)} done)")
    method, thr = hf.attrs["method"], hf.attrs["threshold"]
    if method == "lanczos":
        cli.die(f"{a.files[0]}: the Hessian tasks ran Lanczos, whose Ritz values carry no "
                "quadrature weights: no density (run probes.hessian with method slq or full; "
                "wedge-hessian recounts Lanczos spectra)")
    done = hf[hf.status == "done"].copy()
    done["place_name"] = [_place(r) for _, r in done.iterrows()]
    try:
        quads = {t: s.quadrature() for t, s in specs.items()}
    except spectra.NoSpectrum as e:
        cli.die(f"{a.files[0]}: {e}", 1)
    sig = {t: spectra.broadening_sigma(*q) for t, q in quads.items()}
    grid = _grid(list(quads.values()), list(sig.values()))
    rho = {t: spectra.spectral_density(*quads[t], sig[t], grid) for t in quads}

    # ---- the table
    rows = []
    for key, label in PLACES:
        g = done[done.place_name == key]
        if g.empty:
            continue
        ts = [int(t) for t in g.task_id]
        tr = [specs[t].trace() for t in ts]
        tv = np.array([x[0] for x in tr])
        if method == "slq":
            se = math.sqrt(sum(x[1] ** 2 for x in tr)) / len(tr)
            trace = f"{tv.mean():.4g} ± {se:.2g}"
        else:
            trace = f"{tv.mean():.4g}"
        if len(ts) > 1:
            trace += f" ({tv.min():.4g} .. {tv.max():.4g})"
        above = spectra.aggregate([specs[t].count(thr) for t in ts])
        below = spectra.aggregate([specs[t].count_below(-thr) for t in ts])
        lmax = np.mean([float(quads[t][0][quads[t][1] > 0].max()) for t in ts])
        sg = [sig[t] for t in ts]
        rows.append([label, str(len(ts)), trace,
                     above.text(".1f" if above.n > 1 and above.kind != "estimate" else None),
                     below.text(".1f" if below.n > 1 and below.kind != "estimate" else None),
                     fmt(lmax, ".4g"),
                     f"{min(sg):.3g}" + (f" .. {max(sg):.3g}" if max(sg) > min(sg) else "")])
    how = "SLQ" if method == "slq" else "full spectrum"
    print_table(f"{title}: the Hessian spectrum per place ({how}; means over the tasks, "
                f"lambda_thr = {thr:g})",
                ["place", "tasks", "trace of H", f"N(> {thr:g})", f"N(< {-thr:g})",
                 "largest eigenvalue", "sigma"], rows, ["l"] + ["r"] * 6)

    # ---- the figure
    plt = plotting.pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    means = {}
    for j, (key, label) in enumerate(PLACES):
        g = done[done.place_name == key]
        if g.empty:
            continue
        col = f"C{j}"
        ts = [int(t) for t in g.task_id]
        for t in ts:
            ax.plot(grid, np.maximum(rho[t], FLOOR), color=col, lw=0.4, alpha=0.35)
        mean = means[label] = np.mean([rho[t] for t in ts], axis=0)
        ax.plot(grid, np.maximum(mean, FLOOR), color=col, lw=1.6,
                label=f"{label}: mean of {len(ts)}" if len(ts) > 1 else f"{label} (1 task)")
    ax.axvline(thr, color="k", ls="--", lw=0.9, label=f"λ_thr = {thr:g}")
    ax.axvline(-thr, color="k", ls=":", lw=0.9, label=f"-λ_thr = {-thr:g}")
    ax.set_yscale("log")
    ax.set_ylim(bottom=FLOOR * 0.5)
    if a.xlim:
        ax.set_xlim(*a.xlim)
    else:
        ax.set_xlim(grid[0], grid[-1])
    ax.set_xlabel("eigenvalue λ of the probe-set Hessian")
    ax.set_ylabel("spectral density (fraction of eigenvalues per unit λ)")
    plotting.legend(ax, fontsize=7.5)
    sg = list(sig.values())
    caption = (f"{'Stochastic Lanczos quadrature' if method == 'slq' else 'Full spectra'}; "
               f"Gaussian broadening as PyHessian's, σ² = 1e-5·max(1, spectral range) "
               f"(σ = {min(sg):.3g}" + (f" .. {max(sg):.3g}" if max(sg) > min(sg) else "") +
               "); thin lines: each task, thick: the mean per place; densities below 1e-7 "
               "drawn at 1e-7.")
    plotting.finish(fig, f"{title}: Hessian spectral density", caption)
    if a.print_labels:
        plotting.print_labels(fig)
    out = a.output or cli.default_output(a.files, name, "density")
    if a.csv:
        _write_csv(a.csv, grid, means, rho)
    plotting.save(fig, out, PROG, f"{len(rho)} tasks, {grid.size} grid points")
    return 0


def _write_csv(path, grid, means, rho):
    cols = ["eigenvalue"] + [f"mean {k}" for k in means] + [f"task {t}" for t in rho]
    data = np.column_stack([grid] + list(means.values()) + list(rho.values()))
    try:
        np.savetxt(path, data, delimiter=",", header=",".join(cols), comments="", fmt="%.17g")
    except OSError as e:
        cli.die(f"{path}: {e.strerror or e}", 1)
    print(f"{PROG}: wrote {path}", file=sys.stderr)


def main(argv=None):
    return cli.command(PROG, _run, argv)
