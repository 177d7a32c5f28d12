/* store.c: the NetCDF-4 file of a sweep (schema in docs/output-format.md).
 * Every rank takes part in create/open/close (collective in parallel HDF5); rows
 * are written independently by whichever rank ran the task.  Per-task coordinates
 * (hyperparameters, kinds, what probes read) are written once by rank 0 at
 * creation, so the file describes the whole plan before any task runs.  The schema
 * is the store's table below plus every enabled kind's tables (kind.h): no variable
 * is named anywhere else. */
#include "wedge/store.h"

#include <errno.h>
#include <math.h>
#include <netcdf.h>
#include <netcdf_par.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "wedge/error.h"
#include "wedge/net.h"

#define LABEL_LEN 32

/* Turn a netCDF status into ours; no caller locals involved. */
static int nc_check(int e, const char *what, const char *file, int line)
{
    if (e == NC_NOERR)
        return 0;
    return wg_err_set(WG_ENETCDF, file, line, "%s: %s", what, nc_strerror(e));
}
#define WG_NC(call, what) nc_check((call), (what), __FILE__, __LINE__)

/* ---- the store's own table: what every task row has ---------------------------------- */

static size_t n_tasks(const wg_plan *p) { return p->ntasks; }
static size_t n_epochs(const wg_plan *p) { return (size_t)p->max_epochs; }
static size_t n_snapshots(const wg_plan *p) { return (size_t)p->max_snapshots; }
static size_t n_message(const wg_plan *p)
{
    (void)p;
    return WG_MSG_LEN;
}
static size_t n_label(const wg_plan *p)
{
    (void)p;
    return LABEL_LEN;
}

size_t wg_plan_max_params(const wg_plan *plan)
{
    size_t mx = 1;
    for (size_t i = 0; i < plan->ntasks; i++) {
        size_t D = wg_setting_nparams(&plan->tasks[i].set);
        mx = D > mx ? D : mx;
    }
    return mx;
}

static const wg_dim DIMS[] = {{"task", n_tasks},         {"epoch", n_epochs},
                              {"snapshot", n_snapshots}, {"param", wg_plan_max_params},
                              {"message_len", n_message}, {"label_len", n_label}};
#define NDIMS_COMMON (int)(sizeof DIMS / sizeof *DIMS)

static void task_value(const wg_plan *p, const wg_task *t, double *v)
{
    (void)p;
    v[0] = (double)t->id;
}

static void epoch_value(const wg_plan *p, const wg_task *t, double *v)
{
    (void)t;
    for (int e = 0; e < p->max_epochs; e++)
        v[e] = e + 1;
}

static void kind_value(const wg_plan *p, const wg_task *t, double *v)
{
    (void)p;
    v[0] = t->kind;
}

static void status_value(const wg_plan *p, const wg_task *t, double *v)
{
    (void)p, (void)t;
    v[0] = WG_STATUS_PENDING;
}

const char *wg_units_cf(const char *units, const char *long_name, char *ln, size_t cap)
{
    static const char *const counted[][2] = {
        {"nat", "nats"}, {"epochs", "epochs"}, {"images", "images"}};
    for (size_t i = 0; units && i < sizeof counted / sizeof counted[0]; i++)
        if (strcmp(units, counted[i][0]) == 0) {
            snprintf(ln, cap, "%s (%s)", long_name, counted[i][1]);
            return "1";
        }
    snprintf(ln, cap, "%s", long_name);
    return units;
}

/* Every task's network, probes' too: D is what a probe's counts are out of. */
static void nparams_value(const wg_plan *p, const wg_task *t, double *v)
{
    (void)p;
    v[0] = (double)wg_setting_nparams(&t->set);
}

static void probe_epoch_value(const wg_plan *p, const wg_task *t, double *v)
{
    (void)p;
    v[0] = t->kind == WG_TASK_TRAIN ? -1 : t->probe_epoch;
}

static void source_value(const wg_plan *p, const wg_task *t, double *v)
{
    (void)p;
    v[0] = t->kind == WG_TASK_TRAIN ? -1 : (double)t->deps[0];
}

static int any_probe(const wg_plan *p)
{
    for (int k = 0; k < WG_TASK_KINDS; k++)
        if (k != WG_TASK_TRAIN && wg_kind_enabled(p, k))
            return 1;
    return 0;
}

/* flag_meanings of `kind`: the kinds' names, built from the table. */
#define KIND_FLAGS "(kinds)"

enum { C_TASK, C_EPOCH, C_KIND, C_STATUS, C_MESSAGE, C_WALL, C_RANK, C_NPARAMS, C_PROBE_EPOCH,
       C_SOURCE, NCOMMON };

