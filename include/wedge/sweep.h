/* sweep.h: a YAML sweep file -> a validated plan of tasks.
 *
 * This is the only module that touches libyaml.  A sweep names a base setting
 * (data, model, train), grids over any of its scalar keys (Cartesian products and
 * zipped lists) and the replicate seeds; wg_sweep_load expands it into tasks whose
 * settings are fully resolved and validated, so nothing starts running on an
 * invalid sweep.  Every error reads "FILE:LINE:COLUMN: message".  The full
 * format is documented in docs/sweep-format.md. */
#ifndef WEDGE_SWEEP_H
#define WEDGE_SWEEP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "wedge/data.h"
#include "wedge/net.h"
#include "wedge/train.h"

#define WG_MAX_AXES 16
#define WG_MAX_SNAPSHOTS 32
#define WG_MAX_VALUES 4096 /* values of one axis */

/* Everything one training task needs: no pointers, so it can be copied and sent. */
typedef struct wg_setting {
    wg_data_kind data;
    char data_path[512];        /* "" = the kind's default */
    size_t train_size, test_size;      /* 0 = whole split */
    size_t synth_train, synth_test;    /* synthetic only (defaults 2000/500) */
    int synth_size, synth_channels;    /* synthetic only (defaults 28, 1) */
    wg_net_opts net;            /* in_h/in_w/in_c/classes filled from the dataset kind */
    wg_train_opts train;        /* train.seed is DERIVED: wg_setting_seed() */
    long replicate;             /* the sweep's `seed` key */
    int toy_dim, toy_long;      /* model.arch toy: D and n of the wedge model */
    int nsnapshots;             /* epochs whose parameters are kept, ascending, */
    int snapshots[WG_MAX_SNAPSHOTS]; /* always ending with the final epoch */
} wg_setting;

/* Whether the setting's model is the toy wedge model (no data, no network). */
static inline int wg_setting_is_toy(const wg_setting *s) { return s->net.arch == WG_ARCH_TOY; }

/* D of a setting: the network's parameter count, or the toy model's dimension
 * (0 if the setting is invalid). */
size_t wg_setting_nparams(const wg_setting *s);

/* The 64-bit seed of a task's streams: a hash of the master seed and the replicate,
 * so the same replicate of two settings starts from the same initialisation. */
uint64_t wg_setting_seed(uint64_t master, long replicate);

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

typedef enum {
    WG_TASK_TRAIN = 0, WG_TASK_TUNNEL = 1, WG_TASK_PLANE = 2, WG_TASK_CONNECT = 3,
    WG_TASK_HESSIAN = 4, WG_TASK_SUBSPACE = 5, WG_TASK_SWA = 6
} wg_task_kind;
#define WG_TASK_KINDS 7
#define WG_MAX_DIMS 32
#define WG_MAX_DEPS 11  /* an m-connector joins m+1 <= 11 optima */
#define WG_MAX_M 10
const char *wg_task_kind_name(wg_task_kind k);

#define WG_MAX_PROBE_EPOCHS 16
#define WG_MAX_LEVELS 4

/* `probes: tunnel:` (docs/sweep-format.md): radial tunnel width at trained optima. */
typedef struct wg_tunnel_plan {
    int enabled;
    int nepochs;                 /* 0: the final epoch of each training task */
    int epochs[WG_MAX_PROBE_EPOCHS];
    int directions;              /* K (32) */
    int nlevels;                 /* dL levels (1.0, 0.5) */
    double levels[WG_MAX_LEVELS];
    int chance;                  /* also the absolute chance level ln(classes) (yes) */
    size_t probe_size;           /* probe set: seeded subset of the training set (10000) */
    int split;                   /* tasks per probe, directions spread over them (1) */
    double a_max;                /* give up beyond a_max |P0| (1000) */
} wg_tunnel_plan;

/* `probes: plane:`: the loss on a grid over the plane through three optima that
 * differ only in their replicate seed (Figure 2). */
typedef struct wg_plane_plan {
    int enabled;
    int nepochs;                 /* 0: the final epoch */
    int epochs[WG_MAX_PROBE_EPOCHS];
    int grid;                    /* G x G points (21) */
    double margin;               /* grid extends margin x the optima's span (0.5) */
    size_t probe_size;           /* (10000) */
    int split;                   /* tasks per plane, rows spread over them (1) */
} wg_plane_plan;

/* `connectors:`: low-loss connectors between optima that differ only in seed. */
typedef struct wg_connect_plan {
    int enabled;
    int nm;
    int m[WG_MAX_M];             /* orders: 1 = a tunnel between two optima */
    int points;                  /* K interior points of 1-connectors (9) */
    int objective;               /* WG_CONNECT_POINT or WG_CONNECT_PATH */
    int steps;                   /* Adam steps per point (and per round) (200) */
    int rounds;                  /* path objective, 1-connectors: passes over the points (2) */
    double lr;                   /* (1e-3) */
    size_t probe_size;           /* (10000) */
    int eval_points;             /* points per segment recorded (10) */
} wg_connect_plan;

