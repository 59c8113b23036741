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
 * must lie in the ball rounded inward (property.h's outer and inner boxes).
 *
 * With the task options' bab_find / bab_keep, every search leaves a record: its
 * snapshots while it runs, its outcome when it ends (OUTCOME_BYTES: u32
 * certified | u32 0 | f64 margin | i64 domains, little-endian). A rerun takes
 * a finished search's outcome as it was and continues one cut short from its
 * last snapshot, which expands the same tree (bab.h): the task's radius and
 * certificate are those of a run that was never stopped. */
#include "byteorder.h"
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

#define OUTCOME_BYTES 24

/* The search being run, as bab_options.save's context. */
typedef struct {
    const cert_task_options *o;
    double eps;
    int c, target;
} bab_key;

static int keep_snapshot(void *ctx, const unsigned char *bytes, size_t len, nn_error *err)
{
    const bab_key *k = ctx;
    (void)err;
    k->o->bab_keep(k->o->bab_ctx, k->eps, k->c, k->target, 0, bytes, len);
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
    int done = 0;
    const unsigned char *rec = NULL;
    size_t rec_len = 0;
    if (o->bab_find && o->bab_find(o->bab_ctx, eps, c, target, &done, &rec, &rec_len) && done) {
        if (rec_len != OUTCOME_BYTES)
            return nn_fail(err, NN_EFORMAT, "branch and bound at eps %g: a recorded outcome of %zu bytes, expected %d",
                           eps, rec_len, OUTCOME_BYTES);
        *certified = le_get_u32(rec) != 0;
        if (*certified) *margin = le_get_f64(rec + 8);
        v->bab_domains += (long)le_get_u64(rec + 16);
        return NN_OK;
    }
    prop_spec p;
    int rc = ball_spec(v, x0, eps, o->clip, c, target, &p, err);
    if (rc) return rc;
    prop_options po;
    prop_options_default(&po);
    po.bopt = v->st.opt;
    po.bab = o->bab;
    bab_key key = {o, eps, c, target};
    po.bab.save = o->bab_keep ? keep_snapshot : NULL;
    po.bab.save_ctx = &key;
    po.bab.resume = rec, po.bab.resume_len = rec_len;
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
    if (!rc && o->bab_keep) {
        unsigned char out[OUTCOME_BYTES];
        le_put_u32(out, (uint32_t)*certified);
        le_put_u32(out + 4, 0);
        le_put_f64(out + 8, *certified ? *margin : NAN);
        le_put_u64(out + 16, (uint64_t)pr.bab.domains);
        o->bab_keep(o->bab_ctx, eps, c, target, 1, out, sizeof out);
    }
    prop_result_free(&pr);
    return rc;
}