static const wg_var COMMON[NCOMMON] = {
    [C_TASK] = {"task", WG_T_INT, "", "task id", "1", .per_task = 1, .coordinate = 1,
                .plan_value = task_value},
    [C_EPOCH] = {"epoch", WG_T_INT, "epoch", "epoch (1-based)", "epochs",
                 .plan_value = epoch_value},
    [C_KIND] = {"kind", WG_T_BYTE, "", "task kind", NULL, .flags = KIND_FLAGS, .per_task = 1,
                .coordinate = 1, .plan_value = kind_value},
    /* no _FillValue: xarray would decode "pending" (0) as missing; rank 0 writes the
     * zeros when the file is created */
    [C_STATUS] = {"status", WG_T_BYTE, "", "task status", NULL, WG_FILL_NONE,
                  "pending done failed diverged skipped", .per_task = 1, .plan_value = status_value},
    [C_MESSAGE] = {"message", WG_T_CHAR, "message_len", "error message of a failed task", NULL,
                   .per_task = 1},
    [C_WALL] = {"wall_time", WG_T_DOUBLE, "", "task wall-clock time", "s", .per_task = 1},
    [C_RANK] = {"rank", WG_T_INT, "", "MPI rank that ran the task", "1", WG_FILL_MINUS1,
                .per_task = 1},
    [C_NPARAMS] = {"nparams", WG_T_INT, "", "parameter count D of the task's network", "1",
                   WG_FILL_MINUS1, .per_task = 1, .plan_value = nparams_value},
    [C_PROBE_EPOCH] = {"probe_epoch", WG_T_INT, "", "snapshot epoch a probe reads (-1: none)",
                       "epochs", WG_FILL_MINUS1, .per_task = 1, .plan_value = probe_epoch_value,
                       .when = any_probe},
    [C_SOURCE] = {"source_task", WG_T_INT, "",
                  "training (or connector) task a probe reads (-1: none)", "1", WG_FILL_MINUS1,
                  .per_task = 1, .plan_value = source_value, .when = any_probe},
};
const wg_var *wg_store_common(int *n)
{
    *n = NCOMMON;
    return COMMON;
}

/* ---- the schema ------------------------------------------------------------------------- */

static int put_text_att(int ncid, int varid, const char *name, const char *text)
{
    return nc_put_att_text(ncid, varid, name, strlen(text), text);
}

static nc_type nc_type_of(wg_type t)
{
    switch (t) {
    case WG_T_BYTE: return NC_BYTE;
    case WG_T_INT: return NC_INT;
    case WG_T_FLOAT: return NC_FLOAT;
    case WG_T_DOUBLE: return NC_DOUBLE;
    case WG_T_CHAR: return NC_CHAR;
    }
    return NC_NAT;
}

/* The variable table of kind k, or the store's own (k = -1). */
static const wg_var *table(int k, int *n)
{
    if (k < 0) {
        *n = NCOMMON;
        return COMMON;
    }
    const wg_kind *kd = wg_kind_get(k);
    *n = kd->nvars;
    return kd->vars;
}

static int var_defined(const wg_plan *p, int k, const wg_var *v)
{
    if (k >= 0 && !wg_kind_enabled(p, k))
        return 0;
    return !v->when || v->when(p);
}

static int *var_slot(wg_store *s, int k, int i) { return k < 0 ? &s->common[i] : &s->varid[k][i]; }

static int dim_index(const wg_store *s, const char *name, size_t len)
{
    for (int d = 0; d < s->ndims; d++)
        if (strlen(s->dims[d].name) == len && strncmp(s->dims[d].name, name, len) == 0)
            return d;
    return -1;
}

/* The dimensions of v as indices into s->dims: task first when per task.  Returns
 * the count, or -1 if v names an unknown dimension. */
static int var_dims(const wg_store *s, const wg_var *v, int *out)
{
    int n = 0;
    if (v->per_task)
        out[n++] = dim_index(s, "task", 4);
    for (const char *p = v->dims; *p;) {
        while (*p == ' ')
            p++;
        size_t len = strcspn(p, " ");
        if (!len)
            break;
        int d = dim_index(s, p, len);
        if (d < 0 || n == WG_MAX_VAR_DIMS + 1)
            return -1;
        out[n++] = d;
        p += len;
    }
    return n;
}

/* Record the dimensions of the plan (common, then each enabled kind's), defining them
 * in the file when `define`. */
static int plan_dims(wg_store *s, const wg_plan *p, int define)
{
    s->ndims = 0;
    for (int k = -1; k < WG_TASK_KINDS; k++) {
        const wg_dim *dims = k < 0 ? DIMS : wg_kind_get(k)->dims;
        int n = k < 0 ? NDIMS_COMMON : wg_kind_get(k)->ndims;
        if (k >= 0 && !wg_kind_enabled(p, k))
            continue;
        for (int i = 0; i < n; i++) {
            if (dim_index(s, dims[i].name, strlen(dims[i].name)) >= 0)
                continue;
            if (s->ndims == WG_STORE_MAX_DIMS)
                return WG_FAIL(WG_EARG, "more than %d output dimensions", WG_STORE_MAX_DIMS);
            int d = s->ndims++;
            s->dims[d].name = dims[i].name;
            s->dims[d].len = dims[i].size(p);
            int rc = define ? WG_NC(nc_def_dim(s->ncid, dims[i].name, s->dims[d].len,
                                               &s->dims[d].id), "defining the output schema")
                            : WG_NC(nc_inq_dimid(s->ncid, dims[i].name, &s->dims[d].id),
                                    dims[i].name);
            if (rc)
                return rc;
            size_t have = 0;
            if (!define && (rc = WG_NC(nc_inq_dimlen(s->ncid, s->dims[d].id, &have),
                                       dims[i].name)))
                return rc;
            if (!define && have != s->dims[d].len)
                return WG_FAIL(WG_EFORMAT, "dimension %s has %zu entries in the file, the plan "
                               "%zu", dims[i].name, have, s->dims[d].len);
        }
    }
    return 0;
}

