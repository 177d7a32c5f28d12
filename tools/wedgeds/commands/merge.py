"""wedge-merge: combine several outputs of the SAME sweep into one NetCDF file.

usage: wedge-merge OUT.nc IN1.nc IN2.nc [...] [--force]

Array jobs, or runs of one sweep on different machines, each leave a file in
which some tasks are done.  For every task, wedge-merge takes the row of the
input where it is done (else diverged, else failed, else pending; the earliest
input wins a tie), variable by variable along the `task` dimension, so the schema
and attributes stay exactly those wedge writes (the first input's).

Every input is checked before anything is written: each must be a readable
wedge output, and all must come from one sweep (equal sweep_sha256), with the
same tasks, variables and flags.  The result is written to a temporary file in
OUT's directory and renamed to OUT at the end, so OUT is either the old file or
the complete new one.  OUT must not be an input; an existing OUT needs --force.

Exit status: 0 written, 1 an input that is not a readable wedge output or not
of the same sweep, or OUT cannot be written; 2 bad arguments.
"""

import os
import shutil
import tempfile

import numpy as np

from .. import cli, flags
from ..files import OutputError, _short, check_path

PROG = "wedge-merge"


class _Input:
    """What merge needs to know of one input, read and checked up front."""

    def __init__(self, path):
        import netCDF4
        check_path(path)
        self.path = path
        try:
            with netCDF4.Dataset(path) as f:
                f.set_auto_mask(False)
                if "task" not in f.dimensions:
                    raise OutputError(path, "not a wedge output (no 'task' dimension)")
                for v in ("kind", "status"):
                    if v not in f.variables or f[v].dimensions != ("task",):
                        raise OutputError(path, f"not a wedge output (no '{v}' variable "
                                                "along task)")
                try:
                    self.kinds = flags.flag_table(f["kind"].__dict__, "variable 'kind'")
                    self.stats = flags.flag_table(f["status"].__dict__, "variable 'status'")
                except ValueError as e:
                    raise OutputError(path, f"not a wedge output ({e})") from None
                if "sweep_sha256" not in f.ncattrs():
                    raise OutputError(path, "not a wedge output (no sweep_sha256 attribute)")
                self.sha = f.getncattr("sweep_sha256")
                self.ntask = f.dimensions["task"].size
                self.schema = {n: (v.dimensions, v.shape, str(v.dtype))
                               for n, v in f.variables.items()}
                self.status = np.asarray(f["status"][:]).astype(int)
        except OutputError:
            raise
        except Exception as e:  # noqa: BLE001 -- anything the NetCDF/HDF5 layer raises
            raise OutputError(path, "cannot be read as NetCDF (truncated or damaged?): "
                                    f"{_short(e)}") from None


def _rank(inp):
    """Preference of each row: higher is better (flags.STATUS_PREFERENCE)."""
    order = {n: len(flags.STATUS_PREFERENCE) - r for r, n in enumerate(flags.STATUS_PREFERENCE)}
    back = {v: k for k, v in inp.stats.items()}
    return np.array([order.get(back.get(int(s)), 0) for s in inp.status])


def _run(argv):
    ap = cli.parser(PROG, __doc__)
    ap.add_argument("output", metavar="OUT.nc")
    ap.add_argument("inputs", nargs="+", metavar="IN.nc")
    ap.add_argument("--force", action="store_true", help="overwrite OUT.nc if it exists")
    a = ap.parse_args(argv)
    for p in a.inputs:
        if os.path.abspath(p) == os.path.abspath(a.output) or \
                (os.path.exists(p) and os.path.exists(a.output) and os.path.samefile(p, a.output)):
            cli.die(f"{a.output}: the output must not be one of the inputs")
    if os.path.isdir(a.output):
        cli.die(f"{a.output}: is a directory", 1)
    if os.path.lexists(a.output) and not a.force:
        cli.die(f"{a.output}: exists (pass --force to overwrite it)", 1)

    # ---- every input checked before anything is written
    inputs = [_Input(p) for p in a.inputs]
    first = inputs[0]
    for inp in inputs[1:]:
        if inp.sha != first.sha:
            raise OutputError(inp.path, f"written by a different sweep than {first.path} "
                                        f"(sweep_sha256 {inp.sha[:12]}... != {first.sha[:12]}...)")
        if inp.ntask != first.ntask:
            raise OutputError(inp.path, f"{inp.ntask} tasks, {first.path} has {first.ntask}")
        if inp.kinds != first.kinds or inp.stats != first.stats:
            raise OutputError(inp.path, f"its kind/status flags differ from {first.path}'s")
        if inp.schema != first.schema:
            diff = sorted(set(inp.schema.items()) ^ set(first.schema.items()))
            raise OutputError(inp.path, f"its variables differ from {first.path}'s "
                                        f"(e.g. '{diff[0][0]}')")
    rank = np.stack([_rank(inp) for inp in inputs])
    pick = np.argmax(rank, axis=0)  # the first maximum: the earliest input wins ties

    # ---- write a temporary copy in OUT's directory, then rename it
    import netCDF4
    outdir = os.path.dirname(os.path.abspath(a.output))
    try:
        fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(a.output) + ".",
                                   suffix=".tmp", dir=outdir)
    except OSError as e:
        cli.die(f"{a.output}: cannot write in {outdir}: {e.strerror or e}", 1)
    os.close(fd)
    try:
        shutil.copyfile(first.path, tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        taken = {}
        with netCDF4.Dataset(tmp, "a") as out:
            out.set_auto_mask(False)
            for k, inp in enumerate(inputs[1:], start=1):
                rows = np.flatnonzero(pick == k)
                taken[inp.path] = len(rows)
                if not rows.size:
                    continue
                with netCDF4.Dataset(inp.path) as src:
                    src.set_auto_mask(False)
                    for name, var in src.variables.items():
                        if not var.dimensions or var.dimensions[0] != "task" or name == "status":
                            continue
                        for t in rows:
                            out[name][t, ...] = var[t, ...]
                    st = out["status"][:]
                    st[rows] = src["status"][:][rows]
                    out["status"][:] = st  # last, as wedge does: a row marked done is complete
            hist = out.getncattr("history") if "history" in out.ncattrs() else ""
            out.setncattr("history", (hist + "\n" if hist else "") +
                          f"{PROG} " + " ".join(a.inputs))
            status = np.asarray(out["status"][:]).astype(int)
        os.replace(tmp, a.output)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(e, OSError):
            cli.die(f"{a.output}: cannot write: {e.strerror or e}", 1)
        raise
    print(f"{first.path}: base, {int((pick == 0).sum())} rows")
    for path, n in taken.items():
        print(f"{path}: {n} rows")
    counts = ", ".join(f"{int((status == v).sum())} {k}" for k, v in first.stats.items()
                       if (status == v).any())
    print(f"{a.output}: {len(status)} tasks: {counts}")
    return 0


def main(argv=None):
    return cli.command(PROG, _run, argv)
