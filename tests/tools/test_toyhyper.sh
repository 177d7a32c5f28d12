#!/usr/bin/env bash
# test_toyhyper.sh: random-hyperplane optimisation on the toy model end to end --
# a tiny toy-hyperplane sweep under mpirun (3 ranks), then
# tools/plot-toy-hyperplane.py on its output.
#
# The sweep: (D, n) = (20, 5) and (30, 12) zipped, seeds 0..3, d = D - n + offset
# for offsets -3, -1, 0, 1, 3 (8 toy trainings, 40 hyperplane tasks).  Checks:
#   - every task is done; the file has dim and long as coordinates of every row;
#   - in the file, subspace_success == (subspace_loss_ratio <= 1e-6) row by row, and
#     subspace_d == dim - long + offset;
#   - the tool exits 0, writes a PNG at its default path, and its threshold table
#     gives, for each (D, n), a measured threshold equal to D - n and "yes";
#   - its per-d table equals the file: runs, successes and the median ratio (to
#     the 3 significant digits printed) recomputed with netCDF4 and numpy;
#   - the toy trainings' near_zero counts are in [0, D] and every successful
#     hyperplane row has at least D - n near-zero coordinates;
#   - errors: a toy output without subspace rows, and a missing file, exit 2 with
#     a message and no PNG.
# And tools/plot-toy-near-zero.py on a tiny toy connector sweep (D = 30, n = 5,
# 4 seeds, m = 1 with 3 points, 2, 3): exit 0, a PNG, and its table (m = 0..3)
# equals the file's near_zero / connector_near_zero (m = 1: mean over the points),
# and its "which wedge" table along the 1-connector equals the fraction of each
# point's D - n smallest |P_j| not among O1's / O2's, recomputed here from params
# and connector_x (0 at the end compared with, by construction).
# Uses $WEDGE (default ./wedge), $top_srcdir (default .), $PYTHON3 (default
# /usr/bin/python3).  Exits 0 if every check passes, 1 otherwise.  ~10 s.
test_name=test_toyhyper
. "${top_srcdir:-.}/tests/tools/lib.sh"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

command -v mpirun >/dev/null 2>&1 || { echo "FAIL: mpirun not found"; exit 1; }

cat >"$tmp/hyp.yaml" <<'EOF'
name: toyhyp
seed: 3
model: {arch: toy, dim: 20, long: 5}
train: {lr: 0.05, epochs: 2}
sweep:
  zip: {model.dim: [20, 30], model.long: [5, 12]}
  seed: {range: [0, 4]}
probes:
  subspace: {offsets: [-3, -1, 0, 1, 3]}
EOF
cat >"$tmp/nosub.yaml" <<'EOF'
name: toynosub
model: {arch: toy, dim: 20, long: 5}
train: {lr: 0.05, epochs: 1}
sweep:
  seed: [0, 1]
EOF

if ! timeout -k 5 60 mpirun --allow-run-as-root --oversubscribe -np 3 "$WEDGE" run \
        "$tmp/hyp.yaml" -o "$tmp/hyp.nc" --quiet >"$tmp/run.log" 2>&1; then
    echo "FAIL: mpirun -np 3 wedge run hyp.yaml:"; sed 's/^/    /' "$tmp/run.log"; exit 1
fi
ok "mpirun -np 3 wedge run hyp.yaml"
cat >"$tmp/conn.yaml" <<'EOF'
name: toyconn
model: {arch: toy, dim: 30, long: 5}
train: {lr: 0.05, epochs: 5}
sweep:
  seed: {range: [0, 4]}
connectors: {m: [1, 2, 3], points: 3, steps: 30, lr: 0.05, eval_points: 3}
EOF
if ! "$WEDGE" run "$tmp/conn.yaml" -o "$tmp/conn.nc" --quiet >"$tmp/run3.log" 2>&1; then
    echo "FAIL: wedge run conn.yaml:"; sed 's/^/    /' "$tmp/run3.log"; exit 1
fi
if ! "$WEDGE" run "$tmp/nosub.yaml" -o "$tmp/nosub.nc" --quiet >"$tmp/run2.log" 2>&1; then
    echo "FAIL: wedge run nosub.yaml:"; sed 's/^/    /' "$tmp/run2.log"; exit 1
fi

