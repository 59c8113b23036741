/* layer_ops_conv_adjoint (private to layer_ops.c): col2im and the transposed
 * convolution for one element type, included once per precision with
 *   REAL  double | float      SFX  name##_d | name##_f
 *   GEMM  cblas_dgemm | cblas_sgemm
 *   VEC, VLANES, V*  its AVX2 vector type, lanes and operations (undefined
 *                    again at the end, with the others)
 * The float variant serves the bound engine's float32 backward passes. */

/* The adjoint of im2col: dxr[input cell] += col[k, p] over every slot that reads it. */
/* The normalize adjoint dx = dy / std_c on planes of hw cells per channel: whole
 * maps (hw = H W) or the windows of cropped rows (hw = h w). */
static void SFX(normalize_adjoint)(const nn_layer *l, const REAL *dy, size_t n, size_t lddy, size_t hw, REAL *dx,
                                   size_t lddx)
{
    for (size_t r = 0; r < n; r++)
        for (size_t c = 0; c < (size_t)l->in.c; c++) {
            const REAL *src = dy + r * lddy + c * hw;
            REAL *dst = dx + r * lddx + c * hw;
            REAL sd = (REAL)l->std[c];
            for (size_t i = 0; i < hw; i++) dst[i] = src[i] / sd;
        }
}

/* dst[i] += src[i] over n cells that do not overlap: the compiler may vectorize
 * it, and each cell still gets one add, so the bits are those of the plain loop. */
static inline void SFX(add_to)(REAL *restrict dst, const REAL *restrict src, int n)
{
    for (int i = 0; i < n; i++) dst[i] += src[i];
}

#if COL2IM_GATHER
/* col2im of a conv with strides 1, by gathering: cell (iy, ix) of input channel
 * ci is the sum of col[(ci kh + ky) kw + kx][(iy - yoff[ky]) wo + ix - xoff[kx]]
 * over the slots whose output cell lies in [0, ho) x [0, wo), added from +0 in
 * (ky, kx) order, as col2im adds them into a cleared cell: the same bits. The
 * cells of a line sit in NV AVX2 registers, a chunk of NV VLANES cells at a time,
 * while every slot is added in: one masked load per slot and register, with the
 * masks made once per chunk, no branch per register; col2im loads, adds and
 * stores per slot and cell. A slot's lanes out of range load +0, which leaves a
 * sum begun at +0 as it was (such a sum is never -0). Writes every cell of dx
 * (ci_n x hin x win). */
COL2IM_TARGET static inline __attribute__((always_inline)) void
SFX(gather_chunks)(const REAL *col, size_t ldc, int ci_n, int kh, int kw, const int *yoff, const int *xoff, int ho,
                   int wo, int hin, int win, REAL *dx, const int NV)
{
    size_t plane = (size_t)hin * (size_t)win;
    __m256i mask[COL2IM_MAX_K][32 / VLANES], store[32 / VLANES];
    const __m256i lane = VLANE_IDX();
    for (int x0 = 0; x0 < win; x0 += NV * VLANES) {
        int nx = win - x0 < NV * VLANES ? win - x0 : NV * VLANES;
        for (int kx = 0; kx < kw; kx++) {
            /* lanes j of the chunk whose output column x0 + j - xoff lies in [0, wo) */
            int lo = xoff[kx] - x0, hi = xoff[kx] + wo - x0;
            if (lo < 0) lo = 0;
            if (hi > nx) hi = nx;
            for (int v = 0; v < NV; v++)
                mask[kx][v] = _mm256_and_si256(VCMPGTI(lane, VSET1I(lo - v * VLANES - 1)),
                                               VCMPGTI(VSET1I(hi - v * VLANES), lane));
        }
        for (int v = 0; v < NV; v++) store[v] = VCMPGTI(VSET1I(nx - v * VLANES), lane);
        for (int ci = 0; ci < ci_n; ci++)
            for (int iy = 0; iy < hin; iy++) {
                VEC acc[32 / VLANES];
                for (int v = 0; v < NV; v++) acc[v] = VZERO();
                for (int ky = 0; ky < kh; ky++) {
                    int oy = iy - yoff[ky];
                    if (oy < 0 || oy >= ho) continue;
                    const REAL *line = col + ((size_t)ci * (size_t)kh + (size_t)ky) * (size_t)kw * ldc +
                                       (size_t)oy * (size_t)wo + (size_t)x0;
                    for (int kx = 0; kx < kw; kx++) {
                        /* lane j reads output column x0 + j - xoff[kx]: masked where out of range */
                        const REAL *src = line + (size_t)kx * ldc - xoff[kx];
                        for (int v = 0; v < NV; v++)
                            acc[v] = VADD(acc[v], VMASKLOAD(src + v * VLANES, mask[kx][v]));
                    }
                }
                REAL *out = dx + (size_t)ci * plane + (size_t)iy * (size_t)win + (size_t)x0;
                for (int v = 0; v < NV; v++) VMASKSTORE(out + v * VLANES, store[v], acc[v]);
            }
    }
}

