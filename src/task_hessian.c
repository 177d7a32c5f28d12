/* task_hessian.c: the hessian kind.  A Hessian task counts the short directions
 * (src/hessian.c; Figure 4) at a trained optimum or at a connector's point by one of
 * three methods (converged Lanczos, the full spectrum, stochastic Lanczos
 * quadrature), and keeps the spectrum (Ritz values, eigenvalues, or SLQ's nodes and
 * weights) so that counts can be re-thresholded without rerunning. */
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
/* Points of a 1-connector that `points` can name (connectors.points is at most this). */
#define MAX_POINTS 100

typedef struct hessian_opts {
    int at;                      /* AT_*_BIT */
    int points[MAX_POINTS];      /* 1-connector points counted, X_k by k; none: all */
    int npoints;
    int method;                  /* wg_hessian_method */
    double threshold;            /* lambda_thr, one number for the whole study */
    int budget;                  /* HVPs (Lanczos) */
    int nprobe, nsteps;          /* SLQ */
    int lockstep;                /* SLQ: probes side by side, block HVPs */
    int exact;                   /* exact HVPs (R-operator) or central differences */
    int include_l2;              /* the training's L2 term is part of the landscape */
    int memory_mb;               /* Lanczos basis cap (thick restart beyond it); SLQ in
                                    lockstep: its bases must fit */
    size_t probe_size;
} hessian_opts;

static const char *const PLACES[] = {"optima", "connectors"};
static const char *const METHODS[] = {"lanczos", "full", "slq"}; /* = wg_hessian_method */
static const char *const PRODUCTS[] = {"difference", "exact"};

#define O(field) .off = offsetof(hessian_opts, field)
static const wg_option OPTIONS[] = {
    {"at", WG_OPT_SET, .deflt = "optima", O(at), .choices = PLACES, .nchoices = 2,
     .plan_only = 1, .doc = "where: trained optima and/or every connector point"},
    {"points", WG_OPT_INTS, 1, MAX_POINTS, O(points), .count_off = offsetof(hessian_opts, npoints),
     .max = MAX_POINTS, .plan_only = 1,
     .doc = "at: connectors: only these points X_k of each 1-connector (k = 1..K; empty: "
            "all K); m-connector centres are always counted"},
    {"method", WG_OPT_ENUM, .deflt = "lanczos", O(method), .choices = METHODS, .nchoices = 3,
     .doc = "lanczos: converged counts (lower bounds if the budget runs out); full: every "
            "eigenvalue (LAPACK; D^2 doubles of memory); slq: density and counts with "
            "confidence intervals at a fixed budget"},
    {"threshold", WG_OPT_DOUBLE, 0, 1e12, 1, "1.0", O(threshold),
     .doc = "lambda_thr: short directions are eigenvalues above it"},
    {"budget", WG_OPT_INT, 1, 100000, .deflt = "10000", O(budget),
     .doc = "lanczos: Hessian-vector products at most"},
    {"nprobe", WG_OPT_INT, 2, 10000, .deflt = "10", O(nprobe),
     .doc = "slq: random probe vectors"},
    {"nsteps", WG_OPT_INT, 1, 100000, .deflt = "100", O(nsteps),
     .doc = "slq: Lanczos steps per probe vector"},
    {"lockstep", WG_OPT_BOOL, .deflt = "no", O(lockstep),
     .doc = "slq: the probes advance together, one block Hessian-vector product per step "
            "(faster; nprobe bases in memory_mb; counts differ in their last digits from "
            "a run without it)"},
    {"hvp", WG_OPT_ENUM, .deflt = "exact", O(exact), .choices = PRODUCTS, .nchoices = 2,
     .doc = "Hessian-vector products: exact (R-operator) or central differences of gradients"},
    {"include_l2", WG_OPT_BOOL, .deflt = "no", O(include_l2),
     .doc = "the landscape includes the training's L2 term"},
    {"memory_mb", WG_OPT_INT, 16, 1e7, .deflt = "2048", O(memory_mb),
     .doc = "lanczos: memory of the basis, beyond it thick restarts; slq with lockstep: "
            "of the nprobe bases, beyond it an error"},
    {"probe_size", WG_OPT_SIZE, 1, 1e8, .deflt = "10000", O(probe_size),
     .doc = "images of the probe set"},
};
#undef O

static const hessian_opts *opts_of(const wg_plan *p) { return wg_plan_opts(p, WG_TASK_HESSIAN); }

