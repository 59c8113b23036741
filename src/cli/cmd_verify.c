/* 'nncert verify': one VNN-LIB property of one model, answered unsat (proven),
 * sat (with a counterexample checked by the forward pass), unknown or timeout,
 * in VNN-COMP's result format (doc/verify.md). */
#include "cli.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cert_cli.h"
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

int cmd_verify(int argc, char **argv)
{
    static const char *const allowed[] = {"model", "method", "lines", "maxpool", "precision", "frown-group",
                                          "frown-iters", "frown-lr", "frown-patience", "frown-threshold",
                                          "no-skip-stable", "no-intersect-ibp", "steps", "restarts", "seed",
                                          "threads", "lp-cuts", "milp-time-limit", NULL};
    /* --vnnlib, --timeout and the optional --out are this command's own */
    static const char *const own[] = {"vnnlib", "timeout", "out", CERT_CLI_BAB_NAMES, NULL};
    const char *val[3 + CERT_CLI_BAB_N];
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
    if ((st = cli_set_threads(cmd, o.threads)) >= 0) return st;

    nn_error err;
    nn_error_clear(&err);
    nn_model m;
    prop_spec p;
    prop_result r;
    memset(&r, 0, sizeof r);
    prop_spec_init(&p);
    if (model_load(o.model, &m, &err)) return cli_report(cmd, &err);
    int rc = CLI_EXIT_FAIL;
    if (vnnlib_read(vnn, NULL, &p, &err) || prop_check_sizes(&p, model_input_size(&m), model_output_size(&m), vnn, &err) ||
        prop_verify(&m, &p, &po, &r, &err)) {
        cli_report(cmd, &err);
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
    fprintf(stderr, "nncert %s: %s in %.3f s (%s): %zu of %zu disjuncts ruled out, %zu of %zu input boxes proven%s; "
            "%ld PGD steps\n", cmd, prop_answer_name(r.answer), r.seconds, bound_method_name(po.bopt.method),
            r.cases_proven, p.n_cases, r.boxes_proven, p.n_boxes,
            r.boxes_enlarged ? " (some boxes bounded through an enclosing ball)" : "", r.pgd_steps);
    if (po.bab.enabled)
        fprintf(stderr, "nncert %s: branch and bound (%s): %ld domains bounded, %ld leaves proven (%ld empty), "
                "%ld open (%ld not splittable), depth %d, proven volume %s; %ld rounds: %.6f s PGD, %.6f s planning, "
                "%.6f s jobs, %.6f s merging; split by %s\n", cmd, bab_split_name(po.bab.split),
                r.bab.domains, r.bab.leaves_proven, r.bab.leaves_empty, r.bab.open, r.bab.stuck, r.bab.depth,
                isnan(r.bab.volume_proven) ? "n/a (ReLU splits)" : fmt_fraction(r.bab.volume_proven), r.bab.rounds,
                r.bab.sec_pgd, r.bab.sec_plan, r.bab.sec_jobs, r.bab.sec_merge,
                r.bab.used_relu ? (r.bab.used_input ? "input halves and ReLU phases" : "ReLU phases")
                                : r.bab.used_input ? "input halves" : "nothing (no search)");
    rc = CLI_EXIT_OK;
done:
    prop_result_free(&r);
    prop_spec_free(&p);
    model_free(&m);
    return rc;
}
