#!/usr/bin/env bash
# test_nodeloss.sh: a node of a running multi-node job is lost; the job ends,
# comes back on the nodes left, and finishes the sweep with nothing that was
# finished lost or computed again.
#
# On a private Slurm of 3 emulated nodes (tests/cluster/lib.sh), the REAL
# jobs/wedge.sbatch runs a sweep of 16 tasks of about 3 s (sized by timing two
# trainings side by side) as `sbatch --nodes=2-3 --ntasks=3 --overcommit`: rank
# 0 on node1, one worker on node2 and one on node3, the ranks talking TCP
# between the nodes' namespaces.  The node range is what lets the job continue
# without the lost node (a job that needs 3 nodes waits for a third forever).
# Once 4 tasks are recorded, and with a wedge rank running on node3 and TCP
# connections between node3 and the other nodes (both checked), node3 is lost,
# in one of two ways:
#  (1) crash, LAUNCH=srun (srun --mpi=pmix): node3's link goes down, then every
#      process on it (slurmd, slurmstepd, the wedge rank) is killed.  Nothing
#      reaches its peers, as with a machine that died: the ranks left wait for
#      it, until slurmctld declares node3 DOWN (SlurmdTimeout, 10 s here) and
#      ends the job (NODE_FAIL), and Slurm itself requeues it (#SBATCH
#      --requeue in the script).
#  (2) kill, LAUNCH=mpirun: every process on node3 (slurmd, slurmstepd, orted,
#      the wedge rank) is killed, its network left up.  Its kernel resets the
#      connections, so mpirun learns at once, aborts the run and exits with an
#      error (205), seconds before Slurm knows the node is gone.  The job
#      script must tell this from an error of wedge's: it checks that every
#      node of the allocation still answers, finds node3 does not, waits for
#      Slurm to declare it DOWN, and the job is requeued.
# Checks, for each:
#  - the job ends (every wait is bounded; the test cancels and fails otherwise)
#    COMPLETED with exit code 0, after at least one requeue, its last allocation
#    on node[1-2] and its first on node[1-3];
#  - no finished task is lost or recomputed: the journal records (task, status,
#    rank, wall time to the last bit) right after the loss, and again once the
#    first allocation has ended, are all in the final file unchanged; the
#    second allocation announces "16 tasks, M to run" with M = 16 - the
#    records left by the first, and finishes exactly M tasks;
#  - the final file is complete: 16 done, no journal, every row on a worker.
# The job logs (with Slurm's own lines about the node failure) are printed.
#
# NODELOSS_CASES (default "1 2") picks the cases, each on a fresh cluster.
# Exits 77 (SKIP) when namespaces cannot be made (not root, no ip/nsenter/unshare).
# About 2 minutes on 2 cores.
set -u
t=test_nodeloss
. "$(dirname "$0")/lib.sh"

long_sweep nodeloss-long "5.0e-4, 1.0e-3" 8 >"$work/long.yaml"
ntasks=$("$WEDGE" expand "$work/long.yaml" --count 2>&1) || die "wedge expand long.yaml: $ntasks"
echo "sweep: $ntasks tasks"

# snap_after_first STATE RESTARTS (wait_job hook): once the first allocation has
# ended and the job waits, the journal's records
# shellcheck disable=SC2317 # called by wait_job
snap_after_first() {
    if [ "$2" -ge 1 ] && [ ! -s "$snap2" ] && [ "$1" = PENDING ]; then
        journal_rows "$out.journal" "$snap2" 2>"$tmp/snap.err" ||
            fail "$label: cannot read the journal: $(cat "$tmp/snap.err")"
        echo "    $(date +%T) job $jid waits after its first allocation: $(wc -l <"$snap2") records in the journal"
    fi
}

