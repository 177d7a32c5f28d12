#!/usr/bin/env bash
# test_bitwise.sh: a sweep run by the REAL jobs/wedge.sbatch on 3 emulated nodes
# gives the same numbers, to the bit, as one process on one machine.
#
# On a private Slurm of 3 nodes (tests/cluster/lib.sh: network namespaces with
# their own hostnames, /tmp and addresses, one slurmd each), the small
# end-to-end sweep of tests/sweeps/e2e/small.yaml (76 tasks: trainings, tunnels,
# planes, Hessians, subspaces, swa cycles, connectors) is submitted with
# `sbatch --nodes=3 --ntasks=3 --overcommit`, once with LAUNCH=srun (srun
# --mpi=pmix) and once with LAUNCH=mpirun (Open MPI's mpirun inside the
# allocation, which starts its daemons on the other nodes with srun).  Checks,
# for each:
#  - the job ends COMPLETED with exit code 0 and its log says the sweep is
#    complete;
#  - the ranks ran one per node: rank 0 on node1, rank 1 on node2, rank 2 on
#    node3 (each rank writes PMIX_RANK and its hostname before wedge starts),
#    so the two workers and the scheduler talked only over TCP between the
#    nodes' namespaces; both workers ran tasks (the output's `rank`);
#  - the output equals a 1-process run (`wedge run` without MPI) of the same
#    sweep: tests/mpi/compare.py, every variable bitwise but rank and
#    wall_time.
# Exits 77 (SKIP) when namespaces cannot be made (not root, no ip/nsenter/unshare).
# About 40 s.
set -u
t=test_bitwise
. "$(dirname "$0")/lib.sh"

sweep=$work/small.yaml
cp "$SWEEP_DIR/small.yaml" "$sweep"
ntasks=$("$WEDGE" expand "$sweep" --count 2>&1) || die "wedge expand small.yaml: $ntasks"

# the reference: one process, no MPI
mkdir -p "$work/one"
run_capped "$bin/wedge" run "$sweep" -o "$work/one/ref.nc"
[ "$rc" -eq 0 ] || { show; die "the 1-process run failed (status $rc)"; }
echo "1-process run: $ntasks tasks in $work/one/ref.nc"

# each rank says where it runs, then becomes wedge (lib.sh's `wedge expand` and
# `wedge status` have no PMIX_RANK and say nothing)
cat >"$bin/wedge-where" <<EOF
#!/bin/sh
[ -n "\${PMIX_RANK:-}" ] && echo "\$PMIX_RANK \$(hostname)" >>"\$WHERE_LOG"
exec "$bin/wedge" "\$@"
EOF
chmod 755 "$bin/wedge-where"

for launch in srun mpirun; do
    label="LAUNCH=$launch"
    ts=$(elapsed)
    f0=$failures
    where=$work/where-$launch
    : >"$where"
    submit "$launch" --nodes=3 --ntasks=3 --overcommit --time=5 \
        --export="ALL,WEDGE=$bin/wedge-where,WHERE_LOG=$where,LAUNCH=$launch,WEDGE_PROGRESS=5" -- ../small.yaml
    [ -n "$jid" ] || continue
    wait_job "$jid" 120
    log=$work/$launch/$launch-$jid.out
    out=$work/$launch/e2e-small.nc
    echo "$label: job $jid $job_state, exit code $job_exit, on $job_nodes, $(($(elapsed) - ts)) s"
    if [ "$job_state" != COMPLETED ] || [ "$job_exit" != 0:0 ]; then
        fail "$label: job $jid ended $job_state with exit code $job_exit, want COMPLETED 0:0"
    fi
    [ "$job_nodes" = "node[1-3]" ] || fail "$label: the job ran on '$job_nodes', want node[1-3]"
    grep -q "running: $launch " "$log" 2>/dev/null || fail "$label: the log does not show the $launch launch"
    grep -q 'sweep complete' "$log" 2>/dev/null || fail "$label: the log does not say 'sweep complete'"
    placed=$(sort -n "$where" | tr '\n' ' ')
    echo "$label: ranks and nodes: $placed"
    [ "$placed" = "0 node1 1 node2 2 node3 " ] ||
        fail "$label: want rank 0 on node1, 1 on node2, 2 on node3; the ranks said '$placed'"
    if [ -f "$out" ]; then
        workers=$("$PYTHON3" -c 'import sys, netCDF4, numpy as np
with netCDF4.Dataset(sys.argv[1]) as ds:
    ds.set_auto_mask(False)
    print(" ".join(str(r) for r in np.unique(np.asarray(ds["rank"][:]))))' "$out")
        echo "$label: ranks that ran tasks: $workers"
        [ "$workers" = "1 2" ] || fail "$label: tasks ran on ranks '$workers', want both workers '1 2'"
        if "$PYTHON3" "$MPI_DIR/compare.py" "$work/one/ref.nc" "$out" >"$tmp/cmp" 2>&1; then
            echo "$label: $(cat "$tmp/cmp")"
        else
            fail "$label: the output differs from the 1-process run:"
            sed 's/^/    /' "$tmp/cmp" | head -n 20
        fi
    else
        fail "$label: no output $out"
    fi
    [ "$failures" -gt "$f0" ] && { show_log "$log"; show_slurm; }
done

echo "total $(elapsed) s"
finish
