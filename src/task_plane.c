/* task_plane.c: the plane kind.  A plane task evaluates a block of rows of the loss
 * grid over the plane through three optima that differ only in their replicate seed
 * (src/plane.c; Figure 2); `split` tasks share one plane's rows. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wedge/error.h"
#include "wedge/exec.h"
#include "wedge/kind.h"
#include "wedge/plane.h"

/* Task arguments: the block of grid rows it evaluates. */
enum { A_ROW0, A_NROWS };

#define MAX_EPOCHS 16

typedef struct plane_opts {
    int nepochs;                 /* 0: the final epoch */
    int epochs[MAX_EPOCHS];
    int grid;                    /* G x G points */
    double margin;               /* the grid extends margin x the optima's span */
    size_t probe_size;
    int split;                   /* tasks per plane, rows spread over them */
} plane_opts;

#define O(field) .off = offsetof(plane_opts, field)
static const wg_option OPTIONS[] = {
    {"epochs", WG_OPT_INTS, 1, 100000, O(epochs), .count_off = offsetof(plane_opts, nepochs),
     .max = MAX_EPOCHS, .doc = "snapshot epochs to probe (the final one if not given)"},
    {"grid", WG_OPT_INT, 2, 1001, .deflt = "21", O(grid), .doc = "G x G grid points"},
    {"margin", WG_OPT_DOUBLE, 0, 100, .deflt = "0.5", O(margin),
     .doc = "the grid extends this fraction of the optima's span beyond them"},
    {"probe_size", WG_OPT_SIZE, 1, 1e8, .deflt = "10000", O(probe_size),
     .doc = "images of the probe set"},
    {"split", WG_OPT_INT, 1, 1001, .deflt = "1", O(split),
     .doc = "tasks per plane, the rows spread over them"},
};
#undef O

static const plane_opts *opts_of(const wg_plan *p) { return wg_plan_opts(p, WG_TASK_PLANE); }

enum { V_GX, V_GY, V_VX, V_VY, V_LOSS, V_SOURCES, NVARS };

static size_t n_grid(const wg_plan *p) { return (size_t)opts_of(p)->grid; }
static size_t n_vertex(const wg_plan *p)
{
    (void)p;
    return 3;
}

static const wg_dim DIMS[] = {{"plane_x", n_grid}, {"plane_y", n_grid}, {"vertex", n_vertex}};

static void sources_value(const wg_plan *p, const wg_task *t, double *v)
{
    (void)p;
    if (t->kind == WG_TASK_PLANE)
        for (int j = 0; j < 3; j++)
            v[j] = (double)t->deps[j];
}

static const wg_var VARS[NVARS] = {
    [V_GX] = {"plane_gx", WG_T_DOUBLE, "plane_x",
              "grid coordinate along e1 = (O2 - O1)/|O2 - O1|, from O1", "1", .per_task = 1},
    [V_GY] = {"plane_gy", WG_T_DOUBLE, "plane_y",
              "grid coordinate along e2 (O3 - O1 orthogonalised to e1), from O1", "1",
              .per_task = 1},
    [V_VX] = {"plane_vertex_x", WG_T_DOUBLE, "vertex", "the three optima's coordinates along e1",
              "1", .per_task = 1},
    [V_VY] = {"plane_vertex_y", WG_T_DOUBLE, "vertex", "the three optima's coordinates along e2",
              "1", .per_task = 1},
    [V_LOSS] = {"plane_loss", WG_T_DOUBLE, "plane_y plane_x",
                "probe-set loss at O1 + x e1 + y e2 (this task's rows)", "nat", .per_task = 1},
    [V_SOURCES] = {"plane_sources", WG_T_INT, "vertex", "the three training tasks (O1, O2, O3)",
                   "1", WG_FILL_MINUS1, .per_task = 1, .plan_value = sources_value},
};

static int run(wg_exec *x, const wg_plan *plan, const wg_task *t, const wg_result *const *deps,
               wg_result *r)
{
    const plane_opts *pp = opts_of(plan);
    const float *O[3];
    size_t stride[3];
    for (int j = 0; j < 3; j++) {
        int prc = wg_train_point(deps ? deps[j] : NULL, t, (size_t)j, &O[j], &stride[j]);
        if (prc)
            return prc;
    }
    wg_objective f = {0};
    wg_plane_result pr = {0};
    int rc = wg_exec_landscape(x, plan, &t->set, pp->probe_size, &f);
    for (int j = 0; rc == 0 && j < 3; j++)
        if (stride[j] < f.dim)
            rc = WG_FAIL(WG_EFORMAT, "the three optima have different parameter counts");
    if (rc == 0)
        rc = wg_plane_probe(&f, O, pp->grid, pp->margin, t->arg[A_ROW0], t->arg[A_NROWS],
                            x->stop, x->stop_user, &pr);
    const size_t G = (size_t)pp->grid, three = 3, st[2] = {(size_t)t->arg[A_ROW0], 0},
                 cl[2] = {(size_t)t->arg[A_NROWS], G};
    if (!rc) rc = wg_result_set(r, V_GX, WG_T_DOUBLE, 1, NULL, &G, pr.gx, WG_T_DOUBLE);
    if (!rc) rc = wg_result_set(r, V_GY, WG_T_DOUBLE, 1, NULL, &G, pr.gy, WG_T_DOUBLE);
    if (!rc) rc = wg_result_set(r, V_VX, WG_T_DOUBLE, 1, NULL, &three, pr.vx, WG_T_DOUBLE);
    if (!rc) rc = wg_result_set(r, V_VY, WG_T_DOUBLE, 1, NULL, &three, pr.vy, WG_T_DOUBLE);
    if (!rc && t->arg[A_NROWS] > 0)
        rc = wg_result_set(r, V_LOSS, WG_T_DOUBLE, 2, st, cl, pr.loss, WG_T_DOUBLE);
    wg_plane_result_free(&pr);
    wg_objective_free(&f);
    return rc;
}

