/* The first affine block: the layers before the first nonlinear layer (normalize,
 * flatten, dense or conv, avgpool) are one affine map F x + c of the input, so the
 * first nonlinear layer's input is bounded exactly by concretizing the rows of F on
 * the region (doc/bounds.md, "Backward pass"). The rows are computed once by the
 * backward kernel and cached with their dual norms (when the dense matrix would take
 * at most BOUND_FB_CACHE_BYTES; larger blocks go through the kernel for every
 * request, in aligned blocks so that a row's numbers never depend on the range
 * asked for). A conv block's rows are kept sparse, not dense (fb_build). When the
 * composite is no more expensive than the block's own adjoints, backward passes
 * cross the block with it (fb_gemm; an MLP's normalize + dense).
 *
 * Rounding. The rows of F carry no per-step budget when nothing below the block's
 * top affine layer sums more than one term (each entry is then a product rounded
 * at most twice, inside the concretization allowance); a block that sums below its
 * top (dense -> dense, conv -> avgpool) can cancel, and its rows are widened by
 * gamma(sum_j K_j + 2) (|M_k| .. |M_1| G + |b| terms)_r per region
 * (first_block_error; bound_backward.c, part 2, has the argument). The budget of
 * backward passes that cross the block (fb_v, fb_tau; or the vmag of its layers)
 * is computed once per region, when the first nonlinear layer is committed.
 * Residual graphs (an add before the first nonlinear layer) never cross the block
 * by its composite, count each add as summing terms, and take the magnitudes
 * along the edges. */
#include "bound_first_block.h"
#include "bound_backward.h"
#include "bound_box.h"
#include "bound_concretize.h"
#include "bound_cost.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void bound_first_block_init(bound_state *st)
{
    bound_work *w = st->work;
    const nn_model *m = st->model;
    /* The block's rows start as rows of its top affine layer (exact); every layer
     * below it whose adjoint sums K_j > 1 terms can cancel. */
    double terms = 0;
    int summing = 0, top_seen = 0;
    for (int j = w->first_nl - 1; j >= 0; j--) {
        const nn_layer *L = &m->layers[j];
        if (L->type == LAYER_FLATTEN) continue;
        terms += bound_adjoint_terms(L) + 2;
        summing += top_seen && bound_adjoint_terms(L) > 1;
        top_seen = 1;
    }
    /* a residual graph's block also sums branches: at an add and where a fork's
     * rows meet (one term each, counted with room to spare) */
    if (w->dag)
        for (int j = 0; j < w->first_nl; j++)
            if (m->layers[j].type == LAYER_ADD) {
                terms += 4;
                summing++;
            }
    w->fb_summing = summing;
    w->fb_gamma = summing > 0 ? bound_gamma(terms, UNIT_ROUNDOFF_D) * (1 + 1e-6) : 0.0;
}

static void sparse_drop(bound_work *w)
{
    free(w->fb_sp_ptr);
    free(w->fb_sp_idx);
    free(w->fb_sp_val);
    w->fb_sp_ptr = NULL;
    w->fb_sp_idx = NULL;
    w->fb_sp_val = NULL;
}

void bound_first_block_free(bound_work *w)
{
    free(w->fb_A);
    free(w->fb_c);
    free(w->fb_cabs);
    free(w->fb_norm);
    free(w->fb_Af);
    free(w->fb_v);
    free(w->fb_absx0);
    free(w->fb_x0);
    free(w->fb_e);
    free(w->fb_row);
    sparse_drop(w);
}

/* The composite replaces the block's own adjoints in backward passes when it
 * costs no more flops (an MLP's normalize + dense: it saves the normalize pass).
 * Nothing may sum below the top: each composite entry is then a product rounded
 * at most twice, which fb_v's budget covers; a block that cancels keeps its own
 * adjoints. */
static int fb_gemm_pays(const bound_state *st)
{
    const bound_work *w = st->work;
    return !w->dag && w->first_nl < st->model->n_layers && w->fb_summing == 0 &&
           bound_composite_pays(st->model, w->first_nl, w->fb_rows, w->n_in);
}

