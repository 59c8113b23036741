/* Layer linear algebra on blocks of rows: forward maps and adjoints.
 *
 * Every affine layer is y = M x + b_full. The forward pass, attacks and the
 * bound engine all need M applied to rows (forward) and rows multiplied by M
 * from the right (adjoint: back-substitution of linear bounds, gradients), so
 * both live here, on row blocks with leading dimensions (tensor layouts:
 * doc/formats.md).
 *
 * Convolution uses im2col over a chunk of nb rows: col[K, nb*P] (K = Ci*kH*kW
 * window slots, P output positions) holds image r in columns r*P.., so the whole
 * chunk is one GEMM W[Co, K] * col, and each output channel of an image is a
 * contiguous run of the result. The adjoint is the transposed convolution: the
 * dy rows side by side as D[Co, nb*P], one GEMM W^T * D, then col2im adds each
 * slot back onto the input cell it read. The dense conv matrix is never built
 * and the workspace per chunk is bounded by WORK_DOUBLES, so memory stays
 * O(rows x activations).
 *
 * Pool geometry is precomputed once per call as a table of spatial input
 * offsets per (output position, window slot), -1 for padding; conv instead
 * keeps per slot the range of output positions that read real cells.
 * Output position (oy, ox), slot (ky, kx) reads input row
 * oy*stride - pad_top + ky*dilation (PyTorch's convention; likewise columns).
 * Pool padding cells are not inputs: max ignores them (like -inf padding) and
 * the average divides by the number of real cells (count_include_pad=False),
 * plus the padding cells the layer's count_pad says count (count_include_pad=True
 * without the cells ceil_mode adds: doc/formats.md). */
#include "layer_ops.h"

#include <cblas.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* Largest im2col / GEMM workspace per buffer, in doubles (2 MiB): big enough
 * for efficient GEMMs, small enough to stay in cache and to be reused by malloc
 * instead of being page-faulted in afresh on every call. */
#define WORK_DOUBLES ((size_t)1 << 15)

/* C's m rows of n entries (leading dimension ldc, entries of `size` bytes) as
 * +0, for a GEMM called with beta 1 in place of beta 0. OpenBLAS 0.3.21 clears
 * C for beta 0 in a pass of its own (dgemm_beta, 10 % of a ReLU-phase search's
 * samples on a 784-input MLP and on LeNet), slower than memset: measured on
 * this project's AMD EPYC VM (one thread, 2026-12-07, two runs), 20x20x784
 * 26.1-27.1 -> 22.4-23.0 us, 25x4x1152 (a 4-channel conv's adjoint)
 * 21.4-22.1 -> 15.7-16.8 us. The kernel then adds
 * A op(B) to +0, and +0 + x is x (+0 for x = -0, as the cleared C gives too),
 * so the bits are the same. */
static void gemm_clear(void *c, size_t m, size_t n, size_t ldc, size_t size)
{
    if (ldc == n) {
        memset(c, 0, m * n * size);
        return;
    }
    for (size_t r = 0; r < m; r++) memset((char *)c + r * ldc * size, 0, n * size);
}

/* Spatial offset iy*W + ix in one input channel of window slot k at output
 * position p, or -1 when the slot falls on padding. */
static int window_spatial(const nn_layer *l, size_t p, int k)
{
    int wo = l->out.w;
    int oy = (int)(p / (size_t)wo), ox = (int)(p % (size_t)wo);
    int ky = k / l->kernel[1], kx = k % l->kernel[1];
    int iy = oy * l->stride[0] - l->pad[0] + ky * l->dilation[0];
    int ix = ox * l->stride[1] - l->pad[1] + kx * l->dilation[1];
    if (iy < 0 || iy >= l->in.h || ix < 0 || ix >= l->in.w) return -1;
    return iy * l->in.w + ix;
}

/* The average's divisor at output (oy, ox): the window's cells inside the input
 * grown by count_pad on each side (pools have dilation 1); >= 1 because
 * model_finalize keeps a real cell in every window. */
static int avgpool_divisor(const nn_layer *l, int oy, int ox)
{
    int y0 = oy * l->stride[0] - l->pad[0], x0 = ox * l->stride[1] - l->pad[1];
    int ylo = y0 > -l->count_pad[0] ? y0 : -l->count_pad[0];
    int xlo = x0 > -l->count_pad[1] ? x0 : -l->count_pad[1];
    int yhi = y0 + l->kernel[0], xhi = x0 + l->kernel[1];
    if (yhi > l->in.h + l->count_pad[2]) yhi = l->in.h + l->count_pad[2];
    if (xhi > l->in.w + l->count_pad[3]) xhi = l->in.w + l->count_pad[3];
    return (yhi - ylo) * (xhi - xlo);
}

static int is_window_layer(layer_type t)
{
    return t == LAYER_CONV2D || t == LAYER_MAXPOOL2D || t == LAYER_AVGPOOL2D;
}