enum { V_RITZ, V_RESID, V_N, V_HVPS, V_CONV, V_HALF, V_COUNT, V_DOUBLE, V_AT, V_POINT,
       V_LOWER, V_LMIN, V_NEG, V_RESTARTS, V_ASYM,
       V_TRACE, V_TRACE_SE, V_LEVEL, V_EST_MEAN, V_EST_SE, V_EST_LO, V_EST_HI, V_NODES,
       V_WEIGHTS, V_EST_BIAS, NVARS };

static int is_slq(const wg_plan *p) { return opts_of(p) && opts_of(p)->method == WG_HESSIAN_SLQ; }

/* Values kept per task: every eigenvalue (full), the Lanczos basis at most. */
static size_t n_ritz(const wg_plan *p)
{
    const hessian_opts *o = opts_of(p);
    if (!o || o->method == WG_HESSIAN_SLQ)
        return 1;
    size_t n = (size_t)o->budget;
    if (o->method == WG_HESSIAN_FULL)
        for (size_t i = n = 0; i < p->ntrain; i++) {
            size_t D = wg_setting_nparams(&p->tasks[i].set);
            n = D > n ? D : n;
        }
    return n ? n : 1;
}

static size_t n_probe(const wg_plan *p) { return is_slq(p) ? (size_t)opts_of(p)->nprobe : 1; }
static size_t n_step(const wg_plan *p) { return is_slq(p) ? (size_t)opts_of(p)->nsteps : 1; }
static size_t n_counted(const wg_plan *p)
{
    (void)p;
    return 4;
}

static const wg_dim DIMS[] = {{"ritz", n_ritz},
                              {"slq_probe", n_probe},
                              {"slq_step", n_step},
                              {"count_level", n_counted}};

/* The thresholds of the four counts, in units of lambda_thr (-1: below -lambda_thr). */
static void level_value(const wg_plan *p, const wg_task *t, double *v)
{
    (void)p, (void)t;
    v[0] = 0.5, v[1] = 1.0, v[2] = 2.0, v[3] = -1.0;
}

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
#define SLQ(name, dims, long_name) \
    {name, WG_T_DOUBLE, dims, long_name, "1", .per_task = 1, .when = is_slq}
static const wg_var VARS[NVARS] = {
    [V_RITZ] = {"hessian_ritz", WG_T_DOUBLE, "ritz",
                "Ritz values of the probe-set Hessian (method full: all its eigenvalues), "
                "descending", "nat", .per_task = 1},
    [V_RESID] = {"hessian_residual", WG_T_DOUBLE, "ritz", "residual bound of each Ritz value",
                 "nat", .per_task = 1},
    [V_N] = COUNT("hessian_n", "Ritz values stored"),
    [V_HVPS] = COUNT("hessian_hvps", "Hessian-vector products spent"),
    [V_CONV] = {"hessian_converged", WG_T_BYTE, "",
                "1 if the counts converged (full: always), 0 if the budget ran out first (slq: "
                "an estimate)", NULL, WG_FILL_MINUS1, .per_task = 1},
    [V_HALF] = COUNT("n_short_half", "eigenvalues above 0.5 x threshold"),
    [V_COUNT] = COUNT("n_short", "number of short directions: eigenvalues above the threshold"),
    [V_DOUBLE] = COUNT("n_short_double", "eigenvalues above 2 x threshold"),
    [V_AT] = {"hessian_at", WG_T_INT, "", "where: 0 a trained optimum, 1 a connector point", "1",
              WG_FILL_MINUS1, "optimum connector", .per_task = 1, .plan_value = at_value},
    [V_POINT] = {"hessian_point", WG_T_INT, "",
                 "connector point index (1-connector: X_{k+1}; m-connector: 0 = centre)", "1",
                 WG_FILL_MINUS1, .per_task = 1, .plan_value = point_value},
    [V_LOWER] = {"hessian_lower_bound", WG_T_BYTE, "",
                 "1 if the counts are lower bounds (Lanczos stopped by its budget)", NULL,
                 WG_FILL_MINUS1, .per_task = 1},
    [V_LMIN] = {"hessian_lambda_min", WG_T_DOUBLE, "",
                "most negative eigenvalue found (Lanczos: an estimate; full: exact)", "1",
                .per_task = 1},
    [V_NEG] = COUNT("n_negative", "eigenvalues below -threshold (Lanczos: a lower bound): "
                                  "nonzero means the point is no minimum at this threshold"),
    [V_RESTARTS] = COUNT("hessian_restarts", "thick restarts of Lanczos"),
    [V_ASYM] = {"hessian_asymmetry", WG_T_DOUBLE, "",
                "full: |H - H^T| / |H| of the assembled Hessian before symmetrisation", "1",
                .per_task = 1},
    [V_TRACE] = SLQ("hessian_trace", "", "slq: Hutchinson estimate of the trace of H"),
    [V_TRACE_SE] = SLQ("hessian_trace_se", "", "slq: standard error of the trace"),
    [V_LEVEL] = {"count_level", WG_T_DOUBLE, "count_level",
                 "threshold of a count in units of lambda_thr (-1: below -lambda_thr)", "1",
                 .when = is_slq, .plan_value = level_value},
    [V_EST_MEAN] = SLQ("slq_count", "count_level", "slq: estimated count (mean over probes)"),
    [V_EST_SE] = SLQ("slq_count_se", "count_level", "slq: standard error of the count"),
    [V_EST_LO] = SLQ("slq_count_lo", "count_level",
                     "slq: lower end of the count's confidence interval"),
    [V_EST_HI] = SLQ("slq_count_hi", "count_level",
                     "slq: upper end of the count's confidence interval"),
    [V_NODES] = SLQ("slq_nodes", "slq_probe slq_step",
                    "slq: Ritz values of each probe's tridiagonal, ascending"),
    [V_WEIGHTS] = SLQ("slq_weights", "slq_probe slq_step",
                      "slq: quadrature weights of the nodes (each probe's sum to 1)"),
    [V_EST_BIAS] = SLQ("slq_count_bias", "count_level",
                       "slq: bound on the quadrature's error of the count (D x the mean over "
                       "probes of the larger weight of the two nodes around the threshold); "
                       "[lo - bias, hi + bias] covers probes and quadrature"),
};
#undef COUNT
#undef SLQ

