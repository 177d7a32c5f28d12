#!/usr/bin/python3
"""wedge-hessian: N_short at any threshold from the stored Hessian spectra, and the
calibration of lambda_thr (--help says more).

Installed, this script is the command wedge-hessian; its code is
wedgeds.commands.hessian.  Python puts a script's own directory first on
sys.path, so run from a checkout it imports the package tools/wedgeds/ beside it.
"""
import sys

from wedgeds.commands.hessian import main

sys.exit(main())
