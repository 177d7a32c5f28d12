/* task_swa.c: the swa kind.  From a trained optimum, M cycles of a cyclic learning
 * rate per lr_max: the snapshots, their weight average (SWA) and their averaged
 * predictions (src/swa.c; Figure 6). */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wedge/error.h"
#include "wedge/exec.h"
#include "wedge/kind.h"
#include "wedge/swa.h"

/* Task arguments: which lr_max. */
enum { A_LR };

#define MAX_LR 32
static const char *const OPTIMIZERS[] = {"adam", "sgd"}; /* = wg_opt_kind */

typedef struct swa_opts {
    int nlr;
    double lr_max[MAX_LR];       /* one task per value */
    int cycles;                  /* M */
    int cycle_epochs;
    double min_ratio;            /* lowest rate / lr_max */
    int optimizer;               /* wg_opt_kind, or -1: the training's */
    size_t probe_size;           /* "train" loss/accuracy on this subset */
} swa_opts;

#define O(field) .off = offsetof(swa_opts, field)
static const wg_option OPTIONS[] = {
    {"lr_max", WG_OPT_DOUBLES, 0, INFINITY, 1, O(lr_max), .count_off = offsetof(swa_opts, nlr),
     .max = MAX_LR, .doc = "learning rates at the start of every cycle (one task each)"},
    {"cycles", WG_OPT_INT, 1, 64, .deflt = "8", O(cycles), .doc = "cycles M (snapshots)"},
    {"cycle_epochs", WG_OPT_INT, 1, 100000, .deflt = "1", O(cycle_epochs),
     .doc = "epochs per cycle"},
    {"min_ratio", WG_OPT_DOUBLE, 0, 1, 1, "0.01", O(min_ratio),
     .doc = "the rate at a cycle's end / lr_max"},
    {"optimizer", WG_OPT_ENUM, O(optimizer), .choices = OPTIMIZERS, .nchoices = 2,
     .doc = "optimizer of the cycles (the training's if not given)"},
    {"probe_size", WG_OPT_SIZE, 1, 1e8, .deflt = "10000", O(probe_size),
     .doc = "images of the probe set (training loss and accuracy)"},
};
#undef O

static const swa_opts *opts_of(const wg_plan *p) { return wg_plan_opts(p, WG_TASK_SWA); }

enum { V_LR, V_CYCLES, V_CYCLE_EPOCHS,
       V_SNAP_TEST_LOSS, V_SNAP_TEST_ACC, V_SNAP_TRAIN_LOSS, V_SNAP_TRAIN_ACC, V_SNAP_NORM,
       V_SNAP_START_DIST, V_CYCLE_LOSS,
       V_START_TEST_LOSS, V_START_TEST_ACC, V_START_TRAIN_LOSS, V_START_TRAIN_ACC, V_START_NORM,
       V_AVG_TEST_LOSS, V_AVG_TEST_ACC, V_AVG_TRAIN_LOSS, V_AVG_TRAIN_ACC, V_AVG_NORM,
       V_ENS_TEST_LOSS, V_ENS_TEST_ACC, V_ENS_TRAIN_LOSS, V_ENS_TRAIN_ACC,
       V_DIST, V_COS, V_DCOS, NVARS };

static size_t n_cycle(const wg_plan *p) { return opts_of(p) ? (size_t)opts_of(p)->cycles : 1; }

static const wg_dim DIMS[] = {{"swa_cycle", n_cycle}, {"swa_cycle2", n_cycle}};

/* Known from the plan, so that pending rows can be grouped too. */
static void lr_value(const wg_plan *p, const wg_task *t, double *v)
{
    v[0] = t->kind == WG_TASK_SWA ? opts_of(p)->lr_max[t->arg[A_LR]] : NAN;
}

static void cycles_value(const wg_plan *p, const wg_task *t, double *v)
{
    v[0] = t->kind == WG_TASK_SWA ? opts_of(p)->cycles : -1;
}

static void cycle_epochs_value(const wg_plan *p, const wg_task *t, double *v)
{
    v[0] = t->kind == WG_TASK_SWA ? opts_of(p)->cycle_epochs : -1;
}

