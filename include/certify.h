/* certify: margin specifications, target choice, verification at one eps and the
 * certified-radius searches (doc/radius.md "Certified radius",
 * "Target choice").
 * cert_run_task does no I/O, so a scheduler can call it for any (image, target). */
#ifndef CERTIFY_H
#define CERTIFY_H

#include <stddef.h>
#include <stdint.h>
#include "bab.h"
#include "bound.h"
#include "model.h"
#include "nn_error.h"

#define CERT_UNTARGETED (-1)   /* target value of an untargeted row set */

typedef enum {
    TARGET_UNTARGETED,  /* one row e_c - e_j for every j != c */
    TARGET_CLASS,       /* one fixed class */
    TARGET_TOP2,        /* runner-up logit */
    TARGET_LEAST,       /* smallest logit */
    TARGET_RANDOM,      /* seeded, among classes other than {c, top2, least} */
    TARGET_ALL          /* every j != c, one result each */
} cert_target_mode;

typedef struct {
    cert_target_mode mode;
    int cls;            /* TARGET_CLASS: the target class */
    uint64_t seed;      /* TARGET_RANDOM: mixed with the image index */
} cert_target_spec;

typedef enum { SEARCH_BISECT, SEARCH_CROWN15 } cert_search_kind;

/* Answer of a search oracle at one eps: margin > 0 means certified. A non-finite
 * margin counts as not certified and carries no slope information. */
typedef int (*cert_oracle_fn)(void *ctx, double eps, double *margin, nn_error *err);

typedef struct {
    cert_search_kind kind;
    double rtol;        /* bisect: stop when hi <= lo * (1 + rtol) */
    double guess;       /* first eps evaluated (warm start); <= 0: eps0 of the norm */
    double eps_max;     /* never evaluate beyond this; certified there: hi = inf */
    double eps_min;     /* never evaluate below this; uncertified there: radius 0 */
    int max_evals;      /* bisect: evaluation budget (crown15 is fixed at 15) */
    int use_margin;     /* bisect: margin-guided (safeguarded secant) steps */
    double margin0;     /* exact margin at eps = 0 (clean logits); NAN if unknown */
} cert_search_options;

typedef struct {
    double radius;      /* largest eps certified by an evaluation (0: none) */
    double lo, hi;      /* lo = radius; hi = smallest uncertified eps seen (inf: none) */
    double margin;      /* margin lower bound evaluated at radius (NAN if none) */
    int evals;          /* oracle evaluations */
} cert_search_result;

/* Rows [row_lo, row_hi) of a row problem into lower/upper[0 .. row_hi - row_lo);
 * returns an nn_code. A row range gives the bits it gives as part of the whole. */
typedef bound_range_fn cert_rows_fn;

/* Row splitter: computes rows [0, n_rows) of a problem into lower/upper[0 .. n_rows)
 * by calling rows (with rows_ctx) on ranges of whole blocks of row_block rows
 * (row_block 0: one block) of its choice, possibly in other processes that run the
 * same task on an identical state, and returns an nn_code. A scheduler provides
 * it (e.g. to spread one image's neurons over a group of ranks); certify only
 * hands it each layer's rows. NULL split: every row is computed here.
 * split_varied, when set, is used instead for rows whose costs differ widely
 * (bound_rows_vary; the LP methods' margin rows): the same contract, with the
 * blocks handed out as the processes ask for them. split_items, when set,
 * spreads MILP's margin rows (bound_items_split_fn). split_weighted, when set,
 * is used for rows that may be cut anywhere (bound_rows_block_free): contiguous
 * ranges of about equal weight (bound_row_costs), the same on every process. */
typedef bound_split_fn cert_split_fn;
typedef int (*cert_split_weighted_fn)(void *ctx, size_t n_rows, const double *weight, cert_rows_fn rows,
                                      void *rows_ctx, double *lower, double *upper, nn_error *err);
typedef struct {
    cert_split_fn split;
    void *ctx;              /* first argument of the four; not owned */
    cert_split_fn split_varied;
    bound_items_split_fn split_items;
    cert_split_weighted_fn split_weighted;
} cert_row_splitter;

