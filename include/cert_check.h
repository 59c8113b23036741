/* cert_check: the certificates of a certify results file checked again
 * (doc/radius.md "Certificates"): the job from the file's config, the model
 * checked against its SHA-256, each task's evaluations replayed on a fresh state. */
#ifndef CERT_CHECK_H
#define CERT_CHECK_H

#include <stddef.h>
#include "cert_job.h"
#include "certify.h"
#include "dataset.h"
#include "job.h"
#include "model.h"

/* One task checked again. */
typedef struct {
    long index;
    int slot, label, pred, target;
    double radius;           /* the row's (/results), the last eps of the path */
    double margin_saved;     /* the margin the search computed there */
    double margin;           /* the margin lower bound recomputed there */
    int verified;            /* margin > 0: this computation certifies the radius */
    int identical;           /* margin and every row's lower bound have the saved bits */
    size_t n_path;           /* evaluations replayed */
    long bab_domains;        /* > 0: branch and bound certified the radius; domains it bounded again */
    double seconds;
} cert_check_row;

typedef struct {
    char *results;           /* the results file */
    job j;
    cert_job c;              /* the file's job; model and data as overridden */
    nn_model m;
    int have_m;
    nn_dataset ds;           /* images [ds.first, ds.first + ds.n) of the certificates */
    size_t n;                /* certificates */
    long *index;
    int *slot, *target, *pred, *label;
    double *radius, *margin;         /* of the /results row of each */
    cert_certificate *cert;
    cert_verifier v;         /* after cert_check_run: the state of the last evaluation */
    int have_v;
    int table_version;       /* of /certificates: 1, or 2 with bab_domains */
} cert_check;

/* Prototypes */
/* Open a results file's certificates: model and data NULL take the file's
 * (the config's paths). Errors name the file and what is missing or does not
 * match (no certificates, a model of another SHA-256, another version). */
int cert_check_open(cert_check *k, const char *results, const char *model, const char *data, nn_error *err);
/* The certificate of (index, slot), or -1. */
long cert_check_find(const cert_check *k, long index, int slot);
/* Certificate i replayed (cert_replay); out is filled as far as known. Fails
 * with a message naming the task when the certificate does not belong to its
 * /results row or to the data's image. */
int cert_check_run(cert_check *k, size_t i, cert_check_row *out, nn_error *err);
void cert_check_close(cert_check *k);

#endif
