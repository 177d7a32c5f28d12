/* test_net.c: whole networks: layout, initialisation, and the backpropagated
 * gradient of SimpleCNN and MLP (dropout on, masks fixed by the seed) against
 * central differences of the double-precision reference network.
 *
 * Tolerance: per coordinate |analytic - numeric| <= 2e-3 |numeric| + 2e-4 max|numeric|.
 * The float network loses ~1e-6 relative per layer and its tanh differs from libm's
 * by < 5e-7; the double central difference (h = 1e-5) is accurate to ~1e-9. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "refnet.h"
#include "wedge/error.h"
#include "wedge/net.h"
#include "wedge/objective.h"
#include "wedge/rng.h"

static void test_net_simplecnn_layout(void **state)
{
    (void)state;
    wg_net_opts o;
    wg_net_opts_default(&o);
    wg_net net;
    assert_int_equal(wg_net_init(&net, &o, 4), 0);
    assert_int_equal(net.nparams, 16938); /* docs/METHODS.md, 28x28x1 */
    /* tensors tile the vector in order, without gaps */
    size_t off = 0;
    for (int i = 0; i < net.ntensors; i++) {
        assert_int_equal(net.tensors[i].offset, off);
        off += net.tensors[i].count;
    }
    assert_int_equal(off, net.nparams);
    wg_net_free(&net);
    o.in_h = o.in_w = 32;
    o.in_c = 3;
    assert_int_equal(wg_net_init(&net, &o, 4), 0);
    assert_int_equal(net.nparams, 19466); /* docs/METHODS.md, 32x32x3 */
    wg_net_free(&net);
    o.width = 2;
    assert_int_equal(wg_net_init(&net, &o, 4), 0);
    /* conv 27*32+32, 288*64+64, 576*64+64, dense 64*16*10+10 */
    assert_int_equal(net.nparams, 896 + 18496 + 36928 + 10250);
    wg_net_free(&net);
}

static void test_net_mlp_layout(void **state)
{
    (void)state;
    wg_net_opts o;
    wg_net_opts_default(&o);
    o.arch = WG_ARCH_MLP;
    o.depth = 2;
    o.hidden = 200;
    wg_net net;
    assert_int_equal(wg_net_init(&net, &o, 8), 0);
    assert_int_equal(net.nparams, 784 * 200 + 200 + 200 * 200 + 200 + 200 * 10 + 10);
    wg_net_free(&net);
    o.depth = 0; /* softmax regression */
    assert_int_equal(wg_net_init(&net, &o, 8), 0);
    assert_int_equal(net.nparams, 7850);
    wg_net_free(&net);
}

static void test_net_rejects_bad_options(void **state)
{
    (void)state;
    wg_net_opts o;
    wg_net net;
    wg_net_opts_default(&o);
    o.dropout = 1.0f;
    wg_err_clear();
    assert_int_equal(wg_net_init(&net, &o, 4), WG_EARG);
    assert_non_null(strstr(wg_err_msg(), "dropout"));
    wg_net_free(&net); /* safe after failure */
    wg_net_opts_default(&o);
    o.width = 0;
    wg_err_clear();
    assert_int_equal(wg_net_init(&net, &o, 4), WG_EARG);
    assert_non_null(strstr(wg_err_msg(), "width"));
    wg_net_opts_default(&o);
    o.in_h = 4;
    wg_err_clear();
    assert_int_equal(wg_net_init(&net, &o, 4), WG_EARG);
    wg_net_opts_default(&o);
    wg_err_clear();
    assert_int_equal(wg_net_init(&net, &o, 0), WG_EARG);
    wg_err_clear();
}

