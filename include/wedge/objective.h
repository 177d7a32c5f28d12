/* objective.h: the one interface through which every experiment sees a landscape.
 *
 * L(theta) and grad L(theta) over R^D (DESIGN.md floor 2).  Two implementations:
 * a network on a fixed probe set (mean cross-entropy, dropout off, no L2), and the
 * toy wedge model.  Probes, connectors and subspace training are written against
 * this interface only, so the same experiment runs on both. */
#ifndef WEDGE_OBJECTIVE_H
#define WEDGE_OBJECTIVE_H

#include <stddef.h>

#include "wedge/data.h"
#include "wedge/net.h"

typedef struct wg_objective {
    size_t dim;
    void *ctx;
    /* loss (and grad if non-NULL) at theta; 0 or a negative status */
    int (*eval)(void *ctx, const float *theta, double *loss, float *grad);
    /* accuracy of the predictions at theta (NULL if the objective has none) */
    int (*accuracy)(void *ctx, const float *theta, double *acc);
    /* the predicted class of every example (NULL if none); labels[nexamples] */
    int (*predict)(void *ctx, const float *theta, int *labels);
    size_t nexamples;
    /* Exact Hessian-vector products of the loss at theta for nv vectors at once: V is
     * nv x dim floats and HV nv x dim doubles, row-major (vector j at V + j*dim).  NULL
     * when the objective has none: wg_hvp's central difference of gradients serves. */
    int (*hvp)(void *ctx, const float *theta, const float *V, size_t nv, double *HV);
    void (*free)(void *ctx);
} wg_objective;

/* L(theta); WG_EDIVERGED if the loss is not finite. */
int wg_objective_loss(const wg_objective *f, const float *theta, double *loss);
/* L(theta) and grad into grad[dim]. */
int wg_objective_grad(const wg_objective *f, const float *theta, double *loss, float *grad);
void wg_objective_free(wg_objective *f);

/* A network on dataset `probe` (borrowed: must outlive the objective), evaluated in
 * batches of up to `batch` images. */
int wg_objective_net(wg_objective *f, const wg_net_opts *opts, const wg_dataset *probe,
                     size_t batch);

/* The toy wedge model in dimension D with n long directions. */
int wg_objective_toy(wg_objective *f, size_t D, size_t n);

#endif
