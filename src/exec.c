/* exec.c: one task -> one record.  The worker's cache of data (copies lent by the
 * runner, shared by the ranks of a node, and a private one loaded on first use) and of
 * probe sets, the landscapes kinds probe, and the dispatch to a task's kind (kind.h),
 * which does the work; a task that fails becomes a record saying so, and the sweep
 * goes on.  Nothing here knows MPI: the sharing itself is nodedata.c's. */
#include "wedge/exec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wedge/error.h"
#include "wedge/kind.h"
#include "wedge/rng.h"

/* Probes evaluate the probe set in batches of this many images. */
#define PROBE_BATCH 500

void wg_exec_init(wg_exec *x) { memset(x, 0, sizeof *x); }

void wg_exec_free(wg_exec *x)
{
    if (!x)
        return;
    wg_dataset_free(&x->probe);
    wg_data_free(&x->data);
    memset(x, 0, sizeof *x);
}

double wg_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int wg_exec_stopped(wg_exec *x) { return x->stop && x->stop(x->stop_user); }

int wg_exec_data_key(const wg_setting *s, uint64_t seed, wg_data_key *key)
{
    memset(key, 0, sizeof *key);
    if (wg_setting_is_toy(s))
        return 0;
    key->kind = s->data;
    key->synth_size = s->synth_size;
    key->synth_channels = s->synth_channels;
    key->train_size = s->train_size;
    key->test_size = s->test_size;
    key->synth_train = s->synth_train;
    key->synth_test = s->synth_test;
    key->seed = seed;
    snprintf(key->path, sizeof key->path, "%s", s->data_path);
    return 1;
}

int wg_exec_data_load(wg_data *d, const wg_data_key *key)
{
    wg_data_opts o = {.kind = key->kind,
                      .path = key->path[0] ? key->path : NULL,
                      .train_size = key->train_size,
                      .test_size = key->test_size,
                      .subset_seed = key->seed,
                      .synth_train = key->synth_train,
                      .synth_test = key->synth_test,
                      .synth_h = key->synth_size,
                      .synth_w = key->synth_size,
                      .synth_c = key->synth_channels,
                      .synth_seed = key->seed};
    return wg_data_load(d, &o);
}

int wg_exec_share(wg_exec *x, const wg_data_key *key, const wg_data *d)
{
    for (int i = 0; i < x->nshared; i++)
        if (memcmp(&x->shared_key[i], key, sizeof *key) == 0)
            return WG_FAIL(WG_EARG, "wg_exec_share: the data %s is already lent",
                           wg_data_kind_name(key->kind));
    if (x->nshared >= WG_EXEC_SHARED)
        return WG_FAIL(WG_EARG, "wg_exec_share: at most %d datasets can be lent",
                       WG_EXEC_SHARED);
    x->shared[x->nshared] = *d;
    x->shared_key[x->nshared] = *key;
    x->nshared++;
    return 0;
}

/* The probe set belongs to the data it was drawn from: another data drops it. */
static void use_data(wg_exec *x, const wg_data *d)
{
    if (x->probe_of != d) {
        wg_dataset_free(&x->probe);
        x->probe_size = 0;
        x->probe_of = d;
    }
}

int wg_exec_data(wg_exec *x, const wg_plan *plan, const wg_setting *s, const wg_data **out)
{
    wg_data_key key;
    wg_exec_data_key(s, plan->seed, &key);
    for (int i = 0; i < x->nshared; i++)
        if (memcmp(&x->shared_key[i], &key, sizeof key) == 0) {
            use_data(x, &x->shared[i]);
            *out = &x->shared[i];
            return 0;
        }
    *out = &x->data;
    if (x->have_data && memcmp(&x->data_key, &key, sizeof key) == 0) {
        use_data(x, &x->data);
        return 0;
    }
    use_data(x, NULL);
    wg_data_free(&x->data);
    x->have_data = 0;
    int rc = wg_exec_data_load(&x->data, &key);
    if (rc == 0) {
        x->have_data = 1;
        x->data_key = key;
        use_data(x, &x->data);
    }
    return rc;
}

