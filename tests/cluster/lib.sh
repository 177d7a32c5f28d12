# shellcheck shell=bash
# shellcheck disable=SC2034 # job_state and friends are read by the tests
# lib.sh: shared set-up of the emulated-cluster tests (sourced, not run).
#
# Each test names itself (`t=NAME`), sources this file after `set -u`, and gets:
#  - a SKIP (exit 77) when this machine cannot emulate nodes: not root, no `ip`,
#    `nsenter` or `unshare`, or no network/UTS/mount namespace can be made;
#  - tests/mpi/lib.sh's environment ($WEDGE, $PYTHON3, fail/finish/die,
#    status_counts, same_tasks, records, a temporary $tmp removed on exit), with
#    $tmp OUTSIDE /tmp (CLUSTER_TMPDIR, default /var/tmp), because it is the
#    emulated cluster's shared file system and every node has its own /tmp;
#  - a private Slurm of $CLUSTER_NODES (default 3) nodes started in $tmp/slurm
#    (tools/slurm-local-start.sh --nodes; stopped on exit, whatever happened,
#    by tools/slurm-local-stop.sh), SLURM_CONF exported;
#  - $job_script (jobs/wedge.sbatch), $bin/wedge (a copy of $WEDGE on the shared
#    file system), the work directory $work, and helpers to submit, follow and
#    check jobs, to find a node's namespace and processes, and to crash a node.
# Every wait is bounded: a hang fails the test instead of stalling make check.

if [ "$(id -u)" -ne 0 ]; then
    echo "SKIP: ${t:-cluster test} needs root: it creates network namespaces and starts slurmctld, slurmd and munged"
    exit 77
fi
for b in ip nsenter unshare; do
    if ! command -v "$b" >/dev/null 2>&1; then
        echo "SKIP: ${t:-cluster test} needs '$b' to emulate nodes (iproute2, util-linux)"
        exit 77
    fi
done
if ! unshare --net --uts --mount true 2>/dev/null; then
    echo "SKIP: ${t:-cluster test}: this machine refuses new network, UTS or mount namespaces ($(unshare --net --uts --mount true 2>&1 | head -n 1))"
    exit 77
fi