/* Sparse rows being gathered block by block: given up (NULL arrays) once the
 * nonzeros pass a quarter of the matrix. */
typedef struct {
    size_t nnz, cap, limit;
} fb_sparse;

/* Row r appended to the sparse rows, in one pass over its n entries: 1, or 0
 * when it would pass the limit (nothing kept of it), -1 out of memory. */
static int sparse_append(bound_work *w, fb_sparse *sp, const double *a, size_t r, nn_error *err)
{
    size_t n = w->n_in, want = sp->nnz + n < sp->limit ? sp->nnz + n : sp->limit;
    if (want > sp->cap) {
        size_t cap = sp->cap ? sp->cap : n;
        while (cap < want) cap *= 2;
        cap = cap < sp->limit ? cap : sp->limit;
        size_t *idx = realloc(w->fb_sp_idx, cap * sizeof *idx);
        if (idx) w->fb_sp_idx = idx;
        double *val = idx ? realloc(w->fb_sp_val, cap * sizeof *val) : NULL;
        if (!val) {
            nn_fail(err, NN_ENOMEM, "out of memory growing the first-layer bound cache to %zu nonzeros", cap);
            return -1;
        }
        w->fb_sp_val = val;
        sp->cap = cap;
    }
    size_t q = sp->nnz;
    for (size_t j = 0; j < n; j++)
        if (a[j] != 0) {
            if (q == want) return 0;
            w->fb_sp_idx[q] = j;
            w->fb_sp_val[q++] = a[j];
        }
    w->fb_sp_ptr[r] = sp->nnz;
    w->fb_sp_ptr[r + 1] = sp->nnz = q;
    return 1;
}

/* Rows [0, r) spread out from their sparse form into fb_A (the same values). */
static void sparse_spread(bound_work *w, size_t r, double *A)
{
    size_t n = w->n_in;
    memset(A, 0, r * n * sizeof *A);
    for (size_t i = 0; i < r; i++)
        for (size_t q = w->fb_sp_ptr[i]; q < w->fb_sp_ptr[i + 1]; q++) A[i * n + w->fb_sp_idx[q]] = w->fb_sp_val[q];
}

/* The block's rows, computed once in aligned blocks of rb. A conv block's rows
 * are nonzero on their receptive field only: while at most a quarter of the
 * entries are nonzero they are kept sparse alone (concretized on their nonzeros:
 * the same terms in the same order, the same bits; bound_concretize_region_sparse)
 * and the dense matrix is never made. Past that, or when backward passes cross
 * the block by its composite (fb_gemm), the dense matrix fb_A is kept. */
