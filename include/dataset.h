/* dataset: labelled images as doubles in [0, 1], from IDX files (gzip or raw),
 * CIFAR-10 batches ("cifar10:DIR") and NumPy arrays ("npy:FILE,labels=FILE").
 * Names like "fashion-mnist:test" and "mnist:train" resolve to installed data;
 * anything else is a path. Normalization belongs to the model, not here. */
#ifndef DATASET_H
#define DATASET_H

#include <stddef.h>
#include "model.h"
#include "nn_error.h"

typedef struct {
    size_t n;          /* images held */
    size_t first;      /* index in the source file of images[0] */
    size_t total;      /* images in the source file */
    nn_shape shape;    /* C,H,W of one image (MNIST: 1,28,28; rank-4 IDX files: their C,H,W) */
    double *images;    /* n * shape_size(shape) values in [0, 1], row per image */
    int *labels;       /* n class labels */
    char *source;      /* resolved path of the image file, for messages; for a derived
                          set "NAME from PATH" */
} nn_dataset;

/* Prototypes */
/* Load images [start, start+count) of a data set; count 0 means "to the end".
 * spec: "fashion-mnist:test|train", "mnist:test|train", the derived
 * "fashion-mnist-rgb32:test|train" (Fashion-MNIST padded to 32x32 with zeros and
 * copied to 3 channels, computed on load), or a path to an IDX image file (rank 3:
 * count x rows x cols, read as 1 x rows x cols; rank 4: count x C x H x W) whose
 * labels file is found by replacing "images-idx3" with "labels-idx1" (or
 * "IMAGES,LABELS" naming both); "cifar10:DIR[:test|:train]" or "cifar10:FILE.bin"
 * (CIFAR-10 binary batches, 3x32x32); "npy:IMAGES.npy,labels=LABELS.npy
 * [,layout=nchw|nhwc]" (images [N,F], [N,H,W], [N,C,H,W] or, with layout=nhwc,
 * [N,H,W,C]; float pixels in [0, 1], integer pixels 0..255 scaled by 1/255). Installed data lives under $NNCERT_DATA (default
 * /usr/local/share/nncert; Fashion-MNIST from /usr/share/datasets). */
int dataset_load(const char *spec, size_t start, size_t count, nn_dataset *ds, nn_error *err);
/* The same without the images (ds->images stays NULL): labels and sizes only. */
int dataset_load_labels(const char *spec, size_t start, size_t count, nn_dataset *ds, nn_error *err);
void dataset_free(nn_dataset *ds);
/* The image and label file paths a spec names (both malloc'd), without reading
 * them: what a command must not overwrite (file_guard). */
int dataset_files(const char *spec, char **images, char **labels, nn_error *err);
/* NN_EVALUE naming the source, image and label when a held label is not one of
 * n_classes classes (a data set made for another model). */
int dataset_check_labels(const nn_dataset *ds, size_t n_classes, nn_error *err);

#endif