#define PER_CYCLE(name, long_name, units) \
    {name, WG_T_DOUBLE, "swa_cycle", long_name, units, .per_task = 1}
#define ONE(name, long_name, units) {name, WG_T_DOUBLE, "", long_name, units, .per_task = 1}
#define PAIRS(name, long_name) \
    {name, WG_T_DOUBLE, "swa_cycle swa_cycle2", long_name, "1", .per_task = 1}
static const wg_var VARS[NVARS] = {
    [V_LR] = {"swa_lr_max", WG_T_DOUBLE, "",
              "swa: learning rate at the start of each cycle (NaN on other rows)", "1",
              .per_task = 1, .coordinate = 1, .plan_value = lr_value},
    [V_CYCLES] = {"swa_cycles", WG_T_INT, "", "swa: cycles M (snapshots)", "1", WG_FILL_MINUS1,
                  .per_task = 1, .plan_value = cycles_value},
    [V_CYCLE_EPOCHS] = {"swa_cycle_epochs", WG_T_INT, "", "swa: epochs per cycle", "epochs",
                        WG_FILL_MINUS1, .per_task = 1, .plan_value = cycle_epochs_value},
    [V_SNAP_TEST_LOSS] = PER_CYCLE("swa_snapshot_test_loss",
                                   "test loss of each cycle-end snapshot", "nat"),
    [V_SNAP_TEST_ACC] = PER_CYCLE("swa_snapshot_test_accuracy", "test accuracy of each snapshot",
                                  "1"),
    [V_SNAP_TRAIN_LOSS] = PER_CYCLE("swa_snapshot_train_loss",
                                    "probe-set (training subset) loss of each snapshot", "nat"),
    [V_SNAP_TRAIN_ACC] = PER_CYCLE("swa_snapshot_train_accuracy",
                                   "probe-set accuracy of each snapshot", "1"),
    [V_SNAP_NORM] = PER_CYCLE("swa_snapshot_norm", "|theta_i| of each snapshot", "1"),
    [V_SNAP_START_DIST] = PER_CYCLE("swa_snapshot_start_distance",
                                    "|theta_i - theta0|: distance from the pre-trained point",
                                    "1"),
    [V_CYCLE_LOSS] = PER_CYCLE("swa_cycle_loss",
                               "mean minibatch training loss over each cycle (dropout on, no L2)",
                               "nat"),
    [V_START_TEST_LOSS] = ONE("swa_start_test_loss", "test loss of the pre-trained point theta0",
                              "nat"),
    [V_START_TEST_ACC] = ONE("swa_start_test_accuracy", "test accuracy of theta0", "1"),
    [V_START_TRAIN_LOSS] = ONE("swa_start_train_loss", "probe-set loss of theta0", "nat"),
    [V_START_TRAIN_ACC] = ONE("swa_start_train_accuracy", "probe-set accuracy of theta0", "1"),
    [V_START_NORM] = ONE("swa_start_norm", "|theta0|", "1"),
    [V_AVG_TEST_LOSS] = ONE("swa_test_loss", "test loss of the weight average (SWA) of the "
                            "snapshots", "nat"),
    [V_AVG_TEST_ACC] = ONE("swa_test_accuracy", "test accuracy of the weight average", "1"),
    [V_AVG_TRAIN_LOSS] = ONE("swa_train_loss", "probe-set loss of the weight average", "nat"),
    [V_AVG_TRAIN_ACC] = ONE("swa_train_accuracy", "probe-set accuracy of the weight average",
                            "1"),
    [V_AVG_NORM] = ONE("swa_norm", "|weight average|", "1"),
    [V_ENS_TEST_LOSS] = ONE("ensemble_test_loss",
                            "test loss of the snapshots' averaged softmax predictions", "nat"),
    [V_ENS_TEST_ACC] = ONE("ensemble_test_accuracy", "test accuracy of the averaged predictions",
                           "1"),
    [V_ENS_TRAIN_LOSS] = ONE("ensemble_train_loss", "probe-set loss of the averaged predictions",
                             "nat"),
    [V_ENS_TRAIN_ACC] = ONE("ensemble_train_accuracy",
                            "probe-set accuracy of the averaged predictions", "1"),
    [V_DIST] = PAIRS("swa_distance", "distance |theta_i - theta_j| between snapshots"),
    [V_COS] = PAIRS("swa_cosine", "cosine between snapshots theta_i and theta_j"),
    [V_DCOS] = PAIRS("swa_delta_cosine",
                     "cosine between the displacements theta_i - theta0 and theta_j - theta0"),
};
#undef PER_CYCLE
#undef ONE
#undef PAIRS