static int check(wg_planner *pl, void *opts)
{
    const plane_opts *o = opts;
    if (o->split > o->grid)
        return wg_planner_fail(pl, WG_TASK_PLANE, NULL, WG_EARG,
                               "probes.plane: split = %d is more than the %d grid rows",
                               o->split, o->grid);
    return 0;
}

static int snapshot_epochs(const void *opts, int *epochs)
{
    const plane_opts *o = opts;
    memcpy(epochs, o->epochs, (size_t)o->nepochs * sizeof *epochs);
    return o->nepochs;
}

/* For every group of trainings that differ only in the replicate, the plane through
 * its first three members, per epoch, in `split` row blocks. */
static int plan(wg_planner *pl, const void *opts)
{
    const plane_opts *o = opts;
    wg_plan *p = wg_planner_plan(pl);
    size_t *ids, *count, ngroups, n;
    int rc = wg_planner_groups(pl, &ids, &count, &ngroups, &n);
    if (rc)
        return rc;
    size_t ne = (size_t)(o->nepochs ? o->nepochs : 1), groups3 = 0;
    for (size_t g = 0; g < ngroups; g++)
        groups3 += count[g] >= 3;
    if (groups3 == 0)
        rc = wg_planner_fail(pl, WG_TASK_PLANE, NULL, WG_EARG,
                             "probes.plane needs three trainings that differ only in seed: "
                             "sweep `seed` over at least 3 values");
    for (size_t g = 0; rc == 0 && g < ngroups; g++) {
        if (count[g] < 3)
            continue;
        const size_t *m = ids + g * n;
        for (size_t e = 0; rc == 0 && e < ne; e++)
            for (int k = 0; k < o->split; k++) {
                wg_task *t = wg_planner_add(pl, WG_TASK_PLANE, m[0]);
                if (!t) {
                    rc = WG_ENOMEM;
                    break;
                }
                t->ndeps = 3;
                for (int j = 0; j < 3; j++)
                    t->deps[j] = m[j];
                int ep = o->nepochs ? o->epochs[e] : t->set.train.epochs;
                for (int j = 0; j < 3; j++) /* the three must share the probed epoch */
                    if (p->tasks[m[j]].set.train.epochs < ep)
                        rc = wg_planner_fail(pl, WG_TASK_PLANE, NULL, WG_EARG,
                                             "probes.plane: epoch %d is beyond the epochs of "
                                             "task %zu", ep, m[j]);
                t->probe_epoch = ep;
                t->probe_final = ep == t->set.train.epochs;
                t->arg[A_ROW0] = (int)((long)o->grid * k / o->split);
                t->arg[A_NROWS] = (int)((long)o->grid * (k + 1) / o->split) - t->arg[A_ROW0];
                t->cost = (double)t->arg[A_NROWS] * o->grid * (double)o->probe_size *
                          wg_setting_flops(&t->set);
                int arc = wg_planner_added(pl, t->id);
                if (rc == 0)
                    rc = arc;
            }
    }
    free(ids);
    free(count);
    return rc;
}

static void describe(const wg_plan *p, const wg_task *t, char *buf, size_t cap)
{
    (void)p;
    snprintf(buf, cap, "epoch=%d rows=%d..%d", t->probe_epoch, t->arg[A_ROW0],
             t->arg[A_ROW0] + t->arg[A_NROWS] - 1);
}

const wg_kind wg_kind_plane = {
    .name = "plane",
    .summary = "the loss on a grid over the plane through three optima (Figure 2)",
    .section = "probes.plane",
    .options = OPTIONS,
    .noptions = sizeof OPTIONS / sizeof *OPTIONS,
    .opts_size = sizeof(plane_opts),
    .check = check,
    .snapshot_epochs = snapshot_epochs,
    .plan_order = 20,
    .plan = plan,
    .args = {"first grid row", "grid rows"},
    .dims = DIMS,
    .ndims = sizeof DIMS / sizeof *DIMS,
    .vars = VARS,
    .nvars = NVARS,
    .run = run,
    .describe = describe,
};
