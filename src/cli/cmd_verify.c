/* 'nncert verify': one VNN-LIB property of one model, answered unsat (proven),
 * sat (with a counterexample checked by the forward pass), unknown or timeout,
 * in VNN-COMP's result format (doc/verify.md). */
#include "cli.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cert_cli.h"
#include "checkpoint_file.h"
#include "model_io.h"
#include "property.h"
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
                           nn_error *err)
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
    return checkpoint_read(path, identity, resume, len, &found, err);
}

/* Where the checkpoint stands after an answer: kept after a timeout (a rerun with
 * a longer --timeout continues), else removed (the answer is final). */
static void report_checkpoint(const char *path, const prop_result *r, const checkpoint_sink *sink)
{
    if (sink->failed)
        fprintf(stderr, "nncert %s: warning: checkpoints were not written (%s): a killed run would start afresh\n",
                cmd, sink->first_error.msg);
    if (r->bab.resumed_open >= 0)
        fprintf(stderr, "nncert %s: resumed from %s: %ld open domains, %.3f s spent by earlier runs\n", cmd, path,
                r->bab.resumed_open, r->bab.resumed_seconds);
    if (r->answer == PROP_TIMEOUT && sink->written && !sink->failed) {
        fprintf(stderr, "nncert %s: %s kept (%ld snapshots this run): rerun with a longer --timeout to continue\n",
                cmd, path, r->bab.snapshots);
        return;
    }
    nn_error e;
    if (checkpoint_remove(path, &e)) fprintf(stderr, "nncert %s: warning: %s\n", cmd, e.msg);
}

int cmd_verify(int argc, char **argv)
{
    static const char *const allowed[] = {"model", "method", "lines", "maxpool", "precision", "frown-group",
                                          "frown-iters", "frown-lr", "frown-patience", "frown-threshold", "frown-beta",
                                          "no-skip-stable", "no-intersect-ibp", "steps", "restarts", "seed",
                                          "threads", "lp-cuts", "milp-time-limit", NULL};
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
    const char *vnn = val[0], *timeout_text = val[1], *out = val[2];
    cert_cli_opts o;
    cert_cli_defaults(&o);
    st = cert_cli_parse(cmd, n_rest, rest, allowed, help, &o);
    free(rest);
    if (st >= 0) return st;
    if (!o.model) return cli_usage_error(cmd, "--model is required");
    if (!vnn) return cli_usage_error(cmd, "--vnnlib is required");
    prop_options po;
    prop_options_default(&po);
    po.bopt = o.bopt;
    po.steps = o.steps, po.restarts = o.restarts, po.seed = o.seed;
    if (timeout_text) {
        if (cli_parse_double(cmd, "--timeout", timeout_text, &po.timeout)) return CLI_EXIT_USAGE;
        if (!(po.timeout > 0)) return cli_usage_error(cmd, "--timeout must be > 0 seconds, got %s", timeout_text);
    }
    if ((st = cert_cli_bab(cmd, val + 3, &po.bab)) >= 0) return st;
    const char *ckpt = val[3 + CERT_CLI_BAB_N];
    int force_new = val[4 + CERT_CLI_BAB_N] != NULL;
    if (ckpt && !po.bab.enabled) return cli_usage_error(cmd, "--checkpoint needs --bab");
    if (force_new && !ckpt) return cli_usage_error(cmd, "--force-new needs --checkpoint");
    if (!ckpt && val[3 + CERT_CLI_BAB_N - 1])
        return cli_usage_error(cmd, "--checkpoint-every needs --checkpoint F (where the snapshots go)");
    if ((st = cli_set_threads(cmd, o.threads)) >= 0) return st;
    if (ckpt && (st = cli_guard_output(cmd, ckpt, o.model, NULL, vnn)) >= 0) return st;

    nn_error err;
    nn_error_clear(&err);
    nn_model m;
    prop_spec p;
    prop_result r;
    memset(&r, 0, sizeof r);
    prop_spec_init(&p);
    if (model_load(o.model, &m, &err)) return cli_report(cmd, &err);
    int rc = CLI_EXIT_FAIL;
    char identity[2048];
    checkpoint_sink sink = {ckpt, identity, 0, 0, 0, {0}};
    unsigned char *resume = NULL;
    size_t resume_len = 0;
    if (vnnlib_read(vnn, NULL, &p, &err) || prop_check_sizes(&p, model_input_size(&m), model_output_size(&m), vnn, &err)) {
        cli_report(cmd, &err);
        goto done;
    }
    if (ckpt) {
        if (open_checkpoint(ckpt, &o, &po, vnn, force_new, identity, sizeof identity, &resume, &resume_len, &err)) {
            cli_report(cmd, &err);
            goto done;
        }
        const char *kill_after = getenv("NNCERT_TEST_KILL_AFTER_SNAPSHOTS");  /* tests/cli_bab_checkpoint.sh */
        sink.kill_after = kill_after ? strtol(kill_after, NULL, 10) : 0;
        po.bab.save = checkpoint_sink_save, po.bab.save_ctx = &sink;
        po.bab.resume = resume, po.bab.resume_len = resume_len;
    }
    if (prop_verify(&m, &p, &po, &r, &err)) {
        if (resume) fprintf(stderr, "nncert %s: %s: %s\n", cmd, ckpt, err.msg);  /* the snapshot's fault */
        else cli_report(cmd, &err);
        goto done;
    }
    write_result(stdout, &p, &r);
    fflush(stdout);
    if (out) {
        FILE *f = fopen(out, "w");
        if (!f) {
            fprintf(stderr, "nncert %s: cannot write %s\n", cmd, out);
            goto done;
        }
        write_result(f, &p, &r);
        if (fclose(f)) {
            fprintf(stderr, "nncert %s: cannot write %s\n", cmd, out);
            goto done;
        }
    }
    fprintf(stderr, "nncert %s: %s in %.3f s (%s): %zu of %zu disjuncts ruled out, %zu of %zu input boxes proven; "
            "%ld PGD steps\n", cmd, prop_answer_name(r.answer), r.seconds, bound_method_name(po.bopt.method),
            r.cases_proven, p.n_cases, r.boxes_proven, p.n_boxes, r.pgd_steps);
    if (po.bab.enabled)
        fprintf(stderr, "nncert %s: branch and bound (%s): %ld domains bounded, %ld leaves proven (%ld empty), "
                "%ld open (%ld not splittable), depth %d, proven volume %s; %ld rounds: %.6f s PGD, %.6f s planning, "
                "%.6f s jobs, %.6f s merging; split by %s\n", cmd, bab_split_name(po.bab.split),
                r.bab.domains, r.bab.leaves_proven, r.bab.leaves_empty, r.bab.open, r.bab.stuck, r.bab.depth,
                isnan(r.bab.volume_proven) ? "n/a (ReLU splits)" : fmt_fraction(r.bab.volume_proven), r.bab.rounds,
                r.bab.sec_pgd, r.bab.sec_plan, r.bab.sec_jobs, r.bab.sec_merge,
                r.bab.used_relu ? (r.bab.used_input ? "input halves and ReLU phases" : "ReLU phases")
                                : r.bab.used_input ? "input halves" : "nothing (no search)");
    if (ckpt) report_checkpoint(ckpt, &r, &sink);
    rc = CLI_EXIT_OK;
done:
    free(resume);
    prop_result_free(&r);
    prop_spec_free(&p);
    model_free(&m);
    return rc;
}
