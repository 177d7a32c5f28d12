"""What every figure of the tools shares: style, axes, legend, caption, saving.

Figures are meant for a paper: axis labels from labels.py, ticks at the swept
values (log-spaced sweeps on a log axis), whole-number epoch ticks, one legend
entry per series, and the spread (what the bars or bands show, over how many
seeds) said once in a caption under the panels instead of in every entry.
matplotlib is imported here only, with the non-interactive Agg backend.
"""

import os
import sys
import textwrap

import numpy as np

from . import labels

__all__ = ["pyplot", "numeric", "log_spaced", "x_axis", "y_axis", "epoch_axis", "legend",
           "finish", "save", "integer_ticks", "counts", "count_legend", "print_labels"]

_STYLE = {
    "figure.dpi": 100, "savefig.dpi": 200, "savefig.bbox": "tight",
    "font.size": 9, "axes.titlesize": 9, "axes.labelsize": 9, "legend.fontsize": 8,
    "xtick.labelsize": 8, "ytick.labelsize": 8, "axes.spines.top": False,
    "axes.spines.right": False, "axes.grid": True, "grid.alpha": 0.3,
    "lines.markersize": 4, "errorbar.capsize": 3, "legend.frameon": False,
}


def pyplot():
    """matplotlib.pyplot on the Agg backend, with the tools' style."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    plt.rcParams.update(_STYLE)
    return plt


def numeric(values):
    """Whether ``values`` are numbers (a numeric axis) rather than names."""
    try:
        np.asarray(values, dtype=float)
        return True
    except (TypeError, ValueError):
        return False


def log_spaced(v):
    """True when the numbers v (an array) are non-negative and their positive ones
    span a decade or more: x_axis draws them on a log axis."""
    pos = v[v > 0]
    return bool(pos.size > 1 and (v >= 0).all() and pos.max() / pos.min() >= 10)


def x_axis(ax, key, values, note=None):
    """Label the x axis of ``ax`` for swept key ``key`` and choose its scale.

    Numbers spanning a decade or more get a log axis (symlog if 0 is among them);
    up to 8 distinct values get a tick each, printed as %g.  Names get one tick
    per value in the given order.  Returns a function value -> x position (the
    value itself on a numeric axis, its rank for names).
    """
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator
    ax.set_xlabel(labels.axis(key, note))
    uniq = list(dict.fromkeys(values))
    if not numeric(uniq):
        pos = {v: i for i, v in enumerate(uniq)}
        ax.set_xticks(range(len(uniq)))
        ax.set_xticklabels([str(v) for v in uniq])
        ax.set_xlim(-0.5, len(uniq) - 0.5)
        return lambda v: pos[v]
    v = np.unique(np.asarray(uniq, dtype=float))
    v = v[np.isfinite(v)]
    if log_spaced(v):
        if (v == 0).any():
            ax.set_xscale("symlog", linthresh=v[v > 0].min())
        else:
            ax.set_xscale("log")
    if 0 < v.size <= 8:
        ax.xaxis.set_major_locator(FixedLocator(v))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:g}"))
        ax.xaxis.set_minor_locator(NullLocator())
    return lambda x: float(x)


def y_axis(ax, q, note=None):
    """Label the y axis of ``ax`` with quantity ``q`` from the table (two lines
    when long, so it fits next to a panel of ordinary height)."""
    ax.set_ylabel(labels.axis(q, note, wrap=40))


def plain_log_ticks(axis):
    """Plain numbers, not powers of ten, on a log ``axis`` (ax.xaxis or ax.yaxis):
    evenly spaced ticks on a range narrower than a decade, 1-2-5 ticks on one to
    three decades (a radius of 9-97 otherwise shows only "10^1"); wider ranges keep
    matplotlib's powers of ten."""
    from matplotlib.ticker import FixedLocator, FormatStrFormatter, LogLocator, MaxNLocator
    lo, hi = axis.get_view_interval()
    if hi / lo < 10:
        ticks = [t for t in MaxNLocator(nbins=6).tick_values(lo, hi) if lo <= t <= hi and t > 0]
        axis.set_major_locator(FixedLocator(ticks))
    elif hi / lo < 1000:
        axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    else:
        return
    axis.set_major_formatter(FormatStrFormatter("%.3g"))
    axis.set_minor_formatter(FormatStrFormatter(""))


def integer_ticks(axis):
    """Whole-number ticks only on ``axis`` (ax.xaxis or ax.yaxis)."""
    from matplotlib.ticker import MaxNLocator
    axis.set_major_locator(MaxNLocator(integer=True))


def epoch_axis(ax, name="epoch"):
    """An x axis of epochs: whole-number ticks, labelled from the table."""
    ax.set_xlabel(labels.axis(name))
    integer_ticks(ax.xaxis)


