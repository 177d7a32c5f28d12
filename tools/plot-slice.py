#!/usr/bin/python3
"""wedge-plot-slice: 1-D and 2-D loss slices along filter-normalised random directions
(--help says more).

Installed, this script is the command wedge-plot-slice; its code is
wedgeds.commands.slice.  Python puts a script's own directory first on
sys.path, so run from a checkout it imports the package tools/wedgeds/ beside it.
"""
import sys

from wedgeds.commands.slice import main

sys.exit(main())
