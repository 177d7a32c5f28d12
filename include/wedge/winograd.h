/* winograd.h: 3x3 'same' convolution by Winograd's minimal filtering F(2x2, 3x3).
 *
 * Each 2x2 block of outputs ("tile") is computed from its 4x4 input window with 16
 * multiplications per (input, output) channel pair instead of 36: the input
 * windows and the filters are transformed (V = B^T d B, U = G g G^T), the 16
 * transformed positions become 16 independent sgemms (tiles x C) (C x K), and
 * the products are transformed back (Y = A^T M A).  For the channel counts of
 * SimpleCNN's second and third layers this needs 2.25x fewer floating-point
 * operations than im2col + sgemm, at the price of rounding differences of a few
 * float ulps (the transforms' coefficients are 0, +-1 and +-1/2).
 *
 * The same routine computes a convolution's input gradient: din is the 'same'
 * convolution of dout with the filter rotated by 180 degrees and its channel
 * roles swapped, which wg_wino_weights builds when asked for the transpose.
 * Layouts are those of layers.h: NHWC activations, w (9*C, K) with row index
 * (ky*3+kx)*C + c.  Nothing here allocates. */
#ifndef WEDGE_WINOGRAD_H
#define WEDGE_WINOGRAD_H

#include <stddef.h>

/* Floats of scratch that wg_wino_conv needs to process nb images of HxW with C
 * input and K output channels at a time. */
size_t wg_wino_scratch(int nb, int H, int W, int C, int K);

/* Transformed filters, 16 matrices of C x K (transpose = 0: the forward
 * convolution) or K x C (transpose = 1: the input gradient's convolution, whose
 * input has K channels and whose output has C).  U holds 16*C*K floats. */
void wg_wino_weights(float *U, const float *w, int C, int K, int transpose);

/* The same for block j of G filters stacked along the output channels: U holds 16
 * matrices of C x G*K (transpose 0; filter j in columns [j*K, (j+1)*K)) or K x G*C
 * (transpose 1).  wg_wino_weights is the case G = 1, j = 0. */
void wg_wino_weights_group(float *U, const float *w, int C, int K, int transpose, int G,
                           int j);

/* out (B,H,W,K) = conv3x3_same(in (B,H,W,C), filters U of wg_wino_weights) + b (b
 * may be NULL: no bias), nb images at a time in `scratch` of
 * wg_wino_scratch(nb, H, W, C, K) floats.  Any H, W >= 1. */
void wg_wino_conv(float *out, float *scratch, int nb, const float *in, const float *U,
                  const float *b, int B, int H, int W, int C, int K);

/* The filter and bias gradients of the same convolution from its input and output
 * gradient: dw = beta*dw + the Winograd transform of sum over tiles (B^T d B) *
 * (A dY A^T) (the transposed algorithm, 2.25x fewer operations than im2col's
 * col^T dout), db = beta*db + column sums of dout (in double).  beta is 0 or 1
 * (0 overwrites, even NaN).  Same scratch as wg_wino_conv. */
void wg_wino_backward_params(float *dw, float *db, float *scratch, int nb, const float *in,
                             const float *dout, float beta, int B, int H, int W, int C, int K);

/* ---- R-operator: G directional derivatives at once (net.c's Hessian-vector
 * products).  A "grouped" activation (B,H,W,G,C) holds G directions' derivatives
 * of a (B,H,W,C) activation, interleaved per pixel. */

/* Floats of scratch that wg_wino_rconv (with C and K in either role) and
 * wg_wino_rbackward_params need for nb images at a time. */
size_t wg_wino_rscratch(int nb, int H, int W, int C, int K, int G);

/* out (B,H,W,G,K) = conv(Rin (B,H,W,G,C), each group by the filters U of
 * wg_wino_weights) + conv(in (B,H,W,C), group j by filters j of UG of
 * wg_wino_weights_group(G)) + bG (G*K; NULL: none).  Rin NULL drops the first term.
 * This is the derivative of a convolution along (Rin, directions), and with the
 * transposed filters (C and K swapped) that of its input gradient. */
void wg_wino_rconv(float *out, float *scratch, int nb, const float *Rin, const float *U,
                   const float *in, const float *UG, const float *bG, int B, int H, int W,
                   int C, int K, int G);

/* dW (G, 9*C, K): dW_j = beta*dW_j + the filter gradient of the convolution for
 * (input Rin group j, output gradient dout) plus that for (input in, output gradient
 * Rdout group j), i.e. the derivative of wg_wino_backward_params's dw along
 * direction j.  in, dout (B,H,W,C), (B,H,W,K); Rin (B,H,W,G,C) or NULL (zero);
 * Rdout (B,H,W,G,K).  beta 0 overwrites (even NaN). */
void wg_wino_rbackward_params(float *dW, float *scratch, int nb, const float *Rin,
                              const float *in, const float *dout, const float *Rdout,
                              float beta, int B, int H, int W, int C, int K, int G);

#endif
