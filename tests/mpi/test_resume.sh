#!/usr/bin/env bash
# test_resume.sh: killed, interrupted and refused runs of a sweep.
# MPI ranks: 3 (mpirun; rank 0 schedules, two workers).
#
# Uses tests/sweeps/e2e/long.yaml (20 tasks of about 0.25 s each), copied into the
# temporary directory, against a reference output made by one uninterrupted run:
#  (a) kill -9: mpirun and its ranks are killed once the journal holds a few
#      records; `wedge status` then counts the journal's records as done;
#      `mpirun wedge run --resume` finishes (exit 0, no journal left), its data
#      equal the reference, and it ran only the tasks that had no record.
#  (b) stopped by a signal with --grace 0: (b1) SIGTERM to the ranks (as a batch
#      system sends it) exits 75; (b2) SIGTERM to mpirun (Open MPI forwards it;
#      its own exit status is 1, see there); (b3) SIGUSR1 to mpirun exits 75.
#      Each time the output is closed cleanly (ncdump reads it), its done rows and
#      the journal's records agree; --resume with an edited sweep is refused and
#      changes nothing; --resume with the real sweep finishes (exit 0), equals the
#      reference, ran only the pending tasks and kept the rows done before the
#      signal (same wall_time and rank) instead of recomputing them; (b3) resumes
#      with the sweep file laid out anew (comments, block style: one meaning),
#      says so, and keeps the original sweep text and hash.
#  (c) refusals: rerunning onto a finished output without --resume/--force exits
#      1 naming --resume and leaves the file alone; --resume with an edited sweep
#      exits 1 saying 'different sweep' and quoting the changed line; the sweep
#      laid out anew resumes it (nothing to run, nothing changed); --force
#      overwrites (exit 0, data equal to the reference).
# Exits 0 if every check passes, 1 otherwise, after printing each failed check.
# ~20-30 s on 2 cores.
set -u
t=test_resume
. "${top_srcdir:-.}/tests/mpi/lib.sh"

[ -r "$SWEEP_DIR/long.yaml" ] || die "sweep file $SWEEP_DIR/long.yaml not found (set top_srcdir)"
sweep=$tmp/long.yaml
cp "$SWEEP_DIR/long.yaml" "$sweep"
# the edited sweep of the refusals: another base learning rate
sed 's/lr: 1\.0e-3, batch_size/lr: 4.0e-3, batch_size/' "$sweep" >"$tmp/edited.yaml"
cmp -s "$sweep" "$tmp/edited.yaml" && die "could not edit the learning rate of $sweep"
edited_line=$(grep -F 'lr: 4.0e-3, batch_size' "$tmp/edited.yaml")
# the same sweep laid out anew: comments added, the header comments gone, a flow
# mapping in block style; one meaning, another text
{
    echo "# laid out anew: the same sweep"
    grep -v '^#' "$sweep" | sed -e 's/^name: e2e-long$/name: e2e-long     # the title/' \
        -e 's/^data: {name: synthetic, synthetic_train: 2000, synthetic_test: 500, synthetic_size: 28}$/data:\n  name: synthetic\n  synthetic_train: 2000   # images\n  synthetic_test: 500\n  synthetic_size: 28/'
} >"$tmp/relaid.yaml"
grep -q '^  synthetic_train: 2000' "$tmp/relaid.yaml" && grep -q '^name: e2e-long  *# the title' "$tmp/relaid.yaml" ||
    die "could not lay out $sweep anew"

wedge_run expand "$sweep" --count
ntasks=$(tr -d '[:space:]' <"$tmp/out")
if [ "$rc" -ne 0 ] || ! [ "$ntasks" -gt 6 ] 2>/dev/null; then
    fail "wedge expand $sweep --count: exit $rc, output '$ntasks', want 0 and a count > 6"
    show
    finish
fi

# ---- the reference: one uninterrupted run ----------------------------------------------
ref=$tmp/ref.nc
t0=$(date +%s.%N)
mpi_run 3 run "$sweep" -o "$ref" --quiet
t1=$(date +%s.%N)
if [ "$rc" -ne 0 ] || [ ! -f "$ref" ]; then
    fail "reference: mpirun -np 3 wedge run $sweep: exit $rc, want 0 and $ref"
    show
    finish