COL2IM_TARGET static void SFX(col2im_gather)(const REAL *col, size_t ldc, int ci_n, int kh, int kw, const int *yoff,
                                             const int *xoff, int ho, int wo, int hin, int win, REAL *dx)
{
    if (win <= 8)
        SFX(gather_chunks)(col, ldc, ci_n, kh, kw, yoff, xoff, ho, wo, hin, win, dx, 8 / VLANES);
    else if (win <= 16)
        SFX(gather_chunks)(col, ldc, ci_n, kh, kw, yoff, xoff, ho, wo, hin, win, dx, 16 / VLANES);
    else
        SFX(gather_chunks)(col, ldc, ci_n, kh, kw, yoff, xoff, ho, wo, hin, win, dx, 32 / VLANES);
}
#endif

/* dcol[k][p] = sum over co of w[co K + k] D[co][p] for k < K, p < ld (a
 * multiple of GEMM_N_PAD): the transposed convolution's product W^T D. With at
 * most ADJ_DIRECT_MAX_CO output channels the GEMM's inner dimension is too short
 * for BLAS (packing and clearing dcol cost more than the products), so each
 * entry is summed here, products in co order, each rounded before its add (ISO
 * C: no fused multiply-add): the vector lanes and the plain loop give the same
 * bits, whatever the CPU, the shape or the column's place. Columns go in blocks
 * whose D stays in L1 while every k is written. */
#if COL2IM_GATHER
/* Columns [p0, p1) of every k, CO channels (a constant where inlined): four
 * vectors of columns at a time, whose product chains are independent. */
COL2IM_TARGET static inline __attribute__((always_inline)) void
SFX(direct_cols)(const REAL *w, size_t K, const REAL *D, size_t ld, REAL *dcol, size_t p0, size_t p1, const size_t CO)
{
    for (size_t k = 0; k < K; k++) {
        VEC wk[ADJ_DIRECT_MAX_CO];
        for (size_t co = 0; co < CO; co++) wk[co] = VSET1(w[co * K + k]);
        REAL *out = dcol + k * ld;
        size_t p = p0;
        for (; p + 4 * VLANES <= p1; p += 4 * VLANES) {
            const REAL *d = D + p;
            VEC a0 = VMUL(wk[0], VLOADU(d)), a1 = VMUL(wk[0], VLOADU(d + VLANES));
            VEC a2 = VMUL(wk[0], VLOADU(d + 2 * VLANES)), a3 = VMUL(wk[0], VLOADU(d + 3 * VLANES));
            for (size_t co = 1; co < CO; co++) {
                d = D + co * ld + p;
                a0 = VADD(a0, VMUL(wk[co], VLOADU(d)));
                a1 = VADD(a1, VMUL(wk[co], VLOADU(d + VLANES)));
                a2 = VADD(a2, VMUL(wk[co], VLOADU(d + 2 * VLANES)));
                a3 = VADD(a3, VMUL(wk[co], VLOADU(d + 3 * VLANES)));
            }
            VSTOREU(out + p, a0), VSTOREU(out + p + VLANES, a1);
            VSTOREU(out + p + 2 * VLANES, a2), VSTOREU(out + p + 3 * VLANES, a3);
        }
        for (; p < p1; p += VLANES) {
            VEC a = VMUL(wk[0], VLOADU(D + p));
            for (size_t co = 1; co < CO; co++) a = VADD(a, VMUL(wk[co], VLOADU(D + co * ld + p)));
            VSTOREU(out + p, a);
        }
    }
}

