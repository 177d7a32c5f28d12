#!/usr/bin/env bash
# test_reuse.sh: growing a sweep with `wedge run --reuse OLD.nc` (reuse.h).
#
# A small sweep (2 seeds, MLPs with tunnel probes) is run; then, under mpirun with
# 2 workers:
#   - grown (3 seeds x 2 learning rates, the old one among them) with --reuse: the
#     run says it took the old sweep's 4 tasks; the output equals a fresh run of the
#     grown sweep (compare.py: every variable but rank and wall_time), and the reused
#     rows keep the old rows' wall_time and rank to the last bit (they were copied,
#     not computed again);
#   - with a tunnel option changed (directions 4 -> 6): the 2 trainings are reused,
#     the probes are not (their options differ), and the output equals a fresh run;
#   - with train.epochs changed: nothing is reused;
#   - a connector sweep rerun with connectors.batch_size=0 (its default) reuses
#     every task, and with batch_size set only the trainings;
#   - with probes.hessian.at grown by connectors and probes.subspace.dims by a
#     value (options that say which tasks exist): every task already run is
#     reused, and the output equals a fresh run; so with probes.hessian.points
#     (one connector point counted, then all);
#   - a tunnel of a 4-seed sweep (set 1) is taken into the sweep of its 2 seeds (set
#     0 there) and equals that sweep's fresh run;
#   - two --reuse files: rows computed from equal inputs are all taken; a count whose
#     training differs (bitwise) between the files runs again, and the output equals
#     a run from the file of the training alone;
#   - `wedge expand --reuse` with those two files lists the tasks taken from each
#     and the one to run, as the run then does, and writes nothing;
#   - --reuse of the output itself, of a missing file, of a file that is not an
#     output: exit 1 with a message naming it, and no output is created.
# ~30 s on 2 cores.
set -u
t=test_reuse
. "${top_srcdir:-.}/tests/mpi/lib.sh"

# want_reused N OF WHAT WHY: the last run exited 0 and took N of its OF tasks
want_reused() {
    if [ "$rc" = 0 ] && grep -q "reuse: $1 of this sweep's $2 tasks" "$tmp/out"; then
        echo "ok: $3: $(grep 'reuse:' "$tmp/out")"
    else
        fail "$3: exit $rc, want $1 of $2 reused ($4)"; show
    fi
}
# want_same A.nc B.nc WHAT: the two outputs are equal but for rank and wall_time
want_same() {
    if "$PYTHON3" "$MPI_DIR/compare.py" "$1" "$2" >"$tmp/cmp" 2>&1; then
        echo "ok: $3: $(tail -1 "$tmp/cmp")"
    else
        fail "$3: differs:"; sed 's/^/    /' "$tmp/cmp"
    fi
}

cat >"$tmp/g.yaml" <<'EOF'
name: grow
data: {name: synthetic, synthetic_train: 256, synthetic_test: 64, synthetic_size: 8}
model: {arch: mlp, depth: 1, hidden: 16}
train: {epochs: 2, batch_size: 32}
sweep: {seed: [0, 1]}
probes:
  tunnel: {directions: 4, probe_size: 128}
EOF
GROW="sweep.seed=[0,1,2] sweep.train.lr=[1.0e-3,1.0e-2]"

wedge_run run "$tmp/g.yaml" -o "$tmp/old.nc" --quiet
[ "$rc" = 0 ] || die "the old sweep: exit $rc"

# grown: 12 tasks, 4 of them the old ones
# shellcheck disable=SC2086 # GROW is two arguments
mpi_run 3 run "$tmp/g.yaml" $GROW -o "$tmp/new.nc" --reuse "$tmp/old.nc"
if [ "$rc" = 0 ] && grep -q "reuse: 4 of this sweep's 12 tasks taken from $tmp/old.nc (4 of its 4 tasks finished)" "$tmp/out" &&
    grep -q "12 tasks, 8 to run" "$tmp/out"; then
    echo "ok: grown sweep: $(grep 'reuse:' "$tmp/out")"
else
    fail "grown sweep with --reuse: exit $rc, or not 4 of 12 reused"; show
