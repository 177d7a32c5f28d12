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
           "PENDING", "DONE", "FAILED", "DIVERGED",
           "connector_optima", "connector_frame", "connector_path", "hessian_frame",
           "NoConnectors", "NoHessians", "KIND_PLANE", "KIND_CONNECT", "KIND_HESSIAN",
           "AT_OPTIMUM", "AT_CONNECTOR",
           "subspace_frame", "d_int", "intrinsic_dims", "median_inf", "NoSubspaces",
           "KIND_SUBSPACE"]

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
                         "activation", "optimizer", "schedule", "dim", "long")
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
    index = tr.indexes.get("task")
    for k in keys:
        if k in tr.variables and tr[k].dims == ("task",):
            values = tr[k].values
        elif hasattr(index, "get_level_values") and k in (index.names or []):
            values = index.get_level_values(k)  # the key became (part of) the index
        else:
            values = index.values
        df.insert(keys.index(k), k, np.asarray(values))
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


# ---------------------------------------------------------------- connectors and Hessians --

KIND_PLANE, KIND_CONNECT, KIND_HESSIAN = 2, 3, 4
AT_OPTIMUM, AT_CONNECTOR = 0, 1  # hessian_at
# the settings that tell seed replicates apart (src/sweep.c same_but_seed): all but seed
_SETTINGS = ("lr", "l2", "momentum", "dropout", "width", "depth", "hidden", "batch_size",
             "epochs", "train_size", "test_size", "cycle_epochs", "min_ratio", "dataset",
             "arch", "activation", "optimizer", "schedule", "dim", "long")
PATH_VARS = ("path_train_loss", "path_train_accuracy", "path_test_loss", "path_test_accuracy",
             "path_changed_a", "path_changed_b", "line_train_loss", "line_test_loss")


class NoConnectors(ValueError):
    """The output has no connector tasks."""


class NoHessians(ValueError):
    """The output has no Hessian (short-direction) tasks."""


def _same_setting(ds, i, j):
    for n in _SETTINGS:
        if n in ds.variables:
            a, b = ds[n].values[i], ds[n].values[j]
            if not (a == b or (isinstance(a, float) and np.isnan(a) and np.isnan(b))):
                return False
    return True


def _int_or(x, default=-1):
    return default if x is None or not np.isfinite(float(x)) else int(x)


def connector_optima(ds, task):
    """The training task ids joined by connector ``task`` (id), in plan order.

    A connector of order m joins the first m+1 trainings (plan order) that differ
    from its ``source_task`` only in seed (src/sweep.c add_connectors).

        >>> connector_optima(ds, 8)      # a 1-connector: [O1, O2]
        [0, 1]
    """
    pos = {int(t): i for i, t in enumerate(ds.task.values)}
    i = pos[int(task)]
    if int(ds.kind.values[i]) != KIND_CONNECT:
        raise ValueError(f"task {task} is not a connector")
    m = _int_or(ds.connector_m.values[i]) if "connector_m" in ds else -1
    src = int(ds.source_task.values[i])
    if m < 1:  # not run yet: the order is not in the file; recover it from the plan
        m = _plan_m(ds, i)
    js = pos[src]
    group = [int(ds.task.values[j]) for j in np.flatnonzero(ds.kind.values == KIND_TRAIN)
             if _same_setting(ds, js, j)]
    return group[:m + 1]


def _plan_m(ds, i):
    """m of a connector row not yet written: the connectors of one seed group come
    in the order of the sweep's ``m`` list (each followed by its Hessian tasks)."""
    kind, src = ds.kind.values, ds.source_task.values
    conns = [j for j in np.flatnonzero(kind == KIND_CONNECT) if src[j] == src[i]]
    ms = _sweep_m_list(ds)
    k = conns.index(i)
    return ms[k] if ms and k < len(ms) else 1


