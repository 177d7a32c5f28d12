#!/usr/bin/env bash
# test_fig5_radius.sh: tools/plot-fig5-radius.py (wedge-plot-fig5-radius), tunnel
# width against training progress.
#
# One small sweep (2 learning rates x 2 seeds, tunnel probes at epochs 1, 2, 4)
# and then:
#   - the tool writes a PNG (> 10 kB) at the default path <name>-fig5-radius.png;
#   - "at the end": per lr, the mean phi over seeds equals the mean of the file's
#     tunnel_phi (level 1.0) at each training's last probe epoch (to the printed
#     2 decimals), and |P0|, L(P0) likewise;
#   - matched tables at explicit --at-norm and --at-loss targets (phi at both, the
#     distance, median a*, at the losses): every cell's mean equals this test's own
#     interpolation from the file (linear in log |P0| or log L between the two
#     probes of that training around the target), to the printed 2 decimals, and a
#     target no training brackets gives "-";
#   - Kendall's tau on the table's last row equals tau-a of lr against the means;
#   - one probe epoch only: exit 2 with a message naming probes: tunnel: epochs;
#     a bad --at-norm: exit 2.
# Uses $WEDGE (default ./wedge), $top_srcdir (default .), $PYTHON3.  ~20 s.
test_name=test_fig5_radius
. "${top_srcdir:-.}/tests/tools/lib.sh"
PLOT=$TOOLS/plot-fig5-radius.py

cat >"$tmp/r.yaml" <<EOF
name: radius
data: {name: synthetic, synthetic_train: 400, synthetic_test: 100, synthetic_size: 8}
model: {arch: mlp, depth: 1, hidden: 16}
train: {epochs: 4, batch_size: 32}
sweep: {train.lr: [3.0e-3, 3.0e-2], seed: [0, 1]}
probes:
  tunnel: {epochs: [1, 2, 4], directions: 6, probe_size: 200, chance: false}
EOF
sed -e 's/name: radius/name: radius1/' -e 's/epochs: \[1, 2, 4\]/epochs: [4]/' \
    "$tmp/r.yaml" >"$tmp/r1.yaml"
for s in r r1; do
    if ! "$WEDGE" run "$tmp/$s.yaml" -o "$tmp/$s.nc" --quiet >"$tmp/run-$s.log" 2>&1; then
        echo "FAIL: wedge run $s.yaml:"; sed 's/^/    /' "$tmp/run-$s.log"; exit 1
    fi
done

# targets inside the trajectories: the geometric means of neighbouring probes of
# seed 0 at the smaller lr, and one target beyond every probe
targets=$("$PYTHON3" - "$tmp/r.nc" <<'EOF'
import sys, numpy as np, netCDF4
with netCDF4.Dataset(sys.argv[1]) as f:
    f.set_auto_mask(False)
    K = dict(zip(f["kind"].flag_meanings.split(), f["kind"].flag_values))
    kind, src, ep = f["kind"][:], f["source_task"][:], f["probe_epoch"][:]
    norm, loss = f["tunnel_norm"][:], f["tunnel_loss0"][:]
    tr = int(np.flatnonzero(kind == K["train"])[0])
    rows = sorted(np.flatnonzero((kind == K["tunnel"]) & (src == tr)), key=lambda i: ep[i])
    n = [norm[i] for i in rows]; l = [loss[i] for i in rows]
    print(f"{np.sqrt(n[0]*n[1]):.6g} {1e6:g}", f"{np.sqrt(l[1]*l[2]):.6g} {1e-9:g}")
EOF
) || { echo "FAIL: reading r.nc"; exit 1; }
set -- $targets
at_norm="$1 $2"; at_loss="$3 $4"

if "$PYTHON3" "$PLOT" "$tmp/r.nc" --at-norm $at_norm --at-loss $at_loss >"$tmp/out.txt" 2>"$tmp/err.txt"; then
    ok "plot-fig5-radius r.nc: $(tail -1 "$tmp/err.txt")"
else
    fail "plot-fig5-radius r.nc: exit $?"; sed 's/^/    /' "$tmp/err.txt"
fi
png=$tmp/radius-fig5-radius.png
if [ -f "$png" ] && [ "$(head -c 8 "$png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] &&
    [ "$(wc -c <"$png")" -gt 10240 ]; then
    ok "default output $(basename "$png"): a PNG of $(wc -c <"$png") bytes"
else
    fail "no valid PNG > 10 kB at $png"
fi

if "$PYTHON3" - "$tmp/r.nc" "$tmp/out.txt" "$at_norm" "$at_loss" <<'EOF'
import math, re, sys
import numpy as np, netCDF4

nc, out, at_norm, at_loss = sys.argv[1:]
at_norm = [float(x) for x in at_norm.split()]
at_loss = [float(x) for x in at_loss.split()]
bad = []

tables, cur = [], None
for line in open(out).read().splitlines():
    if line.startswith("|") and not set(line) <= set("|-: "):
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip("|"))]
        if cur is None:
            cur = {"hdr": cells, "rows": []}
            tables.append(cur)
        else:
            cur["rows"].append(cells)
    elif not line.startswith("|"):
        cur = None
if len(tables) != 4:
    sys.exit(f"expected 4 tables (end, phi at matched radius, phi and distance at matched "
             f"loss), got {len(tables)}")