# ---- the file itself
if "$PYTHON3" - "$tmp/hyp.nc" >"$tmp/file.txt" 2>&1 <<'EOF'; then
import sys, netCDF4, numpy as np
ds = netCDF4.Dataset(sys.argv[1])
ds.set_auto_mask(False)
g = lambda v: np.asarray(ds[v][:])
K = dict(zip(ds["kind"].flag_meanings.split(), ds["kind"].flag_values))
status, kind = g("status"), g("kind")
assert (status == 1).all(), f"not all done: {status}"
assert (kind == K["train"]).sum() == 8 and (kind == K["subspace"]).sum() == 40, kind
coords = ds["status"].getncattr("coordinates").split()
assert "dim" in coords and "long" in coords, coords
D, n, d = g("dim"), g("long"), g("subspace_d")
sub = kind == K["subspace"]
ok, ratio = g("subspace_success")[sub], g("subspace_loss_ratio")[sub]
assert (ok == (ratio <= 1e-6)).all(), (ok, ratio)
off = (d - (D - n))[sub]
assert sorted(set(off.astype(int))) == [-3, -1, 0, 1, 3], off
nz = g("near_zero")[kind == K["train"]]
assert ((nz >= 0) & (nz <= D[kind == K["train"]])).all(), nz
snz = g("subspace_near_zero")[sub]
need = (D - n)[sub]
assert (snz[ok == 1] >= need[ok == 1]).all(), (snz, need)
print("file ok")
EOF
    ok "file: all done, dim/long coordinates, success == ratio <= 1e-6, d = D - n + offset, near-zero counts"
else
    fail "file checks"; sed 's/^/    /' "$tmp/file.txt"
fi

# ---- the tool
png=$tmp/toyhyp-hyperplane.png
if "$PYTHON3" "$TOOLS/plot-toy-hyperplane.py" "$tmp/hyp.nc" >"$tmp/tool.txt" 2>"$tmp/tool.err"; then
    ok "plot-toy-hyperplane.py hyp.nc"
else
    fail "plot-toy-hyperplane.py hyp.nc exited $?"; sed 's/^/    /' "$tmp/tool.err"
fi
if [ -f "$png" ] && [ "$(head -c 8 "$png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] &&
        [ "$(wc -c <"$png")" -gt 10240 ]; then
    ok "default output $(basename "$png") is a PNG of $(wc -c <"$png") bytes"
else
    fail "no PNG at $png"
fi
for pair in "20 5" "30 12"; do
    set -- $pair
    want="| $1 | $2 | $(($1 - $2)) | $(($1 - $2)) | +0 | yes |"
    if grep -qF -- "$want" "$tmp/tool.txt"; then
        ok "threshold D=$1 n=$2: measured $(($1 - $2)) = D - n"
    else
        fail "threshold row for D=$1 n=$2 is not '$want'"; grep -F "| $1 | $2 |" "$tmp/tool.txt" | tail -1
    fi
done
if "$PYTHON3" - "$tmp/hyp.nc" "$tmp/tool.txt" >"$tmp/cmp.txt" 2>&1 <<'EOF'; then
import sys, netCDF4, numpy as np
ds = netCDF4.Dataset(sys.argv[1])
ds.set_auto_mask(False)
g = lambda v: np.asarray(ds[v][:])
K = dict(zip(ds["kind"].flag_meanings.split(), ds["kind"].flag_values))
sub = g("kind") == 5
D, n, d = g("dim")[sub], g("long")[sub], g("subspace_d")[sub]
ok, ratio = g("subspace_success")[sub], g("subspace_loss_ratio")[sub]
want = {}
for key in sorted(set(zip(D.astype(int), n.astype(int), d.astype(int)))):
    m = (D == key[0]) & (n == key[1]) & (d == key[2])
    want[key] = (int(m.sum()), int(ok[m].sum()), f"{np.median(ratio[m]):.3g}")
got = {}
for line in open(sys.argv[2]):
    f = [x.strip() for x in line.strip().strip("|").split("|")]
    if len(f) == 9 and f[0].isdigit():
        got[(int(f[0]), int(f[1]), int(f[3]))] = (int(f[5]), int(f[6]), f[8])
assert got == want, f"tool {got}\nfile {want}"
print(f"{len(want)} rows agree")
EOF
    ok "per-d table equals the file ($(cat "$tmp/cmp.txt"))"
else
    fail "per-d table differs from the file"; sed 's/^/    /' "$tmp/cmp.txt"
fi

# ---- errors
for case in nosub missing; do
    f=$tmp/$case.nc
    "$PYTHON3" "$TOOLS/plot-toy-hyperplane.py" "$f" -o "$tmp/$case.png" >"$tmp/e.out" 2>"$tmp/e.err"
    rc=$?
    want=2; [ "$case" = missing ] && want=1   # a bad file is an error, no data is not
    if [ "$rc" -eq "$want" ] && [ -s "$tmp/e.err" ] && [ ! -e "$tmp/$case.png" ] &&
            grep -q "^wedge-plot-toy-hyperplane: " "$tmp/e.err"; then
        ok "$case: exit $want: $(head -1 "$tmp/e.err")"
    else
        fail "$case: exit $rc, stderr: $(head -2 "$tmp/e.err")"
    fi
