/* task_train.c: the train kind.  A training task trains the setting's model from its
 * seeded initialisation (src/train.c) and keeps statistics of every epoch and the
 * parameters at the snapshot epochs (which probes read).  Networks train on
 * minibatches of their data; the toy wedge model has none: an epoch is
 * WG_TOY_EPOCH_STEPS full-gradient steps, its loss is L at the epoch's end, and the
 * record also counts the final point's near-zero coordinates (docs/METHODS.md).
 *
 * Training budgets that can be compared: a step budget (train.steps), and stop rules
 * on a fixed probe of training images (train.until_loss, train.until_plateau, with
 * train.epochs the maximum).  A training a rule stops keeps its parameters at that
 * epoch as its final snapshot; snapshots it never reached do not exist, and probes of
 * them are skipped.  Every training says whether it learned: "did not learn" is a
 * final training loss not below the first epoch's, or a final test accuracy within
 * 2 points of chance. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wedge/error.h"
#include "wedge/exec.h"
#include "wedge/kind.h"
#include "wedge/toy.h"
#include "wedge/train.h"

enum { V_TRAIN_LOSS, V_TRAIN_ACC, V_TEST_LOSS, V_TEST_ACC, V_NORM, V_SNAP_EPOCH, V_PARAMS,
       V_NEAR_ZERO, V_PROBE_LOSS, V_STEPS, V_STOP, V_NOT_LEARNED, NVARS };

/* Why a training stopped (the `stop_reason` flags). */
enum { STOP_EPOCHS = 0, STOP_STEPS, STOP_LOSS, STOP_PLATEAU };
/* Stop-rule callback's return: the rule was met (not an error). */
#define RULE_MET 1
/* Near-zero coordinates: |P_j| <= NEAR_ZERO_REL |P| / sqrt(D) (docs/METHODS.md). */
#define NEAR_ZERO_REL 1e-3
/* "Did not learn": a final test accuracy at most chance plus this. */
#define CHANCE_MARGIN 0.02

static int has_toy(const wg_plan *p)
{
    for (size_t i = 0; i < p->ntasks; i++)
        if (wg_setting_is_toy(&p->tasks[i].set))
            return 1;
    return 0;
}

static int has_probe(const wg_plan *p)
{
    for (size_t i = 0; i < p->ntrain; i++)
        if (p->tasks[i].set.train.probe_size > 0)
            return 1;
    return 0;
}

static int has_budget(const wg_plan *p)
{
    for (size_t i = 0; i < p->ntrain; i++) {
        const wg_train_opts *o = &p->tasks[i].set.train;
        if (o->max_steps > 0 || o->until_loss > 0 || o->until_plateau > 0)
            return 1;
    }
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
    [V_PROBE_LOSS] = {"train_probe_loss", WG_T_DOUBLE, "epoch",
                      "loss on the fixed training probe (train.probe_size images, dropout off, "
                      "no L2) after the epoch", "nat", .per_task = 1, .when = has_probe},
    [V_STEPS] = {"steps_taken", WG_T_INT, "", "optimizer steps the training took", "1",
                 WG_FILL_MINUS1, .per_task = 1, .when = has_budget},
    [V_STOP] = {"stop_reason", WG_T_BYTE, "", "why the training stopped", NULL, WG_FILL_MINUS1,
                "epochs steps until_loss until_plateau", .per_task = 1, .when = has_budget},
    [V_NOT_LEARNED] = {"did_not_learn", WG_T_BYTE, "",
                       "1 if the final training loss is not below the first epoch's, or the "
                       "final test accuracy is within 0.02 of chance", NULL, WG_FILL_MINUS1,
                       "learned did_not_learn", .per_task = 1},
};

