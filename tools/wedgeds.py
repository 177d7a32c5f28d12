"""wedgeds: read wedge sweep outputs (docs/output-format.md) with xarray.

Used by every plot script in tools/.  Import it with

    import sys; sys.path.insert(0, "/path/to/wedge/tools")
    import wedgeds

Example (a sweep over train.lr and seed with tunnel probes):

    >>> ds = wedgeds.open_outputs("fig5-lr.nc")          # or a list of files
    >>> wedgeds.status_counts(ds)                          # pandas DataFrame
    >>> tr = wedgeds.trainings(ds)                         # dims (lr, seed, epoch)
    >>> tr.final_test_accuracy.mean("seed")
    >>> tw = wedgeds.tunnel_widths(ds, epoch="last")       # dims (lr, seed, level)
    >>> tw.phi_deg.sel(level=1.0).mean("seed")

Conventions
-----------
* Char arrays (dataset, arch, activation, optimizer, schedule, message) are
  decoded to ``str``.  ``tunnel_outcome`` is an int8 with -1 where a direction
  was not probed by that task (as in the file).
* Swept keys (global attribute ``swept_keys``) name output variables; the one
  exception is a swept ``data.name``, whose key is ``name`` and whose variable is
  ``dataset``.  ``swept_keys(ds)`` returns the variable names.
* The radial tunnel width of a probe (METHODS.md, "Radial tunnel width") is
  phi = atan(median a* / |P0|) over ALL the probe's directions, where a
  direction that never reached the level counts as +infinity; the median of an
  even count is the mean of the two middle values (as src/tunnel.c computes
  ``tunnel_phi``), so phi is NaN as soon as the median is infinite (more than
  half, or for an even count exactly half, of the directions not reached).
  A probe split over several tasks (same ``source_task`` and ``probe_epoch``,
  disjoint directions) is combined first.
"""

import math
import os
import warnings

import numpy as np
import pandas as pd
import xarray as xr

__all__ = ["open_outputs", "swept_keys", "trainings", "tunnel_widths", "status_counts",
           "pick_level", "level_label", "training_frame", "NoProbes", "KIND_TRAIN", "KIND_TUNNEL",
           "PENDING", "DONE", "FAILED", "DIVERGED"]

KIND_TRAIN, KIND_TUNNEL = 0, 1
PENDING, DONE, FAILED, DIVERGED = 0, 1, 2, 3
_STATUS_NAMES = ["pending", "done", "failed", "diverged"]
_KIND_NAMES = ["train", "tunnel"]
# swept key (last component of the sweep key) -> output variable, where they differ
_KEY_TO_VAR = {"name": "dataset"}
# per-epoch training statistics; final_<name> is added by trainings()
TRAIN_STATS = ["train_loss", "train_accuracy", "test_loss", "test_accuracy", "param_norm"]
# which row to keep when several files hold the same task: done beats diverged
# beats failed beats pending
_STATUS_RANK = {PENDING: 0, FAILED: 1, DIVERGED: 2, DONE: 3}


class NoProbes(ValueError):
    """The output has no tunnel-probe tasks (or none of the requested epoch)."""


# ---------------------------------------------------------------- reading -------

def _decode_chars(ds):
    """Char arrays (bytes after xarray's decoding) -> str, in place."""
    for name in list(ds.variables):
        v = ds[name]
        if v.dtype.kind == "S":
            txt = np.char.decode(v.values, "utf-8", errors="replace")
            txt = np.char.rstrip(txt, "\0 ")
            if name in ds.coords:
                ds.coords[name] = (v.dims, txt, v.attrs)
            else:
                ds[name] = (v.dims, txt, v.attrs)
    return ds


def _open_one(path, params):
    drop = [] if params else ["params"]
    with xr.open_dataset(path, drop_variables=drop) as f:
        ds = f.load()
    _decode_chars(ds)
    if "tunnel_outcome" in ds:  # NaN (masked -1) back to the file's -1
        o = ds["tunnel_outcome"]
        ds["tunnel_outcome"] = o.fillna(-1).astype(np.int8).assign_attrs(o.attrs)
    # hyperparameters are coordinates (the file says so); make sure of it
    hyper = [n for n in ("kind", "lr", "l2", "momentum", "dropout", "width", "depth",
                         "hidden", "batch_size", "epochs", "train_size", "test_size",
                         "cycle_epochs", "min_ratio", "seed", "dataset", "arch",
                         "activation", "optimizer", "schedule")
             if n in ds.data_vars]
    if hyper:
        ds = ds.set_coords(hyper)
    ds.attrs["wedgeds_sources"] = os.fspath(path)
    return ds


