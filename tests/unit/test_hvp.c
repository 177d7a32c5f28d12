/* test_hvp.c: exact Hessian-vector products (wg_net_hvp, the objectives' hvp)
 * against central differences of the double-precision reference gradient, on small
 * nets of every layer type and both convolution paths.
 *
 * Reference: (g(theta + h v) - g(theta - h v)) / 2h with g the double reference
 * gradient (refnet.c) and h = 1e-6 (|v_i| <= 1): truncation ~h^2 |g'''| ~ 1e-12,
 * rounding ~1e-16 |g| / h ~ 1e-10, both far below the float product's own error.
 * Max pooling and relu have kinks, where a central difference is meaningless: every
 * check asserts that no pooling argmax and no relu sign changes between the two ends
 * of the step (the data and directions are chosen so; a failure says so rather than
 * reporting a wrong Hessian).
 *
 * Tolerance per entry: |exact - reference| <= 1e-4 |reference| + 1e-5 max|reference|.
 * The float forward carries ~1e-7 relative error per layer, and each Hessian entry
 * is a sum of products over the batch and the layers with some cancellation; the
 * measured worst error (printed at the end) is ~1/40 of the bound.  The net's tanh is a
 * rational approximation within a few float ulps of libm's, which the reference
 * uses: invisible at this tolerance. */
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
#include "wedge/hessian.h"
#include "wedge/net.h"
#include "wedge/objective.h"
#include "wedge/rng.h"
#include "wedge/toy.h"

static double worst_seen = 0.0; /* worst error / bound over the reference checks */

/* A small net with a batch, a point and directions, fixed by seeds. */
typedef struct fixture {
    wg_net net;
    size_t D;
    int B;
    float *theta, *x;
    int y[64];
} fixture;

static void fixture_init(fixture *f, const wg_net_opts *o, int B, unsigned long seed)
{
    assert_true(B <= 64);
    assert_int_equal(wg_net_init(&f->net, o, (size_t)B), 0);
    f->D = f->net.nparams;
    f->B = B;
    f->theta = malloc(f->D * sizeof *f->theta);
    wg_net_init_params(&f->net, f->theta, seed, 0);
    /* non-zero biases, so that every term is exercised away from 0 */
    for (int i = 0; i < f->net.ntensors; i++)
        if (!f->net.tensors[i].is_weight)
            ref_fill(f->theta + f->net.tensors[i].offset, f->net.tensors[i].count, -0.2f,
                     0.2f, seed * 100 + (unsigned long)i);
    f->x = malloc((size_t)B * f->net.in_size * sizeof *f->x);
    ref_fill(f->x, (size_t)B * f->net.in_size, 0, 1, seed + 7);
    for (int b = 0; b < B; b++)
        f->y[b] = (b * 7 + 3 + (int)seed) % o->classes;
}

static void fixture_free(fixture *f)
{
    free(f->theta);
    free(f->x);
    wg_net_free(&f->net);
}

/* nv directions with entries uniform in [-1, 1) */
static float *directions(size_t nv, size_t D, unsigned long seed)
{
    float *V = malloc(nv * D * sizeof *V);
    ref_fill(V, nv * D, -1, 1, seed);
    return V;
}

/* H V by wg_net_hvp on the fixture's batch (scale 1, into a zeroed array). */
static double *exact_hvp(fixture *f, const float *V, size_t nv, double l2)
{
    double *HV = calloc(nv * f->D, sizeof *HV);
    assert_int_equal(wg_net_hvp_reserve(&f->net, nv), 0);
    memcpy(f->net.input, f->x, (size_t)f->B * f->net.in_size * sizeof *f->x);
    assert_int_equal(wg_net_hvp(&f->net, f->theta, f->y, (size_t)f->B, V, nv, l2, 1.0, HV), 0);
    return HV;
}

