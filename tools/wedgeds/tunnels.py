"""Radial tunnel widths (Figures 2 and 5): the tunnel probes of a sweep combined.

The radial tunnel width of a probe (METHODS.md, "Radial tunnel width") is
phi = atan(median a* / |P0|) over ALL the probe's directions, where a direction
that never reached the level counts as +infinity; the median of an even count
is the mean of the two middle values (as src/tunnel.c computes ``tunnel_phi``),
so phi is NaN as soon as the median is infinite (more than half, or for an even
count exactly half, of the directions not reached).  A probe split over several
tasks (same ``source_task`` and ``probe_epoch``, disjoint directions) is
combined first.  Levels are dL above L(P0) or the absolute chance level.
"""

import math
import warnings

import numpy as np
import xarray as xr

from . import flags
from .files import swept_keys
from .layout import index_by_keys
from .tables import median_inf

__all__ = ["NoProbes", "tunnel_widths", "pick_level", "level_label"]


class NoProbes(ValueError):
    """The output has no tunnel-probe tasks (or none of the requested epoch)."""


def _median_a(a):
    """Median of a* with NaN (not reached) counted as +inf."""
    a = np.asarray(a, dtype=float)
    return median_inf(np.where(np.isnan(a), np.inf, a)) if a.size else np.nan


def tunnel_widths(ds, epoch=None, unstack=True):
    """Radial tunnel width per (training task, probe epoch, level), split probes combined.

    ``epoch``: None keeps every probe epoch (a ``probe_epoch`` dimension);
    an int keeps that epoch; "last" keeps each training task's largest probe epoch.
    Indexed by the swept keys like ``trainings()`` (plus ``probe_epoch`` when
    ``epoch`` is None), with dimension ``level`` (coordinate ``level_is_absolute``).
    Variables:
      phi, phi_deg   atan(median a* / |P0|) over all the probe's directions
                     (not reached = +inf; NaN if the median is infinite)
      distance       median a* (NaN if infinite)
      n_reached      directions that reached the level (found or at_start)
      n_directions   directions probed by the done tasks of the probe
      tunnel_norm, tunnel_loss0, source_task, probe_epoch
      n_tasks, n_tasks_done, complete (every task of the probe done)
    Raises NoProbes if the output has no tunnel probes.

        >>> tw = tunnel_widths(open_outputs("fig5-lr.nc"), epoch="last")
        >>> tw.phi_deg.sel(level=1.0).where(tw.complete).mean("seed")
    """
    is_tunnel = flags.is_kind(ds, "tunnel")
    if "tunnel_astar" not in ds or not is_tunnel.any():
        raise NoProbes("the output has no tunnel probes")
    done = flags.is_status(ds, "done")
    src = ds.source_task.values
    pep = ds.probe_epoch.values
    astar = ds.tunnel_astar.transpose("task", "direction", "level").values
    # outcome -1 (not probed by this task) is the fill value: NaN after masking
    how = ds.tunnel_outcome.transpose("task", "direction", "level").fillna(-1).values.astype(np.int8)
    norm = ds.tunnel_norm.values
    loss0 = ds.tunnel_loss0.values
    nlev = ds.sizes["level"]
    task_pos = {int(t): i for i, t in enumerate(ds.task.values)}

    groups = {}
    for i in np.flatnonzero(is_tunnel):
        groups.setdefault((int(src[i]), int(pep[i])), []).append(i)
    if epoch == "last":
        last = {}
        for s, e in groups:
            last[s] = max(e, last.get(s, e))
        groups = {g: v for g, v in groups.items() if g[1] == last[g[0]]}
    elif epoch is not None:
        groups = {g: v for g, v in groups.items() if g[1] == int(epoch)}
        if not groups:
            raise NoProbes(f"no tunnel probes at epoch {epoch} "
                           f"(probe epochs: {sorted(set(int(e) for e in pep[is_tunnel]))})")
    keys = sorted(groups)

    n = len(keys)
    phi = np.full((n, nlev), np.nan)
    dist = np.full((n, nlev), np.nan)
    nreach = np.zeros((n, nlev), dtype=int)
    ndir = np.zeros(n, dtype=int)
    g_norm = np.full(n, np.nan)
    g_loss0 = np.full(n, np.nan)
    ntask = np.zeros(n, dtype=int)
    ndone = np.zeros(n, dtype=int)
    for j, g in enumerate(keys):
        members = groups[g]
        ntask[j] = len(members)
        a = np.full(astar.shape[1:], np.nan)
        o = np.full(how.shape[1:], -1, dtype=np.int8)
        probed = np.zeros(astar.shape[1], dtype=bool)
        for i in members:
            if not done[i]:
                continue
            ndone[j] += 1
            mine = (how[i] >= 0).any(axis=1)
            if (mine & probed).any():
                warnings.warn(f"probe of task {g[0]} epoch {g[1]}: direction(s) "
                              f"{np.flatnonzero(mine & probed)} probed twice; last kept")
            a[mine] = astar[i][mine]
            o[mine] = how[i][mine]
            probed |= mine
            if np.isnan(g_norm[j]):
                g_norm[j], g_loss0[j] = norm[i], loss0[i]
            elif not np.isclose(norm[i], g_norm[j], rtol=1e-9):
                warnings.warn(f"probe of task {g[0]} epoch {g[1]}: split tasks disagree "
                              f"on |P0| ({norm[i]} vs {g_norm[j]})")
        ndir[j] = probed.sum()
        if not probed.any():
            continue
        for l in range(nlev):
            med = _median_a(a[probed, l])
            nreach[j, l] = int(np.isin(o[probed, l], (0, 2)).sum())
            if np.isfinite(med) and g_norm[j] > 0:
                dist[j, l] = med
                phi[j, l] = math.atan(med / g_norm[j])

    srcs = np.array([g[0] for g in keys], dtype=int)
    out = xr.Dataset(
        {
            "phi": (("probe", "level"), phi, {"long_name": "angular tunnel width atan(median a*/|P0|)",
                                              "units": "radian"}),
            "phi_deg": (("probe", "level"), np.degrees(phi), {"long_name": "angular tunnel width",
                                                              "units": "degree"}),
            "distance": (("probe", "level"), dist, {"long_name": "median distance a* to the level",
                                                    "units": "1"}),
            "n_reached": (("probe", "level"), nreach, {"long_name": "directions that reached the level"}),
            "n_directions": ("probe", ndir, {"long_name": "directions probed (done tasks)"}),
            "tunnel_norm": ("probe", g_norm, {"long_name": "|P0|"}),
            "tunnel_loss0": ("probe", g_loss0, {"long_name": "probe-set loss L(P0) (nats)",
                                                  "units": "1"}),
            "source_task": ("probe", srcs),
            "n_tasks": ("probe", ntask, {"long_name": "tasks the probe is split into"}),
            "n_tasks_done": ("probe", ndone),
            "complete": ("probe", (ndone == ntask) & (ntask > 0),
                         {"long_name": "every task of the probe is done"}),
        },
        coords={"level": ds.level.values,
                "level_is_absolute": ("level", ds.level_is_absolute.values.astype(bool)),
                "probe_epoch": ("probe", np.array([g[1] for g in keys], dtype=int))},
        attrs={k: ds.attrs[k] for k in ("title", "swept_keys", "sweep_sha256") if k in ds.attrs},
    )
    sk = swept_keys(ds)
    pos = [task_pos[s] for s in srcs]
    for k in sk:
        out.coords[k] = ("probe", ds[k].values[pos])
    index = sk + (["probe_epoch"] if epoch is None else [])
    if not index:
        return out
    return index_by_keys(out, "probe", index, unstack)


