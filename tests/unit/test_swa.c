/* test_swa.c: unit tests of swa.c (snapshot averaging against prediction
 * averaging) and of the `probes: swa:` plan.
 *
 * Weight averaging of identical snapshots is the identity bit for bit, and of
 * different ones the coordinate mean; the averaged predictions of one network are
 * its own (bitwise against the objective's probs(), to 1e-12 against its evaluate()), and of
 * two a direct -log((p1 + p2)/2); the cycles' schedule starts every cycle at
 * lr_max and ends it at lr_max*min_ratio, linearly in between; distances and
 * cosines match a direct computation; the cycles are deterministic and, with
 * plain SGD at a constant rate, exactly the training run continued (so the random
 * streams continue the training's); a whole probe fills its result, stops when
 * asked and reports divergence; and the sweep loader expands and refuses swa
 * probes as docs/sweep-format.md says. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "wedge/data.h"
#include "wedge/error.h"
#include "wedge/net.h"
#include "wedge/objective.h"
#include "wedge/rng.h"
#include "wedge/swa.h"
#include "wedge/sweep.h"
#include "wedge/train.h"

static void assert_rel(double got, double want, double tol)
{
    if (!(fabs(got - want) <= tol * fabs(want)))
        fail_msg("got %.17g, want %.17g (relative tolerance %g)", got, want, tol);
}

static void synthetic(wg_data *d, size_t ntrain, size_t ntest)
{
    wg_data_opts o = {.kind = WG_DATA_SYNTHETIC, .synth_train = ntrain, .synth_test = ntest,
                      .synth_h = 12, .synth_w = 12, .synth_c = 1, .synth_seed = 4};
    assert_int_equal(wg_data_load(d, &o), 0);
}

/* A small MLP (12x12 inputs, one hidden layer of 16, dropout 0.3) on ds in batches of
 * cap, and its initial parameters (caller frees). */
static float *small_net(wg_objective *f, const wg_dataset *ds, size_t cap, uint64_t seed)
{
    wg_net_opts no;
    wg_net_opts_default(&no);
    no.arch = WG_ARCH_MLP;
    no.depth = 1;
    no.hidden = 16;
    no.in_h = no.in_w = 12;
    no.dropout = 0.3f;
    assert_int_equal(wg_objective_net(f, &no, ds, cap), 0);
    float *theta = malloc(f->dim * sizeof *theta);
    assert_non_null(theta);
    f->init(f->ctx, theta, seed);
    return theta;
}

static void random_vectors(float *x, size_t n, uint64_t stream)
{
    wg_rng r;
    wg_rng_init(&r, 11, wg_rng_stream(WG_RNG_TEST, stream, 0, 0));
    wg_rng_fill_normal(&r, x, n);
}

/* ---- weight averaging --------------------------------------------------------- */

static void test_swa_average_of_identical_snapshots_is_the_snapshot(void **state)
{
    (void)state;
    enum { M = 7, D = 1000 };
    float *s = malloc((size_t)M * D * sizeof *s), avg[D];
    assert_non_null(s);
    random_vectors(s, D, 1);
    for (int m = 1; m < M; m++)
        memcpy(s + (size_t)m * D, s, D * sizeof *s);
    wg_swa_average(s, M, D, avg);
    assert_memory_equal(avg, s, sizeof avg); /* bitwise: the double sum of 7 equal floats is exact */
    free(s);
}

static void test_swa_average_is_the_coordinate_mean(void **state)
{
    (void)state;
    enum { M = 3, D = 257 };
    float s[M * D], avg[D];
    random_vectors(s, (size_t)M * D, 2);
    wg_swa_average(s, M, D, avg);
    for (size_t i = 0; i < D; i++) {
        double want = ((double)s[i] + s[D + i] + s[2 * D + i]) / 3.0;
        /* one rounding to float of the exact-enough double mean */
        assert_true(avg[i] == (float)want);
    }
}

/* ---- prediction averaging -------------------------------------------------------- */

