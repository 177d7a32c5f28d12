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
#include "wedge/connect.h"
#include "wedge/hessian.h"
#include "wedge/hyperplane.h"
#include "wedge/objective.h"
#include "wedge/optim.h"
#include "wedge/rng.h"
#include "wedge/store.h"
#include "wedge/subspace.h"
#include "wedge/swa.h"
#include "wedge/toy.h"
#include "wedge/train.h"
#include "wedge/tunnel.h"

void wg_exec_init(wg_exec *x) { memset(x, 0, sizeof *x); }

size_t wg_connect_layout(int K, int nseg, int E, size_t D, size_t off[WG_CX_PARTS])
{
    size_t k = (size_t)K, p = (size_t)nseg * (size_t)E;
    const size_t len[WG_CX_PARTS] = {5, k * D, k, p, p, p, p, p, p, p, p, 2, k * k, 1, k};
    size_t o = 0;
    for (int i = 0; i < WG_CX_PARTS; i++) {
        off[i] = o;
        o += len[i];
    }
    return o;
}

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

/* The landscape a probe looks at: the toy wedge model, or the network on a probe
 * set of `probe_size` training images. */
static int landscape(wg_exec *x, const wg_plan *plan, const wg_setting *s, size_t probe_size,
                     wg_objective *f)
{
    if (s->net.arch == WG_ARCH_TOY)
        return wg_objective_toy(f, (size_t)s->toy_dim, (size_t)s->toy_long);
    const wg_dataset *probe;
    int rc = load_data(x, s, plan->seed);
    if (rc == 0)
        rc = probe_set(x, probe_size, plan->seed, &probe);
    if (rc == 0)
        rc = wg_objective_net(f, &s->net, probe, 500);
    return rc;
}

/* "Training" on the toy model: from a seeded random point (N(0,1) coordinates),
 * `epochs` blocks of 100 Adam steps on L_toy; an epoch's train_loss is L at its end
 * (the model has no data: test statistics are NaN). */
static int exec_train_toy(const wg_task *t, int rank, wg_stop_fn stop, void *user,
                          wg_result *r)
{
    const wg_setting *s = &t->set;
    const size_t D = (size_t)s->toy_dim;
    double t0 = now();
    int rc = wg_result_init(r, s->train.epochs, s->nsnapshots, D);
    if (rc)
        return rc;
    r->task = t->id;
    r->rank = rank;
    wg_objective f = {0};
    wg_optim opt = {0};
    float *P = wg_alloc(D, sizeof *P, "toy point"), *g = wg_alloc(D, sizeof *g, "toy gradient");
    if (!P || !g)
        rc = WG_ENOMEM;
    if (rc == 0)
        rc = wg_objective_toy(&f, D, (size_t)s->toy_long);
    if (rc == 0)
        rc = wg_optim_init(&opt, s->train.optimizer, D, s->train.momentum);
    if (rc == 0) {
        wg_rng g0;
        wg_rng_init(&g0, s->train.seed, wg_rng_stream(WG_RNG_TOY, 0, 0, 0));
        wg_rng_fill_normal(&g0, P, D);
    }
    int next = 0;
    for (int e = 1; rc == 0 && e <= s->train.epochs; e++) {
        double L = 0.0;
        for (int k = 0; rc == 0 && k < 100; k++) {
            rc = wg_objective_grad(&f, P, &L, g);
            if (rc == 0)
                wg_optim_step(&opt, P, g, s->train.lr);
        }
        if (rc == 0)
            rc = wg_objective_loss(&f, P, &L);
        if (rc)
            break;
        r->train_loss[e - 1] = L;
        r->train_acc[e - 1] = r->test_loss[e - 1] = r->test_acc[e - 1] = NAN;
        r->param_norm[e - 1] = wg_norm(P, D);
        r->nepochs = e;
        if (next < s->nsnapshots && s->snapshots[next] == e) {
            memcpy(r->params + (size_t)next * D, P, D * sizeof *P);
            r->snap_epoch[next] = e;
            r->nsnap = ++next;
        }
        if (stop && stop(user))
            rc = WG_EINTR;
    }
    /* extra: the near-zero coordinates of the final point (docs/METHODS.md) */
    if (rc == 0)
        rc = wg_result_extra(r, 1);
    if (rc == 0)
        r->extra[0] = (double)wg_toy_short_dirs(P, D, 1e-3);
    wg_objective_free(&f);
    wg_optim_free(&opt);
    free(P);
    free(g);
    r->wall_time = now() - t0;
    return rc;
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
                       const wg_result *dep, wg_stop_fn stop, void *user, wg_result *r)
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
    wg_objective f = {0};
    wg_tunnel_opts o;
    wg_tunnel_opts_default(&o);
    o.nlevels = wg_plan_tunnel_levels(plan, o.levels);
    o.a_max_rel = tp->a_max;
    o.seed = s->train.seed;
    o.stream = (uint64_t)t->probe_epoch;
    o.stop = stop;
    o.stop_user = user;
    wg_tunnel_result tr = {0};
    rc = landscape(x, plan, s, tp->probe_size, &f);
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
                      const wg_result *const *deps, wg_stop_fn stop, void *user,
                      wg_result *r)
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
        rc = landscape(x, plan, s, pp->probe_size, &f);
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
                if (stop && stop(user)) {
                    rc = WG_EINTR;
                    break;
                }
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


