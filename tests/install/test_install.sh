#!/usr/bin/env bash
# test_install.sh: the installed product, used the way a cluster's user uses it.
#
# Installs the build tree into a fresh temporary prefix (`make install
# prefix=TMP`), then works in a clean environment (env -i) holding only what the
# installed modulefile sets -- loaded with this machine's module system,
# Environment Modules or Lmod: PATH (TMP/bin first), MANPATH, PYTHONPATH,
# WEDGE_HOME -- in a working directory outside the sources, and checks:
#  - the files: bin/wedge and the wedge-* commands; share/man/man1/wedge.1;
#    share/doc/wedge/README.md with every docs/*.md and docs/figures/*.png of the
#    sources in share/doc/wedge/docs/; every sweeps/*.yaml and sweeps/*/*.yaml and every
#    jobs/*.sbatch and jobs/lib.sh in share/wedge, unchanged but for the one
#    line `make install` completes with the installation's directories; the
#    modulefile share/wedge/modulefiles/wedge/VERSION; no installed text file
#    names the source or build directory;
#  - the module's environment: PATH starts with TMP/bin, MANPATH holds
#    TMP/share/man, PYTHONPATH the package's directory, WEDGE_HOME is
#    TMP/share/wedge;
#  - `wedge --version` and `wedge -V` both print "wedge VERSION (DESCRIBE)", where
#    DESCRIBE is `git describe --tags --always --dirty` of the sources, or
#    "wedge VERSION" when the sources are no git checkout (a tarball's build);
#  - every installed sweep passes `wedge expand`;
#  - a small sweep (synthetic data: 4 trainings, then 8 tunnel-probe tasks) run
#    by the installed wedge under `mpirun -np 3` completes; its wedge_version
#    attribute is what `wedge --version` printed; wedge-summary prints its table
#    and wedge-plot-fig5 writes a PNG; Python imports wedgeds from the
#    installation and xarray opens the output with engine="wedge";
#  - the manual page: `man -w wedge` finds the installed page through MANPATH
#    while `man -w ls` still finds the system's; groff formats it without a
#    warning; `man wedge` shows the version and has a section for every command
#    `wedge --help` lists, holding every long option that `wedge CMD --help`
#    lists;
#  - Slurm (root only, else this part is skipped and says so): under a private
#    loopback Slurm started by tools/slurm-local-start.sh, (1) the installed
#    jobs/wedge.sbatch, submitted with the module's environment, and (2) a copy
#    of it in the working directory, submitted with LAUNCH=srun from an
#    environment with neither WEDGE_HOME nor TMP/bin on PATH, each with
#    `--ntasks=3 --overcommit --cpus-per-task=2`, end COMPLETED with exit code
#    0 and a complete output, their logs naming the installed binary and
#    share/wedge as the place of lib.sh; and the installed
#    jobs/quickstart.sbatch, as it is, passes `sbatch --test-only` here;
#  - `make uninstall prefix=TMP` leaves no file, and none of the directories
#    share/wedge, share/doc/wedge and the package's.
# Environment (as `make check` sets it): top_srcdir, top_builddir, MAKE, PYTHON3.
# Exits 0 if every check passes, 1 otherwise.  About a minute on 2 cores.
set -u
t=test_install

top_srcdir=$(cd "${top_srcdir:-$(dirname "$0")/../..}" && pwd)
top_builddir=$(cd "${top_builddir:-$top_srcdir}" && pwd)
MAKE=${MAKE:-make}
PYTHON3=${PYTHON3:-/usr/bin/python3}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/wedge-install.XXXXXX") || exit 1
# man (which leaves root for its own user) and munged read below it
chmod 755 "$tmp"
prefix=$tmp/prefix
work=$tmp/work
home=$tmp/home
mkdir -p "$work" "$home"
sdir=$tmp/slurm
slurm_up=
# shellcheck disable=SC2317 # called from the EXIT trap
cleanup() {
    [ -n "$slurm_up" ] && "$top_srcdir/tools/slurm-local-stop.sh" "$sdir" >/dev/null 2>&1
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

failures=0
fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}
finish() {
    echo "total ${SECONDS} s"
    if [ "$failures" -ne 0 ]; then
        echo "$t: $failures check(s) failed"
        exit 1
    fi
    echo "$t: all checks passed"
    exit 0
}
die() {
    fail "$*"
    finish
}
# indent FILE: a file's last lines, for a failure report
indent() {
    tail -n "${SHOW_LINES:-40}" "$1" 2>/dev/null | sed 's/^/    | /'
}
phase() {
    echo "---- $* (at ${SECONDS} s)"
}

