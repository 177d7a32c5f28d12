"""The xarray backend "wedge": ``xr.open_dataset(f, engine="wedge")`` = ``wedgeds.open(f)``.

Registered under the entry-point group "xarray.backends" by the installed
``wedgeds-<version>.dist-info/entry_points.txt``.  xarray imports every
registered backend whenever it opens any file, so this module imports nothing
heavy until a wedge file is actually opened, and never claims a file by itself
(``guess_can_open`` is False): plain ``xr.open_dataset(f)`` keeps giving the file
as written, with its ``task`` dimension.
"""

from xarray.backends import BackendEntrypoint

__all__ = ["WedgeBackendEntrypoint"]


class WedgeBackendEntrypoint(BackendEntrypoint):
    """``xr.open_dataset(path, engine="wedge", kind="train", params=False)``:
    the rows of one kind indexed by the swept keys (wedgeds.dataset.open)."""

    open_dataset_parameters = ("filename_or_obj", "drop_variables", "kind", "params",
                               "unstack")
    description = "wedge sweep outputs: the rows of one task kind indexed by the swept keys"

    def open_dataset(self, filename_or_obj, *, drop_variables=None, kind="train",
                     params=False, unstack=True):
        from .dataset import open as wedge_open
        ds = wedge_open(filename_or_obj, kind=kind, params=params, unstack=unstack)
        if drop_variables:
            ds = ds.drop_vars([v for v in drop_variables if v in ds.variables])
        return ds

    def guess_can_open(self, filename_or_obj):
        return False