static void attrs(const wg_plan *p, wg_att_fn put, void *ctx)
{
    const hessian_opts *o = opts_of(p);
    put(ctx, "n_short", "threshold", NULL, o->threshold);
    put(ctx, "n_short", "method", METHODS[o->method], 0);
    put(ctx, "n_short", "hvp", PRODUCTS[o->exact], 0);
    if (o->method == WG_HESSIAN_SLQ)
        put(ctx, "slq_count", "confidence_level", NULL, 0.95);
    wg_hessian_opts d;
    wg_hessian_opts_default(&d);
    put(ctx, "hessian_residual", "tol", NULL, d.tol);
    put(ctx, "hessian_residual", "conv_frac", NULL, d.conv_frac);
}

/* The result's fields into the record. */
static int pack(const wg_hessian_result *h, wg_result *r)
{
    const size_t n = (size_t)h->n;
    int rc = wg_result_put_int(r, V_N, h->n);
    if (!rc) rc = wg_result_put_int(r, V_HVPS, (int)h->hvps);
    if (!rc) rc = wg_result_put_byte(r, V_CONV, h->converged);
    if (!rc) rc = wg_result_put_int(r, V_HALF, h->count_half);
    if (!rc) rc = wg_result_put_int(r, V_COUNT, h->count);
    if (!rc) rc = wg_result_put_int(r, V_DOUBLE, h->count_double);
    if (!rc) rc = wg_result_put_byte(r, V_LOWER, h->lower_bound);
    if (!rc) rc = wg_result_put_double(r, V_LMIN, h->lambda_min);
    if (!rc) rc = wg_result_put_int(r, V_NEG, h->count_negative);
    if (!rc && h->method == WG_HESSIAN_LANCZOS)
        rc = wg_result_put_int(r, V_RESTARTS, h->restarts);
    if (!rc && h->method == WG_HESSIAN_FULL)
        rc = wg_result_put_double(r, V_ASYM, h->asymmetry);
    if (!rc && n > 0) {
        rc = wg_result_set(r, V_RITZ, WG_T_DOUBLE, 1, NULL, &n, h->ritz, WG_T_DOUBLE);
        if (!rc && h->resid)
            rc = wg_result_set(r, V_RESID, WG_T_DOUBLE, 1, NULL, &n, h->resid, WG_T_DOUBLE);
    }
    if (rc || h->method != WG_HESSIAN_SLQ)
        return rc;
    const wg_slq_estimate *e[4] = {&h->est_half, &h->est, &h->est_double, &h->est_negative};
    double mean[4], se[4], lo[4], hi[4], bias[4];
    for (int i = 0; i < 4; i++)
        mean[i] = e[i]->mean, se[i] = e[i]->se, lo[i] = e[i]->lo, hi[i] = e[i]->hi,
        bias[i] = e[i]->bias;
    const size_t four = 4, ps[2] = {(size_t)h->nprobe, (size_t)h->nsteps};
    rc = wg_result_put_double(r, V_TRACE, h->trace);
    if (!rc) rc = wg_result_put_double(r, V_TRACE_SE, h->trace_se);
    if (!rc) rc = wg_result_set(r, V_EST_MEAN, WG_T_DOUBLE, 1, NULL, &four, mean, WG_T_DOUBLE);
    if (!rc) rc = wg_result_set(r, V_EST_SE, WG_T_DOUBLE, 1, NULL, &four, se, WG_T_DOUBLE);
    if (!rc) rc = wg_result_set(r, V_EST_LO, WG_T_DOUBLE, 1, NULL, &four, lo, WG_T_DOUBLE);
    if (!rc) rc = wg_result_set(r, V_EST_HI, WG_T_DOUBLE, 1, NULL, &four, hi, WG_T_DOUBLE);
    if (!rc) rc = wg_result_set(r, V_EST_BIAS, WG_T_DOUBLE, 1, NULL, &four, bias, WG_T_DOUBLE);
    if (!rc) rc = wg_result_set(r, V_NODES, WG_T_DOUBLE, 2, NULL, ps, h->nodes, WG_T_DOUBLE);
    if (!rc) rc = wg_result_set(r, V_WEIGHTS, WG_T_DOUBLE, 2, NULL, ps, h->weights, WG_T_DOUBLE);
    return rc;
}

