/* cert_job: the keys of a certify job, one schema for the INI file and the
 * command line (--key-name = key_name), and their resolution into engine and
 * run options, with errors that name the file, line and key. */
#ifndef CERT_JOB_H
#define CERT_JOB_H

#include <stdint.h>
#include "bound.h"
#include "certify.h"
#include "job.h"

typedef struct {
    const char *model, *data, *out;  /* point into the job's values */
    long start, count;               /* images [start, start+count); count 0: to the end */
    bound_options bopt;
    cert_target_spec target;
    const char *target_text;
    cert_task_options task;          /* norm, clip, fixed eps or search (guess filled per model) */
    long *save_bounds;               /* sorted image indices whose bounds are saved (owned) */
    size_t n_save_bounds;
    int attack;                      /* 1: PGD upper bound of every task (attack = pgd) */
    long *save_attacks;              /* sorted image indices whose counterexamples are saved (owned) */
    size_t n_save_attacks;
    double flush_seconds, progress_seconds;
    int force_new;
    int ranks_per_image;             /* 0: all workers */
    int threads;                     /* BLAS threads of every rank (blas_threads_set) */
    int dry_tasks;                   /* benchmark only: tasks do no bound work */
    double drain_seconds;            /* after a stop signal: wait this long for tasks in flight */
} cert_job;

/* Prototypes */
int cert_job_schema(const job_key **keys);  /* returns the key count */
/* Check and convert every key (nothing is loaded); rewrites identity values in
 * canonical form so that equal jobs have equal texts. */
int cert_job_resolve(job *j, cert_job *c, nn_error *err);
void cert_job_free(cert_job *c);
/* Identity of the results (malloc'd): the identity keys plus the model's SHA-256. */
char *cert_job_identity(const job *j, const char *model_sha256);
int cert_job_saves_bounds(const cert_job *c, long index);
int cert_job_saves_attack(const cert_job *c, long index);

#endif
