/* Certificates: what checks a reported radius again, bit for bit (doc/radius.md,
 * "Certificates").
 *
 * A radius is the eps of one evaluation of the task's search. For most methods
 * that evaluation is a function of the eps alone, so the radius is all a check
 * needs. FROWN with warm starts is not: each evaluation starts its optimizer
 * from the lines the earlier evaluations of the task left (doc/frown.md "Warm
 * starts"), so the bound at the radius from a fresh state differs, often by
 * enough to lose the certificate. Its certificate is therefore the eps of every
 * evaluation up to the certifying one, in order: replaying them on a fresh
 * state (bound_forget_warm) walks the same warm starts and gives the same bits.
 * That is a few hundred bytes where the lines themselves (one per free neuron,
 * per row and side, per layer) would take megabytes per task.
 *
 * Soundness does not rest on the file: every evaluation is a sound bound for
 * any starting lines (FROWN clamps every start to its valid range), so a
 * replayed path, altered or not, gives a sound margin at its last eps. The
 * stored bounds only say whether the replay reproduced the search. */
#include "certify.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "byteorder.h"

#define HEAD 32

int cert_certificate_of(const cert_verifier *v, const double *x, cert_certificate *c, nn_error *err)
{
    memset(c, 0, sizeof *c);
    if (v->cert_eval < 0 || v->trace_lost) return 0;
    /* a method without state between evaluations needs only the last one */
    size_t first = bound_keeps_state(&v->st.opt) ? 0 : (size_t)v->cert_eval, n = (size_t)v->cert_eval + 1 - first;
    c->path = nn_malloc(n * sizeof *c->path, "certificate", err);
    c->lower = nn_malloc((size_t)v->n_classes * sizeof *c->lower, "certificate", err);
    if (!c->path || !c->lower) {
        cert_certificate_free(c);
        return NN_ENOMEM;
    }
    memcpy(c->path, v->trace + first, n * sizeof *c->path);
    c->n_path = n;
    c->n_classes = v->n_classes;
    memcpy(c->lower, v->cert_lower, (size_t)v->n_classes * sizeof *c->lower);
    c->margin = INFINITY;
    for (int j = 0; j < c->n_classes; j++)
        if (c->lower[j] < c->margin) c->margin = c->lower[j];
    c->bab_domains = v->cert_bab_domains;
    if (c->bab_domains > 0) c->margin = v->cert_bab_margin;
    c->x_hash = le_fnv_f64(LE_FNV_START, x, model_input_size(v->model));
    return 1;
}

void cert_certificate_free(cert_certificate *c)
{
    if (!c) return;
    free(c->path);
    free(c->lower);
    memset(c, 0, sizeof *c);
}

static size_t head_bytes(int bab) { return HEAD + (bab ? 8 : 0); }

size_t cert_certificate_bytes(const cert_certificate *c)
{
    return head_bytes(c->bab_domains > 0) + 8 * (c->n_path + (size_t)c->n_classes);
}

void cert_certificate_pack(const cert_certificate *c, unsigned char *out)
{
    int bab = c->bab_domains > 0;
    le_put_u32(out, bab ? CERT_CERTIFICATE_VERSION_BAB : CERT_CERTIFICATE_VERSION);
    le_put_u32(out + 4, (uint32_t)c->n_classes);
    le_put_u64(out + 8, c->x_hash);
    le_put_f64(out + 16, c->margin);
    le_put_u64(out + 24, c->n_path);
    if (bab) le_put_u64(out + HEAD, (uint64_t)c->bab_domains);
    unsigned char *p = out + head_bytes(bab);
    for (size_t k = 0; k < c->n_path; k++, p += 8) le_put_f64(p, c->path[k]);
    for (int j = 0; j < c->n_classes; j++, p += 8) le_put_f64(p, c->lower[j]);
}

int cert_certificate_check(const cert_certificate *c, nn_error *err)
{
    if (c->n_path < 1 || c->n_path > CERT_PATH_MAX)
        return nn_fail(err, NN_EFORMAT, "certificate: %zu evaluations in its path, expected 1 to %d", c->n_path,
                       CERT_PATH_MAX);
    for (size_t k = 0; k < c->n_path; k++)
        if (!isfinite(c->path[k]) || !(c->path[k] >= 0))
            return nn_fail(err, NN_EFORMAT, "certificate: path[%zu] = %g is not an eps (finite, >= 0)", k,
                           c->path[k]);
    if (c->n_classes < 2) return nn_fail(err, NN_EFORMAT, "certificate: %d classes, expected at least 2", c->n_classes);
    double least = INFINITY;
    int rows = 0;
    for (int j = 0; j < c->n_classes; j++)
        if (!isnan(c->lower[j])) {
            rows++;
            if (c->lower[j] < least) least = c->lower[j];
        }
    if (!rows) return nn_fail(err, NN_EFORMAT, "certificate: no row bound (every lower is NaN)");
    if (!(c->margin > 0))
        return nn_fail(err, NN_EFORMAT, "certificate: margin %g does not certify (a certificate's is > 0)", c->margin);
    if (c->bab_domains < 0 || c->bab_domains > CERT_BAB_DOMAINS_MAX)
        return nn_fail(err, NN_EFORMAT, "certificate: %ld branch-and-bound domains, expected 0 to %ld",
                       c->bab_domains, CERT_BAB_DOMAINS_MAX);
    if (c->bab_domains > 0) return NN_OK;  /* the margin is the search's, not the rows' */
    if (c->margin != least)
        return nn_fail(err, NN_EFORMAT, "certificate: margin %.17g is not the least row bound %.17g", c->margin, least);
    return NN_OK;
}

