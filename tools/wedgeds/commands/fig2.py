#!/usr/bin/python3
"""wedge-plot-fig2: the paper's Figure 2 -- loss planes through three optima and tunnel widths vs epoch.

usage: wedge-plot-fig2 OUT.nc [OUT2.nc ...] [-o PNG] [--group N] [--level 1.0] [--cap X]
                       [--print-labels]

For a sweep with `probes: plane:` and/or `probes: tunnel:` at several epochs
(e.g. sweeps/reduced/fig2-radii.yaml):

  top row     one panel per probed plane epoch (at most 6; evenly spread if more):
              the probe-set loss on the plane through the optima O1, O2, O3
              (plane_loss; the split tasks of one plane -- same plane_sources and
              probe_epoch -- combined row by row), filled contours on a log color
              scale clipped at --cap (default 3 x the chance loss ln(classes)),
              the optima marked and labelled by seed, axes in plane coordinates.
  bottom row  (a) |P0| (tunnel_norm), (b) the distance median a*, (c) the angular
              width phi = atan(median a* / |P0|) in degrees, against epoch, one
              line per seed, at the level dL = --level (default 1 nat).  The split
              tasks of one probe (same source_task and probe_epoch) are combined;
              a direction that never reached the level counts as +inf in the
              median (an infinite median is shown as '-' and not plotted).

Only the row(s) whose probe kind is present are drawn.  A sweep that also sweeps
other keys than seed has one group of trainings per setting; --group N picks one
(default 0, the first in task order); both rows show that group only.

Prints the numbers as markdown tables on stdout: per (epoch, seed) |P0|, L(P0),
median a*, phi; per plane epoch the loss at the three optima and the largest loss
on the straight segments between them.  The plane numbers are read off the grid
at the NEAREST grid points (no interpolation), so they are approximate at the
grid spacing printed with them.

Several files of one sweep (array jobs) are combined.  --print-labels prints the
figure's axis labels.

Default output: <name>-fig2.png next to the first input.
Exit status: 0 written, 1 a file that is not a readable wedge output (or an
unwritable PNG), 2 bad arguments or neither plane nor tunnel probes.
"""
import math
import sys

import numpy as np

from .. import cli, flags, labels, plotting
from ..files import swept_keys
from ..tables import fmt, median_inf
from ..training import chance_accuracy

PROG = "wedge-plot-fig2"
MAX_PANELS = 6


def _median_a(a):
    """Median of a* with NaN (not reached) counted as +inf."""
    a = np.asarray(a, dtype=float)
    return median_inf(np.where(np.isnan(a), np.inf, a)) if a.size else np.nan


# ---------------------------------------------------------------- reading -------

def group_keys(ds):
    """Per task: the values of the swept keys other than seed (a tuple), and their names."""
    names = [k for k in swept_keys(ds) if k != "seed"]
    cols = [[v if isinstance(v, str) else float(v) for v in ds[n].values] for n in names]
    keys = [tuple(c[i] for c in cols) for i in range(ds.sizes["task"])]
    return keys, names


def tunnels(ds, pos, members_ok, level_idx):
    """{(source_task, epoch): dict} for tunnel probes whose source passes members_ok."""
    done = flags.is_status(ds, "done")
    src, pep = ds.source_task.values, ds.probe_epoch.values
    astar = ds.tunnel_astar.transpose("task", "direction", "level").values
    how = ds.tunnel_outcome.transpose("task", "direction", "level").values  # NaN = not probed
    norm, loss0 = ds.tunnel_norm.values, ds.tunnel_loss0.values
    groups = {}
    for i in np.flatnonzero(flags.is_kind(ds, "tunnel")):
        if members_ok(int(src[i])):
            groups.setdefault((int(src[i]), int(pep[i])), []).append(i)
    out = {}
    for g, members in sorted(groups.items()):
        a = np.full(astar.shape[1], np.nan)
        probed = np.zeros(astar.shape[1], dtype=bool)
        r = dict(norm=np.nan, loss0=np.nan, ntask=len(members), ndone=0)
        for i in members:
            if not done[i]:
                continue
            r["ndone"] += 1
            mine = np.isfinite(how[i, :, level_idx]) & (how[i, :, level_idx] >= 0)
            a[mine] = astar[i, mine, level_idx]
            probed |= mine
            if np.isnan(r["norm"]):
                r["norm"], r["loss0"] = norm[i], loss0[i]
        r["ndir"] = int(probed.sum())
        r["nreached"] = int(np.isfinite(a[probed]).sum())
        med = _median_a(a[probed]) if probed.any() else np.nan
        r["median"] = med
        r["phi_deg"] = (math.degrees(math.atan(med / r["norm"]))
                        if np.isfinite(med) and r["norm"] > 0 else np.nan)
        r["complete"] = r["ndone"] == r["ntask"]
        r["seed"] = float(ds.seed.values[pos[g[0]]])
        out[g] = r
    return out