/* For conv2d the window spans all input channels; slot k names a (ky, kx) and
 * the returned index is in input channel 0 (add ci*H*W for channel ci). For the
 * pools it is in the channel of o. Out-of-range o or k also give -1. */
int window_input_index(const nn_layer *layer, size_t o, int k)
{
    if (!is_window_layer(layer->type)) return -1;
    size_t plane = (size_t)layer->out.h * (size_t)layer->out.w;
    if (o >= shape_size(layer->out) || k < 0 || k >= layer->kernel[0] * layer->kernel[1]) return -1;
    int s = window_spatial(layer, o % plane, k);
    if (s < 0) return -1;
    size_t c = layer->type == LAYER_CONV2D ? 0 : o / plane;
    return (int)(c * (size_t)layer->in.h * (size_t)layer->in.w) + s;
}

void layer_workspace_init(layer_workspace *ws) { memset(ws, 0, sizeof *ws); }

void layer_workspace_free(layer_workspace *ws)
{
    free(ws->d);
    free(ws->i);
    layer_workspace_init(ws);
}

/* At least n doubles of scratch; the contents are not preserved. */
static double *ws_doubles(layer_workspace *ws, size_t n, const char *what, nn_error *err)
{
    if (ws->nd >= n && ws->d) return ws->d;
    free(ws->d);
    ws->nd = 0;
    if (!(ws->d = nn_malloc((n ? n : 1) * sizeof *ws->d, what, err))) return NULL;
    ws->nd = n;
    return ws->d;
}

static int *ws_ints(layer_workspace *ws, size_t n, const char *what, nn_error *err)
{
    if (ws->ni >= n && ws->i) return ws->i;
    free(ws->i);
    ws->ni = 0;
    if (!(ws->i = nn_malloc((n ? n : 1) * sizeof *ws->i, what, err))) return NULL;
    ws->ni = n;
    return ws->i;
}

/* Table [P * kH*kW] of window_spatial for every output position and slot. */
static int *window_table(const nn_layer *l, layer_workspace *ws, nn_error *err)
{
    size_t plane = (size_t)l->out.h * (size_t)l->out.w;
    int kk = l->kernel[0] * l->kernel[1];
    int *t = ws_ints(ws, plane * (size_t)kk, "window index table", err);
    if (!t) return NULL;
    for (size_t p = 0; p < plane; p++)
        for (int k = 0; k < kk; k++) t[p * (size_t)kk + (size_t)k] = window_spatial(l, p, k);
    return t;
}

static int check_rows(const nn_layer *l, const char *what, const void *a, size_t n, size_t lda, size_t need,
                      nn_error *err)
{
    if (n == 0) return NN_OK;
    if (!a) return nn_fail(err, NN_EARG, "%s: %s is NULL", layer_type_name(l->type), what);
    if (lda < need)
        return nn_fail(err, NN_EARG, "%s: leading dimension %zu of %s is below its row length %zu",
                       layer_type_name(l->type), lda, what, need);
    if (n > INT_MAX || lda > INT_MAX)
        return nn_fail(err, NN_EARG, "%s: %zu rows with leading dimension %zu exceed BLAS int range",
                       layer_type_name(l->type), n, lda);
    return NN_OK;
}

/* Rows per conv chunk so that the max(K, Co) x (nb*P) workspaces fit WORK_DOUBLES. */
static size_t conv_chunk(size_t n, size_t plane, size_t k, size_t co)
{
    size_t widest = (k > co ? k : co) * plane;
    size_t chunk = widest ? WORK_DOUBLES / widest : n;
    if (chunk < 1) chunk = 1;
    return chunk < n ? chunk : n;
}

/* Output indices o in [*lo, *hi) whose input index o*stride + off lies in [0, in). */
static void valid_span(int n_out, int in, int stride, int off, int *lo, int *hi)
{
    int a = off >= 0 ? 0 : (-off + stride - 1) / stride;
    int b = off >= in ? 0 : (in - 1 - off) / stride + 1;
    if (b > n_out) b = n_out;
    if (a > b) a = b;
    *lo = a;
    *hi = b;
}

/* One window slot (ci, ky, kx) of the conv: the slice of the input it reads. */
typedef struct {
    int ylo, yhi, xlo, xhi; /* output rows/cols whose input cell is not padding */
    int yoff, xoff;         /* input row = oy*stride_h + yoff, column = ox*stride_w + xoff */
} conv_slot;

static void conv_slot_at(const nn_layer *l, int ky, int kx, conv_slot *s)
{
    s->yoff = ky * l->dilation[0] - l->pad[0];
    s->xoff = kx * l->dilation[1] - l->pad[1];
    valid_span(l->out.h, l->in.h, l->stride[0], s->yoff, &s->ylo, &s->yhi);
    valid_span(l->out.w, l->in.w, l->stride[1], s->xoff, &s->xlo, &s->xhi);
}

