#!/usr/bin/python3
"""wedge-plot-toy-near-zero: near-zero coordinates of the toy model against m (--help says more).

Installed, this script is the command wedge-plot-toy-near-zero; its code is
wedgeds.commands.toy_near_zero.  Python puts a script's own directory first on
sys.path, so run from a checkout it imports the package tools/wedgeds/ beside it.
"""
import sys

from wedgeds.commands.toy_near_zero import main

sys.exit(main())
