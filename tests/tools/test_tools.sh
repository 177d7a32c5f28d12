#!/usr/bin/env bash
# test_tools.sh: the analysis tools (tools/wedgeds.py, tools/plot-fig5.py,
# tools/summary.py) on a small real sweep output.
#
# Runs a 30-task sweep (3 lr x 2 seeds, tunnel probes at epochs 1 and 3, split
# over 2 tasks each) with one wedge process, then checks:
#   - plot-fig5.py writes a valid PNG (> 10 kB) and prints a 3-row numeric table;
#     exit 2 on an output without tunnel probes and on one without done probes;
#   - summary.py prints 3 settings;
#   - wedgeds: trainings() dims, tunnel_widths() against phi recomputed by hand
#     from the raw tunnel_astar of the split tasks (netCDF4, not wedgeds), and
#     open_outputs() on two copies (identical, and complementary halves).
# Uses $WEDGE (default ./wedge), $top_srcdir (default .), $PYTHON3 (default
# /usr/bin/python3).  Exits 0 if every check passes, 1 otherwise.  ~10 s.
test_name=test_tools
. "${top_srcdir:-.}/tests/tools/lib.sh"

cat >"$tmp/demo.yaml" <<'EOF'
name: toolsdemo
seed: 1
data: {name: synthetic, synthetic_train: 300, synthetic_test: 100, synthetic_size: 12}
model: {arch: mlp, depth: 1, hidden: 16}
train: {epochs: 3, batch_size: 32}
sweep:
  train.lr: [1.0e-3, 3.0e-3, 1.0e-2]
  seed: {range: [0, 2]}
probes:
  tunnel: {epochs: [1, 3], directions: 4, split: 2, probe_size: 200}
EOF
cat >"$tmp/noprobe.yaml" <<'EOF'
name: noprobe
data: {name: synthetic, synthetic_train: 100, synthetic_test: 50, synthetic_size: 8}
model: {arch: mlp, depth: 1, hidden: 8}
train: {epochs: 1, batch_size: 32}
sweep:
  train.lr: [1.0e-3, 1.0e-2]
EOF

nc=$tmp/demo.nc
if ! "$WEDGE" run "$tmp/demo.yaml" -o "$nc" --quiet >"$tmp/run.log" 2>&1; then
    echo "FAIL: wedge run demo.yaml:"; sed 's/^/    /' "$tmp/run.log"; exit 1
fi

# ---- plot-fig5.py
if "$PYTHON3" "$TOOLS/plot-fig5.py" "$nc" -o "$tmp/fig5.png" >"$tmp/fig5.txt" 2>"$tmp/fig5.err"; then
    magic=$(head -c 8 "$tmp/fig5.png" 2>/dev/null | od -An -tx1 | tr -d ' \n')
    size=$(stat -c %s "$tmp/fig5.png" 2>/dev/null || echo 0)
    if [ "$magic" = 89504e470d0a1a0a ] && [ "$size" -gt 10240 ]; then
        ok "plot-fig5.py wrote a PNG of $size bytes"
    else
        fail "plot-fig5.py: $tmp/fig5.png is not a PNG > 10 kB (magic $magic, $size bytes)"
    fi
    # data rows: | lr | n | phi mean | phi std | dist mean | dist std | acc | -- all numbers
    rows=$(awk -F'|' '/^\|/ && $2 ~ /^ *[0-9.eE+-]+ *$/ {
                 good = 1
                 for (i = 2; i < NF; i++) if ($i !~ /^ *-?[0-9.eE+-]+ *$/) good = 0
                 if (good) n++ } END { print n + 0 }' "$tmp/fig5.txt")
    if [ "$rows" -eq 3 ]; then ok "plot-fig5.py table: 3 numeric rows"
    else fail "plot-fig5.py table: $rows numeric rows, want 3:"; sed 's/^/    /' "$tmp/fig5.txt"; fi
    # default output name: <title>-fig5.png next to the input
    "$PYTHON3" "$TOOLS/plot-fig5.py" "$nc" >/dev/null 2>&1 && [ -s "$tmp/toolsdemo-fig5.png" ] &&
        ok "plot-fig5.py default output toolsdemo-fig5.png" ||
        fail "plot-fig5.py without -o did not write $tmp/toolsdemo-fig5.png"
