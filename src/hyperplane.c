/* hyperplane.c: random-hyperplane optimisation of the toy wedge model (the
 * optimisers are described in hyperplane.h).  Everything is double: M (dense,
 * column-major, D x d), theta, P = P0 + M theta (recomputed from P0 after every step,
 * so rounding does not accumulate) and the least-squares solves (Householder QR by
 * LAPACK).  This file knows nothing of sweeps or networks. */
#include "wedge/hyperplane.h"

#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "wedge/error.h"
#include "wedge/rng.h"
#include "wedge/toy.h"

const char *wg_hyper_method_name(int m)
{
    static const char *const names[WG_HYPER_METHODS] = {"active-set", "polyak"};
    return m >= 0 && m < WG_HYPER_METHODS ? names[m] : "?";
}

int wg_hyper_default_steps(int method) { return method == WG_HYPER_POLYAK ? 20000 : 100; }

void wg_hyper_opts_default(wg_hyper_opts *o)
{
    memset(o, 0, sizeof *o);
    o->method = WG_HYPER_ACTIVE_SET;
    o->steps = wg_hyper_default_steps(o->method);
}

void wg_hyper_column(size_t D, size_t j, uint64_t seed, uint64_t stream, double *col)
{
    wg_rng r;
    /* last index 1: not the sparse network projections' streams (subspace.c uses 0) */
    wg_rng_init(&r, seed, wg_rng_stream(WG_RNG_SUBSPACE, stream, j, 1));
    double s = 1.0 / sqrt((double)D);
    for (size_t i = 0; i < D; i++)
        col[i] = s * wg_rng_normal(&r);
}

/* P = P0 + M theta. */
static void point(const double *M, const float *P0, const double *theta, size_t D, size_t d,
                  double *P)
{
    for (size_t i = 0; i < D; i++)
        P[i] = P0[i];
    for (size_t j = 0; j < d; j++) {
        const double *c = M + j * D;
        double t = theta[j];
        for (size_t i = 0; i < D; i++)
            P[i] += c[i] * t;
    }
}

/* The least-squares solves go to LAPACK's blocked Householder QR (dgeqrf, with
 * dormqr applying Q or Q^T) and BLAS's triangular solve.  Fortran prototypes,
 * declared here rather than pulling in lapacke: the trailing size_t arguments are
 * the hidden lengths of the character arguments (gfortran's convention; harmless to
 * a C implementation). */
void dgeqrf_(const int *m, const int *n, double *a, const int *lda, double *tau, double *work,
             const int *lwork, int *info);
void dormqr_(const char *side, const char *trans, const int *m, const int *n, const int *k,
             const double *a, const int *lda, const double *tau, double *c, const int *ldc,
             double *work, const int *lwork, int *info, size_t lside, size_t ltrans);

/* The workspace (in doubles) that dgeqrf and dormqr want for a p x q QR (p >= q)
 * applied to one vector: the larger of their optimal sizes, at least q. */
static size_t qr_work_size(size_t p, size_t q)
{
    int ip = (int)p, iq = (int)q, one = 1, lw = -1, info = 0;
    double opt = 0.0, best = (double)q, dummy = 0.0; /* a query touches no array */
    dgeqrf_(&ip, &iq, &dummy, &ip, &dummy, &opt, &lw, &info);
    if (info == 0)
        best = fmax(best, opt);
    dormqr_("L", "T", &ip, &one, &iq, &dummy, &ip, &dummy, &dummy, &ip, &opt, &lw, &info, 1, 1);
    if (info == 0)
        best = fmax(best, opt);
    return (size_t)best;
}

/* In-place QR of X (p x q, p >= q, column-major, leading dimension p): R in the upper
 * triangle, the reflectors below it and in tau.  Returns -1 if some
 * |R_kk| <= 1e-13 max |R_jj| (numerically rank-deficient). */
static int qr(double *X, size_t p, size_t q, double *tau, double *work, size_t lwork)
{
    int ip = (int)p, iq = (int)q, lw = (int)lwork, info = 0;
    dgeqrf_(&ip, &iq, X, &ip, tau, work, &lw, &info);
    if (info != 0)
        return -1;
    double big = 0.0;
    for (size_t k = 0; k < q; k++)
        big = fmax(big, fabs(X[k * p + k]));
    for (size_t k = 0; k < q; k++)
        if (!(fabs(X[k * p + k]) > 1e-13 * big))
            return -1;
    return 0;
}

