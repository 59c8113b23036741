/* Layer linear algebra on blocks of rows: forward maps and adjoints.
 *
 * Every affine layer is y = M x + b_full. The forward pass, attacks and the
 * bound engine all need M applied to rows (forward) and rows multiplied by M
 * from the right (adjoint: back-substitution of linear bounds, gradients), so
 * both live here, on row blocks with leading dimensions (spec formats.md).
 *
 * Convolution uses a transposed im2col: for a chunk of nb rows, colT holds one
 * row per (image, output position) with the K = Ci*kH*kW window values, so the
 * whole chunk is one GEMM colT[nb*P, K] * W^T[K, Co]. The adjoint is the same
 * GEMM backwards (dyT[nb*P, Co] * W[Co, K]) followed by a scatter-add (col2im):
 * the dense conv matrix is never built, and the workspace per chunk is bounded
 * by WORK_DOUBLES so memory stays O(rows x activations).
 *
 * Window geometry (conv and pools) is precomputed once per call as a table of
 * spatial input offsets per (output position, window slot), -1 for padding.
 * Output position (oy, ox), slot (ky, kx) reads input row
 * oy*stride - pad_top + ky*dilation (PyTorch's convention; likewise columns).
 * Pool padding cells are not inputs: max ignores them (like -inf padding) and
 * the average divides by the number of real cells (count_include_pad=False). */
#include "layer_ops.h"

#include <cblas.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* Largest im2col / GEMM workspace per buffer, in doubles (32 MiB). */
#define WORK_DOUBLES ((size_t)1 << 22)

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

/* Table [P * kH*kW] of window_spatial for every output position and slot. */
static int *window_table(const nn_layer *l, nn_error *err)
{
    size_t plane = (size_t)l->out.h * (size_t)l->out.w;
    int kk = l->kernel[0] * l->kernel[1];
    int *t = nn_malloc(plane * (size_t)kk * sizeof *t, "window index table", err);
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

/* Rows per conv chunk so that the P x max(K, Co) workspaces fit WORK_DOUBLES. */
static size_t conv_chunk(size_t n, size_t plane, size_t k, size_t co)
{
    size_t widest = (k > co ? k : co) * plane;
    size_t chunk = widest ? WORK_DOUBLES / widest : n;
    if (chunk < 1) chunk = 1;
    return chunk < n ? chunk : n;
}

static int conv_forward(const nn_layer *l, const double *x, size_t n, size_t ldx, double *y, size_t ldy,
                        nn_error *err)
{
    size_t plane = (size_t)l->out.h * (size_t)l->out.w, hw = (size_t)l->in.h * (size_t)l->in.w;
    size_t kk = (size_t)l->kernel[0] * (size_t)l->kernel[1], ci_n = (size_t)l->in.c;
    size_t K = ci_n * kk, co_n = (size_t)l->out_channels;
    size_t chunk = conv_chunk(n, plane, K, co_n);
    int *tab = window_table(l, err);
    double *colT = tab ? nn_malloc(chunk * plane * K * sizeof *colT, "conv2d im2col workspace", err) : NULL;
    double *yT = colT ? nn_malloc(chunk * plane * co_n * sizeof *yT, "conv2d output workspace", err) : NULL;
    if (!yT) {
        free(tab);
        free(colT);
        return err ? err->code : NN_ENOMEM;
    }
    for (size_t r0 = 0; r0 < n; r0 += chunk) {
        size_t nb = n - r0 < chunk ? n - r0 : chunk;
        for (size_t r = 0; r < nb; r++) {
            const double *xr = x + (r0 + r) * ldx;
            for (size_t p = 0; p < plane; p++) {
                double *row = colT + (r * plane + p) * K;
                const int *t = tab + p * kk;
                for (size_t ci = 0; ci < ci_n; ci++) {
                    const double *base = xr + ci * hw;
                    double *dst = row + ci * kk;
                    for (size_t k = 0; k < kk; k++) dst[k] = t[k] >= 0 ? base[t[k]] : 0.0;
                }
            }
        }
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)(nb * plane), (int)co_n, (int)K, 1.0, colT,
                    (int)K, l->weight, (int)K, 0.0, yT, (int)co_n);
        for (size_t r = 0; r < nb; r++) {
            double *yr = y + (r0 + r) * ldy;
            const double *src = yT + r * plane * co_n;
            for (size_t co = 0; co < co_n; co++) {
                double b = l->bias[co];
                double *dst = yr + co * plane;
                for (size_t p = 0; p < plane; p++) dst[p] = src[p * co_n + co] + b;
            }
        }
    }
    free(tab);
    free(colT);
    free(yT);
    return NN_OK;
}