/* The test split as an objective (for test loss and predictions along paths). */
static int test_objective(wg_exec *x, const wg_setting *s, wg_objective *f)
{
    return wg_objective_net(f, &s->net, &x->data.test, 500);
}

/* Loss, accuracy and (optionally) predictions of objective f at theta. */
static int measure(const wg_objective *f, const float *theta, double *loss, double *acc,
                   int *pred)
{
    int rc = f->eval(f->ctx, theta, loss, NULL);
    if (rc == 0 && acc)
        rc = f->accuracy(f->ctx, theta, acc);
    if (rc == 0 && pred)
        rc = f->predict(f->ctx, theta, pred);
    return rc;
}

static double changed(const int *a, const int *b, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += a[i] != b[i];
    return n ? (double)k / (double)n : NAN;
}

/* Connectors (docs/METHODS.md): a 1-connector's K hyperplane points between O1 and
 * O2, or an m-connector's centre, optimised inside their planes; then the loss,
 * accuracy and label changes along the path and the straight line.  The record's
 * extra doubles are laid out as in wg_connect_layout (exec.h). */
static int exec_connect(wg_exec *x, const wg_plan *plan, const wg_task *t, int rank,
                        const wg_result *const *deps, wg_stop_fn stop, void *user,
                        wg_result *r)
{
    const wg_setting *s = &t->set;
    const wg_connect_plan *cp = &plan->connect;
    const int m = t->dir_first, K = m == 1 ? cp->points : 1, E = cp->eval_points;
    const int nseg = m == 1 ? K + 1 : m + 1;
    double t0 = now();
    int rc = probe_record(t, rank, r);
    if (rc)
        return rc;
    const float *O[WG_MAX_DEPS];
    for (int j = 0; j <= m; j++)
        if (!(O[j] = snapshot(deps ? deps[j] : NULL, t->probe_epoch)))
            return WG_FAIL(WG_EARG, "training task %zu has no parameters of epoch %d",
                           t->deps[j], t->probe_epoch);
    const size_t D = deps[0]->nparams;
    for (int j = 1; j <= m; j++)
        if (deps[j]->nparams != D)
            return WG_FAIL(WG_EFORMAT, "the optima have different parameter counts");
    size_t off[WG_CX_PARTS];
    size_t n = wg_connect_layout(K, nseg, E, D, off);
    wg_objective f = {0}, ft = {0};
    int *p0 = NULL, *p1 = NULL, *pp = NULL;
    double *B = wg_alloc((size_t)m, D * sizeof *B, "connector basis");
    float *X = wg_alloc((size_t)K, D * sizeof *X, "connector points");
    float *y = wg_alloc(D, sizeof *y, "path point");
    if (!B || !X || !y)
        rc = WG_ENOMEM;
    const int toy = s->net.arch == WG_ARCH_TOY;
    if (rc == 0)
        rc = landscape(x, plan, s, cp->probe_size, &f);
    if (rc == 0 && !toy) /* the toy model has no test set or predictions */
        rc = test_objective(x, s, &ft);
    if (rc == 0)
        rc = wg_result_extra(r, n);
    if (rc == 0 && !toy) {
        p0 = wg_alloc(ft.nexamples, sizeof *p0, "predictions");
        p1 = wg_alloc(ft.nexamples, sizeof *p1, "predictions");
        pp = wg_alloc(ft.nexamples, sizeof *pp, "predictions");
        if (!p0 || !p1 || !pp)
            rc = WG_ENOMEM;
    }
    double *ex = rc == 0 ? r->extra : NULL;
    /* the plane: B's rows span the directions between the optima */
    for (int j = 0; rc == 0 && j < m; j++)
        for (size_t i = 0; i < D; i++)
            B[(size_t)j * D + i] = (double)O[j + 1][i] - O[0][i];
    if (rc == 0)
        rc = wg_gram_schmidt(B, m, D);
    /* starting points: C_k on the segment, or the centroid */
    for (int k = 0; rc == 0 && k < K; k++)
        for (size_t i = 0; i < D; i++) {
            double v = 0.0;
            if (m == 1) {
                double tk = (double)(k + 1) / (K + 1);
                v = (1.0 - tk) * O[0][i] + tk * O[1][i];
            } else {
                for (int j = 0; j <= m; j++)
                    v += O[j][i];
                v /= m + 1;
            }
            X[(size_t)k * D + i] = (float)v;
        }
    float *C = rc == 0 ? wg_alloc((size_t)K, D * sizeof *C, "connector starts") : NULL;
    if (rc == 0 && !C)
        rc = WG_ENOMEM;
    if (rc == 0)
        memcpy(C, X, (size_t)K * D * sizeof *C);
    wg_connect_opts o;
    wg_connect_opts_default(&o);
    o.objective = cp->objective ? WG_CONNECT_PATH : WG_CONNECT_POINT;
    o.steps = cp->steps;
    o.lr = cp->lr;
    o.seed = s->train.seed;
    o.stop = stop;
    o.stop_user = user;
    int rounds = m == 1 && o.objective == WG_CONNECT_PATH ? cp->rounds : 1;
    for (int round = 0; rc == 0 && round < rounds; round++)
        for (int k = 0; rc == 0 && k < K; k++) {
            const float *anch[WG_MAX_DEPS];
            int na;
            if (m == 1) { /* the neighbours on the polyline O1, X_1 .. X_K, O2 */
                anch[0] = k == 0 ? O[0] : X + (size_t)(k - 1) * D;
                anch[1] = k == K - 1 ? O[1] : X + (size_t)(k + 1) * D;
                na = 2;
            } else {
                for (int j = 0; j <= m; j++)
                    anch[j] = O[j];
                na = m + 1;
            }
            o.stream = (uint64_t)(round * 1000 + k);
            rc = wg_connect_optimize(&f, X + (size_t)k * D, B, m, anch, na, &o,
                                     &ex[off[WG_CX_LOSS] + (size_t)k]);
            if (rc == 0) {
                double lk = wg_plane_leak(X + (size_t)k * D, C + (size_t)k * D, B, m, D);
                ex[off[WG_CX_LEAK]] = fmax(ex[off[WG_CX_LEAK]], lk);
            }
        }
    /* along the path and the straight line */
    if (rc == 0 && !toy)
        rc = measure(&ft, O[0], &ex[off[WG_CX_HDR]], NULL, p0);
    if (rc == 0 && !toy)
        rc = measure(&ft, O[1], &ex[off[WG_CX_HDR]], NULL, p1);
    double bpath = -INFINITY, bline = -INFINITY;
    for (int sg = 0; rc == 0 && sg < nseg; sg++) {
        const float *a, *b, *la, *lb;
        if (m == 1) {
            a = sg == 0 ? O[0] : X + (size_t)(sg - 1) * D;
            b = sg == K ? O[1] : X + (size_t)sg * D;
            la = O[0];
            lb = O[1];
        } else {
            a = X;
            b = O[sg];
            la = C;
            lb = O[sg];
        }
        if (m > 1 && !toy)
            rc = measure(&ft, O[sg], &ex[off[WG_CX_HDR]], NULL, p1);
        for (int e = 0; rc == 0 && e < E; e++) {
            size_t q = (size_t)sg * E + (size_t)e;
            double u = (double)e / E;
            for (size_t i = 0; i < D; i++)
                y[i] = (float)((1.0 - u) * a[i] + u * b[i]);
            rc = measure(&f, y, &ex[off[WG_CX_TRAIN_LOSS] + q],
                         toy ? NULL : &ex[off[WG_CX_TRAIN_ACC] + q], NULL);
            if (rc == 0 && !toy)
                rc = measure(&ft, y, &ex[off[WG_CX_TEST_LOSS] + q], &ex[off[WG_CX_TEST_ACC] + q],
                             pp);
            if (rc)
                break;
            if (toy) {
                ex[off[WG_CX_TRAIN_ACC] + q] = ex[off[WG_CX_TEST_LOSS] + q] = NAN;
                ex[off[WG_CX_TEST_ACC] + q] = ex[off[WG_CX_CHANGE_A] + q] = NAN;
                ex[off[WG_CX_CHANGE_B] + q] = NAN;
            } else {
                ex[off[WG_CX_CHANGE_A] + q] = changed(pp, p0, ft.nexamples);
                ex[off[WG_CX_CHANGE_B] + q] = changed(pp, p1, ft.nexamples);
            }
            bpath = fmax(bpath, ex[off[WG_CX_TRAIN_LOSS] + q]);
            /* the straight line: O1 -> O2 in nseg*E steps, or centroid -> O_i */
            double ul = m == 1 ? (double)q / ((double)nseg * E) : u;
            for (size_t i = 0; i < D; i++)
                y[i] = (float)((1.0 - ul) * la[i] + ul * lb[i]);
            rc = measure(&f, y, &ex[off[WG_CX_LINE_TRAIN] + q], NULL, NULL);
            if (rc == 0 && !toy)
                rc = measure(&ft, y, &ex[off[WG_CX_LINE_TEST] + q], NULL, NULL);
            else
                ex[off[WG_CX_LINE_TEST] + q] = NAN;
            if (rc == 0)
                bline = fmax(bline, ex[off[WG_CX_LINE_TRAIN] + q]);
        }
    }
    if (rc == 0) {
        ex[off[WG_CX_HDR] + 0] = m;
        ex[off[WG_CX_HDR] + 1] = K;
        ex[off[WG_CX_HDR] + 2] = nseg;
        ex[off[WG_CX_HDR] + 3] = E;
        ex[off[WG_CX_HDR] + 4] = (double)D;
        ex[off[WG_CX_BARRIER]] = bpath;
        ex[off[WG_CX_BARRIER] + 1] = bline;
        for (size_t i = 0; i < (size_t)K * D; i++)
            ex[off[WG_CX_X] + i] = X[i];
        for (int k = 0; k < K; k++) /* near-zero coordinates of each point (METHODS.md) */
            ex[off[WG_CX_NEAR_ZERO] + (size_t)k] = (double)wg_toy_short_dirs(X + (size_t)k * D,
                                                                             D, 1e-3);
        /* cosines of the deviations X_k - C_k (Figure 3, middle) */
        for (int a = 0; a < K; a++)
            for (int b = 0; b < K; b++) {
                double ab = 0, aa = 0, bb = 0;
                for (size_t i = 0; i < D; i++) {
                    double da = (double)X[(size_t)a * D + i] - C[(size_t)a * D + i];
                    double db = (double)X[(size_t)b * D + i] - C[(size_t)b * D + i];
                    ab += da * db, aa += da * da, bb += db * db;
                }
                ex[off[WG_CX_COS] + (size_t)a * K + b] = ab / sqrt(aa * bb);
            }
    }
    wg_objective_free(&f);
    wg_objective_free(&ft);
    free(B), free(X), free(C), free(y), free(p0), free(p1), free(pp);
    r->wall_time = now() - t0;
    return rc;
}

