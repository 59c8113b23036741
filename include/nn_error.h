/* nn_error: error codes and messages shared by every nncert module.
 * Library functions never print or exit: they fill an nn_error and return its
 * code; the command-line layer decides what to print and which status to use. */
#ifndef NN_ERROR_H
#define NN_ERROR_H

#include <stddef.h>

typedef enum {
    NN_OK = 0,
    NN_EIO,           /* a file could not be opened, read or written */
    NN_EFORMAT,       /* a file is not what it claims to be (corrupt, truncated) */
    NN_ESHAPE,        /* tensor shapes do not fit together */
    NN_EVALUE,        /* a value is out of range: NaN/Inf weights, bad index */
    NN_EUNSUPPORTED,  /* a valid construct nncert does not handle */
    NN_ENOMEM,        /* an allocation failed */
    NN_EARG,          /* a caller passed an invalid argument or option */
    NN_ENUMERIC,      /* a computation produced NaN/Inf where it must not */
    NN_EINTERRUPTED,  /* stopped on request (a signal) before the end; a rerun resumes */
    NN_ETIMEOUT,      /* a computation ran past its time limit */
    NN_ELOST          /* a process of the job died (an MPI rank); a rerun resumes */
} nn_code;

typedef struct {
    nn_code code;       /* NN_OK when nothing failed */
    char msg[1024];     /* human-readable reason, names file/field/problem */
} nn_error;

/* Prototypes */
void nn_error_clear(nn_error *err);
/* Fill err (may be NULL) and return code, so callers can `return nn_fail(...)`. */
int nn_fail(nn_error *err, nn_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prefix the existing message with context ("file.h5: ") and return its code. */
int nn_error_prefix(nn_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
const char *nn_code_name(nn_code code);
/* malloc/calloc that record NN_ENOMEM with what was being allocated. */
void *nn_malloc(size_t bytes, const char *what, nn_error *err);
void *nn_calloc(size_t count, size_t size, const char *what, nn_error *err);

#endif
