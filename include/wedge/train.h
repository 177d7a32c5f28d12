/* train.h: minibatch training of a network on a dataset, and evaluation.
 *
 * Training is a pure function of (net options, data, train options, seed): batch
 * order, dropout masks and initialisation come from counter-based streams keyed by
 * the seed, so a run is bitwise reproducible on any rank. */
#ifndef WEDGE_TRAIN_H
#define WEDGE_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "wedge/data.h"
#include "wedge/net.h"
#include "wedge/optim.h"

typedef struct wg_train_opts {
    wg_opt_kind optimizer;
    double lr;
    double momentum;      /* SGD only */
    double l2;            /* lambda in lambda*|w|^2 */
    size_t batch_size;
    int epochs;
    wg_sched_kind schedule;
    double cycle_epochs;  /* cyclic: epochs per cycle */
    double min_ratio;     /* cyclic: lowest lr / lr */
    uint64_t seed;        /* init, shuffle and dropout streams derive from it */
} wg_train_opts;

void wg_train_opts_default(wg_train_opts *o);

/* Statistics of one epoch, as wg_train reports them. */
typedef struct wg_epoch_stats {
    int epoch;            /* 1-based */
    double train_loss;    /* mean minibatch loss over the epoch (without L2, dropout on) */
    double train_acc;
    double test_loss, test_acc;  /* full test split, dropout off */
    double param_norm;    /* |theta| */
    double seconds;       /* wall time of the epoch, evaluation included */
} wg_epoch_stats;

/* Called after each epoch with the parameters; a nonzero return stops training
 * early and becomes wg_train's return value. */
typedef int (*wg_epoch_fn)(void *user, const wg_epoch_stats *s, const float *theta,
                           size_t nparams);

/* Train from theta (initialised by the caller, e.g. wg_net_init_params) for
 * opts->epochs epochs on data->train, evaluating on data->test after each epoch.
 * net must have cap >= batch_size.  Returns 0, WG_EDIVERGED (loss or parameters
 * not finite: stats of the last good epoch are kept), or the callback's value. */
int wg_train(wg_net *net, float *theta, const wg_data *data, const wg_train_opts *opts,
             wg_epoch_fn fn, void *user);

/* Mean loss and accuracy of theta on ds, dropout off, batches of net->cap. */
int wg_evaluate(wg_net *net, const float *theta, const wg_dataset *ds, double *loss,
                double *acc);

/* |x| with double accumulation. */
double wg_norm(const float *x, size_t n);

#endif
