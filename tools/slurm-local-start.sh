#!/usr/bin/env bash
# slurm-local-start.sh [--nodes N] DIR: start a private Slurm on this machine,
# for testing the batch scripts of jobs/: one node on loopback (the default), or
# N >= 2 emulated nodes, each a network namespace of its own.
#
#   eval "$(tools/slurm-local-start.sh /tmp/myslurm)"   # sets SLURM_CONF
#   sbatch jobs/wedge.sbatch tests/sweeps/e2e/small.yaml
#   tools/slurm-local-stop.sh /tmp/myslurm
#
#   eval "$(tools/slurm-local-start.sh --nodes 3 /var/tmp/cluster)"
#   srun -N 3 hostname                                   # node1 node2 node3
#   tools/slurm-local-stop.sh /var/tmp/cluster
#
# Everything lives under DIR (created if missing): its own munge key, socket, pid,
# log and seed files (DIR/munge/), slurm.conf, the controller's state
# (DIR/state/), slurmd's spool (DIR/spool/), the daemons' logs (DIR/log/) and pid
# files (DIR/*.pid).  Nothing outside DIR is read or written except the Slurm and
# munge binaries themselves (and, with N >= 2, the network set-up below): no
# /etc/slurm, no /etc/munge, no systemd.  The ports (16817 controller, 16818
# slurmd; override with SLURMCTLD_PORT / SLURMD_PORT) are not Slurm's defaults,
# so a system Slurm on the same machine is not disturbed.
#
# One node (N = 1): "localhost" (127.0.0.1) with this machine's CPUs and memory
# (from `slurmd -C`), slurmd's pid file DIR/slurmd.pid and log DIR/log/slurmd.log.
#
# N >= 2 nodes: node1..nodeN, each with this machine's CPUs and memory, each a
# network namespace with its own hostname (nodeI), /tmp (DIR/nodes/nodeI/tmp)
# and /etc/hosts (DIR/hosts, naming the nodes and the controller), and one
# slurmd (DIR/slurmd-nodeI.pid, DIR/log/slurmd-nodeI.log, spool
# DIR/spool/nodeI).  DIR is the cluster's shared file system and must not lie
# under /tmp (each node sees its own /tmp): put the job's binary, sweep and
# output there or elsewhere outside /tmp.  Addresses come from 198.51.100.0/24,
# a range reserved for documentation (RFC 5737), split into 8 slots of 32 so
# that up to 8 clusters can run at once: slot S has the controller on
# 198.51.100.(32S+1) (an address on the root namespace's loopback; adding it is
# what claims the slot) and nodeI on 198.51.100.(32S+1+I), I <= 30.  Each node
# is joined to the root namespace by a routed veth pair (host end wgSnI, node
# end eth0) with a /32 route, proxy ARP and forwarding switched on for that
# host end only (not the machine-wide ip_forward), and routes only to its
# slot's /27: no node can send anywhere else, and the root namespace routes the
# rest of the slot nowhere (an `unreachable` route), so no packet for the range
# leaves the machine.  The controller address's label, lo:wg<token>, marks the
# slot as this cluster's (the token is in DIR/network.env).  Namespaces are named wedge-sS-nodeI; DIR/nodes.txt lists
# per node its name, address, namespace and host-side interface, and
# DIR/network.env the slot, for tools/slurm-local-stop.sh.  Open MPI ranks on
# different nodes talk TCP over these links.  To run a command on a node as
# its slurmd sees the world (hostname, /tmp, /etc/hosts included):
#   nsenter -t "$(cat DIR/slurmd-node2.pid)" -n -u -m COMMAND
# The controller declares a node DOWN after SLURMD_TIMEOUT (default 10) s
# without an answer (one-node cluster: 60 s).
#
# Common to both: one partition "debug" without a time limit, the cons_tres
# selector, no cgroups (proctrack/linuxproc, task/none), no accounting (so no
# sacct: use `scontrol show job` while a job is known), jobs requeueable,
# finished jobs forgotten after MinJobAge (30 s) and requeued jobs eligible again
# after cred_expire (10 s instead of 120).
#
# Must run as root (slurmd runs jobs as their users; namespaces need root).
# Stdout carries only the environment a caller needs (`export SLURM_CONF=...`),
# for eval; progress and errors go to stderr.  Waits (at most
# SLURM_START_TIMEOUT s, default 60) until `sinfo` shows every node idle; on
# failure prints the daemons' logs, stops and removes what it started
# (tools/slurm-local-stop.sh) and exits 1.
set -euo pipefail

