#!/usr/bin/env bash
# test_jobs.sh: the batch scripts of jobs/ under a real (private, loopback) Slurm.
#
# Starts a single-node Slurm in the test's temporary directory
# (tools/slurm-local-start.sh; always stopped on exit, tools/slurm-local-stop.sh)
# and submits the REAL jobs/wedge.sbatch with sbatch, 3 MPI ranks (rank 0
# schedules, 2 workers) on this node with --overcommit --exclusive:
#  (a) a small sweep (6 tasks, a few seconds), once with LAUNCH=mpirun and once
#      with LAUNCH=srun (srun --mpi=pmix): each job ends COMPLETED with exit code
#      0, its log says the sweep is complete, and the output is complete (`wedge
#      status`: 6 done, 0 failed, 0 diverged, 0 pending; no journal left).
#  (b) a long sweep (40 tasks of about 6 s: about 120 s of work for the two
#      workers, sized by timing two trainings side by side first) under a
#      ONE-MINUTE time limit: `sbatch --time=1 --signal=B:USR1@5`.  Why @5 and
#      not @30: slurmctld checks limits on a 30 s timer and sends the warning at
#      the first tick at or after (limit - lead - 30 s), and enforces the limit
#      at the first tick at or after it (60-90 s in).  With @30 on a 60 s job
#      the warning falls on the first tick after the start, 0-30 s in, so
#      allocations are short, and it can be lost when that tick comes before
#      slurmd has started the batch script (~3 s here; one 60 s job got none);
#      with @5 it comes 25-55 s in (measured: 37.5 and 54.8 s, the kill 30 s
#      later), so each allocation does 25-55 s of work and the sweep needs at
#      least two.  The job must be signalled, stop cleanly (wedge exits 75),
#      requeue itself (scontrol requeue; same job id) as often as needed and
#      end COMPLETED with exit code 0.  (An allocation killed at the limit
#      instead, e.g. on a badly overloaded machine, must still requeue itself
#      and is only reported.)
#      "Every task done exactly once" is checked thus:
#        - in the job log, allocation k's wedge announces "N tasks, M_k to run"
#          with M_1 = N and M_k = the pending count that allocation k-1's summary
#          (`wedge status`) printed: a resumed run runs only the tasks without a
#          result, none that finished before;
#        - the per-allocation counts "T_k task(s) finished in this allocation"
#          sum to N (no task counted twice, none missing), every allocation but
#          the last requeued the job (and at least one was stopped by SIGUSR1
#          with wedge's status 75);
#        - while the job waits between allocations the test copies the output
#          (closed then); every row done in such a copy is unchanged in the
#          final file (same status, wall_time to the nanosecond, and rank): a
#          task that ran again would have a new wall time;
#        - the final file is complete and journal-free: N done, 0 failed, 0
#          diverged, 0 pending; every row has a worker rank (1 or 2) and a
#          positive wall time.
#  (c) the fallback when requeueing is not allowed: a job submitted with
#      --no-requeue and LAUNCH=srun, sent SIGUSR1 by hand (`scancel --batch
#      --signal=USR1`) once two tasks are recorded, must report that `scontrol
#      requeue` failed, resubmit itself with sbatch as a new job (afterany
#      dependency, same log file), end with 75, and the new job must finish the
#      sweep (exit 0): the same M_k / T_k accounting as in (b).
#
# Needs root (it starts slurmctld, slurmd and munged): otherwise it prints why and
# exits 77 (SKIP).  Environment (as `make check` sets it): WEDGE (the binary),
# top_srcdir, PYTHON3.  Exits 0 if every check passes, 1 otherwise, printing each
# failed check and the job logs.  About 3-4 minutes on 2 cores, mostly (b).
set -u
t=test_jobs

if [ "$(id -u)" -ne 0 ]; then
    echo "SKIP: $t needs root: it starts its own slurmctld, slurmd and munged (as SlurmUser=root)"
    exit 77
fi

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_srcdir=$(cd "$top_srcdir" && pwd)
export WEDGE=${WEDGE:-$top_srcdir/wedge}
# shared helpers of the MPI tests: $tmp, fail/finish/die, status_counts,
# same_tasks, records
. "$top_srcdir/tests/mpi/lib.sh"

