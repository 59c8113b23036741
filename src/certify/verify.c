/* Verification at one eps and the per-task driver (doc/radius.md,
 * "Certified radius").
 *
 * cert_verify bounds the margin rows e_c - e_j over the region with the chosen
 * method and certifies iff the smallest row lower bound is > 0; a NaN anywhere
 * therefore never certifies. cert_run_task turns one (image, target) pair into a
 * result row, either at a fixed eps or by a radius search whose oracle is
 * cert_verify; it does no I/O so that a scheduler can run it anywhere. */
#include "certify.h"
#include "nn_clock.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "forward.h"

static const char *const status_names[] = {"certified", "uncertified", "misclassified", "failed", "timeout"};

const char *cert_status_name(cert_status s)
{
    return (unsigned)s < CERT_STATUS_COUNT ? status_names[s] : "?";
}

int cert_verifier_init(cert_verifier *v, const nn_model *m, const bound_options *opt, nn_error *err)
{
    memset(v, 0, sizeof *v);
    v->model = m;
    size_t n = model_output_size(m);
    if (n < 2) return nn_fail(err, NN_EVALUE, "%s: a margin needs at least 2 outputs, the model has %zu",
                              m->source ? m->source : "model", n);
    v->n_classes = (int)n;
    v->C = nn_malloc(n * n * sizeof *v->C, "margin rows", err);
    v->lower = nn_malloc(n * sizeof *v->lower, "margin lower bounds", err);
    v->upper = nn_malloc(n * sizeof *v->upper, "margin upper bounds", err);
    v->row_target = nn_malloc(n * sizeof *v->row_target, "margin targets", err);
    v->cert_lower = nn_malloc(n * sizeof *v->cert_lower, "certificate rows", err);
    v->cert_eval = -1;
    v->milp_class = -1;
    if (!v->C || !v->lower || !v->upper || !v->row_target || !v->cert_lower) {
        cert_verifier_free(v);
        return NN_ENOMEM;
    }
    int rc = bound_state_init(&v->st, m, opt, err);
    if (rc) {
        free(v->C), free(v->lower), free(v->upper), free(v->row_target), free(v->cert_lower);
        memset(v, 0, sizeof *v);
        return rc;
    }
    v->st.outputs_unused = 1; /* margins come from bound_spec */
    v->decided = &v->st;
    if (opt->method == METHOD_MILP) {
        v->milp_x = nn_malloc(model_input_size(m) * sizeof *v->milp_x, "MILP counterexample", err);
        v->milp_z = nn_malloc(n * sizeof *v->milp_z, "MILP counterexample", err);
        if (!v->milp_x || !v->milp_z) {
            cert_verifier_free(v);
            return NN_ENOMEM;
        }
    }
    cert_verifier_split_rows(v, (cert_row_splitter){0});
    return NN_OK;
}

void cert_verifier_free(cert_verifier *v)
{
    if (!v) return;
    if (v->model && v->C && v->lower && v->upper && v->row_target && v->cert_lower) bound_state_free(&v->st);
    if (v->have_gate) bound_state_free(&v->gate);
    free(v->trace);
    free(v->milp_x);
    free(v->milp_z);
    free(v->cert_lower);
    free(v->C);
    free(v->lower);
    free(v->upper);
    free(v->row_target);
    memset(v, 0, sizeof *v);
}

/* An evaluation of the rows by st: the least lower bound in *margin. */
static int evaluate(cert_verifier *v, bound_state *st, const bound_region *region, double *margin, nn_error *err)
{
    int rc = bound_set_region(st, region, err);
    if (!rc) rc = bound_compute(st, err);
    if (!rc) rc = bound_spec(st, v->C, v->rows, (size_t)v->n_classes, NULL, v->lower, v->upper, err);
    if (rc) return rc;
    double m = INFINITY;
    for (size_t r = 0; r < v->rows; r++) {
        if (isnan(v->lower[r])) {
            m = NAN;
            break;
        }
        if (v->lower[r] < m) m = v->lower[r];
    }
    *margin = m;
    return NN_OK;
}

/* LP-ALL's and MILP's layers cost seconds an eps where CROWN costs
 * milliseconds, and a certificate is a certificate whoever proves it: CROWN goes
 * first. LP-LAST's layers are CROWN's already, and its rows CROWN proves need no
 * LP (bound_spec_row_settled): a CROWN state first would only repeat them. */
static int uses_gate(const cert_verifier *v)
{
    return !v->full_bounds && bound_method_lp_layers(v->st.opt.method);
}

static int gate_state(cert_verifier *v, nn_error *err)
{
    if (v->have_gate) return NN_OK;
    bound_options o = v->st.opt;
    o.method = METHOD_CROWN;
    int rc = bound_state_init(&v->gate, v->model, &o, err);
    if (rc) return rc;
    v->gate.outputs_unused = 1;
    v->have_gate = 1;
    return NN_OK;
}

