/* rng.h: counter-based random numbers (Philox4x32-10).
 *
 * A stream is a pure function of (seed, stream id): the k-th number of a stream is
 * the same whichever process, rank or thread asks for it and whatever was drawn
 * before.  Stream ids are built with wg_rng_stream() from a purpose tag and up to
 * three integers (task id, epoch, direction index, ...), so that no two uses of
 * randomness in wedge ever share numbers by accident. */
#ifndef WEDGE_RNG_H
#define WEDGE_RNG_H

#include <stddef.h>
#include <stdint.h>

/* Purposes: one per independent use of randomness. Append only; never renumber. */
enum {
    WG_RNG_INIT = 1,      /* parameter initialisation */
    WG_RNG_SHUFFLE = 2,   /* per-epoch batch order */
    WG_RNG_DROPOUT = 3,   /* dropout masks, per step */
    WG_RNG_SUBSET = 4,    /* dataset subsets */
    WG_RNG_SYNTH = 5,     /* synthetic data */
    WG_RNG_DIRECTION = 6, /* probe directions */
    WG_RNG_SUBSPACE = 7,  /* random subspace columns */
    WG_RNG_TOY = 8,       /* toy-model starting points */
    WG_RNG_CONNECT = 9,   /* which path points a connector step evaluates */
    WG_RNG_TEST = 99      /* unit tests */
};

typedef struct wg_rng {
    uint64_t seed;
    uint64_t stream;
    uint64_t block;   /* next counter block to generate */
    uint32_t buf[4];
    int avail;        /* unused words left in buf (taken from the end) */
} wg_rng;

/* A 64-bit stream id from a purpose and three indices (a hash; distinct inputs give
 * distinct ids with overwhelming probability). */
uint64_t wg_rng_stream(uint32_t purpose, uint64_t a, uint64_t b, uint64_t c);

/* Start stream `stream` of `seed` at its beginning. */
void wg_rng_init(wg_rng *r, uint64_t seed, uint64_t stream);

/* Random access: the 4 words of counter block `block` of the stream. */
void wg_rng_block(uint64_t seed, uint64_t stream, uint64_t block, uint32_t out[4]);

uint32_t wg_rng_u32(wg_rng *r);
uint64_t wg_rng_u64(wg_rng *r);
/* Uniform in [0,1) with 53 (double) or 24 (float) random bits. */
double wg_rng_uniform(wg_rng *r);
float wg_rng_uniformf(wg_rng *r);
/* Uniform integer in [0, n), unbiased; n > 0. */
uint64_t wg_rng_below(wg_rng *r, uint64_t n);
/* Standard normal (Box-Muller on two uniforms; no cached second value, so the
 * stream position after k draws is fixed). */
double wg_rng_normal(wg_rng *r);

/* Fill x[0..n) with N(0,1) / U[lo,hi) floats. */
void wg_rng_fill_normal(wg_rng *r, float *x, size_t n);
void wg_rng_fill_uniform(wg_rng *r, float *x, size_t n, float lo, float hi);

/* idx[0..n) becomes a uniformly random permutation of 0..n-1 (Fisher-Yates). */
void wg_rng_permute(wg_rng *r, uint32_t *idx, size_t n);

#endif
