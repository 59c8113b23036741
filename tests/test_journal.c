/* The results journal (include/journal.h): records come back in order; a tail
 * torn at any byte (what kill -9 or a crash can leave) is dropped and cut off,
 * later appends replay after the last good record; a bit flip ends the replay;
 * other files are refused. */
#include "testutil.h"

#include <sys/stat.h>

#include "journal.h"

typedef struct {
    int n;
    uint32_t type[64];
    size_t len[64];
    unsigned char first[64];
} seen;

static int collect(void *ctx, uint32_t type, const unsigned char *data, size_t len, nn_error *err)
{
    (void)err;
    seen *s = ctx;
    s->type[s->n] = type;
    s->len[s->n] = len;
    s->first[s->n] = len ? data[0] : 0;
    s->n++;
    return NN_OK;
}

static journal *open_replay(const char *path, seen *s, size_t *dropped)
{
    journal *j;
    int created;
    nn_error err;
    assert_int_equal(journal_open(&j, path, &created, &err), NN_OK);
    memset(s, 0, sizeof *s);
    if (!created) assert_int_equal(journal_replay(j, collect, s, dropped, &err), NN_OK);
    return j;
}

static off_t file_size(const char *path)
{
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    return sb.st_size;
}

/* Three records of 0, 5 and 300 bytes. */
static off_t write_three(const char *path, off_t *before_last)
{
    seen s;
    size_t dropped;
    nn_error err;
    unlink(path);
    journal *j = open_replay(path, &s, &dropped);
    unsigned char big[300];
    for (int i = 0; i < 300; i++) big[i] = (unsigned char)(i * 7 + 1);
    assert_int_equal(journal_append(j, 1, "", 0, &err), NN_OK);
    assert_int_equal(journal_append(j, 2, "hello", 5, &err), NN_OK);
    *before_last = file_size(path);
    assert_int_equal(journal_append(j, 3, big, sizeof big, &err), NN_OK);
    assert_int_equal(journal_close(j, &err), NN_OK);
    return file_size(path);
}

static void records_come_back_in_order(void **state)
{
    (void)state;
    const char *path = test_tmpname(".journal");
    off_t mid;
    write_three(path, &mid);
    seen s;
    size_t dropped = 99;
    journal *j = open_replay(path, &s, &dropped);
    assert_int_equal(s.n, 3);
    assert_int_equal(dropped, 0);
    assert_int_equal(s.type[0], 1);
    assert_int_equal(s.len[1], 5);
    assert_int_equal(s.first[1], 'h');
    assert_int_equal(s.len[2], 300);
    assert_int_equal(s.first[2], 1);
    journal_close(j, NULL);
    unlink(path);
}

static void torn_tail_at_any_byte_is_dropped_and_appends_continue(void **state)
{
    (void)state;
    const char *path = test_tmpname(".journal");
    off_t mid, full = 0;
    for (off_t cut = 0;; cut++) {
        full = write_three(path, &mid);
        off_t at = mid + cut;
        if (at >= full) break;
        assert_int_equal(truncate(path, at), 0);
        seen s;
        size_t dropped;
        nn_error err;
        journal *j = open_replay(path, &s, &dropped);
        assert_int_equal(s.n, 2);
        assert_int_equal(dropped, (size_t)cut);
        assert_int_equal(file_size(path), mid);
        assert_int_equal(journal_append(j, 4, "x", 1, &err), NN_OK);
        journal_close(j, NULL);
        j = open_replay(path, &s, &dropped);
        assert_int_equal(s.n, 3);
        assert_int_equal(s.type[2], 4);
        assert_int_equal(dropped, 0);
        journal_close(j, NULL);
    }
    /* a journal torn inside its magic is empty */
    assert_int_equal(truncate(path, 3), 0);
    seen s;
    size_t dropped;
    journal *j = open_replay(path, &s, &dropped);
    assert_int_equal(s.n, 0);
    journal_close(j, NULL);
    unlink(path);
}

static void flipped_bit_ends_the_replay(void **state)
{
    (void)state;
    const char *path = test_tmpname(".journal");
    off_t mid;
    off_t full = write_three(path, &mid);
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    fseek(f, (long)(mid + 20), SEEK_SET);
    int c = fgetc(f);
    fseek(f, (long)(mid + 20), SEEK_SET);
    fputc(c ^ 0x10, f);
    fclose(f);
    seen s;
    size_t dropped;
    journal *j = open_replay(path, &s, &dropped);
    assert_int_equal(s.n, 2);
    assert_int_equal(dropped, (size_t)(full - mid));
    journal_close(j, NULL);
    unlink(path);
}

static void other_files_are_refused(void **state)
{
    (void)state;
    const char *path = test_tmpname(".journal");
    FILE *f = fopen(path, "w");
    fputs("this is not a journal at all", f);
    fclose(f);
    journal *j;
    int created;
    nn_error err;
    size_t dropped;
    seen s = {0};
    assert_int_equal(journal_open(&j, path, &created, &err), NN_OK);
    assert_int_equal(created, 0);
    assert_int_equal(journal_replay(j, collect, &s, &dropped, &err), NN_EFORMAT);
    assert_non_null(strstr(err.msg, "not an nncert journal"));
    assert_int_equal(journal_append(j, 1, "x", 1, &err), NN_EARG);  /* no append without a replay */
    journal_close(j, NULL);
    assert_int_equal(file_size(path), 28);
    unlink(path);
    assert_int_equal(journal_open(&j, "/nonexistent/dir/x.journal", &created, &err), NN_EIO);
    assert_non_null(strstr(err.msg, "/nonexistent/dir/x.journal"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(records_come_back_in_order),
        cmocka_unit_test(torn_tail_at_any_byte_is_dropped_and_appends_continue),
        cmocka_unit_test(flipped_bit_ends_the_replay),
        cmocka_unit_test(other_files_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
