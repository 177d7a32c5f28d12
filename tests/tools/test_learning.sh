#!/usr/bin/env bash
# test_learning.sh: wedge-plot-learning, the figures' labels, and wedge-summary's
# "did not learn" flag.
#
# Runs a 6-task sweep like tests/sweeps/e2e/diverge.yaml: plain SGD (momentum 0.9)
# on synthetic data at lr 0.1 (learns: test accuracy well above chance), lr 1000
# (finishes, but at chance) and lr 1e30 (diverges), 2 seeds each.  Checks:
#   - wedge-summary marks lr 1000 "NO" and lr 0.1 "yes", lr 1e30 as 2 diverged,
#     and counts "Did not learn: 2 of 4 done trainings"; after raising one lr 0.1
#     training's last-epoch loss above its first (a copy of the file), that row
#     reads "NO 1/2" and the count line names one rising loss;
#   - wedge-plot-learning writes a PNG and a table with every epoch of lr 0.1 and
#     lr 1000 whose means equal the file's (netCDF4, by hand), "0/2" seeds for
#     lr 1e30; --spread sd says sd;
#   - the figure (matplotlib objects, captured in-process): y labels are
#     wedgeds.labels.axis() of train_loss, test_loss, train_accuracy,
#     test_accuracy, x labels "epoch" with whole-number ticks, one legend entry
#     per plotted setting naming the setting only (no seeds, no spread), the
#     spread said once in the caption; --print-labels prints the same labels;
#   - wedge-plot-fig5 --print-labels on a tunnel sweep: "learning rate", the
#     table's phi and a* labels (units on a*), a log axis with a tick per lr.
# Uses $WEDGE, $top_srcdir, $PYTHON3.  Exits 0 if every check passes, 1 otherwise.
test_name=test_learning
. "${top_srcdir:-.}/tests/tools/lib.sh"

cat >"$tmp/dnl.yaml" <<'EOF'
name: learning-demo
seed: 7
data: {name: synthetic, synthetic_train: 1000, synthetic_test: 200, synthetic_size: 12}
model: {arch: mlp, depth: 1, hidden: 32, activation: relu}
train: {optimizer: sgd, momentum: 0.9, lr: 1.0e-3, batch_size: 32, epochs: 5}
sweep:
  train.lr: [0.1, 1000, 1.0e30]
  seed: {range: [0, 2]}
EOF
"$WEDGE" run "$tmp/dnl.yaml" -o "$tmp/dnl.nc" --quiet >"$tmp/run.log" 2>&1
rc=$?
[ $rc -eq 3 ] && [ -f "$tmp/dnl.nc" ] ||
    { echo "FAIL: wedge run dnl.yaml: exit $rc, want 3 (some diverged)"; sed 's/^/    /' "$tmp/run.log"; exit 1; }

# ---- wedge-summary: did not learn
row() { grep -E "^\| $1 \|" "$2"; }
if "$PYTHON3" "$TOOLS/summary.py" "$tmp/dnl.nc" >"$tmp/sum.txt" 2>"$tmp/sum.err" &&
        row 0.1 "$tmp/sum.txt" | grep -qE '^\| 0.1 \| 2 \| 0 \| 0 \| 0 \| yes \|' &&
        row 1000 "$tmp/sum.txt" | grep -qE '^\| 1000 \| 2 \| 0 \| 0 \| 0 \| NO \|' &&
        row 1e\\+30 "$tmp/sum.txt" | grep -qE '^\| 1e\+30 \| 0 \| 0 \| 2 \| 0 \| - \|' &&
        grep -q '^Did not learn: 2 of 4 done trainings (0 with the final training loss above the first epoch.s, 2 with the final test accuracy at or below chance 1/10 + 0.02)' "$tmp/sum.txt"; then
    ok "summary: lr 1000 did not learn, lr 0.1 did, lr 1e30 diverged; $(grep '^Did not' "$tmp/sum.txt")"
