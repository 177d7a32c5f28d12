#!/usr/bin/env bash
# test_xarray.sh: a sweep's output read with xarray (tests/mpi/test_xarray.py).
# MPI ranks: 2 (mpirun; rank 0 schedules, one worker).
#
# Runs tests/sweeps/e2e/xarray.yaml under mpirun -np 2 and hands the output to
# test_xarray.py, which checks the layout, the product order of the swept values,
# the statistics, the parameters and the metadata.  Exits 0 if every check
# passes, 1 otherwise, after printing each failed check.  A few seconds.
set -u
t=test_xarray
. "${top_srcdir:-.}/tests/mpi/lib.sh"

sweep=$SWEEP_DIR/xarray.yaml
[ -r "$sweep" ] || die "sweep file $sweep not found (set top_srcdir)"
"$PYTHON3" -c 'import xarray' 2>/dev/null || die "$PYTHON3 cannot import xarray"
out=$tmp/xr.nc

mpi_run 2 run "$sweep" -o "$out" --quiet
if [ "$rc" -ne 0 ] || [ ! -f "$out" ]; then
    fail "mpirun -np 2 wedge run $sweep: exit $rc, want 0 and $out"
    show
    finish
fi
wedge_run expand "$sweep" --count
n=$(tr -d '[:space:]' <"$tmp/out")
want=$("$PYTHON3" -c 'import sys, netCDF4; print(len(netCDF4.Dataset(sys.argv[1]).dimensions["task"]))' "$out")
[ "$n" = "$want" ] || fail "wedge expand --count says '$n' tasks, the output has $want"

if ! "$PYTHON3" "$MPI_DIR/test_xarray.py" "$out" "$sweep" >"$tmp/py" 2>&1; then
    fail "test_xarray.py $sweep output:"
    sed 's/^/    /' "$tmp/py" | head -40
else
    grep '^note:' "$tmp/py"
fi

finish
