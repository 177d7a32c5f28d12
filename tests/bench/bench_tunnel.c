/* bench_tunnel.c: `make bench-tunnel`: the two tunnel searches side by side on a
 * trained network, and what evaluating several points in one pass could save.
 *
 * Trains a SimpleCNN (c = 1, tanh, Adam lr 1e-3, batch 128) on a 10,000-image
 * Fashion-MNIST subset for 3 epochs (or reads the parameters a previous run saved
 * with -p), then probes K directions at the optimum on a 2,000-image probe set with
 * the bisection search and the interpolating one, one direction per call so that
 * each direction's CPU time is measured apart (the L(P0) evaluation that every call
 * makes is timed separately and left out), the two searches alternating direction
 * by direction so that both see the same machine load.  Prints, per direction, a* of every
 * level under both searches, their relative difference, and the evaluations and CPU
 * seconds each spent; then the largest difference and the means.
 *
 * Then the batching question: a pass over the probe set for m points of one
 * direction could share only what does not depend on the parameters, i.e. the
 * conversion of the images to floats and the first convolution's im2col (its sgemm
 * can take the m filter banks side by side).  Everything after the first layer
 * differs per point.  The program times those parts against a whole evaluation and
 * prints the cost per point of such a pass relative to m separate passes.
 *
 * Usage: bench_tunnel [-k DIRECTIONS] [-n PROBE_SIZE] [-s SEED] [-p PARAMS_FILE]
 * Run with one BLAS thread (make bench-tunnel does). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "wedge/data.h"
#include "wedge/error.h"
#include "wedge/layers.h"
#include "wedge/net.h"
#include "wedge/objective.h"
#include "wedge/rng.h"
#include "wedge/train.h"
#include "wedge/tunnel.h"

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* An objective that times every evaluation of the one it wraps. */
typedef struct timed {
    const wg_objective *inner;
    long calls;
    double first_cpu; /* CPU seconds of the first evaluation since the reset */
    double cpu;       /* CPU seconds of all of them */
} timed;

static int timed_eval(void *ctx, const float *theta, double *loss, float *grad)
{
    timed *t = ctx;
    double t0 = cpu_now();
    int rc = t->inner->eval(t->inner->ctx, theta, loss, grad);
    double dt = cpu_now() - t0;
    if (t->calls == 0)
        t->first_cpu = dt;
    t->cpu += dt;
    t->calls++;
    return rc;
}

/* Train, or read the parameters a previous run wrote to `path`. */
static int optimum(wg_net *net, const wg_net_opts *no, float *theta, const wg_data *data,
                   uint64_t seed, const char *path)
{
    FILE *f = path ? fopen(path, "rb") : NULL;
    if (f) {
        size_t got = fread(theta, sizeof *theta, net->nparams, f);
        int extra = fgetc(f) != EOF;
        fclose(f);
        if (got != net->nparams || extra)
            return WG_FAIL(WG_EFORMAT, "%s: not %zu float parameters", path, net->nparams);
        printf("# parameters read from %s\n", path);
        return 0;
    }
    wg_train_opts to;
    wg_train_opts_default(&to);
    to.epochs = 3;
    to.seed = seed;
    wg_net_init_params(net, theta, seed, 0);
    double t0 = cpu_now();
    wg_objective obj = {0};
    int rc = wg_objective_net_train(&obj, no, &data->train, to.batch_size, to.l2);
    if (rc == 0)
        rc = wg_train(&obj, NULL, theta, &to, NULL, NULL);
    wg_objective_free(&obj);
    if (rc)
        return rc;
    printf("# trained: Adam lr %g, batch %zu, %d epochs, seed %llu (%.0f s CPU)\n", to.lr,
           to.batch_size, to.epochs, (unsigned long long)seed, cpu_now() - t0);
    if (path) {
        f = fopen(path, "wb");
        if (!f || fwrite(theta, sizeof *theta, net->nparams, f) != net->nparams) {
            if (f)
                fclose(f);
            return WG_FAIL(WG_EIO, "%s: cannot write the parameters", path);
        }
        if (fclose(f) != 0)
            return WG_FAIL(WG_EIO, "%s: cannot write the parameters", path);
    }
    return 0;
}

