/* bound_backward_kernel (private to bound_backward.c): the backward kernel for one
 * element type, included once per precision with
 *   REAL  double | float          coefficient matrices A
 *   SFX   name##_d | name##_f     suffix of every function defined here
 *   GEMM  cblas_dgemm | cblas_sgemm
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
static int SFX(dense_weight)(bound_work *w, const nn_model *m, int j, const REAL **W, size_t *rows, size_t *cols,
                             nn_error *err)
{
    const nn_layer *L = &m->layers[j];
    size_t n_out = shape_size(L->out), n_in = shape_size(L->in);
    int up = j + 1 < m->n_layers && layer_is_activation(m->layers[j + 1].type) && packed(w, j + 1) ? j + 1 : -1;
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
    double t0 = nn_thread_cpu_seconds();
    if (L->type == LAYER_DENSE) {
        size_t rows, cols;
        const REAL *W;
        int rc = SFX(dense_weight)(w, m, j, &W, &rows, &cols, err);
        if (rc) return rc;
        GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)b->M, (int)cols, (int)rows, 1.0, b->A, (int)b->width, W,
             (int)cols, 0.0, b->B, (int)cols);
        st->flops += 2.0 * (double)b->M * (double)rows * (double)cols;
        int dn = act_below(m, j);
        b->map = cols < n_in ? w->live[dn] : NULL;
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
    st->gemm_seconds += nn_thread_cpu_seconds() - t0;
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
    double t0 = nn_thread_cpu_seconds();
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
    GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)b->M, (int)n, (int)rows, 1.0, b->A, (int)b->width, F,
         (int)n, 0.0, b->B, (int)n);
    st->flops += 2.0 * (double)b->M * (double)rows * (double)n;
    st->gemm_seconds += nn_thread_cpu_seconds() - t0;
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
    int out_packed = packed(w, j) && (fb || (j >= 1 && m->layers[j - 1].type == LAYER_DENSE));
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
    for (size_t r = 0; r < b->M; r++) {
        const REAL *a = b->A + r * b->width;
        REAL *x = dst + r * out_w;
        if (out) memset(x, 0, out_w * sizeof *x);
        if (r >= b->lo_rows)
            SFX(act_row)(a, x, nq, in, out, us, ut, ls, lt, off, offabs, ew, &b->c[r], &b->s[r], &b->e[r]);
        else
            SFX(act_row)(a, x, nq, in, out, ls, lt, us, ut, off, offabs, ew, &b->c[r], &b->s[r], &b->e[r]);
    }
    if (dst != b->A) SFX(swap)(b);
    b->width = out_w;
    b->map = out_packed ? w->live[j] : NULL;
    b->fused = fold;
}

/* Through MaxPool planes: A (M x n_out, full) -> (M x n_in); mph holds the
 * budget weight of each output's lower and upper plane. */
