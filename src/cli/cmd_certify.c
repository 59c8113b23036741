/* 'nncert certify': certified radius (or verification at a fixed eps) per image
 * and target, one row each in an HDF5 results file; a summary on stdout.
 *
 * One code path for any number of ranks (`mpirun -np N`, or a plain process):
 * rank 0 reads the job (config file and flags), checks all of it, loads the
 * model, opens the results (refusing another job's file, recovering finished
 * tasks) and only then broadcasts the job; every rank resolves the same job
 * text, the scheduler runs the unfinished tasks (src/app/cert_app.c), and rank 0
 * writes and summarizes. With one rank, that rank is also the worker. */
#include "cli.h"
#include "blas_core.h"
#include "nn_clock.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blas_threads.h"
#include "cert_app.h"
#include "cert_cli.h"
#include "model_io.h"

static const char *const cmd = "certify";

static void help(void)
{
    printf("usage: nncert certify --model M --data D --out F.h5 [options]\n"
           "       nncert certify --config JOB.ini [options]\n"
           "       mpirun -np N nncert certify ...   (rank 0 schedules and writes, the others compute)\n\n"
           "Certified robustness radius of each image (and target) by linear bound\n"
           "propagation; misclassified images are reported and skipped. Every option is\n"
           "also a key of the config file (--row-block = row_block in its [section]);\n"
           "options given here override the file. See configs/*.ini.\n\n"
           "[job]\n"
           "  --model M          native HDF5 model, Keras 2 .h5 or .onnx\n"
           "  --data D           fashion-mnist:test|train, fashion-mnist-rgb32:test|train\n"
           "                     (3x32x32), mnist:test|train, an IDX file,\n"
           "                     cifar10:DIR[:test|:train] or npy:X.npy,labels=Y.npy\n"
           "  --mean M1,M2,...   input normalization (x - mean) / std per channel, put in\n"
           "  --std S1,S2,...    front of the model: radii stay in pixel space (default\n"
           "                     none; one value serves every channel)\n"
           "  --start S          first image (default 0)\n"
           "  --count N          images (default 0: to the end); images past the end of\n"
           "                     the data set become failed rows\n"
           "  --out F.h5         results (and F.h5.journal, which makes them resumable)\n"
           "[bound]\n"
           "  --method M         ibp|crown-ibp|lbp|crown-lbp|fastlin|crown|frown|crown-quad|\n"
           "                     lp-last|lp-all|milp (default crown; lp-greedy = fastlin;\n"
           "                     the LP methods take norms inf and 1, doc/lp.md)\n"
           "  --lines L          adaptive|tight|fastlin (default adaptive)\n"
           "  --maxpool P        tilin|deeppoly|cnncert|interval (default tilin)\n"
           "  --precision P      double (default) or single: float32 GEMMs for the\n"
           "                     intermediate layers, with a sound rounding budget\n"
           "  --norm inf|2|1     perturbation norm (default inf)\n"
           "  --clip             intersect the ball with the pixel range [0, 1]\n"
           "  --row-block R      rows per backward block (default 0: from memory); part\n"
           "                     of the job, since it sets how a layer's rows are split\n"
           "[certify]\n"
           "  --target T         untargeted|top2|least|random|all|<class> (default untargeted)\n"
           "  --seed S           seed of --target random (default 0)\n"
           "  --search K         bisect (default: bracket + log bisection to --rtol, from the\n"
           "                     norm's eps0 for every task) or crown15 (the reference CROWN\n"
           "                     search: 15 evaluations)\n"
           "  --rtol R           relative tolerance of bisect (default 1e-3)\n"
           "  --eps E            verify at this eps instead of searching\n"
           "  --task-timeout S   seconds per task (default 0: none); a task past it is a\n"
           "                     row with status 4 (timeout) and the bracket its search\n"
           "                     had reached (checked between row blocks of each layer)\n"
           "  --attack A         none (default) or pgd: after each task's search, PGD's\n"
           "                     smallest eps that flips the class (towards the task's\n"
           "                     target, if any) goes to /results/pgd_eps (NaN: none found),\n"
           "                     an upper bound beside the certified radius (norms inf, 2)\n"
           "[output]\n"
           "  --save-bounds L    images (e.g. 0-9,17) whose pre-activation bounds at the\n"
           "                     radius go to /bounds/NNN/{lower,upper}\n"
           "  --save-attacks L   images whose PGD counterexamples go to /attacks/{x_adv,logits}\n"
           "  --save-certificates all|L  images whose certificates go to /certificates:\n"
           "                     what checks each radius again, bit for bit\n"
           "                     (nncert certify --reverify F.h5; see --reverify --help)\n"
           "  --flush-seconds S  write and sync the results at least every S s (default 2)\n"
           "  --progress-seconds S  progress line period when stderr is not a terminal\n"
           "                     (default 10; 0: after every task)\n"
           "  --force-new        replace an existing results file instead of resuming it\n"
           "[frown]  options of method frown (refused with others):\n"
           "  --frown-group G    rows sharing one set of line variables (aligned groups\n"
           "                     of G; default 1 = exact FROWN)\n"
           "  --frown-iters N    Adam steps per bound (default 100; 0 = CROWN's lines)\n"
           "  --frown-lr R       Adam learning rate (default 0.1)\n"
           "  --frown-patience N early stop after N steps in a row (default 5) that\n"
           "                     each improve the best bound by less than T, relative\n"
           "  --frown-threshold T  that T (default 0.01)\n"
           "  --frown-warm 0|1   each eps of a search starts from the previous eps's\n"
           "                     lines (default 1; every task starts afresh); with\n"
           "                     --bab by input halves, each half from its parent's\n"
           "  --frown-beta 0|1   with --bab: a multiplier per split constraint, optimized\n"
           "                     with the lines (beta-CROWN; default 1)\n"
           "[lp]  options of the LP methods (doc/lp.md; refused with others):\n"
           "  --lp-cuts K        lp-last, lp-all, milp: tangent cuts per side of an\n"
           "                     S-shaped neuron (default 3)\n"
           "  --milp-time-limit S  milp: seconds per margin row (default 60); a row\n"
           "                     not solved by then is not certified\n"
           "[bab]  complete search inside the radius search (doc/bab.md), norm inf only:\n"
           "  --bab              an eps the bounds leave uncertified is decided by branch\n"
           "                     and bound on the ball (certified when every leaf is\n"
           "                     proven; a counterexample or a limit leaves it not)\n"
           "  --bab-split S      auto|input|relu (default auto), as in 'nncert verify'\n"
           "  --bab-batch N      domains expanded per round (default 8)\n"
           "  --bab-candidates K neurons or inputs tried per domain (default 4), as in\n"
           "                     'nncert verify'\n"
           "  --bab-max-frontier N  open domains before depth-first (default 100000)\n"
           "  --bab-max-domains N   domains bounded per eps (default 200000, 0: none)\n"
           "  --bab-unit N       domains bounded together, as in 'nncert verify'\n"
           "                     (default 8 with crown, fastlin and frown, else 1)\n"
           "  --bab-timeout S    seconds of branch and bound per eps (default 0: only\n"
           "                     --task-timeout); part of the job, as it decides radii\n"
           "  --bab-checkpoint-every S  journal a running search's state at most every S\n"
           "                     seconds (default 60; 0: every round): a rerun after a\n"
           "                     kill continues it, and takes finished searches as they\n"
           "                     were\n"
           "[dist]\n"
           "  --ranks-per-image G  ranks that split each image's neurons: 1 (default), a\n"
           "                     group size, or all (with --bab a group also shares\n"
           "                     each round's sub-domains)\n"
           "  --threads N        BLAS threads of every rank (default 1, also without\n"
           "                     mpirun); set by nncert, whatever OPENBLAS_NUM_THREADS and\n"
           "                     OMP_NUM_THREADS say, so N ranks on N cores do not start\n"
           "                     N x N threads and the results do not depend on the\n"
           "                     environment. Part of the job: a GEMM split over threads\n"
           "                     may round differently. Scale with ranks first; threads\n"
           "                     help one big image when cores are idle. The master warns\n"
           "                     when a node's ranks x threads exceed its CPUs\n"
           "  --dry-tasks        scheduler benchmark: tasks do no bound work and give\n"
           "                     failed rows saying so\n"
           "  --drain-seconds S  after a stop signal, wait up to S s (default 60) for the\n"
           "                     tasks in flight before exiting\n"
           "  --max-memory SIZE  what one rank may use, e.g. 512M or 4G (default: what it\n"
           "                     can get: the cgroup's or SLURM's limit shared by the\n"
           "                     node's ranks, ulimit -v, else physical memory over them).\n"
           "                     Every rank estimates its needs first (model, images,\n"
           "                     bound workspace for the method and row block) and a job\n"
           "                     over it fails before any work, naming what lowers it;\n"
           "                     not part of the job. An allocation that fails later is a\n"
           "                     failed row, which a rerun computes again\n"
           "  --config F         INI job file\n"
           "  -h, --help         this help\n\n"
           "Rerunning the same job on an existing results file skips the finished tasks\n"
           "(also after kill -9); a file of another job is refused unless --force-new.\n"
           "SIGUSR1, SIGTERM or SIGINT (to mpirun, which forwards them, or to a plain\n"
           "process) stop the job early: no new tasks start, the tasks in flight finish\n"
           "(up to --drain-seconds), the results are written, and the exit status is 75\n"
           "so a batch script can requeue it (slurm/launch.sh does); a rerun resumes.\n"
           "Rows: /results/{index,slot,label,prediction,target,status,radius,lo,hi,margin,\n"
           "evals,seconds,rank,message} (+ pgd_eps,pgd_lo,pgd_class with --attack pgd;\n"
           "+ milp_eps,milp_class with --method milp: the smallest eps where a point of\n"
           "the MILP, checked by the exact forward pass inside the ball, changes the class\n"
           "(NaN, -1: none), that point in /milp_counterexamples/{x,logits});\n"
           "status 0 certified, 1 uncertified, 2 misclassified,\n"
           "3 failed, 4 timeout.\n\n"
           "exit status: 0 on success, 1 when the model, data or output cannot be used or a\n"
           "task failed, 2 on usage and config errors, 75 when stopped by a signal.\n");
}

