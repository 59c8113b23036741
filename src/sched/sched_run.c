/* The run loop: master, group members, and the one-process case.
 *
 * Dynamic self-scheduling. The master keeps up to `depth` tasks outstanding per
 * group while at least depth x groups tasks are still unassigned, and one per
 * group after that, so a group never waits for a round trip while work is
 * plentiful and no task is queued behind a slow one at the end. A result is
 * the request for more. The master never waits on one group: it probes for a
 * result from any source, and sleeps briefly (20 us doubling to 1 ms) when
 * nothing has arrived, so it does not take a core from the workers; its sends
 * are non-blocking.
 *
 * A group leader receives task ids, broadcasts each to its members, and all of
 * them run it (sched_group.c explains why they agree bit for bit); after the
 * task the members check they are still in step, and the leader sends the
 * result: header, fixed-size result, optional extra bytes, one message.
 *
 * Stopping early (a signal: doc/scheduler.md "Stopping"): the master hands out
 * no more tasks and asks every group with work to drain; a leader drops the
 * tasks queued for it, says how many, and finishes the one it runs. The master
 * stores the results that come back until every group is idle or the drain
 * time is up, so no finished task is lost and none runs twice on a rerun.
 *
 * The master also answers the groups' requests for the next chunk of a dynamic
 * split (sched_group.c), polling faster while they come.
 *
 * Losing a rank (doc/scheduler.md "Losing a rank"): the master keeps the tasks
 * each group holds; it checks every TICK_SECONDS, and at once on a stop request
 * (mpirun's SIGTERM to the survivors), whether a rank's process on its own host
 * has died, and if so returns NN_ELOST naming the rank and those tasks. A rank
 * on another host cannot be checked: the job ends as the launcher decides, and
 * the application's record of assigned tasks lets the rerun name them.
 *
 * With one rank there is no master/worker split: the same callbacks run every
 * task in order in this process, and a stop request ends it after a task. */
#include "sched_internal.h"
#include "nn_clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TICK_SECONDS 0.2

typedef struct {
    int leader;            /* world rank of the group's leader */
    int outstanding;       /* tasks sent and not yet answered */
    int draining;          /* a drain request was sent and not yet answered */
    MPI_Request send;      /* last task batch sent */
    unsigned char *buf;    /* its buffer */
    int64_t *held;         /* [outstanding] the tasks sent and not yet answered, in order */
    uint64_t split_serial; /* the group's current dynamic split, */
    uint64_t split_next, split_blocks; /* its next block and block count, */
    int split_members;     /* over this many members, */
    uint32_t split_us;     /* at this agreed cost of a block */
} group_slot;

static int stop_requested(const sched_options *o) { return o->stop && *o->stop; }

static int interrupted(nn_error *err, size_t finished, size_t left, long abandoned)
{
    if (abandoned)
        return nn_fail(err, NN_EINTERRUPTED,
                       "stopped on request: %zu task(s) finished in this run, %ld handed out were abandoned "
                       "unanswered after the drain time, %zu not started; a rerun resumes", finished, abandoned, left);
    return nn_fail(err, NN_EINTERRUPTED,
                   "stopped on request: %zu task(s) finished in this run, %zu not started; a rerun resumes",
                   finished, left);
}

static int run_local(const sched_options *o, const sched_app *app, sched_group *g, const int64_t *tasks, size_t n,
                     nn_error *err)
{
    unsigned char *result = calloc(1, app->result_bytes ? app->result_bytes : 1);
    if (!result) return nn_fail(err, NN_ENOMEM, "out of memory for a task result");
    sched_buf extra = {0};
    int rc = NN_OK;
    size_t i = 0;
    for (; i < n && !rc && !stop_requested(o); i++) {
        extra.len = 0;
        app->run(app->ctx, tasks[i], result, &extra);
        if (g && g->checkpoint_rc) {
            rc = g->checkpoint_rc;
            if (err) *err = g->checkpoint_err;
            break;
        }
        rc = app->done(app->ctx, tasks[i], 0, result, extra.data, extra.len, err);
        if (!rc) rc = app->tick(app->ctx, 0, err);
    }
    if (!rc) rc = app->tick(app->ctx, 1, err);
    if (!rc && i < n) rc = interrupted(err, i, n - i, 0);
    free(result);
    sched_buf_free(&extra);
    return rc;
}

