/* The byte layout of a branch-and-bound checkpoint (doc/bab.md "Checkpoints"),
 * little-endian throughout so a snapshot moves between hosts:
 *
 *   "NNBABSN3" | box rng elapsed | n_cases proven[n_cases] | boxes_proven
 *   reserved pgd_steps | bab_stats | relu nc n_x pre_n next_id stuck volume
 *   depth_first warm_n n_domains | per domain: id depth key worst_row volume
 *   open[nc], then lo[n_x] hi[n_x] (input halves) and with pre_n > 0 a flag
 *   and, when it is 1, pre[2 pre_n], or n_splits (layer neuron phase)...
 *   pre[2 pre_n] (ReLU phases), then with warm_n > 0 a flag and, when it is
 *   1, warm[warm_n] (FROWN's spec-row variables, bab.c)
 *
 * "NNBABSN2", written before input halves kept their bounds, is the same with
 * pre_n = 0 for them; "NNBABSN1", written before the warm starts, is that
 * without warm_n and the flags. Both still read (pre_n, warm_n = 0).
 *
 * Integers are 8 bytes (a split's layer and neuron 4, its phase and the open
 * flags 1), doubles their IEEE bits: a resumed search sees the very numbers the
 * killed one had. Decoding trusts nothing: every count is checked against the
 * bytes left before anything is allocated for it. */
#include "bab_snapshot.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "byteorder.h"

#define MAGIC "NNBABSN3"
#define MAGIC_V2 "NNBABSN2"
#define MAGIC_V1 "NNBABSN1"
#define MAGIC_LEN 8
#define SPLIT_BYTES 9

/* ---- encoding ---- */

typedef struct {
    unsigned char *p;
    size_t at;
} writer;

static void put_u64(writer *w, uint64_t v) { le_put_u64(w->p + w->at, v), w->at += 8; }
static void put_i64(writer *w, long v) { put_u64(w, (uint64_t)(int64_t)v); }
static void put_f64(writer *w, double v) { le_put_f64(w->p + w->at, v), w->at += 8; }
static void put_bytes(writer *w, const void *b, size_t n)
{
    if (n) memcpy(w->p + w->at, b, n);
    w->at += n;
}
static void put_f64s(writer *w, const double *v, size_t n)
{
    for (size_t i = 0; i < n; i++) put_f64(w, v[i]);
}

enum { N_STATS_I = 9, N_STATS_F = 6 };  /* bab_stats: integers, doubles */

static void put_stats(writer *w, const bab_stats *b)
{
    long ints[N_STATS_I] = {b->domains, b->leaves_proven, b->leaves_empty, b->open, b->stuck,
                            b->depth, b->rounds, b->used_input, b->used_relu};
    double dbl[N_STATS_F] = {b->proven_margin, b->volume_proven, b->sec_pgd, b->sec_plan, b->sec_jobs, b->sec_merge};
    for (int i = 0; i < N_STATS_I; i++) put_i64(w, ints[i]);
    put_f64s(w, dbl, N_STATS_F);
}

static size_t domain_bytes(const bab_snapshot *s, const bab_domain *d)
{
    size_t n = 5 * 8 + s->nc + (s->warm_n ? 1 + (d->warm ? s->warm_n * 8 : 0) : 0);
    if (!s->relu) return n + 2 * s->n_x * 8 + (s->pre_n ? 1 + (d->pre ? 2 * s->pre_n * 8 : 0) : 0);
    return n + 8 + d->n_splits * SPLIT_BYTES + 2 * s->pre_n * 8;
}

