"""Directions in weight space: are they aligned or orthogonal? (Figures 2 and 3)

Figure 2 of the paper argues that the radial tunnels of different optima are
nearly orthogonal, and Figure 3 that along a 1-connector the deviations
X_k - C_k from the straight line are aligned within each half of the connector
and orthogonal across the halves.  This module computes the statistics that
decide those claims from what a wedge output stores:

``deviation_halves``  the halves statistic of one 1-connector's K x K
                      ``deviation_cosine``: mean cosine within each half, across
                      the halves, between neighbours, and a two-block model
                      against a smooth-decay model exp(-|i-j|/L)
``changed_shape``     the shape of a "test labels changed" curve along a path:
                      its values at 1/4, 1/2, 3/4 and a ramp-then-plateau fit
                      against a straight line
``training_vectors``  the parameter vectors of the done trainings, grouped by
                      the swept settings other than seed
``seed_cosines``      cosines between final vectors and between training
                      directions P_E2 - P_E1 of different seeds, and of each
                      direction with its own P_E2
``random_baseline``   1/sqrt(D) and the 95% band 1.96/sqrt(D) of the cosine of
                      two independent random directions in R^D

docs/METHODS.md ("Orthogonality of tunnels and of connector halves") defines
each number.
"""

import math

import numpy as np

from . import flags
from .files import swept_keys

__all__ = ["deviation_halves", "decay_fit", "changed_shape", "random_baseline",
           "NoVectors", "training_vectors", "seed_cosines", "cosine"]

# the 95% two-sided quantile of N(0, 1): the band of a random cosine is
# +-Z95/sqrt(D) (the cosine of two independent isotropic directions in R^D has
# mean 0 and variance 1/D, and is close to normal for D >> 1)
Z95 = 1.959963984540054


# ------------------------------------------------------- Figure 3: halves -------

def _halves(K):
    """(first, second, middle): the point indices 0..K-1 of each half; for odd K
    the middle index K//2 belongs to neither (middle is None for even K)."""
    h = K // 2
    first = list(range(h))
    second = list(range(K - h, K))
    return first, second, (h if K % 2 else None)


def _mean(vals):
    vals = np.asarray(vals, dtype=float)
    vals = vals[np.isfinite(vals)]
    return float(vals.mean()) if vals.size else math.nan


def decay_fit(d, c, lo=1e-3, hi=1e4):
    """Least-squares fit of c ~ exp(-d / L) over L in [lo, hi] (d > 0 distances).

    Returns (L, rss).  A grid of 400 values of log L, then golden-section search
    around the best grid point, to a relative precision of 1e-12 in L."""
    d = np.asarray(d, dtype=float)
    c = np.asarray(c, dtype=float)

    def rss(t):
        return float(np.sum((c - np.exp(-d / math.exp(t))) ** 2))

    ts = np.linspace(math.log(lo), math.log(hi), 400)
    r = np.array([rss(t) for t in ts])
    j = int(np.argmin(r))
    a, b = ts[max(j - 1, 0)], ts[min(j + 1, ts.size - 1)]
    g = (math.sqrt(5) - 1) / 2
    x1, x2 = b - g * (b - a), a + g * (b - a)
    f1, f2 = rss(x1), rss(x2)
    while b - a > 1e-12:
        if f1 <= f2:
            b, x2, f2 = x2, x1, f1
            x1 = b - g * (b - a)
            f1 = rss(x1)
        else:
            a, x1, f1 = x1, x2, f2
            x2 = a + g * (b - a)
            f2 = rss(x2)
    best = min((r[j], ts[j]), (f1, x1), (f2, x2))
    return math.exp(best[1]), best[0]