# ---- install ------------------------------------------------------------------------
phase "make install prefix=$prefix"
# a make of its own: not the jobserver of the `make check` that runs this test
# shellcheck disable=SC2086 # MAKE may carry options
if ! env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL $MAKE -C "$top_builddir" install prefix="$prefix" \
    >"$tmp/install.log" 2>&1; then
    indent "$tmp/install.log"
    die "make install prefix=$prefix failed"
fi
echo "installed in ${SECONDS} s"

share=$prefix/share/wedge
mods=("$share"/modulefiles/wedge/*)
if [ "${#mods[@]}" -ne 1 ] || [ ! -f "${mods[0]}" ]; then
    die "want exactly one modulefile in $share/modulefiles/wedge, found: ${mods[*]}"
fi
version=${mods[0]##*/}
echo "version $version (the modulefile's name)"

# ---- the files ----------------------------------------------------------------------
phase "installed files"
for f in bin/wedge bin/wedge-summary bin/wedge-plot-fig5 bin/wedge-merge; do
    [ -x "$prefix/$f" ] || fail "$f is not installed (or not executable)"
done
[ -f "$prefix/share/man/man1/wedge.1" ] || fail "share/man/man1/wedge.1 is not installed"
cmp -s "$top_srcdir/README.md" "$prefix/share/doc/wedge/README.md" ||
    fail "share/doc/wedge/README.md is missing or differs from README.md"
for f in "$top_srcdir"/docs/*.md "$top_srcdir"/docs/figures/*.png; do
    [ -f "$f" ] || continue
    rel=${f#"$top_srcdir"/}
    cmp -s "$f" "$prefix/share/doc/wedge/$rel" ||
        fail "share/doc/wedge/$rel is missing or differs from $rel"
done
n_sweeps=0
for f in "$top_srcdir"/sweeps/*.yaml "$top_srcdir"/sweeps/*/*.yaml; do
    [ -f "$f" ] || continue
    rel=${f#"$top_srcdir"/}
    n_sweeps=$((n_sweeps + 1))
    cmp -s "$f" "$share/$rel" || fail "share/wedge/$rel is missing or differs from $rel"
done
# job scripts: as in the sources but for the line make install completes
for f in "$top_srcdir"/jobs/*.sbatch "$top_srcdir"/jobs/lib.sh; do
    n=${f##*/}
    inst=$share/jobs/$n
    if [ ! -f "$inst" ]; then
        fail "share/wedge/jobs/$n is not installed"
        continue
    fi
    case "$n" in
    lib.sh) line="wj_bindir='$prefix/bin'" mark=wj_bindir ;;
    *) line="wedge_installed='$share'" mark=wedge_installed
        [ -x "$inst" ] || fail "share/wedge/jobs/$n is not executable" ;;
    esac
    grep -qxF "$line" "$inst" || fail "share/wedge/jobs/$n lacks the line $line"
    if ! diff <(grep -v "^$mark=" "$f") <(grep -v "^$mark=" "$inst") >/dev/null; then
        fail "share/wedge/jobs/$n differs from jobs/$n in more than its $mark= line"
    fi
done
# nothing installed (text) points back at the sources or the build
leaks=$(grep -rlF -e "$top_srcdir" -e "$top_builddir" "$prefix/share" "$prefix"/bin/wedge-* \
    "$prefix"/lib 2>/dev/null)
[ -z "$leaks" ] || fail "installed files name the source or build directory: $leaks"
echo "$n_sweeps sweeps, $(find "$share/jobs" -type f | wc -l) job files, $(find "$prefix" -type f | wc -l) files in all"

# ---- the module's environment -------------------------------------------------------
phase "module load wedge"
module_init=''
for f in "${MODULESHOME:-/nonexistent}/init/bash" /usr/share/modules/init/bash \
    /usr/share/lmod/lmod/init/bash; do
    [ -r "$f" ] && { module_init=$f; break; }
