/* swa.c: the cyclic-learning-rate snapshots of a trained network, their weight
 * average (SWA) and their averaged predictions (docs/METHODS.md, Figure 6).
 * The training loop here is train.c's with a cyclic schedule, a fresh optimizer
 * and the pre-training's streams continued; it keeps a snapshot per cycle instead
 * of per-epoch test statistics.  Evaluation keeps what an ensemble needs: log p(y)
 * of every example per network and the summed class probabilities.  Nothing here
 * knows about tasks, sweeps or files: exec.c packs wg_swa_run's doubles into a
 * record. */
#include "wedge/swa.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "wedge/error.h"
#include "wedge/rng.h"
#include "wedge/train.h"

void wg_swa_opts_default(wg_swa_opts *o)
{
    memset(o, 0, sizeof *o);
    o->cycles = 8;
    o->cycle_epochs = 1;
    o->lr_max = 1e-3;
    o->min_ratio = 0.01;
    o->optimizer = WG_OPT_ADAM;
    o->momentum = 0.9;
    o->batch_size = 128;
}

static int check_opts(const wg_swa_opts *o)
{
    if (o->cycles < 1 || o->cycles > WG_SWA_MAX_CYCLES)
        return WG_FAIL(WG_EARG, "swa: cycles = %d must be in [1, %d]", o->cycles,
                       WG_SWA_MAX_CYCLES);
    if (o->cycle_epochs < 1)
        return WG_FAIL(WG_EARG, "swa: cycle_epochs = %d must be >= 1", o->cycle_epochs);
    if (!(o->lr_max > 0.0) || !isfinite(o->lr_max))
        return WG_FAIL(WG_EARG, "swa: lr_max = %g must be a positive number", o->lr_max);
    if (!(o->min_ratio > 0.0 && o->min_ratio <= 1.0))
        return WG_FAIL(WG_EARG, "swa: min_ratio = %g must be in (0, 1]", o->min_ratio);
    if (!(o->l2 >= 0.0) || !isfinite(o->l2))
        return WG_FAIL(WG_EARG, "swa: l2 = %g must be >= 0", o->l2);
    if (o->first_epoch < 0)
        return WG_FAIL(WG_EARG, "swa: first_epoch = %d must be >= 0", o->first_epoch);
    return 0;
}

int wg_swa_schedule(const wg_swa_opts *o, size_t n, wg_schedule *s)
{
    int rc = check_opts(o);
    if (rc)
        return rc;
    if (o->batch_size < 1 || n < 1)
        return WG_FAIL(WG_EARG, "swa: batch size %zu for %zu images", o->batch_size, n);
    long spe = (long)((n + o->batch_size - 1) / o->batch_size);
    *s = (wg_schedule){WG_SCHED_CYCLIC, o->lr_max, o->min_ratio, (long)o->cycle_epochs * spe};
    return 0;
}

