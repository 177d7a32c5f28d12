/* test_hessian.c: unit tests of hessian.c, the short-direction count.
 *
 * Three layers, each against answers computed another way.  wg_tridiag_eig: the
 * (-1, 2, -1) matrix's analytic eigenpairs, diagonal and 1 x 1 matrices, and random
 * tridiagonals against Sturm-sequence bisection (eigenvalues), the trace and Frobenius
 * identities, and the last eigenvector components from the interlacing formula
 * z_k^2 = prod_j (l_k - mu_j) / prod_{j != k} (l_k - l_j) (mu: the leading
 * (n-1) x (n-1) block's eigenvalues).  wg_hessian_probe: quadratics
 * L = 0.5 (x-c)^T H (x-c) with a chosen spectrum, H diagonal or turned by a Householder
 * reflection, where the count above a threshold that sits in a spectral gap must be
 * exact; plus budget, determinism and error paths.  wg_hvp: a tiny MLP's Hessian
 * against a differently-stepped central difference and against the Hessian built
 * column by column, whose trace the full-length Lanczos run must reproduce. */
#include "wedge/error.h"
#include "wedge/hessian.h"
#include "wedge/net.h"
#include "wedge/objective.h"
#include "wedge/rng.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PI 3.14159265358979323846

static wg_rng test_rng(uint64_t a)
{
    wg_rng g;
    wg_rng_init(&g, 20240611, wg_rng_stream(WG_RNG_TEST, 0x4E55, a, 0));
    return g;
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n, size);
    assert_non_null(p);
    return p;
}

/* ---- tridiagonal eigenvalues ---------------------------------------------------- */

/* Number of eigenvalues of the tridiagonal (d, e) strictly below x: the negative
 * pivots of the LDL^T factorisation of T - xI (Sylvester's law of inertia).  A zero
 * pivot is nudged to a tiny negative number, the classical remedy. */
static int sturm_count(const double *d, const double *e, int n, double x)
{
    int count = 0;
    double q = 1.0;
    for (int i = 0; i < n; i++) {
        double off = i > 0 ? e[i - 1] * e[i - 1] / q : 0.0;
        q = d[i] - x - off;
        if (q == 0.0)
            q = -DBL_MIN;
        count += q < 0.0;
    }
    return count;
}

/* All eigenvalues (ascending) by bisection on Sturm counts, to the last bits: an
 * answer that shares nothing with implicit QL but the matrix. */
static void bisect_eigs(const double *d, const double *e, int n, double *out)
{
    double lo0 = INFINITY, hi0 = -INFINITY; /* Gershgorin */
    for (int i = 0; i < n; i++) {
        double r = (i > 0 ? fabs(e[i - 1]) : 0.0) + (i < n - 1 ? fabs(e[i]) : 0.0);
        lo0 = fmin(lo0, d[i] - r);
        hi0 = fmax(hi0, d[i] + r);
    }
    for (int k = 0; k < n; k++) {
        double lo = lo0 - 1.0, hi = hi0 + 1.0;
        for (int it = 0; it < 200; it++) {
            double mid = 0.5 * (lo + hi);
            if (mid <= lo || mid >= hi)
                break; /* adjacent doubles */
            if (sturm_count(d, e, n, mid) > k)
                hi = mid;
            else
                lo = mid;
        }
        out[k] = 0.5 * (lo + hi);
    }
}

/* The (-1, 2, -1) matrix: eigenvalues 2 - 2cos(k pi/(n+1)), eigenvectors
 * v_j = sin(j k pi/(n+1)) with |v|^2 = (n+1)/2, so the last normalised component is
 * sqrt(2/(n+1)) sin(n k pi/(n+1)). */
static void test_hessian_tridiag_toeplitz(void **state)
{
    (void)state;
    const int sizes[] = {2, 3, 5, 17, 50, 200};
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        int n = sizes[s];
        /* e has n entries: the implementation uses e[n-1] as scratch */
        double *d = xcalloc((size_t)n, sizeof *d), *e = xcalloc((size_t)n, sizeof *e);
        double *z = xcalloc((size_t)n, sizeof *z);
        for (int i = 0; i < n; i++) {
            d[i] = 2.0;
            e[i] = i < n - 1 ? -1.0 : 12345.0; /* the scratch entry's content is ignored */
        }
        assert_int_equal(wg_tridiag_eig(d, e, n, z), 0);
        double zz = 0.0;
        for (int k = 1; k <= n; k++) {
            double th = k * PI / (n + 1);
            double lam = 2.0 - 2.0 * cos(th);
            double zl = sqrt(2.0 / (n + 1)) * fabs(sin(n * th));
            /* QL is backward stable: each eigenvalue is within a small multiple of
             * n eps |T| (|T| <= 4) of the truth, ~2e-13 at n = 200; 1e-12 is that */
            if (!(fabs(d[k - 1] - lam) <= 1e-12))
                fail_msg("n %d: eigenvalue %d = %.17g, want %.17g", n, k, d[k - 1], lam);
            /* eigenvector error ~ eps |T| / gap; the smallest gap at n = 200 is
             * ~2.4e-4 (3 pi^2/(n+1)^2 at the bottom), so ~4e-12; 1e-10 is a margin
             * that still catches a wrong rotation (an O(1) error) */
            if (!(fabs(fabs(z[k - 1]) - zl) <= 1e-10))
                fail_msg("n %d: |z| %d = %.17g, want %.17g", n, k, fabs(z[k - 1]), zl);
            zz += z[k - 1] * z[k - 1];
        }
        /* z is the last row of an orthogonal matrix (rotations of e_n): unit norm to
         * rounding, a few eps per rotation accumulated over ~n^2 rotations */
        assert_true(fabs(zz - 1.0) <= 1e-12);
        free(d), free(e), free(z);
    }
}

