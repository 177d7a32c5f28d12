/* hessian.c: the Hessian spectrum at a point by converged Lanczos, by the dense
 * matrix, or by stochastic Lanczos quadrature (hessian.h says what each means).
 *
 * All three share one Lanczos engine: vectors in double, one row each of a
 * row-major basis, reorthogonalised against the whole basis by classical
 * Gram-Schmidt applied twice with BLAS level 2 (cheap next to an HVP, which costs two
 * gradients or an R-op over the probe set).  The small projected problems go to
 * LAPACK: dstevr (MRRR) for a tridiagonal matrix, dsyevr for the arrowhead matrix a
 * thick restart leaves, dsyevd_2stage (values only) for the dense Hessian.  This file
 * knows nothing of sweeps, stores or networks: it sees an objective. */
#include "wedge/hessian.h"

#include <cblas.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wedge/error.h"
#include "wedge/rng.h"

/* LAPACK's Fortran symbols with our own prototypes (no lapacke dependency).  The
 * trailing size_t arguments are the hidden lengths of the character arguments
 * (gfortran's convention; a C implementation ignores them). */
void dstevr_(const char *jobz, const char *range, const int *n, double *d, double *e,
             const double *vl, const double *vu, const int *il, const int *iu,
             const double *abstol, int *m, double *w, double *z, const int *ldz, int *isuppz,
             double *work, const int *lwork, int *iwork, const int *liwork, int *info,
             size_t ljobz, size_t lrange);
void dstemr_(const char *jobz, const char *range, const int *n, double *d, double *e,
             const double *vl, const double *vu, const int *il, const int *iu, int *m, double *w,
             double *z, const int *ldz, const int *nzc, int *isuppz, int *tryrac, double *work,
             const int *lwork, int *iwork, const int *liwork, int *info, size_t ljobz,
             size_t lrange);
void dsyevr_(const char *jobz, const char *range, const char *uplo, const int *n, double *a,
             const int *lda, const double *vl, const double *vu, const int *il, const int *iu,
             const double *abstol, int *m, double *w, double *z, const int *ldz, int *isuppz,
             double *work, const int *lwork, int *iwork, const int *liwork, int *info,
             size_t ljobz, size_t lrange, size_t luplo);
void dsyevd_2stage_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda,
                    double *w, double *work, const int *lwork, int *iwork, const int *liwork,
                    int *info, size_t ljobz, size_t luplo);

/* Columns per block when a restart forms Ritz vectors in place. */
#define RESTART_BLOCK 256
/* Fewer Lanczos vectors than this cannot usefully thick-restart. */
#define MIN_RESTART_BASIS 32

const char *wg_hessian_method_name(int method)
{
    static const char *const names[WG_HESSIAN_METHODS] = {"lanczos", "full", "slq"};
    return method >= 0 && method < WG_HESSIAN_METHODS ? names[method] : "?";
}

void wg_hessian_opts_default(wg_hessian_opts *o)
{
    memset(o, 0, sizeof *o);
    o->method = WG_HESSIAN_LANCZOS;
    o->threshold = 1.0;
    o->h_rel = 1e-3;
    o->max_hvp = WG_HESSIAN_BUDGET;
    o->tol = 1e-3;
    o->conv_frac = 0.5;
    o->check_every = 10;
    o->max_bytes = (size_t)2 << 30;
    o->keep_frac = 0.4;
    o->block = 64;
    o->nprobe = 10;
    o->nsteps = 100;
    o->level = 0.95;
}

void wg_hessian_result_free(wg_hessian_result *r)
{
    if (!r)
        return;
    free(r->ritz);
    free(r->resid);
    free(r->nodes);
    free(r->weights);
    memset(r, 0, sizeof *r);
}

/* ---- tridiagonal eigenproblems ---------------------------------------------------- */

/* Workspace for dstemr/dstevr on matrices up to order cap. */
typedef struct tri_ws {
    int cap;
    double *d, *e, *work; /* cap, cap, 20 cap */
    int *iwork, *isuppz;  /* 10 cap, 2 cap */
} tri_ws;

static int tri_ws_init(tri_ws *t, int cap)
{
    memset(t, 0, sizeof *t);
    size_t c = (size_t)(cap > 0 ? cap : 1);
    t->cap = cap;
    t->d = wg_alloc(c, sizeof *t->d, "tridiagonal eigen workspace");
    t->e = wg_alloc(c, sizeof *t->e, "tridiagonal eigen workspace");
    t->work = wg_alloc(20 * c, sizeof *t->work, "tridiagonal eigen workspace");
    t->iwork = wg_alloc(10 * c, sizeof *t->iwork, "tridiagonal eigen workspace");
    t->isuppz = wg_alloc(2 * c, sizeof *t->isuppz, "tridiagonal eigen workspace");
    return t->d && t->e && t->work && t->iwork && t->isuppz ? 0 : WG_ENOMEM;
}

static void tri_ws_free(tri_ws *t)
{
    free(t->d), free(t->e), free(t->work), free(t->iwork), free(t->isuppz);
    memset(t, 0, sizeof *t);
}

/* Eigenvalues of the tridiagonal (d, e) of order n <= t->cap into w (ascending) and,
 * if Z is non-NULL, their eigenvectors into Z (n x found, column-major, leading
 * dimension n, column i for w[i]).  range "A": all (found = n); "V": those in
 * (vl, vu]; "I": the il-th to iu-th smallest (1-based).  MRRR (dstemr: O(n) per
 * vector, so a subset of k vectors costs O(n k) beyond the eigenvalues); on the rare
 * failure of MRRR, dstevr (bisection and inverse iteration for a subset). */
