/* Branch and bound over one input box of a property (doc/bab.md).
 *
 * A domain is the box (or a half of a half of it: input splits) with sign
 * constraints on some pre-activations (ReLU splits). Its disjuncts are bounded
 * by the configured method on the domain: a disjunct is ruled out when some row
 * of its conjunction has a lower bound above its right-hand side, and a domain
 * whose disjuncts are all ruled out is a proven leaf. The box is unsat when every
 * leaf is proven; a counterexample ends the search, and counts only once the
 * exact forward pass confirms it (prop_conj_holds, prop_box_holds).
 *
 * ReLU splits go through the engine's sub-domain (bound_subdomain): the split
 * neuron's interval is clamped to its side, so its relaxation is the exact piece,
 * every later layer is bounded under all the constraints, and the parent's bounds
 * are intersected in (they hold on the child, which is a subset). Layers up to the
 * newest split are the parent's bits, taken as they are: they depend only on
 * constraints the parent had. A child whose constraints contradict its bounds is
 * empty, a proven leaf.
 *
 * Rounds: the best `batch` domains of the frontier are popped, each one's
 * children planned (which split, which candidates), the children bounded as the
 * round's jobs (here, or spread over a group of processes by bab_options.exec),
 * the results read back in job order and the kept children pushed. The tree is a
 * function of the job (ids are creation order), not of timing or of how the jobs
 * were spread. A domain with nothing left to split goes to its LP (lp_leaf).
 * Counterexamples: one point per bounded domain by one forward pass, where its
 * worst row's linear bound is smallest (bound_state.spec_points; an input
 * half's centre where the method or batch gives none), each round a short PGD
 * run on the frontier's worst domain, an LP leaf's optimal point.
 *
 * Warm starts (FROWN, input halves): a child's spec-row optimization starts from
 * the variables its parent's ended with (bound_spec_warm_seed), which travel
 * with the parent's job result and the domain; the root starts from CROWN's
 * lines. A domain's numbers are then a function of its box and of its
 * ancestors' results, so still of the job alone (doc/bab.md "Warm starts").
 *
 * Batches (a chain of dense layers; CROWN, Fast-Lin and FROWN): a round's
 * jobs go out in units of bab_options.unit consecutive jobs, and a unit's
 * domains (but its LP leaves) are bounded together (bound_batch_run), one GEMM
 * per layer over all their rows (FROWN: over all their problems in every
 * iteration), each ReLU-phase child with its own splits, split multipliers,
 * parent bounds and kept layers. Which domains
 * share a batch is fixed by the round, so the bits, and the tree, stay a
 * function of the job and not of the processes. */
#include "property_internal.h"
#include "bab_frontier.h"
#include "bab_snapshot.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "forward.h"
#include "nn_clock.h"

static const char *const split_names[] = {"auto", "input", "relu"};

/* Most floats of a domain's warm start (4 bytes each): more and none is carried.
 * A round memory bound (16 kB a domain, the figure doc/bab.md gives a ReLU
 * domain's bounds), not a measured optimum; the 6x[50] net's properties need 1,200. */
#define BAB_WARM_MAX 4096

/* Most neurons whose bounds an input half keeps for its children (16 kB a domain
 * besides its warm start; the 6x[50] net has 300): more and none are kept. A
 * round memory bound like the one above, not a measured optimum. */
#define BAB_HALF_PRE_MAX 1024

const char *bab_split_name(bab_split s) { return (unsigned)s < 3 ? split_names[s] : "?"; }

int bab_split_parse(const char *name)
{
    for (int i = 0; i < 3; i++)
        if (!strcmp(name, split_names[i])) return i;
    return -1;
}

void bab_options_default(bab_options *o)
{
    memset(o, 0, sizeof *o);
    o->split = BAB_SPLIT_AUTO;
    o->batch = 8;
    o->candidates = 4;  /* doc/bab.md "Branching" */
    o->max_frontier = 100000;
    o->max_domains = 200000;
    o->auto_input_dims = 16;
    o->unit = 1;  /* the callers that know the method take bab_unit_default's */
}

size_t bab_unit_default(bound_method method)
{
    return bound_batch_method(method) ? 8 : 1;
}

typedef struct {
    const nn_model *m;
    const prop_spec *p;
    size_t b;
    const prop_options *o;
    uint64_t *rng;
    prop_result *r;
    int relu;               /* 1: ReLU phases, 0: input halves */
    size_t nc;              /* disjuncts on box b ... */
    size_t *cases;          /* ... their indices in p */
    size_t *case_row0;      /* [nc + 1]: rows of disjunct c are case_row0[c] .. [c+1] of C */
    size_t *row_of;         /* property row of each row of C */
    size_t n_rows;
    double *C, *lower, *upper;
    /* ReLU splits: one region, one state; input halves: the state, and the region
     * of the domain last bounded */
    prop_region reg;
    int have_reg, have_st;
    bound_state st;
    prop_region half;
    int have_half;
    bound_state lp_st;      /* LP-LAST on leaves with every ReLU fixed (made when needed) */
    bound_state milp_st;    /* ... and the point of their LP when it does not prove them */
    bound_state beta_st;    /* FROWN with split multipliers on those leaves, before their LP */
    int have_lp_st, have_milp_st, have_beta_st;
    bound_subdomain sub;
    signed char **phase;
    double **prior_l, **prior_u;
    size_t *pre_off, pre_n; /* packed place of each nonlinear layer's bounds; neurons in all */
    int carry_pre;          /* 1: an open domain keeps its bounds (pre) for its children */
    /* counterexamples */
    prop_spec view;         /* p restricted to one sub-box (PGD) */
    size_t *view_case_box;
    double *vbox;           /* [4 n_x]: lo, hi, lo_in, hi_in of the view */
    double *x, *y, *g;
    double *points;         /* [n_rows x n_x] each spec row's bound minimizer (bound_state.spec_points) */
    double *bpoints;        /* [unit x n_rows x n_x] the same per state of a batch */
    uint64_t next_id;
    int found;              /* a confirmed counterexample: ... */
    size_t found_case;      /* ... its disjunct (index in p), */
    double *cx, *cy;        /* ... its input and outputs */
    /* batches: a state per place in a unit, and for input halves its region */
    int batched;            /* 1: bound_batch_run bounds each unit's domains */
    size_t unit;            /* jobs per unit of work (bab_options.unit batched, else 1) */
    bound_state *bst;       /* [unit], the first n_bst initialized */
    bound_state **bptr;     /* [unit] the states of a unit's bounded jobs, in order */
    prop_region *bhalf;     /* [unit], those with have_bhalf set */
    unsigned char *have_bhalf;
    size_t n_bst;
    bound_batch batch;
    double *batch_lower;    /* [unit x n_rows] a unit's spec rows' lower bounds */
    bound_subdomain *bsub;  /* [unit] each state's parent bounds (carry_pre) ... */
    double **bprior;        /* ... [unit x 2 n_layers]: its layer arrays */
    signed char **bphase;   /* ReLU phases: [unit x n_layers] each state's split constraints */
    size_t warm_n;          /* floats of a domain's warm start (0: none carried) */
    float *warm;            /* [warm_n] scratch of a job's */
    long job_domains;       /* domains bounded by the job running here */
    double job_margin;      /* smallest clearance of a disjunct it ruled out (+inf: none) */
    forward_workspace fw;   /* check_point's forward passes, one per bounded domain */
} bab_run;

static int alloc_zero(void *pp, size_t n, size_t size, const char *what, nn_error *err)
{
    void **p = pp;
    *p = nn_calloc(n ? n : 1, size, what, err);
    return *p ? NN_OK : NN_ENOMEM;
}

/* Can ReLU phases be split in this model (sign constraints on inputs of ReLU or leaky ReLU)? */
static int has_relu(const nn_model *m)
{
    for (int i = 0; i < m->n_layers; i++)
        if (m->layers[i].type == LAYER_RELU || m->layers[i].type == LAYER_LEAKY_RELU) return 1;
    return 0;
}

/* auto: input halves when few inputs are free (each half is bounded exactly, as
 * its own box), else ReLU phases when there are ReLUs. */
static void pick_mode(const bab_run *run, bab_split want, int *mode)
{
    if (want != BAB_SPLIT_AUTO) {
        *mode = want == BAB_SPLIT_RELU;
        return;
    }
    size_t n = run->p->n_x, free_dims = 0;
    const double *lo = run->p->lo + run->b * n, *hi = run->p->hi + run->b * n;
    for (size_t i = 0; i < n; i++) free_dims += hi[i] > lo[i];
    *mode = has_relu(run->m) && free_dims > run->o->bab.auto_input_dims;
}

/* The options input halves are bounded with: FROWN's lines for the spec rows
 * only, unless asked otherwise. Input halves are many and cheap, and optimizing
 * every layer's rows cost more than the splits it saved (doc/bab.md "Branching":
 * 2.4 s against 0.14 s on the 6x[50] net's property 1, 89 s against 49 s on
 * property 3). */
static bound_options half_options(const bab_run *run)
{
    bound_options o = run->o->bopt;
    if (o.frown_layers == FROWN_LAYERS_AUTO) o.frown_layers = FROWN_LAYERS_SPEC;
    return o;
}