def planes(ds, members_ok):
    """{(sources tuple, epoch): dict} with the split tasks of each plane combined."""
    done_rows = flags.is_status(ds, "done")
    pep = ds.probe_epoch.values
    srcs = ds.plane_sources.values
    groups = {}
    for i in np.flatnonzero(flags.is_kind(ds, "plane")):
        s = srcs[i]
        if not np.isfinite(s).all():
            continue
        s = tuple(int(x) for x in s)
        if members_ok(s[0]):
            groups.setdefault((s, int(pep[i])), []).append(i)
    loss = ds.plane_loss.transpose("task", "plane_y", "plane_x").values
    gx, gy = ds.plane_gx.values, ds.plane_gy.values
    vx, vy = ds.plane_vertex_x.values, ds.plane_vertex_y.values
    out = {}
    for g, members in sorted(groups.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        done = [i for i in members if done_rows[i]]
        r = dict(ntask=len(members), ndone=len(done), complete=len(done) == len(members))
        if not done:
            out[g] = r
            continue
        i0 = done[0]
        for i in done[1:]:
            if not (np.allclose(gx[i], gx[i0]) and np.allclose(gy[i], gy[i0])):
                print(f"{PROG}: warning: split tasks {i0} and {i} of plane {g} "
                      "disagree on the grid; rows of {i} ignored", file=sys.stderr)
                done.remove(i)
        comb = np.full(loss.shape[1:], np.nan)
        for row in range(loss.shape[1]):
            for i in done:  # per grid row, the task that computed it
                if np.isfinite(loss[i, row]).any():
                    comb[row] = loss[i, row]
                    break
        r.update(loss=comb, gx=gx[i0].copy(), gy=gy[i0].copy(),
                 vx=vx[i0].copy(), vy=vy[i0].copy())
        out[g] = r
    return out


def nearest(gx, gy, x, y):
    return int(np.argmin(np.abs(gx - x))), int(np.argmin(np.abs(gy - y)))


def segment_max(p, a, b):
    """Largest grid loss at the nearest grid points of samples along a->b (approximate)."""
    n = 8 * max(len(p["gx"]), len(p["gy"]))
    cells = {nearest(p["gx"], p["gy"], a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1]))
             for t in np.linspace(0.0, 1.0, n)}
    vals = [p["loss"][j, i] for i, j in cells]
    return max(vals) if np.isfinite(vals).all() else np.nan  # NaN if a row is missing


# ---------------------------------------------------------------- main ----------

