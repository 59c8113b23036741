/* Shared option parsing and loading for the bounds, certify and attack commands. */
#include "cert_cli.h"
#include "cert_job.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blas_threads.h"
#include "cli.h"
#include "model_io.h"

void cert_cli_defaults(cert_cli_opts *o)
{
    memset(o, 0, sizeof *o);
    o->index = -1;
    o->norm = NORM_INF;
    bound_options_default(&o->bopt);
    o->bopt.method = METHOD_CROWN;
    o->target_text = "untargeted";
    o->search = SEARCH_BISECT;
    o->rtol = 1e-3;
    o->eps = NAN;
    o->steps = 100;
    o->restarts = 5;
    o->threads = 1;
}

static int allowed_opt(const char *const *allowed, const char *name)
{
    for (int i = 0; allowed[i]; i++)
        if (!strcmp(allowed[i], name)) return 1;
    return 0;
}

int cert_cli_parse(const char *cmd, int argc, char **argv, const char *const *allowed, void (*help)(void),
                   cert_cli_opts *o)
{
    char frown_opt[64] = "";  /* a --frown-* option given: it needs --method frown */
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
            help();
            return CLI_EXIT_OK;
        }
        if (strncmp(arg, "--", 2) != 0) return cli_usage_error(cmd, "unexpected argument '%s'", arg);
        char name[64];
        const char *eq = strchr(arg + 2, '=');
        size_t len = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
        if (len >= sizeof name) return cli_usage_error(cmd, "unknown option '%s'", arg);
        memcpy(name, arg + 2, len);
        name[len] = '\0';
        if (!allowed_opt(allowed, name)) return cli_usage_error(cmd, "unknown option '--%s'", name);
        if (!strncmp(name, "frown-", 6)) memcpy(frown_opt, name, len + 1);
        /* flags */
        if (!strcmp(name, "clip") || (!strcmp(name, "search") && !strcmp(cmd, "attack")) ||
            !strcmp(name, "no-skip-stable") || !strcmp(name, "no-intersect-ibp")) {
            if (eq) return cli_usage_error(cmd, "--%s takes no value", name);
            if (!strcmp(name, "clip")) o->clip = 1;
            else if (!strcmp(name, "no-skip-stable")) o->bopt.skip_stable = 0;
            else if (!strcmp(name, "no-intersect-ibp")) o->bopt.intersect_ibp = 0;
            else o->attack_search = 1;
            continue;
        }
        const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (!v) return cli_usage_error(cmd, "--%s needs a value", name);
        long l;
        double d;
        if (!strcmp(name, "model")) o->model = v;
        else if (!strcmp(name, "data")) o->data = v;
        else if (!strcmp(name, "mean")) o->mean = v;
        else if (!strcmp(name, "std")) o->std = v;
        else if (!strcmp(name, "out")) o->out = v;
        else if (!strcmp(name, "target")) o->target_text = v;
        else if (!strcmp(name, "start") || !strcmp(name, "count") || !strcmp(name, "index")) {
            if (cli_parse_int(cmd, arg, v, 0, 1L << 40, &l)) return CLI_EXIT_USAGE;
            *(name[0] == 's' ? &o->start : name[0] == 'c' ? &o->count : &o->index) = l;
        } else if (!strcmp(name, "seed")) {
            if (cli_parse_int(cmd, "--seed", v, 0, 1L << 62, &l)) return CLI_EXIT_USAGE;
            o->seed = (uint64_t)l;
        } else if (!strcmp(name, "threads")) {
            if (cli_parse_int(cmd, "--threads", v, 1, BLAS_THREADS_MAX, &l)) return CLI_EXIT_USAGE;
            o->threads = (int)l;
        } else if (!strcmp(name, "steps") || !strcmp(name, "restarts")) {
            if (cli_parse_int(cmd, name[0] == 's' ? "--steps" : "--restarts", v, 1, 1000000, &l)) return CLI_EXIT_USAGE;
            *(name[0] == 's' ? &o->steps : &o->restarts) = (int)l;
        } else if (!strcmp(name, "norm")) {
            int p = norm_parse(v);
            if (p < 0) return cli_usage_error(cmd, "unknown norm '%s' (expected inf, 2 or 1)", v);
            o->norm = (norm_type)p;
        } else if (!strcmp(name, "method")) {
            int mth = bound_method_parse(v);
            if (mth < 0)
                return cli_usage_error(cmd, "unknown method '%s' (expected ibp, crown-ibp, lbp, crown-lbp, fastlin, crown, "
                                       "frown, crown-quad, lp-last, lp-all, milp or lp-greedy)", v);
            o->bopt.method = (bound_method)mth;
        } else if (!strcmp(name, "lines")) {
            int s = line_strategy_parse(v);
            if (s < 0) return cli_usage_error(cmd, "unknown line strategy '%s' (expected adaptive, tight or fastlin)", v);
            o->bopt.strategy = (line_strategy)s;
        } else if (!strcmp(name, "maxpool")) {
            int s = pool_method_parse(v);
            if (s < 0)
                return cli_usage_error(cmd, "unknown maxpool method '%s' (expected tilin, deeppoly, cnncert or interval)", v);
            o->bopt.pool = (pool_method)s;
        } else if (!strcmp(name, "precision")) {
            if (strcmp(v, "double") && strcmp(v, "single"))
                return cli_usage_error(cmd, "unknown precision '%s' (expected double or single)", v);
            o->bopt.single = !strcmp(v, "single");
        } else if (!strcmp(name, "search")) {
            int s = cert_search_kind_parse(v);
            if (s < 0) return cli_usage_error(cmd, "unknown search '%s' (expected bisect or crown15)", v);
            o->search = (cert_search_kind)s;
        } else if (!strcmp(name, "lp-cuts")) {
            if (cli_parse_int(cmd, "--lp-cuts", v, 0, 64, &l)) return CLI_EXIT_USAGE;
            o->bopt.lp_cuts = (int)l;
        } else if (!strcmp(name, "milp-time-limit")) {
            if (cli_parse_double(cmd, "--milp-time-limit", v, &d)) return CLI_EXIT_USAGE;
            if (!(d > 0) || !isfinite(d)) return cli_usage_error(cmd, "--milp-time-limit must be seconds > 0, got %s", v);
            o->bopt.milp_time_limit = d;
        } else if (!strcmp(name, "frown-group")) {
            if (cli_parse_int(cmd, "--frown-group", v, 1, 1L << 30, &l)) return CLI_EXIT_USAGE;
            o->bopt.frown_group = (size_t)l;
        } else if (!strcmp(name, "frown-iters") || !strcmp(name, "frown-patience") || !strcmp(name, "frown-warm") ||
                   !strcmp(name, "frown-beta")) {
            char optname[72];
            snprintf(optname, sizeof optname, "--%s", name);
            int iters = !strcmp(name, "frown-iters"), warm = !strcmp(name, "frown-warm"),
                beta = !strcmp(name, "frown-beta");
            if (cli_parse_int(cmd, optname, v, iters || warm || beta ? 0 : 1, warm || beta ? 1 : 1000000, &l))
                return CLI_EXIT_USAGE;
            *(iters  ? &o->bopt.frown_iters
              : warm ? &o->bopt.frown_warm
              : beta ? &o->bopt.frown_beta
                     : &o->bopt.frown_patience) = (int)l;
        } else if (!strcmp(name, "frown-layers")) {
            int s = frown_scope_parse(v);
            if (s < 0) return cli_usage_error(cmd, "unknown --frown-layers '%s' (expected auto, all or spec)", v);
            o->bopt.frown_layers = (frown_scope)s;
        } else if (!strcmp(name, "frown-lr") || !strcmp(name, "frown-threshold")) {
            int lr = !strcmp(name, "frown-lr");
            if (cli_parse_double(cmd, lr ? "--frown-lr" : "--frown-threshold", v, &d)) return CLI_EXIT_USAGE;
            if (lr ? !(d > 0) : !(d >= 0))
                return cli_usage_error(cmd, "--%s must be %s, got %s", name, lr ? "> 0" : ">= 0", v);
            *(lr ? &o->bopt.frown_lr : &o->bopt.frown_threshold) = d;
        } else if (!strcmp(name, "rtol") || !strcmp(name, "eps") || !strcmp(name, "step-size")) {
            char optname[72];
            snprintf(optname, sizeof optname, "--%s", name);
            if (cli_parse_double(cmd, optname, v, &d)) return CLI_EXIT_USAGE;
            if (!strcmp(name, "rtol")) {
                if (!(d > 0 && d < 1)) return cli_usage_error(cmd, "--rtol must be in (0, 1), got %s", v);
                o->rtol = d;
            } else if (!strcmp(name, "eps")) {
                if (!(d >= 0)) return cli_usage_error(cmd, "--eps must be >= 0, got %s", v);
                o->eps = d;
            } else {
                if (!(d > 0)) return cli_usage_error(cmd, "--step-size must be > 0, got %s", v);
                o->step_size = d;
            }
        } else {
            return cli_usage_error(cmd, "unknown option '--%s'", name);
        }
    }
    if (frown_opt[0] && o->bopt.method != METHOD_FROWN)
        return cli_usage_error(cmd, "--%s applies to --method frown only (the method is %s)", frown_opt,
                               bound_method_name(o->bopt.method));
    /* commands without a model, data set or output file option do not list them */
    if (!o->model && allowed_opt(allowed, "model")) return cli_usage_error(cmd, "--model is required");
    if (!o->data && allowed_opt(allowed, "data")) return cli_usage_error(cmd, "--data is required");
    if (!o->out && allowed_opt(allowed, "out")) return cli_usage_error(cmd, "--out is required");
    return o->out ? cli_guard_output(cmd, o->out, o->model, o->data, NULL) : -1;
}