int wg_swa_cycles(wg_net *net, float *theta, const wg_dataset *tr, const wg_swa_opts *o,
                  float *snaps, double *cycle_loss)
{
    wg_schedule sched;
    int rc = wg_swa_schedule(o, tr->n, &sched);
    if (rc)
        return rc;
    const size_t n = tr->n, D = net->nparams, bs = o->batch_size;
    if (bs > n || bs > net->cap)
        return WG_FAIL(WG_EARG, "swa: batch size %zu for %zu images and a net of capacity %zu",
                       bs, n, net->cap);
    if ((size_t)tr->h * tr->w * tr->c != net->in_size || tr->classes > net->opts.classes)
        return WG_FAIL(WG_EARG, "swa: %dx%dx%d images of %d classes do not fit the network",
                       tr->h, tr->w, tr->c, tr->classes);
    const long spe = (long)((n + bs - 1) / bs);
    uint32_t *idx = wg_alloc(n, sizeof *idx, "batch order");
    int *labels = wg_alloc(net->cap, sizeof *labels, "labels");
    float *grad = wg_alloc(D, sizeof *grad, "gradient");
    wg_optim opt = {0};
    if (!idx || !labels || !grad)
        rc = WG_ENOMEM;
    if (rc == 0)
        rc = wg_optim_init(&opt, o->optimizer, D, o->optimizer == WG_OPT_SGD ? o->momentum : 0.0);
    /* the pre-training's dropout streams were steps 0 .. first_epoch*spe - 1 */
    const long step0 = (long)o->first_epoch * spe;
    long step = 0;
    for (int c = 0; rc == 0 && c < o->cycles; c++) {
        double loss_sum = 0.0;
        size_t seen = 0;
        for (int e = 0; rc == 0 && e < o->cycle_epochs; e++) {
            int epoch = o->first_epoch + c * o->cycle_epochs + e + 1; /* as train.c counts */
            wg_rng r;
            wg_rng_init(&r, o->seed, wg_rng_stream(WG_RNG_SHUFFLE, (uint64_t)epoch, 0, 0));
            wg_rng_permute(&r, idx, n);
            for (size_t first = 0; first < n; first += bs, step++) {
                size_t B = n - first < bs ? n - first : bs, ok;
                wg_data_batch(tr, idx + first, 0, B, net->input, labels);
                wg_net_forward(net, theta, B, 1, o->seed, (uint64_t)(step0 + step));
                double l = wg_net_loss(net, labels, B, 1, &ok);
                if (!isfinite(l)) {
                    rc = WG_FAIL(WG_EDIVERGED,
                                 "swa diverged in cycle %d of %d (lr_max %g): training loss is %g",
                                 c + 1, o->cycles, o->lr_max, l / (double)B);
                    break;
                }
                loss_sum += l;
                seen += B;
                wg_net_backward(net, theta, grad);
                if (o->l2 > 0.0)
                    wg_net_l2(net, theta, grad, o->l2);
                wg_optim_step(&opt, theta, grad, wg_schedule_lr(&sched, step));
            }
            if (rc == 0 && o->stop && o->stop(o->stop_user))
                rc = WG_EINTR;
        }
        if (rc)
            break;
        if (!isfinite(wg_norm(theta, D))) {
            rc = WG_FAIL(WG_EDIVERGED, "swa diverged in cycle %d of %d (lr_max %g): "
                         "parameters are not finite", c + 1, o->cycles, o->lr_max);
            break;
        }
        memcpy(snaps + (size_t)c * D, theta, D * sizeof *theta);
        if (cycle_loss)
            cycle_loss[c] = loss_sum / (double)seen;
    }
    wg_optim_free(&opt);
    free(idx);
    free(labels);
    free(grad);
    return rc;
}

void wg_swa_average(const float *snaps, int M, size_t D, float *avg)
{
    for (size_t i = 0; i < D; i++) {
        double s = 0.0;
        for (int m = 0; m < M; m++)
            s += snaps[(size_t)m * D + i];
        avg[i] = (float)(s / M);
    }
}

int wg_swa_predict(wg_net *net, const float *theta, const wg_dataset *ds, double *loss,
                   double *acc, double *logp, double *probsum)
{
    const int K = net->opts.classes;
    int *labels = wg_alloc(net->cap, sizeof *labels, "labels");
    if (!labels)
        return WG_ENOMEM;
    double total = 0.0;
    size_t right = 0;
    for (size_t first = 0; first < ds->n; first += net->cap) {
        size_t B = ds->n - first < net->cap ? ds->n - first : net->cap;
        wg_data_batch(ds, NULL, first, B, net->input, labels);
        const float *logits = wg_net_forward(net, theta, B, 0, 0, 0);
        for (size_t b = 0; b < B; b++) {
            /* wg_softmax_xent's arithmetic, so one network's loss is the usual one */
            const float *z = logits + b * (size_t)K;
            int best = 0;
            for (int k = 1; k < K; k++)
                if (z[k] > z[best])
                    best = k;
            right += best == labels[b];
            double zmax = z[best], sum = 0.0;
            for (int k = 0; k < K; k++)
                sum += exp((double)z[k] - zmax);
            double lse = zmax + log(sum);
            double lp = (double)z[labels[b]] - lse;
            total += -lp;
            if (logp)
                logp[first + b] = lp;
            if (probsum)
                for (int k = 0; k < K; k++)
                    probsum[(first + b) * (size_t)K + (size_t)k] += exp((double)z[k] - lse);
        }
    }
    free(labels);
    *loss = ds->n ? total / (double)ds->n : NAN;
    *acc = ds->n ? (double)right / (double)ds->n : NAN;
    return 0;
}

