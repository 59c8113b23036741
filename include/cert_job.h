/* cert_job: the keys of a certify job, one schema for the INI file and the
 * command line (--key-name = key_name), and their resolution into engine and
 * run options, with errors that name the file, line and key. */
#ifndef CERT_JOB_H
#define CERT_JOB_H

#include <stdint.h>
#include "bound.h"
#include "certify.h"
#include "job.h"
#include "model.h"

/* Input normalization given as --mean/--std (keys mean, std): n values each, or
 * n = 0 when neither is given (doc/formats.md "Input normalization"). */
typedef struct {
    int n;
    double *mean, *std;
} input_norm;

typedef struct {
    const char *model, *data, *out;  /* point into the job's values */
    input_norm norm;                 /* keys mean and std (owned) */
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
    int certificates_all;            /* save_certificates = all */
    long *save_certificates;         /* else sorted image indices whose certificates are saved (owned) */
    size_t n_save_certificates;
    double flush_seconds, progress_seconds;
    int force_new;
    int ranks_per_image;             /* 0: all workers */
    int threads;                     /* BLAS threads of every rank (blas_threads_set) */
    int dry_tasks;                   /* benchmark only: tasks do no bound work */
    size_t max_memory;               /* bytes a rank may use (0: what it can get, sched_rank_memory) */
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
int cert_job_saves_certificate(const cert_job *c, long index);
int cert_job_certificates(const cert_job *c);   /* 1: some image's certificates are saved */
/* The most evaluations a task's search makes: the width of /certificates/path. */
size_t cert_job_path_width(const cert_job *c);
/* Comma lists of numbers (either may be NULL: mean 0, std 1; one value is
 * repeated to the other's count); std > 0 and every value finite. Errors name
 * --mean or --std. */
int input_norm_parse(const char *mean, const char *std, input_norm *in, nn_error *err);
/* "v1,v2,..." with %.17g (malloc'd), the canonical text of one side. */
char *input_norm_text(const double *v, int n);
/* Prepends the normalize layer to m (nothing when in->n == 0). */
int input_norm_apply(const input_norm *in, nn_model *m, nn_error *err);
void input_norm_free(input_norm *in);

#endif
