/* store.h: the NetCDF-4 output of a sweep: schema, parallel create/open, writes.
 *
 * All ranks create (or reopen) the file together and define every dimension and
 * variable from the plan; then each worker writes its own tasks' rows with
 * independent access, status last, so a row marked done is complete.  Fixed-size
 * dimensions only, no compression on independently written variables. */
#ifndef WEDGE_STORE_H
#define WEDGE_STORE_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#include "wedge/result.h"
#include "wedge/sweep.h"

typedef struct wg_store {
    int ncid;
    int open;
    size_t ntasks, nepochs, nsnap, nparam;
    int v_status, v_message, v_wall, v_rank, v_nparams;
    int v_train_loss, v_train_acc, v_test_loss, v_test_acc, v_norm, v_snap_epoch, v_params;
    /* tunnel probes (when the plan has them) */
    int tunnel;
    size_t ndir, nlevel;
    int v_probe_epoch, v_source, v_t_norm, v_t_loss0, v_t_evals, v_t_phi, v_t_astar,
        v_t_how, v_t_npoints, v_t_prof_a, v_t_prof_loss;
    /* plane probes */
    int plane;
    size_t ngrid;
    int v_p_gx, v_p_gy, v_p_vx, v_p_vy, v_p_loss;
    /* connectors and Hessian probes */
    int connect, hessian;
    size_t npoint, nseg, neval, nritz;
    int v_c_x, v_c_loss, v_c_tl, v_c_ta, v_c_sl, v_c_sa, v_c_ca, v_c_cb, v_c_lt, v_c_ls,
        v_c_barrier, v_c_line_barrier, v_c_cos, v_c_leak, v_c_m;
    int v_h_ritz, v_h_resid, v_h_n, v_h_hvps, v_h_conv, v_h_half, v_h_count, v_h_double,
        v_h_at, v_h_point;
    int subspace;
    int v_s_d, v_s_epochs, v_s_tl, v_s_ta, v_s_sl, v_s_sa;
    /* the toy model: hyperplane results, near-zero counts at optima and connector points */
    int toy;
    int v_s_l0, v_s_l1, v_s_ratio, v_s_ok, v_s_steps, v_s_nz, v_nz, v_c_nz;
    /* swa probes: per snapshot (dimension swa_cycle), weight average, prediction average */
    int swa;
    size_t ncycle;
    int v_w_lr, v_w_cycles, v_w_cycle_epochs, v_w_snap[7], v_w_start[5], v_w_avg[5],
        v_w_ens[4], v_w_dist, v_w_cos, v_w_dcos;
} wg_store;

/* Metadata written as global attributes. */
typedef struct wg_store_meta {
    const char *version;
    int mpi_size;
    const char *blas_config;
    int blas_threads;
    const char *command;   /* for the history attribute */
} wg_store_meta;

/* Largest parameter count over the plan's tasks. */
size_t wg_plan_max_params(const wg_plan *plan);

/* Collective: create path (refusing to overwrite unless `clobber`), define the schema,
 * write the per-task coordinates.  0 or WG_ENETCDF/WG_EIO with a message. */
int wg_store_create(wg_store *s, const char *path, const wg_plan *plan,
                    const wg_store_meta *meta, MPI_Comm comm, int clobber);
/* Collective: reopen an existing output for resuming; WG_EARG if it was written by
 * a different sweep (the message quotes the first line that changed). */
int wg_store_open(wg_store *s, const char *path, const wg_plan *plan, MPI_Comm comm);
/* Read the status of every task (status[ntasks]). */
int wg_store_read_status(wg_store *s, uint8_t *status);
/* The levels of a plan's tunnel probes as wg_tunnel_opts.levels (dL > 0, or minus
 * an absolute loss for the chance level); returns their count. */
int wg_plan_tunnel_levels(const wg_plan *plan, double *levels);

/* Independent: read a finished task's snapshots back (for probes whose training
 * task finished in an earlier run). */
int wg_store_read_result(wg_store *s, size_t task, wg_result *r);

/* Independent: write one task's row (all variables, status last). */
int wg_store_write(wg_store *s, const wg_result *r);
/* Collective: close. */
int wg_store_close(wg_store *s);

/* Append "date: text" to the history attribute (while open). */
int wg_store_history(wg_store *s, const char *text);

#endif
