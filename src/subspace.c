/* subspace.c: sparse random projections, a random affine subspace of an objective as
 * an objective of its own, and training inside it (wedge's training loop on z).
 * Duplicate rows inside one column are allowed to collide (their values add); with
 * nnz << D this is rare and the column's norm is then recomputed, so every column
 * has unit norm exactly as METHODS.md asks. */
#include "wedge/subspace.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wedge/error.h"
#include "wedge/optim.h"
#include "wedge/rng.h"
#include "wedge/train.h"

int wg_subspace_init(wg_subspace *m, size_t D, size_t d, int nnz, uint64_t seed,
                     uint64_t stream)
{
    memset(m, 0, sizeof *m);
    if (D == 0 || d == 0 || nnz < 1 || (size_t)nnz > D || D > UINT32_MAX)
        return WG_FAIL(WG_EARG, "subspace: d = %zu, nnz = %d in dimension %zu", d, nnz, D);
    m->D = D;
    m->d = d;
    m->nnz = nnz;
    m->row = wg_alloc(d, (size_t)nnz * sizeof *m->row, "subspace projection");
    m->val = wg_alloc(d, (size_t)nnz * sizeof *m->val, "subspace projection");
    if (!m->row || !m->val) {
        wg_subspace_free(m);
        return WG_ENOMEM;
    }
    for (size_t j = 0; j < d; j++) {
        wg_rng r;
        wg_rng_init(&r, seed, wg_rng_stream(WG_RNG_SUBSPACE, stream, j, 0));
        uint32_t *row = m->row + j * (size_t)nnz;
        float *val = m->val + j * (size_t)nnz;
        for (int k = 0; k < nnz; k++) {
            row[k] = (uint32_t)wg_rng_below(&r, D);
            val[k] = (wg_rng_u32(&r) & 1) ? 1.0f : -1.0f;
        }
        /* unit norm, counting collisions (rows that repeat add up) */
        double n2 = 0.0;
        for (int k = 0; k < nnz; k++) {
            double s = 0.0;
            int first = 1;
            for (int q = 0; q < nnz; q++)
                if (row[q] == row[k]) {
                    s += val[q];
                    if (q < k)
                        first = 0;
                }
            if (first)
                n2 += s * s;
        }
        float inv = (float)(1.0 / sqrt(n2 > 0 ? n2 : 1.0));
        for (int k = 0; k < nnz; k++)
            val[k] *= inv;
    }
    return 0;
}

void wg_subspace_free(wg_subspace *m)
{
    if (!m)
        return;
    free(m->row);
    free(m->val);
    memset(m, 0, sizeof *m);
}

void wg_subspace_point(const wg_subspace *m, const float *X0, const float *z, float *theta)
{
    memcpy(theta, X0, m->D * sizeof *theta);
    for (size_t j = 0; j < m->d; j++) {
        const uint32_t *row = m->row + j * (size_t)m->nnz;
        const float *val = m->val + j * (size_t)m->nnz;
        for (int k = 0; k < m->nnz; k++)
            theta[row[k]] += val[k] * z[j];
    }
}

void wg_subspace_grad(const wg_subspace *m, const float *g, float *gz)
{
    for (size_t j = 0; j < m->d; j++) {
        const uint32_t *row = m->row + j * (size_t)m->nnz;
        const float *val = m->val + j * (size_t)m->nnz;
        double s = 0.0;
        for (int k = 0; k < m->nnz; k++)
            s += (double)val[k] * g[row[k]];
        gz[j] = (float)s;
    }
}

/* ---- the subspace as an objective ------------------------------------------------------ */

typedef struct sub_ctx {
    const wg_objective *inner;
    const float *X0;
    const wg_subspace *m;
    float *theta, *g;   /* D: the point X0 + M z and the inner gradient there */
} sub_ctx;

static int sub_eval(void *ctx, const float *z, double *loss, float *gz)
{
    sub_ctx *c = ctx;
    wg_subspace_point(c->m, c->X0, z, c->theta);
    int rc = c->inner->eval(c->inner->ctx, c->theta, loss, gz ? c->g : NULL);
    if (rc == 0 && gz)
        wg_subspace_grad(c->m, c->g, gz);
    return rc;
}

static int sub_evaluate(void *ctx, const float *z, double *loss, double *acc)
{
    sub_ctx *c = ctx;
    wg_subspace_point(c->m, c->X0, z, c->theta);
    return c->inner->evaluate(c->inner->ctx, c->theta, loss, acc);
}

