/* MaxPool planes of one window (doc/tilin.md): Ti-Lin, DeepPoly, CNN-Cert, interval.
 *
 * y = max_k x_k over inputs with boxes [l_k, u_k]. Every method returns a lower
 * and an upper plane sum_k a_k x_k + b. The formulas are those of doc/tilin.md "Ti-Lin";
 * ties are broken by the lower index.
 *
 * Rounding control. Planes that select one input (a_m = 1, b = 0) or are a
 * constant equal to an input bound are exact in floating point and stay so.
 * Any other upper intercept is
 *   max(b_formula, sup over the box of (max_k x_k - sum_k a_k x_k))
 * plus an allowance (2n + 4)*eps*(|b| + sum_k |a_k| max(|l_k|,|u_k|) + max_k |x_k|):
 * the supremum is the tightest intercept for the slopes as computed (it separates:
 * sup of a max is the max over m of sup(x_m - a.x)), so it repairs any rounding in
 * the slopes, and equals the formula in exact arithmetic for Ti-Lin; the allowance
 * covers the two n-term sums (computing the supremum, evaluating the plane).
 * CNN-Cert's lower intercept takes the same allowance subtracted. */
#include "relax_internal.h"

static double plane_margin(const double *l, const double *u, int n, const double *a, double b)
{
    double sa = 0.0, mall = 0.0;
    for (int k = 0; k < n; k++) {
        double mk = fmax(fabs(l[k]), fabs(u[k]));
        sa += fabs(a[k]) * mk;
        mall = fmax(mall, mk);
    }
    return (2.0 * n + 4.0) * DBL_EPSILON * (fabs(b) + sa + mall) + DBL_MIN;
}

/* sup over the box of max_k x_k - sum_k a_k x_k. */
static double sup_gap(const double *l, const double *u, int n, const double *a)
{
    double tmin = 0.0; /* min over the box of sum_k a_k x_k */
    for (int k = 0; k < n; k++) tmin += fmin(a[k] * l[k], a[k] * u[k]);
    double best = -INFINITY;
    for (int m = 0; m < n; m++) {
        double c = 1.0 - a[m];
        double v = fmax(c * u[m], c * l[m]) - (tmin - fmin(a[m] * l[m], a[m] * u[m]));
        best = fmax(best, v);
    }
    return best;
}

/* Final upper intercept for slopes a and the method's formula b. */
static double upper_intercept(const double *l, const double *u, int n, const double *a, double b)
{
    int ones = 0, others = 0, m = -1;
    for (int k = 0; k < n; k++) {
        if (a[k] == 1.0) {
            ones++;
            m = k;
        } else if (a[k] != 0.0) {
            others = 1;
        }
    }
    if (!others && ones == 0) { /* constant: exact once it reaches max u */
        double umax = u[0];
        for (int k = 1; k < n; k++) umax = fmax(umax, u[k]);
        return fmax(b, umax);
    }
    if (!others && ones == 1 && b == 0.0) { /* y <= x_m exactly when x_m always wins */
        int wins = 1;
        for (int k = 0; k < n; k++)
            if (k != m && u[k] > l[m]) wins = 0;
        if (wins) return 0.0;
    }
    b = fmax(b, sup_gap(l, u, n, a));
    return b + plane_margin(l, u, n, a, b);
}

/* Index of the largest u (first on ties), the second largest, and the third value. */
static void top_uppers(const double *u, int n, int *pi, int *pj, double *pu3)
{
    int i = 0, j = -1;
    for (int k = 1; k < n; k++)
        if (u[k] > u[i]) i = k;
    for (int k = 0; k < n; k++)
        if (k != i && (j < 0 || u[k] > u[j])) j = k;
    double u3 = -INFINITY;
    for (int k = 0; k < n; k++)
        if (k != i && k != j) u3 = fmax(u3, u[k]);
    *pi = i;
    *pj = j;
    *pu3 = u3;
}

/* First input whose lower bound reaches every other input's upper bound, or -1. */
static int dominant_input(const double *l, const double *u, int n, int i, int j)
{
    for (int k = 0; k < n; k++)
        if (l[k] >= (k == i ? u[j] : u[i])) return k;
    return -1;
}

static int argmax_first(const double *v, int n)
{
    int m = 0;
    for (int k = 1; k < n; k++)
        if (v[k] > v[m]) m = k;
    return m;
}

