#!/usr/bin/python3
"""wedge-plot-fig4: Figure 4: the number of short directions N_short (--help says more).

Installed, this script is the command wedge-plot-fig4; its code is
wedgeds.commands.fig4.  Python puts a script's own directory first on
sys.path, so run from a checkout it imports the package tools/wedgeds/ beside it.
"""
import sys

from wedgeds.commands.fig4 import main

sys.exit(main())
