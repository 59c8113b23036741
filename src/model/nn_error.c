/* Error reporting shared by all modules (see include/nn_error.h). */
#include "nn_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void nn_error_clear(nn_error *err)
{
    if (!err) return;
    err->code = NN_OK;
    err->msg[0] = '\0';
}

int nn_fail(nn_error *err, nn_code code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return (int)code;
}

int nn_error_prefix(nn_error *err, const char *fmt, ...)
{
    if (!err) return NN_OK;
    char prefix[512], old[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    size_t np = strlen(prefix), room = sizeof err->msg - 1;
    if (np > room) np = room;
    memcpy(err->msg, prefix, np);
    size_t no = strnlen(old, sizeof old - 1);
    if (no > room - np) no = room - np;
    memcpy(err->msg + np, old, no);
    err->msg[np + no] = '\0';
    return (int)err->code;
}

const char *nn_code_name(nn_code code)
{
    switch (code) {
    case NN_OK: return "ok";
    case NN_EIO: return "i/o error";
    case NN_EFORMAT: return "format error";
    case NN_ESHAPE: return "shape error";
    case NN_EVALUE: return "value error";
    case NN_EUNSUPPORTED: return "unsupported";
    case NN_ENOMEM: return "out of memory";
    case NN_EARG: return "invalid argument";
    case NN_ENUMERIC: return "numeric error";
    case NN_EINTERRUPTED: return "interrupted";
    case NN_ETIMEOUT: return "time limit reached";
    case NN_ELOST: return "a process of the job was lost";
    }
    return "unknown error";
}

void *nn_malloc(size_t bytes, const char *what, nn_error *err)
{
    void *p = malloc(bytes ? bytes : 1);
    if (!p) nn_fail(err, NN_ENOMEM, "out of memory allocating %zu bytes for %s", bytes, what);
    return p;
}

void *nn_calloc(size_t count, size_t size, const char *what, nn_error *err)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) nn_fail(err, NN_ENOMEM, "out of memory allocating %zu x %zu bytes for %s", count, size, what);
    return p;
}
