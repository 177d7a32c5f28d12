#!/usr/bin/env bash
# test_shared_data.sh: under MPI the dataset is loaded once per node and shared.
# MPI ranks: 1 (no mpirun), 3 and 4 (mpirun, oversubscribed; one node).
#
# Writes a small MNIST-format dataset (IDX files, 600 + 100 random 28x28 images)
# and runs a sweep of 4 small MLP trainings with tunnel probes (which draw their
# private probe subsets from the shared copy) on it:
#  (a) 4 ranks: exit 0, and exactly one "[wedge] data:" line (one node), saying
#      that ranks 1-3 share one copy of mnist (600 + 100 images) loaded by rank 1;
#      the output equals the one-process run's bit for bit (compare.py), and that
#      run prints no data line (one process loads on first use, as ever);
#  (b) 4 ranks with WEDGE_SHARED_DATA=0 (every rank loads its own copy): one line
#      saying so, no "share one copy" line, the same output;
#  (c) 4 ranks with --quiet: no data line;
#  (d) a sweep over 9 training-set sizes (9 datasets; at most 8 are shared): the
#      line saying the other is loaded per rank, the 8-dataset line, and the same
#      output as one process;
#  (e) a missing data directory, 3 ranks: exit 1 within the time cap (no hang), with
#      the loader's message on stderr naming the missing file and the fault.
# Exits 0 if every check passes, 1 otherwise, after printing each failed check.
# About 15-30 s.
set -u
t=test_shared_data
. "${top_srcdir:-.}/tests/mpi/lib.sh"

idx=$tmp/idx
mkdir -p "$idx"
"$PYTHON3" - "$idx" <<'EOF' || die "could not write the IDX files"
import sys, struct, numpy as np
rng = np.random.default_rng(7)
for split, n in (("train", 600), ("t10k", 100)):
    img = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    lab = rng.integers(0, 10, size=n, dtype=np.uint8)
    with open(f"{sys.argv[1]}/{split}-images-idx3-ubyte", "wb") as f:
        f.write(struct.pack(">IIII", 0x803, n, 28, 28) + img.tobytes())
    with open(f"{sys.argv[1]}/{split}-labels-idx1-ubyte", "wb") as f:
        f.write(struct.pack(">II", 0x801, n) + lab.tobytes())
EOF

sweep=$tmp/shared.yaml
cat >"$sweep" <<EOF
name: shared-data
seed: 5
data: {name: mnist, path: $idx}
model: {arch: mlp, depth: 1, hidden: 16}
train: {optimizer: adam, lr: 1.0e-3, batch_size: 50, epochs: 1}
sweep:
  train.lr: [1.0e-3, 3.0e-3]
  seed: {range: [0, 2]}
probes:
  tunnel: {directions: 2, probe_size: 200}
EOF

# (a) one process, then 4 ranks
wedge_run run "$sweep" -o "$tmp/np1.nc"
if [ "$rc" -ne 0 ]; then
    fail "wedge run (one process): exit $rc, want 0"
    show
fi
if grep -q '^\[wedge\] data:' "$tmp/out"; then
    fail "one process printed a data line; it loads on first use"
    grep '^\[wedge\] data:' "$tmp/out" | sed 's/^/    /'
fi

mpi_run 4 run "$sweep" -o "$tmp/np4.nc"
if [ "$rc" -ne 0 ]; then
    fail "mpirun -np 4 wedge run: exit $rc, want 0"
    show
fi
grep '^\[wedge\] data:' "$tmp/out" >"$tmp/data4"
n=$(wc -l <"$tmp/data4")
if [ "$n" -ne 1 ]; then
    fail "mpirun -np 4: $n '[wedge] data:' lines, want 1 (one node)"
    sed 's/^/    /' "$tmp/data4"
fi
want='ranks 1-3 share one copy of mnist (600 + 100 images, 0.5 MB), loaded by rank 1 in '
if ! grep -qF "$want" "$tmp/data4"; then
    fail "mpirun -np 4: the data line does not say '$want'"
    sed 's/^/    /' "$tmp/data4"
fi
[ -f "$tmp/np1.nc" ] && [ -f "$tmp/np4.nc" ] &&
    compare "1 process vs mpirun -np 4 (shared data)" "$tmp/np1.nc" "$tmp/np4.nc"

