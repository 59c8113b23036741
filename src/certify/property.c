/* Verification of a property (doc/verify.md).
 *
 * The property is the unsafe set: a disjunction of (input box, output
 * conjunction) cases. unsat needs every case ruled out: for its outer box, some
 * row of its conjunction has a lower bound above its outer right-hand side, so
 * no input of the box can satisfy that row. Cases sharing a box share one bound
 * computation (all their rows are the rows of one specification). sat needs a
 * point: PGD on each case, confirmed by a separate forward pass against the
 * inner box and rows.
 *
 * Order: a short PGD run (a fifth of the steps) per case from the centre of its
 * box, which finds the easy counterexamples cheaply, then the bounds box by box,
 * then the full PGD runs on the cases the bounds left open. The wall clock is read before every case's
 * run and every box's bounds; a single bound computation is not interrupted. */
#include "property.h"
#include "property_internal.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn_clock.h"

static const char *const answer_names[] = {"unsat", "sat", "unknown", "timeout"};

const char *prop_answer_name(prop_answer a) { return (unsigned)a < 4 ? answer_names[a] : "?"; }

void prop_spec_init(prop_spec *p) { memset(p, 0, sizeof *p); }

void prop_spec_free(prop_spec *p)
{
    free(p->lo), free(p->hi), free(p->lo_in), free(p->hi_in);
    free(p->conj_start), free(p->row), free(p->rhs), free(p->rhs_in);
    free(p->case_box), free(p->case_conj);
    prop_spec_init(p);
}

double prop_sum_err(double a, double b, double s)
{
    double bb = s - a;
    return (a - (s - bb)) + (b - bb);
}

double prop_add_dir(double a, double b, int dir)
{
    double s = a + b;
    if (!isfinite(s)) return s;
    double e = prop_sum_err(a, b, s);
    return (dir > 0 && e > 0) || (dir < 0 && e < 0) ? nextafter(s, dir > 0 ? INFINITY : -INFINITY) : s;
}

double prop_div_dir(double a, double b, int dir)
{
    double q = a / b;
    if (!isfinite(q)) return q;
    double r = fma(-q, b, a);   /* exact: a / b = q + r / b */
    if (r != 0 && ((r > 0) == (b > 0)) == (dir > 0)) q = nextafter(q, dir > 0 ? INFINITY : -INFINITY);
    return q;
}

int prop_check_sizes(const prop_spec *p, size_t n_in, size_t n_out, const char *name, nn_error *err)
{
    if (p->n_x != n_in)
        return nn_fail(err, NN_ESHAPE, "%s: declares inputs X_0 .. X_%zu but the model has %zu input%s%s", name,
                       p->n_x - 1, n_in, n_in == 1 ? "" : "s",
                       p->n_x > n_in ? " (an input index is out of range)" : " (some inputs are not declared)");
    if (p->n_y != n_out)
        return nn_fail(err, NN_ESHAPE, "%s: declares outputs Y_0 .. Y_%zu but the model has %zu output%s%s", name,
                       p->n_y - 1, n_out, n_out == 1 ? "" : "s",
                       p->n_y > n_out ? " (an output index is out of range)" : " (some outputs are not declared)");
    return NN_OK;
}

int prop_conj_holds(const prop_spec *p, size_t j, const double *y)
{
    /* |fl(a . y) - a . y| <= gamma(n_y) sum |a_k y_k|; (n_y + 1) eps_mach is larger */
    double gam = (double)(p->n_y + 1) * DBL_EPSILON;
    for (size_t r = p->conj_start[j]; r < p->conj_start[j + 1]; r++) {
        const double *a = p->row + r * p->n_y;
        double s = 0.0, mag = 0.0;
        for (size_t k = 0; k < p->n_y; k++) {
            s += a[k] * y[k];
            mag += fabs(a[k] * y[k]);
        }
        if (!isfinite(s) || !(s + gam * mag <= p->rhs_in[r])) return 0;
    }
    return 1;
}

int prop_box_holds(const prop_spec *p, size_t b, const double *x)
{
    for (size_t i = 0; i < p->n_x; i++)
        if (!(x[i] >= p->lo_in[b * p->n_x + i] && x[i] <= p->hi_in[b * p->n_x + i])) return 0;
    return 1;
}

void prop_options_default(prop_options *o)
{
    memset(o, 0, sizeof *o);
    bound_options_default(&o->bopt);
    o->bopt.method = METHOD_CROWN;
    o->timeout = 0.0;
    o->steps = 100;
    o->restarts = 5;
    o->seed = 0;
    bab_options_default(&o->bab);
}

void prop_result_free(prop_result *r)
{
    free(r->x), free(r->y);
    memset(r, 0, sizeof *r);
}

int prop_late(const prop_options *o, double deadline)
{
    int late = nn_wall_seconds() > deadline;
    return o->agree ? o->agree(o->agree_ctx, late) : late;
}

/* Bounds over box b for the rows of every case on it; proven[k] = 1 for the
 * cases some row rules out. */
