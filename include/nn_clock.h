/* nn_clock: the two clocks nncert reads — wall time for progress, task seconds
 * and timeouts, and the calling thread's CPU time for GEMM rates that other
 * processes on a shared machine do not distort. */
#ifndef NN_CLOCK_H
#define NN_CLOCK_H

/* Seconds on CLOCK_MONOTONIC (an arbitrary origin; differences only). */
double nn_wall_seconds(void);
/* CPU seconds used by the calling thread. */
double nn_thread_cpu_seconds(void);
/* CPU seconds used by every thread of the process (BLAS threads included). */
double nn_process_cpu_seconds(void);

#endif