/* e = 0: nothing to rotate; the eigenvalues are d sorted, bit for bit, and the last
 * components pick out the eigenvalue that sat in the last row. */
static void test_hessian_tridiag_diagonal(void **state)
{
    (void)state;
    enum { N = 30 };
    double d[N], e[N], z[N], want[N];
    wg_rng g = test_rng(1);
    for (int i = 0; i < N; i++) {
        d[i] = want[i] = wg_rng_uniform(&g) * 10.0 - 5.0;
        e[i] = 0.0;
    }
    double last = d[N - 1];
    /* ascending reference by insertion sort */
    for (int i = 1; i < N; i++)
        for (int j = i; j > 0 && want[j - 1] > want[j]; j--) {
            double t = want[j];
            want[j] = want[j - 1];
            want[j - 1] = t;
        }
    assert_int_equal(wg_tridiag_eig(d, e, N, z), 0);
    for (int i = 0; i < N; i++) {
        assert_true(d[i] == want[i]); /* exact: no arithmetic touches a diagonal */
        assert_true(z[i] == (d[i] == last ? 1.0 : 0.0));
    }
    /* without z */
    for (int i = 0; i < N; i++) {
        d[i] = want[N - 1 - i];
        e[i] = 0.0;
    }
    assert_int_equal(wg_tridiag_eig(d, e, N, NULL), 0);
    for (int i = 0; i < N; i++)
        assert_true(d[i] == want[i]);
}

static void test_hessian_tridiag_tiny(void **state)
{
    (void)state;
    double d[2] = {3.5, 0.0}, e[2] = {7.0, 7.0}, z[2] = {0.0, 0.0};
    assert_int_equal(wg_tridiag_eig(d, e, 1, z), 0);
    assert_true(d[0] == 3.5);
    assert_true(z[0] == 1.0);
    /* n = 0: nothing to do, nothing touched */
    d[0] = 1.0;
    e[0] = 2.0;
    z[0] = 3.0;
    assert_int_equal(wg_tridiag_eig(d, e, 0, z), 0);
    assert_true(d[0] == 1.0 && e[0] == 2.0 && z[0] == 3.0);
    /* 2 x 2 [[1, 2], [2, 1]]: eigenvalues -1 and 3, eigenvectors (1, -1)/sqrt2 and
     * (1, 1)/sqrt2; a few eps of rounding */
    d[0] = d[1] = 1.0;
    e[0] = 2.0;
    assert_int_equal(wg_tridiag_eig(d, e, 2, z), 0);
    assert_true(fabs(d[0] + 1.0) <= 1e-15 && fabs(d[1] - 3.0) <= 1e-15);
    assert_true(fabs(fabs(z[0]) - sqrt(0.5)) <= 1e-15 && fabs(fabs(z[1]) - sqrt(0.5)) <= 1e-15);
}

/* Random tridiagonals, against bisection and the identities. */
static void test_hessian_tridiag_random(void **state)
{
    (void)state;
    enum { N = 40, REPS = 20 };
    wg_rng g = test_rng(2);
    for (int rep = 0; rep < REPS; rep++) {
        double d0[N], e0[N], d[N], e[N], z[N], ref[N], sub[N];
        double scale = rep % 2 ? 1e3 : 1.0; /* the tests are relative to |T| */
        for (int i = 0; i < N; i++) {
            d0[i] = scale * (2.0 * wg_rng_uniform(&g) - 1.0);
            /* off-diagonals bounded away from 0: an unreduced matrix, so the
             * eigenvalues are distinct and the interlacing formula applies */
            double m = 0.1 + 0.9 * wg_rng_uniform(&g);
            e0[i] = scale * (wg_rng_uniform(&g) < 0.5 ? -m : m);
        }
        memcpy(d, d0, sizeof d);
        memcpy(e, e0, sizeof e);
        assert_int_equal(wg_tridiag_eig(d, e, N, z), 0);
        bisect_eigs(d0, e0, N, ref);
        bisect_eigs(d0, e0, N - 1, sub); /* leading (N-1) x (N-1) block */

        double norm = 0.0, tr = 0.0, fro = 0.0, sum = 0.0, sum2 = 0.0, gap = INFINITY;
        for (int i = 0; i < N; i++) {
            norm = fmax(norm, fabs(d0[i]) + 2.0 * scale);
            tr += d0[i];
            fro += d0[i] * d0[i] + (i < N - 1 ? 2.0 * e0[i] * e0[i] : 0.0);
            sum += d[i];
            sum2 += d[i] * d[i];
            if (i > 0)
                gap = fmin(gap, ref[i] - ref[i - 1]);
            assert_true(i == 0 || d[i] >= d[i - 1]); /* ascending */
        }
        for (int k = 0; k < N; k++) {
            /* both methods are accurate to a few eps |T| (QL backward stable,
             * bisection to adjacent doubles); 1e-13 |T| is ~100 eps of room */
            if (!(fabs(d[k] - ref[k]) <= 1e-13 * norm))
                fail_msg("rep %d: eigenvalue %d = %.17g, bisection %.17g", rep, k, d[k], ref[k]);
        }
        /* sums of N terms of size <= |T| (resp. |T|^2): N eps-ish rounding plus the
         * eigenvalue errors above; 1e-12 relative is generous for N = 40 */
        assert_true(fabs(sum - tr) <= 1e-12 * N * norm);
        assert_true(fabs(sum2 - fro) <= 1e-12 * N * norm * norm);

        double zz = 0.0;
        for (int k = 0; k < N; k++) {
            double lg = 0.0;
            for (int j = 0; j < N - 1; j++)
                lg += log(fabs(ref[k] - sub[j]));
            for (int j = 0; j < N; j++)
                if (j != k)
                    lg -= log(fabs(ref[k] - ref[j]));
            double want = exp(lg); /* z_k^2 */
            /* Compared as squares, absolutely: random tridiagonals have localised
             * eigenvectors whose last component can be ~1e-8, where l_k - mu_j is
             * below rounding and no relative comparison means anything.  Each
             * eigenvalue (both sets) is good to a few eps |T|, which moves z_k^2
             * by ~eps |T| / gap (the factors near l_k dominate), and QL's z is
             * good to ~eps |T| / gap too: 10 eps |T| / gap (measured: 2% of it) */
            double tol = 10.0 * DBL_EPSILON * norm / gap;
            if (!(fabs(z[k] * z[k] - want) <= tol))
                fail_msg("rep %d: z^2 %d = %.17g, interlacing formula %.17g (gap %g)", rep, k,
                         z[k] * z[k], want, gap);
            zz += z[k] * z[k];
        }
        assert_true(fabs(zz - 1.0) <= 1e-12); /* as in the Toeplitz test */
    }
}

