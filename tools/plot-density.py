#!/usr/bin/python3
"""wedge-plot-density: the Hessian's spectral density at optima, tunnel points and
m-connector centres (--help says more).

Installed, this script is the command wedge-plot-density; its code is
wedgeds.commands.density.  Python puts a script's own directory first on
sys.path, so run from a checkout it imports the package tools/wedgeds/ beside it.
"""
import sys

from wedgeds.commands.density import main

sys.exit(main())
