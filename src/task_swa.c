/* task_swa.c: the swa kind.  From a trained optimum, M cycles of a cyclic learning
 * rate per lr_max: the snapshots, their weight average (SWA) and their averaged
 * predictions (src/swa.c; Figure 6). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wedge/error.h"
#include "wedge/exec.h"
#include "wedge/kind.h"
#include "wedge/swa.h"

enum { V_LR, V_CYCLES, V_CYCLE_EPOCHS,
       V_SNAP_TEST_LOSS, V_SNAP_TEST_ACC, V_SNAP_TRAIN_LOSS, V_SNAP_TRAIN_ACC, V_SNAP_NORM,
       V_SNAP_START_DIST, V_CYCLE_LOSS,
       V_START_TEST_LOSS, V_START_TEST_ACC, V_START_TRAIN_LOSS, V_START_TRAIN_ACC, V_START_NORM,
       V_AVG_TEST_LOSS, V_AVG_TEST_ACC, V_AVG_TRAIN_LOSS, V_AVG_TRAIN_ACC, V_AVG_NORM,
       V_ENS_TEST_LOSS, V_ENS_TEST_ACC, V_ENS_TRAIN_LOSS, V_ENS_TRAIN_ACC,
       V_DIST, V_COS, V_DCOS, NVARS };

static size_t n_cycle(const wg_plan *p) { return p->swa.enabled ? (size_t)p->swa.cycles : 1; }

static const wg_dim DIMS[] = {{"swa_cycle", n_cycle}, {"swa_cycle2", n_cycle}};

/* Known from the plan, so that pending rows can be grouped too. */
static void lr_value(const wg_plan *p, const wg_task *t, double *v)
{
    v[0] = t->kind == WG_TASK_SWA ? p->swa.lr_max[t->dir_first] : NAN;
}

static void cycles_value(const wg_plan *p, const wg_task *t, double *v)
{
    v[0] = t->kind == WG_TASK_SWA ? p->swa.cycles : -1;
}

static void cycle_epochs_value(const wg_plan *p, const wg_task *t, double *v)
{
    v[0] = t->kind == WG_TASK_SWA ? p->swa.cycle_epochs : -1;
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
    put(ctx, "swa_lr_max", "min_ratio", NULL, p->swa.min_ratio);
    put(ctx, "swa_lr_max", "optimizer",
        p->swa.optimizer < 0 ? "the training's" : wg_opt_name(p->swa.optimizer), 0);
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
 * lr_max = the plan's value t->dir_first; the optimizer is the training's unless
 * probes.swa.optimizer says otherwise. */
static int run(wg_exec *x, const wg_plan *plan, const wg_task *t, const wg_result *const *deps,
               wg_result *r)
{
    const wg_setting *s = &t->set;
    const wg_swa_plan *sp = &plan->swa;
    wg_objective f = {0}, test = {0}, probe = {0};
    wg_swa_result w = {0};
    size_t stride = 0;
    const float *P0 = wg_train_snapshot(deps ? deps[0] : NULL, t->probe_epoch, &stride);
    int rc = wg_exec_model(x, plan, s, &f, &test);
    if (rc == 0 && (!P0 || stride < f.dim))
        rc = WG_FAIL(WG_EARG, "training task %zu has no parameters of epoch %d", t->deps[0],
                     t->probe_epoch);
    if (rc == 0)
        rc = wg_exec_landscape_batch(x, plan, s, sp->probe_size, s->train.batch_size, &probe);
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

static int enabled(const wg_plan *p) { return p->swa.enabled; }

static void describe(const wg_plan *p, const wg_task *t, char *buf, size_t cap)
{
    snprintf(buf, cap, "lr_max=%g", p->swa.lr_max[t->dir_first]);
}

const wg_kind wg_kind_swa = {
    .name = "swa",
    .summary = "cyclic-learning-rate snapshots from an optimum: weight average (SWA) against "
               "averaged predictions",
    .dims = DIMS,
    .ndims = 2,
    .vars = VARS,
    .nvars = NVARS,
    .enabled = enabled,
    .attrs = attrs,
    .run = run,
    .describe = describe,
};
