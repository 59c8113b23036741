/* The certify job: its keys and their resolution into options.
 *
 * One schema serves the INI file and the command line: every key is also a flag
 * of 'nncert certify' (--row-block for row_block; src/cli/cmd_certify.c) and a
 * flag overrides the file. Resolution checks every key before anything is loaded, so a bad job
 * fails before any work with "file:line: key 'k': reason" (or "command line").
 * Identity keys are the ones that decide the numbers in the results; after
 * resolution their values are rewritten canonically (names as the engine
 * spells them, numbers as %.17g) so that "1e-3" and "0.001" are the same job. */
#include "cert_job.h"

#include "blas_threads.h"
#include "scheduler.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const job_key keys[] = {
    {"job", "model", JOB_STR, NULL, 0},
    {"job", "data", JOB_STR, NULL, 1},
    {"job", "start", JOB_INT, "0", 0},
    {"job", "count", JOB_INT, "0", 0},
    {"job", "out", JOB_STR, NULL, 0},
    /* input normalization prepended to the model; no default, so jobs without
     * them keep their identity */
    {"job", "mean", JOB_STR, NULL, 1},
    {"job", "std", JOB_STR, NULL, 1},
    {"bound", "method", JOB_STR, "crown", 1},
    {"bound", "lines", JOB_STR, "adaptive", 1},
    {"bound", "maxpool", JOB_STR, "tilin", 1},
    {"bound", "precision", JOB_STR, "double", 1},
    {"bound", "norm", JOB_STR, "inf", 1},
    {"bound", "clip", JOB_BOOL, "false", 1},
    {"bound", "row_block", JOB_INT, "0", 1},
    {"certify", "target", JOB_STR, "untargeted", 1},
    {"certify", "seed", JOB_INT, "0", 1},
    {"certify", "search", JOB_STR, "bisect", 1},
    {"certify", "rtol", JOB_REAL, "1e-3", 1},
    {"certify", "eps", JOB_REAL, NULL, 1},
    /* no default: jobs without the key keep the identity they had before it existed */
    {"certify", "attack", JOB_STR, NULL, 1},
    /* not an identity key: a timeout ends a row early, it does not change one */
    {"certify", "task_timeout", JOB_REAL, "0", 0},
    {"output", "save_bounds", JOB_LIST, NULL, 0},
    {"output", "save_attacks", JOB_LIST, NULL, 0},
    /* not an identity key: a certificate is what the row's search already did */
    {"output", "save_certificates", JOB_SELECT, NULL, 0},
    {"output", "flush_seconds", JOB_REAL, "2", 0},
    {"output", "progress_seconds", JOB_REAL, "10", 0},
    {"output", "force_new", JOB_BOOL, "false", 0},
    {"dist", "ranks_per_image", JOB_STR, "1", 0},
    {"dist", "dry_tasks", JOB_BOOL, "false", 1},
    {"dist", "drain_seconds", JOB_REAL, "60", 0},
    /* not an identity key: it refuses a job before any work, it changes no row */
    {"dist", "max_memory", JOB_STR, NULL, 0},
    /* BLAS threads per rank: an identity key, since a GEMM split over threads may
     * round differently than on one (README "Cluster runs") */
    {"dist", "threads", JOB_INT, "1", 1},
    /* FROWN's options, named like its --frown-* flags; only with method frown */
    {"frown", "frown_group", JOB_INT, NULL, 1},
    {"frown", "frown_iters", JOB_INT, NULL, 1},
    {"frown", "frown_lr", JOB_REAL, NULL, 1},
    {"frown", "frown_patience", JOB_INT, NULL, 1},
    {"frown", "frown_threshold", JOB_REAL, NULL, 1},
    {"frown", "frown_warm", JOB_INT, NULL, 1},
    {"frown", "frown_beta", JOB_INT, NULL, 1},
    {"frown", "frown_layers", JOB_STR, NULL, 1},
    /* the LP methods' options (doc/lp.md), like their flags; only with those methods */
    {"lp", "lp_cuts", JOB_INT, NULL, 1},
    {"lp", "milp_time_limit", JOB_REAL, NULL, 1},
    /* branch and bound at the eps the bounds leave uncertified (doc/bab.md
     * "Certified radii"); no defaults, so jobs without it keep their identity.
     * bab_timeout is an identity key: it decides which eps get certified. */
    {"bab", "bab", JOB_BOOL, NULL, 1},
    {"bab", "bab_split", JOB_STR, NULL, 1},
    {"bab", "bab_batch", JOB_INT, NULL, 1},
    {"bab", "bab_candidates", JOB_INT, NULL, 1},
    {"bab", "bab_max_frontier", JOB_INT, NULL, 1},
    {"bab", "bab_max_domains", JOB_INT, NULL, 1},
    {"bab", "bab_unit", JOB_INT, NULL, 1},
    {"bab", "bab_timeout", JOB_REAL, NULL, 1},
    /* how often a running search's snapshot is journaled; no part of the results */
    {"bab", "bab_checkpoint_every", JOB_REAL, NULL, 0},
};

