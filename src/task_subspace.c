/* task_subspace.c: the subspace kind.  A subspace task trains inside a random
 * d-dimensional affine subspace anchored at the training's initialisation (the
 * intrinsic dimension) or at its optimum (the local subspace dimension,
 * docs/METHODS.md).  The toy wedge model uses its exact hyperplane optimiser
 * (src/hyperplane.c) instead of minibatch training. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wedge/error.h"
#include "wedge/exec.h"
#include "wedge/hyperplane.h"
#include "wedge/kind.h"
#include "wedge/subspace.h"

/* Task arguments: the subspace dimension d. */
enum { A_D };

#define MAX_DIMS 32
/* The toy model's hyperplane optimisers (hyperplane.h), in wg_hyper_method order. */
static const char *const TOY_OPTIMIZERS[] = {"active-set", "polyak"};
static const char *const ANCHORS[] = {"init", "optimum"};

typedef struct subspace_opts {
    int ndims;
    int dims[MAX_DIMS];
    int at_optimum;              /* 0: anchored at the initialisation (intrinsic dimension) */
    int epochs;                  /* 0: the training's epochs */
    double lr;                   /* Adam, at d = lr_ref_d */
    int lr_ref_d;                /* the rate at d is lr*sqrt(lr_ref_d/d); 0: lr at every d */
    int nnz;                     /* non-zeros per column of M */
    int toy_optimizer;           /* the toy model: wg_hyper_method */
    int toy_steps;               /* 0: the optimiser's default */
    int noffsets;                /* toy: d = D - n + offset instead of dims */
    int offsets[MAX_DIMS];
} subspace_opts;

#define O(field) .off = offsetof(subspace_opts, field)
static const wg_option OPTIONS[] = {
    {"dims", WG_OPT_INTS, 1, 1e7, O(dims), .count_off = offsetof(subspace_opts, ndims),
     .max = MAX_DIMS, .plan_only = 1, .doc = "subspace dimensions d (one task each)"},
    {"at", WG_OPT_ENUM, .deflt = "init", O(at_optimum), .choices = ANCHORS, .nchoices = 2,
     .doc = "anchor: the training's initialisation or its optimum"},
    {"epochs", WG_OPT_INT, 1, 100000, O(epochs), .scope = WG_SCOPE_NET,
     .doc = "epochs of subspace training (the training's if not given)"},
    {"lr", WG_OPT_DOUBLE, 0, 1e6, 1, "0.1", O(lr), .scope = WG_SCOPE_NET,
     .doc = "Adam rate at d = lr_ref_d"},
    {"lr_ref_d", WG_OPT_INT, 0, 1e7, .deflt = "100", O(lr_ref_d), .scope = WG_SCOPE_NET,
     .doc = "the rate at d is lr*sqrt(lr_ref_d/d); 0: lr at every d"},
    {"nnz", WG_OPT_INT, 1, 100000, .deflt = "32", O(nnz), .scope = WG_SCOPE_NET,
     .doc = "non-zeros per column of the random projection"},
    {"optimizer", WG_OPT_ENUM, .deflt = "active-set", O(toy_optimizer),
     .choices = TOY_OPTIMIZERS, .nchoices = 2, .scope = WG_SCOPE_TOY,
     .doc = "toy model: the hyperplane optimiser"},
    {"steps", WG_OPT_INT, 1, 1e7, O(toy_steps), .scope = WG_SCOPE_TOY,
     .doc = "toy model: optimiser steps (100 active-set, 20000 polyak if not given)"},
    {"offsets", WG_OPT_INTS, -1e7, 1e7, O(offsets), .count_off = offsetof(subspace_opts, noffsets),
     .max = MAX_DIMS, .scope = WG_SCOPE_TOY, .plan_only = 1,
     .doc = "toy model: d = D - n + offset"},
};
#undef O

static const subspace_opts *opts_of(const wg_plan *p)
{
    return wg_plan_opts(p, WG_TASK_SUBSPACE);
}

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
    if (!opts_of(plan)->at_optimum) {
        f->init(f->ctx, X0, t->set.train.seed);
        return 0;
    }
    size_t stride = 0;
    const float *P;
    int rc = wg_train_point(dep, t, 0, &P, &stride);
    if (rc)
        return rc;
    if (stride < f->dim)
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
    const subspace_opts *sp = opts_of(plan);
    wg_hyper_opts o;
    wg_hyper_opts_default(&o);
    o.method = sp->toy_optimizer;
    o.steps = sp->toy_steps ? sp->toy_steps : wg_hyper_default_steps(o.method);
    o.seed = s->train.seed;
    o.stream = (uint64_t)t->arg[A_D];
    o.stop = x->stop;
    o.stop_user = x->stop_user;
    wg_hyper_result h;
    int rc = wg_hyper_run(P0, (size_t)s->toy_dim, (size_t)s->toy_long, (size_t)t->arg[A_D], &o,
                          &h);
    if (!rc) rc = wg_result_put_int(r, V_D, t->arg[A_D]);
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
    const subspace_opts *sp = opts_of(plan);
    wg_subspace m = {0};
    int rc = wg_subspace_init(&m, f->dim, (size_t)t->arg[A_D],
                              sp->nnz < (int)f->dim ? sp->nnz : (int)f->dim, s->train.seed,
                              (uint64_t)t->arg[A_D]);
    wg_epoch_stats last;
    wg_train_opts o = s->train;
    /* Adam moves each z_j by about lr a step, so theta by about lr*sqrt(d): scale lr by
     * 1/sqrt(d) to keep the step in theta the same at every d (docs/sweep-format.md) */
    o.lr = sp->lr_ref_d > 0 ? sp->lr * sqrt((double)sp->lr_ref_d / t->arg[A_D]) : sp->lr;
    if (rc == 0)
        rc = wg_subspace_train(f, test, X0, &m, &o, x->stop, x->stop_user, &last);
    if (!rc) rc = wg_result_put_int(r, V_D, t->arg[A_D]);
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

