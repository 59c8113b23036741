/* bound_backward_kernel (private to bound_backward.c): the backward kernel for one
 * element type, included once per precision with
 *   REAL  double | float          coefficient matrices A
 *   SFX   name##_d | name##_f     suffix of every function defined here
 *   GEMM  rows_dgemm | rows_sgemm (layer_ops.h)
 *   PREC  0 | 1                   index of the precision's tables in bound_work
 * The math, the row layout and the rounding budget are described at the top of
 * bound_backward.c; constants and budgets are always accumulated in double. */

/* One block in flight (see bound_backward.c for the row layout). */
typedef struct {
    size_t R;            /* specification rows */
    size_t M;            /* rows carried: R or 2R */
    size_t lo_rows;      /* once split: rows [0, lo_rows) are lower-side rows */
    int split;           /* the sides have been separated */
    int want_l, want_u;
    int budget;          /* track the rounding budget e */
    REAL *A, *B;         /* current matrix (M x width, leading dimension width), other buffer */
    size_t width;        /* columns of A */
    const size_t *map;   /* NULL: column k is neuron k; else packed, neuron map[k] */
    int map_act;         /* the activation whose live neurons map lists */
    int slot;            /* residual graphs: the per-row arrays' slot (bound_backward.c) */
    int fused;           /* the next affine layer's offset and budget are already in c, e */
    double *c, *s, *e;   /* per row: constant, sum of |terms| folded into it, rounding budget */
    /* windowed rows (bound_backward.c, "Windowed rows"): row r holds the cells
     * [cc x wh x ww] of the map [cc x mh x mw] whose top-left cell is (oy[r], ox[r]),
     * width = cc wh ww; cells outside the map are 0 */
    int crop;
    int cc, mh, mw, wh, ww;
    int *oy, *ox;        /* M each */
} SFX(blk);

static void SFX(swap)(SFX(blk) *b)
{
    REAL *t = b->A;
    b->A = b->B;
    b->B = t;
}

/* dst = src[rows, cols] converted to REAL (a NULL list takes every index),
 * allocated on first use; kept while the stamps match. */
static int SFX(pack_matrix)(REAL **dst, unsigned long stamp[2], const double *src, size_t n_rows, size_t n_cols,
                            const size_t *rows, size_t nr, unsigned long gr, const size_t *cols, size_t nc,
                            unsigned long gc, nn_error *err)
{
    if (*dst && stamp[0] == gr && stamp[1] == gc) return NN_OK;
    if (!*dst && !(*dst = nn_malloc(n_rows * n_cols * sizeof **dst, "packed weights", err))) return NN_ENOMEM;
    for (size_t r = 0; r < nr; r++) {
        const double *a = src + (rows ? rows[r] : r) * n_cols;
        REAL *d = *dst + r * nc;
        for (size_t k = 0; k < nc; k++) d[k] = (REAL)a[cols ? cols[k] : k];
    }
    stamp[0] = gr;
    stamp[1] = gc;
    return NN_OK;
}

/* W of dense layer j in REAL: restricted to the live rows above / columns below
 * when either is packed, else the whole matrix; *rows x *cols is the GEMM's shape. */
static int SFX(dense_weight)(bound_work *w, const nn_model *m, int j, const SFX(blk) *b, const REAL **W, size_t *rows,
                             size_t *cols, nn_error *err)
{
    const nn_layer *L = &m->layers[j];
    size_t n_out = shape_size(L->out), n_in = shape_size(L->in);
    /* rows packed on the activation above (on a chain: j + 1 when it is packed) */
    int up = b->map ? b->map_act : -1;
    int dn = act_below(m, j);
    if (!packed(w, dn)) dn = -1;
    *rows = up >= 0 ? w->n_live[up] : n_out;
    *cols = dn >= 0 ? w->n_live[dn] : n_in;
    if (up < 0 && dn < 0) {
#if PREC == 0
        *W = L->weight;
#else
        *W = w->wf[j];
#endif
        return NN_OK;
    }
    REAL **dst;
#if PREC == 0
    dst = &w->wc[j];
#else
    dst = &w->wcf[j];
#endif
    int rc = SFX(pack_matrix)(dst, w->wc_gen[PREC][j], L->weight, n_out, n_in, up >= 0 ? w->live[up] : NULL, *rows,
                              up >= 0 ? w->live_gen[up] : 0, dn >= 0 ? w->live[dn] : NULL, *cols,
                              dn >= 0 ? w->live_gen[dn] : 0, err);
    *W = *dst;
    return rc;
}

/* Before affine layer j when the previous step did not fold them in: c += A.b_full
 * with its magnitudes, and the budget of j's adjoint, gamma_j * |A| . vmag_j. */
static void SFX(offset_pass)(const bound_work *w, int j, SFX(blk) *b)
{
    const double *off = w->bfull[j], *offabs = w->babs[j], *v = b->budget ? w->vmag[j] : NULL;
    double g = w->gam[PREC][j];
    if (!off && (!v || g == 0)) return;
    for (size_t r = 0; r < b->M; r++) {
        const REAL *a = b->A + r * b->width;
        double acc = 0, mag = 0, err = 0;
        for (size_t q = 0; q < b->width; q++) {
            offset_term(a[q], b->map ? b->map[q] : q, off, offabs, v, &acc, &mag, &err);
        }
        b->c[r] += acc;
        b->s[r] += mag;
        b->e[r] += g * err;
    }
}

/* A <- A.M for affine layer j over all M rows of the block; the block's layout
 * moves to j's input (packed on the activation below when there is one). */
static int SFX(step_affine)(bound_state *st, int j, SFX(blk) *b, nn_error *err)
{
    bound_work *w = st->work;
    const nn_model *m = st->model;
    const nn_layer *L = &m->layers[j];
    size_t n_in = shape_size(L->in);
    double t0 = bound_gemm_clock(st);
    if (L->type == LAYER_DENSE) {
        size_t rows, cols;
        const REAL *W;
        int rc = SFX(dense_weight)(w, m, j, b, &W, &rows, &cols, err);
        if (rc) return rc;
        GEMM(0, b->M, cols, rows, b->A, b->width, W, cols, 0.0, b->B, cols);
        st->flops += 2.0 * (double)b->M * (double)rows * (double)cols;
        int dn = act_below(m, j);
        b->map = cols < n_in ? w->live[dn] : NULL;
        b->map_act = dn;
        b->width = cols;
    } else {
#if PREC == 0
        int rc = layer_affine_adjoint_ws(L, b->A, b->M, b->width, b->B, n_in, &w->ws, err);
#else
        int rc = layer_affine_adjoint_f_ws(L, w->wf[j], b->A, b->M, b->width, b->B, n_in, &w->ws, err);
#endif
        if (rc) return rc;
        st->flops += bound_affine_flops(L, b->M);
        b->width = n_in;
    }
    bound_gemm_clock_add(st, t0);
    SFX(swap)(b);
    return NN_OK;
}

/* The whole first affine block as one GEMM with its cached composite matrix
 * (rows on first_nl's live neurons when packed): the block reaches the input. */
static int SFX(step_first_block)(bound_state *st, SFX(blk) *b, nn_error *err)
{
    bound_work *w = st->work;
    int f = w->first_nl;
    size_t n = w->n_in, rows = b->width;
    double t0 = bound_gemm_clock(st);
    const REAL *F;
#if PREC == 0
    REAL **pk = &w->fb_pk;
    F = w->fb_A;
#else
    REAL **pk = &w->fb_pkf;
    F = w->fb_Af;
#endif
    if (b->map) {
        int rc = SFX(pack_matrix)(pk, w->fb_pk_gen[PREC], w->fb_A, w->fb_rows, n, w->live[f], rows, w->live_gen[f],
                                  NULL, n, 0, err);
        if (rc) return rc;
        F = *pk;
    }
    GEMM(0, b->M, n, rows, b->A, b->width, F, n, 0.0, b->B, n);
    st->flops += 2.0 * (double)b->M * (double)rows * (double)n;
    bound_gemm_clock_add(st, t0);
    SFX(swap)(b);
    b->width = n;
    b->map = NULL;
    return NN_OK;
}

/* Full layout again (a layer that needs every column). */
static void SFX(unpack)(SFX(blk) *b, size_t n)
{
    for (size_t r = 0; r < b->M; r++) {
        const REAL *a = b->A + r * b->width;
        REAL *x = b->B + r * n;
        memset(x, 0, n * sizeof *x);
        for (size_t k = 0; k < b->width; k++) x[b->map[k]] = a[k];
    }
    SFX(swap)(b);
    b->width = n;
    b->map = NULL;
}

