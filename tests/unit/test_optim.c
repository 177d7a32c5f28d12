/* test_optim.c: unit tests of optim.c, the optimizers and learning-rate schedules.
 *
 * Adam and SGD with momentum are checked step by step against reference updates
 * written here in double precision from the published formulas (PyTorch's Adam with
 * bias correction; SGD velocity v = mu v + g), on gradients that change sign and
 * span twelve orders of magnitude, so that eps and the bias corrections matter.
 * Also: wg_optim_delta agrees bit for bit with wg_optim_step, reset gives a fresh
 * start, bad momentum is refused, the cyclic schedule hits its exact values, and
 * the name parsers accept exactly their names. */
#include "wedge/error.h"
#include "wedge/optim.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NP 12    /* parameters */
#define STEPS 20

/* Gradient of coordinate i at step t: a sign-changing pattern at scale 10^(i%5*3-9)
 * (1e-9 .. 1e3), so that some coordinates are dominated by eps and others not;
 * coordinate NP-1 is always 0 (its parameter must never move). */
static float grad_at(int i, int t)
{
    if (i == NP - 1)
        return 0.0f;
    double scale = pow(10.0, (double)(i % 5) * 3.0 - 9.0);
    return (float)(scale * (sin(0.7 * t + 1.3 * i) + 0.3 * cos(2.1 * t * (i + 1))));
}

/* Learning rate of step t (1-based): varies, as under a schedule. */
static double lr_at(int t) { return 1e-2 * (1.0 - 0.03 * t); }

static void init_theta(float *theta, double *ref)
{
    for (int i = 0; i < NP; i++) {
        theta[i] = (float)(0.5 - 0.1 * i + 0.01 * i * i);
        ref[i] = theta[i];
    }
}

/* Tolerances.  Per step, the update computed in float differs from the double
 * reference by float rounding in m, v and the quotient.  Relative to the update that
 * is a few ulp, except that forming 1 - beta2 from beta2 rounded to float is itself
 * 1.3e-5 off 0.001, which puts up to ~1e-5 into Adam's update; an absolute floor of
 * 1e-6 * lr covers coordinates where m nearly cancels (its error is ~1e-7 of the
 * gradient's scale, not of m).  A wrong formula (no bias correction, eps inside
 * the sqrt, betas swapped, momentum applied to the step instead of the velocity)
 * changes the update by 1% or more, 1000 times the bound.  theta, accumulated in
 * float over 20 steps, carries the sum of the update errors (each within 1e-5 of an
 * update of size ~lr, so under 1e-5 * STEPS * lr) and ~20 roundings of itself
 * (6e-8 relative each, under 2e-6 relative in all). */
static void assert_update_close(const float *delta, const double *ref, double lr, int step)
{
    for (int i = 0; i < NP; i++) {
        double tol = 1e-5 * fabs(ref[i]) + 1e-6 * lr;
        if (!(fabs((double)delta[i] - ref[i]) <= tol))
            fail_msg("step %d, update[%d] = %.9g, reference %.9g (tol %.3g)", step, i,
                     (double)delta[i], ref[i], tol);
    }
}

static void assert_theta_close(const float *theta, const double *ref, double lr, int step)
{
    for (int i = 0; i < NP; i++) {
        double tol = 2e-6 * fabs(ref[i]) + 1e-5 * STEPS * lr;
        if (!(fabs((double)theta[i] - ref[i]) <= tol))
            fail_msg("step %d, theta[%d] = %.9g, reference %.9g (tol %.3g)", step, i,
                     (double)theta[i], ref[i], tol);
    }
}

