/* winograd.c: 3x3 'same' convolutions by Winograd F(2x2, 3x3) (winograd.h).
 *
 * The transforms run over channels in NHWC order, eight at a time with GCC
 * vector extensions (compiled for AVX-512, AVX2 and the baseline, chosen at load
 * time; -std=c11 forbids FMA contraction, so every clone rounds alike).  The
 * products are 16 plain sgemms per block of images, so the heavy lifting stays
 * with OpenBLAS.  This file is not the im2col path: layers.c keeps that for
 * layers where Winograd does not pay (few input channels). */
#include "wedge/winograd.h"

#include <cblas.h>
#include <string.h>

#include "wedge/layers.h"

typedef float v8f __attribute__((vector_size(32)));

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define WG_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define WG_CLONES
#endif

#define LOADV(v, p) memcpy(&(v), (p), sizeof(v8f))
#define STOREV(p, v) memcpy((p), &(v), sizeof(v8f))
#define LOADS(v, p) ((v) = *(p))
#define STORES(p, v) (*(p) = (v))

static size_t zero_len(int C, int K) { return (size_t)((C > K ? C : K) + 15) / 16 * 16; }

/* Scratch layout: a row of zeros | V (16 x T x C) | M (16 x T x K) | S (16 x C x K). */
size_t wg_wino_scratch(int nb, int H, int W, int C, int K)
{
    size_t tiles = (size_t)nb * (size_t)((H + 1) / 2) * (size_t)((W + 1) / 2);
    return zero_len(C, K) + 16 * tiles * ((size_t)C + (size_t)K) + 16 * (size_t)C * K;
}

/* U = G g G^T with G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]. */
static void filter_tf(float U[16], const float g[9])
{
    float t[4][3];
    for (int x = 0; x < 3; x++) {
        t[0][x] = g[x];
        t[1][x] = 0.5f * (g[x] + g[3 + x] + g[6 + x]);
        t[2][x] = 0.5f * (g[x] - g[3 + x] + g[6 + x]);
        t[3][x] = g[6 + x];
    }
    for (int i = 0; i < 4; i++) {
        U[4 * i + 0] = t[i][0];
        U[4 * i + 1] = 0.5f * (t[i][0] + t[i][1] + t[i][2]);
        U[4 * i + 2] = 0.5f * (t[i][0] - t[i][1] + t[i][2]);
        U[4 * i + 3] = t[i][2];
    }
}

void wg_wino_weights_group(float *U, const float *w, int C, int K, int transpose, int G,
                           int j)
{
    const size_t QS = (size_t)C * K * G; /* floats per transformed position */
    for (int c = 0; c < C; c++)
        for (int k = 0; k < K; k++) {
            float g[9], u[16];
            for (int q = 0; q < 9; q++) /* the input gradient's filter is rotated */
                g[q] = w[((size_t)(transpose ? 8 - q : q) * C + c) * K + k];
            filter_tf(u, g);
            size_t at = transpose ? ((size_t)k * G + j) * C + c : ((size_t)c * G + j) * K + k;
            for (int q = 0; q < 16; q++)
                U[q * QS + at] = u[q];
        }
}

void wg_wino_weights(float *U, const float *w, int C, int K, int transpose)
{
    wg_wino_weights_group(U, w, C, K, transpose, 1, 0);
}

/* V = B^T d B with B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1], for channels
 * [c, c+8) or c: d is the 4x4 window p[0..15] + c, written at v + q*stride + c. */
#define INPUT_TF(TY, LOAD, STORE)                                                        \
    do {                                                                                 \
        TY d[16], u[16];                                                                 \
        for (int q = 0; q < 16; q++)                                                     \
            LOAD(d[q], p[q] + c);                                                        \
        for (int s = 0; s < 4; s++) {                                                    \
            u[s] = d[s] - d[8 + s];                                                      \
            u[4 + s] = d[4 + s] + d[8 + s];                                              \
            u[8 + s] = d[8 + s] - d[4 + s];                                              \
            u[12 + s] = d[4 + s] - d[12 + s];                                            \
        }                                                                                \
        for (int i = 0; i < 4; i++) {                                                    \
            TY r0 = u[4 * i] - u[4 * i + 2], r1 = u[4 * i + 1] + u[4 * i + 2];           \
            TY r2 = u[4 * i + 2] - u[4 * i + 1], r3 = u[4 * i + 1] - u[4 * i + 3];       \
            STORE(v + (size_t)(4 * i + 0) * stride + c, r0);                             \
            STORE(v + (size_t)(4 * i + 1) * stride + c, r1);                             \
            STORE(v + (size_t)(4 * i + 2) * stride + c, r2);                             \
            STORE(v + (size_t)(4 * i + 3) * stride + c, r3);                             \
        }                                                                                \
    } while (0)