def _sweep_m_list(ds):
    """The ``connectors.m`` list of the sweep text (global attribute ``sweep_text``)."""
    import re
    txt = ds.attrs.get("sweep_text", "")
    try:
        import yaml
        m = (yaml.safe_load(txt) or {}).get("connectors", {}).get("m", [])
        return [int(v) for v in (m if isinstance(m, list) else [m])]
    except Exception:  # no PyYAML, or text it does not read: a plain look
        pass
    mt = re.search(r"connectors\s*:.*?\bm\s*:\s*\[([^\]]*)\]", txt, re.S)
    if mt:
        try:
            return [int(v) for v in mt.group(1).split(",") if v.strip()]
        except ValueError:
            return []
    mt = re.search(r"connectors\s*:.*?\bm\s*:\s*(\d+)", txt, re.S)
    return [int(mt.group(1))] if mt else []


def connector_frame(ds):
    """One row per connector task (pandas DataFrame).

    Columns: task_id, status, m, n_points (K: the 1-connector's interior points,
    1 for an m-connector's centre), optima (tuple of training task ids, O1 first),
    source_task, the swept keys other than seed (the seed group), barrier_path,
    barrier_line (largest probe-set loss along the path / straight line),
    plane_leak, objective_mean (mean final connector objective over the points).
    Raises NoConnectors if the output has none.

        >>> connector_frame(ds)[["task_id", "m", "barrier_path", "barrier_line"]]
    """
    if "connector_m" not in ds or not (ds.kind.values == KIND_CONNECT).any():
        raise NoConnectors("the output has no connector tasks")
    rows = np.flatnonzero(ds.kind.values == KIND_CONNECT)
    K1 = ds.sizes.get("conn_point", 1)
    keys = [k for k in swept_keys(ds) if k != "seed"]
    out = []
    for i in rows:
        t = int(ds.task.values[i])
        opt = connector_optima(ds, t)
        m = len(opt) - 1
        closs = ds.connector_loss.values[i]
        r = {"task_id": t, "status": int(ds.status.values[i]), "m": m,
             "n_points": K1 if m == 1 else 1, "optima": tuple(opt),
             "source_task": int(ds.source_task.values[i])}
        for k in keys:
            r[k] = ds[k].values[i]
        done = r["status"] == DONE
        nan = float("nan")
        r["barrier_path"] = float(ds.barrier_path.values[i]) if done else nan
        r["barrier_line"] = float(ds.barrier_line.values[i]) if done else nan
        r["plane_leak"] = float(ds.plane_leak.values[i]) if done else nan
        c = closs[:r["n_points"]]
        r["objective_mean"] = float(np.nanmean(c)) if done and np.isfinite(c).any() else nan
        out.append(r)
    return pd.DataFrame(out)


def connector_path(ds, task):
    """The measurements along one connector (id ``task``) as an xarray Dataset.

    Dims (segment, u): segment s of the path (1-connector: O1 -> X_1, X_1 -> X_2,
    ..., X_K -> O2, K+1 segments; m-connector: centre X -> O_s, m+1 segments),
    u = e/E the fraction along it (u = 1 is not sampled).  Variables: the
    path_* and line_* variables of the file (line_*: 1-connector: the straight
    line O1 -> O2 at the same positions; m-connector: centroid -> O_s).
    Coordinate ``position`` (1-connector only): (s + u)/(K+1), the position along
    the polyline with X_k at k/(K+1).  Also ``connector_loss`` (point),
    ``deviation_cosine`` (point, point2) and attrs m, K, E, optima, task.
    """
    pos = {int(t): i for i, t in enumerate(ds.task.values)}
    i = pos[int(task)]
    opt = connector_optima(ds, task)
    m = len(opt) - 1
    K = ds.sizes["conn_point"] if m == 1 else 1
    nseg = K + 1 if m == 1 else m + 1
    E = ds.sizes["conn_eval"]
    u = np.arange(E) / E
    out = xr.Dataset(coords={"segment": np.arange(nseg), "u": u, "point": np.arange(1, K + 1)})
    for n in PATH_VARS:
        v = ds[n].isel(task=i, conn_segment=slice(0, nseg)).values
        out[n] = (("segment", "u"), v, ds[n].attrs)
    if m == 1:
        out.coords["position"] = (("segment", "u"),
                                  (np.arange(nseg)[:, None] + u[None, :]) / (K + 1))
        out.coords["point_position"] = ("point", np.arange(1, K + 1) / (K + 1))
    out["connector_loss"] = ("point", ds.connector_loss.values[i, :K], ds.connector_loss.attrs)
    out["deviation_cosine"] = (("point", "point2"), ds.deviation_cosine.values[i, :K, :K],
                               ds.deviation_cosine.attrs)
    out.coords["point2"] = np.arange(1, K + 1)
    out.attrs.update(task=int(task), m=m, K=K, E=E, optima=list(opt),
                     status=int(ds.status.values[i]),
                     barrier_path=float(ds.barrier_path.values[i]),
                     barrier_line=float(ds.barrier_line.values[i]))
    return out


