/* Append-only record journal.
 *
 * File: the 8 bytes "NNCJRNL1", then records
 *     u32 length | u32 type | length bytes | u32 crc32(type, bytes)
 * (little-endian). A record is built in memory and written with one write(2),
 * so a killed process leaves either the whole record or a prefix of it in the
 * page cache; a prefix fails the length or checksum test on replay and is cut
 * off with ftruncate. Nothing before the last good record is ever rewritten. */
#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "byteorder.h"
#include "fd_write.h"

#define MAGIC "NNCJRNL1"
#define MAGIC_LEN 8
#define RECORD_MAX ((size_t)1 << 30)

struct journal {
    int fd;
    char *path;
    int replayed;
};

static uint32_t checksum(uint32_t type, const unsigned char *data, size_t len)
{
    unsigned char t[4];
    le_put_u32(t, type);
    uLong c = crc32(0L, t, 4);
    while (len > 0) {
        uInt n = len > (1u << 30) ? (1u << 30) : (uInt)len;
        c = crc32(c, data, n);
        data += n;
        len -= n;
    }
    return (uint32_t)c;
}

const char *journal_path(const journal *j) { return j->path; }

/* The pid of a process that holds a lock on fd's whole file, or 0. F_GETLK needs
 * no write access, so a read-only descriptor can ask. */
static long lock_holder(int fd)
{
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    if (fcntl(fd, F_GETLK, &fl) || fl.l_type == F_UNLCK) return 0;
    return fl.l_pid > 0 ? (long)fl.l_pid : -1;
}

static int in_use(nn_error *err, const char *path, long pid)
{
    if (pid > 0)
        return nn_fail(err, NN_EIO, "%s: in use by another nncert run (process %ld holds its lock): wait for it to "
                       "end or stop it first", path, pid);
    return nn_fail(err, NN_EIO, "%s: in use by another nncert run (locked): wait for it to end or stop it first",
                   path);
}

/* One writer per journal: a POSIX record lock on the whole file, held while the
 * descriptor is open and dropped by the kernel when the process dies (even by
 * kill -9), so a stale lock cannot outlive its run. A file system without locks
 * (ENOLCK) is used unlocked. */
static int lock_journal(int fd, const char *path, nn_error *err)
{
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    if (fcntl(fd, F_SETLK, &fl) == 0 || errno == ENOLCK) return NN_OK;
    if (errno == EACCES || errno == EAGAIN) return in_use(err, path, lock_holder(fd));
    return nn_fail(err, NN_EIO, "%s: cannot lock the journal: %s", path, strerror(errno));
}

int journal_check_unused(const char *path, nn_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return NN_OK;
    long pid = lock_holder(fd);
    close(fd);
    return pid ? in_use(err, path, pid) : NN_OK;
}

int journal_open(journal **out, const char *path, int *created, nn_error *err)
{
    *out = NULL;
    *created = 0;
    journal *j = nn_calloc(1, sizeof *j, "journal", err);
    if (!j) return NN_ENOMEM;
    j->path = strdup(path);
    if (!j->path) {
        free(j);
        return nn_fail(err, NN_ENOMEM, "out of memory");
    }
    j->fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (j->fd >= 0) {
        *created = 1;
        if (lock_journal(j->fd, path, err)) {
            close(j->fd);
            free(j->path);
            free(j);
            return NN_EIO;
        }
        if (fd_write_all(j->fd, (const unsigned char *)MAGIC, MAGIC_LEN) || fsync(j->fd)) {
            int e = errno;
            close(j->fd);
            unlink(path);
            free(j->path);
            free(j);
            return nn_fail(err, NN_EIO, "%s: cannot write the journal: %s", path, strerror(e));
        }
        j->replayed = 1;
    } else if (errno == EEXIST) {
        j->fd = open(path, O_RDWR | O_CLOEXEC);
        if (j->fd >= 0 && lock_journal(j->fd, path, err)) {
            close(j->fd);
            free(j->path);
            free(j);
            return NN_EIO;
        }
    }
    if (j->fd < 0) {
        int e = errno;
        free(j->path);
        free(j);
        return nn_fail(err, NN_EIO, "%s: cannot open the journal: %s", path, strerror(e));
    }
    *out = j;
    return NN_OK;
}

