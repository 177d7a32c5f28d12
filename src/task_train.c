/* task_train.c: the train kind.  A training task trains the setting's model from its
 * seeded initialisation (src/train.c) and keeps statistics of every epoch and the
 * parameters at the snapshot epochs (which probes read).  Networks train on
 * minibatches of their data; the toy wedge model has none: an epoch is
 * WG_TOY_EPOCH_STEPS full-gradient steps, its loss is L at the epoch's end, and the
 * record also counts the final point's near-zero coordinates (docs/METHODS.md). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "wedge/error.h"
#include "wedge/exec.h"
#include "wedge/kind.h"
#include "wedge/toy.h"
#include "wedge/train.h"

enum { V_TRAIN_LOSS, V_TRAIN_ACC, V_TEST_LOSS, V_TEST_ACC, V_NORM, V_SNAP_EPOCH, V_PARAMS,
       V_NEAR_ZERO, NVARS };

/* Near-zero coordinates: |P_j| <= NEAR_ZERO_REL |P| / sqrt(D) (docs/METHODS.md). */
#define NEAR_ZERO_REL 1e-3

static int has_toy(const wg_plan *p)
{
    for (size_t i = 0; i < p->ntasks; i++)
        if (wg_setting_is_toy(&p->tasks[i].set))
            return 1;
    return 0;
}

static const wg_var VARS[NVARS] = {
    [V_TRAIN_LOSS] = {"train_loss", WG_T_DOUBLE, "epoch",
                      "mean minibatch training loss over the epoch (dropout on, no L2)", "nat",
                      .per_task = 1},
    [V_TRAIN_ACC] = {"train_accuracy", WG_T_DOUBLE, "epoch",
                     "minibatch training accuracy over the epoch", "1", .per_task = 1},
    [V_TEST_LOSS] = {"test_loss", WG_T_DOUBLE, "epoch", "test loss after the epoch", "nat",
                     .per_task = 1},
    [V_TEST_ACC] = {"test_accuracy", WG_T_DOUBLE, "epoch", "test accuracy after the epoch", "1",
                    .per_task = 1},
    [V_NORM] = {"param_norm", WG_T_DOUBLE, "epoch", "|theta| after the epoch", "1",
                .per_task = 1},
    [V_SNAP_EPOCH] = {"snapshot_epoch", WG_T_INT, "snapshot",
                      "epoch of each kept parameter vector", "epochs", WG_FILL_MINUS1,
                      .per_task = 1},
    [V_PARAMS] = {"params", WG_T_FLOAT, "snapshot param",
                  "flat parameter vector theta at each snapshot epoch (first nparams entries)",
                  "1", WG_FILL_NONE, .per_task = 1},
    [V_NEAR_ZERO] = {"near_zero", WG_T_INT, "",
                     "toy model: near-zero coordinates of a training's final point, "
                     "|P_j| <= 1e-3 |P|/sqrt(D)", "1", WG_FILL_MINUS1, .per_task = 1,
                     .when = has_toy},
};

/* The record being filled while training runs. */
typedef struct rec {
    double *stat[5];            /* train loss/acc, test loss/acc, norm: one per epoch */
    int *snap_epoch;
    float *params;
    int nepochs, nsnap, next_snap;
    const wg_setting *s;
    wg_exec *x;
} rec;

static int rec_init(rec *c, wg_result *r, const wg_setting *s, size_t D, wg_exec *x)
{
    memset(c, 0, sizeof *c);
    c->s = s;
    c->x = x;
    size_t E = (size_t)s->train.epochs, S = (size_t)s->nsnapshots, ps[2] = {S, D};
    for (int i = 0; i < 5; i++)
        if (!(c->stat[i] = wg_result_slot(r, V_TRAIN_LOSS + i, WG_T_DOUBLE, 1, NULL, &E)))
            return WG_ENOMEM;
    c->snap_epoch = wg_result_slot(r, V_SNAP_EPOCH, WG_T_INT, 1, NULL, &S);
    c->params = wg_result_slot(r, V_PARAMS, WG_T_FLOAT, 2, NULL, ps);
    return c->snap_epoch && c->params ? 0 : WG_ENOMEM;
}

