/* The MILP's counterexamples, checked (doc/lp.md "Counterexamples").
 *
 * bound_milp.c evaluates each margin row at Cbc's point after moving it into
 * the region, and uses the value only as an upper bound on the row's minimum.
 * A certify row records more than a number: the point itself, as proof that the
 * class changes within eps. So the point is checked here once more, as a reader
 * of the results file would check it, and nothing is recorded unless it holds:
 * each coordinate is finite, within the clip box [0, 1] (clip), and within the
 * ball as computed in double (|x_j - x0_j| <= eps for l_inf, the sum in index
 * order <= eps for l1); the exact forward pass at x gives a class other than c
 * with a strictly larger logit (targeted: z_target > z_c). Cbc's tolerances can
 * put a point a hair outside the ball (x0 - eps rounds), so it is moved in first:
 * l_inf coordinates step towards x0 by one ulp until they satisfy the test, and
 * an l1 point is shrunk towards x0 to (1 - 1e-9) eps, room for any summation
 * order. The class test runs after the move, on the stored bits. */
#include "certify.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "forward.h"

#define L1_ROOM 1e-9

static double clamp01(double v) { return v < 0 ? 0 : v > 1 ? 1 : v; }

/* x moved into the region in place (x0 lies in it, clip box included). */
static void move_in(double *x, const double *x0, size_t n, norm_type norm, double eps, int clip)
{
    for (size_t j = 0; j < n; j++) {
        if (!isfinite(x[j])) x[j] = x0[j];
        if (clip) x[j] = clamp01(x[j]);
    }
    if (norm == NORM_INF) {
        for (size_t j = 0; j < n; j++) {
            if (x[j] > x0[j] + eps) x[j] = x0[j] + eps;
            if (x[j] < x0[j] - eps) x[j] = x0[j] - eps;
            while (fabs(x[j] - x0[j]) > eps) x[j] = nextafter(x[j], x0[j]);
        }
    } else if (norm == NORM_1) {
        double s = 0, room = eps * (1 - L1_ROOM);
        for (size_t j = 0; j < n; j++) s += fabs(x[j] - x0[j]);
        if (s > room) {
            double f = room / s;
            for (size_t j = 0; j < n; j++) {
                x[j] = x0[j] + (x[j] - x0[j]) * f;
                if (clip) x[j] = clamp01(x[j]);
            }
        }
    }
}

static int in_region(const double *x, const double *x0, size_t n, norm_type norm, double eps, int clip)
{
    double s = 0;
    for (size_t j = 0; j < n; j++) {
        if (!isfinite(x[j])) return 0;
        if (clip && !(x[j] >= 0 && x[j] <= 1)) return 0;
        double d = fabs(x[j] - x0[j]);
        if (norm == NORM_INF && !(d <= eps)) return 0;
        s += norm == NORM_2 ? d * d : d;
    }
    if (norm == NORM_1) return s <= eps;
    if (norm == NORM_2) return sqrt(s) <= eps;
    return 1;
}

int cert_counterexample_holds(const nn_model *m, const double *x0, const double *x, norm_type norm, double eps,
                              int clip, int c, int target, double *logits, int *cls, nn_error *err)
{
    size_t n = model_input_size(m), k = model_output_size(m);
    *cls = -1;
    if (!in_region(x, x0, n, norm, eps, clip)) return NN_OK;
    int rc = forward_run(m, x, 1, logits, err);
    if (rc) return rc;
    for (size_t o = 0; o < k; o++)
        if (!isfinite(logits[o])) return NN_OK;
    int j = target == CERT_UNTARGETED ? forward_argmax(logits, k) : target;
    if (j >= 0 && j != c && logits[j] > logits[c]) *cls = j;
    return NN_OK;
}

int cert_milp_point(cert_verifier *v, size_t row, const double *x0, norm_type norm, double eps, int clip, double *x,
                    int *has, nn_error *err)
{
    (void)err;
    bound_milp_row mr;
    const double *p;
    *has = 0;
    if (bound_milp_result(v->decided, row, &mr, &p) || !p) return NN_OK;
    size_t n = model_input_size(v->model);
    memcpy(x, p, n * sizeof *x);
    move_in(x, x0, n, norm, eps, clip);
    *has = 1;
    return NN_OK;
}

int cert_milp_counterexample(cert_verifier *v, const double *x0, norm_type norm, double eps, int clip, int c,
                             int target, double *x, double *logits, int *cls, nn_error *err)
{
    size_t n = model_input_size(v->model), k = (size_t)v->n_classes;
    double *tx = malloc(n * sizeof *tx), *tz = malloc(k * sizeof *tz), best = INFINITY;
    int rc = tx && tz ? NN_OK : nn_fail(err, NN_ENOMEM, "MILP counterexample: out of memory");
    *cls = -1;
    for (size_t r = 0; r < v->rows && !rc; r++) {
        bound_milp_row mr;
        int has, j;
        /* the most negative row first: Cbc's value orders the candidates only */
        if (bound_milp_result(v->decided, r, &mr, NULL) || !(mr.incumbent < 0) || !(mr.incumbent < best)) continue;
        rc = cert_milp_point(v, r, x0, norm, eps, clip, tx, &has, err);
        if (!rc && has) rc = cert_counterexample_holds(v->model, x0, tx, norm, eps, clip, c, target, tz, &j, err);
        if (rc || !has || j < 0) continue;
        best = mr.incumbent;
        memcpy(x, tx, n * sizeof *x);
        memcpy(logits, tz, k * sizeof *logits);
        *cls = j;
    }
    free(tx), free(tz);
    return rc;
}
