/* subspace.c: sparse random projections and training inside their span.
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

int wg_subspace_train(wg_net *net, const float *X0, const wg_subspace *m, const wg_data *data,
                      const wg_train_opts *o, wg_epoch_stats *last)
{
    const wg_dataset *tr = &data->train;
    const size_t D = m->D, n = tr->n, bs = o->batch_size;
    if (D != net->nparams)
        return WG_FAIL(WG_EARG, "subspace of dimension %zu for a net of %zu", D, net->nparams);
    if (bs < 1 || bs > n || bs > net->cap)
        return WG_FAIL(WG_EARG, "subspace training: batch size %zu for %zu images", bs, n);
    float *z = wg_calloc(m->d, sizeof *z, "subspace coordinates");
    float *gz = wg_alloc(m->d, sizeof *gz, "subspace gradient");
    float *theta = wg_alloc(D, sizeof *theta, "parameters");
    float *g = wg_alloc(D, sizeof *g, "gradient");
    uint32_t *idx = wg_alloc(n, sizeof *idx, "batch order");
    int *labels = wg_alloc(net->cap, sizeof *labels, "labels");
    wg_optim opt = {0};
    int rc = (!z || !gz || !theta || !g || !idx || !labels) ? WG_ENOMEM : 0;
    if (rc == 0)
        rc = wg_optim_init(&opt, WG_OPT_ADAM, m->d, 0.0);
    long step = 0;
    memset(last, 0, sizeof *last);
    for (int epoch = 1; rc == 0 && epoch <= o->epochs; epoch++) {
        wg_rng r;
        wg_rng_init(&r, o->seed, wg_rng_stream(WG_RNG_SHUFFLE, (uint64_t)epoch, 1, 0));
        wg_rng_permute(&r, idx, n);
        double loss_sum = 0.0;
        size_t right = 0;
        wg_subspace_point(m, X0, z, theta);
        for (size_t first = 0; first < n; first += bs, step++) {
            size_t B = n - first < bs ? n - first : bs, ok;
            wg_data_batch(tr, idx + first, 0, B, net->input, labels);
            wg_net_forward(net, theta, B, 1, o->seed, (uint64_t)step);
            double l = wg_net_loss(net, labels, B, 1, &ok);
            if (!isfinite(l)) {
                rc = WG_FAIL(WG_EDIVERGED, "subspace training diverged at epoch %d", epoch);
                break;
            }
            loss_sum += l;
            right += ok;
            wg_net_backward(net, theta, g);
            if (o->l2 > 0.0)
                wg_net_l2(net, theta, g, o->l2);
            wg_subspace_grad(m, g, gz);
            wg_optim_step(&opt, z, gz, o->lr);
            wg_subspace_point(m, X0, z, theta);
        }
        if (rc)
            break;
        last->epoch = epoch;
        last->train_loss = loss_sum / (double)n;
        last->train_acc = (double)right / (double)n;
        last->param_norm = wg_norm(theta, D);
        if (data->test.n > 0)
            rc = wg_evaluate(net, theta, &data->test, &last->test_loss, &last->test_acc);
    }
    wg_optim_free(&opt);
    free(z), free(gz), free(theta), free(g), free(idx), free(labels);
    return rc;
}
