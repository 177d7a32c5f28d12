/* main.c: the wedge command line: dispatches to subcommands, owns the decision to
 * stop and the exit status. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: wedge COMMAND [OPTIONS]\n"
            "\n"
            "wedge studies the large-scale structure of neural-network loss landscapes\n"
            "(Fort & Jastrzebski, NeurIPS 2019).\n"
            "\n"
            "commands:\n"
            "  run        run a YAML sweep (under mpirun: rank 0 schedules, the other\n"
            "             ranks train) into one NetCDF file\n"
            "  expand     validate a sweep and print its tasks without running them\n"
            "  status     done/failed/pending tasks of a sweep's output file\n"
            "  train      train one model and print per-epoch statistics\n"
            "  schema     the settings, task kinds, options and output variables\n"
            "\n"
            "  wedge COMMAND --help    options of a command\n"
            "  wedge --version, -V     print the version (and the git commit it was\n"
            "                          built from)\n"
            "\n"
            "exit status: 0 success, 1 an error stopped the command, 2 bad command line,\n"
            "3 a sweep ran but some tasks failed, 75 interrupted: rerun with --resume\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return WG_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return WG_EXIT_OK;
    }
    /* WG_VERSION: the release, and `git describe` when built from git (Makefile.am) */
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0 || strcmp(cmd, "version") == 0) {
        printf("wedge %s\n", WG_VERSION);
        return WG_EXIT_OK;
    }
    if (strcmp(cmd, "train") == 0)
        return wg_cli_train(argc - 1, argv + 1);
    if (strcmp(cmd, "run") == 0)
        return wg_cli_run(argc - 1, argv + 1);
    if (strcmp(cmd, "expand") == 0)
        return wg_cli_expand(argc - 1, argv + 1);
    if (strcmp(cmd, "status") == 0)
        return wg_cli_status(argc - 1, argv + 1);
    if (strcmp(cmd, "schema") == 0)
        return wg_cli_schema(argc - 1, argv + 1);
    fprintf(stderr, "wedge: unknown command '%s' (try 'wedge --help')\n", cmd);
    return WG_EXIT_USAGE;
}
