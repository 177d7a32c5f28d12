#!/usr/bin/env bash
# test_fig34.sh: tools/plot-fig3.py (Figure 3: a low-loss tunnel) and
# tools/plot-fig4.py (Figure 4: number of short directions) on small real sweep outputs.
#
# Runs, with one wedge process each:
#   demo   4 seeds; connectors m = 1 (K = 4 points), 2, 3; Hessians at the 4 optima,
#          the 4 tunnel points and the 2 centres (17 tasks)
#   lr     2 learning rates x 2 seeds, Hessians at the optima only (8 tasks)
#   nohess 2 seeds and a 1-connector, no Hessians (3 tasks)
#   sets   toy model, 5 seeds, m = 1, 2 with connectors.sets 1 then 2 (--reuse)
# then checks:
#   - both plots of demo write valid PNGs (> 10 kB) at their default paths;
#   - plot-fig4's tables: optima rows seeds 0..3, tunnel rows points 0..K+1 at
#     positions k/(K+1), m-connector rows m = 1..3; the printed counts equal the
#     file's n_short read with netCDF4 (point k = the hessian_at=1 row with
#     hessian_point = k-1; points 0 and K+1 = the optima; m = 1 = the mean over the
#     points; m > 1 = the centre's row), as ">= N (not converged)" exactly where
#     the file's hessian_lower_bound is 1 (a mean: where any of its terms is);
#     its "profile:" line says the counts are lower bounds (demo's Lanczos budget);
#   - profiles: demo with two 1-connectors and SLQ counts: each tunnel's "profile:"
#     line (its points' mean against its ends' mean, highest and lowest points) and
#     the line over both, recomputed from the file;
#   - plot-fig3's tables: connectors m = 1..3 with barrier_path / barrier_line of
#     the file, tunnel points 0..K+1 with the probe-set loss at X_k =
#     path_train_loss[segment k, u = 0] and objective = connector_loss[k-1];
#   - lr: plot-fig4 draws the right panel, its table has lr 0.001 and 0.01 over 2
#     seeds with the mean of the file's n_short (a lower bound where one of them is);
#   - nohess: plot-fig4 exits 2 with a clear message and no PNG, plot-fig3 plots;
#     its connector (minibatch steps, until_loss) stopped its points at a check
#     with the objective at the target, and plot-fig3's steps column says so;
#     lr (no connectors): plot-fig3 exits 2; --connector of an m = 2 one exits 2.
# Uses $WEDGE (default ./wedge), $top_srcdir (default .), $PYTHON3 (default
# /usr/bin/python3).  Exits 0 if every check passes, 1 otherwise.  ~20 s.
test_name=test_fig34
. "${top_srcdir:-.}/tests/tools/lib.sh"

common='seed: 1
data: {name: synthetic, synthetic_train: 300, synthetic_test: 100, synthetic_size: 12}
model: {arch: mlp, depth: 1, hidden: 16}
train: {epochs: 3, batch_size: 32}'
cat >"$tmp/demo.yaml" <<EOF
name: fig34demo
$common
sweep:
  seed: {range: [0, 4]}
connectors: {m: [1, 2, 3], points: 4, steps: 20, probe_size: 200, eval_points: 5}
probes:
  hessian: {at: [optima, connectors], budget: 40, probe_size: 200, threshold: 0.01}
EOF
cat >"$tmp/lr.yaml" <<EOF
name: fig34lr
$common
sweep:
  train.lr: [1.0e-3, 1.0e-2]
  seed: {range: [0, 2]}
probes:
  hessian: {at: [optima], budget: 30, probe_size: 200, threshold: 0.01}
EOF
cat >"$tmp/nohess.yaml" <<EOF
name: fig34nohess
$common
sweep:
  seed: {range: [0, 2]}
connectors: {m: [1], points: 3, steps: 120, batch_size: 32, until_loss: 2.2, probe_size: 200,
             eval_points: 4}
EOF

for s in demo lr nohess; do
    if ! "$WEDGE" run "$tmp/$s.yaml" -o "$tmp/$s.nc" --quiet >"$tmp/run-$s.log" 2>&1; then
        echo "FAIL: wedge run $s.yaml:"; sed 's/^/    /' "$tmp/run-$s.log"; exit 1
    fi
done

