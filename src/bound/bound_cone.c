/* Receptive cones of a branch-and-bound child's rows (doc/bab.md, "Rows whose
 * cone the split misses").
 *
 * A ReLU-phase child differs from its parent by one split. Its layers above the
 * split are recomputed, but the backward pass of a row depends only on the
 * neurons in the row's receptive cone: their relaxations (which CROWN and
 * Fast-Lin take from their bounds alone) and the region. A row whose cone meets
 * no neuron the child changed would get the parent's pass bits again, so it
 * keeps the parent's bounds without a pass. Soundness never rests on this:
 * the parent's bounds hold on the child whatever its cone.
 *
 * Per nonlinear layer i the child notes which neurons of its input it changed:
 * below keep_below (the parent's layers) those whose bounds differ from the
 * parent's (the split neuron); above, also every row that got a pass, so a cone
 * reaching a changed neuron through any path is seen at the layer just below
 * the row. The notes are summed over rectangles (per channel, and over all
 * channels), so a row's cone, a rectangle of channels x rows x columns after the
 * convolutions and pools between it and that layer, costs a few reads. On a
 * residual graph the rectangle goes down both inputs of every add (the same
 * rectangle: an add keeps the shape), to the nonlinear layer that ends each path. */
#include "bound_cone.h"

#include <stdlib.h>

typedef struct {
    int c0, c1, y0, y1, x0, x1; /* inclusive */
} cone_rect;

static int cone_local(const bound_state *st)
{
    /* FROWN optimizes lines per row (and couples every row with every split by its
     * multipliers), and float rows' underflow budgets are per layer: their rows
     * are not functions of their cones, so only direct activation feeds qualify */
    return (st->opt.method == METHOD_CROWN || st->opt.method == METHOD_FASTLIN) && !st->opt.single;
}

static int applies(const bound_state *st)
{
    const bound_subdomain *sub = st->sub;
    /* keep_below > 0: the prior's layers are this region's (an input half has a
     * new region, and every neuron's cone reaches it) */
    return sub && sub->keep_below > 0 && sub->prior_lower && sub->prior_upper;
}

static void window_back(const nn_layer *L, int dil_y, int dil_x, cone_rect *q)
{
    int sy = L->stride[0], sx = L->stride[1];
    q->y0 = q->y0 * sy - L->pad[0];
    q->y1 = q->y1 * sy - L->pad[0] + (L->kernel[0] - 1) * dil_y;
    q->x0 = q->x0 * sx - L->pad[1];
    q->x1 = q->x1 * sx - L->pad[1] + (L->kernel[1] - 1) * dil_x;
    if (q->y0 < 0) q->y0 = 0;
    if (q->x0 < 0) q->x0 = 0;
    if (q->y1 > L->in.h - 1) q->y1 = L->in.h - 1;
    if (q->x1 > L->in.w - 1) q->x1 = L->in.w - 1;
}

static void whole(nn_shape s, cone_rect *q) { *q = (cone_rect){0, s.c - 1, 0, s.h - 1, 0, s.w - 1}; }

/* q, a rectangle of layer j's output, to the one of its input it reads; 0 for a
 * layer this file does not follow. A dense layer reads its whole input, so the
 * cone meets the split wherever it lies above the split's layer: not followed. */
static int through(const nn_layer *L, cone_rect *q)
{
    switch (L->type) {
    case LAYER_CONV2D:
        window_back(L, L->dilation[0], L->dilation[1], q);
        q->c0 = 0, q->c1 = L->in.c - 1;
        return 1;
    case LAYER_AVGPOOL2D:
    case LAYER_MAXPOOL2D:
        window_back(L, 1, 1, q);
        return 1;
    case LAYER_NORMALIZE:
        return 1;
    case LAYER_FLATTEN:
        if (q->c0 == q->c1) { /* one entry: its (c, y, x) */
            int hw = L->in.h * L->in.w, k = q->c0;
            *q = (cone_rect){k / hw, k / hw, k % hw / L->in.w, k % hw / L->in.w, k % L->in.w, k % L->in.w};
        } else {
            whole(L->in, q);
        }
        return 1;
    default:
        if (layer_is_activation(L->type)) return 1;
        return 0;
    }
}

