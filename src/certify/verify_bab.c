/* Branch and bound inside the radius search (doc/bab.md "Certified radii").
 *
 * When the bounds leave an eps uncertified, the l_inf ball (clipped or not) is
 * the property "some class j != c reaches z_c" over one input box, and
 * prop_verify's complete search decides it: unsat certifies eps, with the
 * smallest clearance of any ruled-out row over the search tree as the margin (a
 * lower bound on z_c - z_j at every point of the ball, since every leaf's every
 * disjunct was ruled out there or at an ancestor, and empty leaves hold no
 * point). sat and unknown leave eps uncertified; only certified evaluations
 * ever become a radius, so a search cut short costs radius, never soundness.
 *
 * The box a proof covers is the ball rounded outward, the box a counterexample
 * must lie in the ball rounded inward (property.h's outer and inner boxes). */
#include "certify.h"
#include "nn_clock.h"
#include "property_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The unsafe set of (c, target) on B_inf(x0, eps) (clip: within [0, 1]): one
 * disjunct e_c - e_j <= 0 per row of cert_margin_rows. */
static int ball_spec(const cert_verifier *v, const double *x0, double eps, int clip, int c, int target,
                     prop_spec *p, nn_error *err)
{
    size_t n = model_input_size(v->model), ny = (size_t)v->n_classes;
    size_t rows = target == CERT_UNTARGETED ? ny - 1 : 1;
    prop_spec_init(p);
    p->n_x = n, p->n_y = ny, p->n_boxes = 1, p->n_conj = rows, p->n_rows = rows, p->n_cases = rows;
    p->lo = nn_malloc(n * sizeof *p->lo, "ball box", err);
    p->hi = nn_malloc(n * sizeof *p->hi, "ball box", err);
    p->lo_in = nn_malloc(n * sizeof *p->lo_in, "ball box", err);
    p->hi_in = nn_malloc(n * sizeof *p->hi_in, "ball box", err);
    p->conj_start = nn_malloc((rows + 1) * sizeof *p->conj_start, "margin disjuncts", err);
    p->row = nn_calloc(rows * ny, sizeof *p->row, "margin rows", err);
    p->rhs = nn_calloc(rows, sizeof *p->rhs, "margin rows", err);
    p->rhs_in = nn_calloc(rows, sizeof *p->rhs_in, "margin rows", err);
    p->case_box = nn_calloc(rows, sizeof *p->case_box, "margin disjuncts", err);
    p->case_conj = nn_malloc(rows * sizeof *p->case_conj, "margin disjuncts", err);
    if (!p->lo || !p->hi || !p->lo_in || !p->hi_in || !p->conj_start || !p->row || !p->rhs || !p->rhs_in ||
        !p->case_box || !p->case_conj) {
        prop_spec_free(p);
        return NN_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        double lo = prop_add_dir(x0[i], -eps, -1), hi = prop_add_dir(x0[i], eps, 1);
        double lo_in = prop_add_dir(x0[i], -eps, 1), hi_in = prop_add_dir(x0[i], eps, -1);
        if (clip) lo = fmax(lo, 0.0), hi = fmin(hi, 1.0), lo_in = fmax(lo_in, 0.0), hi_in = fmin(hi_in, 1.0);
        if (!(lo <= hi)) {
            prop_spec_free(p);
            return nn_fail(err, NN_EVALUE, "branch and bound: input %zu = %g lies outside the clip range [0, 1]", i,
                           x0[i]);
        }
        p->lo[i] = lo, p->hi[i] = hi, p->lo_in[i] = lo_in, p->hi_in[i] = hi_in;
    }
    size_t k = 0;
    for (int j = 0; j < v->n_classes; j++) {
        if (j == c || (target != CERT_UNTARGETED && j != target)) continue;
        p->row[k * ny + (size_t)c] = 1.0, p->row[k * ny + (size_t)j] = -1.0;
        p->conj_start[k] = k, p->case_conj[k] = k;
        k++;
    }
    p->conj_start[rows] = rows;
    return NN_OK;
}

/* Past the task's deadline? Decided alike by every member of a rank group. */
static int task_late(const cert_verifier *v, const cert_task_options *o)
{
    int late = nn_wall_seconds() >= v->deadline;
    return o->agree ? o->agree(o->agree_ctx, late) : late;
}

int cert_verify_bab(cert_verifier *v, const cert_task_options *o, const double *x0, double eps, long index, int c,
                    int target, double *margin, int *certified, nn_error *err)
{
    *certified = 0;
    if (o->norm != NORM_INF)
        return nn_fail(err, NN_EARG, "branch and bound searches l_inf balls only (its sub-domains are boxes); "
                       "norm is %s", norm_name(o->norm));
    double budget = o->bab_timeout > 0 ? o->bab_timeout : INFINITY;
    if (v->deadline > 0) {
        if (task_late(v, o)) return nn_fail(err, NN_ETIMEOUT, "task timeout before branch and bound at eps %g", eps);
        budget = fmin(budget, fmax(v->deadline - nn_wall_seconds(), 1e-3));
    }
    prop_spec p;
    int rc = ball_spec(v, x0, eps, o->clip, c, target, &p, err);
    if (rc) return rc;
    prop_options po;
    prop_options_default(&po);
    po.bopt = v->st.opt;
    po.bab = o->bab;
    po.timeout = isfinite(budget) ? budget : 0.0;
    po.restarts = 1;  /* sat and unknown both leave eps uncertified: PGD only ends a search early */
    uint64_t eps_bits;
    memcpy(&eps_bits, &eps, sizeof eps_bits);
    po.seed = 0x6A09E667F3BCC909ull * ((uint64_t)index + 1) ^ eps_bits ^ (uint64_t)(target + 2) << 56;
    po.agree = o->agree, po.agree_ctx = o->agree_ctx;
    prop_result pr;
    rc = prop_verify_chw(v->model, &p, &po, &pr, err);
    prop_spec_free(&p);
    if (rc) return rc;
    v->bab_domains += pr.bab.domains;
    if (pr.answer == PROP_UNSAT) {
        *certified = 1;
        *margin = pr.bab.proven_margin;
    } else if (pr.answer == PROP_TIMEOUT && v->deadline > 0 && task_late(v, o)) {
        rc = nn_fail(err, NN_ETIMEOUT, "task timeout during branch and bound at eps %g", eps);
    }
    prop_result_free(&pr);
    return rc;
}