int cert_cli_take(const char *cmd, int argc, char **argv, const char *const *own, const char **val, char **rest,
                  int *n_rest)
{
    int k = 0;
    for (int o = 0; own[o]; o++) val[o] = NULL;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        int hit = -1;
        size_t len = 0;
        for (int o = 0; own[o] && hit < 0 && !strncmp(a, "--", 2); o++) {
            int flag = own[o][0] == '!';
            const char *name = own[o] + flag;
            len = strlen(name);
            if (!strncmp(a + 2, name, len) && (a[2 + len] == '\0' || (!flag && a[2 + len] == '='))) hit = o;
        }
        if (hit < 0) {
            rest[k++] = argv[i];
            continue;
        }
        if (own[hit][0] == '!') val[hit] = "";
        else if (a[2 + len] == '=') val[hit] = a + 3 + len;
        else if (i + 1 < argc) val[hit] = argv[++i];
        else return cli_usage_error(cmd, "%s needs a value", a);
    }
    rest[k] = NULL;
    *n_rest = k;
    return -1;
}

/* At most one dimension above 1: a vector whatever the C,H,W split. */
static int shape_is_flat(nn_shape s) { return (s.c > 1) + (s.h > 1) + (s.w > 1) <= 1; }

int cert_cli_load(const char *cmd, const cert_cli_opts *o, size_t start, size_t count, nn_model *m, nn_dataset *ds)
{
    nn_error err;
    nn_error_clear(&err);
    memset(ds, 0, sizeof *ds);
    input_norm norm;
    if (input_norm_parse(o->mean, o->std, &norm, &err)) return cli_usage_error(cmd, "%s", err.msg);
    int rc = model_load(o->model, m, &err);
    if (!rc) rc = input_norm_apply(&norm, m, &err);
    input_norm_free(&norm);
    if (rc) {
        model_free(m);
        return cli_report(cmd, &err);
    }
    if (dataset_load(o->data, start, count, ds, &err) || dataset_check_labels(ds, model_output_size(m), &err)) {
        dataset_free(ds);
        model_free(m);
        return cli_report(cmd, &err);
    }
    nn_shape a = m->input, b = ds->shape;
    int same = a.c == b.c && a.h == b.h && a.w == b.w;
    if (!same && !(shape_size(a) == shape_size(b) && (shape_is_flat(a) || shape_is_flat(b)))) {
        fprintf(stderr, "nncert %s: %s expects inputs %dx%dx%d but %s holds %dx%dx%d images\n", cmd, o->model, a.c,
                a.h, a.w, o->data, b.c, b.h, b.w);
        dataset_free(ds);
        model_free(m);
        return CLI_EXIT_FAIL;
    }
    return -1;
}