static void tilin(const double *l, const double *u, int n, double *lc, double *lb, double *uc, double *ub)
{
    int i, j;
    double u3, b;
    top_uppers(u, n, &i, &j, &u3);
    double L = l[argmax_first(l, n)];
    if (l[i] >= L && l[i] >= u[j]) {
        uc[i] = 1.0;
        b = 0.0;
    } else if (l[i] >= L && l[i] >= u3) {
        uc[i] = 1.0;
        uc[j] = (u[j] - l[i]) / (u[j] - l[j]);
        b = -uc[j] * l[j];
    } else if (l[j] >= L && l[j] >= u3) {
        uc[j] = 1.0;
        uc[i] = (u[i] - l[j]) / (u[i] - l[i]);
        b = -uc[i] * l[i];
    } else {
        uc[i] = (u[i] - u3) / (u[i] - l[i]);
        uc[j] = (u[j] - u3) / (u[j] - l[j]);
        b = u3 - uc[i] * l[i] - uc[j] * l[j];
    }
    *ub = upper_intercept(l, u, n, uc, b);
    /* Lower: x_m with the largest midpoint (largest volume under a valid plane). */
    int m = 0;
    for (int k = 1; k < n; k++)
        if (0.5 * l[k] + 0.5 * u[k] > 0.5 * l[m] + 0.5 * u[m]) m = k;
    lc[m] = 1.0;
    *lb = 0.0;
}

static void deeppoly(const double *l, const double *u, int n, double *lc, double *lb, double *uc, double *ub)
{
    int i, j;
    double u3;
    top_uppers(u, n, &i, &j, &u3);
    int k = dominant_input(l, u, n, i, j);
    if (k >= 0) {
        lc[k] = uc[k] = 1.0;
        *lb = *ub = 0.0;
        return;
    }
    lc[argmax_first(l, n)] = 1.0;
    *lb = 0.0;
    *ub = u[i];
}

static void interval(const double *l, const double *u, int n, double *lc, double *lb, double *uc, double *ub)
{
    int i, j;
    double u3;
    top_uppers(u, n, &i, &j, &u3);
    int k = dominant_input(l, u, n, i, j);
    if (k >= 0) {
        lc[k] = uc[k] = 1.0;
        *lb = *ub = 0.0;
        return;
    }
    *lb = l[argmax_first(l, n)];
    *ub = u[i];
}

static double clamp01(double x) { return x < 0.0 ? 0.0 : (x > 1.0 ? 1.0 : x); }

static void cnncert(const double *l, const double *u, int n, double *lc, double *lb, double *uc, double *ub)
{
    double L = l[argmax_first(l, n)];
    int nfixed = 0;
    double sum_u = 0.0, sum_inv = 0.0, min_u = INFINITY, min_l = INFINITY, max_u = -INFINITY;
    for (int k = 0; k < n; k++) {
        if (u[k] < L) continue; /* never the maximum */
        min_u = fmin(min_u, u[k]);
        min_l = fmin(min_l, l[k]);
        max_u = fmax(max_u, u[k]);
        if (u[k] == l[k]) {
            nfixed++;
        } else {
            double w = u[k] - l[k];
            sum_u += u[k] / w;
            sum_inv += 1.0 / w;
        }
    }
    /* A fixed candidate has l = u >= L >= l, i.e. the value L. */
    double gamma = L;
    if (nfixed == 0) {
        gamma = (sum_u - 1.0) / sum_inv;
        if (!isfinite(gamma)) gamma = L; /* any gamma in [L, min u] gives a valid plane */
        gamma = gamma < L ? L : (gamma > min_u ? min_u : gamma);
    }
    double others = 0.0;
    for (int k = 0; k < n; k++) {
        if (u[k] < L || u[k] == l[k]) continue;
        uc[k] = clamp01((u[k] - gamma) / (u[k] - l[k]));
        others += uc[k];
    }
    if (nfixed > 0) {
        double share = clamp01((1.0 - others) / nfixed);
        for (int k = 0; k < n; k++)
            if (u[k] >= L && u[k] == l[k]) uc[k] = share;
    }
    double b = gamma, sw = 0.0;
    for (int k = 0; k < n; k++) {
        b -= uc[k] * l[k];
        sw += uc[k];
        lc[k] = uc[k];
    }
    *ub = upper_intercept(l, u, n, uc, b);
    double c = sw <= 1.0 ? min_l * (1.0 - sw) : max_u * (1.0 - sw);
    *lb = c - plane_margin(l, u, n, lc, c);
}

void relax_maxpool_window(pool_method method, const double *l, const double *u, int n, double *lower_coef,
                          double *lower_icpt, double *upper_coef, double *upper_icpt)
{
    for (int k = 0; k < n; k++) lower_coef[k] = upper_coef[k] = 0.0;
    if (n == 1) {
        lower_coef[0] = upper_coef[0] = 1.0;
        *lower_icpt = *upper_icpt = 0.0;
        return;
    }
    switch (method) {
    case POOL_DEEPPOLY: deeppoly(l, u, n, lower_coef, lower_icpt, upper_coef, upper_icpt); break;
    case POOL_CNNCERT: cnncert(l, u, n, lower_coef, lower_icpt, upper_coef, upper_icpt); break;
    case POOL_INTERVAL: interval(l, u, n, lower_coef, lower_icpt, upper_coef, upper_icpt); break;
    default: tilin(l, u, n, lower_coef, lower_icpt, upper_coef, upper_icpt); break;
    }
}
