"""The command-line side every wedge-* tool shares: one way to fail, to parse
arguments, and to open the files it was given.

A tool's ``main`` is ``cli.command(PROG, body)``: ``body(argv)`` runs with PROG
known to ``die``, and any OutputError (a path that is not a readable wedge
output) ends the tool with one line "PROG: FILE: problem" on stderr and status 1,
never a traceback.  Exit statuses: 0 done, 1 an error (a bad file, an unwritable
output), 2 bad arguments or nothing to show (no rows of the needed kind).
"""

import argparse
import os
import sys

from .files import OutputError, open_outputs, sweep_title

__all__ = ["die", "command", "parser", "open_for_cli", "default_output"]

_prog = "wedgeds"


def die(msg, code=2):
    """Print "PROG: msg" on stderr and exit with ``code`` (default 2)."""
    print(f"{_prog}: {msg}", file=sys.stderr)
    sys.exit(code)


def command(prog, body, argv=None):
    """Run ``body(argv)`` as the tool ``prog``; returns its exit status."""
    global _prog
    _prog = prog
    os.environ.setdefault("MPLBACKEND", "Agg")
    try:
        return body(sys.argv[1:] if argv is None else list(argv)) or 0
    except OutputError as e:
        die(str(e), 1)
    except BrokenPipeError:  # e.g. piped into head: stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # no second error when Python flushes
        return 1
    except KeyboardInterrupt:
        return 130


def parser(prog, doc):
    """An ArgumentParser for ``prog``: the first line of ``doc`` as description,
    the rest as epilog (so --help explains the figure)."""
    first, _, rest = (doc or "").strip().partition("\n")
    return argparse.ArgumentParser(prog=prog, description=first,
                                   epilog=rest.strip() or None,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)


def open_for_cli(files):
    """Open the outputs a tool was given (OutputError ends the tool via command).

    Returns ``(ds, title, name)``: the flat dataset, a title for figures
    (files.sweep_title) and the sweep's name for output file names (its
    ``title`` attribute, else the first file's name without extension)."""
    ds = open_outputs(files)
    stem = os.path.splitext(os.path.basename(files[0]))[0]
    name = str(ds.attrs.get("title") or stem)
    return ds, sweep_title(ds, stem), name


def default_output(files, name, suffix):
    """<name>-<suffix>.png next to the first input."""
    return os.path.join(os.path.dirname(os.path.abspath(files[0])), f"{name}-{suffix}.png")