int cert_cli_norm_attrs(const cert_cli_opts *o, h5_attr *attrs, int n, char *bufs[2])
{
    bufs[0] = bufs[1] = NULL;
    input_norm norm;
    if (input_norm_parse(o->mean, o->std, &norm, NULL) || norm.n == 0) return n;
    bufs[0] = input_norm_text(norm.mean, norm.n);
    bufs[1] = input_norm_text(norm.std, norm.n);
    input_norm_free(&norm);
    if (!bufs[0] || !bufs[1]) return n;   /* out of memory: the attributes are left out */
    attrs[n++] = (h5_attr){"mean", bufs[0], 0, 0};
    attrs[n++] = (h5_attr){"std", bufs[1], 0, 0};
    return n;
}

char *cert_cli_command_line(int argc, char **argv)
{
    size_t n = 8;
    for (int i = 0; i < argc; i++) n += strlen(argv[i]) + 1;
    char *s = malloc(n);
    if (!s) return NULL;
    strcpy(s, "nncert");
    for (int i = 0; i < argc; i++) {
        strcat(s, " ");
        strcat(s, argv[i]);
    }
    return s;
}

const char cert_cli_bab_help[] =
    "complete search (branch and bound, doc/bab.md), on the boxes the bounds\n"
    "leave open: unsat only when every leaf of the search is proven\n"
    "  --bab                 split until proven or refuted (or a limit)\n"
    "  --bab-split S         auto|input|relu (default auto: input halves when at\n"
    "                        most 16 inputs are free, else ReLU phases)\n"
    "  --bab-batch N         domains expanded per round (default 8)\n"
    "  --bab-candidates K    neurons of widest relaxation (ReLU splits) or inputs\n"
    "                        of largest influence (input splits) whose children\n"
    "                        are bounded per domain, the best pair kept (default 4)\n"
    "  --frown-beta 0|1      --method frown: optimize a multiplier per split\n"
    "                        constraint with the lines (beta-CROWN; default 1)\n"
    "  --frown-layers L      --method frown: auto|all|spec: lines optimized for\n"
    "                        every layer's bounds and the property's rows (all),\n"
    "                        or for the property's rows only, the layers keeping\n"
    "                        CROWN's bounds (spec); auto (default): spec in\n"
    "                        input-split searches, all elsewhere\n"
    "  --frown-warm 0|1      --method frown, input halves: a child's optimization\n"
    "                        starts where its parent's ended (default 1)\n"
    "  --bab-max-frontier N  open domains before the search goes depth-first\n"
    "                        (default 100000; bounds the memory)\n"
    "  --bab-max-domains N   give up (unknown) after bounding N domains\n"
    "                        (0: no limit but the timeout; default 0 when a\n"
    "                        timeout bounds the search, else 200000)\n"
    "  --bab-unit N          on a chain of dense layers, N domains bounded as one\n"
    "                        batch, one GEMM per layer over their rows, with\n"
    "                        crown, fastlin or frown (default 8 with these\n"
    "                        methods; 1: one at a time; doc/bab.md)\n"
    "  --checkpoint-every S  seconds between checkpoints of the search (default\n"
    "                        60; 0: every round); a killed run resumes from the\n"
    "                        last one with the same tree and answer\n";

