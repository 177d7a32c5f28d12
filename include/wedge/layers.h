/* layers.h: forward/backward kernels of the network layers.
 *
 * Activations are batch-major NHWC float arrays (B, H, W, C); a dense layer sees a
 * (B, K) matrix.  Argument order: outputs, caches, inputs, parameters, sizes last.
 * Gradients are named d<name>.  Backward kernels compute parameter gradients as
 * d = beta*d + new (beta 0 overwrites, 1 accumulates over chunks of a batch) and
 * overwrite input gradients (din); a NULL din skips the input gradient (first
 * layer).  These are the building blocks of net.c, exposed so that tests can check
 * each against naive loops and central differences. */
#ifndef WEDGE_LAYERS_H
#define WEDGE_LAYERS_H

#include <stddef.h>
#include <stdint.h>

/* 3x3 convolution, stride 1, 'same' zero padding, via im2col + sgemm.
 * in (B,H,W,C) -> out (B,H,W,K).  w is (9*C, K) row-major, its row index
 * (ky*3+kx)*C + c; b is (K).  col is a cache of B*H*W*9*C floats that the forward
 * fills and the backward reads (and then reuses as scratch). */
void wg_conv3_forward(float *out, float *col, const float *in, const float *w,
                      const float *b, int B, int H, int W, int C, int K);
void wg_conv3_backward(float *din, float *dw, float *db, float *col, const float *dout,
                       const float *w, float beta, int B, int H, int W, int C, int K);
/* db = beta*db + the column sums of dout (rows, K), summed in double (every
 * layer's bias gradient, winograd.c's included). */
void wg_bias_grad(float *db, const float *dout, size_t rows, int K, float beta);

/* Dense: in (B,C) -> out (B,K) = in * w + b, w (C,K) row-major. */
void wg_dense_forward(float *out, const float *in, const float *w, const float *b,
                      int B, int C, int K);
void wg_dense_backward(float *din, float *dw, float *db, const float *dout,
                       const float *in, const float *w, float beta, int B, int C, int K);

/* 2x2 max pooling, stride 2, floor: (B,H,W,C) -> (B,H/2,W/2,C).  The backward
 * needs the forward's input and output (no argmax cache); on ties the gradient goes
 * to the first of the four inputs in (dy,dx) order. */
void wg_maxpool_forward(float *out, const float *in, int B, int H, int W, int C);
void wg_maxpool_backward(float *din, const float *dout, const float *out, const float *in,
                         int B, int H, int W, int C);

/* Elementwise activations; out may alias in, din may alias dout. The backward
 * kernels use the forward OUTPUT y. */
void wg_tanh_forward(float *y, const float *x, size_t n);
void wg_tanh_backward(float *dx, const float *dy, const float *y, size_t n);
void wg_relu_forward(float *y, const float *x, size_t n);
void wg_relu_backward(float *dx, const float *dy, const float *y, size_t n);

/* Inverted dropout with drop probability p on elements first..first+n of a mask:
 * element e is 0 or 1/(1-p), drawn from word e%4 of counter block e/4 of
 * (seed, stream), so a mask depends only on its key, whatever the chunking. */
void wg_dropout_forward(float *y, float *mask, const float *x, size_t n, float p,
                        uint64_t seed, uint64_t stream, size_t first);
void wg_dropout_backward(float *dx, const float *dy, const float *mask, size_t n);

/* Softmax cross-entropy over logits (B,K) with integer labels y.  Writes
 * dlogits = (softmax - onehot) * scale (dlogits may be NULL), returns the SUM of
 * per-example losses (double accumulation) and the number of correct argmax
 * predictions in *correct (may be NULL).  probs (B,K) may be NULL. */
double wg_softmax_xent(float *dlogits, float *probs, const float *logits, const int *y,
                       int B, int K, float scale, size_t *correct);

#endif
