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
#include "wedge/exec.h"
#include "wedge/swa.h"
#include "wedge/tunnel.h"

#define LABEL_LEN 32

/* Turn a netCDF status into ours; no caller locals involved. */
static int nc_check(int e, const char *what, const char *file, int line)
{
    if (e == NC_NOERR)
        return 0;
    return wg_err_set(WG_ENETCDF, file, line, "%s: %s", what, nc_strerror(e));
}
#define WG_NC(call, what) nc_check((call), (what), __FILE__, __LINE__)

static int any_probe(const wg_store *s)
{
    return s->tunnel || s->plane || s->connect || s->hessian || s->subspace || s->swa;
}

/* The swa variables (src/swa.h's parts, in its order): name, long_name, units. */
typedef struct swa_var {
    const char *name, *long_name, *units;
} swa_var;
static const swa_var SWA_SNAP[7] = {
    {"swa_snapshot_test_loss", "test loss of each cycle-end snapshot", "nat"},
    {"swa_snapshot_test_accuracy", "test accuracy of each snapshot", "1"},
    {"swa_snapshot_train_loss", "probe-set (training subset) loss of each snapshot", "nat"},
    {"swa_snapshot_train_accuracy", "probe-set accuracy of each snapshot", "1"},
    {"swa_snapshot_norm", "|theta_i| of each snapshot", "1"},
    {"swa_snapshot_start_distance", "|theta_i - theta0|: distance from the pre-trained point",
     "1"},
    {"swa_cycle_loss", "mean minibatch training loss over each cycle (dropout on, no L2)", "nat"},
};
static const swa_var SWA_START[5] = {
    {"swa_start_test_loss", "test loss of the pre-trained point theta0", "nat"},
    {"swa_start_test_accuracy", "test accuracy of theta0", "1"},
    {"swa_start_train_loss", "probe-set loss of theta0", "nat"},
    {"swa_start_train_accuracy", "probe-set accuracy of theta0", "1"},
    {"swa_start_norm", "|theta0|", "1"},
};
static const swa_var SWA_AVG[5] = {
    {"swa_test_loss", "test loss of the weight average (SWA) of the snapshots", "nat"},
    {"swa_test_accuracy", "test accuracy of the weight average", "1"},
    {"swa_train_loss", "probe-set loss of the weight average", "nat"},
    {"swa_train_accuracy", "probe-set accuracy of the weight average", "1"},
    {"swa_norm", "|weight average|", "1"},
};
static const swa_var SWA_ENS[4] = {
    {"ensemble_test_loss", "test loss of the snapshots' averaged softmax predictions", "nat"},
    {"ensemble_test_accuracy", "test accuracy of the averaged predictions", "1"},
    {"ensemble_train_loss", "probe-set loss of the averaged predictions", "nat"},
    {"ensemble_train_accuracy", "probe-set accuracy of the averaged predictions", "1"},
};

/* Dimensions of the connector and Hessian variables, from the plan. */
static void connect_sizes(wg_store *s, const wg_plan *plan)
{
    const wg_connect_plan *cp = &plan->connect;
    s->connect = cp->enabled;
    s->hessian = plan->hessian.enabled;
    s->npoint = s->nseg = 1;
    for (int k = 0; cp->enabled && k < cp->nm; k++) {
        size_t K = cp->m[k] == 1 ? (size_t)cp->points : 1;
        size_t nseg = cp->m[k] == 1 ? K + 1 : (size_t)cp->m[k] + 1;
        s->npoint = K > s->npoint ? K : s->npoint;
        s->nseg = nseg > s->nseg ? nseg : s->nseg;
    }
    s->neval = cp->enabled ? (size_t)cp->eval_points : 1;
    s->nritz = s->hessian ? (size_t)plan->hessian.budget : 1;
    s->subspace = plan->subspace.enabled;
    s->toy = 0;
    for (size_t i = 0; i < plan->ntasks; i++)
        s->toy |= plan->tasks[i].set.net.arch == WG_ARCH_TOY;
    s->swa = plan->swa.enabled;
    s->ncycle = s->swa ? (size_t)plan->swa.cycles : 1;
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

static int put_text_att(int ncid, int varid, const char *name, const char *text)
{
    return nc_put_att_text(ncid, varid, name, strlen(text), text);
}

static int def_var(int ncid, const char *name, nc_type type, int ndims, const int *dims,
                   const char *long_name, const char *units, int *varid)
{
    int e = nc_def_var(ncid, name, type, ndims, dims, varid);
    if (e == NC_NOERR && type == NC_DOUBLE) {
        /* NaN marks "not written" in every reader (the netCDF default 9.97e36 does not) */
        double nan = NAN;
        e = nc_def_var_fill(ncid, *varid, 0, &nan);
    }
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
    {"dim", "toy model: dimension D (NaN for a network)", "1", 0},
    {"long", "toy model: long directions n (NaN for a network)", "1", 0},
};
#define NHPS (sizeof HPS / sizeof *HPS)

/* The double that prints like the float x (its shortest decimal form). */
static double shortest(float x)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%.9g", (double)x);
    for (int p = 1; p <= 9; p++) {
        snprintf(buf, sizeof buf, "%.*g", p, (double)x);
        if ((float)strtod(buf, NULL) == x)
            break;
    }
    return strtod(buf, NULL);
}

