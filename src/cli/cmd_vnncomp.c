/* 'nncert vnncomp': every instance of a VNN-COMP benchmark (instances.csv) as a
 * work unit of the MPI scheduler, with a journal to resume from, into a CSV of
 * (onnx, vnnlib, result, seconds) and a summary (doc/verify.md "Benchmarks"). */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blas_threads.h"
#include "cert_cli.h"
#include "instances.h"
#include "model_io.h"
#include "nn_clock.h"
#include "vnncomp_app.h"

static const char *const cmd = "vnncomp";

static void help(void)
{
    printf("usage: [mpirun -np N] nncert vnncomp --instances DIR/instances.csv --out R.csv [options]\n\n"
           "Runs every instance of a VNN-COMP benchmark: instances.csv has one line\n"
           "onnx,vnnlib,timeout per instance, paths relative to its folder (.onnx and\n"
           ".vnnlib, gzip-compressed or not). Each instance is one task of the MPI\n"
           "scheduler, answered as 'nncert verify' does with the instance's timeout.\n\n"
           "options:\n"
           "  --instances F         the benchmark's instances.csv\n"
           "  --out R.csv           onnx,vnnlib,result,seconds per instance, in the file's\n"
           "                        order; result is unsat, sat, unknown, timeout or error\n"
           "                        (the reason on stderr); R.csv.journal keeps every answer\n"
           "                        as it arrives: a run that stops resumes where it was\n"
           "  --h5 R.h5             the same table as an HDF5 results file (default: R.csv\n"
           "                        with .h5 for .csv)\n"
           "  --force-new           start afresh instead of resuming from R.csv.journal\n"
           "                        (and the snapshots in R.csv.bab)\n"
           "  --method M, --lines, --maxpool, --precision, --frown-*, --no-skip-stable,\n"
           "  --no-intersect-ibp, --steps, --restarts, --seed, --lp-cuts,\n"
           "  --milp-time-limit     as in 'nncert verify'\n"
           "  --threads N           BLAS threads per rank (default 1)\n"
           "  --bab, --bab-*        branch and bound per instance, as in 'nncert verify'\n"
           "  --checkpoint-every S  --bab: seconds between snapshots of an instance's\n"
           "                        search (default 60; 0: every round) in\n"
           "                        R.csv.bab/instance-<i>.ckpt, written by the leader\n"
           "                        of the instance's group: a rerun resumes a killed\n"
           "                        search there (a folder every rank can read)\n"
           "  --ranks-per-instance N  worker ranks that verify one instance together,\n"
           "                        splitting its branch-and-bound rounds (default 1;\n"
           "                        0: all); answers and search trees do not depend on it\n"
           "  --drain-seconds S     after a stop signal, wait up to S s (default 60) for\n"
           "                        the instances in flight\n\n"
           "SIGUSR1, SIGTERM or SIGINT (to mpirun, or to nncert in a one-process run) stop\n"
           "the run early: no new instance starts, the ones in flight finish (or are\n"
           "given up after the drain time), their answers are journaled; R.csv is\n"
           "written only when every instance is answered, so rerun the same command.\n\n"
           "A progress line goes to stderr; the summary (counts of each answer) to\n"
           "stdout. exit status: 0 when every instance was answered (errors included,\n"
           "1 when some instance is an error), 1 on failures, 2 on usage errors, 75\n"
           "when stopped by a signal.\n");
}