/* Transform the windows of images [0, n) of `in` into V (16 matrices of T x C,
 * T = n * tiles per image); zero is a row of C zeros standing in for padding. */
WG_CLONES
static void input_tf(float *restrict V, const float *in, const float *zero, int n, int H,
                     int W, int C)
{
    const int th = (H + 1) / 2, tw = (W + 1) / 2;
    const size_t stride = (size_t)n * th * tw * C;
    size_t t = 0;
    for (int b = 0; b < n; b++)
        for (int ty = 0; ty < th; ty++)
            for (int tx = 0; tx < tw; tx++, t++) {
                const float *p[16];
                for (int r = 0; r < 4; r++) {
                    int iy = 2 * ty - 1 + r;
                    for (int s = 0; s < 4; s++) {
                        int ix = 2 * tx - 1 + s;
                        p[4 * r + s] = iy >= 0 && iy < H && ix >= 0 && ix < W
                                           ? in + (((size_t)b * H + iy) * W + ix) * C
                                           : zero;
                    }
                }
                float *v = V + t * C;
                int c = 0;
                for (; c + 8 <= C; c += 8)
                    INPUT_TF(v8f, LOADV, STOREV);
                for (; c < C; c++)
                    INPUT_TF(float, LOADS, STORES);
            }
}

/* Y = A^T m A + bias with A^T = [1 1 1 0; 0 1 -1 -1], for channels [k, k+8) or k,
 * m the 16 transformed products at mp[q*stride + k]; writes the tile's outputs
 * that fall inside the image. */
#define OUTPUT_TF(TY, LOAD, STORE)                                                       \
    do {                                                                                 \
        TY m[16], u0[4], u1[4], bb;                                                      \
        for (int q = 0; q < 16; q++)                                                     \
            LOAD(m[q], mp + (size_t)q * stride + k);                                     \
        LOAD(bb, bias + k);                                                              \
        for (int j = 0; j < 4; j++) {                                                    \
            u0[j] = m[j] + m[4 + j] + m[8 + j];                                          \
            u1[j] = m[4 + j] - m[8 + j] - m[12 + j];                                     \
        }                                                                                \
        TY y00 = u0[0] + u0[1] + u0[2] + bb, y01 = u0[1] - u0[2] - u0[3] + bb;           \
        TY y10 = u1[0] + u1[1] + u1[2] + bb, y11 = u1[1] - u1[2] - u1[3] + bb;           \
        STORE(o + k, y00);                                                               \
        if (right)                                                                       \
            STORE(o + K + k, y01);                                                       \
        if (down) {                                                                      \
            STORE(o + (size_t)W * K + k, y10);                                           \
            if (right)                                                                   \
                STORE(o + (size_t)W * K + K + k, y11);                                   \
        }                                                                                \
    } while (0)

WG_CLONES
static void output_tf(float *restrict out, const float *restrict M, const float *bias, int n,
                      int H, int W, int K)
{
    const int th = (H + 1) / 2, tw = (W + 1) / 2;
    const size_t stride = (size_t)n * th * tw * K;
    size_t t = 0;
    for (int b = 0; b < n; b++)
        for (int ty = 0; ty < th; ty++)
            for (int tx = 0; tx < tw; tx++, t++) {
                const float *mp = M + t * K;
                float *o = out + (((size_t)b * H + 2 * ty) * W + 2 * tx) * K;
                const int down = 2 * ty + 1 < H, right = 2 * tx + 1 < W;
                int k = 0;
                for (; k + 8 <= K; k += 8)
                    OUTPUT_TF(v8f, LOADV, STOREV);
                for (; k < K; k++)
                    OUTPUT_TF(float, LOADS, STORES);
            }
}

