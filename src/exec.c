/* exec.c: one task -> one record.  Training tasks load (or reuse) their data,
 * train from the seeded initialisation, and keep statistics of every epoch and the
 * parameters at the snapshot epochs.  A task that fails becomes a record saying
 * so; the sweep goes on. */
#include "wedge/exec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wedge/error.h"
#include "wedge/net.h"
#include "wedge/train.h"

void wg_exec_init(wg_exec *x) { memset(x, 0, sizeof *x); }

void wg_exec_free(wg_exec *x)
{
    if (!x)
        return;
    wg_data_free(&x->data);
    memset(x, 0, sizeof *x);
}

static int same_data(const wg_setting *a, const wg_setting *b)
{
    return a->data == b->data && strcmp(a->data_path, b->data_path) == 0 &&
           a->train_size == b->train_size && a->test_size == b->test_size &&
           a->synth_train == b->synth_train && a->synth_test == b->synth_test &&
           a->synth_size == b->synth_size && a->synth_channels == b->synth_channels;
}

static int load_data(wg_exec *x, const wg_setting *s, uint64_t seed)
{
    if (x->have_data && x->data_seed == seed && same_data(&x->data_key, s))
        return 0;
    wg_data_free(&x->data);
    x->have_data = 0;
    wg_data_opts o = {.kind = s->data,
                      .path = s->data_path[0] ? s->data_path : NULL,
                      .train_size = s->train_size,
                      .test_size = s->test_size,
                      .subset_seed = seed,
                      .synth_train = s->synth_train,
                      .synth_test = s->synth_test,
                      .synth_h = s->synth_size,
                      .synth_w = s->synth_size,
                      .synth_c = s->synth_channels,
                      .synth_seed = seed};
    int rc = wg_data_load(&x->data, &o);
    if (rc == 0) {
        x->have_data = 1;
        x->data_key = *s;
        x->data_seed = seed;
    }
    return rc;
}

typedef struct train_ctx {
    wg_result *r;
    const wg_setting *s;
    wg_stop_fn stop;
    void *user;
    int next_snap;
} train_ctx;

static int on_epoch(void *user, const wg_epoch_stats *st, const float *theta, size_t n)
{
    train_ctx *c = user;
    wg_result *r = c->r;
    int e = st->epoch - 1;
    r->train_loss[e] = st->train_loss;
    r->train_acc[e] = st->train_acc;
    r->test_loss[e] = st->test_loss;
    r->test_acc[e] = st->test_acc;
    r->param_norm[e] = st->param_norm;
    r->nepochs = st->epoch;
    if (c->next_snap < c->s->nsnapshots && c->s->snapshots[c->next_snap] == st->epoch) {
        memcpy(r->params + (size_t)c->next_snap * n, theta, n * sizeof *theta);
        r->snap_epoch[c->next_snap] = st->epoch;
        r->nsnap = ++c->next_snap;
    }
    if (c->stop && c->stop(c->user))
        return WG_EINTR;
    return 0;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int wg_exec_task(wg_exec *x, const wg_plan *plan, const wg_task *t, int rank,
                 wg_stop_fn stop, void *user, wg_result *r)
{
    const wg_setting *s = &t->set;
    double t0 = now();
    wg_net net = {0};
    float *theta = NULL;
    wg_err_clear();
    int rc = wg_net_init(&net, &s->net, s->train.batch_size);
    int rrc = wg_result_init(r, s->train.epochs, s->nsnapshots, rc == 0 ? net.nparams : 0);
    if (rrc) {
        wg_net_free(&net);
        return rrc;
    }
    r->task = t->id;
    r->rank = rank;
    if (rc == 0)
        rc = load_data(x, s, plan->seed);
    if (rc == 0 && !(theta = wg_alloc(net.nparams, sizeof *theta, "parameters")))
        rc = WG_ENOMEM;
    if (rc == 0) {
        wg_net_init_params(&net, theta, s->train.seed, 0);
        train_ctx c = {r, s, stop, user, 0};
        rc = wg_train(&net, theta, &x->data, &s->train, on_epoch, &c);
    }
    free(theta);
    wg_net_free(&net);
    r->wall_time = now() - t0;
    if (rc == WG_EINTR)
        return WG_EINTR;
    if (rc == 0) {
        r->status = WG_STATUS_DONE;
    } else {
        r->status = rc == WG_EDIVERGED ? WG_STATUS_DIVERGED : WG_STATUS_FAILED;
        snprintf(r->message, sizeof r->message, "%s", wg_err_code() ? wg_err_msg() : wg_err_name(rc));
    }
    wg_err_clear();
    return 0;
}
