/* h5_sandbox: a trial read of an HDF5 file in a child process. The HDF5
 * library (1.10) loops forever or frees wild pointers on some damaged files, so
 * the readers of outside HDF5 files run once in a child first (doc/formats.md
 * "Damaged HDF5 files"). */
#ifndef H5_SANDBOX_H
#define H5_SANDBOX_H

#include "nn_error.h"

/* The read to try: its result is ignored, only whether the process survives. */
typedef void (*h5_sandbox_fn)(const char *path, void *ctx);

/* Prototypes */
/* Run fn(path, ctx) in a forked child with a time limit: NN_OK when it returned,
 * NN_EFORMAT naming the file when it crashed (any signal or non-zero exit, e.g.
 * a sanitizer report) or ran past the limit. The limit is 20 s plus 1 s per
 * 50 MB of file, or $NNCERT_HDF5_TIMEOUT seconds when set. When fork() fails
 * nothing is tried and NN_OK is returned (the read then runs unguarded). */
int h5_sandbox_try(const char *path, h5_sandbox_fn fn, void *ctx, nn_error *err);
/* NN_OK when path is a readable regular file; otherwise a message that says
 * why (HDF5's own for these cases are vague, and it would hang on a pipe). */
int h5_sandbox_check_file(const char *path, nn_error *err);
/* What every reader of an outside HDF5 file does before it opens the file:
 * h5_sandbox_check_file (a readable regular file, or a message saying why not),
 * then h5_sandbox_try. */
int h5_sandbox_check(const char *path, h5_sandbox_fn fn, void *ctx, nn_error *err);

#endif
