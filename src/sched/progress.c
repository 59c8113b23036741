/* Progress of a run on the master's stderr: tasks done/total, rate, ETA and the
 * certified fraction so far. On a terminal one line is rewritten in place (\r);
 * otherwise (SLURM logs, pipes) a plain line is printed every `period` seconds.
 * The rate counts only this run's tasks, so a resumed run's ETA is honest. */
#include "scheduler.h"
#include "nn_clock.h"

#include <string.h>

void sched_progress_init(sched_progress *p, FILE *out, int tty, double period, long total, long done_before)
{
    memset(p, 0, sizeof *p);
    p->out = out;
    p->tty = tty;
    p->period = tty && period > 0.5 ? 0.5 : period;
    p->t0 = p->last = nn_wall_seconds();
    p->total = total;
    p->done = p->done_before = done_before;
}

void sched_progress_add(sched_progress *p, int certified, int scored, int failed)
{
    p->done++;
    p->certified += certified != 0;
    p->scored += scored != 0;
    p->failed += failed != 0;
}

static void eta_text(char *buf, size_t n, double seconds)
{
    if (!(seconds >= 0) || seconds > 1e9) snprintf(buf, n, "?");
    else if (seconds < 120) snprintf(buf, n, "%.0f s", seconds);
    else if (seconds < 7200) snprintf(buf, n, "%.1f min", seconds / 60);
    else snprintf(buf, n, "%.1f h", seconds / 3600);
}

void sched_progress_tick(sched_progress *p, int final)
{
    double now = nn_wall_seconds();
    if (!final && now - p->last < p->period) return;
    p->last = now;
    double elapsed = now - p->t0, rate = elapsed > 0 ? (double)(p->done - p->done_before) / elapsed : 0;
    char eta[32];
    eta_text(eta, sizeof eta, rate > 0 ? (double)(p->total - p->done) / rate : -1);
    char line[256];
    int len = snprintf(line, sizeof line, "progress: %ld/%ld tasks (%.1f%%), %.3g tasks/s, ETA %s, certified %.4f of %ld, %ld failed",
                       p->done, p->total, p->total ? 100.0 * (double)p->done / (double)p->total : 100.0, rate,
                       final ? "0 s" : eta, p->scored ? (double)p->certified / (double)p->scored : 0.0, p->scored,
                       p->failed);
    if (len < 0) return;
    if (p->tty) {
        size_t pad = p->width > (size_t)len ? p->width - (size_t)len : 0;
        fprintf(p->out, "\r%s%*s", line, (int)pad, "");
        if (final) fputc('\n', p->out);
        p->width = (size_t)len;
    } else {
        fprintf(p->out, "%s\n", line);
    }
    fflush(p->out);
}
