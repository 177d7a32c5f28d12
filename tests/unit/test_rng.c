/* test_rng.c: unit tests of rng.c, the Philox4x32-10 counter-based generator.
 *
 * Known answers from Random123's kat_vectors pin the block function bit for bit;
 * the rest checks what wedge relies on: a stream is a pure function of (seed,
 * stream), random access agrees with sequential draws, stream ids do not collide,
 * and the derived distributions (uniform, normal, bounded integers, permutations)
 * have the right range and moments.  Statistical bounds are set at 5 sigma (or a
 * chi-square far in the tail); the seeds are fixed, so a pass is reproducible and a
 * failure means the code changed, not bad luck. */
#include "wedge/rng.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- known answers --------------------------------------------------------------- */

/* Random123's counter {c0, c1, c2, c3} is wedge's {block lo, block hi, stream lo,
 * stream hi}; its key {k0, k1} is {seed lo, seed hi}. */
static void check_kat(const uint32_t ctr[4], const uint32_t key[2], const uint32_t want[4])
{
    uint64_t block = (uint64_t)ctr[1] << 32 | ctr[0];
    uint64_t stream = (uint64_t)ctr[3] << 32 | ctr[2];
    uint64_t seed = (uint64_t)key[1] << 32 | key[0];
    uint32_t got[4];
    wg_rng_block(seed, stream, block, got);
    for (int i = 0; i < 4; i++)
        if (got[i] != want[i])
            fail_msg("philox4x32_10 ctr {%08x %08x %08x %08x} key {%08x %08x}: word %d is "
                     "%08x, want %08x",
                     ctr[0], ctr[1], ctr[2], ctr[3], key[0], key[1], i, got[i], want[i]);
}

static void test_rng_kat_zero(void **state)
{
    (void)state;
    const uint32_t ctr[4] = {0, 0, 0, 0}, key[2] = {0, 0};
    const uint32_t want[4] = {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8};
    check_kat(ctr, key, want);
}

static void test_rng_kat_ones(void **state)
{
    (void)state;
    const uint32_t ctr[4] = {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff};
    const uint32_t key[2] = {0xffffffff, 0xffffffff};
    const uint32_t want[4] = {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd};
    check_kat(ctr, key, want);
}

static void test_rng_kat_pi(void **state)
{
    (void)state;
    const uint32_t ctr[4] = {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344};
    const uint32_t key[2] = {0xa4093822, 0x299f31d0};
    const uint32_t want[4] = {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1};
    check_kat(ctr, key, want);
}

/* ---- streams ---------------------------------------------------------------------- */

#define SEQ_N 4096

static void test_rng_same_stream_same_sequence(void **state)
{
    (void)state;
    wg_rng a, b;
    wg_rng_init(&a, 12345, 678);
    wg_rng_init(&b, 12345, 678);
    for (int i = 0; i < SEQ_N; i++)
        assert_int_equal(wg_rng_u32(&a), wg_rng_u32(&b));
    /* re-initialising restarts the stream, whatever was drawn before */
    wg_rng c;
    wg_rng_init(&c, 12345, 678);
    uint32_t first = wg_rng_u32(&c);
    wg_rng_init(&a, 12345, 678);
    assert_int_equal(wg_rng_u32(&a), first);
}

/* Two independent 32-bit streams agree on a given word with probability 2^-32, so
 * over SEQ_N words even a single match is a ~1e-6 event; allow 2 to be safe. */
static int count_equal_words(uint64_t s1, uint64_t st1, uint64_t s2, uint64_t st2)
{
    wg_rng a, b;
    wg_rng_init(&a, s1, st1);
    wg_rng_init(&b, s2, st2);
    int eq = 0;
    for (int i = 0; i < SEQ_N; i++)
        eq += wg_rng_u32(&a) == wg_rng_u32(&b);
    return eq;
}

static void test_rng_streams_and_seeds_differ(void **state)
{
    (void)state;
    assert_true(count_equal_words(1, 0, 1, 1) <= 2);
    assert_true(count_equal_words(1, 0, 2, 0) <= 2);
    assert_true(count_equal_words(0, 0, 0, (uint64_t)1 << 32) <= 2); /* stream hi word */
    assert_true(count_equal_words(0, 0, (uint64_t)1 << 32, 0) <= 2); /* seed hi word */
    /* swapping seed and stream must not give the same numbers */
    assert_true(count_equal_words(7, 9, 9, 7) <= 2);
}

/* Sequential draws take each block's 4 words from the end (rng.h: buf is consumed
 * from index 3 down), block after block, and u64 is (first << 32) | second. */