typedef struct run {
    double *astar; /* K * nlevels */
    int *how;
    int *nevals;   /* per direction, L(P0) excluded */
    double *cpu;   /* per direction, L(P0) excluded */
} run;

/* Direction k under each search in turn (alternating, so that both see the same
 * machine load), one call per direction and search. */
static int probe_all(const wg_objective *f, const float *P0, wg_tunnel_opts *o,
                     const int *searches, int K, run *out, double *norm, double *loss0)
{
    timed t = {f, 0, 0.0, 0.0};
    wg_objective tf = {.dim = f->dim, .ctx = &t, .eval = timed_eval};
    for (int k = 0; k < K; k++)
        for (int s = 0; s < 2; s++) {
            wg_tunnel_result r;
            t.calls = 0;
            t.cpu = 0.0;
            o->search = searches[s];
            int rc = wg_tunnel_probe(&tf, P0, o, k, 1, &r);
            if (rc) {
                wg_tunnel_result_free(&r);
                return rc;
            }
            for (int l = 0; l < o->nlevels; l++) {
                out[s].astar[k * o->nlevels + l] = r.astar[l];
                out[s].how[k * o->nlevels + l] = r.how[l];
            }
            out[s].nevals[k] = r.nevals[0];
            out[s].cpu[k] = t.cpu - t.first_cpu;
            *norm = r.norm;
            *loss0 = r.loss0;
            wg_tunnel_result_free(&r);
        }
    return 0;
}

static double mean_int(const int *x, int n)
{
    double s = 0.0;
    for (int i = 0; i < n; i++)
        s += x[i];
    return s / n;
}

static double mean(const double *x, int n)
{
    double s = 0.0;
    for (int i = 0; i < n; i++)
        s += x[i];
    return s / n;
}

/* One forward of a first-layer convolution. */
typedef struct conv_job {
    float *out, *col;
    const float *in, *w, *b;
    int B, H, W, C, K;
} conv_job;

/* Best of 7 CPU timings of `reps` forwards, per forward. */
static double time_conv(const conv_job *j, int reps)
{
    double best = INFINITY;
    for (int t = 0; t < 7; t++) {
        double t0 = cpu_now();
        for (int r = 0; r < reps; r++)
            wg_conv3_forward(j->out, j->col, j->in, j->w, j->b, j->B, j->H, j->W, j->C, j->K);
        best = fmin(best, (cpu_now() - t0) / reps);
    }
    return best;
}

/* The batching estimate, per pass over `probe` in batches of `batch`: a whole
 * evaluation, the images-to-floats conversion (shared by m points), and the first
 * convolution for m points done m times against once with m filter banks side by
 * side (one im2col, one wider sgemm). */
static int batching(const wg_objective *f, const float *theta, const wg_dataset *probe,
                    size_t batch)
{
    const size_t n = probe->n, img = (size_t)probe->h * probe->w * probe->c;
    const int H = probe->h, W = probe->w, C = probe->c, K1 = 16, MMAX = 4;
    int rc = 0;
    float *in = wg_alloc(batch * img, sizeof *in, "bench input");
    float *col = wg_alloc(batch * img * 9, sizeof *col, "bench im2col");
    float *out = wg_alloc(batch * (size_t)H * W * K1 * MMAX, sizeof *out, "bench output");
    float *w = wg_alloc((size_t)9 * C * K1 * MMAX, sizeof *w, "bench filters");
    float *b = wg_calloc((size_t)K1 * MMAX, sizeof *b, "bench filters");
    int *labels = wg_alloc(batch, sizeof *labels, "bench labels");
    if (!in || !col || !out || !w || !b || !labels)
        rc = WG_ENOMEM;
    for (size_t i = 0; rc == 0 && i < (size_t)9 * C * K1 * MMAX; i++)
        w[i] = 0.01f * (float)((i * 37) % 17) - 0.08f;
    double t_eval = INFINITY, L;
    for (int t = 0; rc == 0 && t < 5; t++) {
        double t0 = cpu_now();
        rc = f->eval(f->ctx, theta, &L, NULL);
        t_eval = fmin(t_eval, cpu_now() - t0);
    }
    double t_data = INFINITY;
    for (int t = 0; rc == 0 && t < 5; t++) {
        double t0 = cpu_now();
        for (size_t first = 0; first < n; first += batch) {
            size_t B = n - first < batch ? n - first : batch;
            wg_data_batch(probe, NULL, first, B, in, labels);
        }
        t_data = fmin(t_data, cpu_now() - t0);
    }
    if (rc == 0) {
        const size_t passes = (n + batch - 1) / batch;
        conv_job j = {out, col, in, w, b, (int)batch, H, W, C, K1};
        double t_conv[5]; /* t_conv[m]: the first convolution with m filter banks */
        for (int m = 1; m <= MMAX; m++) {
            j.K = K1 * m;
            t_conv[m] = time_conv(&j, 5) * (double)passes;
        }
        printf("\n# batching: m points of one direction in one pass over the probe set "
               "(%zu images, batches of %zu)\n", n, batch);
        printf("# one evaluation %.1f ms CPU; of it, images to floats %.2f ms and the first "
               "convolution (1 -> 16 channels, im2col + sgemm) %.2f ms are all a pass could "
               "share\n", 1e3 * t_eval, 1e3 * t_data, 1e3 * t_conv[1]);
        printf("%3s %14s %20s %22s %14s\n", "m", "m passes (ms)", "first conv m x (ms)",
               "first conv m banks (ms)", "pass / m (rel)");
        for (int m = 1; m <= MMAX; m++) {
            double saved = (m - 1) * t_data + (m * t_conv[1] - t_conv[m]);
            printf("%3d %14.1f %20.2f %22.2f %14.3f\n", m, 1e3 * m * t_eval,
                   1e3 * m * t_conv[1], 1e3 * t_conv[m], (m * t_eval - saved) / (m * t_eval));
        }
    }
    free(in);
    free(col);
    free(out);
    free(w);
    free(b);
    free(labels);
    return rc;
}

