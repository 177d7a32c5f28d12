/* test_toy.c: unit tests of toy.c, the toy wedge model, and of its objective wrapper.
 *
 * The loss is compared with the definition computed the slow way (sort |P| in
 * double, sum the squares of the D-n smallest) on random points, on points with many
 * ties and zeros, and on large inputs in the orders that break naive quickselects
 * (sorted, reverse sorted, all equal).  The gradient is compared with the direct
 * formula (P_j / L on the selected coordinates, ties at the threshold taken in index
 * order as toy.h promises) and with central differences at points without ties.
 * The selection itself is checked against a full sort and its comparison count
 * against c*D on those inputs for growing D.  Also: zero loss on wedges, the
 * short-direction count, and wg_objective_toy. */
#include "wedge/error.h"
#include "wedge/objective.h"
#include "wedge/rng.h"
#include "wedge/toy.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- reference ------------------------------------------------------------------- */

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

/* |P_j| sorted ascending, in double (caller frees). */
static double *sorted_abs(const float *P, size_t D)
{
    double *a = malloc(D * sizeof *a);
    assert_non_null(a);
    for (size_t j = 0; j < D; j++)
        a[j] = fabs((double)P[j]);
    qsort(a, D, sizeof *a, cmp_double);
    return a;
}

/* The definition: sqrt of the sum of squares of the D-n smallest |P_j|, summed in
 * long double so that its own rounding is negligible next to the bound below.  Also
 * returns the threshold (the (D-n)-th smallest |P_j|) and how many coordinates lie
 * strictly below it.  sorted: sorted_abs(P, D), or NULL to compute it here. */
static double ref_loss(const float *P, size_t D, size_t n, const double *sorted, double *thr,
                       size_t *below)
{
    double *own = sorted ? NULL : sorted_abs(P, D);
    const double *a = sorted ? sorted : own;
    size_t m = D - n;
    long double s = 0.0L;
    for (size_t j = 0; j < m; j++)
        s += (long double)a[j] * a[j];
    *thr = m ? a[m - 1] : 0.0;
    size_t b = 0;
    for (size_t j = 0; j < D; j++)
        b += fabs((double)P[j]) < *thr;
    *below = b;
    free(own);
    return (double)sqrtl(s);
}

/* The implementation sums the same squares (of floats, so exact in double) in index
 * order in double: the classical bound for D non-negative terms is (D-1) u relative
 * on the sum (u = 2^-53), half that on its square root, plus a rounding or two in
 * the square root and in the final conversion.  (D + 4) u is therefore a bound it
 * must meet.  For large D that bound can hide a wrong choice between two nearby
 * magnitudes, so check_point also checks membership of every coordinate exactly,
 * through the gradient. */
static void assert_loss_close(double got, double want, size_t D, const char *what)
{
    if (!(fabs(got - want) <= (double)(D + 4) * 0x1.0p-53 * want))
        fail_msg("%s: loss %.17g, reference %.17g", what, got, want);
}

/* Check wg_toy_loss and its gradient at P against the definition (sorted as for
 * ref_loss). */