static void test_optim_adam_matches_reference(void **state)
{
    (void)state;
    wg_optim o, od;
    assert_int_equal(wg_optim_init(&o, WG_OPT_ADAM, NP, 0.0), 0);
    assert_int_equal(wg_optim_init(&od, WG_OPT_ADAM, NP, 0.0), 0);
    assert_true(o.beta1 == 0.9 && o.beta2 == 0.999 && o.eps == 1e-8);
    assert_int_equal(o.t, 0);
    float theta[NP], g[NP], delta[NP];
    double ref[NP], dref[NP], m[NP] = {0}, v[NP] = {0};
    init_theta(theta, ref);
    const double b1 = 0.9, b2 = 0.999, eps = 1e-8;
    for (int t = 1; t <= STEPS; t++) {
        double lr = lr_at(t);
        for (int i = 0; i < NP; i++) {
            g[i] = grad_at(i, t);
            m[i] = b1 * m[i] + (1.0 - b1) * g[i];
            v[i] = b2 * v[i] + (1.0 - b2) * (double)g[i] * g[i];
            double mhat = m[i] / (1.0 - pow(b1, t)), vhat = v[i] / (1.0 - pow(b2, t));
            dref[i] = -lr * mhat / (sqrt(vhat) + eps);
            ref[i] += dref[i];
        }
        wg_optim_step(&o, theta, g, lr);
        wg_optim_delta(&od, delta, g, lr);
        assert_int_equal(o.t, t);
        assert_update_close(delta, dref, lr, t);
        assert_theta_close(theta, ref, lr, t);
    }
    /* a zero gradient leaves its parameter exactly where it was */
    float start[NP];
    double dummy[NP];
    init_theta(start, dummy);
    assert_true(theta[NP - 1] == start[NP - 1]);
    /* and the first Adam step is ~lr * sign(g) where |g| >> eps: a sanity anchor
     * independent of the reference above */
    wg_optim_reset(&o);
    float th1[NP];
    init_theta(th1, dummy);
    for (int i = 0; i < NP; i++)
        g[i] = grad_at(i, 1);
    wg_optim_step(&o, th1, g, 1e-2);
    for (int i = 0; i < NP - 1; i++)
        if (fabsf(g[i]) > 1e-5f) /* eps/|g| < 1e-3: step within 0.1% of lr */
            assert_true(fabs((double)(start[i] - th1[i]) - 1e-2 * (g[i] > 0 ? 1 : -1)) <
                        1e-3 * 1e-2 + 1e-6);
    wg_optim_free(&o);
    wg_optim_free(&od);
}

static void test_optim_sgd_momentum_matches_reference(void **state)
{
    (void)state;
    const double mus[] = {0.9, 0.0};
    for (int k = 0; k < 2; k++) {
        double mu = mus[k];
        wg_optim o, od;
        assert_int_equal(wg_optim_init(&o, WG_OPT_SGD, NP, mu), 0);
        assert_int_equal(wg_optim_init(&od, WG_OPT_SGD, NP, mu), 0);
        assert_true(o.momentum == mu);
        float theta[NP], g[NP], delta[NP];
        double ref[NP], dref[NP], vel[NP] = {0};
        init_theta(theta, ref);
        for (int t = 1; t <= STEPS; t++) {
            /* rescale the gradients so that every coordinate moves visibly */
            for (int i = 0; i < NP; i++) {
                g[i] = (float)(grad_at(i, t) / pow(10.0, (double)(i % 5) * 3.0 - 9.0));
                if (i == NP - 1)
                    g[i] = 0.0f;
            }
            double lr = lr_at(t);
            for (int i = 0; i < NP; i++) {
                vel[i] = mu * vel[i] + g[i];
                dref[i] = -lr * vel[i];
                ref[i] += dref[i];
            }
            wg_optim_step(&o, theta, g, lr);
            wg_optim_delta(&od, delta, g, lr);
            assert_update_close(delta, dref, lr, t);
            assert_theta_close(theta, ref, lr, t);
        }
        wg_optim_free(&o);
        wg_optim_free(&od);
    }
}

/* Two optimizers fed the same gradients, one stepping theta and one returning
 * deltas: theta_step == theta0 + delta exactly (the same float operations), the
 * moments and step counts stay identical, and delta is written in [0, NP) only
 * (theta itself is not an argument of wg_optim_delta, so the caller's copy,
 * `shadow` here, changes only when the caller adds the delta). */
static void check_delta_equals_step(wg_opt_kind kind, double mu)
{
    wg_optim a, b;
    assert_int_equal(wg_optim_init(&a, kind, NP, mu), 0);
    assert_int_equal(wg_optim_init(&b, kind, NP, mu), 0);
    float theta[NP], shadow[NP], delta[NP + 4], g[NP];
    double dummy[NP];
    init_theta(theta, dummy);
    init_theta(shadow, dummy);
    for (int i = NP; i < NP + 4; i++)
        delta[i] = 12345.0f; /* guard */
    for (int t = 1; t <= STEPS; t++) {
        for (int i = 0; i < NP; i++)
            g[i] = grad_at(i, t) * 1e3f;
        float before[NP];
        memcpy(before, theta, sizeof before);
        wg_optim_step(&a, theta, g, lr_at(t));
        wg_optim_delta(&b, delta, g, lr_at(t));
        for (int i = NP; i < NP + 4; i++)
            assert_true(delta[i] == 12345.0f);
        for (int i = 0; i < NP; i++) {
            assert_true(theta[i] == before[i] + delta[i]);
            shadow[i] += delta[i];
        }
        assert_int_equal(a.t, b.t);
        assert_memory_equal(a.m, b.m, NP * sizeof(float));
        if (kind == WG_OPT_ADAM)
            assert_memory_equal(a.v, b.v, NP * sizeof(float));
    }
    /* some delta was non-zero: the comparison above was not vacuous */
    double s = 0.0;
    for (int i = 0; i < NP; i++)
        s += fabs((double)delta[i]);
    assert_true(s > 0.0);
    assert_memory_equal(theta, shadow, sizeof theta);
    wg_optim_free(&a);
    wg_optim_free(&b);
}

