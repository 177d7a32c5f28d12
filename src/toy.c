/* toy.c: the toy wedge loss, by exact selection in linear time.
 * The (D-n)-th smallest |P_j| is found by quickselect on a scratch copy: pivots
 * the median of three pseudo-random samples while the comparisons made stay
 * under a budget of WG_TOY_SELECT_BUDGET x D, then median-of-medians pivots (groups
 * of five), so the count is O(D) on every input, adversarial ones included (the
 * unit test measures at most ~11 D on sorted, reversed, organ-pipe, tied and random
 * inputs up to D = 2^19).  Then one pass sums the squares of everything below the
 * threshold and the right number of ties at it.  The float (network-precision) and
 * double (hyperplane probe) versions are one template. */
#include "wedge/toy.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

/* SELECT(T, NAME): T NAME(T *a, size_t n, size_t k, double budget, uint64_t *cmp), the
 * k-th smallest (0-based) of a[0..n), reordering a and adding the element comparisons
 * it makes to *cmp.  Three-way partitioning keeps runs of equal values from degrading
 * it.  In the median-of-medians phase a round on m elements costs at most 2m
 * comparisons for the groups, the select of their m/5 medians and 2m for the
 * partition, and keeps at most 7m/10 + 3 of them: at most about 40 m in all. */
#define SELECT(T, NAME)                                                                 \
    static T NAME(T *a, size_t n, size_t k, double budget, uint64_t *cmp);             \
    /* insertion sort of a[lo..hi] (at most 5 elements: at most 10 comparisons) */     \
    static void NAME##_sort5(T *a, size_t lo, size_t hi, uint64_t *cmp)                \
    {                                                                                   \
        for (size_t i = lo + 1; i <= hi; i++) {                                         \
            T v = a[i];                                                                 \
            size_t j = i;                                                               \
            while (j > lo && (++*cmp, a[j - 1] > v)) {                                  \
                a[j] = a[j - 1];                                                        \
                j--;                                                                    \
            }                                                                           \
            a[j] = v;                                                                   \
        }                                                                               \
    }                                                                                   \
    /* the median of the medians of groups of five of a[lo..hi] */                     \
    static T NAME##_mom(T *a, size_t lo, size_t hi, uint64_t *cmp)                     \
    {                                                                                   \
        size_t ng = 0;                                                                  \
        for (size_t i = lo; i <= hi; i += 5) {                                          \
            size_t e = hi - i < 4 ? hi : i + 4, md = i + (e - i) / 2;                   \
            NAME##_sort5(a, i, e, cmp);                                                 \
            T v = a[md]; /* to the front: lo + ng <= i, a group already done */       \
            a[md] = a[lo + ng];                                                         \
            a[lo + ng++] = v;                                                           \
        }                                                                               \
        return NAME(a + lo, ng, (ng - 1) / 2, 0.0, cmp);                                \
    }                                                                                   \
    static T NAME(T *a, size_t n, size_t k, double budget, uint64_t *cmp)              \
    {                                                                                   \
        size_t lo = 0, hi = n - 1;                                                      \
        uint64_t h = 0x9E3779B97F4A7C15ull ^ n, start = *cmp;                           \
        double limit = budget * (double)n;                                              \
        while (hi > lo) {                                                               \
            T p;                                                                        \
            if ((double)(*cmp - start) < limit) {                                       \
                size_t s3[3];                                                           \
                for (int q = 0; q < 3; q++) {                                           \
                    h = h * 6364136223846793005ull + 1442695040888963407ull;            \
                    s3[q] = lo + (size_t)((h >> 33) % (hi - lo + 1));                   \
                }                                                                       \
                T x = a[s3[0]], y = a[s3[1]], z = a[s3[2]];                             \
                *cmp += 3;                                                              \
                p = x < y ? (y < z ? y : (x < z ? z : x)) : (x < z ? x : (y < z ? z : y)); \
            } else {                                                                    \
                p = NAME##_mom(a, lo, hi, cmp);                                         \
            }                                                                           \
            size_t lt = lo, i = lo, gt = hi; /* [lo,lt) < p, [lt,i) == p, (gt,hi] > p */ \
            while (i <= gt) {                                                           \
                T v = a[i];                                                             \
                if (++*cmp, v < p) {                                                    \
                    a[i++] = a[lt];                                                     \
                    a[lt++] = v;                                                        \
                } else if (++*cmp, v > p) {                                             \
                    a[i] = a[gt];                                                       \
                    a[gt--] = v; /* gt >= lt: an element equal to p is still ahead */  \
                } else {                                                                \
                    i++;                                                                \
                }                                                                       \
            }                                                                           \
            if (k < lt)                                                                 \
                hi = lt - 1;                                                            \
            else if (k > gt)                                                            \
                lo = gt + 1;                                                            \
            else                                                                        \
                return p;                                                               \
        }                                                                               \
        return a[k];                                                                    \
    }

