/* connect.h: low-loss connectors between optima (docs/METHODS.md, "Tunnels
 * (1-connectors) and m-connectors").
 *
 * A point X is optimised inside an affine plane: X0 + {v : B v = 0}, where the rows
 * of B are orthonormal (one row e = (O2 - O1)/|O2 - O1| for a 1-connector's
 * hyperplane points; the Gram-Schmidt basis of span{O_i - O_0} for an m-connector's
 * centre).  Adam's update is projected as well as the gradient (its per-coordinate
 * scaling would leave the plane otherwise) and the iterate is re-projected every
 * step, so it stays in the plane to rounding.  Works on any objective. */
#ifndef WEDGE_CONNECT_H
#define WEDGE_CONNECT_H

#include <stddef.h>
#include <stdint.h>

#include "wedge/objective.h"

typedef enum { WG_CONNECT_POINT = 0, WG_CONNECT_PATH = 1 } wg_connect_kind;

typedef struct wg_connect_opts {
    wg_connect_kind objective; /* point: L(X); path: mean L on the segments X - anchors */
    int steps;                 /* Adam steps (200) */
    double lr;                 /* Adam learning rate (1e-3) */
    int path_points;           /* path: u in {1..n}/(n+1) on each segment (7: 1/8..7/8) */
    uint64_t seed, stream;     /* path: which u each step evaluates */
    int (*stop)(void *);       /* asked every step: nonzero abandons (WG_EINTR) */
    void *stop_user;
    /* NULL: every step takes the gradient of the objective itself (all its data).
     * Else: steps on minibatches of `batch` examples of train (its batch(), e.g. the
     * network on the whole training set), drawn without replacement, reshuffled
     * each pass (seeded by seed, stream); the objective only measures. */
    const wg_objective *train;
    size_t batch;
    /* > 0: stop once the objective's value (f, all its data) is at most this, checked
     * before every WG_CONNECT_CHECK-th step; steps is then the most taken */
    double until_loss;
    int *taken; /* non-NULL: receives the steps taken */
} wg_connect_opts;

#define WG_CONNECT_CHECK 50

void wg_connect_opts_default(wg_connect_opts *o);

/* Orthonormalise the m rows V (m x D, doubles, in place) by modified Gram-Schmidt,
 * twice (stable for m up to 10 at D ~ 1e4).  WG_EARG if the rows are dependent. */
int wg_gram_schmidt(double *V, int m, size_t D);

/* x <- x - B^T (B x): remove the components along B's m orthonormal rows. */
void wg_project_out(float *x, const double *B, int m, size_t D);

/* Optimise X (in/out, starting at X0 = X) inside X0 + {v : B v = 0}.  For the path
 * objective, anchors[0..nanch) are the far ends of the segments from X.  Writes the
 * final loss (point objective: L(X); path: the mean over the segments' points) to
 * *loss.  0 or a negative error of the objective. */
int wg_connect_optimize(const wg_objective *f, float *X, const double *B, int m,
                        const float *const *anchors, int nanch, const wg_connect_opts *o,
                        double *loss);

/* Largest |B (X - X0)| / |X - X0| (0 when X = X0): how far X left the plane. */
double wg_plane_leak(const float *X, const float *X0, const double *B, int m, size_t D);

/* A whole connector (docs/METHODS.md): a 1-connector's K points between O1 and O2,
 * or an m-connector's centre, optimised inside their planes (wg_connect_optimize;
 * a 1-connector with the path objective makes `rounds` passes over its points),
 * then measured along the path and along the straight line. */
typedef struct wg_connector {
    int m, K, nseg, E;          /* order, points, segments, evaluations per segment */
    size_t D;
    float *X;                   /* K x D optimised points */
    double *loss;               /* K: final objective value at each point */
    /* nseg x E each, at u = e/E on segment s (1-connector: O1 X1 .. XK O2; m-connector:
     * centre -> O_s): probe-set loss and accuracy, test loss and accuracy, fraction of
     * test labels changed from O1's (A) and from O2's or O_s's (B); along the straight
     * line (O1 -> O2 in nseg*E steps; centroid -> O_s): probe-set and test loss.  NaN
     * where the objective has no accuracy or there is no test objective. */
    double *train_loss, *train_acc, *test_loss, *test_acc, *changed_a, *changed_b,
        *line_train, *line_test;
    double barrier_path, barrier_line; /* largest probe-set loss along each */
    double *cosine;             /* K x K cosines of the deviations X_k - C_k */
    int *steps;                 /* K: optimiser steps taken at each point (all rounds) */
    double leak;                /* largest wg_plane_leak of a point */
    int *near_zero;             /* K: near-zero coordinates of each point (toy model) */
} wg_connector;

void wg_connector_free(wg_connector *c);

/* Build and measure the connector of order m over optima O[0..m] (dimension f->dim)
 * on objective f, with test objective ft (ft->dim 0: none).  K points for m = 1 (else
 * 1, the centre), E evaluations per segment, o's optimiser, rounds as above.  0,
 * WG_EINTR when o->stop asked, or an error.  c is always safe to free. */
int wg_connect_run(const wg_objective *f, const wg_objective *ft, const float *const *O, int m,
                   int K, int E, int rounds, const wg_connect_opts *o, wg_connector *c);

#endif