int cert_job_schema(const job_key **out)
{
    *out = keys;
    return (int)(sizeof keys / sizeof keys[0]);
}

/* FROWN's keys into the engine's options (bound.h), checked like the engine checks
 * them; an unset key keeps the engine's default. */
static int resolve_frown(job *j, bound_options *o, const char *method, nn_error *err)
{
    static const char *const keys_f[] = {"frown_group", "frown_iters", "frown_lr", "frown_patience",
                                         "frown_threshold", "frown_warm", "frown_beta", "frown_layers"};
    for (int i = 0; i < 8; i++)
        if (job_is_set(j, keys_f[i]) && o->method != METHOD_FROWN)
            return job_fail(j, keys_f[i], err, NN_EARG,
                            "applies to method frown only (section [frown]); method is '%s'", method);
    if (o->method != METHOD_FROWN) return NN_OK;
    long l;
    double d;
    int rc;
    if (job_is_set(j, "frown_group")) {
        if ((rc = job_get_long(j, "frown_group", 1, 1L << 30, &l, err))) return rc;
        o->frown_group = (size_t)l;
    }
    if (job_is_set(j, "frown_iters")) {
        if ((rc = job_get_long(j, "frown_iters", 0, 1000000, &l, err))) return rc;
        o->frown_iters = (int)l;
    }
    if (job_is_set(j, "frown_patience")) {
        if ((rc = job_get_long(j, "frown_patience", 1, 1000000, &l, err))) return rc;
        o->frown_patience = (int)l;
    }
    if (job_is_set(j, "frown_warm")) {
        if ((rc = job_get_long(j, "frown_warm", 0, 1, &l, err))) return rc;
        o->frown_warm = (int)l;
    }
    if (job_is_set(j, "frown_beta")) {
        if ((rc = job_get_long(j, "frown_beta", 0, 1, &l, err))) return rc;
        o->frown_beta = (int)l;
    }
    if (job_is_set(j, "frown_layers")) {
        int sc = frown_scope_parse(job_value(j, "frown_layers"));
        if (sc < 0)
            return job_fail(j, "frown_layers", err, NN_EARG, "expected auto, all or spec, got '%s'",
                            job_value(j, "frown_layers"));
        o->frown_layers = (frown_scope)sc;
    }
    if (job_is_set(j, "frown_lr")) {
        if ((rc = job_get_double(j, "frown_lr", &d, err))) return rc;
        if (!(d > 0)) return job_fail(j, "frown_lr", err, NN_EARG, "must be > 0, got %g", d);
        o->frown_lr = d;
    }
    if (job_is_set(j, "frown_threshold")) {
        if ((rc = job_get_double(j, "frown_threshold", &d, err))) return rc;
        if (!(d >= 0)) return job_fail(j, "frown_threshold", err, NN_EARG, "must be >= 0, got %g", d);
        o->frown_threshold = d;
    }
    return NN_OK;
}