static void send_batch(group_slot *s, const int64_t *tasks, size_t count)
{
    if (s->send != MPI_REQUEST_NULL) sched_wait(&s->send, NULL);
    msg_tasks_pack(s->buf, tasks, count);
    MPI_Isend(s->buf, (int)msg_tasks_size(count), MPI_BYTE, s->leader, TAG_TASKS, MPI_COMM_WORLD, &s->send);
}

static void send_drain(group_slot *s)
{
    if (s->send != MPI_REQUEST_NULL) sched_wait(&s->send, NULL);
    msg_tasks_pack_drain(s->buf);
    MPI_Isend(s->buf, 4, MPI_BYTE, s->leader, TAG_TASKS, MPI_COMM_WORLD, &s->send);
}

static int refill(const sched_app *app, group_slot *s, int depth, int groups, const int64_t *tasks, size_t n,
                  size_t *next, nn_error *err)
{
    size_t left = n - *next;
    int want = left >= (size_t)depth * (size_t)groups ? depth : 1;
    size_t count = 0;
    while (s->outstanding + (int)count < want && *next + count < n) count++;
    if (count == 0) return NN_OK;
    if (app->assigned) {
        int rc = app->assigned(app->ctx, s->leader, tasks + *next, count, err);
        if (rc) return rc;
    }
    send_batch(s, tasks + *next, count);
    memcpy(s->held + s->outstanding, tasks + *next, count * sizeof *tasks);
    *next += count;
    s->outstanding += (int)count;
    return NN_OK;
}

/* A group answered task: no longer held (groups answer in order; search anyway). */
static void release(group_slot *s, int64_t task)
{
    for (int i = 0; i < s->outstanding; i++)
        if (s->held[i] == task) {
            memmove(s->held + i, s->held + i + 1, (size_t)(s->outstanding - i - 1) * sizeof *s->held);
            s->outstanding--;
            return;
        }
    s->outstanding--;  /* not one we sent: keep the count as before */
}

/* "a, b, c" into buf, shortened with "..." when it does not fit. */
static void list_tasks(const int64_t *t, int n, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < n; i++) {
        int w = snprintf(buf + len, size - len, "%s%lld", i ? ", " : "", (long long)t[i]);
        if (w < 0 || (size_t)w >= size - len - 4) {
            snprintf(buf + len, size - len, "%s...", i ? ", " : "");
            return;
        }
        len += (size_t)w;
    }
}

/* A rank on the master's host whose process has ended: NN_ELOST, naming it, the
 * tasks its group held and the other groups' tasks in flight (the job cannot go
 * on: its collectives and the launcher expect every rank). */
static int check_lost(const sched_env *env, const group_slot *slot, int groups, int width, nn_error *err)
{
    int r = 1;
    while (r < env->size && !sched_peer_gone(r)) r++;
    if (r == env->size) return NN_OK;
    int k = (r - 1) / width;
    char who[128], held[256], group[64] = "", others[400] = "";
    sched_peer_name(r, who, sizeof who);
    list_tasks(slot[k].held, slot[k].outstanding, held, sizeof held);
    if (r != slot[k].leader || (k + 1 < groups ? width : env->size - slot[k].leader) > 1)
        snprintf(group, sizeof group, " (in the group led by rank %d)", slot[k].leader);
    size_t len = 0;
    for (int i = 0; i < groups && len + 40 < sizeof others; i++) {
        if (i == k || slot[i].outstanding <= 0) continue;
        char list[160];
        list_tasks(slot[i].held, slot[i].outstanding, list, sizeof list);
        int w = snprintf(others + len, sizeof others - len, "%s rank %d [%s]", len ? ";" : "; still in flight:",
                         slot[i].leader, list);
        if (w > 0) len = len + (size_t)w < sizeof others ? len + (size_t)w : sizeof others - 1;
    }
    return nn_fail(err, NN_ELOST, "rank %d (%s) died%s holding task(s) [%s]%s; finished tasks are saved, a rerun "
                   "computes the rest", r, who, group, held, others);
}

/* Said at once when a stop starts a drain: which group holds which tasks. A
 * rank lost on another host is invisible to check_lost, and mpirun's SIGTERM
 * after it is followed by SIGKILL a second later; this line, with mpirun's own
 * naming the lost rank, tells which tasks that rank held. */
