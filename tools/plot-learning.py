#!/usr/bin/python3
"""wedge-plot-learning: learning curves: loss and accuracy per epoch, per setting (--help says more).

Installed, this script is the command wedge-plot-learning; its code is
wedgeds.commands.learning.  Python puts a script's own directory first on
sys.path, so run from a checkout it imports the package tools/wedgeds/ beside it.
"""
import sys

from wedgeds.commands.learning import main

sys.exit(main())
