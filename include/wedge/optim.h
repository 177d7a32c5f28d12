/* optim.h: optimizers and learning-rate schedules over flat float vectors.
 *
 * Moments live in the same layout as the parameters (one float per parameter).
 * The optimizer only updates theta from a gradient; the loss, L2 and any
 * constraint (projection onto a hyperplane) are the caller's business, which is
 * why wg_optim_delta() exists: it returns the update without applying it, so a
 * constrained caller can project the step itself. */
#ifndef WEDGE_OPTIM_H
#define WEDGE_OPTIM_H

#include <stddef.h>

typedef enum { WG_OPT_ADAM = 0, WG_OPT_SGD } wg_opt_kind;
typedef enum { WG_SCHED_CONSTANT = 0, WG_SCHED_CYCLIC } wg_sched_kind;

typedef struct wg_optim {
    wg_opt_kind kind;
    size_t n;
    double beta1, beta2, eps; /* Adam: 0.9, 0.999, 1e-8 */
    double momentum;          /* SGD: 0 = plain SGD */
    long t;                   /* steps taken */
    float *m, *v;             /* Adam moments / SGD velocity (m); owned */
} wg_optim;

int wg_opt_parse(const char *s, wg_opt_kind *out);
const char *wg_opt_name(wg_opt_kind k);

/* Allocate zeroed moments for n parameters with the default hyperparameters. */
int wg_optim_init(wg_optim *o, wg_opt_kind kind, size_t n, double momentum);
void wg_optim_free(wg_optim *o);
/* Zero the moments and the step count (a fresh start from the current theta). */
void wg_optim_reset(wg_optim *o);

/* theta -= step(grad, lr), updating the moments. */
void wg_optim_step(wg_optim *o, float *theta, const float *grad, double lr);
/* delta = the step's update (theta_new - theta), updating the moments, theta untouched. */
void wg_optim_delta(wg_optim *o, float *delta, const float *grad, double lr);

/* A learning rate as a function of the step.  Cyclic: cycles of `cycle_steps`
 * steps, the rate falling linearly from lr to lr*min_ratio inside each cycle
 * (min_ratio 0.01 by docs/METHODS.md), back to lr at the start of the next. */
typedef struct wg_schedule {
    wg_sched_kind kind;
    double lr;
    double min_ratio;
    long cycle_steps;
} wg_schedule;

int wg_sched_parse(const char *s, wg_sched_kind *out);
const char *wg_sched_name(wg_sched_kind k);
double wg_schedule_lr(const wg_schedule *s, long step);

#endif
