/* refnet.c: see refnet.h. */
#include "refnet.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "wedge/rng.h"

void ref_conv3(double *out, const double *in, const double *w, const double *b, int B,
               int H, int W, int C, int K)
{
    for (int n = 0; n < B; n++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
                for (int k = 0; k < K; k++) {
                    double s = b[k];
                    for (int ky = 0; ky < 3; ky++)
                        for (int kx = 0; kx < 3; kx++) {
                            int iy = y + ky - 1, ix = x + kx - 1;
                            if (iy < 0 || iy >= H || ix < 0 || ix >= W)
                                continue;
                            for (int c = 0; c < C; c++)
                                s += in[(((size_t)n * H + iy) * W + ix) * C + c] *
                                     w[((size_t)(ky * 3 + kx) * C + c) * K + k];
                        }
                    out[(((size_t)n * H + y) * W + x) * K + k] = s;
                }
}

void ref_dense(double *out, const double *in, const double *w, const double *b, int B,
               int C, int K)
{
    for (int n = 0; n < B; n++)
        for (int k = 0; k < K; k++) {
            double s = b[k];
            for (int c = 0; c < C; c++)
                s += in[(size_t)n * C + c] * w[(size_t)c * K + k];
            out[(size_t)n * K + k] = s;
        }
}

void ref_maxpool(double *out, const double *in, int B, int H, int W, int C)
{
    int OH = H / 2, OW = W / 2;
    for (int n = 0; n < B; n++)
        for (int y = 0; y < OH; y++)
            for (int x = 0; x < OW; x++)
                for (int c = 0; c < C; c++) {
                    double m = -INFINITY;
                    for (int dy = 0; dy < 2; dy++)
                        for (int dx = 0; dx < 2; dx++) {
                            double v = in[(((size_t)n * H + 2 * y + dy) * W + 2 * x + dx) * C + c];
                            if (v > m)
                                m = v;
                        }
                    out[(((size_t)n * OH + y) * OW + x) * C + c] = m;
                }
}

double ref_xent(const double *logits, const int *y, int B, int K)
{
    double total = 0.0;
    for (int n = 0; n < B; n++) {
        const double *z = logits + (size_t)n * K;
        double m = z[0];
        for (int k = 1; k < K; k++)
            if (z[k] > m)
                m = z[k];
        double s = 0.0;
        for (int k = 0; k < K; k++)
            s += exp(z[k] - m);
        total += m + log(s) - z[y[n]];
    }
    return total / B;
}

double ref_net_loss(const wg_net *net, const double *theta, const float *x, const int *y,
                    int B, float *const *masks)
{
    size_t cur_n = (size_t)B * net->in_size;
    double *cur = malloc(cur_n * sizeof *cur);
    for (size_t i = 0; i < cur_n; i++)
        cur[i] = x[i];
    for (int i = 0; i < net->nlayers; i++) {
        const wg_layer *L = &net->layers[i];
        size_t in_n = (size_t)B * L->h * L->w * L->c;
        size_t out_n = (size_t)B * L->oh * L->ow * L->oc;
        double *next = malloc(out_n * sizeof *next);
        const wg_tensor_info *t = L->param >= 0 ? &net->tensors[L->param] : NULL;
        switch (L->kind) {
        case WG_LAYER_CONV3:
            ref_conv3(next, cur, theta + t->offset, theta + t[1].offset, B, L->h, L->w, L->c,
                      L->k);
            break;
        case WG_LAYER_DENSE:
            ref_dense(next, cur, theta + t->offset, theta + t[1].offset, B, L->c, L->k);
            break;
        case WG_LAYER_TANH:
            for (size_t j = 0; j < in_n; j++)
                next[j] = tanh(cur[j]);
            break;
        case WG_LAYER_RELU:
            for (size_t j = 0; j < in_n; j++)
                next[j] = cur[j] > 0 ? cur[j] : 0;
            break;
        case WG_LAYER_MAXPOOL:
            ref_maxpool(next, cur, B, L->h, L->w, L->c);
            break;
        case WG_LAYER_DROPOUT:
            for (size_t j = 0; j < in_n; j++)
                next[j] = masks && masks[i] ? cur[j] * masks[i][j] : cur[j];
            break;
        }
        free(cur);
        cur = next;
    }
    double loss = ref_xent(cur, y, B, net->opts.classes);
    free(cur);
    return loss;
}

void ref_fill(float *x, size_t n, float lo, float hi, unsigned long seed)
{
    wg_rng r;
    wg_rng_init(&r, seed, wg_rng_stream(WG_RNG_TEST, 0, 0, 0));
    wg_rng_fill_uniform(&r, x, n, lo, hi);
}
