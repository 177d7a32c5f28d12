#!/usr/bin/env bash
# test_intrinsic.sh: tools/plot-intrinsic.py and the wedgeds helpers behind it
# (subspace_frame, d_int, intrinsic_dims, median_inf): intrinsic dimension d_int90
# from random-subspace training.
#
# 1. The finder on hand-built curves (no wedge): a crossing between two sampled d's
#    (sampled d and the log-linear interpolation, to 1e-9), an exact hit of the
#    target, a curve already above the target at its smallest d (an upper bound),
#    one that never reaches it, unsorted input with a NaN; the median over seeds
#    with "not reached" counted as infinite; intrinsic_dims' per-training target and
#    completeness on a hand-built frame.
# 2. A tiny sweep run through mpirun (3 ranks): an MLP of 2 widths on synthetic
#    data, 3 seeds, subspaces of 5 dimensions at the initialisation (36 tasks).
#    Checks: every subspace row's source_task is the training with its seed and
#    width; the printed accuracy-against-d table equals the file's
#    subspace_test_accuracy and the trainings' last-epoch test_accuracy; the
#    printed sampled d_int90 of every seed equals the smallest d in the file (read
#    with netCDF4) whose accuracy reaches 0.9 x its training's; a valid PNG.
# 3. A copy of that output with hand-set accuracies (netCDF4): seed 0 crosses
#    between d = 4 and 16 (known interpolation), seed 1 never reaches, seed 2
#    reaches at the smallest d; the printed tables and the per-group median/range
#    must match.
# 4. Errors: an output without subspace rows, a missing file, --fraction 0 (exit
#    2, a message, no PNG); --help (exit 0).
# 5. The subspace learning rate lr * sqrt(lr_ref_d / d): a scaled and an unscaled
#    rate that are equal give bitwise equal losses; a different rate does not.
# Uses $WEDGE (default ./wedge), $top_srcdir (default .), $PYTHON3 (default
# /usr/bin/python3).  Exits 0 if every check passes, 1 otherwise.  ~15 s.
test_name=test_intrinsic
. "${top_srcdir:-.}/tests/tools/lib.sh"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
PLOT=$TOOLS/plot-intrinsic.py

png_ok() { # FILE: a PNG of more than 10 kB
    [ -f "$1" ] && [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] &&
        [ "$(wc -c <"$1")" -gt 10240 ]
}

# ---- 1. the finder on hand-built curves
if "$PYTHON3" - "$TOOLS" <<'EOF'
import math, sys
sys.path.insert(0, sys.argv[1])
import numpy as np
import pandas as pd
import wedgeds

bad = []
def check(what, got, want):
    if isinstance(want, float) and (math.isnan(want) or math.isinf(want)):
        same = (math.isnan(want) and math.isnan(got)) or got == want
    elif isinstance(want, float):
        same = abs(got - want) <= 1e-9 * max(1.0, abs(want))
    else:
        same = got == want
    if not same:
        bad.append(f"{what}: {got!r} != {want!r}")

inf, nan = float("inf"), float("nan")
r = wedgeds.d_int([10, 100, 1000], [0.5, 0.7, 0.9], 0.8)
check("crossing: sampled", r["sampled"], 1000.0)
check("crossing: interpolated", r["interpolated"], 10 ** 2.5)   # halfway in accuracy
check("crossing: bracket", (r["lower"], r["upper"]), (100.0, 1000.0))
check("crossing: flags", (r["reached"], r["below_range"]), (True, False))
r = wedgeds.d_int([1000, 10, 100, 300], [0.9, 0.5, 0.6, nan], 0.75)  # unsorted, a NaN
check("unsorted: sampled", r["sampled"], 1000.0)
check("unsorted: interpolated", r["interpolated"], math.exp(math.log(100) + 0.5 * math.log(10)))
r = wedgeds.d_int([10, 100, 1000], [0.5, 0.8, 0.7], 0.8)   # exactly the target: reached
check("exact hit", (r["sampled"], r["interpolated"]), (100.0, 100.0))
r = wedgeds.d_int([10, 100, 1000], [0.85, 0.6, 0.9], 0.8)  # above at the smallest d
check("below range", (r["sampled"], r["interpolated"], r["below_range"]), (10.0, 10.0, True))
check("below range: lower", r["lower"], nan)
r = wedgeds.d_int([10, 100, 1000], [0.5, 0.6, 0.79], 0.8)
check("not reached", (r["sampled"], r["interpolated"], r["reached"], r["lower"]),
      (inf, inf, False, 1000.0))