/* The separate sides start here: copy the rows for the upper side if both are wanted. */
static void SFX(split_sides)(SFX(blk) *b)
{
    if (b->split) return;
    if (b->want_l && b->want_u) {
        memcpy(b->A + b->R * b->width, b->A, b->R * b->width * sizeof *b->A);
        memcpy(b->c + b->R, b->c, b->R * sizeof *b->c);
        memcpy(b->s + b->R, b->s, b->R * sizeof *b->s);
        memcpy(b->e + b->R, b->e, b->R * sizeof *b->e);
        if (b->crop) {
            memcpy(b->oy + b->R, b->oy, b->R * sizeof *b->oy);
            memcpy(b->ox + b->R, b->ox, b->R * sizeof *b->ox);
        }
        b->M = 2 * b->R;
    }
    b->lo_rows = b->want_l ? b->R : 0;
    b->split = 1;
}

/* One row through activation lines: the upper side takes the upper line where the
 * coefficient is >= 0 and the lower line below 0 (the lower side the reverse).
 * in/out index the row's input and output positions (NULL: position q); the line
 * arrays, off/offabs (the next offset and its magnitudes) and ew (budget weights)
 * are indexed by q; off and ew may be NULL. One of vp, vn is 0, so vp*p + vn*n is
 * the selected product exactly (then rounded once to REAL). */
static void SFX(act_row)(const REAL *a, REAL *x, size_t nq, const size_t *in, const size_t *out, const double *ps,
                         const double *pt, const double *ns, const double *nt, const double *off,
                         const double *offabs, const double *ew, double *c, double *s, double *e)
{
    /* x already holds 0 where v = 0 when written in place or through out[] (zeroed):
     * zero coefficients (most of a conv row's receptive-field complement) are skipped */
    int skip_zero = x == a || out;
    /* one accumulator per kind of term: each chain takes one add per entry (the
     * add latency bounds this loop), and the split does not depend on positions */
    double acc = 0, mag = 0, acc_o = 0, mag_o = 0, err = 0;
    for (size_t q = 0; q < nq; q++) {
        double v = a[in ? in[q] : q];
        if (v == 0 && skip_zero) continue;
        double vp = bound_pos_part(v), vn = v - vp;
        double t = vp * pt[q] + vn * nt[q];
        REAL y = (REAL)(vp * ps[q] + vn * ns[q]);
        x[out ? out[q] : q] = y;
        acc += t;
        mag += fabs(t);
        if (off) {
            acc_o += y * off[q];
            mag_o += fabs(y) * offabs[q];
        }
        if (ew) err += fabs(y) * ew[q];
    }
    *c += acc + acc_o;
    *s += mag + mag_o;
    *e += err;
}

/* act_row on four rows of one side at once, one row per lane of a vector: every
 * lane does act_row's operations on its own row in act_row's order (no fused
 * multiply-add: ISO C mode keeps -ffp-contract=off), so a row's bits do not
 * depend on the rows beside it, and the remainder rows of a block can go
 * through act_row. A zero entry act_row skips has its terms masked to +0 after
 * the products (an infinite line or weight times 0 stays out, as there) and
 * keeps what x held; adding +0 leaves a sum that started at +0 as it was.
 * Compiled for AVX2 and called where the CPU has it (bound_work.rows4):
 * without 256-bit registers the lanes cost more than act_row (measured 1.8x
 * slower in SSE2 halves).
 *
 * act4_run is the loop over nq entries of rows a[k] into x[k], the lines and
 * the offset indexed from 0, the chains carried in *sm from one run of a row's
 * entries to the next (windowed rows: one run per line of the window);
 * act4_end adds them to the rows' c, s, e as act_row does at its end. */
typedef struct {
    bound_v4d acc, mag, acc_o, mag_o, err;
} SFX(sums4);

BOUND_V4_TARGET static inline __attribute__((always_inline)) void
SFX(act4_run)(const REAL *const a[4], REAL *const x[4], size_t nq, const size_t *in, const size_t *out,
              const double *ps, const double *pt, const double *ns, const double *nt, const double *off,
              const double *offabs, const double *ew, int skip_zero, int in_place, SFX(sums4) *sm)
{
    const REAL *a0 = a[0], *a1 = a[1], *a2 = a[2], *a3 = a[3];
    REAL *x0 = x[0], *x1 = x[1], *x2 = x[2], *x3 = x[3];
    const bound_v4u none = {0, 0, 0, 0};
    bound_v4d acc = sm->acc, mag = sm->mag, acc_o = sm->acc_o, mag_o = sm->mag_o, err = sm->err;
    for (size_t q = 0; q < nq; q++) {
        size_t i = in ? in[q] : q, o = out ? out[q] : q;
        bound_v4d v = {a0[i], a1[i], a2[i], a3[i]};
        bound_v4u z = skip_zero ? (bound_v4u)(v == 0) : none;
        if (z[0] & z[1] & z[2] & z[3]) continue;
        bound_v4d vp = BOUND_V4_POS_PART(v), vn = v - vp;
        bound_v4d t = BOUND_V4_CLEAR(vp * pt[q] + vn * nt[q], z);
        bound_v4d yd = vp * ps[q] + vn * ns[q];
#if PREC
        bound_v4d y = __builtin_convertvector(__builtin_convertvector(yd, bound_v4f), bound_v4d);
#else
        bound_v4d y = yd;
#endif
        bound_v4d kept = in_place ? v : (bound_v4d){0, 0, 0, 0};
        bound_v4d store = (bound_v4d)(((bound_v4u)y & ~z) | ((bound_v4u)kept & z));
        x0[o] = (REAL)store[0], x1[o] = (REAL)store[1], x2[o] = (REAL)store[2], x3[o] = (REAL)store[3];
        acc += t;
        mag += BOUND_V4_ABS(t);
        if (off) {
            acc_o += BOUND_V4_CLEAR(y * off[q], z);
            mag_o += BOUND_V4_CLEAR(BOUND_V4_ABS(y) * offabs[q], z);
        }
        if (ew) err += BOUND_V4_CLEAR(BOUND_V4_ABS(y) * ew[q], z);
    }
    sm->acc = acc, sm->mag = mag, sm->acc_o = acc_o, sm->mag_o = mag_o, sm->err = err;
}

/* Lane k's sums onto row k's c, s, e. */
BOUND_V4_TARGET static inline __attribute__((always_inline)) void
SFX(act4_end)(const SFX(sums4) *sm, double *c, double *s, double *e)
{
    for (int k = 0; k < 4; k++) {
        c[k] += sm->acc[k] + sm->acc_o[k];
        s[k] += sm->mag[k] + sm->mag_o[k];
        e[k] += sm->err[k];
    }
}

/* Rows r + k are a + k lda and x + k ldx; c, s, e hold the four rows'. */
BOUND_V4_TARGET static void SFX(act_rows4)(const REAL *a, size_t lda, REAL *x, size_t ldx, size_t nq, const size_t *in,
                           const size_t *out, const double *ps, const double *pt, const double *ns,
                           const double *nt, const double *off, const double *offabs, const double *ew, double *c,
                           double *s, double *e)
{
    const REAL *a4[4] = {a, a + lda, a + 2 * lda, a + 3 * lda};
    REAL *x4[4] = {x, x + ldx, x + 2 * ldx, x + 3 * ldx};
    SFX(sums4) sm;
    memset(&sm, 0, sizeof sm);
    SFX(act4_run)(a4, x4, nq, in, out, ps, pt, ns, nt, off, offabs, ew, x == a || out, x == a, &sm);
    SFX(act4_end)(&sm, c, s, e);
}

/* Through the lines of activation layer j. The output is packed on j's live
 * neurons when a GEMM reads it next (a dense layer below, or the composite first
 * block: fb = 1), else full. The offset and budget of the affine layer below
 * (off_layer, or the composite with fb) are folded into the same pass. */
