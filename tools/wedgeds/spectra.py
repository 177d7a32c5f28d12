"""Hessian spectra (Figure 4): what a stored count means, counts at any threshold,
the calibration of lambda_thr, and the check that an optimum is a minimum.

A Hessian task (METHODS.md, "Number of short directions") measures by one of three
methods, the ``method`` attribute of ``n_short``; a count means something
different for each, and ``Count`` carries that meaning to every table:
  full     every eigenvalue (LAPACK): the count is exact ("138")
  lanczos  Ritz values.  A run that converged counts exactly at the study
           threshold lambda_thr (every Ritz value above 0.5 lambda_thr passed the
           residual test).  A run stopped by its budget gives lower bounds: the
           k-th largest Ritz value never exceeds the k-th largest eigenvalue
           (Cauchy interlacing), so #{Ritz values > t} <= #{eigenvalues > t} at
           every t; shown ">= 99 (not converged)", never as a plain number
  slq      stochastic Lanczos quadrature: an estimate with its confidence
           interval ("140 [129, 151]"), per probe p c_p = D * sum of the weights of
           the nodes above t, mean, se = sd / sqrt(nprobe),
           [lo, hi] = mean -+ t_{(1+level)/2, nprobe-1} se (src/hessian.c,
           wg_hessian_slq_count, reproduced here operation by operation).

``TaskSpectrum`` is one task's stored spectrum (``task_spectra`` gives them all)
and ``count`` re-thresholds it; ``stored_count`` reads the counts the task wrote;
``aggregate`` combines counts over seeds (a mean of lower bounds is a lower
bound); ``negative_warnings`` names the trained optima that are no minima;
``calibrate`` finds lambda_thr from the local subspace dimensions.
"""

import math

import numpy as np

from . import flags
from .connectors import NoHessians, _hessian_nparams
from .files import swept_keys
from .tables import kv

__all__ = ["RESIDUAL_TOL", "CONV_FRAC", "LEVEL", "Count", "TaskSpectrum", "study_method",
           "study_threshold", "task_spectra", "stored_count", "stored_negative", "aggregate",
           "slq_estimate", "slq_bias", "t_quantile", "t_pvalue", "Trend", "linear_trend",
           "welch", "place", "place_label", "setting_label",
           "negative_warnings", "print_negative_warnings", "threshold_for_count",
           "NoSpectrum", "CannotCalibrate", "calibrate", "setting_keys", "LOOSE_NOTE",
           "broadening_sigma", "spectral_density"]

# The residual test of src/hessian.c (wg_hessian_opts_default: tol 1e-3,
# conv_frac 0.5): a Ritz pair has converged when |r| <= tol * max(|theta|,
# lambda_thr); a converged run has every Ritz value above conv_frac x lambda_thr
# converged.  The file stores them as hessian_residual's tol and conv_frac
# attributes; these defaults read files written before it did.
RESIDUAL_TOL = 1e-3
CONV_FRAC = 0.5
LEVEL = 0.95  # SLQ's confidence level when the file does not say (slq_count:confidence_level)


class NoSpectrum(ValueError):
    """A task (or a method) without the stored spectrum an analysis needs."""


# ---- one count and its meaning ------------------------------------------------------

class Count:
    """A count of Hessian eigenvalues above (or below) a threshold and what it is.

    ``kind``: "exact" (full spectrum, or converged Lanczos where it converged),
    "lower" (a lower bound: Lanczos not converged there), "estimate" (SLQ: ``lo``,
    ``hi`` the confidence interval, ``se`` its standard error) or "missing".
    ``loose``: a Lanczos lower bound at a threshold below the smallest converged
    Ritz value (it counts Ritz values that have not converged: still a lower bound,
    maybe far below).  Aggregates (``aggregate``) also have ``n`` (tasks),
    ``n_lower`` (of them lower bounds), ``vmin``/``vmax``.
    ``why`` says why a lower bound is one ("not converged"; the bottom end of a
    converged Lanczos run: "bottom end untested").
    ``str(count)`` is the table cell: "138", ">= 99 (not converged)",
    "140 [129, 151]", "-".
    """

    __slots__ = ("value", "kind", "lo", "hi", "se", "loose", "n", "n_lower", "vmin", "vmax",
                 "why")

    def __init__(self, value, kind, lo=math.nan, hi=math.nan, se=math.nan, loose=False,
                 n=1, n_lower=None, why="not converged"):
        self.value = float(value)
        self.why = why
        self.kind = kind if math.isfinite(self.value) else "missing"
        self.lo, self.hi, self.se = float(lo), float(hi), float(se)
        self.loose = bool(loose)
        self.n = n
        self.n_lower = (1 if self.kind == "lower" else 0) if n_lower is None else n_lower
        self.vmin = self.vmax = self.value

    @property
    def is_lower(self):
        return self.kind == "lower"

    def number(self, spec=None):
        """The central value as text (integers plainly, a mean with one decimal)."""
        if self.kind == "missing":
            return "-"
        if spec:
            return format(self.value, spec)
        if self.kind == "estimate":
            return _est(self.value, self.hi - self.lo)
        return f"{self.value:.0f}" if float(self.value).is_integer() else f"{self.value:.1f}"

    def text(self, spec=None):
        if self.kind == "missing":
            return "-"
        v = self.number(spec)
        if self.kind == "lower":
            part = "" if self.n <= 1 or self.n_lower == self.n else f": {self.n_lower} of {self.n}"
            return f">= {v} ({self.why}{part})" + ("*" if self.loose else "")
        if self.kind == "estimate":
            w = self.hi - self.lo
            return f"{v} [{_est(self.lo, w)}, {_est(self.hi, w)}]"
        return v

    __str__ = text

    def __repr__(self):
        return f"Count({self.text()!r}, kind={self.kind!r})"


