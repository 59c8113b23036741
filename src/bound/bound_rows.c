/* Plain-row passes for backward passes whose rows carry lines of their own (FROWN,
 * bound_frown.c; CROWN-Quad, bound_quad.c): double-precision rows on full layer
 * widths, with the backward kernel's rounding accounting (bound_backward.c, top):
 * a constant c, the sum s of |terms| folded into it, and the budget e of the
 * errors in the coefficient rows themselves, from the same tables the kernel uses
 * (vmag, gam, ew, mph, the first block's composite). As in the kernel, an
 * activation's weights ew already hold the budget of the affine layer below it,
 * so that layer's own pass adds none, and when the kernel crosses the first affine
 * block with its cached composite (fb_gemm; ew of the first nonlinear layer then
 * holds the composite's budget), these passes cross it the same way. */
#include "bound_rows.h"
#include "nn_clock.h"

#include <math.h>
#include <string.h>

int bound_rows_under_activation(const bound_state *st, int j)
{
    const nn_model *m = st->model;
    const bound_work *w = st->work;
    /* the one layer reading j's output (j + 1 on a chain), through flattens that
     * alone read theirs: the condition of the kernel's affine_below */
    for (int k = j;;) {
        if (w->n_cons[k + 1] != 1) return 0;
        int r = -1;
        for (int i = k + 1; i < m->n_layers && r < 0; i++)
            for (int q = 0; q < (m->layers[i].type == LAYER_ADD ? 2 : 1); q++)
                if (bound_in(m, i, q) == k) r = i;
        if (r < 0) return 0;
        if (m->layers[r].type != LAYER_FLATTEN) return layer_is_activation(m->layers[r].type);
        k = r;
    }
}

void bound_rows_offset(const bound_state *st, int j, const double *A, size_t R, size_t n, double *c, double *s,
                       double *e)
{
    const bound_work *w = st->work;
    const double *off = w->bfull[j], *offabs = w->babs[j];
    const double *v = bound_rows_under_activation(st, j) ? NULL : w->vmag[j];
    double g = w->gam[0][j];
    if (!off && (!v || g == 0)) return;
    for (size_t r = 0; r < R; r++) {
        const double *a = A + r * n;
        double acc = 0, mag = 0, err = 0;
        for (size_t k = 0; k < n; k++) {
            double x = a[k];
            if (off) {
                acc += x * off[k];
                mag += fabs(x) * offabs[k];
            }
            if (v) err += fabs(x) * v[k];
        }
        c[r] += acc;
        s[r] += mag;
        e[r] += g * err;
    }
}

void bound_rows_activation(const bound_state *st, int j, const double *ls, const double *lt, const double *us,
                           const double *ut, double *a, size_t n, double *c, double *s, double *e)
{
    const double *ew = ((const bound_work *)st->work)->ew[0][j];
    double acc = 0, mag = 0, err = 0;
    for (size_t i = 0; i < n; i++) {
        double v = a[i], t, y;
        if (v >= 0) {
            t = v * lt[i];
            y = v * ls[i];
        } else {
            t = v * ut[i];
            y = v * us[i];
        }
        a[i] = y;
        acc += t;
        mag += fabs(t);
        err += fabs(y) * ew[i];
    }
    *c += acc;
    *s += mag;
    *e += err;
}

void bound_rows_maxpool(const bound_state *st, int j, size_t R, const double *A, double *An, double *c, double *s,
                        double *e)
{
    const bound_work *w = st->work;
    const relax_pool *p = &st->pools[j];
    size_t n_out = p->n_out, n_in = shape_size(st->model->layers[j].in);
    const double *hl = w->mph[0][j], *hu = hl + n_out;
    int W = p->window;
    for (size_t r = 0; r < R; r++) {
        const double *a = A + r * n_out;
        double *x = An + r * n_in, acc = 0, mag = 0, err = 0;
        memset(x, 0, n_in * sizeof *x);
        for (size_t o = 0; o < n_out; o++) {
            double v = a[o];
            if (v == 0) continue;
            int use_upper = v < 0;
            const double *coef = (use_upper ? p->upper_coef : p->lower_coef) + o * (size_t)W;
            const int *in = p->inputs + o * (size_t)W;
            for (int k = 0; k < W; k++)
                if (in[k] >= 0) x[in[k]] += v * coef[k];
            double t = v * (use_upper ? p->upper_icpt[o] : p->lower_icpt[o]);
            acc += t;
            mag += fabs(t);
            err += fabs(v) * (use_upper ? hu[o] : hl[o]);
        }
        c[r] += acc;
        s[r] += mag;
        e[r] += err;
    }
}

int bound_rows_composite(const bound_state *st) { return ((const bound_work *)st->work)->fb_gemm; }

void bound_rows_first_block(bound_state *st, size_t R, const double *A, double *An, double *c, double *s)
{
    const bound_work *w = st->work;
    bound_rows_first_block_offset(st, R, A, c, s);
    bound_rows_first_block_on(st, R, A, w->fb_rows, w->fb_A, An);
}

void bound_rows_first_block_offset(const bound_state *st, size_t R, const double *A, double *c, double *s)
{
    const bound_work *w = st->work;
    size_t width = w->fb_rows;
    for (size_t r = 0; r < R; r++) {
        const double *a = A + r * width;
        double acc = 0, mag = 0;
        for (size_t k = 0; k < width; k++) {
            acc += a[k] * w->fb_c[k];
            mag += fabs(a[k]) * w->fb_cabs[k];
        }
        c[r] += acc;
        s[r] += mag;
    }
}

void bound_rows_first_block_on(bound_state *st, size_t R, const double *A, size_t width, const double *fbp,
                               double *An)
{
    size_t n = ((const bound_work *)st->work)->n_in;
    double t0 = bound_gemm_clock(st);
    rows_dgemm(0, R, n, width, A, width, fbp, n, 0.0, An, n);
    st->flops += 2.0 * (double)R * (double)width * (double)n;
    bound_gemm_clock_add(st, t0);
}
