#!/usr/bin/env bash
# test_fig6.sh: tools/plot-fig6.py (Figure 6: SWA against prediction averaging) on
# small real sweep outputs.
#
# Runs, with one wedge process each:
#   swa    2 training rates x 2 seeds of a tiny MLP on synthetic data, swa probes
#          with lr_max 1e-3, 1e-2 and 1e37 (which diverges), 3 cycles (16 tasks)
#   noswa  2 seeds, no probes (2 tasks)
# then checks:
#   - plot-fig6 writes a valid PNG (> 10 kB) at its default path;
#   - its table has one row per (lr, lr_max) and every printed number equals the
#     file's, read with netCDF4 and averaged over the seeds here: the pre-trained
#     point's, the mean snapshot's, the weight average's and the averaged
#     predictions' test accuracy and loss (4 decimals), the mean pairwise
#     distance (4 significant digits) and cosines (4 decimals);
#   - xarray groups the swa rows by the swa_lr_max coordinate to the same means;
#   - the diverged lr_max says "0 of 2 (diverged, diverged)" and prints no numbers;
#   - --split train prints the probe-set accuracies of the file;
#   - noswa: exit 2 with a clear message and no PNG; --help exits 0.
# Uses $WEDGE (default ./wedge), $top_srcdir (default .), $PYTHON3 (default
# /usr/bin/python3).  Exits 0 if every check passes, 1 otherwise.  ~10 s.
test_name=test_fig6
. "${top_srcdir:-.}/tests/tools/lib.sh"

common='seed: 2
data: {name: synthetic, synthetic_train: 300, synthetic_test: 100, synthetic_size: 12}
model: {arch: mlp, depth: 1, hidden: 16}
train: {epochs: 3, batch_size: 32}'
cat >"$tmp/swa.yaml" <<EOF
name: fig6demo
$common
sweep:
  train.lr: [1.0e-3, 3.0e-3]
  seed: [0, 1]
probes:
  swa: {lr_max: [1.0e-3, 1.0e-2, 1.0e37], cycles: 3, probe_size: 200}
EOF
cat >"$tmp/noswa.yaml" <<EOF
name: fig6noswa
$common
sweep:
  seed: [0, 1]
EOF

for s in swa noswa; do
    "$WEDGE" run "$tmp/$s.yaml" -o "$tmp/$s.nc" --quiet >"$tmp/run-$s.log" 2>&1
    rc=$?
    # exit 3: the sweep ran to the end with some task diverged (the 1e37 rate)
    if [ ! -f "$tmp/$s.nc" ] || { [ $rc -ne 0 ] && [ $rc -ne 3 ]; }; then
        echo "FAIL: wedge run $s.yaml: exit $rc"; sed 's/^/    /' "$tmp/run-$s.log"; exit 1
    fi
done

png_ok() { # FILE: a PNG of more than 10 kB
    [ -f "$1" ] && [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] &&
        [ "$(wc -c <"$1")" -gt 10240 ]
}

if "$PYTHON3" "$TOOLS/plot-fig6.py" "$tmp/swa.nc" >"$tmp/fig6.txt" 2>"$tmp/fig6.err"; then
    ok "plot-fig6.py swa.nc"
else
    fail "plot-fig6.py swa.nc exited $?"; sed 's/^/    /' "$tmp/fig6.err"
fi
png=$tmp/fig6demo-fig6.png   # the default: <title>-fig6.png next to the input
if png_ok "$png"; then
    ok "default output $(basename "$png") is a PNG of $(wc -c <"$png") bytes"
else
    fail "no valid PNG > 10 kB at $png"; ls -l "$tmp"
fi
"$PYTHON3" "$TOOLS/plot-fig6.py" "$tmp/swa.nc" --split train -o "$tmp/train.png" \
    >"$tmp/train.txt" 2>"$tmp/train.err" || { fail "--split train exited $?"; cat "$tmp/train.err"; }

# ---- the printed tables against the file
if "$PYTHON3" - "$tmp/swa.nc" "$tmp/fig6.txt" "$tmp/train.txt" "$TOOLS" <<'EOF'
import sys
import numpy as np
import netCDF4

nc, txt, txt_train, tools = sys.argv[1], open(sys.argv[2]).read(), open(sys.argv[3]).read(), sys.argv[4]


