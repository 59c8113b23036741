/* MILP (doc/lp.md "MILP"): the LP of bound_lp_build.c plus a binary per unstable
 * ReLU / leaky ReLU neuron and per candidate input of each MaxPool window, big-M
 * constants from the committed bounds (LP-ALL's, the tightest the engine has):
 *   leaky ReLU (alpha in [0, 1]; ReLU alpha = 0), l < 0 < u, binary d (1: z >= 0):
 *     a <= alpha z + ku d          ku >= (1 - alpha) u   (rounded up)
 *     a <= z - kl (1 - d)          kl <= (1 - alpha) l   (rounded down)
 *     with the LP's a >= z, a >= alpha z these pin a to the active piece
 *   MaxPool window, candidates s (u_s >= max_k l_k), binaries d_s, sum d_s = 1:
 *     y <= x_s + M_s (1 - d_s)     M_s >= max_k u_k - l_s (rounded up)
 * Every constraint holds for the real network with d the true phases, so the MILP
 * minimum is <= the true minimum of the row over the region.
 *
 * What is trusted (doc/lp.md "What is trusted"): Cbc's best bound after its
 * branch and bound, which the C interface does not let us re-check node by node;
 * it is used only where it beats the safe LP bound already in lower[], and
 * reported as proven only when Cbc proves optimality. The incumbent is never
 * trusted: its input is moved into the region and the row is evaluated there by
 * the exact forward pass, which gives a real upper bound on the row's minimum. */
#include "bound_milp.h"
#include "bound_lp.h"
#include "bound_lp_build.h"
#include "bound_lp_safe.h"
#include "forward.h"

#include <coin/Cbc_C_Interface.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Guard subtracted from Cbc's best bound: its default integrality and feasibility
 * tolerances (1e-6, 1e-7) times the row's scale, not a proof (doc/lp.md). */
#define MILP_GUARD 1e-6

struct bound_milp {
    size_t rows, cap;
    bound_milp_row *row;
    double *point; /* rows x n_in */
};

void bound_milp_free(bound_work *w)
{
    if (!w->milp) return;
    free(w->milp->row);
    free(w->milp->point);
    free(w->milp);
    w->milp = NULL;
}

static double up(double v) { return nextafter(v + fabs(v) * 4 * UNIT_ROUNDOFF_D, INFINITY); }
static double down(double v) { return nextafter(v - fabs(v) * 4 * UNIT_ROUNDOFF_D, -INFINITY); }

/* The binaries and big-M rows; *bin gets the indices of the binary columns. */
static int add_binaries(const bound_state *st, bound_lp *P, int **bin, int *nb, nn_error *err)
{
    const nn_model *m = st->model;
    int cap = 0;
    *nb = 0;
    *bin = NULL;
    for (int i = 0; i < m->n_layers && !P->failed; i++) {
        const nn_layer *L = &m->layers[i];
        const double *l = st->pre_lower[i], *u = st->pre_upper[i];
        size_t n = shape_size(L->in);
        if (L->type == LAYER_RELU || L->type == LAYER_LEAKY_RELU) {
            double alpha = L->type == LAYER_RELU ? 0.0 : L->alpha;
            for (size_t k = 0; k < n; k++) {
                if (!(l[k] < 0 && u[k] > 0)) continue;
                int z = bound_lp_in_col(P, i, k), a = P->off[i] + (int)k;
                int dcol = bound_lp_add_col(P, 0.0, 1.0, err);
                double ku = alpha == 0 ? u[k] : up((1 - alpha) * u[k]);
                double kl = alpha == 0 ? l[k] : down((1 - alpha) * l[k]);
                int r1 = bound_lp_add_row(P, -BOUND_LP_INF, 0.0, err);
                bound_lp_coef(P, r1, a, 1.0, err);
                bound_lp_coef(P, r1, z, -alpha, err);
                bound_lp_coef(P, r1, dcol, -ku, err);
                int r2 = bound_lp_add_row(P, -BOUND_LP_INF, -kl, err);
                bound_lp_coef(P, r2, a, 1.0, err);
                bound_lp_coef(P, r2, z, -1.0, err);
                bound_lp_coef(P, r2, dcol, -kl, err);
                if (*nb == cap) {
                    cap = cap ? 2 * cap : 256;
                    int *q = realloc(*bin, (size_t)cap * sizeof *q);
                    if (!q) return nn_fail(err, NN_ENOMEM, "MILP: out of memory");
                    *bin = q;
                }
                (*bin)[(*nb)++] = dcol;
            }
        } else if (L->type == LAYER_MAXPOOL2D) {
            const relax_pool *pl = &st->pools[i];
            size_t W = (size_t)pl->window;
            for (size_t o = 0; o < pl->n_out; o++) {
                double lmax = -INFINITY, umax = -INFINITY;
                for (size_t s = 0; s < W; s++) {
                    int in = pl->inputs[o * W + s];
                    if (in < 0) continue;
                    lmax = fmax(lmax, l[in]);
                    umax = fmax(umax, u[in]);
                }
                if (lmax == -INFINITY) continue;
                int y = P->off[i] + (int)o;
                int sum = bound_lp_add_row(P, 1.0, 1.0, err);
                for (size_t s = 0; s < W; s++) {
                    int in = pl->inputs[o * W + s];
                    if (in < 0 || u[in] < lmax) continue; /* never the maximum */
                    int dcol = bound_lp_add_col(P, 0.0, 1.0, err);
                    bound_lp_coef(P, sum, dcol, 1.0, err);
                    double M = up(umax - l[in]);
                    int r = bound_lp_add_row(P, -BOUND_LP_INF, M, err);
                    bound_lp_coef(P, r, y, 1.0, err);
                    bound_lp_coef(P, r, bound_lp_in_col(P, i, (size_t)in), -1.0, err);
                    bound_lp_coef(P, r, dcol, M, err);
                    if (*nb == cap) {
                        cap = cap ? 2 * cap : 256;
                        int *q = realloc(*bin, (size_t)cap * sizeof *q);
                        if (!q) return nn_fail(err, NN_ENOMEM, "MILP: out of memory");
                        *bin = q;
                    }
                    (*bin)[(*nb)++] = dcol;
                }
            }
        }
    }
    return P->failed ? NN_ENOMEM : NN_OK;
}

