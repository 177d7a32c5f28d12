#!/usr/bin/python3
"""wedge-plot-fig2: Figure 2: loss planes through three optima, tunnel widths vs epoch (--help says more).

Installed, this script is the command wedge-plot-fig2; its code is
wedgeds.commands.fig2.  Python puts a script's own directory first on
sys.path, so run from a checkout it imports the package tools/wedgeds/ beside it.
"""
import sys

from wedgeds.commands.fig2 import main

sys.exit(main())
