#!/usr/bin/env bash
# bench-memory.sh: what an MPI run's ranks hold in memory, and how long they take to start.
# Prints (figures, not a test):
#  (a) 8 ranks on this node (mpirun --oversubscribe -np 8) training small MLPs on the
#      whole of Fashion-MNIST (60000 + 10000 images), once with one shared copy of the
#      data per node (the default) and once with WEDGE_SHARED_DATA=0 (each rank loads
#      its own copy): the sum of the ranks' PSS (/proc/PID/smaps_rollup; its maximum
#      over samples every 0.2 s while tasks run), the largest worker VmRSS, the
#      start-up time (launch to "N tasks ... to run", the line printed just before the
#      first task is handed out), the load time the "[wedge] data:" line reports
#      (shared), and, for private copies, when every worker held its copy (the first
#      sample at which its VmRSS had grown by 40 MB of the 55 MB: to within 0.2 s).
#      Each run is stopped (SIGUSR1 to mpirun) after SAMPLE seconds of tasks.
#  (b) toy trainings on 3 ranks (rank 0 plans and schedules, 2 workers), sweeps of
#      1,000 tasks (1,000 seeds) and 1,000,000 (x 1,000 learning rates): start-up time,
#      the largest worker VmHWM and rank 0's VmHWM.  The 1,000-task sweep runs to the
#      end; the 1,000,000-task one is stopped with SIGUSR1 to mpirun after SAMPLE
#      seconds of tasks.
# Usage: tools/bench-memory.sh [SAMPLE]   (run from the build directory; SAMPLE
# defaults to 10 s; about 2-4 minutes in all on 2 cores; needs Fashion-MNIST at
# /usr/share/datasets/fashion-mnist or FASHION=DIR, and /usr/bin/python3)
set -euo pipefail
WEDGE=${WEDGE:-$(pwd)/wedge}
SAMPLE=${1:-10}
FASHION=${FASHION:-/usr/share/datasets/fashion-mnist}
PY=${PYTHON3:-/usr/bin/python3}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/wedge-bench-memory.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

cat >"$tmp/fashion.yaml" <<YAML
name: bench-memory-fashion
seed: 1
data: {name: fashion-mnist, path: $FASHION}
model: {arch: mlp, depth: 1, hidden: 32}
train: {optimizer: adam, lr: 1.0e-3, batch_size: 100, epochs: 1}
sweep:
  train.lr: [1.0e-3, 2.0e-3, 3.0e-3]
  seed: {range: [0, 7]}
YAML
# an axis holds at most 4096 values: 1,000,000 tasks are 1,000 seeds x 1,000 rates
lrs=$(awk 'BEGIN { for (i = 0; i < 1000; i++) printf "%s%.6f", i ? ", " : "", 0.01 + 1e-4 * i }')
for n in 1000 1000000; do
    {
        echo "name: bench-memory-toy$n"
        echo "model: {arch: toy, dim: 20, long: 5}"
        echo "train: {optimizer: adam, lr: 0.05, epochs: 1}"
        echo "sweep:"
        echo "  seed: {range: [0, 1000]}"
        [ "$n" -eq 1000 ] || echo "  train.lr: [$lrs]"
    } >"$tmp/toy$n.yaml"
    [ "$("$WEDGE" expand "$tmp/toy$n.yaml" --count)" -eq "$n" ] || { echo "toy$n.yaml: not $n tasks" >&2; exit 1; }
done

# measure LABEL NP SAMPLE-or-0 ARGS...: run mpirun -np NP wedge ARGS, sample its ranks
cat >"$tmp/measure.py" <<'PY'
import os, re, signal, subprocess, sys, threading, time

label, np_, stop_after = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
private = os.environ.get("WEDGE_SHARED_DATA") == "0"
cmd = ["mpirun", "--oversubscribe", "-np", str(np_)] + sys.argv[4:]
t0 = time.monotonic()
p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
lines, t_tasks = [], [None]

def reader():
    for line in p.stdout:
        lines.append(line.rstrip("\n"))
        if t_tasks[0] is None and re.search(r"tasks?, \d+ to run on", line):
            t_tasks[0] = time.monotonic() - t0
threading.Thread(target=reader, daemon=True).start()

