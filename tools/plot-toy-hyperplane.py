#!/usr/bin/python3
"""wedge-plot-toy-hyperplane: random-hyperplane optimisation on the toy model (--help says more).

Installed, this script is the command wedge-plot-toy-hyperplane; its code is
wedgeds.commands.toy_hyperplane.  Python puts a script's own directory first on
sys.path, so run from a checkout it imports the package tools/wedgeds/ beside it.
"""
import sys

from wedgeds.commands.toy_hyperplane import main

sys.exit(main())
