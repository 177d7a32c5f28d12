/* task_hessian.c: the hessian kind.  A Hessian task counts the short directions
 * (src/hessian.c; Figure 4) at a trained optimum or at a connector's point, and
 * keeps the Ritz values so that counts can be re-thresholded. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "wedge/error.h"
#include "wedge/exec.h"
#include "wedge/hessian.h"
#include "wedge/kind.h"

/* Task arguments: where it looks (AT_*) and which connector point. */
enum { A_AT, A_POINT };
enum { AT_OPTIMUM = 0, AT_CONNECTOR = 1 };
/* `at` bits */
enum { AT_OPTIMA_BIT = 1, AT_CONNECTORS_BIT = 2 };
/* An HVP costs two gradients, ~3 forward passes each over the probe set. */
#define FLOPS_PER_HVP 6.0

typedef struct hessian_opts {
    int at;                      /* AT_*_BIT */
    double threshold;            /* lambda_thr, one number for the whole study */
    int budget;                  /* HVPs */
    size_t probe_size;
} hessian_opts;

static const char *const PLACES[] = {"optima", "connectors"};

#define O(field) .off = offsetof(hessian_opts, field)
static const wg_option OPTIONS[] = {
    {"at", WG_OPT_SET, .deflt = "optima", O(at), .choices = PLACES, .nchoices = 2,
     .doc = "where: trained optima and/or every connector point"},
    {"threshold", WG_OPT_DOUBLE, 0, 1e12, 1, "1.0", O(threshold),
     .doc = "lambda_thr: short directions are eigenvalues above it"},
    {"budget", WG_OPT_INT, 1, 100000, .deflt = "600", O(budget),
     .doc = "Hessian-vector products at most"},
    {"probe_size", WG_OPT_SIZE, 1, 1e8, .deflt = "10000", O(probe_size),
     .doc = "images of the probe set"},
};
#undef O

static const hessian_opts *opts_of(const wg_plan *p) { return wg_plan_opts(p, WG_TASK_HESSIAN); }

enum { V_RITZ, V_RESID, V_N, V_HVPS, V_CONV, V_HALF, V_COUNT, V_DOUBLE, V_AT, V_POINT, NVARS };

static size_t n_ritz(const wg_plan *p)
{
    return opts_of(p) ? (size_t)opts_of(p)->budget : 1;
}

static const wg_dim DIMS[] = {{"ritz", n_ritz}};

static void at_value(const wg_plan *p, const wg_task *t, double *v)
{
    (void)p;
    v[0] = t->kind == WG_TASK_HESSIAN ? t->arg[A_AT] : -1;
}

static void point_value(const wg_plan *p, const wg_task *t, double *v)
{
    (void)p;
    v[0] = t->kind == WG_TASK_HESSIAN ? t->arg[A_POINT] : -1;
}

#define COUNT(name, long_name) \
    {name, WG_T_INT, "", long_name, "1", WG_FILL_MINUS1, .per_task = 1}
static const wg_var VARS[NVARS] = {
    [V_RITZ] = {"hessian_ritz", WG_T_DOUBLE, "ritz",
                "Ritz values of the probe-set Hessian, descending", "nat", .per_task = 1},
    [V_RESID] = {"hessian_residual", WG_T_DOUBLE, "ritz", "residual bound of each Ritz value",
                 "nat", .per_task = 1},
    [V_N] = COUNT("hessian_n", "Ritz values stored"),
    [V_HVPS] = COUNT("hessian_hvps", "Hessian-vector products spent"),
    [V_CONV] = {"hessian_converged", WG_T_BYTE, "",
                "1 if Lanczos converged, 0 if it ran out of budget", NULL, WG_FILL_MINUS1,
                .per_task = 1},
    [V_HALF] = COUNT("n_short_half", "Ritz values above 0.5 x threshold"),
    [V_COUNT] = COUNT("n_short", "number of short directions: Ritz values above the threshold"),
    [V_DOUBLE] = COUNT("n_short_double", "Ritz values above 2 x threshold"),
    [V_AT] = {"hessian_at", WG_T_INT, "", "where: 0 a trained optimum, 1 a connector point", "1",
              .per_task = 1, .plan_value = at_value},
    [V_POINT] = {"hessian_point", WG_T_INT, "",
                 "connector point index (1-connector: X_{k+1}; m-connector: 0 = centre)", "1",
                 WG_FILL_MINUS1, .per_task = 1, .plan_value = point_value},
};
#undef COUNT

static void attrs(const wg_plan *p, wg_att_fn put, void *ctx)
{
    put(ctx, "n_short", "threshold", NULL, opts_of(p)->threshold);
}