static int tri_eig(tri_ws *t, const double *d, const double *e, int n, const char *range,
                   double vl, double vu, int il, int iu, double *w, double *Z, int *found)
{
    *found = 0;
    if (n <= 0)
        return 0;
    const char *jobz = Z ? "V" : "N";
    int m = 0, info = 0, lwork = 20 * n, liwork = 10 * n, ldz = n, nzc = n, tryrac = 1;
    double dummy = 0.0, abstol = 0.0;
    memcpy(t->d, d, (size_t)n * sizeof *d);
    if (n > 1)
        memcpy(t->e, e, (size_t)(n - 1) * sizeof *e);
    t->e[n - 1] = 0.0;
    dstemr_(jobz, range, &n, t->d, t->e, &vl, &vu, &il, &iu, &m, w, Z ? Z : &dummy, &ldz, &nzc,
            t->isuppz, &tryrac, t->work, &lwork, t->iwork, &liwork, &info, 1, 1);
    if (info != 0) {
        memcpy(t->d, d, (size_t)n * sizeof *d);
        if (n > 1)
            memcpy(t->e, e, (size_t)(n - 1) * sizeof *e);
        t->e[n - 1] = 0.0;
        dstevr_(jobz, range, &n, t->d, t->e, &vl, &vu, &il, &iu, &abstol, &m, w,
                Z ? Z : &dummy, &ldz, t->isuppz, t->work, &lwork, t->iwork, &liwork, &info, 1,
                1);
    }
    if (info != 0 || (range[0] == 'A' && m != n))
        return WG_FAIL(WG_EDIVERGED, "tridiagonal eigenproblem of order %d: LAPACK dstemr and "
                                     "dstevr info %d (%d values)", n, info, m);
    *found = m;
    return 0;
}

int wg_tridiag_eig(const double *d, const double *e, int n, double *w, double *first,
                   double *last)
{
    if (n < 0)
        return WG_FAIL(WG_EARG, "tridiagonal eigenproblem of order %d", n);
    if (n == 0)
        return 0;
    for (int i = 0; i < n; i++)
        if (!isfinite(d[i]) || (i < n - 1 && !isfinite(e[i])))
            return WG_FAIL(WG_EARG, "tridiagonal matrix with a non-finite entry at %d", i);
    int want = first || last;
    size_t zn = 0;
    if (want && wg_mul_size((size_t)n, (size_t)n, &zn))
        return WG_FAIL(WG_ENOMEM, "tridiagonal eigenvectors: %d x %d overflows", n, n);
    tri_ws t;
    double *Z = want ? wg_alloc(zn, sizeof *Z, "tridiagonal eigenvectors") : NULL;
    int rc = tri_ws_init(&t, n);
    if (rc == 0 && want && !Z)
        rc = WG_ENOMEM;
    int found = 0;
    if (rc == 0)
        rc = tri_eig(&t, d, e, n, "A", 0.0, 0.0, 1, n, w, Z, &found);
    for (int i = 0; rc == 0 && want && i < n; i++) {
        if (first)
            first[i] = Z[(size_t)i * n];
        if (last)
            last[i] = Z[(size_t)i * n + (size_t)n - 1];
    }
    tri_ws_free(&t);
    free(Z);
    return rc;
}

/* ---- Hessian-vector products ------------------------------------------------------ */

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

int wg_hvp_apply(const wg_objective *f, const float *X, const float *V, size_t nv, double h,
                 double *HV)
{
    const size_t D = f->dim;
    if (!f->hvp) {
        for (size_t j = 0; j < nv; j++) {
            int rc = wg_hvp(f, X, V + j * D, h, HV + j * D);
            if (rc)
                return rc;
        }
        return 0;
    }
    int rc = f->hvp(f->ctx, X, V, nv, HV);
    if (rc)
        return rc;
    for (size_t i = 0; i < nv * D; i++)
        if (!isfinite(HV[i]))
            return WG_FAIL(WG_EDIVERGED, "Hessian-vector product is not finite");
    return 0;
}

/* ---- the Lanczos engine ----------------------------------------------------------- */

/* A Lanczos basis of up to `slots` vectors and its projected matrix T.  Before any
 * restart T is tridiagonal: alpha on the diagonal, beta[j] coupling j and j+1.  After
 * a thick restart keeping k Ritz pairs, T = [diag(alpha[0..k)), s; s^T, tridiagonal
 * from k on]: row k couples to every kept vector through s[i] (Wu & Simon). */
typedef struct lanczos {
    size_t D;
    int slots;
    double *Q;           /* slots x D, row i = q_i */
    double *w;           /* D: the unnormalised next vector after a step */
    double *c;           /* slots: Gram-Schmidt coefficients */
    float *v;            /* D: q_j in float, for the HVP */
    double *alpha, *beta, *s; /* slots each */
    int k;               /* kept Ritz vectors since the last restart (0: none) */
    int m;               /* basis size = order of T */
    double tnorm;        /* running estimate of |T|: the scale for "beta is zero" */
} lanczos;

static int lz_init(lanczos *L, size_t D, int slots)
{
    memset(L, 0, sizeof *L);
    L->D = D;
    L->slots = slots;
    size_t qn;
    if (wg_mul_size((size_t)slots, D, &qn))
        return WG_FAIL(WG_ENOMEM, "%d Lanczos vectors of %zu overflow", slots, D);
    L->Q = wg_alloc(qn, sizeof *L->Q, "Lanczos vectors");
    L->w = wg_alloc(D, sizeof *L->w, "Lanczos vector");
    L->v = wg_alloc(D, sizeof *L->v, "HVP direction");
    L->c = wg_alloc((size_t)slots, sizeof *L->c, "Lanczos coefficients");
    L->alpha = wg_alloc((size_t)slots, sizeof *L->alpha, "Lanczos matrix");
    L->beta = wg_alloc((size_t)slots, sizeof *L->beta, "Lanczos matrix");
    L->s = wg_alloc((size_t)slots, sizeof *L->s, "Lanczos matrix");
    return L->Q && L->w && L->v && L->c && L->alpha && L->beta && L->s ? 0 : WG_ENOMEM;
}

static void lz_free(lanczos *L)
{
    free(L->Q), free(L->w), free(L->v), free(L->c), free(L->alpha), free(L->beta), free(L->s);
    memset(L, 0, sizeof *L);
}

/* Start afresh from row 0 of Q (which the caller filled with a unit vector). */
static void lz_reset(lanczos *L)
{
    L->k = L->m = 0;
    L->tnorm = 0.0;
}

/* Orthogonalise w = H q_m (already in L->w) against rows 0..m twice (classical
 * Gram-Schmidt): alpha_m, beta_m = |w|; m grows by one.  The caller normalises w into
 * row m (if it continues without a restart). */
static void lz_absorb(lanczos *L)
{
    const size_t D = L->D;
    const int j = L->m;
    double a = 0.0;
    for (int pass = 0; pass < 2; pass++) {
        cblas_dgemv(CblasRowMajor, CblasNoTrans, j + 1, (int)D, 1.0, L->Q, (int)D, L->w, 1, 0.0,
                    L->c, 1);
        cblas_dgemv(CblasRowMajor, CblasTrans, j + 1, (int)D, -1.0, L->Q, (int)D, L->c, 1, 1.0,
                    L->w, 1);
        a += L->c[j];
    }
    L->alpha[j] = a;
    L->beta[j] = cblas_dnrm2((int)D, L->w, 1);
    double prev = 0.0; /* the coupling of q_j to earlier vectors */
    if (j > 0 && j == L->k)
        prev = cblas_dnrm2(L->k, L->s, 1);
    else if (j > 0)
        prev = L->beta[j - 1];
    L->tnorm = fmax(L->tnorm, fabs(a) + prev + L->beta[j]);
    L->m = j + 1;
}

