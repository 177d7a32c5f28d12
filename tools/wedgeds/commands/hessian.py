#!/usr/bin/python3
"""wedge-hessian: N_short at any threshold from the stored Hessian spectra, and the calibration of lambda_thr.

usage: wedge-hessian OUT.nc [OUT2.nc ...] [--threshold T [T ...]]
       wedge-hessian OUT.nc [OUT2.nc ...] --calibrate [--fraction 0.9]

Re-thresholding (no rerun).  Every done Hessian task keeps its spectrum; the
counts N(t) = #{eigenvalues > t} at the thresholds T (default: 0.5x, 1x and 2x
the study's lambda_thr, the `threshold` attribute of n_short) are computed from
it, per task and then per setting (the swept keys other than seed) and place
(the trained optima; the points X_k of 1-connectors, by k; the centres of
m-connectors, by m), as the mean over the tasks there.  What each method lets
one know:
  full     all D eigenvalues: N(t) is exact at every t.
  lanczos  converged: every Ritz value above 0.5 lambda_thr passed the residual
           test |r| <= 1e-3 max(|theta|, lambda_thr), so N(t) is exact for
           t >= 0.5 lambda_thr (and down to the smallest Ritz value of the
           leading run that passes the test).  Stopped by its budget, or below
           that: ">= N (not converged)", a lower bound at every t by Cauchy
           interlacing (the k-th largest Ritz value never exceeds the k-th
           largest eigenvalue).  The column "converged down to" gives the
           smallest converged Ritz value: above it the counted Ritz values are
           eigenvalues to within their residuals (what stays unknown is an
           eigenvalue Lanczos has not found yet); below it (marked *) the
           bound also counts Ritz values that have not converged and may be far
           below the true count.  Nothing here bounds a count from above.
  slq      an estimate with its confidence interval, "N [lo, hi]": per probe
           c_p = D x (sum of the weights of the nodes above t), the mean over
           probes, se = sd / sqrt(nprobe), [lo, hi] = mean -+ t_{0.975,nprobe-1} se
           (the level of slq_count's confidence_level), computed as the C code
           does; at lambda_thr it reproduces the stored slq_count.
A mean over seeds of lower bounds is a lower bound (">= 98.7 (not converged)");
the mean of SLQ estimates is shown with [mean of lo, mean of hi].  A check line
says whether the recount at lambda_thr reproduces the stored counts.

Calibration (--calibrate).  lambda_thr is one number for a study, calibrated
once (METHODS.md): here so that N_short at the trained optima equals their
local subspace dimension, or their intrinsic dimension.  For every trained
optimum with a Hessian task:
  1. d = the smallest sampled dimension whose random-subspace training reaches
     FRACTION x the training's own test accuracy, as wedge-plot-intrinsic finds
     d_int; the subspace anchored at that optimum (probes.subspace with
     at: optimum: the local subspace dimension), or through the training's
     initialisation (at: init: the intrinsic dimension of Li et al., which the
     paper links to the ~300 short directions at the optima).  d is known to
     within its bracket (the largest sampled d that fell short, d].
  2. t = the threshold with exactly d eigenvalues above it in the stored
     spectrum: exactly d values exceed every t in [lambda_(d+1), lambda_d);
     t is the geometric mean of those two ends.  SLQ: the estimated count falls
     in steps at the nodes; t is the node where it drops below d, and the range
     the same for the ends of the interval.  A Lanczos spectrum not converged
     at that depth gives only a lower bound on t.
  3. The study's value: the median of t over the optima whose d is bracketed
     (a d reached at the smallest sampled dimension, or never reached, gives
     only a bound and is listed but left out), with the spread min..max.
Then every count is re-thresholded at the calibrated value (0.5x, 1x, 2x).
Note: anchored at an optimum, subspace training starts from the optimum's own
accuracy (z = 0), so FRACTION x that accuracy is met without training unless
the subspace training first loses accuracy; then d is only "<= the smallest d"
at every optimum and the calibration refuses.  (Measured on SimpleCNN optima of
Fashion-MNIST: one epoch in subspaces of d = 10, 100 and 1000 through an optimum
kept its test accuracy within 1%; the intrinsic dimension is the one to use.)
Needs done Hessian rows at the optima and done subspace rows of their
trainings; refuses otherwise.

Warnings: every trained optimum with eigenvalues below -lambda_thr
(n_negative > 0 at the study threshold) is named with its count and
lambda_min: at that threshold it is no minimum.

Several files of one sweep (array jobs) are combined.
Exit status: 0, 1 a file that is not a readable wedge output or a recount that
does not reproduce the stored counts (CHECK FAILED), 2 bad arguments, no done
Hessian rows, or (--calibrate) no calibration possible.
"""
import math

