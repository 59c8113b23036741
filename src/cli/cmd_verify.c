/* 'nncert verify': one VNN-LIB property of one model, answered unsat (proven),
 * sat (with a counterexample checked by the forward pass), unknown or timeout,
 * in VNN-COMP's result format (doc/verify.md); under mpirun, branch and bound's
 * sub-domains spread over the ranks (src/app/verify_app.c). */
#include "cli.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blas_threads.h"
#include "cert_cli.h"
#include "checkpoint_file.h"
#include "model_io.h"
#include "property.h"
#include "results_h5.h"
#include "verify_app.h"
#include "vnnlib.h"

static const char *const cmd = "verify";

static void help(void)
{
    printf("usage: nncert verify --model M --vnnlib P [--timeout S] [--out R] [options]\n\n"
           "Checks a VNN-LIB property: the file describes the UNSAFE set (input box and\n"
           "output constraints). Answers, on the first line of stdout and of R:\n"
           "  unsat    proven: no input of the boxes reaches the output constraints\n"
           "  sat      a counterexample follows, ((X_0 v) ... (Y_0 v) ...), its outputs\n"
           "           computed and checked by the exact forward pass\n"
           "  unknown  neither a proof nor a counterexample\n"
           "  timeout  the time ran out first\n\n"
           "options:\n"
           "  --model M             model (.h5 native or .onnx)\n"
           "  --vnnlib P            property (.vnnlib, or gzip-compressed .vnnlib.gz)\n"
           "  --timeout S           wall-clock seconds (default none); read between\n"
           "                        disjuncts and PGD runs, not inside one bound pass\n"
           "  --out R               also write the result file R\n"
           "  --checkpoint F        --bab: keep snapshots of the search in F; a killed\n"
           "                        run resumes from F with the same tree and answer.\n"
           "                        F is removed after an answer, kept after a timeout\n"
           "                        (rerun with a longer --timeout to continue; the\n"
           "                        timeout counts every run). A file of another job is\n"
           "                        refused\n"
           "  --force-new           with --checkpoint: ignore and replace F\n"
           "  --method M            proofs: ibp|crown-ibp|lbp|crown-lbp|fastlin|crown|\n"
           "                        frown|crown-quad|lp-last|lp-all|milp (default crown)\n"
           "  --lp-cuts K           lp-*, milp: tangent cuts per side of an S-shaped\n"
           "                        neuron (default 3)\n"
           "  --milp-time-limit S   milp: seconds per output row of the property (default\n"
           "                        60); all rows of a box are one bound pass, which\n"
           "                        --timeout does not interrupt\n"
           "  --lines, --maxpool, --precision, --frown-*, --no-skip-stable,\n"
           "  --no-intersect-ibp    as in 'nncert bounds'\n"
           "  --steps N             PGD steps per run (default 100)\n"
           "  --restarts N          PGD runs per disjunct (default 5; the first from the\n"
           "                        box centre, the others from random points)\n"
           "  --seed S              PGD random starts\n"
           "  --threads N           BLAS threads (default 1)\n\n"
           "%s\n"
           "Under mpirun (or srun), with --bab: every rank but rank 0 runs the same search\n"
           "in lockstep and rank 0 hands out each round's sub-domains as they ask for\n"
           "them, so the tree and the answer are one process's; rank 0 prints them.\n\n"
           "A summary line goes to stderr. exit status: 0 when an answer was given\n"
           "(whichever), 1 on failures (unreadable files, sizes that do not match),\n"
           "2 on usage errors.\n", cert_cli_bab_help);
}

static const char *fmt_fraction(double f)
{
    static char buf[32];  /* one call per line printed */
    snprintf(buf, sizeof buf, "%.6g%%", 100.0 * f);
    return buf;
}

/* The result in VNN-COMP's format. */
static void write_result(FILE *f, const prop_spec *p, const prop_result *r)
{
    fprintf(f, "%s\n", prop_answer_name(r->answer));
    if (r->answer != PROP_SAT) return;
    for (size_t i = 0; i < p->n_x; i++) fprintf(f, "%s(X_%zu %.17g)\n", i ? " " : "(", i, r->x[i]);
    for (size_t j = 0; j < p->n_y; j++) fprintf(f, " (Y_%zu %.17g)%s\n", j, r->y[j], j + 1 == p->n_y ? ")" : "");
}

