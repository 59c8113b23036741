/* NumPy .npy files (include/npy.h; doc/formats.md "NumPy").
 *
 * Layout: the magic "\x93NUMPY", a major and minor version byte, the header
 * length (2 bytes little-endian in version 1, 4 bytes in versions 2 and 3), then
 * the header, a Python dict literal such as
 *   {'descr': '<f4', 'fortran_order': False, 'shape': (10, 3, 32, 32), }
 * and the elements in C order. The header is parsed by hand: it is a fixed,
 * small subset of Python literals, and every departure is reported. */
#include "npy.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_HEADER (1 << 20)

/* The value after key `key` in the header dict, or NULL. */
static const char *dict_value(const char *hdr, const char *key)
{
    char q1[40], q2[40];
    snprintf(q1, sizeof q1, "'%s'", key);
    snprintf(q2, sizeof q2, "\"%s\"", key);
    const char *p = strstr(hdr, q1);
    if (!p) p = strstr(hdr, q2);
    if (!p) return NULL;
    p += strlen(q1);
    while (isspace((unsigned char)*p)) p++;
    if (*p != ':') return NULL;
    p++;
    while (isspace((unsigned char)*p)) p++;
    return p;
}

static int parse_descr(const char *path, const char *v, npy_header *h, nn_error *err)
{
    if (!v) return nn_fail(err, NN_EFORMAT, "%s: npy header has no 'descr' (the dtype)", path);
    if (*v == '[')
        return nn_fail(err, NN_EUNSUPPORTED, "%s: npy dtype is a structured (record) type; only plain numbers are "
                       "read", path);
    char q = *v;
    if (q != '\'' && q != '"') return nn_fail(err, NN_EFORMAT, "%s: npy header 'descr' is not a string", path);
    const char *e = strchr(v + 1, q);
    size_t n = e ? (size_t)(e - v - 1) : 0;
    if (!e || n == 0 || n >= sizeof h->descr)
        return nn_fail(err, NN_EFORMAT, "%s: npy header 'descr' is malformed", path);
    memcpy(h->descr, v + 1, n);
    h->descr[n] = '\0';
    const char *d = h->descr;
    char order = *d;
    if (order == '<' || order == '>' || order == '|' || order == '=') d++;
    else order = '=';
    h->big_endian = order == '>';
    h->kind = d[0];
    char *end;
    long size = strtol(d + 1, &end, 10);
    int ok = d[0] && *end == '\0' && end != d + 1;
    if (ok && h->kind == 'f') ok = size == 2 || size == 4 || size == 8;
    else if (ok && (h->kind == 'i' || h->kind == 'u')) ok = size == 1 || size == 2 || size == 4 || size == 8;
    else ok = 0;
    if (!ok)
        return nn_fail(err, NN_EUNSUPPORTED, "%s: npy dtype '%s' is not supported (float16/32/64 or a signed or "
                       "unsigned integer of 1, 2, 4 or 8 bytes)", path, h->descr);
    h->item_size = (int)size;
    return NN_OK;
}

static int parse_shape(const char *path, const char *v, npy_header *h, nn_error *err)
{
    if (!v || *v != '(') return nn_fail(err, NN_EFORMAT, "%s: npy header has no 'shape' tuple", path);
    const char *p = v + 1;
    h->ndim = 0;
    h->count = 1;
    for (;;) {
        while (isspace((unsigned char)*p)) p++;
        if (*p == ')') break;
        if (!isdigit((unsigned char)*p)) return nn_fail(err, NN_EFORMAT, "%s: npy header 'shape' is malformed", path);
        if (h->ndim == NPY_MAX_DIMS)
            return nn_fail(err, NN_EUNSUPPORTED, "%s: npy array has more than %d dimensions", path, NPY_MAX_DIMS);
        errno = 0;
        char *end;
        unsigned long long d = strtoull(p, &end, 10);
        if (errno || d > (1ull << 40)) return nn_fail(err, NN_ESHAPE, "%s: npy shape entry %.20s is too large", path, p);
        h->dims[h->ndim++] = (size_t)d;
        if (d && h->count > SIZE_MAX / 16 / d) return nn_fail(err, NN_ESHAPE, "%s: npy array is too large", path);
        h->count *= (size_t)d;
        p = end;
        while (isspace((unsigned char)*p)) p++;
        if (*p == ',') p++;
        else if (*p != ')') return nn_fail(err, NN_EFORMAT, "%s: npy header 'shape' is malformed", path);
    }
    if (h->ndim == 0) return nn_fail(err, NN_ESHAPE, "%s: npy array is a scalar (shape ()), expected [N, ...]", path);
    return NN_OK;
}

