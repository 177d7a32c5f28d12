#!/usr/bin/env bash
# slurm-local-stop.sh DIR: stop the private Slurm that tools/slurm-local-start.sh
# started in DIR.
#
# First cancels the jobs still known to that Slurm (so that no job's processes
# outlive it), then stops slurmd, slurmctld and munged by their pid files in DIR
# (DIR/slurmd.pid, DIR/slurmctld.pid, DIR/munge/munged.pid): SIGTERM, up to 10 s
# of waiting, then SIGKILL.  A pid is only signalled if the process still runs the
# program the file belongs to (a stale pid file reused by another process is left
# alone).  Nothing else is touched; DIR itself is kept (logs included).
# Exits 0 when none of the three runs any more, 1 otherwise.
set -u

[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
case "$1" in -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
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
for pair in "slurmd.pid slurmd" "slurmctld.pid slurmctld" "munge/munged.pid munged"; do
    # shellcheck disable=SC2086 # two words
    set -- $pair
    pf=$dir/$1 name=$2
    pid=$(live_pid "$pf" "$name") || continue
    say "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then
        say "$name (pid $pid) ignored SIGTERM for 10 s: SIGKILL"
        kill -KILL "$pid" 2>/dev/null
        sleep 0.5
        kill -0 "$pid" 2>/dev/null && { say "$name (pid $pid) survives SIGKILL"; rc=1; }
    fi
done
exit "$rc"