/* --checkpoint F: the job's identity (every setting that shapes the search: a
 * snapshot of another job is refused) and F's snapshot to resume from, if any
 * (*resume NULL: start afresh). --force-new removes F first. */
static int open_checkpoint(const char *path, const cert_cli_opts *o, const prop_options *po, const char *vnn,
                           int force_new, char *identity, size_t cap, unsigned char **resume, size_t *len,
                           char *build, size_t build_cap, nn_error *err)
{
    char model_sha[65], vnn_sha[65], bound_id[512], bab_id[160];
    int rc = model_file_sha256(o->model, model_sha, err);
    if (!rc) rc = model_file_sha256(vnn, vnn_sha, err);
    if (rc) return rc;
    cert_cli_bound_identity(&po->bopt, bound_id, sizeof bound_id);
    cert_cli_bab_identity(&po->bab, bab_id, sizeof bab_id);
    snprintf(identity, cap, "nncert verify: model sha256=%s vnnlib sha256=%s %s steps=%d restarts=%d seed=%llu %s",
             model_sha, vnn_sha, bound_id, po->steps, po->restarts, (unsigned long long)po->seed, bab_id);
    if (force_new && (rc = checkpoint_remove(path, err))) return rc;
    int found;
    return checkpoint_read(path, identity, resume, len, &found, build, build_cap, err);
}

/* Where the checkpoint stands after an answer: kept after a timeout (a rerun with
 * a longer --timeout continues), else removed (the answer is final). */
static void report_checkpoint(const char *path, const prop_result *r, const checkpoint_sink *sink)
{
    if (sink->failed)
        fprintf(stderr, "nncert %s: warning: checkpoints were not written (%s): a killed run would start afresh\n",
                cmd, sink->first_error.msg);
    char note[640];
    if (r->bab.resumed_open >= 0) {
        fprintf(stderr, "nncert %s: resumed from %s: %ld open domains, %.3f s spent by earlier runs\n", cmd, path,
                r->bab.resumed_open, r->bab.resumed_seconds);
        if (checkpoint_other_build(path, sink->found_build, sink->build, note, sizeof note))
            fprintf(stderr, "nncert %s: %s\n", cmd, note);
    }
    if (r->answer == PROP_TIMEOUT && sink->written && !sink->failed) {
        fprintf(stderr, "nncert %s: %s kept (%ld snapshots this run): rerun with a longer --timeout to continue\n",
                cmd, path, r->bab.snapshots);
        return;
    }
    nn_error e;
    if (checkpoint_remove(path, &e)) fprintf(stderr, "nncert %s: warning: %s\n", cmd, e.msg);
}

/* The command line, parsed. */
typedef struct {
    const char *vnn, *out, *ckpt;
    int force_new;
    cert_cli_opts o;
    prop_options po;
} verify_args;

/* -1 when the arguments are good, else the exit status (help printed, or a usage
 * error reported). ranks > 1: started under mpirun, where --bab is required. */
