/* byteorder: little-endian encoding of integers and IEEE doubles at fixed
 * offsets, for every byte layout nncert writes or sends (packed results,
 * scheduler messages, the results journal): the same bytes on any host. */
#ifndef BYTEORDER_H
#define BYTEORDER_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline void le_put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static inline uint32_t le_get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void le_put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static inline uint64_t le_get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static inline void le_put_f64(unsigned char *p, double d)
{
    uint64_t v;
    memcpy(&v, &d, sizeof v);
    le_put_u64(p, v);
}

static inline double le_get_f64(const unsigned char *p)
{
    uint64_t v = le_get_u64(p);
    double d;
    memcpy(&d, &v, sizeof d);
    return d;
}

/* FNV-1a over the little-endian bytes of n doubles, continuing from h (start
 * with LE_FNV_START): a cheap identity of values (a journaled layer's image, a
 * cached problem's rows), the same on any host. */
#define LE_FNV_START 1469598103934665603ULL
static inline uint64_t le_fnv_f64(uint64_t h, const double *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char b[8];
        le_put_f64(b, x[i]);
        for (int k = 0; k < 8; k++) h = (h ^ b[k]) * 1099511628211ULL;
    }
    return h;
}

#endif
