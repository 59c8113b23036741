/* verify_app: one VNN-LIB property verified by a group of MPI ranks, as a
 * scheduler application of one task: every worker runs the same search in
 * lockstep, the master hands out each round's jobs and receives the answer. */
#ifndef VERIFY_APP_H
#define VERIFY_APP_H

#include "model.h"
#include "property.h"
#include "scheduler.h"

#define VERIFY_RESULT_BYTES 512  /* status and message, then the prop_result (verify_app.c) */

typedef struct {
    /* workers */
    const nn_model *model;       /* not owned */
    const prop_spec *spec;       /* not owned */
    prop_options po;             /* bab.save set only where this rank writes the snapshots */
    sched_group *group;
    /* the group's leader, after the search: e.g. remove or keep its checkpoint */
    void (*finished)(void *ctx, const prop_result *r);
    void *finished_ctx;
    /* master: the answer, once received */
    int have;
    int rc;                      /* the workers' error code (0: r holds the answer) */
    nn_error err;
    prop_result r;               /* x and y owned (sat) */
} verify_app;

/* Prototypes */
sched_app verify_app_callbacks(verify_app *a);
/* Master: frees what the answer holds. */
void verify_app_free(verify_app *a);

#endif