def deviation_halves(cos):
    """The halves statistic of a 1-connector's K x K deviation cosines.

    ``cos[i, j]`` is the cosine between the deviations X_{i+1} - C_{i+1} and
    X_{j+1} - C_{j+1} (``deviation_cosine``).  The first half is X_1..X_h, the
    second X_{K-h+1}..X_K with h = K // 2; for odd K the middle point X_{h+1}
    belongs to neither half.  Only pairs i < j are used (the matrix is
    symmetric; non-finite entries are left out).  Returns a dict:

      K, middle        K and the middle point's number (1-based; None for even K)
      within_first     mean cosine over the pairs i < j both in the first half
      within_second    the same in the second half
      within           mean over all those within-half pairs (pooled)
      across           mean cosine over the pairs with one point in each half
      neighbour        mean cosine of X_k and X_{k+1}, k = 1..K-1 (all points)
      separation       within - across (1 for perfectly aligned halves
                       orthogonal to each other, 0 for no block structure)
      rss_block        residual sum of squares of the two-block model: each
                       pair predicted by the mean of its block (within the
                       first half, within the second, across)
      decay_L, rss_decay  the smooth-decay model cos ~ exp(-|i-j| / L), L fitted
                       by least squares, and its residual sum of squares
      n_pairs          pairs both models are fitted to: the pairs i < j with
                       both points in a half (the middle point's pairs left out)
      better           "block" if rss_block < rss_decay, else "decay"

    The block model has three free values, the decay model one; with K = 4 the
    block model fits its two within-half pairs exactly.  NaN where a block has
    no pair (K < 4: no within-half pair).
    """
    cos = np.asarray(cos, dtype=float)
    K = cos.shape[0]
    if cos.shape != (K, K):
        raise ValueError(f"deviation_halves: a square matrix, not {cos.shape}")
    first, second, mid = _halves(K)

    def pairs(a, b=None):
        if b is None:
            return [(i, j) for x, i in enumerate(a) for j in a[x + 1:]]
        return [(i, j) for i in a for j in b]

    blocks = {"within_first": pairs(first), "within_second": pairs(second),
              "across": pairs(first, second)}
    vals = {n: np.array([cos[i, j] for i, j in p]) for n, p in blocks.items()}
    out = {"K": K, "middle": None if mid is None else mid + 1}
    for n, v in vals.items():
        out[n] = _mean(v)
    out["within"] = _mean(np.concatenate([vals["within_first"], vals["within_second"]]))
    out["neighbour"] = _mean([cos[i, i + 1] for i in range(K - 1)])
    out["separation"] = out["within"] - out["across"]

    d, c, pred = [], [], []
    for n, p in blocks.items():
        for (i, j), v in zip(p, vals[n]):
            if np.isfinite(v):
                d.append(abs(i - j))
                c.append(v)
                pred.append(out[n])
    d, c, pred = np.array(d, dtype=float), np.array(c), np.array(pred)
    out["n_pairs"] = int(c.size)
    if c.size:
        out["rss_block"] = float(np.sum((c - pred) ** 2))
        out["decay_L"], out["rss_decay"] = decay_fit(d, c)
        out["better"] = "block" if out["rss_block"] < out["rss_decay"] else "decay"
    else:
        out.update(rss_block=math.nan, decay_L=math.nan, rss_decay=math.nan, better="-")
    return out


# --------------------------------------------- Figure 3: changed labels ---------

def _r2(y, fit):
    tss = float(np.sum((y - y.mean()) ** 2))
    return 1.0 - float(np.sum((y - fit) ** 2)) / tss if tss > 0 else math.nan


def changed_shape(x, y):
    """The shape of a fraction of changed test labels ``y`` at distances ``x``
    (in [0, 1]: 0 at the end it is compared with, 1 at the other end) along a path.

    Returns a dict:
      at_quarter, at_middle, at_three_quarters   y at x = 1/4, 1/2, 3/4 (linear
                       interpolation between the samples)
      r2_line          R^2 of the least-squares line y = a + b x
      r2_ramp, break_at  R^2 of the best "ramp then plateau" y = a + b min(x, x0),
                       x0 over the sample positions >= 0.1, and that x0
    The ramp has one parameter more than the line, so r2_ramp >= r2_line (x0 at
    the last sample is the line itself: no plateau); a curve that rises to the middle and then
    stays flat has r2_ramp close to 1 with break_at near 0.5 and a clearly lower
    r2_line; a straight rise has both close to 1.  R^2 is NaN for a constant y;
    everything is NaN with fewer than 3 finite samples (the toy model has no
    predictions: its changed fractions are NaN).
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    o = np.argsort(x, kind="stable")
    x, y = x[o], y[o]
    if x.size < 3:  # no predictions (the toy model), or too few to fit a line
        return {k: math.nan for k in ("at_quarter", "at_middle", "at_three_quarters",
                                      "r2_line", "r2_ramp", "break_at")}
    out = {"at_quarter": float(np.interp(0.25, x, y)), "at_middle": float(np.interp(0.5, x, y)),
           "at_three_quarters": float(np.interp(0.75, x, y))}
    A = np.column_stack([np.ones_like(x), x])
    coef = np.linalg.lstsq(A, y, rcond=None)[0]
    out["r2_line"] = _r2(y, A @ coef)
    best = (-math.inf, math.nan)
    for x0 in np.unique(x[x >= min(0.1, x[-1])]):
        A = np.column_stack([np.ones_like(x), np.minimum(x, x0)])
        coef = np.linalg.lstsq(A, y, rcond=None)[0]
        r2 = _r2(y, A @ coef)
        if np.isfinite(r2) and r2 > best[0]:
            best = (r2, float(x0))
    out["r2_ramp"] = best[0] if np.isfinite(best[0]) else math.nan
    out["break_at"] = best[1]
    return out


# ---------------------------------------------------- Figure 2: seeds -----------

class NoVectors(ValueError):
    """The output has no parameter vectors to compare (no params, too few seeds
    or snapshots)."""


def random_baseline(D):
    """(1/sqrt(D), 1.96/sqrt(D)): the standard deviation of the cosine of two
    independent isotropic random directions in R^D, and its 95% band."""
    s = 1.0 / math.sqrt(D)
    return s, Z95 * s


def cosine(a, b):
    """cos(a, b) in float64 (NaN if either vector is zero)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    return float(a @ b / (na * nb)) if na > 0 and nb > 0 else math.nan


