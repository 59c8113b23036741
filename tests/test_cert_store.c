/* The certify results store (include/cert_store.h): rows survive a reopen and
 * count as done; an HDF5 file torn by a crash is rebuilt from the journal; a
 * results file without its journal is read back; another job's file is refused
 * untouched unless force_new; saved bounds land in compressed per-layer
 * datasets; an unwritable location fails before anything is written; PGD
 * columns and saved counterexamples survive a resume; journals written before
 * the PGD fields existed are still read; the tasks the last run handed out and
 * never answered are named on reopen, not those taken back or answered, nor an
 * older run's; checkpoints of unfinished tasks come back, those of finished
 * ones do not. */
#include "testutil.h"

#include <hdf5.h>
#include <math.h>
#include <sys/stat.h>
#include <zlib.h>

#include "bound.h"
#include "byteorder.h"
#include "cert_store.h"

static const int layers[2] = {1, 3};
static const size_t sizes[2] = {4, 2};

typedef struct {
    int n;
    double sum;
} counted;

static void count_row(void *ctx, int64_t task, const cert_result *r)
{
    (void)task;
    counted *c = ctx;
    c->n++;
    c->sum += r->radius;
}

static cert_store_options options(const char *path, const char *key, counted *c)
{
    static const h5_attr attrs[] = {{"kind", "certify", 0, 0}, {"method", "crown", 0, 0}};
    cert_store_options o = {.path = path, .job_key = key, .slots = 3, .attrs = attrs, .n_attrs = 2,
                            .n_layers = 2, .layer = layers, .layer_size = sizes, .flush_seconds = 100,
                            .ranks = 1, .on_row = count_row, .row_ctx = c};
    return o;
}

static cert_result row_for(int64_t task)
{
    cert_result r;
    memset(&r, 0, sizeof r);
    r.index = (long)(task / 3);
    r.label = r.pred = 2;
    r.target = (int)(task % 3);
    r.status = task % 5 == 0 ? CERT_FAILED : CERT_CERTIFIED;
    r.radius = r.lo = 0.001 * (double)task;
    r.hi = r.lo * 1.001;
    r.margin = 0.5;
    r.evals = 7;
    if (r.status == CERT_FAILED) snprintf(r.message, sizeof r.message, "reason %lld", (long long)task);
    return r;
}

/* eps, the 12 bounds of layers of 4 and 2 neurons, then their 6 source codes */
static void bounds_for(int64_t task, unsigned char *b)
{
    for (int k = 0; k < 13; k++) {
        double v = k == 0 ? 0.01 : (double)task + 0.25 * k;
        uint64_t u;
        memcpy(&u, &v, 8);
        for (int i = 0; i < 8; i++) b[8 * k + i] = (unsigned char)(u >> (8 * i));
    }
    for (int k = 0; k < 6; k++) b[8 * 13 + k] = (unsigned char)((task + k) % BOUND_SRC_COUNT);
}

static void fill(cert_store *s, int64_t from, int64_t to)
{
    nn_error err;
    unsigned char b[8 + 13 * 8 + 6];  /* the payload's length, then the bounds and codes */
    assert_int_equal(cert_store_bounds_bytes(2, sizes), sizeof b - 8);
    le_put_u64(b, sizeof b - 8);
    for (int64_t t = from; t < to; t++) {
        cert_result r = row_for(t);
        bounds_for(t, b + 8);
        r.saved = t % 2 ? CERT_SAVED_BOUNDS : 0;
        assert_int_equal(cert_store_add(s, t, 1, &r, t % 2 ? b : NULL, t % 2 ? sizeof b : 0, &err), NN_OK);
    }
}

static void check_file(const char *path, int64_t n)
{
    static const h5_column cols[] = {{"index", H5COL_INT, 1}, {"slot", H5COL_INT, 1}, {"radius", H5COL_DOUBLE, 1},
                                     {"message", H5COL_STRING, 256}};
    void *data[4];
    char *key;
    size_t rows;
    nn_error err;
    if (h5_table_read(path, "job_key", &key, cols, 4, data, &rows, &err)) fail_msg("%s", err.msg);
    assert_int_equal(rows, (size_t)n);
    assert_string_equal(key, "key A");
    int seen[64] = {0};
    for (size_t i = 0; i < rows; i++) {
        int64_t task = ((int64_t *)data[0])[i] * 3 + ((int64_t *)data[1])[i];
        assert_true(task >= 0 && task < 64);
        seen[task]++;
        assert_true(((double *)data[2])[i] == row_for(task).radius);
        assert_string_equal((char *)data[3] + 256 * i, row_for(task).message);
    }
    for (int64_t t = 0; t < n; t++) assert_int_equal(seen[t], 1);
    for (int c = 0; c < 4; c++) free(data[c]);
    free(key);
}

