/* task_tunnel.c: the tunnel kind.  A tunnel task probes the radial tunnel width
 * (src/tunnel.c, docs/METHODS.md) at one snapshot of one training, along a block of
 * the plan's directions: `split` tasks share a probe's K directions, so the
 * variables indexed by `direction` are filled by several tasks. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "wedge/error.h"
#include "wedge/exec.h"
#include "wedge/kind.h"
#include "wedge/tunnel.h"

/* Task arguments: the block of directions it probes. */
enum { A_FIRST, A_COUNT };

#define MAX_EPOCHS 16
#define MAX_LEVELS 3 /* besides the chance level */
/* Loss evaluations per direction, for the cost model (the bisection's ~30). */
#define EVALS_PER_DIRECTION 30.0

typedef struct tunnel_opts {
    int nepochs;                 /* 0: the final epoch of each training task */
    int epochs[MAX_EPOCHS];
    int directions;              /* K */
    int nlevels;                 /* dL levels */
    double levels[MAX_LEVELS];
    int chance;                  /* also the absolute chance level ln(classes) */
    size_t probe_size;           /* probe set: seeded subset of the training set */
    int split;                   /* tasks per probe, directions spread over them */
    double a_max;                /* give up beyond a_max |P0| */
    double chance_level;         /* planned: ln(classes) of the plan's data, 0 for the toy
                                    model (no classes: no chance level) */
} tunnel_opts;

#define O(field) .off = offsetof(tunnel_opts, field)
static const wg_option OPTIONS[] = {
    {"epochs", WG_OPT_INTS, 1, 100000, .deflt = NULL, O(epochs),
     .count_off = offsetof(tunnel_opts, nepochs), .max = MAX_EPOCHS,
     .doc = "snapshot epochs to probe (the final one if not given)"},
    {"directions", WG_OPT_INT, 1, 4096, .deflt = "32", O(directions),
     .doc = "random directions K per probe"},
    {"levels", WG_OPT_DOUBLES, 0, 1e6, 1, "1.0, 0.5", O(levels),
     .count_off = offsetof(tunnel_opts, nlevels), .max = MAX_LEVELS,
     .doc = "loss rises dL above L(P0) whose first crossing a* is measured"},
    {"chance", WG_OPT_BOOL, .deflt = "yes", O(chance),
     .doc = "also the absolute chance level ln(classes)"},
    {"probe_size", WG_OPT_SIZE, 1, 1e8, .deflt = "10000", O(probe_size),
     .doc = "images of the probe set (a seeded subset of the training split)"},
    {"split", WG_OPT_INT, 1, 4096, .deflt = "1", O(split),
     .doc = "tasks per probe, the directions spread over them"},
    {"a_max", WG_OPT_DOUBLE, 1, 1e9, 1, "1000", O(a_max),
     .doc = "give up beyond a_max |P0| (a* is then NaN: not reached)"},
};
#undef O

static const tunnel_opts *opts_of(const wg_plan *p) { return wg_plan_opts(p, WG_TASK_TUNNEL); }

enum { V_LEVEL, V_LEVEL_ABS, V_NORM, V_LOSS0, V_EVALS, V_PHI, V_ASTAR, V_HOW, V_NPOINTS,
       V_PROF_A, V_PROF_LOSS, NVARS };

/* The levels of a plan's tunnel probes as wg_tunnel_opts.levels (dL > 0, or minus an
 * absolute loss for the chance level); returns their count. */
static int plan_levels(const wg_plan *plan, double *levels)
{
    const tunnel_opts *tp = opts_of(plan);
    if (!tp)
        return 0;
    int n = 0;
    for (int l = 0; l < tp->nlevels; l++, n++)
        if (levels)
            levels[n] = tp->levels[l];
    if (tp->chance && tp->chance_level > 0) {
        if (levels) /* an absolute level: minus the loss */
            levels[n] = -tp->chance_level;
        n++;
    }
    return n;
}

static size_t n_direction(const wg_plan *p) { return (size_t)opts_of(p)->directions; }
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
    double lev[WG_TUNNEL_MAX_LEVELS];
    int n = plan_levels(p, lev);
    for (int l = 0; l < n; l++)
        v[l] = fabs(lev[l]);
}