static int parse(int argc, char **argv, long ranks, verify_args *va)
{
    static const char *const allowed[] = {"model", "method", "lines", "maxpool", "precision", "frown-group",
                                          "frown-iters", "frown-lr", "frown-patience", "frown-threshold", "frown-beta",
                                          "frown-layers", "frown-warm", "no-skip-stable", "no-intersect-ibp", "steps",
                                          "restarts", "seed", "threads", "lp-cuts", "milp-time-limit", NULL};
    /* --vnnlib, --timeout and the optional --out are this command's own */
    static const char *const own[] = {"vnnlib", "timeout", "out", CERT_CLI_BAB_NAMES, "checkpoint", "!force-new", NULL};
    const char *val[5 + CERT_CLI_BAB_N];
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    if (!rest) return cli_report(cmd, &(nn_error){NN_ENOMEM, "out of memory"});
    int n_rest, st = cert_cli_take(cmd, argc, argv, own, val, rest, &n_rest);
    if (st >= 0) {
        free(rest);
        return st;
    }
    const char *timeout_text = val[1];
    va->vnn = val[0], va->out = val[2];
    cert_cli_defaults(&va->o);
    st = cert_cli_parse(cmd, n_rest, rest, allowed, help, &va->o);
    free(rest);
    if (st >= 0) return st;
    if (!va->o.model) return cli_usage_error(cmd, "--model is required");
    if (!va->vnn) return cli_usage_error(cmd, "--vnnlib is required");
    prop_options *po = &va->po;
    prop_options_default(po);
    po->bopt = va->o.bopt;
    po->steps = va->o.steps, po->restarts = va->o.restarts, po->seed = va->o.seed;
    if (timeout_text) {
        if (cli_parse_double(cmd, "--timeout", timeout_text, &po->timeout)) return CLI_EXIT_USAGE;
        if (!(po->timeout > 0)) return cli_usage_error(cmd, "--timeout must be > 0 seconds, got %s", timeout_text);
    }
    if ((st = cert_cli_bab(cmd, val + 3, po->timeout > 0, po->bopt.method, &po->bab)) >= 0) return st;
    va->ckpt = val[3 + CERT_CLI_BAB_N];
    va->force_new = val[4 + CERT_CLI_BAB_N] != NULL;
    if (va->ckpt && !po->bab.enabled) return cli_usage_error(cmd, "--checkpoint needs --bab");
    if (va->force_new && !va->ckpt) return cli_usage_error(cmd, "--force-new needs --checkpoint");
    if (!va->ckpt && val[3 + CERT_CLI_BAB_N - 1])
        return cli_usage_error(cmd, "--checkpoint-every needs --checkpoint F (where the snapshots go)");
    if (ranks > 1 && !po->bab.enabled)
        return cli_usage_error(cmd, "started as %ld MPI ranks: the ranks share branch and bound's sub-domains, so "
                               "--bab is required (without it one process does all the work)", ranks);
    if (va->ckpt && (st = cli_guard_output(cmd, va->ckpt, va->o.model, NULL, va->vnn)) >= 0) return st;
    return -1;
}

/* FROWN: which bounds got optimized lines in the search (bound.h frown_scope). */
static const char *frown_lines(const prop_options *po, const prop_result *r)
{
    if (po->bopt.method != METHOD_FROWN) return "";
    frown_scope s = po->bopt.frown_layers;
    if (s == FROWN_LAYERS_ALL || (s == FROWN_LAYERS_AUTO && !r->bab.used_input)) return "; FROWN lines for every layer";
    if (s == FROWN_LAYERS_SPEC || !r->bab.used_relu) return "; FROWN lines for the property's rows only";
    return "; FROWN lines for the property's rows only (input halves), every layer (ReLU phases)";
}

/* How domains were bounded, when in batches. */
static const char *batches(const prop_result *r, char *buf, size_t cap)
{
    if (!r->bab.used_batches) return "";
    snprintf(buf, cap, "; %s bounded %d per batch", r->bab.used_relu ? "domains" : "input halves", r->bab.used_batches);
    return buf;
}

