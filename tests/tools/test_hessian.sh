#!/usr/bin/env bash
# test_hessian.sh: trustworthy short-direction counts on the analysis side:
# wedgeds.spectra, tools/hessian.py (wedge-hessian: re-thresholding, --calibrate)
# and what plot-fig4.py and summary.py print about N_short.
#
# 1. The pieces on hand-made input (no wedge): the Student-t quantile against
#    closed forms (nu = 1, 2) and 40-digit values (1e-12 relative); the SLQ
#    estimator on two hand-made probes; how counts read (">= N (not converged)",
#    "N [lo, hi]", plain) and that a mean with a lower bound among its terms is a
#    lower bound; the threshold with exactly d eigenvalues above it (plain, a
#    repeated value, too few positive values); the windowed density against the
#    plain sum of Gaussians.
# 2. One small sweep (3 seeds, Hessians at the optima and at every connector point,
#    connectors m = 1, 2, subspaces at the optima) run four times: method full,
#    slq, lanczos with budget 200 (stopped by it) and lanczos with budget 1000
#    (converged).  Against the files (netCDF4, numpy in this test):
#    - the SLQ estimator, computed here from slq_nodes/slq_weights and D, and by
#      wedgeds.slq_estimate, reproduces slq_count, its se, lo and hi to 1e-12
#      relative at 0.5x, 1x, 2x lambda_thr and below -lambda_thr;
#    - wedge-hessian's recount at 0.5x, 1x, 2x equals n_short_half, n_short,
#      n_short_double (full, both lanczos) and its check line says so;
#    - --threshold T: full counts = #(eigenvalues > T); the stopped Lanczos run
#      prints only ">= N (not converged)" with N = #(Ritz values > T) <= the full
#      count at T (interlacing, checked against the full spectrum of the same
#      point), "*" exactly below its smallest converged Ritz value; the converged
#      run prints plain counts equal to the full ones; SLQ cells = the estimator;
#    - the per-setting-and-place table: the optima's mean, a lower bound for the
#      stopped run;
#    - plot-fig4 and summary: no plain number for a count of the stopped run,
#      "N [lo, hi]" = the file's slq_count/_lo/_hi for SLQ, plain counts for full;
#    - warnings: one line per trained optimum with n_negative > 0 naming its seed
#      (wedge-hessian, plot-fig4, summary), and a closing count; none when a copy
#      has n_negative = 0.
# 3. Calibration on a copy of the full output with hand-made spectra at the
#    optima (c x 0.99^i) and subspace accuracies (d = 100, d = 200, not reached):
#    the thresholds per optimum, the study's median, the counts re-thresholded at
#    it; SLQ: the estimate crosses d at the calibrated node; subspaces through the
#    initialisation (the intrinsic dimension) give the same thresholds; refusals
#    (no subspace rows, no bracketed d); a stored
#    count that disagrees with the spectrum: CHECK FAILED, exit 1.
# 4. Errors: bad --threshold, --threshold with --calibrate, --fraction 0, an output
#    without Hessian rows: exit 2 and a message.
# Uses $WEDGE (default ./wedge), $top_srcdir (default .), $PYTHON3 (default
# /usr/bin/python3).  Exits 0 if every check passes, 1 otherwise.  ~40 s.
test_name=test_hessian
. "${top_srcdir:-.}/tests/tools/lib.sh"
HESS=$TOOLS/hessian.py

cat >"$tmp/tables.py" <<'EOF'
import re


def tables(txt):
    """The markdown tables of a tool's output: [{"hdr": [...], "rows": [{col: cell}]}]."""
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


LOWER = re.compile(r"^>= (\d+(?:\.\d+)?) \(not converged(?:: \d+ of \d+)?\)(\*?)$")
EST = re.compile(r"^(-?\d+(?:\.\d+)?) \[(-?\d+(?:\.\d+)?), (-?\d+(?:\.\d+)?)\]$")
PLAIN = re.compile(r"^\d+(?:\.\d+)?$")


def parse(cell):
    """('lower', N, star) | ('estimate', N, lo, hi) | ('exact', N) | ('?', cell)."""
    m = LOWER.match(cell)
    if m:
        return ("lower", float(m.group(1)), m.group(2) == "*")
    m = EST.match(cell)
    if m:
        return ("estimate", float(m.group(1)), float(m.group(2)), float(m.group(3)))
    if PLAIN.match(cell):
        return ("exact", float(cell))
    return ("?", cell)
EOF

# ---- 1. the pieces on hand-made input
if "$PYTHON3" - "$TOOLS" <<'EOF'
import math, sys
sys.path.insert(0, sys.argv[1])
import numpy as np
from wedgeds import spectra as S

bad = []
def close(what, got, want, rel=1e-12):
    if not abs(got - want) <= rel * abs(want):
        bad.append(f"{what}: {got!r} != {want!r}")

# Student's t quantiles: closed forms for nu = 1, 2; 40-digit values for the rest
close("t(0.975, 1)", S.t_quantile(0.975, 1.0), math.tan(0.475 * math.pi))
close("t(0.975, 2)", S.t_quantile(0.975, 2.0), 0.95 * math.sqrt(2 / (4 * 0.975 * 0.025)))
for nu, p, want in ((7, 0.975, 2.3646242515927847), (9, 0.975, 2.262157162798205),
                    (29, 0.975, 2.0452296421327039), (4, 0.95, 2.1318467863266495)):
    close(f"t({p}, {nu})", S.t_quantile(p, float(nu)), want)