def _est(x, width):
    """An SLQ number: whole when its interval is 5 or wider, else one decimal."""
    if not math.isfinite(x):
        return "-"
    return f"{x:.0f}" if not math.isfinite(width) or width >= 5 else f"{x:.1f}"


LOOSE_NOTE = ("*: below the smallest converged Ritz value of that task: the bound counts Ritz "
              "values that have not converged (still a lower bound by Cauchy interlacing, "
              "possibly far below the true count).")


def aggregate(counts):
    """The mean of several counts (over seeds), keeping what they are.

    Missing counts are left out.  Any lower bound among them makes the mean a lower
    bound (the mean of lower bounds and exact values bounds the true mean from
    below).  SLQ estimates: the mean of the means with [mean of the lo, mean of the
    hi] -- an interval that covers the probes' noise of the mean at least at the
    tasks' level (sqrt(sum se_i^2) <= sum se_i), and nothing of the spread over
    seeds.  Returns a Count with n, n_lower, vmin, vmax set (kind "missing" if
    nothing is left)."""
    cs = [c for c in counts if c is not None and c.kind != "missing"]
    if not cs:
        c = Count(math.nan, "missing")
        c.n = 0
        return c
    v = np.array([c.value for c in cs])
    kinds = {c.kind for c in cs}
    n_lower = sum(c.kind == "lower" for c in cs)
    if "estimate" in kinds:
        out = Count(v.mean(), "estimate", np.mean([c.lo for c in cs]),
                    np.mean([c.hi for c in cs]), n=len(cs))
    elif n_lower:
        out = Count(v.mean(), "lower", loose=any(c.loose for c in cs), n=len(cs),
                    n_lower=n_lower, why=next(c.why for c in cs if c.kind == "lower"))
    else:
        out = Count(v.mean(), "exact", n=len(cs))
    out.vmin, out.vmax = float(v.min()), float(v.max())
    return out


# ---- SLQ, operation by operation as src/hessian.c --------------------------------------

def _betacf(a, b, x):
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    if abs(d) < tiny:
        d = tiny
    d = 1.0 / d
    hh = d
    for m in range(1, 301):
        m2 = 2.0 * m
        aa = m * (b - m) * x / ((a - 1.0 + m2) * (a + m2))
        d = 1.0 + aa * d
        c = 1.0 + aa / c
        d = 1.0 / tiny if abs(d) < tiny else 1.0 / d
        if abs(c) < tiny:
            c = tiny
        hh *= d * c
        aa = -(a + m) * (a + b + m) * x / ((a + m2) * (a + 1.0 + m2))
        d = 1.0 + aa * d
        c = 1.0 + aa / c
        d = 1.0 / tiny if abs(d) < tiny else 1.0 / d
        if abs(c) < tiny:
            c = tiny
        dl = d * c
        hh *= dl
        if abs(dl - 1.0) < 1e-15:
            break
    return hh


def _ibeta(a, b, x):
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    lf = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + \
        b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(lf) * _betacf(a, b, x) / a
    return 1.0 - math.exp(lf) * _betacf(b, a, 1.0 - x) / b


def t_pvalue(t, nu):
    """Two-sided p-value of Student's t statistic t with nu (> 0, real) degrees of
    freedom: P(|T| >= |t|) = I_{nu/(nu+t^2)}(nu/2, 1/2)."""
    if not math.isfinite(t):
        return 0.0 if math.isinf(t) else math.nan
    return _ibeta(0.5 * nu, 0.5, nu / (nu + t * t))


_TQ = {}


def t_quantile(p, nu):
    """The p-quantile (0.5 < p < 1) of Student's t with nu degrees of freedom, by
    the bisection of src/hessian.c (so the intervals match the file's)."""
    key = (p, nu)
    if key in _TQ:
        return _TQ[key]
    lo, hi, tail = 0.0, 1.0, 1.0 - p
    while 0.5 * t_pvalue(hi, nu) > tail and hi < 1e12:
        hi *= 2.0
    it = 0
    while it < 200 and hi - lo > 1e-14 * hi:
        mid = 0.5 * (lo + hi)
        if 0.5 * t_pvalue(mid, nu) > tail:
            lo = mid
        else:
            hi = mid
        it += 1
    _TQ[key] = 0.5 * (lo + hi)
    return _TQ[key]