static void SFX(step_activation)(const bound_state *st, int j, SFX(blk) *b, int off_layer, int fb)
{
    const bound_work *w = st->work;
    const nn_model *m = st->model;
    const relax_lines *ln = &st->lines[j];
    size_t n = ln->n, nq = n, out_w = n;
    int a = bound_in(m, j, 0);
    int out_packed = packed(w, j) && (fb || (a >= 0 && m->layers[a].type == LAYER_DENSE));
    int in_packed = b->map != NULL;
    int fold = fb || off_layer >= 0;
    const double *ls = ln->lower_slope, *lt = ln->lower_icpt, *us = ln->upper_slope, *ut = ln->upper_icpt;
    const double *off = fb ? w->fb_c : off_layer >= 0 ? w->bfull[off_layer] : NULL;
    const double *offabs = fb ? w->fb_cabs : off_layer >= 0 ? w->babs[off_layer] : NULL;
    const double *ew = b->budget ? w->ew[PREC][j] : NULL;
    const size_t *in = NULL, *out = NULL;
    REAL *dst = b->A; /* in place unless the layout changes */
    if (in_packed || out_packed) {
        const double *pk = w->pk[j];
        ls = pk, lt = pk + n, us = pk + 2 * n, ut = pk + 3 * n;
        if (off) off = pk + 4 * n, offabs = pk + 5 * n;
        if (ew) ew = pk + (6 + PREC) * n;
        nq = w->n_live[j];
        out_w = out_packed ? nq : n;
        if (!in_packed) in = w->live[j];
        if (!out_packed) out = w->live[j];
        if (in_packed != out_packed) dst = b->B;
    }
    for (size_t r = 0, step; r < b->M; r += step) {
        const REAL *a = b->A + r * b->width;
        REAL *x = dst + r * out_w;
        int upper = r >= b->lo_rows;
        const double *ps = upper ? us : ls, *pt = upper ? ut : lt, *ns = upper ? ls : us, *nt = upper ? lt : ut;
        /* four rows of one side together while there are four (act_rows4) */
        step = w->rows4 && r + 4 <= (upper ? b->M : b->lo_rows) ? 4 : 1;
        if (out) memset(x, 0, step * out_w * sizeof *x);
        if (step == 4)
            SFX(act_rows4)(a, b->width, x, out_w, nq, in, out, ps, pt, ns, nt, off, offabs, ew, &b->c[r], &b->s[r],
                           &b->e[r]);
        else
            SFX(act_row)(a, x, nq, in, out, ps, pt, ns, nt, off, offabs, ew, &b->c[r], &b->s[r], &b->e[r]);
    }
    if (dst != b->A) SFX(swap)(b);
    b->width = out_w;
    b->map = out_packed ? w->live[j] : NULL;
    b->map_act = j;
    b->fused = fold;
}

/* One MaxPool output o of four rows of one side (coefficients v, lanes where v
 * is 0 left out as plane_term's caller leaves them): each lane plane_term's
 * operations in its order, then v times the selected plane's coefficients added
 * at x[k] + at(slot) for every slot with an input (at: sl[slot], or the input's
 * index where sl is NULL). No x entry is ever -0 (sums that start at +0), so
 * adding a masked +0 changes none. The sums end through act4_end: the offset
 * chains stay +0, and a sum that started at +0 plus +0 is itself. */
BOUND_V4_TARGET static inline __attribute__((always_inline)) void
SFX(pool4_out)(const relax_pool *p, size_t o, bound_v4d v, int upper, const double *hl, const double *hu,
               REAL *const x[4], const size_t *sl, SFX(sums4) *sm)
{
    size_t W = (size_t)p->window;
    bound_v4u z = (bound_v4u)(v == 0), ge = (bound_v4u)(v >= 0);
    bound_v4u use_u = upper ? ge : ~ge;
#define BLEND(lo_, hi_) ((bound_v4d)(((bound_v4u)(bound_v4d){hi_, hi_, hi_, hi_} & use_u) | \
                                     ((bound_v4u)(bound_v4d){lo_, lo_, lo_, lo_} & ~use_u)))
    bound_v4d t = BOUND_V4_CLEAR(v * BLEND(p->lower_icpt[o], p->upper_icpt[o]), z);
    sm->acc += t;
    sm->mag += BOUND_V4_ABS(t);
    if (hl) sm->err += BOUND_V4_CLEAR(BOUND_V4_ABS(v) * BLEND(hl[o], hu[o]), z);
    const double *cl = p->lower_coef + o * W, *cu = p->upper_coef + o * W;
    const int *in = p->inputs + o * W;
    for (size_t k = 0; k < W; k++) {
        if (in[k] < 0) continue;
        bound_v4d y = BOUND_V4_CLEAR(v * BLEND(cl[k], cu[k]), z);
        size_t d = sl ? sl[k] : (size_t)in[k];
        x[0][d] += (REAL)y[0], x[1][d] += (REAL)y[1], x[2][d] += (REAL)y[2], x[3][d] += (REAL)y[3];
    }
#undef BLEND
}

/* step_maxpool's rows r .. r + 3 (one side), one per lane. */
BOUND_V4_TARGET static void SFX(maxpool_rows4)(const relax_pool *p, SFX(blk) *b, size_t r, size_t n_in,
                                               const double *hl, const double *hu)
{
    size_t n_out = b->width;
    const REAL *a0 = b->A + r * n_out, *a1 = a0 + n_out, *a2 = a1 + n_out, *a3 = a2 + n_out;
    REAL *x[4] = {b->B + r * n_in, b->B + (r + 1) * n_in, b->B + (r + 2) * n_in, b->B + (r + 3) * n_in};
    memset(x[0], 0, 4 * n_in * sizeof *x[0]);
    SFX(sums4) sm;
    memset(&sm, 0, sizeof sm);
    int upper = r >= b->lo_rows;
    for (size_t o = 0; o < n_out; o++) {
        bound_v4d v = {a0[o], a1[o], a2[o], a3[o]};
        bound_v4u z = (bound_v4u)(v == 0);
        if (z[0] & z[1] & z[2] & z[3]) continue;
        SFX(pool4_out)(p, o, v, upper, hl, hu, x, NULL, &sm);
    }
    SFX(act4_end)(&sm, b->c + r, b->s + r, b->e + r);
}

/* Through MaxPool planes: A (M x n_out, full) -> (M x n_in); mph holds the
 * budget weight of each output's lower and upper plane. Four rows of one side
 * per vector while there are four (maxpool_rows4), the same bits. */
static void SFX(step_maxpool)(const bound_work *w, int j, const relax_pool *p, SFX(blk) *b, size_t n_in)
{
    int W = p->window;
    size_t n_out = b->width;
    const double *hl = b->budget ? w->mph[PREC][j] : NULL, *hu = hl ? hl + n_out : NULL;
    for (size_t r = 0, step; r < b->M; r += step) {
        int upper = r >= b->lo_rows;
        step = w->rows4 && r + 4 <= (upper ? b->M : b->lo_rows) ? 4 : 1;
        if (step == 4) {
            SFX(maxpool_rows4)(p, b, r, n_in, hl, hu);
            continue;
        }
        const REAL *a = b->A + r * n_out;
        REAL *x = b->B + r * n_in;
        memset(x, 0, n_in * sizeof *x);
        double acc = 0, mag = 0, err = 0;
        for (size_t o = 0; o < n_out; o++) {
            double v = a[o];
            if (v == 0) continue;
            const double *coef = plane_term(p, o, v, upper, hl, hu, &acc, &mag, &err);
            const int *in = p->inputs + o * (size_t)W;
            for (int k = 0; k < W; k++)
                if (in[k] >= 0) x[in[k]] += (REAL)(v * coef[k]);
        }
        b->c[r] += acc;
        b->s[r] += mag;
        b->e[r] += err;
    }
    SFX(swap)(b);
    b->width = n_in;
}

/* Windowed rows (bound_backward.c, "Windowed rows"). The rows of the map in
 * the window of row r: y in [*ylo, *yhi), x in [*xlo, *xhi) of the window. */
static void SFX(win_span)(const SFX(blk) *b, size_t r, int *ylo, int *yhi, int *xlo, int *xhi)
{
    int oy = b->oy[r], ox = b->ox[r];
    *ylo = oy < 0 ? -oy : 0;
    *yhi = b->mh - oy < b->wh ? b->mh - oy : b->wh;
    *xlo = ox < 0 ? -ox : 0;
    *xhi = b->mw - ox < b->ww ? b->mw - ox : b->ww;
    if (*yhi < *ylo) *yhi = *ylo;
    if (*xhi < *xlo) *xhi = *xlo;
}

/* Row r's window written out on the full map into x (n = cc mh mw entries). */
static void SFX(win_expand)(const SFX(blk) *b, size_t r, const REAL *a, REAL *x)
{
    size_t hw = (size_t)b->mh * (size_t)b->mw, whw = (size_t)b->wh * (size_t)b->ww;
    memset(x, 0, (size_t)b->cc * hw * sizeof *x);
    int ylo, yhi, xlo, xhi;
    SFX(win_span)(b, r, &ylo, &yhi, &xlo, &xhi);
    for (size_t c = 0; c < (size_t)b->cc; c++)
        for (int yy = ylo; yy < yhi; yy++) {
            const REAL *src = a + c * whw + (size_t)yy * (size_t)b->ww;
            REAL *dst = x + c * hw + (size_t)(b->oy[r] + yy) * (size_t)b->mw + (size_t)b->ox[r];
            for (int xx = xlo; xx < xhi; xx++) dst[xx] = src[xx];
        }
}

/* Row r's cells inside the map, in (channel, y, x) order: their values in double
 * into a and their indices on the map into idx; returns their count. */