else
    fail "summary did-not-learn:"; sed 's/^/    /' "$tmp/sum.txt" "$tmp/sum.err"
fi
"$PYTHON3" - "$tmp/dnl.nc" "$tmp/rose.nc" <<'EOF'
import shutil, sys, netCDF4, numpy as np
shutil.copyfile(sys.argv[1], sys.argv[2])
with netCDF4.Dataset(sys.argv[2], "a") as f:
    f.set_auto_mask(False)
    t = int(np.flatnonzero((f["lr"][:] == 0.1) & (f["seed"][:] == 0))[0])
    f["train_loss"][t, 4] = f["train_loss"][t, 0] + 1.0
EOF
if "$PYTHON3" "$TOOLS/summary.py" "$tmp/rose.nc" >"$tmp/rose.txt" 2>&1 &&
        row 0.1 "$tmp/rose.txt" | grep -q '| NO 1/2 |' &&
        grep -q '^Did not learn: 3 of 4 done trainings (1 with the final training loss above' "$tmp/rose.txt"; then
    ok "summary: a training whose last loss is above its first is flagged (NO 1/2)"
else
    fail "summary on a rising loss:"; sed 's/^/    /' "$tmp/rose.txt"
fi

# ---- wedge-plot-learning: PNG, table = the file, figure labels from the table
if "$PYTHON3" "$TOOLS/plot-learning.py" "$tmp/dnl.nc" --print-labels >"$tmp/lc.txt" 2>"$tmp/lc.err" &&
        [ "$(head -c 8 "$tmp/learning-demo-learning.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]; then
    ok "plot-learning wrote learning-demo-learning.png ($(wc -c <"$tmp/learning-demo-learning.png") bytes)"
else
    fail "plot-learning:"; sed 's/^/    /' "$tmp/lc.err"
fi
"$PYTHON3" "$TOOLS/plot-learning.py" "$tmp/dnl.nc" --spread sd -o "$tmp/sd.png" >"$tmp/sd.txt" 2>&1 &&
    grep -q 'training loss sd' "$tmp/sd.txt" && ok "--spread sd: the table gives sd" ||
    fail "--spread sd"
if "$PYTHON3" - "$TOOLS" "$tmp" <<'EOF'
import sys
import numpy as np
import netCDF4
tools, tmp = sys.argv[1:3]
sys.path.insert(0, tools)
from wedgeds import labels, plotting
from wedgeds.commands import learning
bad = []
# the table against the file
rows = [[c.strip() for c in ln.strip().strip("|").split("|")]
        for ln in open(f"{tmp}/lc.txt") if ln.startswith("| ") and not ln.startswith("| lr")]
f = netCDF4.Dataset(f"{tmp}/dnl.nc")
f.set_auto_mask(False)
lr, tl, ta = f["lr"][:], f["train_loss"][:], f["test_accuracy"][:]
got = {(float(r[0]), int(r[1])): r for r in rows}
for v in (0.1, 1000.0):
    for e in range(1, 6):
        r = got.get((v, e))
        sel = lr == v
        if r is None or r[2] != "2/2" or abs(float(r[3]) - tl[sel, e - 1].mean()) > 6e-5 or \
                abs(float(r[6]) - ta[sel, e - 1].mean()) > 6e-5:
            bad.append(f"table lr {v} epoch {e}: {r}, want train loss {tl[sel, e - 1].mean():.4f}")
if got.get((1e30, 1), [None] * 3)[2] != "0/2":
    bad.append(f"lr 1e30: {got.get((1e30, 1))}, want 0/2 seeds")
# the figure, captured where the tool saves it
figs = []
plotting.save = lambda fig, out, prog, note="": figs.append(fig)
learning.main([f"{tmp}/dnl.nc", "-o", f"{tmp}/x.png"])
fig = figs[0]
axes = [a for a in fig.axes]
want = [labels.axis(q, wrap=40) for q in learning.PANELS]
if [a.get_ylabel() for a in axes] != want:
    bad.append(f"y labels {[a.get_ylabel() for a in axes]} != {want}")
