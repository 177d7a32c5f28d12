/* bench_net.c: `make bench`: training and evaluation throughput of wedge's
 * networks on Fashion-MNIST at batch 128 and one BLAS thread, with achieved
 * GFLOP/s and, for scale, OpenBLAS's own sgemm rate on this machine.
 * tools/bench-torch.py prints the same table for PyTorch; run both in one sitting
 * and compare ratios (absolute figures drift with machine load).  Then the cost of
 * exact Hessian-vector products on a probe set against the gradient over the same
 * set (the unit the Hessian probe's budget is spent in), and SLQ with its probes one
 * after another against the same in lockstep (block products).
 * Usage: bench_net [SECONDS [NAME]]: NAME selects the models containing it ("hvp":
 * the Hessian-vector table alone). */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wedge/data.h"
#include "wedge/error.h"
#include "wedge/hessian.h"
#include "wedge/net.h"
#include "wedge/objective.h"
#include "wedge/optim.h"
#include "wedge/rng.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Best of `reps` timings of n_steps, in seconds per step (best-of filters out
 * interference from other processes on a shared machine). */
typedef struct bench_ctx {
    wg_net *net;
    float *theta, *grad;
    wg_optim *opt;
    const wg_dataset *ds;
    int *labels;
    size_t B;
} bench_ctx;

static void step(bench_ctx *c, long s, int train)
{
    size_t first = ((size_t)s * c->B) % (c->ds->n - c->B);
    wg_data_batch(c->ds, NULL, first, c->B, c->net->input, c->labels);
    wg_net_forward(c->net, c->theta, c->B, train, 1, (uint64_t)s);
    if (!train) {
        wg_net_loss(c->net, c->labels, c->B, 0, NULL);
        return;
    }
    wg_net_loss(c->net, c->labels, c->B, 1, NULL);
    wg_net_backward(c->net, c->theta, c->grad);
    wg_optim_step(c->opt, c->theta, c->grad, 1e-3);
}

static double time_steps(bench_ctx *c, int train, double budget)
{
    long s = 0;
    for (int w = 0; w < 3; w++)
        step(c, s++, train);
    double best = 1e30;
    for (int rep = 0; rep < 5; rep++) {
        long n = 0;
        double t0 = now(), t;
        do {
            step(c, s++, train);
            n++;
            t = now() - t0;
        } while (t < budget / 5);
        if (t / n < best)
            best = t / n;
    }
    return best;
}

static double sgemm_rate(int n)
{
    float *a = calloc((size_t)n * n, sizeof *a), *b = calloc((size_t)n * n, sizeof *b);
    float *c = calloc((size_t)n * n, sizeof *c);
    for (size_t i = 0; i < (size_t)n * n; i++)
        a[i] = b[i] = 1.0f / (float)(1 + i % 7);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n, b, n, 0, c, n);
    double best = 1e30;
    for (int r = 0; r < 5; r++) {
        double t0 = now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n, b, n, 0, c,
                    n);
        double t = now() - t0;
        if (t < best)
            best = t;
    }
    free(a);
    free(b);
    free(c);
    return 2.0 * n * (double)n * n / best / 1e9;
}

/* OpenBLAS picks its kernels by CPU (OPENBLAS_CORETYPE overrides), and some
 * builds miscompute on some CPUs: check sgemm against a double loop on an awkward
 * shape before timing anything. */
static int sgemm_check(void)
{
    enum { M = 67, N = 129, K = 93 };
    static float a[M * K], b[K * N], c[M * N];
    for (int i = 0; i < M * K; i++)
        a[i] = (float)((i * 37) % 19) / 19.0f - 0.5f;
    for (int i = 0; i < K * N; i++)
        b[i] = (float)((i * 53) % 23) / 23.0f - 0.5f;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1, a, K, b, N, 0, c, N);
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double want = 0.0;
            for (int k = 0; k < K; k++)
                want += (double)a[i * K + k] * b[k * N + j];
            if (fabs(c[i * N + j] - want) > 1e-4) {
                fprintf(stderr, "bench: OpenBLAS sgemm is wrong on this CPU (C[%d][%d] = %g, "
                        "want %g): try another OPENBLAS_CORETYPE\n", i, j,
                        (double)c[i * N + j], want);
                return -1;
            }
        }
    return 0;
}

/* ---- Hessian-vector products ------------------------------------------------------ */

typedef struct hvp_ctx {
    wg_objective *f;
    float *theta, *grad, *V;
    double *HV;
    size_t nv; /* 0: a gradient; -1: wg_hvp's central difference; else a block of nv */
    double h;
} hvp_ctx;

static int hvp_run(hvp_ctx *c)
{
    double loss;
    if (c->nv == 0)
        return wg_objective_grad(c->f, c->theta, &loss, c->grad);
    if (c->nv == (size_t)-1)
        return wg_hvp(c->f, c->theta, c->V, c->h, c->HV);
    return c->f->hvp(c->f->ctx, c->theta, c->V, c->nv, c->HV);
}