/* Central difference of the double reference gradient along v (evaluation mode). */
static void reference_hvp(const char *what, const fixture *f, const float *v, double *out)
{
    const size_t D = f->D;
    const double h = 1e-6;
    double *th = calloc(D, sizeof *th), *gp = malloc(D * sizeof *gp);
    double *gm = malloc(D * sizeof *gm);
    double margin;
    for (size_t i = 0; i < D; i++)
        th[i] = f->theta[i];
    unsigned long k0 = ref_net_kinks(&f->net, th, f->x, f->B, &margin);
    for (size_t i = 0; i < D; i++)
        th[i] = (double)f->theta[i] + h * v[i];
    unsigned long kp = ref_net_kinks(&f->net, th, f->x, f->B, NULL);
    ref_net_grad(&f->net, th, f->x, f->y, f->B, NULL, gp);
    for (size_t i = 0; i < D; i++)
        th[i] = (double)f->theta[i] - h * v[i];
    unsigned long km = ref_net_kinks(&f->net, th, f->x, f->B, NULL);
    ref_net_grad(&f->net, th, f->x, f->y, f->B, NULL, gm);
    if (kp != k0 || km != k0)
        fail_msg("%s: a max-pooling argmax or relu sign flips within the difference step "
                 "(smallest margin %.3g): choose other data", what, margin);
    for (size_t i = 0; i < D; i++)
        out[i] = (gp[i] - gm[i]) / (2 * h);
    free(th), free(gp), free(gm);
}

static void assert_hv_close(const char *what, const double *got, const double *want,
                            size_t D)
{
    double mx = 0.0;
    for (size_t i = 0; i < D; i++)
        mx = fmax(mx, fabs(want[i]));
    assert_true(mx > 1e-3); /* not vacuous */
    for (size_t i = 0; i < D; i++) {
        double tol = 1e-4 * fabs(want[i]) + 1e-5 * mx;
        double e = fabs(got[i] - want[i]);
        worst_seen = fmax(worst_seen, e / tol);
        if (!(e <= tol))
            fail_msg("%s: HV[%zu] = %.9g, central difference %.9g (tol %.3g, max %.3g)", what,
                     i, got[i], want[i], tol, mx);
    }
}

/* The float reference point of the fixture: its backprop gradient agrees with the
 * double reference's (which validates ref_net_grad), then nv exact products against
 * central differences. */
static void check_against_reference(const char *what, const wg_net_opts *o, int B,
                                    size_t nv, unsigned long seed)
{
    fixture f;
    fixture_init(&f, o, B, seed);
    const size_t D = f.D;
    double *th = malloc(D * sizeof *th), *gref = malloc(D * sizeof *gref);
    float *g = malloc(D * sizeof *g);
    for (size_t i = 0; i < D; i++)
        th[i] = f.theta[i];
    ref_net_grad(&f.net, th, f.x, f.y, B, NULL, gref);
    memcpy(f.net.input, f.x, (size_t)B * f.net.in_size * sizeof *f.x);
    wg_net_forward(&f.net, f.theta, (size_t)B, 0, 0, 0);
    wg_net_loss(&f.net, f.y, (size_t)B, 1, NULL);
    wg_net_backward(&f.net, f.theta, g);
    double gm = 0.0;
    for (size_t i = 0; i < D; i++)
        gm = fmax(gm, fabs(gref[i]));
    for (size_t i = 0; i < D; i++)
        if (!(fabs(g[i] - gref[i]) <= 1e-3 * fabs(gref[i]) + 1e-4 * gm))
            fail_msg("%s: reference gradient[%zu] = %.9g, backprop %.9g", what, i, gref[i],
                     (double)g[i]);

    float *V = directions(nv, D, seed + 1000);
    double *HV = exact_hvp(&f, V, nv, 0.0), *ref = malloc(D * sizeof *ref);
    for (size_t j = 0; j < nv; j++) {
        reference_hvp(what, &f, V + j * D, ref);
        assert_hv_close(what, HV + j * D, ref, D);
    }
    free(th), free(gref), free(g), free(V), free(HV), free(ref);
    fixture_free(&f);
}

static wg_net_opts mlp_opts(wg_act act)
{
    wg_net_opts o;
    wg_net_opts_default(&o);
    o.arch = WG_ARCH_MLP;
    o.in_h = o.in_w = 6;
    o.depth = 2;
    o.hidden = 17;
    o.activation = act;
    return o;
}

static wg_net_opts cnn_opts(int size, int in_c, wg_act act, int im2col_only)
{
    wg_net_opts o;
    wg_net_opts_default(&o);
    o.in_h = o.in_w = size;
    o.in_c = in_c;
    o.activation = act;
    o.im2col_only = im2col_only;
    return o;
}

