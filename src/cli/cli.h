/* cli: the nncert command-line front end (private to src/cli).
 * Each subcommand lives in its own cmd_<name>.c and returns the process exit
 * status; shared option handling and error printing live in cli_common.c. */
#ifndef CLI_H
#define CLI_H

#include <signal.h>

#include "nn_error.h"
#include "scheduler.h"

/* Exit statuses shared by every subcommand. */
/* CLI_EXIT_INTERRUPTED: stopped by a signal, finished work saved, a rerun
 * resumes (75 is sysexits.h's EX_TEMPFAIL; slurm/launch.sh requeues on it). */
enum { CLI_EXIT_OK = 0, CLI_EXIT_FAIL = 1, CLI_EXIT_USAGE = 2, CLI_EXIT_INTERRUPTED = 75 };

typedef int (*cli_command_fn)(int argc, char **argv);

/* Prototypes: one per subcommand (argv[0] is the subcommand name). */
int cmd_inspect(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_bounds(int argc, char **argv);
int cmd_certify(int argc, char **argv);
int cmd_attack(int argc, char **argv);
int cmd_sweep(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_vnncomp(int argc, char **argv);
/* 'nncert certify --reverify R.h5' (cmd_reverify.c). */
int cmd_certify_reverify(int argc, char **argv);

/* Print "nncert <cmd>: <message>" for a failed library call; returns CLI_EXIT_FAIL. */
int cli_report(const char *cmd, const nn_error *err);
/* Refuse an output file that is one of the inputs, by device and inode (file_guard):
 * the model, the files of the data set spec, the job file (any may be NULL).
 * Returns -1 to go on, else the exit status (message printed). Call it before
 * anything is written. */
int cli_guard_output(const char *cmd, const char *out, const char *model, const char *data, const char *job_file);
/* mkdir -p: every missing folder of dir, 0755; -1 with errno on failure. */
int cli_mkdir_p(const char *dir);
/* Print "nncert <cmd>: <formatted>" plus a --help hint; returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Collective over env: on the master, one warning on stderr when the worker
 * ranks of some node times `threads` BLAS threads exceed the CPUs available
 * there (affinity masks, cgroup quota), or a rank runs more threads than the
 * CPUs it is bound to. The master alone is not counted when others compute. */
void cli_warn_oversubscribed(const char *cmd, const sched_env *env, int threads);
/* A plain process (bounds, attack, predict): set its BLAS threads before any
 * GEMM and warn when they exceed the CPUs available. Returns -1 to go on, else
 * the exit status (message printed). */
int cli_set_threads(const char *cmd, int threads);
/* A plain process's env (one rank that does both) for the call above. */
sched_env cli_local_env(void);
/* cli_signals.c: SIGTERM, SIGUSR1 and SIGINT set the returned flag (sched_options.stop)
 * instead of killing the process; a second signal of a kind acts as usual. */
const volatile sig_atomic_t *cli_catch_stop_signals(void);
const char *cli_stop_signal_name(void);
/* A job's tasks through the scheduler on every rank: warn of oversubscription,
 * start the groups (when rc, the ranks' agreed state, is NN_OK), run the loop,
 * stop the groups. Returns sched_loop's code (NN_EINTERRUPTED, NN_ELOST, ...);
 * when the loop never ran, *status is the exit status (the master printed why). */
int cli_sched_run(const char *cmd, const sched_env *env, const sched_options *so, const sched_app *app, int threads,
                  int rc, const int64_t *tasks, size_t n_tasks, long *abandoned, int *status, nn_error *err);
/* Strict number parsing for option values; print a usage error on failure. */
int cli_parse_int(const char *cmd, const char *opt, const char *text, long lo, long hi, long *out);
int cli_parse_double(const char *cmd, const char *opt, const char *text, double *out);

#endif