/* Best of up to 5 runs after one warm-up, within about `budget` seconds. */
static double time_hvp(hvp_ctx *c, double budget)
{
    if (hvp_run(c) != 0)
        return -1.0;
    double best = 1e30, spent = 0.0;
    for (int rep = 0; rep < 5 && (rep < 2 || spent < budget); rep++) {
        double t0 = now();
        if (hvp_run(c) != 0)
            return -1.0;
        double t = now() - t0;
        spent += t;
        if (t < best)
            best = t;
    }
    return best;
}

/* SLQ (5 probes x 10 steps) with its probes one after another against the same in
 * lockstep (a block of 5 products per step), alternated twice, each keeping its best:
 * seconds per product, and how far the lockstep nodes are from the serial ones. */
static int bench_slq(const wg_objective *f, const float *theta)
{
    enum { P = 5, S = 10 };
    double best[2] = {INFINITY, INFINITY}, diff = 0.0, top = 0.0;
    wg_hessian_result r[2] = {{0}};
    for (int round = 0; round < 2; round++)
        for (int lock = 0; lock < 2; lock++) {
            wg_hessian_opts o;
            wg_hessian_opts_default(&o);
            o.method = WG_HESSIAN_SLQ;
            o.nprobe = P;
            o.nsteps = S;
            o.threshold = 0.01;
            o.slq_lockstep = lock;
            wg_hessian_result_free(&r[lock]);
            double t0 = now();
            if (wg_hessian_probe(f, theta, &o, &r[lock]) != 0)
                return -1;
            best[lock] = fmin(best[lock], now() - t0);
        }
    for (size_t i = 0; i < (size_t)P * S; i++) {
        top = fmax(top, fabs(r[0].nodes[i]));
        diff = fmax(diff, fabs(r[1].nodes[i] - r[0].nodes[i]));
    }
    printf("\n# SLQ, %d probes x %d steps on the same probe set (best of 2, alternated)\n", P, S);
    printf("%-26s %10s %12s %12s\n", "probes", "seconds", "s/product", "/serial");
    printf("%-26s %10.3f %12.3f %12.2f\n", "one after another", best[0], best[0] / (P * S), 1.0);
    printf("%-26s %10.3f %12.3f %12.2f\n", "lockstep (block of 5)", best[1], best[1] / (P * S),
           best[1] / best[0]);
    printf("# lockstep nodes differ from the serial ones by %.2g of the largest (%.3g)\n",
           diff / top, top);
    wg_hessian_result_free(&r[0]);
    wg_hessian_result_free(&r[1]);
    return 0;
}

/* SimpleCNN c = 1 on the first 1000 training images, in batches of 500 (as the
 * Hessian probe evaluates), at its Glorot initialisation. */
static int bench_hvp(const wg_dataset *train, double budget)
{
    wg_dataset probe = *train; /* a view of the first 1000 images, not a copy */
    probe.n = 1000;
    wg_net_opts o;
    wg_net_opts_default(&o);
    o.im2col_only = getenv("WG_BENCH_IM2COL") != NULL;
    wg_objective f;
    if (wg_objective_net(&f, &o, &probe, 500) != 0)
        return -1;
    const size_t D = f.dim, nvs[4] = {1, 8, 16, 32};
    wg_net tmp;
    if (wg_net_init(&tmp, &o, 1) != 0)
        return -1;
    float *theta = malloc(D * sizeof *theta), *grad = malloc(D * sizeof *grad);
    float *V = malloc(32 * D * sizeof *V);
    double *HV = malloc(32 * D * sizeof *HV);
    if (!theta || !grad || !V || !HV)
        return -1;
    wg_net_init_params(&tmp, theta, 1, 0);
    wg_net_free(&tmp);
    wg_rng r;
    wg_rng_init(&r, 2, 0);
    for (size_t i = 0; i < 32 * D; i++)
        V[i] = (float)wg_rng_normal(&r) / (float)sqrt((double)D); /* ~unit vectors */
    double xn = 0.0;
    for (size_t i = 0; i < D; i++)
        xn += (double)theta[i] * theta[i];
    printf("\n# Hessian-vector products: simplecnn-c1, 28x28x1, probe set of %zu images in "
           "batches of 500, D = %zu\n", probe.n, D);
    printf("%-26s %10s %12s %12s\n", "product", "seconds", "s/vector", "/gradient");
    hvp_ctx c = {&f, theta, grad, V, HV, 0, 1e-3 * sqrt(xn / (double)D)};
    double tg = time_hvp(&c, budget);
    if (tg < 0)
        return -1;
    printf("%-26s %10.3f %12.3f %12.2f\n", "gradient", tg, tg, 1.0);
    c.nv = (size_t)-1;
    double tf = time_hvp(&c, budget);
    if (tf < 0)
        return -1;
    printf("%-26s %10.3f %12.3f %12.2f\n", "central difference (wg_hvp)", tf, tf, tf / tg);
    for (int k = 0; k < 4; k++) {
        c.nv = nvs[k];
        double t = time_hvp(&c, budget);
        if (t < 0)
            return -1;
        char name[32];
        snprintf(name, sizeof name, "exact, block of %zu", nvs[k]);
        printf("%-26s %10.3f %12.3f %12.2f\n", name, t, t / (double)nvs[k],
               t / (double)nvs[k] / tg);
        fflush(stdout);
    }
    printf("# /gradient: seconds per vector over seconds per gradient (target <= 2.5 for one)\n");
    int rc = bench_slq(&f, theta);
    free(theta), free(grad), free(V), free(HV);
    wg_objective_free(&f);
    return rc;
}

