/* test_layers.c: every layer kernel against naive double-precision loops, and its
 * backward against central differences of the double reference.
 *
 * Tolerances: kernels compute in float (24-bit mantissa) and sum up to 9*C*K terms
 * of size <= 1, so forward results must match the double reference to 1e-5 times
 * the number of summed terms.  Central differences in double with h = 1e-5 have
 * truncation error ~h^2 and rounding error ~1e-11, far below the float gradients'
 * own error; gradients must agree to 1e-3 relative plus 1e-4 of the largest entry
 * (float backprop loses ~1e-6; the margin absorbs summation order). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "refnet.h"
#include "wedge/layers.h"
#include "wedge/rng.h"
#include "wedge/winograd.h"

static double *to_double(const float *x, size_t n)
{
    double *d = malloc(n * sizeof *d);
    for (size_t i = 0; i < n; i++)
        d[i] = x[i];
    return d;
}

static void assert_grad_close(const char *what, const float *got, const double *want,
                              size_t n)
{
    double mx = 0.0;
    for (size_t i = 0; i < n; i++)
        mx = fmax(mx, fabs(want[i]));
    for (size_t i = 0; i < n; i++) {
        double tol = 1e-3 * fabs(want[i]) + 1e-4 * mx + 1e-9;
        if (fabs(got[i] - want[i]) > tol)
            fail_msg("%s[%zu]: analytic %.8g vs numeric %.8g (tol %.3g)", what, i,
                     (double)got[i], want[i], tol);
    }
}

/* ---- forward vs reference on random shapes ------------------------------------ */

static void test_layers_conv_matches_reference(void **state)
{
    (void)state;
    wg_rng r;
    wg_rng_init(&r, 11, wg_rng_stream(WG_RNG_TEST, 1, 0, 0));
    for (int trial = 0; trial < 40; trial++) {
        int B = 1 + (int)wg_rng_below(&r, 3), H = 1 + (int)wg_rng_below(&r, 9);
        int W = 1 + (int)wg_rng_below(&r, 9), C = 1 + (int)wg_rng_below(&r, 6);
        int K = 1 + (int)wg_rng_below(&r, 9);
        size_t nin = (size_t)B * H * W * C, nw = (size_t)9 * C * K, nout = (size_t)B * H * W * K;
        float *in = malloc(nin * 4), *w = malloc(nw * 4), *b = malloc(K * 4);
        float *out = malloc(nout * 4), *col = malloc((size_t)B * H * W * 9 * C * 4);
        ref_fill(in, nin, -1, 1, 100 + trial);
        ref_fill(w, nw, -1, 1, 200 + trial);
        ref_fill(b, K, -1, 1, 300 + trial);
        wg_conv3_forward(out, col, in, w, b, B, H, W, C, K);
        double *din = to_double(in, nin), *dw = to_double(w, nw), *db = to_double(b, K);
        double *ref = malloc(nout * sizeof *ref);
        ref_conv3(ref, din, dw, db, B, H, W, C, K);
        for (size_t i = 0; i < nout; i++)
            if (fabs(out[i] - ref[i]) > 1e-5 * (1 + 9 * C))
                fail_msg("conv B%d H%d W%d C%d K%d: out[%zu] = %g, reference %g", B, H, W, C,
                         K, i, (double)out[i], ref[i]);
        free(in), free(w), free(b), free(out), free(col), free(din), free(dw), free(db),
            free(ref);
    }
}

/* Winograd F(2x2,3x3) against the double reference, forward, input gradient and
 * filter/bias gradients, on
 * random shapes that cover odd sizes (a last tile half outside the image), channel
 * counts below, at and past the 8-wide vector body, and blocks of 1..B images.
 * Tolerance: the input transform sums 4 inputs (|V| <= 4 max|in|), the filter
 * transform at most 2.25 max|w|, and the output transform sums 9 products, so the
 * float rounding can grow by a small factor over im2col's; we keep im2col's bound
 * 1e-5 * (1 + 9C) (measured worst: under 1e-7), far below any real error (a wrong
 * tap or sign moves outputs by ~0.1-1). */
