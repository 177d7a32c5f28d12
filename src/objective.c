/* objective.c: L(theta), its gradient, Hessian-vector products, initialisation and
 * minibatch steps for a network on a dataset and for the toy wedge model, behind one
 * interface.  The network objective is the mean
 * cross-entropy over the whole probe set with dropout off and no L2 (docs/METHODS.md);
 * its gradient is the exact gradient of that mean, accumulated batch by batch. */
#include "wedge/objective.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "wedge/error.h"
#include "wedge/rng.h"
#include "wedge/toy.h"

int wg_objective_loss(const wg_objective *f, const float *theta, double *loss)
{
    return wg_objective_grad(f, theta, loss, NULL);
}

int wg_objective_grad(const wg_objective *f, const float *theta, double *loss, float *grad)
{
    int rc = f->eval(f->ctx, theta, loss, grad);
    if (rc == 0 && !isfinite(*loss))
        return WG_FAIL(WG_EDIVERGED, "loss is %g", *loss);
    return rc;
}

void wg_objective_free(wg_objective *f)
{
    if (!f)
        return;
    if (f->free && f->ctx)
        f->free(f->ctx);
    memset(f, 0, sizeof *f);
}

/* ---- network on a probe set ---------------------------------------------------------- */

typedef struct net_ctx {
    wg_net net;
    const wg_dataset *probe;
    int *labels;
    float *gbuf;  /* one batch's gradient */
    double l2;    /* minibatch steps: lambda of lambda * |weights|^2 */
    int l2_probe; /* the loss, gradient and HVPs include the L2 term too */
} net_ctx;

static int net_eval(void *ctx, const float *theta, double *loss, float *grad)
{
    net_ctx *c = ctx;
    wg_net *net = &c->net;
    const wg_dataset *ds = c->probe;
    double total = 0.0;
    if (grad)
        memset(grad, 0, net->nparams * sizeof *grad);
    for (size_t first = 0; first < ds->n; first += net->cap) {
        size_t B = ds->n - first < net->cap ? ds->n - first : net->cap;
        wg_data_batch(ds, NULL, first, B, net->input, c->labels);
        wg_net_forward(net, theta, B, 0, 0, 0);
        total += wg_net_loss(net, c->labels, B, grad != NULL, NULL);
        if (grad) {
            /* dlogits are d(batch mean)/dz; weight the batch by B/n */
            wg_net_backward(net, theta, c->gbuf);
            const float w = (float)((double)B / (double)ds->n);
            for (size_t j = 0; j < net->nparams; j++)
                grad[j] += w * c->gbuf[j];
        }
    }
    *loss = total / (double)ds->n;
    if (c->l2_probe && c->l2 > 0.0)
        *loss += wg_net_l2(net, theta, grad, c->l2);
    return 0;
}

static int net_accuracy(void *ctx, const float *theta, double *acc)
{
    net_ctx *c = ctx;
    wg_net *net = &c->net;
    const wg_dataset *ds = c->probe;
    size_t right = 0;
    for (size_t first = 0; first < ds->n; first += net->cap) {
        size_t B = ds->n - first < net->cap ? ds->n - first : net->cap, ok;
        wg_data_batch(ds, NULL, first, B, net->input, c->labels);
        wg_net_forward(net, theta, B, 0, 0, 0);
        wg_net_loss(net, c->labels, B, 0, &ok);
        right += ok;
    }
    *acc = (double)right / (double)ds->n;
    return 0;
}

static int net_predict(void *ctx, const float *theta, int *labels)
{
    net_ctx *c = ctx;
    wg_net *net = &c->net;
    const wg_dataset *ds = c->probe;
    const int K = net->opts.classes;
    for (size_t first = 0; first < ds->n; first += net->cap) {
        size_t B = ds->n - first < net->cap ? ds->n - first : net->cap;
        wg_data_batch(ds, NULL, first, B, net->input, c->labels);
        const float *z = wg_net_forward(net, theta, B, 0, 0, 0);
        for (size_t b = 0; b < B; b++) {
            int best = 0;
            for (int k = 1; k < K; k++)
                if (z[b * (size_t)K + k] > z[b * (size_t)K + best])
                    best = k;
            labels[first + b] = best;
        }
    }
    return 0;
}

