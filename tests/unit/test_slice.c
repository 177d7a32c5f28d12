/* test_slice.c: unit tests of slice.c (filter-normalised directions and the loss
 * along them) and of the slice kind's plan.
 *
 * On a small SimpleCNN and an MLP with random weights and nonzero biases: filter
 * normalisation gives every filter of d (a column of a weight matrix: a conv
 * output channel, a dense output unit) the norm of theta's same filter, to 1e-6
 * relative (each entry is rounded to float once after a double product: a filter's
 * norm is then off by at most ~6e-8 relative), and leaves its direction that of the
 * Gaussian draw (cosine 1 to 1e-6); biases are zero, theta's own (copy), or
 * rescaled as one filter; layer normalisation per tensor; none leaves the draw.
 * Directions are keyed by (seed, stream, k) only: the same key gives the same bits,
 * another key other numbers, and never a tunnel direction's numbers.  The grid is
 * symmetric with 0 exactly on it for odd G; the evaluation forms theta itself at
 * a = b = 0 and the 1-D slice's point at b = 0, bit for bit, on a quadratic whose
 * values are known.  The kind's plan splits a slice's points (1-D) and rows (2-D)
 * over `split` tasks that cover the grid exactly once, and refuses the toy model
 * with filter normalisation. */
#include "wedge/error.h"
#include "wedge/kind.h"
#include "wedge/net.h"
#include "wedge/objective.h"
#include "wedge/rng.h"
#include "wedge/slice.h"
#include "wedge/sweep.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- a network's layout and a point theta ------------------------------------------ */

typedef struct fixture {
    wg_net net;
    float *theta;
} fixture;

static void make_net(fixture *fx, wg_arch arch)
{
    wg_net_opts o;
    wg_net_opts_default(&o);
    o.arch = arch;
    o.in_h = o.in_w = 8;
    o.in_c = 2;
    o.classes = 5;
    o.depth = 2;
    o.hidden = 12;
    assert_int_equal(wg_net_init(&fx->net, &o, 1), 0);
    fx->theta = malloc(fx->net.nparams * sizeof *fx->theta);
    assert_non_null(fx->theta);
    wg_net_init_params(&fx->net, fx->theta, 11, 3);
    /* nonzero biases, so that zero, copy and filter differ */
    wg_rng r;
    wg_rng_init(&r, 5, wg_rng_stream(WG_RNG_TEST, 1, 0, 0));
    for (int k = 0; k < fx->net.ntensors; k++) {
        const wg_tensor_info *t = &fx->net.tensors[k];
        if (t->ndim == 1)
            wg_rng_fill_uniform(&r, fx->theta + t->offset, t->count, -0.5f, 0.5f);
    }
}

static void free_net(fixture *fx)
{
    wg_net_free(&fx->net);
    free(fx->theta);
}

/* The raw Gaussian draw of direction k (what wg_slice_direction normalises). */
static void raw_draw(float *g, size_t D, uint64_t seed, uint64_t stream, int k)
{
    wg_rng r;
    wg_rng_init(&r, seed, wg_rng_stream(WG_RNG_DIRECTION, stream, (uint64_t)k,
                                        WG_SLICE_STREAM_TAG));
    wg_rng_fill_normal(&r, g, D);
}

/* |x| and x.y over entries start, start + stride, ... (n of them), in double. */
static double strided_dot(const float *x, const float *y, size_t start, size_t n, size_t stride)
{
    double s = 0.0;
    for (size_t j = 0; j < n; j++)
        s += (double)x[start + j * stride] * y[start + j * stride];
    return s;
}

static void assert_rel(double got, double want, double tol, const char *what, int k, size_t f)
{
    if (!(fabs(got - want) <= tol * fabs(want)))
        fail_msg("%s (tensor %d, filter %zu): %.9g != %.9g (tolerance %g relative)", what, k, f,
                 got, want, tol);
}

