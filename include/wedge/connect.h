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
} wg_connect_opts;

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

#endif