png_ok() { # FILE: a PNG of more than 10 kB
    [ -f "$1" ] && [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] &&
        [ "$(wc -c <"$1")" -gt 10240 ]
}

# ---- the two figures of demo, at their default paths
for f in 3 4; do
    if "$PYTHON3" "$TOOLS/plot-fig$f.py" "$tmp/demo.nc" >"$tmp/fig$f.txt" 2>"$tmp/fig$f.err"; then
        ok "plot-fig$f.py demo.nc"
    else
        fail "plot-fig$f.py demo.nc exited $?"; sed 's/^/    /' "$tmp/fig$f.err"
    fi
    png=$tmp/fig34demo-fig$f.png   # the default: <title>-fig$f.png next to the input
    if png_ok "$png"; then
        ok "default output $(basename "$png") is a PNG of $(wc -c <"$png") bytes"
    else
        fail "no valid PNG > 10 kB at $png"; ls -l "$tmp"
    fi
done
grep -q 'panels: left, middle' "$tmp/fig4.err" || fail "plot-fig4 demo: panels $(cat "$tmp/fig4.err")"

# ---- the printed tables against the file (netCDF4)
if "$PYTHON3" - "$tmp/demo.nc" "$tmp/fig3.txt" "$tmp/fig4.txt" <<'EOF'
import sys
import numpy as np
import netCDF4

nc, t3, t4 = sys.argv[1], open(sys.argv[2]).read(), open(sys.argv[3]).read()


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


bad = []
with netCDF4.Dataset(nc) as f:
    f.set_auto_mask(False)
    kind = f["kind"][:]
    src = f["source_task"][:]
    seed = f["seed"][:]
    cm = f["connector_m"][:]
    at = f["hessian_at"][:]
    hp = f["hessian_point"][:]
    ns = f["n_short"][:]
    lb = f["hessian_lower_bound"][:]
    bp, bl = f["barrier_path"][:], f["barrier_line"][:]
    ptl = f["path_train_loss"][:]
    closs = f["connector_loss"][:]
    K = f.dimensions["conn_point"].size
conn = {int(m): int(i) for i, m in enumerate(cm) if kind[i] == 3}
c1 = conn[1]
o1, o2 = 0, 1  # the first two trainings (seeds 0, 1)


def row(at_, source, point=None):
    r = [i for i in range(len(kind)) if kind[i] == 4 and at[i] == at_ and src[i] == source
         and (point is None or hp[i] == point)]
    if len(r) != 1:
        bad.append(f"expected one Hessian row at={at_} source={source} point={point}, got {r}")
        return None
    return r[0]


def hess(at_, source, point=None):
    i = row(at_, source, point)
    return -1 if i is None else int(ns[i])


def shown(at_, source, point=None):
    """The count as plot-fig4 must print it: a lower bound says so."""
    i = row(at_, source, point)
    if i is None:
        return "?"
    return f">= {int(ns[i])} (not converged)" if lb[i] == 1 else str(int(ns[i]))


def value(cell):
    """The number in a printed count ("17", ">= 17.5 (not converged)")."""
    return float(cell.removeprefix(">= ").split(" (")[0])


T4 = tables(t4)
if len(T4) != 3:
    sys.exit(f"plot-fig4: expected 3 tables (optima, tunnel, m-connectors), got {len(T4)}\n{t4}")
opt, tun, mc = T4
if sorted(float(r["seed"]) for r in opt["rows"]) != [0, 1, 2, 3]:
    bad.append(f"optima table seeds {[r['seed'] for r in opt['rows']]} != 0..3")
for r in opt["rows"]:
    t = int(r["training task"])
    if r["N_short"] != shown(0, t):
        bad.append(f"optimum {t}: printed N_short {r['N_short']!r} != {shown(0, t)!r}")
pts = [int(r["point"]) for r in tun["rows"]]
if pts != list(range(K + 2)):
    bad.append(f"tunnel table points {pts} != 0..{K + 1}")
for r in tun["rows"]:
    k = int(r["point"])
    if abs(float(r["position"]) - k / (K + 1)) > 1e-4:
        bad.append(f"tunnel point {k}: position {r['position']} != {k}/{K + 1}")
    want = shown(0, o1) if k == 0 else shown(0, o2) if k == K + 1 else shown(1, c1, k - 1)
    if r["N_short"] != want:
        bad.append(f"tunnel point {k}: printed N_short {r['N_short']!r} != {want!r}")
