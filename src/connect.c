/* connect.c: optimisation inside an affine plane, for 1- and m-connectors.
 * The plane's normal space has an orthonormal basis B (m rows, m <= 10 or so), so
 * projecting a vector costs 2m dot products: nothing next to a gradient.  B is
 * double: its rows are differences of optima, whose float rounding would otherwise
 * leak into the plane's orthogonality. */
#include "wedge/connect.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "wedge/error.h"
#include "wedge/optim.h"
#include "wedge/rng.h"

void wg_connect_opts_default(wg_connect_opts *o)
{
    memset(o, 0, sizeof *o);
    o->objective = WG_CONNECT_POINT;
    o->steps = 200;
    o->lr = 1e-3;
    o->path_points = 7;
}

int wg_gram_schmidt(double *V, int m, size_t D)
{
    for (int i = 0; i < m; i++) {
        double *vi = V + (size_t)i * D;
        double n0 = 0.0;
        for (size_t k = 0; k < D; k++)
            n0 += vi[k] * vi[k];
        for (int pass = 0; pass < 2; pass++) /* twice is enough (Giraud et al.) */
            for (int j = 0; j < i; j++) {
                const double *vj = V + (size_t)j * D;
                double d = 0.0;
                for (size_t k = 0; k < D; k++)
                    d += vi[k] * vj[k];
                for (size_t k = 0; k < D; k++)
                    vi[k] -= d * vj[k];
            }
        double n = 0.0;
        for (size_t k = 0; k < D; k++)
            n += vi[k] * vi[k];
        if (!isfinite(n0))
            return WG_FAIL(WG_EARG, "connector: direction %d is not finite", i + 1);
        if (!(n > 1e-24 * n0) || !(n > 0))
            return WG_FAIL(WG_EARG, "connector: optimum %d lies in the span of the others", i + 1);
        n = 1.0 / sqrt(n);
        for (size_t k = 0; k < D; k++)
            vi[k] *= n;
    }
    return 0;
}

void wg_project_out(float *x, const double *B, int m, size_t D)
{
    for (int i = 0; i < m; i++) {
        const double *b = B + (size_t)i * D;
        double d = 0.0;
        for (size_t k = 0; k < D; k++)
            d += b[k] * x[k];
        for (size_t k = 0; k < D; k++)
            x[k] = (float)(x[k] - d * b[k]);
    }
}

double wg_plane_leak(const float *X, const float *X0, const double *B, int m, size_t D)
{
    double nn = 0.0, worst = 0.0;
    for (size_t k = 0; k < D; k++) {
        double d = (double)X[k] - X0[k];
        nn += d * d;
    }
    if (nn == 0.0)
        return 0.0;
    for (int i = 0; i < m; i++) {
        const double *b = B + (size_t)i * D;
        double d = 0.0;
        for (size_t k = 0; k < D; k++)
            d += b[k] * ((double)X[k] - X0[k]);
        worst = fmax(worst, fabs(d));
    }
    return worst / sqrt(nn);
}

/* Mean of L over the path points (or L(X)), and its gradient wrt X into g. */
static int path_loss(const wg_objective *f, const float *X, const float *const *anch,
                     int nanch, const wg_connect_opts *o, wg_rng *r, float *y, float *gy,
                     float *g, double *loss)
{
    const size_t D = f->dim;
    if (o->objective == WG_CONNECT_POINT || nanch == 0)
        return g ? wg_objective_grad(f, X, loss, g) : wg_objective_loss(f, X, loss);
    double total = 0.0;
    int count = 0, rc = 0;
    if (g)
        memset(g, 0, D * sizeof *g);
    for (int a = 0; rc == 0 && a < nanch; a++) {
        /* training: one u per segment and step; evaluation: every u */
        int lo = 1, hi = o->path_points;
        if (g) {
            lo = 1 + (int)wg_rng_below(r, (uint64_t)o->path_points);
            hi = lo;
        }
        for (int i = lo; rc == 0 && i <= hi; i++) {
            double u = (double)i / (o->path_points + 1), l;
            for (size_t k = 0; k < D; k++)
                y[k] = (float)((1.0 - u) * X[k] + u * anch[a][k]);
            rc = g ? wg_objective_grad(f, y, &l, gy) : wg_objective_loss(f, y, &l);
            if (rc)
                break;
            total += l;
            count++;
            if (g)
                for (size_t k = 0; k < D; k++)
                    g[k] += (float)(1.0 - u) * gy[k];
        }
    }
    if (rc == 0 && g)
        for (size_t k = 0; k < D; k++)
            g[k] /= (float)count;
    *loss = count ? total / count : NAN;
    return rc;
}

int wg_connect_optimize(const wg_objective *f, float *X, const double *B, int m,
                        const float *const *anchors, int nanch, const wg_connect_opts *o,
                        double *loss)
{
    const size_t D = f->dim;
    if (o->steps < 0 || !(o->lr > 0) || !isfinite(o->lr) || o->path_points < 1 || m < 0 ||
        nanch < 0 || (o->objective != WG_CONNECT_POINT && o->objective != WG_CONNECT_PATH))
        return WG_FAIL(WG_EARG, "connector: invalid options (steps %d, lr %g, m %d, anchors %d)",
                       o->steps, o->lr, m, nanch);
    float *X0 = wg_alloc(D, sizeof *X0, "connector start"), *g = wg_alloc(D, sizeof *g, "gradient");
    float *d = wg_alloc(D, sizeof *d, "update"), *y = wg_alloc(D, sizeof *y, "path point");
    float *gy = wg_alloc(D, sizeof *gy, "path gradient");
    wg_optim opt = {0};
    int rc = (!X0 || !g || !d || !y || !gy) ? WG_ENOMEM : 0;
    if (rc == 0)
        rc = wg_optim_init(&opt, WG_OPT_ADAM, D, 0.0);
    wg_rng r;
    wg_rng_init(&r, o->seed, wg_rng_stream(WG_RNG_CONNECT, o->stream, 0, 0));
    if (rc == 0)
        memcpy(X0, X, D * sizeof *X);
    for (int s = 0; rc == 0 && s < o->steps; s++) {
        if (o->stop && o->stop(o->stop_user)) {
            rc = WG_EINTR;
            break;
        }
        double l;
        rc = path_loss(f, X, anchors, nanch, o, &r, y, gy, g, &l);
        if (rc)
            break;
        wg_project_out(g, B, m, D);
        wg_optim_delta(&opt, d, g, o->lr);
        wg_project_out(d, B, m, D);
        for (size_t k = 0; k < D; k++)
            d[k] = X[k] + d[k] - X0[k]; /* the new offset from X0 ... */
        wg_project_out(d, B, m, D);     /* ... re-projected, so rounding cannot drift */
        for (size_t k = 0; k < D; k++)
            X[k] = X0[k] + d[k];
    }
    if (rc == 0)
        rc = path_loss(f, X, anchors, nanch, o, &r, y, gy, NULL, loss);
    wg_optim_free(&opt);
    free(X0), free(g), free(d), free(y), free(gy);
    return rc;
}
