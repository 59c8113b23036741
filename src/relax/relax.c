/* Relaxation dispatch, storage, names, and the layer-level MaxPool planes.
 *
 * Soundness in floating point. Every line and plane is checked in the tests as
 * evaluated in double, with no tolerance: lower_slope*z + lower_icpt <= sigma(z)
 * <= upper_slope*z + upper_icpt for every z in [l, u]. Lines that reproduce the
 * activation's own floating-point operations (ReLU 0 and z, leaky alpha*z, lines
 * through the origin with slope inside the valid range) are exact and left alone.
 * Every other intercept is rounded outward by a small, explicit allowance (see
 * relax_internal.h, relax_sshape.c, relax_maxpool.c): a few ulps of the magnitudes
 * that enter its computation and its evaluation. This is rounding control, not a
 * fudge for a wrong formula: it shrinks with the magnitudes and is ~1e-16 relative.
 *
 * Free parameters (for FROWN, doc/frown.md "Search space"): the lower slope of
 * ReLU-like lines through the origin, and the tangent point d of S-shaped tangents.
 * relax_line_at rebuilds a line from a parameter value. */
#include "relax_internal.h"

#include <stdlib.h>
#include <string.h>

int relax_lines_init(relax_lines *lines, size_t n, nn_error *err)
{
    memset(lines, 0, sizeof *lines);
    /* One block holds all ten arrays; lower_slope is its start. */
    double *block = nn_calloc(10 * (n ? n : 1), sizeof *block, "relaxation lines", err);
    if (!block) return NN_ENOMEM;
    lines->n = n;
    double **arrays[10] = {&lines->lower_slope, &lines->lower_icpt, &lines->upper_slope, &lines->upper_icpt,
                           &lines->lower_param, &lines->lower_lo,   &lines->lower_hi,    &lines->upper_param,
                           &lines->upper_lo,    &lines->upper_hi};
    for (size_t k = 0; k < 10; k++) *arrays[k] = block + k * (n ? n : 1);
    return NN_OK;
}

void relax_lines_free(relax_lines *lines)
{
    if (!lines) return;
    free(lines->lower_slope);
    memset(lines, 0, sizeof *lines);
}

typedef void (*act_relax_fn)(const nn_layer *layer, size_t offset, const double *l, const double *u, size_t n,
                             line_strategy strategy, relax_lines *out);

static void act_relu(const nn_layer *layer, size_t offset, const double *l, const double *u, size_t n,
                     line_strategy strategy, relax_lines *out)
{
    (void)layer;
    (void)offset;
    relax_relu(l, u, n, strategy, out);
}

static void act_leaky(const nn_layer *layer, size_t offset, const double *l, const double *u, size_t n,
                      line_strategy strategy, relax_lines *out)
{
    (void)offset;
    relax_leaky_relu(layer->alpha, l, u, n, strategy, out);
}

static void act_ramp(const nn_layer *layer, size_t offset, const double *l, const double *u, size_t n,
                     line_strategy strategy, relax_lines *out)
{
    relax_param_ramp(layer->alpha, layer->r + offset, l, u, n, strategy, out);
}

static void act_sshape(const nn_layer *layer, size_t offset, const double *l, const double *u, size_t n,
                       line_strategy strategy, relax_lines *out)
{
    (void)offset;
    (void)strategy;
    relax_sshape(layer->type, l, u, n, out);
}

/* The free lower line of a ReLU-like neuron at parameter p: p*z (ReLU, leaky), or
 * ParamRamp's line of slope p. */
static void slope_lower_at(const nn_layer *layer, size_t neuron, double l, double u, double p, double *slope,
                           double *icpt)
{
    (void)layer, (void)neuron, (void)l, (void)u;
    *slope = p;
    *icpt = 0.0;
}

