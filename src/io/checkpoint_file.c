/* One checkpoint per file (include/checkpoint_file.h):
 *
 *     "NNCKPT02" | u32 n | identity[n] | u8 b | build[b] | u64 len | bytes[len] | u32 crc32 of all before
 *
 * little-endian; format 01 (before 2026-12-07) has no build and is still read.
 * The build is not part of the identity: another binary may resume a search,
 * and its caller says so, since bounds it computes may differ from the writer's
 * in the last bits. The file is written whole under a temporary name and renamed
 * over the old one, so a reader never sees a mix; the checksum catches a file
 * damaged afterwards (a disk error, a copy cut short). */
#include "checkpoint_file.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "byteorder.h"
#include "fd_write.h"

#define MAGIC "NNCKPT02"
#define MAGIC_V1 "NNCKPT01"
#define MAGIC_LEN 8
#define BUILD_MAX 255
#define IDENTITY_MAX 65536

static uint32_t checksum(const unsigned char *p, size_t n)
{
    uLong c = crc32(0L, Z_NULL, 0);
    while (n > 0) {
        uInt k = n > (1u << 30) ? (1u << 30) : (uInt)n;
        c = crc32(c, p, k);
        p += k, n -= k;
    }
    return (uint32_t)c;
}

/* fsync the folder holding path: the rename itself survives a crash */
static int sync_folder(const char *path)
{
    char *copy = strdup(path);
    if (!copy) return -1;
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
    free(copy);
    if (fd < 0) return -1;
    int bad = fsync(fd) && errno != EINVAL;
    close(fd);
    return bad ? -1 : 0;
}

