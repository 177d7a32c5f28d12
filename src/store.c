/* store.c: the NetCDF-4 file of a sweep (schema in docs/output-format.md).
 * Every rank takes part in create/open/close (collective in parallel HDF5); rows
 * are written independently by whichever rank ran the task.  Per-task
 * hyperparameters are written once by rank 0 at creation, so the file describes the
 * whole plan before any task runs. */
#include "wedge/store.h"

#include <math.h>
#include <netcdf.h>
#include <netcdf_par.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

size_t wg_plan_max_params(const wg_plan *plan)
{
    size_t mx = 1;
    for (size_t i = 0; i < plan->ntasks; i++) {
        wg_net net;
        /* cap 1: a net this small allocates little; only nparams is wanted */
        if (wg_net_init(&net, &plan->tasks[i].set.net, 1) == 0) {
            if (net.nparams > mx)
                mx = net.nparams;
            wg_net_free(&net);
        }
    }
    return mx;
}

static int put_text_att(int ncid, int varid, const char *name, const char *text)
{
    return nc_put_att_text(ncid, varid, name, strlen(text), text);
}

static int def_var(int ncid, const char *name, nc_type type, int ndims, const int *dims,
                   const char *long_name, const char *units, int *varid)
{
    int e = nc_def_var(ncid, name, type, ndims, dims, varid);
    if (e == NC_NOERR)
        e = put_text_att(ncid, *varid, "long_name", long_name);
    if (e == NC_NOERR && units)
        e = put_text_att(ncid, *varid, "units", units);
    return e;
}

/* Per-task hyperparameters: every scalar of a setting, swept or not. */
typedef struct hp_def {
    const char *name, *long_name, *units;
    int text;
} hp_def;

static const hp_def HPS[] = {
    {"lr", "learning rate", "1", 0},
    {"l2", "L2 coefficient lambda of lambda*|w|^2", "1", 0},
    {"momentum", "SGD momentum", "1", 0},
    {"dropout", "dropout probability", "1", 0},
    {"width", "SimpleCNN width multiplier", "1", 0},
    {"depth", "MLP hidden layers", "1", 0},
    {"hidden", "MLP hidden units per layer", "1", 0},
    {"batch_size", "minibatch size", "images", 0},
    {"epochs", "training epochs", "epochs", 0},
    {"train_size", "training set size (0 = whole split)", "images", 0},
    {"test_size", "test set size (0 = whole split)", "images", 0},
    {"cycle_epochs", "cyclic schedule: epochs per cycle", "epochs", 0},
    {"min_ratio", "cyclic schedule: lowest lr / lr", "1", 0},
    {"seed", "replicate seed", "1", 0},
    {"dataset", "dataset", NULL, 1},
    {"arch", "architecture", NULL, 1},
    {"activation", "activation function", NULL, 1},
    {"optimizer", "optimizer", NULL, 1},
    {"schedule", "learning-rate schedule", NULL, 1},
};
#define NHPS (sizeof HPS / sizeof *HPS)

static double hp_value(const wg_setting *s, size_t k)
{
    switch (k) {
    case 0: return s->train.lr;
    case 1: return s->train.l2;
    case 2: return s->train.momentum;
    case 3: return s->net.dropout;
    case 4: return s->net.width;
    case 5: return s->net.depth;
    case 6: return s->net.hidden;
    case 7: return (double)s->train.batch_size;
    case 8: return s->train.epochs;
    case 9: return (double)s->train_size;
    case 10: return (double)s->test_size;
    case 11: return s->train.cycle_epochs;
    case 12: return s->train.min_ratio;
    case 13: return (double)s->replicate;
    default: return NAN;
    }
}

static const char *hp_text(const wg_setting *s, size_t k)
{
    switch (k) {
    case 14: return wg_data_kind_name(s->data);
    case 15: return wg_arch_name(s->net.arch);
    case 16: return wg_act_name(s->net.activation);
    case 17: return wg_opt_name(s->train.optimizer);
    case 18: return wg_sched_name(s->train.schedule);
    default: return "";
    }
}

