# shellcheck shell=bash
# jobs/lib.sh: what every wedge batch script of jobs/ does, in one place.
# Sourced (not run) by jobs/*.sbatch, which then call
#
#   wedge_job SWEEP.yaml [ARGS...]
#
# (ARGS: the batch script's own arguments, "$@", passed again to the script if
# it has to resubmit itself).  It runs
# `wedge run SWEEP --resume` under MPI, and when Slurm's warning signal stops the
# run before the time limit it puts the job back in the queue, so that a sweep
# longer than one allocation finishes over several, none of its tasks lost or run
# twice.  Step by step:
#
#  1. checks the binary and the sweep (`wedge expand`: a broken sweep fails here,
#     exit 1, and is never requeued) and prints what it is about to do;
#  2. starts `wedge run SWEEP -o OUT --resume --grace G` under mpirun or srun, in
#     the background (with --resume a first run starts fresh and every later run
#     continues the same file: finished tasks are kept, only the rest run);
#  3. waits.  If the batch shell gets SIGUSR1 (what `#SBATCH --signal=B:USR1@120`
#     asks Slurm to send 120 s before the time limit) or SIGTERM, it sends SIGUSR1
#     to the launcher, which passes it to every rank: wedge stops handing out
#     tasks, lets running ones finish for up to G seconds, closes the file and
#     exits 75.  (Not SIGTERM: Open MPI's mpirun, given SIGTERM, exits 1 and kills
#     the ranks about 2 s later whatever they are doing.)
#  4. prints a summary (`wedge status OUT`: done / failed / diverged / pending);
#  5. by wedge's exit status:
#       0   every task done: the job ends with 0;
#       3   the sweep ran to its end but some tasks failed or diverged: ends with
#           3 and is NOT resubmitted (look at `wedge status OUT`);
#       75  interrupted by SIGUSR1: the job puts itself back in the queue and
#           ends with 75, unless WEDGE_MAX_IDLE (default 3) allocations in a row
#           finished no task at all: then a task needs more time than an
#           allocation gives, requeueing would loop forever, and it ends with 1
#           and says so.  (One idle allocation can be bad luck: Slurm may send
#           the warning up to a minute early, before a task could finish.  The
#           count is kept in the file OUT.slurm-idle, removed on progress.)
#           How it continues:
#             - `scontrol requeue $SLURM_JOB_ID` (the default; needs
#               `#SBATCH --requeue` or the cluster's JobRequeue=1): the same job
#               id runs again from the top after Slurm's requeue delay (120 s by
#               default), SLURM_RESTART_COUNT counts the restarts, and with
#               `--open-mode=append` the log file collects every allocation;
#             - if requeueing is refused (--no-requeue, JobRequeue=0, a site
#               policy) or WEDGE_RESUBMIT=sbatch: `sbatch` of the same script and
#               arguments as a NEW job that depends on this one (afterany), with
#               this job's name, time limit, partition, account, nodes, tasks,
#               CPUs per task, memory, array index and log file; other options
#               given on the original sbatch command line (e.g. --signal) are
#               not known to the job: put them in the script or in
#               WEDGE_SBATCH_ARGS.  The environment (SWEEP, OUT, LAUNCH, ...)
#               travels with it.
#           SIGTERM at the time limit (after the warning: wedge could not stop
#           in time, as it abandons a training task only between epochs and
#           lets a probe task run to its end, whatever the grace; or without
#           one: Slurm drops a warning due before the batch script has started):
#           finished tasks are safe in the journal, and the job continues as
#           for 75 (the killed tasks run again).  Any other SIGTERM (scancel)
#           resubmits nothing: submit again, --resume continues.
#       other: an error; the job ends with it.  Nothing written is lost: submit
#           again after fixing the cause.  Except when a node of a multi-node
#           allocation was lost (crashed, or its slurmd and ranks were killed):
#           MPI then fails the run, often before Slurm knows.  The script runs
#           `true` on every node; if one does not answer, it waits for Slurm to
#           declare it DOWN (WEDGE_NODE_WAIT), and the job continues as for 75
#           without that node: Slurm, which ends a job that lost a node,
#           requeues it itself if it may, else the script resubmits it asking
#           for the nodes left (--nodes=LEFT-BEFORE).  A requeued job needs a
#           node range (`--nodes=2-3`) to run on fewer nodes; with a fixed
#           count it waits until the lost node is back.
#
# Settings (environment variables; sbatch passes the submitting shell's
# environment to the job, so `SWEEP=x.yaml LAUNCH=srun sbatch jobs/wedge.sbatch`
# works, as does `sbatch --export=ALL,LAUNCH=srun ...`):
#   SWEEP            the sweep file (or the script's first argument); relative
#                    paths are relative to the job's working directory (the
#                    directory sbatch was run in, unless --chdir)
#   OUT              the NetCDF output (default: the sweep's `output:`, else
#                    `<name>.nc`, in the working directory).  The journal
#                    OUT.journal/ sits beside it while a run is incomplete.  On
#                    several nodes OUT must be on a file system all nodes share.
#   LAUNCH           mpirun (default) or srun: how the ranks are started
#                      mpirun: Open MPI's mpirun inside the allocation; it reads
#                              the allocation from Slurm (-np = SLURM_NTASKS)
#                      srun:   srun --mpi=$SRUN_MPI (default pmix; list what your
#                              Slurm offers with `srun --mpi=list`; Debian's
#                              Open MPI works with pmix, not with pmi2)
#   MPIRUN_ARGS      extra mpirun options (e.g. "--oversubscribe" for more ranks
#                    than the CPUs Slurm gave, "--mca btl self,vader")
#   SRUN_ARGS        extra srun options
#   WEDGE            the wedge binary (default: the installed wedge, in the
#                    bindir `make install` wrote into wj_bindir below; in a
#                    checkout, WEDGE_HOME/wedge)
#   WEDGE_GRACE      seconds running tasks may take to finish after the signal
#                    (default 60).  Keep it below the --signal lead time (120)
#                    minus a margin for closing the file and requeueing.
#   WEDGE_PROGRESS   seconds between progress lines in the log (default 60)
#   WEDGE_THREADS    OpenBLAS threads per rank (default 1; see the batch scripts)
#   WEDGE_RESUBMIT   requeue (default: requeue, falling back to sbatch), sbatch
#                    (always a new job), none (just end with 75)
#   WEDGE_MAX_RESTARTS  stop after this many requeues/resubmissions (default 100)
#   WEDGE_MAX_IDLE   stop after this many allocations in a row without a
#                    finished task (default 3)
#   WEDGE_SBATCH_ARGS   extra sbatch options for a resubmission
#   WEDGE_NODE_WAIT  seconds to wait for Slurm to declare a lost node down
#                    (default: Slurm's SlurmdTimeout + 60)
#
# Outside Slurm (`bash jobs/wedge.sbatch SWEEP`) it runs once with
# WEDGE_RANKS (default: CPUs + 1) ranks and --oversubscribe, and never requeues.