/* Answer on stdout (and in --out), the summary lines on stderr; an exit status. */
static int report(const verify_args *va, const prop_spec *p, const prop_result *r)
{
    const prop_options *po = &va->po;
    write_result(stdout, p, r);
    fflush(stdout);
    if (va->out) {
        FILE *f = fopen(va->out, "w");
        if (!f) {
            fprintf(stderr, "nncert %s: cannot write %s\n", cmd, va->out);
            return CLI_EXIT_FAIL;
        }
        write_result(f, p, r);
        if (fclose(f)) {
            fprintf(stderr, "nncert %s: cannot write %s\n", cmd, va->out);
            return CLI_EXIT_FAIL;
        }
    }
    fprintf(stderr, "nncert %s: %s in %.3f s (%s): %zu of %zu disjuncts ruled out, %zu of %zu input boxes proven; "
            "%ld PGD steps\n", cmd, prop_answer_name(r->answer), r->seconds, bound_method_name(po->bopt.method),
            r->cases_proven, p->n_cases, r->boxes_proven, p->n_boxes, r->pgd_steps);
    char limit[64] = "no domain limit", unit_text[64];
    if (po->bab.max_domains > 0) snprintf(limit, sizeof limit, "domain limit %ld", po->bab.max_domains);
    if (po->bab.enabled)
        fprintf(stderr, "nncert %s: branch and bound (%s): %ld domains bounded, %ld leaves proven (%ld empty), "
                "%ld open (%ld not splittable), depth %d, proven volume %s; %ld rounds: %.6f s PGD, %.6f s planning, "
                "%.6f s jobs, %.6f s merging; split by %s; %zu candidate%s per domain%s%s; largest frontier %ld; %s\n",
                cmd,
                bab_split_name(po->bab.split),
                r->bab.domains, r->bab.leaves_proven, r->bab.leaves_empty, r->bab.open, r->bab.stuck, r->bab.depth,
                isnan(r->bab.volume_proven) ? "n/a (ReLU splits)" : fmt_fraction(r->bab.volume_proven), r->bab.rounds,
                r->bab.sec_pgd, r->bab.sec_plan, r->bab.sec_jobs, r->bab.sec_merge,
                r->bab.used_relu ? (r->bab.used_input ? "input halves and ReLU phases" : "ReLU phases")
                                 : r->bab.used_input ? "input halves" : "nothing (no search)",
                po->bab.candidates, po->bab.candidates == 1 ? "" : "s", frown_lines(po, r),
                batches(r, unit_text, sizeof unit_text), r->bab.frontier_peak, limit);
    return CLI_EXIT_OK;
}

/* The model and the property, checked against each other. */
static int load(const verify_args *va, nn_model *m, prop_spec *p, nn_error *err)
{
    int rc = model_load(va->o.model, m, err);
    if (!rc) rc = vnnlib_read(va->vnn, NULL, p, err);
    if (!rc) rc = prop_check_sizes(p, model_input_size(m), model_output_size(m), va->vnn, err);
    return rc;
}

/* --checkpoint: the job's identity into identity, F's snapshot into *resume
 * (NULL: none), the save callback into po with sink; test hook read here. */
static int checkpoint_setup(verify_args *va, int remove_first, char *identity, size_t cap, checkpoint_sink *sink,
                            unsigned char **resume, size_t *resume_len, nn_error *err)
{
    char build[256];
    int rc = open_checkpoint(va->ckpt, &va->o, &va->po, va->vnn, remove_first, identity, cap, resume, resume_len,
                             build, sizeof build, err);
    if (rc) return rc;
    *sink = (checkpoint_sink){.path = va->ckpt, .identity = identity, .build = results_git_commit()};
    memcpy(sink->found_build, build, sizeof build);
    const char *kill_after = getenv("NNCERT_TEST_KILL_AFTER_SNAPSHOTS");  /* tests/cli_bab_checkpoint.sh */
    sink->kill_after = kill_after ? strtol(kill_after, NULL, 10) : 0;
    va->po.bab.save = checkpoint_sink_save, va->po.bab.save_ctx = sink;
    va->po.bab.resume = *resume, va->po.bab.resume_len = *resume_len;
    return NN_OK;
}

typedef struct {
    const char *path;
    const checkpoint_sink *sink;
} finished_ctx;

static void finished(void *ctx, const prop_result *r)
{
    const finished_ctx *f = ctx;
    if (f->path) report_checkpoint(f->path, r, f->sink);
}

/* Under mpirun: every worker runs the search in lockstep (one group), the
 * master hands out each round's jobs and prints the answer (doc/verify.md
 * "Over MPI"). */
