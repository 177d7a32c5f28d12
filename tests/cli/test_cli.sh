#!/usr/bin/env bash
# test_cli.sh: tests of the wedge command line (the binary at $WEDGE, default ./wedge).
#
# Help texts, exit statuses (0 ok, 1 an error stopped the command, 2 bad command
# line) with a message on stderr that names the offending option or value, and a
# short synthetic training run: its table's shape, and that a seed reproduces the
# numbers exactly while another seed changes them; and that every study in sweeps/
# parses and plans.  Exits 0 if every check passes, 1 otherwise, after printing
# each failed check.  Takes a few seconds.
set -u

WEDGE=${WEDGE:-./wedge}
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1} OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/wedge-cli.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

failures=0
fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

if [ ! -x "$WEDGE" ]; then
    echo "FAIL: wedge binary '$WEDGE' not found or not executable (set WEDGE)"
    exit 1
fi

# run ARGS...: run wedge (60 s cap, so a hang fails instead of stalling make check);
# sets $rc and leaves stdout/stderr in $tmp/out and $tmp/err.
run() {
    if command -v timeout >/dev/null 2>&1; then
        timeout 60 "$WEDGE" "$@" >"$tmp/out" 2>"$tmp/err"
    else
        "$WEDGE" "$@" >"$tmp/out" 2>"$tmp/err"
    fi
    rc=$?
}

show() { # the last run's output, indented, for a failure report
    sed 's/^/    stdout: /' "$tmp/out" | head -20
    sed 's/^/    stderr: /' "$tmp/err" | head -20
}

# expect_usage_error WHAT-MUST-APPEAR-ON-STDERR ARGS...: exit 2, the text on stderr
# (fixed string), nothing on stdout.
expect_usage_error() {
    local needle=$1
    shift
    run "$@"
    if [ "$rc" -ne 2 ]; then
        fail "wedge $*: exit $rc, want 2"
        show
    elif ! grep -qF -- "$needle" "$tmp/err"; then
        fail "wedge $*: stderr does not mention '$needle'"
        show
    elif [ -s "$tmp/out" ]; then
        fail "wedge $*: usage error printed on stdout"
        show
    fi
}

# ---- help -------------------------------------------------------------------------

run --help
if [ "$rc" -ne 0 ]; then
    fail "wedge --help: exit $rc, want 0"
    show
elif ! grep -Eq '^[[:space:]]+train[[:space:]]' "$tmp/out"; then
    fail "wedge --help: the train command is not listed on stdout"
    show
fi

run
if [ "$rc" -ne 2 ] || [ ! -s "$tmp/err" ]; then
    fail "wedge (no command): exit $rc with stderr of $(wc -c <"$tmp/err") bytes, want 2 and usage"
fi

run --version
if [ "$rc" -ne 0 ] || ! grep -q '^wedge ' "$tmp/out"; then
    fail "wedge --version: exit $rc, want 0 and 'wedge VERSION'"
    show
fi

run train --help
if [ "$rc" -ne 0 ]; then
    fail "wedge train --help: exit $rc, want 0"
    show
else
    for opt in --data --data-path --train-size --test-size --arch --width --depth \
        --hidden --activation --dropout --optimizer --lr --momentum --l2 --batch-size \
        --epochs --schedule --cycle-epochs --min-ratio --seed --threads; do
        # the option itself, not a longer one that starts with it (--data-path)
        if ! grep -Eq -- "(^|[[:space:]])$opt([[:space:]=]|$)" "$tmp/out"; then
            fail "wedge train --help does not mention $opt"
        fi
    done
fi

# ---- usage errors (exit 2) -------------------------------------------------------

expect_usage_error "bogus" bogus
expect_usage_error "--bogus" train --bogus
expect_usage_error "--lr" train --lr abc
expect_usage_error "abc" train --lr abc
expect_usage_error "--lr" train --lr -1
expect_usage_error "--lr" train --lr ""
expect_usage_error "--lr" train --lr 1e-3x
expect_usage_error "--lr" train --lr # missing value
expect_usage_error "--dropout" train --dropout 1
expect_usage_error "nope" train --arch nope
expect_usage_error "--epochs" train --epochs 2.5
expect_usage_error "--batch-size" train --batch-size 0
expect_usage_error "extra" train --epochs 1 extra

# ---- runtime errors (exit 1) -----------------------------------------------------

run train --data mnist --data-path /nonexistent --epochs 1
if [ "$rc" -ne 1 ]; then
    fail "wedge train --data mnist --data-path /nonexistent: exit $rc, want 1"
    show