class Trend:
    """An ordinary least-squares line y = a + b x: the slope b, its confidence
    interval [lo, hi] at ``level`` (b -+ t_{(1+level)/2, n-2} se), the two-sided
    p-value of b = 0 and the mean of y, over n points."""

    def __init__(self, b, lo, hi, p, ymean, n, level=LEVEL):
        self.b, self.lo, self.hi, self.p, self.ymean, self.n = b, lo, hi, p, ymean, n
        self.level = level

    def text(self, unit, spec=".1f"):
        """'+12.3 [-1.0, +25.6] per UNIT (+1.0% of the mean; 95% interval), p = 0.07,
        n = 9'."""
        rel = f"{100 * self.b / self.ymean:+.1f}% of the mean; " if self.ymean else ""
        return (f"{self.b:+{spec}} [{self.lo:+{spec}}, {self.hi:+{spec}}] per {unit} "
                f"({rel}{100 * self.level:g}% interval), p = {self.p:.2g}, n = {self.n}")


def linear_trend(x, y, level=LEVEL):
    """The least-squares Trend of y on x over the finite pairs; None with fewer than
    3 of them or fewer than 2 distinct x."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    n = x.size
    if n < 3 or np.unique(x).size < 2:
        return None
    xm, ym = x.mean(), y.mean()
    sxx = float(((x - xm) ** 2).sum())
    b = float(((x - xm) * (y - ym)).sum()) / sxx
    a = ym - b * xm
    rss = float(((y - a - b * x) ** 2).sum())
    nu = n - 2.0
    se = math.sqrt(rss / nu / sxx)
    q = t_quantile(0.5 * (1.0 + level), nu)
    p = t_pvalue(b / se, nu) if se > 0 else (0.0 if b != 0 else 1.0)
    return Trend(b, b - q * se, b + q * se, p, float(ym), n, level)


def welch(y1, y2):
    """Welch's t-test of mean(y1) = mean(y2): (difference of the means, two-sided
    p); p is nan with fewer than 2 finite values on either side."""
    y1 = np.asarray(y1, dtype=float)
    y2 = np.asarray(y2, dtype=float)
    y1, y2 = y1[np.isfinite(y1)], y2[np.isfinite(y2)]
    if y1.size < 2 or y2.size < 2:
        return (float(y1.mean() - y2.mean()) if y1.size and y2.size else math.nan), math.nan
    v1, v2 = y1.var(ddof=1) / y1.size, y2.var(ddof=1) / y2.size
    d = float(y1.mean() - y2.mean())
    if v1 + v2 == 0:
        return d, (0.0 if d != 0 else 1.0)
    nu = (v1 + v2) ** 2 / (v1 ** 2 / (y1.size - 1) + v2 ** 2 / (y2.size - 1))
    return d, t_pvalue(d / math.sqrt(v1 + v2), nu)


def slq_estimate(nodes, weights, dim, t, below=False, level=LEVEL):
    """SLQ's count at threshold t from stored nodes and weights (nprobe x nsteps):
    #{eigenvalues > t} (or < t with ``below``) as src/hessian.c's
    wg_hessian_slq_count computes it, in the same order of operations.  Returns
    (mean, se, lo, hi).  ValueError for fewer than 2 probes."""
    nodes = np.asarray(nodes, dtype=float)
    weights = np.asarray(weights, dtype=float)
    P = nodes.shape[0]
    if P < 2 or not 0 < level < 1 or math.isnan(t):
        raise ValueError(f"SLQ count: {P} probes, level {level} (need >= 2 probes, 0 < level < 1)")
    s = s2 = 0.0
    D = float(dim)
    for p in range(P):
        w = weights[p]
        x = nodes[p]
        sel = (w > 0.0) & ((x < t) if below else (x > t))
        c = 0.0
        for v in w[sel].tolist():  # sequential, as the C loop
            c += v
        c *= D
        s += c
        s2 += c * c
    mean = s / P
    var = (s2 - P * mean * mean) / (P - 1)
    se = math.sqrt(max(var, 0.0) / P)
    q = t_quantile(0.5 * (1.0 + level), P - 1.0)
    return mean, se, mean - q * se, mean + q * se


def slq_bias(nodes, weights, dim, t):
    """Bound on the quadrature's error of SLQ's count at t (slq_count_bias, as
    src/hessian.c computes it): dim x the mean over probes of the larger weight of
    the two nodes around t (Chebyshev-Markov-Stieltjes).  [lo - bias, hi + bias]
    covers both the probes' randomness and the quadrature."""
    nodes = np.asarray(nodes, dtype=float)
    weights = np.asarray(weights, dtype=float)
    b = 0.0
    for p in range(nodes.shape[0]):
        ok = weights[p] > 0.0
        x, w = nodes[p][ok], weights[p][ok]
        left, right = x <= t, x > t
        wl = float(w[left][np.argmax(x[left])]) if left.any() else 0.0
        wr = float(w[right][np.argmin(x[right])]) if right.any() else 0.0
        b += max(wl, wr)
    return float(dim) * b / nodes.shape[0]


