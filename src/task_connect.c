/* task_connect.c: the connect kind.  A connector task joins m+1 optima that differ
 * only in their replicate seed (src/connect.c; Figures 3 and 4): a 1-connector's K
 * points, or an m-connector's centre, and the loss, accuracy and label changes along
 * the path and the straight line. */
#include <stdio.h>
#include <string.h>

#include "wedge/connect.h"
#include "wedge/error.h"
#include "wedge/exec.h"
#include "wedge/kind.h"

enum { V_M, V_X, V_LOSS, V_TRAIN_LOSS, V_TRAIN_ACC, V_TEST_LOSS, V_TEST_ACC, V_CHANGED_A,
       V_CHANGED_B, V_LINE_TRAIN, V_LINE_TEST, V_BARRIER_PATH, V_BARRIER_LINE, V_COS, V_LEAK,
       V_NEAR_ZERO, NVARS };

/* Points and segments of the largest connector of the plan. */
static size_t n_point(const wg_plan *p)
{
    const wg_connect_plan *cp = &p->connect;
    size_t n = 1;
    for (int k = 0; cp->enabled && k < cp->nm; k++)
        if (cp->m[k] == 1 && (size_t)cp->points > n)
            n = (size_t)cp->points;
    return n;
}

static size_t n_segment(const wg_plan *p)
{
    const wg_connect_plan *cp = &p->connect;
    size_t n = 1;
    for (int k = 0; cp->enabled && k < cp->nm; k++) {
        size_t s = cp->m[k] == 1 ? (size_t)cp->points + 1 : (size_t)cp->m[k] + 1;
        n = s > n ? s : n;
    }
    return n;
}

static size_t n_eval(const wg_plan *p)
{
    return p->connect.enabled ? (size_t)p->connect.eval_points : 1;
}

static const wg_dim DIMS[] = {{"conn_point", n_point},
                              {"conn_point2", n_point},
                              {"conn_segment", n_segment},
                              {"conn_eval", n_eval}};

#define PATH(name, long_name, units) \
    {name, WG_T_DOUBLE, "conn_segment conn_eval", long_name, units, .per_task = 1}
static const wg_var VARS[NVARS] = {
    [V_M] = {"connector_m", WG_T_INT, "", "connector order m (optima joined: m+1)", "1",
             WG_FILL_MINUS1, .per_task = 1},
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
    return rc;
}

static int run(wg_exec *x, const wg_plan *plan, const wg_task *t, const wg_result *const *deps,
               wg_result *r)
{
    const wg_setting *s = &t->set;
    const wg_connect_plan *cp = &plan->connect;
    const int m = t->dir_first, K = m == 1 ? cp->points : 1;
    const float *O[WG_MAX_DEPS];
    size_t stride[WG_MAX_DEPS];
    for (int j = 0; j <= m; j++)
        if (!(O[j] = wg_train_snapshot(deps ? deps[j] : NULL, t->probe_epoch, &stride[j])))
            return WG_FAIL(WG_EARG, "training task %zu has no parameters of epoch %d",
                           t->deps[j], t->probe_epoch);
    wg_objective f = {0}, ft = {0};
    wg_connector c = {0};
    int rc = wg_exec_landscape(x, plan, s, cp->probe_size, &f);
    for (int j = 0; rc == 0 && j <= m; j++)
        if (stride[j] < f.dim)
            rc = WG_FAIL(WG_EFORMAT, "the optima have different parameter counts");
    if (rc == 0)
        rc = wg_exec_test(x, plan, s, &ft);
    wg_connect_opts o;
    wg_connect_opts_default(&o);
    o.objective = cp->objective ? WG_CONNECT_PATH : WG_CONNECT_POINT;
    o.steps = cp->steps;
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

static int enabled(const wg_plan *p) { return p->connect.enabled; }

static void describe(const wg_plan *p, const wg_task *t, char *buf, size_t cap)
{
    (void)p;
    snprintf(buf, cap, "m=%d", t->dir_first);
}

const wg_kind wg_kind_connect = {
    .name = "connect",
    .summary = "a low-loss connector (1-connector: K points; m-connector: the centre) "
               "between optima that differ only in seed",
    .dims = DIMS,
    .ndims = 4,
    .vars = VARS,
    .nvars = NVARS,
    .enabled = enabled,
    .run = run,
    .describe = describe,
};
