"""Numbers as text: the Markdown tables every tool prints next to its figure.

One formatting of a missing value ("-"), of a setting's value (``kv``), of a mean
with its spread (``pm``), and of a table (``print_table``), so the tools' tables
read alike.  ``median_inf`` is the median that counts "not reached" as +inf
(tunnel widths, intrinsic dimensions).
"""

import numpy as np

__all__ = ["fmt", "kv", "pm", "print_table", "median_inf"]


def fmt(x, spec=".4g"):
    """A number for a table: ``format(x, spec)``, or "-" if missing or not finite."""
    try:
        if x is None or not np.isfinite(x):
            return "-"
    except TypeError:
        return str(x)
    return format(x, spec)


def kv(v):
    """A setting's value for a label or a cell: floats in %g, anything else as str."""
    if isinstance(v, (float, np.floating)):
        return f"{v:g}"
    if isinstance(v, (np.integer,)):
        return str(int(v))
    return str(v)


def pm(x, spec, sspec=None):
    """'mean ± sd' (sd with n-1) of the finite values of x; one value alone; '-' if none."""
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return "-"
    if x.size == 1:
        return format(x[0], spec)
    return f"{format(x.mean(), spec)} ± {format(x.std(ddof=1), sspec or spec)}"


def print_table(caption, hdr, rows, align=None):
    """Print a caption and a Markdown table of strings, then a blank line.

    ``align``: one of "l"/"r" per column (default: every column right-aligned)."""
    if caption:
        print(caption)
        print()
    align = align or ["r"] * len(hdr)
    print("| " + " | ".join(hdr) + " |")
    print("|" + "|".join("---:" if a == "r" else "---" for a in align) + "|")
    for r in rows:
        print("| " + " | ".join(r) + " |")
    print()


def median_inf(x):
    """The median with +inf counted (not reached); NaN values are left out; the
    median of an even count is the mean of the middle two (inf if one of them is);
    NaN for no values.

        >>> median_inf([100, float("inf")])
        inf
    """
    a = np.asarray(x, dtype=float)
    a = np.sort(a[~np.isnan(a)])
    n = a.size
    if n == 0:
        return float("nan")
    return float(a[n // 2] if n % 2 else 0.5 * (a[n // 2 - 1] + a[n // 2]))
