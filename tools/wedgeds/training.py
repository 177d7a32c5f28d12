"""Frames of the training rows: final metrics, learning curves, "did not learn".

``trainings`` is the xarray view (dims: the swept keys and epoch) with each
task's final-epoch metrics added; ``training_frame`` is one pandas row per
training for tables, joined with its tunnel width when asked; ``learning_curves``
aggregates the per-epoch statistics over seeds; ``did_not_learn`` marks done
trainings that finished worse than they started or no better than chance.
"""

import math

import numpy as np
import pandas as pd

from . import flags
from .dataset import select
from .files import swept_keys
from .layout import final_values

__all__ = ["TRAIN_STATS", "trainings", "training_frame", "learning_curves", "did_not_learn",
           "chance_accuracy", "CHANCE_MARGIN"]

# per-epoch training statistics; final_<name> is added by trainings()
TRAIN_STATS = ["train_loss", "train_accuracy", "test_loss", "test_accuracy", "param_norm"]
# "at chance": final test accuracy <= 1/classes + CHANCE_MARGIN (absolute)
CHANCE_MARGIN = 0.02
# Classes of a dataset, where the output does not say (it records no class count
# yet): every dataset wedge reads has 10 but CIFAR-100.
_CLASSES = {"cifar100": 100}


def _finals(flat):
    done = flags.is_status(flat, "done")
    out = {}
    for s in TRAIN_STATS:
        if s in flat:
            f = final_values(flat[s].values, flat.epochs.values)
            f[~done] = np.nan
            out[f"final_{s}"] = ("task", f, dict(flat[s].attrs,
                                                 long_name=f"final-epoch {s} (done tasks)"))
    return out


def trainings(ds, unstack=True):
    """The training rows of a flat output, indexed by the swept keys, with
    ``final_<stat>`` for stat in TRAIN_STATS: the value at the task's last epoch,
    NaN unless the task is done.  Dims e.g. (lr, seed, epoch) for a sweep over lr
    and seed (a MultiIndex on ``task`` if the swept values are no full product or
    ``unstack`` is false); constant settings are attributes (dataset.select).

        >>> tr = trainings(open_outputs("fig5-lr.nc"))
        >>> tr.final_test_accuracy.mean("seed").to_series()
    """
    return select(ds, "train", unstack=unstack, add=_finals)


def chance_accuracy(ds, rows=None):
    """1/classes for each row (or the rows ``rows``): from a ``classes`` variable if
    the output has one, else from an absolute tunnel level (ln classes), else from
    the dataset's name (CIFAR-100: 100 classes, every other dataset: 10)."""
    n = ds.sizes["task"]
    rows = np.arange(n) if rows is None else np.asarray(rows)
    if "classes" in ds.variables and ds["classes"].dims == ("task",):
        c = np.asarray(ds["classes"].values, dtype=float)[rows]
        return np.where(c > 0, 1.0 / c, np.nan)
    if "level_is_absolute" in ds.variables and (np.asarray(ds.level_is_absolute.values) == 1).any():
        lvl = float(ds.level.values[np.flatnonzero(np.asarray(ds.level_is_absolute.values) == 1)[0]])
        return np.full(rows.size, 1.0 / round(math.exp(lvl)))
    names = ds["dataset"].values[rows] if "dataset" in ds.variables else [""] * rows.size
    return np.array([1.0 / _CLASSES.get(str(d), 10) for d in names])


def training_frame(ds, level=None, epoch="last", margin=CHANCE_MARGIN):
    """One row per training task (pandas DataFrame) for tables and plots.

    Columns: the swept keys, task_id, status (its name), final_<stat>,
    first_train_loss (epoch 1), chance (1/classes) and the did_not_learn columns
    (``did_not_learn``), and, when ``level`` is given and the output has tunnel
    probes, probe_epoch, phi_deg, distance, probe_complete of the probe at
    ``epoch`` ("last", an int) and that level (phi_deg/distance NaN unless the
    probe is complete).  ``df.attrs['level']`` is the chosen level value (None
    without probes).

        >>> df = training_frame(ds, level=1.0)
        >>> df.groupby("lr").phi_deg.agg(["mean", "std", "count"])
    """
    from .tunnels import NoProbes, pick_level, tunnel_widths
    rows = np.flatnonzero(flags.is_kind(ds, "train"))
    flat = ds.isel(task=rows)
    df = pd.DataFrame({k: np.asarray(flat[k].values) for k in swept_keys(ds)})
    df["task_id"] = flat.task.values.astype(int)
    df["status"] = flags.status_names(flat)
    for n, (_, v, _) in _finals(flat).items():
        df[n] = v
    dnl = did_not_learn(ds, margin)
    df = df.merge(dnl[["task_id", "first_train_loss", "chance", "loss_rose", "at_chance",
                       "did_not_learn"]], on="task_id", how="left")
    df.attrs["level"] = None
    if level is None:
        return df
    try:
        tw = tunnel_widths(ds, epoch=epoch, unstack=False)
    except NoProbes:
        return df
    lv = pick_level(tw, level)
    t = tw.sel(level=lv)
    pf = pd.DataFrame({"task_id": t.source_task.values,
                       "probe_epoch": t.probe_epoch.values,
                       "probe_complete": t.complete.values,
                       "phi_deg": np.where(t.complete.values, t.phi_deg.values, np.nan),
                       "distance": np.where(t.complete.values, t.distance.values, np.nan)})
    df = df.merge(pf, on="task_id", how="left")
    df["probe_complete"] = df["probe_complete"].fillna(False).astype(bool)
    df.attrs["level"] = float(lv)
    return df