static int check(wg_planner *pl, void *opts)
{
    const subspace_opts *o = opts;
    if (o->ndims == 0 && o->noffsets == 0)
        return wg_planner_fail(pl, WG_TASK_SUBSPACE, NULL, WG_EARG,
                               "probes.subspace: `dims` (the list of d) is required (or, for the "
                               "toy model, `offsets`: d = D - n + offset)");
    if (o->ndims > 0 && o->noffsets > 0)
        return wg_planner_fail(pl, WG_TASK_SUBSPACE, NULL, WG_EARG,
                               "probes.subspace: give either `dims` or `offsets`, not both");
    return 0;
}

/* Per training task and d; anchored at the optimum they depend on the training, at
 * the initialisation on nothing (deps[0] still names the training: the output's
 * source_task joins the row to it). */
static int plan(wg_planner *pl, const void *opts)
{
    const subspace_opts *o = opts;
    wg_plan *p = wg_planner_plan(pl);
    const int nd = o->ndims ? o->ndims : o->noffsets;
    const size_t ntrain = p->ntrain;
    const char *net_opt = wg_planner_given_scope(pl, WG_TASK_SUBSPACE, WG_SCOPE_NET);
    const char *toy_opt = wg_planner_given_scope(pl, WG_TASK_SUBSPACE, WG_SCOPE_TOY);
    for (size_t i = 0; i < ntrain; i++) {
        const wg_setting set = p->tasks[i].set; /* a copy: adding tasks moves them */
        const wg_setting *s = &set;
        const size_t D = wg_setting_nparams(s);
        const int toy = wg_setting_is_toy(s);
        if (toy && net_opt)
            return wg_planner_fail(pl, WG_TASK_SUBSPACE, net_opt, WG_EARG,
                                   "probes.subspace: epochs, lr and nnz are for networks; the toy "
                                   "model (model.arch toy, task %zu) takes optimizer, steps and "
                                   "offsets", i);
        if (!toy && toy_opt)
            return wg_planner_fail(pl, WG_TASK_SUBSPACE, toy_opt, WG_EARG,
                                   "probes.subspace: optimizer, steps and offsets are for the toy "
                                   "model; a network (task %zu) takes dims, epochs, lr and nnz",
                                   i);
        for (int k = 0; k < nd; k++) {
            const long n = s->toy_long;
            long dk = o->ndims ? o->dims[k] : (long)D - n + o->offsets[k];
            if (o->noffsets && (dk < 1 || (size_t)dk > D))
                return wg_planner_fail(pl, WG_TASK_SUBSPACE, NULL, WG_EARG,
                                       "probes.subspace.offsets: offset %d gives d = D - n + "
                                       "offset = %zu - %ld + %d = %ld, outside 1..%zu (task %zu)",
                                       o->offsets[k], D, n, o->offsets[k], dk, D, i);
            if ((size_t)dk > D)
                return wg_planner_fail(pl, WG_TASK_SUBSPACE, NULL, WG_EARG,
                                       "probes.subspace.dims: d = %ld is larger than the %s's %zu "
                                       "parameters (task %zu)", dk,
                                       toy ? "toy model" : "network", D, i);
            wg_task *t = wg_planner_add(pl, WG_TASK_SUBSPACE, i);
            if (!t)
                return WG_ENOMEM;
            t->deps[0] = i;
            t->ndeps = o->at_optimum ? 1 : 0;
            t->probe_epoch = t->set.train.epochs;
            t->probe_final = 1;
            t->arg[A_D] = (int)dk;
            if (toy) { /* a few QR solves (or Polyak steps) of O(D d) each */
                double steps = o->toy_steps ? o->toy_steps : (o->toy_optimizer ? 20000.0 : 10.0);
                double dd = (double)dk;
                t->cost = o->toy_optimizer ? steps * (double)D * dd : steps * (double)D * dd * dd;
            } else {
                if (o->epochs)
                    t->set.train.epochs = o->epochs;
                size_t ntr, nte;
                wg_setting d = t->set;
                wg_setting_derive(&d, 0, &ntr, &nte);
                size_t eff = t->set.train_size ? t->set.train_size : ntr;
                t->cost = 3.0 * t->set.train.epochs * (double)eff * wg_setting_flops(&t->set);
            }
            int rc = wg_planner_added(pl, t->id);
            if (rc)
                return rc;
        }
    }
    return 0;
}

static void describe(const wg_plan *p, const wg_task *t, char *buf, size_t cap)
{
    (void)p;
    snprintf(buf, cap, "d=%d", t->arg[A_D]);
}

const wg_kind wg_kind_subspace = {
    .name = "subspace",
    .summary = "training inside a random d-dimensional affine subspace at the initialisation "
               "or the optimum",
    .section = "probes.subspace",
    .options = OPTIONS,
    .noptions = sizeof OPTIONS / sizeof *OPTIONS,
    .opts_size = sizeof(subspace_opts),
    .check = check,
    .plan_order = 50,
    .plan = plan,
    .args = {"d"},
    .vars = VARS,
    .nvars = NVARS,
    .run = run,
    .describe = describe,
};
