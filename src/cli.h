/* cli.h: the wedge subcommands and the helpers they share (option parsing with
 * full-consumption and range checks, exit statuses). */
#ifndef WEDGE_CLI_H
#define WEDGE_CLI_H

#include <stddef.h>

/* Exit statuses of the wedge binary (documented in the README). */
enum {
    WG_EXIT_OK = 0,
    WG_EXIT_FAIL = 1,   /* an error stopped the command */
    WG_EXIT_USAGE = 2,  /* bad command line */
    WG_EXIT_TASKS = 3,  /* the sweep ran, some tasks failed or diverged */
    WG_EXIT_RESUME = 75 /* interrupted by a signal: rerun with --resume (EX_TEMPFAIL) */
};

int wg_cli_train(int argc, char **argv);
int wg_cli_run(int argc, char **argv);
int wg_cli_expand(int argc, char **argv);
int wg_cli_status(int argc, char **argv);
int wg_cli_schema(int argc, char **argv);

/* Parse a whole string as a number within [lo, hi]; on failure print
 * "wedge OPT: ..." to stderr and return WG_EARG. */
int wg_cli_double(const char *opt, const char *s, double lo, double hi, double *out);
int wg_cli_long(const char *opt, const char *s, long lo, long hi, long *out);

/* Print the recorded error as "wedge: <where-free message>" and clear it. */
void wg_cli_report(const char *cmd);

/* Set OpenBLAS to n threads (n <= 0: 1 unless OPENBLAS_NUM_THREADS is set). */
void wg_cli_threads(int n);

#endif