top_srcdir=${top_srcdir:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
top_srcdir=$(cd "$top_srcdir" && pwd)
export WEDGE=${WEDGE:-$top_srcdir/wedge}
CLUSTER_TMPDIR=${CLUSTER_TMPDIR:-/var/tmp}
case "$(cd "$CLUSTER_TMPDIR" 2>/dev/null && pwd -P)/" in
/ | /tmp/*)
    echo "FAIL: CLUSTER_TMPDIR='$CLUSTER_TMPDIR' must be an existing directory outside /tmp (each emulated node has its own /tmp)"
    exit 1 ;;
esac
# tests/mpi/lib.sh makes $tmp in TMPDIR
TMPDIR=$CLUSTER_TMPDIR . "$top_srcdir/tests/mpi/lib.sh"

for b in sbatch scontrol squeue scancel sinfo srun slurmctld slurmd munged; do
    command -v "$b" >/dev/null 2>&1 ||
        die "'$b' not found: install Debian's slurm-wlm and munge (tools/setup.sh does)"
done
job_script=$top_srcdir/jobs/wedge.sbatch
[ -r "$job_script" ] || die "$job_script not found (set top_srcdir)"
case "$top_srcdir/" in
/tmp/*)
    # the nodes cannot see it: run copies of the job scripts from the shared
    # file system instead
    mkdir -p "$tmp/jobs"
    cp "$top_srcdir/jobs/wedge.sbatch" "$top_srcdir/jobs/lib.sh" "$tmp/jobs/"
    job_script=$tmp/jobs/wedge.sbatch ;;
esac
# the binary on the shared file system (the build tree may be under /tmp)
bin=$tmp/bin
mkdir -p "$bin"
cp "$WEDGE" "$bin/wedge" || die "cannot copy $WEDGE to $bin"
work=$tmp/work
mkdir -p "$work"

t_start=$(date +%s)
elapsed() { echo $(($(date +%s) - t_start)); }

# ---- the cluster ---------------------------------------------------------------------
CLUSTER_NODES=${CLUSTER_NODES:-3}
# munged wants every directory above its socket searchable by all
chmod 755 "$tmp"
# a controller port of our own (slurmd listens inside the nodes' namespaces)
port=$((24000 + ($$ % 4000) * 2))
sdir='' slurm_up=
# shellcheck disable=SC2317 # called from the EXIT trap
stop_slurm() {
    if [ -n "$slurm_up" ] && ! "$top_srcdir/tools/slurm-local-stop.sh" "$sdir" >"$tmp/slurm-stop.err" 2>&1; then
        echo "FAIL: tools/slurm-local-stop.sh $sdir failed:"
        sed 's/^/    /' "$tmp/slurm-stop.err"
        failures=$((failures + 1))
    fi
    slurm_up=
}
trap 'stop_slurm; cleanup' EXIT
# start_cluster DIR: a cluster of $CLUSTER_NODES nodes in DIR (sdir), SLURM_CONF
# exported; stops the one running before, if any
start_cluster() {
    stop_slurm
    sdir=$1
    slurm_up=1 # a failed start is cleaned up too
    if ! SLURMCTLD_PORT=$port SLURMD_PORT=$((port + 1)) \
        "$top_srcdir/tools/slurm-local-start.sh" --nodes "$CLUSTER_NODES" "$sdir" \
        >"$tmp/slurm.env" 2>"$tmp/slurm-start.err"; then
        sed 's/^/    /' "$tmp/slurm-start.err" | tail -n 80
        die "tools/slurm-local-start.sh --nodes $CLUSTER_NODES $sdir failed"
    fi
    eval "$(cat "$tmp/slurm.env")"
    [ -n "${SLURM_CONF:-}" ] || die "tools/slurm-local-start.sh printed no SLURM_CONF"
    echo "cluster of $CLUSTER_NODES nodes up after $(elapsed) s: $SLURM_CONF (controller port $port)"
    sed -n 's/^slurm-local-start: network: /    network: /p' "$tmp/slurm-start.err"
}
start_cluster "$tmp/slurm"

# ---- nodes ----------------------------------------------------------------------------
# node_ns NODE / node_if NODE / node_addr NODE: the node's namespace, the host end
# of its link, its address (from the cluster's nodes.txt)
node_ns() { awk -v n="$1" '$1 == n { print $3 }' "$sdir/nodes.txt"; }
node_if() { awk -v n="$1" '$1 == n { print $4 }' "$sdir/nodes.txt"; }
node_addr() { awk -v n="$1" '$1 == n { print $2 }' "$sdir/nodes.txt"; }
# node_pids NODE: the processes in the node's network namespace
node_pids() { ip netns pids "$(node_ns "$1")" 2>/dev/null | tr '\n' ' '; }
# node_procs NODE: "pid name" of each of them, one line each
node_procs() {
    local p
    for p in $(node_pids "$1"); do
        echo "$p $(cat "/proc/$p/comm" 2>/dev/null)"
    done
}
# node_has NODE NAME: a process named NAME runs on the node
node_has() { node_procs "$1" | awk -v c="$2" '$2 == c { f = 1 } END { exit !f }'; }
# node_peers NODE: the addresses of the other nodes it has TCP connections with
node_peers() {
    local me
    me=$(node_addr "$1")
    nsenter --net="/var/run/netns/$(node_ns "$1")" ss -Htn state established 2>/dev/null |
        awk '{ print $3, $4 }' | sed 's/:[0-9]* / /; s/:[0-9]*$//' |
        awk -v me="$me" '$1 == me && $2 != me && $2 ~ /^198\.51\.100\./ { print $2 }' | sort -u | tr '\n' ' '
}
# kill_node NODE: every process of the node (slurmd, slurmstepd, MPI daemons,
# wedge ranks) gets SIGKILL at once.  Its network stays up: its kernel answers
# connections to the dead processes with resets, so peers learn at once.
kill_node() {
    local pids
    pids=$(node_pids "$1")
    # shellcheck disable=SC2086
    [ -n "${pids// /}" ] && kill -KILL $pids 2>/dev/null
}
# crash_node NODE: the node vanishes as a crashed machine does: its link goes
# down first (no packet in or out, so no reset reaches its peers), then every
# process of it is killed.
crash_node() {
    ip link set "$(node_if "$1")" down
    kill_node "$1"
}

# ---- jobs ------------------------------------------------------------------------------
# job_field JOB NAME: a field of `scontrol show job` (empty once Slurm forgot it)
job_field() {
    scontrol show job -o "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1
}

# show_log FILE: a job log, indented, for a failure report
show_log() {
    echo "    ---- $1 ----"
    sed 's/^/    | /' "$1" 2>/dev/null | tail -n "${SHOW_LINES:-80}"
}

# show_slurm: the daemons' logs (tails)
show_slurm() {
    local f
    for f in "$sdir/log/slurmctld.log" "$sdir"/log/slurmd-*.log; do
        echo "    ---- $f ----"
        tail -n 15 "$f" 2>/dev/null | sed 's/^/    | /'
    done
}

# submit NAME SBATCH-OPTIONS... -- SCRIPT-ARGS...: sbatch the real job script in
# $work/NAME with the log $work/NAME/NAME-<jobid>.out; sets $jid (empty on failure)
submit() {
    local name=$1 opts=()
    shift
    while [ $# -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done
    [ $# -gt 0 ] && shift
    mkdir -p "$work/$name"
    jid=$(sbatch --parsable --chdir="$work/$name" --output="$work/$name/$name-%j.out" \
        "${opts[@]}" "$job_script" "$@" 2>"$tmp/sbatch.err")
    jid=${jid%%;*}
    if [ -z "$jid" ]; then
        fail "$name: sbatch failed: $(cat "$tmp/sbatch.err")"
    fi
}

# wait_running JOB LIMIT: until JOB runs (at most LIMIT s); returns 1 otherwise
wait_running() {
    local i
    for ((i = 0; i < $2 * 2; i++)); do
        [ "$(job_field "$1" JobState)" = RUNNING ] && return 0
        sleep 0.5
    done
    return 1
}

# wait_records DIR N LIMIT: until the journal DIR holds N records (at most LIMIT
# s); returns 1 otherwise
wait_records() {
    local i
    for ((i = 0; i < $3 * 2; i++)); do
        [ "$(records "$1")" -ge "$2" ] && return 0
        sleep 0.5
    done
    return 1
}

# wait_job JOB LIMIT [HOOK]: poll (1 s) until JOB ends or LIMIT seconds pass;
# prints its state changes (state, restarts, nodes).  Sets job_state, job_exit,
# job_restarts, job_nodes (the last allocation's).  HOOK, if given, is run with
# the job's state and restart count at every poll.  On the limit, cancels the
# job and sets job_state=HUNG.
wait_job() {
    local job=$1 limit=$2 hook=${3:-} i st shown='' rs nl line
    job_state='' job_exit='' job_restarts=0 job_nodes=''
    for ((i = 0; i < limit; i++)); do
        st=$(job_field "$job" JobState)
        rs=$(job_field "$job" Restarts)
        nl=$(job_field "$job" NodeList)
        [ -n "$rs" ] && job_restarts=$rs
        if [ -z "$st" ]; then # forgotten already (MinJobAge)
            [ -n "$job_state" ] || job_state=GONE
            return 0
        fi
        case "$nl" in '' | '(null)') ;; *) job_nodes=$nl ;; esac
        line="$st (restarts ${rs:-?}${nl:+, nodes $nl})"
        [ "$line" != "$shown" ] && echo "    $(date +%T) job $job: $line"
        shown=$line
        job_state=$st
        job_exit=$(job_field "$job" ExitCode)
        [ -n "$hook" ] && "$hook" "$st" "${rs:-0}"
        case "$st" in
        COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY | BOOT_FAIL | DEADLINE | PREEMPTED)
            return 0 ;;
        esac
        sleep 1
    done
    scancel "$job" 2>/dev/null
    job_state=HUNG
}

# to_run LOG: the M of every "N tasks, M to run" line, in order
to_run() {
    grep -Eo '[0-9]+ tasks, [0-9]+ to run' "$1" | sed -E 's/.* ([0-9]+) to run/\1/' | tr '\n' ' '
}
# finished LOG: the T of every "T task(s) finished in this allocation", in order
finished() {
    grep -Eo '[0-9]+ task\(s\) finished in this allocation' "$1" | sed -E 's/ .*//' | tr '\n' ' '
}
# pending_after LOG NAME: the pending count of every summary (`wedge status`
# line of the sweep NAME) in the log, in order
pending_after() {
    grep -E "'$2', [0-9]+ tasks: [0-9]+ done" "$1" | sed -E 's/.* ([0-9]+) pending.*/\1/' | tr '\n' ' '
}
# allocations LOG: the node list of every allocation the job script announced
allocations() {
    sed -n -E 's/.*\] job [0-9]+, allocation [0-9]+ on (.*)$/\1/p' "$1" | tr '\n' ' '
}