def _slq_curve(nodes, weights, dim, ts, level=LEVEL):
    """The SLQ estimator at many thresholds ``ts`` at once (vectorised; equal to
    slq_estimate up to rounding): arrays mean, se, lo, hi."""
    nodes = np.asarray(nodes, dtype=float)
    weights = np.asarray(weights, dtype=float)
    ts = np.asarray(ts, dtype=float)
    P = nodes.shape[0]
    c = np.empty((P, ts.size))
    for p in range(P):
        ok = weights[p] > 0
        x, w = nodes[p][ok], weights[p][ok]
        o = np.argsort(x, kind="stable")
        x, w = x[o], w[o]
        above = np.concatenate([np.cumsum(w[::-1])[::-1], [0.0]])  # weight of x[i:]
        c[p] = dim * above[np.searchsorted(x, ts, side="right")]
    mean = c.mean(axis=0)
    se = c.std(axis=0, ddof=1) / math.sqrt(P)
    q = t_quantile(0.5 * (1.0 + level), P - 1.0)
    return mean, se, mean - q * se, mean + q * se


# ---- the study and its tasks --------------------------------------------------------

def study_method(ds):
    """"full", "lanczos" or "slq": the ``method`` attribute of n_short (outputs
    written before there were methods: "lanczos")."""
    m = str(ds["n_short"].attrs.get("method", "lanczos")) if "n_short" in ds else "lanczos"
    return m if m in ("full", "lanczos", "slq") else "lanczos"


def study_threshold(ds):
    """lambda_thr, the ``threshold`` attribute of n_short (NaN if absent)."""
    return float(ds["n_short"].attrs.get("threshold", math.nan)) if "n_short" in ds else math.nan


def _level(ds):
    if "slq_count" in ds:
        return float(ds["slq_count"].attrs.get("confidence_level", LEVEL))
    return LEVEL


class TaskSpectrum:
    """The stored spectrum of one done Hessian task.

    Attributes: task (id), method, threshold (the study's lambda_thr), dim (D),
    values (descending Ritz values / eigenvalues; empty for SLQ), resid (their
    residual bounds), converged, lower_bound (the run's flags), nodes, weights
    (SLQ: nprobe x nsteps; None otherwise), level (SLQ's confidence level),
    trace_est, trace_se (SLQ's stored Hutchinson trace), conv_floor (Lanczos: the
    smallest Ritz value of the leading run that passes the residual test; +inf
    if none, -inf if all do)."""

    def __init__(self, task, method, threshold, dim, values=None, resid=None, converged=True,
                 lower_bound=False, nodes=None, weights=None, level=LEVEL, trace=math.nan,
                 trace_se=math.nan, tol=RESIDUAL_TOL, conv_frac=CONV_FRAC):
        self.task = task
        self.tol, self.conv_frac = float(tol), float(conv_frac)
        self.method = method
        self.threshold = float(threshold)
        self.dim = int(dim) if dim is not None and math.isfinite(dim) else None
        v = np.asarray(values if values is not None else [], dtype=float)
        r = np.asarray(resid if resid is not None else np.zeros(v.size), dtype=float)
        ok = np.isfinite(v)
        self.values, self.resid = v[ok], r[ok] if r.size == v.size else np.zeros(ok.sum())
        self.converged = bool(converged)
        self.lower_bound = bool(lower_bound)
        self.nodes = None if nodes is None else np.asarray(nodes, dtype=float)
        self.weights = None if weights is None else np.asarray(weights, dtype=float)
        self.level = level
        self.trace_est, self.trace_se = float(trace), float(trace_se)
        self.conv_floor = self._conv_floor()

    def _conv_floor(self):
        if self.method != "lanczos" or not self.values.size:
            return -math.inf
        tol = self.tol * np.maximum(np.abs(self.values), self.threshold)
        bad = np.flatnonzero(~(self.resid <= tol))
        if not bad.size:
            return -math.inf
        return float(self.values[bad[0] - 1]) if bad[0] > 0 else math.inf

    @property
    def complete(self):
        """Every eigenvalue is stored (full, or a Lanczos basis spanning R^D)."""
        return self.method == "full" or (self.dim is not None and self.values.size >= self.dim)

    def _exact_at(self, t):
        """Lanczos: whether the count above t is a measurement."""
        if self.complete:
            return True
        if not self.converged or self.lower_bound:
            return False
        return t >= self.conv_frac * self.threshold or t >= self.conv_floor

    def count(self, t):
        """#{eigenvalues > t} as the stored spectrum knows it (a Count)."""
        if self.method == "slq":
            mean, se, lo, hi = slq_estimate(self.nodes, self.weights, self._need_dim(), t,
                                            level=self.level)
            return Count(mean, "estimate", lo, hi, se)
        n = int(np.count_nonzero(self.values > t))
        if self.method == "full" or self._exact_at(t):
            return Count(n, "exact")
        return Count(n, "lower", loose=t < self.conv_floor)

    def count_below(self, t):
        """#{eigenvalues < t} (t = -lambda_thr: the negative count).  Lanczos: a lower
        bound unless every eigenvalue is stored (its bottom end is not tested)."""
        if self.method == "slq":
            mean, se, lo, hi = slq_estimate(self.nodes, self.weights, self._need_dim(), t,
                                            below=True, level=self.level)
            return Count(mean, "estimate", lo, hi, se)
        n = int(np.count_nonzero(self.values < t))
        if self.complete:
            return Count(n, "exact")
        return Count(n, "lower", why="not converged" if not self.converged or self.lower_bound
                     else "bottom end untested")

    def quadrature(self):
        """(nodes, weights) for a density: SLQ's (nprobe x nsteps); a full spectrum as
        one row of its D eigenvalues with weight 1/D.  NoSpectrum for Lanczos (Ritz
        values carry no weights)."""
        if self.method == "slq":
            return self.nodes, self.weights
        if self.method == "full" and self.values.size:
            return self.values[None, :], np.full((1, self.values.size), 1.0 / self.values.size)
        raise NoSpectrum(f"Hessian task {self.task}: Lanczos Ritz values carry no quadrature "
                         "weights, so they give no density (run the probe with method slq or "
                         "full)")

    def trace(self):
        """(trace of H, its standard error): SLQ's stored Hutchinson estimate; a full
        spectrum's sum of eigenvalues (se 0); Lanczos: NaN."""
        if self.method == "slq":
            return self.trace_est, self.trace_se
        if self.method == "full":
            return float(np.sum(self.values)), 0.0
        return math.nan, math.nan

    def _need_dim(self):
        if self.dim is None:
            raise NoSpectrum(f"Hessian task {self.task}: the parameter count D of its network "
                             "is not in the output (nparams of its training)")
        return self.dim


