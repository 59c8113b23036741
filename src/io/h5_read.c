/* HDF5 reading helpers of the model readers (src/io/h5_read.h).
 *
 * The readers trust nothing in the file: every attribute and dataset is checked
 * for presence, HDF5 type class, rank and extent before it is read, and weights
 * for NaN/Inf after; the innermost HDF5 reason is appended when a library call
 * fails (it is the useful part: "truncated file: eof = ..."). */
#include "h5_read.h"
#include "h5_sandbox.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


void h5r_quiet(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

static herr_t innermost_cb(unsigned n, const H5E_error2_t *e, void *data)
{
    if (n == 0 && e->desc) snprintf((char *)data, 200, "%s", e->desc);
    return 0;
}

/* The most specific message on HDF5's error stack, or "" when there is none. */
const char *h5r_reason(char buf[200])
{
    buf[0] = '\0';
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, innermost_cb, buf);
    return buf;
}

int h5r_fail(h5r_ctx *c, nn_code code, const char *fmt, ...)
{
    char what[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return nn_fail(c->err, code, "%s: %s%s", c->path, c->where, what);
}

/* A failed HDF5 call: our words plus HDF5's innermost reason. */
int h5r_fail_h5(h5r_ctx *c, const char *what)
{
    char reason[200];
    h5r_reason(reason);
    if (reason[0])
        return h5r_fail(c, NN_EFORMAT, "%s (HDF5: %s; the file may be truncated or corrupt)", what, reason);
    return h5r_fail(c, NN_EFORMAT, "%s (the file may be truncated or corrupt)", what);
}

const char *h5r_class_name(H5T_class_t cls)
{
    switch (cls) {
    case H5T_INTEGER: return "integer";
    case H5T_FLOAT: return "float";
    case H5T_STRING: return "string";
    case H5T_BITFIELD: return "bitfield";
    case H5T_OPAQUE: return "opaque";
    case H5T_COMPOUND: return "compound";
    case H5T_REFERENCE: return "reference";
    case H5T_ENUM: return "enum (e.g. bool)";
    case H5T_VLEN: return "variable-length sequence";
    case H5T_ARRAY: return "array";
    default: return "unknown";
    }
}

char *h5r_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

/* ---- attributes ------------------------------------------------------------ */

/* Opens attribute `name` of obj; 0 when absent (and not required), -1 on error. */
hid_t h5r_attr_open(h5r_ctx *c, hid_t obj, const char *name, int required, int *rc)
{
    *rc = NN_OK;
    htri_t has = H5Aexists(obj, name);
    if (has < 0) {
        char what[128];
        snprintf(what, sizeof what, "cannot look up attribute '%s'", name);
        *rc = h5r_fail_h5(c, what);
        return -1;
    }
    if (!has) {
        if (required) *rc = h5r_fail(c, NN_EFORMAT, "attribute '%s' is missing", name);
        return 0;
    }
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    if (a < 0) {
        char what[128];
        snprintf(what, sizeof what, "cannot open attribute '%s'", name);
        *rc = h5r_fail_h5(c, what);
    }
    return a;
}

hssize_t h5r_attr_npoints(hid_t a)
{
    hid_t s = H5Aget_space(a);
    if (s < 0) return -1;
    hssize_t n = H5Sget_simple_extent_type(s) == H5S_NULL ? 0 : H5Sget_simple_extent_npoints(s);
    H5Sclose(s);
    return n;
}

H5T_class_t h5r_attr_class(hid_t a)
{
    hid_t t = H5Aget_type(a);
    if (t < 0) return H5T_NO_CLASS;
    H5T_class_t cls = H5Tget_class(t);
    H5Tclose(t);
    return cls;
}

/* Reads a one-element string attribute of open attribute a (fixed or variable length). */
int h5r_attr_string(h5r_ctx *c, hid_t a, const char *name, char **out)
{
    int rc = NN_OK;
    hid_t ft = H5Aget_type(a), mt = -1;
    if (ft < 0) return h5r_fail_h5(c, "cannot read an attribute type");
    if (H5Tget_class(ft) != H5T_STRING) {
        rc = h5r_fail(c, NN_EFORMAT, "attribute '%s' has type %s, expected string", name,
                     h5r_class_name(H5Tget_class(ft)));
        goto done;
    }
    if (h5r_attr_npoints(a) != 1) {
        rc = h5r_fail(c, NN_EFORMAT, "attribute '%s' must hold one string, found %lld", name,
                     (long long)h5r_attr_npoints(a));
        goto done;
    }
    /* HDF5 converts strings only within one character set, so read in the file's. */
    mt = H5Tcopy(H5T_C_S1);
    H5Tset_cset(mt, H5Tget_cset(ft));
    if (H5Tis_variable_str(ft) > 0) {
        char *v = NULL;
        H5Tset_size(mt, H5T_VARIABLE);
        if (H5Aread(a, mt, &v) < 0) {
            rc = h5r_fail_h5(c, "cannot read a string attribute");
            goto done;
        }
        *out = h5r_strdup(v ? v : "");
        H5free_memory(v);
    } else {
        size_t n = H5Tget_size(ft);
        char *v = calloc(n + 1, 1);
        if (!v) {
            rc = h5r_fail(c, NN_ENOMEM, "out of memory reading attribute '%s'", name);
            goto done;
        }
        H5Tset_size(mt, n + 1);
        H5Tset_strpad(mt, H5T_STR_NULLTERM);
        if (H5Aread(a, mt, v) < 0) {
            free(v);
            rc = h5r_fail_h5(c, "cannot read a string attribute");
            goto done;
        }
        *out = v;
    }
    if (!*out) rc = h5r_fail(c, NN_ENOMEM, "out of memory reading attribute '%s'", name);
done:
    if (mt >= 0) H5Tclose(mt);
    H5Tclose(ft);
    return rc;
}

/* A string attribute; *out stays NULL when it is absent and not required. */
int h5r_string_attr(h5r_ctx *c, hid_t obj, const char *name, int required, char **out)
{
    int rc;
    *out = NULL;
    hid_t a = h5r_attr_open(c, obj, name, required, &rc);
    if (a <= 0) return rc;
    rc = h5r_attr_string(c, a, name, out);
    H5Aclose(a);
    return rc;
}

/* n integers (any HDF5 integer type, a scalar when n == 1); `defaults` (may be
 * NULL) is used when the attribute is absent, otherwise absence is an error. */
int h5r_int_attr(h5r_ctx *c, hid_t obj, const char *name, int n, const int *defaults, int *out)
{
    int rc;
    hid_t a = h5r_attr_open(c, obj, name, defaults == NULL, &rc);
    if (a < 0 || rc) return rc;
    if (a == 0) {
        memcpy(out, defaults, (size_t)n * sizeof *out);
        return NN_OK;
    }
    long long v[8];
    H5T_class_t cls = h5r_attr_class(a);
    hssize_t np = h5r_attr_npoints(a);
    if (cls != H5T_INTEGER)
        rc = h5r_fail(c, NN_EFORMAT, "attribute '%s' has type %s, expected integer%s", name, h5r_class_name(cls),
                     n > 1 ? " array" : "");
    else if (np != n)
        rc = h5r_fail(c, NN_ESHAPE, "attribute '%s' has %lld values, expected %d", name, (long long)np, n);
    else if (H5Aread(a, H5T_NATIVE_LLONG, v) < 0)
        rc = h5r_fail_h5(c, "cannot read an integer attribute");
    for (int i = 0; !rc && i < n; i++) {
        if (v[i] < INT_MIN || v[i] > INT_MAX)
            rc = h5r_fail(c, NN_EVALUE, "attribute '%s'[%d] = %lld is out of range", name, i, v[i]);
        else
            out[i] = (int)v[i];
    }
    H5Aclose(a);
    return rc;
}

/* One finite number stored as any float or integer type. */
int h5r_double_attr(h5r_ctx *c, hid_t obj, const char *name, double *out)
{
    int rc;
    hid_t a = h5r_attr_open(c, obj, name, 1, &rc);
    if (a <= 0) return rc;
    H5T_class_t cls = h5r_attr_class(a);
    hssize_t np = h5r_attr_npoints(a);
    if (cls != H5T_FLOAT && cls != H5T_INTEGER)
        rc = h5r_fail(c, NN_EFORMAT, "attribute '%s' has type %s, expected a number", name, h5r_class_name(cls));
    else if (np != 1)
        rc = h5r_fail(c, NN_ESHAPE, "attribute '%s' has %lld values, expected one", name, (long long)np);
    else if (H5Aread(a, H5T_NATIVE_DOUBLE, out) < 0)
        rc = h5r_fail_h5(c, "cannot read a numeric attribute");
    else if (!isfinite(*out))
        rc = h5r_fail(c, NN_EVALUE, "attribute '%s' is %g (must be finite)", name, *out);
    H5Aclose(a);
    return rc;
}

/* Opens object `name` of loc and checks it is of the expected kind, so a dataset
 * where a group belongs is reported as such, not as a corrupt file. */
hid_t h5r_open_kind(h5r_ctx *c, hid_t loc, const char *name, const char *label, H5I_type_t kind, int *rc)
{
    const char *want = kind == H5I_GROUP ? "group" : "dataset";
    hid_t o = H5Oopen(loc, name, H5P_DEFAULT);
    if (o < 0) {
        char what[160];
        snprintf(what, sizeof what, "'%s' cannot be opened", label);
        *rc = h5r_fail_h5(c, what);
        return -1;
    }
    H5I_type_t got = H5Iget_type(o);
    if (got != kind) {
        *rc = h5r_fail(c, NN_EFORMAT, "'%s' is a %s, expected a %s", label,
                      got == H5I_GROUP ? "group" : got == H5I_DATASET ? "dataset" : "named datatype", want);
        H5Oclose(o);
        return -1;
    }
    *rc = NN_OK;
    return o;
}

/* ---- datasets -------------------------------------------------------------- */

/* Reads float32/float64 dataset `name` of rank `rank` into a new double array;
 * dims[] receives its extents. `layout` describes the expected shape in messages. */
int h5r_tensor(h5r_ctx *c, hid_t grp, const char *name, int rank, const char *layout, int dims[4],
                       double **out)
{
    int rc = NN_OK;
    hid_t d = -1, t = -1, s = -1;
    *out = NULL;
    htri_t has = H5Lexists(grp, name, H5P_DEFAULT);
    if (has < 0) return h5r_fail_h5(c, "cannot look up a dataset");
    if (!has) return h5r_fail(c, NN_EFORMAT, "dataset '%s' %s is missing", name, layout);
    if ((d = h5r_open_kind(c, grp, name, name, H5I_DATASET, &rc)) < 0) return rc;
    t = H5Dget_type(d);
    s = H5Dget_space(d);
    if (t < 0 || s < 0) {
        rc = h5r_fail_h5(c, "cannot read a dataset's type or extent");
        goto done;
    }
    H5T_class_t cls = H5Tget_class(t);
    size_t tsize = H5Tget_size(t);
    if (cls != H5T_FLOAT || (tsize != 4 && tsize != 8)) {
        if (cls == H5T_FLOAT)
            rc = h5r_fail(c, NN_EFORMAT, "dataset '%s' is a %zu-byte float, expected float32 or float64", name,
                         tsize);
        else
            rc = h5r_fail(c, NN_EFORMAT, "dataset '%s' has type %s, expected float32 or float64", name,
                         h5r_class_name(cls));
        goto done;
    }
    int found = H5Sget_simple_extent_ndims(s);
    hsize_t hd[H5S_MAX_RANK];
    if (found < 0 || H5Sget_simple_extent_dims(s, hd, NULL) < 0) {
        rc = h5r_fail_h5(c, "cannot read a dataset's extent");
        goto done;
    }
    if (found != rank) {
        char got[160] = "";
        size_t len = 0;
        for (int i = 0; i < found && len < sizeof got - 24; i++)
            len += (size_t)snprintf(got + len, sizeof got - len, "%s%llu", i ? "," : "", (unsigned long long)hd[i]);
        rc = h5r_fail(c, NN_ESHAPE, "dataset '%s' has rank %d [%s], expected rank %d %s", name, found, got, rank,
                     layout);
        goto done;
    }
    size_t count = 1;
    for (int i = 0; i < rank; i++) {
        if (hd[i] < 1 || hd[i] > INT_MAX) {
            rc = h5r_fail(c, NN_ESHAPE, "dataset '%s' has extent %llu in dimension %d (must be 1..%d)", name,
                         (unsigned long long)hd[i], i, INT_MAX);
            goto done;
        }
        if (count > SIZE_MAX / sizeof(double) / hd[i]) {
            rc = h5r_fail(c, NN_ESHAPE, "dataset '%s' is too large to load", name);
            goto done;
        }
        dims[i] = (int)hd[i];
        count *= (size_t)hd[i];
    }
    double *v = malloc(count * sizeof *v);
    if (!v) {
        rc = h5r_fail(c, NN_ENOMEM, "out of memory loading dataset '%s' (%zu values)", name, count);
        goto done;
    }
    if (H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) < 0) {
        free(v);
        char what[128];
        snprintf(what, sizeof what, "cannot read dataset '%s'", name);
        rc = h5r_fail_h5(c, what);
        goto done;
    }
    for (size_t i = 0; i < count; i++) {
        if (isfinite(v[i])) continue;
        /* Name the element by its index in every dimension: easier to find in h5dump/numpy. */
        char at[96] = "";
        size_t rest = i, len = 0, stride = count;
        for (int k = 0; k < rank; k++) {
            stride /= (size_t)dims[k];
            len += (size_t)snprintf(at + len, sizeof at - len, "%s%zu", k ? "," : "", rest / stride);
            rest %= stride;
        }
        rc = h5r_fail(c, NN_EVALUE, "dataset '%s'[%s] is %s (NaN/Inf parameters are not allowed)", name, at,
                     isnan(v[i]) ? "NaN" : v[i] > 0 ? "+Inf" : "-Inf");
        free(v);
        goto done;
    }
    *out = v;
done:
    if (s >= 0) H5Sclose(s);
    if (t >= 0) H5Tclose(t);
    H5Dclose(d);
    return rc;
}