for b in sbatch scontrol squeue scancel sinfo srun slurmctld slurmd munged; do
    command -v "$b" >/dev/null 2>&1 ||
        die "'$b' not found: install Debian's slurm-wlm and munge (tools/setup.sh does)"
done
job_script=$top_srcdir/jobs/wedge.sbatch
[ -r "$job_script" ] || die "$job_script not found (set top_srcdir)"

t_start=$(date +%s)
elapsed() { echo $(($(date +%s) - t_start)); }

# ---- the private Slurm -------------------------------------------------------------
# munged wants every directory above its socket searchable by all
chmod 755 "$tmp"
sdir=$tmp/slurm
# ports of our own (a developer's local Slurm on 16817/16818 is left alone)
port=$((20000 + ($$ % 4000) * 2))
slurm_up=
# shellcheck disable=SC2317 # called from the EXIT trap
stop_slurm() {
    [ -n "$slurm_up" ] && "$top_srcdir/tools/slurm-local-stop.sh" "$sdir" >/dev/null 2>&1
    slurm_up=
}
trap 'stop_slurm; cleanup' EXIT
if ! SLURMCTLD_PORT=$port SLURMD_PORT=$((port + 1)) \
    "$top_srcdir/tools/slurm-local-start.sh" "$sdir" >"$tmp/slurm.env" 2>"$tmp/slurm-start.err"; then
    slurm_up=1
    sed 's/^/    /' "$tmp/slurm-start.err" | tail -n 80
    die "tools/slurm-local-start.sh $sdir failed"
fi
slurm_up=1
eval "$(cat "$tmp/slurm.env")"
[ -n "${SLURM_CONF:-}" ] || die "tools/slurm-local-start.sh printed no SLURM_CONF"
echo "local Slurm up in $(elapsed) s: $SLURM_CONF (ports $port, $((port + 1)))"
srun --mpi=list 2>&1 | tr '\n' ' ' | sed 's/^/srun --mpi=list: /'
echo

# ---- helpers -------------------------------------------------------------------------
work=$tmp/work
mkdir -p "$work"

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
    for f in "$sdir/log/slurmctld.log" "$sdir/log/slurmd.log"; do
        echo "    ---- $f ----"
        tail -n 25 "$f" 2>/dev/null | sed 's/^/    | /'
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
        --ntasks=3 --overcommit --exclusive "${opts[@]}" "$job_script" "$@" 2>"$tmp/sbatch.err")
    jid=${jid%%;*}
    if [ -z "$jid" ]; then
        fail "$name: sbatch failed: $(cat "$tmp/sbatch.err")"
    fi
}

# wait_job JOB LIMIT [OUT SNAPDIR]: poll (1 s) until JOB ends or LIMIT seconds
# pass; prints its state changes.  Sets job_state, job_exit, job_restarts.  With
# OUT and SNAPDIR, copies OUT to SNAPDIR/after-<k>.nc while the job waits in the
# queue after its k-th allocation (the file is closed then).  On the limit, cancels
# the job and sets job_state=HUNG.
wait_job() {
    local job=$1 limit=$2 out=${3:-} snapdir=${4:-} i st last='' rs
    job_state='' job_exit='' job_restarts=0
    for ((i = 0; i < limit; i++)); do
        st=$(job_field "$job" JobState)
        rs=$(job_field "$job" Restarts)
        [ -n "$rs" ] && job_restarts=$rs
        if [ -z "$st" ]; then # forgotten already (MinJobAge)
            job_state=${last:-GONE}
            return 0
        fi
        if [ "$st/$rs" != "$last/$job_restarts" ]; then
            echo "    $(date +%T) job $job: $st (restarts ${rs:-?})"
        fi
        job_state=$st
        job_exit=$(job_field "$job" ExitCode)
        last=$st
        case "$st" in
        COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY | BOOT_FAIL | DEADLINE | PREEMPTED)
            return 0 ;;
        PENDING)
            if [ -n "$snapdir" ] && [ "${rs:-0}" -gt 0 ] && [ -f "$out" ] &&
                [ ! -f "$snapdir/after-$rs.nc" ]; then
                cp "$out" "$snapdir/after-$rs.nc"
            fi ;;
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

