/* BLAS threads (include/blas_threads.h): the count set is the count OpenBLAS
 * runs, whatever OPENBLAS_NUM_THREADS said at load; out-of-range counts are
 * refused naming the range; a GEMM gives the same bits after going back to one
 * thread; the CPUs available are at least 1 and never more than online. */
#include "testutil.h"

#include <cblas.h>
#include <unistd.h>

#include "blas_threads.h"

static void set_count_is_the_count_openblas_runs(void **state)
{
    (void)state;
    nn_error err;
    for (int t = 1; t <= 3; t++) {
        assert_int_equal(blas_threads_set(t, &err), NN_OK);
        assert_int_equal(blas_threads_get(), t);
        assert_int_equal(openblas_get_num_threads(), t);
    }
    assert_int_equal(blas_threads_set(1, &err), NN_OK);
    assert_int_equal(blas_threads_get(), 1);
}

static void out_of_range_is_refused_naming_the_range(void **state)
{
    (void)state;
    nn_error err;
    nn_error_clear(&err);
    assert_int_equal(blas_threads_set(0, &err), NN_EARG);
    assert_non_null(strstr(err.msg, "[1, 1024]"));
    assert_int_equal(blas_threads_set(BLAS_THREADS_MAX + 1, &err), NN_EARG);
    assert_int_equal(blas_threads_get(), 1); /* unchanged by a refused call */
}

/* 1 thread, 2 threads, 1 thread again: the first and last results are the
 * same bits (the count in force decides, nothing else is left behind). */
static void one_thread_again_gives_the_same_bits(void **state)
{
    (void)state;
    enum { M = 300, N = 300, K = 300 };
    double *a = malloc(M * K * sizeof *a), *b = malloc(K * N * sizeof *b);
    double *c[3] = {malloc(M * N * sizeof(double)), malloc(M * N * sizeof(double)), malloc(M * N * sizeof(double))};
    assert_non_null(a), assert_non_null(b), assert_non_null(c[0]), assert_non_null(c[1]), assert_non_null(c[2]);
    unsigned s = 7;
    for (int i = 0; i < M * K; i++) a[i] = (double)((s = s * 1103515245u + 12345u) >> 8) / 16777216.0 - 0.5;
    for (int i = 0; i < K * N; i++) b[i] = (double)((s = s * 1103515245u + 12345u) >> 8) / 16777216.0 - 0.5;
    nn_error err;
    const int threads[3] = {1, 2, 1};
    for (int r = 0; r < 3; r++) {
        assert_int_equal(blas_threads_set(threads[r], &err), NN_OK);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0, a, K, b, N, 0.0, c[r], N);
    }
    assert_memory_equal(c[0], c[2], M * N * sizeof(double));
    free(a), free(b), free(c[0]), free(c[1]), free(c[2]);
}

static void cpus_available_are_between_one_and_online(void **state)
{
    (void)state;
    int n = blas_cpus_available();
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    assert_true(n >= 1);
    if (online > 0) assert_true(n <= online);
    assert_true(blas_cpu_quota() >= 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(set_count_is_the_count_openblas_runs),
        cmocka_unit_test(out_of_range_is_refused_naming_the_range),
        cmocka_unit_test(one_thread_again_gives_the_same_bits),
        cmocka_unit_test(cpus_available_are_between_one_and_online),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