int bab_snapshot_encode(const bab_snapshot *s, unsigned char **bytes, size_t *len, nn_error *err)
{
    size_t n = MAGIC_LEN + 3 * 8 + 8 + s->n_cases + 3 * 8 + (N_STATS_I + N_STATS_F) * 8 + 10 * 8;
    for (size_t i = 0; i < s->n_domains; i++) n += domain_bytes(s, s->dom[i]);
    writer w = {nn_malloc(n, "branch-and-bound checkpoint", err), 0};
    if (!w.p) return NN_ENOMEM;
    put_bytes(&w, MAGIC, MAGIC_LEN);
    put_u64(&w, s->box), put_u64(&w, s->rng), put_f64(&w, s->elapsed);
    put_u64(&w, s->n_cases), put_bytes(&w, s->proven, s->n_cases);
    put_u64(&w, s->boxes_proven), put_u64(&w, 0), put_i64(&w, s->pgd_steps);
    put_stats(&w, &s->bab);
    put_u64(&w, (uint64_t)s->relu), put_u64(&w, s->nc), put_u64(&w, s->n_x), put_u64(&w, s->pre_n);
    put_u64(&w, s->next_id), put_i64(&w, s->stuck), put_f64(&w, s->volume), put_u64(&w, (uint64_t)s->depth_first);
    put_u64(&w, s->warm_n), put_u64(&w, s->n_domains);
    for (size_t i = 0; i < s->n_domains; i++) {
        const bab_domain *d = s->dom[i];
        put_u64(&w, d->id), put_i64(&w, d->depth), put_f64(&w, d->key);
        put_u64(&w, d->worst_row == (size_t)-1 ? UINT64_MAX : (uint64_t)d->worst_row);
        put_f64(&w, d->volume);
        put_bytes(&w, d->open, s->nc);
        if (!s->relu) {
            put_f64s(&w, d->lo, s->n_x), put_f64s(&w, d->hi, s->n_x);
            if (s->pre_n) {
                w.p[w.at++] = d->pre != NULL;
                if (d->pre) put_f64s(&w, d->pre, 2 * s->pre_n);
            }
        } else {
            put_u64(&w, d->n_splits);
            for (size_t k = 0; k < d->n_splits; k++) {
                le_put_u32(w.p + w.at, (uint32_t)d->splits[k].layer);
                le_put_u32(w.p + w.at + 4, d->splits[k].neuron);
                w.p[w.at + 8] = (unsigned char)d->splits[k].phase;
                w.at += SPLIT_BYTES;
            }
            put_f64s(&w, d->pre, 2 * s->pre_n);
        }
        if (!s->warm_n) continue;
        w.p[w.at++] = d->warm != NULL;
        for (size_t k = 0; d->warm && k < s->warm_n; k++) put_f64(&w, d->warm[k]);
    }
    *bytes = w.p, *len = w.at;
    return NN_OK;
}

/* ---- decoding ---- */

typedef struct {
    const unsigned char *p;
    size_t at, len;
    nn_error *err;
} reader;

/* Are n more items of `size` bytes there? */
static int have(reader *r, size_t n, size_t size, const char *what)
{
    if (n <= (r->len - r->at) / size) return 1;
    nn_fail(r->err, NN_EFORMAT, "branch-and-bound checkpoint: %s runs past the end (%zu bytes at offset %zu)", what,
            r->len - r->at, r->at);
    return 0;
}

static int get_u64(reader *r, uint64_t *v, const char *what)
{
    if (!have(r, 1, 8, what)) return NN_EFORMAT;
    *v = le_get_u64(r->p + r->at), r->at += 8;
    return NN_OK;
}

/* A count or index that must fit a size_t and stay below limit. */
static int get_size(reader *r, size_t *v, uint64_t limit, const char *what)
{
    uint64_t u;
    if (get_u64(r, &u, what)) return NN_EFORMAT;
    if (u > limit)
        return nn_fail(r->err, NN_EFORMAT, "branch-and-bound checkpoint: %s is %llu, more than %llu", what,
                       (unsigned long long)u, (unsigned long long)limit);
    *v = (size_t)u;
    return NN_OK;
}

static int get_i64(reader *r, long *v, const char *what)
{
    uint64_t u;
    if (get_u64(r, &u, what)) return NN_EFORMAT;
    int64_t s = (int64_t)u;
    if (s < -1 || s > (int64_t)(LONG_MAX / 2))
        return nn_fail(r->err, NN_EFORMAT, "branch-and-bound checkpoint: %s is %lld, out of range", what,
                       (long long)s);
    *v = (long)s;
    return NN_OK;
}

static int get_f64s(reader *r, double *v, size_t n, const char *what)
{
    if (!have(r, n, 8, what)) return NN_EFORMAT;
    for (size_t i = 0; i < n; i++) v[i] = le_get_f64(r->p + r->at), r->at += 8;
    return NN_OK;
}