static void attrs(const wg_plan *p, wg_att_fn put, void *ctx)
{
    const swa_opts *o = opts_of(p);
    put(ctx, "swa_lr_max", "min_ratio", NULL, o->min_ratio);
    put(ctx, "swa_lr_max", "optimizer",
        o->optimizer < 0 ? "the training's" : wg_opt_name(o->optimizer), 0);
}

static int pack(const wg_swa_result *w, wg_result *r)
{
    size_t m = (size_t)w->M, mm[2] = {m, m};
    int rc = 0;
    for (int i = 0; !rc && i < WG_SWA_MEASURES + 2; i++)
        rc = wg_result_set(r, V_SNAP_TEST_LOSS + i, WG_T_DOUBLE, 1, NULL, &m, w->snap[i],
                           WG_T_DOUBLE);
    for (int i = 0; !rc && i < WG_SWA_MEASURES; i++)
        rc = wg_result_put_double(r, V_START_TEST_LOSS + i, w->start[i]);
    for (int i = 0; !rc && i < WG_SWA_MEASURES; i++)
        rc = wg_result_put_double(r, V_AVG_TEST_LOSS + i, w->avg[i]);
    for (int i = 0; !rc && i < WG_SWA_MEASURES - 1; i++)
        rc = wg_result_put_double(r, V_ENS_TEST_LOSS + i, w->ens[i]);
    if (!rc) rc = wg_result_set(r, V_DIST, WG_T_DOUBLE, 2, NULL, mm, w->dist, WG_T_DOUBLE);
    if (!rc) rc = wg_result_set(r, V_COS, WG_T_DOUBLE, 2, NULL, mm, w->cosine, WG_T_DOUBLE);
    if (!rc) rc = wg_result_set(r, V_DCOS, WG_T_DOUBLE, 2, NULL, mm, w->dcosine, WG_T_DOUBLE);
    return rc;
}

/* SWA against prediction averaging from the training's final parameters, with
 * lr_max = the plan's value t->arg[A_LR]; the optimizer is the training's unless
 * probes.swa.optimizer says otherwise. */
static int run(wg_exec *x, const wg_plan *plan, const wg_task *t, const wg_result *const *deps,
               wg_result *r)
{
    const wg_setting *s = &t->set;
    const swa_opts *sp = opts_of(plan);
    wg_objective f = {0}, test = {0}, probe = {0};
    wg_swa_result w = {0};
    size_t stride = 0;
    const float *P0;
    int rc = wg_train_point(deps ? deps[0] : NULL, t, 0, &P0, &stride);
    if (rc == 0)
        rc = wg_exec_model(x, plan, s, &f, &test);
    if (rc == 0 && stride < f.dim)
        rc = WG_FAIL(WG_EARG, "training task %zu has no parameters of epoch %d", t->deps[0],
                     t->probe_epoch);
    if (rc == 0)
        rc = wg_exec_landscape_batch(x, plan, s, sp->probe_size, s->train.batch_size, &probe);
    wg_swa_opts o;
    wg_swa_opts_default(&o);
    o.cycles = sp->cycles;
    o.cycle_epochs = sp->cycle_epochs;
    o.lr_max = sp->lr_max[t->arg[A_LR]];
    o.min_ratio = sp->min_ratio;
    o.optimizer = sp->optimizer >= 0 ? (wg_opt_kind)sp->optimizer : s->train.optimizer;
    o.momentum = s->train.momentum;
    o.l2 = s->train.l2;
    o.batch_size = s->train.batch_size;
    o.seed = s->train.seed;
    o.first_epoch = t->probe_epoch;
    o.stop = x->stop;
    o.stop_user = x->stop_user;
    if (rc == 0)
        rc = wg_swa_run(&f, &probe, &test, P0, &o, &w);
    if (rc == 0) /* a failed or diverged row keeps no half-made numbers */
        rc = pack(&w, r);
    wg_swa_result_free(&w);
    wg_objective_free(&f);
    wg_objective_free(&test);
    wg_objective_free(&probe);
    return rc;
}

