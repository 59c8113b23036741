/* Scheduler pieces that need no second process: the wire format of task batches
 * and result messages (round trip, malformed messages refused), how workers are
 * split into rank groups, and the progress line (rewritten in place on a
 * terminal, plain periodic lines otherwise). The MPI paths themselves run in
 * tests/cli_dist.sh under mpirun. */
#include "testutil.h"

#include "scheduler.h"
/* The wire format is the ranks' private protocol: no public API packs or parses
 * messages, and through the public one (sched_loop) only a multi-rank MPI job
 * would send any; malformed messages are refused only here. */
#include "../src/sched/sched_msg.h"

static void task_batches_round_trip_and_bad_ones_are_refused(void **state)
{
    (void)state;
    int64_t t[3] = {0, 123456789012345LL, 7}, back[3];
    unsigned char buf[64];
    size_t n = 0;
    int drain = -1;
    assert_int_equal(msg_tasks_size(3), 28);
    msg_tasks_pack(buf, t, 3);
    assert_int_equal(msg_tasks_unpack(buf, 28, back, 3, &n, &drain), 0);
    assert_int_equal(n, 3);
    assert_int_equal(drain, 0);
    assert_memory_equal(t, back, sizeof t);
    assert_int_equal(msg_tasks_unpack(buf, 27, back, 3, &n, &drain), -1);   /* truncated */
    assert_int_equal(msg_tasks_unpack(buf, 28, back, 2, &n, &drain), -1);   /* more than room */
    msg_tasks_pack(buf, NULL, 0);
    assert_int_equal(msg_tasks_unpack(buf, 4, back, 3, &n, &drain), 0);
    assert_int_equal(n, 0);
    assert_int_equal(drain, 0);
}

static void drain_requests_and_answers_round_trip_and_bad_ones_are_refused(void **state)
{
    (void)state;
    unsigned char buf[16];
    int64_t back[2];
    size_t n = 5;
    int drain = 0;
    msg_tasks_pack_drain(buf);
    assert_int_equal(msg_tasks_unpack(buf, 4, back, 2, &n, &drain), 0);
    assert_int_equal(drain, 1);
    assert_int_equal(n, 0);
    /* a drain request carries no task ids */
    assert_int_equal(msg_tasks_unpack(buf, 12, back, 2, &n, &drain), -1);
    uint64_t dropped = 0;
    msg_drained_pack(buf, 123456789012ULL);
    assert_int_equal(msg_drained_unpack(buf, MSG_DRAINED_SIZE, &dropped), 0);
    assert_true(dropped == 123456789012ULL);
    assert_int_equal(msg_drained_unpack(buf, MSG_DRAINED_SIZE - 1, &dropped), -1);
}

static void result_messages_round_trip_and_bad_ones_are_refused(void **state)
{
    (void)state;
    unsigned char buf[MSG_RESULT_HEADER + 10 + 5];
    msg_result_header(buf, 99, 4, 10, 5);
    for (int i = 0; i < 15; i++) buf[MSG_RESULT_HEADER + i] = (unsigned char)i;
    int64_t task;
    int rank;
    const unsigned char *r, *e;
    size_t elen;
    assert_int_equal(msg_result_parse(buf, sizeof buf, 10, &task, &rank, &r, &e, &elen), 0);
    assert_int_equal(task, 99);
    assert_int_equal(rank, 4);
    assert_int_equal(elen, 5);
    assert_int_equal(r[0], 0);
    assert_int_equal(e[0], 10);
    assert_int_equal(msg_result_parse(buf, sizeof buf, 11, &task, &rank, &r, &e, &elen), -1);  /* other layout */
    assert_int_equal(msg_result_parse(buf, sizeof buf - 1, 10, &task, &rank, &r, &e, &elen), -1);
    assert_int_equal(msg_result_parse(buf, 10, 10, &task, &rank, &r, &e, &elen), -1);
}