COL2IM_TARGET static void SFX(adjoint_direct_v)(const REAL *w, size_t K, size_t co_n, const REAL *D, size_t ld,
                                                REAL *dcol)
{
    for (size_t p0 = 0; p0 < ld; p0 += ADJ_DIRECT_BLOCK) {
        size_t p1 = ld - p0 < ADJ_DIRECT_BLOCK ? ld : p0 + ADJ_DIRECT_BLOCK;
        switch (co_n) {
#define DIRECT_CASE(n) \
    case n: SFX(direct_cols)(w, K, D, ld, dcol, p0, p1, n); break;
            DIRECT_CASE(1) DIRECT_CASE(2) DIRECT_CASE(3) DIRECT_CASE(4)
            DIRECT_CASE(5) DIRECT_CASE(6) DIRECT_CASE(7) DIRECT_CASE(8)
#undef DIRECT_CASE
        }
    }
}
#endif

static void SFX(adjoint_direct)(const REAL *w, size_t K, size_t co_n, const REAL *D, size_t ld, REAL *dcol)
{
#if COL2IM_GATHER
    if (CPU_HAS_AVX2()) {
        SFX(adjoint_direct_v)(w, K, co_n, D, ld, dcol);
        return;
    }
#endif
    for (size_t k = 0; k < K; k++)
        for (size_t p = 0; p < ld; p++) {
            REAL acc = w[k] * D[p];
            for (size_t co = 1; co < co_n; co++) acc += w[co * K + k] * D[co * ld + p];
            dcol[k * ld + p] = acc;
        }
}

/* dcol = W^T D (K x ld, ld a multiple of GEMM_N_PAD) for the conv adjoints. */
static void SFX(adjoint_product)(const REAL *w, size_t K, size_t co_n, const REAL *D, size_t ld, REAL *dcol)
{
    if (co_n <= ADJ_DIRECT_MAX_CO) {
        SFX(adjoint_direct)(w, K, co_n, D, ld, dcol);
        return;
    }
    gemm_clear(dcol, K, ld, ld, sizeof *dcol);
    GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, (int)K, (int)ld, (int)co_n, 1.0, w, (int)K, D, (int)ld, 1.0, dcol,
         (int)ld);
}

/* The gathering col2im serves convs of strides 1 and kernels of at most
 * COL2IM_MAX_K a side, on CPUs with AVX2, unless the workspace asks for the
 * plain one. */
#ifndef COL2IM_GATHERS
#define COL2IM_GATHERS
static int col2im_gathers(const nn_layer *l, const layer_workspace *ws)
{
    return COL2IM_GATHER && !(ws && ws->plain_col2im) && l->stride[0] == 1 && l->stride[1] == 1 &&
           l->kernel[0] <= COL2IM_MAX_K && l->kernel[1] <= COL2IM_MAX_K && CPU_HAS_AVX2();
}
#endif

