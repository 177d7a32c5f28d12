/* task_connect.c: the connect kind.  A connector task joins m+1 optima that differ
 * only in their replicate seed (src/connect.c; Figures 3 and 4): a 1-connector's K
 * points, or an m-connector's centre, and the loss, accuracy and label changes along
 * the path and the straight line. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wedge/connect.h"
#include "wedge/error.h"
#include "wedge/exec.h"
#include "wedge/kind.h"

/* Task arguments: the order m, the points K (m-connector: 1, the centre) and which
 * of the order's `sets` connectors it is. */
enum { A_M, A_K, A_SET };

#define MAX_M 10

typedef struct connect_opts {
    int nm;
    int m[MAX_M];                /* orders: 1 = a tunnel between two optima */
    int sets;                    /* connectors per order, on different sets of optima */
    int points;                  /* K interior points of 1-connectors */
    int objective;               /* WG_CONNECT_POINT or WG_CONNECT_PATH */
    int steps;                   /* Adam steps per point (and per round) */
    int rounds;                  /* path objective, 1-connectors: passes over the points */
    double lr;
    size_t probe_size;
    int eval_points;             /* points per segment recorded */
    size_t batch_size;           /* 0: full-batch steps on the probe set; B: minibatches
                                    of B training images */
    double until_loss;           /* > 0: a point stops at this probe-set loss */
} connect_opts;

static const char *const OBJECTIVES[] = {"point", "path"};

#define O(field) .off = offsetof(connect_opts, field)
static const wg_option OPTIONS[] = {
    {"m", WG_OPT_INTS, 1, MAX_M, .deflt = "1", O(m), .count_off = offsetof(connect_opts, nm),
     .max = MAX_M, .plan_only = 1, .doc = "connector orders: 1 joins two optima, m joins m+1"},
    {"sets", WG_OPT_INT, 1, 100, .deflt = "1", O(sets), .plan_only = 1,
     .doc = "connectors per order m, each on another set of m+1 optima (disjoint while the "
            "seeds suffice)"},
    {"points", WG_OPT_INT, 1, 100, .deflt = "9", O(points),
     .doc = "K interior points of a 1-connector"},
    {"objective", WG_OPT_ENUM, .deflt = "point", O(objective), .choices = OBJECTIVES,
     .nchoices = 2, .doc = "point: the loss at each point (the paper's); path: the mean loss "
                           "along the segments"},
    {"steps", WG_OPT_INT, 0, 1e7, .deflt = "200", O(steps), .doc = "Adam steps per point"},
    {"rounds", WG_OPT_INT, 1, 1000, .deflt = "2", O(rounds),
     .doc = "path objective, 1-connectors: passes over the points"},
    {"lr", WG_OPT_DOUBLE, 0, 1e6, 1, "1e-3", O(lr), .doc = "Adam learning rate"},
    {"probe_size", WG_OPT_SIZE, 1, 1e8, .deflt = "10000", O(probe_size),
     .doc = "images of the probe set"},
    {"eval_points", WG_OPT_INT, 2, 1000, .deflt = "10", O(eval_points),
     .doc = "evaluations recorded per segment of the path"},
    {"batch_size", WG_OPT_SIZE, 0, 1e6, .deflt = "0", O(batch_size),
     .doc = "0: every step's gradient is over the whole probe set; B: Adam steps on "
            "minibatches of B images of the whole training set (the probe set only "
            "measures)"},
    {"until_loss", WG_OPT_DOUBLE, 0, 1e6, .deflt = "0", O(until_loss),
     .doc = "0: every point takes `steps` steps; x > 0: a point stops once its objective on "
            "the probe set is at most x (checked every 50 steps), `steps` the most"},
};
#undef O

static const connect_opts *opts_of(const wg_plan *p) { return wg_plan_opts(p, WG_TASK_CONNECT); }

enum { V_M, V_OPTIMA, V_X, V_LOSS, V_TRAIN_LOSS, V_TRAIN_ACC, V_TEST_LOSS, V_TEST_ACC, V_CHANGED_A,
       V_CHANGED_B, V_LINE_TRAIN, V_LINE_TEST, V_BARRIER_PATH, V_BARRIER_LINE, V_COS, V_LEAK,
       V_NEAR_ZERO, V_STEPS, NVARS };

/* Points and segments of the largest connector of the plan. */
static size_t n_point(const wg_plan *p)
{
    const connect_opts *cp = opts_of(p);
    size_t n = 1;
    for (int k = 0; cp && k < cp->nm; k++)
        if (cp->m[k] == 1 && (size_t)cp->points > n)
            n = (size_t)cp->points;
    return n;
}