/* A matrix whose eigenvalues are clustered (Wilkinson's W21+, pairs agreeing to ~1e-14):
 * QL must still converge and give the right values; a classical stress case. */
static void test_hessian_tridiag_wilkinson(void **state)
{
    (void)state;
    enum { N = 21 };
    double d[N], e[N], d0[N], e0[N], ref[N];
    for (int i = 0; i < N; i++) {
        d0[i] = d[i] = fabs(10.0 - i);
        e0[i] = e[i] = 1.0;
    }
    assert_int_equal(wg_tridiag_eig(d, e, N, NULL), 0);
    bisect_eigs(d0, e0, N, ref);
    for (int k = 0; k < N; k++)
        assert_true(fabs(d[k] - ref[k]) <= 1e-13 * 12.0); /* as for random, |T| ~ 12 */
    /* the largest is 10.746194182903393 (Wilkinson, The Algebraic Eigenvalue Problem) */
    assert_true(fabs(d[N - 1] - 10.746194182903393) <= 1e-12);
}

/* ---- quadratic objectives with a known spectrum ------------------------------------ */

typedef struct quad {
    size_t D;
    double *lam; /* the spectrum, in coordinate order */
    double *u;   /* unit Householder vector (H = P diag(lam) P, P = I - 2uu^T), or NULL */
    float *c;    /* the minimum */
    double *y;   /* work */
    long evals;
    long nan_after;  /* from this evaluation on, the gradient is NaN (-1: never) */
    long fail_after; /* from this evaluation on, eval fails with WG_EIO (-1: never) */
} quad;

static void reflect(const double *u, double *y, size_t D)
{
    double s = 0.0;
    for (size_t i = 0; i < D; i++)
        s += u[i] * y[i];
    for (size_t i = 0; i < D; i++)
        y[i] -= 2.0 * s * u[i];
}

/* Gradient H(x - c) in double, rounded to float as every wedge gradient is. */
static int quad_eval(void *ctx, const float *x, double *loss, float *grad)
{
    quad *q = ctx;
    long k = q->evals++;
    if (q->fail_after >= 0 && k >= q->fail_after)
        return WG_FAIL(WG_EIO, "quad: injected failure");
    for (size_t i = 0; i < q->D; i++)
        q->y[i] = (double)x[i] - (double)q->c[i];
    if (q->u)
        reflect(q->u, q->y, q->D);
    double L = 0.0;
    for (size_t i = 0; i < q->D; i++) {
        L += 0.5 * q->lam[i] * q->y[i] * q->y[i];
        q->y[i] *= q->lam[i];
    }
    if (q->u)
        reflect(q->u, q->y, q->D);
    *loss = L;
    if (grad) {
        for (size_t i = 0; i < q->D; i++)
            grad[i] = (float)q->y[i];
        if (q->nan_after >= 0 && k >= q->nan_after)
            grad[q->D / 2] = NAN;
    }
    return 0;
}

/* lam: the spectrum; the eigenvalues are scattered over random coordinates.  With
 * rotate, H = P diag P with a random Householder P, so no eigenvector is a coordinate
 * axis.  c and the start point X are N(0,1): a generic point with a non-zero gradient,
 * the harder case for differencing float gradients. */
static void quad_init(quad *q, wg_objective *f, float **X, const double *lam, size_t D,
                      int rotate, uint64_t seed)
{
    memset(q, 0, sizeof *q);
    q->D = D;
    q->nan_after = q->fail_after = -1;
    q->lam = xcalloc(D, sizeof *q->lam);
    q->c = xcalloc(D, sizeof *q->c);
    q->y = xcalloc(D, sizeof *q->y);
    *X = xcalloc(D, sizeof **X);
    wg_rng g = test_rng(100 + seed);
    memcpy(q->lam, lam, D * sizeof *lam);
    for (size_t i = D - 1; i > 0; i--) { /* shuffle */
        size_t j = (size_t)wg_rng_below(&g, i + 1);
        double t = q->lam[i];
        q->lam[i] = q->lam[j];
        q->lam[j] = t;
    }
    wg_rng_fill_normal(&g, q->c, D);
    wg_rng_fill_normal(&g, *X, D);
    if (rotate) {
        q->u = xcalloc(D, sizeof *q->u);
        double s = 0.0;
        for (size_t i = 0; i < D; i++) {
            q->u[i] = wg_rng_normal(&g);
            s += q->u[i] * q->u[i];
        }
        for (size_t i = 0; i < D; i++)
            q->u[i] /= sqrt(s);
    }
    memset(f, 0, sizeof *f);
    f->dim = D;
    f->ctx = q;
    f->eval = quad_eval;
}

static void quad_free(quad *q, float *X)
{
    free(q->lam), free(q->u), free(q->c), free(q->y), free(X);
}