/* q_m in float into v[D], the direction the HVP takes. */
static void lz_direction(const lanczos *L, float *v)
{
    const double *q = L->Q + (size_t)L->m * L->D;
    for (size_t i = 0; i < L->D; i++)
        v[i] = (float)q[i];
}

/* One Lanczos step on q_m (row m): w = H q_m, then lz_absorb. */
static int lz_step(lanczos *L, const wg_objective *f, const float *X, double h)
{
    lz_direction(L, L->v);
    int rc = wg_hvp_apply(f, X, L->v, 1, h, L->w);
    if (rc == 0)
        lz_absorb(L);
    return rc;
}

/* q_m = w / beta_{m-1} into row m. */
static void lz_advance(lanczos *L)
{
    double inv = 1.0 / L->beta[L->m - 1];
    double *next = L->Q + (size_t)L->m * L->D;
    for (size_t i = 0; i < L->D; i++)
        next[i] = L->w[i] * inv;
}

/* Workspace for the projected problem of a basis of up to `cap` vectors: the
 * eigenvectors Z (cap x cap) and, when the basis may restart, the dense T and
 * dsyevr's workspace. */
typedef struct proj_ws {
    int cap, dense;
    tri_ws tri;
    double *Z, *T, *work;
    int *iwork, *isuppz, lwork, liwork;
} proj_ws;

static int proj_init(proj_ws *p, int cap, int dense)
{
    memset(p, 0, sizeof *p);
    p->cap = cap;
    p->dense = dense;
    int rc = tri_ws_init(&p->tri, cap);
    size_t zn = (size_t)cap * (size_t)cap;
    p->Z = wg_alloc(zn, sizeof *p->Z, "Ritz vectors of the projected matrix");
    if (rc == 0 && !p->Z)
        rc = WG_ENOMEM;
    if (rc == 0 && dense) {
        /* dsyevr's workspace query, at the largest order */
        int n = cap, il = 1, iu = cap, m = 0, info = 0, lw = -1, liw = -1, iq = 0;
        double vl = 0.0, vu = 0.0, abstol = 0.0, q = 0.0, dummy = 0.0;
        dsyevr_("V", "A", "U", &n, &dummy, &n, &vl, &vu, &il, &iu, &abstol, &m, &dummy, &dummy,
                &n, &iq, &q, &lw, &iq, &liw, &info, 1, 1, 1);
        p->lwork = (int)fmax(q, 26.0 * cap);
        p->liwork = iq > 10 * cap ? iq : 10 * cap;
        p->T = wg_alloc(zn, sizeof *p->T, "projected Lanczos matrix");
        p->work = wg_alloc((size_t)p->lwork, sizeof *p->work, "dsyevr workspace");
        p->iwork = wg_alloc((size_t)p->liwork, sizeof *p->iwork, "dsyevr workspace");
        p->isuppz = wg_alloc(2 * (size_t)cap, sizeof *p->isuppz, "dsyevr workspace");
        if (!p->T || !p->work || !p->iwork || !p->isuppz)
            rc = WG_ENOMEM;
    }
    return rc;
}

static void proj_free(proj_ws *p)
{
    tri_ws_free(&p->tri);
    free(p->Z), free(p->T), free(p->work), free(p->iwork), free(p->isuppz);
    memset(p, 0, sizeof *p);
}

/* Ritz values of the current basis into theta (ascending), their residual norms
 * |beta_{m-1} s_{m,i}| into res, their eigenvectors in p->Z (m x found, column-major);
 * *found of them: all when above is -INFINITY or T is not tridiagonal, else those
 * above `above` (or, if there is none, the largest alone).  The subset is what a
 * convergence test needs, at O(m k) for k vectors where all would cost O(m^2). */
static int lz_ritz(const lanczos *L, proj_ws *p, double above, double *theta, double *res,
                   int *found)
{
    const int m = L->m;
    int rc = 0;
    if (L->k == 0 && above == -INFINITY)
        rc = tri_eig(&p->tri, L->alpha, L->beta, m, "A", 0.0, 0.0, 1, m, theta, p->Z, found);
    else if (L->k == 0) {
        /* (above, vu]: vu beyond Gershgorin's bound, which tnorm is */
        double vu = 2.0 * L->tnorm + fabs(above) + DBL_MIN;
        if (above < vu)
            rc = tri_eig(&p->tri, L->alpha, L->beta, m, "V", above, vu, 1, m, theta, p->Z, found);
        if (rc == 0 && *found == 0)
            rc = tri_eig(&p->tri, L->alpha, L->beta, m, "I", 0.0, 0.0, m, m, theta, p->Z, found);
    } else {
        double *T = p->T; /* column-major, upper triangle referenced */
        memset(T, 0, (size_t)m * (size_t)m * sizeof *T);
        for (int i = 0; i < m; i++)
            T[(size_t)i * m + i] = L->alpha[i];
        for (int i = 0; i < L->k; i++)
            T[(size_t)L->k * m + i] = L->s[i];
        for (int j = L->k; j + 1 < m; j++)
            T[(size_t)(j + 1) * m + j] = L->beta[j];
        int n = m, il = 1, iu = m, info = 0;
        double vl = 0.0, vu = 0.0, abstol = 0.0;
        *found = 0;
        dsyevr_("V", "A", "U", &n, T, &n, &vl, &vu, &il, &iu, &abstol, found, theta, p->Z, &n,
                p->isuppz, p->work, &p->lwork, p->iwork, &p->liwork, &info, 1, 1, 1);
        if (info != 0 || *found != m)
            rc = WG_FAIL(WG_EDIVERGED, "projected Lanczos matrix of order %d: LAPACK dsyevr "
                                       "info %d", m, info);
    }
    for (int i = 0; rc == 0 && i < *found; i++)
        res[i] = fabs(L->beta[m - 1] * p->Z[(size_t)i * m + m - 1]);
    return rc;
}

