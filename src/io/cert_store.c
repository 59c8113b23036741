/* Results of a certify job: journal first, HDF5 second.
 *
 * HDF5 1.10 is not crash-safe: a kill -9 during a write or flush can leave a
 * file that no longer opens. So every finished task is first appended to the
 * journal (journal.c: one write(2) per record, checksummed; fdatasync at each
 * flush), and the HDF5 file is a view rebuilt from the journal: each run
 * truncates it and rewrites the recovered rows before appending new ones. A
 * crash loses at most the tasks in flight; a torn HDF5 file is simply rewritten.
 *
 * Journal records: JOB (the job key; must be first), RUN (start time and ranks
 * of one run), ASSIGN (tasks handed to a rank), CHECKPOINT (i64 task | the
 * application's bytes: a finished part of a task in flight, e.g. one layer's
 * bounds; dead once the task's RESULT is written), RESULT (i64 task | i32 rank | u32 row bytes | packed cert_result |
 * extra). Row bytes 0 is the 328-byte row of older journals, followed by raw
 * bounds or nothing; otherwise the extra holds the payloads flagged in the
 * row's `saved` (bounds, the PGD counterexample, the certificate, the MILP
 * counterexample, in that order), each as u64 length + bytes,
 * exactly as the scheduler carried them. Rows appear in the HDF5 file in
 * completion order; (index, slot) identifies a task.
 *
 * Without a journal an existing HDF5 results file of the same job is read back
 * (rows only; its saved bounds are not recovered) and journaled. */
#include "cert_store.h"
#include "nn_clock.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bound.h"
#include "byteorder.h"

/* The source code of saved bounds replayed from a journal written before codes. */
#define SOURCE_UNRECORDED 255
#include "job.h"
#include "journal.h"

enum { REC_JOB = 1, REC_RUN = 2, REC_RESULT = 3, REC_ASSIGN = 4, REC_CHECKPOINT = 5 };
#define RESULT_HEAD 16
#define MSG_WIDTH 256

/* C_BASE columns always, the PGD ones with attack = pgd, the MILP ones with method milp */
enum { C_INDEX, C_SLOT, C_LABEL, C_PRED, C_TARGET, C_STATUS, C_RADIUS, C_LO, C_HI, C_MARGIN, C_EVALS, C_SECONDS,
       C_RANK, C_MESSAGE, C_BASE, C_PGD_EPS = C_BASE, C_PGD_LO, C_PGD_CLASS, C_MILP_EPS, C_MILP_CLASS, C_COUNT };
#define C_PGD_N 3
#define C_MILP_N 2

static const h5_column result_cols[C_COUNT] = {
    {"index", H5COL_INT, 1},      {"slot", H5COL_INT, 1},     {"label", H5COL_INT, 1},
    {"prediction", H5COL_INT, 1}, {"target", H5COL_INT, 1},   {"status", H5COL_INT, 1},
    {"radius", H5COL_DOUBLE, 1},  {"lo", H5COL_DOUBLE, 1},    {"hi", H5COL_DOUBLE, 1},
    {"margin", H5COL_DOUBLE, 1},  {"evals", H5COL_INT, 1},    {"seconds", H5COL_DOUBLE, 1},
    {"rank", H5COL_INT, 1},       {"message", H5COL_STRING, MSG_WIDTH},
    {"pgd_eps", H5COL_DOUBLE, 1}, {"pgd_lo", H5COL_DOUBLE, 1}, {"pgd_class", H5COL_INT, 1},
    {"milp_eps", H5COL_DOUBLE, 1}, {"milp_class", H5COL_INT, 1},
};

typedef struct {
    int64_t task;
    int rank;
    cert_result r;
    unsigned char *bounds;  /* owned, NULL if none */
    size_t bounds_len;
    unsigned char *adv;     /* counterexample payload, owned, NULL if none */
    size_t adv_len;
    unsigned char *cert;    /* certificate payload (cert_certificate_pack), owned, NULL if none */
    size_t cert_len;
    unsigned char *milp;    /* MILP counterexample payload, owned, NULL if none */
    size_t milp_len;
} row;

struct cert_store {
    cert_store_options o;
    char *path, *journal_path, *key;
    journal *j;
    h5_table *t, *bt, *at, *ct, *mt;
    row *rows;              /* recovered rows at open, then rows not yet in the HDF5 file */
    size_t n_rows, cap_rows;
    int64_t *done;          /* sorted tasks recovered at open */
    size_t n_done;
    size_t bounds_bytes;    /* expected size of a bounds payload */
    size_t adv_bytes;       /* expected size of a counterexample payload (0: not saved) */
    size_t milp_bytes;      /* expected size of a MILP counterexample payload (0: not saved) */
    int n_cols;             /* /results columns in the file: C_BASE, + PGD's, + MILP's */
    h5_column cols[C_COUNT];/* those columns */
    int col[C_COUNT];       /* the result_cols index of each */
    double last_flush;
    char start_time[32];
    long runs;
    char build[64];         /* the build (git commit) of this run */
    char other_build[64];   /* replay: the last earlier run's build that is not this one ("" none) */
    int64_t *sent;          /* replay: (task, record number, rank) of the last run's ASSIGN records */
    size_t n_sent, cap_sent, n_records;
    cert_store_held *held;  /* the last run's unanswered tasks, by rank then task */
    size_t n_held;
    int bad_first;          /* the journal's first record is not a JOB record */
    cert_store_part *parts; /* replay: checkpoints of tasks without a result yet (data owned) */
    size_t n_parts, cap_parts;
};

static void utc_now(char out[32])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

size_t cert_store_bounds_bytes(int n_layers, const size_t *layer_size)
{
    size_t n = 8;
    for (int i = 0; i < n_layers; i++) n += 17 * layer_size[i];  /* lower, upper, a source code each */
    return n;
}

static unsigned char *copy_bytes(const unsigned char *p, size_t n)
{
    unsigned char *c = n ? malloc(n) : NULL;
    if (c) memcpy(c, p, n);
    return c;
}

static void row_free(row *w)
{
    free(w->bounds), free(w->adv), free(w->cert), free(w->milp);
    w->bounds = w->adv = w->cert = w->milp = NULL;
}

/* The payloads of one row, pointers into the bytes that carried them. */
typedef struct {
    const unsigned char *bounds, *adv, *cert, *milp;
    size_t bounds_len, adv_len, cert_len, milp_len;
} payloads;