static void SFX(col2im)(const nn_layer *l, const conv_slot *slots, const REAL *col, size_t ldc, REAL *dxr, int gather)
{
    int kh = l->kernel[0], kw = l->kernel[1], wo = l->out.w, W = l->in.w;
    int sh = l->stride[0], sw = l->stride[1];
    size_t hw = (size_t)l->in.h * (size_t)W;
#if COL2IM_GATHER
    if (gather) {
        int yoff[COL2IM_MAX_K], xoff[COL2IM_MAX_K];
        for (int ky = 0; ky < kh; ky++) yoff[ky] = slots[ky * kw].yoff;
        for (int kx = 0; kx < kw; kx++) xoff[kx] = slots[kx].xoff;
        SFX(col2im_gather)(col, ldc, l->in.c, kh, kw, yoff, xoff, l->out.h, wo, l->in.h, W, dxr);
        return;
    }
#else
    (void)gather;
#endif
    memset(dxr, 0, (size_t)l->in.c * hw * sizeof *dxr);
    for (int ci = 0; ci < l->in.c; ci++)
        for (int k = 0; k < kh * kw; k++) {
            conv_slot s = slots[k];
            const REAL *src = col + (size_t)(ci * kh * kw + k) * ldc;
            REAL *dst = dxr + (size_t)ci * hw;
            for (int oy = s.ylo; oy < s.yhi; oy++) {
                const REAL *c = src + (size_t)oy * wo;
                REAL *row = dst + (size_t)(oy * sh + s.yoff) * W + s.xoff;
                if (sw == 1)
                    SFX(add_to)(row + s.xlo, c + s.xlo, s.xhi - s.xlo);
                else
                    for (int ox = s.xlo; ox < s.xhi; ox++) row[ox * sw] += c[ox];
            }
        }
}

/* dx = dy * M with the weights w in REAL (the layer's own for double). */
static int SFX(conv_adjoint)(const nn_layer *l, const REAL *w, const REAL *dy, size_t n, size_t lddy, REAL *dx,
                             size_t lddx, layer_workspace *ws, nn_error *err)
{
    conv_setup cs;
    REAL *D = conv_begin(l, n, sizeof(REAL), &cs, ws, "conv2d adjoint workspace", err);
    if (!D) return err ? err->code : NN_ENOMEM;
    size_t plane = cs.plane, K = cs.K, co_n = cs.co_n, chunk = cs.chunk;
    conv_slot *slots = cs.slots;
    int gather = col2im_gathers(l, ws);
    REAL *dcol = D + (chunk * plane + GEMM_N_PAD) * co_n;
    for (size_t r0 = 0; r0 < n; r0 += chunk) {
        size_t nb = n - r0 < chunk ? n - r0 : chunk, ld = gemm_n_padded(nb * plane);
        for (size_t r = 0; r < nb; r++) {
            const REAL *dyr = dy + (r0 + r) * lddy;
            for (size_t co = 0; co < co_n; co++)
                memcpy(D + co * ld + r * plane, dyr + co * plane, plane * sizeof *D);
        }
        for (size_t co = 0; co < co_n; co++) memset(D + co * ld + nb * plane, 0, (ld - nb * plane) * sizeof *D);
        SFX(adjoint_product)(w, K, co_n, D, ld, dcol);
        for (size_t r = 0; r < nb; r++) SFX(col2im)(l, slots, dcol + r * plane, ld, dx + (r0 + r) * lddx, gather);
    }
    free(slots);
    return NN_OK;
}

/* col2im of one windowed row: col (ld ldc) holds the row's h x w output window
 * per slot (ci, ky, kx); its input window is dx (ci x hi x wi). */
static void SFX(col2im_window)(const nn_layer *l, const REAL *col, size_t ldc, int h, int w, int hi, int wi, REAL *dx)
{
    int kh = l->kernel[0], kw = l->kernel[1], sh = l->stride[0], sw = l->stride[1];
    int dh = l->dilation[0], dw = l->dilation[1];
    size_t hwi = (size_t)hi * (size_t)wi, ci_n = (size_t)l->in.c;
    memset(dx, 0, ci_n * hwi * sizeof *dx);
    for (size_t ci = 0; ci < ci_n; ci++)
        for (int ky = 0; ky < kh; ky++)
            for (int kx = 0; kx < kw; kx++) {
                const REAL *src = col + ((ci * (size_t)kh + (size_t)ky) * (size_t)kw + (size_t)kx) * ldc;
                REAL *dst = dx + ci * hwi + (size_t)(ky * dh) * (size_t)wi + (size_t)(kx * dw);
                for (int yy = 0; yy < h; yy++) {
                    const REAL *c = src + (size_t)yy * (size_t)w;
                    REAL *row = dst + (size_t)(yy * sh) * (size_t)wi;
                    if (sw == 1)
                        SFX(add_to)(row, c, w);
                    else
                        for (int xx = 0; xx < w; xx++) row[xx * sw] += c[xx];
                }
            }
}