static void test_layers_wino_matches_reference(void **state)
{
    (void)state;
    wg_rng r;
    wg_rng_init(&r, 12, wg_rng_stream(WG_RNG_TEST, 2, 0, 0));
    double worst = 0.0;
    for (int trial = 0; trial < 60; trial++) {
        int B = 1 + (int)wg_rng_below(&r, 3), H = 1 + (int)wg_rng_below(&r, 9);
        int W = 1 + (int)wg_rng_below(&r, 9), C = 1 + (int)wg_rng_below(&r, 20);
        int K = 1 + (int)wg_rng_below(&r, 20), nb = 1 + (int)wg_rng_below(&r, (uint32_t)B);
        size_t nin = (size_t)B * H * W * C, nw = (size_t)9 * C * K, nout = (size_t)B * H * W * K;
        size_t ns = wg_wino_scratch(nb, H, W, C, K);
        float *in = malloc(nin * 4), *w = malloc(nw * 4), *b = malloc(K * 4);
        float *out = malloc(nout * 4), *U = malloc(16 * (size_t)C * K * 4);
        float *scratch = malloc(ns * 4), *R = malloc(nout * 4), *din = malloc(nin * 4);
        ref_fill(in, nin, -1, 1, 400 + trial);
        ref_fill(w, nw, -1, 1, 500 + trial);
        ref_fill(b, K, -1, 1, 600 + trial);
        ref_fill(R, nout, -1, 1, 700 + trial);
        wg_wino_weights(U, w, C, K, 0);
        wg_wino_conv(out, scratch, nb, in, U, b, B, H, W, C, K);
        double *dinp = to_double(in, nin), *dw = to_double(w, nw), *db = to_double(b, K);
        double *ref = malloc(nout * sizeof *ref);
        ref_conv3(ref, dinp, dw, db, B, H, W, C, K);
        for (size_t i = 0; i < nout; i++) {
            double e = fabs(out[i] - ref[i]) / (1 + 9 * C);
            worst = fmax(worst, e);
            if (e > 1e-5)
                fail_msg("wino B%d H%d W%d C%d K%d nb%d: out[%zu] = %g, reference %g", B, H,
                         W, C, K, nb, i, (double)out[i], ref[i]);
        }
        /* input gradient of sum(out * R): din[b,y,x,c] = sum R[b,y-ky+1,x-kx+1,k] w */
        wg_wino_weights(U, w, C, K, 1);
        wg_wino_conv(din, scratch, nb, R, U, NULL, B, H, W, K, C);
        for (int bb = 0; bb < B; bb++)
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++)
                    for (int c = 0; c < C; c++) {
                        double want = 0.0;
                        for (int ky = 0; ky < 3; ky++)
                            for (int kx = 0; kx < 3; kx++) {
                                int oy = y - ky + 1, ox = x - kx + 1;
                                if (oy < 0 || oy >= H || ox < 0 || ox >= W)
                                    continue;
                                for (int k = 0; k < K; k++)
                                    want += (double)R[(((size_t)bb * H + oy) * W + ox) * K + k] *
                                            w[((size_t)(ky * 3 + kx) * C + c) * K + k];
                            }
                        size_t i = (((size_t)bb * H + y) * W + x) * C + c;
                        double e = fabs(din[i] - want) / (1 + 9 * K);
                        worst = fmax(worst, e);
                        if (e > 1e-5)
                            fail_msg("wino din B%d H%d W%d C%d K%d: din[%zu] = %g, want %g", B,
                                     H, W, C, K, i, (double)din[i], want);
                    }
        /* filter and bias gradients of sum(out * R), overwriting NaN (beta 0), then
         * accumulated once more (beta 1): twice the reference.  Each dw entry sums
         * B*H*W products of size <= 1: the bound scales with that count. */
        float *gw = malloc(nw * 4), *gb = malloc(K * 4);
        for (size_t i = 0; i < nw; i++)
            gw[i] = NAN;
        for (int k = 0; k < K; k++)
            gb[k] = NAN;
        for (int pass = 1; pass <= 2; pass++) {
            wg_wino_backward_params(gw, gb, scratch, nb, in, R, pass == 1 ? 0.0f : 1.0f, B, H,
                                    W, C, K);
            for (int q = 0; q < 9; q++)
                for (int c = 0; c < C; c++)
                    for (int k = 0; k < K; k++) {
                        double want = 0.0;
                        for (int bb = 0; bb < B; bb++)
                            for (int y = 0; y < H; y++)
                                for (int x = 0; x < W; x++) {
                                    int iy = y + q / 3 - 1, ix = x + q % 3 - 1;
                                    if (iy < 0 || iy >= H || ix < 0 || ix >= W)
                                        continue;
                                    want += (double)in[(((size_t)bb * H + iy) * W + ix) * C + c] *
                                            R[(((size_t)bb * H + y) * W + x) * K + k];
                                }
                        size_t i = ((size_t)q * C + c) * K + k;
                        double e = fabs(gw[i] - pass * want) / (1 + B * H * W);
                        worst = fmax(worst, e);
                        if (!(e <= 1e-5))
                            fail_msg("wino dw B%d H%d W%d C%d K%d pass %d: dw[%zu] = %g, want %g",
                                     B, H, W, C, K, pass, i, (double)gw[i], pass * want);
                    }
            for (int k = 0; k < K; k++) {
                double want = 0.0;
                for (size_t j = 0; j < (size_t)B * H * W; j++)
                    want += R[j * K + k];
                if (!(fabs(gb[k] - pass * want) <= 1e-5 * (1 + B * H * W)))
                    fail_msg("wino db[%d] = %g, want %g", k, (double)gb[k], pass * want);
            }
        }
        free(gw), free(gb);
        free(in), free(w), free(b), free(out), free(U), free(scratch), free(R), free(din);
        free(dinp), free(dw), free(db), free(ref);
    }
    print_message("wino: worst error / (1 + summed terms) = %.3g (bound 1e-5)\n", worst);
}

static void test_layers_dense_matches_reference(void **state)
{
    (void)state;
    wg_rng r;
    wg_rng_init(&r, 12, wg_rng_stream(WG_RNG_TEST, 2, 0, 0));
    for (int trial = 0; trial < 40; trial++) {
        int B = 1 + (int)wg_rng_below(&r, 7), C = 1 + (int)wg_rng_below(&r, 40);
        int K = 1 + (int)wg_rng_below(&r, 20);
        float *in = malloc((size_t)B * C * 4), *w = malloc((size_t)C * K * 4);
        float *b = malloc(K * 4), *out = malloc((size_t)B * K * 4);
        ref_fill(in, (size_t)B * C, -1, 1, 400 + trial);
        ref_fill(w, (size_t)C * K, -1, 1, 500 + trial);
        ref_fill(b, K, -1, 1, 600 + trial);
        wg_dense_forward(out, in, w, b, B, C, K);
        double *din = to_double(in, (size_t)B * C), *dw = to_double(w, (size_t)C * K);
        double *db = to_double(b, K), *ref = malloc((size_t)B * K * sizeof *ref);
        ref_dense(ref, din, dw, db, B, C, K);
        for (int i = 0; i < B * K; i++)
            if (fabs(out[i] - ref[i]) > 1e-5 * (1 + C))
                fail_msg("dense B%d C%d K%d: out[%d] = %g, reference %g", B, C, K, i,
                         (double)out[i], ref[i]);
        free(in), free(w), free(b), free(out), free(din), free(dw), free(db), free(ref);
    }
}

