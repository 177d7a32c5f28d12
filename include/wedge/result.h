/* result.h: the record a task produces, and the crash-safe journal of records.
 *
 * A worker that finishes a task first writes its record to the journal directory
 * (OUT.nc.journal/task-<id>.rec: written to a temporary name, fsync'd, renamed, so a
 * record is either complete or absent), then into the shared NetCDF file.  HDF5
 * files are not crash-safe while open, so after a killed run `--resume` rebuilds
 * the NetCDF file from the journal: no completed task is lost or recomputed.  The
 * journal is deleted once the sweep is complete and the file closed cleanly. */
#ifndef WEDGE_RESULT_H
#define WEDGE_RESULT_H

#include <stddef.h>
#include <stdint.h>

/* Task status values, as stored in the `status` variable (CF flag_values). */
enum {
    WG_STATUS_PENDING = 0,
    WG_STATUS_DONE = 1,
    WG_STATUS_FAILED = 2,
    WG_STATUS_DIVERGED = 3
};

#define WG_MSG_LEN 256

typedef struct wg_result {
    uint64_t task;
    int kind;                   /* wg_task_kind of the task: how extra is laid out */
    int status;
    int rank;
    double wall_time;           /* seconds */
    char message[WG_MSG_LEN];   /* "" when done */
    int nepochs;                /* epochs with statistics */
    double *train_loss, *train_acc, *test_loss, *test_acc, *param_norm; /* nepochs */
    int nsnap;                  /* snapshots kept */
    int *snap_epoch;            /* nsnap */
    size_t nparams;
    float *params;              /* nsnap * nparams */
    size_t nextra;
    double *extra;              /* probe results, laid out by the task kind (store.c) */
} wg_result;

/* Allocate arrays for up to `epochs` epochs and `nsnap` snapshots of D parameters;
 * counts start at 0.  wg_result_free is safe on a zeroed record. */
int wg_result_init(wg_result *r, int epochs, int nsnap, size_t D);
/* Allocate r->extra for n doubles (zeroed). */
int wg_result_extra(wg_result *r, size_t n);
void wg_result_free(wg_result *r);

/* Journal directory of an output file: "<out>.journal". */
void wg_journal_dir(const char *out, char *dir, size_t size);
/* Create the directory if needed (0 or WG_EIO). */
int wg_journal_create(const char *dir);
/* Atomically write r as dir/task-<id>.rec (WG_EIO with the path and errno text,
 * e.g. on a full disk; a partial file never has the final name). */
int wg_journal_write(const char *dir, const wg_result *r);
/* Read dir/task-<id>.rec into r (allocating it): 0, WG_EIO if absent, WG_EFORMAT if
 * damaged. */
int wg_journal_read(const char *dir, uint64_t task, wg_result *r);
/* Ids of the records present: *ids allocated (caller frees), sorted ascending. */
int wg_journal_list(const char *dir, uint64_t **ids, size_t *n);
/* Remove the records and the directory. */
int wg_journal_remove(const char *dir);

#endif
