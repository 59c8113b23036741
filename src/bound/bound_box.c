/* Boxes through layers, the arithmetic of interval bound propagation (doc/bounds.md,
 * "Variants"): boxes pass affine layers as centre W.mid + b and radius |W|.rad (|W|
 * from the abs-weight copies made once by bound_state_init), monotone activations
 * map endpoints, MaxPool takes the window max of the lower and of the upper ends.
 *
 * Rounding: each affine output is widened by BOUND_REL_ALLOW times
 * |W||mid| + |W|rad + |centre| (the first is computed alongside the radius, as a
 * second row of the same |W| product); activation endpoints by BOUND_ACT_ALLOW
 * relative (libm functions are accurate to a few ulps and monotone up to that).
 * Every allowance also adds DBL_MIN: a relative one is 0 where a result underflows
 * (sigmoid(-745) is 0 or subnormal), but the error there is absolute.
 * ReLU and MaxPool are exact in floating point.
 *
 * The affine pass also records what the backward kernel's rounding budget needs of
 * each layer it crosses (vmag_j = |M_j| G_j, and tau_j in single precision), so the
 * budget comes free with the boxes.
 *
 * Residual graphs (bound_box_dag) keep the box of every layer output, since an
 * add reads an output from further back; an add's box is the sum of its inputs'
 * boxes, widened by BOUND_ALLOWANCE of the terms' magnitudes. */
#include "bound_box.h"
#include "bound_cost.h"
#include "nn_clock.h"
#include "activation.h"

#include <float.h>
#include <math.h>
#include <string.h>

int bound_box_nonlinear(const bound_state *st, int i, const double *l, const double *u, double *lo, double *hi,
                        nn_error *err)
{
    const nn_layer *L = &st->model->layers[i];
    size_t n = shape_size(L->in);
    if (L->type == LAYER_MAXPOOL2D) {
        size_t no = shape_size(L->out);
        int rc = maxpool2d_forward(L, l, 1, n, lo, no, NULL, err);
        if (!rc) rc = maxpool2d_forward(L, u, 1, n, hi, no, NULL, err);
        return rc ? nn_error_prefix(err, "interval bounds, layer %d: ", i) : NN_OK;
    }
    activation_forward(L, l, 1, n, lo, n);
    activation_forward(L, u, 1, n, hi, n);
    if (!act_def_of(L->type)->exact) {
        for (size_t k = 0; k < n; k++) {
            lo[k] -= BOUND_ACT_ALLOW * fabs(lo[k]) + DBL_MIN;
            hi[k] += BOUND_ACT_ALLOW * fabs(hi[k]) + DBL_MIN;
        }
    }
    return NN_OK;
}

int bound_box_affine(bound_state *st, int from, int to, double *lo, double *hi, nn_error *err)
{
    bound_work *w = st->work;
    size_t mw = w->maxw;
    double *mid = w->scratch + 2 * mw; /* rows: mid, rad, |mid| (leading dimension mw) */
    double *rad = mid + mw, *am = rad + mw;
    double *ro = w->scratch + 5 * mw; /* rows: |W|rad, |W||mid| */
    double *amo = ro + mw;
    for (int j = from; j < to; j++) {
        const nn_layer *L = &st->model->layers[j];
        size_t n = shape_size(L->in), no = shape_size(L->out);
        for (size_t k = 0; k < n; k++) {
            mid[k] = 0.5 * lo[k] + 0.5 * hi[k];
            rad[k] = 0.5 * (hi[k] - lo[k]);
            am[k] = fabs(mid[k]);
        }
        double t0 = bound_gemm_clock(st);
        int rc = layer_affine_forward_ws(L, mid, 1, mw, lo, mw, &w->ws, err);
        if (!rc) rc = layer_affine_forward_ws(&w->abs_layers[j], rad, 2, mw, ro, mw, &w->ws, err);
        bound_gemm_clock_add(st, t0);
        if (rc) return nn_error_prefix(err, "interval bounds, layer %d: ", j);
        double *v = w->vmag[j], gs = 0, vs = 0;
        if (st->opt.single)
            for (size_t k = 0; k < n; k++) gs += am[k] + rad[k];
        for (size_t k = 0; k < no; k++) {
            double c = lo[k];
            double allow = BOUND_ALLOWANCE(ro[k] + amo[k] + fabs(c));
            v[k] = (ro[k] + amo[k]) * (1 + 1e-9); /* |M| (|mid| + rad), rounded up */
            vs += v[k];
            lo[k] = c - ro[k] - allow;
            hi[k] = c + ro[k] + allow;
        }
        /* float rows' absolute budget for crossing j (bound_backward.c, part 2) */
        if (st->opt.single) w->tau[j] = FLT_MIN * ((2 * bound_adjoint_terms(L) + 3) * gs + vs) * (1 + 1e-6);
        st->flops += bound_affine_flops(L, 3);
    }
    return NN_OK;
}

int bound_box_dag(bound_state *st, int upto, nn_error *err)
{
    bound_work *w = st->work;
    const nn_model *m = st->model;
    if (!w->dag_valid[0]) {
        for (size_t k = 0; k < w->n_in; k++) {
            w->dag_lo[0][k] = w->box_lo[k];
            w->dag_hi[0][k] = w->box_hi[k];
            w->dag_g[0][k] = bound_abs_max(w->box_lo[k], w->box_hi[k]);
        }
        w->dag_valid[0] = 1;
    }
    for (int j = 0; j < upto; j++) {
        if (w->dag_valid[j + 1]) continue;
        const nn_layer *L = &m->layers[j];
        size_t no = shape_size(L->out), ni = shape_size(L->in);
        int a = bound_in(m, j, 0);
        const double *al = w->dag_lo[a + 1], *ah = w->dag_hi[a + 1];
        double *lo = w->dag_lo[j + 1], *hi = w->dag_hi[j + 1];
        int rc = NN_OK;
        if (L->type == LAYER_ADD) {
            int b = bound_in(m, j, 1);
            const double *bl = w->dag_lo[b + 1], *bh = w->dag_hi[b + 1];
            for (size_t k = 0; k < no; k++) {
                double l = al[k] + bl[k], h = ah[k] + bh[k];
                lo[k] = l - BOUND_ALLOWANCE(fabs(al[k]) + fabs(bl[k]));
                hi[k] = h + BOUND_ALLOWANCE(fabs(ah[k]) + fabs(bh[k]));
            }
        } else if (layer_is_nonlinear(L->type)) {
            if (j >= st->layers_done)
                return nn_fail(err, NN_EARG, "interval boxes: layer %d is not committed", j);
            rc = bound_box_nonlinear(st, j, st->pre_lower[j], st->pre_upper[j], lo, hi, err);
        } else {
            double *sl = w->scratch, *sh = w->scratch + w->maxw;
            memcpy(sl, al, ni * sizeof *sl);
            memcpy(sh, ah, ni * sizeof *sh);
            rc = bound_box_affine(st, j, j + 1, sl, sh, err);
            memcpy(lo, sl, no * sizeof *lo);
            memcpy(hi, sh, no * sizeof *hi);
        }
        if (rc) return rc;
        for (size_t k = 0; k < no; k++) w->dag_g[j + 1][k] = bound_abs_max(lo[k], hi[k]);
        w->dag_valid[j + 1] = 1;
    }
    return NN_OK;
}