/* y <- Q^T y (trans "T") or Q y (trans "N") for the Q of qr(); y has p entries. */
static int apply_q(const double *X, size_t p, size_t q, const double *tau, const char *trans,
                   double *y, double *work, size_t lwork)
{
    int ip = (int)p, iq = (int)q, one = 1, lw = (int)lwork, info = 0;
    dormqr_("L", trans, &ip, &one, &iq, X, &ip, tau, y, &ip, work, &lw, &info, 1, 1);
    return info == 0 ? 0 : -1;
}

/* The increment x (d entries) minimising |A x + r|, A = rows `rows[0..m)` of M; the
 * minimum-norm one when m < d.  X, y hold max(m, d) * min(m, d) and max(m, d)
 * doubles, tau min(m, d), work lwork (qr_work_size).  Returns -1 if A is numerically
 * rank-deficient. */
static int lsq_step(const double *M, size_t D, size_t d, const size_t *rows, size_t m,
                    const double *r, double *X, double *tau, double *work, size_t lwork,
                    double *y, double *x)
{
    if (m >= d) { /* least squares: A = Q R; R x = -(Q^T r)[0..d) */
        for (size_t j = 0; j < d; j++)
            for (size_t i = 0; i < m; i++)
                X[j * m + i] = M[j * D + rows[i]];
        if (qr(X, m, d, tau, work, lwork))
            return -1;
        for (size_t i = 0; i < m; i++)
            y[i] = -r[i];
        if (apply_q(X, m, d, tau, "T", y, work, lwork))
            return -1;
        cblas_dtrsv(CblasColMajor, CblasUpper, CblasNoTrans, CblasNonUnit, (int)d, X, (int)m, y,
                    1);
        memcpy(x, y, d * sizeof *x);
    } else { /* minimum norm: A^T = Q R, A = R^T Q^T; R^T z = -r, x = Q [z; 0] */
        for (size_t i = 0; i < m; i++)
            for (size_t j = 0; j < d; j++)
                X[i * d + j] = M[j * D + rows[i]];
        if (qr(X, d, m, tau, work, lwork))
            return -1;
        for (size_t k = 0; k < m; k++)
            y[k] = -r[k];
        cblas_dtrsv(CblasColMajor, CblasUpper, CblasTrans, CblasNonUnit, (int)m, X, (int)d, y, 1);
        for (size_t k = m; k < d; k++)
            y[k] = 0.0;
        if (apply_q(X, d, m, tau, "N", y, work, lwork))
            return -1;
        memcpy(x, y, d * sizeof *x);
    }
    return 0;
}

static size_t near_zero(const double *P, size_t D)
{
    double s = 0.0;
    for (size_t i = 0; i < D; i++)
        s += P[i] * P[i];
    double tol = 1e-3 * sqrt(s) / sqrt((double)D);
    size_t c = 0;
    for (size_t i = 0; i < D; i++)
        c += fabs(P[i]) <= tol;
    return c;
}

