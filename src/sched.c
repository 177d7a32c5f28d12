/* sched.c: the MPI runner.
 *
 * Protocol: rank 0 sends TASK(id) messages, keeping up to two per worker so that
 * a worker finishing one task starts the next without a round trip; a worker
 * answers DONE(id, status, wall time, message) after its record is in the journal
 * and in the NetCDF file.  Nobody spins while waiting: probes back off to sleeps of
 * up to 2 ms (Open MPI's blocking receives would burn a core per idle rank).  On
 * SIGTERM/SIGUSR1 rank 0 stops dispatching, running tasks may finish within the
 * grace period, unstarted ones stay pending, and every rank closes the file.
 * Which rank runs a task never changes its numbers: every stream is keyed by the
 * task's setting. */
#include "wedge/sched.h"

#include <cblas.h>
#include <errno.h>
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
#include "wedge/result.h"
#include "wedge/store.h"

volatile sig_atomic_t wg_stop_requested = 0;

enum { TAG_TASK = 1, TAG_DONE = 2, TAG_STOP = 3 };
enum { DONE_RAN = 0, DONE_ABANDONED = 1, DONE_ERROR = 2 };

typedef struct done_msg {
    int64_t task;
    int32_t outcome;  /* DONE_* */
    int32_t status;   /* WG_STATUS_* when ran */
    double wall;      /* seconds the worker spent on it, storing included */
    char message[WG_MSG_LEN];
} done_msg;

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

/* Sleep a little longer each time nothing happens: ~50 us up to 2 ms. */
static void backoff(int *level)
{
    long ns = 50000L << (*level < 5 ? *level : 5);
    if (ns > 2000000L)
        ns = 2000000L;
    struct timespec ts = {0, ns};
    nanosleep(&ts, NULL);
    if (*level < 6)
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

static void install_handlers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
}

/* ---- per-rank execution --------------------------------------------------------- */

