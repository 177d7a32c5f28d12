#!/usr/bin/python3
"""wedge-plot-fig4: the paper's Figure 4 -- the number of short directions N_short.

usage: wedge-plot-fig4 OUT.nc [OUT2.nc ...] [-o PNG] [--key KEY]

N_short(X) = number of Hessian Ritz values above lambda_thr (the `threshold`
attribute of n_short; METHODS.md, "Number of short directions").  Up to three
panels, each drawn only if the file has the data for it:
  left    N_short along each 1-connector: x = position on the polyline O1 -> X_1 ..
          X_K -> O2 (0 = O1, k/(K+1) = X_k, 1 = O2), from the Hessian rows at its
          two optima and at its K points; the band spans the counts at 2x and 0.5x
          the threshold.
  middle  N_short at the centre of each m-connector against m (needs an
          m-connector with m > 1); m = 1 has no centre: its value is the MEAN over
          the 1-connector's K points (an open marker).  Bars: counts at 2x / 0.5x
          the threshold.  Horizontal line and band: mean and min-max of N_short at
          the optima of the same seed group.
  right   N_short at the optima against KEY (default: the first swept key that
          is not seed): mean over seeds, bars min-max; other swept keys give one
          line each.
Prints the numbers as markdown tables on stdout: the optima (one row per
training), the tunnel (points 0..K+1), the m-connectors (one row per m, then the
optima reference) and the KEY aggregate.  Under each tunnel's table a "profile:"
line: the mean N_short of its counted points against the mean of its two ends (in
percent), its highest point against the higher end and its lowest against the
lower; with several tunnels, one more line with the mean of those percentages.
Under the last two tables, "trend:" lines: the
least-squares slope of N_short against m at the centres (3 or more centres at 2 or
more m), against KEY at the optima (against log10 KEY when it spans a decade), each
with its 95% interval and two-sided p-value, and Welch's t-test of the centres
against the optima, of the highest KEY against the lowest.  The fit is over the
counts as points (an SLQ count: its unrounded mean over the probes, whose noise is
part of the scatter); lower bounds give no trend.  What a count is depends on the method
(the `method` attribute of n_short): full spectra and converged Lanczos counts are
exact ("138"); a Lanczos run stopped by its budget gives a lower bound, shown
">= 99 (not converged)" and drawn as an open marker with an arrow up; SLQ gives an
estimate with its confidence interval, "140 [129, 151]", drawn with that interval
as error bars.  A mean over seeds with a lower bound among them is a lower bound
too.  Trained optima with eigenvalues below -lambda_thr (n_negative > 0: no
minimum at that threshold) are named in warning lines after the tables.
wedge-hessian recounts at other thresholds.  Several files of one sweep (array
jobs) are combined.

Default output: <name>-fig4.png next to the first input.
Exit status: 0 written, 1 a file that is not a readable wedge output (or an
unwritable PNG), 2 bad arguments, no (done) Hessian rows, or no
panel with data.
"""
import numpy as np

from .. import cli, flags, labels, plotting, spectra
from ..connectors import NoConnectors, NoHessians, connector_frame, hessian_frame
from ..files import swept_keys
from ..layout import final_values
from ..tables import fmt, kv, print_table

PROG = "wedge-plot-fig4"
COUNTS = ("n_short", "n_short_half", "n_short_double")


def count(row, name="n_short"):
    """A count for a table: "-" if missing, ">= n (not converged)" for a lower
    bound, "n [lo, hi]" for an SLQ estimate, else n (spectra.stored_count)."""
    return str(spectra.stored_count(row, name))


def count_of(row, name="n_short"):
    """spectra.stored_count of a row (None: missing)."""
    return spectra.stored_count(row, name)


def how(row):
    """What the counts of a row are: exact, converged, not converged, estimate."""
    if row is None or not np.isfinite(row["n_short"]):
        return "-"
    if row["method"] == "slq":
        return "estimate (slq)"
    if row["method"] == "full" or row["complete"]:
        return "exact (full)" if row["method"] == "full" else "exact (all D)"
    return "no (lower bounds)" if row["lower"] else "yes"