/* The kH*kW slots of a conv, in (ky, kx) order; channel-independent. */
static conv_slot *conv_slots(const nn_layer *l, nn_error *err)
{
    int kw = l->kernel[1];
    conv_slot *s = nn_malloc((size_t)l->kernel[0] * (size_t)kw * sizeof *s, "conv2d window slots", err);
    if (!s) return NULL;
    for (int ky = 0; ky < l->kernel[0]; ky++)
        for (int kx = 0; kx < kw; kx++) conv_slot_at(l, ky, kx, &s[ky * kw + kx]);
    return s;
}

/* col[k, p] (row k = (ci, ky, kx), ld ldc) = window slot k of output position p
 * of one image xr; zero where the slot is padding. */
static void im2col(const nn_layer *l, const conv_slot *slots, const double *xr, double *col, size_t ldc)
{
    int kh = l->kernel[0], kw = l->kernel[1], ho = l->out.h, wo = l->out.w, W = l->in.w;
    int sh = l->stride[0], sw = l->stride[1];
    size_t hw = (size_t)l->in.h * (size_t)W;
    for (int ci = 0; ci < l->in.c; ci++)
        for (int ky = 0; ky < kh; ky++)
            for (int kx = 0; kx < kw; kx++) {
                conv_slot s = slots[ky * kw + kx];
                double *dst = col + (size_t)((ci * kh + ky) * kw + kx) * ldc;
                const double *src = xr + (size_t)ci * hw;
                for (int oy = 0; oy < ho; oy++) {
                    double *d = dst + (size_t)oy * wo;
                    if (oy < s.ylo || oy >= s.yhi) {
                        memset(d, 0, (size_t)wo * sizeof *d);
                        continue;
                    }
                    const double *row = src + (size_t)(oy * sh + s.yoff) * W + s.xoff;
                    for (int ox = 0; ox < s.xlo; ox++) d[ox] = 0.0;
                    for (int ox = s.xlo; ox < s.xhi; ox++) d[ox] = row[ox * sw];
                    for (int ox = s.xhi; ox < wo; ox++) d[ox] = 0.0;
                }
            }
}

/* The transposed convolution's GEMM runs on N = GEMM_N_PAD-aligned column counts
 * (zero columns appended). OpenBLAS 0.3.21's dgemm (Haswell kernels) rounds a
 * column's entries differently when the column falls into an N-edge tile (one
 * product chain per entry in the main kernel; measured: the same column at N = 1
 * and N = 4 differs in the last bit): with N a multiple of 4 every column is
 * computed by the main kernel and its entries are the same bits whatever N and
 * its position, so a row's numbers do not depend on its neighbours in the block,
 * translated copies of a row get the same bits, and windowed rows the dense rows'
 * bits (layer_affine_adjoint_window). sgemm has no such property (entries differ
 * by shape even with padding): float rows agree within their rounding budget. */
#define GEMM_N_PAD 8
static size_t gemm_n_padded(size_t n) { return (n + GEMM_N_PAD - 1) / GEMM_N_PAD * GEMM_N_PAD; }

/* Geometry and scratch of a conv call over n rows: P output positions, K window
 * slots, Co channels, rows per chunk, the slots, and `elems` REALs of `size`
 * bytes per chunk-row-position times (K + Co) in the workspace (NULL on failure). */
typedef struct {
    size_t plane, K, co_n, chunk;
    conv_slot *slots;
} conv_setup;

static void *conv_begin(const nn_layer *l, size_t n, size_t size, conv_setup *c, layer_workspace *ws,
                        const char *what, nn_error *err)
{
    c->plane = (size_t)l->out.h * (size_t)l->out.w;
    c->K = (size_t)l->in.c * (size_t)l->kernel[0] * (size_t)l->kernel[1];
    c->co_n = (size_t)l->out_channels;
    c->chunk = conv_chunk(n, c->plane, c->K, c->co_n);
    c->slots = conv_slots(l, err);
    size_t bytes = (c->chunk * c->plane + GEMM_N_PAD) * (c->K + c->co_n) * size;
    void *p = c->slots ? ws_doubles(ws, (bytes + sizeof(double) - 1) / sizeof(double), what, err) : NULL;
    if (!p) {
        free(c->slots);
        c->slots = NULL;
    }
    return p;
}

/* Forward over chunks of nb images: col[K, nb*P] holds image r's im2col in
 * columns r*P.., so Y[Co, nb*P] = W[Co, K] * col is one GEMM per chunk and
 * image r's output channel co is the contiguous run Y[co, r*P .. r*P+P). */
