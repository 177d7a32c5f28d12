/* hessian.c: Lanczos with full reorthogonalisation on finite-difference
 * Hessian-vector products, for the number of short directions.
 * Lanczos vectors are kept in double (D x iterations: 82 MB for SimpleCNN at the
 * default 600 HVPs) and reorthogonalised twice per step with BLAS level 2, which
 * is cheap next to the two gradients an HVP costs. */
#include "wedge/hessian.h"

#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "wedge/error.h"
#include "wedge/rng.h"

void wg_hessian_opts_default(wg_hessian_opts *o)
{
    memset(o, 0, sizeof *o);
    o->threshold = 1.0;
    o->max_hvp = 600;
    o->h_rel = 1e-3;
    o->tol = 1e-3;
    o->check_every = 10;
}

void wg_hessian_result_free(wg_hessian_result *r)
{
    if (!r)
        return;
    free(r->ritz);
    free(r->resid);
    memset(r, 0, sizeof *r);
}

int wg_tridiag_eig(double *d, double *e, int n, double *z)
{
    if (n <= 0)
        return 0;
    e[n - 1] = 0.0; /* e has n entries; the last is scratch */
    if (z) {
        for (int i = 0; i < n; i++)
            z[i] = 0.0;
        z[n - 1] = 1.0; /* the last row of the identity, rotated along */
    }
    for (int l = 0; l < n; l++) {
        int iter = 0, m;
        do {
            for (m = l; m < n - 1; m++) {
                double dd = fabs(d[m]) + fabs(d[m + 1]);
                if (fabs(e[m]) <= DBL_EPSILON * dd)
                    break;
            }
            if (m != l) {
                if (iter++ == 100)
                    return WG_FAIL(WG_EDIVERGED, "tridiagonal eigenvalues did not converge");
                double g = (d[l + 1] - d[l]) / (2.0 * e[l]);
                double r = hypot(g, 1.0);
                g = d[m] - d[l] + e[l] / (g + copysign(r, g));
                double s = 1.0, c = 1.0, p = 0.0;
                int i;
                for (i = m - 1; i >= l; i--) {
                    double f = s * e[i], b = c * e[i];
                    e[i + 1] = (r = hypot(f, g));
                    if (r == 0.0) {
                        d[i + 1] -= p;
                        e[m] = 0.0;
                        break;
                    }
                    s = f / r;
                    c = g / r;
                    g = d[i + 1] - p;
                    r = (d[i] - g) * s + 2.0 * c * b;
                    d[i + 1] = g + (p = s * r);
                    g = c * r - b;
                    if (z) {
                        f = z[i + 1];
                        z[i + 1] = s * z[i] + c * f;
                        z[i] = c * z[i] - s * f;
                    }
                }
                if (r == 0.0 && i >= l)
                    continue;
                d[l] -= p;
                e[l] = g;
                e[m] = 0.0;
            }
        } while (m != l);
    }
    /* ascending, carrying z along (insertion sort: n is at most the HVP budget) */
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && d[j - 1] > d[j]; j--) {
            double t = d[j];
            d[j] = d[j - 1];
            d[j - 1] = t;
            if (z) {
                t = z[j];
                z[j] = z[j - 1];
                z[j - 1] = t;
            }
        }
    return 0;
}

