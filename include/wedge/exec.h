/* exec.h: running one task of a plan into a record (no MPI, no NetCDF).
 *
 * A worker keeps a wg_exec across tasks so that a dataset and its probe set are
 * loaded once; an MPI run can lend it copies that the ranks of a node share
 * (sched.c, nodedata.h).  wg_exec_task dispatches to the task's kind (kind.h) and fills the
 * record's header; the kinds use the helpers below to reach data and landscapes. */
#ifndef WEDGE_EXEC_H
#define WEDGE_EXEC_H

#include "wedge/data.h"
#include "wedge/objective.h"
#include "wedge/result.h"
#include "wedge/sweep.h"

/* Asked between epochs, probe directions, grid rows, connector steps and Lanczos
 * iterations: nonzero abandons the task (it stays pending). */
typedef int (*wg_stop_fn)(void *user);

/* Which data a setting uses: its data fields and the plan's seed (which draws the
 * subsets and the synthetic images).  Made by wg_exec_data_key with its padding
 * zeroed, so that keys compare with memcmp and travel between ranks as bytes. */
typedef struct wg_data_key {
    wg_data_kind kind;
    int synth_size, synth_channels;
    size_t train_size, test_size;
    size_t synth_train, synth_test;
    uint64_t seed;
    char path[512];
} wg_data_key;

/* At most this many datasets lent to one wg_exec (wg_exec_share). */
#define WG_EXEC_SHARED 8

typedef struct wg_exec {
    wg_data data;        /* the private copy (loaded here, owned) */
    int have_data;
    wg_data_key data_key;           /* ... and which data it is */
    wg_data shared[WG_EXEC_SHARED]; /* lent copies (wg_exec_share): never written or freed */
    wg_data_key shared_key[WG_EXEC_SHARED];
    int nshared;
    const wg_data *probe_of; /* the data the probe set was drawn from */
    wg_dataset probe;    /* probe set: seeded subset of probe_of->train */
    size_t probe_size;   /* 0: none built */
    int rank;            /* who runs the task (recorded in its row) */
    wg_stop_fn stop;
    void *stop_user;
} wg_exec;

void wg_exec_init(wg_exec *x);
void wg_exec_free(wg_exec *x);

/* Run task t of plan into r (allocated here; the caller frees it with
 * wg_result_free).  deps[i] are the records of t->deps[i] (NULL where unavailable).
 * Returns 0 when the task produced a record: r->status is DONE, FAILED (r->message
 * says why) or DIVERGED; returns WG_EINTR if x->stop asked to abandon it, or a
 * negative error if not even a record could be made. */
int wg_exec_task(wg_exec *x, const wg_plan *plan, const wg_task *t,
                 const wg_result *const *deps, wg_result *r);

/* ---- for the kinds ------------------------------------------------------------------- */

/* Whether the task should be given up now (x->stop says so). */
int wg_exec_stopped(wg_exec *x);
/* Fill *key with the data setting s uses under plan seed `seed`: returns 1, or 0
 * (and a zeroed key) for a model without data (the toy wedge model). */
int wg_exec_data_key(const wg_setting *s, uint64_t seed, wg_data_key *key);
/* Load the data a key names into *d (wg_data_load with its options; the same errors,
 * naming the file and the fault; *d is safe to free on failure). */
int wg_exec_data_load(wg_data *d, const wg_data_key *key);
/* Lend x a loaded copy of the data `key` names: from now on wg_exec_data answers
 * settings with this key with *d (a shallow copy of the struct; the pixels and labels
 * are the caller's, which x never writes or frees and the caller keeps valid until
 * wg_exec_free(x)).  0, or WG_EARG when WG_EXEC_SHARED copies are already lent or
 * the key already has one. */
int wg_exec_share(wg_exec *x, const wg_data_key *key, const wg_data *d);
/* The data of setting s: a lent copy (wg_exec_share), else the private copy, loaded
 * on first use and replaced when another setting needs other data. */
int wg_exec_data(wg_exec *x, const wg_plan *plan, const wg_setting *s, const wg_data **out);
/* The probe set: a seeded subset of `size` images of the training split (the whole
 * split if it is not larger), built once per data. */
int wg_exec_probe_set(wg_exec *x, const wg_plan *plan, const wg_setting *s, size_t size,
                      const wg_dataset **out);
/* The landscape a probe looks at: the setting's model on a probe set of `probe_size`
 * training images (docs/METHODS.md), or the toy wedge model. */
int wg_exec_landscape(wg_exec *x, const wg_plan *plan, const wg_setting *s, size_t probe_size,
                      wg_objective *f);
/* The same including the setting's L2 term (wg_objective_include_l2); the toy model
 * has none. */
int wg_exec_landscape_l2(wg_exec *x, const wg_plan *plan, const wg_setting *s,
                         size_t probe_size, wg_objective *f);
/* The same evaluated in batches of `batch` images (a float forward pass of a batch
 * is not bitwise the same as of another batch size). */
int wg_exec_landscape_batch(wg_exec *x, const wg_plan *plan, const wg_setting *s,
                            size_t probe_size, size_t batch, wg_objective *f);
/* The setting's model for training: minibatch steps over the training split (batches
 * of train.batch_size with the setting's L2) into *train, and the test split,
 * evaluated in batches of the same size, into *test; the toy wedge model has no data:
 * itself, and a zeroed test objective. */
int wg_exec_model(wg_exec *x, const wg_plan *plan, const wg_setting *s, wg_objective *train,
                  wg_objective *test);
/* The model on the test split (for test loss and predictions); a zeroed objective
 * (dim 0) for a model without data. */
int wg_exec_test(wg_exec *x, const wg_plan *plan, const wg_setting *s, wg_objective *f);

/* Monotonic seconds. */
double wg_now(void);

#endif
