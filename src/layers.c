/* layers.c: the forward/backward kernels behind net.c.
 *
 * Convolutions are im2col + one sgemm over the whole batch (M = B*H*W rows), which
 * keeps OpenBLAS in its efficient regime even for 16 output channels; everything
 * else is a single pass over memory written so that gcc vectorises it.  No kernel
 * allocates: callers pass every buffer (net.c allocates them once per net). */
#include "wedge/layers.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#include "wedge/rng.h"

/* Eight floats at a time with GCC vector extensions, where gcc's auto-vectoriser
 * gives up (selects it turns into branches). */
typedef float v8f __attribute__((vector_size(32)));
typedef int v8i __attribute__((vector_size(32)));

/* Hot elementwise kernels are compiled for AVX-512, AVX2 and the baseline and
 * chosen at load time.  Results are identical: -std=c11 forbids FMA contraction,
 * so each clone does the same float operations on wider registers. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define WG_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define WG_CLONES
#endif

/* (macros, not functions: a v8f argument or return value would change the ABI
 * between the clones) */
#define LOAD8(v, p) memcpy(&(v), (p), sizeof(v8f))
#define STORE8(p, v) memcpy((p), &(v), sizeof(v8f))

/* ---- im2col for 3x3 'same' ------------------------------------------------- */

/* col row (b,y,x) holds the 3x3 neighbourhood of in at (b,y,x), (ky,kx,c) order.
 * Within one ky the three taps are contiguous in NHWC memory, so interior pixels
 * copy one run of 3*C floats per ky. */
/* gcc would turn the short copy loops into memcpy calls, which cost more than the
 * copies when C is 1 to 3. */
__attribute__((optimize("no-tree-loop-distribute-patterns")))
static void im2col3(float *restrict col, const float *restrict in, int B, int H, int W,
                    int C)
{
    const size_t row = (size_t)9 * C;
    if (C == 1) { /* first layer of grey images: 9 scalar taps per pixel */
        for (int b = 0; b < B; b++)
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++) {
                    float *dst = col + (((size_t)b * H + y) * W + x) * 9;
                    for (int ky = 0; ky < 3; ky++) {
                        int iy = y + ky - 1;
                        const float *src = in + ((size_t)b * H + iy) * W + x;
                        int rowok = iy >= 0 && iy < H;
                        dst[3 * ky + 0] = rowok && x > 0 ? src[-1] : 0.0f;
                        dst[3 * ky + 1] = rowok ? src[0] : 0.0f;
                        dst[3 * ky + 2] = rowok && x < W - 1 ? src[1] : 0.0f;
                    }
                }
        return;
    }
    for (int b = 0; b < B; b++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                float *dst = col + (((size_t)b * H + y) * W + x) * row;
                for (int ky = 0; ky < 3; ky++, dst += 3 * C) {
                    int iy = y + ky - 1;
                    if (iy < 0 || iy >= H) {
                        for (int j = 0; j < 3 * C; j++)
                            dst[j] = 0.0f;
                        continue;
                    }
                    const float *src = in + (((size_t)b * H + iy) * W + (x - 1)) * C;
                    if (x > 0 && x < W - 1) {
                        for (int j = 0; j < 3 * C; j++)
                            dst[j] = src[j];
                        continue;
                    }
                    for (int kx = 0; kx < 3; kx++) {
                        int ix = x + kx - 1;
                        int ok = ix >= 0 && ix < W;
                        for (int c = 0; c < C; c++)
                            dst[kx * C + c] = ok ? src[kx * C + c] : 0.0f;
                    }
                }
            }
}

