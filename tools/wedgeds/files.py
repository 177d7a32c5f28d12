"""Opening wedge outputs: checking a path is one, reading it, combining several.

``open_outputs`` gives the flat dataset every frame of wedgeds starts from: the
file as written (dimension ``task``, docs/output-format.md) with char arrays
decoded to str and the settings as coordinates.  Anything that is not a readable
wedge output -- a missing path, a directory, an empty or truncated file, a YAML
sweep passed by mistake, another program's NetCDF file -- raises ``OutputError``
naming the file and the problem, never a library's traceback.  The indexed view
for plain xarray use is in dataset.py.
"""

import os

import numpy as np
import xarray as xr

from . import flags

__all__ = ["OutputError", "check_path", "open_outputs", "swept_keys", "settings",
           "sweep_spec", "sweep_title"]

# swept key (last component of the sweep key) -> output variable, where they differ
_KEY_TO_VAR = {"name": "dataset"}
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_CDF_MAGIC = (b"CDF\x01", b"CDF\x02", b"CDF\x05")


class OutputError(ValueError):
    """A path that is not a readable wedge output; ``str()`` is "PATH: problem"."""

    def __init__(self, path, problem):
        self.path = os.fspath(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


def _looks_like_yaml(path, head):
    if os.path.splitext(path)[1].lower() in (".yaml", ".yml"):
        return True
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    return bool(lines) and any(ln.split(":")[0].strip() in ("name", "sweep", "train", "model",
                                                           "data", "probes")
                               and ":" in ln for ln in lines)


def check_path(path):
    """Raise OutputError unless ``path`` is a file that starts like a NetCDF file.

    Catches what can be told without a NetCDF library: no such file, a directory,
    an unreadable or empty file, a YAML sweep, any other non-NetCDF file.
    """
    p = os.fspath(path)
    if not os.path.lexists(p) or (os.path.islink(p) and not os.path.exists(p)):
        raise OutputError(p, "no such file")
    if os.path.isdir(p):
        raise OutputError(p, "is a directory, not a wedge output file")
    if not os.path.isfile(p):
        raise OutputError(p, "not a regular file")
    try:
        with open(p, "rb") as f:
            head = f.read(4096)
            size = os.fstat(f.fileno()).st_size
    except OSError as e:
        raise OutputError(p, f"cannot read: {e.strerror or e}") from None
    if size == 0:
        raise OutputError(p, "empty file (0 bytes), not a wedge output")
    hdf5 = any(head[o:o + 8] == _HDF5_MAGIC for o in (0, 512, 1024, 2048)) or \
        _hdf5_at_userblock(p, size)
    if hdf5 or head[:4] in _CDF_MAGIC:
        return
    if _looks_like_yaml(p, head):
        raise OutputError(p, "a YAML sweep, not an output: run it with `wedge run "
                             f"{os.path.basename(p)}` and pass the .nc file it writes")
    raise OutputError(p, "not a NetCDF file (no NetCDF or HDF5 signature)")


def _hdf5_at_userblock(p, size):
    """HDF5 allows a user block of 512 * 2^k bytes before its signature."""
    off = 4096
    try:
        with open(p, "rb") as f:
            while off + 8 <= size:
                f.seek(off)
                if f.read(8) == _HDF5_MAGIC:
                    return True
                off *= 2
    except OSError:
        return False
    return False


def _decode_chars(ds):
    """Char arrays (bytes after xarray's decoding) -> str, in place."""
    for name in list(ds.variables):
        v = ds[name]
        if v.dtype.kind == "S":
            txt = np.char.decode(v.values, "utf-8", errors="replace")
            txt = np.char.rstrip(txt, "\0 ")
            enc = v.encoding
            if name in ds.coords:
                ds.coords[name] = (v.dims, txt, v.attrs)
            else:
                ds[name] = (v.dims, txt, v.attrs)
            ds[name].encoding = enc
    return ds


def _check_wedge(ds, p):
    """Raise OutputError unless ``ds`` has the layout of a wedge output."""
    if "task" not in ds.dims:
        raise OutputError(p, "not a wedge output (no 'task' dimension)")
    for v in ("kind", "status"):
        if v not in ds.variables or ds[v].dims != ("task",):
            raise OutputError(p, f"not a wedge output (no '{v}' variable along task)")
        try:
            flags.codes(ds, v)
        except ValueError as e:
            raise OutputError(p, f"not a wedge output ({e})") from None


def _open_one(path, params):
    p = os.fspath(path)
    check_path(p)
    try:
        f = xr.open_dataset(p, engine="netcdf4")
    except Exception as e:  # noqa: BLE001 -- anything the NetCDF/HDF5 layer raises
        raise OutputError(p, f"cannot be read as NetCDF (truncated or damaged?): "
                             f"{_short(e)}") from None
    try:
        _check_wedge(f, p)
        if not params and "params" in f.variables:
            f = f.drop_vars("params")
        try:
            ds = f.load()
        except Exception as e:  # noqa: BLE001 -- a truncated file fails only here
            raise OutputError(p, f"cannot read its data (truncated or damaged?): "
                                 f"{_short(e)}") from None
    finally:
        f.close()
    _decode_chars(ds)
    names = settings(ds)
    ds = ds.set_coords([n for n in names if n in ds.data_vars])
    ds.attrs["wedgeds_sources"] = p
    return ds


def _short(e):
    """A library's error in a few words (an OSError's strerror without the path)."""
    if isinstance(e, OSError) and e.strerror:
        return e.strerror
    msg = str(e).splitlines()[0] if str(e) else type(e).__name__
    return msg.replace("b'", "'")


def settings(ds):
    """The settings every row carries (hyperparameters such as lr, seed, arch and
    ``kind``), as the file names them: the CF ``coordinates`` attribute of
    ``status``, else the variables xarray already made coordinates along task."""
    coord = ds["status"].encoding.get("coordinates") or ds["status"].attrs.get("coordinates")
    if coord:
        return [n for n in str(coord).split() if n in ds.variables]
    return [n for n in ds.coords if ds[n].dims == ("task",) and n != "task"]


def open_outputs(paths, params=False):
    """Open one or several wedge outputs of one sweep as one flat xarray Dataset.

    ``paths``: a path or a list of paths.  Several files must come from the same
    sweep (equal ``sweep_sha256`` and task count, e.g. the files of array jobs);
    for each task the best row is taken (done, else diverged, failed, pending;
    the first file wins ties).  ``params=False`` (default) leaves out the large
    ``params`` variable.  Raises OutputError for a path that is not a readable
    wedge output or a file of another sweep.

        >>> ds = open_outputs(["part0.nc", "part1.nc"])
        >>> int(is_status(ds, "done").sum())
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    paths = [os.fspath(p) for p in paths]
    if not paths:
        raise ValueError("open_outputs: no files")
    dsets = [_open_one(p, params) for p in paths]
    if len(dsets) == 1:
        return dsets[0]
    first = dsets[0]
    sha = first.attrs.get("sweep_sha256")
    for p, d in zip(paths[1:], dsets[1:]):
        if d.attrs.get("sweep_sha256") != sha:
            raise OutputError(p, f"not the same sweep as {paths[0]} (sweep_sha256 "
                                 f"{d.attrs.get('sweep_sha256')} != {sha})")
        if dict(d.sizes) != dict(first.sizes):
            raise OutputError(p, f"dimensions {dict(d.sizes)} differ from "
                                 f"{paths[0]}'s {dict(first.sizes)}")
        for v in ("kind", "status"):
            if flags.codes(d, v) != flags.codes(first, v):
                raise OutputError(p, f"its '{v}' flags differ from {paths[0]}'s")
    order = {n: len(flags.STATUS_PREFERENCE) - r for r, n in enumerate(flags.STATUS_PREFERENCE)}
    rank = np.stack([np.vectorize(lambda s: order.get(s, 0))(flags.status_names(d))
                     for d in dsets])
    pick = np.argmax(rank, axis=0)  # the first maximum: the first file wins ties
    cols = np.arange(first.sizes["task"])
    out = first.copy(deep=True)
    for name in list(first.variables):
        v = first[name]
        if "task" not in v.dims or name == "task":
            continue
        ax = v.dims.index("task")
        stack = np.stack([np.moveaxis(d[name].values, ax, 0) for d in dsets])
        vals = np.moveaxis(stack[pick, cols], 0, ax)
        if name in out.coords:
            out.coords[name] = (v.dims, vals, v.attrs)
        else:
            out[name] = (v.dims, vals, v.attrs)
        out[name].encoding = v.encoding
    out.attrs["wedgeds_sources"] = " ".join(paths)
    return out


def swept_keys(ds):
    """The swept keys as output variable names, outermost first (e.g. ['lr', 'seed']).
    A swept ``data.name`` is the variable ``dataset``; a key with no variable is left out."""
    keys = []
    for k in str(ds.attrs.get("swept_keys", "")).split():
        v = _KEY_TO_VAR.get(k.split(".")[-1], k.split(".")[-1])
        if v in ds.variables and v not in keys:
            keys.append(v)
    return keys


def sweep_spec(ds):
    """The sweep as a dict, parsed from the ``sweep_text`` attribute ({} if there is
    none, or PyYAML is missing or cannot read it)."""
    txt = ds.attrs.get("sweep_text", "")
    if not txt:
        return {}
    try:
        import yaml
        spec = yaml.safe_load(txt)
    except Exception:  # noqa: BLE001 -- no PyYAML, or text it does not read
        return {}
    return spec if isinstance(spec, dict) else {}


def sweep_title(ds, fallback=None):
    """A title for tables and figures: the sweep's description (a ``description``
    global attribute, or ``description:`` in the sweep text) if it has one, else its name (the ``title`` attribute), else ``fallback`` (e.g. a file name)."""
    desc = ds.attrs.get("description") or sweep_spec(ds).get("description")
    if isinstance(desc, str) and desc.strip():
        return " ".join(desc.split())
    return ds.attrs.get("title") or fallback or "wedge sweep"