def training_vectors(ds):
    """The done trainings' parameter vectors, grouped by setting.

    ``ds``: a flat output opened with ``params=True``.  Returns (groups, names):
    ``names`` the swept keys other than seed; ``groups`` a dict {setting tuple:
    list of dicts}, one per done training of that setting in task order, with
    task, seed, D (nparams), epochs (its snapshot epochs, ascending) and
    vectors {epoch: float64 array of length D}.  Raises NoVectors when the file
    has no ``params`` or no done training."""
    if "params" not in ds.variables:
        raise NoVectors("no parameter vectors (the file has no 'params' variable)")
    names = [k for k in swept_keys(ds) if k != "seed"]
    train = flags.is_kind(ds, "train") & flags.is_status(ds, "done")
    if not train.any():
        raise NoVectors("no done training")
    P = np.asarray(ds["params"].values)
    se = np.asarray(ds.snapshot_epoch.values)
    npar = np.asarray(ds.nparams.values)
    seeds = ds["seed"].values if "seed" in ds.variables else np.full(ds.sizes["task"], np.nan)
    groups = {}
    for i in np.flatnonzero(train):
        D = int(npar[i])
        ep = {int(e): s for s, e in enumerate(se[i]) if np.isfinite(e) and int(e) >= 0}
        if D <= 0 or not ep:
            continue
        vec = {e: np.asarray(P[i, s, :D], dtype=np.float64) for e, s in sorted(ep.items())}
        key = tuple(v if isinstance(v, str) else float(v)
                    for v in (ds[n].values[i] for n in names))
        groups.setdefault(key, []).append({"task": int(ds.task.values[i]),
                                           "seed": float(seeds[i]), "D": D,
                                           "epochs": sorted(ep), "vectors": vec})
    if not groups:
        raise NoVectors("no done training keeps a parameter vector")
    return groups, names


def _stretch(t, between):
    """(E1, E2) of training ``t``: ``between`` or its last two snapshot epochs."""
    if between is None:
        if len(t["epochs"]) < 2:
            raise NoVectors(f"training task {t['task']} keeps {len(t['epochs'])} snapshot "
                            f"(epoch {t['epochs'][0]}); a training direction needs 2 "
                            f"(set train.snapshots, e.g. [5, 8] with epochs: 10)")
        return t["epochs"][-2], t["epochs"][-1]
    for e in between:
        if e not in t["vectors"]:
            raise NoVectors(f"training task {t['task']} has no snapshot at epoch {e} "
                            f"(its snapshots: {' '.join(map(str, t['epochs']))})")
    return between


def seed_cosines(members, between=None, final_only=False):
    """The cosines of one setting's trainings (``training_vectors`` entries).

    Returns a dict of pandas-free lists:
      final      [(task_i, task_j, cos(P0_i, P0_j))] for i < j, P0 the final
                 (last-snapshot) vector
      direction  [(task_i, task_j, cos(d_i, d_j))], d = P_E2 - P_E1 with (E1, E2)
                 ``between`` or each training's last two snapshot epochs
      own        [(task, cos(d, P_E2))]: each training's direction against the
                 point it leads to (the final P0 by default)
      stretch    {task: (E1, E2)}, D (the common parameter count)
    ``final_only``: only ``final``.  Raises NoVectors for fewer than two
    trainings, differing D, or a missing snapshot (direction needs two)."""
    if len(members) < 2:
        raise NoVectors(f"{len(members)} done training(s); cosines between seeds need 2")
    Ds = {t["D"] for t in members}
    if len(Ds) != 1:
        raise NoVectors(f"trainings of one setting with different D ({sorted(Ds)})")
    out = {"D": Ds.pop(), "final": [], "direction": [], "own": [], "stretch": {}}
    fin = [t["vectors"][t["epochs"][-1]] for t in members]
    for a in range(len(members)):
        for b in range(a + 1, len(members)):
            out["final"].append((members[a]["task"], members[b]["task"], cosine(fin[a], fin[b])))
    if final_only:
        return out
    dirs = []
    for t in members:
        e1, e2 = _stretch(t, between)
        out["stretch"][t["task"]] = (e1, e2)
        d = t["vectors"][e2] - t["vectors"][e1]
        dirs.append(d)
        out["own"].append((t["task"], cosine(d, t["vectors"][e2])))
    for a in range(len(members)):
        for b in range(a + 1, len(members)):
            out["direction"].append((members[a]["task"], members[b]["task"],
                                     cosine(dirs[a], dirs[b])))
    return out
