/* 'nncert bounds': every intermediate bound and the margin bounds of one image at
 * one eps, written to HDF5 (/bounds/NNN, /margin) for other tools to read, with
 * the source of every neuron's bounds (/bounds/NNN/source, bound_label_sources)
 * and their counts per layer on stdout. */
#include "cli.h"
#include "blas_core.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cert_check.h"
#include "cert_cli.h"
#include "bound.h"
#include "forward.h"

static const char *const cmd = "bounds";

/* One line per nonlinear layer on stdout: how many neurons carry which source
 * (bound_label_sources), so a reader need not open the file to know. */
static void print_sources(const bound_state *st, unsigned char *const *src)
{
    const nn_model *m = st->model;
    int mixed = 0;
    for (int i = 0; i < m->n_layers; i++) {
        if (!src[i]) continue;
        size_t n = shape_size(m->layers[i].in), count[BOUND_SRC_COUNT] = {0};
        for (size_t r = 0; r < n; r++) count[src[i][r]]++;
        printf("layer %03d %s, %zu neurons:", i, layer_type_name(m->layers[i].type), n);
        for (int c = 0; c < BOUND_SRC_COUNT; c++)
            if (count[c]) printf(" %s %zu", bound_source_name(c), count[c]);
        printf("\n");
        mixed |= count[BOUND_SRC_IBP_STABLE] || count[BOUND_SRC_IBP_LOWER] || count[BOUND_SRC_IBP_UPPER] ||
                 (count[BOUND_SRC_IBP] && st->opt.method != METHOD_IBP && st->opt.method != METHOD_CROWN_IBP);
    }
    if (mixed)
        printf("some neurons carry IBP's bounds (/bounds/NNN/source); --no-skip-stable --no-intersect-ibp gives "
               "the method's own everywhere\n");
}