def _run(argv):
    ap = cli.parser(PROG, __doc__)
    ap.add_argument("files", nargs="+", metavar="OUT.nc")
    ap.add_argument("-o", "--output", metavar="PNG")
    ap.add_argument("--group", type=int, default=0,
                    help="which group of seed replicates (when other keys are swept); default 0")
    ap.add_argument("--level", type=float, default=1.0, help="tunnel level dL (default 1.0)")
    ap.add_argument("--cap", type=float, default=None,
                    help="clip the plane colors at this loss (default 3 x ln(classes))")
    ap.add_argument("--print-labels", action="store_true",
                    help="print each panel's axis labels on stdout")
    a = ap.parse_args(argv)
    a.file = a.files[0]
    die = cli.die

    ds, title, name = cli.open_for_cli(a.files)
    has_tunnel = "tunnel_astar" in ds and flags.is_kind(ds, "tunnel").any()
    has_plane = "plane_loss" in ds and flags.is_kind(ds, "plane").any()
    if not has_tunnel and not has_plane:
        die(f"{a.file}: neither plane nor tunnel probes (needs `probes: plane:` and/or "
            "`probes: tunnel:` in the sweep)")

    pos = {int(t): i for i, t in enumerate(ds.task.values)}
    gkeys, gnames = group_keys(ds)
    train_groups = []
    for i in np.flatnonzero(flags.is_kind(ds, "train")):
        if gkeys[i] not in train_groups:
            train_groups.append(gkeys[i])
    if not 0 <= a.group < max(1, len(train_groups)):
        die(f"--group {a.group}: the sweep has {len(train_groups)} group(s) of seeds")
    gsel = train_groups[a.group] if train_groups else ()
    gdesc = labels.settings(gnames, gsel)
    if len(train_groups) > 1:
        print(f"{PROG}: {len(train_groups)} groups of seeds; showing group {a.group} "
              f"({gdesc}); pick another with --group", file=sys.stderr)

    def members_ok(src):
        return src in pos and gkeys[pos[src]] == gsel

    def seed_of(src):
        return ds.seed.values[pos[src]] if src in pos else np.nan

    # chance loss ln(classes) (training.chance_accuracy says where classes come from)
    chance = -math.log(float(np.nanmin(chance_accuracy(ds))))
    cap = a.cap if a.cap else 3 * chance

    # ---- tunnels
    tun, lvl_desc = {}, None
    if has_tunnel:
        lev = ds.level.values
        rel = ds.level_is_absolute.values == 0
        hit = np.flatnonzero(rel & np.isclose(lev, a.level, rtol=1e-6, atol=0))
        if hit.size == 0:
            die(f"--level {a.level:g}: no such dL level (levels: "
                + ", ".join(f"{l:g}{' (absolute)' if not r else ''}" for l, r in zip(lev, rel))
                + ")")
        lvl_desc = f"dL = {a.level:g} nat"
        tun = tunnels(ds, pos, members_ok, int(hit[0]))

    # ---- planes
    pl = planes(ds, members_ok) if has_plane else {}
    pl_epochs = sorted({e for (_, e), r in pl.items() if "loss" in r})
    if len(pl_epochs) > MAX_PANELS:
        pick = np.unique(np.round(np.linspace(0, len(pl_epochs) - 1, MAX_PANELS)).astype(int))
        shown = [pl_epochs[k] for k in pick]
        print(f"{PROG}: {len(pl_epochs)} plane epochs; drawing {shown}", file=sys.stderr)
        pl_epochs = shown
    pl_draw = []  # (key, plane) in epoch order; the first source triple per epoch
    for e in pl_epochs:
        ks = [k for k in pl if k[1] == e and "loss" in pl[k]]
        pl_draw.append((ks[0], pl[ks[0]]))
    if has_plane and not pl_draw:
        print(f"{PROG}: warning: no done plane tasks yet", file=sys.stderr)
    if has_tunnel and not any(r["ndone"] for r in tun.values()):
        print(f"{PROG}: warning: no done tunnel tasks yet", file=sys.stderr)

    # ---- the tables
    head = f"{title}" + (f" ({gdesc})" if gdesc else "")
    if tun:
        print(f"{head}: radial tunnel width at {lvl_desc}; median over all directions of a "
              "probe (split tasks combined), not reached = +inf; '-' = infinite median; "
              "probes with tasks not done are listed but not plotted")
        print()
        hdr = ["epoch", "seed", "task", r"\|P0\|", "L(P0)", "median a*", "phi (deg)", "reached"]
        print("| " + " | ".join(hdr) + " |")
        print("|" + "|".join("---:" for _ in hdr) + "|")
        for (src, ep), r in sorted(tun.items(), key=lambda kv: (kv[0][1], kv[1]["seed"])):
            reached = f"{r['nreached']}/{r['ndir']}"
            if not r["complete"]:
                reached += f" ({r['ndone']}/{r['ntask']} tasks done)"
            print(f"| {ep} | {r['seed']:g} | {src} | {fmt(r['norm'])} | {fmt(r['loss0'])} | "
                  f"{fmt(r['median'])} | {fmt(r['phi_deg'], '.3f')} | {reached} |")
        print()
    if pl_draw:
        seeds = [seed_of(s) for s in pl_draw[0][0][0]]
        lab = [f"O{k + 1}(s{s:g})" for k, s in enumerate(seeds)]
        print(f"{head}: loss planes through three optima (probe-set loss, nats; chance "
              f"{chance:.4g}). APPROXIMATE: values at the nearest grid points, no "
              "interpolation; segment max = max over the grid points nearest to the segment "
              "('-' if one of them is not computed yet)")
        print()
        hdr = (["epoch"] + [f"L {l}" for l in lab]
               + [f"max {lab[0][:2]}-{lab[1][:2]}", f"max {lab[0][:2]}-{lab[2][:2]}",
                  f"max {lab[1][:2]}-{lab[2][:2]}", "grid step x, y", "rows filled"])
        print("| " + " | ".join(hdr) + " |")
        print("|" + "|".join("---:" for _ in hdr) + "|")
        for (srcs, ep), p in pl_draw:
            V = list(zip(p["vx"], p["vy"]))
            lv = [p["loss"][j, i] for i, j in (nearest(p["gx"], p["gy"], *v) for v in V)]
            seg = [segment_max(p, V[0], V[1]), segment_max(p, V[0], V[2]),
                   segment_max(p, V[1], V[2])]
            dx = np.median(np.diff(p["gx"])) if len(p["gx"]) > 1 else np.nan
            dy = np.median(np.diff(p["gy"])) if len(p["gy"]) > 1 else np.nan
            rows = int(np.isfinite(p["loss"]).all(axis=1).sum())
            filled = f"{rows}/{p['loss'].shape[0]}"
            if not p["complete"]:
                filled += f" ({p['ndone']}/{p['ntask']} tasks done)"
            print(f"| {ep} | " + " | ".join(fmt(x) for x in lv + seg)
                  + f" | {fmt(dx, '.3g')}, {fmt(dy, '.3g')} | {filled} |")
        print()

    # ---- the figure
    plt = plotting.pyplot()
    import matplotlib.patheffects as pe
    from matplotlib.colors import LogNorm
    from matplotlib.ticker import FuncFormatter, NullFormatter

    top = bool(pl_draw)
    bottom = bool(tun)
    if not top and not bottom:
        die(f"{a.file}: no done probes to draw", 2)
    ntop = len(pl_draw)
    width = max(4.0 * max(ntop, 3), 12.0) if top else 12.0
    top_h, bot_h = 0.0, (3.8 if bottom else 0.0)
    if top:  # equal-aspect panels: height from the planes' extent, plus labels and titles
        aspect = max((p["gy"][-1] - p["gy"][0]) / (p["gx"][-1] - p["gx"][0]) for _, p in pl_draw)
        top_h = min(max((width - 1.6) / ntop * aspect + 1.6, 3.5), 8.0)
    height = top_h + bot_h
    fig = plt.figure(figsize=(width, height), layout="constrained")
    if top and bottom:
        sub = fig.subfigures(2, 1, height_ratios=[top_h, bot_h])
    else:
        sub = [fig.subfigures(1, 1)]
    if top:
        ftop = sub[0]
        axes = ftop.subplots(1, ntop, squeeze=False)[0]
        lo = min(np.nanmin(p["loss"]) for _, p in pl_draw)
        lo = max(lo, 1e-3)
        hi = min(cap, max(np.nanmax(p["loss"]) for _, p in pl_draw))
        hi = hi if hi > lo * 1.001 else lo * 1.1
        clipped = hi < max(np.nanmax(p["loss"]) for _, p in pl_draw)
        levels = np.geomspace(lo, hi, 16)
        norm = LogNorm(vmin=lo, vmax=hi)
        cs = None
        for ax, ((srcs, ep), p) in zip(axes, pl_draw):
            z = np.ma.masked_invalid(np.clip(p["loss"], lo, hi))
            cs = ax.contourf(p["gx"], p["gy"], z, levels=levels, norm=norm,
                             cmap="viridis", extend="neither")
            if np.nanmax(p["loss"]) > chance > np.nanmin(p["loss"]):
                ax.contour(p["gx"], p["gy"], np.ma.masked_invalid(p["loss"]), levels=[chance],
                           colors="w", linewidths=0.8, linestyles="--")
            V = np.array(list(zip(p["vx"], p["vy"])))
            tri = np.vstack([V, V[:1]])
            ax.plot(tri[:, 0], tri[:, 1], color="w", lw=0.8, ls=":", alpha=0.9)
            ax.plot(V[:, 0], V[:, 1], "o", ms=7, mfc="red", mec="w", mew=1.2)
            for k, (x, y) in enumerate(V):
                ax.annotate(f"O{k + 1}: seed {seed_of(srcs[k]):g}", (x, y),
                            xytext=(5, 5), textcoords="offset points", color="w",
                            fontsize=8, fontweight="bold",
                            path_effects=[pe.withStroke(linewidth=2, foreground="k")])
            ax.set_aspect("equal")
            ax.set_title(f"epoch {ep}" + ("" if p["complete"] else " (incomplete)"), fontsize=10)
            ax.set_xlabel(labels.axis("plane_x"))
            plotting.y_axis(ax, "plane_y")
            ax.grid(False)
        cb = ftop.colorbar(cs, ax=list(axes), shrink=0.9, pad=0.02)
        cb.set_ticks(levels[::3] if len(levels[::3]) > 1 else levels)
        cb.ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.3g}"))
        cb.ax.yaxis.set_minor_formatter(NullFormatter())
        cb.set_label(labels.axis("probe_loss", "log colour scale"
                                 + (f", clipped at {hi:.3g}" if clipped else "")))
        cb.ax.axhline(chance, color="w", ls="--", lw=0.8)
        ftop.suptitle(f"{head}: loss on the plane through three optima "
                      f"(dashed white: chance loss {chance:.3g}; dotted: segments between optima)",
                      fontsize=10)
    if bottom:
        fbot = sub[-1]
        axes = fbot.subplots(1, 3)
        seeds = sorted({r["seed"] for r in tun.values()})
        for s in seeds:
            rs = sorted(((ep, r) for (_, ep), r in tun.items() if r["seed"] == s),
                        key=lambda t: t[0])
            ep = np.array([t[0] for t in rs], dtype=float)
            for ax, q in zip(axes, ("norm", "median", "phi_deg")):
                y = np.array([t[1][q] if t[1]["complete"] else np.nan for t in rs],
                             dtype=float)
                y[~np.isfinite(y)] = np.nan
                ax.plot(ep, y, marker="o", label=labels.setting("seed", s))
        for ax, q, tag in zip(axes, ("tunnel_norm", "distance", "phi"), "abc"):
            plotting.epoch_axis(ax)
            plotting.y_axis(ax, q)
            ax.set_title(f"({tag})" + ("" if q == "tunnel_norm" else f" {lvl_desc}"),
                         loc="left")
        plotting.legend(axes[-1])
        fbot.suptitle(f"{head}: radial tunnel width; median over all directions of a probe, "
                      "a direction that never reached the level counting as infinitely far",
                      fontsize=10)

    if a.print_labels:
        plotting.print_labels(fig)
    out = a.output or cli.default_output(a.files, name, "fig2")
    plotting.save(fig, out, PROG)
    return 0


def main(argv=None):
    return cli.command(PROG, _run, argv)