static int conv_forward(const nn_layer *l, const double *x, size_t n, size_t ldx, double *y, size_t ldy,
                        layer_workspace *ws, nn_error *err)
{
    conv_setup cs;
    double *col = conv_begin(l, n, sizeof(double), &cs, ws, "conv2d im2col workspace", err);
    if (!col) return err ? err->code : NN_ENOMEM;
    size_t plane = cs.plane, K = cs.K, co_n = cs.co_n, chunk = cs.chunk;
    conv_slot *slots = cs.slots;
    double *Y = col + chunk * plane * K;
    for (size_t r0 = 0; r0 < n; r0 += chunk) {
        size_t nb = n - r0 < chunk ? n - r0 : chunk, ld = nb * plane;
        for (size_t r = 0; r < nb; r++) im2col(l, slots, x + (r0 + r) * ldx, col + r * plane, ld);
        gemm_clear(Y, co_n, ld, ld, sizeof *Y);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)co_n, (int)ld, (int)K, 1.0, l->weight, (int)K,
                    col, (int)ld, 1.0, Y, (int)ld);
        for (size_t r = 0; r < nb; r++) {
            double *yr = y + (r0 + r) * ldy;
            for (size_t co = 0; co < co_n; co++) {
                const double *src = Y + co * ld + r * plane;
                double *dst = yr + co * plane, b = l->bias[co];
                for (size_t p = 0; p < plane; p++) dst[p] = src[p] + b;
            }
        }
    }
    free(slots);
    return NN_OK;
}

/* dx = dy * M for conv2d, a transposed convolution: dy rows are laid side by
 * side as D[Co, nb*P], dcol[K, nb*P] = W^T * D is one GEMM (summed by hand for
 * at most ADJ_DIRECT_MAX_CO output channels), then col2im (the adjoint of
 * im2col). Once per precision: conv_adjoint_d, conv_adjoint_f. */
#if defined(__x86_64__) && defined(__GNUC__)
/* col2im by gathering in AVX2 registers where the CPU has it (layer_ops_conv_adjoint.h) */
#include <immintrin.h>
#define COL2IM_GATHER 1
#define COL2IM_TARGET __attribute__((target("avx2")))
#define CPU_HAS_AVX2() (__builtin_cpu_supports("avx2") != 0)
#else
#define COL2IM_GATHER 0
#define CPU_HAS_AVX2() 0
#endif
#define COL2IM_MAX_K 32 /* the gathering col2im's largest kernel side */
/* Conv adjoints with at most this many output channels sum W^T D themselves
 * (layer_ops_conv_adjoint.h, adjoint_direct), in column blocks of this size. */
#define ADJ_DIRECT_MAX_CO 8
#define ADJ_DIRECT_BLOCK 512

#define REAL double
#define SFX(name) name##_d
#define GEMM cblas_dgemm
#define VEC __m256d
#define VLANES 4
#define VZERO() _mm256_setzero_pd()
#define VLOADU(p) _mm256_loadu_pd(p)
#define VMASKLOAD(p, m) _mm256_maskload_pd(p, m)
#define VADD(a, b) _mm256_add_pd(a, b)
#define VMUL(a, b) _mm256_mul_pd(a, b)
#define VSET1(x) _mm256_set1_pd(x)
#define VSTOREU(p, v) _mm256_storeu_pd(p, v)
#define VMASKSTORE(p, m, v) _mm256_maskstore_pd(p, m, v)
#define VLANE_IDX() _mm256_setr_epi64x(0, 1, 2, 3)
#define VSET1I(x) _mm256_set1_epi64x(x)
#define VCMPGTI(a, b) _mm256_cmpgt_epi64(a, b)
#include "layer_ops_conv_adjoint.h"
#define REAL float
#define SFX(name) name##_f
#define GEMM cblas_sgemm
#define VEC __m256
#define VLANES 8
#define VZERO() _mm256_setzero_ps()
#define VLOADU(p) _mm256_loadu_ps(p)
#define VMASKLOAD(p, m) _mm256_maskload_ps(p, m)
#define VADD(a, b) _mm256_add_ps(a, b)
#define VMUL(a, b) _mm256_mul_ps(a, b)
#define VSET1(x) _mm256_set1_ps(x)
#define VSTOREU(p, v) _mm256_storeu_ps(p, v)
#define VMASKSTORE(p, m, v) _mm256_maskstore_ps(p, m, v)
#define VLANE_IDX() _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)
#define VSET1I(x) _mm256_set1_epi32(x)
#define VCMPGTI(a, b) _mm256_cmpgt_epi32(a, b)
#include "layer_ops_conv_adjoint.h"

