/* attack: projected gradient descent (PGD) on the logit margin, l_inf and l2, with
 * random restarts, at a fixed eps or searching the smallest successful eps
 * (doc/radius.md "Attacks"). Every counterexample is re-checked by a plain forward pass. */
#ifndef ATTACK_H
#define ATTACK_H

#include <stdint.h>
#include "bound.h"
#include "certify.h"
#include "model.h"
#include "nn_error.h"

typedef struct {
    norm_type norm;     /* NORM_INF or NORM_2 */
    int steps;          /* gradient steps per restart */
    int restarts;       /* runs: the first from x0, the others from random points */
    double step_size;   /* step length as a fraction of eps; <= 0: 2.5 / steps */
    uint64_t seed;      /* random starts; callers mix in the image index */
    double lo, hi;      /* valid input range (pixels: [0, 1]) */
    int target;         /* -1: any class but c wins; else success means z_target >= z_c */
} attack_options;

typedef struct {
    int success;        /* a counterexample was found and re-verified */
    double eps;         /* fixed: the eps attacked; search: smallest successful eps */
    double lo;          /* search: largest eps at which the attack failed (0: none) */
    double dist;        /* norm of (x_adv - x0), <= eps */
    int adv_class;      /* prediction at x_adv */
    double margin;      /* z_c - max_{j != c} z_j at x_adv (< 0 or a tie on success) */
    int runs;           /* fixed-eps attacks performed (search: > 1) */
    long steps;         /* gradient evaluations in total */
} attack_result;

/* Prototypes */
void attack_options_default(attack_options *o, norm_type norm);
/* PGD within B_norm(x0, eps) and the valid range against class c. x_adv (input
 * size) and logits (output size) receive the best point found (the re-verified
 * counterexample on success). */
int attack_pgd(const nn_model *m, const attack_options *o, const double *x0, int c, double eps, double *x_adv,
               double *logits, attack_result *res, nn_error *err);
/* Smallest eps at which PGD succeeds, by cert_search (so->kind must be bisect):
 * res->eps is an eps where an attack succeeded, x_adv its counterexample. */
int attack_pgd_search(const nn_model *m, const attack_options *o, const cert_search_options *so, const double *x0,
                      int c, double *x_adv, double *logits, attack_result *res, nn_error *err);
/* The PGD upper side of one certify task (attack_task.c): the smallest eps at
 * which PGD flips r->pred (towards r->target when the task has one) near x, for
 * certified and uncertified rows; other rows are left as they are. Fills
 * r->pgd_eps (NaN when none found), pgd_lo, pgd_class; x_adv (input size) and
 * logits (output size) receive the counterexample. Deterministic in (index,
 * target), not on the verifier. */
int cert_attack_task(const nn_model *m, norm_type norm, const double *x, cert_result *r, double *x_adv,
                     double *logits, nn_error *err);
/* A uniform number in [0, 1) from a splitmix64 state (random starts). */
double attack_uniform(uint64_t *state);
/* Norm of the difference of two vectors (inf, 1 or 2). */
double attack_distance(norm_type norm, const double *a, const double *b, size_t n);

#endif
