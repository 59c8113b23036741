/* job: the description of one run as key = value pairs, from an INI file (inih)
 * and command-line flags, checked against a schema of known keys; every value
 * remembers where it came from so errors name the file, line and key. */
#ifndef JOB_H
#define JOB_H

#include <stddef.h>
#include "nn_error.h"

typedef enum {
    JOB_STR,    /* any text */
    JOB_INT,    /* integer */
    JOB_REAL,   /* floating-point number */
    JOB_BOOL,   /* true/false, yes/no, on/off, 1/0 */
    JOB_LIST,   /* comma-separated integers and ranges a-b, e.g. "0-9, 17" */
    JOB_SELECT, /* "all", or a JOB_LIST */
} job_type;

typedef struct {
    const char *section;  /* INI section the key belongs to */
    const char *key;      /* name in the file; the flag is --key with '_' as '-' */
    job_type type;
    const char *def;      /* default value text (NULL: none) */
    int identity;         /* 1: the value decides the results (resume identity) */
} job_key;

typedef struct {
    const job_key *schema;  /* not owned */
    int n_keys;
    char **value;           /* [n_keys] value text as given, NULL if not given */
    char **origin;          /* [n_keys] "file.ini:12" or "command line" */
    char *file;             /* config file loaded, NULL if none */
} job;

/* Prototypes */
int job_init(job *j, const job_key *schema, int n_keys, nn_error *err);
void job_free(job *j);
/* Read an INI file: [section] headers, key = value lines, ';' or '#' comment
 * lines, inline comments after " ;", indented lines continuing the value above
 * (joined with '\n'). Unknown sections and keys, keys in the
 * wrong section, keys given twice and values of the wrong type are errors
 * "path:line: ..."; nothing is kept from a file with an error. */
int job_load_ini(job *j, const char *path, nn_error *err);
/* The same from text (e.g. job_text of another process); name is used in errors. */
int job_load_text(job *j, const char *text, const char *name, nn_error *err);
/* Set (or override) a key; origin is used in later errors. Type-checked. */
int job_set(job *j, const char *key, const char *value, const char *origin, nn_error *err);
/* Index of a key in the schema, -1 if unknown. */
int job_find(const job *j, const char *key);
/* Value given for key, else its default, else NULL. */
const char *job_value(const job *j, const char *key);
int job_is_set(const job *j, const char *key);
/* Typed values (the key's value or default; the caller checks presence). Errors
 * name the origin and the key. */
int job_get_long(const job *j, const char *key, long lo, long hi, long *out, nn_error *err);
int job_get_double(const job *j, const char *key, double *out, nn_error *err);
int job_get_bool(const job *j, const char *key, int *out, nn_error *err);
/* JOB_LIST values, expanded and sorted without duplicates (malloc'd, *n may be 0). */
int job_get_list(const job *j, const char *key, long **vals, size_t *n, nn_error *err);
/* JOB_SELECT values: *all = 1 for "all" (no list), else the list as above. */
int job_get_select(const job *j, const char *key, int *all, long **vals, size_t *n, nn_error *err);
/* Fail with "<origin>: key '<key>': <message>" (origin of the value, or "default"). */
int job_fail(const job *j, const char *key, nn_error *err, nn_code code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Canonical INI text (malloc'd): every key with a value or default, in schema
 * order under its section; identity_only keeps only the identity keys. Loading
 * it back gives the same job. */
char *job_text(const job *j, int identity_only);
/* First line where two job texts differ, as "key = a" vs "key = b" (for refusing
 * a results file of another job); writes a NUL-terminated description to out. */
void job_text_diff(const char *a, const char *b, char *out, size_t size);

#endif
