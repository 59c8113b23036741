/* cert_cli: option handling shared by 'nncert bounds', 'certify' and 'attack'
 * (private to src/cli): strict parsing of the common options, loading of the
 * model and data with shape checks, and the root attributes of result files. */
#ifndef CERT_CLI_H
#define CERT_CLI_H

#include "attack.h"
#include "bab.h"
#include "bound.h"
#include "certify.h"
#include "dataset.h"
#include "model.h"
#include "results_h5.h"

typedef struct {
    const char *model, *data, *out, *target_text;
    const char *mean, *std;    /* --mean/--std lists, NULL: not given */
    long start, count, index;
    norm_type norm;
    bound_options bopt;
    int clip;
    uint64_t seed;
    cert_search_kind search;
    double rtol;
    double eps;                /* NAN: not given */
    int steps, restarts;       /* attack */
    double step_size;          /* attack, fraction of eps; 0 = default */
    int attack_search;         /* attack --search */
    int threads;               /* BLAS threads (default 1) */
} cert_cli_opts;

/* Prototypes */
void cert_cli_defaults(cert_cli_opts *o);
/* Parse argv[1..]: options in `allowed` (a NULL-terminated list of names without
 * "--") are accepted, anything else is a usage error. Returns -1 when fine, else
 * the exit status (0 after --help, printed by help()). */
int cert_cli_parse(const char *cmd, int argc, char **argv, const char *const *allowed, void (*help)(void),
                   cert_cli_opts *o);
/* Options a command parses itself, taken out of argv before cert_cli_parse: own
 * is a NULL-terminated list of names without "--" ("!name": a flag, which gets
 * "" when given); val[k] receives option k's value or NULL, rest (argc + 1
 * entries) the other arguments. Returns -1 when fine, else the exit status. */
/* Branch and bound's options, shared by verify and vnncomp (doc/bab.md): the
 * names for cert_cli_take's own list (CERT_CLI_BAB_N of them, in this order), the
 * help lines, and their values into b (-1 when fine, else the exit status). */
#define CERT_CLI_BAB_NAMES "!bab", "bab-split", "bab-batch", "bab-candidates", "bab-max-frontier", \
    "bab-max-domains", "bab-unit", "checkpoint-every"
#define CERT_CLI_BAB_N 8
extern const char cert_cli_bab_help[];
/* timed: a timeout bounds every search (then no domain limit unless given);
 * method: the bound method, which batches (--bab-unit) must be able to use. */
int cert_cli_bab(const char *cmd, const char *const *val, int timed, bound_method method, bab_options *b);
/* The settings that change answers, for a job's identity. */
void cert_cli_bab_identity(const bab_options *b, char *buf, size_t cap);
/* Every bound option that changes a bound's bits, for a checkpoint's identity. */
void cert_cli_bound_identity(const bound_options *o, char *buf, size_t cap);
int cert_cli_take(const char *cmd, int argc, char **argv, const char *const *own, const char **val, char **rest,
                  int *n_rest);
/* Load model and data images [start, start+count); checks that shapes fit;
 * --mean/--std become the model's first layer. */
int cert_cli_load(const char *cmd, const cert_cli_opts *o, size_t start, size_t count, nn_model *m,
                  nn_dataset *ds);
/* The canonical --mean/--std attributes of a results file appended at attrs[n]
 * (room for 2; texts in bufs, freed by the caller); returns the new count. */
int cert_cli_norm_attrs(const cert_cli_opts *o, h5_attr *attrs, int n, char *bufs[2]);
/* argv joined by spaces (malloc'd). */
char *cert_cli_command_line(int argc, char **argv);

#endif