int cert_certificate_unpack(const unsigned char *in, size_t len, cert_certificate *c, nn_error *err)
{
    memset(c, 0, sizeof *c);
    if (len < HEAD) return nn_fail(err, NN_EFORMAT, "certificate: %zu bytes, shorter than its %d-byte head", len, HEAD);
    uint32_t version = le_get_u32(in), classes = le_get_u32(in + 4);
    uint64_t n = le_get_u64(in + 24);
    if (version != CERT_CERTIFICATE_VERSION && version != CERT_CERTIFICATE_VERSION_BAB)
        return nn_fail(err, NN_EFORMAT, "certificate: version %u, this build reads %d and %d", version,
                       CERT_CERTIFICATE_VERSION, CERT_CERTIFICATE_VERSION_BAB);
    int bab = version == CERT_CERTIFICATE_VERSION_BAB;
    size_t head = head_bytes(bab);
    if (len < head) return nn_fail(err, NN_EFORMAT, "certificate: %zu bytes, shorter than its %zu-byte head", len, head);
    if (n > CERT_PATH_MAX || classes > (len - head) / 8 || (len - head) / 8 - classes != n || (len - head) % 8)
        return nn_fail(err, NN_EFORMAT, "certificate: %zu bytes do not hold %llu evaluations and %u classes", len,
                       (unsigned long long)n, classes);
    if (bab) {
        uint64_t d = le_get_u64(in + HEAD);
        if (d == 0 || d > (uint64_t)CERT_BAB_DOMAINS_MAX)
            return nn_fail(err, NN_EFORMAT, "certificate: version 2 with %llu branch-and-bound domains, expected 1 "
                           "to %ld", (unsigned long long)d, CERT_BAB_DOMAINS_MAX);
        c->bab_domains = (long)d;
    }
    c->n_path = (size_t)n;
    c->n_classes = (int)classes;
    c->x_hash = le_get_u64(in + 8);
    c->margin = le_get_f64(in + 16);
    c->path = nn_malloc((n ? n : 1) * sizeof *c->path, "certificate", err);
    c->lower = nn_malloc((classes ? classes : 1) * sizeof *c->lower, "certificate", err);
    if (!c->path || !c->lower) {
        cert_certificate_free(c);
        return NN_ENOMEM;
    }
    const unsigned char *p = in + head;
    for (size_t k = 0; k < c->n_path; k++, p += 8) c->path[k] = le_get_f64(p);
    for (int j = 0; j < c->n_classes; j++, p += 8) c->lower[j] = le_get_f64(p);
    int rc = cert_certificate_check(c, err);
    if (rc) cert_certificate_free(c);
    return rc;
}

int cert_replay(cert_verifier *v, const cert_certificate *c, const double *x, const cert_task_options *o, long index,
                int pred, int target, double *margin, nn_error *err)
{
    norm_type norm = o->norm;
    int clip = o->clip;
    *margin = NAN;
    int rc = cert_certificate_check(c, err);
    if (rc) return rc;
    if (c->n_classes != v->n_classes)
        return nn_fail(err, NN_EFORMAT, "certificate: %d classes, the model has %d", c->n_classes, v->n_classes);
    /* what cert_run_task does before its first evaluation */
    bound_forget_warm(&v->st);
    v->deadline = 0;
    for (size_t k = 0; k < c->n_path && !rc; k++) {
        int certified;
        rc = cert_verify(v, x, norm, c->path[k], clip, pred, target, margin, &certified, err);
    }
    if (rc || c->bab_domains == 0) return rc;
    if (!o->bab.enabled)
        return nn_fail(err, NN_EARG, "certificate: branch and bound certified this radius, and the job has no bab "
                       "settings to search with");
    /* the search of the task at its radius: without a clock, and no further than it went */
    cert_task_options again = *o;
    again.bab.max_domains = c->bab_domains;
    again.bab_timeout = 0;
    again.bab.exec = NULL, again.bab.exec_ctx = NULL;
    again.bab.share = NULL, again.bab.share_ctx = NULL;
    again.agree = NULL, again.agree_ctx = NULL;
    int certified;
    return cert_verify_bab(v, &again, x, c->path[c->n_path - 1], index, pred, target, margin, &certified, err);
}

static int same_bits(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }

int cert_certificate_matches(const cert_verifier *v, const cert_certificate *c, double margin)
{
    if (c->n_classes != v->n_classes || !same_bits(margin, c->margin)) return 0;
    int rows = 0;
    for (int j = 0; j < c->n_classes; j++) rows += !isnan(c->lower[j]);
    if ((size_t)rows != v->rows) return 0;
    for (size_t r = 0; r < v->rows; r++)
        if (!same_bits(v->lower[r], c->lower[v->row_target[r]])) return 0;
    return 1;
}