with netCDF4.Dataset(nc) as f:
    f.set_auto_mask(False)
    K = dict(zip(f["kind"].flag_meanings.split(), f["kind"].flag_values))
    kind, src, ep = f["kind"][:], f["source_task"][:], f["probe_epoch"][:]
    lr, seed = f["lr"][:], f["seed"][:]
    levels = list(f["level"][:])
    phi = np.degrees(f["tunnel_phi"][:, levels.index(1.0)])
    norm, loss = f["tunnel_norm"][:], f["tunnel_loss0"][:]
    astar = f["tunnel_astar"][:, :, levels.index(1.0)].astype(float)
# median a* over the directions, a direction that never reached the level (NaN) as +inf
dist = np.median(np.where(np.isnan(astar), np.inf, astar), axis=1)
traj = {}
for t in np.flatnonzero(kind == K["train"]):
    rows = sorted(np.flatnonzero((kind == K["tunnel"]) & (src == t)), key=lambda i: ep[i])
    traj.setdefault(float(lr[t]), []).append(
        (np.array([norm[i] for i in rows]), np.array([loss[i] for i in rows]),
         np.array([phi[i] for i in rows]), np.array([dist[i] for i in rows])))


def interp(x, p, target):
    for j in range(len(x) - 1):
        a, b = math.log(x[j]), math.log(x[j + 1])
        if min(a, b) <= math.log(target) <= max(a, b):
            return p[j] + (math.log(target) - a) / (b - a) * (p[j + 1] - p[j])
    return math.nan


def mean_of(cell):
    return math.nan if cell == "-" else float(cell.split()[0])


def close(got, want):
    return (math.isnan(got) and math.isnan(want)) or abs(got - want) <= 0.0051


def tau(x, y):
    s = sum(np.sign(x[i] - x[j]) * np.sign(y[i] - y[j])
            for i in range(len(x)) for j in range(i + 1, len(x)))
    return s / (len(x) * (len(x) - 1) / 2)


end = tables[0]
lrs = sorted(traj)
rows = {float(r[0]): r for r in end["rows"] if r[0] not in ("", "Kendall tau")}
if sorted(rows) != lrs:
    bad.append(f"end table lr {sorted(rows)}, want {lrs}")
for v in lrs:
    r = rows.get(v)
    if r is None:
        continue
    for col, k, tol in (("phi (deg)", 2, 0.0051), ("L(P0)", 1, 0.00051), ("distance", 3, None)):
        want = np.mean([t[k][-1] for t in traj[v]])
        got = mean_of(r[end["hdr"].index(col)])
        tol = tol or 0.00051 * 10 ** math.floor(math.log10(abs(want)))  # 4 significant digits
        if not abs(got - want) <= tol:
            bad.append(f"end lr {v}: {col} {got}, want {want:.4f}")
tau_end = [r for r in end["rows"] if r[0] == "Kendall tau" or "Kendall tau" in r]
want_tau = tau(lrs, [np.mean([t[2][-1] for t in traj[v]]) for v in lrs])
got_tau = float(tau_end[0][end["hdr"].index("phi (deg)")]) if tau_end else math.nan
if not abs(got_tau - want_tau) < 0.006:
    bad.append(f"end: Kendall tau {got_tau}, want {want_tau:+.2f}")

for tab, targets, k, y, what in ((tables[1], at_norm, 0, 2, "radius"),
                                 (tables[2], at_loss, 1, 2, "loss"),
                                 (tables[3], at_loss, 1, 3, "loss, distance")):
    rows = {float(r[0]): r for r in tab["rows"] if r[0] not in ("", "Kendall tau")}
    for v in lrs:
        for j, target in enumerate(targets):
            vals = [interp(t[k], t[y], target) for t in traj[v]]
            vals = [x for x in vals if not math.isnan(x)]
            want = np.mean(vals) if vals else math.nan
            got = mean_of(rows[v][2 + j])
            if not close(got, want):
                bad.append(f"matched {what} {target:g}, lr {v}: {got}, want {want}")
    beyond = [rows[v][2 + len(targets) - 1] for v in lrs]
    if any(c != "-" for c in beyond):
        bad.append(f"matched {what}: a target beyond every probe gives {beyond}, want '-'")
for b in bad:
    print("FAIL:", b)
print(f"ok: tables match the file ({len(lrs)} lrs, targets {at_norm[0]:.4g} and "
      f"{at_loss[0]:.4g}, end tau {want_tau:+.2f})" if not bad else "")
sys.exit(1 if bad else 0)
EOF
then :; else nfail=$((nfail + 1)); fi

"$PYTHON3" "$PLOT" "$tmp/r1.nc" -o "$tmp/x.png" >"$tmp/one.txt" 2>"$tmp/one.err"
rc=$?
if [ $rc = 2 ] && grep -q "probes: tunnel: epochs" "$tmp/one.err"; then
    ok "one probed epoch: exit 2, $(cat "$tmp/one.err")"
else
    fail "one probed epoch: exit $rc, $(cat "$tmp/one.err")"
fi
"$PYTHON3" "$PLOT" "$tmp/r.nc" --at-norm -1 -o "$tmp/x.png" >/dev/null 2>"$tmp/bad.err"
rc=$?
[ $rc = 2 ] && ok "--at-norm -1: exit 2" || fail "--at-norm -1: exit $rc $(cat "$tmp/bad.err")"

[ $nfail = 0 ] && echo "PASS: test_fig5_radius" || echo "FAIL: test_fig5_radius ($nfail)"
[ $nfail = 0 ]