static int alloc_ids(wg_store *s)
{
    s->common = wg_alloc(NCOMMON, sizeof *s->common, "variable ids");
    int rc = s->common ? 0 : WG_ENOMEM;
    for (int i = 0; rc == 0 && i < NCOMMON; i++)
        s->common[i] = -1;
    for (int k = 0; rc == 0 && k < WG_TASK_KINDS; k++) {
        int n = wg_kind_get(k)->nvars;
        if (!(s->varid[k] = wg_alloc((size_t)(n ? n : 1), sizeof(int), "variable ids")))
            rc = WG_ENOMEM;
        for (int i = 0; rc == 0 && i < n; i++)
            s->varid[k][i] = -1;
    }
    return rc;
}

static void free_ids(wg_store *s)
{
    free(s->common);
    s->common = NULL;
    for (int k = 0; k < WG_TASK_KINDS; k++) {
        free(s->varid[k]);
        s->varid[k] = NULL;
    }
}

/* flag_meanings of the `kind` variable. */
static void kind_names(char *buf, size_t cap)
{
    buf[0] = '\0';
    for (int k = 0; k < WG_TASK_KINDS; k++) {
        size_t used = strlen(buf);
        snprintf(buf + used, cap - used, "%s%s", k ? " " : "", wg_kind_get(k)->name);
    }
}

static int define_var(wg_store *s, const wg_var *v, int *id)
{
    int nc = s->ncid, dims[WG_MAX_VAR_DIMS + 1], dimids[WG_MAX_VAR_DIMS + 1];
    int nd = var_dims(s, v, dims), rc;
    if (nd < 0)
        return WG_FAIL(WG_EARG, "variable %s: unknown dimension in '%s'", v->name, v->dims);
    for (int d = 0; d < nd; d++)
        dimids[d] = s->dims[dims[d]].id;
    nc_type t = nc_type_of(v->type);
    const char *w = "defining the output schema";
    if ((rc = WG_NC(nc_def_var(nc, v->name, t, nd, dimids, id), w)))
        return rc;
    if (v->fill == WG_FILL_DEFAULT && t == NC_DOUBLE) {
        /* NaN marks "not written" in every reader (the netCDF default 9.97e36 does not) */
        double nan = NAN;
        rc = WG_NC(nc_def_var_fill(nc, *id, 0, &nan), w);
    } else if (v->fill == WG_FILL_NONE) {
        rc = WG_NC(nc_def_var_fill(nc, *id, 1, NULL), w);
    } else if (v->fill == WG_FILL_MINUS1) {
        int m1 = -1;
        rc = WG_NC(nc_put_att_int(nc, *id, "_FillValue", t, 1, &m1), w);
    }
    char ln[512];
    const char *units = wg_units_cf(v->units, v->long_name, ln, sizeof ln);
    if (!rc)
        rc = WG_NC(put_text_att(nc, *id, "long_name", ln), w);
    if (!rc && units)
        rc = WG_NC(put_text_att(nc, *id, "units", units), w);
    if (!rc && v->flags) {
        char names[256];
        const char *meanings = v->flags;
        if (strcmp(v->flags, KIND_FLAGS) == 0) {
            kind_names(names, sizeof names);
            meanings = names;
        }
        int nflags = 1;
        for (const char *c = meanings; *c; c++)
            nflags += *c == ' ';
        int values[64];
        for (int i = 0; i < nflags && i < 64; i++)
            values[i] = i;
        rc = WG_NC(nc_put_att_int(nc, *id, "flag_values", t, (size_t)nflags, values), w);
        if (!rc)
            rc = WG_NC(put_text_att(nc, *id, "flag_meanings", meanings), w);
    }
    return rc;
}

/* Every variable the plan defines, in order: (kind or -1, index). */
typedef int (*var_visit)(wg_store *s, const wg_plan *p, int k, int i, const wg_var *v,
                         void *ctx);

static int each_var(wg_store *s, const wg_plan *p, var_visit fn, void *ctx)
{
    for (int k = -1; k < WG_TASK_KINDS; k++) {
        int n;
        const wg_var *vars = table(k, &n);
        for (int i = 0; i < n; i++) {
            if (!var_defined(p, k, &vars[i]))
                continue;
            int rc = fn(s, p, k, i, &vars[i], ctx);
            if (rc)
                return rc;
        }
    }
    return 0;
}