/* A unit vector into row 0 of Q: Gaussian (Lanczos) or Rademacher (SLQ probes). */
static void start_vector(lanczos *L, uint64_t seed, uint64_t stream, int rademacher)
{
    wg_rng g;
    wg_rng_init(&g, seed, stream);
    double *q = L->Q, s = 0.0;
    for (size_t i = 0; i < L->D; i++) {
        q[i] = rademacher ? ((wg_rng_u32(&g) & 1u) ? 1.0 : -1.0) : wg_rng_normal(&g);
        s += q[i] * q[i];
    }
    s = 1.0 / sqrt(s);
    for (size_t i = 0; i < L->D; i++)
        q[i] *= s;
}

/* ---- LANCZOS ---------------------------------------------------------------------- */

/* Bytes held for a basis of S vectors in dimension D (restartable: with the dense
 * projected matrix and the restart block). */
static double basis_bytes(double S, double D, int restartable)
{
    return 8.0 * (S * D + S * S + (restartable ? S * S + S * RESTART_BLOCK : 0.0));
}

double wg_hessian_lockstep_bytes(int nprobe, int nsteps, size_t dim)
{
    return (double)nprobe * basis_bytes(fmin((double)nsteps, (double)dim), (double)dim, 0);
}

/* Thick restart at a full basis (m = slots): keep the Ritz vectors chosen by
 * keep_frac (hessian.h), formed in place as Q Z_k block by block of columns, then
 * q_k = w / beta_{m-1}; T becomes diag(theta_kept) with the arrow s. */
static void lz_restart(lanczos *L, const proj_ws *p, const double *theta, double keep,
                       double *zk, double *tmp, int *idx)
{
    const int m = L->m;
    const size_t D = L->D;
    int nlow = 0, nwant = 0;
    while (nlow < m && theta[nlow] < -keep)
        nlow++;
    if (nlow == 0)
        nlow = 1; /* the bottom end: lambda_min */
    for (int i = m - 1; i >= nlow && theta[i] > keep; i--)
        nwant++;
    /* a third of the free room for the Ritz values just below the wanted ones
     * (they speed up the wanted ones' convergence); at least a quarter of the
     * basis (or 16 vectors) left for new Lanczos vectors */
    int room = m - nwant - nlow;
    int ktop = nwant + (room > 0 ? room / 3 : 0);
    int kmax = m - (m / 4 > 16 ? m / 4 : 16);
    if (ktop + nlow > kmax) {
        nlow = 1;
        if (ktop + nlow > kmax)
            ktop = kmax - nlow;
    }
    int k = 0;
    for (int i = 0; i < ktop; i++)
        idx[k++] = m - 1 - i;
    for (int i = 0; i < nlow; i++)
        idx[k++] = i;
    for (int r = 0; r < k; r++)
        memcpy(zk + (size_t)r * m, p->Z + (size_t)idx[r] * m, (size_t)m * sizeof *zk);
    for (size_t c0 = 0; c0 < D; c0 += RESTART_BLOCK) {
        int bs = (int)(D - c0 < RESTART_BLOCK ? D - c0 : RESTART_BLOCK);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, k, bs, m, 1.0, zk, m, L->Q + c0,
                    (int)D, 0.0, tmp, bs);
        for (int r = 0; r < k; r++)
            memcpy(L->Q + (size_t)r * D + c0, tmp + (size_t)r * bs, (size_t)bs * sizeof *tmp);
    }
    const double b = L->beta[m - 1];
    double *qk = L->Q + (size_t)k * D;
    for (size_t i = 0; i < D; i++)
        qk[i] = L->w[i] / b;
    for (int r = 0; r < k; r++) {
        L->alpha[r] = theta[idx[r]];
        L->s[r] = b * p->Z[(size_t)idx[r] * m + m - 1];
    }
    L->k = L->m = k;
}

static int count_gt(const double *x, int n, double t)
{
    int c = 0;
    for (int i = 0; i < n; i++)
        c += x[i] > t;
    return c;
}

int wg_hessian_count_above(const double *desc, int n, double t) { return count_gt(desc, n, t); }

/* Fill r's spectrum (descending) from theta (ascending) and the residuals (NULL:
 * zeros). */
static void fill_spectrum(wg_hessian_result *r, const double *theta, const double *resid_asc,
                          int m, double thr)
{
    r->n = m;
    for (int i = 0; i < m; i++) {
        r->ritz[i] = theta[m - 1 - i];
        r->resid[i] = resid_asc ? resid_asc[m - 1 - i] : 0.0;
    }
    r->count_half = count_gt(r->ritz, m, 0.5 * thr);
    r->count = count_gt(r->ritz, m, thr);
    r->count_double = count_gt(r->ritz, m, 2.0 * thr);
    r->lambda_min = m > 0 ? theta[0] : NAN;
    r->count_negative = 0;
    for (int i = 0; i < m; i++)
        r->count_negative += theta[i] < -thr;
}