int journal_replay(journal *j, journal_record_fn fn, void *ctx, size_t *dropped, nn_error *err)
{
    *dropped = 0;
    struct stat sb;
    if (fstat(j->fd, &sb)) return nn_fail(err, NN_EIO, "%s: %s", j->path, strerror(errno));
    size_t size = (size_t)sb.st_size;
    unsigned char *buf = size ? malloc(size) : NULL;
    if (size && !buf) return nn_fail(err, NN_ENOMEM, "%s: out of memory reading %zu bytes", j->path, size);
    size_t got = 0;
    while (got < size) {
        ssize_t r = pread(j->fd, buf + got, size - got, (off_t)got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            free(buf);
            return nn_fail(err, NN_EIO, "%s: read failed: %s", j->path, strerror(r < 0 ? errno : EIO));
        }
        got += (size_t)r;
    }
    int rc = NN_OK;
    size_t pos = 0;
    if (size < MAGIC_LEN) {
        /* torn before the magic was complete: an empty journal */
        if (size && memcmp(buf, MAGIC, size)) rc = nn_fail(err, NN_EFORMAT, "%s: not an nncert journal", j->path);
    } else if (memcmp(buf, MAGIC, MAGIC_LEN)) {
        rc = nn_fail(err, NN_EFORMAT, "%s: not an nncert journal (bad magic)", j->path);
    } else {
        pos = MAGIC_LEN;
        while (!rc && size - pos >= 12) {
            uint32_t len = le_get_u32(buf + pos), type = le_get_u32(buf + pos + 4);
            if (len > RECORD_MAX || size - pos - 12 < len) break;
            const unsigned char *data = buf + pos + 8;
            if (le_get_u32(data + len) != checksum(type, data, len)) break;
            rc = fn(ctx, type, data, len, err);
            if (!rc) pos += 12 + (size_t)len;
        }
    }
    free(buf);
    if (rc) return rc;
    if (size < MAGIC_LEN) {
        if (ftruncate(j->fd, 0) || pwrite(j->fd, MAGIC, MAGIC_LEN, 0) != MAGIC_LEN)
            return nn_fail(err, NN_EIO, "%s: cannot rewrite the journal header: %s", j->path, strerror(errno));
        *dropped = size;
        pos = MAGIC_LEN;
    } else if (pos < size) {
        if (ftruncate(j->fd, (off_t)pos))
            return nn_fail(err, NN_EIO, "%s: cannot cut the torn tail: %s", j->path, strerror(errno));
        *dropped = size - pos;
    }
    if (lseek(j->fd, (off_t)pos, SEEK_SET) < 0) return nn_fail(err, NN_EIO, "%s: %s", j->path, strerror(errno));
    j->replayed = 1;
    return NN_OK;
}

int journal_append(journal *j, uint32_t type, const void *data, size_t len, nn_error *err)
{
    if (!j->replayed) return nn_fail(err, NN_EARG, "%s: journal_append before journal_replay", j->path);
    if (len > RECORD_MAX) return nn_fail(err, NN_EARG, "%s: record of %zu bytes is too large", j->path, len);
    unsigned char *rec = malloc(len + 12);
    if (!rec) return nn_fail(err, NN_ENOMEM, "%s: out of memory for a %zu-byte record", j->path, len);
    le_put_u32(rec, (uint32_t)len);
    le_put_u32(rec + 4, type);
    if (len) memcpy(rec + 8, data, len);
    le_put_u32(rec + 8 + len, checksum(type, rec + 8, len));
    int bad = fd_write_all(j->fd, rec, len + 12);
    int e = errno;
    free(rec);
    return bad ? nn_fail(err, NN_EIO, "%s: write failed: %s", j->path, strerror(e)) : NN_OK;
}

int journal_sync(journal *j, nn_error *err)
{
    if (fdatasync(j->fd)) return nn_fail(err, NN_EIO, "%s: fdatasync failed: %s", j->path, strerror(errno));
    return NN_OK;
}

int journal_close(journal *j, nn_error *err)
{
    if (!j) return NN_OK;
    int rc = NN_OK;
    if (j->fd >= 0 && fdatasync(j->fd)) rc = nn_fail(err, NN_EIO, "%s: fdatasync failed: %s", j->path, strerror(errno));
    if (j->fd >= 0 && close(j->fd) && !rc) rc = nn_fail(err, NN_EIO, "%s: close failed: %s", j->path, strerror(errno));
    free(j->path);
    free(j);
    return rc;
}