static int define(wg_store *s, const wg_plan *plan, const wg_store_meta *meta, int *hpv)
{
    int nc = s->ncid, d_task, d_epoch, d_snap, d_param, d_msg, d_label, v;
    int rc = 0;
#define DEF(call) \
    if ((rc = WG_NC((call), "defining the output schema"))) \
        return rc
    DEF(nc_def_dim(nc, "task", s->ntasks, &d_task));
    DEF(nc_def_dim(nc, "epoch", s->nepochs, &d_epoch));
    DEF(nc_def_dim(nc, "snapshot", s->nsnap, &d_snap));
    DEF(nc_def_dim(nc, "param", s->nparam, &d_param));
    DEF(nc_def_dim(nc, "message_len", WG_MSG_LEN, &d_msg));
    DEF(nc_def_dim(nc, "label_len", LABEL_LEN, &d_label));
    int dt[1] = {d_task}, dte[2] = {d_task, d_epoch}, dts[2] = {d_task, d_snap};
    int dtm[2] = {d_task, d_msg}, dtl[2] = {d_task, d_label};
    int dtsp[3] = {d_task, d_snap, d_param};
    DEF(def_var(nc, "task", NC_INT, 1, dt, "task id", "1", &v));
    DEF(def_var(nc, "epoch", NC_INT, 1, &d_epoch, "epoch (1-based)", "epochs", &v));
    DEF(def_var(nc, "kind", NC_BYTE, 1, dt, "task kind", NULL, &v));
    {
        signed char fv[1] = {0};
        DEF(nc_put_att_schar(nc, v, "flag_values", NC_BYTE, 1, fv));
        DEF(put_text_att(nc, v, "flag_meanings", "train"));
    }
    DEF(def_var(nc, "status", NC_BYTE, 1, dt, "task status", NULL, &s->v_status));
    {
        signed char fv[4] = {0, 1, 2, 3}, fill = 0;
        DEF(nc_put_att_schar(nc, s->v_status, "flag_values", NC_BYTE, 4, fv));
        DEF(put_text_att(nc, s->v_status, "flag_meanings", "pending done failed diverged"));
        DEF(nc_def_var_fill(nc, s->v_status, 0, &fill));
    }
    DEF(def_var(nc, "message", NC_CHAR, 2, dtm, "error message of a failed task", NULL,
                &s->v_message));
    DEF(def_var(nc, "wall_time", NC_DOUBLE, 1, dt, "task wall-clock time", "s", &s->v_wall));
    DEF(def_var(nc, "rank", NC_INT, 1, dt, "MPI rank that ran the task", "1", &s->v_rank));
    DEF(def_var(nc, "nparams", NC_INT, 1, dt, "parameter count D of the task's network", "1",
                &s->v_nparams));
    for (size_t k = 0; k < NHPS; k++) {
        if (HPS[k].text) {
            DEF(def_var(nc, HPS[k].name, NC_CHAR, 2, dtl, HPS[k].long_name, NULL, &hpv[k]));
        } else {
            DEF(def_var(nc, HPS[k].name, NC_DOUBLE, 1, dt, HPS[k].long_name, HPS[k].units,
                        &hpv[k]));
        }
    }
    DEF(def_var(nc, "train_loss", NC_DOUBLE, 2, dte,
                "mean minibatch training loss over the epoch (dropout on, no L2)", "nat",
                &s->v_train_loss));
    DEF(def_var(nc, "train_accuracy", NC_DOUBLE, 2, dte,
                "minibatch training accuracy over the epoch", "1", &s->v_train_acc));
    DEF(def_var(nc, "test_loss", NC_DOUBLE, 2, dte, "test loss after the epoch", "nat",
                &s->v_test_loss));
    DEF(def_var(nc, "test_accuracy", NC_DOUBLE, 2, dte, "test accuracy after the epoch", "1",
                &s->v_test_acc));
    DEF(def_var(nc, "param_norm", NC_DOUBLE, 2, dte, "|theta| after the epoch", "1",
                &s->v_norm));
    DEF(def_var(nc, "snapshot_epoch", NC_INT, 2, dts, "epoch of each kept parameter vector",
                "epochs", &s->v_snap_epoch));
    DEF(def_var(nc, "params", NC_FLOAT, 3, dtsp,
                "flat parameter vector theta at each snapshot epoch (first nparams entries)",
                "1", &s->v_params));
    DEF(nc_def_var_fill(nc, s->v_params, 1, NULL)); /* NOFILL: rows are written whole */
    {
        int fill = -1;
        DEF(nc_put_att_int(nc, s->v_snap_epoch, "_FillValue", NC_INT, 1, &fill));
        DEF(nc_put_att_int(nc, s->v_rank, "_FillValue", NC_INT, 1, &fill));
    }
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

static int write_coords(wg_store *s, const wg_plan *plan, const int *hpv)
{
    int rc = 0, nc = s->ncid;
    size_t n = s->ntasks;
    int *iv = malloc(n * sizeof *iv);
    double *dv = malloc(n * sizeof *dv);
    char *tv = calloc(n, LABEL_LEN);
    signed char *kv = calloc(n, 1);
    if (!iv || !dv || !tv || !kv)
        rc = WG_FAIL(WG_ENOMEM, "out of memory writing coordinates");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        iv[i] = (int)i;
        kv[i] = (signed char)plan->tasks[i].kind;
    }
    if (rc == 0)
        rc = WG_NC(nc_put_var_int(nc, 0, iv), "writing task ids");
    int *ev = malloc(s->nepochs * sizeof *ev);
    for (size_t e = 0; ev && e < s->nepochs; e++)
        ev[e] = (int)e + 1;
    if (rc == 0 && ev)
        rc = WG_NC(nc_put_var_int(nc, 1, ev), "writing epochs");
    free(ev);
    if (rc == 0)
        rc = WG_NC(nc_put_var_schar(nc, 2, kv), "writing kinds");
    for (size_t k = 0; rc == 0 && k < NHPS; k++) {
        for (size_t i = 0; i < n; i++) {
            if (HPS[k].text)
                strncpy(tv + i * LABEL_LEN, hp_text(&plan->tasks[i].set, k), LABEL_LEN - 1);
            else
                dv[i] = hp_value(&plan->tasks[i].set, k);
        }
        rc = HPS[k].text ? WG_NC(nc_put_var_text(nc, hpv[k], tv), "writing coordinates")
                         : WG_NC(nc_put_var_double(nc, hpv[k], dv), "writing coordinates");
    }
    for (size_t i = 0; rc == 0 && i < n; i++) {
        wg_net net;
        iv[i] = 0;
        if (wg_net_init(&net, &plan->tasks[i].set.net, 1) == 0) {
            iv[i] = (int)net.nparams;
            wg_net_free(&net);
        }
    }
    if (rc == 0)
        rc = WG_NC(nc_put_var_int(nc, s->v_nparams, iv), "writing nparams");
    free(iv), free(dv), free(tv), free(kv);
    return rc;
}

