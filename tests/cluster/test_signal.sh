#!/usr/bin/env bash
# test_signal.sh: the time-limit warning signal on a multi-node job: the job
# stops cleanly on every node, exits 75, requeues itself and completes.
#
# On a private Slurm of 3 emulated nodes (tests/cluster/lib.sh), the REAL
# jobs/wedge.sbatch runs a sweep of 16 tasks of about 3 s (sized by timing two
# trainings side by side) as `sbatch --nodes=3 --ntasks=3 --overcommit`, once
# with LAUNCH=mpirun and once with LAUNCH=srun (srun --mpi=pmix).  Once 3 tasks
# are recorded the test sends what `#SBATCH --signal=B:USR1@...` makes Slurm
# send before the time limit, SIGUSR1 to the batch shell (`scancel --batch
# --signal=USR1`).  The script passes it on to the launcher, which passes it to
# the ranks on the other nodes (mpirun through its daemons, srun through the
# slurmds).  Checks, for each launcher:
#  - the job ends COMPLETED with exit code 0 after exactly one requeue (the
#    same job id; Slurm's Restarts = 1), both allocations on node[1-3];
#  - the log shows the signal, "<launcher> exited with status 75 (after
#    SIGUSR1)" and the script's `scontrol requeue`;
#  - every task ran exactly once: the first allocation announces "16 tasks, 16
#    to run", the second "16 tasks, M to run" with M the pending count of the
#    first allocation's summary, and the two allocations' "T task(s) finished"
#    add up to 16;
#  - the output, copied while the job waits between its allocations, is a
#    cleanly closed file, and its done rows are unchanged in the final file
#    (status, rank, wall time to the nanosecond);
#  - the final file is complete: 16 done, no journal, every row on a worker.
# Exits 77 (SKIP) when namespaces cannot be made (not root, no ip/nsenter/unshare).
# About 80 s.
set -u
t=test_signal
. "$(dirname "$0")/lib.sh"

long_sweep signal-long "5.0e-4, 1.0e-3" 8 >"$work/long.yaml"
ntasks=$("$WEDGE" expand "$work/long.yaml" --count 2>&1) || die "wedge expand long.yaml: $ntasks"
echo "sweep: $ntasks tasks"

# copy_between STATE RESTARTS (wait_job hook): the output, once, while the job
# waits after its first allocation (closed then)
# shellcheck disable=SC2317 # called by wait_job
copy_between() {
    if [ "$2" -ge 1 ] && [ "$1" = PENDING ] && [ -f "$out" ] && [ ! -f "$snap" ]; then
        cp "$out" "$snap"
        echo "    $(date +%T) job $jid waits after its first allocation: output copied"
    fi
}

for launch in mpirun srun; do
    label="USR1, LAUNCH=$launch"
    ts=$(elapsed)
    f0=$failures
    out=$work/$launch/signal-long.nc
    snap=$work/$launch-between.nc
    submit "$launch" --nodes=3 --ntasks=3 --overcommit --time=10 \
        --export="ALL,WEDGE=$bin/wedge,LAUNCH=$launch,WEDGE_GRACE=10,WEDGE_PROGRESS=5" -- ../long.yaml
    [ -n "$jid" ] || continue
    log=$work/$launch/$launch-$jid.out
    if ! wait_running "$jid" 60; then
        fail "$label: job $jid does not run after 60 s (state $(job_field "$jid" JobState), reason $(job_field "$jid" Reason))"
        show_slurm
        scancel "$jid"
        continue
    fi
    wait_records "$out.journal" 3 90 || fail "$label: only $(records "$out.journal") tasks recorded after 90 s"
    echo "$label: $(date +%T) SIGUSR1 to the batch shell of job $jid with $(records "$out.journal") of $ntasks tasks recorded"
    scancel --batch --signal=USR1 "$jid" || fail "$label: scancel --batch --signal=USR1 $jid failed"
    wait_job "$jid" 180 copy_between
    echo "$label: job $jid $job_state, exit code $job_exit, $job_restarts requeue(s), $(($(elapsed) - ts)) s"
    if [ "$job_state" != COMPLETED ] || [ "$job_exit" != 0:0 ]; then
        fail "$label: job $jid ended $job_state with exit code $job_exit, want COMPLETED 0:0"
    fi
    [ "$job_restarts" = 1 ] || fail "$label: job $jid was requeued $job_restarts times, want once"
    read -r -a allocs <<<"$(allocations "$log")"
    if [ "${allocs[*]}" != "node[1-3] node[1-3]" ]; then
        fail "$label: want two allocations on node[1-3]; the log has '${allocs[*]}'"
    fi
    grep -q 'got SIGUSR1' "$log" || fail "$label: the log does not show SIGUSR1"
    grep -q "$launch exited with status 75 (after SIGUSR1)" "$log" ||
        fail "$label: the log does not say '$launch exited with status 75 (after SIGUSR1)'"
    grep -q "requeueing job $jid" "$log" || fail "$label: the job did not requeue itself"
    grep -q 'sweep complete' "$log" || fail "$label: the log does not say 'sweep complete'"

    read -r -a m <<<"$(to_run "$log")"
    read -r -a p <<<"$(pending_after "$log" signal-long)"
    read -r -a tt <<<"$(finished "$log")"
    echo "$label: to run (M_k) ${m[*]}; finished (T_k) ${tt[*]}; pending after ${p[*]}"
    if [ "${#m[@]}" -ne 2 ] || [ "${#p[@]}" -ne 2 ] || [ "${#tt[@]}" -ne 2 ]; then
        fail "$label: want 2 'to run' lines, 2 summaries and 2 'finished' lines in the log"
    else
        [ "${m[0]}" -eq "$ntasks" ] || fail "$label: the first allocation announced ${m[0]} tasks to run, want $ntasks"
        [ "${m[1]}" -eq "${p[0]}" ] ||
            fail "$label: the second allocation announced ${m[1]} tasks to run, but ${p[0]} were pending after the first"
        [ "${m[1]}" -lt "$ntasks" ] || fail "$label: the first allocation finished nothing"
        [ $((tt[0] + tt[1])) -eq "$ntasks" ] ||
            fail "$label: the allocations finished ${tt[0]} + ${tt[1]} tasks, want $ntasks in all"
        [ "${p[1]}" -eq 0 ] || fail "$label: ${p[1]} tasks pending after the last allocation"
    fi
    complete "$label" "$out" "$ntasks"
    if [ ! -f "$snap" ]; then
        fail "$label: no copy of the output was taken between the allocations"
    elif ! "$PYTHON3" -c 'import sys, netCDF4; netCDF4.Dataset(sys.argv[1]).close()' "$snap" 2>/dev/null; then
        fail "$label: the output after the first allocation is not a readable file (not closed cleanly)"
    elif kept=$(same_tasks "$snap" "$out" 2>&1); then
        echo "$label: the $kept rows done after the first allocation are unchanged in the final file"
    else
        fail "$label: rows done after the first allocation were recomputed or changed:"
        echo "$kept" | tail -n +2 | sed 's/^/    /'
    fi
    [ "$failures" -gt "$f0" ] && { show_log "$log"; show_slurm; }
done

echo "total $(elapsed) s"
finish
