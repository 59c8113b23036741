/* cert_app: 'nncert certify' as a scheduler application (private to src/cli):
 * task ids = image index x tasks-per-image + slot; the worker side runs
 * cert_run_image_task and packs the row (and saved bounds), the master side
 * stores rows, counts them and shows progress. */
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
    /* master */
    cert_store *store;
    sched_progress progress;
    long counts[CERT_STATUS_COUNT], rows, evals;
    double sum_radius;
    /* test hook: SIGKILL itself once this many rows of this run are journaled
     * (NNCERT_TEST_KILL_AFTER_ROWS; 0 = never): a kill -9 at a known point */
    long kill_after, added;
} cert_app;

/* Prototypes */
/* Model facts every rank needs: slots, saved-bounds layers, and the size and
 * shape of the data set (read from its header and first image). */
int cert_app_init(cert_app *a, const cert_job *c, const nn_model *m, nn_error *err);
void cert_app_free(cert_app *a);
/* Images of the job: count, or to the end of the data set. */
long cert_app_images(const cert_app *a);
/* The callbacks, ctx = a. */
sched_app cert_app_callbacks(cert_app *a);
/* Master: count a finished row (also used for rows recovered from a file). */
void cert_app_count(void *ctx, int64_t task, const cert_result *r);

#endif