# one worker on the node: it holds the copy (no "ranks 1 share")
mpi_run 2 run "$sweep" -o "$tmp/np2.nc"
want='rank 1 holds the node'"'"'s one copy of mnist (600 + 100 images, 0.5 MB), loaded in '
if [ "$rc" -ne 0 ] || ! grep -qF "$want" "$tmp/out"; then
    fail "mpirun -np 2: exit $rc and the data line does not say '$want'"
    grep '^\[wedge\] data:' "$tmp/out" | sed 's/^/    /'
fi

# (b) private copies on request
WEDGE_SHARED_DATA=0 mpi_run 4 run "$sweep" -o "$tmp/private.nc"
if [ "$rc" -ne 0 ]; then
    fail "WEDGE_SHARED_DATA=0 mpirun -np 4 wedge run: exit $rc, want 0"
    show
fi
if ! grep -q '^\[wedge\] data: WEDGE_SHARED_DATA=0: each rank loads its own copy' "$tmp/out" ||
    grep -q 'share one copy' "$tmp/out"; then
    fail "WEDGE_SHARED_DATA=0: want the line saying each rank loads its own copy, and no shared copy"
    grep '^\[wedge\] data:' "$tmp/out" | sed 's/^/    /'
fi
[ -f "$tmp/np1.nc" ] && [ -f "$tmp/private.nc" ] &&
    compare "1 process vs mpirun -np 4 (private copies)" "$tmp/np1.nc" "$tmp/private.nc"

# (c) quiet stays quiet
mpi_run 4 run "$sweep" -o "$tmp/quiet.nc" --quiet
if [ "$rc" -ne 0 ] || grep -q '^\[wedge\] data:' "$tmp/out"; then
    fail "mpirun -np 4 wedge run --quiet: exit $rc, want 0 and no data line"
    show
fi

# (d) more datasets than are shared
many=$tmp/many.yaml
cat >"$many" <<EOF
name: many-data
seed: 5
data: {name: mnist, path: $idx}
model: {arch: mlp, depth: 1, hidden: 8}
train: {optimizer: adam, lr: 1.0e-3, batch_size: 50, epochs: 1}
sweep:
  data.train_size: [100, 150, 200, 250, 300, 350, 400, 450, 500]
EOF
wedge_run run "$many" -o "$tmp/many1.nc" --quiet
[ "$rc" -eq 0 ] || { fail "wedge run $many (one process): exit $rc, want 0"; show; }
mpi_run 3 run "$many" -o "$tmp/many3.nc"
if [ "$rc" -ne 0 ]; then
    fail "mpirun -np 3 wedge run $many: exit $rc, want 0"
    show
fi
if ! grep -q '^\[wedge\] data: the tasks use 9 datasets: the 8 used by most tasks are shared per node' "$tmp/out" ||
    ! grep -q '^\[wedge\] data: .*: ranks 1-2 share one copy of each of 8 datasets' "$tmp/out"; then
    fail "mpirun -np 3, 9 datasets: want the lines saying 8 are shared by ranks 1-2 and the other is loaded per rank"
    grep '^\[wedge\] data:' "$tmp/out" | sed 's/^/    /'
fi
[ -f "$tmp/many1.nc" ] && [ -f "$tmp/many3.nc" ] &&
    compare "1 process vs mpirun -np 3 (9 datasets)" "$tmp/many1.nc" "$tmp/many3.nc"

# (e) a missing dataset ends the run on every rank with the loader's message
sed "s|path: $idx|path: $tmp/no-such-dir|" "$sweep" >"$tmp/missing.yaml"
CMD_LIMIT=40 mpi_run 3 run "$tmp/missing.yaml" -o "$tmp/missing.nc"
if [ "$rc" -ne 1 ]; then
    fail "mpirun -np 3, missing data: exit $rc, want 1"
    show
fi
want="$tmp/no-such-dir/train-images-idx3-ubyte(.gz): cannot open: No such file or directory (rank 1 on "
if ! grep -qF "wedge run: $want" "$tmp/err"; then
    fail "mpirun -np 3, missing data: stderr does not say 'wedge run: $want...'"
    show
fi

finish
