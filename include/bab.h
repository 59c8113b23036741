/* bab: options and counters of branch and bound, the complete search behind
 * 'verify --bab': an input box is split into halves or its ReLUs into phases until
 * every leaf is proven or a counterexample is found (doc/bab.md). */
#ifndef BAB_H
#define BAB_H

#include <stddef.h>
#include "bound.h"
#include "nn_error.h"

typedef enum { BAB_SPLIT_AUTO, BAB_SPLIT_INPUT, BAB_SPLIT_RELU } bab_split;

/* The largest bab_options.unit: a round cap on the states a process keeps for
 * one unit (each holds a bound state), not a measured optimum. */
#define BAB_UNIT_MAX 4096

/* The unit of a search that sets none (doc/bab.md "Batches"): 8 with the
 * methods a batch bounds (CROWN, Fast-Lin, FROWN), whose batches measured
 * faster on long searches: FROWN's input halves 1.12-1.36x (their spec-row
 * problems share every GEMM; units of 4 to 16 alike, 32 and 64 slower),
 * CROWN's 1.23-1.24x on input halves and 1.29-1.43x on ReLU phases (units of 4
 * to 32 alike, 64 slower); a 512-wide net lost 0.89x, where --bab-unit 1 is the
 * choice. 1 otherwise. */
size_t bab_unit_default(bound_method method);

/* A round's jobs [lo, hi) into out[(hi - lo) x width] (bab.c's, with its context). */
typedef int (*bab_jobs_fn)(void *ctx, size_t lo, size_t hi, double *out, nn_error *err);
/* Runs jobs [0, n) of a round, each filling `width` doubles of
 * out: by calling jobs on ranges of whole jobs, here or spread over processes
 * that run the same search in lockstep (a scheduler's group); out complete on
 * return everywhere, an error agreed on everywhere. */
typedef int (*bab_exec_fn)(void *ctx, size_t n, size_t width, bab_jobs_fn jobs, void *jobs_ctx, double *out,
                           nn_error *err);
/* Hands the bytes of the process that holds the frontier (a round's domains) to
 * every process of the group: there (*bytes, *len) stay its own, elsewhere they
 * become a malloc'd copy. rc is the holder's state (its error in err there; the
 * others pass NN_OK): a failure there comes back on every process, with its
 * message. */
typedef int (*bab_share_fn)(void *ctx, int rc, unsigned char **bytes, size_t *len, nn_error *err);
/* Keeps a snapshot of the whole verification (len bytes, bab_snapshot.c's format)
 * where a killed run finds it again; an error stops the search. */
typedef int (*bab_save_fn)(void *ctx, const unsigned char *bytes, size_t len, nn_error *err);

typedef struct {
    int enabled;            /* 0: bounds on whole boxes only */
    bab_split split;        /* auto: input halves when few inputs are free, else ReLU phases */
    size_t batch;           /* domains expanded per round (8): what a round bounds together */
    size_t candidates;      /* neurons (ReLU splits) or input dimensions (input splits)
                               whose children are bounded per domain, the best pair kept
                               (4; 1: the widest relaxation, the largest influence only) */
    size_t max_frontier;    /* best-first while at most this many domains are open, then
                               depth-first (memory stays bounded) */
    long max_domains;       /* stop with unknown after bounding this many (0: no limit) */
    size_t auto_input_dims; /* auto: input splits when at most this many inputs are free (16) */
    size_t unit;            /* on a chain of dense layers, with CROWN, Fast-Lin or FROWN:
                               jobs bounded together as one batch, one GEMM per layer over
                               their rows (1: each alone; the default is bab_unit_default's;
                               doc/bab.md "Batches") */
    bab_exec_fn exec;       /* NULL: every job here */
    void *exec_ctx;
    /* A group's frontier on one process (doc/bab.md "Over MPI"): the holder pops
     * each round's domains and shares them; the others keep no frontier, only
     * its size. NULL: this process holds its own (alone, or every member alike). */
    bab_share_fn share;
    void *share_ctx;
    int holder;             /* with share: 1 on the one process that holds the frontier */
    /* Checkpoints (doc/bab.md "Checkpoints"): between rounds, at most every
     * save_every seconds (0: every round; longer when writing takes long), the
     * state is handed to save; resume, a snapshot save was given, continues it.
     * Neither joins the search's decisions: a resumed run expands the same tree. */
    bab_save_fn save;       /* NULL: no checkpoints */
    void *save_ctx;
    double save_every;
    int timeout_final;      /* 1: the caller keeps a timeout as the answer and drops the
                               checkpoint (vnncomp), so none is written once the clock
                               has run out: at the timeout, or at a round's end past it */
    const unsigned char *resume;  /* NULL: start afresh */
    size_t resume_len;
} bab_options;

/* What the search did, summed over the boxes it ran on. */
typedef struct {
    long domains;           /* sub-domains bounded (children, and candidates tried) */
    long leaves_proven;     /* leaves whose every disjunct the bounds rule out */
    long leaves_empty;      /* of those, leaves whose split constraints cannot hold */
    long open;              /* domains left open when the search stopped */
    long stuck;             /* open domains that could not be split further */
    int depth;              /* deepest domain */
    double proven_margin;   /* smallest amount by which a ruled-out disjunct's bound
                               cleared its right-hand side, over the domains of the
                               tree (+inf: none): with every leaf proven, every point
                               violates every disjunct by at least this much */
    double volume_proven;   /* input splits: proven fraction of the input volume, each box
                               counting equally (NaN once a box was searched by ReLU phases) */
    /* Where a process's wall time went (a measurement, never a decision): rounds, and
     * seconds in each round's PGD run, in planning the popped domains (split choice,
     * children), in its jobs (bounds and LP leaves; in a group, the all-gather and
     * the wait for the slowest member too), and in reading the rows back into the
     * frontier. Only the jobs are divided in a group; the rest every member repeats. */
    long rounds;
    double sec_pgd, sec_plan, sec_jobs, sec_merge;
    int used_input, used_relu; /* boxes searched by input halves, by ReLU phases (auto picks per box) */
    int used_batches;       /* the unit domains were bounded in, in batches (0: one at a time) */
    long resumed_open;      /* open domains taken from a checkpoint (-1: started afresh) */
    double resumed_seconds; /* wall seconds of the runs it continues */
    long snapshots;         /* checkpoints handed to bab_options.save by this run */
    long frontier_peak;     /* most open domains this process held at once (a group's
                               holder holds them all, the others a round's batch) */
} bab_stats;

/* Prototypes */
void bab_options_default(bab_options *o);
const char *bab_split_name(bab_split s);
int bab_split_parse(const char *name);  /* -1 if unknown */

#endif