static void test_layers_maxpool_matches_reference(void **state)
{
    (void)state;
    wg_rng r;
    wg_rng_init(&r, 13, wg_rng_stream(WG_RNG_TEST, 3, 0, 0));
    for (int trial = 0; trial < 40; trial++) {
        /* odd sizes included: floor drops the last row/column */
        int B = 1 + (int)wg_rng_below(&r, 3), H = 2 + (int)wg_rng_below(&r, 9);
        int W = 2 + (int)wg_rng_below(&r, 9), C = 1 + (int)wg_rng_below(&r, 20);
        size_t nin = (size_t)B * H * W * C, nout = (size_t)B * (H / 2) * (W / 2) * C;
        float *in = malloc(nin * 4), *out = malloc(nout * 4);
        ref_fill(in, nin, -1, 1, 700 + trial);
        wg_maxpool_forward(out, in, B, H, W, C);
        double *din = to_double(in, nin), *ref = malloc(nout * sizeof *ref);
        ref_maxpool(ref, din, B, H, W, C);
        for (size_t i = 0; i < nout; i++)
            assert_true(out[i] == (float)ref[i]); /* max is exact */
        free(in), free(out), free(din), free(ref);
    }
}

static void test_layers_tanh_accuracy(void **state)
{
    (void)state;
    /* The rational approximation must stay within 5e-7 absolute of tanh over the whole
     * line: 8 float ulps near +-1, where float spacing is 6e-8 (measured worst: 3.7e-7
     * near |x| = 5.8), and 3e-7 relative near zero (measured worst: 1.5e-7). */
    enum { N = 400001 };
    float *x = malloc(N * 4), *y = malloc(N * 4);
    for (int i = 0; i < N; i++)
        x[i] = -20.0f + 40.0f * (float)i / (N - 1);
    wg_tanh_forward(y, x, N);
    double worst = 0.0;
    for (int i = 0; i < N; i++)
        worst = fmax(worst, fabs(y[i] - tanh((double)x[i])));
    assert_true(worst < 5e-7);
    /* near zero: relative accuracy, and odd symmetry */
    float small[9] = {1e-30f, -1e-30f, 1e-8f, -1e-6f, 1e-4f, 3e-4f, 5e-4f, -0.01f, 0.1f};
    float ys[9];
    wg_tanh_forward(ys, small, 9);
    for (int i = 0; i < 9; i++)
        assert_true(fabs(ys[i] - tanh((double)small[i])) <= 3e-7 * fabs(tanh((double)small[i])));
    /* the vector body and the scalar tail agree: compare odd offsets */
    float y2[13];
    wg_tanh_forward(y2, x + 1000, 13);
    for (int i = 0; i < 13; i++)
        assert_true(y2[i] == y[1000 + i]);
    float sp[5] = {INFINITY, -INFINITY, 0.0f, -0.0f, NAN}, ysp[5];
    wg_tanh_forward(ysp, sp, 5);
    assert_true(ysp[0] == 1.0f && ysp[1] == -1.0f && ysp[2] == 0.0f);
    assert_true(signbit(ysp[3]) && ysp[3] == 0.0f);
    assert_true(isnan(ysp[4]));
    free(x), free(y);
}

/* ---- backward vs central differences ----------------------------------------- */

typedef double (*scalar_fn)(void *ctx);

/* d f / d p[i] by central differences of f, perturbing the double p in place. */
static void numeric_grad(double *g, double *p, size_t n, scalar_fn f, void *ctx)
{
    const double h = 1e-5;
    for (size_t i = 0; i < n; i++) {
        double keep = p[i];
        p[i] = keep + h;
        double up = f(ctx);
        p[i] = keep - h;
        double down = f(ctx);
        p[i] = keep;
        g[i] = (up - down) / (2 * h);
    }
}

typedef struct conv_case {
    int B, H, W, C, K;
    double *in, *w, *b, *R, *out;
    int dense;
} conv_case;

/* sum(out * R): its gradient wrt out is R, so dout = R in the analytic backward */
static double conv_obj(void *ctx)
{
    conv_case *c = ctx;
    size_t nout;
    if (c->dense) {
        ref_dense(c->out, c->in, c->w, c->b, c->B, c->C, c->K);
        nout = (size_t)c->B * c->K;
    } else {
        ref_conv3(c->out, c->in, c->w, c->b, c->B, c->H, c->W, c->C, c->K);
        nout = (size_t)c->B * c->H * c->W * c->K;
    }
    double s = 0.0;
    for (size_t i = 0; i < nout; i++)
        s += c->out[i] * c->R[i];
    return s;
}