void wg_swa_ensemble(const double *logp, int M, const double *probsum, const uint8_t *y,
                     size_t n, int K, double *loss, double *acc)
{
    double total = 0.0;
    size_t right = 0;
    const double logM = log((double)M);
    for (size_t i = 0; i < n; i++) {
        double mx = logp[i];
        for (int m = 1; m < M; m++)
            mx = fmax(mx, logp[(size_t)m * n + i]);
        double s = 0.0;
        for (int m = 0; m < M; m++)
            s += exp(logp[(size_t)m * n + i] - mx);
        double lp = mx + log(s) - logM; /* M = 1: mx + log(1) - 0 = logp exactly */
        total += -lp;
        const double *p = probsum + i * (size_t)K;
        int best = 0;
        for (int k = 1; k < K; k++)
            if (p[k] > p[best])
                best = k;
        right += best == (int)y[i];
    }
    *loss = n ? total / (double)n : NAN;
    *acc = n ? (double)right / (double)n : NAN;
}

void wg_swa_geometry(const float *snaps, int M, size_t D, const float *origin, double *dist,
                     double *cosine)
{
    for (int a = 0; a < M; a++)
        for (int b = a; b < M; b++) {
            const float *x = snaps + (size_t)a * D, *y = snaps + (size_t)b * D;
            double d2 = 0.0, xy = 0.0, xx = 0.0, yy = 0.0;
            for (size_t i = 0; i < D; i++) {
                double dx = (double)x[i] - y[i];
                double u = origin ? (double)x[i] - origin[i] : x[i];
                double v = origin ? (double)y[i] - origin[i] : y[i];
                d2 += dx * dx;
                xy += u * v, xx += u * u, yy += v * v;
            }
            double c = xy / sqrt(xx * yy); /* NaN for a zero vector */
            if (dist)
                dist[(size_t)a * M + b] = dist[(size_t)b * M + a] = sqrt(d2);
            if (cosine)
                cosine[(size_t)a * M + b] = cosine[(size_t)b * M + a] = c;
        }
}

size_t wg_swa_layout(int M, size_t off[WG_SX_PARTS])
{
    size_t m = (size_t)M;
    const size_t len[WG_SX_PARTS] = {4, m, m, m, m, m, m, m, 5, 5, 4, m * m, m * m, m * m};
    size_t o = 0;
    for (int i = 0; i < WG_SX_PARTS; i++) {
        off[i] = o;
        o += len[i];
    }
    return o;
}

/* Test and probe-set loss and accuracy and the norm of theta into out[5]. */
static int measure(wg_net *net, const float *theta, const wg_dataset *test,
                   const wg_dataset *probe, double *out)
{
    int rc = wg_swa_predict(net, theta, test, &out[0], &out[1], NULL, NULL);
    if (rc == 0)
        rc = wg_swa_predict(net, theta, probe, &out[2], &out[3], NULL, NULL);
    out[4] = wg_norm(theta, net->nparams);
    return rc;
}

static int stopped(const wg_swa_opts *o)
{
    return o->stop && o->stop(o->stop_user);
}

