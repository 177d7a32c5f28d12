"""wedge-plot-fig5-radius: tunnel width against training progress, to separate a hyperparameter's effect from how far training got.

usage: wedge-plot-fig5-radius OUT.nc [OUT2.nc ...] [-o PNG] [--key KEY] [--level 1.0]
                              [--at-norm X ...] [--at-loss L ...]

Figure 5 of the paper compares tunnel widths at the end of training.  A
hyperparameter also changes how far training travels (|P0|) and how low the loss
gets, and width changes along training (Figure 2): a trend at the end can be a
trend in progress.  This tool uses every probed epoch of a sweep (probes.tunnel:
epochs: [1, 2, 4, ...]) and draws the angular width phi of each probe against
(left) the radius |P0| and (right) the probe-set loss L(P0), one line per
training (seed), one colour per value of KEY.

It prints four tables, each with the mean and min-max over seeds per value of
KEY: phi and the distance (median a*) at the last probed epoch ("at the end");
phi interpolated along each training's trajectory at matched radii (--at-norm;
default three log-spaced radii inside the range every setting covers); phi at
matched losses (--at-loss; default likewise); and the distance at the same
matched losses (at a matched radius the distance is |P0| tan phi, so it adds
nothing there).  Interpolation is linear in log|P0| (in log L for the loss),
between the two probes around the target on that training's own trajectory;
a training whose probes do not bracket the target gives no value there (it is
never extrapolated).  Each table ends with Kendall's tau between KEY and the
mean phi (or distance): the sign and strength of the trend at matched progress.

Only complete probes count.  Default output: <name>-fig5-radius.png next to the
first input.  Exit status: 0 written, 1 a file that is not a readable wedge
output, 2 bad arguments or fewer than two probed epochs.
"""

import math

import numpy as np

from .. import cli, labels, plotting, tunnels
from ..files import swept_keys
from ..tables import fmt, kv, print_table
from .fig5 import resolve_key

PROG = "wedge-plot-fig5-radius"


def trajectories(tw, key, others):
    """{(others..., key): {seed: (epochs, norms, losses, phis, distances)}} of
    complete probes, in epoch order."""
    out = {}
    ok = tw.complete.values & np.isfinite(tw.tunnel_norm.values)
    has_seed = "seed" in tw.coords
    for i in np.flatnonzero(ok):
        g = tuple(tw[k].values[i].item() for k in others + [key])
        s = tw.seed.values[i].item() if has_seed else 0
        out.setdefault(g, {}).setdefault(s, []).append(
            (int(tw.probe_epoch.values[i]), float(tw.tunnel_norm.values[i]),
             float(tw.tunnel_loss0.values[i]), float(tw.phi_deg.values[i]),
             float(tw.distance.values[i])))
    return {g: {s: tuple(np.array(c) for c in zip(*sorted(p))) for s, p in ss.items()}
            for g, ss in out.items()}


def interp_at(x, phi, target):
    """phi at ``target`` by linear interpolation in log x between the two probes of
    this trajectory around it (the pair nearest in epoch order); NaN if none
    brackets it or either phi is not finite."""
    lx, lt = np.log(x), math.log(target)
    for j in range(len(x) - 1):
        a, b = lx[j], lx[j + 1]
        if min(a, b) <= lt <= max(a, b):
            if not (np.isfinite(phi[j]) and np.isfinite(phi[j + 1])):
                return math.nan
            if a == b:
                return 0.5 * (phi[j] + phi[j + 1])
            u = (lt - a) / (b - a)
            return float(phi[j] + u * (phi[j + 1] - phi[j]))
    return math.nan


def default_targets(traj, which, n=3):
    """n log-spaced values inside the range every setting's trajectories cover
    (the union over its seeds); empty if the ranges do not overlap."""
    lo, hi = -math.inf, math.inf
    for ss in traj.values():
        v = np.concatenate([t[which] for t in ss.values()])
        v = v[np.isfinite(v) & (v > 0)]
        if not v.size:
            return []
        lo, hi = max(lo, v.min()), min(hi, v.max())
    if not lo < hi:
        return []
    return [float(x) for x in np.exp(np.linspace(math.log(lo), math.log(hi), n + 2)[1:-1])]