void wg_wino_conv(float *out, float *scratch, int nb, const float *in, const float *U,
                  const float *b, int B, int H, int W, int C, int K)
{
    const size_t tpi = (size_t)((H + 1) / 2) * (size_t)((W + 1) / 2);
    const size_t zl = zero_len(C, K);
    float *zero = scratch, *V = scratch + zl, *M = V + 16 * (size_t)nb * tpi * C;
    memset(zero, 0, zl * sizeof *zero);
    const float *bias = b ? b : zero;
    for (int b0 = 0; b0 < B; b0 += nb) {
        const int n = B - b0 < nb ? B - b0 : nb;
        const size_t T = (size_t)n * tpi;
        input_tf(V, in + (size_t)b0 * H * W * C, zero, n, H, W, C);
        for (int q = 0; q < 16; q++)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)T, K, C, 1.0f,
                        V + q * T * C, C, U + (size_t)q * C * K, K, 0.0f, M + q * T * K, K);
        output_tf(out + (size_t)b0 * H * W * K, M, bias, n, H, W, K);
    }
}

/* Z = A dY A^T with A = [1 0; 1 1; 1 -1; 0 -1]: the 2x2 output gradient of a tile
 * (zero where the tile leaves the image) spread over the 16 transformed
 * positions, for channels [k, k+8) or k, written at zp[q*stride + k]. */
#define GRAD_TF(TY, LOAD, STORE)                                                         \
    do {                                                                                 \
        TY y[4], r[8], z;                                                                \
        LOAD(y[0], o + k);                                                               \
        y[1] = y[2] = y[3] = y[0] - y[0];                                                \
        if (right)                                                                       \
            LOAD(y[1], o + K + k);                                                       \
        if (down) {                                                                      \
            LOAD(y[2], o + (size_t)W * K + k);                                           \
            if (right)                                                                   \
                LOAD(y[3], o + (size_t)W * K + K + k);                                   \
        }                                                                                \
        for (int j = 0; j < 2; j++) {                                                    \
            r[j] = y[j];                                                                 \
            r[2 + j] = y[j] + y[2 + j];                                                  \
            r[4 + j] = y[j] - y[2 + j];                                                  \
            r[6 + j] = -y[2 + j];                                                        \
        }                                                                                \
        for (int i = 0; i < 4; i++) {                                                    \
            STORE(zp + (size_t)(4 * i + 0) * stride + k, r[2 * i]);                      \
            z = r[2 * i] + r[2 * i + 1];                                                 \
            STORE(zp + (size_t)(4 * i + 1) * stride + k, z);                             \
            z = r[2 * i] - r[2 * i + 1];                                                 \
            STORE(zp + (size_t)(4 * i + 2) * stride + k, z);                             \
            z = -r[2 * i + 1];                                                           \
            STORE(zp + (size_t)(4 * i + 3) * stride + k, z);                             \
        }                                                                                \
    } while (0)

WG_CLONES
static void grad_tf(float *restrict Z, const float *restrict dout, int n, int H, int W, int K)
{
    const int th = (H + 1) / 2, tw = (W + 1) / 2;
    const size_t stride = (size_t)n * th * tw * K;
    size_t t = 0;
    for (int b = 0; b < n; b++)
        for (int ty = 0; ty < th; ty++)
            for (int tx = 0; tx < tw; tx++, t++) {
                float *zp = Z + t * K;
                const float *o = dout + (((size_t)b * H + 2 * ty) * W + 2 * tx) * K;
                const int down = 2 * ty + 1 < H, right = 2 * tx + 1 < W;
                int k = 0;
                for (; k + 8 <= K; k += 8)
                    GRAD_TF(v8f, LOADV, STOREV);
                for (; k < K; k++)
                    GRAD_TF(float, LOADS, STORES);
            }
}

/* The 3x3 filter gradient G^T s G of one (c, k) pair's 16 transformed sums, with
 * G^T = [1 1/2 1/2 0; 0 1/2 -1/2 0; 0 1/2 1/2 1]; dw = beta*dw + it, at the filter
 * taps of w's layout (tap q at dw[q * C * K]). */