/* Short directions (Lanczos) at an optimum or at a connector's point. */
static int exec_hessian(wg_exec *x, const wg_plan *plan, const wg_task *t, int rank,
                        const wg_result *dep, wg_stop_fn stop, void *user, wg_result *r)
{
    const wg_setting *s = &t->set;
    const wg_hessian_plan *hp = &plan->hessian;
    double t0 = now();
    int rc = probe_record(t, rank, r);
    if (rc)
        return rc;
    const float *X = NULL;
    float *owned = NULL;
    size_t D = 0;
    if (t->dir_first == WG_AT_OPTIMUM) {
        X = snapshot(dep, t->probe_epoch);
        D = dep ? dep->nparams : 0;
    } else if (dep && dep->status == WG_STATUS_DONE && dep->nextra > 0) {
        size_t off[WG_CX_PARTS];
        int K = (int)dep->extra[1], nseg = (int)dep->extra[2], E = (int)dep->extra[3];
        D = (size_t)dep->extra[4];
        if (t->dir_count < K && wg_connect_layout(K, nseg, E, D, off) == dep->nextra &&
            (owned = wg_alloc(D, sizeof *owned, "Hessian point"))) {
            for (size_t i = 0; i < D; i++)
                owned[i] = (float)dep->extra[off[WG_CX_X] + (size_t)t->dir_count * D + i];
            X = owned;
        }
    }
    if (!X)
        return WG_FAIL(WG_EARG, "task %zu has no point for this Hessian probe", t->deps[0]);
    wg_objective f = {0};
    wg_hessian_result h = {0};
    rc = landscape(x, plan, s, hp->probe_size, &f);
    if (rc == 0 && f.dim != D)
        rc = WG_FAIL(WG_EFORMAT, "point has %zu parameters, the net %zu", D, f.dim);
    wg_hessian_opts o;
    wg_hessian_opts_default(&o);
    o.threshold = hp->threshold;
    o.max_hvp = hp->budget;
    o.seed = s->train.seed;
    o.stream = (uint64_t)t->dir_first * 1000 + (uint64_t)t->dir_count;
    o.stop = stop;
    o.stop_user = user;
    if (rc == 0)
        rc = wg_hessian_probe(&f, X, &o, &h);
    if (rc == 0)
        rc = wg_result_extra(r, 6 + 2 * (size_t)h.n);
    if (rc == 0) {
        double *ex = r->extra;
        ex[0] = h.n, ex[1] = (double)h.hvps, ex[2] = h.converged;
        ex[3] = h.count_half, ex[4] = h.count, ex[5] = h.count_double;
        for (int i = 0; i < h.n; i++) {
            ex[6 + i] = h.ritz[i];
            ex[6 + h.n + i] = h.resid[i];
        }
    }
    wg_hessian_result_free(&h);
    wg_objective_free(&f);
    free(owned);
    r->wall_time = now() - t0;
    return rc;
}

