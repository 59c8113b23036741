/* Clocks (include/nn_clock.h). */
#include "nn_clock.h"

#include <time.h>

static double seconds_of(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double nn_wall_seconds(void) { return seconds_of(CLOCK_MONOTONIC); }
double nn_thread_cpu_seconds(void) { return seconds_of(CLOCK_THREAD_CPUTIME_ID); }
double nn_process_cpu_seconds(void) { return seconds_of(CLOCK_PROCESS_CPUTIME_ID); }