static double hp_value(const wg_setting *s, size_t k)
{
    switch (k) {
    case 0: return s->train.lr;
    case 1: return s->train.l2;
    case 2: return s->train.momentum;
    case 3: return shortest(s->net.dropout); /* a float setting: 0.65, not 0.64999998 */
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
    case 19: return s->net.arch == WG_ARCH_TOY ? s->toy_dim : NAN;
    case 20: return s->net.arch == WG_ARCH_TOY ? s->toy_long : NAN;
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
        signed char fv[7] = {0, 1, 2, 3, 4, 5, 6};
        DEF(nc_put_att_schar(nc, v, "flag_values", NC_BYTE, 7, fv));
        DEF(put_text_att(nc, v, "flag_meanings",
                         "train tunnel plane connect hessian subspace swa"));
    }
    DEF(def_var(nc, "status", NC_BYTE, 1, dt, "task status", NULL, &s->v_status));
    {
        /* no _FillValue: xarray would decode "pending" (0) as missing; rank 0 writes
         * the zeros when the file is created */
        signed char fv[4] = {0, 1, 2, 3};
        DEF(nc_put_att_schar(nc, s->v_status, "flag_values", NC_BYTE, 4, fv));
        DEF(put_text_att(nc, s->v_status, "flag_meanings", "pending done failed diverged"));
        DEF(nc_def_var_fill(nc, s->v_status, 1, NULL));
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
    if (any_probe(s)) {
        DEF(def_var(nc, "probe_epoch", NC_INT, 1, dt, "snapshot epoch a probe reads", "epochs",
                    &s->v_probe_epoch));
        DEF(def_var(nc, "source_task", NC_INT, 1, dt, "training (or connector) task a probe reads",
                    "1", &s->v_source));
    }
    if (s->tunnel) {
        int d_dir, d_lev, d_pt, vl, va;
        DEF(nc_def_dim(nc, "direction", s->ndir, &d_dir));
        DEF(nc_def_dim(nc, "level", s->nlevel, &d_lev));
        DEF(nc_def_dim(nc, "point", WG_TUNNEL_MAX_POINTS, &d_pt));
        int dtl2[2] = {d_task, d_lev}, dtd[2] = {d_task, d_dir};
        int dtdl[3] = {d_task, d_dir, d_lev}, dtdp[3] = {d_task, d_dir, d_pt};
        DEF(def_var(nc, "level", NC_DOUBLE, 1, &d_lev,
                    "tunnel level: loss rise dL above L(P0), or the absolute chance level",
                    "nat", &vl));
        DEF(def_var(nc, "level_is_absolute", NC_BYTE, 1, &d_lev,
                    "1 if the level is an absolute loss (chance level ln classes)", NULL, &va));
        DEF(def_var(nc, "tunnel_norm", NC_DOUBLE, 1, dt, "|P0| at the probed optimum", "1",
                    &s->v_t_norm));
        DEF(def_var(nc, "tunnel_loss0", NC_DOUBLE, 1, dt, "probe-set loss L(P0)", "nat",
                    &s->v_t_loss0));
        DEF(def_var(nc, "tunnel_evals", NC_DOUBLE, 1, dt, "loss evaluations spent", "1",
                    &s->v_t_evals));
        DEF(def_var(nc, "tunnel_phi", NC_DOUBLE, 2, dtl2,
                    "angular width atan(median a* / |P0|) over this task's directions",
                    "radian", &s->v_t_phi));
        DEF(def_var(nc, "tunnel_astar", NC_DOUBLE, 3, dtdl,
                    "distance a* along direction v to the level (NaN: not reached)", "1",
                    &s->v_t_astar));
        DEF(def_var(nc, "tunnel_outcome", NC_BYTE, 3, dtdl, "how the search ended", NULL,
                    &s->v_t_how));
        {
            signed char fv[3] = {0, 1, 2}, fill = -1;
            DEF(nc_put_att_schar(nc, s->v_t_how, "flag_values", NC_BYTE, 3, fv));
            DEF(put_text_att(nc, s->v_t_how, "flag_meanings", "found not_reached at_start"));
            DEF(nc_def_var_fill(nc, s->v_t_how, 0, &fill));
        }
        DEF(def_var(nc, "tunnel_npoints", NC_INT, 2, dtd, "loss-profile points stored", "1",
                    &s->v_t_npoints));
        DEF(def_var(nc, "tunnel_profile_a", NC_DOUBLE, 3, dtdp,
                    "distance a of each loss evaluation along the direction", "1",
                    &s->v_t_prof_a));
        DEF(def_var(nc, "tunnel_profile_loss", NC_DOUBLE, 3, dtdp,
                    "probe-set loss L(P0 + a v) at each profile point", "nat",
                    &s->v_t_prof_loss));
    }
    if (s->plane) {
        int d_gx, d_gy, d_v, vs;
        DEF(nc_def_dim(nc, "plane_x", s->ngrid, &d_gx));
        DEF(nc_def_dim(nc, "plane_y", s->ngrid, &d_gy));
        DEF(nc_def_dim(nc, "vertex", 3, &d_v));
        int dtx[2] = {d_task, d_gx}, dty[2] = {d_task, d_gy}, dtv[2] = {d_task, d_v};
        int dtyx[3] = {d_task, d_gy, d_gx};
        DEF(def_var(nc, "plane_gx", NC_DOUBLE, 2, dtx,
                    "grid coordinate along e1 = (O2 - O1)/|O2 - O1|, from O1", "1", &s->v_p_gx));
        DEF(def_var(nc, "plane_gy", NC_DOUBLE, 2, dty,
                    "grid coordinate along e2 (O3 - O1 orthogonalised to e1), from O1", "1",
                    &s->v_p_gy));
        DEF(def_var(nc, "plane_vertex_x", NC_DOUBLE, 2, dtv,
                    "the three optima's coordinates along e1", "1", &s->v_p_vx));
        DEF(def_var(nc, "plane_vertex_y", NC_DOUBLE, 2, dtv,
                    "the three optima's coordinates along e2", "1", &s->v_p_vy));
        DEF(def_var(nc, "plane_loss", NC_DOUBLE, 3, dtyx,
                    "probe-set loss at O1 + x e1 + y e2 (this task's rows)", "nat",
                    &s->v_p_loss));
        DEF(def_var(nc, "plane_sources", NC_INT, 2, dtv, "the three training tasks (O1, O2, O3)",
                    "1", &vs));
        int fill = -1;
        DEF(nc_put_att_int(nc, vs, "_FillValue", NC_INT, 1, &fill));
    }
    if (s->connect) {
        int d_pt, d_pt2, d_seg, d_ev;
        DEF(nc_def_dim(nc, "conn_point", s->npoint, &d_pt));
        DEF(nc_def_dim(nc, "conn_point2", s->npoint, &d_pt2));
        DEF(nc_def_dim(nc, "conn_segment", s->nseg, &d_seg));
        DEF(nc_def_dim(nc, "conn_eval", s->neval, &d_ev));
        int dtp[2] = {d_task, d_pt}, dtpp[3] = {d_task, d_pt, d_pt2};
        int dtse[3] = {d_task, d_seg, d_ev}, dtpx[3] = {d_task, d_pt, d_param};
        DEF(def_var(nc, "connector_m", NC_INT, 1, dt, "connector order m (optima joined: m+1)",
                    "1", &s->v_c_m));
        {
            int ifill = -1;
            DEF(nc_put_att_int(nc, s->v_c_m, "_FillValue", NC_INT, 1, &ifill));
        }
        DEF(def_var(nc, "connector_x", NC_FLOAT, 3, dtpx,
                    "optimised connector points (1-connector: X_1..X_K; m-connector: the centre)",
                    "1", &s->v_c_x));
        DEF(nc_def_var_fill(nc, s->v_c_x, 1, NULL));
        DEF(def_var(nc, "connector_loss", NC_DOUBLE, 2, dtp,
                    "final value of the connector objective at each point", "nat", &s->v_c_loss));
        DEF(def_var(nc, "path_train_loss", NC_DOUBLE, 3, dtse,
                    "probe-set (training) loss along the connector path", "nat", &s->v_c_tl));
        DEF(def_var(nc, "path_train_accuracy", NC_DOUBLE, 3, dtse,
                    "probe-set accuracy along the connector path", "1", &s->v_c_ta));
        DEF(def_var(nc, "path_test_loss", NC_DOUBLE, 3, dtse, "test loss along the connector path",
                    "nat", &s->v_c_sl));
        DEF(def_var(nc, "path_test_accuracy", NC_DOUBLE, 3, dtse,
                    "test accuracy along the connector path", "1", &s->v_c_sa));
        DEF(def_var(nc, "path_changed_a", NC_DOUBLE, 3, dtse,
                    "fraction of test predictions that differ from O1's (m-connector: O_0's)", "1",
                    &s->v_c_ca));
        DEF(def_var(nc, "path_changed_b", NC_DOUBLE, 3, dtse,
                    "fraction of test predictions that differ from O2's (m-connector: the "
                    "segment's optimum)", "1", &s->v_c_cb));
        DEF(def_var(nc, "line_train_loss", NC_DOUBLE, 3, dtse,
                    "probe-set loss along the straight line (1-connector: O1 to O2; "
                    "m-connector: centroid to each optimum)", "nat", &s->v_c_lt));
        DEF(def_var(nc, "line_test_loss", NC_DOUBLE, 3, dtse, "test loss along the straight line",
                    "nat", &s->v_c_ls));
        DEF(def_var(nc, "barrier_path", NC_DOUBLE, 1, dt,
                    "largest probe-set loss along the connector path", "nat", &s->v_c_barrier));
        DEF(def_var(nc, "barrier_line", NC_DOUBLE, 1, dt,
                    "largest probe-set loss along the straight line", "nat", &s->v_c_line_barrier));
        DEF(def_var(nc, "deviation_cosine", NC_DOUBLE, 3, dtpp,
                    "cosine between the deviations X_k - C_k of two points", "1", &s->v_c_cos));
        DEF(def_var(nc, "plane_leak", NC_DOUBLE, 1, dt,
                    "largest |B (X - X0)| / |X - X0|: how far the points left their planes", "1",
                    &s->v_c_leak));
    }
    if (s->hessian) {
        int d_r;
        DEF(nc_def_dim(nc, "ritz", s->nritz, &d_r));
        int dtr[2] = {d_task, d_r};
        DEF(def_var(nc, "hessian_ritz", NC_DOUBLE, 2, dtr,
                    "Ritz values of the probe-set Hessian, descending", "nat", &s->v_h_ritz));
        DEF(def_var(nc, "hessian_residual", NC_DOUBLE, 2, dtr, "residual bound of each Ritz value",
                    "nat", &s->v_h_resid));
        DEF(def_var(nc, "hessian_n", NC_INT, 1, dt, "Ritz values stored", "1", &s->v_h_n));
        DEF(def_var(nc, "hessian_hvps", NC_INT, 1, dt, "Hessian-vector products spent", "1",
                    &s->v_h_hvps));
        DEF(def_var(nc, "hessian_converged", NC_BYTE, 1, dt,
                    "1 if Lanczos converged, 0 if it ran out of budget", NULL, &s->v_h_conv));
        DEF(def_var(nc, "n_short_half", NC_INT, 1, dt, "Ritz values above 0.5 x threshold", "1",
                    &s->v_h_half));
        DEF(def_var(nc, "n_short", NC_INT, 1, dt,
                    "number of short directions: Ritz values above the threshold", "1",
                    &s->v_h_count));
        DEF(def_var(nc, "n_short_double", NC_INT, 1, dt, "Ritz values above 2 x threshold", "1",
                    &s->v_h_double));
        DEF(def_var(nc, "hessian_at", NC_INT, 1, dt,
                    "where: 0 a trained optimum, 1 a connector point", "1", &s->v_h_at));
        DEF(def_var(nc, "hessian_point", NC_INT, 1, dt,
                    "connector point index (1-connector: X_{k+1}; m-connector: 0 = centre)", "1",
                    &s->v_h_point));
        DEF(nc_put_att_double(nc, s->v_h_count, "threshold", NC_DOUBLE, 1,
                              &plan->hessian.threshold));
        const int fill_vars[6] = {s->v_h_n, s->v_h_hvps, s->v_h_half, s->v_h_count,
                                  s->v_h_double, s->v_h_point};
        int ifill = -1;
        signed char bfill = -1;
        for (int i = 0; i < 6; i++) /* -1: not a Hessian row */
            DEF(nc_put_att_int(nc, fill_vars[i], "_FillValue", NC_INT, 1, &ifill));
        DEF(nc_put_att_schar(nc, s->v_h_conv, "_FillValue", NC_BYTE, 1, &bfill));
    }
    if (s->subspace) {
        DEF(def_var(nc, "subspace_d", NC_INT, 1, dt, "dimension d of the random subspace", "1",
                    &s->v_s_d));
        int ifill = -1;
        DEF(nc_put_att_int(nc, s->v_s_d, "_FillValue", NC_INT, 1, &ifill));
        DEF(def_var(nc, "subspace_epochs", NC_INT, 1, dt, "epochs trained in the subspace",
                    "epochs", &s->v_s_epochs));
        DEF(nc_put_att_int(nc, s->v_s_epochs, "_FillValue", NC_INT, 1, &ifill));
        DEF(def_var(nc, "subspace_train_loss", NC_DOUBLE, 1, dt,
                    "last epoch's mean minibatch loss inside the subspace", "nat", &s->v_s_tl));
        DEF(def_var(nc, "subspace_train_accuracy", NC_DOUBLE, 1, dt,
                    "last epoch's training accuracy inside the subspace", "1", &s->v_s_ta));
        DEF(def_var(nc, "subspace_test_loss", NC_DOUBLE, 1, dt,
                    "test loss after training inside the subspace", "nat", &s->v_s_sl));
        DEF(def_var(nc, "subspace_test_accuracy", NC_DOUBLE, 1, dt,
                    "test accuracy after training inside the subspace", "1", &s->v_s_sa));
        DEF(def_var(nc, "subspace_loss_initial", NC_DOUBLE, 1, dt,
                    "toy model: L_toy at the start of the hyperplane (theta = 0)", "1",
                    &s->v_s_l0));
        DEF(def_var(nc, "subspace_loss_final", NC_DOUBLE, 1, dt,
                    "toy model: L_toy after optimising theta", "1", &s->v_s_l1));
        DEF(def_var(nc, "subspace_loss_ratio", NC_DOUBLE, 1, dt,
                    "toy model: L_final / L_initial", "1", &s->v_s_ratio));
        signed char bfill = -1;
        DEF(def_var(nc, "subspace_success", NC_BYTE, 1, dt,
                    "toy model: 1 if L_final <= 1e-6 L_initial, else 0", "1", &s->v_s_ok));
        DEF(nc_put_att_schar(nc, s->v_s_ok, "_FillValue", NC_BYTE, 1, &bfill));
        DEF(def_var(nc, "subspace_steps", NC_INT, 1, dt, "toy model: optimiser steps taken",
                    "1", &s->v_s_steps));
        DEF(nc_put_att_int(nc, s->v_s_steps, "_FillValue", NC_INT, 1, &ifill));
        DEF(def_var(nc, "subspace_near_zero", NC_INT, 1, dt,
                    "toy model: near-zero coordinates of the final point, "
                    "|P_j| <= 1e-3 |P|/sqrt(D)", "1", &s->v_s_nz));
        DEF(nc_put_att_int(nc, s->v_s_nz, "_FillValue", NC_INT, 1, &ifill));
    }
    if (s->toy) {
        int ifill = -1;
        DEF(def_var(nc, "near_zero", NC_INT, 1, dt,
                    "toy model: near-zero coordinates of a training's final point, "
                    "|P_j| <= 1e-3 |P|/sqrt(D)", "1", &s->v_nz));
        DEF(nc_put_att_int(nc, s->v_nz, "_FillValue", NC_INT, 1, &ifill));
    }
    if (s->connect) {
        int d_point, ifill = -1;
        DEF(nc_inq_dimid(nc, "conn_point", &d_point));
        int dtp[2] = {d_task, d_point};
        DEF(def_var(nc, "connector_near_zero", NC_INT, 2, dtp,
                    "near-zero coordinates of each connector point, |X_j| <= 1e-3 |X|/sqrt(D)",
                    "1", &s->v_c_nz));
        DEF(nc_put_att_int(nc, s->v_c_nz, "_FillValue", NC_INT, 1, &ifill));
    }
    if (s->swa) {
        int d_c, d_c2, ifill = -1;
        DEF(nc_def_dim(nc, "swa_cycle", s->ncycle, &d_c));
        DEF(nc_def_dim(nc, "swa_cycle2", s->ncycle, &d_c2));
        int dtc[2] = {d_task, d_c}, dtcc[3] = {d_task, d_c, d_c2};
        const wg_swa_plan *sp = &plan->swa;
        DEF(def_var(nc, "swa_lr_max", NC_DOUBLE, 1, dt,
                    "swa: learning rate at the start of each cycle (NaN on other rows)", "1",
                    &s->v_w_lr));
        DEF(nc_put_att_double(nc, s->v_w_lr, "min_ratio", NC_DOUBLE, 1, &sp->min_ratio));
        DEF(put_text_att(nc, s->v_w_lr, "optimizer",
                         sp->optimizer < 0 ? "the training's" : wg_opt_name(sp->optimizer)));
        DEF(def_var(nc, "swa_cycles", NC_INT, 1, dt, "swa: cycles M (snapshots)", "1",
                    &s->v_w_cycles));
        DEF(nc_put_att_int(nc, s->v_w_cycles, "_FillValue", NC_INT, 1, &ifill));
        DEF(def_var(nc, "swa_cycle_epochs", NC_INT, 1, dt, "swa: epochs per cycle", "epochs",
                    &s->v_w_cycle_epochs));
        DEF(nc_put_att_int(nc, s->v_w_cycle_epochs, "_FillValue", NC_INT, 1, &ifill));
        for (int i = 0; i < 7; i++)
            DEF(def_var(nc, SWA_SNAP[i].name, NC_DOUBLE, 2, dtc, SWA_SNAP[i].long_name,
                        SWA_SNAP[i].units, &s->v_w_snap[i]));
        for (int i = 0; i < 5; i++)
            DEF(def_var(nc, SWA_START[i].name, NC_DOUBLE, 1, dt, SWA_START[i].long_name,
                        SWA_START[i].units, &s->v_w_start[i]));
        for (int i = 0; i < 5; i++)
            DEF(def_var(nc, SWA_AVG[i].name, NC_DOUBLE, 1, dt, SWA_AVG[i].long_name,
                        SWA_AVG[i].units, &s->v_w_avg[i]));
        for (int i = 0; i < 4; i++)
            DEF(def_var(nc, SWA_ENS[i].name, NC_DOUBLE, 1, dt, SWA_ENS[i].long_name,
                        SWA_ENS[i].units, &s->v_w_ens[i]));
        DEF(def_var(nc, "swa_distance", NC_DOUBLE, 3, dtcc,
                    "distance |theta_i - theta_j| between snapshots", "1", &s->v_w_dist));
        DEF(def_var(nc, "swa_cosine", NC_DOUBLE, 3, dtcc,
                    "cosine between snapshots theta_i and theta_j", "1", &s->v_w_cos));
        DEF(def_var(nc, "swa_delta_cosine", NC_DOUBLE, 3, dtcc,
                    "cosine between the displacements theta_i - theta0 and theta_j - theta0",
                    "1", &s->v_w_dcos));
    }
    /* CF auxiliary coordinates: xarray makes the hyperparameters coordinates */
    {
        char coords[512] = "kind";
        for (size_t k = 0; k < NHPS; k++) {
            strcat(coords, " ");
            strcat(coords, HPS[k].name);
        }
        if (s->swa)
            strcat(coords, " swa_lr_max");
        int nvars;
        DEF(nc_inq_nvars(nc, &nvars));
        for (int vi = 0; vi < nvars; vi++) {
            int nd, dims[NC_MAX_VAR_DIMS];
            char vname[NC_MAX_NAME + 1];
            DEF(nc_inq_var(nc, vi, vname, NULL, &nd, dims, NULL));
            int is_hp = strcmp(vname, "kind") == 0 || strcmp(vname, "task") == 0 ||
                        strcmp(vname, "swa_lr_max") == 0;
            for (size_t k = 0; k < NHPS; k++)
                is_hp |= strcmp(vname, HPS[k].name) == 0;
            if (nd >= 1 && dims[0] == d_task && !is_hp)
                DEF(put_text_att(nc, vi, "coordinates", coords));
        }
    }
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
    if (rc == 0 && s->tunnel) {
        double lev[WG_MAX_LEVELS], val[WG_MAX_LEVELS];
        signed char abs_[WG_MAX_LEVELS];
        int nl = wg_plan_tunnel_levels(plan, lev), vl, va;
        for (int l = 0; l < nl; l++) {
            val[l] = fabs(lev[l]);
            abs_[l] = lev[l] < 0;
        }
        rc = WG_NC(nc_inq_varid(nc, "level", &vl), "level");
        if (!rc) rc = WG_NC(nc_put_var_double(nc, vl, val), "writing levels");
        if (!rc) rc = WG_NC(nc_inq_varid(nc, "level_is_absolute", &va), "level");
        if (!rc) rc = WG_NC(nc_put_var_schar(nc, va, abs_), "writing levels");
    }
    if (rc == 0 && any_probe(s)) {
        for (size_t i = 0; i < n; i++)
            iv[i] = plan->tasks[i].kind == WG_TASK_TRAIN ? -1 : plan->tasks[i].probe_epoch;
        rc = WG_NC(nc_put_var_int(nc, s->v_probe_epoch, iv), "writing probe epochs");
        for (size_t i = 0; i < n; i++)
            iv[i] = plan->tasks[i].kind == WG_TASK_TRAIN ? -1 : (int)plan->tasks[i].deps[0];
        if (!rc) rc = WG_NC(nc_put_var_int(nc, s->v_source, iv), "writing probe sources");
    }
    if (rc == 0 && s->hessian) {
        for (size_t i = 0; i < n; i++)
            iv[i] = plan->tasks[i].kind == WG_TASK_HESSIAN ? plan->tasks[i].dir_first : -1;
        rc = WG_NC(nc_put_var_int(nc, s->v_h_at, iv), "writing hessian_at");
        for (size_t i = 0; i < n; i++)
            iv[i] = plan->tasks[i].kind == WG_TASK_HESSIAN ? plan->tasks[i].dir_count : -1;
        if (!rc) rc = WG_NC(nc_put_var_int(nc, s->v_h_point, iv), "writing hessian_point");
    }
    for (size_t i = 0; rc == 0 && s->plane && i < n; i++)
        if (plan->tasks[i].kind == WG_TASK_PLANE) {
            int src[3] = {(int)plan->tasks[i].deps[0], (int)plan->tasks[i].deps[1],
                          (int)plan->tasks[i].deps[2]};
            size_t st[2] = {i, 0}, ct[2] = {1, 3};
            int vs;
            rc = WG_NC(nc_inq_varid(nc, "plane_sources", &vs), "plane_sources");
            if (!rc) rc = WG_NC(nc_put_vara_int(nc, vs, st, ct, src), "writing plane sources");
        }
    if (rc == 0 && s->swa) { /* known from the plan: pending rows can be grouped too */
        const wg_swa_plan *sp = &plan->swa;
        for (size_t i = 0; i < n; i++)
            dv[i] = plan->tasks[i].kind == WG_TASK_SWA ? sp->lr_max[plan->tasks[i].dir_first]
                                                       : NAN;
        rc = WG_NC(nc_put_var_double(nc, s->v_w_lr, dv), "writing swa_lr_max");
        for (size_t i = 0; i < n; i++)
            iv[i] = plan->tasks[i].kind == WG_TASK_SWA ? sp->cycles : -1;
        if (!rc) rc = WG_NC(nc_put_var_int(nc, s->v_w_cycles, iv), "writing swa_cycles");
        for (size_t i = 0; i < n; i++)
            iv[i] = plan->tasks[i].kind == WG_TASK_SWA ? sp->cycle_epochs : -1;
        if (!rc)
            rc = WG_NC(nc_put_var_int(nc, s->v_w_cycle_epochs, iv), "writing swa_cycle_epochs");
    }
    for (size_t i = 0; rc == 0 && i < n; i++)
        kv[i] = 0; /* WG_STATUS_PENDING */
    if (rc == 0)
        rc = WG_NC(nc_put_var_schar(nc, s->v_status, kv), "writing status");
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
    for (size_t i = 0; rc == 0 && i < n; i++) /* probes keep no parameter vectors */
        iv[i] = plan->tasks[i].kind == WG_TASK_TRAIN ? (int)wg_setting_nparams(&plan->tasks[i].set)
                                                     : 0;
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
    s->tunnel = plan->tunnel.enabled;
    s->ndir = (size_t)plan->tunnel.directions;
    s->nlevel = (size_t)wg_plan_tunnel_levels(plan, NULL);
    s->plane = plan->plane.enabled;
    s->ngrid = (size_t)plan->plane.grid;
    connect_sizes(s, plan);
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

static int var_id(int ncid, const char *name, int *v)
{
    return WG_NC(nc_inq_varid(ncid, name, v), name);
}

static int swa_var_ids(wg_store *s)
{
    int rc = var_id(s->ncid, "swa_lr_max", &s->v_w_lr);
    if (!rc) rc = var_id(s->ncid, "swa_cycles", &s->v_w_cycles);
    if (!rc) rc = var_id(s->ncid, "swa_cycle_epochs", &s->v_w_cycle_epochs);
    for (int i = 0; !rc && i < 7; i++)
        rc = var_id(s->ncid, SWA_SNAP[i].name, &s->v_w_snap[i]);
    for (int i = 0; !rc && i < 5; i++)
        rc = var_id(s->ncid, SWA_START[i].name, &s->v_w_start[i]);
    for (int i = 0; !rc && i < 5; i++)
        rc = var_id(s->ncid, SWA_AVG[i].name, &s->v_w_avg[i]);
    for (int i = 0; !rc && i < 4; i++)
        rc = var_id(s->ncid, SWA_ENS[i].name, &s->v_w_ens[i]);
    if (!rc) rc = var_id(s->ncid, "swa_distance", &s->v_w_dist);
    if (!rc) rc = var_id(s->ncid, "swa_cosine", &s->v_w_cos);
    if (!rc) rc = var_id(s->ncid, "swa_delta_cosine", &s->v_w_dcos);
    return rc;
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
                wg_text_first_change(old, plan->text, what, sizeof what);
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
    /* every variable this plan's schema has, looked up once */
    s->tunnel = plan->tunnel.enabled;
    s->plane = plan->plane.enabled;
    connect_sizes(s, plan);
    const int C = s->connect, H = s->hessian, T = s->tunnel, P = s->plane, S = s->subspace;
    struct { const char *n; int *v; int need; } vars[] = {
        {"status", &s->v_status, 1}, {"message", &s->v_message, 1}, {"wall_time", &s->v_wall, 1},
        {"rank", &s->v_rank, 1}, {"nparams", &s->v_nparams, 1},
        {"train_loss", &s->v_train_loss, 1}, {"train_accuracy", &s->v_train_acc, 1},
        {"test_loss", &s->v_test_loss, 1}, {"test_accuracy", &s->v_test_acc, 1},
        {"param_norm", &s->v_norm, 1}, {"snapshot_epoch", &s->v_snap_epoch, 1},
        {"params", &s->v_params, 1},
        {"probe_epoch", &s->v_probe_epoch, any_probe(s)},
        {"source_task", &s->v_source, any_probe(s)},
        {"tunnel_norm", &s->v_t_norm, T}, {"tunnel_loss0", &s->v_t_loss0, T},
        {"tunnel_evals", &s->v_t_evals, T}, {"tunnel_phi", &s->v_t_phi, T},
        {"tunnel_astar", &s->v_t_astar, T}, {"tunnel_outcome", &s->v_t_how, T},
        {"tunnel_npoints", &s->v_t_npoints, T}, {"tunnel_profile_a", &s->v_t_prof_a, T},
        {"tunnel_profile_loss", &s->v_t_prof_loss, T},
        {"plane_gx", &s->v_p_gx, P}, {"plane_gy", &s->v_p_gy, P},
        {"plane_vertex_x", &s->v_p_vx, P}, {"plane_vertex_y", &s->v_p_vy, P},
        {"plane_loss", &s->v_p_loss, P},
        {"connector_m", &s->v_c_m, C}, {"connector_x", &s->v_c_x, C},
        {"connector_loss", &s->v_c_loss, C}, {"path_train_loss", &s->v_c_tl, C},
        {"path_train_accuracy", &s->v_c_ta, C}, {"path_test_loss", &s->v_c_sl, C},
        {"path_test_accuracy", &s->v_c_sa, C}, {"path_changed_a", &s->v_c_ca, C},
        {"path_changed_b", &s->v_c_cb, C}, {"line_train_loss", &s->v_c_lt, C},
        {"line_test_loss", &s->v_c_ls, C}, {"barrier_path", &s->v_c_barrier, C},
        {"barrier_line", &s->v_c_line_barrier, C}, {"deviation_cosine", &s->v_c_cos, C},
        {"plane_leak", &s->v_c_leak, C},
        {"hessian_ritz", &s->v_h_ritz, H}, {"hessian_residual", &s->v_h_resid, H},
        {"hessian_n", &s->v_h_n, H}, {"hessian_hvps", &s->v_h_hvps, H},
        {"hessian_converged", &s->v_h_conv, H}, {"n_short_half", &s->v_h_half, H},
        {"n_short", &s->v_h_count, H}, {"n_short_double", &s->v_h_double, H},
        {"hessian_at", &s->v_h_at, H}, {"hessian_point", &s->v_h_point, H},
        {"subspace_d", &s->v_s_d, S}, {"subspace_epochs", &s->v_s_epochs, S},
        {"subspace_train_loss", &s->v_s_tl, S}, {"subspace_train_accuracy", &s->v_s_ta, S},
        {"subspace_test_loss", &s->v_s_sl, S}, {"subspace_test_accuracy", &s->v_s_sa, S},
        {"subspace_loss_initial", &s->v_s_l0, S}, {"subspace_loss_final", &s->v_s_l1, S},
        {"subspace_loss_ratio", &s->v_s_ratio, S}, {"subspace_success", &s->v_s_ok, S},
        {"subspace_steps", &s->v_s_steps, S}, {"subspace_near_zero", &s->v_s_nz, S},
        {"near_zero", &s->v_nz, s->toy}, {"connector_near_zero", &s->v_c_nz, C}};
    for (size_t i = 0; rc == 0 && i < sizeof vars / sizeof *vars; i++)
        if (vars[i].need)
            rc = var_id(s->ncid, vars[i].n, vars[i].v);
    if (rc == 0 && s->swa)
        rc = swa_var_ids(s);
    s->ndir = (size_t)plan->tunnel.directions;
    s->nlevel = (size_t)wg_plan_tunnel_levels(plan, NULL);
    s->ngrid = (size_t)plan->plane.grid;
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

int wg_plan_tunnel_levels(const wg_plan *plan, double *levels)
{
    const wg_tunnel_plan *tp = &plan->tunnel;
    if (!tp->enabled)
        return 0;
    int n = 0;
    for (int l = 0; l < tp->nlevels; l++, n++)
        if (levels)
            levels[n] = tp->levels[l];
    /* the chance level ln(classes) means nothing for the toy model, which has no classes */
    if (tp->chance && !(plan->ntasks && plan->tasks[0].set.net.arch == WG_ARCH_TOY)) {
        if (levels) /* ln(classes); every task of a plan has the same data kind's classes */
            levels[n] = -log((double)(plan->ntasks ? plan->tasks[0].set.net.classes : 10));
        n++;
    }
    return n;
}

/* A tunnel record's extra doubles into the tunnel variables (dimension `direction`
 * offset by the task's first direction). */
static int write_tunnel(wg_store *s, const wg_result *r)
{
    int nc = s->ncid, rc = 0, count = (int)r->extra[0], first = (int)r->extra[1];
    int L = (int)r->extra[2];
    const double *x = r->extra + 3;
    size_t off[WG_TX_PARTS];
    if (count < 0 || first < 0 || (size_t)(first + count) > s->ndir || (size_t)L != s->nlevel ||
        3 + wg_tunnel_layout(count, L, off) != r->nextra)
        return WG_FAIL(WG_EFORMAT, "task %llu: tunnel record does not fit the file",
                       (unsigned long long)r->task);
    size_t t = (size_t)r->task, one = 1, cl = (size_t)count * (size_t)L;
    const char *w = "writing a tunnel row";
    double *phi = malloc((size_t)L * sizeof *phi);
    signed char *how = malloc(cl ? cl : 1);
    int *np = malloc((size_t)(count ? count : 1) * sizeof *np);
    if (!phi || !how || !np)
        rc = WG_FAIL(WG_ENOMEM, "out of memory");
    for (int l = 0; !rc && l < L; l++)
        phi[l] = wg_tunnel_phi(x + off[WG_TX_ASTAR] + l, count, L, x[off[WG_TX_NORM]]);
    for (size_t i = 0; !rc && i < cl; i++)
        how[i] = (signed char)x[off[WG_TX_HOW] + i];
    for (int k = 0; !rc && k < count; k++)
        np[k] = (int)x[off[WG_TX_NPOINTS] + (size_t)k];
    size_t s2[2] = {t, 0}, c2[2] = {1, (size_t)L};
    size_t s3[3] = {t, (size_t)first, 0}, c3[3] = {1, (size_t)count, (size_t)L};
    size_t c3p[3] = {1, (size_t)count, WG_TUNNEL_MAX_POINTS};
    size_t sd[2] = {t, (size_t)first}, cd[2] = {1, (size_t)count};
    if (!rc) rc = WG_NC(nc_put_vara_double(nc, s->v_t_norm, &t, &one, x + off[WG_TX_NORM]), w);
    if (!rc) rc = WG_NC(nc_put_vara_double(nc, s->v_t_loss0, &t, &one, x + off[WG_TX_LOSS0]), w);
    if (!rc) rc = WG_NC(nc_put_vara_double(nc, s->v_t_evals, &t, &one, x + off[WG_TX_EVALS]), w);
    if (!rc) rc = WG_NC(nc_put_vara_double(nc, s->v_t_phi, s2, c2, phi), w);
    if (!rc && count > 0) {
        rc = WG_NC(nc_put_vara_double(nc, s->v_t_astar, s3, c3, x + off[WG_TX_ASTAR]), w);
        if (!rc) rc = WG_NC(nc_put_vara_schar(nc, s->v_t_how, s3, c3, how), w);
        if (!rc) rc = WG_NC(nc_put_vara_int(nc, s->v_t_npoints, sd, cd, np), w);
        if (!rc)
            rc = WG_NC(nc_put_vara_double(nc, s->v_t_prof_a, s3, c3p, x + off[WG_TX_PROF_A]), w);
        if (!rc)
            rc = WG_NC(nc_put_vara_double(nc, s->v_t_prof_loss, s3, c3p,
                                          x + off[WG_TX_PROF_LOSS]), w);
    }
    free(phi);
    free(how);
    free(np);
    return rc;
}

/* A plane record's extra doubles: [nrows, row0, G, gx[G], gy[G], vx[3], vy[3],
 * loss[nrows*G]]. */
static int write_plane(wg_store *s, const wg_result *r)
{
    int nc = s->ncid, rc = 0;
    size_t t = (size_t)r->task, nrows = (size_t)r->extra[0], row0 = (size_t)r->extra[1];
    size_t G = s->ngrid;
    if (row0 + nrows > G)
        return WG_FAIL(WG_EFORMAT, "task %zu: plane rows out of range", t);
    const double *gx = r->extra + 3, *gy = gx + G, *vx = gy + G, *vy = vx + 3, *loss = vy + 3;
    size_t s2[2] = {t, 0}, cg[2] = {1, G}, c3[2] = {1, 3};
    size_t s3[3] = {t, row0, 0}, cl[3] = {1, nrows, G};
    const char *w = "writing a plane row";
    rc = WG_NC(nc_put_vara_double(nc, s->v_p_gx, s2, cg, gx), w);
    if (!rc) rc = WG_NC(nc_put_vara_double(nc, s->v_p_gy, s2, cg, gy), w);
    if (!rc) rc = WG_NC(nc_put_vara_double(nc, s->v_p_vx, s2, c3, vx), w);
    if (!rc) rc = WG_NC(nc_put_vara_double(nc, s->v_p_vy, s2, c3, vy), w);
    if (!rc && nrows > 0) rc = WG_NC(nc_put_vara_double(nc, s->v_p_loss, s3, cl, loss), w);
    return rc;
}

#define WG_MAX_CONNECT_POINTS 100 /* connectors.points is at most 100 (sweep.c) */
static int write_connect(wg_store *s, const wg_result *r)
{
    if (!s->connect || r->nextra < 5)
        return WG_FAIL(WG_EFORMAT, "task %llu: connector record does not fit the file",
                       (unsigned long long)r->task);
    const double *ex = r->extra;
    int m = (int)ex[0], K = (int)ex[1], nseg = (int)ex[2], E = (int)ex[3];
    size_t D = (size_t)ex[4], off[WG_CX_PARTS], t = (size_t)r->task, one = 1;
    if ((size_t)K > s->npoint || (size_t)nseg > s->nseg || (size_t)E != s->neval ||
        D > s->nparam || wg_connect_layout(K, nseg, E, D, off) != r->nextra)
        return WG_FAIL(WG_EFORMAT, "task %zu: connector record does not fit the file", t);
    int nc = s->ncid, rc = 0;
    const char *w = "writing a connector row";
    float *x = malloc((size_t)K * D * sizeof *x + 1);
    if (!x)
        return WG_FAIL(WG_ENOMEM, "out of memory");
    for (size_t i = 0; i < (size_t)K * D; i++)
        x[i] = (float)ex[off[WG_CX_X] + i];
    size_t sx[3] = {t, 0, 0}, cx[3] = {1, (size_t)K, D};
    size_t sp[2] = {t, 0}, cpn[2] = {1, (size_t)K};
    size_t se[3] = {t, 0, 0}, ce[3] = {1, (size_t)nseg, (size_t)E};
    size_t cc[3] = {1, (size_t)K, (size_t)K};
    rc = WG_NC(nc_put_vara_int(nc, s->v_c_m, &t, &one, &m), w);
    if (!rc) rc = WG_NC(nc_put_vara_float(nc, s->v_c_x, sx, cx, x), w);
    if (!rc) rc = WG_NC(nc_put_vara_double(nc, s->v_c_loss, sp, cpn, ex + off[WG_CX_LOSS]), w);
    const int vars[8] = {s->v_c_tl, s->v_c_ta, s->v_c_sl, s->v_c_sa, s->v_c_ca, s->v_c_cb,
                         s->v_c_lt, s->v_c_ls};
    for (int i = 0; !rc && i < 8; i++)
        rc = WG_NC(nc_put_vara_double(nc, vars[i], se, ce, ex + off[WG_CX_TRAIN_LOSS + i]), w);
    if (!rc) rc = WG_NC(nc_put_vara_double(nc, s->v_c_barrier, &t, &one, ex + off[WG_CX_BARRIER]), w);
    if (!rc)
        rc = WG_NC(nc_put_vara_double(nc, s->v_c_line_barrier, &t, &one,
                                      ex + off[WG_CX_BARRIER] + 1), w);
    if (!rc) rc = WG_NC(nc_put_vara_double(nc, s->v_c_cos, se, cc, ex + off[WG_CX_COS]), w);
    if (!rc) rc = WG_NC(nc_put_vara_double(nc, s->v_c_leak, &t, &one, ex + off[WG_CX_LEAK]), w);
    int nz[WG_MAX_CONNECT_POINTS];
    for (int k = 0; k < K && k < WG_MAX_CONNECT_POINTS; k++)
        nz[k] = (int)ex[off[WG_CX_NEAR_ZERO] + (size_t)k];
    if (!rc && K <= WG_MAX_CONNECT_POINTS)
        rc = WG_NC(nc_put_vara_int(nc, s->v_c_nz, sp, cpn, nz), w);
    free(x);
    return rc;
}

static int write_subspace(wg_store *s, const wg_result *r)
{
    size_t t = (size_t)r->task, one = 1;
    if (!s->subspace || r->nextra != WG_SUBSPACE_EXTRA)
        return WG_FAIL(WG_EFORMAT, "task %zu: subspace record does not fit the file", t);
    const double *ex = r->extra;
    int d = (int)ex[0], ep = (int)ex[1], nc = s->ncid, rc;
    const char *w = "writing a subspace row";
    rc = WG_NC(nc_put_vara_int(nc, s->v_s_d, &t, &one, &d), w);
    if (!rc) rc = WG_NC(nc_put_vara_int(nc, s->v_s_epochs, &t, &one, &ep), w);
    if (!rc) rc = WG_NC(nc_put_vara_double(nc, s->v_s_tl, &t, &one, ex + 2), w);
    if (!rc) rc = WG_NC(nc_put_vara_double(nc, s->v_s_ta, &t, &one, ex + 3), w);
    if (!rc) rc = WG_NC(nc_put_vara_double(nc, s->v_s_sl, &t, &one, ex + 4), w);
    if (!rc) rc = WG_NC(nc_put_vara_double(nc, s->v_s_sa, &t, &one, ex + 5), w);
    /* the toy model's hyperplane figures (-1 / NaN for a network) */
    signed char ok = (signed char)ex[9];
    int steps = (int)ex[10], nz = (int)ex[11];
    if (!rc) rc = WG_NC(nc_put_vara_double(nc, s->v_s_l0, &t, &one, ex + 6), w);
    if (!rc) rc = WG_NC(nc_put_vara_double(nc, s->v_s_l1, &t, &one, ex + 7), w);
    if (!rc) rc = WG_NC(nc_put_vara_double(nc, s->v_s_ratio, &t, &one, ex + 8), w);
    if (!rc) rc = WG_NC(nc_put_vara_schar(nc, s->v_s_ok, &t, &one, &ok), w);
    if (!rc) rc = WG_NC(nc_put_vara_int(nc, s->v_s_steps, &t, &one, &steps), w);
    if (!rc) rc = WG_NC(nc_put_vara_int(nc, s->v_s_nz, &t, &one, &nz), w);
    return rc;
}

/* A swa record's extra doubles (wg_swa_layout) into the swa variables. */
static int write_swa(wg_store *s, const wg_result *r)
{
    size_t t = (size_t)r->task, one = 1, off[WG_SX_PARTS];
    int M = r->nextra >= 4 ? (int)r->extra[0] : -1;
    if (!s->swa || M < 1 || (size_t)M > s->ncycle || (size_t)r->extra[3] > s->nparam ||
        wg_swa_layout(M, off) != r->nextra)
        return WG_FAIL(WG_EFORMAT, "task %zu: swa record does not fit the file", t);
    const double *ex = r->extra;
    size_t s2[2] = {t, 0}, c2[2] = {1, (size_t)M};
    size_t s3[3] = {t, 0, 0}, c3[3] = {1, (size_t)M, (size_t)M};
    int nc = s->ncid, rc = 0;
    const char *w = "writing a swa row";
    for (int i = 0; !rc && i < 7; i++)
        rc = WG_NC(nc_put_vara_double(nc, s->v_w_snap[i], s2, c2,
                                      ex + off[WG_SX_SNAP_TEST_LOSS + i]), w);
    for (int i = 0; !rc && i < 5; i++)
        rc = WG_NC(nc_put_vara_double(nc, s->v_w_start[i], &t, &one, ex + off[WG_SX_START] + i), w);
    for (int i = 0; !rc && i < 5; i++)
        rc = WG_NC(nc_put_vara_double(nc, s->v_w_avg[i], &t, &one, ex + off[WG_SX_AVG] + i), w);
    for (int i = 0; !rc && i < 4; i++)
        rc = WG_NC(nc_put_vara_double(nc, s->v_w_ens[i], &t, &one, ex + off[WG_SX_ENS] + i), w);
    if (!rc) rc = WG_NC(nc_put_vara_double(nc, s->v_w_dist, s3, c3, ex + off[WG_SX_DIST]), w);
    if (!rc) rc = WG_NC(nc_put_vara_double(nc, s->v_w_cos, s3, c3, ex + off[WG_SX_COS]), w);
    if (!rc) rc = WG_NC(nc_put_vara_double(nc, s->v_w_dcos, s3, c3, ex + off[WG_SX_DCOS]), w);
    return rc;
}

static int write_hessian(wg_store *s, const wg_result *r)
{
    size_t t = (size_t)r->task, one = 1;
    int n = r->nextra >= 6 ? (int)r->extra[0] : -1;
    if (!s->hessian || n < 0 || (size_t)n > s->nritz || r->nextra != 6 + 2 * (size_t)n)
        return WG_FAIL(WG_EFORMAT, "task %zu: Hessian record does not fit the file", t);
    const double *ex = r->extra;
    int iv[6] = {n, (int)ex[1], 0, (int)ex[3], (int)ex[4], (int)ex[5]};
    signed char conv = (signed char)ex[2];
    size_t s2[2] = {t, 0}, c2[2] = {1, (size_t)n};
    int nc = s->ncid, rc = 0;
    const char *w = "writing a Hessian row";
    rc = WG_NC(nc_put_vara_int(nc, s->v_h_n, &t, &one, &iv[0]), w);
    if (!rc) rc = WG_NC(nc_put_vara_int(nc, s->v_h_hvps, &t, &one, &iv[1]), w);
    if (!rc) rc = WG_NC(nc_put_vara_schar(nc, s->v_h_conv, &t, &one, &conv), w);
    if (!rc) rc = WG_NC(nc_put_vara_int(nc, s->v_h_half, &t, &one, &iv[3]), w);
    if (!rc) rc = WG_NC(nc_put_vara_int(nc, s->v_h_count, &t, &one, &iv[4]), w);
    if (!rc) rc = WG_NC(nc_put_vara_int(nc, s->v_h_double, &t, &one, &iv[5]), w);
    if (!rc && n > 0) rc = WG_NC(nc_put_vara_double(nc, s->v_h_ritz, s2, c2, ex + 6), w);
    if (!rc && n > 0) rc = WG_NC(nc_put_vara_double(nc, s->v_h_resid, s2, c2, ex + 6 + n), w);
    return rc;
}

int wg_store_read_result(wg_store *s, size_t task, wg_result *r)
{
    int np = 0, rc;
    size_t one = 1;
    rc = WG_NC(nc_get_vara_int(s->ncid, s->v_nparams, &task, &one, &np), "reading nparams");
    if (!rc)
        rc = wg_result_init(r, 0, (int)s->nsnap, (size_t)np);
    if (rc)
        return rc;
    r->task = task;
    size_t st2[2] = {task, 0}, cs[2] = {1, s->nsnap};
    size_t st3[3] = {task, 0, 0}, ct3[3] = {1, s->nsnap, (size_t)np};
    rc = WG_NC(nc_get_vara_int(s->ncid, s->v_snap_epoch, st2, cs, r->snap_epoch),
               "reading snapshot epochs");
    if (!rc && np > 0)
        rc = WG_NC(nc_get_vara_float(s->ncid, s->v_params, st3, ct3, r->params),
                   "reading parameters");
    r->nsnap = (int)s->nsnap;
    r->status = WG_STATUS_DONE;
    if (rc)
        wg_result_free(r);
    return rc;
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
    if (!rc && r->nextra > 0) {
        switch (r->kind) {
        case WG_TASK_TUNNEL: rc = write_tunnel(s, r); break;
        case WG_TASK_PLANE: rc = write_plane(s, r); break;
        case WG_TASK_CONNECT: rc = write_connect(s, r); break;
        case WG_TASK_HESSIAN: rc = write_hessian(s, r); break;
        case WG_TASK_SUBSPACE: rc = write_subspace(s, r); break;
        case WG_TASK_TRAIN:
            if (s->toy && r->nextra == 1) { /* the toy's near-zero count */
                int nz = (int)r->extra[0];
                rc = WG_NC(nc_put_vara_int(nc, s->v_nz, &t, &one, &nz), w);
            }
            break;
        case WG_TASK_SWA: rc = write_swa(s, r); break;
        default: break;
        }
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