/* The adjoint of im2col3: din = sum over the col rows that read each pixel. */
static void col2im3(float *restrict din, const float *restrict col, int B, int H, int W,
                    int C)
{
    const size_t row = (size_t)9 * C;
    memset(din, 0, (size_t)B * H * W * C * sizeof *din);
    for (int b = 0; b < B; b++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                const float *src = col + (((size_t)b * H + y) * W + x) * row;
                for (int ky = 0; ky < 3; ky++, src += 3 * C) {
                    int iy = y + ky - 1;
                    if (iy < 0 || iy >= H)
                        continue;
                    float *dst = din + (((size_t)b * H + iy) * W + (x - 1)) * C;
                    if (x > 0 && x < W - 1) {
                        for (int j = 0; j < 3 * C; j++)
                            dst[j] += src[j];
                        continue;
                    }
                    for (int kx = 0; kx < 3; kx++) {
                        int ix = x + kx - 1;
                        if (ix < 0 || ix >= W)
                            continue;
                        for (int c = 0; c < C; c++)
                            dst[kx * C + c] += src[kx * C + c];
                    }
                }
            }
}

/* out rows = bias, so that sgemm can accumulate with beta = 1. */
static void fill_bias(float *restrict out, const float *restrict b, size_t rows, int K)
{
    for (size_t r = 0; r < rows; r++)
        for (int k = 0; k < K; k++)
            out[r * K + k] = b[k];
}

/* db[k] = sum over rows of dout[., k], in double so that large batches keep their
 * digits. */
void wg_bias_grad(float *restrict db, const float *restrict dout, size_t rows, int K,
                  float beta)
{
    double acc[K];
    for (int k = 0; k < K; k++)
        acc[k] = beta != 0.0f ? (double)db[k] : 0.0;
    for (size_t r = 0; r < rows; r++)
        for (int k = 0; k < K; k++)
            acc[k] += dout[r * K + k];
    for (int k = 0; k < K; k++)
        db[k] = (float)acc[k];
}

void wg_conv3_forward(float *out, float *col, const float *in, const float *w,
                      const float *b, int B, int H, int W, int C, int K)
{
    const int M = B * H * W;
    im2col3(col, in, B, H, W, C);
    fill_bias(out, b, (size_t)M, K);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, K, 9 * C, 1.0f, col, 9 * C,
                w, K, 1.0f, out, K);
}

void wg_conv3_backward(float *din, float *dw, float *db, float *col, const float *dout,
                       const float *w, float beta, int B, int H, int W, int C, int K)
{
    const int M = B * H * W;
    /* dw (9C,K) = col^T (9C,M) dout (M,K) [+ dw] */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, 9 * C, K, M, 1.0f, col, 9 * C,
                dout, K, beta, dw, K);
    wg_bias_grad(db, dout, (size_t)M, K, beta);
    if (!din)
        return;
    /* dcol (M,9C) = dout (M,K) w^T (K,9C), into the col cache (no longer needed) */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, 9 * C, K, 1.0f, dout, K, w, K,
                0.0f, col, 9 * C);
    col2im3(din, col, B, H, W, C);
}

/* ---- dense ----------------------------------------------------------------- */

void wg_dense_forward(float *out, const float *in, const float *w, const float *b, int B,
                      int C, int K)
{
    fill_bias(out, b, (size_t)B, K);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, K, C, 1.0f, in, C, w, K,
                1.0f, out, K);
}

void wg_dense_backward(float *din, float *dw, float *db, const float *dout,
                       const float *in, const float *w, float beta, int B, int C, int K)
{
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, C, K, B, 1.0f, in, C, dout, K,
                beta, dw, K);
    wg_bias_grad(db, dout, (size_t)B, K, beta);
    if (din)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, C, K, 1.0f, dout, K, w, K,
                    0.0f, din, C);
}

/* ---- 2x2 max pooling ---------------------------------------------------------- */

/* No argmax cache: the backward compares the kept input with the kept output and
 * routes the gradient to the first input equal to the max, which is the input the
 * forward's strict comparisons chose.  Both loops are branch-free and vectorise. */
