/* A results file's certificates checked again (doc/radius.md "Certificates").
 *
 * Everything that decides the bits comes from the file: the job (its config
 * attribute: method, lines, precision, row_block, threads, FROWN's options,
 * norm, clip, target), the model (its SHA-256 must match; another path may be
 * given), the image (its hash must match; another data path may be given).
 * Each certificate must belong to its /results row: the same prediction and
 * target, its last eps the row's radius and its margin the row's margin, bit
 * for bit. Then its path is replayed on a fresh verifier. The verdict
 * "verified" rests on the recomputed margin alone, so no value in the file can
 * make it say verified falsely; "identical" says whether the replay gave the
 * search's bits. */
#include "cert_check.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blas_threads.h"
#include "byteorder.h"
#include "forward.h"
#include "model_io.h"
#include "nn_clock.h"
#include "results_h5.h"

enum { K_INDEX, K_SLOT, K_TARGET, K_PRED, K_EPS, K_MARGIN, K_HASH, K_NPATH, K_PATH, K_LOWER, K_BAB, K_COUNT };
enum { R_INDEX, R_SLOT, R_LABEL, R_PRED, R_TARGET, R_STATUS, R_RADIUS, R_MARGIN, R_COUNT };

static int same_bits(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }

/* Root attributes: a certify file with certificates of the version this build reads. */
static int read_head(cert_check *k, char **config, char **sha, char **key, nn_error *err)
{
    static const char *const names[] = {"kind", "config", "model_sha256", "certificate_version", "job_key"};
    char *v[5];
    int rc = h5_read_attrs(k->results, names, 5, v, err);
    if (rc) return rc;
    if (!v[0] || strcmp(v[0], "certify"))
        rc = nn_fail(err, NN_EFORMAT, "%s: not a certify results file (kind '%s')", k->results, v[0] ? v[0] : "");
    else if (!v[3])
        rc = nn_fail(err, NN_EFORMAT, "%s has no certificates (/certificates): certify with save_certificates = all "
                     "(--save-certificates all) or a list of images", k->results);
    else if (strcmp(v[3], "1") && strcmp(v[3], "2"))
        rc = nn_fail(err, NN_EFORMAT, "%s: certificate_version %s, this build reads 1 to %d", k->results, v[3],
                     CERT_TABLE_VERSION);
    else if (!v[1] || !v[2] || !v[4])
        rc = nn_fail(err, NN_EFORMAT, "%s: the root attribute %s is missing", k->results,
                     !v[1] ? "config" : !v[2] ? "model_sha256" : "job_key");
    if (!rc) *config = v[1], *sha = v[2], *key = v[4], v[1] = v[2] = v[4] = NULL;
    if (!rc) k->table_version = v[3][0] - '0';
    for (int i = 0; i < 5; i++) free(v[i]);
    return rc;
}

/* The job of the file, which must be the job its job_key names (the identity
 * its rows were journaled under), with the given model and data paths in
 * place of its own. */
static int load_job(cert_check *k, const char *config, const char *sha, const char *key, const char *model,
                    const char *data, nn_error *err)
{
    const job_key *keys;
    int n = cert_job_schema(&keys), rc = job_init(&k->j, keys, n, err);
    char name[600];
    snprintf(name, sizeof name, "%s (attribute config)", k->results);
    if (!rc) rc = job_load_text(&k->j, config, name, err);
    if (!rc) rc = cert_job_resolve(&k->j, &k->c, err);
    char *id = rc ? NULL : cert_job_identity(&k->j, sha);
    if (!rc && !id) rc = nn_fail(err, NN_ENOMEM, "out of memory");
    if (!rc && strcmp(id, key)) {
        char diff[700];
        job_text_diff(key, id, diff, sizeof diff);
        rc = nn_fail(err, NN_EFORMAT, "%s: its config is not the job its job_key names (job_key vs config: %s)",
                     k->results, diff);
    }
    free(id);
    if (rc) return rc;
    cert_job_free(&k->c);
    if (model) rc = job_set(&k->j, "model", model, "command line (--model)", err);
    if (!rc && data) rc = job_set(&k->j, "data", data, "command line (--data)", err);
    if (!rc) rc = cert_job_resolve(&k->j, &k->c, err);
    return rc;
}