static void help(void)
{
    printf("usage: nncert bounds --model M --data D --index I --eps E --out F.h5 [options]\n\n"
           "Bounds of every nonlinear layer's input and of the margin rows e_c - e_j\n"
           "(c = predicted class) over the ball of radius E around image I.\n\n"
           "options:\n"
           "  --model M, --data D   model (.h5, Keras .h5 or .onnx) and data set (see\n"
           "                        'nncert certify')\n"
           "  --mean M,.. --std S,..  input normalization put in front of the model\n"
           "  --index I             image index in the data set\n"
           "  --eps E               radius (>= 0)\n"
           "  --norm inf|2|1        (default inf)\n"
           "  --method M            ibp|crown-ibp|lbp|crown-lbp|fastlin|crown|\n"
           "                        frown|crown-quad|lp-last|lp-all|milp (default crown;\n"
           "                        lp-greedy = fastlin; the LP methods: inf and 1 norms)\n"
           "  --lp-cuts K           lp-*, milp: tangent cuts per side of an S-shaped\n"
           "                        neuron (default 3)\n"
           "  --milp-time-limit S   milp: seconds per margin row (default 60); then the\n"
           "                        row is unknown between its bound and its best point;\n"
           "                        each row's outcome and point (moved into the ball,\n"
           "                        checked by the exact forward pass) go to /milp\n"
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
           "  --no-skip-stable      bound every neuron by the method, also those IBP\n"
           "                        already proves stable (else they keep IBP's bounds)\n"
           "  --no-intersect-ibp    keep the method's bound where IBP's is tighter\n"
           "                        (both: every neuron carries the method's own bounds)\n"
           "  --clip                intersect the ball with [0, 1]\n"
           "  --target T            untargeted|top2|least|random|all|<class> (default\n"
           "                        untargeted; all = one row per class)\n"
           "  --seed S              seed of --target random\n"
           "  --threads N           BLAS threads (default 1, whatever OPENBLAS_NUM_THREADS\n"
           "                        says; see 'nncert certify --help')\n"
           "  --out F.h5            /bounds/NNN/{lower,upper} (attr type) per layer index\n"
           "                        NNN, /margin/{lower,upper,target}; root attributes\n"
           "                        model, index, label, prediction, eps, norm, method,\n"
           "                        lines, maxpool, precision, skip_stable, intersect_ibp,\n"
           "                        threads, software_version\n\n"
           "/bounds/NNN/source (uint8 per neuron) says whose bounds each neuron carries:\n"
           "  0 exact    the first nonlinear layer: the exact bounds of the first affine\n"
           "             block, whatever the method\n"
           "  1 ibp_stable  IBP's on both sides: IBP proves the neuron stable (ReLU-like\n"
           "             on one piece) and skip_stable spared it the method's pass\n"
           "  2 method   the method's own bounds on both sides (crown-lbp: LBP's)\n"
           "  3 ibp_lower   IBP's lower bound (at least as tight as the method's), the\n"
           "             method's upper\n"
           "  4 ibp_upper   the method's lower bound, IBP's upper (at least as tight)\n"
           "  5 ibp      IBP's on both sides: tighter on both, a MaxPool input right after\n"
           "             an activation (its IBP box), or method ibp / crown-ibp\n"
           "IBP here is IBP from the saved bounds of the earlier nonlinear layers, the\n"
           "one the engine compares with; a side is IBP's when it has IBP's bits and the\n"
           "engine could have put it there (ties count as IBP's). The legend is the\n"
           "/bounds attribute source_names. stdout has one line per layer with the\n"
           "count of each code. With --no-skip-stable --no-intersect-ibp every neuron\n"
           "past the first layer is 2 (5 for ibp and crown-ibp): the method's own bounds.\n\n"
           "From a certificate (doc/radius.md \"Certificates\"):\n"
           "  nncert bounds --from-certificate R.h5 --index I [--slot S] --out F.h5\n"
           "                [--model M] [--data D]\n"
           "replays the evaluations the search of task (I, S) of the certify results R.h5\n"
           "made up to its radius (R.h5 saved its certificate: save_certificates) with\n"
           "R.h5's job, and writes the bounds of the last one, at the radius: the bounds\n"
           "that certified it. Root attributes also name certificate_of (R.h5), slot,\n"
           "margin_saved, evaluations, identical, bab_domains. A radius branch and bound\n"
           "certified (bab_domains > 0) is proven again by the search with that many\n"
           "domains; the file holds the bounds it started from (which left the radius\n"
           "open) and its proven margin in the summary. Exit status 1 unless the margin\n"
           "lower bound is > 0 and has the bits the search computed.\n\n"
           "exit status: 0 on success, 1 on failures, 2 on usage errors.\n");
}

/* --from-certificate: the state of a certificate's last evaluation, written
 * like any bounds file (margin upper bounds are CROWN's, as in the search). */
