/* Private to the property files of src/certify: an input box as a region of the
 * bound engine, and PGD towards one disjunct of a property (doc/verify.md). */
#ifndef PROPERTY_INTERNAL_H
#define PROPERTY_INTERNAL_H

#include <stdint.h>
#include "bound.h"
#include "model.h"
#include "property.h"
#include "bab_snapshot.h"

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
    int n_stripped;         /* leading normalize layers of the caller's model left out */
} prop_region;

/* Prototypes */
/* The tightest of: the box as an l_inf ball clipped to a scalar range (exact when
 * it is one); the same for the box mapped through the model's leading normalize
 * layers; the model behind a diagonal dense layer over the ball of radius 1
 * (when it reads its input as a flat vector); else the enclosing clipped ball
 * (enlarged). */
int prop_region_make(const nn_model *m, const double *lo, const double *hi, prop_region *r, nn_error *err);
void prop_region_free(prop_region *r);
/* A point z of the region model's input back in the caller's model m's input x
 * (through the box layer and the normalize layers left out; rounded, so a caller
 * checks it against the box and by the forward pass). z and x may be the same. */
void prop_region_to_input(const prop_region *r, const nn_model *m, const double *z, double *x);

/* One PGD run (run 0 from the centre of the inner box, the others from random
 * points) towards disjunct k: on success *found = 1 and x, y hold a point of the
 * inner box and its outputs, re-checked by a separate forward pass. */
int prop_attack_run(const nn_model *m, const prop_spec *p, size_t k, const prop_options *o, int run, uint64_t *rng,
                    double *x, double *y, int *found, long *steps, nn_error *err);

/* prop_verify on a property whose X_i are in nncert's C, H, W order (the
 * model's own input order, as certify's images are). */
int prop_verify_chw(const nn_model *m, const prop_spec *p, const prop_options *o, prop_result *r, nn_error *err);

/* Is the wall clock past deadline? Agreed with o->agree's group when there is one. */
int prop_late(const prop_options *o, double deadline);

/* Where a verification stands, for its checkpoints (doc/bab.md "Checkpoints"). */
typedef struct {
    double t0;              /* this run's start, wall clock */
    double elapsed0;        /* seconds spent by the runs it continues */
    bab_snapshot *resume;   /* the state to continue, at box resume->box (NULL: none);
                               prop_bab_box takes its domains */
    double next_save;       /* wall clock of the next checkpoint */
} prop_progress;

/* Branch and bound over box b (bab.c, doc/bab.md), the clock read against deadline:
 * proven[k] = 1 for the disjuncts of box b once every leaf is proven; a confirmed
 * counterexample sets r->answer = PROP_SAT, the clock PROP_TIMEOUT, both *decided = 1;
 * the domain limit or domains that cannot be split leave the answer as it is.
 * Adds to r->bab and r->pgd_steps. With pg (NULL: no checkpoints), continues
 * pg->resume when it is box b's, and hands snapshots to o->bab.save between rounds. */
int prop_bab_box(const nn_model *m, const prop_spec *p, size_t b, const prop_options *o, double deadline,
                 uint64_t *rng, unsigned char *proven, prop_result *r, prop_progress *pg, int *decided, nn_error *err);

#endif