static int cmp_desc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x < y) - (x > y);
}

/* A spectrum of D values: `top` listed values followed by the bulk, uniform in
 * [0, bulk_max].  Caller frees. */
static double *spectrum(size_t D, const double *top, size_t ntop, double bulk_max, uint64_t seed)
{
    double *lam = xcalloc(D, sizeof *lam);
    wg_rng g = test_rng(200 + seed);
    for (size_t i = 0; i < D; i++)
        lam[i] = i < ntop ? top[i] : bulk_max * wg_rng_uniform(&g);
    return lam;
}

static size_t count_above(const double *lam, size_t D, double t)
{
    size_t n = 0;
    for (size_t i = 0; i < D; i++)
        n += lam[i] > t;
    return n;
}

enum { QD = 3000, QTOP = 50 };

/* 50 eigenvalues spread over [2.5, 100] (spacing ~2, so each is well separated), the
 * other 2950 in [0, 0.2]: nothing within 10% of 0.5, 1 or 2 (threshold 1). */
static double *gap_spectrum(void)
{
    double top[QTOP];
    for (int k = 0; k < QTOP; k++)
        top[k] = 2.5 + 97.5 * k / (QTOP - 1);
    return spectrum(QD, top, QTOP, 0.2, 0);
}

static void check_gap_probe(int rotate)
{
    double *lam = gap_spectrum();
    quad q;
    wg_objective f;
    float *X;
    quad_init(&q, &f, &X, lam, QD, rotate, (uint64_t)rotate);
    wg_hessian_opts o;
    wg_hessian_opts_default(&o);
    o.seed = 7;
    wg_hessian_result r;
    int rc = wg_hessian_probe(&f, X, &o, &r);
    assert_int_equal(rc, 0);
    assert_int_equal(r.count, QTOP);
    assert_int_equal(r.count_half, QTOP);
    assert_int_equal(r.count_double, QTOP);
    assert_int_equal(r.converged, 1);
    /* converging 50 well-separated eigenvalues next to a tight bulk takes a little
     * over 50 Lanczos steps; "well under the budget" = less than half of 600 */
    assert_true(r.hvps < o.max_hvp / 2);
    assert_int_equal(r.n, (int)r.hvps); /* one HVP per Lanczos step */
    assert_int_equal(q.evals, 2 * r.hvps); /* two gradients per HVP */

    qsort(lam, QD, sizeof *lam, cmp_desc);
    for (int k = 0; k < QTOP; k++) {
        /* 3e-4 lambda_max, absolutely.  The HVPs are differences of float gradients
         * at float points, and rounding X +- h v to float moves coordinate i by up to
         * 2^-24 |X_i| next to a step h |v_i| ~ h_rel |X| / D: a direction error of
         * ~2^-24 sqrt(D) / h_rel ~ 3e-3 in norm at D = 3000 in every HVP.  It is
         * an error of the operator, not of the Lanczos recurrence, so the residual
         * bounds do not see it (they come out ~1e-17); it reaches the Ritz values
         * averaged over D coordinates, ~6e-5 lambda_max, and measured up to
         * 1.6e-4 lambda_max (1.8e-4 relative at the top) over 12 seeds and points.
         * A relative 1e-4 is therefore NOT met at h_rel 1e-3.  0.03 is still 70x
         * below the spacing (2) of this spectrum: a missed, duplicated or shifted
         * eigenvalue fails. */
        if (!(fabs(r.ritz[k] - lam[k]) <= 3e-4 * lam[0]))
            fail_msg("rotate %d: Ritz value %d = %.10g, eigenvalue %.10g", rotate, k,
                     r.ritz[k], lam[k]);
    }
    /* the first Ritz value after the 50: inside the bulk, or at least below the
     * gap's middle (interlacing keeps it <= the 51st eigenvalue, 0.2, up to noise) */
    assert_true(r.n > QTOP && r.ritz[QTOP] <= 0.2 + 3e-4 * lam[0]);
    for (int k = 1; k < r.n; k++)
        assert_true(r.ritz[k] <= r.ritz[k - 1]); /* descending */
    wg_hessian_result_free(&r);
    assert_null(r.ritz);
    quad_free(&q, X);
    free(lam);
}

static void test_hessian_count_exact_diagonal(void **state)
{
    (void)state;
    check_gap_probe(0);
}

static void test_hessian_count_exact_rotated(void **state)
{
    (void)state;
    check_gap_probe(1);
}

/* Three distinct counts: eigenvalues in (0.55, 0.9), (1.1, 1.8), (2.2, 100) and a bulk
 * in [0, 0.4], so that 0.5x, 1x and 2x the threshold all sit in gaps. */
static void test_hessian_counts_rethreshold(void **state)
{
    (void)state;
    enum { A = 8, B = 12, C = 20 };
    double top[A + B + C];
    for (int k = 0; k < A; k++)
        top[k] = 0.6 + 0.25 * k / (A - 1);
    for (int k = 0; k < B; k++)
        top[A + k] = 1.15 + 0.6 * k / (B - 1);
    for (int k = 0; k < C; k++)
        top[A + B + k] = 2.3 + 97.7 * k / (C - 1);
    double *lam = spectrum(QD, top, A + B + C, 0.4, 1);
    assert_int_equal(count_above(lam, QD, 0.5), A + B + C);
    assert_int_equal(count_above(lam, QD, 1.0), B + C);
    assert_int_equal(count_above(lam, QD, 2.0), C);
    quad q;
    wg_objective f;
    float *X;
    quad_init(&q, &f, &X, lam, QD, 1, 2);
    wg_hessian_opts o;
    wg_hessian_opts_default(&o);
    o.seed = 11;
    wg_hessian_result r;
    assert_int_equal(wg_hessian_probe(&f, X, &o, &r), 0);
    if (r.count_half != A + B + C || r.count != B + C || r.count_double != C)
        fail_msg("counts %d/%d/%d, want %d/%d/%d (%d Lanczos steps, converged %d)",
                 r.count_half, r.count, r.count_double, A + B + C, B + C, C, r.n,
                 r.converged);
    assert_int_equal(r.converged, 1);
    assert_true(r.hvps < o.max_hvp);
    wg_hessian_result_free(&r);
    quad_free(&q, X);
    free(lam);
}

