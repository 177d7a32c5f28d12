/* task_slice.c: the slice kind.  A slice task evaluates part of a 1-D or 2-D loss
 * slice through one snapshot of one training, along random directions normalised
 * filter by filter against it (src/slice.c; Li et al. 2018): the points
 * theta + a d1 (1-D) or the grid rows theta + a d1 + b d2 (2-D), a and b in
 * [-range, range].  `split` tasks share one slice's points (1-D) or rows (2-D).
 * The directions are keyed by the training's seed, the probed epoch and their index
 * (d1 = 0, d2 = 1), so a 1-D and a 2-D slice of the same snapshot share d1, and a
 * split slice evaluates exactly the points an unsplit one would. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wedge/error.h"
#include "wedge/exec.h"
#include "wedge/kind.h"
#include "wedge/slice.h"

/* Task arguments: which slice, and the block of its points (1-D) or rows (2-D). */
enum { A_DIMS, A_FIRST, A_COUNT };

#define MAX_EPOCHS 16

typedef struct slice_opts {
    int ndims;                   /* which slices: 1-D, 2-D or both */
    int dims[2];
    int nepochs;                 /* 0: the final epoch */
    int epochs[MAX_EPOCHS];
    int grid1, grid2;            /* points of the 1-D slice; per axis of the 2-D one */
    double range;                /* a, b in [-range, range] */
    size_t probe_size;
    int split;                   /* tasks per slice */
    int norm;                    /* wg_slice_norm */
    int bias;                    /* wg_slice_bias */
    int test;                    /* also the test split */
    int include_l2;              /* the training's L2 term is part of the landscape */
} slice_opts;

static const char *const NORMS[] = {"filter", "layer", "none"};   /* = wg_slice_norm */
static const char *const BIASES[] = {"zero", "filter", "copy"};   /* = wg_slice_bias */

#define O(field) .off = offsetof(slice_opts, field)
static const wg_option OPTIONS[] = {
    {"dims", WG_OPT_INTS, 1, 2, .deflt = "1", O(dims), .count_off = offsetof(slice_opts, ndims),
     .max = 2, .doc = "which slices: [1] along d1, [2] over the plane of d1 and d2, or [1, 2]"},
    {"epochs", WG_OPT_INTS, 1, 100000, O(epochs), .count_off = offsetof(slice_opts, nepochs),
     .max = MAX_EPOCHS, .doc = "snapshot epochs to probe (the final one if not given)"},
    {"grid_1d", WG_OPT_INT, 2, 100001, .deflt = "51", O(grid1),
     .doc = "points of the 1-D slice"},
    {"grid_2d", WG_OPT_INT, 2, 1001, .deflt = "21", O(grid2),
     .doc = "points per axis of the 2-D slice (G x G)"},
    {"range", WG_OPT_DOUBLE, 0, 1e6, 1, "1.0", O(range),
     .doc = "a and b run over [-range, range] (1: one filter norm either side)"},
    {"probe_size", WG_OPT_SIZE, 1, 1e8, .deflt = "10000", O(probe_size),
     .doc = "images of the probe set (a seeded subset of the training split)"},
    {"split", WG_OPT_INT, 1, 100001, .deflt = "1", O(split),
     .doc = "tasks per slice, its points (1-D) or rows (2-D) spread over them"},
    {"normalisation", WG_OPT_ENUM, .deflt = "filter", O(norm), .choices = NORMS, .nchoices = 3,
     .doc = "filter: each filter of d as long as theta's; layer: each weight tensor; none: "
            "N(0, I) as drawn (the only one for the toy model)"},
    {"bias", WG_OPT_ENUM, .deflt = "zero", O(bias), .choices = BIASES, .nchoices = 3,
     .doc = "biases' part of d: zero; filter: rescaled to theta's bias, one filter per "
            "layer; copy: theta's bias itself (loss-landscape without ignore biasbn)"},
    {"test", WG_OPT_BOOL, .deflt = "no", O(test),
     .doc = "also the loss and accuracy on the test split at every point"},
    {"include_l2", WG_OPT_BOOL, .deflt = "no", O(include_l2),
     .doc = "the landscape includes the training's L2 term l2 |weights|^2"},
};
#undef O

static const slice_opts *opts_of(const wg_plan *p) { return wg_plan_opts(p, WG_TASK_SLICE); }

