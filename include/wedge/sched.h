/* sched.h: running a plan over MPI.
 *
 * Rank 0 alone reads the sweep and plans it, takes the output's lock, creates (or
 * rebuilds from the journal) the output file, and schedules: dynamically, longest
 * expected task first, a task once its dependencies are done.  A worker receives
 * what its task needs (the task, its kind's options, where its dependencies'
 * records are), runs it, appends the record to its journal segment, writes its row,
 * and reports; it never holds the plan, so the sweep's size costs rank 0 only.  With
 * one process, rank 0 does everything. */
#ifndef WEDGE_SCHED_H
#define WEDGE_SCHED_H

#include <mpi.h>
#include <signal.h>

#include "wedge/sweep.h"

/* What wg_run reports (besides negative errors). */
enum {
    WG_RUN_COMPLETE = 0,     /* every task done */
    WG_RUN_TASKS_FAILED = 1, /* the sweep ran to the end, some tasks failed/diverged */
    WG_RUN_INTERRUPTED = 2   /* stopped by a signal or a write error; --resume continues */
};

typedef struct wg_run_opts {
    const char *output;   /* NetCDF path (rank 0; NULL: the sweep's `output:`) */
    int resume, force;
    double grace;         /* seconds running tasks may finish after a stop signal */
    double progress;      /* seconds between progress lines (0: default 10) */
    double linger;        /* seconds to wait for an earlier run's processes (30) */
    double stale;         /* seconds after which another host's heartbeat is stale (60) */
    const char *command;  /* for the history attribute */
    int quiet;
    const char *reuse[8]; /* earlier outputs whose finished tasks a new output takes */
    int nreuse;           /* (reuse.h); only when the output is created */
} wg_run_opts;

/* An MPI call that must succeed: on failure, print the rank, the call and MPI's
 * message to stderr and end the job with MPI_Abort (never a hang, never going on). */
void wg_mpi_must(int e, const char *what, const char *file, int line);
#define WG_MPI(call) wg_mpi_must((call), #call, __FILE__, __LINE__)

/* Set by SIGTERM/SIGUSR1/SIGINT once wg_run_signals installed the handlers. */
extern volatile sig_atomic_t wg_stop_requested;
void wg_run_signals(void);

/* Collective over comm: run the plan (rank 0 passes it; the others pass NULL).
 * Returns a WG_RUN_* value or a negative error (identical on every rank); rank 0 has
 * printed what went wrong.  The output path used is written to out (rank 0). */
int wg_run(const wg_plan *plan, const wg_run_opts *opts, MPI_Comm comm, char *out,
           size_t outsize);

#endif