from .. import cli, spectra
from ..connectors import NoHessians, hessian_frame
from ..files import swept_keys
from ..tables import fmt, kv, print_table

PROG = "wedge-hessian"


def _status(spec):
    if spec.method == "full":
        return "full (exact)"
    if spec.method == "slq":
        return f"slq {spec.nodes.shape[0]} x {spec.nodes.shape[1]}"
    if spec.complete:
        return "lanczos (all D)"
    return "lanczos converged" if spec.converged and not spec.lower_bound else \
        "lanczos NOT converged"


def _floor(spec):
    if spec.method != "lanczos" or spec.complete:
        return "-"
    f = spec.conv_floor
    if f == math.inf:
        return "none"
    if f == -math.inf:
        return "all"
    return f"{f:.4g}"


def _tcol(t, thr):
    r = t / thr if thr > 0 else math.nan
    return f"N(>{t:.4g})" + (f" [{r:g}x]" if math.isfinite(r) else "")


def recount_tables(title, hf, specs, thresholds, thr, keys, caption_extra=""):
    """Print the per-task and the per-(setting, place) tables of counts at
    ``thresholds``; returns whether any loose lower bound was printed."""
    done = hf[hf.status == "done"].copy()
    done["place"] = [spectra.place(r) for _, r in done.iterrows()]
    done = done.sort_values(["place", "task_id"], kind="stable")
    nonseed = [k for k in keys if k != "seed"]
    cols = [_tcol(t, thr) for t in thresholds]
    counts = {}
    for _, r in done.iterrows():
        s = specs.get(int(r.task_id))
        counts[int(r.task_id)] = [s.count(t) if s is not None else spectra.Count(math.nan, "missing")
                                  for t in thresholds]
    method = hf.attrs.get("method", "lanczos")
    hdr = ["task", "place"] + keys + ["method", "HVPs"]
    if method == "lanczos":
        hdr += ["converged down to"]
    if method == "slq":
        hdr += ["quadrature bound at 1x"]
    hdr += cols
    rows = []
    loose = False
    for _, r in done.iterrows():
        t = int(r.task_id)
        s = specs.get(t)
        c = counts[t]
        loose |= any(x.loose for x in c)
        row = [str(t), spectra.place_label(r.place)] + [kv(r[k]) for k in keys] + \
            [_status(s) if s else "-", fmt(r.hessian_hvps, ".0f")]
        if method == "lanczos":
            row.append(_floor(s) if s else "-")
        if method == "slq":
            row.append(f"+-{spectra.slq_bias(s.nodes, s.weights, s.dim, thr):.1f}"
                       if s and s.dim else "-")
        rows.append(row + [str(x) for x in c])
    print_table(f"{title}: counts per Hessian task{caption_extra}", hdr, rows,
                ["r", "l"] + ["r"] * (len(hdr) - 2))
    if loose:
        print(spectra.LOOSE_NOTE)
        print()
    # per setting and place
    groups = {}
    for _, r in done.iterrows():
        g = (tuple(_key(r[k]) for k in nonseed), r.place)
        groups.setdefault(g, []).append(int(r.task_id))
    hdr = nonseed + ["place", "tasks"] + cols
    rows = []
    order = {}
    for (sv, pl) in groups:
        order.setdefault(sv, len(order))
    for (sv, pl), ts in sorted(groups.items(), key=lambda kv_: (order[kv_[0][0]], kv_[0][1])):
        cells = []
        for j in range(len(thresholds)):
            a = spectra.aggregate([counts[t][j] for t in ts])
            txt = a.text("" if a.n == 1 else ".1f") if a.kind != "estimate" else a.text()
            if a.n > 1 and a.vmin != a.vmax and a.kind != "estimate":
                txt += f" ({a.vmin:.0f}-{a.vmax:.0f})"
            cells.append(txt)
        rows.append([kv(v) for v in sv] + [spectra.place_label(pl), str(len(ts))] + cells)
    print_table(f"{title}: counts per setting and place, mean over the tasks (min-max)"
                f"{caption_extra}", hdr, rows, ["l"] * (len(nonseed) + 1) + ["r"] * (len(hdr) - len(nonseed) - 1))
    return loose


def _key(v):
    return v.item() if hasattr(v, "item") else v


