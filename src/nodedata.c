/* nodedata.c: one copy of each dataset per node, in MPI shared memory (nodedata.h).
 *
 * Window allocation is collective, so the copies are made at the start of a run, not
 * on a task's first use: rank 0 broadcasts the data keys, the worker ranks split by
 * node (MPI_COMM_TYPE_SHARED; rank 0 stays out, as it runs no task), and for each key
 * the node's lowest rank loads the data privately (wg_data_load, through exec.c),
 * broadcasts its shapes or its error to the node, and copies it into a window that
 * only it allocates; the others map that window (MPI_Win_shared_query).  A load that
 * fails ends the setup on every rank of every node with the loader's message, so a
 * missing file never leaves a rank waiting.  Nothing here is freed by wg_exec: the
 * windows live until wg_nodedata_free. */
#include "wedge/nodedata.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wedge/error.h"
#include "wedge/sched.h"

/* Distinct keys counted exactly up to this many; a plan with more reports TRACK + 1. */
#define TRACK 64

int wg_nodedata_plan_keys(const wg_plan *plan, const uint8_t *run, wg_data_key *keys,
                          int cap)
{
    wg_data_key *seen = wg_alloc(TRACK, sizeof *seen, "data keys");
    size_t count[TRACK] = {0};
    int nseen = 0, more = 0, last = -1;
    if (!seen)
        return 0; /* nothing shared: every rank loads its own copy */
    wg_data_key k;
    for (size_t i = 0; i < plan->ntasks; i++) {
        if ((run && !run[i]) || !wg_exec_data_key(&plan->tasks[i].set, plan->seed, &k))
            continue;
        if (last >= 0 && memcmp(&seen[last], &k, sizeof k) == 0) {
            count[last]++;
            continue;
        }
        int j = 0;
        while (j < nseen && memcmp(&seen[j], &k, sizeof k) != 0)
            j++;
        if (j == nseen) {
            if (nseen == TRACK) {
                more = 1;
                continue;
            }
            seen[nseen++] = k;
        }
        count[j]++;
        last = j;
    }
    /* the most used first; equal counts keep their order of first use */
    int order[TRACK];
    for (int i = 0; i < nseen; i++) {
        int j = i;
        while (j > 0 && count[order[j - 1]] < count[i]) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = i;
    }
    for (int i = 0; i < nseen && i < cap; i++)
        keys[i] = seen[order[i]];
    free(seen);
    return nseen + more;
}

/* What a node's loader tells its node about one dataset. */
typedef struct load_info {
    int32_t rc;
    int32_t shape[2][4]; /* train, test: h, w, c, classes */
    uint64_t n[2];
    char msg[1024];
} load_info;

/* What each rank tells rank 0 for the log. */
typedef struct node_report {
    int32_t loader;      /* world rank that loaded its node's copies; -1: none (rank 0) */
    int32_t nkeys;
    int32_t kind;        /* of the first dataset */
    uint64_t n[2];       /* ... and its split sizes */
    double bytes, secs;
    char host[MPI_MAX_PROCESSOR_NAME];
} node_report;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Bytes of one split (pixels and labels), or 0 with an error recorded on overflow. */
static int split_bytes(const load_info *li, int s, size_t *out)
{
    size_t img = 0, px = 0;
    int rc = wg_mul_size((size_t)li->shape[s][0] * (size_t)li->shape[s][1],
                         (size_t)li->shape[s][2], &img);
    if (rc == 0)
        rc = wg_mul_size((size_t)li->n[s], img, &px);
    if (rc == 0 && px + li->n[s] < px)
        rc = WG_FAIL(WG_ENOMEM, "a dataset of more bytes than memory can address");
    *out = rc == 0 ? px + li->n[s] : 0;
    return rc;
}

/* One key: the loader loads and copies, everyone maps; 0, or the node's common error
 * with the loader's message in msg. */
