/* Trial reads of HDF5 files in a child process (see include/h5_sandbox.h).
 *
 * Fuzzing the model and results readers (doc/testing.md "Fuzzing") found two
 * ways Debian's HDF5 1.10 fails on damaged files where no error code comes
 * back: a variable-length string whose global heap collection is damaged makes
 * H5Aread loop forever (the global heap has no checksum, in any format
 * version), and an error path while listing a group in dense storage frees a
 * pointer it never set (H5G__link_release_table). Neither can be ruled out by
 * looking at the file first short of reimplementing HDF5's parser, so the
 * reader runs once in a forked child: a crash or a hang there becomes a named
 * error here. The parent then runs the same calls on the same bytes; HDF5 is
 * deterministic on them, except where the crash depends on what a wild pointer
 * happens to hold (doc/formats.md "Damaged HDF5 files"). */
#include "h5_sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static unsigned limit_seconds(const char *path)
{
    const char *env = getenv("NNCERT_HDF5_TIMEOUT");
    if (env && *env) {
        char *end;
        double s = strtod(env, &end);
        if (*end == '\0' && s >= 1 && s < 1e6) return (unsigned)s;
    }
    struct stat st;
    double size = stat(path, &st) == 0 ? (double)st.st_size : 0;
    return 20u + (unsigned)ceil(size / 50e6);
}

int h5_sandbox_try(const char *path, h5_sandbox_fn fn, void *ctx, nn_error *err)
{
    unsigned limit = limit_seconds(path);
    pid_t pid = fork();
    if (pid < 0) return NN_OK;
    if (pid == 0) {
        /* a handler of the parent's (a fuzzer's timeout, say) must not catch the alarm */
        signal(SIGALRM, SIG_DFL);
        /* the trial is silent: what a crash prints (a sanitizer's report) is not the user's error */
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0) dup2(null, STDOUT_FILENO), dup2(null, STDERR_FILENO);
        alarm(limit);
        fn(path, ctx);
        _exit(0);  /* no atexit handlers, no stdio buffers of the parent flushed twice */
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return nn_fail(err, NN_EIO, "%s: cannot wait for the trial read: %s", path, strerror(errno));
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return NN_OK;
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
        return nn_fail(err, NN_EFORMAT,
                       "%s: damaged HDF5 file: the HDF5 library did not finish reading it in %u s (it loops on "
                       "some damaged files; NNCERT_HDF5_TIMEOUT sets the limit)", path, limit);
    if (WIFSIGNALED(status))
        return nn_fail(err, NN_EFORMAT, "%s: damaged HDF5 file: the HDF5 library crashed reading it (%s)", path,
                       strsignal(WTERMSIG(status)));
    return nn_fail(err, NN_EFORMAT, "%s: damaged HDF5 file: reading it aborted (exit status %d)", path,
                   WEXITSTATUS(status));
}

int h5_sandbox_check_file(const char *path, nn_error *err)
{
    /* HDF5's own messages for these cases are vague ("unable to open file"). */
    struct stat st;
    if (stat(path, &st) != 0) return nn_fail(err, NN_EIO, "%s: cannot open: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode)) return nn_fail(err, NN_EIO, "%s: is a directory, not a model file", path);
    /* HDF5 seeks for its signature at 0, 512, 1024, ...: a pipe or device would hang or mislead it. */
    if (!S_ISREG(st.st_mode)) return nn_fail(err, NN_EIO, "%s: is not a regular file", path);
    if (access(path, R_OK) != 0) return nn_fail(err, NN_EIO, "%s: cannot read: %s", path, strerror(errno));
    return NN_OK;
}

int h5_sandbox_check(const char *path, h5_sandbox_fn fn, void *ctx, nn_error *err)
{
    int rc = h5_sandbox_check_file(path, err);
    return rc ? rc : h5_sandbox_try(path, fn, ctx, err);
}