def task_spectra(ds):
    """{Hessian task id: TaskSpectrum} of the done Hessian tasks of a flat output.
    Raises NoHessians if there are none."""
    is_h = flags.is_kind(ds, "hessian")
    if "hessian_at" not in ds or not is_h.any():
        raise NoHessians("the output has no Hessian (short-direction) tasks")
    method, thr, level = study_method(ds), study_threshold(ds), _level(ds)
    done = flags.is_status(ds, "done")
    dims = _hessian_nparams(ds)
    res_attrs = ds["hessian_residual"].attrs if "hessian_residual" in ds else {}
    test = {"tol": float(res_attrs.get("tol", RESIDUAL_TOL)),
            "conv_frac": float(res_attrs.get("conv_frac", CONV_FRAC))}
    out = {}
    for i in np.flatnonzero(is_h & done):
        t = int(ds.task.values[i])
        conv = _flag(ds, "hessian_converged", i, 1)
        lb = _flag(ds, "hessian_lower_bound", i, 0 if method != "lanczos" else int(not conv))
        if method == "slq":
            out[t] = TaskSpectrum(t, method, thr, dims[i], converged=False,
                                  nodes=ds.slq_nodes.values[i], weights=ds.slq_weights.values[i],
                                  level=level,
                                  trace=_val(ds, "hessian_trace", i),
                                  trace_se=_val(ds, "hessian_trace_se", i))
        else:
            n = int(_val(ds, "hessian_n", i, 0))
            vals = ds.hessian_ritz.values[i][:n] if "hessian_ritz" in ds else []
            res = ds.hessian_residual.values[i][:n] if "hessian_residual" in ds else None
            d = dims[i]
            if method == "full" and not math.isfinite(d):
                d = float(n)
            out[t] = TaskSpectrum(t, method, thr, d, vals, res, converged=bool(conv),
                                  lower_bound=bool(lb), **test)
    return out


def _val(ds, name, i, default=math.nan):
    if name not in ds:
        return default
    v = float(ds[name].values[i])
    return v if math.isfinite(v) else default


def _flag(ds, name, i, default):
    v = _val(ds, name, i, math.nan)
    return int(v) if math.isfinite(v) and v >= 0 else default


# ---- the counts a task stored ----------------------------------------------------------

_LEVEL_OF = {"n_short_half": 0.5, "n_short": 1.0, "n_short_double": 2.0, "n_negative": -1.0}


def stored_count(row, name="n_short"):
    """The count ``name`` (n_short, n_short_half, n_short_double, n_negative) of one
    row of ``hessian_frame`` as a Count: SLQ's estimate with its interval, a
    Lanczos lower bound as such, else exact.  Missing (task not done): kind
    "missing"."""
    if row is None:
        return Count(math.nan, "missing")
    v = row.get(name, math.nan)
    if v is None or not np.isfinite(v):
        return Count(math.nan, "missing")
    method = row.get("method", "lanczos")
    if method == "slq":
        lv = _LEVEL_OF[name]
        m = row.get(f"slq_count@{lv:g}", math.nan)
        if np.isfinite(m):
            return Count(m, "estimate", row.get(f"slq_count_lo@{lv:g}", math.nan),
                         row.get(f"slq_count_hi@{lv:g}", math.nan),
                         row.get(f"slq_count_se@{lv:g}", math.nan))
        return Count(v, "estimate")
    if method == "full":
        return Count(v, "exact")
    if name == "n_negative":  # Lanczos' bottom end is a lower bound always
        if row.get("complete", False):
            return Count(v, "exact")
        return Count(v, "lower", why="not converged" if row.get("lower", False)
                     else "bottom end untested")
    return Count(v, "lower" if row.get("lower", False) else "exact")


def stored_negative(row):
    """n_negative of a hessian_frame row as a Count (stored_count)."""
    return stored_count(row, "n_negative")


# ---- places and settings -------------------------------------------------------------

def place(row):
    """Where a Hessian row measures, as a sortable key: (0, 0) an optimum,
    (1, k) point X_k of a 1-connector, (m, 0) the centre of an m-connector."""
    if row["site"] == "optimum":
        return (0, 0)
    m = int(row["m"])
    return (1, int(row["point"]) + 1) if m == 1 else (m, 0)


