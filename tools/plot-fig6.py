#!/usr/bin/python3
"""wedge-plot-fig6: Figure 6: weight averaging (SWA) against prediction averaging (--help says more).

Installed, this script is the command wedge-plot-fig6; its code is
wedgeds.commands.fig6.  Python puts a script's own directory first on
sys.path, so run from a checkout it imports the package tools/wedgeds/ beside it.
"""
import sys

from wedgeds.commands.fig6 import main

sys.exit(main())