/* The LP methods' keys: lp_cuts with lp-last, lp-all or milp, milp_time_limit
 * with milp only; an unset key keeps the engine's default. */
static int resolve_lp(job *j, bound_options *o, nn_error *err)
{
    int lp = bound_method_is_lp(o->method), rc;
    if (job_is_set(j, "lp_cuts")) {
        if (!lp)
            return job_fail(j, "lp_cuts", err, NN_EARG, "applies to methods lp-last, lp-all and milp only; method "
                            "is '%s'", bound_method_name(o->method));
        long l;
        if ((rc = job_get_long(j, "lp_cuts", 0, 64, &l, err))) return rc;
        o->lp_cuts = (int)l;
    }
    if (job_is_set(j, "milp_time_limit")) {
        if (o->method != METHOD_MILP)
            return job_fail(j, "milp_time_limit", err, NN_EARG, "applies to method milp only; method is '%s'",
                            bound_method_name(o->method));
        double d;
        if ((rc = job_get_double(j, "milp_time_limit", &d, err))) return rc;
        if (!(d > 0) || !isfinite(d))
            return job_fail(j, "milp_time_limit", err, NN_EARG, "must be a number of seconds > 0, got %g", d);
        o->milp_time_limit = d;
    }
    return NN_OK;
}

/* Forget a key's value: the identity of a job that never had it. */
static void job_unset(job *j, const char *key)
{
    int k = job_find(j, key);
    free(j->value[k]), free(j->origin[k]);
    j->value[k] = j->origin[k] = NULL;
}

/* attack = none | pgd: PGD upper bounds beside each radius (attack_task.c);
 * "none" is stored as no value, the identity of a job without the key. */
static int resolve_attack(job *j, cert_job *c, nn_error *err)
{
    int rc;
    const char *v = job_value(j, "attack");
    if (v && strcmp(v, "none") && strcmp(v, "pgd"))
        return job_fail(j, "attack", err, NN_EARG, "unknown attack '%s' (expected none or pgd)", v);
    c->attack = v && !strcmp(v, "pgd");
    if (c->attack && c->task.norm != NORM_INF && c->task.norm != NORM_2)
        return job_fail(j, "attack", err, NN_EARG, "pgd attacks norms inf and 2 only; norm is %s",
                        norm_name(c->task.norm));
    if (v && !c->attack) job_unset(j, "attack");
    if (job_value(j, "save_attacks")) {
        if (!c->attack)
            return job_fail(j, "save_attacks", err, NN_EARG, "needs attack = pgd (section [certify])");
        if ((rc = job_get_list(j, "save_attacks", &c->save_attacks, &c->n_save_attacks, err))) return rc;
    }
    return NN_OK;
}

static int canon(job *j, const char *key, const char *value, nn_error *err);
static int canon_double(job *j, const char *key, double v, nn_error *err);

/* Branch and bound's keys into c->task (bab = false is the job without them);
 * with bab on, every setting in force is written into the identity. */
