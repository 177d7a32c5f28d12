#!/usr/bin/python3
"""wedge-plot-fig3: the paper's Figure 3 -- a low-loss tunnel (1-connector) between two optima.

usage: wedge-plot-fig3 OUT.nc [OUT2.nc ...] [-o PNG] [--connector TASK]

One row of panels per done 1-connector (or only connector task TASK), against the
position along the polyline O1 -> X_1 .. X_K -> O2 (0 = O1, k/(K+1) = X_k, 1 = O2;
dotted verticals at the X_k):
  loss      probe-set (train) and test loss along the path (solid) and along the
            straight line O1 -> O2 (dashed)
  accuracy  probe-set and test accuracy along the path (the file has no accuracy
            along the straight line)
  cosines   the K x K cosines between the deviations X_k - C_k from the straight line
  changed   fraction of test predictions that differ from O1's and from O2's
The path is sampled at u = e/E on each segment, so O2 itself is not; the test
curves and "changed vs O2" end at O2 with its training row's final test loss and
accuracy, and 0.
Prints markdown tables: every connector (m = 1 and m > 1) with its barriers (the
largest probe-set loss along the path and along the straight line; m > 1: centre
-> O_i and centroid -> O_i), and for each plotted 1-connector the values at points
0..K+1 (O1, X_1..X_K, O2), with the optimiser steps each point took when the file
records them (fewer than connectors.steps: connectors.until_loss reached).
Several files of one sweep (array jobs) are combined.

Then two tables that test the paper's reading of the middle and right panels
(docs/METHODS.md, "Orthogonality of tunnels and of connector halves"), one row
per plotted 1-connector and their mean:
  halves    from the cosines panel: the mean cosine of the deviations within the
            first half X_1..X_h, within the second half X_{K-h+1}..X_K (h = K//2;
            for odd K the middle point X_{h+1} belongs to neither half), across
            the halves, and between neighbours X_k, X_{k+1}; separation = within
            (both halves pooled) - across: 1 for halves that are each aligned and
            orthogonal to each other, about 0 without block structure.  Two
            models of the off-diagonal cosines (pairs with both points in a half):
            the two-block model (each pair = the mean of its block: within first,
            within second, across; 3 values) and the smooth decay
            exp(-|i-j|/L) (L fitted; 1 value), with their residual sums of
            squares; "better" names the smaller.  The paper's claim predicts
            separation near 1 and the block model clearly better.
  changed   from the right panel: the fraction of test labels that differ from
            O1 (from O2) at 1/4, 1/2 and 3/4 of the way from that end, and R^2
            of a straight line and of a "ramp then plateau" y = a + b min(x, x0)
            (x0 fitted, printed as "break"): a rise to the middle that then stays
            flat has R^2 ramp near 1, break near 0.5 and a lower R^2 line.
--digits N sets the significant digits of these two tables (default 4).
The cosines panel's title repeats within, across and separation.

Default output: <name>-fig3.png next to the first input.
Exit status: 0 written, 1 a file that is not a readable wedge output (or an
unwritable PNG), 2 bad arguments, no connector rows, or no done
1-connector.
"""
import numpy as np

from .. import cli, flags, labels, plotting
from ..connectors import NoConnectors, connector_frame, connector_path
from ..files import swept_keys
from ..layout import final_values
from ..orthogonality import changed_shape, deviation_halves
from ..tables import fmt, kv, print_table

PROG = "wedge-plot-fig3"

def final_test(ds, task):
    """(test loss, test accuracy) at the last epoch of training ``task``."""
    i = int(np.flatnonzero(ds.task.values == task)[0])
    if not flags.is_status(ds, "done")[i]:
        return np.nan, np.nan
    e = ds.epochs.values[i:i + 1]
    return (float(final_values(ds.test_loss.values[i:i + 1], e)[0]),
            float(final_values(ds.test_accuracy.values[i:i + 1], e)[0]))


def changed_curves(p):
    """The two "changed" curves of a 1-connector path as (x, y) with x the distance
    from the end compared with: vs O1 at the sampled positions, vs O2 at 1 -
    position plus O2 itself (x = 0, y = 0)."""
    x = p.position.values.ravel()
    return ((x, p.path_changed_a.values.ravel()),
            (np.append(1.0 - x, 0.0), np.append(p.path_changed_b.values.ravel(), 0.0)))