# SLQ on two hand-made probes, D = 100: probe 0 has weight 0.3 above t = 1,
# probe 1 has 0.5 (its zero-weight node at 5 does not count): c = 30, 50
nodes = np.array([[-1.0, 0.5, 2.0, 3.0], [0.0, 1.5, 4.0, 5.0]])
wts = np.array([[0.2, 0.5, 0.1, 0.2], [0.5, 0.25, 0.25, 0.0]])
m, se, lo, hi = S.slq_estimate(nodes, wts, 100, 1.0)
q = math.tan(0.475 * math.pi)  # t_{0.975, 1}
close("slq mean", m, 40.0)
close("slq se", se, 10.0)  # sd(30, 50) = 14.142..., / sqrt(2)
close("slq lo", lo, 40.0 - q * 10.0, 1e-11)
close("slq hi", hi, 40.0 + q * 10.0, 1e-11)
m, *_ = S.slq_estimate(nodes, wts, 100, 0.0, below=True)
close("slq below 0", m, 10.0)  # probe 0: 0.2 below 0, probe 1: none (0 is not < 0)

# how counts read
cases = [(S.Count(99, "lower"), ">= 99 (not converged)"),
         (S.Count(99, "lower", loose=True), ">= 99 (not converged)*"),
         (S.Count(140.07, "estimate", 129.15, 150.99), "140 [129, 151]"),
         (S.Count(2.34, "estimate", 0.55, 4.1), "2.3 [0.6, 4.1]"),
         (S.Count(138, "exact"), "138"), (S.Count(float("nan"), "exact"), "-")]
for c, want in cases:
    if str(c) != want:
        bad.append(f"Count text {str(c)!r} != {want!r}")
a = S.aggregate([S.Count(100, "exact"), S.Count(90, "lower"), S.Count(80, "exact")])
if (a.kind, a.value, a.n_lower, a.n) != ("lower", 90.0, 1, 3) or \
        a.text(".1f") != ">= 90.0 (not converged: 1 of 3)":
    bad.append(f"mean with a lower bound: {a.kind} {a.value} {a.text('.1f')!r}")
a = S.aggregate([S.Count(10, "estimate", 8, 12), S.Count(20, "estimate", 14, 26)])
if (a.kind, a.value, a.lo, a.hi) != ("estimate", 15.0, 11.0, 19.0):
    bad.append(f"mean of estimates: {a.kind} {a.value} [{a.lo}, {a.hi}]")

# the threshold with exactly d values above it
sp = S.TaskSpectrum(0, "full", 1.0, 5, [5.0, 4.0, 3.0, 2.0, 1.0])
r = S.threshold_for_count(sp, 2)
close("exactly 2 above: t", r["t"], math.sqrt(12.0))
if (r["lo"], r["hi"], r["exact"], sp.count(r["t"]).value) != (3.0, 4.0, True, 2):
    bad.append(f"exactly 2 above: {r}")
r = S.threshold_for_count(S.TaskSpectrum(0, "full", 1.0, 4, [3.0, 2.0, 2.0, 1.0]), 2)
if r["exact"] or r["t"] != 2.0 or "repeats" not in r["note"]:
    bad.append(f"a repeated value: {r}")
r = S.threshold_for_count(S.TaskSpectrum(0, "full", 1.0, 4, [3.0, 1.0, -1.0, -2.0]), 3)
if not math.isnan(r["t"]) or "fewer than 3 positive" not in r["note"]:
    bad.append(f"too few positive values: {r}")

# the windowed density = the plain sum of Gaussians; it integrates to 1
rng = np.random.default_rng(1)
nd = np.sort(rng.normal(size=(3, 40)), axis=1)
wt = rng.random((3, 40)); wt /= wt.sum(axis=1, keepdims=True); wt[0, :5] = 0
wt[0] /= wt[0].sum()
sig = S.broadening_sigma(nd, wt)
rngs = [nd[p][wt[p] > 0].max() - nd[p][wt[p] > 0].min() for p in range(3)]
close("sigma", sig, math.sqrt(1e-5 * max(1.0, np.mean(rngs) + 0.02)))
grid = np.linspace(nd.min() - 0.5, nd.max() + 0.5, 20001)
rho = S.spectral_density(nd, wt, sig, grid)
ok = wt > 0
ref = sum(w * np.exp(-0.5 * ((grid - x) / sig) ** 2) for x, w in zip(nd[ok], wt[ok] / 3)) / \
    (sig * math.sqrt(2 * math.pi))
# each Gaussian is cut at 8 sigma: the part left out is below exp(-32) = 1.3e-14 of
# its peak, so |rho - ref| <= 1.3e-14 / (sigma sqrt(2 pi)) (the weights sum to 1)
norm = 1 / (sig * math.sqrt(2 * math.pi))
big = ref > 1e-6 * ref.max()
err = np.max(np.abs(rho[big] - ref[big]) / ref[big])
aerr = np.max(np.abs(rho - ref)) / norm
if err > 1e-7 or aerr > 2e-14:
    bad.append(f"density: relative error {err:.3g}, absolute {aerr:.3g} x the peak")
h = grid[1] - grid[0]
close("density integral", float(np.sum(rho) * h), 1.0, 1e-6)
if bad:
    sys.exit("\n".join(bad))
EOF
then
    ok "pieces: t quantiles (1e-12), SLQ on two probes, count texts, means of bounds, threshold for d, density"
else
    fail "pieces on hand-made input (above)"
fi

# ---- 2. the sweeps
for m in full slq lanczos lconv; do
    case $m in
        full) extra="method: full" ;;
        slq) extra="method: slq, nprobe: 8, nsteps: 60" ;;
        lanczos) extra="method: lanczos, budget: 200" ;;
        lconv) extra="method: lanczos, budget: 1000" ;;
    esac
    cat >"$tmp/$m.yaml" <<EOF
