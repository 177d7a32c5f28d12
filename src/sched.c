/* sched.c: the MPI runner (sched.h).
 *
 * Start: rank 0 takes the output's lock (lock.h), decides how to start (a new
 * output; a resume that rebuilds the output from the journal, keeping rows of the
 * old output whose records were lost; a resume of an output without a journal),
 * creates or rebuilds the file alone, and tells every rank the run's header (the
 * output, the run number, the kinds' options); then all ranks open the file together,
 * and the worker ranks of each node make one shared copy of the data (nodedata.h).
 *
 * Protocol: rank 0 sends TASK(the task, where its dependencies' records are),
 * keeping up to two per worker so that a worker finishing one task starts the next
 * without a round trip; a worker sends BEAT when it starts a task and every few
 * seconds while it runs, and DONE(id, status, wall time, where its record is) after
 * the record is in its journal segment and its row in the file.  Nobody spins while
 * waiting: probes back off to sleeps of up to 2 ms.  On SIGTERM/SIGUSR1, or when a
 * record cannot be written (a full disk), rank 0 stops dispatching, running tasks may
 * finish within the grace period, unstarted ones stay pending, and every rank closes
 * the file.  Which rank runs a task never changes its numbers: every stream is keyed
 * by the task's setting. */
#include "wedge/sched.h"

#include <cblas.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "wedge/error.h"
#include "wedge/exec.h"
#include "wedge/journal.h"
#include "wedge/kind.h"
#include "wedge/lock.h"
#include "wedge/nodedata.h"
#include "wedge/result.h"
#include "wedge/reuse.h"
#include "wedge/store.h"

volatile sig_atomic_t wg_stop_requested = 0;

enum { TAG_TASK = 1, TAG_DONE = 2, TAG_STOP = 3, TAG_BEAT = 4 };
enum { DONE_RAN = 0, DONE_ABANDONED = 1, DONE_ERROR = 2 };
/* How a run starts (or that it does not). */
enum { START_CREATE = 0, START_OPEN = 1, START_REPLAY = 2, START_NOTHING = 3, START_REFUSE = 4 };

/* Rank 0's heartbeat in the lock file, and a worker's to rank 0 (seconds). */
#define LOCK_BEAT 5.0

/* ---- helpers ------------------------------------------------------------------------------ */

void wg_mpi_must(int e, const char *what, const char *file, int line)
{
    if (e == MPI_SUCCESS)
        return;
    char msg[MPI_MAX_ERROR_STRING] = "";
    int len = 0, rank = -1;
    MPI_Error_string(e, msg, &len);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    fprintf(stderr, "wedge: rank %d: %s failed (%s:%d): %s; ending the job\n", rank, what, file,
            line, msg);
    fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 1);
    _exit(1); /* MPI_Abort does not return; if it did, this rank must not go on */
}

/* An allocation the run cannot do without: on failure the job ends, naming the rank. */
static void *must_alloc(size_t n, size_t size, const char *what)
{
    void *p = wg_calloc(n ? n : 1, size ? size : 1, what);
    if (!p) {
        int rank = -1;
        MPI_Comm_rank(MPI_COMM_WORLD, &rank);
        fprintf(stderr, "wedge: rank %d: %s; ending the job\n", rank, wg_err_msg());
        fflush(stderr);
        MPI_Abort(MPI_COMM_WORLD, 1);
        _exit(1);
    }
    return p;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Sleep a little longer each time nothing happens: 50 us, doubling up to max_ns.
 * Rank 0 stops at 2 ms (it answers finished tasks); a worker with nothing to do goes
 * on to 20 ms, reached after ~40 ms of idleness: 50 polls a second instead of 500,
 * which with hundreds of idle ranks on a node is the difference between a few
 * percent of one core and a core's worth of wake-ups.  A worker that finishes a task
 * starts again at 50 us, so the next task, usually queued already, is not delayed. */
#define BACKOFF_RANK0_NS 2000000L
#define BACKOFF_WORKER_NS 20000000L
static void backoff(int *level, long max_ns)
{
    long ns = 50000L << (*level < 10 ? *level : 10);
    if (ns > max_ns)
        ns = max_ns;
    struct timespec ts = {ns / 1000000000L, ns % 1000000000L};
    nanosleep(&ts, NULL);
    if (*level < 10)
        (*level)++;
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec +
           (double)ru.ru_stime.tv_sec + 1e-6 * (double)ru.ru_stime.tv_usec;
}

static void on_signal(int sig)
{
    (void)sig;
    wg_stop_requested = 1;
}

void wg_run_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
}

/* "2h05m", "4m10s", "37s". */
static void fmt_secs(double s, char *buf, size_t cap)
{
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, cap, "%ldh%02ldm", t / 3600, t / 60 % 60);
    else if (t >= 60)
        snprintf(buf, cap, "%ldm%02lds", t / 60, t % 60);
    else
        snprintf(buf, cap, "%lds", t);
}

/* The journal's fault tests stop a run dead at the points of its completion where a
 * kill hurt before: WEDGE_FAULT=before-mark or after-mark (the output closed; the
 * completion mark not yet or already written). */
static void fault_point(const char *where)
{
    const char *f = getenv("WEDGE_FAULT");
    if (f && strcmp(f, where) == 0)
        raise(SIGKILL);
}

/* ---- messages ------------------------------------------------------------------------------- */

/* A task and what it needs: where the records of its dependencies are (len 0: in the
 * output file, read with the dependency's kind). */
typedef struct task_msg {
    wg_task task;
    int32_t dep_kind[WG_MAX_DEPS];
    wg_jloc deps[WG_MAX_DEPS];
} task_msg;

typedef struct done_msg {
    int64_t task;
    int32_t outcome;  /* DONE_* */
    int32_t status;   /* WG_STATUS_* when ran */
    double wall;      /* seconds the worker spent on it, storing included */
    wg_jloc loc;      /* where its record is */
    char message[WG_MSG_LEN];
} done_msg;

/* What every rank learns at the start: the run and the kinds' options. */
typedef struct run_head {
    int32_t start;              /* START_* */
    int32_t refuse_rc;
    long run;
    uint64_t seed;
    int32_t enabled[WG_TASK_KINDS];
    uint64_t opts_size[WG_TASK_KINDS];
    char name[128];
    char output[1100];
    char journal[1100];
    double grace, beat;
} run_head;