/* Each test's results path and its journal's, fresh before the test and removed
 * after it (cmocka's setup and teardown), whatever the test left there. */
typedef struct {
    char path[256], jpath[300];
} files;

static int files_setup(void **state)
{
    files *f = malloc(sizeof *f);
    if (!f) return -1;
    snprintf(f->path, sizeof f->path, "%s", test_tmpname(".h5"));
    snprintf(f->jpath, sizeof f->jpath, "%s.journal", f->path);
    *state = f;
    return 0;
}

static int files_teardown(void **state)
{
    files *f = *state;
    unlink(f->path);
    unlink(f->jpath);
    free(f);
    return 0;
}

static void rows_survive_reopen_and_count_as_done(void **state)
{
    const files *F = *state;
    const char *path = F->path;
    counted c = {0};
    cert_store_options o = options(path, "key A", &c);
    cert_store *s;
    nn_error err;
    assert_int_equal(cert_store_open(&s, &o, &err), NN_OK);
    assert_int_equal(cert_store_recovered(s), 0);
    fill(s, 0, 20);
    assert_int_equal(cert_store_close(s, 0, &err), NN_OK);
    check_file(path, 20);
    assert_int_equal(cert_store_open(&s, &o, &err), NN_OK);
    assert_int_equal(cert_store_recovered(s), 20);
    assert_int_equal(c.n, 20);
    assert_true(cert_store_done(s, 19) && cert_store_done(s, 0) && !cert_store_done(s, 20));
    fill(s, 20, 30);
    assert_int_equal(cert_store_close(s, 1, &err), NN_OK);
    check_file(path, 30);
    /* the bounds: compressed per layer, row k of each layer is the k-th saved task */
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    assert_true(f >= 0);
    hid_t d = H5Dopen2(f, "bounds/003/upper", H5P_DEFAULT);
    assert_true(d >= 0);
    hid_t dcpl = H5Dget_create_plist(d);
    assert_true(H5Pget_nfilters(dcpl) >= 1);
    H5Pclose(dcpl);
    hsize_t dims[2];
    hid_t sp = H5Dget_space(d);
    H5Sget_simple_extent_dims(sp, dims, NULL);
    H5Sclose(sp);
    assert_int_equal(dims[0], 15);
    assert_int_equal(dims[1], 2);
    double up[30];
    assert_true(H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, up) >= 0);
    H5Dclose(d);
    int64_t idx[15], slot[15];
    d = H5Dopen2(f, "bounds/index", H5P_DEFAULT);
    H5Dread(d, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, idx);
    H5Dclose(d);
    d = H5Dopen2(f, "bounds/slot", H5P_DEFAULT);
    H5Dread(d, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, slot);
    H5Dclose(d);
    unsigned char code[15 * 2];
    d = H5Dopen2(f, "bounds/003/source", H5P_DEFAULT);
    assert_true(d >= 0 && H5Dread(d, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, code) >= 0);
    H5Dclose(d);
    for (int k = 0; k < 15; k++) {
        int64_t t = idx[k] * 3 + slot[k];
        assert_true(t % 2 == 1);
        assert_true(up[2 * k] == (double)t + 0.25 * 11 && up[2 * k + 1] == (double)t + 0.25 * 12);
        for (int j = 0; j < 2; j++) assert_int_equal(code[2 * k + j], (t + 4 + j) % BOUND_SRC_COUNT);
    }
    H5Fclose(f);
}

/* The test's results file holding tasks [0, n) (its journal next to it); o is its options. */
static void written(const files *F, int64_t n, counted *c, cert_store_options *o)
{
    *o = options(F->path, "key A", c);
    cert_store *s;
    nn_error err;
    assert_int_equal(cert_store_open(&s, o, &err), NN_OK);
    assert_int_equal(cert_store_recovered(s), 0);
    fill(s, 0, n);
    assert_int_equal(cert_store_close(s, 0, &err), NN_OK);
}

