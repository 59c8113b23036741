/* A verification by branch and bound, frozen between two rounds: where the
 * search over the property's boxes stands and every open domain of the current
 * box, as bytes a killed run reads back to continue (doc/bab.md "Checkpoints"). */
#ifndef BAB_SNAPSHOT_H
#define BAB_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>
#include "bab.h"
#include "bab_frontier.h"
#include "nn_error.h"

typedef struct {
    /* the verification (property.c) */
    size_t box;             /* the box being searched; those before it are done */
    uint64_t rng;           /* PGD's generator */
    double elapsed;         /* wall seconds spent before the snapshot, over every run */
    size_t n_cases;
    unsigned char *proven;  /* [n_cases] disjuncts ruled out so far */
    size_t boxes_proven;
    long pgd_steps;
    bab_stats bab;
    /* the search of the box (bab.c) */
    int relu;               /* 1: ReLU phases, 0: input halves */
    size_t nc, n_x, pre_n;  /* disjuncts on the box, inputs, packed bounds per side */
    uint64_t next_id;
    long stuck;
    double volume;          /* input splits: proven fraction of the box so far */
    int depth_first;
    size_t warm_n;          /* floats of a domain's warm start (bab_domain.warm), 0: none */
    size_t n_domains;
    bab_domain **dom;       /* the open domains (owned after decode, borrowed by encode) */
} bab_snapshot;

/* Prototypes */
/* The bytes of s (malloc'd into *bytes). */
int bab_snapshot_encode(const bab_snapshot *s, unsigned char **bytes, size_t *len, nn_error *err);
/* s from bytes, every count checked against the bytes there are; the caller checks
 * the values against its property and model (what bytes alone cannot know). */
int bab_snapshot_decode(const unsigned char *bytes, size_t len, bab_snapshot *s, nn_error *err);
void bab_snapshot_free(bab_snapshot *s);  /* frees proven and the domains */

#endif