done
[ -n "$module_init" ] ||
    die "no module system to load the modulefile with: install environment-modules (tools/setup.sh does) or lmod"
# shellcheck disable=SC2016 # expanded by the inner shell
if ! env -i HOME="$home" PATH=/usr/bin:/bin bash --noprofile --norc -c '
    . "$1" >/dev/null 2>&1 || { echo "cannot source $1"; exit 1; }
    module use "$2" || exit 1
    module load wedge || exit 1
    module list 2>&1 | grep -q "wedge/$3" || { echo "module list: $(module list 2>&1)"; exit 1; }
    for v in PATH MANPATH PYTHONPATH WEDGE_HOME; do printf "%s=%s\n" "$v" "${!v-}"; done
    ' _ "$module_init" "$share/modulefiles" "$version" >"$tmp/module.env" 2>"$tmp/module.err"; then
    cat "$tmp/module.env" "$tmp/module.err" | sed 's/^/    | /'
    die "module load wedge failed ($module_init)"
fi
m_PATH=$(sed -n 's/^PATH=//p' "$tmp/module.env")
m_MANPATH=$(sed -n 's/^MANPATH=//p' "$tmp/module.env")
m_PYTHONPATH=$(sed -n 's/^PYTHONPATH=//p' "$tmp/module.env")
m_WEDGE_HOME=$(sed -n 's/^WEDGE_HOME=//p' "$tmp/module.env")
echo "with $module_init:"
sed 's/^/    /' "$tmp/module.env"
case "$m_PATH" in "$prefix/bin:"*) ;; *) fail "module: PATH does not start with $prefix/bin" ;; esac
case ":$m_MANPATH:" in *":$prefix/share/man:"*) ;; *) fail "module: MANPATH lacks $prefix/share/man" ;; esac
[ "$m_WEDGE_HOME" = "$share" ] || fail "module: WEDGE_HOME is '$m_WEDGE_HOME', want $share"
pydir=$(find "$prefix/lib" -type d -name wedgeds -print -quit 2>/dev/null)
pydir=${pydir%/wedgeds}
[ -n "$pydir" ] || fail "no wedgeds package under $prefix/lib"
case ":$m_PYTHONPATH:" in *":$pydir:"*) ;; *) fail "module: PYTHONPATH '$m_PYTHONPATH' lacks $pydir" ;; esac

# installed CMD...: CMD as a user of the installation: a clean environment with
# the module's settings, in $work
installed() {
    (cd "$work" && env -i HOME="$home" LANG=C.UTF-8 PATH="$m_PATH" MANPATH="$m_MANPATH" \
        PYTHONPATH="$m_PYTHONPATH" WEDGE_HOME="$m_WEDGE_HOME" \
        OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 \
        OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
        MPLBACKEND=Agg MPLCONFIGDIR="$tmp/mpl" ${SLURM_CONF:+SLURM_CONF="$SLURM_CONF"} "$@")
}

# ---- version ------------------------------------------------------------------------
phase "version"
want="wedge $version"
if [ -e "$top_srcdir/.git" ]; then
    describe=$(git -C "$top_srcdir" describe --tags --always --dirty 2>/dev/null) &&
        want="$want ($describe)"
fi
found=$(installed bash -c 'command -v wedge')
[ "$found" = "$prefix/bin/wedge" ] || fail "the wedge on the module's PATH is '$found', want $prefix/bin/wedge"
v_long=$(installed wedge --version 2>&1)
v_short=$(installed wedge -V 2>&1)
echo "wedge --version: $v_long"
[ "$v_long" = "$want" ] || fail "wedge --version printed '$v_long', want '$want'"
[ "$v_short" = "$v_long" ] || fail "wedge -V printed '$v_short', wedge --version '$v_long'"

# ---- the installed sweeps -----------------------------------------------------------
phase "wedge expand of every installed sweep"
for f in "$share"/sweeps/*.yaml "$share"/sweeps/*/*.yaml; do
    [ -f "$f" ] || continue
    installed timeout 30 wedge expand "$f" --count >"$tmp/out" 2>&1 ||
        { fail "wedge expand ${f#"$share"/}:"; indent "$tmp/out"; }
done