/* Every filter of every weight tensor: |d_f| = |theta_f| and d_f parallel to g_f. */
static void check_filters(const fixture *fx, const float *d, const float *g)
{
    int nfilters = 0;
    for (int k = 0; k < fx->net.ntensors; k++) {
        const wg_tensor_info *t = &fx->net.tensors[k];
        if (t->ndim != 2)
            continue;
        const size_t K = (size_t)t->shape[1], R = (size_t)t->shape[0];
        assert_int_equal(R * K, t->count);
        for (size_t f = 0; f < K; f++, nfilters++) {
            double nt = sqrt(strided_dot(fx->theta, fx->theta, t->offset + f, R, K));
            double nd = sqrt(strided_dot(d, d, t->offset + f, R, K));
            double ng = sqrt(strided_dot(g, g, t->offset + f, R, K));
            assert_true(nt > 0.0);
            assert_rel(nd, nt, 1e-6, "filter norm", k, f);
            assert_rel(strided_dot(d, g, t->offset + f, R, K) / (nd * ng), 1.0, 1e-6,
                       "cosine with the draw", k, f);
        }
    }
    assert_true(nfilters > 20);
}

static void check_biases_zero(const fixture *fx, const float *d)
{
    for (int k = 0; k < fx->net.ntensors; k++) {
        const wg_tensor_info *t = &fx->net.tensors[k];
        if (t->ndim == 1)
            for (size_t i = 0; i < t->count; i++)
                assert_true(d[t->offset + i] == 0.0f);
    }
}

static void filter_normalised(wg_arch arch)
{
    fixture fx;
    make_net(&fx, arch);
    const size_t D = fx.net.nparams;
    float *d = malloc(D * sizeof *d), *g = malloc(D * sizeof *g);
    assert_non_null(d);
    assert_non_null(g);
    for (int k = 0; k < 2; k++) {
        assert_int_equal(wg_slice_direction(d, fx.theta, D, fx.net.tensors, fx.net.ntensors,
                                            WG_SLICE_FILTER, WG_SLICE_BIAS_ZERO, 42, 7, k), 0);
        raw_draw(g, D, 42, 7, k);
        check_filters(&fx, d, g);
        check_biases_zero(&fx, d);
    }
    free(d);
    free(g);
    free_net(&fx);
}

static void test_slice_filter_norms_simplecnn(void **state)
{
    (void)state;
    filter_normalised(WG_ARCH_SIMPLECNN);
}

static void test_slice_filter_norms_mlp(void **state)
{
    (void)state;
    filter_normalised(WG_ARCH_MLP);
}

/* The filters of a layout are its weight matrices' columns: on the SimpleCNN, conv1's
 * 16 output channels over 9 x 2 inputs each, and the classifier's 5 units. */
static void test_slice_filters_are_output_channels(void **state)
{
    (void)state;
    fixture fx;
    make_net(&fx, WG_ARCH_SIMPLECNN);
    const wg_tensor_info *c1 = &fx.net.tensors[0], *fc = &fx.net.tensors[fx.net.ntensors - 2];
    assert_string_equal(c1->name, "conv1.w");
    assert_int_equal(c1->shape[0], 9 * 2);
    assert_int_equal(c1->shape[1], 16);
    assert_string_equal(fc->name, "fc.w");
    assert_int_equal(fc->shape[1], 5);
    /* a direction that is 1 on one entry of conv1's filter 3 only: normalised, that
     * entry becomes |theta's filter 3|, every other filter stays 0 */
    const size_t D = fx.net.nparams;
    float *d = calloc(D, sizeof *d);
    assert_non_null(d);
    d[c1->offset + 4 * 16 + 3] = 1.0f; /* row 4, column 3 */
    assert_int_equal(wg_slice_normalise(d, fx.theta, D, fx.net.tensors, fx.net.ntensors,
                                        WG_SLICE_FILTER, WG_SLICE_BIAS_ZERO), 0);
    double want = sqrt(strided_dot(fx.theta, fx.theta, c1->offset + 3, 18, 16));
    assert_rel(d[c1->offset + 4 * 16 + 3], want, 1e-6, "lone entry", 0, 3);
    for (size_t i = 0; i < D; i++)
        if (i != c1->offset + 4 * 16 + 3)
            assert_true(d[i] == 0.0f);
    free(d);
    free_net(&fx);
}

