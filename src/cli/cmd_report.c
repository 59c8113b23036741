/* 'nncert report': the tables and plots people publish, from certify results
 * files or a whole sweep (its manifest), as DIR/report.md and one
 * self-contained DIR/report.html with the PNG plots beside them. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "file_guard.h"

static const char *const cmd = "report";

static void help(void)
{
    printf("usage: nncert report F.h5 [G.h5 ...] --out DIR [options]\n"
           "       nncert report --manifest DIR/manifest.tsv --out DIR [options]\n\n"
           "Writes DIR/report.md and DIR/report.html (one page, the plots embedded) and\n"
           "the plots as DIR/*.png, from certify results files:\n"
           "  - per file: model and SHA-256, method, norm, images, accuracy, certified\n"
           "    count, radius mean / quartiles / median, seconds and bound evaluations\n"
           "    per task, ranks, start and end, failures with their reasons;\n"
           "  - certified accuracy at a list of eps for every file side by side, and\n"
           "    with PGD columns (certify --attack pgd) PGD's upper bound beside it;\n"
           "  - per-image comparison of files on the same model, norm and images: wins,\n"
           "    ties, mean radius ratio;\n"
           "  - the certified / PGD ratio per image and its mean;\n"
           "  - plots: certified accuracy vs eps (PGD dashed), radius histogram,\n"
           "    certified radius vs PGD per image, seconds per task vs radius.\n"
           "With --manifest (written by 'nncert sweep') every run is one table row,\n"
           "grouped by model, method and norm; runs without results are listed as missing.\n\n"
           "options:\n"
           "  --out DIR          output folder (created)\n"
           "  --manifest M       report a sweep\n"
           "  --eps LIST         certified accuracy at these eps, e.g. 0.005,0.01,0.02\n"
           "                     (default: round values chosen from the radii)\n"
           "  --mixed-models     allow files of different models or data sets side by\n"
           "                     side (by default that is refused: their images differ)\n"
           "  -h, --help         this help\n\n"
           "exit status: 0 on success, 1 when a file cannot be read or written, or when\n"
           "a PGD or MILP counterexample lies inside a certified radius (an unsound\n"
           "certificate), 2 on usage errors.\n");
}

/* "0.005,0.01" into eps[]; usage error on anything else. */
static int parse_eps(const char *text, double *eps, size_t *n)
{
    char *copy = strdup(text);
    if (!copy) return cli_usage_error(cmd, "out of memory");
    *n = 0;
    int st = -1;
    for (char *tok = strtok(copy, ", "); tok && st < 0; tok = strtok(NULL, ", ")) {
        double v;
        if (*n == REPORT_MAX_EPS) st = cli_usage_error(cmd, "--eps: at most %d values", REPORT_MAX_EPS);
        else if (cli_parse_double(cmd, "--eps", tok, &v)) st = CLI_EXIT_USAGE;
        else if (!(v >= 0)) st = cli_usage_error(cmd, "--eps values must be >= 0, got %s", tok);
        else eps[(*n)++] = v;
    }
    if (st < 0 && *n == 0) st = cli_usage_error(cmd, "--eps needs a list of numbers, e.g. 0.005,0.01");
    free(copy);
    return st;
}

/* What the report writes into DIR must not replace a results file or the
 * manifest it reads (e.g. --out . next to a results file named report.md). */
static int guard_outputs(const char *dir, const char *manifest, const char **files, size_t n_files, nn_error *err)
{
    static const char *const written[] = {"report.md", "report.html", "certified_accuracy.png",
                                           "radius_histogram.png", "radius_vs_pgd.png", "time_vs_radius.png"};
    file_input *in = calloc(n_files + 1, sizeof *in);
    if (!in) return nn_fail(err, NN_ENOMEM, "out of memory");
    in[0] = (file_input){"manifest", manifest};
    for (size_t i = 0; i < n_files; i++) in[i + 1] = (file_input){"results file", files[i]};
    int rc = NN_OK;
    for (size_t k = 0; !rc && k < sizeof written / sizeof *written; k++)
        rc = file_guard_check_in(dir, written[k], in, (int)n_files + 1, err);
    free(in);
    return rc;
}

int cmd_report(int argc, char **argv)
{
    const char *out = NULL, *manifest = NULL;
    const char **files = calloc((size_t)argc + 1, sizeof *files);
    double eps[REPORT_MAX_EPS];
    size_t n_eps = 0, n_files = 0;
    int mixed = 0, st = -1;
    if (!files) return cli_report(cmd, &(nn_error){NN_ENOMEM, "out of memory"});
    for (int i = 1; i < argc && st < 0; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            help();
            st = CLI_EXIT_OK;
        } else if (!strcmp(a, "--mixed-models")) {
            mixed = 1;
        } else if (!strcmp(a, "--out") || !strcmp(a, "--manifest") || !strcmp(a, "--eps")) {
            if (i + 1 >= argc) st = cli_usage_error(cmd, "%s needs a value", a);
            else if (!strcmp(a, "--out")) out = argv[++i];
            else if (!strcmp(a, "--manifest")) manifest = argv[++i];
            else st = parse_eps(argv[++i], eps, &n_eps);
        } else if (!strncmp(a, "--", 2)) {
            st = cli_usage_error(cmd, "unknown option '%s'", a);
        } else {
            files[n_files++] = a;
        }
    }
    if (st < 0 && !out) st = cli_usage_error(cmd, "--out DIR is required");
    if (st < 0 && !manifest && !n_files) st = cli_usage_error(cmd, "give results files or --manifest M");
    if (st < 0 && manifest && n_files) st = cli_usage_error(cmd, "give results files or --manifest, not both");
    if (st >= 0) {
        free(files);
        return st;
    }
    nn_error err;
    nn_error_clear(&err);
    report r;
    report_init(&r);
    int rc = NN_OK;
    if (manifest) rc = report_load_manifest(&r, manifest, &err);
    for (size_t i = 0; !rc && i < n_files; i++) rc = report_add_file(&r, files[i], &err);
    if (!rc && manifest && r.n_files == 0)
        rc = nn_fail(&err, NN_EIO, "%s: none of its %zu runs has a results file yet", manifest, r.n_runs);
    if (!rc && !manifest && !mixed) rc = report_check_same_model(&r, &err);
    if (!rc) rc = guard_outputs(out, manifest, files, n_files, &err);
    if (!rc && cli_mkdir_p(out)) rc = nn_fail(&err, NN_EIO, "cannot create %s: %s", out, strerror(errno));
    if (!rc) rc = report_compute(&r, eps, n_eps, &err);
    if (!rc) rc = report_plot(&r, out, &err);
    if (!rc) rc = report_write(&r, out, &err);
    if (rc) {
        st = cli_report(cmd, &err);
    } else {
        size_t unsound = 0, milp = 0;
        for (size_t i = 0; i < r.n_series; i++) unsound += r.series[i].st.unsound, milp += r.series[i].st.milp_unsound;
        printf("%s/report.md\n%s/report.html\n", out, out);
        st = CLI_EXIT_OK;
        if (unsound) {
            fprintf(stderr, "nncert %s: UNSOUND: %zu certified rows have a PGD counterexample at or below their "
                            "certified radius (see the report's PGD section)\n", cmd, unsound);
            st = CLI_EXIT_FAIL;
        }
        if (milp) {
            fprintf(stderr, "nncert %s: UNSOUND: %zu certified rows have a MILP counterexample at or below their "
                            "certified radius (milp_eps)\n", cmd, milp);
            st = CLI_EXIT_FAIL;
        }
    }
    report_free(&r);
    free(files);
    return st;
}
