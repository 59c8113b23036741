/* The exact network function: batched forward pass, per-layer trace and the
 * input gradient of a linear functional of the logits.
 *
 * forward_run streams images through the layers in chunks, with two ping-pong
 * buffers sized chunk x (widest layer), so memory does not grow with n; each
 * layer works on the whole chunk at once (dense and conv as one GEMM).
 *
 * forward_vjp is reverse mode on one input: it keeps every layer's input and
 * each max-pool's argmax, then walks back with the layer adjoints of layer_ops.
 * At kinks it takes PyTorch's one-sided choice (relu'(0) = 0, leaky'(0) = alpha);
 * max pooling routes the gradient to the first maximum of each window.
 *
 * Models with residual connections (an add layer, or a layer reading an earlier
 * output than the one just before) keep every layer's output of a chunk instead
 * of two ping-pong buffers, and their gradient sums the contributions of every
 * layer that reads an output (an add passes its gradient to both inputs).
 * Sequential models keep the plain paths. */
#include "forward.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "activation.h"
#include "layer_ops.h"

/* Ping-pong buffer size for forward_run, in doubles per buffer (2 MiB): a
 * chunk of images small enough to stay in cache between layers. */
#define FWD_DOUBLES ((size_t)1 << 18)

static size_t widest_layer(const nn_model *m)
{
    size_t w = model_input_size(m);
    for (int i = 0; i < m->n_layers; i++) {
        size_t s = shape_size(m->layers[i].out);
        if (s > w) w = s;
    }
    return w;
}

/* One layer on n rows: dst = layer(src). argmax is only used by max pooling. */
static int apply_layer(const nn_layer *l, const double *src, size_t n, size_t lds, double *dst, size_t ldd,
                       int *argmax, layer_workspace *ws, nn_error *err)
{
    if (layer_is_affine(l->type)) return layer_affine_forward_ws(l, src, n, lds, dst, ldd, ws, err);
    if (l->type == LAYER_MAXPOOL2D) return maxpool2d_forward_ws(l, src, n, lds, dst, ldd, argmax, ws, err);
    if (layer_is_activation(l->type)) {
        activation_forward(l, src, n, lds, dst, ldd);
        return NN_OK;
    }
    return nn_fail(err, NN_EUNSUPPORTED, "forward pass: unknown layer type %d", (int)l->type);
}

static int check_finite_rows(const double *v, size_t n, size_t width, size_t first, const char *what,
                             nn_error *err)
{
    for (size_t r = 0; r < n; r++)
        for (size_t j = 0; j < width; j++)
            if (!isfinite(v[r * width + j]))
                return nn_fail(err, NN_ENUMERIC, "forward pass: %s %zu of input %zu is %g", what, j, first + r,
                               v[r * width + j]);
    return NN_OK;
}

/* y = a + b, n rows. */
static void add_rows(const double *a, size_t lda, const double *b, size_t ldb, size_t n, size_t width, double *y,
                     size_t ldy)
{
    for (size_t r = 0; r < n; r++)
        for (size_t j = 0; j < width; j++) y[r * ldy + j] = a[r * lda + j] + b[r * ldb + j];
}

/* Layer i on n rows whose outputs so far are out[k] (leading dimension their
 * width), the model input x (leading dimension ldx). */
static int apply_dag_layer(const nn_model *m, int i, const double *x, size_t ldx, double *const *out, size_t n,
                           double *dst, int *argmax, layer_workspace *ws, nn_error *err)
{
    const nn_layer *l = &m->layers[i];
    int a = model_layer_input(m, i, 0);
    const double *src = a < 0 ? x : out[a];
    size_t lds = a < 0 ? ldx : shape_size(m->layers[a].out), ldd = shape_size(l->out);
    if (l->type == LAYER_ADD) {
        int b = model_layer_input(m, i, 1);
        add_rows(src, lds, b < 0 ? x : out[b], b < 0 ? ldx : shape_size(m->layers[b].out), n, ldd, dst, ldd);
        return NN_OK;
    }
    return apply_layer(l, src, n, lds, dst, ldd, argmax, ws, err);
}

/* forward_run for a model with residual connections: every layer's output of a
 * chunk is kept, since a later layer may read it. */
