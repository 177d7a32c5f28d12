/* kind.h: task kinds as data.
 *
 * A task kind (train, tunnel, plane, connect, hessian, subspace, swa, slice) is one file
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

/* ---- sweep options ------------------------------------------------------------------------- */

/* Option types: integers (int or size_t fields), doubles, yes/no, one of `choices`
 * (stored as its index), lists of integers or doubles (with a count field), and a set
 * of choices (stored as a bit mask). */
typedef enum {
    WG_OPT_INT, WG_OPT_SIZE, WG_OPT_DOUBLE, WG_OPT_BOOL, WG_OPT_ENUM, WG_OPT_INTS,
    WG_OPT_DOUBLES, WG_OPT_SET
} wg_opt_type;

/* Options that apply to one kind of model only (the sweep refuses the other). */
enum { WG_SCOPE_ANY = 0, WG_SCOPE_NET, WG_SCOPE_TOY };

/* One option of a kind's section, as plain data. */
typedef struct wg_option {
    const char *key;
    wg_opt_type type;
    double lo, hi;              /* numbers and list entries: [lo, hi], (lo, hi] if lo_open */
    int lo_open;
    const char *deflt;          /* as written in YAML, list entries comma-separated; NULL:
                                   zero / empty */
    size_t off;                 /* field in the kind's options struct */
    size_t count_off;           /* lists: the int field holding the count */
    int max;                    /* lists: capacity */
    const char *const *choices; /* enum and set */
    int nchoices;
    int scope;                  /* WG_SCOPE_* */
    const char *doc;            /* one line */
    int plan_only;              /* shapes which tasks the plan has, not what any task
                                   computes: left out of task identities (src/reuse.c),
                                   so that growing it reuses the tasks already run */
} wg_option;

/* The plan under construction, with where every value was written (src/plan.c). */
typedef struct wg_planner wg_planner;

wg_plan *wg_planner_plan(wg_planner *pl);
/* Record "FILE:LINE:COLUMN: message" at option `key` of kind's section (at the
 * section itself if key is NULL or was not written) and return code. */
int wg_planner_fail(wg_planner *pl, int kind, const char *key, int code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Whether the sweep file wrote the option; and the last written option of a scope
 * (its key, or NULL). */
int wg_planner_given(const wg_planner *pl, int kind, const char *key);
const char *wg_planner_given_scope(const wg_planner *pl, int kind, int scope);
/* A new task of `kind` at the end of the plan, with the setting and coordinates of
 * task first_dep (ndeps 0, zeroed args): NULL with WG_ENOMEM recorded.  After the
 * caller filled it, wg_planner_added lets kinds attach their tasks to it. */
wg_task *wg_planner_add(wg_planner *pl, int kind, size_t first_dep);
int wg_planner_added(wg_planner *pl, size_t id);
/* Training tasks grouped by everything but the replicate: group g's members are
 * ids[g * stride .. + count[g]) in plan order (caller frees ids and count). */
int wg_planner_groups(wg_planner *pl, size_t **ids, size_t **count, size_t *ngroups,
                      size_t *stride);

/* ---- running ------------------------------------------------------------------------------ */

/* What a kind's run function gets besides its task: the worker's data cache and the
 * question whether to give up (asked between epochs, directions, steps ...). */
typedef struct wg_exec wg_exec;

/* ---- the descriptor ------------------------------------------------------------------------ */

typedef struct wg_kind {
    const char *name;           /* as in the file's `kind` flag_meanings */
    const char *summary;        /* one line, for `wedge schema` */
    /* the sweep's section ("probes.tunnel", "connectors"; NULL: the trainings) and its
     * options, parsed into a struct of opts_size bytes (wg_plan.opts[kind]) */
    const char *section;
    const wg_option *options;
    int noptions;
    size_t opts_size;
    /* after the section is parsed: what the option table cannot say */
    int (*check)(wg_planner *pl, void *opts);
    /* epochs of the trainings' snapshots the kind reads (count; NULL: the final) */
    int (*snapshot_epochs)(const void *opts, int *epochs);
    /* after the trainings, kinds plan in increasing plan_order */
    int plan_order;
    int (*plan)(wg_planner *pl, const void *opts);
    /* after any task `t` was planned: tasks of this kind that follow it directly */
    int (*attach)(wg_planner *pl, const void *opts, const wg_task *t);
    /* names of the task's args (t->arg[i]), for `wedge schema` */
    const char *args[WG_TASK_ARGS];
    /* bit i: arg i only labels the task (which set of optima it is in the plan), and
     * what it computes does not depend on it: no part of its identity (reuse.h) */
    unsigned label_args;
    const wg_dim *dims;
    int ndims;
    const wg_var *vars;
    int nvars;
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
/* Whether the plan has kind's section (its variables are then defined, even if no
 * task of it was planned); the trainings always. */
int wg_kind_enabled(const wg_plan *p, int kind);

/* The kinds' descriptors (src/task_<name>.c). */
extern const wg_kind wg_kind_train, wg_kind_tunnel, wg_kind_plane, wg_kind_connect,
    wg_kind_hessian, wg_kind_subspace, wg_kind_swa, wg_kind_slice;

/* What kinds read from each other's records. */
/* The parameters task t probes in its dependency j, a training record (its row of
 * `params`, the first D entries meaningful; *stride is the row length): the snapshot of
 * t->probe_epoch, or with t->probe_final the training's last.  0; WG_ESKIP (the
 * training stopped by its stop rule before that epoch, or was itself skipped: t is
 * skipped too, with a message saying why); WG_EARG (no such parameters). */
int wg_train_point(const wg_result *train, const wg_task *t, size_t j, const float **P,
                   size_t *stride);
/* Optimised point k of a connector record (its row of `connector_x`, the first D
 * entries meaningful), or NULL; *stride is the row length. */
const float *wg_connect_point(const wg_result *connect, int k, size_t *stride);

#endif