static void test_optim_delta_equals_step(void **state)
{
    (void)state;
    check_delta_equals_step(WG_OPT_ADAM, 0.0);
    check_delta_equals_step(WG_OPT_SGD, 0.9);
}

/* After reset, an optimizer that has taken steps behaves exactly like a new one. */
static void check_reset(wg_opt_kind kind, double mu)
{
    wg_optim used, fresh;
    assert_int_equal(wg_optim_init(&used, kind, NP, mu), 0);
    assert_int_equal(wg_optim_init(&fresh, kind, NP, mu), 0);
    float ta[NP], tb[NP], g[NP];
    double dummy[NP];
    init_theta(ta, dummy);
    for (int t = 1; t <= 5; t++) {
        for (int i = 0; i < NP; i++)
            g[i] = grad_at(i, t) * 1e3f;
        wg_optim_step(&used, ta, g, 1e-2);
    }
    wg_optim_reset(&used);
    assert_int_equal(used.t, 0);
    for (int i = 0; i < NP; i++) {
        assert_true(used.m[i] == 0.0f);
        if (kind == WG_OPT_ADAM)
            assert_true(used.v[i] == 0.0f);
    }
    memcpy(tb, ta, sizeof tb);
    for (int t = 1; t <= 5; t++) {
        for (int i = 0; i < NP; i++)
            g[i] = grad_at(i, t + 7) * 1e3f;
        wg_optim_step(&used, ta, g, 1e-2);
        wg_optim_step(&fresh, tb, g, 1e-2);
        assert_memory_equal(ta, tb, sizeof ta);
    }
    wg_optim_free(&used);
    wg_optim_free(&fresh);
}

static void test_optim_reset_is_fresh_start(void **state)
{
    (void)state;
    check_reset(WG_OPT_ADAM, 0.0);
    check_reset(WG_OPT_SGD, 0.9);
}

static void test_optim_init_rejects_bad_momentum(void **state)
{
    (void)state;
    const double bad[] = {-0.1, 1.0, 1.5, NAN, INFINITY};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        wg_optim o;
        wg_err_clear();
        assert_int_equal(wg_optim_init(&o, WG_OPT_SGD, NP, bad[k]), WG_EARG);
        assert_int_equal(wg_err_code(), WG_EARG);
        assert_non_null(strstr(wg_err_msg(), "momentum"));
        assert_null(o.m); /* nothing allocated, free is safe */
        wg_optim_free(&o);
    }
    wg_err_clear();
    wg_optim o;
    assert_int_equal(wg_optim_init(&o, WG_OPT_SGD, NP, 0.0), 0);
    assert_null(o.v); /* SGD keeps one moment */
    assert_non_null(o.m);
    wg_optim_free(&o);
    assert_int_equal(wg_optim_init(&o, WG_OPT_SGD, NP, 0.999), 0);
    wg_optim_free(&o);
    wg_optim_free(NULL);
}

/* ---- schedules ------------------------------------------------------------------ */

/* Exact in double up to a few roundings of lr*(1 - frac*(1-r)): 1e-14 relative. */
#define assert_lr(got, want)                                                               \
    do {                                                                                   \
        double g_ = (got), w_ = (want);                                                    \
        if (!(fabs(g_ - w_) <= 1e-14 * fabs(w_)))                                          \
            fail_msg("lr %.17g, want %.17g", g_, w_);                                      \
    } while (0)

static void test_optim_schedule_constant(void **state)
{
    (void)state;
    wg_schedule s = {WG_SCHED_CONSTANT, 3e-4, 0.01, 10};
    const long steps[] = {0, 1, 9, 10, 11, 1000000};
    for (size_t k = 0; k < sizeof steps / sizeof steps[0]; k++)
        assert_true(wg_schedule_lr(&s, steps[k]) == 3e-4);
}