static int run_dag(const nn_model *m, const double *x, size_t n, double *logits, nn_error *err)
{
    size_t n_in = model_input_size(m), n_out = model_output_size(m), total = 0;
    for (int i = 0; i < m->n_layers; i++) total += shape_size(m->layers[i].out);
    size_t chunk = FWD_DOUBLES / total;
    if (chunk < 1) chunk = 1;
    if (chunk > n) chunk = n;
    double **out = nn_calloc((size_t)m->n_layers, sizeof *out, "forward pass buffers", err);
    double *block = out ? nn_malloc(chunk * total * sizeof *block, "forward pass buffers", err) : NULL;
    if (!block) {
        free(out);
        return err ? err->code : NN_ENOMEM;
    }
    for (int i = 0; i < m->n_layers; i++) {
        out[i] = block;
        block += chunk * shape_size(m->layers[i].out);
    }
    int rc = NN_OK;
    layer_workspace ws;
    layer_workspace_init(&ws);
    for (size_t r0 = 0; r0 < n && rc == NN_OK; r0 += chunk) {
        size_t nb = n - r0 < chunk ? n - r0 : chunk;
        for (int i = 0; i < m->n_layers && rc == NN_OK; i++)
            rc = apply_dag_layer(m, i, x + r0 * n_in, n_in, out, nb, out[i], NULL, &ws, err);
        if (rc == NN_OK) {
            memcpy(logits + r0 * n_out, out[m->n_layers - 1], nb * n_out * sizeof *logits);
            rc = check_finite_rows(logits + r0 * n_out, nb, n_out, r0, "logit", err);
        }
    }
    layer_workspace_free(&ws);
    free(out[0]);
    free(out);
    return rc;
}

void forward_workspace_init(forward_workspace *fw)
{
    fw->a = fw->b = NULL;
    fw->cap = 0;
    layer_workspace_init(&fw->ws);
}

void forward_workspace_free(forward_workspace *fw)
{
    free(fw->a), free(fw->b);
    layer_workspace_free(&fw->ws);
    forward_workspace_init(fw);
}

int forward_run(const nn_model *m, const double *x, size_t n, double *logits, nn_error *err)
{
    forward_workspace fw;
    forward_workspace_init(&fw);
    int rc = forward_run_ws(m, x, n, logits, &fw, err);
    forward_workspace_free(&fw);
    return rc;
}

int forward_run_ws(const nn_model *m, const double *x, size_t n, double *logits, forward_workspace *fw,
                   nn_error *err)
{
    size_t n_in = model_input_size(m), n_out = model_output_size(m);
    if (n == 0) return NN_OK;
    if (!x || !logits) return nn_fail(err, NN_EARG, "forward_run: NULL input or output");
    if (m->n_layers == 0) {
        memcpy(logits, x, n * n_in * sizeof *logits);
        return NN_OK;
    }
    if (!model_is_sequential(m)) return run_dag(m, x, n, logits, err);
    size_t width = widest_layer(m);
    size_t chunk = FWD_DOUBLES / width;
    if (chunk < 1) chunk = 1;
    if (chunk > n) chunk = n;
    if (fw->cap < chunk * width) {
        free(fw->a), free(fw->b);
        fw->a = nn_malloc(chunk * width * sizeof *fw->a, "forward pass buffer", err);
        fw->b = fw->a ? nn_malloc(chunk * width * sizeof *fw->b, "forward pass buffer", err) : NULL;
        fw->cap = fw->b ? chunk * width : 0;
        if (!fw->b) return err ? err->code : NN_ENOMEM;
    }
    double *a = fw->a, *b = fw->b;
    int rc = NN_OK;
    layer_workspace *ws = &fw->ws;
    for (size_t r0 = 0; r0 < n && rc == NN_OK; r0 += chunk) {
        size_t nb = n - r0 < chunk ? n - r0 : chunk;
        const double *src = x + r0 * n_in;
        size_t lds = n_in;
        for (int i = 0; i < m->n_layers && rc == NN_OK; i++) {
            const nn_layer *l = &m->layers[i];
            int last = i == m->n_layers - 1;
            double *dst = last ? logits + r0 * n_out : (src == a ? b : a);
            size_t ldd = last ? n_out : shape_size(l->out);
            rc = apply_layer(l, src, nb, lds, dst, ldd, NULL, ws, err);
            src = dst;
            lds = ldd;
        }
        if (rc == NN_OK) rc = check_finite_rows(logits + r0 * n_out, nb, n_out, r0, "logit", err);
    }
    return rc;
}