static int resolve_bab(job *j, cert_job *c, nn_error *err)
{
    static const char *const keys_b[] = {"bab_split",       "bab_batch", "bab_candidates", "bab_max_frontier",
                                         "bab_max_domains", "bab_unit",  "bab_timeout",    "bab_checkpoint_every"};
    int on = 0, rc;
    if (job_is_set(j, "bab") && (rc = job_get_bool(j, "bab", &on, err))) return rc;
    bab_options *b = &c->task.bab;
    bab_options_default(b);
    b->enabled = on;
    b->save_every = 60;
    c->task.bab_timeout = 0.0;
    for (size_t i = 0; i < sizeof keys_b / sizeof keys_b[0]; i++)
        if (job_is_set(j, keys_b[i]) && !on) return job_fail(j, keys_b[i], err, NN_EARG, "needs bab = true (or --bab)");
    if (!on) {
        job_unset(j, "bab");
        return NN_OK;
    }
    if (c->task.norm != NORM_INF)
        return job_fail(j, "bab", err, NN_EARG, "branch and bound searches l_inf balls only (its sub-domains are "
                        "boxes); norm is %s", norm_name(c->task.norm));
    const char *v = job_value(j, "bab_split");
    if (v) {
        int s = bab_split_parse(v);
        if (s < 0) return job_fail(j, "bab_split", err, NN_EARG, "expected auto, input or relu, got '%s'", v);
        b->split = (bab_split)s;
    }
    long l;
    if (job_is_set(j, "bab_batch")) {
        if ((rc = job_get_long(j, "bab_batch", 1, 1L << 20, &l, err))) return rc;
        b->batch = (size_t)l;
    }
    if (job_is_set(j, "bab_candidates")) {
        if ((rc = job_get_long(j, "bab_candidates", 1, 4096, &l, err))) return rc;
        b->candidates = (size_t)l;
    }
    if (job_is_set(j, "bab_max_frontier")) {
        if ((rc = job_get_long(j, "bab_max_frontier", 1, 1L << 40, &l, err))) return rc;
        b->max_frontier = (size_t)l;
    }
    if (job_is_set(j, "bab_max_domains")) {
        if ((rc = job_get_long(j, "bab_max_domains", 0, 1L << 50, &l, err))) return rc;
        b->max_domains = l;
    }
    b->unit = bab_unit_default(c->bopt.method);
    if (job_is_set(j, "bab_unit")) {
        if ((rc = job_get_long(j, "bab_unit", 1, BAB_UNIT_MAX, &l, err))) return rc;
        b->unit = (size_t)l;
        if (b->unit > 1 && !bound_batch_method(c->bopt.method))
            return job_fail(j, "bab_unit", err, NN_EARG, "%zu bounds domains in batches: it needs method "
                            "crown, fastlin or frown, not %s", b->unit, bound_method_name(c->bopt.method));
    }
    if (job_is_set(j, "bab_checkpoint_every")) {
        double d;
        if ((rc = job_get_double(j, "bab_checkpoint_every", &d, err))) return rc;
        if (!(d >= 0) || !isfinite(d))
            return job_fail(j, "bab_checkpoint_every", err, NN_EARG, "must be >= 0 seconds (0: every round), got %g",
                            d);
        b->save_every = d;
    }
    if (job_is_set(j, "bab_timeout")) {
        double d;
        if ((rc = job_get_double(j, "bab_timeout", &d, err))) return rc;
        if (!(d >= 0) || !isfinite(d))
            return job_fail(j, "bab_timeout", err, NN_EARG, "must be >= 0 seconds per eps (0: none), got %g", d);
        c->task.bab_timeout = d;
    }
    char buf[40];
    if ((rc = canon(j, "bab", "true", err)) || (rc = canon(j, "bab_split", bab_split_name(b->split), err)))
        return rc;
    snprintf(buf, sizeof buf, "%zu", b->batch);
    if ((rc = canon(j, "bab_batch", buf, err))) return rc;
    snprintf(buf, sizeof buf, "%zu", b->candidates);
    if ((rc = canon(j, "bab_candidates", buf, err))) return rc;
    snprintf(buf, sizeof buf, "%zu", b->max_frontier);
    if ((rc = canon(j, "bab_max_frontier", buf, err))) return rc;
    snprintf(buf, sizeof buf, "%ld", b->max_domains);
    if ((rc = canon(j, "bab_max_domains", buf, err))) return rc;
    /* a unit of 1 (no batches) keeps the identity jobs had before the key */
    snprintf(buf, sizeof buf, "%zu", b->unit);
    if (b->unit == 1) job_unset(j, "bab_unit");
    else if ((rc = canon(j, "bab_unit", buf, err))) return rc;
    return canon_double(j, "bab_timeout", c->task.bab_timeout, err);
}