def _per_m(lst):
    """{m: [count of each connector of order m]} from the middle panel's rows."""
    out = {}
    for t in lst:
        out.setdefault(t[0], []).append(t[2])
    return dict(sorted(out.items()))


def mean_count(rows, name="n_short", spec=".1f"):
    """The mean of a count over rows as text, a lower bound if any is one."""
    a = spectra.aggregate([spectra.stored_count(r, name) for r in rows])
    return a.text(spec if a.kind != "estimate" and a.n > 1 else None), a


def _run(argv):
    ap = cli.parser(PROG, __doc__)
    ap.add_argument("files", nargs="+", metavar="OUT.nc")
    ap.add_argument("-o", "--output", metavar="PNG")
    ap.add_argument("--key", help="swept key of the right panel (default: first non-seed key)")
    ap.add_argument("--print-labels", action="store_true",
                    help="print each panel's axis labels on stdout")
    a = ap.parse_args(argv)

    ds, title, name = cli.open_for_cli(a.files)
    try:
        hf = hessian_frame(ds)
    except NoHessians as e:
        cli.die(f"{a.files[0]}: {e} (add probes.hessian to the sweep)")
    thr = hf.attrs["threshold"]
    method = hf.attrs["method"]
    ntot = len(hf)
    hf = hf[hf.status == "done"]
    if hf.empty:
        cli.die(f"{a.files[0]}: no done Hessian rows yet (0 of {ntot} done)")
    keys = swept_keys(ds)
    nonseed = [k for k in keys if k != "seed"]
    if a.key is not None:
        k = {"name": "dataset"}.get(a.key.split(".")[-1], a.key.split(".")[-1])
        if k not in nonseed:
            cli.die(f"--key {a.key}: not a swept key besides seed (swept: {' '.join(keys) or 'none'})")
        a.key = k
    elif nonseed:
        a.key = nonseed[0]
    try:
        cf = connector_frame(ds)
    except NoConnectors:
        cf = None
    acc = final_test_accuracy(ds)

    opt = hf[hf.site == "optimum"].set_index("optimum")
    at_conn = hf[hf.site == "connector"]

    def opt_row(t):
        return opt.loc[t] if t in opt.index else None

    def group_label(row):
        return ", ".join(f"{k}={kv(row[k])}" for k in nonseed if k in row)

    # ---- optima, one row per training
    if not opt.empty:
        hdr = keys + ["training task", "Hessian task", "N_short", "N_short (0.5x)",
                      "N_short (2x)", "Ritz values", "HVPs", "converged", "test acc"]
        if hf.attrs["method"] == "slq":
            hdr[hdr.index("Ritz values")] = "trace"
        rows = []
        for t, r in opt.sort_index().iterrows():
            rows.append([kv(r[k]) for k in keys] +
                        [str(t), str(r.task_id), count(r), count(r, "n_short_half"),
                         count(r, "n_short_double"),
                         fmt(r.hessian_trace, ".4g") if r.method == "slq" else
                         fmt(r.hessian_n, ".0f"),
                         fmt(r.hessian_hvps, ".0f"), how(r), fmt(acc.get(t, np.nan), ".4f")])
        print_table(f"{title}: N_short at the trained optima, lambda_thr = {thr:g} "
                    f"(0.5x = {0.5 * thr:g}, 2x = {2 * thr:g})", hdr, rows)

    # ---- left: along each 1-connector
    tunnels = []
    profiles = []  # each tunnel's points against its ends, relative
    if cf is not None:
        for _, c in cf[(cf.m == 1)].iterrows():
            pts = at_conn[at_conn.connector == c.task_id].set_index("point")
            if pts.empty:
                continue
            K = int(c.n_points)
            o1, o2 = c.optima
            seq = [("O1", 0.0, opt_row(o1))]
            seq += [(f"X_{k}", k / (K + 1), pts.loc[k - 1] if k - 1 in pts.index else None)
                    for k in range(1, K + 1)]
            seq.append(("O2", 1.0, opt_row(o2)))
            tunnels.append((c, seq))
            hdr = ["point", "position", "at", "Hessian task", "N_short", "N_short (0.5x)",
                   "N_short (2x)", "converged"]
            rows = [[str(p), f"{x:.4f}", name, "-" if r is None else str(r.task_id), count(r),
                     count(r, "n_short_half"), count(r, "n_short_double"), how(r)]
                    for p, (name, x, r) in enumerate(seq)]
            g = group_label(c)
            print_table(f"{title}: N_short along the 1-connector task {c.task_id} "
                        f"(O1 = task {o1}, O2 = task {o2}{', ' + g if g else ''}), K = {K}",
                        hdr, rows)
            rel = print_tunnel_profile(seq, K)
            if rel is not None:
                profiles.append(rel)

    if len(profiles) > 1:
        print(f"profile: over {len(profiles)} tunnels the points' mean is "
              f"{100 * np.mean(profiles):+.1f}% against their ends' "
              f"({', '.join(f'{100 * r:+.1f}%' for r in profiles)})")
        print()

    # ---- middle: at the m-connector centres, against m
    mconn = {}  # group label -> list of (m, task, n, half, double, nvals, capped)
    refs = {}
    if cf is not None and (at_conn.m > 1).any():
        for _, c in cf.sort_values("m").iterrows():
            pts = at_conn[at_conn.connector == c.task_id]
            if pts.empty:
                continue
            g = group_label(c)
            prow = [r for _, r in pts.iterrows()]
            vals = [spectra.aggregate([spectra.stored_count(r, n) for r in prow])
                    for n in COUNTS]
            mconn.setdefault(g, []).append((int(c.m), int(c.task_id), *vals, len(pts),
                                            int(c.n_points)))
            if g not in refs:
                o = opt[[t in set(_group_optima(cf, g, group_label)) for t in opt.index]]
                refs[g] = o
        for g, lst in mconn.items():
            hdr = ["m", "connector task", "at", "N_short", "N_short (0.5x)", "N_short (2x)",
                   "Hessian rows"]
            rows = []
            for m, t, n, h, d, cnt, K in lst:
                where = "centre" if m > 1 else \
                    f"mean over X_1..X_{K}" if cnt == K else f"mean over {cnt} of {K} points"
                sp = None if m > 1 else ".1f"
                rows.append([str(m), str(t), where] +
                            [c.text(sp if c.kind != "estimate" else None) for c in (n, h, d)] +
                            [str(cnt)])
            o = refs[g]
            if not o.empty:
                orows = [r for _, r in o.iterrows()]
                rows.append(["optima", "-", f"mean of {len(o)} (min {o.n_short.min():.0f}, "
                             f"max {o.n_short.max():.0f})"] +
                            [mean_count(orows, n)[0] for n in COUNTS] + [str(len(o))])
            print_table(f"{title}: N_short at the m-connector centres"
                        f"{' (' + g + ')' if g else ''}; m = 1: mean over the 1-connector's "
                        f"points (no centre)", hdr, rows)
            per_m = _per_m(lst)
            if any(len(v) > 1 for v in per_m.values()):
                rows = []
                for m, cs in per_m.items():
                    v = np.array([c.value for c in cs], dtype=float)
                    am = spectra.aggregate(cs)
                    rows.append([str(m), str(len(cs)), am.text(".1f" if am.kind != "estimate"
                                                               else None),
                                 fmt(np.nanstd(v, ddof=1) if len(v) > 1 else np.nan, ".1f"),
                                 fmt(np.nanmin(v), ".0f"), fmt(np.nanmax(v), ".0f")])
                print_table(f"{title}: N_short against m over the connectors of each m "
                            f"(different sets of optima){' (' + g + ')' if g else ''}",
                            ["m", "connectors", "N_short mean", "std (n-1)", "min", "max"],
                            rows)
            print_centre_trend(lst, refs[g], g)

    # ---- right: at the optima against KEY
    agg = []
    if a.key is not None and not opt.empty:
        others = [k for k in nonseed if k != a.key]
        by = others + [a.key]
        for gval, g in opt.groupby(by if len(by) > 1 else a.key, sort=True):
            gval = gval if isinstance(gval, tuple) else (gval,)
            n = g.n_short
            grows = [r for _, r in g.iterrows()]
            txt, c = mean_count(grows)
            agg.append(dict(zip(by, gval), n=len(g), mean=n.mean(), text=txt, count=c,
                            std=n.std(ddof=1) if len(g) > 1 else np.nan, min=n.min(),
                            max=n.max(), half=g.n_short_half.mean(),
                            double=g.n_short_double.mean(),
                            half_text=mean_count(grows, "n_short_half")[0],
                            double_text=mean_count(grows, "n_short_double")[0],
                            acc=np.nanmean([acc.get(t, np.nan) for t in g.index])))
        hdr = by + ["n seeds", "N_short mean", "N_short std", "min", "max",
                    "N_short (0.5x) mean", "N_short (2x) mean", "test acc mean"]
        rows = [[kv(r[k]) for k in by] +
                [str(r["n"]), r["text"],
                 fmt(r["std"], ".2f"), fmt(r["min"], ".0f"), fmt(r["max"], ".0f"),
                 r["half_text"], r["double_text"], fmt(r["acc"], ".4f")]
                for r in agg]
        print_table(f"{title}: N_short at the optima against {a.key}; mean, std (n-1), "
                    f"min, max over seeds", hdr, rows)
        print_key_trend(opt, a.key, others)

    spectra.print_negative_warnings(hf, spectra.setting_keys(ds))

    panels = [p for p, ok in (("left", tunnels), ("middle", mconn), ("right", agg)) if ok]
    if not panels:
        why = []
        if not tunnels:
            why.append("no Hessian rows along a 1-connector")
        if not mconn:
            why.append("none at an m-connector centre (m > 1)")
        if not agg:
            why.append("no swept key besides seed" if a.key is None
                       else "no Hessian rows at optima")
        cli.die(f"{a.files[0]}: nothing to plot: {'; '.join(why)}")

    # ---- the figure
    plt = plotting.pyplot()

    fig, axes = plt.subplots(1, len(panels), figsize=(5.4 * len(panels), 4.4),
                             squeeze=False)
    axes = dict(zip(panels, axes[0]))
    drawn = {}  # panel -> kinds of counts drawn
    if "left" in axes:
        ax = axes["left"]
        kinds = drawn.setdefault("left", set())
        for j, (c, seq) in enumerate(tunnels):
            col = f"C{j}"
            x = np.array([s[1] for s in seq])
            val = {n: np.array([np.nan if r is None else r[n] for _, _, r in seq]) for n in COUNTS}
            cnt = [count_of(r) for _, _, r in seq]
            ok = np.isfinite(val["n_short"])
            g = group_label(c)
            lab = f"connector {c.task_id} (O1 = {c.optima[0]}, O2 = {c.optima[1]}" + \
                (f", {g})" if g else ")")
            ax.fill_between(x[ok], val["n_short_double"][ok], val["n_short_half"][ok], color=col,
                            alpha=0.2, lw=0, label="counts at 2x .. 0.5x threshold" if j == 0 else None)
            ax.plot(x[ok], val["n_short"][ok], "-", color=col, label=lab)
            inner = np.zeros(len(seq), dtype=bool)
            inner[1:-1] = True
            kinds |= plotting.counts(ax, x[inner], [cnt[i] for i in np.flatnonzero(inner)], col)
            kinds |= plotting.counts(ax, x[~inner], [cnt[i] for i in np.flatnonzero(~inner)],
                                     col, marker="s", ms=7,
                                     label="optima O1, O2" if j == 0 else None)
        K = len(tunnels[0][1]) - 2
        if K <= 12:
            ax.set_xticks([s[1] for s in tunnels[0][1]])
            ax.set_xticklabels([s[0].replace("_", "") for s in tunnels[0][1]], fontsize=8)
        ax.set_xlabel(labels.axis("position"))
        plotting.y_axis(ax, "n_short")
        ax.set_title("along a low-loss tunnel", fontsize=9)
    sets_bars = any(len(v) > 1 for lst in mconn.values() for v in _per_m(lst).values())
    if "middle" in axes:
        ax = axes["middle"]
        kinds = drawn.setdefault("middle", set())
        for j, (g, lst) in enumerate(mconn.items()):
            col = f"C{j}"
            ms = np.array([t[0] for t in lst])
            cn, ch, cd = ([t[k] for t in lst] for k in (2, 3, 4))
            n, h, d = (np.array([c.value for c in cs]) for cs in (cn, ch, cd))
            lab = g if g else "centre of the m-connector"
            big = ms > 1
            per_m = _per_m(lst)
            if any(len(v) > 1 for v in per_m.values()):
                # several connectors per m: their mean, bars min..max over them
                um = np.array([m for m in per_m if m > 1])
                vals = [np.array([c.value for c in per_m[m]], dtype=float) for m in um]
                mu = np.array([np.nanmean(v) for v in vals])
                ax.errorbar(um, mu, yerr=[mu - np.array([np.nanmin(v) for v in vals]),
                                          np.array([np.nanmax(v) for v in vals]) - mu],
                            fmt="-", color=col, capsize=3, alpha=0.6,
                            label=f"{lab}: mean over the sets (bars: min-max)")
            else:
                ax.errorbar(ms[big], n[big], yerr=[n[big] - d[big], h[big] - n[big]], fmt="-",
                            color=col, capsize=3, alpha=0.6, label=lab)
            kinds |= plotting.counts(ax, ms[big], [cn[i] for i in np.flatnonzero(big)], col)
            if (~big).any():
                ax.errorbar(ms[~big], n[~big], yerr=[n[~big] - d[~big], h[~big] - n[~big]],
                            fmt="none", color=col, capsize=3, alpha=0.6)
                kinds |= plotting.counts(ax, ms[~big], [cn[i] for i in np.flatnonzero(~big)],
                                         col, marker="D",
                                         label="m = 1: mean over the tunnel points X_1..X_K"
                                         if j == 0 else None)
            o = refs.get(g)
            if o is not None and not o.empty:
                oc = mean_count([r for _, r in o.iterrows()])[1]
                ax.axhline(o.n_short.mean(), color=col, ls="--", lw=1,
                           label=f"optima: mean of {len(o)} (dashed), band min-max" +
                           (" (a lower bound)" if oc.is_lower else "") if j == 0 else None)
                ax.axhspan(o.n_short.min(), o.n_short.max(), color=col, alpha=0.12, lw=0)
        allm = sorted({t[0] for lst in mconn.values() for t in lst})
        ax.set_xticks(allm)
        ax.set_xlabel(labels.axis("m"))
        plotting.y_axis(ax, "n_short")
        bars = "spread over the sets" if sets_bars else "2x / 0.5x threshold"
        ax.set_title(f"at the centre of m-connectors (bars: {bars})"
                     if len(mconn) > 1 or not next(iter(mconn)) else
                     f"at the centre of m-connectors, {next(iter(mconn))} "
                     f"(bars: {bars})", fontsize=9)
    if "right" in axes:
        ax = axes["right"]
        kinds = drawn.setdefault("right", set())
        others = [k for k in nonseed if k != a.key]
        series = {}
        for r in agg:
            series.setdefault(tuple(r[k] for k in others), []).append(r)
        xpos = plotting.x_axis(ax, a.key, [r[a.key] for r in agg])
        for j, (s, rs) in enumerate(series.items()):
            x = np.array([xpos(r[a.key]) for r in rs], dtype=float)
            m = np.array([r["mean"] for r in rs])
            lo = m - np.array([r["min"] for r in rs])
            hi = np.array([r["max"] for r in rs]) - m
            ax.errorbar(x, m, yerr=[lo, hi], fmt="-", capsize=3, color=f"C{j}",
                        label=labels.settings(others, s) or "at the optima")
            kinds |= plotting.counts(ax, x, [r["count"] for r in rs], f"C{j}")
            ax.plot(x, [r["half"] for r in rs], ":", color=f"C{j}", lw=1,
                    label="mean at 0.5x / 2x threshold" if j == 0 else None)
            ax.plot(x, [r["double"] for r in rs], ":", color=f"C{j}", lw=1)
        nn = sorted({r["n"] for r in agg})
        seeds_note = ("right: one seed per point" if nn == [1] else
                      f"right: mean over {nn[0] if len(nn) == 1 else f'{nn[0]}-{nn[-1]}'} "
                      "seeds, bars min-max over the seeds")
        plotting.y_axis(ax, "n_short", "at the optima")
        ax.set_title(f"at trained optima against {labels.name(a.key)}", fontsize=9)
    level = float(ds.slq_count.attrs.get("confidence_level", 0.95)) if "slq_count" in ds else 0.95
    for p, ax in axes.items():
        plotting.count_legend(ax, drawn.get(p, set()), level)
        plotting.legend(ax, fontsize=7)
    anylow = any("lower" in k for k in drawn.values())
    what = {"full": "Hessian eigenvalues (full spectrum)",
            "slq": "Hessian eigenvalues (SLQ estimates)"}.get(method, "Hessian Ritz values (Lanczos)")
    caption = (f"N_short: {what} above λ_thr = {thr:g}; bands and bars at 2x and "
               "0.5x the threshold" +
               ("; middle: the mean over the connectors of each m, bars min-max over them"
                if sets_bars else "") +
               ("; open markers with arrows up: lower bounds (Lanczos stopped by its budget "
                "before converging), and a mean with one among its terms is a lower bound"
                if anylow else "") +
               (f"; SLQ points carry their {100 * level:g}% interval" if method == "slq" else "")
               + (f"; {seeds_note}" if "right" in axes else "") + ".")
    plotting.finish(fig, f"{title}: number of short directions", caption)
    if a.print_labels:
        plotting.print_labels(fig)
    out = a.output or cli.default_output(a.files, name, "fig4")
    plotting.save(fig, out, PROG, f"panels: {', '.join(panels)}")
    return 0


