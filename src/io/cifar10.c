/* CIFAR-10 binary batches (include/cifar10.h; doc/formats.md "CIFAR-10").
 * The files carry no header: their size is the only check of their shape, so a
 * file that is not a whole number of 3073-byte records is refused, naming the
 * remainder (CIFAR-100's records, with two label bytes, are 3074 bytes). */
#include "cifar10.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int add_file(cifar10_files *cf, const char *path, nn_error *err)
{
    struct stat st;
    if (stat(path, &st) != 0) return nn_fail(err, NN_EIO, "CIFAR-10 batch %s: cannot open: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode)) return nn_fail(err, NN_EIO, "CIFAR-10 batch %s: is not a regular file", path);
    size_t size = (size_t)st.st_size;
    if (size == 0) return nn_fail(err, NN_EFORMAT, "CIFAR-10 batch %s: the file is empty", path);
    if (size % CIFAR10_RECORD)
        return nn_fail(err, NN_EFORMAT, "CIFAR-10 batch %s: %zu bytes is not a whole number of %d-byte records (1 "
                       "label byte + 3072 pixel bytes): %zu records and %zu bytes over; truncated, or not a CIFAR-10 "
                       "batch (CIFAR-100 records have 3074 bytes)", path, size, CIFAR10_RECORD,
                       size / CIFAR10_RECORD, size % CIFAR10_RECORD);
    char *copy = strdup(path);
    if (!copy) return nn_fail(err, NN_ENOMEM, "out of memory");
    cf->files[cf->n_files] = copy;
    cf->records[cf->n_files++] = size / CIFAR10_RECORD;
    cf->total += size / CIFAR10_RECORD;
    return NN_OK;
}

int cifar10_open(const char *where, const char *split, cifar10_files *cf, nn_error *err)
{
    memset(cf, 0, sizeof *cf);
    int rc = NN_OK;
    if (!split) {
        rc = add_file(cf, where, err);
    } else if (!strcmp(split, "test") || !strcmp(split, "train")) {
        struct stat st;
        if (stat(where, &st) != 0) return nn_fail(err, NN_EIO, "CIFAR-10 folder %s: %s", where, strerror(errno));
        if (!S_ISDIR(st.st_mode))
            return nn_fail(err, NN_EARG, "CIFAR-10 folder %s: is not a folder (a split names the batches of a "
                           "folder; give one batch file without a split)", where);
        char path[4096];
        for (int i = 0; !rc && i < (split[1] == 'r' ? 5 : 1); i++) {
            if (split[1] == 'r') snprintf(path, sizeof path, "%s/data_batch_%d.bin", where, i + 1);
            else snprintf(path, sizeof path, "%s/test_batch.bin", where);
            rc = add_file(cf, path, err);
        }
    } else {
        rc = nn_fail(err, NN_EARG, "CIFAR-10 split '%s' is unknown: use test or train", split);
    }
    if (rc) cifar10_close(cf);
    return rc;
}

int cifar10_read(const cifar10_files *cf, size_t start, size_t count, double *images, int *labels, nn_error *err)
{
    if (start > cf->total || count > cf->total - start)
        return nn_fail(err, NN_EARG, "CIFAR-10: records %zu..%zu are past the end (%zu)", start, start + count,
                       cf->total);
    unsigned char rec[CIFAR10_RECORD];
    size_t first = 0, done = 0;
    for (int f = 0; f < cf->n_files && done < count; first += cf->records[f++]) {
        if (start + done >= first + cf->records[f]) continue;
        FILE *fp = fopen(cf->files[f], "rb");
        if (!fp) return nn_fail(err, NN_EIO, "CIFAR-10 batch %s: cannot open: %s", cf->files[f], strerror(errno));
        size_t r = start + done - first;
        int rc = NN_OK;
        if (fseeko(fp, (off_t)r * CIFAR10_RECORD, SEEK_SET) != 0)
            rc = nn_fail(err, NN_EIO, "CIFAR-10 batch %s: cannot seek: %s", cf->files[f], strerror(errno));
        for (; !rc && r < cf->records[f] && done < count; r++, done++) {
            /* labels only: read the one byte, skip the pixels */
            size_t want = images ? CIFAR10_RECORD : 1;
            if (fread(rec, 1, want, fp) != want || (!images && fseeko(fp, CIFAR10_PIXELS, SEEK_CUR) != 0)) {
                rc = nn_fail(err, NN_EFORMAT, "CIFAR-10 batch %s: ended early at record %zu (changed while read?)",
                             cf->files[f], r);
                break;
            }
            if (rec[0] > 9) {
                rc = nn_fail(err, NN_EVALUE, "CIFAR-10 batch %s: record %zu has label byte %d (must be 0..9): not a "
                             "CIFAR-10 batch, or misaligned", cf->files[f], r, rec[0]);
                break;
            }
            labels[done] = rec[0];
            if (images)
                for (int i = 0; i < CIFAR10_PIXELS; i++) images[done * CIFAR10_PIXELS + i] = rec[1 + i] / 255.0;
        }
        fclose(fp);
        if (rc) return rc;
    }
    return NN_OK;
}

void cifar10_close(cifar10_files *cf)
{
    for (int i = 0; i < cf->n_files; i++) free(cf->files[i]);
    memset(cf, 0, sizeof *cf);
}