static int visit_define(wg_store *s, const wg_plan *p, int k, int i, const wg_var *v, void *ctx)
{
    (void)p, (void)ctx;
    return define_var(s, v, var_slot(s, k, i));
}

/* The CF `coordinates` attribute names the task rows' coordinates; xarray then
 * makes them coordinates of every per-task variable. */
typedef struct coords_ctx {
    char list[1024];
    int mark;                   /* 0: collect names, 1: put the attribute */
} coords_ctx;

static int visit_coords(wg_store *s, const wg_plan *p, int k, int i, const wg_var *v, void *ctx)
{
    (void)p;
    coords_ctx *c = ctx;
    if (!v->per_task)
        return 0;
    if (c->mark == 0) {
        if (v->coordinate && k >= 0) {
            size_t used = strlen(c->list);
            snprintf(c->list + used, sizeof c->list - used, "%s%s", used ? " " : "", v->name);
        }
        return 0;
    }
    if (v->coordinate)
        return 0;
    return WG_NC(put_text_att(s->ncid, *var_slot(s, k, i), "coordinates", c->list),
                 "defining the output schema");
}

typedef struct att_ctx {
    wg_store *s;
    int rc;
} att_ctx;

static void put_att(void *ctx, const char *var, const char *name, const char *text, double num)
{
    att_ctx *a = ctx;
    int id = NC_GLOBAL;
    if (a->rc || (var && (a->rc = WG_NC(nc_inq_varid(a->s->ncid, var, &id), var))))
        return;
    a->rc = text ? WG_NC(put_text_att(a->s->ncid, id, name, text), name)
                 : WG_NC(nc_put_att_double(a->s->ncid, id, name, NC_DOUBLE, 1, &num), name);
}

/* The settings recorded as coordinates (setting.h's key table). */
static int is_coord_key(int k) { return wg_keys[k].var != NULL; }

static int define(wg_store *s, const wg_plan *plan, const wg_store_meta *meta, int *hpv)
{
    int nc = s->ncid, rc = plan_dims(s, plan, 1);
    if (rc == 0)
        rc = each_var(s, plan, visit_define, NULL);
    for (int k = 0; rc == 0 && k < WG_NKEYS; k++) {
        if (!is_coord_key(k))
            continue;
        const wg_key *key = &wg_keys[k];
        int text = key->type == WG_KEY_NAME || key->type == WG_KEY_TEXT;
        wg_var v = {key->var, text ? WG_T_CHAR : WG_T_DOUBLE, text ? "label_len" : "",
                    key->long_name, key->units, .per_task = 1};
        rc = define_var(s, &v, &hpv[k]);
    }
    /* the coordinates: kind, the settings, then the kinds' own */
    coords_ctx cc = {.mark = 0};
    snprintf(cc.list, sizeof cc.list, "kind");
    for (int k = 0; k < WG_NKEYS; k++) {
        size_t used = strlen(cc.list);
        if (is_coord_key(k))
            snprintf(cc.list + used, sizeof cc.list - used, " %s", wg_keys[k].var);
    }
    if (rc == 0)
        rc = each_var(s, plan, visit_coords, &cc);
    cc.mark = 1;
    if (rc == 0)
        rc = each_var(s, plan, visit_coords, &cc);
    att_ctx ac = {s, 0};
    for (int k = 0; rc == 0 && k < WG_TASK_KINDS; k++)
        if (wg_kind_get(k)->attrs && wg_kind_enabled(plan, k)) {
            wg_kind_get(k)->attrs(plan, put_att, &ac);
            rc = ac.rc;
        }
    if (rc)
        return rc;
#define DEF(call) \
    if ((rc = WG_NC((call), "defining the output schema"))) \
        return rc
    /* global attributes */
    char swept[512] = "";
    for (size_t a = 0; a < plan->naxes; a++) {
        strncat(swept, plan->axes[a].name, sizeof swept - strlen(swept) - 2);
        if (a + 1 < plan->naxes)
            strcat(swept, " ");
    }
    char created[64], hist[1024];
    time_t now = time(NULL);
    strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    snprintf(hist, sizeof hist, "%s: %s", created, meta->command ? meta->command : "wedge run");
    DEF(put_text_att(nc, NC_GLOBAL, "title", plan->name));
    DEF(put_text_att(nc, NC_GLOBAL, "Conventions", "CF-1.8"));
    DEF(put_text_att(nc, NC_GLOBAL, "source", "wedge"));
    DEF(put_text_att(nc, NC_GLOBAL, "wedge_version", meta->version));
    DEF(put_text_att(nc, NC_GLOBAL, "sweep_file", plan->file));
    DEF(put_text_att(nc, NC_GLOBAL, "sweep_text", plan->text));
    DEF(put_text_att(nc, NC_GLOBAL, "sweep_sha256", plan->sha256));
    DEF(put_text_att(nc, NC_GLOBAL, "swept_keys", swept));
    DEF(nc_put_att_int(nc, NC_GLOBAL, "mpi_size", NC_INT, 1, &meta->mpi_size));
    DEF(put_text_att(nc, NC_GLOBAL, "blas_config", meta->blas_config));
    DEF(nc_put_att_int(nc, NC_GLOBAL, "blas_threads", NC_INT, 1, &meta->blas_threads));
    DEF(put_text_att(nc, NC_GLOBAL, "created", created));
    DEF(put_text_att(nc, NC_GLOBAL, "history", hist));
#undef DEF
    return 0;
}