# the profile line under the tunnel: its points' mean against its ends' (recomputed)
prof = [l for l in t4.splitlines() if l.startswith("profile:")]
ends = [hess(0, o1), hess(0, o2)]
inner = [hess(1, c1, q) for q in range(K)]
if any(shown(0, o).startswith(">=") for o in (o1, o2)) or \
        any(shown(1, c1, q).startswith(">=") for q in range(K)):
    if prof != ["profile: some counts are lower bounds (Lanczos not converged)"]:
        bad.append(f"profile with lower bounds: {prof}")
else:
    hi, lo = int(np.argmax(inner)), int(np.argmin(inner))
    want = (f"profile: the mean of {K} of the {K} points {np.mean(inner):.1f} against the "
            f"ends' {np.mean(ends):.1f} ({100 * (np.mean(inner) / np.mean(ends) - 1):+.1f}%); "
            f"highest X_{hi + 1} {inner[hi]:.1f} ({100 * (inner[hi] / max(ends) - 1):+.1f}% "
            f"against the higher end), lowest X_{lo + 1} {inner[lo]:.1f} "
            f"({100 * (inner[lo] / min(ends) - 1):+.1f}% against the lower)")
    if prof != [want]:
        bad.append(f"profile line {prof} != [{want!r}]")
ms = [r["m"] for r in mc["rows"]]
if ms != ["1", "2", "3", "optima"]:
    bad.append(f"m-connector table rows {ms} != 1, 2, 3, optima")
else:
    mean1 = np.mean([hess(1, c1, q) for q in range(K)])
    cell = mc["rows"][0]["N_short"]
    lower1 = any(shown(1, c1, q).startswith(">=") for q in range(K))
    if abs(value(cell) - mean1) > 0.051 or cell.startswith(">= ") != lower1:
        bad.append(f"m = 1: printed {cell!r} != mean over the points {mean1} "
                   f"({'a lower bound' if lower1 else 'exact'})")
    for r in mc["rows"][1:3]:
        m = int(r["m"])
        if int(r["connector task"]) != conn[m] or r["N_short"] != shown(1, conn[m], 0):
            bad.append(f"m = {m}: printed {r} != file (task {conn[m]}, "
                       f"n_short {shown(1, conn[m], 0)!r})")

T3 = tables(t3)
if len(T3) != 4:
    sys.exit(f"plot-fig3: expected 4 tables (connectors, tunnel, halves, changed), "
             f"got {len(T3)}\n{t3}")
cs, tp = T3[:2]
if [int(r["m"]) for r in cs["rows"]] != [1, 2, 3]:
    bad.append(f"connector table m {[r['m'] for r in cs['rows']]} != 1, 2, 3")
for r in cs["rows"]:
    i = int(r["connector task"])
    for col, v in (("barrier path (nat)", bp[i]), ("barrier line (nat)", bl[i])):
        if abs(float(r[col]) - v) > 6e-5:
            bad.append(f"connector {i}: {col} {r[col]} != file {v:.6f}")
if [int(r["point"]) for r in tp["rows"]] != list(range(K + 2)):
    bad.append(f"fig3 tunnel table points {[r['point'] for r in tp['rows']]} != 0..{K + 1}")
for r in tp["rows"][1:K + 1]:
    k = int(r["point"])
    if abs(float(r["probe-set loss"]) - ptl[c1, k, 0]) > 6e-5 or \
            abs(float(r["objective (nat)"]) - closs[c1, k - 1]) > 6e-5:
        bad.append(f"fig3 X_{k}: {r} != path_train_loss {ptl[c1, k, 0]:.5f}, "
                   f"connector_loss {closs[c1, k - 1]:.5f}")
if bad:
    sys.exit("\n".join(bad) + "\n--- fig4:\n" + t4 + "\n--- fig3:\n" + t3)
EOF
then
    ok "tables: optima seeds 0-3, tunnel points 0..K+1 and its profile line, m = 1..3, barriers; counts = the file's n_short"
else
    fail "tables vs the file (above)"
fi

