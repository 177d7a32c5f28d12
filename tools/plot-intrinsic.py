#!/usr/bin/python3
"""wedge-plot-intrinsic: intrinsic dimension d_int90 from random-subspace training (--help says more).

Installed, this script is the command wedge-plot-intrinsic; its code is
wedgeds.commands.intrinsic.  Python puts a script's own directory first on
sys.path, so run from a checkout it imports the package tools/wedgeds/ beside it.
"""
import sys

from wedgeds.commands.intrinsic import main

sys.exit(main())