static int set_independent(wg_store *s)
{
    int nvars, e = nc_inq_nvars(s->ncid, &nvars);
    for (int v = 0; e == NC_NOERR && v < nvars; v++)
        e = nc_var_par_access(s->ncid, v, NC_INDEPENDENT);
    return WG_NC(e, "setting independent access");
}

/* Elements of one row of v (per task) or of the whole of v. */
static size_t row_size(const wg_store *s, const wg_var *v)
{
    int dims[WG_MAX_VAR_DIMS + 1], nd = var_dims(s, v, dims);
    size_t n = 1;
    for (int d = v->per_task ? 1 : 0; d < nd; d++)
        n *= s->dims[dims[d]].len;
    return n;
}

static int visit_plan_value(wg_store *s, const wg_plan *p, int k, int i, const wg_var *v,
                            void *ctx)
{
    (void)ctx;
    if (!v->plan_value)
        return 0;
    size_t row = row_size(s, v), rows = v->per_task ? p->ntasks : 1, total;
    if (wg_mul_size(row, rows, &total))
        return WG_FAIL(WG_ENOMEM, "%s: too large", v->name);
    double *buf = wg_alloc(total ? total : 1, sizeof *buf, "plan coordinates");
    if (!buf)
        return WG_ENOMEM;
    double fill = v->fill == WG_FILL_MINUS1 ? -1.0
                  : v->type == WG_T_DOUBLE   ? NAN
                  : v->type == WG_T_INT      ? (double)NC_FILL_INT
                  : v->type == WG_T_BYTE     ? (double)NC_FILL_BYTE
                                             : 0.0;
    for (size_t j = 0; j < total; j++)
        buf[j] = fill;
    if (v->per_task)
        for (size_t t = 0; t < p->ntasks; t++)
            v->plan_value(p, &p->tasks[t], buf + t * row);
    else
        v->plan_value(p, NULL, buf);
    int rc = WG_NC(nc_put_var_double(s->ncid, *var_slot(s, k, i), buf), v->name);
    free(buf);
    return rc;
}

static int write_coords(wg_store *s, const wg_plan *plan, const int *hpv)
{
    int rc = each_var(s, plan, visit_plan_value, NULL);
    size_t n = s->ntasks;
    double *dv = malloc((n ? n : 1) * sizeof *dv);
    char *tv = calloc(n ? n : 1, LABEL_LEN);
    if (!dv || !tv)
        rc = WG_FAIL(WG_ENOMEM, "out of memory writing coordinates");
    for (int k = 0; rc == 0 && k < WG_NKEYS; k++) {
        if (!is_coord_key(k))
            continue;
        const wg_key *key = &wg_keys[k];
        int text = key->type == WG_KEY_NAME || key->type == WG_KEY_TEXT;
        for (size_t i = 0; i < n; i++) {
            if (text)
                strncpy(tv + i * LABEL_LEN, wg_key_text(&plan->tasks[i].set, key), LABEL_LEN - 1);
            else
                dv[i] = wg_key_value(&plan->tasks[i].set, key);
        }
        rc = text ? WG_NC(nc_put_var_text(s->ncid, hpv[k], tv), "writing coordinates")
                  : WG_NC(nc_put_var_double(s->ncid, hpv[k], dv), "writing coordinates");
    }
    free(dv), free(tv);
    return rc;
}

int wg_store_create(wg_store *s, const char *path, const wg_plan *plan,
                    const wg_store_meta *meta, MPI_Comm comm, int clobber)
{
    memset(s, 0, sizeof *s);
    s->ntasks = plan->ntasks;
    int rc = alloc_ids(s);
    if (rc) {
        free_ids(s);
        return rc;
    }
    int mode = NC_NETCDF4 | (clobber ? NC_CLOBBER : NC_NOCLOBBER);
    int e = nc_create_par(path, mode, comm, MPI_INFO_NULL, &s->ncid);
    if (e == NC_EEXIST)
        rc = WG_FAIL(WG_EIO, "%s exists: pass --resume to continue it or --force to overwrite it",
                     path);
    else if (e != NC_NOERR)
        rc = WG_FAIL(WG_ENETCDF, "%s: cannot create: %s", path, nc_strerror(e));
    if (rc) {
        free_ids(s);
        return rc;
    }
    s->open = 1;
    int hpv[WG_NKEYS];
    rc = define(s, plan, meta, hpv);
    if (rc == 0)
        rc = WG_NC(nc_enddef(s->ncid), "ending define mode");
    if (rc == 0)
        rc = set_independent(s);
    int rank = 0;
    if (MPI_Comm_rank(comm, &rank) != MPI_SUCCESS)
        rc = WG_FAIL(WG_EMPI, "MPI_Comm_rank failed");
    if (rc == 0 && rank == 0)
        rc = write_coords(s, plan, hpv);
    if (rc) {
        nc_close(s->ncid);
        s->open = 0;
        free_ids(s);
    }
    return rc;
}