# scenario NAME HOW LAUNCH: the node loss HOW (crash or kill) under LAUNCH
scenario() {
    local name=$1 how=$2 launch=$3 f0=$failures ts log i m tt n_before n_after lost=node3
    label="($name) $how of $lost, LAUNCH=$launch"
    ts=$(elapsed)
    out=$work/$name/nodeloss-long.nc
    snap1=$work/$name-after-loss.rows
    snap2=$work/$name-after-allocation-1.rows
    : >"$snap2"
    submit "$name" --nodes=2-3 --ntasks=3 --overcommit --time=10 \
        --export="ALL,WEDGE=$bin/wedge,LAUNCH=$launch,WEDGE_GRACE=10,WEDGE_PROGRESS=5" -- ../long.yaml
    [ -n "$jid" ] || return
    log=$work/$name/$name-$jid.out
    echo "$label: job $jid"
    if ! wait_running "$jid" 60; then
        fail "$label: job $jid does not run after 60 s (state $(job_field "$jid" JobState), reason $(job_field "$jid" Reason))"
        show_slurm
        scancel "$jid"
        return
    fi
    [ "$(job_field "$jid" NodeList)" = "node[1-3]" ] ||
        fail "$label: job $jid runs on '$(job_field "$jid" NodeList)', want node[1-3]"
    wait_records "$out.journal" 4 90 ||
        fail "$label: only $(records "$out.journal") tasks recorded after 90 s"
    echo "$label: $(records "$out.journal") tasks recorded; on $lost: $(node_procs "$lost" | awk '{ print $2 }' | sort | uniq -c | awk '{ printf "%s%s x%s", s, $2, $1; s = ", " }')"
    node_has "$lost" wedge || fail "$label: no wedge rank runs on $lost"
    peers=$(node_peers "$lost")
    echo "$label: $lost has TCP connections with ${peers:-no other node}"
    [ -n "$peers" ] || fail "$label: $lost has no TCP connection with another node"

    echo "$label: $(date +%T) $how $lost"
    if [ "$how" = crash ]; then crash_node "$lost"; else kill_node "$lost"; fi
    journal_rows "$out.journal" "$snap1" 2>"$tmp/snap.err" ||
        fail "$label: cannot read the journal: $(cat "$tmp/snap.err")"
    echo "$label: $(wc -l <"$snap1") tasks recorded at the loss"
    for ((i = 0; i < 10; i++)); do
        [ -z "$(node_pids "$lost")" ] && break
        sleep 0.2
    done
    [ -z "$(node_pids "$lost")" ] || fail "$label: processes survive on $lost: $(node_procs "$lost" | tr '\n' ' ')"

    wait_job "$jid" 240 snap_after_first
    echo "$label: job $jid $job_state, exit code $job_exit, $job_restarts requeue(s), last on $job_nodes, $(($(elapsed) - ts)) s"
    echo "$label: Slurm: $(grep -E "JobId=$jid |JobId=$jid\$|$lost" "$sdir/log/slurmctld.log" | grep -E 'fail|DOWN|[Rr]equeu|not responding' |
        sed -E 's/^\[[^]]*T([0-9:]+)\.[0-9]+\] /\1 /' | tr '\n' ';')"
    if [ "$job_state" != COMPLETED ] || [ "$job_exit" != 0:0 ]; then
        fail "$label: job $jid ended $job_state with exit code $job_exit, want COMPLETED 0:0"
    fi
    [ "$job_restarts" -ge 1 ] || fail "$label: job $jid was never requeued"
    [ "$job_nodes" = "node[1-2]" ] || fail "$label: the last allocation ran on '$job_nodes', want node[1-2]"
    read -r -a allocs <<<"$(allocations "$log")"
    echo "$label: allocations on: ${allocs[*]}"
    if [ "${#allocs[@]}" -ne 2 ] || [ "${allocs[0]}" != "node[1-3]" ] || [ "${allocs[1]}" != "node[1-2]" ]; then
        fail "$label: want two allocations, on node[1-3] then node[1-2]; the log has '${allocs[*]}'"
    fi
    grep -q 'sweep complete' "$log" || fail "$label: the log does not say 'sweep complete'"

    # nothing finished is lost or recomputed
    read -r -a m <<<"$(to_run "$log")"
    read -r -a tt <<<"$(finished "$log")"
    if [ ! -s "$snap2" ]; then
        fail "$label: the job never waited in the queue between allocations: no records taken"
    else
        n_before=$(wc -l <"$snap2")
        n_after=$((ntasks - n_before))
        echo "$label: to run per allocation: ${m[*]}; finished in the last: ${tt[*]: -1}; records after the first: $n_before"
        if [ "${#m[@]}" -ne 2 ] || [ "${m[0]}" -ne "$ntasks" ] || [ "${m[1]}" -ne "$n_after" ]; then
            fail "$label: want '$ntasks $n_after' tasks to run in the two allocations, the log has '${m[*]}'"
        fi
        if [ "${#tt[@]}" -lt 1 ] || [ "${tt[${#tt[@]} - 1]}" -ne "$n_after" ]; then
            fail "$label: the last allocation finished '${tt[*]: -1}' tasks, want $n_after"
        fi
        [ "$(wc -l <"$snap1")" -le "$n_before" ] || fail "$label: records vanished between the loss and the requeue"
    fi
    complete "$label" "$out" "$ntasks"
    [ -f "$out" ] && rows_kept "$label" "$snap1" "$out"
    [ -f "$out" ] && [ -s "$snap2" ] && rows_kept "$label" "$snap2" "$out"
    echo "    ---- job log ($log) ----"
    sed 's/^/    | /' "$log"
    [ "$failures" -gt "$f0" ] && show_slurm
}

cases=${NODELOSS_CASES:-1 2}
for c in $cases; do
    if [ -n "${lost_once:-}" ]; then
        # a fresh cluster: the lost node is gone from this one
        hif=$(node_if node3)
        stop_slurm
        ip -o link show | grep -q " $hif@" && fail "tools/slurm-local-stop.sh left the interface $hif"
        start_cluster "$tmp/slurm-$c"
    fi
    case $c in
    1) scenario 1 crash srun ;;
    2) scenario 2 kill mpirun ;;
    *) die "NODELOSS_CASES: no case '$c' (1 crash/srun, 2 kill/mpirun)" ;;
    esac
    lost_once=1
done

echo "total $(elapsed) s"
finish