static int run_lanczos(const wg_objective *f, const float *X, const wg_hessian_opts *o,
                       double h, wg_hessian_result *r)
{
    const size_t D = f->dim;
    const int budget = o->max_hvp;
    const int maxm = (size_t)budget < D ? budget : (int)D;
    int slots = maxm, restartable = 0;
    if (basis_bytes(maxm, (double)D, 0) > (double)o->max_bytes) {
        restartable = 1;
        int lo = 0, hi = maxm; /* the largest basis within max_bytes */
        while (lo < hi) {
            int mid = lo + (hi - lo + 1) / 2;
            if (basis_bytes(mid, (double)D, 1) <= (double)o->max_bytes)
                lo = mid;
            else
                hi = mid - 1;
        }
        slots = lo;
        if (slots < MIN_RESTART_BASIS)
            return WG_FAIL(WG_EARG, "Hessian probe: max_bytes %zu holds %d Lanczos vectors of "
                                    "dimension %zu (thick restart needs %d)", o->max_bytes, slots,
                           D, MIN_RESTART_BASIS);
    }
    lanczos L;
    proj_ws P;
    int rc = lz_init(&L, D, slots);
    int rc2 = proj_init(&P, slots, restartable);
    rc = rc ? rc : rc2;
    double *theta = wg_alloc((size_t)slots, sizeof *theta, "Ritz values");
    double *res = wg_alloc((size_t)slots, sizeof *res, "Ritz residuals");
    double *zk = restartable ? wg_alloc((size_t)slots * (size_t)slots, sizeof *zk, "restart") : NULL;
    double *tmp = restartable ? wg_alloc((size_t)slots * RESTART_BLOCK, sizeof *tmp, "restart")
                              : NULL;
    int *idx = wg_alloc((size_t)slots, sizeof *idx, "restart");
    r->ritz = wg_alloc((size_t)slots, sizeof *r->ritz, "Ritz values");
    r->resid = wg_alloc((size_t)slots, sizeof *r->resid, "Ritz residuals");
    if (rc == 0 && (!theta || !res || !idx || !r->ritz || !r->resid ||
                    (restartable && (!zk || !tmp))))
        rc = WG_ENOMEM;
    if (rc == 0) {
        start_vector(&L, o->seed, wg_rng_stream(WG_RNG_DIRECTION, o->stream, 0x4E55, 0), 0);
        lz_reset(&L);
    }
    const double conv_thr = o->conv_frac * o->threshold, keep = o->keep_frac * o->threshold;
    int last_above = -1, stable = 0;
    while (rc == 0 && r->hvps < budget) {
        if (o->stop && o->stop(o->stop_user)) {
            rc = WG_EINTR;
            break;
        }
        rc = lz_step(&L, f, X, h);
        if (rc)
            break;
        r->hvps++;
        const int m = L.m;
        if (m > r->basis)
            r->basis = m;
        const int invariant = L.beta[m - 1] <= 1e-12 * L.tnorm;
        const int whole = (size_t)m == D && L.k == 0 && r->restarts == 0;
        const int at_budget = r->hvps == budget;
        const int full = m == slots && !invariant && !whole && !at_budget;
        const int check = invariant || whole || at_budget || full ||
                          (r->restarts == 0 && m % o->check_every == 0);
        if (check) {
            /* the whole spectrum where it is needed (a restart, the end); else the
             * Ritz values above conv_frac x threshold */
            const int all = invariant || whole || at_budget || full || L.k > 0;
            int found = 0;
            rc = lz_ritz(&L, &P, all ? -INFINITY : conv_thr, theta, res, &found);
            if (rc)
                break;
            int above = 0, conv = 0;
            for (int i = 0; i < found; i++)
                if (theta[i] > conv_thr) {
                    above++;
                    conv += res[i] <= o->tol * fmax(fabs(theta[i]), o->threshold);
                }
            const int top = found > 0 && res[found - 1] <= o->tol *
                                                             fmax(fabs(theta[found - 1]),
                                                                  o->threshold);
            stable = above == last_above ? stable + 1 : 0;
            last_above = above;
            if (invariant || whole || (conv == above && top && stable >= 1)) {
                r->converged = 1;
                if (!all) /* the result holds the whole spectrum */
                    rc = lz_ritz(&L, &P, -INFINITY, theta, res, &found);
                break;
            }
            if (at_budget)
                break;
            if (full) {
                lz_restart(&L, &P, theta, keep, zk, tmp, idx);
                r->restarts++;
                continue;
            }
        }
        lz_advance(&L);
    }
    /* every exit without an error follows a test of the current basis: theta and res
     * describe it */
    if (rc == 0) {
        fill_spectrum(r, theta, res, L.m, o->threshold);
        r->lower_bound = !r->converged;
    }
    lz_free(&L);
    proj_free(&P);
    free(theta), free(res), free(zk), free(tmp), free(idx);
    return rc;
}

/* ---- FULL ------------------------------------------------------------------------- */

static double phys_bytes(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    return pages > 0 && size > 0 ? (double)pages * (double)size : INFINITY;
}

static int run_full(const wg_objective *f, const float *X, const wg_hessian_opts *o, double h,
                    wg_hessian_result *r)
{
    const size_t D = f->dim;
    /* LAPACK's 32-bit integers index the D x D array */
    if (D > 46340)
        return WG_FAIL(WG_EARG, "full Hessian: D = %zu exceeds LAPACK's 32-bit indexing of a "
                                "D x D array (D <= 46340)", D);
    size_t cells, bytes;
    if (wg_mul_size(D, D, &cells) || wg_mul_size(cells, sizeof(double), &bytes))
        return WG_FAIL(WG_ENOMEM, "full Hessian: %zu x %zu doubles overflow", D, D);
    double gb = (double)bytes / 1e9;
    double cap = o->full_max_bytes ? (double)o->full_max_bytes : phys_bytes();
    if ((double)bytes > cap)
        return WG_FAIL(WG_ENOMEM, "full Hessian: %zu x %zu doubles need %.2f GB, more than %s "
                                  "%.2f GB", D, D, gb,
                       o->full_max_bytes ? "the allowed" : "this machine's", cap / 1e9);
    double *H = malloc(bytes);
    if (!H)
        return WG_FAIL(WG_ENOMEM, "full Hessian: cannot allocate %.2f GB (%zu x %zu doubles)",
                       gb, D, D);
    const size_t nb = f->hvp ? (size_t)o->block : 1;
    float *V = wg_calloc(nb * D, sizeof *V, "HVP block");
    r->ritz = wg_alloc(D, sizeof *r->ritz, "eigenvalues");
    r->resid = wg_alloc(D, sizeof *r->resid, "eigenvalue residuals");
    double *w = wg_alloc(D, sizeof *w, "eigenvalues");
    int rc = V && r->ritz && r->resid && w ? 0 : WG_ENOMEM;
    /* H e_j for a block of unit vectors: rows j0.. of H (row j = column j) */
    for (size_t j0 = 0; rc == 0 && j0 < D; j0 += nb) {
        if (o->stop && o->stop(o->stop_user)) {
            rc = WG_EINTR;
            break;
        }
        size_t b = D - j0 < nb ? D - j0 : nb;
        for (size_t t = 0; t < b; t++)
            V[t * D + j0 + t] = 1.0f;
        rc = wg_hvp_apply(f, X, V, b, h, H + j0 * D);
        for (size_t t = 0; t < b; t++)
            V[t * D + j0 + t] = 0.0f;
        if (rc == 0)
            r->hvps += (long)b;
    }
    /* (H + H^T)/2 tile by tile, measuring the asymmetry on the way */
    double asym = 0.0, fro = 0.0;
    enum { TILE = 64 };
    for (size_t i0 = 0; rc == 0 && i0 < D; i0 += TILE)
        for (size_t j0 = i0; j0 < D; j0 += TILE)
            for (size_t i = i0; i < i0 + TILE && i < D; i++)
                for (size_t j = j0 > i ? j0 : i; j < j0 + TILE && j < D; j++) {
                    double a = H[i * D + j], b = H[j * D + i];
                    if (i == j) {
                        fro += a * a;
                        continue;
                    }
                    asym += 2.0 * (a - b) * (a - b);
                    fro += a * a + b * b;
                    H[i * D + j] = H[j * D + i] = 0.5 * (a + b);
                }
    r->asymmetry = fro > 0.0 ? sqrt(asym / fro) : 0.0;
    if (rc == 0) {
        int n = (int)D, info = 0, lw = -1, liw = -1, iq = 0;
        double q = 0.0;
        dsyevd_2stage_("N", "U", &n, H, &n, w, &q, &lw, &iq, &liw, &info, 1, 1);
        lw = (int)q;
        liw = iq > 1 ? iq : 1;
        double *work = info == 0 ? wg_alloc((size_t)lw, sizeof *work, "dsyevd workspace") : NULL;
        int *iwork = info == 0 ? wg_alloc((size_t)liw, sizeof *iwork, "dsyevd workspace") : NULL;
        if (info != 0)
            rc = WG_FAIL(WG_EDIVERGED, "full Hessian: dsyevd workspace query info %d", info);
        else if (!work || !iwork)
            rc = WG_ENOMEM;
        else {
            dsyevd_2stage_("N", "U", &n, H, &n, w, work, &lw, iwork, &liw, &info, 1, 1);
            if (info != 0)
                rc = WG_FAIL(WG_EDIVERGED, "full Hessian: LAPACK dsyevd_2stage info %d", info);
        }
        free(work);
        free(iwork);
    }
    if (rc == 0) {
        fill_spectrum(r, w, NULL, (int)D, o->threshold);
        r->converged = 1;
    }
    free(H);
    free(V);
    free(w);
    return rc;
}