static int from_certificate(const char *results, const char *slot_text, const cert_cli_opts *o, int argc,
                            char **argv)
{
    long slot = 0;
    if (slot_text && cli_parse_int(cmd, "--slot", slot_text, 0, 1L << 30, &slot)) return CLI_EXIT_USAGE;
    if (o->index < 0) return cli_usage_error(cmd, "--index is required");
    if (!o->out) return cli_usage_error(cmd, "--out is required");
    nn_error err;
    nn_error_clear(&err);
    int st = cli_guard_output(cmd, o->out, o->model, o->data, results);
    if (st >= 0) return st;
    cert_check k;
    if (cert_check_open(&k, results, o->model, o->data, &err)) return cli_report(cmd, &err);
    int rc = CLI_EXIT_FAIL;
    unsigned char **src = calloc((size_t)k.m.n_layers + 1, sizeof *src);
    char *cmdline = cert_cli_command_line(argc, argv);
    long i = cert_check_find(&k, o->index, (int)slot);
    cert_check_row r;
    if (!src || !cmdline) {
        fprintf(stderr, "nncert %s: out of memory\n", cmd);
        goto done;
    }
    if (i < 0) {
        fprintf(stderr, "nncert %s: %s has no certificate of image %ld slot %ld\n", cmd, results, o->index, slot);
        goto done;
    }
    if ((st = cli_guard_output(cmd, o->out, k.c.model, k.c.data, results)) >= 0) {
        rc = st;
        goto done;
    }
    /* the state that decided the last evaluation: CROWN's for an LP method
     * where CROWN certified (doc/lp.md "Least work"), as the search had it */
    if (cert_check_run(&k, (size_t)i, &r, &err) || bound_label_sources(k.v.decided, src, &err)) {
        cli_report(cmd, &err);
        goto done;
    }
    const cert_job *c = &k.c;
    h5_attr attrs[] = {
        {"kind", "bounds", 0, 0},
        {"model", c->model, 0, 0},
        {"data", c->data, 0, 0},
        {"command_line", cmdline, 0, 0},
        {"index", NULL, (double)r.index, 1},
        {"label", NULL, r.label, 1},
        {"prediction", NULL, r.pred, 1},
        {"eps", NULL, r.radius, 0},
        {"norm", norm_name(c->task.norm), 0, 0},
        {"method", bound_method_name(k.v.decided->opt.method), 0, 0},
        {"job_method", bound_method_name(c->bopt.method), 0, 0},
        {"lines", line_strategy_name(c->bopt.strategy), 0, 0},
        {"precision", c->bopt.single ? "single" : "double", 0, 0},
        {"maxpool", pool_method_name(c->bopt.pool), 0, 0},
        {"clip", NULL, c->task.clip, 1},
        {"target", c->target_text, 0, 0},
        {"threads", NULL, c->threads, 1},
        {"blas_core", blas_core_name(), 0, 0},
        {"skip_stable", NULL, c->bopt.skip_stable, 1},
        {"intersect_ibp", NULL, c->bopt.intersect_ibp, 1},
        {"certificate_of", results, 0, 0},
        {"slot", NULL, r.slot, 1},
        {"margin_saved", NULL, r.margin_saved, 0},
        {"evaluations", NULL, (double)r.n_path, 1},
        {"identical", NULL, r.identical, 1},
        {"bab_domains", NULL, (double)r.bab_domains, 1},
        {"mean", job_value(&k.j, "mean"), 0, 0},
        {"std", job_value(&k.j, "std"), 0, 0},
    };
    int n_attrs = (int)(sizeof attrs / sizeof attrs[0]) - (c->norm.n ? 0 : 2);
    if (h5_write_bounds(o->out, attrs, n_attrs, k.v.decided, (const unsigned char *const *)src, bound_source_legend,
                        k.v.lower, k.v.upper, k.v.row_target, k.v.rows, &err)) {
        cli_report(cmd, &err);
        goto done;
    }
    print_sources(k.v.decided, src);
    char bab[80] = "";
    if (r.bab_domains > 0) snprintf(bab, sizeof bab, " and branch and bound (%ld domains)", r.bab_domains);
    printf("image %ld label %d prediction %d eps %.17g (%s, %s): min margin lower bound %.17g -> %s; %zu "
           "evaluation%s%s replayed from %s: %s the search's bits (margin %.17g)\n", r.index, r.label, r.pred,
           r.radius, norm_name(c->task.norm), bound_method_name(c->bopt.method), r.margin,
           r.verified ? "certified" : "not certified", r.n_path, r.n_path == 1 ? "" : "s", bab, results,
           r.identical ? "identical to" : "differs from", r.margin_saved);
    rc = r.verified && r.identical ? CLI_EXIT_OK : CLI_EXIT_FAIL;
done:
    for (int l = 0; src && l < k.m.n_layers; l++) free(src[l]);
    free(src);
    free(cmdline);
    cert_check_close(&k);
    return rc;
}