SELECT(float, select_f)
SELECT(double, select_d)

float wg_toy_select_float(float *a, size_t n, size_t k, double budget, uint64_t *cmp)
{
    uint64_t c = 0;
    float v = select_f(a, n, k, budget, &c);
    if (cmp)
        *cmp = c;
    return v;
}

double wg_toy_select_double(double *a, size_t n, size_t k, double budget, uint64_t *cmp)
{
    uint64_t c = 0;
    double v = select_d(a, n, k, budget, &c);
    if (cmp)
        *cmp = c;
    return v;
}

double wg_toy_loss(const float *P, size_t D, size_t n, float *grad, float *work)
{
    size_t m = D - n; /* number of short coordinates */
    if (grad)
        for (size_t j = 0; j < D; j++)
            grad[j] = 0.0f;
    if (m == 0)
        return 0.0;
    for (size_t j = 0; j < D; j++) {
        work[j] = fabsf(P[j]);
        if (isnan(work[j]))
            return NAN; /* a diverged point has no loss */
    }
    uint64_t cmp = 0;
    float thr = select_f(work, D, m - 1, WG_TOY_SELECT_BUDGET, &cmp);
    /* everything strictly below thr is selected; then ties at thr by index */
    size_t below = 0;
    double sum = 0.0;
    for (size_t j = 0; j < D; j++)
        if (fabsf(P[j]) < thr) {
            below++;
            sum += (double)P[j] * P[j];
        }
    size_t ties = m - below;
    sum += (double)ties * (double)thr * thr;
    double L = sqrt(sum);
    if (grad && L > 0.0) {
        size_t left = ties;
        for (size_t j = 0; j < D; j++) {
            float a = fabsf(P[j]);
            int take = a < thr;
            if (!take && a == thr && left > 0) {
                take = 1;
                left--;
            }
            if (take)
                grad[j] = (float)(P[j] / L);
        }
    }
    return L;
}

double wg_toy_loss_double(const double *P, size_t D, size_t n, unsigned char *selected,
                          double *work)
{
    size_t m = D - n;
    if (selected)
        for (size_t j = 0; j < D; j++)
            selected[j] = 0;
    if (m == 0)
        return 0.0;
    for (size_t j = 0; j < D; j++) {
        work[j] = fabs(P[j]);
        if (isnan(work[j]))
            return NAN;
    }
    uint64_t cmp = 0;
    double thr = select_d(work, D, m - 1, WG_TOY_SELECT_BUDGET, &cmp);
    size_t below = 0;
    for (size_t j = 0; j < D; j++)
        below += fabs(P[j]) < thr;
    size_t left = m - below;
    /* the sum in long double: the squares of doubles are not exact in double, and the
     * probe compares losses down to 1e-6 of their start and below */
    long double sum = 0.0L;
    for (size_t j = 0; j < D; j++) {
        double a = fabs(P[j]);
        int take = a < thr;
        if (!take && a == thr && left > 0) {
            take = 1;
            left--;
        }
        if (take) {
            sum += (long double)P[j] * P[j];
            if (selected)
                selected[j] = 1;
        }
    }
    return (double)sqrtl(sum);
}

size_t wg_toy_short_dirs(const float *P, size_t D, double tol_rel)
{
    double s = 0.0;
    for (size_t j = 0; j < D; j++)
        s += (double)P[j] * P[j];
    double tol = tol_rel * sqrt(s) / sqrt((double)D);
    size_t c = 0;
    for (size_t j = 0; j < D; j++)
        c += fabs((double)P[j]) <= tol;
    return c;
}
