/* cert_app: the certify job as a scheduler application. Task = image index x
 * tasks-per-image + slot; workers run cert_run_image_task in rank groups that
 * split its rows, the master stores the rows (cert_store) and shows progress. */
#ifndef CERT_APP_H
#define CERT_APP_H

#include "cert_job.h"
#include "cert_store.h"
#include "dataset.h"
#include "model.h"
#include "scheduler.h"

typedef struct {
    const cert_job *c;
    const nn_model *m;          /* loaded by the caller on every rank */
    int slots;                  /* tasks per image */
    size_t total;               /* images in the data set */
    nn_shape data_shape;        /* of the data set's images */
    int n_layers;               /* nonlinear layers (saved bounds) */
    int *layer;
    size_t *layer_size;
    /* worker */
    nn_dataset ds;              /* images [c->start, ...) that exist */
    cert_verifier v;
    int have_v;
    cert_task_options to;
    /* checkpoints (doc/lp.md "Checkpoints", doc/bab.md "Certified radii"): the
     * finished layers of a task, the records of its branch-and-bound searches */
    int checkpoints;            /* 1: journaled (lp-all, milp layers; bab records) */
    sched_group *g;             /* worker: its group, which sends them */
    char *parts;                /* every rank: the journaled layers of unfinished tasks,
                                 * from the master (cert_app_pack_parts) */
    size_t parts_len;
    struct cert_app_part *index;/* parts by task */
    size_t n_index;
    struct cert_app_layer *known;  /* the running task's layers: journaled or computed */
    size_t n_known, cap_known;
    int64_t task_now;           /* the running task (-1: none) */
    const double *x_now;        /* its image */
    uint64_t x_hash;            /* of the image's values */
    long reused;                /* layers of the running task taken from the journal */
    long bab_reused, bab_resumed; /* its branch-and-bound searches: outcomes, snapshots taken */
    /* master */
    cert_store *store;
    sched_progress progress;
    long counts[CERT_STATUS_COUNT], rows, evals;
    double sum_radius;
    /* test hook, set by the caller after init: SIGKILL the process once this many
     * rows of this run are journaled (0 = never), a kill -9 at a known point */
    long kill_after, added;
    /* the same after this many layer checkpoints of this run are journaled */
    long kill_after_layers, layers_added;
} cert_app;

/* Prototypes */
/* Model facts every rank needs: slots, saved-bounds layers, and the size and
 * shape of the data set (read from its header and first image). */
int cert_app_init(cert_app *a, const cert_job *c, const nn_model *m, nn_error *err);
void cert_app_free(cert_app *a);
/* Before any work (doc/scheduler.md "Memory"): NN_ENOMEM with a message giving
 * the estimate of a worker (bound_estimate_memory and the images it loads), the
 * limit (max_memory, or sched_rank_memory) and where it came from, and the keys
 * that would bring it under, with values where computable; NN_OK when it fits. */
int cert_app_check_memory(const cert_app *a, nn_error *err);
/* Images of the job: count, or to the end of the data set. */
long cert_app_images(const cert_app *a);
/* The callbacks, ctx = a. */
sched_app cert_app_callbacks(cert_app *a);
/* Master, after the store is open: the layers journaled for unfinished tasks
 * into a->parts, for every rank (sched_bcast_bytes; one process keeps them). */
int cert_app_pack_parts(cert_app *a, nn_error *err);
/* Every rank, before setup: index a->parts (on a worker rank: as broadcast,
 * owned by a from now on). */
int cert_app_index_parts(cert_app *a, nn_error *err);
/* Master: count a finished row (also used for rows recovered from a file). */
void cert_app_count(void *ctx, int64_t task, const cert_result *r);

#endif