int wg_exec_probe_set(wg_exec *x, const wg_plan *plan, const wg_setting *s, size_t size,
                      const wg_dataset **out)
{
    const wg_data *d;
    int rc = wg_exec_data(x, plan, s, &d);
    if (rc)
        return rc;
    const wg_dataset *tr = &d->train;
    if (size >= tr->n) {
        *out = tr;
        return 0;
    }
    if (x->probe_size != size) {
        wg_dataset_free(&x->probe);
        x->probe_size = 0;
        wg_dataset *p = &x->probe;
        *p = *tr;
        size_t img = (size_t)tr->h * tr->w * tr->c;
        p->pixels = wg_alloc(tr->n, img, "probe set");
        p->labels = wg_alloc(tr->n, 1, "probe set");
        if (!p->pixels || !p->labels) {
            wg_dataset_free(p);
            return WG_ENOMEM;
        }
        memcpy(p->pixels, tr->pixels, tr->n * img);
        memcpy(p->labels, tr->labels, tr->n);
        rc = wg_dataset_subset(p, size, plan->seed, wg_rng_stream(WG_RNG_SUBSET, 2, 0, 0));
        if (rc) {
            wg_dataset_free(p);
            return rc;
        }
        x->probe_size = size;
    }
    *out = &x->probe;
    return 0;
}

int wg_exec_landscape_batch(wg_exec *x, const wg_plan *plan, const wg_setting *s,
                            size_t probe_size, size_t batch, wg_objective *f)
{
    if (wg_setting_is_toy(s))
        return wg_objective_toy(f, (size_t)s->toy_dim, (size_t)s->toy_long);
    const wg_dataset *probe;
    int rc = wg_exec_probe_set(x, plan, s, probe_size, &probe);
    if (rc == 0)
        rc = wg_objective_net(f, &s->net, probe, batch);
    return rc;
}

int wg_exec_landscape(wg_exec *x, const wg_plan *plan, const wg_setting *s, size_t probe_size,
                      wg_objective *f)
{
    return wg_exec_landscape_batch(x, plan, s, probe_size, PROBE_BATCH, f);
}

int wg_exec_landscape_l2(wg_exec *x, const wg_plan *plan, const wg_setting *s,
                         size_t probe_size, wg_objective *f)
{
    if (wg_setting_is_toy(s))
        return wg_objective_toy(f, (size_t)s->toy_dim, (size_t)s->toy_long);
    const wg_dataset *probe;
    int rc = wg_exec_probe_set(x, plan, s, probe_size, &probe);
    if (rc == 0)
        rc = wg_objective_net_train(f, &s->net, probe, PROBE_BATCH, s->train.l2);
    if (rc == 0)
        rc = wg_objective_include_l2(f);
    return rc;
}

int wg_exec_model(wg_exec *x, const wg_plan *plan, const wg_setting *s, wg_objective *train,
                  wg_objective *test)
{
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    if (wg_setting_is_toy(s))
        return wg_objective_toy(train, (size_t)s->toy_dim, (size_t)s->toy_long);
    const wg_data *d;
    int rc = wg_exec_data(x, plan, s, &d);
    if (rc == 0)
        rc = wg_objective_net_train(train, &s->net, &d->train, s->train.batch_size,
                                    s->train.l2);
    if (rc == 0 && d->test.n > 0)
        rc = wg_objective_net(test, &s->net, &d->test, s->train.batch_size);
    if (rc) {
        wg_objective_free(train);
        wg_objective_free(test);
    }
    return rc;
}

int wg_exec_test(wg_exec *x, const wg_plan *plan, const wg_setting *s, wg_objective *f)
{
    memset(f, 0, sizeof *f);
    if (wg_setting_is_toy(s))
        return 0;
    const wg_data *d;
    int rc = wg_exec_data(x, plan, s, &d);
    if (rc == 0)
        rc = wg_objective_net(f, &s->net, &d->test, PROBE_BATCH);
    return rc;
}

int wg_exec_task(wg_exec *x, const wg_plan *plan, const wg_task *t,
                 const wg_result *const *deps, wg_result *r)
{
    wg_err_clear();
    const wg_kind *k = wg_kind_get(t->kind);
    int rc = k ? wg_result_init(r, k->nvars) : WG_FAIL(WG_EARG, "task %zu: unknown kind %d",
                                                          t->id, (int)t->kind);
    if (rc)
        return rc;
    r->task = t->id;
    r->kind = t->kind;
    r->rank = x->rank;
    double t0 = wg_now();
    rc = k->run(x, plan, t, deps, r);
    r->wall_time = wg_now() - t0;
    if (rc == WG_EINTR) {
        wg_result_free(r);
        return rc;
    }
    if (rc == 0) {
        r->status = WG_STATUS_DONE;
    } else {
        r->status = rc == WG_EDIVERGED ? WG_STATUS_DIVERGED
                    : rc == WG_ESKIP   ? WG_STATUS_SKIPPED
                                       : WG_STATUS_FAILED;
        snprintf(r->message, sizeof r->message, "%s",
                 wg_err_code() ? wg_err_msg() : wg_err_name(rc));
    }
    wg_err_clear();
    return 0;
}
