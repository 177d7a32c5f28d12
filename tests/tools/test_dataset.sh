#!/usr/bin/env bash
# test_dataset.sh: a wedge output as plain xarray -- wedgeds.open() and the
# installed xarray backend xr.open_dataset(f, engine="wedge").
#
# Runs tests/sweeps/e2e/xarray.yaml (lr x hidden x 3 seeds, Adam) and a small
# tunnel sweep with split probes, then checks with the checkout's package:
#   - dims (lr, hidden, seed, epoch); .sel(lr=, hidden=, seed=) gives the row of
#     the task with those values (compared with the raw file read by netCDF4);
#   - settings equal on every row are attributes (optimizer "adam", dataset
#     "synthetic"), not coordinates; all-NaN ones (the toy model's dim, long) gone;
#   - strings are str (status "done", message ""), integers stay integers
#     (rank, nparams, snapshot_epoch); an integer variable with a fill value is
#     masked (NaN), not -1 (a pending row made by hand);
#   - kind="tunnel": dims (lr, seed, probe_epoch, part, direction, level) with
#     the split tasks told apart by part, tunnel_outcome's -1 masked;
#   - a kind without rows, and an unknown kind (naming the file's kinds), are
#     ValueErrors;
# and with the package installed by `make install-wedgeds prefix=TMP` (tools.am):
#   - xr.open_dataset(f, engine="wedge") equals wedgeds.open(f), also with
#     kind="tunnel"; plain xr.open_dataset(f) still has the task dimension;
#   - the dist-info names the backend and the commands; TMP/bin/wedge-summary runs;
#   - make uninstall-wedgeds leaves no file behind.
# Uses $WEDGE, $top_srcdir, $PYTHON3, $top_builddir and $MAKE (the build tree, for
# the install).  Exits 0 if every check passes, 1 otherwise.  ~10 s.
test_name=test_dataset
. "${top_srcdir:-.}/tests/tools/lib.sh"
top_builddir=${top_builddir:-$(dirname "$WEDGE")}
MAKE=${MAKE:-make}

"$WEDGE" run "$top_srcdir/tests/sweeps/e2e/xarray.yaml" -o "$tmp/xr.nc" --quiet >"$tmp/run.log" 2>&1 ||
    { echo "FAIL: wedge run xarray.yaml:"; sed 's/^/    /' "$tmp/run.log"; exit 1; }
cat >"$tmp/tun.yaml" <<'EOF'
name: dataset-tunnel
seed: 2
data: {name: synthetic, synthetic_train: 200, synthetic_test: 50, synthetic_size: 8}
model: {arch: mlp, depth: 1, hidden: 8}
train: {epochs: 2, batch_size: 25}
sweep:
  train.lr: [1.0e-3, 1.0e-2]
  seed: {range: [0, 2]}
probes:
  tunnel: {epochs: [1, 2], directions: 4, split: 2, probe_size: 100}
EOF
"$WEDGE" run "$tmp/tun.yaml" -o "$tmp/tun.nc" --quiet >"$tmp/run.log" 2>&1 ||
    { echo "FAIL: wedge run tun.yaml:"; sed 's/^/    /' "$tmp/run.log"; exit 1; }

cat >"$tmp/checks.py" <<'EOF'
"""Checks of wedgeds.open; argv: mode (checkout|installed), xr.nc, tun.nc, tmp."""
import shutil, sys
import numpy as np
import netCDF4
import xarray as xr
import wedgeds

mode, xrnc, tunnc, tmp = sys.argv[1:5]
bad = []
def check(cond, what):
    print(("ok: " if cond else "FAIL: ") + f"{mode}: {what}")
    if not cond:
        bad.append(what)

if mode == "installed":
    for kind in ("train", "tunnel"):
        a = xr.open_dataset(xrnc if kind == "train" else tunnc, engine="wedge", kind=kind)
        b = wedgeds.open(xrnc if kind == "train" else tunnc, kind=kind)
        check(a.identical(b), f'xr.open_dataset(engine="wedge", kind="{kind}") is wedgeds.open()')
    plain = xr.open_dataset(xrnc)
    check("task" in plain.dims and plain.sizes["task"] == 12,
          "plain xr.open_dataset still gives the file as written (task dimension)")
    import importlib.metadata as md
    eps = md.entry_points(group="xarray.backends")
    check(any(e.name == "wedge" and e.value == "wedgeds.backend:WedgeBackendEntrypoint"
              for e in eps), "dist-info registers the xarray backend 'wedge'")
    cs = {e.name for e in md.entry_points(group="console_scripts")}
    check({"wedge-summary", "wedge-merge", "wedge-plot-learning", "wedge-hessian",
           "wedge-plot-density"} <= cs,
          "dist-info names the wedge-* commands")
    sys.exit(1 if bad else 0)

ds = wedgeds.open(xrnc)
check(tuple(ds.train_loss.dims) == ("lr", "hidden", "seed", "epoch"),
      f"dims {ds.train_loss.dims}")
raw = netCDF4.Dataset(xrnc)
raw.set_auto_mask(False)
lr, hid, seed = raw["lr"][:], raw["hidden"][:], raw["seed"][:]
t = int(np.flatnonzero((lr == 3e-3) & (hid == 8) & (seed == 2))[0])
row = ds.sel(lr=3e-3, hidden=8, seed=2)
check(np.array_equal(row.test_accuracy.values, raw["test_accuracy"][t]) and
      int(row.task_id) == t, f".sel(lr=3e-3, hidden=8, seed=2) is task {t}'s row")
