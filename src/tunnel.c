/* tunnel.c: the radial tunnel width probe.
 *
 * For each direction v and each level T (a loss), a* is located by a bracket of
 * evaluated distances [lo, hi] with hi - lo <= precision * hi, L(hi) >= T, L(lo) < T
 * (lo = 0 stands for P0 itself, L(P0) < T) and every evaluated point below hi under
 * T; a* = hi.  That is what both searches below guarantee: a crossing of T lies in
 * (lo, hi], and it is the first crossing the evaluations saw.  It need not be the
 * first crossing of the function: an excursion above T between two evaluated
 * points, or below the lowest one, goes unseen by either search.
 *
 * INTERP (the default) keeps every evaluation of a direction in one sorted list, so
 * each point narrows every level's bracket, and takes the levels in increasing order
 * of T.  A level with no point above it yet is walked up to, from guess_rel |P0|:
 * each step aims a little beyond the crossing predicted by extrapolating
 * u = log(L - L(P0)) against log a (linearly, or quadratically through three points
 * when the two agree), and is at most walk_ratio long.  A level that the first point
 * already exceeds is stepped down to in the same way.  So no two consecutive points
 * are more than walk_ratio apart, and an excursion above T that spans a wider ratio
 * of a, between the lowest point and a*, is never missed (BISECT's doubling walk
 * gives the ratio 2, from a0 up; INTERP does not look below its lowest point, which
 * on a trained network is |P0|, or a step or two below it).  A bracketed level is
 * refined by inverse quadratic (else linear) interpolation of log a against u
 * through the bracket's ends and their nearest neighbour; a point predicted within
 * 0.9 precision of an end is placed exactly there, so that a right prediction closes
 * the bracket; and when two steps together fail to halve log(hi / lo) while the
 * estimates are not contracting either, the next one is a geometric bisection.  So
 * every profile ends in finitely many steps (on the step, plateau and bump profiles
 * of the tests, fewer than the bisection's).  On a smooth profile a level costs 2-3
 * evaluations once the walk has bracketed it, about 10.5 per direction for three
 * levels on a trained SimpleCNN (40 for BISECT).  Everything a direction's search uses is L(P0), |P0|, the options and
 * that direction's own points, so the result does not depend on how directions are
 * split over tasks.
 *
 * BISECT (the original search, for comparison): L at a0, 2 a0, 4 a0, ... until every
 * level is exceeded (or a_max), keeping the profile; then bisection of each level
 * inside its own bracket.
 *
 * Loss evaluations dominate; everything else is BLAS level 1. */
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
    o->search = WG_TUNNEL_INTERP;
    o->guess_rel = 1.0;
    o->walk_ratio = 4.0;
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
    r->nevals = wg_calloc(count ? (size_t)count : 1, sizeof *r->nevals, "tunnel evaluations");
    r->prof_a = wg_calloc(p ? p : 1, sizeof *r->prof_a, "tunnel profiles");
    r->prof_loss = wg_calloc(p ? p : 1, sizeof *r->prof_loss, "tunnel profiles");
    if (!r->astar || !r->how || !r->npoints || !r->nevals || !r->prof_a || !r->prof_loss) {
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
    free(r->nevals);
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

/* ---- BISECT: doubling walk from a0, then bisection per level ---------------------- */

static int bisect_direction(walk *w, const wg_tunnel_opts *o, double a0, double amax,
                            const double *target, int *how, double *astar)
{
    int rc = 0;
    /* geometric bracket: lo[l] < a*[l] <= hi[l] */
    double lo[WG_TUNNEL_MAX_LEVELS], hi[WG_TUNNEL_MAX_LEVELS];
    int open = 0;
    for (int l = 0; l < o->nlevels; l++) {
        lo[l] = 0.0;
        hi[l] = NAN;
        if (how[l] == WG_TUNNEL_NOT_REACHED)
            open++;
    }
    double prev = 0.0;
    /* a0, 2 a0, 4 a0, ... and a_max itself last */
    for (double a = a0; rc == 0 && open > 0; a = a * 2 < amax ? a * 2 : amax) {
        double L;
        rc = eval_at(w, a, &L);
        for (int l = 0; rc == 0 && l < o->nlevels; l++) {
            if (how[l] != WG_TUNNEL_NOT_REACHED || !isnan(hi[l]))
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
        if (how[l] == WG_TUNNEL_AT_START)
            continue;
        if (isnan(hi[l])) {
            astar[l] = NAN;
            continue;
        }
        double a_lo = lo[l], a_hi = hi[l];
        /* points the other levels' bisections already evaluated narrow this
         * bracket for free (the levels 0.5 and 1 often share a doubling step) */
        for (int i = 0; i < w->n; i++)
            if (w->a[i] > a_lo && w->a[i] < a_hi) {
                if (w->loss[i] >= target[l])
                    a_hi = w->a[i];
                else
                    a_lo = w->a[i];
            }
        while (rc == 0 && a_hi - a_lo > o->precision * a_hi) {
            double mid = 0.5 * (a_lo + a_hi), L;
            rc = eval_at(w, mid, &L);
            if (rc)
                break;
            if (L >= target[l])
                a_hi = mid;
            else
                a_lo = mid;
        }
        if (rc)
            break;
        astar[l] = a_hi;
        how[l] = WG_TUNNEL_FOUND;
    }
    return rc;
}

/* ---- INTERP: walk from a guess, then safeguarded interpolation ----------------------- */

/* Slopes d log(L - L0) / d log a used for extrapolation are clamped to this range: a
 * loss rising like a^0.5 .. a^4 near the levels (a minimum's quadratic rise is 2). */
#define SLOPE_MIN 0.5
#define SLOPE_MAX 4.0
/* A walk step aims this fraction of its predicted log-distance beyond the crossing,
 * so that a slightly optimistic prediction still brackets the level. */
#define OVERSHOOT 0.075
/* Walk steps shorter than this ratio count as creeping (see walk_step). */
#define SMALL_STEP 1.1

/* Every evaluated point of one direction, sorted by a (NaN losses stored as +inf). */
typedef struct points {
    double *a, *L;
    int n, cap;
} points;

static int points_insert(points *p, double a, double L)
{
    if (p->n == p->cap) {
        int cap = p->cap ? 2 * p->cap : 64;
        double *na = wg_alloc((size_t)cap, sizeof *na, "tunnel search points");
        double *nl = wg_alloc((size_t)cap, sizeof *nl, "tunnel search points");
        if (!na || !nl) {
            free(na);
            free(nl);
            return WG_ENOMEM;
        }
        if (p->n) {
            memcpy(na, p->a, (size_t)p->n * sizeof *na);
            memcpy(nl, p->L, (size_t)p->n * sizeof *nl);
        }
        free(p->a);
        free(p->L);
        p->a = na;
        p->L = nl;
        p->cap = cap;
    }
    int i = p->n;
    for (; i > 0 && p->a[i - 1] > a; i--) {
        p->a[i] = p->a[i - 1];
        p->L[i] = p->L[i - 1];
    }
    p->a[i] = a;
    p->L[i] = L;
    p->n++;
    return 0;
}

typedef struct search {
    points pt;
    double L0, norm, amax, p;
    const wg_tunnel_opts *o;
} search;

/* The search state of one level. */
typedef struct level {
    double T, ut;  /* target loss and log(T - L0) */
    double w0;     /* refinement: log(hi / lo) at the last checkpoint */
    int steps;     /* refinement: interpolation steps since that checkpoint */
    int closing;   /* refinement: the previous step was placed to close the bracket */
    double last;   /* refinement: the previous step's point (0 before the first) */
    double dlast;  /* refinement: |log| of that step's move from the one before */
    double ratio;  /* walk: ratio of the previous step */
    int nsmall;    /* walk: consecutive steps of a ratio below SMALL_STEP */
} level;

/* Points with L > L0 have a log-log coordinate u = log(L - L0). */
static int has_u(const search *s, int i)
{
    return isfinite(s->pt.L[i]) && s->pt.L[i] > s->L0;
}

static double u_of(const search *s, int i)
{
    return log(s->pt.L[i] - s->L0);
}

static double clamp(double x, double lo, double hi)
{
    return x < lo ? lo : x > hi ? hi : x;
}

/* The nearest point behind point i (away from the level: below it if dir = +1,
 * above if -1) that has a u, if its u is ordered with i's (lower behind, if dir = +1)
 * and it lies at least `gap` from i in log a; else -1. */
static int behind(const search *s, int i, int dir, double gap)
{
    for (int j = i - dir; j >= 0 && j < s->pt.n; j -= dir) {
        if (!has_u(s, j) || fabs(log(s->pt.a[i] / s->pt.a[j])) < gap)
            continue;
        return dir * (u_of(s, i) - u_of(s, j)) > 0 ? j : -1;
    }
    return -1;
}

/* Inverse quadratic interpolation: log a where u = ut, through three (s, u) nodes
 * with distinct u. */
static double iqi(double ut, double s0, double u0, double s1, double u1, double s2,
                  double u2)
{
    return s0 * (ut - u1) * (ut - u2) / ((u0 - u1) * (u0 - u2)) +
           s1 * (ut - u0) * (ut - u2) / ((u1 - u0) * (u1 - u2)) +
           s2 * (ut - u0) * (ut - u1) / ((u2 - u0) * (u2 - u1));
}

/* Predicted log-distance from point i to the crossing of lv, looking up (dir = +1:
 * the level is above L at i) or down (-1).  Linear in (log a, u) through i and the
 * nearest point j behind it, the slope clamped to [SLOPE_MIN, SLOPE_MAX] (with no
 * such point, the quadratic rise of a minimum: slope 2); quadratic through a third
 * point behind j, at least 4 precision from it in log a (not the same closed
 * bracket), when that prediction is within a factor 2 of the linear one.  NaN if i
 * has no u. */
static double extrapolate(const search *s, const level *lv, int i, int dir)
{
    if (!has_u(s, i))
        return NAN;
    const double ui = u_of(s, i), si = log(s->pt.a[i]);
    int j = i - dir;
    while (j >= 0 && j < s->pt.n && !has_u(s, j))
        j -= dir;
    if (j < 0 || j >= s->pt.n)
        return (lv->ut - ui) / 2.0;
    const double uj = u_of(s, j), sj = log(s->pt.a[j]), g = (ui - uj) / (si - sj);
    const double lin = (lv->ut - ui) / (g > 0 ? clamp(g, SLOPE_MIN, SLOPE_MAX) : SLOPE_MIN);
    int m = g > 0 ? behind(s, j, dir, 4.0 * s->p) : -1;
    if (m < 0)
        return lin;
    double q = iqi(lv->ut, si, ui, sj, uj, log(s->pt.a[m]), u_of(s, m)) - si;
    return q / lin >= 0.5 && q / lin <= 2.0 ? q : lin;
}

/* The next point below the lowest point, which is already above lv (lo = 0), or
 * above the highest, which is still below lv: aimed a little beyond the predicted
 * crossing, at least 0.9 precision away (so that a right prediction closes the
 * bracket), at most walk_ratio away, and, after two consecutive steps shorter than
 * SMALL_STEP (predictions that keep falling just short, as on a plateau under the
 * level), with an excess ratio - 1 at least twice the previous step's. */
static double walk_step(const search *s, level *lv, int up)
{
    const points *p = &s->pt;
    if (p->n == 0)
        return fmin(s->o->guess_rel * s->norm, s->amax);
    int i = up ? p->n - 1 : 0;
    double ds = extrapolate(s, lv, i, up ? 1 : -1); /* up: > 0, down: <= 0 */
    double r = isnan(ds) ? s->o->walk_ratio : exp(fabs(ds) * (1.0 + OVERSHOOT));
    if (lv->nsmall >= 2)
        r = fmax(r, 1.0 + 2.0 * (lv->ratio - 1.0));
    r = fmax(r, up ? 1.0 + 0.9 * s->p : 1.0 / (1.0 - 0.9 * s->p));
    r = fmin(r, s->o->walk_ratio);
    lv->nsmall = r < SMALL_STEP ? lv->nsmall + 1 : 0;
    lv->ratio = r;
    return up ? fmin(p->a[i] * r, s->amax) : p->a[i] / r;
}

/* Inverse interpolation of log a against u at lv's target inside the bracket
 * (ih-1, ih): quadratic through the ends and the nearer neighbour whose u continues
 * the monotone order, else linear; with only one end usable, linear extrapolation
 * from it and its neighbour outside.  Returns a distance, or NaN. */
static double interpolate(const search *s, const level *lv, int ih)
{
    const points *p = &s->pt;
    const int il = ih - 1;
    const double ut = lv->ut;
    if (has_u(s, il) && has_u(s, ih)) {
        double s0 = log(p->a[il]), u0 = u_of(s, il), s1 = log(p->a[ih]), u1 = u_of(s, ih);
        double x = s0 + (ut - u0) * (s1 - s0) / (u1 - u0);
        int q = -1;
        double dq = INFINITY;
        if (il > 0 && has_u(s, il - 1) && u_of(s, il - 1) < u0) {
            q = il - 1;
            dq = s0 - log(p->a[q]);
        }
        if (ih + 1 < p->n && has_u(s, ih + 1) && u_of(s, ih + 1) > u1 &&
            log(p->a[ih + 1]) - s1 < dq)
            q = ih + 1;
        if (q >= 0) {
            double xq = iqi(ut, s0, u0, s1, u1, log(p->a[q]), u_of(s, q));
            if (xq > s0 && xq < s1)
                x = xq;
        }
        return exp(x);
    }
    if (has_u(s, ih) && ih + 1 < p->n)
        return p->a[ih] * exp(extrapolate(s, lv, ih, -1));
    if (has_u(s, il) && il > 0)
        return p->a[il] * exp(extrapolate(s, lv, il, 1));
    return NAN;
}

/* The next point inside a bracket lo = a[ih-1] > 0, hi = a[ih] not yet narrow
 * enough.  Safeguard: once two steps since the last checkpoint have not halved
 * log(hi / lo), bisect, unless the steps are contracting (this one less than half
 * the previous one in log a: the estimates converge, from one side, as regula falsi
 * does when an end stays put) or this is a first attempt to close the bracket (a
 * failed one moves an end by 0.9 precision only, so it is not tried twice). */
static double refine_step(const search *s, level *lv, int ih)
{
    const double lo = s->pt.a[ih - 1], hi = s->pt.a[ih], p = s->p;
    /* narrow enough that one point closes it whichever side it falls */
    if (lo >= hi * (1.0 - p) * (1.0 - p))
        return 0.5 * (hi * (1.0 - p) + lo / (1.0 - p));
    double w = log(hi / lo);
    if (lv->steps == 0 || w <= 0.5 * lv->w0) {
        lv->w0 = w;
        lv->steps = 0;
        lv->closing = 0;
    }
    double x = interpolate(s, lv, ih);
    if (!(x > lo && x < hi))
        x = sqrt(lo * hi);
    /* a prediction near an end is moved to where, if right, it closes the bracket */
    int closing = 1;
    if (x < lo * (1.0 + 0.9 * p))
        x = lo * (1.0 + 0.9 * p);
    else if (x > hi * (1.0 - 0.9 * p))
        x = hi * (1.0 - 0.9 * p);
    else
        closing = 0;
    double d = lv->last > 0 ? fabs(log(x / lv->last)) : INFINITY;
    if (lv->steps >= 2 && !(d <= 0.5 * lv->dlast) && !(closing && !lv->closing)) {
        x = sqrt(lo * hi);
        lv->steps = 0;
        d = INFINITY;
    } else {
        lv->steps++;
        lv->closing = closing;
    }
    lv->last = x;
    lv->dlast = d;
    return x;
}

static int interp_direction(walk *w, search *s, const double *target, int *how,
                            double *astar)
{
    const int nl = s->o->nlevels;
    int ord[WG_TUNNEL_MAX_LEVELS], n = 0;
    for (int l = 0; l < nl; l++) /* open levels, by increasing target */
        if (how[l] == WG_TUNNEL_NOT_REACHED) {
            int j = n++;
            for (; j > 0 && target[ord[j - 1]] > target[l]; j--)
                ord[j] = ord[j - 1];
            ord[j] = l;
        }
    s->pt.n = 0;
    for (int m = 0; m < n; m++) {
        const int l = ord[m];
        level lv = {target[l], log(target[l] - s->L0), 0.0, 0, 0, 0.0, INFINITY, 1.0, 0};
        for (;;) {
            const points *p = &s->pt;
            int ih = 0;
            while (ih < p->n && !(p->L[ih] >= lv.T))
                ih++;
            double y;
            if (ih == p->n) { /* nothing above the level yet */
                if (p->n > 0 && p->a[p->n - 1] >= s->amax) {
                    astar[l] = NAN; /* how[l] stays NOT_REACHED */
                    break;
                }
                y = walk_step(s, &lv, 1);
            } else {
                double lo = ih > 0 ? p->a[ih - 1] : 0.0, hi = p->a[ih];
                if (hi - lo <= s->p * hi) {
                    astar[l] = hi;
                    how[l] = WG_TUNNEL_FOUND;
                    break;
                }
                y = ih == 0 ? walk_step(s, &lv, 0) : refine_step(s, &lv, ih);
            }
            double L;
            int rc = eval_at(w, y, &L);
            if (rc == 0)
                rc = points_insert(&s->pt, y, L);
            if (rc)
                return rc;
        }
    }
    return 0;
}

int wg_tunnel_probe(const wg_objective *f, const float *P0, const wg_tunnel_opts *o,
                    int first, int count, wg_tunnel_result *r)
{
    const size_t D = f->dim;
    memset(r, 0, sizeof *r);
    if (count < 0 || o->nlevels < 0 || o->nlevels > WG_TUNNEL_MAX_LEVELS ||
        !(o->a0_rel > 0) || !(o->a_max_rel >= o->a0_rel) ||
        !(o->precision >= 1e-12 && o->precision < 1) ||
        (o->search != WG_TUNNEL_INTERP && o->search != WG_TUNNEL_BISECT) ||
        (o->search == WG_TUNNEL_INTERP &&
         (!(o->guess_rel > 0) || !(o->walk_ratio > 1 && o->walk_ratio < INFINITY))))
        return WG_FAIL(WG_EARG, "tunnel probe: invalid options (levels %d, a0 %g, a_max %g, "
                                "precision %g, search %d, guess %g, walk ratio %g)",
                       o->nlevels, o->a0_rel, o->a_max_rel, o->precision, o->search,
                       o->guess_rel, o->walk_ratio);
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
    search s = {{NULL, NULL, 0, 0}, r->loss0, r->norm, amax, o->precision, o};
    for (int k = 0; rc == 0 && k < count; k++) {
        if (o->stop && o->stop(o->stop_user)) {
            rc = WG_EINTR;
            break;
        }
        wg_tunnel_direction(v, P0, D, o, first + k);
        walk w = {f, P0, v, x, D, r->prof_a + (size_t)k * WG_TUNNEL_MAX_POINTS,
                  r->prof_loss + (size_t)k * WG_TUNNEL_MAX_POINTS, 0, 0};
        int *how = r->how + (size_t)k * o->nlevels;
        double *astar = r->astar + (size_t)k * o->nlevels;
        for (int l = 0; l < o->nlevels; l++) {
            how[l] = target[l] <= r->loss0 ? WG_TUNNEL_AT_START : WG_TUNNEL_NOT_REACHED;
            astar[l] = target[l] <= r->loss0 ? 0.0 : NAN;
        }
        if (o->search == WG_TUNNEL_BISECT)
            rc = bisect_direction(&w, o, a0, amax, target, how, astar);
        else
            rc = interp_direction(&w, &s, target, how, astar);
        sort_profile(w.a, w.loss, w.n);
        r->npoints[k] = w.n;
        r->nevals[k] = (int)w.evals;
        r->evals += w.evals;
    }
    free(s.pt.a);
    free(s.pt.L);
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