/* Average pooling forward (adjoint = 0) or adjoint (adjoint = 1). */
static int avgpool_apply(const nn_layer *l, const double *a, size_t n, size_t lda, double *b, size_t ldb,
                         int adjoint, layer_workspace *ws, nn_error *err)
{
    size_t plane = (size_t)l->out.h * (size_t)l->out.w, hw = (size_t)l->in.h * (size_t)l->in.w;
    size_t kk = (size_t)l->kernel[0] * (size_t)l->kernel[1], c_n = (size_t)l->in.c;
    int *tab = window_table(l, ws, err);
    double *cnt = tab ? ws_doubles(ws, plane, "avgpool counts", err) : NULL;
    if (!cnt) return err ? err->code : NN_ENOMEM;
    for (size_t p = 0; p < plane; p++) cnt[p] = avgpool_divisor(l, (int)(p / (size_t)l->out.w), (int)(p % (size_t)l->out.w));
    for (size_t r = 0; r < n; r++) {
        const double *ar = a + r * lda;
        double *br = b + r * ldb;
        if (adjoint) memset(br, 0, c_n * hw * sizeof *br);
        for (size_t c = 0; c < c_n; c++)
            for (size_t p = 0; p < plane; p++) {
                const int *t = tab + p * kk;
                if (adjoint) {
                    double g = ar[c * plane + p] / cnt[p];
                    double *dst = br + c * hw;
                    for (size_t k = 0; k < kk; k++)
                        if (t[k] >= 0) dst[t[k]] += g;
                } else {
                    const double *src = ar + c * hw;
                    double s = 0.0;
                    for (size_t k = 0; k < kk; k++)
                        if (t[k] >= 0) s += src[t[k]];
                    br[c * plane + p] = s / cnt[p];
                }
            }
    }
    return NN_OK;
}

int maxpool2d_forward(const nn_layer *layer, const double *x, size_t n, size_t ldx, double *y, size_t ldy,
                      int *argmax, nn_error *err)
{
    layer_workspace ws;
    layer_workspace_init(&ws);
    int rc = maxpool2d_forward_ws(layer, x, n, ldx, y, ldy, argmax, &ws, err);
    layer_workspace_free(&ws);
    return rc;
}

int maxpool2d_forward_ws(const nn_layer *layer, const double *x, size_t n, size_t ldx, double *y, size_t ldy,
                         int *argmax, layer_workspace *ws, nn_error *err)
{
    const nn_layer *l = layer;
    if (l->type != LAYER_MAXPOOL2D)
        return nn_fail(err, NN_EARG, "maxpool2d_forward called on a %s layer", layer_type_name(l->type));
    size_t n_in = shape_size(l->in), n_out = shape_size(l->out);
    int rc;
    if ((rc = check_rows(l, "input", x, n, ldx, n_in, err))) return rc;
    if ((rc = check_rows(l, "output", y, n, ldy, n_out, err))) return rc;
    if (n == 0) return NN_OK;
    size_t plane = (size_t)l->out.h * (size_t)l->out.w, hw = (size_t)l->in.h * (size_t)l->in.w;
    size_t kk = (size_t)l->kernel[0] * (size_t)l->kernel[1], c_n = (size_t)l->in.c;
    int *tab = window_table(l, ws, err);
    if (!tab) return err ? err->code : NN_ENOMEM;
    for (size_t r = 0; r < n; r++) {
        const double *xr = x + r * ldx;
        double *yr = y + r * ldy;
        int *ar = argmax ? argmax + r * n_out : NULL;
        for (size_t c = 0; c < c_n; c++) {
            const double *src = xr + c * hw;
            for (size_t p = 0; p < plane; p++) {
                const int *t = tab + p * kk;
                int best = -1;
                for (size_t k = 0; k < kk; k++)
                    if (t[k] >= 0 && (best < 0 || src[t[k]] > src[best])) best = t[k];
                /* best >= 0: model_finalize keeps padding below the kernel size */
                yr[c * plane + p] = src[best];
                if (ar) ar[c * plane + p] = (int)(c * hw) + best;
            }
        }
    }
    return NN_OK;
}

static int check_affine(const nn_layer *l, nn_error *err)
{
    if (!layer_is_affine(l->type))
        return nn_fail(err, NN_EARG, "layer type %s is not affine", layer_type_name(l->type));
    return NN_OK;
}

/* The checks every affine map and adjoint starts with: an affine layer, and n rows
 * of a (row length na) and of b (row length nb) with valid leading dimensions. */
static int check_affine_rows(const nn_layer *l, const char *an, const void *a, size_t lda, size_t na, const char *bn,
                             const void *b, size_t ldb, size_t nb, size_t n, nn_error *err)
{
    int rc = check_affine(l, err);
    if (!rc) rc = check_rows(l, an, a, n, lda, na, err);
    if (!rc) rc = check_rows(l, bn, b, n, ldb, nb, err);
    return rc;
}

/* C (m x n) = beta C when the product is a sum of no terms (k = 0), and nothing
 * when C is empty (n = 0): BLAS refuses a leading dimension of 0, which such
 * shapes may carry (a dense layer whose packed inputs are all dead has width 0),
 * and OpenBLAS then prints an error on stdout instead of computing. 1 if so. */