r = wedgeds.d_int([10, 100], [0.5, 0.9], nan)
check("no target", (r["reached"], math.isnan(r["sampled"])), (False, True))
check("median odd", wedgeds.median_inf([300, 100, inf]), 300.0)
check("median even", wedgeds.median_inf([100, 300]), 200.0)
check("median even inf", wedgeds.median_inf([100, inf]), inf)
check("median NaN left out", wedgeds.median_inf([100, nan, 300, 200]), 200.0)

# a hand-built subspace frame: two trainings, one with a pending row
sf = pd.DataFrame({
    "task_id": [2, 3, 4, 5, 6, 7], "status": ["done"] * 5 + ["pending"],
    "source_task": [0, 0, 0, 1, 1, 1], "seed": [0.0, 0, 0, 1, 1, 1],
    "d": [10.0, 100, 1000, 10, 100, 1000],
    "subspace_epochs": 3.0, "subspace_train_loss": 0.0, "subspace_train_accuracy": 0.0,
    "subspace_test_loss": 0.0,
    "subspace_test_accuracy": [0.4, 0.7, 0.8, 0.5, 0.85, nan],
    "direct_status": "done", "direct_test_accuracy": [0.8, 0.8, 0.8, 0.9, 0.9, 0.9]})
sf["ratio"] = sf.subspace_test_accuracy / sf.direct_test_accuracy
dims = wedgeds.intrinsic_dims(sf).set_index("source_task")
check("frame: targets", list(dims.target.round(12)), [0.72, 0.81])
check("frame: seed 0", (dims.sampled[0], dims.lower[0]), (1000.0, 100.0))
check("frame: seed 0 interp", dims.interpolated[0],
      math.exp(math.log(100) + (0.72 - 0.7) / (0.8 - 0.7) * math.log(10)))
check("frame: seed 1 (pending row left out)", dims.sampled[1], 100.0)
check("frame: complete", list(dims.complete), [True, False])
check("frame: d done", list(dims.n_dims), [3, 2])
check("frame: seed column kept", list(dims.seed), [0.0, 1.0])
if bad:
    sys.exit("\n".join(bad))
EOF
then
    ok "finder: crossing/interpolation, exact hit, below range, not reached, medians, frame"
else
    fail "finder on hand-built curves (above)"
fi

# ---- 2. a tiny sweep through mpirun
cat >"$tmp/tiny.yaml" <<EOF
name: intrinsic-tiny
seed: 1
data: {name: synthetic, synthetic_train: 600, synthetic_test: 200, synthetic_size: 16}
model: {arch: mlp, depth: 1, hidden: 16}
train: {optimizer: adam, lr: 3.0e-3, batch_size: 50, epochs: 3}
sweep:
  model.hidden: [16, 32]
  seed: {range: [0, 3]}
probes:
  subspace: {dims: [4, 16, 64, 256, 1024], epochs: 3, lr: 3.0e-2}
EOF
if ! timeout -k 5 120 mpirun --allow-run-as-root --oversubscribe -np 3 "$WEDGE" run \
        "$tmp/tiny.yaml" -o "$tmp/tiny.nc" --quiet >"$tmp/run.log" 2>&1; then
    echo "FAIL: mpirun -np 3 wedge run tiny.yaml:"; sed 's/^/    /' "$tmp/run.log"; exit 1
fi
if "$PYTHON3" "$PLOT" "$tmp/tiny.nc" >"$tmp/tiny.txt" 2>"$tmp/tiny.err"; then
    ok "plot-intrinsic.py tiny.nc: $(cat "$tmp/tiny.err")"
else
    fail "plot-intrinsic.py tiny.nc exited $?"; sed 's/^/    /' "$tmp/tiny.err"
fi
png=$tmp/intrinsic-tiny-intrinsic.png  # the default: <title>-intrinsic.png beside the input
if png_ok "$png"; then
    ok "default output $(basename "$png") is a PNG of $(wc -c <"$png") bytes"
else
    fail "no valid PNG > 10 kB at $png"; ls -l "$tmp"
fi

# tables(TEXT) in Python: the markdown tables of the tool's output
cat >"$tmp/tables.py" <<'EOF'
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
EOF