def hessian_frame(ds):
    """One row per Hessian (short-direction count) task (pandas DataFrame).

    Columns: task_id, status, site ("optimum" / "connector"), source_task (the
    training, or the connector task), point (hessian_point), optimum (training id
    at an optimum, else -1), connector (connector id, else -1), m (connector order,
    0 at an optimum), position (1-connector point k+1: (k+1)/(K+1); NaN
    otherwise), the swept keys (of the row: a connector's are its O1's),
    n_short, n_short_half, n_short_double, hessian_n, hessian_hvps, converged,
    capped (n_short == hessian_n: every stored Ritz value is above the threshold,
    so the count is a lower bound).  Counts are NaN unless the task is done.
    ``df.attrs['threshold']`` is lambda_thr.  Raises NoHessians.

        >>> h = hessian_frame(ds)
        >>> h[h.site == "optimum"].groupby("lr").n_short.mean()
    """
    if "hessian_at" not in ds or not (ds.kind.values == KIND_HESSIAN).any():
        raise NoHessians("the output has no Hessian (short-direction) tasks")
    rows = np.flatnonzero(ds.kind.values == KIND_HESSIAN)
    K1 = ds.sizes.get("conn_point", 1)
    cm = {}
    keys = swept_keys(ds)
    out = []
    for i in rows:
        at = int(ds.hessian_at.values[i])
        src = int(ds.source_task.values[i])
        pt = _int_or(ds.hessian_point.values[i], 0)
        done = int(ds.status.values[i]) == DONE
        r = {"task_id": int(ds.task.values[i]), "status": int(ds.status.values[i]),
             "site": "optimum" if at == AT_OPTIMUM else "connector", "source_task": src,
             "point": pt}
        if at == AT_OPTIMUM:
            r.update(optimum=src, connector=-1, m=0, position=float("nan"))
        else:
            if src not in cm:
                cm[src] = len(connector_optima(ds, src)) - 1
            m = cm[src]
            r.update(optimum=-1, connector=src, m=m,
                     position=(pt + 1) / (K1 + 1) if m == 1 else float("nan"))
        for k in keys:
            r[k] = ds[k].values[i]
        for n in ("n_short", "n_short_half", "n_short_double", "hessian_n", "hessian_hvps",
                  "hessian_converged"):
            v = float(ds[n].values[i])
            r[n.replace("hessian_converged", "converged")] = v if done else float("nan")
        r["capped"] = bool(done and r["n_short"] >= r["hessian_n"])
        out.append(r)
    df = pd.DataFrame(out)
    df.attrs["threshold"] = float(ds.n_short.attrs.get("threshold", float("nan")))
    return df


# ---------------------------------------------------------------- subspaces and intrinsic dimension --

KIND_SUBSPACE = 5
SUBSPACE_STATS = ("subspace_train_loss", "subspace_train_accuracy", "subspace_test_loss",
                  "subspace_test_accuracy")


class NoSubspaces(ValueError):
    """The output has no subspace-training tasks."""