/* Rewrite an identity value canonically, keeping its origin. */
static int canon(job *j, const char *key, const char *value, nn_error *err)
{
    int k = job_find(j, key);
    if (!j->value[k] && j->schema[k].def && !strcmp(value, j->schema[k].def)) return NN_OK;
    char origin[600];
    snprintf(origin, sizeof origin, "%s", j->origin[k] ? j->origin[k] : "default");
    return job_set(j, key, value, origin, err);
}

static int canon_double(job *j, const char *key, double v, nn_error *err)
{
    char buf[40];
    snprintf(buf, sizeof buf, "%.17g", v);
    return canon(j, key, buf, err);
}

static int parse_list(const char *what, const char *text, double **out, int *n, nn_error *err)
{
    *n = 0;
    if (!(*out = nn_malloc((strlen(text) / 2 + 1) * sizeof **out, "mean/std values", err))) return NN_ENOMEM;
    for (const char *p = text;;) {
        char *end;
        double v = strtod(p, &end);
        while (*end == ' ') end++;
        if (end == p || (*end != ',' && *end != '\0') || !isfinite(v))
            return nn_fail(err, NN_EARG, "--%s '%s': expected finite numbers separated by commas", what, text);
        if (!strcmp(what, "std") && !(v > 0))
            return nn_fail(err, NN_EARG, "--std '%s': %g is not positive", text, v);
        (*out)[(*n)++] = v;
        if (!*end) return NN_OK;
        p = end + 1;
    }
}

void input_norm_free(input_norm *in)
{
    free(in->mean);
    free(in->std);
    memset(in, 0, sizeof *in);
}

int input_norm_parse(const char *mean, const char *std, input_norm *in, nn_error *err)
{
    memset(in, 0, sizeof *in);
    if (!mean && !std) return NN_OK;
    double *m = NULL, *s = NULL;
    int nm = 0, ns = 0, rc = NN_OK;
    if (mean) rc = parse_list("mean", mean, &m, &nm, err);
    if (!rc && std) rc = parse_list("std", std, &s, &ns, err);
    int n = nm > ns ? nm : ns;
    if (!rc && mean && std && nm != ns && nm != 1 && ns != 1)
        rc = nn_fail(err, NN_EARG, "--mean has %d values but --std has %d", nm, ns);
    if (!rc && (!(in->mean = nn_malloc((size_t)n * sizeof *in->mean, "mean", err)) ||
                !(in->std = nn_malloc((size_t)n * sizeof *in->std, "std", err))))
        rc = NN_ENOMEM;
    for (int i = 0; !rc && i < n; i++) {
        in->mean[i] = m ? m[nm == 1 ? 0 : i] : 0.0;
        in->std[i] = s ? s[ns == 1 ? 0 : i] : 1.0;
    }
    free(m);
    free(s);
    if (rc) input_norm_free(in);
    else in->n = n;
    return rc;
}

char *input_norm_text(const double *v, int n)
{
    char *s = malloc((size_t)n * 26 + 1);
    if (!s) return NULL;
    size_t len = 0;
    s[0] = '\0';
    for (int i = 0; i < n; i++) len += (size_t)snprintf(s + len, 27, "%s%.17g", i ? "," : "", v[i]);
    return s;
}

int input_norm_apply(const input_norm *in, nn_model *m, nn_error *err)
{
    if (in->n == 0) return NN_OK;
    int rc = model_prepend_normalize(m, in->mean, in->std, in->n, err);
    if (rc && m->source) nn_error_prefix(err, "%s with --mean/--std: ", m->source);
    return rc;
}

/* Keys mean and std: parsed, then rewritten canonically, both with n values. */
static int resolve_norm(job *j, cert_job *c, nn_error *err)
{
    nn_error e;
    nn_error_clear(&e);
    const char *mean = job_value(j, "mean"), *std = job_value(j, "std");
    if (input_norm_parse(mean, std, &c->norm, &e))
        return job_fail(j, mean && strstr(e.msg, "--mean") ? "mean" : "std", err, e.code, "%s", e.msg);
    if (c->norm.n == 0) return NN_OK;
    char *tm = input_norm_text(c->norm.mean, c->norm.n), *ts = input_norm_text(c->norm.std, c->norm.n);
    int rc = tm && ts ? NN_OK : nn_fail(err, NN_ENOMEM, "out of memory");
    if (!rc) rc = canon(j, "mean", tm, err);
    if (!rc) rc = canon(j, "std", ts, err);
    free(tm);
    free(ts);
    return rc;
}