/* param_ramp's r is per neuron: the neurons asked for must have one. */
static int ramp_check_params(const nn_layer *layer, size_t offset, size_t n, nn_error *err)
{
    size_t have = shape_size(layer->in);
    if (!layer->r || offset + n > have)
        return nn_fail(err, NN_EARG, "relax param_ramp: neurons [%zu, %zu) outside r of %zu entries", offset,
                       offset + n, layer->r ? have : 0);
    return NN_OK;
}

static void ramp_lower_at(const nn_layer *layer, size_t neuron, double l, double u, double p, double *slope,
                          double *icpt)
{
    relax_param_ramp_lower_at(layer->alpha, layer->r[neuron], l, u, p, slope, icpt);
}

/* How each activation is relaxed: one row per activation type; its function is in
 * the activation table (include/activation.h). */
typedef struct {
    act_relax_fn lines;   /* lines of n neurons (relax_activation) */
    /* checks of per-neuron parameters for neurons [offset, offset + n), or NULL */
    int (*check_params)(const nn_layer *layer, size_t offset, size_t n, nn_error *err);
    /* the lower line at free parameter p (ReLU-like); NULL: S-shaped, whose lines
     * at p are tangents on either side (relax_sshape_line_at) */
    void (*lower_at)(const nn_layer *layer, size_t neuron, double l, double u, double p, double *slope,
                     double *icpt);
    void (*prepare)(relax_free_line *f);   /* relax_free_line_init's extra work, or NULL */
    void (*free_line_at)(const relax_free_line *f, double p, double *slope, double *icpt, double *dslope,
                         double *dicpt);
    int (*stable)(const nn_layer *layer, size_t neuron, double l, double u);  /* NULL: never */
} relax_act;

static const relax_act act_table[LAYER_TYPE_COUNT] = {
    [LAYER_RELU] = {act_relu, NULL, slope_lower_at, NULL, relax_slope_free_line_at, relax_relu_stable},
    [LAYER_LEAKY_RELU] = {act_leaky, NULL, slope_lower_at, NULL, relax_slope_free_line_at, relax_relu_stable},
    [LAYER_PARAM_RAMP] = {act_ramp, ramp_check_params, ramp_lower_at, NULL, relax_param_ramp_free_line_at,
                          relax_param_ramp_stable},
    [LAYER_TANH] = {act_sshape, NULL, NULL, relax_sshape_prepare, relax_sshape_free_line_at, NULL},
    [LAYER_SIGMOID] = {act_sshape, NULL, NULL, relax_sshape_prepare, relax_sshape_free_line_at, NULL},
    [LAYER_ARCTAN] = {act_sshape, NULL, NULL, relax_sshape_prepare, relax_sshape_free_line_at, NULL},
};

static const relax_act *act_lookup(layer_type type)
{
    if ((int)type < 0 || type >= LAYER_TYPE_COUNT || !act_table[type].lines) return NULL;
    return &act_table[type];
}

int relax_row_stable(const nn_layer *layer, size_t neuron, double l, double u)
{
    const relax_act *a = act_lookup(layer->type);
    return a && a->stable && a->stable(layer, neuron, l, u);
}

int relax_upper_can_be_free(layer_type type)
{
    const relax_act *a = act_lookup(type);
    return a && !a->lower_at;
}

void relax_free_line_init(relax_free_line *f, const nn_layer *layer, size_t neuron, double l, double u, int upper)
{
    memset(f, 0, sizeof *f);
    f->layer = layer;
    f->neuron = neuron;
    f->upper = upper;
    f->l = l;
    f->u = u;
    const relax_act *a = act_lookup(layer->type);
    if (a && a->prepare) a->prepare(f);
}

void relax_free_line_at(const relax_free_line *f, double p, double *slope, double *icpt, double *dslope,
                        double *dicpt)
{
    act_lookup(f->layer->type)->free_line_at(f, p, slope, icpt, dslope, dicpt);
}