static int wants(const slice_opts *o, int d)
{
    for (int i = 0; o && i < o->ndims; i++)
        if (o->dims[i] == d)
            return 1;
    return 0;
}
static int has1(const wg_plan *p) { return wants(opts_of(p), 1); }
static int has2(const wg_plan *p) { return wants(opts_of(p), 2); }
static int has_test(const wg_plan *p) { return opts_of(p) && opts_of(p)->test; }
static int has_test1(const wg_plan *p) { return has_test(p) && has1(p); }
static int has_test2(const wg_plan *p) { return has_test(p) && has2(p); }

/* A slice that was not asked for keeps its dimensions at 1 (netCDF takes 0 for
 * unlimited). */
static size_t n_x1(const wg_plan *p) { return has1(p) ? (size_t)opts_of(p)->grid1 : 1; }
static size_t n_x2(const wg_plan *p) { return has2(p) ? (size_t)opts_of(p)->grid2 : 1; }

static const wg_dim DIMS[] = {{"slice1_x", n_x1}, {"slice2_x", n_x2}, {"slice2_y", n_x2}};

static void x1_value(const wg_plan *p, const wg_task *t, double *v)
{
    (void)t;
    wg_slice_grid(v, opts_of(p)->grid1, opts_of(p)->range);
}

static void x2_value(const wg_plan *p, const wg_task *t, double *v)
{
    (void)t;
    wg_slice_grid(v, opts_of(p)->grid2, opts_of(p)->range);
}

static void dims_value(const wg_plan *p, const wg_task *t, double *v)
{
    (void)p;
    v[0] = t->kind == WG_TASK_SLICE ? t->arg[A_DIMS] : -1;
}

enum { V_X1, V_X2, V_Y2, V_DIMS, V_THETA, V_D1, V_D2, V_COS, V_LOSS0, V_ACC0, V_LOSS1, V_ACC1,
       V_LOSS2, V_ACC2, V_TLOSS0, V_TACC0, V_TLOSS1, V_TACC1, V_TLOSS2, V_TACC2, NVARS };

#define ROW(name, long_name, units) \
    {name, WG_T_DOUBLE, "", long_name, units, .per_task = 1}
static const wg_var VARS[NVARS] = {
    [V_X1] = {"slice1_x", WG_T_DOUBLE, "slice1_x", "1-D slice: coefficient a of d1", "1",
              .plan_value = x1_value, .when = has1},
    [V_X2] = {"slice2_x", WG_T_DOUBLE, "slice2_x", "2-D slice: coefficient a of d1", "1",
              .plan_value = x2_value, .when = has2},
    [V_Y2] = {"slice2_y", WG_T_DOUBLE, "slice2_y", "2-D slice: coefficient b of d2", "1",
              .plan_value = x2_value, .when = has2},
    [V_DIMS] = {"slice_dims", WG_T_INT, "", "which slice a slice task computes: 1 or 2 (-1: "
                "not a slice task)", "1", WG_FILL_MINUS1, .per_task = 1, .coordinate = 1,
                .plan_value = dims_value},
    [V_THETA] = ROW("slice_theta_norm", "|theta| at the probed snapshot", "1"),
    [V_D1] = ROW("slice_d1_norm", "|d1| after normalisation", "1"),
    [V_D2] = ROW("slice_d2_norm", "|d2| after normalisation (2-D slices)", "1"),
    [V_COS] = ROW("slice_cos", "cosine between d1 and d2 (2-D slices)", "1"),
    [V_LOSS0] = ROW("slice_loss0", "probe-set loss at theta (the slice's centre)", "nat"),
    [V_ACC0] = ROW("slice_accuracy0", "probe-set accuracy at theta", "1"),
    [V_LOSS1] = {"slice1_loss", WG_T_DOUBLE, "slice1_x",
                 "probe-set loss at theta + a d1 (this task's points)", "nat", .per_task = 1,
                 .when = has1},
    [V_ACC1] = {"slice1_accuracy", WG_T_DOUBLE, "slice1_x", "probe-set accuracy at theta + a d1",
                "1", .per_task = 1, .when = has1},
    [V_LOSS2] = {"slice2_loss", WG_T_DOUBLE, "slice2_y slice2_x",
                 "probe-set loss at theta + a d1 + b d2 (this task's rows)", "nat",
                 .per_task = 1, .when = has2},
    [V_ACC2] = {"slice2_accuracy", WG_T_DOUBLE, "slice2_y slice2_x",
                "probe-set accuracy at theta + a d1 + b d2", "1", .per_task = 1, .when = has2},
    [V_TLOSS0] = {"slice_test_loss0", WG_T_DOUBLE, "", "test loss at theta", "nat",
                  .per_task = 1, .when = has_test},
    [V_TACC0] = {"slice_test_accuracy0", WG_T_DOUBLE, "", "test accuracy at theta", "1",
                 .per_task = 1, .when = has_test},
    [V_TLOSS1] = {"slice1_test_loss", WG_T_DOUBLE, "slice1_x", "test loss at theta + a d1",
                  "nat", .per_task = 1, .when = has_test1},
    [V_TACC1] = {"slice1_test_accuracy", WG_T_DOUBLE, "slice1_x",
                 "test accuracy at theta + a d1", "1", .per_task = 1, .when = has_test1},
    [V_TLOSS2] = {"slice2_test_loss", WG_T_DOUBLE, "slice2_y slice2_x",
                  "test loss at theta + a d1 + b d2", "nat", .per_task = 1, .when = has_test2},
    [V_TACC2] = {"slice2_test_accuracy", WG_T_DOUBLE, "slice2_y slice2_x",
                 "test accuracy at theta + a d1 + b d2", "1", .per_task = 1, .when = has_test2},
};
#undef ROW

