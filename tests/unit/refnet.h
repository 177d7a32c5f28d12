/* refnet.h: naive double-precision reference implementations of every layer and of
 * a whole wg_net, for the gradient checks and kernel comparisons.  Written for
 * obviousness, not speed: plain loops over the definitions. */
#ifndef WEDGE_TEST_REFNET_H
#define WEDGE_TEST_REFNET_H

#include <stddef.h>

#include "wedge/net.h"

void ref_conv3(double *out, const double *in, const double *w, const double *b, int B,
               int H, int W, int C, int K);
void ref_dense(double *out, const double *in, const double *w, const double *b, int B,
               int C, int K);
void ref_maxpool(double *out, const double *in, int B, int H, int W, int C);
/* mean softmax cross-entropy over B rows */
double ref_xent(const double *logits, const int *y, int B, int K);

/* Mean cross-entropy of the network on the batch x (B images, float) at theta
 * (double), following net's layer list with true tanh; dropout layers multiply by
 * `masks[i]` (the float mask the net drew, or NULL for evaluation mode). */
double ref_net_loss(const wg_net *net, const double *theta, const float *x, const int *y,
                    int B, float *const *masks);

/* ref_net_loss and its gradient with respect to theta (grad[nparams]), by plain
 * backpropagation in double (max pooling routes to the first maximum in (dy,dx)
 * order, relu's derivative at 0 is 0, as the float net does). */
double ref_net_grad(const wg_net *net, const double *theta, const float *x, const int *y,
                    int B, float *const *masks, double *grad);

/* Where the network is not smooth: a hash of every max-pooling argmax and every relu
 * input's sign at theta, and in *margin the smallest gap between a pooling window's
 * two largest inputs (windows of relu's zeros aside) or |relu input|.  Central differences are valid where the hash
 * is the same at both ends of the step. */
unsigned long ref_net_kinks(const wg_net *net, const double *theta, const float *x, int B,
                            double *margin);

/* Random floats in [lo, hi) from a fixed test stream. */
void ref_fill(float *x, size_t n, float lo, float hi, unsigned long seed);

#endif
