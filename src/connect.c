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
#include "wedge/toy.h"

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

/* Minibatches of connector steps (o->train): passes over a seeded permutation of
 * the training examples, the last incomplete batch of a pass skipped. */
typedef struct draws {
    uint32_t *perm;
    size_t n, pos;
    uint64_t pass;
} draws;

static const uint32_t *next_batch(draws *dr, const wg_connect_opts *o)
{
    if (dr->pos + o->batch > dr->n) {
        wg_rng r;
        wg_rng_init(&r, o->seed, wg_rng_stream(WG_RNG_CONNECT, o->stream, 0xBA7C, dr->pass++));
        wg_rng_permute(&r, dr->perm, dr->n);
        dr->pos = 0;
    }
    dr->pos += o->batch;
    return dr->perm + dr->pos - o->batch;
}

/* L and its gradient at theta: over all of f's data, or (o->train) over minibatch
 * idx of step `step` (which also keys dropout). */
static int grad_at(const wg_objective *f, const float *theta, const wg_connect_opts *o,
                   const uint32_t *idx, uint64_t step, double *loss, float *g)
{
    if (!o->train)
        return wg_objective_grad(f, theta, loss, g);
    double sum = 0.0;
    size_t right = 0;
    int rc = o->train->batch(o->train->ctx, theta, idx, o->batch, o->seed,
                             wg_rng_stream(WG_RNG_DROPOUT, o->stream, step, 0xC0), &sum,
                             &right, g);
    *loss = sum / (double)o->batch;
    if (rc == 0 && !isfinite(*loss))
        rc = WG_FAIL(WG_EDIVERGED, "connector: minibatch loss %g at step %llu", *loss,
                     (unsigned long long)step);
    return rc;
}

/* Mean of L over the path points (or L(X)), and its gradient wrt X into g (over
 * minibatch idx if o->train). */
static int path_loss(const wg_objective *f, const float *X, const float *const *anch,
                     int nanch, const wg_connect_opts *o, wg_rng *r, float *y, float *gy,
                     const uint32_t *idx, uint64_t step, float *g, double *loss)
{
    const size_t D = f->dim;
    if (o->objective == WG_CONNECT_POINT || nanch == 0)
        return g ? grad_at(f, X, o, idx, step, loss, g) : wg_objective_loss(f, X, loss);
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
            rc = g ? grad_at(f, y, o, idx, step, &l, gy) : wg_objective_loss(f, y, &l);
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
        nanch < 0 || (o->objective != WG_CONNECT_POINT && o->objective != WG_CONNECT_PATH) ||
        !(o->until_loss >= 0.0))
        return WG_FAIL(WG_EARG, "connector: invalid options (steps %d, lr %g, m %d, anchors %d)",
                       o->steps, o->lr, m, nanch);
    if (o->train && (!o->train->batch || o->train->dim != D || o->batch < 1 ||
                     o->batch > o->train->ntrain || o->batch > o->train->batch_cap))
        return WG_FAIL(WG_EARG, "connector: minibatches of %zu from an objective of %zu "
                       "examples (capacity %zu, dimension %zu against %zu)", o->batch,
                       o->train->ntrain, o->train->batch_cap, o->train->dim, D);
    draws dr = {0};
    if (o->train) {
        dr.n = dr.pos = o->train->ntrain;
        if (!(dr.perm = wg_alloc(dr.n, sizeof *dr.perm, "minibatch order")))
            return WG_ENOMEM;
    }
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
    int s = 0, reached = 0;
    for (; rc == 0 && s < o->steps; s++) {
        if (o->stop && o->stop(o->stop_user)) {
            rc = WG_EINTR;
            break;
        }
        double l;
        if (o->until_loss > 0 && s % WG_CONNECT_CHECK == 0) {
            rc = path_loss(f, X, anchors, nanch, o, &r, y, gy, NULL, 0, NULL, loss);
            if (rc || (reached = *loss <= o->until_loss))
                break;
        }
        const uint32_t *idx = o->train ? next_batch(&dr, o) : NULL;
        rc = path_loss(f, X, anchors, nanch, o, &r, y, gy, idx, (uint64_t)s, g, &l);
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
    if (o->taken)
        *o->taken = s;
    if (rc == 0 && !reached) /* (reached: *loss is the check's, at this X) */
        rc = path_loss(f, X, anchors, nanch, o, &r, y, gy, NULL, 0, NULL, loss);
    wg_optim_free(&opt);
    free(X0), free(g), free(d), free(y), free(gy), free(dr.perm);
    return rc;
}

/* ---- a whole connector ------------------------------------------------------------------- */

