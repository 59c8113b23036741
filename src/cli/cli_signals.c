/* Stop requests by signal, and the scheduler run of the commands that take them.
 *
 * SLURM stops a job with SIGTERM (then SIGKILL after KillWait) and warns ahead
 * of the time limit with the signal `sbatch --signal` names (SIGUSR1 in
 * slurm/); mpirun forwards SIGUSR1 and SIGTERM to every rank, and a terminal's
 * Ctrl-C is SIGINT. The handler only sets a flag, which the scheduler reads
 * between messages (doc/scheduler.md "Stopping"); SA_RESETHAND makes a second
 * signal of the same kind act as it would without nncert (a second Ctrl-C
 * kills). This is the command line's one piece of process-wide state: a signal
 * handler has nowhere else to write. */
#include "cli.h"

#include <signal.h>
#include <string.h>

static volatile sig_atomic_t stop_signal;

static void on_stop(int sig) { stop_signal = sig; }

const volatile sig_atomic_t *cli_catch_stop_signals(void)
{
    static const int sigs[] = {SIGTERM, SIGUSR1, SIGINT};
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sa.sa_flags = SA_RESETHAND | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) sigaction(sigs[i], &sa, NULL);
    return &stop_signal;
}

int cli_sched_run(const char *cmd, const sched_env *env, const sched_options *so, const sched_app *app, int threads,
                  int rc, const int64_t *tasks, size_t n_tasks, long *abandoned, int *status, nn_error *err)
{
    sched_group *g = NULL;
    *abandoned = 0;
    if (!rc) cli_warn_oversubscribed(cmd, env, threads);
    if (rc || (rc = sched_start(env, so, app, &g, err))) {
        *status = env->is_master ? cli_report(cmd, err) : CLI_EXIT_FAIL;
        return rc;
    }
    rc = sched_loop(env, so, app, g, tasks, n_tasks, abandoned, err);
    sched_stop(g);
    return rc;
}

const char *cli_stop_signal_name(void)
{
    switch (stop_signal) {
    case SIGTERM: return "SIGTERM";
    case SIGUSR1: return "SIGUSR1";
    case SIGINT: return "SIGINT";
    default: return "a signal";
    }
}
