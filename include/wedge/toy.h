/* toy.h: the toy wedge model of Fort & Jastrzebski (section 3.2; docs/METHODS.md).
 *
 * L(P) = sqrt(sum of squares of the D-n smallest |P_j|): the loss is zero on the
 * union of n-dimensional "wedges" (points with at most n non-zero coordinates).
 * The selection is exact, ties included, in O(D) comparisons on every input
 * (quickselect with pseudo-random median-of-three pivots within a budget, then
 * median-of-medians pivots).  A NaN coordinate gives a NaN loss. */
#ifndef WEDGE_TOY_H
#define WEDGE_TOY_H

#include <stddef.h>
#include <stdint.h>

/* Comparisons, as a multiple of the element count, that the selection spends on
 * pseudo-random pivots before it switches to median-of-medians pivots. */
#define WG_TOY_SELECT_BUDGET 8.0

/* Loss at P (D coordinates, n "long" directions, 0 <= n < D).  If grad is non-NULL
 * it receives dL/dP (zero on the n largest |P_j| and wherever L = 0; ties at the
 * threshold are taken in index order).  work must hold D floats (scratch). */
double wg_toy_loss(const float *P, size_t D, size_t n, float *grad, float *work);

/* The same loss at a double-precision point (the hyperplane probe computes its
 * points in double).  The squares are summed in long double.  If `selected` is
 * non-NULL, selected[j] = 1 for the D-n coordinates the loss sums over (ties at the
 * threshold in index order), else 0.  work must hold D doubles. */
double wg_toy_loss_double(const double *P, size_t D, size_t n, unsigned char *selected,
                          double *work);

/* The k-th smallest (0-based, k < n) of a[0..n) (no NaNs), reordering a: the
 * selection the losses use, with its pivot budget (comparisons per element before
 * median-of-medians pivots; 0 = those from the start).  If cmp is non-NULL it
 * receives the number of element comparisons made (tests check the O(n) bound). */
float wg_toy_select_float(float *a, size_t n, size_t k, double budget, uint64_t *cmp);
double wg_toy_select_double(double *a, size_t n, size_t k, double budget, uint64_t *cmp);

/* Number of near-zero coordinates: |P_j| <= tol_rel * |P| / sqrt(D) (docs/METHODS.md:
 * tol_rel = 1e-3). */
size_t wg_toy_short_dirs(const float *P, size_t D, double tol_rel);

#endif