static void test_slice_layer_and_bias_rules(void **state)
{
    (void)state;
    fixture fx;
    make_net(&fx, WG_ARCH_MLP);
    const size_t D = fx.net.nparams;
    float *d = malloc(D * sizeof *d), *g = malloc(D * sizeof *g);
    assert_non_null(d);
    assert_non_null(g);
    raw_draw(g, D, 1, 2, 0);
    /* layer: every weight tensor as long as theta's; bias filter: every bias too */
    assert_int_equal(wg_slice_direction(d, fx.theta, D, fx.net.tensors, fx.net.ntensors,
                                        WG_SLICE_LAYER, WG_SLICE_BIAS_FILTER, 1, 2, 0), 0);
    for (int k = 0; k < fx.net.ntensors; k++) {
        const wg_tensor_info *t = &fx.net.tensors[k];
        double nt = sqrt(strided_dot(fx.theta, fx.theta, t->offset, t->count, 1));
        double nd = sqrt(strided_dot(d, d, t->offset, t->count, 1));
        double ng = sqrt(strided_dot(g, g, t->offset, t->count, 1));
        assert_rel(nd, nt, 1e-6, "tensor norm", k, 0);
        assert_rel(strided_dot(d, g, t->offset, t->count, 1) / (nd * ng), 1.0, 1e-6,
                   "cosine with the draw", k, 0);
    }
    /* filter with bias copy: biases are theta's, bit for bit */
    assert_int_equal(wg_slice_direction(d, fx.theta, D, fx.net.tensors, fx.net.ntensors,
                                        WG_SLICE_FILTER, WG_SLICE_BIAS_COPY, 1, 2, 0), 0);
    check_filters(&fx, d, g);
    for (int k = 0; k < fx.net.ntensors; k++) {
        const wg_tensor_info *t = &fx.net.tensors[k];
        if (t->ndim == 1)
            assert_memory_equal(d + t->offset, fx.theta + t->offset, t->count * sizeof *d);
    }
    /* none: the draw itself, biases zero */
    assert_int_equal(wg_slice_direction(d, fx.theta, D, fx.net.tensors, fx.net.ntensors,
                                        WG_SLICE_NONE, WG_SLICE_BIAS_ZERO, 1, 2, 0), 0);
    check_biases_zero(&fx, d);
    for (int k = 0; k < fx.net.ntensors; k++) {
        const wg_tensor_info *t = &fx.net.tensors[k];
        if (t->ndim == 2)
            assert_memory_equal(d + t->offset, g + t->offset, t->count * sizeof *d);
    }
    /* none with bias filter: nothing to rescale by, the biases stay as drawn */
    assert_int_equal(wg_slice_direction(d, fx.theta, D, fx.net.tensors, fx.net.ntensors,
                                        WG_SLICE_NONE, WG_SLICE_BIAS_FILTER, 1, 2, 0), 0);
    assert_memory_equal(d, g, D * sizeof *d);
    free(d);
    free(g);
    free_net(&fx);
}

/* A zero filter of theta gives a zero filter of d (no division by zero). */
static void test_slice_zero_filter(void **state)
{
    (void)state;
    fixture fx;
    make_net(&fx, WG_ARCH_MLP);
    const size_t D = fx.net.nparams;
    const wg_tensor_info *t = &fx.net.tensors[0];
    const size_t K = (size_t)t->shape[1], R = (size_t)t->shape[0];
    for (size_t r = 0; r < R; r++)
        fx.theta[t->offset + r * K + 2] = 0.0f;
    float *d = malloc(D * sizeof *d);
    assert_non_null(d);
    assert_int_equal(wg_slice_direction(d, fx.theta, D, fx.net.tensors, fx.net.ntensors,
                                        WG_SLICE_FILTER, WG_SLICE_BIAS_ZERO, 3, 0, 0), 0);
    for (size_t r = 0; r < R; r++)
        assert_true(d[t->offset + r * K + 2] == 0.0f);
    for (size_t i = 0; i < D; i++)
        assert_true(isfinite(d[i]));
    free(d);
    free_net(&fx);
}

static void test_slice_direction_keyed(void **state)
{
    (void)state;
    fixture fx;
    make_net(&fx, WG_ARCH_SIMPLECNN);
    const size_t D = fx.net.nparams;
    float *a = malloc(D * sizeof *a), *b = malloc(D * sizeof *b);
    assert_non_null(a);
    assert_non_null(b);
#define DIR(v, seed, stream, k)                                                             \
    assert_int_equal(wg_slice_direction(v, fx.theta, D, fx.net.tensors, fx.net.ntensors,   \
                                        WG_SLICE_FILTER, WG_SLICE_BIAS_ZERO, seed, stream, \
                                        k),                                                \
                     0)
    DIR(a, 9, 4, 1);
    DIR(b, 9, 4, 1);
    assert_memory_equal(a, b, D * sizeof *a); /* same key: same bits */
    const uint64_t other[3][3] = {{10, 4, 1}, {9, 5, 1}, {9, 4, 0}};
    for (int o = 0; o < 3; o++) {
        DIR(b, other[o][0], other[o][1], (int)other[o][2]);
        size_t same = 0;
        for (size_t i = 0; i < D; i++)
            same += a[i] == b[i] && a[i] != 0.0f;
        assert_true(same < 10); /* another key: other numbers */
    }
#undef DIR
    /* never a tunnel direction's numbers: the tunnel's stream of the same key */
    wg_rng r;
    float *raw = malloc(D * sizeof *raw);
    assert_non_null(raw);
    raw_draw(a, D, 9, 4, 1);
    wg_rng_init(&r, 9, wg_rng_stream(WG_RNG_DIRECTION, 4, 1, 0));
    wg_rng_fill_normal(&r, raw, D);
    size_t same = 0;
    for (size_t i = 0; i < D; i++)
        same += a[i] == raw[i];
    assert_true(same < 10);
    free(raw);
    free(a);
    free(b);
    free_net(&fx);
}

