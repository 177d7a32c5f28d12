/* task_tunnel.c: the tunnel kind.  A tunnel task probes the radial tunnel width
 * (src/tunnel.c, docs/METHODS.md) at one snapshot of one training, along a block of
 * the plan's directions: `split` tasks share a probe's K directions, so the
 * variables indexed by `direction` are filled by several tasks. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "wedge/error.h"
#include "wedge/exec.h"
#include "wedge/kind.h"
#include "wedge/tunnel.h"

enum { V_LEVEL, V_LEVEL_ABS, V_NORM, V_LOSS0, V_EVALS, V_PHI, V_ASTAR, V_HOW, V_NPOINTS,
       V_PROF_A, V_PROF_LOSS, NVARS };

/* The levels of a plan's tunnel probes as wg_tunnel_opts.levels (dL > 0, or minus an
 * absolute loss for the chance level); returns their count. */
static int plan_levels(const wg_plan *plan, double *levels)
{
    const wg_tunnel_plan *tp = &plan->tunnel;
    if (!tp->enabled)
        return 0;
    int n = 0;
    for (int l = 0; l < tp->nlevels; l++, n++)
        if (levels)
            levels[n] = tp->levels[l];
    /* the chance level ln(classes) means nothing for the toy model, which has no classes */
    if (tp->chance && !(plan->ntasks && wg_setting_is_toy(&plan->tasks[0].set))) {
        if (levels) /* ln(classes); every task of a plan has the same data kind's classes */
            levels[n] = -log((double)(plan->ntasks ? plan->tasks[0].set.net.classes : 10));
        n++;
    }
    return n;
}

static size_t n_direction(const wg_plan *p) { return (size_t)p->tunnel.directions; }
static size_t n_level(const wg_plan *p) { return (size_t)plan_levels(p, NULL); }
static size_t n_point(const wg_plan *p)
{
    (void)p;
    return WG_TUNNEL_MAX_POINTS;
}

static const wg_dim DIMS[] = {{"direction", n_direction}, {"level", n_level}, {"point", n_point}};

static void level_value(const wg_plan *p, const wg_task *t, double *v)
{
    (void)t;
    double lev[WG_MAX_LEVELS];
    int n = plan_levels(p, lev);
    for (int l = 0; l < n; l++)
        v[l] = fabs(lev[l]);
}

static void level_abs_value(const wg_plan *p, const wg_task *t, double *v)
{
    (void)t;
    double lev[WG_MAX_LEVELS];
    int n = plan_levels(p, lev);
    for (int l = 0; l < n; l++)
        v[l] = lev[l] < 0;
}

static const wg_var VARS[NVARS] = {
    [V_LEVEL] = {"level", WG_T_DOUBLE, "level",
                 "tunnel level: loss rise dL above L(P0), or the absolute chance level", "nat",
                 .plan_value = level_value},
    [V_LEVEL_ABS] = {"level_is_absolute", WG_T_BYTE, "level",
                     "1 if the level is an absolute loss (chance level ln classes)", NULL,
                     .plan_value = level_abs_value},
    [V_NORM] = {"tunnel_norm", WG_T_DOUBLE, "", "|P0| at the probed optimum", "1",
                .per_task = 1},
    [V_LOSS0] = {"tunnel_loss0", WG_T_DOUBLE, "", "probe-set loss L(P0)", "nat", .per_task = 1},
    [V_EVALS] = {"tunnel_evals", WG_T_DOUBLE, "", "loss evaluations spent", "1", .per_task = 1},
    [V_PHI] = {"tunnel_phi", WG_T_DOUBLE, "level",
               "angular width atan(median a* / |P0|) over this task's directions", "radian",
               .per_task = 1},
    [V_ASTAR] = {"tunnel_astar", WG_T_DOUBLE, "direction level",
                 "distance a* along direction v to the level (NaN: not reached)", "1",
                 .per_task = 1},
    [V_HOW] = {"tunnel_outcome", WG_T_BYTE, "direction level", "how the search ended", NULL,
               WG_FILL_MINUS1, "found not_reached at_start", .per_task = 1},
    [V_NPOINTS] = {"tunnel_npoints", WG_T_INT, "direction", "loss-profile points stored", "1",
                   .per_task = 1},
    [V_PROF_A] = {"tunnel_profile_a", WG_T_DOUBLE, "direction point",
                  "distance a of each loss evaluation along the direction", "1", .per_task = 1},
    [V_PROF_LOSS] = {"tunnel_profile_loss", WG_T_DOUBLE, "direction point",
                     "probe-set loss L(P0 + a v) at each profile point", "nat", .per_task = 1},
};

