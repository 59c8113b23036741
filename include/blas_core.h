/* blas_core: which OpenBLAS kernel set this process runs. A DYNAMIC_ARCH
 * OpenBLAS that does not know a newer CPU model falls back to Prescott's SSE3
 * kernels; nncert then picks the kernels by the CPU's own features instead. */
#ifndef BLAS_CORE_H
#define BLAS_CORE_H

/* Prototypes */
/* First thing in main, before MPI or any GEMM: when OpenBLAS fell back to a
 * generic kernel set (Prescott, Core2, Nehalem, ...) although the CPU and the
 * OS run AVX2 and FMA (Haswell's kernels) or AVX-512 (SkylakeX's), and
 * OPENBLAS_CORETYPE is not set, execute the program again with it set, the same
 * process (pid) and arguments. Returns when nothing was done or the exec
 * failed. A user's OPENBLAS_CORETYPE is left as it is (to pin one kernel set on
 * every node of a mixed cluster). */
void blas_core_select(char **argv);
/* The kernel set OpenBLAS runs now ("SkylakeX", "Haswell", "Prescott", ...). */
const char *blas_core_name(void);

#endif