done

# ---- near-zero counts against m
if "$PYTHON3" "$TOOLS/plot-toy-near-zero.py" "$tmp/conn.nc" >"$tmp/nz.txt" 2>"$tmp/nz.err" &&
        [ -s "$tmp/toyconn-near-zero.png" ]; then
    ok "plot-toy-near-zero.py conn.nc wrote toyconn-near-zero.png"
else
    fail "plot-toy-near-zero.py conn.nc"; sed 's/^/    /' "$tmp/nz.err"
fi
if "$PYTHON3" - "$tmp/conn.nc" "$tmp/nz.txt" >"$tmp/nzcmp.txt" 2>&1 <<'EOF'; then
import sys, netCDF4, numpy as np
ds = netCDF4.Dataset(sys.argv[1])
ds.set_auto_mask(False)
g = lambda v: np.asarray(ds[v][:])
K = dict(zip(ds["kind"].flag_meanings.split(), ds["kind"].flag_values))
kind = g("kind")
want = {0: [float(x) for x in g("near_zero")[kind == K["train"]]]}
for m, row in zip(g("connector_m")[kind == K["connect"]], g("connector_near_zero")[kind == K["connect"]]):
    v = row[row >= 0]
    want.setdefault(int(m), []).append(float(v.mean()) if m == 1 else float(v[0]))
assert len(want[0]) == 4 and sorted(want) == [0, 1, 2, 3], want
got = {}
for line in open(sys.argv[2]):
    f = [x.strip() for x in line.strip().strip("|").split("|")]
    if len(f) == 8 and f[0].isdigit() and f[1].isdigit():  # not the shape table
        assert (f[0], f[1], f[2]) == ("30", "5", "25"), f
        got[int(f[3])] = (int(f[4]), f[5], f[6], f[7])
exp = {m: (len(v), f"{np.mean(v):.1f}", f"{min(v):.4g}", f"{max(v):.4g}")
       for m, v in want.items()}
assert got == exp, f"tool {got}\nfile {exp}"
print(f"m = {sorted(got)} agree")
EOF
    ok "near-zero table equals the file ($(cat "$tmp/nzcmp.txt"))"
else
    fail "near-zero table differs from the file"; sed 's/^/    /' "$tmp/nzcmp.txt"
fi

# ---- which wedge along the 1-connector
if "$PYTHON3" - "$tmp/conn.nc" "$tmp/nz.txt" >"$tmp/wcmp.txt" 2>&1 <<'EOF'; then
import sys, netCDF4, numpy as np
ds = netCDF4.Dataset(sys.argv[1])
ds.set_auto_mask(False)
g = lambda v: np.asarray(ds[v][:])
K = dict(zip(ds["kind"].flag_meanings.split(), ds["kind"].flag_values))
kind, task = g("kind"), g("task")
rows = {}
for line in open(sys.argv[2]):
    f = [x.strip() for x in line.strip().strip("|").split("|")]
    if len(f) == 3 and f[0].isdigit():
        rows[int(f[0])] = ([float(v) for v in f[1].split()], [float(v) for v in f[2].split()])
c = [i for i in np.flatnonzero(kind == K["connect"]) if g("connector_m")[i] == 1]
assert len(c) == 1 and list(rows) == [int(task[c[0]])], (c, rows)
i = c[0]
short = int(g("dim")[i]) - int(g("long")[i])
ends = [g("params")[int(np.flatnonzero(task == t)[0]), -1] for t in g("connector_optima")[i] if t >= 0]
pts = [ends[0]] + list(g("connector_x")[i]) + [ends[1]]
S = [set(np.argsort(np.abs(p.astype(float)), kind="stable")[:short]) for p in pts]
want = [[round(1 - len(s & e) / short, 2) for s in S] for e in (S[0], S[-1])]
got = rows[int(task[i])]
assert len(got[0]) == len(pts) == 5, got
assert all(abs(a - b) <= 0.0051 for w, h in zip(want, got) for a, b in zip(w, h)), (want, got)
assert got[0][0] == 0 and got[1][-1] == 0 and max(got[0]) > 0, got
print(f"{len(pts)} points, vs O1 {got[0]}, vs O2 {got[1]}")
EOF
    ok "which-wedge table equals the recomputation ($(cat "$tmp/wcmp.txt"))"
else
    fail "which-wedge table"; sed 's/^/    /' "$tmp/wcmp.txt"
fi

[ "$nfail" -eq 0 ] && { echo "test_toyhyper: all checks passed"; exit 0; }
echo "test_toyhyper: $nfail check(s) failed"
exit 1
