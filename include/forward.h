/* forward: the exact network function, batched over images, and its gradient.
 * Dense and conv layers run through OpenBLAS GEMM. Used by predict, by attacks
 * (values and input gradients) and by tests that sample inside bound regions. */
#ifndef FORWARD_H
#define FORWARD_H

#include <stddef.h>
#include "layer_ops.h"
#include "model.h"
#include "nn_error.h"

/* Buffers of forward passes kept from one call to the next, for callers that
 * run many small ones (branch and bound checks a point per sub-domain): fresh
 * buffers of a conv's im2col are page-faulted in on every call. */
typedef struct {
    double *a, *b;      /* layer outputs, cap doubles each */
    size_t cap;
    layer_workspace ws; /* conv and pool scratch */
} forward_workspace;

/* Prototypes */
void forward_workspace_init(forward_workspace *fw);
void forward_workspace_free(forward_workspace *fw);
/* logits[n x output size] of n input rows x[n x input size]. */
int forward_run(const nn_model *m, const double *x, size_t n, double *logits, nn_error *err);
/* forward_run with fw's buffers (grown as needed): the same bits. */
int forward_run_ws(const nn_model *m, const double *x, size_t n, double *logits, forward_workspace *fw,
                   nn_error *err);
/* Outputs of every layer for n inputs: acts[i] (allocated by the call, n rows of
 * shape_size(layers[i].out)) is layer i's output; free with forward_trace_free. */
int forward_trace(const nn_model *m, const double *x, size_t n, double ***acts, nn_error *err);
void forward_trace_free(const nn_model *m, double **acts);
/* Gradient of w . logits(x) with respect to x for one input: grad[input size]. */
int forward_vjp(const nn_model *m, const double *x, const double *w, double *logits, double *grad, nn_error *err);
/* Index of the largest logit (first one on ties). */
int forward_argmax(const double *logits, size_t n);

#endif
