#!/usr/bin/env bash
# test_badfiles.sh: every tool on files that are not wedge outputs, and
# wedge-merge's checks and choice of rows.
#
# For each tool of the registry (wedgeds.commands.COMMANDS: tools/summary.py ...) and
# each bad input -- a missing path, a directory, an empty file, a wedge output cut
# to its first 100 bytes and to half its size, a NetCDF-4 file of another program
# (ncgen), a YAML sweep, a text file -- checks: exit status 1, exactly one line on
# stderr of the form "wedge-<tool>: FILE: <problem>", no "Traceback", nothing on
# stdout, no PNG written.  Then wedge-merge:
#   - refuses an input of another sweep, one with another task count, and a bad
#     input in LAST position, before writing anything (no output, no temporary
#     file left in the output's directory);
#   - takes a done row from a later input over a failed or pending row of an
#     earlier one (the merged file equals the complete run), and keeps the
#     earlier input's row on a tie;
#   - replaces an existing output only with --force, atomically.
# Uses $WEDGE, $top_srcdir, $PYTHON3 (tests/tools/lib.sh).  Exits 0 if every
# check passes, 1 otherwise.  ~25 s.
test_name=test_badfiles
. "${top_srcdir:-.}/tests/tools/lib.sh"

cat >"$tmp/s.yaml" <<'EOF'
name: badfiles
seed: 3
data: {name: synthetic, synthetic_train: 200, synthetic_test: 50, synthetic_size: 8}
model: {arch: mlp, depth: 1, hidden: 8}
train: {epochs: 2, batch_size: 25}
sweep:
  seed: {range: [0, 4]}
EOF
"$WEDGE" run "$tmp/s.yaml" -o "$tmp/good.nc" --quiet >"$tmp/run.log" 2>&1 ||
    { echo "FAIL: wedge run s.yaml:"; sed 's/^/    /' "$tmp/run.log"; exit 1; }
mkdir "$tmp/in" "$tmp/adir"
head -c 100 "$tmp/good.nc" >"$tmp/in/head100.nc"
head -c $(( $(wc -c <"$tmp/good.nc") / 2 )) "$tmp/good.nc" >"$tmp/in/half.nc"
: >"$tmp/in/empty.nc"
printf 'netcdf foreign {\ndimensions:\n  x = 3 ;\nvariables:\n  float v(x) ;\ndata:\n  v = 1, 2, 3 ;\n}\n' \
    >"$tmp/foreign.cdl"
if command -v ncgen >/dev/null; then
    ncgen -4 -o "$tmp/in/foreign.nc" "$tmp/foreign.cdl" || fail "ncgen foreign.nc"
else  # the same file through the netCDF4 module
    "$PYTHON3" -c 'import sys, netCDF4; f = netCDF4.Dataset(sys.argv[1], "w"); f.createDimension("x", 3); f.createVariable("v", "f4", ("x",))[:] = [1, 2, 3]; f.close()' \
        "$tmp/in/foreign.nc"
fi
cp "$tmp/s.yaml" "$tmp/in/sweep.yaml"
printf 'hello\n' >"$tmp/in/notes.txt"

# Each tool's main() on each bad input, in one Python process (the same code the
# scripts run; a process per call would take 90 s), then each script once as a
# process on one bad input.
if "$PYTHON3" - "$TOOLS" "$tmp" >"$tmp/inproc.txt" 2>&1 <<'EOF'
import contextlib, importlib, io, os, re, sys, traceback
tools, tmp = sys.argv[1:3]
sys.path.insert(0, tools)
from wedgeds.commands import COMMANDS

want = {"missing.nc": "no such file$", "adir": "is a directory",
        "empty.nc": "empty file",
        "head100.nc": r"cannot be read as NetCDF \(truncated or damaged\?\)",
        "half.nc": r"cannot be read as NetCDF \(truncated or damaged\?\)",
        "foreign.nc": r"not a wedge output \(no 'task' dimension\)",
        "sweep.yaml": "a YAML sweep, not an output", "notes.txt": r"not a NetCDF file \(no NetCDF"}
