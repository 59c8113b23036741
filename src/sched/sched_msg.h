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

/* Chunk request (group member -> master, during a task): u64 split serial | u64
 * number of blocks | u32 members of the group | u32 the group's agreed cost of
 * a block in microseconds (0: not known yet). The serial numbers a group's
 * dynamic splits in order (every member counts them alike); the first request
 * of a new serial starts that split past the members' static first chunks.
 * Answer (master -> member): i64 first block | u64 count, or -1 | 0 once every
 * block is handed out. */
#define MSG_CHUNK_REQUEST_SIZE 24
#define MSG_CHUNK_SIZE 16
void msg_chunk_request_pack(unsigned char *buf, uint64_t serial, uint64_t blocks, uint32_t members,
                            uint32_t block_us);
int msg_chunk_request_unpack(const unsigned char *buf, size_t len, uint64_t *serial, uint64_t *blocks,
                             uint32_t *members, uint32_t *block_us);
void msg_chunk_pack(unsigned char *buf, int64_t first, uint64_t count);
int msg_chunk_unpack(const unsigned char *buf, size_t len, int64_t *first, uint64_t *count);

/* The chunks of a dynamic split of n blocks over g members, given the group's
 * agreed cost of a block (us; 0: unknown), which master and members compute
 * alike. Costly blocks (SCHED_CHUNK_US or more) or blocks of unknown cost go
 * one at a time, member r taking block r without asking, so the members'
 * finishing times even out to within one block. Cheap blocks go in chunks that
 * last from a quarter of SCHED_CHUNK_US to all of it, so that the round trip to
 * the master is hidden behind them: each member first takes a static chunk of
 * sched_chunk_first blocks (at most n / 2g), the master then hands out chunks
 * of the remaining blocks over g within those limits (guided self-scheduling),
 * so they shrink towards the end. */
#define SCHED_CHUNK_US 2000
size_t sched_chunk_first(size_t n, int members, uint32_t block_us);
size_t sched_chunk_start(size_t n, int members, uint32_t block_us);
size_t sched_chunk(size_t remaining, int members, uint32_t block_us);

#endif
