/* slice.c: filter-normalised random directions and the loss along them (slice.h).
 * The normalisation follows loss-landscape's normalize_directions_for_weights
 * (Li et al. 2018), with filters read off wedge's layout: a weight tensor is a
 * (rows x K) row-major matrix whose K columns are the filters (conv: rows are the
 * 3x3xC inputs of output channel f; dense: the inputs of output unit f).  Nothing
 * here knows about tasks or files. */
#include "wedge/slice.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "wedge/error.h"
#include "wedge/rng.h"

double wg_slice_length(const float *x, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += (double)x[i] * x[i];
    return sqrt(s);
}

/* d's n entries start, start + stride, ... get the norm of theta's same entries. */
static void rescale(float *d, const float *theta, size_t start, size_t n, size_t stride)
{
    double nt = 0.0, nd = 0.0;
    for (size_t j = 0, i = start; j < n; j++, i += stride) {
        nt += (double)theta[i] * theta[i];
        nd += (double)d[i] * d[i];
    }
    double s = nd > 0.0 ? sqrt(nt) / sqrt(nd) : 0.0;
    for (size_t j = 0, i = start; j < n; j++, i += stride)
        d[i] = (float)((double)d[i] * s);
}

int wg_slice_normalise(float *d, const float *theta, size_t dim, const wg_tensor_info *t, int nt,
                       wg_slice_norm norm, wg_slice_bias bias)
{
    if (norm != WG_SLICE_FILTER && norm != WG_SLICE_LAYER && norm != WG_SLICE_NONE)
        return WG_FAIL(WG_EARG, "slice: unknown normalisation %d", (int)norm);
    if (bias != WG_SLICE_BIAS_ZERO && bias != WG_SLICE_BIAS_FILTER && bias != WG_SLICE_BIAS_COPY)
        return WG_FAIL(WG_EARG, "slice: unknown bias rule %d", (int)bias);
    if (norm != WG_SLICE_NONE && nt <= 0)
        return WG_FAIL(WG_EARG, "slice: %s normalisation needs the network's layers (the toy "
                       "model has none: use normalisation none)",
                       norm == WG_SLICE_FILTER ? "filter" : "layer");
    for (int k = 0; k < nt; k++)
        if (t[k].offset > dim || t[k].count > dim - t[k].offset)
            return WG_FAIL(WG_EARG, "slice: tensor %s [%zu, +%zu) outside the %zu parameters",
                           t[k].name, t[k].offset, t[k].count, dim);
    for (int k = 0; k < nt; k++) {
        const wg_tensor_info *ti = &t[k];
        if (ti->count == 0)
            continue;
        if (ti->ndim <= 1) { /* a bias: one value per filter */
            if (bias == WG_SLICE_BIAS_ZERO)
                memset(d + ti->offset, 0, ti->count * sizeof *d);
            else if (bias == WG_SLICE_BIAS_COPY)
                memcpy(d + ti->offset, theta + ti->offset, ti->count * sizeof *d);
            else if (norm != WG_SLICE_NONE)
                rescale(d, theta, ti->offset, ti->count, 1);
            continue;
        }
        size_t K = ti->shape[ti->ndim - 1] > 0 ? (size_t)ti->shape[ti->ndim - 1] : 1;
        if (norm == WG_SLICE_FILTER)
            for (size_t f = 0; f < K; f++)
                rescale(d, theta, ti->offset + f, ti->count / K, K);
        else if (norm == WG_SLICE_LAYER)
            rescale(d, theta, ti->offset, ti->count, 1);
    }
    return 0;
}

int wg_slice_direction(float *d, const float *theta, size_t dim, const wg_tensor_info *t, int nt,
                       wg_slice_norm norm, wg_slice_bias bias, uint64_t seed, uint64_t stream,
                       int k)
{
    wg_rng r;
    wg_rng_init(&r, seed, wg_rng_stream(WG_RNG_DIRECTION, stream, (uint64_t)k,
                                        WG_SLICE_STREAM_TAG));
    wg_rng_fill_normal(&r, d, dim);
    return wg_slice_normalise(d, theta, dim, t, nt, norm, bias);
}

void wg_slice_grid(double *x, int G, double range)
{
    for (int i = 0; i < G; i++)
        x[i] = range * (double)(2 * i - (G - 1)) / (double)(G - 1);
}

int wg_slice_eval(const wg_objective *f, const wg_slice_l2 *pen, const float *theta,
                  const float *d1, const float *d2, const double *a, const double *b, size_t n,
                  int (*stop)(void *), void *stop_user, double *loss, double *acc)
{
    const size_t D = f->dim;
    float *x = wg_alloc(D ? D : 1, sizeof *x, "slice point");
    int rc = x ? 0 : WG_ENOMEM;
    for (size_t p = 0; rc == 0 && p < n; p++) {
        if (stop && stop(stop_user)) {
            rc = WG_EINTR;
            break;
        }
        double ca = a[p], cb = d2 ? b[p] : 0.0;
        /* only the terms with a nonzero coefficient: b = 0 is the 1-D slice's point
         * and a = b = 0 is theta, bit for bit */
        if (ca != 0.0 && cb != 0.0)
            for (size_t i = 0; i < D; i++)
                x[i] = (float)((double)theta[i] + ca * d1[i] + cb * d2[i]);
        else if (ca != 0.0)
            for (size_t i = 0; i < D; i++)
                x[i] = (float)((double)theta[i] + ca * d1[i]);
        else if (cb != 0.0)
            for (size_t i = 0; i < D; i++)
                x[i] = (float)((double)theta[i] + cb * d2[i]);
        else
            memcpy(x, theta, D * sizeof *x);
        acc[p] = NAN;
        rc = f->evaluate ? f->evaluate(f->ctx, x, &loss[p], &acc[p])
                         : f->eval(f->ctx, x, &loss[p], NULL);
        if (rc == 0 && pen && pen->net && pen->l2 > 0.0)
            loss[p] += wg_net_l2(pen->net, x, NULL, pen->l2);
    }
    free(x);
    return rc;
}
