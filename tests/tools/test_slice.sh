#!/usr/bin/env bash
# test_slice.sh: the slice kind (probes: slice:) end to end, and tools/plot-slice.py.
#
# Runs three small sweeps with one wedge process each:
#   split    2 seeds of an MLP on synthetic data, 1-D (9 points) and 2-D (5 x 5) slices
#            each split over 2 tasks, and a tunnel probe with the same probe_size;
#   unsplit  the same trainings, the slices in one task each, with the test split;
#   toy      the toy model's 1-D slice with `normalisation: none`;
# then checks, reading the files with netCDF4 (not wedgeds):
#   - every point (1-D) or row (2-D) of a split slice is written by exactly one of its
#     tasks, the rest of each task's row NaN;
#   - the split and the unsplit slices are the same numbers bit for bit (the
#     directions are keyed by seed, epoch and index, not by the task), and so are
#     the trainings (their tunnel-free parameters give the same centre loss);
#   - the centre L(theta) equals the tunnel probe's tunnel_loss0 (both use the same
#     seeded probe set, wg_exec_landscape) to 1e-12 relative, |theta| its
#     tunnel_norm; the 1-D slice's a = 0 point and the 2-D slice's centre are
#     L(theta); the test-split centre equals the training's final test_loss
#     (stored as float: 1e-6 relative);
#   - the 2-D slice's b = 0 row equals the 1-D slice at the same a (both along d1,
#     the point formed the same way: 1e-12 relative);
#   - |d1| <= |theta| (filter normalisation with biases zero: |d1|^2 is theta's
#     weights' |.|^2) and |d1| > 0.9 |theta|; |cos(d1, d2)| < 0.2 (D = 2490:
#     random directions have |cos| ~ 0.02);
#   - the toy slice has finite losses, NaN accuracies, L(theta) at a = 0;
#   - plot-slice.py writes a PNG > 10 kB and prints tables whose numbers are the
#     file's (to the 4 printed digits); --task shows one seed; exit 2 for a file
#     without slices, for --test without test slices and for an epoch not probed.
# Uses $WEDGE (default ./wedge), $top_srcdir (default .), $PYTHON3 (default
# /usr/bin/python3).  Exits 0 if every check passes, 1 otherwise.  About 12 CPU-seconds.
test_name=test_slice
. "${top_srcdir:-.}/tests/tools/lib.sh"

base='seed: 1
data: {name: synthetic, synthetic_train: 300, synthetic_test: 100, synthetic_size: 12}
model: {arch: mlp, depth: 1, hidden: 16}
train: {epochs: 3, batch_size: 32, lr: 1.0e-2}
sweep:
  seed: {range: [0, 2]}'
printf 'name: slicesplit\n%s\nprobes:\n%s\n%s\n' "$base" \
    '  slice: {dims: [1, 2], grid_1d: 9, grid_2d: 5, split: 2, probe_size: 200}' \
    '  tunnel: {directions: 1, probe_size: 200}' >"$tmp/split.yaml"
printf 'name: sliceunsplit\n%s\nprobes:\n%s\n' "$base" \
    '  slice: {dims: [2, 1], grid_1d: 9, grid_2d: 5, probe_size: 200, test: yes}' \
    >"$tmp/unsplit.yaml"
cat >"$tmp/toy.yaml" <<'EOF'
name: slicetoy
model: {arch: toy, dim: 100, long: 10}
train: {optimizer: adam, lr: 0.05, epochs: 5}
probes:
  slice: {dims: [1], grid_1d: 5, normalisation: none}
EOF
printf 'name: noslice\n%s\nprobes:\n  tunnel: {directions: 1, probe_size: 100}\n' "$base" \
    >"$tmp/noslice.yaml"

for s in split unsplit toy noslice; do
    if ! "$WEDGE" run "$tmp/$s.yaml" -o "$tmp/$s.nc" --quiet >"$tmp/run-$s.log" 2>&1; then
        echo "FAIL: wedge run $s.yaml:"; sed 's/^/    /' "$tmp/run-$s.log"; exit 1
    fi
done

# ---- the file
if "$PYTHON3" - "$tmp/split.nc" "$tmp/unsplit.nc" "$tmp/toy.nc" <<'EOF'
import sys
import numpy as np
import netCDF4

bad = []