/* argv into j (the certify job's schema): --config FILE first (loaded), then
 * every flag over it, --key-name for key_name. Returns -1 to go on, else the
 * exit status (help printed: 0; usage error printed: 2). */
static int parse_args(job *j, int argc, char **argv)
{
    nn_error err;
    nn_error_clear(&err);
    /* --config first: the flags override it wherever they stand */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            help();
            return CLI_EXIT_OK;
        }
        if (strcmp(a, "--config") && strncmp(a, "--config=", 9)) continue;
        const char *path = a[8] == '=' ? a + 9 : (i + 1 < argc ? argv[i + 1] : NULL);
        if (!path) return cli_usage_error(cmd, "--config needs a value");
        if (j->file) return cli_usage_error(cmd, "--config given twice");
        if (job_load_ini(j, path, &err)) {
            fprintf(stderr, "nncert %s: %s\n", cmd, err.msg);
            return CLI_EXIT_USAGE;
        }
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0) return cli_usage_error(cmd, "unexpected argument '%s'", a);
        char name[64];
        const char *eq = strchr(a + 2, '=');
        size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
        if (len == 0 || len >= sizeof name) return cli_usage_error(cmd, "unknown option '%s'", a);
        memcpy(name, a + 2, len);
        name[len] = '\0';
        if (!strcmp(name, "config")) {
            if (!eq) i++;
            continue;
        }
        for (char *p = name; *p; p++)
            if (*p == '-') *p = '_';
            else if (*p == '_') return cli_usage_error(cmd, "unknown option '%s' (flags use '-', not '_')", a);
        int k = job_find(j, name);
        if (k < 0) return cli_usage_error(cmd, "unknown option '--%.*s'", (int)len, a + 2);
        const char *v;
        if (j->schema[k].type == JOB_BOOL) {
            if (eq) return cli_usage_error(cmd, "--%.*s takes no value", (int)len, a + 2);
            v = "true";
        } else {
            v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
            if (!v) return cli_usage_error(cmd, "--%.*s needs a value", (int)len, a + 2);
        }
        char origin[96];
        snprintf(origin, sizeof origin, "command line (--%.*s)", (int)len, a + 2);
        if (job_set(j, name, v, origin, &err)) return cli_usage_error(cmd, "%s", err.msg);
    }
    static const char *const required[] = {"model", "data", "out"};
    for (int r = 0; r < 3; r++)
        if (!job_value(j, required[r])) {
            if (j->file)
                return cli_usage_error(cmd, "%s: key '%s' is required in section [job] (or --%s)", j->file,
                                       required[r], required[r]);
            return cli_usage_error(cmd, "--%s is required", required[r]);
        }
    return -1;
}