name: h-$m
data: {name: synthetic, synthetic_train: 300, synthetic_test: 100, synthetic_size: 8}
model: {arch: mlp, depth: 1, hidden: 8}
train: {epochs: 3, batch_size: 32}
sweep: {seed: [0, 1, 2]}
probes:
  hessian: {$extra, probe_size: 200, threshold: 0.01, at: [optima, connectors]}
  subspace: {dims: [50, 100, 200, 400], at: optimum, epochs: 2}
connectors: {m: [1, 2], points: 3, steps: 20, probe_size: 200}
EOF
    if ! "$WEDGE" run "$tmp/$m.yaml" -o "$tmp/$m.nc" --quiet >"$tmp/run-$m.log" 2>&1; then
        echo "FAIL: wedge run $m.yaml:"; sed 's/^/    /' "$tmp/run-$m.log"; exit 1
    fi
done

for m in full slq lanczos lconv; do
    if "$PYTHON3" "$HESS" "$tmp/$m.nc" >"$tmp/h-$m.txt" 2>"$tmp/h-$m.err" &&
            grep -q '^Check: the recount at 0.5x, 1x, 2x lambda_thr reproduces the stored' \
                "$tmp/h-$m.txt"; then
        ok "wedge-hessian $m.nc: $(grep '^Check' "$tmp/h-$m.txt")"
    else
        fail "wedge-hessian $m.nc: exit or check line:"; sed 's/^/    /' "$tmp/h-$m.err" "$tmp/h-$m.txt" | head -20
    fi
    "$PYTHON3" "$HESS" "$tmp/$m.nc" --threshold 0.003 0.05 >"$tmp/t-$m.txt" 2>"$tmp/t-$m.err" ||
        fail "wedge-hessian $m.nc --threshold 0.003 0.05: exit $?"
    "$PYTHON3" "$TOOLS/plot-fig4.py" "$tmp/$m.nc" -o "$tmp/fig4-$m.png" >"$tmp/f-$m.txt" 2>"$tmp/f-$m.err" ||
        fail "plot-fig4 $m.nc: exit $?"
    "$PYTHON3" "$TOOLS/summary.py" "$tmp/$m.nc" >"$tmp/s-$m.txt" 2>"$tmp/s-$m.err" ||
        fail "summary $m.nc: exit $?"
done

if "$PYTHON3" - "$TOOLS" "$tmp" <<'EOF'
import math, sys
tools, tmp = sys.argv[1:3]
sys.path.insert(0, tools)
sys.path.insert(0, tmp)
import numpy as np
import netCDF4
import wedgeds
from tables import parse, tables

bad = []
F = {}
for m in ("full", "slq", "lanczos", "lconv"):
    with netCDF4.Dataset(f"{tmp}/{m}.nc") as f:
        f.set_auto_mask(False)
        K = dict(zip(f["kind"].flag_meanings.split(), f["kind"].flag_values))
        d = {v: f[v][:] for v in ("kind", "status", "source_task", "seed", "nparams", "hessian_at",
                                  "n_short", "n_short_half", "n_short_double", "n_negative",
                                  "hessian_n", "hessian_lower_bound", "hessian_converged")}
        if m == "slq":
            for v in ("slq_nodes", "slq_weights", "slq_count", "slq_count_se", "slq_count_lo",
                      "slq_count_hi", "slq_count_bias", "count_level"):
                d[v] = f[v][:]
            d["level"] = float(f["slq_count"].confidence_level)
        else:
            d["ritz"] = f["hessian_ritz"][:]
            d["resid"] = f["hessian_residual"][:]
        d["thr"] = float(f["n_short"].threshold)
        d["K"] = K
    d["H"] = [int(i) for i in np.flatnonzero(d["kind"] == K["hessian"])]
    if not (d["status"] == 1).all():
        sys.exit(f"{m}: not every task is done")
    F[m] = d
thr = F["full"]["thr"]
H = F["full"]["H"]
if len(H) != 7:
    sys.exit(f"expected 7 Hessian tasks (3 optima, 3 tunnel points, 1 centre), got {len(H)}")


def dim_of(d, i):  # D of the network a Hessian task measures: its training's nparams
    j = i
    while d["kind"][j] != d["K"]["train"]:
        j = int(d["source_task"][j])
    if d["nparams"][i] != d["nparams"][j]:
        bad.append(f"task {i}: nparams {d['nparams'][i]}, its training's {d['nparams'][j]}")
    return float(d["nparams"][j])