def load(path):
    with netCDF4.Dataset(path) as f:
        f.set_auto_mask(False)
        K = dict(zip(f["kind"].flag_meanings.split(), f["kind"].flag_values))
        d = {v: f[v][:] for v in f.variables}
        d["K"] = K
        return d


def close(x, y, rel):
    return abs(x - y) <= rel * max(abs(x), abs(y))


sp, un, toy = (load(p) for p in sys.argv[1:4])
x1, x2, y2 = sp["slice1_x"], sp["slice2_x"], sp["slice2_y"]
if list(x1) != [-1 + 0.25 * i for i in range(9)] or list(x2) != [-1, -0.5, 0, 0.5, 1] \
        or list(y2) != list(x2):
    bad.append(f"grids {x1} {x2} {y2}")


def combined(d, dims, src):
    """The slice of training src: its tasks, and the points/rows each wrote."""
    rows = np.flatnonzero((d["kind"] == d["K"]["slice"]) & (d["slice_dims"] == dims)
                          & (d["source_task"] == src))
    L = d[f"slice{dims}_loss"][rows]
    have = np.isfinite(L) if dims == 1 else np.isfinite(L).all(axis=2)
    part = ~np.isfinite(L) if dims == 1 else ~np.isfinite(L).any(axis=2)
    if not (have | part).all():
        bad.append(f"task(s) {rows}: a row of the 2-D slice only partly written")
    if (have.sum(axis=0) != 1).any():
        bad.append(f"slice {dims}-D of task {src}: points/rows written {have.sum(axis=0)} "
                   "times (want exactly once)")
    comb = np.full(L.shape[1:], np.nan)
    for k in range(len(rows)):
        comb[have[k]] = L[k][have[k]]
    return rows, comb


trains = np.flatnonzero(sp["kind"] == sp["K"]["train"])
if len(trains) != 2:
    bad.append(f"{len(trains)} trainings, want 2")
for src in trains:
    r1, c1 = combined(sp, 1, src)
    r2, c2 = combined(sp, 2, src)
    if len(r1) != 2 or len(r2) != 2:
        bad.append(f"training {src}: {len(r1)} 1-D and {len(r2)} 2-D slice tasks, want 2 + 2")
        continue
    u1, uc1 = combined(un, 1, src)
    u2, uc2 = combined(un, 2, src)
    if not (np.array_equal(c1, uc1) and np.array_equal(c2, uc2)):
        bad.append(f"training {src}: split and unsplit slices differ (1-D the same: "
                   f"{np.array_equal(c1, uc1)}, 2-D the same: {np.array_equal(c2, uc2)})")
    tun = np.flatnonzero((sp["kind"] == sp["K"]["tunnel"]) & (sp["source_task"] == src))[0]
    l0, n0 = sp["slice_loss0"][r1[0]], sp["slice_theta_norm"][r1[0]]
    for i in list(r1) + list(r2):
        if sp["slice_loss0"][i] != l0 or sp["slice_theta_norm"][i] != n0:
            bad.append(f"task {i}: centre / |theta| differ from task {r1[0]}'s")
    if not close(l0, sp["tunnel_loss0"][tun], 1e-12):
        bad.append(f"training {src}: slice_loss0 {l0!r} != tunnel_loss0 "
                   f"{sp['tunnel_loss0'][tun]!r}")
    if not close(n0, sp["tunnel_norm"][tun], 1e-12):
        bad.append(f"training {src}: |theta| {n0!r} != tunnel_norm {sp['tunnel_norm'][tun]!r}")
    if not (close(c1[4], l0, 1e-12) and close(c2[2, 2], l0, 1e-12)):
        bad.append(f"training {src}: L at a = 0 {c1[4]!r}, at a = b = 0 {c2[2, 2]!r}, "
                   f"centre {l0!r}")
    for j, a in enumerate(x2):
        i = int(np.flatnonzero(x1 == a)[0])
        if not close(c2[2, j], c1[i], 1e-12):
            bad.append(f"training {src}: 2-D at (a = {a}, b = 0) {c2[2, j]!r} != 1-D "
                       f"{c1[i]!r}")
    d1, d2, cos = (sp[v][r2[0]] for v in ("slice_d1_norm", "slice_d2_norm", "slice_cos"))
    if not (0.9 * n0 < d1 <= n0 * (1 + 1e-6) and 0.9 * n0 < d2 <= n0 * (1 + 1e-6)):
        bad.append(f"training {src}: |d1| {d1}, |d2| {d2} against |theta| {n0}")
    if sp["slice_d1_norm"][r1[0]] != d1:
        bad.append(f"training {src}: the 1-D and 2-D slices' d1 differ in length")
    if not abs(cos) < 0.2:
        bad.append(f"training {src}: cos(d1, d2) = {cos}")
    t0 = un["slice_test_loss0"][u1[0]]
    ft = un["test_loss"][src][-1]
    if not close(t0, float(ft), 1e-6):
        bad.append(f"training {src}: test-split centre {t0!r} != final test_loss {ft!r}")
    if not np.isfinite(un["slice2_test_loss"][u2[0]]).all():
        bad.append(f"training {src}: test-split 2-D slice not finite")

