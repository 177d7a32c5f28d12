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

/* ---- R-operator (Pearlmutter): derivatives of the forward and backward passes
 * along G parameter directions at once, for exact Hessian-vector products.
 *
 * A "grouped" activation (B,H,W,G,C) (dense: (B,G,C)) holds the G directional
 * derivatives of a (B,H,W,C) activation, interleaved per pixel.  Direction j's
 * weights of a layer come packed twice: VN (rows, G, K) (stacked along the sgemm's
 * N) and VM (G, rows, K) (direction j's rows*K block contiguous), rows = 9C (conv)
 * or C (dense); vb (G, K) its biases.  Their parameter-gradient derivatives come
 * out in the same two layouts, dWn (rows, G, K) and dWm (G, rows, K), whose sum is
 * the derivative of dw (the caller adds them); beta as for the backward kernels.
 * A NULL grouped input (Rin) is zero: the network's input does not depend on the
 * parameters. */

/* The input gradient alone of wg_conv3_backward (col: the forward's im2col cache,
 * then scratch) and of wg_dense_backward. */
void wg_conv3_backward_input(float *din, float *col, const float *dout, const float *w,
                             int B, int H, int W, int C, int K);
void wg_dense_backward_input(float *din, const float *dout, const float *w, int B, int C,
                             int K);
/* wg_bias_grad with the caller's K doubles of accumulator (for K too wide for the
 * stack). */
void wg_bias_grad_wide(float *db, const float *dout, size_t rows, int K, float beta,
                       double *acc);

/* Rout (B,H,W,G,K) = conv(Rin, w) + conv(in, VN) + vb, with col the forward's
 * im2col cache of in.  Rcol (B*H*W*G*9C floats) receives Rin's im2col, which
 * wg_conv3_rbackward reads and then reuses as scratch. */
void wg_conv3_rforward(float *Rout, float *Rcol, const float *Rin, const float *col,
                       const float *w, const float *VN, const float *vb, int B, int H, int W,
                       int C, int K, int G);
/* dWn = beta*dWn + col^T Rdout, dWm = beta*dWm + Rcol^T dout (Rcol NULL: Rin was
 * zero; dWm untouched), and if Rdin: Rdin (B,H,W,G,C) = the input gradient of Rdout
 * through w plus that of dout through the directions VM (Rcol needed as scratch).
 * Reads col: call before wg_conv3_backward_input overwrites it. */
void wg_conv3_rbackward(float *Rdin, float *dWm, float *dWn, float *Rcol, const float *col,
                        const float *dout, const float *Rdout, const float *w, const float *VM,
                        float beta, int B, int H, int W, int C, int K, int G);
/* Rout (B,G,K) = Rin w + in VN + vb. */
void wg_dense_rforward(float *Rout, const float *Rin, const float *in, const float *w,
                       const float *VN, const float *vb, int B, int C, int K, int G);
/* dWn = beta*dWn + in^T Rdout, dWm = beta*dWm + Rin^T dout (if Rin), and if Rdin:
 * Rdin (B,G,C) = Rdout w^T + dout VM^T. */
void wg_dense_rbackward(float *Rdin, float *dWm, float *dWn, const float *Rin,
                        const float *in, const float *dout, const float *Rdout, const float *w,
                        const float *VM, float beta, int B, int C, int K, int G);

/* Elementwise layers over P pixels of C channels (y, dy: (P,C); R arrays: (P,G,C)).
 * tanh: Ry = (1 - y^2) Rx; Rdx = (1 - y^2) Rdy - 2 y dy Ry (y the forward output,
 * dy the backward's gradient at it).  relu: both multiply by the mask y > 0 (its
 * second derivative is zero almost everywhere).  Outputs may alias inputs. */
void wg_tanh_rforward(float *Ry, const float *Rx, const float *y, size_t P, int C, int G);
void wg_tanh_rbackward(float *Rdx, const float *Rdy, const float *dy, const float *y,
                       const float *Ry, size_t P, int C, int G);
void wg_relu_rforward(float *Ry, const float *Rx, const float *y, size_t P, int C, int G);
void wg_relu_rbackward(float *Rdx, const float *Rdy, const float *y, size_t P, int C, int G);

/* Max pooling routes derivatives through the forward's argmax, found as the backward
 * finds it (the first of the four inputs, in (dy,dx) order, equal to the output), so
 * that at a tie the R-forward and R-backward pick the same input: the product stays
 * symmetric, and is the Hessian of the branch the forward took. */
void wg_maxpool_rforward(float *Rout, const float *Rin, const float *out, const float *in,
                         int B, int H, int W, int C, int G);
void wg_maxpool_rbackward(float *Rdin, const float *Rdout, const float *out, const float *in,
                          int B, int H, int W, int C, int G);

/* dlogits as wg_softmax_xent (probabilities in double), and Rdlogits (B,G,K) =
 * scale (diag(p) - p p^T) Rlogits, the derivative of dlogits along the logits'
 * derivatives Rlogits (B,G,K).  p: K doubles of scratch. */
void wg_softmax_xent_r(float *dlogits, float *Rdlogits, const float *logits,
                       const float *Rlogits, const int *y, int B, int K, int G, float scale,
                       double *p);

#endif