static int check_boxes(const char *what, const double *l, const double *u, size_t n, size_t offset,
                       nn_error *err)
{
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(l[i]) || !isfinite(u[i]))
            return nn_fail(err, NN_ENUMERIC, "relax %s: bounds of neuron %zu are not finite ([%g, %g])", what,
                           offset + i, l[i], u[i]);
        if (l[i] > u[i])
            return nn_fail(err, NN_EVALUE, "relax %s: neuron %zu has lower bound %.17g above upper bound %.17g",
                           what, offset + i, l[i], u[i]);
    }
    return NN_OK;
}

int relax_activation(const nn_layer *layer, size_t offset, const double *l, const double *u, size_t n,
                     line_strategy strategy, relax_lines *out, nn_error *err)
{
    const relax_act *a = act_lookup(layer->type);
    const char *name = layer_type_name(layer->type);
    if (!a) return nn_fail(err, NN_EARG, "relax: layer type %s is not an element-wise activation", name);
    if ((int)strategy < LINES_ADAPTIVE || strategy > LINES_FASTLIN)
        return nn_fail(err, NN_EARG, "relax %s: unknown line strategy %d", name, (int)strategy);
    if (n > out->n)
        return nn_fail(err, NN_EARG, "relax %s: %zu neurons do not fit lines for %zu", name, n, out->n);
    int rc = a->check_params ? a->check_params(layer, offset, n, err) : NN_OK;
    if (!rc) rc = check_boxes(name, l, u, n, offset, err);
    if (rc) return rc;
    a->lines(layer, offset, l, u, n, strategy, out);
    return NN_OK;
}

void relax_line_at(const nn_layer *layer, size_t neuron, double l, double u, int upper, double p, double *slope,
                   double *icpt)
{
    const relax_act *a = act_lookup(layer->type);
    if (!a) {
        *slope = NAN;
        *icpt = NAN;
        return;
    }
    if (!a->lower_at) {
        relax_sshape_line_at(layer->type, upper, l, u, p, slope, icpt);
        return;
    }
    double ls, lt, us, ut, lp, llo, lhi, up, ulo, uhi;
    relax_lines one = {1, &ls, &lt, &us, &ut, &lp, &llo, &lhi, &up, &ulo, &uhi};
    a->lines(layer, neuron, &l, &u, 1, LINES_TIGHT, &one);
    if (upper || !(llo < lhi)) {
        *slope = upper ? us : ls;
        *icpt = upper ? ut : lt;
        return;
    }
    p = p < llo ? llo : (p > lhi ? lhi : p);
    a->lower_at(layer, neuron, l, u, p, slope, icpt);
}

int relax_pool_init(relax_pool *pool, const nn_layer *layer, nn_error *err)
{
    memset(pool, 0, sizeof *pool);
    if (layer->type != LAYER_MAXPOOL2D)
        return nn_fail(err, NN_EARG, "relax: layer type %s is not maxpool2d", layer_type_name(layer->type));
    size_t n_out = shape_size(layer->out);
    int window = layer->kernel[0] * layer->kernel[1];
    if (n_out == 0 || window < 1)
        return nn_fail(err, NN_ESHAPE, "relax maxpool2d: %zu outputs with %dx%d windows", n_out, layer->kernel[0],
                       layer->kernel[1]);
    size_t slots = n_out * (size_t)window;
    pool->inputs = nn_malloc(slots * sizeof *pool->inputs, "maxpool input indices", err);
    pool->lower_coef = nn_calloc(2 * slots + 2 * n_out, sizeof(double), "maxpool planes", err);
    if (!pool->inputs || !pool->lower_coef) {
        relax_pool_free(pool);
        return NN_ENOMEM;
    }
    pool->upper_coef = pool->lower_coef + slots;
    pool->lower_icpt = pool->upper_coef + slots;
    pool->upper_icpt = pool->lower_icpt + n_out;
    pool->n_out = n_out;
    pool->window = window;
    for (size_t o = 0; o < n_out; o++) {
        int present = 0;
        for (int k = 0; k < window; k++) {
            int idx = window_input_index(layer, o, k);
            pool->inputs[o * (size_t)window + (size_t)k] = idx;
            present += idx >= 0;
        }
        if (!present) {
            relax_pool_free(pool);
            return nn_fail(err, NN_ESHAPE, "relax maxpool2d: output %zu has a window made only of padding", o);
        }
    }
    return NN_OK;
}