tr = np.flatnonzero(toy["kind"] == toy["K"]["slice"])
if len(tr) != 1:
    bad.append(f"toy: {len(tr)} slice tasks, want 1")
else:
    L, A = toy["slice1_loss"][tr[0]], toy["slice1_accuracy"][tr[0]]
    if not (np.isfinite(L).all() and np.isnan(A).all() and L[2] == toy["slice_loss0"][tr[0]]):
        bad.append(f"toy: loss {L}, accuracy {A}, centre {toy['slice_loss0'][tr[0]]}")
if bad:
    sys.exit("\n".join(bad))
EOF
then
    ok "slices: split covers each point/row once, = unsplit bit for bit; centre = tunnel_loss0," \
        "= final test_loss; 2-D b = 0 row = 1-D; direction norms; toy slice"
else
    fail "slice outputs (above)"
fi

# ---- plot-slice.py
nc=$tmp/split.nc
if "$PYTHON3" "$TOOLS/plot-slice.py" "$nc" >"$tmp/plot.txt" 2>"$tmp/plot.err"; then
    ok "plot-slice.py split.nc"
else
    fail "plot-slice.py split.nc exited $?"; sed 's/^/    /' "$tmp/plot.err"
fi
png=$tmp/slicesplit-slice.png   # the default: <title>-slice.png next to the input
if [ -f "$png" ] && [ "$(head -c 8 "$png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] &&
    [ "$(wc -c <"$png")" -gt 10240 ]; then
    ok "default output ${png##*/} is a PNG of $(wc -c <"$png") bytes"
else
    fail "no valid PNG > 10 kB at $png"; ls -l "$tmp"
fi
"$PYTHON3" "$TOOLS/plot-slice.py" "$nc" --task 1 -o "$tmp/one.png" >"$tmp/one.txt" 2>"$tmp/one.err" ||
    fail "plot-slice.py --task 1 exited $?: $(cat "$tmp/one.err")"

if "$PYTHON3" - "$nc" "$tmp/plot.txt" "$tmp/one.txt" <<'EOF'
import sys
import numpy as np
import netCDF4

nc, txt, one = sys.argv[1], open(sys.argv[2]).read(), open(sys.argv[3]).read()
bad = []


def tables(text):
    out, cur = [], None
    for line in text.splitlines():
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
            if cur is None:
                cur = {"hdr": cells, "rows": []}
                out.append(cur)
            elif not cells[0].startswith("---"):
                cur["rows"].append(cells)
        else:
            cur = None
    return out


def near(printed, value):
    return abs(float(printed) - value) <= 6e-4 * abs(value) + 1e-12


t = tables(txt)
if len(t) != 2:
    sys.exit(f"expected 2 tables (1-D, 2-D), got {len(t)}:\n{txt}")
t1, t2 = t
with netCDF4.Dataset(nc) as f:
    f.set_auto_mask(False)
    K = dict(zip(f["kind"].flag_meanings.split(), f["kind"].flag_values))
    kind, dims, src = f["kind"][:], f["slice_dims"][:], f["source_task"][:]
    seed = f["seed"][:]
    v = {n: f[n][:] for n in ("slice_loss0", "slice_accuracy0", "slice_theta_norm",
                              "slice_d1_norm", "slice_cos", "slice1_loss", "slice2_loss")}