static int prove_box(const nn_model *m, const prop_spec *p, size_t b, const bound_options *bopt, unsigned char *proven,
                     nn_error *err)
{
    size_t rows = 0, ny = p->n_y;
    for (size_t k = 0; k < p->n_cases; k++)
        if (p->case_box[k] == b) rows += p->conj_start[p->case_conj[k] + 1] - p->conj_start[p->case_conj[k]];
    if (rows == 0) return NN_OK;  /* only empty conjunctions: nothing to rule out */
    double *C = nn_malloc(rows * ny * sizeof *C, "specification rows", err);
    double *lower = nn_malloc(rows * sizeof *lower, "specification bounds", err);
    double *upper = nn_malloc(rows * sizeof *upper, "specification bounds", err);
    int rc = C && lower && upper ? NN_OK : NN_ENOMEM;
    size_t w = 0;
    for (size_t k = 0; !rc && k < p->n_cases; k++) {
        if (p->case_box[k] != b) continue;
        size_t j = p->case_conj[k], nr = p->conj_start[j + 1] - p->conj_start[j];
        memcpy(C + w * ny, p->row + p->conj_start[j] * ny, nr * ny * sizeof *C);
        w += nr;
    }
    prop_region reg;
    int have_reg = 0, have_st = 0;
    bound_state st;
    if (!rc && !(rc = prop_region_make(m, p->lo + b * p->n_x, p->hi + b * p->n_x, &reg, err))) have_reg = 1;
    if (!rc && !(rc = bound_state_init(&st, m, bopt, err))) have_st = 1;
    if (have_st) st.outputs_unused = 1;
    if (!rc) rc = bound_set_region(&st, &reg.region, err);
    if (!rc) rc = bound_compute(&st, err);
    if (!rc) rc = bound_spec(&st, C, rows, ny, NULL, lower, upper, err);
    if (!rc) {
        w = 0;
        for (size_t k = 0; k < p->n_cases; k++) {
            if (p->case_box[k] != b) continue;
            size_t j = p->case_conj[k];
            for (size_t r = p->conj_start[j]; r < p->conj_start[j + 1]; r++, w++)
                if (lower[w] > p->rhs[r]) proven[k] = 1;  /* NaN never proves */
        }
    }
    if (have_st) bound_state_free(&st);
    if (have_reg) prop_region_free(&reg);
    free(C), free(lower), free(upper);
    return rc;
}

/* The checkpoint o->bab.resume into s, its verification's place into proven and
 * r; its values are checked against p (the domains by prop_bab_box). */
static int resume_from(const prop_spec *p, const prop_options *o, bab_snapshot *s, unsigned char *proven,
                       prop_result *r, nn_error *err)
{
    int rc = bab_snapshot_decode(o->bab.resume, o->bab.resume_len, s, err);
    if (rc) return rc;
    if (s->box >= p->n_boxes || s->n_cases != p->n_cases || s->n_x != p->n_x) {
        rc = nn_fail(err, NN_EFORMAT, "branch-and-bound checkpoint: it is at box %zu of a property with %zu "
                     "disjuncts and %zu inputs; this one has %zu boxes, %zu disjuncts and %zu inputs", s->box,
                     s->n_cases, s->n_x, p->n_boxes, p->n_cases, p->n_x);
        bab_snapshot_free(s);
        return rc;
    }
    memcpy(proven, s->proven, p->n_cases);
    r->boxes_proven = s->boxes_proven;
    r->pgd_steps = s->pgd_steps;
    r->bab = s->bab;
    r->bab.resumed_open = -1;
    r->bab.resumed_seconds = s->elapsed;
    return NN_OK;
}