# ---- several connectors per m (connectors.sets): their optima, the spread table, reuse
sets_yaml() { # SETS [M-LIST]
    cat <<EOF
name: fig34sets
seed: 1
model: {arch: toy, dim: 40, long: 6}
train: {epochs: 3}
sweep:
  seed: {range: [0, 5]}
connectors: {m: [${2:-1, 2}], points: 3, steps: 30, sets: $1}
probes:
  hessian: {at: [connectors], budget: 60, threshold: 0.01}
EOF
}
sets_yaml 1 >"$tmp/sets1.yaml"
sets_yaml 2 >"$tmp/sets2.yaml"
sets_yaml 2 "1, 2, 3" >"$tmp/sets3.yaml"
if "$WEDGE" run "$tmp/sets1.yaml" -o "$tmp/sets1.nc" --quiet >"$tmp/run-sets1.log" 2>&1 &&
    "$WEDGE" run "$tmp/sets2.yaml" -o "$tmp/sets2.nc" --reuse "$tmp/sets1.nc" \
        >"$tmp/run-sets2.log" 2>&1; then
    # sets: 1 has 5 trainings, 2 connectors, 3 + 1 Hessians: all of them are set 0's
    if grep -q 'reuse: 11 of this sweep.s 17 tasks taken' "$tmp/run-sets2.log"; then
        ok "sets: 2 reuses the 11 tasks of sets: 1 (growing the sets recomputes nothing)"
    else
        fail "sets reuse: $(grep reuse "$tmp/run-sets2.log")"
    fi
    # another order m (more segments per connector in the file) reuses the rest too
    if "$WEDGE" run "$tmp/sets3.yaml" -o "$tmp/sets3.nc" --reuse "$tmp/sets2.nc" \
        >"$tmp/run-sets3.log" 2>&1 &&
        grep -q 'reuse: 17 of this sweep.s 21 tasks taken' "$tmp/run-sets3.log"; then
        ok "m: [1, 2, 3] reuses the 17 tasks of m: [1, 2]"
    else
        fail "m growth reuse: $(grep -h 'reuse\|error' "$tmp/run-sets3.log")"
    fi
else
    fail "wedge run sets1/sets2"; sed 's/^/    /' "$tmp/run-sets1.log" "$tmp/run-sets2.log"
fi
"$PYTHON3" "$TOOLS/plot-fig4.py" "$tmp/sets2.nc" -o "$tmp/sets.png" >"$tmp/sets.txt" 2>"$tmp/sets.err" ||
    fail "plot-fig4 sets2.nc: $(cat "$tmp/sets.err")"
if "$PYTHON3" - "$tmp/sets2.nc" "$tmp/sets.txt" <<'EOF'
import sys
import numpy as np
import netCDF4

with netCDF4.Dataset(sys.argv[1]) as f:
    f.set_auto_mask(False)
    K = dict(zip(f["kind"].flag_meanings.split(), f["kind"].flag_values))
    kind, cm, opt = f["kind"][:], f["connector_m"][:], f["connector_optima"][:]
    src, ns = f["source_task"][:], f["n_short"][:]
conns = [i for i in range(len(kind)) if kind[i] == K["connect"]]
got = sorted((int(cm[i]), tuple(int(v) for v in opt[i] if v >= 0)) for i in conns)
# m = 1: 2 x 2 of 5 optima fit: disjoint pairs; m = 2: 2 x 3 do not: windows shifted by one
want = [(1, (0, 1)), (1, (2, 3)), (2, (0, 1, 2)), (2, (1, 2, 3))]
bad = [] if got == want else [f"connector_optima {got} != {want}"]
rows = {}
for line in open(sys.argv[2]).read().split("against m over the connectors")[-1].splitlines():
    c = [x.strip() for x in line.strip().strip("|").split(" | ")]
    if line.startswith("|") and c[0].isdigit():
        rows[int(c[0])] = c
for m in (1, 2):
    # each connector's mean over its points (an m-connector: its centre), then over them
    per = [np.mean([ns[j] for j in range(len(kind)) if kind[j] == K["hessian"] and src[j] == i])
           for i in conns if cm[i] == m]
    r = rows.get(m)
    if r is None or r[1] != "2" or abs(float(r[2]) - np.mean(per)) > 0.051:
        bad.append(f"m = {m}: row {r} != 2 connectors, mean {np.mean(per):.2f}")
sys.exit("\n".join(bad) if bad else 0)
EOF
then
    ok "sets: connector_optima disjoint pairs / shifted windows; the per-m table's means = the file's"
else
    fail "sets: the file or the per-m table (above)"
fi