/* ---- SLQ -------------------------------------------------------------------------- */

/* The regularised incomplete beta function I_x(a, b): the continued fraction
 * (modified Lentz), on the side of x where it converges fast. */
static double betacf(double a, double b, double x)
{
    const double tiny = 1e-300;
    double c = 1.0, d = 1.0 - (a + b) * x / (a + 1.0);
    if (fabs(d) < tiny)
        d = tiny;
    d = 1.0 / d;
    double hh = d;
    for (int m = 1; m <= 300; m++) {
        double m2 = 2.0 * m;
        double aa = m * (b - m) * x / ((a - 1.0 + m2) * (a + m2));
        d = 1.0 + aa * d;
        c = 1.0 + aa / c;
        d = fabs(d) < tiny ? 1.0 / tiny : 1.0 / d;
        if (fabs(c) < tiny)
            c = tiny;
        hh *= d * c;
        aa = -(a + m) * (a + b + m) * x / ((a + m2) * (a + 1.0 + m2));
        d = 1.0 + aa * d;
        c = 1.0 + aa / c;
        d = fabs(d) < tiny ? 1.0 / tiny : 1.0 / d;
        if (fabs(c) < tiny)
            c = tiny;
        double del = d * c;
        hh *= del;
        if (fabs(del - 1.0) < 1e-15)
            break;
    }
    return hh;
}

static double ibeta(double a, double b, double x)
{
    if (x <= 0.0)
        return 0.0;
    if (x >= 1.0)
        return 1.0;
    double lf = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x);
    if (x < (a + 1.0) / (a + b + 2.0))
        return exp(lf) * betacf(a, b, x) / a;
    return 1.0 - exp(lf) * betacf(b, a, 1.0 - x) / b;
}

/* The p-quantile (p in (0.5, 1)) of Student's t with nu degrees of freedom, by
 * bisection on P(T > t) = I_{nu/(nu+t^2)}(nu/2, 1/2) / 2. */
static double t_quantile(double p, double nu)
{
    double lo = 0.0, hi = 1.0, tail = 1.0 - p;
    while (0.5 * ibeta(0.5 * nu, 0.5, nu / (nu + hi * hi)) > tail && hi < 1e12)
        hi *= 2.0;
    for (int it = 0; it < 200 && hi - lo > 1e-14 * hi; it++) {
        double mid = 0.5 * (lo + hi);
        if (0.5 * ibeta(0.5 * nu, 0.5, nu / (nu + mid * mid)) > tail)
            lo = mid;
        else
            hi = mid;
    }
    return 0.5 * (lo + hi);
}

int wg_hessian_slq_count(const double *nodes, const double *weights, int nprobe, int nsteps,
                         size_t dim, double t, int below, double level, wg_slq_estimate *e)
{
    if (nprobe < 2 || nsteps < 1 || !(level > 0.0 && level < 1.0) || isnan(t))
        return WG_FAIL(WG_EARG, "SLQ count: %d probes, %d steps, level %g (need >= 2 probes, "
                                ">= 1 step, 0 < level < 1)", nprobe, nsteps, level);
    double sum = 0.0, sum2 = 0.0, bias = 0.0;
    for (int p = 0; p < nprobe; p++) {
        double c = 0.0, left = -INFINITY, right = INFINITY, wl = 0.0, wr = 0.0;
        for (int k = 0; k < nsteps; k++) {
            size_t i = (size_t)p * nsteps + k;
            if (!(weights[i] > 0.0))
                continue;
            if (below ? nodes[i] < t : nodes[i] > t)
                c += weights[i];
            if (nodes[i] <= t && nodes[i] > left)
                left = nodes[i], wl = weights[i];
            if (nodes[i] > t && nodes[i] < right)
                right = nodes[i], wr = weights[i];
        }
        c *= (double)dim;
        sum += c;
        sum2 += c * c;
        bias += fmax(wl, wr);
    }
    e->bias = (double)dim * bias / nprobe;
    double mean = sum / nprobe;
    double var = (sum2 - nprobe * mean * mean) / (nprobe - 1);
    e->mean = mean;
    e->se = sqrt(fmax(var, 0.0) / nprobe);
    double q = t_quantile(0.5 * (1.0 + level), nprobe - 1.0);
    e->lo = mean - q * e->se;
    e->hi = mean + q * e->se;
    return 0;
}

int wg_hessian_slq_density(const double *nodes, const double *weights, int nprobe, int nsteps,
                           double sigma, const double *x, size_t nx, double *rho)
{
    if (!(sigma > 0.0) || !isfinite(sigma) || nprobe < 1 || nsteps < 1)
        return WG_FAIL(WG_EARG, "SLQ density: sigma %g, %d probes, %d steps", sigma, nprobe,
                       nsteps);
    const double norm = 1.0 / (nprobe * sigma * sqrt(2.0 * M_PI));
    for (size_t j = 0; j < nx; j++) {
        double s = 0.0;
        for (size_t i = 0; i < (size_t)nprobe * nsteps; i++)
            if (weights[i] > 0.0) {
                double z = (x[j] - nodes[i]) / sigma;
                s += weights[i] * exp(-0.5 * z * z);
            }
        rho[j] = s * norm;
    }
    return 0;
}