static size_t SFX(win_gather)(const SFX(blk) *b, size_t r, double *a, size_t *idx)
{
    const REAL *row = b->A + r * b->width;
    size_t hw = (size_t)b->mh * (size_t)b->mw, whw = (size_t)b->wh * (size_t)b->ww, k = 0;
    int ylo, yhi, xlo, xhi;
    SFX(win_span)(b, r, &ylo, &yhi, &xlo, &xhi);
    for (size_t c = 0; c < (size_t)b->cc; c++)
        for (int yy = ylo; yy < yhi; yy++) {
            const REAL *src = row + c * whw + (size_t)yy * (size_t)b->ww;
            size_t g = c * hw + (size_t)(b->oy[r] + yy) * (size_t)b->mw + (size_t)b->ox[r];
            for (int xx = xlo; xx < xhi; xx++) {
                a[k] = src[xx];
                idx[k++] = g + (size_t)xx;
            }
        }
    return k;
}

/* Full layout again: where a layer's input window would cover its whole map, or
 * a layer with no windowed step (dense, packed activations, the composite). */
static void SFX(uncrop)(SFX(blk) *b)
{
    size_t n = (size_t)b->cc * (size_t)b->mh * (size_t)b->mw;
    for (size_t r = 0; r < b->M; r++) SFX(win_expand)(b, r, b->A + r * b->width, b->B + r * n);
    SFX(swap)(b);
    b->width = n;
    b->crop = 0;
}

/* offset_pass on windowed rows: the same terms in the same (neuron) order, zeros
 * outside the windows left out. */
static void SFX(offset_pass_crop)(const bound_work *w, int j, SFX(blk) *b)
{
    const double *off = w->bfull[j], *offabs = w->babs[j], *v = b->budget ? w->vmag[j] : NULL;
    double g = w->gam[PREC][j];
    if (!off && (!v || g == 0)) return;
    size_t hw = (size_t)b->mh * (size_t)b->mw, whw = (size_t)b->wh * (size_t)b->ww;
    for (size_t r = 0; r < b->M; r++) {
        const REAL *a = b->A + r * b->width;
        double acc = 0, mag = 0, err = 0;
        int ylo, yhi, xlo, xhi;
        SFX(win_span)(b, r, &ylo, &yhi, &xlo, &xhi);
        for (size_t c = 0; c < (size_t)b->cc; c++)
            for (int yy = ylo; yy < yhi; yy++) {
                const REAL *ar = a + c * whw + (size_t)yy * (size_t)b->ww;
                size_t k0 = c * hw + (size_t)(b->oy[r] + yy) * (size_t)b->mw + (size_t)b->ox[r];
                for (int xx = xlo; xx < xhi; xx++)
                    offset_term(ar[xx], k0 + (size_t)xx, off, offabs, v, &acc, &mag, &err);
            }
        b->c[r] += acc;
        b->s[r] += mag;
        b->e[r] += g * err;
    }
}

/* step_affine on windowed rows (conv, avgpool, normalize): the input windows. */
static int SFX(step_affine_crop)(bound_state *st, int j, SFX(blk) *b, nn_error *err)
{
    bound_work *w = st->work;
    const nn_layer *L = &st->model->layers[j];
    int hi, wi;
    layer_window_below(L, b->wh, b->ww, &hi, &wi);
    size_t width = (size_t)L->in.c * (size_t)hi * (size_t)wi;
    double t0 = bound_gemm_clock(st);
#if PREC == 0
    int rc = layer_affine_adjoint_window_ws(L, b->A, b->M, b->width, b->wh, b->ww, b->oy, b->ox, b->B, width, &w->ws,
                                            err);
#else
    int rc = layer_affine_adjoint_window_f_ws(L, w->wf[j], b->A, b->M, b->width, b->wh, b->ww, b->oy, b->ox, b->B,
                                              width, &w->ws, err);
#endif
    if (rc) return rc;
    if (L->type == LAYER_CONV2D)
        st->flops += 2.0 * (double)b->M * (double)b->wh * (double)b->ww * (double)L->out_channels *
                     (double)L->in.c * (double)L->kernel[0] * (double)L->kernel[1];
    bound_gemm_clock_add(st, t0);
    layer_window_origin_below(L, b->oy, b->ox, b->M);
    b->cc = L->in.c;
    b->mh = L->in.h;
    b->mw = L->in.w;
    b->wh = hi;
    b->ww = wi;
    b->width = width;
    SFX(swap)(b);
    return NN_OK;
}

/* act_row on a windowed row, in place: the same terms in the same (neuron) order.
 * Out of line, as maxpool_crop_row: inlined into step_layer, the one-row
 * windowed steps made float certify of the wide CNN 10 % slower. */
__attribute__((noinline)) static void SFX(act_row_crop)(const SFX(blk) *b, size_t r, REAL *a, const double *ps, const double *pt,
                              const double *ns, const double *nt, const double *off, const double *offabs,
                              const double *ew, double *c, double *s, double *e)
{
    size_t hw = (size_t)b->mh * (size_t)b->mw, whw = (size_t)b->wh * (size_t)b->ww;
    double acc = 0, mag = 0, acc_o = 0, mag_o = 0, err = 0;
    int ylo, yhi, xlo, xhi;
    SFX(win_span)(b, r, &ylo, &yhi, &xlo, &xhi);
    for (size_t ch = 0; ch < (size_t)b->cc; ch++)
        for (int yy = ylo; yy < yhi; yy++) {
            REAL *ar = a + ch * whw + (size_t)yy * (size_t)b->ww;
            size_t q0 = ch * hw + (size_t)(b->oy[r] + yy) * (size_t)b->mw + (size_t)b->ox[r];
            for (int xx = xlo; xx < xhi; xx++) {
                double v = ar[xx];
                if (v == 0) continue;
                size_t q = q0 + (size_t)xx;
                double vp = bound_pos_part(v), vn = v - vp;
                double t = vp * pt[q] + vn * nt[q];
                REAL y = (REAL)(vp * ps[q] + vn * ns[q]);
                ar[xx] = y;
                acc += t;
                mag += fabs(t);
                if (off) {
                    acc_o += y * off[q];
                    mag_o += fabs(y) * offabs[q];
                }
                if (ew) err += fabs(y) * ew[q];
            }
        }
    *c += acc + acc_o;
    *s += mag + mag_o;
    *e += err;
}

/* act_row_crop on the four windowed rows r .. r + 3 of one side, whose windows
 * have one origin (so their cells sit at the same places), in place: act_rows4's
 * lanes, one run per line of the window, in act_row_crop's order. */
BOUND_V4_TARGET static void SFX(act_rows4_crop)(SFX(blk) *b, size_t r0, const double *ps, const double *pt,
                                                const double *ns, const double *nt, const double *off,
                                                const double *offabs, const double *ew)
{
    size_t hw = (size_t)b->mh * (size_t)b->mw, whw = (size_t)b->wh * (size_t)b->ww;
    int ylo, yhi, xlo, xhi;
    SFX(win_span)(b, r0, &ylo, &yhi, &xlo, &xhi);
    SFX(sums4) sm;
    memset(&sm, 0, sizeof sm);
    size_t nq = (size_t)(xhi - xlo);
    for (size_t ch = 0; nq && ch < (size_t)b->cc; ch++)
        for (int yy = ylo; yy < yhi; yy++) {
            size_t at = ch * whw + (size_t)yy * (size_t)b->ww + (size_t)xlo;
            size_t q = ch * hw + (size_t)(b->oy[r0] + yy) * (size_t)b->mw + (size_t)(b->ox[r0] + xlo);
            REAL *x4[4];
            for (size_t k = 0; k < 4; k++) x4[k] = b->A + (r0 + k) * b->width + at;
            SFX(act4_run)((const REAL *const *)x4, x4, nq, NULL, NULL, ps + q, pt + q, ns + q, nt + q,
                          off ? off + q : NULL, off ? offabs + q : NULL, ew ? ew + q : NULL, 1, 1, &sm);
        }
    SFX(act4_end)(&sm, b->c + r0, b->s + r0, b->e + r0);
}

/* The end of the run of rows from r (< M) of one side and one window origin.
 * Block-free rows come cell by cell (bound_crown.c), so a cell's rows of a side
 * are neighbours, and stay so: every layer moves all origins alike. Four rows
 * of a run go through the vector steps at a time, the rest one by one; no
 * row's bits depend on its group. */
static size_t SFX(win_run_end)(const SFX(blk) *b, size_t r)
{
    size_t q = r + 1;
    int upper = r >= b->lo_rows;
    while (q < b->M && (q >= b->lo_rows) == upper && b->oy[q] == b->oy[r] && b->ox[q] == b->ox[r]) q++;
    return q;
}

