/* tunnel.h: the radial tunnel width probe (docs/METHODS.md, "Radial tunnel width").
 *
 * At a point P0 (a trained optimum), along unit directions v orthogonal to P0,
 * a*(v) = the smallest a > 0 with L(P0 + a v) >= L(P0) + dL, located to relative
 * precision 1e-3 by one of two searches with the same guarantee (tunnel.c says
 * which): a walk from a guess with safeguarded interpolation in log a (the default,
 * about 10 evaluations per direction for three levels), or the geometric bracket
 * from a0 = 1e-3 |P0| (doubling) and bisection (about 40).  Works on any objective
 * (network or toy wedge model).  Pure: the result depends on the objective, P0, the
 * options and the direction key only. */
#ifndef WEDGE_TUNNEL_H
#define WEDGE_TUNNEL_H

#include <stddef.h>
#include <stdint.h>

#include "wedge/objective.h"

#define WG_TUNNEL_MAX_LEVELS 4
#define WG_TUNNEL_MAX_POINTS 64 /* loss-profile points kept per direction */

/* How a direction's search ended, per level. */
enum {
    WG_TUNNEL_FOUND = 0,     /* a* is a number */
    WG_TUNNEL_NOT_REACHED,   /* L stayed below the level up to a_max: a* = NaN */
    WG_TUNNEL_AT_START       /* the level is not above L(P0) (e.g. chance level below it): a* = 0 */
};

/* How a* is searched for (wg_tunnel_opts.search). */
typedef enum wg_tunnel_search {
    WG_TUNNEL_INTERP = 0, /* walk from guess_rel |P0| with steps of at most walk_ratio,
                             then safeguarded inverse interpolation of log(L - L(P0))
                             against log a, every point shared by every level */
    WG_TUNNEL_BISECT      /* walk a0, 2 a0, 4 a0, ..., then bisection per level */
} wg_tunnel_search;

typedef struct wg_tunnel_opts {
    int nlevels;
    double levels[WG_TUNNEL_MAX_LEVELS]; /* dL values; a level <= 0 means "the absolute
                                            loss -dL" (used for the chance level ln 10) */
    double a0_rel;        /* BISECT: first bracket point / |P0| (1e-3) */
    double a_max_rel;     /* give up beyond a_max_rel |P0| (default 1e3) */
    double precision;     /* relative width of the final bracket (1e-3) */
    int search;           /* wg_tunnel_search (WG_TUNNEL_INTERP) */
    double guess_rel;     /* INTERP: first point / |P0| (1: a trained SimpleCNN's
                             levels lie at 1-2.5 |P0|); clipped to a_max */
    double walk_ratio;    /* INTERP: largest ratio between consecutive points of the
                             upward walk (4), so no excursion above a level that spans
                             a wider ratio of a is stepped over; must be > 1 */
    uint64_t seed;        /* direction k is drawn from stream */
    uint64_t stream;      /*   wg_rng_stream(WG_RNG_DIRECTION, stream, k, 0) of seed */
    int (*stop)(void *);  /* asked between directions: nonzero abandons (WG_EINTR) */
    void *stop_user;
} wg_tunnel_opts;

/* METHODS.md defaults: levels dL = 1.0, 0.5 and the chance level ln 10 (absolute). */
void wg_tunnel_opts_default(wg_tunnel_opts *o);

/* Result for directions [first, first + count). */
typedef struct wg_tunnel_result {
    int count, nlevels;
    double norm;              /* |P0| */
    double loss0;             /* L(P0) */
    double *astar;            /* count * nlevels: a*(v_k) for level l at [k*nlevels + l] */
    int *how;                 /* count * nlevels: WG_TUNNEL_* */
    int *npoints;             /* count: profile points of each direction */
    double *prof_a, *prof_loss; /* count * WG_TUNNEL_MAX_POINTS, sorted by a */
    long evals;               /* objective evaluations spent (L(P0) included) */
    int *nevals;              /* count: evaluations spent on each direction (the
                                 profile keeps the first WG_TUNNEL_MAX_POINTS) */
} wg_tunnel_result;

int wg_tunnel_result_init(wg_tunnel_result *r, int count, int nlevels);
void wg_tunnel_result_free(wg_tunnel_result *r);

/* The unit direction k (N(0,I), radial part removed, normalised) into v[dim]. */
void wg_tunnel_direction(float *v, const float *P0, size_t dim, const wg_tunnel_opts *o,
                         int k);

/* Probe directions first..first+count-1 at P0.  Each direction's search sees only
 * L(P0), |P0|, the options and its own evaluations, so a direction's results are
 * bitwise the same however the directions are split over calls.  Returns 0, WG_EARG
 * for invalid options or |P0| = 0, WG_EDIVERGED if L(P0) is not finite, or a negative error of
 * the objective (an error, not a NaN loss: NaN counts as above every level).  Call
 * wg_tunnel_result_free on r whatever the outcome. */
int wg_tunnel_probe(const wg_objective *f, const float *P0, const wg_tunnel_opts *o,
                    int first, int count, wg_tunnel_result *r);

/* The angular width phi = atan(median a* / |P0|) of n values (NaN = not reached,
 * counted as +infinity; NaN if the median is not reached). */
double wg_tunnel_phi(const double *astar, int n, int stride, double norm);

#endif
