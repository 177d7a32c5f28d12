/* toy.h: the toy wedge model of Fort & Jastrzebski (section 3.2; docs/METHODS.md).
 *
 * L(P) = sqrt(sum of squares of the D-n smallest |P_j|): the loss is zero on the
 * union of n-dimensional "wedges" (points with at most n non-zero coordinates).
 * The selection is exact, ties included, in expected O(D) time (quickselect with
 * pseudo-random pivots; O(D log D) at worst).  A NaN coordinate gives a NaN loss. */
#ifndef WEDGE_TOY_H
#define WEDGE_TOY_H

#include <stddef.h>

/* Loss at P (D coordinates, n "long" directions, 0 <= n < D).  If grad is non-NULL
 * it receives dL/dP (zero on the n largest |P_j| and wherever L = 0; ties at the
 * threshold are taken in index order).  work must hold D floats (scratch). */
double wg_toy_loss(const float *P, size_t D, size_t n, float *grad, float *work);

/* Number of near-zero coordinates: |P_j| <= tol_rel * |P| / sqrt(D) (docs/METHODS.md:
 * tol_rel = 1e-3). */
size_t wg_toy_short_dirs(const float *P, size_t D, double tol_rel);

#endif
