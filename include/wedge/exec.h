/* exec.h: running one task of a plan into a result record (no MPI, no NetCDF).
 * A worker keeps a wg_exec across tasks so that a dataset is loaded once. */
#ifndef WEDGE_EXEC_H
#define WEDGE_EXEC_H

#include "wedge/data.h"
#include "wedge/result.h"
#include "wedge/sweep.h"

typedef struct wg_exec {
    wg_data data;
    int have_data;
    wg_setting data_key; /* the data fields of the setting the cached data came from */
    uint64_t data_seed;
    wg_dataset probe;    /* probe set: seeded subset of data.train */
    size_t probe_size;   /* 0: none built */
} wg_exec;

/* Asked between epochs: nonzero abandons the task (it stays pending). */
typedef int (*wg_stop_fn)(void *user);

void wg_exec_init(wg_exec *x);
void wg_exec_free(wg_exec *x);

/* Run task t of plan into r (allocated here; the caller frees it with
 * wg_result_free).  deps[i] are the records of t->deps[i] (probes read the trained
 * parameters from them; NULL for training tasks).  Returns 0 when the task produced a
 * record: r->status is DONE, FAILED (r->message says why) or DIVERGED; returns
 * WG_EINTR if stop() asked to abandon it, or a negative error if not even a record
 * could be made. */
int wg_exec_task(wg_exec *x, const wg_plan *plan, const wg_task *t, int rank,
                 const wg_result *const *deps, wg_stop_fn stop, void *user, wg_result *r);

#endif