static void filter_grad_one(float *dw, const float s[16], float beta, int C, int K)
{
    float t[3][4];
    for (int j = 0; j < 4; j++) {
        t[0][j] = s[j] + 0.5f * (s[4 + j] + s[8 + j]);
        t[1][j] = 0.5f * (s[4 + j] - s[8 + j]);
        t[2][j] = 0.5f * (s[4 + j] + s[8 + j]) + s[12 + j];
    }
    for (int ky = 0; ky < 3; ky++) {
        float g[3] = {t[ky][0] + 0.5f * (t[ky][1] + t[ky][2]), 0.5f * (t[ky][1] - t[ky][2]),
                      0.5f * (t[ky][1] + t[ky][2]) + t[ky][3]};
        for (int kx = 0; kx < 3; kx++) {
            float *d = dw + (size_t)(ky * 3 + kx) * C * K;
            *d = beta != 0.0f ? beta * *d + g[kx] : g[kx];
        }
    }
}

/* dw = beta*dw + G^T S G per (c, k). */
static void filter_grad_tf(float *dw, const float *S, float beta, int C, int K)
{
    const size_t CK = (size_t)C * K;
    for (int c = 0; c < C; c++)
        for (int k = 0; k < K; k++) {
            const size_t at = (size_t)c * K + k;
            float s[16];
            for (int q = 0; q < 16; q++)
                s[q] = S[q * CK + at];
            filter_grad_one(dw + at, s, beta, C, K);
        }
}

void wg_wino_backward_params(float *dw, float *db, float *scratch, int nb, const float *in,
                             const float *dout, float beta, int B, int H, int W, int C, int K)
{
    const size_t tpi = (size_t)((H + 1) / 2) * (size_t)((W + 1) / 2);
    const size_t zl = zero_len(C, K);
    float *zero = scratch, *V = scratch + zl, *Z = V + 16 * (size_t)nb * tpi * C;
    float *S = Z + 16 * (size_t)nb * tpi * K;
    memset(zero, 0, zl * sizeof *zero);
    for (int b0 = 0; b0 < B; b0 += nb) {
        const int n = B - b0 < nb ? B - b0 : nb;
        const size_t T = (size_t)n * tpi;
        input_tf(V, in + (size_t)b0 * H * W * C, zero, n, H, W, C);
        grad_tf(Z, dout + (size_t)b0 * H * W * K, n, H, W, K);
        /* S_q (C,K) [+]= V_q^T (C,T) Z_q (T,K), summed over the tiles of every block */
        for (int q = 0; q < 16; q++)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, C, K, (int)T, 1.0f,
                        V + q * T * C, C, Z + q * T * K, K, b0 == 0 ? 0.0f : 1.0f,
                        S + (size_t)q * C * K, K);
    }
    filter_grad_tf(dw, S, beta, C, K);
    wg_bias_grad(db, dout, (size_t)B * H * W, K, beta);
}

/* ---- R-operator (Hessian-vector products) ------------------------------------------ */

/* G directional derivatives travel together, interleaved per pixel: an activation
 * (B,H,W,G,C) is an image of G*C channels for the transforms, and a (T*G) x C
 * matrix per transformed position for the sgemms that share the filters; the
 * products with the G transformed directions (stacked along N, C x G*K) come out in
 * the same (tile, group, channel) order, so both add up before one output
 * transform (the transforms are linear). */

/* Scratch: a row of zeros | V1 (16 x T x G*C) | V2 (16 x T x C) | Z (16 x T x K) |
 * ZR (16 x T x G*K) | SA (16 x G*C x K) | SB (16 x C x G*K).  wg_wino_rconv uses
 * the first three parts (with C and K in either role), so the one size serves
 * both. */
size_t wg_wino_rscratch(int nb, int H, int W, int C, int K, int G)
{
    size_t tiles = (size_t)nb * (size_t)((H + 1) / 2) * (size_t)((W + 1) / 2);
    size_t g = (size_t)G, c = (size_t)C, k = (size_t)K;
    return zero_len(G * C, G * K) + 16 * tiles * (g * c + c + k + g * k) + 32 * g * c * k;
}