static int net_evaluate(void *ctx, const float *theta, double *loss, double *acc)
{
    net_ctx *c = ctx;
    wg_net *net = &c->net;
    const wg_dataset *ds = c->probe;
    double total = 0.0;
    size_t right = 0;
    for (size_t first = 0; first < ds->n; first += net->cap) {
        size_t B = ds->n - first < net->cap ? ds->n - first : net->cap, ok;
        wg_data_batch(ds, NULL, first, B, net->input, c->labels);
        wg_net_forward(net, theta, B, 0, 0, 0);
        total += wg_net_loss(net, c->labels, B, 0, &ok);
        right += ok;
    }
    *loss = total / (double)ds->n;
    *acc = (double)right / (double)ds->n;
    return 0;
}

static int net_probs(void *ctx, const float *theta, double *loss, double *acc, double *logp,
                     double *probsum)
{
    net_ctx *c = ctx;
    wg_net *net = &c->net;
    const wg_dataset *ds = c->probe;
    const int K = net->opts.classes;
    double total = 0.0;
    size_t right = 0;
    for (size_t first = 0; first < ds->n; first += net->cap) {
        size_t B = ds->n - first < net->cap ? ds->n - first : net->cap;
        wg_data_batch(ds, NULL, first, B, net->input, c->labels);
        const float *logits = wg_net_forward(net, theta, B, 0, 0, 0);
        for (size_t b = 0; b < B; b++) {
            /* wg_softmax_xent's arithmetic, so one network's loss is the usual one */
            const float *z = logits + b * (size_t)K;
            int best = 0;
            for (int k = 1; k < K; k++)
                if (z[k] > z[best])
                    best = k;
            right += best == c->labels[b];
            double zmax = z[best], sum = 0.0;
            for (int k = 0; k < K; k++)
                sum += exp((double)z[k] - zmax);
            double lse = zmax + log(sum);
            double lp = (double)z[c->labels[b]] - lse;
            total += -lp;
            if (logp)
                logp[first + b] = lp;
            if (probsum)
                for (int k = 0; k < K; k++)
                    probsum[(first + b) * (size_t)K + (size_t)k] += exp((double)z[k] - lse);
        }
    }
    *loss = ds->n ? total / (double)ds->n : NAN;
    *acc = ds->n ? (double)right / (double)ds->n : NAN;
    return 0;
}

static void net_init_point(void *ctx, float *theta, uint64_t seed)
{
    net_ctx *c = ctx;
    wg_net_init_params(&c->net, theta, seed, 0);
}

static int net_batch(void *ctx, const float *theta, const uint32_t *idx, size_t B, uint64_t seed,
                     uint64_t stream, double *loss_sum, size_t *correct, float *grad)
{
    net_ctx *c = ctx;
    wg_net *net = &c->net;
    if (B < 1 || B > net->cap)
        return WG_FAIL(WG_EARG, "batch of %zu images for a network of capacity %zu", B,
                       net->cap);
    wg_data_batch(c->probe, idx, 0, B, net->input, c->labels);
    wg_net_forward(net, theta, B, 1, seed, stream);
    *loss_sum = wg_net_loss(net, c->labels, B, 1, correct);
    if (!isfinite(*loss_sum))
        return 0;
    wg_net_backward(net, theta, grad);
    if (c->l2 > 0.0)
        wg_net_l2(net, theta, grad, c->l2);
    return 0;
}

/* H V over the whole probe set: sum over batches of (B/n) * the batch mean's H V, in
 * double.  The product's buffers are reserved by the first call that needs them
 * (then kept), so a lack of memory shows on the first product, before a Lanczos run
 * has spent anything. */
