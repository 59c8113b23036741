/* 'nncert attack': PGD counterexamples per image, at a fixed eps or the smallest
 * successful eps (an upper bound on the robust radius), with the counterexample
 * image and its logits, each re-verified by a forward pass. */
#include "cli.h"
#include "nn_clock.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cert_cli.h"
#include "forward.h"
#include "model_io.h"

static const char *const cmd = "attack";

static void help(void)
{
    printf("usage: nncert attack --model M --data D --out F.h5 (--eps E | --search) [options]\n\n"
           "Multi-targeted PGD on the logit margin. Every counterexample is re-checked by a\n"
           "plain forward pass before it is reported.\n\n"
           "options:\n"
           "  --model M, --data D   model and data set (see 'nncert certify')\n"
           "  --mean M,.. --std S,..  input normalization put in front of the model;\n"
           "                        x_adv stays in pixel space (see 'nncert certify')\n"
           "  --start S, --count N  image range (default 0, 0 = to the end)\n"
           "  --norm inf|2          (default inf)\n"
           "  --eps E               attack within this radius\n"
           "  --search              find the smallest eps at which PGD succeeds (to --rtol)\n"
           "  --rtol R              relative tolerance of --search (default 1e-2)\n"
           "  --steps N             gradient steps per run (default 100)\n"
           "  --restarts N          runs per eps (default 5): run 0 chases the strongest\n"
           "                        rival, the others target one rival each\n"
           "  --step-size A         step length as a fraction of eps (default 2.5/steps)\n"
           "  --seed S              random starts (mixed with the image index)\n"
           "  --threads N           BLAS threads (default 1, whatever OPENBLAS_NUM_THREADS\n"
           "                        says; see 'nncert certify --help')\n"
           "  --out F.h5            /results/{index,label,prediction,status,eps,lo,dist,\n"
           "                        adv_class,margin,runs,seconds,x_adv[n,in],logits[n,out]};\n"
           "                        status 0 counterexample, 1 none found, 2 misclassified\n\n"
           "exit status: 0 on success, 1 on failures, 2 on usage errors.\n");
}

