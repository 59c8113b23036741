/* checkpoint_file: the latest snapshot of a long computation (a branch-and-bound
 * search) in one file, replaced atomically and tagged with the job's identity and
 * a checksum: a run killed at any point leaves the old snapshot or the new one. */
#ifndef CHECKPOINT_FILE_H
#define CHECKPOINT_FILE_H

#include <stddef.h>
#include "nn_error.h"

/* Prototypes */
/* Write bytes to a new file beside path, fsync it, rename it over path and fsync
 * the folder. build (NULL: none; at most 255 bytes) names the binary that wrote
 * it (results_git_commit) and is not part of the identity. */
int checkpoint_write(const char *path, const char *identity, const char *build, const unsigned char *bytes,
                     size_t len, nn_error *err);
/* *found = 0 when path does not exist, else the snapshot in *bytes (malloc'd) and
 * *len, and the writer's build in build (build_cap bytes; "" when the file does
 * not record one: format 01). A file of another job (its identity differs) or a
 * damaged one is an error naming the file and what is wrong. */
int checkpoint_read(const char *path, const char *identity, unsigned char **bytes, size_t *len, int *found,
                    char *build, size_t build_cap, nn_error *err);
/* The note a resume prints (NULL: none) when `build`, read from the checkpoint
 * at path, is not `self`: the search continues, but bounds computed now may
 * differ from the writer's in the last bits. Written into note (cap bytes). */
const char *checkpoint_other_build(const char *path, const char *build, const char *self, char *note, size_t cap);
/* Remove path if it exists. */
int checkpoint_remove(const char *path, nn_error *err);
/* What sets two identities apart (a file's: theirs, n_theirs bytes; this job's:
 * mine), for refusing another job's file: the space-separated settings each has
 * and the other lacks, as "this job: 'unit=8'; the file: (nothing)", a setting
 * named by the word before it where it has no key ("model sha256=..."). */
void checkpoint_identity_diff(const char *mine, const char *theirs, size_t n_theirs, char *out, size_t size);

/* Where a computation's snapshots go, as the context of a save callback
 * (bab_options.save): each one replaces the last in path. A failed write is kept
 * in `failed` and the computation goes on (only resumability is lost). */
typedef struct {
    const char *path, *identity;
    const char *build;      /* the writing binary (checkpoint_write) */
    char found_build[256];  /* the build of the snapshot resumed from (checkpoint_read) */
    long written;
    long kill_after;        /* test hook: SIGKILL the process after this many (0: never) */
    int failed;
    nn_error first_error;
} checkpoint_sink;
int checkpoint_sink_save(void *ctx, const unsigned char *bytes, size_t len, nn_error *err);

#endif