/* Flags of one byte each, 0 or 1. */
static int get_flags(reader *r, unsigned char *v, size_t n, const char *what)
{
    if (!have(r, n, 1, what)) return NN_EFORMAT;
    for (size_t i = 0; i < n; i++)
        if (r->p[r->at + i] > 1)
            return nn_fail(r->err, NN_EFORMAT, "branch-and-bound checkpoint: %s holds %u, not a flag", what,
                           (unsigned)r->p[r->at + i]);
    if (n) memcpy(v, r->p + r->at, n);
    r->at += n;
    return NN_OK;
}

static int get_stats(reader *r, bab_stats *b)
{
    long ints[N_STATS_I];
    double dbl[N_STATS_F];
    for (int i = 0; i < N_STATS_I; i++)
        if (get_i64(r, &ints[i], "a counter")) return NN_EFORMAT;
    if (get_f64s(r, dbl, N_STATS_F, "the counters")) return NN_EFORMAT;
    if (ints[5] < 0 || ints[5] > (1L << 30))
        return nn_fail(r->err, NN_EFORMAT, "branch-and-bound checkpoint: depth %ld out of range", ints[5]);
    memset(b, 0, sizeof *b);
    b->domains = ints[0], b->leaves_proven = ints[1], b->leaves_empty = ints[2], b->open = ints[3];
    b->stuck = ints[4], b->depth = (int)ints[5], b->rounds = ints[6];
    b->used_input = ints[7] != 0, b->used_relu = ints[8] != 0;
    b->proven_margin = dbl[0], b->volume_proven = dbl[1];
    b->sec_pgd = dbl[2], b->sec_plan = dbl[3], b->sec_jobs = dbl[4], b->sec_merge = dbl[5];
    return NN_OK;
}

static int get_box(reader *r, const bab_snapshot *s, bab_domain *d);
static int get_splits(reader *r, const bab_snapshot *s, bab_domain *d, long depth);

static int get_domain(reader *r, const bab_snapshot *s, bab_domain **out)
{
    nn_error *err = r->err;
    bab_domain *d = *out = nn_calloc(1, sizeof *d, "branch-and-bound domain", err);
    if (!d) return NN_ENOMEM;
    uint64_t id = 0, row = 0;
    long depth = 0;
    double kv[2];
    if (get_u64(r, &id, "a domain's id") || get_i64(r, &depth, "a domain's depth") ||
        get_f64s(r, kv, 1, "a domain's key") || get_u64(r, &row, "a domain's row") ||
        get_f64s(r, kv + 1, 1, "a domain's volume"))
        return NN_EFORMAT;
    /* depth 0 is the root, which a search stopped by its timeout right after
     * bounding the root keeps */
    if (id >= s->next_id || depth < 0 || depth > (1L << 30))
        return nn_fail(err, NN_EFORMAT, "branch-and-bound checkpoint: domain id %llu or depth %ld out of range",
                       (unsigned long long)id, depth);
    d->id = id, d->depth = (int)depth, d->key = kv[0], d->volume = kv[1];
    d->worst_row = row == UINT64_MAX ? (size_t)-1 : (size_t)row;
    if (row != UINT64_MAX && row > SIZE_MAX / 2)
        return nn_fail(err, NN_EFORMAT, "branch-and-bound checkpoint: row %llu out of range", (unsigned long long)row);
    if (!have(r, s->nc, 1, "a domain's disjuncts")) return NN_EFORMAT;
    if (!(d->open = nn_malloc(s->nc ? s->nc : 1, "branch-and-bound domain", err))) return NN_ENOMEM;
    if (get_flags(r, d->open, s->nc, "a domain's disjuncts")) return NN_EFORMAT;
    int rc = s->relu ? get_splits(r, s, d, depth) : get_box(r, s, d);
    if (rc || !s->warm_n) return rc;
    unsigned char has = 0;
    if ((rc = get_flags(r, &has, 1, "a domain's warm-start flag"))) return rc;
    if (!has) return NN_OK;
    if (!have(r, s->warm_n, 8, "a domain's warm start")) return NN_EFORMAT;
    if (!(d->warm = nn_malloc(s->warm_n * sizeof *d->warm, "warm start", err))) return NN_ENOMEM;
    for (size_t k = 0; k < s->warm_n; k++, r->at += 8) {
        double v = le_get_f64(r->p + r->at);
        d->warm[k] = (float)v;
        if (isfinite(v) && (double)d->warm[k] != v)  /* they were floats */
            return nn_fail(err, NN_EFORMAT, "branch-and-bound checkpoint: warm-start value %g is not a float", v);
    }
    return NN_OK;
}