int cert_cli_bab(const char *cmd, const char *const *val, int timed, bound_method method, bab_options *b)
{
    static const char *const names[] = {"--bab-batch", "--bab-candidates", "--bab-max-frontier", "--bab-max-domains",
                                        "--bab-unit"};
    static const long lo[] = {1, 1, 1, 0, 1};
    b->enabled = val[0] != NULL;
    for (int i = 1; i < CERT_CLI_BAB_N; i++)
        if (val[i] && !b->enabled)
            return cli_usage_error(cmd, "%s needs --bab", i == 1 ? "--bab-split" : i == 7 ? "--checkpoint-every" : names[i - 2]);
    if (val[1]) {
        int s = bab_split_parse(val[1]);
        if (s < 0) return cli_usage_error(cmd, "--bab-split must be auto, input or relu, got '%s'", val[1]);
        b->split = (bab_split)s;
    }
    long v[5] = {(long)b->batch, (long)b->candidates, (long)b->max_frontier, b->max_domains, (long)b->unit};
    for (int i = 0; i < 5; i++)
        if (val[2 + i] && cli_parse_int(cmd, names[i], val[2 + i], lo[i], i == 4 ? BAB_UNIT_MAX : 1L << 40, &v[i]))
            return CLI_EXIT_USAGE;
    b->batch = (size_t)v[0], b->candidates = (size_t)v[1], b->max_frontier = (size_t)v[2], b->max_domains = v[3];
    b->unit = val[6] ? (size_t)v[4] : bab_unit_default(method);
    if (b->unit > 1 && !bound_batch_method(method))
        return cli_usage_error(cmd, "--bab-unit %zu bounds domains in batches: it needs --method crown, "
                               "fastlin or frown, not %s", b->unit, bound_method_name(method));
    /* a search the clock stops anyway uses the time it was given; the domain
     * limit only ends searches that have no timeout (doc/bab.md "Limits") */
    if (timed && !val[5]) b->max_domains = 0;
    b->save_every = 60;
    if (val[7] && (cli_parse_double(cmd, "--checkpoint-every", val[7], &b->save_every) || !(b->save_every >= 0)))
        return b->save_every >= 0 ? CLI_EXIT_USAGE
                                  : cli_usage_error(cmd, "--checkpoint-every must be >= 0 seconds, got '%s'", val[7]);
    return -1;
}