int cmd_bounds(int argc, char **argv)
{
    static const char *const allowed[] = {"model", "data", "mean", "std", "index", "eps", "norm", "method", "lines", "maxpool",
                                          "precision", "clip", "target", "seed", "out", "frown-group",
                                          "frown-iters", "frown-lr", "frown-patience", "frown-threshold", "threads",
                                          "no-skip-stable", "no-intersect-ibp", "lp-cuts", "milp-time-limit", NULL};
    /* with --from-certificate everything else comes from the results file, and
     * --model and --data (optional) only replace its paths */
    static const char *const allowed_cert[] = {"index", "out", NULL};
    static const char *const own[] = {"from-certificate", "slot", "model", "data", NULL};
    int cert = 0;
    for (int i = 1; i < argc; i++) cert |= !strncmp(argv[i], "--from-certificate", 18);
    const char *val[4] = {NULL, NULL, NULL, NULL};
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    if (!rest) return cli_report(cmd, &(nn_error){NN_ENOMEM, "out of memory"});
    int n_rest = argc, st = cert ? cert_cli_take(cmd, argc, argv, own, val, rest, &n_rest) : -1;
    if (!cert) memcpy(rest, argv, (size_t)argc * sizeof *rest);
    cert_cli_opts o;
    cert_cli_defaults(&o);
    if (st < 0) st = cert_cli_parse(cmd, n_rest, rest, cert ? allowed_cert : allowed, help, &o);
    free(rest);
    if (st >= 0) return st;
    if (cert) {
        if (!val[0] || !*val[0]) return cli_usage_error(cmd, "--from-certificate needs a results file");
        o.model = val[2], o.data = val[3];
        return from_certificate(val[0], val[1], &o, argc, argv);
    }
    if (o.index < 0) return cli_usage_error(cmd, "--index is required");
    if (isnan(o.eps)) return cli_usage_error(cmd, "--eps is required");
    nn_error nerr;
    nn_error_clear(&nerr);
    if (bound_method_check_norm(o.bopt.method, o.norm, &nerr)) return cli_usage_error(cmd, "%s", nerr.msg);
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
    unsigned char **src = calloc((size_t)m.n_layers + 1, sizeof *src);
    cert_verifier v;
    double *logits = calloc((size_t)n, sizeof *logits), *lo = calloc((size_t)n * n, sizeof *lo),
           *up = calloc((size_t)n * n, sizeof *up);
    int *targets = calloc((size_t)n, sizeof *targets), *row_t = calloc((size_t)n * n, sizeof *row_t);
    char *cmdline = cert_cli_command_line(argc, argv);
    /* method milp: each row's outcome for /milp (h5_write_milp) */
    int milp = o.bopt.method == METHOD_MILP;
    size_t n_in = model_input_size(&m), nr = (size_t)n * n;
    int *mi = milp ? calloc(3 * nr, sizeof *mi) : NULL;
    double *md = milp ? calloc(3 * nr, sizeof *md) : NULL, *mpt = milp ? malloc(nr * n_in * sizeof *mpt) : NULL,
           *mz = milp ? malloc((size_t)n * sizeof *mz) : NULL;
    if (!logits || !lo || !up || !targets || !row_t || !cmdline || !src || (milp && (!mi || !md || !mpt || !mz))) {
        fprintf(stderr, "nncert %s: out of memory\n", cmd);
        goto done;
    }
    if (forward_run(&m, ds.images, 1, logits, &err) || cert_verifier_init(&v, &m, &o.bopt, &err)) {
        cli_report(cmd, &err);
        goto done;
    }
    have_v = 1;
    v.full_bounds = 1; /* the method's own bounds of every row, not only their signs */
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
        for (size_t r = 0; milp && r < v.rows; r++) { /* doc/lp.md "MILP" */
            bound_milp_row mr;
            size_t q = rows + r;
            double *x = mpt + q * n_in;
            int has = 0, cls = -1, j = v.row_target[r];
            for (size_t i = 0; i < n_in; i++) x[i] = NAN;
            md[q] = md[nr + q] = NAN, md[2 * nr + q] = NAN;
            if (bound_milp_result(&v.st, r, &mr, NULL)) continue;
            /* the point as stored, checked there (milp_check.c): the row's value
             * z_pred - z_j by the exact forward pass, and whether class j wins */
            if (cert_milp_point(&v, r, ds.images, o.norm, o.eps, o.clip, x, &has, &err) ||
                (has && cert_counterexample_holds(&m, ds.images, x, o.norm, o.eps, o.clip, pred, j, mz, &cls, &err))) {
                cli_report(cmd, &err);
                goto done;
            }
            mi[q] = mr.proven, mi[nr + q] = has, mi[2 * nr + q] = cls >= 0;
            md[q] = mr.lower, md[nr + q] = mr.best_bound;
            if (has && forward_run(&m, x, 1, mz, &err)) {
                cli_report(cmd, &err);
                goto done;
            }
            if (has) md[2 * nr + q] = mz[pred] - mz[j];
            printf("milp row %zu (class %d): %s, lower bound %.9g, Cbc bound %.9g, ", q, j,
                   mr.proven ? "proven" : "unknown (time limit)", mr.lower, mr.best_bound);
            if (has)
                printf("value %.9g at its point by the forward pass%s\n", md[2 * nr + q],
                       cls >= 0 ? " (a counterexample, saved in /milp)" : "");
            else
                printf("no point found\n");
        }
        memcpy(lo + rows, v.lower, v.rows * sizeof *lo);
        memcpy(up + rows, v.upper, v.rows * sizeof *up);
        memcpy(row_t + rows, v.row_target, v.rows * sizeof *row_t);
        rows += v.rows;
        if (margin < min_margin || isnan(margin)) min_margin = margin;
    }
    if (bound_label_sources(&v.st, src, &err)) {
        cli_report(cmd, &err);
        goto done;
    }
    h5_attr attrs[] = {
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
        {"skip_stable", NULL, o.bopt.skip_stable, 1},
        {"intersect_ibp", NULL, o.bopt.intersect_ibp, 1},
        {NULL, NULL, 0, 0}, {NULL, NULL, 0, 0},   /* room for --mean/--std */
    };
    char *norm_text[2];
    int n_attrs = cert_cli_norm_attrs(&o, attrs, (int)(sizeof attrs / sizeof attrs[0]) - 2, norm_text);
    int wrc = h5_write_bounds(o.out, attrs, n_attrs, &v.st, (const unsigned char *const *)src, bound_source_legend, lo,
                              up, row_t, rows, &err);
    free(norm_text[0]);
    free(norm_text[1]);
    if (!wrc && milp) {
        h5_milp_rows mo = {rows, n_in, mi, mi + nr, mi + 2 * nr, md, md + nr, md + 2 * nr, mpt};
        wrc = h5_write_milp(o.out, &mo, &err);
    }
    if (wrc) {
        cli_report(cmd, &err);
        goto done;
    }
    print_sources(&v.st, src);
    printf("image %ld label %d prediction %d eps %g (%s, %s): min margin lower bound %.6g -> %s\n", o.index,
           ds.labels[0], pred, o.eps, norm_name(o.norm), bound_method_name(o.bopt.method), min_margin,
           min_margin > 0 ? "certified" : "not certified");
    rc = CLI_EXIT_OK;
done:
    if (have_v) cert_verifier_free(&v);
    for (int i = 0; src && i < m.n_layers; i++) free(src[i]);
    free(src);
    free(logits), free(lo), free(up), free(targets), free(row_t), free(cmdline);
    free(mi), free(md), free(mpt), free(mz);
    dataset_free(&ds);
    model_free(&m);
    return rc;
}