def print_halves(title, nonseed, paths, digits):
    """Print the halves and changed tables of the plotted 1-connectors; returns
    the halves dicts (deviation_halves) in ``paths`` order."""
    g = f".{digits}g"
    out, rows, srows = [], [], []
    cols = ["within_first", "within_second", "across", "neighbour", "separation",
            "rss_block", "rss_decay", "decay_L"]
    scols = ["at_quarter", "at_middle", "at_three_quarters", "r2_line", "r2_ramp", "break_at"]
    shapes = []
    for c, p, _, _ in paths:
        h = deviation_halves(p.deviation_cosine.values)
        out.append(h)
        rows.append([kv(c[k]) for k in nonseed] +
                    [str(c.task_id), str(h["K"]), "-" if h["middle"] is None else f"X_{h['middle']}"] +
                    [fmt(h[n], g) for n in cols] + [h["better"]])
        for end, (x, y) in zip(("O1", "O2"), changed_curves(p)):
            sh = changed_shape(x, y)
            shapes.append(sh)
            srows.append([kv(c[k]) for k in nonseed] + [str(c.task_id), end] +
                         [fmt(sh[n], g) for n in scols])
    nb = sum(h["better"] == "block" for h in out)
    rows.append([""] * len(nonseed) + ["mean", "", ""] +
                [fmt(np.nanmean([h[n] for h in out]) if any(np.isfinite(h[n]) for h in out)
                     else np.nan, g) for n in cols] + [f"block {nb} of {len(out)}"])
    hdr = nonseed + ["connector task", "K", "middle (neither half)", "within first half",
                     "within second half", "across halves", "neighbours", "separation",
                     "RSS block", "RSS decay", "decay L", "better"]
    print_table(f"{title}: halves of the deviation cosines (pairs i < j); separation = "
                f"within (both halves) - across; RSS of the two-block model and of "
                f"exp(-|i-j|/L) over the pairs with both points in a half", hdr, rows)
    srows.append([""] * len(nonseed) + ["mean", ""] +
                 [fmt(np.nanmean([s[n] for s in shapes]) if any(np.isfinite(s[n]) for s in shapes)
                      else np.nan, g) for n in scols])
    hdr = nonseed + ["connector task", "vs", "at 1/4", "at 1/2", "at 3/4", "R^2 line",
                     "R^2 ramp", "break"]
    print_table(f"{title}: test labels changed along each 1-connector, by distance from "
                f"the end compared with; R^2 of a line and of a ramp then plateau "
                f"a + b min(x, break)", hdr, srows)
    return out