# -- SLQ: this test's own estimator against the file, and wedgeds' against it
s = F["slq"]
ds = wedgeds.open_outputs(f"{tmp}/slq.nc")
spec = wedgeds.task_spectra(ds)
worst = 0.0
for i in s["H"]:
    N, W, D = s["slq_nodes"][i], s["slq_weights"][i], dim_of(s, i)
    P = N.shape[0]
    q = wedgeds.spectra.t_quantile(0.5 * (1 + s["level"]), P - 1.0)
    for j, lv in enumerate(s["count_level"]):
        t, below = (-thr, True) if lv < 0 else (lv * thr, False)
        c = D * np.array([W[p][(W[p] > 0) & ((N[p] < t) if below else (N[p] > t))].sum()
                          for p in range(P)])
        mine = (c.mean(), c.std(ddof=1) / math.sqrt(P))
        mine += (mine[0] - q * mine[1], mine[0] + q * mine[1])
        lib = wedgeds.slq_estimate(N, W, D, t, below=below, level=s["level"])
        for k, name in enumerate(("slq_count", "slq_count_se", "slq_count_lo", "slq_count_hi")):
            want = float(s[name][i, j])
            for who, got in (("this test", mine[k]), ("wedgeds", lib[k])):
                e = abs(got - want) / abs(want)
                worst = max(worst, e)
                if e > 1e-12:
                    bad.append(f"slq task {i} level {lv}: {who}'s {name} {got!r} != file {want!r}")
        # the quadrature's bound: D x mean over probes of the larger weight of the two
        # nodes around t, here computed again and by wedgeds
        adj = []
        for p in range(P):
            ok = W[p] > 0
            x, w = N[p][ok], W[p][ok]
            lw = w[x <= t][np.argmax(x[x <= t])] if (x <= t).any() else 0.0
            rw = w[x > t][np.argmin(x[x > t])] if (x > t).any() else 0.0
            adj.append(max(lw, rw))
        want = float(s["slq_count_bias"][i, j])
        for who, got in (("this test", D * np.mean(adj)),
                         ("wedgeds", wedgeds.slq_bias(N, W, D, t))):
            if not (want > 0 and abs(got - want) <= 1e-12 * want):
                bad.append(f"slq task {i} level {lv}: {who}'s slq_count_bias {got!r} != "
                           f"file {want!r}")
        if lv > 0 and round(lib[0]) != [s["n_short_half"], s["n_short"], s["n_short_double"]][j][i]:
            bad.append(f"slq task {i}: rounded mean {lib[0]} != the stored count")
print(f"SLQ: largest relative difference to the file's slq_count*: {worst:.2g}")

# -- recounts at 0.5x, 1x, 2x and at 0.003, 0.05, per task
cols = {0.5: "N(>0.005) [0.5x]", 1: "N(>0.01) [1x]", 2: "N(>0.02) [2x]"}
tcols = {0.003: "N(>0.003) [0.3x]", 0.05: "N(>0.05) [5x]"}
full_at = {}
for i in H:
    v = F["full"]["ritz"][i][:int(F["full"]["hessian_n"][i])]
    full_at[i] = {t: int(np.sum(v > t)) for t in (0.003, 0.005, 0.01, 0.02, 0.05)}
for m in ("full", "lanczos", "lconv", "slq"):
    d = F[m]
    per = {int(r["task"]): r for r in tables(open(f"{tmp}/h-{m}.txt").read())[0]["rows"]}
    tper = {int(r["task"]): r for r in tables(open(f"{tmp}/t-{m}.txt").read())[0]["rows"]}
    if sorted(per) != H or sorted(tper) != H:
        bad.append(f"{m}: per-task rows {sorted(per)} / {sorted(tper)} != {H}")
        continue
    for i in H:
        stored = {0.5: d["n_short_half"][i], 1: d["n_short"][i], 2: d["n_short_double"][i]}
        cells = {f: parse(per[i][c]) for f, c in cols.items()}
        cells.update({t: parse(tper[i][c]) for t, c in tcols.items()})
        if m == "slq":
            N, W, D = s["slq_nodes"][i], s["slq_weights"][i], dim_of(s, i)
            for t in tcols:
                mean, se, lo, hi = wedgeds.slq_estimate(N, W, D, t, level=s["level"])
                c = cells[t]
                w = 0 if hi - lo >= 5 else 1
                if c[0] != "estimate" or (c[1], c[2], c[3]) != (round(mean, w), round(lo, w),
                                                                  round(hi, w)):
                    bad.append(f"slq task {i} at {t}: {tper[i][tcols[t]]!r} != "
                               f"{mean:.2f} [{lo:.2f}, {hi:.2f}]")
            continue
        for f in (0.5, 1, 2):
            c = cells[f]
            if c[1] != stored[f]:
                bad.append(f"{m} task {i} at {f}x: printed {c} != stored {stored[f]}")
        if m in ("full", "lconv"):
            for t, c in list(cells.items()):
                tt = t * thr if t in (0.5, 1, 2) else t
                exact = full_at[i][round(tt, 6)]
                if m == "lconv" and t == 0.003:
                    # converged down to 0.5 lambda_thr only: below it a lower bound
                    if c[0] != "lower" or c[1] > exact:
                        bad.append(f"lconv task {i} at 0.003: {c} is no lower bound <= {exact}")
                elif c[0] != "exact" or c[1] != exact:
                    bad.append(f"{m} task {i} at {tt}: {c} != exact {exact} (the full "
                               "spectrum's)")
        else:  # stopped by its budget: only lower bounds, below the exact count
            n = int(d["hessian_n"][i])
            r, res = d["ritz"][i][:n], d["resid"][i][:n]
            okr = res <= 1e-3 * np.maximum(np.abs(r), thr)
            floor = r[np.argmin(okr) - 1] if not okr.all() else -np.inf
            want_floor = float(per[i]["converged down to"])
            if abs(want_floor - floor) > 5e-4 * abs(floor):
                bad.append(f"lanczos task {i}: converged down to {want_floor} != {floor:.5g}")
            for t, c in cells.items():
                tt = t * thr if t in (0.5, 1, 2) else t
                if c[0] != "lower":
                    bad.append(f"lanczos task {i} at {tt}: {c} is no lower bound")
                    continue
                if c[1] != int(np.sum(r > tt)) or c[1] > full_at[i][round(tt, 6)]:
                    bad.append(f"lanczos task {i} at {tt}: >= {c[1]} vs {int(np.sum(r > tt))} "
                               f"Ritz values, exact {full_at[i][round(tt, 6)]}")
                if c[2] != (tt < floor):
                    bad.append(f"lanczos task {i} at {tt}: '*' {c[2]}, floor {floor:.4g}")