static void test_net_glorot_init(void **state)
{
    (void)state;
    wg_net_opts o;
    wg_net_opts_default(&o);
    wg_net net;
    assert_int_equal(wg_net_init(&net, &o, 2), 0);
    float *a = malloc(net.nparams * 4), *b = malloc(net.nparams * 4);
    wg_net_init_params(&net, a, 7, 0);
    wg_net_init_params(&net, b, 7, 0);
    assert_memory_equal(a, b, net.nparams * 4);
    for (int i = 0; i < net.ntensors; i++) {
        const wg_tensor_info *t = &net.tensors[i];
        double limit = sqrt(6.0 / (t->fan_in + t->fan_out)), sum2 = 0.0;
        for (size_t j = 0; j < t->count; j++) {
            float v = a[t->offset + j];
            if (!t->is_weight) {
                assert_true(v == 0.0f);
                continue;
            }
            assert_true(fabs(v) <= limit);
            sum2 += (double)v * v;
        }
        if (t->is_weight) {
            /* uniform(-l, l) has variance l^2/3; >= 2880 draws: within 15% */
            double var = sum2 / t->count;
            assert_true(fabs(var / (limit * limit / 3) - 1) < 0.15);
        }
    }
    wg_net_init_params(&net, b, 8, 0);
    assert_true(memcmp(a, b, net.nparams * 4) != 0);
    free(a), free(b);
    wg_net_free(&net);
}

/* Compare backprop with central differences of the reference network at `ncheck`
 * coordinates: all of every bias, and an even spread through every weight tensor. */
static void check_network_gradient(const wg_net_opts *o, int B, int train)
{
    wg_net net;
    assert_int_equal(wg_net_init(&net, o, (size_t)B), 0);
    const size_t D = net.nparams;
    float *theta = malloc(D * 4), *grad = malloc(D * 4);
    wg_net_init_params(&net, theta, 3, 0);
    /* non-zero biases so that their gradients are exercised away from 0 */
    for (int i = 0; i < net.ntensors; i++)
        if (!net.tensors[i].is_weight)
            ref_fill(theta + net.tensors[i].offset, net.tensors[i].count, -0.1f, 0.1f, 60 + i);
    float *x = malloc((size_t)B * net.in_size * 4);
    ref_fill(x, (size_t)B * net.in_size, 0, 1, 61);
    int y[16];
    for (int b = 0; b < B; b++)
        y[b] = (b * 7 + 3) % o->classes;
    memcpy(net.input, x, (size_t)B * net.in_size * 4);
    wg_net_forward(&net, theta, (size_t)B, train, 42, 9);
    double loss = wg_net_loss(&net, y, (size_t)B, 1, NULL) / B;
    wg_net_backward(&net, theta, grad);

    float *masks[64] = {0};
    for (int i = 0; i < net.nlayers; i++)
        if (net.layers[i].kind == WG_LAYER_DROPOUT && train)
            masks[i] = net.layers[i].mask;
    double *th = malloc(D * sizeof *th);
    for (size_t j = 0; j < D; j++)
        th[j] = theta[j];
    double ref = ref_net_loss(&net, th, x, y, B, masks);
    assert_true(fabs(ref - loss) < 1e-5 * (1 + fabs(ref)));

    size_t *idx = malloc(D * sizeof *idx), n = 0;
    for (int i = 0; i < net.ntensors; i++) {
        const wg_tensor_info *t = &net.tensors[i];
        size_t step = t->is_weight ? (t->count + 39) / 40 : 1; /* ~40 per weight tensor */
        for (size_t j = 0; j < t->count; j += step)
            idx[n++] = t->offset + j;
    }
    double *num = malloc(n * sizeof *num), mx = 0.0;
    float *got = malloc(n * 4);
    const double h = 1e-5;
    for (size_t k = 0; k < n; k++) {
        double keep = th[idx[k]];
        th[idx[k]] = keep + h;
        double up = ref_net_loss(&net, th, x, y, B, masks);
        th[idx[k]] = keep - h;
        double down = ref_net_loss(&net, th, x, y, B, masks);
        th[idx[k]] = keep;
        num[k] = (up - down) / (2 * h);
        got[k] = grad[idx[k]];
        mx = fmax(mx, fabs(num[k]));
    }
    assert_true(mx > 1e-4); /* the check is not vacuous */
    for (size_t k = 0; k < n; k++) {
        double tol = 2e-3 * fabs(num[k]) + 2e-4 * mx;
        if (fabs(got[k] - num[k]) > tol)
            fail_msg("theta[%zu]: backprop %.8g vs central difference %.8g", idx[k],
                     (double)got[k], num[k]);
    }
    free(theta), free(grad), free(x), free(th), free(idx), free(num), free(got);
    wg_net_free(&net);
}