def table(t):
    hdr, rows = None, []
    for line in t.splitlines():
        if not line.startswith("|"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        if hdr is None:
            hdr = cells
        elif not cells[0].startswith("---"):
            rows.append(dict(zip(hdr, cells)))
    return rows


bad = []
with netCDF4.Dataset(nc) as f:
    f.set_auto_mask(False)
    v = {n: f[n][:] for n in f.variables if n not in ("params",)}
    K = dict(zip(f["kind"].flag_meanings.split(), f["kind"].flag_values))
kind, status = v["kind"], v["status"]
swa = np.flatnonzero(kind == K["swa"])
if len(swa) != 12:
    sys.exit(f"expected 12 swa rows, got {len(swa)}")


def offdiag(m, M):
    b = m[:M, :M]
    return b[~np.eye(M, dtype=bool)].mean()


def want(lr, lrm, split="test"):
    rows = [i for i in swa if v["lr"][i] == lr and v["swa_lr_max"][i] == lrm and status[i] == 1]
    M = 3
    q = {
        "start acc": [v[f"swa_start_{split}_accuracy"][i] for i in rows],
        "snapshot acc": [v[f"swa_snapshot_{split}_accuracy"][i, :M].mean() for i in rows],
        "SWA acc": [v[f"swa_{split}_accuracy"][i] for i in rows],
        "pred-avg acc": [v[f"ensemble_{split}_accuracy"][i] for i in rows],
        "start loss": [v[f"swa_start_{split}_loss"][i] for i in rows],
        "snapshot loss": [v[f"swa_snapshot_{split}_loss"][i, :M].mean() for i in rows],
        "SWA loss": [v[f"swa_{split}_loss"][i] for i in rows],
        "pred-avg loss": [v[f"ensemble_{split}_loss"][i] for i in rows],
        "distance": [offdiag(v["swa_distance"][i], M) for i in rows],
        "distance from start": [v["swa_snapshot_start_distance"][i, :M].mean() for i in rows],
        "cosine": [offdiag(v["swa_cosine"][i], M) for i in rows],
        "cosine of displacements": [offdiag(v["swa_delta_cosine"][i], M) for i in rows],
    }
    return len(rows), {k: float(np.mean(x)) if x else None for k, x in q.items()}


T = table(txt)
keys = [(float(r["lr"]), float(r["lr_max"])) for r in T]
wkeys = [(lr, m) for lr in (1e-3, 3e-3) for m in (1e-3, 1e-2, 1e37)]
if keys != wkeys:
    bad.append(f"table rows (lr, lr_max) {keys} != {wkeys}")
checked = 0
for r in T:
    lr, lrm = float(r["lr"]), float(r["lr_max"])
    n, w = want(lr, lrm)
    if lrm == 1e37:
        if r["n seeds"] != "0 of 2 (diverged, diverged)":
            bad.append(f"lr {lr} lr_max 1e37: n seeds '{r['n seeds']}', want '0 of 2 (diverged, diverged)'")
        if any(r[k] != "-" for k in w):
            bad.append(f"lr {lr} lr_max 1e37: numbers printed for a diverged setting: {r}")
        continue
    if r["n seeds"] != str(n) or n != 2:
        bad.append(f"lr {lr} lr_max {lrm}: n seeds '{r['n seeds']}', file {n}")
    for k, x in w.items():
        got = float(r[k])
        tol = 1e-3 * abs(x) + 1e-12 if k.startswith("distance") else 6e-5
        if abs(got - x) > tol:
            bad.append(f"lr {lr} lr_max {lrm}: {k} printed {r[k]}, file {x:.6f}")
        checked += 1
    diff = float(r["pred-avg - SWA acc"])
    if abs(diff - (w["pred-avg acc"] - w["SWA acc"])) > 6e-5:
        bad.append(f"lr {lr} lr_max {lrm}: pred-avg - SWA {diff} != file")
for r in table(txt_train):
    lr, lrm = float(r["lr"]), float(r["lr_max"])
    if lrm == 1e37:
        continue
    _, w = want(lr, lrm, "train")
    for k in ("SWA acc", "pred-avg acc", "snapshot loss"):
        if abs(float(r[k]) - w[k]) > 6e-5:
            bad.append(f"--split train, lr {lr} lr_max {lrm}: {k} {r[k]} != file {w[k]:.6f}")
        checked += 1

# xarray groups swa rows by the lr_max coordinate
sys.path.insert(0, tools)
import wedgeds  # noqa: E402
ds = wedgeds.open_outputs(nc)
sub = ds.isel(task=np.flatnonzero(ds.kind.values == 6))
sub = sub.where(sub.status == 1)
g = sub.swa_test_accuracy.groupby("swa_lr_max").mean()
for lrm, x in zip(g.swa_lr_max.values, g.values):
    rows = [i for i in swa if v["swa_lr_max"][i] == lrm and status[i] == 1]
    fx = np.mean([v["swa_test_accuracy"][i] for i in rows]) if rows else np.nan
    if not (np.isclose(x, fx, rtol=0, atol=1e-12) or (np.isnan(x) and np.isnan(fx))):
        bad.append(f"xarray groupby swa_lr_max {lrm}: {x} != {fx}")
if len(g) != 3:
    bad.append(f"xarray groupby swa_lr_max: {len(g)} groups, want 3")
if bad:
    sys.exit("\n".join(bad) + "\n--- table:\n" + txt)
print(f"{checked} numbers checked")
EOF
then
    ok "table: rows (lr, lr_max), every number = the file's; xarray groups by swa_lr_max"
else
    fail "table vs the file (above)"
fi

# ---- a file without swa rows, and --help
"$PYTHON3" "$TOOLS/plot-fig6.py" "$tmp/noswa.nc" -o "$tmp/noswa.png" >/dev/null 2>"$tmp/noswa.err"
rc=$?
if [ $rc -eq 2 ] && grep -q 'no swa tasks' "$tmp/noswa.err" && [ ! -e "$tmp/noswa.png" ]; then
    ok "no swa rows: exit 2 ($(cat "$tmp/noswa.err"))"
else
    fail "no swa rows: exit $rc, want 2 with 'no swa tasks' and no PNG"
    sed 's/^/    /' "$tmp/noswa.err"
fi
if "$PYTHON3" "$TOOLS/plot-fig6.py" --help >"$tmp/help.txt" 2>&1 && grep -q 'lr_max' "$tmp/help.txt"; then
    ok "--help"
else
    fail "--help"; sed 's/^/    /' "$tmp/help.txt"
fi

if [ $nfail -gt 0 ]; then
    echo "$nfail check(s) failed"
    exit 1
fi
echo "all checks passed"
exit 0
