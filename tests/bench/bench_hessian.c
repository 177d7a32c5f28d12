/* bench_hessian.c: `make bench`: what the Hessian spectrum costs besides the HVPs, at
 * one BLAS thread.
 *
 * - LANCZOS at D = 16,938 (SimpleCNN): seconds per iteration at basis sizes up to the
 *   default budget, on a diagonal objective whose exact product costs D multiplies
 *   (timed and reported, so the rest is reorthogonalisation and the Ritz tests),
 *   with the convergence test every 10 iterations (the default) and only at the end;
 *   and the same run thick-restarted under a memory cap.
 * - FULL: the whole probe (assembling H from unit-vector products, symmetrising,
 *   dsyevd_2stage) on a random symmetric matrix, and LAPACK's one-stage dsyevd on the
 *   same kind of matrix for comparison, with the peak resident memory.
 *
 * Usage: bench_hessian [-f D[,D...]] [-l D] [-1 D[,D...]]
 *   -f  FULL probe sizes (default 4000,16938)
 *   -l  LANCZOS dimension (default 16938; 0 skips)
 *   -1  one-stage dsyevd sizes (default 4000; 16938 takes tens of minutes) */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "wedge/error.h"
#include "wedge/hessian.h"
#include "wedge/rng.h"

void dsyevd_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda,
             double *w, double *work, const int *lwork, int *iwork, const int *liwork, int *info,
             size_t ljobz, size_t luplo);

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double peak_gb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss * 1024.0 / 1e9; /* ru_maxrss is in KiB on Linux */
}

/* ---- a diagonal objective with an exact product --------------------------------- */

typedef struct diag {
    size_t D;
    double *lam;
} diag;

static int diag_eval(void *ctx, const float *x, double *loss, float *grad)
{
    diag *q = ctx;
    double L = 0.0;
    for (size_t i = 0; i < q->D; i++) {
        L += 0.5 * q->lam[i] * x[i] * x[i];
        if (grad)
            grad[i] = (float)(q->lam[i] * x[i]);
    }
    *loss = L;
    return 0;
}

static int diag_hvp(void *ctx, const float *theta, const float *V, size_t nv, double *HV)
{
    (void)theta;
    diag *q = ctx;
    for (size_t j = 0; j < nv; j++)
        for (size_t i = 0; i < q->D; i++)
            HV[j * q->D + i] = q->lam[i] * V[j * q->D + i];
    return 0;
}

/* ---- a random symmetric matrix, entry by entry ---------------------------------- */