static void check_point_sorted(const float *P, size_t D, size_t n, const double *sorted,
                               const char *what)
{
    float *grad = malloc(D * sizeof *grad), *work = malloc(D * sizeof *work);
    assert_non_null(grad);
    assert_non_null(work);
    for (size_t j = 0; j < D; j++)
        grad[j] = NAN; /* every entry must be written */
    double thr;
    size_t below;
    double want = ref_loss(P, D, n, sorted, &thr, &below);
    double L = wg_toy_loss(P, D, n, grad, work);
    assert_loss_close(L, want, D, what);
    /* the loss without a gradient is the same number */
    assert_true(wg_toy_loss(P, D, n, NULL, work) == L);
    /* the double-precision version (hyperplane probe) at the same point: the same
     * selection (checked below, coordinate by coordinate) and the same loss within
     * the same bound (its squares of floats are exact in long double too) */
    double *Pd = malloc(D * sizeof *Pd), *wd = malloc(D * sizeof *wd);
    unsigned char *sel = malloc(D);
    assert_non_null(Pd);
    assert_non_null(wd);
    assert_non_null(sel);
    for (size_t j = 0; j < D; j++)
        Pd[j] = P[j];
    assert_loss_close(wg_toy_loss_double(Pd, D, n, sel, wd), want, D, what);

    size_t m = D - n, ties_left = m - below, selected = 0, selected_nonzero = 0, moved = 0;
    double norm2 = 0.0;
    for (size_t j = 0; j < D; j++) {
        double a = fabs((double)P[j]);
        int take = 0;
        if (a < thr)
            take = 1;
        else if (a == thr && ties_left > 0) {
            take = 1;
            ties_left--;
        }
        selected += (size_t)take;
        if (sel[j] != take)
            fail_msg("%s: D %zu n %zu: double loss selects %zu as %d", what, D, n, j, sel[j]);
        selected_nonzero += (size_t)(take && a > 0.0);
        moved += grad[j] != 0.0f;
        /* P_j / L rounded to float: the implementation's L differs from ours in the
         * last bits, so allow one float ulp (2^-23 relative) */
        double g = take && want > 0.0 ? (double)P[j] / want : 0.0;
        if (!(fabs((double)grad[j] - g) <= 0x1.0p-23 * fabs(g)))
            fail_msg("%s: D %zu n %zu grad[%zu] = %.9g, want %.9g (|P_j| %g, threshold %g)",
                     what, D, n, j, (double)grad[j], g, a, thr);
        norm2 += (double)grad[j] * grad[j];
    }
    assert_int_equal(selected, m); /* the reference's own consistency */
    /* exactly the selected non-zero coordinates have a gradient (when L > 0): ties
     * at the threshold are neither all taken nor all dropped */
    assert_int_equal(moved, want > 0.0 ? selected_nonzero : 0);
    /* unit norm when L > 0: each g_j^2 is within 2^-23 relative of its exact value
     * (float rounding of g_j, 2^-24, doubled by squaring) and the exact squares sum
     * to 1, so the squared norm is within ~1.2e-7 of 1 whatever D; 1e-6 bounds it */
    if (L > 0.0)
        assert_true(fabs(norm2 - 1.0) <= 1e-6);
    else
        assert_true(norm2 == 0.0);
    free(grad);
    free(work);
    free(Pd);
    free(wd);
    free(sel);
}

static void check_point(const float *P, size_t D, size_t n, const char *what)
{
    check_point_sorted(P, D, n, NULL, what);
}

/* ---- loss and gradient against the definition ---------------------------------- */

static void test_toy_loss_random_points(void **state)
{
    (void)state;
    const size_t Ds[] = {1, 2, 3, 5, 17, 100, 1000};
    wg_rng r;
    wg_rng_init(&r, 1, wg_rng_stream(WG_RNG_TEST, 20, 0, 0));
    for (size_t k = 0; k < sizeof Ds / sizeof Ds[0]; k++) {
        size_t D = Ds[k];
        float *P = malloc(D * sizeof *P);
        assert_non_null(P);
        const size_t ns[] = {0, 1, D / 3, D / 2, D - 1};
        for (size_t t = 0; t < sizeof ns / sizeof ns[0]; t++) {
            size_t n = ns[t];
            if (n >= D)
                continue;
            for (int rep = 0; rep < 20; rep++) {
                wg_rng_fill_normal(&r, P, D);
                if (rep % 4 == 1) /* widely varying scales */
                    for (size_t j = 0; j < D; j++)
                        P[j] *= powf(10.0f, (float)(j % 7) - 3.0f);
                check_point(P, D, n, "random");
            }
        }
        free(P);
    }
}

