/* hessian.h: the Hessian spectrum at a point, for the number of short directions
 * (docs/METHODS.md, "Number of short directions").  Three methods, each a pure
 * function of (objective, point, options):
 *
 * - LANCZOS (the measurement): Lanczos with full reorthogonalisation until every
 *   Ritz value above conv_frac x threshold (0.5x) has converged by the residual test
 *   |beta_m s_m| <= tol * max(|theta|, threshold), the largest Ritz value has too,
 *   and the count above conv_frac x threshold held over two consecutive tests.  A
 *   run stopped by its HVP budget says so (converged 0, lower_bound 1): its counts
 *   are lower bounds (Cauchy interlacing: the k-th largest Ritz value never exceeds
 *   the k-th largest eigenvalue).  The basis is kept whole while it fits in max_bytes
 *   (1 GiB: 7,900 vectors at D = 16,938, more than the default budget); beyond that
 *   the run thick-restarts (Wu & Simon 2000), keeping the Ritz vectors above
 *   keep_frac x threshold (0.4x), a third of the free room below them, and those
 *   below -keep_frac x threshold (the bottom end), at most three quarters of the
 *   basis.  A basis too small for the wanted vectors cannot converge: such a run
 *   spends its budget and says so (raise max_bytes).
 * - FULL (ground truth): the dense D x D Hessian from D HVPs, symmetrised, all
 *   eigenvalues by LAPACK (dsyevd_2stage, values only).  8 D^2 bytes: 2.3 GB at
 *   D = 16,938.
 * - SLQ (a density, and counts with error bars at a fixed budget): stochastic
 *   Lanczos quadrature as in PyHessian: nprobe Rademacher start vectors, nsteps
 *   Lanczos steps each; per probe the Ritz values (nodes) and the squared first
 *   components of the tridiagonal's eigenvectors (weights, summing to 1).
 *
 * HVPs: the objective's exact block product f->hvp when it has one; otherwise a
 * central difference of two gradients accumulated in double,
 * Hv = (g(X + h v) - g(X - h v)) / 2h, h = h_rel |X| / sqrt(D).
 *
 * Single-vector Lanczos sees one copy of a repeated eigenvalue (the Krylov space
 * holds one direction per distinct eigenvalue); exact repeats do not occur at a
 * generic point of a network, and FULL counts them all. */
#ifndef WEDGE_HESSIAN_H
#define WEDGE_HESSIAN_H

#include <stddef.h>
#include <stdint.h>

#include "wedge/objective.h"

typedef enum {
    WG_HESSIAN_LANCZOS = 0,
    WG_HESSIAN_FULL = 1,
    WG_HESSIAN_SLQ = 2
} wg_hessian_method;
#define WG_HESSIAN_METHODS 3
/* "lanczos", "full", "slq"; "?" for anything else. */
const char *wg_hessian_method_name(int method);

/* The default HVP budget of LANCZOS: enough to converge SimpleCNN c = 1 (D =
 * 16,938) at a trained optimum, measured (docs/results.md): 7,440 HVPs on a
 * 100-image probe set (2,894 eigenvalues above 0.5 x lambda_thr = 0.005) and
 * 5,020 on 1,000 images.  Its basis grows only as far as a run needs; 7,440
 * vectors are 1.0 GB, inside the default max_bytes (2 GiB, about 8,000 vectors
 * with the restart's workspace), so that run does not restart. */
#define WG_HESSIAN_BUDGET 10000