static int share_one(wg_nodedata *nd, const wg_data_key *key, int nrank, wg_exec *x,
                     char *msg, size_t cap, double *bytes_out)
{
    wg_data d;
    memset(&d, 0, sizeof d);
    load_info li;
    memset(&li, 0, sizeof li);
    if (nrank == 0) {
        li.rc = wg_exec_data_load(&d, key);
        if (li.rc) {
            snprintf(li.msg, sizeof li.msg, "%s",
                     wg_err_code() ? wg_err_msg() : wg_err_name(li.rc));
        } else {
            const wg_dataset *sp[2] = {&d.train, &d.test};
            for (int s = 0; s < 2; s++) {
                li.shape[s][0] = sp[s]->h, li.shape[s][1] = sp[s]->w;
                li.shape[s][2] = sp[s]->c, li.shape[s][3] = sp[s]->classes;
                li.n[s] = sp[s]->n;
            }
        }
        wg_err_clear();
    }
    WG_MPI(MPI_Bcast(&li, (int)sizeof li, MPI_BYTE, 0, nd->node));
    size_t part[2] = {0, 0};
    int rc = li.rc;
    if (rc == 0 && (rc = split_bytes(&li, 0, &part[0])) == 0)
        rc = split_bytes(&li, 1, &part[1]);
    if (rc == 0 && part[0] + part[1] < part[0])
        rc = WG_FAIL(WG_ENOMEM, "a dataset of more bytes than memory can address");
    if (rc) {
        snprintf(msg, cap, "%s", li.rc ? li.msg : wg_err_msg());
        wg_err_clear();
        wg_data_free(&d);
        return rc;
    }
    size_t total = part[0] + part[1];
    uint8_t *base = NULL;
    MPI_Win win;
    WG_MPI(MPI_Win_allocate_shared(nrank == 0 ? (MPI_Aint)(total ? total : 1) : 0, 1,
                                   MPI_INFO_NULL, nd->node, &base, &win));
    nd->win[nd->nwin++] = win;
    WG_MPI(MPI_Win_set_errhandler(win, MPI_ERRORS_RETURN));
    if (nrank != 0) {
        MPI_Aint qsize;
        int unit;
        WG_MPI(MPI_Win_shared_query(win, 0, &qsize, &unit, &base));
    }
    /* the loader's stores become visible to the node: sync, barrier, sync (the
     * shared-memory window pattern of MPI-3 §11.5.4) */
    WG_MPI(MPI_Win_lock_all(MPI_MODE_NOCHECK, win));
    uint8_t *at[2][2] = {{base, base + part[0] - li.n[0]},
                         {base + part[0], base + total - li.n[1]}};
    if (nrank == 0) {
        const wg_dataset *sp[2] = {&d.train, &d.test};
        for (int s = 0; s < 2; s++) {
            if (at[s][1] > at[s][0])
                memcpy(at[s][0], sp[s]->pixels, (size_t)(at[s][1] - at[s][0]));
            if (li.n[s])
                memcpy(at[s][1], sp[s]->labels, li.n[s]);
        }
    }
    WG_MPI(MPI_Win_sync(win));
    WG_MPI(MPI_Barrier(nd->node));
    WG_MPI(MPI_Win_sync(win));
    WG_MPI(MPI_Win_unlock_all(win));
    wg_data_free(&d);
    wg_data view;
    memset(&view, 0, sizeof view);
    view.kind = key->kind;
    wg_dataset *vs[2] = {&view.train, &view.test};
    for (int s = 0; s < 2; s++) {
        *vs[s] = (wg_dataset){.n = li.n[s], .h = li.shape[s][0], .w = li.shape[s][1],
                              .c = li.shape[s][2], .classes = li.shape[s][3],
                              .pixels = at[s][0], .labels = at[s][1]};
    }
    *bytes_out = (double)total;
    rc = wg_exec_share(x, key, &view);
    if (rc) {
        snprintf(msg, cap, "%s", wg_err_msg());
        wg_err_clear();
    }
    return rc;
}

/* "1-7", "1,3,5,7", "1-3,8-10, ..." into out (at most cap - 1 characters). */
static void rank_list(const node_report *rep, int size, int loader, char *out, size_t cap)
{
    size_t used = 0;
    out[0] = '\0';
    for (int r = 0; r < size; r++) {
        if (rep[r].loader != loader)
            continue;
        int e = r;
        while (e + 1 < size && rep[e + 1].loader == loader)
            e++;
        char item[32];
        if (e > r)
            snprintf(item, sizeof item, "%s%d-%d", used ? "," : "", r, e);
        else
            snprintf(item, sizeof item, "%s%d", used ? "," : "", r);
        if (used + strlen(item) + 6 >= cap) {
            snprintf(out + used, cap - used, ", ...");
            return;
        }
        used += (size_t)snprintf(out + used, cap - used, "%s", item);
        r = e;
    }
}

static void print_nodes(const node_report *rep, int size)
{
    for (int r = 0; r < size; r++) {
        const node_report *p = &rep[r];
        if (p->loader != r)
            continue; /* one line per node: at its loader */
        char ranks[200];
        rank_list(rep, size, r, ranks, sizeof ranks);
        char what[160];
        if (p->nkeys == 1)
            snprintf(what, sizeof what, "%s (%llu + %llu images, %.1f MB)",
                     wg_data_kind_name((wg_data_kind)p->kind), (unsigned long long)p->n[0],
                     (unsigned long long)p->n[1], p->bytes / 1e6);
        else
            snprintf(what, sizeof what, "each of %d datasets (%.1f MB)", p->nkeys,
                     p->bytes / 1e6);
        int shared = 0; /* ranks on this node */
        for (int q = 0; q < size; q++)
            shared += rep[q].loader == r;
        if (shared > 1)
            printf("[wedge] data: %s: ranks %s share one copy of %s, loaded by rank %d in "
                   "%.2f s\n", p->host, ranks, what, r, p->secs);
        else
            printf("[wedge] data: %s: rank %s holds the node's one copy of %s, loaded in "
                   "%.2f s\n", p->host, ranks, what, p->secs);
    }
    fflush(stdout);
}