bad = 0
for prog, module in COMMANDS.items():
    main = importlib.import_module(f"wedgeds.commands.{module}").main
    for b, pat in want.items():
        f = {"adir": f"{tmp}/adir", "missing.nc": f"{tmp}/in/missing.nc"}.get(b, f"{tmp}/in/{b}")
        out = f"{tmp}/out-{module}-{b}"
        argv = [out + ".nc", f"{tmp}/good.nc", f] if module == "merge" else \
            [f] if module in ("summary", "hessian") else [f, "-o", out + ".png"]
        err, so = io.StringIO(), io.StringIO()
        rc, tb = None, ""
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(so):
            try:
                rc = main(argv)
            except SystemExit as e:
                rc = e.code
            except Exception:  # noqa: BLE001 -- what the test is after
                tb = traceback.format_exc()
        lines = err.getvalue().splitlines()
        wrote = [p for p in (out + ".nc", out + ".png") if os.path.exists(p)]
        if rc != 1 or tb or len(lines) != 1 or so.getvalue() or wrote or \
                not re.match(rf"^{prog}: {re.escape(f)}: {pat}", lines[0]):
            bad += 1
            print(f"FAIL: {prog} on {b}: exit {rc}, stderr {lines}, stdout {so.getvalue()[:80]!r}, "
                  f"wrote {wrote}{chr(10) + tb if tb else ''}")
print(f"{len(COMMANDS)} tools, e.g. {lines[0]}")
sys.exit(1 if bad else 0)
EOF
then
    ok "every tool x 8 bad inputs: exit 1, one line 'wedge-<tool>: FILE: problem', no traceback, no output"
    sed 's/^/    /' "$tmp/inproc.txt"
else
    fail "tools on bad inputs:"; sed 's/^/    /' "$tmp/inproc.txt"
fi
nbad=0
for t in summary merge plot-fig2 plot-fig3 plot-fig4 plot-fig5 plot-fig6 plot-intrinsic \
         plot-toy-hyperplane plot-toy-near-zero plot-learning hessian plot-density; do
    if [ "$t" = merge ]; then args=("$tmp/x.nc" "$tmp/good.nc" "$tmp/in/half.nc")
    else args=("$tmp/in/half.nc"); fi
    "$PYTHON3" "$TOOLS/$t.py" "${args[@]}" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if [ $rc -ne 1 ] || [ "$(wc -l <"$tmp/err")" -ne 1 ] || [ -s "$tmp/out" ] ||
            ! grep -q "^wedge-$t: $tmp/in/half.nc: cannot be read as NetCDF" "$tmp/err"; then
        fail "tools/$t.py on a truncated file: exit $rc:"; sed 's/^/    /' "$tmp/err" | head -5
        nbad=$((nbad + 1))
    fi
done
[ $nbad -eq 0 ] && ok "the 13 scripts on a truncated output: exit 1, one line each"

# ---- wedge-merge: every input checked before anything is written
merge() { "$PYTHON3" "$TOOLS/merge.py" "$@"; }
sed 's/seed: 3/seed: 4/' "$tmp/s.yaml" >"$tmp/t.yaml"
sed 's/range: \[0, 4\]/range: [0, 3]/' "$tmp/s.yaml" >"$tmp/u.yaml"
"$WEDGE" run "$tmp/t.yaml" -o "$tmp/other.nc" --quiet >/dev/null 2>&1 || fail "wedge run t.yaml"
"$WEDGE" run "$tmp/u.yaml" -o "$tmp/fewer.nc" --quiet >/dev/null 2>&1 || fail "wedge run u.yaml"
# same sweep_sha256 but fewer tasks: a hand-made mismatch (the hash decides the sweep)
"$PYTHON3" - "$tmp/fewer.nc" "$tmp/good.nc" <<'EOF'
import sys, netCDF4
with netCDF4.Dataset(sys.argv[2]) as g, netCDF4.Dataset(sys.argv[1], "a") as f:
    f.sweep_sha256 = g.sweep_sha256