static size_t n_segment(const wg_plan *p)
{
    const connect_opts *cp = opts_of(p);
    size_t n = 1;
    for (int k = 0; cp && k < cp->nm; k++) {
        size_t s = cp->m[k] == 1 ? (size_t)cp->points + 1 : (size_t)cp->m[k] + 1;
        n = s > n ? s : n;
    }
    return n;
}

static size_t n_eval(const wg_plan *p)
{
    return opts_of(p) ? (size_t)opts_of(p)->eval_points : 1;
}

/* Optima of the largest connector of the plan. */
static size_t n_optimum(const wg_plan *p)
{
    const connect_opts *cp = opts_of(p);
    size_t n = 2;
    for (int k = 0; cp && k < cp->nm; k++)
        n = (size_t)cp->m[k] + 1 > n ? (size_t)cp->m[k] + 1 : n;
    return n;
}

static void optima_value(const wg_plan *p, const wg_task *t, double *v)
{
    (void)p;
    if (t->kind == WG_TASK_CONNECT)
        for (size_t j = 0; j < t->ndeps; j++)
            v[j] = (double)t->deps[j];
}

static const wg_dim DIMS[] = {{"conn_optimum", n_optimum},
                              {"conn_point", n_point},
                              {"conn_point2", n_point},
                              {"conn_segment", n_segment},
                              {"conn_eval", n_eval}};

#define PATH(name, long_name, units) \
    {name, WG_T_DOUBLE, "conn_segment conn_eval", long_name, units, .per_task = 1}
static const wg_var VARS[NVARS] = {
    [V_M] = {"connector_m", WG_T_INT, "", "connector order m (optima joined: m+1)", "1",
             WG_FILL_MINUS1, .per_task = 1},
    [V_OPTIMA] = {"connector_optima", WG_T_INT, "conn_optimum",
                  "the training tasks joined (O1 first; -1 beyond m+1)", "1", WG_FILL_MINUS1,
                  .per_task = 1, .plan_value = optima_value},
    [V_X] = {"connector_x", WG_T_FLOAT, "conn_point param",
             "optimised connector points (1-connector: X_1..X_K; m-connector: the centre)", "1",
             WG_FILL_NONE, .per_task = 1},
    [V_LOSS] = {"connector_loss", WG_T_DOUBLE, "conn_point",
                "final value of the connector objective at each point", "nat", .per_task = 1},
    [V_TRAIN_LOSS] = PATH("path_train_loss", "probe-set (training) loss along the connector path",
                          "nat"),
    [V_TRAIN_ACC] = PATH("path_train_accuracy", "probe-set accuracy along the connector path",
                         "1"),
    [V_TEST_LOSS] = PATH("path_test_loss", "test loss along the connector path", "nat"),
    [V_TEST_ACC] = PATH("path_test_accuracy", "test accuracy along the connector path", "1"),
    [V_CHANGED_A] = PATH("path_changed_a",
                         "fraction of test predictions that differ from O1's (m-connector: "
                         "O_0's)", "1"),
    [V_CHANGED_B] = PATH("path_changed_b",
                         "fraction of test predictions that differ from O2's (m-connector: the "
                         "segment's optimum)", "1"),
    [V_LINE_TRAIN] = PATH("line_train_loss",
                          "probe-set loss along the straight line (1-connector: O1 to O2; "
                          "m-connector: centroid to each optimum)", "nat"),
    [V_LINE_TEST] = PATH("line_test_loss", "test loss along the straight line", "nat"),
    [V_BARRIER_PATH] = {"barrier_path", WG_T_DOUBLE, "",
                        "largest probe-set loss along the connector path", "nat", .per_task = 1},
    [V_BARRIER_LINE] = {"barrier_line", WG_T_DOUBLE, "",
                        "largest probe-set loss along the straight line", "nat", .per_task = 1},
    [V_COS] = {"deviation_cosine", WG_T_DOUBLE, "conn_point conn_point2",
               "cosine between the deviations X_k - C_k of two points", "1", .per_task = 1},
    [V_LEAK] = {"plane_leak", WG_T_DOUBLE, "",
                "largest |B (X - X0)| / |X - X0|: how far the points left their planes", "1",
                .per_task = 1},
    [V_NEAR_ZERO] = {"connector_near_zero", WG_T_INT, "conn_point",
                     "near-zero coordinates of each connector point, |X_j| <= 1e-3 |X|/sqrt(D)",
                     "1", WG_FILL_MINUS1, .per_task = 1},
    [V_STEPS] = {"connector_steps", WG_T_INT, "conn_point",
                 "optimiser steps taken at each connector point (fewer than `steps`: "
                 "until_loss reached)", "1", WG_FILL_MINUS1, .per_task = 1},
};
#undef PATH

