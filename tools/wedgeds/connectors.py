"""Connectors and Hessians (Figures 3 and 4): frames of the connect and hessian rows.

A 1-connector joins two optima O1, O2 of one seed group through K optimised
points; an m-connector joins m+1 optima through one centre (METHODS.md).  The
Hessian rows count short directions at the optima and at connector points.
``connector_frame`` and ``hessian_frame`` give one pandas row per task,
``connector_path`` the measurements along one connector as xarray.  Status
columns hold the status names of the file ("done", "pending", ...).
"""

import re

import numpy as np
import pandas as pd
import xarray as xr

from . import flags
from .files import settings, sweep_spec, swept_keys

__all__ = ["NoConnectors", "NoHessians", "PATH_VARS", "connector_optima", "connector_frame",
           "connector_path", "hessian_frame", "same_settings"]

PATH_VARS = ("path_train_loss", "path_train_accuracy", "path_test_loss", "path_test_accuracy",
             "path_changed_a", "path_changed_b", "line_train_loss", "line_test_loss")


class NoConnectors(ValueError):
    """The output has no connector tasks."""


class NoHessians(ValueError):
    """The output has no Hessian (short-direction) tasks."""


def same_settings(ds, i, j, ignore=("seed",)):
    """Rows i and j have equal settings (the file's coordinates along task), except
    those in ``ignore``: seed replicates of one setting (src/sweep.c same_but_seed)."""
    for n in settings(ds):
        if n in ignore or n == "kind":
            continue
        a, b = ds[n].values[i], ds[n].values[j]
        if not (a == b or (isinstance(a, float) and np.isnan(a) and np.isnan(b))):
            return False
    return True


def _hessian_sites(ds):
    """{code: "optimum" | "connector"} of ``hessian_at``: from its flag attributes
    if the output has them, else as its long_name states (0 optimum, 1 connector)."""
    try:
        table = flags.flag_table(ds.hessian_at.attrs, "hessian_at")
        return {v: ("optimum" if k.startswith("optim") else "connector") for k, v in table.items()}
    except ValueError:
        return {0: "optimum", 1: "connector"}


def _int_or(x, default=-1):
    return default if x is None or not np.isfinite(float(x)) else int(x)


def connector_optima(ds, task):
    """The training task ids joined by connector ``task`` (id), in plan order.

    Read from ``connector_optima``; in files written before it existed, a
    connector of order m joined the first m+1 trainings (plan order) that differ
    from its ``source_task`` only in seed.

        >>> connector_optima(ds, 8)      # a 1-connector: [O1, O2]
        [0, 1]
    """
    pos = {int(t): i for i, t in enumerate(ds.task.values)}
    i = pos[int(task)]
    if not flags.is_kind(ds, "connect")[i]:
        raise ValueError(f"task {task} is not a connector")
    if "connector_optima" in ds:
        return [int(v) for v in np.asarray(ds.connector_optima.values[i]).ravel() if v >= 0]
    m = _int_or(ds.connector_m.values[i]) if "connector_m" in ds else -1
    src = int(ds.source_task.values[i])
    if m < 1:  # not run yet: the order is not in the file; recover it from the plan
        m = _plan_m(ds, i)
    js = pos[src]
    group = [int(ds.task.values[j]) for j in np.flatnonzero(flags.is_kind(ds, "train"))
             if same_settings(ds, js, j)]
    return group[:m + 1]


def _plan_m(ds, i):
    """m of a connector row not yet written: the connectors of one seed group come
    in the order of the sweep's ``m`` list (each followed by its Hessian tasks)."""
    src = ds.source_task.values
    conns = [j for j in np.flatnonzero(flags.is_kind(ds, "connect")) if src[j] == src[i]]
    ms = _sweep_m_list(ds)
    k = conns.index(i)
    return ms[k] if ms and k < len(ms) else 1