static void run_free(bab_run *run)
{
    if (run->phase) {
        for (int i = 0; i < run->m->n_layers; i++) free(run->phase[i]);
    }
    for (size_t k = 0; run->bphase && k < run->unit * (size_t)run->m->n_layers; k++) free(run->bphase[k]);
    if (run->have_st) bound_state_free(&run->st);
    if (run->have_lp_st) bound_state_free(&run->lp_st);
    if (run->have_milp_st) bound_state_free(&run->milp_st);
    if (run->have_beta_st) bound_state_free(&run->beta_st);
    if (run->have_reg) prop_region_free(&run->reg);
    if (run->have_half) prop_region_free(&run->half);
    free(run->cases), free(run->case_row0), free(run->row_of);
    free(run->C), free(run->lower), free(run->upper);
    free(run->phase), free(run->prior_l), free(run->prior_u), free(run->pre_off);
    free(run->view_case_box), free(run->vbox), free(run->x), free(run->y), free(run->g);
    free(run->points), free(run->bpoints);
    free(run->cx), free(run->cy), free(run->warm);
    for (size_t k = 0; k < run->n_bst; k++) bound_state_free(&run->bst[k]);
    for (size_t k = 0; run->have_bhalf && k < run->unit; k++)
        if (run->have_bhalf[k]) prop_region_free(&run->bhalf[k]);
    bound_batch_free(&run->batch);
    forward_workspace_free(&run->fw);
    free(run->bst), free(run->bptr), free(run->bhalf), free(run->have_bhalf), free(run->batch_lower);
    free(run->bsub), free(run->bprior), free(run->bphase);
}

/* Packed places of every nonlinear layer's bounds in a domain's pre (pre_off,
 * pre_n), and the layer arrays of a prior (prior_l, prior_u). */
static int pre_layout(bab_run *run, nn_error *err)
{
    size_t nl = (size_t)run->m->n_layers;
    int rc;
    if ((rc = alloc_zero(&run->prior_l, nl, sizeof *run->prior_l, "parent bounds", err)) ||
        (rc = alloc_zero(&run->prior_u, nl, sizeof *run->prior_u, "parent bounds", err)) ||
        (rc = alloc_zero(&run->pre_off, nl, sizeof *run->pre_off, "parent bounds", err)))
        return rc;
    for (int i = 0; i < run->m->n_layers; i++) {
        run->pre_off[i] = run->pre_n;
        if (layer_is_nonlinear(run->m->layers[i].type)) run->pre_n += shape_size(run->m->layers[i].in);
    }
    return NN_OK;
}

/* l[i], u[i]: layer i's bounds in the packed pre (NULL: no pre, or no bounds there). */
static void set_prior(const bab_run *run, double *pre, double **l, double **u)
{
    for (int i = 0; i < run->m->n_layers; i++) {
        int has = pre && layer_is_nonlinear(run->m->layers[i].type);
        l[i] = has ? pre + run->pre_off[i] : NULL;
        u[i] = has ? pre + run->pre_n + run->pre_off[i] : NULL;
    }
}

/* st's bounds of every nonlinear layer into d->pre, for d's children. */
static int keep_bounds(const bab_run *run, bab_domain *d, const bound_state *st, nn_error *err)
{
    if (!d->pre && !(d->pre = nn_malloc(2 * run->pre_n * sizeof *d->pre, "domain bounds", err))) return NN_ENOMEM;
    for (int i = 0; i < run->m->n_layers; i++) {
        if (!layer_is_nonlinear(run->m->layers[i].type)) continue;
        size_t ni = shape_size(run->m->layers[i].in);
        memcpy(d->pre + run->pre_off[i], st->pre_lower[i], ni * sizeof *d->pre);
        memcpy(d->pre + run->pre_n + run->pre_off[i], st->pre_upper[i], ni * sizeof *d->pre);
    }
    return NN_OK;
}

static int run_init(bab_run *run, nn_error *err)
{
    const prop_spec *p = run->p;
    size_t n = p->n_x, ny = p->n_y;
    int rc = NN_OK;
    for (size_t k = 0; k < p->n_cases; k++)
        if (p->case_box[k] == run->b) {
            run->nc++;
            run->n_rows += p->conj_start[p->case_conj[k] + 1] - p->conj_start[p->case_conj[k]];
        }
    if ((rc = alloc_zero(&run->cases, run->nc, sizeof *run->cases, "branch-and-bound disjuncts", err)) ||
        (rc = alloc_zero(&run->case_row0, run->nc + 1, sizeof *run->case_row0, "branch-and-bound rows", err)) ||
        (rc = alloc_zero(&run->row_of, run->n_rows, sizeof *run->row_of, "branch-and-bound rows", err)) ||
        (rc = alloc_zero(&run->C, run->n_rows * ny, sizeof *run->C, "branch-and-bound rows", err)) ||
        (rc = alloc_zero(&run->lower, run->n_rows, sizeof *run->lower, "branch-and-bound bounds", err)) ||
        (rc = alloc_zero(&run->upper, run->n_rows, sizeof *run->upper, "branch-and-bound bounds", err)) ||
        (rc = alloc_zero(&run->view_case_box, p->n_cases, sizeof *run->view_case_box, "attack view", err)) ||
        (rc = alloc_zero(&run->vbox, 4 * n, sizeof *run->vbox, "attack view", err)) ||
        (rc = alloc_zero(&run->x, n, sizeof *run->x, "candidate point", err)) ||
        (rc = alloc_zero(&run->points, run->n_rows * n, sizeof *run->points, "candidate points", err)) ||
        (rc = alloc_zero(&run->g, n, sizeof *run->g, "gradient", err)) ||
        (rc = alloc_zero(&run->y, ny, sizeof *run->y, "candidate outputs", err)) ||
        (rc = alloc_zero(&run->cx, n, sizeof *run->cx, "counterexample", err)) ||
        (rc = alloc_zero(&run->cy, ny, sizeof *run->cy, "counterexample", err)))
        return rc;
    size_t c = 0, w = 0;
    for (size_t k = 0; k < p->n_cases; k++) {
        if (p->case_box[k] != run->b) continue;
        run->cases[c] = k, run->case_row0[c++] = w;
        for (size_t row = p->conj_start[p->case_conj[k]]; row < p->conj_start[p->case_conj[k] + 1]; row++, w++) {
            run->row_of[w] = row;
            memcpy(run->C + w * ny, p->row + row * ny, ny * sizeof *run->C);
        }
    }
    run->case_row0[c] = w;
    /* the attack view: every disjunct on the one sub-box */
    run->view = *p;
    run->view.n_boxes = 1;
    run->view.lo = run->vbox, run->view.hi = run->vbox + n;
    run->view.lo_in = run->vbox + 2 * n, run->view.hi_in = run->vbox + 3 * n;
    run->view.case_box = run->view_case_box;
    run->unit = 1;
    bound_batch_init(&run->batch);
    bound_options half = half_options(run);
    const bound_options *bo = run->relu ? &run->o->bopt : &half;
    size_t unit = run->o->bab.unit;
    if (unit > 1 && bound_batch_supported(run->m, bo)) {
        run->batched = 1, run->unit = unit;
        run->r->bab.used_batches = (int)unit;
        if ((rc = alloc_zero(&run->bst, run->unit, sizeof *run->bst, "batch states", err)) ||
            (rc = alloc_zero(&run->bptr, run->unit, sizeof *run->bptr, "batch states", err)) ||
            (rc = alloc_zero(&run->bhalf, run->unit, sizeof *run->bhalf, "batch regions", err)) ||
            (rc = alloc_zero(&run->have_bhalf, run->unit, 1, "batch regions", err)) ||
            (rc = alloc_zero(&run->batch_lower, run->unit * run->n_rows, sizeof *run->batch_lower,
                             "batch bounds", err)) ||
            (rc = alloc_zero(&run->bpoints, run->unit * run->n_rows * n, sizeof *run->bpoints, "candidate points",
                             err)))
            return rc;
    }
    if (!run->relu) {
        /* FROWN's warm starts, where a domain's stays small: a frontier of
         * bab_options.max_frontier domains holds at most 16 kB each of them */
        run->warm_n = bound_spec_warm_len(run->m, &run->o->bopt, run->n_rows);
        if (run->warm_n > BAB_WARM_MAX) run->warm_n = 0;
        if (run->warm_n && (rc = alloc_zero(&run->warm, run->warm_n, sizeof *run->warm, "warm start", err)))
            return rc;
        /* a half's box lies in its parent's, so the parent's bounds hold on it:
         * intersected in, and rows they prove stable need no pass (bound_crown.c) */
        if ((rc = pre_layout(run, err))) return rc;
        run->carry_pre = run->pre_n <= BAB_HALF_PRE_MAX;
        if (!run->carry_pre) return run->pre_n = 0, NN_OK;
        run->sub = (bound_subdomain){.prior_lower = run->prior_l, .prior_upper = run->prior_u};
        if (run->batched &&
            ((rc = alloc_zero(&run->bsub, run->unit, sizeof *run->bsub, "batch bounds", err)) ||
             (rc = alloc_zero(&run->bprior, run->unit * 2 * (size_t)run->m->n_layers, sizeof *run->bprior,
                              "batch bounds", err))))
            return rc;
        return NN_OK;
    }
    /* ReLU splits: the box's region and state, and the sub-domain's arrays */
    if ((rc = prop_region_make(run->m, p->lo + run->b * n, p->hi + run->b * n, &run->reg, err))) return rc;
    run->have_reg = 1;
    if ((rc = bound_state_init(&run->st, run->m, &run->o->bopt, err))) return rc;
    run->have_st = 1;
    run->st.outputs_unused = 1; /* every bound read is bound_spec's */
    run->st.spec_points = run->points;
    if ((rc = bound_set_region(&run->st, &run->reg.region, err))) return rc;
    if ((rc = alloc_zero(&run->phase, (size_t)run->m->n_layers, sizeof *run->phase, "split constraints", err)) ||
        (rc = pre_layout(run, err)))
        return rc;
    for (int i = 0; i < run->m->n_layers; i++)
        if (run->st.pre_lower[i] &&
            (rc = alloc_zero(&run->phase[i], shape_size(run->m->layers[i].in), 1, "split constraints", err)))
            return rc;
    run->carry_pre = 1; /* run->sub: sub_setup, per domain */
    if (!run->batched) return NN_OK;
    size_t nl = (size_t)run->m->n_layers;
    if ((rc = alloc_zero(&run->bsub, run->unit, sizeof *run->bsub, "batch bounds", err)) ||
        (rc = alloc_zero(&run->bprior, run->unit * 2 * nl, sizeof *run->bprior, "batch bounds", err)) ||
        (rc = alloc_zero(&run->bphase, run->unit * nl, sizeof *run->bphase, "split constraints", err)))
        return rc;
    for (size_t k = 0; k < run->unit; k++)
        for (size_t i = 0; i < nl; i++)
            if (run->phase[i] &&
                (rc = alloc_zero(&run->bphase[k * nl + i], shape_size(run->m->layers[i].in), 1, "split constraints",
                                 err)))
                return rc;
    return NN_OK;
}

