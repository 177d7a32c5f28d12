#!/usr/bin/env bash
# test_ranks.sh: the output of a sweep does not depend on the number of ranks.
# MPI ranks: 1 (no mpirun), 2, 3 and 4 (mpirun, oversubscribed).
#
# Runs tests/sweeps/e2e/small.yaml alone (one process does everything) and under
# mpirun -np 2, 3, 4 (rank 0 schedules, the others train).  Every run must exit 0,
# leave no journal, give a file ncdump -h reads with every task done and the
# mpi_size attribute equal to its rank count, and the four files must hold the same
# data bit for bit (tests/mpi/compare.py; rank and wall_time excepted).  Exits 0 if
# every check passes, 1 otherwise, after printing each failed check.  ~5-10 s.
set -u
t=test_ranks
. "${top_srcdir:-.}/tests/mpi/lib.sh"

sweep=$SWEEP_DIR/small.yaml
[ -r "$sweep" ] || die "sweep file $sweep not found (set top_srcdir)"

wedge_run expand "$sweep" --count
ntasks=$(tr -d '[:space:]' <"$tmp/out")
if [ "$rc" -ne 0 ] || ! [ "$ntasks" -gt 0 ] 2>/dev/null; then
    fail "wedge expand $sweep --count: exit $rc, output '$ntasks', want 0 and a count"
    show
    finish
fi

for np in 1 2 3 4; do
    out=$tmp/np$np.nc
    if [ "$np" -eq 1 ]; then
        wedge_run run "$sweep" -o "$out" --quiet
        how="wedge run (alone)"
    else
        mpi_run "$np" run "$sweep" -o "$out" --quiet
        how="mpirun -np $np wedge run"
    fi
    if [ "$rc" -ne 0 ]; then
        fail "$how $sweep: exit $rc, want 0"
        show
        continue
    fi
    if [ ! -f "$out" ]; then
        fail "$how: exit 0 but no output $out"
        continue
    fi
    if [ -e "$out.journal" ]; then
        fail "$how: the journal $out.journal is left after a complete sweep"
    fi
    if ! ncdump -h "$out" >"$tmp/header" 2>&1; then
        fail "$how: ncdump -h cannot read the output"
        sed 's/^/    /' "$tmp/header" | head -5
        continue
    fi
    if ! grep -Eq "^[[:space:]]*task = $ntasks ;" "$tmp/header"; then
        fail "$how: ncdump -h shows no dimension 'task = $ntasks'"
        grep -E '^[[:space:]]*task =' "$tmp/header" | sed 's/^/    /'
    fi
    counts=$(status_counts "$out")
    if [ "$counts" != "$ntasks 0 0 0" ]; then
        fail "$how: status counts (done failed diverged pending) '$counts', want '$ntasks 0 0 0'"
    fi
    size=$(nc_attr "$out" mpi_size)
    if [ "$size" != "$np" ]; then
        fail "$how: global attribute mpi_size '$size', want $np"
    fi
    wedge_run status "$out"
    want="$out: 'e2e-small', $ntasks tasks: $ntasks done, 0 failed, 0 diverged, 0 pending"
    if [ "$rc" -ne 0 ] || [ "$(head -1 "$tmp/out")" != "$want" ]; then
        fail "wedge status $out after $how: exit $rc, first line not '$want'"
        show
    fi
done

# every run equals the one-process run
for np in 2 3 4; do
    if [ -f "$tmp/np1.nc" ] && [ -f "$tmp/np$np.nc" ]; then
        compare "1 process vs mpirun -np $np" "$tmp/np1.nc" "$tmp/np$np.nc"
    fi
done

finish
