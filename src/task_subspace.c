/* task_subspace.c: the subspace kind.  A subspace task trains inside a random
 * d-dimensional affine subspace anchored at the training's initialisation (the
 * intrinsic dimension) or at its optimum (the local subspace dimension,
 * docs/METHODS.md).  The toy wedge model uses its exact hyperplane optimiser
 * (src/hyperplane.c) instead of minibatch training. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wedge/error.h"
#include "wedge/exec.h"
#include "wedge/hyperplane.h"
#include "wedge/kind.h"
#include "wedge/subspace.h"

enum { V_D, V_EPOCHS, V_TRAIN_LOSS, V_TRAIN_ACC, V_TEST_LOSS, V_TEST_ACC, V_L0, V_L1, V_RATIO,
       V_OK, V_STEPS, V_NEAR_ZERO, NVARS };

#define ONE(name, type, long_name, units, fill) \
    {name, type, "", long_name, units, fill, .per_task = 1}
static const wg_var VARS[NVARS] = {
    [V_D] = ONE("subspace_d", WG_T_INT, "dimension d of the random subspace", "1",
                WG_FILL_MINUS1),
    [V_EPOCHS] = ONE("subspace_epochs", WG_T_INT, "epochs trained in the subspace", "epochs",
                     WG_FILL_MINUS1),
    [V_TRAIN_LOSS] = ONE("subspace_train_loss", WG_T_DOUBLE,
                         "last epoch's mean minibatch loss inside the subspace", "nat",
                         WG_FILL_DEFAULT),
    [V_TRAIN_ACC] = ONE("subspace_train_accuracy", WG_T_DOUBLE,
                        "last epoch's training accuracy inside the subspace", "1",
                        WG_FILL_DEFAULT),
    [V_TEST_LOSS] = ONE("subspace_test_loss", WG_T_DOUBLE,
                        "test loss after training inside the subspace", "nat", WG_FILL_DEFAULT),
    [V_TEST_ACC] = ONE("subspace_test_accuracy", WG_T_DOUBLE,
                       "test accuracy after training inside the subspace", "1",
                       WG_FILL_DEFAULT),
    [V_L0] = ONE("subspace_loss_initial", WG_T_DOUBLE,
                 "toy model: L_toy at the start of the hyperplane (theta = 0)", "1",
                 WG_FILL_DEFAULT),
    [V_L1] = ONE("subspace_loss_final", WG_T_DOUBLE, "toy model: L_toy after optimising theta",
                 "1", WG_FILL_DEFAULT),
    [V_RATIO] = ONE("subspace_loss_ratio", WG_T_DOUBLE, "toy model: L_final / L_initial", "1",
                    WG_FILL_DEFAULT),
    [V_OK] = ONE("subspace_success", WG_T_BYTE, "toy model: 1 if L_final <= 1e-6 L_initial, else 0",
                 "1", WG_FILL_MINUS1),
    [V_STEPS] = ONE("subspace_steps", WG_T_INT, "toy model: optimiser steps taken", "1",
                    WG_FILL_MINUS1),
    [V_NEAR_ZERO] = ONE("subspace_near_zero", WG_T_INT,
                        "toy model: near-zero coordinates of the final point, "
                        "|P_j| <= 1e-3 |P|/sqrt(D)", "1", WG_FILL_MINUS1),
};
#undef ONE

/* The anchor X0: the training's optimum (at: optimum) or its initialisation. */
static int anchor(const wg_plan *plan, const wg_task *t, const wg_result *dep,
                  const wg_objective *f, float *X0)
{
    if (!plan->subspace.at_optimum) {
        f->init(f->ctx, X0, t->set.train.seed);
        return 0;
    }
    size_t stride = 0;
    const float *P = wg_train_snapshot(dep, t->probe_epoch, &stride);
    if (!P || stride < f->dim)
        return WG_FAIL(WG_EARG, "training task %zu has no parameters of epoch %d", t->deps[0],
                       t->probe_epoch);
    memcpy(X0, P, f->dim * sizeof *X0);
    return 0;
}