int npy_read_header(const char *path, npy_header *h, nn_error *err)
{
    memset(h, 0, sizeof *h);
    FILE *f = fopen(path, "rb");
    if (!f) return nn_fail(err, NN_EIO, "%s: cannot open: %s", path, strerror(errno));
    unsigned char pre[12];
    size_t got = fread(pre, 1, sizeof pre, f);
    int rc = NN_OK;
    char *hdr = NULL;
    if (got < 10 || memcmp(pre, "\x93NUMPY", 6) != 0) {
        rc = nn_fail(err, NN_EFORMAT, "%s: not a NumPy .npy file (%s)", path,
                     got < 10 ? "shorter than the npy preamble" : "no \\x93NUMPY magic");
        goto done;
    }
    int major = pre[6];
    if (major < 1 || major > 3) {
        rc = nn_fail(err, NN_EUNSUPPORTED, "%s: npy format version %d.%d is not supported (1, 2, 3)", path, major,
                     pre[7]);
        goto done;
    }
    size_t len, start;
    if (major == 1) len = (size_t)pre[8] | (size_t)pre[9] << 8, start = 10;
    else if (got < 12) {
        rc = nn_fail(err, NN_EFORMAT, "%s: npy file is truncated in its preamble", path);
        goto done;
    } else len = (size_t)pre[8] | (size_t)pre[9] << 8 | (size_t)pre[10] << 16 | (size_t)pre[11] << 24, start = 12;
    if (len > MAX_HEADER) {
        rc = nn_fail(err, NN_EFORMAT, "%s: npy header length %zu is implausible", path, len);
        goto done;
    }
    if (!(hdr = nn_malloc(len + 1, "npy header", err)) || fseek(f, (long)start, SEEK_SET) != 0 ||
        fread(hdr, 1, len, f) != len) {
        rc = hdr ? nn_fail(err, NN_EFORMAT, "%s: npy file is truncated in its header (%zu bytes promised)", path, len)
                 : NN_ENOMEM;
        goto done;
    }
    hdr[len] = '\0';
    if (strlen(hdr) != len) {
        rc = nn_fail(err, NN_EFORMAT, "%s: npy header holds a NUL byte", path);
        goto done;
    }
    if ((rc = parse_descr(path, dict_value(hdr, "descr"), h, err))) goto done;
    const char *fo = dict_value(hdr, "fortran_order");
    if (!fo || (strncmp(fo, "False", 5) != 0 && strncmp(fo, "True", 4) != 0)) {
        rc = nn_fail(err, NN_EFORMAT, "%s: npy header has no 'fortran_order' True/False", path);
        goto done;
    }
    if (*fo == 'T') {
        rc = nn_fail(err, NN_EUNSUPPORTED, "%s: npy array is in Fortran (column-major) order; save it in C order "
                     "(numpy.ascontiguousarray)", path);
        goto done;
    }
    if ((rc = parse_shape(path, dict_value(hdr, "shape"), h, err))) goto done;
    h->data_offset = start + len;
    struct stat st;
    if (fstat(fileno(f), &st) != 0) {
        rc = nn_fail(err, NN_EIO, "%s: cannot stat: %s", path, strerror(errno));
        goto done;
    }
    size_t want = h->count * (size_t)h->item_size, have = (size_t)st.st_size - h->data_offset;
    if ((size_t)st.st_size < h->data_offset || have < want)
        rc = nn_fail(err, NN_EFORMAT, "%s: npy file is truncated: shape and dtype %s promise %zu data bytes, it holds "
                     "%zu", path, h->descr, want, (size_t)st.st_size < h->data_offset ? 0 : have);
    else if (have > want)
        rc = nn_fail(err, NN_EFORMAT, "%s: npy file has %zu bytes after the %zu data bytes its header promises",
                     path, have - want, want);
done:
    free(hdr);
    fclose(f);
    return rc;
}

static double half_to_double(uint16_t v)
{
    int e = (v >> 10) & 31, m = v & 1023;
    double x = e == 0 ? ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexp(m + 1024, e - 25);
    return v & 0x8000 ? -x : x;
}

static int convert(const npy_header *h, const unsigned char *b, double *out)
{
    uint64_t u = 0;
    for (int i = 0; i < h->item_size; i++) {
        int k = h->big_endian ? i : h->item_size - 1 - i;
        u = u << 8 | b[k];
    }
    if (h->kind == 'f') {
        if (h->item_size == 2) *out = half_to_double((uint16_t)u);
        else if (h->item_size == 4) {
            uint32_t w = (uint32_t)u;
            float f;
            memcpy(&f, &w, 4);
            *out = f;
        } else memcpy(out, &u, 8);
        return 0;
    }
    if (h->kind == 'u') {
        if (u > (1ull << 53)) return -1;
        *out = (double)u;
        return 0;
    }
    int bits = 8 * h->item_size;
    int64_t s = bits == 64 ? (int64_t)u : (int64_t)(u << (64 - bits)) >> (64 - bits);
    if (s > (1ll << 53) || s < -(1ll << 53)) return -1;
    *out = (double)s;
    return 0;
}

int npy_read_values(const char *path, const npy_header *h, size_t first, size_t n, double *out, nn_error *err)
{
    if (first > h->count || n > h->count - first)
        return nn_fail(err, NN_EARG, "%s: elements %zu..%zu are past the end of the npy array (%zu)", path, first,
                       first + n, h->count);
    FILE *f = fopen(path, "rb");
    if (!f) return nn_fail(err, NN_EIO, "%s: cannot open: %s", path, strerror(errno));
    int rc = NN_OK;
    const size_t chunk = 1 << 16;
    unsigned char *buf = nn_malloc(chunk * (size_t)h->item_size, "npy read buffer", err);
    if (!buf) rc = NN_ENOMEM;
    else if (fseeko(f, (off_t)(h->data_offset + first * (size_t)h->item_size), SEEK_SET) != 0)
        rc = nn_fail(err, NN_EIO, "%s: cannot seek: %s", path, strerror(errno));
    for (size_t done = 0; !rc && done < n;) {
        size_t k = n - done < chunk ? n - done : chunk;
        if (fread(buf, (size_t)h->item_size, k, f) != k) {
            rc = nn_fail(err, NN_EFORMAT, "%s: npy file ended early (changed while read?)", path);
            break;
        }
        for (size_t i = 0; i < k; i++)
            if (convert(h, buf + i * (size_t)h->item_size, &out[done + i]))
                rc = nn_fail(err, NN_EVALUE, "%s: element %zu does not fit a double exactly (|v| > 2^53)", path,
                             first + done + i);
        done += k;
    }
    free(buf);
    fclose(f);
    return rc;
}