fi
# shellcheck disable=SC2086
wedge_run run "$tmp/g.yaml" $GROW -o "$tmp/fresh.nc" --quiet
[ "$rc" = 0 ] || die "the fresh grown sweep: exit $rc"
want_same "$tmp/new.nc" "$tmp/fresh.nc" "grown with --reuse against a fresh run"
# the reused rows are the old rows: same wall_time and rank, matched by settings
if "$PYTHON3" - "$tmp/old.nc" "$tmp/new.nc" >"$tmp/kept" 2>&1 <<'EOF'
import sys, netCDF4, numpy as np
def rows(path):
    with netCDF4.Dataset(path) as f:
        f.set_auto_mask(False)
        kind, seed, lr = f["kind"][:], f["seed"][:], f["lr"][:]
        wall, rank = f["wall_time"][:], f["rank"][:]
    return {(int(k), float(s), float(l)): (float(w), int(r))
            for k, s, l, w, r in zip(kind, seed, lr, wall, rank)}
old, new = rows(sys.argv[1]), rows(sys.argv[2])
bad = [k for k in old if new.get(k) != old[k]]
others = [k for k in new if k not in old and new[k][1] == 0]
if bad or len(old) != 4:
    sys.exit(f"rows not copied: {bad}: old {[old[k] for k in bad]}, new {[new.get(k) for k in bad]}")
if others:
    sys.exit(f"new rows computed by rank 0 (a worker should have): {others}")
print(f"the {len(old)} reused rows keep the old wall_time and rank to the last bit")
EOF
then
    echo "ok: $(cat "$tmp/kept")"
else
    fail "$(cat "$tmp/kept")"
fi

# a probe option changed: trainings reused, probes computed
mpi_run 3 run "$tmp/g.yaml" probes.tunnel.directions=6 -o "$tmp/dir6.nc" --reuse "$tmp/old.nc"
grep -q "reuse: 2 of this sweep's 4 tasks" "$tmp/out" ||
    { fail "directions 6: want 2 of 4 reused (the trainings)"; show; }
wedge_run run "$tmp/g.yaml" probes.tunnel.directions=6 -o "$tmp/dir6-fresh.nc" --quiet
want_same "$tmp/dir6.nc" "$tmp/dir6-fresh.nc" "directions 6, trainings reused, against a fresh run"

# a setting changed: nothing reused
wedge_run run "$tmp/g.yaml" train.epochs=3 -o "$tmp/e3.nc" --reuse "$tmp/old.nc"
grep -q "reuse: 0 of this sweep's 4 tasks" "$tmp/out" &&
    echo "ok: train.epochs=3: nothing reused" ||
    { fail "train.epochs=3: want 0 reused"; show; }

# an option at its default is the option left out (identities are computed from the
# old output's sweep text by this binary, so an output written before the option
# existed is taken too): connectors.batch_size=0 reuses all 3 tasks; set, the
# trainings are reused and the connector is computed again
# g.yaml with a 1-connector instead of its probes
{ sed -e 's/^name: grow$/name: conn/' -e '/^probes:/,$d' "$tmp/g.yaml"
  echo 'connectors: {m: [1], points: 2, steps: 5, probe_size: 64, eval_points: 2}'; } >"$tmp/c.yaml"
wedge_run run "$tmp/c.yaml" -o "$tmp/c-old.nc" --quiet
[ "$rc" = 0 ] || die "the connector sweep: exit $rc"
wedge_run run "$tmp/c.yaml" connectors.batch_size=0 -o "$tmp/c0.nc" --reuse "$tmp/c-old.nc"
grep -q "reuse: 3 of this sweep's 3 tasks" "$tmp/out" &&
    echo "ok: connectors.batch_size=0 (its default): all 3 tasks reused" ||
    { fail "connectors.batch_size=0: want 3 of 3 reused"; show; }
wedge_run run "$tmp/c.yaml" connectors.batch_size=16 -o "$tmp/c16.nc" --reuse "$tmp/c-old.nc"
grep -q "reuse: 2 of this sweep's 3 tasks" "$tmp/out" &&
    echo "ok: connectors.batch_size=16: the 2 trainings reused, the connector run" ||
    { fail "connectors.batch_size=16: want 2 of 3 reused"; show; }

# options that say which tasks exist, not what one computes, are no part of an
# identity: counting also at the connector's points (probes.hessian.at) and one
# more subspace dimension (probes.subspace.dims) reuse the counts at the optima and
# the subspace tasks already run, and the output equals a fresh run
{ cat "$tmp/c.yaml"; echo 'probes:'
  echo '  hessian: {method: full, at: [optima], probe_size: 64, threshold: 0.01}'
  echo '  subspace: {dims: [2, 4], epochs: 1}'; } >"$tmp/h.yaml"
