/* rng.c: Philox4x32-10 (Salmon et al., SC'11), used as a keyed hash of
 * (seed, stream, block).  Nothing here keeps global state, so results never depend
 * on which process draws them.  Not for cryptography. */
#include "wedge/rng.h"

#include <math.h>

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

static inline uint32_t mulhilo(uint32_t a, uint32_t b, uint32_t *hi)
{
    uint64_t p = (uint64_t)a * b;
    *hi = (uint32_t)(p >> 32);
    return (uint32_t)p;
}

void wg_rng_block(uint64_t seed, uint64_t stream, uint64_t block, uint32_t out[4])
{
    uint32_t c0 = (uint32_t)block, c1 = (uint32_t)(block >> 32);
    uint32_t c2 = (uint32_t)stream, c3 = (uint32_t)(stream >> 32);
    uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
    for (int round = 0; round < 10; round++) {
        uint32_t hi0, hi1;
        uint32_t lo0 = mulhilo(PHILOX_M0, c0, &hi0);
        uint32_t lo1 = mulhilo(PHILOX_M1, c2, &hi1);
        c0 = hi1 ^ c1 ^ k0;
        c1 = lo1;
        c2 = hi0 ^ c3 ^ k1;
        c3 = lo0;
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    out[0] = c0;
    out[1] = c1;
    out[2] = c2;
    out[3] = c3;
}

/* splitmix64 finaliser: a bijective mixer, so the stream id keeps all input bits. */
static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

uint64_t wg_rng_stream(uint32_t purpose, uint64_t a, uint64_t b, uint64_t c)
{
    uint64_t h = mix64(0x5745444745ull ^ purpose);
    h = mix64(h ^ a);
    h = mix64((h + 0x9E3779B97F4A7C15ull) ^ b);
    h = mix64((h + 0x3C6EF372FE94F82Aull) ^ c);
    return h;
}

void wg_rng_init(wg_rng *r, uint64_t seed, uint64_t stream)
{
    r->seed = seed;
    r->stream = stream;
    r->block = 0;
    r->avail = 0;
}

uint32_t wg_rng_u32(wg_rng *r)
{
    if (r->avail == 0) {
        wg_rng_block(r->seed, r->stream, r->block++, r->buf);
        r->avail = 4;
    }
    return r->buf[--r->avail];
}

uint64_t wg_rng_u64(wg_rng *r)
{
    uint64_t hi = wg_rng_u32(r);
    return (hi << 32) | wg_rng_u32(r);
}

double wg_rng_uniform(wg_rng *r) { return (double)(wg_rng_u64(r) >> 11) * 0x1.0p-53; }

float wg_rng_uniformf(wg_rng *r) { return (float)(wg_rng_u32(r) >> 8) * 0x1.0p-24f; }

uint64_t wg_rng_below(wg_rng *r, uint64_t n)
{
    /* Rejection on the top of the range keeps every value equally likely. */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do
        x = wg_rng_u64(r);
    while (x >= limit);
    return x % n;
}

double wg_rng_normal(wg_rng *r)
{
    double u1 = 1.0 - wg_rng_uniform(r); /* (0,1]: log is finite */
    double u2 = wg_rng_uniform(r);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

void wg_rng_fill_normal(wg_rng *r, float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = (float)wg_rng_normal(r);
}

void wg_rng_fill_uniform(wg_rng *r, float *x, size_t n, float lo, float hi)
{
    for (size_t i = 0; i < n; i++)
        x[i] = lo + (hi - lo) * wg_rng_uniformf(r);
}

void wg_rng_permute(wg_rng *r, uint32_t *idx, size_t n)
{
    for (size_t i = 0; i < n; i++)
        idx[i] = (uint32_t)i;
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)wg_rng_below(r, i);
        uint32_t t = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = t;
    }
}
