#!/usr/bin/env bash
# test_merge.sh: tools/merge.py combines two partial outputs of one sweep into a
# file whose data equal the complete run's, and refuses another sweep's file.
set -u
WEDGE=${WEDGE:-$(pwd)/wedge}
PYTHON3=${PYTHON3:-/usr/bin/python3}
top_srcdir=${top_srcdir:-.}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
cd "$tmp" || exit 1
cat > s.yaml <<'YAML'
name: merge-demo
seed: 2
data: {name: synthetic, synthetic_train: 200, synthetic_test: 50, synthetic_size: 10}
model: {arch: mlp, depth: 1, hidden: 8}
train: {epochs: 2, batch_size: 25}
sweep:
  seed: {range: [0, 4]}
probes:
  tunnel: {directions: 2, probe_size: 100}
YAML
"$WEDGE" run s.yaml -o full.nc --quiet > /dev/null || fail "wedge run"
# two partial copies: even tasks pending in one, odd tasks pending in the other
"$PYTHON3" - <<'PY' || exit 1
import shutil, netCDF4, numpy as np
for name, parity in (("a.nc", 0), ("b.nc", 1)):
    shutil.copyfile("full.nc", name)
    with netCDF4.Dataset(name, "a") as d:
        d.set_auto_mask(False)
        n = d.dimensions["task"].size
        for t in range(parity, n, 2):
            d["status"][t] = 0
            d["train_loss"][t, :] = np.nan       # scrambled: must come from the other
            d["tunnel_astar"][t, ...] = -1.0
PY
"$PYTHON3" "$top_srcdir/tools/merge.py" merged.nc a.nc b.nc > merge.log || fail "merge.py: $(cat merge.log)"
grep -q "merged.nc: 8 tasks: 8 done" merge.log || fail "merge summary: $(cat merge.log)"
"$PYTHON3" "$top_srcdir/tests/mpi/compare.py" full.nc merged.nc > cmp.log 2>&1 || fail "merged != complete run: $(cat cmp.log)"
# another sweep's file is refused
sed 's/seed: 2/seed: 3/' s.yaml > t.yaml
"$WEDGE" run t.yaml -o other.nc --quiet > /dev/null || fail "wedge run other"
if "$PYTHON3" "$top_srcdir/tools/merge.py" --force merged.nc a.nc other.nc > m2.log 2>&1; then
    fail "merge of a different sweep was accepted"
fi
grep -q "different sweep" m2.log || fail "refusal message: $(cat m2.log)"
# the output is never one of the inputs, and an existing output needs --force
"$PYTHON3" "$top_srcdir/tools/merge.py" merged.nc a.nc b.nc > /dev/null 2>&1 && fail "overwrote without --force"
echo "merge: all checks passed"