static int visit_lookup(wg_store *s, const wg_plan *p, int k, int i, const wg_var *v, void *ctx)
{
    (void)p, (void)ctx;
    return WG_NC(nc_inq_varid(s->ncid, v->name, var_slot(s, k, i)), v->name);
}

int wg_store_open(wg_store *s, const char *path, const wg_plan *plan, MPI_Comm comm)
{
    memset(s, 0, sizeof *s);
    int rc = alloc_ids(s);
    if (rc) {
        free_ids(s);
        return rc;
    }
    int e = nc_open_par(path, NC_WRITE, comm, MPI_INFO_NULL, &s->ncid);
    if (e != NC_NOERR) {
        free_ids(s);
        return WG_FAIL(WG_ENETCDF, "%s: cannot reopen for --resume: %s", path, nc_strerror(e));
    }
    s->open = 1;
    size_t len = 0;
    char hash[65] = "";
    if (nc_inq_attlen(s->ncid, NC_GLOBAL, "sweep_sha256", &len) != NC_NOERR || len != 64 ||
        nc_get_att_text(s->ncid, NC_GLOBAL, "sweep_sha256", hash) != NC_NOERR)
        rc = WG_FAIL(WG_EFORMAT, "%s: not a wedge output (no sweep_sha256 attribute)", path);
    hash[64] = '\0';
    if (rc == 0 && strcmp(hash, plan->sha256) != 0) {
        char what[256] = "the sweep text differs";
        size_t tl = 0;
        if (nc_inq_attlen(s->ncid, NC_GLOBAL, "sweep_text", &tl) == NC_NOERR) {
            char *old = calloc(tl + 1, 1);
            if (old && nc_get_att_text(s->ncid, NC_GLOBAL, "sweep_text", old) == NC_NOERR)
                wg_text_first_change(old, plan->text, what, sizeof what);
            free(old);
        }
        rc = WG_FAIL(WG_EARG,
                     "%s was written by a different sweep than %s (%s); refusing to resume. "
                     "Restore the sweep file, or start a new output with --force or -o",
                     path, plan->file, what);
    }
    if (rc == 0) {
        rc = plan_dims(s, plan, 0);
        if (rc && wg_err_code() == WG_EFORMAT) {
            char msg[512];
            snprintf(msg, sizeof msg, "%s", wg_err_msg());
            wg_err_clear();
            rc = WG_FAIL(WG_EFORMAT, "%s: %s", path, msg);
        }
    }
    s->ntasks = plan->ntasks;
    if (rc == 0)
        rc = each_var(s, plan, visit_lookup, NULL);
    if (rc == 0)
        rc = set_independent(s);
    if (rc) {
        nc_close(s->ncid);
        s->open = 0;
        free_ids(s);
    }
    return rc;
}

int wg_store_attach(wg_store *s, const char *path, int writable, MPI_Comm comm)
{
    memset(s, 0, sizeof *s);
    int rc = alloc_ids(s);
    if (rc) {
        free_ids(s);
        return rc;
    }
    struct stat sb;
    if (stat(path, &sb) != 0) { /* netCDF would say "Bad file descriptor" */
        int err = errno;
        free_ids(s);
        return WG_FAIL(WG_EIO, "%s: cannot open: %s", path, strerror(err));
    }
    int e = nc_open_par(path, writable ? NC_WRITE : NC_NOWRITE, comm, MPI_INFO_NULL, &s->ncid);
    if (e != NC_NOERR) {
        free_ids(s);
        return WG_FAIL(WG_ENETCDF, "%s: cannot open: %s", path, nc_strerror(e));
    }
    s->open = 1;
    /* the dimensions and variables the file has, by the tables' names */
    int nd = 0;
    rc = WG_NC(nc_inq_ndims(s->ncid, &nd), path);
    for (int d = 0; rc == 0 && d < nd && s->ndims < WG_STORE_MAX_DIMS; d++) {
        char name[NC_MAX_NAME + 1];
        size_t len;
        rc = WG_NC(nc_inq_dim(s->ncid, d, name, &len), path);
        /* the tables' own spelling (static storage) of the name */
        const char *known = NULL;
        for (int k = -1; rc == 0 && !known && k < WG_TASK_KINDS; k++) {
            const wg_dim *dims = k < 0 ? DIMS : wg_kind_get(k)->dims;
            int n = k < 0 ? NDIMS_COMMON : wg_kind_get(k)->ndims;
            for (int i = 0; i < n && !known; i++)
                if (strcmp(dims[i].name, name) == 0)
                    known = dims[i].name;
        }
        if (rc == 0 && known) {
            s->dims[s->ndims].name = known;
            s->dims[s->ndims].len = len;
            s->dims[s->ndims].id = d;
            s->ndims++;
        }
    }
    int t = dim_index(s, "task", 4);
    if (rc == 0 && t < 0)
        rc = WG_FAIL(WG_EFORMAT, "%s: not a wedge output (no task dimension)", path);
    if (rc == 0)
        s->ntasks = s->dims[t].len;
    for (int k = -1; rc == 0 && k < WG_TASK_KINDS; k++) {
        int n;
        const wg_var *vars = table(k, &n);
        for (int i = 0; i < n; i++)
            if (nc_inq_varid(s->ncid, vars[i].name, var_slot(s, k, i)) != NC_NOERR)
                *var_slot(s, k, i) = -1;
    }
    if (rc == 0 && (s->common[C_STATUS] < 0 || s->common[C_MESSAGE] < 0))
        rc = WG_FAIL(WG_EFORMAT, "%s: not a wedge output (no status variable)", path);
    if (rc == 0 && writable)
        rc = set_independent(s);
    if (rc) {
        nc_close(s->ncid);
        s->open = 0;
        free_ids(s);
    }
    return rc;
}