static void test_hvp_mlp_tanh(void **state)
{
    (void)state;
    wg_net_opts o = mlp_opts(WG_ACT_TANH);
    check_against_reference("mlp tanh", &o, 5, 3, 1);
    o.depth = 0; /* softmax regression: the Gauss-Newton part alone */
    check_against_reference("softmax regression", &o, 5, 2, 2);
}

static void test_hvp_mlp_relu(void **state)
{
    (void)state;
    wg_net_opts o = mlp_opts(WG_ACT_RELU);
    o.depth = 3;
    check_against_reference("mlp relu", &o, 5, 3, 3);
}

static void test_hvp_simplecnn_im2col(void **state)
{
    (void)state;
    wg_net_opts o = cnn_opts(12, 1, WG_ACT_TANH, 1); /* 12 -> 6 -> 3 -> 1 */
    check_against_reference("simplecnn im2col tanh", &o, 3, 2, 4);
    o = cnn_opts(11, 3, WG_ACT_RELU, 1); /* odd sizes: 11 -> 5 -> 2 -> 1 */
    check_against_reference("simplecnn im2col relu odd", &o, 2, 2, 5);
}

static void test_hvp_simplecnn_winograd(void **state)
{
    (void)state;
    /* layers 2-3 by Winograd (16 and 32 input channels), layer 1 by im2col */
    wg_net_opts o = cnn_opts(12, 1, WG_ACT_TANH, 0);
    fixture f;
    fixture_init(&f, &o, 1, 1);
    assert_true(!f.net.layers[0].wino && f.net.layers[3].wino && f.net.layers[6].wino);
    fixture_free(&f);
    check_against_reference("simplecnn winograd tanh", &o, 3, 2, 6);
    o = cnn_opts(11, 3, WG_ACT_RELU, 0);
    check_against_reference("simplecnn winograd relu odd", &o, 2, 2, 17);
    /* 16 input channels: the first layer by Winograd too (its input does not move) */
    o = cnn_opts(8, 16, WG_ACT_TANH, 0);
    fixture_init(&f, &o, 1, 1);
    assert_true(f.net.layers[0].wino);
    fixture_free(&f);
    check_against_reference("simplecnn winograd first layer", &o, 2, 2, 8);
    /* a 2 x 2 map into the classifier, several directions at once */
    o = cnn_opts(16, 1, WG_ACT_TANH, 0);
    check_against_reference("simplecnn 16x16 2 directions", &o, 2, 3, 18);
}

/* Dropout layers are the identity in a probe, wherever they are. */
static void test_hvp_ignores_dropout(void **state)
{
    (void)state;
    wg_net_opts o = cnn_opts(12, 1, WG_ACT_TANH, 0);
    o.dropout = 0.4f;
    check_against_reference("simplecnn dropout dense", &o, 3, 2, 9);
    o.dropout_where = WG_DROPOUT_ALL;
    check_against_reference("simplecnn dropout all", &o, 3, 2, 10);
    o = mlp_opts(WG_ACT_TANH);
    o.dropout = 0.5f;
    check_against_reference("mlp dropout", &o, 4, 2, 11);
}

/* A batch over several chunks (SimpleCNN 28x28: 16 images a pass), so that the
 * products accumulate across passes. */
static void test_hvp_accumulates_over_chunks(void **state)
{
    (void)state;
    wg_net_opts o = cnn_opts(28, 1, WG_ACT_TANH, 0);
    fixture f;
    fixture_init(&f, &o, 40, 12);
    assert_true(f.net.chunk < 40);
    fixture_free(&f);
    check_against_reference("simplecnn 28x28 several chunks", &o, 40, 1, 12);
}

/* nv directions at once give the nv single products, up to float rounding: the
 * images per pass and Winograd blocks depend on nv, so sums run in other orders.
 * SimpleCNN on 16 x 16 ends on a 2 x 2 map, which its classifier flattens: direction
 * j's R input to it is then not contiguous in the grouped layout (a 1 x 1 map, as on
 * 12 x 12, hides a mix-up of the two layouts; 28 x 28 ends on 3 x 3). */