static void check_linear_layer(int dense, int B, int H, int W, int C, int K)
{
    size_t nin = dense ? (size_t)B * C : (size_t)B * H * W * C;
    size_t nw = dense ? (size_t)C * K : (size_t)9 * C * K;
    size_t nout = dense ? (size_t)B * K : (size_t)B * H * W * K;
    float *in = malloc(nin * 4), *w = malloc(nw * 4), *b = malloc(K * 4), *R = malloc(nout * 4);
    float *out = malloc(nout * 4), *col = malloc((size_t)B * H * W * 9 * C * 4 + 4);
    float *din = malloc(nin * 4), *dw = malloc(nw * 4), *db = malloc(K * 4);
    ref_fill(in, nin, -1, 1, 1);
    ref_fill(w, nw, -0.5f, 0.5f, 2);
    ref_fill(b, K, -0.5f, 0.5f, 3);
    ref_fill(R, nout, -1, 1, 4);
    if (dense) {
        wg_dense_forward(out, in, w, b, B, C, K);
        wg_dense_backward(din, dw, db, R, in, w, 0.0f, B, C, K);
    } else {
        wg_conv3_forward(out, col, in, w, b, B, H, W, C, K);
        wg_conv3_backward(din, dw, db, col, R, w, 0.0f, B, H, W, C, K);
    }
    conv_case c = {B, H, W, C, K, to_double(in, nin), to_double(w, nw), to_double(b, K),
                   to_double(R, nout), malloc(nout * sizeof(double)), dense};
    double *g = malloc((nin > nw ? nin : nw) * sizeof *g);
    numeric_grad(g, c.in, nin, conv_obj, &c);
    assert_grad_close(dense ? "dense din" : "conv din", din, g, nin);
    numeric_grad(g, c.w, nw, conv_obj, &c);
    assert_grad_close(dense ? "dense dw" : "conv dw", dw, g, nw);
    numeric_grad(g, c.b, K, conv_obj, &c);
    assert_grad_close(dense ? "dense db" : "conv db", db, g, K);
    /* a NULL din (first layer) must leave the parameter gradients unchanged */
    if (!dense) {
        float *dw2 = malloc(nw * 4), *db2 = malloc(K * 4);
        wg_conv3_forward(out, col, in, w, b, B, H, W, C, K);
        wg_conv3_backward(NULL, dw2, db2, col, R, w, 0.0f, B, H, W, C, K);
        assert_memory_equal(dw, dw2, nw * 4);
        assert_memory_equal(db, db2, K * 4);
        free(dw2), free(db2);
    }
    free(in), free(w), free(b), free(R), free(out), free(col), free(din), free(dw), free(db);
    free(c.in), free(c.w), free(c.b), free(c.R), free(c.out), free(g);
}

static void test_layers_conv_gradient(void **state)
{
    (void)state;
    check_linear_layer(0, 2, 5, 4, 3, 4);
    check_linear_layer(0, 1, 1, 3, 2, 2); /* 1-pixel-high image: padding everywhere */
    check_linear_layer(0, 2, 4, 4, 1, 3); /* C = 1 path of im2col */
}

static void test_layers_dense_gradient(void **state)
{
    (void)state;
    check_linear_layer(1, 3, 1, 1, 7, 5);
    check_linear_layer(1, 1, 1, 1, 1, 1);
}

typedef struct pool_case {
    int B, H, W, C;
    double *in, *R, *out;
} pool_case;

static double pool_obj(void *ctx)
{
    pool_case *c = ctx;
    ref_maxpool(c->out, c->in, c->B, c->H, c->W, c->C);
    double s = 0.0;
    for (size_t i = 0; i < (size_t)c->B * (c->H / 2) * (c->W / 2) * c->C; i++)
        s += c->out[i] * c->R[i];
    return s;
}

static void test_layers_maxpool_gradient(void **state)
{
    (void)state;
    const int shapes[3][4] = {{2, 4, 6, 3}, {1, 5, 7, 9}, {2, 6, 4, 16}}; /* odd; vector path */
    for (int s = 0; s < 3; s++) {
        int B = shapes[s][0], H = shapes[s][1], W = shapes[s][2], C = shapes[s][3];
        size_t nin = (size_t)B * H * W * C, nout = (size_t)B * (H / 2) * (W / 2) * C;
        float *in = malloc(nin * 4), *out = malloc(nout * 4), *R = malloc(nout * 4);
        float *din = malloc(nin * 4);
        ref_fill(in, nin, -1, 1, 10 + s); /* distinct values: no ties, differentiable */
        ref_fill(R, nout, -1, 1, 20 + s);
        for (size_t i = 0; i < nin; i++)
            din[i] = NAN; /* every entry must be written, including uncovered ones */
        wg_maxpool_forward(out, in, B, H, W, C);
        wg_maxpool_backward(din, R, out, in, B, H, W, C);
        pool_case c = {B, H, W, C, to_double(in, nin), to_double(R, nout),
                       malloc(nout * sizeof(double))};
        double *g = malloc(nin * sizeof *g);
        numeric_grad(g, c.in, nin, pool_obj, &c);
        assert_grad_close("maxpool din", din, g, nin);
        free(in), free(out), free(R), free(din), free(c.in), free(c.R), free(c.out), free(g);
    }
}

static void test_layers_maxpool_ties_go_to_first(void **state)
{
    (void)state;
    /* tanh saturates to exactly +-1, so ties happen: one input gets the gradient */
    float in[4] = {1.0f, 1.0f, 1.0f, 1.0f}, out[1], din[4], g[1] = {2.5f};
    wg_maxpool_forward(out, in, 1, 2, 2, 1);
    wg_maxpool_backward(din, g, out, in, 1, 2, 2, 1);
    assert_true(din[0] == 2.5f && din[1] == 0.0f && din[2] == 0.0f && din[3] == 0.0f);
    float in2[4] = {0.0f, 1.0f, 0.5f, 1.0f};
    wg_maxpool_forward(out, in2, 1, 2, 2, 1);
    wg_maxpool_backward(din, g, out, in2, 1, 2, 2, 1);
    assert_true(din[0] == 0.0f && din[1] == 2.5f && din[2] == 0.0f && din[3] == 0.0f);
}