static void test_rng_random_access_matches_sequential(void **state)
{
    (void)state;
    const uint64_t seed = 0xdeadbeefcafef00dull, stream = wg_rng_stream(WG_RNG_TEST, 1, 2, 3);
    wg_rng r;
    wg_rng_init(&r, seed, stream);
    for (uint64_t blk = 0; blk < 1000; blk++) {
        uint32_t w[4];
        wg_rng_block(seed, stream, blk, w);
        for (int i = 3; i >= 0; i--)
            assert_int_equal(wg_rng_u32(&r), w[i]);
    }
    /* far out in the stream: a block beyond 2^32 (counter hi word in use) */
    uint32_t w[4];
    r.block = ((uint64_t)1 << 32) + 5;
    r.avail = 0;
    wg_rng_block(seed, stream, ((uint64_t)1 << 32) + 5, w);
    assert_int_equal(wg_rng_u32(&r), w[3]);

    wg_rng a, b;
    wg_rng_init(&a, seed, stream);
    wg_rng_init(&b, seed, stream);
    for (int i = 0; i < 1001; i++) { /* odd count: u64 straddles block boundaries */
        uint64_t hi = wg_rng_u32(&b);
        uint64_t lo = wg_rng_u32(&b);
        assert_true(wg_rng_u64(&a) == (hi << 32 | lo));
    }
}

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return (a > b) - (a < b);
}

/* 8 purposes x 50 x 16 x 16 = 102,400 ids, small overlapping index ranges (so
 * permuted arguments like (1,2,0) and (2,1,0) are both present): all distinct. */
static void test_rng_stream_ids_distinct(void **state)
{
    (void)state;
    const size_t n = 8 * 50 * 16 * 16;
    uint64_t *ids = malloc(n * sizeof *ids);
    assert_non_null(ids);
    size_t k = 0;
    for (uint32_t p = 1; p <= 8; p++)
        for (uint64_t a = 0; a < 50; a++)
            for (uint64_t b = 0; b < 16; b++)
                for (uint64_t c = 0; c < 16; c++)
                    ids[k++] = wg_rng_stream(p, a, b, c);
    assert_int_equal(k, n);
    /* the same inputs give the same id */
    assert_true(wg_rng_stream(3, 7, 11, 13) == wg_rng_stream(3, 7, 11, 13));
    qsort(ids, n, sizeof *ids, cmp_u64);
    size_t dup = 0;
    for (size_t i = 1; i < n; i++)
        dup += ids[i] == ids[i - 1];
    free(ids);
    assert_int_equal(dup, 0);
    /* large indices are not truncated to 32 bits */
    assert_true(wg_rng_stream(1, 0, 0, 0) != wg_rng_stream(1, (uint64_t)1 << 40, 0, 0));
    assert_true(wg_rng_stream(1, 0, 0, 0) != wg_rng_stream(1, 0, (uint64_t)1 << 63, 0));
    assert_true(wg_rng_stream(1, 0, 0, 0) != wg_rng_stream(1, 0, 0, (uint64_t)1 << 50));
}

/* ---- distributions ------------------------------------------------------------- */

#define STAT_N 100000

static void test_rng_uniform_range_and_mean(void **state)
{
    (void)state;
    wg_rng r;
    wg_rng_init(&r, 1, wg_rng_stream(WG_RNG_TEST, 10, 0, 0));
    double s = 0.0, sf = 0.0;
    for (int i = 0; i < STAT_N; i++) {
        double u = wg_rng_uniform(&r);
        float f = wg_rng_uniformf(&r);
        assert_true(u >= 0.0 && u < 1.0);
        assert_true(f >= 0.0f && f < 1.0f);
        s += u;
        sf += f;
    }
    /* U[0,1) has variance 1/12: the mean of N draws has sd sqrt(1/(12N)) ~ 9.1e-4;
     * 5 sigma ~ 4.6e-3 */
    double tol = 5.0 * sqrt(1.0 / (12.0 * STAT_N));
    assert_true(fabs(s / STAT_N - 0.5) < tol);
    assert_true(fabs(sf / STAT_N - 0.5) < tol);

    /* fill_uniform stays in [lo, hi) with mean (lo+hi)/2 (same 5 sigma, scaled) */
    float *x = malloc(STAT_N * sizeof *x);
    assert_non_null(x);
    wg_rng_fill_uniform(&r, x, STAT_N, -3.0f, 5.0f);
    double sx = 0.0;
    for (int i = 0; i < STAT_N; i++) {
        assert_true(x[i] >= -3.0f && x[i] < 5.0f);
        sx += x[i];
    }
    free(x);
    assert_true(fabs(sx / STAT_N - 1.0) < 8.0 * tol);
}