/* The count depends on H only relative to the threshold: scaling the loss (units)
 * and the threshold together must not change it.  The gap spectrum at scales from
 * 1e-13 to 1e6 (at 1e-13 the eigenvalues are ~1e-11: every test inside Lanczos
 * must be relative to the spectrum, not to 1). */
static void test_hessian_scale_invariant(void **state)
{
    (void)state;
    const double scales[] = {1e6, 1e-6, 1e-13};
    double *lam0 = gap_spectrum();
    double *lam = xcalloc(QD, sizeof *lam);
    char msg[256] = "";
    for (size_t s = 0; s < sizeof scales / sizeof *scales; s++) {
        for (size_t i = 0; i < QD; i++)
            lam[i] = scales[s] * lam0[i];
        quad q;
        wg_objective f;
        float *X;
        quad_init(&q, &f, &X, lam, QD, 1, 20);
        wg_hessian_opts o;
        wg_hessian_opts_default(&o);
        o.threshold = scales[s];
        wg_hessian_result r;
        int rc = wg_hessian_probe(&f, X, &o, &r);
        /* the largest Ritz value, to the noise floor of check_gap_probe */
        int ok = rc == 0 && r.count == QTOP && r.count_half == QTOP &&
                 r.count_double == QTOP &&
                 fabs(r.ritz[0] - 100.0 * scales[s]) <= 3e-4 * 100.0 * scales[s];
        if (!ok && !msg[0])
            snprintf(msg, sizeof msg, "scale %g: rc %d, counts %d/%d/%d after %d steps "
                     "(converged %d), top Ritz value %g; want 50/50/50 and %g", scales[s], rc,
                     r.count_half, r.count, r.count_double, r.n, r.converged,
                     r.n > 0 ? r.ritz[0] : 0.0, 100.0 * scales[s]);
        wg_hessian_result_free(&r);
        quad_free(&q, X);
    }
    free(lam);
    free(lam0);
    if (msg[0]) /* after the frees, so that a failure leaks nothing */
        fail_msg("%s", msg);
}

/* A budget below the count: stops at the budget, says so, keeps what it has. */
static void test_hessian_budget_exhausted(void **state)
{
    (void)state;
    double *lam = gap_spectrum();
    quad q;
    wg_objective f;
    float *X;
    quad_init(&q, &f, &X, lam, QD, 1, 3);
    wg_hessian_opts o;
    wg_hessian_opts_default(&o);
    const int budgets[] = {1, 7, 30, 45};
    for (size_t b = 0; b < sizeof budgets / sizeof *budgets; b++) {
        o.max_hvp = budgets[b];
        wg_hessian_result r;
        assert_int_equal(wg_hessian_probe(&f, X, &o, &r), 0);
        assert_int_equal(r.converged, 0);
        assert_int_equal(r.hvps, budgets[b]);
        assert_int_equal(r.n, budgets[b]);
        /* Ritz values interlace below the eigenvalues: never more than the truth
         * and never more than the number of steps */
        assert_true(r.count <= QTOP && r.count <= budgets[b]);
        assert_true(r.ritz[0] <= 100.0 + 3e-4 * 100.0); /* the noise floor, as above */
        wg_hessian_result_free(&r);
    }
    quad_free(&q, X);
    free(lam);
}

/* Same seed and stream: bit-identical results; another stream: another start. */
static void test_hessian_deterministic(void **state)
{
    (void)state;
    double *lam = gap_spectrum();
    quad q;
    wg_objective f;
    float *X;
    quad_init(&q, &f, &X, lam, QD, 1, 4);
    wg_hessian_opts o;
    wg_hessian_opts_default(&o);
    o.seed = 3;
    o.stream = 5;
    o.max_hvp = 40;
    wg_hessian_result r1, r2, r3;
    assert_int_equal(wg_hessian_probe(&f, X, &o, &r1), 0);
    assert_int_equal(wg_hessian_probe(&f, X, &o, &r2), 0);
    o.stream = 6;
    assert_int_equal(wg_hessian_probe(&f, X, &o, &r3), 0);
    assert_int_equal(r1.n, r2.n);
    assert_int_equal(r1.hvps, r2.hvps);
    assert_int_equal(r1.count, r2.count);
    assert_memory_equal(r1.ritz, r2.ritz, (size_t)r1.n * sizeof *r1.ritz);
    assert_memory_equal(r1.resid, r2.resid, (size_t)r1.n * sizeof *r1.resid);
    assert_int_equal(r3.n, r1.n);
    assert_memory_not_equal(r1.ritz, r3.ritz, (size_t)r1.n * sizeof *r1.ritz);
    wg_hessian_result_free(&r1);
    wg_hessian_result_free(&r2);
    wg_hessian_result_free(&r3);
    quad_free(&q, X);
    free(lam);
}

/* Zero Hessian: the first step finds an invariant subspace; count 0, converged. */
static void test_hessian_zero_hessian(void **state)
{
    (void)state;
    enum { D = 100 };
    double lam[D] = {0};
    quad q;
    wg_objective f;
    float *X;
    quad_init(&q, &f, &X, lam, D, 0, 5);
    wg_hessian_opts o;
    wg_hessian_opts_default(&o);
    wg_hessian_result r;
    assert_int_equal(wg_hessian_probe(&f, X, &o, &r), 0);
    assert_int_equal(r.converged, 1);
    assert_int_equal(r.hvps, 1);
    assert_int_equal(r.n, 1);
    assert_true(r.ritz[0] == 0.0);
    assert_int_equal(r.count_half + r.count + r.count_double, 0);
    wg_hessian_result_free(&r);
    quad_free(&q, X);
}