static int empty_product(size_t m, size_t n, size_t k, double beta, void *c, size_t ldc, size_t size)
{
    if (m > 0 && n > 0 && k > 0) return 0;
    for (size_t r = 0; k == 0 && n > 0 && r < m; r++) {
        if (size == sizeof(double)) {
            double *cr = (double *)c + r * ldc;
            for (size_t q = 0; q < n; q++) cr[q] = beta == 0.0 ? 0.0 : beta * cr[q];
        } else {
            float *cr = (float *)c + r * ldc;
            for (size_t q = 0; q < n; q++) cr[q] = beta == 0.0 ? 0.0f : (float)beta * cr[q];
        }
    }
    return 1;
}

/* GEMV computes op(B) x: B is row-major (n rows of k with trans_b, else k rows of
 * n), so op(B) x is B x for trans_b and B^T x otherwise. */
void rows_dgemm(int trans_b, size_t m, size_t n, size_t k, const double *a, size_t lda, const double *b,
                size_t ldb, double beta, double *c, size_t ldc)
{
    if (empty_product(m, n, k, beta, c, ldc, sizeof *c)) return;
    if (m <= ROWS_GEMV_MAX) {
        /* C's rows as zeros, not as whatever they held, whatever GEMV does with beta 0 */
        for (size_t r = 0; beta == 0.0 && r < m; r++) memset(c + r * ldc, 0, n * sizeof *c);
        for (size_t r = 0; r < m; r++)
            cblas_dgemv(CblasRowMajor, trans_b ? CblasNoTrans : CblasTrans, (int)(trans_b ? n : k),
                        (int)(trans_b ? k : n), 1.0, b, (int)ldb, a + r * lda, 1, beta, c + r * ldc, 1);
        return;
    }
    if (beta == 0.0) gemm_clear(c, m, n, ldc, sizeof *c), beta = 1.0;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, (int)m, (int)n, (int)k, 1.0, a,
                (int)lda, b, (int)ldb, beta, c, (int)ldc);
}

void rows_sgemm(int trans_b, size_t m, size_t n, size_t k, const float *a, size_t lda, const float *b, size_t ldb,
                float beta, float *c, size_t ldc)
{
    if (empty_product(m, n, k, beta, c, ldc, sizeof *c)) return;
    if (m <= ROWS_GEMV_MAX) {
        for (size_t r = 0; beta == 0.0f && r < m; r++) memset(c + r * ldc, 0, n * sizeof *c);
        for (size_t r = 0; r < m; r++)
            cblas_sgemv(CblasRowMajor, trans_b ? CblasNoTrans : CblasTrans, (int)(trans_b ? n : k),
                        (int)(trans_b ? k : n), 1.0f, b, (int)ldb, a + r * lda, 1, beta, c + r * ldc, 1);
        return;
    }
    if (beta == 0.0f) gemm_clear(c, m, n, ldc, sizeof *c), beta = 1.0f;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, (int)m, (int)n, (int)k, 1.0f, a,
                (int)lda, b, (int)ldb, beta, c, (int)ldc);
}

int layer_affine_forward(const nn_layer *layer, const double *x, size_t n, size_t ldx, double *y, size_t ldy,
                         nn_error *err)
{
    layer_workspace ws;
    layer_workspace_init(&ws);
    int rc = layer_affine_forward_ws(layer, x, n, ldx, y, ldy, &ws, err);
    layer_workspace_free(&ws);
    return rc;
}

int layer_affine_forward_ws(const nn_layer *layer, const double *x, size_t n, size_t ldx, double *y, size_t ldy,
                            layer_workspace *ws, nn_error *err)
{
    const nn_layer *l = layer;
    size_t n_in = shape_size(l->in), n_out = shape_size(l->out);
    int rc = check_affine_rows(l, "input", x, ldx, n_in, "output", y, ldy, n_out, n, err);
    if (rc || n == 0) return rc;
    switch (l->type) {
    case LAYER_DENSE:
        for (size_t r = 0; r < n; r++) memcpy(y + r * ldy, l->bias, n_out * sizeof *y);
        /* GEMM even for one row: a point's outputs are the same bits alone and in
         * a batch (test_forward), which one-row GEMV would not keep */
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)n_out, (int)n_in, 1.0, x, (int)ldx,
                    l->weight, (int)n_in, 1.0, y, (int)ldy);
        return NN_OK;
    case LAYER_CONV2D:
        return conv_forward(l, x, n, ldx, y, ldy, ws, err);
    case LAYER_AVGPOOL2D:
        return avgpool_apply(l, x, n, ldx, y, ldy, 0, ws, err);
    case LAYER_NORMALIZE: {
        size_t hw = (size_t)l->in.h * (size_t)l->in.w;
        for (size_t r = 0; r < n; r++)
            for (size_t c = 0; c < (size_t)l->in.c; c++) {
                const double *src = x + r * ldx + c * hw;
                double *dst = y + r * ldy + c * hw;
                double mean = l->mean[c], sd = l->std[c];
                for (size_t i = 0; i < hw; i++) dst[i] = (src[i] - mean) / sd;
            }
        return NN_OK;
    }
    default: /* LAYER_FLATTEN: C,H,W order is already flat */
        for (size_t r = 0; r < n; r++) memmove(y + r * ldy, x + r * ldx, n_in * sizeof *y);
        return NN_OK;
    }
}

