#!/usr/bin/env bash
# test_journal.sh: the journal and the output's lock under the faults a job meets.
#
# Every scenario ends with the final output equal to an uninterrupted run (data,
# compare.py) and, where tasks had finished before the fault, with those tasks not
# computed again: the resumed run announces exactly the tasks without a record (or
# row) to run, and their rows keep their original wall time and rank.
#  (a) two runs on one output: the second is refused, naming the first's host and
#      pid; the first completes.
#  (b) damaged records of an interrupted run (SIGUSR1: the output is readable):
#      a flipped payload byte, a flipped status byte, a flipped frame length (the
#      rest of the segment unreadable): `wedge status` names the damaged tasks, the
#      resume keeps their rows from the old output and recomputes nothing.
#  (c) the same damage with the old output gone (as after kill -9): the damaged
#      tasks, and only they, run again; a segment cut short in a record too.
#  (d) completion killed at each of its instants (WEDGE_FAULT=before-mark,
#      after-mark, mid-remove): the resume recomputes nothing and leaves no journal.
#  (e) a full disk (a small tmpfs; root only, else this part is reported SKIP):
#      exit 75 with one message, nothing finished lost; the resume on a larger disk
#      completes without recomputing.
#  (f) messages: a missing directory, an output that is a directory (also with
#      --resume), a SIGTERM before any task started (exit 75, "nothing").
#  (g) the journal holds O(ranks) files, not O(tasks).
set -u
t=test_journal
. "${top_srcdir:-.}/tests/mpi/lib.sh"

# long.yaml with twice the epochs: about half a second a task, so that polling the
# journal (`wedge status --tasks`) catches a run in its middle
sweep=$tmp/journal.yaml
sed -e 's/^name: e2e-long/name: e2e-journal/' -e 's/epochs: 8/epochs: 16/' \
    "$SWEEP_DIR/long.yaml" >"$sweep"
wedge_run expand "$sweep" --count
ntasks=$(tr -d '[:space:]' <"$tmp/out")
[ "$ntasks" -gt 0 ] 2>/dev/null || die "wedge expand --count: '$ntasks'"

# the reference: one uninterrupted run
wedge_run run "$sweep" -o "$tmp/ref.nc" --quiet
[ "$rc" -eq 0 ] || { show; die "reference run: exit $rc"; }

# wait_records OUT N PID: until OUT's journal holds N records or PID ends
wait_records() {
    local i n=0
    for ((i = 0; i < 400; i++)); do
        n=$(records "$1.journal")
        [ "$n" -ge "$2" ] && break
        kill -0 "$3" 2>/dev/null || break
        sleep 0.1
    done
    echo "$n"
}

# to_run LOG: the "N to run" of a run's first line
to_run() {
    sed -n -E 's/.* tasks, ([0-9]+) to run .*/\1/p' "$1" | head -n 1
}

# interrupted OUT: a run of the sweep on 3 ranks stopped by SIGUSR1 after 5 records, as
# the job scripts stop one (mpirun passes SIGUSR1 on to the ranks and ends with their
# status; given SIGTERM it ends at once with status 1, while its ranks may still be
# writing records).  Returns once no process of the run is left, so that the journal no
# longer changes.
interrupted() {
    mpi_cmd 3
    timeout -k 5 "$CMD_LIMIT" "${MPI_CMD[@]}" "$WEDGE" run "$sweep" -o "$1" --grace 0 \
        >"$1.log" 2>&1 &
    local pid=$! n i
    n=$(wait_records "$1" 5 "$pid")
    pkill -USR1 -P "$pid" 2>/dev/null # mpirun, the child of timeout
    wait "$pid"
    local r=$?
    local re
    re=$(printf '%s' "$1" | sed 's/[][\.*^$+?(){}|]/\\&/g')
    for ((i = 0; i < 300; i++)); do
        pgrep -f -- "-o $re( |\$)" >/dev/null 2>&1 || break
        sleep 0.1
    done
    [ "$r" -eq 75 ] || { fail "interrupted run of $1: exit $r, want 75"; sed 's/^/    /' "$1.log" | tail -5; }
}

# resume LABEL OUT WANT: resume OUT on 3 ranks; it must announce WANT tasks to run,
# complete, leave no journal, and equal the reference
resume() {
    local label=$1 out=$2 want=$3
    mpi_run 3 run "$sweep" -o "$out" --resume
    if [ "$rc" -ne 0 ]; then
        fail "$label: the resume exited $rc, want 0"
        show
        return
    fi
    local n
    n=$(to_run "$tmp/out")
    [ "$n" = "$want" ] || { fail "$label: the resume ran $n tasks, want $want (nothing finished recomputed)"; show; }
    [ -e "$out.journal" ] && fail "$label: the journal is left after the resumed sweep completed"
    compare "$label: resumed vs uninterrupted" "$tmp/ref.nc" "$out"
    cp "$tmp/out" "$out.resume.log"
}

