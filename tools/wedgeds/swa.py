"""Stochastic weight averaging against prediction averaging (Figure 6): the swa rows.

Each swa task restarts from a trained optimum theta0 with a cyclic learning rate,
keeps the M cycle-end snapshots, and evaluates them, their weight average (SWA)
and the average of their softmax predictions.  ``swa_frame`` gives one pandas
row per task with the pairwise geometry of the snapshots reduced to means.
"""

import numpy as np
import pandas as pd

from . import flags
from .files import swept_keys

__all__ = ["NoSwa", "SWA_METRICS", "swa_frame"]

# (column, file variable): theta0, the weight average, the averaged predictions
SWA_METRICS = [(f"{who}_{split}_{q}", f"{pre}{split}_{q}")
               for who, pre in (("start", "swa_start_"), ("swa", "swa_"), ("ens", "ensemble_"))
               for split in ("test", "train") for q in ("loss", "accuracy")]


class NoSwa(ValueError):
    """The output has no swa tasks (``probes: swa:``)."""


def _offdiag_mean(m, n):
    """Mean of the off-diagonal entries of the leading n x n block of m (NaN if n < 2)."""
    if n < 2:
        return float("nan")
    b = np.asarray(m[:n, :n], dtype=float)
    return float(b[~np.eye(n, dtype=bool)].mean())


def swa_frame(ds):
    """One row per swa task (pandas DataFrame) for tables and plots of Figure 6.

    Columns: task_id, status, source_task (the pre-training), the swept keys,
    lr_max (``swa_lr_max``), cycles (M); start_/swa_/ens_ + test/train + _loss /
    _accuracy: the pre-trained point theta0, the weight average (SWA) and the
    averaged predictions (``SWA_METRICS`` maps them to the file's variables);
    snap_test_loss, snap_test_accuracy, snap_train_loss, snap_train_accuracy:
    the mean over the M snapshots; snap_test_accuracy_min/_max; distance and
    cosine: the mean over pairs i != j of ``swa_distance`` / ``swa_cosine``;
    delta_cosine (``swa_delta_cosine``, displacements from theta0);
    start_distance: mean |theta_i - theta0|.  Measurements are NaN unless the
    task is done.  Raises NoSwa if the output has no swa tasks.

        >>> df = swa_frame(ds)
        >>> df.groupby("lr_max")[["swa_test_accuracy", "ens_test_accuracy"]].mean()
    """
    is_swa = flags.is_kind(ds, "swa")
    if "swa_lr_max" not in ds or not is_swa.any():
        raise NoSwa("the output has no swa tasks (probes: swa:)")
    rows = np.flatnonzero(is_swa)
    status = flags.status_names(ds)
    keys = swept_keys(ds)
    nan = float("nan")
    out = []
    for i in rows:
        done = status[i] == "done"
        m = float(ds.swa_cycles.values[i])  # NaN (masked -1) on a row not yet run
        M = int(m) if np.isfinite(m) else 0
        r = {"task_id": int(ds.task.values[i]), "status": status[i],
             "source_task": int(ds.source_task.values[i])}
        for k in keys:
            r[k] = ds[k].values[i]
        r["lr_max"] = float(ds.swa_lr_max.values[i])
        r["cycles"] = M
        for col, var in SWA_METRICS:
            r[col] = float(ds[var].values[i]) if done else nan
        for q in ("test_loss", "test_accuracy", "train_loss", "train_accuracy"):
            v = ds[f"swa_snapshot_{q}"].values[i, :M]
            r[f"snap_{q}"] = float(np.mean(v)) if done else nan
        acc = ds.swa_snapshot_test_accuracy.values[i, :M]
        r["snap_test_accuracy_min"] = float(np.min(acc)) if done else nan
        r["snap_test_accuracy_max"] = float(np.max(acc)) if done else nan
        r["distance"] = _offdiag_mean(ds.swa_distance.values[i], M) if done else nan
        r["cosine"] = _offdiag_mean(ds.swa_cosine.values[i], M) if done else nan
        r["delta_cosine"] = _offdiag_mean(ds.swa_delta_cosine.values[i], M) if done else nan
        sd = ds.swa_snapshot_start_distance.values[i, :M]
        r["start_distance"] = float(np.mean(sd)) if done else nan
        out.append(r)
    return pd.DataFrame(out)