/* D smaller than the budget: at most D steps, and Lanczos then sees the whole
 * spectrum (all distinct). */
static void test_hessian_small_dimension(void **state)
{
    (void)state;
    enum { D = 12 };
    double lam[D];
    for (int i = 0; i < D; i++)
        lam[i] = 0.25 * (i + 1) + 0.01 * i * i; /* distinct, in (0.2, 5) */
    quad q;
    wg_objective f;
    float *X;
    quad_init(&q, &f, &X, lam, D, 1, 6);
    wg_hessian_opts o;
    wg_hessian_opts_default(&o);
    o.threshold = 1.1; /* 0.55, 1.1, 2.2: none within 5% of an eigenvalue */
    wg_hessian_result r;
    assert_int_equal(wg_hessian_probe(&f, X, &o, &r), 0);
    assert_true(r.n <= D && r.hvps <= D);
    assert_int_equal(r.count_half, (int)count_above(lam, D, 0.55));
    assert_int_equal(r.count, (int)count_above(lam, D, 1.1));
    assert_int_equal(r.count_double, (int)count_above(lam, D, 2.2));
    wg_hessian_result_free(&r);
    quad_free(&q, X);
}

static void test_hessian_invalid_options(void **state)
{
    (void)state;
    enum { D = 50 };
    double lam[D];
    for (int i = 0; i < D; i++)
        lam[i] = i;
    quad q;
    wg_objective f;
    float *X;
    quad_init(&q, &f, &X, lam, D, 0, 7);
    for (int which = 0; which < 12; which++) {
        wg_hessian_opts o;
        wg_hessian_opts_default(&o);
        switch (which) {
        case 0: o.max_hvp = 0; break;
        case 1: o.max_hvp = -5; break;
        case 2: o.h_rel = 0.0; break;
        case 3: o.h_rel = -1e-3; break;
        case 4: o.h_rel = NAN; break;
        case 5: o.tol = 0.0; break;
        case 6: o.tol = NAN; break;
        case 7: o.threshold = 0.0; break;
        case 8: o.threshold = -1.0; break;
        case 9: o.threshold = NAN; break;
        case 10: o.check_every = 0; break;
        default: o.check_every = -3; break;
        }
        wg_hessian_result r;
        memset(&r, 0xA5, sizeof r); /* garbage in: must be reset */
        wg_err_clear();
        assert_int_equal(wg_hessian_probe(&f, X, &o, &r), WG_EARG);
        assert_int_equal(wg_err_code(), WG_EARG);
        assert_null(r.ritz);
        assert_int_equal(r.n, 0);
        assert_int_equal(r.hvps, 0);
        wg_hessian_result_free(&r);
    }
    assert_int_equal(q.evals, 0); /* rejected before any work */
    wg_err_clear();
    quad_free(&q, X);
}

/* X = 0 (and non-finite X) gives no finite-difference step h = h_rel |X| / sqrt(D). */
static void test_hessian_zero_point(void **state)
{
    (void)state;
    enum { D = 50 };
    double lam[D];
    for (int i = 0; i < D; i++)
        lam[i] = i;
    quad q;
    wg_objective f;
    float *X;
    quad_init(&q, &f, &X, lam, D, 0, 8);
    wg_hessian_opts o;
    wg_hessian_opts_default(&o);
    const float bad[] = {0.0f, INFINITY, NAN};
    for (size_t b = 0; b < 3; b++) {
        for (size_t i = 0; i < D; i++)
            X[i] = b == 0 ? 0.0f : (i == 3 ? bad[b] : 1.0f);
        wg_hessian_result r;
        wg_err_clear();
        assert_int_equal(wg_hessian_probe(&f, X, &o, &r), WG_EARG);
        assert_int_equal(wg_err_code(), WG_EARG);
        assert_null(r.ritz);
        wg_hessian_result_free(&r);
    }
    assert_int_equal(q.evals, 0);
    wg_err_clear();
    quad_free(&q, X);
}

/* A NaN gradient is WG_EDIVERGED, at the first HVP or mid-run; an objective's own
 * error comes back unchanged; the result is safe to free either way. */
static void test_hessian_objective_errors(void **state)
{
    (void)state;
    enum { D = 200 };
    double lam[D];
    for (int i = 0; i < D; i++)
        lam[i] = 0.05 * i;
    quad q;
    wg_objective f;
    float *X;
    quad_init(&q, &f, &X, lam, D, 1, 9);
    wg_hessian_opts o;
    wg_hessian_opts_default(&o);
    const long after[] = {0, 1, 25};
    for (int kind = 0; kind < 2; kind++)
        for (size_t a = 0; a < 3; a++) {
            q.evals = 0;
            q.nan_after = kind == 0 ? after[a] : -1;
            q.fail_after = kind == 1 ? after[a] : -1;
            wg_hessian_result r;
            wg_err_clear();
            int rc = wg_hessian_probe(&f, X, &o, &r);
            assert_int_equal(rc, kind == 0 ? WG_EDIVERGED : WG_EIO);
            assert_int_equal(wg_err_code(), rc);
            assert_int_equal(r.converged, 0);
            assert_true(r.hvps == after[a] / 2); /* the failing HVP is not counted */
            wg_hessian_result_free(&r);
        }
    /* wg_hvp reports it too */
    double *hv = xcalloc(D, sizeof *hv);
    float *v = xcalloc(D, sizeof *v);
    v[0] = 1.0f;
    q.nan_after = 0;
    q.fail_after = -1;
    wg_err_clear();
    assert_int_equal(wg_hvp(&f, X, v, 1e-3, hv), WG_EDIVERGED);
    wg_err_clear();
    free(hv);
    free(v);
    quad_free(&q, X);
}