static int net_hvp(void *ctx, const float *theta, const float *V, size_t nv, double *HV)
{
    net_ctx *c = ctx;
    wg_net *net = &c->net;
    const wg_dataset *ds = c->probe;
    if (nv == 0)
        return 0;
    int rc = wg_net_hvp_reserve(net, nv);
    if (rc)
        return rc;
    memset(HV, 0, nv * net->nparams * sizeof *HV);
    for (size_t first = 0; rc == 0 && first < ds->n; first += net->cap) {
        size_t B = ds->n - first < net->cap ? ds->n - first : net->cap;
        wg_data_batch(ds, NULL, first, B, net->input, c->labels);
        /* the L2 term's 2 lambda v is added once, with the first batch's weight 1 */
        double l2 = c->l2_probe && first == 0 ? c->l2 * (double)ds->n / (double)B : 0.0;
        rc = wg_net_hvp(net, theta, c->labels, B, V, nv, l2, (double)B / (double)ds->n, HV);
    }
    for (size_t i = 0; rc == 0 && i < nv * net->nparams; i++)
        if (!isfinite(HV[i]))
            rc = WG_FAIL(WG_EDIVERGED, "Hessian-vector product is not finite");
    return rc;
}

static void net_free(void *ctx)
{
    net_ctx *c = ctx;
    wg_net_free(&c->net);
    free(c->labels);
    free(c->gbuf);
    free(c);
}

int wg_objective_net(wg_objective *f, const wg_net_opts *opts, const wg_dataset *probe,
                     size_t batch)
{
    return wg_objective_net_train(f, opts, probe, batch, 0.0);
}

int wg_objective_net_train(wg_objective *f, const wg_net_opts *opts, const wg_dataset *probe,
                           size_t batch, double l2)
{
    memset(f, 0, sizeof *f);
    if (probe->n == 0)
        return WG_FAIL(WG_EARG, "empty data set");
    if (!(l2 >= 0.0) || !isfinite(l2))
        return WG_FAIL(WG_EARG, "l2 = %g must be >= 0", l2);
    if ((size_t)probe->h * probe->w * probe->c != (size_t)opts->in_h * opts->in_w * opts->in_c ||
        probe->h != opts->in_h || probe->c != opts->in_c)
        return WG_FAIL(WG_EARG, "data are %dx%dx%d images but the network expects %dx%dx%d",
                       probe->h, probe->w, probe->c, opts->in_h, opts->in_w, opts->in_c);
    if (probe->classes > opts->classes)
        return WG_FAIL(WG_EARG, "data have %d classes but the network outputs %d",
                       probe->classes, opts->classes);
    if (batch > probe->n)
        batch = probe->n;
    net_ctx *c = wg_calloc(1, sizeof *c, "objective");
    if (!c)
        return WG_ENOMEM;
    int rc = wg_net_init(&c->net, opts, batch);
    if (rc == 0) {
        c->probe = probe;
        c->labels = wg_alloc(batch, sizeof *c->labels, "labels");
        c->gbuf = wg_alloc(c->net.nparams, sizeof *c->gbuf, "gradient");
        if (!c->labels || !c->gbuf)
            rc = WG_ENOMEM;
    }
    if (rc) {
        net_free(c);
        return rc;
    }
    c->l2 = l2;
    f->dim = c->net.nparams;
    f->ctx = c;
    f->eval = net_eval;
    f->accuracy = net_accuracy;
    f->evaluate = net_evaluate;
    f->predict = net_predict;
    f->probs = net_probs;
    f->hvp = net_hvp;
    f->init = net_init_point;
    f->batch = net_batch;
    f->nexamples = f->ntrain = probe->n;
    f->batch_cap = c->net.cap;
    f->classes = opts->classes;
    f->labels = probe->labels;
    f->free = net_free;
    return 0;
}

int wg_objective_include_l2(wg_objective *f)
{
    if (f->eval != net_eval)
        return WG_FAIL(WG_EARG, "only a network's objective has an L2 term");
    ((net_ctx *)f->ctx)->l2_probe = 1;
    return 0;
}

/* ---- toy wedge model ------------------------------------------------------------------ */

typedef struct toy_ctx {
    size_t D, n;
    float *work;
} toy_ctx;