/* Rule out what the bounds in run->lower rule out; the worst open margin as key.
 * A disjunct is ruled out by its row whose bound clears the right-hand side by
 * most; the smallest such clearance of a job goes to run->job_margin (every
 * point of the domain violates that disjunct by at least that much). */
static int evaluate(bab_run *run, bab_domain *d)
{
    int open = 0;
    d->key = INFINITY, d->worst_row = (size_t)-1;
    for (size_t c = 0; c < run->nc; c++) {
        if (!d->open[c]) continue;
        double best = -INFINITY;
        size_t best_row = run->row_of[run->case_row0[c]];
        int out = 0;
        for (size_t w = run->case_row0[c]; w < run->case_row0[c + 1]; w++) {
            double rhs = run->p->rhs[run->row_of[w]], lb = run->lower[w];
            if (lb > rhs) out = 1;  /* NaN never rules out */
            double margin = lb - rhs;
            if (margin > best) best = margin, best_row = run->row_of[w];
        }
        if (out) {
            d->open[c] = 0;
            run->job_margin = fmin(run->job_margin, best);
            continue;
        }
        open = 1;
        if (best < d->key || d->worst_row == (size_t)-1) d->key = best, d->worst_row = best_row;
    }
    return open;
}

/* d's split constraints written into the phase arrays ph (on), or cleared. */
static void put_splits(signed char **ph, const bab_domain *d, int on)
{
    for (size_t s = 0; s < d->n_splits; s++) ph[d->splits[s].layer][d->splits[s].neuron] = on ? d->splits[s].phase : 0;
}

/* sub: d's sub-domain in the arrays ph (phases), l and u (prior layers): its
 * splits, the packed bounds prior (NULL: none), layers below keep taken as they
 * are. One state's (sub_bounds) and a batch's (batch_bound) alike. */
static void sub_setup(const bab_run *run, bound_subdomain *sub, signed char **ph, double **l, double **u,
                      const bab_domain *d, double *prior, int keep)
{
    put_splits(ph, d, 1);
    set_prior(run, prior, l, u);
    *sub = (bound_subdomain){.phase = ph, .prior_lower = l, .prior_upper = u, .keep_below = keep};
}

/* d proven empty (no point satisfies its constraints): nothing open, never popped. */
static void set_empty(const bab_run *run, bab_domain *d)
{
    memset(d->open, 0, run->nc);
    d->key = INFINITY;
}

/* bound_compute of st (on the box's region) under d's splits, with prior the
 * packed bounds of every nonlinear layer known on d (NULL: none) and layers below
 * keep taken from them as they are, then (unless the domain is empty) d's spec
 * rows into run->lower, run->upper: FROWN's split multipliers need the splits
 * there too. Counts one domain bounded. */
static int sub_bounds(bab_run *run, bound_state *st, const bab_domain *d, double *prior, int keep,
                      nn_error *err)
{
    sub_setup(run, &run->sub, run->phase, run->prior_l, run->prior_u, d, prior, keep);
    st->sub = &run->sub;
    int rc = bound_compute(st, err);
    if (!rc && !st->infeasible) rc = bound_spec(st, run->C, run->n_rows, run->p->n_y, NULL, run->lower, run->upper, err);
    st->sub = NULL;
    put_splits(run->phase, d, 0);
    run->job_domains++;
    return rc;
}

/* Bounds of d; parent (ReLU splits) gives the prior bounds, and its layers below
 * keep are taken as they are. Returns the number of open disjuncts through d->open. */
static int bound_domain(bab_run *run, bab_domain *d, const bab_domain *parent, int keep, int *empty, nn_error *err)
{
    *empty = 0;
    int rc;
    if (!run->relu) {
        /* One state bounds every half: a per-coordinate box is a new image to it
         * (no region cache carried over, and a warm start only from the parent's
         * result), so a domain's bits are its own and its ancestors', whichever
         * domains the state bounded before. */
        run->job_domains++;
        if (run->have_half) prop_region_free(&run->half);
        run->have_half = 0;
        if ((rc = prop_region_make(run->m, d->lo, d->hi, &run->half, err))) return rc;
        run->have_half = 1;
        if (!run->have_st) {
            bound_options o = half_options(run);
            if ((rc = bound_state_init(&run->st, run->m, &o, err))) return rc;
            run->have_st = 1;
            run->st.outputs_unused = 1;
            run->st.spec_points = run->points;
        }
        bound_forget_warm(&run->st);
        rc = bound_set_region(&run->st, &run->half.region, err);
        if (!rc && parent && parent->warm)
            rc = bound_spec_warm_seed(&run->st, run->C, run->n_rows, run->p->n_y, NULL, parent->warm, err);
        if (parent && parent->pre) {
            set_prior(run, parent->pre, run->prior_l, run->prior_u);
            run->st.sub = &run->sub;
        }
        if (!rc && !(rc = bound_compute(&run->st, err)))
            rc = bound_spec(&run->st, run->C, run->n_rows, run->p->n_y, NULL, run->lower, run->upper, err);
        run->st.sub = NULL;
        if (!rc && evaluate(run, d) && run->carry_pre) rc = keep_bounds(run, d, &run->st, err);
        return rc;
    }
    /* a domain's numbers depend on the domain alone (FROWN starts from CROWN's lines) */
    bound_forget_warm(&run->st);
    if ((rc = sub_bounds(run, &run->st, d, parent ? parent->pre : NULL, parent ? keep : 0, err))) return rc;
    if (run->st.infeasible) {  /* by its intervals, or an LP method's Farkas ray */
        *empty = 1;
        set_empty(run, d);
        return NN_OK;
    }
    if (!evaluate(run, d)) return NN_OK;  /* a proven leaf needs no bounds kept */
    return keep_bounds(run, d, &run->st, err);
}

static int check_point(bab_run *run, const bab_domain *d, const double *x, nn_error *err);

/* A state of another method on the box's region (LP-LAST, MILP for leaves). */
static int leaf_state(bab_run *run, bound_state *st, int *have, bound_method method, nn_error *err)
{
    if (*have) return NN_OK;
    bound_options o = run->o->bopt;
    o.method = method;
    if (method == METHOD_FROWN) { /* for its split multipliers (lp_leaf), whatever the search's FROWN options */
        bound_options d;
        bound_options_default(&d);
        o.frown_beta = 1;
        if (o.frown_iters <= 0) o.frown_iters = d.frown_iters;
    }
    int rc = bound_state_init(st, run->m, &o, err);
    if (rc) return rc;
    *have = 1;
    st->outputs_unused = 1;
    return bound_set_region(st, &run->reg.region, err);
}

/* d's spec rows by st, every layer's bounds d's own (kept as they are). */
static int leaf_bounds(bab_run *run, bound_state *st, const bab_domain *d, nn_error *err)
{
    return sub_bounds(run, st, d, d->pre, run->m->n_layers, err);
}

/* A domain of ReLU splits whose ReLU-like neurons are all stable: the network is
 * affine on it, but a backward bound minimizes over the whole box and ignores the
 * split constraints (z >= 0 of an active neuron), so it may never prove the domain.
 * The LP of LP-LAST has the constraints (the committed bounds are boxes of the
 * pre-activation variables), so on such a domain it is exact up to its safe-bound
 * rounding, and proves an empty domain empty (a Farkas certificate). When it does
 * not prove the domain, the same problem solved by Cbc (binaries only for MaxPool
 * windows) gives its optimal point, a counterexample up to rounding, which
 * check_point confirms or not, and with MaxPool layers (where the LP is still a
 * relaxation) bounds that may rule the domain out. 1 in *proven when every open
 * disjunct is ruled out. */