/* `probes: hessian:`: short directions by Lanczos. */
typedef struct wg_hessian_plan {
    int enabled;
    int at_optima, at_connectors;
    double threshold;            /* lambda_thr, one number for the whole study (1.0) */
    int budget;                  /* HVPs (600) */
    size_t probe_size;           /* (10000) */
} wg_hessian_plan;

/* `probes: subspace:`: training inside random d-dimensional affine subspaces
 * anchored at the initialisation or at the trained optimum. */
typedef struct wg_subspace_plan {
    int enabled;
    int ndims;
    int dims[WG_MAX_DIMS];
    int at_optimum;              /* 0: anchored at the initialisation (intrinsic dimension) */
    int epochs;                  /* (the training's epochs when 0) */
    double lr;                   /* Adam, at d = lr_ref_d (0.1) */
    int lr_ref_d;                /* the rate at d is lr*sqrt(lr_ref_d/d); 0: lr at every d (100) */
    int nnz;                     /* non-zeros per column of M (32) */
    /* the toy model (hyperplane.h): optimiser (wg_hyper_method) and its step budget */
    int toy_optimizer;           /* active-set (0) or polyak (1) */
    int toy_steps;               /* 0: the optimiser's default (100 / 20000) */
    int noffsets;                /* toy: d = D - n + offset instead of dims */
    int offsets[WG_MAX_DIMS];
} wg_subspace_plan;

/* `probes: swa:`: from every trained optimum, M cycles of a cyclic learning rate per
 * lr_max; snapshots, their weight average and their averaged predictions (Figure 6). */
typedef struct wg_swa_plan {
    int enabled;
    int nlr;
    double lr_max[WG_MAX_DIMS];  /* one task per value */
    int cycles;                  /* M (8) */
    int cycle_epochs;            /* (1) */
    double min_ratio;            /* lowest rate / lr_max (0.01) */
    int optimizer;               /* wg_opt_kind, or -1: the training's (-1) */
    size_t probe_size;           /* "train" loss/accuracy on this subset (10000) */
} wg_swa_plan;

/* Where a Hessian task looks (wg_task.dir_first). */
enum { WG_AT_OPTIMUM = 0, WG_AT_CONNECTOR = 1 };

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
    int dir_first, dir_count;   /* tunnel: which directions; plane: which grid rows;
                                   connect: m and 0; hessian: WG_AT_* and the point;
                                   subspace: d and 0; swa: the lr_max index and 0 */
} wg_task;

typedef struct wg_plan {
    char file[512];             /* path as given, for messages */
    char name[128];             /* `name:`; becomes the output's title */
    char output[512];           /* `output:`, default "<name>.nc" */
    uint64_t seed;              /* master seed */
    char *text;                 /* the file's full text (owned), NUL-terminated */
    size_t text_len;
    char sha256[65];            /* hex SHA-256 of text */
    wg_setting base;            /* the setting before sweeping */
    size_t naxes;
    wg_axis axes[WG_MAX_AXES];
    wg_tunnel_plan tunnel;
    wg_plane_plan plane;
    wg_connect_plan connect;
    wg_hessian_plan hessian;
    wg_subspace_plan subspace;
    wg_swa_plan swa;
    size_t ntrain;              /* training tasks come first: ids 0..ntrain-1 */
    size_t ntasks;
    wg_task *tasks;             /* owned */
    int max_epochs, max_snapshots;
} wg_plan;

/* Read, parse, validate and expand a sweep file.  0 or WG_EIO / WG_EYAML / WG_EARG
 * with "FILE:LINE:COLUMN: message" in the error record.  On failure the plan is
 * safe to free. */
int wg_sweep_load(wg_plan *plan, const char *path);
/* The same from text in memory; `file` names it in messages. */
int wg_sweep_parse(wg_plan *plan, const char *text, size_t len, const char *file);
void wg_plan_free(wg_plan *plan);

/* One line per task ("id kind key=value ... deps: ...") and the totals. */
void wg_plan_print(const wg_plan *plan, FILE *f);

/* Value of axis a for task t as a double (names: their index in the axis). */
double wg_task_axis_value(const wg_plan *plan, const wg_task *t, size_t a);

/* "line N was "...", now "..."": the first line where texts a and b differ. */
void wg_text_first_change(const char *a, const char *b, char *out, size_t size);

/* Hex SHA-256 of a buffer into out[65]. */
void wg_sha256_hex(const void *data, size_t len, char out[65]);

#endif