/* Random-hyperplane optimisation of the toy model (hyperplane.h): P = P0 + M theta
 * with P0 the toy training's starting point (its seeded N(0,1) draw, as
 * exec_train_toy makes it) or its optimum.  extra as exec_subspace's: [d, steps,
 * NaN x 4, L_initial, L_final, ratio, success, steps, near-zero count]. */
static int exec_subspace_toy(const wg_plan *plan, const wg_task *t, int rank,
                             const wg_result *dep, wg_stop_fn stop, void *user, wg_result *r)
{
    const wg_setting *s = &t->set;
    const wg_subspace_plan *sp = &plan->subspace;
    const size_t D = (size_t)s->toy_dim;
    double t0 = now();
    int rc = probe_record(t, rank, r);
    if (rc)
        return rc;
    float *P0 = wg_alloc(D, sizeof *P0, "toy point");
    if (!P0)
        return WG_ENOMEM;
    if (sp->at_optimum) {
        const float *P = snapshot(dep, t->probe_epoch);
        if (!P || dep->nparams != D)
            rc = WG_FAIL(WG_EARG, "training task %zu has no parameters of epoch %d",
                         t->deps[0], t->probe_epoch);
        else
            memcpy(P0, P, D * sizeof *P0);
    } else {
        wg_rng g0;
        wg_rng_init(&g0, s->train.seed, wg_rng_stream(WG_RNG_TOY, 0, 0, 0));
        wg_rng_fill_normal(&g0, P0, D);
    }
    wg_hyper_opts o;
    wg_hyper_opts_default(&o);
    o.method = sp->toy_optimizer;
    o.steps = sp->toy_steps ? sp->toy_steps : wg_hyper_default_steps(o.method);
    o.seed = s->train.seed;
    o.stream = (uint64_t)t->dir_first;
    o.stop = stop;
    o.stop_user = user;
    wg_hyper_result h;
    if (rc == 0)
        rc = wg_hyper_run(P0, D, (size_t)s->toy_long, (size_t)t->dir_first, &o, &h);
    if (rc == 0)
        rc = wg_result_extra(r, WG_SUBSPACE_EXTRA);
    if (rc == 0) {
        double *ex = r->extra;
        ex[0] = t->dir_first, ex[1] = h.steps;
        ex[2] = ex[3] = ex[4] = ex[5] = NAN;
        ex[6] = h.loss_initial, ex[7] = h.loss_final, ex[8] = h.ratio;
        ex[9] = h.success, ex[10] = h.steps, ex[11] = (double)h.near_zero;
    }
    free(P0);
    r->wall_time = now() - t0;
    return rc;
}

