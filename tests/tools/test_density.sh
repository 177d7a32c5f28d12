#!/usr/bin/env bash
# test_density.sh: tools/plot-density.py (wedge-plot-density), the Hessian's
# spectral density at optima, tunnel points and m-connector centres.
#
# One small sweep (3 seeds; Hessians at the optima and at every connector point of
# connectors m = 1, 2) run with method full and with method slq, then:
#   - both write a valid PNG (> 10 kB) at the default path <name>-density.png;
#   - the printed table: places "trained optima" (3 tasks), "tunnel points" (3),
#     "m-connector centres" (1); the trace (full: the mean of the eigenvalue sums,
#     computed here; SLQ: the mean of hessian_trace with sqrt(sum se^2)/n), the
#     count above lambda_thr (full: the mean n_short; SLQ: the mean slq_count
#     [mean lo, mean hi]), the largest eigenvalue and sigma as computed here;
#   - the curves written by --csv: each task's density equals the plain sum of
#     Gaussians of the C formula (rho = (1/nprobe) sum w N(x; theta, sigma^2),
#     sigma^2 = 1e-5 max(1, mean range + 0.02)) computed here at 200 grid points
#     (1e-9 relative where it is above 1e-6 of its peak), integrates to 1 over
#     the grid (1e-6), and each place's curve is the mean of its tasks';
#   - full and SLQ see the same points: their mean densities at the optima put the
#     same mass above lambda_thr to within 0.05 (the probes' noise of that mean is about
#     0.005 here: 8 probes);
#   - a Lanczos study: exit 2, "no quadrature weights", no PNG; --xlim 1 0: exit 2;
#   - the slq sweep again with `lockstep: yes` (the probes advance together, one
#     block product per step): the same trainings and connectors bitwise, the same
#     products spent, SLQ nodes within 1e-5 of the largest of the serial run's and
#     counts within 0.01 (the block product rounds differently, ~1e-7 relative),
#     but not bitwise equal (which would mean the option was not used);
#     with `memory_mb: 16` and 100 probes x 60 steps (30.7 MB of bases) the sweep
#     is refused at its line before any training: exit 1, no output.
# Uses $WEDGE (default ./wedge), $top_srcdir (default .), $PYTHON3 (default
# /usr/bin/python3).  Exits 0 if every check passes, 1 otherwise.  ~15 s.
test_name=test_density
. "${top_srcdir:-.}/tests/tools/lib.sh"
PLOT=$TOOLS/plot-density.py

png_ok() { # FILE: a PNG of more than 10 kB
    [ -f "$1" ] && [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] &&
        [ "$(wc -c <"$1")" -gt 10240 ]
}

for m in full slq lanczos slq-lock; do
    case $m in
        full) extra="method: full" ;;
        slq) extra="method: slq, nprobe: 8, nsteps: 60" ;;
        slq-lock) extra="method: slq, nprobe: 8, nsteps: 60, lockstep: yes" ;;
        lanczos) extra="method: lanczos, budget: 50" ;;
    esac
    cat >"$tmp/$m.yaml" <<EOF
name: d-$m
data: {name: synthetic, synthetic_train: 300, synthetic_test: 100, synthetic_size: 8}
model: {arch: mlp, depth: 1, hidden: 8}
train: {epochs: 3, batch_size: 32}
sweep: {seed: [0, 1, 2]}
probes:
  hessian: {$extra, probe_size: 200, threshold: 0.01, at: [optima, connectors]}
connectors: {m: [1, 2], points: 3, steps: 20, probe_size: 200}
EOF
    if ! "$WEDGE" run "$tmp/$m.yaml" -o "$tmp/$m.nc" --quiet >"$tmp/run-$m.log" 2>&1; then
        echo "FAIL: wedge run $m.yaml:"; sed 's/^/    /' "$tmp/run-$m.log"; exit 1
    fi
done

