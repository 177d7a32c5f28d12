/* exec.c: one task -> one record.  Training tasks load (or reuse) their data,
 * train from the seeded initialisation, and keep statistics of every epoch and the
 * parameters at the snapshot epochs.  A task that fails becomes a record saying
 * so; the sweep goes on. */
#include "wedge/exec.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wedge/error.h"
#include "wedge/net.h"
#include "wedge/objective.h"
#include "wedge/rng.h"
#include "wedge/store.h"
#include "wedge/train.h"
#include "wedge/tunnel.h"

void wg_exec_init(wg_exec *x) { memset(x, 0, sizeof *x); }

void wg_exec_free(wg_exec *x)
{
    if (!x)
        return;
    wg_dataset_free(&x->probe);
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
    wg_dataset_free(&x->probe);
    x->probe_size = 0;
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

static int exec_train(wg_exec *x, const wg_plan *plan, const wg_task *t, int rank,
                      wg_stop_fn stop, void *user, wg_result *r)
{
    const wg_setting *s = &t->set;
    double t0 = now();
    wg_net net = {0};
    float *theta = NULL;
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
    return rc;
}

/* The probe set: a seeded subset of the training split, built once per data. */
static int probe_set(wg_exec *x, size_t size, uint64_t seed, const wg_dataset **out)
{
    const wg_dataset *tr = &x->data.train;
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
        int rc = wg_dataset_subset(p, size, seed, wg_rng_stream(WG_RNG_SUBSET, 2, 0, 0));
        if (rc) {
            wg_dataset_free(p);
            return rc;
        }
        x->probe_size = size;
    }
    *out = &x->probe;
    return 0;
}

/* The parameters of epoch `epoch` in a dependency's record, or NULL. */
static const float *snapshot(const wg_result *dep, int epoch)
{
    for (int k = 0; dep && dep->status == WG_STATUS_DONE && k < dep->nsnap; k++)
        if (dep->snap_epoch[k] == epoch)
            return dep->params + (size_t)k * dep->nparams;
    return NULL;
}

/* A probe's record: no epochs, snapshots or parameters, only extra doubles. */
static int probe_record(const wg_task *t, int rank, wg_result *r)
{
    int rc = wg_result_init(r, 0, 0, 0);
    r->task = t->id;
    r->rank = rank;
    return rc;
}

static int exec_tunnel(wg_exec *x, const wg_plan *plan, const wg_task *t, int rank,
                       const wg_result *dep, wg_result *r)
{
    const wg_setting *s = &t->set;
    const wg_tunnel_plan *tp = &plan->tunnel;
    double t0 = now();
    int rc = probe_record(t, rank, r);
    if (rc)
        return rc;
    const float *P0 = snapshot(dep, t->probe_epoch);
    if (!P0)
        return WG_FAIL(WG_EARG, "training task %zu has no parameters of epoch %d",
                       t->deps[0], t->probe_epoch);
    const wg_dataset *probe;
    wg_objective f = {0};
    wg_tunnel_opts o;
    wg_tunnel_opts_default(&o);
    o.nlevels = wg_plan_tunnel_levels(plan, o.levels);
    o.a_max_rel = tp->a_max;
    o.seed = s->train.seed;
    o.stream = (uint64_t)t->probe_epoch;
    wg_tunnel_result tr = {0};
    rc = load_data(x, s, plan->seed);
    if (rc == 0)
        rc = probe_set(x, tp->probe_size, plan->seed, &probe);
    if (rc == 0)
        rc = wg_objective_net(&f, &s->net, probe, 500);
    if (rc == 0 && f.dim != dep->nparams)
        rc = WG_FAIL(WG_EFORMAT, "training task %zu has %zu parameters, the net %zu",
                     t->deps[0], dep->nparams, f.dim);
    if (rc == 0)
        rc = wg_tunnel_probe(&f, P0, &o, t->dir_first, t->dir_count, &tr);
    if (rc == 0) {
        size_t off[WG_TX_PARTS];
        size_t n = wg_tunnel_layout(t->dir_count, o.nlevels, off);
        rc = wg_result_extra(r, 3 + n);
        if (rc == 0) {
            r->extra[0] = t->dir_count;
            r->extra[1] = t->dir_first;
            r->extra[2] = o.nlevels;
            wg_tunnel_pack(&tr, r->extra + 3);
        }
    }
    wg_tunnel_result_free(&tr);
    wg_objective_free(&f);
    r->wall_time = now() - t0;
    return rc;
}

/* The loss on a grid over the plane through three optima: origin O1, axes e1 along
 * O2 - O1 and e2 along the part of O3 - O1 orthogonal to it (Gram-Schmidt in
 * double); the grid covers the optima plus `margin` of their span on each side. */