else
    fail "plot-fig5.py exited $?:"; sed 's/^/    /' "$tmp/fig5.err" "$tmp/fig5.txt"
fi

# exit 2 without tunnel probes, and without done probes
if "$WEDGE" run "$tmp/noprobe.yaml" -o "$tmp/noprobe.nc" --quiet >"$tmp/run2.log" 2>&1; then
    "$PYTHON3" "$TOOLS/plot-fig5.py" "$tmp/noprobe.nc" -o "$tmp/x.png" >/dev/null 2>"$tmp/err"
    rc=$?
    [ $rc -eq 2 ] && grep -q "no tunnel probes" "$tmp/err" && ok "plot-fig5.py: exit 2 without probes" ||
        fail "plot-fig5.py on an output without probes: exit $rc, want 2 ($(cat "$tmp/err"))"
else
    fail "wedge run noprobe.yaml:"; sed 's/^/    /' "$tmp/run2.log"
fi
cp "$nc" "$tmp/pending.nc"
"$PYTHON3" - "$tmp/pending.nc" <<'EOF'
import sys, netCDF4
with netCDF4.Dataset(sys.argv[1], "a") as f:
    st = f["status"][:]
    K = dict(zip(f["kind"].flag_meanings.split(), f["kind"].flag_values))
    st[f["kind"][:] == K["tunnel"]] = 0
    f["status"][:] = st
EOF
"$PYTHON3" "$TOOLS/plot-fig5.py" "$tmp/pending.nc" -o "$tmp/x.png" >/dev/null 2>"$tmp/err"
rc=$?
[ $rc -eq 2 ] && grep -q "no done tunnel probes" "$tmp/err" && ok "plot-fig5.py: exit 2 without done probes" ||
    fail "plot-fig5.py on an output with only pending probes: exit $rc, want 2 ($(cat "$tmp/err"))"

# ---- summary.py
if "$PYTHON3" "$TOOLS/summary.py" "$nc" >"$tmp/sum.txt" 2>"$tmp/sum.err"; then
    rows=$(grep -cE '^\| 0\.0[0-9]* \| 2 \| 0 \| 0 \| 0 \|.*±.*±.*2/2 \|.*±.*±' "$tmp/sum.txt")
    if [ "$rows" -eq 3 ]; then ok "summary.py: 3 settings"
    else fail "summary.py: $rows complete setting rows, want 3:"; sed 's/^/    /' "$tmp/sum.txt"; fi
else
    fail "summary.py exited $?:"; sed 's/^/    /' "$tmp/sum.err" "$tmp/sum.txt"
fi

# ---- wedgeds
if ! "$PYTHON3" - "$TOOLS" "$nc" "$tmp" >"$tmp/py.txt" 2>&1 <<'EOF'
import math, shutil, sys, warnings
import numpy as np, netCDF4
tools, path, tmp = sys.argv[1:4]
sys.path.insert(0, tools)
import wedgeds

bad = []
def check(cond, what):
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond:
        bad.append(what)

ds = wedgeds.open_outputs(path)
check(ds.arch.values[0] == "mlp" and ds.dataset.dtype.kind == "U", "char arrays decoded to str")
sc = wedgeds.status_counts(ds)
check(sc.loc["train", "done"] == 6 and sc.loc["tunnel", "done"] == 24
      and sc.loc["all", "total"] == 30, "status_counts: 6 train + 24 tunnel done")
tr = wedgeds.trainings(ds)
check(tr.final_test_accuracy.dims == ("lr", "seed") and tr.train_loss.dims == ("lr", "seed", "epoch"),
      f"trainings() dims {tr.train_loss.dims}")
check(np.allclose(tr.lr.values, [1e-3, 3e-3, 1e-2]) and list(tr.seed.values) == [0, 1],
      "trainings() coordinates lr, seed")