static void test_net_simplecnn_gradient(void **state)
{
    (void)state;
    wg_net_opts o;
    wg_net_opts_default(&o);
    for (int path = 0; path < 2; path++) { /* Winograd layers 2-3, then im2col only */
        wg_net_opts_default(&o);
        o.im2col_only = path;
        o.in_h = o.in_w = 12; /* 12 -> 6 -> 3 -> 1 */
        check_network_gradient(&o, 3, 1);
        o.dropout = 0.4f; /* masks fixed by (seed, stream) */
        check_network_gradient(&o, 3, 1);
        o.in_h = o.in_w = 11; /* odd sizes: 11 -> 5 -> 2 -> 1 */
        o.in_c = 3;
        o.activation = WG_ACT_RELU;
        check_network_gradient(&o, 2, 1);
    }
}

/* The two convolution paths compute the same function: a 28x28 SimpleCNN c = 2
 * over several chunks gives the same logits and gradient by Winograd (layers 2-3)
 * and by im2col, to float rounding: logits within 1e-5 (|logits| ~ 1, sums of
 * ~10^4 products per layer), gradient entries within 1e-4 of the largest. */
static void test_net_conv_paths_agree(void **state)
{
    (void)state;
    wg_net_opts o;
    wg_net_opts_default(&o);
    o.width = 2;
    const size_t B = 40;
    wg_net a, b;
    assert_int_equal(wg_net_init(&a, &o, B), 0);
    o.im2col_only = 1;
    assert_int_equal(wg_net_init(&b, &o, B), 0);
    assert_true(a.layers[0].kind == WG_LAYER_CONV3 && !a.layers[0].wino); /* C = 1 */
    int nwino = 0;
    for (int i = 0; i < a.nlayers; i++)
        nwino += a.layers[i].wino;
    assert_int_equal(nwino, 2);
    for (int i = 0; i < b.nlayers; i++)
        assert_false(b.layers[i].wino);
    assert_true(a.chunk < B); /* several chunks: gradients accumulate across them */
    const size_t D = a.nparams;
    float *theta = malloc(D * 4), *ga = malloc(D * 4), *gb = malloc(D * 4);
    wg_net_init_params(&a, theta, 5, 0);
    ref_fill(a.input, B * a.in_size, 0, 1, 77);
    memcpy(b.input, a.input, B * a.in_size * 4);
    int y[40];
    for (size_t i = 0; i < B; i++)
        y[i] = (int)(i * 3 % 10);
    const float *la = wg_net_forward(&a, theta, B, 1, 1, 0);
    const float *lb = wg_net_forward(&b, theta, B, 1, 1, 0);
    for (size_t i = 0; i < B * 10; i++)
        if (fabs(la[i] - lb[i]) > 1e-5)
            fail_msg("logit %zu: Winograd %.8g, im2col %.8g", i, (double)la[i], (double)lb[i]);
    wg_net_loss(&a, y, B, 1, NULL);
    wg_net_loss(&b, y, B, 1, NULL);
    wg_net_backward(&a, theta, ga);
    wg_net_backward(&b, theta, gb);
    double mx = 0.0;
    for (size_t j = 0; j < D; j++)
        mx = fmax(mx, fabs(gb[j]));
    assert_true(mx > 1e-3);
    for (size_t j = 0; j < D; j++)
        if (fabs(ga[j] - gb[j]) > 1e-4 * mx)
            fail_msg("grad %zu: Winograd %.8g, im2col %.8g", j, (double)ga[j], (double)gb[j]);
    free(theta), free(ga), free(gb);
    wg_net_free(&a);
    wg_net_free(&b);
}

static void test_net_mlp_gradient(void **state)
{
    (void)state;
    wg_net_opts o;
    wg_net_opts_default(&o);
    o.arch = WG_ARCH_MLP;
    o.in_h = o.in_w = 6;
    o.depth = 3;
    o.hidden = 17;
    check_network_gradient(&o, 4, 1);
    o.dropout = 0.25f;
    o.activation = WG_ACT_RELU;
    check_network_gradient(&o, 4, 1);
    check_network_gradient(&o, 4, 0); /* evaluation mode: dropout is the identity */
}