/* Values from {-2,-1,0,1,2}: most thresholds fall on a tie, often at 0. */
static void test_toy_loss_ties_and_zeros(void **state)
{
    (void)state;
    const size_t Ds[] = {1, 2, 4, 7, 31, 256};
    wg_rng r;
    wg_rng_init(&r, 2, wg_rng_stream(WG_RNG_TEST, 21, 0, 0));
    for (size_t k = 0; k < sizeof Ds / sizeof Ds[0]; k++) {
        size_t D = Ds[k];
        float *P = malloc(D * sizeof *P);
        assert_non_null(P);
        for (size_t n = 0; n < D; n += D > 8 ? D / 8 + 1 : 1) {
            for (int rep = 0; rep < 30; rep++) {
                for (size_t j = 0; j < D; j++)
                    P[j] = (float)wg_rng_below(&r, 5) - 2.0f;
                check_point(P, D, n, "ties");
            }
            check_point(P, D, D - 1, "ties, n = D-1");
        }
        /* all zero, all equal, and all equal but for sign */
        for (size_t j = 0; j < D; j++)
            P[j] = 0.0f;
        check_point(P, D, 0, "zeros");
        for (size_t j = 0; j < D; j++)
            P[j] = j % 2 ? -1.5f : 1.5f;
        for (size_t n = 0; n < D; n++)
            check_point(P, D, n, "equal magnitudes");
        free(P);
    }
}

/* toy.h: ties at the threshold are taken in index order.  P = (3, 1, -1, 1, 2):
 * with n = 3 the two smallest are two of the three 1s (threshold 1, none below),
 * namely indices 1 and 2. */
static void test_toy_tie_order(void **state)
{
    (void)state;
    const float P[5] = {3.0f, 1.0f, -1.0f, 1.0f, 2.0f};
    float grad[5], work[5];
    double L = wg_toy_loss(P, 5, 3, grad, work);
    assert_true(L == sqrt(2.0));
    assert_true(grad[0] == 0.0f && grad[3] == 0.0f && grad[4] == 0.0f);
    assert_true(grad[1] == (float)(1.0 / sqrt(2.0)));
    assert_true(grad[2] == (float)(-1.0 / sqrt(2.0)));
    /* n = 0: the whole norm; n = D-1: the smallest magnitude, its first holder */
    assert_true(wg_toy_loss(P, 5, 0, grad, work) == sqrt(16.0));
    assert_true(wg_toy_loss(P, 5, 4, grad, work) == 1.0);
    assert_true(grad[1] == 1.0f && grad[2] == 0.0f && grad[3] == 0.0f);
}

/* Central differences at points without ties: magnitudes 0.1 + 0.05 k (gaps 0.05,
 * far above the step), random signs and order, so a step of 1e-3 never changes the
 * selection.  The difference quotient uses the float-rounded step actually taken;
 * its error is the cubic term, ~h^2 / L^2 < 1e-6 here, plus double rounding of L
 * over 2h (~1e-13); 1e-5 absolute is a safe bound on entries of size ~0.1-1. */
static void test_toy_grad_central_differences(void **state)
{
    (void)state;
    const size_t D = 40;
    float P[40], grad[40], work[40];
    uint32_t perm[40];
    wg_rng r;
    wg_rng_init(&r, 3, wg_rng_stream(WG_RNG_TEST, 22, 0, 0));
    const size_t ns[] = {0, 1, 13, 20, 39};
    for (size_t t = 0; t < sizeof ns / sizeof ns[0]; t++) {
        size_t n = ns[t];
        wg_rng_permute(&r, perm, D);
        for (size_t j = 0; j < D; j++)
            P[j] = (0.1f + 0.05f * (float)perm[j]) * (wg_rng_u32(&r) & 1 ? -1.0f : 1.0f);
        double L = wg_toy_loss(P, D, n, grad, work);
        assert_true(L > 0.0);
        size_t nonzero = 0;
        for (size_t j = 0; j < D; j++) {
            float save = P[j];
            float xp = save + 1e-3f, xm = save - 1e-3f;
            P[j] = xp;
            double Lp = wg_toy_loss(P, D, n, NULL, work);
            P[j] = xm;
            double Lm = wg_toy_loss(P, D, n, NULL, work);
            P[j] = save;
            double fd = (Lp - Lm) / ((double)xp - (double)xm);
            if (!(fabs(fd - grad[j]) <= 1e-5))
                fail_msg("n %zu: grad[%zu] = %.9g, central difference %.9g", n, j,
                         (double)grad[j], fd);
            nonzero += grad[j] != 0.0f;
        }
        assert_int_equal(nonzero, D - n); /* no zeros in P: every selected one moves */
    }
}

/* ---- wedges -------------------------------------------------------------------- */