typedef struct worker {
    const wg_plan *plan;
    const wg_run_opts *opts;
    wg_store *store;
    wg_exec exec;
    char journal[1100];
    int rank;
    MPI_Comm comm;
    double stop_since; /* when this rank learnt of a stop, 0 if not */
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

/* Between epochs: abandon the task once a stop is older than the grace period. */
static int should_abandon(void *user)
{
    worker *w = user;
    return stop_seen(w) && now() - w->stop_since > w->opts->grace;
}

/* Run one task and store its record; fill the reply for rank 0. */
static void run_one(worker *w, size_t id, done_msg *d)
{
    memset(d, 0, sizeof *d);
    d->task = (int64_t)id;
    double t0 = now();
    wg_result r, dep[WG_MAX_DEPS];
    const wg_result *deps[WG_MAX_DEPS] = {0};
    const wg_task *t = &w->plan->tasks[id];
    memset(dep, 0, sizeof dep);
    /* the records this task builds on: from the journal, or from the file when they
     * finished in an earlier run */
    for (size_t k = 0; k < t->ndeps; k++) {
        if (wg_journal_read(w->journal, t->deps[k], &dep[k]) != 0) {
            wg_err_clear();
            if (wg_store_read_result(w->store, t->deps[k], w->plan->tasks[t->deps[k]].kind,
                                     &dep[k]) != 0) {
                wg_err_clear();
                continue;
            }
        }
        deps[k] = &dep[k];
    }
    int rc = wg_exec_task(&w->exec, w->plan, t, deps, &r);
    for (size_t k = 0; k < t->ndeps; k++)
        wg_result_free(&dep[k]);
    if (rc == WG_EINTR) {
        d->outcome = DONE_ABANDONED;
        wg_result_free(&r);
        return;
    }
    if (rc == 0)
        rc = wg_journal_write(w->journal, &r);
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
    for (;;) {
        MPI_Status st;
        int flag = 0;
        WG_MPI(MPI_Iprobe(0, MPI_ANY_TAG, w->comm, &flag, &st));
        if (!flag) {
            backoff(&level);
            continue;
        }
        level = 0;
        if (st.MPI_TAG == TAG_STOP) {
            WG_MPI(MPI_Recv(NULL, 0, MPI_BYTE, 0, TAG_STOP, w->comm, MPI_STATUS_IGNORE));
            return;
        }
        int64_t id = -1;
        WG_MPI(MPI_Recv(&id, 1, MPI_INT64_T, 0, TAG_TASK, w->comm, MPI_STATUS_IGNORE));
        if (id < 0 || (uint64_t)id >= w->plan->ntasks) { /* never run a task not received */
            fprintf(stderr, "wedge: rank %d: received task id %lld outside the plan's %zu "
                    "tasks; ending the job\n", w->rank, (long long)id, w->plan->ntasks);
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
        done_msg d;
        if (stop_seen(w)) { /* a queued task after a stop is not started */
            memset(&d, 0, sizeof d);
            d.task = id;
            d.outcome = DONE_ABANDONED;
        } else {
            run_one(w, (size_t)id, &d);
        }
        WG_MPI(MPI_Send(&d, (int)sizeof d, MPI_BYTE, 0, TAG_DONE, w->comm));
    }
}

/* ---- rank 0: scheduling -------------------------------------------------------------- */

typedef struct sched {
    const wg_plan *plan;
    uint8_t *status;      /* WG_STATUS_* per task */
    uint8_t *state;       /* 0 waiting, 1 sent/running, 2 finished */
    size_t *order;        /* tasks by decreasing cost */
    size_t next;          /* scan start in order */
    size_t to_run, finished, failed, running;
    double t0, last_print, task_time;
    int quiet;
    double progress;
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

static int ready(const sched *s, size_t id)
{
    const wg_task *t = &s->plan->tasks[id];
    for (size_t k = 0; k < t->ndeps; k++)
        if (s->status[t->deps[k]] != WG_STATUS_DONE)
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

static void print_progress(sched *s, int force)
{
    double t = now();
    if (s->quiet || (!force && t - s->last_print < s->progress))
        return;
    s->last_print = t;
    double el = t - s->t0, rate = el > 0 ? s->finished / el : 0;
    double left = (double)(s->to_run - s->finished);
    char eta[32] = "-";
    if (rate > 0 && left > 0)
        snprintf(eta, sizeof eta, "%.0fs", left / rate);
    printf("[wedge] %zu/%zu done, %zu failed or diverged, %zu running, %.2f tasks/s, elapsed %.0fs, ETA %s\n",
           s->finished, s->to_run, s->failed, s->running, rate, el, eta);
    fflush(stdout);
}

static void account(sched *s, const done_msg *d)
{
    size_t id = (size_t)d->task;
    s->running--;
    if (d->outcome == DONE_RAN) {
        s->state[id] = 2;
        s->status[id] = (uint8_t)d->status;
        s->finished++;
        s->task_time += d->wall;
        if (d->status != WG_STATUS_DONE) {
            s->failed++;
            if (!s->quiet)
                printf("[wedge] task %zu %s: %s\n", id,
                       d->status == WG_STATUS_DIVERGED ? "diverged" : "failed", d->message);
        }
    } else {
        s->state[id] = 0; /* stays pending */
        if (d->outcome == DONE_ERROR) {
            fprintf(stderr, "wedge: task %zu could not be saved: %s\n", id, d->message);
            s->failed++;
            s->state[id] = 2; /* do not retry in this run: the fault is not the task's */
        }
    }
    print_progress(s, 0);
}

static void rank0_loop(sched *s, worker *w, int size)
{
    int *queued = must_alloc((size_t)size, sizeof *queued, "scheduler state");
    int stopped = 0, level = 0;
    double stop_at = 0;
    for (;;) {
        if (!stopped && (wg_stop_requested || stop_seen(w))) {
            stopped = 1;
            stop_at = now();
            if (!s->quiet)
                printf("[wedge] stop requested: no new tasks; running ones get %.0fs to finish\n",
                       w->opts->grace);
            for (int r = 1; r < size; r++)
                WG_MPI(MPI_Send(NULL, 0, MPI_BYTE, r, TAG_STOP, w->comm));
        }
        int progressed = 0;
        /* collect */
        int flag = 0;
        MPI_Status st;
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
            account(s, &d);
            progressed = 1;
        }
        /* dispatch: keep two tasks per worker */
        for (int r = 1; !stopped && r < size; r++)
            while (queued[r] < 2) {
                size_t id = pick(s);
                if (id == SIZE_MAX)
                    break;
                int64_t msg = (int64_t)id;
                WG_MPI(MPI_Send(&msg, 1, MPI_INT64_T, r, TAG_TASK, w->comm));
                s->state[id] = 1;
                s->running++;
                queued[r]++;
                progressed = 1;
            }
        if (s->running == 0 && (stopped || pick(s) == SIZE_MAX))
            break;
        (void)stop_at;
        if (!progressed)
            backoff(&level);
        else
            level = 0;
    }
    if (!stopped)
        for (int r = 1; r < size; r++)
            WG_MPI(MPI_Send(NULL, 0, MPI_BYTE, r, TAG_STOP, w->comm));
    free(queued);
}

static void rank0_alone(sched *s, worker *w)
{
    size_t id;
    while (!stop_seen(w) && (id = pick(s)) != SIZE_MAX) {
        done_msg d;
        s->state[id] = 1;
        s->running++;
        run_one(w, id, &d);
        account(s, &d);
    }
}

/* ---- the whole run ------------------------------------------------------------------ */

static int file_exists(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0;
}

/* Rank 0 decides how to start; every rank learns the decision. */
enum { START_CREATE = 0, START_OPEN = 1, START_REPLAY = 2, START_REFUSE = 3 };

static int agree(int rc, MPI_Comm comm)
{
    int worst;
    WG_MPI(MPI_Allreduce(&rc, &worst, 1, MPI_INT, MPI_MIN, comm));
    return worst;
}

/* The journal remembers which sweep it belongs to. */
static int journal_check(const char *dir, const wg_plan *plan, int create)
{
    char path[1200], text_path[1200], hash[65] = "";
    snprintf(path, sizeof path, "%s/sweep.sha256", dir);
    snprintf(text_path, sizeof text_path, "%s/sweep.yaml", dir);
    if (create) {
        /* the sweep's text (to say what changed), its hash and the task count (read by
         * `wedge status` while a run writes) */
        FILE *t = fopen(text_path, "w");
        if (!t || fwrite(plan->text, 1, plan->text_len, t) != plan->text_len || fclose(t) != 0)
            return WG_FAIL(WG_EIO, "%s: cannot write: %s", text_path, strerror(errno));
        FILE *f = fopen(path, "w");
        if (!f || fprintf(f, "%s %zu\n", plan->sha256, plan->ntasks) < 0 || fclose(f) != 0)
            return WG_FAIL(WG_EIO, "%s: cannot write: %s", path, strerror(errno));
        return 0;
    }
    FILE *f = fopen(path, "r");
    if (!f || fscanf(f, "%64s", hash) != 1) {
        if (f)
            fclose(f);
        return WG_FAIL(WG_EFORMAT, "%s: missing or damaged", path);
    }
    fclose(f);
    if (strcmp(hash, plan->sha256) != 0) {
        char what[256] = "its text differs";
        FILE *t = fopen(text_path, "r");
        char *old = t ? calloc(1, 1 << 20) : NULL;
        if (old && fread(old, 1, (1 << 20) - 1, t) > 0)
            wg_text_first_change(old, plan->text, what, sizeof what);
        if (t)
            fclose(t);
        free(old);
        return WG_FAIL(WG_EARG,
                       "%s was written by a different sweep than %s (%s); refusing to resume. "
                       "Restore the sweep file, or start over with --force",
                       dir, plan->file, what);
    }
    return 0;
}

int wg_run(const wg_plan *plan, const wg_run_opts *opts, MPI_Comm comm)
{
    int rank, size;
    WG_MPI(MPI_Comm_rank(comm, &rank));
    WG_MPI(MPI_Comm_size(comm, &size));
    install_handlers();
    worker w;
    memset(&w, 0, sizeof w);
    w.plan = plan;
    w.opts = opts;
    w.rank = rank;
    w.comm = comm;
    wg_exec_init(&w.exec);
    w.exec.rank = rank;
    w.exec.stop = should_abandon;
    w.exec.stop_user = &w;
    wg_journal_dir(opts->output, w.journal, sizeof w.journal);

    /* how to start */
    int start = START_CREATE, rc = 0;
    if (rank == 0) {
        int have_out = file_exists(opts->output), have_journal = file_exists(w.journal);
        if (have_journal && (opts->resume || !have_out)) {
            start = START_REPLAY;
            rc = journal_check(w.journal, plan, 0);
        } else if (have_out && opts->resume) {
            start = START_OPEN;
        } else if ((have_out || have_journal) && !opts->force) {
            rc = WG_FAIL(WG_EIO, "%s exists: pass --resume to continue it or --force to overwrite it",
                         have_out ? opts->output : w.journal);
        } else if (have_journal) {
            rc = wg_journal_remove(w.journal); /* --force: start over */
        }
        if (rc)
            start = START_REFUSE;
    }
    WG_MPI(MPI_Bcast(&start, 1, MPI_INT, 0, comm));
    if (start == START_REFUSE) {
        wg_exec_free(&w.exec);
        return rc ? rc : WG_EIO;
    }

    wg_store_meta meta = {WG_VERSION, size, openblas_get_config(), openblas_get_num_threads(),
                          opts->command};
    wg_store store;
    memset(&store, 0, sizeof store);
    w.store = &store;
    if (start == START_OPEN)
        rc = wg_store_open(&store, opts->output, plan, comm);
    else
        rc = wg_store_create(&store, opts->output, plan, &meta, comm, 1);
    rc = agree(rc, comm);
    if (rc) {
        if (store.open)
            wg_store_close(&store);
        wg_exec_free(&w.exec);
        return rc;
    }

    /* what is already done */
    uint8_t *status = must_alloc(plan->ntasks, 1, "task status");
    uint64_t *ids = NULL;
    size_t nids = 0;
    if (rc == 0 && start == START_OPEN && rank == 0)
        rc = wg_store_read_status(&store, status);
    if (rc == 0 && start == START_REPLAY) {
        if (rank == 0)
            rc = wg_journal_list(w.journal, &ids, &nids);
        unsigned long long n = nids;
        WG_MPI(MPI_Bcast(&n, 1, MPI_UNSIGNED_LONG_LONG, 0, comm));
        if (rank != 0) {
            nids = (size_t)n;
            ids = must_alloc(nids, sizeof *ids, "journal ids");
        }
        WG_MPI(MPI_Bcast(ids, (int)nids, MPI_UINT64_T, 0, comm));
        /* every rank replays a share of the records into the new file */
        for (size_t k = (size_t)rank; rc == 0 && k < nids; k += (size_t)size) {
            wg_result r;
            if (ids[k] >= plan->ntasks)
                continue;
            rc = wg_journal_read(w.journal, ids[k], &r);
            if (rc == 0)
                rc = wg_store_write(&store, &r);
            if (rc == 0)
                status[ids[k]] = (uint8_t)r.status;
            wg_result_free(&r);
        }
        /* the statuses of the replayed records, gathered on rank 0 */
        WG_MPI(MPI_Allreduce(MPI_IN_PLACE, status, (int)plan->ntasks, MPI_UNSIGNED_CHAR, MPI_MAX,
                             comm));
    }
    if (rc == 0 && rank == 0)
        rc = wg_journal_create(w.journal);
    if (rc == 0 && rank == 0 && start != START_REPLAY)
        rc = journal_check(w.journal, plan, 1);
    rc = agree(rc, comm);

    int result = WG_RUN_COMPLETE;
    if (rc == 0) {
        if (rank == 0) {
            sched s;
            memset(&s, 0, sizeof s);
            s.plan = plan;
            s.status = status;
            s.state = must_alloc(plan->ntasks, 1, "scheduler state");
            s.order = must_alloc(plan->ntasks, sizeof *s.order, "scheduler state");
            s.quiet = opts->quiet;
            s.progress = opts->progress > 0 ? opts->progress : 10.0;
            s.t0 = s.last_print = now();
            size_t already = 0;
            for (size_t i = 0; i < plan->ntasks; i++) {
                s.order[i] = i;
                /* done and diverged are final; pending and failed (re)run */
                if (status[i] == WG_STATUS_DONE || status[i] == WG_STATUS_DIVERGED) {
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
                       size > 1 ? " (rank 0 schedules)" : "", opts->output);
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
                pending += status[i] == WG_STATUS_PENDING;
                bad += status[i] == WG_STATUS_FAILED || status[i] == WG_STATUS_DIVERGED;
            }
            result = pending ? WG_RUN_INTERRUPTED : bad ? WG_RUN_TASKS_FAILED : WG_RUN_COMPLETE;
            if (pending && !wg_stop_requested && !w.stop_since)
                result = WG_RUN_TASKS_FAILED; /* records that could not be saved */
            free(s.state);
            free(s.order);
        } else {
            worker_loop(&w);
        }
    }
    WG_MPI(MPI_Bcast(&result, 1, MPI_INT, 0, comm));
    int crc = wg_store_close(&store);
    crc = agree(crc, comm);
    if (rc == 0)
        rc = crc;
    /* a complete sweep in a cleanly closed file no longer needs its journal */
    if (rc == 0 && rank == 0 && result != WG_RUN_INTERRUPTED) {
        size_t pending = 0;
        for (size_t i = 0; i < plan->ntasks; i++)
            pending += status[i] == WG_STATUS_PENDING || status[i] == WG_STATUS_FAILED;
        if (pending == 0)
            wg_journal_remove(w.journal);
    }
    free(status);
    free(ids);
    wg_exec_free(&w.exec);
    return rc ? rc : result;
}