wedge_run run "$tmp/h.yaml" -o "$tmp/h-old.nc" --quiet
[ "$rc" = 0 ] || die "the Hessian and subspace sweep: exit $rc"
HGROW="probes.hessian.at=[optima,connectors] probes.subspace.dims=[2,4,8]"
# shellcheck disable=SC2086 # HGROW is two arguments
mpi_run 3 run "$tmp/h.yaml" $HGROW -o "$tmp/h-grown.nc" --reuse "$tmp/h-old.nc"
want_reused 9 13 "hessian at: + connectors, subspace dims: + 8" \
    "2 trainings, the connector, 2 counts, 4 subspaces"
# shellcheck disable=SC2086
wedge_run run "$tmp/h.yaml" $HGROW -o "$tmp/h-fresh.nc" --quiet
want_same "$tmp/h-grown.nc" "$tmp/h-fresh.nc" "grown Hessian/subspace sweep with --reuse against a fresh run"

# probes.hessian.points (which connector points are counted) is no part of an
# identity either: counting X_2 alone plans one count at the connector, and growing
# it to every point from that output computes only X_1; the result equals the
# fresh run of every point
mpi_run 3 run "$tmp/h.yaml" probes.hessian.at=[optima,connectors] probes.hessian.points=[2] \
    -o "$tmp/h-x2.nc" --reuse "$tmp/h-old.nc"
want_reused 9 10 "hessian points: [2]" "the count at X_2 alone run"
# shellcheck disable=SC2086
mpi_run 3 run "$tmp/h.yaml" $HGROW -o "$tmp/h-all.nc" --reuse "$tmp/h-x2.nc"
want_reused 10 13 "points grown to all" "X_1 and the subspaces of dim 8 run"
want_same "$tmp/h-all.nc" "$tmp/h-fresh.nc" "points grown with --reuse against a fresh run"

# a connector's set number labels it and is no part of its identity: the tunnel
# between seeds 2 and 3, set 1 of four seeds, is taken into the sweep of those two
# seeds alone (set 0 there), with its trainings, and equals that sweep's fresh run
sed 's/^sweep: {seed: \[0, 1\]}$/sweep: {seed: [0, 1, 2, 3]}/' "$tmp/c.yaml" >"$tmp/c4.yaml"
wedge_run run "$tmp/c4.yaml" connectors.sets=2 -o "$tmp/c4.nc" --quiet
[ "$rc" = 0 ] || die "the 4-seed connector sweep: exit $rc"
wedge_run run "$tmp/c4.yaml" 'sweep.seed=[2,3]' -o "$tmp/c23.nc" --reuse "$tmp/c4.nc"
want_reused 3 3 "the tunnel 2-3 taken from set 1 of c4.nc as set 0" "the 2 trainings and the connector"
wedge_run run "$tmp/c4.yaml" 'sweep.seed=[2,3]' -o "$tmp/c23-fresh.nc" --quiet
[ "$rc" = 0 ] || die "the 2-seed connector sweep: exit $rc"
want_same "$tmp/c23.nc" "$tmp/c23-fresh.nc" "the tunnel 2-3 taken from c4.nc against a fresh run"

# several --reuse files: a row is taken only if the rows its task read there are,
# bit for bit, the ones this output took (trainings repeated on another node need
# not be).  Trained apart on this machine, c-old's and h-old's trainings are equal:
# everything is taken.  With c-alt's training of seed 0 scaled by 1.001 (as a rerun
# elsewhere would differ), h-old's count at that optimum is not taken but run again
# on c-alt's training, and the output equals a run from c-alt alone
wedge_run run "$tmp/h.yaml" -o "$tmp/h-two.nc" --reuse "$tmp/c-old.nc" --reuse "$tmp/h-old.nc"
if [ "$rc" = 0 ] && grep -q "reuse: 6 of this sweep's 9 tasks taken from $tmp/h-old.nc" "$tmp/out" &&
    ! grep -q "not taken" "$tmp/out" && grep -q "all 9 tasks done" "$tmp/out"; then
    echo "ok: two --reuse files with equal trainings: 3 + 6 of 9 taken, none run"
else
    fail "two --reuse files with equal trainings: exit $rc, want 3 + 6 taken, none run"; show
fi
cp "$tmp/c-old.nc" "$tmp/c-alt.nc"
"$PYTHON3" - "$tmp/c-alt.nc" <<'EOF' || die "cannot alter c-alt.nc"
import sys, netCDF4
with netCDF4.Dataset(sys.argv[1], "a") as f:
    f["params"][0, :] = f["params"][0, :] * 1.001   # task 0: the training of seed 0