int main(int argc, char **argv)
{
    int K = 16;
    size_t probe_size = 2000;
    uint64_t seed = 1;
    const char *params = NULL;
    int c;
    while ((c = getopt(argc, argv, "k:n:s:p:h")) != -1) {
        switch (c) {
        case 'k': K = atoi(optarg); break;
        case 'n': probe_size = (size_t)atol(optarg); break;
        case 's': seed = (uint64_t)atoll(optarg); break;
        case 'p': params = optarg; break;
        default:
            fprintf(stderr, "usage: %s [-k DIRECTIONS] [-n PROBE_SIZE] [-s SEED] "
                            "[-p PARAMS_FILE]\n", argv[0]);
            return c == 'h' ? 0 : 2;
        }
    }
    if (K < 1 || probe_size < 1) {
        fprintf(stderr, "bench_tunnel: -k and -n take positive numbers\n");
        return 2;
    }
    wg_data data = {0};
    wg_data_opts dopts = {.kind = WG_DATA_FASHION_MNIST, .train_size = 10000,
                          .test_size = 2000, .subset_seed = seed};
    wg_net net = {0};
    wg_net_opts no;
    wg_net_opts_default(&no);
    wg_objective f = {0};
    wg_dataset probe = {0};
    float *theta = NULL;
    run runs[2] = {{0}};
    int rc = wg_data_load(&data, &dopts);
    if (rc == 0)
        rc = wg_net_init(&net, &no, 128);
    if (rc == 0 && !(theta = wg_alloc(net.nparams, sizeof *theta, "parameters")))
        rc = WG_ENOMEM;
    if (rc == 0) {
        printf("# SimpleCNN c = 1 tanh, D = %zu, Fashion-MNIST %zu training images\n",
               net.nparams, data.train.n);
        rc = optimum(&net, &no, theta, &data, seed, params);
    }
    if (rc == 0) { /* the probe set as the runner builds it: a seeded training subset */
        const wg_dataset *tr = &data.train;
        size_t img = (size_t)tr->h * tr->w * tr->c;
        probe = *tr;
        probe.pixels = wg_alloc(tr->n, img, "probe set");
        probe.labels = wg_alloc(tr->n, 1, "probe set");
        if (!probe.pixels || !probe.labels)
            rc = WG_ENOMEM;
        if (rc == 0) {
            memcpy(probe.pixels, tr->pixels, tr->n * img);
            memcpy(probe.labels, tr->labels, tr->n);
            if (probe_size < tr->n)
                rc = wg_dataset_subset(&probe, probe_size, seed,
                                       wg_rng_stream(WG_RNG_SUBSET, 2, 0, 0));
        }
    }
    if (rc == 0)
        rc = wg_objective_net(&f, &no, &probe, 500);
    wg_tunnel_opts o;
    wg_tunnel_opts_default(&o);
    o.seed = seed;
    const int NL = o.nlevels;
    for (int s = 0; rc == 0 && s < 2; s++) {
        runs[s].astar = wg_alloc((size_t)K * NL, sizeof *runs[s].astar, "bench");
        runs[s].how = wg_alloc((size_t)K * NL, sizeof *runs[s].how, "bench");
        runs[s].nevals = wg_alloc((size_t)K, sizeof *runs[s].nevals, "bench");
        runs[s].cpu = wg_alloc((size_t)K, sizeof *runs[s].cpu, "bench");
        if (!runs[s].astar || !runs[s].how || !runs[s].nevals || !runs[s].cpu)
            rc = WG_ENOMEM;
    }
    double norm = NAN, loss0 = NAN;
    const char *names[2] = {"bisect", "interp"};
    const int searches[2] = {WG_TUNNEL_BISECT, WG_TUNNEL_INTERP};
    if (rc == 0)
        rc = probe_all(&f, theta, &o, searches, K, runs, &norm, &loss0);
    if (rc) {
        fprintf(stderr, "bench_tunnel: %s\n", wg_err_msg());
    } else {
        printf("# probe set %zu images; |P0| = %.4f, L(P0) = %.4f; %d directions; levels "
               "dL = 1, dL = 0.5, L = ln 10; precision %g\n",
               probe.n, norm, loss0, K, o.precision);
        printf("# a* / |P0| per search; diff = |a*_interp / a*_bisect - 1|; evals and CPU "
               "seconds per direction, L(P0) excluded\n");
        printf("%3s", "k");
        const char *lv[3] = {"dL=1", "dL=0.5", "ln10"};
        for (int l = 0; l < NL; l++)
            printf(" %9s %9s %8s", lv[l], names[1], "diff");
        printf(" %6s %6s %7s %7s\n", "ev_bis", "ev_int", "s_bis", "s_int");
        double maxdiff = 0.0;
        int mismatch = 0;
        for (int k = 0; k < K; k++) {
            printf("%3d", k);
            for (int l = 0; l < NL; l++) {
                double ab = runs[0].astar[k * NL + l], ai = runs[1].astar[k * NL + l];
                double d = fabs(ai / ab - 1.0);
                if (runs[0].how[k * NL + l] != runs[1].how[k * NL + l])
                    mismatch++;
                else if (runs[0].how[k * NL + l] == WG_TUNNEL_FOUND)
                    maxdiff = fmax(maxdiff, d);
                printf(" %9.5f %9.5f %8.1e", ab / norm, ai / norm, d);
            }
            printf(" %6d %6d %7.2f %7.2f\n", runs[0].nevals[k], runs[1].nevals[k],
                   runs[0].cpu[k], runs[1].cpu[k]);
        }
        double eb = mean_int(runs[0].nevals, K), ei = mean_int(runs[1].nevals, K);
        double cb = mean(runs[0].cpu, K), ci = mean(runs[1].cpu, K);
        int maxev = 0;
        for (int k = 0; k < K; k++)
            maxev = runs[1].nevals[k] > maxev ? runs[1].nevals[k] : maxev;
        printf("# max |a*_interp / a*_bisect - 1| over %d directions x %d levels: %.2e "
               "(outcomes differing: %d)\n", K, NL, maxdiff, mismatch);
        printf("# evaluations per direction: bisect %.2f, interp %.2f (max %d): %.2fx fewer\n",
               eb, ei, maxev, eb / ei);
        printf("# CPU seconds per direction: bisect %.3f, interp %.3f: %.2fx less\n", cb, ci,
               cb / ci);
        rc = batching(&f, theta, &probe, 500);
        if (rc)
            fprintf(stderr, "bench_tunnel: %s\n", wg_err_msg());
    }
    for (int s = 0; s < 2; s++) {
        free(runs[s].astar);
        free(runs[s].how);
        free(runs[s].nevals);
        free(runs[s].cpu);
    }
    wg_objective_free(&f);
    wg_dataset_free(&probe);
    free(theta);
    wg_net_free(&net);
    wg_data_free(&data);
    return rc ? 1 : 0;
}
