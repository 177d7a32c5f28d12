"""Random-subspace training (intrinsic dimension, Li et al. 2018; the toy model's
random hyperplanes): frames of the subspace rows and the d_int finder.

Each subspace row trains inside a random d-dimensional subspace anchored at a
training's initialisation or optimum (``source_task``); ``subspace_frame`` joins
the rows with that training, ``d_int`` finds the smallest d reaching a target on
one curve, and ``intrinsic_dims`` applies it per training (METHODS.md,
"Intrinsic dimension").  Status columns hold the status names of the file.
"""

import math
import re

import numpy as np
import pandas as pd

from . import flags
from .connectors import same_settings
from .files import sweep_spec, swept_keys
from .layout import final_values

__all__ = ["NoSubspaces", "SUBSPACE_STATS", "REACH_TOL", "subspace_frame", "d_int",
           "intrinsic_dims"]

SUBSPACE_STATS = ("subspace_train_loss", "subspace_train_accuracy", "subspace_test_loss",
                  "subspace_test_accuracy")


class NoSubspaces(ValueError):
    """The output has no subspace-training tasks."""


def _sweep_subspace(ds):
    """The ``probes.subspace`` mapping of the sweep text (``sweep_text``), or {}."""
    spec = sweep_spec(ds)
    if spec:
        sp = (spec.get("probes") or {}).get("subspace") or {}
        return sp if isinstance(sp, dict) else {}
    txt = ds.attrs.get("sweep_text", "")  # no PyYAML: a plain look
    out = {}
    mt = re.search(r"subspace\s*:.*?\bdims\s*:\s*\[([^\]]*)\]", txt, re.S)
    if mt:
        try:
            out["dims"] = [int(v) for v in mt.group(1).split(",") if v.strip()]
        except ValueError:
            pass
    mt = re.search(r"subspace\s*:.*?\bat\s*:\s*(init|optimum)", txt, re.S)
    if mt:
        out["at"] = mt.group(1)
    return out


def subspace_frame(ds):
    """One row per subspace-training task, joined with its training (pandas DataFrame).

    Columns: task_id, status, source_task (the training whose initialisation or
    optimum anchors the subspace, and whose seed and settings the row shares), the
    swept keys (and seed, swept or not), d, subspace_epochs, subspace_train_loss / _accuracy,
    subspace_test_loss / _accuracy (NaN unless the task is done), direct_status
    and direct_test_accuracy (the training's test accuracy at its last epoch:
    the "directly trained" accuracy of d_int90; NaN unless the training is done),
    and ratio = subspace_test_accuracy / direct_test_accuracy.  d of a row not yet
    run comes from the sweep's ``probes.subspace.dims`` (a training's subspace
    tasks follow its dims in order, src/sweep.c add_subspaces).
    ``df.attrs['at']`` is "init" or "optimum" (the anchor, from the sweep text),
    ``df.attrs['subspace']`` the sweep's ``probes.subspace`` mapping as written.
    Raises NoSubspaces if the output has none.

        >>> sf = subspace_frame(open_outputs("intrinsic-dim.nc"))
        >>> sf[sf.status == "done"].groupby(["arch", "d"]).ratio.mean()
    """
    is_sub = flags.is_kind(ds, "subspace")
    is_train = flags.is_kind(ds, "train")
    if "subspace_d" not in ds or not is_sub.any():
        raise NoSubspaces("the output has no subspace-training rows")
    status = flags.status_names(ds)
    src = ds.source_task.values
    pos = {int(t): i for i, t in enumerate(ds.task.values)}
    sp = _sweep_subspace(ds)
    dims = [int(v) for v in sp.get("dims", []) if isinstance(v, (int, float))]
    test_acc = final_values(ds.test_accuracy.values, ds.epochs.values)
    keys = swept_keys(ds)
    if "seed" not in keys and "seed" in ds.variables:
        keys.append("seed")  # the replicate names a curve even when not swept
    seen = {}
    out = []
    for i in np.flatnonzero(is_sub):
        s = int(src[i])
        k = seen.get(s, 0)
        seen[s] = k + 1
        done = status[i] == "done"
        d = float(ds.subspace_d.values[i])
        if not done or not np.isfinite(d):
            d = float(dims[k]) if k < len(dims) else float("nan")
        j = pos.get(s)
        if j is None or not is_train[j] or not _same_training(ds, i, j):
            j = _training_of(ds, i)  # outputs whose source_task was 0 at the init
            s = int(ds.task.values[j])
        r = {"task_id": int(ds.task.values[i]), "status": str(status[i]), "source_task": s}
        for key in keys:
            r[key] = ds[key].values[i]
        r["d"] = d
        r["subspace_epochs"] = float(ds.subspace_epochs.values[i]) if done else float("nan")
        for n in SUBSPACE_STATS:
            r[n] = float(ds[n].values[i]) if done else float("nan")
        r["direct_status"] = str(status[j])
        r["direct_test_accuracy"] = (float(test_acc[j]) if status[j] == "done"
                                     else float("nan"))
        out.append(r)
    df = pd.DataFrame(out)
    df["ratio"] = df["subspace_test_accuracy"] / df["direct_test_accuracy"]
    df.attrs["at"] = str(sp.get("at", "init"))
    df.attrs["subspace"] = sp
    return df


def _same_training(ds, i, j):
    """Row i (a subspace task) has training j's settings and seed; ``epochs`` may
    differ (probes.subspace.epochs replaces it on the subspace rows)."""
    return same_settings(ds, i, j, ignore=("epochs",))