/* ---- R-operator kernels ------------------------------------------------------------ */

/* Direction j of a grouped array (P, G, C) as doubles (P, C). */
static double *group_slice(const float *x, size_t P, int G, int C, int j)
{
    double *d = malloc(P * C * sizeof *d);
    for (size_t p = 0; p < P; p++)
        for (int c = 0; c < C; c++)
            d[p * C + c] = x[(p * G + j) * C + c];
    return d;
}

/* The input gradient of a 3x3 'same' convolution: din = sum R[y-ky+1, x-kx+1] w. */
static void ref_conv_din(double *din, const double *R, const double *w, int B, int H, int W,
                         int C, int K)
{
    for (int b = 0; b < B; b++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
                for (int c = 0; c < C; c++) {
                    double s = 0.0;
                    for (int q = 0; q < 9; q++) {
                        int oy = y - q / 3 + 1, ox = x - q % 3 + 1;
                        if (oy < 0 || oy >= H || ox < 0 || ox >= W)
                            continue;
                        for (int k = 0; k < K; k++)
                            s += R[(((size_t)b * H + oy) * W + ox) * K + k] *
                                 w[((size_t)q * C + c) * K + k];
                    }
                    din[(((size_t)b * H + y) * W + x) * C + c] = s;
                }
}

/* The filter gradient: dw[q,c,k] = sum in[y+ky-1, x+kx-1, c] R[y, x, k] (added). */
static void ref_conv_dw_add(double *dw, const double *in, const double *R, int B, int H,
                            int W, int C, int K)
{
    for (int b = 0; b < B; b++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
                for (int q = 0; q < 9; q++) {
                    int iy = y + q / 3 - 1, ix = x + q % 3 - 1;
                    if (iy < 0 || iy >= H || ix < 0 || ix >= W)
                        continue;
                    for (int c = 0; c < C; c++)
                        for (int k = 0; k < K; k++)
                            dw[((size_t)q * C + c) * K + k] +=
                                in[(((size_t)b * H + iy) * W + ix) * C + c] *
                                R[(((size_t)b * H + y) * W + x) * K + k];
                }
}

static void assert_close_scaled(const char *what, const float *got, const double *want,
                                size_t n, double terms, double *worst)
{
    for (size_t i = 0; i < n; i++) {
        double e = fabs(got[i] - want[i]) / (1 + terms);
        *worst = fmax(*worst, e);
        if (!(e <= 1e-5))
            fail_msg("%s[%zu] = %.8g, reference %.8g", what, i, (double)got[i], want[i]);
    }
}

/* The grouped R-kernels of both convolution paths against double loops: for every
 * direction j, R out = conv(Rin_j, w) + conv(in, v_j) + vb_j, d(dw)_j = dw(Rin_j, dout)
 * + dw(in, Rdout_j), R din = din(Rdout_j, w) + din(dout, v_j).  Random shapes, G,
 * Winograd blocks, and a zero Rin (a first layer) in every fourth trial; bounds as for
 * the forward kernels: 1e-5 times the number of summed terms. */
static void test_layers_r_conv_matches_reference(void **state)
{
    (void)state;
    wg_rng r;
    wg_rng_init(&r, 13, wg_rng_stream(WG_RNG_TEST, 3, 0, 0));
    double worst = 0.0;
    for (int trial = 0; trial < 40; trial++) {
        int B = 1 + (int)wg_rng_below(&r, 3), H = 1 + (int)wg_rng_below(&r, 7);
        int W = 1 + (int)wg_rng_below(&r, 7), C = 1 + (int)wg_rng_below(&r, 18);
        int K = 1 + (int)wg_rng_below(&r, 18), G = 1 + (int)wg_rng_below(&r, 4);
        int nb = 1 + (int)wg_rng_below(&r, (uint32_t)B), zero_rin = trial % 4 == 0;
        const size_t P = (size_t)B * H * W, nw = (size_t)9 * C * K;
        float *in = malloc(P * C * 4), *Rin = malloc(P * G * C * 4), *w = malloc(nw * 4);
        float *V = malloc(G * nw * 4), *vb = malloc((size_t)G * K * 4);
        float *dout = malloc(P * K * 4), *Rdout = malloc(P * G * K * 4);
        ref_fill(in, P * C, -1, 1, 800 + trial);
        ref_fill(Rin, P * G * C, -1, 1, 900 + trial);
        if (zero_rin)
            memset(Rin, 0, P * G * C * 4);
        ref_fill(w, nw, -1, 1, 1000 + trial);
        ref_fill(V, G * nw, -1, 1, 1100 + trial);
        ref_fill(vb, (size_t)G * K, -1, 1, 1200 + trial);
        ref_fill(dout, P * K, -1, 1, 1300 + trial);
        ref_fill(Rdout, P * G * K, -1, 1, 1400 + trial);
        /* VN (9C, G, K) from V (G, 9C, K) */
        float *VN = malloc(G * nw * 4);
        for (int j = 0; j < G; j++)
            for (size_t q = 0; q < 9 * (size_t)C; q++)
                memcpy(VN + (q * G + j) * K, V + j * nw + q * K, (size_t)K * 4);

        /* im2col path */
        float *out = malloc(P * K * 4), *col = malloc(P * 9 * C * 4), *Rcol = malloc(P * G * 9 * C * 4);
        float *zb = calloc((size_t)K, 4);
        float *Rout = malloc(P * G * K * 4), *Rdin = malloc(P * G * C * 4);
        float *dWm = malloc(G * nw * 4), *dWn = malloc(G * nw * 4);
        wg_conv3_forward(out, col, in, w, zb, B, H, W, C, K);
        wg_conv3_rforward(Rout, Rcol, zero_rin ? NULL : Rin, col, w, VN, vb, B, H, W, C, K, G);
        wg_conv3_rbackward(zero_rin ? NULL : Rdin, dWm, dWn, zero_rin ? NULL : Rcol, col, dout,
                           Rdout, w, V, 0.0f, B, H, W, C, K, G);
        /* Winograd path */
        float *U = malloc(16 * (size_t)C * K * 4), *Ut = malloc(16 * (size_t)C * K * 4);
        float *UG = malloc(16 * G * (size_t)C * K * 4), *UGt = malloc(16 * G * (size_t)C * K * 4);
        float *scratch = malloc(wg_wino_rscratch(nb, H, W, C, K, G) * 4);
        float *Rout2 = malloc(P * G * K * 4), *Rdin2 = malloc(P * G * C * 4);
        float *dW2 = malloc(G * nw * 4);
        wg_wino_weights(U, w, C, K, 0);
        wg_wino_weights(Ut, w, C, K, 1);
        for (int j = 0; j < G; j++) {
            wg_wino_weights_group(UG, V + j * nw, C, K, 0, G, j);
            wg_wino_weights_group(UGt, V + j * nw, C, K, 1, G, j);
        }
        for (size_t i = 0; i < G * nw; i++)
            dW2[i] = NAN; /* beta 0 overwrites */
        wg_wino_rconv(Rout2, scratch, nb, zero_rin ? NULL : Rin, U, in, UG, vb, B, H, W, C, K, G);
        wg_wino_rbackward_params(dW2, scratch, nb, zero_rin ? NULL : Rin, in, dout, Rdout, 0.0f,
                                 B, H, W, C, K, G);
        wg_wino_rconv(Rdin2, scratch, nb, Rdout, Ut, dout, UGt, NULL, B, H, W, K, C, G);

        double *din_ = to_double(in, P * C), *dw_ = to_double(w, nw), *dd = to_double(dout, P * K);
        double *ref = malloc(P * (C > K ? C : K) * sizeof *ref);
        double *tmp = malloc(P * (C > K ? C : K) * sizeof *tmp), *rw = malloc(nw * sizeof *rw);
        double *zero = calloc((size_t)(C > K ? C : K), sizeof *zero);
        for (int j = 0; j < G; j++) {
            double *Rj = group_slice(Rin, P, G, C, j), *Rdj = group_slice(Rdout, P, G, K, j);
            double *vj = to_double(V + j * nw, nw), *bj = to_double(vb + (size_t)j * K, (size_t)K);
            /* R out */
            ref_conv3(ref, din_, vj, bj, B, H, W, C, K);
            ref_conv3(tmp, Rj, dw_, zero, B, H, W, C, K);
            for (size_t i = 0; i < P * K; i++)
                ref[i] += tmp[i];
            for (size_t p = 0; p < P; p++) {
                assert_close_scaled("im2col R out", Rout + (p * G + j) * K, ref + p * K,
                                    (size_t)K, 18.0 * C, &worst);
                assert_close_scaled("winograd R out", Rout2 + (p * G + j) * K, ref + p * K,
                                    (size_t)K, 18.0 * C, &worst);
            }
            /* d(dw) */
            memset(rw, 0, nw * sizeof *rw);
            ref_conv_dw_add(rw, Rj, dd, B, H, W, C, K);
            ref_conv_dw_add(rw, din_, Rdj, B, H, W, C, K);
            float *sum = malloc(nw * 4);
            for (size_t q = 0; q < 9 * (size_t)C; q++)
                for (int k = 0; k < K; k++)
                    sum[q * K + k] = (zero_rin ? 0.0f : dWm[j * nw + q * K + k]) +
                                     dWn[(q * G + j) * K + k];
            assert_close_scaled("im2col R dw", sum, rw, nw, 2.0 * P, &worst);
            assert_close_scaled("winograd R dw", dW2 + j * nw, rw, nw, 2.0 * P, &worst);
            free(sum);
            /* R din */
            ref_conv_din(ref, Rdj, dw_, B, H, W, C, K);
            ref_conv_din(tmp, dd, vj, B, H, W, C, K);
            for (size_t i = 0; i < P * C; i++)
                ref[i] += tmp[i];
            for (size_t p = 0; p < P; p++) {
                if (!zero_rin)
                    assert_close_scaled("im2col R din", Rdin + (p * G + j) * C, ref + p * C,
                                        (size_t)C, 18.0 * K, &worst);
                assert_close_scaled("winograd R din", Rdin2 + (p * G + j) * C, ref + p * C,
                                    (size_t)C, 18.0 * K, &worst);
            }
            free(Rj), free(Rdj), free(vj), free(bj);
        }
        free(in), free(Rin), free(w), free(V), free(vb), free(dout), free(Rdout), free(VN);
        free(out), free(col), free(Rcol), free(zb), free(Rout), free(Rdin), free(dWm), free(dWn);
        free(U), free(Ut), free(UG), free(UGt), free(scratch), free(Rout2), free(Rdin2), free(dW2);
        free(din_), free(dw_), free(dd), free(ref), free(tmp), free(rw), free(zero);
    }
    print_message("R conv: worst error / (1 + summed terms) = %.3g (bound 1e-5)\n", worst);
}

/* Dense R-kernels against double loops, two directions. */
static void test_layers_r_dense_matches_reference(void **state)
{
    (void)state;
    enum { B = 3, C = 7, K = 5, G = 2 };
    float in[B * C], Rin[B * G * C], w[C * K], V[G * C * K], VN[C * G * K], vb[G * K];
    float dout[B * K], Rdout[B * G * K], Rout[B * G * K], Rdin[B * G * C];
    float dWm[G * C * K], dWn[C * G * K];
    ref_fill(in, sizeof in / 4, -1, 1, 1500);
    ref_fill(Rin, sizeof Rin / 4, -1, 1, 1501);
    ref_fill(w, sizeof w / 4, -1, 1, 1502);
    ref_fill(V, sizeof V / 4, -1, 1, 1503);
    ref_fill(vb, sizeof vb / 4, -1, 1, 1504);
    ref_fill(dout, sizeof dout / 4, -1, 1, 1505);
    ref_fill(Rdout, sizeof Rdout / 4, -1, 1, 1506);
    for (int j = 0; j < G; j++)
        for (int c = 0; c < C; c++)
            for (int k = 0; k < K; k++)
                VN[(c * G + j) * K + k] = V[(j * C + c) * K + k];
    wg_dense_rforward(Rout, Rin, in, w, VN, vb, B, C, K, G);
    wg_dense_rbackward(Rdin, dWm, dWn, Rin, in, dout, Rdout, w, V, 0.0f, B, C, K, G);
    for (int j = 0; j < G; j++) {
        for (int b = 0; b < B; b++)
            for (int k = 0; k < K; k++) {
                double s = vb[j * K + k];
                for (int c = 0; c < C; c++)
                    s += (double)Rin[(b * G + j) * C + c] * w[c * K + k] +
                         (double)in[b * C + c] * V[(j * C + c) * K + k];
                assert_true(fabs(Rout[(b * G + j) * K + k] - s) <= 1e-5 * (1 + 2 * C));
            }
        for (int c = 0; c < C; c++)
            for (int k = 0; k < K; k++) {
                double s = 0.0;
                for (int b = 0; b < B; b++)
                    s += (double)Rin[(b * G + j) * C + c] * dout[b * K + k] +
                         (double)in[b * C + c] * Rdout[(b * G + j) * K + k];
                double got = (double)dWm[(j * C + c) * K + k] + dWn[(c * G + j) * K + k];
                assert_true(fabs(got - s) <= 1e-5 * (1 + 2 * B));
            }
        for (int b = 0; b < B; b++)
            for (int c = 0; c < C; c++) {
                double s = 0.0;
                for (int k = 0; k < K; k++)
                    s += (double)Rdout[(b * G + j) * K + k] * w[c * K + k] +
                         (double)dout[b * K + k] * V[(j * C + c) * K + k];
                assert_true(fabs(Rdin[(b * G + j) * C + c] - s) <= 1e-5 * (1 + 2 * K));
            }
    }
}

/* At a tie the R-forward moves the first maximal input in (dy,dx) order, the one the
 * backward routes to, and the R-backward routes each direction exactly as the
 * backward does: the two stay adjoint. */
static void test_layers_maxpool_r_ties_go_to_first(void **state)
{
    (void)state;
    enum { H = 4, W = 4, C = 11, G = 2 }; /* channels 0-7 by the vector path */
    /* windows (per channel): all equal; ties of inputs 1 and 3, 2 and 3, 1 and 2;
     * a single maximum */
    float in[H * W * C], out[(H / 2) * (W / 2) * C];
    for (int i = 0; i < H * W * C; i++)
        in[i] = 0.0f;
    const int win[5][4] = {{5, 5, 5, 5}, {0, 7, 1, 7}, {0, 1, 3, 3}, {0, 6, 6, 1}, {2, 9, 4, 1}};
    for (int oy = 0; oy < 2; oy++)
        for (int ox = 0; ox < 2; ox++)
            for (int c = 0; c < C; c++)
                for (int q = 0; q < 4; q++) {
                    int y = 2 * oy + q / 2, x = 2 * ox + q % 2;
                    in[(y * W + x) * C + c] = (float)win[(oy * 2 + ox + c) % 5][q];
                }
    wg_maxpool_forward(out, in, 1, H, W, C);
    float Rin[H * W * G * C], Rout[(H / 2) * (W / 2) * G * C];
    ref_fill(Rin, sizeof Rin / 4, -1, 1, 1600);
    wg_maxpool_rforward(Rout, Rin, out, in, 1, H, W, C, G);
    const int first[5] = {0, 1, 2, 1, 1}; /* the first maximum of each window kind */
    for (int oy = 0; oy < 2; oy++)
        for (int ox = 0; ox < 2; ox++)
            for (int c = 0; c < C; c++) {
                int q = first[(oy * 2 + ox + c) % 5], y = 2 * oy + q / 2, x = 2 * ox + q % 2;
                for (int j = 0; j < G; j++)
                    assert_true(Rout[((oy * 2 + ox) * G + j) * C + c] ==
                                Rin[((y * W + x) * G + j) * C + c]);
            }
    float Rdout[(H / 2) * (W / 2) * G * C], Rdin[H * W * G * C];
    float dout[(H / 2) * (W / 2) * C], din[H * W * C];
    ref_fill(Rdout, sizeof Rdout / 4, -1, 1, 1601);
    wg_maxpool_rbackward(Rdin, Rdout, out, in, 1, H, W, C, G);
    for (int j = 0; j < G; j++) {
        for (int o = 0; o < 4; o++)
            for (int c = 0; c < C; c++)
                dout[o * C + c] = Rdout[(o * G + j) * C + c];
        wg_maxpool_backward(din, dout, out, in, 1, H, W, C);
        for (int p = 0; p < H * W; p++)
            for (int c = 0; c < C; c++)
                assert_true(Rdin[(p * G + j) * C + c] == din[p * C + c]);
    }
}

static void test_layers_activation_gradients(void **state)
{
    (void)state;
    enum { N = 1000 };
    float x[N], y[N], dy[N], dx[N];
    ref_fill(x, N, -4, 4, 30);
    ref_fill(dy, N, -1, 1, 31);
    wg_tanh_forward(y, x, N);
    wg_tanh_backward(dx, dy, y, N);
    for (int i = 0; i < N; i++) {
        double h = 1e-5, num = (tanh((double)x[i] + h) - tanh((double)x[i] - h)) / (2 * h);
        assert_true(fabs(dx[i] - dy[i] * num) <= 1e-6 + 1e-5 * fabs(dy[i] * num));
    }
    wg_relu_forward(y, x, N);
    wg_relu_backward(dx, dy, y, N);
    for (int i = 0; i < N; i++) {
        assert_true(y[i] == (x[i] > 0 ? x[i] : 0.0f));
        assert_true(dx[i] == (x[i] > 0 ? dy[i] : 0.0f));
    }
    /* in place, as net.c uses them */
    memcpy(y, x, sizeof x);
    wg_tanh_forward(y, y, N);
    for (int i = 0; i < N; i++)
        assert_true(fabs(y[i] - tanh((double)x[i])) < 5e-7);
}

static void test_layers_dropout_mask(void **state)
{
    (void)state;
    enum { N = 100000 };
    float *x = malloc(N * 4), *y = malloc(N * 4), *m = malloc(N * 4), *m2 = malloc(N * 4);
    ref_fill(x, N, -1, 1, 40);
    const float p = 0.3f;
    wg_dropout_forward(y, m, x, N, p, 5, 77, 0);
    size_t dropped = 0;
    for (int i = 0; i < N; i++) {
        assert_true(m[i] == 0.0f || m[i] == 1.0f / (1.0f - p));
        assert_true(y[i] == x[i] * m[i]);
        dropped += m[i] == 0.0f;
    }
    /* binomial: sd = sqrt(N p (1-p)) = 145; allow 5 sd */
    assert_true(fabs((double)dropped - N * 0.3) < 5 * 145);
    wg_dropout_forward(y, m2, x, N, p, 5, 77, 0);
    assert_memory_equal(m, m2, N * 4); /* keyed, not stateful */
    wg_dropout_forward(y, m2, x, N, p, 5, 78, 0);
    assert_true(memcmp(m, m2, N * 4) != 0);
    float dy[8] = {1, 2, 3, 4, 5, 6, 7, 8}, dx[8];
    wg_dropout_backward(dx, dy, m, 8);
    for (int i = 0; i < 8; i++)
        assert_true(dx[i] == dy[i] * m[i]);
    free(x), free(y), free(m), free(m2);
}

static void test_layers_softmax_xent(void **state)
{
    (void)state;
    enum { B = 5, K = 7 };
    float z[B * K], dz[B * K], probs[B * K];
    int y[B] = {0, 3, 6, 2, 2};
    ref_fill(z, B * K, -5, 5, 50);
    size_t correct;
    double sum = wg_softmax_xent(dz, probs, z, y, B, K, 1.0f / B, &correct);
    double zd[B * K];
    for (int i = 0; i < B * K; i++)
        zd[i] = z[i];
    assert_true(fabs(sum / B - ref_xent(zd, y, B, K)) < 1e-12 * B * K + 1e-9);
    size_t right = 0;
    for (int b = 0; b < B; b++) {
        int best = 0;
        double ps = 0.0;
        for (int k = 0; k < K; k++) {
            if (z[b * K + k] > z[b * K + best])
                best = k;
            ps += probs[b * K + k];
        }
        right += best == y[b];
        assert_true(fabs(ps - 1.0) < 1e-6);
    }
    assert_int_equal(correct, right);
    for (int i = 0; i < B * K; i++) {
        double keep = zd[i], h = 1e-6;
        zd[i] = keep + h;
        double up = ref_xent(zd, y, B, K);
        zd[i] = keep - h;
        double down = ref_xent(zd, y, B, K);
        zd[i] = keep;
        assert_true(fabs(dz[i] - (up - down) / (2 * h)) < 1e-6);
    }
    /* huge logits: no overflow */
    float big[2] = {1e30f, -1e30f};
    int yb[1] = {1};
    double l = wg_softmax_xent(NULL, NULL, big, yb, 1, 2, 1.0f, NULL);
    assert_true(isfinite(l) && l > 1e29);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layers_conv_matches_reference),
        cmocka_unit_test(test_layers_wino_matches_reference),
        cmocka_unit_test(test_layers_dense_matches_reference),
        cmocka_unit_test(test_layers_maxpool_matches_reference),
        cmocka_unit_test(test_layers_tanh_accuracy),
        cmocka_unit_test(test_layers_conv_gradient),
        cmocka_unit_test(test_layers_dense_gradient),
        cmocka_unit_test(test_layers_maxpool_gradient),
        cmocka_unit_test(test_layers_maxpool_ties_go_to_first),
        cmocka_unit_test(test_layers_r_conv_matches_reference),
        cmocka_unit_test(test_layers_r_dense_matches_reference),
        cmocka_unit_test(test_layers_maxpool_r_ties_go_to_first),
        cmocka_unit_test(test_layers_activation_gradients),
        cmocka_unit_test(test_layers_dropout_mask),
        cmocka_unit_test(test_layers_softmax_xent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
