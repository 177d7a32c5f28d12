"""The task kinds and statuses of a wedge output, read from the file itself.

``kind`` and ``status`` are CF flag variables: ``flag_values`` and
``flag_meanings`` (e.g. "train tunnel plane connect hessian subspace swa" and
"pending done failed diverged") say which code means what.  Every code used by
wedgeds comes from those attributes, so an output written with more kinds (or
codes in another order) reads the same.  Nothing here knows a code.
"""

import numpy as np
import pandas as pd

__all__ = ["flag_table", "codes", "is_kind", "is_status", "status_names", "kind_names",
           "status_counts", "STATUS_PREFERENCE"]

# Several rows for one task (several files of one sweep): keep the best one.
# A done row beats a diverged one (a finished result too), which beats a failed
# one, which beats a pending one; unknown statuses rank last.
STATUS_PREFERENCE = ("done", "diverged", "failed", "pending")


def flag_table(attrs, what="flag variable"):
    """{meaning: code} from a variable's ``flag_values``/``flag_meanings`` attributes
    (a dict such as ``ds.status.attrs`` or a netCDF4 variable's ``__dict__``).

    Raises ValueError when either attribute is missing or they do not pair up.
    """
    meanings = attrs.get("flag_meanings")
    values = attrs.get("flag_values")
    if meanings is None or values is None:
        raise ValueError(f"{what} has no flag_values/flag_meanings attributes")
    names = str(meanings).split()
    vals = np.atleast_1d(np.asarray(values)).tolist()
    if len(names) != len(vals) or len(set(names)) != len(names):
        raise ValueError(f"{what}: flag_meanings ({len(names)} names) and flag_values "
                         f"({len(vals)} codes) do not pair up")
    return {n: int(v) for n, v in zip(names, vals)}


def codes(ds, var):
    """{meaning: code} of variable ``var`` ("kind" or "status") of dataset ``ds``."""
    return flag_table(ds[var].attrs, f"variable '{var}'")


def _mask(ds, var, name):
    table = codes(ds, var)
    values = np.asarray(ds[var].values)
    if name not in table:
        return np.zeros(values.shape, dtype=bool)
    return values == table[name]


def is_kind(ds, name):
    """Boolean array over ``task``: the rows of kind ``name`` ("train", "tunnel", ...).
    All False when the file does not know that kind (an older output)."""
    return _mask(ds, "kind", name)


def is_status(ds, name):
    """Boolean array over ``task``: the rows with status ``name`` ("done", ...)."""
    return _mask(ds, "status", name)


def _names(ds, var):
    table = codes(ds, var)
    back = {v: k for k, v in table.items()}
    values = np.asarray(ds[var].values)
    out = np.empty(values.shape, dtype=object)
    for i, v in np.ndenumerate(values):
        out[i] = back.get(int(v), f"code {int(v)}") if np.isfinite(v) else "unknown"
    return out.astype(str)


def status_names(ds):
    """The status of every row as a name ("done", "failed", ...), an array of str."""
    return _names(ds, "status")


def kind_names(ds):
    """The kind of every row as a name ("train", "tunnel", ...), an array of str."""
    return _names(ds, "kind")


def status_counts(ds):
    """Tasks per kind and status as a pandas DataFrame (rows: the kinds present + 'all').

        >>> print(status_counts(ds).to_string())
                pending  done  failed  diverged  total
        train         0     6       0         0      6
        tunnel        0    24       0         0     24
        all           0    30       0         0     30
    """
    kinds, stats = codes(ds, "kind"), codes(ds, "status")
    k, s = np.asarray(ds.kind.values), np.asarray(ds.status.values)
    rows = {}
    for kn, kv in kinds.items():
        if (k == kv).any():
            rows[kn] = [int(((k == kv) & (s == sv)).sum()) for sv in stats.values()]
    rows["all"] = [int((s == sv).sum()) for sv in stats.values()]
    df = pd.DataFrame.from_dict(rows, orient="index", columns=list(stats))
    df["total"] = df.sum(axis=1)
    return df
