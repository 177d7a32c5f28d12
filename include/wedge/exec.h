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

/* Asked between epochs, probe directions, grid rows, connector steps and Lanczos
 * iterations: nonzero abandons the task (it stays pending). */
typedef int (*wg_stop_fn)(void *user);

/* A connector record's extra doubles: a header [m, K, nseg, E, D], the K optimised
 * points (K*D), their final objective values (K), along the path per segment and
 * evaluation point (nseg*E each): train loss, train accuracy, test loss, test
 * accuracy, fraction of test labels changed from O1 (A) and from O2 or O_i (B);
 * along the straight line: train and test loss; the barriers [path, line]; the
 * K x K cosines of the deviations; the largest plane leak; the near-zero coordinate
 * count of each point (K; docs/METHODS.md, toy model).  Returns the size. */
enum { WG_CX_HDR, WG_CX_X, WG_CX_LOSS, WG_CX_TRAIN_LOSS, WG_CX_TRAIN_ACC, WG_CX_TEST_LOSS,
       WG_CX_TEST_ACC, WG_CX_CHANGE_A, WG_CX_CHANGE_B, WG_CX_LINE_TRAIN, WG_CX_LINE_TEST,
       WG_CX_BARRIER, WG_CX_COS, WG_CX_LEAK, WG_CX_NEAR_ZERO, WG_CX_PARTS };

/* A subspace record's extra doubles: [d, epochs or steps, train loss, train accuracy,
 * test loss, test accuracy, L_initial, L_final, L_final / L_initial, success, steps,
 * near-zero count] (the first four after d are the network's, NaN for the toy; the
 * last six the toy's, NaN or -1 for a network). */
#define WG_SUBSPACE_EXTRA 12
size_t wg_connect_layout(int K, int nseg, int E, size_t D, size_t off[WG_CX_PARTS]);

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