double wg_hessian_slq_sigma(const double *nodes, const double *weights, int nprobe, int nsteps)
{
    double range = 0.0;
    for (int p = 0; p < nprobe; p++) {
        double lo = INFINITY, hi = -INFINITY;
        for (int k = 0; k < nsteps; k++) {
            size_t i = (size_t)p * nsteps + k;
            if (weights[i] > 0.0) {
                lo = fmin(lo, nodes[i]);
                hi = fmax(hi, nodes[i]);
            }
        }
        if (hi >= lo)
            range += hi - lo;
    }
    range = (nprobe > 0 ? range / nprobe : 0.0) + 0.02;
    return sqrt(1e-5 * fmax(1.0, range));
}

/* A Lanczos step ends its probe when the basis is full or the Krylov space became
 * invariant. */
static int slq_done(const lanczos *L, int maxm)
{
    return L->m == maxm || L->beta[L->m - 1] <= 1e-12 * L->tnorm;
}

/* Probe p's quadrature from its finished tridiagonal matrix: nodes and weights into
 * row p of r's arrays, its Hutchinson sample into hutch[p]. */
static int slq_record(const lanczos *L, int p, tri_ws *T, double *theta, double *Z,
                      double *hutch, wg_hessian_result *r)
{
    const int S = r->nsteps;
    int found = 0;
    int rc = tri_eig(T, L->alpha, L->beta, L->m, "A", 0.0, 0.0, 1, L->m, theta, Z, &found);
    if (rc)
        return rc;
    /* v^T H v with v = sqrt(D) q_0 (entries +-1): D alpha_0 */
    hutch[p] = (double)L->D * L->alpha[0];
    for (int k = 0; k < L->m; k++) {
        double z0 = Z[(size_t)k * L->m];
        r->nodes[(size_t)p * S + k] = theta[k];
        r->weights[(size_t)p * S + k] = z0 * z0;
    }
    r->lambda_min = fmin(r->lambda_min, theta[0]);
    return 0;
}

static void slq_start(lanczos *L, const wg_hessian_opts *o, int p)
{
    start_vector(L, o->seed, wg_rng_stream(WG_RNG_DIRECTION, o->stream, 0x534C51, (uint64_t)p),
                 1);
    lz_reset(L);
}

/* The probes one after another, one HVP per step. */
static int slq_serial(const wg_objective *f, const float *X, const wg_hessian_opts *o,
                      double h, int maxm, tri_ws *T, double *theta, double *Z, double *hutch,
                      wg_hessian_result *r)
{
    lanczos L;
    int rc = lz_init(&L, f->dim, maxm);
    for (int p = 0; rc == 0 && p < o->nprobe; p++) {
        slq_start(&L, o, p);
        for (;;) {
            if (o->stop && o->stop(o->stop_user)) {
                rc = WG_EINTR;
                break;
            }
            rc = lz_step(&L, f, X, h);
            if (rc)
                break;
            r->hvps++;
            if (slq_done(&L, maxm))
                break;
            lz_advance(&L);
        }
        if (rc == 0)
            rc = slq_record(&L, p, T, theta, Z, hutch, r);
    }
    lz_free(&L);
    return rc;
}

/* The probes side by side: each step one block HVP for every probe still running
 * (cheaper per vector than single products).  Each probe's Lanczos is the serial
 * one's; only the products differ, in their last bits, where the block product
 * rounds differently.  nprobe bases in memory. */
static int slq_lockstep(const wg_objective *f, const float *X, const wg_hessian_opts *o,
                        double h, int maxm, tri_ws *T, double *theta, double *Z,
                        double *hutch, wg_hessian_result *r)
{
    const size_t D = f->dim;
    const int P = o->nprobe;
    lanczos *L = wg_calloc((size_t)P, sizeof *L, "SLQ probes' Lanczos runs");
    int *run = wg_alloc((size_t)P, sizeof *run, "SLQ probes"); /* running probes' indices */
    float *V = wg_alloc((size_t)P * D, sizeof *V, "SLQ block of directions");
    double *HV = wg_alloc((size_t)P * D, sizeof *HV, "SLQ block of products");
    int rc = L && run && V && HV ? 0 : WG_ENOMEM; /* wg_alloc said which */
    for (int p = 0; rc == 0 && p < P; p++)
        if ((rc = lz_init(&L[p], D, maxm)) == 0)
            slq_start(&L[p], o, p);
    int nrun = rc == 0 ? P : 0;
    for (int p = 0; p < nrun; p++)
        run[p] = p;
    while (rc == 0 && nrun > 0) {
        if (o->stop && o->stop(o->stop_user)) {
            rc = WG_EINTR;
            break;
        }
        for (int k = 0; k < nrun; k++)
            lz_direction(&L[run[k]], V + (size_t)k * D);
        if ((rc = wg_hvp_apply(f, X, V, (size_t)nrun, h, HV)) != 0)
            break;
        r->hvps += nrun;
        int left = 0;
        for (int k = 0; k < nrun; k++) {
            lanczos *l = &L[run[k]];
            memcpy(l->w, HV + (size_t)k * D, D * sizeof *HV);
            lz_absorb(l);
            if (!slq_done(l, maxm)) {
                lz_advance(l);
                run[left++] = run[k];
            }
        }
        nrun = left;
    }
    for (int p = 0; rc == 0 && p < P; p++)
        rc = slq_record(&L[p], p, T, theta, Z, hutch, r);
    for (int p = 0; L && p < P; p++)
        lz_free(&L[p]);
    free(L), free(run), free(V), free(HV);
    return rc;
}