/* ---- a rank's execution of tasks ---------------------------------------------------------- */

typedef struct worker {
    const wg_plan *plan;        /* rank 0: the plan; workers: the header's options only */
    const run_head *head;
    wg_store *store;
    wg_exec exec;
    wg_segment seg;
    int rank;
    MPI_Comm comm;
    double stop_since;          /* when this rank learnt of a stop, 0 if not */
    double last_beat;
    int64_t current;            /* the task running, -1 */
    wg_lock *lock;              /* rank 0 alone: its heartbeat */
} worker;

static int stop_seen(worker *w)
{
    if (!w->stop_since) {
        int flag = 0;
        if (w->rank != 0)
            WG_MPI(MPI_Iprobe(0, TAG_STOP, w->comm, &flag, MPI_STATUS_IGNORE));
        if (flag || wg_stop_requested)
            w->stop_since = now();
    }
    return w->stop_since != 0.0;
}

/* A worker's beat to rank 0: the task it runs (at its start and every few seconds). */
static void beat(worker *w, int force)
{
    double t = now();
    if (!force && t - w->last_beat < w->head->beat)
        return;
    w->last_beat = t;
    if (w->rank != 0) {
        int64_t id = w->current;
        WG_MPI(MPI_Send(&id, 1, MPI_INT64_T, 0, TAG_BEAT, w->comm));
    } else if (w->lock) {
        wg_lock_beat(w->lock, NULL);
    }
}

/* Asked between epochs, directions, steps ...: give the task up once a stop is older
 * than the grace period; meanwhile, beat. */
static int should_abandon(void *user)
{
    worker *w = user;
    beat(w, 0);
    return stop_seen(w) && now() - w->stop_since > w->head->grace;
}

/* Run one task, keep its record and write its row; fill the reply for rank 0. */
static void run_one(worker *w, const task_msg *m, done_msg *d)
{
    const wg_task *t = &m->task;
    memset(d, 0, sizeof *d);
    d->task = (int64_t)t->id;
    double t0 = now();
    w->current = (int64_t)t->id;
    beat(w, 1);
    wg_result r, dep[WG_MAX_DEPS];
    const wg_result *deps[WG_MAX_DEPS] = {0};
    memset(dep, 0, sizeof dep);
    /* the records this task builds on: from the journal, or from the file when they
     * finished in a run whose journal is gone */
    for (size_t k = 0; k < t->ndeps; k++) {
        int rc = m->deps[k].len > 0
                     ? wg_journal_read(w->head->journal, &m->deps[k], &dep[k])
                     : wg_store_read_result(w->store, t->deps[k], m->dep_kind[k], &dep[k]);
        if (rc == 0)
            deps[k] = &dep[k];
        wg_err_clear();
    }
    int rc = wg_exec_task(&w->exec, w->plan, t, deps, &r);
    for (size_t k = 0; k < t->ndeps; k++)
        wg_result_free(&dep[k]);
    w->current = -1;
    if (rc == WG_EINTR) {
        d->outcome = DONE_ABANDONED;
        wg_result_free(&r);
        return;
    }
    if (rc == 0)
        rc = wg_segment_append(&w->seg, &r, &d->loc);
    if (rc == 0)
        rc = wg_store_write(w->store, &r);
    if (rc == 0) {
        d->outcome = DONE_RAN;
        d->status = r.status;
        d->wall = now() - t0; /* the worker's whole cost: compute and storage */
        memcpy(d->message, r.message, WG_MSG_LEN);
    } else {
        /* the record could not be kept (disk full, ...): the task stays pending */
        d->outcome = DONE_ERROR;
        snprintf(d->message, WG_MSG_LEN, "%s", wg_err_msg());
        wg_err_clear();
    }
    wg_result_free(&r);
}