/* The record being filled while training runs. */
typedef struct rec {
    double *stat[5];            /* train loss/acc, test loss/acc, norm: one per epoch */
    double *probe_loss;         /* per epoch, or NULL */
    int *snap_epoch;
    float *params;
    int nepochs, nsnap, next_snap;
    long steps;
    int stop;                   /* STOP_* */
    const wg_setting *s;
    const wg_objective *probe;  /* the fixed training probe, or NULL */
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
    if (s->train.probe_size > 0 &&
        !(c->probe_loss = wg_result_slot(r, V_PROBE_LOSS, WG_T_DOUBLE, 1, NULL, &E)))
        return WG_ENOMEM;
    c->snap_epoch = wg_result_slot(r, V_SNAP_EPOCH, WG_T_INT, 1, NULL, &S);
    c->params = wg_result_slot(r, V_PARAMS, WG_T_FLOAT, 2, NULL, ps);
    return c->snap_epoch && c->params ? 0 : WG_ENOMEM;
}

/* Shrink the slots to what was computed: a stopped or diverged training keeps its good
 * epochs. */
static void rec_trim(rec *c, wg_result *r)
{
    for (int i = 0; i < 5; i++)
        if (r->slots[V_TRAIN_LOSS + i].set)
            r->slots[V_TRAIN_LOSS + i].count[0] = r->slots[V_TRAIN_LOSS + i].n =
                (size_t)c->nepochs;
    if (r->slots[V_PROBE_LOSS].set)
        r->slots[V_PROBE_LOSS].count[0] = r->slots[V_PROBE_LOSS].n = (size_t)c->nepochs;
    wg_slot *se = &r->slots[V_SNAP_EPOCH], *sp = &r->slots[V_PARAMS];
    if (se->set)
        se->count[0] = se->n = (size_t)c->nsnap;
    if (sp->set) {
        sp->count[0] = (size_t)c->nsnap;
        sp->n = sp->count[0] * sp->count[1];
    }
}

static void keep_snapshot(rec *c, int epoch, const float *theta, size_t n)
{
    memcpy(c->params + (size_t)c->next_snap * n, theta, n * sizeof *theta);
    c->snap_epoch[c->next_snap] = epoch;
    c->nsnap = ++c->next_snap;
}

/* One epoch's statistics, the stop rules and, at a snapshot epoch (or where a rule
 * stops the training), the parameters. */
static int on_epoch(void *user, const wg_epoch_stats *st, const float *theta, size_t n)
{
    rec *c = user;
    const wg_train_opts *o = &c->s->train;
    int e = st->epoch - 1;
    c->stat[0][e] = st->train_loss;
    c->stat[1][e] = st->train_acc;
    c->stat[2][e] = st->test_loss;
    c->stat[3][e] = st->test_acc;
    c->stat[4][e] = st->param_norm;
    c->nepochs = st->epoch;
    c->steps = st->steps;
    int met = 0;
    if (c->probe) {
        double L;
        int rc = wg_objective_loss(c->probe, theta, &L);
        if (rc)
            return rc;
        c->probe_loss[e] = L;
        if (o->until_loss > 0 && L <= o->until_loss)
            met = 1, c->stop = STOP_LOSS;
        else if (o->until_plateau > 0 && e > 0 && c->probe_loss[e - 1] - L <
                                                      o->until_plateau * c->probe_loss[e - 1])
            met = 1, c->stop = STOP_PLATEAU;
    }
    if (!met && o->max_steps > 0 && st->steps >= o->max_steps)
        c->stop = STOP_STEPS;
    if (c->next_snap < c->s->nsnapshots &&
        (c->s->snapshots[c->next_snap] == st->epoch || (met && st->epoch < o->epochs)))
        keep_snapshot(c, st->epoch, theta, n);
    if (met && st->epoch < o->epochs)
        return RULE_MET;
    return wg_exec_stopped(c->x) ? WG_EINTR : 0;
}

/* Whether the training learned: its final training loss is below the first epoch's,
 * and (with a test set) its final test accuracy is clearly above chance. */
static int did_not_learn(const rec *c, int classes)
{
    if (c->nepochs < 1)
        return 1;
    double first = c->stat[0][0], last = c->stat[0][c->nepochs - 1];
    double acc = c->stat[3][c->nepochs - 1];
    if (c->nepochs > 1 && !(last < first))
        return 1;
    return classes > 0 && isfinite(acc) && acc <= 1.0 / classes + CHANCE_MARGIN;
}