/* step_activation on windowed rows (output not packed): in place. */
static void SFX(step_activation_crop)(const bound_state *st, int j, SFX(blk) *b, int off_layer)
{
    const bound_work *w = st->work;
    const relax_lines *ln = &st->lines[j];
    const double *off = off_layer >= 0 ? w->bfull[off_layer] : NULL;
    const double *offabs = off_layer >= 0 ? w->babs[off_layer] : NULL;
    const double *ew = b->budget ? w->ew[PREC][j] : NULL;
    for (size_t p = 0, q; p < b->M; p = q) {
        q = SFX(win_run_end)(b, p);
        int upper = p >= b->lo_rows;
        const double *ps = upper ? ln->upper_slope : ln->lower_slope, *pt = upper ? ln->upper_icpt : ln->lower_icpt;
        const double *ns = upper ? ln->lower_slope : ln->upper_slope, *nt = upper ? ln->lower_icpt : ln->upper_icpt;
        size_t k = p;
        for (; w->rows4 && k + 4 <= q; k += 4) SFX(act_rows4_crop)(b, k, ps, pt, ns, nt, off, offabs, ew);
        for (; k < q; k++)
            SFX(act_row_crop)(b, k, b->A + k * b->width, ps, pt, ns, nt, off, offabs, ew, &b->c[k], &b->s[k],
                              &b->e[k]);
    }
    b->fused = off_layer >= 0;
}

/* One windowed row (or four of one origin, rows4) through MaxPool planes, onto
 * the input windows (step_maxpool_crop). */
typedef struct {
    const relax_pool *p;
    int kw, sh, sw, dh, dw, wi;
    size_t width, hwi, hw, whw;
    const size_t *sl;      /* window slot k's offset from its output cell's first slot (NULL: W > 64) */
    const double *hl, *hu; /* budget weights of the planes, or NULL */
} SFX(pool_win);

__attribute__((noinline)) static void SFX(maxpool_crop_row)(const SFX(pool_win) *g, SFX(blk) *b, size_t r)
{
    const relax_pool *p = g->p;
    int W = p->window, upper = r >= b->lo_rows;
    const REAL *a = b->A + r * b->width;
    REAL *x = b->B + r * g->width;
    memset(x, 0, g->width * sizeof *x);
    double acc = 0, mag = 0, err = 0;
    int ylo, yhi, xlo, xhi;
    SFX(win_span)(b, r, &ylo, &yhi, &xlo, &xhi);
    for (size_t ch = 0; ch < (size_t)b->cc; ch++)
        for (int yy = ylo; yy < yhi; yy++)
            for (int xx = xlo; xx < xhi; xx++) {
                double v = a[ch * g->whw + (size_t)yy * (size_t)b->ww + (size_t)xx];
                if (v == 0) continue;
                size_t o = ch * g->hw + (size_t)(b->oy[r] + yy) * (size_t)b->mw + (size_t)(b->ox[r] + xx);
                const double *coef = plane_term(p, o, v, upper, g->hl, g->hu, &acc, &mag, &err);
                const int *in = p->inputs + o * (size_t)W;
                REAL *base = x + ch * g->hwi + (size_t)(yy * g->sh) * (size_t)g->wi + (size_t)(xx * g->sw);
                for (int k = 0; k < W; k++)
                    if (in[k] >= 0) {
                        size_t d = g->sl ? g->sl[k]
                                         : (size_t)((k / g->kw) * g->dh) * (size_t)g->wi + (size_t)((k % g->kw) * g->dw);
                        base[d] += (REAL)(v * coef[k]);
                    }
            }
    b->c[r] += acc;
    b->s[r] += mag;
    b->e[r] += err;
}

/* maxpool_crop_row on rows r0 .. r0 + 3, one side and one origin, one per lane. */
BOUND_V4_TARGET static void SFX(maxpool_crop_rows4)(const SFX(pool_win) *g, SFX(blk) *b, size_t r0)
{
    REAL *x[4];
    for (size_t k = 0; k < 4; k++) x[k] = b->B + (r0 + k) * g->width;
    memset(x[0], 0, 4 * g->width * sizeof *x[0]);
    const REAL *a0 = b->A + r0 * b->width, *a1 = a0 + b->width, *a2 = a1 + b->width, *a3 = a2 + b->width;
    SFX(sums4) sm;
    memset(&sm, 0, sizeof sm);
    int ylo, yhi, xlo, xhi, upper = r0 >= b->lo_rows;
    SFX(win_span)(b, r0, &ylo, &yhi, &xlo, &xhi);
    for (size_t ch = 0; ch < (size_t)b->cc; ch++)
        for (int yy = ylo; yy < yhi; yy++)
            for (int xx = xlo; xx < xhi; xx++) {
                size_t at = ch * g->whw + (size_t)yy * (size_t)b->ww + (size_t)xx;
                bound_v4d v = {a0[at], a1[at], a2[at], a3[at]};
                bound_v4u z = (bound_v4u)(v == 0);
                if (z[0] & z[1] & z[2] & z[3]) continue;
                size_t o = ch * g->hw + (size_t)(b->oy[r0] + yy) * (size_t)b->mw + (size_t)(b->ox[r0] + xx);
                size_t cell = ch * g->hwi + (size_t)(yy * g->sh) * (size_t)g->wi + (size_t)(xx * g->sw);
                REAL *base[4] = {x[0] + cell, x[1] + cell, x[2] + cell, x[3] + cell};
                SFX(pool4_out)(g->p, o, v, upper, g->hl, g->hu, base, g->sl, &sm);
            }
    SFX(act4_end)(&sm, b->c + r0, b->s + r0, b->e + r0);
}

/* step_maxpool on windowed rows: the outputs of each window in the map, in
 * (channel, y, x) order as step_maxpool, scattered onto the input window; four
 * rows of one origin per vector where they are (win_run_end). */
static void SFX(step_maxpool_crop)(const bound_state *st, int j, SFX(blk) *b)
{
    const bound_work *w = st->work;
    const nn_layer *L = &st->model->layers[j];
    const relax_pool *p = &st->pools[j];
    int W = p->window, hi, wi;
    layer_window_below(L, b->wh, b->ww, &hi, &wi);
    size_t n_out = p->n_out;
    const double *hl = b->budget ? w->mph[PREC][j] : NULL;
    size_t slot_tab[64];
    SFX(pool_win) g = {p, L->kernel[1], L->stride[0], L->stride[1], L->dilation[0], L->dilation[1], wi,
                       (size_t)b->cc * (size_t)hi * (size_t)wi, (size_t)hi * (size_t)wi,
                       (size_t)b->mh * (size_t)b->mw, (size_t)b->wh * (size_t)b->ww, W <= 64 ? slot_tab : NULL,
                       hl, hl ? hl + n_out : NULL};
    for (int k = 0; g.sl && k < W; k++)
        slot_tab[k] = (size_t)((k / g.kw) * g.dh) * (size_t)wi + (size_t)((k % g.kw) * g.dw);
    for (size_t q0 = 0, q1; q0 < b->M; q0 = q1) {
        q1 = SFX(win_run_end)(b, q0);
        size_t k = q0;
        for (; w->rows4 && g.sl && k + 4 <= q1; k += 4) SFX(maxpool_crop_rows4)(&g, b, k);
        for (; k < q1; k++) SFX(maxpool_crop_row)(&g, b, k);
    }
    layer_window_origin_below(L, b->oy, b->ox, b->M);
    b->mh = L->in.h;
    b->mw = L->in.w;
    b->wh = hi;
    b->ww = wi;
    b->width = g.width;
    SFX(swap)(b);
}

/* Can layer j (not a flatten) be crossed by windowed rows without their input
 * window covering its whole map? Activations: when their output is not packed. */
static int SFX(crop_keeps)(const bound_state *st, int j, const SFX(blk) *b, int out_packed)
{
    const nn_layer *L = &st->model->layers[j];
    if (layer_is_activation(L->type)) return !out_packed;
    if (!(L->type == LAYER_CONV2D || L->type == LAYER_AVGPOOL2D || L->type == LAYER_NORMALIZE ||
          L->type == LAYER_MAXPOOL2D))
        return 0;
    int hi, wi;
    layer_window_below(L, b->wh, b->ww, &hi, &wi);
    return (size_t)hi * (size_t)wi < (size_t)L->in.h * (size_t)L->in.w;
}

/* The starting rows of a block: C (rows on the model output, top = n_layers) plus
 * d; else rows idx of W when layer top's input is a dense layer's output; else
 * identity rows idx. *pos gets the layer whose output the rows are on. The block's
 * A and per-row arrays are set by the caller (oy, ox may be NULL: win_org). */
