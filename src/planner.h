/* planner.h: the state the sweep reader (src/sweep.c) hands to the planner
 * (src/plan.c): the plan so far and where in the file every value was written, so
 * that an error found while expanding tasks still names its FILE:LINE:COLUMN.
 * Private to those two files; kinds see it only through kind.h's wg_planner_*. */
#ifndef WEDGE_PLANNER_H
#define WEDGE_PLANNER_H

#include "wedge/kind.h"
#include "wedge/sweep.h"

#define WG_MAX_OPTIONS 32

typedef struct wg_mark {
    int line, col; /* 1-based; line 0 = nowhere */
} wg_mark;

/* One factor of the Cartesian product: a crossed axis, or a zip group's axes. */
typedef struct wg_factor {
    size_t n, first, count;
} wg_factor;

struct wg_planner {
    wg_plan *p;
    const char *file;
    const char *text;                   /* the sweep's text */
    int override_line;                  /* line of its command-line overrides' marker, or 0 */
    wg_mark root;
    wg_mark data_at, model_at, train_at; /* the data/model/train sections */
    wg_mark given[WG_NKEYS];            /* where each key was set in its section */
    int key_axis[WG_NKEYS];             /* axis sweeping the key, or -1 */
    int axis_key[WG_MAX_AXES];
    wg_mark *vat[WG_MAX_AXES];          /* where each axis value was written (owned) */
    size_t nfactors;
    wg_factor factors[WG_MAX_AXES];
    size_t product;                     /* tasks of the factors so far */
    int ngroups;                        /* zip groups */
    wg_mark kind_at[WG_TASK_KINDS];     /* each kind's section */
    wg_mark opt_at[WG_TASK_KINDS][WG_MAX_OPTIONS]; /* each option's value, if written */
    int opt_seq[WG_TASK_KINDS][WG_MAX_OPTIONS];    /* in which order options were read */
    int seq;
    size_t cap;                         /* tasks allocated */
};

/* "FILE:LINE:COLUMN: message" at mark m (nowhere: 1:1); returns code. */
int wg_planner_fail_at(const wg_planner *pl, wg_mark m, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Expand the product of the axes into training tasks (each checked as a whole), then
 * let every enabled kind plan its tasks. */
int wg_planner_expand(wg_planner *pl);

/* Kind k's options struct with every default set (plan owns it). */
int wg_planner_kind_defaults(wg_planner *pl, int kind);

/* Set option o of kind's struct opts from the number x (lists: entry i). */
void wg_option_store(const wg_option *o, void *opts, int i, double x);

#endif