def legend(ax, **kw):
    """A legend only when the axes hold more than one labelled series."""
    handles, names = ax.get_legend_handles_labels()
    if len(names) > 1:
        ax.legend(**kw)


def finish(fig, title=None, caption=None, width=110):
    """Title above, caption (wrapped at ``width`` characters) below the panels,
    and a tight layout that leaves room for both."""
    h = fig.get_figheight()
    top, bottom = 1.0, 0.0
    if title:
        fig.suptitle(title, fontsize=10)
        top = 1.0 - 0.38 / h
    if caption:
        text = "\n".join(textwrap.wrap(caption, width))
        n = text.count("\n") + 1
        fig.text(0.01, 0.01, text, ha="left", va="bottom", fontsize=7.5, color="0.25")
        bottom = (0.1 + 0.14 * n) / h
    fig.tight_layout(rect=(0, bottom, 1, top))


def print_labels(fig):
    """Print every panel's title and axis labels on stdout (--print-labels)."""
    for i, ax in enumerate(a for a in fig.axes if a.get_label() != "<colorbar>"):
        one = lambda t: " ".join(t.split())  # noqa: E731 -- wrapped labels on one line
        print(f"panel {i + 1}: x: {one(ax.get_xlabel())}; y: {one(ax.get_ylabel())}"
              + (f"; title: {one(ax.get_title())}" if ax.get_title() else ""))


def save(fig, out, prog, note=""):
    """Write the figure to ``out``; an error (full disk, no such directory) ends
    the tool with status 1 via cli.die.  Says where it went on stderr."""
    from .cli import die
    try:
        fig.savefig(out)
    except OSError as e:
        die(f"{out}: {e.strerror or e}", 1)
    print(f"{prog}: wrote {out}" + (f" ({note})" if note else ""), file=sys.stderr)


def counts(ax, x, cs, color, marker="o", ms=5, label=None, arrow=None, zorder=3):
    """Draw counts (wedgeds.spectra.Count) at positions ``x`` by what they are:
    exact counts as filled markers; lower bounds (Lanczos not converged) as open
    markers with an arrow up of length ``arrow`` (data units; default 8% of the
    largest value); SLQ estimates as filled markers with their confidence interval
    as error bars.  ``label`` goes on the first series drawn.  Returns the set of
    kinds drawn ("exact", "lower", "estimate")."""
    x = np.asarray(x, dtype=float)
    v = np.array([c.value for c in cs], dtype=float)
    kind = np.array([c.kind for c in cs])
    fin = np.isfinite(v)
    if arrow is None:
        arrow = 0.08 * float(np.max(np.abs(v[fin]))) if fin.any() else 1.0
        arrow = arrow or 1.0
    drawn = set()

    def lab():
        nonlocal label
        out, label = label, None
        return out

    sel = (kind == "exact") & fin
    if sel.any():
        ax.plot(x[sel], v[sel], marker, color=color, ms=ms, ls="none", label=lab(),
                zorder=zorder)
        drawn.add("exact")
    sel = (kind == "lower") & fin
    if sel.any():
        ax.errorbar(x[sel], v[sel], yerr=np.full(sel.sum(), arrow), lolims=True, fmt="none",
                    ecolor=color, elinewidth=1, capsize=3, zorder=zorder)
        ax.plot(x[sel], v[sel], marker, color=color, mfc="white", mew=1.3, ms=ms + 1,
                ls="none", label=lab(), zorder=zorder + 1)
        drawn.add("lower")
    sel = (kind == "estimate") & fin
    if sel.any():
        lo = np.array([c.lo for c in cs], dtype=float)[sel]
        hi = np.array([c.hi for c in cs], dtype=float)[sel]
        ax.errorbar(x[sel], v[sel], yerr=[v[sel] - lo, hi - v[sel]], fmt=marker, color=color,
                    ms=ms, capsize=3, elinewidth=1, label=lab(), zorder=zorder)
        drawn.add("estimate")
    return drawn


def count_legend(ax, kinds, level=0.95):
    """Legend entries (grey proxies) for what ``counts`` drew: "lower bound" for
    open markers with an arrow up, the interval for SLQ bars."""
    import warnings
    with warnings.catch_warnings():  # the proxies have no data (NaN): nothing to warn of
        warnings.simplefilter("ignore", RuntimeWarning)
        if "lower" in kinds:
            ax.errorbar([np.nan], [np.nan], yerr=[1.0], lolims=True, fmt="o", mfc="white",
                        color="0.35", capsize=3,
                        label="open, arrow up: lower bound (Lanczos not converged)")
        if "estimate" in kinds:
            ax.errorbar([np.nan], [np.nan], yerr=[1.0], fmt="o", color="0.35", capsize=3,
                        label=f"bars: SLQ {100 * level:g}% interval")