def _sweep_m_list(ds):
    """The ``connectors.m`` list of the sweep text (global attribute ``sweep_text``)."""
    spec = sweep_spec(ds)
    if spec:
        m = (spec.get("connectors") or {}).get("m", [])
        try:
            return [int(v) for v in (m if isinstance(m, list) else [m])]
        except (TypeError, ValueError):
            return []
    txt = ds.attrs.get("sweep_text", "")  # no PyYAML: a plain look
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
    is_conn = flags.is_kind(ds, "connect")
    if "connector_m" not in ds or not is_conn.any():
        raise NoConnectors("the output has no connector tasks")
    rows = np.flatnonzero(is_conn)
    status = flags.status_names(ds)
    K1 = ds.sizes.get("conn_point", 1)
    keys = [k for k in swept_keys(ds) if k != "seed"]
    out = []
    for i in rows:
        t = int(ds.task.values[i])
        opt = connector_optima(ds, t)
        m = len(opt) - 1
        closs = ds.connector_loss.values[i]
        r = {"task_id": t, "status": status[i], "m": m,
             "n_points": K1 if m == 1 else 1, "optima": tuple(opt),
             "source_task": int(ds.source_task.values[i])}
        for k in keys:
            r[k] = ds[k].values[i]
        done = r["status"] == "done"
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
    ``connector_steps`` (point; where the file has it), ``deviation_cosine``
    (point, point2) and attrs m, K, E, optima, task.
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
    if "connector_steps" in ds:  # outputs of earlier versions have none
        st = ds.connector_steps.values[i, :K].astype(float)
        st[st < 0] = np.nan  # fill: a row copied from an output without the variable
        out["connector_steps"] = ("point", st, ds.connector_steps.attrs)
    out["deviation_cosine"] = (("point", "point2"), ds.deviation_cosine.values[i, :K, :K],
                               ds.deviation_cosine.attrs)
    out.coords["point2"] = np.arange(1, K + 1)
    out.attrs.update(task=int(task), m=m, K=K, E=E, optima=list(opt),
                     status=str(flags.status_names(ds)[i]),
                     barrier_path=float(ds.barrier_path.values[i]),
                     barrier_line=float(ds.barrier_line.values[i]))
    return out