static int exec_plane(wg_exec *x, const wg_plan *plan, const wg_task *t, int rank,
                      const wg_result *const *deps, wg_result *r)
{
    const wg_setting *s = &t->set;
    const wg_plane_plan *pp = &plan->plane;
    double t0 = now();
    int rc = probe_record(t, rank, r);
    if (rc)
        return rc;
    const float *O[3];
    for (int j = 0; j < 3; j++)
        if (!(O[j] = snapshot(deps ? deps[j] : NULL, t->probe_epoch)))
            return WG_FAIL(WG_EARG, "training task %zu has no parameters of epoch %d",
                           t->deps[j], t->probe_epoch);
    const size_t D = deps[0]->nparams;
    if (deps[1]->nparams != D || deps[2]->nparams != D)
        return WG_FAIL(WG_EFORMAT, "the three optima have different parameter counts");
    const int G = pp->grid;
    double *e1 = wg_alloc(D, sizeof *e1, "plane basis"), *e2 = wg_alloc(D, sizeof *e2, "plane basis");
    float *theta = wg_alloc(D, sizeof *theta, "plane point");
    wg_objective f = {0};
    const wg_dataset *probe;
    if (!e1 || !e2 || !theta)
        rc = WG_ENOMEM;
    double u = 0, w2 = 0, pr = 0, wn = 0;
    if (rc == 0) {
        for (size_t i = 0; i < D; i++) {
            e1[i] = (double)O[1][i] - O[0][i];
            u += e1[i] * e1[i];
        }
        u = sqrt(u);
        for (size_t i = 0; i < D; i++) {
            e1[i] /= u;
            e2[i] = (double)O[2][i] - O[0][i];
            pr += e2[i] * e1[i];
        }
        for (size_t i = 0; i < D; i++) {
            e2[i] -= pr * e1[i];
            w2 += e2[i] * e2[i];
        }
        wn = sqrt(w2);
        for (size_t i = 0; i < D; i++)
            e2[i] /= wn;
        if (!(u > 0) || !(wn > 0) || !isfinite(u) || !isfinite(wn))
            rc = WG_FAIL(WG_EARG, "the three optima do not span a plane");
    }
    if (rc == 0)
        rc = load_data(x, s, plan->seed);
    if (rc == 0)
        rc = probe_set(x, pp->probe_size, plan->seed, &probe);
    if (rc == 0)
        rc = wg_objective_net(&f, &s->net, probe, 500);
    const int nrows = t->dir_count, row0 = t->dir_first;
    if (rc == 0)
        rc = wg_result_extra(r, 3 + 2 * (size_t)G + 6 + (size_t)nrows * (size_t)G);
    if (rc == 0) {
        double *ex = r->extra, *gx = ex + 3, *gy = gx + G, *vx = gy + G, *vy = vx + 3;
        double *loss = vy + 3;
        ex[0] = nrows;
        ex[1] = row0;
        ex[2] = G;
        vx[0] = 0, vy[0] = 0, vx[1] = u, vy[1] = 0, vx[2] = pr, vy[2] = wn;
        double xmin = fmin(0, pr), xmax = fmax(u, pr), ymin = 0, ymax = wn;
        double mx = pp->margin * (xmax - xmin), my = pp->margin * (ymax - ymin);
        for (int i = 0; i < G; i++) {
            gx[i] = xmin - mx + (xmax - xmin + 2 * mx) * i / (G - 1);
            gy[i] = ymin - my + (ymax - ymin + 2 * my) * i / (G - 1);
        }
        for (int rr = 0; rc == 0 && rr < nrows; rr++)
            for (int c = 0; rc == 0 && c < G; c++) {
                double a = gx[c], b = gy[row0 + rr];
                for (size_t i = 0; i < D; i++)
                    theta[i] = (float)(O[0][i] + a * e1[i] + b * e2[i]);
                double L;
                rc = f.eval(f.ctx, theta, &L, NULL);
                loss[(size_t)rr * G + c] = L;
            }
    }
    wg_objective_free(&f);
    free(e1);
    free(e2);
    free(theta);
    r->wall_time = now() - t0;
    return rc;
}

int wg_exec_task(wg_exec *x, const wg_plan *plan, const wg_task *t, int rank,
                 const wg_result *const *deps, wg_stop_fn stop, void *user, wg_result *r)
{
    wg_err_clear();
    memset(r, 0, sizeof *r);
    int rc;
    if (t->kind == WG_TASK_TUNNEL)
        rc = exec_tunnel(x, plan, t, rank, deps ? deps[0] : NULL, r);
    else if (t->kind == WG_TASK_PLANE)
        rc = exec_plane(x, plan, t, rank, deps, r);
    else
        rc = exec_train(x, plan, t, rank, stop, user, r);
    if (rc == WG_EINTR || (rc == WG_ENOMEM && !r->train_loss))
        return rc;
    r->task = t->id;
    r->rank = rank;
    if (rc == 0) {
        r->status = WG_STATUS_DONE;
    } else {
        r->status = rc == WG_EDIVERGED ? WG_STATUS_DIVERGED : WG_STATUS_FAILED;
        snprintf(r->message, sizeof r->message, "%s",
                 wg_err_code() ? wg_err_msg() : wg_err_name(rc));
    }
    wg_err_clear();
    return 0;
}