/* Finished layers kept outside the verifier (checkpoints, doc/lp.md
 * "Checkpoints"): before the rows of nonlinear layer `layer` of the current
 * region (st->region) are computed, find may supply them (returns 1 with
 * lower/upper filled with the bits the rows would give; the layer is then
 * committed from them, not computed), and once computed, keep gets them. Only
 * for methods whose layer rows leave no state behind but the committed bounds
 * (LP-ALL, MILP): for them a supplied layer changes no later bit. */
typedef struct {
    int (*find)(void *ctx, const bound_state *st, int layer, size_t n, double *lower, double *upper);
    void (*keep)(void *ctx, const bound_state *st, int layer, size_t n, const double *lower, const double *upper);
    void *ctx;              /* first argument of both; not owned */
} cert_layer_store;

/* Verification of margin rows over one region; owns a bound_state and row buffers. */
typedef struct {
    const nn_model *model;  /* not owned */
    bound_state st;         /* bounds of the last evaluated region */
    /* lp-all and milp, unless full_bounds: CROWN's state, which evaluates every
     * eps first; where it certifies, no LP is solved (doc/lp.md "Least work").
     * decided: the state whose rows the last evaluation reports. */
    bound_state gate;
    int have_gate;
    const bound_state *decided;
    int full_bounds;        /* 1: every row and neuron gets the method's own bound (nncert
                               bounds, saved bounds); 0 (default): only each row's sign
                               is read, so cheaper bounds decide where they can */
    cert_row_splitter splitter;  /* of each layer's rows and the LP methods' margin rows */
    cert_layer_store layers;     /* finished layers kept outside (NULL find: none) */
    int n_classes;          /* model output size */
    double *C;              /* margin rows, n_classes x n_classes */
    double *lower, *upper;  /* bounds of each row of the last evaluation */
    int *row_target;        /* class j of row e_c - e_j */
    size_t rows;            /* rows of the last evaluation */
    double deadline;        /* nn_wall_seconds() past which layer rows stop with NN_ETIMEOUT (0: none) */
    long evals;             /* bound evaluations since init */
    long bab_domains;       /* sub-domains bounded by branch and bound since init */
    /* the evaluations of the last cert_run_task, for its certificate */
    double *trace;          /* eps of each evaluation, in order */
    size_t n_trace, cap_trace;
    int trace_lost;         /* 1: an eps could not be recorded (no certificate) */
    long cert_eval;         /* the evaluation whose margin the row reports (-1: none) */
    double *cert_lower;     /* [n_classes] its row lower bounds by target class (NaN: no row) */
    long cert_bab_domains;  /* > 0: branch and bound certified it, bounding this many domains ... */
    double cert_bab_margin; /* ... with this proven margin (the bounds' rows left it open) */
    /* method milp: the last cert_run_task's checked counterexample at the smallest
     * eps (cert_milp_counterexample; milp_class -1: none) */
    double milp_eps;
    int milp_class;
    double *milp_x, *milp_z; /* [input] the point, [n_classes] its logits */
} cert_verifier;

/* CERT_TIMEOUT: the task ran past task_timeout; radius, lo and hi are the
 * bracket its search had reached (radius certified by an evaluation, as always). */
typedef enum {
    CERT_CERTIFIED, CERT_UNCERTIFIED, CERT_MISCLASSIFIED, CERT_FAILED, CERT_TIMEOUT, CERT_STATUS_COUNT
} cert_status;

typedef struct {
    norm_type norm;
    int clip;                    /* intersect the ball with the pixel box [0, 1] */
    int fixed;                   /* 1: verify at eps only, no search */
    double timeout;              /* seconds per task (0: none); checked between row blocks */
    double eps;                  /* fixed eps */
    cert_search_options search;
    /* Complete search at every eps the bounds leave uncertified (bab.enabled;
     * l_inf only; doc/bab.md "Certified radii"). */
    bab_options bab;
    double bab_timeout;          /* seconds of branch and bound per eps (0: only the task's timeout) */
    /* A rank group's clock decisions (property.h's agree); NULL: this process alone. */
    int (*agree)(void *ctx, int late);
    void *agree_ctx;
    /* Records of the running task's branch-and-bound searches, so that a rerun
     * after a kill neither repeats a finished search nor restarts one cut short
     * (doc/bab.md "Certified radii"): bab_find gives the latest record kept for
     * the search at (eps, class c, target), 0 when there is none; *done says
     * whether it is the search's outcome (cert_verify_bab's layout) or a
     * snapshot to resume (bab_snapshot.c's). bab_keep hands a new one on; every
     * bab.save_every seconds a snapshot, at the end the outcome. NULL: none. */
    int (*bab_find)(void *ctx, double eps, int c, int target, int *done, const unsigned char **bytes, size_t *len);
    void (*bab_keep)(void *ctx, double eps, int c, int target, int done, const unsigned char *bytes, size_t len);
    void *bab_ctx;
} cert_task_options;