int wg_store_create(wg_store *s, const char *path, const wg_plan *plan,
                    const wg_store_meta *meta, MPI_Comm comm, int clobber)
{
    memset(s, 0, sizeof *s);
    s->ntasks = plan->ntasks;
    s->nepochs = (size_t)plan->max_epochs;
    s->nsnap = (size_t)plan->max_snapshots;
    s->nparam = wg_plan_max_params(plan);
    int mode = NC_NETCDF4 | (clobber ? NC_CLOBBER : NC_NOCLOBBER);
    int e = nc_create_par(path, mode, comm, MPI_INFO_NULL, &s->ncid);
    if (e == NC_EEXIST)
        return WG_FAIL(WG_EIO, "%s exists: pass --resume to continue it or --force to overwrite it",
                       path);
    if (e != NC_NOERR)
        return WG_FAIL(WG_ENETCDF, "%s: cannot create: %s", path, nc_strerror(e));
    s->open = 1;
    int hpv[NHPS];
    int rc = define(s, plan, meta, hpv);
    if (rc == 0)
        rc = WG_NC(nc_enddef(s->ncid), "ending define mode");
    if (rc == 0)
        rc = set_independent(s);
    int rank;
    MPI_Comm_rank(comm, &rank);
    if (rc == 0 && rank == 0)
        rc = write_coords(s, plan, hpv);
    if (rc) {
        nc_close(s->ncid);
        s->open = 0;
    }
    return rc;
}

/* First line where two texts differ, for a useful refusal message. */
static void first_change(const char *a, const char *b, char *out, size_t size)
{
    int line = 1;
    const char *la = a, *lb = b;
    while (*a && *a == *b) {
        if (*a == '\n') {
            line++;
            la = a + 1;
            lb = b + 1;
        }
        a++, b++;
    }
    int na = (int)strcspn(la, "\n"), nb = (int)strcspn(lb, "\n");
    snprintf(out, size, "line %d was \"%.*s\", now \"%.*s\"", line, na > 80 ? 80 : na, la,
             nb > 80 ? 80 : nb, lb);
}

static int var_id(int ncid, const char *name, int *v)
{
    return WG_NC(nc_inq_varid(ncid, name, v), name);
}