/* What the previous run had in flight when it ended (doc/scheduler.md "Losing
 * a rank"): those tasks are computed again now. */
static void report_unanswered(const char *cmd, const cert_store *store, int slots)
{
    const cert_store_held *h;
    size_t n = cert_store_unanswered(store, &h), shown = n < 24 ? n : 24;
    if (n == 0) return;
    fprintf(stderr, "nncert %s: the previous run ended with %zu task(s) handed out and not answered (a rank died or "
                    "the job was killed):", cmd, n);
    for (size_t i = 0; i < shown; i++) {
        if (i == 0 || h[i].rank != h[i - 1].rank) fprintf(stderr, "%s rank %d:", i ? ";" : "", h[i].rank);
        fprintf(stderr, "%s image %lld", i && h[i].rank == h[i - 1].rank ? "," : "", (long long)(h[i].task / slots));
        if (slots > 1) fprintf(stderr, " slot %lld", (long long)(h[i].task % slots));
    }
    if (shown < n) fprintf(stderr, "; and %zu more", n - shown);
    fprintf(stderr, "; computing them again\n");
}

static void summary(const cert_app *a, long images, double seconds, size_t recovered)
{
    const cert_job *c = a->c;
    long scored = a->counts[CERT_CERTIFIED] + a->counts[CERT_UNCERTIFIED];
    printf("images %ld, rows %ld: certified %ld, uncertified %ld, misclassified %ld, failed %ld", images, a->rows,
           a->counts[CERT_CERTIFIED], a->counts[CERT_UNCERTIFIED], a->counts[CERT_MISCLASSIFIED],
           a->counts[CERT_FAILED]);
    if (a->counts[CERT_TIMEOUT]) printf(", timeout %ld", a->counts[CERT_TIMEOUT]);
    printf("\n");
    if (recovered) printf("resumed: %zu rows were finished by earlier runs\n", recovered);
    if (c->task.fixed)
        printf("certified fraction at eps %g (%s): %.4f of correctly classified\n", c->task.eps,
               norm_name(c->task.norm), scored ? (double)a->counts[CERT_CERTIFIED] / (double)scored : 0.0);
    else
        printf("mean certified radius (%s, %s): %.6g over %ld rows\n", norm_name(c->task.norm),
               bound_method_name(c->bopt.method), scored ? a->sum_radius / (double)scored : 0.0, scored);
    printf("bound evaluations %ld, total %.3f s, %.4f s per row\n", a->evals, seconds,
           a->rows ? seconds / (double)a->rows : 0.0);
}