elif ! grep -q '/nonexistent/' "$tmp/err"; then
    fail "wedge train --data-path /nonexistent: stderr does not name the missing file"
    show
fi

# A sweep nested 100,000 levels deep (200 KB): refused at the first level past the
# limit with its line and column, at once (libyaml's loader would take time
# quadratic in the depth, 25 s at this depth, on every rank).
{
    printf 'name: deep\nsweep:\n  seed: '
    head -c 100000 /dev/zero | tr '\0' '['
    head -c 100000 /dev/zero | tr '\0' ']'
    printf '\n'
} >"$tmp/deep.yaml"
run expand "$tmp/deep.yaml" --count
if [ "$rc" -ne 1 ]; then
    fail "wedge expand of a sweep nested 100,000 levels deep: exit $rc, want 1"
    show
elif ! grep -q "deep.yaml:3:39: .*nested more than 32 levels deep" "$tmp/err"; then
    fail "wedge expand of a sweep nested 100,000 levels deep: stderr does not name deep.yaml:3:39 and the limit"
    show
fi

# ---- a short training run ----------------------------------------------------------

# train_seed SEED: the synthetic run; its stdout in $tmp/run-SEED-N (N counts runs).
runs=0
train_seed() {
    runs=$((runs + 1))
    run train --data synthetic --epochs 2 --batch-size 32 --arch mlp --hidden 32 --seed "$1"
    cp "$tmp/out" "$tmp/run-$1-$runs"
    if [ "$rc" -ne 0 ]; then
        fail "wedge train (synthetic, seed $1): exit $rc, want 0"
        show
        return 1
    fi
    return 0
}

# rows FILE: the epoch rows without the seconds column (the last one)
rows() { awk '/^[[:space:]]*[0-9]/ { $NF = ""; print }' "$1"; }