int cert_verify(cert_verifier *v, const double *x0, norm_type norm, double eps, int clip, int c, int target,
                double *margin, int *certified, nn_error *err)
{
    *margin = NAN;
    *certified = 0;
    if (!(eps >= 0) || !isfinite(eps)) return nn_fail(err, NN_EARG, "eps must be finite and >= 0, got %g", eps);
    if (c < 0 || c >= v->n_classes) return nn_fail(err, NN_EVALUE, "class %d out of range [0, %d)", c, v->n_classes);
    if (target != CERT_UNTARGETED && (target < 0 || target >= v->n_classes || target == c))
        return nn_fail(err, NN_EVALUE, "target %d invalid for class %d of %d", target, c, v->n_classes);
    bound_region region = {.center = x0, .eps = eps, .norm = norm, .clip = clip, .clip_lo = 0.0, .clip_hi = 1.0};
    v->rows = cert_margin_rows(c, target, v->n_classes, v->C, (size_t)v->n_classes, v->row_target);
    v->decided = &v->st;
    v->st.spec_sign_only = !v->full_bounds;
    double m = NAN;
    int rc = NN_OK;
    if (uses_gate(v)) {
        if (!(rc = gate_state(v, err))) rc = evaluate(v, &v->gate, &region, &m, err);
        if (rc) return rc;
        if (m > 0.0) v->decided = &v->gate;
    }
    if (v->decided == &v->st && (rc = evaluate(v, &v->st, &region, &m, err))) return rc;
    v->evals++;
    *margin = m;
    *certified = m > 0.0;
    return NN_OK;
}

typedef struct {
    cert_verifier *v;
    const cert_task_options *o;
    const double *x;
    long index;
    int c, target;
} verify_ctx;

static void record_certifying(cert_verifier *v, long domains, double bab_margin);
static int is_certifying(const cert_verifier *v, double eps);

/* The task's evaluations, in order, for its certificate (certificate.c). */
static void trace_push(cert_verifier *v, double eps)
{
    if (v->n_trace == v->cap_trace) {
        size_t cap = v->cap_trace ? 2 * v->cap_trace : 64;
        double *p = realloc(v->trace, cap * sizeof *p);
        if (!p) {
            v->trace_lost = 1;
            return;
        }
        v->trace = p, v->cap_trace = cap;
    }
    v->trace[v->n_trace++] = eps;
}

/* cert_verify, recorded: the certifying evaluation is the one the searches
 * report, the first to certify an eps above every eps certified before it
 * (search_radius.c's lo). */
static int verify_traced(cert_verifier *v, const double *x, norm_type norm, double eps, int clip, int c, int target,
                         double *margin, int *certified, nn_error *err)
{
    trace_push(v, eps);
    int rc = cert_verify(v, x, norm, eps, clip, c, target, margin, certified, err);
    if (rc || !*certified || !is_certifying(v, eps)) return rc;
    record_certifying(v, 0, NAN);
    return rc;
}

/* Method milp, eps uncertified: the task keeps the checked counterexample of
 * the smallest such eps (milp_check.c). It only records: the bounds and the
 * verdict at eps are what cert_verify returned. */
static int keep_milp_point(verify_ctx *k, double eps, nn_error *err)
{
    cert_verifier *v = k->v;
    if (!v->milp_x || !(eps < v->milp_eps)) return NN_OK;
    size_t n = model_input_size(v->model);
    double *x = malloc(n * sizeof *x), *z = malloc((size_t)v->n_classes * sizeof *z);
    int cls = -1, rc = x && z ? cert_milp_counterexample(v, k->x, k->o->norm, eps, k->o->clip, k->c, k->target, x,
                                                          z, &cls, err)
                              : nn_fail(err, NN_ENOMEM, "MILP counterexample: out of memory");
    if (!rc && cls >= 0) {
        memcpy(v->milp_x, x, n * sizeof *x);
        memcpy(v->milp_z, z, (size_t)v->n_classes * sizeof *z);
        v->milp_eps = eps;
        v->milp_class = cls;
    }
    free(x), free(z);
    return rc;
}

/* The last evaluation (its eps the trace's last) certifies: the one the row
 * reports, its rows the bounds' (by branch and bound: `domains` > 0 and its
 * margin, the bounds' rows being what it started from). */
static void record_certifying(cert_verifier *v, long domains, double bab_margin)
{
    v->cert_eval = (long)v->n_trace - 1;
    for (int j = 0; j < v->n_classes; j++) v->cert_lower[j] = NAN;
    for (size_t r = 0; r < v->rows; r++) v->cert_lower[v->row_target[r]] = v->lower[r];
    v->cert_bab_domains = domains, v->cert_bab_margin = bab_margin;
}