def place_label(key):
    kind, k = key
    if kind == 0:
        return "optimum"
    if kind == 1:
        return f"tunnel X_{k}"
    return f"centre m={kind}"


def setting_label(row, keys):
    """"lr=0.001, seed=0": the row's values of ``keys``."""
    return ", ".join(f"{k}={kv(row[k])}" for k in keys if k in row)


def setting_keys(ds):
    """The swept keys, and seed when it is not swept (it names a replicate)."""
    keys = swept_keys(ds)
    if "seed" not in keys and "seed" in ds.variables:
        keys = keys + ["seed"]
    return keys


# ---- is it an optimum? -----------------------------------------------------------------

def negative_warnings(hf, keys):
    """Warning lines for the trained optima with eigenvalues below -lambda_thr
    (n_negative > 0 at the study threshold), one per task, and a closing count
    (an empty list when there is none).  ``hf``: hessian_frame (done rows);
    ``keys``: the settings naming a task (setting_keys)."""
    thr = hf.attrs.get("threshold", math.nan)
    opt = hf[(hf.site == "optimum") & (hf.status == "done")]
    lines = []
    for _, r in opt.sort_values("task_id").iterrows():
        neg = stored_negative(r)
        if neg.kind == "missing" or not neg.value > 0:
            continue
        if r.get("method") == "slq" and not round(neg.value) > 0:
            continue  # the stored n_negative of SLQ is its rounded mean
        lm = r.get("lambda_min", math.nan)
        how = {"lanczos": f"lambda_min <= {lm:.4g} (the smallest Ritz value)",
               "slq": f"lambda_min ~ {lm:.4g} (the smallest SLQ node)"}.get(
                   r.get("method"), f"lambda_min = {lm:.4g}")
        lines.append(f"warning: not a minimum: {setting_label(r, keys)} (Hessian task "
                     f"{int(r.task_id)} at the optimum of training {int(r.source_task)}): "
                     f"{neg} eigenvalues below -lambda_thr = {-thr:g}; {how}")
    if lines:
        lines.append(f"warning: {len(lines)} of {len(opt)} trained optima have eigenvalues "
                     f"below -lambda_thr = {-thr:g}: at this threshold they are saddles or "
                     "not yet minima (train longer, or check lambda_thr)")
    return lines


# |H - H^T|_F / |H|_F of a full probe's assembled matrix above which its products
# are inconsistent: float products of a correct R-operator give 1e-8 to 1e-6
ASYMMETRY_LIMIT = 1e-4


def asymmetry_warnings(hf, keys):
    """Warning lines for the full-spectrum rows whose assembled Hessian was not
    symmetric (hessian_asymmetry above ASYMMETRY_LIMIT): their eigenvalues are of
    (H + H^T)/2 of inconsistent products, not a ground truth."""
    lines = []
    if "asymmetry" not in hf:
        return lines
    bad = hf[(hf.status == "done") & (hf.asymmetry > ASYMMETRY_LIMIT)]
    for _, r in bad.sort_values("task_id").iterrows():
        lines.append(f"warning: asymmetric Hessian: {setting_label(r, keys)} (Hessian task "
                     f"{int(r.task_id)}): |H - H^T| / |H| = {r.asymmetry:.3g} > "
                     f"{ASYMMETRY_LIMIT:g}: its products are inconsistent, its spectrum is "
                     "not a ground truth")
    return lines


def print_negative_warnings(hf, keys):
    """Print negative_warnings(hf, keys) and asymmetry_warnings on stdout, then a
    blank line if any; returns the number of optima that are not minima."""
    neg = negative_warnings(hf, keys)
    lines = neg + asymmetry_warnings(hf, keys)
    for ln in lines:
        print(ln)
    if lines:
        print()
    return len(neg) - 1 if neg else 0


# ---- calibration: the threshold giving a count ------------------------------------------

