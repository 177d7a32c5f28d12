"""wedge-plot-fig5: the paper's Figure 5 -- radial tunnel width against a swept hyperparameter.

usage: wedge-plot-fig5 OUT.nc [OUT2.nc ...] [-o PNG] [--key KEY] [--level 1.0]
                       [--epoch last|N] [--errors minmax|std] [--print-labels]

Two panels: the angular width phi (degrees) and the distance (median a*) at one
level (default dL = 1 nat) of the probe at the last probed epoch, each the mean
over seeds with error bars (min-max over seeds by default, or +-1 std), against
KEY (default: the first swept key that is not seed; log axis when its values
span a decade or more, symlog if they include 0).  Other swept keys give one
line each.  Only complete probes count (every split task done).  Prints the
plotted numbers as a Markdown table on stdout.  Several files of one sweep
(array jobs) are combined.  --print-labels prints the figure's axis labels.

Default output: <name>-fig5.png next to the first input.
Exit status: 0 written, 1 a file that is not a readable wedge output (or an
unwritable PNG), 2 bad arguments or no (done) tunnel probes.
"""

import numpy as np

from .. import cli, labels, plotting, tunnels
from ..files import swept_keys
from ..tables import fmt, kv, print_table
from ..training import training_frame

PROG = "wedge-plot-fig5"


def aggregate(df, key, others):
    """Per (others..., key): n seeds and mean/std/min/max of phi and distance."""
    rows = []
    by = others + [key]
    for gval, g in df.groupby(by if len(by) > 1 else key, sort=True, dropna=False):
        gval = gval if isinstance(gval, tuple) else (gval,)
        p = g.phi_deg.dropna()
        d = g.distance.dropna()
        acc = g.final_test_accuracy.dropna()
        rows.append(dict(zip(others + [key], gval),
                         n=int(g.probe_complete.sum()), n_phi=len(p),
                         phi_mean=p.mean(), phi_std=p.std(ddof=1) if len(p) > 1 else np.nan,
                         phi_min=p.min(), phi_max=p.max(),
                         dist_mean=d.mean(), dist_std=d.std(ddof=1) if len(d) > 1 else np.nan,
                         dist_min=d.min(), dist_max=d.max(),
                         acc_mean=acc.mean() if len(acc) else np.nan))
    return rows


def resolve_key(key, keys):
    """A --key as given (``train.lr``, ``lr``, ``data.name``) -> the swept variable, or die."""
    if key is None:
        cand = [k for k in keys if k != "seed"]
        if not cand:
            cli.die(f"no swept key besides seed (swept: {' '.join(keys) or 'none'})")
        return cand[0]
    k = key.split(".")[-1]
    k = {"name": "dataset"}.get(k, k)
    if k not in keys or k == "seed":
        cli.die(f"--key {key}: not a swept key besides seed (swept: {' '.join(keys) or 'none'})")
    return k


