/* cli_util.c: helpers shared by the subcommands: strict number parsing, error
 * reporting, BLAS thread control. */
#include <cblas.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "wedge/error.h"

int wg_cli_double(const char *opt, const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || errno == ERANGE || !isfinite(v)) {
        fprintf(stderr, "wedge: %s: '%s' is not a number\n", opt, s);
        return WG_EARG;
    }
    if (v < lo || v > hi) {
        fprintf(stderr, "wedge: %s: %g is out of range [%g, %g]\n", opt, v, lo, hi);
        return WG_EARG;
    }
    *out = v;
    return 0;
}

int wg_cli_long(const char *opt, const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end != '\0' || errno == ERANGE) {
        fprintf(stderr, "wedge: %s: '%s' is not an integer\n", opt, s);
        return WG_EARG;
    }
    if (v < lo || v > hi) {
        fprintf(stderr, "wedge: %s: %ld is out of range [%ld, %ld]\n", opt, v, lo, hi);
        return WG_EARG;
    }
    *out = v;
    return 0;
}

void wg_cli_report(const char *cmd)
{
    fprintf(stderr, "wedge %s: %s\n", cmd,
            wg_err_code() ? wg_err_msg() : "failed (no detail recorded)");
    wg_err_clear();
}

void wg_cli_threads(int n)
{
    if (n <= 0) {
        if (getenv("OPENBLAS_NUM_THREADS"))
            return;
        n = 1; /* ranks are the parallelism: one BLAS thread per process */
    }
    openblas_set_num_threads(n);
}