/* An input-split domain's sub-box. */
static int get_box(reader *r, const bab_snapshot *s, bab_domain *d)
{
    nn_error *err = r->err;
    if (!have(r, s->n_x, 16, "a sub-box")) return NN_EFORMAT;
    d->lo = nn_malloc((s->n_x ? s->n_x : 1) * sizeof *d->lo, "sub-box", err);
    d->hi = nn_malloc((s->n_x ? s->n_x : 1) * sizeof *d->hi, "sub-box", err);
    if (!d->lo || !d->hi) return NN_ENOMEM;
    if (get_f64s(r, d->lo, s->n_x, "a sub-box") || get_f64s(r, d->hi, s->n_x, "a sub-box")) return NN_EFORMAT;
    for (size_t i = 0; i < s->n_x; i++)
        if (!(d->lo[i] <= d->hi[i]))
            return nn_fail(err, NN_EFORMAT, "branch-and-bound checkpoint: sub-box input %zu is [%g, %g]", i,
                           d->lo[i], d->hi[i]);
    if (!s->pre_n) return NN_OK;
    unsigned char has = 0;
    int rc = get_flags(r, &has, 1, "a sub-box's bounds flag");
    if (rc || !has) return rc;
    if (!have(r, s->pre_n, 16, "a sub-box's bounds")) return NN_EFORMAT;
    if (!(d->pre = nn_malloc(2 * s->pre_n * sizeof *d->pre, "domain bounds", err))) return NN_ENOMEM;
    return get_f64s(r, d->pre, 2 * s->pre_n, "a sub-box's bounds");
}

/* A ReLU-split domain's constraints and bounds. */
static int get_splits(reader *r, const bab_snapshot *s, bab_domain *d, long depth)
{
    nn_error *err = r->err;
    if (get_size(r, &d->n_splits, (r->len - r->at) / SPLIT_BYTES, "a domain's split count")) return NN_EFORMAT;
    if ((uint64_t)d->n_splits != (uint64_t)depth)
        return nn_fail(err, NN_EFORMAT, "branch-and-bound checkpoint: a domain of depth %ld has %zu splits", depth,
                       d->n_splits);
    if (d->n_splits && !(d->splits = nn_malloc(d->n_splits * sizeof *d->splits, "split constraints", err)))
        return NN_ENOMEM;
    for (size_t k = 0; k < d->n_splits; k++, r->at += SPLIT_BYTES) {
        const unsigned char *p = r->p + r->at;
        uint32_t layer = le_get_u32(p);
        signed char phase = (signed char)p[8];
        if (layer > (1u << 30) || (phase != 1 && phase != -1))
            return nn_fail(err, NN_EFORMAT, "branch-and-bound checkpoint: split %zu (layer %u, phase %d) is invalid",
                           k, (unsigned)layer, phase);
        d->splits[k] = (bab_split_rec){(int)layer, le_get_u32(p + 4), phase};
    }
    if (!have(r, s->pre_n, 16, "a domain's bounds")) return NN_EFORMAT;
    if (!(d->pre = nn_malloc((s->pre_n ? 2 * s->pre_n : 1) * sizeof *d->pre, "domain bounds", err))) return NN_ENOMEM;
    return get_f64s(r, d->pre, 2 * s->pre_n, "a domain's bounds");
}

