/* 'nncert sweep': expand a sweep definition (jobs/NAME.ini) into one certify config
 * per run plus a manifest, for a SLURM job array or any loop over runs.
 *
 * A sweep file is a certify config (any [job], [bound], ... key, or a `base`
 * config they override) with a [sweep] section of grid axes: models, methods and
 * norms (lists) and an image range cut into runs of images_per_run images. Runs
 * are the product model x method x norm x image chunk, in that nesting order.
 * Every generated config is resolved like 'nncert certify' would, so a bad
 * value fails here, before anything is submitted. */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cert_job.h"
#include "file_guard.h"

static const char *const cmd = "sweep";

static const job_key sweep_keys[] = {
    {"sweep", "name", JOB_STR, NULL, 0},
    {"sweep", "base", JOB_STR, NULL, 0},
    {"sweep", "models", JOB_STR, NULL, 0},
    {"sweep", "methods", JOB_STR, NULL, 0},
    {"sweep", "norms", JOB_STR, NULL, 0},
    {"sweep", "images", JOB_STR, NULL, 0},
    {"sweep", "images_per_run", JOB_INT, "0", 0},
    {"sweep", "results", JOB_STR, NULL, 0},
};
#define N_SWEEP ((int)(sizeof sweep_keys / sizeof sweep_keys[0]))

static void help(void)
{
    printf("usage: nncert sweep --jobs SWEEP.ini --out-dir DIR [--results DIR]\n\n"
           "Expands a sweep definition into DIR/NNNN-<model>-<method>-<norm>-<start>.ini, one\n"
           "certify config per run, and DIR/manifest.tsv (a header line, then one line per\n"
           "run: id, config, results file, model, method, norm, start, count), and creates\n"
           "the results folder. Submit them with:\n"
           "  sbatch --array=1-N slurm/sweep.sbatch DIR/manifest.tsv\n\n"
           "[sweep] keys (every other section is a certify config, see configs/crown.ini):\n"
           "  name = S             names the runs and the default results folder\n"
           "  base = F.ini         config the sweep's own keys override (optional)\n"
           "  models = A, B        models (default: [job] model)\n"
           "  methods = crown, ibp methods (default: [bound] method)\n"
           "  norms = inf, 2       norms (default: [bound] norm)\n"
           "  images = 0-9999      image range (default: [job] start and count)\n"
           "  images_per_run = K   images per run (default 0: the whole range)\n"
           "  results = DIR        folder of the results files (default results/<name>)\n\n"
           "options:\n"
           "  --jobs F             the sweep definition\n"
           "  --out-dir DIR        where the configs and the manifest go (created)\n"
           "  --results DIR        folder of the results files, over [sweep] results\n"
           "  -h, --help           this help\n\n"
           "exit status: 0 on success, 1 when a file cannot be written, 2 on usage or\n"
           "config errors (nothing is written then).\n");
}

/* Split "a, b c" into items (malloc'd array of pointers into a malloc'd copy). */
static int split_list(const char *text, char **copy, char ***items, int *n)
{
    *n = 0;
    *items = NULL;
    if (!(*copy = strdup(text))) return -1;
    size_t len = strlen(*copy);
    if (!(*items = calloc(len / 2 + 2, sizeof **items))) return -1;
    for (char *tok = strtok(*copy, ", \t\n"); tok; tok = strtok(NULL, ", \t\n")) (*items)[(*n)++] = tok;
    return 0;
}

static const char *stem(const char *path, char *buf, size_t size)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    snprintf(buf, size, "%s", b);
    char *dot = strrchr(buf, '.');
    if (dot && dot != buf) *dot = '\0';
    for (char *p = buf; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-') *p = '_';
    return buf;
}

typedef struct {
    char *copy;
    char **v;
    int n;
} list;