static int fb_build(bound_state *st, nn_error *err)
{
    bound_work *w = st->work;
    size_t rows = w->fb_rows, n = w->n_in;
    if (rows == 0 || n > BOUND_FB_CACHE_BYTES / sizeof(double) / rows) {
        w->fb_state = -1;
        return NN_OK;
    }
    int gemm = fb_gemm_pays(st);
    /* The budget weights of the first nonlinear layer were made at its commit for
     * the path the kernel took then; a composite built after that commit (LBP
     * methods never need the block's rows) must not change the path. */
    if (st->layers_done > w->first_nl) gemm = 0;
    /* what a build that failed part way (out of memory) left, dropped first */
    free(w->fb_c), free(w->fb_cabs), free(w->fb_norm), free(w->fb_A), free(w->fb_Af), free(w->fb_row);
    w->fb_Af = NULL, w->fb_A = NULL, w->fb_row = NULL;
    sparse_drop(w);
    w->fb_c = nn_malloc(rows * sizeof(double), "first-layer bound cache", err);
    w->fb_cabs = nn_malloc(rows * sizeof(double), "first-layer bound cache", err);
    w->fb_norm = nn_malloc(3 * rows * sizeof(double), "first-layer bound cache", err);
    if (!w->fb_c || !w->fb_cabs || !w->fb_norm) return NN_ENOMEM;
    fb_sparse sp = {0, 0, gemm ? 0 : rows * n / 4};
    double *blk = NULL;
    if (sp.limit == 0) {
        if (!(w->fb_A = nn_malloc(rows * n * sizeof(double), "first-layer bound cache", err))) return NN_ENOMEM;
    } else {
        w->fb_sp_ptr = nn_malloc((rows + 1) * sizeof *w->fb_sp_ptr, "first-layer bound cache", err);
        blk = nn_malloc((rows < w->rb ? rows : w->rb) * n * sizeof *blk, "first-layer bound rows", err);
        w->fb_row = nn_calloc(n, sizeof *w->fb_row, "first-layer bound cache", err);
        if (!w->fb_sp_ptr || !blk || !w->fb_row) {
            free(blk);
            return NN_ENOMEM;
        }
        w->fb_sp_ptr[0] = 0;
    }
    int rc = NN_OK;
    for (size_t blo = 0; blo < rows && !rc; blo += w->rb) {
        size_t R = rows - blo < w->rb ? rows - blo : w->rb;
        for (size_t r = 0; r < R; r++) w->idx[r] = blo + r;
        double *A = w->fb_A ? w->fb_A + blo * n : blk;
        rc = bound_backward_to_input(st, w->first_nl, R, w->idx, A, n, w->fb_c + blo, w->fb_cabs + blo, err);
        for (size_t r = 0; r < R && !rc; r++) {
            const double *a = A + r * n;
            double *nrm = w->fb_norm + 3 * (blo + r);
            int kept = w->fb_sp_ptr ? sparse_append(w, &sp, a, blo + r, err) : 0;
            if (kept < 0) {
                rc = NN_ENOMEM;
                break;
            }
            /* the norms of the whole row, summed as bound_concretize_region would */
            for (int p = 0; p < 3; p++) nrm[p] = bound_dual_norm(a, n, (norm_type)p, w->box_mode);
            if (kept || !w->fb_sp_ptr) continue;
            /* too dense to gain: the rows so far spread out, the rest kept dense */
            if (!(w->fb_A = nn_malloc(rows * n * sizeof(double), "first-layer bound cache", err))) {
                rc = NN_ENOMEM;
                break;
            }
            sparse_spread(w, blo + r, w->fb_A);
            sparse_drop(w);
            memcpy(w->fb_A + (blo + r) * n, a, (R - r) * n * sizeof *a);
        }
    }
    free(blk);
    if (rc) return rc;
    if (w->fb_A) {
        free(w->fb_row);
        w->fb_row = NULL;
    }
    w->fb_gemm = gemm;
    if (w->fb_gemm && st->opt.single) {
        if (!(w->fb_Af = nn_malloc(rows * n * sizeof *w->fb_Af, "first-layer bound cache", err))) return NN_ENOMEM;
        for (size_t k = 0; k < rows * n; k++) w->fb_Af[k] = (float)w->fb_A[k];
    }
    w->fb_state = 1;
    return NN_OK;
}

/* The budget's magnitudes for the first block, once per region: vmag of its
 * layers from the region's box (IBP), or for its composite (fb_gemm)
 * |F| (|x0| + eps) >= |F| G, with |F||x0| kept while x0 is unchanged. */
