/* toy.c: the toy wedge loss, by exact selection.
 * The (D-n)-th smallest |P_j| is found by quickselect (median-of-three pivots,
 * expected O(D)) on a scratch copy; then one pass sums the squares of everything
 * below the threshold and the right number of ties at it. */
#include "wedge/toy.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

/* k-th smallest (0-based) of a[0..n), reordering a.  Three-way partitioning keeps
 * runs of equal values (and NaNs, which compare neither way) from degrading it. */
static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return x < y ? -1 : x > y;
}

static float select_kth(float *a, size_t n, size_t k)
{
    size_t lo = 0, hi = n - 1;
    uint64_t h = 0x9E3779B97F4A7C15ull ^ n;
    int rounds = 0;
    while (hi > lo) {
        /* a pseudo-random middle sample defeats inputs built against a fixed rule;
         * past 64 rounds (never seen on real inputs) sort the rest: O(D log D) */
        if (++rounds > 64) {
            qsort(a + lo, hi - lo + 1, sizeof *a, cmp_float);
            return a[k];
        }
        h = h * 6364136223846793005ull + 1442695040888963407ull;
        size_t mid = lo + (size_t)((h >> 33) % (hi - lo + 1));
        float x = a[lo], y = a[mid], z = a[hi];
        float p = x < y ? (y < z ? y : (x < z ? z : x)) : (x < z ? x : (y < z ? z : y));
        size_t lt = lo, i = lo, gt = hi; /* [lo,lt) < p, [lt,i) == p, (gt,hi] > p */
        while (i <= gt) {
            float v = a[i];
            if (v < p) {
                a[i++] = a[lt];
                a[lt++] = v;
            } else if (v > p) {
                a[i] = a[gt];
                a[gt--] = v; /* gt >= lt: an element equal to p is still ahead */
            } else {
                i++;
            }
        }
        if (k < lt)
            hi = lt - 1;
        else if (k > gt)
            lo = gt + 1;
        else
            return p;
    }
    return a[k];
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
    float thr = select_kth(work, D, m - 1);
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