/* Rank 0 before any work: the whole job checked, the model loaded, the results
 * opened. Returns -1 to go on, else the exit status (message printed). */
static int master_prepare(job *j, cert_job *c, nn_model *m, cert_app *a, int argc, char **argv,
                          const sched_env *env, int64_t **tasks, size_t *n_tasks)
{
    nn_error err;
    nn_error_clear(&err);
    int st = parse_args(j, argc, argv);
    if (st >= 0) return st;
    if (cert_job_resolve(j, c, &err)) return cli_usage_error(cmd, "%s", err.msg);
    /* --force-new removes the results and the journal first: neither may be an input */
    char *journal = malloc(strlen(c->out) + sizeof ".journal");
    if (!journal) return cli_report(cmd, &(nn_error){NN_ENOMEM, "out of memory"});
    sprintf(journal, "%s.journal", c->out);
    st = cli_guard_output(cmd, c->out, c->model, c->data, j->file);
    if (st < 0) st = cli_guard_output(cmd, journal, c->model, c->data, j->file);
    free(journal);
    if (st >= 0) return st;
    /* before any GEMM, whatever OPENBLAS_NUM_THREADS or OMP_NUM_THREADS say */
    if (blas_threads_set(c->threads, &err)) return cli_usage_error(cmd, "%s", err.msg);
    char sha[65];
    if (model_load(c->model, m, &err) || model_file_sha256(c->model, sha, &err) ||
        input_norm_apply(&c->norm, m, &err))
        return cli_report(cmd, &err);
    if (cert_app_init(a, c, m, &err)) return err.code == NN_EARG ? cli_usage_error(cmd, "%s", err.msg)
                                                                  : cli_report(cmd, &err);
    /* before the results are opened: a refused job leaves no file behind */
    if (cert_app_check_memory(a, &err)) return cli_report(cmd, &err);
    /* test hook of tests/cli_dist.sh: a kill -9 after this many journaled rows */
    const char *kill_after = getenv("NNCERT_TEST_KILL_AFTER_ROWS");
    if (kill_after) a->kill_after = strtol(kill_after, NULL, 10);
    /* and of tests/cli_lp_resume.sh: after this many journaled layers */
    const char *kill_layers = getenv("NNCERT_TEST_KILL_AFTER_LAYERS");
    if (kill_layers) a->kill_after_layers = strtol(kill_layers, NULL, 10);
    int workers = env->size > 1 ? env->size - 1 : 1;
    if (c->ranks_per_image > workers)
        fprintf(stderr, "nncert %s: ranks_per_image %d > %d worker rank(s): one group of %d\n", cmd,
                c->ranks_per_image, workers, workers);
    char *identity = cert_job_identity(j, sha), *config = job_text(j, 0), *cmdline = cert_cli_command_line(argc, argv);
    int rc = CLI_EXIT_FAIL;
    if (!identity || !config || !cmdline) {
        fprintf(stderr, "nncert %s: out of memory\n", cmd);
        goto done;
    }
    const h5_attr attrs[] = {
        {"kind", "certify", 0, 0},
        {"model", c->model, 0, 0},
        {"model_sha256", sha, 0, 0},
        {"data", c->data, 0, 0},
        {"config", config, 0, 0},
        {"config_file", j->file ? j->file : "", 0, 0},
        {"command_line", cmdline, 0, 0},
        {"method", bound_method_name(c->bopt.method), 0, 0},
        {"norm", norm_name(c->task.norm), 0, 0},
        {"lines", line_strategy_name(c->bopt.strategy), 0, 0},
        {"maxpool", pool_method_name(c->bopt.pool), 0, 0},
        {"precision", c->bopt.single ? "single" : "double", 0, 0},
        {"target", c->target_text, 0, 0},
        {"search", c->task.fixed ? "fixed-eps" : cert_search_kind_name(c->task.search.kind), 0, 0},
        {"rtol", NULL, c->task.search.rtol, 0},
        {"eps", NULL, c->task.eps, 0},
        {"clip", NULL, c->task.clip, 1},
        {"seed", NULL, (double)c->target.seed, 1},
        {"ranks", NULL, env->size, 1},
        {"ranks_per_image", job_value(j, "ranks_per_image"), 0, 0},
        {"threads", NULL, c->threads, 1},
        {"blas_core", blas_core_name(), 0, 0},
        {"attack", c->attack ? "pgd" : "none", 0, 0},
        /* last: absent without normalization */
        {"mean", job_value(j, "mean"), 0, 0},
        {"std", job_value(j, "std"), 0, 0},
    };
    cert_store_options so = {
        .path = c->out, .job_key = identity, .force_new = c->force_new, .slots = a->slots, .attrs = attrs,
        .n_attrs = (int)(sizeof attrs / sizeof attrs[0]) - (c->norm.n ? 0 : 2), .n_layers = c->n_save_bounds ? a->n_layers : 0,
        .layer = a->layer, .layer_size = a->layer_size, .attack = c->attack,
        .attack_in = c->n_save_attacks ? model_input_size(m) : 0, .attack_out = model_output_size(m),
        .milp_in = c->bopt.method == METHOD_MILP ? model_input_size(m) : 0, .milp_out = model_output_size(m),
        .cert_classes = cert_job_certificates(c) ? (int)model_output_size(m) : 0,
        .cert_path_width = cert_job_path_width(c),
        .flush_seconds = c->flush_seconds, .ranks = env->size,
        .on_row = cert_app_count, .row_ctx = a,
    };
    if (cert_store_open(&a->store, &so, &err)) {
        rc = cli_report(cmd, &err);
        goto done;
    }
    report_unanswered(cmd, a->store, a->slots);
    if (a->checkpoints && cert_app_pack_parts(a, &err)) {
        rc = cli_report(cmd, &err);
        goto done;
    }
    const cert_store_part *parts;
    size_t n_parts = a->checkpoints ? cert_store_checkpoints(a->store, &parts) : 0;
    /* finished rows, and records of unfinished tasks (a search's snapshot), are
     * both that build's work */
    if ((cert_store_recovered(a->store) || n_parts) && cert_store_other_build(a->store))
        fprintf(stderr, "nncert %s: %s was run before by another build (git %s; this is %s): its %zu finished "
                "rows are kept as they are and its %zu record(s) of unfinished tasks used again, and what is "
                "computed now may differ from that build's in the last bits\n", cmd, c->out,
                cert_store_other_build(a->store), results_git_commit(), cert_store_recovered(a->store), n_parts);
    if (n_parts)
        fprintf(stderr, "nncert %s: %zu record(s) journaled for unfinished tasks by earlier runs (layers, "
                "branch-and-bound searches) are used again\n", cmd, n_parts);
    long images = cert_app_images(a);
    size_t total = (size_t)images * (size_t)a->slots, k = 0;
    *tasks = malloc((total ? total : 1) * sizeof **tasks);
    if (!*tasks) {
        fprintf(stderr, "nncert %s: out of memory for %zu tasks\n", cmd, total);
        goto done;
    }
    for (long i = 0; i < images; i++)
        for (int s = 0; s < a->slots; s++) {
            int64_t t = (int64_t)(c->start + i) * a->slots + s;
            if (!cert_store_done(a->store, t)) (*tasks)[k++] = t;
        }
    *n_tasks = k;
    sched_progress_init(&a->progress, stderr, isatty(2), c->progress_seconds, (long)total, (long)(total - k));
    /* the certified fraction so far includes earlier runs' rows */
    a->progress.certified = a->counts[CERT_CERTIFIED];
    a->progress.scored = a->counts[CERT_CERTIFIED] + a->counts[CERT_UNCERTIFIED];
    a->progress.failed = a->counts[CERT_FAILED];
    rc = -1;
done:
    free(identity);
    free(config);
    free(cmdline);
    return rc;
}