typedef struct {
    long index;         /* image index in the data set */
    int label, pred;    /* true class, predicted class */
    int target;         /* target class, CERT_UNTARGETED for untargeted */
    cert_status status;
    double radius;      /* certified radius (fixed eps: eps if certified, else 0) */
    double lo, hi;      /* search bracket (fixed eps: radius, eps or inf) */
    double margin;      /* margin lower bound at radius (fixed: at eps) */
    int evals;          /* bound evaluations */
    double seconds;     /* wall time of this task */
    char message[256];  /* reason when status is CERT_FAILED */
    int code;           /* CERT_FAILED: the nn_code of the failure (0 in journals from
                           before it); NN_ENOMEM rows are computed again by a rerun */
    /* PGD upper bound of the same task (job key attack = pgd; NaN, NaN, -1 when
     * not attacked): smallest eps where a re-verified counterexample was found
     * (NaN: none found), largest eps where the attack failed, its class */
    double pgd_eps, pgd_lo;
    int pgd_class;
    /* method milp (NaN, -1 otherwise or when none was found): smallest evaluated
     * eps at which a MILP point, checked by the exact forward pass inside the
     * region, changes the class (cert_milp_counterexample), and that class */
    double milp_eps;
    int milp_class;
    unsigned saved;     /* CERT_SAVED_* payloads that travel after the packed row */
} cert_result;

#define CERT_SAVED_BOUNDS 1u   /* saved bounds: eps, then lower/upper per saved layer */
#define CERT_SAVED_ATTACK 2u   /* counterexample: eps, x_adv[input], logits[output] */
#define CERT_SAVED_CERT 4u     /* certificate: cert_certificate_pack */
#define CERT_SAVED_MILP 8u     /* MILP counterexample: eps, x[input], logits[output] */

/* What checks a certified radius again (doc/radius.md "Certificates"): the eps
 * of the evaluations to replay from a fresh state, in order, the last at the
 * radius, and what that last evaluation gave. A method whose evaluations leave
 * state behind (FROWN's warm starts, bound_keeps_state) needs every evaluation
 * of the task's search up to the certifying one; any other method only the
 * radius. Replaying any path gives a sound bound at its last eps: the path only
 * decides where FROWN's optimizer starts. Arrays are owned (cert_certificate_free). */
#define CERT_CERTIFICATE_VERSION 1
#define CERT_CERTIFICATE_VERSION_BAB 2  /* a radius branch and bound certified */
#define CERT_PATH_MAX 1024     /* evaluations a certificate may ask to replay */
#define CERT_BAB_DOMAINS_MAX (1L << 40)
/* /certificates of a results file: version 2 adds the column bab_domains (a
 * version 1 file's certificates are all the bounds'; both are read) */
#define CERT_TABLE_VERSION 2
typedef struct {
    size_t n_path;
    double *path;           /* [n_path] eps, each finite and >= 0; the last is the radius */
    int n_classes;
    double *lower;          /* [n_classes] lower bound of row e_c - e_j at j (NaN: no such row) */
    double margin;          /* the row's margin: the least of lower, or branch and bound's */
    uint64_t x_hash;        /* le_fnv_f64 of the image's values (byteorder.h) */
    long bab_domains;       /* 0: the bounds certified the last eps; > 0: they left it open
                               (lower) and branch and bound proved it after bounding this
                               many domains, margin its proven margin (doc/bab.md) */
} cert_certificate;

/* Prototypes */
/* margin.c */
int cert_target_parse(const char *text, int n_classes, cert_target_spec *spec, nn_error *err);
const char *cert_target_mode_name(cert_target_mode mode);
/* Target classes for an image predicted c (CERT_UNTARGETED for untargeted); targets
 * needs n_classes entries. Random targets depend only on (seed, image index). */