static void test_slice_invalid(void **state)
{
    (void)state;
    float theta[8] = {1, 2, 3, 4, 5, 6, 7, 8}, d[8] = {0};
    wg_err_clear();
    /* the toy model has no layout: only `none` */
    assert_int_equal(wg_slice_direction(d, theta, 8, NULL, 0, WG_SLICE_FILTER,
                                        WG_SLICE_BIAS_ZERO, 1, 0, 0), WG_EARG);
    assert_non_null(strstr(wg_err_msg(), "toy"));
    wg_err_clear();
    assert_int_equal(wg_slice_direction(d, theta, 8, NULL, 0, WG_SLICE_LAYER,
                                        WG_SLICE_BIAS_ZERO, 1, 0, 0), WG_EARG);
    wg_err_clear();
    assert_int_equal(wg_slice_direction(d, theta, 8, NULL, 0, WG_SLICE_NONE,
                                        WG_SLICE_BIAS_ZERO, 1, 0, 0), 0);
    float g[8];
    raw_draw(g, 8, 1, 0, 0);
    assert_memory_equal(d, g, sizeof d);
    /* a layout beyond the vector */
    wg_tensor_info t = {.name = "w", .offset = 4, .count = 6, .ndim = 2, .shape = {3, 2}};
    assert_int_equal(wg_slice_normalise(d, theta, 8, &t, 1, WG_SLICE_FILTER, WG_SLICE_BIAS_ZERO),
                     WG_EARG);
    wg_err_clear();
    assert_int_equal(wg_slice_normalise(d, theta, 8, &t, 1, (wg_slice_norm)7, WG_SLICE_BIAS_ZERO),
                     WG_EARG);
    wg_err_clear();
}

static void test_slice_grid(void **state)
{
    (void)state;
    double x[51];
    wg_slice_grid(x, 51, 1.0);
    assert_true(x[0] == -1.0 && x[50] == 1.0 && x[25] == 0.0);
    for (int i = 0; i < 51; i++) {
        assert_true(x[i] == -x[50 - i]);
        assert_true(fabs(x[i] - (-1.0 + i / 25.0)) < 1e-15);
    }
    wg_slice_grid(x, 21, 0.3);
    assert_true(x[0] == -0.3 && x[20] == 0.3 && x[10] == 0.0);
    wg_slice_grid(x, 4, 2.0); /* even G: 0 is not on the grid */
    assert_true(x[0] == -2.0 && x[3] == 2.0);
    assert_true(fabs(x[1] + 2.0 / 3.0) < 1e-15 && fabs(x[2] - 2.0 / 3.0) < 1e-15);
}

/* ---- evaluation on a quadratic ------------------------------------------------------ */

/* L(x) = sum_i w_i x_i^2 with w_i = 1 + i mod 3 (no accuracy). */
static int quad_eval(void *ctx, const float *x, double *loss, float *grad)
{
    const size_t *D = ctx;
    (void)grad;
    double s = 0.0;
    for (size_t i = 0; i < *D; i++)
        s += (1.0 + (double)(i % 3)) * (double)x[i] * x[i];
    *loss = s;
    return 0;
}

static int stop_after(void *user)
{
    int *left = user;
    return (*left)-- <= 0;
}