# -- per setting and place: the optima's mean
for m, kind in (("full", "exact"), ("lanczos", "lower")):
    d = F[m]
    agg = tables(open(f"{tmp}/h-{m}.txt").read())[1]["rows"]
    o = [r for r in agg if r["place"] == "optimum"]
    opt = [i for i in H if d["hessian_at"][i] == 0]
    want = round(float(np.mean(d["n_short"][opt])), 1)
    c = parse(o[0]["N(>0.01) [1x]"].split(" (")[0] if kind == "exact" else o[0]["N(>0.01) [1x]"]) \
        if o else None
    if not o or o[0]["tasks"] != "3" or c[0] != kind or c[1] != want:
        bad.append(f"{m}: optimum row {o} != mean {want} ({kind})")
    if [r["place"] for r in agg] != ["optimum", "tunnel X_1", "tunnel X_2", "tunnel X_3",
                                     "centre m=2"]:
        bad.append(f"{m}: places {[r['place'] for r in agg]}")

# -- plot-fig4 and summary
for m in ("full", "lanczos", "slq"):
    d = F[m]
    txt = open(f"{tmp}/f-{m}.txt").read()
    T = tables(txt)
    n = 0
    for tb in T[:2]:  # the optima and the tunnel: one Hessian task per row
        for r in tb["rows"]:
            i = int(r["Hessian task"])
            for col, v in (("N_short", "n_short"), ("N_short (0.5x)", "n_short_half"),
                           ("N_short (2x)", "n_short_double")):
                c = parse(r[col])
                n += 1
                if m == "lanczos" and (c[0] != "lower" or c[1] != d[v][i] or c[2]):
                    bad.append(f"fig4 lanczos task {i} {col}: {r[col]!r} is not "
                               f"'>= {d[v][i]} (not converged)'")
                if m == "full" and c != ("exact", float(d[v][i])):
                    bad.append(f"fig4 full task {i} {col}: {r[col]!r} != {d[v][i]}")
                if m == "slq":
                    j = {"n_short_half": 0, "n_short": 1, "n_short_double": 2}[v]
                    mean, lo, hi = (float(s[x][i, j]) for x in ("slq_count", "slq_count_lo",
                                                                  "slq_count_hi"))
                    w = 0 if hi - lo >= 5 else 1
                    if c != ("estimate", round(mean, w), round(lo, w), round(hi, w)):
                        bad.append(f"fig4 slq task {i} {col}: {r[col]!r} != {mean:.2f} "
                                   f"[{lo:.2f}, {hi:.2f}]")
    mrow = [r for r in T[2]["rows"] if r["m"] == "1"]
    c = parse(mrow[0]["N_short"]) if mrow else ("?",)
    if c[0] != {"full": "exact", "lanczos": "lower", "slq": "estimate"}[m]:
        bad.append(f"fig4 {m}: m = 1 mean {mrow} is not a count of kind {m}")
    if n != 24:
        bad.append(f"fig4 {m}: {n} count cells in the optima and tunnel tables, want 24")
    srow = tables(open(f"{tmp}/s-{m}.txt").read())[1]["rows"][0]
    c = parse(srow["N_short (optima)"])
    opt = [i for i in H if d["hessian_at"][i] == 0]
    want = {"full": ("exact", round(float(np.mean(d["n_short"][opt])), 1)),
            "lanczos": ("lower", round(float(np.mean(d["n_short"][opt])), 1), False)}.get(m)
    if m == "slq":
        if c[0] != "estimate" or abs(c[1] - np.mean(s["slq_count"][opt, 1])) > 0.51:
            bad.append(f"summary slq: {srow['N_short (optima)']!r}")
    elif c != want:
        bad.append(f"summary {m}: N_short (optima) {srow['N_short (optima)']!r} != {want}")

# -- warnings: one per optimum with n_negative > 0, naming its seed; a closing count
for m in ("full", "lanczos", "slq"):
    d = F[m]
    opt = [i for i in H if d["hessian_at"][i] == 0]
    neg = [i for i in opt if d["n_negative"][i] > 0]
    for tool in ("h", "f", "s"):
        lines = [ln for ln in open(f"{tmp}/{tool}-{m}.txt").read().splitlines()
                 if ln.startswith("warning: ")]
        each = [ln for ln in lines if ln.startswith("warning: not a minimum: ")]
        got = sorted(int(ln.split("(Hessian task ")[1].split()[0]) for ln in each)
        if got != sorted(neg) or len(lines) != len(neg) + (1 if neg else 0):
            bad.append(f"{tool} {m}: warnings for tasks {got}, want {neg}: {lines}")
            continue
        for ln in each:
            i = int(ln.split("(Hessian task ")[1].split()[0])
            seed = int(d["seed"][i])
            if f"seed={seed} " not in ln or "below -lambda_thr = -0.01" not in ln or \
                    "lambda_min" not in ln:
                bad.append(f"{tool} {m}: warning line {ln!r}")
        if neg and not lines[-1].startswith(f"warning: {len(neg)} of {len(opt)} trained optima"):
            bad.append(f"{tool} {m}: closing line {lines[-1]!r}")
print(f"optima with n_negative > 0: full {sum(F['full']['n_negative'][i] > 0 for i in H if F['full']['hessian_at'][i] == 0)} of 3")
if bad:
    sys.exit("\n".join(bad[:40]))
EOF
then
    ok "sweeps: SLQ = the file (1e-12), recounts = stored, lower bounds <= exact, fig4/summary formats, warnings"
else
    fail "sweeps against the files (above)"
fi

