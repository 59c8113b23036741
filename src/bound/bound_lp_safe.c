/* The Neumaier-Shcherbina safe bound of an LP (doc/lp.md "The safe bound").
 *
 * For any y, c.x = y.(A x) + r.x with r = c - A^T y. On the feasible set each
 * y_i (A x)_i >= y_i rlb_i (y_i > 0) or y_i rub_i (y_i < 0), and each
 * r_j x_j >= min(r_j clb_j, r_j cub_j): the sum is a lower bound on the minimum,
 * exact in real arithmetic. A multiplier whose row side is infinite is set to 0
 * (it would give -inf). Floating point, all in round-to-nearest:
 *   r_j is computed as a dot product of K_j + 1 terms (K_j nonzeros of column j),
 *     error <= gamma(K_j + 1) m_j (m_j = |c_j| + sum |A_ij y_i|) plus an absolute
 *     (K_j + 1) DBL_MIN for products that underflow; e_j = 2 gamma(K_j + 2) fl(m_j)
 *     + (K_j + 2) DBL_MIN covers that and the rounding of m_j itself. Then
 *     r_j x_j >= fl-value min(r^_j clb_j, r^_j cub_j) - e_j max(|clb_j|, |cub_j|).
 *   The final sum of N terms (each a product, relative error u) is off by at most
 *     gamma(N + 1) S (S = sum of their magnitudes) plus N DBL_MIN; 2 gamma(N + 3)
 *     fl(S) + (N + 1) DBL_MIN is subtracted, and the result is moved one ulp down
 *     for the rounding of that subtraction.
 * gamma(n) = n u / (1 - n u), u = 2^-53 (bound_work.h). */
#include "bound_lp_safe.h"
#include "bound_work.h"

#include <math.h>

double bound_lp_safe_lower(int nc, int nr, const int *start, const int *index, const double *value, const double *clb,
                           const double *cub, const double *rlb, const double *rub, const int *cidx,
                           const double *cval, size_t cn, const double *y, double *r)
{
    const double u = UNIT_ROUNDOFF_D;
    double sum = 0, mag = 0;
    size_t terms = 0;
    /* rows: y_i times the row side its sign selects */
    for (int i = 0; i < nr; i++) {
        double yi = y[i];
        if (!isfinite(yi)) return -INFINITY;
        double b = yi > 0 ? rlb[i] : yi < 0 ? rub[i] : 0;
        if (yi == 0 || fabs(b) >= BOUND_LP_INF) continue; /* multiplier 0 */
        double t = yi * b;
        sum += t;
        mag += fabs(t);
        terms++;
    }
    for (int j = 0; j < nc; j++) r[j] = 0;
    for (size_t k = 0; k < cn; k++) {
        if (cidx[k] < 0 || cidx[k] >= nc || !isfinite(cval[k])) return -INFINITY;
        r[cidx[k]] = cval[k];
    }
    for (int j = 0; j < nc; j++) {
        double lo = clb[j], hi = cub[j];
        if (!isfinite(lo) || !isfinite(hi) || fabs(lo) >= BOUND_LP_INF || fabs(hi) >= BOUND_LP_INF || lo > hi)
            return -INFINITY;
        double rj = r[j], mj = fabs(rj);
        int K = start[j + 1] - start[j];
        for (int p = start[j]; p < start[j + 1]; p++) {
            int i = index[p];
            double yi = y[i];
            double b = yi > 0 ? rlb[i] : yi < 0 ? rub[i] : 0;
            if (yi == 0 || fabs(b) >= BOUND_LP_INF) continue; /* the same zeroing as above */
            double t = value[p] * yi;
            rj -= t;
            mj += fabs(t);
        }
        double ej = 2 * bound_gamma(K + 2, u) * mj + (K + 2) * DBL_MIN;
        double X = fmax(fabs(lo), fabs(hi));
        double a = fmin(rj * lo, rj * hi), b = ej * X;
        sum += a - b;
        mag += fabs(a) + b;
        terms += 2;
    }
    if (!isfinite(sum) || !isfinite(mag)) return -INFINITY;
    double allow = 2 * bound_gamma((double)terms + 3, u) * mag + ((double)terms + 1) * DBL_MIN;
    return nextafter(sum - allow, -INFINITY);
}