static void test_slice_eval_points(void **state)
{
    (void)state;
    size_t D = 40;
    wg_objective f = {.dim = D, .ctx = &D, .eval = quad_eval};
    float theta[40], d1[40], d2[40];
    for (size_t i = 0; i < D; i++) {
        theta[i] = 0.25f * (float)i - 3.0f;
        d1[i] = (float)((i * 7) % 5) - 2.0f;
        d2[i] = 0.5f - (float)(i % 4);
    }
    const double a[5] = {0.0, 0.5, -1.0, 0.0, 0.25}, b[5] = {0.0, 0.0, 0.0, 0.75, -0.5};
    double l2d[5], acc[5], l1d[5], acc1[5], l0;
    assert_int_equal(wg_slice_eval(&f, NULL, theta, d1, d2, a, b, 5, NULL, NULL, l2d, acc), 0);
    assert_int_equal(wg_slice_eval(&f, NULL, theta, d1, NULL, a, NULL, 5, NULL, NULL, l1d, acc1),
                     0);
    quad_eval(&D, theta, &l0, NULL);
    assert_true(l2d[0] == l0 && l1d[0] == l0); /* the centre is theta */
    assert_true(l2d[1] == l1d[1] && l2d[2] == l1d[2]); /* b = 0: the 1-D slice's point */
    for (int p = 0; p < 5; p++) {
        assert_true(isnan(acc[p]) && isnan(acc1[p]));
        /* the loss at theta + a d1 + b d2, formed in double: the float rounding of
         * the point (|x_i| < 8: 2^-24 * 8 * 2 |x_i| w_i per term) bounds the error */
        double want = 0.0;
        for (size_t i = 0; i < D; i++) {
            double xi = (double)theta[i] + a[p] * d1[i] + b[p] * d2[i];
            want += (1.0 + (double)(i % 3)) * xi * xi;
        }
        assert_true(fabs(l2d[p] - want) <= 1e-5 * want);
    }
    /* stop is asked before every point */
    int left = 2;
    assert_int_equal(wg_slice_eval(&f, NULL, theta, d1, d2, a, b, 5, stop_after, &left, l2d,
                                   acc), WG_EINTR);
}

/* The L2 term of a network at the point: l2 |weights|^2, biases excluded. */
static void test_slice_eval_l2(void **state)
{
    (void)state;
    fixture fx;
    make_net(&fx, WG_ARCH_MLP);
    size_t D = fx.net.nparams;
    wg_objective f = {.dim = D, .ctx = &D, .eval = quad_eval};
    float *d1 = calloc(D, sizeof *d1);
    assert_non_null(d1);
    const double a = 0.0;
    double plain, with, acc;
    wg_slice_l2 pen = {&fx.net, 0.01};
    assert_int_equal(wg_slice_eval(&f, NULL, fx.theta, d1, NULL, &a, NULL, 1, NULL, NULL, &plain,
                                   &acc), 0);
    assert_int_equal(wg_slice_eval(&f, &pen, fx.theta, d1, NULL, &a, NULL, 1, NULL, NULL, &with,
                                   &acc), 0);
    double w2 = 0.0;
    for (int k = 0; k < fx.net.ntensors; k++)
        if (fx.net.tensors[k].is_weight)
            w2 += strided_dot(fx.theta, fx.theta, fx.net.tensors[k].offset,
                              fx.net.tensors[k].count, 1);
    assert_true(fabs((with - plain) - 0.01 * w2) <= 1e-9 * (0.01 * w2));
    free(d1);
    free_net(&fx);
}

/* ---- the kind's plan ----------------------------------------------------------------- */

static void plan_of(wg_plan *p, const char *text)
{
    wg_err_clear();
    int rc = wg_sweep_parse(p, text, strlen(text), "mem.yaml");
    if (rc)
        print_error("%s\n", wg_err_msg());
    assert_int_equal(rc, 0);
}

