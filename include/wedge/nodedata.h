/* nodedata.h: one copy of each dataset per node, shared by the node's ranks (MPI).
 *
 * Loaded lazily by every worker, a dataset would sit in memory once per rank: 64
 * ranks on a node would hold 64 copies of Fashion-MNIST (55 MB each).  At the start
 * of an MPI run, rank 0 names the datasets the plan's tasks use (it alone has the
 * plan), and the worker ranks of each node (MPI_COMM_TYPE_SHARED) make one copy of
 * each in an MPI shared-memory window: the node's lowest worker rank loads it, the
 * others map it read-only, and every rank's wg_exec is lent the copy
 * (wg_exec_share), which it then finds in its cache.  Rank 0 schedules and runs no
 * task, so it maps nothing.  Datasets beyond WG_EXEC_SHARED, and every dataset when
 * WEDGE_SHARED_DATA=0, are loaded by each rank as before, on a task's first use. */
#ifndef WEDGE_NODEDATA_H
#define WEDGE_NODEDATA_H

#include <mpi.h>
#include <stdint.h>

#include "wedge/exec.h"
#include "wedge/sweep.h"

/* One rank's part of the shared copies: its node's communicator (when joined) and
 * the windows holding the copies. */
typedef struct wg_nodedata {
    int joined;
    MPI_Comm node;
    int nwin;
    MPI_Win win[WG_EXEC_SHARED];
} wg_nodedata;

/* Rank 0: the distinct data keys of the tasks whose run[i] is nonzero (all tasks if
 * run is NULL), the most used first (ties: first used first), at most `cap` of them
 * into keys.  Returns how many distinct keys there are (which may exceed cap); models
 * without data have none. */
int wg_nodedata_plan_keys(const wg_plan *plan, const uint8_t *run, wg_data_key *keys,
                          int cap);

/* Collective over comm (size > 1, where rank 0 schedules and runs no task): rank 0
 * passes the keys (keys[0..nkeys) of ntotal distinct, nkeys <= WG_EXEC_SHARED), the
 * others pass NULL and 0; then every other rank's x has been lent a copy of each.  WEDGE_SHARED_DATA=0 in rank 0's environment turns sharing off.
 * Unless quiet, rank 0 prints one "[wedge] data: ..." line per node (which ranks
 * share the copy, who loaded it, its size, the load time), or why nothing is shared.
 * Returns 0, or the same negative code on every rank when a node could not load a
 * dataset: every rank's error record then holds the loading rank's message (the file
 * and the fault) and where it was loaded.  MPI failures end the job (WG_MPI).  *nd
 * must be released with wg_nodedata_free after wg_exec_free(x), also on failure. */
int wg_nodedata_setup(wg_nodedata *nd, const wg_data_key *keys, int nkeys, int ntotal,
                      MPI_Comm comm, wg_exec *x, int quiet);

/* Collective over the node's ranks: free the windows and the node communicator.
 * Safe on a zeroed or never set up wg_nodedata. */
void wg_nodedata_free(wg_nodedata *nd);

#endif
