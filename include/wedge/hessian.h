/* hessian.h: the number of short directions at a point (docs/METHODS.md, "Number
 * of short directions"): Lanczos with full reorthogonalisation on Hessian-vector
 * products of any objective.
 *
 * HVPs are central differences of two gradients, Hv = (g(X + h v) - g(X - h v)) / 2h,
 * accumulated in double, with h = h_rel |X| / sqrt(D) (h_rel 1e-3).  Lanczos runs
 * until every Ritz value above the threshold has converged and the count above it
 * is stable, or the HVP budget is spent; the sorted top of the spectrum is kept so
 * the count can be re-thresholded. */
#ifndef WEDGE_HESSIAN_H
#define WEDGE_HESSIAN_H

#include <stddef.h>
#include <stdint.h>

#include "wedge/objective.h"

typedef struct wg_hessian_opts {
    double threshold;   /* lambda_thr: N_short = #{Ritz values > threshold} */
    int max_hvp;        /* budget (600) */
    double h_rel;       /* finite-difference step (1e-3) */
    double tol;         /* a Ritz value theta has converged when its residual
                           |beta_m s_m| <= tol * max(|theta|, threshold) (1e-3) */
    int check_every;    /* convergence test interval in iterations (10) */
    uint64_t seed, stream; /* the random start vector */
    int (*stop)(void *);   /* asked every iteration: nonzero abandons (WG_EINTR) */
    void *stop_user;
} wg_hessian_opts;

void wg_hessian_opts_default(wg_hessian_opts *o);

typedef struct wg_hessian_result {
    int n;              /* Ritz values kept (= Lanczos iterations run) */
    double *ritz;       /* n values, descending */
    double *resid;      /* |beta_m s_m|: a residual bound for an exact operator; with
                           finite-difference HVPs it understates the error (~1e-4 of
                           the top value), so convergence also asks a stable count */
    long hvps;          /* Hessian-vector products spent */
    int converged;      /* 1 if stopped by convergence, 0 if by the budget */
    int count_half, count, count_double; /* Ritz values above 0.5x, 1x, 2x threshold */
} wg_hessian_result;

void wg_hessian_result_free(wg_hessian_result *r);

/* Hv at X into hv[dim] (work: 3 * dim floats + dim doubles, allocated here). */
int wg_hvp(const wg_objective *f, const float *X, const float *v, double h, double *hv);

/* Run Lanczos at X.  0, WG_EARG for bad options, WG_ENOMEM, or an error of the
 * objective (a non-finite gradient is WG_EDIVERGED).  r is always safe to free. */
int wg_hessian_probe(const wg_objective *f, const float *X, const wg_hessian_opts *o,
                     wg_hessian_result *r);

/* Eigenvalues (ascending, into d) and, if z is non-NULL, the LAST components of
 * the normalised eigenvectors (into z) of the symmetric tridiagonal matrix with
 * diagonal d[0..n) and off-diagonal e[0..n-1).  e must have n entries: e[n-1] is
 * scratch, and all of e is destroyed.  Implicit QL. */
int wg_tridiag_eig(double *d, double *e, int n, double *z);

#endif
