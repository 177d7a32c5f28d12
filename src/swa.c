/* swa.c: the cyclic-learning-rate snapshots of a trained network, their weight
 * average (SWA) and their averaged predictions (docs/METHODS.md, Figure 6).
 * The training loop here is train.c's with a cyclic schedule, a fresh optimizer
 * and the pre-training's streams continued; it keeps a snapshot per cycle instead
 * of per-epoch test statistics.  Evaluation keeps what an ensemble needs: log p(y)
 * of every example per network and the summed class probabilities.  Nothing here
 * knows about tasks, sweeps or files: task_swa.c packs wg_swa_run's result into a
 * record. */
#include "wedge/swa.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "wedge/error.h"
#include "wedge/rng.h"
#include "wedge/train.h"

void wg_swa_opts_default(wg_swa_opts *o)
{
    memset(o, 0, sizeof *o);
    o->cycles = 8;
    o->cycle_epochs = 1;
    o->lr_max = 1e-3;
    o->min_ratio = 0.01;
    o->optimizer = WG_OPT_ADAM;
    o->momentum = 0.9;
    o->batch_size = 128;
}

static int check_opts(const wg_swa_opts *o)
{
    if (o->cycles < 1 || o->cycles > WG_SWA_MAX_CYCLES)
        return WG_FAIL(WG_EARG, "swa: cycles = %d must be in [1, %d]", o->cycles,
                       WG_SWA_MAX_CYCLES);
    if (o->cycle_epochs < 1)
        return WG_FAIL(WG_EARG, "swa: cycle_epochs = %d must be >= 1", o->cycle_epochs);
    if (!(o->lr_max > 0.0) || !isfinite(o->lr_max))
        return WG_FAIL(WG_EARG, "swa: lr_max = %g must be a positive number", o->lr_max);
    if (!(o->min_ratio > 0.0 && o->min_ratio <= 1.0))
        return WG_FAIL(WG_EARG, "swa: min_ratio = %g must be in (0, 1]", o->min_ratio);
    if (!(o->l2 >= 0.0) || !isfinite(o->l2))
        return WG_FAIL(WG_EARG, "swa: l2 = %g must be >= 0", o->l2);
    if (o->first_epoch < 0)
        return WG_FAIL(WG_EARG, "swa: first_epoch = %d must be >= 0", o->first_epoch);
    return 0;
}

int wg_swa_schedule(const wg_swa_opts *o, size_t n, wg_schedule *s)
{
    int rc = check_opts(o);
    if (rc)
        return rc;
    if (o->batch_size < 1 || n < 1)
        return WG_FAIL(WG_EARG, "swa: batch size %zu for %zu images", o->batch_size, n);
    long spe = (long)((n + o->batch_size - 1) / o->batch_size);
    *s = (wg_schedule){WG_SCHED_CYCLIC, o->lr_max, o->min_ratio, (long)o->cycle_epochs * spe};
    return 0;
}

typedef struct cycles_ctx {
    const wg_swa_opts *o;
    float *snaps;
    double *cycle_loss;
} cycles_ctx;

/* After every epoch: stop if asked; at a cycle's end, the snapshot. */
static int cycle_epoch(void *user, const wg_loop_epoch *e, const float *theta, size_t D)
{
    cycles_ctx *c = user;
    const wg_swa_opts *o = c->o;
    if (o->stop && o->stop(o->stop_user))
        return WG_EINTR;
    int done = e->epoch - o->first_epoch; /* epochs of the cycles so far */
    if (done % o->cycle_epochs != 0)
        return 0;
    int k = done / o->cycle_epochs - 1;
    if (!isfinite(wg_norm(theta, D)))
        return WG_FAIL(WG_EDIVERGED, "swa diverged in cycle %d of %d (lr_max %g): "
                       "parameters are not finite", k + 1, o->cycles, o->lr_max);
    memcpy(c->snaps + (size_t)k * D, theta, D * sizeof *theta);
    if (c->cycle_loss)
        c->cycle_loss[k] = e->loss_sum / (double)e->seen;
    return 0;
}