/* The transposed convolution on windowed rows (layer_affine_adjoint_window): the
 * windows of nb rows side by side as D[Co, nb*h*w], dcol = W^T * D (one GEMM, one
 * product chain over Co per entry as in conv_adjoint), then a col2im into each
 * row's input window that adds, per cell, the slots in the same (ci, ky, kx) order
 * as col2im. Window cells outside the output map hold 0, so their columns of dcol
 * are +0 and add nothing; the input window's cells outside the map (padding) are
 * set to 0 at the end. */
static int SFX(conv_adjoint_win)(const nn_layer *l, const REAL *wt, const REAL *dy, size_t n, size_t lddy, int h,
                                 int w, const int *oy, const int *ox, REAL *dx, size_t lddx, layer_workspace *ws,
                                 nn_error *err)
{
    int kh = l->kernel[0], kw = l->kernel[1], sh = l->stride[0], sw = l->stride[1];
    int dh = l->dilation[0], dw = l->dilation[1], H = l->in.h, W = l->in.w;
    int hi = (h - 1) * sh + (kh - 1) * dh + 1, wi = (w - 1) * sw + (kw - 1) * dw + 1;
    size_t hw = (size_t)h * (size_t)w, hwi = (size_t)hi * (size_t)wi, ci_n = (size_t)l->in.c;
    size_t K = ci_n * (size_t)kh * (size_t)kw, co_n = (size_t)l->out_channels;
    size_t chunk = conv_chunk(n, hw, K, co_n);
    size_t bytes = (chunk * hw + GEMM_N_PAD) * (K + co_n) * sizeof(REAL);
    REAL *D = (REAL *)ws_doubles(ws, (bytes + sizeof(double) - 1) / sizeof(double), "conv2d window adjoint", err);
    if (!D) return err ? err->code : NN_ENOMEM;
    REAL *dcol = D + (chunk * hw + GEMM_N_PAD) * co_n;
    int gather = col2im_gathers(l, ws), yoff[COL2IM_MAX_K], xoff[COL2IM_MAX_K];
    for (int k = 0; gather && k < kh; k++) yoff[k] = k * dh;
    for (int k = 0; gather && k < kw; k++) xoff[k] = k * dw;
    for (size_t r0 = 0; r0 < n; r0 += chunk) {
        size_t nb = n - r0 < chunk ? n - r0 : chunk, ld = gemm_n_padded(nb * hw);
        for (size_t r = 0; r < nb; r++) {
            const REAL *dyr = dy + (r0 + r) * lddy;
            for (size_t co = 0; co < co_n; co++) memcpy(D + co * ld + r * hw, dyr + co * hw, hw * sizeof *D);
        }
        for (size_t co = 0; co < co_n; co++) memset(D + co * ld + nb * hw, 0, (ld - nb * hw) * sizeof *D);
        SFX(adjoint_product)(wt, K, co_n, D, ld, dcol);
        for (size_t r = 0; r < nb; r++) {
            REAL *dxr = dx + (r0 + r) * lddx;
#if COL2IM_GATHER
            if (gather)
                SFX(col2im_gather)(dcol + r * hw, ld, (int)ci_n, kh, kw, yoff, xoff, h, w, hi, wi, dxr);
            else
#endif
                SFX(col2im_window)(l, dcol + r * hw, ld, h, w, hi, wi, dxr);
            /* padding cells of the input window are no inputs */
            int y0 = oy[r0 + r] * sh - l->pad[0], x0 = ox[r0 + r] * sw - l->pad[1];
            if (y0 < 0 || x0 < 0 || y0 + hi > H || x0 + wi > W)
                for (size_t ci = 0; ci < ci_n; ci++)
                    for (int yy = 0; yy < hi; yy++) {
                        REAL *row = dxr + ci * hwi + (size_t)yy * (size_t)wi;
                        int gy = y0 + yy;
                        if (gy < 0 || gy >= H) {
                            memset(row, 0, (size_t)wi * sizeof *row);
                            continue;
                        }
                        for (int xx = 0; xx < wi; xx++)
                            if (x0 + xx < 0 || x0 + xx >= W) row[xx] = 0;
                    }
        }
    }
    return NN_OK;
}