static int lp_leaf(bab_run *run, bab_domain *d, int *proven, nn_error *err)
{
    *proven = 0;
    bound_method m = run->o->bopt.method;
    if (bound_method_is_lp(m)) return NN_OK;  /* it already was */
    int rc;
    /* FROWN's split multipliers first, unless the search's method already had
     * them: they bring the constraints into the backward bound, in milliseconds
     * where the LP takes tens to hundreds (doc/bab.md "Split constraints in
     * the engine") */
    if (m != METHOD_FROWN || !run->o->bopt.frown_beta) {
        if ((rc = leaf_state(run, &run->beta_st, &run->have_beta_st, METHOD_FROWN, err)) ||
            (rc = leaf_bounds(run, &run->beta_st, d, err)))
            return rc;
        if (run->beta_st.infeasible || !evaluate(run, d)) {
            memset(d->open, 0, run->nc);
            *proven = 1;
            return NN_OK;
        }
    }
    rc = leaf_state(run, &run->lp_st, &run->have_lp_st, METHOD_LP_LAST, err);
    if (!rc) rc = leaf_bounds(run, &run->lp_st, d, err);
    if (rc) return rc;
    if (run->lp_st.infeasible || !evaluate(run, d)) {
        memset(d->open, 0, run->nc);
        *proven = 1;
        return NN_OK;
    }
    if ((rc = leaf_state(run, &run->milp_st, &run->have_milp_st, METHOD_MILP, err)) ||
        (rc = leaf_bounds(run, &run->milp_st, d, err)) || run->milp_st.infeasible)
        return rc;
    for (size_t c = 0; c < run->nc && !run->found; c++) {
        if (!d->open[c]) continue;
        for (size_t w = run->case_row0[c]; w < run->case_row0[c + 1] && !run->found; w++) {
            bound_milp_row mr;
            const double *point;
            if (bound_milp_result(&run->milp_st, w, &mr, &point) || !point) continue;
            for (size_t i = 0; i < run->p->n_x; i++)  /* Cbc's point, onto the inner box */
                run->x[i] = fmin(fmax(point[i], run->p->lo_in[run->b * run->p->n_x + i]),
                                 run->p->hi_in[run->b * run->p->n_x + i]);
            if ((rc = check_point(run, d, run->x, err))) return rc;
        }
    }
    /* With MaxPool layers the MILP keeps a binary per candidate input of each
     * window the leaf's bounds leave undecided, and is exact on the leaf where
     * the LP is a relaxation: its bounds rule out what the pools' relaxations
     * left open (doc/bab.md "Empty domains proven by an LP"). */
    if (!run->found && !evaluate(run, d)) *proven = 1;
    return NN_OK;
}

static int is_open(const bab_run *run, const bab_domain *d)
{
    for (size_t c = 0; c < run->nc; c++)
        if (d->open[c]) return 1;
    return 0;
}

/* x (in the box's inner box and d's sub-box) and its outputs satisfy an open disjunct of d? */
static int check_point(bab_run *run, const bab_domain *d, const double *x, nn_error *err)
{
    const prop_spec *p = run->p;
    if (!prop_box_holds(p, run->b, x)) return NN_OK;
    int rc = forward_run_ws(run->m, x, 1, run->y, &run->fw, err);
    if (rc) return rc;
    for (size_t c = 0; c < run->nc && !run->found; c++) {
        size_t k = run->cases[c];
        if (d->open[c] && prop_conj_holds(p, p->case_conj[k], run->y)) {
            run->found = 1, run->found_case = k;
            memcpy(run->cx, x, p->n_x * sizeof *x);
            memcpy(run->cy, run->y, p->n_y * sizeof *run->y);
        }
    }
    return NN_OK;
}

/* The view's box: d's sub-box (or the whole box) within the inner box; 0 if empty. */
static int set_view(bab_run *run, const bab_domain *d)
{
    const prop_spec *p = run->p;
    size_t n = p->n_x;
    const double *lo = d->lo ? d->lo : p->lo + run->b * n, *hi = d->hi ? d->hi : p->hi + run->b * n;
    double *vlo = run->vbox, *vhi = run->vbox + n, *ilo = run->vbox + 2 * n, *ihi = run->vbox + 3 * n;
    for (size_t i = 0; i < n; i++) {
        vlo[i] = lo[i], vhi[i] = hi[i];
        ilo[i] = fmax(lo[i], p->lo_in[run->b * n + i]), ihi[i] = fmin(hi[i], p->hi_in[run->b * n + i]);
        if (!(ilo[i] <= ihi[i])) return 0;
    }
    return 1;
}

/* The centre of a new input-split domain. */
static int try_centre(bab_run *run, const bab_domain *d, nn_error *err)
{
    if (!set_view(run, d)) return NN_OK;
    size_t n = run->p->n_x;
    for (size_t i = 0; i < n; i++) run->x[i] = run->vbox[2 * n + i] + (run->vbox[3 * n + i] - run->vbox[2 * n + i]) / 2;
    return check_point(run, d, run->x, err);
}

/* A bounded domain's one candidate counterexample: the point where the bound of
 * its worst open row (least clearance, the row of its key) is attained, from
 * points (bound_state.spec_points, the minimizer of the row's linear bound: "the
 * leaf's best point"), moved onto d's inner box; with no points (IBP, LBP) an
 * input half's centre, and nothing for a ReLU domain. One
 * forward pass: a point for every open row cost LeNet's ReLU-phase search a
 * quarter of its domains per second (9 rows), a point besides the centre the
 * ACAS Xu-like 6x[50] input-split search a tenth. A point outside d's split
 * constraints is no less a counterexample. */
static int try_candidate(bab_run *run, const bab_domain *d, const double *points, nn_error *err)
{
    if (!points) return run->relu ? NN_OK : try_centre(run, d, err);
    if (!set_view(run, d)) return NN_OK;
    size_t n = run->p->n_x, worst = (size_t)-1;
    double least = INFINITY;
    for (size_t c = 0; c < run->nc; c++)
        for (size_t w = run->case_row0[c]; d->open[c] && w < run->case_row0[c + 1]; w++) {
            double clearance = run->lower[w] - run->p->rhs[run->row_of[w]];
            if (worst == (size_t)-1 || clearance < least) least = clearance, worst = w;
        }
    if (worst == (size_t)-1) return NN_OK;
    const double *pt = points + worst * n, *ilo = run->vbox + 2 * n, *ihi = run->vbox + 3 * n;
    for (size_t i = 0; i < n; i++) run->x[i] = fmin(fmax(pt[i], ilo[i]), ihi[i]);
    return check_point(run, d, run->x, err);
}

/* A short PGD run towards the worst open disjunct of d, from a random point of its box. */
static int try_pgd(bab_run *run, const bab_domain *d, nn_error *err)
{
    if (!set_view(run, d)) return NN_OK;
    size_t worst = (size_t)-1;
    for (size_t c = 0; c < run->nc; c++) {
        size_t k = run->cases[c], j = run->p->case_conj[k];
        if (!d->open[c]) continue;
        if (worst == (size_t)-1) worst = k;
        if (d->worst_row >= run->p->conj_start[j] && d->worst_row < run->p->conj_start[j + 1]) worst = k;
    }
    if (worst == (size_t)-1) return NN_OK;
    prop_options quick = *run->o;
    quick.steps = run->o->steps / 5 > 0 ? run->o->steps / 5 : 1;
    int found = 0;
    int rc = prop_attack_run(run->m, &run->view, worst, &quick, 1, run->rng, run->x, run->y, &found,
                             &run->r->pgd_steps, err);
    if (rc || !found) return rc;
    /* confirmed against the view's inner box, which lies in the property's */
    run->found = 1, run->found_case = worst;
    memcpy(run->cx, run->x, run->p->n_x * sizeof *run->x);
    memcpy(run->cy, run->y, run->p->n_y * sizeof *run->y);
    return NN_OK;
}

static bab_domain *new_domain(bab_run *run, const bab_domain *parent, nn_error *err)
{
    bab_domain *d = nn_calloc(1, sizeof *d, "branch-and-bound domain", err);
    if (!d) return NULL;
    d->id = run->next_id++;
    d->depth = parent ? parent->depth + 1 : 0;
    d->volume = parent ? parent->volume / 2 : 1.0;
    d->open = nn_malloc(run->nc ? run->nc : 1, "branch-and-bound domain", err);
    if (!d->open) {
        bab_domain_free(d);
        return NULL;
    }
    if (parent) memcpy(d->open, parent->open, run->nc);
    else memset(d->open, 1, run->nc);
    return d;
}

/* Branching candidates, best first: cand (have of them, k at most) takes c
 * where `before` puts it, after the equal ones already there; the last falls
 * out when all k are taken. */
static void top_k_insert(void *cand, size_t size, size_t *have, size_t k, const void *c,
                         int (*before)(const void *, const void *))
{
    unsigned char *base = cand;
    size_t at = *have;
    while (at > 0 && before(c, base + (at - 1) * size)) at--;
    if (at >= k) return;
    size_t last = *have < k ? *have : k - 1;
    memmove(base + (at + 1) * size, base + at * size, (last - at) * size);
    memcpy(base + at * size, c, size);
    if (*have < k) (*have)++;
}

/* Input splits: the inputs of largest influence, |gradient of the worst row at
 * the centre| times width, then by width those where the gradient vanishes:
 * the k best that can be halved (fewer when fewer can), into best. */
typedef struct {
    double score, width;
    size_t dim;
} input_cand;

