#!/usr/bin/env bash
# test_diverge.sh: a sweep in which some tasks diverge.
# MPI ranks: 3 (mpirun) and 1 (no mpirun).
#
# tests/sweeps/e2e/diverge.yaml trains plain SGD with ReLU at lr 1e-3 and 1e30: the
# 1e30 tasks must end with status 3 (diverged) and a message saying so, the others
# with status 1 (done); the run exits 3 (the sweep ran, some tasks did not
# succeed); `wedge status` counts the diverged tasks; diverged is final, so the
# journal is gone and a --resume reruns nothing (exit 3 again, same data).  The
# same sweep run by one process gives the same data.  Exits 0 if every check
# passes, 1 otherwise, after printing each failed check.  A few seconds.
set -u
t=test_diverge
. "${top_srcdir:-.}/tests/mpi/lib.sh"

sweep=$SWEEP_DIR/diverge.yaml
[ -r "$sweep" ] || die "sweep file $sweep not found (set top_srcdir)"
out=$tmp/div.nc

mpi_run 3 run "$sweep" -o "$out" --quiet
if [ "$rc" -ne 3 ]; then
    fail "mpirun -np 3 wedge run $sweep: exit $rc, want 3 (some tasks diverged)"
    show
fi
[ -f "$out" ] || die "mpirun -np 3 wedge run $sweep: no output $out"
ncdump -h "$out" >/dev/null 2>&1 || fail "ncdump -h cannot read $out"
if [ -e "$out.journal" ]; then
    fail "the journal $out.journal is left, although every task is final (done or diverged)"
fi

# per task: the lr decides the outcome
check_ok=1
"$PYTHON3" - "$out" >"$tmp/check" 2>&1 <<'EOF' || check_ok=0
import sys, netCDF4, numpy as np
bad = []
with netCDF4.Dataset(sys.argv[1]) as ds:
    ds.set_auto_mask(False)
    status = np.asarray(ds["status"][:]).astype(int)
    lr = np.asarray(ds["lr"][:])
    ds["message"].set_auto_chartostring(False)
    msg = [bytes(row).split(b"\0")[0].decode("utf-8", "replace").strip()
           for row in np.asarray(ds["message"][:]).view(np.uint8)]
    tl = np.asarray(ds["train_loss"][:])
    ndiv = 0
    for i in range(len(status)):
        if lr[i] > 1:
            ndiv += 1
            if status[i] != 3:
                bad.append(f"task {i} (lr {lr[i]:g}): status {status[i]}, want 3 (diverged)")
            if "diverged" not in msg[i].lower():
                bad.append(f"task {i} (lr {lr[i]:g}): message {msg[i]!r} does not mention "
                           "'diverged'")
        else:
            if status[i] != 1:
                bad.append(f"task {i} (lr {lr[i]:g}): status {status[i]}, want 1 (done); "
                           f"message {msg[i]!r}")
            elif not np.all(np.isfinite(tl[i])):
                bad.append(f"task {i} (lr {lr[i]:g}): done but train_loss {tl[i]} not finite")
            if msg[i]:
                bad.append(f"task {i} (lr {lr[i]:g}): done but message {msg[i]!r}")
    if ndiv == 0 or ndiv == len(status):
        bad.append(f"the sweep has {ndiv} of {len(status)} tasks at lr 1e30: expected some, "
                   "not all")
    print(ndiv, len(status))
for b in bad:
    print("BAD:", b)
sys.exit(1 if bad else 0)
EOF
if [ "$check_ok" -ne 1 ]; then
    fail "task statuses and messages of $out:"
    grep '^BAD:' "$tmp/check" | sed 's/^BAD:/   /' | head -20
    grep -v '^BAD:' "$tmp/check" | sed 's/^/    /' | head -10
fi
read -r ndiv ntasks <<<"$(head -1 "$tmp/check")"
if ! [ "${ndiv:-x}" -ge 0 ] 2>/dev/null || ! [ "${ntasks:-x}" -gt 0 ] 2>/dev/null; then
    ndiv=0 ntasks=0
    wedge_run expand "$sweep" --count
    ntasks=$(tr -d '[:space:]' <"$tmp/out")
    ndiv=$((ntasks / 2)) # half the tasks are at lr 1e30
fi

# wedge status reports the diverged count
wedge_run status "$out"
line=$(head -1 "$tmp/out")
ndone=$((${ntasks:-0} - ${ndiv:-0}))
want="$out: 'e2e-diverge', $ntasks tasks: $ndone done, 0 failed, $ndiv diverged, 0 pending"
if [ "$rc" -ne 0 ] || [ "$line" != "$want" ]; then
    fail "wedge status $out: exit $rc, first line '$line', want '$want'"
    show
fi
if ! grep -q 'diverged' <(tail -n +2 "$tmp/out"); then
    fail "wedge status $out: the diverged tasks are not listed"
    show
fi

# --resume of a finished sweep: diverged tasks are final, nothing reruns
cp "$out" "$tmp/before.nc"
mpi_run 3 run "$sweep" -o "$out" --resume --quiet
if [ "$rc" -ne 3 ]; then
    fail "mpirun -np 3 wedge run --resume on a finished sweep with diverged tasks: exit $rc, want 3"
    show
fi
compare "--resume of a finished sweep" "$tmp/before.nc" "$out"
"$PYTHON3" - "$tmp/before.nc" "$out" <<'EOF' || fail "--resume of a finished sweep reran tasks (wall_time changed)"
import sys, netCDF4, numpy as np
a, b = (netCDF4.Dataset(p) for p in sys.argv[1:3])
sys.exit(0 if np.array_equal(a["wall_time"][:], b["wall_time"][:]) else 1)
EOF

# one process gives the same numbers, divergence included
wedge_run run "$sweep" -o "$tmp/alone.nc" --quiet
if [ "$rc" -ne 3 ]; then
    fail "wedge run $sweep (one process): exit $rc, want 3"
    show
else
    compare "diverging sweep, 1 process vs mpirun -np 3" "$tmp/alone.nc" "$tmp/before.nc"
fi

finish