usage() { echo "usage: $0 [--nodes N] DIR" >&2; exit 2; }
nnodes=1
while [ $# -gt 0 ]; do
    case "$1" in
    -h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    --nodes) [ $# -ge 2 ] || usage; nnodes=$2; shift 2 ;;
    --nodes=*) nnodes=${1#--nodes=}; shift ;;
    -*) usage ;;
    *) break ;;
    esac
done
[ $# -eq 1 ] || usage
case "$nnodes" in '' | *[!0-9]*) usage ;; esac
nnodes=$((10#$nnodes))

say() { echo "slurm-local-start: $*" >&2; }
die() { say "error: $*"; exit 1; }

if [ "$nnodes" -lt 1 ] || [ "$nnodes" -gt 30 ]; then die "--nodes $nnodes: want 1 to 30"; fi
[ "$(id -u)" -eq 0 ] || die "must run as root (slurmd and slurmctld run as SlurmUser=root)"
for b in munged slurmctld slurmd sinfo scontrol; do
    command -v "$b" >/dev/null 2>&1 ||
        die "'$b' not found: install Debian's slurm-wlm and munge (tools/setup.sh does)"
done
if [ "$nnodes" -gt 1 ]; then
    for b in ip nsenter unshare mount hostname sysctl; do
        command -v "$b" >/dev/null 2>&1 || die "'$b' not found: emulated nodes need it (iproute2, util-linux)"
    done
fi

mkdir -p "$1"
dir=$(cd "$1" && pwd)
case "$dir" in *[[:space:]]*) die "DIR '$dir' contains white space, which slurm.conf cannot quote" ;; esac
if [ "$nnodes" -gt 1 ]; then
    case "$(cd "$dir" && pwd -P)/" in /tmp/*) die "DIR '$dir' is under /tmp, which every emulated node replaces by its own: put the cluster elsewhere (e.g. /var/tmp)" ;; esac
fi
ctld_port=${SLURMCTLD_PORT:-16817}
slurmd_port=${SLURMD_PORT:-16818}
timeout_s=${SLURM_START_TIMEOUT:-60}
stop=$(dirname "$0")/slurm-local-stop.sh

# refuse to start twice in one DIR
for pf in "$dir/munge/munged.pid" "$dir/slurmctld.pid" "$dir"/slurmd.pid "$dir"/slurmd-*.pid; do
    if [ -s "$pf" ] && kill -0 "$(cat "$pf")" 2>/dev/null; then
        die "a daemon of $dir is already running (pid file $pf); stop it with tools/slurm-local-stop.sh $dir"
    fi
done
[ -e "$dir/network.env" ] &&
    die "$dir/network.env exists: the emulated network of an earlier start may still be there; remove it with tools/slurm-local-stop.sh $dir"

# munged insists on: execute permission for all on every directory above its
# socket, no group/other write on them, a key readable by its owner only
chmod 755 "$dir"
mkdir -p "$dir/munge" "$dir/state" "$dir/spool" "$dir/log"
chmod 755 "$dir/munge"
chmod 700 "$dir/state" "$dir/spool"
sock=$dir/munge/munge.socket
key=$dir/munge/munge.key
if [ ! -s "$key" ]; then
    # a fresh random key (what `mungekey` writes: 1024 random bytes)
    (umask 077 && dd if=/dev/urandom of="$key" bs=1024 count=1 status=none)
fi
chmod 400 "$key"

# the node as slurmd sees this machine, renamed
hw=$(slurmd -C 2>/dev/null | sed -n 's/^NodeName=[^ ]* //p' | sed 's/ *UpTime=.*//') || true
[ -n "$hw" ] || hw="CPUs=$(nproc)"
case "$hw" in *RealMemory=*) ;; *) hw="$hw RealMemory=$(awk '/MemTotal/ { print int($2 / 1024) }' /proc/meminfo)" ;; esac