int wg_swa_cycles(const wg_objective *train, float *theta, const wg_swa_opts *o, float *snaps,
                  double *cycle_loss)
{
    wg_schedule sched;
    int rc = wg_swa_schedule(o, train->ntrain, &sched);
    if (rc)
        return rc;
    wg_loop_opts lo = {.optimizer = o->optimizer,
                       .momentum = o->momentum,
                       .schedule = WG_SCHED_CYCLIC,
                       .lr = o->lr_max,
                       .min_ratio = o->min_ratio,
                       .cycle_epochs = o->cycle_epochs,
                       .batch_size = o->batch_size,
                       .first_epoch = o->first_epoch,
                       .epochs = o->cycles * o->cycle_epochs,
                       .window = o->cycle_epochs,
                       .seed = o->seed};
    cycles_ctx c = {o, snaps, cycle_loss};
    wg_loop_epoch bad;
    rc = wg_loop(train, theta, &lo, cycle_epoch, &c, &bad);
    if (rc == WG_EDIVERGED && !wg_err_code())
        rc = WG_FAIL(WG_EDIVERGED,
                     "swa diverged in cycle %d of %d (lr_max %g): training loss is %g",
                     (bad.epoch - o->first_epoch - 1) / o->cycle_epochs + 1, o->cycles,
                     o->lr_max, bad.loss);
    return rc;
}

void wg_swa_average(const float *snaps, int M, size_t D, float *avg)
{
    for (size_t i = 0; i < D; i++) {
        double s = 0.0;
        for (int m = 0; m < M; m++)
            s += snaps[(size_t)m * D + i];
        avg[i] = (float)(s / M);
    }
}

void wg_swa_ensemble(const double *logp, int M, const double *probsum, const uint8_t *y,
                     size_t n, int K, double *loss, double *acc)
{
    double total = 0.0;
    size_t right = 0;
    const double logM = log((double)M);
    for (size_t i = 0; i < n; i++) {
        double mx = logp[i];
        for (int m = 1; m < M; m++)
            mx = fmax(mx, logp[(size_t)m * n + i]);
        double s = 0.0;
        for (int m = 0; m < M; m++)
            s += exp(logp[(size_t)m * n + i] - mx);
        double lp = mx + log(s) - logM; /* M = 1: mx + log(1) - 0 = logp exactly */
        total += -lp;
        const double *p = probsum + i * (size_t)K;
        int best = 0;
        for (int k = 1; k < K; k++)
            if (p[k] > p[best])
                best = k;
        right += best == (int)y[i];
    }
    *loss = n ? total / (double)n : NAN;
    *acc = n ? (double)right / (double)n : NAN;
}

void wg_swa_geometry(const float *snaps, int M, size_t D, const float *origin, double *dist,
                     double *cosine)
{
    for (int a = 0; a < M; a++)
        for (int b = a; b < M; b++) {
            const float *x = snaps + (size_t)a * D, *y = snaps + (size_t)b * D;
            double d2 = 0.0, xy = 0.0, xx = 0.0, yy = 0.0;
            for (size_t i = 0; i < D; i++) {
                double dx = (double)x[i] - y[i];
                double u = origin ? (double)x[i] - origin[i] : x[i];
                double v = origin ? (double)y[i] - origin[i] : y[i];
                d2 += dx * dx;
                xy += u * v, xx += u * u, yy += v * v;
            }
            double c = xy / sqrt(xx * yy); /* NaN for a zero vector */
            if (dist)
                dist[(size_t)a * M + b] = dist[(size_t)b * M + a] = sqrt(d2);
            if (cosine)
                cosine[(size_t)a * M + b] = cosine[(size_t)b * M + a] = c;
        }
}

void wg_swa_result_free(wg_swa_result *r)
{
    if (!r)
        return;
    free(r->snap[0]); /* one block for the per-snapshot arrays */
    free(r->dist);
    memset(r, 0, sizeof *r);
}

/* Test and probe-set loss and accuracy and the norm of theta into out[5]. */
static int measure(const wg_objective *test, const wg_objective *probe, const float *theta,
                   double *out)
{
    int rc = test->probs(test->ctx, theta, &out[WG_SWA_TEST_LOSS], &out[WG_SWA_TEST_ACC], NULL,
                         NULL);
    if (rc == 0)
        rc = probe->probs(probe->ctx, theta, &out[WG_SWA_TRAIN_LOSS], &out[WG_SWA_TRAIN_ACC],
                          NULL, NULL);
    out[WG_SWA_NORM] = wg_norm(theta, test->dim);
    return rc;
}

static int stopped(const wg_swa_opts *o)
{
    return o->stop && o->stop(o->stop_user);
}