def threshold_for_count(spec, d):
    """The threshold at which the spectrum ``spec`` has ``d`` eigenvalues above it.

    Full / Lanczos (descending values v): exactly d values lie above every t in
    [v[d], v[d-1]) (v counted from 0; v[d] = -inf when only d are stored); the
    point returned is the geometric mean of the two ends when both are positive,
    else the middle of (max(v[d], 0), v[d-1]).  Equal ends (a repeated value): no
    threshold gives exactly d; t = v[d-1], where the count drops past d.  SLQ: the
    estimated count is a step function of t, falling at the nodes; t is the node
    where it falls below d (sup{t: mean(t) >= d}), and [lo, hi] the same crossing
    for the interval's ends (hi(t) >= d and lo(t) >= d): the thresholds at which d
    is inside the confidence interval.

    Returns a dict: t, lo, hi (the range), exact (d is hit exactly by a threshold
    range; False for SLQ and repeated values), bound ("" or "lower": Lanczos values
    at that depth have not converged, so the true threshold is at least t), note
    (why there is no value, if t is NaN).
    """
    nan = math.nan
    res = {"t": nan, "lo": nan, "hi": nan, "exact": False, "bound": "", "note": ""}
    if d < 1:
        res["note"] = f"d = {d}: no threshold (need d >= 1)"
        return res
    if spec.method == "slq":
        ok = spec.weights > 0
        cand = np.unique(spec.nodes[ok])
        mean, se, lo, hi = _slq_curve(spec.nodes, spec.weights, spec._need_dim(), cand,
                                      spec.level)

        def cross(f):
            j = np.flatnonzero(f >= d - 1e-9 * d)
            if not j.size:  # below every node all the weight is above: D
                return float(cand[0]) if spec.dim >= d else nan
            k = j[-1] + 1
            return float(cand[k]) if k < cand.size else nan

        res.update(t=cross(mean), lo=cross(lo), hi=cross(hi))
        if not np.isfinite(res["t"]):
            res["note"] = f"the SLQ estimate stays at or above {d} up to the largest node"
        elif res["t"] <= 0:
            res["note"] = f"the estimate falls below {d} only at t = {res['t']:.4g} <= 0"
            res["t"] = nan
        return res
    v = spec.values
    if d > v.size:
        res["note"] = f"only {v.size} values stored, fewer than d = {d}"
        return res
    top = float(v[d - 1])
    bot = float(v[d]) if d < v.size else -math.inf
    if not top > 0:
        res["note"] = f"the spectrum has fewer than {d} positive values (the {d}-th is {top:.4g})"
        return res
    res.update(lo=bot, hi=top)
    if bot == top:
        res.update(t=top, exact=False, note=f"value {top:.6g} repeats: no threshold gives "
                                              f"exactly {d}")
    else:
        res["exact"] = True
        res["t"] = math.sqrt(bot * top) if bot > 0 else 0.5 * (max(bot, 0.0) + top)
    if spec.method == "lanczos" and not spec.complete:
        if not (spec._exact_at(bot if bot > -math.inf else top) and spec._exact_at(top)):
            res["bound"] = "lower"
    return res


# ---- calibration of lambda_thr from the local subspace dimensions ------------------------

class CannotCalibrate(ValueError):
    """The output lacks what a calibration needs (the message says what)."""


def calibrate(ds, fraction=0.9, spectra=None):
    """lambda_thr such that N_short at each trained optimum equals its local
    subspace dimension (METHODS.md, "Number of short directions"), or its
    intrinsic dimension.

    Per done Hessian task at a trained optimum: d = the smallest sampled subspace
    dimension whose training anchored at that optimum (``probes.subspace`` with
    ``at: optimum``: the local subspace dimension) or at that training's
    initialisation (``at: init``: its intrinsic dimension, which the paper links
    to the count at the optima) reaches ``fraction`` x the training's test
    accuracy (subspaces.intrinsic_dims, "sampled"), then
    ``threshold_for_count(spectrum, d)``.  A d reached already at the smallest sampled dimension is only an upper
    bound (d <= d_min), so its threshold is a lower bound; a d never reached
    (d > d_max) gives an upper bound on the threshold (at d_max); neither enters
    the study's value.

    Returns (per_optimum DataFrame, study dict).  Columns: task_id (Hessian task),
    source_task (training), the hessian_frame settings, direct_test_accuracy,
    target, d, d_below (the largest sampled d that fell short), d_status
    ("bracketed", "<= d" below the sampled range, "> d" not reached, "no target",
    "no subspace rows"), t, t_lo, t_hi (threshold_for_count at d), t_below (at
    d_below + 1, the other end of d's bracket), exact, bound (threshold_for_count),
    use (enters the study's value), note.  study: t (median of t over the optima
    used), t_min, t_max, n_used, n_optima, method, fraction, anchor (the
    subspaces' ``at``: "optimum" or "init").
    Raises CannotCalibrate when there are no done Hessian rows at optima, no
    subspace rows, or none done; NoHessians without
    Hessian rows.
    """
    import pandas as pd
    from .connectors import hessian_frame
    from .subspaces import NoSubspaces, intrinsic_dims, subspace_frame
    hf = hessian_frame(ds)
    opt = hf[hf.site == "optimum"]
    if opt.empty:
        raise CannotCalibrate("no Hessian rows at the trained optima (probes.hessian.at must "
                              "include optima)")
    done = opt[opt.status == "done"]
    if done.empty:
        raise CannotCalibrate(f"no done Hessian rows at the optima yet (0 of {len(opt)})")
    try:
        sf = subspace_frame(ds)
    except NoSubspaces:
        raise CannotCalibrate("no subspace-training rows: the local subspace dimension needs "
                              "probes.subspace with at: optimum (the intrinsic dimension: "
                              "at: init)") from None
    anchor = sf.attrs.get("at") or "init"
    if not (sf.status == "done").any():
        raise CannotCalibrate(f"no done subspace rows yet (0 of {len(sf)})")
    dims = intrinsic_dims(sf, fraction=fraction).set_index("source_task")
    spectra = task_spectra(ds) if spectra is None else spectra
    keep = [c for c in hf.columns if c not in ("status",)]
    out = []
    nan = math.nan
    for _, r in done.sort_values("task_id").iterrows():
        row = {c: r[c] for c in keep}
        row.update(direct_test_accuracy=nan, target=nan, d=nan, d_below=nan,
                   d_status="no subspace rows", t=nan, t_lo=nan, t_hi=nan, t_below=nan,
                   exact=False, bound="", use=False, note="")
        tr = int(r.source_task)
        spec = spectra.get(int(r.task_id))
        if tr in dims.index:
            di = dims.loc[tr]
            row.update(direct_test_accuracy=float(di.direct_test_accuracy),
                       target=float(di.target), d_below=float(di.lower))
            if not math.isfinite(di.target):
                row["d_status"] = "no target"
                row["note"] = "its training is not done"
            elif not di.reached:
                row.update(d=float(di.lower), d_status=f"> {di.lower:.0f}")
                row["note"] = (f"no sampled d reaches {fraction:g} x the direct accuracy: "
                               f"d > {di.lower:.0f}, so lambda_thr < the value at d = "
                               f"{di.lower:.0f}")
            elif di.below_range:
                row.update(d=float(di.sampled), d_status=f"<= {di.sampled:.0f}")
                row["note"] = (f"the smallest sampled d reaches the target: d <= "
                               f"{di.sampled:.0f}, so lambda_thr >= the value at it")
            else:
                row.update(d=float(di.sampled), d_status="bracketed")
        if spec is not None and math.isfinite(row["d"]):
            c = threshold_for_count(spec, int(row["d"]))
            row.update(t=c["t"], t_lo=c["lo"], t_hi=c["hi"], exact=c["exact"], bound=c["bound"])
            if c["note"]:
                row["note"] = "; ".join(x for x in (row["note"], c["note"]) if x)
            if row["d_status"] == "bracketed" and math.isfinite(row["d_below"]):
                cb = threshold_for_count(spec, int(row["d_below"]) + 1)
                row["t_below"] = cb["t"]
            row["use"] = bool(row["d_status"] == "bracketed" and math.isfinite(c["t"]))
        out.append(row)
    per = pd.DataFrame(out)
    used = per[per.use]
    ts = used.t.values.astype(float)
    study = {"t": float(np.median(ts)) if ts.size else nan,
             "t_min": float(ts.min()) if ts.size else nan,
             "t_max": float(ts.max()) if ts.size else nan,
             "n_used": int(ts.size), "n_optima": int(len(per)),
             "n_bound": int((used.bound != "").sum()) if ts.size else 0,
             "method": hf.attrs.get("method", "lanczos"), "fraction": fraction,
             "anchor": anchor}
    return per, study


