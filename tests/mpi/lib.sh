# lib.sh: shared setup of the MPI/end-to-end tests (sourced, not run).
#
# Sets up the environment every test needs (the binary $WEDGE, $PYTHON3, the sources
# $top_srcdir, one BLAS thread per rank, Open MPI allowed to run as root), a fresh
# temporary directory $tmp removed on exit, failure accounting (fail, finish), and
# runners with a time cap so a hang fails the test instead of stalling make check:
#   wedge_run ARGS...           one process, no mpirun; $rc, $tmp/out, $tmp/err
#   mpi_run N ARGS...           mpirun -np N wedge ARGS...; same outputs
#   mpi_cmd N                   the mpirun command line (array MPI_CMD) for N ranks
# Each test sources it after `set -u` and names itself: `t=NAME; . lib.sh`.

WEDGE=${WEDGE:-"$(pwd)/wedge"}
PYTHON3=${PYTHON3:-/usr/bin/python3}
top_srcdir=${top_srcdir:-.}
MPI_DIR=$top_srcdir/tests/mpi
# shellcheck disable=SC2034 # used by the tests that source this file
SWEEP_DIR=$top_srcdir/tests/sweeps/e2e
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# a test's own limit per command (seconds); the whole test stays well under a minute
CMD_LIMIT=${CMD_LIMIT:-50}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/wedge-${t:-mpi}.XXXXXX") || exit 1
# a regular expression matching $tmp literally, for pgrep/pkill -f
tmp_re=$(printf '%s' "$tmp" | sed 's/[][\.*^$+?(){}|]/\\&/g')
cleanup() {
    # nothing this test started may outlive it: every mpirun and wedge it ran has a
    # path inside $tmp on its command line
    pkill -9 -f "$tmp_re/" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

failures=0
fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

# show: the last command's output, indented, for a failure report
show() {
    sed 's/^/    stdout: /' "$tmp/out" 2>/dev/null | head -n "${SHOW_LINES:-20}"
    sed 's/^/    stderr: /' "$tmp/err" 2>/dev/null | head -n "${SHOW_LINES:-20}"
}

# finish: the test's verdict
finish() {
    if [ "$failures" -ne 0 ]; then
        echo "${t:-test}: $failures check(s) failed"
        exit 1
    fi
    echo "${t:-test}: all checks passed"
    exit 0
}

# die MESSAGE: a failure after which nothing else can be checked
die() {
    fail "$*"
    finish
}

if [ ! -x "$WEDGE" ]; then
    echo "FAIL: wedge binary '$WEDGE' not found or not executable (set WEDGE)"
    exit 1
fi
if ! "$PYTHON3" -c 'import numpy, netCDF4' 2>/dev/null; then
    echo "FAIL: $PYTHON3 cannot import numpy and netCDF4 (set PYTHON3)"
    exit 1
fi
command -v mpirun >/dev/null 2>&1 || { echo "FAIL: mpirun not found"; exit 1; }

# Open MPI: shared memory only (no network), oversubscription (more ranks than
# cores), root allowed.  Transport options this Open MPI does not know are dropped.
MPI_BASE=(mpirun --allow-run-as-root --oversubscribe)
for extra in "--mca pml ob1 --mca btl self,vader --mca btl_vader_single_copy_mechanism none" \
             "--mca btl self,vader" ""; do
    # shellcheck disable=SC2206
    try=("${MPI_BASE[@]}" $extra)
    if timeout 20 "${try[@]}" -np 2 true >/dev/null 2>&1; then
        MPI_BASE=("${try[@]}")
        break
    fi
done

mpi_cmd() {
    MPI_CMD=("${MPI_BASE[@]}" -np "$1")
}

# run_capped CMD...: run with the time cap; rc, $tmp/out, $tmp/err
run_capped() {
    timeout -k 5 "$CMD_LIMIT" "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
        echo "    (timed out after $CMD_LIMIT s: $*)"
    fi
}

wedge_run() {
    run_capped "$WEDGE" "$@"
}

mpi_run() {
    local n=$1
    shift
    mpi_cmd "$n"
    run_capped "${MPI_CMD[@]}" "$WEDGE" "$@"
}

# compare A B: the data of two outputs must be identical (compare.py); on a
# difference, fail with compare.py's report and the label LABEL.
compare() {
    local label=$1 a=$2 b=$3
    if ! "$PYTHON3" "$MPI_DIR/compare.py" "$a" "$b" >"$tmp/cmp" 2>&1; then
        fail "$label: outputs differ"
        sed 's/^/    /' "$tmp/cmp" | head -20
    fi
}

# nc_attr FILE NAME: print a global attribute (python), empty if missing
nc_attr() {
    "$PYTHON3" - "$1" "$2" <<'EOF'
import sys, netCDF4
with netCDF4.Dataset(sys.argv[1]) as ds:
    if sys.argv[2] in ds.ncattrs():
        v = ds.getncattr(sys.argv[2])
        print(v.item() if hasattr(v, "item") else v)
EOF
}

# status_counts FILE: "done failed diverged pending" counted from the status variable
status_counts() {
    "$PYTHON3" - "$1" <<'EOF'
import sys, netCDF4, numpy as np
with netCDF4.Dataset(sys.argv[1]) as ds:
    ds.set_auto_mask(False)
    s = np.asarray(ds["status"][:]).astype(int)
    print(int((s == 1).sum()), int((s == 2).sum()), int((s == 3).sum()), int((s == 0).sum()))
EOF
}

# same_tasks OLD NEW: every task final (done or diverged) in OLD is unchanged in NEW:
# same status, wall_time and rank.  A recomputed task would have a new wall time
# (measured to the nanosecond), so this shows that NEW kept OLD's rows.  Prints the
# number of such tasks; on a change, also the first changed tasks, and returns 1.
same_tasks() {
    "$PYTHON3" - "$1" "$2" <<'PYEOF'
import sys, netCDF4, numpy as np
a, b = (netCDF4.Dataset(p) for p in sys.argv[1:3])
for ds in (a, b):
    ds.set_auto_mask(False)
sa, sb = np.asarray(a["status"][:]).astype(int), np.asarray(b["status"][:]).astype(int)
wa, wb = np.asarray(a["wall_time"][:]), np.asarray(b["wall_time"][:])
ra, rb = np.asarray(a["rank"][:]), np.asarray(b["rank"][:])
final = np.flatnonzero((sa == 1) | (sa == 3))
bad = [i for i in final if sb[i] != sa[i] or wb[i] != wa[i] or rb[i] != ra[i]]
print(len(final))
for i in bad[:5]:
    print(f"task {i}: status {sa[i]} -> {sb[i]}, wall_time {wa[i]!r} -> {wb[i]!r}, "
          f"rank {ra[i]} -> {rb[i]}")
sys.exit(1 if bad else 0)
PYEOF
}

# records DIR: number of tasks with a valid record in the journal DIR (OUT.journal),
# as `wedge status OUT --tasks` counts them (damaged records do not count)
records() {
    [ -d "$1" ] || { echo 0; return; }
    "$WEDGE" status "${1%.journal}" --tasks 2>/dev/null |
        awk '/^tasks:/ { on = 1; next } on && $NF == "journal" { n++ } END { print n + 0 }'
}