int wg_swa_run(const wg_objective *train, const wg_objective *probe, const wg_objective *test,
               const float *theta0, const wg_swa_opts *o, wg_swa_result *r)
{
    memset(r, 0, sizeof *r);
    int rc = check_opts(o);
    if (rc)
        return rc;
    if (!test->probs || !probe->probs || test->dim != train->dim || probe->dim != train->dim)
        return WG_FAIL(WG_EARG, "swa: the objectives need softmax predictions of one network");
    const int M = o->cycles, K = test->classes;
    const size_t D = train->dim, nt = test->nexamples, np = probe->nexamples,
                 m = (size_t)M, NS = WG_SWA_MEASURES + 2;
    r->M = M;
    r->snap[0] = wg_alloc(NS * m, sizeof(double), "swa results");
    r->dist = wg_alloc(3 * m * m, sizeof(double), "swa results");
    float *theta = wg_alloc(D, sizeof *theta, "parameters");
    float *snaps = wg_alloc(m, D * sizeof *snaps, "swa snapshots");
    float *avg = wg_alloc(D, sizeof *avg, "weight average");
    double *lp_t = wg_alloc(m, (nt ? nt : 1) * sizeof *lp_t, "test predictions");
    double *lp_p = wg_alloc(m, (np ? np : 1) * sizeof *lp_p, "probe predictions");
    double *ps_t = wg_calloc(nt ? nt : 1, (size_t)K * sizeof *ps_t, "test predictions");
    double *ps_p = wg_calloc(np ? np : 1, (size_t)K * sizeof *ps_p, "probe predictions");
    if (!r->snap[0] || !r->dist || !theta || !snaps || !avg || !lp_t || !lp_p || !ps_t || !ps_p)
        rc = WG_ENOMEM;
    if (rc == 0) {
        for (size_t i = 1; i < NS; i++)
            r->snap[i] = r->snap[0] + i * m;
        r->cosine = r->dist + m * m;
        r->dcosine = r->dist + 2 * m * m;
    }
    double *const snap_dist = r->snap[WG_SWA_MEASURES], *const cycle_loss = r->snap[NS - 1];
    if (rc == 0 && !isfinite(wg_norm(theta0, D)))
        rc = WG_FAIL(WG_EDIVERGED, "swa: the pre-trained parameters are not finite");
    if (rc == 0)
        rc = measure(test, probe, theta0, r->start);
    if (rc == 0) {
        memcpy(theta, theta0, D * sizeof *theta);
        rc = wg_swa_cycles(train, theta, o, snaps, cycle_loss);
    }
    for (int k = 0; rc == 0 && k < M; k++) {
        const float *s = snaps + (size_t)k * D;
        rc = test->probs(test->ctx, s, &r->snap[WG_SWA_TEST_LOSS][k],
                         &r->snap[WG_SWA_TEST_ACC][k], lp_t + (size_t)k * nt, ps_t);
        if (rc == 0)
            rc = probe->probs(probe->ctx, s, &r->snap[WG_SWA_TRAIN_LOSS][k],
                              &r->snap[WG_SWA_TRAIN_ACC][k], lp_p + (size_t)k * np, ps_p);
        double d2 = 0.0;
        for (size_t i = 0; i < D; i++) {
            double d = (double)s[i] - theta0[i];
            d2 += d * d;
        }
        r->snap[WG_SWA_NORM][k] = wg_norm(s, D);
        snap_dist[k] = sqrt(d2);
        if (rc == 0 && stopped(o))
            rc = WG_EINTR;
    }
    if (rc == 0) {
        wg_swa_ensemble(lp_t, M, ps_t, test->labels, nt, K, &r->ens[WG_SWA_TEST_LOSS],
                        &r->ens[WG_SWA_TEST_ACC]);
        wg_swa_ensemble(lp_p, M, ps_p, probe->labels, np, K, &r->ens[WG_SWA_TRAIN_LOSS],
                        &r->ens[WG_SWA_TRAIN_ACC]);
        wg_swa_average(snaps, M, D, avg);
        rc = measure(test, probe, avg, r->avg);
    }
    if (rc == 0) {
        wg_swa_geometry(snaps, M, D, NULL, r->dist, r->cosine);
        wg_swa_geometry(snaps, M, D, theta0, NULL, r->dcosine);
    }
    free(theta), free(snaps), free(avg), free(lp_t), free(lp_p), free(ps_t), free(ps_p);
    return rc;
}
