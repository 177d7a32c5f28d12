#!/usr/bin/env bash
# bench-journal.sh: what the crash-safe journal costs on a large sweep of tiny tasks.
# Prints, for N toy trainings (default 50,000) on 3 ranks:
#  (a) the run up to the instant before completion (killed there, as a fault would):
#      its wall time, the records per second, and the journal's files and bytes;
#  (b) the resume from that state: replaying N records into the output and completing
#      (the journal's removal included), its wall time;
#  (c) an uninterrupted run: its wall time, of which completion is the tail.
# Usage: tools/bench-journal.sh [N]   (run from the build directory; a few minutes)
set -euo pipefail
WEDGE=${WEDGE:-$(pwd)/wedge}
N=${1:-50000}
[ "$N" -ge 50 ] || { echo "bench-journal.sh: N must be at least 50" >&2; exit 2; }
N=$((N / 50 * 50))
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
MPIRUN="mpirun --oversubscribe -np 3"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/wedge-bench-journal.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/toy.yaml" <<YAML
name: bench-journal
model: {arch: toy, dim: 20, long: 5}
train: {optimizer: adam, lr: 0.05, epochs: 1}
sweep:                                  # N = 50 learning rates x N/50 seeds
  train.lr: {log: [0.01, 0.1], num: 50}
  seed: {range: [0, $((N / 50))]}
YAML
secs() { /usr/bin/time -f "%e" "$@" 2>&1 >/dev/null | tail -n 1; }
echo "# wedge $("$WEDGE" --version | cut -d' ' -f2-), $(nproc) cores, $N toy trainings, 3 ranks"
"$WEDGE" expand "$tmp/toy.yaml" --count >/dev/null || exit 1
t_a=$(WEDGE_FAULT=before-mark secs $MPIRUN "$WEDGE" run "$tmp/toy.yaml" -o "$tmp/a.nc" --quiet || true)
files=$(find "$tmp/a.nc.journal" -type f | wc -l)
bytes=$(du -sb "$tmp/a.nc.journal" | cut -f1)
segs=$(find "$tmp/a.nc.journal" -name 'seg-*' | wc -l)
recs=$("$WEDGE" status "$tmp/a.nc" --tasks | awk '/^tasks:/ { on = 1; next } on && $NF == "journal" { n++ } END { print n + 0 }')
echo "(a) killed before completion after ${t_a} s: $recs records ($(awk -v n="$recs" -v t="$t_a" 'BEGIN { printf "%.0f", n / t }') /s) in $files files ($segs segments), $bytes bytes ($(awk -v b="$bytes" -v n="$recs" 'BEGIN { printf "%.0f", b / (n ? n : 1) }') bytes/record)"
t_b=$(secs $MPIRUN "$WEDGE" run "$tmp/toy.yaml" -o "$tmp/a.nc" --resume --quiet)
[ -e "$tmp/a.nc.journal" ] && echo "(b) the journal is still there after the resume" >&2
echo "(b) resume: replay $recs records and complete in ${t_b} s"
t_c=$(secs $MPIRUN "$WEDGE" run "$tmp/toy.yaml" -o "$tmp/c.nc" --quiet)
echo "(c) uninterrupted run: ${t_c} s"