int cert_choose_targets(const cert_target_spec *spec, const double *logits, int n_classes, int c, long image_index,
                        int *targets, int *n_targets, nn_error *err);
/* Rows e_c - e_j of the spec into C (rows x n_classes, leading dim ldc); row_target
 * (may be NULL) gets j per row. Returns the row count: n_classes-1 or 1. */
size_t cert_margin_rows(int c, int target, int n_classes, double *C, size_t ldc, int *row_target);
/* Exact margin of logits: min over the spec's rows of z_c - z_j. */
double cert_margin_of_logits(const double *logits, int n_classes, int c, int target);

/* verify.c */
int cert_verifier_init(cert_verifier *v, const nn_model *m, const bound_options *opt, nn_error *err);
void cert_verifier_free(cert_verifier *v);
/* row_split.c */
/* Every later bound computation of v hands each nonlinear layer's rows to s
 * (split NULL: computes them itself), in blocks of the layer's split unit
 * (bound_row_split_unit), and the LP methods' margin rows one by one. The bits
 * do not change; v must stay where it is while s is set. */
void cert_verifier_split_rows(cert_verifier *v, cert_row_splitter s);
/* Every later bound computation of v asks s for each nonlinear layer first and
 * hands it the layers it computes (cert_layer_store). */
void cert_verifier_keep_layers(cert_verifier *v, cert_layer_store s);

/* Bound the spec rows of (c, target) over B_norm(x0, eps) (clip: within [0,1]); the
 * minimum row lower bound goes to *margin, certified iff it is > 0. The rows and
 * layers of the evaluation are v->decided's: v->st's, or with lp-all or milp and
 * v->full_bounds unset, CROWN's when CROWN certifies. */
int cert_verify(cert_verifier *v, const double *x0, norm_type norm, double eps, int clip, int c, int target,
                double *margin, int *certified, nn_error *err);

/* milp_check.c */
/* After cert_verify with method milp left (c, target) uncertified at eps: the
 * row points Cbc found, each moved into the region (box clip, l_inf / l1 ball,
 * in the arithmetic a reader of the point uses) and run through the exact
 * forward pass. When one changes the class (argmax != c; targeted: z_target >
 * z_c) and lies in the region, x and logits (n_classes) get it and *cls the
 * class it goes to; else *cls = -1. Never changes v's bounds. */
int cert_milp_counterexample(cert_verifier *v, const double *x0, norm_type norm, double eps, int clip, int c,
                             int target, double *x, double *logits, int *cls, nn_error *err);
/* Row r's MILP point of v's last evaluation (method milp), moved into the
 * region as cert_milp_counterexample moves it: *has = 0 when Cbc found none. */
int cert_milp_point(cert_verifier *v, size_t row, const double *x0, norm_type norm, double eps, int clip, double *x,
                    int *has, nn_error *err);
/* *cls >= 0 when x lies in B_norm(x0, eps) (clip: and in [0, 1]) as computed in
 * double and the forward pass at x (logits) changes class c to *cls with a
 * larger logit (targeted: z_target > z_c); else -1. The check of
 * cert_milp_counterexample, for any point. */
int cert_counterexample_holds(const nn_model *m, const double *x0, const double *x, norm_type norm, double eps,
                              int clip, int c, int target, double *logits, int *cls, nn_error *err);

/* verify_bab.c */
/* Branch and bound of (c, target) on the l_inf ball B(x0, eps) (o->clip: within
 * [0, 1]), for an eps the bounds did not certify: certified with the search's
 * proven margin (> 0), else *margin is left as it was. NN_ETIMEOUT when the
 * task's deadline (v->deadline) passed. index seeds its PGD runs. */
int cert_verify_bab(cert_verifier *v, const cert_task_options *o, const double *x0, double eps, long index, int c,
                    int target, double *margin, int *certified, nn_error *err);

/* search_radius.c */
/* Reference starting eps of CROWN's search (MNIST sizes; CIFAR inputs for inf). */
double cert_default_eps0(norm_type norm, size_t input_size);
/* Largest eps worth searching: the ball then covers the whole pixel box. */
double cert_default_eps_max(norm_type norm, size_t input_size);
void cert_search_options_default(cert_search_options *o, norm_type norm, size_t input_size);
int cert_search(const cert_search_options *o, cert_oracle_fn oracle, void *ctx, cert_search_result *res,
                nn_error *err);
