/* results_h5: the HDF5 outputs of bounds, certify and attack (doc/formats.md
 * "Results files"). Result tables are column datasets under /results that grow by appended
 * rows and are flushed after each append, so a crashed run keeps its rows. */
#ifndef RESULTS_H5_H
#define RESULTS_H5_H

#include <stddef.h>
#include <stdint.h>
#include "bound.h"
#include "nn_error.h"

#ifndef NNCERT_VERSION
#define NNCERT_VERSION "0.1.0"
#endif

typedef struct {
    const char *key;    /* attribute name */
    const char *str;    /* string value, or NULL for a number */
    double num;         /* numeric value when str is NULL */
    int is_int;         /* store num as int64 */
} h5_attr;

typedef enum { H5COL_INT, H5COL_DOUBLE, H5COL_STRING, H5COL_U8 } h5_col_type; /* int64, double, bytes, uint8 */

typedef struct {
    const char *name;   /* dataset name under the table's group ('/' makes subgroups) */
    h5_col_type type;
    size_t width;       /* values per row: 1 gives a 1-D dataset, else [rows, width];
                           H5COL_STRING: bytes per string (1-D, NUL-padded) */
} h5_column;

typedef struct h5_table h5_table;  /* an open results file */

/* Prototypes */
/* Create path (truncating) with root attributes (software version added) and the
 * empty extendible /results/<column> datasets. */
int h5_table_create(h5_table **t, const char *path, const h5_attr *attrs, int n_attrs, const h5_column *cols,
                    int n_cols, nn_error *err);
/* A second table in the same file under group `group` (e.g. "bounds"), with
 * deflate-compressed chunks of chunk_rows rows when deflate > 0. Close it before
 * its parent. */
int h5_table_create_in(h5_table *parent, const char *group, const h5_column *cols, int n_cols, size_t chunk_rows,
                       int deflate, h5_table **out, nn_error *err);
/* Append n rows: data[c] holds n*width values of column c (int64_t, double, or
 * n strings of width bytes). Flushes the file unless autoflush is off. */
int h5_table_append(h5_table *t, const void *const *data, size_t n, nn_error *err);
void h5_table_set_autoflush(h5_table *t, int on);
int h5_table_flush(h5_table *t, nn_error *err);
/* Root attribute of the file the table lives in. */
int h5_table_root_attr(h5_table *t, const h5_attr *a, nn_error *err);
size_t h5_table_rows(const h5_table *t);
/* Read back a results file: the string root attribute `key` (malloc'd, NULL if
 * absent) and every row of the 1-D columns cols under /results (data[c]
 * malloc'd: int64_t, double or width-byte strings). NN_EFORMAT if the file is not
 * readable HDF5 or lacks a column. */
int h5_table_read(const char *path, const char *key, char **key_value, const h5_column *cols, int n_cols,
                  void **data, size_t *rows, nn_error *err);
/* The same for the table under /group (e.g. "certificates"), vector columns
 * included (width > 1: [rows, width], data[c] gets rows x width values). */
int h5_table_read_in(const char *path, const char *group, const h5_column *cols, int n_cols, void **data,
                     size_t *rows, nn_error *err);
/* Root attributes keys[0..n) of a results file as text (values[i] malloc'd;
 * numbers as %.17g or %lld; NULL when absent). NN_EFORMAT if not readable HDF5. */
int h5_read_attrs(const char *path, const char *const *keys, int n, char **values, nn_error *err);
/* This binary's git commit (`git describe --dirty` at build time), as every
 * results file records it (root attribute git_commit). */
const char *results_git_commit(void);
/* 1 when the file has the dataset /results/<column>. */
int h5_table_has(const char *path, const char *column);
/* Attribute on the /results group (e.g. a legend of status codes). */
int h5_table_attr(h5_table *t, const h5_attr *a, nn_error *err);
int h5_table_close(h5_table *t, nn_error *err);

/* The bounds file: /bounds/NNN (lower, upper, attr type) for every layer with
 * bounds on its input, with source[NNN] (uint8 per neuron, when source and
 * source[NNN] are not NULL; source_names = its legend, an attribute of /bounds),
 * /margin/lower, /margin/upper, /margin/target, root attrs. */
int h5_write_bounds(const char *path, const h5_attr *attrs, int n_attrs, const bound_state *st,
                    const unsigned char *const *source, const char *source_names, const double *margin_lower,
                    const double *margin_upper, const int *margin_target, size_t rows, nn_error *err);

/* The MILP outcome of each margin row of a bounds file (method milp), as /milp:
 * proven, lower, cbc_bound, value (the row at point by the exact forward pass,
 * NaN: no point), has_point, counterexample (value < 0 at a point in the
 * region), point[rows x n_in] (NaN rows: none). */
typedef struct {
    size_t rows, n_in;
    const int *proven, *has_point, *counterexample;
    const double *lower, *cbc_bound, *value, *point;
} h5_milp_rows;
/* Adds /milp to the file h5_write_bounds wrote. */
int h5_write_milp(const char *path, const h5_milp_rows *m, nn_error *err);

#endif