# a training stopped early (stop rule or step budget) has NaN after its last epoch:
# its final value is that last epoch's, not the fill at epochs-1
nan = float("nan")
fv = wedgeds.final_values([[1, 2, 3, 4], [5, 6, nan, nan], [7, nan, nan, nan], [nan] * 4],
                          [4, 4, 3, nan])
check(fv[0] == 4 and fv[1] == 6 and fv[2] == 7 and math.isnan(fv[3]),
      f"final_values: last epoch run, NaN when unknown ({fv})")

def median_inf(a):
    s = sorted(math.inf if math.isnan(x) else x for x in a)
    n = len(s)
    return s[n // 2] if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2])

def by_hand(path, tw, tag):
    """Compare tunnel_widths() with phi from the raw file (netCDF4, no wedgeds)."""
    f = netCDF4.Dataset(path)
    f.set_auto_mask(False)
    kind, src, pep = f["kind"][:], f["source_task"][:], f["probe_epoch"][:]
    code = dict(zip(f["kind"].flag_meanings.split(), f["kind"].flag_values))
    astar, how = f["tunnel_astar"][:], f["tunnel_outcome"][:]
    norm, tphi, levels = f["tunnel_norm"][:], f["tunnel_phi"][:], f["level"][:]
    lr, seed = f["lr"][:], f["seed"][:]
    K = astar.shape[1]
    nprobe = nlev = nnan = 0
    maxerr = 0.0
    ok_ = True
    for s in np.flatnonzero(kind == code["train"]):
        for e in (1, 3):
            members = [i for i in np.flatnonzero(kind == code["tunnel"]) if src[i] == s and pep[i] == e]
            dirs = [set(np.flatnonzero((how[i] >= 0).any(axis=1))) for i in members]
            if len(members) != 2 or dirs[0] & dirs[1] or dirs[0] | dirs[1] != set(range(K)):
                check(False, f"{tag}: task {s} epoch {e}: split tasks {members} directions {dirs}")
                ok_ = False
                continue
            nprobe += 1
            for l, lev in enumerate(levels):
                a = [astar[i, d, l] for i, d_ in zip(members, dirs) for d in sorted(d_)]
                med = median_inf(a)
                want = math.atan(med / norm[members[0]]) if math.isfinite(med) else math.nan
                sel = dict(lr=lr[s], seed=seed[s], probe_epoch=e, level=lev)
                got, gotd = float(tw.phi.sel(**sel)), float(tw.distance.sel(**sel))
                if math.isnan(want):
                    nnan += 1
                    same = math.isnan(got) and math.isnan(gotd)
                else:
                    same = (abs(got - want) <= 1e-12 * max(1, abs(want))
                            and abs(gotd - med) <= 1e-12 * max(1, med))
                    maxerr = max(maxerr, abs(got - want))
                if not same:
                    check(False, f"{tag}: task {s} epoch {e} level {lev}: phi {got}, by hand {want}")
                    ok_ = False
                nlev += 1
                # the file's own per-task phi (over each task's directions): same convention
                for i, d_ in zip(members, dirs):
                    m = median_inf([astar[i, d, l] for d in sorted(d_)])
                    w = math.atan(m / norm[i]) if math.isfinite(m) else math.nan
                    if tag == "file" and not (math.isnan(w) and math.isnan(tphi[i, l])
                                              or abs(w - tphi[i, l]) < 1e-12):
                        check(False, f"task {i} level {lev}: file tunnel_phi {tphi[i, l]}, by hand {w}")
                        ok_ = False
    f.close()
    check(ok_ and nprobe == 12 and nlev == 36,
          f"{tag}: tunnel_widths() = phi by hand from the split tasks' tunnel_astar "
          f"({nprobe} probes x {len(levels)} levels, {nnan} NaN, max |diff| {maxerr:.1e})")

tw = wedgeds.tunnel_widths(ds)
check(tw.phi.dims == ("lr", "seed", "probe_epoch", "level"), f"tunnel_widths() dims {tw.phi.dims}")
by_hand(path, tw, "file")

# not-reached directions (NaN a*, outcome 1) count as +inf: in a copy, make 1 of 4
# directions of one probe not reached (median finite) and 2 of 4 (one in each split
# task) of another (median infinite: phi NaN)
nr = f"{tmp}/notreached.nc"
shutil.copy(path, nr)
with netCDF4.Dataset(nr, "a") as g:
    g.set_auto_mask(False)
    src, pep = g["source_task"][:], g["probe_epoch"][:]
    x, o = g["tunnel_astar"][:], g["tunnel_outcome"][:]
    for s, nmiss in ((0, 1), (1, 2)):
        members = [i for i in range(src.size) if src[i] == s and pep[i] == 3]
        for i in members[:nmiss] if nmiss == 2 else members[1:2]:
            d = int(np.flatnonzero((o[i] >= 0).any(axis=1))[0])
            x[i, d, 0] = np.nan
            o[i, d, 0] = 1
    g["tunnel_astar"][:] = x
    g["tunnel_outcome"][:] = o
twn = wedgeds.tunnel_widths(wedgeds.open_outputs(nr))
by_hand(nr, twn, "with not-reached directions")
p0 = twn.sel(lr=1e-3, probe_epoch=3, level=1.0)
check(np.isfinite(float(p0.phi.sel(seed=0))) and np.isnan(float(p0.phi.sel(seed=1)))
      and int(p0.n_reached.sel(seed=0)) == 3 and int(p0.n_reached.sel(seed=1)) == 2,
      "1 of 4 not reached: phi finite; 2 of 4: phi NaN")

check(bool(tw.complete.all()) and int(tw.n_directions.min()) == ds.sizes['direction'], "every probe complete, all directions")
last = wedgeds.tunnel_widths(ds, epoch="last")
check(last.phi.dims == ("lr", "seed", "level") and
      np.array_equal(last.phi.values, tw.phi.sel(probe_epoch=3).values, equal_nan=True),
      "tunnel_widths(epoch='last') = probe epoch 3")

# two copies: identical, then complementary halves (the other half pending)
a, b = f"{tmp}/copy_a.nc", f"{tmp}/copy_b.nc"
shutil.copy(path, a)
both = wedgeds.open_outputs([path, a])
check(both.equals(ds), "open_outputs(two identical copies) = the file")
shutil.copy(path, b)
n = ds.sizes['task']
for p, lo, hi in ((a, 0, n // 2), (b, n // 2, n)):
    with netCDF4.Dataset(p, "a") as g:
        st = g["status"][:]
        st[lo:hi] = 0
        g["status"][:] = st
        for v in ("tunnel_astar", "train_loss", "test_accuracy", "tunnel_norm"):
            x = g[v][:]
            x[lo:hi] = np.nan
            g[v][:] = x
half = wedgeds.open_outputs([a, b])
check(int((half.status == 1).sum()) == n and half.equals(ds),
      "open_outputs(two complementary halves) = the file")
check(np.array_equal(wedgeds.tunnel_widths(half).phi.values, tw.phi.values, equal_nan=True),
      "tunnel_widths() of the combined halves")
only_a = wedgeds.open_outputs(a)
check(int((only_a.status == 1).sum()) == n - n // 2, "one half alone has its half done")
with netCDF4.Dataset(b, "a") as g:
    g.sweep_sha256 = "0" * 64
try:
    wedgeds.open_outputs([a, b])
    check(False, "open_outputs refuses files of different sweeps")
except ValueError:
    check(True, "open_outputs refuses files of different sweeps")
sys.exit(1 if bad else 0)
EOF
then
    fail "wedgeds checks:"; sed 's/^/    /' "$tmp/py.txt"
else
    sed 's/^/    /' "$tmp/py.txt"
    ok "wedgeds checks"
fi

if [ $nfail -ne 0 ]; then
    echo "test_tools: $nfail check(s) failed"
    exit 1
fi
echo "test_tools: all checks passed"
exit 0