/* Training inside a random d-dimensional subspace at the initialisation (the
 * training task's own, so d -> D recovers it) or at the trained optimum.  extra
 * (WG_SUBSPACE_EXTRA doubles): [d, epochs, train loss, train accuracy, test loss,
 * test accuracy, then the toy model's L_initial, L_final, ratio, success, steps,
 * near-zero count: NaN / -1 here]. */
static int exec_subspace(wg_exec *x, const wg_plan *plan, const wg_task *t, int rank,
                         const wg_result *dep, wg_stop_fn stop, void *user, wg_result *r)
{
    const wg_setting *s = &t->set;
    const wg_subspace_plan *sp = &plan->subspace;
    if (s->net.arch == WG_ARCH_TOY)
        return exec_subspace_toy(plan, t, rank, dep, stop, user, r);
    double t0 = now();
    int rc = probe_record(t, rank, r);
    if (rc)
        return rc;
    wg_net net = {0};
    wg_subspace m = {0};
    float *X0 = NULL;
    rc = wg_net_init(&net, &s->net, s->train.batch_size);
    if (rc == 0 && !(X0 = wg_alloc(net.nparams, sizeof *X0, "subspace anchor")))
        rc = WG_ENOMEM;
    if (rc == 0 && sp->at_optimum) {
        const float *P = snapshot(dep, t->probe_epoch);
        if (!P || dep->nparams != net.nparams)
            rc = WG_FAIL(WG_EARG, "training task %zu has no parameters of epoch %d",
                         t->deps[0], t->probe_epoch);
        else
            memcpy(X0, P, net.nparams * sizeof *X0);
    } else if (rc == 0) {
        wg_net_init_params(&net, X0, s->train.seed, 0);
    }
    if (rc == 0)
        rc = load_data(x, s, plan->seed);
    if (rc == 0)
        rc = wg_subspace_init(&m, net.nparams, (size_t)t->dir_first,
                              sp->nnz < (int)net.nparams ? sp->nnz : (int)net.nparams,
                              s->train.seed, (uint64_t)t->dir_first);
    wg_epoch_stats last;
    wg_train_opts o = s->train;
    /* Adam moves each z_j by about lr a step, so theta by about lr*sqrt(d): scale lr by
     * 1/sqrt(d) to keep the step in theta the same at every d (docs/sweep-format.md) */
    o.lr = sp->lr_ref_d > 0 ? sp->lr * sqrt((double)sp->lr_ref_d / t->dir_first) : sp->lr;
    if (rc == 0)
        rc = wg_subspace_train(&net, X0, &m, &x->data, &o, &last);
    if (rc == 0)
        rc = wg_result_extra(r, WG_SUBSPACE_EXTRA);
    if (rc == 0) {
        double *ex = r->extra;
        ex[0] = t->dir_first, ex[1] = last.epoch, ex[2] = last.train_loss;
        ex[3] = last.train_acc, ex[4] = last.test_loss, ex[5] = last.test_acc;
        ex[6] = ex[7] = ex[8] = NAN;
        ex[9] = ex[10] = ex[11] = -1;
    }
    wg_subspace_free(&m);
    wg_net_free(&net);
    free(X0);
    r->wall_time = now() - t0;
    return rc;
}