static int run(wg_exec *x, const wg_plan *plan, const wg_task *t, const wg_result *const *deps,
               wg_result *r)
{
    const wg_setting *s = &t->set;
    const hessian_opts *hp = opts_of(plan);
    const wg_result *dep = deps ? deps[0] : NULL;
    size_t stride = 0;
    const float *X = NULL;
    if (t->arg[A_AT] == AT_OPTIMUM) {
        int prc = wg_train_point(dep, t, 0, &X, &stride);
        if (prc)
            return prc;
    } else if (!(X = wg_connect_point(dep, t->arg[A_POINT], &stride))) {
        return WG_FAIL(WG_EARG, "task %zu has no point for this Hessian probe", t->deps[0]);
    }
    wg_objective f = {0};
    wg_hessian_result h = {0};
    int rc = hp->include_l2 ? wg_exec_landscape_l2(x, plan, s, hp->probe_size, &f)
                            : wg_exec_landscape(x, plan, s, hp->probe_size, &f);
    if (rc == 0 && f.dim > stride)
        rc = WG_FAIL(WG_EFORMAT, "point has %zu parameters, the net %zu", stride, f.dim);
    if (!hp->exact)
        f.hvp = NULL; /* central differences of gradients */
    wg_hessian_opts o;
    wg_hessian_opts_default(&o);
    o.method = hp->method;
    o.threshold = hp->threshold;
    o.max_hvp = hp->budget;
    o.nprobe = hp->nprobe;
    o.nsteps = hp->nsteps;
    o.slq_lockstep = hp->lockstep;
    o.max_bytes = (size_t)hp->memory_mb << 20;
    o.seed = s->train.seed;
    o.stream = (uint64_t)t->arg[A_AT] * 1000 + (uint64_t)t->arg[A_POINT];
    o.stop = x->stop;
    o.stop_user = x->stop_user;
    if (rc == 0)
        rc = wg_hessian_probe(&f, X, &o, &h);
    if (rc == 0)
        rc = pack(&h, r);
    wg_hessian_result_free(&h);
    wg_objective_free(&f);
    return rc;
}

/* HVPs the method spends at most (full: D, in blocks cheaper per vector). */
static double cost(const hessian_opts *o, const wg_task *t)
{
    double hvps = o->method == WG_HESSIAN_SLQ    ? (double)o->nprobe * o->nsteps
                  : o->method == WG_HESSIAN_FULL ? (double)wg_setting_nparams(&t->set)
                                                 : (double)o->budget;
    return FLOPS_PER_HVP * hvps * (double)o->probe_size * wg_setting_flops(&t->set);
}

/* SLQ in lockstep holds nprobe bases: refused before any training when a setting's
 * would not fit in memory_mb (every probe of a setting has its training's D). */
