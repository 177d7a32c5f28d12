/* tunnel.c: the radial tunnel width probe.
 * One walk per direction: evaluate L at a0, 2 a0, 4 a0, ... until every level is
 * exceeded (or a_max), keeping the profile; then bisect each level inside its own
 * bracket.  The walk is shared by the levels, so three levels cost little more
 * than one.  Loss evaluations dominate; everything else is BLAS level 1. */
#include "wedge/tunnel.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "wedge/error.h"
#include "wedge/rng.h"

void wg_tunnel_opts_default(wg_tunnel_opts *o)
{
    memset(o, 0, sizeof *o);
    o->nlevels = 3;
    o->levels[0] = 1.0;
    o->levels[1] = 0.5;
    o->levels[2] = -log(10.0); /* chance level: absolute loss ln 10 */
    o->a0_rel = 1e-3;
    o->a_max_rel = 1e3;
    o->precision = 1e-3;
}

int wg_tunnel_result_init(wg_tunnel_result *r, int count, int nlevels)
{
    memset(r, 0, sizeof *r);
    size_t n = (size_t)count * (size_t)nlevels, p = (size_t)count * WG_TUNNEL_MAX_POINTS;
    r->count = count;
    r->nlevels = nlevels;
    r->astar = wg_calloc(n ? n : 1, sizeof *r->astar, "tunnel widths");
    r->how = wg_calloc(n ? n : 1, sizeof *r->how, "tunnel outcomes");
    r->npoints = wg_calloc(count ? (size_t)count : 1, sizeof *r->npoints, "tunnel profiles");
    r->prof_a = wg_calloc(p ? p : 1, sizeof *r->prof_a, "tunnel profiles");
    r->prof_loss = wg_calloc(p ? p : 1, sizeof *r->prof_loss, "tunnel profiles");
    if (!r->astar || !r->how || !r->npoints || !r->prof_a || !r->prof_loss) {
        wg_tunnel_result_free(r);
        return WG_ENOMEM;
    }
    return 0;
}

void wg_tunnel_result_free(wg_tunnel_result *r)
{
    if (!r)
        return;
    free(r->astar);
    free(r->how);
    free(r->npoints);
    free(r->prof_a);
    free(r->prof_loss);
    memset(r, 0, sizeof *r);
}

void wg_tunnel_direction(float *v, const float *P0, size_t dim, const wg_tunnel_opts *o,
                         int k)
{
    wg_rng r;
    wg_rng_init(&r, o->seed, wg_rng_stream(WG_RNG_DIRECTION, o->stream, (uint64_t)k, 0));
    wg_rng_fill_normal(&r, v, dim);
    double pp = 0.0, vp = 0.0;
    for (size_t i = 0; i < dim; i++) {
        pp += (double)P0[i] * P0[i];
        vp += (double)v[i] * P0[i];
    }
    if (pp > 0.0)
        for (size_t i = 0; i < dim; i++)
            v[i] -= (float)(vp / pp * P0[i]);
    double vv = 0.0;
    for (size_t i = 0; i < dim; i++)
        vv += (double)v[i] * v[i];
    float s = (float)(1.0 / sqrt(vv));
    for (size_t i = 0; i < dim; i++)
        v[i] *= s;
}

typedef struct walk {
    const wg_objective *f;
    const float *P0, *v;
    float *x;
    size_t dim;
    double *a, *loss; /* profile */
    int n;
    long evals;
} walk;

/* L(P0 + a v), recorded in the profile (the profile keeps the first points if full). */
static int eval_at(walk *w, double a, double *loss)
{
    for (size_t i = 0; i < w->dim; i++)
        w->x[i] = w->P0[i] + (float)a * w->v[i];
    int rc = w->f->eval(w->f->ctx, w->x, loss, NULL);
    w->evals++;
    if (rc)
        return rc;
    if (isnan(*loss))
        *loss = INFINITY; /* no loss to speak of: certainly not in the tunnel */
    if (w->n < WG_TUNNEL_MAX_POINTS) {
        w->a[w->n] = a;
        w->loss[w->n] = *loss;
        w->n++;
    }
    return 0;
}

static void sort_profile(double *a, double *loss, int n)
{
    for (int i = 1; i < n; i++) /* insertion sort: n <= 64 */
        for (int j = i; j > 0 && a[j - 1] > a[j]; j--) {
            double t = a[j];
            a[j] = a[j - 1];
            a[j - 1] = t;
            t = loss[j];
            loss[j] = loss[j - 1];
            loss[j - 1] = t;
        }
}