/* Does a certified evaluation at eps (the trace's last) become the certifying
 * one? The first to certify an eps above every eps certified before it. */
static int is_certifying(const cert_verifier *v, double eps)
{
    return !v->trace_lost && (v->cert_eval < 0 || eps > v->trace[v->cert_eval]);
}

/* The bounds at eps, then branch and bound when they leave it uncertified. Its
 * certificate is the path and the domain count: the search is a function of
 * the job, so running it again with that many domains allowed proves eps again. */
static int verify_at(verify_ctx *k, double eps, double *margin, int *certified, nn_error *err)
{
    int rc = verify_traced(k->v, k->x, k->o->norm, eps, k->o->clip, k->c, k->target, margin, certified, err);
    /* before branch and bound, whose sub-domains reuse the bound state */
    if (!rc && !*certified && k->v->st.opt.method == METHOD_MILP) rc = keep_milp_point(k, eps, err);
    if (!rc && !*certified && k->o->bab.enabled) {
        long before = k->v->bab_domains;
        rc = cert_verify_bab(k->v, k->o, k->x, eps, k->index, k->c, k->target, margin, certified, err);
        if (!rc && *certified && is_certifying(k->v, eps))
            record_certifying(k->v, k->v->bab_domains - before, *margin);
    }
    return rc;
}

static int verify_oracle(void *ctx, double eps, double *margin, nn_error *err)
{
    int certified;
    return verify_at(ctx, eps, margin, &certified, err);
}

int cert_run_task(cert_verifier *v, const cert_task_options *o, const double *x, const double *logits, long index,
                  int label, int target, cert_result *r, nn_error *err)
{
    double t0 = nn_wall_seconds();
    memset(r, 0, sizeof *r);
    r->index = index;
    r->label = label;
    r->pred = forward_argmax(logits, (size_t)v->n_classes);
    r->target = target;
    r->status = CERT_FAILED;
    r->margin = NAN;
    r->hi = INFINITY;
    r->pgd_eps = r->pgd_lo = NAN;   /* not attacked (cert_attack_task fills them) */
    r->pgd_class = -1;
    r->milp_eps = NAN;
    r->milp_class = -1;
    v->milp_eps = INFINITY;
    v->milp_class = -1;
    verify_ctx k = {v, o, x, index, r->pred, target};
    /* A task depends on itself only: FROWN's warm starts stay inside its search. */
    bound_forget_warm(&v->st);
    v->n_trace = 0;
    v->trace_lost = 0;
    v->cert_eval = -1;
    v->cert_bab_domains = 0;
    v->deadline = o->timeout > 0 ? t0 + o->timeout : 0;
    int rc;
    if (o->fixed) {
        double margin;
        int certified;
        rc = verify_at(&k, o->eps, &margin, &certified, err);
        if (!rc) {
            r->evals = 1;
            r->margin = margin;
            r->radius = r->lo = certified ? o->eps : 0.0;
            r->hi = certified ? INFINITY : o->eps;
            r->status = certified ? CERT_CERTIFIED : CERT_UNCERTIFIED;
        }
    } else {
        cert_search_options so = o->search;
        so.margin0 = cert_margin_of_logits(logits, v->n_classes, r->pred, target);
        cert_search_result sr;
        rc = cert_search(&so, verify_oracle, &k, &sr, err);
        if (!rc) {
            r->evals = sr.evals;
            r->radius = sr.radius;
            r->lo = sr.lo;
            r->hi = sr.hi;
            r->margin = sr.margin;
            r->status = sr.radius > 0 ? CERT_CERTIFIED : CERT_UNCERTIFIED;
        } else if (rc == NN_ETIMEOUT) {
            r->evals = sr.evals;
            r->radius = sr.radius;
            r->lo = sr.lo;
            r->hi = sr.hi;
            r->margin = sr.margin;
        }
    }
    v->deadline = 0;
    if (v->milp_class >= 0 && (!rc || rc == NN_ETIMEOUT)) {
        r->milp_eps = v->milp_eps;
        r->milp_class = v->milp_class;
    }
    /* the certificate belongs to the row's radius, or there is none */
    if (v->cert_eval >= 0 && (!(r->radius > 0) || v->trace[v->cert_eval] != r->radius || (rc && rc != NN_ETIMEOUT)))
        v->cert_eval = -1;
    if (rc == NN_ETIMEOUT) {
        /* not a failure: the row keeps what the search had proven */
        r->status = CERT_TIMEOUT;
        snprintf(r->message, sizeof r->message, "task_timeout %g s reached after %d bound evaluations", o->timeout,
                 r->evals);
        rc = NN_OK;
    }
    if (rc) {
        r->code = rc;
        snprintf(r->message, sizeof r->message, "%.255s", err && err->msg[0] ? err->msg : nn_code_name(rc));
    }
    r->seconds = nn_wall_seconds() - t0;
    return rc;
}