def _run(argv):
    ap = cli.parser(PROG, __doc__)
    ap.add_argument("files", nargs="+", metavar="OUT.nc")
    ap.add_argument("-o", "--output", metavar="PNG")
    ap.add_argument("--connector", type=int, metavar="TASK",
                    help="plot only the 1-connector with this task id (default: every done one)")
    ap.add_argument("--print-labels", action="store_true",
                    help="print each panel's axis labels on stdout")
    ap.add_argument("--digits", type=int, default=4, metavar="N",
                    help="significant digits of the halves and changed tables (default 4)")
    a = ap.parse_args(argv)
    if not 1 <= a.digits <= 17:
        cli.die(f"--digits {a.digits}: 1 to 17")

    ds, title, name = cli.open_for_cli(a.files)
    try:
        cf = connector_frame(ds)
    except NoConnectors as e:
        cli.die(f"{a.files[0]}: {e} (add a `connectors:` section to the sweep)")
    nonseed = [k for k in swept_keys(ds) if k != "seed"]

    # ---- every connector: barriers
    hdr = nonseed + ["connector task", "m", "optima (tasks)", "status", "barrier path (nat)",
                     "barrier line (nat)", "line - path", "mean objective (nat)", "plane leak"]
    rows = []
    for _, c in cf.iterrows():
        rows.append([kv(c[k]) for k in nonseed] +
                    [str(c.task_id), str(c.m), " ".join(map(str, c.optima)),
                     c.status, fmt(c.barrier_path, ".4f"),
                     fmt(c.barrier_line, ".4f"), fmt(c.barrier_line - c.barrier_path, ".4f"),
                     fmt(c.objective_mean, ".4f"), fmt(c.plane_leak, ".2g")])
    print_table(f"{title}: connectors; barrier = largest probe-set loss along the connector "
                f"path / the straight line (m = 1: O1 -> O2; m > 1: centroid -> each O_i)",
                hdr, rows)

    ones = cf[(cf.m == 1) & (cf.status == "done")]
    if a.connector is not None:
        sel = cf[cf.task_id == a.connector]
        if sel.empty:
            cli.die(f"--connector {a.connector}: no such connector task "
                f"(connectors: {' '.join(map(str, cf.task_id))})")
        if int(sel.m.iloc[0]) != 1:
            cli.die(f"--connector {a.connector}: an m = {sel.m.iloc[0]} connector; "
                "Figure 3 shows 1-connectors")
        if sel.status.iloc[0] != "done":
            cli.die(f"--connector {a.connector}: not done ({sel.status.iloc[0]})")
        ones = sel
    if ones.empty:
        cli.die(f"{a.files[0]}: no done 1-connector to plot "
            f"({int((cf.m == 1).sum())} 1-connector task(s) in the file)")

    paths = []
    for _, c in ones.iterrows():
        p = connector_path(ds, c.task_id)
        K = p.attrs["K"]
        o1, o2 = p.attrs["optima"]
        o2_loss, o2_acc = final_test(ds, o2)
        paths.append((c, p, o2_loss, o2_acc))
        tl, ta = p.path_train_loss.values, p.path_train_accuracy.values
        sl, sa = p.path_test_loss.values, p.path_test_accuracy.values
        ca, cb = p.path_changed_a.values, p.path_changed_b.values
        obj = p.connector_loss.values
        steps = p.connector_steps.values if "connector_steps" in p else None
        hdr = ["point", "position", "at", "objective (nat)", "probe-set loss",
               "probe-set acc", "test loss", "test acc", "changed vs O1", "changed vs O2"]
        if steps is not None:
            hdr.insert(4, "steps")
        rows = []
        for k in range(K + 1):  # O1 and X_k: the start (u = 0) of segment k
            rows.append([str(k), f"{k / (K + 1):.4f}", "O1" if k == 0 else f"X_{k}",
                         "-" if k == 0 else fmt(obj[k - 1], ".4f"),
                         fmt(tl[k, 0], ".4f"), fmt(ta[k, 0], ".4f"), fmt(sl[k, 0], ".4f"),
                         fmt(sa[k, 0], ".4f"), fmt(ca[k, 0], ".3f"), fmt(cb[k, 0], ".3f")])
            if steps is not None:
                rows[-1].insert(4, "-" if k == 0 else fmt(steps[k - 1], ".0f"))
        rows.append([str(K + 1), f"{1:.4f}", "O2", "-", "-", "-", fmt(o2_loss, ".4f"),
                     fmt(o2_acc, ".4f"), "-", fmt(0.0, ".3f")])
        if steps is not None:
            rows[-1].insert(4, "-")
        g = ", ".join(f"{k}={kv(c[k])}" for k in nonseed)
        print_table(f"{title}: along the 1-connector task {c.task_id} (O1 = task {o1}, "
                    f"O2 = task {o2}{', ' + g if g else ''}), K = {K}; objective = final "
                    f"connector objective; O2: its training row's test loss/accuracy",
                    hdr, rows)

    halves = print_halves(title, nonseed, paths, a.digits)

    # ---- the figure
    plt = plotting.pyplot()

    n = len(paths)
    fig, axes = plt.subplots(n, 4, figsize=(19, 4.3 * n), squeeze=False,
                             gridspec_kw={"width_ratios": [1.25, 1.1, 0.9, 1.1]})
    for row, (c, p, o2_loss, o2_acc), hv in zip(axes, paths, halves):
        K = p.attrs["K"]
        x = p.position.values.ravel()
        xe = np.append(x, 1.0)  # with O2 at the end (test curves, changed vs O2)
        o1, o2 = p.attrs["optima"]
        g = labels.settings(nonseed, [c[k] for k in nonseed])
        cname = f"connector {c.task_id} (O{o1}-O{o2}" + (f", {g})" if g else ")")
        ax = row[0]
        ax.plot(x, p.path_train_loss.values.ravel(), "-", color="C0", label="train (probe set), path")
        ax.plot(x, p.line_train_loss.values.ravel(), "--", color="C0", label="train, straight line")
        ax.plot(xe, np.append(p.path_test_loss.values.ravel(), o2_loss), "-", color="C3",
                label="test, path")
        ax.plot(xe, np.append(p.line_test_loss.values.ravel(), o2_loss), "--", color="C3",
                label="test, straight line")
        ax.plot(p.point_position.values, p.path_train_loss.values[1:, 0], "o", color="C0", ms=4)
        plotting.y_axis(ax, "loss")
        ax.set_title(f"{cname}: loss; barrier path {c.barrier_path:.3f}, "
                     f"line {c.barrier_line:.3f} nat", fontsize=8)
        ax = row[1]
        ax.plot(x, p.path_train_accuracy.values.ravel(), "-", color="C0", label="train (probe set)")
        ax.plot(xe, np.append(p.path_test_accuracy.values.ravel(), o2_acc), "-", color="C3",
                label="test")
        ax.plot(p.point_position.values, p.path_train_accuracy.values[1:, 0], "o", color="C0",
                ms=4)
        plotting.y_axis(ax, "accuracy")
        ax.set_title("accuracy along the path", fontsize=8)
        ax = row[3]
        ax.plot(x, p.path_changed_a.values.ravel(), "-", color="C2", label="differ from O1")
        ax.plot(xe, np.append(p.path_changed_b.values.ravel(), 0.0), "-", color="C4",
                label="differ from O2")
        ax.set_ylim(-0.02, 1.02)
        plotting.y_axis(ax, "changed")
        ax.set_title("test labels changed along the path", fontsize=8)
        ticks = np.arange(K + 2) / (K + 1)
        names = ["O1"] + [f"X{k}" for k in range(1, K + 1)] + ["O2"]
        for ax in (row[0], row[1], row[3]):
            for xp in p.point_position.values:
                ax.axvline(xp, color="0.6", ls=":", lw=0.8)
            ax.set_xlim(0, 1)
            if K <= 12:
                ax.set_xticks(ticks)
                ax.set_xticklabels(names, fontsize=7)
            ax.set_xlabel(labels.axis("position"))
            plotting.legend(ax, fontsize=7)
        ax = row[2]
        cos = p.deviation_cosine.values
        im = ax.imshow(cos, cmap="RdBu_r", vmin=-1, vmax=1, origin="upper")
        ax.set_xticks(range(K))
        ax.set_yticks(range(K))
        ax.set_xticklabels([f"X{k}" for k in range(1, K + 1)], fontsize=7)
        ax.set_yticklabels([f"X{k}" for k in range(1, K + 1)], fontsize=7)
        if K <= 10:
            for i in range(K):
                for j in range(K):
                    if np.isfinite(cos[i, j]):
                        ax.text(j, i, f"{cos[i, j]:.2f}", ha="center", va="center", fontsize=6,
                                color="white" if abs(cos[i, j]) > 0.6 else "black")
        ax.set_title(f"cosine of deviations X_k - C_k\nwithin halves {fmt(hv['within'], '.2f')}, "
                     f"across {fmt(hv['across'], '.2f')}, separation "
                     f"{fmt(hv['separation'], '.2f')}", fontsize=8)
        ax.grid(False)
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    fig.suptitle(f"{title}: low-loss tunnels (1-connectors), path vs straight line", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.35 / (4.3 * n)))
    if a.print_labels:
        plotting.print_labels(fig)
    out = a.output or cli.default_output(a.files, name, "fig3")
    plotting.save(fig, out, PROG, f"{n} connector(s)")
    return 0


def main(argv=None):
    return cli.command(PROG, _run, argv)