static int pack(const wg_connector *c, wg_result *r)
{
    const size_t K = (size_t)c->K, D = c->D, xs[2] = {K, D}, kk[2] = {K, K},
                 se[2] = {(size_t)c->nseg, (size_t)c->E};
    int rc = wg_result_put_int(r, V_M, c->m);
    if (!rc) rc = wg_result_set(r, V_X, WG_T_FLOAT, 2, NULL, xs, c->X, WG_T_FLOAT);
    if (!rc) rc = wg_result_set(r, V_LOSS, WG_T_DOUBLE, 1, NULL, &K, c->loss, WG_T_DOUBLE);
    const double *path[8] = {c->train_loss, c->train_acc, c->test_loss, c->test_acc,
                             c->changed_a, c->changed_b, c->line_train, c->line_test};
    for (int i = 0; !rc && i < 8; i++)
        rc = wg_result_set(r, V_TRAIN_LOSS + i, WG_T_DOUBLE, 2, NULL, se, path[i], WG_T_DOUBLE);
    if (!rc) rc = wg_result_put_double(r, V_BARRIER_PATH, c->barrier_path);
    if (!rc) rc = wg_result_put_double(r, V_BARRIER_LINE, c->barrier_line);
    if (!rc) rc = wg_result_set(r, V_COS, WG_T_DOUBLE, 2, NULL, kk, c->cosine, WG_T_DOUBLE);
    if (!rc) rc = wg_result_put_double(r, V_LEAK, c->leak);
    if (!rc) rc = wg_result_set(r, V_NEAR_ZERO, WG_T_INT, 1, NULL, &K, c->near_zero, WG_T_INT);
    if (!rc) rc = wg_result_set(r, V_STEPS, WG_T_INT, 1, NULL, &K, c->steps, WG_T_INT);
    return rc;
}

/* The objective of minibatch connector steps: the network on the whole training
 * set, dropout as in training, no L2 (the landscape's loss, METHODS.md). */
static int minibatch_objective(wg_exec *x, const wg_plan *plan, const wg_setting *s, size_t B,
                               size_t dim, wg_objective *fb)
{
    if (wg_setting_is_toy(s))
        return WG_FAIL(WG_EARG, "connectors.batch_size = %zu: the toy model has no data to "
                       "draw minibatches from (use 0)", B);
    const wg_data *d;
    int rc = wg_exec_data(x, plan, s, &d);
    if (rc)
        return rc;
    if (B > d->train.n)
        return WG_FAIL(WG_EARG, "connectors.batch_size = %zu exceeds the %zu training images",
                       B, d->train.n);
    rc = wg_objective_net(fb, &s->net, &d->train, B);
    if (rc == 0 && fb->dim != dim)
        rc = WG_FAIL(WG_EFORMAT, "minibatch objective has %zu parameters, the probe's %zu",
                     fb->dim, dim);
    return rc;
}

static int run(wg_exec *x, const wg_plan *plan, const wg_task *t, const wg_result *const *deps,
               wg_result *r)
{
    const wg_setting *s = &t->set;
    const connect_opts *cp = opts_of(plan);
    const int m = t->arg[A_M], K = t->arg[A_K];
    const float *O[WG_MAX_DEPS];
    size_t stride[WG_MAX_DEPS];
    for (int j = 0; j <= m; j++) {
        int prc = wg_train_point(deps ? deps[j] : NULL, t, (size_t)j, &O[j], &stride[j]);
        if (prc)
            return prc;
    }
    wg_objective f = {0}, ft = {0};
    wg_connector c = {0};
    int rc = wg_exec_landscape(x, plan, s, cp->probe_size, &f);
    for (int j = 0; rc == 0 && j <= m; j++)
        if (stride[j] < f.dim)
            rc = WG_FAIL(WG_EFORMAT, "the optima have different parameter counts");
    if (rc == 0)
        rc = wg_exec_test(x, plan, s, &ft);
    wg_objective fb = {0}; /* minibatch steps: the whole training set */
    if (rc == 0 && cp->batch_size > 0)
        rc = minibatch_objective(x, plan, s, cp->batch_size, f.dim, &fb);
    wg_connect_opts o;
    wg_connect_opts_default(&o);
    if (cp->batch_size > 0) {
        o.train = &fb;
        o.batch = cp->batch_size;
    }
    o.objective = cp->objective ? WG_CONNECT_PATH : WG_CONNECT_POINT;
    o.steps = cp->steps;
    o.until_loss = cp->until_loss;
    o.lr = cp->lr;
    o.seed = s->train.seed;
    o.stop = x->stop;
    o.stop_user = x->stop_user;
    if (rc == 0)
        rc = wg_connect_run(&f, &ft, O, m, K, cp->eval_points, cp->rounds, &o, &c);
    if (rc == 0)
        rc = pack(&c, r);
    wg_connector_free(&c);
    wg_objective_free(&f);
    wg_objective_free(&ft);
    wg_objective_free(&fb);
    return rc;
}