static void test_net_dropout_where_names(void **state)
{
    (void)state;
    wg_dropout_where w = WG_DROPOUT_ALL;
    assert_int_equal(wg_dropout_where_parse("dense", &w), 0);
    assert_int_equal(w, WG_DROPOUT_DENSE);
    assert_int_equal(wg_dropout_where_parse("all", &w), 0);
    assert_int_equal(w, WG_DROPOUT_ALL);
    assert_string_equal(wg_dropout_where_name(WG_DROPOUT_DENSE), "dense");
    assert_string_equal(wg_dropout_where_name(WG_DROPOUT_ALL), "all");
    assert_string_equal(wg_dropout_where_name((wg_dropout_where)7), "?");
    wg_err_clear();
    assert_int_equal(wg_dropout_where_parse("conv", &w), WG_EARG);
    assert_int_equal(w, WG_DROPOUT_ALL); /* untouched on error */
    assert_non_null(strstr(wg_err_msg(), "dense, all"));
    wg_err_clear();
    wg_net_opts o;
    wg_net_opts_default(&o);
    assert_int_equal(o.dropout_where, WG_DROPOUT_DENSE); /* today's placement */
    o.dropout_where = (wg_dropout_where)2;
    wg_net net;
    assert_int_equal(wg_net_init(&net, &o, 2), WG_EARG);
    assert_non_null(strstr(wg_err_msg(), "dropout placement"));
    wg_err_clear();
}

/* "all" puts a dropout layer after every conv block's pooling: training-mode
 * forwards change (with the same masks' key), evaluation-mode forwards do not, and
 * backprop through the three layers' masks matches the reference. */
static void test_net_dropout_all(void **state)
{
    (void)state;
    wg_net_opts o;
    wg_net_opts_default(&o);
    o.dropout = 0.3f;
    wg_net a, b;
    const size_t B = 20;
    assert_int_equal(wg_net_init(&a, &o, B), 0);
    o.dropout_where = WG_DROPOUT_ALL;
    assert_int_equal(wg_net_init(&b, &o, B), 0);
    int na = 0, nb = 0;
    for (int i = 0; i < a.nlayers; i++)
        na += a.layers[i].kind == WG_LAYER_DROPOUT;
    for (int i = 0; i < b.nlayers; i++) {
        nb += b.layers[i].kind == WG_LAYER_DROPOUT;
        if (b.layers[i].kind == WG_LAYER_DROPOUT) /* each right after a pooling */
            assert_int_equal(b.layers[i - 1].kind, WG_LAYER_MAXPOOL);
    }
    assert_int_equal(na, 1);
    assert_int_equal(nb, 3);
    assert_int_equal(a.nparams, b.nparams); /* dropout has no parameters */
    float *theta = malloc(a.nparams * 4), *la = malloc(B * 10 * 4);
    wg_net_init_params(&a, theta, 9, 0);
    ref_fill(a.input, B * a.in_size, 0, 1, 90);
    memcpy(b.input, a.input, B * a.in_size * 4);
    memcpy(la, wg_net_forward(&a, theta, B, 1, 3, 4), B * 10 * 4);
    const float *lb = wg_net_forward(&b, theta, B, 1, 3, 4);
    assert_true(memcmp(la, lb, B * 10 * 4) != 0);
    memcpy(la, wg_net_forward(&a, theta, B, 0, 3, 4), B * 10 * 4);
    lb = wg_net_forward(&b, theta, B, 0, 3, 4);
    assert_memory_equal(la, lb, B * 10 * 4);
    free(theta), free(la);
    wg_net_free(&a);
    wg_net_free(&b);
    /* gradient through all three masks (and their evaluation-mode identity) */
    o.in_h = o.in_w = 12;
    check_network_gradient(&o, 3, 1);
    check_network_gradient(&o, 3, 0);
    o.im2col_only = 1;
    o.activation = WG_ACT_RELU;
    check_network_gradient(&o, 3, 1);
}