/* Changed neurons of layer j's input in rectangle q (> 0: some). */
static unsigned changed_in(const bound_work *w, const nn_layer *L, int j, const cone_rect *q)
{
    if (q->y0 > q->y1 || q->x0 > q->x1) return 0;
    size_t W1 = (size_t)L->in.w + 1, plane = ((size_t)L->in.h + 1) * W1;
    const unsigned *s = w->cone_sat[j];
    int all = q->c0 == 0 && q->c1 == L->in.c - 1;
    unsigned total = 0;
    for (int c = all ? L->in.c : q->c0; c <= (all ? L->in.c : q->c1); c++) {
        const unsigned *p = s + (size_t)c * plane;
        size_t a = (size_t)q->y0 * W1, b = (size_t)(q->y1 + 1) * W1;
        total += p[b + q->x1 + 1] - p[a + q->x1 + 1] - p[b + q->x0] + p[a + q->x0];
        if (total) break;
    }
    return total;
}

/* Adds a row's walk may cross (each sends it down both inputs): a residual graph
 * whose blocks end in activations has one or two per walk; past this many the
 * row is simply recomputed. */
#define CONE_MAX_ADDS 64

/* Whether rectangle q of the output of layer src (-1: the model input) reaches
 * no changed neuron: followed back through the layers `through` follows and into
 * both inputs of every add, each path to the first nonlinear layer on it, whose
 * notes cover its own cone below (changed there, changed at it). The model
 * input is the region, which a ReLU-phase child shares with its parent: a path
 * that ends there is clean for the methods whose rows are functions of their
 * cones. crossed: an affine layer lies between the row and src. */
static int cone_clean(const bound_state *st, int src, cone_rect q, int crossed, int *adds)
{
    const bound_work *w = st->work;
    const nn_model *m = st->model;
    while (src >= 0) {
        const nn_layer *L = &m->layers[src];
        if (layer_is_nonlinear(L->type)) {
            if (!w->cone_valid[src] || ((crossed || src >= st->sub->keep_below) && !cone_local(st))) return 0;
            if (L->type == LAYER_MAXPOOL2D) through(L, &q);
            return changed_in(w, L, src, &q) == 0;
        }
        if (L->type == LAYER_ADD) {
            if (++*adds > CONE_MAX_ADDS || !cone_clean(st, model_layer_input(m, src, 1), q, 1, adds)) return 0;
        } else if (!through(L, &q)) {
            return 0;
        }
        src = model_layer_input(m, src, 0);
        crossed = 1;
    }
    return cone_local(st);
}

int bound_cone_kept(const bound_state *st, int i, size_t r)
{
    const bound_work *w = st->work;
    const nn_model *m = st->model;
    const bound_subdomain *sub = st->sub;
    if (!applies(st) || i == w->first_nl || !sub->prior_lower[i] || !sub->prior_upper[i] || !w->cone_valid)
        return 0;
    const nn_layer *top = &m->layers[i];
    int hw = top->in.h * top->in.w, c = (int)(r / (size_t)hw), y = (int)(r % (size_t)hw) / top->in.w,
        x = (int)(r % (size_t)top->in.w);
    int adds = 0;
    return cone_clean(st, model_layer_input(m, i, 0), (cone_rect){c, c, y, y, x, x}, 0, &adds);
}

/* Marks the nonlinear layers whose notes a walk from the output of layer src
 * reads (cone_clean's paths). */