static void test_swa_averaged_predictions_of_one_network_are_its_own(void **state)
{
    (void)state;
    wg_data d;
    synthetic(&d, 300, 157); /* 157: the last batch of 64 is partial */
    wg_objective net;
    float *theta = small_net(&net, &d.test, 64, 3);
    const size_t n = d.test.n;
    const int K = net.classes;
    double *logp = malloc(n * sizeof *logp), *ps = calloc(n * (size_t)K, sizeof *ps);
    assert_non_null(logp);
    assert_non_null(ps);
    double loss, acc, eloss, eacc, wloss, wacc;
    assert_int_equal(net.probs(net.ctx, theta, &loss, &acc, logp, ps), 0);
    wg_swa_ensemble(logp, 1, ps, d.test.labels, n, K, &eloss, &eacc);
    assert_memory_equal(&eloss, &loss, sizeof loss);
    assert_memory_equal(&eacc, &acc, sizeof acc);
    /* the usual evaluation (per-batch sums, so equal to rounding) */
    assert_int_equal(net.evaluate(net.ctx, theta, &wloss, &wacc), 0);
    assert_rel(loss, wloss, 1e-12);
    assert_true(acc == wacc);
    for (size_t i = 0; i < n; i++) {
        double sum = 0.0;
        for (int k = 0; k < K; k++)
            sum += ps[i * (size_t)K + (size_t)k];
        assert_true(fabs(sum - 1.0) < 1e-12);
        assert_true(fabs(exp(logp[i]) - ps[i * (size_t)K + d.test.labels[i]]) < 1e-12);
    }
    free(logp), free(ps), free(theta);
    wg_objective_free(&net);
    wg_data_free(&d);
}

static void test_swa_averaged_predictions_of_two_networks(void **state)
{
    (void)state;
    wg_data d;
    synthetic(&d, 300, 100);
    wg_objective net;
    float *a = small_net(&net, &d.test, 64, 3), *b = malloc(net.dim * sizeof *b);
    assert_non_null(b);
    net.init(net.ctx, b, 4);
    for (size_t i = 0; i < net.dim; i++) /* sharper predictions: a loss well above 0 */
        a[i] *= 3.0f, b[i] *= 3.0f;
    const size_t n = d.test.n;
    const int K = net.classes;
    double *logp = malloc(2 * n * sizeof *logp), *ps = calloc(n * (size_t)K, sizeof *ps);
    double *pa = calloc(n * (size_t)K, sizeof *pa), *pb = calloc(n * (size_t)K, sizeof *pb);
    assert_true(logp && ps && pa && pb);
    double l, acc, el, eacc, l2, acc2;
    assert_int_equal(net.probs(net.ctx, a, &l, &acc, logp, ps), 0);
    assert_int_equal(net.probs(net.ctx, b, &l, &acc, logp + n, ps), 0);
    assert_int_equal(net.probs(net.ctx, a, &l, &acc, NULL, pa), 0);
    assert_int_equal(net.probs(net.ctx, b, &l, &acc, NULL, pb), 0);
    wg_swa_ensemble(logp, 2, ps, d.test.labels, n, K, &el, &eacc);
    double want = 0.0;
    size_t right = 0;
    for (size_t i = 0; i < n; i++) {
        const double *p = pa + i * (size_t)K, *q = pb + i * (size_t)K;
        int y = d.test.labels[i], best = 0;
        want += -log(0.5 * (p[y] + q[y]));
        for (int k = 1; k < K; k++)
            if (p[k] + q[k] > p[best] + q[best])
                best = k;
        right += best == y;
    }
    assert_rel(el, want / (double)n, 1e-12);
    assert_true(eacc == (double)right / (double)n);
    /* the same network twice averages to itself (to rounding of log 2) */
    memcpy(logp + n, logp, n * sizeof *logp);
    memset(ps, 0, n * (size_t)K * sizeof *ps);
    assert_int_equal(net.probs(net.ctx, a, &l, &acc, NULL, ps), 0);
    assert_int_equal(net.probs(net.ctx, a, &l2, &acc2, NULL, ps), 0);
    wg_swa_ensemble(logp, 2, ps, d.test.labels, n, K, &el, &eacc);
    assert_rel(el, l, 1e-12);
    assert_true(eacc == acc);
    free(logp), free(ps), free(pa), free(pb), free(a), free(b);
    wg_objective_free(&net);
    wg_data_free(&d);
}

/* ---- the schedule ------------------------------------------------------------------ */

