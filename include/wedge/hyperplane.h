/* hyperplane.h: random-hyperplane optimisation of the toy wedge model
 * (docs/METHODS.md, "Toy wedge model"; Fort & Jastrzebski section 3.3).
 *
 * P = P0 + M theta with M a dense D x d Gaussian matrix (entries N(0, 1/D), so its
 * columns have norm ~1), theta from 0; the loss L_toy(P) is minimised over theta and
 * the run succeeds iff L_final <= 1e-6 L_initial.  Generically that happens exactly
 * when d >= D - n: the zero-loss set is a union of n-dimensional coordinate
 * subspaces, and a d-dimensional affine subspace in general position meets one only
 * if d + n >= D.  P is computed in double throughout (float rounding of P0 + M theta
 * alone would leave ~1e-7 |P0| of loss).
 *
 * Optimisers:
 * - active-set (default): L^2 is piecewise quadratic: on the region where the set S
 *   of the D-n smallest |P_j| is fixed, L^2 = |(P0 + M theta)_S|^2, a linear least-
 *   squares problem in theta.  Each step takes S at the current point and solves it
 *   for the increment (Householder QR in double; the minimum-norm increment when
 *   D-n < d).  It is Gauss-Newton on the sum of squares, exact on the current piece,
 *   and monotone: the new point's own S has no larger a sum than the solved piece.
 *   It stops when a step leaves S unchanged without lowering L by at least a factor
 *   (1 - 1e-9) (a fixed point: a local minimum over the pieces it visited), or when
 *   L = 0, or after `steps` steps.  At d >= D-n the first step already lands on a
 *   wedge up to rounding, even at d = D-n where the square system has condition
 *   number ~d and first-order methods crawl; later steps are iterative refinement.
 * - polyak: subgradient descent theta -= L g / |g|^2 with g = M^T grad L (Polyak's
 *   step for a known minimum of 0), for comparison: it needs many steps, and near
 *   d = D-n it does not reach the strict criterion in any affordable number. */
#ifndef WEDGE_HYPERPLANE_H
#define WEDGE_HYPERPLANE_H

#include <stddef.h>
#include <stdint.h>

typedef enum { WG_HYPER_ACTIVE_SET = 0, WG_HYPER_POLYAK = 1 } wg_hyper_method;
#define WG_HYPER_METHODS 2
const char *wg_hyper_method_name(int m);

/* The success criterion: L_final <= WG_HYPER_SUCCESS * L_initial. */
#define WG_HYPER_SUCCESS 1e-6

typedef struct wg_hyper_opts {
    int method;               /* wg_hyper_method */
    int steps;                /* at most this many steps */
    uint64_t seed, stream;    /* M's columns: stream (stream, column) of seed */
    int (*stop)(void *);      /* asked every 100 steps: nonzero abandons (WG_EINTR) */
    void *stop_user;
} wg_hyper_opts;

/* Defaults: active-set, steps 100. */
void wg_hyper_opts_default(wg_hyper_opts *o);
/* The default step budget of a method (100 active-set steps, 20000 Polyak steps). */
int wg_hyper_default_steps(int method);

typedef struct wg_hyper_result {
    double loss_initial, loss_final, ratio;  /* ratio = final / initial (NaN if initial = 0) */
    int success;              /* loss_final <= WG_HYPER_SUCCESS * loss_initial */
    int steps;                /* steps taken */
    size_t near_zero;         /* near-zero coordinates of the final P (tol 1e-3) */
} wg_hyper_result;

/* Minimise L_toy(P0 + M theta) over theta in R^d (toy model of dimension D with n
 * long directions, 0 <= n < D, 1 <= d <= D).  P0 has D coordinates.  0, WG_EARG,
 * WG_ENOMEM or WG_EINTR (from o->stop). */
int wg_hyper_run(const float *P0, size_t D, size_t n, size_t d, const wg_hyper_opts *o,
                 wg_hyper_result *res);

/* Column j of M (D doubles, N(0, 1/D) entries) as wg_hyper_run builds it. */
void wg_hyper_column(size_t D, size_t j, uint64_t seed, uint64_t stream, double *col);

#endif