static void level_abs_value(const wg_plan *p, const wg_task *t, double *v)
{
    (void)t;
    double lev[WG_TUNNEL_MAX_LEVELS];
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
                   WG_FILL_MINUS1, .per_task = 1},
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
    double phi[WG_TUNNEL_MAX_LEVELS], evals = (double)tr->evals;
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
    const tunnel_opts *tp = opts_of(plan);
    size_t stride = 0;
    const float *P0;
    int prc = wg_train_point(deps ? deps[0] : NULL, t, 0, &P0, &stride);
    if (prc)
        return prc;
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
        rc = wg_tunnel_probe(&f, P0, &o, t->arg[A_FIRST], t->arg[A_COUNT], &tr);
    if (rc == 0)
        rc = pack(&tr, t->arg[A_FIRST], r);
    wg_tunnel_result_free(&tr);
    wg_objective_free(&f);
    return rc;
}

static int check(wg_planner *pl, void *opts)
{
    const tunnel_opts *o = opts;
    if (o->split > o->directions)
        return wg_planner_fail(pl, WG_TASK_TUNNEL, NULL, WG_EARG,
                               "probes.tunnel: split = %d is more than the %d directions",
                               o->split, o->directions);
    return 0;
}

static int snapshot_epochs(const void *opts, int *epochs)
{
    const tunnel_opts *o = opts;
    memcpy(epochs, o->epochs, (size_t)o->nepochs * sizeof *epochs);
    return o->nepochs;
}

/* Per trained task, per probed epoch, `split` tasks that share its directions. */
static int plan(wg_planner *pl, const void *opts)
{
    const tunnel_opts *o = opts;
    wg_plan *p = wg_planner_plan(pl);
    const size_t ne = (size_t)(o->nepochs ? o->nepochs : 1), per = ne * (size_t)o->split;
    if (p->ntrain > WG_MAX_TASKS / per)
        return wg_planner_fail(pl, WG_TASK_TUNNEL, NULL, WG_EARG,
                               "probes.tunnel: more than 10^6 tasks in all");
    const size_t ntrain = p->ntrain;
    /* the chance level ln(classes) means nothing for the toy model, which has no
     * classes; every task of a plan has the same data kind's classes */
    tunnel_opts *w = p->opts[WG_TASK_TUNNEL];
    w->chance_level = ntrain && !wg_setting_is_toy(&p->tasks[0].set)
                          ? log((double)p->tasks[0].set.net.classes)
                          : 0.0;
    for (size_t src = 0; src < ntrain; src++)
        for (size_t e = 0; e < ne; e++)
            for (int k = 0; k < o->split; k++) {
                wg_task *t = wg_planner_add(pl, WG_TASK_TUNNEL, src);
                if (!t)
                    return WG_ENOMEM;
                t->ndeps = 1;
                t->deps[0] = src;
                t->probe_epoch = o->nepochs ? o->epochs[e] : t->set.train.epochs;
                t->probe_final = t->probe_epoch == t->set.train.epochs;
                t->arg[A_FIRST] = (int)((long)o->directions * k / o->split);
                t->arg[A_COUNT] = (int)((long)o->directions * (k + 1) / o->split) -
                                  t->arg[A_FIRST];
                t->cost = EVALS_PER_DIRECTION * t->arg[A_COUNT] * (double)o->probe_size *
                          wg_setting_flops(&t->set);
                int rc = wg_planner_added(pl, t->id);
                if (rc)
                    return rc;
            }
    return 0;
}

static void describe(const wg_plan *p, const wg_task *t, char *buf, size_t cap)
{
    (void)p;
    snprintf(buf, cap, "epoch=%d directions=%d..%d", t->probe_epoch, t->arg[A_FIRST],
             t->arg[A_FIRST] + t->arg[A_COUNT] - 1);
}

const wg_kind wg_kind_tunnel = {
    .name = "tunnel",
    .summary = "radial tunnel width a*(v) along random directions at a trained optimum",
    .section = "probes.tunnel",
    .options = OPTIONS,
    .noptions = sizeof OPTIONS / sizeof *OPTIONS,
    .opts_size = sizeof(tunnel_opts),
    .check = check,
    .snapshot_epochs = snapshot_epochs,
    .plan_order = 10,
    .plan = plan,
    .args = {"first direction", "directions"},
    .dims = DIMS,
    .ndims = sizeof DIMS / sizeof *DIMS,
    .vars = VARS,
    .nvars = NVARS,
    .run = run,
    .describe = describe,
};
