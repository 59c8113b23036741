/* file_guard: refusing an output path that is one of the command's inputs.
 * Files are compared by device and inode (stat follows symlinks), so a hard
 * link, a symlink or another spelling of an input is caught before any write. */
#ifndef FILE_GUARD_H
#define FILE_GUARD_H

#include "nn_error.h"

typedef struct {
    const char *what;   /* "model", "data", "job file", ... for the message */
    const char *path;   /* NULL: nothing to check */
} file_input;

/* Prototypes */
/* NN_EARG when out exists and is the same file as an existing in[i].path:
 * "refusing to write <out>: it is the <what> <path> (same file); choose another
 * output path". Paths that do not exist (yet) are not an error here. */
int file_guard_check(const char *out, const file_input *in, int n, nn_error *err);
/* The same for dir/name: the files a command writes into an output folder. */
int file_guard_check_in(const char *dir, const char *name, const file_input *in, int n, nn_error *err);

#endif