static int sub_batch(void *ctx, const float *z, const uint32_t *idx, size_t B, uint64_t seed,
                     uint64_t stream, double *loss_sum, size_t *correct, float *gz)
{
    sub_ctx *c = ctx;
    wg_subspace_point(c->m, c->X0, z, c->theta);
    int rc = c->inner->batch(c->inner->ctx, c->theta, idx, B, seed, stream, loss_sum, correct,
                             c->g);
    if (rc == 0 && isfinite(*loss_sum))
        wg_subspace_grad(c->m, c->g, gz);
    return rc;
}

static void sub_free(void *ctx)
{
    sub_ctx *c = ctx;
    free(c->theta);
    free(c->g);
    free(c);
}

int wg_objective_subspace(wg_objective *f, const wg_objective *inner, const float *X0,
                          const wg_subspace *m)
{
    memset(f, 0, sizeof *f);
    if (m->D != inner->dim)
        return WG_FAIL(WG_EARG, "subspace of dimension %zu for an objective of %zu", m->D,
                       inner->dim);
    sub_ctx *c = wg_calloc(1, sizeof *c, "subspace objective");
    if (!c)
        return WG_ENOMEM;
    c->inner = inner;
    c->X0 = X0;
    c->m = m;
    c->theta = wg_alloc(m->D, sizeof *c->theta, "subspace point");
    c->g = wg_alloc(m->D, sizeof *c->g, "subspace gradient");
    if (!c->theta || !c->g) {
        sub_free(c);
        return WG_ENOMEM;
    }
    f->dim = m->d;
    f->ctx = c;
    f->eval = sub_eval;
    f->evaluate = inner->evaluate ? sub_evaluate : NULL;
    f->batch = inner->batch ? sub_batch : NULL;
    f->nexamples = inner->nexamples;
    f->ntrain = inner->ntrain;
    f->batch_cap = inner->batch_cap;
    f->epoch_steps = inner->epoch_steps;
    f->classes = inner->classes;
    f->labels = inner->labels;
    f->free = sub_free;
    return 0;
}

typedef struct sub_train {
    const wg_objective *inner, *test;
    const float *X0;
    const wg_subspace *m;
    float *theta;
    wg_epoch_stats *last;
    int (*stop)(void *);
    void *stop_user;
} sub_train;

static int sub_epoch(void *user, const wg_loop_epoch *e, const float *z, size_t d)
{
    (void)d;
    sub_train *c = user;
    wg_epoch_stats *last = c->last;
    wg_subspace_point(c->m, c->X0, z, c->theta);
    last->epoch = e->epoch;
    last->train_loss = e->loss_sum / (double)e->seen;
    last->train_acc = (double)e->correct / (double)e->seen;
    last->param_norm = wg_norm(c->theta, c->m->D);
    last->test_loss = last->test_acc = NAN;
    int rc = 0;
    if (c->test && c->test->dim > 0 && c->test->nexamples > 0)
        rc = c->test->evaluate(c->test->ctx, c->theta, &last->test_loss, &last->test_acc);
    if (rc == 0 && c->stop && c->stop(c->stop_user))
        rc = WG_EINTR;
    return rc;
}

int wg_subspace_train(const wg_objective *f, const wg_objective *test, const float *X0,
                      const wg_subspace *m, const wg_train_opts *o, int (*stop)(void *),
                      void *stop_user, wg_epoch_stats *last)
{
    memset(last, 0, sizeof *last);
    wg_objective fz;
    int rc = wg_objective_subspace(&fz, f, X0, m);
    if (rc)
        return rc;
    float *z = wg_calloc(m->d, sizeof *z, "subspace coordinates");
    float *theta = wg_alloc(m->D, sizeof *theta, "parameters");
    if (!z || !theta)
        rc = WG_ENOMEM;
    wg_loop_opts lo = {.optimizer = WG_OPT_ADAM,
                       .schedule = WG_SCHED_CONSTANT,
                       .lr = o->lr,
                       .batch_size = o->batch_size,
                       .epochs = o->epochs,
                       .window = 1,
                       .seed = o->seed,
                       .shuffle = 1};
    sub_train c = {f, test, X0, m, theta, last, stop, stop_user};
    wg_loop_epoch bad;
    if (rc == 0)
        rc = wg_loop(&fz, z, &lo, sub_epoch, &c, &bad);
    if (rc == WG_EDIVERGED && !wg_err_code())
        rc = WG_FAIL(WG_EDIVERGED, "subspace training diverged at epoch %d", bad.epoch);
    wg_objective_free(&fz);
    free(z);
    free(theta);
    return rc;
}