static void test_net_l2_weights_only(void **state)
{
    (void)state;
    wg_net_opts o;
    wg_net_opts_default(&o);
    o.arch = WG_ARCH_MLP;
    o.depth = 1;
    o.hidden = 5;
    o.in_h = o.in_w = 2;
    wg_net net;
    assert_int_equal(wg_net_init(&net, &o, 1), 0);
    float theta[128], g[128];
    assert_true(net.nparams <= 128);
    double want = 0.0;
    for (size_t j = 0; j < net.nparams; j++) {
        theta[j] = 0.1f * (float)(j % 7) - 0.3f;
        g[j] = 1.0f;
    }
    for (int i = 0; i < net.ntensors; i++)
        if (net.tensors[i].is_weight)
            for (size_t j = 0; j < net.tensors[i].count; j++) {
                double w = theta[net.tensors[i].offset + j];
                want += w * w;
            }
    double got = wg_net_l2(&net, theta, g, 0.01);
    assert_true(fabs(got - 0.01 * want) < 1e-12);
    for (int i = 0; i < net.ntensors; i++)
        for (size_t j = 0; j < net.tensors[i].count; j++) {
            size_t k = net.tensors[i].offset + j;
            float expect = net.tensors[i].is_weight ? 1.0f + 0.02f * theta[k] : 1.0f;
            assert_true(fabsf(g[k] - expect) < 1e-7f);
        }
    wg_net_free(&net);
}

static void test_net_objective_gradient_is_batch_weighted(void **state)
{
    (void)state;
    /* 7 images in batches of 3: the objective's gradient must equal the gradient of
     * the mean loss over all 7 (batches of 3, 3, 1 weighted by size) */
    wg_dataset ds;
    assert_int_equal(wg_data_synthetic(&ds, 7, 8, 8, 1, 5, 0), 0);
    wg_net_opts o;
    wg_net_opts_default(&o);
    o.arch = WG_ARCH_MLP;
    o.depth = 1;
    o.hidden = 6;
    o.in_h = o.in_w = 8;
    wg_objective f;
    assert_int_equal(wg_objective_net(&f, &o, &ds, 3), 0);
    wg_net whole;
    assert_int_equal(wg_net_init(&whole, &o, 7), 0);
    float *theta = malloc(f.dim * 4), *g1 = malloc(f.dim * 4), *g2 = malloc(f.dim * 4);
    wg_net_init_params(&whole, theta, 1, 0);
    double l1;
    assert_int_equal(wg_objective_grad(&f, theta, &l1, g1), 0);
    int y[7];
    wg_data_batch(&ds, NULL, 0, 7, whole.input, y);
    wg_net_forward(&whole, theta, 7, 0, 0, 0);
    double l2 = wg_net_loss(&whole, y, 7, 1, NULL) / 7;
    wg_net_backward(&whole, theta, g2);
    assert_true(fabs(l1 - l2) < 1e-6);
    for (size_t j = 0; j < f.dim; j++)
        assert_true(fabsf(g1[j] - g2[j]) <= 1e-5f * (1 + fabsf(g2[j])));
    double acc;
    assert_int_equal(f.accuracy(f.ctx, theta, &acc), 0);
    assert_true(acc >= 0.0 && acc <= 1.0);
    /* a non-finite point is reported as divergence, not as a number */
    theta[0] = NAN;
    wg_err_clear();
    assert_int_equal(wg_objective_loss(&f, theta, &l1), WG_EDIVERGED);
    wg_err_clear();
    free(theta), free(g1), free(g2);
    wg_net_free(&whole);
    wg_objective_free(&f);
    wg_dataset_free(&ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_net_simplecnn_layout),
        cmocka_unit_test(test_net_mlp_layout),
        cmocka_unit_test(test_net_rejects_bad_options),
        cmocka_unit_test(test_net_glorot_init),
        cmocka_unit_test(test_net_simplecnn_gradient),
        cmocka_unit_test(test_net_conv_paths_agree),
        cmocka_unit_test(test_net_mlp_gradient),
        cmocka_unit_test(test_net_dropout_where_names),
        cmocka_unit_test(test_net_dropout_all),
        cmocka_unit_test(test_net_l2_weights_only),
        cmocka_unit_test(test_net_objective_gradient_is_batch_weighted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