void forward_trace_free(const nn_model *m, double **acts)
{
    if (!acts) return;
    for (int i = 0; i < m->n_layers; i++) free(acts[i]);
    free(acts);
}

/* Trace of n inputs; argmax[i] (if argmax is given) is allocated for max-pool
 * layers and left NULL for the others. */
static int trace(const nn_model *m, const double *x, size_t n, double ***acts_out, int **argmax, nn_error *err)
{
    *acts_out = NULL;
    double **acts = nn_calloc((size_t)(m->n_layers ? m->n_layers : 1), sizeof *acts, "forward trace", err);
    if (!acts) return err ? err->code : NN_ENOMEM;
    int rc = NN_OK;
    layer_workspace ws;
    layer_workspace_init(&ws);
    size_t ldx = model_input_size(m);
    for (int i = 0; i < m->n_layers && rc == NN_OK; i++) {
        const nn_layer *l = &m->layers[i];
        size_t n_out = shape_size(l->out);
        acts[i] = nn_malloc((n ? n : 1) * n_out * sizeof **acts, "forward trace activations", err);
        if (!acts[i]) {
            rc = err ? err->code : NN_ENOMEM;
            break;
        }
        int *am = NULL;
        if (argmax && l->type == LAYER_MAXPOOL2D) {
            am = argmax[i] = nn_malloc((n ? n : 1) * n_out * sizeof *am, "max-pool argmax", err);
            if (!am) {
                rc = err ? err->code : NN_ENOMEM;
                break;
            }
        }
        rc = apply_dag_layer(m, i, x, ldx, acts, n, acts[i], am, &ws, err);
    }
    layer_workspace_free(&ws);
    if (rc != NN_OK) {
        forward_trace_free(m, acts);
        return rc;
    }
    *acts_out = acts;
    return NN_OK;
}

int forward_trace(const nn_model *m, const double *x, size_t n, double ***acts, nn_error *err)
{
    if (!acts) return nn_fail(err, NN_EARG, "forward_trace: NULL result pointer");
    if (n > 0 && !x) return nn_fail(err, NN_EARG, "forward_trace: NULL input");
    return trace(m, x, n, acts, NULL, err);
}

/* h = g through layer l's local derivative (n_in entries), at input `in`. */
static int layer_vjp(const nn_layer *l, const double *in, const int *argmax, const double *g, double *h,
                     layer_workspace *ws, nn_error *err)
{
    size_t li = shape_size(l->in), lo = shape_size(l->out);
    if (layer_is_affine(l->type)) return layer_affine_adjoint_ws(l, g, 1, lo, h, li, ws, err);
    if (l->type == LAYER_MAXPOOL2D) {
        memset(h, 0, li * sizeof *h);
        for (size_t o = 0; o < lo; o++) h[argmax[o]] += g[o];
        return NN_OK;
    }
    const act_def *a = act_def_of(l->type);
    if (!a) return nn_fail(err, NN_EUNSUPPORTED, "forward_vjp: unknown layer type %d", (int)l->type);
    for (size_t j = 0; j < li; j++) h[j] = g[j] * a->deriv(l, j, in[j]);
    return NN_OK;
}

/* forward_vjp of a model with residual connections: gout[k] sums the gradients of
 * every layer that reads layer k's output (an add sends its own to both inputs),
 * complete once the layers above k are done, since inputs are earlier layers. */