int prop_verify_chw(const nn_model *m, const prop_spec *p, const prop_options *o, prop_result *r, nn_error *err)
{
    memset(r, 0, sizeof *r);
    r->bab.proven_margin = INFINITY;
    double t0 = nn_wall_seconds();
    double deadline = o->timeout > 0 ? t0 + o->timeout : INFINITY;
    int rc = NN_OK;
    if (o->steps < 1 || o->restarts < 1)
        return nn_fail(err, NN_EARG, "verify: PGD steps and restarts must be >= 1 (got %d, %d)", o->steps, o->restarts);
    r->x = nn_malloc(p->n_x * sizeof *r->x, "counterexample", err);
    r->y = nn_malloc(p->n_y * sizeof *r->y, "counterexample outputs", err);
    unsigned char *proven = nn_calloc(p->n_cases ? p->n_cases : 1, 1, "proven disjuncts", err);
    if (!r->x || !r->y || !proven) {
        free(proven);
        prop_result_free(r);
        return NN_ENOMEM;
    }
    uint64_t rng = o->seed ^ 0xBB67AE8584CAA73Bull;
    r->answer = PROP_UNKNOWN;
    r->bab.resumed_open = -1;
    int decided = 0;
    prop_progress pg = {t0, 0.0, NULL, t0 + o->bab.save_every};
    bab_snapshot snap;
    size_t first_box = 0;
    int resumed = o->bab.enabled && o->bab.resume;
    if (resumed) {
        /* a checkpoint: phase 1 and the boxes before its own are done */
        if ((rc = resume_from(p, o, &snap, proven, r, err))) {
            free(proven);
            prop_result_free(r);
            return rc;
        }
        rng = snap.rng, first_box = snap.box;
        pg.elapsed0 = snap.elapsed, pg.resume = &snap;
        if (o->timeout > 0) deadline -= snap.elapsed;
    }
    /* 1: a short run per case from the centre */
    prop_options quick = *o;
    quick.steps = o->steps / 5 > 0 ? o->steps / 5 : 1;
    for (size_t k = 0; !rc && !decided && !pg.resume && k < p->n_cases; k++) {
        int found = 0;
        if (prop_late(o, deadline)) r->answer = PROP_TIMEOUT, decided = 1;
        else if (!(rc = prop_attack_run(m, p, k, &quick, 0, &rng, r->x, r->y, &found, &r->pgd_steps, err)) && found)
            r->answer = PROP_SAT, r->sat_case = k, decided = 1;
    }
    /* 2: the bounds, box by box */
    for (size_t b = first_box; !rc && !decided && b < p->n_boxes; b++) {
        if (prop_late(o, deadline)) {
            r->answer = PROP_TIMEOUT, decided = 1;
            break;
        }
        if (o->bab.enabled) {
            if ((rc = prop_bab_box(m, p, b, o, deadline, &rng, proven, r, &pg, &decided, err)) || decided) break;
        } else {
            if ((rc = prove_box(m, p, b, &o->bopt, proven, err))) break;
        }
        int all = 1;
        for (size_t k = 0; k < p->n_cases; k++)
            if (p->case_box[k] == b && !proven[k]) all = 0;
        r->boxes_proven += (size_t)all;
    }
    for (size_t k = 0; k < p->n_cases; k++) r->cases_proven += proven[k];
    if (o->bab.enabled && p->n_boxes) r->bab.volume_proven /= (double)p->n_boxes;
    if (!rc && !decided && r->cases_proven == p->n_cases) r->answer = PROP_UNSAT, decided = 1;
    /* 3: the full runs on the open cases */
    for (int run = 0; !rc && !decided && run < o->restarts; run++)
        for (size_t k = 0; !rc && !decided && k < p->n_cases; k++) {
            if (proven[k]) continue;
            int found = 0;
            if (prop_late(o, deadline)) r->answer = PROP_TIMEOUT, decided = 1;
            else if (!(rc = prop_attack_run(m, p, k, o, run, &rng, r->x, r->y, &found, &r->pgd_steps, err)) && found)
                r->answer = PROP_SAT, r->sat_case = k, decided = 1;
        }
    if (resumed) bab_snapshot_free(&snap);  /* what prop_bab_box did not take */
    free(proven);
    r->seconds = pg.elapsed0 + (nn_wall_seconds() - t0);
    if (rc) prop_result_free(r);
    return rc;
}

/* Index in H, W, C order of value k in C, H, W order. */
static size_t hwc_of_chw(nn_shape s, size_t k)
{
    size_t plane = (size_t)s.h * s.w, c = k / plane, hw = k % plane;
    return hw * (size_t)s.c + c;
}

int prop_verify(const nn_model *m, const prop_spec *p, const prop_options *o, prop_result *r, nn_error *err)
{
    memset(r, 0, sizeof *r);
    const char *name = m->source ? m->source : "model";
    int rc = prop_check_sizes(p, model_input_size(m), model_output_size(m), name, err);
    if (rc) return rc;
    /* VNN-LIB numbers X_i in the ONNX input's flat order: H, W, C for an NHWC
     * model (doc/verify.md "Limits"), so its boxes are read into C, H, W order
     * and the counterexample is written back in the property's order */
    const nn_meta *layout = model_get_meta(m, "input_layout");
    if (!layout || !layout->str || !strcmp(layout->str, "chw")) return prop_verify_chw(m, p, o, r, err);
    if (strcmp(layout->str, "nhwc"))
        return nn_fail(err, NN_EUNSUPPORTED, "%s: input_layout '%s' is not one nncert knows (chw, nhwc)", name,
                       layout->str);
    prop_spec q = *p;
    size_t n = p->n_x, total = p->n_boxes * n;
    double *buf = nn_malloc((4 * total + n) * sizeof *buf, "permuted property boxes", err);
    if (!buf) return NN_ENOMEM;
    q.lo = buf, q.hi = buf + total, q.lo_in = buf + 2 * total, q.hi_in = buf + 3 * total;
    for (size_t b = 0; b < p->n_boxes; b++)
        for (size_t k = 0; k < n; k++) {
            size_t from = b * n + hwc_of_chw(m->input, k), to = b * n + k;
            q.lo[to] = p->lo[from], q.hi[to] = p->hi[from];
            q.lo_in[to] = p->lo_in[from], q.hi_in[to] = p->hi_in[from];
        }
    rc = prop_verify_chw(m, &q, o, r, err);
    if (!rc && r->x) {
        double *x = buf + 4 * total;
        for (size_t k = 0; k < n; k++) x[hwc_of_chw(m->input, k)] = r->x[k];
        memcpy(r->x, x, n * sizeof *x);
    }
    free(buf);
    return rc;
}
