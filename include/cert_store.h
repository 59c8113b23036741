/* cert_store: the results of a certify job on disk — an HDF5 file (/results
 * rows, optional /bounds) that readers use, and next to it an append-only
 * journal that makes it crash-safe and resumable. Only the master opens it. */
#ifndef CERT_STORE_H
#define CERT_STORE_H

#include <stddef.h>
#include <stdint.h>
#include "certify.h"
#include "nn_error.h"
#include "results_h5.h"

typedef struct cert_store cert_store;

/* A task handed to a rank (the leader of its group) and not answered. */
typedef struct {
    int64_t task;
    int rank;
} cert_store_held;

/* A checkpoint of a task that earlier runs left unfinished (cert_store_checkpoint). */
typedef struct {
    int64_t task;
    const unsigned char *data;
    size_t len;
} cert_store_part;

/* Called at open for every task already finished by earlier runs. */
typedef void (*cert_store_row_fn)(void *ctx, int64_t task, const cert_result *r);

typedef struct {
    const char *path;        /* results file; the journal is path + ".journal" */
    const char *job_key;     /* identity of the job: a file of another job is refused */
    int force_new;           /* replace whatever is there */
    int slots;               /* tasks per image: task = index * slots + slot */
    const h5_attr *attrs;    /* root attributes (job_key, start/end time, runs added) */
    int n_attrs;
    int n_layers;            /* layers with saved bounds (0: no /bounds) */
    const int *layer;        /* [n_layers] model layer index */
    const size_t *layer_size;/* [n_layers] neurons of its input */
    int attack;              /* 1: /results has the pgd_eps, pgd_lo, pgd_class columns */
    size_t attack_in;        /* > 0: saved counterexamples (/attacks) of this input size */
    size_t attack_out;       /* and this output size */
    size_t milp_in;          /* > 0 (method milp): /results milp_eps, milp_class and the
                                checked points (/milp_counterexamples) of this input size */
    size_t milp_out;         /* and this output size */
    int cert_classes;        /* > 0: saved certificates (/certificates) of a model of these classes */
    size_t cert_path_width;  /* and at most this many evaluations each (cert_job_path_width) */
    double flush_seconds;    /* write and sync at least this often */
    int ranks;               /* ranks of this run (recorded per run) */
    const char *software;    /* the build recorded per run (NULL: this binary's git commit) */
    cert_store_row_fn on_row;
    void *row_ctx;
} cert_store_options;

/* Prototypes */
/* Open or create the results. An existing journal (or, without one, an existing
 * results file) of the same job_key is recovered: its tasks count as finished
 * and the HDF5 file is rewritten from it, so a file torn by a crash is repaired.
 * Another job's file is refused (NN_EARG) unless force_new. Fails before any
 * work when the location cannot be written. */
int cert_store_open(cert_store **s, const cert_store_options *o, nn_error *err);
/* Finished by an earlier run (as recovered at open). */
int cert_store_done(const cert_store *s, int64_t task);
size_t cert_store_recovered(const cert_store *s);
/* The build (git commit) of the last earlier run whose build is not this run's
 * ("unrecorded": a binary from before builds were recorded), or NULL when every
 * earlier run was this build. Rows such runs finished are kept as they are;
 * rows computed now may differ from what they would give in the last bits. */
const char *cert_store_other_build(const cert_store *s);
/* The tasks the last earlier run handed out and never answered, sorted by rank
 * then task: what it had in flight when it ended (a lost rank, a killed job). */
size_t cert_store_unanswered(const cert_store *s, const cert_store_held **held);
/* Tasks sent to the group led by rank (-1: taken back unstarted), journaled
 * before they are sent so that a rerun can name what a lost run held. */
int cert_store_assigned(cert_store *s, int rank, const int64_t *tasks, size_t n, nn_error *err);
/* A finished part of a task in flight, as the application's opaque bytes (the
 * bounds of one layer, doc/lp.md "Checkpoints"): journaled at once, so it
 * survives kill -9. Once the task's result is journaled its parts are dead:
 * they stay in the file but are never read back into memory. */
int cert_store_checkpoint(cert_store *s, int64_t task, const unsigned char *data, size_t len, nn_error *err);
/* The parts recovered at open of the tasks without a result, in journal order
 * (valid until close). */
size_t cert_store_checkpoints(const cert_store *s, const cert_store_part **parts);
/* A finished task: journaled at once (survives kill -9), written to the HDF5
 * file at the next flush. extra: the payloads flagged in r->saved, in flag
 * order, each a little-endian u64 length and the bytes (NULL: none): bounds are
 * eps then lower/upper of each saved layer, a counterexample is eps, x_adv,
 * logits, all little-endian doubles; a certificate is cert_certificate_pack's;
 * a MILP counterexample is eps, x, logits like the PGD one. */
int cert_store_add(cert_store *s, int64_t task, int rank, const cert_result *r, const unsigned char *extra,
                   size_t extra_len, nn_error *err);
/* Flush when flush_seconds have passed (or force). */
int cert_store_tick(cert_store *s, int force, nn_error *err);
/* Flush and close; complete = 1 records the end time. s is freed either way. */
int cert_store_close(cert_store *s, int complete, nn_error *err);
/* Bytes of a bounds payload for these layers. */
size_t cert_store_bounds_bytes(int n_layers, const size_t *layer_size);

#endif