static int load_model(cert_check *k, const char *sha, nn_error *err)
{
    char have[65];
    int rc = model_load(k->c.model, &k->m, err);
    if (rc) return rc;
    k->have_m = 1;
    if ((rc = model_file_sha256(k->c.model, have, err))) return rc;
    if (strcmp(have, sha))
        return nn_fail(err, NN_EARG, "model %s has SHA-256 %s, not the model_sha256 %s of %s (--model names the "
                       "model the results were computed with)", k->c.model, have, sha, k->results);
    return input_norm_apply(&k->c.norm, &k->m, err);
}

static void free_cols(void **d, int n)
{
    for (int c = 0; c < n; c++) free(d[c]), d[c] = NULL;
}

/* /results rows of each certificate, matched by (index, slot). */
static int match_rows(cert_check *k, nn_error *err)
{
    static const h5_column rc_cols[R_COUNT] = {
        {"index", H5COL_INT, 1}, {"slot", H5COL_INT, 1},   {"label", H5COL_INT, 1},     {"prediction", H5COL_INT, 1},
        {"target", H5COL_INT, 1}, {"status", H5COL_INT, 1}, {"radius", H5COL_DOUBLE, 1}, {"margin", H5COL_DOUBLE, 1}};
    void *d[R_COUNT] = {0};
    size_t rows;
    int rc = h5_table_read_in(k->results, "results", rc_cols, R_COUNT, d, &rows, err);
    if (rc) return rc;
    const int64_t *ix = d[R_INDEX], *sl = d[R_SLOT], *lab = d[R_LABEL], *pr = d[R_PRED], *tg = d[R_TARGET],
                  *st = d[R_STATUS];
    const double *rad = d[R_RADIUS], *mar = d[R_MARGIN];
    for (size_t i = 0; i < k->n && !rc; i++) {
        size_t r = 0;
        while (r < rows && !(ix[r] == k->index[i] && sl[r] == k->slot[i])) r++;
        if (r == rows) {
            rc = nn_fail(err, NN_EFORMAT, "%s: the certificate of image %ld slot %d has no row in /results",
                         k->results, k->index[i], k->slot[i]);
            break;
        }
        if (st[r] != CERT_CERTIFIED && st[r] != CERT_TIMEOUT) {
            rc = nn_fail(err, NN_EFORMAT, "%s: image %ld slot %d has a certificate, and its /results row has status "
                         "%lld (neither certified nor timeout)", k->results, k->index[i], k->slot[i], (long long)st[r]);
            break;
        }
        if (pr[r] != k->pred[i] || tg[r] != k->target[i]) {
            rc = nn_fail(err, NN_EFORMAT, "%s: the certificate of image %ld slot %d is for prediction %d target %d, "
                         "its /results row for %lld and %lld", k->results, k->index[i], k->slot[i], k->pred[i],
                         k->target[i], (long long)pr[r], (long long)tg[r]);
            break;
        }
        k->label[i] = (int)lab[r];
        k->radius[i] = rad[r];
        k->margin[i] = mar[r];
    }
    free_cols(d, R_COUNT);
    return rc;
}