/* Task args of a slice (task_slice.c's `args`): dims, first point/row, count. */
static void test_slice_split_covers_grid(void **state)
{
    (void)state;
    const int splits[3] = {1, 3, 7};
    for (int si = 0; si < 3; si++) {
        char text[512];
        snprintf(text, sizeof text,
                 "name: s\ndata: {name: synthetic}\nmodel: {arch: mlp, depth: 1, hidden: 8}\n"
                 "train: {epochs: 3}\nsweep: {seed: {range: [0, 2]}}\n"
                 "probes:\n  slice: {dims: [1, 2], epochs: [1, 3], grid_1d: 11, grid_2d: 7, "
                 "split: %d}\n", splits[si]);
        wg_plan p;
        plan_of(&p, text);
        assert_int_equal(wg_kind_get(WG_TASK_SLICE)->name[0], 's');
        /* per training x epoch x dims: the points (rows) covered exactly once */
        int cover[2][4][2][11]; /* [training][epoch][dims - 1][point] */
        memset(cover, 0, sizeof cover);
        size_t n = 0;
        for (size_t i = 0; i < p.ntasks; i++) {
            const wg_task *t = &p.tasks[i];
            if (t->kind != WG_TASK_SLICE)
                continue;
            n++;
            assert_int_equal(t->ndeps, 1);
            assert_true(t->deps[0] < 2);
            assert_true(t->probe_epoch == 1 || t->probe_epoch == 3);
            assert_int_equal(t->probe_final, t->probe_epoch == 3);
            int dims = t->arg[0], G = dims == 2 ? 7 : 11;
            assert_true(dims == 1 || dims == 2);
            assert_true(t->arg[2] >= 1 && t->arg[1] >= 0 && t->arg[1] + t->arg[2] <= G);
            for (int j = t->arg[1]; j < t->arg[1] + t->arg[2]; j++)
                cover[t->deps[0]][t->probe_epoch][dims - 1][j]++;
        }
        assert_int_equal(n, 2u * 2u * 2u * (size_t)splits[si]);
        for (int s = 0; s < 2; s++)
            for (int e = 1; e <= 3; e += 2)
                for (int dm = 0; dm < 2; dm++)
                    for (int j = 0; j < (dm ? 7 : 11); j++)
                        assert_int_equal(cover[s][e][dm][j], 1);
        /* the epochs probed are kept as snapshots */
        assert_int_equal(p.tasks[0].set.nsnapshots, 2);
        wg_plan_free(&p);
    }
}

static void plan_fails(const char *text, const char *sub)
{
    wg_plan p;
    wg_err_clear();
    int rc = wg_sweep_parse(&p, text, strlen(text), "mem.yaml");
    if (rc != WG_EARG || !strstr(wg_err_msg(), sub))
        fail_msg("expected WG_EARG with '%s', got %d: %s", sub, rc, wg_err_msg());
    wg_plan_free(&p);
    wg_err_clear();
}

static void test_slice_plan_refusals(void **state)
{
    (void)state;
    plan_fails("name: s\nmodel: {arch: toy, dim: 20, long: 5}\nprobes:\n  slice: {}\n",
               "mem.yaml:4:10: probes.slice: the toy model has no layers or filters");
    plan_fails("name: s\nmodel: {arch: toy, dim: 20, long: 5}\nprobes:\n"
               "  slice: {normalisation: layer}\n", "mem.yaml:4:26:");
    plan_fails("name: s\nprobes:\n  slice: {dims: [2], grid_2d: 5, split: 6}\n",
               "mem.yaml:3:41: probes.slice: split = 6 is more than the 5 rows");
    plan_fails("name: s\nprobes:\n  slice: {dims: [1], grid_1d: 5, split: 6}\n",
               "split = 6 is more than the 5 points");
    plan_fails("name: s\nprobes:\n  slice: {dims: [2, 2]}\n", "dims: 2 is given twice");
    plan_fails("name: s\nprobes:\n  slice: {dims: [3]}\n", "mem.yaml:3:18: probes.slice.dims = 3 is out of range");
    plan_fails("name: s\nprobes:\n  slice: {normalisation: filters}\n",
               "'filters' is not one of filter, layer, none");
    /* the toy model takes `none` */
    wg_plan p;
    plan_of(&p, "name: s\nmodel: {arch: toy, dim: 20, long: 5}\nprobes:\n"
                "  slice: {normalisation: none, dims: [1, 2]}\n");
    assert_int_equal(p.ntasks, 3);
    wg_plan_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slice_filter_norms_simplecnn),
        cmocka_unit_test(test_slice_filter_norms_mlp),
        cmocka_unit_test(test_slice_filters_are_output_channels),
        cmocka_unit_test(test_slice_layer_and_bias_rules),
        cmocka_unit_test(test_slice_zero_filter),
        cmocka_unit_test(test_slice_direction_keyed),
        cmocka_unit_test(test_slice_invalid),
        cmocka_unit_test(test_slice_grid),
        cmocka_unit_test(test_slice_eval_points),
        cmocka_unit_test(test_slice_eval_l2),
        cmocka_unit_test(test_slice_split_covers_grid),
        cmocka_unit_test(test_slice_plan_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