WG_CLONES void wg_maxpool_forward(float *out, const float *in, int B, int H, int W, int C)
{
    const int OH = H / 2, OW = W / 2;
    for (int b = 0; b < B; b++)
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++) {
                const float *p0 = in + (((size_t)b * H + 2 * oy) * W + 2 * ox) * C;
                const float *p1 = p0 + C, *p2 = p0 + (size_t)W * C, *p3 = p2 + C;
                float *restrict dst = out + (((size_t)b * OH + oy) * OW + ox) * C;
                for (int c = 0; c < C; c++) {
                    float m = p0[c];
                    m = p1[c] > m ? p1[c] : m;
                    m = p2[c] > m ? p2[c] : m;
                    m = p3[c] > m ? p3[c] : m;
                    dst[c] = m;
                }
            }
}

WG_CLONES void wg_maxpool_backward(float *restrict din, const float *restrict dout,
                                   const float *restrict out, const float *restrict in,
                                   int B, int H, int W, int C)
{
    const int OH = H / 2, OW = W / 2;
    if ((H | W) & 1) /* the last row/column of an odd size feeds no output */
        memset(din, 0, (size_t)B * H * W * C * sizeof *din);
    for (int b = 0; b < B; b++)
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++) {
                size_t i0 = (((size_t)b * H + 2 * oy) * W + 2 * ox) * C;
                size_t i2 = i0 + (size_t)W * C;
                const float *p0 = in + i0, *p1 = p0 + C, *p2 = in + i2; /* else the 4th */
                float *q0 = din + i0, *q1 = q0 + C, *q2 = din + i2, *q3 = q2 + C;
                size_t o = (((size_t)b * OH + oy) * OW + ox) * C;
                const float *g = dout + o, *m = out + o;
                int c = 0;
                for (; c + 8 <= C; c += 8) {
                    v8f mm, gg, a0, a1, a2, r0, r1, r2, r3;
                    LOAD8(mm, m + c);
                    LOAD8(gg, g + c);
                    LOAD8(a0, p0 + c);
                    LOAD8(a1, p1 + c);
                    LOAD8(a2, p2 + c);
                    v8i e0 = a0 == mm;
                    v8i e1 = (a1 == mm) & ~e0;
                    v8i e2 = (a2 == mm) & ~(e0 | e1);
                    v8i e3 = ~(e0 | e1 | e2);
                    r0 = (v8f)((v8i)gg & e0);
                    r1 = (v8f)((v8i)gg & e1);
                    r2 = (v8f)((v8i)gg & e2);
                    r3 = (v8f)((v8i)gg & e3);
                    STORE8(q0 + c, r0);
                    STORE8(q1 + c, r1);
                    STORE8(q2 + c, r2);
                    STORE8(q3 + c, r3);
                }
                for (; c < C; c++) {
                    int t0 = p0[c] == m[c];
                    int t1 = !t0 && p1[c] == m[c];
                    int t2 = !t0 && !t1 && p2[c] == m[c];
                    int t3 = !t0 && !t1 && !t2;
                    q0[c] = t0 ? g[c] : 0.0f;
                    q1[c] = t1 ? g[c] : 0.0f;
                    q2[c] = t2 ? g[c] : 0.0f;
                    q3[c] = t3 ? g[c] : 0.0f;
                }
            }
}

/* ---- activations ------------------------------------------------------------ */

/* tanh as a [13/6] rational function on [-7.9053, 7.9053] (the approximation Eigen
 * and PyTorch's CPU kernels use): within a few float ulps of tanh, where libm's
 * tanhf costs ~20 ns an element and dominated the CNN's forward pass.  Beyond the
 * clamp tanh rounds to +-1.  Near 0 the ratio is x * (1 - 1.3e-7), so no special
 * case is needed, and the sign of zero is kept.  Written once for scalars and once
 * with GCC vector extensions (gcc otherwise turns the clamp into branches and
 * refuses to vectorise); both evaluate the same float operations in the same
 * order, so they agree bitwise. */
