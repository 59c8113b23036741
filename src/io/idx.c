/* IDX reader (see include/idx.h).
 *
 * Layout: a 4-byte magic 00 00 TT NN (TT = 0x08 for unsigned bytes, NN = number
 * of dimensions), NN big-endian uint32 dimensions, then the data, row-major.
 * Labels have rank 1; images rank 3 (count, rows, cols: MNIST) or rank 4 (count,
 * channels, rows, cols: colour images in PyTorch's C, H, W order).
 * zlib's gz* functions read gzip and raw files alike; gzdirect() tells which.
 *
 * The data length is checked before any window is read, because a window near
 * the start of a truncated file reads fine and a silently short data set is worse
 * than an error. The check is cheap: a raw file's size comes from stat(); a gzip
 * file's trailer holds the uncompressed length mod 2^32 (ISIZE). Only when that
 * disagrees (truncated file, trailing data, several concatenated gzip members) is
 * the whole file decompressed to count its bytes.
 *
 * A window [start, start+count) is reached with gzseek: a real seek on raw files,
 * decompress-and-discard on gzip files. Either way only the window is kept in memory.
 */
#include "idx.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#define IDX_CHUNK ((size_t)1 << 20)       /* largest single gzread */
#define IDX_MAX_BYTES ((size_t)1 << 62)   /* keeps every offset inside z_off_t */

static const char *item_noun(int ndim) { return ndim == 1 ? "label" : "image"; }

static int gz_open(const char *path, gzFile *gz, nn_error *err)
{
    errno = 0;
    *gz = gzopen(path, "rb");
    if (!*gz) {
        if (errno) return nn_fail(err, NN_EIO, "cannot open %s: %s", path, strerror(errno));
        return nn_fail(err, NN_ENOMEM, "cannot open %s: out of memory", path);
    }
    gzbuffer(*gz, 1u << 17);
    return NN_OK;
}

/* Read up to len bytes; *got says how many arrived. A short read at the end of the
 * data (including a gzip stream cut short) is not an error here: the caller knows
 * how many bytes it expected. Corrupt data and I/O errors are. */
static int gz_read_full(gzFile gz, const char *path, unsigned char *buf, size_t len,
                        size_t *got, nn_error *err)
{
    size_t done = 0;
    while (done < len) {
        size_t want = len - done < IDX_CHUNK ? len - done : IDX_CHUNK;
        int r = gzread(gz, buf + done, (unsigned)want);
        if (r <= 0) break;
        done += (size_t)r;
    }
    *got = done;
    int errnum = Z_OK;
    const char *msg = gzerror(gz, &errnum);
    if (errnum == Z_ERRNO) return nn_fail(err, NN_EIO, "file %s: read error: %s", path, strerror(errno));
    if (errnum != Z_OK && errnum != Z_BUF_ERROR)
        return nn_fail(err, NN_EFORMAT, "file %s: corrupt gzip data: %s", path, msg ? msg : "unknown zlib error");
    return NN_OK;
}

static uint32_t be32(const unsigned char *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | (uint32_t)b[3];
}

static int rank_wanted(int ndim, int rank) { return ndim == IDX_IMAGES ? rank == 3 || rank == 4 : rank == ndim; }