def _trend_note(cs):
    """Why counts give no trend line (None: they do): lower bounds bound each count,
    not a slope."""
    if any(c.is_lower for c in cs):
        return "no trend: some counts are lower bounds (Lanczos not converged)"
    return None


def print_tunnel_profile(seq, K):
    """The 'profile:' line under a tunnel's table: the mean N_short of its counted
    points X_k against the mean of its two ends O1, O2 (both counted), and its highest
    and lowest points.  Returns the points' mean relative to the ends' (None: no
    line, as when an end or every point is missing or a count is a lower bound)."""
    cs = [(name, count_of(r)) for name, _, r in seq]
    ends = [cs[0][1], cs[-1][1]]
    pts = [(name, c) for name, c in cs[1:-1] if c.kind != "missing"]
    if not pts or any(c.kind == "missing" for c in ends):
        return None
    why = _trend_note([c for _, c in pts] + ends)
    if why:
        print(f"profile: {why.removeprefix('no trend: ')}\n")
        return None
    v = np.array([c.value for _, c in pts], dtype=float)
    e = float(np.mean([c.value for c in ends]))
    hi, lo = int(np.argmax(v)), int(np.argmin(v))
    top = max(c.value for c in ends)
    bot = min(c.value for c in ends)
    print(f"profile: the mean of {len(v)} of the {K} points {v.mean():.1f} against the "
          f"ends' {e:.1f} ({100 * (v.mean() / e - 1):+.1f}%); highest {pts[hi][0]} "
          f"{v[hi]:.1f} ({100 * (v[hi] / top - 1):+.1f}% against the higher end), lowest "
          f"{pts[lo][0]} {v[lo]:.1f} ({100 * (v[lo] / bot - 1):+.1f}% against the lower)")
    print()
    return float(v.mean() / e - 1)