#define TANH_CLAMP 7.90531110763549805f
#define TANH_POLY(T, x2, xc, out)                                                         \
    do {                                                                                   \
        T p_ = (x2) * -2.76076847742355e-16f + 2.00018790482477e-13f;                     \
        p_ = p_ * (x2) + -8.60467152213735e-11f;                                           \
        p_ = p_ * (x2) + 5.12229709037114e-08f;                                            \
        p_ = p_ * (x2) + 1.48572235717979e-05f;                                            \
        p_ = p_ * (x2) + 6.37261928875436e-04f;                                            \
        p_ = p_ * (x2) + 4.89352455891786e-03f;                                            \
        p_ = p_ * (xc);                                                                    \
        T q_ = (x2) * 1.19825839466702e-06f + 1.18534705686654e-04f;                      \
        q_ = q_ * (x2) + 2.26843463243900e-03f;                                            \
        q_ = q_ * (x2) + 4.89352518554385e-03f;                                            \
        (out) = p_ / q_;                                                                   \
    } while (0)

static inline float fast_tanh(float x)
{
    float xc = x > TANH_CLAMP ? TANH_CLAMP : x;
    xc = xc < -TANH_CLAMP ? -TANH_CLAMP : xc;
    float x2 = xc * xc, r;
    TANH_POLY(float, x2, xc, r);
    return r;
}

WG_CLONES void wg_tanh_forward(float *y, const float *x, size_t n)
{
    size_t i = 0;
    const v8f hi = {TANH_CLAMP, TANH_CLAMP, TANH_CLAMP, TANH_CLAMP,
                    TANH_CLAMP, TANH_CLAMP, TANH_CLAMP, TANH_CLAMP};
    for (; i + 8 <= n; i += 8) {
        v8f v, r;
        LOAD8(v, x + i);
        /* clamp by bit selects: NaN compares false and passes through, as in the
         * scalar version */
        v8i above = v > hi, below = v < -hi;
        v8f xc = (v8f)(((v8i)v & ~above) | ((v8i)hi & above));
        xc = (v8f)(((v8i)xc & ~below) | ((v8i)(-hi) & below));
        v8f x2 = xc * xc;
        TANH_POLY(v8f, x2, xc, r);
        STORE8(y + i, r);
    }
    for (; i < n; i++)
        y[i] = fast_tanh(x[i]);
}

void wg_tanh_backward(float *dx, const float *dy, const float *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dx[i] = dy[i] * (1.0f - y[i] * y[i]);
}

