/* cifar10: reader for the CIFAR-10 binary batches (data_batch_1..5.bin,
 * test_batch.bin): records of 1 label byte and 3x32x32 pixel bytes in C,H,W
 * order, read as a window of a data set (doc/formats.md "CIFAR-10"). */
#ifndef CIFAR10_H
#define CIFAR10_H

#include <stddef.h>
#include "nn_error.h"

#define CIFAR10_RECORD 3073   /* 1 label byte + 3072 pixel bytes */
#define CIFAR10_PIXELS 3072   /* 3 x 32 x 32 */

typedef struct {
    char *files[5];     /* the batch files read, in order (owned) */
    size_t records[5];  /* records in each */
    int n_files;
    size_t total;       /* records in all */
} cifar10_files;

/* Prototypes */
/* where: a folder (split "test": test_batch.bin; "train": data_batch_1..5.bin in
 * order) or one batch file (split NULL). Checks that every file exists and is
 * a whole number of records. */
int cifar10_open(const char *where, const char *split, cifar10_files *cf, nn_error *err);
/* Records [start, start+count) of the batches: images (NULL: labels only)
 * receives count * 3072 values in [0, 1] (byte / 255), labels count labels,
 * each checked to be 0..9. The window must lie inside cf->total. */
int cifar10_read(const cifar10_files *cf, size_t start, size_t count, double *images, int *labels, nn_error *err);
void cifar10_close(cifar10_files *cf);

#endif