static int input_cand_before(const void *pa, const void *pb)
{
    const input_cand *a = pa, *b = pb;
    if ((a->score > 0) != (b->score > 0)) return a->score > 0;
    if (a->score > 0) return a->score > b->score;
    return a->width > b->width;
}

static int input_candidates(bab_run *run, const bab_domain *d, input_cand *best, size_t k, size_t *have,
                            nn_error *err)
{
    size_t n = run->p->n_x;
    *have = 0;
    for (size_t i = 0; i < n; i++) run->x[i] = d->lo[i] + (d->hi[i] - d->lo[i]) / 2;
    int rc = forward_vjp(run->m, run->x, run->p->row + d->worst_row * run->p->n_y, NULL, run->g, err);
    for (size_t i = 0; !rc && i < n; i++) {
        double w = d->hi[i] - d->lo[i], mid = d->lo[i] + w / 2;
        if (!(mid > d->lo[i] && mid < d->hi[i])) continue;  /* too narrow to halve */
        input_cand c = {fabs(run->g[i]) * w, w, i};
        top_k_insert(best, sizeof *best, have, k, &c, input_cand_before);
    }
    return rc;
}

/* The lower (side 0) or upper half of d along input dim. */
static int input_child(bab_run *run, const bab_domain *d, size_t dim, int side, bab_domain **out, nn_error *err)
{
    size_t n = run->p->n_x;
    bab_domain *k = *out = new_domain(run, d, err);
    if (!k) return NN_ENOMEM;
    k->lo = nn_malloc(n * sizeof *k->lo, "sub-box", err);
    k->hi = nn_malloc(n * sizeof *k->hi, "sub-box", err);
    if (!k->lo || !k->hi) return NN_ENOMEM;
    memcpy(k->lo, d->lo, n * sizeof *k->lo), memcpy(k->hi, d->hi, n * sizeof *k->hi);
    double mid = d->lo[dim] + (d->hi[dim] - d->lo[dim]) / 2;
    if (side == 0) k->hi[dim] = mid;
    else k->lo[dim] = mid;
    return NN_OK;
}

typedef struct {
    double score;
    int layer;
    uint32_t neuron;
} relu_cand;

static int relu_cand_before(const void *a, const void *b)
{
    return ((const relu_cand *)a)->score > ((const relu_cand *)b)->score;
}

/* The unstable ReLU-like neurons of d with the widest relaxations: the triangle's
 * largest gap -l u / (u - l), times 1 - alpha for leaky ReLU; earlier layers and
 * rows win ties. */
static size_t relu_candidates(const bab_run *run, const bab_domain *d, relu_cand *best, size_t k)
{
    size_t have = 0;
    for (int i = 0; i < run->m->n_layers; i++) {
        const nn_layer *L = &run->m->layers[i];
        if (!run->st.pre_lower[i] || (L->type != LAYER_RELU && L->type != LAYER_LEAKY_RELU)) continue;
        double slope = L->type == LAYER_LEAKY_RELU ? fabs(1.0 - L->alpha) : 1.0;
        const double *lo = d->pre + run->pre_off[i], *hi = d->pre + run->pre_n + run->pre_off[i];
        size_t ni = shape_size(L->in);
        for (size_t r = 0; r < ni; r++) {
            if (!(lo[r] < 0 && hi[r] > 0)) continue;
            relu_cand c = {slope * (-lo[r] * hi[r] / (hi[r] - lo[r])), i, (uint32_t)r};
            top_k_insert(best, sizeof *best, &have, k, &c, relu_cand_before);
        }
    }
    return have;
}

static int relu_child(bab_run *run, const bab_domain *d, relu_cand c, signed char phase, bab_domain **out,
                      nn_error *err)
{
    bab_domain *k = *out = new_domain(run, d, err);
    if (!k) return NN_ENOMEM;
    k->volume = NAN;
    k->n_splits = d->n_splits + 1;
    k->splits = nn_malloc(k->n_splits * sizeof *k->splits, "split constraints", err);
    if (!k->splits) return NN_ENOMEM;
    if (d->n_splits) memcpy(k->splits, d->splits, d->n_splits * sizeof *k->splits);
    k->splits[d->n_splits] = (bab_split_rec){c.layer, c.neuron, phase};
    return NN_OK;
}

/* A job of a round: bound one child, or hand a domain that cannot be split to
 * its LP. Jobs are what a round spreads over processes (bab_options.exec). */
typedef struct {
    bab_domain *dom;          /* the child, or the domain for its LP */
    const bab_domain *parent; /* the domain split */
    int keep;                 /* ReLU children: layers taken from the parent */
    int lp;                   /* 1: lp_leaf on dom */
} bab_job;

/* A job's result, as doubles: a header, then open[nc], the counterexample x[n_x]
 * and y[n_y], for ReLU splits the domain's bounds pre[2 pre_n], then its warm
 * start warm[warm_n]. */
enum { R_STATUS, R_KEY, R_WORST, R_DOMAINS, R_FOUND, R_CASE, R_MARGIN, R_ID, R_HEAD };
enum { S_BOUNDED, S_EMPTY, S_LP_PROVEN, S_LP_OPEN };

static size_t row_width(const bab_run *run)
{
    return R_HEAD + run->nc + run->p->n_x + run->p->n_y + (run->carry_pre ? 2 * run->pre_n : 0) + run->warm_n;
}

typedef struct {
    bab_run *run;
    bab_job *jobs;
    size_t n;               /* jobs in the round */
    size_t unit;            /* jobs per item handed out */
} job_ctx;

/* The domains of jobs [lo, hi) (one unit, which holds no LP job: run_jobs sends
 * those apart) bounded as one batch: job lo + k by bst[k], its spec rows' lower
 * bounds into batch_lower + k n_rows. An input half is its
 * own region; a ReLU-phase child is the box's region under its splits, with its
 * parent's bounds and kept layers, as sub_bounds gives them to one state. */
static int batch_bound(bab_run *run, const bab_job *jobs, size_t lo, size_t hi, nn_error *err)
{
    size_t nl = (size_t)run->m->n_layers, n = hi - lo;
    for (size_t b = 0; b < n; b++) {
        const bab_job *job = &jobs[lo + b];
        const bab_domain *d = job->dom, *parent = job->parent;
        int rc;
        bound_state *st = &run->bst[b];
        if (b == run->n_bst) {
            bound_options o = run->relu ? run->o->bopt : half_options(run);
            if ((rc = bound_state_init(st, run->m, &o, err))) return rc;
            run->n_bst++;
            st->outputs_unused = 1;
            st->spec_points = run->bpoints + b * run->n_rows * run->p->n_x;
            if (run->relu && (rc = bound_set_region(st, &run->reg.region, err))) return rc;
        }
        run->bptr[b] = st;
        double **l = run->bprior + 2 * b * nl, **u = l + nl;
        if (run->relu) {
            sub_setup(run, &run->bsub[b], run->bphase + b * nl, l, u, d, parent ? parent->pre : NULL,
                      parent ? job->keep : 0);
            st->sub = &run->bsub[b];
            bound_forget_warm(st); /* as bound_domain: FROWN starts from CROWN's lines */
            continue;
        }
        if (run->have_bhalf[b]) prop_region_free(&run->bhalf[b]);
        run->have_bhalf[b] = 0;
        if ((rc = prop_region_make(run->m, d->lo, d->hi, &run->bhalf[b], err))) return rc;
        run->have_bhalf[b] = 1;
        /* as bound_domain: a half's numbers are its own and its ancestors' */
        bound_forget_warm(st);
        if ((rc = bound_set_region(st, &run->bhalf[b].region, err))) return rc;
        if (parent && parent->warm &&
            (rc = bound_spec_warm_seed(st, run->C, run->n_rows, run->p->n_y, NULL, parent->warm, err)))
            return rc;
        if (parent && parent->pre) {
            set_prior(run, parent->pre, l, u);
            run->bsub[b] = (bound_subdomain){.prior_lower = l, .prior_upper = u};
            st->sub = &run->bsub[b];
        }
    }
    int rc = bound_batch_run(&run->batch, run->bptr, n, run->C, run->n_rows, run->p->n_y, run->batch_lower, err);
    for (size_t b = 0; b < n; b++) {
        run->bst[b].sub = NULL;
        if (run->relu) put_splits(run->bphase + b * nl, jobs[lo + b].dom, 0);
    }
    return rc;
}

/* Jobs [lo, hi) into out[(hi - lo) x width]: what each one's domain is, and a
 * counterexample met on the way (a domain's bound minimizer or an input half's
 * centre, an LP leaf's point). */
