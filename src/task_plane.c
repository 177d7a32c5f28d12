/* task_plane.c: the plane kind.  A plane task evaluates a block of rows of the loss
 * grid over the plane through three optima that differ only in their replicate seed
 * (src/plane.c; Figure 2); `split` tasks share one plane's rows. */
#include <stdio.h>
#include <string.h>

#include "wedge/error.h"
#include "wedge/exec.h"
#include "wedge/kind.h"
#include "wedge/plane.h"

enum { V_GX, V_GY, V_VX, V_VY, V_LOSS, V_SOURCES, NVARS };

static size_t n_grid(const wg_plan *p) { return (size_t)p->plane.grid; }
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
    const wg_plane_plan *pp = &plan->plane;
    const float *O[3];
    size_t stride[3];
    for (int j = 0; j < 3; j++)
        if (!(O[j] = wg_train_snapshot(deps ? deps[j] : NULL, t->probe_epoch, &stride[j])))
            return WG_FAIL(WG_EARG, "training task %zu has no parameters of epoch %d",
                           t->deps[j], t->probe_epoch);
    wg_objective f = {0};
    wg_plane_result pr = {0};
    int rc = wg_exec_landscape(x, plan, &t->set, pp->probe_size, &f);
    for (int j = 0; rc == 0 && j < 3; j++)
        if (stride[j] < f.dim)
            rc = WG_FAIL(WG_EFORMAT, "the three optima have different parameter counts");
    if (rc == 0)
        rc = wg_plane_probe(&f, O, pp->grid, pp->margin, t->dir_first, t->dir_count, x->stop,
                            x->stop_user, &pr);
    const size_t G = (size_t)pp->grid, three = 3, st[2] = {(size_t)t->dir_first, 0},
                 cl[2] = {(size_t)t->dir_count, G};
    if (!rc) rc = wg_result_set(r, V_GX, WG_T_DOUBLE, 1, NULL, &G, pr.gx, WG_T_DOUBLE);
    if (!rc) rc = wg_result_set(r, V_GY, WG_T_DOUBLE, 1, NULL, &G, pr.gy, WG_T_DOUBLE);
    if (!rc) rc = wg_result_set(r, V_VX, WG_T_DOUBLE, 1, NULL, &three, pr.vx, WG_T_DOUBLE);
    if (!rc) rc = wg_result_set(r, V_VY, WG_T_DOUBLE, 1, NULL, &three, pr.vy, WG_T_DOUBLE);
    if (!rc && t->dir_count > 0)
        rc = wg_result_set(r, V_LOSS, WG_T_DOUBLE, 2, st, cl, pr.loss, WG_T_DOUBLE);
    wg_plane_result_free(&pr);
    wg_objective_free(&f);
    return rc;
}

static int enabled(const wg_plan *p) { return p->plane.enabled; }

static void describe(const wg_plan *p, const wg_task *t, char *buf, size_t cap)
{
    (void)p;
    snprintf(buf, cap, "epoch=%d rows=%d..%d", t->probe_epoch, t->dir_first,
             t->dir_first + t->dir_count - 1);
}

const wg_kind wg_kind_plane = {
    .name = "plane",
    .summary = "the loss on a grid over the plane through three optima (Figure 2)",
    .dims = DIMS,
    .ndims = 3,
    .vars = VARS,
    .nvars = NVARS,
    .enabled = enabled,
    .run = run,
    .describe = describe,
};