EOF
mkdir "$tmp/m"
for case in "other.nc:different sweep" "fewer.nc:3 tasks, .* has 4" "in/head100.nc:truncated"; do
    f=${case%%:*} pat=${case#*:}
    merge "$tmp/m/out.nc" "$tmp/good.nc" "$tmp/good.nc" "$tmp/$f" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    left=$(ls -A "$tmp/m")
    if [ $rc -eq 1 ] && grep -qE "^wedge-merge: $tmp/$f: .*$pat" "$tmp/err" && [ -z "$left" ]; then
        ok "merge refuses $f (last input) and writes nothing: $(cat "$tmp/err")"
    else
        fail "merge with $f last: exit $rc, left in the output directory: '$left'"; cat "$tmp/err"
    fi
done

# ---- wedge-merge: a done row wins over a failed or pending one, from any input
"$PYTHON3" - "$tmp/good.nc" "$tmp" <<'EOF'
import shutil, sys
import netCDF4, numpy as np
good, tmp = sys.argv[1:3]
with netCDF4.Dataset(good) as g:
    st = g["status"]
    code = dict(zip(st.flag_meanings.split(), np.atleast_1d(st.flag_values).tolist()))
# a: task 0 failed (with a scrambled row), task 1 pending, tasks 2, 3 done
# b: task 0 done, task 1 done, task 2 pending (scrambled), task 3 failed (scrambled)
for name, rows in (("a.nc", {0: "failed", 1: "pending"}), ("b.nc", {2: "pending", 3: "failed"})):
    shutil.copyfile(good, f"{tmp}/{name}")
    with netCDF4.Dataset(f"{tmp}/{name}", "a") as d:
        d.set_auto_mask(False)
        for t, s in rows.items():
            d["status"][t] = code[s]
            d["train_loss"][t, :] = 99.0
            d["test_accuracy"][t, :] = -1.0
EOF
if merge "$tmp/ab.nc" "$tmp/a.nc" "$tmp/b.nc" >"$tmp/ab.log" 2>&1 &&
        "$PYTHON3" "$top_srcdir/tests/mpi/compare.py" "$tmp/good.nc" "$tmp/ab.nc" >"$tmp/cmp" 2>&1 &&
        grep -q "ab.nc: 4 tasks: 4 done" "$tmp/ab.log"; then
    ok "merge a.nc b.nc: task 0 failed in the first input and done in the second: the done row ($(tail -1 "$tmp/ab.log"))"
else
    fail "merge a.nc b.nc != the complete run:"; sed 's/^/    /' "$tmp/ab.log" "$tmp/cmp"
fi
if merge "$tmp/ba.nc" "$tmp/b.nc" "$tmp/a.nc" >"$tmp/ba.log" 2>&1 &&
        "$PYTHON3" "$top_srcdir/tests/mpi/compare.py" "$tmp/good.nc" "$tmp/ba.nc" >"$tmp/cmp" 2>&1; then
    ok "merge b.nc a.nc: the same, whatever the order"
else
    fail "merge b.nc a.nc != the complete run:"; sed 's/^/    /' "$tmp/ba.log" "$tmp/cmp"
fi
# a tie (both done, different numbers): the earlier input's row
"$PYTHON3" - "$tmp" <<'EOF'
import shutil, sys, netCDF4
tmp = sys.argv[1]
shutil.copyfile(f"{tmp}/good.nc", f"{tmp}/c.nc")
with netCDF4.Dataset(f"{tmp}/c.nc", "a") as d:
    d["train_loss"][1, 0] = 42.0
EOF
merge "$tmp/tie.nc" "$tmp/c.nc" "$tmp/good.nc" >/dev/null 2>&1
t1=$("$PYTHON3" -c 'import sys, netCDF4; print(float(netCDF4.Dataset(sys.argv[1])["train_loss"][1, 0]))' "$tmp/tie.nc" 2>&1)
[ "$t1" = 42.0 ] && ok "merge: on a tie the earlier input's row" || fail "merge tie: train_loss[1, 0] = $t1, want 42.0"

# ---- wedge-merge: --force, atomically; never an input as output
cp "$tmp/other.nc" "$tmp/exists.nc"
merge "$tmp/exists.nc" "$tmp/a.nc" "$tmp/b.nc" >/dev/null 2>"$tmp/err"; rc=$?
if [ $rc -eq 1 ] && grep -q 'exists (pass --force' "$tmp/err" && cmp -s "$tmp/exists.nc" "$tmp/other.nc"; then
    ok "merge: an existing output is left alone without --force"
else
    fail "merge onto an existing output without --force: exit $rc"; cat "$tmp/err"
fi
if merge --force "$tmp/exists.nc" "$tmp/a.nc" "$tmp/b.nc" >/dev/null 2>&1 &&
        "$PYTHON3" "$top_srcdir/tests/mpi/compare.py" "$tmp/good.nc" "$tmp/exists.nc" >/dev/null 2>&1 &&
        [ -z "$(ls -A "$tmp" | grep '\.tmp$')" ]; then
    ok "merge --force replaces it with the merged file, no temporary file left"
else
    fail "merge --force"
fi
merge "$tmp/a.nc" "$tmp/a.nc" "$tmp/b.nc" >/dev/null 2>"$tmp/err"; rc=$?
[ $rc -eq 2 ] && grep -q 'must not be one of the inputs' "$tmp/err" &&
    ok "merge: the output must not be an input" || fail "merge onto an input: exit $rc: $(cat "$tmp/err")"

if [ $nfail -ne 0 ]; then
    echo "test_badfiles: $nfail check(s) failed"
    exit 1
fi
echo "test_badfiles: all checks passed"
exit 0
