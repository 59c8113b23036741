/* npy: reader for NumPy .npy array files (format versions 1-3): the header
 * (dtype, C order, shape) checked against the file's size, then any window of
 * elements converted to double, in either byte order (doc/formats.md "NumPy"). */
#ifndef NPY_H
#define NPY_H

#include <stddef.h>
#include "nn_error.h"

#define NPY_MAX_DIMS 8

typedef struct {
    char kind;             /* 'f' float, 'i' signed, 'u' unsigned integer */
    int item_size;         /* bytes per element: f 2/4/8, i/u 1/2/4/8 */
    int big_endian;
    char descr[16];        /* as written, for messages ("<f4") */
    int ndim;
    size_t dims[NPY_MAX_DIMS];
    size_t count;          /* elements: the product of dims */
    size_t data_offset;    /* bytes before the first element */
} npy_header;

/* Prototypes */
/* Reads and checks the header: magic, version, dtype (a plain number type),
 * fortran_order False, shape, and that the file holds exactly the promised data. */
int npy_read_header(const char *path, npy_header *h, nn_error *err);
/* Elements [first, first + n) in C order, converted to double (exact for every
 * type but 64-bit integers beyond 2^53, which are refused). */
int npy_read_values(const char *path, const npy_header *h, size_t first, size_t n, double *out, nn_error *err);

#endif
