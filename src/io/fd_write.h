/* fd_write: the whole of a buffer to a file descriptor, across short writes and
 * EINTR; the one way the journal and the checkpoint files write, so both leave
 * a record either whole or detectably cut short. Private to src/io. */
#ifndef FD_WRITE_H
#define FD_WRITE_H

#include <errno.h>
#include <stddef.h>
#include <unistd.h>

/* 0 when all n bytes were written, -1 otherwise (errno set). */
static inline int fd_write_all(int fd, const unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

#endif
