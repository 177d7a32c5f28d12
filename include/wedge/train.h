/* train.h: minibatch training of an objective (wedge's one training loop).
 *
 * Training is a pure function of (objective, options, seed): batch order, dropout
 * masks and initialisation come from counter-based streams keyed by the seed, so a
 * run is bitwise reproducible on any rank.  wg_loop is the loop itself, shared by
 * training, subspace training and the SWA cycles; wg_train adds what a training
 * task reports per epoch. */
#ifndef WEDGE_TRAIN_H
#define WEDGE_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "wedge/objective.h"
#include "wedge/optim.h"

typedef struct wg_train_opts {
    wg_opt_kind optimizer;
    double lr;
    double momentum;      /* SGD only */
    double l2;            /* lambda in lambda*|w|^2 (the objective applies it) */
    size_t batch_size;
    int epochs;
    wg_sched_kind schedule;
    double cycle_epochs;  /* cyclic: epochs per cycle */
    double min_ratio;     /* cyclic: lowest lr / lr */
    uint64_t seed;        /* init, shuffle and dropout streams derive from it */
    long max_steps;       /* stop after this many steps (0: none; epochs follow from it) */
    size_t probe_size;    /* a fixed probe of training images whose loss is recorded every
                             epoch (0: none); the stop rules read it */
    double until_loss;    /* stop once the probe's loss is at most this (0: off) */
    double until_plateau; /* stop once an epoch lowers it by less than this fraction (0: off) */
} wg_train_opts;

void wg_train_opts_default(wg_train_opts *o);

/* ---- the loop ------------------------------------------------------------------------- */

typedef struct wg_loop_opts {
    wg_opt_kind optimizer;
    double momentum;          /* SGD only */
    wg_sched_kind schedule;   /* the rate of step s (counted from this loop's first) */
    double lr, min_ratio, cycle_epochs;
    size_t batch_size;        /* ignored for an objective without examples */
    int first_epoch;          /* epochs run are first_epoch + 1 .. first_epoch + epochs; */
    int epochs;               /*   the streams continue those of first_epoch earlier ones */
    int window;               /* the epoch report sums over this many epochs (1) */
    long max_steps;           /* stop after this many steps, mid-epoch if need be (0: none) */
    uint64_t seed;            /* batch order of epoch e: stream (SHUFFLE, e, shuffle) */
    uint64_t shuffle;
} wg_loop_opts;

/* What the loop reports after an epoch (sums over the last `window` epochs), or
 * where it diverged. */
typedef struct wg_loop_epoch {
    int epoch;                /* as counted by the streams (first_epoch + 1 ...) */
    double loss_sum;          /* summed minibatch losses (dropout on, no L2) */
    size_t correct, seen;     /* correct predictions and examples */
    long step;                /* steps so far in this loop (diverged: the bad one) */
    double loss;              /* diverged: the bad batch's mean loss */
} wg_loop_epoch;

typedef int (*wg_loop_fn)(void *user, const wg_loop_epoch *e, const float *theta, size_t dim);

/* Train theta (f->dim, initialised by the caller) with minibatches of f's examples in
 * a fresh optimiser (an objective without examples makes f->epoch_steps full steps an
 * epoch); after every epoch calls fn (may be NULL), whose nonzero return stops the loop
 * and is returned.  Returns 0, WG_EDIVERGED when a minibatch loss is not finite (*bad
 * says where; no message is recorded: the caller words it), WG_EARG for bad options,
 * or an error. */
int wg_loop(const wg_objective *f, float *theta, const wg_loop_opts *o, wg_loop_fn fn,
            void *user, wg_loop_epoch *bad);

/* ---- training ------------------------------------------------------------------------- */

/* Statistics of one epoch, as wg_train reports them. */
typedef struct wg_epoch_stats {
    int epoch;            /* 1-based */
    double train_loss;    /* mean minibatch loss over the epoch (without L2, dropout on);
                             without examples: the loss at the epoch's end */
    double train_acc;
    double test_loss, test_acc;  /* the test objective, dropout off (NaN without one) */
    double param_norm;    /* |theta| */
    double seconds;       /* wall time of the epoch, evaluation included */
    long steps;           /* optimizer steps so far */
} wg_epoch_stats;

/* Called after each epoch with the parameters; a nonzero return stops training
 * early and becomes wg_train's return value. */
typedef int (*wg_epoch_fn)(void *user, const wg_epoch_stats *s, const float *theta,
                           size_t nparams);

/* Train theta (initialised by the caller, e.g. with f->init) on objective f for
 * opts->epochs epochs, evaluating `test` (NULL or dim 0: none) after each.  f must take
 * batches of opts->batch_size (wg_objective_net_train with that batch and opts->l2).
 * Returns 0, WG_EDIVERGED (loss or parameters not finite: stats of the last good
 * epoch were reported), or the callback's value. */
int wg_train(const wg_objective *f, const wg_objective *test, float *theta,
             const wg_train_opts *opts, wg_epoch_fn fn, void *user);

/* |x| with double accumulation. */
double wg_norm(const float *x, size_t n);

#endif