def print_centre_trend(lst, opt, g):
    """'trend:' lines under the m-connector tables: the least-squares slope of N_short
    at the centres (m > 1) against m with its 95% interval and p-value, and the
    centres' mean against the optima's (Welch's t-test), when there are enough
    centres (3, at 2 or more m)."""
    cen = [(t[0], t[2]) for t in lst if t[0] > 1 and t[2].kind != "missing"]
    where = f" ({g})" if g else ""
    if len(cen) < 3 or len({m for m, _ in cen}) < 2:
        return
    why = _trend_note([c for _, c in cen])
    if why:
        print(f"trend{where}: {why}")
        return
    m = np.array([m for m, _ in cen], dtype=float)
    v = np.array([c.value for _, c in cen])
    tr = spectra.linear_trend(m, v)
    print(f"trend{where}: N_short at the m-connector centres against m, least squares "
          f"over {len(v)} centres (m = {m.min():.0f}..{m.max():.0f}): "
          f"{tr.text('unit of m')}")
    if opt is not None and len(opt) >= 2:
        ov = np.array([spectra.stored_count(r).value for _, r in opt.iterrows()])
        d, p = spectra.welch(v, ov)
        om = float(np.nanmean(ov))
        print(f"trend{where}: the centres' mean {v.mean():.1f} against the optima's {om:.1f} "
              f"({len(opt)} optima): {d:+.1f} ({100 * d / om:+.1f}%), Welch p = {p:.2g}")
    print()


