/* train.c: wedge's one training loop (wg_loop) and the training experiment on top
 * of it.  Every random choice is keyed by the seed: the batch order of epoch e is
 * stream (SHUFFLE, e, shuffle), the dropout masks of step s are stream
 * (first_epoch * steps per epoch + s), so two runs with the same options are bitwise
 * identical on any machine with the same BLAS kernels, and a loop that continues
 * another (SWA after training) continues its streams. */
#include "wedge/train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wedge/error.h"
#include "wedge/rng.h"

void wg_train_opts_default(wg_train_opts *o)
{
    memset(o, 0, sizeof *o);
    o->optimizer = WG_OPT_ADAM;
    o->lr = 1e-3;
    o->momentum = 0.9;
    o->l2 = 0.0;
    o->batch_size = 128;
    o->epochs = 10;
    o->schedule = WG_SCHED_CONSTANT;
    o->cycle_epochs = 1.0;
    o->min_ratio = 0.01;
    o->seed = 0;
}

double wg_norm(const float *x, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += (double)x[i] * x[i];
    return sqrt(s);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int check_loop(const wg_objective *f, const wg_loop_opts *o)
{
    if (!f->batch)
        return WG_FAIL(WG_EARG, "this objective cannot be trained (no minibatch steps)");
    if (f->ntrain > 0 && (o->batch_size < 1 || o->batch_size > f->ntrain))
        return WG_FAIL(WG_EARG, "batch size %zu must be in [1, %zu] (the training set size)",
                       o->batch_size, f->ntrain);
    if (f->ntrain > 0 && o->batch_size > f->batch_cap)
        return WG_FAIL(WG_EARG, "batch size %zu exceeds the network's capacity %zu",
                       o->batch_size, f->batch_cap);
    if (f->ntrain == 0 && f->epoch_steps < 1)
        return WG_FAIL(WG_EARG, "an objective without examples needs epoch_steps >= 1");
    if (!(o->lr > 0.0) || !isfinite(o->lr))
        return WG_FAIL(WG_EARG, "learning rate %g must be positive", o->lr);
    if (o->epochs < 0 || o->first_epoch < 0)
        return WG_FAIL(WG_EARG, "epochs = %d must be >= 0", o->epochs);
    if (o->schedule == WG_SCHED_CYCLIC &&
        (!(o->cycle_epochs > 0.0) || !(o->min_ratio > 0.0 && o->min_ratio <= 1.0)))
        return WG_FAIL(WG_EARG, "cyclic schedule needs cycle_epochs > 0 and 0 < min_ratio <= 1");
    return 0;
}

int wg_loop(const wg_objective *f, float *theta, const wg_loop_opts *o, wg_loop_fn fn,
            void *user, wg_loop_epoch *bad)
{
    int rc = check_loop(f, o);
    if (rc)
        return rc;
    const size_t n = f->ntrain, D = f->dim, bs = n ? o->batch_size : 1;
    const long spe = n ? (long)((n + bs - 1) / bs) : (long)f->epoch_steps;
    const int window = o->window > 0 ? o->window : 1;
    wg_optim opt;
    uint32_t *idx = n ? wg_alloc(n, sizeof *idx, "batch order") : NULL;
    float *grad = wg_alloc(D, sizeof *grad, "gradient");
    rc = wg_optim_init(&opt, o->optimizer, D, o->optimizer == WG_OPT_SGD ? o->momentum : 0.0);
    if ((n && !idx) || !grad)
        rc = WG_ENOMEM;
    wg_schedule sched = {o->schedule, o->lr, o->min_ratio,
                         (long)llround(o->cycle_epochs * (double)spe)};
    const long step0 = (long)o->first_epoch * spe;
    wg_loop_epoch rep = {0};
    long step = 0;
    for (int e = 0; rc == 0 && e < o->epochs; e++) {
        if (o->max_steps > 0 && step >= o->max_steps)
            break; /* the step budget ended with the last epoch */
        const int epoch = o->first_epoch + e + 1;
        if (n) {
            wg_rng r;
            wg_rng_init(&r, o->seed, wg_rng_stream(WG_RNG_SHUFFLE, (uint64_t)epoch, o->shuffle, 0));
            wg_rng_permute(&r, idx, n);
        }
        for (long k = 0; k < spe && !(o->max_steps > 0 && step >= o->max_steps); k++, step++) {
            size_t first = (size_t)k * bs, B = n ? (n - first < bs ? n - first : bs) : 1, ok = 0;
            double l = 0.0;
            rc = f->batch(f->ctx, theta, n ? idx + first : NULL, B, o->seed,
                          (uint64_t)(step0 + step), &l, &ok, grad);
            if (rc)
                break;
            if (!isfinite(l)) {
                if (bad)
                    *bad = (wg_loop_epoch){.epoch = epoch, .step = step, .loss = l / (double)B};
                rc = WG_EDIVERGED;
                break;
            }
            rep.loss_sum += l;
            rep.correct += ok;
            rep.seen += B;
            wg_optim_step(&opt, theta, grad, wg_schedule_lr(&sched, step));
        }
        if (rc)
            break;
        rep.epoch = epoch;
        rep.step = step;
        if (fn)
            rc = fn(user, &rep, theta, D);
        if ((e + 1) % window == 0)
            rep.loss_sum = 0.0, rep.correct = rep.seen = 0;
    }
    wg_optim_free(&opt);
    free(idx);
    free(grad);
    return rc;
}

typedef struct train_ctx {
    const wg_objective *f, *test;
    wg_epoch_fn fn;
    void *user;
    double t0;
} train_ctx;

static int train_epoch(void *user, const wg_loop_epoch *e, const float *theta, size_t D)
{
    train_ctx *c = user;
    wg_epoch_stats s = {.epoch = e->epoch, .param_norm = wg_norm(theta, D), .steps = e->step};
    int rc = 0;
    if (c->f->ntrain) {
        s.train_loss = e->loss_sum / (double)e->seen;
        s.train_acc = (double)e->correct / (double)e->seen;
    } else { /* no examples: the loss at the epoch's end */
        rc = wg_objective_loss(c->f, theta, &s.train_loss);
        s.train_acc = NAN;
    }
    if (rc == 0 && !isfinite(s.param_norm))
        rc = WG_FAIL(WG_EDIVERGED, "diverged in epoch %d: parameters are not finite", e->epoch);
    s.test_loss = s.test_acc = NAN;
    if (rc == 0 && c->test && c->test->dim > 0 && c->test->nexamples > 0)
        rc = c->test->evaluate(c->test->ctx, theta, &s.test_loss, &s.test_acc);
    s.seconds = now() - c->t0;
    if (rc == 0 && c->fn)
        rc = c->fn(c->user, &s, theta, D);
    c->t0 = now();
    return rc;
}

int wg_train(const wg_objective *f, const wg_objective *test, float *theta,
             const wg_train_opts *o, wg_epoch_fn fn, void *user)
{
    if (!(o->l2 >= 0.0) || !isfinite(o->l2))
        return WG_FAIL(WG_EARG, "l2 = %g must be >= 0", o->l2);
    wg_loop_opts lo = {.optimizer = o->optimizer,
                       .momentum = o->momentum,
                       .schedule = o->schedule,
                       .lr = o->lr,
                       .min_ratio = o->min_ratio,
                       .cycle_epochs = o->cycle_epochs,
                       .batch_size = o->batch_size,
                       .epochs = o->epochs,
                       .window = 1,
                       .max_steps = o->max_steps,
                       .seed = o->seed};
    train_ctx c = {f, test, fn, user, now()};
    wg_loop_epoch bad;
    int rc = wg_loop(f, theta, &lo, train_epoch, &c, &bad);
    if (rc == WG_EDIVERGED && !wg_err_code())
        rc = WG_FAIL(WG_EDIVERGED, "diverged at epoch %d, step %ld: training loss is %g",
                     bad.epoch, bad.step, bad.loss);
    return rc;
}
