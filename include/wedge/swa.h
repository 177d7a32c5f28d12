/* swa.h: snapshot averaging in weight space (SWA) against averaging predictions
 * (docs/METHODS.md, "SWA vs prediction averaging"; the paper's Figure 6).
 *
 * From a pre-trained point theta0, M cycles of a cyclic learning rate (each cycle
 * `cycle_epochs` epochs, the rate falling linearly from lr_max to lr_max*min_ratio
 * as wg_schedule_lr implements it) leave a snapshot at the end of every cycle.
 * Then: each snapshot's loss and accuracy; the weight average's (SWA: the mean of
 * the M parameter vectors, one network); the averaged softmax predictions' (an
 * ensemble of M networks); and the M x M pairwise distances and cosines.
 *
 * The cycles continue the pre-training's random streams: epoch e of the cycles
 * shuffles with the stream the training's epoch first_epoch + e would have used,
 * and dropout masks continue its step count, so a swa probe with lr_max equal to
 * the training's rate and min_ratio 1 is exactly the training run continued.  The
 * optimizer starts fresh (its moments are not stored with the training).  The
 * networks have no batch normalisation, so the weight average needs no statistics
 * update.  Pure: the result depends on the arguments only. */
#ifndef WEDGE_SWA_H
#define WEDGE_SWA_H

#include <stddef.h>
#include <stdint.h>

#include "wedge/objective.h"
#include "wedge/optim.h"

#define WG_SWA_MAX_CYCLES 64

typedef struct wg_swa_opts {
    int cycles;               /* M snapshots (8) */
    int cycle_epochs;         /* epochs per cycle (1) */
    double lr_max;            /* the rate at the start of every cycle (1e-3) */
    double min_ratio;         /* the rate at a cycle's last step / lr_max (0.01) */
    wg_opt_kind optimizer;    /* (adam) */
    double momentum;          /* SGD only (0.9) */
    double l2;                /* lambda of lambda*|w|^2 in the cycles' loss (0) */
    size_t batch_size;        /* (128) */
    uint64_t seed;            /* the training's seed: batch order and dropout streams */
    int first_epoch;          /* epochs the pre-training ran: the streams continue after them */
    int (*stop)(void *);      /* asked after every epoch and evaluation: nonzero -> WG_EINTR */
    void *stop_user;
} wg_swa_opts;

void wg_swa_opts_default(wg_swa_opts *o);

/* The learning-rate schedule of the cycles on a training set of n images: cyclic,
 * cycles of cycle_epochs * ceil(n / batch_size) steps.  0 or WG_EARG. */
int wg_swa_schedule(const wg_swa_opts *o, size_t n, wg_schedule *s);

/* Run the M cycles from theta (updated in place: it ends at the last snapshot) with
 * minibatch steps of `train` (dropout on, its L2; wg_objective_net_train with a
 * batch of o->batch_size and o->l2).  snaps[M*D] receives theta at the end of every
 * cycle; cycle_loss[M] (may be NULL) the mean minibatch loss of every cycle (without
 * L2).  0, WG_EARG, WG_EDIVERGED (a loss or the parameters not finite), WG_EINTR,
 * WG_ENOMEM. */
int wg_swa_cycles(const wg_objective *train, float *theta, const wg_swa_opts *o, float *snaps,
                  double *cycle_loss);

/* avg[D] = the mean of the M snapshots snaps[M*D], accumulated in double (so M
 * identical snapshots average to themselves bit for bit). */
void wg_swa_average(const float *snaps, int M, size_t D, float *avg);

/* The averaged predictions of M networks on n examples with labels y: from their
 * log p(y_i) (logp[m*n + i], network m) and the summed probabilities probsum[n*K]:
 * *loss = mean of -log((1/M) sum_m p_m(y_i)) (a log-sum-exp, so no underflow),
 * *acc = fraction with argmax_k probsum (first maximum) = y_i.  With M = 1 it
 * equals the objective's probs() loss and accuracy bit for bit. */
void wg_swa_ensemble(const double *logp, int M, const double *probsum, const uint8_t *y,
                     size_t n, int K, double *loss, double *acc);

/* Pairwise geometry of M vectors snaps[M*D] (double accumulation): dist[i*M + j] =
 * |a_i - a_j| and cosine[i*M + j] = cos angle(a_i - o, a_j - o), with o = origin
 * (NULL: 0, the cosine of the parameter vectors themselves).  Either output may be
 * NULL; a zero vector's cosines are NaN. */
void wg_swa_geometry(const float *snaps, int M, size_t D, const float *origin, double *dist,
                     double *cosine);

/* Measurements of a network: [test loss, test accuracy, probe-set ("train") loss,
 * probe-set accuracy, |theta|] (the averaged predictions have no norm). */
enum { WG_SWA_TEST_LOSS, WG_SWA_TEST_ACC, WG_SWA_TRAIN_LOSS, WG_SWA_TRAIN_ACC, WG_SWA_NORM,
       WG_SWA_MEASURES };

/* The whole probe. */
typedef struct wg_swa_result {
    int M;
    /* per snapshot (M each): the five measures in WG_SWA_* order, then
     * |theta_i - theta0| and the cycle's mean minibatch loss */
    double *snap[WG_SWA_MEASURES + 2];
    double start[WG_SWA_MEASURES];  /* theta0 */
    double avg[WG_SWA_MEASURES];    /* the weight average */
    double ens[WG_SWA_MEASURES - 1];/* the averaged predictions */
    double *dist, *cosine, *dcosine;/* M x M: |theta_i - theta_j|, cos(theta_i, theta_j),
                                       and the cosines of theta_i - theta0 */
} wg_swa_result;

void wg_swa_result_free(wg_swa_result *r);

/* Run the probe from theta0: the cycles with `train`'s minibatch steps, every
 * evaluation on `test` and on `probe` (objectives with softmax predictions over the
 * test split and a subset of the training split).  Errors as wg_swa_cycles; r is
 * always safe to free. */
int wg_swa_run(const wg_objective *train, const wg_objective *probe, const wg_objective *test,
               const float *theta0, const wg_swa_opts *o, wg_swa_result *r);

#endif