/* Every rank but 0: the job from rank 0's text, the model. */
static int worker_prepare(job *j, cert_job *c, nn_model *m, cert_app *a, const char *text, nn_error *err)
{
    int rc = job_load_text(j, text, "job from rank 0", err);
    if (!rc) rc = cert_job_resolve(j, c, err);
    if (!rc) rc = blas_threads_set(c->threads, err);
    if (!rc) rc = model_load(c->model, m, err);
    if (!rc) rc = input_norm_apply(&c->norm, m, err);
    if (!rc) rc = cert_app_init(a, c, m, err);
    if (!rc) rc = cert_app_check_memory(a, err);
    return rc;
}

int cmd_certify(int argc, char **argv)
{
    /* checking a file's certificates is another job: src/cli/cmd_reverify.c */
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--reverify") || !strncmp(argv[i], "--reverify=", 11)) return cmd_certify_reverify(argc, argv);
    nn_error err;
    nn_error_clear(&err);
    sched_env env;
    if (sched_init(&argc, &argv, &env, &err)) return cli_report(cmd, &err);
    const job_key *keys;
    int n_keys = cert_job_schema(&keys);
    job j;
    cert_job c;
    nn_model m;
    cert_app a;
    memset(&c, 0, sizeof c);
    memset(&m, 0, sizeof m);
    memset(&a, 0, sizeof a);
    int64_t *tasks = NULL;
    size_t n_tasks = 0, text_len = 0;
    char *text = NULL;
    int status = -1;
    double t0 = nn_wall_seconds();
    if (job_init(&j, keys, n_keys, &err)) status = cli_report(cmd, &err);
    else if (env.is_master) status = master_prepare(&j, &c, &m, &a, argc, argv, &env, &tasks, &n_tasks);
    if (status < 0 && env.is_master && env.size > 1) {
        if ((text = job_text(&j, 0))) text_len = strlen(text);
        else status = cli_report(cmd, &(nn_error){NN_ENOMEM, "out of memory"});
    }
    /* every rank learns whether to go on (-1) or the exit status */
    sched_bcast_int(&env, &status);
    if (status >= 0) goto done;
    int rc = sched_bcast_bytes(&env, &text, &text_len, &err);
    if (!rc && !env.is_master) rc = worker_prepare(&j, &c, &m, &a, text, &err);
    rc = sched_agree(&env, rc, &err);
    /* the layers earlier runs journaled for the tasks they left unfinished */
    if (!rc && a.checkpoints) {
        rc = sched_bcast_bytes(&env, &a.parts, &a.parts_len, &err);
        if (!rc && (env.is_worker)) rc = cert_app_index_parts(&a, &err);
        rc = sched_agree(&env, rc, &err);
    }
    sched_options so = {c.ranks_per_image, 2, cli_catch_stop_signals(), c.drain_seconds};
    sched_app app = cert_app_callbacks(&a);
    long abandoned;
    rc = cli_sched_run(cmd, &env, &so, &app, c.threads, rc, tasks, n_tasks, &abandoned, &status, &err);
    if (status >= 0) goto done;
    if (env.is_master) {
        /* say it now: the launcher may kill this process any moment */
        if (rc == NN_ELOST) cli_report(cmd, &err);
        size_t recovered = cert_store_recovered(a.store);
        nn_error cerr;
        int crc = cert_store_close(a.store, rc == NN_OK, rc ? &cerr : &err);
        a.store = NULL;
        if (rc == NN_EINTERRUPTED && !crc) {
            fprintf(stderr, "nncert %s: %s: %s\n", cmd, cli_stop_signal_name(), err.msg);
            if (abandoned && env.size > 1) sched_abort(&env, CLI_EXIT_INTERRUPTED);
            status = CLI_EXIT_INTERRUPTED;
            goto done;
        }
        if (rc == NN_ELOST) sched_abort(&env, CLI_EXIT_INTERRUPTED);
        if (rc || crc) {
            cli_report(cmd, &err);
            if (rc && env.size > 1) sched_abort(&env, CLI_EXIT_FAIL);
            status = CLI_EXIT_FAIL;
            goto done;
        }
        summary(&a, cert_app_images(&a), nn_wall_seconds() - t0, recovered);
        status = a.counts[CERT_FAILED] && !c.dry_tasks ? CLI_EXIT_FAIL : CLI_EXIT_OK;
    } else {
        /* a worker learns of a stop only as the end of its tasks */
        status = so.stop && *so.stop ? CLI_EXIT_INTERRUPTED : CLI_EXIT_OK;
    }
done:
    if (a.store) cert_store_close(a.store, 0, NULL);
    cert_app_free(&a);
    cert_job_free(&c);
    model_free(&m);
    job_free(&j);
    free(tasks);
    free(text);
    sched_finalize();
    return status;
}