void wg_store_sweep_hash(wg_store *s, char hash[65])
{
    size_t len = 0;
    hash[0] = '\0';
    if (nc_inq_attlen(s->ncid, NC_GLOBAL, "sweep_sha256", &len) == NC_NOERR && len == 64 &&
        nc_get_att_text(s->ncid, NC_GLOBAL, "sweep_sha256", hash) == NC_NOERR)
        hash[64] = '\0';
    else
        hash[0] = '\0';
}

char *wg_store_sweep_text(wg_store *s)
{
    size_t len = 0;
    if (nc_inq_attlen(s->ncid, NC_GLOBAL, "sweep_text", &len) != NC_NOERR)
        return NULL;
    char *t = calloc(len + 1, 1);
    if (t && nc_get_att_text(s->ncid, NC_GLOBAL, "sweep_text", t) != NC_NOERR) {
        free(t);
        t = NULL;
    }
    return t;
}

int wg_store_read_status(wg_store *s, uint8_t *status)
{
    return WG_NC(nc_get_var_uchar(s->ncid, s->common[C_STATUS], status), "reading task status");
}

/* ---- rows --------------------------------------------------------------------------------- */

static int put_block(int nc, int id, wg_type t, const size_t *start, const size_t *count,
                     const void *data)
{
    switch (t) {
    case WG_T_BYTE: return nc_put_vara_schar(nc, id, start, count, data);
    case WG_T_INT: return nc_put_vara_int(nc, id, start, count, data);
    case WG_T_FLOAT: return nc_put_vara_float(nc, id, start, count, data);
    case WG_T_DOUBLE: return nc_put_vara_double(nc, id, start, count, data);
    case WG_T_CHAR: return nc_put_vara_text(nc, id, start, count, data);
    }
    return NC_EBADTYPE;
}

static int get_block(int nc, int id, wg_type t, const size_t *start, const size_t *count,
                     void *data)
{
    switch (t) {
    case WG_T_BYTE: return nc_get_vara_schar(nc, id, start, count, data);
    case WG_T_INT: return nc_get_vara_int(nc, id, start, count, data);
    case WG_T_FLOAT: return nc_get_vara_float(nc, id, start, count, data);
    case WG_T_DOUBLE: return nc_get_vara_double(nc, id, start, count, data);
    case WG_T_CHAR: return nc_get_vara_text(nc, id, start, count, data);
    }
    return NC_EBADTYPE;
}

/* Slot i of r (kind k) into its variable, after checking it fits. */
static int write_slot(wg_store *s, int k, int i, const wg_slot *sl, size_t task)
{
    const wg_var *v = &wg_kind_get(k)->vars[i];
    int id = s->varid[k][i], dims[WG_MAX_VAR_DIMS + 1], nd = var_dims(s, v, dims);
    if (id < 0 || v->plan_value || !v->per_task || sl->type != v->type || nd != sl->ndims + 1)
        return WG_FAIL(WG_EFORMAT, "task %zu: its record's %s does not fit the file", task,
                       v->name);
    size_t start[WG_MAX_VAR_DIMS + 1] = {task}, count[WG_MAX_VAR_DIMS + 1] = {1};
    for (int d = 0; d < sl->ndims; d++) {
        start[d + 1] = sl->start[d];
        count[d + 1] = sl->count[d];
        if (count[d + 1] == 0)
            return 0;
        if (start[d + 1] + count[d + 1] > s->dims[dims[d + 1]].len)
            return WG_FAIL(WG_EFORMAT, "task %zu: its record's %s does not fit the file "
                           "(%zu entries at %zu, dimension %s has %zu)", task, v->name,
                           count[d + 1], start[d + 1], s->dims[dims[d + 1]].name,
                           s->dims[dims[d + 1]].len);
    }
    return WG_NC(put_block(s->ncid, id, v->type, start, count, sl->data), "writing a task row");
}