static int run_slq(const wg_objective *f, const float *X, const wg_hessian_opts *o, double h,
                   wg_hessian_result *r)
{
    const size_t D = f->dim;
    const int P = o->nprobe, S = o->nsteps, maxm = (size_t)S < D ? S : (int)D;
    tri_ws T;
    int rc = tri_ws_init(&T, maxm);
    double *Z = wg_alloc((size_t)maxm * (size_t)maxm, sizeof *Z, "SLQ eigenvectors");
    double *theta = wg_alloc((size_t)maxm, sizeof *theta, "SLQ nodes");
    double *hutch = wg_alloc((size_t)P, sizeof *hutch, "SLQ quadratic forms");
    r->nodes = wg_calloc((size_t)P * S, sizeof *r->nodes, "SLQ nodes");
    r->weights = wg_calloc((size_t)P * S, sizeof *r->weights, "SLQ weights");
    if (rc == 0 && (!Z || !theta || !hutch || !r->nodes || !r->weights))
        rc = WG_ENOMEM;
    r->nprobe = P;
    r->nsteps = S;
    r->level = o->level;
    r->lambda_min = INFINITY;
    if (rc == 0)
        rc = (o->slq_lockstep ? slq_lockstep : slq_serial)(f, X, o, h, maxm, &T, theta, Z,
                                                            hutch, r);
    if (rc == 0) {
        double sum = 0.0, sum2 = 0.0;
        for (int p = 0; p < P; p++)
            sum += hutch[p];
        r->trace = sum / P;
        for (int p = 0; p < P; p++)
            sum2 += (hutch[p] - r->trace) * (hutch[p] - r->trace);
        r->trace_se = sqrt(sum2 / (P - 1) / P);
        const double t = o->threshold;
        rc = wg_hessian_slq_count(r->nodes, r->weights, P, S, D, 0.5 * t, 0, o->level,
                                  &r->est_half);
        if (rc == 0)
            rc = wg_hessian_slq_count(r->nodes, r->weights, P, S, D, t, 0, o->level, &r->est);
        if (rc == 0)
            rc = wg_hessian_slq_count(r->nodes, r->weights, P, S, D, 2.0 * t, 0, o->level,
                                      &r->est_double);
        if (rc == 0)
            rc = wg_hessian_slq_count(r->nodes, r->weights, P, S, D, -t, 1, o->level,
                                      &r->est_negative);
        r->count_half = (int)lround(r->est_half.mean);
        r->count = (int)lround(r->est.mean);
        r->count_double = (int)lround(r->est_double.mean);
        r->count_negative = (int)lround(r->est_negative.mean);
    }
    tri_ws_free(&T);
    free(Z), free(theta), free(hutch);
    return rc;
}

/* ---- entry point ------------------------------------------------------------------ */

static int check_opts(const wg_objective *f, const wg_hessian_opts *o)
{
    if (o->method < 0 || o->method >= WG_HESSIAN_METHODS)
        return WG_FAIL(WG_EARG, "Hessian probe: unknown method %d", o->method);
    if (!(o->threshold > 0) || !isfinite(o->threshold))
        return WG_FAIL(WG_EARG, "Hessian probe: threshold %g (must be > 0)", o->threshold);
    if (!f->hvp && (!(o->h_rel > 0) || !isfinite(o->h_rel)))
        return WG_FAIL(WG_EARG, "Hessian probe: finite-difference step h_rel %g", o->h_rel);
    if (f->dim < 1 || f->dim > INT_MAX)
        return WG_FAIL(WG_EARG, "Hessian probe: dimension %zu", f->dim);
    switch (o->method) {
    case WG_HESSIAN_LANCZOS:
        if (o->max_hvp < 1 || !(o->tol > 0) || !(o->conv_frac > 0) || !(o->conv_frac <= 1) ||
            o->check_every < 1 || !(o->keep_frac > 0) || !(o->keep_frac <= o->conv_frac) ||
            o->max_bytes == 0)
            return WG_FAIL(WG_EARG, "Hessian probe (Lanczos): invalid options (budget %d, tol "
                                    "%g, conv_frac %g, check_every %d, keep_frac %g, max_bytes "
                                    "%zu)", o->max_hvp, o->tol, o->conv_frac, o->check_every,
                           o->keep_frac, o->max_bytes);
        break;
    case WG_HESSIAN_FULL:
        if (o->block < 1)
            return WG_FAIL(WG_EARG, "Hessian probe (full): block %d", o->block);
        break;
    default:
        if (o->nprobe < 2 || o->nsteps < 1 || !(o->level > 0 && o->level < 1))
            return WG_FAIL(WG_EARG, "Hessian probe (SLQ): %d probes, %d steps, level %g (need "
                                    ">= 2 probes, >= 1 step, 0 < level < 1)", o->nprobe,
                           o->nsteps, o->level);
        if ((size_t)o->nprobe * (size_t)o->nsteps > (size_t)INT_MAX)
            return WG_FAIL(WG_EARG, "Hessian probe (SLQ): %d x %d nodes", o->nprobe, o->nsteps);
        if (o->slq_lockstep) {
            double need = wg_hessian_lockstep_bytes(o->nprobe, o->nsteps, f->dim);
            if (need > (double)o->max_bytes)
                return WG_FAIL(WG_ENOMEM, "Hessian probe (SLQ in lockstep): %d bases of %.0f "
                               "x %zu need %.1f MB, more than the %.0f MB allowed (fewer "
                               "probes or steps, more memory, or the probes one at a time)",
                               o->nprobe, fmin((double)o->nsteps, (double)f->dim), f->dim,
                               need / 1048576.0, (double)o->max_bytes / 1048576.0);
        }
        break;
    }
    return 0;
}

int wg_hessian_probe(const wg_objective *f, const float *X, const wg_hessian_opts *o,
                     wg_hessian_result *r)
{
    memset(r, 0, sizeof *r);
    r->method = o->method;
    r->dim = f->dim;
    int rc = check_opts(f, o);
    if (rc)
        return rc;
    const size_t D = f->dim;
    double xn = 0.0;
    for (size_t i = 0; i < D; i++)
        xn += (double)X[i] * X[i];
    if (!isfinite(xn))
        return WG_FAIL(WG_EARG, "Hessian probe: the point has a non-finite coordinate");
    double h = 0.0; /* unused with an exact HVP */
    if (!f->hvp) {
        h = o->h_rel * sqrt(xn) / sqrt((double)D);
        if (!(h > 0) || !isfinite(h))
            return WG_FAIL(WG_EARG, "Hessian probe: |X| = %g gives no finite-difference step",
                           sqrt(xn));
    }
    if (o->method == WG_HESSIAN_LANCZOS)
        rc = run_lanczos(f, X, o, h, r);
    else if (o->method == WG_HESSIAN_FULL)
        rc = run_full(f, X, o, h, r);
    else
        rc = run_slq(f, X, o, h, r);
    if (rc) { /* what was computed is not a result; the HVPs spent are still told */
        long hvps = r->hvps;
        wg_hessian_result_free(r);
        r->method = o->method;
        r->dim = D;
        r->hvps = hvps;
    }
    return rc;
}
