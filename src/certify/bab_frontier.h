/* The open domains of a branch-and-bound search and the order they are expanded
 * in: best-first (lowest bound, then creation order), or depth-first once the
 * frontier has grown past its limit (doc/bab.md "Frontier"). */
#ifndef BAB_FRONTIER_H
#define BAB_FRONTIER_H

#include <stddef.h>
#include <stdint.h>
#include "nn_error.h"

typedef struct {
    int layer;              /* nonlinear layer of the bounded model */
    uint32_t neuron;        /* row of its input */
    signed char phase;      /* +1: z >= 0, -1: z <= 0 */
} bab_split_rec;

typedef struct {
    uint64_t id;            /* creation order: breaks ties, so the order is the job's */
    int depth;
    double key;             /* worst margin of the open disjuncts (< 0: not ruled out) */
    size_t worst_row;       /* the property row that gives key (for input splits) */
    double volume;          /* fraction of the box */
    double *lo, *hi;        /* input splits: the sub-box; NULL for ReLU splits */
    bab_split_rec *splits;  /* ReLU splits: the constraints, oldest first */
    size_t n_splits;
    double *pre;            /* ReLU splits: the domain's bounds of every nonlinear layer */
    float *warm;            /* FROWN's spec-row variables its bounding ended with, where
                               its children start (bab.c "warm starts"), or NULL */
    unsigned char *open;    /* per disjunct of the box: not yet ruled out */
} bab_domain;

typedef struct {
    bab_domain **item;
    size_t n, cap;
    int depth_first;
} bab_frontier;

/* Prototypes */
void bab_domain_free(bab_domain *d);
void bab_frontier_init(bab_frontier *f);
void bab_frontier_free(bab_frontier *f);  /* frees the domains it holds */
int bab_frontier_push(bab_frontier *f, bab_domain *d, nn_error *err);
bab_domain *bab_frontier_pop(bab_frontier *f);  /* NULL when empty */
/* Switch the order (the heap is rebuilt). */
void bab_frontier_set_depth_first(bab_frontier *f, int on);

#endif