for m in full slq; do
    if "$PYTHON3" "$PLOT" "$tmp/$m.nc" --csv "$tmp/$m.csv" >"$tmp/$m.txt" 2>"$tmp/$m.err"; then
        ok "plot-density $m.nc: $(tail -1 "$tmp/$m.err")"
    else
        fail "plot-density $m.nc: exit $?"; sed 's/^/    /' "$tmp/$m.err"
    fi
    png=$tmp/d-$m-density.png  # the default: <title>-density.png beside the input
    if png_ok "$png"; then
        ok "default output $(basename "$png") is a PNG of $(wc -c <"$png") bytes"
    else
        fail "no valid PNG > 10 kB at $png"; ls -l "$tmp"
    fi
done

if "$PYTHON3" - "$tmp" <<'EOF'
import math, sys
tmp = sys.argv[1]
import numpy as np
import netCDF4

bad = []


def table(txt):
    rows, hdr = [], None
    for line in txt.splitlines():
        if not line.startswith("|"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        if hdr is None:
            hdr = cells
        elif not cells[0].startswith("---"):
            rows.append(dict(zip(hdr, cells)))
    return {r["place"]: r for r in rows}


def sigma(nodes, weights):
    r = [n[w > 0].max() - n[w > 0].min() for n, w in zip(nodes, weights)]
    return math.sqrt(1e-5 * max(1.0, float(np.mean(r)) + 0.02))


def density(nodes, weights, s, x):
    ok = weights > 0
    th, w = nodes[ok], weights[ok] / nodes.shape[0]
    return np.array([np.sum(w * np.exp(-0.5 * ((xi - th) / s) ** 2)) for xi in x]) / \
        (s * math.sqrt(2 * math.pi))


mass = {}
for m in ("full", "slq"):
    with netCDF4.Dataset(f"{tmp}/{m}.nc") as f:
        f.set_auto_mask(False)
        K = dict(zip(f["kind"].flag_meanings.split(), f["kind"].flag_values))
        kind, at, src = f["kind"][:], f["hessian_at"][:], f["source_task"][:]
        thr = float(f["n_short"].threshold)
        H = [int(i) for i in np.flatnonzero(kind == K["hessian"])]
        cm = f["connector_m"][:]
        if m == "full":
            n = f["hessian_n"][:]
            R = f["hessian_ritz"][:]
            quad = {i: (R[i][None, :int(n[i])], np.full((1, int(n[i])), 1.0 / int(n[i])))
                    for i in H}
            ns = f["n_short"][:]
        else:
            quad = {i: (f["slq_nodes"][i], f["slq_weights"][i]) for i in H}
            tr, trse = f["hessian_trace"][:], f["hessian_trace_se"][:]
            sc, lo, hi = f["slq_count"][:, 1], f["slq_count_lo"][:, 1], f["slq_count_hi"][:, 1]
    place = {i: "trained optima" if at[i] == 0 else
             "tunnel points (1-connectors)" if cm[src[i]] == 1 else "m-connector centres"
             for i in H}
    T = table(open(f"{tmp}/{m}.txt").read())
    for p, want_n in (("trained optima", 3), ("tunnel points (1-connectors)", 3),
                      ("m-connector centres", 1)):
        ts = [i for i in H if place[i] == p]
        r = T.get(p)
        if r is None or r["tasks"] != str(want_n) or len(ts) != want_n:
            bad.append(f"{m}: place {p}: row {r}, {len(ts)} tasks, want {want_n}")
            continue
        if m == "full":
            trace = np.mean([quad[i][0].sum() for i in ts])
            cnt = float(np.mean(ns[ts]))
            want_cnt = f"{cnt:.1f}" if want_n > 1 else f"{cnt:.0f}"
            got_tr = float(r["trace of H"].split(" (")[0])
        else:
            trace = np.mean(tr[ts])
            se = math.sqrt(np.sum(trse[ts] ** 2)) / len(ts)
            got_tr, got_se = (float(x) for x in r["trace of H"].split(" (")[0].split(" ± "))
            if abs(got_se - se) > 0.01 * se:
                bad.append(f"slq {p}: trace se {got_se} != {se:.3g}")
            c, l, h = (float(np.mean(x[ts])) for x in (sc, lo, hi))
            w = 0 if h - l >= 5 else 1
            want_cnt = f"{c:.{w}f} [{l:.{w}f}, {h:.{w}f}]"
        if abs(got_tr - trace) > 1e-3 * abs(trace):
            bad.append(f"{m} {p}: trace {r['trace of H']} != {trace:.4g}")
        if r[f"N(> {thr:g})"] != want_cnt:
            bad.append(f"{m} {p}: N(> thr) {r[f'N(> {thr:g})']!r} != {want_cnt!r}")
        lmax = np.mean([quad[i][0][quad[i][1] > 0].max() for i in ts])
        if abs(float(r["largest eigenvalue"]) - lmax) > 1e-3 * abs(lmax):
            bad.append(f"{m} {p}: largest eigenvalue {r['largest eigenvalue']} != {lmax:.4g}")
        sg = [sigma(*quad[i]) for i in ts]
        got = [float(x) for x in r["sigma"].split(" .. ")]
        if abs(got[0] - min(sg)) > 1e-3 * min(sg) or abs(got[-1] - max(sg)) > 1e-3 * max(sg):
            bad.append(f"{m} {p}: sigma {r['sigma']} != {min(sg):.3g} .. {max(sg):.3g}")
    # the curves
    with open(f"{tmp}/{m}.csv") as f:
        hdr = f.readline().strip().split(",")
    C = np.loadtxt(f"{tmp}/{m}.csv", delimiter=",", skiprows=1)
    x = C[:, 0]
    dx = np.diff(x)
    if not np.allclose(dx, dx[0], rtol=1e-9):
        bad.append(f"{m}: the grid is not evenly spaced")
    col = {h: C[:, k] for k, h in enumerate(hdr)}
    pick = np.linspace(0, x.size - 1, 200).astype(int)
    worst = 0.0
    for i in H:
        rho = col.get(f"task {i}")
        if rho is None:
            bad.append(f"{m}: no column for task {i}")
            continue
        ref = density(*quad[i], sigma(*quad[i]), x[pick])
        big = ref > 1e-6 * ref.max()
        e = np.max(np.abs(rho[pick][big] - ref[big]) / ref[big])
        worst = max(worst, e)
        integral = float(np.sum(rho) * dx[0])
        if e > 1e-9 or abs(integral - 1) > 1e-6:
            bad.append(f"{m} task {i}: relative error {e:.2g} against the plain sum, "
                       f"integral {integral:.8f}")
    for p in ("trained optima", "tunnel points (1-connectors)", "m-connector centres"):
        ts = [i for i in H if place[i] == p]
        mean = np.mean([col[f"task {i}"] for i in ts], axis=0)
        if not np.allclose(col[f"mean {p}"], mean, rtol=1e-12, atol=0):
            bad.append(f"{m} {p}: the place's curve is not the mean of its tasks'")
    mass[m] = float(np.sum(col["mean trained optima"][x > thr]) * dx[0])
    print(f"{m}: density = plain sum to {worst:.2g}; mass above lambda_thr at the optima "
          f"{mass[m]:.4f}")
if abs(mass["full"] - mass["slq"]) > 0.05:
    bad.append(f"mass above lambda_thr at the optima: full {mass['full']:.4f}, "
               f"slq {mass['slq']:.4f}")
if bad:
    sys.exit("\n".join(bad))
EOF
then
    ok "table (places, traces, counts, sigma) and the curves (= plain sum, integral 1, means) of full and slq"
else
    fail "density table and curves (above)"; sed 's/^/    /' "$tmp/full.txt" "$tmp/slq.txt"
fi

if "$PYTHON3" - "$tmp" <<'EOF'
import sys
import numpy as np
import netCDF4
tmp, bad = sys.argv[1], []
a, b = (netCDF4.Dataset(f"{tmp}/{m}.nc") for m in ("slq", "slq-lock"))
for f in (a, b):
    f.set_auto_mask(False)
K = dict(zip(a["kind"].flag_meanings.split(), a["kind"].flag_values))
kind = a["kind"][:]
H = np.flatnonzero(kind == K["hessian"])
if "lockstep: yes" not in b.sweep_text or "lockstep" in a.sweep_text:
    bad.append("sweep_text does not tell the lockstep run")
for v in ("params", "connector_points"):
    if v in a.variables and not np.array_equal(a[v][:], b[v][:]):
        bad.append(f"{v} differ: the trainings or connectors are not the same")
if not np.array_equal(a["hessian_hvps"][H], b["hessian_hvps"][H]):
    bad.append(f"products spent {a['hessian_hvps'][H]} against {b['hessian_hvps'][H]}")
na, nb = a["slq_nodes"][H], b["slq_nodes"][H]
rel = float(np.max(np.abs(na - nb)) / np.max(np.abs(na)))
dc = float(np.max(np.abs(a["slq_count"][H] - b["slq_count"][H])))
if rel > 1e-5 or dc > 0.01:
    bad.append(f"lockstep nodes differ by {rel:.2g} of the largest, counts by {dc:.2g}")
# the block product of this MLP rounds differently from single ones (1.2e-7 of the
# largest node measured): equal bits would mean the option never reached the probe
if rel == 0:
    bad.append("lockstep nodes are bitwise the serial ones: was lockstep used?")
print(f"{len(H)} counts: nodes within {rel:.2g} of the largest, counts within {dc:.2g}")
if bad:
    sys.exit("\n".join(bad))
EOF
then
    ok "lockstep: yes gives the serial SLQ's spectra and counts to rounding"
else
    fail "lockstep against serial SLQ (above)"
fi
sed -e 's/lockstep: yes/lockstep: yes, memory_mb: 16/' -e 's/nprobe: 8/nprobe: 100/' \
    -e 's/name: d-slq-lock/name: d-mem/' "$tmp/slq-lock.yaml" >"$tmp/mem.yaml"
"$WEDGE" run "$tmp/mem.yaml" -o "$tmp/mem.nc" >"$tmp/mem.log" 2>&1
rc=$?
# 100 probes x 8 (60 x 610 + 60^2) bytes = 30.7 MB of 2^20 bytes
if [ $rc -eq 1 ] && grep -q "mem.yaml:7:[0-9]*: probes.hessian.lockstep: 100 bases of 60 x 610 need 30.7 MB, more than memory_mb (16)" \
    "$tmp/mem.log" && ! ls -d "$tmp"/mem.nc* >/dev/null 2>&1; then
    ok "lockstep beyond memory_mb: refused before any training, exit 1, $(cut -c1-90 "$tmp/mem.log" | sed 's|.*/||')"
else
    fail "lockstep beyond memory_mb: exit $rc"; sed 's/^/    /' "$tmp/mem.log"; ls -d "$tmp"/mem.nc*
fi

"$PYTHON3" "$PLOT" "$tmp/lanczos.nc" -o "$tmp/l.png" >/dev/null 2>"$tmp/l.err"
rc=$?
if [ $rc -eq 2 ] && grep -q 'no quadrature weights' "$tmp/l.err" && [ ! -e "$tmp/l.png" ]; then
    ok "a Lanczos study: exit 2 ($(cut -c1-100 "$tmp/l.err"))"
else
    fail "a Lanczos study: exit $rc, want 2"; sed 's/^/    /' "$tmp/l.err"
fi
"$PYTHON3" "$PLOT" "$tmp/full.nc" --xlim 1 0 -o "$tmp/x.png" >/dev/null 2>"$tmp/x.err"
rc=$?
if [ $rc -eq 2 ] && grep -q 'LO must be below HI' "$tmp/x.err" && [ ! -e "$tmp/x.png" ]; then
    ok "--xlim 1 0: exit 2"
else
    fail "--xlim 1 0: exit $rc"; sed 's/^/    /' "$tmp/x.err"
fi

[ $nfail -eq 0 ] && echo "all checks passed"
exit $((nfail > 0))