static void announce_drain(const group_slot *slot, int groups, int width, int size, double seconds)
{
    char line[1024];
    size_t len = 0;
    for (int k = 0; k < groups && len + 200 < sizeof line; k++) {
        if (slot[k].outstanding <= 0) continue;
        char who[128], list[160];
        sched_peer_name(slot[k].leader, who, sizeof who);
        list_tasks(slot[k].held, slot[k].outstanding, list, sizeof list);
        int members = k + 1 < groups ? width : size - slot[k].leader;
        int w = snprintf(line + len, sizeof line - len, "%s rank %d (%s%s) [%s]", len ? ";" : "", slot[k].leader, who,
                         members > 1 ? ", leading a group" : "", list);
        if (w > 0) len = len + (size_t)w < sizeof line ? len + (size_t)w : sizeof line - 1;
    }
    if (len) fprintf(stderr, "nncert: stop requested: no new tasks; waiting up to %g s for the tasks in flight:%s\n",
                     seconds, line);
    else fprintf(stderr, "nncert: stop requested: no new tasks, none in flight\n");
}

/* One result message: the application's done callback. */
static int master_result(const sched_app *app, const MPI_Status *st, int width, int groups, group_slot *slot,
                         unsigned char **buf, size_t *cap, int *group, nn_error *err)
{
    int count = 0;
    MPI_Get_count(st, MPI_BYTE, &count);
    if ((size_t)count > *cap) {
        unsigned char *p = realloc(*buf, (size_t)count);
        if (!p) return nn_fail(err, NN_ENOMEM, "out of memory for a %d-byte result", count);
        *buf = p, *cap = (size_t)count;
    }
    MPI_Recv(*buf, count, MPI_BYTE, st->MPI_SOURCE, TAG_RESULT, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    int64_t task;
    int rank;
    const unsigned char *result, *extra;
    size_t extra_len;
    int k = (st->MPI_SOURCE - 1) / width;
    if (k < 0 || k >= groups ||
        msg_result_parse(*buf, (size_t)count, app->result_bytes, &task, &rank, &result, &extra, &extra_len))
        return nn_fail(err, NN_EFORMAT, "malformed result message (%d bytes) from rank %d", count, st->MPI_SOURCE);
    release(&slot[k], task);
    *group = k;
    return app->done(app->ctx, task, rank, result, extra, extra_len, err);
}

/* A checkpoint message: the application's checkpoint callback. */
static int master_checkpoint(const sched_app *app, const MPI_Status *st, unsigned char **buf, size_t *cap,
                             nn_error *err)
{
    int count = 0;
    MPI_Get_count(st, MPI_BYTE, &count);
    if ((size_t)count > *cap) {
        unsigned char *p = realloc(*buf, (size_t)count);
        if (!p) return nn_fail(err, NN_ENOMEM, "out of memory for a %d-byte checkpoint", count);
        *buf = p, *cap = (size_t)count;
    }
    MPI_Recv(*buf, count, MPI_BYTE, st->MPI_SOURCE, TAG_CHECKPOINT, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    int64_t task;
    int rank;
    const unsigned char *data;
    size_t len;
    if (msg_checkpoint_parse(*buf, (size_t)count, &task, &rank, &data, &len))
        return nn_fail(err, NN_EFORMAT, "malformed checkpoint message (%d bytes) from rank %d", count, st->MPI_SOURCE);
    return app->checkpoint ? app->checkpoint(app->ctx, task, rank, data, len, err) : NN_OK;
}

/* A group's answer to a drain request: its queued tasks are dropped. */
static int master_drained(const sched_app *app, const MPI_Status *st, int width, int groups, group_slot *slot,
                          nn_error *err)
{
    unsigned char msg[MSG_DRAINED_SIZE];
    int count = 0;
    MPI_Get_count(st, MPI_BYTE, &count);
    if (count != MSG_DRAINED_SIZE) count = 0;
    MPI_Recv(msg, count, MPI_BYTE, st->MPI_SOURCE, TAG_DRAINED, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    uint64_t dropped;
    int k = (st->MPI_SOURCE - 1) / width;
    if (k < 0 || k >= groups || msg_drained_unpack(msg, (size_t)count, &dropped) || dropped > INT32_MAX)
        return nn_fail(err, NN_EFORMAT, "malformed drained message from rank %d", st->MPI_SOURCE);
    if ((int)dropped > slot[k].outstanding)
        return nn_fail(err, NN_EFORMAT, "rank %d dropped %d tasks but held %d", st->MPI_SOURCE, (int)dropped,
                       slot[k].outstanding);
    /* the queued tasks are the last ones sent: the group runs them in order */
    slot[k].outstanding -= (int)dropped;
    slot[k].draining = 0;
    if (app->assigned && dropped)
        return app->assigned(app->ctx, -1, slot[k].held + slot[k].outstanding, (size_t)dropped, err);
    return NN_OK;
}

/* A member's request for the next chunk of its group's dynamic split
 * (sched_group.c): the first request of a new split starts it past the
 * members' static first chunks; chunks are sized by the group's agreed cost
 * of a block (sched_chunk); the answer is -1 once every block
 * is handed out. Answered during drains too: the task in flight needs them. */
static int master_chunk(const MPI_Status *st, int width, int groups, group_slot *slot, nn_error *err)
{
    unsigned char msg[MSG_CHUNK_REQUEST_SIZE], ans[MSG_CHUNK_SIZE];
    int count = 0;
    MPI_Get_count(st, MPI_BYTE, &count);
    if (count != MSG_CHUNK_REQUEST_SIZE) count = 0;
    MPI_Recv(msg, count, MPI_BYTE, st->MPI_SOURCE, TAG_CHUNK_REQUEST, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    uint64_t serial, blocks;
    uint32_t members, block_us;
    int k = (st->MPI_SOURCE - 1) / width;
    if (k < 0 || k >= groups || msg_chunk_request_unpack(msg, (size_t)count, &serial, &blocks, &members, &block_us) ||
        members > (uint32_t)width)
        return nn_fail(err, NN_EFORMAT, "malformed chunk request from rank %d", st->MPI_SOURCE);
    group_slot *s = &slot[k];
    if (serial != s->split_serial) {
        s->split_serial = serial, s->split_blocks = blocks, s->split_members = (int)members;
        s->split_next = sched_chunk_start((size_t)blocks, (int)members, block_us);
        s->split_us = block_us;
    }
    if (s->split_next < s->split_blocks) {
        uint64_t c = sched_chunk((size_t)(s->split_blocks - s->split_next), s->split_members, s->split_us);
        msg_chunk_pack(ans, (int64_t)s->split_next, c);
        s->split_next += c;
    } else {
        msg_chunk_pack(ans, -1, 0);
    }
    MPI_Send(ans, MSG_CHUNK_SIZE, MPI_BYTE, st->MPI_SOURCE, TAG_CHUNK, MPI_COMM_WORLD);
    return NN_OK;
}

/* Drain: no more tasks; each group with work drops its queue and finishes the
 * task it is running. The loop ends when every group is idle or at the deadline. */
static int master_idle(const group_slot *slot, int groups)
{
    for (int k = 0; k < groups; k++)
        if (slot[k].outstanding > 0 || slot[k].draining) return 0;
    return 1;
}

static int run_master(const sched_env *env, const sched_options *o, const sched_app *app, const int64_t *tasks,
                      size_t n, long *abandoned, nn_error *err)
{
    int groups = sched_group_count(env, o->ranks_per_image);
    int width = sched_group_width(env, o->ranks_per_image);
    int depth = o->depth > 0 ? o->depth : 1;
    group_slot *slot = nn_calloc((size_t)groups, sizeof *slot, "group slots", err);
    if (!slot) return NN_ENOMEM;
    int rc = NN_OK;
    for (int k = 0; k < groups; k++) {
        slot[k].leader = 1 + k * width;
        slot[k].send = MPI_REQUEST_NULL;
        slot[k].buf = malloc(msg_tasks_size((size_t)depth));
        slot[k].held = malloc((size_t)depth * sizeof *slot[k].held);
        if (!slot[k].buf || !slot[k].held) rc = nn_fail(err, NN_ENOMEM, "out of memory");
    }
    size_t next = 0, done = 0, cap = 0;
    unsigned char *buf = NULL;
    for (int k = 0; !rc && k < groups; k++) rc = refill(app, &slot[k], depth, groups, tasks, n, &next, err);
    double last = nn_wall_seconds(), last_check = last, drain_end = 0, last_block = -1;
    int idle = 0, draining = 0;
    while (!rc && (draining ? !master_idle(slot, groups) && nn_wall_seconds() < drain_end : done < n)) {
        if (!draining && stop_requested(o)) {
            /* mpirun's SIGTERM after losing a rank looks like any stop: look first */
            if ((rc = check_lost(env, slot, groups, width, err))) break;
            announce_drain(slot, groups, width, env->size, o->drain_seconds);
            draining = 1;
            drain_end = nn_wall_seconds() + o->drain_seconds;
            for (int k = 0; k < groups; k++)
                if (slot[k].outstanding > 0) {
                    send_drain(&slot[k]);
                    slot[k].draining = 1;
                }
            continue;
        }
        /* any tag: MPI then keeps each sender's order, so a task's checkpoints
         * come before its result */
        int flag = 0, k = -1;
        MPI_Status st;
        MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st);
        if (flag && st.MPI_TAG == TAG_CHECKPOINT) {
            idle = 0;
            flag = 0;  /* not a result: no tick for it */
            rc = master_checkpoint(app, &st, &buf, &cap, err);
        } else if (flag && st.MPI_TAG == TAG_RESULT) {
            idle = 0;
            rc = master_result(app, &st, width, groups, slot, &buf, &cap, &k, err);
            done++;
            if (!rc && !draining) rc = refill(app, &slot[k], depth, groups, tasks, n, &next, err);
        } else if (flag && st.MPI_TAG == TAG_DRAINED) {
            rc = master_drained(app, &st, width, groups, slot, err);
        } else if (flag && st.MPI_TAG == TAG_CHUNK_REQUEST) {
            idle = 0;
            flag = 0;
            rc = master_chunk(&st, width, groups, slot, err);
            last_block = nn_wall_seconds();
        } else if (flag) {
            rc = nn_fail(err, NN_EFORMAT, "unexpected message (tag %d) from rank %d", st.MPI_TAG, st.MPI_SOURCE);
        } else {
            /* while groups ask for chunks a request waits at most 100 us */
            sched_backoff_cap(&idle, last_block >= 0 && nn_wall_seconds() - last_block < 1.0 ? 100 : 1000);
        }
        /* after every result, and every TICK_SECONDS while none arrive */
        if (!rc && (flag || nn_wall_seconds() - last >= TICK_SECONDS)) {
            rc = app->tick(app->ctx, 0, err);
            last = nn_wall_seconds();
        }
        if (!rc && last - last_check >= TICK_SECONDS) {
            rc = check_lost(env, slot, groups, width, err);
            last_check = last;
        }
    }
    long lost = 0;
    for (int k = 0; k < groups; k++) lost += slot[k].outstanding > 0 ? slot[k].outstanding : 0;
    if (!rc) {
        for (int k = 0; k < groups; k++) send_batch(&slot[k], NULL, 0);
        /* a group still computing reads its stop only after its task: do not wait for it */
        for (int k = 0; k < groups; k++) {
            if (lost) MPI_Request_free(&slot[k].send);
            else sched_wait(&slot[k].send, NULL);
        }
        rc = app->tick(app->ctx, 1, err);
        if (!rc && draining) rc = interrupted(err, done, n - done - (size_t)lost, lost);
    }
    if (abandoned) *abandoned = rc == NN_EINTERRUPTED ? lost : 0;
    for (int k = 0; k < groups; k++) free(slot[k].buf), free(slot[k].held);
    free(slot);
    free(buf);
    return rc;
}

typedef struct {
    int64_t *v;
    size_t head, len, cap;
} task_queue;

static int queue_push(task_queue *q, const int64_t *t, size_t n)
{
    if (q->len + n > q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 16;
        while (cap < q->len + n) cap *= 2;
        int64_t *v = malloc(cap * sizeof *v);
        if (!v) return NN_ENOMEM;
        for (size_t i = 0; i < q->len; i++) v[i] = q->v[(q->head + i) % q->cap];
        free(q->v);
        q->v = v, q->cap = cap, q->head = 0;
    }
    for (size_t i = 0; i < n; i++) q->v[(q->head + q->len + i) % q->cap] = t[i];
    q->len += n;
    return NN_OK;
}

/* Receive one task batch (blocking with back-off when wait, else only if one is
 * there). Returns 1 if a message was taken; *stop on the empty batch. A drain
 * request empties the queue and is answered with the number of tasks dropped. */
static int leader_receive(task_queue *q, int wait, int *stop, unsigned char **buf, size_t *cap)
{
    int flag = 0, idle = 0;
    MPI_Status st;
    for (;;) {
        MPI_Iprobe(0, TAG_TASKS, MPI_COMM_WORLD, &flag, &st);
        if (flag || !wait) break;
        sched_backoff(&idle);
    }
    if (!flag) return 0;
    int count = 0;
    MPI_Get_count(&st, MPI_BYTE, &count);
    if ((size_t)count > *cap) {
        unsigned char *p = realloc(*buf, (size_t)count);
        if (!p) {
            fprintf(stderr, "nncert: rank: out of memory for a task batch\n");
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
        *buf = p, *cap = (size_t)count;
    }
    MPI_Recv(*buf, count, MPI_BYTE, 0, TAG_TASKS, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    size_t n = 0, max = count >= 4 ? ((size_t)count - 4) / 8 : 0;
    int64_t *t = malloc((max ? max : 1) * sizeof *t);
    int drain = 0;
    if (!t || msg_tasks_unpack(*buf, (size_t)count, t, max, &n, &drain) || queue_push(q, t, n)) {
        fprintf(stderr, "nncert: malformed task batch or out of memory\n");
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    free(t);
    if (drain) {
        unsigned char msg[MSG_DRAINED_SIZE];
        msg_drained_pack(msg, q->len);
        q->len = 0;
        MPI_Send(msg, MSG_DRAINED_SIZE, MPI_BYTE, 0, TAG_DRAINED, MPI_COMM_WORLD);
    } else if (n == 0) {
        *stop = 1;
    }
    return 1;
}

static int run_member(sched_group *g, const sched_app *app, nn_error *err)
{
    int leader = g->rank == 0, stop = 0;
    task_queue q = {0};
    unsigned char *inbuf = NULL, *msg = malloc(MSG_RESULT_HEADER + app->result_bytes);
    size_t incap = 0;
    sched_buf extra = {0};
    if (!msg) return nn_fail(err, NN_ENOMEM, "out of memory for a result message");
    for (;;) {
        int64_t task = -1;
        if (leader) {
            while (leader_receive(&q, 0, &stop, &inbuf, &incap)) {}
            while (q.len == 0 && !stop) leader_receive(&q, 1, &stop, &inbuf, &incap);
            if (q.len > 0) {
                task = q.v[q.head];
                q.head = (q.head + 1) % q.cap;
                q.len--;
            }
        }
        if (g->size > 1) {
            MPI_Request req;
            MPI_Ibcast(&task, 1, MPI_INT64_T, 0, g->comm, &req);
            sched_wait(&req, NULL);
        }
        if (task < 0) break;
        extra.len = 0;
        app->run(app->ctx, task, msg + MSG_RESULT_HEADER, &extra);
        sched_group_sync(g, SYNC_END, 0);
        if (!leader) continue;
        msg_result_header(msg, task, g->world_rank, app->result_bytes, extra.len);
        if (extra.len) {
            /* one message: header and result in front of the extra bytes */
            size_t head = MSG_RESULT_HEADER + app->result_bytes;
            if (sched_buf_append(&extra, msg, head) == NN_OK) {
                memmove(extra.data + head, extra.data, extra.len - head);
                memcpy(extra.data, msg, head);
                MPI_Send(extra.data, (int)extra.len, MPI_BYTE, 0, TAG_RESULT, MPI_COMM_WORLD);
                continue;
            }
            msg_result_header(msg, task, g->world_rank, app->result_bytes, 0);  /* drop the extra bytes */
        }
        MPI_Send(msg, (int)(MSG_RESULT_HEADER + app->result_bytes), MPI_BYTE, 0, TAG_RESULT, MPI_COMM_WORLD);
    }
    free(q.v);
    free(inbuf);
    free(msg);
    sched_buf_free(&extra);
    return NN_OK;
}

int sched_start(const sched_env *env, const sched_options *o, const sched_app *app, sched_group **g,
                nn_error *err)
{
    int rc = sched_group_init(env, o->ranks_per_image, g, err);
    if (!rc && *g) (*g)->app = app, (*g)->local = env->size == 1;
    if (!rc && *g && app->setup) rc = app->setup(app->ctx, *g, err);
    rc = sched_agree(env, rc, err);
    if (rc) {
        sched_group_free(*g);
        *g = NULL;
    }
    return rc;
}

int sched_loop(const sched_env *env, const sched_options *o, const sched_app *app, sched_group *g,
               const int64_t *tasks, size_t n, long *abandoned, nn_error *err)
{
    if (abandoned) *abandoned = 0;
    if (env->size == 1) return run_local(o, app, g, tasks, n, err);
    if (env->is_master) return run_master(env, o, app, tasks, n, abandoned, err);
    return run_member(g, app, err);
}

void sched_stop(sched_group *g) { sched_group_free(g); }