# ---- warnings go away with n_negative = 0
cp "$tmp/full.nc" "$tmp/noneg.nc"
cp "$tmp/full.nc" "$tmp/oneneg.nc"
"$PYTHON3" - "$tmp/noneg.nc" "$tmp/oneneg.nc" <<'EOF'
import sys
import netCDF4
for path, keep in ((sys.argv[1], []), (sys.argv[2], [1])):
    with netCDF4.Dataset(path, "a") as f:
        f.set_auto_mask(False)
        K = dict(zip(f["kind"].flag_meanings.split(), f["kind"].flag_values))
        kind, at, seed, neg = f["kind"][:], f["hessian_at"][:], f["seed"][:], f["n_negative"][:]
        for i in range(len(kind)):
            if kind[i] == K["hessian"] and at[i] == 0 and seed[i] not in keep:
                neg[i] = 0
        f["n_negative"][:] = neg
EOF
cat >"$tmp/inproc.py" <<'EOF'
"""run(module, argv) -> (exit status, stdout, stderr): a tool's main() in this process."""
import contextlib, importlib, io


def run(module, argv):
    main = importlib.import_module(f"wedgeds.commands.{module}").main
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = main(argv)
        except SystemExit as e:
            rc = e.code
    return rc, out.getvalue(), err.getvalue()
EOF
if "$PYTHON3" - "$TOOLS" "$tmp" <<'EOF'
import sys
tools, tmp = sys.argv[1:3]
sys.path.insert(0, tools)
sys.path.insert(0, tmp)
from inproc import run

bad = []
for module in ("hessian", "summary", "fig4"):
    png = ["-o", f"{tmp}/neg.png"] if module == "fig4" else []
    _, none, _ = run(module, [f"{tmp}/noneg.nc"] + png)
    _, one, _ = run(module, [f"{tmp}/oneneg.nc"] + png)
    w0 = [ln for ln in none.splitlines() if ln.startswith("warning")]
    w1 = [ln for ln in one.splitlines() if ln.startswith("warning")]
    if w0 or len(w1) != 2 or not w1[0].startswith("warning: not a minimum: seed=1 ") or \
            not w1[1].startswith("warning: 1 of 3 trained optima"):
        bad.append(f"{module}: warnings without n_negative > 0: {w0}; with one: {w1}")
if bad:
    sys.exit("\n".join(bad))
EOF
then
    ok "wedge-hessian, summary, plot-fig4: no warning without n_negative > 0; one (seed=1) and '1 of 3' with one"
else
    fail "warnings with n_negative = 0 / at one optimum (above)"
fi

# ---- a full spectrum whose assembled matrix was not symmetric is flagged (noneg.nc,
# a real full output, has none: its products are symmetric to float precision)
cp "$tmp/noneg.nc" "$tmp/asym.nc"
if "$PYTHON3" - "$TOOLS" "$tmp" <<'EOF'
import sys
import netCDF4
tools, tmp = sys.argv[1:3]
sys.path.insert(0, tools)
sys.path.insert(0, tmp)
from inproc import run

with netCDF4.Dataset(f"{tmp}/asym.nc", "a") as f:
    f.set_auto_mask(False)
    K = dict(zip(f["kind"].flag_meanings.split(), f["kind"].flag_values))
    kind, task, a = f["kind"][:], f["task"][:], f["hessian_asymmetry"][:]
    h = [i for i in range(len(kind)) if kind[i] == K["hessian"]]
    real = max(a[i] for i in h)
    a[h[-1]] = 0.5
    f["hessian_asymmetry"][:] = a
bad = [] if real < 1e-6 else [f"the real full output has asymmetry {real:.3g}"]
for module in ("hessian", "summary", "fig4"):
    png = ["-o", f"{tmp}/asym.png"] if module == "fig4" else []
    _, out, _ = run(module, [f"{tmp}/asym.nc"] + png)
    w = [ln for ln in out.splitlines() if ln.startswith("warning")]
    if len(w) != 1 or not w[0].startswith("warning: asymmetric Hessian: ") or \
            f"(Hessian task {int(task[h[-1]])})" not in w[0]:
        bad.append(f"{module}: warnings {w}")
sys.exit("\n".join(bad) if bad else 0)
EOF
then
    ok "real full spectra symmetric to < 1e-6; one set to 0.5 is flagged by wedge-hessian, summary, plot-fig4"
else
    fail "asymmetry warnings (above)"
fi

# ---- 3. calibration on hand-made spectra and subspace accuracies
cp "$tmp/full.nc" "$tmp/cal.nc"
cp "$tmp/slq.nc" "$tmp/calslq.nc"
cat >"$tmp/setcal.py" <<'EOF'
import sys
import numpy as np
import netCDF4
# training test accuracy 0.5 (target 0.45 at fraction 0.9); subspace accuracy per seed
# at d = 50, 100, 200, 400: seed 0 crosses into (50, 100], seed 1 into (100, 200],
# seed 2 never reaches; optional: every seed already at d = 50 ("below")
CURVES = {0: [0.30, 0.46, 0.60, 0.60], 1: [0.20, 0.30, 0.47, 0.50], 2: [0.1, 0.2, 0.3, 0.4]}
path, what = sys.argv[1], sys.argv[2]
with netCDF4.Dataset(path, "a") as f:
    f.set_auto_mask(False)
    K = dict(zip(f["kind"].flag_meanings.split(), f["kind"].flag_values))
    kind, src, seed, ep = f["kind"][:], f["source_task"][:], f["seed"][:], f["epochs"][:]
    ta, sa, sd = f["test_accuracy"][:], f["subspace_test_accuracy"][:], f["subspace_d"][:]
    for j in np.flatnonzero(kind == K["train"]):
        ta[j, int(ep[j]) - 1] = 0.5
        c = [0.5] * 4 if what == "below" else CURVES[int(seed[j])]
        for i in np.flatnonzero((kind == K["subspace"]) & (src == j)):
            sa[i] = c[[50, 100, 200, 400].index(int(sd[i]))]
    f["test_accuracy"][:] = ta
    f["subspace_test_accuracy"][:] = sa
    if what in ("spectra", "below"):  # c x 0.99^i at the optima, c = seed + 1
        thr = float(f["n_short"].threshold)
        at, n = f["hessian_at"][:], f["hessian_n"][:]
        R = f["hessian_ritz"][:]
        counts = {v: f[v][:] for v in ("n_short_half", "n_short", "n_short_double")}
        for i in np.flatnonzero((kind == K["hessian"]) & (at == 0)):
            v = (seed[i] + 1.0) * 0.99 ** np.arange(int(n[i]))
            R[i, :int(n[i])] = v
            for name, fct in (("n_short_half", 0.5), ("n_short", 1.0), ("n_short_double", 2.0)):
                counts[name][i] = int(np.sum(v > fct * thr))
        f["hessian_ritz"][:] = R
        for name, c in counts.items():
            f[name][:] = c
    if what == "init":
        f.sweep_text = f.sweep_text.replace("at: optimum", "at: init")