static int read_certificates(cert_check *k, nn_error *err)
{
    size_t width = cert_job_path_width(&k->c), nc = model_output_size(&k->m);
    const h5_column cols[K_COUNT] = {{"index", H5COL_INT, 1},      {"slot", H5COL_INT, 1},
                                     {"target", H5COL_INT, 1},     {"prediction", H5COL_INT, 1},
                                     {"eps", H5COL_DOUBLE, 1},     {"margin", H5COL_DOUBLE, 1},
                                     {"image_hash", H5COL_INT, 1}, {"n_path", H5COL_INT, 1},
                                     {"path", H5COL_DOUBLE, width}, {"lower", H5COL_DOUBLE, nc},
                                     {"bab_domains", H5COL_INT, 1}};
    void *d[K_COUNT] = {0};
    size_t n;
    int n_cols = k->table_version >= 2 ? K_COUNT : K_BAB;  /* version 1: no bab_domains */
    int rc = h5_table_read_in(k->results, "certificates", cols, n_cols, d, &n, err);
    if (rc) return nn_error_prefix(err, "certificates of the job's model (%zu classes, paths of %zu): ", nc, width);
    k->n = n;
    size_t m = n ? n : 1;
    k->index = malloc(m * sizeof *k->index);
    k->slot = malloc(5 * m * sizeof *k->slot);
    k->radius = malloc(2 * m * sizeof *k->radius);
    k->cert = calloc(m, sizeof *k->cert);
    if (!k->index || !k->slot || !k->radius || !k->cert) {
        free_cols(d, K_COUNT);
        return nn_fail(err, NN_ENOMEM, "out of memory for %zu certificates", n);
    }
    k->target = k->slot + m, k->pred = k->target + m, k->label = k->pred + m;
    k->margin = k->radius + m;
    const int64_t *ix = d[K_INDEX], *sl = d[K_SLOT], *tg = d[K_TARGET], *pr = d[K_PRED], *hs = d[K_HASH],
                  *np = d[K_NPATH];
    const double *mar = d[K_MARGIN], *path = d[K_PATH], *low = d[K_LOWER];
    for (size_t i = 0; i < n && !rc; i++) {
        if (np[i] < 1 || (uint64_t)np[i] > width) {
            rc = nn_fail(err, NN_EFORMAT, "%s: /certificates/n_path[%zu] = %lld, expected 1 to %zu", k->results, i,
                         (long long)np[i], width);
            break;
        }
        cert_certificate *c = &k->cert[i];
        k->index[i] = (long)ix[i];
        k->slot[i] = (int)sl[i], k->target[i] = (int)tg[i], k->pred[i] = (int)pr[i];
        c->n_path = (size_t)np[i];
        c->n_classes = (int)nc;
        c->margin = mar[i];
        c->x_hash = (uint64_t)hs[i];
        c->path = malloc(c->n_path * sizeof *c->path);
        c->lower = malloc(nc * sizeof *c->lower);
        if (!c->path || !c->lower) {
            rc = nn_fail(err, NN_ENOMEM, "out of memory for %zu certificates", n);
            break;
        }
        memcpy(c->path, path + i * width, c->n_path * sizeof *c->path);
        memcpy(c->lower, low + i * nc, nc * sizeof *c->lower);
        c->bab_domains = d[K_BAB] ? (long)((const int64_t *)d[K_BAB])[i] : 0;
        double eps = ((const double *)d[K_EPS])[i];
        if (!same_bits(eps, c->path[c->n_path - 1]))
            rc = nn_fail(err, NN_EFORMAT, "%s: /certificates/eps[%zu] = %.17g is not the path's last eps %.17g",
                         k->results, i, eps, c->path[c->n_path - 1]);
    }
    free_cols(d, K_COUNT);
    return rc;
}

/* The images of the certificates, one window of the data set. */
static int load_images(cert_check *k, nn_error *err)
{
    if (!k->n) return NN_OK;
    long lo = k->index[0], hi = k->index[0];
    for (size_t i = 0; i < k->n; i++) {
        if (k->index[i] < 0)
            return nn_fail(err, NN_EFORMAT, "%s: /certificates/index[%zu] = %ld", k->results, i, k->index[i]);
        if (k->index[i] < lo) lo = k->index[i];
        if (k->index[i] > hi) hi = k->index[i];
    }
    int rc = dataset_load(k->c.data, (size_t)lo, (size_t)(hi - lo + 1), &k->ds, err);
    if (rc) return rc;
    if (shape_size(k->ds.shape) != model_input_size(&k->m))
        return nn_fail(err, NN_ESHAPE, "data set '%s' holds images of %zu values, the model %s takes %zu", k->c.data,
                       shape_size(k->ds.shape), k->c.model, model_input_size(&k->m));
    return NN_OK;
}