/* Every rank parses the same argv; the master also prints usage errors. */
static int parse(int argc, char **argv, const char **csv, const char **out, char **h5, int *force_new,
                 double *drain, cert_cli_opts *o, bab_options *bab, int *ranks)
{
    static const char *const allowed[] = {"method", "lines", "maxpool", "precision", "frown-group", "frown-iters",
                                          "frown-lr", "frown-patience", "frown-threshold", "frown-beta", "frown-layers",
                                          "frown-warm", "no-skip-stable", "no-intersect-ibp", "steps", "restarts",
                                          "seed", "threads", "lp-cuts", "milp-time-limit", NULL};
    static const char *const own[] = {"instances", "out", "!force-new", "drain-seconds", "h5", CERT_CLI_BAB_NAMES,
                                      "ranks-per-instance", NULL};
    const char *val[6 + CERT_CLI_BAB_N];
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    if (!rest) return cli_report(cmd, &(nn_error){NN_ENOMEM, "out of memory"});
    int n_rest, st = cert_cli_take(cmd, argc, argv, own, val, rest, &n_rest);
    cert_cli_defaults(o);
    if (st < 0) st = cert_cli_parse(cmd, n_rest, rest, allowed, help, o);
    free(rest);
    if (st >= 0) return st;
    *csv = val[0], *out = val[1], *force_new = val[2] != NULL;
    if (!*csv) return cli_usage_error(cmd, "--instances is required");
    if (!*out) return cli_usage_error(cmd, "--out is required");
    bab_options_default(bab);
    /* every instance has its timeout: no domain limit unless given */
    if ((st = cert_cli_bab(cmd, val + 5, 1, o->bopt.method, bab)) >= 0) return st;
    long rpi = 1;
    if (val[5 + CERT_CLI_BAB_N] &&
        cli_parse_int(cmd, "--ranks-per-instance", val[5 + CERT_CLI_BAB_N], 0, 1L << 20, &rpi))
        return CLI_EXIT_USAGE;
    *ranks = (int)rpi;
    *drain = 60;
    if (val[3] && (cli_parse_double(cmd, "--drain-seconds", val[3], drain) || *drain < 0))
        return *drain < 0 ? cli_usage_error(cmd, "--drain-seconds must be >= 0, got '%s'", val[3]) : CLI_EXIT_USAGE;
    /* R.h5 beside R.csv unless --h5 names it */
    size_t n = strlen(*out), len = val[4] ? strlen(val[4]) : n;
    int csv_suffix = n > 4 && !strcmp(*out + n - 4, ".csv");
    if (!(*h5 = malloc(len + 4))) return cli_report(cmd, &(nn_error){NN_ENOMEM, "out of memory"});
    if (val[4]) memcpy(*h5, val[4], len + 1);
    else snprintf(*h5, len + 4, "%.*s.h5", (int)(csv_suffix ? n - 4 : n), *out);
    if (!strcmp(*h5, *out)) return cli_usage_error(cmd, "--h5 and --out name the same file '%s'", *out);
    int guard = cli_guard_output(cmd, *out, NULL, NULL, *csv);
    return guard >= 0 ? guard : cli_guard_output(cmd, *h5, NULL, NULL, *csv);
}

