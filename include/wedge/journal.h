/* journal.h: the crash-safe journal of a run's task records (OUT.nc.journal/).
 *
 * HDF5 files are not crash-safe while open, so every finished task's record goes
 * first to the journal, then into the output; after a killed run, `--resume`
 * rebuilds the output from the journal and nothing finished is lost or recomputed.
 *
 * The journal holds O(ranks) files, not O(tasks): each worker of each run appends its
 * records to one segment, seg-RUN-RANK.wal, each record framed by its length and
 * checksummed (result.h), written with one write and fsync'd before the task is
 * reported done.  A torn or damaged record is found by the scan, reported by task id
 * when its header survives, and its task is recomputed: never written into the output,
 * never skipped silently.  Beside the segments: the sweep's text and hash (sweep.yaml,
 * sweep.sha256: a resume of another sweep is refused), and `complete`, written
 * atomically once the finished output is closed, so that the end of a sweep is one
 * atomic step: a resume that finds it only removes what is left of the journal. */
#ifndef WEDGE_JOURNAL_H
#define WEDGE_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "wedge/result.h"

/* Where a record is: segment file name (in the journal directory), offset of the
 * record's bytes, their length.  len 0: no record. */
typedef struct wg_jloc {
    char seg[48];
    uint64_t off, len;
} wg_jloc;

/* A valid record found by a scan: its header and where it is. */
typedef struct wg_jentry {
    uint64_t task;
    int kind, status, rank;
    double wall_time;
    char message[WG_MSG_LEN];
    wg_jloc loc;
} wg_jentry;

/* A damaged record found by a scan (task -1 when even its header is unreadable). */
typedef struct wg_jdamage {
    long long task;
    wg_jloc loc;
    char what[160];
} wg_jdamage;

/* Journal directory of an output file: "<out>.journal". */
void wg_journal_dir(const char *out, char *dir, size_t size);
/* Create the directory if needed (0 or WG_EIO naming it). */
int wg_journal_create(const char *dir);
/* Record the sweep (its text, hash and task count) in a new journal; 0 or WG_EIO. */
int wg_journal_write_sweep(const char *dir, const char *text, size_t len, const char *sha256,
                           size_t ntasks);
/* Check that the journal belongs to the sweep with this hash: 0, WG_EFORMAT (missing
 * or damaged: names the file), or WG_EARG (another sweep: the message quotes the
 * first changed line of `text` against the recorded one; `file` names the sweep). */
int wg_journal_check_sweep(const char *dir, const char *text, const char *sha256,
                           const char *file);
/* The sweep text recorded in the journal (malloc'd, NUL-terminated), or NULL. */
char *wg_journal_sweep_text(const char *dir);
/* The task count recorded with the sweep, or 0. */
size_t wg_journal_ntasks(const char *dir);

/* One segment being appended to (one per worker and run). */
typedef struct wg_segment {
    int fd;
    char name[48];
    char path[1200];
    uint64_t size;              /* bytes of complete records */
} wg_segment;

/* Open (create) segment `name` of the journal for appending; 0 or WG_EIO. */
int wg_segment_open(wg_segment *s, const char *dir, const char *name);
/* Append r and fsync: *loc says where it landed.  On failure (a full disk ...) the
 * segment is cut back to its last complete record and WG_EIO names it with errno's
 * text; nothing half-written stays. */
int wg_segment_append(wg_segment *s, const wg_result *r, wg_jloc *loc);
void wg_segment_close(wg_segment *s);
/* The name of segment (run, rank): "seg-RRRRRR-KKKKK.wal". */
void wg_segment_name(long run, int rank, char *name, size_t size);

/* Read the record at loc into r (allocated): 0, WG_EIO, or WG_EFORMAT (damaged). */
int wg_journal_read(const char *dir, const wg_jloc *loc, wg_result *r);

/* Every record of every segment, in run then position order (so a later record of a
 * task comes later).  *entries and *damage are allocated (caller frees).  Also the
 * largest run number seen, for the next run's segments.  0, WG_EIO or WG_ENOMEM. */
int wg_journal_scan(const char *dir, wg_jentry **entries, size_t *n, wg_jdamage **damage,
                    size_t *ndamage, long *last_run);

/* Mark the output complete (atomically), and ask whether it is. */
int wg_journal_mark_complete(const char *dir);
int wg_journal_is_complete(const char *dir);
/* Remove the journal: segments and sweep files first, the `complete` mark last, then
 * the directory (0, or WG_EIO). */
int wg_journal_remove(const char *dir);

#endif