/* Average pooling's adjoint on windowed rows: per output cell of the map (in the
 * order of avgpool_apply) its value over the window's divisor, added to each
 * slot's cell; zero cells skipped (adding +-0 changes no sum). */
static void SFX(avgpool_adjoint_win)(const nn_layer *l, const REAL *dy, size_t n, size_t lddy, int h, int w,
                                     const int *oy, const int *ox, REAL *dx, size_t lddx)
{
    int kh = l->kernel[0], kw = l->kernel[1], sh = l->stride[0], sw = l->stride[1];
    int dh = l->dilation[0], dw = l->dilation[1], H = l->in.h, W = l->in.w, Ho = l->out.h, Wo = l->out.w;
    int hi = (h - 1) * sh + (kh - 1) * dh + 1, wi = (w - 1) * sw + (kw - 1) * dw + 1;
    size_t hw = (size_t)h * (size_t)w, hwi = (size_t)hi * (size_t)wi, c_n = (size_t)l->in.c;
    for (size_t r = 0; r < n; r++) {
        const REAL *ar = dy + r * lddy;
        REAL *br = dx + r * lddx;
        memset(br, 0, c_n * hwi * sizeof *br);
        int ylo = oy[r] < 0 ? -oy[r] : 0, yhi = Ho - oy[r] < h ? Ho - oy[r] : h;
        int xlo = ox[r] < 0 ? -ox[r] : 0, xhi = Wo - ox[r] < w ? Wo - ox[r] : w;
        for (size_t c = 0; c < c_n; c++)
            for (int yy = ylo; yy < yhi; yy++)
                for (int xx = xlo; xx < xhi; xx++) {
                    REAL v = ar[c * hw + (size_t)yy * (size_t)w + (size_t)xx];
                    if (v == 0) continue;
                    int gy = (oy[r] + yy) * sh - l->pad[0], gx = (ox[r] + xx) * sw - l->pad[1];
                    REAL g = v / (REAL)avgpool_divisor(l, oy[r] + yy, ox[r] + xx);
                    REAL *dst = br + c * hwi + (size_t)(yy * sh) * (size_t)wi + (size_t)(xx * sw);
                    for (int ky = 0; ky < kh; ky++)
                        for (int kx = 0; kx < kw; kx++) {
                            int iy = gy + ky * dh, ix = gx + kx * dw;
                            if (iy >= 0 && iy < H && ix >= 0 && ix < W) dst[(size_t)(ky * dh) * (size_t)wi + (size_t)(kx * dw)] += g;
                        }
                }
    }
}

static int SFX(affine_adjoint_win)(const nn_layer *l, const REAL *wt, const REAL *dy, size_t n, size_t lddy, int h,
                                   int w, const int *oy, const int *ox, REAL *dx, size_t lddx, layer_workspace *ws,
                                   nn_error *err)
{
    switch (l->type) {
    case LAYER_CONV2D:
        return SFX(conv_adjoint_win)(l, wt, dy, n, lddy, h, w, oy, ox, dx, lddx, ws, err);
    case LAYER_AVGPOOL2D:
        SFX(avgpool_adjoint_win)(l, dy, n, lddy, h, w, oy, ox, dx, lddx);
        return NN_OK;
    case LAYER_NORMALIZE:
        SFX(normalize_adjoint)(l, dy, n, lddy, (size_t)h * (size_t)w, dx, lddx);
        return NN_OK;
    default:
        return nn_fail(err, NN_EARG, "%s: no windowed adjoint", layer_type_name(l->type));
    }
}

/* The parameters are the includer's for one precision. */
#undef REAL
#undef SFX
#undef GEMM
#undef VEC
#undef VLANES
#undef VZERO
#undef VLOADU
#undef VMASKLOAD
#undef VADD
#undef VMUL
#undef VSET1
#undef VSTOREU
#undef VMASKSTORE
#undef VLANE_IDX
#undef VSET1I
#undef VCMPGTI