# ---- a swept lr: the right panel of Figure 4
if "$PYTHON3" "$TOOLS/plot-fig4.py" "$tmp/lr.nc" -o "$tmp/lr.png" >"$tmp/lr.txt" 2>"$tmp/lr.err" &&
    png_ok "$tmp/lr.png" && grep -q 'panels: right)' "$tmp/lr.err"; then
    ok "lr sweep: $(cat "$tmp/lr.err")"
else
    fail "lr sweep: exit $? / no PNG / panels"; sed 's/^/    /' "$tmp/lr.err"
fi
if "$PYTHON3" - "$tmp/lr.nc" "$tmp/lr.txt" <<'EOF'
import sys
import numpy as np
import netCDF4

txt = open(sys.argv[2]).read()
agg, hdr = [], None
for line in txt.splitlines():
    cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
    if not line.startswith("|"):
        hdr = None
    elif hdr is None:
        hdr = cells
    elif "n seeds" in hdr and not cells[0].startswith("---"):
        r = dict(zip(hdr, cells))
        agg.append([r["lr"], r["n seeds"], r["N_short mean"]])
with netCDF4.Dataset(sys.argv[1]) as f:
    f.set_auto_mask(False)
    kind, lr, ns = f["kind"][:], f["lr"][:], f["n_short"][:]
    lb = f["hessian_lower_bound"][:]
    K = dict(zip(f["kind"].flag_meanings.split(), f["kind"].flag_values))
got = [(float(r[0]), int(r[1]), r[2]) for r in agg]
want = []
for v in (1e-3, 1e-2):
    sel = (kind == K["hessian"]) & (lr == v)
    mean = f"{float(np.mean(ns[sel])):.1f}"
    nlow = int((lb[sel] == 1).sum())
    part = "" if nlow == sel.sum() else f": {nlow} of {int(sel.sum())}"
    want.append((v, 2, f">= {mean} (not converged{part})" if nlow else mean))
if got != want:
    sys.exit(f"lr table (lr, n seeds, mean) {got} != {want}\n{txt}")
EOF
then
    ok "lr table: lr 0.001, 0.01 x 2 seeds, mean N_short = the file's"
else
    fail "lr table (above)"
fi

# ---- trend lines: N_short against m at the centres, against lr at the optima
# SLQ counts (estimates, unrounded: slq_count) on a small MLP: the printed slope,
# interval and p-value are recomputed here from the file (numpy least squares; the p-value by integrating
# Student's t density), Welch's test likewise; Lanczos lower bounds give no trend.
cat >"$tmp/trend.yaml" <<EOF
name: fig34trend
$common
sweep:
  seed: {range: [0, 6]}
connectors: {m: [2, 3], points: 3, steps: 20, sets: 2, probe_size: 200, eval_points: 3}
probes:
  hessian: {method: slq, nprobe: 3, nsteps: 20, at: [optima, connectors], probe_size: 200,
            threshold: 0.01}
EOF
if "$WEDGE" run "$tmp/trend.yaml" -o "$tmp/trend.nc" --quiet >"$tmp/run-trend.log" 2>&1 &&
    "$WEDGE" run "$tmp/lr.yaml" -o "$tmp/lrslq.nc" --quiet probes.hessian.method=slq \
        probes.hessian.nprobe=3 probes.hessian.nsteps=20 >>"$tmp/run-trend.log" 2>&1 &&
    "$PYTHON3" "$TOOLS/plot-fig4.py" "$tmp/trend.nc" -o "$tmp/trend.png" >"$tmp/trend.txt" \
        2>>"$tmp/run-trend.log" &&
    "$PYTHON3" "$TOOLS/plot-fig4.py" "$tmp/lrslq.nc" -o "$tmp/lrslq.png" >"$tmp/lrslq.txt" \
        2>>"$tmp/run-trend.log"; then
    if "$PYTHON3" - "$tmp/trend.nc" "$tmp/trend.txt" "$tmp/lrslq.nc" "$tmp/lrslq.txt" \
        "$tmp/lr.txt" >"$tmp/trend.out" 2>&1 <<'EOF'
import math, re, sys
import numpy as np
import netCDF4