static int parse_header(gzFile gz, const char *path, int ndim, idx_header *hdr, nn_error *err)
{
    static const char *names3[3] = {"count", "rows", "cols"};
    static const char *names4[4] = {"count", "channels", "rows", "cols"};
    const char *kind = ndim == 1 ? "label file (magic 0x00000801)"
                       : ndim == 3 ? "image file (magic 0x00000803)"
                       : ndim == 4 ? "image file (magic 0x00000804)"
                                   : "image file (magic 0x00000803 or 0x00000804)";
    unsigned char b[4 * IDX_MAX_DIMS];
    size_t got;
    int rc;

    memset(hdr, 0, sizeof *hdr);
    if ((rc = gz_read_full(gz, path, b, 4, &got, err))) return rc;
    if (got == 0) return nn_fail(err, NN_EFORMAT, "file %s is empty: expected an IDX %s", path, kind);
    if (got < 4)
        return nn_fail(err, NN_EFORMAT, "file %s: truncated: %zu bytes, too short for an IDX header", path, got);
    uint32_t magic = be32(b);
    if (b[0] != 0 || b[1] != 0)
        return nn_fail(err, NN_EFORMAT, "file %s: bad magic 0x%08x: not an IDX file (expected an IDX %s)", path,
                       (unsigned)magic, kind);
    if (b[2] != 0x08)
        return nn_fail(err, NN_EUNSUPPORTED,
                       "file %s: bad magic 0x%08x: IDX element type 0x%02x is not supported, "
                       "only unsigned bytes (0x08) are", path, (unsigned)magic, b[2]);
    const int rank = b[3];
    if (!rank_wanted(ndim, rank)) {
        const char *hint = rank == 1 ? " (this is a label file)"
                           : rank == 3 || rank == 4 ? " (this is an image file)" : "";
        return nn_fail(err, NN_EFORMAT, "file %s: bad magic 0x%08x: %d dimensions%s, expected an IDX %s",
                       path, (unsigned)magic, rank, hint, kind);
    }
    ndim = rank;
    const char *const *dim_names = ndim == 4 ? names4 : names3;

    hdr->ndim = ndim;
    hdr->header_bytes = 4 + 4 * (size_t)ndim;
    if ((rc = gz_read_full(gz, path, b, 4 * (size_t)ndim, &got, err))) return rc;
    if (got < 4 * (size_t)ndim)
        return nn_fail(err, NN_EFORMAT, "file %s: truncated: the header ends after %zu of %d dimension bytes",
                       path, got, 4 * ndim);
    size_t item = 1;
    for (int d = 0; d < ndim; d++) {
        uint32_t v = be32(b + 4 * d);
        const char *name = dim_names[ndim == 1 ? 0 : d];
        if (v == 0) return nn_fail(err, NN_EFORMAT, "file %s: dimension %d (%s) is 0", path, d, name);
        if (d > 0 && v > INT_MAX)
            return nn_fail(err, NN_EUNSUPPORTED, "file %s: dimension %d (%s) = %u is too large", path, d, name,
                           (unsigned)v);
        hdr->dims[d] = v;
        if (d > 0) {
            if (item > IDX_MAX_BYTES / v)
                return nn_fail(err, NN_EFORMAT, "file %s: dimensions overflow: %s too large", path, name);
            item *= v;
        }
    }
    if (hdr->dims[0] > (IDX_MAX_BYTES - hdr->header_bytes) / item)
        return nn_fail(err, NN_EFORMAT, "file %s: dimensions overflow: %zu %ss of %zu bytes", path, hdr->dims[0],
                       item_noun(ndim), item);
    hdr->item_bytes = item;
    return NN_OK;
}

/* The uncompressed length mod 2^32 from a gzip trailer; -1 when it cannot be read. */
static int gzip_isize(const char *path, uint32_t *isize)
{
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    unsigned char b[4];
    int ok = fseek(f, -4, SEEK_END) == 0 && fread(b, 1, 4, f) == 4;
    fclose(f);
    if (!ok) return -1;
    *isize = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    return 0;
}

/* Decompress a whole gzip file to count its bytes. */
static int gzip_count(const char *path, size_t *bytes, nn_error *err)
{
    gzFile gz;
    int rc = gz_open(path, &gz, err);
    if (rc) return rc;
    unsigned char *buf = nn_malloc(IDX_CHUNK, "gzip read buffer", err);
    if (!buf) {
        gzclose(gz);
        return NN_ENOMEM;
    }
    size_t total = 0, got;
    do {
        rc = gz_read_full(gz, path, buf, IDX_CHUNK, &got, err);
        total += got;
    } while (!rc && got == IDX_CHUNK);
    free(buf);
    gzclose(gz);
    *bytes = total;
    return rc;
}

/* Does the file hold exactly header + dims[0] * item_bytes bytes? */
static int check_length(gzFile gz, const char *path, const idx_header *hdr, nn_error *err)
{
    const size_t expect = hdr->dims[0] * hdr->item_bytes;
    size_t file_bytes;
    if (gzdirect(gz)) {
        struct stat st;
        if (stat(path, &st) != 0) return nn_fail(err, NN_EIO, "cannot stat %s: %s", path, strerror(errno));
        if (!S_ISREG(st.st_mode)) return nn_fail(err, NN_EIO, "file %s: not a regular file", path);
        file_bytes = (size_t)st.st_size;
    } else {
        uint32_t isize;
        if (gzip_isize(path, &isize) == 0 && isize == (uint32_t)(hdr->header_bytes + expect)) return NN_OK;
        int rc = gzip_count(path, &file_bytes, err);
        if (rc) return rc;
    }
    size_t have = file_bytes > hdr->header_bytes ? file_bytes - hdr->header_bytes : 0;
    const char *noun = item_noun(hdr->ndim);
    if (have < expect)
        return nn_fail(err, NN_EFORMAT, "file %s: truncated: expected %zu bytes of %s data, got %zu", path, expect,
                       noun, have);
    if (have > expect)
        return nn_fail(err, NN_EFORMAT,
                       "file %s: %zu bytes of %s data, but the header declares %zu %ss of %zu bytes = %zu",
                       path, have, noun, hdr->dims[0], noun, hdr->item_bytes, expect);
    return NN_OK;
}