int wg_store_open(wg_store *s, const char *path, const wg_plan *plan, MPI_Comm comm)
{
    memset(s, 0, sizeof *s);
    int e = nc_open_par(path, NC_WRITE, comm, MPI_INFO_NULL, &s->ncid);
    if (e != NC_NOERR)
        return WG_FAIL(WG_ENETCDF, "%s: cannot reopen for --resume: %s", path, nc_strerror(e));
    s->open = 1;
    int rc = 0;
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
                first_change(old, plan->text, what, sizeof what);
            free(old);
        }
        rc = WG_FAIL(WG_EARG,
                     "%s was written by a different sweep than %s (%s); refusing to resume. "
                     "Restore the sweep file, or start a new output with --force or -o",
                     path, plan->file, what);
    }
    int d;
    if (rc == 0 && !(rc = WG_NC(nc_inq_dimid(s->ncid, "task", &d), "task dimension")))
        rc = WG_NC(nc_inq_dimlen(s->ncid, d, &s->ntasks), "task dimension");
    if (rc == 0 && !(rc = WG_NC(nc_inq_dimid(s->ncid, "epoch", &d), "epoch dimension")))
        rc = WG_NC(nc_inq_dimlen(s->ncid, d, &s->nepochs), "epoch dimension");
    if (rc == 0 && !(rc = WG_NC(nc_inq_dimid(s->ncid, "snapshot", &d), "snapshot dimension")))
        rc = WG_NC(nc_inq_dimlen(s->ncid, d, &s->nsnap), "snapshot dimension");
    if (rc == 0 && !(rc = WG_NC(nc_inq_dimid(s->ncid, "param", &d), "param dimension")))
        rc = WG_NC(nc_inq_dimlen(s->ncid, d, &s->nparam), "param dimension");
    if (rc == 0 && s->ntasks != plan->ntasks)
        rc = WG_FAIL(WG_EFORMAT, "%s has %zu tasks, the sweep %zu", path, s->ntasks,
                     plan->ntasks);
    struct { const char *n; int *v; } vars[] = {
        {"status", &s->v_status}, {"message", &s->v_message}, {"wall_time", &s->v_wall},
        {"rank", &s->v_rank}, {"nparams", &s->v_nparams}, {"train_loss", &s->v_train_loss},
        {"train_accuracy", &s->v_train_acc}, {"test_loss", &s->v_test_loss},
        {"test_accuracy", &s->v_test_acc}, {"param_norm", &s->v_norm},
        {"snapshot_epoch", &s->v_snap_epoch}, {"params", &s->v_params}};
    for (size_t i = 0; rc == 0 && i < sizeof vars / sizeof *vars; i++)
        rc = var_id(s->ncid, vars[i].n, vars[i].v);
    if (rc == 0)
        rc = set_independent(s);
    if (rc) {
        nc_close(s->ncid);
        s->open = 0;
    }
    return rc;
}

int wg_store_read_status(wg_store *s, uint8_t *status)
{
    return WG_NC(nc_get_var_uchar(s->ncid, s->v_status, status), "reading task status");
}

int wg_store_write(wg_store *s, const wg_result *r)
{
    int nc = s->ncid, rc = 0;
    size_t t = (size_t)r->task;
    if (t >= s->ntasks)
        return WG_FAIL(WG_EARG, "task %zu out of range", t);
    size_t ne = (size_t)r->nepochs < s->nepochs ? (size_t)r->nepochs : s->nepochs;
    size_t ns = (size_t)r->nsnap < s->nsnap ? (size_t)r->nsnap : s->nsnap;
    size_t st2[2] = {t, 0}, ct2[2] = {1, ne};
    char msg[WG_MSG_LEN];
    memset(msg, 0, sizeof msg);
    memcpy(msg, r->message, strnlen(r->message, WG_MSG_LEN - 1));
    size_t cm[2] = {1, WG_MSG_LEN};
    size_t one = 1;
    const char *w = "writing a task row";
    if (ne > 0) {
        if (!rc) rc = WG_NC(nc_put_vara_double(nc, s->v_train_loss, st2, ct2, r->train_loss), w);
        if (!rc) rc = WG_NC(nc_put_vara_double(nc, s->v_train_acc, st2, ct2, r->train_acc), w);
        if (!rc) rc = WG_NC(nc_put_vara_double(nc, s->v_test_loss, st2, ct2, r->test_loss), w);
        if (!rc) rc = WG_NC(nc_put_vara_double(nc, s->v_test_acc, st2, ct2, r->test_acc), w);
        if (!rc) rc = WG_NC(nc_put_vara_double(nc, s->v_norm, st2, ct2, r->param_norm), w);
    }
    if (ns > 0 && r->nparams <= s->nparam) {
        size_t cs[2] = {1, ns}, st3[3] = {t, 0, 0}, ct3[3] = {1, ns, r->nparams};
        if (!rc) rc = WG_NC(nc_put_vara_int(nc, s->v_snap_epoch, st2, cs, r->snap_epoch), w);
        if (!rc && r->nparams > 0)
            rc = WG_NC(nc_put_vara_float(nc, s->v_params, st3, ct3, r->params), w);
    }
    if (!rc) rc = WG_NC(nc_put_vara_text(nc, s->v_message, st2, cm, msg), w);
    if (!rc) rc = WG_NC(nc_put_vara_double(nc, s->v_wall, &t, &one, &r->wall_time), w);
    if (!rc) rc = WG_NC(nc_put_vara_int(nc, s->v_rank, &t, &one, &r->rank), w);
    unsigned char status = (unsigned char)r->status; /* last: a done row is complete */
    if (!rc) rc = WG_NC(nc_put_vara_uchar(nc, s->v_status, &t, &one, &status), w);
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
    return WG_NC(nc_close(s->ncid), "closing the output");
}