def t_p(t, nu):
    """Two-sided p of Student's t by the trapezoid rule on its density."""
    c = math.exp(math.lgamma((nu + 1) / 2) - math.lgamma(nu / 2)) / math.sqrt(nu * math.pi)
    x = np.linspace(0.0, abs(t), 200001)
    y = c * (1 + x * x / nu) ** (-(nu + 1) / 2)
    return 1.0 - 2.0 * float(np.sum((y[1:] + y[:-1]) * np.diff(x)) / 2)


def t_q(nu):
    """The 97.5% quantile of Student's t: where t_p is 0.05 (bisection)."""
    lo, hi = 0.0, 100.0
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if t_p(mid, nu) > 0.05 else (lo, mid)
    return lo


def fit(x, y):
    x, y = np.asarray(x, float), np.asarray(y, float)
    b, a = np.polyfit(x, y, 1)
    nu = len(x) - 2
    se = math.sqrt(np.sum((y - a - b * x) ** 2) / nu / np.sum((x - x.mean()) ** 2))
    q = t_q(nu)
    return b, b - q * se, b + q * se, t_p(b / se, nu)


def welch(y1, y2):
    y1, y2 = np.asarray(y1, float), np.asarray(y2, float)
    v1, v2 = y1.var(ddof=1) / len(y1), y2.var(ddof=1) / len(y2)
    nu = (v1 + v2) ** 2 / (v1 ** 2 / (len(y1) - 1) + v2 ** 2 / (len(y2) - 1))
    d = y1.mean() - y2.mean()
    return d, t_p(d / math.sqrt(v1 + v2), nu)


NUM = r"([-+]?[0-9.]+)"
bad = []


def check(txt, what, want):
    """The trend line containing WHAT prints slope [lo, hi] (one decimal) and p (2
    significant digits) as recomputed."""
    m = re.search(what + r".*?: " + NUM + r" \[" + NUM + ", " + NUM + r"\] per .*?p = " +
                  r"([0-9.e-]+)", txt)
    if not m:
        bad.append(f"no trend line '{what}' in:\n{txt}")
        return
    got = [float(v) for v in m.groups()]
    for g, w, name in zip(got[:3], want[:3], ("slope", "lo", "hi")):
        if abs(g - w) > 0.051:
            bad.append(f"{what}: {name} {g} != {w:.3f}")
    if abs(got[3] - want[3]) > 0.006 * max(1.0, want[3] / 0.1):
        bad.append(f"{what}: p {got[3]} != {want[3]:.4f}")


with netCDF4.Dataset(sys.argv[1]) as f:
    f.set_auto_mask(False)
    K = dict(zip(f["kind"].flag_meanings.split(), f["kind"].flag_values))
    kind, cm, src = f["kind"][:], f["connector_m"][:], f["source_task"][:]
    ns = f["slq_count"][:, list(f["count_level"][:]).index(1.0)]   # unrounded, at lambda_thr
conn_m = {i: int(cm[i]) for i in range(len(kind)) if kind[i] == K["connect"]}
cen = [(conn_m[int(src[j])], float(ns[j])) for j in range(len(kind))
       if kind[j] == K["hessian"] and int(src[j]) in conn_m]
opt = [float(ns[j]) for j in range(len(kind))
       if kind[j] == K["hessian"] and kind[int(src[j])] == K["train"]]
txt = open(sys.argv[2]).read()
if len(cen) != 4 or len(opt) != 6:
    bad.append(f"{len(cen)} centres, {len(opt)} optima (want 4, 6)")
else:
    check(txt, "against m", fit([m for m, _ in cen], [v for _, v in cen]))
    d, p = welch([v for _, v in cen], opt)
    m = re.search(r"the optima's [0-9.]+ \(6 optima\): " + NUM + r" .*Welch p = ([0-9.e-]+)", txt)
    if not m or abs(float(m.group(1)) - d) > 0.051 or abs(float(m.group(2)) - p) > 0.006:
        bad.append(f"centres vs optima: want {d:+.1f}, p {p:.3f}; got {m and m.groups()}")
with netCDF4.Dataset(sys.argv[3]) as f:
    f.set_auto_mask(False)
    kind, lr = f["kind"][:], f["lr"][:]
    ns = f["slq_count"][:, list(f["count_level"][:]).index(1.0)]
    K = dict(zip(f["kind"].flag_meanings.split(), f["kind"].flag_values))