/* ---- HVPs of a tiny network --------------------------------------------------------- */

typedef struct tiny {
    wg_dataset ds;
    wg_objective f;
    float *X;
    size_t D;
    double h;
} tiny;

static void tiny_init(tiny *t)
{
    memset(t, 0, sizeof *t);
    assert_int_equal(wg_data_synthetic(&t->ds, 20, 6, 6, 1, 5, 0), 0);
    wg_net_opts no;
    wg_net_opts_default(&no);
    no.arch = WG_ARCH_MLP;
    no.depth = 1;
    no.hidden = 5;
    no.in_h = 6;
    no.in_w = 6;
    no.in_c = 1;
    no.classes = 10;
    no.activation = WG_ACT_TANH;
    no.dropout = 0.0f;
    assert_int_equal(wg_objective_net(&t->f, &no, &t->ds, 20), 0);
    t->D = t->f.dim;
    assert_int_equal(t->D, 36 * 5 + 5 + 5 * 10 + 10);
    wg_net net;
    assert_int_equal(wg_net_init(&net, &no, 1), 0);
    t->X = xcalloc(t->D, sizeof *t->X);
    wg_net_init_params(&net, t->X, 5, 0);
    wg_net_free(&net);
    /* non-zero biases, so that no block of the Hessian is special */
    wg_rng g = test_rng(300);
    for (size_t i = 0; i < t->D; i++)
        t->X[i] += 0.1f * (float)wg_rng_normal(&g);
    double xn = 0.0;
    for (size_t i = 0; i < t->D; i++)
        xn += (double)t->X[i] * t->X[i];
    t->h = 1e-3 * sqrt(xn) / sqrt((double)t->D); /* the probe's step */
}

static void tiny_free(tiny *t)
{
    wg_objective_free(&t->f);
    wg_dataset_free(&t->ds);
    free(t->X);
}

/* The Hessian column by column, H[i][j] = (H e_j)_i (row-major D x D; caller frees). */
static double *tiny_hessian(const tiny *t)
{
    size_t D = t->D;
    double *H = xcalloc(D * D, sizeof *H), *col = xcalloc(D, sizeof *col);
    float *e = xcalloc(D, sizeof *e);
    for (size_t j = 0; j < D; j++) {
        e[j] = 1.0f;
        assert_int_equal(wg_hvp(&t->f, t->X, e, t->h, col), 0);
        e[j] = 0.0f;
        for (size_t i = 0; i < D; i++)
            H[i * D + j] = col[i];
    }
    free(col);
    free(e);
    return H;
}

static double norm2(const double *a, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += a[i] * a[i];
    return sqrt(s);
}

static void unit_direction(float *v, size_t D, uint64_t which)
{
    wg_rng g = test_rng(400 + which);
    double s = 0.0, tmp[1024];
    assert_true(D <= 1024);
    for (size_t i = 0; i < D; i++) {
        tmp[i] = wg_rng_normal(&g);
        s += tmp[i] * tmp[i];
    }
    for (size_t i = 0; i < D; i++)
        v[i] = (float)(tmp[i] / sqrt(s));
}

/* wg_hvp against our own central difference with three times the step. */
static void test_hessian_hvp_central_difference(void **state)
{
    (void)state;
    tiny t;
    tiny_init(&t);
    size_t D = t.D;
    double *hv = xcalloc(D, sizeof *hv), *ref = xcalloc(D, sizeof *ref);
    float *v = xcalloc(D, sizeof *v), *x = xcalloc(D, sizeof *x);
    float *gp = xcalloc(D, sizeof *gp), *gm = xcalloc(D, sizeof *gm);
    for (uint64_t dir = 0; dir < 3; dir++) {
        unit_direction(v, D, dir);
        assert_int_equal(wg_hvp(&t.f, t.X, v, t.h, hv), 0);
        double h2 = 3.0 * t.h, lp, lm;
        for (size_t i = 0; i < D; i++)
            x[i] = (float)((double)t.X[i] + h2 * v[i]);
        assert_int_equal(wg_objective_grad(&t.f, x, &lp, gp), 0);
        for (size_t i = 0; i < D; i++)
            x[i] = (float)((double)t.X[i] - h2 * v[i]);
        assert_int_equal(wg_objective_grad(&t.f, x, &lm, gm), 0);
        for (size_t i = 0; i < D; i++)
            ref[i] = ((double)gp[i] - (double)gm[i]) / (2.0 * h2);
        double diff = 0.0;
        for (size_t i = 0; i < D; i++)
            diff += (hv[i] - ref[i]) * (hv[i] - ref[i]);
        diff = sqrt(diff);
        /* 1e-2 relative.  The gradients are floats summed in float over the batch
         * (relative noise ~1e-7 of |g|), and the perturbed points are rounded to
         * float: X_i + h v_i moves by up to 2^-24 |X_i| next to a step
         * h |v_i| ~ 1e-3 |X| / D, a ~1e-3 relative error in the direction; the
         * truncation error O(h^2 |g'''|) is negligible at these steps.  Measured
         * 1.0-1.8e-3; a wrong sign, factor or step shows as O(1). */
        if (!(diff <= 1e-2 * norm2(ref, D)))
            fail_msg("direction %d: |hvp - cd| = %g, |cd| = %g", (int)dir, diff, norm2(ref, D));
    }
    free(hv), free(ref), free(v), free(x), free(gp), free(gm);
    tiny_free(&t);
}

/* The column-built Hessian: symmetric up to differencing noise, and consistent with
 * an HVP in a random direction (linearity). */
