/* property: input-output properties of a network (the unsafe set of a VNN-LIB
 * file) and their verification: proofs by the bound engine over every input box,
 * counterexamples by PGD checked by the exact forward pass (doc/verify.md). */
#ifndef PROPERTY_H
#define PROPERTY_H

#include <stddef.h>
#include <stdint.h>
#include "bab.h"
#include "bound.h"
#include "model.h"
#include "nn_error.h"

/* The unsafe set: the disjunction over cases k of
 *   X in box case_box[k]  and  every row of conjunction case_conj[k] holds for Y = f(X).
 * Every bound and right-hand side comes twice: the outer value describes a
 * superset of what the file says (what a proof must cover: strict comparisons
 * read as non-strict, arithmetic rounded outward), the inner value a subset
 * (what a counterexample must satisfy: strict comparisons and rounding taken
 * inward). For `<=` with plain numbers the two are equal. */
typedef struct {
    size_t n_x, n_y;        /* inputs X_0 .. X_{n_x-1}, outputs Y_0 .. Y_{n_y-1} */
    size_t n_boxes;         /* distinct input boxes */
    double *lo, *hi;        /* [n_boxes x n_x] outer box */
    double *lo_in, *hi_in;  /* [n_boxes x n_x] inner box (may be empty) */
    size_t n_conj;          /* distinct conjunctions of output constraints */
    size_t *conj_start;     /* [n_conj + 1]: rows of conjunction j are conj_start[j] .. [j+1] */
    size_t n_rows;
    double *row;            /* [n_rows x n_y]: constraint row . Y <= rhs */
    double *rhs;            /* [n_rows] outer right-hand side */
    double *rhs_in;         /* [n_rows] inner right-hand side */
    size_t n_cases;         /* disjuncts of the property */
    size_t *case_box;       /* [n_cases] box of each disjunct */
    size_t *case_conj;      /* [n_cases] conjunction of each disjunct */
} prop_spec;

typedef enum { PROP_UNSAT, PROP_SAT, PROP_UNKNOWN, PROP_TIMEOUT } prop_answer;

typedef struct {
    bound_options bopt;     /* proofs: method and its options */
    double timeout;         /* wall-clock seconds for the whole property; <= 0: none */
    int steps;              /* PGD steps per run */
    int restarts;           /* PGD runs per disjunct (the first from the box centre) */
    uint64_t seed;          /* PGD random starts */
    bab_options bab;        /* complete search on the boxes the bounds leave open */
    /* Processes running one verification in lockstep (bab.exec) must take every
     * clock decision alike: agree(agree_ctx, late) returns 1 everywhere when any
     * of them is late. NULL: this process decides alone. */
    int (*agree)(void *ctx, int flag);
    void *agree_ctx;
} prop_options;

typedef struct {
    prop_answer answer;
    double *x, *y;          /* sat: counterexample input [n_x] and its outputs [n_y] (owned) */
    size_t sat_case;        /* sat: a disjunct it satisfies */
    size_t boxes_proven;    /* boxes whose every disjunct the bounds rule out */
    size_t cases_proven;
    long pgd_steps;         /* gradient evaluations */
    double seconds;         /* wall time */
    bab_stats bab;          /* with o->bab.enabled */
} prop_result;

/* Prototypes */
void prop_spec_init(prop_spec *p);
void prop_spec_free(prop_spec *p);
/* The property's variables must be exactly the model's inputs and outputs. */
int prop_check_sizes(const prop_spec *p, size_t n_in, size_t n_out, const char *name, nn_error *err);
/* Does y satisfy every inner row of conjunction j, with the rounding of the
 * dot products counted against it? */
int prop_conj_holds(const prop_spec *p, size_t j, const double *y);
/* Is x inside the inner box b? */
int prop_box_holds(const prop_spec *p, size_t b, const double *x);

/* Directed rounding from exact error terms, for bounds that must not move
 * inward: the exact error of s = fl(a + b) (a + b = s + error), and a + b or
 * a / b rounded up (dir > 0) or down (dir < 0). */
double prop_sum_err(double a, double b, double s);
double prop_add_dir(double a, double b, int dir);
double prop_div_dir(double a, double b, int dir);

void prop_options_default(prop_options *o);
void prop_result_free(prop_result *r);
/* unsat when every disjunct is ruled out on its whole (outer) box, sat with a
 * counterexample in an inner box whose forward-pass outputs satisfy the inner
 * rows, timeout when the wall clock ran out first, else unknown. */
int prop_verify(const nn_model *m, const prop_spec *p, const prop_options *o, prop_result *r, nn_error *err);
const char *prop_answer_name(prop_answer a);

#endif
