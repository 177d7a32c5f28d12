#!/usr/bin/env bash
# test_spread.sh: tasks that can run at once go to different workers.
#
# Rank 0 hands out tasks longest-first and may queue a second task behind a worker's
# running one, to save the round trip for tasks of milliseconds.  It must never do
# that while another worker has nothing: two trainings whose length no finished task
# has told it yet, on mpirun -np 3 (two workers), must run on rank 1 and on rank 2,
# one each, not one after the other on the same rank (as two 1-hour trainings would
# if both were queued on the first worker).  Then the same with 4 trainings and 4
# workers (np 5).  Which rank ran a task is read from the output's `rank` variable.
# Exits 0 if every check passes, 1 otherwise.  ~5 s.
set -u
t=test_spread
. "${top_srcdir:-.}/tests/mpi/lib.sh"

for n in 2 4; do
    np=$((n + 1))
    cat >"$tmp/s$n.yaml" <<YAML
name: spread-$n
seed: 5
data: {name: synthetic, synthetic_train: 300, synthetic_test: 50, synthetic_size: 8}
model: {arch: mlp, depth: 1, hidden: 8}
train: {optimizer: adam, lr: 1.0e-3, batch_size: 50, epochs: 2}
sweep:
  seed: {range: [0, $n]}
YAML
    out=$tmp/s$n.nc
    mpi_run "$np" run "$tmp/s$n.yaml" -o "$out" --quiet
    if [ "$rc" -ne 0 ]; then
        fail "mpirun -np $np wedge run ($n trainings): exit $rc, want 0"
        show
        continue
    fi
    ranks=$("$PYTHON3" -c '
import sys, netCDF4
with netCDF4.Dataset(sys.argv[1]) as ds:
    print(" ".join(str(int(r)) for r in sorted(ds["rank"][:])))' "$out")
    want=$(seq -s ' ' 1 "$n")
    if [ "$ranks" != "$want" ]; then
        fail "$n trainings on $n workers ran on ranks '$ranks', want one on each of '$want'"
    fi
done
finish