void wg_relu_forward(float *y, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void wg_relu_backward(float *dx, const float *dy, const float *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

/* ---- dropout ------------------------------------------------------------------ */

void wg_dropout_forward(float *y, float *mask, const float *x, size_t n, float p,
                        uint64_t seed, uint64_t stream, size_t first)
{
    const float keep = 1.0f / (1.0f - p);
    /* u < p drops; u has 24 random bits, as wg_rng_uniformf. */
    const uint32_t thr = (uint32_t)((double)p * 16777216.0);
    uint32_t r[4];
    for (size_t i = 0; i < n; i++) {
        size_t e = first + i; /* the element's index in the whole mask */
        if (i == 0 || (e & 3) == 0)
            wg_rng_block(seed, stream, e >> 2, r);
        mask[i] = (r[e & 3] >> 8) < thr ? 0.0f : keep;
        y[i] = x[i] * mask[i];
    }
}

void wg_dropout_backward(float *dx, const float *dy, const float *mask, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dx[i] = dy[i] * mask[i];
}

/* ---- softmax cross-entropy ------------------------------------------------------- */

double wg_softmax_xent(float *dlogits, float *probs, const float *logits, const int *y,
                       int B, int K, float scale, size_t *correct)
{
    double total = 0.0;
    size_t right = 0;
    for (int b = 0; b < B; b++) {
        const float *z = logits + (size_t)b * K;
        int best = 0;
        for (int k = 1; k < K; k++)
            if (z[k] > z[best])
                best = k;
        right += best == y[b];
        double zmax = z[best], sum = 0.0;
        for (int k = 0; k < K; k++)
            sum += exp((double)z[k] - zmax);
        double lse = zmax + log(sum);
        total += lse - (double)z[y[b]];
        if (dlogits || probs)
            for (int k = 0; k < K; k++) {
                double pk = exp((double)z[k] - lse);
                if (probs)
                    probs[(size_t)b * K + k] = (float)pk;
                if (dlogits)
                    dlogits[(size_t)b * K + k] = (float)((pk - (k == y[b])) * scale);
            }
    }
    if (correct)
        *correct = right;
    return total;
}

/* ---- R-operator: G directional derivatives at once ------------------------------- */

/* Derivatives along G directions travel as "grouped" activations (B,H,W,G,C): the
 * G derivatives of each pixel's C channels side by side, so that a product with
 * the layer's own weights is one sgemm over B*H*W*G rows, and a product of the
 * layer's input with the G directions' weights (stacked along N: 9C x G*K) is one
 * sgemm whose (pixel, direction, channel) output lands in the same order. */

/* im2col3 of a grouped activation: row (b,y,x,j) holds direction j's 3x3
 * neighbourhood of (b,y,x), (ky,kx,c) order. */
static void im2col3_group(float *restrict col, const float *restrict in, int B, int H,
                          int W, int C, int G)
{
    const size_t row = (size_t)9 * C, pix = (size_t)G * C;
    for (int b = 0; b < B; b++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
                for (int j = 0; j < G; j++) {
                    float *dst = col + ((((size_t)b * H + y) * W + x) * G + j) * row;
                    for (int ky = 0; ky < 3; ky++)
                        for (int kx = 0; kx < 3; kx++, dst += C) {
                            int iy = y + ky - 1, ix = x + kx - 1;
                            if (iy < 0 || iy >= H || ix < 0 || ix >= W) {
                                memset(dst, 0, (size_t)C * sizeof *dst);
                                continue;
                            }
                            memcpy(dst, in + (((size_t)b * H + iy) * W + ix) * pix + (size_t)j * C,
                                   (size_t)C * sizeof *dst);
                        }
                }
}

/* The adjoint of im2col3_group. */
static void col2im3_group(float *restrict din, const float *restrict col, int B, int H,
                          int W, int C, int G)
{
    const size_t row = (size_t)9 * C, pix = (size_t)G * C;
    memset(din, 0, (size_t)B * H * W * pix * sizeof *din);
    for (int b = 0; b < B; b++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
                for (int j = 0; j < G; j++) {
                    const float *src = col + ((((size_t)b * H + y) * W + x) * G + j) * row;
                    for (int ky = 0; ky < 3; ky++)
                        for (int kx = 0; kx < 3; kx++, src += C) {
                            int iy = y + ky - 1, ix = x + kx - 1;
                            if (iy < 0 || iy >= H || ix < 0 || ix >= W)
                                continue;
                            float *dst = din + (((size_t)b * H + iy) * W + ix) * pix + (size_t)j * C;
                            for (int c = 0; c < C; c++)
                                dst[c] += src[c];
                        }
                }
}

void wg_bias_grad_wide(float *restrict db, const float *restrict dout, size_t rows, int K,
                       float beta, double *restrict acc)
{
    for (int k = 0; k < K; k++)
        acc[k] = beta != 0.0f ? (double)db[k] : 0.0;
    for (size_t r = 0; r < rows; r++)
        for (int k = 0; k < K; k++)
            acc[k] += dout[r * K + k];
    for (int k = 0; k < K; k++)
        db[k] = (float)acc[k];
}

void wg_conv3_backward_input(float *din, float *col, const float *dout, const float *w,
                             int B, int H, int W, int C, int K)
{
    const int M = B * H * W;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, 9 * C, K, 1.0f, dout, K, w, K,
                0.0f, col, 9 * C);
    col2im3(din, col, B, H, W, C);
}

void wg_conv3_rforward(float *Rout, float *Rcol, const float *Rin, const float *col,
                       const float *w, const float *VN, const float *vb, int B, int H, int W,
                       int C, int K, int G)
{
    const int M = B * H * W, GK = G * K;
    fill_bias(Rout, vb, (size_t)M, GK);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, GK, 9 * C, 1.0f, col, 9 * C,
                VN, GK, 1.0f, Rout, GK);
    if (!Rin)
        return;
    im2col3_group(Rcol, Rin, B, H, W, C, G);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M * G, K, 9 * C, 1.0f, Rcol,
                9 * C, w, K, 1.0f, Rout, K);
}

void wg_conv3_rbackward(float *Rdin, float *dWm, float *dWn, float *Rcol, const float *col,
                        const float *dout, const float *Rdout, const float *w, const float *VM,
                        float beta, int B, int H, int W, int C, int K, int G)
{
    const int M = B * H * W, GK = G * K, Q = 9 * C;
    /* dWn (9C, G*K) = col^T (9C, M) Rdout (M, G*K) */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Q, GK, M, 1.0f, col, Q, Rdout, GK,
                beta, dWn, GK);
    /* dWm (G*9C, K) = Rcol^T dout, Rcol read as (M, G*9C) */
    if (Rcol)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, G * Q, K, M, 1.0f, Rcol, G * Q,
                    dout, K, beta, dWm, K);
    if (!Rdin)
        return;
    /* R dcol (M*G, 9C) = Rdout w^T + dout VM^T (VM^T: K x G*9C), into Rcol */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M * G, Q, K, 1.0f, Rdout, K, w, K,
                0.0f, Rcol, Q);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, G * Q, K, 1.0f, dout, K, VM, K,
                1.0f, Rcol, G * Q);
    col2im3_group(Rdin, Rcol, B, H, W, C, G);
}

