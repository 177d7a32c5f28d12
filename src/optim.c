/* optim.c: Adam and SGD with momentum on flat vectors, and LR schedules.
 * The update arithmetic is float with the bias corrections in double, as the
 * reference implementations (Kingma & Ba; PyTorch) do. */
#include "wedge/optim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "wedge/error.h"

int wg_opt_parse(const char *s, wg_opt_kind *out)
{
    if (strcmp(s, "adam") == 0)
        *out = WG_OPT_ADAM;
    else if (strcmp(s, "sgd") == 0)
        *out = WG_OPT_SGD;
    else
        return WG_FAIL(WG_EARG, "unknown optimizer '%s' (expected adam or sgd)", s);
    return 0;
}

const char *wg_opt_name(wg_opt_kind k) { return k == WG_OPT_ADAM ? "adam" : "sgd"; }

int wg_optim_init(wg_optim *o, wg_opt_kind kind, size_t n, double momentum)
{
    memset(o, 0, sizeof *o);
    if (!(momentum >= 0.0 && momentum < 1.0))
        return WG_FAIL(WG_EARG, "momentum = %g: must be in [0, 1)", momentum);
    o->kind = kind;
    o->n = n;
    o->beta1 = 0.9;
    o->beta2 = 0.999;
    o->eps = 1e-8;
    o->momentum = momentum;
    o->m = wg_calloc(n, sizeof(float), "optimizer moments");
    if (kind == WG_OPT_ADAM)
        o->v = wg_calloc(n, sizeof(float), "optimizer moments");
    if (!o->m || (kind == WG_OPT_ADAM && !o->v)) {
        wg_optim_free(o);
        return WG_ENOMEM;
    }
    return 0;
}

void wg_optim_free(wg_optim *o)
{
    if (!o)
        return;
    free(o->m);
    free(o->v);
    o->m = o->v = NULL;
    o->n = 0;
}

void wg_optim_reset(wg_optim *o)
{
    if (o->m)
        memset(o->m, 0, o->n * sizeof *o->m);
    if (o->v)
        memset(o->v, 0, o->n * sizeof *o->v);
    o->t = 0;
}

/* One update; delta receives the step (theta_new - theta).  delta may be theta's
 * own storage only through wg_optim_step's add. */
static void update(wg_optim *o, float *delta, float *theta, const float *grad, double lr)
{
    o->t++;
    const size_t n = o->n;
    float *restrict m = o->m;
    if (o->kind == WG_OPT_ADAM) {
        float *restrict v = o->v;
        /* 1 - beta from the double betas: 1 - (float)0.999 is 1.3e-5 off */
        const float b1 = (float)o->beta1, b2 = (float)o->beta2;
        const float a1 = (float)(1.0 - o->beta1), a2 = (float)(1.0 - o->beta2);
        const double c1 = 1.0 - pow(o->beta1, (double)o->t);
        const double c2 = 1.0 - pow(o->beta2, (double)o->t);
        /* lr_t = lr * sqrt(c2)/c1 with eps scaled to match PyTorch's
         * m_hat / (sqrt(v_hat) + eps) exactly in exact arithmetic */
        const float step = (float)(lr / c1);
        const float rc2 = (float)(1.0 / sqrt(c2));
        const float eps = (float)o->eps;
        for (size_t i = 0; i < n; i++) {
            m[i] = b1 * m[i] + a1 * grad[i];
            v[i] = b2 * v[i] + a2 * grad[i] * grad[i];
            float d = -step * m[i] / (sqrtf(v[i]) * rc2 + eps);
            if (theta)
                theta[i] += d;
            else
                delta[i] = d;
        }
        return;
    }
    const float mu = (float)o->momentum, a = (float)lr;
    for (size_t i = 0; i < n; i++) {
        m[i] = mu * m[i] + grad[i];
        float d = -a * m[i];
        if (theta)
            theta[i] += d;
        else
            delta[i] = d;
    }
}

void wg_optim_step(wg_optim *o, float *theta, const float *grad, double lr)
{
    update(o, NULL, theta, grad, lr);
}

void wg_optim_delta(wg_optim *o, float *delta, const float *grad, double lr)
{
    update(o, delta, NULL, grad, lr);
}

int wg_sched_parse(const char *s, wg_sched_kind *out)
{
    if (strcmp(s, "constant") == 0)
        *out = WG_SCHED_CONSTANT;
    else if (strcmp(s, "cyclic") == 0)
        *out = WG_SCHED_CYCLIC;
    else
        return WG_FAIL(WG_EARG, "unknown schedule '%s' (expected constant or cyclic)", s);
    return 0;
}

const char *wg_sched_name(wg_sched_kind k)
{
    return k == WG_SCHED_CYCLIC ? "cyclic" : "constant";
}

double wg_schedule_lr(const wg_schedule *s, long step)
{
    if (s->kind != WG_SCHED_CYCLIC || s->cycle_steps <= 1)
        return s->lr;
    long pos = step % s->cycle_steps;
    double frac = (double)pos / (double)(s->cycle_steps - 1);
    return s->lr * (1.0 - frac * (1.0 - s->min_ratio));
}
