/* Whose bounds each neuron of a computed state carries (doc/formats.md "nncert
 * bounds"): the engine keeps IBP's bound where skip_stable or intersect_ibp say
 * so, and a reader of "CROWN bounds" must be able to tell. Reads a state through
 * the public API only; certify never calls it, so the engine's loops keep no
 * record and lose no time. */
#include "bound_work.h"

#include <stdlib.h>
#include <string.h>

const char bound_source_legend[] = "0=exact,1=ibp_stable,2=method,3=ibp_lower,4=ibp_upper,5=ibp";

static const char *const source_names[BOUND_SRC_COUNT] = {
    [BOUND_SRC_EXACT] = "exact",         [BOUND_SRC_IBP_STABLE] = "ibp_stable", [BOUND_SRC_METHOD] = "method",
    [BOUND_SRC_IBP_LOWER] = "ibp_lower", [BOUND_SRC_IBP_UPPER] = "ibp_upper",   [BOUND_SRC_IBP] = "ibp",
};

const char *bound_source_name(int code) { return code >= 0 && code < BOUND_SRC_COUNT ? source_names[code] : "?"; }

static int same_bits(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }

/* A side is IBP's when it has the bits of IBP from st's committed bounds of the
 * earlier layers and the engine may have put IBP's value there (methods ibp and
 * crown-ibp; intersect_ibp; a neuron IBP proves stable under skip_stable), else
 * the method's own. That IBP is the one the engine compares with: a second state
 * of method ibp into which st's layers are committed one by one. Ties (the
 * method's bound has IBP's bits) count as IBP's: the value is IBP's either way. */
int bound_label_sources(const bound_state *st, unsigned char **src, nn_error *err)
{
    if (!st || !st->work || !src) return nn_fail(err, NN_EARG, "bound_label_sources: state not initialized");
    const nn_model *m = st->model;
    if (!((const bound_work *)st->work)->region_set || st->layers_done < m->n_layers)
        return nn_fail(err, NN_EARG, "bound_label_sources: bounds not computed");
    bound_options io = st->opt;
    io.method = METHOD_IBP;
    bound_state ib;
    int rc = bound_state_init(&ib, m, &io, err);
    if (rc) return rc;
    size_t maxn = 1;
    for (int i = 0; i < m->n_layers; i++)
        if (layer_is_nonlinear(m->layers[i].type) && shape_size(m->layers[i].in) > maxn)
            maxn = shape_size(m->layers[i].in);
    double *il = nn_malloc(maxn * sizeof *il, "IBP bounds", err);
    double *iu = il ? nn_malloc(maxn * sizeof *iu, "IBP bounds", err) : NULL;
    if (!iu) rc = NN_ENOMEM;
    if (!rc) rc = bound_set_region(&ib, &st->region, err);
    bound_method mt = st->opt.method;
    int ibp_method = mt == METHOD_IBP || mt == METHOD_CROWN_IBP;
    int first = ((const bound_work *)st->work)->first_nl;
    for (int i = first; !rc && i < m->n_layers; i++) {
        const nn_layer *L = &m->layers[i];
        if (!layer_is_nonlinear(L->type)) continue;
        size_t n = shape_size(L->in);
        const double *l = st->pre_lower[i], *u = st->pre_upper[i];
        if (!(src[i] = nn_malloc(n, "bound sources", err))) {
            rc = NN_ENOMEM;
            break;
        }
        if (i == first) {
            /* every method takes the exact bounds of the first affine block here */
            memset(src[i], BOUND_SRC_EXACT, n);
        } else {
            if ((rc = bound_layer_rows(&ib, i, 0, n, il, iu, err))) break;
            for (size_t r = 0; r < n; r++) {
                int skipped = !ibp_method && st->opt.skip_stable && relax_row_stable(L, r, il[r], iu[r]);
                int may = ibp_method || st->opt.intersect_ibp || skipped;
                int lo = may && same_bits(l[r], il[r]), hi = may && same_bits(u[r], iu[r]);
                src[i][r] = skipped && lo && hi ? BOUND_SRC_IBP_STABLE
                            : lo && hi         ? BOUND_SRC_IBP
                            : lo               ? BOUND_SRC_IBP_LOWER
                            : hi               ? BOUND_SRC_IBP_UPPER
                                               : BOUND_SRC_METHOD;
            }
        }
        rc = bound_layer_commit(&ib, i, l, u, err);
    }
    free(il);
    free(iu);
    bound_state_free(&ib);
    return rc;
}
