#!/usr/bin/env bash
# test_fig2.sh: tools/plot-fig2.py (Figure 2: loss planes and tunnel widths vs epoch)
# on small real sweep outputs.
#
# Runs a 19-task sweep (3 seeds; tunnel and plane probes at epochs 1 and 3, each
# split over 2 tasks) with one wedge process, then checks:
#   - plot-fig2.py writes a valid PNG (> 10 kB) and prints a tunnel table with
#     rows for epochs 1 and 3 x seeds 0, 1, 2 and a plane table with epochs 1, 3;
#   - the two split tasks of every plane cover every grid row (the combined grid
#     has no NaN, each row from exactly one task), recomputed with netCDF4;
#   - the printed loss at O1 equals plane_loss at the grid point nearest (0, 0);
#   - a plane-only and a tunnel-only sweep both plot (exit 0), and a sweep
#     without probes gives exit 2.
# Uses $WEDGE (default ./wedge), $top_srcdir (default .), $PYTHON3 (default
# /usr/bin/python3).  Exits 0 if every check passes, 1 otherwise.  ~10-15 s.
test_name=test_fig2
. "${top_srcdir:-.}/tests/tools/lib.sh"

base='seed: 1
data: {name: synthetic, synthetic_train: 300, synthetic_test: 100, synthetic_size: 12}
model: {arch: mlp, depth: 1, hidden: 16}
train: {epochs: 3, batch_size: 32}
sweep:
  seed: {range: [0, 3]}'
tunnel='  tunnel: {epochs: [1, 3], directions: 4, split: 2, probe_size: 200}'
plane='  plane: {epochs: [1, 3], grid: 7, split: 2, probe_size: 200}'
printf 'name: fig2demo\n%s\nprobes:\n%s\n%s\n' "$base" "$tunnel" "$plane" >"$tmp/demo.yaml"
printf 'name: planeonly\n%s\nprobes:\n%s\n' "$base" "$plane" >"$tmp/plane.yaml"
printf 'name: tunnelonly\n%s\nprobes:\n%s\n' "$base" "$tunnel" >"$tmp/tunnel.yaml"
printf 'name: noprobe\n%s\n' "$base" >"$tmp/noprobe.yaml"

for s in demo plane tunnel noprobe; do
    if ! "$WEDGE" run "$tmp/$s.yaml" -o "$tmp/$s.nc" --quiet >"$tmp/run-$s.log" 2>&1; then
        echo "FAIL: wedge run $s.yaml:"; sed 's/^/    /' "$tmp/run-$s.log"; exit 1
    fi
done

# ---- the full figure
nc=$tmp/demo.nc
if "$PYTHON3" "$TOOLS/plot-fig2.py" "$nc" >"$tmp/fig2.txt" 2>"$tmp/fig2.err"; then
    ok "plot-fig2.py demo.nc"
else
    fail "plot-fig2.py demo.nc exited $?"; sed 's/^/    /' "$tmp/fig2.err"
fi
png=$tmp/fig2demo-fig2.png   # the default: <title>-fig2.png next to the input
if [ -f "$png" ] && [ "$(head -c 8 "$png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] &&
    [ "$(wc -c <"$png")" -gt 10240 ]; then
    ok "default output $png is a PNG of $(wc -c <"$png") bytes"
else
    fail "no valid PNG > 10 kB at $png"; ls -l "$tmp"
fi

# the printed tables, and the plane grids recomputed from the file with netCDF4
if "$PYTHON3" - "$nc" "$tmp/fig2.txt" <<'EOF'
import sys
import numpy as np
import netCDF4

nc, txt = sys.argv[1], open(sys.argv[2]).read()
bad = []
tables, cur = [], None
for line in txt.splitlines():
    if line.startswith("|"):
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        if cur is None:
            cur = {"hdr": cells, "rows": []}
            tables.append(cur)
        elif not cells[0].startswith("---"):
            cur["rows"].append(cells)
    else:
        cur = None
if len(tables) != 2:
    sys.exit(f"expected 2 tables (tunnel, plane), got {len(tables)}:\n{txt}")
tun, pla = tables
got = sorted((int(r[0]), float(r[1])) for r in tun["rows"])
want = [(e, float(s)) for e in (1, 3) for s in (0, 1, 2)]
if got != want:
    bad.append(f"tunnel table (epoch, seed) rows {got} != {want}")