static void torn_results_file_is_rebuilt_from_the_journal(void **state)
{
    const files *F = *state;
    const char *path = F->path, *jpath = F->jpath;
    counted c = {0};
    cert_store_options o;
    written(F, 25, &c, &o);
    cert_store *s;
    nn_error err;
    struct stat sb;
    stat(path, &sb);
    assert_int_equal(truncate(path, sb.st_size / 3), 0);
    assert_int_equal(cert_store_open(&s, &o, &err), NN_OK);
    assert_int_equal(cert_store_recovered(s), 25);
    assert_int_equal(cert_store_close(s, 1, &err), NN_OK);
    check_file(path, 25);
    /* without the journal the results file itself is read back */
    unlink(jpath);
    c.n = 0;
    assert_int_equal(cert_store_open(&s, &o, &err), NN_OK);
    assert_int_equal(cert_store_recovered(s), 25);
    assert_int_equal(c.n, 25);
    fill(s, 25, 27);
    assert_int_equal(cert_store_close(s, 1, &err), NN_OK);
    check_file(path, 27);
}

static void another_jobs_file_is_refused_untouched(void **state)
{
    const files *F = *state;
    const char *path = F->path, *jpath = F->jpath;
    counted c = {0};
    cert_store_options o;
    written(F, 5, &c, &o);
    cert_store *s;
    nn_error err;
    struct stat before, jbefore, after, jafter;
    stat(path, &before);
    stat(jpath, &jbefore);
    cert_store_options other = options(path, "key B", &c);
    assert_int_equal(cert_store_open(&s, &other, &err), NN_EARG);
    assert_non_null(strstr(err.msg, "written by another job"));
    assert_non_null(strstr(err.msg, "--force-new"));
    stat(path, &after);
    stat(jpath, &jafter);
    assert_int_equal(before.st_size, after.st_size);
    assert_int_equal(jbefore.st_size, jafter.st_size);
    assert_int_equal(before.st_mtime, after.st_mtime);
    unlink(jpath);  /* the results file alone is refused too */
    assert_int_equal(cert_store_open(&s, &other, &err), NN_EARG);
    assert_non_null(strstr(err.msg, "another job"));
    other.force_new = 1;
    assert_int_equal(cert_store_open(&s, &other, &err), NN_OK);
    assert_int_equal(cert_store_recovered(s), 0);
    assert_int_equal(cert_store_close(s, 1, &err), NN_OK);
    /* not a results file at all, no journal */
    unlink(jpath);
    FILE *f = fopen(path, "w");
    fputs("junk", f);
    fclose(f);
    assert_int_equal(cert_store_open(&s, &o, &err), NN_EARG);
    assert_non_null(strstr(err.msg, "not a readable nncert certify results file"));
}

static void unwritable_location_fails_before_writing(void **state)
{
    counted c = {0};
    cert_store_options o = options("/nonexistent/dir/r.h5", "key A", &c);
    cert_store *s;
    nn_error err;
    assert_int_equal(cert_store_open(&s, &o, &err), NN_EIO);
    assert_non_null(strstr(err.msg, "/nonexistent/dir/r.h5"));
    o.path = "/dev/null/r.h5";
    assert_int_not_equal(cert_store_open(&s, &o, &err), NN_OK);
    assert_non_null(strstr(err.msg, "/dev/null/r.h5"));
    /* a bounds payload of the wrong size is refused */
    o.path = ((const files *)*state)->path;
    assert_int_equal(cert_store_open(&s, &o, &err), NN_OK);
    cert_result r = row_for(1);
    unsigned char b[16] = {8};
    r.saved = CERT_SAVED_BOUNDS;
    assert_int_equal(cert_store_add(s, 1, 0, &r, b, sizeof b, &err), NN_EARG);
    /* a payload longer than the bytes sent is refused too */
    b[0] = 200;
    assert_int_equal(cert_store_add(s, 1, 0, &r, b, sizeof b, &err), NN_EFORMAT);
    assert_int_equal(cert_store_close(s, 1, &err), NN_OK);
}

static void check_pgd(const char *path, int64_t n)
{
    static const h5_column cols[] = {{"index", H5COL_INT, 1}, {"slot", H5COL_INT, 1}, {"pgd_eps", H5COL_DOUBLE, 1},
                                     {"pgd_lo", H5COL_DOUBLE, 1}, {"pgd_class", H5COL_INT, 1}};
    void *data[5];
    char *key;
    size_t rows;
    nn_error err;
    if (h5_table_read(path, "job_key", &key, cols, 5, data, &rows, &err)) fail_msg("%s", err.msg);
    assert_int_equal(rows, (size_t)n);
    for (size_t i = 0; i < rows; i++) {
        int64_t t = ((int64_t *)data[0])[i] * 3 + ((int64_t *)data[1])[i];
        double e = ((double *)data[2])[i];
        if (t % 4 == 3) assert_true(isnan(e));
        else assert_true(e == 0.01 * (double)t + 0.5);
        assert_true(((double *)data[3])[i] == 0.25 * (double)t);
        assert_int_equal(((int64_t *)data[4])[i], t % 4 == 3 ? -1 : 1);
    }
    for (int c = 0; c < 5; c++) free(data[c]);
    free(key);
}