def ranks():
    """{rank: pid} of the wedge processes below mpirun."""
    kids, out = {}, {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    st = f.read()
                ppid = int(st[st.rindex(")") + 2:].split()[1])
                kids.setdefault(ppid, []).append(int(d))
            except (OSError, ValueError):
                pass
    todo = [p.pid]
    while todo:
        for c in kids.get(todo.pop(), []):
            todo.append(c)
            try:
                with open(f"/proc/{c}/comm") as f:
                    if f.read().strip() != "wedge":
                        continue
                with open(f"/proc/{c}/environ", "rb") as f:
                    env = dict(kv.split(b"=", 1) for kv in f.read().split(b"\0") if b"=" in kv)
                out[int(env[b"OMPI_COMM_WORLD_RANK"])] = c
            except (OSError, KeyError, ValueError):
                pass
    return out

def kb(path, key):
    with open(path) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0

pss_max, rss_max, hwm, hwm0, base, loaded = 0, 0, {}, 0, {}, {}
stopped = None
while p.poll() is None:
    time.sleep(0.2)
    now = time.monotonic() - t0
    pids = ranks()
    pss_sum, ok = 0, True
    for r, pid in pids.items():
        try:
            pss = kb(f"/proc/{pid}/smaps_rollup", "Pss")
            rss = kb(f"/proc/{pid}/status", "VmRSS")
            h = kb(f"/proc/{pid}/status", "VmHWM")
        except OSError:
            ok = False
            continue
        pss_sum += pss
        if r == 0:
            hwm0 = max(hwm0, h)
            continue
        hwm[r] = max(hwm.get(r, 0), h)
        if t_tasks[0] is not None:
            rss_max = max(rss_max, rss)
            base.setdefault(r, rss)
            if r not in loaded and rss - base[r] >= 40 * 1024:
                loaded[r] = now
    if t_tasks[0] is not None and ok and len(pids) == np_:
        pss_max = max(pss_max, pss_sum)
        if stop_after > 0 and stopped is None and now - t_tasks[0] >= stop_after:
            stopped = now
            p.send_signal(signal.SIGUSR1)
p.wait()
time.sleep(0.2)
data = [l for l in lines if l.startswith("[wedge] data:")]
load = re.search(r"in ([0-9.]+) s$", data[0]) if data else None
print(f"{label}:")
print(f"  start-up (launch to the first task handed out) {t_tasks[0]:.2f} s" if t_tasks[0]
      is not None else "  never started a task")
if load:
    print(f"  shared copy loaded (data line) in {load.group(1)} s: {data[0]}")
elif data:
    print(f"  {data[0]}")
if private and loaded:
    print(f"  private copies: all {len(loaded)} of {np_ - 1} workers held theirs "
          f"{max(loaded.values()) - t_tasks[0]:.1f} s after start-up "
          f"({max(loaded.values()):.1f} s after launch)")
if pss_max:
    print(f"  sum of PSS over the {np_} ranks (max while tasks ran) {pss_max / 1024:.1f} MB; "
          f"largest worker VmRSS {rss_max / 1024:.1f} MB (shared pages count in full)")
if hwm:
    print(f"  worker VmHWM: largest {max(hwm.values()) / 1024:.1f} MB, smallest "
          f"{min(hwm.values()) / 1024:.1f} MB; rank 0 VmHWM {hwm0 / 1024:.1f} MB")
print(f"  {'stopped with SIGUSR1 after ' + format(stopped - t_tasks[0], '.1f') + ' s of tasks' if stopped else 'ran to the end'}; "
      f"mpirun exit {p.returncode}")
PY

echo "# wedge $("$WEDGE" --version | cut -d' ' -f2-), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# (a) 8 ranks, Fashion-MNIST, $("$WEDGE" expand "$tmp/fashion.yaml" --count) MLP trainings, sampled for $SAMPLE s of tasks"
"$PY" "$tmp/measure.py" "shared copy per node" 8 "$SAMPLE" \
    "$WEDGE" run "$tmp/fashion.yaml" -o "$tmp/shared.nc" --grace 0
WEDGE_SHARED_DATA=0 "$PY" "$tmp/measure.py" "WEDGE_SHARED_DATA=0 (a private copy per rank)" 8 \
    "$SAMPLE" "$WEDGE" run "$tmp/fashion.yaml" -o "$tmp/private.nc" --grace 0
echo "# (b) toy trainings, 3 ranks"
"$PY" "$tmp/measure.py" "1,000 tasks" 3 0 \
    "$WEDGE" run "$tmp/toy1000.yaml" -o "$tmp/toy1000.nc"
"$PY" "$tmp/measure.py" "1,000,000 tasks" 3 "$SAMPLE" \
    "$WEDGE" run "$tmp/toy1000000.yaml" -o "$tmp/toy1000000.nc" --grace 0
