/* instances: a VNN-COMP benchmark's instances.csv (onnx, vnnlib, timeout per
 * line, paths relative to the file's folder) read into a list of verification
 * instances (doc/formats.md "VNN-COMP instance lists"). */
#ifndef INSTANCES_H
#define INSTANCES_H

#include <stddef.h>
#include "nn_error.h"

typedef struct {
    size_t n;
    char **onnx, **vnnlib;  /* [n] as written in the file */
    char **onnx_path, **vnnlib_path; /* [n] resolved against the file's folder */
    double *timeout;        /* [n] seconds, > 0 */
} instances;

/* Prototypes */
int instances_read(const char *path, instances *in, nn_error *err);
void instances_free(instances *in);

#endif