def open_outputs(paths, params=False):
    """Open one or several wedge outputs of one sweep as one xarray Dataset.

    ``paths``: a path or a list of paths.  Several files must come from the same
    sweep (equal ``sweep_sha256``, e.g. the files of array jobs); for each task
    the row of the file where it is done is taken (else diverged, failed,
    pending, in that order of preference; the first file wins ties).
    ``params=False`` (default) leaves out the large ``params`` variable.

        >>> ds = open_outputs(["part0.nc", "part1.nc"])
        >>> int((ds.status == DONE).sum())
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    paths = list(paths)
    if not paths:
        raise ValueError("open_outputs: no files")
    dsets = [_open_one(p, params) for p in paths]
    if len(dsets) == 1:
        return dsets[0]
    first = dsets[0]
    sha = first.attrs.get("sweep_sha256")
    for p, d in zip(paths[1:], dsets[1:]):
        if d.attrs.get("sweep_sha256") != sha:
            raise ValueError(f"{p}: not the same sweep as {paths[0]} "
                             f"(sweep_sha256 {d.attrs.get('sweep_sha256')} != {sha})")
        if dict(d.sizes) != dict(first.sizes):
            raise ValueError(f"{p}: dimensions {dict(d.sizes)} differ from "
                             f"{paths[0]}'s {dict(first.sizes)}")
    rank = np.stack([np.vectorize(lambda s: _STATUS_RANK.get(int(s), -1))(d.status.values)
                     for d in dsets])
    pick = np.argmax(rank, axis=0)  # first maximum: the first file wins ties
    cols = np.arange(first.sizes["task"])
    out = first.copy(deep=True)
    for name in list(first.variables):
        v = first[name]
        if "task" not in v.dims or name == "task":
            continue
        ax = v.dims.index("task")
        stack = np.stack([np.moveaxis(d[name].values, ax, 0) for d in dsets])
        vals = np.moveaxis(stack[pick, cols], 0, ax)
        if name in out.coords:
            out.coords[name] = (v.dims, vals, v.attrs)
        else:
            out[name] = (v.dims, vals, v.attrs)
    out.attrs["wedgeds_sources"] = " ".join(os.fspath(p) for p in paths)
    return out


def swept_keys(ds):
    """The swept keys as output variable names, outermost first (e.g. ['lr', 'seed'])."""
    keys = []
    for k in ds.attrs.get("swept_keys", "").split():
        v = _KEY_TO_VAR.get(k, k)
        if v in ds.variables:
            keys.append(v)
        else:
            warnings.warn(f"swept key '{k}' has no output variable; ignored")
    return keys


def _index_by_keys(flat, dim, keys, unstack):
    """Replace the index of ``dim`` by the swept keys; unstack if a full product."""
    keys = [k for k in keys if k in flat.coords]
    if not keys:
        return flat
    if len(keys) == 1:
        if not unstack:
            return flat.set_index({dim: keys[0]})
        return flat.swap_dims({dim: keys[0]}).transpose(keys[0], ...)
    idx = flat.set_index({dim: keys})
    if not unstack:
        return idx
    full = math.prod(len(np.unique(flat[k].values)) for k in keys)
    if full != flat.sizes[dim]:
        warnings.warn("the swept values are not a full product (zip); kept a "
                      f"MultiIndex on '{dim}' instead of unstacking")
        return idx
    with np.errstate(invalid="ignore"):  # xarray's NaN fill cast to int: no holes here
        out = idx.unstack(dim)
    return out.transpose(*keys, ...)


def _final(values, epochs):
    """values[task, epoch] at each task's last epoch (epochs-1); NaN if unknown."""
    out = np.full(values.shape[0], np.nan)
    e = np.asarray(epochs, dtype=float)
    ok = np.isfinite(e) & (e >= 1) & (e <= values.shape[1])
    out[ok] = values[np.flatnonzero(ok), e[ok].astype(int) - 1]
    return out


def trainings(ds, unstack=True):
    """The training rows, indexed by the swept keys, with final-epoch metrics.

    Returns a Dataset whose ``task`` dimension is replaced by the swept keys:
    unstacked into one dimension per key (e.g. dims (lr, seed, epoch) for a
    sweep over lr and seed) when the swept values form a full product and
    ``unstack`` is true, else a MultiIndex on ``task``.  Adds ``task_id`` and
    ``final_<stat>`` for stat in train_loss, train_accuracy, test_loss,
    test_accuracy, param_norm: the value at the task's last epoch, NaN unless the
    task is done.

        >>> tr = trainings(open_outputs("fig5-lr.nc"))
        >>> tr.final_test_accuracy.mean("seed").to_series()
    """
    rows = np.flatnonzero(ds.kind.values == KIND_TRAIN)
    tr = ds.isel(task=rows)
    drop = [n for n in tr.variables
            if n.startswith("tunnel_") or n in ("probe_epoch", "source_task", "params",
                                                 "level", "level_is_absolute")]
    tr = tr.drop_vars(drop)
    done = tr.status.values == DONE
    for s in TRAIN_STATS:
        if s in tr:
            f = _final(tr[s].values, tr.epochs.values)
            f[~done] = np.nan
            tr[f"final_{s}"] = ("task", f, dict(tr[s].attrs,
                                                long_name=f"final-epoch {s} (done tasks)"))
    tr["task_id"] = ("task", tr.task.values)
    tr = tr.drop_vars("task")
    return _index_by_keys(tr, "task", swept_keys(ds), unstack)


