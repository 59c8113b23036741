/* vnncomp_app: a VNN-COMP benchmark (instances.csv) as a scheduler application.
 * Task = instance index; a worker verifies one instance (model, property,
 * timeout) with prop_verify; the master journals every answer for resume and
 * writes the CSV of (onnx, vnnlib, result, seconds) (doc/verify.md "Benchmarks"). */
#ifndef VNNCOMP_APP_H
#define VNNCOMP_APP_H

#include <stdint.h>
#include "instances.h"
#include "journal.h"
#include "model.h"
#include "property.h"
#include "scheduler.h"

#define VNNCOMP_ERROR 4          /* answer code of an instance that could not be run */
#define VNNCOMP_RESULT_BYTES 256 /* answer (8), seconds (8), error message (224), branch and
                                    bound's domains bounded (8) and domains left open (8) */

typedef struct {
    const instances *in;
    prop_options po;            /* the instance's timeout replaces po.timeout */
    /* worker: the last model loaded (instances often share one) */
    nn_model model;
    char *model_path;
    char model_sha[65];         /* of model_path's bytes, with ckpt_dir (checkpoint identity) */
    sched_group *group;         /* the ranks that verify an instance together */
    /* master */
    journal *j;
    unsigned char *done;        /* [n] answered, in this run or an earlier one */
    int *answer;                /* [n] prop_answer or VNNCOMP_ERROR */
    double *seconds;            /* [n] wall time of the instance */
    int64_t *bab_domains, *bab_open; /* [n] branch and bound's counts (0 without --bab) */
    long counts[5];
    size_t recovered;           /* answers read back from the journal */
    sched_progress progress;
    /* test hook, set by the caller: SIGKILL the process once this many answers
     * of this run are journaled (0 = never), a kill -9 at a known point */
    long kill_after, added;
    /* Branch and bound's checkpoints, set by the caller (NULL: none): the group
     * leader keeps instance i's latest snapshot in ckpt_dir/instance-<i>.ckpt,
     * tagged with ckpt_identity and the instance's files; the master removes it
     * once the answer is journaled. ckpt_kill_after is tests' SIGKILL hook. */
    const char *ckpt_dir, *ckpt_identity;
    long ckpt_kill_after;
} vnncomp_app;

/* Prototypes */
int vnncomp_app_init(vnncomp_app *a, const instances *in, const prop_options *po, nn_error *err);
void vnncomp_app_free(vnncomp_app *a);
/* Master: open (or with force_new, restart) the journal at path; the answers it
 * holds count as done. identity names the job: a journal of another job is
 * refused. */
int vnncomp_app_open_journal(vnncomp_app *a, const char *path, const char *identity, int force_new, nn_error *err);
/* Master: one line per instance, in the file's order: onnx,vnnlib,result,seconds. */
int vnncomp_app_write_csv(const vnncomp_app *a, const char *path, nn_error *err);
/* Master: the same table as an HDF5 results file (doc/formats.md "VNN-COMP
 * instance lists"): /results/onnx, vnnlib, result (code), seconds, timeout;
 * identity (the job) as a root attribute. */
int vnncomp_app_write_h5(const vnncomp_app *a, const char *path, const char *identity, nn_error *err);
sched_app vnncomp_app_callbacks(vnncomp_app *a);
/* Master: remove every instance's checkpoint (a job started afresh). */
int vnncomp_app_clear_checkpoints(const vnncomp_app *a, nn_error *err);
/* unsat, sat, unknown, timeout, error */
const char *vnncomp_answer_name(int answer);

#endif