/* A point with at most n non-zero coordinates lies on a wedge: L = 0, grad = 0.
 * One more non-zero coordinate lifts it off: L = the smallest non-zero |P_j|. */
static void test_toy_zero_on_wedge(void **state)
{
    (void)state;
    const size_t D = 50;
    float P[50], grad[50], work[50];
    uint32_t perm[50];
    wg_rng r;
    wg_rng_init(&r, 4, wg_rng_stream(WG_RNG_TEST, 23, 0, 0));
    const size_t ns[] = {1, 5, 25, 49};
    for (size_t t = 0; t < sizeof ns / sizeof ns[0]; t++) {
        size_t n = ns[t];
        for (size_t nz = 0; nz <= n; nz += n / 3 + 1) {
            wg_rng_permute(&r, perm, D);
            memset(P, 0, sizeof P);
            for (size_t k = 0; k < nz; k++)
                P[perm[k]] = 1.0f + (float)k;
            for (size_t j = 0; j < D; j++)
                grad[j] = NAN;
            assert_true(wg_toy_loss(P, D, n, grad, work) == 0.0);
            for (size_t j = 0; j < D; j++)
                assert_true(grad[j] == 0.0f);
        }
        /* exactly n non-zeros (the wedge's full dimension) then n+1 */
        wg_rng_permute(&r, perm, D);
        memset(P, 0, sizeof P);
        for (size_t k = 0; k < n; k++)
            P[perm[k]] = -2.0f - (float)k;
        assert_true(wg_toy_loss(P, D, n, grad, work) == 0.0);
        if (n + 1 < D) {
            P[perm[n]] = 0.25f;
            assert_true(wg_toy_loss(P, D, n, grad, work) == 0.25);
            assert_true(grad[perm[n]] == 1.0f);
        }
    }
    /* n = 0 has a single wedge, the origin */
    memset(P, 0, sizeof P);
    assert_true(wg_toy_loss(P, D, 0, grad, work) == 0.0);
    P[7] = -1e-30f;
    assert_true(wg_toy_loss(P, D, 0, grad, work) > 0.0);
    assert_true(grad[7] == -1.0f);
}

/* ---- short directions -------------------------------------------------------- */

static void test_toy_short_dirs(void **state)
{
    (void)state;
    /* 90 coordinates of 1, one of 0.5 and 9 small ones: |P| = sqrt(90.25) = 9.5
     * (to 1e-6), threshold 1e-3 * 9.5 / sqrt(100) = 9.5e-4 */
    float P[100];
    for (size_t j = 0; j < 100; j++)
        P[j] = 1.0f;
    P[3] = 0.0f;
    P[10] = 1e-6f;
    P[20] = -9.0e-4f; /* below the threshold: counted */
    P[30] = 9.4e-4f;  /* 1% below: counted */
    P[40] = 1.0e-3f;  /* above: not counted */
    P[50] = -9.6e-4f;
    P[60] = 0.5f;
    P[70] = -1e-20f;
    P[80] = 1e-3f;
    P[90] = 1e-2f;
    assert_int_equal(wg_toy_short_dirs(P, 100, 1e-3), 5);
    /* scale invariant */
    float Q[100];
    for (size_t j = 0; j < 100; j++)
        Q[j] = P[j] * 1e8f;
    assert_int_equal(wg_toy_short_dirs(Q, 100, 1e-3), 5);
    /* tol_rel 0 counts exact zeros only; a loose tolerance counts more */
    assert_int_equal(wg_toy_short_dirs(P, 100, 0.0), 1);
    assert_int_equal(wg_toy_short_dirs(P, 100, 0.2), 9); /* threshold 0.19: all but 0.5 and the 1s */
    /* the origin: every coordinate is short (|P_j| <= 0, inclusive) */
    memset(P, 0, sizeof P);
    assert_int_equal(wg_toy_short_dirs(P, 100, 1e-3), 100);
    /* a wedge point: exactly the zeros are short */
    for (size_t j = 0; j < 100; j++)
        P[j] = j < 7 ? (float)(j + 1) : 0.0f;
    assert_int_equal(wg_toy_short_dirs(P, 100, 1e-3), 93);
}

/* ---- large inputs -------------------------------------------------------------- */