int checkpoint_write(const char *path, const char *identity, const char *build, const unsigned char *bytes,
                     size_t len, nn_error *err)
{
    size_t n_id = strlen(identity), n_build = build ? strlen(build) : 0;
    if (n_id > IDENTITY_MAX)
        return nn_fail(err, NN_EARG, "%s: checkpoint identity of %zu bytes is too long", path, n_id);
    if (n_build > BUILD_MAX)
        return nn_fail(err, NN_EARG, "%s: checkpoint build name of %zu bytes is too long", path, n_build);
    size_t head = MAGIC_LEN + 4 + n_id + 1 + n_build + 8, total = head + len + 4;
    unsigned char *buf = nn_malloc(total, "checkpoint", err);
    if (!buf) return NN_ENOMEM;
    memcpy(buf, MAGIC, MAGIC_LEN);
    le_put_u32(buf + MAGIC_LEN, (uint32_t)n_id);
    memcpy(buf + MAGIC_LEN + 4, identity, n_id);
    buf[MAGIC_LEN + 4 + n_id] = (unsigned char)n_build;
    if (n_build) memcpy(buf + MAGIC_LEN + 4 + n_id + 1, build, n_build);
    le_put_u64(buf + head - 8, (uint64_t)len);
    if (len) memcpy(buf + head, bytes, len);
    le_put_u32(buf + head + len, checksum(buf, head + len));
    size_t n_tmp = strlen(path) + 32;
    char *tmp = malloc(n_tmp);
    if (!tmp) {
        free(buf);
        return nn_fail(err, NN_ENOMEM, "out of memory");
    }
    snprintf(tmp, n_tmp, "%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644), rc = NN_OK;
    if (fd < 0) {
        rc = nn_fail(err, NN_EIO, "%s: cannot create checkpoint: %s", tmp, strerror(errno));
    } else {
        int bad = fd_write_all(fd, buf, total) || fsync(fd);
        int e = errno;
        if (close(fd) && !bad) bad = 1, e = errno;
        if (bad) rc = nn_fail(err, NN_EIO, "%s: cannot write checkpoint: %s", tmp, strerror(e));
        else if (rename(tmp, path)) rc = nn_fail(err, NN_EIO, "%s: cannot replace checkpoint: %s", path, strerror(errno));
        else if (sync_folder(path)) rc = nn_fail(err, NN_EIO, "%s: cannot sync its folder: %s", path, strerror(errno));
        if (rc) unlink(tmp);
    }
    free(tmp);
    free(buf);
    return rc;
}

/* Appends s[0 .. n) (up to a NUL) to out (size bytes), each byte that is not
 * printable or is a space as '?': the build and identity of a file are outside
 * data, and callers print them. */
static void put_printable(char *out, size_t size, const char *s, size_t n)
{
    size_t o = strlen(out);
    for (size_t i = 0; i < n && s[i] && o + 1 < size; i++) out[o++] = s[i] > ' ' && s[i] <= '~' ? s[i] : '?';
    out[o] = '\0';
}

/* Appends text (this file's own) to out. */
static void put_text(char *out, size_t size, const char *text)
{
    size_t o = strlen(out);
    snprintf(out + o, size - o, "%s", text);
}

int checkpoint_read(const char *path, const char *identity, unsigned char **bytes, size_t *len, int *found,
                    char *build, size_t build_cap, nn_error *err)
{
    *bytes = NULL, *len = 0, *found = 0;
    if (build && build_cap) build[0] = '\0';
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errno == ENOENT) return NN_OK;
        return nn_fail(err, NN_EIO, "%s: cannot open checkpoint: %s", path, strerror(errno));
    }
    struct stat sb;
    if (fstat(fileno(f), &sb) || !S_ISREG(sb.st_mode)) {
        fclose(f);
        return nn_fail(err, NN_EIO, "%s: checkpoint is not a regular file", path);
    }
    size_t size = (size_t)sb.st_size;
    unsigned char *buf = nn_malloc(size ? size : 1, "checkpoint", err);
    if (!buf) {
        fclose(f);
        return NN_ENOMEM;
    }
    int short_read = fread(buf, 1, size, f) != size;
    fclose(f);
    int rc = NN_OK;
    size_t n_id = 0, n_build = 0, head = 0;
    uint64_t n = 0;
    int v1 = !short_read && size >= MAGIC_LEN && !memcmp(buf, MAGIC_V1, MAGIC_LEN);
    if (short_read) rc = nn_fail(err, NN_EIO, "%s: cannot read checkpoint", path);
    else if (size < MAGIC_LEN + 4 + 8 + 4 || (memcmp(buf, MAGIC, MAGIC_LEN) && !v1))
        rc = nn_fail(err, NN_EFORMAT, "%s: not an nncert checkpoint (its first bytes are not %s)", path, MAGIC);
    if (!rc) {
        n_id = le_get_u32(buf + MAGIC_LEN);
        head = MAGIC_LEN + 4 + n_id + 8;
        if (n_id > IDENTITY_MAX || head + 4 > size)
            rc = nn_fail(err, NN_EFORMAT, "%s: damaged checkpoint (identity of %zu bytes in a %zu-byte file)", path,
                         n_id, size);
    }
    if (!rc && !v1) {
        n_build = buf[MAGIC_LEN + 4 + n_id];
        head += 1 + n_build;
        if (head + 4 > size)
            rc = nn_fail(err, NN_EFORMAT, "%s: damaged checkpoint (build name of %zu bytes in a %zu-byte file)", path,
                         n_build, size);
    }
    if (!rc) {
        n = le_get_u64(buf + head - 8);
        if (n != size - head - 4)
            rc = nn_fail(err, NN_EFORMAT, "%s: damaged checkpoint (it says %llu bytes of state, holds %zu)", path,
                         (unsigned long long)n, size - head - 4);
    }
    if (!rc && le_get_u32(buf + size - 4) != checksum(buf, size - 4))
        rc = nn_fail(err, NN_EFORMAT, "%s: damaged checkpoint (checksum mismatch); remove it to start afresh", path);
    if (!rc && (n_id != strlen(identity) || memcmp(buf + MAGIC_LEN + 4, identity, n_id))) {
        char diff[600];
        checkpoint_identity_diff(identity, (const char *)buf + MAGIC_LEN + 4, n_id, diff, sizeof diff);
        rc = nn_fail(err, NN_EARG, "%s belongs to another job (%s); remove it or use --force-new", path, diff);
    }
    if (rc) {
        free(buf);
        return rc;
    }
    if (build && build_cap) {
        build[0] = '\0';
        put_printable(build, build_cap, (const char *)buf + MAGIC_LEN + 4 + n_id + 1, n_build);
    }
    memmove(buf, buf + head, (size_t)n);
    *bytes = buf, *len = (size_t)n, *found = 1;
    return NN_OK;
}