# complete LABEL OUT N: the final output holds N done tasks, nothing else, no
# journal; every row ran on a worker rank for a positive time
complete() {
    local label=$1 out=$2 n=$3 counts line
    if [ ! -f "$out" ]; then
        fail "$label: no output $out"
        return 1
    fi
    counts=$(status_counts "$out")
    [ "$counts" = "$n 0 0 0" ] || fail "$label: status counts (done failed diverged pending) '$counts', want '$n 0 0 0'"
    [ -e "$out.journal" ] && fail "$label: the journal $out.journal is left beside the complete output"
    line=$("$WEDGE" status "$out" 2>&1 | head -n 1)
    case "$line" in
    *"$n tasks: $n done, 0 failed, 0 diverged, 0 pending") ;;
    *) fail "$label: wedge status: '$line', want '... $n tasks: $n done, 0 failed, 0 diverged, 0 pending'" ;;
    esac
    "$PYTHON3" - "$out" <<'EOF' || fail "$label: rows without a worker rank or a positive wall time"
import sys, netCDF4, numpy as np
with netCDF4.Dataset(sys.argv[1]) as ds:
    ds.set_auto_mask(False)
    r = np.asarray(ds["rank"][:]); w = np.asarray(ds["wall_time"][:])
    bad = np.flatnonzero((r < 1) | ~(w > 0))
    for i in bad[:5]:
        print(f"    task {i}: rank {r[i]}, wall_time {w[i]}")
    sys.exit(1 if len(bad) else 0)