/* Near-zero coordinates: |X_j| <= NEAR_ZERO_REL |X| / sqrt(D) (docs/METHODS.md). */
#define NEAR_ZERO_REL 1e-3

void wg_connector_free(wg_connector *c)
{
    if (!c)
        return;
    free(c->X);
    free(c->loss);
    free(c->train_loss); /* the eight path arrays share one block */
    free(c->cosine);
    free(c->near_zero);
    free(c->steps);
    memset(c, 0, sizeof *c);
}

/* Loss, accuracy and (optionally) predictions of objective f at theta. */
static int measure(const wg_objective *f, const float *theta, double *loss, double *acc,
                   int *pred)
{
    int rc = f->eval(f->ctx, theta, loss, NULL);
    if (rc == 0 && acc)
        rc = f->accuracy(f->ctx, theta, acc);
    if (rc == 0 && pred)
        rc = f->predict(f->ctx, theta, pred);
    return rc;
}

static double changed(const int *a, const int *b, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += a[i] != b[i];
    return n ? (double)k / (double)n : NAN;
}

int wg_connect_run(const wg_objective *f, const wg_objective *ft, const float *const *O, int m,
                   int K, int E, int rounds, const wg_connect_opts *o, wg_connector *c)
{
    memset(c, 0, sizeof *c);
    const size_t D = f->dim;
    const int nseg = m == 1 ? K + 1 : m + 1, test = ft && ft->dim > 0;
    if (m < 1 || K < 1 || E < 1)
        return WG_FAIL(WG_EARG, "connector: m = %d, %d points, %d evaluations per segment", m,
                       K, E);
    c->m = m, c->K = K, c->nseg = nseg, c->E = E, c->D = D;
    const size_t p = (size_t)nseg * (size_t)E;
    c->X = wg_alloc((size_t)K, D * sizeof *c->X, "connector points");
    c->loss = wg_calloc((size_t)K, sizeof *c->loss, "connector losses");
    c->train_loss = wg_alloc(8 * p, sizeof *c->train_loss, "connector path");
    c->cosine = wg_alloc((size_t)K * (size_t)K, sizeof *c->cosine, "connector cosines");
    c->near_zero = wg_alloc((size_t)K, sizeof *c->near_zero, "connector counts");
    c->steps = wg_calloc((size_t)K, sizeof *c->steps, "connector steps");
    double *B = wg_alloc((size_t)m, D * sizeof *B, "connector basis");
    float *y = wg_alloc(D, sizeof *y, "path point");
    float *C = wg_alloc((size_t)K, D * sizeof *C, "connector starts");
    int *p0 = NULL, *p1 = NULL, *pp = NULL;
    int rc = !c->X || !c->loss || !c->train_loss || !c->cosine || !c->near_zero || !c->steps ||
             !B || !y || !C ? WG_ENOMEM : 0;
    if (rc == 0) {
        double *q = c->train_loss;
        c->train_acc = q + p, c->test_loss = q + 2 * p, c->test_acc = q + 3 * p;
        c->changed_a = q + 4 * p, c->changed_b = q + 5 * p;
        c->line_train = q + 6 * p, c->line_test = q + 7 * p;
    }
    if (rc == 0 && test) {
        p0 = wg_alloc(ft->nexamples, sizeof *p0, "predictions");
        p1 = wg_alloc(ft->nexamples, sizeof *p1, "predictions");
        pp = wg_alloc(ft->nexamples, sizeof *pp, "predictions");
        if (!p0 || !p1 || !pp)
            rc = WG_ENOMEM;
    }
    float *X = c->X;
    /* the plane: B's rows span the directions between the optima */
    for (int j = 0; rc == 0 && j < m; j++)
        for (size_t i = 0; i < D; i++)
            B[(size_t)j * D + i] = (double)O[j + 1][i] - O[0][i];
    if (rc == 0)
        rc = wg_gram_schmidt(B, m, D);
    /* starting points: C_k on the segment, or the centroid */
    for (int k = 0; rc == 0 && k < K; k++)
        for (size_t i = 0; i < D; i++) {
            double v = 0.0;
            if (m == 1) {
                double tk = (double)(k + 1) / (K + 1);
                v = (1.0 - tk) * O[0][i] + tk * O[1][i];
            } else {
                for (int j = 0; j <= m; j++)
                    v += O[j][i];
                v /= m + 1;
            }
            X[(size_t)k * D + i] = (float)v;
        }
    if (rc == 0)
        memcpy(C, X, (size_t)K * D * sizeof *C);
    wg_connect_opts oo = *o;
    if (m != 1 || o->objective != WG_CONNECT_PATH)
        rounds = 1;
    c->leak = 0.0;
    for (int round = 0; rc == 0 && round < rounds; round++)
        for (int k = 0; rc == 0 && k < K; k++) {
            const float *anch[11];
            int na;
            if (m == 1) { /* the neighbours on the polyline O1, X_1 .. X_K, O2 */
                anch[0] = k == 0 ? O[0] : X + (size_t)(k - 1) * D;
                anch[1] = k == K - 1 ? O[1] : X + (size_t)(k + 1) * D;
                na = 2;
            } else {
                for (int j = 0; j <= m; j++)
                    anch[j] = O[j];
                na = m + 1;
            }
            int taken = 0;
            oo.stream = (uint64_t)(round * 1000 + k);
            oo.taken = &taken;
            rc = wg_connect_optimize(f, X + (size_t)k * D, B, m, anch, na, &oo, &c->loss[k]);
            c->steps[k] += taken;
            if (rc == 0)
                c->leak = fmax(c->leak, wg_plane_leak(X + (size_t)k * D, C + (size_t)k * D, B,
                                                      m, D));
        }
    /* along the path and the straight line */
    double scratch;
    if (rc == 0 && test)
        rc = measure(ft, O[0], &scratch, NULL, p0);
    if (rc == 0 && test)
        rc = measure(ft, O[1], &scratch, NULL, p1);
    double bpath = -INFINITY, bline = -INFINITY;
    for (int sg = 0; rc == 0 && sg < nseg; sg++) {
        const float *a, *b, *la, *lb;
        if (m == 1) {
            a = sg == 0 ? O[0] : X + (size_t)(sg - 1) * D;
            b = sg == K ? O[1] : X + (size_t)sg * D;
            la = O[0];
            lb = O[1];
        } else {
            a = X;
            b = O[sg];
            la = C;
            lb = O[sg];
        }
        if (m > 1 && test)
            rc = measure(ft, O[sg], &scratch, NULL, p1);
        for (int e = 0; rc == 0 && e < E; e++) {
            size_t q = (size_t)sg * E + (size_t)e;
            double u = (double)e / E;
            for (size_t i = 0; i < D; i++)
                y[i] = (float)((1.0 - u) * a[i] + u * b[i]);
            rc = measure(f, y, &c->train_loss[q], f->accuracy ? &c->train_acc[q] : NULL, NULL);
            if (rc == 0 && test)
                rc = measure(ft, y, &c->test_loss[q], &c->test_acc[q], pp);
            if (rc)
                break;
            if (!f->accuracy)
                c->train_acc[q] = NAN;
            if (test) {
                c->changed_a[q] = changed(pp, p0, ft->nexamples);
                c->changed_b[q] = changed(pp, p1, ft->nexamples);
            } else {
                c->test_loss[q] = c->test_acc[q] = c->changed_a[q] = c->changed_b[q] = NAN;
            }
            bpath = fmax(bpath, c->train_loss[q]);
            /* the straight line: O1 -> O2 in nseg*E steps, or centroid -> O_i */
            double ul = m == 1 ? (double)q / ((double)nseg * E) : u;
            for (size_t i = 0; i < D; i++)
                y[i] = (float)((1.0 - ul) * la[i] + ul * lb[i]);
            rc = measure(f, y, &c->line_train[q], NULL, NULL);
            if (rc == 0 && test)
                rc = measure(ft, y, &c->line_test[q], NULL, NULL);
            else
                c->line_test[q] = NAN;
            if (rc == 0)
                bline = fmax(bline, c->line_train[q]);
        }
    }
    if (rc == 0) {
        c->barrier_path = bpath;
        c->barrier_line = bline;
        for (int k = 0; k < K; k++) /* near-zero coordinates of each point (METHODS.md) */
            c->near_zero[k] = (int)wg_toy_short_dirs(X + (size_t)k * D, D, NEAR_ZERO_REL);
        /* cosines of the deviations X_k - C_k (Figure 3, middle) */
        for (int a = 0; a < K; a++)
            for (int b = 0; b < K; b++) {
                double ab = 0, aa = 0, bb = 0;
                for (size_t i = 0; i < D; i++) {
                    double da = (double)X[(size_t)a * D + i] - C[(size_t)a * D + i];
                    double db = (double)X[(size_t)b * D + i] - C[(size_t)b * D + i];
                    ab += da * db, aa += da * da, bb += db * db;
                }
                c->cosine[(size_t)a * K + b] = ab / sqrt(aa * bb);
            }
    }
    free(B), free(y), free(C), free(p0), free(p1), free(pp);
    return rc;
}
