#!/usr/bin/env bash
# test_fig3_halves.sh: the halves and changed-labels statistics of
# tools/plot-fig3.py (wedge-plot-fig3) and wedgeds.orthogonality behind them.
#
# Runs two small sweeps (3 seeds each, one wedge process): a 1-connector with
# K = 5 points (odd: the middle point X_3 belongs to neither half) and one with
# K = 4.  Then checks:
#   - plot-fig3 --digits 12 prints a halves table whose within-first,
#     within-second, across, neighbour and separation equal a direct numpy
#     computation from the file's deviation_cosine (to 1e-9), names the middle
#     point for K = 5 and none for K = 4, whose RSS block is the residual of the
#     block means, whose RSS decay is sum (c - exp(-|i-j|/L))^2 at the printed L
#     and no larger than at L x (1 +- 1e-3) (a minimum), and whose "better" is the
#     smaller RSS; and a changed table whose values at 1/4, 1/2, 3/4 are the
#     file's path_changed_a/_b interpolated there and whose R^2 line and R^2 ramp
#     equal a brute-force refit (to 1e-9);
#   - deviation_halves on hand-made matrices: two perfect blocks (within 1,
#     across 0; K = 8 and K = 7) give separation 1, RSS block 0 and "block";
#     a smooth decay exp(-|i-j|/2) gives RSS decay < 1e-20, L = 2 (to 1e-8) and
#     "decay"; changed_shape on min(x, 0.5) gives R^2 ramp 1 at break 0.5 and
#     R^2 line < 0.9, on a straight line R^2 line = R^2 ramp = 1, on NaN (the
#     toy model has no predictions) NaN throughout.
# Uses $WEDGE, $top_srcdir, $PYTHON3 (tests/tools/lib.sh).  Exits 0 if every
# check passes, 1 otherwise.  ~5 s.
test_name=test_fig3_halves
. "${top_srcdir:-.}/tests/tools/lib.sh"

for K in 5 4; do
    cat >"$tmp/k$K.yaml" <<EOF
name: halves$K
seed: 1
data: {name: synthetic, synthetic_train: 300, synthetic_test: 100, synthetic_size: 12}
model: {arch: mlp, depth: 1, hidden: 16}
train: {epochs: 3, batch_size: 32}
sweep:
  seed: {range: [0, 3]}
connectors: {m: [1], points: $K, steps: 20, probe_size: 200, eval_points: 4}
EOF
    if ! "$WEDGE" run "$tmp/k$K.yaml" -o "$tmp/k$K.nc" --quiet >"$tmp/run$K.log" 2>&1; then
        echo "FAIL: wedge run k$K.yaml:"; sed 's/^/    /' "$tmp/run$K.log"; exit 1
    fi
    if "$PYTHON3" "$TOOLS/plot-fig3.py" "$tmp/k$K.nc" --digits 12 -o "$tmp/k$K.png" \
            >"$tmp/k$K.txt" 2>"$tmp/k$K.err"; then
        ok "plot-fig3 --digits 12 k$K.nc"
    else
        fail "plot-fig3 k$K.nc exited $?"; sed 's/^/    /' "$tmp/k$K.err"; continue
    fi
    if "$PYTHON3" - "$tmp/k$K.nc" "$tmp/k$K.txt" "$K" <<'EOF'
import sys
import numpy as np
import netCDF4

nc, txt, K = sys.argv[1], open(sys.argv[2]).read(), int(sys.argv[3])


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


T = tables(txt)
if len(T) != 4:
    sys.exit(f"expected 4 tables, got {len(T)}\n{txt}")
hv, ch = T[2], T[3]
with netCDF4.Dataset(nc) as f:
    f.set_auto_mask(False)
    kind = f["kind"][:]
    codes = dict(zip(f["kind"].flag_meanings.split(), np.atleast_1d(f["kind"].flag_values)))
    c = int(np.flatnonzero(kind == codes["connect"])[0])
    cos = f["deviation_cosine"][c][:K, :K].astype(float)
    ca = f["path_changed_a"][c][:K + 1].astype(float)
    cb = f["path_changed_b"][c][:K + 1].astype(float)
bad = []
h = K // 2
first, second = list(range(h)), list(range(K - h, K))
wf = [cos[i, j] for i in first for j in first if i < j]
ws = [cos[i, j] for i in second for j in second if i < j]
ac = [cos[i, j] for i in first for j in second]
want = {"within first half": np.mean(wf), "within second half": np.mean(ws),
        "across halves": np.mean(ac), "neighbours": np.mean([cos[i, i + 1] for i in range(K - 1)]),
        "separation": np.mean(wf + ws) - np.mean(ac)}
r = hv["rows"][0]
if int(r["connector task"]) != c or int(r["K"]) != K:
    bad.append(f"halves row {r} is not connector {c} with K = {K}")
mid = "X_3" if K == 5 else "-"
if r["middle (neither half)"] != mid:
    bad.append(f"middle {r['middle (neither half)']!r} != {mid!r}")
for k, v in want.items():
    if not close(r[k], v):
        bad.append(f"{k}: printed {r[k]} != numpy {v!r}")
pairs = [(i, j, cos[i, j], np.mean(wf)) for i in first for j in first if i < j] + \
        [(i, j, cos[i, j], np.mean(ws)) for i in second for j in second if i < j] + \
        [(i, j, cos[i, j], np.mean(ac)) for i in first for j in second]