static void SFX(step_maxpool)(const bound_work *w, int j, const relax_pool *p, SFX(blk) *b, size_t n_in)
{
    int W = p->window;
    size_t n_out = b->width;
    const double *hl = b->budget ? w->mph[PREC][j] : NULL, *hu = hl ? hl + n_out : NULL;
    for (size_t r = 0; r < b->M; r++) {
        int upper = r >= b->lo_rows;
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
    double t0 = nn_thread_cpu_seconds();
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
    st->gemm_seconds += nn_thread_cpu_seconds() - t0;
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

/* act_row on a windowed row, in place: the same terms in the same (neuron) order. */
static void SFX(act_row_crop)(const SFX(blk) *b, size_t r, REAL *a, const double *ps, const double *pt,
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

/* step_activation on windowed rows (output not packed): in place. */
static void SFX(step_activation_crop)(const bound_state *st, int j, SFX(blk) *b, int off_layer)
{
    const bound_work *w = st->work;
    const relax_lines *ln = &st->lines[j];
    const double *off = off_layer >= 0 ? w->bfull[off_layer] : NULL;
    const double *offabs = off_layer >= 0 ? w->babs[off_layer] : NULL;
    const double *ew = b->budget ? w->ew[PREC][j] : NULL;
    for (size_t r = 0; r < b->M; r++) {
        REAL *a = b->A + r * b->width;
        if (r >= b->lo_rows)
            SFX(act_row_crop)(b, r, a, ln->upper_slope, ln->upper_icpt, ln->lower_slope, ln->lower_icpt, off, offabs,
                              ew, &b->c[r], &b->s[r], &b->e[r]);
        else
            SFX(act_row_crop)(b, r, a, ln->lower_slope, ln->lower_icpt, ln->upper_slope, ln->upper_icpt, off, offabs,
                              ew, &b->c[r], &b->s[r], &b->e[r]);
    }
    b->fused = off_layer >= 0;
}

/* step_maxpool on windowed rows: the outputs of each window in the map, in
 * (channel, y, x) order as step_maxpool, scattered onto the input window. */
static void SFX(step_maxpool_crop)(const bound_state *st, int j, SFX(blk) *b)
{
    const bound_work *w = st->work;
    const nn_layer *L = &st->model->layers[j];
    const relax_pool *p = &st->pools[j];
    int W = p->window, kw = L->kernel[1];
    int sh = L->stride[0], sw = L->stride[1], dh = L->dilation[0], dw = L->dilation[1];
    int hi, wi;
    layer_window_below(L, b->wh, b->ww, &hi, &wi);
    size_t width = (size_t)b->cc * (size_t)hi * (size_t)wi, hwi = (size_t)hi * (size_t)wi;
    size_t hw = (size_t)b->mh * (size_t)b->mw, whw = (size_t)b->wh * (size_t)b->ww;
    size_t n_out = p->n_out;
    const double *hl = b->budget ? w->mph[PREC][j] : NULL, *hu = hl ? hl + n_out : NULL;
    /* window slot k's offset in the input window from its output cell's first slot */
    size_t slot_tab[64], *sl = W <= 64 ? slot_tab : NULL;
    for (int k = 0; sl && k < W; k++) sl[k] = (size_t)((k / kw) * dh) * (size_t)wi + (size_t)((k % kw) * dw);
    for (size_t r = 0; r < b->M; r++) {
        int upper = r >= b->lo_rows;
        const REAL *a = b->A + r * b->width;
        REAL *x = b->B + r * width;
        memset(x, 0, width * sizeof *x);
        double acc = 0, mag = 0, err = 0;
        int ylo, yhi, xlo, xhi;
        SFX(win_span)(b, r, &ylo, &yhi, &xlo, &xhi);
        for (size_t ch = 0; ch < (size_t)b->cc; ch++)
            for (int yy = ylo; yy < yhi; yy++)
                for (int xx = xlo; xx < xhi; xx++) {
                    double v = a[ch * whw + (size_t)yy * (size_t)b->ww + (size_t)xx];
                    if (v == 0) continue;
                    size_t o = ch * hw + (size_t)(b->oy[r] + yy) * (size_t)b->mw + (size_t)(b->ox[r] + xx);
                    const double *coef = plane_term(p, o, v, upper, hl, hu, &acc, &mag, &err);
                    const int *in = p->inputs + o * (size_t)W;
                    REAL *base = x + ch * hwi + (size_t)(yy * sh) * (size_t)wi + (size_t)(xx * sw);
                    for (int k = 0; k < W; k++)
                        if (in[k] >= 0) {
                            size_t d = sl ? sl[k] : (size_t)((k / kw) * dh) * (size_t)wi + (size_t)((k % kw) * dw);
                            base[d] += (REAL)(v * coef[k]);
                        }
                }
        b->c[r] += acc;
        b->s[r] += mag;
        b->e[r] += err;
    }
    layer_window_origin_below(L, b->oy, b->ox, b->M);
    b->mh = L->in.h;
    b->mw = L->in.w;
    b->wh = hi;
    b->ww = wi;
    b->width = width;
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

/* Propagate a block from the input of layer top down to the input of layer stop.
 * Starting rows: C (rows on the model output, top = n_layers) plus d; else rows
 * idx of W when layer top-1 is dense; else identity rows idx. */
static int SFX(propagate)(bound_state *st, int top, int stop, size_t R, const size_t *idx, const double *C,
                          size_t ldc, const double *d, int want_l, int want_u, SFX(blk) *b, nn_error *err)
{
    bound_work *w = st->work;
    const nn_model *m = st->model;
    memset(b, 0, sizeof *b);
    b->R = b->M = R;
    b->want_l = want_l;
    b->want_u = want_u;
    b->budget = top > w->first_nl;
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
    if (C) {
        b->width = model_output_size(m);
        for (size_t r = 0; r < R; r++) {
            for (size_t k = 0; k < b->width; k++) b->A[r * b->width + k] = (REAL)C[r * ldc + k];
            b->c[r] = d ? d[r] : 0.0;
            b->s[r] = d ? fabs(d[r]) : 0.0;
            /* C is exact in double; in float it would need the output's magnitudes */
            b->e[r] = 0.0;
        }
        j = top - 1;
    } else if (top >= 1 && m->layers[top - 1].type == LAYER_DENSE) {
        /* Rows of W directly (on the live columns below): no identity GEMM. In
         * float, W's rounding costs at most u |W_i| . G = u vmag_i. */
        const nn_layer *L = &m->layers[top - 1];
        size_t n_in = shape_size(L->in);
        int dn = act_below(m, top - 1);
        b->map = packed(w, dn) ? w->live[dn] : NULL;
        b->width = b->map ? w->n_live[dn] : n_in;
        for (size_t r = 0; r < R; r++) {
            const double *src = L->weight + idx[r] * n_in;
            REAL *a = b->A + r * b->width;
            for (size_t k = 0; k < b->width; k++) a[k] = (REAL)src[b->map ? b->map[k] : k];
            b->c[r] = L->bias[idx[r]];
            b->s[r] = fabs(L->bias[idx[r]]);
            b->e[r] = PREC && b->budget ? UNIT_ROUNDOFF_F * w->vmag[top - 1][idx[r]] : 0.0;
        }
        j = top - 2;
    } else if (top >= 1 && !st->opt.dense_rows && m->layers[top - 1].type != LAYER_DENSE &&
               m->layers[top - 1].type != LAYER_FLATTEN &&
               (size_t)m->layers[top - 1].out.h * (size_t)m->layers[top - 1].out.w > 1) {
        /* windowed identity rows: a 1 x 1 window at the neuron's cell */
        const nn_layer *L = &m->layers[top - 1];
        if (!w->win_org && !(w->win_org = nn_malloc(4 * w->rb * sizeof *w->win_org, "backward windows", err)))
            return NN_ENOMEM;
        b->crop = 1;
        b->cc = L->out.c;
        b->mh = L->out.h;
        b->mw = L->out.w;
        b->wh = b->ww = 1;
        b->oy = w->win_org;
        b->ox = w->win_org + 2 * w->rb;
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
        j = top - 1;
    } else {
        b->width = top >= 1 ? shape_size(m->layers[top - 1].out) : w->n_in;
        memset(b->A, 0, R * b->width * sizeof *b->A);
        for (size_t r = 0; r < R; r++) {
            b->A[r * b->width + idx[r]] = 1;
            b->c[r] = b->s[r] = b->e[r] = 0.0;
        }
        j = top - 1;
    }
    for (; j >= stop; j--) {
        const nn_layer *L = &m->layers[j];
        if (b->crop) { /* windowed rows go on while the windows stay smaller than the maps */
            int keep = L->type != LAYER_FLATTEN;
            if (keep && layer_is_activation(L->type)) {
                int fb = j == w->first_nl && stop == 0 && w->fb_gemm;
                keep = !fb && !(packed(w, j) && j >= 1 && m->layers[j - 1].type == LAYER_DENSE);
            }
            if (!keep || !SFX(crop_keeps)(st, j, b, 0)) SFX(uncrop)(b);
        }
        if (L->type == LAYER_FLATTEN) continue; /* identity on memory */
        if (b->crop && layer_is_affine(L->type)) {
            if (!b->fused) SFX(offset_pass_crop)(w, j, b);
            b->fused = 0;
            int rc = SFX(step_affine_crop)(st, j, b, err);
            if (rc) return nn_error_prefix(err, "backward pass, layer %d: ", j);
            continue;
        }
        if (layer_is_affine(L->type)) {
            if (b->map && L->type != LAYER_DENSE) SFX(unpack)(b, shape_size(L->out));
            if (!b->fused) SFX(offset_pass)(w, j, b);
            b->fused = 0;
            int rc = SFX(step_affine)(st, j, b, err);
            if (rc) return nn_error_prefix(err, "backward pass, layer %d: ", j);
            continue;
        }
        SFX(split_sides)(b);
        if (layer_is_activation(L->type)) {
            int fb = j == w->first_nl && stop == 0 && w->fb_gemm;
            int k = affine_below(m, j);
            if (b->crop) SFX(step_activation_crop)(st, j, b, k < stop ? -1 : k);
            else SFX(step_activation)(st, j, b, fb || k < stop ? -1 : k, fb);
            if (fb) return SFX(step_first_block)(st, b, err);
        } else if (L->type == LAYER_MAXPOOL2D) {
            if (b->map) SFX(unpack)(b, shape_size(L->out));
            if (b->crop) SFX(step_maxpool_crop)(st, j, b);
            else SFX(step_maxpool)(w, j, &st->pools[j], b, shape_size(L->in));
            b->fused = 0;
        } else {
            return nn_fail(err, NN_EUNSUPPORTED, "backward pass: layer %d (%s) is not supported", j,
                           layer_type_name(L->type));
        }
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

/* bound_backward_block in this precision; the budget e moves each bound outward. */
static int SFX(backward_block)(bound_state *st, int top, int stop, size_t R, const size_t *idx, const double *C,
                               size_t ldc, const double *d, const double *box_lo, const double *box_hi,
                               double *lower, double *upper, nn_error *err)
{
    bound_work *w = st->work;
    SFX(blk) b;
    int rc = SFX(propagate)(st, top, stop, R, idx, C, ldc, d, lower != NULL, upper != NULL, &b, err);
    if (rc) return rc;
    st->backward_rows += R;
#if PREC == 1
    /* float: the absolute underflow budget of every layer crossed (bound_backward.c) */
    int fb = stop == 0 && w->fb_gemm;
    double tau = fb ? w->fb_tau : 0.0;
    for (int j = fb ? w->first_nl : stop; j < top; j++) tau += w->tau[j];
    for (size_t r = 0; r < b.M; r++) b.e[r] += tau;
#endif
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
            if (b.crop && stop == 0) { /* the window's cells of the input only */
                double *lo = side ? NULL : &out[r], *hi = side ? &out[r] : NULL;
                size_t k = SFX(win_gather)(&b, row, tmp, w->l1_sel);
                if (bound_concretize_region_sparse(st, tmp, w->l1_sel, k, b.c[row], b.s[row], lo, hi,
                                                   tmp + w->maxw)) {
                    out[r] += side ? b.e[row] : -b.e[row];
                    continue;
                }
            }
            const double *a = SFX(row_double)(&b, row, n, tmp);
            double *lo = side ? NULL : &out[r], *hi = side ? &out[r] : NULL;
            if (stop > 0) bound_concretize_box(a, n, box_lo, box_hi, b.c[row], b.s[row], lo, hi);
            else bound_concretize_region(st, a, b.c[row], b.s[row], -1.0, lo, hi);
            out[r] += side ? b.e[row] : -b.e[row];
        }
    }
    return NN_OK;
}