static void checkpoint_messages_round_trip_and_bad_ones_are_refused(void **state)
{
    (void)state;
    unsigned char buf[MSG_CHECKPOINT_HEADER + 3] = {0};
    msg_checkpoint_header(buf, -7 + (1LL << 40), 2);
    buf[MSG_CHECKPOINT_HEADER] = 42;
    int64_t task;
    int rank;
    const unsigned char *d;
    size_t len;
    assert_int_equal(msg_checkpoint_parse(buf, sizeof buf, &task, &rank, &d, &len), 0);
    assert_true(task == -7 + (1LL << 40));
    assert_int_equal(rank, 2);
    assert_int_equal(len, 3);
    assert_int_equal(d[0], 42);
    assert_int_equal(msg_checkpoint_parse(buf, MSG_CHECKPOINT_HEADER, &task, &rank, &d, &len), 0);  /* no bytes */
    assert_int_equal(len, 0);
    assert_int_equal(msg_checkpoint_parse(buf, MSG_CHECKPOINT_HEADER - 1, &task, &rank, &d, &len), -1);
    buf[12] = 1;  /* the reserved word */
    assert_int_equal(msg_checkpoint_parse(buf, sizeof buf, &task, &rank, &d, &len), -1);
}

static void chunk_requests_and_answers_round_trip_and_bad_ones_are_refused(void **state)
{
    (void)state;
    unsigned char buf[MSG_CHUNK_REQUEST_SIZE];
    uint64_t serial, blocks, count;
    uint32_t members, us;
    msg_chunk_request_pack(buf, (1ULL << 40) + 3, 17, 5, 123456);
    assert_int_equal(msg_chunk_request_unpack(buf, sizeof buf, &serial, &blocks, &members, &us), 0);
    assert_true(serial == (1ULL << 40) + 3);
    assert_true(blocks == 17);
    assert_int_equal(members, 5);
    assert_int_equal(us, 123456);
    assert_int_equal(msg_chunk_request_unpack(buf, sizeof buf - 1, &serial, &blocks, &members, &us), -1);
    msg_chunk_request_pack(buf, 1, UINT64_MAX, 2, 0);  /* more blocks than a block id holds */
    assert_int_equal(msg_chunk_request_unpack(buf, sizeof buf, &serial, &blocks, &members, &us), -1);
    msg_chunk_request_pack(buf, 1, 4, 0, 0);  /* a group of no one */
    assert_int_equal(msg_chunk_request_unpack(buf, sizeof buf, &serial, &blocks, &members, &us), -1);
    int64_t first;
    msg_chunk_pack(buf, -1, 0);  /* none left */
    assert_int_equal(msg_chunk_unpack(buf, MSG_CHUNK_SIZE, &first, &count), 0);
    assert_true(first == -1 && count == 0);
    msg_chunk_pack(buf, (1LL << 35) + 1, 3);
    assert_int_equal(msg_chunk_unpack(buf, MSG_CHUNK_SIZE, &first, &count), 0);
    assert_true(first == (1LL << 35) + 1 && count == 3);
    assert_int_equal(msg_chunk_unpack(buf, MSG_CHUNK_SIZE + 1, &first, &count), -1);
    msg_chunk_pack(buf, -2, 1);
    assert_int_equal(msg_chunk_unpack(buf, MSG_CHUNK_SIZE, &first, &count), -1);
    msg_chunk_pack(buf, 4, 0);  /* an empty chunk */
    assert_int_equal(msg_chunk_unpack(buf, MSG_CHUNK_SIZE, &first, &count), -1);
    msg_chunk_pack(buf, -1, 2);
    assert_int_equal(msg_chunk_unpack(buf, MSG_CHUNK_SIZE, &first, &count), -1);
}

/* Chunks: every block exactly once, the members' static first chunks then the
 * master's, each at least one block; one block at a time while the cost is
 * unknown or a block lasts SCHED_CHUNK_US; cheap blocks in chunks that last at
 * most about SCHED_CHUNK_US and, but for the last, at least a quarter of it. */