static void test_hvp_block_equals_singles(void **state)
{
    (void)state;
    const wg_net_opts opts[3] = {cnn_opts(12, 1, WG_ACT_TANH, 0), mlp_opts(WG_ACT_RELU),
                                 cnn_opts(16, 1, WG_ACT_TANH, 0)};
    for (int c = 0; c < 3; c++) {
        fixture f;
        fixture_init(&f, &opts[c], 6, 20 + (unsigned long)c);
        const size_t nv = 5, D = f.D;
        float *V = directions(nv, D, 21);
        double *block = exact_hvp(&f, V, nv, 0.0);
        for (size_t j = 0; j < nv; j++) {
            double *one = exact_hvp(&f, V + j * D, 1, 0.0), mx = 0.0;
            for (size_t i = 0; i < D; i++)
                mx = fmax(mx, fabs(one[i]));
            assert_true(mx > 1e-3);
            for (size_t i = 0; i < D; i++)
                if (!(fabs(block[j * D + i] - one[i]) <= 1e-5 * mx))
                    fail_msg("direction %zu entry %zu: block %.9g, single %.9g", j, i,
                             block[j * D + i], one[i]);
            free(one);
        }
        free(V), free(block);
        fixture_free(&f);
    }
}

/* v^T H w = w^T H v: the R-backward is the exact adjoint of the R-forward. */
static void test_hvp_symmetric(void **state)
{
    (void)state;
    const wg_net_opts opts[5] = {cnn_opts(12, 1, WG_ACT_TANH, 0),
                                 cnn_opts(12, 1, WG_ACT_RELU, 1), mlp_opts(WG_ACT_TANH),
                                 cnn_opts(16, 1, WG_ACT_TANH, 0), cnn_opts(16, 1, WG_ACT_RELU, 1)};
    for (int c = 0; c < 5; c++) {
        fixture f;
        fixture_init(&f, &opts[c], 4, 30 + (unsigned long)c);
        const size_t D = f.D;
        float *V = directions(2, D, 31);
        double *HV = exact_hvp(&f, V, 2, 0.0);
        double vHw = 0.0, wHv = 0.0, n0 = 0.0, n1 = 0.0, hn0 = 0.0, hn1 = 0.0;
        for (size_t i = 0; i < D; i++) {
            vHw += (double)V[i] * HV[D + i];
            wHv += (double)V[D + i] * HV[i];
            n0 += (double)V[i] * V[i], n1 += (double)V[D + i] * V[D + i];
            hn0 += HV[i] * HV[i], hn1 += HV[D + i] * HV[D + i];
        }
        /* float products: ~1e-6 of |v| |Hw| */
        double scale = fmax(sqrt(n0 * hn1), sqrt(n1 * hn0));
        if (!(fabs(vHw - wHv) <= 1e-5 * scale))
            fail_msg("case %d: v'Hw = %.9g, w'Hv = %.9g (scale %.3g)", c, vHw, wHv, scale);
        free(V), free(HV);
        fixture_free(&f);
    }
}

/* l2 adds 2 lambda v on weights, nothing on biases; scale multiplies, and products
 * accumulate into HV. */
static void test_hvp_l2_and_scale(void **state)
{
    (void)state;
    wg_net_opts o = cnn_opts(12, 1, WG_ACT_TANH, 0);
    fixture f;
    fixture_init(&f, &o, 3, 40);
    const size_t D = f.D;
    float *V = directions(2, D, 41);
    double *a = exact_hvp(&f, V, 2, 0.0), *b = exact_hvp(&f, V, 2, 0.25);
    for (int t = 0; t < f.net.ntensors; t++) {
        const wg_tensor_info *ti = &f.net.tensors[t];
        for (size_t j = 0; j < 2; j++)
            for (size_t i = ti->offset; i < ti->offset + ti->count; i++) {
                double want = a[j * D + i] + (ti->is_weight ? 0.5 * V[j * D + i] : 0.0);
                if (!(fabs(b[j * D + i] - want) <= 1e-12 * (1 + fabs(want))))
                    fail_msg("%s[%zu]: with l2 %.12g, want %.12g", ti->name, i - ti->offset,
                             b[j * D + i], want);
            }
    }
    /* accumulate: start from a, add -0.5 x the same product: a/2 */
    memcpy(f.net.input, f.x, (size_t)f.B * f.net.in_size * sizeof *f.x);
    double *c = malloc(2 * D * sizeof *c);
    memcpy(c, a, 2 * D * sizeof *c);
    assert_int_equal(wg_net_hvp(&f.net, f.theta, f.y, (size_t)f.B, V, 2, 0.0, -0.5, c), 0);
    for (size_t i = 0; i < 2 * D; i++)
        assert_true(fabs(c[i] - 0.5 * a[i]) <= 1e-12 * (1 + fabs(a[i])));
    free(V), free(a), free(b), free(c);
    fixture_free(&f);
}

