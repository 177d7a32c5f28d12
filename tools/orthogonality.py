#!/usr/bin/python3
"""wedge-orthogonality: cosines between the optima and training directions of different seeds (Figure 2; --help says more).

Installed, this script is the command wedge-orthogonality; its code is
wedgeds.commands.orthogonality.  Python puts a script's own directory first on
sys.path, so run from a checkout it imports the package tools/wedgeds/ beside it.
"""
import sys

from wedgeds.commands.orthogonality import main

sys.exit(main())
