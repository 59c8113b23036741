/* layer_ops: the linear algebra of single layers on batches of rows.
 * Forward maps (x -> y) and adjoints (row vectors on a layer's output -> row
 * vectors on its input) shared by the forward pass, attacks and the bound engine. */
#ifndef LAYER_OPS_H
#define LAYER_OPS_H

#include <stddef.h>
#include "model.h"
#include "nn_error.h"

/* All matrices are row-major with a leading dimension (BLAS style): row r of x
 * starts at x + r*ldx and holds shape_size(layer->in) values (C,H,W order);
 * any block of rows is a valid argument. Outputs are overwritten, never summed into. */

/* Prototypes */

/* y = L(x) for an affine layer (dense, conv2d, normalize, avgpool2d, flatten),
 * bias included; n rows. */
int layer_affine_forward(const nn_layer *layer, const double *x, size_t n, size_t ldx, double *y, size_t ldy,
                         nn_error *err);

/* The adjoint of an affine layer's linear part: dx = dy * M where y = M x + b.
 * dy has `rows` rows of shape_size(layer->out), dx rows of shape_size(layer->in).
 * Dense: one GEMM. Conv2d: transposed convolution, never a dense conv matrix. */
int layer_affine_adjoint(const nn_layer *layer, const double *dy, size_t rows, size_t lddy, double *dx,
                         size_t lddx, nn_error *err);

/* The constant part of an affine layer as a full output-sized vector b_full
 * (dense/conv: bias per output; normalize: -mean/std per channel; else 0), so that
 * L(x) = M x + b_full. b_full has shape_size(layer->out) entries. */
void layer_affine_offset(const nn_layer *layer, double *b_full);

/* Max pooling forward; argmax (optional, n x out entries) records the flat input
 * index that won each window (first maximum in window order). */
int maxpool2d_forward(const nn_layer *layer, const double *x, size_t n, size_t ldx, double *y, size_t ldy,
                      int *argmax, nn_error *err);

/* Flat input index (C,H,W order) of slot k of pooled/convolved output o, or -1
 * for a padding cell; window = kernel[0]*kernel[1] slots in row-major (ky, kx).
 * Pools: the cell is in o's channel. Conv2d: the cell is in input channel 0
 * (add ci*in.h*in.w for channel ci). Out-of-range o or k also give -1. */
int window_input_index(const nn_layer *layer, size_t o, int k);

/* Scratch memory kept across layer calls. The functions above allocate and free
 * their conv/pool workspaces on every call; callers that call them repeatedly
 * (back-substitution, batched forward) pass one layer_workspace to the _ws
 * variants instead, so the memory is not page-faulted in afresh each time. */
typedef struct {
    double *d;         /* double scratch, nd entries */
    size_t nd;
    int *i;            /* int scratch (pool window tables), ni entries */
    size_t ni;
    /* 1: the conv adjoints' col2im scatters cell by cell on any CPU (the
     * reference the gathering one is tested against); 0 (init): it gathers each
     * cell's slots in AVX2 registers where the CPU has AVX2 and the conv's
     * strides are 1. The same bits either way (layer_ops_conv_adjoint.h). */
    int plain_col2im;
} layer_workspace;

void layer_workspace_init(layer_workspace *ws);
void layer_workspace_free(layer_workspace *ws);
int layer_affine_forward_ws(const nn_layer *layer, const double *x, size_t n, size_t ldx, double *y, size_t ldy,
                            layer_workspace *ws, nn_error *err);
int layer_affine_adjoint_ws(const nn_layer *layer, const double *dy, size_t rows, size_t lddy, double *dx,
                            size_t lddx, layer_workspace *ws, nn_error *err);
int maxpool2d_forward_ws(const nn_layer *layer, const double *x, size_t n, size_t ldx, double *y, size_t ldy,
                         int *argmax, layer_workspace *ws, nn_error *err);