/* A product leaves later training untouched: the gradient after it is bitwise the
 * gradient before. */
static void test_hvp_leaves_training_alone(void **state)
{
    (void)state;
    wg_net_opts o = cnn_opts(28, 1, WG_ACT_TANH, 0);
    o.dropout = 0.3f;
    fixture f;
    fixture_init(&f, &o, 20, 50);
    const size_t D = f.D;
    float *g0 = malloc(D * sizeof *g0), *g1 = malloc(D * sizeof *g1);
    for (int pass = 0; pass < 2; pass++) {
        memcpy(f.net.input, f.x, (size_t)f.B * f.net.in_size * sizeof *f.x);
        wg_net_forward(&f.net, f.theta, (size_t)f.B, 1, 5, 6);
        wg_net_loss(&f.net, f.y, (size_t)f.B, 1, NULL);
        wg_net_backward(&f.net, f.theta, pass ? g1 : g0);
        if (pass == 0) {
            float *V = directions(3, D, 51);
            free(exact_hvp(&f, V, 3, 0.0));
            free(V);
        }
    }
    assert_memory_equal(g0, g1, D * sizeof *g0);
    free(g0), free(g1);
    fixture_free(&f);
}

static void test_hvp_rejects_bad_calls(void **state)
{
    (void)state;
    wg_net_opts o = mlp_opts(WG_ACT_TANH);
    fixture f;
    fixture_init(&f, &o, 4, 60);
    float *V = directions(3, f.D, 61);
    double *HV = calloc(3 * f.D, sizeof *HV);
    wg_err_clear();
    assert_int_equal(wg_net_hvp(&f.net, f.theta, f.y, 4, V, 1, 0, 1, HV), WG_EARG);
    assert_non_null(strstr(wg_err_msg(), "reserve"));
    wg_err_clear();
    assert_int_equal(wg_net_hvp_reserve(&f.net, 0), WG_EARG);
    wg_err_clear();
    assert_int_equal(wg_net_hvp_reserve(&f.net, 2), 0);
    assert_int_equal(wg_net_hvp(&f.net, f.theta, f.y, 4, V, 3, 0, 1, HV), WG_EARG);
    wg_err_clear();
    assert_int_equal(wg_net_hvp(&f.net, f.theta, f.y, 5, V, 2, 0, 1, HV), WG_EARG);
    wg_err_clear();
    int bad[4] = {0, 1, 10, 2};
    assert_int_equal(wg_net_hvp(&f.net, f.theta, bad, 4, V, 2, 0, 1, HV), WG_EARG);
    assert_non_null(strstr(wg_err_msg(), "label 10"));
    wg_err_clear();
    for (size_t i = 0; i < 3 * f.D; i++)
        assert_true(HV[i] == 0.0); /* untouched on error */
    /* a smaller reservation keeps the larger one */
    assert_int_equal(wg_net_hvp_reserve(&f.net, 1), 0);
    assert_int_equal(wg_net_hvp(&f.net, f.theta, f.y, 4, V, 2, 0, 1, HV), 0);
    free(V), free(HV);
    fixture_free(&f);
}

/* The network objective's hvp: the mean over 7 images in batches of 3, 3 and 1
 * weighted by size equals one product over all 7. */
