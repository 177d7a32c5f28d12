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
#include "wedge/result.h"
#include "wedge/sched.h"
#include "wedge/sweep.h"

/* ---- wedge expand ----------------------------------------------------------------- */

static void expand_usage(FILE *f)
{
    fprintf(f, "usage: wedge expand SWEEP.yaml [--count]\n"
               "\n"
               "Validate a sweep and print its plan: one line per task (id, kind, the\n"
               "swept values, dependencies) and the totals.  Runs nothing.\n"
               "  --count      print only the number of tasks\n"
               "  -h, --help   this text\n");
}

int wg_cli_expand(int argc, char **argv)
{
    int count = 0;
    static const struct option opts[] = {
        {"count", no_argument, 0, 'c'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int ch;
    optind = 1;
    argv[0] = "wedge expand";
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (ch == 'c')
            count = 1;
        else if (ch == 'h') {
            expand_usage(stdout);
            return WG_EXIT_OK;
        } else {
            fprintf(stderr, "try 'wedge expand --help'\n");
            return WG_EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "wedge expand: expected one sweep file (try 'wedge expand --help')\n");
        return WG_EXIT_USAGE;
    }
    wg_plan plan;
    if (wg_sweep_load(&plan, argv[optind]) != 0) {
        fprintf(stderr, "%s\n", wg_err_msg());
        wg_plan_free(&plan);
        return WG_EXIT_FAIL;
    }
    if (count)
        printf("%zu\n", plan.ntasks);
    else
        wg_plan_print(&plan, stdout);
    wg_plan_free(&plan);
    return WG_EXIT_OK;
}

/* ---- wedge run ---------------------------------------------------------------------- */

static void run_usage(FILE *f)
{
    fprintf(f,
        "usage: [mpirun -np N] wedge run SWEEP.yaml [-o OUT.nc] [--resume | --force] [OPTIONS]\n"
        "\n"
        "Run a sweep: rank 0 hands out tasks, the other ranks train and write their\n"
        "results into one NetCDF-4 file (with one process, it does everything).\n"
        "\n"
        "  -o, --output FILE   output file (default: the sweep's `output:`)\n"
        "  --resume            continue an interrupted or killed run of the same sweep;\n"
        "                      completed tasks are kept, the rest run (starts fresh if\n"
        "                      there is no output yet)\n"
        "  --force             overwrite an existing output\n"
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
    enum { O_RESUME = 256, O_FORCE, O_GRACE, O_PROGRESS, O_QUIET, O_THREADS };
    static const struct option opts[] = {
        {"output", required_argument, 0, 'o'}, {"resume", no_argument, 0, O_RESUME},
        {"force", no_argument, 0, O_FORCE},   {"grace", required_argument, 0, O_GRACE},
        {"progress", required_argument, 0, O_PROGRESS}, {"quiet", no_argument, 0, O_QUIET},
        {"threads", required_argument, 0, O_THREADS},   {"help", no_argument, 0, 'h'},
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
        case O_THREADS:
            if (!(bad |= wg_cli_long("--threads", optarg, 1, 1024, &l) != 0))
                threads = (int)l;
            break;
        case 'h': run_usage(stdout); return WG_EXIT_OK;
        default: bad = 1;
        }
    }
    if (!bad && optind != argc - 1) {
        fprintf(stderr, "wedge run: expected one sweep file\n");
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

    if (MPI_Init(NULL, NULL) != MPI_SUCCESS) {
        fprintf(stderr, "wedge run: MPI_Init failed\n");
        return WG_EXIT_FAIL;
    }
    /* errors come back to us (WG_MPI checks each call and ends the job cleanly) */
    WG_MPI(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
    int rank;
    WG_MPI(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
    wg_cli_threads(threads);

    /* rank 0 reads the file; everyone gets its text and builds the same plan */
    wg_plan plan;
    memset(&plan, 0, sizeof plan);
    int rc = 0;
    long len = 0;
    if (rank == 0) {
        rc = wg_sweep_load(&plan, sweep_path);
        if (rc)
            fprintf(stderr, "%s\n", wg_err_msg());
        len = rc ? -1 : (long)plan.text_len;
    }
    WG_MPI(MPI_Bcast(&len, 1, MPI_LONG, 0, MPI_COMM_WORLD));
    if (len < 0) {
        wg_plan_free(&plan);
        MPI_Finalize();
        return WG_EXIT_FAIL;
    }
    if (rank != 0) {
        char *text = malloc((size_t)len + 1);
        if (!text) {
            fprintf(stderr, "wedge run (rank %d): out of memory for the sweep text\n", rank);
            MPI_Abort(MPI_COMM_WORLD, WG_EXIT_FAIL);
        }
        WG_MPI(MPI_Bcast(text, (int)len, MPI_CHAR, 0, MPI_COMM_WORLD));
        rc = wg_sweep_parse(&plan, text, (size_t)len, sweep_path);
        free(text);
        if (rc) { /* cannot happen unless ranks run different builds */
            fprintf(stderr, "wedge run (rank %d): %s\n", rank, wg_err_msg());
            MPI_Abort(MPI_COMM_WORLD, WG_EXIT_FAIL);
        }
    } else {
        WG_MPI(MPI_Bcast(plan.text, (int)len, MPI_CHAR, 0, MPI_COMM_WORLD));
    }
    ro.output = out ? out : plan.output;
    ro.command = command;
    rc = wg_run(&plan, &ro, MPI_COMM_WORLD);
    int status;
    if (rc < 0) {
        if (rank == 0 || wg_err_code())
            fprintf(stderr, "wedge run: %s\n", wg_err_code() ? wg_err_msg() : wg_err_name(rc));
        status = WG_EXIT_FAIL;
    } else if (rc == WG_RUN_INTERRUPTED) {
        if (rank == 0)
            fprintf(stderr, "wedge run: interrupted; %s is closed and consistent: rerun with "
                            "--resume to finish the sweep\n", ro.output);
        status = WG_EXIT_RESUME;
    } else if (rc == WG_RUN_TASKS_FAILED) {
        if (rank == 0)
            fprintf(stderr, "wedge run: some tasks failed or diverged (see `wedge status %s`)\n",
                    ro.output);
        status = WG_EXIT_TASKS;
    } else {
        if (rank == 0)
            printf("[wedge] all %zu tasks done: %s\n", plan.ntasks, ro.output);
        status = WG_EXIT_OK;
    }
    wg_plan_free(&plan);
    MPI_Finalize();
    return status;
}

/* ---- wedge status --------------------------------------------------------------------- */

static void status_usage(FILE *f)
{
    fprintf(f, "usage: wedge status OUT.nc\n"
               "\n"
               "Counts of done, failed, diverged and pending tasks of a sweep output, its\n"
               "slowest and its failed tasks.  Works while a run is still writing (it then\n"
               "also reads the run's journal, OUT.nc.journal).\n");
}

int wg_cli_status(int argc, char **argv)
{
    if (argc != 2 || argv[1][0] == '-') {
        if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
            status_usage(stdout);
            return WG_EXIT_OK;
        }
        status_usage(stderr);
        return WG_EXIT_USAGE;
    }
    const char *path = argv[1];
    /* a running job holds the file open: read without HDF5's lock */
    setenv("HDF5_USE_FILE_LOCKING", "FALSE", 0);
    char journal[1100];
    wg_journal_dir(path, journal, sizeof journal);
    size_t ntasks = 0;
    unsigned char *status = NULL;
    double *wall = NULL;
    int *ranks = NULL;
    char *msgs = NULL, title[256] = "?";
    int ncid, have_nc = 0, v;
    struct stat sb;
    if (nc_open(path, NC_NOWRITE, &ncid) == NC_NOERR) {
        int d;
        size_t tl = 0;
        if (nc_inq_dimid(ncid, "task", &d) == NC_NOERR &&
            nc_inq_dimlen(ncid, d, &ntasks) == NC_NOERR && ntasks > 0) {
            status = calloc(ntasks, 1);
            wall = calloc(ntasks, sizeof *wall);
            ranks = calloc(ntasks, sizeof *ranks);
            msgs = calloc(ntasks, WG_MSG_LEN);
            if (status && wall && ranks && msgs &&
                nc_inq_varid(ncid, "status", &v) == NC_NOERR &&
                nc_get_var_uchar(ncid, v, status) == NC_NOERR &&
                nc_inq_varid(ncid, "wall_time", &v) == NC_NOERR &&
                nc_get_var_double(ncid, v, wall) == NC_NOERR &&
                nc_inq_varid(ncid, "rank", &v) == NC_NOERR &&
                nc_get_var_int(ncid, v, ranks) == NC_NOERR &&
                nc_inq_varid(ncid, "message", &v) == NC_NOERR &&
                nc_get_var_text(ncid, v, msgs) == NC_NOERR)
                have_nc = 1;
        }
        if (nc_inq_attlen(ncid, NC_GLOBAL, "title", &tl) == NC_NOERR && tl < sizeof title) {
            nc_get_att_text(ncid, NC_GLOBAL, "title", title);
            title[tl] = '\0';
        }
        nc_close(ncid);
    }
    int have_journal = stat(journal, &sb) == 0;
    if (!have_nc && have_journal) {
        /* the file is being written and not readable yet: the journal knows the size */
        char p[1200], hash[65];
        snprintf(p, sizeof p, "%s/sweep.sha256", journal);
        FILE *f = fopen(p, "r");
        if (f && fscanf(f, "%64s %zu", hash, &ntasks) == 2 && ntasks > 0) {
            status = calloc(ntasks, 1);
            wall = calloc(ntasks, sizeof *wall);
            ranks = calloc(ntasks, sizeof *ranks);
            msgs = calloc(ntasks, WG_MSG_LEN);
        }
        if (f)
            fclose(f);
    }
    if (!status || !wall || !ranks || !msgs) {
        fprintf(stderr, "wedge status: %s: not a readable wedge output%s\n", path,
                have_journal ? "" : " (and no journal beside it)");
        free(status), free(wall), free(ranks), free(msgs);
        return WG_EXIT_FAIL;
    }
    /* journal records are at least as new as the file's rows */
    uint64_t *ids = NULL;
    size_t nids = 0;
    if (have_journal && wg_journal_list(journal, &ids, &nids) == 0)
        for (size_t k = 0; k < nids; k++) {
            wg_result r;
            if (ids[k] >= ntasks || wg_journal_read(journal, ids[k], &r) != 0)
                continue;
            status[ids[k]] = (unsigned char)r.status;
            wall[ids[k]] = r.wall_time;
            ranks[ids[k]] = r.rank;
            memcpy(msgs + ids[k] * WG_MSG_LEN, r.message, WG_MSG_LEN);
            wg_result_free(&r);
        }
    wg_err_clear();
    free(ids);
    size_t count[4] = {0};
    for (size_t i = 0; i < ntasks; i++)
        count[status[i] < 4 ? status[i] : 0]++;
    printf("%s: '%s', %zu tasks: %zu done, %zu failed, %zu diverged, %zu pending%s\n", path,
           title, ntasks, count[1], count[2], count[3], count[0],
           have_journal ? (have_nc ? " (journal present: running, interrupted or killed)"
                                   : " (from the journal: the file is being written)")
                        : "");
    /* the five slowest finished tasks */
    for (int k = 0; k < 5; k++) {
        size_t best = SIZE_MAX;
        for (size_t i = 0; i < ntasks; i++)
            if (status[i] != 0 && wall[i] >= 0 && (best == SIZE_MAX || wall[i] > wall[best]))
                best = i;
        if (best == SIZE_MAX)
            break;
        if (k == 0)
            printf("slowest:\n");
        printf("  task %zu: %.1f s on rank %d\n", best, wall[best], ranks[best]);
        wall[best] = -1;
    }
    size_t shown = 0;
    for (size_t i = 0; i < ntasks; i++)
        if (status[i] == 2 || status[i] == 3) {
            if (shown++ == 0)
                printf("failed or diverged:\n");
            if (shown <= 20)
                printf("  task %zu %s: %.*s\n", i, status[i] == 2 ? "failed" : "diverged",
                       WG_MSG_LEN, msgs + i * WG_MSG_LEN);
        }
    if (shown > 20)
        printf("  ... and %zu more\n", shown - 20);
    free(status), free(wall), free(ranks), free(msgs);
    return WG_EXIT_OK;
}