# ---- spectral density ----------------------------------------------------------------------

def broadening_sigma(nodes, weights):
    """The Gaussian broadening of PyHessian (Yao et al. 2020), as src/hessian.c's
    wg_hessian_slq_sigma: sigma^2 = 1e-5 max(1, range), range = the mean over
    probes (rows) of (largest - smallest node with weight > 0) + 0.02.  A full
    spectrum is one row of D eigenvalues of weight 1/D each."""
    nodes = np.atleast_2d(np.asarray(nodes, dtype=float))
    weights = np.atleast_2d(np.asarray(weights, dtype=float))
    rng = 0.0
    for p in range(nodes.shape[0]):
        x = nodes[p][weights[p] > 0]
        if x.size:
            rng += float(x.max() - x.min())
    rng = (rng / nodes.shape[0] if nodes.shape[0] else 0.0) + 0.02
    return math.sqrt(1e-5 * max(1.0, rng))


def spectral_density(nodes, weights, sigma, grid, cut=8.0):
    """rho(x) = (1/nprobe) sum_p sum_k w_pk N(x; theta_pk, sigma^2) on an evenly
    spaced ``grid`` (src/hessian.c's wg_hessian_slq_density, which integrates to 1
    since each probe's weights sum to 1).  Rows of ``nodes``/``weights`` are
    probes; a full spectrum is one row with weights 1/D.  Each Gaussian is summed
    within ``cut`` sigma of its centre only (the rest is below exp(-cut^2/2) =
    1.3e-14 of its peak)."""
    nodes = np.atleast_2d(np.asarray(nodes, dtype=float))
    weights = np.atleast_2d(np.asarray(weights, dtype=float))
    grid = np.asarray(grid, dtype=float)
    if not sigma > 0:
        raise ValueError(f"density: sigma {sigma} (must be > 0)")
    P = nodes.shape[0]
    ok = weights > 0
    th, w = nodes[ok], weights[ok] / P
    rho = np.zeros(grid.size)
    if grid.size < 2 or not th.size:
        return rho
    h = (grid[-1] - grid[0]) / (grid.size - 1)
    half = int(math.ceil(cut * sigma / h))
    offs = np.arange(-half, half + 1)
    norm = 1.0 / (sigma * math.sqrt(2.0 * math.pi))
    block = max(1, 4_000_000 // offs.size)
    for s in range(0, th.size, block):
        t, ww = th[s:s + block], w[s:s + block]
        idx = np.rint((t - grid[0]) / h).astype(np.int64)[:, None] + offs[None, :]
        valid = (idx >= 0) & (idx < grid.size)
        z = (grid[np.clip(idx, 0, grid.size - 1)] - t[:, None]) / sigma
        val = (ww[:, None] * norm) * np.exp(-0.5 * z * z)
        rho += np.bincount(idx[valid], weights=val[valid], minlength=grid.size)
    return rho