static int ndim_ok(int ndim) { return ndim == 1 || ndim == 3 || ndim == 4 || ndim == IDX_IMAGES; }

int idx_read_header(const char *path, int ndim, idx_header *hdr, nn_error *err)
{
    if (!ndim_ok(ndim))
        return nn_fail(err, NN_EARG, "idx_read_header: ndim must be 1, 3, 4 or IDX_IMAGES, got %d", ndim);
    gzFile gz;
    int rc = gz_open(path, &gz, err);
    if (rc) return rc;
    rc = parse_header(gz, path, ndim, hdr, err);
    gzclose(gz);
    return rc;
}

int idx_read_u8(const char *path, int ndim, size_t start, size_t count, idx_header *hdr,
                unsigned char **data, size_t *n_read, nn_error *err)
{
    *data = NULL;
    *n_read = 0;
    if (!ndim_ok(ndim))
        return nn_fail(err, NN_EARG, "idx_read_u8: ndim must be 1, 3, 4 or IDX_IMAGES, got %d", ndim);
    gzFile gz;
    int rc = gz_open(path, &gz, err);
    if (rc) return rc;
    if ((rc = parse_header(gz, path, ndim, hdr, err)) || (rc = check_length(gz, path, hdr, err))) goto out;

    const size_t total = hdr->dims[0];
    const char *noun = item_noun(hdr->ndim);
    if (start >= total) {
        rc = nn_fail(err, NN_EARG, "file %s: start %zu is past the end: the file holds %zu %ss (0..%zu)", path,
                     start, total, noun, total - 1);
        goto out;
    }
    if (count == 0) count = total - start;
    if (count > total - start) {
        rc = nn_fail(err, NN_EARG, "file %s: start %zu + count %zu runs past the end: the file holds %zu %ss",
                     path, start, count, total, noun);
        goto out;
    }
    const size_t bytes = count * hdr->item_bytes;
    unsigned char *buf = nn_malloc(bytes, "IDX data", err);
    if (!buf) {
        rc = NN_ENOMEM;
        goto out;
    }
    if (start > 0 && gzseek(gz, (z_off_t)(hdr->header_bytes + start * hdr->item_bytes), SEEK_SET) < 0) {
        int errnum;
        const char *msg = gzerror(gz, &errnum);
        rc = nn_fail(err, NN_EIO, "file %s: cannot skip to %s %zu: %s", path, noun, start,
                     errnum == Z_ERRNO ? strerror(errno) : msg);
        free(buf);
        goto out;
    }
    size_t got;
    if ((rc = gz_read_full(gz, path, buf, bytes, &got, err))) {
        free(buf);
        goto out;
    }
    if (got < bytes) {  /* the file changed since the length check, or its gzip stream lies */
        rc = nn_fail(err, NN_EFORMAT, "file %s: truncated: expected %zu bytes of %s data, got %zu", path,
                     total * hdr->item_bytes, noun, start * hdr->item_bytes + got);
        free(buf);
        goto out;
    }
    *data = buf;
    *n_read = count;
out:
    gzclose(gz);
    return rc;
}

int idx_read_images(const char *path, size_t start, size_t count, idx_header *hdr,
                    double **images, size_t *n_read, nn_error *err)
{
    unsigned char *raw;
    *images = NULL;
    int rc = idx_read_u8(path, IDX_IMAGES, start, count, hdr, &raw, n_read, err);
    if (rc) return rc;
    const size_t len = *n_read * hdr->item_bytes;
    /* The bytes fit in memory, their doubles need not: 8 times as many. */
    if (len > SIZE_MAX / sizeof(double)) {
        free(raw);
        *n_read = 0;
        return nn_fail(err, NN_ENOMEM, "file %s: %zu pixels are too many to hold as doubles", path, len);
    }
    double *out = nn_malloc(len * sizeof *out, "images", err);
    if (!out) {
        free(raw);
        *n_read = 0;
        return NN_ENOMEM;
    }
    double scale[256];
    for (int v = 0; v < 256; v++) scale[v] = v / 255.0;
    for (size_t i = 0; i < len; i++) out[i] = scale[raw[i]];
    free(raw);
    *images = out;
    return NN_OK;
}

int idx_read_labels(const char *path, size_t start, size_t count, idx_header *hdr,
                    int **labels, size_t *n_read, nn_error *err)
{
    unsigned char *raw;
    *labels = NULL;
    int rc = idx_read_u8(path, 1, start, count, hdr, &raw, n_read, err);
    if (rc) return rc;
    int *out = nn_malloc(*n_read * sizeof *out, "labels", err);
    if (!out) {
        free(raw);
        *n_read = 0;
        return NN_ENOMEM;
    }
    for (size_t i = 0; i < *n_read; i++) out[i] = raw[i];
    free(raw);
    *labels = out;
    return NN_OK;
}
