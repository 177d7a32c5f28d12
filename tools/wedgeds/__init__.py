"""wedgeds: read wedge sweep outputs (docs/output-format.md) with xarray and pandas.

Two ways in:

    >>> import wedgeds
    >>> ds = wedgeds.open("fig5-lr.nc")            # training rows, dims (lr, seed, epoch)
    >>> ds.sel(lr=1e-3, seed=0).test_accuracy      # one learning curve
    >>> tn = wedgeds.open("fig5-lr.nc", kind="tunnel")   # probe rows, by (lr, seed, probe_epoch)

(the same as ``xr.open_dataset(f, engine="wedge")`` once wedgeds is installed),
and the flat file as written, from which the frames of each figure are built:

    >>> flat = wedgeds.open_outputs(["part0.nc", "part1.nc"])   # several files of one sweep
    >>> wedgeds.status_counts(flat)                  # pandas DataFrame
    >>> tr = wedgeds.trainings(flat)                 # dims (lr, seed, epoch) + final_*
    >>> tw = wedgeds.tunnel_widths(flat, epoch="last")   # dims (lr, seed, level)
    >>> tw.phi_deg.sel(level=1.0).mean("seed")

Conventions
-----------
* Kind and status codes are never written here: they come from the file's
  ``flag_values``/``flag_meanings`` (``is_kind(ds, "tunnel")``,
  ``is_status(ds, "done")``); frames carry status names ("done", "failed").
* Char arrays (dataset, arch, ..., message) are decoded to ``str``.
* Swept keys (global attribute ``swept_keys``) name output variables; a swept
  ``data.name`` is the variable ``dataset``.  ``swept_keys(ds)`` returns them.
* A path that is not a readable wedge output raises ``OutputError`` ("PATH:
  problem"); the command-line tools print that one line and exit 1.

Modules: files (opening, combining), dataset (``open``, the indexed view),
backend (the xarray engine), flags, layout, training, tunnels, connectors,
subspaces, swa (frames per figure), spectra (Hessian counts and what they mean,
re-thresholding, calibration, densities), tables, labels, plotting, cli (what the
tools share), commands.* (the tools: wedge-summary, wedge-plot-fig5, ...).
"""

from .connectors import (NoConnectors, NoHessians, PATH_VARS, connector_frame,
                         connector_optima, connector_path, hessian_frame, same_settings)
from .dataset import kind_variables, open, select  # noqa: A004 -- wedgeds.open is the API
from .files import (OutputError, check_path, open_outputs, settings, sweep_spec, sweep_title,
                    swept_keys)
from .flags import codes, is_kind, is_status, kind_names, status_counts, status_names
from .layout import final_values, index_by_keys
from .spectra import (CannotCalibrate, Count, TaskSpectrum, aggregate, calibrate,
                      negative_warnings, slq_bias, slq_estimate, spectral_density, stored_count,
                      task_spectra, threshold_for_count)
from .subspaces import (NoSubspaces, REACH_TOL, SUBSPACE_STATS, d_int, intrinsic_dims,
                        subspace_frame)
from .swa import NoSwa, SWA_METRICS, swa_frame
from .tables import fmt, kv, median_inf, pm, print_table
from .training import (CHANCE_MARGIN, TRAIN_STATS, chance_accuracy, did_not_learn,
                       learning_curves, training_frame, trainings)
from .tunnels import NoProbes, level_label, pick_level, tunnel_widths

__all__ = [
    "open", "select", "kind_variables", "open_outputs", "OutputError", "check_path",
    "settings", "sweep_spec", "sweep_title", "swept_keys",
    "codes", "is_kind", "is_status", "kind_names", "status_names", "status_counts",
    "final_values", "index_by_keys",
    "TRAIN_STATS", "CHANCE_MARGIN", "trainings", "training_frame", "learning_curves",
    "did_not_learn", "chance_accuracy",
    "NoProbes", "tunnel_widths", "pick_level", "level_label",
    "NoConnectors", "NoHessians", "PATH_VARS", "connector_optima", "connector_frame",
    "connector_path", "hessian_frame", "same_settings",
    "Count", "TaskSpectrum", "task_spectra", "stored_count", "aggregate", "slq_estimate", "slq_bias",
    "threshold_for_count", "calibrate", "CannotCalibrate", "negative_warnings",
    "spectral_density",
    "NoSubspaces", "SUBSPACE_STATS", "REACH_TOL", "subspace_frame", "d_int", "intrinsic_dims",
    "NoSwa", "SWA_METRICS", "swa_frame",
    "fmt", "kv", "pm", "print_table", "median_inf",
]