void wg_dense_backward_input(float *din, const float *dout, const float *w, int B, int C,
                             int K)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, C, K, 1.0f, dout, K, w, K, 0.0f,
                din, C);
}

void wg_dense_rforward(float *Rout, const float *Rin, const float *in, const float *w,
                       const float *VN, const float *vb, int B, int C, int K, int G)
{
    const int GK = G * K;
    fill_bias(Rout, vb, (size_t)B, GK);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, GK, C, 1.0f, in, C, VN, GK,
                1.0f, Rout, GK);
    if (Rin)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B * G, K, C, 1.0f, Rin, C, w,
                    K, 1.0f, Rout, K);
}

void wg_dense_rbackward(float *Rdin, float *dWm, float *dWn, const float *Rin,
                        const float *in, const float *dout, const float *Rdout, const float *w,
                        const float *VM, float beta, int B, int C, int K, int G)
{
    const int GK = G * K, GC = G * C;
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, C, GK, B, 1.0f, in, C, Rdout, GK,
                beta, dWn, GK);
    if (Rin)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, GC, K, B, 1.0f, Rin, GC, dout, K,
                    beta, dWm, K);
    if (!Rdin)
        return;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B * G, C, K, 1.0f, Rdout, K, w, K,
                0.0f, Rdin, C);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, GC, K, 1.0f, dout, K, VM, K, 1.0f,
                Rdin, GC);
}

void wg_tanh_rforward(float *Ry, const float *Rx, const float *y, size_t P, int C, int G)
{
    for (size_t p = 0; p < P; p++) {
        const float *yp = y + p * C;
        for (int j = 0; j < G; j++) {
            const size_t o = (p * G + j) * C;
            for (int c = 0; c < C; c++)
                Ry[o + c] = (1.0f - yp[c] * yp[c]) * Rx[o + c];
        }
    }
}

void wg_tanh_rbackward(float *Rdx, const float *Rdy, const float *dy, const float *y,
                       const float *Ry, size_t P, int C, int G)
{
    for (size_t p = 0; p < P; p++) {
        const float *yp = y + p * C, *gp = dy + p * C;
        for (int j = 0; j < G; j++) {
            const size_t o = (p * G + j) * C;
            for (int c = 0; c < C; c++)
                Rdx[o + c] = Rdy[o + c] * (1.0f - yp[c] * yp[c]) - 2.0f * yp[c] * gp[c] * Ry[o + c];
        }
    }
}

