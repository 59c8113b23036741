/* idx: reader for IDX files (the MNIST container), gzip-compressed or raw.
 * Reads a window of items from an unsigned-byte file after checking the magic,
 * the dimensions and that the data length is what the header promises. */
#ifndef IDX_H
#define IDX_H

#include <stddef.h>
#include "nn_error.h"

#define IDX_MAGIC_LABELS  0x00000801u  /* unsigned bytes, 1 dimension: n */
#define IDX_MAGIC_IMAGES  0x00000803u  /* unsigned bytes, 3 dimensions: n, rows, cols */
#define IDX_MAGIC_IMAGES4 0x00000804u  /* unsigned bytes, 4 dimensions: n, channels, rows, cols */
#define IDX_MAX_DIMS 4
/* The ndim argument for "an image file of either rank, 3 or 4, as its magic says". */
#define IDX_IMAGES 0

typedef struct {
    int ndim;                  /* the file's rank: 1 for labels, 3 or 4 for images */
    size_t dims[IDX_MAX_DIMS]; /* dims[0] = items in the file */
    size_t item_bytes;         /* bytes per item: product of dims[1..] (1 for labels) */
    size_t header_bytes;       /* 4 + 4 * ndim */
} idx_header;

/* Prototypes */
/* Read and validate the header of an IDX file of unsigned bytes with ndim (1, 3, 4,
 * or IDX_IMAGES for 3 or 4) dimensions. Does not look at the data. */
int idx_read_header(const char *path, int ndim, idx_header *hdr, nn_error *err);
/* Read items [start, start+count) (count 0: to the end) of an IDX file of unsigned
 * bytes with ndim dimensions. Checks first that the file holds exactly the data its
 * header promises. *data (count * item_bytes bytes) is malloc'd; the caller frees
 * it. *n_read is the number of items read; hdr->dims[0] is the file's total. */
int idx_read_u8(const char *path, int ndim, size_t start, size_t count, idx_header *hdr,
                unsigned char **data, size_t *n_read, nn_error *err);
/* Images of an IDX image file (magic 0x803, or 0x804 with channels) as doubles in
 * [0, 1] (byte / 255), each image in the file's order: C, H, W. */
int idx_read_images(const char *path, size_t start, size_t count, idx_header *hdr,
                    double **images, size_t *n_read, nn_error *err);
/* Labels of an IDX label file (magic 0x801) as ints in 0..255. */
int idx_read_labels(const char *path, size_t start, size_t count, idx_header *hdr,
                    int **labels, size_t *n_read, nn_error *err);

#endif