def _run(argv):
    ap = cli.parser(PROG, __doc__)
    ap.add_argument("files", nargs="+", metavar="OUT.nc")
    ap.add_argument("-o", "--output", metavar="PNG")
    ap.add_argument("--key", help="swept key on the x axis (default: first non-seed key)")
    ap.add_argument("--level", default="1.0",
                    help="dL of the level (default 1.0), or 'chance' for ln(classes)")
    ap.add_argument("--epoch", default="last", help="probe epoch (default: the last probed)")
    ap.add_argument("--errors", choices=("minmax", "std"), default="minmax",
                    help="error bars: min-max over seeds (default) or +-1 std")
    ap.add_argument("--print-labels", action="store_true",
                    help="print each panel's axis labels on stdout")
    a = ap.parse_args(argv)
    try:
        epoch = a.epoch if a.epoch == "last" else int(a.epoch)
    except ValueError:
        cli.die(f"--epoch {a.epoch}: 'last' or an epoch number")

    ds, title, name = cli.open_for_cli(a.files)
    keys = swept_keys(ds)
    key = resolve_key(a.key, keys)
    others = [k for k in keys if k not in (key, "seed")]
    try:
        tw = tunnels.tunnel_widths(ds, epoch=epoch, unstack=False)
    except tunnels.NoProbes as e:
        cli.die(f"{a.files[0]}: {e}")
    try:
        level = tunnels.pick_level(tw, a.level)
    except (KeyError, ValueError) as e:
        cli.die(f"--level {a.level}: {e}")
    if not tw.complete.values.any():
        cli.die(f"{a.files[0]}: no done tunnel probes yet "
                f"({int(tw.n_tasks_done.sum())} of {int(tw.n_tasks.sum())} probe tasks done)")
    df = training_frame(ds, level=level, epoch=epoch)
    df = df[df.probe_complete]
    probe_epochs = sorted(set(int(e) for e in df.probe_epoch))
    lvl = tunnels.level_label(tw, level)
    rows = aggregate(df, key, others)
    pe = ", ".join(map(str, probe_epochs))

    # ---- the table
    hdr = others + [key, "n seeds", "phi mean (deg)", "phi std (deg)",
                    "distance mean", "distance std", "test acc mean"]
    out_rows = []
    for r in rows:
        vals = [f"{r[k]:.4g}" if isinstance(r[k], (float, np.floating)) else kv(r[k])
                for k in others + [key]]
        n = str(r["n"]) if r["n_phi"] == r["n"] else f"{r['n']} ({r['n'] - r['n_phi']} not reached)"
        vals += [n, fmt(r["phi_mean"], ".3f"), fmt(r["phi_std"], ".3f"),
                 fmt(r["dist_mean"], ".4g"), fmt(r["dist_std"], ".3g"),
                 fmt(r["acc_mean"], ".4f")]
        out_rows.append(vals)
    print_table(f"{title}: radial tunnel width at {lvl}, probe epoch {pe}; mean and std (n-1) "
                "over seeds, complete probes only (test acc: the same seeds)", hdr, out_rows)

    # ---- the figure
    plt = plotting.pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.8))
    series = {}
    for r in rows:
        series.setdefault(tuple(r[k] for k in others), []).append(r)
    xpos = None
    for ax in axes:
        xpos = plotting.x_axis(ax, key, [r[key] for r in rows])
    for j, (s, rs) in enumerate(series.items()):
        x = np.array([xpos(r[key]) for r in rs], dtype=float)
        lab = labels.settings(others, s) or None
        for ax, q in zip(axes, ("phi", "dist")):
            m = np.array([r[f"{q}_mean"] for r in rs], dtype=float)
            if a.errors == "minmax":
                lo = m - np.array([r[f"{q}_min"] for r in rs], dtype=float)
                hi = np.array([r[f"{q}_max"] for r in rs], dtype=float) - m
            else:
                lo = hi = np.nan_to_num(np.array([r[f"{q}_std"] for r in rs], dtype=float))
            ax.errorbar(x, m, yerr=[np.clip(np.nan_to_num(lo), 0, None),
                                    np.clip(np.nan_to_num(hi), 0, None)],
                        marker="o", color=f"C{j % 10}", label=lab)
    plotting.y_axis(axes[0], "phi")
    plotting.y_axis(axes[1], "distance")
    for ax in axes:
        ax.set_title(f"{lvl}, probe epoch {pe}")
        plotting.legend(ax)
    nseeds = sorted(set(r["n"] for r in rows))
    nlab = f"{nseeds[0]}" if len(nseeds) == 1 else f"{nseeds[0]}-{nseeds[-1]}"
    spread = "min-max" if a.errors == "minmax" else "±1 standard deviation (n-1)"
    caption = (f"Points: mean over {nlab} seeds; bars: {spread} over the seeds. "
               f"Probes at epoch {pe}, level {lvl}; a direction that never reached the level "
               "counts as infinitely far; only complete probes.")
    if nseeds == [1]:
        caption = f"One seed per point. Probes at epoch {pe}, level {lvl}."
    plotting.finish(fig, f"{title}: radial tunnel width vs {labels.name(key)}", caption)
    if a.print_labels:
        plotting.print_labels(fig)
    out = a.output or cli.default_output(a.files, name, "fig5")
    plotting.save(fig, out, PROG)
    return 0


def main(argv=None):
    return cli.command(PROG, _run, argv)