# ---- a sweep, its summary and a figure ------------------------------------------------
phase "mpirun -np 3 wedge run, wedge-summary, wedge-plot-fig5"
cat >"$work/tiny.yaml" <<'EOF'
name: install-tiny
seed: 5
data: {name: synthetic, synthetic_train: 200, synthetic_test: 50, synthetic_size: 8}
model: {arch: mlp, depth: 1, hidden: 8}
train: {epochs: 2, batch_size: 25}
sweep:
  train.lr: [1.0e-3, 1.0e-2]
  seed: {range: [0, 2]}
probes:
  tunnel: {directions: 4, split: 2, probe_size: 100}
EOF
n_tiny=$(installed wedge expand tiny.yaml --count 2>&1)
if ! installed timeout 120 mpirun --oversubscribe -np 3 wedge run tiny.yaml --quiet \
    >"$tmp/run.log" 2>&1; then
    indent "$tmp/run.log"
    die "mpirun -np 3 wedge run tiny.yaml failed"
fi
status_line=$(installed wedge status install-tiny.nc 2>&1 | head -n 1)
case "$status_line" in
*"$n_tiny tasks: $n_tiny done, 0 failed, 0 diverged, 0 pending"*) echo "$status_line" ;;
*) fail "wedge status: '$status_line', want $n_tiny tasks all done" ;;
esac
attr=$(installed "$PYTHON3" -c 'import sys, netCDF4
with netCDF4.Dataset(sys.argv[1]) as ds: print(ds.getncattr("wedge_version"))' install-tiny.nc 2>&1)
[ "wedge $attr" = "$v_long" ] ||
    fail "the output's wedge_version is '$attr', but wedge --version prints '$v_long'"
if installed timeout 60 wedge-summary install-tiny.nc >"$tmp/summary.out" 2>&1 &&
    grep -q '^|' "$tmp/summary.out"; then
    echo "wedge-summary: $(grep -c '^|' "$tmp/summary.out") table lines"
else
    fail "wedge-summary install-tiny.nc printed no table:"
    indent "$tmp/summary.out"
fi
if ! installed timeout 60 wedge-plot-fig5 install-tiny.nc -o fig5.png >"$tmp/fig5.out" 2>&1; then
    fail "wedge-plot-fig5 install-tiny.nc failed:"
    indent "$tmp/fig5.out"
elif [ "$(head -c 8 "$work/fig5.png" 2>/dev/null | od -An -c | tr -d ' ')" != '211PNG\r\n032\n' ]; then
    fail "wedge-plot-fig5 wrote no PNG ($work/fig5.png)"
else
    echo "wedge-plot-fig5: fig5.png, $(wc -c <"$work/fig5.png") bytes"
fi
# shellcheck disable=SC2016
if ! installed "$PYTHON3" -c 'import sys, wedgeds, xarray as xr
print(wedgeds.__file__)
ds = xr.open_dataset("install-tiny.nc", engine="wedge")
print(dict(ds.sizes))' >"$tmp/py.out" 2>&1; then
    fail "Python: import wedgeds or xarray's engine=\"wedge\" failed:"
    indent "$tmp/py.out"
else
    case "$(head -n 1 "$tmp/py.out")" in
    "$pydir"/wedgeds/*) echo "python: wedgeds from $pydir; engine=\"wedge\": $(sed -n 2p "$tmp/py.out")" ;;
    *) fail "Python imported wedgeds from $(head -n 1 "$tmp/py.out"), not from $pydir" ;;
    esac
fi

# ---- the manual page --------------------------------------------------------------------
phase "man wedge"
page=$prefix/share/man/man1/wedge.1
where=$(installed man -w wedge 2>&1)
[ "$where" = "$page" ] || fail "man -w wedge: '$where', want $page"
installed man -w ls >/dev/null 2>&1 || fail "with the module loaded, man -w ls finds nothing: MANPATH hides the system's pages"
if command -v groff >/dev/null 2>&1; then
    groff -man -ww -z -Tutf8 "$page" >"$tmp/groff.err" 2>&1
    [ -s "$tmp/groff.err" ] && { fail "groff warns about wedge.1:"; indent "$tmp/groff.err"; }
fi
# wide lines: an option and its words stay on one line
installed env MANWIDTH=250 man wedge 2>"$tmp/man.err" | sed 's/.\x08//g' >"$tmp/man.txt"
if [ ! -s "$tmp/man.txt" ]; then
    fail "man wedge rendered nothing:"
    indent "$tmp/man.err"
else
    echo "man wedge: $(wc -l <"$tmp/man.txt") lines"
    grep -q "wedge $version" "$tmp/man.txt" || fail "man wedge does not show 'wedge $version'"
    for s in NAME SYNOPSIS DESCRIPTION COMMANDS 'EXIT STATUS' ENVIRONMENT FILES 'SEE ALSO'; do
        grep -qx "$s" "$tmp/man.txt" || fail "man wedge has no section $s"
    done
    # the commands `wedge --help` lists, each with a subsection "   wedge CMD"
    cmds=$(installed wedge --help | sed -n '/^commands:/,/^$/s/^  \([a-z][a-z]*\)  .*/\1/p')
    [ -n "$cmds" ] || fail "wedge --help lists no commands"
    for c in $cmds; do
        awk -v h="   wedge $c" '$0 == h { on = 1; next }
            on && (/^   wedge / || /^[A-Z]/) { exit } on' "$tmp/man.txt" >"$tmp/man-$c.txt"
        if [ ! -s "$tmp/man-$c.txt" ]; then
            fail "man wedge has no section for the command '$c'"
            continue
        fi
        opts=$(installed wedge "$c" --help 2>&1 | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u)
        missing=''
        for o in $opts; do
            grep -qF -- "$o" "$tmp/man-$c.txt" || missing="$missing $o"
        done
        [ -z "$missing" ] || fail "man wedge, section 'wedge $c', lacks the option(s)$missing of 'wedge $c --help'"
        echo "  wedge $c: $(echo "$opts" | grep -c .) options of --help, all in the page${missing:+ but$missing}"
    done
fi

# ---- Slurm ----------------------------------------------------------------------------------
phase "Slurm: the installed job scripts"
# job_field JOB NAME: a field of `scontrol show job`
job_field() {
    installed scontrol show job -o "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1
}
# wait_job JOB LIMIT: until JOB ends (job_state, job_exit), or cancel it after LIMIT s
wait_job() {
    local i st
    job_state='' job_exit=''
    for ((i = 0; i < $2; i++)); do
        st=$(job_field "$1" JobState)
        [ -n "$st" ] && { job_state=$st; job_exit=$(job_field "$1" ExitCode); }
        case "$st" in
        COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY | BOOT_FAIL | DEADLINE) return 0 ;;
        '') [ -n "$job_state" ] && return 0 ;; # forgotten already
        esac
        sleep 1
    done
    installed scancel "$1" 2>/dev/null
    job_state=HUNG
}
# check_job LABEL JOB DIR: the job ended well and completed the sweep in DIR
check_job() {
    local label=$1 jid=$2 dir=$3 log line
    wait_job "$jid" 150
    log=$(find "$dir" -maxdepth 1 -name "*-$jid.out" | head -n 1)
    echo "$label: job $jid $job_state, exit code $job_exit (at ${SECONDS} s)"
    local f0=$failures
    if [ "$job_state" != COMPLETED ] || [ "$job_exit" != 0:0 ]; then
        fail "$label: job $jid ended $job_state with exit code $job_exit, want COMPLETED 0:0"
    fi
    grep -q 'sweep complete' "$log" 2>/dev/null || fail "$label: the log does not say 'sweep complete'"
    grep -qF "$v_long ($prefix/bin/wedge; jobs/lib.sh of $share)" "$log" 2>/dev/null ||
        fail "$label: the log does not name the installed wedge and lib.sh ('$v_long ($prefix/bin/wedge; jobs/lib.sh of $share)')"
    line=$(installed wedge status "$dir/install-tiny.nc" 2>&1 | head -n 1)
    case "$line" in
    *"$n_tiny tasks: $n_tiny done, 0 failed, 0 diverged, 0 pending"*) ;;
    *) fail "$label: wedge status: '$line', want $n_tiny tasks all done" ;;
    esac
    if [ "$failures" -gt "$f0" ]; then
        echo "    ---- $log ----"
        indent "$log"
    fi
}