typedef struct wg_hessian_opts {
    int method;         /* wg_hessian_method (LANCZOS) */
    double threshold;   /* lambda_thr (1.0); counts above 0.5x, 1x and 2x of it */
    double h_rel;       /* finite-difference step when the objective has no exact
                           HVP (1e-3) */
    uint64_t seed, stream; /* the random start vector(s) */
    int (*stop)(void *);   /* asked before every HVP (block): nonzero abandons
                              (WG_EINTR) */
    void *stop_user;

    /* LANCZOS */
    int max_hvp;        /* budget (WG_HESSIAN_BUDGET) */
    double tol;         /* residual tolerance, relative (1e-3) */
    double conv_frac;   /* Ritz values above conv_frac x threshold must converge (0.5) */
    int check_every;    /* convergence test interval in iterations, while the basis
                           is whole (10); after a restart the test runs once per cycle */
    size_t max_bytes;   /* Lanczos vectors plus the projected problem (2 GiB); SLQ
                           in lockstep: its nprobe bases */
    double keep_frac;   /* a restart keeps the Ritz vectors above keep_frac x
                           threshold and below -keep_frac x threshold (0.4) */

    /* FULL */
    int block;          /* vectors per call of an exact block HVP (64) */
    size_t full_max_bytes; /* the D x D matrix may take this much (0: this machine's
                              physical memory); beyond it WG_ENOMEM before any work */

    /* SLQ */
    int nprobe;         /* Rademacher probes, >= 2 for an interval (10) */
    int nsteps;         /* Lanczos steps per probe (100) */
    double level;       /* confidence level of the count intervals (0.95) */
    int slq_lockstep;   /* 1: the probes advance together, one block HVP per step
                           (cheaper per product; nprobe bases, within max_bytes, else
                           WG_ENOMEM before any work; the block product rounds
                           differently, so the nodes differ in their last bits from a
                           run one probe at a time); 0: one after another (0) */
} wg_hessian_opts;

void wg_hessian_opts_default(wg_hessian_opts *o);

/* Bytes SLQ in lockstep holds for its nprobe bases of min(nsteps, dim) vectors in
 * dimension dim (with their projected problems); more than max_bytes is WG_ENOMEM. */
double wg_hessian_lockstep_bytes(int nprobe, int nsteps, size_t dim);

/* A count estimated by SLQ at one threshold t.  Per probe p,
 * c_p = D * sum of the weights of the nodes above t (a Hutchinson sample of
 * #{eigenvalues > t} = tr 1(H > t), integrated by Gauss quadrature);
 * mean = mean of c_p, se = sd(c_p) / sqrt(nprobe) (sd with nprobe - 1), and
 * [lo, hi] = mean -+ t_{(1+level)/2, nprobe-1} * se (Student's t).  The interval
 * covers the probes' randomness only, not the quadrature's bias.  That bias is
 * bounded by bias = dim x the mean over probes of the larger weight of the two
 * nodes around t (Chebyshev-Markov-Stieltjes: a probe's distribution function
 * at t lies within one adjacent node's weight of the quadrature's step): small
 * when nsteps resolves the spectrum near t.  [lo - bias, hi + bias] covers both.
 * lo may be negative: nothing is clamped. */
typedef struct wg_slq_estimate {
    double mean, se, lo, hi, bias;
} wg_slq_estimate;

typedef struct wg_hessian_result {
    int method;          /* the method that produced it */
    size_t dim;          /* D */
    long hvps;           /* Hessian-vector products spent */

    /* LANCZOS and FULL (n = 0 and both NULL for SLQ) */
    int n;               /* values in ritz/resid: LANCZOS the final basis size
                            (<= max_hvp), FULL D */
    double *ritz;        /* n values, descending: Ritz values (LANCZOS), the
                            eigenvalues (FULL) */
    double *resid;       /* n residual norms |beta_m s_m| of the Ritz pairs: an error
                            bound for an exact symmetric operator (finite-difference
                            HVPs add an operator error it does not see, ~1e-4 of the
                            top value); FULL: 0, the basis being all of R^D */

    /* all methods: counts of values above 0.5x, 1x, 2x threshold.  LANCZOS: Ritz
     * values (lower bounds when lower_bound); FULL: eigenvalues (exact); SLQ: the
     * estimate's mean, rounded (see est_*) */
    int count_half, count, count_double;
    int converged;       /* LANCZOS: 1 if the convergence test passed, the Krylov space
                            became invariant or the basis spans R^D; 0 if stopped by
                            the budget.  FULL: 1.  SLQ: 0 (an estimate) */
    int lower_bound;     /* 1 when the counts are lower bounds (LANCZOS at its budget) */
    double lambda_min;   /* the smallest value: LANCZOS the smallest Ritz value (an
                            upper bound on the smallest eigenvalue, an estimate at the
                            budget); FULL exact; SLQ the smallest node */
    int count_negative;  /* values below -threshold (LANCZOS: a lower bound, by
                            interlacing at the bottom end; SLQ: rounded estimate) */

    /* LANCZOS */
    int basis;           /* Lanczos vectors held at once (at most) */
    int restarts;        /* thick restarts (0 while the basis fits in max_bytes) */

    /* FULL */
    double asymmetry;    /* |H - H^T|_F / |H|_F of the assembled matrix before
                            symmetrisation (0 for an exact symmetric HVP; the
                            differencing noise otherwise) */

    /* SLQ */
    int nprobe, nsteps;  /* nodes/weights are nprobe x nsteps, row p = probe p; a probe
                            whose Krylov space became invariant after m < nsteps steps
                            has zero weights (and zero nodes) in its last nsteps - m */
    double *nodes;       /* Ritz values of each probe's tridiagonal, ascending */
    double *weights;     /* squared first eigenvector components: each row sums to 1 */
    double level;        /* confidence level of est_* */
    double trace;        /* Hutchinson trace, mean over probes of v^T H v */
    double trace_se;     /* its standard error sd / sqrt(nprobe) */
    wg_slq_estimate est_half, est, est_double, est_negative; /* above 0.5x, 1x, 2x
                            threshold and below -threshold */
} wg_hessian_result;