def reproduction_check(hf, specs, thr):
    """One line: do the recounts at lambda_thr reproduce the stored counts?
    Full / Lanczos: the count equals n_short (and n_short_half, n_short_double at
    0.5x, 2x); SLQ: mean, se, lo, hi equal slq_count* to 1e-12 relative."""
    done = hf[hf.status == "done"]
    bad = []
    n = 0
    for _, r in done.iterrows():
        s = specs.get(int(r.task_id))
        if s is None:
            continue
        n += 1
        for name, f in (("n_short_half", 0.5), ("n_short", 1.0), ("n_short_double", 2.0)):
            c = s.count(f * thr)
            if s.method == "slq":
                for part, got in (("", c.value), ("_se", c.se), ("_lo", c.lo), ("_hi", c.hi)):
                    want = r.get(f"slq_count{part}@{f:g}", math.nan)
                    if not abs(got - want) <= 1e-12 * max(abs(want), 1e-300):
                        bad.append(f"task {int(r.task_id)} slq_count{part} at {f:g}x: {got!r} "
                                   f"!= {want!r}")
            elif c.value != r[name]:
                bad.append(f"task {int(r.task_id)} {name}: recount {c.value:.0f} != stored "
                           f"{r[name]:.0f}")
    what = "slq_count, its se and interval (1e-12 relative)" if hf.attrs.get("method") == "slq" \
        else "n_short_half, n_short, n_short_double"
    if bad:
        print(f"CHECK FAILED: the recount at 0.5x, 1x, 2x lambda_thr differs from the stored "
              f"{what}:")
        for b in bad:
            print(f"  {b}")
    else:
        print(f"Check: the recount at 0.5x, 1x, 2x lambda_thr reproduces the stored {what} "
              f"of all {n} done tasks.")
    print()
    return not bad


def _method_note(method, thr):
    if method == "full":
        return "full spectrum: every count is exact."
    if method == "slq":
        return ("SLQ: counts are estimates, N [lo, hi] their confidence interval (the probes' "
                "noise only); the quadrature's error is bounded separately (Chebyshev-Markov-"
                "Stieltjes: D x the weight of a node next to the threshold), shown at 1x as "
                "'quadrature bound'.")
    return (f"Lanczos: a converged count is exact down to 0.5 lambda_thr = {0.5 * thr:g}; "
            "a run stopped by its budget gives lower bounds only, \">= N (not converged)\".")


def _calibration(ds, title, hf, specs, keys, fraction):
    try:
        per, st = spectra.calibrate(ds, fraction, specs)
    except spectra.CannotCalibrate as e:
        cli.die(f"--calibrate: {e}")
    pct = f"{100 * fraction:g}%"
    hdr = keys + ["training", "Hessian task", "direct acc", f"target ({pct})", "d",
                  "bracket", "lambda_thr at d", "range (exactly d)", "at bracket's low end",
                  "N(>t) at t", "used"]
    rows = []
    for _, r in per.iterrows():
        s = specs.get(int(r.task_id))
        t = r.t
        tt = fmt(t, ".5g")
        if not math.isfinite(t):
            pass
        elif r.d_status.startswith("<="):  # d an upper bound: t a lower bound
            tt = f">= {tt}"
        elif r.d_status.startswith(">"):  # d a lower bound: t an upper bound
            tt = "unknown (bounds conflict)" if r.bound == "lower" else f"< {tt}"
        elif r.bound == "lower":
            tt = f">= {tt} (not converged)"
        rng = "-" if not math.isfinite(r.t_hi) else \
            f"[{fmt(r.t_lo, '.4g')}, {fmt(r.t_hi, '.4g')})" if s.method != "slq" else \
            f"{fmt(r.t_lo, '.4g')}..{fmt(r.t_hi, '.4g')} (interval)"
        br = "-" if not math.isfinite(r.d_below) else f"({r.d_below:.0f}, {fmt(r.d, '.0f')}]"
        if r.d_status.startswith("<="):
            br = f"<= {r.d:.0f}"
        elif r.d_status.startswith(">"):
            br = f"> {r.d:.0f}"
        chk = str(s.count(t)) if s is not None and math.isfinite(t) else "-"
        rows.append([kv(r[k]) for k in keys] +
                    [str(int(r.source_task)), str(int(r.task_id)),
                     fmt(r.direct_test_accuracy, ".4f"), fmt(r.target, ".4f"),
                     fmt(r.d, ".0f"), br, tt, rng, fmt(r.t_below, ".4g"), chk,
                     "yes" if r.use else "no"])
    what = "the local subspace dimension" if st["anchor"] == "optimum" else \
        "the intrinsic dimension"
    where = "anchored at the optimum" if st["anchor"] == "optimum" else \
        "through the training's initialisation"
    print_table(f"{title}: calibration of lambda_thr at the trained optima: d = {what} "
                f"(smallest sampled d reaching {pct} of the training's test accuracy, subspace "
                f"{where}), lambda_thr at d = the threshold with exactly d eigenvalues above it",
                hdr, rows)
    notes = [f"  task {int(r.task_id)}: {r.note}" for _, r in per.iterrows() if r.note]
    if notes:
        print("Notes:")
        print("\n".join(notes))
        print()
    if not st["n_used"]:
        why = ""
        if st["anchor"] == "optimum" and len(per) and per.d_status.str.startswith("<=").all():
            why = ("; every optimum reaches it already at the smallest d: training anchored "
                   "at an optimum starts from that optimum's own accuracy (z = 0), so a "
                   "fraction of it needs no dimension at all unless the subspace training "
                   "loses accuracy first")
        cli.die(f"--calibrate: none of the {st['n_optima']} optima has its {what[4:]} "
                "inside the sampled dims (see the notes above): widen "
                "probes.subspace.dims so that the target is crossed between two of them"
                + why)
    t = st["t"]
    bound = f"; {st['n_bound']} of them only lower bounds (Lanczos not converged)" \
        if st["n_bound"] else ""
    print(f"Calibrated lambda_thr = {t:.6g} ({what[4:]}): the median over {st['n_used']} of "
          f"{st['n_optima']} optima (spread {st['t_min']:.4g} .. {st['t_max']:.4g}, a factor "
          f"{st['t_max'] / st['t_min']:.3g}){bound}.  The study used lambda_thr = "
          f"{hf.attrs['threshold']:g}.")
    print()
    return t