# `make install` writes the installation's bindir here (the installed lib.sh
# runs the installed wedge); in a checkout it stays empty and the binary is the
# checkout's WEDGE_HOME/wedge.
wj_bindir=

wj_log() {
    printf '[wedge-job %s] %s\n' "$(date '+%Y-%m-%d %H:%M:%S')" "$*"
}

# wj_have_wedge: the binary is there (waits up to a minute: a rebuild may be
# replacing it just now)
wj_have_wedge() {
    local i
    for ((i = 0; i < 60; i++)); do
        [ -x "$WEDGE" ] && return 0
        sleep 1
    done
    return 1
}

# wj_counts OUT: "done failed diverged pending" from `wedge status OUT` (nothing if
# OUT cannot be read, e.g. before the first run)
wj_counts() {
    wj_have_wedge || return 0
    "$WEDGE" status "$1" 2>/dev/null | head -n 1 |
        sed -n -E 's/.* ([0-9]+) tasks: ([0-9]+) done, ([0-9]+) failed, ([0-9]+) diverged, ([0-9]+) pending.*/\2 \3 \4 \5/p'
}

# wj_sweep_output SWEEP: the output a sweep names (top-level `output:`, else
# `<name>.nc`); empty if neither is written plainly on a line of its own
wj_sweep_output() {
    local v
    v=$(sed -n -E 's/^output:[[:space:]]*([^#]*[^#[:space:]]).*$/\1/p' "$1" | head -n 1)
    if [ -z "$v" ]; then
        v=$(sed -n -E 's/^name:[[:space:]]*["'\'']?([A-Za-z0-9_.-]+).*$/\1/p' "$1" | head -n 1)
        [ -n "$v" ] && v=$v.nc
    fi
    v=${v#[\"\']}
    v=${v%[\"\']}
    printf '%s\n' "$v"
}

# wj_job_field NAME: a field of `scontrol show job` for this job (first word)
wj_job_field() {
    scontrol show job "$SLURM_JOB_ID" 2>/dev/null | tr ' ' '\n' |
        sed -n "s/^$1=//p" | head -n 1
}

# wj_on_signal SIG: the batch shell got SIG; ask wedge to stop (SIGUSR1 to the
# launcher, whatever SIG was)
wj_on_signal() {
    wj_trapped=1
    [ "$1" = TERM ] && wj_got_term=1
    [ "$1" = USR1 ] && wj_got_usr1=1
    wj_stop=$1
    if [ -n "${wj_launcher:-}" ] && kill -0 "$wj_launcher" 2>/dev/null; then
        # a launcher or rank that has not yet installed its handlers would die
        # of SIGUSR1: give them a few seconds after the start
        if [ $((SECONDS - wj_launch_t)) -lt 5 ]; then
            sleep $((5 - (SECONDS - wj_launch_t)))
        fi
        wj_log "got SIG$1: asking wedge to stop (SIGUSR1 to $LAUNCH, pid $wj_launcher); running tasks have ${wj_grace}s to finish"
        kill -USR1 "$wj_launcher" 2>/dev/null
    else
        wj_log "got SIG$1"
    fi
}

# wj_node_lost: after the launcher failed in an allocation of several nodes, was
# a node lost (crashed, or its slurmd and ranks killed)?  MPI reports that as a
# failed run, often seconds before Slurm knows.  Runs `true` once on every node
# of the allocation (one srun step, at most 60 s): if all of them answer, no
# node was lost (returns 1; the failure is wedge's or MPI's).  If one does not,
# waits (at most WEDGE_NODE_WAIT s, default Slurm's SlurmdTimeout + 60) for
# Slurm to declare a node of the allocation DOWN, and then (at most 10 s) for
# Slurm to end the job, which it does on a node failure, requeueing it if the
# job may be requeued (SIGTERM to this shell; Restarts goes up).  Returns 0 if
# a node is down, with wj_slurm_requeued=1 if Slurm requeued the job itself
# and wj_nodes_left the number of nodes of the allocation still up; 2 if no
# node went down in time.
wj_node_lost() {
    local nodes=${SLURM_JOB_NODELIST:-} n=${SLURM_JOB_NUM_NODES:-1} limit i down='' rs st
    wj_slurm_requeued='' wj_nodes_left=''
    [ -n "${SLURM_JOB_ID:-}" ] && [ "$n" -gt 1 ] || return 1
    if timeout -k 5 60 srun --overlap --mpi=none --nodes="$n" --ntasks="$n" --ntasks-per-node=1 \
        --kill-on-bad-exit=1 true >/dev/null 2>&1; then
        return 1
    fi
    limit=${WEDGE_NODE_WAIT:-}
    if [ -z "$limit" ]; then
        limit=$(scontrol show config 2>/dev/null | sed -n 's/^SlurmdTimeout *= *\([0-9]*\) sec.*/\1/p')
        limit=$(( ${limit:-300} + 60 ))
    fi
    wj_log "a node of $nodes does not answer: waiting up to ${limit}s for Slurm to declare it down"
    for ((i = 0; i < limit; i += 2)); do
        down=$(sinfo -h -N -n "$nodes" -o '%N %T' 2>/dev/null | awk '$2 ~ /^down/ { print $1 }' | sort -u | tr '\n' ' ')
        [ -n "$down" ] && break
        sleep 2
    done
    if [ -z "$down" ]; then
        wj_log "no node of $nodes was declared down in ${limit}s"
        return 2
    fi
    wj_nodes_left=$(( n - $(echo "$down" | wc -w) ))
    wj_log "Slurm declared ${down% } down"
    # Slurm ends a job that loses a node (unless it has --no-kill), requeueing it
    # if it may; that takes a moment to show
    for ((i = 0; i < 10; i++)); do
        rs=$(wj_job_field Restarts)
        st=$(wj_job_field JobState)
        if [ "${rs:-0}" -gt "${SLURM_RESTART_COUNT:-0}" ]; then
            wj_slurm_requeued=1
            break
        fi
        case "$st" in NODE_FAIL | CANCELLED | FAILED) break ;; esac
        sleep 1
    done
    return 0
}

# wj_resubmit: queue the rest of the sweep (requeue, else a new job); returns 0
# if the job will continue
wj_resubmit() {
    local mode=${WEDGE_RESUBMIT:-requeue} restarts script new out err v
    restarts=$(( ${SLURM_RESTART_COUNT:-0} + ${WEDGE_CHAIN:-0} ))
    if [ "$restarts" -ge "${WEDGE_MAX_RESTARTS:-100}" ]; then
        wj_log "not resubmitting: $restarts restarts already (WEDGE_MAX_RESTARTS=${WEDGE_MAX_RESTARTS:-100})"
        return 1
    fi
    case "$mode" in none) wj_log "WEDGE_RESUBMIT=none: not resubmitting"; return 1 ;; esac
    trap - USR1 TERM
    if [ "$mode" = requeue ]; then
        # the requeue ends this allocation (Slurm kills this shell); the log is
        # complete before it
        wj_log "requeueing job $SLURM_JOB_ID (scontrol requeue): it runs again, from the top, after Slurm's requeue delay; the log continues in this file"
        if err=$(scontrol requeue "$SLURM_JOB_ID" 2>&1); then
            return 0
        fi
        wj_log "scontrol requeue failed: $(echo "$err" | tr '\n' ' ')- resubmitting with sbatch instead"
    fi
    # a new job running the same script with the same arguments, after this one
    script=$(wj_job_field Command)
    [ -r "$script" ] || script=$0
    wj_sb=(--dependency="afterany:$SLURM_JOB_ID" --open-mode=append --chdir="$wj_workdir"
        --job-name="$SLURM_JOB_NAME" --ntasks="$SLURM_NTASKS")
    # after the loss of a node: as many nodes as are left, up to as many as before
    if [ -n "${wj_nodes_left:-}" ] && [ "$wj_nodes_left" -lt "$SLURM_JOB_NUM_NODES" ]; then
        wj_sb+=(--nodes="$wj_nodes_left-$SLURM_JOB_NUM_NODES")
    else
        wj_sb+=(--nodes="$SLURM_JOB_NUM_NODES")
    fi
    v=$(squeue -h -j "$SLURM_JOB_ID" -o %l 2>/dev/null | head -n 1)
    case "$v" in ''|UNLIMITED|INVALID) ;; *) wj_sb+=(--time="$v") ;; esac
    [ -n "${SLURM_JOB_PARTITION:-}" ] && wj_sb+=(--partition="$SLURM_JOB_PARTITION")
    case "${SLURM_JOB_ACCOUNT:-}" in ''|'(null)') ;; *) wj_sb+=(--account="$SLURM_JOB_ACCOUNT") ;; esac
    [ -n "${SLURM_CPUS_PER_TASK:-}" ] && wj_sb+=(--cpus-per-task="$SLURM_CPUS_PER_TASK")
    [ "${SLURM_OVERCOMMIT:-0}" = 1 ] && wj_sb+=(--overcommit)
    [ -n "${SLURM_MEM_PER_NODE:-}" ] && wj_sb+=(--mem="$SLURM_MEM_PER_NODE")
    [ -n "${SLURM_MEM_PER_CPU:-}" ] && wj_sb+=(--mem-per-cpu="$SLURM_MEM_PER_CPU")
    [ "$(wj_job_field OverSubscribe)" = NO ] && wj_sb+=(--exclusive)
    [ -n "${SLURM_ARRAY_TASK_ID:-}" ] && wj_sb+=(--array="$SLURM_ARRAY_TASK_ID")
    out=$(wj_job_field StdOut)
    err=$(wj_job_field StdErr)
    [ -n "$out" ] && wj_sb+=(--output="$out")
    [ -n "$err" ] && [ "$err" != "$out" ] && wj_sb+=(--error="$err")
    # shellcheck disable=SC2206 # word splitting wanted
    wj_sb+=(${WEDGE_SBATCH_ARGS:-})
    wj_log "resubmitting: sbatch ${wj_sb[*]} $script ${wj_args[*]}"
    # this job's SLURM_* variables must not leak into the new one (SLURM_CONF may
    # be needed to reach the controller)
    new=$(
        for v in $(compgen -e); do
            case "$v" in SLURM_CONF) ;; SLURM_*) unset "$v" ;; esac
        done
        # shellcheck disable=SC2030 # only the new job is to see it
        export WEDGE_CHAIN=$(( ${WEDGE_CHAIN:-0} + 1 ))
        sbatch --parsable "${wj_sb[@]}" "$script" "${wj_args[@]}"
    ) || { wj_log "sbatch failed: the sweep is NOT resubmitted; submit the job again to continue"; return 1; }
    wj_log "resubmitted as job ${new%%;*}; it starts when this job ends"
    return 0
}