def hessian_frame(ds):
    """One row per Hessian (short-direction count) task (pandas DataFrame).

    Columns: task_id, status, site ("optimum" / "connector"), source_task (the
    training, or the connector task), point (hessian_point), optimum (training id
    at an optimum, else -1), connector (connector id, else -1), m (connector order,
    0 at an optimum), position (1-connector point k+1: (k+1)/(K+1); NaN
    otherwise), the swept keys (of the row: a connector's are its O1's), and seed
    when it is not swept; method ("full", "lanczos", "slq": the study's, the
    ``method`` attribute of n_short), n_short, n_short_half, n_short_double,
    n_negative (eigenvalues below -threshold), lambda_min, hessian_n,
    hessian_hvps, converged, lower (the counts are lower bounds: Lanczos stopped by
    its budget, ``hessian_lower_bound``; in outputs without that flag, not
    converged or every stored Ritz value above the threshold), complete (every
    eigenvalue is stored: full, or a Lanczos basis of dimension D), capped
    (n_short == hessian_n), and for SLQ slq_count@L, slq_count_se@L,
    slq_count_lo@L, slq_count_hi@L at the levels L = 0.5, 1, 2, -1 of
    ``count_level`` (units of the threshold; -1: below -threshold), hessian_trace,
    hessian_trace_se.  Counts are NaN unless the task is done.
    ``df.attrs['threshold']`` is lambda_thr, ``df.attrs['method']`` the method.
    wedgeds.spectra.stored_count turns a row's count into what it means
    (exact, lower bound, estimate with interval).  Raises NoHessians.

        >>> h = hessian_frame(ds)
        >>> h[h.site == "optimum"].groupby("lr").n_short.mean()
    """
    is_hess = flags.is_kind(ds, "hessian")
    if "hessian_at" not in ds or not is_hess.any():
        raise NoHessians("the output has no Hessian (short-direction) tasks")
    rows = np.flatnonzero(is_hess)
    status = flags.status_names(ds)
    sites = _hessian_sites(ds)
    K1 = ds.sizes.get("conn_point", 1)
    method = str(ds.n_short.attrs.get("method", "lanczos"))
    nparams = _hessian_nparams(ds)
    cm = {}
    keys = swept_keys(ds)
    if "seed" not in keys and "seed" in ds.variables:
        keys = keys + ["seed"]
    levels = [float(v) for v in ds.count_level.values] if "count_level" in ds else []
    nan = float("nan")
    out = []
    for i in rows:
        at = sites.get(_int_or(ds.hessian_at.values[i]), "connector")
        src = int(ds.source_task.values[i])
        pt = _int_or(ds.hessian_point.values[i], 0)
        done = status[i] == "done"
        r = {"task_id": int(ds.task.values[i]), "status": status[i], "site": at,
             "source_task": src, "point": pt}
        if at == "optimum":
            r.update(optimum=src, connector=-1, m=0, position=nan)
        else:
            if src not in cm:
                cm[src] = len(connector_optima(ds, src)) - 1
            m = cm[src]
            r.update(optimum=-1, connector=src, m=m,
                     position=(pt + 1) / (K1 + 1) if m == 1 else nan)
        for k in keys:
            r[k] = ds[k].values[i]
        r["method"] = method
        for n in ("n_short", "n_short_half", "n_short_double", "n_negative", "hessian_n",
                  "hessian_hvps", "hessian_converged", "hessian_lower_bound",
                  "hessian_lambda_min", "hessian_trace", "hessian_trace_se",
                  "hessian_asymmetry"):
            v = float(ds[n].values[i]) if n in ds else nan
            n = {"hessian_converged": "converged", "hessian_lambda_min": "lambda_min",
                 "hessian_lower_bound": "lower_bound",
                 "hessian_asymmetry": "asymmetry"}.get(n, n)
            r[n] = v if done else nan
        for name in ("slq_count", "slq_count_se", "slq_count_lo", "slq_count_hi"):
            for j, lv in enumerate(levels):
                r[f"{name}@{lv:g}"] = float(ds[name].values[i, j]) if done and name in ds \
                    else nan
        r["complete"] = bool(done and (method == "full" or
                                       (np.isfinite(nparams[i]) and r["hessian_n"] >= nparams[i])))
        r["capped"] = bool(done and method != "slq" and r["n_short"] >= r["hessian_n"])
        if np.isfinite(r["lower_bound"]) and r["lower_bound"] >= 0:
            lower = r["lower_bound"] == 1
        else:  # outputs without the flag
            lower = method == "lanczos" and (r["converged"] != 1 or r["capped"])
        r["lower"] = bool(done and method == "lanczos" and not r["complete"] and lower)
        out.append(r)
    df = pd.DataFrame(out)
    df.attrs["threshold"] = float(ds.n_short.attrs.get("threshold", float("nan")))
    df.attrs["method"] = method
    return df


def _hessian_nparams(ds):
    """{row: D} for the Hessian rows: their own nparams, or (files that wrote 0 on
    probe rows) nparams of the training they measure (an optimum's source_task; a
    connector point's connector's source_task)."""
    pos = {int(t): i for i, t in enumerate(ds.task.values)}
    is_train = flags.is_kind(ds, "train")
    npar = np.asarray(ds["nparams"].values, dtype=float) if "nparams" in ds else None
    out = {}
    for i in np.flatnonzero(flags.is_kind(ds, "hessian")):
        own = float(npar[i]) if npar is not None else float("nan")
        if np.isfinite(own) and own > 0:
            out[i] = own
            continue
        j = i
        for _ in range(4):
            if is_train[j]:
                break
            s = float(ds.source_task.values[j])
            j = pos.get(int(s)) if np.isfinite(s) and s >= 0 else None
            if j is None:
                break
        d = float(npar[j]) if npar is not None and j is not None and is_train[j] else float("nan")
        out[i] = d if np.isfinite(d) and d > 0 else float("nan")
    return out