/* ---- string arrays --------------------------------------------------------- */

void h5r_string_list_free(char **v, int n)
{
    for (int i = 0; v && i < n; i++) free(v[i]);
    free(v);
}

int h5r_string_list_attr(h5r_ctx *c, hid_t obj, const char *name, int required, char ***out, int *n)
{
    int rc;
    *out = NULL;
    *n = 0;
    hid_t a = h5r_attr_open(c, obj, name, required, &rc);
    if (a <= 0) return rc;
    hid_t ft = H5Aget_type(a), mt = -1;
    hssize_t np = h5r_attr_npoints(a);
    char **v = NULL;
    char *buf = NULL;
    if (ft < 0 || np < 0) {
        rc = h5r_fail_h5(c, "cannot read an attribute's type or extent");
        goto done;
    }
    if (H5Tget_class(ft) != H5T_STRING) {
        rc = h5r_fail(c, NN_EFORMAT, "attribute '%s' has type %s, expected strings", name,
                      h5r_class_name(H5Tget_class(ft)));
        goto done;
    }
    if (np > 100000) {
        rc = h5r_fail(c, NN_ESHAPE, "attribute '%s' holds %lld strings (at most 100000)", name, (long long)np);
        goto done;
    }
    if (!(v = calloc((size_t)np + 1, sizeof *v))) {
        rc = h5r_fail(c, NN_ENOMEM, "out of memory reading attribute '%s'", name);
        goto done;
    }
    mt = H5Tcopy(H5T_C_S1);
    H5Tset_cset(mt, H5Tget_cset(ft));
    if (H5Tis_variable_str(ft) > 0) {
        H5Tset_size(mt, H5T_VARIABLE);
        char **raw = calloc((size_t)np + 1, sizeof *raw);
        if (!raw) {
            rc = h5r_fail(c, NN_ENOMEM, "out of memory reading attribute '%s'", name);
            goto done;
        }
        if (np && H5Aread(a, mt, raw) < 0) rc = h5r_fail_h5(c, "cannot read a string array attribute");
        for (hssize_t i = 0; i < np; i++) {
            if (!rc && !(v[i] = h5r_strdup(raw[i] ? raw[i] : "")))
                rc = h5r_fail(c, NN_ENOMEM, "out of memory reading attribute '%s'", name);
            H5free_memory(raw[i]);
        }
        free(raw);
    } else {
        size_t w = H5Tget_size(ft) + 1;
        H5Tset_size(mt, w);
        H5Tset_strpad(mt, H5T_STR_NULLTERM);
        if (!(buf = calloc((size_t)np + 1, w))) {
            rc = h5r_fail(c, NN_ENOMEM, "out of memory reading attribute '%s'", name);
            goto done;
        }
        if (np && H5Aread(a, mt, buf) < 0) rc = h5r_fail_h5(c, "cannot read a string array attribute");
        for (hssize_t i = 0; !rc && i < np; i++)
            if (!(v[i] = h5r_strdup(buf + (size_t)i * w)))
                rc = h5r_fail(c, NN_ENOMEM, "out of memory reading attribute '%s'", name);
    }
done:
    free(buf);
    if (rc) h5r_string_list_free(v, (int)np);
    else *out = v, *n = (int)np;
    if (mt >= 0) H5Tclose(mt);
    if (ft >= 0) H5Tclose(ft);
    H5Aclose(a);
    return rc;
}

/* ---- files ----------------------------------------------------------------- */

hid_t h5r_open_file(const char *path, const char *not_hdf5, nn_error *err)
{
    h5r_ctx c = {path, "", err, 0};
    h5r_quiet();
    if (h5_sandbox_check_file(path, err)) return -1;
    htri_t is = H5Fis_hdf5(path);
    if (is == 0) return nn_fail(err, NN_EFORMAT, "%s: not an HDF5 file (no HDF5 signature; %s)", path, not_hdf5), -1;
    if (is < 0) return h5r_fail_h5(&c, "cannot be checked for an HDF5 signature"), -1;
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG);
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, fapl);
    if (file < 0) h5r_fail_h5(&c, "cannot open as HDF5");   /* before any call clears the error stack */
    H5Pclose(fapl);
    return file < 0 ? -1 : file;
}
