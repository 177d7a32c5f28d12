/* store.h: the NetCDF-4 output of a sweep: schema, parallel create/open, writes.
 *
 * All ranks create (or reopen) the file together and define every dimension and
 * variable from the plan, by looping over the task kinds' tables (kind.h) and the
 * store's own table of per-task variables; then each worker writes its own tasks'
 * rows with independent access, status last, so a row marked done is complete.
 * Fixed-size dimensions only, no compression on independently written variables. */
#ifndef WEDGE_STORE_H
#define WEDGE_STORE_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#include "wedge/kind.h"
#include "wedge/result.h"
#include "wedge/sweep.h"

#define WG_STORE_MAX_DIMS 48

typedef struct wg_store {
    int ncid;
    int open;
    size_t ntasks;
    int ndims;
    struct {
        const char *name;
        size_t len;
        int id;
    } dims[WG_STORE_MAX_DIMS];
    int *varid[WG_TASK_KINDS]; /* netCDF id of each variable of each kind, -1 if absent */
    int *common;               /* the store's own variables' ids */
} wg_store;

/* Metadata written as global attributes. */
typedef struct wg_store_meta {
    const char *version;
    int mpi_size;
    const char *blas_config;
    int blas_threads;
    const char *command;   /* for the history attribute */
} wg_store_meta;

/* The units attribute a variable is written with, UDUNITS-2 valid: the tables' "nat"
 * (UDUNITS reads it as nano-technical-atmospheres), "epochs" and "images" are
 * dimensionless counts, written as "1" with the word appended to the long_name
 * ("test loss after the epoch (nats)"); anything else as it is.  The long_name to
 * write goes into ln (cap bytes). */
const char *wg_units_cf(const char *units, const char *long_name, char *ln, size_t cap);

/* The variables every output has (besides the settings and the kinds' own). */
const wg_var *wg_store_common(int *n);

/* Largest parameter count over the plan's tasks. */
size_t wg_plan_max_params(const wg_plan *plan);

/* Collective: create path (refusing to overwrite unless `clobber`), define the schema,
 * write the per-task coordinates.  0 or WG_ENETCDF/WG_EIO with a message. */
int wg_store_create(wg_store *s, const char *path, const wg_plan *plan,
                    const wg_store_meta *meta, MPI_Comm comm, int clobber);
/* Collective: reopen an existing output for resuming; WG_EARG if it was written by
 * a different sweep (the message quotes the first line that changed). */
int wg_store_open(wg_store *s, const char *path, const wg_plan *plan, MPI_Comm comm);
/* Open an existing output (collective over comm) without its plan: dimensions and
 * variables by the tables' names, those absent marked so.  writable 0: read only.
 * 0 or WG_ENETCDF/WG_EFORMAT naming the file. */
int wg_store_attach(wg_store *s, const char *path, int writable, MPI_Comm comm);
/* The sweep_sha256 attribute ("" if missing). */
void wg_store_sweep_hash(wg_store *s, char hash[65]);
/* The sweep_text attribute (allocated: caller frees), or NULL. */
char *wg_store_sweep_text(wg_store *s);
/* Read the status of every task (status[ntasks]). */
int wg_store_read_status(wg_store *s, uint8_t *status);

/* Independent: read a finished task's row back into a record (every variable its
 * kind's records write, at full extent), for tasks whose dependency finished in an
 * earlier run. */
int wg_store_read_result(wg_store *s, size_t task, int kind, wg_result *r);

/* Independent: write one task's row (every slot of the record, status last). */
int wg_store_write(wg_store *s, const wg_result *r);
/* Collective: close. */
int wg_store_close(wg_store *s);

/* Append "date: text" to the history attribute (while open). */
int wg_store_history(wg_store *s, const char *text);

#endif