int wg_swa_run(wg_net *net, const float *theta0, const wg_dataset *train,
               const wg_dataset *probe, const wg_dataset *test, const wg_swa_opts *o,
               double *extra)
{
    int rc = check_opts(o);
    if (rc)
        return rc;
    const int M = o->cycles, K = net->opts.classes;
    const size_t D = net->nparams, nt = test->n, np = probe->n;
    size_t off[WG_SX_PARTS];
    wg_swa_layout(M, off);
    double *ex = extra;
    float *theta = wg_alloc(D, sizeof *theta, "parameters");
    float *snaps = wg_alloc((size_t)M, D * sizeof *snaps, "swa snapshots");
    float *avg = wg_alloc(D, sizeof *avg, "weight average");
    double *lp_t = wg_alloc((size_t)M, (nt ? nt : 1) * sizeof *lp_t, "test predictions");
    double *lp_p = wg_alloc((size_t)M, (np ? np : 1) * sizeof *lp_p, "probe predictions");
    double *ps_t = wg_calloc(nt ? nt : 1, (size_t)K * sizeof *ps_t, "test predictions");
    double *ps_p = wg_calloc(np ? np : 1, (size_t)K * sizeof *ps_p, "probe predictions");
    if (!theta || !snaps || !avg || !lp_t || !lp_p || !ps_t || !ps_p)
        rc = WG_ENOMEM;
    if (rc == 0 && !isfinite(wg_norm(theta0, D)))
        rc = WG_FAIL(WG_EDIVERGED, "swa: the pre-trained parameters are not finite");
    if (rc == 0) {
        ex[off[WG_SX_HDR] + 0] = M;
        ex[off[WG_SX_HDR] + 1] = o->lr_max;
        ex[off[WG_SX_HDR] + 2] = o->cycle_epochs;
        ex[off[WG_SX_HDR] + 3] = (double)D;
        rc = measure(net, theta0, test, probe, ex + off[WG_SX_START]);
    }
    if (rc == 0) {
        memcpy(theta, theta0, D * sizeof *theta);
        rc = wg_swa_cycles(net, theta, train, o, snaps, ex + off[WG_SX_CYCLE_LOSS]);
    }
    for (int m = 0; rc == 0 && m < M; m++) {
        const float *s = snaps + (size_t)m * D;
        rc = wg_swa_predict(net, s, test, &ex[off[WG_SX_SNAP_TEST_LOSS] + (size_t)m],
                            &ex[off[WG_SX_SNAP_TEST_ACC] + (size_t)m], lp_t + (size_t)m * nt,
                            ps_t);
        if (rc == 0)
            rc = wg_swa_predict(net, s, probe, &ex[off[WG_SX_SNAP_TRAIN_LOSS] + (size_t)m],
                                &ex[off[WG_SX_SNAP_TRAIN_ACC] + (size_t)m],
                                lp_p + (size_t)m * np, ps_p);
        double d2 = 0.0;
        for (size_t i = 0; i < D; i++) {
            double d = (double)s[i] - theta0[i];
            d2 += d * d;
        }
        ex[off[WG_SX_SNAP_NORM] + (size_t)m] = wg_norm(s, D);
        ex[off[WG_SX_SNAP_START_DIST] + (size_t)m] = sqrt(d2);
        if (rc == 0 && stopped(o))
            rc = WG_EINTR;
    }
    if (rc == 0) {
        double *e = ex + off[WG_SX_ENS];
        wg_swa_ensemble(lp_t, M, ps_t, test->labels, nt, K, &e[0], &e[1]);
        wg_swa_ensemble(lp_p, M, ps_p, probe->labels, np, K, &e[2], &e[3]);
        wg_swa_average(snaps, M, D, avg);
        rc = measure(net, avg, test, probe, ex + off[WG_SX_AVG]);
    }
    if (rc == 0) {
        wg_swa_geometry(snaps, M, D, NULL, ex + off[WG_SX_DIST], ex + off[WG_SX_COS]);
        wg_swa_geometry(snaps, M, D, theta0, NULL, ex + off[WG_SX_DCOS]);
    }
    free(theta), free(snaps), free(avg), free(lp_t), free(lp_p), free(ps_t), free(ps_p);
    return rc;
}
