/* sched.h: running a plan over MPI.  Rank 0 schedules (dynamically, longest
 * expected task first, a task once its dependencies are done), workers execute and
 * write their rows; with one process, rank 0 does everything. */
#ifndef WEDGE_SCHED_H
#define WEDGE_SCHED_H

#include <mpi.h>
#include <signal.h>

#include "wedge/sweep.h"

/* What wg_run reports (besides negative errors). */
enum {
    WG_RUN_COMPLETE = 0,     /* every task done */
    WG_RUN_TASKS_FAILED = 1, /* the sweep ran to the end, some tasks failed/diverged */
    WG_RUN_INTERRUPTED = 2   /* stopped by a signal; --resume continues */
};

typedef struct wg_run_opts {
    const char *output;   /* NetCDF path */
    int resume, force;
    double grace;         /* seconds running tasks may finish after a stop signal */
    double progress;      /* seconds between progress lines (0: default 10) */
    const char *command;  /* for the history attribute */
    int quiet;
} wg_run_opts;

/* An MPI call that must succeed: on failure, print the rank, the call and MPI's
 * message to stderr and end the job with MPI_Abort (never a hang, never going on). */
void wg_mpi_must(int e, const char *what, const char *file, int line);
#define WG_MPI(call) wg_mpi_must((call), #call, __FILE__, __LINE__)

/* Set by SIGTERM/SIGUSR1 (wg_run installs the handlers). */
extern volatile sig_atomic_t wg_stop_requested;

/* Collective over comm: run the plan.  Returns a WG_RUN_* value or a negative error
 * (identical on every rank). */
int wg_run(const wg_plan *plan, const wg_run_opts *opts, MPI_Comm comm);

#endif
