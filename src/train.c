/* train.c: the minibatch training loop and full-split evaluation.
 * Every random choice is keyed by opts->seed: the batch order of epoch e is
 * stream (SHUFFLE, e), dropout masks of step s are stream s, so two runs with the
 * same options are bitwise identical on any machine with the same BLAS kernels. */
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

int wg_evaluate(wg_net *net, const float *theta, const wg_dataset *ds, double *loss,
                double *acc)
{
    int *labels = wg_alloc(net->cap, sizeof *labels, "labels");
    if (!labels)
        return WG_ENOMEM;
    double total = 0.0;
    size_t right = 0;
    for (size_t first = 0; first < ds->n; first += net->cap) {
        size_t B = ds->n - first < net->cap ? ds->n - first : net->cap, ok;
        wg_data_batch(ds, NULL, first, B, net->input, labels);
        wg_net_forward(net, theta, B, 0, 0, 0);
        total += wg_net_loss(net, labels, B, 0, &ok);
        right += ok;
    }
    free(labels);
    *loss = ds->n ? total / (double)ds->n : NAN;
    *acc = ds->n ? (double)right / (double)ds->n : NAN;
    return 0;
}

static int check(const wg_net *net, const wg_data *data, const wg_train_opts *o)
{
    const wg_dataset *tr = &data->train;
    if (tr->n == 0)
        return WG_FAIL(WG_EARG, "empty training set");
    if ((size_t)tr->h * tr->w * tr->c != net->in_size || tr->h != net->opts.in_h ||
        tr->c != net->opts.in_c)
        return WG_FAIL(WG_EARG, "data are %dx%dx%d images but the network expects %dx%dx%d",
                       tr->h, tr->w, tr->c, net->opts.in_h, net->opts.in_w, net->opts.in_c);
    if (tr->classes > net->opts.classes)
        return WG_FAIL(WG_EARG, "data have %d classes but the network outputs %d",
                       tr->classes, net->opts.classes);
    if (o->batch_size < 1 || o->batch_size > tr->n)
        return WG_FAIL(WG_EARG, "batch size %zu must be in [1, %zu] (the training set size)",
                       o->batch_size, tr->n);
    if (o->batch_size > net->cap)
        return WG_FAIL(WG_EARG, "batch size %zu exceeds the network's capacity %zu",
                       o->batch_size, net->cap);
    if (!(o->lr > 0.0) || !isfinite(o->lr))
        return WG_FAIL(WG_EARG, "learning rate %g must be positive", o->lr);
    if (!(o->l2 >= 0.0) || !isfinite(o->l2))
        return WG_FAIL(WG_EARG, "l2 = %g must be >= 0", o->l2);
    if (o->epochs < 0)
        return WG_FAIL(WG_EARG, "epochs = %d must be >= 0", o->epochs);
    if (o->schedule == WG_SCHED_CYCLIC &&
        (!(o->cycle_epochs > 0.0) || !(o->min_ratio > 0.0 && o->min_ratio <= 1.0)))
        return WG_FAIL(WG_EARG, "cyclic schedule needs cycle_epochs > 0 and 0 < min_ratio <= 1");
    return 0;
}

int wg_train(wg_net *net, float *theta, const wg_data *data, const wg_train_opts *o,
             wg_epoch_fn fn, void *user)
{
    int rc = check(net, data, o);
    if (rc)
        return rc;
    const wg_dataset *tr = &data->train;
    const size_t n = tr->n, D = net->nparams, bs = o->batch_size;
    const long steps_per_epoch = (long)((n + bs - 1) / bs);
    wg_optim opt;
    uint32_t *idx = wg_alloc(n, sizeof *idx, "batch order");
    int *labels = wg_alloc(net->cap, sizeof *labels, "labels");
    float *grad = wg_alloc(D, sizeof *grad, "gradient");
    rc = wg_optim_init(&opt, o->optimizer, D, o->optimizer == WG_OPT_SGD ? o->momentum : 0.0);
    if (!idx || !labels || !grad)
        rc = WG_ENOMEM;
    wg_schedule sched = {o->schedule, o->lr, o->min_ratio,
                         (long)llround(o->cycle_epochs * (double)steps_per_epoch)};
    long step = 0;
    for (int epoch = 1; rc == 0 && epoch <= o->epochs; epoch++) {
        double t0 = now(), loss_sum = 0.0;
        size_t right = 0;
        wg_rng r;
        wg_rng_init(&r, o->seed, wg_rng_stream(WG_RNG_SHUFFLE, (uint64_t)epoch, 0, 0));
        wg_rng_permute(&r, idx, n);
        for (size_t first = 0; first < n; first += bs, step++) {
            size_t B = n - first < bs ? n - first : bs, ok;
            wg_data_batch(tr, idx + first, 0, B, net->input, labels);
            wg_net_forward(net, theta, B, 1, o->seed, (uint64_t)step);
            double l = wg_net_loss(net, labels, B, 1, &ok);
            if (!isfinite(l)) {
                rc = WG_FAIL(WG_EDIVERGED, "diverged at epoch %d, step %ld: training loss is %g",
                             epoch, step, l / (double)B);
                break;
            }
            loss_sum += l;
            right += ok;
            wg_net_backward(net, theta, grad);
            if (o->l2 > 0.0)
                wg_net_l2(net, theta, grad, o->l2);
            wg_optim_step(&opt, theta, grad, wg_schedule_lr(&sched, step));
        }
        if (rc)
            break;
        wg_epoch_stats s = {.epoch = epoch,
                            .train_loss = loss_sum / (double)n,
                            .train_acc = (double)right / (double)n,
                            .param_norm = wg_norm(theta, D)};
        if (!isfinite(s.param_norm)) {
            rc = WG_FAIL(WG_EDIVERGED, "diverged in epoch %d: parameters are not finite", epoch);
            break;
        }
        if (data->test.n > 0)
            rc = wg_evaluate(net, theta, &data->test, &s.test_loss, &s.test_acc);
        else
            s.test_loss = s.test_acc = NAN;
        s.seconds = now() - t0;
        if (rc == 0 && fn)
            rc = fn(user, &s, theta, D);
    }
    wg_optim_free(&opt);
    free(idx);
    free(labels);
    free(grad);
    return rc;
}
