#!/bin/bash
# bench-compare.sh: wedge against PyTorch on the CPU, in one sitting.
#
# Runs `make bench`'s program (tests/bench/bench_net) and tools/bench-torch.py in
# alternation for several rounds, keeps each one's best images/s per model, and
# prints the ratios next to the targets.  Alternating rounds expose both to the
# same machine load, so the ratios hold even when absolute figures drift.
#
# Usage: tools/bench-compare.sh [--rounds N] [--budget SECONDS] [--native]
#   --rounds N      alternations (default 3)
#   --budget S      seconds of timing per model and mode in each run (default 3)
#   --native        let OpenBLAS pick the kernels for this CPU: unset
#                   OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE for both programs
#                   (where a site pins them, the pinned kernels are what wedge's
#                   runs use; --native shows what the CPU itself can do)
# Needs a configured build tree (run from it) and tools/setup.sh --bench.
set -euo pipefail

rounds=3 budget=3 native=0
while [ $# -gt 0 ]; do
    case "$1" in
    --rounds) rounds="$2"; shift 2 ;;
    --budget) budget="$2"; shift 2 ;;
    --native) native=1; shift ;;
    -h | --help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench-compare: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
case "$rounds$budget" in *[!0-9.]*) echo "bench-compare: --rounds and --budget take numbers" >&2; exit 2 ;; esac

here="$(cd "$(dirname "$0")/.." && pwd)"
if [ ! -f Makefile ]; then
    echo "bench-compare: run from a configured build tree (./configure first)" >&2
    exit 2
fi
make -s tests/bench/bench_net
envs=(env OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1)
[ "$native" = 1 ] && envs=(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1)

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
for r in $(seq 1 "$rounds"); do
    echo "# round $r/$rounds: wedge" >&2
    "${envs[@]}" ./tests/bench/bench_net "$budget" >"$out/wedge.$r"
    echo "# round $r/$rounds: torch" >&2
    "${envs[@]}" /usr/bin/python3 "$here/tools/bench-torch.py" "$budget" >"$out/torch.$r"
done
grep -h '^# wedge\|^# convolutions' "$out/wedge.1"
grep -h '^# PyTorch' "$out/torch.1"
[ "$native" = 1 ] && echo "# OpenBLAS kernels: chosen for this CPU (--native)" ||
    echo "# OpenBLAS kernels: ${OPENBLAS_CORETYPE:-chosen for this CPU}"

/usr/bin/python3 - "$out" "$rounds" <<'EOF'
import sys
out, rounds = sys.argv[1], int(sys.argv[2])
targets = {"simplecnn-c1": (1.5, 2.0), "simplecnn-c2": (1.5, 2.0),
           "simplecnn-c4": (1.5, 2.0), "mlp-256x2": (1.0, 1.2)}
best = {}
for who in ("wedge", "torch"):
    for r in range(1, rounds + 1):
        for line in open("%s/%s.%d" % (out, who, r)):
            f = line.split()
            if not f or f[0].startswith("#") or f[0] == "model":
                continue
            b = best.setdefault((who, f[0]), [0.0, 0.0])
            b[0], b[1] = max(b[0], float(f[1])), max(b[1], float(f[2]))
print("best of %d rounds, images/s at batch 128, one thread" % rounds)
print("%-13s %9s %9s %6s %6s | %9s %9s %6s %6s" % ("model", "wedge-tr", "torch-tr", "ratio",
      "target", "wedge-ev", "torch-ev", "ratio", "target"))
for m, (tt, te) in targets.items():
    w, t = best.get(("wedge", m)), best.get(("torch", m))
    if not w or not t:
        continue
    rt, re_ = w[0] / t[0], w[1] / t[1]
    print("%-13s %9.0f %9.0f %5.2fx %5.1fx%s | %9.0f %9.0f %5.2fx %5.1fx%s" % (
        m, w[0], t[0], rt, tt, " " if rt >= tt else "!", w[1], t[1], re_, te,
        " " if re_ >= te else "!"))
print("(! marks a ratio below its target)")
EOF