/* D = 2^20 in the orders that defeat first-element pivots (sorted, reversed) and
 * two-way partitions (all equal, few distinct values); the result must be exact.
 * (On random values of this size the selection takes a few hundredths of a
 * second; timing is not asserted.)  Values are integers below 2^21 with alternating
 * signs: exact in float, with squares exact in double. */
static void test_toy_large_adversarial_inputs(void **state)
{
    (void)state;
    const size_t D = (size_t)1 << 20;
    float *P = malloc(D * sizeof *P);
    assert_non_null(P);
    const char *names[] = {"ascending", "descending", "all equal", "three values",
                           "organ pipe"};
    for (int kind = 0; kind < 5; kind++) {
        for (size_t j = 0; j < D; j++) {
            float v;
            switch (kind) {
            case 0: v = (float)j; break;
            case 1: v = (float)(D - j); break;
            case 2: v = 0.75f; break;
            case 3: v = (float)(j % 3); break;
            default: v = (float)(j < D / 2 ? j : D - j); break;
            }
            P[j] = j % 2 ? -v : v;
        }
        double *sorted = sorted_abs(P, D);
        const size_t ns[] = {0, D / 2, D - 1};
        for (size_t t = 0; t < 3; t++) {
            char what[64];
            snprintf(what, sizeof what, "D = 2^20, %s, n = %zu", names[kind], ns[t]);
            check_point_sorted(P, D, ns[t], sorted, what);
        }
        free(sorted);
    }
    free(P);
}

/* ---- linear-time selection, by counting comparisons ----------------------------- */

static int cmp_float_asc(const void *x, const void *y)
{
    float a = *(const float *)x, b = *(const float *)y;
    return (a > b) - (a < b);
}

/* Input kinds: the orders that break naive quickselects (sorted, reversed, organ
 * pipe, all equal, few distinct values, a sawtooth) and random normals. */
static void select_input(float *a, size_t D, int kind, wg_rng *r)
{
    for (size_t j = 0; j < D; j++) {
        switch (kind) {
        case 0: a[j] = (float)j; break;
        case 1: a[j] = (float)(D - j); break;
        case 2: a[j] = (float)(j < D / 2 ? j : D - j); break;
        case 3: a[j] = 0.75f; break;
        case 4: a[j] = (float)(j % 3); break;
        case 5: a[j] = (float)(j % 1000); break;
        default: a[j] = (float)wg_rng_normal(r); break;
        }
    }
}

/* The selection is exact (equal to the full sort's k-th value, ties included) and
 * its comparison count is O(D): for D = 2^10 .. 2^19, every kind of input, k at
 * both ends and the middle, with the default pivot budget, with median-of-medians
 * pivots throughout (budget 0) and with a switch part-way (budget 1).  The proven bound is about (budget + 2 + 40) D; the
 * counts measured are at most ~11.4 D (median-of-medians on reversed input) and do
 * not grow with D, so 16 D is asserted: a sort-based O(D log D) selection (~1.4 D
 * log2 D comparisons, 26 D at 2^19) or a quadratic quickselect would fail it. */