def _sweep_subspace(ds):
    """The ``probes.subspace`` mapping of the sweep text (``sweep_text``), or {}."""
    import re
    txt = ds.attrs.get("sweep_text", "")
    try:
        import yaml
        sp = ((yaml.safe_load(txt) or {}).get("probes") or {}).get("subspace") or {}
        return sp if isinstance(sp, dict) else {}
    except Exception:  # no PyYAML, or text it does not read: a plain look
        pass
    out = {}
    mt = re.search(r"subspace\s*:.*?\bdims\s*:\s*\[([^\]]*)\]", txt, re.S)
    if mt:
        try:
            out["dims"] = [int(v) for v in mt.group(1).split(",") if v.strip()]
        except ValueError:
            pass
    mt = re.search(r"subspace\s*:.*?\bat\s*:\s*(init|optimum)", txt, re.S)
    if mt:
        out["at"] = mt.group(1)
    return out


def subspace_frame(ds):
    """One row per subspace-training task, joined with its training (pandas DataFrame).

    Columns: task_id, status, source_task (the training whose initialisation or
    optimum anchors the subspace, and whose seed and settings the row shares), the
    swept keys (and seed, swept or not), d, subspace_epochs, subspace_train_loss / _accuracy,
    subspace_test_loss / _accuracy (NaN unless the task is done), direct_status
    and direct_test_accuracy (the training's test accuracy at its last epoch:
    the "directly trained" accuracy of d_int90; NaN unless the training is done),
    and ratio = subspace_test_accuracy / direct_test_accuracy.  d of a row not yet
    run comes from the sweep's ``probes.subspace.dims`` (a training's subspace
    tasks follow its dims in order, src/sweep.c add_subspaces).
    ``df.attrs['at']`` is "init" or "optimum" (the anchor, from the sweep text),
    ``df.attrs['subspace']`` the sweep's ``probes.subspace`` mapping as written.
    Raises NoSubspaces if the output has none.

        >>> sf = subspace_frame(open_outputs("intrinsic-dim.nc"))
        >>> sf[sf.status == DONE].groupby(["arch", "d"]).ratio.mean()
    """
    if "subspace_d" not in ds or not (ds.kind.values == KIND_SUBSPACE).any():
        raise NoSubspaces("the output has no subspace-training rows")
    kind, status = ds.kind.values, ds.status.values
    src = ds.source_task.values
    pos = {int(t): i for i, t in enumerate(ds.task.values)}
    sp = _sweep_subspace(ds)
    dims = [int(v) for v in sp.get("dims", []) if isinstance(v, (int, float))]
    test_acc = _final(ds.test_accuracy.values, ds.epochs.values)
    keys = swept_keys(ds)
    if "seed" not in keys and "seed" in ds.variables:
        keys.append("seed")  # the replicate names a curve even when not swept
    seen = {}
    out = []
    for i in np.flatnonzero(kind == KIND_SUBSPACE):
        s = int(src[i])
        k = seen.get(s, 0)
        seen[s] = k + 1
        done = int(status[i]) == DONE
        d = float(ds.subspace_d.values[i])
        if not done or not np.isfinite(d):
            d = float(dims[k]) if k < len(dims) else float("nan")
        j = pos.get(s)
        if j is None or int(kind[j]) != KIND_TRAIN or not _same_training(ds, i, j):
            j = _training_of(ds, i)  # outputs whose source_task was 0 at the init
            s = int(ds.task.values[j])
        r = {"task_id": int(ds.task.values[i]), "status": int(status[i]), "source_task": s}
        for key in keys:
            r[key] = ds[key].values[i]
        r["d"] = d
        r["subspace_epochs"] = float(ds.subspace_epochs.values[i]) if done else float("nan")
        for n in SUBSPACE_STATS:
            r[n] = float(ds[n].values[i]) if done else float("nan")
        r["direct_status"] = int(status[j])
        r["direct_test_accuracy"] = (float(test_acc[j]) if int(status[j]) == DONE
                                     else float("nan"))
        out.append(r)
    df = pd.DataFrame(out)
    df["ratio"] = df["subspace_test_accuracy"] / df["direct_test_accuracy"]
    df.attrs["at"] = str(sp.get("at", "init"))
    df.attrs["subspace"] = sp
    return df


