/* plane.h: the loss on a grid over the plane through three points (docs/METHODS.md,
 * Figure 2): origin O1, axes e1 along O2 - O1 and e2 along the part of O3 - O1
 * orthogonal to it (Gram-Schmidt in double); the grid covers the three points plus
 * `margin` of their span on each side.  Works on any objective. */
#ifndef WEDGE_PLANE_H
#define WEDGE_PLANE_H

#include <stddef.h>

#include "wedge/objective.h"

typedef struct wg_plane_result {
    int grid;                   /* G: points per axis */
    double *gx, *gy;            /* G grid coordinates along e1 and e2, from O1 */
    double vx[3], vy[3];        /* the three points' coordinates */
    int row0, nrows;            /* the rows of the grid evaluated */
    double *loss;               /* nrows x G: L(O1 + gx[c] e1 + gy[row0 + r] e2) */
} wg_plane_result;

void wg_plane_result_free(wg_plane_result *r);

/* Evaluate rows [row0, row0 + nrows) of the G x G grid over the plane through
 * O[0..3) (dimension f->dim).  stop (may be NULL) is asked before every point:
 * nonzero abandons with WG_EINTR.  0, WG_EARG if the points span no plane,
 * WG_ENOMEM, or an error of the objective.  r is always safe to free. */
int wg_plane_probe(const wg_objective *f, const float *const O[3], int G, double margin,
                   int row0, int nrows, int (*stop)(void *), void *stop_user,
                   wg_plane_result *r);

#endif