static void test_optim_schedule_cyclic(void **state)
{
    (void)state;
    const double lr = 0.1, r = 0.01; /* docs/METHODS.md: lr_max down to lr_max/100 */
    wg_schedule s = {WG_SCHED_CYCLIC, lr, r, 10};
    assert_lr(wg_schedule_lr(&s, 0), lr);
    assert_lr(wg_schedule_lr(&s, 9), lr * r); /* last step of the cycle: the minimum */
    assert_lr(wg_schedule_lr(&s, 10), lr);    /* next cycle starts at lr again */
    assert_lr(wg_schedule_lr(&s, 19), lr * r);
    assert_lr(wg_schedule_lr(&s, 20), lr);
    assert_lr(wg_schedule_lr(&s, 1), lr * (1.0 - (1.0 / 9.0) * (1.0 - r)));
    assert_lr(wg_schedule_lr(&s, 3), lr * (1.0 - (3.0 / 9.0) * (1.0 - r)));
    /* with N = 10 the 9 intervals of 0.099/9 = 0.011 each: step 4 is 0.1 - 0.044 */
    assert_lr(wg_schedule_lr(&s, 4), 0.056);
    assert_lr(wg_schedule_lr(&s, 14), 0.056);
    /* linear: equal decrements inside a cycle, periodic across cycles */
    for (long k = 0; k < 30; k++) {
        double a = wg_schedule_lr(&s, k), b = wg_schedule_lr(&s, k + 1);
        assert_lr(a, wg_schedule_lr(&s, k + 10));
        assert_true(a >= lr * r * (1 - 1e-14) && a <= lr * (1 + 1e-14));
        if (k % 10 != 9)
            assert_true(fabs((a - b) - lr * (1.0 - r) / 9.0) < 1e-15);
    }
    /* another cycle length and ratio */
    wg_schedule s2 = {WG_SCHED_CYCLIC, 2.0, 0.5, 3};
    assert_lr(wg_schedule_lr(&s2, 0), 2.0);
    assert_lr(wg_schedule_lr(&s2, 1), 1.5);
    assert_lr(wg_schedule_lr(&s2, 2), 1.0);
    assert_lr(wg_schedule_lr(&s2, 3), 2.0);
    assert_lr(wg_schedule_lr(&s2, 3000001), 1.5);
}

static void test_optim_parse_names(void **state)
{
    (void)state;
    wg_opt_kind k = WG_OPT_SGD;
    assert_int_equal(wg_opt_parse("adam", &k), 0);
    assert_int_equal(k, WG_OPT_ADAM);
    assert_int_equal(wg_opt_parse("sgd", &k), 0);
    assert_int_equal(k, WG_OPT_SGD);
    assert_string_equal(wg_opt_name(WG_OPT_ADAM), "adam");
    assert_string_equal(wg_opt_name(WG_OPT_SGD), "sgd");
    const char *bad_opt[] = {"", "Adam", "adam ", "sgdm", "rmsprop", "ad"};
    for (size_t i = 0; i < sizeof bad_opt / sizeof bad_opt[0]; i++) {
        wg_err_clear();
        k = WG_OPT_SGD;
        assert_int_equal(wg_opt_parse(bad_opt[i], &k), WG_EARG);
        assert_int_equal(k, WG_OPT_SGD); /* output untouched on failure */
        assert_int_equal(wg_err_code(), WG_EARG);
        if (bad_opt[i][0])
            assert_non_null(strstr(wg_err_msg(), bad_opt[i]));
    }

    wg_sched_kind s = WG_SCHED_CYCLIC;
    assert_int_equal(wg_sched_parse("constant", &s), 0);
    assert_int_equal(s, WG_SCHED_CONSTANT);
    assert_int_equal(wg_sched_parse("cyclic", &s), 0);
    assert_int_equal(s, WG_SCHED_CYCLIC);
    assert_string_equal(wg_sched_name(WG_SCHED_CONSTANT), "constant");
    assert_string_equal(wg_sched_name(WG_SCHED_CYCLIC), "cyclic");
    const char *bad_sched[] = {"", "Cyclic", "cosine", "const", "cyclic\n"};
    for (size_t i = 0; i < sizeof bad_sched / sizeof bad_sched[0]; i++) {
        wg_err_clear();
        s = WG_SCHED_CYCLIC;
        assert_int_equal(wg_sched_parse(bad_sched[i], &s), WG_EARG);
        assert_int_equal(s, WG_SCHED_CYCLIC);
        assert_int_equal(wg_err_code(), WG_EARG);
    }
    wg_err_clear();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_optim_adam_matches_reference),
        cmocka_unit_test(test_optim_sgd_momentum_matches_reference),
        cmocka_unit_test(test_optim_delta_equals_step),
        cmocka_unit_test(test_optim_reset_is_fresh_start),
        cmocka_unit_test(test_optim_init_rejects_bad_momentum),
        cmocka_unit_test(test_optim_schedule_constant),
        cmocka_unit_test(test_optim_schedule_cyclic),
        cmocka_unit_test(test_optim_parse_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