int wg_hyper_run(const float *P0, size_t D, size_t n, size_t d, const wg_hyper_opts *o,
                 wg_hyper_result *res)
{
    memset(res, 0, sizeof *res);
    if (n >= D || d < 1 || d > D)
        return WG_FAIL(WG_EARG, "hyperplane: d = %zu, n = %zu in dimension %zu", d, n, D);
    if (o->method != WG_HYPER_ACTIVE_SET && o->method != WG_HYPER_POLYAK)
        return WG_FAIL(WG_EARG, "hyperplane: unknown optimiser %d", o->method);
    if (o->steps < 1)
        return WG_FAIL(WG_EARG, "hyperplane: %d steps", o->steps);
    const size_t m = D - n, big = m > d ? m : d, small = m < d ? m : d;
    size_t cells;
    if (wg_mul_size(big, small, &cells) || wg_mul_size(D, d, &cells) || big > INT_MAX / 64)
        return WG_FAIL(WG_ENOMEM, "hyperplane: %zu x %zu is too large", D, d);
    const size_t lwork = qr_work_size(big, small);
    double *M = wg_alloc(D, d * sizeof *M, "hyperplane basis");
    double *theta = wg_calloc(d, sizeof *theta, "hyperplane coordinates");
    double *dx = wg_alloc(d, sizeof *dx, "hyperplane step");
    double *best = wg_calloc(d, sizeof *best, "hyperplane best point");
    double *P = wg_alloc(D, sizeof *P, "hyperplane point");
    double *work = wg_alloc(D, sizeof *work, "toy scratch");
    double *X = wg_alloc(big, small * sizeof *X, "least-squares matrix");
    double *y = wg_alloc(big, sizeof *y, "least-squares vector");
    double *tau = wg_alloc(small, sizeof *tau, "least-squares reflectors");
    double *qw = wg_alloc(lwork, sizeof *qw, "least-squares workspace");
    double *r = wg_alloc(m, sizeof *r, "least-squares residual");
    size_t *rows = wg_alloc(m, sizeof *rows, "active set");
    unsigned char *sel = wg_alloc(D, 1, "active set"), *sel2 = wg_alloc(D, 1, "active set");
    int rc = (!M || !theta || !dx || !best || !P || !work || !X || !y || !tau || !qw || !r || !rows ||
              !sel || !sel2)
                 ? WG_ENOMEM
                 : 0;
    for (size_t j = 0; rc == 0 && j < d; j++)
        wg_hyper_column(D, j, o->seed, o->stream, M + j * D);
    double L = NAN;
    if (rc == 0) {
        point(M, P0, theta, D, d, P);
        L = res->loss_initial = wg_toy_loss_double(P, D, n, sel, work);
        if (!isfinite(L))
            rc = WG_FAIL(WG_EARG, "hyperplane: the starting point has no finite loss");
    }
    int steps = 0;
    double Lbest = L; /* Polyak steps are not monotone: the best point is the result */
    while (rc == 0 && steps < o->steps && L > 0.0) {
        if (o->stop && steps % 100 == 99 && o->stop(o->stop_user)) {
            rc = WG_EINTR;
            break;
        }
        if (o->method == WG_HYPER_ACTIVE_SET) {
            size_t k = 0;
            for (size_t i = 0; i < D; i++)
                if (sel[i]) {
                    rows[k] = i;
                    r[k++] = P[i];
                }
            if (lsq_step(M, D, d, rows, m, r, X, tau, qw, lwork, y, dx))
                break; /* a singular piece: stay at the best point so far */
            for (size_t j = 0; j < d; j++)
                theta[j] += dx[j];
            point(M, P0, theta, D, d, P);
            double Ln = wg_toy_loss_double(P, D, n, sel2, work);
            steps++;
            int same = memcmp(sel, sel2, D) == 0;
            if (!(Ln <= L)) { /* rounding at the floor: undo and stop */
                for (size_t j = 0; j < d; j++)
                    theta[j] -= dx[j];
                point(M, P0, theta, D, d, P);
                break;
            }
            int stalled = same && Ln >= L * (1.0 - 1e-9);
            L = Ln;
            memcpy(sel, sel2, D);
            if (stalled)
                break;
        } else {
            /* g = M^T (P_S / L); theta -= L g / |g|^2 */
            double g2 = 0.0;
            for (size_t j = 0; j < d; j++) {
                const double *c = M + j * D;
                double s = 0.0;
                for (size_t i = 0; i < D; i++)
                    if (sel[i])
                        s += c[i] * P[i];
                dx[j] = s / L;
                g2 += dx[j] * dx[j];
            }
            if (!(g2 > 0.0))
                break;
            double step = L / g2;
            for (size_t j = 0; j < d; j++)
                theta[j] -= step * dx[j];
            point(M, P0, theta, D, d, P);
            L = wg_toy_loss_double(P, D, n, sel, work);
            steps++;
            if (!isfinite(L)) {
                rc = WG_FAIL(WG_EDIVERGED, "hyperplane: Polyak steps diverged at step %d", steps);
                break;
            }
            if (L < Lbest) {
                Lbest = L;
                memcpy(best, theta, d * sizeof *best);
            }
        }
    }
    if (rc == 0 && o->method == WG_HYPER_POLYAK) {
        memcpy(theta, best, d * sizeof *best);
        point(M, P0, theta, D, d, P);
        L = wg_toy_loss_double(P, D, n, NULL, work);
    }
    if (rc == 0) {
        res->loss_final = L;
        res->ratio = res->loss_initial > 0.0 ? L / res->loss_initial : NAN;
        res->success = L <= WG_HYPER_SUCCESS * res->loss_initial;
        res->steps = steps;
        res->near_zero = near_zero(P, D);
    }
    free(M), free(theta), free(dx), free(best), free(P), free(work), free(X), free(y), free(tau);
    free(qw), free(r), free(rows), free(sel), free(sel2);
    return rc;
}