/* SWA against prediction averaging (src/swa.c) from the training's final
 * parameters, with lr_max = the plan's value t->dir_first; the optimizer is the
 * training's unless probes.swa.optimizer says otherwise.  extra: wg_swa_layout. */
static int exec_swa(wg_exec *x, const wg_plan *plan, const wg_task *t, int rank,
                    const wg_result *dep, wg_stop_fn stop, void *user, wg_result *r)
{
    const wg_setting *s = &t->set;
    const wg_swa_plan *sp = &plan->swa;
    double t0 = now();
    int rc = probe_record(t, rank, r);
    if (rc)
        return rc;
    wg_net net = {0};
    const wg_dataset *probe = NULL;
    const float *P0 = snapshot(dep, t->probe_epoch);
    rc = wg_net_init(&net, &s->net, s->train.batch_size);
    if (rc == 0 && (!P0 || dep->nparams != net.nparams))
        rc = WG_FAIL(WG_EARG, "training task %zu has no parameters of epoch %d",
                     t->deps[0], t->probe_epoch);
    if (rc == 0)
        rc = load_data(x, s, plan->seed);
    if (rc == 0)
        rc = probe_set(x, sp->probe_size, plan->seed, &probe);
    wg_swa_opts o;
    wg_swa_opts_default(&o);
    o.cycles = sp->cycles;
    o.cycle_epochs = sp->cycle_epochs;
    o.lr_max = sp->lr_max[t->dir_first];
    o.min_ratio = sp->min_ratio;
    o.optimizer = sp->optimizer >= 0 ? (wg_opt_kind)sp->optimizer : s->train.optimizer;
    o.momentum = s->train.momentum;
    o.l2 = s->train.l2;
    o.batch_size = s->train.batch_size;
    o.seed = s->train.seed;
    o.first_epoch = t->probe_epoch;
    o.stop = stop;
    o.stop_user = user;
    size_t off[WG_SX_PARTS];
    if (rc == 0)
        rc = wg_result_extra(r, wg_swa_layout(o.cycles, off));
    if (rc == 0)
        rc = wg_swa_run(&net, P0, &x->data.train, probe, &x->data.test, &o, r->extra);
    if (rc && r->extra) { /* a failed or diverged row keeps no half-made numbers */
        free(r->extra);
        r->extra = NULL;
        r->nextra = 0;
    }
    wg_net_free(&net);
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
        rc = exec_tunnel(x, plan, t, rank, deps ? deps[0] : NULL, stop, user, r);
    else if (t->kind == WG_TASK_PLANE)
        rc = exec_plane(x, plan, t, rank, deps, stop, user, r);
    else if (t->kind == WG_TASK_CONNECT)
        rc = exec_connect(x, plan, t, rank, deps, stop, user, r);
    else if (t->kind == WG_TASK_HESSIAN)
        rc = exec_hessian(x, plan, t, rank, deps ? deps[0] : NULL, stop, user, r);
    else if (t->kind == WG_TASK_SUBSPACE)
        rc = exec_subspace(x, plan, t, rank, deps ? deps[0] : NULL, stop, user, r);
    else if (t->kind == WG_TASK_SWA)
        rc = exec_swa(x, plan, t, rank, deps ? deps[0] : NULL, stop, user, r);
    else if (t->set.net.arch == WG_ARCH_TOY)
        rc = exec_train_toy(t, rank, stop, user, r);
    else
        rc = exec_train(x, plan, t, rank, stop, user, r);
    if (rc == WG_EINTR) {
        wg_result_free(r);
        return rc;
    }
    if (rc == WG_ENOMEM && !r->train_loss)
        return rc;
    r->task = t->id;
    r->kind = t->kind;
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