int wg_hvp(const wg_objective *f, const float *X, const float *v, double h, double *hv)
{
    const size_t D = f->dim;
    float *x = wg_alloc(D, sizeof *x, "HVP point");
    float *gp = wg_alloc(D, sizeof *gp, "HVP gradient"), *gm = wg_alloc(D, sizeof *gm, "HVP gradient");
    int rc = (!x || !gp || !gm) ? WG_ENOMEM : 0;
    double lp, lm;
    for (size_t i = 0; rc == 0 && i < D; i++)
        x[i] = (float)((double)X[i] + h * v[i]);
    if (rc == 0)
        rc = wg_objective_grad(f, x, &lp, gp);
    for (size_t i = 0; rc == 0 && i < D; i++)
        x[i] = (float)((double)X[i] - h * v[i]);
    if (rc == 0)
        rc = wg_objective_grad(f, x, &lm, gm);
    for (size_t i = 0; rc == 0 && i < D; i++) {
        hv[i] = ((double)gp[i] - (double)gm[i]) / (2.0 * h);
        if (!isfinite(hv[i]))
            rc = WG_FAIL(WG_EDIVERGED, "Hessian-vector product is not finite");
    }
    free(x);
    free(gp);
    free(gm);
    return rc;
}

/* Eigen-decompose the current tridiagonal matrix into r (descending) with
 * residual bounds; returns how many Ritz values above `thr` have converged and the
 * count above thr in *above. */
static int ritz(const double *alpha, const double *beta, int m, double thr, double tol,
                wg_hessian_result *r, double *dwork, double *ework, double *zwork, int *above)
{
    memcpy(dwork, alpha, (size_t)m * sizeof *dwork);
    if (m > 1)
        memcpy(ework, beta, (size_t)(m - 1) * sizeof *ework);
    int rc = wg_tridiag_eig(dwork, ework, m, zwork);
    if (rc)
        return rc;
    int conv = 0;
    *above = 0;
    for (int i = 0; i < m; i++) { /* descending */
        r->ritz[i] = dwork[m - 1 - i];
        r->resid[i] = fabs(beta[m - 1] * zwork[m - 1 - i]);
        if (r->ritz[i] > thr) {
            (*above)++;
            conv += r->resid[i] <= tol * fmax(fabs(r->ritz[i]), thr);
        }
    }
    r->n = m;
    return conv;
}

static void counts(wg_hessian_result *r, double thr)
{
    r->count_half = r->count = r->count_double = 0;
    for (int i = 0; i < r->n; i++) {
        r->count_half += r->ritz[i] > 0.5 * thr;
        r->count += r->ritz[i] > thr;
        r->count_double += r->ritz[i] > 2.0 * thr;
    }
}

