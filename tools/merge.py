#!/usr/bin/python3
"""wedge-merge: combine several outputs of one sweep into one file (--help says more).

Installed, this script is the command wedge-merge; its code is
wedgeds.commands.merge.  Python puts a script's own directory first on
sys.path, so run from a checkout it imports the package tools/wedgeds/ beside it.
"""
import sys

from wedgeds.commands.merge import main

sys.exit(main())