int wg_nodedata_setup(wg_nodedata *nd, const wg_data_key *keys, int nkeys, int ntotal,
                      MPI_Comm comm, wg_exec *x, int quiet)
{
    memset(nd, 0, sizeof *nd);
    int rank, size;
    WG_MPI(MPI_Comm_rank(comm, &rank));
    WG_MPI(MPI_Comm_size(comm, &size));
    struct { int32_t n, total, off; } h = {0, 0, 0};
    if (rank == 0) {
        const char *env = getenv("WEDGE_SHARED_DATA");
        h.off = env && strcmp(env, "0") == 0;
        h.n = h.off ? 0 : nkeys < WG_EXEC_SHARED ? nkeys : WG_EXEC_SHARED;
        h.total = ntotal;
        if (!quiet && h.off && ntotal > 0)
            printf("[wedge] data: WEDGE_SHARED_DATA=0: each rank loads its own copy of the "
                   "data when its first task needs it\n");
        else if (!quiet && ntotal > h.n)
            printf("[wedge] data: the tasks use %s%d datasets: the %d used by most tasks are "
                   "shared per node, each rank loads the others itself when a task needs "
                   "them\n", ntotal > TRACK ? "more than " : "",
                   ntotal > TRACK ? TRACK : ntotal, h.n);
        fflush(stdout);
    }
    WG_MPI(MPI_Bcast(&h, (int)sizeof h, MPI_BYTE, 0, comm));
    if (h.n <= 0)
        return 0;
    wg_data_key kb[WG_EXEC_SHARED];
    memset(kb, 0, sizeof kb);
    if (rank == 0)
        memcpy(kb, keys, (size_t)h.n * sizeof *kb);
    WG_MPI(MPI_Bcast(kb, (int)((size_t)h.n * sizeof *kb), MPI_BYTE, 0, comm));

    WG_MPI(MPI_Comm_split_type(comm, rank == 0 ? MPI_UNDEFINED : MPI_COMM_TYPE_SHARED, rank,
                               MPI_INFO_NULL, &nd->node));
    node_report me;
    memset(&me, 0, sizeof me);
    me.loader = -1;
    int rc = 0;
    char msg[1024] = "";
    if (rank != 0) {
        nd->joined = 1;
        int nrank, len = 0;
        WG_MPI(MPI_Comm_rank(nd->node, &nrank));
        me.loader = rank;
        WG_MPI(MPI_Bcast(&me.loader, 1, MPI_INT32_T, 0, nd->node));
        WG_MPI(MPI_Get_processor_name(me.host, &len));
        double t0 = now();
        for (int i = 0; rc == 0 && i < h.n; i++) {
            double b = 0;
            rc = share_one(nd, &kb[i], nrank, x, msg, sizeof msg, &b);
            me.bytes += b;
        }
        me.secs = now() - t0;
        me.nkeys = h.n;
        me.kind = (int32_t)kb[0].kind;
        if (nd->nwin > 0) {
            me.n[0] = x->shared[0].train.n;
            me.n[1] = x->shared[0].test.n;
        }
        if (rc) {
            char where[1024];
            snprintf(where, sizeof where, "%s (rank %d on %s, loading the data for its node)",
                     msg, me.loader, me.host);
            memcpy(msg, where, sizeof msg);
        }
    }
    /* a node that could not load ends the run everywhere, with its loader's message */
    struct { int rc, rank; } mine = {rc, rank}, worst;
    WG_MPI(MPI_Allreduce(&mine, &worst, 1, MPI_2INT, MPI_MINLOC, comm));
    if (worst.rc < 0) {
        WG_MPI(MPI_Bcast(msg, (int)sizeof msg, MPI_CHAR, worst.rank, comm));
        msg[sizeof msg - 1] = '\0';
        wg_err_clear();
        return WG_FAIL(worst.rc, "%s", msg);
    }
    node_report *all = NULL;
    if (rank == 0) {
        all = wg_calloc((size_t)size, sizeof *all, "data report");
        if (!all) {
            fprintf(stderr, "wedge: rank 0: %s; ending the job\n", wg_err_msg());
            MPI_Abort(comm, 1);
        }
    }
    WG_MPI(MPI_Gather(&me, (int)sizeof me, MPI_BYTE, all, (int)sizeof me, MPI_BYTE, 0, comm));
    if (rank == 0 && !quiet)
        print_nodes(all, size);
    free(all);
    return 0;
}

void wg_nodedata_free(wg_nodedata *nd)
{
    if (!nd)
        return;
    for (int i = 0; i < nd->nwin; i++)
        WG_MPI(MPI_Win_free(&nd->win[i]));
    if (nd->joined)
        WG_MPI(MPI_Comm_free(&nd->node));
    memset(nd, 0, sizeof *nd);
}