static void test_toy_selection_linear_comparisons(void **state)
{
    (void)state;
    const size_t Dmax = (size_t)1 << 19;
    float *a = malloc(Dmax * sizeof *a), *sorted = malloc(Dmax * sizeof *sorted);
    double *ad = malloc(Dmax * sizeof *ad);
    assert_non_null(a);
    assert_non_null(sorted);
    assert_non_null(ad);
    wg_rng r;
    wg_rng_init(&r, 5, wg_rng_stream(WG_RNG_TEST, 31, 0, 0));
    double worst = 0.0;
    for (size_t D = (size_t)1 << 10; D <= Dmax; D <<= 3) {
        for (int kind = 0; kind < 7; kind++) {
            select_input(sorted, D, kind, &r);
            memcpy(a, sorted, D * sizeof *a);
            qsort(sorted, D, sizeof *sorted, cmp_float_asc);
            const size_t ks[3] = {0, D / 2, D - 1};
            for (int t = 0; t < 3; t++)
                for (int b = 0; b < 3; b++) {
                    /* 1: the switch to median-of-medians happens part-way */
                    double budget = b == 2 ? WG_TOY_SELECT_BUDGET : (double)b;
                    uint64_t cmp = 0, cmpd = 0;
                    float *w = malloc(D * sizeof *w);
                    assert_non_null(w);
                    memcpy(w, a, D * sizeof *w);
                    for (size_t j = 0; j < D; j++)
                        ad[j] = w[j];
                    float v = wg_toy_select_float(w, D, ks[t], budget, &cmp);
                    double vd = wg_toy_select_double(ad, D, ks[t], budget, &cmpd);
                    free(w);
                    if (v != sorted[ks[t]] || vd != (double)sorted[ks[t]])
                        fail_msg("D %zu kind %d k %zu budget %g: %g / %g, sorted %g", D, kind,
                                 ks[t], budget, (double)v, vd, (double)sorted[ks[t]]);
                    assert_int_equal(cmp, cmpd); /* one template, same pivots */
                    double per = (double)cmp / (double)D;
                    worst = per > worst ? per : worst;
                    if (per > 16.0)
                        fail_msg("D %zu kind %d k %zu budget %g: %.2f D comparisons", D, kind,
                                 ks[t], budget, per);
                }
        }
    }
    print_message("selection: at most %.2f D comparisons\n", worst);
    free(a);
    free(sorted);
    free(ad);
}

/* ---- objective wrapper --------------------------------------------------------- */

static void test_toy_objective_matches(void **state)
{
    (void)state;
    const size_t D = 300, n = 120;
    wg_objective f;
    assert_int_equal(wg_objective_toy(&f, D, n), 0);
    assert_int_equal(f.dim, D);
    assert_null(f.accuracy); /* the toy has no predictions */
    float P[300], g1[300], g2[300], work[300];
    wg_rng r;
    wg_rng_init(&r, 5, wg_rng_stream(WG_RNG_TEST, 24, 0, 0));
    for (int rep = 0; rep < 5; rep++) {
        wg_rng_fill_normal(&r, P, D);
        if (rep == 4)
            for (size_t j = 0; j < D; j++)
                P[j] = (float)((int)(P[j] * 2.0f)); /* ties and zeros */
        double L1 = wg_toy_loss(P, D, n, g1, work), L2 = -1.0, L3 = -1.0;
        assert_int_equal(wg_objective_grad(&f, P, &L2, g2), 0);
        assert_int_equal(wg_objective_loss(&f, P, &L3), 0);
        assert_true(L1 == L2);
        assert_true(L1 == L3);
        assert_memory_equal(g1, g2, sizeof g1);
    }
    wg_objective_free(&f);
    assert_null(f.ctx);
    wg_objective_free(NULL);
}

static void test_toy_objective_rejects_bad_sizes(void **state)
{
    (void)state;
    const size_t bad[][2] = {{10, 10}, {10, 11}, {1, 1}, {0, 0}};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        wg_objective f;
        wg_err_clear();
        assert_int_equal(wg_objective_toy(&f, bad[k][0], bad[k][1]), WG_EARG);
        assert_int_equal(wg_err_code(), WG_EARG);
        assert_null(f.ctx);
        assert_null(f.eval);
        wg_objective_free(&f); /* safe after a failed init */
    }
    wg_err_clear();
    wg_objective f;
    assert_int_equal(wg_objective_toy(&f, 1, 0), 0); /* the smallest valid model */
    float x = -3.0f, g = 0.0f;
    double L;
    assert_int_equal(wg_objective_grad(&f, &x, &L, &g), 0);
    assert_true(L == 3.0 && g == -1.0f);
    wg_objective_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_toy_loss_random_points),
        cmocka_unit_test(test_toy_loss_ties_and_zeros),
        cmocka_unit_test(test_toy_tie_order),
        cmocka_unit_test(test_toy_grad_central_differences),
        cmocka_unit_test(test_toy_zero_on_wedge),
        cmocka_unit_test(test_toy_short_dirs),
        cmocka_unit_test(test_toy_large_adversarial_inputs),
        cmocka_unit_test(test_toy_selection_linear_comparisons),
        cmocka_unit_test(test_toy_objective_matches),
        cmocka_unit_test(test_toy_objective_rejects_bad_sizes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