/* The row's value at Cbc's point moved into the region, by the exact forward pass. */
static int check_point(const bound_state *st, const double *sol, const double *C, double dr, double *x,
                       double *value, nn_error *err)
{
    const bound_work *w = st->work;
    const nn_model *m = st->model;
    size_t n = w->n_in, no = model_output_size(m);
    double norm = 0;
    for (size_t j = 0; j < n; j++) {
        double v = sol[j];
        if (!isfinite(v)) v = w->x0[j];
        x[j] = fmin(fmax(v, w->box_lo[j]), w->box_hi[j]);
        norm += fabs(x[j] - w->x0[j]);
    }
    if (st->region.norm == NORM_1 && norm > st->region.eps) {
        /* shrink towards the centre (stays in the clip box, which holds x0) */
        double f = st->region.eps / norm * (1 - 1e-12);
        for (size_t j = 0; j < n; j++) x[j] = w->x0[j] + (x[j] - w->x0[j]) * f;
    }
    double *logits = malloc(no * sizeof *logits);
    if (!logits) return nn_fail(err, NN_ENOMEM, "MILP: out of memory");
    int rc = forward_run(m, x, 1, logits, err);
    if (!rc) {
        double v = dr;
        for (size_t o = 0; o < no; o++) v += C[o] * logits[o];
        *value = v;
    }
    free(logits);
    return rc;
}

/* One row's outcome as doubles, so that a spreader can move it between
 * processes: the row's new lower bound, proven, has_point, incumbent, Cbc's
 * best bound, then the point (n_in). */
enum { ITEM_LOWER, ITEM_PROVEN, ITEM_HAS_POINT, ITEM_INCUMBENT, ITEM_BEST, ITEM_POINT };

typedef struct {
    const bound_state *st;
    bound_lp P;
    int *bin, nb;
    const double *C, *d, *lower;
    size_t ldc;
} milp_rows;

/* bound_items_fn: rows [lo, hi), each a Cbc solve of its own. */
static int solve_rows(void *ctx, size_t lo, size_t hi, double *out, nn_error *err)
{
    milp_rows *q = ctx;
    const bound_state *st = q->st;
    const bound_lp *P = &q->P;
    int n = st->model->n_layers, rc = NN_OK;
    size_t no = model_output_size(st->model), n_in = ((const bound_work *)st->work)->n_in;
    double *obj = calloc((size_t)P->nc, sizeof *obj);
    if (!obj) return nn_fail(err, NN_ENOMEM, "MILP: out of memory");
    for (size_t r = lo; r < hi && !rc; r++) {
        double *item = out + (r - lo) * (ITEM_POINT + n_in);
        const double *Cr = q->C + r * q->ldc;
        double dr = q->d ? q->d[r] : 0, low = q->lower[r], incumbent = INFINITY, best_bound = -INFINITY;
        int has_point = 0;
        memset(item, 0, (ITEM_POINT + n_in) * sizeof *item);
        if (bound_spec_row_settled(st, low, 0)) {
            item[ITEM_LOWER] = low;
            item[ITEM_INCUMBENT] = INFINITY;
            item[ITEM_BEST] = -INFINITY;
            continue;
        }
        for (size_t o = 0; o < no; o++) obj[bound_lp_in_col(P, n, o)] = Cr[o];
        Cbc_Model *cbc = Cbc_newModel();
        if (!cbc) {
            rc = nn_fail(err, NN_ENOMEM, "MILP: out of memory (Cbc)");
            break;
        }
        Cbc_loadProblem(cbc, P->nc, P->nr, P->start, P->index, P->value, P->clb, P->cub, obj, P->rlb, P->rub);
        for (int b = 0; b < q->nb; b++) Cbc_setInteger(cbc, q->bin[b]);
        Cbc_setLogLevel(cbc, 0);
        Cbc_setMaximumSeconds(cbc, st->opt.milp_time_limit);
        Cbc_solve(cbc);
        double best = Cbc_getBestPossibleObjValue(cbc);
        item[ITEM_PROVEN] = Cbc_isProvenOptimal(cbc) != 0;
        const double *sol = Cbc_bestSolution(cbc);
        /* with no binaries Cbc solves the LP alone and keeps no integer
         * solution: its point is the LP's (checked below as any incumbent) */
        if (!sol && q->nb == 0 && Cbc_isProvenOptimal(cbc)) sol = Cbc_getColSolution(cbc);
        if (sol && !(rc = check_point(st, sol + P->off_x, Cr, dr, item + ITEM_POINT, &incumbent, err))) has_point = 1;
        if (!rc && isfinite(best) && fabs(best) < BOUND_LP_INF) {
            best_bound = best + dr;
            double b = best + dr - MILP_GUARD * (1 + fabs(best));
            /* never above a value the network really takes in the region (less
             * the forward pass's rounding): Cbc's tolerances cannot lift the
             * bound over a verified point */
            if (has_point) b = fmin(b, incumbent - BOUND_ALLOWANCE(fabs(incumbent)));
            if (b > low) low = b;
        }
        Cbc_deleteModel(cbc);
        for (size_t o = 0; o < no; o++) obj[bound_lp_in_col(P, n, o)] = 0;
        item[ITEM_LOWER] = low;
        item[ITEM_HAS_POINT] = has_point;
        item[ITEM_INCUMBENT] = incumbent;
        item[ITEM_BEST] = best_bound;
    }
    free(obj);
    return rc;
}