typedef struct {
    int n, bad;
} pgd_seen;

static void count_pgd(void *ctx, int64_t task, const cert_result *r)
{
    pgd_seen *c = ctx;
    c->n++;
    double e = task % 4 == 3 ? NAN : 0.01 * (double)task + 0.5;
    if (!(isnan(e) ? isnan(r->pgd_eps) : r->pgd_eps == e) || r->pgd_lo != 0.25 * (double)task) c->bad++;
}

static void pgd_columns_and_counterexamples_survive_resume(void **state)
{
    const files *F = *state;
    const char *path = F->path, *jpath = F->jpath;
    pgd_seen seen = {0};
    static const h5_attr attrs[] = {{"kind", "certify", 0, 0}};
    cert_store_options o = {.path = path, .job_key = "key P", .slots = 3, .attrs = attrs, .n_attrs = 1,
                            .attack = 1, .attack_in = 3, .attack_out = 2, .flush_seconds = 100, .ranks = 1,
                            .on_row = count_pgd, .row_ctx = &seen};
    cert_store *s;
    nn_error err;
    assert_int_equal(cert_store_open(&s, &o, &err), NN_OK);
    for (int64_t t = 0; t < 12; t++) {
        cert_result r = row_for(t);
        r.pgd_eps = t % 4 == 3 ? NAN : 0.01 * (double)t + 0.5;
        r.pgd_lo = 0.25 * (double)t;
        r.pgd_class = t % 4 == 3 ? -1 : 1;
        unsigned char p[8 + 6 * 8];  /* length, eps, x_adv[3], logits[2] */
        le_put_u64(p, 48);
        for (int k = 0; k < 6; k++) le_put_f64(p + 8 + 8 * k, k == 0 ? r.pgd_eps : (double)(10 * t + k));
        r.saved = t % 2 == 0 ? CERT_SAVED_ATTACK : 0;
        assert_int_equal(cert_store_add(s, t, 1, &r, r.saved ? p : NULL, r.saved ? sizeof p : 0, &err), NN_OK);
    }
    assert_int_equal(cert_store_close(s, 1, &err), NN_OK);
    check_pgd(path, 12);
    /* resumed from the journal: the PGD values come back, not recomputed */
    assert_int_equal(cert_store_open(&s, &o, &err), NN_OK);
    assert_int_equal(cert_store_recovered(s), 12);
    assert_int_equal(cert_store_close(s, 1, &err), NN_OK);
    assert_int_equal(seen.n, 12);
    assert_int_equal(seen.bad, 0);
    check_pgd(path, 12);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t d = H5Dopen2(f, "attacks/x_adv", H5P_DEFAULT);
    assert_true(d >= 0);
    double x[6 * 3];
    hsize_t dims[2];
    hid_t sp = H5Dget_space(d);
    H5Sget_simple_extent_dims(sp, dims, NULL);
    H5Sclose(sp);
    assert_int_equal(dims[0], 6);
    assert_int_equal(dims[1], 3);
    assert_true(H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, x) >= 0);
    H5Dclose(d);
    int64_t idx[6], slot[6];
    d = H5Dopen2(f, "attacks/index", H5P_DEFAULT);
    H5Dread(d, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, idx);
    H5Dclose(d);
    d = H5Dopen2(f, "attacks/slot", H5P_DEFAULT);
    H5Dread(d, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, slot);
    H5Dclose(d);
    for (int k = 0; k < 6; k++) {
        int64_t t = idx[k] * 3 + slot[k];
        assert_true(t % 2 == 0);
        assert_true(x[3 * k] == (double)(10 * t + 1) && x[3 * k + 2] == (double)(10 * t + 3));
    }
    H5Fclose(f);
    /* without the journal the PGD columns are read back from the file */
    unlink(jpath);
    seen.n = seen.bad = 0;
    assert_int_equal(cert_store_open(&s, &o, &err), NN_OK);
    assert_int_equal(cert_store_recovered(s), 12);
    assert_int_equal(cert_store_close(s, 1, &err), NN_OK);
    assert_int_equal(seen.bad, 0);
    check_pgd(path, 12);
}

