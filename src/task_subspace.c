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
#include "wedge/net.h"
#include "wedge/rng.h"
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

/* Random-hyperplane optimisation of the toy model: P = P0 + M theta with P0 the toy
 * training's starting point (its seeded N(0,1) draw) or its optimum. */
static int run_toy(wg_exec *x, const wg_plan *plan, const wg_task *t, const wg_result *dep,
                   wg_result *r)
{
    const wg_setting *s = &t->set;
    const wg_subspace_plan *sp = &plan->subspace;
    const size_t D = (size_t)s->toy_dim;
    float *P0 = wg_alloc(D, sizeof *P0, "toy point");
    if (!P0)
        return WG_ENOMEM;
    int rc = 0;
    if (sp->at_optimum) {
        size_t stride = 0;
        const float *P = wg_train_snapshot(dep, t->probe_epoch, &stride);
        if (!P || stride < D)
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
    o.stop = x->stop;
    o.stop_user = x->stop_user;
    wg_hyper_result h;
    if (rc == 0)
        rc = wg_hyper_run(P0, D, (size_t)s->toy_long, (size_t)t->dir_first, &o, &h);
    if (!rc) rc = wg_result_put_int(r, V_D, t->dir_first);
    if (!rc) rc = wg_result_put_int(r, V_EPOCHS, h.steps);
    if (!rc) rc = wg_result_put_double(r, V_L0, h.loss_initial);
    if (!rc) rc = wg_result_put_double(r, V_L1, h.loss_final);
    if (!rc) rc = wg_result_put_double(r, V_RATIO, h.ratio);
    if (!rc) rc = wg_result_put_byte(r, V_OK, h.success);
    if (!rc) rc = wg_result_put_int(r, V_STEPS, h.steps);
    if (!rc) rc = wg_result_put_int(r, V_NEAR_ZERO, (int)h.near_zero);
    free(P0);
    return rc;
}

/* Training inside a random d-dimensional subspace at the initialisation (the
 * training task's own, so d -> D recovers it) or at the trained optimum. */
static int run_net(wg_exec *x, const wg_plan *plan, const wg_task *t, const wg_result *dep,
                   wg_result *r)
{
    const wg_setting *s = &t->set;
    const wg_subspace_plan *sp = &plan->subspace;
    wg_net net = {0};
    wg_subspace m = {0};
    float *X0 = NULL;
    const wg_data *data;
    int rc = wg_net_init(&net, &s->net, s->train.batch_size);
    if (rc == 0 && !(X0 = wg_alloc(net.nparams, sizeof *X0, "subspace anchor")))
        rc = WG_ENOMEM;
    if (rc == 0 && sp->at_optimum) {
        size_t stride = 0;
        const float *P = wg_train_snapshot(dep, t->probe_epoch, &stride);
        if (!P || stride < net.nparams)
            rc = WG_FAIL(WG_EARG, "training task %zu has no parameters of epoch %d",
                         t->deps[0], t->probe_epoch);
        else
            memcpy(X0, P, net.nparams * sizeof *X0);
    } else if (rc == 0) {
        wg_net_init_params(&net, X0, s->train.seed, 0);
    }
    if (rc == 0)
        rc = wg_exec_data(x, plan, s, &data);
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
        rc = wg_subspace_train(&net, X0, &m, data, &o, &last);
    if (!rc) rc = wg_result_put_int(r, V_D, t->dir_first);
    if (!rc) rc = wg_result_put_int(r, V_EPOCHS, last.epoch);
    if (!rc) rc = wg_result_put_double(r, V_TRAIN_LOSS, last.train_loss);
    if (!rc) rc = wg_result_put_double(r, V_TRAIN_ACC, last.train_acc);
    if (!rc) rc = wg_result_put_double(r, V_TEST_LOSS, last.test_loss);
    if (!rc) rc = wg_result_put_double(r, V_TEST_ACC, last.test_acc);
    wg_subspace_free(&m);
    wg_net_free(&net);
    free(X0);
    return rc;
}

static int run(wg_exec *x, const wg_plan *plan, const wg_task *t, const wg_result *const *deps,
               wg_result *r)
{
    const wg_result *dep = deps ? deps[0] : NULL;
    return wg_setting_is_toy(&t->set) ? run_toy(x, plan, t, dep, r) : run_net(x, plan, t, dep, r);
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