/* Shrink the slots to what was computed: a diverged training keeps its good epochs. */
static void rec_trim(rec *c, wg_result *r)
{
    for (int i = 0; i < 5; i++)
        if (r->slots[V_TRAIN_LOSS + i].set)
            r->slots[V_TRAIN_LOSS + i].count[0] = r->slots[V_TRAIN_LOSS + i].n =
                (size_t)c->nepochs;
    wg_slot *se = &r->slots[V_SNAP_EPOCH], *sp = &r->slots[V_PARAMS];
    if (se->set)
        se->count[0] = se->n = (size_t)c->nsnap;
    if (sp->set) {
        sp->count[0] = (size_t)c->nsnap;
        sp->n = sp->count[0] * sp->count[1];
    }
}

/* One epoch's statistics and, at a snapshot epoch, the parameters. */
static int on_epoch(void *user, const wg_epoch_stats *st, const float *theta, size_t n)
{
    rec *c = user;
    int e = st->epoch - 1;
    c->stat[0][e] = st->train_loss;
    c->stat[1][e] = st->train_acc;
    c->stat[2][e] = st->test_loss;
    c->stat[3][e] = st->test_acc;
    c->stat[4][e] = st->param_norm;
    c->nepochs = st->epoch;
    if (c->next_snap < c->s->nsnapshots && c->s->snapshots[c->next_snap] == st->epoch) {
        memcpy(c->params + (size_t)c->next_snap * n, theta, n * sizeof *theta);
        c->snap_epoch[c->next_snap] = st->epoch;
        c->nsnap = ++c->next_snap;
    }
    return wg_exec_stopped(c->x) ? WG_EINTR : 0;
}

static int run(wg_exec *x, const wg_plan *plan, const wg_task *t, const wg_result *const *deps,
               wg_result *r)
{
    (void)deps;
    const wg_setting *s = &t->set;
    wg_objective f = {0}, test = {0};
    float *theta = NULL;
    rec c;
    int rc = wg_exec_model(x, plan, s, &f, &test);
    if (rc == 0)
        rc = rec_init(&c, r, s, f.dim, x);
    if (rc == 0 && !(theta = wg_alloc(f.dim, sizeof *theta, "parameters")))
        rc = WG_ENOMEM;
    if (rc == 0) {
        f.init(f.ctx, theta, s->train.seed);
        rc = wg_train(&f, &test, theta, &s->train, on_epoch, &c);
    }
    if (rc == 0 && wg_setting_is_toy(s)) /* the toy model's short directions */
        rc = wg_result_put_int(r, V_NEAR_ZERO,
                               (int)wg_toy_short_dirs(theta, f.dim, NEAR_ZERO_REL));
    if (r->slots[V_PARAMS].set)
        rec_trim(&c, r);
    free(theta);
    wg_objective_free(&f);
    wg_objective_free(&test);
    return rc;
}

static void describe(const wg_plan *p, const wg_task *t, char *buf, size_t cap)
{
    (void)p, (void)t;
    if (cap)
        buf[0] = '\0';
}

const float *wg_train_snapshot(const wg_result *train, int epoch, size_t *stride)
{
    const wg_slot *se = wg_result_get(train, V_SNAP_EPOCH), *sp = wg_result_get(train, V_PARAMS);
    if (!train || train->status != WG_STATUS_DONE || train->kind != WG_TASK_TRAIN || !se || !sp ||
        sp->ndims != 2 || sp->type != WG_T_FLOAT || se->type != WG_T_INT)
        return NULL;
    const int *ep = se->data;
    for (size_t k = 0; k < se->n && k < sp->count[0]; k++)
        if (ep[k] == epoch) {
            *stride = sp->count[1];
            return (const float *)sp->data + k * sp->count[1];
        }
    return NULL;
}

const wg_kind wg_kind_train = {
    .name = "train",
    .summary = "train a model from its seeded initialisation; per-epoch statistics and "
               "snapshots of the parameters",
    .vars = VARS,
    .nvars = NVARS,
    .run = run,
    .describe = describe,
};