static void test_swa_schedule_restarts_at_lr_max_and_ends_at_min(void **state)
{
    (void)state;
    wg_swa_opts o;
    wg_swa_opts_default(&o);
    o.cycles = 3;
    o.cycle_epochs = 2;
    o.lr_max = 0.05;
    o.min_ratio = 0.01;
    o.batch_size = 32;
    wg_schedule s;
    assert_int_equal(wg_swa_schedule(&o, 100, &s), 0); /* 4 steps/epoch, 8 per cycle */
    assert_int_equal(s.cycle_steps, 8);
    for (int c = 0; c < 3; c++) {
        long s0 = 8L * c;
        assert_true(wg_schedule_lr(&s, s0) == 0.05);             /* a cycle starts at lr_max */
        assert_rel(wg_schedule_lr(&s, s0 + 7), 0.05 * 0.01, 1e-12); /* its last step */
        for (int k = 0; k < 8; k++) { /* linear in between (optim.c) */
            assert_rel(wg_schedule_lr(&s, s0 + k), 0.05 * (1.0 - (k / 7.0) * 0.99), 1e-12);
            if (k > 0)
                assert_true(wg_schedule_lr(&s, s0 + k) < wg_schedule_lr(&s, s0 + k - 1));
        }
    }
    /* a partial last batch still counts as a step: 97 images -> 4 per epoch */
    assert_int_equal(wg_swa_schedule(&o, 97, &s), 0);
    assert_int_equal(s.cycle_steps, 8);
    o.cycles = 0;
    wg_err_clear();
    assert_int_equal(wg_swa_schedule(&o, 100, &s), WG_EARG);
    assert_non_null(strstr(wg_err_msg(), "cycles"));
    o.cycles = 3;
    o.min_ratio = 0.0;
    wg_err_clear();
    assert_int_equal(wg_swa_schedule(&o, 100, &s), WG_EARG);
    assert_non_null(strstr(wg_err_msg(), "min_ratio"));
    wg_err_clear();
}

/* ---- geometry ------------------------------------------------------------------------ */

static void test_swa_geometry_matches_a_direct_computation(void **state)
{
    (void)state;
    enum { M = 4, D = 300 };
    float s[M * D], o[D];
    double dist[M * M], cosv[M * M], dcos[M * M], d2[M * M];
    random_vectors(s, (size_t)M * D, 5);
    for (size_t i = 0; i < (size_t)M * D; i++)
        s[i] += 2.0f; /* a common offset: raw cosines near 1, displacement cosines not */
    for (size_t i = 0; i < D; i++)
        o[i] = 2.0f + 0.01f * (float)(i % 7);
    wg_swa_geometry(s, M, D, NULL, dist, cosv);
    wg_swa_geometry(s, M, D, o, d2, dcos);
    for (int a = 0; a < M; a++)
        for (int b = 0; b < M; b++) {
            long double dd = 0, ab = 0, aa = 0, bb = 0, ab2 = 0, aa2 = 0, bb2 = 0;
            for (size_t i = 0; i < D; i++) {
                long double x = s[a * D + i], y = s[b * D + i];
                dd += (x - y) * (x - y);
                ab += x * y, aa += x * x, bb += y * y;
                x -= o[i], y -= o[i];
                ab2 += x * y, aa2 += x * x, bb2 += y * y;
            }
            size_t k = (size_t)a * M + (size_t)b;
            if (a == b) {
                assert_true(dist[k] == 0.0);
                assert_true(fabs(cosv[k] - 1.0) < 1e-15);
                assert_true(fabs(dcos[k] - 1.0) < 1e-15);
                continue;
            }
            assert_rel(dist[k], (double)sqrtl(dd), 1e-12);
            assert_true(d2[k] == dist[k]); /* distances do not depend on the origin */
            assert_rel(cosv[k], (double)(ab / sqrtl(aa * bb)), 1e-12);
            assert_rel(dcos[k], (double)(ab2 / sqrtl(aa2 * bb2)), 1e-12);
            assert_true(cosv[k] > 0.5);        /* the offset dominates */
            assert_true(fabs(dcos[k]) < 0.3);  /* nearly independent normal displacements */
        }
    /* a snapshot equal to the origin has no direction: NaN cosines */
    memcpy(o, s, sizeof o);
    wg_swa_geometry(s, M, D, o, NULL, dcos);
    assert_true(isnan(dcos[1]) && isnan(dcos[0]));
}

/* ---- the cycles ---------------------------------------------------------------------- */