if "$PYTHON3" - "$tmp/tiny.nc" "$tmp/tiny.txt" "$tmp" <<'EOF'
import sys
import numpy as np
import netCDF4
sys.path.insert(0, sys.argv[3])
from tables import tables

bad = []
with netCDF4.Dataset(sys.argv[1]) as f:
    f.set_auto_mask(False)
    kind, status, src = f["kind"][:], f["status"][:], f["source_task"][:]
    # kind codes from the file itself (flag_values / flag_meanings)
    K = dict(zip(f["kind"].flag_meanings.split(), f["kind"].flag_values))
    seed, hidden, epochs = f["seed"][:], f["hidden"][:], f["epochs"][:]
    sd, sacc = f["subspace_d"][:], f["subspace_test_accuracy"][:]
    tacc = f["test_accuracy"][:]
if not (status == 1).all():
    sys.exit(f"not every task done: status {status}")
train = np.flatnonzero(kind == K["train"])
sub = np.flatnonzero(kind == K["subspace"])
if len(train) != 6 or len(sub) != 30:
    sys.exit(f"expected 6 trainings and 30 subspace tasks, got {len(train)}, {len(sub)}")
# the join: each subspace row names the training with its seed and width
for i in sub:
    j = int(src[i])
    if kind[j] != 0 or seed[j] != seed[i] or hidden[j] != hidden[i]:
        bad.append(f"subspace task {i}: source_task {j} (seed {seed[j]}, hidden {hidden[j]}) "
                   f"is not its training (seed {seed[i]}, hidden {hidden[i]})")
direct = {int(j): float(tacc[j, int(epochs[j]) - 1]) for j in train}
# d_int90 by hand: the smallest d whose accuracy reaches 0.9 x the direct accuracy
# (up to a relative 1e-9: accuracies are counts over 200 images, and exactly 90%
# of one must count although 0.9 x it is rounded)
want = {}
for j in train:
    rows = sorted((int(sd[i]), float(sacc[i])) for i in sub if src[i] == j)
    hit = [d for d, a in rows if a >= 0.9 * direct[j] * (1 - 1e-9)]
    want[(int(hidden[j]), int(seed[j]))] = str(hit[0]) if hit else "not reached"
T = tables(open(sys.argv[2]).read())
if len(T) != 3:
    sys.exit(f"expected 3 tables, got {len(T)}")
acc, per, summ = T
got = {(int(r["hidden"]), int(r["seed"])): r["d_int90 (sampled)"] for r in per["rows"]}
if got != want:
    bad.append(f"d_int90 per seed: tool {got} != file {want}")
for r in per["rows"]:
    j = int(r["training task"])
    if abs(float(r["direct acc"]) - direct[j]) > 5e-5:
        bad.append(f"training {j}: direct acc {r['direct acc']} != file {direct[j]:.5f}")
n = 0
for r in acc["rows"]:
    h = int(r["hidden"])
    for s in range(3):
        j = [t for t in train if hidden[t] == h and seed[t] == s][0]
        cell = float(r[f"seed {s}"])
        if r["d"] == "direct":
            exp = direct[j]
        elif r["d"].startswith("target"):
            exp = 0.9 * direct[j]
        else:
            exp = [float(sacc[i]) for i in sub if src[i] == j and sd[i] == int(r["d"])][0]
            n += 1
        if abs(cell - exp) > 5e-5:
            bad.append(f"hidden {h} seed {s} d {r['d']}: printed {cell} != file {exp:.5f}")
if n != 30:
    bad.append(f"accuracy table: {n} subspace cells, want 30")
if [r["hidden"] for r in summ["rows"]] != ["16", "32"] or \
        any(r["seeds"] != "3" for r in summ["rows"]):
    bad.append(f"summary rows {summ['rows']}")
if bad:
    sys.exit("\n".join(bad))
print(" ".join(f"h{k[0]}/s{k[1]}:{v}" for k, v in sorted(want.items())))
EOF
then
    ok "tiny sweep: source_task joins, accuracy table and d_int90 per seed = the file's"
else
    fail "tiny sweep tables vs the file (above)"; sed 's/^/    /' "$tmp/tiny.txt"
fi

