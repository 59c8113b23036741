/* 'nncert certify --reverify R.h5': every certificate of a results file checked
 * again (src/app/cert_check.c, doc/radius.md "Certificates"), one line per
 * task and a summary; the exit status says whether all were verified with the
 * search's bits. One process: the check has no scheduler. */
#include "cli.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cert_check.h"
#include "cert_cli.h"
#include "nn_clock.h"

static const char *const cmd = "certify";

static void help(void)
{
    printf("usage: nncert certify --reverify R.h5 [--model M] [--data D] [--images L]\n\n"
           "Checks every saved certificate of a certify results file again (the job ran\n"
           "with save_certificates, --save-certificates all or a list of images): the\n"
           "bound evaluations each task's search made up to its radius are replayed from\n"
           "a fresh state with the file's job (method, options, threads), and the margin\n"
           "lower bound at the radius is recomputed. One line per task:\n"
           "  verified      the recomputed margin is > 0: the radius is certified again,\n"
           "                whatever else the file says\n"
           "  identical     the margin and every row bound have the bits the search\n"
           "                computed (else: differs)\n\n"
           "options:\n"
           "  --model M     the model (default: the file's path); its SHA-256 must be the\n"
           "                file's model_sha256\n"
           "  --data D      the data set (default: the file's); each image must hash to\n"
           "                the certificate's image_hash\n"
           "  --images L    only these images (e.g. 0-9,17; default: every certificate)\n\n"
           "exit status: 0 when every certificate checked is verified and identical, 1\n"
           "when one is not, is refused (it does not belong to its /results row or the\n"
           "data's image) or the file, model or data cannot be used, 2 on usage errors.\n");
}

/* --images L as a sorted list (the job machinery's list syntax). */
static int parse_images(const char *text, long **v, size_t *n)
{
    static const job_key schema[] = {{"check", "images", JOB_LIST, NULL, 0}};
    job j;
    nn_error err;
    nn_error_clear(&err);
    int rc = job_init(&j, schema, 1, &err);
    if (!rc) rc = job_set(&j, "images", text, "--images", &err);
    if (!rc) rc = job_get_list(&j, "images", v, n, &err);
    job_free(&j);
    return rc ? cli_usage_error(cmd, "%s", err.msg) : -1;
}

static int wanted(const long *v, size_t n, long index)
{
    if (!v) return 1;
    for (size_t i = 0; i < n; i++)
        if (v[i] == index) return 1;
    return 0;
}

int cmd_certify_reverify(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            help();
            return CLI_EXIT_OK;
        }
    static const char *const own[] = {"reverify", "model", "data", "images", NULL};
    const char *val[4];
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    if (!rest) return cli_report(cmd, &(nn_error){NN_ENOMEM, "out of memory"});
    int n_rest, st = cert_cli_take(cmd, argc, argv, own, val, rest, &n_rest);
    const char *extra = n_rest > 1 ? rest[1] : NULL;
    free(rest);
    if (st >= 0) return st;
    if (extra) return cli_usage_error(cmd, "--reverify takes only --model, --data and --images, not '%s'", extra);
    if (!val[0] || !*val[0]) return cli_usage_error(cmd, "--reverify needs a results file");
    long *images = NULL;
    size_t n_images = 0;
    if (val[3] && (st = parse_images(val[3], &images, &n_images)) >= 0) return st;

    nn_error err;
    nn_error_clear(&err);
    cert_check k;
    double t0 = nn_wall_seconds();
    if (cert_check_open(&k, val[0], val[1], val[2], &err)) {
        free(images);
        return cli_report(cmd, &err);
    }
    /* what "verified" is about: the file's job, as replayed */
    const cert_job *c = &k.c;
    printf("%s: method %s, norm %s, clip %s, target %s, %s; model %s (SHA-256 as in the file), data %s\n", val[0],
           bound_method_name(c->bopt.method), norm_name(c->task.norm), c->task.clip ? "yes" : "no", c->target_text,
           c->task.fixed ? "fixed eps" : cert_search_kind_name(c->task.search.kind), c->model, c->data);
    size_t checked = 0, verified = 0, identical = 0, refused = 0, evals = 0;
    for (size_t i = 0; i < k.n; i++) {
        if (!wanted(images, n_images, k.index[i])) continue;
        cert_check_row r;
        checked++;
        if (cert_check_run(&k, i, &r, &err)) {
            refused++;
            fprintf(stderr, "nncert %s: refused: %s\n", cmd, err.msg);
            nn_error_clear(&err);
            continue;
        }
        evals += r.n_path;
        verified += (size_t)r.verified;
        identical += (size_t)r.identical;
        char bab[64] = "";
        if (r.bab_domains > 0) snprintf(bab, sizeof bab, " + branch and bound, %ld domains", r.bab_domains);
        printf("image %ld slot %d target %d radius %.17g (%zu evaluation%s%s): margin %.17g, saved %.17g: %s, %s\n",
               r.index, r.slot, r.target, r.radius, r.n_path, r.n_path == 1 ? "" : "s", bab, r.margin, r.margin_saved,
               r.verified ? "verified" : "NOT VERIFIED", r.identical ? "identical" : "differs");
    }
    printf("certificates %zu: verified %zu, not verified %zu, identical %zu, refused %zu; %zu bound evaluations, "
           "%.3f s\n", checked, verified, checked - refused - verified, identical, refused, evals,
           nn_wall_seconds() - t0);
    int ok = checked > 0 && verified == checked && identical == checked;
    if (checked == 0)
        fprintf(stderr, "nncert %s: %s has no certificate%s\n", cmd, val[0], images ? " of those images" : "");
    cert_check_close(&k);
    free(images);
    return ok ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}