# wedge_job SWEEP [ARGS...]: the whole job (see the top of this file)
wedge_job() {
    local sweep=${1:-} ntasks rc r r2 before after ndone_before ndone_after nfail a b c started=''
    shift || true
    # from here on a stop signal is remembered (and later forwarded to wedge);
    # one that came earlier was remembered by the batch script's own trap
    wj_stop=${wj_stop:-} wj_got_term=${wj_got_term:-} wj_got_usr1=${wj_got_usr1:-}
    wj_launcher='' wj_launch_t=0
    trap 'wj_on_signal USR1' USR1
    trap 'wj_on_signal TERM' TERM
    wj_args=("$@")
    wj_workdir=$(pwd)
    LAUNCH=${LAUNCH:-mpirun}
    if [ -z "${WEDGE:-}" ]; then
        if [ -n "$wj_bindir" ]; then WEDGE=$wj_bindir/wedge; else WEDGE=$WEDGE_HOME/wedge; fi
    fi
    wj_grace=${WEDGE_GRACE:-60}
    local progress=${WEDGE_PROGRESS:-60} threads=${WEDGE_THREADS:-1}
    # one BLAS thread per rank unless WEDGE_THREADS says otherwise: the ranks are
    # the parallelism (see the batch scripts for when more threads pay)
    export OPENBLAS_NUM_THREADS=$threads OMP_NUM_THREADS=$threads

    if [ -z "$sweep" ]; then
        wj_log "error: no sweep: set SWEEP or pass the sweep file as the first argument"
        return 2
    fi
    if [ ! -r "$sweep" ]; then
        wj_log "error: cannot read the sweep '$sweep' (working directory $wj_workdir)"
        return 1
    fi
    if ! wj_have_wedge; then
        wj_log "error: wedge binary '$WEDGE' not found or not executable (build it, or set WEDGE)"
        return 1
    fi
    if ! ntasks=$("$WEDGE" expand "$sweep" --count 2>/dev/null); then
        wj_log "error: the sweep is not valid:"
        # shellcheck disable=SC2069 # the messages only
        "$WEDGE" expand "$sweep" --count 2>&1 >/dev/null
        return 1
    fi
    wj_out=${OUT:-$(wj_sweep_output "$sweep")}
    if [ -z "$wj_out" ]; then
        wj_log "error: cannot tell the sweep's output file from '$sweep': set OUT"
        return 1
    fi

    # the launcher
    local nranks
    case "$LAUNCH" in
    mpirun)
        command -v mpirun >/dev/null 2>&1 || { wj_log "error: mpirun not found (LAUNCH=mpirun)"; return 1; }
        wj_cmd=(mpirun)
        [ "$(id -u)" -eq 0 ] && wj_cmd+=(--allow-run-as-root)
        if [ -n "${SLURM_JOB_ID:-}" ]; then
            nranks=${SLURM_NTASKS:-${SLURM_NPROCS:-}}
            [ -n "$nranks" ] || { wj_log "error: SLURM_NTASKS is not set: give the job --ntasks"; return 1; }
        else
            nranks=${WEDGE_RANKS:-$(( $(nproc) + 1 ))}
            wj_cmd+=(--oversubscribe)
        fi
        wj_cmd+=(-np "$nranks")
        # shellcheck disable=SC2206
        wj_cmd+=(${MPIRUN_ARGS:-})
        ;;
    srun)
        [ -n "${SLURM_JOB_ID:-}" ] || { wj_log "error: LAUNCH=srun needs a Slurm allocation"; return 1; }
        nranks=${SLURM_NTASKS:-}
        wj_cmd=(srun --mpi="${SRUN_MPI:-pmix}" --kill-on-bad-exit=0)
        [ -n "$nranks" ] && wj_cmd+=(--ntasks="$nranks")
        # shellcheck disable=SC2206
        wj_cmd+=(${SRUN_ARGS:-})
        ;;
    *)
        wj_log "error: LAUNCH='$LAUNCH': want mpirun or srun"
        return 1
        ;;
    esac
    wj_cmd+=("$WEDGE" run "$sweep" -o "$wj_out" --resume --grace "$wj_grace"
        --progress "$progress" --threads "$threads")

    before=$(wj_counts "$wj_out")
    ndone_before=0
    [ -n "$before" ] && { read -r a b c _ <<<"$before"; ndone_before=$((a + b + c)); }
    # shellcheck disable=SC2031
    wj_log "job ${SLURM_JOB_ID:-(not under Slurm)}${SLURM_ARRAY_TASK_ID:+ (array task $SLURM_ARRAY_TASK_ID)}, allocation $(( ${SLURM_RESTART_COUNT:-0} + ${WEDGE_CHAIN:-0} + 1 )) on ${SLURM_JOB_NODELIST:-$(hostname)}"
    wj_log "$("$WEDGE" --version 2>/dev/null | head -n 1) ($WEDGE; jobs/lib.sh of $WEDGE_HOME)"
    wj_log "sweep $sweep: $ntasks tasks, $ndone_before finished before this allocation -> $wj_out"
    wj_log "$LAUNCH: $nranks ranks (rank 0 schedules, $((nranks - 1)) train), $threads BLAS thread(s) each"
    wj_log "running: ${wj_cmd[*]}"

    if [ -n "$wj_stop" ]; then
        wj_log "SIG$wj_stop came before wedge started: not starting it"
        rc=75
    else
        "${wj_cmd[@]}" &
        wj_launcher=$!
        started=1
        wj_launch_t=$SECONDS
        # a signal between the start and the line above was not forwarded
        [ -n "$wj_stop" ] && wj_on_signal "$wj_stop"
        # wait for the launcher.  A trapped signal interrupts `wait` (status >
        # 128): then wait again while it runs; bash keeps the status of an
        # ended child.
        while :; do
            wj_trapped=0
            wait "$wj_launcher"
            r=$?
            if [ "$wj_trapped" = 1 ] && [ "$r" -gt 128 ]; then
                kill -0 "$wj_launcher" 2>/dev/null && continue
                wait "$wj_launcher"
                r2=$?
                [ "$r2" -ne 127 ] && r=$r2
            fi
            rc=$r
            break
        done
    fi
    wj_launcher=

    after=$(wj_counts "$wj_out")
    ndone_after=$ndone_before
    nfail=0
    [ -n "$after" ] && { read -r a b c _ <<<"$after"; ndone_after=$((a + b + c)); nfail=$((b + c)); }
    echo
    wj_log "---- summary of this allocation ----"
    if [ -n "$started" ]; then
        wj_log "$LAUNCH exited with status $rc${wj_stop:+ (after SIG$wj_stop)}; $((ndone_after - ndone_before)) task(s) finished in this allocation"
    else
        wj_log "wedge was not started (SIG$wj_stop came first); treated as status 75"
    fi
    if [ ! -e "$wj_out" ] && [ ! -e "$wj_out.journal" ]; then
        wj_log "no output yet ($wj_out)"
    elif wj_have_wedge; then
        "$WEDGE" status "$wj_out" 2>&1 | sed 's/^/  /'
    fi
    if [ "$rc" -eq 75 ] && [ "$LAUNCH" = mpirun ] && [ -n "$started" ]; then
        wj_log "(75 = stopped cleanly; mpirun's 'non-zero exit code' report above is expected then)"
    fi
    if [ -n "$wj_got_term" ] && [ "$rc" -ne 0 ] && [ "$rc" -ne 3 ]; then
        # SIGTERM at the time limit (after the warning, or without one: Slurm
        # drops a warning due before the batch script runs): finished tasks are
        # in the journal, the others run again in the next allocation.  Any
        # other SIGTERM (scancel) ends the job.
        local why=''
        if [ -n "${SLURM_JOB_ID:-}" ]; then
            if [ -n "$wj_got_usr1" ]; then
                why="after the warning signal: the time limit came before wedge could stop (a running task outlived WEDGE_GRACE; ask for an earlier --signal)"
            elif [ "$(wj_job_field Reason)" = TimeLimit ] || [ "$(wj_job_field JobState)" = TIMEOUT ]; then
                why="at the time limit, without a warning signal (none asked for, or it came before this script ran)"
            fi
        fi
        if [ -z "$why" ]; then
            wj_log "stopped by SIGTERM (scancel?; $LAUNCH status $rc): not resubmitted.  Submit again to continue: --resume keeps every finished task"
            return "$rc"
        fi
        wj_log "SIGTERM $why.  Finished tasks are kept; continuing"
        rc=75
    fi
    case "$rc" in
    0)
        rm -f "$wj_out.slurm-idle"
        wj_log "sweep complete: $wj_out"
        return 0
        ;;
    3)
        rm -f "$wj_out.slurm-idle"
        wj_log "sweep ran to its end, $nfail task(s) failed or diverged (listed above): not resubmitted"
        return 3
        ;;
    75)
        if [ -z "${SLURM_JOB_ID:-}" ]; then
            wj_log "interrupted; run the same command again to continue"
            return 75
        fi
        # allocations in a row that finished nothing
        local idle=0 idlef=$wj_out.slurm-idle
        if [ "$ndone_after" -le "$ndone_before" ]; then
            idle=$(( $(cat "$idlef" 2>/dev/null || echo 0) + 1 ))
            echo "$idle" >"$idlef" 2>/dev/null
            if [ "$idle" -ge "${WEDGE_MAX_IDLE:-3}" ]; then
                rm -f "$idlef"
                wj_log "error: interrupted, and no task finished in the last $idle allocations: a task needs more than an allocation gives; not resubmitted (ask for a longer --time and an earlier --signal)"
                return 1
            fi
            wj_log "no task finished in this allocation ($idle in a row; giving up at ${WEDGE_MAX_IDLE:-3})"
        else
            rm -f "$idlef"
        fi
        wj_resubmit || return 75
        return 75
        ;;
    *)
        wj_node_lost
        case $? in
        0)
            if [ -n "$wj_slurm_requeued" ]; then
                wj_log "$LAUNCH exited with status $rc after the loss of a node; Slurm requeued the job: it continues on the nodes left"
                return 75
            fi
            wj_log "$LAUNCH exited with status $rc after the loss of a node: continuing without it"
            wj_resubmit || return 75
            return 75
            ;;
        2)
            wj_log "error: $LAUNCH exited with status $rc and a node of the allocation does not answer, but Slurm did not declare it down: not resubmitted (submit again to continue)"
            return "$rc"
            ;;
        esac
        wj_log "error: $LAUNCH exited with status $rc: not resubmitted (see the messages above; finished tasks are kept, submit again to continue)"
        return "$rc"
        ;;
    esac
}
