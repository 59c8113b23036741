/* Output-is-input guard (see include/file_guard.h).
 *
 * Names cannot tell: "a.h5", "./a.h5", a symlink and a hard link all reach the
 * same file, and `certify --force-new` unlinks and recreates its output before
 * the data are read, so an output that is an input destroys it. Device and
 * inode numbers of the existing files are the identity (doc/formats.md "Outputs
 * never replace inputs"). A file created later under an input's name cannot
 * be an input, so a missing output is always safe. */
#include "file_guard.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int file_guard_check(const char *out, const file_input *in, int n, nn_error *err)
{
    struct stat so, si;
    if (!out || stat(out, &so) != 0) return NN_OK;
    for (int i = 0; i < n; i++) {
        if (!in[i].path || stat(in[i].path, &si) != 0) continue;
        if (so.st_dev == si.st_dev && so.st_ino == si.st_ino)
            return nn_fail(err, NN_EARG,
                           "refusing to write %s: it is the %s %s (the same file); choose another output path", out,
                           in[i].what, in[i].path);
    }
    return NN_OK;
}

int file_guard_check_in(const char *dir, const char *name, const file_input *in, int n, nn_error *err)
{
    size_t len = strlen(dir) + strlen(name) + 2;
    char *path = nn_malloc(len, "output path", err);
    if (!path) return NN_ENOMEM;
    snprintf(path, len, "%s/%s", dir, name);
    int rc = file_guard_check(path, in, n, err);
    free(path);
    return rc;
}