# accounting LABEL LOG NAME N ALLOCS: the M_k / T_k checks described at the top
accounting() {
    local label=$1 log=$2 name=$3 n=$4 allocs=$5 m p tt k sum=0 want
    read -r -a m <<<"$(to_run "$log")"
    read -r -a p <<<"$(pending_after "$log" "$name")"
    read -r -a tt <<<"$(finished "$log")"
    echo "$label: per allocation: to run (M_k) ${m[*]}; finished (T_k) ${tt[*]}; pending after ${p[*]}"
    if [ "${#m[@]}" -ne "$allocs" ] || [ "${#tt[@]}" -ne "$allocs" ] || [ "${#p[@]}" -ne "$allocs" ]; then
        fail "$label: $allocs allocations, but the log has ${#m[@]} 'to run' lines, ${#tt[@]} 'finished' lines, ${#p[@]} summaries"
        return
    fi
    [ "${m[0]}" -eq "$n" ] || fail "$label: the first allocation announced ${m[0]} tasks to run, want $n"
    for ((k = 1; k < allocs; k++)); do
        [ "${m[k]}" -eq "${p[k - 1]}" ] ||
            fail "$label: allocation $((k + 1)) announced ${m[k]} tasks to run, but ${p[k - 1]} were pending after allocation $k"
    done
    for k in "${tt[@]}"; do sum=$((sum + k)); done
    [ "$sum" -eq "$n" ] || fail "$label: the allocations finished $sum tasks in all (${tt[*]}), want exactly $n"
    want=0
    [ "${p[allocs - 1]}" -eq "$want" ] || fail "$label: ${p[allocs - 1]} tasks pending after the last allocation"
}

# complete LABEL OUT N: the final output holds N done tasks, nothing else, no journal
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
    # every row ran once on a worker, for a positive time
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

# ---- the sweeps ------------------------------------------------------------------------
cat >"$work/small.yaml" <<'EOF'
name: slurm-small
seed: 3
data: {name: synthetic, synthetic_train: 300, synthetic_test: 100, synthetic_size: 12}
model: {arch: mlp, depth: 1, hidden: 16}
train: {optimizer: adam, lr: 1.0e-3, batch_size: 32, epochs: 2}
sweep:
  train.lr: [1.0e-3, 3.0e-3]
  seed: {range: [0, 3]}
EOF
# the long sweeps: an MLP on 2000 synthetic 28x28 images; epochs set so that one
# task takes about TASK_SECONDS (12) here, twice what the one-minute limit needs,
# because the sweep's tasks have run up to 3x faster than this timing says (timed
# on two 24-epoch trainings at once: enough epochs that the
# start-up of `wedge train` weighs less)
# (two at once, as the two workers will run, so that the machine's load counts)
task_seconds=${TASK_SECONDS:-12}
t0=$(date +%s.%N)
pids=()
for s in 1 2; do
    "$WEDGE" train --data synthetic --arch mlp --depth 2 --hidden 256 --batch-size 32 \
        --epochs 24 --seed "$s" >/dev/null 2>"$tmp/train$s.err" &
    pids+=($!)
done
if ! wait "${pids[0]}" || ! wait "${pids[1]}"; then
    cat "$tmp"/train*.err
    die "wedge train (timing) failed"
fi
t1=$(date +%s.%N)
epochs=$(awk -v a="$t0" -v b="$t1" -v s="$task_seconds" \
    'BEGIN { e = int(s / ((b - a) / 24) + 0.5); if (e < 6) e = 6; if (e > 400) e = 400; print e }')