int wg_store_read_result(wg_store *s, size_t task, int kind, wg_result *r)
{
    const wg_kind *kd = wg_kind_get(kind);
    if (!kd || task >= s->ntasks)
        return WG_FAIL(WG_EARG, "task %zu of kind %d is not in the file", task, kind);
    int rc = wg_result_init(r, kd->nvars);
    if (rc)
        return rc;
    r->task = task;
    r->kind = kind;
    size_t one = 1;
    unsigned char st = 0;
    rc = WG_NC(nc_get_vara_uchar(s->ncid, s->common[C_STATUS], &task, &one, &st), "status");
    r->status = st;
    size_t st2[2] = {task, 0}, cm[2] = {1, WG_MSG_LEN};
    if (rc == 0)
        rc = WG_NC(nc_get_vara_double(s->ncid, s->common[C_WALL], &task, &one, &r->wall_time),
                   "wall_time");
    if (rc == 0)
        rc = WG_NC(nc_get_vara_int(s->ncid, s->common[C_RANK], &task, &one, &r->rank), "rank");
    if (rc == 0)
        rc = WG_NC(nc_get_vara_text(s->ncid, s->common[C_MESSAGE], st2, cm, r->message),
                   "message");
    r->message[WG_MSG_LEN - 1] = '\0';
    for (int i = 0; rc == 0 && i < kd->nvars; i++) {
        const wg_var *v = &kd->vars[i];
        int id = s->varid[kind][i], dims[WG_MAX_VAR_DIMS + 1], nd;
        if (id < 0 || v->plan_value || !v->per_task || (nd = var_dims(s, v, dims)) < 1)
            continue;
        size_t start[WG_MAX_VAR_DIMS + 1] = {task}, count[WG_MAX_VAR_DIMS + 1] = {1};
        for (int d = 1; d < nd; d++)
            count[d] = s->dims[dims[d]].len;
        void *data = wg_result_slot(r, i, v->type, nd - 1, NULL, count + 1);
        if (!data)
            rc = WG_ENOMEM;
        else
            rc = WG_NC(get_block(s->ncid, id, v->type, start, count, data), v->name);
    }
    if (rc)
        wg_result_free(r);
    return rc;
}

int wg_store_write(wg_store *s, const wg_result *r)
{
    size_t t = (size_t)r->task, one = 1;
    const wg_kind *kd = wg_kind_get(r->kind);
    if (t >= s->ntasks || !kd || r->nslots != kd->nvars)
        return WG_FAIL(WG_EARG, "task %zu: record does not fit the file", t);
    int nc = s->ncid, rc = 0;
    for (int i = 0; rc == 0 && i < r->nslots; i++)
        if (r->slots[i].set)
            rc = write_slot(s, r->kind, i, &r->slots[i], t);
    char msg[WG_MSG_LEN];
    memset(msg, 0, sizeof msg);
    memcpy(msg, r->message, strnlen(r->message, WG_MSG_LEN - 1));
    size_t st2[2] = {t, 0}, cm[2] = {1, WG_MSG_LEN};
    const char *w = "writing a task row";
    if (!rc) rc = WG_NC(nc_put_vara_text(nc, s->common[C_MESSAGE], st2, cm, msg), w);
    if (!rc) rc = WG_NC(nc_put_vara_double(nc, s->common[C_WALL], &t, &one, &r->wall_time), w);
    if (!rc) rc = WG_NC(nc_put_vara_int(nc, s->common[C_RANK], &t, &one, &r->rank), w);
    unsigned char status = (unsigned char)r->status; /* last: a done row is complete */
    if (!rc) rc = WG_NC(nc_put_vara_uchar(nc, s->common[C_STATUS], &t, &one, &status), w);
    return rc;
}

int wg_store_history(wg_store *s, const char *text)
{
    size_t len = 0;
    char *old = NULL;
    if (nc_inq_attlen(s->ncid, NC_GLOBAL, "history", &len) == NC_NOERR) {
        old = calloc(len + 1, 1);
        if (old)
            nc_get_att_text(s->ncid, NC_GLOBAL, "history", old);
    }
    char stamp[64];
    time_t now = time(NULL);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    size_t n = (old ? strlen(old) : 0) + strlen(text) + 80;
    char *h = malloc(n);
    if (!h) {
        free(old);
        return WG_FAIL(WG_ENOMEM, "out of memory");
    }
    snprintf(h, n, "%s%s%s: %s", old ? old : "", old ? "\n" : "", stamp, text);
    int rc = WG_NC(nc_redef(s->ncid), "history");
    if (!rc)
        rc = WG_NC(put_text_att(s->ncid, NC_GLOBAL, "history", h), "history");
    if (!rc)
        rc = WG_NC(nc_enddef(s->ncid), "history");
    free(old);
    free(h);
    return rc;
}

int wg_store_close(wg_store *s)
{
    if (!s->open)
        return 0;
    s->open = 0;
    free_ids(s);
    return WG_NC(nc_close(s->ncid), "closing the output");
}
