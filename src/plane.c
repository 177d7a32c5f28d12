/* plane.c: the loss over a plane through three points (plane.h).  The basis is
 * built in double, the grid points in float as the objective takes them. */
#include "wedge/plane.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "wedge/error.h"

void wg_plane_result_free(wg_plane_result *r)
{
    if (!r)
        return;
    free(r->gx);
    free(r->gy);
    free(r->loss);
    memset(r, 0, sizeof *r);
}

int wg_plane_probe(const wg_objective *f, const float *const O[3], int G, double margin,
                   int row0, int nrows, int (*stop)(void *), void *stop_user,
                   wg_plane_result *r)
{
    memset(r, 0, sizeof *r);
    const size_t D = f->dim;
    if (G < 2 || row0 < 0 || nrows < 0 || row0 + nrows > G)
        return WG_FAIL(WG_EARG, "plane probe: rows %d..%d of a %d-point grid", row0,
                       row0 + nrows - 1, G);
    r->grid = G;
    r->row0 = row0;
    r->nrows = nrows;
    double *e1 = wg_alloc(D, sizeof *e1, "plane basis"), *e2 = wg_alloc(D, sizeof *e2, "plane basis");
    float *theta = wg_alloc(D, sizeof *theta, "plane point");
    r->gx = wg_alloc((size_t)G, sizeof *r->gx, "plane grid");
    r->gy = wg_alloc((size_t)G, sizeof *r->gy, "plane grid");
    r->loss = wg_alloc((size_t)(nrows ? nrows : 1), (size_t)G * sizeof *r->loss, "plane losses");
    int rc = !e1 || !e2 || !theta || !r->gx || !r->gy || !r->loss ? WG_ENOMEM : 0;
    double u = 0, w2 = 0, pr = 0, wn = 0;
    if (rc == 0) {
        for (size_t i = 0; i < D; i++) {
            e1[i] = (double)O[1][i] - O[0][i];
            u += e1[i] * e1[i];
        }
        u = sqrt(u);
        for (size_t i = 0; i < D; i++) {
            e1[i] /= u;
            e2[i] = (double)O[2][i] - O[0][i];
            pr += e2[i] * e1[i];
        }
        for (size_t i = 0; i < D; i++) {
            e2[i] -= pr * e1[i];
            w2 += e2[i] * e2[i];
        }
        wn = sqrt(w2);
        for (size_t i = 0; i < D; i++)
            e2[i] /= wn;
        if (!(u > 0) || !(wn > 0) || !isfinite(u) || !isfinite(wn))
            rc = WG_FAIL(WG_EARG, "the three optima do not span a plane");
    }
    if (rc == 0) {
        r->vx[0] = 0, r->vy[0] = 0, r->vx[1] = u, r->vy[1] = 0, r->vx[2] = pr, r->vy[2] = wn;
        double xmin = fmin(0, pr), xmax = fmax(u, pr), ymin = 0, ymax = wn;
        double mx = margin * (xmax - xmin), my = margin * (ymax - ymin);
        for (int i = 0; i < G; i++) {
            r->gx[i] = xmin - mx + (xmax - xmin + 2 * mx) * i / (G - 1);
            r->gy[i] = ymin - my + (ymax - ymin + 2 * my) * i / (G - 1);
        }
    }
    for (int rr = 0; rc == 0 && rr < nrows; rr++)
        for (int c = 0; rc == 0 && c < G; c++) {
            if (stop && stop(stop_user)) {
                rc = WG_EINTR;
                break;
            }
            double a = r->gx[c], b = r->gy[row0 + rr];
            for (size_t i = 0; i < D; i++)
                theta[i] = (float)(O[0][i] + a * e1[i] + b * e2[i]);
            rc = f->eval(f->ctx, theta, &r->loss[(size_t)rr * G + c], NULL);
        }
    free(e1);
    free(e2);
    free(theta);
    return rc;
}