/* Checkpoints come back on reopen for the tasks without a row only, in journal
 * order and byte for byte; a task's parts die with its row, also a row written
 * by a later run; an unfinished task keeps them over several runs. */
static void checkpoints_of_unfinished_tasks_come_back(void **state)
{
    const files *F = *state;
    const char *path = F->path, *jpath = F->jpath;
    counted c = {0};
    cert_store_options o = options(path, "key A", &c);
    cert_store *s;
    nn_error err;
    const cert_store_part *p;
    unsigned char b[3] = {1, 2, 3};
    assert_int_equal(cert_store_open(&s, &o, &err), NN_OK);
    assert_int_equal(cert_store_checkpoints(s, &p), 0);
    for (int64_t t = 4; t < 8; t++) {
        b[0] = (unsigned char)t;
        assert_int_equal(cert_store_checkpoint(s, t, b, t == 7 ? 0 : 3, &err), NN_OK);
    }
    b[0] = 44;
    assert_int_equal(cert_store_checkpoint(s, 4, b, 3, &err), NN_OK);
    fill(s, 5, 6);  /* task 5 finished: its part is dead */
    assert_int_equal(cert_store_close(s, 0, &err), NN_OK);
    assert_int_equal(cert_store_open(&s, &o, &err), NN_OK);
    assert_int_equal(cert_store_checkpoints(s, &p), 4);
    assert_true(p[0].task == 4 && p[0].len == 3 && p[0].data[0] == 4 && p[0].data[2] == 3);
    assert_true(p[1].task == 6 && p[1].data[0] == 6);
    assert_true(p[2].task == 7 && p[2].len == 0);
    assert_true(p[3].task == 4 && p[3].data[0] == 44);
    fill(s, 4, 5);  /* this run finishes task 4 */
    assert_int_equal(cert_store_close(s, 0, &err), NN_OK);
    assert_int_equal(cert_store_open(&s, &o, &err), NN_OK);
    assert_int_equal(cert_store_checkpoints(s, &p), 2);
    assert_true(p[0].task == 6 && p[1].task == 7);
    assert_int_equal(cert_store_recovered(s), 2);
    assert_int_equal(cert_store_close(s, 1, &err), NN_OK);
    /* without the journal nothing is in flight: the rows come from the file alone */
    unlink(jpath);
    assert_int_equal(cert_store_open(&s, &o, &err), NN_OK);
    assert_int_equal(cert_store_checkpoints(s, &p), 0);
    assert_int_equal(cert_store_close(s, 1, &err), NN_OK);
}

static void put_record(FILE *f, uint32_t type, const unsigned char *data, size_t len)
{
    unsigned char h[8], t[4], c[4];
    le_put_u32(h, (uint32_t)len);
    le_put_u32(h + 4, type);
    le_put_u32(t, type);
    uLong crc = crc32(crc32(0L, t, 4), data, (uInt)len);
    le_put_u32(c, (uint32_t)crc);
    fwrite(h, 1, 8, f);
    fwrite(data, 1, len, f);
    fwrite(c, 1, 4, f);
}

/* Each run records its build: a resume by another build is named (the rows it
 * finished are kept), runs of one build name nothing, and a journal whose runs
 * recorded no build (binaries before 2026-12-07) counts as another build; a
 * build's name ends at a byte that is not printable. */