int bab_snapshot_decode(const unsigned char *bytes, size_t len, bab_snapshot *s, nn_error *err)
{
    memset(s, 0, sizeof *s);
    reader r = {bytes, 0, len, err};
    int v1 = len >= MAGIC_LEN && !memcmp(bytes, MAGIC_V1, MAGIC_LEN);
    int v2 = len >= MAGIC_LEN && !memcmp(bytes, MAGIC_V2, MAGIC_LEN);
    if (!v1 && !v2 && (len < MAGIC_LEN || memcmp(bytes, MAGIC, MAGIC_LEN)))
        return nn_fail(err, NN_EFORMAT, "not a branch-and-bound checkpoint (its first bytes are not %s, %s or %s)",
                       MAGIC, MAGIC_V2, MAGIC_V1);
    r.at = MAGIC_LEN;
    uint64_t u = 0;
    double el = 0;
    int rc = get_size(&r, &s->box, SIZE_MAX / 2, "the box");
    if (!rc) rc = get_u64(&r, &s->rng, "the generator");
    if (!rc) rc = get_f64s(&r, &el, 1, "the time spent");
    if (!rc && !(el >= 0 && el < 1e12))
        rc = nn_fail(err, NN_EFORMAT, "branch-and-bound checkpoint: time spent %g s is not a duration", el);
    s->elapsed = el;
    if (!rc) rc = get_size(&r, &s->n_cases, len, "the disjunct count");
    if (!rc && !(s->proven = nn_malloc(s->n_cases ? s->n_cases : 1, "proven disjuncts", err))) rc = NN_ENOMEM;
    if (!rc) rc = get_flags(&r, s->proven, s->n_cases, "the proven disjuncts");
    long steps = 0;
    if (!rc) rc = get_size(&r, &s->boxes_proven, SIZE_MAX / 2, "the proven boxes");
    size_t reserved = 0;  /* once boxes bounded through an enclosing ball; every box is exact now */
    if (!rc) rc = get_size(&r, &reserved, SIZE_MAX / 2, "a reserved count");
    if (!rc) rc = get_i64(&r, &steps, "the PGD steps");
    s->pgd_steps = steps;
    if (!rc) rc = get_stats(&r, &s->bab);
    if (!rc && !(rc = get_u64(&r, &u, "the split kind")) && u > 1)
        rc = nn_fail(err, NN_EFORMAT, "branch-and-bound checkpoint: split kind %llu is neither 0 nor 1",
                     (unsigned long long)u);
    s->relu = (int)u;
    if (!rc) rc = get_size(&r, &s->nc, s->n_cases, "the box's disjunct count");
    if (!rc) rc = get_size(&r, &s->n_x, len, "the input count");
    if (!rc) rc = get_size(&r, &s->pre_n, len, "the bound count");
    if (!rc && !s->relu && s->pre_n && (v1 || v2))
        rc = nn_fail(err, NN_EFORMAT, "branch-and-bound checkpoint: input halves with %zu bounds in a %s file",
                     s->pre_n, v1 ? MAGIC_V1 : MAGIC_V2);
    if (!rc) rc = get_u64(&r, &s->next_id, "the next id");
    if (!rc) rc = get_i64(&r, &s->stuck, "the stuck count");
    if (!rc) rc = get_f64s(&r, &s->volume, 1, "the proven volume");
    if (!rc && !(rc = get_u64(&r, &u, "the order")) && u > 1)
        rc = nn_fail(err, NN_EFORMAT, "branch-and-bound checkpoint: order %llu is neither 0 nor 1",
                     (unsigned long long)u);
    s->depth_first = (int)u;
    if (!rc && !v1) rc = get_size(&r, &s->warm_n, len / 8, "the warm-start length");
    /* a domain takes at least 40 + nc bytes */
    if (!rc) rc = get_size(&r, &s->n_domains, (len - r.at) / (40 + s->nc), "the domain count");
    if (!rc && !(s->dom = nn_calloc(s->n_domains ? s->n_domains : 1, sizeof *s->dom, "open domains", err)))
        rc = NN_ENOMEM;
    for (size_t i = 0; !rc && i < s->n_domains; i++) rc = get_domain(&r, s, &s->dom[i]);
    if (!rc && r.at != len)
        rc = nn_fail(err, NN_EFORMAT, "branch-and-bound checkpoint: %zu bytes left over after the last domain",
                     len - r.at);
    if (rc) bab_snapshot_free(s);
    return rc;
}

void bab_snapshot_free(bab_snapshot *s)
{
    for (size_t i = 0; s->dom && i < s->n_domains; i++) bab_domain_free(s->dom[i]);
    free(s->dom), free(s->proven);
    memset(s, 0, sizeof *s);
}
