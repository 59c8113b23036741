/* Wire format of the scheduler's messages (sched_msg.h): fixed offsets,
 * little-endian integers, so master and workers agree whatever they run on.
 * Results themselves are opaque bytes of the application's fixed layout. */
#include "sched_msg.h"

#include <string.h>

#include "byteorder.h"

size_t msg_tasks_size(size_t count) { return 4 + 8 * count; }

void msg_tasks_pack(unsigned char *buf, const int64_t *tasks, size_t count)
{
    le_put_u32(buf, (uint32_t)count);
    for (size_t i = 0; i < count; i++) le_put_u64(buf + 4 + 8 * i, (uint64_t)tasks[i]);
}

void msg_tasks_pack_drain(unsigned char *buf) { le_put_u32(buf, MSG_TASKS_DRAIN); }

int msg_tasks_unpack(const unsigned char *buf, size_t len, int64_t *tasks, size_t max, size_t *count, int *drain)
{
    if (len < 4) return -1;
    size_t n = le_get_u32(buf);
    *drain = 0;
    if (n == MSG_TASKS_DRAIN) {
        if (len != 4) return -1;
        *drain = 1;
        *count = 0;
        return 0;
    }
    if (n > max || len != msg_tasks_size(n)) return -1;
    for (size_t i = 0; i < n; i++) tasks[i] = (int64_t)le_get_u64(buf + 4 + 8 * i);
    *count = n;
    return 0;
}

void msg_drained_pack(unsigned char *buf, uint64_t dropped) { le_put_u64(buf, dropped); }

int msg_drained_unpack(const unsigned char *buf, size_t len, uint64_t *dropped)
{
    if (len != MSG_DRAINED_SIZE) return -1;
    *dropped = le_get_u64(buf);
    return 0;
}

void msg_result_header(unsigned char *buf, int64_t task, int rank, size_t result_bytes, size_t extra_bytes)
{
    le_put_u64(buf, (uint64_t)task);
    le_put_u32(buf + 8, (uint32_t)rank);
    le_put_u32(buf + 12, (uint32_t)result_bytes);
    le_put_u64(buf + 16, (uint64_t)extra_bytes);
}

int msg_result_parse(const unsigned char *buf, size_t len, size_t result_bytes, int64_t *task, int *rank,
                     const unsigned char **result, const unsigned char **extra, size_t *extra_bytes)
{
    if (len < MSG_RESULT_HEADER) return -1;
    *task = (int64_t)le_get_u64(buf);
    *rank = (int)le_get_u32(buf + 8);
    size_t rb = le_get_u32(buf + 12);
    uint64_t eb = le_get_u64(buf + 16);
    if (rb != result_bytes || len < MSG_RESULT_HEADER + rb || eb != len - MSG_RESULT_HEADER - rb) return -1;
    *result = buf + MSG_RESULT_HEADER;
    *extra = buf + MSG_RESULT_HEADER + rb;
    *extra_bytes = (size_t)eb;
    return 0;
}

void msg_checkpoint_header(unsigned char *buf, int64_t task, int rank)
{
    le_put_u64(buf, (uint64_t)task);
    le_put_u32(buf + 8, (uint32_t)rank);
    le_put_u32(buf + 12, 0);
}

int msg_checkpoint_parse(const unsigned char *buf, size_t len, int64_t *task, int *rank, const unsigned char **data,
                         size_t *data_len)
{
    if (len < MSG_CHECKPOINT_HEADER || le_get_u32(buf + 12) != 0) return -1;
    *task = (int64_t)le_get_u64(buf);
    *rank = (int)le_get_u32(buf + 8);
    *data = buf + MSG_CHECKPOINT_HEADER;
    *data_len = len - MSG_CHECKPOINT_HEADER;
    return 0;
}

void msg_chunk_request_pack(unsigned char *buf, uint64_t serial, uint64_t blocks, uint32_t members,
                            uint32_t block_us)
{
    le_put_u64(buf, serial);
    le_put_u64(buf + 8, blocks);
    le_put_u32(buf + 16, members);
    le_put_u32(buf + 20, block_us);
}

int msg_chunk_request_unpack(const unsigned char *buf, size_t len, uint64_t *serial, uint64_t *blocks,
                             uint32_t *members, uint32_t *block_us)
{
    if (len != MSG_CHUNK_REQUEST_SIZE) return -1;
    *serial = le_get_u64(buf);
    *blocks = le_get_u64(buf + 8);
    *members = le_get_u32(buf + 16);
    *block_us = le_get_u32(buf + 20);
    return *blocks > INT64_MAX || *members == 0 ? -1 : 0;
}

void msg_chunk_pack(unsigned char *buf, int64_t first, uint64_t count)
{
    le_put_u64(buf, (uint64_t)first);
    le_put_u64(buf + 8, count);
}

int msg_chunk_unpack(const unsigned char *buf, size_t len, int64_t *first, uint64_t *count)
{
    if (len != MSG_CHUNK_SIZE) return -1;
    *first = (int64_t)le_get_u64(buf);
    *count = le_get_u64(buf + 8);
    if (*first == -1) return *count == 0 ? 0 : -1;
    return *first < 0 || *count == 0 || *count > INT64_MAX - (uint64_t)*first ? -1 : 0;
}

/* Blocks of block_us that last us, rounded up; at least 1. */
static size_t blocks_lasting(uint32_t us, uint32_t block_us) { return ((size_t)us + block_us - 1) / block_us; }

static int cheap(uint32_t block_us) { return block_us > 0 && block_us < SCHED_CHUNK_US; }

size_t sched_chunk_first(size_t n, int members, uint32_t block_us)
{
    if (!cheap(block_us)) return 1;
    size_t half = n / (2 * (size_t)(members > 0 ? members : 1)), most = blocks_lasting(SCHED_CHUNK_US, block_us);
    size_t k = half < most ? half : most;
    return k ? k : 1;
}

size_t sched_chunk_start(size_t n, int members, uint32_t block_us)
{
    size_t all = sched_chunk_first(n, members, block_us) * (size_t)(members > 0 ? members : 1);
    return all < n ? all : n;
}

size_t sched_chunk(size_t remaining, int members, uint32_t block_us)
{
    if (!cheap(block_us) || remaining == 0) return 1;
    size_t d = (size_t)(members > 0 ? members : 1), c = (remaining + d - 1) / d;
    size_t least = blocks_lasting(SCHED_CHUNK_US / 4, block_us), most = blocks_lasting(SCHED_CHUNK_US, block_us);
    if (c < least) c = least;
    if (c > most) c = most;
    return c < remaining ? c : remaining;
}
