/* HDF5 reading helpers shared by the model readers (native schema, Keras):
 * attributes, datasets and files read with every check named in the message,
 * "FILE: WHERE: what is wrong". Internal to src/io; includes <hdf5.h>. */
#ifndef H5_READ_H
#define H5_READ_H

#include <hdf5.h>

#include "nn_error.h"

/* Where in the file the reader is, for messages. */
typedef struct {
    const char *path;   /* file name as given */
    char where[160];    /* "layers/003 (dense): " or "" for the root */
    nn_error *err;
    int version;        /* the file's format version */
} h5r_ctx;

/* Prototypes */
/* HDF5 prints its own error stack by default; nncert reports instead. */
void h5r_quiet(void);
/* The most specific message on HDF5's error stack, or "" when there is none. */
const char *h5r_reason(char buf[200]);
int h5r_fail(h5r_ctx *c, nn_code code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A failed HDF5 call: our words plus HDF5's innermost reason. */
int h5r_fail_h5(h5r_ctx *c, const char *what);
const char *h5r_class_name(H5T_class_t cls);
char *h5r_strdup(const char *s);
/* Opens attribute `name` of obj; 0 when absent (and not required), -1 on error. */
hid_t h5r_attr_open(h5r_ctx *c, hid_t obj, const char *name, int required, int *rc);
hssize_t h5r_attr_npoints(hid_t a);
H5T_class_t h5r_attr_class(hid_t a);
/* Reads a one-element string attribute of open attribute a (fixed or variable length). */
int h5r_attr_string(h5r_ctx *c, hid_t a, const char *name, char **out);
/* A string attribute; *out stays NULL when it is absent and not required. */
int h5r_string_attr(h5r_ctx *c, hid_t obj, const char *name, int required, char **out);
/* An array of strings (fixed or variable length): *out[*n], each owned; *out
 * stays NULL when it is absent and not required. */
int h5r_string_list_attr(h5r_ctx *c, hid_t obj, const char *name, int required, char ***out, int *n);
void h5r_string_list_free(char **v, int n);
/* n integers (any HDF5 integer type, a scalar when n == 1); `defaults` (may be
 * NULL) is used when the attribute is absent, otherwise absence is an error. */
int h5r_int_attr(h5r_ctx *c, hid_t obj, const char *name, int n, const int *defaults, int *out);
/* One finite number stored as any float or integer type. */
int h5r_double_attr(h5r_ctx *c, hid_t obj, const char *name, double *out);
/* Opens object `name` of loc and checks it is of the expected kind. */
hid_t h5r_open_kind(h5r_ctx *c, hid_t loc, const char *name, const char *label, H5I_type_t kind, int *rc);
/* Reads float32/float64 dataset `name` of rank `rank` (<= 4) into a new double
 * array, refusing NaN/Inf; dims[] receives its extents. `layout` describes the
 * expected shape in messages. */
int h5r_tensor(h5r_ctx *c, hid_t grp, const char *name, int rank, const char *layout, int dims[4], double **out);
/* Opens an existing regular HDF5 file read-only with the strong close degree
 * (closing the file closes whatever an error path left open); -1 with err set
 * on failure. `not_hdf5` ends the message for a file without the signature. */
hid_t h5r_open_file(const char *path, const char *not_hdf5, nn_error *err);

#endif
