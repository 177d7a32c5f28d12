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

#include "wedge/data.h"
#include "wedge/net.h"
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

/* Run the M cycles from theta (updated in place: it ends at the last snapshot) on
 * train, minibatches with dropout on.  snaps[M*D] receives theta at the end of
 * every cycle; cycle_loss[M] (may be NULL) the mean minibatch loss of every cycle
 * (without L2).  0, WG_EARG (options, or data that do not fit the net: net->cap
 * must be >= batch_size), WG_EDIVERGED (a loss or the parameters not finite),
 * WG_EINTR, WG_ENOMEM. */
int wg_swa_cycles(wg_net *net, float *theta, const wg_dataset *train, const wg_swa_opts *o,
                  float *snaps, double *cycle_loss);

/* avg[D] = the mean of the M snapshots snaps[M*D], accumulated in double (so M
 * identical snapshots average to themselves bit for bit). */
void wg_swa_average(const float *snaps, int M, size_t D, float *avg);

/* The softmax predictions of theta on ds (dropout off, batches of net->cap): mean
 * cross-entropy *loss and *acc (argmax, first maximum on ties, as wg_net_loss);
 * logp[n] (may be NULL) receives log p(y_i) of every example; probsum[n*K] (may
 * be NULL) has the probabilities p_k(x_i) ADDED to it.  Sums are taken over the
 * examples in order in double.  0 or WG_ENOMEM. */
int wg_swa_predict(wg_net *net, const float *theta, const wg_dataset *ds, double *loss,
                   double *acc, double *logp, double *probsum);

/* The averaged predictions of M networks on n examples with labels y: from their
 * log p(y_i) (logp[m*n + i], network m) and the summed probabilities probsum[n*K]:
 * *loss = mean of -log((1/M) sum_m p_m(y_i)) (a log-sum-exp, so no underflow),
 * *acc = fraction with argmax_k probsum (first maximum) = y_i.  With M = 1 it
 * equals wg_swa_predict's loss and accuracy bit for bit. */
void wg_swa_ensemble(const double *logp, int M, const double *probsum, const uint8_t *y,
                     size_t n, int K, double *loss, double *acc);

/* Pairwise geometry of M vectors snaps[M*D] (double accumulation): dist[i*M + j] =
 * |a_i - a_j| and cosine[i*M + j] = cos angle(a_i - o, a_j - o), with o = origin
 * (NULL: 0, the cosine of the parameter vectors themselves).  Either output may be
 * NULL; a zero vector's cosines are NaN. */
void wg_swa_geometry(const float *snaps, int M, size_t D, const float *origin, double *dist,
                     double *cosine);

/* The whole probe as a task record's extra doubles (wg_swa_layout's parts):
 *   HDR       [M, lr_max, cycle_epochs, D]
 *   SNAP_*    per snapshot (M each): test loss, test accuracy, probe-set ("train")
 *             loss, accuracy, |theta_i|, |theta_i - theta0|, the cycle's mean
 *             minibatch loss
 *   START     theta0:  [test loss, test acc, train loss, train acc, |theta0|]
 *   AVG       the weight average: the same five
 *   ENS       the averaged predictions: [test loss, test acc, train loss, train acc]
 *   DIST, COS, DCOS (M*M each): |theta_i - theta_j|, cos(theta_i, theta_j), and the
 *             cosines of the displacements theta_i - theta0 */
enum { WG_SX_HDR, WG_SX_SNAP_TEST_LOSS, WG_SX_SNAP_TEST_ACC, WG_SX_SNAP_TRAIN_LOSS,
       WG_SX_SNAP_TRAIN_ACC, WG_SX_SNAP_NORM, WG_SX_SNAP_START_DIST, WG_SX_CYCLE_LOSS,
       WG_SX_START, WG_SX_AVG, WG_SX_ENS, WG_SX_DIST, WG_SX_COS, WG_SX_DCOS, WG_SX_PARTS };
size_t wg_swa_layout(int M, size_t off[WG_SX_PARTS]);

/* Run the probe from theta0: the cycles on `train`, every evaluation on `test` and
 * on `probe` (a subset of the training split; either may have n = 0, giving NaN),
 * the results into extra[wg_swa_layout(o->cycles)].  Errors as wg_swa_cycles. */
int wg_swa_run(wg_net *net, const float *theta0, const wg_dataset *train,
               const wg_dataset *probe, const wg_dataset *test, const wg_swa_opts *o,
               double *extra);

#endif
