/* instances.csv of a VNN-COMP benchmark (see include/instances.h).
 *
 * One instance per line: onnx,vnnlib,timeout; fields are trimmed of blanks,
 * empty lines and lines starting with '#' are skipped, a line ending in CR is
 * accepted. A relative path is joined to the folder holding the csv file. */
#include "instances.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void instances_free(instances *in)
{
    for (size_t i = 0; i < in->n; i++) {
        free(in->onnx[i]), free(in->vnnlib[i]);
        free(in->onnx_path[i]), free(in->vnnlib_path[i]);
    }
    free(in->onnx), free(in->vnnlib), free(in->onnx_path), free(in->vnnlib_path), free(in->timeout);
    memset(in, 0, sizeof *in);
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t') s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n')) s[--n] = '\0';
    return s;
}

static char *join(const char *dir, size_t dir_len, const char *rel)
{
    size_t n = strlen(rel);
    char *p = malloc(dir_len + n + 2);
    if (!p) return NULL;
    if (rel[0] == '/' || dir_len == 0) {
        memcpy(p, rel, n + 1);
    } else {
        memcpy(p, dir, dir_len);
        p[dir_len] = '/';
        memcpy(p + dir_len + 1, rel, n + 1);
    }
    return p;
}

int instances_read(const char *path, instances *in, nn_error *err)
{
    memset(in, 0, sizeof *in);
    FILE *f = fopen(path, "r");
    if (!f) return nn_fail(err, NN_EIO, "cannot open %s: %s", path, strerror(errno));
    const char *slash = strrchr(path, '/');
    size_t dir_len = slash ? (size_t)(slash - path) : 0;
    const char *dir = slash ? path : "";
    if (slash == path) dir_len = 0, dir = "";  /* a file in / */
    char *line = NULL;
    size_t cap = 0, alloc = 0;
    long lineno = 0;
    int rc = NN_OK;
    while (!rc && getline(&line, &cap, f) >= 0) {
        lineno++;
        char *s = trim(line);
        if (!*s || *s == '#') continue;
        char *c1 = strchr(s, ','), *c2 = c1 ? strchr(c1 + 1, ',') : NULL;
        if (!c1 || !c2 || strchr(c2 + 1, ',')) {
            rc = nn_fail(err, NN_EFORMAT, "%s:%ld: expected three fields onnx,vnnlib,timeout", path, lineno);
            break;
        }
        *c1 = *c2 = '\0';
        char *onnx = trim(s), *vnn = trim(c1 + 1), *tt = trim(c2 + 1), *end;
        errno = 0;
        double t = strtod(tt, &end);
        if (!*onnx || !*vnn) {
            rc = nn_fail(err, NN_EFORMAT, "%s:%ld: empty onnx or vnnlib field", path, lineno);
            break;
        }
        if (end == tt || *end || errno || !isfinite(t) || !(t > 0)) {
            rc = nn_fail(err, NN_EVALUE, "%s:%ld: timeout '%s' is not a positive number of seconds", path, lineno, tt);
            break;
        }
        if (in->n == alloc) {
            alloc = alloc ? 2 * alloc : 16;
            char **a = realloc(in->onnx, alloc * sizeof *a), **b = a ? realloc(in->vnnlib, alloc * sizeof *b) : NULL;
            if (a) in->onnx = a;
            if (b) in->vnnlib = b;
            char **c = b ? realloc(in->onnx_path, alloc * sizeof *c) : NULL;
            if (c) in->onnx_path = c;
            char **d = c ? realloc(in->vnnlib_path, alloc * sizeof *d) : NULL;
            if (d) in->vnnlib_path = d;
            double *e = d ? realloc(in->timeout, alloc * sizeof *e) : NULL;
            if (e) in->timeout = e;
            if (!e) {
                rc = nn_fail(err, NN_ENOMEM, "out of memory reading %s", path);
                break;
            }
        }
        size_t i = in->n;
        in->onnx[i] = strdup(onnx), in->vnnlib[i] = strdup(vnn);
        in->onnx_path[i] = join(dir, dir_len, onnx), in->vnnlib_path[i] = join(dir, dir_len, vnn);
        in->timeout[i] = t;
        in->n++;
        if (!in->onnx[i] || !in->vnnlib[i] || !in->onnx_path[i] || !in->vnnlib_path[i])
            rc = nn_fail(err, NN_ENOMEM, "out of memory reading %s", path);
    }
    if (!rc && ferror(f)) rc = nn_fail(err, NN_EIO, "cannot read %s: %s", path, strerror(errno));
    if (!rc && in->n == 0) rc = nn_fail(err, NN_EFORMAT, "%s: no instances", path);
    free(line);
    fclose(f);
    if (rc) instances_free(in);
    return rc;
}
