/* objective.h: the one interface through which every experiment sees a landscape.
 *
 * L(theta) and grad L(theta) over R^D (DESIGN.md floor 2), the model's seeded
 * initialisation, minibatch training steps, evaluation and predictions.  Three
 * implementations: a network on a dataset (mean cross-entropy, dropout off and no L2
 * in evaluation; dropout on and the L2 term's gradient in minibatch steps), the toy
 * wedge model, and a random affine subspace of another objective (subspace.h).
 * Training, probes, connectors, subspace training and SWA are written against this
 * interface only, so the same experiment runs on networks and on the toy model. */
#ifndef WEDGE_OBJECTIVE_H
#define WEDGE_OBJECTIVE_H

#include <stddef.h>
#include <stdint.h>

#include "wedge/data.h"
#include "wedge/net.h"

typedef struct wg_objective {
    size_t dim;
    void *ctx;
    /* loss (and grad if non-NULL) at theta over the objective's whole dataset; 0 or a
     * negative status */
    int (*eval)(void *ctx, const float *theta, double *loss, float *grad);
    /* accuracy of the predictions at theta (NULL if the objective has none) */
    int (*accuracy)(void *ctx, const float *theta, double *acc);
    /* loss and accuracy in one pass over the data (NULL if no accuracy) */
    int (*evaluate)(void *ctx, const float *theta, double *loss, double *acc);
    /* the predicted class of every example (NULL if none); labels[nexamples] */
    int (*predict)(void *ctx, const float *theta, int *labels);
    /* softmax predictions (NULL if none): mean loss and accuracy as a prediction
     * average needs them (double log-sum-exp per example), log p(label) of every
     * example into logp[nexamples] and the class probabilities ADDED into
     * probsum[nexamples * classes] (either may be NULL) */
    int (*probs)(void *ctx, const float *theta, double *loss, double *acc, double *logp,
                 double *probsum);
    size_t nexamples;
    int classes;                /* 0: no classes (the toy model) */
    const uint8_t *labels;      /* nexamples labels, or NULL */
    /* Exact Hessian-vector products of the loss at theta for nv vectors at once: V is
     * nv x dim floats and HV nv x dim doubles, row-major (vector j at V + j*dim).  NULL
     * when the objective has none: wg_hvp's central difference of gradients serves. */
    int (*hvp)(void *ctx, const float *theta, const float *V, size_t nv, double *HV);
    /* The model's seeded initial point (networks: Glorot-uniform; the toy: N(0, 1)
     * coordinates), or NULL. */
    void (*init)(void *ctx, float *theta, uint64_t seed);
    /* Minibatch training (NULL if none): over examples idx[0..B) of the dataset
     * (ignored when ntrain is 0), with dropout keyed by (seed, stream): the SUMMED
     * loss into *loss_sum (no L2) and the correct count, and if the loss is finite the
     * gradient of the MEAN loss plus the L2 term's into grad[dim]. */
    int (*batch)(void *ctx, const float *theta, const uint32_t *idx, size_t B, uint64_t seed,
                 uint64_t stream, double *loss_sum, size_t *correct, float *grad);
    size_t ntrain;              /* examples batch() draws from; 0: full-gradient steps */
    size_t batch_cap;           /* largest B batch() takes */
    int epoch_steps;            /* ntrain 0: steps that make one training epoch */
    void (*free)(void *ctx);
} wg_objective;

/* L(theta); WG_EDIVERGED if the loss is not finite. */
int wg_objective_loss(const wg_objective *f, const float *theta, double *loss);
/* L(theta) and grad into grad[dim]. */
int wg_objective_grad(const wg_objective *f, const float *theta, double *loss, float *grad);
void wg_objective_free(wg_objective *f);

/* A network on dataset `ds` (borrowed: must outlive the objective), evaluated in
 * batches of up to `batch` images (batch() takes up to that many). */
int wg_objective_net(wg_objective *f, const wg_net_opts *opts, const wg_dataset *ds,
                     size_t batch);
/* The same for training: minibatch steps add the gradient of l2 * |weights|^2. */
int wg_objective_net_train(wg_objective *f, const wg_net_opts *opts, const wg_dataset *ds,
                           size_t batch, double l2);

/* Make the loss, gradient and Hessian-vector products of a network objective built
 * with wg_objective_net_train include its L2 term l2 * |weights|^2 (probes that ask
 * for the regularised landscape).  WG_EARG for another objective. */
int wg_objective_include_l2(wg_objective *f);

/* The toy wedge model in dimension D with n long directions: no data; an epoch of
 * training is WG_TOY_EPOCH_STEPS full-gradient steps. */
#define WG_TOY_EPOCH_STEPS 100
int wg_objective_toy(wg_objective *f, size_t D, size_t n);

#endif
