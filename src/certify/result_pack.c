/* The byte layout of one cert_result, shared by the scheduler's result messages
 * and the results journal: fixed offsets, little-endian integers and IEEE
 * doubles, so a record means the same on every rank and after a restart.
 *
 *   0 index i64 | 8 label i32 | 12 prediction i32 | 16 target i32 | 20 status i32
 *  24 radius f64 | 32 lo f64 | 40 hi f64 | 48 margin f64 | 56 evals i32 | 60 zero
 *  64 seconds f64 | 72 message, 256 bytes, NUL-terminated and NUL-padded */
#include "certify.h"

#include <stdio.h>
#include <string.h>

static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static void put_i32(unsigned char *p, int32_t v)
{
    uint32_t u = (uint32_t)v;
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(u >> (8 * i));
}

static int32_t get_i32(const unsigned char *p)
{
    uint32_t u = 0;
    for (int i = 0; i < 4; i++) u |= (uint32_t)p[i] << (8 * i);
    return (int32_t)u;
}

static void put_f64(unsigned char *p, double d)
{
    uint64_t v;
    memcpy(&v, &d, sizeof v);
    put_u64(p, v);
}

static double get_f64(const unsigned char *p)
{
    uint64_t v = get_u64(p);
    double d;
    memcpy(&d, &v, sizeof d);
    return d;
}

void cert_result_pack(const cert_result *r, unsigned char out[CERT_RESULT_BYTES])
{
    memset(out, 0, CERT_RESULT_BYTES);
    put_u64(out, (uint64_t)(int64_t)r->index);
    put_i32(out + 8, r->label);
    put_i32(out + 12, r->pred);
    put_i32(out + 16, r->target);
    put_i32(out + 20, (int32_t)r->status);
    put_f64(out + 24, r->radius);
    put_f64(out + 32, r->lo);
    put_f64(out + 40, r->hi);
    put_f64(out + 48, r->margin);
    put_i32(out + 56, r->evals);
    put_f64(out + 64, r->seconds);
    size_t len = strnlen(r->message, sizeof r->message - 1);
    memcpy(out + 72, r->message, len);
}

int cert_result_unpack(const unsigned char in[CERT_RESULT_BYTES], cert_result *r, nn_error *err)
{
    memset(r, 0, sizeof *r);
    int32_t status = get_i32(in + 20);
    if (status < 0 || status >= CERT_STATUS_COUNT)
        return nn_fail(err, NN_EFORMAT, "packed result: status %d is not a cert_status", (int)status);
    if (!memchr(in + 72, '\0', 256)) return nn_fail(err, NN_EFORMAT, "packed result: message is not terminated");
    r->index = (long)(int64_t)get_u64(in);
    r->label = get_i32(in + 8);
    r->pred = get_i32(in + 12);
    r->target = get_i32(in + 16);
    r->status = (cert_status)status;
    r->radius = get_f64(in + 24);
    r->lo = get_f64(in + 32);
    r->hi = get_f64(in + 40);
    r->margin = get_f64(in + 48);
    r->evals = get_i32(in + 56);
    r->seconds = get_f64(in + 64);
    memcpy(r->message, in + 72, sizeof r->message);
    return NN_OK;
}
