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

/* Forward keeping every layer's input: acts[i] is layer i's input, acts[nlayers] the
 * logits.  If kinks, also hash the non-smooth choices (see ref_net_kinks). */
static double **ref_forward_all(const wg_net *net, const double *theta, const float *x, int B,
                                float *const *masks, unsigned long *hash, double *margin)
{
    double **acts = calloc((size_t)net->nlayers + 1, sizeof *acts);
    size_t n0 = (size_t)B * net->in_size;
    acts[0] = malloc(n0 * sizeof **acts);
    for (size_t i = 0; i < n0; i++)
        acts[0][i] = x[i];
    unsigned long h = 1469598103934665603ul;
    double gap = INFINITY;
    for (int i = 0; i < net->nlayers; i++) {
        const wg_layer *L = &net->layers[i];
        size_t in_n = (size_t)B * L->h * L->w * L->c;
        size_t out_n = (size_t)B * L->oh * L->ow * L->oc;
        const double *cur = acts[i];
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
            for (size_t j = 0; j < in_n; j++) {
                next[j] = cur[j] > 0 ? cur[j] : 0;
                h = (h ^ (unsigned long)(cur[j] > 0)) * 1099511628211ul;
                gap = fmin(gap, fabs(cur[j]));
            }
            break;
        case WG_LAYER_MAXPOOL: {
            int H = L->h, W = L->w, C = L->c, OH = H / 2, OW = W / 2;
            for (int n = 0; n < B; n++)
                for (int y = 0; y < OH; y++)
                    for (int xx = 0; xx < OW; xx++)
                        for (int c = 0; c < C; c++) {
                            double m = -INFINITY, second = -INFINITY;
                            int arg = 0;
                            for (int q = 0; q < 4; q++) {
                                double v = cur[(((size_t)n * H + 2 * y + q / 2) * W + 2 * xx + q % 2) * C + c];
                                if (v > m) {
                                    second = m;
                                    m = v;
                                    arg = q;
                                } else if (v > second) {
                                    second = v;
                                }
                            }
                            next[(((size_t)n * OH + y) * OW + xx) * C + c] = m;
                            h = (h ^ (unsigned long)arg) * 1099511628211ul;
                            if (!(m == 0 && second == 0)) /* relu's zeros: see its margin */
                                gap = fmin(gap, m - second);
                        }
            break;
        }
        case WG_LAYER_DROPOUT:
            for (size_t j = 0; j < in_n; j++)
                next[j] = masks && masks[i] ? cur[j] * masks[i][j] : cur[j];
            break;
        }
        acts[i + 1] = next;
    }
    if (hash)
        *hash = h;
    if (margin)
        *margin = gap;
    return acts;
}

static void ref_free_all(const wg_net *net, double **acts)
{
    for (int i = 0; i <= net->nlayers; i++)
        free(acts[i]);
    free(acts);
}

unsigned long ref_net_kinks(const wg_net *net, const double *theta, const float *x, int B,
                            double *margin)
{
    unsigned long h;
    ref_free_all(net, ref_forward_all(net, theta, x, B, NULL, &h, margin));
    return h;
}

double ref_net_grad(const wg_net *net, const double *theta, const float *x, const int *y,
                    int B, float *const *masks, double *grad)
{
    double **acts = ref_forward_all(net, theta, x, B, masks, NULL, NULL);
    const int K = net->opts.classes;
    const double *z = acts[net->nlayers];
    memset(grad, 0, net->nparams * sizeof *grad);
    /* d(mean loss)/dlogits = (softmax - onehot) / B */
    double loss = ref_xent(z, y, B, K);
    double *g = malloc((size_t)B * K * sizeof *g);
    for (int n = 0; n < B; n++) {
        const double *zn = z + (size_t)n * K;
        double m = zn[0], s = 0.0;
        for (int k = 1; k < K; k++)
            m = fmax(m, zn[k]);
        for (int k = 0; k < K; k++)
            s += exp(zn[k] - m);
        for (int k = 0; k < K; k++)
            g[(size_t)n * K + k] = (exp(zn[k] - m) / s - (k == y[n])) / B;
    }
    for (int i = net->nlayers - 1; i >= 0; i--) {
        const wg_layer *L = &net->layers[i];
        const int H = L->h, W = L->w, C = L->c;
        const size_t in_n = (size_t)B * H * W * C;
        const double *in = acts[i], *out = acts[i + 1];
        double *din = calloc(in_n, sizeof *din);
        const wg_tensor_info *t = L->param >= 0 ? &net->tensors[L->param] : NULL;
        switch (L->kind) {
        case WG_LAYER_CONV3: {
            const int Kc = L->k;
            const double *w = theta + t->offset;
            double *dw = grad + t->offset, *db = grad + t[1].offset;
            for (int n = 0; n < B; n++)
                for (int yy = 0; yy < H; yy++)
                    for (int xx = 0; xx < W; xx++)
                        for (int k = 0; k < Kc; k++) {
                            double go = g[(((size_t)n * H + yy) * W + xx) * Kc + k];
                            db[k] += go;
                            for (int q = 0; q < 9; q++) {
                                int iy = yy + q / 3 - 1, ix = xx + q % 3 - 1;
                                if (iy < 0 || iy >= H || ix < 0 || ix >= W)
                                    continue;
                                size_t ii = (((size_t)n * H + iy) * W + ix) * C;
                                for (int c = 0; c < C; c++) {
                                    size_t wi = ((size_t)q * C + c) * Kc + k;
                                    dw[wi] += in[ii + c] * go;
                                    din[ii + c] += w[wi] * go;
                                }
                            }
                        }
            break;
        }
        case WG_LAYER_DENSE: {
            const int Kd = L->k;
            const double *w = theta + t->offset;
            double *dw = grad + t->offset, *db = grad + t[1].offset;
            for (int n = 0; n < B; n++)
                for (int k = 0; k < Kd; k++) {
                    double go = g[(size_t)n * Kd + k];
                    db[k] += go;
                    for (int c = 0; c < C; c++) {
                        dw[(size_t)c * Kd + k] += in[(size_t)n * C + c] * go;
                        din[(size_t)n * C + c] += w[(size_t)c * Kd + k] * go;
                    }
                }
            break;
        }
        case WG_LAYER_TANH:
            for (size_t j = 0; j < in_n; j++)
                din[j] = g[j] * (1.0 - out[j] * out[j]);
            break;
        case WG_LAYER_RELU:
            for (size_t j = 0; j < in_n; j++)
                din[j] = in[j] > 0 ? g[j] : 0.0;
            break;
        case WG_LAYER_MAXPOOL: {
            int OH = H / 2, OW = W / 2;
            for (int n = 0; n < B; n++)
                for (int yy = 0; yy < OH; yy++)
                    for (int xx = 0; xx < OW; xx++)
                        for (int c = 0; c < C; c++) {
                            size_t o = (((size_t)n * OH + yy) * OW + xx) * C + c;
                            for (int q = 0; q < 4; q++) {
                                size_t ii = (((size_t)n * H + 2 * yy + q / 2) * W + 2 * xx + q % 2) * C + c;
                                if (in[ii] == out[o]) { /* the first maximum */
                                    din[ii] = g[o];
                                    break;
                                }
                            }
                        }
            break;
        }
        case WG_LAYER_DROPOUT:
            for (size_t j = 0; j < in_n; j++)
                din[j] = masks && masks[i] ? g[j] * masks[i][j] : g[j];
            break;
        }
        free(g);
        g = din;
    }
    free(g);
    ref_free_all(net, acts);
    return loss;
}