static int verify_ranks(int argc, char **argv, long ranks)
{
    nn_error err;
    nn_error_clear(&err);
    sched_env env;
    if (sched_init(&argc, &argv, &env, &err)) return cli_report(cmd, &err);
    verify_args va;
    memset(&va, 0, sizeof va);
    int status = -1;
    if (env.is_master) status = parse(argc, argv, ranks, &va);
    sched_bcast_int(&env, &status);
    if (status >= 0) {
        sched_finalize();
        return status;
    }
    /* the same argv as the master's, which parsed without complaint */
    if (!env.is_master) status = parse(argc, argv, ranks, &va);
    int rc = status >= 0 ? nn_fail(&err, NN_EARG, "rank %d parsed the arguments differently", env.rank) : NN_OK;
    nn_model m;
    prop_spec p;
    model_init(&m);
    prop_spec_init(&p);
    char identity[2048];
    checkpoint_sink sink;
    unsigned char *resume = NULL;
    size_t resume_len = 0;
    if (!rc) rc = blas_threads_set(va.o.threads, &err);
    if (!rc) rc = load(&va, &m, &p, &err);
    /* the master removes a replaced checkpoint before any worker reads it */
    if (!rc && va.ckpt && env.is_master && va.force_new) rc = checkpoint_remove(va.ckpt, &err);
    rc = sched_agree(&env, rc, &err);
    if (!rc && va.ckpt && !env.is_master)
        rc = checkpoint_setup(&va, 0, identity, sizeof identity, &sink, &resume, &resume_len, &err);
    rc = sched_agree(&env, rc, &err);
    verify_app a;
    memset(&a, 0, sizeof a);
    finished_ctx fc = {va.ckpt, &sink};
    a.model = &m, a.spec = &p, a.po = va.po, a.finished = finished, a.finished_ctx = &fc;
    sched_options so = {0, 1, cli_catch_stop_signals(), 60};
    sched_app app = verify_app_callbacks(&a);
    int64_t task = 0;
    long abandoned;
    rc = cli_sched_run(cmd, &env, &so, &app, va.o.threads, rc, &task, 1, &abandoned, &status, &err);
    if (status >= 0) goto done;
    if (!env.is_master) {
        status = so.stop && *so.stop ? CLI_EXIT_INTERRUPTED : CLI_EXIT_OK;
        goto done;
    }
    if (rc == NN_EINTERRUPTED) {
        fprintf(stderr, "nncert %s: %s: stopped before an answer%s\n", cmd, cli_stop_signal_name(),
                va.ckpt ? "; the checkpoint holds the search so far" : "");
        if (abandoned && env.size > 1) sched_abort(&env, CLI_EXIT_INTERRUPTED);
        status = CLI_EXIT_INTERRUPTED;
    } else if (rc) {
        cli_report(cmd, &err);
        sched_abort(&env, rc == NN_ELOST ? CLI_EXIT_INTERRUPTED : CLI_EXIT_FAIL);
        status = CLI_EXIT_FAIL;
    } else if (a.rc) {
        status = cli_report(cmd, &a.err);
    } else {
        status = report(&va, &p, &a.r);
    }
done:
    verify_app_free(&a);
    free(resume);
    prop_spec_free(&p);
    model_free(&m);
    sched_finalize();
    return status;
}

int cmd_verify(int argc, char **argv)
{
    long ranks = sched_launch_size(NULL);
    if (ranks > 1) return verify_ranks(argc, argv, ranks);
    verify_args va;
    memset(&va, 0, sizeof va);
    int st = parse(argc, argv, 1, &va);
    if (st >= 0) return st;
    if ((st = cli_set_threads(cmd, va.o.threads)) >= 0) return st;

    nn_error err;
    nn_error_clear(&err);
    nn_model m;
    prop_spec p;
    prop_result r;
    memset(&r, 0, sizeof r);
    model_init(&m);
    prop_spec_init(&p);
    int rc = CLI_EXIT_FAIL;
    char identity[2048];
    checkpoint_sink sink;
    unsigned char *resume = NULL;
    size_t resume_len = 0;
    if (load(&va, &m, &p, &err) ||
        (va.ckpt && checkpoint_setup(&va, va.force_new, identity, sizeof identity, &sink, &resume, &resume_len, &err))) {
        cli_report(cmd, &err);
        goto done;
    }
    if (prop_verify(&m, &p, &va.po, &r, &err)) {
        if (resume) fprintf(stderr, "nncert %s: %s: %s\n", cmd, va.ckpt, err.msg);  /* the snapshot's fault */
        else cli_report(cmd, &err);
        goto done;
    }
    rc = report(&va, &p, &r);
    if (va.ckpt) report_checkpoint(va.ckpt, &r, &sink);
done:
    free(resume);
    prop_result_free(&r);
    prop_spec_free(&p);
    model_free(&m);
    return rc;
}