/* The extremes of the 53-bit mapping: all-zero bits give exactly 0, all-one bits the
 * largest double below 1.  Found by construction from the block function rather than
 * by luck: the generator is fed a buffer directly. */
static void test_rng_uniform_extremes(void **state)
{
    (void)state;
    wg_rng r;
    wg_rng_init(&r, 0, 0);
    r.avail = 4;
    memset(r.buf, 0, sizeof r.buf);
    assert_true(wg_rng_uniform(&r) == 0.0);
    assert_true(wg_rng_uniformf(&r) == 0.0f);
    r.avail = 4;
    memset(r.buf, 0xff, sizeof r.buf);
    assert_true(wg_rng_uniform(&r) == 1.0 - 0x1.0p-53);
    assert_true(wg_rng_uniformf(&r) == 1.0f - 0x1.0p-24f);
    /* a normal draw from u1 = 1 - 0 = 1 is finite (log(1) = 0), never -inf/NaN */
    r.avail = 4;
    memset(r.buf, 0, sizeof r.buf);
    double z = wg_rng_normal(&r);
    assert_true(isfinite(z));
}

static void test_rng_normal_moments(void **state)
{
    (void)state;
    wg_rng r;
    wg_rng_init(&r, 2, wg_rng_stream(WG_RNG_TEST, 11, 0, 0));
    double s = 0.0, s2 = 0.0, s4 = 0.0;
    long tail[3] = {0}; /* |z| > 1, 2, 3 */
    for (int i = 0; i < STAT_N; i++) {
        double z = wg_rng_normal(&r);
        assert_true(isfinite(z));
        s += z;
        s2 += z * z;
        s4 += z * z * z * z;
        for (int k = 0; k < 3; k++)
            tail[k] += fabs(z) > k + 1;
    }
    /* tail fractions against erfc(k/sqrt 2): binomial, 5 sigma */
    for (int k = 0; k < 3; k++) {
        double p = erfc((k + 1) / sqrt(2.0)), f = (double)tail[k] / STAT_N;
        assert_true(fabs(f - p) < 5.0 * sqrt(p * (1.0 - p) / STAT_N));
    }
    double mean = s / STAT_N, var = s2 / STAT_N - mean * mean, kurt = s4 / STAT_N;
    /* sd of the sample mean 1/sqrt(N) ~ 3.2e-3; of the sample variance sqrt(2/N) ~
     * 4.5e-3; of the 4th moment (E z^8 - 9)/N = sqrt(96/N) ~ 0.031.  5 sigma each. */
    assert_true(fabs(mean) < 5.0 / sqrt(STAT_N));
    assert_true(fabs(var - 1.0) < 5.0 * sqrt(2.0 / STAT_N));
    assert_true(fabs(kurt - 3.0) < 5.0 * sqrt(96.0 / STAT_N));

    /* fill_normal: same moments (float output), same bounds */
    float *x = malloc(STAT_N * sizeof *x);
    assert_non_null(x);
    wg_rng_fill_normal(&r, x, STAT_N);
    s = s2 = 0.0;
    for (int i = 0; i < STAT_N; i++) {
        s += x[i];
        s2 += (double)x[i] * x[i];
    }
    free(x);
    mean = s / STAT_N;
    var = s2 / STAT_N - mean * mean;
    assert_true(fabs(mean) < 5.0 / sqrt(STAT_N));
    assert_true(fabs(var - 1.0) < 5.0 * sqrt(2.0 / STAT_N));
}

/* Pearson chi-square of counts against equal expectation. */
static double chi_square(const long *count, int k, long total)
{
    double e = (double)total / k, chi = 0.0;
    for (int i = 0; i < k; i++)
        chi += ((double)count[i] - e) * ((double)count[i] - e) / e;
    return chi;
}

static void test_rng_below_range_and_uniformity(void **state)
{
    (void)state;
    wg_rng r;
    wg_rng_init(&r, 3, wg_rng_stream(WG_RNG_TEST, 12, 0, 0));
    const uint64_t ns[] = {1, 2, 3, 7, 10, 1000, ((uint64_t)1 << 32) + 1, UINT64_MAX};
    for (size_t t = 0; t < sizeof ns / sizeof ns[0]; t++)
        for (int i = 0; i < 10000; i++)
            assert_true(wg_rng_below(&r, ns[t]) < ns[t]);
    assert_true(wg_rng_below(&r, 1) == 0);

    /* n = 10 over 10^5 draws: chi-square with 9 dof has mean 9, sd 4.2; 50 is
     * p ~ 1e-7 for a fair generator, and a gross bias (e.g. one value never drawn:
     * chi ~ 10^4) is far above it. */
    long cnt[10] = {0};
    for (int i = 0; i < STAT_N; i++)
        cnt[wg_rng_below(&r, 10)]++;
    assert_true(chi_square(cnt, 10, STAT_N) < 50.0);

    /* n = 3 * 2^62: plain x % n without rejection would make [0, 2^62) twice as
     * likely as each of the other two quarters (chi-square ~ 10^4 here).  With
     * rejection the three thirds are equally likely: 2 dof, bound 40 (p ~ 2e-9). */
    const uint64_t big = (uint64_t)3 << 62;
    long third[3] = {0};
    for (int i = 0; i < STAT_N; i++) {
        uint64_t x = wg_rng_below(&r, big);
        assert_true(x < big);
        third[x >> 62]++;
    }
    assert_true(chi_square(third, 3, STAT_N) < 40.0);
}