def print_key_trend(opt, key, others):
    """'trend:' lines under the KEY table: per series (the other swept keys), the
    least-squares slope of N_short at the optima against KEY (against log10 KEY
    when its values span a decade, as the plot's axis), its 95% interval and
    p-value, and the lowest KEY against the highest (Welch's t-test)."""
    groups = opt.groupby(others, sort=True) if others else [((), opt)]
    out = []
    for gval, g in groups:
        gval = gval if isinstance(gval, tuple) else (gval,)
        where = ", ".join(f"{k}={kv(v)}" for k, v in zip(others, gval))
        where = f" ({where})" if where else ""
        try:
            x = g[key].astype(float).values
        except (TypeError, ValueError):
            continue  # a key of names: no line through them
        if np.unique(x).size < 2 or len(g) < 3:
            continue
        cs = [spectra.stored_count(r) for _, r in g.iterrows()]
        why = _trend_note(cs)
        if why:
            out.append(f"trend{where}: {why}")
            continue
        v = np.array([c.value for c in cs])
        log = plotting.log_spaced(np.unique(x))
        tr = spectra.linear_trend(np.log10(x) if log else x, v)
        if tr is None:
            continue
        unit = f"decade of {key}" if log else f"unit of {key}"
        out.append(f"trend{where}: N_short at the optima against {'log10 ' if log else ''}"
                   f"{key}, least squares over {tr.n} optima: {tr.text(unit)}")
        lo, hi = v[x == x.min()], v[x == x.max()]
        d, p = spectra.welch(hi, lo)
        out.append(f"trend{where}: {key} = {x.max():g} against {x.min():g}: {d:+.1f} "
                   f"({100 * d / lo.mean():+.1f}%), Welch p = {p:.2g}")
    for line in out:
        print(line)
    if out:
        print()


def final_test_accuracy(ds):
    """{training task id: test accuracy at its last epoch} for done trainings."""
    rows = np.flatnonzero(flags.is_kind(ds, "train") & flags.is_status(ds, "done"))
    if "test_accuracy" not in ds or not rows.size:
        return {}
    v = final_values(ds.test_accuracy.values[rows], ds.epochs.values[rows])
    return dict(zip(ds.task.values[rows].astype(int), v))


def _group_optima(cf, g, group_label):
    """Every training joined by a connector of seed group g (its label)."""
    out = set()
    for _, d in cf.iterrows():
        if group_label(d) == g:
            out.update(d.optima)
    return sorted(out)


def main(argv=None):
    return cli.command(PROG, _run, argv)