int bound_milp_spec(bound_state *st, const double *C, size_t rows, size_t ldc, const double *d, double *lower,
                    nn_error *err)
{
    bound_work *w = st->work;
    int n = st->model->n_layers;
    size_t width = ITEM_POINT + w->n_in;
    if (!w->milp && !(w->milp = calloc(1, sizeof *w->milp))) return nn_fail(err, NN_ENOMEM, "MILP: out of memory");
    struct bound_milp *R = w->milp;
    if (rows > R->cap) {
        free(R->row), free(R->point);
        R->row = calloc(rows, sizeof *R->row);
        R->point = calloc(rows * w->n_in, sizeof *R->point);
        R->cap = R->row && R->point ? rows : 0;
        if (!R->cap) return nn_fail(err, NN_ENOMEM, "MILP: out of memory");
    }
    R->rows = rows;
    size_t open = 0; /* rows left to Cbc: with none, no MILP is built */
    for (size_t r = 0; r < rows; r++) {
        bound_milp_row *out = &R->row[r];
        memset(out, 0, sizeof *out);
        out->lower = lower[r], out->incumbent = INFINITY, out->best_bound = -INFINITY;
        open += !bound_spec_row_settled(st, lower[r], 0);
    }
    if (!open) return NN_OK;
    milp_rows q = {.st = st, .C = C, .d = d, .lower = lower, .ldc = ldc};
    int rc = bound_lp_build(st, n, NULL, NULL, &q.P, err);
    if (rc) return rc;
    if (!(rc = add_binaries(st, &q.P, &q.bin, &q.nb, err))) rc = bound_lp_finish(&q.P, err);
    double *items = rc ? NULL : malloc(rows * width * sizeof *items);
    if (!rc && !items) rc = nn_fail(err, NN_ENOMEM, "MILP: out of memory (%zu rows)", rows);
    /* the rows over the processes of a group when the caller spreads them: each
     * row's solve and outcome depend on the state only (and Cbc's clock) */
    if (!rc) rc = st->spec_items ? st->spec_items(st->spec_ctx, rows, width, solve_rows, &q, items, err)
                                 : solve_rows(&q, 0, rows, items, err);
    for (size_t r = 0; r < rows && !rc; r++) {
        const double *item = items + r * width;
        bound_milp_row *out = &R->row[r];
        memset(out, 0, sizeof *out);
        out->proven = item[ITEM_PROVEN] != 0;
        out->has_point = item[ITEM_HAS_POINT] != 0;
        out->incumbent = item[ITEM_INCUMBENT];
        out->best_bound = item[ITEM_BEST];
        out->lower = lower[r] = item[ITEM_LOWER];
        memcpy(R->point + r * w->n_in, item + ITEM_POINT, w->n_in * sizeof *R->point);
    }
    free(items);
    free(q.bin);
    bound_lp_free(&q.P);
    return rc;
}

int bound_milp_result(const bound_state *st, size_t row, bound_milp_row *out, const double **point)
{
    const bound_work *w = st && st->work ? st->work : NULL;
    if (!w || !w->milp || row >= w->milp->rows) return -1;
    *out = w->milp->row[row];
    if (point) *point = out->has_point ? w->milp->point + row * w->n_in : NULL;
    return 0;
}