fi
echo "reference run: $ntasks tasks in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s"

# start NAME [ARGS...]: start the sweep under mpirun -np 3 in the background, in a
# session of its own (setsid: one kill can then reach mpirun and its ranks, which
# Open MPI puts in process groups of their own), output $tmp/NAME.nc; sets $pid.
start() {
    local name=$1
    shift
    mpi_cmd 3
    setsid "${MPI_CMD[@]}" "$WEDGE" run "$sweep" -o "$tmp/$name.nc" "$@" \
        >"$tmp/$name.out" 2>"$tmp/$name.err" &
    pid=$!
}

# wait_records DIR N PID: poll until DIR holds N records or process PID has ended;
# prints the count reached
wait_records() {
    local dir=$1 want=$2 pid=$3 n=0 i
    for ((i = 0; i < 800; i++)); do # 40 s
        n=$(records "$dir")
        [ "$n" -ge "$want" ] && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    echo "$n"
}

# gone PATTERN: wait up to 10 s until no process matches PATTERN (pgrep -f)
gone() {
    local i
    for ((i = 0; i < 100; i++)); do
        pgrep -f "$1" >/dev/null 2>&1 || return 0
        sleep 0.1
    done
    return 1
}

# stopped LABEL NAME: wait up to 20 s for the run started as NAME ($pid) to end;
# sets rc to its exit status (kills it and fails if it does not end)
stopped() {
    local i
    for ((i = 0; i < 200; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        fail "$1: mpirun wedge run did not stop within 20 s of the signal (--grace 0)"
        pkill -9 -f "$tmp_re/$2\\.nc" 2>/dev/null
    fi
    wait "$pid"
    rc=$?
}

# to_run FILE: the task count a run announced it would run ("N tasks, M to run")
to_run() {
    grep -Eo '[0-9]+ tasks, [0-9]+ to run' "$1" | head -1 | sed -E 's/.* ([0-9]+) to run/\1/'
}

# interrupted LABEL OUT: the output of a run stopped by a signal is closed cleanly
# (ncdump reads it), holds some done and some pending tasks and nothing failed, and
# its journal has one record per done row.  Sets npend; returns 1 if unusable.
interrupted() {
    local label=$1 out=$2 counts ndone nfailed ndiv nrec
    npend=-1
    if ! ncdump -h "$out" >"$tmp/header" 2>&1; then
        fail "$label: ncdump -h cannot read the interrupted output (not closed cleanly)"
        sed 's/^/    /' "$tmp/header" | head -5
        return 1
    fi
    counts=$(status_counts "$out")
    read -r ndone nfailed ndiv npend <<<"$counts"
    nrec=$(records "$out.journal")
    echo "$label: interrupted output: done failed diverged pending = $counts; $nrec records"
    if [ "$nfailed" -ne 0 ] || [ "$ndiv" -ne 0 ] || [ "$npend" -eq 0 ] || [ "$ndone" -lt 1 ]; then
        fail "$label: interrupted output: status counts (done failed diverged pending) '$counts', want some done, some pending, nothing failed"
    fi
    [ -d "$out.journal" ] || fail "$label: no journal beside the interrupted (incomplete) output"
    [ "$nrec" -eq "$ndone" ] || fail "$label: the journal holds $nrec records, the interrupted file $ndone done rows"
    return 0
}

# resumed LABEL OUT TODO [OLD [SWEEP]]: `mpirun -np 3 wedge run [SWEEP] --resume`
# completes OUT: exit 0, no journal left, every task done, data equal to the
# reference; it ran exactly TODO tasks; and, given the interrupted file OLD, every
# row done in OLD is unchanged (same wall_time and rank: a recomputed task would
# have a new wall time).  SWEEP defaults to the sweep the reference was run with.
resumed() {
    local label=$1 out=$2 todo=$3 old=${4:-} with=${5:-$sweep} m counts
    mpi_run 3 run "$with" -o "$out" --resume --progress 100 # not --quiet: "M to run"
    cp "$tmp/out" "$tmp/resume.out"
    if [ "$rc" -ne 0 ]; then
        fail "$label: mpirun -np 3 wedge run --resume: exit $rc, want 0"
        show
        return
    fi
    [ -e "$out.journal" ] && fail "$label: the journal is left after the resumed sweep completed"
    compare "$label: interrupted + --resume vs uninterrupted" "$ref" "$out"
    counts=$(status_counts "$out")
    [ "$counts" = "$ntasks 0 0 0" ] || fail "$label: status counts after --resume '$counts', want '$ntasks 0 0 0'"
    m=$(to_run "$tmp/resume.out")
    if [ -z "$m" ]; then
        fail "$label: the resumed run did not print 'N tasks, M to run'; cannot tell what it reran"
        show
    elif [ "$m" -ne "$todo" ]; then
        fail "$label: the resumed run ran $m tasks, want $todo (the others were recorded before it stopped)"
    fi
    if [ -n "$old" ] && ! same_tasks "$old" "$out" >"$tmp/same" 2>&1; then
        fail "$label: tasks done before the interruption were recomputed or changed by --resume:"
        tail -n +2 "$tmp/same" | sed 's/^/    /'
    fi
}

# ---- (a) kill -9 in the middle, then --resume -----------------------------------------
start kill --quiet
disown "$pid" # no "Killed" notice from the shell
n=$(wait_records "$tmp/kill.nc.journal" 3 "$pid")
# everything at once: the session (mpirun and its ranks), then by the output path
if [ "$(ps -o sid= -p "$pid" 2>/dev/null | tr -d ' ')" = "$pid" ]; then
    pkill -9 -s "$pid" 2>/dev/null
fi
pkill -9 -f "$tmp_re/kill\\.nc" 2>/dev/null
gone "$tmp_re/kill\\.nc" || fail "(a) processes of the killed run survive kill -9"
nrec=$(records "$tmp/kill.nc.journal")
echo "(a) kill -9 with $nrec of $ntasks tasks recorded"
if [ ! -d "$tmp/kill.nc.journal" ]; then
    fail "(a) no journal $tmp/kill.nc.journal after kill -9 (did the run end before the kill?)"
    sed 's/^/    /' "$tmp/kill.err" | head -10
elif [ "$nrec" -lt 1 ] || [ "$nrec" -ge "$ntasks" ]; then
    fail "(a) $nrec of $ntasks records at the kill: want some but not all (the sweep is too short or too long for this machine)"
else
    # wedge status reads the journal of a killed run
    wedge_run status "$tmp/kill.nc"
    want="$tmp/kill.nc: 'e2e-long', $ntasks tasks: $nrec done, 0 failed, 0 diverged, $((ntasks - nrec)) pending"
    line=$(head -1 "$tmp/out")
    if [ "$rc" -ne 0 ] || [ "${line#"$want"}" = "$line" ]; then
        fail "(a) wedge status after kill -9: exit $rc, first line '$line', want it to start with '$want'"
        show
    fi
    # Not recomputed: a record is in the journal before its task is reported done,
    # and every process was dead before the records were counted, so the resumed
    # run must announce exactly ntasks - nrec tasks to run.  (After kill -9 the
    # NetCDF file itself may be unreadable, so the row-level check of (b) cannot
    # be made here.)
    resumed "(a)" "$tmp/kill.nc" $((ntasks - nrec))
fi

# ---- (b) stopped by a signal, then --resume ---------------------------------------------
# (b1) SIGTERM to the ranks, as a batch system delivers it to every process of a
# job: wedge stops, closes the file and exits 75, which mpirun passes on.
start term --grace 0 --progress 100
n=$(wait_records "$tmp/term.nc.journal" 3 "$pid")
# the ranks: processes whose command line starts with the binary (not mpirun's)
wedge_re=$(printf '%s' "$WEDGE" | sed 's/[][\.*^$+?(){}|]/\\&/g')
pkill -TERM -f "^$wedge_re run .*$tmp_re/term\\.nc" 2>/dev/null || fail "(b1) no rank processes to signal"
stopped "(b1)" term
echo "(b1) SIGTERM to the ranks after $n records: exit $rc"
if [ "$rc" -ne 75 ]; then
    fail "(b1) mpirun wedge run, its ranks stopped by SIGTERM: exit $rc, want 75"
    sed 's/^/    stdout: /' "$tmp/term.out" | tail -5
    sed 's/^/    stderr: /' "$tmp/term.err" | head -10
fi
if interrupted "(b1)" "$tmp/term.nc"; then
    cp "$tmp/term.nc" "$tmp/term-interrupted.nc"
    # a different sweep cannot resume it, and the attempt changes nothing
    nrec=$(records "$tmp/term.nc.journal")
    mpi_run 3 run "$tmp/edited.yaml" -o "$tmp/term.nc" --resume --quiet
    if [ "$rc" -ne 1 ] || ! grep -qF 'different sweep' "$tmp/err"; then
        fail "(b1) --resume of an interrupted output with an edited sweep: exit $rc, want 1 and 'different sweep' on stderr"
        show
    elif ! grep -qF -- "$edited_line" "$tmp/err" && ! grep -qF -- "4.0e-3" "$tmp/err"; then
        fail "(b1) --resume of an interrupted output with an edited sweep: the refusal does not quote the changed line ('$edited_line')"
        show
    fi
    [ "$(records "$tmp/term.nc.journal")" -eq "$nrec" ] ||
        fail "(b1) the refused --resume changed the journal ($nrec records before, $(records "$tmp/term.nc.journal") after)"
    resumed "(b1)" "$tmp/term.nc" "$npend" "$tmp/term-interrupted.nc"
fi

# (b2) SIGTERM to mpirun, which forwards it to the ranks.  Open MPI 4's mpirun then
# exits 1 whatever its ranks return (and SIGKILLs them after about a second, so
# only a short --grace can work this way); the exit status wedge chose is only
# seen when the signal reaches the ranks directly (b1) or is forwarded without
# mpirun taking it as its own (SIGUSR1, b3).  Exit 75 or 1 is accepted here; the
# output must still be closed cleanly and resume.
start mterm --grace 0 --progress 100
n=$(wait_records "$tmp/mterm.nc.journal" 3 "$pid")
kill -TERM "$pid" 2>/dev/null
stopped "(b2)" mterm
echo "(b2) SIGTERM to mpirun after $n records: exit $rc"
if [ "$rc" -ne 75 ] && [ "$rc" -ne 1 ]; then
    fail "(b2) mpirun wedge run stopped by SIGTERM to mpirun: exit $rc, want 75 (or Open MPI's 1)"
    sed 's/^/    stderr: /' "$tmp/mterm.err" | head -10
fi
if interrupted "(b2)" "$tmp/mterm.nc"; then
    cp "$tmp/mterm.nc" "$tmp/mterm-interrupted.nc"
    resumed "(b2)" "$tmp/mterm.nc" "$npend" "$tmp/mterm-interrupted.nc"
fi

# (b3) SIGUSR1 to mpirun: forwarded to the ranks, which stop as for SIGTERM; exit 75
start usr1 --grace 0 --progress 100
n=$(wait_records "$tmp/usr1.nc.journal" 3 "$pid")
kill -USR1 "$pid" 2>/dev/null
stopped "(b3)" usr1
echo "(b3) SIGUSR1 to mpirun after $n records: exit $rc"
if [ "$rc" -ne 75 ]; then
    fail "(b3) mpirun wedge run stopped by SIGUSR1 to mpirun: exit $rc, want 75"
    sed 's/^/    stderr: /' "$tmp/usr1.err" | head -10
fi
# ... and resumed with the sweep laid out anew (comments, layout): the run
# goes on with the text it was started with, which the output keeps
if interrupted "(b3)" "$tmp/usr1.nc"; then
    cp "$tmp/usr1.nc" "$tmp/usr1-interrupted.nc"
    resumed "(b3)" "$tmp/usr1.nc" "$npend" "$tmp/usr1-interrupted.nc" "$tmp/relaid.yaml"
    grep -q "relaid.yaml differs from the sweep text .* only in comments and layout" "$tmp/resume.out" ||
        fail "(b3) --resume with the sweep laid out anew did not say it continues with the recorded text"
    for f in "$ref" "$tmp/usr1.nc"; do
        ncdump -h "$f" | grep -E '^\s+:sweep_(sha256|text)' >"$f.head"
    done
    cmp -s "$ref.head" "$tmp/usr1.nc.head" ||
        fail "(b3) the output resumed with the sweep laid out anew does not keep the original sweep text and hash"
fi

# ---- (c) refusals and --force -------------------------------------------------------------
# onto the finished reference without --resume/--force: refused, nothing touched
cp "$ref" "$tmp/ref-copy.nc"
mpi_run 3 run "$sweep" -o "$ref" --quiet
if [ "$rc" -ne 1 ] || ! grep -qF -- '--resume' "$tmp/err"; then
    fail "(c) wedge run onto an existing output without --resume/--force: exit $rc, want 1 and a message naming --resume"
    show
fi
wedge_run run "$sweep" -o "$ref" --quiet
if [ "$rc" -ne 1 ] || ! grep -qF -- '--resume' "$tmp/err"; then
    fail "(c) wedge run (one process) onto an existing output: exit $rc, want 1 and a message naming --resume"
    show
fi
if ! same_tasks "$tmp/ref-copy.nc" "$ref" >"$tmp/same" 2>&1; then
    fail "(c) the refused run changed the existing output"
    tail -n +2 "$tmp/same" | sed 's/^/    /'
fi
compare "(c) output after refused runs" "$tmp/ref-copy.nc" "$ref"

# --resume with an edited sweep: refused, quoting the change
mpi_run 3 run "$tmp/edited.yaml" -o "$ref" --resume --quiet
if [ "$rc" -ne 1 ] || ! grep -qF 'different sweep' "$tmp/err"; then
    fail "(c) --resume of a finished output with an edited sweep: exit $rc, want 1 and 'different sweep' on stderr"
    show
elif ! grep -qF -- "$edited_line" "$tmp/err" && ! grep -qF -- "4.0e-3" "$tmp/err"; then
    fail "(c) --resume with an edited sweep: the refusal does not quote the changed line ('$edited_line')"
    show
fi
if ! same_tasks "$tmp/ref-copy.nc" "$ref" >"$tmp/same" 2>&1; then
    fail "(c) the refused --resume changed the existing output"
    tail -n +2 "$tmp/same" | sed 's/^/    /'
fi

# --resume of the finished output with the sweep laid out anew: nothing to run,
# nothing changed
mpi_run 3 run "$tmp/relaid.yaml" -o "$ref" --resume
if [ "$rc" -ne 0 ] || ! grep -q "only in comments and layout" "$tmp/out"; then
    fail "(c) --resume of a finished output with the sweep laid out anew: exit $rc, want 0 and the note"
    show
fi
if ! same_tasks "$tmp/ref-copy.nc" "$ref" >"$tmp/same" 2>&1; then
    fail "(c) --resume with the sweep laid out anew changed the finished output"
    tail -n +2 "$tmp/same" | sed 's/^/    /'
fi

# --force overwrites: a copy of the reference with every status reset to pending
# must come back complete and equal to the reference
forced=$tmp/forced.nc
cp "$ref" "$forced"
"$PYTHON3" - "$forced" <<'EOF' || fail "(c) could not reset the statuses of $forced"
import sys, netCDF4
with netCDF4.Dataset(sys.argv[1], "a") as ds:
    ds["status"][:] = 0
EOF
mpi_run 3 run "$sweep" -o "$forced" --force --quiet
if [ "$rc" -ne 0 ]; then
    fail "(c) mpirun -np 3 wedge run --force onto an existing output: exit $rc, want 0"
    show
else
    compare "(c) --force vs reference" "$ref" "$forced"
    [ -e "$forced.journal" ] && fail "(c) the journal is left after the --force run completed"
fi

finish
