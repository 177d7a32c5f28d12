/* slice.h: 1-D and 2-D loss slices along filter-normalised random directions (Li et
 * al. 2018, "Visualizing the Loss Landscape of Neural Nets", Sec. 4).
 *
 * A direction d is N(0, I) in R^D, then rescaled against the point theta it is drawn
 * at, tensor by tensor of the network's parameter layout (net.h's wg_tensor_info):
 *   filter   every filter of a weight tensor -- a conv layer's output channel, a dense
 *            layer's output unit, i.e. a column f of the (rows x K) weight matrix, the
 *            entries offset + r K + f -- gets the norm of theta's same filter;
 *   layer    every weight tensor gets the norm of theta's same tensor;
 *   none     d is left as drawn.
 * One-dimensional tensors (biases) are set apart, as loss-landscape's `ignore
 * biasbn` does: zero (its default), copied from theta (its behaviour without
 * `biasbn`), or, with `filter`, rescaled as one filter of their own (|d_b| = |theta_b|;
 * left as drawn under `none`).  The slice is then L(theta + a d1) or
 * L(theta + a d1 + b d2) on a grid of a, b in [-range, range].
 *
 * Pure: a direction depends on theta, the layout, the options and its key (seed,
 * stream, index) only, so a slice split over tasks evaluates exactly the points an
 * unsplit one would.  Works on any objective; normalisations other than `none` need
 * a layout (a network), which the toy model has not. */
#ifndef WEDGE_SLICE_H
#define WEDGE_SLICE_H

#include <stddef.h>
#include <stdint.h>

#include "wedge/net.h"
#include "wedge/objective.h"

typedef enum { WG_SLICE_FILTER = 0, WG_SLICE_LAYER, WG_SLICE_NONE } wg_slice_norm;
typedef enum { WG_SLICE_BIAS_ZERO = 0, WG_SLICE_BIAS_FILTER, WG_SLICE_BIAS_COPY } wg_slice_bias;

/* Rescale d[0..dim) against theta as `norm` and `bias` say, over the layout
 * t[0..nt) (tensors inside [0, dim); entries no tensor covers are left alone).  A
 * filter of theta that is zero makes d's filter zero; a filter of d that is zero
 * stays zero.  0, or WG_EARG for a layout that does not fit in dim or a
 * normalisation other than none without a layout (nt 0).  Sums in double; each
 * entry is rounded to float once, so a filter's norm matches theta's to a few float
 * roundings (~1e-7 relative). */
int wg_slice_normalise(float *d, const float *theta, size_t dim, const wg_tensor_info *t, int nt,
                       wg_slice_norm norm, wg_slice_bias bias);

/* Direction k at theta into d[dim]: N(0, 1) entries from stream
 * wg_rng_stream(WG_RNG_DIRECTION, stream, k, WG_SLICE_STREAM_TAG) of seed (never a
 * tunnel direction's numbers), then wg_slice_normalise.  Same errors. */
#define WG_SLICE_STREAM_TAG 0x534C494345ull /* "SLICE" */
int wg_slice_direction(float *d, const float *theta, size_t dim, const wg_tensor_info *t, int nt,
                       wg_slice_norm norm, wg_slice_bias bias, uint64_t seed, uint64_t stream,
                       int k);

/* G >= 2 grid coordinates range (2i - (G - 1)) / (G - 1), i = 0..G-1: from -range to
 * range, with 0 exactly on the grid when G is odd. */
void wg_slice_grid(double *x, int G, double range);

/* What one evaluation of a slice adds to the objective's loss: l2 |weights|^2 of
 * the point on net's layout (wg_net_l2), as wg_objective_include_l2 does; net NULL
 * or l2 0: nothing. */
typedef struct wg_slice_l2 {
    const wg_net *net;
    double l2;
} wg_slice_l2;

/* Loss and accuracy of f at the n points theta + a[i] d1 + b[i] d2 (d2 NULL: the 1-D
 * slice, b ignored and may be NULL), each point formed in double and rounded to
 * float once, so a = b = 0 is theta itself and b = 0 gives the same point as the 1-D
 * slice.  acc[i] is NaN for an objective without accuracy (the toy model).  A
 * non-finite loss is stored as it is (far from theta the loss may overflow); stop
 * (may be NULL) is asked before every point: nonzero abandons with WG_EINTR.  0,
 * WG_EINTR, WG_ENOMEM or the objective's error. */
int wg_slice_eval(const wg_objective *f, const wg_slice_l2 *pen, const float *theta,
                  const float *d1, const float *d2, const double *a, const double *b, size_t n,
                  int (*stop)(void *), void *stop_user, double *loss, double *acc);

/* |x| of x[0..n), summed in double. */
double wg_slice_length(const float *x, size_t n);

#endif