if [a.get_xlabel() for a in axes[2:]] != ["epoch", "epoch"]:
    bad.append(f"x labels {[a.get_xlabel() for a in axes[2:]]}")
ticks = [t for t in axes[3].get_xticks() if 1 <= t <= 5]
if not ticks or any(t != int(t) for t in ticks):
    bad.append(f"epoch ticks {ticks} not whole numbers")
leg = axes[0].get_legend()
names = [t.get_text() for t in leg.get_texts()] if leg else []
if names != [labels.setting("lr", 0.1), labels.setting("lr", 1000.0)]:
    bad.append(f"legend {names}: want one entry per plotted setting")
if any("seed" in n or "min" in n for n in names):
    bad.append(f"legend entries repeat the spread: {names}")
caption = " ".join(t.get_text() for t in fig.texts)
if caption.count("min-max") != 1 or "2 seeds" not in caption:
    bad.append(f"caption: {caption!r}")
printed = [ln for ln in open(f"{tmp}/lc.txt") if ln.startswith("panel ")]
for i, q in enumerate(learning.PANELS):
    if labels.axis(q) not in printed[i]:
        bad.append(f"--print-labels panel {i + 1}: {printed[i]!r} lacks {labels.axis(q)!r}")
if bad:
    sys.exit("\n".join(bad))
print(f"table: 10 rows = the file; labels {want}; legend {names}")
EOF
then
    ok "plot-learning: table = the file, labels from wedgeds.labels, one legend entry per setting"
else
    fail "plot-learning figure/table (above)"
fi

# ---- wedge-plot-fig5: tunnel labels (units on a*), log axis with a tick per lr
cat >"$tmp/tun.yaml" <<'EOF'
name: learning-tunnel
seed: 2
data: {name: synthetic, synthetic_train: 200, synthetic_test: 50, synthetic_size: 8}
model: {arch: mlp, depth: 1, hidden: 8}
train: {epochs: 1, batch_size: 25}
sweep:
  train.lr: [1.0e-3, 1.0e-2, 1.0e-1]
probes:
  tunnel: {directions: 2, probe_size: 100}
EOF
"$WEDGE" run "$tmp/tun.yaml" -o "$tmp/tun.nc" --quiet >/dev/null 2>&1 || fail "wedge run tun.yaml"
if "$PYTHON3" - "$TOOLS" "$tmp" <<'EOF'
import sys
tools, tmp = sys.argv[1:3]
sys.path.insert(0, tools)
from wedgeds import labels, plotting
from wedgeds.commands import fig5
figs = []
plotting.save = lambda fig, out, prog, note="": figs.append(fig)
fig5.main([f"{tmp}/tun.nc", "--print-labels"])
a, b = figs[0].axes[:2]
bad = []
if a.get_xlabel() != "learning rate" or a.get_xscale() != "log":
    bad.append(f"x: {a.get_xlabel()!r}, scale {a.get_xscale()}")
if [round(t, 12) for t in a.get_xticks()] != [1e-3, 1e-2, 1e-1]:
    bad.append(f"x ticks {list(a.get_xticks())}")
if a.get_ylabel() != "angular width φ (degrees)":
    bad.append(f"phi label {a.get_ylabel()!r}")
if " ".join(b.get_ylabel().split()) != labels.axis("distance") or "units of |θ|" not in b.get_ylabel():
    bad.append(f"a* label {b.get_ylabel()!r}")
if a.get_legend() is not None:
    bad.append("a legend for a single series")
if bad:
    sys.exit("\n".join(bad))
EOF
then
    ok "plot-fig5: x 'learning rate' on a log axis ticked at each lr; phi and a* labels with units; no legend for one series"
else
    fail "plot-fig5 labels (above)"
fi

if [ $nfail -ne 0 ]; then
    echo "test_learning: $nfail check(s) failed"
    exit 1
fi
echo "test_learning: all checks passed"
exit 0