rows1 = {r[1]: r for r in t1["rows"]}
rows2 = {r[1]: r for r in t2["rows"]}
means = []
for s in np.flatnonzero(kind == K["train"]):
    m1 = np.flatnonzero((kind == K["slice"]) & (dims == 1) & (src == s))
    m2 = np.flatnonzero((kind == K["slice"]) & (dims == 2) & (src == s))
    L1 = np.nanmax(v["slice1_loss"][m1], axis=0)   # each point from the task that wrote it
    L2 = np.nanmax(v["slice2_loss"][m2], axis=0)
    means.append(L1)
    r = rows1.get(str(s))
    if r is None or float(r[0]) != seed[s]:
        bad.append(f"1-D table: no row for task {s} (seed {seed[s]})")
        continue
    want = [v["slice_loss0"][m1[0]], L1[0], L1[-1], L1.max(), v["slice_accuracy0"][m1[0]],
            v["slice_theta_norm"][m1[0]], v["slice_d1_norm"][m1[0]]]
    for name, p, w in zip(t1["hdr"][2:9], r[2:9], want):
        if not near(p, w):
            bad.append(f"1-D table, task {s}: {name} printed {p}, file {w:.6g}")
    if r[9] != "9/9":
        bad.append(f"1-D table, task {s}: points {r[9]}, want 9/9")
    r = rows2.get(str(s))
    if r is None:
        bad.append(f"2-D table: no row for task {s}")
        continue
    want = [v["slice_loss0"][m2[0]], L2.min(), L2.max()]
    for name, p, w in zip(t2["hdr"][2:5], r[2:5], want):
        if not near(p, w):
            bad.append(f"2-D table, task {s}: {name} printed {p}, file {w:.6g}")
    if abs(float(r[5]) - v["slice_cos"][m2[0]]) > 6e-4 or r[6] != "5/5":
        bad.append(f"2-D table, task {s}: cos {r[5]} (file {v['slice_cos'][m2[0]]:.4f}), "
                   f"rows {r[6]}")
mean = np.mean(means, axis=0)
r = rows1.get("-")
if r is None or r[0] != "mean" or not (near(r[3], mean[0]) and near(r[4], mean[-1])
                                       and near(r[5], mean.max())):
    bad.append(f"1-D table: mean row {r}, want L(a=-1) {mean[0]:.4g}, L(a=1) {mean[-1]:.4g}, "
               f"max {mean.max():.4g}")
o = tables(one)
if [[r[1] for r in x["rows"]] for x in o] != [["1"], ["1"]]:
    bad.append(f"--task 1: tables {[[r[1] for r in x['rows']] for x in o]}, want task 1 only")
if bad:
    sys.exit("\n".join(bad) + "\n--- output:\n" + txt)
EOF
then
    ok "plot-slice.py tables: per seed and mean, = the file's numbers; --task 1 shows task 1"
else
    fail "plot-slice.py tables (above)"
fi

# ---- exit 2: nothing to show
expect2() { # what, grep pattern, args...
    local what=$1 pat=$2
    shift 2
    "$PYTHON3" "$TOOLS/plot-slice.py" "$@" -o "$tmp/x.png" >/dev/null 2>"$tmp/err"
    local rc=$?
    if [ $rc -eq 2 ] && grep -q "$pat" "$tmp/err" && [ ! -e "$tmp/x.png" ]; then
        ok "$what: exit 2 ($(cat "$tmp/err"))"
    else
        fail "$what: exit $rc, want 2 with '$pat'"; sed 's/^/    /' "$tmp/err"
    fi
}
expect2 "no slice probes" "no slice probes" "$tmp/noslice.nc"
expect2 "--test without test slices" "no test-split slices" "$nc" --test
expect2 "--epoch not probed" "probed at epoch" "$nc" --epoch 1
"$PYTHON3" "$TOOLS/plot-slice.py" "$tmp/unsplit.nc" --test -o "$tmp/test.png" >"$tmp/test.txt" \
    2>"$tmp/test.err" && grep -q "test loss" "$tmp/test.txt" &&
    ok "plot-slice.py --test on the unsplit sweep" ||
    { fail "plot-slice.py --test unsplit.nc"; sed 's/^/    /' "$tmp/test.err" "$tmp/test.txt"; }

if [ $nfail -gt 0 ]; then
    echo "$nfail check(s) failed"
    exit 1
fi
echo "all checks passed"
exit 0
