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

#include "wedge/data.h"
#include "wedge/net.h"
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

/* Train z from 0 (Adam, minibatches, dropout and L2 as `opts` says) for
 * opts->epochs epochs, theta = X0 + M z; report the final epoch's statistics in
 * *last (test loss/accuracy on data->test).  0, WG_EDIVERGED, or an error. */
int wg_subspace_train(wg_net *net, const float *X0, const wg_subspace *m, const wg_data *data,
                      const wg_train_opts *opts, wg_epoch_stats *last);

#endif