int cert_check_open(cert_check *k, const char *results, const char *model, const char *data, nn_error *err)
{
    memset(k, 0, sizeof *k);
    char *config = NULL, *sha = NULL, *key = NULL;
    k->results = strdup(results);
    int rc = k->results ? read_head(k, &config, &sha, &key, err) : nn_fail(err, NN_ENOMEM, "out of memory");
    if (!rc) rc = load_job(k, config, sha, key, model, data, err);
    /* before any GEMM, as certify does: the job's thread count is part of its bits */
    if (!rc) rc = blas_threads_set(k->c.threads, err);
    if (!rc) rc = load_model(k, sha, err);
    if (!rc) rc = read_certificates(k, err);
    if (!rc) rc = match_rows(k, err);
    if (!rc) rc = load_images(k, err);
    if (!rc && !(rc = cert_verifier_init(&k->v, &k->m, &k->c.bopt, err))) k->have_v = 1;
    free(config);
    free(sha);
    free(key);
    if (rc) cert_check_close(k);
    return rc;
}

long cert_check_find(const cert_check *k, long index, int slot)
{
    for (size_t i = 0; i < k->n; i++)
        if (k->index[i] == index && k->slot[i] == slot) return (long)i;
    return -1;
}

int cert_check_run(cert_check *k, size_t i, cert_check_row *out, nn_error *err)
{
    double t0 = nn_wall_seconds();
    memset(out, 0, sizeof *out);
    const cert_certificate *c = &k->cert[i];
    out->index = k->index[i];
    out->slot = k->slot[i];
    out->label = k->label[i];
    out->pred = k->pred[i];
    out->target = k->target[i];
    out->radius = k->radius[i];
    out->margin_saved = k->margin[i];
    out->margin = NAN;
    out->n_path = c->n_path;
    out->bab_domains = c->bab_domains;
    const char *what = k->results;
    int rc = cert_certificate_check(c, err);
    if (rc) return nn_error_prefix(err, "%s: image %ld slot %d: ", what, out->index, out->slot);
    if (!same_bits(c->path[c->n_path - 1], k->radius[i]) || !same_bits(c->margin, k->margin[i]))
        return nn_fail(err, NN_EFORMAT, "%s: image %ld slot %d: the certificate (eps %.17g, margin %.17g) is not "
                       "its /results row's (radius %.17g, margin %.17g)", what, out->index, out->slot,
                       c->path[c->n_path - 1], c->margin, k->radius[i], k->margin[i]);
    size_t in = model_input_size(&k->m), at = (size_t)out->index - k->ds.first;
    const double *x = k->ds.images + at * in;
    uint64_t h = le_fnv_f64(LE_FNV_START, x, in);
    if (h != c->x_hash)
        return nn_fail(err, NN_EARG, "data set '%s': image %ld is not the image %s certified (its values hash to "
                       "%016llx, the certificate's to %016llx)", k->c.data, out->index, what, (unsigned long long)h,
                       (unsigned long long)c->x_hash);
    int n = k->v.n_classes;
    double *logits = malloc((size_t)n * sizeof *logits);
    if (!logits) return nn_fail(err, NN_ENOMEM, "out of memory");
    rc = forward_run(&k->m, x, 1, logits, err);
    int pred = rc ? -1 : forward_argmax(logits, (size_t)n);
    free(logits);
    if (rc) return rc;
    if (pred != out->pred)
        return nn_fail(err, NN_EARG, "image %ld: the model predicts %d, the results say %d", out->index, pred,
                       out->pred);
    rc = cert_replay(&k->v, c, x, &k->c.task, out->index, pred, out->target, &out->margin, err);
    if (rc) return nn_error_prefix(err, "image %ld slot %d: ", out->index, out->slot);
    out->verified = out->margin > 0;
    out->identical = cert_certificate_matches(&k->v, c, out->margin);
    out->seconds = nn_wall_seconds() - t0;
    return NN_OK;
}

void cert_check_close(cert_check *k)
{
    if (k->have_v) cert_verifier_free(&k->v);
    for (size_t i = 0; k->cert && i < k->n; i++) cert_certificate_free(&k->cert[i]);
    free(k->cert);
    free(k->index);
    free(k->slot);
    free(k->radius);
    dataset_free(&k->ds);
    if (k->have_m) model_free(&k->m);
    cert_job_free(&k->c);
    if (k->j.schema) job_free(&k->j);
    free(k->results);
    memset(k, 0, sizeof *k);
}