static void cycle_opts(wg_swa_opts *o)
{
    wg_swa_opts_default(o);
    o->cycles = 3;
    o->cycle_epochs = 1;
    o->lr_max = 1e-2;
    o->batch_size = 32;
    o->seed = 9;
    o->first_epoch = 2;
}

static void test_swa_cycles_are_deterministic(void **state)
{
    (void)state;
    wg_data d;
    synthetic(&d, 300, 100);
    wg_objective net;
    float *theta0 = small_net(&net, &d.train, 32, 9);
    const size_t D = net.dim;
    wg_swa_opts o;
    cycle_opts(&o);
    float *t1 = malloc(D * sizeof *t1), *t2 = malloc(D * sizeof *t2);
    float *s1 = malloc(3 * D * sizeof *s1), *s2 = malloc(3 * D * sizeof *s2);
    double l1[3], l2[3];
    assert_true(t1 && t2 && s1 && s2);
    memcpy(t1, theta0, D * sizeof *t1);
    memcpy(t2, theta0, D * sizeof *t2);
    assert_int_equal(wg_swa_cycles(&net, t1, &o, s1, l1), 0);
    assert_int_equal(wg_swa_cycles(&net, t2, &o, s2, l2), 0);
    assert_memory_equal(s1, s2, 3 * D * sizeof *s1);
    assert_memory_equal(l1, l2, sizeof l1);
    assert_memory_equal(t1, s1 + 2 * D, D * sizeof *t1); /* theta ends at the last snapshot */
    for (int c = 0; c < 3; c++)
        assert_true(isfinite(l1[c]) && l1[c] > 0.0);
    /* the snapshots differ from each other and from the start */
    assert_memory_not_equal(s1, s1 + D, D * sizeof *s1);
    assert_memory_not_equal(s1, theta0, D * sizeof *s1);
    free(t1), free(t2), free(s1), free(s2), free(theta0);
    wg_objective_free(&net);
    wg_data_free(&d);
}

/* Plain SGD (no optimizer state) at a constant rate: 2 training epochs then 2
 * one-epoch cycles with min_ratio 1 equal 4 training epochs bit for bit, dropout
 * included, so the cycles continue the training's batch-order and dropout streams. */
static void test_swa_cycles_continue_the_training_streams(void **state)
{
    (void)state;
    wg_data d;
    synthetic(&d, 300, 50);
    wg_objective net;
    float *a = small_net(&net, &d.train, 32, 7);
    const size_t D = net.dim;
    float *b = malloc(D * sizeof *b), *snaps = malloc(2 * D * sizeof *snaps);
    assert_true(b && snaps);
    memcpy(b, a, D * sizeof *b);
    wg_train_opts to;
    wg_train_opts_default(&to);
    to.optimizer = WG_OPT_SGD;
    to.momentum = 0.0;
    to.lr = 0.05;
    to.batch_size = 32;
    to.seed = 13;
    to.epochs = 4;
    assert_int_equal(wg_train(&net, NULL, a, &to, NULL, NULL), 0);
    to.epochs = 2;
    assert_int_equal(wg_train(&net, NULL, b, &to, NULL, NULL), 0);
    float *c = malloc(D * sizeof *c);
    assert_non_null(c);
    memcpy(c, b, D * sizeof *c);
    wg_swa_opts o;
    wg_swa_opts_default(&o);
    o.cycles = 2;
    o.lr_max = 0.05;
    o.min_ratio = 1.0;
    o.optimizer = WG_OPT_SGD;
    o.momentum = 0.0;
    o.batch_size = 32;
    o.seed = 13;
    o.first_epoch = 2;
    assert_int_equal(wg_swa_cycles(&net, b, &o, snaps, NULL), 0);
    assert_memory_equal(snaps + D, a, D * sizeof *a);
    /* starting the streams anywhere else gives another point */
    o.first_epoch = 0;
    assert_int_equal(wg_swa_cycles(&net, c, &o, snaps, NULL), 0);
    assert_memory_not_equal(snaps + D, a, D * sizeof *a);
    free(a), free(b), free(c), free(snaps);
    wg_objective_free(&net);
    wg_data_free(&d);
}

static int stop_now(void *user)
{
    int *calls = user;
    return ++*calls >= 2;
}

