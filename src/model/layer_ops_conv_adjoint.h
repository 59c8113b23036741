/* layer_ops_conv_adjoint (private to layer_ops.c): col2im and the transposed
 * convolution for one element type, included once per precision with
 *   REAL  double | float      SFX  name##_d | name##_f
 *   GEMM  cblas_dgemm | cblas_sgemm
 * The float variant serves the bound engine's float32 backward passes. */

/* The adjoint of im2col: dxr[input cell] += col[k, p] over every slot that reads it. */
static void SFX(col2im)(const nn_layer *l, const conv_slot *slots, const REAL *col, size_t ldc, REAL *dxr)
{
    int kh = l->kernel[0], kw = l->kernel[1], wo = l->out.w, W = l->in.w;
    int sh = l->stride[0], sw = l->stride[1];
    size_t hw = (size_t)l->in.h * (size_t)W;
    memset(dxr, 0, (size_t)l->in.c * hw * sizeof *dxr);
    for (int ci = 0; ci < l->in.c; ci++)
        for (int k = 0; k < kh * kw; k++) {
            conv_slot s = slots[k];
            const REAL *src = col + (size_t)(ci * kh * kw + k) * ldc;
            REAL *dst = dxr + (size_t)ci * hw;
            for (int oy = s.ylo; oy < s.yhi; oy++) {
                const REAL *c = src + (size_t)oy * wo;
                REAL *row = dst + (size_t)(oy * sh + s.yoff) * W + s.xoff;
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
    REAL *dcol = D + chunk * plane * co_n;
    for (size_t r0 = 0; r0 < n; r0 += chunk) {
        size_t nb = n - r0 < chunk ? n - r0 : chunk, ld = nb * plane;
        for (size_t r = 0; r < nb; r++) {
            const REAL *dyr = dy + (r0 + r) * lddy;
            for (size_t co = 0; co < co_n; co++)
                memcpy(D + co * ld + r * plane, dyr + co * plane, plane * sizeof *D);
        }
        GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, (int)K, (int)ld, (int)co_n, 1.0, w, (int)K, D, (int)ld, 0.0,
             dcol, (int)ld);
        for (size_t r = 0; r < nb; r++) SFX(col2im)(l, slots, dcol + r * plane, ld, dx + (r0 + r) * lddx);
    }
    free(slots);
    return NN_OK;
}