def _same_training(ds, i, j):
    """Row i (a subspace task) has training j's settings and seed; ``epochs`` may
    differ (probes.subspace.epochs replaces it on the subspace rows)."""
    for n in _SETTINGS + ("seed",):
        if n != "epochs" and n in ds.variables:
            a, b = ds[n].values[i], ds[n].values[j]
            if not (a == b or (isinstance(a, float) and np.isnan(a) and np.isnan(b))):
                return False
    return True


def _training_of(ds, i):
    """The one training with subspace row i's settings and seed (older outputs wrote
    source_task 0 for every subspace task at the initialisation); ValueError if
    there is not exactly one."""
    cand = [j for j in np.flatnonzero(ds.kind.values == KIND_TRAIN) if _same_training(ds, i, j)]
    if len(cand) != 1:
        raise ValueError(f"subspace task {int(ds.task.values[i])}: its source_task "
                         f"{int(ds.source_task.values[i])} is not a training with its settings, "
                         f"and {len(cand)} trainings have them")
    return int(cand[0])


REACH_TOL = 1e-9  # relative: rounding of fraction x direct accuracy, nothing more


def d_int(dims, accuracy, target):
    """The intrinsic dimension of one curve: the smallest sampled d reaching ``target``.

    ``dims``, ``accuracy``: the sampled d's and the accuracies reached there (any
    order; NaN = not measured, skipped).  An accuracy reaches the target when
    accuracy >= target x (1 - REACH_TOL): exactly 90% of an accuracy counts,
    although 0.9 x the direct accuracy is rounded.  Returns a dict:
      sampled       the smallest sampled d with accuracy >= target (inf if none)
      interpolated  log-linear interpolation between the bracketing d's: with
                    d_lo the largest sampled d below ``sampled`` (it fell short)
                    and a_lo, a_hi the accuracies at d_lo, d_hi = sampled,
                    exp(log d_lo + (target - a_lo) / (a_hi - a_lo) * log(d_hi/d_lo));
                    equal to ``sampled`` when it is the smallest d measured
                    (then only an upper bound), inf if none reached
      lower, upper  the bracket d_lo, d_hi (lower NaN if ``sampled`` is the
                    smallest d; upper inf if none reached)
      reached       whether any d reached the target
      below_range   whether the smallest measured d already reached it
    With a NaN target every value is NaN and ``reached`` is False.

        >>> d_int([10, 100, 1000], [0.5, 0.7, 0.9], 0.8)["interpolated"]   # 316.2...
    """
    d = np.asarray(dims, dtype=float)
    a = np.asarray(accuracy, dtype=float)
    ok = np.isfinite(d) & np.isfinite(a)
    d, a = d[ok], a[ok]
    order = np.argsort(d, kind="stable")
    d, a = d[order], a[order]
    nan, inf = float("nan"), float("inf")
    if not np.isfinite(target) or d.size == 0:
        return {"sampled": nan, "interpolated": nan, "lower": nan, "upper": nan,
                "reached": False, "below_range": False}
    hit = np.flatnonzero(a >= target - REACH_TOL * abs(target))
    if hit.size == 0:
        return {"sampled": inf, "interpolated": inf, "lower": float(d[-1]), "upper": inf,
                "reached": False, "below_range": False}
    k = int(hit[0])
    if k == 0:
        return {"sampled": float(d[0]), "interpolated": float(d[0]), "lower": nan,
                "upper": float(d[0]), "reached": True, "below_range": True}
    lo, hi, alo, ahi = d[k - 1], d[k], a[k - 1], a[k]
    f = min(1.0, (target - alo) / (ahi - alo))  # ahi >= target > alo: 0 < f <= 1
    itp = float(hi) if f >= 1.0 else float(math.exp(math.log(lo) + f * math.log(hi / lo)))
    return {"sampled": float(hi), "interpolated": itp,
            "lower": float(lo), "upper": float(hi), "reached": True, "below_range": False}