static void test_swa_run_fills_its_result(void **state)
{
    (void)state;
    wg_data d;
    synthetic(&d, 300, 120);
    wg_objective train, probe, test;
    float *theta0 = small_net(&train, &d.train, 32, 9); /* the whole split as the probe set */
    free(small_net(&probe, &d.train, 32, 9));
    free(small_net(&test, &d.test, 32, 9));
    wg_swa_opts o;
    cycle_opts(&o);
    wg_swa_result r, r2;
    assert_int_equal(wg_swa_run(&train, &probe, &test, theta0, &o, &r), 0);
    assert_int_equal(wg_swa_run(&train, &probe, &test, theta0, &o, &r2), 0);
    /* a pure function of its inputs */
    for (int i = 0; i < WG_SWA_MEASURES + 2; i++)
        assert_memory_equal(r.snap[i], r2.snap[i], 3 * sizeof(double));
    assert_memory_equal(r.dist, r2.dist, 9 * sizeof(double));
    assert_memory_equal(r.avg, r2.avg, sizeof r.avg);
    assert_memory_equal(r.ens, r2.ens, sizeof r.ens);
    assert_int_equal(r.M, 3);
    for (int i = 0; i < WG_SWA_MEASURES + 2; i++)
        for (int m = 0; m < 3; m++)
            assert_true(isfinite(r.snap[i][m]));
    for (int i = 0; i < WG_SWA_MEASURES; i++)
        assert_true(isfinite(r.avg[i]) && isfinite(r.start[i]));
    for (int p = WG_SWA_TEST_ACC; p <= WG_SWA_TRAIN_ACC; p += 2)
        for (int m = 0; m < 3; m++)
            assert_true(r.snap[p][m] >= 0.0 && r.snap[p][m] <= 1.0);
    /* the start row is theta0's own evaluation */
    double l, acc;
    assert_int_equal(test.probs(test.ctx, theta0, &l, &acc, NULL, NULL), 0);
    assert_true(r.start[WG_SWA_TEST_LOSS] == l && r.start[WG_SWA_TEST_ACC] == acc);
    assert_rel(r.start[WG_SWA_NORM], wg_norm(theta0, train.dim), 1e-15);
    for (int a = 0; a < 3; a++) {
        assert_true(r.dist[4 * (size_t)a] == 0.0);
        assert_true(r.snap[WG_SWA_MEASURES][a] > 0.0);
        for (int b = 0; b < 3; b++)
            assert_true(r.dist[3 * (size_t)a + b] == r.dist[3 * (size_t)b + a]);
    }
    wg_swa_result_free(&r);
    wg_swa_result_free(&r2);
    /* a stop request abandons the probe */
    int calls = 0;
    o.stop = stop_now;
    o.stop_user = &calls;
    assert_int_equal(wg_swa_run(&train, &probe, &test, theta0, &o, &r), WG_EINTR);
    assert_int_equal(calls, 2);
    wg_swa_result_free(&r);
    /* an absurd rate diverges, and says in which cycle */
    o.stop = NULL;
    o.lr_max = 1e37;
    wg_err_clear();
    assert_int_equal(wg_swa_run(&train, &probe, &test, theta0, &o, &r), WG_EDIVERGED);
    assert_non_null(strstr(wg_err_msg(), "cycle"));
    wg_err_clear();
    wg_swa_result_free(&r);
    free(theta0);
    wg_objective_free(&train);
    wg_objective_free(&probe);
    wg_objective_free(&test);
    wg_data_free(&d);
}

/* ---- the plan ------------------------------------------------------------------------ */

static const char *sweep_text =
    "name: s\n"
    "data: {name: synthetic, synthetic_train: 300, synthetic_test: 100, synthetic_size: 12}\n"
    "model: {arch: mlp, depth: 1, hidden: 16}\n"
    "train: {epochs: 2, batch_size: 32}\n"
    "sweep:\n"
    "  seed: [0, 1]\n"
    "probes:\n"
    "  swa: {lr_max: [1.0e-3, 1.0e-2, 1.0e-1], cycles: 4}\n";