void cert_cli_bound_identity(const bound_options *o, char *buf, size_t cap)
{
    snprintf(buf, cap, "method=%s lines=%s maxpool=%s precision=%s skip_stable=%d intersect_ibp=%d dense_rows=%d "
             "frown=%zu/%d/%.17g/%d/%.17g/%d/%d/%d/%s quad_iters=%d lp_cuts=%d milp_time_limit=%.17g",
             bound_method_name(o->method), line_strategy_name(o->strategy), pool_method_name(o->pool),
             o->single ? "single" : "double", o->skip_stable, o->intersect_ibp, o->dense_rows, o->frown_group,
             o->frown_iters, o->frown_lr, o->frown_patience, o->frown_threshold, o->frown_warm, o->frown_beta, o->spec_upper,
             frown_scope_name(o->frown_layers),
             o->quad_iters, o->lp_cuts, o->milp_time_limit);
}

void cert_cli_bab_identity(const bab_options *b, char *buf, size_t cap)
{
    if (!b->enabled) snprintf(buf, cap, "bab=off");
    else { /* a unit of 1, the search without batches, keeps the identity it had before them */
        int n = snprintf(buf, cap, "bab=%s batch=%zu candidates=%zu max_frontier=%zu max_domains=%ld",
                         bab_split_name(b->split), b->batch, b->candidates, b->max_frontier, b->max_domains);
        if (b->unit != 1 && n >= 0 && (size_t)n < cap) snprintf(buf + n, cap - (size_t)n, " unit=%zu", b->unit);
    }
}