def intrinsic_dims(sf, fraction=0.9, accuracy="subspace_test_accuracy"):
    """d_int per (setting group, seed) from a ``subspace_frame`` (METHODS.md,
    "Intrinsic dimension": d_int90 with the default ``fraction`` 0.9).

    The target of each training is ``fraction`` x its direct test accuracy; the
    curve is ``accuracy`` against d over the done subspace tasks of that training.
    One row per training (source_task), columns: the swept keys, source_task,
    direct_test_accuracy, target, n_dims (done) / n_tasks, complete (every
    subspace task and the training done), then d_int's sampled, interpolated,
    lower, upper, reached, below_range.  A training that is not done has a NaN
    target and NaN d's.  A curve missing some d's is still evaluated on the d's it
    has; ``complete`` says whether it is final.

        >>> dims = intrinsic_dims(subspace_frame(ds))
        >>> dims.groupby("arch").sampled.median()
    """
    keys = [c for c in sf.columns if c not in _SUBSPACE_COLS]
    out = []
    for s, g in sf.groupby("source_task", sort=True):
        done = g[g.status == DONE]
        direct = float(g.direct_test_accuracy.iloc[0])
        target = fraction * direct
        r = {k: g[k].iloc[0] for k in keys}
        r.update(source_task=int(s), direct_test_accuracy=direct, target=target,
                 n_dims=int(len(done)), n_tasks=int(len(g)),
                 complete=bool(len(done) == len(g) and g.direct_status.iloc[0] == DONE))
        r.update(d_int(done.d.values, done[accuracy].values, target))
        out.append(r)
    df = pd.DataFrame(out)
    df.attrs["fraction"] = fraction
    return df


_SUBSPACE_COLS = {"task_id", "status", "source_task", "d", "subspace_epochs", "direct_status",
                  "direct_test_accuracy", "ratio", *SUBSPACE_STATS}


def median_inf(x):
    """Median of d_int values with inf = not reached (even count: mean of the middle two;
    inf if the median falls on a not-reached one); NaN values are left out."""
    x = np.asarray(x, dtype=float)
    x = x[~np.isnan(x)]
    return float(_median_inf(x)) if x.size else float("nan")


# ------------------------------------------------------------ command lines -----

def open_for_cli(files, die):
    """Open the outputs a tool was given, or call ``die(message)``; returns
    ``(ds, title)`` with the sweep's title (the first file's name if it has none).
    Shared by the plot scripts and summary.py."""
    import os
    for f in files:
        if not os.path.isfile(f):
            die(f"{f}: no such file")
    try:
        ds = open_outputs(files)
    except (OSError, ValueError) as e:
        die(str(e))
    return ds, ds.attrs.get("title", os.path.splitext(os.path.basename(files[0]))[0])


def fmt(x, spec):
    """A number for a plot tool's table: ``format(x, spec)``, or "-" if missing."""
    import numpy as np
    return "-" if x is None or not np.isfinite(x) else format(x, spec)


def kv(v):
    """A setting's value for a label: floats in %g, anything else as str."""
    import numpy as np
    return f"{v:g}" if isinstance(v, (float, np.floating)) else str(v)


def print_table(caption, hdr, rows):
    """Print a caption and a Markdown table of strings (right-aligned columns)."""
    print(caption)
    print()
    print("| " + " | ".join(hdr) + " |")
    print("|" + "|".join("---:" for _ in hdr) + "|")
    for r in rows:
        print("| " + " | ".join(r) + " |")
    print()


def save_plot(fig, out, tool, die, note=""):
    """Write a plot tool's figure to ``out``, or call ``die(message, 1)`` if it
    cannot be written (a full disk, a missing directory); then say where it went
    on stderr, as ``tool: wrote out (note)``."""
    import sys
    try:
        fig.savefig(out)
    except OSError as e:
        die(f"{out}: {e.strerror or e}", 1)
    print(f"{tool}: wrote {out}" + (f" ({note})" if note else ""), file=sys.stderr)