int bound_first_block_budget(bound_state *st, nn_error *err)
{
    bound_work *w = st->work;
    size_t n = w->n_in, rows = w->fb_rows;
    if (w->dag) return bound_box_dag(st, w->first_nl, err);
    if (!w->fb_gemm) {
        double *lo = w->scratch, *hi = w->scratch + w->maxw;
        memcpy(lo, w->box_lo, n * sizeof *lo);
        memcpy(hi, w->box_hi, n * sizeof *hi);
        return bound_box_affine(st, 0, w->first_nl, lo, hi, err);
    }
    if (!w->fb_v) {
        w->fb_v = nn_malloc(rows * sizeof *w->fb_v, "rounding budget", err);
        w->fb_absx0 = nn_malloc(rows * sizeof *w->fb_absx0, "rounding budget", err);
        w->fb_x0 = nn_malloc(n * sizeof *w->fb_x0, "rounding budget", err);
        if (!w->fb_v || !w->fb_absx0 || !w->fb_x0) return NN_ENOMEM;
        w->fb_x0_valid = 0;
    }
    if (!w->fb_x0_valid || memcmp(w->fb_x0, w->x0, n * sizeof *w->x0) != 0) {
        for (size_t r = 0; r < rows; r++) {
            const double *a = w->fb_A + r * n;
            double acc = 0;
            for (size_t j = 0; j < n; j++) acc += fabs(a[j]) * fabs(w->x0[j]);
            w->fb_absx0[r] = acc;
        }
        memcpy(w->fb_x0, w->x0, n * sizeof *w->x0);
        w->fb_x0_valid = 1;
    }
    double vs = 0, gs = 0;
    for (size_t r = 0; r < rows; r++) {
        w->fb_v[r] = (w->fb_absx0[r] + st->region.eps * w->fb_norm[3 * r + NORM_INF]) * (1 + 1e-9);
        vs += w->fb_v[r];
    }
    if (st->opt.single) { /* only float rows cross the composite with an absolute budget */
        for (size_t k = 0; k < n; k++) gs += bound_abs_max(w->box_lo[k], w->box_hi[k]);
        w->fb_tau = FLT_MIN * ((2.0 * (double)rows + 3) * gs + vs) * (1 + 1e-6);
    }
    return NN_OK;
}


/* first_block_error on a residual graph: the magnitudes follow the edges (an add
 * sums its inputs'), one output array per layer of the block. */
static int first_block_error_dag(bound_state *st, nn_error *err)
{
    bound_work *w = st->work;
    const nn_model *m = st->model;
    int f = w->first_nl, rc = NN_OK;
    double **v = nn_calloc((size_t)f + 1, sizeof *v, "rounding budget", err);
    if (!v) return NN_ENOMEM;
    for (int k = -1; k < f && !rc; k++) {
        size_t no = k < 0 ? w->n_in : shape_size(m->layers[k].out);
        if (!(v[k + 1] = nn_malloc(no * sizeof **v, "rounding budget", err))) {
            rc = NN_ENOMEM;
            break;
        }
        double *o = v[k + 1];
        if (k < 0) {
            for (size_t q = 0; q < no; q++) o[q] = bound_abs_max(w->box_lo[q], w->box_hi[q]);
            continue;
        }
        const nn_layer *L = &m->layers[k];
        const double *a = v[bound_in(m, k, 0) + 1];
        if (L->type == LAYER_ADD) {
            const double *b = v[bound_in(m, k, 1) + 1];
            for (size_t q = 0; q < no; q++) o[q] = (a[q] + b[q]) * (1 + 1e-9);
            continue;
        }
        rc = layer_affine_forward_ws(&w->abs_layers[k], a, 1, shape_size(L->in), o, no, &w->ws, err);
        if (rc) {
            nn_error_prefix(err, "rounding budget, layer %d: ", k);
            break;
        }
        for (size_t q = 0; q < no; q++) o[q] = (o[q] + (w->babs[k] ? w->babs[k][q] : 0.0)) * (1 + 1e-9);
    }
    if (!rc) {
        const double *top = v[(f < m->n_layers ? bound_in(m, f, 0) : m->n_layers - 1) + 1];
        for (size_t r = 0; r < w->fb_rows; r++) w->fb_e[r] = w->fb_gamma * top[r];
        w->fb_e_valid = 1;
    }
    for (int k = 0; k <= f; k++) free(v[k]);
    free(v);
    return rc;
}

/* The block's cancellation budget for the current region (header comment):
 * v <- |M_j| v + |b_j| from v = max(|box_lo|, |box_hi|), times fb_gamma. */