void wg_wino_rconv(float *out, float *scratch, int nb, const float *Rin, const float *U,
                   const float *in, const float *UG, const float *bG, int B, int H, int W,
                   int C, int K, int G)
{
    const size_t tpi = (size_t)((H + 1) / 2) * (size_t)((W + 1) / 2);
    const size_t zl = zero_len(G * C, G * K), GC = (size_t)G * C, GK = (size_t)G * K;
    float *zero = scratch, *V1 = scratch + zl, *V2 = V1 + 16 * (size_t)nb * tpi * GC;
    float *M = V2 + 16 * (size_t)nb * tpi * C;
    memset(zero, 0, zl * sizeof *zero);
    const float *bias = bG ? bG : zero;
    for (int b0 = 0; b0 < B; b0 += nb) {
        const int n = B - b0 < nb ? B - b0 : nb;
        const size_t T = (size_t)n * tpi;
        if (Rin)
            input_tf(V1, Rin + (size_t)b0 * H * W * GC, zero, n, H, W, (int)GC);
        input_tf(V2, in + (size_t)b0 * H * W * C, zero, n, H, W, C);
        for (int q = 0; q < 16; q++) {
            float *Mq = M + q * T * GK;
            if (Rin) /* (T*G x C) (C x K): the shared filters on every direction */
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)(T * G), K, C,
                            1.0f, V1 + q * T * GC, C, U + (size_t)q * C * K, K, 0.0f, Mq, K);
            /* (T x C) (C x G*K): the G directions' filters on the input */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)T, (int)GK, C, 1.0f,
                        V2 + q * T * C, C, UG + (size_t)q * C * GK, (int)GK, Rin ? 1.0f : 0.0f,
                        Mq, (int)GK);
        }
        output_tf(out + (size_t)b0 * H * W * GK, M, bias, n, H, W, (int)GK);
    }
}

void wg_wino_rbackward_params(float *dW, float *scratch, int nb, const float *Rin,
                              const float *in, const float *dout, const float *Rdout,
                              float beta, int B, int H, int W, int C, int K, int G)
{
    const size_t tpi = (size_t)((H + 1) / 2) * (size_t)((W + 1) / 2);
    const size_t zl = zero_len(G * C, G * K), GC = (size_t)G * C, GK = (size_t)G * K;
    const size_t nT = (size_t)nb * tpi;
    float *zero = scratch, *V1 = scratch + zl, *V2 = V1 + 16 * nT * GC;
    float *Z = V2 + 16 * nT * C, *ZR = Z + 16 * nT * K;
    float *SA = ZR + 16 * nT * GK, *SB = SA + 16 * GC * K;
    memset(zero, 0, zl * sizeof *zero);
    for (int b0 = 0; b0 < B; b0 += nb) {
        const int n = B - b0 < nb ? B - b0 : nb;
        const size_t T = (size_t)n * tpi;
        const float acc = b0 == 0 ? 0.0f : 1.0f;
        if (Rin) {
            input_tf(V1, Rin + (size_t)b0 * H * W * GC, zero, n, H, W, (int)GC);
            grad_tf(Z, dout + (size_t)b0 * H * W * K, n, H, W, K);
        }
        input_tf(V2, in + (size_t)b0 * H * W * C, zero, n, H, W, C);
        grad_tf(ZR, Rdout + (size_t)b0 * H * W * GK, n, H, W, (int)GK);
        for (int q = 0; q < 16; q++) {
            /* SA_q (G*C x K) += V1_q^T Z_q: the directions' inputs against dout */
            if (Rin)
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)GC, K, (int)T, 1.0f,
                            V1 + q * T * GC, (int)GC, Z + q * T * K, K, acc,
                            SA + (size_t)q * GC * K, K);
            /* SB_q (C x G*K) += V2_q^T ZR_q: the input against the directions' dout */
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, C, (int)GK, (int)T, 1.0f,
                        V2 + q * T * C, C, ZR + q * T * GK, (int)GK, acc,
                        SB + (size_t)q * C * GK, (int)GK);
        }
    }
    const size_t QS = GC * K; /* floats per transformed position of SA and SB */
    for (int j = 0; j < G; j++)
        for (int c = 0; c < C; c++)
            for (int k = 0; k < K; k++) {
                float s[16];
                for (int q = 0; q < 16; q++) {
                    float sb = SB[q * QS + ((size_t)c * G + j) * K + k];
                    s[q] = Rin ? SA[q * QS + ((size_t)j * C + c) * K + k] + sb : sb;
                }
                filter_grad_one(dW + ((size_t)j * 9 * C + c) * K + k, s, beta, C, K);
            }
}
