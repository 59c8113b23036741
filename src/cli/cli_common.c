/* Option parsing and error printing shared by the subcommands. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "blas_threads.h"
#include "dataset.h"
#include "file_guard.h"

int cli_report(const char *cmd, const nn_error *err)
{
    fprintf(stderr, "nncert %s: %s\n", cmd, err->msg[0] ? err->msg : nn_code_name(err->code));
    return CLI_EXIT_FAIL;
}

int cli_guard_output(const char *cmd, const char *out, const char *model, const char *data, const char *job_file)
{
    nn_error err;
    nn_error_clear(&err);
    char *images = NULL, *labels = NULL;
    /* a data spec that does not resolve is reported when the data are loaded */
    if (data && dataset_files(data, &images, &labels, &err)) nn_error_clear(&err);
    const file_input in[] = {{"model", model}, {"data file", images}, {"label file", labels}, {"job file", job_file}};
    int rc = file_guard_check(out, in, (int)(sizeof in / sizeof in[0]), &err);
    free(images);
    free(labels);
    return rc ? cli_report(cmd, &err) : -1;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "nncert %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'nncert %s --help'.\n", cmd);
    return CLI_EXIT_USAGE;
}

int cli_parse_int(const char *cmd, const char *opt, const char *text, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || end == text || *end != '\0' || v < lo || v > hi) {
        cli_usage_error(cmd, "%s expects an integer in [%ld, %ld], got '%s'", opt, lo, hi, text);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_parse_double(const char *cmd, const char *opt, const char *text, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (errno || end == text || *end != '\0' || !isfinite(v)) {
        cli_usage_error(cmd, "%s expects a finite number, got '%s'", opt, text);
        return -1;
    }
    *out = v;
    return 0;
}

sched_env cli_local_env(void) { return (sched_env){0, 1, 1, 1}; }

int cli_set_threads(const char *cmd, int threads)
{
    nn_error err;
    nn_error_clear(&err);
    if (blas_threads_set(threads, &err)) return cli_usage_error(cmd, "--threads: %s", err.msg);
    sched_env env = cli_local_env();
    cli_warn_oversubscribed(cmd, &env, threads);
    return -1;
}

void cli_warn_oversubscribed(const char *cmd, const sched_env *env, int threads)
{
    int node_workers, node_cpus, quota = blas_cpu_quota(), own = blas_cpus_available();
    sched_node_workers(env, &node_workers, &node_cpus);
    if (quota > 0 && quota < node_cpus) node_cpus = quota;
    /* each rank words its own finding; sched_agree hands the lowest rank's to all */
    nn_error e;
    nn_error_clear(&e);
    int bad = NN_OK;
    if (env->is_worker && (long)node_workers * threads > node_cpus) {
        if (env->size == 1)
            bad = nn_fail(&e, NN_EVALUE, "%d BLAS threads but %d CPU(s) available (affinity, cgroup quota): GEMMs "
                          "will wait for cores; use --threads %d or fewer", threads, node_cpus, node_cpus);
        else
            bad = nn_fail(&e, NN_EVALUE, "%d worker rank(s) x %d BLAS thread(s) = %ld threads on the node of rank "
                          "%d, which has %d CPU(s) available (affinity, cgroup quota): GEMMs will wait for cores; "
                          "lower --threads or the ranks per node", node_workers, threads,
                          (long)node_workers * threads, env->rank, node_cpus);
    } else if (env->is_worker && threads > own) {
        bad = nn_fail(&e, NN_EVALUE, "rank %d may run on %d CPU(s) (its affinity, e.g. mpirun's binding) but has %d "
                      "BLAS threads; bind it to more cores (mpirun --bind-to none or --map-by ...:PE=%d) or lower "
                      "--threads", env->rank, own, threads, threads);
    }
    if (sched_agree(env, bad, &e) && env->is_master) fprintf(stderr, "nncert %s: warning: %s\n", cmd, e.msg);
}

int cli_mkdir_p(const char *dir)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", dir);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(buf, 0755) && errno != EEXIST) return -1;
            *p = '/';
        }
    return mkdir(buf, 0755) && errno != EEXIST ? -1 : 0;
}