static void test_hvp_objective_batch_weighted(void **state)
{
    (void)state;
    wg_dataset ds;
    assert_int_equal(wg_data_synthetic(&ds, 7, 12, 12, 1, 5, 0), 0);
    wg_net_opts o = cnn_opts(12, 1, WG_ACT_TANH, 0);
    wg_objective f;
    assert_int_equal(wg_objective_net(&f, &o, &ds, 3), 0);
    assert_non_null(f.hvp);
    wg_net whole;
    assert_int_equal(wg_net_init(&whole, &o, 7), 0);
    const size_t D = f.dim;
    float *theta = malloc(D * sizeof *theta), *V = directions(2, D, 71);
    wg_net_init_params(&whole, theta, 70, 0);
    double *h1 = malloc(2 * D * sizeof *h1), *h2 = calloc(2 * D, sizeof *h2);
    assert_int_equal(f.hvp(f.ctx, theta, V, 2, h1), 0);
    int y[7];
    wg_data_batch(&ds, NULL, 0, 7, whole.input, y);
    assert_int_equal(wg_net_hvp_reserve(&whole, 2), 0);
    assert_int_equal(wg_net_hvp(&whole, theta, y, 7, V, 2, 0.0, 1.0, h2), 0);
    double mx = 0.0;
    for (size_t i = 0; i < 2 * D; i++)
        mx = fmax(mx, fabs(h2[i]));
    assert_true(mx > 1e-3);
    for (size_t i = 0; i < 2 * D; i++)
        if (!(fabs(h1[i] - h2[i]) <= 1e-5 * mx))
            fail_msg("HV[%zu]: objective %.9g, one batch %.9g", i, h1[i], h2[i]);
    /* a non-finite point is divergence, not a number */
    theta[0] = NAN;
    wg_err_clear();
    assert_int_equal(f.hvp(f.ctx, theta, V, 2, h1), WG_EDIVERGED);
    wg_err_clear();
    free(theta), free(V), free(h1), free(h2);
    wg_net_free(&whole);
    wg_objective_free(&f);
    wg_dataset_free(&ds);
}

/* The exact product against wg_hvp's central difference of float gradients, whose
 * error is dominated by the gradients' rounding, ~eps |g| / h: it halves when the
 * step doubles.  So (1) the exact product lies within the difference's own noise,
 * estimated by |fd(h) - fd(2h)|, and (2) the difference at 2h is closer to it than
 * at h: the differences converge to the exact product, not to something near it.
 * (Measured on these cases: |fd(h) - exact| / |exact| = 1.5e-2 and 4.8e-3 at
 * Lanczos's step h = 1e-3 |X| / sqrt(D), with |fd(h) - fd(2h)| as large.) */
static void test_hvp_matches_finite_difference_hvp(void **state)
{
    (void)state;
    wg_dataset ds;
    assert_int_equal(wg_data_synthetic(&ds, 60, 12, 12, 1, 10, 3), 0);
    const wg_net_opts opts[2] = {cnn_opts(12, 1, WG_ACT_TANH, 0), mlp_opts(WG_ACT_TANH)};
    for (int c = 0; c < 2; c++) {
        wg_net_opts o = opts[c];
        o.in_h = o.in_w = 12;
        wg_objective f;
        assert_int_equal(wg_objective_net(&f, &o, &ds, 25), 0);
        wg_net tmp;
        assert_int_equal(wg_net_init(&tmp, &o, 1), 0);
        const size_t D = f.dim;
        float *theta = malloc(D * sizeof *theta), *v = malloc(D * sizeof *v);
        wg_net_init_params(&tmp, theta, 80, 0);
        wg_net_free(&tmp);
        /* a unit direction, as Lanczos uses */
        ref_fill(v, D, -1, 1, 81);
        double s = 0.0, xn = 0.0;
        for (size_t i = 0; i < D; i++)
            s += (double)v[i] * v[i], xn += (double)theta[i] * theta[i];
        for (size_t i = 0; i < D; i++)
            v[i] = (float)(v[i] / sqrt(s));
        const double h = 1e-3 * sqrt(xn / (double)D);
        double *exact = malloc(D * sizeof *exact), *fd = malloc(D * sizeof *fd);
        double *fd2 = malloc(D * sizeof *fd2);
        assert_int_equal(f.hvp(f.ctx, theta, v, 1, exact), 0);
        assert_int_equal(wg_hvp(&f, theta, v, h, fd), 0);
        assert_int_equal(wg_hvp(&f, theta, v, 2 * h, fd2), 0);
        double e1 = 0.0, e2 = 0.0, noise = 0.0, nrm = 0.0;
        for (size_t i = 0; i < D; i++) {
            e1 += (fd[i] - exact[i]) * (fd[i] - exact[i]);
            e2 += (fd2[i] - exact[i]) * (fd2[i] - exact[i]);
            noise += (fd[i] - fd2[i]) * (fd[i] - fd2[i]);
            nrm += exact[i] * exact[i];
        }
        e1 = sqrt(e1 / nrm), e2 = sqrt(e2 / nrm), noise = sqrt(noise / nrm);
        print_message("case %d: |fd(h) - exact| = %.3g, |fd(2h) - exact| = %.3g, "
                      "|fd(h) - fd(2h)| = %.3g (relative to |exact|)\n", c, e1, e2, noise);
        assert_true(nrm > 1e-6);
        if (!(e1 <= 1.5 * noise && e2 < e1))
            fail_msg("case %d: the differences do not converge to the exact product", c);
        free(theta), free(v), free(exact), free(fd), free(fd2);
        wg_objective_free(&f);
    }
    wg_dataset_free(&ds);
}

