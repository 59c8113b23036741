/* HDF5 results files (formats.md "Results files").
 *
 * Tables are column datasets under /results, chunked and extendible in rows, so
 * each append extends every column and writes only the new rows; the file is
 * flushed after every append, which keeps whatever finished before a crash
 * readable. Strings are fixed-length, null-terminated (h5py and h5dump read them
 * directly). The bounds file uses the layer index of the model (3 digits) as
 * group name under /bounds so that tools can pair it with /layers/NNN. */
#include "results_h5.h"

#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

struct h5_table {
    hid_t file, group;
    int n_cols;
    h5_column *cols;
    hid_t *dsets;
    size_t rows;
    char *path;
};

static int put_attr(hid_t obj, const h5_attr *a, const char *path, nn_error *err)
{
    hid_t type, space = H5Screate(H5S_SCALAR), attr = -1;
    herr_t st = -1;
    if (a->str) {
        type = H5Tcopy(H5T_C_S1);
        H5Tset_size(type, strlen(a->str) + 1);
        H5Tset_strpad(type, H5T_STR_NULLTERM);
    } else {
        type = H5Tcopy(a->is_int ? H5T_NATIVE_INT64 : H5T_NATIVE_DOUBLE);
    }
    if (H5Aexists(obj, a->key) > 0) H5Adelete(obj, a->key);
    attr = H5Acreate2(obj, a->key, type, space, H5P_DEFAULT, H5P_DEFAULT);
    if (attr >= 0) {
        if (a->str) st = H5Awrite(attr, type, a->str);
        else if (a->is_int) {
            int64_t v = (int64_t)a->num;
            st = H5Awrite(attr, type, &v);
        } else st = H5Awrite(attr, type, &a->num);
        H5Aclose(attr);
    }
    H5Tclose(type);
    H5Sclose(space);
    return st < 0 ? nn_fail(err, NN_EIO, "%s: cannot write attribute '%s'", path, a->key) : NN_OK;
}

static hid_t create_file(const char *path, nn_error *err)
{
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_LATEST);
    hid_t f;
    H5E_BEGIN_TRY { f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl); }
    H5E_END_TRY;
    H5Pclose(fapl);
    if (f < 0) nn_fail(err, NN_EIO, "%s: cannot create the results file", path);
    return f;
}

static int put_root_attrs(hid_t file, const h5_attr *attrs, int n, const char *path, nn_error *err)
{
    h5_attr v = {"software_version", NNCERT_VERSION, 0, 0};
    int rc = put_attr(file, &v, path, err);
    for (int i = 0; !rc && i < n; i++) rc = put_attr(file, &attrs[i], path, err);
    return rc;
}