static int first_block_error(bound_state *st, nn_error *err)
{
    bound_work *w = st->work;
    if (w->fb_e_valid) return NN_OK;
    size_t mw = w->maxw;
    if (!w->fb_e && !(w->fb_e = nn_malloc(w->fb_rows * sizeof *w->fb_e, "rounding budget", err))) return NN_ENOMEM;
    double *v = w->scratch, *vn = w->scratch + mw;
    if (w->dag) return first_block_error_dag(st, err);
    for (size_t k = 0; k < w->n_in; k++) v[k] = bound_abs_max(w->box_lo[k], w->box_hi[k]);
    for (int j = 0; j < w->first_nl; j++) {
        const nn_layer *L = &st->model->layers[j];
        if (L->type == LAYER_FLATTEN) continue;
        size_t no = shape_size(L->out);
        int rc = layer_affine_forward_ws(&w->abs_layers[j], v, 1, mw, vn, mw, &w->ws, err);
        if (rc) return nn_error_prefix(err, "rounding budget, layer %d: ", j);
        for (size_t k = 0; k < no; k++) v[k] = (vn[k] + (w->babs[j] ? w->babs[j][k] : 0.0)) * (1 + 1e-9);
    }
    for (size_t r = 0; r < w->fb_rows; r++) w->fb_e[r] = w->fb_gamma * v[r];
    w->fb_e_valid = 1;
    return NN_OK;
}

int bound_first_block_rows(bound_state *st, size_t lo, size_t hi, double *lower, double *upper, nn_error *err)
{
    bound_work *w = st->work;
    if (w->fb_state == 0) {
        int rc = fb_build(st, err);
        if (rc) return rc;
    }
    if (w->fb_gamma > 0) {
        int rc = first_block_error(st, err);
        if (rc) return rc;
    }
    const double *e = w->fb_gamma > 0 ? w->fb_e : NULL;
    if (w->fb_state == 1) {
        for (size_t r = lo; r < hi; r++) {
            size_t p0 = w->fb_sp_ptr ? w->fb_sp_ptr[r] : 0, k = w->fb_sp_ptr ? w->fb_sp_ptr[r + 1] - p0 : 0;
            if (w->fb_sp_ptr && bound_concretize_region_sparse(st, w->fb_sp_val + p0, w->fb_sp_idx + p0, k, w->fb_c[r],
                                                               w->fb_cabs[r], &lower[r - lo], &upper[r - lo],
                                                               w->l1_buf))
                ;
            else if (w->fb_A)
                bound_concretize_region(st, w->fb_A + r * w->n_in, w->fb_c[r], w->fb_cabs[r],
                                        w->fb_norm[3 * r + st->region.norm], &lower[r - lo], &upper[r - lo]);
            else { /* kept sparse only: spread into the zero row, and back to zeros */
                for (size_t q = 0; q < k; q++) w->fb_row[w->fb_sp_idx[p0 + q]] = w->fb_sp_val[p0 + q];
                bound_concretize_region(st, w->fb_row, w->fb_c[r], w->fb_cabs[r], w->fb_norm[3 * r + st->region.norm],
                                        &lower[r - lo], &upper[r - lo]);
                for (size_t q = 0; q < k; q++) w->fb_row[w->fb_sp_idx[p0 + q]] = 0;
            }
            if (e) {
                lower[r - lo] -= e[r];
                upper[r - lo] += e[r];
            }
        }
        return NN_OK;
    }
    /* Not cached: aligned blocks so that a row's numbers never depend on the range. */
    for (size_t blo = lo - lo % w->rb; blo < hi; blo += w->rb) {
        size_t bhi = blo + w->rb < w->fb_rows ? blo + w->rb : w->fb_rows;
        for (size_t r = blo; r < bhi; r++) w->idx[r - blo] = r;
        int rc = bound_backward_block(st, w->first_nl, 0, bhi - blo, w->idx, NULL, 0, NULL, NULL, NULL, w->blk_l,
                                      w->blk_u, err);
        if (rc) return rc;
        for (size_t r = blo > lo ? blo : lo; r < bhi && r < hi; r++) {
            lower[r - lo] = w->blk_l[r - blo] - (e ? e[r] : 0.0);
            upper[r - lo] = w->blk_u[r - blo] + (e ? e[r] : 0.0);
        }
    }
    return NN_OK;
}