static void worker_loop(worker *w)
{
    int level = 0;
    task_msg *m = must_alloc(1, sizeof *m, "task message");
    for (;;) {
        MPI_Status st;
        int flag = 0;
        WG_MPI(MPI_Iprobe(0, MPI_ANY_TAG, w->comm, &flag, &st));
        if (!flag) {
            backoff(&level, BACKOFF_WORKER_NS);
            continue;
        }
        level = 0;
        if (st.MPI_TAG == TAG_STOP) {
            WG_MPI(MPI_Recv(NULL, 0, MPI_BYTE, 0, TAG_STOP, w->comm, MPI_STATUS_IGNORE));
            break;
        }
        int count = 0;
        WG_MPI(MPI_Get_count(&st, MPI_BYTE, &count));
        if (st.MPI_TAG != TAG_TASK || count != (int)sizeof *m) {
            fprintf(stderr, "wedge: rank %d: a message of %d bytes with tag %d is not a task; "
                    "ending the job\n", w->rank, count, st.MPI_TAG);
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
        WG_MPI(MPI_Recv(m, (int)sizeof *m, MPI_BYTE, 0, TAG_TASK, w->comm, MPI_STATUS_IGNORE));
        const wg_kind *k = wg_kind_get(m->task.kind);
        if (!k || m->task.ndeps > WG_MAX_DEPS) { /* never run a task not received whole */
            fprintf(stderr, "wedge: rank %d: received a damaged task (kind %d, %zu "
                    "dependencies); ending the job\n", w->rank, (int)m->task.kind,
                    m->task.ndeps);
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
        done_msg d;
        if (stop_seen(w)) { /* a queued task after a stop is not started */
            memset(&d, 0, sizeof d);
            d.task = (int64_t)m->task.id;
            d.outcome = DONE_ABANDONED;
        } else {
            run_one(w, m, &d);
        }
        WG_MPI(MPI_Send(&d, (int)sizeof d, MPI_BYTE, 0, TAG_DONE, w->comm));
    }
    free(m);
}

/* ---- rank 0: scheduling ------------------------------------------------------------------- */

typedef struct sched {
    const wg_plan *plan;
    const run_head *head;
    uint8_t *status;      /* WG_STATUS_* per task */
    uint8_t *state;       /* 0 waiting, 1 sent, 2 finished */
    wg_jloc *loc;         /* where each finished task's record is (len 0: the file) */
    size_t *order;        /* tasks by decreasing cost */
    size_t next;          /* scan start in order */
    size_t to_run, finished, failed, queued;
    int64_t *running;     /* per rank: the task it runs (-1) */
    double *since;        /* per rank: since when */
    double t0, last_print, task_time, last_beat;
    double cost_done, wall_done;     /* for the ETA: measured seconds per unit of cost */
    double kcost[WG_TASK_KINDS], kwall[WG_TASK_KINDS];
    int quiet, io_error, nworkers, nranks;
    double progress;
    wg_lock *lock;
    char io_message[WG_MSG_LEN];
} sched;

static const wg_plan *cost_plan;
static int by_cost(const void *a, const void *b)
{
    const wg_task *x = &cost_plan->tasks[*(const size_t *)a];
    const wg_task *y = &cost_plan->tasks[*(const size_t *)b];
    if (x->cost != y->cost)
        return x->cost > y->cost ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* A task runs once its inputs are done (or skipped: it is then skipped too, by its
 * kind, with a message naming the input). */
static int ready(const sched *s, size_t id)
{
    const wg_task *t = &s->plan->tasks[id];
    for (size_t k = 0; k < t->ndeps; k++)
        if (s->status[t->deps[k]] != WG_STATUS_DONE && s->status[t->deps[k]] != WG_STATUS_SKIPPED)
            return 0;
    return 1;
}

/* Next task to hand out, or SIZE_MAX. */
static size_t pick(sched *s)
{
    while (s->next < s->plan->ntasks && s->state[s->order[s->next]] != 0)
        s->next++;
    for (size_t k = s->next; k < s->plan->ntasks; k++) {
        size_t id = s->order[k];
        if (s->state[id] == 0 && ready(s, id))
            return id;
    }
    return SIZE_MAX;
}

static void fill_msg(const sched *s, size_t id, task_msg *m)
{
    memset(m, 0, sizeof *m);
    m->task = s->plan->tasks[id];
    for (size_t k = 0; k < m->task.ndeps; k++) {
        size_t dep = m->task.deps[k];
        m->dep_kind[k] = (int32_t)s->plan->tasks[dep].kind;
        m->deps[k] = s->loc[dep];
    }
}

/* Seconds per unit of a kind's cost as its finished tasks measured it (0: none yet). */
static double kind_rate(const sched *s, int kind)
{
    return s->kcost[kind] > 0 ? s->kwall[kind] / s->kcost[kind] : 0.0;
}

/* The same, else all kinds' rate, else 0 (unknown): for the ETA. */
static double rate(const sched *s, int kind)
{
    if (s->kcost[kind] > 0)
        return kind_rate(s, kind);
    return s->cost_done > 0 ? s->wall_done / s->cost_done : 0.0;
}

/* Whether task id is expected to take under PREFETCH_MAX_S by its own kind's
 * measured rate.  Queuing a task behind a running one saves the round trip to rank 0
 * (what matters for tasks of milliseconds); queuing a long one makes it wait for the
 * task ahead of it while another worker may sit idle (two 1-hour trainings on one
 * worker of two).  A kind none of whose tasks has finished is not known to be short. */
#ifndef PREFETCH_MAX_S
#define PREFETCH_MAX_S 1.0
#endif
static int known_short(const sched *s, size_t id)
{
    const wg_task *t = &s->plan->tasks[id];
    double r = kind_rate(s, t->kind);
    return r > 0.0 && r * t->cost < PREFETCH_MAX_S;
}

static void print_progress(sched *s, int force)
{
    double t = now();
    if (s->quiet || (!force && t - s->last_print < s->progress))
        return;
    s->last_print = t;
    double el = t - s->t0, left = 0.0;
    size_t nrun = 0, over = 0, bykind[WG_TASK_KINDS] = {0};
    for (int r = 0; r < s->nranks; r++)
        if (s->running[r] >= 0) {
            const wg_task *tk = &s->plan->tasks[s->running[r]];
            nrun++;
            bykind[tk->kind]++;
            double est = tk->cost * rate(s, tk->kind) - (t - s->since[r]);
            left += est > 0 ? est : 0;
            over += est < 0; /* past its estimate: how much longer is unknown */
        }
    for (size_t i = 0; i < s->plan->ntasks; i++)
        if (s->state[i] == 0) {
            const wg_task *tk = &s->plan->tasks[i];
            left += tk->cost * rate(s, tk->kind);
        }
    char eta[32] = "-", elapsed[32], running[160] = "";
    if (s->wall_done > 0) {
        /* a running task past its estimate makes the ETA a lower bound: "> 4m22s" */
        strcpy(eta, over ? "> " : "");
        fmt_secs(left / (s->nworkers ? s->nworkers : 1), eta + strlen(eta),
                 sizeof eta - strlen(eta));
    }
    fmt_secs(el, elapsed, sizeof elapsed);
    for (int k = 0; k < WG_TASK_KINDS; k++)
        if (bykind[k]) {
            size_t used = strlen(running);
            snprintf(running + used, sizeof running - used, "%s%s %zu", used ? ", " : " (",
                     wg_kind_get(k)->name, bykind[k]);
        }
    if (running[0])
        strncat(running, ")", sizeof running - strlen(running) - 1);
    printf("[wedge] %zu/%zu done, %zu failed or diverged, %zu running%s, elapsed %s, ETA %s\n",
           s->finished, s->to_run, s->failed, nrun, running, elapsed, eta);
    fflush(stdout);
}

static void account(sched *s, int rank, const done_msg *d)
{
    size_t id = (size_t)d->task;
    s->queued--;
    if (s->running[rank] == d->task)
        s->running[rank] = -1;
    if (d->outcome == DONE_RAN) {
        const wg_task *t = &s->plan->tasks[id];
        s->state[id] = 2;
        s->status[id] = (uint8_t)d->status;
        s->loc[id] = d->loc;
        s->finished++;
        s->task_time += d->wall;
        s->cost_done += t->cost;
        s->wall_done += d->wall;
        s->kcost[t->kind] += t->cost;
        s->kwall[t->kind] += d->wall;
        if (d->status == WG_STATUS_FAILED || d->status == WG_STATUS_DIVERGED) {
            s->failed++;
            if (!s->quiet)
                printf("[wedge] task %zu %s: %s\n", id,
                       d->status == WG_STATUS_DIVERGED ? "diverged" : "failed", d->message);
        } else if (d->status == WG_STATUS_SKIPPED && !s->quiet) {
            printf("[wedge] task %zu skipped: %s\n", id, d->message);
        }
    } else {
        s->state[id] = 0; /* stays pending */
        if (d->outcome == DONE_ERROR && !s->io_error) {
            /* the fault is not the task's: stop handing out work, keep what is done */
            s->io_error = 1;
            snprintf(s->io_message, sizeof s->io_message, "%s", d->message);
            fprintf(stderr, "wedge: task %zu could not be saved: %s\n"
                            "wedge: no new tasks; running ones finish if they can be saved\n",
                    id, d->message);
        }
    }
    print_progress(s, 0);
}

static void heartbeat(sched *s)
{
    double t = now();
    if (t - s->last_beat >= LOCK_BEAT) {
        s->last_beat = t;
        wg_lock_beat(s->lock, NULL);
    }
}

static void rank0_loop(sched *s, worker *w, int size)
{
    int *queued = must_alloc((size_t)size, sizeof *queued, "scheduler state");
    task_msg *m = must_alloc(1, sizeof *m, "task message");
    int stopped = 0, level = 0;
    for (;;) {
        if (!stopped && (wg_stop_requested || stop_seen(w) || s->io_error)) {
            stopped = 1;
            if (!s->quiet && !s->io_error)
                printf("[wedge] stop requested: no new tasks; running ones get %.0fs to finish\n",
                       w->head->grace);
            for (int r = 1; r < size; r++)
                WG_MPI(MPI_Send(NULL, 0, MPI_BYTE, r, TAG_STOP, w->comm));
        }
        int progressed = 0, flag = 0;
        MPI_Status st;
        /* beats: which task each worker runs */
        WG_MPI(MPI_Iprobe(MPI_ANY_SOURCE, TAG_BEAT, w->comm, &flag, &st));
        while (flag) {
            int64_t id;
            WG_MPI(MPI_Recv(&id, 1, MPI_INT64_T, st.MPI_SOURCE, TAG_BEAT, w->comm,
                            MPI_STATUS_IGNORE));
            if (id >= 0 && s->running[st.MPI_SOURCE] != id) {
                s->running[st.MPI_SOURCE] = id;
                s->since[st.MPI_SOURCE] = now();
            }
            WG_MPI(MPI_Iprobe(MPI_ANY_SOURCE, TAG_BEAT, w->comm, &flag, &st));
        }
        /* collect */
        WG_MPI(MPI_Iprobe(MPI_ANY_SOURCE, TAG_DONE, w->comm, &flag, &st));
        if (flag) {
            done_msg d;
            WG_MPI(MPI_Recv(&d, (int)sizeof d, MPI_BYTE, st.MPI_SOURCE, TAG_DONE, w->comm,
                            MPI_STATUS_IGNORE));
            if (d.task < 0 || (uint64_t)d.task >= s->plan->ntasks || s->state[d.task] != 1) {
                fprintf(stderr, "wedge: rank 0: rank %d reported task %lld, which it was not "
                        "given; ending the job\n", st.MPI_SOURCE, (long long)d.task);
                MPI_Abort(MPI_COMM_WORLD, 1);
            }
            queued[st.MPI_SOURCE]--;
            account(s, st.MPI_SOURCE, &d);
            progressed = 1;
        }
        /* dispatch: one task to every worker first, then a second one queued behind
         * it only if it is known to be short */
        for (int depth = 1; !stopped && depth <= 2; depth++)
            for (int r = 1; r < size; r++) {
                if (queued[r] >= depth)
                    continue;
                size_t id = pick(s);
                if (id == SIZE_MAX || (depth == 2 && !known_short(s, id)))
                    break;
                fill_msg(s, id, m);
                WG_MPI(MPI_Send(m, (int)sizeof *m, MPI_BYTE, r, TAG_TASK, w->comm));
                s->state[id] = 1;
                s->queued++;
                queued[r]++;
                progressed = 1;
            }
        if (s->queued == 0 && (stopped || pick(s) == SIZE_MAX))
            break;
        heartbeat(s);
        print_progress(s, 0);
        if (!progressed)
            backoff(&level, BACKOFF_RANK0_NS);
        else
            level = 0;
    }
    if (!stopped)
        for (int r = 1; r < size; r++)
            WG_MPI(MPI_Send(NULL, 0, MPI_BYTE, r, TAG_STOP, w->comm));
    free(queued);
    free(m);
}

static void rank0_alone(sched *s, worker *w)
{
    size_t id;
    task_msg *m = must_alloc(1, sizeof *m, "task message");
    while (!stop_seen(w) && !s->io_error && (id = pick(s)) != SIZE_MAX) {
        done_msg d;
        s->state[id] = 1;
        s->queued++;
        s->running[0] = (int64_t)id;
        s->since[0] = now();
        fill_msg(s, id, m);
        run_one(w, m, &d);
        account(s, 0, &d);
    }
    free(m);
}

/* ---- rank 0: how to start ------------------------------------------------------------------ */

static int path_exists(const char *p, int *is_dir)
{
    struct stat sb;
    if (stat(p, &sb) != 0)
        return 0;
    if (is_dir)
        *is_dir = S_ISDIR(sb.st_mode);
    return 1;
}

/* The output's directory must exist and be writable, and the output not a directory. */
static int check_output(const char *out)
{
    char dir[1100];
    snprintf(dir, sizeof dir, "%s", out);
    char *slash = strrchr(dir, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    int is_dir = 0;
    if (!path_exists(dir, &is_dir) || !is_dir)
        return WG_FAIL(WG_EIO, "%s: the directory %s does not exist", out, dir);
    if (access(dir, W_OK | X_OK) != 0)
        return WG_FAIL(WG_EIO, "%s: cannot write in %s: %s", out, dir, strerror(errno));
    if (path_exists(out, &is_dir) && is_dir)
        return WG_FAIL(WG_EIO, "%s is a directory: give the output file's name (-o FILE)", out);
    return 0;
}

/* The sweep hash an output was written by ("" if unreadable). */
static void output_hash(const char *out, char hash[65])
{
    wg_store s;
    hash[0] = '\0';
    if (wg_store_attach(&s, out, 0, MPI_COMM_SELF) != 0) {
        wg_err_clear();
        return;
    }
    wg_store_sweep_hash(&s, hash);
    wg_store_close(&s);
}

/* The task rows of a readable old output that are final (done or diverged), with
 * statuses into st[ntasks]; 0 if the file cannot be read (killed while open). */
static int old_rows(const char *out, const wg_plan *plan, wg_store *old, uint8_t *st)
{
    char hash[65];
    output_hash(out, hash);
    if (strcmp(hash, plan->sha256) != 0)
        return 0;
    if (wg_store_attach(old, out, 0, MPI_COMM_SELF) != 0) {
        wg_err_clear();
        return 0;
    }
    if (old->ntasks != plan->ntasks || wg_store_read_status(old, st) != 0) {
        wg_err_clear();
        wg_store_close(old);
        return 0;
    }
    return 1;
}

/* --resume with a sweep file whose text differs from the one the output (or its
 * journal) was started with only in what does not change the sweep (comments,
 * layout, quoting: plan->meaning): the run goes on with the recorded text, which
 * the output and journal keep.  Returns `adopted`, a copy of *plan holding that
 * text (*keep: the text, to free after the run), or plan itself, which the checks
 * of prepare() then refuse as before if the texts differ. */
static const wg_plan *same_meaning(const wg_plan *plan, const char *out, const char *journal,
                                   wg_plan *adopted, char **keep, int quiet)
{
    char *old = NULL;
    int is_dir = 0;
    if (path_exists(journal, &is_dir) && is_dir) {
        old = wg_journal_sweep_text(journal);
    } else if (path_exists(out, &is_dir) && !is_dir) { /* a directory: prepare() says so */
        wg_store s;
        if (wg_store_attach(&s, out, 0, MPI_COMM_SELF) == 0) {
            old = wg_store_sweep_text(&s);
            wg_store_close(&s);
        }
        wg_err_clear();
    }
    if (!old)
        return plan;
    size_t len = strlen(old);
    char hash[65];
    wg_sha256_hex(old, len, hash);
    wg_plan o;
    int same = strcmp(hash, plan->sha256) != 0 && wg_sweep_parse(&o, old, len, plan->file) == 0;
    if (same) {
        same = strcmp(o.meaning, plan->meaning) == 0 && o.ntasks == plan->ntasks;
        wg_plan_free(&o);
    }
    wg_err_clear();
    if (!same) {
        free(old);
        return plan;
    }
    *adopted = *plan;
    adopted->text = old;
    adopted->text_len = len;
    memcpy(adopted->sha256, hash, sizeof hash);
    *keep = old;
    if (!quiet)
        printf("[wedge] --resume: %s differs from the sweep text %s was started with only in "
               "comments and layout; continuing with that text (the output keeps it)\n",
               plan->file, out);
    return adopted;
}

typedef struct prep {
    uint8_t *status;
    wg_jloc *loc;
    long run;
    int start;
} prep;

/* A new output beside the journal (rank 0 alone). */
static int create_output(const wg_plan *plan, const char *out, const wg_store_meta *meta)
{
    wg_store s;
    int rc = wg_store_create(&s, out, plan, meta, MPI_COMM_SELF, 1);
    if (rc == 0)
        rc = wg_store_close(&s);
    return rc;
}

/* Rebuild the output from the journal, keeping rows of the old output whose records
 * are lost or damaged (and journalling them again). */
static int replay(const wg_plan *plan, const char *out, const char *journal,
                  const wg_store_meta *meta, prep *pr, int quiet)
{
    wg_jentry *e = NULL;
    wg_jdamage *dm = NULL;
    size_t ne = 0, nd = 0;
    int rc = wg_journal_scan(journal, &e, &ne, &dm, &nd, &pr->run);
    if (rc)
        return rc;
    pr->run++;
    const size_t N = plan->ntasks;
    long *latest = must_alloc(N, sizeof *latest, "journal index");
    for (size_t i = 0; i < N; i++)
        latest[i] = -1;
    size_t foreign = 0;
    for (size_t i = 0; i < ne; i++) {
        if (e[i].task >= N || e[i].kind != (int)plan->tasks[e[i].task].kind) {
            foreign++;
            continue;
        }
        latest[e[i].task] = (long)i;
    }
    /* the old file, for rows the journal lost */
    wg_store old;
    uint8_t *ost = must_alloc(N, 1, "old statuses");
    int have_old = path_exists(out, NULL) && old_rows(out, plan, &old, ost);
    char tmp[1200];
    snprintf(tmp, sizeof tmp, "%s.rebuild", out);
    wg_store s;
    rc = wg_store_create(&s, tmp, plan, meta, MPI_COMM_SELF, 1);
    wg_segment seg = {.fd = -1};
    char segname[48];
    wg_segment_name(pr->run, 0, segname, sizeof segname);
    size_t replayed = 0, kept = 0, lost = 0;
    for (size_t t = 0; rc == 0 && t < N; t++) {
        wg_result r;
        if (latest[t] >= 0) {
            rc = wg_journal_read(journal, &e[latest[t]].loc, &r);
            if (rc == 0) {
                pr->status[t] = (uint8_t)r.status;
                pr->loc[t] = e[latest[t]].loc;
                rc = wg_store_write(&s, &r);
                replayed++;
                wg_result_free(&r);
            }
            continue;
        }
        if (!have_old || (ost[t] != WG_STATUS_DONE && ost[t] != WG_STATUS_DIVERGED &&
                          ost[t] != WG_STATUS_SKIPPED))
            continue;
        /* a finished row whose record is gone: keep it, and journal it again */
        if (wg_store_read_result(&old, t, plan->tasks[t].kind, &r) != 0) {
            wg_err_clear();
            lost++;
            continue;
        }
        if (seg.fd < 0)
            rc = wg_segment_open(&seg, journal, segname);
        if (rc == 0)
            rc = wg_segment_append(&seg, &r, &pr->loc[t]);
        if (rc == 0)
            rc = wg_store_write(&s, &r);
        if (rc == 0)
            pr->status[t] = (uint8_t)r.status, kept++;
        wg_result_free(&r);
    }
    int crc = s.open ? wg_store_close(&s) : 0;
    if (rc == 0)
        rc = crc;
    if (have_old)
        wg_store_close(&old);
    wg_segment_close(&seg);
    /* report what the journal could not give */
    for (size_t i = 0; i < nd && !quiet; i++) {
        long long task = dm[i].task;
        const char *fate = task >= 0 && (size_t)task < N && pr->status[task] != 0
                               ? (latest[task] >= 0 ? "a later record of it is used"
                                                    : "its row is kept from the old output")
                               : "it will be run again";
        if (task >= 0)
            printf("[wedge] journal: task %lld's record in %s (byte %llu) is damaged (%s): %s\n",
                   task, dm[i].loc.seg, (unsigned long long)dm[i].loc.off, dm[i].what, fate);
        else
            printf("[wedge] journal: %s at byte %llu: %s\n", dm[i].loc.seg,
                   (unsigned long long)dm[i].loc.off, dm[i].what);
    }
    if (!quiet && (kept || lost || nd || foreign))
        printf("[wedge] resume: %zu record%s from the journal, %zu row%s kept from the old "
               "output%s\n", replayed, replayed == 1 ? "" : "s", kept, kept == 1 ? "" : "s",
               foreign ? "; records of tasks this sweep does not have were ignored" : "");
    if (rc == 0 && rename(tmp, out) != 0)
        rc = WG_FAIL(WG_EIO, "%s: cannot replace it with the rebuilt file: %s", out,
                     strerror(errno));
    if (rc)
        unlink(tmp);
    free(latest);
    free(ost);
    free(e);
    free(dm);
    return rc;
}

/* Rank 0, a new output: take the finished rows of earlier outputs (reuse.h), journalled
 * as rank 0's records of run 1. */
static int reuse(const wg_plan *plan, const wg_run_opts *opts, const char *out,
                 const char *journal, prep *pr)
{
    wg_store s;
    int rc = wg_store_attach(&s, out, 1, MPI_COMM_SELF);
    wg_segment seg = {.fd = -1};
    char segname[48];
    wg_segment_name(pr->run, 0, segname, sizeof segname);
    wg_reuse_target tg = {0};
    if (rc == 0)
        rc = wg_reuse_target_init(&tg, plan);
    for (int i = 0; rc == 0 && i < opts->nreuse; i++) {
        wg_reuse_stats st;
        rc = wg_reuse_rows(&tg, opts->reuse[i], &s, journal, &seg, segname, pr->status,
                           pr->loc, &st);
        if (rc == 0)
            wg_reuse_report(stdout, plan, opts->reuse[i], &st, pr->status, opts->quiet);
    }
    wg_reuse_target_free(&tg);
    int crc = s.open ? wg_store_close(&s) : 0;
    wg_segment_close(&seg);
    return rc ? rc : crc;
}

/* Rank 0: take the lock, decide how to start, make the output ready. */
static int prepare(const wg_plan *plan, const wg_run_opts *opts, const char *out,
                   const char *journal, const wg_store_meta *meta, wg_lock *lock, prep *pr)
{
    int rc = check_output(out);
    wg_lock_info prev;
    if (rc == 0)
        rc = wg_lock_take(lock, out, 0, opts->linger > 0 ? opts->linger : 30.0,
                          opts->stale > 0 ? opts->stale : 60.0, &prev);
    if (rc)
        return rc;
    int have_out = path_exists(out, NULL), have_journal = path_exists(journal, NULL);
    if (have_journal && wg_journal_is_complete(journal)) {
        /* a finished sweep whose journal removal was cut short */
        rc = wg_journal_remove(journal);
        have_journal = 0;
        if (rc)
            return rc;
    }
    if (opts->force) {
        if (have_journal && (rc = wg_journal_remove(journal)))
            return rc;
        have_journal = have_out = 0;
    }
    if ((have_out || have_journal) && !opts->resume)
        return WG_FAIL(WG_EIO, "%s exists: pass --resume to continue it or --force to overwrite "
                       "it", have_out ? out : journal);
    for (int i = 0; i < opts->nreuse; i++) {
        char a[PATH_MAX], b[PATH_MAX];
        if (realpath(opts->reuse[i], a) && realpath(out, b) && strcmp(a, b) == 0)
            return WG_FAIL(WG_EARG, "--reuse %s is the output itself: --resume continues an "
                           "output", opts->reuse[i]);
    }
    if (opts->nreuse && (have_out || have_journal) && !opts->quiet)
        printf("[wedge] --reuse: %s exists and is resumed; rows are taken from earlier outputs "
               "only when the output is created\n", out);
    if (have_journal) {
        pr->start = START_REPLAY;
        rc = wg_journal_check_sweep(journal, plan->text, plan->sha256, plan->file);
        if (rc == 0)
            rc = replay(plan, out, journal, meta, pr, opts->quiet);
        return rc;
    }
    if (have_out) { /* no journal: a finished run (or one whose journal was deleted) */
        char hash[65];
        output_hash(out, hash);
        if (!hash[0])
            return WG_FAIL(WG_EFORMAT, "%s: not a readable wedge output, and no journal to "
                           "rebuild it from; start over with --force", out);
        wg_store s;
        if (strcmp(hash, plan->sha256) != 0) {
            char what[256] = "the sweep text differs";
            if (wg_store_attach(&s, out, 0, MPI_COMM_SELF) == 0) {
                char *old = wg_store_sweep_text(&s);
                if (old)
                    wg_text_first_change(old, plan->text, what, sizeof what);
                free(old);
                wg_store_close(&s);
            }
            wg_err_clear();
            return WG_FAIL(WG_EARG, "%s was written by a different sweep than %s (%s); refusing "
                           "to resume. Restore the sweep file, or start a new output with "
                           "--force or -o", out, plan->file, what);
        }
        rc = wg_store_attach(&s, out, 0, MPI_COMM_SELF);
        if (rc == 0 && s.ntasks != plan->ntasks)
            rc = WG_FAIL(WG_EFORMAT, "%s has %zu tasks, the sweep %zu", out, s.ntasks,
                         plan->ntasks);
        if (rc == 0)
            rc = wg_store_read_status(&s, pr->status);
        if (s.open)
            wg_store_close(&s);
        pr->start = START_OPEN;
        pr->run = 1;
        if (rc == 0 && (rc = wg_journal_create(journal)) == 0)
            rc = wg_journal_write_sweep(journal, plan->text, plan->text_len, plan->sha256,
                                        plan->ntasks);
        return rc;
    }
    for (int i = 0; i < opts->nreuse; i++) { /* readable, before anything is created */
        wg_store o;
        if (wg_store_attach(&o, opts->reuse[i], 0, MPI_COMM_SELF) != 0) {
            char why[512];
            snprintf(why, sizeof why, "%s", wg_err_msg());
            wg_err_clear();
            return WG_FAIL(WG_EFORMAT, "--reuse: %s", why);
        }
        wg_store_close(&o);
    }
    pr->start = START_CREATE;
    pr->run = 1;
    rc = wg_journal_create(journal);
    if (rc == 0)
        rc = wg_journal_write_sweep(journal, plan->text, plan->text_len, plan->sha256,
                                    plan->ntasks);
    if (rc == 0)
        rc = create_output(plan, out, meta);
    if (rc == 0 && opts->nreuse > 0)
        rc = reuse(plan, opts, out, journal, pr);
    return rc;
}

/* ---- the whole run ------------------------------------------------------------------------- */

static int agree(int rc, MPI_Comm comm)
{
    int worst;
    WG_MPI(MPI_Allreduce(&rc, &worst, 1, MPI_INT, MPI_MIN, comm));
    return worst;
}

/* Every rank learns the header and the kinds' options; workers get a plan holding
 * just those (no tasks: what a task needs comes with it). */
static void share_head(run_head *h, const wg_plan *plan, wg_plan *mini, int rank, MPI_Comm comm)
{
    WG_MPI(MPI_Bcast(h, (int)sizeof *h, MPI_BYTE, 0, comm));
    if (h->start == START_REFUSE)
        return;
    for (int k = 0; k < WG_TASK_KINDS; k++) {
        if (!h->enabled[k] || !h->opts_size[k])
            continue;
        void *buf = rank == 0 ? plan->opts[k] : must_alloc(1, h->opts_size[k], "options");
        WG_MPI(MPI_Bcast(buf, (int)h->opts_size[k], MPI_BYTE, 0, comm));
        if (rank != 0)
            mini->opts[k] = buf;
    }
    if (rank != 0) {
        mini->seed = h->seed;
        snprintf(mini->name, sizeof mini->name, "%s", h->name);
        for (int k = 0; k < WG_TASK_KINDS; k++)
            mini->enabled[k] = h->enabled[k];
    }
}

int wg_run(const wg_plan *plan, const wg_run_opts *opts, MPI_Comm comm, char *outpath,
           size_t outsize)
{
    int rank, size;
    WG_MPI(MPI_Comm_rank(comm, &rank));
    WG_MPI(MPI_Comm_size(comm, &size));
    wg_run_signals();
    run_head head;
    memset(&head, 0, sizeof head);
    wg_lock lock = {.fd = -1};
    prep pr = {0};
    int rc = 0;
    wg_plan adopted;
    char *adopted_text = NULL;
    if (rank == 0) {
        const char *out = opts->output ? opts->output : plan->output;
        snprintf(head.output, sizeof head.output, "%s", out);
        if (outpath)
            snprintf(outpath, outsize, "%s", out);
        wg_journal_dir(out, head.journal, sizeof head.journal);
        wg_store_meta meta = {WG_VERSION, size, openblas_get_config(),
                              openblas_get_num_threads(), opts->command};
        pr.status = must_alloc(plan->ntasks, 1, "task status");
        pr.loc = must_alloc(plan->ntasks, sizeof *pr.loc, "journal index");
        if (opts->resume && !opts->force)
            plan = same_meaning(plan, out, head.journal, &adopted, &adopted_text, opts->quiet);
        if (wg_stop_requested)
            rc = WG_EINTR;
        else
            rc = prepare(plan, opts, out, head.journal, &meta, &lock, &pr);
        head.start = rc ? START_REFUSE : pr.start;
        lock.info.run = pr.run;
        wg_lock_beat(&lock, NULL);
        head.refuse_rc = rc;
        head.run = pr.run;
        head.seed = plan->seed;
        snprintf(head.name, sizeof head.name, "%s", plan->name);
        for (int k = 0; k < WG_TASK_KINDS; k++) {
            head.enabled[k] = plan->enabled[k];
            head.opts_size[k] = plan->enabled[k] ? wg_kind_get(k)->opts_size : 0;
        }
        head.grace = opts->grace;
        double p = opts->progress > 0 ? opts->progress : 10.0;
        head.beat = p / 2 < 1.0 ? p / 2 : p / 2 > LOCK_BEAT ? LOCK_BEAT : p / 2;
        if (rc == WG_EINTR) {
            wg_err_clear();
            if (!opts->quiet)
                printf("[wedge] stopped before any task started: nothing was started\n");
        }
    }
    wg_plan mini;
    memset(&mini, 0, sizeof mini);
    share_head(&head, plan, &mini, rank, comm);
    if (head.start == START_REFUSE) {
        wg_lock_release(&lock, NULL);
        free(pr.status), free(pr.loc), free(adopted_text);
        if (head.refuse_rc == WG_EINTR)
            return WG_RUN_INTERRUPTED;
        return rank == 0 ? head.refuse_rc : WG_EIO;
    }

    worker w;
    memset(&w, 0, sizeof w);
    w.plan = rank == 0 ? plan : &mini;
    w.head = &head;
    w.rank = rank;
    w.comm = comm;
    w.current = -1;
    w.lock = size == 1 ? &lock : NULL;
    w.seg.fd = -1;
    wg_exec_init(&w.exec);
    w.exec.rank = rank;
    w.exec.stop = should_abandon;
    w.exec.stop_user = &w;
    wg_store store;
    memset(&store, 0, sizeof store);
    w.store = &store;
    rc = wg_store_attach(&store, head.output, 1, comm);
    if (rc == 0)
        rc = wg_lock_share(&lock, head.output);
    if (rc == 0 && (size == 1 || rank != 0)) {
        char name[48];
        wg_segment_name(head.run, rank, name, sizeof name);
        rc = wg_segment_open(&w.seg, head.journal, name);
    }
    if (rc)
        fprintf(stderr, "wedge: rank %d: %s\n", rank, wg_err_msg());
    rc = agree(rc, comm);
    /* one copy of the data per node, before the first task (window allocation is
     * collective); with one process the data is loaded on first use */
    wg_nodedata nd;
    memset(&nd, 0, sizeof nd);
    if (rc == 0 && size > 1) {
        wg_data_key keys[WG_EXEC_SHARED];
        int nkeys = 0, ntotal = 0;
        if (rank == 0) {
            uint8_t *run = must_alloc(plan->ntasks, 1, "tasks to run");
            for (size_t i = 0; i < plan->ntasks; i++)
                run[i] = pr.status[i] != WG_STATUS_DONE && pr.status[i] != WG_STATUS_DIVERGED &&
                         pr.status[i] != WG_STATUS_SKIPPED;
            ntotal = wg_nodedata_plan_keys(plan, run, keys, WG_EXEC_SHARED);
            nkeys = ntotal < WG_EXEC_SHARED ? ntotal : WG_EXEC_SHARED;
            free(run);
        }
        rc = wg_nodedata_setup(&nd, keys, nkeys, ntotal, comm, &w.exec, opts->quiet);
    }

    int result = WG_RUN_COMPLETE;
    sched s;
    memset(&s, 0, sizeof s);
    if (rc == 0) {
        if (rank == 0) {
            s.plan = plan;
            s.head = &head;
            s.status = pr.status;
            s.loc = pr.loc;
            s.state = must_alloc(plan->ntasks, 1, "scheduler state");
            s.order = must_alloc(plan->ntasks, sizeof *s.order, "scheduler state");
            s.running = must_alloc((size_t)size, sizeof *s.running, "scheduler state");
            s.since = must_alloc((size_t)size, sizeof *s.since, "scheduler state");
            s.nworkers = size > 1 ? size - 1 : 1;
            s.nranks = size;
            s.lock = &lock;
            s.quiet = opts->quiet;
            s.progress = opts->progress > 0 ? opts->progress : 10.0;
            s.t0 = s.last_print = s.last_beat = now();
            for (int r = 0; r < size; r++)
                s.running[r] = -1;
            size_t already = 0;
            for (size_t i = 0; i < plan->ntasks; i++) {
                s.order[i] = i;
                /* done and diverged are final; pending and failed (re)run */
                if (pr.status[i] == WG_STATUS_DONE || pr.status[i] == WG_STATUS_DIVERGED ||
                    pr.status[i] == WG_STATUS_SKIPPED) {
                    s.state[i] = 2;
                    already++;
                }
            }
            s.to_run = plan->ntasks - already;
            cost_plan = plan;
            qsort(s.order, plan->ntasks, sizeof *s.order, by_cost);
            if (!opts->quiet)
                printf("[wedge] %s: %zu tasks, %zu to run on %d rank%s%s -> %s\n", plan->name,
                       plan->ntasks, s.to_run, size, size == 1 ? "" : "s",
                       size > 1 ? " (rank 0 schedules)" : "", head.output);
            fflush(stdout);
            double cpu0 = cpu_seconds();
            if (size == 1)
                rank0_alone(&s, &w);
            else
                rank0_loop(&s, &w, size);
            print_progress(&s, 1);
            if (!opts->quiet && s.finished > 0 && size > 1) {
                /* what scheduling costs: rank 0's CPU over the dispatch loop */
                double cpu = cpu_seconds() - cpu0;
                printf("[wedge] wall %.2fs, summed task time %.2fs on %d workers, rank 0 "
                       "scheduling CPU %.3fs (%.3f ms/task)\n",
                       now() - s.t0, s.task_time, size - 1, cpu,
                       1e3 * cpu / (double)s.finished);
            }
            size_t pending = 0, bad = 0;
            for (size_t i = 0; i < plan->ntasks; i++) {
                pending += pr.status[i] == WG_STATUS_PENDING;
                bad += pr.status[i] == WG_STATUS_FAILED || pr.status[i] == WG_STATUS_DIVERGED;
            }
            result = pending ? WG_RUN_INTERRUPTED : bad ? WG_RUN_TASKS_FAILED : WG_RUN_COMPLETE;
            if (s.io_error) {
                result = WG_RUN_INTERRUPTED;
                fprintf(stderr, "wedge: stopped because a record could not be written (%s); "
                                "nothing finished is lost: make room and rerun with --resume\n",
                        s.io_message);
            }
        } else {
            worker_loop(&w);
        }
    }
    WG_MPI(MPI_Bcast(&result, 1, MPI_INT, 0, comm));
    wg_segment_close(&w.seg);
    int crc = wg_store_close(&store);
    if (crc)
        fprintf(stderr, "wedge: rank %d: %s\n", rank, wg_err_msg());
    crc = agree(crc, comm);
    if (rc == 0 && crc) {
        /* the journal keeps every finished task: a resume rebuilds the file */
        result = WG_RUN_INTERRUPTED;
        if (rank == 0)
            fprintf(stderr, "wedge: the output could not be closed cleanly; the journal keeps "
                            "every finished task: rerun with --resume\n");
    }
    /* the end of a complete sweep: one atomic mark, then the journal goes */
    const char *state = "interrupted";
    if (rc == 0 && crc == 0 && rank == 0) {
        size_t open = 0;
        for (size_t i = 0; i < plan->ntasks; i++)
            open += pr.status[i] == WG_STATUS_PENDING || pr.status[i] == WG_STATUS_FAILED;
        if (open == 0 && result != WG_RUN_INTERRUPTED) {
            state = "finished";
            fault_point("before-mark");
            if (wg_journal_mark_complete(head.journal) == 0) {
                fault_point("after-mark");
                wg_journal_remove(head.journal);
            }
            wg_err_clear();
        } else if (result != WG_RUN_INTERRUPTED) {
            state = "incomplete";
        }
    }
    wg_lock_release(&lock, rank == 0 ? state : NULL);
    free(s.state), free(s.order), free(s.running), free(s.since);
    free(pr.status), free(pr.loc), free(adopted_text);
    for (int k = 0; k < WG_TASK_KINDS; k++)
        if (rank != 0)
            free(mini.opts[k]);
    wg_exec_free(&w.exec);
    wg_nodedata_free(&nd); /* after the exec that borrowed the copies */
    return rc ? rc : result;
}