for r in tun["rows"]:
    if any(c == "-" for c in r[3:7]):
        bad.append(f"tunnel row with missing numbers: {r}")
if sorted(int(r[0]) for r in pla["rows"]) != [1, 3]:
    bad.append(f"plane table epochs {[r[0] for r in pla['rows']]} != [1, 3]")

with netCDF4.Dataset(nc) as f:
    f.set_auto_mask(False)
    kind = f["kind"][:]
    K = dict(zip(f["kind"].flag_meanings.split(), f["kind"].flag_values))
    pep = f["probe_epoch"][:]
    src = f["plane_sources"][:]
    loss = f["plane_loss"][:]          # task, plane_y, plane_x
    gx, gy = f["plane_gx"][:], f["plane_gy"][:]
    vx, vy = f["plane_vertex_x"][:], f["plane_vertex_y"][:]
for ep in (1, 3):
    rows = np.flatnonzero((kind == K["plane"]) & (pep == ep))
    if len(rows) != 2 or len({tuple(src[i]) for i in rows}) != 1:
        bad.append(f"epoch {ep}: expected 2 split tasks of one plane, got {rows}")
        continue
    have = np.isfinite(loss[rows]).all(axis=2)   # (task, row): this task computed the row
    comb = np.where(have[0][:, None], loss[rows[0]], loss[rows[1]])
    if np.isnan(comb).any():
        bad.append(f"epoch {ep}: combined grid has {int(np.isnan(comb).sum())} NaN")
    if (have.sum(axis=0) != 1).any():
        bad.append(f"epoch {ep}: rows not covered exactly once: {have.sum(axis=0)}")
    i = rows[0]
    if vx[i, 0] != 0 or vy[i, 0] != 0:
        bad.append(f"epoch {ep}: O1 not at the origin ({vx[i, 0]}, {vy[i, 0]})")
    jx, jy = np.argmin(np.abs(gx[i])), np.argmin(np.abs(gy[i]))
    row = [r for r in pla["rows"] if int(r[0]) == ep][0]
    if abs(float(row[1]) - comb[jy, jx]) > 5e-4 * abs(comb[jy, jx]):
        bad.append(f"epoch {ep}: printed L(O1) {row[1]} != plane_loss at the grid point "
                   f"nearest (0,0) {comb[jy, jx]:.6g}")
    # a segment's maximum includes the grid points nearest its two ends
    L = [float(c) for c in row[1:4]]
    seg = [float(c) for c in row[4:7]]
    for m, (p, q) in zip(seg, ((0, 1), (0, 2), (1, 2))):
        if not np.isfinite(m) or m < max(L[p], L[q]):
            bad.append(f"epoch {ep}: segment O{p + 1}-O{q + 1} max {m} < its ends {L[p]}, {L[q]}")
if bad:
    sys.exit("\n".join(bad) + "\n--- output:\n" + txt)
EOF
then
    ok "tables: epochs 1, 3 x seeds 0-2; combined plane grids have no NaN; L(O1) = nearest grid point"
else
    fail "tables / plane grids (above)"
fi

# ---- one probe kind only, and none
for s in plane tunnel; do
    if "$PYTHON3" "$TOOLS/plot-fig2.py" "$tmp/$s.nc" -o "$tmp/$s.png" >"$tmp/$s.txt" 2>"$tmp/$s.err" &&
        [ "$(wc -c <"$tmp/$s.png")" -gt 10240 ]; then
        ok "$s-only sweep plots ($(grep -c '^| [0-9]' "$tmp/$s.txt") table rows)"
    else
        fail "$s-only sweep: exit $? or no PNG"; sed 's/^/    /' "$tmp/$s.err"
    fi
done
"$PYTHON3" "$TOOLS/plot-fig2.py" "$tmp/noprobe.nc" -o "$tmp/noprobe.png" >/dev/null 2>"$tmp/noprobe.err"
rc=$?
if [ $rc -eq 2 ] && grep -q 'neither plane nor tunnel' "$tmp/noprobe.err" && [ ! -e "$tmp/noprobe.png" ]; then
    ok "no probes: exit 2 ($(cat "$tmp/noprobe.err"))"
else
    fail "no probes: exit $rc, want 2 with a clear message"; sed 's/^/    /' "$tmp/noprobe.err"
fi

if [ $nfail -gt 0 ]; then
    echo "$nfail check(s) failed"
    exit 1
fi
echo "all checks passed"
exit 0
