#!/usr/bin/python3
"""wedge-plot-fig5-radius: tunnel width against training progress (|P0| and loss) (--help says more).

Installed, this script is the command wedge-plot-fig5-radius; its code is
wedgeds.commands.fig5_radius.  Python puts a script's own directory first on
sys.path, so run from a checkout it imports the package tools/wedgeds/ beside it.
"""
import sys

from wedgeds.commands.fig5_radius import main

sys.exit(main())