d = np.array([abs(i - j) for i, j, _, _ in pairs], float)
cv = np.array([p[2] for p in pairs])
rss_block = float(np.sum((cv - np.array([p[3] for p in pairs])) ** 2))
if not close(r["RSS block"], rss_block):
    bad.append(f"RSS block {r['RSS block']} != {rss_block!r}")
L = float(r["decay L"])
rss = lambda L: float(np.sum((cv - np.exp(-d / L)) ** 2))  # noqa: E731
if not close(r["RSS decay"], rss(L)):
    bad.append(f"RSS decay {r['RSS decay']} != sum (c - exp(-d/L))^2 = {rss(L)!r} at L = {L}")
if rss(L) > min(rss(L * 1.001), rss(L * 0.999)) + 1e-12:
    bad.append(f"L = {L} is no minimum of the decay RSS")
if r["better"] != ("block" if rss_block < rss(L) else "decay"):
    bad.append(f"better {r['better']} with RSS block {rss_block}, decay {rss(L)}")
# changed: vs O1 at the sampled positions, vs O2 mirrored with O2 itself (0) added
E = ca.shape[1]
pos = ((np.arange(K + 1)[:, None] + np.arange(E)[None, :] / E) / (K + 1)).ravel()
curves = {"O1": (pos, ca.ravel()), "O2": (np.append(1 - pos, 0.0), np.append(cb.ravel(), 0.0))}
for row in ch["rows"][:2]:
    x, y = curves[row["vs"]]
    o = np.argsort(x)
    x, y = x[o], y[o]
    for col, at in (("at 1/4", 0.25), ("at 1/2", 0.5), ("at 3/4", 0.75)):
        if not close(row[col], np.interp(at, x, y)):
            bad.append(f"changed vs {row['vs']} {col}: {row[col]} != {np.interp(at, x, y)!r}")
    tss = np.sum((y - y.mean()) ** 2)
    fit = np.polyval(np.polyfit(x, y, 1), x)
    r2l = 1 - np.sum((y - fit) ** 2) / tss
    r2r = max(1 - np.sum((y - np.polyval(np.polyfit(np.minimum(x, x0), y, 1),
                                         np.minimum(x, x0))) ** 2) / tss
              for x0 in x if x0 >= 0.1)
    if not close(row["R^2 line"], r2l) or not close(row["R^2 ramp"], r2r):
        bad.append(f"changed vs {row['vs']}: R^2 line/ramp {row['R^2 line']}/{row['R^2 ramp']} "
                   f"!= {r2l!r}/{r2r!r}")
if [row["vs"] for row in ch["rows"]] != ["O1", "O2", ""]:
    bad.append(f"changed table rows {[row['vs'] for row in ch['rows']]}")
if bad:
    sys.exit("\n".join(bad) + "\n" + txt)
print(f"    separation {float(r['separation']):.3f}, better {r['better']}")
EOF
    then
        ok "K = $K: halves and changed tables = numpy from the file (1e-9)"
    else
        fail "K = $K: tables vs the file (above)"
    fi
done

if out=$(cd "$TOOLS" && "$PYTHON3" - <<'EOF'
import sys
import numpy as np
from wedgeds.orthogonality import changed_shape, deviation_halves

bad = []
for K in (8, 7):
    B = np.zeros((K, K))
    h = K // 2
    B[:h, :h] = 1
    B[K - h:, K - h:] = 1
    if K % 2:
        B[h, :], B[:, h] = 0.3, 0.3  # the middle point's pairs are in no block
    np.fill_diagonal(B, 1)
    s = deviation_halves(B)
    if not (s["separation"] == 1 and s["rss_block"] == 0 and s["within"] == 1 and
            s["across"] == 0 and s["better"] == "block" and s["rss_decay"] > 0.1):
        bad.append(f"two perfect blocks, K = {K}: {s}")
i = np.arange(8)
s = deviation_halves(np.exp(-abs(i[:, None] - i[None, :]) / 2.0))
if not (s["rss_decay"] < 1e-20 and abs(s["decay_L"] - 2) < 1e-8 and s["better"] == "decay"
        and s["rss_block"] > 0.1):
    bad.append(f"smooth decay exp(-|i-j|/2): {s}")
x = np.linspace(0, 1, 21)
s = changed_shape(x, np.minimum(x, 0.5))
if not (abs(s["r2_ramp"] - 1) < 1e-12 and s["break_at"] == 0.5 and s["r2_line"] < 0.9):
    bad.append(f"ramp then plateau: {s}")
s = changed_shape(x, 0.2 + 0.6 * x)
if not (abs(s["r2_line"] - 1) < 1e-12 and abs(s["r2_ramp"] - 1) < 1e-12):
    bad.append(f"straight line: {s}")
s = changed_shape(x, np.full(x.size, np.nan))  # the toy model: no predictions
if not all(np.isnan(v) for v in s.values()):
    bad.append(f"no finite samples: {s}")
sys.exit("\n".join(bad) if bad else 0)
EOF
); then
    ok "hand-made: two blocks -> separation 1, RSS block 0; exp decay -> decay wins; ramp/line shapes"
else
    fail "hand-made matrices: $out"
fi

[ $nfail = 0 ] && echo "PASS: $test_name" || echo "FAIL: $test_name ($nfail)"
[ $nfail = 0 ]
