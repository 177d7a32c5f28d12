"""From the file's flat ``task`` dimension to arrays indexed by the swept keys.

Shared by the frames (training.py, tunnels.py) and the indexed dataset
(dataset.py): replacing ``task`` by the swept keys, unstacked into one dimension
per key when their values form a full product, and picking each task's value at
its own last epoch.
"""

import math
import warnings

import numpy as np

__all__ = ["index_by_keys", "final_values"]


def index_by_keys(flat, dim, keys, unstack=True):
    """Replace the index of ``dim`` by the coordinates ``keys``.

    One key: ``dim`` becomes that key.  Several: a MultiIndex on ``dim``, unstacked
    into one dimension per key when ``unstack`` and the values are a full product
    (every combination once); otherwise the MultiIndex stays (with a warning when
    unstacking was asked for), so ``.sel(lr=..., seed=...)`` works either way.
    """
    keys = [k for k in keys if k in flat.coords]
    if not keys:
        return flat
    if len(keys) == 1:
        k = keys[0]
        if not unstack or len(np.unique(flat[k].values)) != flat.sizes[dim]:
            return flat.set_index({dim: k})
        return flat.swap_dims({dim: k}).transpose(k, ...)
    idx = flat.set_index({dim: keys})
    if not unstack:
        return idx
    combos = {tuple(flat[k].values[i] for k in keys) for i in range(flat.sizes[dim])}
    full = math.prod(len(np.unique(flat[k].values)) for k in keys)
    if full != flat.sizes[dim] or len(combos) != full:
        warnings.warn("the swept values are not a full product (zip); kept a "
                      f"MultiIndex on '{dim}' instead of unstacking")
        return idx
    with np.errstate(invalid="ignore"):  # xarray's NaN fill cast to int: no holes here
        out = idx.unstack(dim)
    return out.transpose(*keys, ...)


def final_values(values, epochs):
    """values[task, epoch] at each task's last epoch run; NaN if unknown.

    The last epoch run is the last with a value among the first ``epochs``: a
    training stopped early by a stop rule (``train.until_loss``,
    ``until_plateau``) or a step budget has values only for the epochs it ran,
    and its fill values (NaN) after them.
    """
    values = np.asarray(values, dtype=float)
    out = np.full(values.shape[0], np.nan)
    e = np.asarray(epochs, dtype=float)
    ok = np.isfinite(e) & (e >= 1)
    for i in np.flatnonzero(ok):
        row = values[i, :min(int(e[i]), values.shape[1])]
        seen = np.flatnonzero(np.isfinite(row))
        if seen.size:
            out[i] = row[seen[-1]]
    return out
