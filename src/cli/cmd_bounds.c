/* 'nncert bounds': every intermediate bound and the margin bounds of one image at
 * one eps, written to HDF5 (/bounds/NNN, /margin) for other tools to read. */
#include "cli.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cert_cli.h"
#include "forward.h"

static const char *const cmd = "bounds";

static void help(void)
{
    printf("usage: nncert bounds --model M --data D --index I --eps E --out F.h5 [options]\n\n"
           "Bounds of every nonlinear layer's input and of the margin rows e_c - e_j\n"
           "(c = predicted class) over the ball of radius E around image I.\n\n"
           "options:\n"
           "  --model M, --data D   model (.h5 or .onnx) and data set (see 'nncert certify')\n"
           "  --index I             image index in the data set\n"
           "  --eps E               radius (>= 0)\n"
           "  --norm inf|2|1        (default inf)\n"
           "  --method M            ibp|crown-ibp|lbp|crown-lbp|fastlin|crown|\n"
           "                        frown|crown-quad (default crown)\n"
           "  --lines L             adaptive|tight|fastlin (default adaptive)\n"
           "  --maxpool P           tilin|deeppoly|cnncert|interval (default tilin)\n"
           "  --precision P         double (default) or single: float32 GEMMs for the\n"
           "                        intermediate layers, with a sound rounding budget\n"
           "  --frown-group G       FROWN: rows sharing one set of line variables, aligned\n"
           "                        groups of G (default 1 = exact FROWN)\n"
           "  --frown-iters N       FROWN: Adam steps per problem (default 100; 0 = CROWN)\n"
           "  --frown-lr LR         FROWN: Adam learning rate (default 0.1)\n"
           "  --frown-patience P    FROWN: early stop after P steps in a row (default 5)\n"
           "                        that each improve the best bound by less than T\n"
           "  --frown-threshold T   FROWN: that relative T (default 0.01)\n"
           "                        (FROWN and crown-quad tighten both margin sides here)\n"
           "  --clip                intersect the ball with [0, 1]\n"
           "  --target T            untargeted|top2|least|random|all|<class> (default\n"
           "                        untargeted; all = one row per class)\n"
           "  --seed S              seed of --target random\n"
           "  --threads N           BLAS threads (default 1, whatever OPENBLAS_NUM_THREADS\n"
           "                        says; see 'nncert certify --help')\n"
           "  --out F.h5            /bounds/NNN/{lower,upper} (attr type) per layer index\n"
           "                        NNN, /margin/{lower,upper,target}; root attributes\n"
           "                        model, index, label, prediction, eps, norm, method,\n"
           "                        lines, maxpool, precision, software_version\n\n"
           "exit status: 0 on success, 1 on failures, 2 on usage errors.\n");
}

int cmd_bounds(int argc, char **argv)
{
    static const char *const allowed[] = {"model", "data", "index", "eps", "norm", "method", "lines", "maxpool",
                                          "precision", "clip", "target", "seed", "out", "frown-group",
                                          "frown-iters", "frown-lr", "frown-patience", "frown-threshold", "threads", NULL};
    cert_cli_opts o;
    cert_cli_defaults(&o);
    int st = cert_cli_parse(cmd, argc, argv, allowed, help, &o);
    if (st >= 0) return st;
    if (o.index < 0) return cli_usage_error(cmd, "--index is required");
    if (isnan(o.eps)) return cli_usage_error(cmd, "--eps is required");
    o.bopt.spec_upper = 1; /* the file reports both sides of every margin */
    nn_error err;
    nn_error_clear(&err);
    cert_target_spec target;
    if (cert_target_parse(o.target_text, 0, &target, &err)) return cli_usage_error(cmd, "--target: %s", err.msg);
    target.seed = o.seed;
    if ((st = cli_set_threads(cmd, o.threads)) >= 0) return st;
    nn_model m;
    nn_dataset ds;
    st = cert_cli_load(cmd, &o, (size_t)o.index, 1, &m, &ds);
    if (st >= 0) return st;

    int rc = CLI_EXIT_FAIL, have_v = 0, n = (int)model_output_size(&m);
    cert_verifier v;
    double *logits = calloc((size_t)n, sizeof *logits), *lo = calloc((size_t)n * n, sizeof *lo),
           *up = calloc((size_t)n * n, sizeof *up);
    int *targets = calloc((size_t)n, sizeof *targets), *row_t = calloc((size_t)n * n, sizeof *row_t);
    char *cmdline = cert_cli_command_line(argc, argv);
    if (!logits || !lo || !up || !targets || !row_t || !cmdline) {
        fprintf(stderr, "nncert %s: out of memory\n", cmd);
        goto done;
    }
    if (forward_run(&m, ds.images, 1, logits, &err) || cert_verifier_init(&v, &m, &o.bopt, &err)) {
        cli_report(cmd, &err);
        goto done;
    }
    have_v = 1;
    int pred = forward_argmax(logits, (size_t)n), n_targets;
    if (cert_choose_targets(&target, logits, n, pred, o.index, targets, &n_targets, &err)) {
        cli_report(cmd, &err);
        goto done;
    }
    if (pred != ds.labels[0])
        fprintf(stderr, "nncert %s: note: image %ld is misclassified (label %d, prediction %d); margins are "
                "for the prediction\n", cmd, o.index, ds.labels[0], pred);
    size_t rows = 0;
    double min_margin = INFINITY;
    for (int k = 0; k < n_targets; k++) {
        double margin;
        int certified;
        if (cert_verify(&v, ds.images, o.norm, o.eps, o.clip, pred, targets[k], &margin, &certified, &err)) {
            cli_report(cmd, &err);
            goto done;
        }
        memcpy(lo + rows, v.lower, v.rows * sizeof *lo);
        memcpy(up + rows, v.upper, v.rows * sizeof *up);
        memcpy(row_t + rows, v.row_target, v.rows * sizeof *row_t);
        rows += v.rows;
        if (margin < min_margin || isnan(margin)) min_margin = margin;
    }
    const h5_attr attrs[] = {
        {"kind", "bounds", 0, 0},
        {"model", o.model, 0, 0},
        {"data", o.data, 0, 0},
        {"command_line", cmdline, 0, 0},
        {"index", NULL, (double)o.index, 1},
        {"label", NULL, ds.labels[0], 1},
        {"prediction", NULL, pred, 1},
        {"eps", NULL, o.eps, 0},
        {"norm", norm_name(o.norm), 0, 0},
        {"method", bound_method_name(o.bopt.method), 0, 0},
        {"lines", line_strategy_name(o.bopt.strategy), 0, 0},
        {"precision", o.bopt.single ? "single" : "double", 0, 0},
        {"maxpool", pool_method_name(o.bopt.pool), 0, 0},
        {"clip", NULL, o.clip, 1},
        {"target", o.target_text, 0, 0},
        {"threads", NULL, o.threads, 1},
    };
    if (h5_write_bounds(o.out, attrs, (int)(sizeof attrs / sizeof attrs[0]), &v.st, lo, up, row_t, rows, &err)) {
        cli_report(cmd, &err);
        goto done;
    }
    printf("image %ld label %d prediction %d eps %g (%s, %s): min margin lower bound %.6g -> %s\n", o.index,
           ds.labels[0], pred, o.eps, norm_name(o.norm), bound_method_name(o.bopt.method), min_margin,
           min_margin > 0 ? "certified" : "not certified");
    rc = CLI_EXIT_OK;
done:
    if (have_v) cert_verifier_free(&v);
    free(logits), free(lo), free(up), free(targets), free(row_t), free(cmdline);
    dataset_free(&ds);
    model_free(&m);
    return rc;
}