static int jobs_run(void *ctx, size_t lo, size_t hi, double *out, nn_error *err)
{
    job_ctx *jc = ctx;
    bab_run *run = jc->run;
    size_t w = row_width(run), nx = run->p->n_x, ny = run->p->n_y;
    for (size_t j = lo; j < hi; j++) {
        bab_job *job = &jc->jobs[j];
        bab_domain *d = job->dom;
        double *row = out + (j - lo) * w;
        int empty = 0, proven = 0, rc;
        /* lo is an item's first job: a batch starts at every unit (an item of
         * more than one job; LP jobs go one per item) */
        if (jc->unit > 1 && (j - lo) % run->unit == 0 &&
            (rc = batch_bound(run, jc->jobs, j, j + run->unit < hi ? j + run->unit : hi, err)))
            return rc;
        memset(row, 0, w * sizeof *row);
        run->job_domains = 0, run->found = 0, run->job_margin = INFINITY;
        if (job->lp) {
            rc = lp_leaf(run, d, &proven, err);
        } else if (run->batched) {
            size_t b = (j - lo) % run->unit;
            run->job_domains++;
            if (run->bst[b].infeasible) { /* as bound_domain */
                empty = 1;
                set_empty(run, d);
            } else {
                memcpy(run->lower, run->batch_lower + b * run->n_rows, run->n_rows * sizeof *run->lower);
                rc = evaluate(run, d) ? try_candidate(run, d, run->bpoints + b * run->n_rows * nx, err) : NN_OK;
                if (!rc && run->carry_pre && is_open(run, d)) rc = keep_bounds(run, d, &run->bst[b], err);
            }
        } else {
            rc = bound_domain(run, d, job->parent, job->keep, &empty, err);
            if (!rc && is_open(run, d))
                rc = try_candidate(run, d, bound_spec_has_points(run->st.opt.method) ? run->points : NULL, err);
        }
        if (rc) return rc;
        row[R_STATUS] = empty ? S_EMPTY : !job->lp ? S_BOUNDED : proven ? S_LP_PROVEN : S_LP_OPEN;
        row[R_KEY] = d->key;
        row[R_ID] = (double)d->id;
        row[R_WORST] = d->worst_row == (size_t)-1 ? -1.0 : (double)d->worst_row;
        row[R_DOMAINS] = (double)run->job_domains;
        row[R_FOUND] = run->found;
        row[R_CASE] = (double)run->found_case;
        row[R_MARGIN] = run->job_margin;
        double *at = row + R_HEAD;
        for (size_t c = 0; c < run->nc; c++) at[c] = d->open[c];
        at += run->nc;
        if (run->found) memcpy(at, run->cx, nx * sizeof *at), memcpy(at + nx, run->cy, ny * sizeof *at);
        at += nx + ny;
        if (run->carry_pre && d->pre && !job->lp) memcpy(at, d->pre, 2 * run->pre_n * sizeof *at);
        at += run->carry_pre ? 2 * run->pre_n : 0;
        if (run->warm_n && is_open(run, d)) {  /* input halves: never an LP job, never empty */
            const bound_state *by = run->batched ? &run->bst[(j - lo) % run->unit] : &run->st;
            if ((rc = bound_spec_warm_get(by, run->C, run->n_rows, run->p->n_y, NULL, run->warm, err)))
                return rc;
            for (size_t k = 0; k < run->warm_n; k++) at[k] = run->warm[k];
        }
        run->found = 0;
    }
    return NN_OK;
}

/* A job's row into its domain, on every process alike; counters and the first
 * counterexample (in job order) into run. */
static int job_read(bab_run *run, const bab_job *job, const double *row, nn_error *err)
{
    bab_domain *d = job->dom;
    size_t nx = run->p->n_x, ny = run->p->n_y;
    /* a row read into another domain would prove what it never bounded: the
     * rows travel between processes and, in batches, out of job order */
    if (row[R_ID] != (double)d->id)
        return nn_fail(err, NN_EARG, "branch and bound: the result for domain %.0f came back as domain %llu's",
                       row[R_ID], (unsigned long long)d->id);
    d->key = row[R_KEY];
    d->worst_row = row[R_WORST] < 0 ? (size_t)-1 : (size_t)row[R_WORST];
    const double *at = row + R_HEAD;
    for (size_t c = 0; c < run->nc; c++) d->open[c] = at[c] != 0;
    at += run->nc;
    if (row[R_FOUND] != 0 && !run->found) {
        run->found = 1, run->found_case = (size_t)row[R_CASE];
        memcpy(run->cx, at, nx * sizeof *at), memcpy(run->cy, at + nx, ny * sizeof *at);
    }
    at += nx + ny;
    run->r->bab.domains += (long)row[R_DOMAINS];
    if (run->carry_pre && !job->lp && is_open(run, d)) {
        if (!d->pre && !(d->pre = nn_malloc(2 * run->pre_n * sizeof *d->pre, "domain bounds", err))) return NN_ENOMEM;
        memcpy(d->pre, at, 2 * run->pre_n * sizeof *at);
    }
    at += run->carry_pre ? 2 * run->pre_n : 0;
    if (run->warm_n && is_open(run, d)) {
        if (!d->warm && !(d->warm = nn_malloc(run->warm_n * sizeof *d->warm, "warm start", err))) return NN_ENOMEM;
        for (size_t k = 0; k < run->warm_n; k++) d->warm[k] = (float)at[k];
    }
    return NN_OK;
}

/* What a round does with one popped domain: jobs [first, first + 2 pairs) are its
 * children, pair c the two sides of candidate c; or one LP job; or nothing (it
 * cannot be split: stuck). */
typedef struct {
    size_t first, pairs;
    int lp;
} bab_plan;

static int plan_domain(bab_run *run, bab_domain *d, bab_plan *plan, bab_job **jobs, size_t *n_jobs, size_t *cap,
                       nn_error *err)
{
    size_t k = run->o->bab.candidates ? run->o->bab.candidates : 1;
    size_t need = *n_jobs + 2 * k;
    if (need > *cap) {
        size_t c = 2 * need;
        bab_job *grown = realloc(*jobs, c * sizeof *grown);
        if (!grown) return nn_fail(err, NN_ENOMEM, "out of memory for %zu branch-and-bound jobs", c);
        *jobs = grown, *cap = c;
    }
    plan->first = *n_jobs, plan->pairs = 0, plan->lp = 0;
    bab_job *J = *jobs;
    void *cand = nn_malloc(k * (run->relu ? sizeof(relu_cand) : sizeof(input_cand)), "branching candidates", err);
    if (!cand) return NN_ENOMEM;
    relu_cand *relu_c = cand;
    input_cand *input_c = cand;
    size_t nc = 0;
    int rc = NN_OK;
    if (run->relu) nc = relu_candidates(run, d, relu_c, k);
    else rc = input_candidates(run, d, input_c, k, &nc, err);
    if (!rc && run->relu && nc == 0) {  /* every ReLU fixed: the domain's LP */
        J[(*n_jobs)++] = (bab_job){d, NULL, 0, 1};
        plan->lp = 1;
    }
    for (size_t c = 0; c < nc && !rc; c++)
        for (int s = 0; s < 2 && !rc; s++) {
            bab_domain *kid = NULL;
            rc = run->relu ? relu_child(run, d, relu_c[c], s == 0 ? -1 : 1, &kid, err)
                           : input_child(run, d, input_c[c].dim, s, &kid, err);
            if (rc) bab_domain_free(kid);
            else if (run->relu) J[(*n_jobs)++] = (bab_job){kid, d, relu_c[c].layer + 1, 0};
            else J[(*n_jobs)++] = (bab_job){kid, d, 0, 0};
        }
    if (rc) {  /* the children made so far go with the failure */
        for (size_t j = plan->first; j < *n_jobs; j++) bab_domain_free(J[j].dom);
        *n_jobs = plan->first;
    } else {
        plan->pairs = nc;
    }
    free(cand);
    return rc;
}

/* Of a domain's candidate pairs of children, is pair a (a[0], a[1]) to be kept
 * rather than pair b? The pair with more proven (or empty) children, key +inf;
 * then for ReLU phases the pair whose worse child is best (FSB), for input
 * halves the larger sum of the open children's keys; ties keep the earlier
 * candidate. The worse child alone ignores a proven child: with input halves,
 * on the ACAS Xu-like 2x[12] net's property 1, it kept splitting near one
 * point (depth 152, half the volume open at the 200,000-domain limit) where
 * this rule proves it in 137 domains; with ReLU phases proven children first
 * took 385 and 2,393 domains where it took 569 and 3,057 (doc/bab.md
 * "Branching"). */
static int pair_beats(const bab_run *run, const bab_job *a, const bab_job *b)
{
    double ka[2] = {a[0].dom->key, a[1].dom->key}, kb[2] = {b[0].dom->key, b[1].dom->key};
    int pa = (ka[0] == INFINITY) + (ka[1] == INFINITY), pb = (kb[0] == INFINITY) + (kb[1] == INFINITY);
    if (pa != pb) return pa > pb;
    if (run->relu) return fmin(ka[0], ka[1]) > fmin(kb[0], kb[1]);
    double sa = 0, sb = 0;
    for (int s = 0; s < 2; s++) {
        if (ka[s] != INFINITY) sa += ka[s];
        if (kb[s] != INFINITY) sb += kb[s];
    }
    return sa > sb;
}

/* Items [lo, hi) of a round's jobs: jobs [lo unit, hi unit) as far as there
 * are jobs, the rows past the last job zero. */
static int units_run(void *ctx, size_t lo, size_t hi, double *out, nn_error *err)
{
    job_ctx *jc = ctx;
    size_t U = jc->unit, w = row_width(jc->run), a = lo * U, b = hi * U < jc->n ? hi * U : jc->n;
    memset(out + (b - a) * w, 0, ((hi - lo) * U - (b - a)) * w * sizeof *out);
    return jobs_run(ctx, a, b, out, err);
}

/* Rows for n jobs padded to whole units. */
static size_t padded_jobs(const bab_run *run, size_t n) { return (n + run->unit - 1) / run->unit * run->unit; }

/* Jobs [0, n) here or through the executor, in items of unit jobs; out holds
 * n rounded up to whole items of rows. */