static int push_row(cert_store *s, int64_t task, int rank, const cert_result *r, const payloads *p, nn_error *err)
{
    const unsigned char *bounds = p ? p->bounds : NULL, *adv = p ? p->adv : NULL, *cert = p ? p->cert : NULL;
    size_t bounds_len = p ? p->bounds_len : 0, adv_len = p ? p->adv_len : 0, cert_len = p ? p->cert_len : 0;
    if (s->n_rows == s->cap_rows) {
        size_t cap = s->cap_rows ? 2 * s->cap_rows : 256;
        row *p = realloc(s->rows, cap * sizeof *p);
        if (!p) return nn_fail(err, NN_ENOMEM, "out of memory for results rows");
        s->rows = p, s->cap_rows = cap;
    }
    row *w = &s->rows[s->n_rows];
    memset(w, 0, sizeof *w);
    w->task = task, w->rank = rank, w->r = *r;
    w->r.saved = 0;
    if (bounds && bounds_len) {
        if (!(w->bounds = copy_bytes(bounds, bounds_len))) return nn_fail(err, NN_ENOMEM, "out of memory for saved bounds");
        w->bounds_len = bounds_len;
        w->r.saved |= CERT_SAVED_BOUNDS;
    }
    if (adv && adv_len) {
        if (!(w->adv = copy_bytes(adv, adv_len))) {
            free(w->bounds);
            return nn_fail(err, NN_ENOMEM, "out of memory for a saved counterexample");
        }
        w->adv_len = adv_len;
        w->r.saved |= CERT_SAVED_ATTACK;
    }
    if (cert && cert_len) {
        if (!(w->cert = copy_bytes(cert, cert_len))) {
            row_free(w);
            return nn_fail(err, NN_ENOMEM, "out of memory for a certificate");
        }
        w->cert_len = cert_len;
        w->r.saved |= CERT_SAVED_CERT;
    }
    if (p && p->milp && p->milp_len) {
        if (!(w->milp = copy_bytes(p->milp, p->milp_len))) {
            row_free(w);
            return nn_fail(err, NN_ENOMEM, "out of memory for a MILP counterexample");
        }
        w->milp_len = p->milp_len;
        w->r.saved |= CERT_SAVED_MILP;
    }
    s->n_rows++;
    return NN_OK;
}

/* The payloads flagged in saved, each u64 length + bytes, into p (NULL when
 * absent). NN_EFORMAT when they do not fit. */
static int split_extra(const cert_store *s, unsigned saved, const unsigned char *extra, size_t len, payloads *p,
                       nn_error *err)
{
    memset(p, 0, sizeof *p);
    size_t off = 0;
    for (unsigned bit = CERT_SAVED_BOUNDS; bit <= CERT_SAVED_MILP; bit <<= 1) {
        if (!(saved & bit)) continue;
        if (len - off < 8) return nn_fail(err, NN_EFORMAT, "%s: a saved payload is cut short", s->path);
        uint64_t n = le_get_u64(extra + off);
        off += 8;
        if (n > len - off) return nn_fail(err, NN_EFORMAT, "%s: a saved payload is cut short", s->path);
        if (bit == CERT_SAVED_BOUNDS) p->bounds = extra + off, p->bounds_len = (size_t)n;
        else if (bit == CERT_SAVED_ATTACK) p->adv = extra + off, p->adv_len = (size_t)n;
        else if (bit == CERT_SAVED_CERT) p->cert = extra + off, p->cert_len = (size_t)n;
        else p->milp = extra + off, p->milp_len = (size_t)n;
        off += (size_t)n;
    }
    if (off != len) return nn_fail(err, NN_EFORMAT, "%s: %zu bytes after the saved payloads", s->path, len - off);
    return NN_OK;
}

static void drop_rows(cert_store *s)
{
    for (size_t i = 0; i < s->n_rows; i++) row_free(&s->rows[i]);
    s->n_rows = 0;
}

/* A certificate this file can hold: a well-formed payload (cert_certificate_unpack)
 * for the model's classes, no longer than the path column. */
