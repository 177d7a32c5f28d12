#!/usr/bin/env bash
# slurm-local-stop.sh DIR: stop the private Slurm that tools/slurm-local-start.sh
# started in DIR, and remove the emulated nodes' network if it made one.
#
# First cancels the jobs still known to that Slurm (so that no job's processes
# outlive it), then stops every slurmd (DIR/slurmd.pid, DIR/slurmd-nodeI.pid),
# then slurmctld and munged, by their pid files (DIR/slurmctld.pid,
# DIR/munge/munged.pid): SIGTERM, up to 10 s of waiting, then SIGKILL.  slurmd
# goes first because it ignores SIGTERM once its controller is gone.  A pid is
# only signalled if the process still runs the program the file belongs to (a
# stale pid file reused by another process is left alone).
# With emulated nodes (DIR/network.env): any process still inside a node's
# network namespace (a job step that outlived its slurmd) gets SIGTERM, then
# SIGKILL; then the namespaces wedge-sS-nodeI, the host ends wgSnI of their veth
# pairs (their routes and settings go with them), the route 'unreachable' of the
# slot and the controller's address on lo are removed, and DIR/network.env with
# them; only while that address still carries the label of this cluster
# (lo:wg + the token in DIR/network.env): a slot freed already is left to
# whichever cluster holds it now.  This works after a failed or partial start
# too: what is not there is skipped.  Nothing else is touched; DIR itself is kept (logs included).
# Exits 0 when no daemon of DIR runs any more and the network is gone, 1 otherwise.
set -u

[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
case "$1" in -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;; esac
[ -d "$1" ] || { echo "slurm-local-stop: no directory $1" >&2; exit 1; }
dir=$(cd "$1" && pwd)
say() { echo "slurm-local-stop: $*" >&2; }

# live_pid FILE NAME: the pid in FILE if that process runs NAME, else nothing
live_pid() {
    local pid comm
    [ -s "$1" ] || return 1
    pid=$(tr -dc '0-9' <"$1")
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
    comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
    [ "$comm" = "$2" ] || { say "pid $pid of $1 runs '$comm', not $2: left alone"; return 1; }
    echo "$pid"
}

# cancel this cluster's jobs while its controller answers, and give them the
# cluster's KillWait (5 s) and a margin to end
if [ -f "$dir/slurm.conf" ] && live_pid "$dir/slurmctld.pid" slurmctld >/dev/null; then
    export SLURM_CONF=$dir/slurm.conf
    jobs=$(timeout 10 squeue -h -o %i 2>/dev/null | tr '\n' ' ')
    if [ -n "${jobs// /}" ]; then
        say "cancelling jobs $jobs"
        # shellcheck disable=SC2086
        timeout 10 scancel $jobs 2>/dev/null
        for ((i = 0; i < 30; i++)); do
            [ -z "$(timeout 10 squeue -h -o %i 2>/dev/null)" ] && break
            sleep 0.5
        done
    fi
fi

rc=0
# stop NAME FILE...: stop the daemons NAME of the pid files FILE... together:
# SIGTERM to all, up to 10 s of waiting, then SIGKILL to those left
stop() {
    local name=$1 pf pid pids=() left still i
    shift
    for pf in "$@"; do
        [ -e "$pf" ] || continue
        pid=$(live_pid "$pf" "$name") || continue
        say "stopping $name (pid $pid)"
        kill -TERM "$pid" 2>/dev/null
        pids+=("$pid")
    done
    [ ${#pids[@]} -gt 0 ] || return 0
    for ((i = 0; i < 50; i++)); do
        left=()
        for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && left+=("$pid"); done
        [ ${#left[@]} -eq 0 ] && return 0
        sleep 0.2
    done
    for pid in "${left[@]}"; do
        say "$name (pid $pid) ignored SIGTERM for 10 s: SIGKILL"
        kill -KILL "$pid" 2>/dev/null
    done
    for ((i = 0; i < 25; i++)); do
        still=()
        for pid in "${left[@]}"; do kill -0 "$pid" 2>/dev/null && still+=("$pid"); done
        [ ${#still[@]} -eq 0 ] && return 0
        sleep 0.2
    done
    for pid in "${still[@]}"; do say "$name (pid $pid) survives SIGKILL for 5 s"; done
    rc=1
    return 0
}
stop slurmd "$dir"/slurmd.pid "$dir"/slurmd-*.pid
stop slurmctld "$dir/slurmctld.pid"
stop munged "$dir/munge/munged.pid"

# ---- the emulated network ------------------------------------------------------------
if [ -f "$dir/network.env" ]; then
    slot=$(sed -n 's/^SLOT=\([0-7]\)$/\1/p' "$dir/network.env")
    nnodes=$(sed -n 's/^NODES=\([0-9]\{1,2\}\)$/\1/p' "$dir/network.env")
    token=$(sed -n 's/^TOKEN=\([0-9a-f]\{8\}\)$/\1/p' "$dir/network.env")
    if [ -z "$slot" ] || [ -z "$nnodes" ] || [ -z "$token" ]; then
        say "$dir/network.env is damaged (want SLOT=0..7, NODES=N, TOKEN=8 hex digits): the network is left alone"
        exit 1
    fi
    ctl=198.51.100.$((32 * slot + 1))
    # the slot is still ours while its controller address carries our label (it
    # goes last): else it was removed already, and may belong to another cluster now
    if ! ip -o addr show dev lo | grep -q " $ctl/32 .* lo:wg$token"; then
        rm -f "$dir/network.env"
        say "the network of slot $slot is gone already"
        exit "$rc"
    fi
    # the processes left in the nodes' namespaces (job steps, MPI ranks)
    procs=''
    for ((i = 1; i <= nnodes; i++)); do
        ns=wedge-s$slot-node$i
        [ -e "/var/run/netns/$ns" ] && procs="$procs $(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')"
    done
    if [ -n "${procs// /}" ]; then
        say "ending the processes left on the nodes:$procs"
        # shellcheck disable=SC2086
        kill -TERM $procs 2>/dev/null
        for ((i = 0; i < 25; i++)); do
            alive=''
            for p in $procs; do kill -0 "$p" 2>/dev/null && alive="$alive $p"; done
            [ -z "$alive" ] && break
            sleep 0.2
        done
        # shellcheck disable=SC2086
        [ -n "$alive" ] && kill -KILL $alive 2>/dev/null
    fi
    net_rc=0
    for ((i = 1; i <= nnodes; i++)); do
        ns=wedge-s$slot-node$i host_if=wg${slot}n$i
        ip link show "$host_if" >/dev/null 2>&1 && { ip link del "$host_if" || net_rc=1; }
        [ -e "/var/run/netns/$ns" ] && { ip netns del "$ns" || net_rc=1; }
    done
    net=198.51.100.$((32 * slot))/27
    ip route show table main type unreachable | grep -q "^unreachable $net" &&
        { ip route del unreachable "$net" || net_rc=1; }
    [ "$net_rc" -eq 0 ] && { ip addr del "$ctl/32" dev lo || net_rc=1; }
    if [ "$net_rc" -eq 0 ]; then
        rm -f "$dir/network.env"
        say "removed the network of slot $slot ($nnodes nodes)"
    else
        say "the network of slot $slot is not entirely removed (see above); $dir/network.env kept"
        rc=1
    fi
fi
exit "$rc"
