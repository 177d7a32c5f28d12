# lib.sh: the setup every tools/ test shares (sourced, not run).  Sets WEDGE,
# top_srcdir, PYTHON3 and TOOLS, a temporary directory $tmp removed on exit, and
# fail/ok counters; the caller names itself in $test_name first.
set -u
WEDGE=${WEDGE:-./wedge}
top_srcdir=${top_srcdir:-.}
PYTHON3=${PYTHON3:-/usr/bin/python3}
TOOLS=$(cd "$top_srcdir/tools" && pwd)
export MPLBACKEND=Agg OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}

nfail=0
fail() { echo "FAIL: $*"; nfail=$((nfail + 1)); }
ok() { echo "ok: $*"; }

[ -x "$WEDGE" ] || { echo "FAIL: $WEDGE not found (set WEDGE)"; exit 1; }
"$PYTHON3" -c 'import xarray, netCDF4, matplotlib, numpy' 2>/dev/null ||
    { echo "FAIL: $PYTHON3 cannot import xarray, netCDF4, matplotlib, numpy"; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/${test_name:-test_tools}.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
export MPLCONFIGDIR=$tmp/mpl
