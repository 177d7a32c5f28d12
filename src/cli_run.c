/* cli_run.c: `wedge run`, `wedge expand` and `wedge status`: the sweep runner's
 * command line.  Only this file and main decide exit statuses. */
#include <cblas.h>
#include <getopt.h>
#include <mpi.h>
#include <netcdf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "wedge/error.h"
#include "wedge/journal.h"
#include "wedge/kind.h"
#include "wedge/lock.h"
#include "wedge/result.h"
#include "wedge/reuse.h"
#include "wedge/sched.h"
#include "wedge/sweep.h"

/* ---- wedge expand ----------------------------------------------------------------- */

/* Whether argv[from..argc) are all KEY=VALUE (getopt has moved options before them). */
static int only_overrides(int argc, char **argv, int from)
{
    for (int i = from; i < argc; i++)
        if (!strchr(argv[i], '=') || argv[i][0] == '=') {
            fprintf(stderr, "'%s' is not KEY=VALUE\n", argv[i]);
            return 0;
        }
    return 1;
}

static void expand_usage(FILE *f)
{
    fprintf(f, "usage: wedge expand SWEEP.yaml [KEY=VALUE ...] [--reuse OLD.nc ...] [--count]\n"
               "\n"
               "Validate a sweep and print its plan: one line per task (id, kind, the\n"
               "swept values, dependencies) and the totals.  Runs nothing.\n"
               "  KEY=VALUE       override a value of the sweep file: the key dotted as in\n"
               "                  the file, the value YAML (train.epochs=2, sweep.seed=[0,1,2],\n"
               "                  probes.tunnel.directions=8); as `wedge run` takes them\n"
               "  --reuse OLD.nc  what `wedge run --reuse OLD.nc` would take from earlier\n"
               "                  outputs (repeatable, in order, as there): each task taken\n"
               "                  ends \"taken from OLD.nc\", the last line counts the tasks\n"
               "                  still to run; the same checks, nothing written\n"
               "  --count         print only the number of tasks (with --reuse: of the\n"
               "                  tasks still to run)\n"
               "  -h, --help      this text\n");
}

/* Which tasks of plan the outputs reuse[0..nreuse) would give a new run (as `wedge
 * run --reuse` decides, nothing written): taken[t] = the path, else NULL.  The
 * reuse lines of the run on stderr (with --count) or stdout. */
static int expand_reuse(const wg_plan *plan, char **reuse, int nreuse, const char **taken,
                        FILE *out)
{
    if (MPI_Init(NULL, NULL) != MPI_SUCCESS) {
        fprintf(stderr, "wedge expand: MPI_Init failed\n");
        return -1;
    }
    uint8_t *status = calloc(plan->ntasks ? plan->ntasks : 1, 1); /* all pending */
    wg_reuse_target tg = {0};
    int rc = status ? wg_reuse_target_init(&tg, plan) : WG_ENOMEM;
    for (int i = 0; rc == 0 && i < nreuse; i++) {
        wg_reuse_stats st;
        rc = wg_reuse_rows(&tg, reuse[i], NULL, NULL, NULL, NULL, status, NULL, &st);
        if (rc)
            break;
        for (size_t t = 0; t < plan->ntasks; t++) /* a task is taken once, by one file */
            if (status[t] != WG_STATUS_PENDING && !taken[t])
                taken[t] = reuse[i];
        wg_reuse_report(out, plan, reuse[i], &st, status, 0);
    }
    if (rc)
        fprintf(stderr, "wedge expand: --reuse: %s\n", wg_err_msg());
    wg_reuse_target_free(&tg);
    free(status);
    MPI_Finalize();
    return rc ? -1 : 0;
}