if [ "$(id -u)" -ne 0 ]; then
    echo "SKIPPED (this part only): the private Slurm needs root (slurmctld, slurmd, munged)"
else
    for b in sbatch scontrol scancel srun slurmctld slurmd munged; do
        command -v "$b" >/dev/null 2>&1 ||
            die "'$b' not found: install Debian's slurm-wlm and munge (tools/setup.sh does)"
    done
    # ports of our own, apart from those of tests/slurm and tests/cluster
    port=$((12000 + ($$ % 2000) * 2))
    if ! SLURMCTLD_PORT=$port SLURMD_PORT=$((port + 1)) \
        "$top_srcdir/tools/slurm-local-start.sh" "$sdir" >"$tmp/slurm.env" 2>"$tmp/slurm.err"; then
        slurm_up=1
        indent "$tmp/slurm.err"
        die "tools/slurm-local-start.sh failed"
    fi
    slurm_up=1
    SLURM_CONF=$(sed -n 's/^export SLURM_CONF=//p' "$tmp/slurm.env")
    [ -n "$SLURM_CONF" ] || die "tools/slurm-local-start.sh printed no SLURM_CONF"
    echo "local Slurm up (port $port) at ${SECONDS} s"

    # the 2-core node takes quickstart.sbatch as it is
    if installed sbatch --test-only "$share/jobs/quickstart.sbatch" >"$tmp/testonly.out" 2>&1; then
        echo "sbatch --test-only quickstart.sbatch: $(grep -o 'to start.*' "$tmp/testonly.out")"
    else
        fail "sbatch --test-only of the installed quickstart.sbatch is refused on this $(nproc)-CPU node:"
        indent "$tmp/testonly.out"
    fi

    # (1) the installed script, the module's environment, mpirun
    mkdir -p "$work/job1" "$work/job2"
    jid1=$(installed sbatch --parsable --chdir="$work/job1" --output="$work/job1/%x-%j.out" \
        --ntasks=3 --overcommit --cpus-per-task=2 --time=5 \
        --export=ALL,LAUNCH=mpirun,WEDGE_PROGRESS=5 "$share/jobs/wedge.sbatch" ../tiny.yaml 2>"$tmp/sbatch.err")
    jid1=${jid1%%;*}
    # (2) a copy of it, no WEDGE_HOME, no installed bindir on PATH, srun
    cp "$share/jobs/wedge.sbatch" "$work/my.sbatch"
    jid2=$( (cd "$work" && env -i HOME="$home" LANG=C.UTF-8 PATH=/usr/bin:/bin SLURM_CONF="$SLURM_CONF" \
        OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
        sbatch --parsable --chdir="$work/job2" --output="$work/job2/%x-%j.out" \
        --ntasks=3 --overcommit --cpus-per-task=2 --time=5 \
        --export=ALL,LAUNCH=srun,WEDGE_PROGRESS=5 my.sbatch ../tiny.yaml) 2>>"$tmp/sbatch.err")
    jid2=${jid2%%;*}
    if [ -z "$jid1" ] || [ -z "$jid2" ]; then
        fail "sbatch failed: $(cat "$tmp/sbatch.err")"
    fi
    [ -n "$jid1" ] && check_job "(1) installed wedge.sbatch, module environment, mpirun" "$jid1" "$work/job1"
    [ -n "$jid2" ] && check_job "(2) a copy, without WEDGE_HOME or the module, srun" "$jid2" "$work/job2"
    "$top_srcdir/tools/slurm-local-stop.sh" "$sdir" >/dev/null 2>&1
    slurm_up=
fi

# ---- uninstall ------------------------------------------------------------------------
phase "make uninstall prefix=$prefix"
# shellcheck disable=SC2086
if ! env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL $MAKE -C "$top_builddir" uninstall prefix="$prefix" \
    >"$tmp/uninstall.log" 2>&1; then
    indent "$tmp/uninstall.log"
    fail "make uninstall prefix=$prefix failed"
fi
left=$(find "$prefix" \( -type f -o -type l \) -print 2>/dev/null)
[ -z "$left" ] || fail "make uninstall left files behind: $(echo "$left" | head -n 20 | tr '\n' ' ')"
for d in "$share" "$prefix/share/doc/wedge" "$pydir/wedgeds"; do
    [ -e "$d" ] && fail "make uninstall left the directory $d"
done
echo "left after uninstall: $(find "$prefix" -type d | wc -l) empty directories of the prefix (bin, man1, ...)"
finish
