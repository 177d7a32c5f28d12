/* subspace.h: training inside a random affine subspace, theta = X0 + M z
 * (docs/METHODS.md, "Number of short directions", secondary; Li et al. 2018).
 *
 * M is D x d with unit-norm random columns, never stored densely: column j has
 * `nnz` non-zeros at rows drawn from the counter-based RNG, each +-1/sqrt(nnz)
 * (a sparse random projection).  M z and M^T g then cost O(d nnz), and the
 * columns depend only on (seed, stream, j), so any rank rebuilds the same M. */
#ifndef WEDGE_SUBSPACE_H
#define WEDGE_SUBSPACE_H

#include <stddef.h>
#include <stdint.h>

#include "wedge/objective.h"
#include "wedge/train.h"

typedef struct wg_subspace {
    size_t D, d;
    int nnz;            /* non-zeros per column */
    uint32_t *row;      /* d * nnz row indices */
    float *val;         /* d * nnz values */
} wg_subspace;

/* Build M: d columns of dimension D with nnz non-zeros each (nnz <= D). */
int wg_subspace_init(wg_subspace *m, size_t D, size_t d, int nnz, uint64_t seed,
                     uint64_t stream);
void wg_subspace_free(wg_subspace *m);

/* theta = X0 + M z. */
void wg_subspace_point(const wg_subspace *m, const float *X0, const float *z, float *theta);
/* gz = M^T g. */
void wg_subspace_grad(const wg_subspace *m, const float *g, float *gz);

/* The objective z -> inner(X0 + M z) in dimension d: loss, gradient M^T g, evaluation
 * and minibatch steps of inner (borrowed, as are X0 and m: they must outlive f). */
int wg_objective_subspace(wg_objective *f, const wg_objective *inner, const float *X0,
                          const wg_subspace *m);

/* Train z from 0 inside the subspace of objective f (Adam at the constant rate
 * opts->lr, minibatches of opts->batch_size, opts->epochs epochs; f carries dropout and
 * L2), theta = X0 + M z; report the final epoch's statistics in *last (test loss and
 * accuracy of `test` at theta, NaN without one).  stop (may be NULL) is asked after
 * every epoch: nonzero gives WG_EINTR.  0, WG_EDIVERGED, or an error. */
int wg_subspace_train(const wg_objective *f, const wg_objective *test, const float *X0,
                      const wg_subspace *m, const wg_train_opts *opts, int (*stop)(void *),
                      void *stop_user, wg_epoch_stats *last);

#endif