/* The adjoint in single precision (float32 backward passes of the bound engine):
 * dense and conv2d multiply by weight_f, the caller's float copy of layer->weight;
 * other layers ignore it. Each output entry is a float sum of at most
 * out_channels*kH*kW (conv2d), out size (dense) or kH*kW (avgpool) products. */
int layer_affine_adjoint_f_ws(const nn_layer *layer, const float *weight_f, const float *dy, size_t rows,
                              size_t lddy, float *dx, size_t lddx, layer_workspace *ws, nn_error *err);

/* Windowed rows (the bound engine's cropped backward rows: a row of a conv-shaped
 * tensor is zero outside a rectangle, its receptive field). Row r holds an
 * [C x h x w] window (all channels, C,H,W order) of a map whose top-left cell is
 * (oy[r], ox[r]); the window may reach outside the map, and its cells there are 0.
 * layer_window_below gives the window on the layer's input that a window of its
 * output depends on (conv and pools: (h-1) stride + (k-1) dilation + 1; others
 * the same size), layer_window_origin_below moves n origins there (o*stride - pad).
 * The adjoints (conv2d, avgpool2d, normalize) write the input windows, with their
 * cells outside the input map set to 0; per cell of the map they add the same
 * terms in the same order as layer_affine_adjoint, so the window's cells get the
 * dense rows' bits whenever the GEMM computes each entry by one product chain
 * over the output channels whatever the matrix shape (OpenBLAS does). */
void layer_window_below(const nn_layer *layer, int h, int w, int *hi, int *wi);
void layer_window_origin_below(const nn_layer *layer, int *oy, int *ox, size_t n);
int layer_affine_adjoint_window_ws(const nn_layer *layer, const double *dy, size_t n, size_t lddy, int h, int w,
                                   const int *oy, const int *ox, double *dx, size_t lddx, layer_workspace *ws,
                                   nn_error *err);
int layer_affine_adjoint_window_f_ws(const nn_layer *layer, const float *weight_f, const float *dy, size_t n,
                                     size_t lddy, int h, int w, const int *oy, const int *ox, float *dx, size_t lddx,
                                     layer_workspace *ws, nn_error *err);

/* C = A op(B) + beta C on m rows of A (row-major, leading dimensions; op(B) is B
 * (k x n) or, with trans_b, the transpose of B (n x k)): the BLAS GEMM, except
 * that a block of at most ROWS_GEMV_MAX rows goes through GEMV, one call per
 * row. OpenBLAS 0.3.21 packs B on every GEMM call, which is most of the cost of
 * a one-row product (doc/bounds.md "Few rows": 2-3x measured; two rows were
 * mixed). Every entry is still one sum of k products, in an order the budgets
 * do not depend on. An empty product (k = 0: C = beta C) or an empty C (n = 0,
 * where leading dimensions of 0 are allowed) makes no BLAS call. */
#define ROWS_GEMV_MAX 1
void rows_dgemm(int trans_b, size_t m, size_t n, size_t k, const double *a, size_t lda, const double *b,
                size_t ldb, double beta, double *c, size_t ldc);
void rows_sgemm(int trans_b, size_t m, size_t n, size_t k, const float *a, size_t lda, const float *b, size_t ldb,
                float beta, float *c, size_t ldc);

/* Element-wise activation forward: y[i] = sigma(x[i]) (param_ramp uses r[i]). */
void activation_forward(const nn_layer *layer, const double *x, size_t n, size_t ldx, double *y, size_t ldy);

/* Scalar activation functions, the single source of their math. act_value is
 * for one neuron (param_ramp reads r[neuron]); hot loops use activation_forward. */
double act_value(const nn_layer *layer, size_t neuron, double z);
/* S-shaped activations (LAYER_TANH, LAYER_SIGMOID, LAYER_ARCTAN) and derivatives. */
double sshape_value(layer_type type, double z);
double sshape_deriv(layer_type type, double z);
double sshape_deriv2(layer_type type, double z);

#endif