def pick_level(ds, spec):
    """The ``level`` coordinate value matching ``spec``.

    ``spec``: a number, a loss rise dL (e.g. 1.0 or "0.5"), or "chance" / "ln10" /
    "abs" for the absolute chance level.  A number that is no dL but matches an
    absolute level (e.g. 2.302585) picks that.  Raises KeyError.

        >>> tw.sel(level=pick_level(tw, 1.0))
    """
    lev = np.asarray(ds.level.values, dtype=float)
    absl = np.asarray(ds.level_is_absolute.values).astype(bool)
    if isinstance(spec, str) and spec.strip().lower() in ("chance", "ln10", "abs", "absolute"):
        hit = np.flatnonzero(absl)
    else:
        x = float(spec)
        hit = np.flatnonzero(~absl & np.isclose(lev, x, rtol=1e-6, atol=0))
        if hit.size == 0:
            hit = np.flatnonzero(absl & np.isclose(lev, x, rtol=1e-4, atol=0))
    if hit.size == 0:
        raise KeyError(f"no level {spec!r}; levels: {level_label(ds, None)}")
    return lev[hit[0]]


def level_label(ds, value):
    """'dL = 1 nat' or 'L = 2.303 nat (chance)'; with value None, all levels."""
    lev = np.asarray(ds.level.values, dtype=float)
    absl = np.asarray(ds.level_is_absolute.values).astype(bool)
    if value is None:
        return ", ".join(level_label(ds, v) for v in lev)
    i = int(np.flatnonzero(lev == value)[0])
    return f"L = {value:.4g} nat (chance)" if absl[i] else f"dL = {value:g} nat"


# ---------------------------------------------------------------- connectors and Hessians --