static int run(wg_exec *x, const wg_plan *plan, const wg_task *t, const wg_result *const *deps,
               wg_result *r)
{
    const wg_setting *s = &t->set;
    const hessian_opts *hp = opts_of(plan);
    const wg_result *dep = deps ? deps[0] : NULL;
    size_t stride = 0;
    const float *X = t->arg[A_AT] == AT_OPTIMUM
                         ? wg_train_snapshot(dep, t->probe_epoch, &stride)
                         : wg_connect_point(dep, t->arg[A_POINT], &stride);
    if (!X)
        return WG_FAIL(WG_EARG, "task %zu has no point for this Hessian probe", t->deps[0]);
    wg_objective f = {0};
    wg_hessian_result h = {0};
    int rc = wg_exec_landscape(x, plan, s, hp->probe_size, &f);
    if (rc == 0 && f.dim > stride)
        rc = WG_FAIL(WG_EFORMAT, "point has %zu parameters, the net %zu", stride, f.dim);
    wg_hessian_opts o;
    wg_hessian_opts_default(&o);
    o.threshold = hp->threshold;
    o.max_hvp = hp->budget;
    o.seed = s->train.seed;
    o.stream = (uint64_t)t->arg[A_AT] * 1000 + (uint64_t)t->arg[A_POINT];
    o.stop = x->stop;
    o.stop_user = x->stop_user;
    if (rc == 0)
        rc = wg_hessian_probe(&f, X, &o, &h);
    const size_t n = (size_t)h.n;
    if (!rc) rc = wg_result_put_int(r, V_N, h.n);
    if (!rc) rc = wg_result_put_int(r, V_HVPS, (int)h.hvps);
    if (!rc) rc = wg_result_put_byte(r, V_CONV, h.converged);
    if (!rc) rc = wg_result_put_int(r, V_HALF, h.count_half);
    if (!rc) rc = wg_result_put_int(r, V_COUNT, h.count);
    if (!rc) rc = wg_result_put_int(r, V_DOUBLE, h.count_double);
    if (!rc && n > 0) {
        rc = wg_result_set(r, V_RITZ, WG_T_DOUBLE, 1, NULL, &n, h.ritz, WG_T_DOUBLE);
        if (!rc) rc = wg_result_set(r, V_RESID, WG_T_DOUBLE, 1, NULL, &n, h.resid, WG_T_DOUBLE);
    }
    wg_hessian_result_free(&h);
    wg_objective_free(&f);
    return rc;
}

static double cost(const hessian_opts *o, const wg_task *t)
{
    return FLOPS_PER_HVP * o->budget * (double)o->probe_size * wg_setting_flops(&t->set);
}

/* A task per trained optimum (at: optima); at: connectors needs connectors. */
static int plan(wg_planner *pl, const void *opts)
{
    const hessian_opts *o = opts;
    wg_plan *p = wg_planner_plan(pl);
    const size_t ntrain = p->ntrain;
    for (size_t i = 0; (o->at & AT_OPTIMA_BIT) && i < ntrain; i++) {
        wg_task *t = wg_planner_add(pl, WG_TASK_HESSIAN, i);
        if (!t)
            return WG_ENOMEM;
        t->ndeps = 1;
        t->deps[0] = i;
        t->probe_epoch = t->set.train.epochs;
        t->arg[A_AT] = AT_OPTIMUM;
        t->cost = cost(o, t);
        int rc = wg_planner_added(pl, t->id);
        if (rc)
            return rc;
    }
    if ((o->at & AT_CONNECTORS_BIT) && !wg_kind_enabled(p, WG_TASK_CONNECT))
        return wg_planner_fail(pl, WG_TASK_HESSIAN, NULL, WG_EARG,
                               "probes.hessian.at: connectors needs a `connectors:` section");
    return 0;
}

/* At connectors: a task per point of every connector, right after it. */
static int attach(wg_planner *pl, const void *opts, const wg_task *conn)
{
    const hessian_opts *o = opts;
    if (conn->kind != WG_TASK_CONNECT || !(o->at & AT_CONNECTORS_BIT))
        return 0;
    const size_t id = conn->id, first = conn->deps[0];
    const int K = conn->arg[1]; /* the connector's points */
    for (int q = 0; q < K; q++) {
        wg_task *h = wg_planner_add(pl, WG_TASK_HESSIAN, first);
        if (!h)
            return WG_ENOMEM;
        h->ndeps = 1;
        h->deps[0] = id;
        h->probe_epoch = h->set.train.epochs;
        h->arg[A_AT] = AT_CONNECTOR;
        h->arg[A_POINT] = q;
        h->cost = cost(o, h);
        int rc = wg_planner_added(pl, h->id);
        if (rc)
            return rc;
    }
    return 0;
}

static void describe(const wg_plan *p, const wg_task *t, char *buf, size_t cap)
{
    (void)p;
    if (t->arg[A_AT] == AT_OPTIMUM)
        snprintf(buf, cap, "at optimum");
    else
        snprintf(buf, cap, "at point %d", t->arg[A_POINT]);
}

const wg_kind wg_kind_hessian = {
    .name = "hessian",
    .summary = "the number of short directions (Hessian eigenvalues above a threshold) at an "
               "optimum or a connector point",
    .section = "probes.hessian",
    .options = OPTIONS,
    .noptions = sizeof OPTIONS / sizeof *OPTIONS,
    .opts_size = sizeof(hessian_opts),
    .plan_order = 30,
    .plan = plan,
    .attach = attach,
    .args = {"where (0 optimum, 1 connector point)", "connector point"},
    .dims = DIMS,
    .ndims = 1,
    .vars = VARS,
    .nvars = NVARS,
    .attrs = attrs,
    .run = run,
    .describe = describe,
};
