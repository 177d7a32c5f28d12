"""A wedge output as plain xarray: the rows of one kind, indexed by the swept keys.

``open(f)`` (also ``xr.open_dataset(f, engine="wedge")``, backend.py) returns the
training rows of a sweep over lr and seed as a Dataset with dimensions (lr, seed,
epoch), so that ``ds.sel(lr=1e-3, seed=0).test_accuracy`` is one learning curve;
``open(f, kind="tunnel")`` returns the tunnel-probe rows the same way, indexed by
the swept keys and ``probe_epoch``.  Settings that are the same on every row
(an unswept lr, the dataset, ...) become attributes instead of coordinates
repeated over every dimension; char arrays are str; ``status`` is its name
("done", "failed", ...); integer variables keep their type unless a fill value
(an unwritten or not-applicable entry) had to be masked, which makes them float
with NaN there.  The flat, file-shaped dataset is files.open_outputs.
"""

import numpy as np

from . import flags
from .files import open_outputs, settings, swept_keys
from .layout import index_by_keys

__all__ = ["open", "select", "kind_variables"]

# Which task variables belong to which kind (docs/output-format.md), by name or
# prefix.  Every kind also keeps _COMMON; probe kinds keep _PROBE.  A kind not
# listed here (written by a newer wedge) keeps every variable no listed kind claims.
_COMMON = ("status", "message", "wall_time", "rank")
_PROBE = ("probe_epoch", "source_task")
_OF_KIND = {
    "train": ("nparams", "train_loss", "train_accuracy", "test_loss", "test_accuracy",
              "param_norm", "snapshot_epoch", "params", "near_zero"),
    "tunnel": ("tunnel_",),
    "plane": ("plane_sources", "plane_gx", "plane_gy", "plane_vertex_", "plane_loss"),
    "connect": ("connector_", "path_", "line_", "barrier_", "deviation_cosine", "plane_leak"),
    "hessian": ("hessian_", "n_short"),
    "subspace": ("subspace_",),
    "swa": ("swa_", "ensemble_"),
}


def _claims(patterns, name):
    return any(name == p or (p.endswith("_") and name.startswith(p)) for p in patterns)


def kind_variables(ds, kind):
    """The names of the task variables (not settings) that rows of ``kind`` fill."""
    setting = set(settings(ds)) | {"kind", "task"}
    out = []
    for name in ds.variables:
        if name in setting or "task" not in ds[name].dims:
            continue
        if name in _COMMON or (kind != "train" and name in _PROBE):
            out.append(name)
        elif kind in _OF_KIND:
            if _claims(_OF_KIND[kind], name):
                out.append(name)
        elif not any(_claims(p, name) for p in _OF_KIND.values()) and name not in _PROBE:
            out.append(name)
    return out


def _same(values):
    v = np.asarray(values)
    if v.size == 0:
        return False
    if v.dtype.kind == "f":
        return bool(np.all(np.isnan(v))) or bool(np.all(v == v.flat[0]))
    return bool(np.all(v == v.flat[0]))


def _scalar(v):
    v = np.asarray(v).flat[0]
    return v.item() if hasattr(v, "item") else v