def _run(argv):
    ap = cli.parser(PROG, __doc__)
    ap.add_argument("files", nargs="+", metavar="OUT.nc")
    ap.add_argument("--threshold", "-t", nargs="+", type=float, action="extend", metavar="T",
                    help="thresholds to count above (default: 0.5x, 1x, 2x lambda_thr)")
    ap.add_argument("--calibrate", action="store_true",
                    help="calibrate lambda_thr at the optima from their local subspace "
                         "dimension, then recount at it")
    ap.add_argument("--fraction", type=float, default=0.9,
                    help="--calibrate: target = FRACTION x the training's test accuracy "
                         "(default 0.9)")
    a = ap.parse_args(argv)
    if a.threshold and any(not (math.isfinite(t) and t > 0) for t in a.threshold):
        cli.die(f"--threshold {' '.join(f'{t:g}' for t in a.threshold)}: thresholds are "
                "numbers > 0")
    if a.threshold and a.calibrate:
        cli.die("--threshold and --calibrate: choose one (the calibration sets the threshold)")
    if not 0 < a.fraction <= 1:
        cli.die(f"--fraction {a.fraction:g}: must be in (0, 1]")

    ds, title, _ = cli.open_for_cli(a.files)
    try:
        hf = hessian_frame(ds)
        specs = spectra.task_spectra(ds)
    except NoHessians as e:
        cli.die(f"{a.files[0]}: {e} (add probes.hessian to the sweep)")
    if not specs:
        cli.die(f"{a.files[0]}: no done Hessian rows yet (0 of {len(hf)} done)")
    thr = hf.attrs["threshold"]
    method = hf.attrs["method"]
    keys = spectra.setting_keys(ds)
    print(f"## {title}: Hessian spectra")
    print()
    print(f"{' + '.join(a.files)}; swept: {' x '.join(swept_keys(ds)) or 'nothing'}; method "
          f"{method}, HVPs {ds.n_short.attrs.get('hvp', '?')}, study threshold lambda_thr = "
          f"{thr:g}; {len(specs)} of {len(hf)} Hessian tasks done.  {_method_note(method, thr)}")
    print()
    try:
        ok = reproduction_check(hf, specs, thr)
        if a.calibrate:
            t = _calibration(ds, title, hf, specs, keys, a.fraction)
            ths = [0.5 * t, t, 2 * t]
            extra = f", at the calibrated lambda_thr = {t:.4g} (0.5x, 1x, 2x)"
        else:
            ths = a.threshold or [0.5 * thr, thr, 2 * thr]
            extra = ""
        recount_tables(title, hf, specs, ths, t if a.calibrate else thr, keys, extra)
    except spectra.NoSpectrum as e:
        cli.die(f"{a.files[0]}: {e}", 1)
    spectra.print_negative_warnings(hf[hf.status == "done"], keys)
    return 0 if ok else 1


def main(argv=None):
    return cli.command(PROG, _run, argv)