static int toy_eval(void *ctx, const float *theta, double *loss, float *grad)
{
    toy_ctx *c = ctx;
    *loss = wg_toy_loss(theta, c->D, c->n, grad, c->work);
    return 0;
}

/* The toy loss is L = |P_S| with S the D-n smallest |P_j| (ties at the threshold in
 * index order, as its gradient takes them): on S its Hessian is (I - u u^T) / L with
 * u = P_S / L, and zero on the other coordinates.  This is the Hessian of the branch
 * the selection is on; where |P_j| of S and of the rest tie the loss is not twice
 * differentiable and the index order decides.  At L = 0 (a point on a wedge) the
 * loss is a cone with no Hessian: WG_EDIVERGED rather than a number. */
static int toy_hvp(void *ctx, const float *theta, const float *V, size_t nv, double *HV)
{
    toy_ctx *c = ctx;
    const size_t D = c->D;
    double *P = wg_alloc(D, sizeof *P, "toy point"), *work = wg_alloc(D, sizeof *work, "toy scratch");
    unsigned char *sel = wg_alloc(D, 1, "toy selection");
    int rc = (!P || !work || !sel) ? WG_ENOMEM : 0;
    double L = 0.0;
    if (rc == 0) {
        for (size_t i = 0; i < D; i++)
            P[i] = theta[i];
        L = wg_toy_loss_double(P, D, c->n, sel, work);
        if (!isfinite(L))
            rc = WG_FAIL(WG_EDIVERGED, "toy loss is %g", L);
        else if (!(L > 0.0))
            rc = WG_FAIL(WG_EDIVERGED, "toy Hessian at L = 0: the loss is a cone there "
                                       "(no second derivative)");
    }
    for (size_t j = 0; rc == 0 && j < nv; j++) {
        const float *v = V + j * D;
        double *hv = HV + j * D, uv = 0.0;
        for (size_t i = 0; i < D; i++)
            if (sel[i])
                uv += P[i] * (double)v[i];
        uv /= L; /* u . v_S */
        for (size_t i = 0; i < D; i++)
            hv[i] = sel[i] ? ((double)v[i] - uv * P[i] / L) / L : 0.0;
    }
    free(P), free(work), free(sel);
    return rc;
}

static void toy_init_point(void *ctx, float *theta, uint64_t seed)
{
    toy_ctx *c = ctx;
    wg_rng g;
    wg_rng_init(&g, seed, wg_rng_stream(WG_RNG_TOY, 0, 0, 0));
    wg_rng_fill_normal(&g, theta, c->D);
}

/* A training step of the toy model: the full loss and gradient. */
static int toy_batch(void *ctx, const float *theta, const uint32_t *idx, size_t B, uint64_t seed,
                     uint64_t stream, double *loss_sum, size_t *correct, float *grad)
{
    (void)idx, (void)B, (void)seed, (void)stream;
    toy_ctx *c = ctx;
    *loss_sum = wg_toy_loss(theta, c->D, c->n, grad, c->work);
    *correct = 0;
    return 0;
}

static void toy_free(void *ctx)
{
    toy_ctx *c = ctx;
    free(c->work);
    free(c);
}

int wg_objective_toy(wg_objective *f, size_t D, size_t n)
{
    memset(f, 0, sizeof *f);
    if (D < 1 || n >= D)
        return WG_FAIL(WG_EARG, "toy model needs 0 <= long < dim (got dim %zu, long %zu)", D,
                       n);
    toy_ctx *c = wg_calloc(1, sizeof *c, "toy objective");
    if (!c)
        return WG_ENOMEM;
    c->D = D;
    c->n = n;
    c->work = wg_alloc(D, sizeof *c->work, "toy scratch");
    if (!c->work) {
        toy_free(c);
        return WG_ENOMEM;
    }
    f->dim = D;
    f->ctx = c;
    f->eval = toy_eval;
    f->hvp = toy_hvp;
    f->init = toy_init_point;
    f->batch = toy_batch;
    f->epoch_steps = WG_TOY_EPOCH_STEPS;
    f->free = toy_free;
    return 0;
}