static void attrs(const wg_plan *p, wg_att_fn put, void *ctx)
{
    const slice_opts *o = opts_of(p);
    put(ctx, "slice_d1_norm", "normalisation", NORMS[o->norm], 0);
    put(ctx, "slice_d1_norm", "bias", BIASES[o->bias], 0);
    put(ctx, "slice_loss0", "probe_size", NULL, (double)o->probe_size);
    put(ctx, "slice_loss0", "include_l2", o->include_l2 ? "yes" : "no", 0);
}

/* The points (1-D) or rows (2-D) [first, first + count) of task t's slice, and the
 * slice's centre, along directions drawn at P. */
static int run(wg_exec *x, const wg_plan *plan, const wg_task *t, const wg_result *const *deps,
               wg_result *r)
{
    const wg_setting *s = &t->set;
    const slice_opts *o = opts_of(plan);
    const int two = t->arg[A_DIMS] == 2, first = t->arg[A_FIRST], count = t->arg[A_COUNT];
    const int G = two ? o->grid2 : o->grid1;
    size_t stride = 0;
    const float *P;
    int rc = wg_train_point(deps ? deps[0] : NULL, t, 0, &P, &stride);
    if (rc)
        return rc;
    wg_objective f = {0}, ft = {0};
    wg_net layout = {0};
    int have_layout = 0;
    float *d1 = NULL, *d2 = NULL;
    double *grid = NULL, *a = NULL, *b = NULL, *buf = NULL;
    rc = wg_exec_landscape(x, plan, s, o->probe_size, &f);
    if (rc == 0 && o->test)
        rc = wg_exec_test(x, plan, s, &ft);
    if (rc == 0 && o->test && ft.dim != f.dim)
        rc = WG_FAIL(WG_EARG, "probes.slice.test: the model has no test split");
    if (rc == 0 && f.dim > stride)
        rc = WG_FAIL(WG_EFORMAT, "training task %zu has %zu parameters, the net %zu", t->deps[0],
                     stride, f.dim);
    if (rc == 0 && !wg_setting_is_toy(s)) { /* the layout: filters, biases, L2 */
        rc = wg_net_init(&layout, &s->net, 1);
        have_layout = rc == 0;
        if (rc == 0 && layout.nparams != f.dim)
            rc = WG_FAIL(WG_EFORMAT, "the layout has %zu parameters, the objective %zu",
                         layout.nparams, f.dim);
    }
    const size_t D = f.dim, n = (size_t)count * (two ? (size_t)G : 1);
    if (rc == 0) {
        d1 = wg_alloc(D ? D : 1, sizeof *d1, "slice direction");
        d2 = two ? wg_alloc(D ? D : 1, sizeof *d2, "slice direction") : NULL;
        grid = wg_alloc((size_t)G, sizeof *grid, "slice grid");
        a = wg_alloc(n ? n : 1, sizeof *a, "slice points");
        b = wg_alloc(n ? n : 1, sizeof *b, "slice points");
        buf = wg_alloc(n ? n : 1, 4 * sizeof *buf, "slice values");
        if (!d1 || (two && !d2) || !grid || !a || !b || !buf)
            rc = WG_ENOMEM;
    }
    const wg_tensor_info *ti = have_layout ? layout.tensors : NULL;
    const int nt = have_layout ? layout.ntensors : 0;
    const uint64_t seed = s->train.seed, stream = (uint64_t)t->probe_epoch;
    if (rc == 0)
        rc = wg_slice_direction(d1, P, D, ti, nt, o->norm, o->bias, seed, stream, 0);
    if (rc == 0 && two)
        rc = wg_slice_direction(d2, P, D, ti, nt, o->norm, o->bias, seed, stream, 1);
    if (rc == 0) {
        wg_slice_grid(grid, G, o->range);
        for (size_t p = 0; p < n; p++) {
            a[p] = two ? grid[p % (size_t)G] : grid[(size_t)first + p];
            b[p] = two ? grid[(size_t)first + p / (size_t)G] : 0.0;
        }
    }
    const wg_slice_l2 pen = {have_layout ? &layout : NULL, o->include_l2 ? s->train.l2 : 0.0};
    double *loss = buf, *acc = buf + n, *tloss = buf + 2 * n, *tacc = buf + 3 * n;
    double zero = 0.0, c[4];
    /* the centre, then the points, on the probe set and the test split */
    if (rc == 0)
        rc = wg_slice_eval(&f, &pen, P, d1, d2, &zero, &zero, 1, x->stop, x->stop_user, &c[0],
                           &c[1]);
    if (rc == 0 && o->test)
        rc = wg_slice_eval(&ft, &pen, P, d1, d2, &zero, &zero, 1, x->stop, x->stop_user, &c[2],
                           &c[3]);
    if (rc == 0)
        rc = wg_slice_eval(&f, &pen, P, d1, d2, a, b, n, x->stop, x->stop_user, loss, acc);
    if (rc == 0 && o->test)
        rc = wg_slice_eval(&ft, &pen, P, d1, d2, a, b, n, x->stop, x->stop_user, tloss, tacc);
    if (rc == 0) {
        rc = wg_result_put_double(r, V_THETA, wg_slice_length(P, D));
        if (!rc) rc = wg_result_put_double(r, V_D1, wg_slice_length(d1, D));
        if (!rc) rc = wg_result_put_double(r, V_LOSS0, c[0]);
        if (!rc) rc = wg_result_put_double(r, V_ACC0, c[1]);
        if (!rc && o->test) rc = wg_result_put_double(r, V_TLOSS0, c[2]);
        if (!rc && o->test) rc = wg_result_put_double(r, V_TACC0, c[3]);
    }
    if (rc == 0 && two) {
        double n1 = wg_slice_length(d1, D), n2 = wg_slice_length(d2, D), dot = 0.0;
        for (size_t i = 0; i < D; i++)
            dot += (double)d1[i] * d2[i];
        rc = wg_result_put_double(r, V_D2, n2);
        if (!rc) rc = wg_result_put_double(r, V_COS, n1 > 0 && n2 > 0 ? dot / (n1 * n2) : NAN);
    }
    if (rc == 0 && n > 0) {
        const size_t st[2] = {(size_t)first, 0}, cl[2] = {(size_t)count, (size_t)G};
        const size_t st1 = (size_t)first, cl1 = (size_t)count;
        const int vl = two ? V_LOSS2 : V_LOSS1, va = two ? V_ACC2 : V_ACC1;
        const int tl = two ? V_TLOSS2 : V_TLOSS1, ta = two ? V_TACC2 : V_TACC1;
        const int nd = two ? 2 : 1;
        const size_t *sp = two ? st : &st1, *cp = two ? cl : &cl1;
        rc = wg_result_set(r, vl, WG_T_DOUBLE, nd, sp, cp, loss, WG_T_DOUBLE);
        if (!rc) rc = wg_result_set(r, va, WG_T_DOUBLE, nd, sp, cp, acc, WG_T_DOUBLE);
        if (!rc && o->test) rc = wg_result_set(r, tl, WG_T_DOUBLE, nd, sp, cp, tloss, WG_T_DOUBLE);
        if (!rc && o->test) rc = wg_result_set(r, ta, WG_T_DOUBLE, nd, sp, cp, tacc, WG_T_DOUBLE);
    }
    free(d1);
    free(d2);
    free(grid);
    free(a);
    free(b);
    free(buf);
    if (have_layout)
        wg_net_free(&layout);
    wg_objective_free(&f);
    wg_objective_free(&ft);
    return rc;
}