const char *cert_search_kind_name(cert_search_kind k);
int cert_search_kind_parse(const char *name);   /* -1 if unknown */

/* One (image, target) task: verify at a fixed eps or search the radius. c is the
 * class to protect (the prediction); logits are the clean logits of x. */
int cert_run_task(cert_verifier *v, const cert_task_options *o, const double *x, const double *logits, long index,
                  int label, int target, cert_result *r, nn_error *err);
const char *cert_status_name(cert_status s);

/* image_task.c */
/* Tasks per image: n_classes-1 for TARGET_ALL (one per other class), else 1. */
int cert_tasks_per_image(const cert_target_spec *t, int n_classes);
/* Task `slot` of one image on its own: forward pass, misclassified check (with
 * target all every slot gets a CERT_MISCLASSIFIED row), target choice,
 * cert_run_task. r is always filled; on any failure (allocation included) it is
 * a CERT_FAILED row whose message is the reason, and the code is returned. */
int cert_run_image_task(cert_verifier *v, const cert_task_options *o, const cert_target_spec *t, const double *x,
                        long index, int label, int slot, cert_result *r, nn_error *err);

/* certificate.c */
/* The certificate of the last cert_run_task on v for image x: 1 when its row has
 * one (a certified radius), 0 when not, or an nn_code (out of memory). */
int cert_certificate_of(const cert_verifier *v, const double *x, cert_certificate *c, nn_error *err);
void cert_certificate_free(cert_certificate *c);
/* Little-endian bytes: u32 version | u32 n_classes | u64 x_hash | f64 margin |
 * u64 n_path | (version 2 only: u64 bab_domains) | f64 path[n_path] |
 * f64 lower[n_classes]. Version 1 when bab_domains is 0. */
size_t cert_certificate_bytes(const cert_certificate *c);
void cert_certificate_pack(const cert_certificate *c, unsigned char *out);
/* NN_EFORMAT naming the field when the bytes are not a certificate of the
 * layout above (version, sizes, eps that are not finite and >= 0). */
int cert_certificate_unpack(const unsigned char *in, size_t len, cert_certificate *c, nn_error *err);
/* Checks the fields alone (as unpack does), for certificates read elsewhere. */
int cert_certificate_check(const cert_certificate *c, nn_error *err);
/* Replays c's path on v from a fresh state (bound_forget_warm), bounding the
 * rows of (pred, target) over B_norm(x, eps) at every eps in turn: *margin and
 * v->lower, v->row_target are those of the last eps, a sound bound there
 * whatever the path held. A branch-and-bound certificate then runs the search
 * at the last eps with o's settings (index seeds its PGD as in the task), no
 * clock and c->bab_domains as its limit: the same tree, so the same margin. */
int cert_replay(cert_verifier *v, const cert_certificate *c, const double *x, const cert_task_options *o, long index,
                int pred, int target, double *margin, nn_error *err);
/* 1 when v's last evaluation has c's bits: the margin and every row's lower bound. */
int cert_certificate_matches(const cert_verifier *v, const cert_certificate *c, double margin);

/* result_pack.c */
#define CERT_RESULT_BYTES 368     /* fixed little-endian layout of one cert_result */
#define CERT_RESULT_BYTES_V1 352  /* the layout before the MILP fields (older journals) */
#define CERT_RESULT_BYTES_V0 328  /* the layout before the PGD fields (older journals) */
void cert_result_pack(const cert_result *r, unsigned char out[CERT_RESULT_BYTES]);
/* Returns NN_EFORMAT when the bytes are not a packed result (bad status, no NUL). */
int cert_result_unpack(const unsigned char in[CERT_RESULT_BYTES], cert_result *r, nn_error *err);
/* The same for a row of n bytes: CERT_RESULT_BYTES, CERT_RESULT_BYTES_V1 (no
 * MILP fields: NaN, -1) or CERT_RESULT_BYTES_V0 (no PGD fields either: NaN,
 * NaN, -1; saved = 0). */
int cert_result_unpack_n(const unsigned char *in, size_t n, cert_result *r, nn_error *err);

#endif