EOF
# `wedge expand --reuse` says the same beforehand, writing nothing: the tasks taken
# from each file, the count not taken, and what remains to run
sums() { md5sum "$tmp/c-alt.nc" "$tmp/h-old.nc"; ls "$tmp"; }
sums >"$tmp/before"
wedge_run expand "$tmp/h.yaml" --reuse "$tmp/c-alt.nc" --reuse "$tmp/h-old.nc"
taken=$(grep -c "deps: .*  taken from $tmp/" "$tmp/out")
if [ "$rc" = 0 ] && [ "$taken" = 8 ] && grep -q "reuse: 5 of this sweep's 9 tasks taken from $tmp/h-old.nc" "$tmp/out" &&
    grep -q "reuse: 1 finished task of $tmp/h-old.nc not taken (task 2 first)" "$tmp/out" &&
    grep -Eq "^ +2  hessian .*deps: 0$" "$tmp/out" && grep -q "^to run: 1 task: 0 train, 1 hessian$" "$tmp/out" &&
    sums | cmp -s - "$tmp/before"; then
    echo "ok: expand --reuse: 8 of 9 taken, task 2 to run, nothing written: $(tail -1 "$tmp/out")"
else
    fail "expand --reuse: exit $rc, $taken taken; want 8, task 2 to run, the files unchanged"; show
fi
wedge_run expand "$tmp/h.yaml" --reuse "$tmp/c-alt.nc" --reuse "$tmp/h-old.nc" --count
if [ "$rc" = 0 ] && [ "$(cat "$tmp/out")" = 1 ] && grep -q "not taken" "$tmp/err"; then
    echo "ok: expand --reuse --count: 1 to run (the reuse lines on stderr)"
else
    fail "expand --reuse --count: exit $rc, want 1 on stdout, the reuse lines on stderr"; show
fi
wedge_run expand "$tmp/h.yaml" --reuse "$tmp/missing.nc"
if [ "$rc" = 1 ] && grep -q -- "--reuse: $tmp/missing.nc: cannot open" "$tmp/err"; then
    echo "ok: expand --reuse of a missing file: $(cat "$tmp/err")"
else
    fail "expand --reuse of a missing file: exit $rc, want 1 naming it"; show
fi
wedge_run run "$tmp/h.yaml" -o "$tmp/h-mix.nc" --reuse "$tmp/c-alt.nc" --reuse "$tmp/h-old.nc"
if [ "$rc" = 0 ] && grep -q "reuse: 3 of this sweep's 9 tasks taken from $tmp/c-alt.nc" "$tmp/out" &&
    grep -q "reuse: 5 of this sweep's 9 tasks taken from $tmp/h-old.nc" "$tmp/out" &&
    grep -q "reuse: 1 finished task of $tmp/h-old.nc not taken (task 2 first): .*(task 0); it runs again" "$tmp/out" &&
    grep -q "9 tasks, 1 to run" "$tmp/out"; then
    echo "ok: a training that differs between the files: $(grep 'not taken' "$tmp/out")"
else
    fail "a training that differs between the --reuse files: exit $rc, want 3 + 5 taken, the count at seed 0 run"
    show
fi
wedge_run run "$tmp/h.yaml" -o "$tmp/h-alt.nc" --reuse "$tmp/c-alt.nc" --quiet
[ "$rc" = 0 ] || die "the sweep from c-alt.nc alone: exit $rc"
want_same "$tmp/h-mix.nc" "$tmp/h-alt.nc" "the mixed output against the run from c-alt.nc alone"

# refusals, before anything is created
echo "not netcdf" >"$tmp/junk.nc"
for bad in "$tmp/e3.nc:the output itself" "$tmp/missing.nc:No such file" \
    "$tmp/junk.nc:Unknown file format"; do
    src=${bad%%:*} want=${bad#*:} out=$tmp/r.nc
    [ "$src" = "$tmp/e3.nc" ] && out=$tmp/e3.nc
    wedge_run run "$tmp/g.yaml" train.epochs=3 -o "$out" --resume --reuse "$src"
    if [ "$rc" = 1 ] && grep -q -- "--reuse.*$want" "$tmp/err" && [ ! -e "$tmp/r.nc" ]; then
        echo "ok: --reuse $(basename "$src"): $(cat "$tmp/err")"
    else
        fail "--reuse $(basename "$src"): exit $rc, want 1 naming it ($want), no output"; show
    fi
done
finish
