#!/usr/bin/python3
"""wedge-plot-fig3: Figure 3: a low-loss tunnel (1-connector) between two optima (--help says more).

Installed, this script is the command wedge-plot-fig3; its code is
wedgeds.commands.fig3.  Python puts a script's own directory first on
sys.path, so run from a checkout it imports the package tools/wedgeds/ beside it.
"""
import sys

from wedgeds.commands.fig3 import main

sys.exit(main())
