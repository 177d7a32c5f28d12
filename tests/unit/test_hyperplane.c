/* test_hyperplane.c: unit tests of hyperplane.c, random-hyperplane optimisation of
 * the toy wedge model.
 *
 * The threshold: for D = 20, n = 5 and five seeds, from a N(0,1) start, the
 * active-set optimiser reaches L_final <= 1e-6 L_initial for every d >= D-n = 15
 * tried and for no d < 15 (there, generically, no point of the hyperplane lies on a
 * wedge, so the ratio stays well above 1e-6: asserted > 1e-5, a factor 10 clear of
 * the criterion; at d = D-n-1 the distance to the nearest wedge is about one
 * Gaussian component, so a much tighter margin would rest on luck).  The same from a point
 * near a wedge (an "optimum").  At d >= D-n the final P has at least D-n near-zero
 * coordinates.  The Polyak optimiser is checked to succeed where the problem is easy
 * (d = D) and never to claim success below the threshold.  Also: M's columns are
 * reproducible and have norm ~1, and bad arguments are refused. */
#include "wedge/error.h"
#include "wedge/hyperplane.h"
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

static void start_point(float *P, size_t D, uint64_t seed)
{
    wg_rng r;
    wg_rng_init(&r, seed, wg_rng_stream(WG_RNG_TEST, 7, 0, 0));
    wg_rng_fill_normal(&r, P, D);
}

static wg_hyper_result run(const float *P0, size_t D, size_t n, size_t d, int method,
                           uint64_t seed)
{
    wg_hyper_opts o;
    wg_hyper_opts_default(&o);
    o.method = method;
    o.steps = wg_hyper_default_steps(method);
    o.seed = seed;
    o.stream = d;
    wg_hyper_result res;
    assert_int_equal(wg_hyper_run(P0, D, n, d, &o, &res), 0);
    return res;
}

/* Success exactly for d >= D - n, from random starts and from near-wedge starts. */
static void test_hyperplane_threshold_is_D_minus_n(void **state)
{
    (void)state;
    const size_t D = 20, n = 5;
    float P0[20];
    for (uint64_t seed = 1; seed <= 5; seed++)
        for (int near = 0; near < 2; near++) {
            start_point(P0, D, seed);
            if (near) /* an "optimum": all but n coordinates shrunk to ~1e-3 */
                for (size_t j = n; j < D; j++)
                    P0[j] *= 1e-3f;
            for (size_t d = 1; d <= D; d++) {
                wg_hyper_result res = run(P0, D, n, d, WG_HYPER_ACTIVE_SET, seed);
                assert_true(res.loss_initial > 0.0);
                assert_true(res.loss_final <= res.loss_initial);
                if (d >= D - n) {
                    if (!res.success)
                        fail_msg("seed %d near %d d %zu: ratio %.3g, no success",
                                 (int)seed, near, d, res.ratio);
                    assert_true(res.near_zero >= D - n);
                } else {
                    if (res.success || !(res.ratio > 1e-5))
                        fail_msg("seed %d near %d d %zu < D-n: ratio %.3g", (int)seed, near, d,
                                 res.ratio);
                }
            }
        }
}

/* The same at a larger size, d = D-n exactly (the ill-conditioned square case) and
 * d = D-n-1. */
static void test_hyperplane_square_case(void **state)
{
    (void)state;
    const size_t D = 100, n = 20;
    float P0[100];
    for (uint64_t seed = 1; seed <= 3; seed++) {
        start_point(P0, D, seed);
        wg_hyper_result at = run(P0, D, n, D - n, WG_HYPER_ACTIVE_SET, seed);
        wg_hyper_result below = run(P0, D, n, D - n - 1, WG_HYPER_ACTIVE_SET, seed);
        if (!at.success)
            fail_msg("seed %d: d = D-n ratio %.3g", (int)seed, at.ratio);
        assert_false(below.success);
        assert_true(below.ratio > 1e-5);
    }
}

/* Polyak steps: success at d = D (the whole space), never below the threshold. */
static void test_hyperplane_polyak(void **state)
{
    (void)state;
    const size_t D = 20, n = 5;
    float P0[20];
    start_point(P0, D, 3);
    wg_hyper_result full = run(P0, D, n, D, WG_HYPER_POLYAK, 3);
    assert_true(full.success);
    for (size_t d = 1; d < D - n; d++) {
        wg_hyper_result res = run(P0, D, n, d, WG_HYPER_POLYAK, 3);
        assert_false(res.success);
        assert_true(res.loss_final <= res.loss_initial);
    }
}

/* Columns depend only on (seed, stream, j) and have norm ~1 (chi with D degrees of
 * freedom over sqrt(D): 1 +- 3/sqrt(2D) covers it with room). */
static void test_hyperplane_columns(void **state)
{
    (void)state;
    const size_t D = 400;
    double a[400], b[400], c[400];
    wg_hyper_column(D, 3, 9, 5, a);
    wg_hyper_column(D, 3, 9, 5, b);
    wg_hyper_column(D, 4, 9, 5, c);
    assert_memory_equal(a, b, sizeof a);
    double na = 0, nc = 0, dot = 0;
    for (size_t i = 0; i < D; i++)
        na += a[i] * a[i], nc += c[i] * c[i], dot += a[i] * c[i];
    assert_true(fabs(sqrt(na) - 1.0) < 3.0 / sqrt(2.0 * D));
    assert_true(fabs(sqrt(nc) - 1.0) < 3.0 / sqrt(2.0 * D));
    assert_true(fabs(dot) < 5.0 / sqrt((double)D)); /* different columns, ~N(0, 1/D) */
}

static void test_hyperplane_rejects_bad_arguments(void **state)
{
    (void)state;
    float P0[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    wg_hyper_opts o;
    wg_hyper_opts_default(&o);
    wg_hyper_result res;
    assert_int_equal(wg_hyper_run(P0, 10, 10, 5, &o, &res), WG_EARG);
    assert_int_equal(wg_hyper_run(P0, 10, 2, 0, &o, &res), WG_EARG);
    assert_int_equal(wg_hyper_run(P0, 10, 2, 11, &o, &res), WG_EARG);
    o.method = 7;
    assert_int_equal(wg_hyper_run(P0, 10, 2, 5, &o, &res), WG_EARG);
    wg_err_clear();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hyperplane_threshold_is_D_minus_n),
        cmocka_unit_test(test_hyperplane_square_case),
        cmocka_unit_test(test_hyperplane_polyak),
        cmocka_unit_test(test_hyperplane_columns),
        cmocka_unit_test(test_hyperplane_rejects_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