sel = kind == K["hessian"]
txt = open(sys.argv[4]).read()
check(txt, "against log10 lr", fit(np.log10(lr[sel]), ns[sel]))
if "per decade of lr" not in txt:
    bad.append("lr spans a decade: the slope is per decade of lr")
if "no trend: some counts are lower bounds" not in open(sys.argv[5]).read():
    bad.append("Lanczos lower bounds (lr.nc): no 'no trend' line")
print("\n".join(l for l in open(sys.argv[2]).read().splitlines() + txt.splitlines()
                if l.startswith("trend")))
sys.exit("\n".join(bad) if bad else 0)
EOF
    then
        ok "trend lines = least squares and Welch recomputed from the files:"
        sed 's/^/    /' "$tmp/trend.out"
    else
        fail "trend lines:"; sed 's/^/    /' "$tmp/trend.out"
    fi
else
    fail "trend sweeps / plot-fig4"; sed 's/^/    /' "$tmp/run-trend.log"
fi

# ---- tunnel profiles: SLQ counts (unrounded) along two tunnels and at their ends
# (demo's sweep with 1-connectors only, two disjoint pairs): each "profile:" line and
# the line over both tunnels, recomputed here from the file.
if "$WEDGE" run "$tmp/demo.yaml" -o "$tmp/prof.nc" --quiet 'connectors.m=[1]' connectors.sets=2 \
        probes.hessian.method=slq probes.hessian.nprobe=3 probes.hessian.nsteps=20 \
        >"$tmp/run-prof.log" 2>&1 &&
    "$PYTHON3" "$TOOLS/plot-fig4.py" "$tmp/prof.nc" -o "$tmp/prof.png" >"$tmp/prof.txt" \
        2>>"$tmp/run-prof.log"; then
    if "$PYTHON3" - "$tmp/prof.nc" "$tmp/prof.txt" >"$tmp/prof.out" 2>&1 <<'EOF'
import sys
import numpy as np
import netCDF4

with netCDF4.Dataset(sys.argv[1]) as f:
    f.set_auto_mask(False)
    kind, src, at, hp = f["kind"][:], f["source_task"][:], f["hessian_at"][:], f["hessian_point"][:]
    ns = f["slq_count"][:, list(f["count_level"][:]).index(1.0)]   # unrounded, at lambda_thr
    ends = f["connector_optima"][:]
    K = f.dimensions["conn_point"].size
want, rels = [], []
for c in [i for i in range(len(kind)) if kind[i] == 3]:
    o1, o2 = (int(v) for v in ends[c][:2])
    e = [float(ns[(kind == 4) & (at == 0) & (src == o)][0]) for o in (o1, o2)]
    v = np.array([float(ns[(kind == 4) & (at == 1) & (src == c) & (hp == q)][0]) for q in range(K)])
    hi, lo = int(np.argmax(v)), int(np.argmin(v))
    rel = v.mean() / np.mean(e) - 1
    rels.append(rel)
    want.append(f"profile: the mean of {K} of the {K} points {v.mean():.1f} against the ends' "
                f"{np.mean(e):.1f} ({100 * rel:+.1f}%); highest X_{hi + 1} {v[hi]:.1f} "
                f"({100 * (v[hi] / max(e) - 1):+.1f}% against the higher end), lowest X_{lo + 1} "
                f"{v[lo]:.1f} ({100 * (v[lo] / min(e) - 1):+.1f}% against the lower)")
want.append(f"profile: over 2 tunnels the points' mean is {100 * np.mean(rels):+.1f}% against "
            f"their ends' ({', '.join(f'{100 * r:+.1f}%' for r in rels)})")
got = [l for l in open(sys.argv[2]).read().splitlines() if l.startswith("profile:")]
if len(rels) != 2 or got != want:
    sys.exit("profile lines:\n  " + "\n  ".join(got) + "\nwant:\n  " + "\n  ".join(want))
print("\n".join(got))
EOF
    then
        ok "tunnel profiles (2 tunnels, SLQ) = the file's counts:"; sed 's/^/    /' "$tmp/prof.out"
    else
        fail "tunnel profiles:"; sed 's/^/    /' "$tmp/prof.out"
    fi
else
    fail "profile sweep / plot-fig4"; sed 's/^/    /' "$tmp/run-prof.log"
fi