static int run(wg_exec *x, const wg_plan *plan, const wg_task *t, const wg_result *const *deps,
               wg_result *r)
{
    (void)deps;
    const wg_setting *s = &t->set;
    wg_objective f = {0}, test = {0}, probe = {0};
    float *theta = NULL;
    rec c;
    int rc = wg_exec_model(x, plan, s, &f, &test);
    if (rc == 0)
        rc = rec_init(&c, r, s, f.dim, x);
    if (rc == 0 && s->train.probe_size > 0) {
        rc = wg_exec_landscape(x, plan, s, s->train.probe_size, &probe);
        c.probe = &probe;
    }
    if (rc == 0 && !(theta = wg_alloc(f.dim, sizeof *theta, "parameters")))
        rc = WG_ENOMEM;
    if (rc == 0) {
        f.init(f.ctx, theta, s->train.seed);
        rc = wg_train(&f, &test, theta, &s->train, on_epoch, &c);
        if (rc == RULE_MET)
            rc = 0;
    }
    if (rc == 0 && wg_setting_is_toy(s)) /* the toy model's short directions */
        rc = wg_result_put_int(r, V_NEAR_ZERO,
                               (int)wg_toy_short_dirs(theta, f.dim, NEAR_ZERO_REL));
    if (rc == 0 && (s->train.max_steps > 0 || s->train.until_loss > 0 ||
                    s->train.until_plateau > 0)) {
        rc = wg_result_put_int(r, V_STEPS, (int)c.steps);
        if (rc == 0)
            rc = wg_result_put_byte(r, V_STOP, c.stop);
    }
    if (rc == 0)
        rc = wg_result_put_byte(r, V_NOT_LEARNED, did_not_learn(&c, wg_setting_is_toy(s) ? 0 :
                                                                 s->net.classes));
    if (r->slots[V_PARAMS].set)
        rec_trim(&c, r);
    free(theta);
    wg_objective_free(&f);
    wg_objective_free(&test);
    wg_objective_free(&probe);
    return rc;
}

static void describe(const wg_plan *p, const wg_task *t, char *buf, size_t cap)
{
    (void)p, (void)t;
    if (cap)
        buf[0] = '\0';
}

int wg_train_point(const wg_result *dep, const wg_task *t, size_t j, const float **P,
                   size_t *stride)
{
    *P = NULL;
    *stride = 0;
    if (!dep)
        return WG_FAIL(WG_EARG, "training task %zu has no record", t->deps[j]);
    if (dep->status == WG_STATUS_SKIPPED)
        return WG_FAIL(WG_ESKIP, "its input, task %zu, was skipped", t->deps[j]);
    const wg_slot *se = wg_result_get(dep, V_SNAP_EPOCH), *sp = wg_result_get(dep, V_PARAMS);
    if (dep->status != WG_STATUS_DONE || dep->kind != WG_TASK_TRAIN || !se || !sp ||
        sp->ndims != 2 || sp->type != WG_T_FLOAT || se->type != WG_T_INT)
        return WG_FAIL(WG_EARG, "training task %zu has no parameters of epoch %d", t->deps[j],
                       t->probe_epoch);
    const int *ep = se->data;
    long last = -1;
    for (size_t k = 0; k < se->n && k < sp->count[0]; k++) {
        if (ep[k] < 0)
            continue;
        last = (long)k;
        if (ep[k] == t->probe_epoch)
            break;
    }
    if (last >= 0 && (ep[last] == t->probe_epoch || t->probe_final)) {
        *stride = sp->count[1];
        *P = (const float *)sp->data + (size_t)last * sp->count[1];
        return 0;
    }
    if (last >= 0 && ep[last] < t->probe_epoch)
        return WG_FAIL(WG_ESKIP, "training task %zu stopped at epoch %d (its stop rule), "
                       "before epoch %d", t->deps[j], ep[last], t->probe_epoch);
    return WG_FAIL(WG_EARG, "training task %zu has no parameters of epoch %d", t->deps[j],
                   t->probe_epoch);
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