def did_not_learn(ds, margin=CHANCE_MARGIN):
    """Which done trainings did not learn (pandas DataFrame, one row per training).

    A done training did not learn when its final training loss is above its
    first epoch's (``loss_rose``), or its final test accuracy is at or below
    chance: <= 1/classes + ``margin`` (``at_chance``; never on the toy model,
    which has no accuracy).  Columns: task_id, status, first_train_loss,
    final_train_loss, final_test_accuracy, chance, loss_rose, at_chance,
    did_not_learn (False for trainings not done: diverged and failed ones are
    reported by their status).
    """
    rows = np.flatnonzero(flags.is_kind(ds, "train"))
    flat = ds.isel(task=rows)
    done = flags.is_status(flat, "done")
    ep = flat.epochs.values
    first = np.asarray(flat.train_loss.values, dtype=float)[:, 0].copy()
    last = final_values(flat.train_loss.values, ep)
    acc = final_values(flat.test_accuracy.values, ep)
    first[~done], last[~done], acc[~done] = np.nan, np.nan, np.nan
    chance = chance_accuracy(ds, rows)
    with np.errstate(invalid="ignore"):
        rose = done & (last > first)
        at = done & np.isfinite(acc) & (acc <= chance + margin)
    return pd.DataFrame({"task_id": flat.task.values.astype(int),
                         "status": flags.status_names(flat),
                         "first_train_loss": first, "final_train_loss": last,
                         "final_test_accuracy": acc, "chance": chance,
                         "loss_rose": rose, "at_chance": at, "did_not_learn": rose | at})


def learning_curves(ds, spread="minmax"):
    """Per-epoch statistics of the done trainings, aggregated over seeds (long
    pandas DataFrame).

    One row per (setting, quantity, epoch), a setting being the values of the
    swept keys other than seed.  Columns: those keys, quantity (a TRAIN_STATS
    name), epoch, n (done seeds with a value), mean, lo, hi: the spread over the
    seeds, min and max (``spread="minmax"``) or mean -/+ the standard deviation
    with n-1 (``spread="sd"``; lo = hi = mean for one seed).  ``df.attrs``:
    ``keys`` (the setting columns), ``spread``, ``total`` {setting: trainings of
    any status}.
    """
    if spread not in ("minmax", "sd"):
        raise ValueError(f"spread '{spread}': minmax or sd")
    rows = np.flatnonzero(flags.is_kind(ds, "train"))
    flat = ds.isel(task=rows)
    keys = [k for k in swept_keys(ds) if k != "seed"]
    done = flags.is_status(flat, "done")
    epochs = np.asarray(flat.epoch.values, dtype=int)
    groups = {}
    for i in range(flat.sizes["task"]):
        key = tuple(_plain(flat[k].values[i]) for k in keys)
        groups.setdefault(key, []).append(i)
    out, total = [], {}
    for key, members in groups.items():
        total[key] = len(members)
        mine = [i for i in members if done[i]]
        for q in TRAIN_STATS:
            if q not in flat:
                continue
            vals = np.asarray(flat[q].values, dtype=float)[mine] if mine else \
                np.empty((0, epochs.size))
            for j, e in enumerate(epochs):
                col = vals[:, j]
                col = col[np.isfinite(col)]
                r = dict(zip(keys, key), quantity=q, epoch=int(e), n=int(col.size))
                if col.size == 0:
                    r.update(mean=np.nan, lo=np.nan, hi=np.nan)
                elif spread == "minmax":
                    r.update(mean=col.mean(), lo=col.min(), hi=col.max())
                else:
                    sd = col.std(ddof=1) if col.size > 1 else 0.0
                    r.update(mean=col.mean(), lo=col.mean() - sd, hi=col.mean() + sd)
                out.append(r)
    df = pd.DataFrame(out)
    df.attrs.update(keys=keys, spread=spread, total=total)
    return df


def _plain(v):
    return v.item() if hasattr(v, "item") else v