if train_seed 3; then
    out=$tmp/run-3-$runs
    if ! grep -Eq '^epoch[[:space:]]+train_loss[[:space:]]+train_acc[[:space:]]+test_loss[[:space:]]+test_acc' "$out"; then
        fail "wedge train: no 'epoch train_loss train_acc test_loss test_acc ...' header"
        sed 's/^/    /' "$out"
    fi
    if ! grep -q '^#.*seed 3' "$out"; then
        fail "wedge train: the '#' preamble does not record seed 3"
    fi
    # exactly epochs 1 and 2, each with 7 finite numbers: accuracies in [0, 1],
    # losses and |theta| positive
    bad=$(awk '
        /^[[:space:]]*[0-9]/ {
            n++
            if (NF != 7) { print "row " n " has " NF " columns, want 7"; next }
            for (i = 1; i <= NF; i++)
                if ($i !~ /^[-+]?[0-9]+(\.[0-9]*)?([eE][-+]?[0-9]+)?$/) {
                    print "row " n " column " i " is not a number: " $i; next
                }
            if ($1 != n) print "row " n " is epoch " $1
            if ($2 <= 0 || $4 <= 0) print "row " n ": non-positive loss"
            if ($3 < 0 || $3 > 1 || $5 < 0 || $5 > 1) print "row " n ": accuracy outside [0,1]"
            if ($6 <= 0) print "row " n ": |theta| not positive"
            if ($7 < 0) print "row " n ": negative seconds"
        }
        END { if (n != 2) print n + 0 " epoch rows, want 2" }' "$out")
    if [ -n "$bad" ]; then
        fail "wedge train (synthetic, 2 epochs): bad table"
        while IFS= read -r line; do echo "    $line"; done <<<"$bad"
        sed 's/^/    /' "$out"
    fi
    first=$out
    if train_seed 3; then
        if [ "$(rows "$first")" != "$(rows "$tmp/run-3-$runs")" ]; then
            fail "wedge train: two runs with seed 3 differ"
            diff "$first" "$tmp/run-3-$runs" | sed 's/^/    /'
        fi
    fi
    if train_seed 4; then
        if [ -z "$(rows "$tmp/run-4-$runs")" ] ||
            [ "$(rows "$first")" = "$(rows "$tmp/run-4-$runs")" ]; then
            fail "wedge train: seeds 3 and 4 print the same numbers"
        fi
    fi
fi

# Every study shipped in sweeps/ must parse and plan (a broken one would only show
# when a researcher submits it).
src=${top_srcdir:-.}
nsweeps=0
for f in "$src"/sweeps/*.yaml "$src"/sweeps/*/*.yaml; do
    [ -f "$f" ] || continue
    nsweeps=$((nsweeps + 1))
    run expand "$f" --count
    if [ "$rc" -ne 0 ] || ! grep -Eq '^[1-9][0-9]*$' "$tmp/out"; then
        fail "wedge expand $f: exit $rc"
        show
    fi
done
[ "$nsweeps" -ge 20 ] || fail "found only $nsweeps sweeps under $src/sweeps"

# Command-line overrides: applied (the plan changes), recorded in the output's
# sweep_text, required again by --resume, and refused when malformed.
cat >"$tmp/ov.yaml" <<'EOF'
name: ov
data: {name: synthetic, synthetic_train: 64, synthetic_test: 32, synthetic_size: 8}
model: {arch: mlp, depth: 1, hidden: 4}
train: {epochs: 1, batch_size: 16}
sweep: {seed: [0, 1]}
EOF
run expand "$tmp/ov.yaml" sweep.seed=[0,1,2] --count
[ "$rc" = 0 ] && [ "$(cat "$tmp/out")" = 3 ] ||
    { fail "expand with sweep.seed=[0,1,2]: exit $rc, want 3 tasks"; show; }
run expand "$tmp/ov.yaml" train.lrr=1
[ "$rc" = 1 ] && grep -q "override 'train.lrr=1': unknown key 'lrr' in train (did you mean 'lr'?)" "$tmp/err" ||
    { fail "expand train.lrr=1: exit $rc, want 1 naming the override"; show; }
run expand "$tmp/ov.yaml" lonely
[ "$rc" = 2 ] && grep -q "'lonely' is not KEY=VALUE" "$tmp/err" ||
    { fail "expand SWEEP lonely: exit $rc, want 2"; show; }
run run "$tmp/ov.yaml" train.epochs=2 -o "$tmp/ov.nc" --quiet
if [ "$rc" = 0 ] && ncdump -h "$tmp/ov.nc" | grep -q '#   train.epochs=2' &&
    [ "$(ncdump -v epoch "$tmp/ov.nc" | grep -c 'epoch = 1, 2 ;')" = 1 ]; then
    :
else
    fail "run with train.epochs=2: exit $rc, or the output lacks the override or 2 epochs"; show
fi
run run "$tmp/ov.yaml" train.epochs=3 -o "$tmp/ov.nc" --resume --quiet
[ "$rc" = 1 ] && grep -q 'was "#   train.epochs=2", now "#   train.epochs=3"' "$tmp/err" ||
    { fail "--resume with another override: exit $rc, want 1 quoting both"; show; }
run run "$tmp/ov.yaml" train.epochs=2 -o "$tmp/ov.nc" --resume --quiet
[ "$rc" = 0 ] || { fail "--resume with the same override: exit $rc"; show; }

# probes.hessian.points: the plan counts the named points X_k of each 1-connector
# and every m-connector centre; a point beyond K, or points without connectors in
# `at`, is refused naming the line
cat >"$tmp/hp.yaml" <<'EOF'
name: hp
data: {name: synthetic, synthetic_train: 64, synthetic_test: 32, synthetic_size: 8}
model: {arch: mlp, depth: 1, hidden: 4}
train: {epochs: 1, batch_size: 16}
sweep: {seed: [0, 1, 2]}
connectors: {m: [1, 2], points: 3, steps: 1}
probes:
  hessian: {at: [connectors], points: [3, 2]}
EOF
run expand "$tmp/hp.yaml"
got=$(grep ' hessian ' "$tmp/out" | sed 's/.* at \(.*\)  deps.*/\1/' | tr '\n' ',')
[ "$rc" = 0 ] && [ "$got" = "X_2,X_3,the centre," ] ||
    { fail "expand with points: [3, 2]: exit $rc, counts at '$got', want X_2,X_3,the centre,"; show; }
run expand "$tmp/hp.yaml" 'probes.hessian.points=[2,4]'
[ "$rc" = 1 ] && grep -q "probes.hessian.points: X_4, but the 1-connectors have K = 3 points" "$tmp/err" ||
    { fail "expand with points: [2, 4] and K = 3: exit $rc, want 1 naming X_4"; show; }
sed -i 's/at: \[connectors\]/at: [optima]/' "$tmp/hp.yaml"
run expand "$tmp/hp.yaml"
[ "$rc" = 1 ] && grep -q "hp.yaml:8:.*probes.hessian.points: names connector points, but .at. has no connectors" "$tmp/err" ||
    { fail "expand with points and at: [optima]: exit $rc, want 1 naming hp.yaml:8"; show; }

if [ "$failures" -ne 0 ]; then
    echo "$failures check(s) failed"
    exit 1
fi
echo "all CLI checks passed"
exit 0