int main(int argc, char **argv)
{
    double budget = argc > 1 ? atof(argv[1]) : 3.0;
    openblas_set_num_threads(1);
    wg_data data;
    wg_data_opts dopts = {.kind = WG_DATA_FASHION_MNIST, .test_size = 1};
    if (wg_data_load(&data, &dopts) != 0) {
        fprintf(stderr, "bench: %s\n(run tools/setup.sh to install Fashion-MNIST)\n",
                wg_err_msg());
        return 1;
    }
    if (sgemm_check() != 0)
        return 1;
    double peak = sgemm_rate(1024);
    printf("# wedge %s, OpenBLAS %s, 1 thread, batch 128, Fashion-MNIST\n", WG_VERSION,
           openblas_get_config());
    printf("# OpenBLAS sgemm 1024^3: %.1f GFLOP/s (checked against a double loop)\n", peak);
    printf("# convolutions: %s\n", getenv("WG_BENCH_IM2COL")
                                       ? "im2col + sgemm only (WG_BENCH_IM2COL set)"
                                       : "Winograd F(2x2,3x3) from 16 input channels, "
                                         "else im2col + sgemm");
    printf("# GFLOP/s count a direct convolution's operations (Winograd does 2.25x fewer),\n"
           "# so a network's rate can exceed sgemm's\n");
    printf("%-14s %10s %10s %9s %9s %7s %7s\n", "model", "train/s", "eval/s", "trainGF",
           "evalGF", "train%", "eval%");
    struct { const char *name; wg_arch arch; int width; } models[] = {
        {"simplecnn-c1", WG_ARCH_SIMPLECNN, 1},
        {"simplecnn-c2", WG_ARCH_SIMPLECNN, 2},
        {"simplecnn-c4", WG_ARCH_SIMPLECNN, 4},
        {"mlp-256x2", WG_ARCH_MLP, 0},
    };
    const char *only = argc > 2 ? argv[2] : NULL;
    for (size_t m = 0; m < sizeof models / sizeof *models; m++) {
        if (only && !strstr(models[m].name, only))
            continue;
        wg_net_opts o;
        wg_net_opts_default(&o);
        o.arch = models[m].arch;
        if (models[m].width)
            o.width = models[m].width;
        o.im2col_only = getenv("WG_BENCH_IM2COL") != NULL;
        wg_net net;
        wg_optim opt;
        if (wg_net_init(&net, &o, 128) != 0) {
            fprintf(stderr, "bench: %s\n", wg_err_msg());
            return 1;
        }
        float *theta = malloc(net.nparams * sizeof *theta);
        float *grad = malloc(net.nparams * sizeof *grad);
        int labels[128];
        wg_optim_init(&opt, WG_OPT_ADAM, net.nparams, 0.0);
        wg_net_init_params(&net, theta, 1, 0);
        size_t bb = getenv("BB") ? (size_t)atoi(getenv("BB")) : 128;
        bench_ctx c = {&net, theta, grad, &opt, &data.train, labels, bb};
        double tt = time_steps(&c, 1, budget), te = time_steps(&c, 0, budget);
        double ft = wg_net_flops(&net, 1), fe = wg_net_flops(&net, 0);
        double gt = ft * bb / tt / 1e9, ge = fe * bb / te / 1e9;
        printf("%-14s %10.0f %10.0f %9.2f %9.2f %6.0f%% %6.0f%%\n", models[m].name,
               bb / tt, bb / te, gt, ge, 100 * gt / peak, 100 * ge / peak);
        fflush(stdout);
        wg_optim_free(&opt);
        free(theta);
        free(grad);
        wg_net_free(&net);
    }
    if ((!only || strstr("hvp", only)) && bench_hvp(&data.train, budget) != 0) {
        fprintf(stderr, "bench: %s\n", wg_err_msg());
        return 1;
    }
    wg_data_free(&data);
    return 0;
}