static void mark_from(const nn_model *m, int src, int *wanted, int *adds)
{
    cone_rect q = {0, 0, 0, 0, 0, 0};
    while (src >= 0) {
        const nn_layer *L = &m->layers[src];
        if (layer_is_nonlinear(L->type)) {
            wanted[src] = 1;
            return;
        }
        if (L->type == LAYER_ADD) {
            if (++*adds > CONE_MAX_ADDS) return;
            mark_from(m, model_layer_input(m, src, 1), wanted, adds);
        } else if (!through(L, &q)) {
            return;
        }
        src = model_layer_input(m, src, 0);
    }
}

/* The nonlinear layers some row above reaches through layers this file follows;
 * only their notes are ever read (none on a chain of dense layers). */
static void mark_wanted(const nn_model *m, int *wanted)
{
    for (int i = 0; i < m->n_layers; i++) {
        int adds = 0;
        if (layer_is_nonlinear(m->layers[i].type)) mark_from(m, model_layer_input(m, i, 0), wanted, &adds);
    }
}

int bound_cone_note(bound_state *st, int i, nn_error *err)
{
    bound_work *w = st->work;
    const nn_model *m = st->model;
    const bound_subdomain *sub = st->sub;
    if (!applies(st) || !sub->prior_lower[i] || !sub->prior_upper[i]) return NN_OK;
    /* above the parent's layers only rows that can keep the parent's bounds say
     * which are unchanged (the first layer's cone is the region: its bounds do) */
    int above = i >= sub->keep_below && i != w->first_nl;
    if (above && !cone_local(st)) return NN_OK;
    const nn_layer *L = &m->layers[i];
    size_t H = (size_t)L->in.h, W = (size_t)L->in.w, C = (size_t)L->in.c, W1 = W + 1, plane = (H + 1) * W1;
    if (!w->cone_sat) {
        if (!(w->cone_sat = nn_calloc((size_t)m->n_layers, sizeof *w->cone_sat, "cone notes", err)) ||
            !(w->cone_valid = nn_calloc((size_t)m->n_layers, sizeof *w->cone_valid, "cone notes", err)) ||
            !(w->cone_wanted = nn_calloc((size_t)m->n_layers, sizeof *w->cone_wanted, "cone notes", err)))
            return err->code;
        mark_wanted(m, w->cone_wanted);
    }
    if (!w->cone_wanted[i]) return NN_OK;
    if (!w->cone_sat[i] && !(w->cone_sat[i] = nn_calloc((C + 1) * plane, sizeof **w->cone_sat, "cone notes", err)))
        return err->code;
    unsigned *s = w->cone_sat[i], *all = s + C * plane;
    const double *lo = st->pre_lower[i], *hi = st->pre_upper[i], *pl = sub->prior_lower[i], *pu = sub->prior_upper[i];
    memset(all, 0, plane * sizeof *all);
    for (size_t c = 0; c < C; c++) {
        unsigned *p = s + c * plane;
        for (size_t y = 0; y < H; y++) {
            unsigned run = 0;
            for (size_t x = 0; x < W; x++) {
                size_t r = (c * H + y) * W + x;
                run += lo[r] != pl[r] || hi[r] != pu[r] || (above && !bound_cone_kept(st, i, r));
                p[(y + 1) * W1 + x + 1] = p[y * W1 + x + 1] + run;
                all[(y + 1) * W1 + x + 1] += p[(y + 1) * W1 + x + 1];
            }
        }
    }
    w->cone_valid[i] = 1;
    return NN_OK;
}

void bound_cone_reset(bound_work *w, int n_layers)
{
    if (w->cone_valid) memset(w->cone_valid, 0, (size_t)n_layers * sizeof *w->cone_valid);
}

void bound_cone_free(bound_work *w, int n_layers)
{
    if (w->cone_sat)
        for (int i = 0; i < n_layers; i++) free(w->cone_sat[i]);
    free(w->cone_sat);
    free(w->cone_valid);
    free(w->cone_wanted);
    w->cone_sat = NULL;
    w->cone_valid = NULL;
    w->cone_wanted = NULL;
}