int layer_affine_adjoint(const nn_layer *layer, const double *dy, size_t rows, size_t lddy, double *dx,
                         size_t lddx, nn_error *err)
{
    layer_workspace ws;
    layer_workspace_init(&ws);
    int rc = layer_affine_adjoint_ws(layer, dy, rows, lddy, dx, lddx, &ws, err);
    layer_workspace_free(&ws);
    return rc;
}

int layer_affine_adjoint_ws(const nn_layer *layer, const double *dy, size_t rows, size_t lddy, double *dx,
                            size_t lddx, layer_workspace *ws, nn_error *err)
{
    const nn_layer *l = layer;
    size_t n_in = shape_size(l->in), n_out = shape_size(l->out);
    int rc = check_affine_rows(l, "dy", dy, lddy, n_out, "dx", dx, lddx, n_in, rows, err);
    if (rc || rows == 0) return rc;
    switch (l->type) {
    case LAYER_DENSE:
        rows_dgemm(0, rows, n_in, n_out, dy, lddy, l->weight, n_in, 0.0, dx, lddx);
        return NN_OK;
    case LAYER_CONV2D:
        return conv_adjoint_d(l, l->weight, dy, rows, lddy, dx, lddx, ws, err);
    case LAYER_AVGPOOL2D:
        return avgpool_apply(l, dy, rows, lddy, dx, lddx, 1, ws, err);
    case LAYER_NORMALIZE:
        normalize_adjoint_d(l, dy, rows, lddy, (size_t)l->in.h * (size_t)l->in.w, dx, lddx);
        return NN_OK;
    default: /* LAYER_FLATTEN: the identity is its own adjoint */
        for (size_t r = 0; r < rows; r++) memmove(dx + r * lddx, dy + r * lddy, n_in * sizeof *dx);
        return NN_OK;
    }
}

int layer_affine_adjoint_f_ws(const nn_layer *layer, const float *weight_f, const float *dy, size_t rows,
                              size_t lddy, float *dx, size_t lddx, layer_workspace *ws, nn_error *err)
{
    const nn_layer *l = layer;
    size_t n_in = shape_size(l->in), n_out = shape_size(l->out);
    int rc = check_affine_rows(l, "dy", dy, lddy, n_out, "dx", dx, lddx, n_in, rows, err);
    if (rc || rows == 0) return rc;
    if ((l->type == LAYER_DENSE || l->type == LAYER_CONV2D) && !weight_f)
        return nn_fail(err, NN_EARG, "%s: float adjoint needs the float weights", layer_type_name(l->type));
    switch (l->type) {
    case LAYER_DENSE:
        rows_sgemm(0, rows, n_in, n_out, dy, lddy, weight_f, n_in, 0.0f, dx, lddx);
        return NN_OK;
    case LAYER_CONV2D:
        return conv_adjoint_f(l, weight_f, dy, rows, lddy, dx, lddx, ws, err);
    case LAYER_AVGPOOL2D: {
        size_t plane = (size_t)l->out.h * (size_t)l->out.w, hw = (size_t)l->in.h * (size_t)l->in.w;
        size_t kk = (size_t)l->kernel[0] * (size_t)l->kernel[1];
        int *tab = window_table(l, ws, err);
        if (!tab) return err ? err->code : NN_ENOMEM;
        for (size_t r = 0; r < rows; r++) {
            const float *ar = dy + r * lddy;
            float *br = dx + r * lddx;
            memset(br, 0, n_in * sizeof *br);
            for (size_t c = 0; c < (size_t)l->in.c; c++)
                for (size_t p = 0; p < plane; p++) {
                    const int *t = tab + p * kk;
                    int cnt = avgpool_divisor(l, (int)(p / (size_t)l->out.w), (int)(p % (size_t)l->out.w));
                    float g = ar[c * plane + p] / (float)cnt;
                    for (size_t k = 0; k < kk; k++)
                        if (t[k] >= 0) br[c * hw + (size_t)t[k]] += g;
                }
        }
        return NN_OK;
    }
    case LAYER_NORMALIZE:
        normalize_adjoint_f(l, dy, rows, lddy, (size_t)l->in.h * (size_t)l->in.w, dx, lddx);
        return NN_OK;
    default:
        for (size_t r = 0; r < rows; r++) memmove(dx + r * lddx, dy + r * lddy, n_in * sizeof *dx);
        return NN_OK;
    }
}