# ---- no Hessians, no connectors, an m > 1 connector
"$PYTHON3" "$TOOLS/plot-fig4.py" "$tmp/nohess.nc" -o "$tmp/nohess4.png" >/dev/null 2>"$tmp/nohess4.err"
rc=$?
if [ $rc -eq 2 ] && grep -q 'no Hessian' "$tmp/nohess4.err" && [ ! -e "$tmp/nohess4.png" ]; then
    ok "no Hessian rows: plot-fig4 exit 2 ($(cat "$tmp/nohess4.err"))"
else
    fail "no Hessian rows: plot-fig4 exit $rc, want 2 with a clear message"
    sed 's/^/    /' "$tmp/nohess4.err"
fi
if "$PYTHON3" "$TOOLS/plot-fig3.py" "$tmp/nohess.nc" -o "$tmp/nohess3.png" >"$tmp/nohess3.txt" 2>"$tmp/nohess3.err" &&
    png_ok "$tmp/nohess3.png"; then
    ok "no Hessian rows: plot-fig3 plots"
else
    fail "no Hessian rows: plot-fig3 exit $? or no PNG"; sed 's/^/    /' "$tmp/nohess3.err"
fi
# nohess's connector stops its points at until_loss (minibatch steps): the table's
# steps column is the file's connector_steps, each point took all 120 steps or
# stopped at a check (a multiple of 50) with its objective at most 2.2, and at
# least one stopped early (on this data every point does, at 100)
if "$PYTHON3" - "$tmp/nohess.nc" "$tmp/nohess3.txt" >"$tmp/steps.txt" 2>&1 <<'EOF'
import re, sys, netCDF4
with netCDF4.Dataset(sys.argv[1]) as f:
    f.set_auto_mask(False)
    steps = f["connector_steps"][:]
    loss = f["connector_loss"][:]
    rows = [r for r in range(steps.shape[0]) if int(steps[r, 0]) >= 0]
assert len(rows) == 1, f"{len(rows)} connector rows with steps"
st, lo = [int(v) for v in steps[rows[0]]], [float(v) for v in loss[rows[0]]]
table = {}
for line in open(sys.argv[2]):
    m = re.match(r"^\| (\d+) \| [0-9.]+ \| X_\d+ \| [0-9.]+ \| (\d+) \|", line)
    if m:
        table[int(m.group(1))] = int(m.group(2))
assert table == {k + 1: s for k, s in enumerate(st)}, f"table steps {table}, file {st}"
for k, (s, l) in enumerate(zip(st, lo)):
    assert s == 120 or (s % 50 == 0 and s < 120 and l <= 2.2), f"X_{k + 1}: {s} steps, loss {l}"
assert min(st) < 120, f"no point stopped early: {st}"
print(f"steps {st}, objectives {[round(l, 4) for l in lo]}")
EOF
then
    ok "until_loss: $(cat "$tmp/steps.txt")"
else
    fail "until_loss steps:"; sed 's/^/    /' "$tmp/steps.txt"
fi
"$PYTHON3" "$TOOLS/plot-fig3.py" "$tmp/lr.nc" -o "$tmp/lr3.png" >/dev/null 2>"$tmp/lr3.err"
rc=$?
if [ $rc -eq 2 ] && grep -q 'no connector' "$tmp/lr3.err" && [ ! -e "$tmp/lr3.png" ]; then
    ok "no connector rows: plot-fig3 exit 2 ($(cat "$tmp/lr3.err"))"
else
    fail "no connector rows: plot-fig3 exit $rc, want 2"; sed 's/^/    /' "$tmp/lr3.err"
fi
c2=$(grep -E '^\| [0-9]+ \| 2 \| ' "$tmp/fig3.txt" | awk -F'|' '{gsub(/ /, "", $2); print $2}')
"$PYTHON3" "$TOOLS/plot-fig3.py" "$tmp/demo.nc" --connector "${c2:-0}" -o "$tmp/c2.png" \
    >/dev/null 2>"$tmp/c2.err"
rc=$?
if [ $rc -eq 2 ] && grep -q 'm = 2' "$tmp/c2.err"; then
    ok "--connector $c2 (m = 2): exit 2"
else
    fail "--connector ${c2:-?} (m = 2): exit $rc, want 2"; sed 's/^/    /' "$tmp/c2.err"
fi

if [ $nfail -gt 0 ]; then
    echo "$nfail check(s) failed"
    exit 1
fi
echo "all checks passed"
exit 0