static double entry(uint64_t i, uint64_t j)
{
    uint64_t a = i < j ? i : j, b = i < j ? j : i;
    uint64_t z = a * 0x9E3779B97F4A7C15ull ^ (b + 0x632BE59BD9B4E019ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull; /* splitmix64's finaliser */
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (double)(z >> 11) * 0x1.0p-53 - 0.5;
}

/* H V for the matrix of entry(), exact for any V, O(D) per nonzero of V (so O(D) per
 * unit vector, which is what FULL feeds it). */
typedef struct rsym {
    size_t D;
} rsym;

static int rsym_eval(void *ctx, const float *x, double *loss, float *grad)
{
    (void)ctx, (void)x, (void)grad;
    *loss = 0.0;
    return 0;
}

static int rsym_hvp(void *ctx, const float *theta, const float *V, size_t nv, double *HV)
{
    (void)theta;
    const size_t D = ((rsym *)ctx)->D;
    for (size_t j = 0; j < nv; j++) {
        double *y = HV + j * D;
        memset(y, 0, D * sizeof *y);
        for (size_t c = 0; c < D; c++) {
            float x = V[j * D + c];
            if (x != 0.0f)
                for (size_t i = 0; i < D; i++)
                    y[i] += x * entry(i, c);
        }
    }
    return 0;
}

static int parse_list(const char *s, size_t *out, int max)
{
    int n = 0;
    while (*s && n < max) {
        char *end;
        out[n++] = strtoul(s, &end, 10);
        s = *end == ',' ? end + 1 : end;
        if (*end && *end != ',')
            break;
    }
    return n;
}

static void bench_lanczos(size_t D)
{
    diag q = {D, malloc(D * sizeof(double))};
    float *X = malloc(D * sizeof *X);
    if (!q.lam || !X) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    wg_rng g;
    wg_rng_init(&g, 1, wg_rng_stream(WG_RNG_TEST, 0xBE, 1, 0));
    for (size_t i = 0; i < D; i++) {
        q.lam[i] = 2.0 * wg_rng_uniform(&g) - 1.0;
        X[i] = 1.0f;
    }
    wg_objective f = {0};
    f.dim = D;
    f.ctx = &q;
    f.eval = diag_eval;
    f.hvp = diag_hvp;

    /* the product alone */
    double *hv = malloc(D * sizeof *hv);
    double t0 = now();
    int reps = 2000;
    for (int r = 0; r < reps; r++)
        diag_hvp(&q, X, X, 1, hv);
    double thvp = (now() - t0) / reps;
    free(hv);

    printf("LANCZOS at D = %zu (one BLAS thread): the diagonal product takes %.1f us "
           "(subtracted below)\n", D, 1e6 * thvp);
    printf("%8s %14s %14s %16s %14s\n", "budget", "ms/it (test", "ms/it (test", "marginal ms/it",
           "basis MB");
    printf("%8s %14s %14s %16s %14s\n", "", "every 10)", "at the end)", "(every 10)", "");
    const int budgets[] = {250, 500, 1000, 2000, 3000};
    double prev_t = 0.0;
    int prev_m = 0;
    for (size_t b = 0; b < sizeof budgets / sizeof *budgets; b++) {
        double t[2];
        for (int mode = 0; mode < 2; mode++) {
            wg_hessian_opts o;
            wg_hessian_opts_default(&o);
            o.max_hvp = budgets[b];
            o.tol = 1e-300; /* never converges: runs to the budget */
            o.check_every = mode == 0 ? 10 : 1 << 30;
            wg_hessian_result r;
            double s = now();
            int rc = wg_hessian_probe(&f, X, &o, &r);
            t[mode] = now() - s;
            if (rc || r.hvps != budgets[b]) {
                fprintf(stderr, "Lanczos failed: %s\n", wg_err_msg());
                exit(1);
            }
            wg_hessian_result_free(&r);
        }
        double marg = (t[0] - prev_t) / (budgets[b] - prev_m);
        printf("%8d %14.2f %14.2f %16.2f %14.0f\n", budgets[b],
               1e3 * (t[0] / budgets[b] - thvp), 1e3 * (t[1] / budgets[b] - thvp),
               1e3 * (marg - thvp), 8.0 * budgets[b] * (double)D / 1e6);
        fflush(stdout);
        prev_t = t[0];
        prev_m = budgets[b];
    }
    /* thick restart under a cap of 1000 vectors */
    wg_hessian_opts o;
    wg_hessian_opts_default(&o);
    o.max_hvp = 3000;
    o.tol = 1e-300;
    o.max_bytes = (size_t)(8.0 * (1000.0 * D + 2e6 + 1000.0 * 256));
    wg_hessian_result r;
    double s = now();
    int rc = wg_hessian_probe(&f, X, &o, &r);
    double tt = now() - s;
    if (rc) {
        fprintf(stderr, "Lanczos failed: %s\n", wg_err_msg());
        exit(1);
    }
    printf("thick restart, max_bytes %.0f MB (basis %d): %d restarts, %.2f ms/it over %ld "
           "iterations\n\n", o.max_bytes / 1e6, r.basis, r.restarts,
           1e3 * (tt / r.hvps - thvp), r.hvps);
    wg_hessian_result_free(&r);
    free(q.lam);
    free(X);
}

static void bench_full(size_t D)
{
    rsym q = {D};
    wg_objective f = {0};
    f.dim = D;
    f.ctx = &q;
    f.eval = rsym_eval;
    f.hvp = rsym_hvp;
    float *X = calloc(D, sizeof *X);
    wg_hessian_opts o;
    wg_hessian_opts_default(&o);
    o.method = WG_HESSIAN_FULL;
    wg_hessian_result r;
    double s = now();
    int rc = wg_hessian_probe(&f, X, &o, &r);
    double t = now() - s;
    if (rc) {
        printf("FULL at D = %zu: %s\n", D, wg_err_msg());
        wg_err_clear();
    } else {
        printf("FULL probe at D = %zu: %.1f s (assembly, symmetrisation, dsyevd_2stage), "
               "matrix %.2f GB, peak resident %.2f GB; eigenvalues %.4f .. %.4f\n", D, t,
               8.0 * D * D / 1e9, peak_gb(), r.lambda_min, r.ritz[0]);
    }
    fflush(stdout);
    wg_hessian_result_free(&r);
    free(X);
}

static void bench_one_stage(size_t D)
{
    int n = (int)D, info = 0, lw = -1, liw = -1, iq = 0;
    double *A = malloc(D * D * sizeof *A), *w = malloc(D * sizeof *w), q = 0.0;
    if (!A || !w) {
        printf("dsyevd at D = %zu: out of memory\n", D);
        free(A), free(w);
        return;
    }
    for (size_t i = 0; i < D; i++)
        for (size_t j = 0; j < D; j++)
            A[i * D + j] = entry(i, j);
    dsyevd_("N", "U", &n, A, &n, w, &q, &lw, &iq, &liw, &info, 1, 1);
    lw = (int)q;
    liw = iq;
    double *work = malloc((size_t)lw * sizeof *work);
    int *iwork = malloc((size_t)liw * sizeof *iwork);
    double s = now();
    dsyevd_("N", "U", &n, A, &n, w, work, &lw, iwork, &liw, &info, 1, 1);
    double t = now() - s;
    printf("one-stage dsyevd('N') at D = %zu: %.1f s (info %d); eigenvalues %.4f .. %.4f\n", D,
           t, info, w[0], w[D - 1]);
    fflush(stdout);
    free(A), free(w), free(work), free(iwork);
}

int main(int argc, char **argv)
{
    size_t full[8] = {4000, 16938}, one[8] = {4000}, lz = 16938;
    int nfull = 2, none = 1;
    for (int a = 1; a + 1 < argc; a += 2) {
        if (!strcmp(argv[a], "-f"))
            nfull = parse_list(argv[a + 1], full, 8);
        else if (!strcmp(argv[a], "-1"))
            none = parse_list(argv[a + 1], one, 8);
        else if (!strcmp(argv[a], "-l"))
            lz = strtoul(argv[a + 1], NULL, 10);
        else {
            fprintf(stderr, "usage: %s [-f D,...] [-l D] [-1 D,...]\n", argv[0]);
            return 2;
        }
    }
    if (lz > 0)
        bench_lanczos(lz);
    for (int i = 0; i < none; i++)
        if (one[i] > 0)
            bench_one_stage(one[i]);
    for (int i = 0; i < nfull; i++)
        if (full[i] > 0)
            bench_full(full[i]);
    return 0;
}