static void runs_of_another_build_are_named(void **state)
{
    const files *F = *state;
    const char *path = F->path, *jpath = F->jpath;
    counted c = {0};
    cert_store_options o = options(path, "key A", &c);
    cert_store *s;
    nn_error err;
    o.software = "build-a";
    assert_int_equal(cert_store_open(&s, &o, &err), NN_OK);
    assert_null(cert_store_other_build(s));
    fill(s, 0, 5);
    assert_int_equal(cert_store_close(s, 0, &err), NN_OK);
    assert_int_equal(cert_store_open(&s, &o, &err), NN_OK); /* the same build again */
    assert_null(cert_store_other_build(s));
    assert_int_equal(cert_store_close(s, 0, &err), NN_OK);
    o.software = "build b"; /* spaces would split the record's fields */
    assert_int_equal(cert_store_open(&s, &o, &err), NN_OK);
    assert_non_null(cert_store_other_build(s));
    assert_string_equal(cert_store_other_build(s), "build-a");
    assert_int_equal(cert_store_recovered(s), 5);
    fill(s, 5, 8);
    assert_int_equal(cert_store_close(s, 0, &err), NN_OK);
    assert_int_equal(cert_store_open(&s, &o, &err), NN_OK); /* build-a's run is still in the journal */
    assert_non_null(cert_store_other_build(s));
    assert_string_equal(cert_store_other_build(s), "build-a");
    assert_int_equal(cert_store_close(s, 1, &err), NN_OK);
    check_file(path, 8);
    unlink(path);
    unlink(jpath);
    /* a run record without a build, as binaries before builds were recorded wrote it */
    FILE *f = fopen(jpath, "wb");
    assert_non_null(f);
    fwrite("NNCJRNL1", 1, 8, f);
    put_record(f, 1, (const unsigned char *)"key A", 5);
    put_record(f, 2, (const unsigned char *)"2026-12-01T00:00:00Z ranks=1", 28);
    fclose(f);
    o.software = "build-a";
    assert_int_equal(cert_store_open(&s, &o, &err), NN_OK);
    assert_non_null(cert_store_other_build(s));
    assert_string_equal(cert_store_other_build(s), "unrecorded");
    assert_int_equal(cert_store_close(s, 0, &err), NN_OK);
    unlink(path);
    unlink(jpath);
    /* a build with a terminal escape in it is read up to the escape */
    f = fopen(jpath, "wb");
    assert_non_null(f);
    fwrite("NNCJRNL1", 1, 8, f);
    put_record(f, 1, (const unsigned char *)"key A", 5);
    put_record(f, 2, (const unsigned char *)"2026-12-01T00:00:00Z ranks=1 git=ab\033[2Jcd", 41);
    fclose(f);
    assert_int_equal(cert_store_open(&s, &o, &err), NN_OK);
    assert_string_equal(cert_store_other_build(s), "ab");
    assert_int_equal(cert_store_close(s, 0, &err), NN_OK);
}

static void journals_of_the_328_byte_rows_are_read(void **state)
{
    const files *F = *state;
    const char *path = F->path, *jpath = F->jpath;
    FILE *f = fopen(jpath, "wb");
    fwrite("NNCJRNL1", 1, 8, f);
    put_record(f, 1, (const unsigned char *)"key A", 5);
    for (int64_t t = 0; t < 6; t++) {
        /* i64 task | i32 rank | i32 0 | 328-byte row | raw bounds on odd tasks */
        unsigned char rec[16 + CERT_RESULT_BYTES + 13 * 8] = {0}, row[CERT_RESULT_BYTES];
        le_put_u64(rec, (uint64_t)t);
        le_put_u32(rec + 8, 1);
        cert_result r = row_for(t);
        cert_result_pack(&r, row);
        memcpy(rec + 16, row, CERT_RESULT_BYTES_V0);
        size_t len = 16 + CERT_RESULT_BYTES_V0;
        if (t % 2) bounds_for(t, rec + len), len += 13 * 8;
        put_record(f, 3, rec, len);
    }
    fclose(f);
    counted c = {0};
    cert_store_options o = options(path, "key A", &c);
    cert_store *s;
    nn_error err;
    assert_int_equal(cert_store_open(&s, &o, &err), NN_OK);
    assert_int_equal(cert_store_recovered(s), 6);
    assert_int_equal(c.n, 6);
    fill(s, 6, 8);
    assert_int_equal(cert_store_close(s, 1, &err), NN_OK);
    check_file(path, 8);
    hid_t h = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t d = H5Dopen2(h, "bounds/index", H5P_DEFAULT);
    hid_t sp = H5Dget_space(d);
    hsize_t dims[1];
    H5Sget_simple_extent_dims(sp, dims, NULL);
    assert_int_equal(dims[0], 4);  /* tasks 1, 3, 5 from the old journal and 7 */
    H5Sclose(sp);
    H5Dclose(d);
    unsigned char code[4 * 4];  /* the old journal's bounds have no codes: 255 says so */
    d = H5Dopen2(h, "bounds/001/source", H5P_DEFAULT);
    assert_true(d >= 0 && H5Dread(d, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, code) >= 0);
    H5Dclose(d);
    for (int k = 0; k < 16; k++) assert_int_equal(code[k], k < 12 ? 255 : (7 + k % 4) % BOUND_SRC_COUNT);
    H5Fclose(h);
}

/* The n rows of dataset name (1-D or 2-D doubles) into out. */
static void read_f64_at(hid_t f, const char *name, size_t n, double *out)
{
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    assert_true(d >= 0);
    hid_t sp = H5Dget_space(d);
    hsize_t dims[2] = {0, 0};
    H5Sget_simple_extent_dims(sp, dims, NULL);
    H5Sclose(sp);
    assert_int_equal(dims[0], n);
    assert_true(H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) >= 0);
    H5Dclose(d);
}