static void chunks_cover_every_block_once_and_fit_the_cost(void **state)
{
    (void)state;
    const uint32_t costs[] = {0, 1, 50, 700, SCHED_CHUNK_US, 10 * SCHED_CHUNK_US};
    for (size_t n = 1; n < 300; n += 7)
        for (int g = 1; g <= 5; g++)
            for (size_t k = 0; k < sizeof costs / sizeof costs[0]; k++) {
                uint32_t us = costs[k];
                int costly = us == 0 || us >= SCHED_CHUNK_US;
                size_t first = sched_chunk_first(n, g, us), next = sched_chunk_start(n, g, us);
                assert_true(first >= 1);
                if (costly) assert_int_equal(first, 1);
                else assert_true(first == 1 || (first <= n / (2 * (size_t)g) && first * us < SCHED_CHUNK_US + us));
                assert_int_equal(next, first * (size_t)g < n ? first * (size_t)g : n);
                while (next < n) {
                    size_t c = sched_chunk(n - next, g, us);
                    assert_true(c >= 1 && next + c <= n);
                    if (costly) assert_int_equal(c, 1);
                    else assert_true(c * us < SCHED_CHUNK_US + us &&
                                     (next + c == n || c * us >= SCHED_CHUNK_US / 4));
                    next += c;
                }
                assert_int_equal(next, n);
            }
    assert_int_equal(sched_chunk_first(16, 2, 140), 4);   /* a round of light jobs: 4 each, */
    assert_int_equal(sched_chunk(8, 2, 140), 4);          /* then 4 and 4 */
    assert_int_equal(sched_chunk(4, 2, 140), 4);
    assert_int_equal(sched_chunk(1000, 2, 50), 40);       /* 2 ms */
    assert_int_equal(sched_chunk(100, 2, 0), 1);
}

static void workers_split_into_groups_of_the_asked_size(void **state)
{
    (void)state;
    sched_env one = {0, 1, 1, 1}, five = {0, 5, 1, 0}, six = {0, 6, 1, 0};
    assert_int_equal(sched_group_count(&one, 4), 1);
    assert_int_equal(sched_group_width(&one, 4), 1);
    assert_int_equal(sched_group_count(&five, 1), 4);   /* 4 workers */
    assert_int_equal(sched_group_count(&five, 2), 2);
    assert_int_equal(sched_group_count(&five, 0), 1);   /* all */
    assert_int_equal(sched_group_width(&five, 0), 4);
    assert_int_equal(sched_group_count(&five, 9), 1);   /* more than there are */
    assert_int_equal(sched_group_count(&six, 2), 3);    /* 5 workers: 2 + 2 + 1 */
    assert_int_equal(sched_group_width(&six, 2), 2);
}

static void progress_is_one_line_on_a_terminal_and_plain_lines_otherwise(void **state)
{
    (void)state;
    char text[4096];
    for (int tty = 0; tty < 2; tty++) {
        FILE *f = tmpfile();
        assert_non_null(f);
        sched_progress p;
        sched_progress_init(&p, f, tty, 0, 4, 1);
        sched_progress_add(&p, 1, 1, 0);
        sched_progress_tick(&p, 0);
        sched_progress_add(&p, 0, 1, 0);
        sched_progress_add(&p, 0, 0, 1);
        sched_progress_tick(&p, 1);
        rewind(f);
        size_t n = fread(text, 1, sizeof text - 1, f);
        text[n] = '\0';
        fclose(f);
        assert_non_null(strstr(text, "2/4 tasks"));
        assert_non_null(strstr(text, "4/4 tasks (100.0%)"));
        assert_non_null(strstr(text, "certified 0.5000 of 2, 1 failed"));
        int lines = 0, returns = 0;
        for (char *c = text; *c; c++) lines += *c == '\n', returns += *c == '\r';
        assert_int_equal(lines, tty ? 1 : 2);
        assert_int_equal(returns, tty ? 2 : 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(task_batches_round_trip_and_bad_ones_are_refused),
        cmocka_unit_test(drain_requests_and_answers_round_trip_and_bad_ones_are_refused),
        cmocka_unit_test(result_messages_round_trip_and_bad_ones_are_refused),
        cmocka_unit_test(checkpoint_messages_round_trip_and_bad_ones_are_refused),
        cmocka_unit_test(chunk_requests_and_answers_round_trip_and_bad_ones_are_refused),
        cmocka_unit_test(chunks_cover_every_block_once_and_fit_the_cost),
        cmocka_unit_test(workers_split_into_groups_of_the_asked_size),
        cmocka_unit_test(progress_is_one_line_on_a_terminal_and_plain_lines_otherwise),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
