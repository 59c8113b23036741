/* The byte layout of one cert_result, shared by the scheduler's result messages
 * and the results journal: fixed offsets, little-endian integers and IEEE
 * doubles, so a record means the same on every rank and after a restart.
 *
 *   0 index i64 | 8 label i32 | 12 prediction i32 | 16 target i32 | 20 status i32
 *  24 radius f64 | 32 lo f64 | 40 hi f64 | 48 margin f64 | 56 evals i32 | 60 code i32
 *  (a failed row's nn_code; zero in rows written before it existed)
 *  64 seconds f64 | 72 message, 256 bytes, NUL-terminated and NUL-padded
 * 328 pgd_eps f64 | 336 pgd_lo f64 | 344 pgd_class i32 | 348 saved u32
 * 352 milp_eps f64 | 360 milp_class i32 | 364 zero
 * The first 328 bytes are the layout of journals written before PGD columns
 * existed, the first 352 that of journals before the MILP fields;
 * cert_result_unpack_n still reads those rows. */
#include "certify.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "byteorder.h"

void cert_result_pack(const cert_result *r, unsigned char out[CERT_RESULT_BYTES])
{
    memset(out, 0, CERT_RESULT_BYTES);
    le_put_u64(out, (uint64_t)(int64_t)r->index);
    le_put_u32(out + 8, (uint32_t)(int32_t)r->label);
    le_put_u32(out + 12, (uint32_t)(int32_t)r->pred);
    le_put_u32(out + 16, (uint32_t)(int32_t)r->target);
    le_put_u32(out + 20, (uint32_t)(int32_t)r->status);
    le_put_f64(out + 24, r->radius);
    le_put_f64(out + 32, r->lo);
    le_put_f64(out + 40, r->hi);
    le_put_f64(out + 48, r->margin);
    le_put_u32(out + 56, (uint32_t)(int32_t)r->evals);
    le_put_u32(out + 60, (uint32_t)(int32_t)r->code);
    le_put_f64(out + 64, r->seconds);
    size_t len = strnlen(r->message, sizeof r->message - 1);
    memcpy(out + 72, r->message, len);
    le_put_f64(out + 328, r->pgd_eps);
    le_put_f64(out + 336, r->pgd_lo);
    le_put_u32(out + 344, (uint32_t)(int32_t)r->pgd_class);
    le_put_u32(out + 348, r->saved);
    le_put_f64(out + 352, r->milp_eps);
    le_put_u32(out + 360, (uint32_t)(int32_t)r->milp_class);
}

int cert_result_unpack(const unsigned char in[CERT_RESULT_BYTES], cert_result *r, nn_error *err)
{
    return cert_result_unpack_n(in, CERT_RESULT_BYTES, r, err);
}

int cert_result_unpack_n(const unsigned char *in, size_t n, cert_result *r, nn_error *err)
{
    memset(r, 0, sizeof *r);
    if (n != CERT_RESULT_BYTES && n != CERT_RESULT_BYTES_V1 && n != CERT_RESULT_BYTES_V0)
        return nn_fail(err, NN_EFORMAT, "packed result: %zu bytes, expected %d, %d or %d", n, CERT_RESULT_BYTES,
                       CERT_RESULT_BYTES_V1, CERT_RESULT_BYTES_V0);
    int32_t status = (int32_t)le_get_u32(in + 20);
    if (status < 0 || status >= CERT_STATUS_COUNT)
        return nn_fail(err, NN_EFORMAT, "packed result: status %d is not a cert_status", (int)status);
    if (!memchr(in + 72, '\0', 256)) return nn_fail(err, NN_EFORMAT, "packed result: message is not terminated");
    r->index = (long)(int64_t)le_get_u64(in);
    r->label = (int32_t)le_get_u32(in + 8);
    r->pred = (int32_t)le_get_u32(in + 12);
    r->target = (int32_t)le_get_u32(in + 16);
    r->status = (cert_status)status;
    r->radius = le_get_f64(in + 24);
    r->lo = le_get_f64(in + 32);
    r->hi = le_get_f64(in + 40);
    r->margin = le_get_f64(in + 48);
    r->evals = (int32_t)le_get_u32(in + 56);
    r->code = (int32_t)le_get_u32(in + 60);
    r->seconds = le_get_f64(in + 64);
    memcpy(r->message, in + 72, sizeof r->message);
    r->pgd_eps = r->pgd_lo = NAN;
    r->pgd_class = -1;
    r->milp_eps = NAN;
    r->milp_class = -1;
    if (n >= CERT_RESULT_BYTES_V1) {
        r->pgd_eps = le_get_f64(in + 328);
        r->pgd_lo = le_get_f64(in + 336);
        r->pgd_class = (int32_t)le_get_u32(in + 344);
        r->saved = le_get_u32(in + 348);
    }
    if (n == CERT_RESULT_BYTES) {
        r->milp_eps = le_get_f64(in + 352);
        r->milp_class = (int32_t)le_get_u32(in + 360);
    }
    return NN_OK;
}