static int check(wg_planner *pl, void *opts)
{
    const slice_opts *o = opts;
    if (o->ndims == 2 && o->dims[0] == o->dims[1])
        return wg_planner_fail(pl, WG_TASK_SLICE, "dims", WG_EARG,
                               "probes.slice.dims: %d is given twice", o->dims[0]);
    if (wants(o, 1) && o->split > o->grid1)
        return wg_planner_fail(pl, WG_TASK_SLICE, "split", WG_EARG,
                               "probes.slice: split = %d is more than the %d points of the 1-D "
                               "slice (grid_1d)", o->split, o->grid1);
    if (wants(o, 2) && o->split > o->grid2)
        return wg_planner_fail(pl, WG_TASK_SLICE, "split", WG_EARG,
                               "probes.slice: split = %d is more than the %d rows of the 2-D "
                               "slice (grid_2d)", o->split, o->grid2);
    return 0;
}

static int snapshot_epochs(const void *opts, int *epochs)
{
    const slice_opts *o = opts;
    memcpy(epochs, o->epochs, (size_t)o->nepochs * sizeof *epochs);
    return o->nepochs;
}

/* Per trained task, per probed epoch, per slice asked for, `split` tasks. */
static int plan(wg_planner *pl, const void *opts)
{
    const slice_opts *o = opts;
    wg_plan *p = wg_planner_plan(pl);
    const size_t ne = (size_t)(o->nepochs ? o->nepochs : 1);
    const size_t per = ne * (size_t)o->ndims * (size_t)o->split;
    if (p->ntrain > WG_MAX_TASKS / per)
        return wg_planner_fail(pl, WG_TASK_SLICE, NULL, WG_EARG,
                               "probes.slice: more than 10^6 tasks in all");
    const size_t ntrain = p->ntrain;
    for (size_t src = 0; src < ntrain; src++) {
        const wg_setting *s = &p->tasks[src].set;
        if (wg_setting_is_toy(s) && o->norm != WG_SLICE_NONE)
            return wg_planner_fail(pl, WG_TASK_SLICE, "normalisation", WG_EARG,
                                   "probes.slice: the toy model has no layers or filters to "
                                   "normalise by (task %zu): write `normalisation: none` for "
                                   "N(0, I) directions", src);
        if (wg_setting_is_toy(s) && o->test)
            return wg_planner_fail(pl, WG_TASK_SLICE, "test", WG_EARG,
                                   "probes.slice.test: the toy model has no test split "
                                   "(task %zu)", src);
        size_t ntr, nte;
        wg_setting d = *s;
        wg_setting_derive(&d, 0, &ntr, &nte);
        double images = (double)o->probe_size +
                        (o->test ? (double)(s->test_size ? s->test_size : nte) : 0.0);
        for (size_t e = 0; e < ne; e++)
            for (int di = 0; di < o->ndims; di++)
                for (int k = 0; k < o->split; k++) {
                    const int two = o->dims[di] == 2, G = two ? o->grid2 : o->grid1;
                    wg_task *t = wg_planner_add(pl, WG_TASK_SLICE, src);
                    if (!t)
                        return WG_ENOMEM;
                    t->ndeps = 1;
                    t->deps[0] = src;
                    t->probe_epoch = o->nepochs ? o->epochs[e] : t->set.train.epochs;
                    t->probe_final = t->probe_epoch == t->set.train.epochs;
                    t->arg[A_DIMS] = o->dims[di];
                    t->arg[A_FIRST] = (int)((long)G * k / o->split);
                    t->arg[A_COUNT] = (int)((long)G * (k + 1) / o->split) - t->arg[A_FIRST];
                    double points = (double)t->arg[A_COUNT] * (two ? G : 1) + 1.0;
                    t->cost = points * images * wg_setting_flops(&t->set);
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
    snprintf(buf, cap, "epoch=%d %dd %s=%d..%d", t->probe_epoch, t->arg[A_DIMS],
             t->arg[A_DIMS] == 2 ? "rows" : "points", t->arg[A_FIRST],
             t->arg[A_FIRST] + t->arg[A_COUNT] - 1);
}

const wg_kind wg_kind_slice = {
    .name = "slice",
    .summary = "1-D and 2-D loss slices along filter-normalised random directions at a "
               "snapshot (Li et al. 2018)",
    .section = "probes.slice",
    .options = OPTIONS,
    .noptions = sizeof OPTIONS / sizeof *OPTIONS,
    .opts_size = sizeof(slice_opts),
    .check = check,
    .snapshot_epochs = snapshot_epochs,
    .plan_order = 70,
    .plan = plan,
    .args = {"slice dimensions (1 or 2)", "first point (1-D) or row (2-D)", "points or rows"},
    .dims = DIMS,
    .ndims = sizeof DIMS / sizeof *DIMS,
    .vars = VARS,
    .nvars = NVARS,
    .attrs = attrs,
    .run = run,
    .describe = describe,
};
