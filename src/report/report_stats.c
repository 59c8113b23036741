/* The report's numbers, per image first.
 *
 * With target = all an image has one row per other class, so everything that is
 * "per image" is taken over its rows: its radius is the smallest radius of its
 * rows (the image is robust only while every target is), it is misclassified or
 * failed when any row is, and its PGD upper bound is the smallest pgd_eps of its
 * rows. Certified accuracy at eps counts the images whose radius is >= eps
 * among all images, so at eps = 0 it is the clean accuracy. PGD's side counts
 * the correctly classified images PGD did not break at eps (pgd_eps > eps, or
 * none found): an upper bound on the robust accuracy. Quantiles interpolate
 * linearly between order statistics (numpy's default), so a reader can check
 * them with numpy.percentile. Radii of two methods within 1e-3 relative (the
 * default search tolerance) are a tie: the search cannot tell them apart. */
#include "report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TIE_RTOL 1e-3
#define MAX_CHOSEN_EPS 6

typedef struct {
    int64_t index;
    int status;
    double radius, pgd;
} prow;

static int cmp_prow(const void *a, const void *b)
{
    const prow *x = a, *y = b;
    return (x->index > y->index) - (x->index < y->index);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double report_quantile(const double *v, size_t n, double q)
{
    if (n == 0) return NAN;
    double h = q * (double)(n - 1);
    size_t lo = (size_t)floor(h), hi = lo + 1 < n ? lo + 1 : lo;
    return v[lo] + (h - (double)lo) * (v[hi] - v[lo]);
}

static int series_stats(const report *r, report_series *se, nn_error *err)
{
    report_stats *s = &se->st;
    size_t n = 0;
    int has_pgd = 1;
    for (size_t k = 0; k < se->n_files; k++) {
        n += r->files[se->files[k]].n;
        has_pgd &= r->files[se->files[k]].pgd_eps != NULL;
    }
    prow *rows = malloc((n ? n : 1) * sizeof *rows);
    double *sorted = malloc((n ? n : 1) * sizeof *sorted), *ratio = malloc((n ? n : 1) * sizeof *ratio);
    s->image = malloc((n ? n : 1) * sizeof *s->image);
    s->state = malloc((n ? n : 1) * sizeof *s->state);
    s->radius = malloc((n ? n : 1) * sizeof *s->radius);
    s->pgd = has_pgd ? malloc((n ? n : 1) * sizeof *s->pgd) : NULL;
    if (!rows || !sorted || !ratio || !s->image || !s->state || !s->radius || (has_pgd && !s->pgd)) {
        free(rows), free(sorted), free(ratio);
        return nn_fail(err, NN_ENOMEM, "out of memory for the statistics of %s", se->name);
    }
    double evals = 0;
    size_t m = 0;
    for (size_t k = 0; k < se->n_files; k++) {
        const report_file *f = &r->files[se->files[k]];
        for (size_t i = 0; i < f->n; i++, m++) {
            int st = (int)f->status[i];
            double p = f->pgd_eps ? f->pgd_eps[i] : NAN;
            rows[m] = (prow){f->index[i], st, f->radius[i], isnan(p) ? INFINITY : p};
            s->status[st]++;
            s->seconds += f->seconds[i];
            evals += (double)f->evals[i];
            if (st == 0 && f->pgd_eps && p <= f->radius[i]) s->unsound++;
            if (st == 0 && f->milp_eps && f->milp_eps[i] <= f->radius[i]) s->milp_unsound++;
        }
    }
    s->rows = n;
    s->sec_per_task = n ? s->seconds / (double)n : NAN;
    s->evals_per_task = n ? evals / (double)n : NAN;
    qsort(rows, n, sizeof *rows, cmp_prow);
    size_t ns = 0, nr = 0;
    double ratio_sum = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        int state = REPORT_SCORED;
        double rad = INFINITY, pgd = INFINITY;
        for (; j < n && rows[j].index == rows[i].index; j++) {
            if (rows[j].status == 3) state = REPORT_FAILED;
            else if (rows[j].status == 2 && state != REPORT_FAILED) state = REPORT_MISCLASSIFIED;
            /* a timed-out row counts with the radius its search had certified: a lower bound */
            else if (rows[j].status <= 1 || rows[j].status == 4)
                rad = fmin(rad, rows[j].radius), pgd = fmin(pgd, rows[j].pgd);
        }
        size_t k = s->images++;
        s->image[k] = rows[i].index;
        s->state[k] = state;
        s->radius[k] = state == REPORT_SCORED ? rad : NAN;
        if (s->pgd) s->pgd[k] = state == REPORT_SCORED ? pgd : NAN;
        if (state == REPORT_SCORED) {
            s->scored++;
            sorted[ns++] = rad;
            if (rad > 0) s->certified++;
            if (s->pgd && isfinite(pgd)) {
                s->pgd_found++;
                if (pgd > 0) ratio_sum += rad / pgd, nr++;
                ratio[s->pgd_found - 1] = pgd;
            }
        } else if (state == REPORT_MISCLASSIFIED) {
            s->misclassified++;
        } else {
            s->failed++;
        }
        i = j;
    }
    qsort(sorted, ns, sizeof *sorted, cmp_double);
    s->accuracy = s->images ? (double)s->scored / (double)s->images : NAN;
    s->min = ns ? sorted[0] : NAN;
    s->max = ns ? sorted[ns - 1] : NAN;
    s->q1 = report_quantile(sorted, ns, 0.25);
    s->median = report_quantile(sorted, ns, 0.5);
    s->q3 = report_quantile(sorted, ns, 0.75);
    double sum = 0;
    for (size_t i = 0; i < ns; i++) sum += sorted[i];
    s->mean = ns ? sum / (double)ns : NAN;
    s->pgd_ratio_n = nr;
    s->pgd_ratio_mean = nr ? ratio_sum / (double)nr : NAN;
    qsort(ratio, s->pgd_found, sizeof *ratio, cmp_double);
    s->pgd_median = report_quantile(ratio, s->pgd_found, 0.5);
    free(rows), free(sorted), free(ratio);
    return NN_OK;
}