def _training_of(ds, i):
    """The one training with subspace row i's settings and seed (older outputs wrote
    source_task 0 for every subspace task at the initialisation); ValueError if
    there is not exactly one."""
    cand = [j for j in np.flatnonzero(flags.is_kind(ds, "train")) if _same_training(ds, i, j)]
    if len(cand) != 1:
        raise ValueError(f"subspace task {int(ds.task.values[i])}: its source_task "
                         f"{int(ds.source_task.values[i])} is not a training with its settings, "
                         f"and {len(cand)} trainings have them")
    return int(cand[0])


REACH_TOL = 1e-9  # relative: rounding of fraction x direct accuracy, nothing more


def d_int(dims, accuracy, target):
    """The intrinsic dimension of one curve: the smallest sampled d reaching ``target``.

    ``dims``, ``accuracy``: the sampled d's and the accuracies reached there (any
    order; NaN = not measured, skipped).  An accuracy reaches the target when
    accuracy >= target x (1 - REACH_TOL): exactly 90% of an accuracy counts,
    although 0.9 x the direct accuracy is rounded.  Returns a dict:
      sampled       the smallest sampled d with accuracy >= target (inf if none)
      interpolated  log-linear interpolation between the bracketing d's: with
                    d_lo the largest sampled d below ``sampled`` (it fell short)
                    and a_lo, a_hi the accuracies at d_lo, d_hi = sampled,
                    exp(log d_lo + (target - a_lo) / (a_hi - a_lo) * log(d_hi/d_lo));
                    equal to ``sampled`` when it is the smallest d measured
                    (then only an upper bound), inf if none reached
      lower, upper  the bracket d_lo, d_hi (lower NaN if ``sampled`` is the
                    smallest d; upper inf if none reached)
      reached       whether any d reached the target
      below_range   whether the smallest measured d already reached it
    With a NaN target every value is NaN and ``reached`` is False.

        >>> d_int([10, 100, 1000], [0.5, 0.7, 0.9], 0.8)["interpolated"]   # 316.2...
    """
    d = np.asarray(dims, dtype=float)
    a = np.asarray(accuracy, dtype=float)
    ok = np.isfinite(d) & np.isfinite(a)
    d, a = d[ok], a[ok]
    order = np.argsort(d, kind="stable")
    d, a = d[order], a[order]
    nan, inf = float("nan"), float("inf")
    if not np.isfinite(target) or d.size == 0:
        return {"sampled": nan, "interpolated": nan, "lower": nan, "upper": nan,
                "reached": False, "below_range": False}
    hit = np.flatnonzero(a >= target - REACH_TOL * abs(target))
    if hit.size == 0:
        return {"sampled": inf, "interpolated": inf, "lower": float(d[-1]), "upper": inf,
                "reached": False, "below_range": False}
    k = int(hit[0])
    if k == 0:
        return {"sampled": float(d[0]), "interpolated": float(d[0]), "lower": nan,
                "upper": float(d[0]), "reached": True, "below_range": True}
    lo, hi, alo, ahi = d[k - 1], d[k], a[k - 1], a[k]
    f = min(1.0, (target - alo) / (ahi - alo))  # ahi >= target > alo: 0 < f <= 1
    itp = float(hi) if f >= 1.0 else float(math.exp(math.log(lo) + f * math.log(hi / lo)))
    return {"sampled": float(hi), "interpolated": itp,
            "lower": float(lo), "upper": float(hi), "reached": True, "below_range": False}


def intrinsic_dims(sf, fraction=0.9, accuracy="subspace_test_accuracy"):
    """d_int per (setting group, seed) from a ``subspace_frame`` (METHODS.md,
    "Intrinsic dimension": d_int90 with the default ``fraction`` 0.9).

    The target of each training is ``fraction`` x its direct test accuracy; the
    curve is ``accuracy`` against d over the done subspace tasks of that training.
    One row per training (source_task), columns: the swept keys, source_task,
    direct_test_accuracy, target, n_dims (done) / n_tasks, complete (every
    subspace task and the training done), then d_int's sampled, interpolated,
    lower, upper, reached, below_range.  A training that is not done has a NaN
    target and NaN d's.  A curve missing some d's is still evaluated on the d's it
    has; ``complete`` says whether it is final.

        >>> dims = intrinsic_dims(subspace_frame(ds))
        >>> dims.groupby("arch").sampled.median()
    """
    keys = [c for c in sf.columns if c not in _SUBSPACE_COLS]
    out = []
    for s, g in sf.groupby("source_task", sort=True):
        done = g[g.status == "done"]
        direct = float(g.direct_test_accuracy.iloc[0])
        target = fraction * direct
        r = {k: g[k].iloc[0] for k in keys}
        r.update(source_task=int(s), direct_test_accuracy=direct, target=target,
                 n_dims=int(len(done)), n_tasks=int(len(g)),
                 complete=bool(len(done) == len(g) and g.direct_status.iloc[0] == "done"))
        r.update(d_int(done.d.values, done[accuracy].values, target))
        out.append(r)
    df = pd.DataFrame(out)
    df.attrs["fraction"] = fraction
    return df


_SUBSPACE_COLS = {"task_id", "status", "source_task", "d", "subspace_epochs", "direct_status",
                  "direct_test_accuracy", "ratio", *SUBSPACE_STATS}