int checkpoint_remove(const char *path, nn_error *err)
{
    if (unlink(path) && errno != ENOENT)
        return nn_fail(err, NN_EIO, "%s: cannot remove checkpoint: %s", path, strerror(errno));
    return NN_OK;
}

int checkpoint_sink_save(void *ctx, const unsigned char *bytes, size_t len, nn_error *err)
{
    (void)err;
    checkpoint_sink *s = ctx;
    nn_error e;
    nn_error_clear(&e);
    if (checkpoint_write(s->path, s->identity, s->build, bytes, len, &e)) {
        if (!s->failed) s->first_error = e;
        s->failed = 1;
        return NN_OK;
    }
    if (++s->written == s->kill_after) raise(SIGKILL);
    return NN_OK;
}

const char *checkpoint_other_build(const char *path, const char *build, const char *self, char *note, size_t cap)
{
    if (build[0] && !strcmp(build, self)) return NULL;
    if (build[0])
        snprintf(note, cap, "%s was written by another build (git %s; this is %s): the search resumes, and "
                 "bounds computed now may differ from that build's in the last bits", path, build, self);
    else
        snprintf(note, cap, "%s was written by a build that did not record itself (format 01; this is %s): "
                 "the search resumes, and bounds computed now may differ from that build's in the last bits",
                 path, self);
    return note;
}

/* The space-separated tokens of s[0 .. n): starts and lengths, at most cap. */
static size_t tokens(const char *s, size_t n, const char **at, size_t *len, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k < cap;) {
        while (i < n && s[i] == ' ') i++;
        size_t b = i;
        while (i < n && s[i] != ' ') i++;
        if (i > b) at[k] = s + b, len[k++] = i - b;
    }
    return k;
}

/* Tokens of side a missing from side b (each of b's matched once), appended to
 * out as 'token' items, with the word before a token that has no key of its own
 * ("model sha256=..."). */
static void missing(const char **a, const size_t *la, size_t na, const char **b, const size_t *lb, size_t nb,
                    char *out, size_t size)
{
    unsigned char used[256] = {0};
    int any = 0;
    for (size_t i = 0; i < na; i++) {
        size_t j = 0;
        while (j < nb && (used[j] || lb[j] != la[i] || memcmp(b[j], a[i], la[i]))) j++;
        if (j < nb) {
            used[j] = 1;
            continue;
        }
        int named = i > 0 && !memchr(a[i - 1], '=', la[i - 1]) && a[i - 1][la[i - 1] - 1] != ':';
        put_text(out, size, any ? ", '" : "'");
        if (named) put_printable(out, size, a[i - 1], la[i - 1]), put_text(out, size, " ");
        put_printable(out, size, a[i], la[i] > 120 ? 120 : la[i]);
        put_text(out, size, "'");
        any = 1;
    }
    if (!any) put_text(out, size, "(nothing)");
}

void checkpoint_identity_diff(const char *mine, const char *theirs, size_t n_theirs, char *out, size_t size)
{
    enum { MAX_TOKENS = 256 };
    const char *a[MAX_TOKENS], *b[MAX_TOKENS];
    size_t la[MAX_TOKENS], lb[MAX_TOKENS];
    size_t na = tokens(mine, strlen(mine), a, la, MAX_TOKENS), nb = tokens(theirs, n_theirs, b, lb, MAX_TOKENS);
    if (!size) return;
    out[0] = '\0';
    put_text(out, size, "this job: ");
    missing(a, la, na, b, lb, nb, out, size);
    put_text(out, size, "; the file: ");
    missing(b, lb, nb, a, la, na, out, size);
}
