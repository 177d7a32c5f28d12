/* reuse.h: finished tasks of earlier outputs taken into a new run
 * (`wedge run SWEEP --reuse OLD.nc`), so that a sweep can grow (more seeds, one more
 * learning rate, a probe added) without computing again what is already computed.
 *
 * A task's identity is the SHA-256 of everything its result depends on: its kind,
 * every setting of its training (as the output's coordinates see them, the derived
 * training seed and the master seed included), its kind's options, its own
 * arguments but those that only label it (a connector's set) and probed epoch, and
 * the identities of the tasks it reads.  Two tasks
 * with the same identity compute the same numbers, so a finished row of OLD whose
 * identity a task of the new plan has is copied, with its wall time, rank and
 * message, instead of being run.
 *
 * Same numbers on one machine: trainings repeated on another node need not be
 * bitwise equal, so two outputs can hold different rows for one identity.  A row
 * is therefore copied only if the rows its task read in OLD equal, bit for bit in
 * everything computed, the rows the new output took for them (from OLD or from an
 * earlier --reuse); else it runs again, on the inputs the new output holds. */
#ifndef WEDGE_REUSE_H
#define WEDGE_REUSE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "wedge/journal.h"
#include "wedge/store.h"
#include "wedge/sweep.h"

/* Every task's identity, hex, into id[plan->ntasks][65].  0 or WG_ENOMEM. */
int wg_task_identities(const wg_plan *plan, char (*id)[65]);

/* The new plan's side of a reuse, computed once for all the --reuse files. */
typedef struct wg_reuse_target {
    const wg_plan *plan;
    char (*id)[65];     /* each task's identity (hex) */
    size_t *order;      /* the tasks in dependency order */
    char (*digest)[65]; /* hex SHA-256 of what the row taken for a task computed; "" none */
} wg_reuse_target;

/* Identities and order of plan's tasks, no digest yet.  0 or WG_ENOMEM (nothing to
 * free then). */
int wg_reuse_target_init(wg_reuse_target *tg, const wg_plan *plan);
void wg_reuse_target_free(wg_reuse_target *tg);

/* What a reuse found. */
typedef struct wg_reuse_stats {
    size_t old_tasks;   /* tasks of the old output */
    size_t finished;    /* of them final (done, diverged, skipped) */
    size_t reused;      /* new tasks given an old row */
    size_t other_inputs; /* old rows not taken: computed from other inputs */
    size_t first_task, first_dep; /* the first of them, and its differing input */
} wg_reuse_stats;

/* Copy into dst (open for writing) and into the journal segment seg (opened on first
 * use, in directory journal) the finished rows of the output at old_path whose
 * identity a task of tg->plan has, that status[] does not already hold as final and
 * whose inputs are the new output's (above); sets status[t], loc[t] and
 * tg->digest[t] of each such task (digests carry over between calls: one per
 * --reuse, in order).  Reads the old output's sweep text to plan it again.  0, or
 * WG_EIO/WG_EFORMAT/WG_EARG naming old_path.
 * dst NULL: decide only (`wedge expand --reuse`): status[] and the digests are set as
 * above, nothing is written, and journal, seg, segname and loc are not used. */
int wg_reuse_rows(const wg_reuse_target *tg, const char *old_path, wg_store *dst,
                  const char *journal, wg_segment *seg, const char *segname, uint8_t *status,
                  wg_jloc *loc, wg_reuse_stats *st);

/* The lines `wedge run` prints for one --reuse file: how many tasks it gave, and the
 * finished ones it could not give because they were computed from other inputs
 * (status: the new output's, after the call); quiet: only the second kind. */
void wg_reuse_report(FILE *f, const wg_plan *plan, const char *old_path,
                     const wg_reuse_stats *st, const uint8_t *status, int quiet);

#endif
