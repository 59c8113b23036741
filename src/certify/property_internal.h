/* Private to the property files of src/certify: an input box as a region of the
 * bound engine, and PGD towards one disjunct of a property (doc/verify.md). */
#ifndef PROPERTY_INTERNAL_H
#define PROPERTY_INTERNAL_H

#include <stdint.h>
#include "bound.h"
#include "model.h"
#include "property.h"

/* A region of the bound engine that contains a box [lo, hi] (in real arithmetic). */
typedef struct {
    const nn_model *model;  /* the model to bound: the caller's, or &prefixed */
    bound_region region;    /* over model's input */
    double *center;         /* region.center (owned) */
    int enlarged;           /* 1: the region is larger than the box (looser bounds) */
    nn_model stripped;      /* the caller's model without its leading normalize
                               layers (a view: layers shared, not owned) */
    nn_model prefixed;      /* a box layer x = mid + halfwidth * z in front of the
                               stripped model's layers (their arrays shared) */
    int has_prefix;
} prop_region;

/* Prototypes */
/* The tightest of: the box as an l_inf ball clipped to a scalar range (exact when
 * it is one); the same for the box mapped through the model's leading normalize
 * layers; the model behind a diagonal dense layer over the ball of radius 1
 * (when it reads its input as a flat vector); else the enclosing clipped ball
 * (enlarged). */
int prop_region_make(const nn_model *m, const double *lo, const double *hi, prop_region *r, nn_error *err);
void prop_region_free(prop_region *r);

/* One PGD run (run 0 from the centre of the inner box, the others from random
 * points) towards disjunct k: on success *found = 1 and x, y hold a point of the
 * inner box and its outputs, re-checked by a separate forward pass. */
int prop_attack_run(const nn_model *m, const prop_spec *p, size_t k, const prop_options *o, int run, uint64_t *rng,
                    double *x, double *y, int *found, long *steps, nn_error *err);

#endif