/* relu's R-forward and R-backward are the same mask: y > 0 (y = 0 counts as off,
 * as in wg_relu_backward). */
static void relu_rmask(float *Rout, const float *Rin, const float *y, size_t P, int C, int G)
{
    for (size_t p = 0; p < P; p++) {
        const float *yp = y + p * C;
        for (int j = 0; j < G; j++) {
            const size_t o = (p * G + j) * C;
            for (int c = 0; c < C; c++)
                Rout[o + c] = yp[c] > 0.0f ? Rin[o + c] : 0.0f;
        }
    }
}

void wg_relu_rforward(float *Ry, const float *Rx, const float *y, size_t P, int C, int G)
{
    relu_rmask(Ry, Rx, y, P, C, G);
}

void wg_relu_rbackward(float *Rdx, const float *Rdy, const float *y, size_t P, int C, int G)
{
    relu_rmask(Rdx, Rdy, y, P, C, G);
}

/* Max pooling's R kernels select, per channel, the first of the four inputs equal
 * to the kept output (the input wg_maxpool_backward routes to), with the same
 * branch-free masks, eight channels at a time; each direction then moves through
 * the same masks. */
#define POOL_MASKS8(e0, e1, e2, e3, p0, p1, p2, m, c)                                      \
    v8f mm_, a0_, a1_, a2_;                                                                \
    LOAD8(mm_, (m) + (c));                                                                 \
    LOAD8(a0_, (p0) + (c));                                                                \
    LOAD8(a1_, (p1) + (c));                                                                \
    LOAD8(a2_, (p2) + (c));                                                                \
    v8i e0 = a0_ == mm_;                                                                   \
    v8i e1 = (a1_ == mm_) & ~e0;                                                           \
    v8i e2 = (a2_ == mm_) & ~(e0 | e1);                                                    \
    v8i e3 = ~(e0 | e1 | e2)

static inline int pool_first(const float *p0, const float *p1, const float *p2,
                             const float *m, int c)
{
    return p0[c] == m[c] ? 0 : p1[c] == m[c] ? 1 : p2[c] == m[c] ? 2 : 3;
}

WG_CLONES void wg_maxpool_rforward(float *restrict Rout, const float *restrict Rin,
                                   const float *restrict out, const float *restrict in, int B,
                                   int H, int W, int C, int G)
{
    const int OH = H / 2, OW = W / 2;
    const size_t pix = (size_t)G * C;
    for (int b = 0; b < B; b++)
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++) {
                size_t i0 = ((size_t)b * H + 2 * oy) * W + 2 * ox, i2 = i0 + W;
                size_t o = ((size_t)b * OH + oy) * OW + ox;
                const float *p0 = in + i0 * C, *p1 = p0 + C, *p2 = in + i2 * C, *m = out + o * C;
                const float *r0 = Rin + i0 * pix, *r1 = r0 + pix, *r2 = Rin + i2 * pix,
                            *r3 = r2 + pix;
                float *dst = Rout + o * pix;
                int c = 0;
                for (; c + 8 <= C; c += 8) {
                    POOL_MASKS8(e0, e1, e2, e3, p0, p1, p2, m, c);
                    for (int j = 0; j < G; j++) {
                        const size_t q = (size_t)j * C + c;
                        v8f x0, x1, x2, x3, r;
                        LOAD8(x0, r0 + q);
                        LOAD8(x1, r1 + q);
                        LOAD8(x2, r2 + q);
                        LOAD8(x3, r3 + q);
                        r = (v8f)(((v8i)x0 & e0) | ((v8i)x1 & e1) | ((v8i)x2 & e2) |
                                  ((v8i)x3 & e3));
                        STORE8(dst + q, r);
                    }
                }
                for (; c < C; c++) {
                    const int t = pool_first(p0, p1, p2, m, c);
                    const float *src = t == 0 ? r0 : t == 1 ? r1 : t == 2 ? r2 : r3;
                    for (int j = 0; j < G; j++)
                        dst[(size_t)j * C + c] = src[(size_t)j * C + c];
                }
            }
}