int cmd_attack(int argc, char **argv)
{
    static const char *const allowed[] = {"model", "data", "mean", "std", "start", "count", "norm", "eps", "search", "rtol",
                                          "steps", "restarts", "step-size", "seed", "out", "threads", NULL};
    cert_cli_opts o;
    cert_cli_defaults(&o);
    o.rtol = 1e-2;
    int st = cert_cli_parse(cmd, argc, argv, allowed, help, &o);
    if (st >= 0) return st;
    if (o.norm != NORM_INF && o.norm != NORM_2) return cli_usage_error(cmd, "--norm must be inf or 2 for PGD");
    if (isnan(o.eps) == !o.attack_search) return cli_usage_error(cmd, "give exactly one of --eps E and --search");
    if ((st = cli_set_threads(cmd, o.threads)) >= 0) return st;
    nn_model m;
    nn_dataset ds;
    st = cert_cli_load(cmd, &o, (size_t)o.start, (size_t)o.count, &m, &ds);
    if (st >= 0) return st;

    nn_error err;
    nn_error_clear(&err);
    int rc = CLI_EXIT_FAIL;
    size_t in = model_input_size(&m), k = model_output_size(&m);
    char sha[65] = "";
    char *cmdline = cert_cli_command_line(argc, argv);
    double *x_adv = malloc(in * sizeof *x_adv), *logits = malloc(k * sizeof *logits);
    h5_table *t = NULL;
    if (!cmdline || !x_adv || !logits) {
        fprintf(stderr, "nncert %s: out of memory\n", cmd);
        goto done;
    }
    if (model_file_sha256(o.model, sha, &err)) {
        cli_report(cmd, &err);
        goto done;
    }
    h5_attr attrs[] = {
        {"kind", "attack", 0, 0},
        {"model", o.model, 0, 0},
        {"model_sha256", sha, 0, 0},
        {"data", o.data, 0, 0},
        {"command_line", cmdline, 0, 0},
        {"method", "pgd", 0, 0},
        {"norm", norm_name(o.norm), 0, 0},
        {"eps", NULL, o.eps, 0},
        {"search", o.attack_search ? "bisect" : "fixed-eps", 0, 0},
        {"rtol", NULL, o.rtol, 0},
        {"steps", NULL, o.steps, 1},
        {"restarts", NULL, o.restarts, 1},
        {"step_size", NULL, o.step_size > 0 ? o.step_size : 2.5 / o.steps, 0},
        {"seed", NULL, (double)o.seed, 1},
        {"threads", NULL, o.threads, 1},
        {NULL, NULL, 0, 0}, {NULL, NULL, 0, 0},   /* room for --mean/--std */
    };
    char *norm_text[2];
    int n_attrs = cert_cli_norm_attrs(&o, attrs, (int)(sizeof attrs / sizeof attrs[0]) - 2, norm_text);
    const h5_column cols[] = {
        {"index", H5COL_INT, 1},     {"label", H5COL_INT, 1},     {"prediction", H5COL_INT, 1},
        {"status", H5COL_INT, 1},    {"eps", H5COL_DOUBLE, 1},    {"lo", H5COL_DOUBLE, 1},
        {"dist", H5COL_DOUBLE, 1},   {"adv_class", H5COL_INT, 1}, {"margin", H5COL_DOUBLE, 1},
        {"runs", H5COL_INT, 1},      {"seconds", H5COL_DOUBLE, 1}, {"x_adv", H5COL_DOUBLE, in},
        {"logits", H5COL_DOUBLE, k},
    };
    int crc = h5_table_create(&t, o.out, attrs, n_attrs, cols, (int)(sizeof cols / sizeof cols[0]), &err);
    free(norm_text[0]);
    free(norm_text[1]);
    if (crc) {
        cli_report(cmd, &err);
        goto done;
    }
    h5_attr legend = {"status_names", "0=counterexample,1=none_found,2=misclassified", 0, 0};
    if (h5_table_attr(t, &legend, &err)) {
        cli_report(cmd, &err);
        goto done;
    }
    attack_options ao;
    attack_options_default(&ao, o.norm);
    ao.steps = o.steps;
    ao.restarts = o.restarts;
    ao.step_size = o.step_size;
    cert_search_options so;
    cert_search_options_default(&so, o.norm, in);
    so.rtol = o.rtol;
    long found = 0, none = 0, miscl = 0;
    double sum_eps = 0, t0 = nn_wall_seconds();
    for (size_t i = 0; i < ds.n; i++) {
        double t1 = nn_wall_seconds();
        const double *x = ds.images + i * in;
        long index = (long)(ds.first + i);
        attack_result r;
        memset(&r, 0, sizeof r);
        if (forward_run(&m, x, 1, logits, &err)) {
            cli_report(cmd, &err);
            goto done;
        }
        int pred = forward_argmax(logits, k), status;
        if (pred != ds.labels[i]) {
            status = 2, miscl++;
            r.eps = r.lo = r.dist = r.margin = NAN, r.adv_class = pred;
            memcpy(x_adv, x, in * sizeof *x);
        } else {
            ao.seed = o.seed ^ (0x9E3779B97F4A7C15ull * (uint64_t)(index + 1));
            int arc = o.attack_search ? attack_pgd_search(&m, &ao, &so, x, pred, x_adv, logits, &r, &err)
                                      : attack_pgd(&m, &ao, x, pred, o.eps, x_adv, logits, &r, &err);
            if (arc) {
                cli_report(cmd, &err);
                goto done;
            }
            status = r.success ? 0 : 1;
            if (r.success) found++, sum_eps += r.eps, so.guess = r.eps;   /* warm start the next image */
            else none++;
            if (!r.success) {   /* no counterexample: store NaN rows, never a fake one */
                for (size_t j = 0; j < in; j++) x_adv[j] = NAN;
                for (size_t j = 0; j < k; j++) logits[j] = NAN;
            }
        }
        int64_t iv[6] = {index, ds.labels[i], pred, status, r.adv_class, r.runs};
        double dv[5] = {r.eps, r.lo, r.dist, r.margin, nn_wall_seconds() - t1};
        const void *data[] = {&iv[0], &iv[1], &iv[2], &iv[3], &dv[0], &dv[1], &dv[2], &iv[4], &dv[3], &iv[5],
                              &dv[4], x_adv, logits};
        if (h5_table_append(t, data, 1, &err)) {
            cli_report(cmd, &err);
            goto done;
        }
    }
    printf("images %zu: counterexample %ld, none found %ld, misclassified %ld\n", ds.n, found, none, miscl);
    if (o.attack_search)
        printf("mean smallest successful eps (%s): %.6g over %ld images\n", norm_name(o.norm),
               found ? sum_eps / (double)found : 0.0, found);
    else
        printf("attack success rate at eps %g (%s): %.4f of correctly classified\n", o.eps, norm_name(o.norm),
               found + none ? (double)found / (double)(found + none) : 0.0);
    printf("total %.3f s\n", nn_wall_seconds() - t0);
    rc = CLI_EXIT_OK;
done:
    if (t && h5_table_close(t, &err) && rc == CLI_EXIT_OK) rc = cli_report(cmd, &err);
    free(cmdline), free(x_adv), free(logits);
    dataset_free(&ds);
    model_free(&m);
    return rc;
}