/* lr_max values must differ (identical tasks otherwise). */
static int check(wg_planner *pl, void *opts)
{
    const swa_opts *o = opts;
    if (o->nlr == 0)
        return wg_planner_fail(pl, WG_TASK_SWA, NULL, WG_EARG,
                               "probes.swa: `lr_max` (the list of cycle learning rates) is "
                               "required");
    for (int j = 1; j < o->nlr; j++)
        for (int i = 0; i < j; i++)
            if (o->lr_max[i] == o->lr_max[j])
                return wg_planner_fail(pl, WG_TASK_SWA, "lr_max", WG_EARG,
                                       "probes.swa.lr_max: value %d repeats value %d (%g): "
                                       "identical tasks", j + 1, i + 1, o->lr_max[j]);
    return 0;
}

/* Per training task and lr_max, reading its final parameters. */
static int plan(wg_planner *pl, const void *opts)
{
    const swa_opts *o = opts;
    wg_plan *p = wg_planner_plan(pl);
    const size_t ntrain = p->ntrain;
    for (size_t i = 0; i < ntrain; i++) {
        if (wg_setting_is_toy(&p->tasks[i].set))
            return wg_planner_fail(pl, WG_TASK_SWA, NULL, WG_EARG,
                                   "probes.swa needs a network trained on data; the toy model "
                                   "has no predictions to average (task %zu)", i);
        for (int k = 0; k < o->nlr; k++) {
            wg_task *t = wg_planner_add(pl, WG_TASK_SWA, i);
            if (!t)
                return WG_ENOMEM;
            t->ndeps = 1;
            t->deps[0] = i;
            t->probe_epoch = t->set.train.epochs;
            t->probe_final = 1;
            t->arg[A_LR] = k;
            size_t ntr, nte;
            wg_setting d = t->set;
            wg_setting_derive(&d, 0, &ntr, &nte);
            size_t eff = t->set.train_size ? t->set.train_size : ntr;
            size_t neval = (o->probe_size < eff ? o->probe_size : eff) +
                           (t->set.test_size ? t->set.test_size : nte);
            double epochs = (double)o->cycles * o->cycle_epochs;
            /* training steps cost ~3 forward passes; M + 2 networks are evaluated */
            t->cost = (3.0 * epochs * (double)eff + (o->cycles + 2.0) * (double)neval) *
                      wg_setting_flops(&t->set);
            int rc = wg_planner_added(pl, t->id);
            if (rc)
                return rc;
        }
    }
    return 0;
}

static void describe(const wg_plan *p, const wg_task *t, char *buf, size_t cap)
{
    snprintf(buf, cap, "lr_max=%g", opts_of(p)->lr_max[t->arg[A_LR]]);
}

const wg_kind wg_kind_swa = {
    .name = "swa",
    .summary = "cyclic-learning-rate snapshots from an optimum: weight average (SWA) against "
               "averaged predictions",
    .section = "probes.swa",
    .options = OPTIONS,
    .noptions = sizeof OPTIONS / sizeof *OPTIONS,
    .opts_size = sizeof(swa_opts),
    .check = check,
    .plan_order = 60,
    .plan = plan,
    .args = {"lr_max index"},
    .dims = DIMS,
    .ndims = sizeof DIMS / sizeof *DIMS,
    .vars = VARS,
    .nvars = NVARS,
    .attrs = attrs,
    .run = run,
    .describe = describe,
};