void relax_pool_free(relax_pool *pool)
{
    if (!pool) return;
    free(pool->inputs);
    free(pool->lower_coef);
    memset(pool, 0, sizeof *pool);
}

int relax_maxpool(const nn_layer *layer, const double *l_in, const double *u_in, pool_method method,
                  relax_pool *out, nn_error *err)
{
    if (layer->type != LAYER_MAXPOOL2D)
        return nn_fail(err, NN_EARG, "relax: layer type %s is not maxpool2d", layer_type_name(layer->type));
    if ((int)method < POOL_TILIN || method > POOL_INTERVAL)
        return nn_fail(err, NN_EARG, "relax maxpool2d: unknown method %d", (int)method);
    int window = layer->kernel[0] * layer->kernel[1];
    if (out->n_out != shape_size(layer->out) || out->window != window || !out->inputs)
        return nn_fail(err, NN_EARG,
                       "relax maxpool2d: planes were set up for %zu outputs x %d slots, the layer has %zu x %d",
                       out->n_out, out->window, shape_size(layer->out), window);
    int rc = check_boxes("maxpool2d", l_in, u_in, shape_size(layer->in), 0, err);
    if (rc) return rc;
    /* Gather the present inputs of a window, plane them, scatter back by slot. */
    double *buf = nn_malloc(4 * (size_t)window * sizeof *buf, "maxpool window scratch", err);
    int *slot = nn_malloc((size_t)window * sizeof *slot, "maxpool window scratch", err);
    if (!buf || !slot) {
        free(buf);
        free(slot);
        return NN_ENOMEM;
    }
    double *wl = buf, *wu = buf + window, *wlc = buf + 2 * window, *wuc = buf + 3 * window;
    for (size_t o = 0; o < out->n_out; o++) {
        const int *in = out->inputs + o * (size_t)window;
        double *lc = out->lower_coef + o * (size_t)window, *uc = out->upper_coef + o * (size_t)window;
        int m = 0;
        for (int k = 0; k < window; k++) {
            lc[k] = uc[k] = 0.0;
            if (in[k] < 0) continue;
            wl[m] = l_in[in[k]];
            wu[m] = u_in[in[k]];
            slot[m++] = k;
        }
        relax_maxpool_window(method, wl, wu, m, wlc, &out->lower_icpt[o], wuc, &out->upper_icpt[o]);
        for (int q = 0; q < m; q++) {
            lc[slot[q]] = wlc[q];
            uc[slot[q]] = wuc[q];
        }
    }
    free(buf);
    free(slot);
    return NN_OK;
}

static const char *const pool_names[] = {[POOL_TILIN] = "tilin", [POOL_DEEPPOLY] = "deeppoly",
                                         [POOL_CNNCERT] = "cnncert", [POOL_INTERVAL] = "interval"};
static const char *const strategy_names[] = {[LINES_ADAPTIVE] = "adaptive", [LINES_TIGHT] = "tight",
                                             [LINES_FASTLIN] = "fastlin"};

const char *pool_method_name(pool_method m)
{
    return ((int)m >= 0 && m <= POOL_INTERVAL) ? pool_names[m] : "?";
}

int pool_method_parse(const char *name)
{
    for (int m = 0; m <= POOL_INTERVAL; m++)
        if (name && strcmp(name, pool_names[m]) == 0) return m;
    return -1;
}

const char *line_strategy_name(line_strategy s)
{
    return ((int)s >= 0 && s <= LINES_FASTLIN) ? strategy_names[s] : "?";
}

int line_strategy_parse(const char *name)
{
    for (int s = 0; s <= LINES_FASTLIN; s++)
        if (name && strcmp(name, strategy_names[s]) == 0) return s;
    return -1;
}