void layer_affine_offset(const nn_layer *layer, double *b_full)
{
    const nn_layer *l = layer;
    size_t n_out = shape_size(l->out);
    switch (l->type) {
    case LAYER_DENSE:
        memcpy(b_full, l->bias, n_out * sizeof *b_full);
        return;
    case LAYER_CONV2D: {
        size_t plane = (size_t)l->out.h * (size_t)l->out.w;
        for (size_t co = 0; co < (size_t)l->out_channels; co++)
            for (size_t p = 0; p < plane; p++) b_full[co * plane + p] = l->bias[co];
        return;
    }
    case LAYER_NORMALIZE: {
        size_t hw = (size_t)l->in.h * (size_t)l->in.w;
        for (size_t c = 0; c < (size_t)l->in.c; c++)
            for (size_t i = 0; i < hw; i++) b_full[c * hw + i] = -l->mean[c] / l->std[c];
        return;
    }
    default:
        memset(b_full, 0, n_out * sizeof *b_full);
        return;
    }
}

void layer_window_below(const nn_layer *layer, int h, int w, int *hi, int *wi)
{
    const nn_layer *l = layer;
    if (l->type == LAYER_CONV2D || l->type == LAYER_AVGPOOL2D || l->type == LAYER_MAXPOOL2D) {
        *hi = (h - 1) * l->stride[0] + (l->kernel[0] - 1) * l->dilation[0] + 1;
        *wi = (w - 1) * l->stride[1] + (l->kernel[1] - 1) * l->dilation[1] + 1;
    } else {
        *hi = h;
        *wi = w;
    }
}

void layer_window_origin_below(const nn_layer *layer, int *oy, int *ox, size_t n)
{
    const nn_layer *l = layer;
    if (!(l->type == LAYER_CONV2D || l->type == LAYER_AVGPOOL2D || l->type == LAYER_MAXPOOL2D)) return;
    for (size_t r = 0; r < n; r++) {
        oy[r] = oy[r] * l->stride[0] - l->pad[0];
        ox[r] = ox[r] * l->stride[1] - l->pad[1];
    }
}

/* Windowed rows: the layer's geometry and the rows' shapes are the caller's to keep
 * consistent (the bound kernel's cropped rows); n and the leading dimensions are
 * checked against BLAS's int range. */
static int check_window_rows(const nn_layer *l, size_t n, size_t lddy, size_t lddx, int h, int w, nn_error *err)
{
    if (n == 0) return NN_OK;
    if (!(l->type == LAYER_CONV2D || l->type == LAYER_AVGPOOL2D || l->type == LAYER_NORMALIZE))
        return nn_fail(err, NN_EARG, "%s: no windowed adjoint", layer_type_name(l->type));
    if (h < 1 || w < 1) return nn_fail(err, NN_EARG, "%s: empty window %dx%d", layer_type_name(l->type), h, w);
    int hi, wi;
    layer_window_below(l, h, w, &hi, &wi);
    size_t no = (size_t)(l->type == LAYER_CONV2D ? l->out_channels : l->in.c) * (size_t)h * (size_t)w;
    size_t ni = (size_t)l->in.c * (size_t)hi * (size_t)wi;
    if (lddy < no || lddx < ni)
        return nn_fail(err, NN_EARG, "%s: leading dimensions %zu, %zu below the windows' %zu, %zu",
                       layer_type_name(l->type), lddy, lddx, no, ni);
    if (n > INT_MAX || lddy > INT_MAX || lddx > INT_MAX || n * (size_t)h * (size_t)w > INT_MAX)
        return nn_fail(err, NN_EARG, "%s: %zu windowed rows exceed BLAS int range", layer_type_name(l->type), n);
    return NN_OK;
}

int layer_affine_adjoint_window_ws(const nn_layer *layer, const double *dy, size_t n, size_t lddy, int h, int w,
                                   const int *oy, const int *ox, double *dx, size_t lddx, layer_workspace *ws,
                                   nn_error *err)
{
    int rc = check_window_rows(layer, n, lddy, lddx, h, w, err);
    if (rc || n == 0) return rc;
    return affine_adjoint_win_d(layer, layer->weight, dy, n, lddy, h, w, oy, ox, dx, lddx, ws, err);
}

int layer_affine_adjoint_window_f_ws(const nn_layer *layer, const float *weight_f, const float *dy, size_t n,
                                     size_t lddy, int h, int w, const int *oy, const int *ox, float *dx, size_t lddx,
                                     layer_workspace *ws, nn_error *err)
{
    int rc = check_window_rows(layer, n, lddy, lddx, h, w, err);
    if (rc || n == 0) return rc;
    if (layer->type == LAYER_CONV2D && !weight_f)
        return nn_fail(err, NN_EARG, "conv2d: float adjoint needs the float weights");
    return affine_adjoint_win_f(layer, weight_f, dy, n, lddy, h, w, oy, ox, dx, lddx, ws, err);
}