# ---- 3. hand-set accuracies in a copy of that output
cp "$tmp/tiny.nc" "$tmp/known.nc"
if "$PYTHON3" - "$tmp/known.nc" <<'EOF'
import sys
import numpy as np
import netCDF4
# accuracies per (hidden, seed) at d = 4, 16, 64, 256, 1024; direct accuracy 0.8 (target 0.72)
curves = {(16, 0): [0.5, 0.6, 0.84, 0.9, 0.9],     # crosses between 16 and 64
          (16, 1): [0.1, 0.2, 0.3, 0.5, 0.71],     # never reaches 0.72
          (16, 2): [0.75, 0.7, 0.8, 0.8, 0.8],     # reaches at the smallest d
          (32, 0): [0.1, 0.3, 0.5, 0.72, 0.8],     # exactly the target at 256
          (32, 1): [0.1, 0.2, 0.5, 0.6, 0.9],      # crosses between 256 and 1024
          (32, 2): [0.1, 0.2, 0.3, 0.4, 0.5]}      # never reaches
with netCDF4.Dataset(sys.argv[1], "a") as f:
    f.set_auto_mask(False)
    kind, src, sd = f["kind"][:], f["source_task"][:], f["subspace_d"][:]
    K = dict(zip(f["kind"].flag_meanings.split(), f["kind"].flag_values))
    hidden, seed, epochs = f["hidden"][:], f["seed"][:], f["epochs"][:]
    ta, sa = f["test_accuracy"][:], f["subspace_test_accuracy"][:]
    for j in np.flatnonzero(kind == K["train"]):
        ta[j, int(epochs[j]) - 1] = 0.8
        c = curves[(int(hidden[j]), int(seed[j]))]
        for i in np.flatnonzero((kind == K["subspace"]) & (src == j)):
            sa[i] = c[[4, 16, 64, 256, 1024].index(int(sd[i]))]
    f["test_accuracy"][:] = ta
    f["subspace_test_accuracy"][:] = sa
EOF
then
    "$PYTHON3" "$PLOT" "$tmp/known.nc" -o "$tmp/known.png" >"$tmp/known.txt" 2>"$tmp/known.err"
    rc=$?
    if [ $rc -eq 0 ] && "$PYTHON3" - "$tmp/known.txt" "$tmp" <<'EOF'
import math, sys
sys.path.insert(0, sys.argv[2])
from tables import tables

T = tables(open(sys.argv[1]).read())
per, summ = T[1], T[2]
itp = lambda lo, hi, alo, ahi, t=0.72: math.exp(math.log(lo) + (t - alo) / (ahi - alo) * math.log(hi / lo))
want = {("16", "0"): ("64", "16-64", f"{itp(16, 64, 0.6, 0.84):.0f}"),
        ("16", "1"): ("not reached", ">1024", "not reached"),
        ("16", "2"): ("4", "-", "<=4"),
        ("32", "0"): ("256", "64-256", "256"),
        ("32", "1"): ("1024", "256-1024", f"{itp(256, 1024, 0.6, 0.9):.0f}"),
        ("32", "2"): ("not reached", ">1024", "not reached")}
got = {(r["hidden"], r["seed"]): (r["d_int90 (sampled)"], r["bracket"],
                                  r["d_int90 (log-linear interp.)"]) for r in per["rows"]}
bad = [] if got == want else [f"per seed: {got}\n  want {want}"]
# medians over 3 seeds: hidden 16: {4, 64, inf} -> 64; hidden 32: {256, 1024, inf} -> 1024
ws = {"16": ("64", "4-not reached", f"{itp(16, 64, 0.6, 0.84):.0f}", "1"),
      "32": ("1024", "256-not reached", f"{itp(256, 1024, 0.6, 0.9):.0f}", "1")}
gs = {r["hidden"]: (r["median (sampled)"], r["range (sampled)"], r["median (interp.)"],
                    r["not reached"]) for r in summ["rows"]}
if gs != ws:
    bad.append(f"summary: {gs}\n  want {ws}")
if bad:
    sys.exit("\n".join(bad))
EOF
    then
        ok "hand-set accuracies: crossing, exact hit, below range, not reached; medians"
    else
        fail "hand-set accuracies (exit $rc)"; sed 's/^/    /' "$tmp/known.txt" "$tmp/known.err"
    fi
else
    fail "could not write the hand-set accuracies"
fi

