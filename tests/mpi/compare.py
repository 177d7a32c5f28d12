#!/usr/bin/env python3
"""compare.py: are two wedge outputs the same numbers?

usage: compare.py A.nc B.nc [--ignore VAR]... [--common]

Every data variable of the two files (everything except attributes) must be
bitwise identical: same names, dimensions, shapes and types, and equal values with
NaN equal to NaN (numpy.array_equal(equal_nan=True)).  `rank` and `wall_time` are
ignored: which rank ran a task and how long it took legitimately differ between
runs.  `params` holds each task's first nparams entries (a task with a smaller
network leaves the rest of the row unwritten, whatever the fill), so only those
entries, at the snapshots the task kept (snapshot_epoch >= 0), are compared.

--common compares the variables and dimensions both files have (and names the
others), for outputs of two versions of which one added variables.

Values are read raw (no masking or scaling).  Exit status 0 identical, 1 different
(the first difference is printed: variable, index and both values, and how many
elements differ), 2 a file could not be read.
"""
import sys

import numpy as np

try:
    import netCDF4
except ImportError:  # pragma: no cover
    print("compare.py: needs the netCDF4 module", file=sys.stderr)
    sys.exit(2)

IGNORED = {"rank", "wall_time"}


def raw(ds, name):
    v = ds.variables[name]
    v.set_auto_maskandscale(False)
    if v.dtype == "S1" or v.dtype == str:
        v.set_auto_chartostring(False)
    return np.asarray(v[...])


def first_diff(a, b):
    """Index (tuple) of the first differing element and the count of them."""
    if a.dtype.kind == "f":
        diff = ~((a == b) | (np.isnan(a) & np.isnan(b)))
    else:
        diff = a != b
    idx = np.argwhere(diff)
    return (tuple(int(i) for i in idx[0]) if len(idx) else None), int(diff.sum())


def equal(a, b):
    if a.dtype.kind == "f":
        return np.array_equal(a, b, equal_nan=True)
    return np.array_equal(a, b)


def fmt(x):
    if isinstance(x, (bytes, np.bytes_)):
        return repr(x)
    if isinstance(x, (float, np.floating)):
        return repr(float(x))
    return repr(x.item() if hasattr(x, "item") else x)


def params_mask(ds):
    """Mask of the params entries a task actually wrote (task, snapshot, param)."""
    p = ds.variables["params"]
    shape = p.shape
    mask = np.ones(shape, dtype=bool)
    if "nparams" in ds.variables:
        n = raw(ds, "nparams").astype(np.int64)
        mask &= np.arange(shape[2])[None, None, :] < n[:, None, None]
    if "snapshot_epoch" in ds.variables:
        se = raw(ds, "snapshot_epoch").astype(np.int64)
        mask &= (se >= 0)[:, :, None]
    return mask


def main(argv):
    ignore = set(IGNORED)
    files = []
    common = False
    it = iter(argv[1:])
    for a in it:
        if a == "--ignore":
            ignore.add(next(it, ""))
        elif a == "--common":
            common = True
        elif a in ("-h", "--help"):
            print(__doc__)
            return 0
        else:
            files.append(a)
    if len(files) != 2:
        print("usage: compare.py A.nc B.nc [--ignore VAR]... [--common]", file=sys.stderr)
        return 2
    try:
        da = netCDF4.Dataset(files[0])
        db = netCDF4.Dataset(files[1])
    except Exception as e:  # noqa: BLE001
        print(f"compare.py: cannot read: {e}", file=sys.stderr)
        return 2
    with da, db:
        problems = []
        dims = set(da.dimensions) & set(db.dimensions) if common else \
            set(da.dimensions) | set(db.dimensions)
        for d in sorted(dims):
            la = len(da.dimensions[d]) if d in da.dimensions else None
            lb = len(db.dimensions[d]) if d in db.dimensions else None
            if la != lb:
                problems.append(f"dimension {d}: {la} in {files[0]}, {lb} in {files[1]}")
        va, vb = set(da.variables), set(db.variables)
        if common:
            if va ^ vb:
                print("only in one file (not compared): " + ", ".join(sorted(va ^ vb)))
            va = vb = va & vb
        for name in sorted(va ^ vb):
            where = files[0] if name in va else files[1]
            problems.append(f"variable {name} only in {where}")
        if problems:
            for p in problems:
                print("DIFF:", p)
            return 1
        ncompared = 0
        for name in sorted(va):
            if name in ignore:
                continue
            xa, xb = da.variables[name], db.variables[name]
            if xa.dimensions != xb.dimensions or xa.dtype != xb.dtype:
                print(f"DIFF: variable {name}: {xa.dtype}{xa.dimensions} vs "
                      f"{xb.dtype}{xb.dimensions}")
                return 1
            a, b = raw(da, name), raw(db, name)
            if name == "params":
                ma, mb = params_mask(da), params_mask(db)
                if not np.array_equal(ma, mb):
                    idx, n = first_diff(ma, mb)
                    print(f"DIFF: params: the written entries differ (nparams or "
                          f"snapshot_epoch) first at {idx}")
                    return 1
                a = np.where(ma, a, 0)
                b = np.where(mb, b, 0)
            ncompared += 1
            if not equal(a, b):
                idx, n = first_diff(a, b)
                dims = ", ".join(f"{d}={i}" for d, i in zip(xa.dimensions, idx))
                print(f"DIFF: variable {name} at [{dims}]: {fmt(a[idx])} in {files[0]}, "
                      f"{fmt(b[idx])} in {files[1]} ({n} of {a.size} elements differ)")
                return 1
        print(f"identical: {ncompared} variables of {files[0]} and {files[1]} "
              f"(ignoring {', '.join(sorted(ignore))})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