EOF
}

# journal_rows JOURNAL FILE: write "task status rank wall_time" of every task with a
# record in the journal directory to FILE (wall_time exact, as a hexadecimal float),
# from `wedge status OUT --tasks`.
journal_rows() {
    "$WEDGE" status "${1%.journal}" --tasks >"$2.status" 2>&1 || {
        cat "$2.status" >&2
        return 1
    }
    awk 'BEGIN { code["pending"] = 0; code["done"] = 1; code["failed"] = 2; code["diverged"] = 3 }
         /^tasks:/ { on = 1; next }
         on && $NF == "journal" { print $1, code[$3], $4, $5 }' "$2.status" >"$2"
}

# rows_kept LABEL ROWS OUT: every task of ROWS (journal_rows) has the same status,
# rank and wall time (to the last bit) in the output OUT: it was neither lost nor
# computed again.  Prints how many.
rows_kept() {
    local label=$1 rows=$2 out=$3 msg
    if msg=$("$PYTHON3" - "$rows" "$out" 2>&1 <<'EOF'
import sys, netCDF4, numpy as np
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
with netCDF4.Dataset(sys.argv[2]) as ds:
    ds.set_auto_mask(False)
    s = np.asarray(ds["status"][:]); r = np.asarray(ds["rank"][:]); w = np.asarray(ds["wall_time"][:])
bad = []
for task, status, rank, wall in rows:
    i = int(task)
    if int(s[i]) != int(status) or int(r[i]) != int(rank) or float(w[i]) != float.fromhex(wall):
        bad.append(f"task {i}: before status {status} rank {rank} wall_time {float.fromhex(wall)!r}; "
                   f"final status {int(s[i])} rank {int(r[i])} wall_time {float(w[i])!r}")
print(len(rows))
for b in bad[:5]:
    print(b)
sys.exit(1 if bad else 0)
EOF
    ); then
        echo "$label: the $msg rows of $(basename "$rows") are unchanged in the final file (status, rank, wall_time)"
    else
        fail "$label: rows of $(basename "$rows") were lost or computed again:"
        echo "$msg" | tail -n +2 | sed 's/^/    /'
    fi
}

# ---- sweeps ------------------------------------------------------------------------------
# long_sweep NAME LRS SEEDS: a sweep of MLPs on 2000 synthetic 28x28 images, each
# task about TASK_SECONDS (default 3) here, measured on two trainings side by
# side (as two workers run); prints it
task_epochs=''
long_sweep() {
    if [ -z "$task_epochs" ]; then
        local t0 t1 pids=() s
        t0=$(date +%s.%N)
        for s in 1 2; do
            "$WEDGE" train --data synthetic --arch mlp --depth 2 --hidden 256 --batch-size 32 \
                --epochs 6 --seed "$s" >/dev/null 2>"$tmp/train$s.err" &
            pids+=($!)
        done
        if ! wait "${pids[0]}" || ! wait "${pids[1]}"; then
            cat "$tmp"/train*.err
            die "wedge train (timing) failed"
        fi
        t1=$(date +%s.%N)
        task_epochs=$(awk -v a="$t0" -v b="$t1" -v s="${TASK_SECONDS:-3}" \
            'BEGIN { e = int(s / ((b - a) / 6) + 0.5); if (e < 6) e = 6; if (e > 400) e = 400; print e }')
        echo "timing: 6 epochs in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s -> $task_epochs epochs per task for ~${TASK_SECONDS:-3} s (load average $(cut -d ' ' -f 1-3 /proc/loadavg))" >&2
    fi
    cat <<EOF
name: $1
seed: 11
data: {name: synthetic, synthetic_train: 2000, synthetic_test: 500, synthetic_size: 28}
model: {arch: mlp, depth: 2, hidden: 256}
train: {optimizer: adam, lr: 1.0e-3, batch_size: 32, epochs: $task_epochs}
sweep:
  train.lr: [$2]
  seed: {range: [0, $3]}
EOF
}
