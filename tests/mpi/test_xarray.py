#!/usr/bin/env python3
"""test_xarray.py: a sweep's output as xarray users see it.

usage: test_xarray.py OUT.nc SWEEP.yaml

OUT.nc is the output of tests/sweeps/e2e/xarray.yaml (made by test_xarray.sh).
Checks, with xarray.open_dataset: the task dimension; the swept values of lr,
hidden and seed in product order (first sweep key outermost, last fastest); the
status flags; finite training losses and test accuracies in [0, 1] for every epoch
of every done task; params laid out (task, snapshot, param) with param as large as
the largest network, snapshot_epoch the sweep's snapshots plus the last epoch, and
|params| at the last snapshot equal to param_norm at the last epoch (entries past a
task's nparams are not looked at); long_name on every variable and units on every
numeric one that is not a flag; the global attributes (title, sweep_sha256 of 64
hex digits and equal to the SHA-256 of the sweep file, sweep_text equal to the
file, and the rest).  Exits 0 if every check passes, 1 otherwise, after printing
each failed check.
"""
import hashlib
import re
import sys

import numpy as np
import xarray as xr

failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL:", msg)


def sweep_values(text):
    """The swept values of the xarray sweep, read from its text (this test's own
    sweep file, so a small reader is enough): lr list, hidden list, seed range."""
    lr = re.search(r"^\s*train\.lr:\s*\[([^\]]*)\]", text, re.M)
    hidden = re.search(r"^\s*model\.hidden:\s*\[([^\]]*)\]", text, re.M)
    seed = re.search(r"^\s*seed:\s*\{\s*range:\s*\[\s*(\d+)\s*,\s*(\d+)\s*\]", text, re.M)
    epochs = re.search(r"epochs:\s*(\d+)", text)
    snaps = re.search(r"snapshots:\s*\[([^\]]*)\]", text)
    if not (lr and hidden and seed and epochs and snaps):
        print("FAIL: cannot read the swept values from the sweep file")
        sys.exit(1)
    return ([float(x) for x in lr.group(1).split(",")],
            [float(x) for x in hidden.group(1).split(",")],
            (int(seed.group(1)), int(seed.group(2))),
            int(epochs.group(1)),
            [int(x) for x in snaps.group(1).split(",")])