int cmd_vnncomp(int argc, char **argv)
{
    nn_error err;
    nn_error_clear(&err);
    sched_env env;
    if (sched_init(&argc, &argv, &env, &err)) return cli_report(cmd, &err);
    const char *csv = NULL, *out = NULL;
    int force_new = 0, status = -1;
    double drain = 60;
    char identity[1024] = "", ckpt_identity[1600] = "", ckpt_dir[4200] = "", *h5 = NULL;
    cert_cli_opts o;
    bab_options bab;
    int ranks = 1;
    instances in;
    vnncomp_app a;
    memset(&in, 0, sizeof in);
    memset(&a, 0, sizeof a);
    int64_t *tasks = NULL;
    size_t n_tasks = 0;
    double t0 = nn_wall_seconds();
    if (env.is_master) status = parse(argc, argv, &csv, &out, &h5, &force_new, &drain, &o, &bab, &ranks);
    sched_bcast_int(&env, &status);
    if (status >= 0) goto done;
    /* the same argv as the master's, which parsed without complaint */
    if (!env.is_master) status = parse(argc, argv, &csv, &out, &h5, &force_new, &drain, &o, &bab, &ranks);
    prop_options po;
    prop_options_default(&po);
    po.bopt = o.bopt;
    po.steps = o.steps, po.restarts = o.restarts, po.seed = o.seed;
    po.bab = bab;
    int rc = status >= 0 ? nn_fail(&err, NN_EARG, "rank %d parsed the arguments differently", env.rank) : NN_OK;
    if (!rc) rc = blas_threads_set(o.threads, &err);
    if (!rc) rc = instances_read(csv, &in, &err);
    if (!rc) rc = vnncomp_app_init(&a, &in, &po, &err);
    if (!rc) {
        /* the job: which instances (the list's bytes), how they are answered */
        char sha[65], bab_id[160], bound_id[512];
        rc = model_file_sha256(csv, sha, &err);
        cert_cli_bab_identity(&po.bab, bab_id, sizeof bab_id);
        /* MILP's per-row limit decides answers too (a row cut short stays open) */
        char milp_id[64] = "";
        if (po.bopt.method == METHOD_MILP) snprintf(milp_id, sizeof milp_id, " milp_time_limit=%g", po.bopt.milp_time_limit);
        snprintf(identity, sizeof identity, "nncert vnncomp: instances sha256=%s method=%s%s steps=%d restarts=%d "
                 "seed=%llu%s%s", sha, bound_method_name(po.bopt.method), milp_id, po.steps, po.restarts,
                 (unsigned long long)po.seed, po.bab.enabled ? " " : "", po.bab.enabled ? bab_id : "");
        /* a snapshot holds bound bits: every option that shapes them */
        cert_cli_bound_identity(&po.bopt, bound_id, sizeof bound_id);
        snprintf(ckpt_identity, sizeof ckpt_identity, "%s %s", identity, bound_id);
        snprintf(ckpt_dir, sizeof ckpt_dir, "%s.bab", out);
        if (po.bab.enabled) {
            a.ckpt_dir = ckpt_dir, a.ckpt_identity = ckpt_identity;
            const char *kill_snap = getenv("NNCERT_TEST_KILL_AFTER_SNAPSHOTS");  /* tests/cli_bab_checkpoint.sh */
            a.ckpt_kill_after = kill_snap ? strtol(kill_snap, NULL, 10) : 0;
        }
    }
    if (!rc && env.is_master) {
        char journal_path[4096];
        snprintf(journal_path, sizeof journal_path, "%s.journal", out);
        if (!rc) rc = vnncomp_app_open_journal(&a, journal_path, identity, force_new, &err);
        if (!rc && a.ckpt_dir && mkdir(ckpt_dir, 0755) && errno != EEXIST)
            rc = nn_fail(&err, NN_EIO, "cannot create %s (branch and bound's checkpoints): %s", ckpt_dir,
                         strerror(errno));
        if (!rc && force_new) rc = vnncomp_app_clear_checkpoints(&a, &err);
        /* test hook of tests/cli_vnncomp.sh: a kill -9 after this many journaled answers */
        const char *kill_after = getenv("NNCERT_TEST_KILL_AFTER_INSTANCES");
        if (kill_after) a.kill_after = strtol(kill_after, NULL, 10);
        tasks = rc ? NULL : malloc(in.n * sizeof *tasks);
        if (!rc && !tasks) rc = nn_fail(&err, NN_ENOMEM, "out of memory for %zu tasks", in.n);
        for (size_t i = 0; !rc && i < in.n; i++)
            if (!a.done[i]) tasks[n_tasks++] = (int64_t)i;
        if (!rc) sched_progress_init(&a.progress, stderr, isatty(2), 10.0, (long)in.n, (long)(in.n - n_tasks));
    }
    rc = sched_agree(&env, rc, &err);
    sched_options so = {ranks, 2, cli_catch_stop_signals(), drain};
    sched_app app = vnncomp_app_callbacks(&a);
    long abandoned;
    rc = cli_sched_run(cmd, &env, &so, &app, o.threads, rc, tasks, n_tasks, &abandoned, &status, &err);
    if (status >= 0) goto done;
    if (env.is_master) {
        if (rc == NN_EINTERRUPTED) { /* the journal holds every answer so far; the CSV waits for all */
            fprintf(stderr, "nncert %s: %s: %s\n", cmd, cli_stop_signal_name(), err.msg);
            if (abandoned && env.size > 1) sched_abort(&env, CLI_EXIT_INTERRUPTED);
            status = CLI_EXIT_INTERRUPTED;
            goto done;
        }
        if (rc == NN_ELOST) {  /* every answer so far is journaled: a rerun resumes */
            cli_report(cmd, &err);
            sched_abort(&env, CLI_EXIT_INTERRUPTED);
        }
        if (rc || vnncomp_app_write_csv(&a, out, &err) || vnncomp_app_write_h5(&a, h5, identity, &err)) {
            cli_report(cmd, &err);
            if (rc && env.size > 1) sched_abort(&env, CLI_EXIT_FAIL);
            status = CLI_EXIT_FAIL;
            goto done;
        }
        printf("instances %zu: unsat %ld, sat %ld, unknown %ld, timeout %ld, error %ld\n", in.n, a.counts[PROP_UNSAT],
               a.counts[PROP_SAT], a.counts[PROP_UNKNOWN], a.counts[PROP_TIMEOUT], a.counts[VNNCOMP_ERROR]);
        if (a.recovered) printf("resumed: %zu instances were answered by earlier runs\n", a.recovered);
        printf("total %.3f s; results in %s and %s\n", nn_wall_seconds() - t0, out, h5);
        status = a.counts[VNNCOMP_ERROR] ? CLI_EXIT_FAIL : CLI_EXIT_OK;
    } else {
        /* a worker learns of a stop only as the end of its tasks */
        status = so.stop && *so.stop ? CLI_EXIT_INTERRUPTED : CLI_EXIT_OK;
    }
done:
    vnncomp_app_free(&a);
    instances_free(&in);
    free(tasks);
    free(h5);
    sched_finalize();
    return status;
}
