/* sched_msg (private to src/sched): the wire format of the scheduler's messages
 * between ranks (sched_msg.c). It needs no MPI, so it is tested without a
 * second process (tests/test_scheduler.c). */
#ifndef SCHED_MSG_H
#define SCHED_MSG_H

#include <stddef.h>
#include <stdint.h>

/* Task batch (master -> group leader): u32 count, count x i64 task ids; count 0 =
 * stop; count MSG_TASKS_DRAIN (no ids) = drop every queued task and answer with a
 * drained message. */
#define MSG_TASKS_DRAIN 0xFFFFFFFFu
size_t msg_tasks_size(size_t count);
void msg_tasks_pack(unsigned char *buf, const int64_t *tasks, size_t count);
void msg_tasks_pack_drain(unsigned char *buf);
/* *drain = 1 (and *count = 0) for a drain message. */
int msg_tasks_unpack(const unsigned char *buf, size_t len, int64_t *tasks, size_t max, size_t *count, int *drain);

/* Drained (leader -> master): u64 number of queued tasks the group dropped. */
#define MSG_DRAINED_SIZE 8
void msg_drained_pack(unsigned char *buf, uint64_t dropped);
int msg_drained_unpack(const unsigned char *buf, size_t len, uint64_t *dropped);

/* Result (leader -> master): i64 task | i32 rank | u32 result bytes | u64 extra
 * bytes | result | extra. */
#define MSG_RESULT_HEADER 24
void msg_result_header(unsigned char *buf, int64_t task, int rank, size_t result_bytes, size_t extra_bytes);
int msg_result_parse(const unsigned char *buf, size_t len, size_t result_bytes, int64_t *task, int *rank,
                     const unsigned char **result, const unsigned char **extra, size_t *extra_bytes);

/* Checkpoint (leader -> master, while a task runs): i64 task | i32 rank | u32 0 |
 * the application's bytes (opaque here). */
#define MSG_CHECKPOINT_HEADER 16
void msg_checkpoint_header(unsigned char *buf, int64_t task, int rank);
int msg_checkpoint_parse(const unsigned char *buf, size_t len, int64_t *task, int *rank, const unsigned char **data,
                         size_t *data_len);

#endif