int wg_cli_expand(int argc, char **argv)
{
    int count = 0, nreuse = 0;
    char *reuse[8];
    static const struct option opts[] = {{"count", no_argument, 0, 'c'},
                                         {"reuse", required_argument, 0, 'r'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int ch;
    optind = 1;
    argv[0] = "wedge expand";
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (ch == 'c')
            count = 1;
        else if (ch == 'r' && nreuse < (int)(sizeof reuse / sizeof reuse[0]))
            reuse[nreuse++] = optarg;
        else if (ch == 'r') {
            fprintf(stderr, "wedge expand: at most %d --reuse\n", nreuse);
            return WG_EXIT_USAGE;
        } else if (ch == 'h') {
            expand_usage(stdout);
            return WG_EXIT_OK;
        } else {
            fprintf(stderr, "try 'wedge expand --help'\n");
            return WG_EXIT_USAGE;
        }
    }
    if (optind >= argc || strchr(argv[optind], '=') || !only_overrides(argc, argv, optind + 1)) {
        fprintf(stderr, "wedge expand: expected one sweep file and KEY=VALUE overrides (try "
                        "'wedge expand --help')\n");
        return WG_EXIT_USAGE;
    }
    wg_plan plan;
    if (wg_sweep_load_overrides(&plan, argv[optind], argv + optind + 1,
                                argc - optind - 1) != 0) {
        fprintf(stderr, "%s\n", wg_err_msg());
        wg_plan_free(&plan);
        return WG_EXIT_FAIL;
    }
    const char **taken = nreuse ? calloc(plan.ntasks ? plan.ntasks : 1, sizeof *taken) : NULL;
    int rc = WG_EXIT_OK;
    if (nreuse && (!taken || expand_reuse(&plan, reuse, nreuse, taken,
                                          count ? stderr : stdout) != 0))
        rc = WG_EXIT_FAIL;
    if (rc == WG_EXIT_OK && count) {
        size_t n = 0;
        for (size_t t = 0; t < plan.ntasks; t++)
            n += !taken || !taken[t];
        printf("%zu\n", n);
    } else if (rc == WG_EXIT_OK)
        wg_plan_print_taken(&plan, taken, stdout);
    free(taken);
    wg_plan_free(&plan);
    return rc;
}

/* ---- wedge run ---------------------------------------------------------------------- */

static void run_usage(FILE *f)
{
    fprintf(f,
        "usage: [mpirun -np N] wedge run SWEEP.yaml [KEY=VALUE ...] [-o OUT.nc]\n"
        "                                [--resume | --force] [OPTIONS]\n"
        "\n"
        "Run a sweep: rank 0 hands out tasks, the other ranks train and write their\n"
        "results into one NetCDF-4 file (with one process, it does everything).\n"
        "\n"
        "  KEY=VALUE           override a value of the sweep file: the key dotted as in\n"
        "                      the file, the value YAML (train.epochs=2,\n"
        "                      sweep.seed=[0,1,2]); recorded in the output's sweep_text,\n"
        "                      so --resume needs the same ones\n"
        "  -o, --output FILE   output file (default: the sweep's `output:`)\n"
        "  --resume            continue an interrupted or killed run of the same sweep;\n"
        "                      completed tasks are kept, the rest run (starts fresh if\n"
        "                      there is no output yet); the sweep file may differ in\n"
        "                      comments and layout, not in what it says\n"
        "  --force             overwrite an existing output\n"
        "  --reuse OLD.nc      take every finished task of OLD.nc whose settings, options\n"
        "                      and inputs this sweep's task has, instead of running it\n"
        "                      again (to grow a sweep: more seeds, another value, a new\n"
        "                      probe); when the output is created; repeatable (8)\n"
        "  --grace SECONDS     after SIGTERM/SIGUSR1, running tasks may finish for this\n"
        "                      long before they are abandoned as pending (default 60)\n"
        "  --progress SECONDS  interval of progress lines (default 10)\n"
        "  --quiet             no progress output\n"
        "  --threads N         OpenBLAS threads per rank (default 1)\n"
        "  -h, --help          this text\n"
        "\n"
        "exit status: 0 all tasks done; 1 error (nothing or only some was run);\n"
        "  2 bad command line; 3 the sweep ran but some tasks failed or diverged;\n"
        "  75 interrupted by a signal: run again with --resume\n");
}

int wg_cli_run(int argc, char **argv)
{
    enum { O_RESUME = 256, O_FORCE, O_GRACE, O_PROGRESS, O_QUIET, O_THREADS, O_REUSE };
    static const struct option opts[] = {
        {"output", required_argument, 0, 'o'}, {"resume", no_argument, 0, O_RESUME},
        {"force", no_argument, 0, O_FORCE},   {"grace", required_argument, 0, O_GRACE},
        {"progress", required_argument, 0, O_PROGRESS}, {"quiet", no_argument, 0, O_QUIET},
        {"threads", required_argument, 0, O_THREADS},   {"help", no_argument, 0, 'h'},
        {"reuse", required_argument, 0, O_REUSE},
        {0, 0, 0, 0}};
    wg_run_opts ro = {.grace = 60.0, .progress = 10.0};
    const char *out = NULL;
    int threads = 0, ch, bad = 0;
    long l;
    double d;
    char command[1024] = "wedge";
    for (int i = 0; i < argc; i++) {
        strncat(command, " ", sizeof command - strlen(command) - 1);
        strncat(command, argv[i], sizeof command - strlen(command) - 1);
    }
    optind = 1;
    argv[0] = "wedge run";
    while ((ch = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'o': out = optarg; break;
        case O_RESUME: ro.resume = 1; break;
        case O_FORCE: ro.force = 1; break;
        case O_GRACE:
            if (!(bad |= wg_cli_double("--grace", optarg, 0, 1e7, &d) != 0))
                ro.grace = d;
            break;
        case O_PROGRESS:
            if (!(bad |= wg_cli_double("--progress", optarg, 0.01, 1e7, &d) != 0))
                ro.progress = d;
            break;
        case O_QUIET: ro.quiet = 1; break;
        case O_REUSE:
            if (ro.nreuse == (int)(sizeof ro.reuse / sizeof ro.reuse[0])) {
                fprintf(stderr, "wedge run: at most %d --reuse\n", ro.nreuse);
                bad = 1;
            } else {
                ro.reuse[ro.nreuse++] = optarg;
            }
            break;
        case O_THREADS:
            if (!(bad |= wg_cli_long("--threads", optarg, 1, 1024, &l) != 0))
                threads = (int)l;
            break;
        case 'h': run_usage(stdout); return WG_EXIT_OK;
        default: bad = 1;
        }
    }
    if (!bad && (optind >= argc || strchr(argv[optind], '=') ||
                 !only_overrides(argc, argv, optind + 1))) {
        fprintf(stderr, "wedge run: expected one sweep file and KEY=VALUE overrides\n");
        bad = 1;
    }
    if (!bad && ro.resume && ro.force) {
        fprintf(stderr, "wedge run: --resume and --force exclude each other\n");
        bad = 1;
    }
    if (bad) {
        fprintf(stderr, "try 'wedge run --help'\n");
        return WG_EXIT_USAGE;
    }
    const char *sweep_path = argv[optind];

    /* a stop signal from the very start: reported as an interrupted run (75) */
    wg_run_signals();
    if (MPI_Init(NULL, NULL) != MPI_SUCCESS) {
        fprintf(stderr, "wedge run: MPI_Init failed\n");
        return WG_EXIT_FAIL;
    }
    /* errors come back to us (WG_MPI checks each call and ends the job cleanly) */
    WG_MPI(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
    int rank;
    WG_MPI(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
    wg_cli_threads(threads);

    /* rank 0 alone reads and plans the sweep: its size costs no other rank */
    wg_plan plan;
    memset(&plan, 0, sizeof plan);
    int rc = 0, ok = 1;
    if (rank == 0) {
        rc = wg_sweep_load_overrides(&plan, sweep_path, argv + optind + 1, argc - optind - 1);
        if (rc)
            fprintf(stderr, "%s\n", wg_err_msg());
        ok = rc == 0;
    }
    WG_MPI(MPI_Bcast(&ok, 1, MPI_INT, 0, MPI_COMM_WORLD));
    if (!ok) {
        wg_plan_free(&plan);
        MPI_Finalize();
        return WG_EXIT_FAIL;
    }
    ro.output = out;
    ro.command = command;
    char used[1100] = "";
    rc = wg_run(rank == 0 ? &plan : NULL, &ro, MPI_COMM_WORLD, used, sizeof used);
    int status;
    if (rc < 0) {
        if (rank == 0)
            fprintf(stderr, "wedge run: %s\n", wg_err_code() ? wg_err_msg() : wg_err_name(rc));
        status = WG_EXIT_FAIL;
    } else if (rc == WG_RUN_INTERRUPTED) {
        if (rank == 0)
            fprintf(stderr, "wedge run: interrupted; %s is closed and consistent: rerun with "
                            "--resume to finish the sweep\n", used);
        status = WG_EXIT_RESUME;
    } else if (rc == WG_RUN_TASKS_FAILED) {
        if (rank == 0)
            fprintf(stderr, "wedge run: some tasks failed or diverged (see `wedge status %s`)\n",
                    used);
        status = WG_EXIT_TASKS;
    } else {
        if (rank == 0)
            printf("[wedge] all %zu tasks done: %s\n", plan.ntasks, used);
        status = WG_EXIT_OK;
    }
    wg_plan_free(&plan);
    MPI_Finalize();
    return status;
}

/* ---- wedge status --------------------------------------------------------------------- */

static void status_usage(FILE *f)
{
    fprintf(f, "usage: wedge status OUT.nc [--tasks]\n"
               "\n"
               "Whether a run is writing the output now, and its tasks by kind and state (done,\n"
               "failed, diverged, pending), its slowest and its failed tasks.  Works while a\n"
               "run is writing, and after a killed run: it also reads the run's journal\n"
               "(OUT.nc.journal), whose records are at least as new as the file's rows, and\n"
               "names every damaged record.\n"
               "  --tasks      also one line per task: id, kind, state, rank, seconds (to 17\n"
               "               digits: exact), and whether the journal or the file holds it\n"
               "  -h, --help   this text\n");
}

/* What status knows of every task. */
typedef struct task_row {
    unsigned char status, kind, from_journal;
    signed char not_learned;    /* trainings: 1 did not learn, 0 did, -1 unknown */
    int rank;
    double wall;
} task_row;

/* The output's rows, if it can be read (HDF5's lock is not taken: a run may hold it). */
static int status_file(const char *path, task_row **rows, size_t *n, char **msgs,
                       char *title, size_t tcap)
{
    int ncid, v, d;
    size_t len = 0;
    if (nc_open(path, NC_NOWRITE, &ncid) != NC_NOERR)
        return -1;
    int ok = nc_inq_dimid(ncid, "task", &d) == NC_NOERR &&
             nc_inq_dimlen(ncid, d, n) == NC_NOERR && *n > 0;
    unsigned char *st = ok ? calloc(*n, 1) : NULL, *kd = ok ? calloc(*n, 1) : NULL;
    double *wall = ok ? calloc(*n, sizeof *wall) : NULL;
    int *rank = ok ? calloc(*n, sizeof *rank) : NULL;
    *msgs = ok ? calloc(*n, WG_MSG_LEN) : NULL;
    *rows = ok ? calloc(*n, sizeof **rows) : NULL;
    ok = ok && st && kd && wall && rank && *msgs && *rows &&
         nc_inq_varid(ncid, "status", &v) == NC_NOERR && nc_get_var_uchar(ncid, v, st) == NC_NOERR &&
         nc_inq_varid(ncid, "kind", &v) == NC_NOERR && nc_get_var_uchar(ncid, v, kd) == NC_NOERR &&
         nc_inq_varid(ncid, "wall_time", &v) == NC_NOERR &&
         nc_get_var_double(ncid, v, wall) == NC_NOERR && nc_inq_varid(ncid, "rank", &v) == NC_NOERR &&
         nc_get_var_int(ncid, v, rank) == NC_NOERR && nc_inq_varid(ncid, "message", &v) == NC_NOERR &&
         nc_get_var_text(ncid, v, *msgs) == NC_NOERR;
    signed char *nl = ok ? malloc(*n) : NULL;
    int have_nl = nl && nc_inq_varid(ncid, "did_not_learn", &v) == NC_NOERR &&
                  nc_get_var_schar(ncid, v, nl) == NC_NOERR;
    for (size_t i = 0; ok && i < *n; i++)
        (*rows)[i] = (task_row){st[i], kd[i], 0, have_nl ? nl[i] : -1, rank[i], wall[i]};
    free(nl);
    if (nc_inq_attlen(ncid, NC_GLOBAL, "title", &len) == NC_NOERR && len < tcap) {
        nc_get_att_text(ncid, NC_GLOBAL, "title", title);
        title[len] = '\0';
    }
    nc_close(ncid);
    free(st), free(kd), free(wall), free(rank);
    if (!ok) {
        free(*rows), free(*msgs);
        *rows = NULL, *msgs = NULL;
        return -1;
    }
    return 0;
}

static const char *state_name(int s)
{
    static const char *const names[] = {"pending", "done", "failed", "diverged", "skipped"};
    return s >= 0 && s < 5 ? names[s] : "?";
}

int wg_cli_status(int argc, char **argv)
{
    const char *path = NULL;
    int list = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            status_usage(stdout);
            return WG_EXIT_OK;
        } else if (!strcmp(argv[i], "--tasks")) {
            list = 1;
        } else if (argv[i][0] == '-' || path) {
            status_usage(stderr);
            return WG_EXIT_USAGE;
        } else {
            path = argv[i];
        }
    }
    if (!path) {
        status_usage(stderr);
        return WG_EXIT_USAGE;
    }
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        fprintf(stderr, "wedge status: %s is a directory, not a wedge output\n", path);
        return WG_EXIT_FAIL;
    }
    /* a running job holds the file open: read without HDF5's lock */
    setenv("HDF5_USE_FILE_LOCKING", "FALSE", 0);
    char journal[1100], title[256] = "?";
    wg_journal_dir(path, journal, sizeof journal);
    task_row *rows = NULL;
    char *msgs = NULL;
    size_t ntasks = 0;
    int have_nc = status_file(path, &rows, &ntasks, &msgs, title, sizeof title) == 0;
    int have_journal = stat(journal, &sb) == 0;
    if (!have_nc && have_journal) {
        /* the file is being written and not readable yet: the journal knows the size */
        ntasks = wg_journal_ntasks(journal);
        rows = ntasks ? calloc(ntasks, sizeof *rows) : NULL;
        msgs = ntasks ? calloc(ntasks, WG_MSG_LEN) : NULL;
        for (size_t i = 0; rows && i < ntasks; i++)
            rows[i].rank = -1, rows[i].wall = -1, rows[i].kind = 255, rows[i].not_learned = -1;
    }
    if (!rows || !msgs) {
        fprintf(stderr, "wedge status: %s: %s\n", path,
                stat(path, &sb) != 0 ? "no such file (and no journal beside it)"
                                     : "not a readable wedge output (and no journal beside it)");
        free(rows), free(msgs);
        return WG_EXIT_FAIL;
    }
    /* journal records are at least as new as the file's rows */
    wg_jentry *e = NULL;
    wg_jdamage *dm = NULL;
    size_t ne = 0, nd = 0;
    if (have_journal && wg_journal_scan(journal, &e, &ne, &dm, &nd, NULL) != 0) {
        fprintf(stderr, "wedge status: %s\n", wg_err_msg());
        wg_err_clear();
    }
    for (size_t k = 0; k < ne; k++) {
        if (e[k].task >= ntasks)
            continue;
        task_row *r = &rows[e[k].task];
        *r = (task_row){(unsigned char)e[k].status, (unsigned char)e[k].kind, 1,
                        r->not_learned, e[k].rank, e[k].wall_time};
        memcpy(msgs + e[k].task * WG_MSG_LEN, e[k].message, WG_MSG_LEN);
    }
    size_t count[5] = {0}, bykind[WG_TASK_KINDS][5];
    memset(bykind, 0, sizeof bykind);
    for (size_t i = 0; i < ntasks; i++) {
        int st = rows[i].status < 5 ? rows[i].status : 0;
        count[st]++;
        if (rows[i].kind < WG_TASK_KINDS)
            bykind[rows[i].kind][st]++;
    }
    /* is a run writing it? */
    wg_lock_info li;
    int held = 0, have_lock = wg_lock_query(path, &li, &held) == 0;
    wg_err_clear();
    char state[400] = "";
    if (have_lock && held)
        snprintf(state, sizeof state, " (running on %s, pid %ld; last heartbeat %.0fs ago)",
                 li.host, li.pid, wg_lock_clock() - li.heartbeat);
    else if (have_journal && !have_nc)
        snprintf(state, sizeof state, " (from the journal: the file is not readable; %s)",
                 have_lock && !strcmp(li.state, "running") ? "the run was killed: --resume "
                                                             "rebuilds it"
                                                           : "--resume rebuilds it");
    else if (have_journal)
        snprintf(state, sizeof state, " (%s: rerun with --resume to finish)",
                 have_lock && !strcmp(li.state, "running") ? "interrupted: the run was killed"
                                                           : "interrupted");
    char skipped[48] = "";
    if (count[4])
        snprintf(skipped, sizeof skipped, ", %zu skipped", count[4]);
    printf("%s: '%s', %zu tasks: %zu done, %zu failed, %zu diverged, %zu pending%s%s\n", path,
           title, ntasks, count[1], count[2], count[3], count[0], skipped, state);
    int nkinds = 0;
    for (int k = 0; k < WG_TASK_KINDS; k++)
        nkinds += bykind[k][0] + bykind[k][1] + bykind[k][2] + bykind[k][3] + bykind[k][4] > 0;
    for (int k = 0; nkinds > 1 && k < WG_TASK_KINDS; k++) {
        size_t *c = bykind[k];
        if (c[0] + c[1] + c[2] + c[3] + c[4])
            printf("  %-9s %zu done, %zu failed, %zu diverged, %zu pending%s\n",
                   wg_kind_get(k)->name, c[1], c[2], c[3], c[0], c[4] ? ", some skipped" : "");
    }
    size_t trained = 0, unlearned = 0;
    for (size_t i = 0; i < ntasks; i++)
        if (rows[i].kind == WG_TASK_TRAIN && rows[i].status == WG_STATUS_DONE &&
            rows[i].not_learned >= 0) {
            trained++;
            unlearned += rows[i].not_learned == 1;
        }
    if (unlearned)
        printf("did not learn: %zu of %zu finished trainings (final training loss not below "
               "the first epoch's, or test accuracy within 0.02 of chance; `did_not_learn`)\n",
               unlearned, trained);
    for (size_t k = 0; k < nd; k++) {
        if (k == 0)
            printf("damaged journal records (--resume keeps these tasks' rows from the output if "
                   "it can be read, else runs them again):\n");
        if (dm[k].task >= 0)
            printf("  task %lld in %s at byte %llu: %s\n", dm[k].task, dm[k].loc.seg,
                   (unsigned long long)dm[k].loc.off, dm[k].what);
        else
            printf("  %s at byte %llu: %s\n", dm[k].loc.seg, (unsigned long long)dm[k].loc.off,
                   dm[k].what);
    }
    /* the five slowest finished tasks */
    double *wall = calloc(ntasks ? ntasks : 1, sizeof *wall);
    for (size_t i = 0; wall && i < ntasks; i++)
        wall[i] = rows[i].status ? rows[i].wall : -1;
    for (int k = 0; wall && k < 5; k++) {
        size_t best = SIZE_MAX;
        for (size_t i = 0; i < ntasks; i++)
            if (wall[i] >= 0 && (best == SIZE_MAX || wall[i] > wall[best]))
                best = i;
        if (best == SIZE_MAX)
            break;
        if (k == 0)
            printf("slowest:\n");
        printf("  task %zu: %.1f s on rank %d\n", best, wall[best], rows[best].rank);
        wall[best] = -1;
    }
    free(wall);
    size_t shown = 0;
    for (size_t i = 0; i < ntasks; i++)
        if (rows[i].status == 2 || rows[i].status == 3) {
            if (shown++ == 0)
                printf("failed or diverged:\n");
            if (shown <= 20)
                printf("  task %zu %s: %.*s\n", i, state_name(rows[i].status), WG_MSG_LEN,
                       msgs + i * WG_MSG_LEN);
        }
    if (shown > 20)
        printf("  ... and %zu more\n", shown - 20);
    if (list) {
        /* wall time to the last bit (%.17g reads back exactly): tests compare it */
        printf("tasks: (task kind status rank wall_seconds record)\n");
        for (size_t i = 0; i < ntasks; i++)
            printf("  %zu %s %s %d %.17g %s\n", i,
                   rows[i].kind < WG_TASK_KINDS ? wg_kind_get(rows[i].kind)->name : "?",
                   state_name(rows[i].status), rows[i].rank, rows[i].wall,
                   rows[i].from_journal ? "journal" : "file");
    }
    free(rows), free(msgs), free(e), free(dm);
    return WG_EXIT_OK;
}
