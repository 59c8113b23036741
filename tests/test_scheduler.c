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
        cmocka_unit_test(workers_split_into_groups_of_the_asked_size),
        cmocka_unit_test(progress_is_one_line_on_a_terminal_and_plain_lines_otherwise),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