EOF
"$PYTHON3" "$tmp/setcal.py" "$tmp/cal.nc" spectra
"$PYTHON3" "$tmp/setcal.py" "$tmp/calslq.nc" accuracies
if "$PYTHON3" "$HESS" "$tmp/cal.nc" --calibrate >"$tmp/cal.txt" 2>"$tmp/cal.err"; then
    ok "wedge-hessian --calibrate on hand-made spectra: $(grep '^Calibrated' "$tmp/cal.txt" | cut -c1-60)"
else
    fail "wedge-hessian --calibrate cal.nc: exit $?"; sed 's/^/    /' "$tmp/cal.err" "$tmp/cal.txt"
fi
if "$PYTHON3" - "$TOOLS" "$tmp" <<'EOF'
import math, sys
tools, tmp = sys.argv[1:3]
sys.path.insert(0, tools)
sys.path.insert(0, tmp)
import numpy as np
import wedgeds
from tables import parse, tables

bad = []
txt = open(f"{tmp}/cal.txt").read()
T = tables(txt)
cal = {int(r["seed"]): r for r in T[0]["rows"]}
v = {s: (s + 1.0) * 0.99 ** np.arange(610) for s in range(3)}
want = {0: (100, math.sqrt(v[0][100] * v[0][99])), 1: (200, math.sqrt(v[1][200] * v[1][199]))}
for s, (d, t) in want.items():
    r = cal[s]
    if r["d"] != str(d) or r["used"] != "yes" or r["N(>t) at t"] != str(d) or \
            abs(float(r["lambda_thr at d"]) - t) > 1e-4 * t:
        bad.append(f"seed {s}: {r} != d {d}, t {t:.6g}")
    lo, hi = (float(x) for x in r["range (exactly d)"].strip("[)").split(", "))
    if abs(lo - v[s][d]) > 1e-3 * lo or abs(hi - v[s][d - 1]) > 1e-3 * hi:
        bad.append(f"seed {s}: range {r['range (exactly d)']} != [{v[s][d]:.4g}, {v[s][d - 1]:.4g})")
if cal[2]["used"] != "no" or cal[2]["bracket"] != "> 400" or not cal[2]["lambda_thr at d"].startswith("< "):
    bad.append(f"seed 2 (never reached): {cal[2]}")
tcal = float(np.median([t for _, t in want.values()]))
line = [ln for ln in txt.splitlines() if ln.startswith("Calibrated lambda_thr = ")]
got = float(line[0].split()[3].rstrip(":")) if line else math.nan
if not abs(got - tcal) <= 1e-5 * tcal or "median over 2 of 3 optima" not in line[0]:
    bad.append(f"calibrated {line} != median {tcal:.6g} over 2 of 3")
per = {int(r["task"]): r for r in T[1]["rows"]}
ds = wedgeds.open_outputs(f"{tmp}/cal.nc")
hf = wedgeds.hessian_frame(ds)
for _, r in hf[hf.site == "optimum"].iterrows():
    s = int(r.seed)
    c = parse(per[int(r.task_id)][[k for k in T[1]["hdr"] if k.endswith("[1x]")][0]])
    if c != ("exact", float(np.sum(v[s] > got))):
        bad.append(f"seed {s}: count at the calibrated threshold {c} != {np.sum(v[s] > got)}")
# SLQ: the estimate crosses d at the calibrated node
ds = wedgeds.open_outputs(f"{tmp}/calslq.nc")
per, st = wedgeds.calibrate(ds)
spec = wedgeds.task_spectra(ds)
used = per[per.use]
if sorted(used.d) != [100.0, 200.0]:
    bad.append(f"slq: used d {list(used.d)} != 100, 200")
for _, r in used.iterrows():
    sp = spec[int(r.task_id)]
    nodes = np.unique(sp.nodes[sp.weights > 0])
    k = int(np.searchsorted(nodes, r.t))
    at = wedgeds.slq_estimate(sp.nodes, sp.weights, sp.dim, r.t)[0]
    before = wedgeds.slq_estimate(sp.nodes, sp.weights, sp.dim, nodes[k - 1])[0]
    if nodes[k] != r.t or not at < r.d <= before:
        bad.append(f"slq task {r.task_id}: estimate {before:.2f} -> {at:.2f} at t = {r.t:.5g} "
                   f"does not cross d = {r.d:.0f}")
if abs(st["t"] - float(np.median(used.t))) > 0 or st["n_used"] != 2:
    bad.append(f"slq study {st}")
