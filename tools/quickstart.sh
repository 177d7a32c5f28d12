#!/usr/bin/env bash
# quickstart.sh: set up (Debian packages), build, run the quickstart sweep under
# mpirun (rank 0 schedules, two workers train and probe), and plot it.
# Leaves quickstart.nc and quickstart-fig5.png in the current directory.
#   tools/quickstart.sh [RANKS]      (default 3 = 1 scheduler + 2 workers)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
ranks=${1:-3}
"$top/tools/setup.sh"
cd "$top"
[ -x configure ] || autoreconf -fi
[ -f Makefile ] || ./configure
make -j"$(nproc)"
out_dir=${OLDPWD:-$top}
cd "$out_dir"
root=()
[ "$(id -u)" -eq 0 ] && root=(--allow-run-as-root)
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
mpirun "${root[@]}" --oversubscribe -np "$ranks" "$top/wedge" run "$top/sweeps/quickstart.yaml" \
  -o quickstart.nc --force --progress 15
"$top/wedge" status quickstart.nc
/usr/bin/python3 "$top/tools/plot-fig5.py" quickstart.nc -o quickstart-fig5.png
echo
echo "results: $out_dir/quickstart.nc (NetCDF: ncdump -h, xarray)"
echo "plot:    $out_dir/quickstart-fig5.png"