int h5_table_create(h5_table **out, const char *path, const h5_attr *attrs, int n_attrs, const h5_column *cols,
                    int n_cols, nn_error *err)
{
    *out = NULL;
    h5_table *t = nn_calloc(1, sizeof *t, "results table", err);
    if (!t) return NN_ENOMEM;
    t->file = t->group = -1;
    t->cols = nn_calloc((size_t)n_cols, sizeof *t->cols, "results columns", err);
    t->dsets = nn_calloc((size_t)n_cols, sizeof *t->dsets, "results datasets", err);
    t->path = strdup(path);
    if (!t->cols || !t->dsets || !t->path) {
        h5_table_close(t, NULL);
        return nn_fail(err, NN_ENOMEM, "out of memory for results table");
    }
    memcpy(t->cols, cols, (size_t)n_cols * sizeof *cols);
    for (int c = 0; c < n_cols; c++) t->dsets[c] = -1;
    t->n_cols = n_cols;
    int rc = NN_OK;
    t->file = create_file(path, err);
    if (t->file < 0) rc = NN_EIO;
    if (!rc) rc = put_root_attrs(t->file, attrs, n_attrs, path, err);
    if (!rc && (t->group = H5Gcreate2(t->file, "results", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) < 0)
        rc = nn_fail(err, NN_EIO, "%s: cannot create group /results", path);
    for (int c = 0; !rc && c < n_cols; c++) {
        int rank = cols[c].width > 1 ? 2 : 1;
        hsize_t dims[2] = {0, cols[c].width}, maxd[2] = {H5S_UNLIMITED, cols[c].width};
        hsize_t chunk[2] = {cols[c].width > 1 ? 16 : 256, cols[c].width};
        hid_t space = H5Screate_simple(rank, dims, maxd);
        hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
        H5Pset_chunk(dcpl, rank, chunk);
        hid_t type = cols[c].type == H5COL_INT ? H5T_STD_I64LE : H5T_IEEE_F64LE;
        t->dsets[c] = H5Dcreate2(t->group, cols[c].name, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
        H5Pclose(dcpl);
        H5Sclose(space);
        if (t->dsets[c] < 0) rc = nn_fail(err, NN_EIO, "%s: cannot create dataset /results/%s", path, cols[c].name);
    }
    if (!rc && H5Fflush(t->file, H5F_SCOPE_GLOBAL) < 0) rc = nn_fail(err, NN_EIO, "%s: flush failed", path);
    if (rc) {
        h5_table_close(t, NULL);
        return rc;
    }
    *out = t;
    return NN_OK;
}

int h5_table_attr(h5_table *t, const h5_attr *a, nn_error *err) { return put_attr(t->group, a, t->path, err); }

int h5_table_append(h5_table *t, const void *const *data, size_t n, nn_error *err)
{
    if (n == 0) return NN_OK;
    for (int c = 0; c < t->n_cols; c++) {
        int rank = t->cols[c].width > 1 ? 2 : 1;
        hsize_t size[2] = {t->rows + n, t->cols[c].width}, start[2] = {t->rows, 0}, count[2] = {n, t->cols[c].width};
        if (H5Dset_extent(t->dsets[c], size) < 0)
            return nn_fail(err, NN_EIO, "%s: cannot extend /results/%s", t->path, t->cols[c].name);
        hid_t fspace = H5Dget_space(t->dsets[c]);
        hid_t mspace = H5Screate_simple(rank, count, NULL);
        H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL);
        herr_t st = H5Dwrite(t->dsets[c], t->cols[c].type == H5COL_INT ? H5T_NATIVE_INT64 : H5T_NATIVE_DOUBLE, mspace,
                             fspace, H5P_DEFAULT, data[c]);
        H5Sclose(mspace);
        H5Sclose(fspace);
        if (st < 0) return nn_fail(err, NN_EIO, "%s: cannot write /results/%s", t->path, t->cols[c].name);
    }
    t->rows += n;
    if (H5Fflush(t->file, H5F_SCOPE_GLOBAL) < 0) return nn_fail(err, NN_EIO, "%s: flush failed", t->path);
    return NN_OK;
}

int h5_table_close(h5_table *t, nn_error *err)
{
    if (!t) return NN_OK;
    int rc = NN_OK;
    for (int c = 0; t->dsets && c < t->n_cols; c++)
        if (t->dsets[c] >= 0) H5Dclose(t->dsets[c]);
    if (t->group >= 0) H5Gclose(t->group);
    if (t->file >= 0 && H5Fclose(t->file) < 0) rc = nn_fail(err, NN_EIO, "%s: closing the file failed", t->path);
    free(t->cols);
    free(t->dsets);
    free(t->path);
    free(t);
    return rc;
}

static int write_vec(hid_t loc, const char *name, hid_t mtype, hid_t ftype, const void *data, size_t n,
                     const char *path, nn_error *err)
{
    hsize_t dims[1] = {n};
    hid_t space = H5Screate_simple(1, dims, NULL);
    hid_t d = H5Dcreate2(loc, name, ftype, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    herr_t st = d >= 0 ? H5Dwrite(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) : -1;
    if (d >= 0) H5Dclose(d);
    H5Sclose(space);
    return st < 0 ? nn_fail(err, NN_EIO, "%s: cannot write dataset %s", path, name) : NN_OK;
}

int h5_write_bounds(const char *path, const h5_attr *attrs, int n_attrs, const bound_state *st,
                    const double *margin_lower, const double *margin_upper, const int *margin_target, size_t rows,
                    nn_error *err)
{
    hid_t f = create_file(path, err);
    if (f < 0) return NN_EIO;
    int rc = put_root_attrs(f, attrs, n_attrs, path, err);
    hid_t g = -1, m = -1;
    if (!rc && (g = H5Gcreate2(f, "bounds", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) < 0)
        rc = nn_fail(err, NN_EIO, "%s: cannot create /bounds", path);
    const nn_model *model = st->model;
    for (int i = 0; !rc && i < model->n_layers; i++) {
        if (!st->pre_lower || !st->pre_lower[i] || !st->pre_upper[i]) continue;
        char name[16];
        snprintf(name, sizeof name, "%03d", i);
        hid_t li = H5Gcreate2(g, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        if (li < 0) {
            rc = nn_fail(err, NN_EIO, "%s: cannot create /bounds/%s", path, name);
            break;
        }
        size_t n = shape_size(model->layers[i].in);
        h5_attr ta = {"type", layer_type_name(model->layers[i].type), 0, 0};
        rc = put_attr(li, &ta, path, err);
        if (!rc) rc = write_vec(li, "lower", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, st->pre_lower[i], n, path, err);
        if (!rc) rc = write_vec(li, "upper", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, st->pre_upper[i], n, path, err);
        H5Gclose(li);
    }
    if (!rc && (m = H5Gcreate2(f, "margin", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) < 0)
        rc = nn_fail(err, NN_EIO, "%s: cannot create /margin", path);
    if (!rc) rc = write_vec(m, "lower", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, margin_lower, rows, path, err);
    if (!rc) rc = write_vec(m, "upper", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, margin_upper, rows, path, err);
    if (!rc) rc = write_vec(m, "target", H5T_NATIVE_INT, H5T_STD_I32LE, margin_target, rows, path, err);
    if (m >= 0) H5Gclose(m);
    if (g >= 0) H5Gclose(g);
    if (H5Fclose(f) < 0 && !rc) rc = nn_fail(err, NN_EIO, "%s: closing the file failed", path);
    return rc;
}