/* Frees what the result owns and zeroes it; safe on NULL and on a zeroed result. */
void wg_hessian_result_free(wg_hessian_result *r);

/* Run the method o->method at X.  r is always reset first and is safe to free.
 * 0; WG_EARG for bad options (or X not finite, or |X| = 0 when differencing);
 * WG_ENOMEM (FULL names the bytes it needed); WG_EINTR from o->stop; an error of the
 * objective, a non-finite HVP being WG_EDIVERGED. */
int wg_hessian_probe(const wg_objective *f, const float *X, const wg_hessian_opts *o,
                     wg_hessian_result *r);

/* Hv at X into hv[dim] by the central difference of two gradients with step h
 * (work: 3 * dim floats, allocated here).  0, WG_ENOMEM, WG_EDIVERGED or an error of
 * the objective. */
int wg_hvp(const wg_objective *f, const float *X, const float *v, double h, double *hv);

/* HV = H V for nv vectors (V: nv x dim floats, HV: nv x dim doubles, row-major): the
 * objective's exact block product if it has one, else wg_hvp with step h vector by
 * vector.  A non-finite product is WG_EDIVERGED. */
int wg_hvp_apply(const wg_objective *f, const float *X, const float *V, size_t nv, double h,
                 double *HV);

/* Number of the first n values of a descending array above t (the stored spectrum of
 * a LANCZOS or FULL result re-thresholded). */
int wg_hessian_count_above(const double *desc, int n, double t);

/* SLQ at another threshold from stored nodes/weights (nprobe x nsteps, as in the
 * result), without rerunning: e->mean etc. as wg_slq_estimate describes, for
 * #{eigenvalues > t} (below = 0) or #{eigenvalues < t} (below = 1).  0, or WG_EARG
 * (nprobe < 2, nsteps < 1, level outside (0, 1)). */
int wg_hessian_slq_count(const double *nodes, const double *weights, int nprobe, int nsteps,
                         size_t dim, double t, int below, double level, wg_slq_estimate *e);

/* The SLQ density at x[0..nx) into rho: rho(x) = (1/nprobe) sum_p sum_k w_pk
 * N(x; theta_pk, sigma^2), which integrates to 1 (each probe's weights sum to 1).
 * 0, or WG_EARG (sigma not > 0, nprobe or nsteps < 1). */
int wg_hessian_slq_density(const double *nodes, const double *weights, int nprobe, int nsteps,
                           double sigma, const double *x, size_t nx, double *rho);

/* PyHessian's broadening: sigma^2 = 1e-5 max(1, range), range the mean over probes of
 * (largest - smallest node) plus 0.02 (its padding).  Returns sigma. */
double wg_hessian_slq_sigma(const double *nodes, const double *weights, int nprobe, int nsteps);

/* Eigenvalues of the symmetric tridiagonal matrix with diagonal d[0..n) and
 * off-diagonal e[0..n-1) (e may be NULL when n <= 1) into w[0..n), ascending, and, if
 * non-NULL, the first (first[0..n)) and last (last[0..n)) components of its
 * normalised eigenvectors in the same order (their signs are arbitrary).  d and e are
 * not modified.  LAPACK dstevr (MRRR; O(n^2) work and n^2 doubles for the vectors).
 * 0; WG_EARG (n < 0, non-finite entries); WG_ENOMEM; WG_EDIVERGED if LAPACK reports
 * no convergence. */
int wg_tridiag_eig(const double *d, const double *e, int n, double *w, double *first,
                   double *last);

#endif
