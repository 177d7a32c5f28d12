#!/usr/bin/python3
"""wedge-plot-fig5: Figure 5: radial tunnel width against a swept hyperparameter (--help says more).

Installed, this script is the command wedge-plot-fig5; its code is
wedgeds.commands.fig5.  Python puts a script's own directory first on
sys.path, so run from a checkout it imports the package tools/wedgeds/ beside it.
"""
import sys

from wedgeds.commands.fig5 import main

sys.exit(main())