WG_CLONES void wg_maxpool_rbackward(float *restrict Rdin, const float *restrict Rdout,
                                    const float *restrict out, const float *restrict in,
                                    int B, int H, int W, int C, int G)
{
    const int OH = H / 2, OW = W / 2;
    const size_t pix = (size_t)G * C;
    if ((H | W) & 1) /* the last row/column of an odd size feeds no output */
        memset(Rdin, 0, (size_t)B * H * W * pix * sizeof *Rdin);
    for (int b = 0; b < B; b++)
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++) {
                size_t i0 = ((size_t)b * H + 2 * oy) * W + 2 * ox, i2 = i0 + W;
                size_t o = ((size_t)b * OH + oy) * OW + ox;
                const float *p0 = in + i0 * C, *p1 = p0 + C, *p2 = in + i2 * C, *m = out + o * C;
                float *q0 = Rdin + i0 * pix, *q1 = q0 + pix, *q2 = Rdin + i2 * pix, *q3 = q2 + pix;
                const float *src = Rdout + o * pix;
                int c = 0;
                for (; c + 8 <= C; c += 8) {
                    POOL_MASKS8(e0, e1, e2, e3, p0, p1, p2, m, c);
                    for (int j = 0; j < G; j++) {
                        const size_t q = (size_t)j * C + c;
                        v8f gg, r0, r1, r2, r3;
                        LOAD8(gg, src + q);
                        r0 = (v8f)((v8i)gg & e0);
                        r1 = (v8f)((v8i)gg & e1);
                        r2 = (v8f)((v8i)gg & e2);
                        r3 = (v8f)((v8i)gg & e3);
                        STORE8(q0 + q, r0);
                        STORE8(q1 + q, r1);
                        STORE8(q2 + q, r2);
                        STORE8(q3 + q, r3);
                    }
                }
                for (; c < C; c++) {
                    const int t = pool_first(p0, p1, p2, m, c);
                    for (int j = 0; j < G; j++) {
                        const size_t q = (size_t)j * C + c;
                        q0[q] = t == 0 ? src[q] : 0.0f;
                        q1[q] = t == 1 ? src[q] : 0.0f;
                        q2[q] = t == 2 ? src[q] : 0.0f;
                        q3[q] = t == 3 ? src[q] : 0.0f;
                    }
                }
            }
}

void wg_softmax_xent_r(float *dlogits, float *Rdlogits, const float *logits,
                       const float *Rlogits, const int *y, int B, int K, int G, float scale,
                       double *p)
{
    for (int b = 0; b < B; b++) {
        const float *z = logits + (size_t)b * K;
        int best = 0;
        for (int k = 1; k < K; k++)
            if (z[k] > z[best])
                best = k;
        double zmax = z[best], sum = 0.0;
        for (int k = 0; k < K; k++)
            sum += exp((double)z[k] - zmax);
        double lse = zmax + log(sum);
        for (int k = 0; k < K; k++) {
            p[k] = exp((double)z[k] - lse);
            dlogits[(size_t)b * K + k] = (float)((p[k] - (k == y[b])) * scale);
        }
        /* R dlogits = scale (diag(p) - p p^T) Rz */
        for (int j = 0; j < G; j++) {
            const float *Rz = Rlogits + ((size_t)b * G + j) * K;
            float *Rd = Rdlogits + ((size_t)b * G + j) * K;
            double s = 0.0;
            for (int k = 0; k < K; k++)
                s += p[k] * Rz[k];
            for (int k = 0; k < K; k++)
                Rd[k] = (float)((double)scale * p[k] * ((double)Rz[k] - s));
        }
    }
}