# ---- 4. errors and --help
cat >"$tmp/nosub.yaml" <<EOF
name: intrinsic-nosub
data: {name: synthetic, synthetic_train: 100, synthetic_test: 50, synthetic_size: 8}
model: {arch: mlp, depth: 1, hidden: 4}
train: {epochs: 1, batch_size: 50}
EOF
"$WEDGE" run "$tmp/nosub.yaml" -o "$tmp/nosub.nc" --quiet >"$tmp/nosub.log" 2>&1 ||
    { fail "wedge run nosub.yaml"; sed 's/^/    /' "$tmp/nosub.log"; }
"$PYTHON3" "$PLOT" "$tmp/nosub.nc" -o "$tmp/nosub.png" >/dev/null 2>"$tmp/nosub.err"
rc=$?
if [ $rc -eq 2 ] && grep -q 'no subspace-training rows' "$tmp/nosub.err" && [ ! -e "$tmp/nosub.png" ]; then
    ok "no subspace rows: exit 2 ($(cat "$tmp/nosub.err"))"
else
    fail "no subspace rows: exit $rc, want 2 with a clear message and no PNG"
    sed 's/^/    /' "$tmp/nosub.err"
fi
"$PYTHON3" "$PLOT" "$tmp/missing.nc" >/dev/null 2>"$tmp/missing.err"
rc=$?
if [ $rc -eq 1 ] && grep -q '^wedge-plot-intrinsic: .*missing.nc: no such file$' "$tmp/missing.err"; then
    ok "missing file: exit 1"
else
    fail "missing file: exit $rc"; sed 's/^/    /' "$tmp/missing.err"
fi
"$PYTHON3" "$PLOT" "$tmp/tiny.nc" --fraction 0 -o "$tmp/f0.png" >/dev/null 2>"$tmp/f0.err"
rc=$?
if [ $rc -eq 2 ] && grep -q 'fraction' "$tmp/f0.err" && [ ! -e "$tmp/f0.png" ]; then
    ok "--fraction 0: exit 2"
else
    fail "--fraction 0: exit $rc"; sed 's/^/    /' "$tmp/f0.err"
fi
if "$PYTHON3" "$PLOT" --help >"$tmp/help.txt" 2>&1 && grep -q 'd_int90' "$tmp/help.txt" &&
    grep -q -- '--fraction' "$tmp/help.txt"; then
    ok "--help"
else
    fail "--help"; sed 's/^/    /' "$tmp/help.txt"
fi

# ---- 5. the subspace learning rate: lr * sqrt(lr_ref_d / d)
# At d = 16, {lr 0.02, lr_ref_d 64} is Adam at 0.04, exactly as {lr 0.04, lr_ref_d 0};
# {lr 0.02, lr_ref_d 0} is another rate and must give other numbers.
for v in "a 0.04 0" "b 0.02 64" "c 0.02 0"; do
    set -- $v
    cat >"$tmp/lr$1.yaml" <<EOF
name: intrinsic-lr$1
data: {name: synthetic, synthetic_train: 200, synthetic_test: 100, synthetic_size: 12}
model: {arch: mlp, depth: 1, hidden: 8}
train: {epochs: 1, batch_size: 50}
probes:
  subspace: {dims: [16], epochs: 2, lr: $2, lr_ref_d: $3}
EOF
    "$WEDGE" run "$tmp/lr$1.yaml" -o "$tmp/lr$1.nc" --quiet >"$tmp/lr$1.log" 2>&1 ||
        { fail "wedge run lr$1.yaml"; sed 's/^/    /' "$tmp/lr$1.log"; }
done
if "$PYTHON3" - "$tmp/lra.nc" "$tmp/lrb.nc" "$tmp/lrc.nc" <<'EOF'
import sys
import netCDF4
v = []
for p in sys.argv[1:]:
    with netCDF4.Dataset(p) as f:
        f.set_auto_mask(False)
        v.append([float(f[n][1]) for n in ("subspace_train_loss", "subspace_test_loss")])
if v[0] != v[1]:
    sys.exit(f"lr 0.02 at lr_ref_d 64 (d = 16) {v[1]} != lr 0.04 unscaled {v[0]}")
if v[2] == v[0]:
    sys.exit(f"lr 0.02 unscaled gave the same losses as 0.04: {v[2]}")
EOF
then
    ok "subspace lr: 0.02 at lr_ref_d 64 = 0.04 unscaled at d = 16, bitwise; 0.02 differs"
else
    fail "subspace lr scaling (above)"
fi

if [ $nfail -gt 0 ]; then
    echo "$nfail check(s) failed"
    exit 1
fi
echo "all checks passed"
exit 0