check(ds.attrs.get("optimizer") == "adam" and ds.attrs.get("dataset") == "synthetic" and
      "optimizer" not in ds.variables and "momentum" not in ds.variables and
      ds.attrs.get("batch_size") == 32.0,
      "constant settings are attributes (optimizer adam, dataset synthetic, batch_size 32)")
check("dim" not in ds.variables and "dim" not in ds.attrs, "all-NaN settings (toy dim) dropped")
check(ds.status.dtype.kind == "U" and (ds.status == "done").all() and
      ds.message.dtype.kind == "U" and str(ds.message.values.flat[0]) == "",
      "status and message are str")
check(ds["rank"].dtype.kind == "i" and ds.nparams.dtype.kind == "i" and
      ds.snapshot_epoch.dtype.kind == "i", "rank, nparams, snapshot_epoch stay integers")
# a pending row: rank is its fill value -1 in the file, masked here
p = f"{tmp}/pending.nc"
shutil.copyfile(xrnc, p)
with netCDF4.Dataset(p, "a") as f:
    st = f["status"]
    code = dict(zip(st.flag_meanings.split(), np.atleast_1d(st.flag_values).tolist()))
    st[0] = code["pending"]
    f["rank"][0] = -1
pd_ = wedgeds.open(p)
r0 = pd_["rank"].sel(lr=1e-3, hidden=8, seed=0)
check(pd_["rank"].dtype.kind == "f" and np.isnan(float(r0)) and
      str(pd_.status.sel(lr=1e-3, hidden=8, seed=0).values) == "pending",
      "a fill value of an integer variable is masked (rank of a pending row: NaN, not -1)")
tn = wedgeds.open(tunnc, kind="tunnel")
check(tuple(tn.tunnel_astar.dims) == ("lr", "seed", "probe_epoch", "part", "direction", "level"),
      f"kind='tunnel' dims {tn.tunnel_astar.dims}")
one = tn.sel(lr=1e-2, seed=1, probe_epoch=2)
probed = (one.tunnel_outcome.notnull()).any("level")
check(bool((probed.sum("part") == 1).all()) and not (tn.tunnel_outcome == -1).any(),
      "split probe tasks (part 0, 1) cover each direction once; outcome -1 masked")
try:
    wedgeds.open(tunnc, kind="plane")
    check(False, "kind='plane' on a file without planes raises")
except ValueError as e:
    check("no rows" in str(e), f"kind='plane' without plane rows: {e}")
try:
    wedgeds.open(tunnc, kind="nosuch")
    check(False, "an unknown kind raises ValueError")
except ValueError as e:
    check("train tunnel" in str(e), f"unknown kind: {e}")
sys.exit(1 if bad else 0)
EOF

if PYTHONPATH=$TOOLS "$PYTHON3" "$tmp/checks.py" checkout "$tmp/xr.nc" "$tmp/tun.nc" "$tmp" >"$tmp/c.txt" 2>&1; then
    sed 's/^/    /' "$tmp/c.txt"; ok "wedgeds.open from the checkout"
else
    sed 's/^/    /' "$tmp/c.txt"; fail "wedgeds.open from the checkout"
fi

# ---- the installed package: make install-wedgeds into a temporary prefix
prefix=$tmp/prefix
if (unset MAKEFLAGS MFLAGS; $MAKE -C "$top_builddir" install-wedgeds prefix="$prefix") \
        >"$tmp/install.log" 2>&1; then
    pydir=$(sed -n 's/^installed wedgeds .* in //p' "$tmp/install.log")
    ok "make install-wedgeds prefix=\$tmp/prefix: $(grep -c . "$tmp/install.log") line(s), package in ${pydir#$tmp/}"
    if [ -n "$pydir" ] && [ -f "$pydir/wedgeds/__init__.py" ] &&
            (cd "$tmp" && PYTHONPATH=$pydir "$PYTHON3" "$tmp/checks.py" installed "$tmp/xr.nc" \
                "$tmp/tun.nc" "$tmp") >"$tmp/i.txt" 2>&1 &&
            ! grep -q "$TOOLS" "$tmp/i.txt"; then
        sed 's/^/    /' "$tmp/i.txt"; ok 'engine="wedge" through the installed copy'
    else
        sed 's/^/    /' "$tmp/i.txt"; fail 'engine="wedge" through the installed copy'
    fi
    if (cd "$tmp" && PYTHONPATH=$pydir "$prefix/bin/wedge-summary" "$tmp/xr.nc") >"$tmp/s.txt" 2>&1 &&
            grep -q '^## e2e-xarray' "$tmp/s.txt" && head -1 "$prefix/bin/wedge-summary" | grep -q "^#!$PYTHON3"; then
        ok "installed wedge-summary runs (#!$PYTHON3)"
    else
        fail "installed wedge-summary:"; sed 's/^/    /' "$tmp/s.txt"
    fi
    (unset MAKEFLAGS MFLAGS; $MAKE -C "$top_builddir" uninstall-wedgeds prefix="$prefix") >/dev/null 2>&1
    left=$(find "$prefix" -type f | sed "s|$tmp/||")
    [ -z "$left" ] && ok "make uninstall-wedgeds removes every file" ||
        fail "left after uninstall: $left"
else
    fail "make install-wedgeds:"; sed 's/^/    /' "$tmp/install.log"
fi

if [ $nfail -ne 0 ]; then
    echo "test_dataset: $nfail check(s) failed"
    exit 1
fi
echo "test_dataset: all checks passed"
exit 0