int wg_tunnel_probe(const wg_objective *f, const float *P0, const wg_tunnel_opts *o,
                    int first, int count, wg_tunnel_result *r)
{
    const size_t D = f->dim;
    memset(r, 0, sizeof *r);
    if (count < 0 || o->nlevels < 0 || o->nlevels > WG_TUNNEL_MAX_LEVELS ||
        !(o->a0_rel > 0) || !(o->a_max_rel >= o->a0_rel) ||
        !(o->precision > 0 && o->precision < 1))
        return WG_FAIL(WG_EARG, "tunnel probe: invalid options (levels %d, a0 %g, a_max %g, "
                                "precision %g)", o->nlevels, o->a0_rel, o->a_max_rel,
                       o->precision);
    int rc = wg_tunnel_result_init(r, count, o->nlevels);
    if (rc)
        return rc;
    float *v = wg_alloc(D, sizeof *v, "probe direction");
    float *x = wg_alloc(D, sizeof *x, "probe point");
    if (!v || !x) {
        free(v);
        free(x);
        return WG_ENOMEM;
    }
    double nn = 0.0;
    for (size_t i = 0; i < D; i++)
        nn += (double)P0[i] * P0[i];
    r->norm = sqrt(nn);
    if (!(r->norm > 0) || !isfinite(r->norm)) {
        free(v);
        free(x);
        return WG_FAIL(WG_EARG, "tunnel probe: |P0| = %g (the probe scales with |P0|)", r->norm);
    }
    rc = f->eval(f->ctx, P0, &r->loss0, NULL);
    r->evals = 1;
    if (rc == 0 && !isfinite(r->loss0))
        rc = WG_FAIL(WG_EDIVERGED, "loss at the probed point is %g", r->loss0);
    double target[WG_TUNNEL_MAX_LEVELS];
    for (int l = 0; l < o->nlevels; l++)
        target[l] = o->levels[l] > 0 ? r->loss0 + o->levels[l] : -o->levels[l];
    const double a0 = o->a0_rel * r->norm, amax = o->a_max_rel * r->norm;
    for (int k = 0; rc == 0 && k < count; k++) {
        if (o->stop && o->stop(o->stop_user)) {
            rc = WG_EINTR;
            break;
        }
        wg_tunnel_direction(v, P0, D, o, first + k);
        walk w = {f, P0, v, x, D, r->prof_a + (size_t)k * WG_TUNNEL_MAX_POINTS,
                  r->prof_loss + (size_t)k * WG_TUNNEL_MAX_POINTS, 0, 0};
        /* geometric bracket: lo[l] < a*[l] <= hi[l] */
        double lo[WG_TUNNEL_MAX_LEVELS], hi[WG_TUNNEL_MAX_LEVELS];
        int open = 0;
        for (int l = 0; l < o->nlevels; l++) {
            lo[l] = 0.0;
            hi[l] = NAN;
            int *how = &r->how[k * o->nlevels + l];
            if (target[l] <= r->loss0) {
                *how = WG_TUNNEL_AT_START;
                r->astar[k * o->nlevels + l] = 0.0;
            } else {
                *how = WG_TUNNEL_NOT_REACHED;
                open++;
            }
        }
        double prev = 0.0;
        /* a0, 2 a0, 4 a0, ... and a_max itself last */
        for (double a = a0; rc == 0 && open > 0; a = a * 2 < amax ? a * 2 : amax) {
            double L;
            rc = eval_at(&w, a, &L);
            for (int l = 0; rc == 0 && l < o->nlevels; l++) {
                if (r->how[k * o->nlevels + l] != WG_TUNNEL_NOT_REACHED || !isnan(hi[l]))
                    continue;
                if (L >= target[l]) {
                    lo[l] = prev;
                    hi[l] = a;
                    open--;
                }
            }
            prev = a;
            if (a >= amax)
                break;
        }
        /* bisection per level */
        for (int l = 0; rc == 0 && l < o->nlevels; l++) {
            double *as = &r->astar[k * o->nlevels + l];
            if (r->how[k * o->nlevels + l] == WG_TUNNEL_AT_START)
                continue;
            if (isnan(hi[l])) {
                *as = NAN;
                continue;
            }
            double a_lo = lo[l], a_hi = hi[l];
            /* points the other levels' bisections already evaluated narrow this
             * bracket for free (the levels 0.5 and 1 often share a doubling step) */
            for (int i = 0; i < w.n; i++)
                if (w.a[i] > a_lo && w.a[i] < a_hi) {
                    if (w.loss[i] >= target[l])
                        a_hi = w.a[i];
                    else
                        a_lo = w.a[i];
                }
            while (rc == 0 && a_hi - a_lo > o->precision * a_hi) {
                double mid = 0.5 * (a_lo + a_hi), L;
                rc = eval_at(&w, mid, &L);
                if (rc)
                    break;
                if (L >= target[l])
                    a_hi = mid;
                else
                    a_lo = mid;
            }
            if (rc)
                break;
            *as = a_hi;
            r->how[k * o->nlevels + l] = WG_TUNNEL_FOUND;
        }
        sort_profile(w.a, w.loss, w.n);
        r->npoints[k] = w.n;
        r->evals += w.evals;
    }
    free(v);
    free(x);
    return rc;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double wg_tunnel_phi(const double *astar, int n, int stride, double norm)
{
    if (n <= 0 || !(norm > 0))
        return NAN;
    double *s = malloc((size_t)n * sizeof *s);
    if (!s)
        return NAN;
    for (int i = 0; i < n; i++)
        s[i] = isnan(astar[(size_t)i * stride]) ? INFINITY : astar[(size_t)i * stride];
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    double med = n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
    free(s);
    return isfinite(med) ? atan(med / norm) : NAN;
}