__all__ += ["fmt", "kv", "print_table", "save_plot"]


# ------------------------------------------------------------ swa (Figure 6) ----

KIND_SWA = 6
__all__ += ["swa_frame", "NoSwa", "KIND_SWA", "SWA_METRICS"]

# (column, file variable): theta0, the weight average, the averaged predictions
SWA_METRICS = [(f"{who}_{split}_{q}", f"{pre}{split}_{q}")
               for who, pre in (("start", "swa_start_"), ("swa", "swa_"), ("ens", "ensemble_"))
               for split in ("test", "train") for q in ("loss", "accuracy")]


class NoSwa(ValueError):
    """The output has no swa tasks (``probes: swa:``)."""


def _offdiag_mean(m, n):
    """Mean of the off-diagonal entries of the leading n x n block of m (NaN if n < 2)."""
    if n < 2:
        return float("nan")
    b = np.asarray(m[:n, :n], dtype=float)
    return float(b[~np.eye(n, dtype=bool)].mean())


def swa_frame(ds):
    """One row per swa task (pandas DataFrame) for tables and plots of Figure 6.

    Columns: task_id, status, source_task (the pre-training), the swept keys,
    lr_max (``swa_lr_max``), cycles (M); start_/swa_/ens_ + test/train + _loss /
    _accuracy: the pre-trained point theta0, the weight average (SWA) and the
    averaged predictions (``SWA_METRICS`` maps them to the file's variables);
    snap_test_loss, snap_test_accuracy, snap_train_loss, snap_train_accuracy:
    the mean over the M snapshots; snap_test_accuracy_min/_max; distance and
    cosine: the mean over pairs i != j of ``swa_distance`` / ``swa_cosine``;
    delta_cosine (``swa_delta_cosine``, displacements from theta0);
    start_distance: mean |theta_i - theta0|.  Measurements are NaN unless the
    task is done.  Raises NoSwa if the output has no swa tasks.

        >>> df = swa_frame(ds)
        >>> df.groupby("lr_max")[["swa_test_accuracy", "ens_test_accuracy"]].mean()
    """
    if "swa_lr_max" not in ds or not (ds.kind.values == KIND_SWA).any():
        raise NoSwa("the output has no swa tasks (probes: swa:)")
    rows = np.flatnonzero(ds.kind.values == KIND_SWA)
    keys = swept_keys(ds)
    nan = float("nan")
    out = []
    for i in rows:
        done = int(ds.status.values[i]) == DONE
        M = int(ds.swa_cycles.values[i])
        r = {"task_id": int(ds.task.values[i]), "status": int(ds.status.values[i]),
             "source_task": int(ds.source_task.values[i])}
        for k in keys:
            r[k] = ds[k].values[i]
        r["lr_max"] = float(ds.swa_lr_max.values[i])
        r["cycles"] = M
        for col, var in SWA_METRICS:
            r[col] = float(ds[var].values[i]) if done else nan
        for q in ("test_loss", "test_accuracy", "train_loss", "train_accuracy"):
            v = ds[f"swa_snapshot_{q}"].values[i, :M]
            r[f"snap_{q}"] = float(np.mean(v)) if done else nan
        acc = ds.swa_snapshot_test_accuracy.values[i, :M]
        r["snap_test_accuracy_min"] = float(np.min(acc)) if done else nan
        r["snap_test_accuracy_max"] = float(np.max(acc)) if done else nan
        r["distance"] = _offdiag_mean(ds.swa_distance.values[i], M) if done else nan
        r["cosine"] = _offdiag_mean(ds.swa_cosine.values[i], M) if done else nan
        r["delta_cosine"] = _offdiag_mean(ds.swa_delta_cosine.values[i], M) if done else nan
        sd = ds.swa_snapshot_start_distance.values[i, :M]
        r["start_distance"] = float(np.mean(sd)) if done else nan
        out.append(r)
    return pd.DataFrame(out)