/* The toy's exact product against central differences of its gradient P_S / L in
 * double (h = 1e-7 |P|: the selection does not change within the step; the check
 * asserts it). */
static void test_hvp_toy_matches_central_difference(void **state)
{
    (void)state;
    const size_t D = 40, n = 7;
    wg_objective f;
    assert_int_equal(wg_objective_toy(&f, D, n), 0);
    assert_non_null(f.hvp);
    float P[40], V[3 * 40];
    ref_fill(P, D, -1, 1, 90);
    ref_fill(V, 3 * D, -1, 1, 91);
    double HV[3 * 40], Pd[40], work[40], g[2][40];
    unsigned char sel0[40], sel[40];
    assert_int_equal(f.hvp(f.ctx, P, V, 3, HV), 0);
    for (size_t i = 0; i < D; i++)
        Pd[i] = P[i];
    wg_toy_loss_double(Pd, D, n, sel0, work);
    const double h = 1e-7;
    for (size_t j = 0; j < 3; j++) {
        for (int s = 0; s < 2; s++) {
            double sign = s ? -1.0 : 1.0;
            for (size_t i = 0; i < D; i++)
                Pd[i] = (double)P[i] + sign * h * V[j * D + i];
            double L = wg_toy_loss_double(Pd, D, n, sel, work);
            assert_memory_equal(sel, sel0, D);
            for (size_t i = 0; i < D; i++)
                g[s][i] = sel[i] ? Pd[i] / L : 0.0;
        }
        for (size_t i = 0; i < D; i++) {
            double want = (g[0][i] - g[1][i]) / (2 * h);
            /* rounding ~1e-16 / h ~ 1e-9; truncation ~h^2 */
            if (!(fabs(HV[j * D + i] - want) <= 1e-6 * (1 + fabs(want))))
                fail_msg("toy HV[%zu][%zu] = %.12g, central difference %.12g", j, i,
                         HV[j * D + i], want);
            if (!sel0[i])
                assert_true(HV[j * D + i] == 0.0); /* long directions are flat */
        }
    }
    /* on a wedge (at most n non-zero coordinates) L = 0: no Hessian, an error */
    float W[40] = {0};
    for (size_t i = 0; i < n; i++)
        W[i * 3] = 1.0f + (float)i;
    wg_err_clear();
    assert_int_equal(f.hvp(f.ctx, W, V, 1, HV), WG_EDIVERGED);
    assert_non_null(strstr(wg_err_msg(), "L = 0"));
    wg_err_clear();
    wg_objective_free(&f);
}

static int report_worst(void **state)
{
    (void)state;
    print_message("worst |exact - central difference| / tolerance: %.3g\n", worst_seen);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hvp_mlp_tanh),
        cmocka_unit_test(test_hvp_mlp_relu),
        cmocka_unit_test(test_hvp_simplecnn_im2col),
        cmocka_unit_test(test_hvp_simplecnn_winograd),
        cmocka_unit_test(test_hvp_ignores_dropout),
        cmocka_unit_test(test_hvp_accumulates_over_chunks),
        cmocka_unit_test(test_hvp_block_equals_singles),
        cmocka_unit_test(test_hvp_symmetric),
        cmocka_unit_test(test_hvp_l2_and_scale),
        cmocka_unit_test(test_hvp_leaves_training_alone),
        cmocka_unit_test(test_hvp_rejects_bad_calls),
        cmocka_unit_test(test_hvp_objective_batch_weighted),
        cmocka_unit_test(test_hvp_matches_finite_difference_hvp),
        cmocka_unit_test(test_hvp_toy_matches_central_difference),
    };
    return cmocka_run_group_tests(tests, NULL, report_worst);
}
