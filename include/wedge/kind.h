/* kind.h: task kinds as data.
 *
 * A task kind (train, tunnel, plane, connect, hessian, subspace, swa) is one file
 * src/task_<kind>.c holding a descriptor: its output dimensions and variables (name,
 * dimensions, type, long_name, units, fill value), its sweep options, how it plans
 * tasks, and how it runs one task into a record whose slots follow the variable
 * table.  The sweep parser, the NetCDF store, `wedge schema` and the plan printer
 * loop over these tables; none of them names a kind's variable or option.  Adding a
 * kind is its file, one enum value and one row of the table in kind.c. */
#ifndef WEDGE_KIND_H
#define WEDGE_KIND_H

#include <stddef.h>
#include <stdint.h>

#include "wedge/result.h"
#include "wedge/sweep.h"

/* ---- output variables ----------------------------------------------------------------- */

/* Fill values of variables (what a row no task wrote reads as). */
enum {
    WG_FILL_DEFAULT = 0, /* NaN for doubles and floats, netCDF's default for the rest */
    WG_FILL_NONE,        /* no fill: rows are always written whole (or the file says so) */
    WG_FILL_MINUS1,      /* -1 as _FillValue */
    WG_FILL_NETCDF       /* netCDF's own default even for doubles (no _FillValue attribute) */
};

/* One output dimension and how large a plan makes it. */
typedef struct wg_dim {
    const char *name;
    size_t (*size)(const wg_plan *p);
} wg_dim;

/* One output variable.  `dims` lists the dimensions after `task`, space-separated
 * ("" for one value per task); with per_task = 0 the variable has no task dimension
 * and `dims` is all of them.  Variables with a plan_value are written once, when the
 * file is created, from the plan (rank 0); the others by the tasks' records, slot i
 * of a record holding variable i of its kind's table. */
typedef struct wg_var {
    const char *name;
    wg_type type;
    const char *dims;
    const char *long_name;
    const char *units;          /* NULL: no units attribute */
    int fill;                   /* WG_FILL_* */
    const char *flags;          /* CF flag_meanings of values 0, 1, ... (or NULL) */
    int per_task;               /* 1 unless the variable has no task dimension */
    int coordinate;             /* a coordinate of the task rows (xarray), not data */
    /* Plan-time values: task t's row (or, per_task 0, the whole variable when t is
     * NULL) into v[0 .. product of the dimensions after task), prefilled with the fill
     * value.  NULL: written by records. */
    void (*plan_value)(const wg_plan *p, const wg_task *t, double *v);
    /* Defined only when this says so (NULL: whenever the kind is). */
    int (*when)(const wg_plan *p);
} wg_var;

/* One extra attribute of a variable (or of the file, var NULL). */
typedef void (*wg_att_fn)(void *ctx, const char *var, const char *name, const char *text,
                          double num);

/* ---- running ------------------------------------------------------------------------------ */

/* What a kind's run function gets besides its task: the worker's data cache and the
 * question whether to give up (asked between epochs, directions, steps ...). */
typedef struct wg_exec wg_exec;

/* ---- the descriptor ------------------------------------------------------------------------ */

typedef struct wg_kind {
    const char *name;           /* as in the file's `kind` flag_meanings */
    const char *summary;        /* one line, for `wedge schema` */
    const wg_dim *dims;
    int ndims;
    const wg_var *vars;
    int nvars;
    /* whether the plan has this kind's section (its variables are then defined, even
     * if no task of it was planned) */
    int (*enabled)(const wg_plan *p);
    /* extra attributes of the kind's variables */
    void (*attrs)(const wg_plan *p, wg_att_fn put, void *ctx);
    /* Run task t (deps[i]: the records of t->deps[i], NULL if unavailable) into r,
     * which the caller initialised with nvars slots.  0 (status set by the caller), a
     * negative error (the task failed or diverged; the error record says why), or
     * WG_EINTR when stopped. */
    int (*run)(wg_exec *x, const wg_plan *p, const wg_task *t, const wg_result *const *deps,
               wg_result *r);
    /* "epoch=3 directions=0..7": what distinguishes the task beyond its setting */
    void (*describe)(const wg_plan *p, const wg_task *t, char *buf, size_t cap);
} wg_kind;

/* The kinds, indexed by wg_task_kind. */
const wg_kind *wg_kind_get(int kind);

/* The kinds' descriptors (src/task_<name>.c). */
extern const wg_kind wg_kind_train, wg_kind_tunnel, wg_kind_plane, wg_kind_connect,
    wg_kind_hessian, wg_kind_subspace, wg_kind_swa;

/* What kinds read from each other's records. */
/* The parameters of epoch `epoch` in a training record (its row of `params`, the
 * first D entries meaningful), or NULL; *stride is the row length. */
const float *wg_train_snapshot(const wg_result *train, int epoch, size_t *stride);
/* Optimised point k of a connector record (its row of `connector_x`, the first D
 * entries meaningful), or NULL; *stride is the row length. */
const float *wg_connect_point(const wg_result *connect, int k, size_t *stride);

#endif