static void test_hessian_hvp_full_matrix(void **state)
{
    (void)state;
    tiny t;
    tiny_init(&t);
    size_t D = t.D;
    double *H = tiny_hessian(&t);
    double asym = 0.0, fro = 0.0;
    for (size_t i = 0; i < D; i++)
        for (size_t j = 0; j < D; j++) {
            double a = H[i * D + j] - H[j * D + i];
            asym += a * a;
            fro += H[i * D + j] * H[i * D + j];
        }
    asym = sqrt(asym);
    fro = sqrt(fro);
    /* The exact Hessian is symmetric.  Each entry carries the float gradient's
     * rounding (~2^-24 |g_i| a few times over: backprop and the batch sum are in
     * float) divided by 2h ~ 6e-4: ~1e-4 per entry with |g_i| ~ 0.06, ~1e-2 over
     * the D^2 = 6e4 entries, against |H|_F ~ 4.  Measured 1.1e-3 relative; 5e-3
     * leaves room, while a transposed or mis-scaled column is O(1). */
    if (!(asym <= 5e-3 * fro))
        fail_msg("|H - H^T| = %g, |H| = %g", asym, fro);
    assert_true(fro > 0.0);

    double *hv = xcalloc(D, sizeof *hv), *ref = xcalloc(D, sizeof *ref);
    float *v = xcalloc(D, sizeof *v);
    for (uint64_t dir = 0; dir < 3; dir++) {
        unit_direction(v, D, 10 + dir);
        assert_int_equal(wg_hvp(&t.f, t.X, v, t.h, hv), 0);
        for (size_t i = 0; i < D; i++) {
            double s = 0.0;
            for (size_t j = 0; j < D; j++)
                s += H[i * D + j] * v[j];
            ref[i] = s;
        }
        double diff = 0.0;
        for (size_t i = 0; i < D; i++)
            diff += (hv[i] - ref[i]) * (hv[i] - ref[i]);
        diff = sqrt(diff);
        /* the same noise as the central-difference test, on both sides: 1e-2
         * (measured 1.1-1.9e-3) */
        if (!(diff <= 1e-2 * norm2(ref, D)))
            fail_msg("direction %d: |Hv - H_col v| = %g, |H_col v| = %g", (int)dir, diff,
                     norm2(ref, D));
    }
    free(hv), free(ref), free(v), free(H);
    tiny_free(&t);
}

/* The whole pipeline: Lanczos run to the full dimension spans R^D, so the Ritz
 * values sum to the trace of the (differenced) Hessian. */
static void test_hessian_lanczos_trace(void **state)
{
    (void)state;
    tiny t;
    tiny_init(&t);
    size_t D = t.D;
    double *H = tiny_hessian(&t);
    double tr = 0.0, fro = 0.0;
    for (size_t i = 0; i < D; i++) {
        tr += H[i * D + i];
        for (size_t j = 0; j < D; j++)
            fro += H[i * D + j] * H[i * D + j];
    }
    fro = sqrt(fro);
    wg_hessian_opts o;
    wg_hessian_opts_default(&o);
    o.max_hvp = (int)D;
    /* a tiny threshold and a tolerance no Ritz value can meet: Lanczos can only stop
     * at the budget (or an invariant subspace at the very end) */
    o.threshold = 1e-9;
    o.tol = 1e-300;
    wg_hessian_result r;
    assert_int_equal(wg_hessian_probe(&t.f, t.X, &o, &r), 0);
    assert_int_equal(r.n, (int)D);
    double sum = 0.0;
    for (int k = 0; k < r.n; k++)
        sum += r.ritz[k];
    /* sum(Ritz) = trace(T) = trace(Q^T A Q) = trace(A) for the operator A the HVPs
     * apply, Q square orthogonal; the column-built H is that operator up to the
     * ~1e-3 relative noise of each product (above), and the D diagonal terms'
     * noise partly cancels: measured 1.7e-4 |H|_F.  2e-3 |H|_F is loose for the
     * noise and still catches a lost or doubled direction with |lambda| > 0.008
     * (the top eigenvalue is ~0.6 |H|_F) */
    if (!(fabs(sum - tr) <= 2e-3 * fro))
        fail_msg("sum of Ritz values %.9g, trace %.9g, |H|_F %.9g", sum, tr, fro);
    /* and the largest Ritz value is the largest eigenvalue's: bounded by |H|_F */
    assert_true(r.ritz[0] <= fro * (1.0 + 1e-2));
    wg_hessian_result_free(&r);
    free(H);
    tiny_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hessian_tridiag_toeplitz),
        cmocka_unit_test(test_hessian_tridiag_diagonal),
        cmocka_unit_test(test_hessian_tridiag_tiny),
        cmocka_unit_test(test_hessian_tridiag_random),
        cmocka_unit_test(test_hessian_tridiag_wilkinson),
        cmocka_unit_test(test_hessian_count_exact_diagonal),
        cmocka_unit_test(test_hessian_count_exact_rotated),
        cmocka_unit_test(test_hessian_counts_rethreshold),
        cmocka_unit_test(test_hessian_scale_invariant),
        cmocka_unit_test(test_hessian_budget_exhausted),
        cmocka_unit_test(test_hessian_deterministic),
        cmocka_unit_test(test_hessian_zero_hessian),
        cmocka_unit_test(test_hessian_small_dimension),
        cmocka_unit_test(test_hessian_invalid_options),
        cmocka_unit_test(test_hessian_zero_point),
        cmocka_unit_test(test_hessian_objective_errors),
        cmocka_unit_test(test_hessian_hvp_central_difference),
        cmocka_unit_test(test_hessian_hvp_full_matrix),
        cmocka_unit_test(test_hessian_lanczos_trace),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