def main(argv):
    if len(argv) != 3:
        print(__doc__)
        return 2
    path, sweep_path = argv[1], argv[2]
    with open(sweep_path, "rb") as f:
        raw_text = f.read()
    text = raw_text.decode("utf-8")
    lrs, hiddens, (s0, s1), epochs, snaps = sweep_values(text)

    ds = xr.open_dataset(path)
    # ---- dimensions and the product order ----
    if "task" not in ds.dims:
        fail(f"no task dimension (dims {dict(ds.sizes)})")
        return 1
    ntask = ds.sizes["task"]
    nl, nh = len(lrs), len(hiddens)
    if ntask % (nl * nh) != 0:
        fail(f"task dimension {ntask} is not a multiple of {nl} lr x {nh} hidden values")
        return 1
    ns = ntask // (nl * nh)
    # seed {range: [a, b]}: a..b-1 (half-open) or a..b (inclusive); either way ns
    # consecutive values from a
    if ns not in (s1 - s0, s1 - s0 + 1):
        fail(f"{ntask} tasks = {nl} lr x {nh} hidden x {ns} seeds, but the seed range is "
             f"[{s0}, {s1}]")
    seeds = list(range(s0, s0 + ns))
    want = {
        "lr": np.repeat(lrs, nh * ns),
        "hidden": np.tile(np.repeat(hiddens, ns), nl),
        "seed": np.tile(seeds, nl * nh),
    }
    for name, w in want.items():
        if name not in ds.variables:
            fail(f"no variable {name}")
            continue
        v = ds[name]
        if v.dims != ("task",):
            fail(f"{name} has dimensions {v.dims}, want ('task',)")
            continue
        got = v.values.astype(float)
        if not np.array_equal(got, np.asarray(w, dtype=float)):
            fail(f"{name} along task is {got.tolist()}, want {list(map(float, w))} "
                 "(first sweep key outermost, last fastest)")
    if "lr" in ds.variables and "lr" not in ds.coords:
        print("note: lr is a data variable, not an xarray coordinate "
              "(no 'coordinates' attribute names it)")
    if "swept_keys" in ds.attrs:
        keys = str(ds.attrs["swept_keys"]).split()
        if keys != ["lr", "hidden", "seed"]:
            fail(f"swept_keys attribute {ds.attrs['swept_keys']!r}, want 'lr hidden seed'")

    # ---- status ----
    st = ds["status"]
    fm = str(st.attrs.get("flag_meanings", ""))
    if fm.split() != ["pending", "done", "failed", "diverged", "skipped"]:
        fail(f"status flag_meanings {fm!r}, want 'pending done failed diverged skipped'")
    fv = np.asarray(st.attrs.get("flag_values", [])).tolist()
    if fv != [0, 1, 2, 3, 4]:
        fail(f"status flag_values {fv}, want [0, 1, 2, 3, 4]")
    # a _FillValue that is also a flag value makes xarray decode those tasks as NaN
    # (status 0 = pending would vanish from `(ds.status == 0).sum()`)
    fill = st.encoding.get("_FillValue")
    if fill is not None and int(fill) in fv:
        fail(f"status has _FillValue {int(fill)}, one of its flag_values: xarray decodes "
             f"those tasks as NaN (status dtype {st.dtype})")
    status = st.values.astype(int)
    if not np.all(status == 1):
        fail(f"status {status.tolist()}: want every task done (1)")
    done = status == 1

    # ---- per-epoch statistics ----
    if ds.sizes.get("epoch") != epochs:
        fail(f"epoch dimension {ds.sizes.get('epoch')}, want {epochs}")
    for name in ("train_loss", "train_accuracy", "test_loss", "test_accuracy", "param_norm"):
        if name not in ds.variables:
            fail(f"no variable {name}")
            continue
        if ds[name].dims != ("task", "epoch"):
            fail(f"{name} has dimensions {ds[name].dims}, want ('task', 'epoch')")
            continue
        x = ds[name].values[done]
        if not np.all(np.isfinite(x)):
            bad = np.argwhere(~np.isfinite(x))[0]
            fail(f"{name} not finite for a done task (first at done task {bad[0]}, epoch "
                 f"{bad[1] + 1})")
    for name in ("train_accuracy", "test_accuracy"):
        if name in ds.variables:
            x = ds[name].values[done]
            if np.any((x < 0) | (x > 1)):
                fail(f"{name} outside [0, 1]: {x[(x < 0) | (x > 1)][:5]}")
    if "train_loss" in ds.variables:
        x = ds["train_loss"].values[done]
        if np.any(x <= 0):
            fail("train_loss <= 0 (a cross-entropy is positive)")

    # ---- snapshots and parameters ----
    want_snap = sorted(set(snaps) | {epochs})
    se = ds["snapshot_epoch"]
    if se.dims != ("task", "snapshot"):
        fail(f"snapshot_epoch has dimensions {se.dims}, want ('task', 'snapshot')")
    elif not np.array_equal(se.values[done].astype(int),
                            np.tile(want_snap, (int(done.sum()), 1))):
        fail(f"snapshot_epoch {se.values[done][:2].tolist()}..., want {want_snap} per task")
    p = ds["params"]
    if p.dims != ("task", "snapshot", "param"):
        fail(f"params has dimensions {p.dims}, want ('task', 'snapshot', 'param')")
    npar = ds["nparams"].values.astype(int)
    if p.sizes.get("param") != npar.max():
        fail(f"param dimension {p.sizes.get('param')}, want the largest nparams {npar.max()}")
    if p.dtype != np.float32:
        fail(f"params dtype {p.dtype}, want float32")
    hid = ds["hidden"].values
    for h in np.unique(hid):
        if len(np.unique(npar[hid == h])) != 1:
            fail(f"nparams differs between tasks with hidden {h}")
    if len(np.unique(npar)) != len(np.unique(hid)):
        fail(f"nparams {np.unique(npar).tolist()} does not grow with hidden "
             f"{np.unique(hid).tolist()}")
    if p.dims == ("task", "snapshot", "param") and "param_norm" in ds.variables:
        pv = p.values
        norm = ds["param_norm"].values
        for i in np.flatnonzero(done):
            row = pv[i, :, :npar[i]].astype(np.float64)
            if not np.all(np.isfinite(row)):
                fail(f"task {i}: params (first nparams={npar[i]}) not finite")
                break
            last = np.sqrt(np.sum(row[-1] ** 2))
            if not np.isclose(last, norm[i, -1], rtol=1e-4):
                fail(f"task {i}: |params| at the last snapshot {last:.6g} != param_norm "
                     f"{norm[i, -1]:.6g} at the last epoch")
                break
            if np.array_equal(row[0], row[-1]):
                fail(f"task {i}: params at epochs {want_snap[0]} and {want_snap[-1]} are "
                     "identical (snapshots not kept)")
                break

    # ---- metadata on every variable ----
    # ds.variables with decoding off sees the file's attributes as written
    rawds = xr.open_dataset(path, decode_cf=False, mask_and_scale=False)
    for name, v in rawds.variables.items():
        if "long_name" not in v.attrs:
            fail(f"variable {name} has no long_name")
        is_text = v.dtype.kind in "SUO"
        is_flag = "flag_values" in v.attrs
        if not is_text and not is_flag and "units" not in v.attrs:
            fail(f"variable {name} ({v.dtype}) has no units")
    rawds.close()

    # ---- global attributes ----
    for a in ("title", "wedge_version", "sweep_text", "sweep_sha256", "swept_keys",
              "mpi_size", "blas_config", "blas_threads", "created", "history"):
        if a not in ds.attrs:
            fail(f"global attribute {a} missing")
    if ds.attrs.get("title") != "e2e-xarray":
        fail(f"title {ds.attrs.get('title')!r}, want 'e2e-xarray' (the sweep's name)")
    sha = str(ds.attrs.get("sweep_sha256", ""))
    if not re.fullmatch(r"[0-9a-f]{64}", sha):
        fail(f"sweep_sha256 {sha!r} is not 64 hex digits")
    elif sha != hashlib.sha256(raw_text).hexdigest():
        fail("sweep_sha256 is not the SHA-256 of the sweep file")
    if ds.attrs.get("sweep_text") != text:
        fail("sweep_text differs from the sweep file's text")
    if int(ds.attrs.get("mpi_size", -1)) != 2:
        fail(f"mpi_size {ds.attrs.get('mpi_size')!r}, want 2")
    if int(ds.attrs.get("blas_threads", -1)) != 1:
        fail(f"blas_threads {ds.attrs.get('blas_threads')!r}, want 1")
    ds.close()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
