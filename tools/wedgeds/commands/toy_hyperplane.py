#!/usr/bin/python3
"""wedge-plot-toy-hyperplane: random-hyperplane optimisation on the toy wedge model.

usage: wedge-plot-toy-hyperplane OUT.nc [OUT2.nc ...] [-o PNG] [--min-success F]

Reads the toy model's `probes: subspace:` rows (docs/output-format.md:
subspace_d, subspace_success, subspace_loss_ratio, with the coordinates dim = D
and long = n) and, for every (D, n) and d, the success fraction over seeds
(success: L_final <= 1e-6 L_initial) and the median of L_final / L_initial.
The prediction (docs/METHODS.md, "Toy wedge model") is success iff d >= D - n.

Left panel: success fraction against d, one curve per (D, n), a dashed vertical
line at D - n in the curve's colour.  Right panel: median L_final / L_initial
against d (log scale), the criterion 1e-6 as a horizontal line.

Prints markdown tables on stdout: per (D, n) and d the runs, successes,
fraction and median ratio; then per (D, n) the measured threshold (the
smallest d with success fraction >= --min-success, default 0.5) next to D - n,
and whether the runs agree with the prediction everywhere (every d >= D - n
succeeded in every run, every d < D - n failed in every run).  Several files of
one sweep (array jobs) are combined.

Default output: <name>-hyperplane.png next to the first input.
Exit status: 0 written, 1 a file that is not a readable wedge output (or an
unwritable PNG), 2 bad arguments or no (done) toy hyperplane rows.
"""
import sys

import numpy as np

from .. import cli, flags, labels, plotting

PROG = "wedge-plot-toy-hyperplane"
NEED = ("subspace_d", "subspace_success", "subspace_loss_ratio", "dim", "long")

def rows(ds):
    """(D, n, d, success, ratio) of every done toy hyperplane row."""
    missing = [v for v in NEED if v not in ds.variables]
    if missing:
        cli.die("no toy hyperplane results: the output has no " + ", ".join(missing) +
            " (a sweep with model.arch toy and probes: subspace:, written by this wedge)")
    ratio = ds["subspace_loss_ratio"].values
    sub = flags.is_kind(ds, "subspace")
    if not sub.any():
        cli.die("no subspace rows (the sweep has no probes: subspace:)")
    toy = sub & np.isfinite(ds["dim"].values)
    if not toy.any():
        cli.die("no toy hyperplane rows: the subspace rows are of a network, not model.arch toy")
    done = toy & flags.is_status(ds, "done") & np.isfinite(ratio)
    if not done.any():
        cli.die(f"none of the {int(toy.sum())} toy hyperplane rows is done (wedge status)")
    if done.sum() < toy.sum():
        print(f"{PROG}: {int(toy.sum() - done.sum())} of {int(toy.sum())} "
              "toy hyperplane rows are not done; left out", file=sys.stderr)
    out = []
    for i in np.flatnonzero(done):
        out.append((int(ds["dim"].values[i]), int(ds["long"].values[i]),
                    int(ds["subspace_d"].values[i]), int(ds["subspace_success"].values[i]),
                    float(ratio[i])))
    return out


def aggregate(rs):
    """{(D, n): [(d, runs, successes, median ratio), ...] sorted by d}."""
    groups = {}
    for D, n, d, ok, r in rs:
        groups.setdefault((D, n), {}).setdefault(d, []).append((ok, r))
    table = {}
    for key in sorted(groups):
        table[key] = []
        for d in sorted(groups[key]):
            v = groups[key][d]
            table[key].append((d, len(v), sum(ok for ok, _ in v),
                               float(np.median([r for _, r in v]))))
    return table


def threshold(series, frac):
    """Smallest d whose success fraction is >= frac, or None."""
    for d, runs, oks, _ in series:
        if oks / runs >= frac:
            return d
    return None


def _run(argv):
    ap = cli.parser(PROG, __doc__)
    ap.add_argument("files", nargs="+", metavar="OUT.nc")
    ap.add_argument("-o", "--output", metavar="PNG")
    ap.add_argument("--min-success", type=float, default=0.5, metavar="F",
                    help="success fraction that defines the measured threshold (0.5)")
    ap.add_argument("--print-labels", action="store_true",
                    help="print each panel's axis labels on stdout")
    a = ap.parse_args(argv)
    if not 0 < a.min_success <= 1:
        cli.die(f"--min-success {a.min_success}: must be in (0, 1]")
    ds, title, name = cli.open_for_cli(a.files)
    table = aggregate(rows(ds))

    print(f"Random-hyperplane optimisation on the toy model ({title}): success = "
          "L_final <= 1e-6 L_initial")
    print()
    print("| D | n | D-n | d | d-(D-n) | runs | successes | fraction | median L_final/L_initial |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for (D, n), series in table.items():
        for d, runs, oks, med in series:
            print(f"| {D} | {n} | {D - n} | {d} | {d - (D - n):+d} | {runs} | {oks} | "
                  f"{oks / runs:.2f} | {med:.3g} |")
    print()
    print(f"Measured threshold: smallest d with success fraction >= {a.min_success:g}")
    print()
    print("| D | n | D-n | measured threshold | threshold - (D-n) | as predicted |")
    print("|---:|---:|---:|---:|---:|:---|")
    for (D, n), series in table.items():
        t = threshold(series, a.min_success)
        agree = all((oks == runs) if d >= D - n else (oks == 0) for d, runs, oks, _ in series)
        ts = "none" if t is None else str(t)
        diff = "-" if t is None else f"{t - (D - n):+d}"
        print(f"| {D} | {n} | {D - n} | {ts} | {diff} | {'yes' if agree else 'no'} |")
    print()

    plt = plotting.pyplot()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    for i, ((D, n), series) in enumerate(table.items()):
        c = f"C{i % 10}"
        d = [s[0] for s in series]
        ax1.plot(d, [s[2] / s[1] for s in series], "o-", color=c, ms=3,
                 label=labels.settings(("dim", "long"), (D, n)))
        ax1.axvline(D - n, color=c, ls="--", lw=0.8)
        ax2.plot(d, [max(s[3], 1e-17) for s in series], "o-", color=c, ms=3,
                 label=labels.settings(("dim", "long"), (D, n)))
        ax2.axvline(D - n, color=c, ls="--", lw=0.8)
    ax1.set_xlabel(labels.axis("hyperplane_d"))
    plotting.y_axis(ax1, "success")
    ax1.set_ylim(-0.05, 1.05)
    ax1.set_title("success (L_final <= 1e-6 L_initial); dashed: d = D - n", fontsize=9)
    plotting.legend(ax1, fontsize=7)
    ax2.axhline(1e-6, color="k", lw=0.8)
    ax2.set_yscale("log")
    ax2.set_xlabel(labels.axis("hyperplane_d"))
    plotting.y_axis(ax2, "loss_ratio")
    ax2.set_title("median ratio over seeds; line: 1e-6", fontsize=9)
    plotting.finish(fig, f"{title}: random hyperplanes on the toy wedge model",
                    "Success fraction and median ratio over the seeds of each (D, n) and d; "
                    "dashed verticals: the predicted threshold d = D - n.")
    if a.print_labels:
        plotting.print_labels(fig)
    out = a.output or cli.default_output(a.files, name, "hyperplane")
    plotting.save(fig, out, PROG)
    return 0


def main(argv=None):
    return cli.command(PROG, _run, argv)