started=()
fail_start() {
    say "error: $*"
    local f
    for f in "$dir/munge/munged.log" "$dir/log/slurmctld.log" "$dir"/log/slurmd*.log; do
        [ -f "$f" ] || continue
        echo "---- $f (last 30 lines) ----" >&2
        tail -n 30 "$f" >&2
    done
    if [ ${#started[@]} -gt 0 ] || [ -e "$dir/network.env" ]; then
        say "stopping what was started"
        "$stop" "$dir" >&2 || true
    fi
    exit 1
}
trap 'fail_start "interrupted"' INT TERM HUP

# ---- the emulated network (N >= 2) ----------------------------------------------
# node_addr I: nodeI's address in this cluster's slot
node_addr() { echo "198.51.100.$((32 * slot + 1 + $1))"; }
if [ "$nnodes" -gt 1 ]; then
    # claim a slot: adding its controller address fails if another cluster has it
    # claim a slot: adding its controller address fails if another cluster has
    # it.  The address's label (lo:wg + a random token, also in DIR/network.env)
    # tells tools/slurm-local-stop.sh that the slot is still this cluster's.
    token=$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
    slot=
    for s in 0 1 2 3 4 5 6 7; do
        if ip addr add "198.51.100.$((32 * s + 1))/32" dev lo label "lo:wg$token" 2>/dev/null; then
            slot=$s
            break
        fi
    done
    [ -n "$slot" ] || die "all 8 address slots of 198.51.100.0/24 are in use (other emulated clusters are running)"
    ctl_addr=198.51.100.$((32 * slot + 1))
    net=198.51.100.$((32 * slot))/27
    # from here on tools/slurm-local-stop.sh removes the network, whatever failed
    printf 'SLOT=%s\nNODES=%s\nTOKEN=%s\n' "$slot" "$nnodes" "$token" >"$dir/network.env"
    started+=(network)
    say "network: slot $slot, controller $ctl_addr on lo, nodes $(node_addr 1)..$(node_addr "$nnodes")"
    ip route add unreachable "$net" 2>/dev/null || fail_start "cannot add the route 'unreachable $net'"
    {
        echo "# Generated by tools/slurm-local-start.sh: the emulated cluster's names"
        echo "127.0.0.1 localhost"
        echo "::1 localhost ip6-localhost ip6-loopback"
        echo "$ctl_addr $(hostname)"
    } >"$dir/hosts"
    : >"$dir/nodes.txt"
    for ((i = 1; i <= nnodes; i++)); do
        ns=wedge-s$slot-node$i host_if=wg${slot}n$i addr=$(node_addr "$i")
        echo "$addr node$i" >>"$dir/hosts"
        echo "node$i $addr $ns $host_if" >>"$dir/nodes.txt"
        nsx=(nsenter "--net=/var/run/netns/$ns")
        { ip netns add "$ns" &&
            ip link add "$host_if" type veth peer name eth0 netns "$ns" &&
            "${nsx[@]}" ip link set lo up &&
            "${nsx[@]}" ip addr add "$addr/32" dev eth0 &&
            "${nsx[@]}" ip link set eth0 up &&
            "${nsx[@]}" ip route add "$net" dev eth0 src "$addr" &&
            sysctl -qw "net.ipv4.conf.$host_if.forwarding=1" "net.ipv4.conf.$host_if.proxy_arp=1" &&
            ip link set "$host_if" up &&
            ip route add "$addr/32" dev "$host_if" src "$ctl_addr"; } 2>"$dir/log/network.err" ||
            fail_start "cannot set up node$i's network (namespace $ns): $(cat "$dir/log/network.err")"
        mkdir -p "$dir/nodes/node$i/tmp"
        chmod 1777 "$dir/nodes/node$i/tmp"
    done
    chmod 644 "$dir/hosts"
fi

# ---- slurm.conf -----------------------------------------------------------------
conf=$dir/slurm.conf
if [ "$nnodes" -eq 1 ]; then
    title="a private single-node Slurm on loopback"
    ctld_host=localhost
    slurmd_timeout=60
    slurmd_files="SlurmdSpoolDir=$dir/spool
SlurmdPidFile=$dir/slurmd.pid
SlurmdLogFile=$dir/log/slurmd.log"
    node_lines="NodeName=localhost NodeAddr=127.0.0.1 $hw State=UNKNOWN"
    part_nodes=localhost
else
    title="a private Slurm of $nnodes emulated nodes (network namespaces)"
    ctld_host="$(hostname)($ctl_addr)"
    slurmd_timeout=${SLURMD_TIMEOUT:-10}
    slurmd_files="SlurmdSpoolDir=$dir/spool/%n
SlurmdPidFile=$dir/slurmd-%n.pid
SlurmdLogFile=$dir/log/slurmd-%n.log"
    node_lines=$(for ((i = 1; i <= nnodes; i++)); do
        echo "NodeName=node$i NodeAddr=$(node_addr "$i") $hw State=UNKNOWN"
    done)
    part_nodes="node[1-$nnodes]"
fi
cat >"$conf" <<EOF
# Generated by tools/slurm-local-start.sh: $title.
ClusterName=wedgelocal
SlurmctldHost=$ctld_host
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
# munge with its own socket; cred_expire also sets how long a requeued job waits
# before it may start again (default 120 s)
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$sock,cred_expire=10
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobContainerType=job_container/none
SwitchType=switch/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2,bf_interval=2,batch_sched_delay=0
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
EnforcePartLimits=ALL
JobRequeue=1
KillWait=5
MinJobAge=30
ReturnToService=2
SlurmdTimeout=$slurmd_timeout
InactiveLimit=0
StateSaveLocation=$dir/state
$slurmd_files
SlurmctldPidFile=$dir/slurmctld.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmctldDebug=info
SlurmdDebug=info
PlugStackConfig=$dir/plugstack.conf
$node_lines
PartitionName=debug Nodes=$part_nodes Default=YES MaxTime=INFINITE State=UP
EOF
: >"$dir/plugstack.conf"

# wait_pidfile FILE LABEL: the daemon wrote its pid file and runs
wait_pidfile() {
    local i
    for ((i = 0; i < 50; i++)); do
        if [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; then return 0; fi
        sleep 0.2
    done
    fail_start "$2 did not start (no live pid in $1)"
}

say "munged (socket $sock)"
munged --socket="$sock" --key-file="$key" --pid-file="$dir/munge/munged.pid" \
    --log-file="$dir/munge/munged.log" --seed-file="$dir/munge/munged.seed" ||
    fail_start "munged failed"
started+=(munged)
wait_pidfile "$dir/munge/munged.pid" munged
munge -S "$sock" -n | unmunge -S "$sock" >/dev/null 2>&1 || fail_start "munge/unmunge through $sock failed"

export SLURM_CONF=$conf
say "slurmctld (port $ctld_port)"
slurmctld -f "$conf" || fail_start "slurmctld failed"
started+=(slurmctld)
wait_pidfile "$dir/slurmctld.pid" slurmctld
if [ "$nnodes" -eq 1 ]; then
    say "slurmd (node localhost, port $slurmd_port)"
    slurmd -f "$conf" -N localhost || fail_start "slurmd failed"
    started+=(slurmd)
    wait_pidfile "$dir/slurmd.pid" slurmd
    nodes=localhost
else
    for ((i = 1; i <= nnodes; i++)); do
        say "slurmd (node node$i, $(node_addr "$i"), port $slurmd_port)"
        mkdir -p "$dir/spool/node$i"
        # its own hostname, /tmp and /etc/hosts: a UTS and a private mount
        # namespace (nsenter keeps /sys, which `ip netns exec` would remount and
        # slurmd then fails its cgroup set-up); slurmd daemonizes inside them
        # shellcheck disable=SC2016 # expanded by that shell
        nsenter "--net=/var/run/netns/wedge-s$slot-node$i" \
            unshare --uts --mount --propagation private \
            /bin/sh -c 'hostname "$1" && mount --bind "$2" /tmp && mount --bind "$3" /etc/hosts && exec slurmd -f "$4" -N "$1"' \
            sh "node$i" "$dir/nodes/node$i/tmp" "$dir/hosts" "$conf" ||
            fail_start "slurmd of node$i failed"
        started+=("slurmd node$i")
        wait_pidfile "$dir/slurmd-node$i.pid" "slurmd of node$i"
    done
    nodes=node[1-$nnodes]
fi

state=
want=$(for ((i = 0; i < nnodes; i++)); do echo idle; done | tr '\n' ' ')
for ((i = 0; i < timeout_s; i++)); do
    state=$(sinfo -h -N -n "$nodes" -o %t 2>/dev/null | tr '\n' ' ') || true
    [ "$state" = "$want" ] && break
    sleep 1
done
[ "$state" = "$want" ] || fail_start "the nodes are not all idle after ${timeout_s} s (sinfo states: '${state:-no answer}')"
trap - INT TERM HUP
if [ "$nnodes" -eq 1 ]; then
    say "ready: partition debug, node localhost idle ($hw)"
else
    say "ready: partition debug, nodes $nodes idle ($hw each)"
fi
echo "export SLURM_CONF=$conf"
