#!/usr/bin/env bash
# Install the Debian packages wedge needs to build, test, run on the default data and
# plot, the Slurm daemons the job-script tests start on loopback, and what the
# installation test reads the manual page and loads the modulefile with.  Idempotent:
# when everything is present it only checks and returns.
#
#   tools/setup.sh            build + tests + default data + plotting
#   tools/setup.sh --bench    also PyTorch, for tools/bench-torch.py
set -euo pipefail

pkgs=(
  build-essential autoconf automake libtool pkg-config
  libopenmpi-dev openmpi-bin
  libopenblas-dev
  libnetcdf-mpi-dev netcdf-bin
  libyaml-dev libcmocka-dev zlib1g-dev
  dataset-fashion-mnist
  python3 python3-netcdf4 python3-xarray python3-matplotlib python3-numpy libudunits2-0
  slurm-wlm munge
  man-db groff-base
)
# a module system for the installed modulefile (tests/install): Environment
# Modules, unless Lmod (which reads the same Tcl files, and which Debian will not
# install beside it) is there already
if ! dpkg-query -W -f='${Status}' lmod 2>/dev/null | grep -q "install ok installed"; then
  pkgs+=(environment-modules)
fi
for arg in "$@"; do
  case "$arg" in
    --bench) pkgs+=(python3-torch) ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown option '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#pkgs[@]} packages present"
  exit 0
fi
echo "setup: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "setup: done"
