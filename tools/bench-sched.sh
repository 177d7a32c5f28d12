#!/usr/bin/env bash
# bench-sched.sh: what scheduling costs next to the work.  Prints
#  (a) with 2 workers: wall time against (summed task time)/2, on ~10 ms tasks;
#  (b) with many ranks oversubscribed on this machine (RANKS, default "32"; e.g.
#      RANKS="64 256"): tasks/s, rank 0's scheduling CPU per task, the makespan
#      against the ideal ((a)'s summed task time spread over every core: on an
#      oversubscribed machine a task's own wall time counts the time it waits);
#  (c) the CPU the idle ranks burn while one long task runs.
# Usage: [RANKS="64 256"] tools/bench-sched.sh [NTASKS]   (default 1000; run from the
# build directory)
set -euo pipefail
WEDGE=${WEDGE:-$(pwd)/wedge}
N=${1:-1000}
RANKS=${RANKS:-32}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
MPIRUN="mpirun --oversubscribe"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# ~10 ms tasks: softmax regression on 2000 synthetic 8x8 images, 12 epochs
cat > "$tmp/short.yaml" <<YAML
name: bench-sched
data: {name: synthetic, synthetic_train: 2000, synthetic_test: 50, synthetic_size: 8}
model: {arch: mlp, depth: 0}
train: {optimizer: adam, batch_size: 50, epochs: 12}
sweep:
  seed: {range: [0, $N]}
YAML
sed -e 's/epochs: 12/epochs: 3000/' -e "s/range: \[0, $N\]/range: [0, 1]/" -e 's/bench-sched/bench-idle/' \
  "$tmp/short.yaml" > "$tmp/long.yaml"
sed -e 's/epochs: 3000/epochs: 1/' -e 's/bench-idle/bench-idle0/' "$tmp/long.yaml" > "$tmp/none.yaml"

line() { grep '^\[wedge\] wall' "$1"; }
cpu() { /usr/bin/time -f "%U %S %e" $MPIRUN -np "$3" "$WEDGE" run "$1" -o "$tmp/$2.nc" --quiet 2>&1 >/dev/null | tail -1; }
echo "# wedge $($WEDGE --version | cut -d' ' -f2), $(nproc) cores, $N tasks"
$MPIRUN -np 3 "$WEDGE" run "$tmp/short.yaml" -o "$tmp/a.nc" --progress 1000 > "$tmp/a.log"
read -r wall sum <<<"$(line "$tmp/a.log" | sed -E 's/.*wall ([0-9.]+)s, summed task time ([0-9.]+)s.*/\1 \2/')"
sum_a=$sum
python3 - "$wall" "$sum" <<'PY'
import sys
wall, s = map(float, sys.argv[1:])
print(f"(a) 2 workers: wall {wall:.2f} s, summed task time / 2 = {s/2:.2f} s, ratio {wall/(s/2):.3f} (target <= 1.10)")
PY
# (b) many ranks: the scheduler's cost and the idle ranks' CPU, per rank count
for R in $RANKS; do
    $MPIRUN -np "$R" "$WEDGE" run "$tmp/short.yaml" -o "$tmp/b$R.nc" --progress 1000 > "$tmp/b$R.log"
    read -r wall sum <<<"$(line "$tmp/b$R.log" | sed -E 's/.*wall ([0-9.]+)s, summed task time ([0-9.]+)s.*/\1 \2/')"
    sched=$(line "$tmp/b$R.log" | sed -E 's/.*(rank 0 scheduling CPU .*)/\1/')
    python3 - "$R" "$N" "$wall" "$sum_a" "$(nproc)" "$sched" <<'PY'
import sys
r, n, wall, s, cores, sched = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
ideal = s / cores  # the tasks' CPU as (a) measured it, spread over every core
print(f"(b) {r} ranks: {n / wall:.0f} tasks/s, makespan {wall:.2f} s against the ideal {ideal:.2f} s "
      f"((a)'s summed task time / {cores} cores) = {wall / ideal:.2f}x; {sched} (target < 1 ms/task)")
PY
    read -r u0 s0 e0 <<<"$(cpu "$tmp/none.yaml" c0 "$R")"
    read -r u1 s1 e1 <<<"$(cpu "$tmp/long.yaml" c1 "$R")"
    python3 - "$R" "$u0" "$s0" "$e0" "$u1" "$s1" "$e1" <<'PY'
import sys
r = int(sys.argv[1])
u0, s0, e0, u1, s1, e1 = map(float, sys.argv[2:])
extra_cpu, extra_wall = (u1 + s1) - (u0 + s0), e1 - e0
print(f"(c) {r} ranks, one long task: {extra_wall:.2f} s longer than an empty sweep, using "
      f"{extra_cpu:.2f} s more CPU in all {r} processes together "
      f"(the task itself needs ~{extra_wall:.2f} s; spinning idle ranks would add up to "
      f"{(r - 2) * extra_wall:.0f} s)")
PY
done