double report_certified_at(const report_stats *s, double eps)
{
    if (!s->images) return NAN;
    size_t c = 0;
    for (size_t i = 0; i < s->images; i++) c += s->state[i] == REPORT_SCORED && s->radius[i] >= eps;
    return (double)c / (double)s->images;
}

double report_pgd_robust_at(const report_stats *s, double eps)
{
    if (!s->images || !s->pgd) return NAN;
    size_t c = 0;
    for (size_t i = 0; i < s->images; i++) c += s->state[i] == REPORT_SCORED && !(s->pgd[i] <= eps);
    return (double)c / (double)s->images;
}

/* 1, 2 or 5 times a power of ten, at most x. */
static double nice_below(double x)
{
    double p = pow(10.0, floor(log10(x))), m = x / p;
    return (m >= 5 ? 5 : m >= 2 ? 2 : 1) * p;
}

/* Round eps between the 10th and 90th percentile of the positive radii. */
static void choose_eps(report *r)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n_series; i++) n += r->series[i].st.scored;
    double *v = malloc((n ? n : 1) * sizeof *v);
    size_t k = 0;
    for (size_t i = 0; v && i < r->n_series; i++) {
        const report_stats *s = &r->series[i].st;
        for (size_t j = 0; j < s->images; j++)
            if (s->state[j] == REPORT_SCORED && s->radius[j] > 0) v[k++] = s->radius[j];
    }
    r->n_eps = 0;
    r->eps_chosen = 1;
    if (!v || k == 0) {
        free(v);
        return;
    }
    qsort(v, k, sizeof *v, cmp_double);
    double lo = report_quantile(v, k, 0.1), hi = report_quantile(v, k, 0.9);
    double cand[64];
    size_t nc = 0;
    for (double p = pow(10.0, floor(log10(lo))); p <= hi && nc < 60; p *= 10)
        for (int m = 0; m < 3; m++) {
            double e = (m == 0 ? 1 : m == 1 ? 2 : 5) * p;
            if (e >= lo * (1 - 1e-12) && e <= hi) cand[nc++] = e;
        }
    if (nc == 0) cand[nc++] = nice_below(report_quantile(v, k, 0.5));
    for (size_t i = 0; i < MAX_CHOSEN_EPS && i < nc; i++) {
        size_t at = nc <= MAX_CHOSEN_EPS ? i : (size_t)llround((double)i * (double)(nc - 1) / (MAX_CHOSEN_EPS - 1));
        r->eps[r->n_eps++] = cand[at];
    }
    free(v);
}

static void compare(const report *r, int a, int b, report_compare *c)
{
    const report_stats *x = &r->series[a].st, *y = &r->series[b].st;
    memset(c, 0, sizeof *c);
    c->a = a, c->b = b;
    double sum = 0;
    for (size_t i = 0, j = 0; i < x->images && j < y->images;) {
        if (x->image[i] < y->image[j]) i++;
        else if (x->image[i] > y->image[j]) j++;
        else {
            if (x->state[i] == REPORT_SCORED && y->state[j] == REPORT_SCORED) {
                double ra = x->radius[i], rb = y->radius[j];
                c->common++;
                if (fabs(ra - rb) <= TIE_RTOL * fmax(ra, rb)) c->ties++;
                else if (ra > rb) c->a_wins++;
                else c->b_wins++;
                if (rb > 0) sum += ra / rb, c->ratio_n++;
            }
            i++, j++;
        }
    }
    c->mean_ratio = c->ratio_n ? sum / (double)c->ratio_n : NAN;
}

int report_compute(report *r, const double *eps, size_t n_eps, nn_error *err)
{
    for (size_t i = 0; i < r->n_series; i++) {
        int rc = series_stats(r, &r->series[i], err);
        if (rc) return rc;
    }
    if (n_eps > REPORT_MAX_EPS) return nn_fail(err, NN_EARG, "at most %d eps values, got %zu", REPORT_MAX_EPS, n_eps);
    if (n_eps) {
        memcpy(r->eps, eps, n_eps * sizeof *eps);
        r->n_eps = n_eps;
        r->eps_chosen = 0;
    } else {
        choose_eps(r);
    }
    /* every pair of series on the same model and norm that share scored images */
    size_t ns = r->n_series;
    r->cmp = calloc(ns * ns / 2 + 1, sizeof *r->cmp);
    if (!r->cmp) return nn_fail(err, NN_ENOMEM, "out of memory");
    for (size_t a = 0; a < ns; a++)
        for (size_t b = a + 1; b < ns; b++) {
            const report_file *fa = &r->files[r->series[a].files[0]], *fb = &r->files[r->series[b].files[0]];
            if (strcmp(fa->model_sha256, fb->model_sha256) || strcmp(fa->norm, fb->norm) ||
                strcmp(fa->data, fb->data))
                continue;
            report_compare c;
            compare(r, (int)a, (int)b, &c);
            if (c.common) r->cmp[r->n_cmp++] = c;
        }
    return NN_OK;
}