static int cert_fits(const cert_store *s, const unsigned char *cert, size_t len, nn_error *err)
{
    cert_certificate c;
    int rc = cert_certificate_unpack(cert, len, &c, err);
    if (rc) return rc;
    if (c.n_classes != s->o.cert_classes || c.n_path > s->o.cert_path_width)
        rc = nn_fail(err, NN_EFORMAT, "certificate of %d classes and %zu evaluations, this file holds %d classes "
                     "and up to %zu evaluations", c.n_classes, c.n_path, s->o.cert_classes, s->o.cert_path_width);
    cert_certificate_free(&c);
    return rc;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int cmp_pair(const void *a, const void *b)
{
    const int64_t *x = a, *y = b;
    return x[0] != y[0] ? (x[0] > y[0]) - (x[0] < y[0]) : (x[1] > y[1]) - (x[1] < y[1]);
}

/* ---- journal replay ---- */

typedef struct {
    cert_store *s;
    int records;
} replay_ctx;

/* An ASSIGN record: i32 rank (-1: taken back unstarted) | u32 n | n x i64 task. */
static int replay_assign(cert_store *s, const unsigned char *data, size_t len, nn_error *err)
{
    uint32_t n = len >= 8 ? le_get_u32(data + 4) : 0;
    if (len < 8 || (len - 8) / 8 != n || (len - 8) % 8)
        return nn_fail(err, NN_EFORMAT, "%s: assignment record of %zu bytes is malformed", s->journal_path, len);
    int rank = (int)(int32_t)le_get_u32(data);
    if (s->n_sent + n > s->cap_sent) {
        size_t cap = s->cap_sent ? 2 * s->cap_sent : 64;
        while (cap < s->n_sent + n) cap *= 2;
        int64_t *p = realloc(s->sent, 3 * cap * sizeof *p);
        if (!p) return nn_fail(err, NN_ENOMEM, "out of memory replaying %s", s->journal_path);
        s->sent = p, s->cap_sent = cap;
    }
    for (uint32_t i = 0; i < n; i++, s->n_sent++) {
        int64_t *e = s->sent + 3 * s->n_sent;
        e[0] = (int64_t)le_get_u64(data + 8 + 8 * (size_t)i), e[1] = (int64_t)s->n_records, e[2] = rank;
    }
    return NN_OK;
}

/* A CHECKPOINT record: kept until its task's RESULT shows up, so that memory
 * holds only the parts of tasks in flight when a run ended. */
static int replay_checkpoint(cert_store *s, const unsigned char *data, size_t len, nn_error *err)
{
    if (len < 8) return nn_fail(err, NN_EFORMAT, "%s: checkpoint record of %zu bytes is malformed", s->journal_path, len);
    if (s->n_parts == s->cap_parts) {
        size_t cap = s->cap_parts ? 2 * s->cap_parts : 64;
        cert_store_part *p = realloc(s->parts, cap * sizeof *p);
        if (!p) return nn_fail(err, NN_ENOMEM, "out of memory replaying %s", s->journal_path);
        s->parts = p, s->cap_parts = cap;
    }
    cert_store_part *p = &s->parts[s->n_parts];
    p->task = (int64_t)le_get_u64(data);
    p->len = len - 8;
    unsigned char *copy = malloc(p->len ? p->len : 1);
    if (!copy) return nn_fail(err, NN_ENOMEM, "out of memory replaying %s", s->journal_path);
    memcpy(copy, data + 8, p->len);
    p->data = copy;
    s->n_parts++;
    return NN_OK;
}

/* Drop the checkpoints of the tasks for which done(s, task) holds (task < 0:
 * of every task that has a row in s->done), keeping the others in order. */
static void drop_parts(cert_store *s, int64_t task)
{
    size_t w = 0;
    for (size_t i = 0; i < s->n_parts; i++) {
        cert_store_part *p = &s->parts[i];
        if (task >= 0 ? p->task == task : cert_store_done(s, p->task)) {
            free((void *)p->data);
            continue;
        }
        s->parts[w++] = *p;
    }
    s->n_parts = w;
}

/* A run record is "<start time> ranks=<n> git=<build>" (git= since 2026-12-07;
 * earlier binaries stop reading at the first space): its build into out, or
 * out left as it is when the record names none (an earlier binary's). The build
 * ends at a space or at any byte that is not printable: it is outside data,
 * and certify prints it. */
static void run_build(const unsigned char *data, size_t len, char *out, size_t cap)
{
    static const char tag[] = " git=";
    for (size_t i = 0; i + sizeof tag - 1 <= len; i++) {
        if (memcmp(data + i, tag, sizeof tag - 1)) continue;
        size_t b = i + sizeof tag - 1, e = b;
        while (e < len && data[e] > ' ' && data[e] <= '~') e++;
        size_t n = e - b < cap - 1 ? e - b : cap - 1;
        memcpy(out, data + b, n);
        out[n] = '\0';
        return;
    }
}

static int on_record(void *ctx, uint32_t type, const unsigned char *data, size_t len, nn_error *err)
{
    replay_ctx *c = ctx;
    cert_store *s = c->s;
    if (c->records++ == 0) {
        if (type != REC_JOB) return nn_fail(err, NN_EFORMAT, "%s: the first record is not a job record", s->journal_path);
        if (len != strlen(s->key) || memcmp(data, s->key, len)) {
            char *theirs = malloc(len + 1), diff[700];
            if (!theirs) return nn_fail(err, NN_ENOMEM, "out of memory");
            memcpy(theirs, data, len);
            theirs[len] = '\0';
            job_text_diff(s->key, theirs, diff, sizeof diff);
            free(theirs);
            return nn_fail(err, NN_EARG,
                           "%s was written by another job (this job vs the file: %s); use --force-new to replace "
                           "it, or another output path",
                           s->path, diff);
        }
        return NN_OK;
    }
    s->n_records++;
    if (type == REC_ASSIGN) return replay_assign(s, data, len, err);
    if (type == REC_CHECKPOINT) return replay_checkpoint(s, data, len, err);
    if (type == REC_RUN) {
        s->n_sent = 0;  /* only the last run's tasks in flight matter */
        char build[64] = "unrecorded";
        run_build(data, len, build, sizeof build);
        if (strcmp(build, s->build)) memcpy(s->other_build, build, sizeof build);
        if (s->runs++ == 0) {
            size_t n = len < sizeof s->start_time - 1 ? len : sizeof s->start_time - 1;
            const unsigned char *sp = memchr(data, ' ', n);
            if (sp) n = (size_t)(sp - data);
            memcpy(s->start_time, data, n);
            s->start_time[n] = '\0';
        }
        return NN_OK;
    }
    if (type != REC_RESULT) return NN_OK;  /* unknown record kinds of later versions */
    size_t rb = len >= RESULT_HEAD ? le_get_u32(data + 12) : 0;
    if (rb == 0) rb = CERT_RESULT_BYTES_V0;
    if (len < RESULT_HEAD + rb)
        return nn_fail(err, NN_EFORMAT, "%s: result record of %zu bytes is too short", s->journal_path, len);
    int64_t task = (int64_t)le_get_u64(data);
    int rank = (int)(int32_t)le_get_u32(data + 8);
    if (s->n_parts && task >= 0) drop_parts(s, task);
    cert_result r;
    int rc = cert_result_unpack_n(data + RESULT_HEAD, rb, &r, err);
    if (rc) return nn_error_prefix(err, "%s: ", s->journal_path);
    const unsigned char *extra = data + RESULT_HEAD + rb;
    payloads p = {extra, NULL, NULL, NULL, len - RESULT_HEAD - rb, 0, 0, 0};
    if (rb != CERT_RESULT_BYTES_V0 && (rc = split_extra(s, r.saved, extra, len - RESULT_HEAD - rb, &p, err)))
        return nn_error_prefix(err, "%s: task %lld: ", s->journal_path, (long long)task);
    /* bounds saved before their source codes existed: the codes say so */
    unsigned char *padded = NULL;
    size_t codes = s->bounds_bytes ? (s->bounds_bytes - 8) / 17 : 0;
    if (p.bounds_len && p.bounds_len + codes == s->bounds_bytes && (padded = malloc(s->bounds_bytes))) {
        memcpy(padded, p.bounds, p.bounds_len);
        memset(padded + p.bounds_len, SOURCE_UNRECORDED, codes);
        p.bounds = padded, p.bounds_len = s->bounds_bytes;
    }
    /* payloads of another layout (other options this run): keep the row only */
    if (p.bounds_len != s->bounds_bytes) p.bounds_len = 0;
    if (p.adv_len != s->adv_bytes) p.adv_len = 0;
    /* a row whose point is not kept keeps no claim on it either */
    if (p.milp_len != s->milp_bytes) p.milp_len = 0;
    if (!p.milp_len) r.milp_eps = NAN, r.milp_class = -1;
    nn_error ignored;
    if (p.cert_len && (!s->o.cert_classes || cert_fits(s, p.cert, p.cert_len, &ignored))) p.cert_len = 0;
    if (!p.bounds_len) p.bounds = NULL;
    if (!p.adv_len) p.adv = NULL;
    if (!p.cert_len) p.cert = NULL;
    if (!p.milp_len) p.milp = NULL;
    rc = push_row(s, task, rank, &r, &p, err);
    free(padded);
    return rc;
}

/* The row w as one RESULT record (its payloads with their lengths). */
static int journal_result(cert_store *s, const row *w, nn_error *err)
{
    size_t ext = (w->bounds_len ? 8 + w->bounds_len : 0) + (w->adv_len ? 8 + w->adv_len : 0) +
                 (w->cert_len ? 8 + w->cert_len : 0) + (w->milp_len ? 8 + w->milp_len : 0);
    size_t len = RESULT_HEAD + CERT_RESULT_BYTES + ext;
    unsigned char stack[RESULT_HEAD + CERT_RESULT_BYTES], *rec = ext ? malloc(len) : stack;
    if (!rec) return nn_fail(err, NN_ENOMEM, "out of memory for a journal record");
    memset(rec, 0, RESULT_HEAD);
    le_put_u64(rec, (uint64_t)w->task);
    le_put_u32(rec + 8, (uint32_t)w->rank);
    le_put_u32(rec + 12, CERT_RESULT_BYTES);
    cert_result_pack(&w->r, rec + RESULT_HEAD);
    unsigned char *p = rec + RESULT_HEAD + CERT_RESULT_BYTES;
    if (w->bounds_len) le_put_u64(p, w->bounds_len), memcpy(p + 8, w->bounds, w->bounds_len), p += 8 + w->bounds_len;
    if (w->adv_len) le_put_u64(p, w->adv_len), memcpy(p + 8, w->adv, w->adv_len), p += 8 + w->adv_len;
    if (w->cert_len) le_put_u64(p, w->cert_len), memcpy(p + 8, w->cert, w->cert_len), p += 8 + w->cert_len;
    if (w->milp_len) le_put_u64(p, w->milp_len), memcpy(p + 8, w->milp, w->milp_len);
    int rc = journal_append(s->j, REC_RESULT, rec, len, err);
    if (rec != stack) free(rec);
    return rc;
}

/* ---- recovery from an HDF5 file without a journal ---- */

static int recover_h5(cert_store *s, nn_error *err)
{
    void *data[C_COUNT] = {0};
    char *key = NULL, *key2 = NULL;
    size_t n = 0, n2 = 0;
    int rc = h5_table_read(s->path, "job_key", &key, result_cols, C_BASE, data, &n, err);
    if (rc)
        return nn_fail(err, NN_EARG,
                       "%s exists but is not a readable nncert certify results file and has no journal %s; use "
                       "--force-new to replace it",
                       s->path, s->journal_path);
    if (!key || strcmp(key, s->key)) {
        char diff[700];
        if (key) job_text_diff(s->key, key, diff, sizeof diff);
        rc = nn_fail(err, NN_EARG, "%s was written by another job (%s); use --force-new to replace it", s->path,
                     key ? diff : "it has no job_key attribute");
    }
    /* the PGD and MILP columns of the same job (attack and method are part of its identity) */
    int attack = s->o.attack, milp = s->milp_bytes > 0;
    if (!rc && attack &&
        !(rc = h5_table_read(s->path, "job_key", &key2, result_cols + C_BASE, C_PGD_N, data + C_BASE, &n2, err)) &&
        n2 != n)
        rc = nn_fail(err, NN_EFORMAT, "%s: /results/pgd_eps has %zu rows, /results/index %zu", s->path, n2, n);
    free(key2);
    key2 = NULL;
    if (!rc && milp &&
        !(rc = h5_table_read(s->path, "job_key", &key2, result_cols + C_MILP_EPS, C_MILP_N, data + C_MILP_EPS, &n2,
                             err)) &&
        n2 != n)
        rc = nn_fail(err, NN_EFORMAT, "%s: /results/milp_eps has %zu rows, /results/index %zu", s->path, n2, n);
    free(key2);
    const int64_t *iv[C_COUNT];
    const double *dv[C_COUNT];
    for (int c = 0; c < C_COUNT; c++) iv[c] = data[c], dv[c] = data[c];
    for (size_t i = 0; !rc && i < n; i++) {
        cert_result r;
        memset(&r, 0, sizeof r);
        r.index = (long)iv[C_INDEX][i];
        r.label = (int)iv[C_LABEL][i];
        r.pred = (int)iv[C_PRED][i];
        r.target = (int)iv[C_TARGET][i];
        r.status = (cert_status)iv[C_STATUS][i];
        r.radius = dv[C_RADIUS][i];
        r.lo = dv[C_LO][i];
        r.hi = dv[C_HI][i];
        r.margin = dv[C_MARGIN][i];
        r.evals = (int)iv[C_EVALS][i];
        r.seconds = dv[C_SECONDS][i];
        memcpy(r.message, (const char *)data[C_MESSAGE] + i * MSG_WIDTH, MSG_WIDTH);
        r.message[sizeof r.message - 1] = '\0';
        r.pgd_eps = attack ? dv[C_PGD_EPS][i] : NAN;
        r.pgd_lo = attack ? dv[C_PGD_LO][i] : NAN;
        r.pgd_class = attack ? (int)iv[C_PGD_CLASS][i] : -1;
        /* the points are not recovered (as saved bounds), so neither is the claim */
        r.milp_eps = NAN;
        r.milp_class = -1;
        if (r.status < 0 || r.status >= CERT_STATUS_COUNT)
            rc = nn_fail(err, NN_EFORMAT, "%s: row %zu has status %d", s->path, i, (int)r.status);
        else
            rc = push_row(s, (int64_t)iv[C_INDEX][i] * s->o.slots + iv[C_SLOT][i], (int)iv[C_RANK][i], &r, NULL, err);
    }
    for (int c = 0; c < C_COUNT; c++) free(data[c]);
    free(key);
    return rc;
}

/* ---- HDF5 view ---- */

static int create_h5(cert_store *s, nn_error *err)
{
    int n = s->o.n_attrs;
    h5_attr *attrs = calloc((size_t)n + 5, sizeof *attrs);
    if (!attrs) return nn_fail(err, NN_ENOMEM, "out of memory");
    if (n) memcpy(attrs, s->o.attrs, (size_t)n * sizeof *attrs);  /* attrs may be NULL when n is 0 */
    attrs[n++] = (h5_attr){"job_key", s->key, 0, 0};
    attrs[n++] = (h5_attr){"start_time", s->start_time, 0, 0};
    attrs[n++] = (h5_attr){"end_time", "", 0, 0};
    attrs[n++] = (h5_attr){"runs", NULL, (double)s->runs, 1};
    if (s->o.cert_classes > 0) attrs[n++] = (h5_attr){"certificate_version", NULL, CERT_TABLE_VERSION, 1};
    int rc = h5_table_create(&s->t, s->path, attrs, n, s->cols, s->n_cols, err);
    free(attrs);
    if (rc) return nn_error_prefix(err, "cannot write the results: ");
    h5_table_set_autoflush(s->t, 0);
    h5_attr legend = {"status_names", "0=certified,1=uncertified,2=misclassified,3=failed,4=timeout", 0, 0};
    rc = h5_table_attr(s->t, &legend, err);
    if (!rc && s->o.n_layers > 0) {
        int nc = 4 + 3 * s->o.n_layers;
        h5_column *cols = calloc((size_t)nc, sizeof *cols);
        char (*names)[16] = calloc((size_t)nc, sizeof *names);
        if (!cols || !names) rc = nn_fail(err, NN_ENOMEM, "out of memory");
        else {
            cols[0] = (h5_column){"index", H5COL_INT, 1};
            cols[1] = (h5_column){"slot", H5COL_INT, 1};
            cols[2] = (h5_column){"target", H5COL_INT, 1};
            cols[3] = (h5_column){"eps", H5COL_DOUBLE, 1};
            for (int l = 0; l < s->o.n_layers; l++)
                for (int part = 0; part < 3; part++) {
                    int c = 4 + 3 * l + part;
                    snprintf(names[c], sizeof names[c], "%03d/%s", s->o.layer[l],
                             part == 2 ? "source" : part ? "upper" : "lower");
                    cols[c] = (h5_column){names[c], part == 2 ? H5COL_U8 : H5COL_DOUBLE, s->o.layer_size[l]};
                }
            rc = h5_table_create_in(s->t, "bounds", cols, nc, 1, 4, &s->bt, err);
            if (!rc) {
                h5_attr what = {"description",
                                "pre-activation bounds of the saved images' tasks at eps (the certified radius, or "
                                "the smallest uncertified eps when none was certified); row k of every "
                                "NNN/lower|upper|source belongs to index[k], slot[k]; source: whose bound "
                                "each neuron carries (source_names)",
                                0, 0};
                char legend[160];
                snprintf(legend, sizeof legend, "%s,%d=not recorded (saved by an nncert before source codes)",
                         bound_source_legend, SOURCE_UNRECORDED);
                h5_attr codes = {"source_names", legend, 0, 0};
                rc = h5_table_attr(s->bt, &what, err);
                if (!rc) rc = h5_table_attr(s->bt, &codes, err);
            }
        }
        free(cols);
        free(names);
    }
    if (!rc && s->adv_bytes) {
        const h5_column cols[] = {{"index", H5COL_INT, 1},     {"slot", H5COL_INT, 1},
                                  {"target", H5COL_INT, 1},    {"eps", H5COL_DOUBLE, 1},
                                  {"x_adv", H5COL_DOUBLE, s->o.attack_in}, {"logits", H5COL_DOUBLE, s->o.attack_out}};
        rc = h5_table_create_in(s->t, "attacks", cols, 6, 16, 4, &s->at, err);
        h5_attr what = {"description",
                        "PGD counterexamples of the saved images' tasks: x_adv at distance <= eps (the task's "
                        "pgd_eps) from the image, re-verified by a forward pass (logits)",
                        0, 0};
        if (!rc) rc = h5_table_attr(s->at, &what, err);
    }
    if (!rc && s->milp_bytes) {
        const h5_column cols[] = {{"index", H5COL_INT, 1},  {"slot", H5COL_INT, 1},
                                  {"target", H5COL_INT, 1}, {"eps", H5COL_DOUBLE, 1},
                                  {"x", H5COL_DOUBLE, s->o.milp_in}, {"logits", H5COL_DOUBLE, s->o.milp_out}};
        rc = h5_table_create_in(s->t, "milp_counterexamples", cols, 6, 16, 4, &s->mt, err);
        h5_attr what = {"description",
                        "MILP counterexamples (method milp): per task with one, the point x found by Cbc at the "
                        "task's milp_eps, moved into the region (clip box, eps ball, as computed in double) and "
                        "checked by the exact forward pass (logits): its class is not the prediction (targeted: "
                        "logit of target > logit of prediction); doc/lp.md \"Counterexamples\"",
                        0, 0};
        if (!rc) rc = h5_table_attr(s->mt, &what, err);
    }
    if (!rc && s->o.cert_classes > 0) {
        const h5_column cols[] = {{"index", H5COL_INT, 1},         {"slot", H5COL_INT, 1},
                                  {"target", H5COL_INT, 1},        {"prediction", H5COL_INT, 1},
                                  {"eps", H5COL_DOUBLE, 1},        {"margin", H5COL_DOUBLE, 1},
                                  {"image_hash", H5COL_INT, 1},    {"n_path", H5COL_INT, 1},
                                  {"path", H5COL_DOUBLE, s->o.cert_path_width},
                                  {"lower", H5COL_DOUBLE, (size_t)s->o.cert_classes},
                                  {"bab_domains", H5COL_INT, 1}};
        rc = h5_table_create_in(s->t, "certificates", cols, 11, 64, 4, &s->ct, err);
        h5_attr what = {"description",
                        "what re-verifies each saved task's radius (nncert certify --reverify): path[k, 0:n_path] "
                        "the eps of the bound evaluations to replay from a fresh state, in order, the last = eps = "
                        "the radius; lower[k, j] the lower bound of margin row e_prediction - e_j there (NaN: no "
                        "such row), margin their least; image_hash FNV-1a of the image's values; bab_domains > 0: "
                        "the bounds left the radius open and branch and bound proved it after bounding that many "
                        "domains, margin its proven margin (0: the bounds certified it)",
                        0, 0};
        h5_attr version = {"version", NULL, CERT_TABLE_VERSION, 1};
        if (!rc) rc = h5_table_attr(s->ct, &what, err);
        if (!rc) rc = h5_table_attr(s->ct, &version, err);
    }
    return rc;
}

/* One certificate row; the payload was checked when it was added or replayed. */
static int write_cert_row(cert_store *s, const row *w, double *scratch, nn_error *err)
{
    cert_certificate c;
    int rc = cert_certificate_unpack(w->cert, w->cert_len, &c, err);
    if (rc) return rc;
    int64_t index = w->r.index, slot = w->task - (int64_t)w->r.index * s->o.slots, target = w->r.target;
    int64_t pred = w->r.pred, hash = (int64_t)c.x_hash, n_path = (int64_t)c.n_path;
    double eps = c.path[c.n_path - 1];
    for (size_t k = 0; k < s->o.cert_path_width; k++) scratch[k] = k < c.n_path ? c.path[k] : NAN;
    int64_t bab = c.bab_domains;
    const void *data[11] = {&index, &slot, &target, &pred, &eps, &c.margin, &hash, &n_path, scratch, c.lower, &bab};
    rc = h5_table_append(s->ct, data, 1, err);
    cert_certificate_free(&c);
    return rc;
}

static int write_attack_row(cert_store *s, const row *w, double *scratch, nn_error *err)
{
    int64_t index = w->r.index, slot = w->task - (int64_t)w->r.index * s->o.slots, target = w->r.target;
    size_t nd = w->adv_len / 8;
    for (size_t k = 0; k < nd; k++) scratch[k] = le_get_f64(w->adv + 8 * k);
    const void *data[6] = {&index, &slot, &target, scratch, scratch + 1, scratch + 1 + s->o.attack_in};
    return h5_table_append(s->at, data, 1, err);
}

static int write_milp_row(cert_store *s, const row *w, double *scratch, nn_error *err)
{
    int64_t index = w->r.index, slot = w->task - (int64_t)w->r.index * s->o.slots, target = w->r.target;
    size_t nd = w->milp_len / 8;
    for (size_t k = 0; k < nd; k++) scratch[k] = le_get_f64(w->milp + 8 * k);
    const void *data[6] = {&index, &slot, &target, scratch, scratch + 1, scratch + 1 + s->o.milp_in};
    return h5_table_append(s->mt, data, 1, err);
}

static int write_bounds_row(cert_store *s, const row *w, double *scratch, nn_error *err)
{
    int nc = 4 + 3 * s->o.n_layers;
    const void *data[4 + 3 * 64];
    if (nc > (int)(sizeof data / sizeof data[0]))
        return nn_fail(err, NN_EARG, "%s: too many layers with saved bounds (%d)", s->path, s->o.n_layers);
    int64_t index = w->r.index, slot = w->task - (int64_t)w->r.index * s->o.slots, target = w->r.target;
    size_t nd = 0;
    for (int l = 0; l < s->o.n_layers; l++) nd += 2 * s->o.layer_size[l];
    for (size_t k = 0; k < nd; k++) scratch[k] = le_get_f64(w->bounds + 8 + 8 * k);
    const unsigned char *codes = w->bounds + 8 + 8 * nd;  /* a byte per neuron after the doubles */
    double eps = le_get_f64(w->bounds);
    data[0] = &index, data[1] = &slot, data[2] = &target, data[3] = &eps;
    size_t off = 0, coff = 0;
    for (int l = 0; l < s->o.n_layers; l++) {
        data[4 + 3 * l] = scratch + off;
        data[5 + 3 * l] = scratch + off + s->o.layer_size[l];
        data[6 + 3 * l] = codes + coff;
        off += 2 * s->o.layer_size[l];
        coff += s->o.layer_size[l];
    }
    return h5_table_append(s->bt, data, 1, err);
}

/* Rows [0, n_rows) into the HDF5 file, then flush it and sync the journal. */
static int flush(cert_store *s, nn_error *err)
{
    int rc = NN_OK;
    size_t n = s->n_rows;
    if (n) {
        int64_t *iv = malloc(n * 10 * sizeof *iv);
        double *dv = malloc(n * 8 * sizeof *dv);
        char *msg = calloc(n, MSG_WIDTH);
        size_t sb = s->bounds_bytes > s->adv_bytes ? s->bounds_bytes : s->adv_bytes;
        if (s->milp_bytes > sb) sb = s->milp_bytes;
        if (8 * s->o.cert_path_width > sb) sb = 8 * s->o.cert_path_width;
        double *scratch = sb > 0 ? malloc(sb) : NULL;
        if (!iv || !dv || !msg || (sb > 0 && !scratch)) rc = nn_fail(err, NN_ENOMEM, "out of memory");
        for (size_t i = 0; !rc && i < n; i++) {
            const row *w = &s->rows[i];
            const cert_result *r = &w->r;
            iv[0 * n + i] = r->index, iv[1 * n + i] = w->task - (int64_t)r->index * s->o.slots;
            iv[2 * n + i] = r->label, iv[3 * n + i] = r->pred, iv[4 * n + i] = r->target;
            iv[5 * n + i] = r->status, iv[6 * n + i] = r->evals, iv[7 * n + i] = w->rank;
            dv[0 * n + i] = r->radius, dv[1 * n + i] = r->lo, dv[2 * n + i] = r->hi, dv[3 * n + i] = r->margin;
            dv[4 * n + i] = r->seconds, dv[5 * n + i] = r->pgd_eps, dv[6 * n + i] = r->pgd_lo;
            iv[8 * n + i] = r->pgd_class;
            dv[7 * n + i] = r->milp_eps, iv[9 * n + i] = r->milp_class;
            memcpy(msg + i * MSG_WIDTH, r->message, strnlen(r->message, MSG_WIDTH - 1));
        }
        if (!rc) {
            const void *all[C_COUNT] = {iv,         iv + n,     iv + 2 * n, iv + 3 * n, iv + 4 * n,
                                        iv + 5 * n, dv,         dv + n,     dv + 2 * n, dv + 3 * n,
                                        iv + 6 * n, dv + 4 * n, iv + 7 * n, msg,
                                        dv + 5 * n, dv + 6 * n, iv + 8 * n, dv + 7 * n, iv + 9 * n};
            const void *data[C_COUNT];
            for (int c = 0; c < s->n_cols; c++) data[c] = all[s->col[c]];
            rc = h5_table_append(s->t, data, n, err);
        }
        for (size_t i = 0; !rc && i < n; i++)
            if (s->bt && s->rows[i].bounds) rc = write_bounds_row(s, &s->rows[i], scratch, err);
        for (size_t i = 0; !rc && i < n; i++)
            if (s->at && s->rows[i].adv) rc = write_attack_row(s, &s->rows[i], scratch, err);
        for (size_t i = 0; !rc && i < n; i++)
            if (s->ct && s->rows[i].cert) rc = write_cert_row(s, &s->rows[i], scratch, err);
        for (size_t i = 0; !rc && i < n; i++)
            if (s->mt && s->rows[i].milp) rc = write_milp_row(s, &s->rows[i], scratch, err);
        free(iv);
        free(dv);
        free(msg);
        free(scratch);
        if (!rc) drop_rows(s);
    }
    if (!rc) rc = h5_table_flush(s->t, err);
    if (!rc) rc = journal_sync(s->j, err);
    s->last_flush = nn_wall_seconds();
    return rc;
}

/* One row per task, the first record of a task winning; fills the sorted done list.
 * A row that failed for memory (NN_ENOMEM) is not finished: it is left out, and
 * this run computes its task again (doc/scheduler.md "Memory"). */
static int dedupe(cert_store *s, nn_error *err)
{
    size_t n = 0;
    for (size_t i = 0; i < s->n_rows; i++) {
        row *w = &s->rows[i];
        if (w->r.status == CERT_FAILED && w->r.code == NN_ENOMEM) {
            row_free(w);
            continue;
        }
        s->rows[n++] = *w;
    }
    s->n_rows = n;
    if (n == 0) return NN_OK;
    int64_t *pairs = malloc(2 * n * sizeof *pairs);
    s->done = malloc(n * sizeof *s->done);
    if (!pairs || !s->done) {
        free(pairs);
        return nn_fail(err, NN_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) pairs[2 * i] = s->rows[i].task, pairs[2 * i + 1] = (int64_t)i;
    qsort(pairs, n, 2 * sizeof *pairs, cmp_pair);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (k && s->done[k - 1] == pairs[2 * i]) {
            row *w = &s->rows[pairs[2 * i + 1]];
            row_free(w);
            w->task = -1;
            continue;
        }
        s->done[k++] = pairs[2 * i];
    }
    free(pairs);
    s->n_done = k;
    size_t w = 0;
    for (size_t i = 0; i < n; i++)
        if (s->rows[i].task >= 0) s->rows[w++] = s->rows[i];
    s->n_rows = w;
    return NN_OK;
}

static int cmp_held(const void *a, const void *b)
{
    const cert_store_held *x = a, *y = b;
    if (x->rank != y->rank) return (x->rank > y->rank) - (x->rank < y->rank);
    return (x->task > y->task) - (x->task < y->task);
}

/* The last run's tasks whose latest ASSIGN gave them to a rank and that have no
 * result: what that run had in flight when it ended (doc/scheduler.md). */
static int find_unanswered(cert_store *s, nn_error *err)
{
    if (s->n_sent == 0) return NN_OK;
    qsort(s->sent, s->n_sent, 3 * sizeof *s->sent, cmp_pair);  /* by task, then record */
    s->held = malloc(s->n_sent * sizeof *s->held);
    if (!s->held) return nn_fail(err, NN_ENOMEM, "out of memory");
    for (size_t i = 0; i < s->n_sent; i++) {
        const int64_t *e = s->sent + 3 * i;
        if (i + 1 < s->n_sent && e[3] == e[0]) continue;  /* a later record of this task decides */
        if (e[2] >= 0 && !cert_store_done(s, e[0])) s->held[s->n_held++] = (cert_store_held){e[0], (int)e[2]};
    }
    qsort(s->held, s->n_held, sizeof *s->held, cmp_held);
    free(s->sent);
    s->sent = NULL, s->n_sent = s->cap_sent = 0;
    return NN_OK;
}

/* ---- public ---- */

static void store_free(cert_store *s)
{
    if (!s) return;
    drop_rows(s);
    free(s->rows);
    free(s->done);
    free(s->sent);
    free(s->held);
    for (size_t i = 0; i < s->n_parts; i++) free((void *)s->parts[i].data);
    free(s->parts);
    free(s->path);
    free(s->journal_path);
    free(s->key);
    free(s);
}

static int exists(const char *path) { return access(path, F_OK) == 0; }

int cert_store_open(cert_store **out, const cert_store_options *o, nn_error *err)
{
    *out = NULL;
    cert_store *s = nn_calloc(1, sizeof *s, "results store", err);
    if (!s) return NN_ENOMEM;
    s->o = *o;
    s->path = strdup(o->path);
    s->key = strdup(o->job_key);
    s->journal_path = malloc(strlen(o->path) + 16);
    if (!s->path || !s->key || !s->journal_path) {
        store_free(s);
        return nn_fail(err, NN_ENOMEM, "out of memory");
    }
    sprintf(s->journal_path, "%s.journal", o->path);
    snprintf(s->build, sizeof s->build, "%s", o->software ? o->software : results_git_commit());
    for (char *b = s->build; *b; b++)
        if (*b == ' ') *b = '_'; /* a run record's fields are separated by spaces */
    s->bounds_bytes = o->n_layers > 0 ? cert_store_bounds_bytes(o->n_layers, o->layer_size) : 0;
    s->adv_bytes = o->attack_in > 0 ? 8 * (1 + o->attack_in + o->attack_out) : 0;
    s->milp_bytes = o->milp_in > 0 ? 8 * (1 + o->milp_in + o->milp_out) : 0;
    for (int c = 0; c < C_COUNT; c++)
        if (c < C_BASE || (c < C_MILP_EPS && o->attack) || (c >= C_MILP_EPS && s->milp_bytes)) {
            s->col[s->n_cols] = c;
            s->cols[s->n_cols++] = result_cols[c];
        }
    int rc = NN_OK;
    /* a run still writing these results keeps them: --force-new must not pull them away */
    if (o->force_new) rc = journal_check_unused(s->journal_path, err);
    if (!rc && o->force_new) {
        if ((unlink(s->path) && errno != ENOENT) || (unlink(s->journal_path) && errno != ENOENT))
            rc = nn_fail(err, NN_EIO, "%s: cannot remove the old results (--force-new): %s", s->path,
                         strerror(errno));
    }
    int had_journal = exists(s->journal_path), had_h5 = exists(s->path), created = 0;
    /* Without a journal, an existing results file is read back before anything is written. */
    if (!rc && !had_journal && had_h5) rc = recover_h5(s, err);
    if (!rc) {
        rc = journal_open(&s->j, s->journal_path, &created, err);
        if (rc) nn_error_prefix(err, "cannot write the results %s: ", s->path);
    }
    replay_ctx c = {s, 0};
    size_t dropped = 0;
    if (!rc && !created) rc = journal_replay(s->j, on_record, &c, &dropped, err);
    if (!rc && (created || c.records == 0)) {
        rc = journal_append(s->j, REC_JOB, s->key, strlen(s->key), err);
        for (size_t i = 0; !rc && i < s->n_rows; i++)
            rc = journal_result(s, &s->rows[i], err);
    }
    if (!rc && s->n_rows) rc = dedupe(s, err);
    if (!rc && s->n_parts) drop_parts(s, -1);  /* rows recovered from the HDF5 file */
    if (!rc) rc = find_unanswered(s, err);
    char now[32];
    utc_now(now);
    if (!rc) {
        if (!s->start_time[0]) memcpy(s->start_time, now, sizeof now);
        s->runs++;
        char run[192];
        snprintf(run, sizeof run, "%s ranks=%d git=%s", now, o->ranks, s->build);
        rc = journal_append(s->j, REC_RUN, run, strlen(run), err);
    }
    if (!rc) rc = create_h5(s, err);
    if (!rc && o->on_row)
        for (size_t i = 0; i < s->n_rows; i++) o->on_row(o->row_ctx, s->rows[i].task, &s->rows[i].r);
    if (!rc) rc = flush(s, err);
    if (rc) {
        if (s->mt) h5_table_close(s->mt, NULL);
        if (s->ct) h5_table_close(s->ct, NULL);
        if (s->at) h5_table_close(s->at, NULL);
        if (s->bt) h5_table_close(s->bt, NULL);
        if (s->t) h5_table_close(s->t, NULL);
        if (s->j) journal_close(s->j, NULL);
        store_free(s);
        return rc;
    }
    (void)dropped;
    *out = s;
    return NN_OK;
}

int cert_store_done(const cert_store *s, int64_t task)
{
    return s->n_done && bsearch(&task, s->done, s->n_done, sizeof *s->done, cmp_i64) != NULL;
}

size_t cert_store_recovered(const cert_store *s) { return s->n_done; }

const char *cert_store_other_build(const cert_store *s)
{
    return s->other_build[0] ? s->other_build : NULL;
}

size_t cert_store_unanswered(const cert_store *s, const cert_store_held **held)
{
    *held = s->held;
    return s->n_held;
}

int cert_store_assigned(cert_store *s, int rank, const int64_t *tasks, size_t n, nn_error *err)
{
    unsigned char stack[8 + 8 * 8], *rec = n <= 8 ? stack : malloc(8 + 8 * n);
    if (!rec) return nn_fail(err, NN_ENOMEM, "out of memory for a journal record");
    le_put_u32(rec, (uint32_t)rank);
    le_put_u32(rec + 4, (uint32_t)n);
    for (size_t i = 0; i < n; i++) le_put_u64(rec + 8 + 8 * i, (uint64_t)tasks[i]);
    int rc = journal_append(s->j, REC_ASSIGN, rec, 8 + 8 * n, err);
    if (rec != stack) free(rec);
    return rc;
}

int cert_store_checkpoint(cert_store *s, int64_t task, const unsigned char *data, size_t len, nn_error *err)
{
    unsigned char *rec = malloc(8 + len);
    if (!rec) return nn_fail(err, NN_ENOMEM, "out of memory for a journal record");
    le_put_u64(rec, (uint64_t)task);
    if (len) memcpy(rec + 8, data, len);
    int rc = journal_append(s->j, REC_CHECKPOINT, rec, 8 + len, err);
    free(rec);
    return rc;
}

size_t cert_store_checkpoints(const cert_store *s, const cert_store_part **parts)
{
    *parts = s->parts;
    return s->n_parts;
}

int cert_store_add(cert_store *s, int64_t task, int rank, const cert_result *r, const unsigned char *extra,
                   size_t extra_len, nn_error *err)
{
    payloads p;
    int rc = split_extra(s, r->saved, extra, extra ? extra_len : 0, &p, err);
    if (rc) return nn_error_prefix(err, "task %lld: ", (long long)task);
    if (p.bounds_len && p.bounds_len != s->bounds_bytes)
        return nn_fail(err, NN_EARG, "%s: saved bounds of task %lld have %zu bytes, expected %zu", s->path,
                       (long long)task, p.bounds_len, s->bounds_bytes);
    if (p.adv_len && p.adv_len != s->adv_bytes)
        return nn_fail(err, NN_EARG, "%s: the counterexample of task %lld has %zu bytes, expected %zu", s->path,
                       (long long)task, p.adv_len, s->adv_bytes);
    if (p.cert_len && !s->o.cert_classes)
        return nn_fail(err, NN_EARG, "%s: task %lld has a certificate, and the file saves none", s->path,
                       (long long)task);
    if (p.cert_len && (rc = cert_fits(s, p.cert, p.cert_len, err)))
        return nn_error_prefix(err, "%s: task %lld: ", s->path, (long long)task);
    if (p.milp_len != s->milp_bytes && (p.milp_len || r->milp_class >= 0))
        return nn_fail(err, NN_EARG, "%s: the MILP counterexample of task %lld has %zu bytes, expected %zu", s->path,
                       (long long)task, p.milp_len, s->milp_bytes);
    rc = push_row(s, task, rank, r, &p, err);
    if (!rc) rc = journal_result(s, &s->rows[s->n_rows - 1], err);
    if (rc && s->n_rows && s->rows[s->n_rows - 1].task == task)  /* not journaled: not kept either */
        row_free(&s->rows[--s->n_rows]);
    if (!rc && s->n_rows >= 4096) rc = flush(s, err);
    return rc;
}

int cert_store_tick(cert_store *s, int force, nn_error *err)
{
    if (!force && nn_wall_seconds() - s->last_flush < s->o.flush_seconds) return NN_OK;
    return flush(s, err);
}

int cert_store_close(cert_store *s, int complete, nn_error *err)
{
    if (!s) return NN_OK;
    int rc = flush(s, err);
    if (!rc && complete) {
        char now[32];
        utc_now(now);
        h5_attr end = {"end_time", now, 0, 0};
        rc = h5_table_root_attr(s->t, &end, err);
    }
    nn_error tmp;
    if (s->mt && h5_table_close(s->mt, rc ? &tmp : err) && !rc) rc = err ? (int)err->code : NN_EIO;
    if (s->ct && h5_table_close(s->ct, rc ? &tmp : err) && !rc) rc = err ? (int)err->code : NN_EIO;
    if (s->at && h5_table_close(s->at, rc ? &tmp : err) && !rc) rc = err ? (int)err->code : NN_EIO;
    if (s->bt && h5_table_close(s->bt, rc ? &tmp : err) && !rc) rc = err ? (int)err->code : NN_EIO;
    if (h5_table_close(s->t, rc ? &tmp : err) && !rc) rc = err ? (int)err->code : NN_EIO;
    if (journal_close(s->j, rc ? &tmp : err) && !rc) rc = err ? (int)err->code : NN_EIO;
    store_free(s);
    return rc;
}