static void test_swa_plan_expands_one_task_per_training_and_rate(void **state)
{
    (void)state;
    wg_plan p;
    wg_err_clear();
    int rc = wg_sweep_parse(&p, sweep_text, strlen(sweep_text), "mem.yaml");
    if (rc)
        fail_msg("%s", wg_err_msg());
    assert_int_equal(p.ntrain, 2);
    assert_int_equal(p.ntasks, 2 + 2 * 3);
    assert_true(p.enabled[WG_TASK_SWA]);
    assert_true(isnan(wg_plan_option(&p, WG_TASK_SWA, "lr_max", 3))); /* three values */
    assert_true(wg_plan_option(&p, WG_TASK_SWA, "cycles", 0) == 4);
    assert_true(wg_plan_option(&p, WG_TASK_SWA, "cycle_epochs", 0) == 1); /* defaults */
    assert_true(wg_plan_option(&p, WG_TASK_SWA, "min_ratio", 0) == 0.01);
    assert_true(wg_plan_option(&p, WG_TASK_SWA, "optimizer", 0) == -1);
    assert_true(wg_plan_option(&p, WG_TASK_SWA, "probe_size", 0) == 10000);
    for (size_t i = 2; i < p.ntasks; i++) {
        const wg_task *t = &p.tasks[i];
        size_t src = (i - 2) / 3;
        assert_int_equal(t->kind, WG_TASK_SWA);
        assert_int_equal(t->ndeps, 1);
        assert_int_equal(t->deps[0], src);
        assert_int_equal(t->arg[0], (int)((i - 2) % 3));
        assert_int_equal(t->probe_epoch, 2);
        assert_int_equal(t->set.replicate, p.tasks[src].set.replicate);
        assert_true(t->cost > p.tasks[src].cost); /* 4 epochs of cycles > 2 of training */
    }
    assert_true(wg_plan_option(&p, WG_TASK_SWA, "lr_max", 2) == 0.1);
    assert_string_equal(wg_task_kind_name(WG_TASK_SWA), "swa");
    wg_plan_free(&p);
}

static void parse_fails(const char *probe, const char *sub)
{
    char text[1024];
    snprintf(text, sizeof text, "name: s\nmodel: {arch: %s}\nprobes:\n  swa: %s\n",
             strstr(probe, "TOY") ? "toy" : "mlp", strstr(probe, "TOY") ? probe + 3 : probe);
    wg_plan p;
    wg_err_clear();
    int rc = wg_sweep_parse(&p, text, strlen(text), "mem.yaml");
    if (rc != WG_EARG || !strstr(wg_err_msg(), sub))
        fail_msg("'%s': got %d '%s', want '%s'", probe, rc, wg_err_msg(), sub);
    assert_non_null(strstr(wg_err_msg(), "mem.yaml:4:"));
    wg_plan_free(&p);
    wg_err_clear();
}

static void test_swa_plan_refuses_bad_options(void **state)
{
    (void)state;
    parse_fails("{cycles: 4}", "`lr_max` (the list of cycle learning rates) is required");
    parse_fails("{lr_max: [0.1, 0.2, 0.1]}", "value 3 repeats value 1");
    parse_fails("{lr_max: [0]}", "probes.swa.lr_max");
    parse_fails("{lr_max: [0.1], cycles: 65}", "probes.swa.cycles");
    parse_fails("{lr_max: [0.1], min_ratio: 0}", "probes.swa.min_ratio");
    parse_fails("{lr_max: [0.1], min_ratio: 1.5}", "probes.swa.min_ratio");
    parse_fails("{lr_max: [0.1], optimizer: rmsprop}", "'rmsprop' is not one of adam, sgd");
    parse_fails("{lr_max: [0.1], cycle: 3}", "did you mean 'cycles'");
    parse_fails("TOY{lr_max: [0.1]}", "the toy model has no predictions");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_swa_average_of_identical_snapshots_is_the_snapshot),
        cmocka_unit_test(test_swa_average_is_the_coordinate_mean),
        cmocka_unit_test(test_swa_averaged_predictions_of_one_network_are_its_own),
        cmocka_unit_test(test_swa_averaged_predictions_of_two_networks),
        cmocka_unit_test(test_swa_schedule_restarts_at_lr_max_and_ends_at_min),
        cmocka_unit_test(test_swa_geometry_matches_a_direct_computation),
        cmocka_unit_test(test_swa_cycles_are_deterministic),
        cmocka_unit_test(test_swa_cycles_continue_the_training_streams),
        cmocka_unit_test(test_swa_run_fills_its_result),
        cmocka_unit_test(test_swa_plan_expands_one_task_per_training_and_rate),
        cmocka_unit_test(test_swa_plan_refuses_bad_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
