#!/usr/bin/env bash
# test_orthogonality.sh: tools/orthogonality.py (wedge-orthogonality), cosines
# between the final vectors and the training directions of different seeds.
#
# Runs, with one wedge process each:
#   mlp     2 learning rates x 3 seeds, 3 epochs, snapshots at epochs 1, 2 (and 3)
#   toy     the toy wedge model (D = 200, n = 20), 4 seeds, snapshots 1, 2 (and 4)
#   single  2 learning rates, no seed swept (one training per setting)
#   final   3 seeds, no train.snapshots (only the final vector)
# then checks:
#   - mlp and toy, --digits 12, default (last two snapshots) and --between 1 3
#     (mlp) / 1 2 (toy): every printed mean, min, max cosine, mean and max
#     |cos| sqrt(D), fraction outside +-1.96/sqrt(D) and 1/sqrt(D) of (a) final
#     vectors, (b) directions P_E2 - P_E1 of two seeds, (c) P_E2 - P_E1 against
#     P_E2, per setting, and every training's |P0|, |d| and cos(d, P_E2), equal a
#     direct numpy computation from the file's params (float64, to 1e-9);
#   - a PNG (> 10 kB) at the default path <name>-orthogonality.png;
#   - single: exit 2 naming the file and "no setting has 2 done trainings";
#     final: exit 2 "keeps 1 snapshot", and --final-only prints (a) only, exit 0;
#     --between 1 9 (no such snapshot): exit 2; --between 3 1: exit 2.
# Uses $WEDGE, $top_srcdir, $PYTHON3 (tests/tools/lib.sh).  Exits 0 if every
# check passes, 1 otherwise.  ~10 s.
test_name=test_orthogonality
. "${top_srcdir:-.}/tests/tools/lib.sh"
ORTH=$TOOLS/orthogonality.py

data='data: {name: synthetic, synthetic_train: 300, synthetic_test: 100, synthetic_size: 12}
model: {arch: mlp, depth: 1, hidden: 16}'
cat >"$tmp/mlp.yaml" <<EOF
name: orthmlp
seed: 1
$data
train: {epochs: 3, batch_size: 32, snapshots: [1, 2]}
sweep:
  train.lr: [1.0e-3, 1.0e-2]
  seed: {range: [0, 3]}
EOF
cat >"$tmp/toy.yaml" <<'EOF'
name: orthtoy
seed: 1
model: {arch: toy, dim: 200, long: 20}
train: {optimizer: adam, lr: 0.05, epochs: 4, snapshots: [1, 2]}
sweep:
  seed: {range: [0, 4]}
EOF
cat >"$tmp/single.yaml" <<EOF
name: orthsingle
$data
train: {epochs: 2, batch_size: 32, snapshots: [1]}
sweep:
  train.lr: [1.0e-3, 1.0e-2]
EOF
cat >"$tmp/final.yaml" <<EOF
name: orthfinal
$data
train: {epochs: 2, batch_size: 32}
sweep:
  seed: {range: [0, 3]}
EOF
for s in mlp toy single final; do
    if ! "$WEDGE" run "$tmp/$s.yaml" -o "$tmp/$s.nc" --quiet >"$tmp/run-$s.log" 2>&1; then
        echo "FAIL: wedge run $s.yaml:"; sed 's/^/    /' "$tmp/run-$s.log"; exit 1
    fi
done

