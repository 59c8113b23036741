/* 'nncert certify': certified radius (or verification at a fixed eps) per image
 * and target, one row each in an HDF5 results table; a summary on stdout. The
 * per-task work is cert_run_image/cert_run_task (no I/O), so a distributed
 * driver can reuse it unchanged. */
#include "cli.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cert_cli.h"
#include "forward.h"
#include "model_io.h"

static const char *const cmd = "certify";

static void help(void)
{
    printf("usage: nncert certify --model M --data D --out F.h5 [options]\n\n"
           "Certified robustness radius of each image (and target) by linear bound\n"
           "propagation; misclassified images are reported and skipped.\n\n"
           "options:\n"
           "  --model M          native HDF5 model or .onnx\n"
           "  --data D           fashion-mnist:test|train, mnist:test|train or an IDX file\n"
           "  --start S          first image (default 0)\n"
           "  --count N          images (default 0: to the end)\n"
           "  --norm inf|2|1     perturbation norm (default inf)\n"
           "  --method M         ibp|crown-ibp|lbp|crown-lbp|fastlin|crown (default crown)\n"
           "  --lines L          adaptive|tight|fastlin (default adaptive)\n"
           "  --maxpool P        tilin|deeppoly|cnncert|interval (default tilin)\n"
           "  --precision P      double (default) or single: float32 GEMMs for the\n"
           "                     intermediate layers, with a sound rounding budget\n"
           "  --target T         untargeted|top2|least|random|all|<class> (default untargeted)\n"
           "  --seed S           seed of --target random (default 0)\n"
           "  --search K         bisect (default: bracket + log bisection to --rtol, warm\n"
           "                     started from the previous image's radius) or crown15\n"
           "                     (the reference CROWN search: 15 evaluations)\n"
           "  --rtol R           relative tolerance of bisect (default 1e-3)\n"
           "  --eps E            verify at this eps instead of searching\n"
           "  --clip             intersect the ball with the pixel range [0, 1]\n"
           "  --out F.h5         results: /results/{index,label,prediction,target,status,\n"
           "                     radius,lo,hi,margin,evals,seconds}; status 0 certified,\n"
           "                     1 uncertified, 2 misclassified, 3 failed\n"
           "  -h, --help         this help\n\n"
           "exit status: 0 on success, 1 when the model, data or output cannot be used,\n"
           "2 on usage errors.\n");
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

enum { C_INDEX, C_LABEL, C_PRED, C_TARGET, C_STATUS, C_RADIUS, C_LO, C_HI, C_MARGIN, C_EVALS, C_SECONDS, C_COUNT };

static const h5_column columns[C_COUNT] = {
    {"index", H5COL_INT, 1},     {"label", H5COL_INT, 1}, {"prediction", H5COL_INT, 1}, {"target", H5COL_INT, 1},
    {"status", H5COL_INT, 1},    {"radius", H5COL_DOUBLE, 1}, {"lo", H5COL_DOUBLE, 1}, {"hi", H5COL_DOUBLE, 1},
    {"margin", H5COL_DOUBLE, 1}, {"evals", H5COL_INT, 1},  {"seconds", H5COL_DOUBLE, 1},
};

static int append_rows(h5_table *t, const cert_result *r, int n, nn_error *err)
{
    int64_t iv[5][64], ev[64];
    double dv[5][64];
    if (n > 64) return nn_fail(err, NN_EARG, "too many rows per image (%d)", n);
    for (int i = 0; i < n; i++) {
        iv[0][i] = r[i].index, iv[1][i] = r[i].label, iv[2][i] = r[i].pred, iv[3][i] = r[i].target;
        iv[4][i] = r[i].status;
        dv[0][i] = r[i].radius, dv[1][i] = r[i].lo, dv[2][i] = r[i].hi, dv[3][i] = r[i].margin;
        dv[4][i] = r[i].seconds;
        ev[i] = r[i].evals;
    }
    const void *data[C_COUNT] = {iv[0], iv[1], iv[2], iv[3], iv[4], dv[0], dv[1], dv[2], dv[3], ev, dv[4]};
    return h5_table_append(t, data, (size_t)n, err);
}

int cmd_certify(int argc, char **argv)
{
    static const char *const allowed[] = {"model", "data", "start", "count", "norm", "method", "lines", "maxpool",
                                          "precision", "target", "seed", "search", "rtol", "eps", "clip", "out", NULL};
    cert_cli_opts o;
    cert_cli_defaults(&o);
    int st = cert_cli_parse(cmd, argc, argv, allowed, help, &o);
    if (st >= 0) return st;
    nn_error err;
    nn_error_clear(&err);
    cert_target_spec target;
    if (cert_target_parse(o.target_text, 0, &target, &err)) return cli_usage_error(cmd, "--target: %s", err.msg);
    target.seed = o.seed;

    nn_model m;
    nn_dataset ds;
    st = cert_cli_load(cmd, &o, (size_t)o.start, (size_t)o.count, &m, &ds);
    if (st >= 0) return st;
    int rc = CLI_EXIT_FAIL;
    cert_verifier v;
    int have_v = 0;
    h5_table *t = NULL;
    char *cmdline = cert_cli_command_line(argc, argv);
    cert_result *res = NULL;
    char sha[65] = "";
    int n_classes = (int)model_output_size(&m);
    if (target.mode == TARGET_CLASS && target.cls >= n_classes) {
        rc = cli_usage_error(cmd, "--target %d out of range: %s has %d classes", target.cls, o.model, n_classes);
        goto done;
    }
    if (model_file_sha256(o.model, sha, &err) || cert_verifier_init(&v, &m, &o.bopt, &err)) {
        cli_report(cmd, &err);
        goto done;
    }
    have_v = 1;
    res = calloc((size_t)n_classes, sizeof *res);
    if (!res || !cmdline) {
        fprintf(stderr, "nncert %s: out of memory\n", cmd);
        goto done;
    }
    const h5_attr attrs[] = {
        {"kind", "certify", 0, 0},
        {"model", o.model, 0, 0},
        {"model_sha256", sha, 0, 0},
        {"data", o.data, 0, 0},
        {"command_line", cmdline, 0, 0},
        {"method", bound_method_name(o.bopt.method), 0, 0},
        {"norm", norm_name(o.norm), 0, 0},
        {"lines", line_strategy_name(o.bopt.strategy), 0, 0},
        {"precision", o.bopt.single ? "single" : "double", 0, 0},
        {"maxpool", pool_method_name(o.bopt.pool), 0, 0},
        {"target", o.target_text, 0, 0},
        {"search", isnan(o.eps) ? cert_search_kind_name(o.search) : "fixed-eps", 0, 0},
        {"rtol", NULL, o.rtol, 0},
        {"eps", NULL, o.eps, 0},
        {"clip", NULL, o.clip, 1},
        {"seed", NULL, (double)o.seed, 1},
    };
    if (h5_table_create(&t, o.out, attrs, (int)(sizeof attrs / sizeof attrs[0]), columns, C_COUNT, &err)) {
        cli_report(cmd, &err);
        goto done;
    }
    h5_attr legend = {"status_names", "0=certified,1=uncertified,2=misclassified,3=failed", 0, 0};
    if (h5_table_attr(t, &legend, &err)) {
        cli_report(cmd, &err);
        goto done;
    }

    cert_task_options to;
    memset(&to, 0, sizeof to);
    to.norm = o.norm;
    to.clip = o.clip;
    to.fixed = !isnan(o.eps);
    to.eps = o.eps;
    size_t in_size = model_input_size(&m);
    cert_search_options_default(&to.search, o.norm, in_size);
    to.search.kind = o.search;
    to.search.rtol = o.rtol;
    const double eps0 = to.search.guess;

    long counts[CERT_STATUS_COUNT] = {0}, rows = 0;
    double sum_radius = 0, t0 = now_seconds();
    int failed_io = 0;
    for (size_t i = 0; i < ds.n; i++) {
        int n_res;
        long index = (long)(ds.first + i);
        if (cert_run_image(&v, &to, &target, ds.images + i * in_size, index, ds.labels[i], res, &n_res, &err)) {
            cli_report(cmd, &err);
            failed_io = 1;
            break;
        }
        for (int k = 0; k < n_res; k++) {
            counts[res[k].status]++;
            rows++;
            if (res[k].status == CERT_CERTIFIED || res[k].status == CERT_UNCERTIFIED) sum_radius += res[k].radius;
            if (res[k].status == CERT_FAILED)
                fprintf(stderr, "nncert %s: image %ld target %d failed: %s\n", cmd, index, res[k].target,
                        res[k].message);
            /* Warm start: neighbouring images of a data set have radii of similar size;
             * crown15 keeps the reference eps0. */
            if (o.search == SEARCH_BISECT && res[k].radius > 0) to.search.guess = res[k].radius;
        }
        if (o.search == SEARCH_CROWN15) to.search.guess = eps0;
        if (append_rows(t, res, n_res, &err)) {
            cli_report(cmd, &err);
            failed_io = 1;
            break;
        }
    }
    double total = now_seconds() - t0;
    if (!failed_io) {
        long scored = counts[CERT_CERTIFIED] + counts[CERT_UNCERTIFIED];
        printf("images %zu, rows %ld: certified %ld, uncertified %ld, misclassified %ld, failed %ld\n", ds.n, rows,
               counts[CERT_CERTIFIED], counts[CERT_UNCERTIFIED], counts[CERT_MISCLASSIFIED], counts[CERT_FAILED]);
        if (to.fixed)
            printf("certified fraction at eps %g (%s): %.4f of correctly classified\n", o.eps, norm_name(o.norm),
                   scored ? (double)counts[CERT_CERTIFIED] / (double)scored : 0.0);
        else
            printf("mean certified radius (%s, %s): %.6g over %ld rows\n", norm_name(o.norm),
                   bound_method_name(o.bopt.method), scored ? sum_radius / (double)scored : 0.0, scored);
        printf("bound evaluations %ld, total %.3f s, %.4f s per row\n", v.evals, total,
               rows ? total / (double)rows : 0.0);
        rc = counts[CERT_FAILED] ? CLI_EXIT_FAIL : CLI_EXIT_OK;
    }
done:
    if (t && h5_table_close(t, &err) && rc == CLI_EXIT_OK) rc = cli_report(cmd, &err);
    if (have_v) cert_verifier_free(&v);
    free(res);
    free(cmdline);
    dataset_free(&ds);
    model_free(&m);
    return rc;
}
