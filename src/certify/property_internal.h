/* Private to the property files of src/certify: an input box as a region of the
 * bound engine, and PGD towards one disjunct of a property (doc/verify.md). */
#ifndef PROPERTY_INTERNAL_H
#define PROPERTY_INTERNAL_H

#include <stdint.h>
#include "bound.h"
#include "model.h"
#include "property.h"
#include "bab_snapshot.h"

/* A region of the bound engine, over the model's input, that is exactly a box [lo, hi]. */
typedef struct {
    bound_region region;    /* the ball around the box's midpoint, clipped to the box */
    double *center;         /* region.center, then lo and hi (owned, one block) */
    double *lo, *hi;
} prop_region;

/* Prototypes */
/* The box as the engine's region: the l_inf ball around its midpoint that reaches
 * every face, clipped per coordinate to the box (doc/verify.md "Boxes as regions").
 * An error names an input whose interval is not finite or is empty. */
int prop_region_make(const nn_model *m, const double *lo, const double *hi, prop_region *r, nn_error *err);
void prop_region_free(prop_region *r);

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