int wg_hessian_probe(const wg_objective *f, const float *X, const wg_hessian_opts *o,
                     wg_hessian_result *r)
{
    memset(r, 0, sizeof *r);
    const size_t D = f->dim;
    const int M = o->max_hvp < (int)D ? o->max_hvp : (int)D;
    if (M < 1 || !(o->h_rel > 0) || !(o->tol > 0) || !(o->threshold > 0) || o->check_every < 1)
        return WG_FAIL(WG_EARG, "Hessian probe: invalid options (budget %d, h %g, tol %g, "
                                "threshold %g)", o->max_hvp, o->h_rel, o->tol, o->threshold);
    double xn = 0.0;
    for (size_t i = 0; i < D; i++)
        xn += (double)X[i] * X[i];
    double h = o->h_rel * sqrt(xn) / sqrt((double)D);
    if (!(h > 0) || !isfinite(h))
        return WG_FAIL(WG_EARG, "Hessian probe: |X| = %g gives no finite-difference step",
                       sqrt(xn));
    size_t qn;
    if (wg_mul_size((size_t)M + 1, D, &qn))
        return WG_FAIL(WG_ENOMEM, "Hessian probe: %d Lanczos vectors of %zu overflow", M, D);
    double *Q = wg_alloc(qn, sizeof *Q, "Lanczos vectors");
    double *w = wg_alloc(D, sizeof *w, "Lanczos vector");
    double *c = wg_alloc((size_t)M + 1, sizeof *c, "Lanczos coefficients");
    double *alpha = wg_alloc((size_t)M, sizeof *alpha, "Lanczos tridiagonal");
    double *beta = wg_alloc((size_t)M, sizeof *beta, "Lanczos tridiagonal");
    double *dw = wg_alloc((size_t)M, sizeof *dw, "eigen scratch");
    double *ew = wg_alloc((size_t)M, sizeof *ew, "eigen scratch");
    double *zw = wg_alloc((size_t)M, sizeof *zw, "eigen scratch");
    float *v = wg_alloc(D, sizeof *v, "HVP direction");
    r->ritz = wg_calloc((size_t)M, sizeof *r->ritz, "Ritz values");
    r->resid = wg_calloc((size_t)M, sizeof *r->resid, "Ritz residuals");
    int rc = (!Q || !w || !c || !alpha || !beta || !dw || !ew || !zw || !v || !r->ritz ||
              !r->resid) ? WG_ENOMEM : 0;
    if (rc == 0) { /* random unit start */
        wg_rng g;
        wg_rng_init(&g, o->seed, wg_rng_stream(WG_RNG_DIRECTION, o->stream, 0x4E55, 0));
        double s = 0.0;
        for (size_t i = 0; i < D; i++) {
            Q[i] = wg_rng_normal(&g);
            s += Q[i] * Q[i];
        }
        s = 1.0 / sqrt(s);
        for (size_t i = 0; i < D; i++)
            Q[i] *= s;
    }
    int m = 0, last_above = -1, stable = 0;
    double tnorm = 0.0; /* running estimate of |T|: the scale for "beta is zero" */
    for (int j = 0; rc == 0 && j < M; j++) {
        if (o->stop && o->stop(o->stop_user)) {
            rc = WG_EINTR;
            break;
        }
        double *q = Q + (size_t)j * D;
        for (size_t i = 0; i < D; i++)
            v[i] = (float)q[i];
        rc = wg_hvp(f, X, v, h, w);
        if (rc)
            break;
        r->hvps++;
        double a = cblas_ddot((int)D, q, 1, w, 1);
        cblas_daxpy((int)D, -a, q, 1, w, 1);
        if (j > 0)
            cblas_daxpy((int)D, -beta[j - 1], q - D, 1, w, 1);
        for (int pass = 0; pass < 2; pass++) { /* full reorthogonalisation, twice */
            cblas_dgemv(CblasRowMajor, CblasNoTrans, j + 1, (int)D, 1.0, Q, (int)D, w, 1, 0.0,
                        c, 1);
            cblas_dgemv(CblasRowMajor, CblasTrans, j + 1, (int)D, -1.0, Q, (int)D, c, 1, 1.0,
                        w, 1);
        }
        alpha[j] = a;
        beta[j] = cblas_dnrm2((int)D, w, 1);
        m = j + 1;
        tnorm = fmax(tnorm, fabs(a) + (j > 0 ? beta[j - 1] : 0.0) + beta[j]);
        int invariant = beta[j] <= 1e-12 * tnorm;
        if (invariant || m % o->check_every == 0 || m == M) {
            int above;
            int conv = ritz(alpha, beta, m, o->threshold, o->tol, r, dw, ew, zw, &above);
            if (conv < 0) {
                rc = conv;
                break;
            }
            /* done when every Ritz value above the threshold has converged and
             * their count held over two checks */
            stable = above == last_above ? stable + 1 : 0;
            last_above = above;
            if (invariant || (conv == above && stable >= 1)) {
                r->converged = 1;
                break;
            }
        }
        if (m < M) {
            double inv = 1.0 / beta[j];
            double *next = Q + (size_t)(j + 1) * D;
            for (size_t i = 0; i < D; i++)
                next[i] = w[i] * inv;
        }
    }
    if (rc == 0 && m > 0 && r->n != m) {
        int above;
        int conv = ritz(alpha, beta, m, o->threshold, o->tol, r, dw, ew, zw, &above);
        if (conv < 0)
            rc = conv;
    }
    if (rc == 0)
        counts(r, o->threshold);
    free(Q), free(w), free(c), free(alpha), free(beta), free(dw), free(ew), free(zw), free(v);
    return rc;
}