echo "load average: $(cut -d ' ' -f 1-3 /proc/loadavg)"
echo "timing: 24 epochs in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s -> $epochs epochs per task for ~${task_seconds} s"
long_sweep() { # NAME LRS SEEDS
    cat <<EOF
name: $1
seed: 11
data: {name: synthetic, synthetic_train: 2000, synthetic_test: 500, synthetic_size: 28}
model: {arch: mlp, depth: 2, hidden: 256}
train: {optimizer: adam, lr: 1.0e-3, batch_size: 32, epochs: $epochs}
sweep:
  train.lr: [$2]
  seed: {range: [0, $3]}
EOF
}
long_sweep slurm-long "5.0e-4, 1.0e-3, 2.0e-3, 4.0e-3" 10 >"$work/long.yaml"
long_sweep slurm-resubmit "1.0e-3, 2.0e-3" 6 >"$work/resubmit.yaml"
# count NAME: n_NAME = the number of tasks of $work/NAME.yaml
count() {
    local n
    n=$("$WEDGE" expand "$work/$1.yaml" --count 2>&1) || die "wedge expand $1.yaml: $n"
    printf -v "n_$1" '%s' "$n"
}
n_small='' n_long='' n_resubmit=''
count small
count long
count resubmit
echo "sweeps: small $n_small tasks, long $n_long, resubmit $n_resubmit"

# ---- (a) a small sweep, mpirun and srun ---------------------------------------------------
for launch in mpirun srun; do
    label="(a) LAUNCH=$launch"
    ta=$(elapsed)
    submit "a-$launch" --time=5 --export="ALL,LAUNCH=$launch,WEDGE_PROGRESS=5" -- ../small.yaml
    [ -n "$jid" ] || continue
    wait_job "$jid" 90
    log=$work/a-$launch/a-$launch-$jid.out
    echo "$label: job $jid $job_state, exit code $job_exit, $(($(elapsed) - ta)) s"
    ok=1
    if [ "$job_state" != COMPLETED ] || [ "$job_exit" != 0:0 ]; then
        fail "$label: job $jid ended $job_state with exit code $job_exit, want COMPLETED 0:0"
        ok=
    fi
    grep -q "running: $launch " "$log" 2>/dev/null || { fail "$label: the log does not show the $launch launch"; ok=; }
    grep -q 'sweep complete' "$log" 2>/dev/null || { fail "$label: the log does not say 'sweep complete'"; ok=; }
    complete "$label" "$work/a-$launch/slurm-small.nc" "$n_small" || ok=
    [ -n "$ok" ] || { show_log "$log"; show_slurm; }
done

# ---- (b) a one-minute time limit: signalled, requeued, finished ------------------------------
label="(b) --time=1 requeue"
tb=$(elapsed)
mkdir -p "$work/b-snap"
submit b --time=1 --signal=B:USR1@5 --export="ALL,LAUNCH=mpirun,WEDGE_GRACE=25,WEDGE_PROGRESS=15" -- ../long.yaml
if [ -n "$jid" ]; then
    echo "$label: job $jid, $n_long tasks of ~${task_seconds} s"
    wait_job "$jid" 360 "$work/b/slurm-long.nc" "$work/b-snap"
    log=$work/b/b-$jid.out
    allocs=$((job_restarts + 1))
    echo "$label: job $jid $job_state, exit code $job_exit, $allocs allocations, $(($(elapsed) - tb)) s"
    f0=$failures
    if [ "$job_state" != COMPLETED ] || [ "$job_exit" != 0:0 ]; then
        fail "$label: job $jid ended $job_state with exit code $job_exit, want COMPLETED 0:0"
    fi
    if [ "$allocs" -lt 2 ]; then
        fail "$label: the sweep finished in one allocation: it was never signalled and requeued (is this machine much faster than the timing said?)"
    fi
    n_alloc_log=$(grep -c 'allocation [0-9]* on ' "$log" 2>/dev/null)
    [ "$n_alloc_log" -eq "$allocs" ] || fail "$label: Slurm counts $allocs allocations, the log $n_alloc_log"
    n_75=$(grep -c 'mpirun exited with status 75 (after SIGUSR1)' "$log")
    n_tl=$(grep -c 'SIGTERM at the time limit\|SIGTERM after the warning' "$log")
    n_rq=$(grep -c "requeueing job $jid" "$log")
    echo "$label: $n_75 allocation(s) stopped by SIGUSR1 (exit 75), $n_tl killed at the time limit, $n_rq requeue(s)"
    if [ "$n_75" -lt 1 ] || [ $((n_75 + n_tl)) -ne $((allocs - 1)) ] || [ "$n_rq" -ne $((allocs - 1)) ]; then
        fail "$label: over $allocs allocations the log has $n_75 stops by SIGUSR1 with exit 75, $n_tl stops at the time limit and $n_rq requeues: want $((allocs - 1)) stops (at least one by SIGUSR1) and as many requeues"
    fi
    grep -q 'sweep complete' "$log" || fail "$label: the log does not say 'sweep complete'"
    accounting "$label" "$log" slurm-long "$n_long" "$allocs"
    complete "$label" "$work/b/slurm-long.nc" "$n_long"
    nsnap=0
    for snap in "$work/b-snap"/after-*.nc; do
        [ -f "$snap" ] || continue
        if ! "$PYTHON3" -c 'import sys, netCDF4; netCDF4.Dataset(sys.argv[1]).close()' "$snap" 2>/dev/null; then
            echo "$label: $(basename "$snap") is not readable (that allocation was killed at the limit): not compared"
            continue
        fi
        nsnap=$((nsnap + 1))
        if kept=$(same_tasks "$snap" "$work/b/slurm-long.nc" 2>&1); then
            echo "$label: $(basename "$snap"): its $kept done rows are unchanged in the final file"
        else
            fail "$label: rows done in $(basename "$snap") were recomputed or changed:"
            echo "$kept" | tail -n +2 | sed 's/^/    /'
        fi
    done
    [ "$nsnap" -ge 1 ] || fail "$label: no readable copy of the output was taken between allocations"
    [ "$failures" -gt "$f0" ] && { show_log "$log"; show_slurm; }