check() { # NC TXT E1 E2 (0 0: the last two snapshots)
    "$PYTHON3" - "$@" <<'EOF'
import math
import sys
import numpy as np
import netCDF4

nc, txt, e1, e2 = sys.argv[1], open(sys.argv[2]).read(), int(sys.argv[3]), int(sys.argv[4])


def tables(txt):
    out, cur = [], None
    for line in txt.splitlines():
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
            if cur is None:
                cur = {"hdr": cells, "rows": []}
                out.append(cur)
            elif not cells[0].startswith("---"):
                cur["rows"].append(dict(zip(cur["hdr"], cells)))
        else:
            cur = None
    return out


def close(a, b, tol=1e-9):
    return abs(float(a) - b) <= tol * max(1.0, abs(b))


def cos(a, b):
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


with netCDF4.Dataset(nc) as f:
    f.set_auto_mask(False)
    kind, seed, npar = f["kind"][:], f["seed"][:], f["nparams"][:]
    lr = f["lr"][:]
    se = f["snapshot_epoch"][:]
    P = f["params"][:].astype(np.float64)
    swept = [k.split(".")[-1] for k in f.swept_keys.split()]
train = np.flatnonzero(kind == 0)
groups = {}
for i in train:
    groups.setdefault(float(lr[i]) if "lr" in swept else None, []).append(i)
T = tables(txt)
if len(T) != 2:
    sys.exit(f"expected 2 tables, got {len(T)}\n{txt}")
summ, per = T
bad = []
hdr_lr = "lr" in summ["hdr"]
nrow = 0
for g, members in groups.items():
    D = int(npar[members[0]])
    vec = {}
    for i in members:
        ep = [int(e) for e in se[i] if e >= 0]
        a, b = (ep[-2], ep[-1]) if e1 == 0 else (e1, e2)
        v = {int(e): P[i, s, :D] for s, e in enumerate(se[i]) if e >= 0}
        vec[i] = (v[ep[-1]], v[b] - v[a], v[b], (a, b))
    pr = [(x, y) for k, x in enumerate(members) for y in members[k + 1:]]
    want = {"(a)": [cos(vec[x][0], vec[y][0]) for x, y in pr],
            "(b)": [cos(vec[x][1], vec[y][1]) for x, y in pr],
            "(c)": [cos(vec[x][1], vec[x][2]) for x in members]}
    rows = [r for r in summ["rows"] if not hdr_lr or float(r["lr"]) == g]
    if [r["cosines"][:3] for r in rows] != ["(a)", "(b)", "(c)"]:
        bad.append(f"setting {g}: rows {[r['cosines'] for r in rows]}")
        continue
    for r in rows:
        c = np.array(want[r["cosines"][:3]])
        s = abs(c) * math.sqrt(D)
        exp = {"n": c.size, "D": D, "seeds": len(members), "mean cos": c.mean(),
               "min cos": c.min(), "max cos": c.max(), r"mean \|cos\| sqrt(D)": s.mean(),
               r"max \|cos\| sqrt(D)": s.max(), "1/sqrt(D)": 1 / math.sqrt(D)}
        for k, v in exp.items():
            if not close(r[k], v):
                bad.append(f"setting {g} {r['cosines']}: {k} printed {r[k]} != numpy {v!r}")
        out = np.mean(abs(c) > 1.959963984540054 / math.sqrt(D))
        if abs(float(r["outside 95% band"]) - out) > 5e-4:
            bad.append(f"setting {g} {r['cosines']}: outside {r['outside 95% band']} != {out}")
        nrow += 1
    for i in members:
        r = [x for x in per["rows"] if int(x["task"]) == i]
        if len(r) != 1:
            bad.append(f"task {i}: {len(r)} rows in the per-training table")
            continue
        r = r[0]
        a, b = vec[i][3]
        if r["E1 -> E2"] != f"{a} -> {b}":
            bad.append(f"task {i}: E1 -> E2 {r['E1 -> E2']} != {a} -> {b}")
        for k, v in ((r"\|P0\|", np.linalg.norm(vec[i][0])), (r"\|d\|", np.linalg.norm(vec[i][1])),
                     ("cos(d, P_E2)", cos(vec[i][1], vec[i][2]))):
            if not close(r[k], v):
                bad.append(f"task {i}: {k} printed {r[k]} != numpy {v!r}")
if nrow != 3 * len(groups):
    bad.append(f"{nrow} summary rows checked, want {3 * len(groups)}")
if bad:
    sys.exit("\n".join(bad) + "\n" + txt)
a = [r for r in summ["rows"] if r["cosines"].startswith("(b)")][0]
col = r"mean \|cos\| sqrt(D)"
print(f"    e.g. (b): mean |cos| sqrt(D) {a[col]}, D {a['D']}")
EOF
}

png_ok() { # FILE: a PNG of more than 10 kB
    [ -f "$1" ] && [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] &&
        [ "$(wc -c <"$1")" -gt 10240 ]
}

for case in "mlp:0 0" "mlp:1 3" "toy:0 0" "toy:1 2"; do
    s=${case%%:*} b=${case#*:}
    args=()
    [ "$b" = "0 0" ] || args=(--between $b)
    if "$PYTHON3" "$ORTH" "$tmp/$s.nc" --digits 12 "${args[@]}" >"$tmp/o.txt" 2>"$tmp/o.err"; then
        if check "$tmp/$s.nc" "$tmp/o.txt" $b; then
            ok "$s ${args[*]:-(last two snapshots)}: tables = numpy from the file's params (1e-9)"
        else
            fail "$s ${args[*]}: tables vs numpy (above)"
        fi
    else
        fail "orthogonality.py $s.nc ${args[*]} exited $?"; sed 's/^/    /' "$tmp/o.err"
    fi
done
png=$tmp/orthmlp-orthogonality.png
png_ok "$png" && ok "default output $(basename "$png"), $(wc -c <"$png") bytes" ||
    fail "no PNG > 10 kB at $png"

refuse() { # PATTERN ARGS...: exit 2, one line naming PATTERN, no PNG
    local pat=$1
    shift
    "$PYTHON3" "$ORTH" "$@" -o "$tmp/refused.png" >/dev/null 2>"$tmp/r.err"
    local rc=$?
    if [ $rc -eq 2 ] && [ "$(wc -l <"$tmp/r.err")" -eq 1 ] && grep -q -- "$pat" "$tmp/r.err" &&
            [ ! -e "$tmp/refused.png" ]; then
        ok "refused ($(cat "$tmp/r.err"))"
    else
        fail "$* : exit $rc, want 2 with one line matching '$pat'"; sed 's/^/    /' "$tmp/r.err"
    fi
}
refuse "^wedge-orthogonality: $tmp/single.nc: no setting has 2 done trainings" "$tmp/single.nc"
refuse "^wedge-orthogonality: $tmp/final.nc: .*keeps 1 snapshot" "$tmp/final.nc"
refuse "no snapshot at epoch 9" "$tmp/mlp.nc" --between 1 9
refuse "E1 < E2" "$tmp/mlp.nc" --between 3 1
if "$PYTHON3" "$ORTH" "$tmp/final.nc" --final-only -o "$tmp/final.png" >"$tmp/f.txt" 2>"$tmp/f.err" &&
        [ "$(grep -c '^| (' "$tmp/f.txt")" -eq 1 ] && grep -q '^| (a) final' "$tmp/f.txt" &&
        png_ok "$tmp/final.png"; then
    ok "final --final-only: (a) only, exit 0"
else
    fail "final --final-only"; sed 's/^/    /' "$tmp/f.err" "$tmp/f.txt"
fi

[ $nfail = 0 ] && echo "PASS: $test_name" || echo "FAIL: $test_name ($nfail)"
[ $nfail = 0 ]