static int SFX(start_rows)(bound_state *st, int top, size_t R, const size_t *idx, const double *C, size_t ldc,
                           const double *d, SFX(blk) *b, int *pos, nn_error *err)
{
    bound_work *w = st->work;
    const nn_model *m = st->model;
    int s = top < m->n_layers ? bound_in(m, top, 0) : m->n_layers - 1;
    if (C) {
        b->width = model_output_size(m);
        for (size_t r = 0; r < R; r++) {
            for (size_t k = 0; k < b->width; k++) b->A[r * b->width + k] = (REAL)C[r * ldc + k];
            b->c[r] = d ? d[r] : 0.0;
            b->s[r] = d ? fabs(d[r]) : 0.0;
            /* C is exact in double; in float it would need the output's magnitudes */
            b->e[r] = 0.0;
        }
        *pos = s;
    } else if (s >= 0 && m->layers[s].type == LAYER_DENSE) {
        /* Rows of W directly (on the live columns below): no identity GEMM. In
         * float, W's rounding costs at most u |W_i| . G = u vmag_i. */
        const nn_layer *L = &m->layers[s];
        size_t n_in = shape_size(L->in);
        int dn = act_below(m, s);
        b->map = packed(w, dn) ? w->live[dn] : NULL;
        b->map_act = dn;
        b->width = b->map ? w->n_live[dn] : n_in;
        for (size_t r = 0; r < R; r++) {
            const double *src = L->weight + idx[r] * n_in;
            REAL *a = b->A + r * b->width;
            for (size_t k = 0; k < b->width; k++) a[k] = (REAL)src[b->map ? b->map[k] : k];
            b->c[r] = L->bias[idx[r]];
            b->s[r] = fabs(L->bias[idx[r]]);
            b->e[r] = PREC && b->budget ? UNIT_ROUNDOFF_F * w->vmag[s][idx[r]] : 0.0;
        }
        *pos = bound_in(m, s, 0);
    } else if (s >= 0 && !st->opt.dense_rows && m->layers[s].type != LAYER_FLATTEN &&
               (size_t)m->layers[s].out.h * (size_t)m->layers[s].out.w > 1) {
        /* windowed identity rows: a 1 x 1 window at the neuron's cell */
        const nn_layer *L = &m->layers[s];
        if (!b->oy) {
            if (win_scratch(w, err)) return NN_ENOMEM;
            b->oy = w->win_org;
            b->ox = w->win_org + 2 * w->rb;
        }
        b->crop = 1;
        b->cc = L->out.c;
        b->mh = L->out.h;
        b->mw = L->out.w;
        b->wh = b->ww = 1;
        b->width = (size_t)b->cc;
        size_t hw = (size_t)b->mh * (size_t)b->mw;
        memset(b->A, 0, R * b->width * sizeof *b->A);
        for (size_t r = 0; r < R; r++) {
            size_t ch = idx[r] / hw, p = idx[r] % hw;
            b->A[r * b->width + ch] = 1;
            b->oy[r] = (int)(p / (size_t)b->mw);
            b->ox[r] = (int)(p % (size_t)b->mw);
            b->c[r] = b->s[r] = b->e[r] = 0.0;
        }
        *pos = s;
    } else {
        b->width = s >= 0 ? shape_size(m->layers[s].out) : w->n_in;
        memset(b->A, 0, R * b->width * sizeof *b->A);
        for (size_t r = 0; r < R; r++) {
            b->A[r * b->width + idx[r]] = 1;
            b->c[r] = b->s[r] = b->e[r] = 0.0;
        }
        *pos = s;
    }
    return NN_OK;
}

/* One layer j (not an add) for a block on its output: the block ends on j's input.
 * *done: the pass crossed the first block's composite and reached the input. */
static int SFX(step_layer)(bound_state *st, int j, int stop, SFX(blk) *b, int *done, nn_error *err)
{
    bound_work *w = st->work;
    const nn_model *m = st->model;
    const nn_layer *L = &m->layers[j];
    int a = bound_in(m, j, 0);
    if (b->crop) { /* windowed rows go on while the windows stay smaller than the maps */
        int keep = L->type != LAYER_FLATTEN;
        if (keep && layer_is_activation(L->type)) {
            int fb = j == w->first_nl && stop == 0 && w->fb_gemm;
            keep = !fb && !(packed(w, j) && a >= 0 && m->layers[a].type == LAYER_DENSE);
        }
        if (!keep || !SFX(crop_keeps)(st, j, b, 0)) SFX(uncrop)(b);
    }
    if (L->type == LAYER_FLATTEN) return NN_OK; /* identity on memory */
    if (b->crop && layer_is_affine(L->type)) {
        if (!b->fused) SFX(offset_pass_crop)(w, j, b);
        b->fused = 0;
        int rc = SFX(step_affine_crop)(st, j, b, err);
        return rc ? nn_error_prefix(err, "backward pass, layer %d: ", j) : NN_OK;
    }
    if (layer_is_affine(L->type)) {
        if (b->map && L->type != LAYER_DENSE) SFX(unpack)(b, shape_size(L->out));
        if (!b->fused) SFX(offset_pass)(w, j, b);
        b->fused = 0;
        int rc = SFX(step_affine)(st, j, b, err);
        return rc ? nn_error_prefix(err, "backward pass, layer %d: ", j) : NN_OK;
    }
    SFX(split_sides)(b);
    if (layer_is_activation(L->type)) {
        int fb = j == w->first_nl && stop == 0 && w->fb_gemm;
        int k = affine_below(w, m, j);
        if (b->crop) SFX(step_activation_crop)(st, j, b, k < stop ? -1 : k);
        else SFX(step_activation)(st, j, b, fb || k < stop ? -1 : k, fb);
        if (fb) {
            *done = 1;
            return SFX(step_first_block)(st, b, err);
        }
    } else if (L->type == LAYER_MAXPOOL2D) {
        if (b->map) SFX(unpack)(b, shape_size(L->out));
        if (b->crop) SFX(step_maxpool_crop)(st, j, b);
        else SFX(step_maxpool)(w, j, &st->pools[j], b, shape_size(L->in));
        b->fused = 0;
    } else {
        return nn_fail(err, NN_EUNSUPPORTED, "backward pass: layer %d (%s) is not supported", j,
                       layer_type_name(L->type));
    }
    return NN_OK;
}

static void SFX(blk_begin)(bound_work *w, SFX(blk) *b, size_t R, int want_l, int want_u, int budget)
{
    memset(b, 0, sizeof *b);
    b->R = b->M = R;
    b->want_l = want_l;
    b->want_u = want_u;
    b->budget = budget;
    b->map_act = -1;
    (void)w;
}

/* Propagate a block from the input of layer top down to the input of layer stop
 * (a chain; residual graphs: propagate_dag). */
static int SFX(propagate)(bound_state *st, int top, int stop, size_t R, const size_t *idx, const double *C,
                          size_t ldc, const double *d, int want_l, int want_u, SFX(blk) *b, nn_error *err)
{
    bound_work *w = st->work;
    SFX(blk_begin)(w, b, R, want_l, want_u, top > w->first_nl);
    b->A = (REAL *)w->buf[0];
    b->B = (REAL *)w->buf[1];
    b->c = w->c;
    b->s = w->s;
    b->e = w->e;
    if (b->budget) {
        int rc = check_budget(st, top, err);
        if (rc) return rc;
    }
    int j;
    int rc = SFX(start_rows)(st, top, R, idx, C, ldc, d, b, &j, err);
    if (rc) return rc;
    for (; j >= stop; j--) {
        int done = 0;
        if ((rc = SFX(step_layer)(st, j, stop, b, &done, err))) return rc;
        if (done) return NN_OK;
    }
    return NN_OK;
}

/* ---- residual graphs (bound_backward.c, "Residual graphs") ---- */

/* The pool of row blocks of a pass: buffers (rotating: a step writes the scratch
 * and swaps) and per-row arrays (fixed to their block). */
typedef struct {
    REAL *buf[BOUND_MAX_SLOTS];
    int nbuf;
    int row[BOUND_MAX_SLOTS];
    int nrow;
    REAL *scratch;
} SFX(pool);

static int SFX(pool_take)(bound_state *st, SFX(pool) *p, SFX(blk) *b, nn_error *err)
{
    bound_work *w = st->work;
    if (p->nbuf == 0 || p->nrow == 0)
        return nn_fail(err, NN_EARG, "backward pass over the graph: more pending row blocks than the %d planned",
                       w->n_slots);
    b->A = p->buf[--p->nbuf];
    b->slot = p->row[--p->nrow];
    double *r = w->slot_row[b->slot];
    b->c = r;
    b->s = r + 2 * w->rb;
    b->e = r + 4 * w->rb;
    b->oy = w->slot_org[b->slot];
    b->ox = b->oy + 2 * w->rb;
    return NN_OK;
}

static void SFX(pool_give)(SFX(pool) *p, SFX(blk) *b)
{
    p->buf[p->nbuf++] = b->A;
    p->row[p->nrow++] = b->slot;
    b->A = NULL;
}

/* Run a step that may write the scratch buffer: b->B is the scratch around it. */
#define WITH_SCRATCH(p, b, call) \
    do {                         \
        (b)->B = (p)->scratch;   \
        call;                    \
        (p)->scratch = (b)->B;   \
    } while (0)