fi

# ---- (c) requeue refused: resubmitted with sbatch (and LAUNCH=srun) -----------------------------
label="(c) --no-requeue resubmit"
tc=$(elapsed)
submit c --time=5 --no-requeue --export="ALL,LAUNCH=srun,WEDGE_GRACE=10,WEDGE_PROGRESS=15" -- ../resubmit.yaml
if [ -n "$jid" ]; then
    f0=$failures
    out=$work/c/slurm-resubmit.nc
    log=$work/c/c-$jid.out
    for ((i = 0; i < 120; i++)); do # until two tasks are recorded (60 s)
        [ "$(records "$out.journal" 2>/dev/null)" -ge 2 ] && break
        [ "$(job_field "$jid" JobState)" = RUNNING ] || [ "$i" -lt 20 ] || break
        sleep 0.5
    done
    echo "$label: job $jid: SIGUSR1 to the batch shell with $(records "$out.journal") of $n_resubmit tasks recorded"
    scancel --batch --signal=USR1 "$jid" || fail "$label: scancel --batch --signal=USR1 $jid failed"
    wait_job "$jid" 60
    echo "$label: job $jid $job_state, exit code $job_exit"
    [ "$job_exit" = 75:0 ] || fail "$label: the first job ended $job_state with exit code $job_exit, want 75:0"
    grep -q 'scontrol requeue failed' "$log" || fail "$label: the log does not report the refused requeue"
    jid2=$(sed -n -E 's/.*resubmitted as job ([0-9]+).*/\1/p' "$log" | head -n 1)
    if [ -z "$jid2" ]; then
        fail "$label: the job did not resubmit itself"
    else
        wait_job "$jid2" 90
        echo "$label: resubmitted job $jid2 $job_state, exit code $job_exit, $(($(elapsed) - tc)) s"
        if [ "$job_state" != COMPLETED ] || [ "$job_exit" != 0:0 ]; then
            fail "$label: the resubmitted job $jid2 ended $job_state with exit code $job_exit, want COMPLETED 0:0"
        fi
        [ "$(grep -c 'running: srun --mpi=pmix' "$log")" -eq 2 ] ||
            fail "$label: want two srun --mpi=pmix launches in the log (the second job appends to it)"
        accounting "$label" "$log" slurm-resubmit "$n_resubmit" 2
        complete "$label" "$out" "$n_resubmit"
    fi
    [ "$failures" -gt "$f0" ] && { show_log "$log"; show_slurm; }
fi

echo "total $(elapsed) s"
finish