static int check_lockstep(wg_planner *pl, const hessian_opts *o)
{
    const wg_plan *p = wg_planner_plan(pl);
    for (size_t i = 0; o->method == WG_HESSIAN_SLQ && o->lockstep && i < p->ntrain; i++) {
        size_t D = wg_setting_nparams(&p->tasks[i].set);
        double need = wg_hessian_lockstep_bytes(o->nprobe, o->nsteps, D) / 1048576.0;
        if (need > o->memory_mb)
            return wg_planner_fail(pl, WG_TASK_HESSIAN, "lockstep", WG_EARG,
                                   "probes.hessian.lockstep: %d bases of %d x %zu need %.1f "
                                   "MB, more than memory_mb (%d); fewer probes or steps, a "
                                   "larger memory_mb, or lockstep: no", o->nprobe,
                                   (size_t)o->nsteps < D ? o->nsteps : (int)D, D, need,
                                   o->memory_mb);
    }
    return 0;
}

/* A task per trained optimum (at: optima); at: connectors needs connectors. */
static int plan(wg_planner *pl, const void *opts)
{
    const hessian_opts *o = opts;
    wg_plan *p = wg_planner_plan(pl);
    const size_t ntrain = p->ntrain;
    int crc = check_lockstep(pl, o);
    if (crc)
        return crc;
    for (size_t i = 0; (o->at & AT_OPTIMA_BIT) && i < ntrain; i++) {
        wg_task *t = wg_planner_add(pl, WG_TASK_HESSIAN, i);
        if (!t)
            return WG_ENOMEM;
        t->ndeps = 1;
        t->deps[0] = i;
        t->probe_epoch = t->set.train.epochs;
        t->probe_final = 1;
        t->arg[A_AT] = AT_OPTIMUM;
        t->cost = cost(o, t);
        int rc = wg_planner_added(pl, t->id);
        if (rc)
            return rc;
    }
    if ((o->at & AT_CONNECTORS_BIT) && !wg_kind_enabled(p, WG_TASK_CONNECT))
        return wg_planner_fail(pl, WG_TASK_HESSIAN, NULL, WG_EARG,
                               "probes.hessian.at: connectors needs a `connectors:` section");
    if (o->npoints && !(o->at & AT_CONNECTORS_BIT))
        return wg_planner_fail(pl, WG_TASK_HESSIAN, "points", WG_EARG,
                               "probes.hessian.points: names connector points, but `at` "
                               "has no connectors");
    return 0;
}

/* Whether point q (0-based; X_{q+1}) of a connector of K points is counted. */
static int counted(const hessian_opts *o, int m, int q)
{
    if (m != 1 || !o->npoints)
        return 1;
    for (int i = 0; i < o->npoints; i++)
        if (o->points[i] == q + 1)
            return 1;
    return 0;
}

/* At connectors: a task per point of every connector, right after it. */
static int attach(wg_planner *pl, const void *opts, const wg_task *conn)
{
    const hessian_opts *o = opts;
    if (conn->kind != WG_TASK_CONNECT || !(o->at & AT_CONNECTORS_BIT))
        return 0;
    const size_t id = conn->id, first = conn->deps[0];
    const int m = conn->arg[0], K = conn->arg[1]; /* the connector's order and points */
    for (int i = 0; m == 1 && i < o->npoints; i++)
        if (o->points[i] > K)
            return wg_planner_fail(pl, WG_TASK_HESSIAN, "points", WG_EARG,
                                   "probes.hessian.points: X_%d, but the 1-connectors have "
                                   "K = %d points (connectors.points)", o->points[i], K);
    for (int q = 0; q < K; q++) {
        if (!counted(o, m, q))
            continue;
        wg_task *h = wg_planner_add(pl, WG_TASK_HESSIAN, first);
        if (!h)
            return WG_ENOMEM;
        h->ndeps = 1;
        h->deps[0] = id;
        h->probe_epoch = h->set.train.epochs;
        h->probe_final = 1;
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
    if (t->arg[A_AT] == AT_OPTIMUM)
        snprintf(buf, cap, "at optimum");
    else if (p->tasks[t->deps[0]].arg[0] == 1)
        snprintf(buf, cap, "at X_%d", t->arg[A_POINT] + 1);
    else
        snprintf(buf, cap, "at the centre");
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
    .ndims = sizeof DIMS / sizeof *DIMS,
    .vars = VARS,
    .nvars = NVARS,
    .attrs = attrs,
    .run = run,
    .describe = describe,
};