/* dx = dy * M for conv2d: a transposed convolution as GEMM + col2im. */
static int conv_adjoint(const nn_layer *l, const double *dy, size_t n, size_t lddy, double *dx, size_t lddx,
                        nn_error *err)
{
    size_t plane = (size_t)l->out.h * (size_t)l->out.w, hw = (size_t)l->in.h * (size_t)l->in.w;
    size_t kk = (size_t)l->kernel[0] * (size_t)l->kernel[1], ci_n = (size_t)l->in.c;
    size_t K = ci_n * kk, co_n = (size_t)l->out_channels;
    size_t chunk = conv_chunk(n, plane, K, co_n);
    int *tab = window_table(l, err);
    double *dyT = tab ? nn_malloc(chunk * plane * co_n * sizeof *dyT, "conv2d adjoint workspace", err) : NULL;
    double *dcolT = dyT ? nn_malloc(chunk * plane * K * sizeof *dcolT, "conv2d col2im workspace", err) : NULL;
    if (!dcolT) {
        free(tab);
        free(dyT);
        return err ? err->code : NN_ENOMEM;
    }
    for (size_t r0 = 0; r0 < n; r0 += chunk) {
        size_t nb = n - r0 < chunk ? n - r0 : chunk;
        for (size_t r = 0; r < nb; r++) {
            const double *dyr = dy + (r0 + r) * lddy;
            double *dst = dyT + r * plane * co_n;
            for (size_t co = 0; co < co_n; co++) {
                const double *src = dyr + co * plane;
                for (size_t p = 0; p < plane; p++) dst[p * co_n + co] = src[p];
            }
        }
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)(nb * plane), (int)K, (int)co_n, 1.0, dyT,
                    (int)co_n, l->weight, (int)K, 0.0, dcolT, (int)K);
        for (size_t r = 0; r < nb; r++) {
            double *dxr = dx + (r0 + r) * lddx;
            memset(dxr, 0, ci_n * hw * sizeof *dxr);
            for (size_t p = 0; p < plane; p++) {
                const double *row = dcolT + (r * plane + p) * K;
                const int *t = tab + p * kk;
                for (size_t ci = 0; ci < ci_n; ci++) {
                    double *base = dxr + ci * hw;
                    const double *src = row + ci * kk;
                    for (size_t k = 0; k < kk; k++)
                        if (t[k] >= 0) base[t[k]] += src[k];
                }
            }
        }
    }
    free(tab);
    free(dyT);
    free(dcolT);
    return NN_OK;
}

/* Average pooling forward (adjoint = 0) or adjoint (adjoint = 1). */
static int avgpool_apply(const nn_layer *l, const double *a, size_t n, size_t lda, double *b, size_t ldb,
                         int adjoint, nn_error *err)
{
    size_t plane = (size_t)l->out.h * (size_t)l->out.w, hw = (size_t)l->in.h * (size_t)l->in.w;
    size_t kk = (size_t)l->kernel[0] * (size_t)l->kernel[1], c_n = (size_t)l->in.c;
    int *tab = window_table(l, err);
    double *cnt = tab ? nn_malloc(plane * sizeof *cnt, "avgpool counts", err) : NULL;
    if (!cnt) {
        free(tab);
        return err ? err->code : NN_ENOMEM;
    }
    for (size_t p = 0; p < plane; p++) {
        int c = 0;
        for (size_t k = 0; k < kk; k++) c += tab[p * kk + k] >= 0;
        cnt[p] = c; /* >= 1: model_finalize keeps padding below the kernel size */
    }
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
    free(tab);
    free(cnt);
    return NN_OK;
}

int maxpool2d_forward(const nn_layer *layer, const double *x, size_t n, size_t ldx, double *y, size_t ldy,
                      int *argmax, nn_error *err)
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
    int *tab = window_table(l, err);
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
    free(tab);
    return NN_OK;
}

static int check_affine(const nn_layer *l, nn_error *err)
{
    if (!layer_is_affine(l->type))
        return nn_fail(err, NN_EARG, "layer type %s is not affine", layer_type_name(l->type));
    return NN_OK;
}

int layer_affine_forward(const nn_layer *layer, const double *x, size_t n, size_t ldx, double *y, size_t ldy,
                         nn_error *err)
{
    const nn_layer *l = layer;
    size_t n_in = shape_size(l->in), n_out = shape_size(l->out);
    int rc;
    if ((rc = check_affine(l, err))) return rc;
    if ((rc = check_rows(l, "input", x, n, ldx, n_in, err))) return rc;
    if ((rc = check_rows(l, "output", y, n, ldy, n_out, err))) return rc;
    if (n == 0) return NN_OK;
    switch (l->type) {
    case LAYER_DENSE:
        for (size_t r = 0; r < n; r++) memcpy(y + r * ldy, l->bias, n_out * sizeof *y);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)n_out, (int)n_in, 1.0, x, (int)ldx,
                    l->weight, (int)n_in, 1.0, y, (int)ldy);
        return NN_OK;
    case LAYER_CONV2D:
        return conv_forward(l, x, n, ldx, y, ldy, err);
    case LAYER_AVGPOOL2D:
        return avgpool_apply(l, x, n, ldx, y, ldy, 0, err);
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
    const nn_layer *l = layer;
    size_t n_in = shape_size(l->in), n_out = shape_size(l->out);
    int rc;
    if ((rc = check_affine(l, err))) return rc;
    if ((rc = check_rows(l, "dy", dy, rows, lddy, n_out, err))) return rc;
    if ((rc = check_rows(l, "dx", dx, rows, lddx, n_in, err))) return rc;
    if (rows == 0) return NN_OK;
    switch (l->type) {
    case LAYER_DENSE:
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, (int)n_in, (int)n_out, 1.0, dy,
                    (int)lddy, l->weight, (int)n_in, 0.0, dx, (int)lddx);
        return NN_OK;
    case LAYER_CONV2D:
        return conv_adjoint(l, dy, rows, lddy, dx, lddx, err);
    case LAYER_AVGPOOL2D:
        return avgpool_apply(l, dy, rows, lddy, dx, lddx, 1, err);
    case LAYER_NORMALIZE: {
        size_t hw = (size_t)l->in.h * (size_t)l->in.w;
        for (size_t r = 0; r < rows; r++)
            for (size_t c = 0; c < (size_t)l->in.c; c++) {
                const double *src = dy + r * lddy + c * hw;
                double *dst = dx + r * lddx + c * hw;
                double sd = l->std[c];
                for (size_t i = 0; i < hw; i++) dst[i] = src[i] / sd;
            }
        return NN_OK;
    }
    default: /* LAYER_FLATTEN: the identity is its own adjoint */
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