static int is_permutation(const uint32_t *idx, size_t n)
{
    unsigned char *seen = calloc(n ? n : 1, 1);
    assert_non_null(seen);
    int ok = 1;
    for (size_t i = 0; i < n && ok; i++) {
        if (idx[i] >= n || seen[idx[i]])
            ok = 0;
        else
            seen[idx[i]] = 1;
    }
    free(seen);
    return ok;
}

static void test_rng_permute_is_deterministic_permutation(void **state)
{
    (void)state;
    const size_t n = 1000;
    uint32_t *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    assert_non_null(a);
    assert_non_null(b);
    wg_rng r;
    wg_rng_init(&r, 4, wg_rng_stream(WG_RNG_SHUFFLE, 0, 1, 0));
    wg_rng_permute(&r, a, n);
    assert_true(is_permutation(a, n));
    size_t fixed = 0;
    for (size_t i = 0; i < n; i++)
        fixed += a[i] == i;
    /* a uniform permutation has ~Poisson(1) fixed points: 20 or more is p < 1e-18,
     * and the identity (no shuffle at all) has 1000 */
    assert_true(fixed < 20);

    wg_rng_init(&r, 4, wg_rng_stream(WG_RNG_SHUFFLE, 0, 1, 0));
    wg_rng_permute(&r, b, n);
    assert_memory_equal(a, b, n * sizeof *a);

    /* another epoch's stream shuffles differently */
    wg_rng_init(&r, 4, wg_rng_stream(WG_RNG_SHUFFLE, 0, 2, 0));
    wg_rng_permute(&r, b, n);
    assert_true(is_permutation(b, n));
    assert_true(memcmp(a, b, n * sizeof *a) != 0);

    /* degenerate sizes */
    uint32_t one = 77;
    wg_rng_permute(&r, &one, 1);
    assert_int_equal(one, 0);
    wg_rng_permute(&r, a, 0); /* touches nothing; must not crash */
    free(a);
    free(b);
}

/* Every permutation of 3 elements equally likely: 6 outcomes over 60,000 shuffles,
 * chi-square with 5 dof (mean 5, sd 3.2); bound 45 is p ~ 1e-8. */
static void test_rng_permute_uniform_small(void **state)
{
    (void)state;
    wg_rng r;
    wg_rng_init(&r, 5, wg_rng_stream(WG_RNG_TEST, 13, 0, 0));
    long cnt[6] = {0};
    const long trials = 60000;
    for (long t = 0; t < trials; t++) {
        uint32_t p[3];
        wg_rng_permute(&r, p, 3);
        assert_true(is_permutation(p, 3));
        /* index the 6 permutations by (position of 0, order of the other two) */
        int pos0 = p[0] == 0 ? 0 : p[1] == 0 ? 1 : 2;
        uint32_t first_other = pos0 == 0 ? p[1] : p[0];
        cnt[pos0 * 2 + (first_other == 1 ? 0 : 1)]++;
    }
    for (int i = 0; i < 6; i++)
        assert_true(cnt[i] > 0);
    assert_true(chi_square(cnt, 6, trials) < 45.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rng_kat_zero),
        cmocka_unit_test(test_rng_kat_ones),
        cmocka_unit_test(test_rng_kat_pi),
        cmocka_unit_test(test_rng_same_stream_same_sequence),
        cmocka_unit_test(test_rng_streams_and_seeds_differ),
        cmocka_unit_test(test_rng_random_access_matches_sequential),
        cmocka_unit_test(test_rng_stream_ids_distinct),
        cmocka_unit_test(test_rng_uniform_range_and_mean),
        cmocka_unit_test(test_rng_uniform_extremes),
        cmocka_unit_test(test_rng_normal_moments),
        cmocka_unit_test(test_rng_below_range_and_uniformity),
        cmocka_unit_test(test_rng_permute_is_deterministic_permutation),
        cmocka_unit_test(test_rng_permute_uniform_small),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
