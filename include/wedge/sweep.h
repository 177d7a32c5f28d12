/* sweep.h: a YAML sweep file -> a validated plan of tasks.
 *
 * A sweep names a base setting (data, model, train: setting.h's key table), grids
 * over any of its scalar keys (Cartesian products and zipped lists), the replicate
 * seeds, and the probes and connectors to run (each a task kind with its own option
 * table, kind.h); wg_sweep_load expands it into tasks whose settings are fully
 * resolved and validated, so nothing starts running on an invalid sweep.  Every error
 * reads "FILE:LINE:COLUMN: message".  The format is documented in
 * docs/sweep-format.md.  src/sweep.c reads the YAML (the only file that touches
 * libyaml), src/plan.c expands it into tasks, src/plan_print.c prints plans. */
#ifndef WEDGE_SWEEP_H
#define WEDGE_SWEEP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "wedge/setting.h"

#define WG_MAX_AXES 16
#define WG_MAX_VALUES 4096 /* values of one axis */
#define WG_MAX_TASKS 1000000

/* One swept key and its values. */
typedef struct wg_axis {
    char key[48];               /* dotted path as written: "train.lr", "seed" */
    char name[32];              /* output variable name: "lr", "seed", "batch_size" */
    int is_text;                /* values are names (arch, optimizer, ...) */
    int zip_group;              /* -1: crossed on its own; >= 0: zip group id */
    size_t n;
    double *num;                /* n numeric values (owned), or NULL */
    char (*text)[32];           /* n names (owned), or NULL */
    int line, column;           /* where the axis was declared */
} wg_axis;

/* Task kinds: the codes stored in the output's `kind` variable (kind.h has the
 * descriptors, in this order). */
typedef enum {
    WG_TASK_TRAIN = 0, WG_TASK_TUNNEL = 1, WG_TASK_PLANE = 2, WG_TASK_CONNECT = 3,
    WG_TASK_HESSIAN = 4, WG_TASK_SUBSPACE = 5, WG_TASK_SWA = 6, WG_TASK_SLICE = 7
} wg_task_kind;
#define WG_TASK_KINDS 8
#define WG_MAX_DEPS 11  /* an m-connector joins m+1 <= 11 optima */
#define WG_TASK_ARGS 4
const char *wg_task_kind_name(wg_task_kind k);

typedef struct wg_task {
    size_t id;                  /* index in the plan */
    wg_task_kind kind;
    wg_setting set;
    uint32_t axis_index[WG_MAX_AXES]; /* which value of each axis */
    double cost;                /* expected relative cost (for longest-first) */
    size_t ndeps;
    size_t deps[WG_MAX_DEPS];   /* ids of tasks whose results this one needs (a subspace
                                   task at the initialisation: its training, ndeps 0) */
    int probe_epoch;            /* probes: the snapshot epoch of deps[0] they probe */
    int probe_final;            /* ... which is the training's final one (the last snapshot
                                   of a training its stop rule ended early) */
    int32_t arg[WG_TASK_ARGS];  /* the kind's own: named in its file (task_<kind>.c) */
} wg_task;

typedef struct wg_plan {
    char file[512];             /* path as given, for messages */
    char name[128];             /* `name:`; becomes the output's title */
    char output[512];           /* `output:`, default "<name>.nc" */
    uint64_t seed;              /* master seed */
    char *text;                 /* the file's full text (owned), NUL-terminated */
    size_t text_len;
    char sha256[65];            /* hex SHA-256 of text */
    char meaning[65];           /* hex SHA-256 of the document read from text, without
                                   its comments and layout (texts that differ only in
                                   those have one meaning: --resume accepts them) */
    wg_setting base;            /* the setting before sweeping */
    size_t naxes;
    wg_axis axes[WG_MAX_AXES];
    int enabled[WG_TASK_KINDS]; /* the sweep has the kind's section */
    void *opts[WG_TASK_KINDS];  /* each kind's options (kind.h; owned) */
    size_t ntrain;              /* training tasks come first: ids 0..ntrain-1 */
    size_t ntasks;
    wg_task *tasks;             /* owned */
    int max_epochs, max_snapshots;
} wg_plan;

/* Read, parse, validate and expand a sweep file.  0 or WG_EIO / WG_EYAML / WG_EARG
 * with "FILE:LINE:COLUMN: message" in the error record.  On failure the plan is
 * safe to free. */
int wg_sweep_load(wg_plan *plan, const char *path);
/* The same with command-line overrides ov[0..nov): "key=value", the key dotted as in
 * the file (train.epochs=2, probes.tunnel.directions=8, sweep.seed=[0, 1, 2]), the
 * value YAML.  They are recorded after the file's text as comment lines that the
 * reader applies (plan->text then reproduces the run, and its hash differs from the
 * file's); an error in one names it ("FILE: override 'train.lr=x': ..."). */
int wg_sweep_load_overrides(wg_plan *plan, const char *path, char *const *ov, int nov);
/* The same from text in memory; `file` names it in messages. */
int wg_sweep_parse(wg_plan *plan, const char *text, size_t len, const char *file);
void wg_plan_free(wg_plan *plan);

/* Kind k's options (NULL when the sweep has no section for it), and one of them by
 * key as a number (list entry i; NaN if there is no such option or entry). */
const void *wg_plan_opts(const wg_plan *plan, int kind);
double wg_plan_option(const wg_plan *plan, int kind, const char *key, int i);

/* One line per task ("id kind key=value ... deps: ...") and the totals. */
void wg_plan_print(const wg_plan *plan, FILE *f);
/* The same, each task t with taken[t] != NULL ending "  taken from TAKEN[t]", and a
 * last line with the totals of the others ("to run: N tasks: ..."). */
void wg_plan_print_taken(const wg_plan *plan, const char *const *taken, FILE *f);

/* Value of axis a for task t as a double (names: their index in the axis). */
double wg_task_axis_value(const wg_plan *plan, const wg_task *t, size_t a);

/* "line N was "...", now "..."": the first line where texts a and b differ. */
void wg_text_first_change(const char *a, const char *b, char *out, size_t size);

/* Hex SHA-256 of a buffer into out[65]. */
void wg_sha256_hex(const void *data, size_t len, char out[65]);

#endif