/* The probe's result into the record: directions [first, first + count). */
static int pack(const wg_tunnel_result *tr, int first, wg_result *r)
{
    const size_t c = (size_t)tr->count, L = (size_t)tr->nlevels, P = WG_TUNNEL_MAX_POINTS;
    const size_t st[2] = {(size_t)first, 0}, cl[2] = {c, L}, cp[2] = {c, P};
    double phi[WG_MAX_LEVELS], evals = (double)tr->evals;
    for (size_t l = 0; l < L; l++)
        phi[l] = wg_tunnel_phi(tr->astar + l, tr->count, (int)L, tr->norm);
    int rc = wg_result_put_double(r, V_NORM, tr->norm);
    if (!rc) rc = wg_result_put_double(r, V_LOSS0, tr->loss0);
    if (!rc) rc = wg_result_put_double(r, V_EVALS, evals);
    if (!rc) rc = wg_result_set(r, V_PHI, WG_T_DOUBLE, 1, NULL, &L, phi, WG_T_DOUBLE);
    if (c == 0)
        return rc;
    if (!rc) rc = wg_result_set(r, V_ASTAR, WG_T_DOUBLE, 2, st, cl, tr->astar, WG_T_DOUBLE);
    if (!rc) rc = wg_result_set(r, V_HOW, WG_T_BYTE, 2, st, cl, tr->how, WG_T_INT);
    if (!rc) rc = wg_result_set(r, V_NPOINTS, WG_T_INT, 1, st, &c, tr->npoints, WG_T_INT);
    if (!rc) rc = wg_result_set(r, V_PROF_A, WG_T_DOUBLE, 2, st, cp, tr->prof_a, WG_T_DOUBLE);
    if (!rc)
        rc = wg_result_set(r, V_PROF_LOSS, WG_T_DOUBLE, 2, st, cp, tr->prof_loss, WG_T_DOUBLE);
    return rc;
}

static int run(wg_exec *x, const wg_plan *plan, const wg_task *t, const wg_result *const *deps,
               wg_result *r)
{
    const wg_setting *s = &t->set;
    const wg_tunnel_plan *tp = &plan->tunnel;
    size_t stride = 0;
    const float *P0 = wg_train_snapshot(deps ? deps[0] : NULL, t->probe_epoch, &stride);
    if (!P0)
        return WG_FAIL(WG_EARG, "training task %zu has no parameters of epoch %d", t->deps[0],
                       t->probe_epoch);
    wg_objective f = {0};
    wg_tunnel_opts o;
    wg_tunnel_opts_default(&o);
    o.nlevels = plan_levels(plan, o.levels);
    o.a_max_rel = tp->a_max;
    o.seed = s->train.seed;
    o.stream = (uint64_t)t->probe_epoch;
    o.stop = x->stop;
    o.stop_user = x->stop_user;
    wg_tunnel_result tr = {0};
    int rc = wg_exec_landscape(x, plan, s, tp->probe_size, &f);
    if (rc == 0 && f.dim > stride)
        rc = WG_FAIL(WG_EFORMAT, "training task %zu has %zu parameters, the net %zu", t->deps[0],
                     stride, f.dim);
    if (rc == 0)
        rc = wg_tunnel_probe(&f, P0, &o, t->dir_first, t->dir_count, &tr);
    if (rc == 0)
        rc = pack(&tr, t->dir_first, r);
    wg_tunnel_result_free(&tr);
    wg_objective_free(&f);
    return rc;
}

static int enabled(const wg_plan *p) { return p->tunnel.enabled; }

static void describe(const wg_plan *p, const wg_task *t, char *buf, size_t cap)
{
    (void)p;
    snprintf(buf, cap, "epoch=%d directions=%d..%d", t->probe_epoch, t->dir_first,
             t->dir_first + t->dir_count - 1);
}

const wg_kind wg_kind_tunnel = {
    .name = "tunnel",
    .summary = "radial tunnel width a*(v) along random directions at a trained optimum",
    .dims = DIMS,
    .ndims = 3,
    .vars = VARS,
    .nvars = NVARS,
    .enabled = enabled,
    .run = run,
    .describe = describe,
};