/* MILP counterexamples travel after the PGD one (flag order), come back from
 * the journal with their rows, and a claim without its point is refused; a
 * journal of 352-byte rows (before the MILP fields) reads with none. */
static void milp_points_follow_their_rows_through_the_journal(void **state)
{
    const files *F = *state;
    const char *path = F->path, *jpath = F->jpath;
    static const h5_attr attrs[] = {{"kind", "certify", 0, 0}};
    cert_store_options o = {.path = path, .job_key = "key M", .slots = 3, .attrs = attrs, .n_attrs = 1,
                            .attack = 1, .attack_in = 3, .attack_out = 2, .milp_in = 3, .milp_out = 2,
                            .flush_seconds = 100, .ranks = 1};
    cert_store *s;
    nn_error err;
    for (int run = 0; run < 2; run++) {
        assert_int_equal(cert_store_open(&s, &o, &err), NN_OK);
        assert_int_equal(cert_store_recovered(s), run ? 9 : 0);
        for (int64_t t = 0; !run && t < 9; t++) {
            cert_result r = row_for(t);
            r.pgd_eps = t % 2 ? NAN : 0.5, r.pgd_lo = 0.25, r.pgd_class = t % 2 ? -1 : 1;
            r.milp_eps = t % 3 ? NAN : 0.1 * (double)t + 0.05, r.milp_class = t % 3 ? -1 : 2;
            unsigned char p[2 * (8 + 6 * 8)], *q = p;  /* PGD's, then the MILP's: length, eps, x[3], logits[2] */
            r.saved = 0;
            if (t % 2 == 0) {
                le_put_u64(q, 48);
                for (int k = 0; k < 6; k++) le_put_f64(q + 8 + 8 * k, k == 0 ? 0.5 : -(double)(10 * t + k));
                q += 56, r.saved |= CERT_SAVED_ATTACK;
            }
            if (t % 3 == 0) {
                le_put_u64(q, 48);
                for (int k = 0; k < 6; k++) le_put_f64(q + 8 + 8 * k, k == 0 ? r.milp_eps : (double)(10 * t + k));
                q += 56, r.saved |= CERT_SAVED_MILP;
            }
            assert_int_equal(cert_store_add(s, t, 1, &r, q > p ? p : NULL, (size_t)(q - p), &err), NN_OK);
        }
        if (!run) {  /* a MILP class without its point */
            cert_result r = row_for(20);
            r.milp_eps = 0.3, r.milp_class = 1, r.pgd_eps = NAN, r.pgd_class = -1;
            assert_int_equal(cert_store_add(s, 20, 1, &r, NULL, 0, &err), NN_EARG);
            assert_non_null(strstr(err.msg, "MILP counterexample of task 20"));
        }
        assert_int_equal(cert_store_close(s, 1, &err), NN_OK);
        hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
        double x[3 * 3], e[3], me[9], ax[5 * 3];
        read_f64_at(f, "milp_counterexamples/x", 3, x);
        read_f64_at(f, "milp_counterexamples/eps", 3, e);
        read_f64_at(f, "results/milp_eps", 9, me);
        read_f64_at(f, "attacks/x_adv", 5, ax);
        H5Fclose(f);
        for (int k = 0; k < 3; k++) {  /* tasks 0, 3, 6 in completion order */
            assert_true(e[k] == 0.1 * (3 * k) + 0.05);
            assert_true(x[3 * k] == 30.0 * k + 1 && x[3 * k + 2] == 30.0 * k + 3);
        }
        for (int k = 0; k < 5; k++) assert_true(ax[3 * k] == -(20.0 * k + 1));
        for (int t = 0; t < 9; t++) assert_true(t % 3 ? isnan(me[t]) : me[t] == 0.1 * t + 0.05);
    }
    unlink(path);
    unlink(jpath);
    /* 352-byte rows: the layout before the MILP fields */
    FILE *jf = fopen(jpath, "wb");
    fwrite("NNCJRNL1", 1, 8, jf);
    put_record(jf, 1, (const unsigned char *)"key M", 5);
    for (int64_t t = 0; t < 3; t++) {
        unsigned char rec[16 + CERT_RESULT_BYTES] = {0}, row[CERT_RESULT_BYTES];
        le_put_u64(rec, (uint64_t)t);
        le_put_u32(rec + 8, 1);
        le_put_u32(rec + 12, CERT_RESULT_BYTES_V1);
        cert_result r = row_for(t);
        r.pgd_eps = NAN, r.pgd_class = -1, r.milp_eps = 7, r.milp_class = 3;  /* not in the old layout */
        cert_result_pack(&r, row);
        memcpy(rec + 16, row, CERT_RESULT_BYTES_V1);
        put_record(jf, 3, rec, 16 + CERT_RESULT_BYTES_V1);
    }
    fclose(jf);
    assert_int_equal(cert_store_open(&s, &o, &err), NN_OK);
    assert_int_equal(cert_store_recovered(s), 3);
    assert_int_equal(cert_store_close(s, 1, &err), NN_OK);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    double me[3];
    read_f64_at(f, "results/milp_eps", 3, me);
    H5Fclose(f);
    for (int t = 0; t < 3; t++) assert_true(isnan(me[t]));
}