/* The axis from its [sweep] key, else the single value of the config key. */
static int axis(job *j, const char *sweep_key, const char *key, list *l)
{
    const char *v = job_value(j, sweep_key);
    if (!v) v = job_value(j, key);
    if (!v || split_list(v, &l->copy, &l->v, &l->n) || l->n == 0) return -1;
    return 0;
}

/* Where a run's value came from: the [sweep] axis key, else the config key. */
static const char *origin_of(const job *j, const char *sweep_key, const char *key)
{
    int i = job_find(j, sweep_key);
    if (i >= 0 && j->origin[i]) return j->origin[i];
    i = job_find(j, key);
    return i >= 0 && j->origin[i] ? j->origin[i] : "default";
}

int cmd_sweep(int argc, char **argv)
{
    const char *jobs = NULL, *out_dir = NULL, *results_opt = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            help();
            return CLI_EXIT_OK;
        }
        const char **dst = !strcmp(argv[i], "--jobs")      ? &jobs
                           : !strcmp(argv[i], "--out-dir") ? &out_dir
                           : !strcmp(argv[i], "--results") ? &results_opt
                                                           : NULL;
        if (!dst) return cli_usage_error(cmd, "unknown option '%s'", argv[i]);
        if (i + 1 >= argc) return cli_usage_error(cmd, "%s needs a value", argv[i]);
        *dst = argv[++i];
    }
    if (!jobs) return cli_usage_error(cmd, "--jobs is required");
    if (!out_dir) return cli_usage_error(cmd, "--out-dir is required");

    const job_key *ckeys;
    int nc = cert_job_schema(&ckeys);
    job_key *keys = calloc((size_t)(nc + N_SWEEP), sizeof *keys);
    if (!keys) return cli_report(cmd, &(nn_error){NN_ENOMEM, "out of memory"});
    memcpy(keys, sweep_keys, sizeof sweep_keys);
    memcpy(keys + N_SWEEP, ckeys, (size_t)nc * sizeof *keys);
    nn_error err;
    nn_error_clear(&err);
    job j;
    int status = CLI_EXIT_USAGE;
    list models = {0}, methods = {0}, norms = {0};
    char **ids = NULL, **texts = NULL;
    int runs = 0;
    long total = 0;
    FILE *man = NULL;
    if (job_init(&j, keys, nc + N_SWEEP, &err) || job_load_ini(&j, jobs, &err)) {
        fprintf(stderr, "nncert %s: %s\n", cmd, err.msg);
        goto done;
    }
    const char *base = job_value(&j, "base");
    if (base && job_load_ini(&j, base, &err)) {
        fprintf(stderr, "nncert %s: %s (base of %s)\n", cmd, err.msg, jobs);
        goto done;
    }
    const char *name = job_value(&j, "name");
    if (!name) {
        fprintf(stderr, "nncert %s: %s: key 'name' is required in section [sweep]\n", cmd, jobs);
        goto done;
    }
    if (axis(&j, "models", "model", &models) || axis(&j, "methods", "method", &methods) ||
        axis(&j, "norms", "norm", &norms)) {
        fprintf(stderr, "nncert %s: %s: every run needs a model, a method and a norm ([sweep] models, methods, "
                        "norms or [job] model, [bound] method, norm)\n", cmd, jobs);
        goto done;
    }
    for (int m = 0; m < models.n; m++)
        if (access(models.v[m], R_OK)) {
            int missing = errno == ENOENT;
            job_fail(&j, job_is_set(&j, "models") ? "models" : "model", &err, NN_EIO, "cannot read model '%s': %s%s",
                     models.v[m], strerror(errno),
                     missing && strstr(models.v[m], "models/zoo/") ? " (the large zoo models are built by `make zoo`)" : "");
            fprintf(stderr, "nncert %s: %s\n", cmd, err.msg);
            goto done;
        }
    long first, last, per;
    const char *images = job_value(&j, "images");
    if (images) {
        char *end;
        first = strtol(images, &end, 10);
        last = *end == '-' ? strtol(end + 1, &end, 10) : first;
        if (*end || first < 0 || last < first) {
            job_fail(&j, "images", &err, NN_EARG, "expected a range like 0-9999, got '%s'", images);
            fprintf(stderr, "nncert %s: %s\n", cmd, err.msg);
            goto done;
        }
    } else {
        long start, count;
        if (job_get_long(&j, "start", 0, 1L << 40, &start, &err) || job_get_long(&j, "count", 0, 1L << 40, &count, &err) ||
            count == 0) {
            fprintf(stderr, "nncert %s: %s: give the images as [sweep] images = a-b or [job] start and count > 0\n",
                    cmd, jobs);
            goto done;
        }
        first = start, last = start + count - 1;
    }
    if (job_get_long(&j, "images_per_run", 0, 1L << 40, &per, &err)) {
        fprintf(stderr, "nncert %s: %s\n", cmd, err.msg);
        goto done;
    }
    if (per == 0) per = last - first + 1;
    long chunks = (last - first + per) / per;
    char results[2048];
    if (results_opt) snprintf(results, sizeof results, "%s", results_opt);
    else if (job_value(&j, "results")) snprintf(results, sizeof results, "%s", job_value(&j, "results"));
    else snprintf(results, sizeof results, "results/%s", name);
    total = (long)models.n * methods.n * norms.n * chunks;
    if (total > 1000000) {
        fprintf(stderr, "nncert %s: %s expands to %ld runs; more than 1000000 is surely a mistake\n", cmd, jobs, total);
        goto done;
    }
    ids = calloc((size_t)total, sizeof *ids);
    texts = calloc((size_t)total, sizeof *texts);
    if (!ids || !texts) {
        fprintf(stderr, "nncert %s: out of memory\n", cmd);
        goto done;
    }
    /* Every run is generated and checked before anything is written. */
    for (int m = 0; m < models.n; m++)
        for (int a = 0; a < methods.n; a++)
            for (int p = 0; p < norms.n; p++)
                for (long c = 0; c < chunks; c++, runs++) {
                    job r;
                    cert_job cj;
                    memset(&cj, 0, sizeof cj);
                    if (job_init(&r, ckeys, nc, &err)) goto report;
                    for (int k = 0; k < nc; k++) {
                        int src = job_find(&j, ckeys[k].key);
                        if (j.value[src] && job_set(&r, ckeys[k].key, j.value[src], j.origin[src], &err)) goto run_error;
                    }
                    long start = first + c * per, count = start + per - 1 > last ? last - start + 1 : per;
                    char sbuf[32], cbuf[32], mstem[256], out[3072], id[512];
                    snprintf(sbuf, sizeof sbuf, "%ld", start);
                    snprintf(cbuf, sizeof cbuf, "%ld", count);
                    snprintf(id, sizeof id, "%04d-%s-%s-%s-%06ld", runs + 1, stem(models.v[m], mstem, sizeof mstem),
                             methods.v[a], norms.v[p], start);
                    snprintf(out, sizeof out, "%s/%s.h5", results, id);
                    if (job_set(&r, "model", models.v[m], origin_of(&j, "models", "model"), &err) ||
                        job_set(&r, "method", methods.v[a], origin_of(&j, "methods", "method"), &err) ||
                        job_set(&r, "norm", norms.v[p], origin_of(&j, "norms", "norm"), &err) ||
                        job_set(&r, "start", sbuf, origin_of(&j, "images", "start"), &err) ||
                        job_set(&r, "count", cbuf, origin_of(&j, "images_per_run", "count"), &err) ||
                        job_set(&r, "out", out, origin_of(&j, "results", "out"), &err) || cert_job_resolve(&r, &cj, &err))
                        goto run_error;
                    cert_job_free(&cj);
                    char *t = job_text(&r, 0);
                    size_t tn = t ? strlen(t) + strlen(jobs) + 128 : 0;
                    texts[runs] = t ? malloc(tn) : NULL;
                    ids[runs] = strdup(id);
                    if (texts[runs])
                        snprintf(texts[runs], tn, "# run %d of %ld of sweep '%s', generated by nncert sweep from %s\n%s",
                                 runs + 1, total, name, jobs, t);
                    free(t);
                    job_free(&r);
                    if (!texts[runs] || !ids[runs]) {
                        fprintf(stderr, "nncert %s: out of memory\n", cmd);
                        goto done;
                    }
                    continue;
                run_error:
                    cert_job_free(&cj);
                    job_free(&r);
                report:
                    fprintf(stderr, "nncert %s: run %d (%s, %s, %s, images from %ld): %s\n", cmd, runs + 1,
                            models.v[m], methods.v[a], norms.v[p], first + c * per, err.msg);
                    goto done;
                }
    status = CLI_EXIT_FAIL;
    /* the sweep file or its base may sit in DIR under a name the sweep writes */
    const file_input inputs[] = {{"sweep file", jobs}, {"base config", base}};
    int clash = file_guard_check_in(out_dir, "manifest.tsv", inputs, 2, &err);
    for (int k = 0; !clash && k < runs; k++) {
        char ini[600];
        snprintf(ini, sizeof ini, "%s.ini", ids[k]);
        clash = file_guard_check_in(out_dir, ini, inputs, 2, &err);
    }
    if (clash) {
        status = cli_report(cmd, &err);
        goto done;
    }
    char path[4096];
    const char *dirs[2] = {out_dir, results};
    for (int d = 0; d < 2; d++)
        if (cli_mkdir_p(dirs[d])) {
            fprintf(stderr, "nncert %s: cannot create %s: %s\n", cmd, dirs[d], strerror(errno));
            goto done;
        }
    snprintf(path, sizeof path, "%s/manifest.tsv", out_dir);
    if (!(man = fopen(path, "w"))) {
        fprintf(stderr, "nncert %s: cannot write %s: %s\n", cmd, path, strerror(errno));
        goto done;
    }
    fprintf(man, "id\tconfig\tout\tmodel\tmethod\tnorm\tstart\tcount\n");
    int r = 0;
    for (int m = 0; m < models.n; m++)
        for (int a = 0; a < methods.n; a++)
            for (int p = 0; p < norms.n; p++)
                for (long c = 0; c < chunks; c++, r++) {
                    char cfg[4096];
                    snprintf(cfg, sizeof cfg, "%s/%s.ini", out_dir, ids[r]);
                    FILE *f = fopen(cfg, "w");
                    if (!f || fputs(texts[r], f) < 0 || fclose(f)) {
                        fprintf(stderr, "nncert %s: cannot write %s: %s\n", cmd, cfg, strerror(errno));
                        goto done;
                    }
                    long start = first + c * per, count = start + per - 1 > last ? last - start + 1 : per;
                    fprintf(man, "%s\t%s\t%s/%s.h5\t%s\t%s\t%s\t%ld\t%ld\n", ids[r], cfg, results, ids[r],
                            models.v[m], methods.v[a], norms.v[p], start, count);
                }
    if (fclose(man)) {
        man = NULL;
        fprintf(stderr, "nncert %s: cannot write %s: %s\n", cmd, path, strerror(errno));
        goto done;
    }
    man = NULL;
    printf("%s: %d runs (%d models x %d methods x %d norms x %ld image ranges) in %s\n", name, runs, models.n,
           methods.n, norms.n, chunks, path);
    printf("submit: sbatch --array=1-%d slurm/sweep.sbatch %s\n", runs, path);
    status = CLI_EXIT_OK;
done:
    if (man) fclose(man);
    for (long i = 0; ids && texts && i < total; i++) free(ids[i]), free(texts[i]);
    free(ids);
    free(texts);
    free(models.copy), free(models.v), free(methods.copy), free(methods.v), free(norms.copy), free(norms.v);
    job_free(&j);
    free(keys);
    return status;
}