if bad:
    sys.exit("\n".join(bad))
print(f"full: calibrated {got:.6g} (want {tcal:.6g}); slq: {st['t']:.4g} over {st['n_used']}")
EOF
then
    ok "calibration: d per optimum, thresholds, the median, counts at it; SLQ crosses d at its node"
else
    fail "calibration (above)"; sed 's/^/    /' "$tmp/cal.txt" | head -30
fi

# refusals
cp "$tmp/full.nc" "$tmp/below.nc"; "$PYTHON3" "$tmp/setcal.py" "$tmp/below.nc" below
cp "$tmp/cal.nc" "$tmp/init.nc"; "$PYTHON3" "$tmp/setcal.py" "$tmp/init.nc" init
# the same spectra and accuracies with the subspaces through the initialisation: the
# intrinsic dimension, the same thresholds, and the tables say which dimension it is
if "$PYTHON3" "$HESS" "$tmp/init.nc" --calibrate >"$tmp/init.txt" 2>"$tmp/init.err" &&
        a=$(grep '^Calibrated' "$tmp/cal.txt" | cut -d' ' -f4) &&
        b=$(grep '^Calibrated' "$tmp/init.txt" | cut -d' ' -f4) && [ -n "$a" ] && [ "$a" = "$b" ] &&
        grep -q "d = the intrinsic dimension .*through the training's initialisation" "$tmp/init.txt" &&
        grep -q "d = the local subspace dimension .*anchored at the optimum" "$tmp/cal.txt" &&
        grep -q '^Calibrated .* (intrinsic dimension)' "$tmp/init.txt"; then
    ok "--calibrate with subspaces through the initialisation: the intrinsic dimension, lambda_thr $b as anchored at the optima"
else
    fail "--calibrate init.nc: exit $?"; sed 's/^/    /' "$tmp/init.err" "$tmp/init.txt" | head -20
fi
cat >"$tmp/nosub.yaml" <<EOF
name: h-nosub
data: {name: synthetic, synthetic_train: 300, synthetic_test: 100, synthetic_size: 8}
model: {arch: mlp, depth: 1, hidden: 8}
train: {epochs: 1, batch_size: 32}
probes:
  hessian: {method: full, probe_size: 100, threshold: 0.01}
EOF
cat >"$tmp/nohess.yaml" <<EOF
name: h-nohess
data: {name: synthetic, synthetic_train: 300, synthetic_test: 100, synthetic_size: 8}
model: {arch: mlp, depth: 1, hidden: 8}
train: {epochs: 1, batch_size: 32}
EOF
for s in nosub nohess; do
    "$WEDGE" run "$tmp/$s.yaml" -o "$tmp/$s.nc" --quiet >/dev/null 2>&1 || fail "wedge run $s.yaml"
done
if "$PYTHON3" - "$TOOLS" "$tmp" <<'EOF'
import sys
tools, tmp = sys.argv[1:3]
sys.path.insert(0, tools)
sys.path.insert(0, tmp)
from inproc import run

bad = []
for f, args, pat in (
        ("below.nc", ["--calibrate"], "widen probes.subspace.dims"),
        ("nosub.nc", ["--calibrate"], "no subspace-training rows"),
        ("nohess.nc", [], "no Hessian"),
        ("full.nc", ["--threshold", "0"], "thresholds are numbers > 0"),
        ("full.nc", ["--threshold", "-0.001"], "thresholds are numbers > 0"),
        ("full.nc", ["--calibrate", "--threshold", "0.1"], "choose one"),
        ("full.nc", ["--calibrate", "--fraction", "0"], "must be in (0, 1]")):
    rc, out, err = run("hessian", [f"{tmp}/{f}"] + args)
    if rc != 2 or pat not in err:
        bad.append(f"wedge-hessian {f} {' '.join(args)}: exit {rc}, want 2 and '{pat}': {err}")
    else:
        print(f"    {f} {' '.join(args)}: {err.strip()[:100]}")
if bad:
    sys.exit("\n".join(bad))
EOF
then
    ok "wedge-hessian refuses: no bracketed d, no subspaces, no Hessians, bad options (exit 2)"
else
    fail "wedge-hessian refusals (above)"
fi
cp "$tmp/full.nc" "$tmp/wrong.nc"
"$PYTHON3" - "$tmp/wrong.nc" <<'EOF'
import sys
import netCDF4
with netCDF4.Dataset(sys.argv[1], "a") as f:
    f.set_auto_mask(False)
    K = dict(zip(f["kind"].flag_meanings.split(), f["kind"].flag_values))
    n = f["n_short"][:]
    i = [j for j, k in enumerate(f["kind"][:]) if k == K["hessian"]][0]
    n[i] += 1
    f["n_short"][:] = n
EOF
"$PYTHON3" "$HESS" "$tmp/wrong.nc" >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ $rc -eq 1 ] && grep -q '^CHECK FAILED' "$tmp/out" && grep -q 'n_short: recount .* != stored' "$tmp/out"; then
    ok "a stored n_short off by one: CHECK FAILED, exit 1"
else
    fail "a stored n_short off by one: exit $rc"; head -12 "$tmp/out" | sed 's/^/    /'
fi
if "$PYTHON3" "$HESS" --help >"$tmp/help" 2>&1 && grep -q 'Calibration (--calibrate)' "$tmp/help" &&
        grep -q 'Cauchy' "$tmp/help"; then
    ok "wedge-hessian --help documents re-thresholding and the calibration"
else
    fail "wedge-hessian --help"
fi

[ $nfail -eq 0 ] && echo "all checks passed"
exit $((nfail > 0))