/* Same window geometry for every row of x and y? */
static int SFX(same_windows)(const SFX(blk) *x, const SFX(blk) *y)
{
    if (x->wh != y->wh || x->ww != y->ww) return 0;
    for (size_t r = 0; r < x->M; r++)
        if (x->oy[r] != y->oy[r] || x->ox[r] != y->ox[r]) return 0;
    return 1;
}

/* Windowed rows x re-laid on windows of h x ww2 at origins (oy, ox) that contain
 * theirs, into the scratch. */
static void SFX(rewindow)(SFX(blk) *x, int h, int ww2, const int *oy, const int *ox)
{
    size_t whw = (size_t)x->wh * (size_t)x->ww, nhw = (size_t)h * (size_t)ww2, width = (size_t)x->cc * nhw;
    for (size_t r = 0; r < x->M; r++) {
        const REAL *a = x->A + r * x->width;
        REAL *o = x->B + r * width;
        memset(o, 0, width * sizeof *o);
        int dy = x->oy[r] - oy[r], dx = x->ox[r] - ox[r];
        for (size_t c = 0; c < (size_t)x->cc; c++)
            for (int yy = 0; yy < x->wh; yy++)
                memcpy(o + c * nhw + (size_t)(yy + dy) * (size_t)ww2 + (size_t)dx, a + c * whw + (size_t)yy * (size_t)x->ww,
                       (size_t)x->ww * sizeof *o);
        x->oy[r] = oy[r];
        x->ox[r] = ox[r];
    }
    SFX(swap)(x);
    x->wh = h;
    x->ww = ww2;
    x->width = width;
}

/* Two windowed blocks on one map onto common windows: per row the corner of the
 * smallest rectangle holding both windows, the block's size the largest such
 * rectangle; returns 0 (nothing changed) where that would cover the whole map. */
static int SFX(common_windows)(bound_state *st, SFX(pool) *p, SFX(blk) *x, SFX(blk) *y, nn_error *err)
{
    bound_work *w = st->work;
    int h = 0, wd = 0;
    for (size_t r = 0; r < x->M; r++) {
        int y0 = x->oy[r] < y->oy[r] ? x->oy[r] : y->oy[r], x0 = x->ox[r] < y->ox[r] ? x->ox[r] : y->ox[r];
        int y1 = x->oy[r] + x->wh > y->oy[r] + y->wh ? x->oy[r] + x->wh : y->oy[r] + y->wh;
        int x1 = x->ox[r] + x->ww > y->ox[r] + y->ww ? x->ox[r] + x->ww : y->ox[r] + y->ww;
        if (y1 - y0 > h) h = y1 - y0;
        if (x1 - x0 > wd) wd = x1 - x0;
    }
    if ((size_t)h * (size_t)wd >= (size_t)x->mh * (size_t)x->mw) return 0;
    if (win_scratch(w, err)) return -1;
    int *ny = w->win_org, *nx = w->win_org + 2 * w->rb;
    for (size_t r = 0; r < x->M; r++) {
        ny[r] = x->oy[r] < y->oy[r] ? x->oy[r] : y->oy[r];
        nx[r] = x->ox[r] < y->ox[r] ? x->ox[r] : y->ox[r];
    }
    WITH_SCRATCH(p, x, SFX(rewindow)(x, h, wd, ny, nx));
    WITH_SCRATCH(p, y, SFX(rewindow)(y, h, wd, ny, nx));
    return 1;
}

/* y += x for two blocks on layer k's output (k = -1: the model input), x's rows
 * then free. Both go to one layout first: the same sides, common windows or full
 * rows, the same packing or none. Each sum fl(y + x) errs by at most u (|y| + |x|),
 * so with G_k >= |output of k| the rows' budget grows by u (|y| + |x|) . G_k (and,
 * in float, FLT_MIN ||G_k||_1 for sums that underflow). */
static int SFX(merge)(bound_state *st, SFX(pool) *p, int k, SFX(blk) *y, SFX(blk) *x, nn_error *err)
{
    bound_work *w = st->work;
    const nn_model *m = st->model;
    size_t n = k < 0 ? w->n_in : shape_size(m->layers[k].out);
    if (x->fused || y->fused)
        return nn_fail(err, NN_EARG, "backward pass over the graph: rows meet at layer %d with an offset folded in", k);
    if (x->split && !y->split) SFX(split_sides)(y);
    if (y->split && !x->split) SFX(split_sides)(x);
    if (x->crop && y->crop && !SFX(same_windows)(x, y)) {
        int rc = SFX(common_windows)(st, p, x, y, err);
        if (rc < 0) return NN_ENOMEM;
        if (rc == 0) {
            WITH_SCRATCH(p, x, SFX(uncrop)(x));
            WITH_SCRATCH(p, y, SFX(uncrop)(y));
        }
    }
    if (x->crop && !y->crop) WITH_SCRATCH(p, x, SFX(uncrop)(x));
    if (y->crop && !x->crop) WITH_SCRATCH(p, y, SFX(uncrop)(y));
    if (x->map != y->map) {
        if (x->map) WITH_SCRATCH(p, x, SFX(unpack)(x, n));
        if (y->map) WITH_SCRATCH(p, y, SFX(unpack)(y, n));
    }
    const double *G = y->budget ? w->dag_g[k + 1] : NULL;
    double u = unit_roundoff[PREC] * (1 + 1e-9), tau = 0;
    if (G && PREC) {
        for (size_t q = 0; q < n; q++) tau += G[q];
        tau *= FLT_MIN * (1 + 1e-6);
    }
    size_t hw = (size_t)y->mh * (size_t)y->mw, whw = (size_t)y->wh * (size_t)y->ww;
    for (size_t r = 0; r < y->M; r++) {
        REAL *a = y->A + r * y->width;
        const REAL *b = x->A + r * x->width;
        double mag = 0;
        if (y->crop) {
            int ylo, yhi, xlo, xhi;
            SFX(win_span)(y, r, &ylo, &yhi, &xlo, &xhi);
            for (size_t c = 0; c < (size_t)y->cc; c++)
                for (int yy = ylo; yy < yhi; yy++) {
                    size_t o = c * whw + (size_t)yy * (size_t)y->ww;
                    size_t g = c * hw + (size_t)(y->oy[r] + yy) * (size_t)y->mw + (size_t)y->ox[r];
                    for (int xx = xlo; xx < xhi; xx++) {
                        if (G) mag += (fabs((double)a[o + xx]) + fabs((double)b[o + xx])) * G[g + (size_t)xx];
                        a[o + xx] += b[o + xx];
                    }
                }
        } else {
            for (size_t q = 0; q < y->width; q++) {
                if (G) mag += (fabs((double)a[q]) + fabs((double)b[q])) * G[y->map ? y->map[q] : q];
                a[q] += b[q];
            }
        }
        y->c[r] += x->c[r];
        y->s[r] += x->s[r];
        y->e[r] += x->e[r] + (G ? u * mag + tau : 0.0);
    }
    SFX(pool_give)(p, x);
    return NN_OK;
}

/* A block onto layer k's output: kept, or summed into the rows already there. */
static int SFX(deposit)(bound_state *st, SFX(pool) *p, SFX(blk) *pend, int k, SFX(blk) *b, nn_error *err)
{
    if (!pend[k + 1].A) {
        pend[k + 1] = *b;
        return NN_OK;
    }
    return SFX(merge)(st, p, k, &pend[k + 1], b, err);
}

/* propagate on a residual graph: layers in reverse order, one pending block per
 * output that rows reached; an add sends a block to both inputs (the constants
 * stay with the first), a fork sums the blocks of its readers. Ends with pend[k + 1]
 * the rows on the outputs k < stop (stop = 0: only pend[0], the model input). */
