/* task_hessian.c: the hessian kind.  A Hessian task counts the short directions
 * (src/hessian.c; Figure 4) at a trained optimum or at a connector's point, and
 * keeps the Ritz values so that counts can be re-thresholded. */
#include <stdio.h>
#include <string.h>

#include "wedge/error.h"
#include "wedge/exec.h"
#include "wedge/hessian.h"
#include "wedge/kind.h"

enum { V_RITZ, V_RESID, V_N, V_HVPS, V_CONV, V_HALF, V_COUNT, V_DOUBLE, V_AT, V_POINT, NVARS };

static size_t n_ritz(const wg_plan *p)
{
    return p->hessian.enabled ? (size_t)p->hessian.budget : 1;
}

static const wg_dim DIMS[] = {{"ritz", n_ritz}};

static void at_value(const wg_plan *p, const wg_task *t, double *v)
{
    (void)p;
    v[0] = t->kind == WG_TASK_HESSIAN ? t->dir_first : -1;
}

static void point_value(const wg_plan *p, const wg_task *t, double *v)
{
    (void)p;
    v[0] = t->kind == WG_TASK_HESSIAN ? t->dir_count : -1;
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
    put(ctx, "n_short", "threshold", NULL, p->hessian.threshold);
}

static int run(wg_exec *x, const wg_plan *plan, const wg_task *t, const wg_result *const *deps,
               wg_result *r)
{
    const wg_setting *s = &t->set;
    const wg_hessian_plan *hp = &plan->hessian;
    const wg_result *dep = deps ? deps[0] : NULL;
    size_t stride = 0;
    const float *X = t->dir_first == WG_AT_OPTIMUM
                         ? wg_train_snapshot(dep, t->probe_epoch, &stride)
                         : wg_connect_point(dep, t->dir_count, &stride);
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
    o.stream = (uint64_t)t->dir_first * 1000 + (uint64_t)t->dir_count;
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

static int enabled(const wg_plan *p) { return p->hessian.enabled; }

static void describe(const wg_plan *p, const wg_task *t, char *buf, size_t cap)
{
    (void)p;
    if (t->dir_first == WG_AT_OPTIMUM)
        snprintf(buf, cap, "at optimum");
    else
        snprintf(buf, cap, "at point %d", t->dir_count);
}

const wg_kind wg_kind_hessian = {
    .name = "hessian",
    .summary = "the number of short directions (Hessian eigenvalues above a threshold) at an "
               "optimum or a connector point",
    .dims = DIMS,
    .ndims = 1,
    .vars = VARS,
    .nvars = NVARS,
    .enabled = enabled,
    .attrs = attrs,
    .run = run,
    .describe = describe,
};