int cert_job_resolve(job *j, cert_job *c, nn_error *err)
{
    memset(c, 0, sizeof *c);
    c->model = job_value(j, "model");
    c->data = job_value(j, "data");
    c->out = job_value(j, "out");
    if (!c->model || !c->data || !c->out)
        return nn_fail(err, NN_EARG, "keys model, data and out are required (section [job])");
    int rc;
    long l;
    if ((rc = job_get_long(j, "start", 0, 1L << 40, &c->start, err)) ||
        (rc = job_get_long(j, "count", 0, 1L << 40, &c->count, err)) || (rc = resolve_norm(j, c, err)))
        return rc;

    bound_options_default(&c->bopt);
    const char *v = job_value(j, "method");
    int m = bound_method_parse(v);
    if (m < 0) {
        char names[256] = "";
        for (int i = 0; i < METHOD_COUNT; i++) {
            if (i) strcat(names, ", ");
            strcat(names, bound_method_name((bound_method)i));
        }
        return job_fail(j, "method", err, NN_EARG, "unknown method '%s' (this build has %s)", v, names);
    }
    c->bopt.method = (bound_method)m;
    /* Never ignored silently: with another method they are an error. */
    if ((rc = resolve_frown(j, &c->bopt, v, err))) return rc;
    if ((rc = resolve_lp(j, &c->bopt, err))) return rc;
    v = job_value(j, "lines");
    int s = line_strategy_parse(v);
    if (s < 0) return job_fail(j, "lines", err, NN_EARG, "unknown line strategy '%s' (expected adaptive, tight or fastlin)", v);
    c->bopt.strategy = (line_strategy)s;
    v = job_value(j, "maxpool");
    if ((s = pool_method_parse(v)) < 0)
        return job_fail(j, "maxpool", err, NN_EARG,
                        "unknown maxpool method '%s' (expected tilin, deeppoly, cnncert or interval)", v);
    c->bopt.pool = (pool_method)s;
    v = job_value(j, "precision");
    if (strcmp(v, "double") && strcmp(v, "single"))
        return job_fail(j, "precision", err, NN_EARG, "unknown precision '%s' (expected double or single)", v);
    c->bopt.single = !strcmp(v, "single");
    if ((rc = job_get_long(j, "row_block", 0, 1L << 20, &l, err))) return rc;
    c->bopt.row_block = (size_t)l;

    v = job_value(j, "norm");
    int p = norm_parse(v);
    if (p < 0) return job_fail(j, "norm", err, NN_EARG, "unknown norm '%s' (expected inf, 2 or 1)", v);
    c->task.norm = (norm_type)p;
    nn_error nerr;
    nn_error_clear(&nerr);
    if (bound_method_check_norm(c->bopt.method, c->task.norm, &nerr))
        return job_fail(j, "norm", err, NN_EARG, "%s", nerr.msg);
    if ((rc = job_get_bool(j, "clip", &c->task.clip, err))) return rc;

    c->target_text = job_value(j, "target");
    nn_error terr;
    nn_error_clear(&terr);
    if (cert_target_parse(c->target_text, 0, &c->target, &terr))
        return job_fail(j, "target", err, NN_EARG, "%s", terr.msg);
    if ((rc = job_get_long(j, "seed", 0, 1L << 62, &l, err))) return rc;
    c->target.seed = (uint64_t)l;
    v = job_value(j, "search");
    if ((s = cert_search_kind_parse(v)) < 0)
        return job_fail(j, "search", err, NN_EARG, "unknown search '%s' (expected bisect or crown15)", v);
    double rtol;
    if ((rc = job_get_double(j, "rtol", &rtol, err))) return rc;
    if (!(rtol > 0 && rtol < 1)) return job_fail(j, "rtol", err, NN_EARG, "must be in (0, 1), got %g", rtol);
    c->task.fixed = job_is_set(j, "eps");
    c->task.eps = NAN;
    if (c->task.fixed) {
        if ((rc = job_get_double(j, "eps", &c->task.eps, err))) return rc;
        if (!(c->task.eps >= 0)) return job_fail(j, "eps", err, NN_EARG, "must be >= 0, got %g", c->task.eps);
    }
    c->task.search.kind = (cert_search_kind)s;
    c->task.search.rtol = rtol;

    if ((rc = resolve_attack(j, c, err))) return rc;
    if ((rc = resolve_bab(j, c, err))) return rc;
    if (job_value(j, "save_bounds") &&
        (rc = job_get_list(j, "save_bounds", &c->save_bounds, &c->n_save_bounds, err)))
        return rc;
    if (job_value(j, "save_certificates") &&
        (rc = job_get_select(j, "save_certificates", &c->certificates_all, &c->save_certificates,
                             &c->n_save_certificates, err)))
        return rc;
    if ((rc = job_get_double(j, "flush_seconds", &c->flush_seconds, err))) return rc;
    if (!(c->flush_seconds >= 0 && c->flush_seconds <= 3600))
        return job_fail(j, "flush_seconds", err, NN_EARG, "must be in [0, 3600] seconds, got %g", c->flush_seconds);
    if ((rc = job_get_double(j, "progress_seconds", &c->progress_seconds, err))) return rc;
    if (!(c->progress_seconds >= 0))
        return job_fail(j, "progress_seconds", err, NN_EARG, "must be >= 0, got %g", c->progress_seconds);
    if ((rc = job_get_bool(j, "force_new", &c->force_new, err))) return rc;
    if ((rc = job_get_bool(j, "dry_tasks", &c->dry_tasks, err))) return rc;
    if ((rc = job_get_double(j, "task_timeout", &c->task.timeout, err))) return rc;
    if (!(c->task.timeout >= 0 && isfinite(c->task.timeout)))
        return job_fail(j, "task_timeout", err, NN_EARG, "must be >= 0 seconds (0: none), got %g", c->task.timeout);
    if ((rc = job_get_double(j, "drain_seconds", &c->drain_seconds, err))) return rc;
    if (!(c->drain_seconds >= 0 && c->drain_seconds <= 86400))
        return job_fail(j, "drain_seconds", err, NN_EARG, "must be in [0, 86400] seconds, got %g", c->drain_seconds);
    if ((rc = job_get_long(j, "threads", 1, BLAS_THREADS_MAX, &l, err))) return rc;
    c->threads = (int)l;
    if ((v = job_value(j, "max_memory")) && strcmp(v, "auto") &&
        (sched_parse_size(v, &c->max_memory) || c->max_memory == 0))
        return job_fail(j, "max_memory", err, NN_EARG, "expected a size such as 512M, 4G or 1.5GiB (or auto), got '%s'",
                        v);
    v = job_value(j, "ranks_per_image");
    char *end;
    long g = strtol(v, &end, 10);
    if (!strcmp(v, "all")) c->ranks_per_image = 0;
    else if (*v && !*end && g >= 1 && g <= 1000000) c->ranks_per_image = (int)g;
    else return job_fail(j, "ranks_per_image", err, NN_EARG, "expected 1, a group size or 'all', got '%s'", v);

    /* canonical identity values */
    if ((rc = canon(j, "method", bound_method_name(c->bopt.method), err)) ||
        (rc = canon(j, "lines", line_strategy_name(c->bopt.strategy), err)) ||
        (rc = canon(j, "maxpool", pool_method_name(c->bopt.pool), err)) ||
        (rc = canon(j, "norm", norm_name(c->task.norm), err)) ||
        (rc = canon(j, "clip", c->task.clip ? "true" : "false", err)) ||
        (rc = canon(j, "search", cert_search_kind_name(c->task.search.kind), err)) ||
        (rc = canon_double(j, "rtol", rtol, err)) ||
        (rc = canon(j, "dry_tasks", c->dry_tasks ? "true" : "false", err)) ||
        (c->task.fixed && (rc = canon_double(j, "eps", c->task.eps, err))))
        return rc;
    char buf[40];
    snprintf(buf, sizeof buf, "%d", c->threads);
    if ((rc = canon(j, "threads", buf, err))) return rc;
    snprintf(buf, sizeof buf, "%zu", c->bopt.row_block);
    if ((rc = canon(j, "row_block", buf, err))) return rc;
    if (c->bopt.method == METHOD_FROWN) { /* the values in force decide the numbers */
        const bound_options *o = &c->bopt;
        snprintf(buf, sizeof buf, "%zu", o->frown_group);
        if ((rc = canon(j, "frown_group", buf, err))) return rc;
        snprintf(buf, sizeof buf, "%d", o->frown_iters);
        if ((rc = canon(j, "frown_iters", buf, err))) return rc;
        snprintf(buf, sizeof buf, "%d", o->frown_patience);
        if ((rc = canon(j, "frown_patience", buf, err))) return rc;
        snprintf(buf, sizeof buf, "%d", o->frown_warm);
        if ((rc = canon(j, "frown_warm", buf, err)) || (rc = canon_double(j, "frown_lr", o->frown_lr, err)) ||
            (rc = canon_double(j, "frown_threshold", o->frown_threshold, err)))
            return rc;
        /* split multipliers exist only in branch and bound's sub-domains: other jobs
         * keep the identity they had before the key */
        snprintf(buf, sizeof buf, "%d", o->frown_beta);
        if (c->task.bab.enabled && (rc = canon(j, "frown_beta", buf, err))) return rc;
        /* auto is all outside branch and bound's input halves: a job without the
         * key keeps its identity unless it searches */
        if ((c->task.bab.enabled || o->frown_layers != FROWN_LAYERS_AUTO) &&
            (rc = canon(j, "frown_layers", frown_scope_name(o->frown_layers), err)))
            return rc;
    }
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)c->target.seed);
    if ((rc = canon(j, "seed", buf, err))) return rc;
    return NN_OK;
}