def kendall_tau(x, y):
    """Kendall's tau-a between paired values (NaN pairs dropped; NaN if < 2)."""
    p = [(a, b) for a, b in zip(x, y) if np.isfinite(a) and np.isfinite(b)]
    if len(p) < 2:
        return math.nan
    s = 0
    for i in range(len(p)):
        for j in range(i + 1, len(p)):
            s += np.sign(p[i][0] - p[j][0]) * np.sign(p[i][1] - p[j][1])
    return float(s) / (len(p) * (len(p) - 1) / 2)


def _stats(v):
    v = np.asarray([x for x in v if np.isfinite(x)])
    if not v.size:
        return math.nan, math.nan, math.nan, 0
    return float(v.mean()), float(v.min()), float(v.max()), int(v.size)


def _cell(v, nseeds, spec=".2f"):
    m, lo, hi, n = _stats(v)
    if n == 0:
        return "-"
    txt = f"{m:{spec}} ({lo:{spec}}-{hi:{spec}})" if n > 1 else f"{m:{spec}}"
    return txt + ("" if n == nseeds else f" [{n} of {nseeds}]")


def _numeric(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def matched_table(title, traj, key, others, which, targets, unit, y=3, yname="phi"):
    """Print the width ``y`` (3: phi, 4: distance) at matched ``which`` (1: |P0|,
    2: loss); returns Kendall's tau per target."""
    hdr = others + [key, "seeds"] + [f"{yname} at {unit} {t:.3g}" for t in targets]
    rows, means = [], {t: [] for t in targets}
    xs = []
    for g, ss in traj.items():
        cells = []
        for t in targets:
            v = [interp_at(tr[which], tr[y], t) for tr in ss.values()]
            cells.append(_cell(v, len(ss)))
            means[t].append(_stats(v)[0])
        xs.append(_numeric(g[-1]))
        rows.append([kv(x) for x in g] + [str(len(ss))] + cells)
    taus = [kendall_tau(xs, means[t]) for t in targets]
    rows.append([""] * len(others) + ["Kendall tau", ""] + [fmt(x, "+.2f") for x in taus])
    print_table(title, hdr, rows)
    return taus


def _run(argv):
    ap = cli.parser(PROG, __doc__)
    ap.add_argument("files", nargs="+", metavar="OUT.nc")
    ap.add_argument("-o", "--output", metavar="PNG")
    ap.add_argument("--key", help="swept key compared (default: first non-seed key)")
    ap.add_argument("--level", default="1.0",
                    help="dL of the level (default 1.0), or 'chance' for ln(classes)")
    ap.add_argument("--at-norm", type=float, nargs="+", metavar="X",
                    help="radii |P0| to compare at (default: 3 inside the common range)")
    ap.add_argument("--at-loss", type=float, nargs="+", metavar="L",
                    help="probe-set losses to compare at (default: 3 inside the common range)")
    a = ap.parse_args(argv)
    for name, v in (("--at-norm", a.at_norm), ("--at-loss", a.at_loss)):
        if v and not all(x > 0 and math.isfinite(x) for x in v):
            cli.die(f"{name}: positive numbers")

    ds, title, name = cli.open_for_cli(a.files)
    keys = swept_keys(ds)
    key = resolve_key(a.key, keys)
    others = [k for k in keys if k not in (key, "seed")]
    try:
        tw = tunnels.tunnel_widths(ds, epoch=None, unstack=False)
        level = tunnels.pick_level(tw, a.level)
    except tunnels.NoProbes as e:
        cli.die(f"{a.files[0]}: {e}")
    except (KeyError, ValueError) as e:
        cli.die(f"--level {a.level}: {e}")
    lvl = tunnels.level_label(tw, level)
    tw = tw.sel(level=level)
    traj = trajectories(tw, key, others)
    if not traj:
        cli.die(f"{a.files[0]}: no complete tunnel probes yet")
    if max(len(t[0]) for ss in traj.values() for t in ss.values()) < 2:
        cli.die(f"{a.files[0]}: every training has one probed epoch; width against progress "
                "needs probes at several epochs (probes: tunnel: epochs: [...])")
    nseeds = max(len(ss) for ss in traj.values())

    # at the end
    hdr = others + [key, "seeds", "last probed epoch", "radius \\|P0\\|", "L(P0)", "phi (deg)",
                    "distance"]
    rows, xs, ends = [], [], []
    for g, ss in traj.items():
        e, n, l, p, d = zip(*[tuple(c[-1] for c in t) for t in ss.values()])
        xs.append(_numeric(g[-1]))
        ends.append(_stats(p)[0])
        eps = sorted(set(int(x) for x in e))
        rows.append([kv(x) for x in g] +
                    [str(len(ss)), ", ".join(map(str, eps)), _cell(n, len(ss), ".4g"),
                     _cell(l, len(ss), ".3f"), _cell(p, len(ss)), _cell(d, len(ss), ".4g")])
    rows.append([""] * len(others) + ["Kendall tau", "", "", "", ""] +
                [fmt(kendall_tau(xs, ends), "+.2f"), ""])
    print_table(f"{title}: tunnel width at {lvl} at the last probed epoch (the paper's "
                f"Figure 5); mean (min-max) over seeds", hdr, rows)

    tn = a.at_norm or default_targets(traj, 1)
    tl = a.at_loss or default_targets(traj, 2)
    if tn:
        matched_table(f"{title}: phi (deg) at matched radius |P0|, interpolated along each "
                      "training; mean (min-max) over seeds", traj, key, others, 1, tn, "radius")
    else:
        print("No radius is reached by every setting: no matched-radius comparison.\n")
    if tl:
        matched_table(f"{title}: phi (deg) at matched probe-set loss L(P0), interpolated along "
                      "each training; mean (min-max) over seeds", traj, key, others, 2, tl, "L")
        matched_table(f"{title}: distance (median a*) at matched probe-set loss L(P0), "
                      "interpolated along each training; mean (min-max) over seeds",
                      traj, key, others, 2, tl, "L", y=4, yname="distance")
    else:
        print("No loss is reached by every setting: no matched-loss comparison.\n")

    # ---- the figure
    plt = plotting.pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for j, (g, ss) in enumerate(traj.items()):
        lab = labels.settings(others + [key], g)
        for s, (_, norm, loss, phi, _) in enumerate(ss.values()):
            for ax, x in zip(axes, (norm, loss)):
                ax.plot(x, phi, marker="o", ms=3, lw=1, color=f"C{j % 10}",
                        label=lab if s == 0 else None)
                ax.plot(x[-1:], phi[-1:], marker="s", ms=6, color=f"C{j % 10}")
    for t in tn:
        axes[0].axvline(t, color="0.8", lw=0.8, zorder=0)
    for t in tl:
        axes[1].axvline(t, color="0.8", lw=0.8, zorder=0)
    for ax in axes:
        ax.set_xscale("log")
        plotting.plain_log_ticks(ax.xaxis)
    axes[0].set_xlabel("radius |P0|")
    axes[1].set_xlabel("probe-set loss L(P0) (nats)")
    for ax in axes:
        plotting.y_axis(ax, "phi")
        ax.set_title(lvl)
    plotting.legend(axes[0])
    caption = (f"Each line one training ({nseeds} seeds per setting), its points the probed "
               "epochs in order, the square the last. Grey lines: the radii and losses of the "
               "matched tables. Only complete probes.")
    plotting.finish(fig, f"{title}: tunnel width against training progress", caption)
    out = a.output or cli.default_output(a.files, name, "fig5-radius")
    plotting.save(fig, out, PROG)
    return 0


def main(argv=None):
    return cli.command(PROG, _run, argv)