static int vjp_dag(const nn_model *m, const double *x, const double *w, double *logits, double *grad,
                   nn_error *err)
{
    int L = m->n_layers;
    size_t n_in = model_input_size(m), n_out = model_output_size(m), total = 0, width = widest_layer(m);
    for (int i = 0; i < L; i++) total += shape_size(m->layers[i].out);
    int **argmax = nn_calloc((size_t)L, sizeof *argmax, "max-pool argmax table", err);
    double **gout = argmax ? nn_calloc((size_t)L, sizeof *gout, "gradient buffers", err) : NULL;
    double *gblock = gout ? nn_calloc(total, sizeof *gblock, "gradient buffers", err) : NULL;
    double *h = gblock ? nn_malloc(width * sizeof *h, "gradient buffer", err) : NULL;
    double **acts = NULL;
    int rc = h ? trace(m, x, 1, &acts, argmax, err) : (err ? (int)err->code : NN_ENOMEM);
    if (rc == NN_OK) rc = check_finite_rows(acts[L - 1], 1, n_out, 0, "logit", err);
    if (rc == NN_OK) {
        double *p = gblock;
        for (int i = 0; i < L; i++) {
            gout[i] = p;
            p += shape_size(m->layers[i].out);
        }
        if (logits) memcpy(logits, acts[L - 1], n_out * sizeof *logits);
        memcpy(gout[L - 1], w, n_out * sizeof *w);
        memset(grad, 0, n_in * sizeof *grad);
        layer_workspace ws;
        layer_workspace_init(&ws);
        for (int i = L - 1; i >= 0 && rc == NN_OK; i--) {
            const nn_layer *l = &m->layers[i];
            size_t li = shape_size(l->in);
            int a = model_layer_input(m, i, 0);
            const double *g = gout[i];
            if (l->type != LAYER_ADD) {
                rc = layer_vjp(l, a < 0 ? x : acts[a], argmax[i], gout[i], h, &ws, err);
                g = h;
            }
            for (int k = 0; k < (l->type == LAYER_ADD ? 2 : 1) && rc == NN_OK; k++) {
                int src = model_layer_input(m, i, k);
                double *dst = src < 0 ? grad : gout[src];
                for (size_t j = 0; j < li; j++) dst[j] += g[j];
            }
        }
        layer_workspace_free(&ws);
    }
    if (argmax)
        for (int i = 0; i < L; i++) free(argmax[i]);
    free(argmax);
    free(gout);
    free(gblock);
    free(h);
    forward_trace_free(m, acts);
    return rc;
}

int forward_vjp(const nn_model *m, const double *x, const double *w, double *logits, double *grad, nn_error *err)
{
    if (!x || !w || !grad) return nn_fail(err, NN_EARG, "forward_vjp: NULL input, weights or gradient");
    size_t n_in = model_input_size(m), n_out = model_output_size(m);
    if (m->n_layers == 0) {
        if (logits) memcpy(logits, x, n_in * sizeof *logits);
        memcpy(grad, w, n_in * sizeof *grad);
        return NN_OK;
    }
    if (!model_is_sequential(m)) return vjp_dag(m, x, w, logits, grad, err);
    size_t width = widest_layer(m);
    int **argmax = nn_calloc((size_t)m->n_layers, sizeof *argmax, "max-pool argmax table", err);
    double *g = argmax ? nn_malloc(width * sizeof *g, "gradient buffer", err) : NULL;
    double *h = g ? nn_malloc(width * sizeof *h, "gradient buffer", err) : NULL;
    double **acts = NULL;
    int rc = h ? trace(m, x, 1, &acts, argmax, err) : (err ? (int)err->code : NN_ENOMEM);
    if (rc == NN_OK) rc = check_finite_rows(acts[m->n_layers - 1], 1, n_out, 0, "logit", err);
    if (rc == NN_OK) {
        if (logits) memcpy(logits, acts[m->n_layers - 1], n_out * sizeof *logits);
        memcpy(g, w, n_out * sizeof *g);
        layer_workspace ws;
        layer_workspace_init(&ws);
        for (int i = m->n_layers - 1; i >= 0 && rc == NN_OK; i--) {
            const nn_layer *l = &m->layers[i];
            rc = layer_vjp(l, i ? acts[i - 1] : x, argmax[i], g, h, &ws, err);
            double *t = g;
            g = h;
            h = t;
        }
        layer_workspace_free(&ws);
        if (rc == NN_OK) memcpy(grad, g, n_in * sizeof *grad);
    }
    if (argmax)
        for (int i = 0; i < m->n_layers; i++) free(argmax[i]);
    free(argmax);
    free(g);
    free(h);
    forward_trace_free(m, acts);
    return rc;
}

int forward_argmax(const double *logits, size_t n)
{
    if (n == 0) return -1;
    size_t best = 0;
    for (size_t i = 1; i < n; i++)
        if (logits[i] > logits[best] || (isnan(logits[best]) && !isnan(logits[i]))) best = i;
    return (int)best;
}
