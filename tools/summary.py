#!/usr/bin/python3
"""wedge-summary: a Markdown table of a sweep, one row per setting (--help says more).

Installed, this script is the command wedge-summary; its code is
wedgeds.commands.summary.  Python puts a script's own directory first on
sys.path, so run from a checkout it imports the package tools/wedgeds/ beside it.
"""
import sys

from wedgeds.commands.summary import main

sys.exit(main())