def select(ds, kind="train", unstack=True, add=None):
    """The rows of ``kind`` of a flat output (files.open_outputs), indexed by the
    swept keys (and ``probe_epoch`` for probe kinds).

    Keeps the variables of that kind (``kind_variables``) and the settings that
    vary; a setting equal on every row becomes an attribute, one that is NaN on
    every row (not applicable, e.g. a toy model's ``dim`` for a network) is
    dropped.  ``status`` becomes its name.  Rows that share every index value
    (the split tasks of one probe, the points of one connector) are told apart by
    an extra index level ``part`` (their order in the plan).  ``task_id`` keeps the
    task id.  ``add(flat)`` may return {name: (dims, values, attrs)} of extra
    variables computed on the selected flat rows before indexing.  Raises
    ValueError for a kind the file does not know or has no rows of.
    """
    table = flags.codes(ds, "kind")
    if kind not in table:
        raise ValueError(f"kind '{kind}': this output has the kinds {' '.join(table)}")
    rows = np.flatnonzero(flags.is_kind(ds, kind))
    if not rows.size:
        raise ValueError(f"kind '{kind}': this output has no rows of that kind")
    flat = ds.isel(task=rows)
    extra = add(flat) if add else {}
    names = flags.status_names(flat)
    keep = kind_variables(ds, kind)
    drop = [n for n in flat.data_vars if n not in keep and "task" in flat[n].dims]
    flat = flat.drop_vars(drop)
    flat["status"] = ("task", names, {"long_name": ds.status.attrs.get("long_name", "task status"),
                                      "flag_meanings": ds.status.attrs.get("flag_meanings", "")})
    for n, v in extra.items():
        flat[n] = v
    keys = swept_keys(ds)
    if kind != "train" and "probe_epoch" in flat.variables and flat.sizes["task"]:
        keys = keys + ["probe_epoch"]
    attrs = dict(ds.attrs)
    attrs["kind"] = kind
    for n in settings(ds) + ["kind"]:
        if n not in flat.variables or n in keys:
            continue
        vals = flat[n].values
        if _same(vals):
            if not (vals.dtype.kind == "f" and np.isnan(vals).all()):
                attrs[n] = _scalar(vals)
            flat = flat.drop_vars(n)
    flat.attrs = attrs
    flat = _restore_ints(flat)
    flat.coords["task_id"] = ("task", flat.task.values.astype(int))
    flat = flat.drop_vars("task")
    # what does not vary along task (epoch, level, ...) stays if a kept variable uses it
    used = {d for n in flat.data_vars if "task" in flat[n].dims for d in flat[n].dims}
    flat = flat.drop_vars([n for n in flat.variables
                           if "task" not in flat[n].dims and not set(flat[n].dims) <= used])
    flat = flat.set_coords([n for n in flat.data_vars if "task" not in flat[n].dims])
    if keys and flat.sizes["task"]:
        flat = flat.set_coords([k for k in keys if k in flat.data_vars])
        combos = [tuple(_key(flat[k].values[i]) for k in keys) for i in range(flat.sizes["task"])]
        if len(set(combos)) != len(combos):
            seen = {}
            part = []
            for c in combos:
                part.append(seen.get(c, 0))
                seen[c] = part[-1] + 1
            flat.coords["part"] = ("task", np.array(part))
            keys = keys + ["part"]
        flat = index_by_keys(flat, "task", keys, unstack)
    return _restore_ints(flat)


def _key(v):
    return "nan" if isinstance(v, float) and np.isnan(v) else v


def _restore_ints(ds):
    """Variables stored as integers that xarray made float to mask fill values:
    back to their integer type where nothing is masked."""
    for n in list(ds.variables):
        dt = ds[n].encoding.get("dtype")
        if dt is None or np.dtype(dt).kind not in "iu" or ds[n].dtype.kind != "f":
            continue
        vals = ds[n].values
        if vals.size and np.isfinite(vals).all():
            enc = ds[n].encoding
            if n in ds.coords:
                ds.coords[n] = (ds[n].dims, vals.astype(dt), ds[n].attrs)
            else:
                ds[n] = (ds[n].dims, vals.astype(dt), ds[n].attrs)
            ds[n].encoding = enc
    return ds


def open(paths, kind="train", params=False, unstack=True):  # noqa: A001 -- wedgeds.open
    """Open wedge output(s) as a Dataset of the rows of one kind, indexed by the
    swept keys (module docstring).

    ``paths``: a file or a list of files of one sweep (combined as by
    open_outputs).  ``kind``: "train" (default), "tunnel", "plane", "connect",
    "hessian", "subspace", "swa" -- any kind the file's ``kind`` flags name.
    ``params``: also read the parameter vectors (large).  ``unstack``: one
    dimension per swept key when the swept values are a full product (else a
    MultiIndex on ``task``, which ``.sel`` takes the same way).  Raises
    OutputError for a path that is not a readable wedge output, ValueError for
    an unknown kind.

        >>> ds = wedgeds.open("e2e-xarray.nc")
        >>> ds.sel(lr=1e-3, hidden=8, seed=0).test_accuracy.values
        >>> ds.attrs["optimizer"], ds.status.sel(lr=3e-3).values
    """
    return select(open_outputs(paths, params=params), kind, unstack=unstack)