const float *wg_connect_point(const wg_result *connect, int k, size_t *stride)
{
    const wg_slot *sx = wg_result_get(connect, V_X);
    if (!connect || connect->status != WG_STATUS_DONE || connect->kind != WG_TASK_CONNECT ||
        !sx || sx->type != WG_T_FLOAT || sx->ndims != 2 || k < 0 || (size_t)k >= sx->count[0])
        return NULL;
    *stride = sx->count[1];
    return (const float *)sx->data + (size_t)k * sx->count[1];
}

/* Position in its seed group of optimum j of connector r of order m, over n
 * optima: disjoint sets while sets x (m+1) optima suffice, else windows shifted by
 * one (connector 0 always joins the group's first m+1). */
static size_t set_member(int r, int j, int m, int sets, size_t n)
{
    if ((size_t)sets * (size_t)(m + 1) <= n)
        return (size_t)r * (size_t)(m + 1) + (size_t)j;
    return ((size_t)r + (size_t)j) % n;
}

/* `sets` connectors per group of trainings that differ only in the replicate and
 * per order m, each joining m+1 of the group's optima (set_member). */
static int plan(wg_planner *pl, const void *opts)
{
    const connect_opts *o = opts;
    size_t *ids, *count, ngroups, n;
    int rc = wg_planner_groups(pl, &ids, &count, &ngroups, &n);
    if (rc)
        return rc;
    for (size_t g = 0; rc == 0 && g < ngroups; g++)
        for (int k = 0; rc == 0 && k < o->nm; k++) {
            int m = o->m[k];
            if (count[g] < (size_t)m + 1) {
                rc = wg_planner_fail(pl, WG_TASK_CONNECT, NULL, WG_EARG,
                                     "connectors: m = %d joins %d optima, but only %zu "
                                     "trainings differ only in seed: sweep `seed` over at "
                                     "least %d values", m, m + 1, count[g], m + 1);
                break;
            }
            if (o->sets > 1 && (count[g] < (size_t)m + 2 || count[g] < (size_t)o->sets)) {
                size_t need = (size_t)m + 2 > (size_t)o->sets ? (size_t)m + 2 : (size_t)o->sets;
                rc = wg_planner_fail(pl, WG_TASK_CONNECT, "sets", WG_EARG,
                                     "connectors: %d sets of %d optima (m = %d) need at least "
                                     "%zu trainings that differ only in seed, the sweep has "
                                     "%zu", o->sets, m + 1, m, need, count[g]);
                break;
            }
            const size_t *mem = ids + g * n;
            for (int r = 0; rc == 0 && r < o->sets; r++) {
                wg_task *t = wg_planner_add(pl, WG_TASK_CONNECT,
                                            mem[set_member(r, 0, m, o->sets, count[g])]);
                if (!t) {
                    rc = WG_ENOMEM;
                    break;
                }
                t->ndeps = (size_t)m + 1;
                for (int j = 0; j <= m; j++)
                    t->deps[j] = mem[set_member(r, j, m, o->sets, count[g])];
                t->probe_epoch = t->set.train.epochs;
                t->probe_final = 1;
                t->arg[A_M] = m;
                t->arg[A_K] = m == 1 ? o->points : 1;
                t->arg[A_SET] = r;
                int rounds = o->objective == WG_CONNECT_PATH && m == 1 ? o->rounds : 1;
                /* a step costs a gradient, ~3 forward passes over the probe set
                 * (or a minibatch) */
                double per = 3.0 * (double)(o->batch_size ? o->batch_size : o->probe_size) *
                             wg_setting_flops(&t->set);
                t->cost = (double)t->arg[A_K] * o->steps * rounds * per;
                rc = wg_planner_added(pl, t->id);
            }
        }
    free(ids);
    free(count);
    return rc;
}

static void describe(const wg_plan *p, const wg_task *t, char *buf, size_t cap)
{
    if (opts_of(p) && opts_of(p)->sets > 1)
        snprintf(buf, cap, "m=%d set %d", t->arg[A_M], t->arg[A_SET]);
    else
        snprintf(buf, cap, "m=%d", t->arg[A_M]);
}

const wg_kind wg_kind_connect = {
    .name = "connect",
    .summary = "a low-loss connector (1-connector: K points; m-connector: the centre) "
               "between optima that differ only in seed",
    .section = "connectors",
    .options = OPTIONS,
    .noptions = sizeof OPTIONS / sizeof *OPTIONS,
    .opts_size = sizeof(connect_opts),
    .plan_order = 40,
    .plan = plan,
    .args = {"m", "points", "set"},
    .label_args = 1u << A_SET, /* the optima it joins are its dependencies */
    .dims = DIMS,
    .ndims = sizeof DIMS / sizeof *DIMS,
    .vars = VARS,
    .nvars = NVARS,
    .run = run,
    .describe = describe,
};