static int run_items(bab_run *run, bab_job *jobs, size_t n, size_t unit, double *out, nn_error *err)
{
    job_ctx jc = {run, jobs, n, unit};
    const bab_options *b = &run->o->bab;
    size_t items = (n + unit - 1) / unit;
    if (!b->exec) return units_run(&jc, 0, items, out, err);
    return b->exec(b->exec_ctx, items, unit * row_width(run), units_run, &jc, out, err);
}

/* Every job of a round, in units of run->unit jobs; out holds padded_jobs(n)
 * rows, in job order. In batches, the round's LP jobs (each worth tens of
 * bounded domains) go out one per item after the units of the others: inside a
 * unit they made it the round's slowest by far, and a group's other members
 * waited for it (doc/bab.md "Over MPI"). The split is the round's, so which
 * domains share a batch, and the tree, are still the job's. */
static int run_jobs(bab_run *run, bab_job *jobs, size_t n, double *out, nn_error *err)
{
    size_t n_lp = 0, w = row_width(run);
    for (size_t j = 0; j < n; j++) n_lp += jobs[j].lp != 0;
    if (run->unit == 1 || n_lp == 0) return run_items(run, jobs, n, run->unit, out, err);
    size_t nb = n - n_lp, rows_b = padded_jobs(run, nb);
    bab_job *order = nn_malloc(n * sizeof *order, "branch-and-bound round", err);
    size_t *at = nn_malloc(n * sizeof *at, "branch-and-bound round", err);
    double *tmp = nn_malloc((rows_b + n_lp) * w * sizeof *tmp, "branch-and-bound round", err);
    int rc = order && at && tmp ? NN_OK : NN_ENOMEM;
    for (size_t j = 0, q = 0, l = nb; !rc && j < n; j++) {
        size_t k = jobs[j].lp ? l++ : q++;
        order[k] = jobs[j], at[k] = j;
    }
    if (!rc && nb) rc = run_items(run, order, nb, run->unit, tmp, err);
    if (!rc) rc = run_items(run, order + nb, n_lp, 1, tmp + rows_b * w, err);
    for (size_t k = 0; !rc && k < n; k++)
        memcpy(out + at[k] * w, tmp + (k < nb ? k : rows_b + k - nb) * w, w * sizeof *out);
    free(order), free(at), free(tmp);
    return rc;
}

/* Branch and bound over box b (doc/bab.md). On return proven[k] = 1 for the
 * disjuncts of box b when every leaf was proven; a confirmed counterexample sets
 * r->answer = PROP_SAT and *decided; the clock running out PROP_TIMEOUT and *decided;
 * the domain limit or domains that cannot be split leave the answer as it is.
 * Every process of an executor's group runs this same loop on the same data and
 * reaches the same decisions; only the jobs are divided. */
/* The snapshot of a verification between two rounds of box b's search: the
 * verification's place (proven disjuncts, generator, counters) and f's domains. */
static int save_snapshot(const bab_run *run, const bab_frontier *f, const unsigned char *proven, uint64_t rng,
                         long stuck, double volume, prop_progress *pg, nn_error *err)
{
    const prop_result *r = run->r;
    double t0 = nn_wall_seconds();
    bab_snapshot s = {
        .box = run->b, .rng = rng, .elapsed = pg->elapsed0 + (t0 - pg->t0), .n_cases = run->p->n_cases,
        .proven = (unsigned char *)proven, .boxes_proven = r->boxes_proven,
        .pgd_steps = r->pgd_steps, .bab = r->bab, .relu = run->relu, .nc = run->nc, .n_x = run->p->n_x,
        .pre_n = run->pre_n, .next_id = run->next_id, .stuck = stuck, .volume = volume,
        .depth_first = f->depth_first, .warm_n = run->warm_n, .n_domains = f->n, .dom = f->item};
    unsigned char *bytes;
    size_t len;
    int rc = bab_snapshot_encode(&s, &bytes, &len, err);
    if (rc) return rc;
    const bab_options *b = &run->o->bab;
    rc = b->save(b->save_ctx, bytes, len, err);
    free(bytes);
    run->r->bab.snapshots++;
    /* writing a large frontier takes time: at most a tenth of the search's,
     * unless every round was asked for */
    double now = nn_wall_seconds();
    pg->next_save = b->save_every > 0 ? now + fmax(b->save_every, 9.0 * (now - t0)) : now;
    return rc;
}

/* Box b's search as pg->resume left it: its domains into f (checked against the
 * property and the model: a checkpoint is outside data; f NULL on a process
 * that holds no frontier: checked, then dropped), its counters into run. */
static int resume_snapshot(bab_run *run, bab_frontier *f, long *stuck, double *volume, prop_progress *pg,
                           nn_error *err)
{
    bab_snapshot *s = pg->resume;
    /* input halves from before they kept their bounds (pre_n 0) resume without them */
    if (s->relu != run->relu || s->nc != run->nc || s->n_x != run->p->n_x ||
        (s->pre_n != run->pre_n && (run->relu || s->pre_n)))
        return nn_fail(err, NN_EFORMAT, "branch-and-bound checkpoint: it searched box %zu by %s with %zu disjuncts, "
                       "%zu inputs and %zu bounds; this property and model give %s, %zu, %zu and %zu", s->box,
                       s->relu ? "ReLU phases" : "input halves", s->nc, s->n_x, s->pre_n,
                       run->relu ? "ReLU phases" : "input halves", run->nc, run->p->n_x, run->pre_n);
    if (s->warm_n && s->warm_n != run->warm_n)
        return nn_fail(err, NN_EFORMAT, "branch-and-bound checkpoint: its domains carry warm starts of %zu values; "
                       "this property and model give %zu", s->warm_n, run->warm_n);
    for (size_t i = 0; i < s->n_domains; i++) {
        const bab_domain *d = s->dom[i];
        for (size_t k = 0; run->relu && k < d->n_splits; k++) {
            bab_split_rec sp = d->splits[k];
            const nn_layer *L = sp.layer < run->m->n_layers ? &run->m->layers[sp.layer] : NULL;
            if (!L || !run->st.pre_lower[sp.layer] || (L->type != LAYER_RELU && L->type != LAYER_LEAKY_RELU) ||
                sp.neuron >= shape_size(L->in))
                return nn_fail(err, NN_EFORMAT, "branch-and-bound checkpoint: domain %llu splits neuron %u of layer "
                               "%d, which the model has no ReLU for", (unsigned long long)d->id,
                               (unsigned)sp.neuron, sp.layer);
        }
        if (d->worst_row != (size_t)-1 && d->worst_row >= run->p->n_rows)
            return nn_fail(err, NN_EFORMAT, "branch-and-bound checkpoint: domain %llu names row %zu of %zu",
                           (unsigned long long)d->id, d->worst_row, run->p->n_rows);
    }
    if (f) bab_frontier_set_depth_first(f, s->depth_first);
    int rc = NN_OK;
    for (size_t i = 0; i < s->n_domains; i++) {
        bab_domain *d = s->dom[i];
        s->dom[i] = NULL;  /* the frontier owns it, even when the push fails */
        if (!rc && f) rc = bab_frontier_push(f, d, err);
        else bab_domain_free(d);
    }
    run->next_id = s->next_id;
    *stuck = s->stuck, *volume = s->volume;
    run->r->bab.resumed_open = (long)s->n_domains;
    return rc;
}

/* A round's popped domains from the process that holds the frontier to every
 * process of the group (bab_options.share), as a snapshot of just those
 * domains: the others plan and bound their own copies, exactly as the holder
 * does, so only the frontier itself lives on one process. */
static int share_round(bab_run *run, int holder, const unsigned char *proven, bab_domain **popped, size_t *taken,
                       size_t batch, nn_error *err)
{
    const bab_options *b = &run->o->bab;
    unsigned char *bytes = NULL;
    size_t len = 0;
    int rc = NN_OK;
    if (holder) {
        bab_snapshot s = {.n_cases = run->p->n_cases, .proven = (unsigned char *)proven, .relu = run->relu,
                          .nc = run->nc, .n_x = run->p->n_x, .pre_n = run->pre_n, .next_id = run->next_id,
                          .warm_n = run->warm_n,
                          .n_domains = *taken, .dom = popped};
        rc = bab_snapshot_encode(&s, &bytes, &len, err);
    }
    rc = b->share(b->share_ctx, rc, &bytes, &len, err);
    if (!rc && !holder) {
        bab_snapshot s;
        if (!(rc = bab_snapshot_decode(bytes, len, &s, err))) {
            if (s.n_domains > batch)
                rc = nn_fail(err, NN_EFORMAT, "branch and bound: the frontier's holder shared %zu domains for a "
                             "round of %zu", s.n_domains, batch);
            for (size_t i = 0; !rc && i < s.n_domains; i++) popped[i] = s.dom[i], s.dom[i] = NULL;
            if (!rc) *taken = s.n_domains;
            bab_snapshot_free(&s);
        }
    }
    free(bytes);
    return rc;
}

