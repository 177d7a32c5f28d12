#!/usr/bin/python3
"""merge.py: combine several outputs of the SAME sweep into one NetCDF file.

Array jobs, or runs of one sweep on different machines, each leave a file in which
some tasks are done.  merge.py copies the first input, then takes every task row
that is done (or failed/diverged) in a later input and still pending in the result,
variable by variable along the `task` dimension, so the schema and attributes
stay exactly those wedge writes.  Inputs written by a different sweep (another
sweep_sha256) are refused.

    tools/merge.py OUT.nc IN1.nc IN2.nc [...]
"""
import argparse
import shutil
import sys

import netCDF4
import numpy as np

PENDING = 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("output")
    ap.add_argument("inputs", nargs="+")
    ap.add_argument("--force", action="store_true", help="overwrite OUTPUT if it exists")
    a = ap.parse_args()
    if a.output in a.inputs:
        sys.exit("merge.py: the output must not be one of the inputs")
    import os
    if os.path.exists(a.output) and not a.force:
        sys.exit(f"merge.py: {a.output} exists (pass --force to overwrite it)")
    shutil.copyfile(a.inputs[0], a.output)
    taken = {a.inputs[0]: 0}
    with netCDF4.Dataset(a.output, "a") as out:
        out.set_auto_mask(False)
        sha = out.getncattr("sweep_sha256")
        status = out["status"][:].astype(np.int8)
        for path in a.inputs[1:]:
            with netCDF4.Dataset(path) as inp:
                inp.set_auto_mask(False)
                if inp.getncattr("sweep_sha256") != sha:
                    sys.exit(f"merge.py: {path} was written by a different sweep than "
                             f"{a.inputs[0]} (sweep_sha256 differs)")
                if inp.dimensions["task"].size != out.dimensions["task"].size:
                    sys.exit(f"merge.py: {path} has a different number of tasks")
                s = inp["status"][:].astype(np.int8)
                rows = np.flatnonzero((status == PENDING) & (s != PENDING))
                for name, var in inp.variables.items():
                    if not var.dimensions or var.dimensions[0] != "task":
                        continue
                    if name == "status":
                        continue  # last, as wedge does: a row marked done is complete
                    for t in rows:
                        out[name][t, ...] = var[t, ...]
                for t in rows:
                    out["status"][t] = s[t]
                status[rows] = s[rows]
                taken[path] = len(rows)
        hist = out.getncattr("history") if "history" in out.ncattrs() else ""
        out.setncattr("history", (hist + "\n" if hist else "") +
                      "merge.py " + " ".join(a.inputs))
        n = len(status)
        counts = {k: int((status == v).sum()) for k, v in
                  (("done", 1), ("failed", 2), ("diverged", 3), ("pending", 0))}
    for path, k in taken.items():
        print(f"{path}: {'base' if k == 0 and path == a.inputs[0] else f'{k} rows'}")
    print(f"{a.output}: {n} tasks: " + ", ".join(f"{v} {k}" for k, v in counts.items()))


if __name__ == "__main__":
    main()