void cert_job_free(cert_job *c)
{
    input_norm_free(&c->norm);
    free(c->save_bounds);
    free(c->save_attacks);
    free(c->save_certificates);
    memset(c, 0, sizeof *c);
}

char *cert_job_identity(const job *j, const char *model_sha256)
{
    char *t = job_text(j, 1);
    if (!t) return NULL;
    size_t n = strlen(t) + strlen(model_sha256) + 32;
    char *s = malloc(n);
    if (s) snprintf(s, n, "%s\n[model]\nmodel_sha256 = %s\n", t, model_sha256);
    free(t);
    return s;
}

static int in_sorted(const long *v, size_t n, long index)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (v[mid] < index) lo = mid + 1;
        else hi = mid;
    }
    return lo < n && v[lo] == index;
}

int cert_job_saves_bounds(const cert_job *c, long index) { return in_sorted(c->save_bounds, c->n_save_bounds, index); }

int cert_job_saves_attack(const cert_job *c, long index)
{
    return in_sorted(c->save_attacks, c->n_save_attacks, index);
}

int cert_job_saves_certificate(const cert_job *c, long index)
{
    return c->certificates_all || in_sorted(c->save_certificates, c->n_save_certificates, index);
}

int cert_job_certificates(const cert_job *c) { return c->certificates_all || c->n_save_certificates > 0; }

size_t cert_job_path_width(const cert_job *c)
{
    if (c->task.fixed) return 1;
    if (c->task.search.kind == SEARCH_CROWN15) return 15;
    cert_search_options o;
    cert_search_options_default(&o, c->task.norm, 1);
    return (size_t)o.max_evals;
}