static int SFX(propagate_dag)(bound_state *st, int top, int stop, size_t R, const size_t *idx, const double *C,
                              size_t ldc, const double *d, int want_l, int want_u, SFX(blk) *pend, nn_error *err)
{
    bound_work *w = st->work;
    const nn_model *m = st->model;
    int rc = bound_backward_slots(st, err);
    if (rc) return rc;
    SFX(pool) p;
    p.nbuf = p.nrow = 0;
    for (int q = 0; q < w->n_slots; q++) {
        p.buf[p.nbuf++] = (REAL *)w->slot_buf[q];
        p.row[p.nrow++] = q;
    }
    p.scratch = p.buf[--p.nbuf];
    for (int k = 0; k <= m->n_layers; k++) pend[k].A = NULL;
    SFX(blk) b;
    SFX(blk_begin)(w, &b, R, want_l, want_u, top > w->first_nl);
    if (b.budget && (rc = check_budget(st, top, err))) return rc;
    if ((rc = SFX(pool_take)(st, &p, &b, err))) return rc;
    int pos;
    if ((rc = SFX(start_rows)(st, top, R, idx, C, ldc, d, &b, &pos, err))) return rc;
    pend[pos + 1] = b;
    for (int j = pos; j >= stop; j--) {
        if (!pend[j + 1].A) continue;
        b = pend[j + 1];
        pend[j + 1].A = NULL;
        const nn_layer *L = &m->layers[j];
        if (L->type == LAYER_ADD) {
            SFX(blk) x = b;
            if ((rc = SFX(pool_take)(st, &p, &x, err))) return rc;
            memcpy(x.A, b.A, b.M * b.width * sizeof *x.A);
            if (b.crop) {
                memcpy(x.oy, b.oy, b.M * sizeof *x.oy);
                memcpy(x.ox, b.ox, b.M * sizeof *x.ox);
            }
            memset(x.c, 0, b.M * sizeof *x.c);
            memset(x.s, 0, b.M * sizeof *x.s);
            memset(x.e, 0, b.M * sizeof *x.e);
            if ((rc = SFX(deposit)(st, &p, pend, bound_in(m, j, 0), &b, err))) return rc;
            if ((rc = SFX(deposit)(st, &p, pend, bound_in(m, j, 1), &x, err))) return rc;
            continue;
        }
        int done = 0;
        b.B = p.scratch;
        rc = SFX(step_layer)(st, j, stop, &b, &done, err);
        p.scratch = b.B;
        if (rc) return rc;
        if ((rc = SFX(deposit)(st, &p, pend, bound_in(m, j, 0), &b, err))) return rc;
    }
    return NN_OK;
}

/* Row r of the block as doubles on the full width n: the row itself in double
 * without packing, else converted or unpacked into tmp. */
static const double *SFX(row_double)(const SFX(blk) *b, size_t r, size_t n, double *tmp)
{
    const REAL *a = b->A + r * b->width;
    if (b->crop) { /* the window on the full map (n = cc mh mw) */
        size_t hw = (size_t)b->mh * (size_t)b->mw, whw = (size_t)b->wh * (size_t)b->ww;
        memset(tmp, 0, n * sizeof *tmp);
        int ylo, yhi, xlo, xhi;
        SFX(win_span)(b, r, &ylo, &yhi, &xlo, &xhi);
        for (size_t c = 0; c < (size_t)b->cc; c++)
            for (int yy = ylo; yy < yhi; yy++) {
                const REAL *src = a + c * whw + (size_t)yy * (size_t)b->ww;
                double *dst = tmp + c * hw + (size_t)(b->oy[r] + yy) * (size_t)b->mw + (size_t)b->ox[r];
                for (int xx = xlo; xx < xhi; xx++) dst[xx] = src[xx];
            }
        return tmp;
    }
#if PREC == 0
    if (!b->map) return a;
#endif
    if (b->map) {
        memset(tmp, 0, n * sizeof *tmp);
        for (size_t k = 0; k < b->width; k++) tmp[b->map[k]] = a[k];
    } else {
        for (size_t k = 0; k < n; k++) tmp[k] = a[k];
    }
    return tmp;
}

/* propagate, or on a residual graph propagate_dag with *pend (the caller frees
 * it) the blocks it ends with; for stop = 0 *b is the one on the model input. */
static int SFX(propagate_any)(bound_state *st, int top, int stop, size_t R, const size_t *idx, const double *C,
                              size_t ldc, const double *d, int want_l, int want_u, SFX(blk) *b, SFX(blk) **pend,
                              nn_error *err)
{
    bound_work *w = st->work;
    if (!w->dag) return SFX(propagate)(st, top, stop, R, idx, C, ldc, d, want_l, want_u, b, err);
    size_t n = (size_t)st->model->n_layers + 1;
    if (!(*pend = nn_malloc(n * sizeof **pend, "backward pass over the graph", err))) return NN_ENOMEM;
    int rc = SFX(propagate_dag)(st, top, stop, R, idx, C, ldc, d, want_l, want_u, *pend, err);
    if (rc) return rc;
    if (stop == 0) *b = (*pend)[0];
    return NN_OK;
}

/* The interval tail on a residual graph (stop > 0): each block left on an output
 * k < stop bounded on k's box (bound_box_dag), the parts of a row summed. */
static void SFX(tail_boxes)(bound_state *st, SFX(blk) *pend, int stop, size_t R, double tau, double *lower,
                            double *upper)
{
    bound_work *w = st->work;
    const nn_model *m = st->model;
    double *tmp = w->scratch + 2 * w->maxw;
    for (size_t r = 0; r < R; r++) {
        if (lower) lower[r] = -tau;
        if (upper) upper[r] = tau;
    }
    for (int k = -1; k < stop; k++) {
        SFX(blk) *q = &pend[k + 1];
        if (!q->A) continue;
        size_t n = k < 0 ? w->n_in : shape_size(m->layers[k].out);
        for (size_t r = 0; r < R; r++)
            for (int side = 0; side < 2; side++) {
                double *out = side ? upper : lower, v;
                if (!out) continue;
                size_t row = side && q->split ? q->lo_rows + r : r;
                const double *a = SFX(row_double)(q, row, n, tmp);
                bound_concretize_box(a, n, w->dag_lo[k + 1], w->dag_hi[k + 1], q->c[row], q->s[row], w->box_mode,
                                     side ? NULL : &v, side ? &v : NULL);
                out[r] += side ? v + q->e[row] : v - q->e[row];
            }
    }
}

/* bound_backward_block in this precision; the budget e moves each bound outward. */
static int SFX(backward_block)(bound_state *st, int top, int stop, size_t R, const size_t *idx, const double *C,
                               size_t ldc, const double *d, const double *box_lo, const double *box_hi,
                               double *lower, double *upper, nn_error *err)
{
    bound_work *w = st->work;
    SFX(blk) b, *pend = NULL;
    int rc = SFX(propagate_any)(st, top, stop, R, idx, C, ldc, d, lower != NULL, upper != NULL, &b, &pend, err);
    if (rc) {
        free(pend);
        return rc;
    }
    st->backward_rows += R;
    double tau = 0.0;
#if PREC == 1
    /* float: the absolute underflow budget of every layer crossed (bound_backward.c) */
    int fb = stop == 0 && w->fb_gemm;
    tau = fb ? w->fb_tau : 0.0;
    for (int j = fb ? w->first_nl : stop; j < top; j++) tau += w->tau[j];
#endif
    if (pend && stop > 0) {
        SFX(tail_boxes)(st, pend, stop, R, tau, lower, upper);
        free(pend);
        return NN_OK;
    }
    free(pend); /* b is a copy of the block on the input */
    for (size_t r = 0; r < b.M; r++) b.e[r] += tau;
    /* the width the rows end on: layer stop's input, i.e. layer stop-1's output
     * (the model input for stop = 0). Not layers[stop].in: bound_spec's interval
     * tail has stop = n_layers when the model ends in a nonlinear layer, and
     * layers[n_layers] is past the array (its garbage width 0 made every spec
     * bound the constant d, for IBP and, intersected, for every method). */
    size_t n = stop > 0 ? shape_size(st->model->layers[stop - 1].out) : w->n_in;
    double *tmp = w->scratch + 2 * w->maxw; /* [0, 2 maxw) may hold box_lo/box_hi */
    for (size_t r = 0; r < R; r++) {
        size_t rl = r, ru = b.split ? b.lo_rows + r : r;
        for (int side = 0; side < 2; side++) {
            double *out = side ? upper : lower;
            if (!out) continue;
            size_t row = side ? ru : rl;
            /* the lower bound's minimizer, a candidate for a search (spec rows only) */
            double *pt = !side && w->spec_points && stop == 0 ? w->spec_points + r * n : NULL;
            if (b.crop && stop == 0) { /* the window's cells of the input only */
                double *lo = side ? NULL : &out[r], *hi = side ? &out[r] : NULL;
                size_t k = SFX(win_gather)(&b, row, tmp, w->l1_sel);
                if (bound_concretize_region_sparse(st, tmp, w->l1_sel, k, b.c[row], b.s[row], lo, hi,
                                                   tmp + w->maxw)) {
                    out[r] += side ? b.e[row] : -b.e[row];
                    if (pt) bound_region_point(st, SFX(row_double)(&b, row, n, tmp), pt);
                    continue;
                }
            }
            const double *a = SFX(row_double)(&b, row, n, tmp);
            double *lo = side ? NULL : &out[r], *hi = side ? &out[r] : NULL;
            if (stop > 0) bound_concretize_box(a, n, box_lo, box_hi, b.c[row], b.s[row], w->box_mode, lo, hi);
            else if (pt) out[r] = bound_region_argmin(st, a, b.c[row], b.s[row], pt); /* clipped l1, l2: one pass */
            else bound_concretize_region(st, a, b.c[row], b.s[row], -1.0, lo, hi);
            out[r] += side ? b.e[row] : -b.e[row];
        }
    }
    return NN_OK;
}