# frames SEGMENT: "offset length task" of every record frame of a journal segment
frames() {
    "$PYTHON3" - "$1" <<'EOF'
import signal, struct, sys
signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # read by `head`
b = open(sys.argv[1], "rb").read()
o = 0
while o + 16 <= len(b):
    n = struct.unpack_from("=Q", b, o + 8)[0]
    task = struct.unpack_from("=Q", b, o + 16 + 16)[0]
    print(o, n, task)
    o += 16 + n
EOF
}

# flip FILE OFFSET: invert one byte
flip() {
    "$PYTHON3" - "$1" "$2" <<'EOF'
import sys
p, o = sys.argv[1], int(sys.argv[2])
b = bytearray(open(p, "rb").read())
b[o] ^= 0xFF
open(p, "wb").write(b)
EOF
}

# ---- (a) two runs on one output -----------------------------------------------------------
mpi_cmd 3
timeout -k 5 "$CMD_LIMIT" "${MPI_CMD[@]}" "$WEDGE" run "$sweep" -o "$tmp/a.nc" --quiet \
    >"$tmp/a.log" 2>&1 &
apid=$!
n=$(wait_records "$tmp/a.nc" 1 "$apid")
wedge_run run "$sweep" -o "$tmp/a.nc" --resume
if [ "$rc" -ne 1 ] || ! grep -q "being written by another run on $(hostname)" "$tmp/err" ||
   ! grep -q "pid [0-9]" "$tmp/err"; then
    fail "(a) a second run on a running output: exit $rc, want 1 and the holder named"
    show
fi
wedge_run status "$tmp/a.nc"
grep -q "running on $(hostname)" "$tmp/out" || { fail "(a) wedge status does not say the run is alive"; show; }
wait "$apid"
arc=$?
[ "$arc" -eq 0 ] || fail "(a) the first run exited $arc, want 0 (the second must not disturb it)"
compare "(a) the run beside a refused one vs uninterrupted" "$tmp/ref.nc" "$tmp/a.nc"
wedge_run status "$tmp/a.nc"
grep -q "running on" "$tmp/out" && fail "(a) wedge status calls a finished run alive"

# ---- (b) damaged records, old output readable -----------------------------------------------
base=$tmp/b
mkdir -p "$base"
interrupted "$base/int.nc"
ndone=$(records "$base/int.nc.journal")
nseg=$(find "$base/int.nc.journal" -name 'seg-*.wal' | wc -l)
nfiles=$(find "$base/int.nc.journal" -type f | wc -l)
echo "(b) interrupted after $ndone of $ntasks tasks: $nseg segments, $nfiles files in the journal"
# (g) O(ranks) files: 2 workers -> 2 segments, plus the sweep's text and hash
[ "$nseg" -le 2 ] && [ "$nfiles" -le 4 ] || fail "(g) the journal holds $nfiles files ($nseg segments) for $ndone records, want at most 4"
if [ "$ndone" -lt 4 ] || [ "$ndone" -ge "$ntasks" ]; then
    fail "(b) $ndone records at the stop: want some but not all (the sweep is too fast or slow here)"
else
    for case in payload status length; do
        d=$base/$case
        mkdir -p "$d"
        cp -r "$base/int.nc" "$base/int.nc.journal" "$d/"
        seg=$(find "$d/int.nc.journal" -name 'seg-*.wal' | sort | head -n 1)
        read -r off len task < <(frames "$seg" | head -n 1)
        case $case in
        payload) flip "$seg" $((off + 16 + len / 2)) ;;
        status) flip "$seg" $((off + 16 + 28)) ;;
        length) flip "$seg" $((off + 8 + 5)) ;; # the frame's length: the rest is unreadable
        esac
        wedge_run status "$d/int.nc"
        if [ "$case" = length ]; then
            grep -q "unreadable record frame" "$tmp/out" || { fail "(b) $case: wedge status does not report the unreadable frame"; show; }
        else
            grep -q "task $task in seg-" "$tmp/out" || { fail "(b) $case: wedge status does not name damaged task $task"; show; }
        fi
        cp "$d/int.nc" "$d/before.nc"
        resume "(b) $case" "$d/int.nc" $((ntasks - ndone))
        if [ "$case" != length ]; then
            grep -q "task $task's record .* damaged .*kept from the old output" "$d/int.nc.resume.log" ||
                { fail "(b) $case: the resume does not say task $task's row was kept"; sed 's/^/    /' "$d/int.nc.resume.log" | head -5; }
        fi
        m=$(same_tasks "$d/before.nc" "$d/int.nc") || { fail "(b) $case: finished rows changed"; echo "$m" | sed 's/^/    /'; }
    done