def _median_inf(a):
    """Median of a* with NaN counted as +inf (even count: mean of the middle two)."""
    a = np.where(np.isnan(a), np.inf, a)
    if a.size == 0:
        return np.nan
    s = np.sort(a)
    n = s.size
    return s[n // 2] if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2])


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
    if "tunnel_astar" not in ds or not (ds.kind.values == KIND_TUNNEL).any():
        raise NoProbes("the output has no tunnel probes")
    kind = ds.kind.values
    status = ds.status.values
    src = ds.source_task.values
    pep = ds.probe_epoch.values
    astar = ds.tunnel_astar.transpose("task", "direction", "level").values
    how = ds.tunnel_outcome.transpose("task", "direction", "level").values
    norm = ds.tunnel_norm.values
    loss0 = ds.tunnel_loss0.values
    nlev = ds.sizes["level"]
    task_pos = {int(t): i for i, t in enumerate(ds.task.values)}

    groups = {}
    for i in np.flatnonzero(kind == KIND_TUNNEL):
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
                           f"(probe epochs: {sorted(set(int(e) for e in pep[kind == 1]))})")
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
            if status[i] != DONE:
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
            med = _median_inf(a[probed, l])
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
            "tunnel_loss0": ("probe", g_loss0, {"long_name": "probe-set loss L(P0)", "units": "nat"}),
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
    return _index_by_keys(out, "probe", index, unstack)


def status_counts(ds):
    """Tasks per kind and status as a pandas DataFrame (rows: kinds + 'all').

        >>> print(status_counts(ds).to_string())
                pending  done  failed  diverged  total
        train         0     6       0         0      6
        tunnel        0    24       0         0     24
        all           0    30       0         0     30
    """
    kinds = ds.kind.attrs.get("flag_meanings", " ".join(_KIND_NAMES)).split()
    kvals = list(np.atleast_1d(ds.kind.attrs.get("flag_values", range(len(kinds)))))
    snames = ds.status.attrs.get("flag_meanings", " ".join(_STATUS_NAMES)).split()
    svals = list(np.atleast_1d(ds.status.attrs.get("flag_values", range(len(snames)))))
    k, s = ds.kind.values, ds.status.values
    rows = {}
    for kn, kv in zip(kinds, kvals):
        if (k == kv).any():
            rows[kn] = [int(((k == kv) & (s == sv)).sum()) for sv in svals]
    rows["all"] = [int((s == sv).sum()) for sv in svals]
    df = pd.DataFrame.from_dict(rows, orient="index", columns=snames)
    df["total"] = df.sum(axis=1)
    return df


# ---------------------------------------------------------------- tables --------

def training_frame(ds, level=None, epoch="last"):
    """One row per training task (pandas DataFrame) for tables and plots.

    Columns: the swept keys, task_id, status, final_<stat>, and, when ``level`` is
    given and the output has tunnel probes, probe_epoch, phi_deg, distance,
    probe_complete of the probe at ``epoch`` ("last", an int) and that level
    (phi_deg/distance NaN unless the probe is complete).  ``df.attrs['level']``
    is the chosen level value (None without probes).

        >>> df = training_frame(ds, level=1.0)
        >>> df.groupby("lr").phi_deg.agg(["mean", "std", "count"])
    """
    tr = trainings(ds, unstack=False)
    names = ["task_id", "status"] + [f"final_{s}" for s in TRAIN_STATS if f"final_{s}" in tr]
    df = pd.DataFrame({n: tr[n].values for n in names})
    keys = swept_keys(ds)
    for k in keys:
        df.insert(keys.index(k), k, tr[k].values)
    df.attrs["level"] = None
    if level is None:
        return df
    try:
        tw = tunnel_widths(ds, epoch=epoch, unstack=False)
    except NoProbes:
        return df
    lv = pick_level(tw, level)
    t = tw.sel(level=lv)
    pf = pd.DataFrame({"task_id": t.source_task.values,
                       "probe_epoch": t.probe_epoch.values,
                       "probe_complete": t.complete.values,
                       "phi_deg": np.where(t.complete.values, t.phi_deg.values, np.nan),
                       "distance": np.where(t.complete.values, t.distance.values, np.nan)})
    df = df.merge(pf, on="task_id", how="left")
    df["probe_complete"] = df["probe_complete"].fillna(False).astype(bool)
    df.attrs["level"] = float(lv)
    return df


# ---------------------------------------------------------------- levels --------

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