int prop_bab_box(const nn_model *m, const prop_spec *p, size_t b, const prop_options *o, double deadline,
                 uint64_t *rng, unsigned char *proven, prop_result *r, prop_progress *pg, int *decided, nn_error *err)
{
    bab_run run;
    memset(&run, 0, sizeof run);
    forward_workspace_init(&run.fw);
    run.m = m, run.p = p, run.b = b, run.o = o, run.rng = rng, run.r = r;
    pick_mode(&run, o->bab.split, &run.relu);
    *(run.relu ? &r->bab.used_relu : &r->bab.used_input) = 1;
    if (run.relu && !has_relu(m))
        return nn_fail(err, NN_EUNSUPPORTED, "branch and bound by ReLU splits: the model has no ReLU or leaky ReLU "
                       "layer to split (split the input instead)");
    bab_frontier f;
    bab_frontier_init(&f);
    /* With a share hook only the holder keeps the domains; every process keeps
     * their count, which the same pushes and pops give everywhere. */
    int holder = !o->bab.share || o->bab.holder;
    size_t open_n = 0, peak = 0;
    bab_job *jobs = NULL;
    size_t cap = 0, batch = o->bab.batch ? o->bab.batch : 1;
    double *rows = NULL, volume = 0.0;
    long stuck = 0;
    bab_domain **popped = NULL;
    bab_plan *plans = NULL;
    bab_domain *root = NULL;
    int rc = run_init(&run, err);
    if (!rc && (!(popped = nn_malloc(batch * sizeof *popped, "branch-and-bound batch", err)) ||
                !(plans = nn_malloc(batch * sizeof *plans, "branch-and-bound batch", err))))
        rc = NN_ENOMEM;
    if (!rc && !(jobs = nn_malloc(sizeof *jobs, "branch-and-bound jobs", err))) rc = NN_ENOMEM;
    if (!rc) cap = 1;
    if (!rc && !(rows = nn_malloc(padded_jobs(&run, 1) * row_width(&run) * sizeof *rows, "branch-and-bound results",
                                  err)))
        rc = NN_ENOMEM;
    int resuming = !rc && pg && pg->resume && pg->resume->box == b;
    if (resuming) {
        open_n = pg->resume->n_domains;
        rc = resume_snapshot(&run, holder ? &f : NULL, &stuck, &volume, pg, err);
        pg->resume = NULL;  /* its domains are the frontier's now */
    }
    if (!rc && !resuming && !(root = new_domain(&run, NULL, err))) rc = NN_ENOMEM;
    if (!rc && !resuming && !run.relu) {
        size_t n = p->n_x;
        root->lo = nn_malloc(n * sizeof *root->lo, "sub-box", err);
        root->hi = nn_malloc(n * sizeof *root->hi, "sub-box", err);
        if (!root->lo || !root->hi) rc = NN_ENOMEM;
        else memcpy(root->lo, p->lo + b * n, n * sizeof *root->lo), memcpy(root->hi, p->hi + b * n, n * sizeof *root->hi);
    }
    /* the root, as a round of one job (the same on every process) */
    if (!resuming) {
        if (!rc) jobs[0] = (bab_job){root, NULL, 0, 0};
        if (!rc) rc = run_jobs(&run, jobs, 1, rows, err);
        if (!rc) rc = job_read(&run, &jobs[0], rows, err);
        if (!rc) r->bab.proven_margin = fmin(r->bab.proven_margin, rows[R_MARGIN]);
        if (!rc && !is_open(&run, root)) {
            volume = 1.0, r->bab.leaves_proven++, r->bab.leaves_empty += rows[R_STATUS] == S_EMPTY;
            bab_domain_free(root);
        } else if (!rc) {
            open_n = 1;
            if (holder) rc = bab_frontier_push(&f, root, err);
            else bab_domain_free(root);
        } else {
            bab_domain_free(root);
        }
    }
    while (!rc && !run.found && open_n) {
        if (prop_late(o, deadline)) {
            r->answer = PROP_TIMEOUT, *decided = 1;
            /* where a rerun with more time continues (none where the timeout is final) */
            if (o->bab.save && pg && holder && !o->bab.timeout_final)
                rc = save_snapshot(&run, &f, proven, *rng, stuck, volume, pg, err);
            break;
        }
        if (o->bab.max_domains > 0 && r->bab.domains >= o->bab.max_domains) break;
        double t0 = nn_wall_seconds();
        r->bab.rounds++;
        size_t taken = 0, n_jobs = 0;
        while (holder && taken < batch && f.n) popped[taken++] = bab_frontier_pop(&f);
        if (o->bab.share) rc = share_round(&run, holder, proven, popped, &taken, batch, err);
        if (!rc && !taken) rc = nn_fail(err, NN_EARG, "branch and bound: a round of no domains with %zu open", open_n);
        /* what this process holds now: the frontier as the last round left it */
        if (holder ? f.n + taken > peak : taken > peak) peak = holder ? f.n + taken : taken;
        /* a PGD run on the worst domain (the first popped): counterexamples near
         * the bound's weak spot */
        double tp = nn_wall_seconds();
        if (!rc) rc = try_pgd(&run, popped[0], err);
        double t1 = nn_wall_seconds();
        r->bab.sec_pgd += t1 - tp;
        if (rc || run.found) {  /* the popped domains stay counted as open */
            for (size_t t = 0; t < taken; t++) bab_domain_free(popped[t]);
            r->bab.sec_plan += tp - t0;
            break;
        }
        open_n -= taken;
        memset(plans, 0, taken * sizeof *plans);  /* a failure leaves the rest unplanned: no children */
        for (size_t t = 0; !rc && t < taken; t++) rc = plan_domain(&run, popped[t], &plans[t], &jobs, &n_jobs, &cap, err);
        size_t w = row_width(&run);
        double *grown = rc || !n_jobs ? rows : realloc(rows, padded_jobs(&run, n_jobs) * w * sizeof *rows);
        if (!grown) rc = nn_fail(err, NN_ENOMEM, "out of memory for %zu branch-and-bound results", n_jobs);
        else rows = grown;
        double t2 = nn_wall_seconds();
        if (!rc && n_jobs) rc = run_jobs(&run, jobs, n_jobs, rows, err);
        double t3 = nn_wall_seconds();
        r->bab.sec_plan += (tp - t0) + (t2 - t1), r->bab.sec_jobs += t3 - t2;
        for (size_t j = 0; !rc && j < n_jobs; j++) rc = job_read(&run, &jobs[j], rows + j * w, err);
        /* the kept children enter the frontier in the order they were made */
        for (size_t t = 0; t < taken; t++) {
            bab_plan *pl = &plans[t];
            bab_job *J = jobs + pl->first;
            if (!rc && pl->lp) {
                int st = (int)rows[pl->first * w + R_STATUS];
                r->bab.proven_margin = fmin(r->bab.proven_margin, rows[pl->first * w + R_MARGIN]);
                if (st == S_LP_PROVEN) r->bab.leaves_proven++;
                else stuck++;
            } else if (!rc && pl->pairs == 0) {
                stuck++;  /* nothing left to split: stays open, out of the frontier */
            }
            size_t best = 0;
            for (size_t c = 1; c < pl->pairs; c++)
                if (pair_beats(&run, J + 2 * c, J + 2 * best)) best = c;
            for (size_t c = 0; c < pl->pairs; c++)
                for (int s = 0; s < 2; s++) {
                    bab_domain *k = J[2 * c + s].dom;
                    if (!rc && c == best)  /* the tree's own rule-outs, not the candidates' */
                        r->bab.proven_margin = fmin(r->bab.proven_margin, rows[(pl->first + 2 * c + s) * w + R_MARGIN]);
                    if (rc || c != best) {
                        bab_domain_free(k);
                    } else if (!is_open(&run, k)) {
                        r->bab.leaves_proven++;
                        r->bab.leaves_empty += rows[(pl->first + 2 * c + s) * w + R_STATUS] == S_EMPTY;
                        if (!run.relu) volume += k->volume;
                        bab_domain_free(k);
                    } else {
                        if (k->depth > r->bab.depth) r->bab.depth = k->depth;
                        open_n++;
                        if (holder) rc = bab_frontier_push(&f, k, err);
                        else bab_domain_free(k);
                    }
                }
            bab_domain_free(popped[t]);
        }
        if (f.n > o->bab.max_frontier) bab_frontier_set_depth_first(&f, 1);  /* the holder's order */
        else if (f.n <= o->bab.max_frontier / 2) bab_frontier_set_depth_first(&f, 0);
        r->bab.sec_merge += nn_wall_seconds() - t3;
        /* the holder's own clock (no collective): saving decides nothing */
        double now = nn_wall_seconds();
        if (!rc && o->bab.save && pg && holder && f.n && !run.found && now >= pg->next_save &&
            !(o->bab.timeout_final && now > deadline))
            rc = save_snapshot(&run, &f, proven, *rng, stuck, volume, pg, err);
    }
    if (!rc && !run.found && !open_n && !stuck && !(*decided)) {
        for (size_t c = 0; c < run.nc; c++) proven[run.cases[c]] = 1;
        volume = 1.0;
    }
    if (!rc && run.found) {
        r->answer = PROP_SAT, r->sat_case = run.found_case, *decided = 1;
        memcpy(r->x, run.cx, p->n_x * sizeof *r->x);
        memcpy(r->y, run.cy, p->n_y * sizeof *r->y);
    }
    r->bab.open += (long)open_n + stuck;
    if (f.n > peak) peak = f.n;  /* as the last round left it */
    if ((long)peak > r->bab.frontier_peak) r->bab.frontier_peak = (long)peak;
    r->bab.stuck += stuck;
    r->bab.volume_proven += run.relu && volume < 1.0 ? NAN : volume;
    bab_frontier_free(&f);
    free(jobs), free(rows), free(popped), free(plans);
    run_free(&run);
    return rc;
}