/* Random-hyperplane optimisation of the toy model (its exact optimiser). */
static int run_toy(wg_exec *x, const wg_plan *plan, const wg_task *t, const float *P0,
                   wg_result *r)
{
    const wg_setting *s = &t->set;
    const wg_subspace_plan *sp = &plan->subspace;
    wg_hyper_opts o;
    wg_hyper_opts_default(&o);
    o.method = sp->toy_optimizer;
    o.steps = sp->toy_steps ? sp->toy_steps : wg_hyper_default_steps(o.method);
    o.seed = s->train.seed;
    o.stream = (uint64_t)t->dir_first;
    o.stop = x->stop;
    o.stop_user = x->stop_user;
    wg_hyper_result h;
    int rc = wg_hyper_run(P0, (size_t)s->toy_dim, (size_t)s->toy_long, (size_t)t->dir_first, &o,
                          &h);
    if (!rc) rc = wg_result_put_int(r, V_D, t->dir_first);
    if (!rc) rc = wg_result_put_int(r, V_EPOCHS, h.steps);
    if (!rc) rc = wg_result_put_double(r, V_L0, h.loss_initial);
    if (!rc) rc = wg_result_put_double(r, V_L1, h.loss_final);
    if (!rc) rc = wg_result_put_double(r, V_RATIO, h.ratio);
    if (!rc) rc = wg_result_put_byte(r, V_OK, h.success);
    if (!rc) rc = wg_result_put_int(r, V_STEPS, h.steps);
    if (!rc) rc = wg_result_put_int(r, V_NEAR_ZERO, (int)h.near_zero);
    return rc;
}

/* Minibatch training inside a random d-dimensional subspace (at the initialisation,
 * d -> D recovers the training). */
static int run_net(wg_exec *x, const wg_plan *plan, const wg_task *t, const wg_objective *f,
                   const wg_objective *test, const float *X0, wg_result *r)
{
    const wg_setting *s = &t->set;
    const wg_subspace_plan *sp = &plan->subspace;
    wg_subspace m = {0};
    int rc = wg_subspace_init(&m, f->dim, (size_t)t->dir_first,
                              sp->nnz < (int)f->dim ? sp->nnz : (int)f->dim, s->train.seed,
                              (uint64_t)t->dir_first);
    wg_epoch_stats last;
    wg_train_opts o = s->train;
    /* Adam moves each z_j by about lr a step, so theta by about lr*sqrt(d): scale lr by
     * 1/sqrt(d) to keep the step in theta the same at every d (docs/sweep-format.md) */
    o.lr = sp->lr_ref_d > 0 ? sp->lr * sqrt((double)sp->lr_ref_d / t->dir_first) : sp->lr;
    if (rc == 0)
        rc = wg_subspace_train(f, test, X0, &m, &o, x->stop, x->stop_user, &last);
    if (!rc) rc = wg_result_put_int(r, V_D, t->dir_first);
    if (!rc) rc = wg_result_put_int(r, V_EPOCHS, last.epoch);
    if (!rc) rc = wg_result_put_double(r, V_TRAIN_LOSS, last.train_loss);
    if (!rc) rc = wg_result_put_double(r, V_TRAIN_ACC, last.train_acc);
    if (!rc) rc = wg_result_put_double(r, V_TEST_LOSS, last.test_loss);
    if (!rc) rc = wg_result_put_double(r, V_TEST_ACC, last.test_acc);
    wg_subspace_free(&m);
    return rc;
}

static int run(wg_exec *x, const wg_plan *plan, const wg_task *t, const wg_result *const *deps,
               wg_result *r)
{
    wg_objective f = {0}, test = {0};
    float *X0 = NULL;
    int rc = wg_exec_model(x, plan, &t->set, &f, &test);
    if (rc == 0 && !(X0 = wg_alloc(f.dim, sizeof *X0, "subspace anchor")))
        rc = WG_ENOMEM;
    if (rc == 0)
        rc = anchor(plan, t, deps ? deps[0] : NULL, &f, X0);
    if (rc == 0)
        rc = wg_setting_is_toy(&t->set) ? run_toy(x, plan, t, X0, r)
                                        : run_net(x, plan, t, &f, &test, X0, r);
    free(X0);
    wg_objective_free(&f);
    wg_objective_free(&test);
    return rc;
}

static int enabled(const wg_plan *p) { return p->subspace.enabled; }

static void describe(const wg_plan *p, const wg_task *t, char *buf, size_t cap)
{
    (void)p;
    snprintf(buf, cap, "d=%d", t->dir_first);
}

const wg_kind wg_kind_subspace = {
    .name = "subspace",
    .summary = "training inside a random d-dimensional affine subspace at the initialisation "
               "or the optimum",
    .vars = VARS,
    .nvars = NVARS,
    .enabled = enabled,
    .run = run,
    .describe = describe,
};