static void assign(cert_store *s, int rank, int64_t a, int64_t b)
{
    nn_error err;
    int64_t t[2] = {a, b};
    assert_int_equal(cert_store_assigned(s, rank, t, b < 0 ? 1 : 2, &err), NN_OK);
}

static void tasks_in_flight_at_the_end_of_a_run_are_named(void **state)
{
    const files *F = *state;
    const char *path = F->path;
    counted c = {0};
    cert_store_options o = options(path, "key A", &c);
    cert_store *s;
    const cert_store_held *h;
    nn_error err;
    assert_int_equal(cert_store_open(&s, &o, &err), NN_OK);
    assert_int_equal(cert_store_unanswered(s, &h), 0);
    assign(s, 1, 0, 1);
    assign(s, 3, 2, 3);
    fill(s, 0, 1);        /* rank 1 answered 0 */
    assign(s, 1, 4, -1);
    fill(s, 2, 3);        /* rank 3 answered 2 */
    assign(s, 3, 5, 6);
    assign(s, -1, 6, -1); /* 6 taken back unstarted (a drain) */
    assign(s, 5, 9, 7);
    assert_int_equal(cert_store_close(s, 0, &err), NN_OK);  /* as if killed: 1, 3, 4, 5, 9, 7 in flight */

    assert_int_equal(cert_store_open(&s, &o, &err), NN_OK);
    size_t n = cert_store_unanswered(s, &h);
    static const cert_store_held want[] = {{1, 1}, {4, 1}, {3, 3}, {5, 3}, {7, 5}, {9, 5}};
    assert_int_equal(n, 6);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(h[i].task, want[i].task);
        assert_int_equal(h[i].rank, want[i].rank);
    }
    /* this run hands out 1 and 3 again and answers them; 4 stays in flight */
    assign(s, 2, 1, 3);
    fill(s, 1, 2);
    cert_result r = row_for(3);
    assert_int_equal(cert_store_add(s, 3, 2, &r, NULL, 0, &err), NN_OK);
    assign(s, 2, 4, -1);
    assert_int_equal(cert_store_close(s, 0, &err), NN_OK);

    assert_int_equal(cert_store_open(&s, &o, &err), NN_OK);
    n = cert_store_unanswered(s, &h);
    assert_int_equal(n, 1);  /* only the last run counts: not 5, 7, 9 */
    assert_int_equal(h[0].task, 4);
    assert_int_equal(h[0].rank, 2);
    assert_int_equal(cert_store_close(s, 1, &err), NN_OK);
    assert_int_equal(cert_store_open(&s, &o, &err), NN_OK);
    assert_int_equal(cert_store_unanswered(s, &h), 0);  /* that run handed out nothing */
    assert_int_equal(cert_store_close(s, 1, &err), NN_OK);
}

int main(void)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
#define WITH_FILES(test) cmocka_unit_test_setup_teardown(test, files_setup, files_teardown)
    const struct CMUnitTest tests[] = {
        WITH_FILES(rows_survive_reopen_and_count_as_done),
        WITH_FILES(checkpoints_of_unfinished_tasks_come_back),
        WITH_FILES(torn_results_file_is_rebuilt_from_the_journal),
        WITH_FILES(another_jobs_file_is_refused_untouched),
        WITH_FILES(unwritable_location_fails_before_writing),
        WITH_FILES(pgd_columns_and_counterexamples_survive_resume),
        WITH_FILES(journals_of_the_328_byte_rows_are_read),
        WITH_FILES(milp_points_follow_their_rows_through_the_journal),
        WITH_FILES(tasks_in_flight_at_the_end_of_a_run_are_named),
        WITH_FILES(runs_of_another_build_are_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
