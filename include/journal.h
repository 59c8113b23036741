/* journal: an append-only file of checksummed records that survives kill -9 at
 * any point: after a crash it reads back every complete record and drops (and
 * truncates) a torn tail. The results store keeps finished tasks in it. */
#ifndef JOURNAL_H
#define JOURNAL_H

#include <stddef.h>
#include <stdint.h>
#include "nn_error.h"

typedef struct journal journal;

/* Called for each complete record in file order; non-zero stops the replay. */
typedef int (*journal_record_fn)(void *ctx, uint32_t type, const unsigned char *data, size_t len, nn_error *err);

/* Prototypes */
/* Open path for appending, creating it if missing (*created tells which), and
 * lock it: a journal another process has open this way is refused, naming it. */
int journal_open(journal **j, const char *path, int *created, nn_error *err);
/* NN_OK when no process holds path's lock (or path does not exist). */
int journal_check_unused(const char *path, nn_error *err);
/* Read every complete record from the start; a torn or corrupt tail is cut off
 * the file (*dropped = bytes removed) so that appends continue after the last
 * good record. Call once, before appending. */
int journal_replay(journal *j, journal_record_fn fn, void *ctx, size_t *dropped, nn_error *err);
/* One record, in one write(2): after it returns, a kill -9 cannot lose it. */
int journal_append(journal *j, uint32_t type, const void *data, size_t len, nn_error *err);
/* fdatasync: the records also survive a crash of the machine. */
int journal_sync(journal *j, nn_error *err);
int journal_close(journal *j, nn_error *err);
const char *journal_path(const journal *j);

#endif