fi

# ---- (c) damaged records, the old output gone -------------------------------------------------
for case in payload cut; do
    d=$base/c-$case
    mkdir -p "$d"
    cp -r "$base/int.nc.journal" "$d/"
    seg=$(find "$d/int.nc.journal" -name 'seg-*.wal' | sort | head -n 1)
    read -r off len task < <(frames "$seg" | tail -n 1)
    if [ "$case" = payload ]; then
        flip "$seg" $((off + 16 + len / 2))
    else
        truncate -s $((off + 16 + len / 3)) "$seg" # a write cut short by a kill
    fi
    wedge_run status "$d/int.nc"
    grep -q "task $task in seg-" "$tmp/out" || { fail "(c) $case: wedge status does not name damaged task $task"; show; }
    resume "(c) $case" "$d/int.nc" $((ntasks - ndone + 1))
done

# ---- (d) completion killed at each of its instants -------------------------------------------
for point in before-mark after-mark mid-remove; do
    d=$tmp/d-$point
    mkdir -p "$d"
    WEDGE_FAULT=$point timeout -k 5 "$CMD_LIMIT" "$WEDGE" run "$sweep" -o "$d/x.nc" --quiet \
        >"$tmp/out" 2>"$tmp/err"
    rc=$?
    [ "$rc" -eq 137 ] || { fail "(d) $point: the faulted run exited $rc, want 137 (killed)"; show; }
    [ -d "$d/x.nc.journal" ] || fail "(d) $point: no journal left by the killed completion"
    resume "(d) $point" "$d/x.nc" 0
done

# ---- (e) a full disk -------------------------------------------------------------------------
small=$tmp/small
mkdir -p "$small"
if [ "$(id -u)" -eq 0 ] && mount -t tmpfs -o size=3m tmpfs "$small" 2>/dev/null; then
    trap 'umount "$small" 2>/dev/null; cleanup' EXIT
    mpi_run 3 run "$sweep" -o "$small/full.nc" --quiet
    if [ "$rc" -ne 75 ] || ! grep -q "could not be written" "$tmp/err"; then
        fail "(e) a run on a full disk: exit $rc, want 75 and 'could not be written'"
        show
    fi
    nfull=$(records "$small/full.nc.journal")
    echo "(e) the full disk stopped the run with $nfull records kept"
    mount -o remount,size=64m "$small" || fail "(e) cannot grow the tmpfs"
    resume "(e) after making room" "$small/full.nc" $((ntasks - nfull))
    umount "$small" 2>/dev/null
else
    echo "SKIP: (e) full disk: needs root and a mountable tmpfs"
fi

# ---- (f) messages ----------------------------------------------------------------------------
wedge_run run "$sweep" -o "$tmp/nodir/x.nc"
{ [ "$rc" -eq 1 ] && grep -q "the directory $tmp/nodir does not exist" "$tmp/err"; } ||
    { fail "(f) a missing directory: exit $rc"; show; }
mkdir -p "$tmp/adir"
for extra in "" --resume; do
    wedge_run run "$sweep" -o "$tmp/adir" $extra
    { [ "$rc" -eq 1 ] && grep -q "is a directory" "$tmp/err" && [ "$(wc -l <"$tmp/err")" -le 2 ]; } ||
        { fail "(f) an output that is a directory ($extra): exit $rc"; show; }
done
timeout -k 5 "$CMD_LIMIT" "$WEDGE" run "$sweep" -o "$tmp/early.nc" >"$tmp/out" 2>"$tmp/err" &
epid=$!
# as early as wedge can take a signal: once its handler is installed (SigCgt has
# SIGTERM, bit 15), which on a loaded machine can be well after the launch; a
# process killed before its main() ran is no test of wedge.  The signal goes to
# wedge itself: `timeout` would pass it to its whole process group, which here
# holds the helper daemon of MPI's singleton start-up, and MPI_Init then fails
for _ in $(seq 200); do
    wpid=$(pgrep -P "$epid" | head -n 1)
    if [ -n "$wpid" ] &&
        (( 0x$(awk '/^SigCgt:/ { print $2 }' "/proc/$wpid/status" 2>/dev/null || echo 0) & 0x4000 )); then
        break
    fi
    sleep 0.01
done
kill -TERM "${wpid:-$epid}"
wait "$epid"
erc=$?
if [ "$erc" -ne 75 ] || ! grep -qi "nothing\|resume" "$tmp/out" "$tmp/err"; then
    fail "(f) SIGTERM at the start: exit $erc, want 75 and a message"
    show
fi

finish
