/* Unit tests for layer_ops: conv/pool forward against naive direct loops over an
 * explicitly padded image, adjoint identities <dy, M x> = <M^T dy, x>, window
 * indexing, row blocks with leading dimensions, and chunked convolution. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "layer_ops.h"
#include "model.h"

/* Builds a one-layer model; returns 0 when model_finalize rejects the geometry. */
static int one_layer(nn_model *m, nn_shape in, nn_layer l)
{
    nn_error err;
    model_init(m);
    m->input = in;
    assert_int_equal(model_append(m, &l, &err), NN_OK);
    if (model_finalize(m, &err) != NN_OK) {
        model_free(m);
        return 0;
    }
    return 1;
}

static int rand_int(test_rng *rng, int lo, int hi) { return lo + (int)(test_rng_next(rng) % (uint64_t)(hi - lo + 1)); }

static int expected_extent(int in, int plo, int phi, int k, int s, int d)
{
    int span = in + plo + phi - d * (k - 1) - 1;
    return span < 0 ? 0 : span / s + 1;
}

/* Random window geometry; pools keep padding below the kernel and no dilation. */
static nn_layer rand_window_layer(test_rng *rng, layer_type type, nn_shape *in)
{
    nn_layer l = layer_make(type);
    *in = (nn_shape){rand_int(rng, 1, 3), rand_int(rng, 3, 9), rand_int(rng, 3, 9)};
    l.kernel[0] = rand_int(rng, 1, 4);
    l.kernel[1] = rand_int(rng, 1, 4);
    l.stride[0] = rand_int(rng, 1, 3);
    l.stride[1] = rand_int(rng, 1, 3);
    for (int k = 0; k < 4; k++) {
        int kdim = l.kernel[k % 2 == 0 ? 0 : 1];
        l.pad[k] = rand_int(rng, 0, type == LAYER_CONV2D ? kdim : kdim - 1);
    }
    /* half the averages count some padding cells (count_include_pad, ceil cells not) */
    if (type == LAYER_AVGPOOL2D && rand_int(rng, 0, 1))
        for (int k = 0; k < 4; k++) l.count_pad[k] = rand_int(rng, 0, l.pad[k]);
    if (type == LAYER_CONV2D) {
        l.dilation[0] = rand_int(rng, 1, 2);
        l.dilation[1] = rand_int(rng, 1, 2);
        l.out_channels = rand_int(rng, 1, 4);
        l.in_features = in->c;
        size_t wn = (size_t)l.out_channels * in->c * l.kernel[0] * l.kernel[1];
        l.weight = test_rand_vec(rng, wn, -1, 1);
        l.bias = test_rand_vec(rng, (size_t)l.out_channels, -1, 1);
    }
    return l;
}

/* Explicitly padded copy of one channel; padding cells hold `fill`. */
static double *padded(const nn_layer *l, const double *x, int c, double fill, int *ph, int *pw)
{
    int H = l->in.h, W = l->in.w;
    *ph = H + l->pad[0] + l->pad[2];
    *pw = W + l->pad[1] + l->pad[3];
    double *p = malloc((size_t)*ph * (size_t)*pw * sizeof *p);
    assert_non_null(p);
    for (int i = 0; i < *ph; i++)
        for (int j = 0; j < *pw; j++) {
            int iy = i - l->pad[0], ix = j - l->pad[1];
            p[i * *pw + j] = (iy >= 0 && iy < H && ix >= 0 && ix < W) ? x[(size_t)c * H * W + iy * W + ix] : fill;
        }
    return p;
}

static void naive_conv(const nn_layer *l, const double *x, double *y)
{
    int Ho = l->out.h, Wo = l->out.w, kh = l->kernel[0], kw = l->kernel[1];
    for (int co = 0; co < l->out_channels; co++)
        for (int oy = 0; oy < Ho; oy++)
            for (int ox = 0; ox < Wo; ox++) y[(co * Ho + oy) * Wo + ox] = l->bias[co];
    for (int ci = 0; ci < l->in.c; ci++) {
        int ph, pw;
        double *p = padded(l, x, ci, 0.0, &ph, &pw);
        for (int co = 0; co < l->out_channels; co++)
            for (int oy = 0; oy < Ho; oy++)
                for (int ox = 0; ox < Wo; ox++)
                    for (int ky = 0; ky < kh; ky++)
                        for (int kx = 0; kx < kw; kx++) {
                            int py = oy * l->stride[0] + ky * l->dilation[0];
                            int px = ox * l->stride[1] + kx * l->dilation[1];
                            double wv = l->weight[((co * l->in.c + ci) * kh + ky) * kw + kx];
                            y[(co * Ho + oy) * Wo + ox] += wv * p[py * pw + px];
                        }
        free(p);
    }
}

/* Pools over a NaN-padded image: NaN marks "not an input". argmax gets the flat
 * index of the first maximum in (ky, kx) order. The average divides by the real
 * cells plus the padding cells within count_pad of the input. */
static void naive_pool(const nn_layer *l, const double *x, double *y, int *argmax)
{
    int Ho = l->out.h, Wo = l->out.w, H = l->in.h, W = l->in.w;
    for (int c = 0; c < l->in.c; c++) {
        int ph, pw;
        double *p = padded(l, x, c, NAN, &ph, &pw);
        for (int oy = 0; oy < Ho; oy++)
            for (int ox = 0; ox < Wo; ox++) {
                double best = -INFINITY, sum = 0;
                int cnt = 0, arg = -1;
                for (int ky = 0; ky < l->kernel[0]; ky++)
                    for (int kx = 0; kx < l->kernel[1]; kx++) {
                        int py = oy * l->stride[0] + ky, px = ox * l->stride[1] + kx;
                        double v = p[py * pw + px];
                        int iy = py - l->pad[0], ix = px - l->pad[1];
                        int counted = iy >= -l->count_pad[0] && iy < H + l->count_pad[2] && ix >= -l->count_pad[1] &&
                                      ix < W + l->count_pad[3];
                        if (isnan(v)) {
                            cnt += counted;
                            continue;
                        }
                        cnt++;
                        sum += v;
                        if (arg < 0 || v > best) {
                            best = v;
                            arg = c * H * W + (py - l->pad[0]) * W + (px - l->pad[1]);
                        }
                    }
                size_t o = ((size_t)c * Ho + oy) * Wo + ox;
                y[o] = l->type == LAYER_MAXPOOL2D ? best : sum / cnt;
                if (argmax) argmax[o] = arg;
            }
        free(p);
    }
}

static void assert_close(double a, double b, double tol)
{
    if (!(fabs(a - b) <= tol * (1 + fabs(a) + fabs(b)))) fail_msg("%.17g != %.17g (tol %g)", a, b, tol);
}

static void conv_and_pools_match_naive_loops_on_random_shapes(void **state)
{
    (void)state;
    test_rng rng = {42};
    layer_type types[] = {LAYER_CONV2D, LAYER_MAXPOOL2D, LAYER_AVGPOOL2D};
    int tested[3] = {0, 0, 0};
    for (int trial = 0; trial < 600; trial++) {
        int ti = trial % 3;
        nn_shape in;
        nn_layer l = rand_window_layer(&rng, types[ti], &in);
        int eh = expected_extent(in.h, l.pad[0], l.pad[2], l.kernel[0], l.stride[0], l.dilation[0]);
        int ew = expected_extent(in.w, l.pad[1], l.pad[3], l.kernel[1], l.stride[1], l.dilation[1]);
        nn_model m;
        if (!one_layer(&m, in, l)) {
            assert_true(eh <= 0 || ew <= 0);
            continue;
        }
        const nn_layer *L = &m.layers[0];
        assert_int_equal(L->out.h, eh);
        assert_int_equal(L->out.w, ew);
        tested[ti]++;
        size_t n_in = shape_size(L->in), n_out = shape_size(L->out), rows = 3;
        /* Quantised inputs make ties, which checks the first-maximum rule. */
        double *x = malloc(rows * n_in * sizeof *x);
        for (size_t i = 0; i < rows * n_in; i++)
            x[i] = L->type == LAYER_MAXPOOL2D ? (double)rand_int(&rng, -2, 2) : test_rng_range(&rng, -1, 1);
        double *y = malloc(rows * n_out * sizeof *y), *ref = malloc(n_out * sizeof *ref);
        int *arg = malloc(rows * n_out * sizeof *arg), *refarg = malloc(n_out * sizeof *refarg);
        nn_error err;
        if (L->type == LAYER_MAXPOOL2D)
            assert_int_equal(maxpool2d_forward(L, x, rows, n_in, y, n_out, arg, &err), NN_OK);
        else
            assert_int_equal(layer_affine_forward(L, x, rows, n_in, y, n_out, &err), NN_OK);
        for (size_t r = 0; r < rows; r++) {
            if (L->type == LAYER_CONV2D) naive_conv(L, x + r * n_in, ref);
            else naive_pool(L, x + r * n_in, ref, refarg);
            for (size_t o = 0; o < n_out; o++) {
                assert_close(y[r * n_out + o], ref[o], 1e-13);
                if (L->type == LAYER_MAXPOOL2D) assert_int_equal(arg[r * n_out + o], refarg[o]);
            }
        }
        free(x), free(y), free(ref), free(arg), free(refarg);
        model_free(&m);
    }
    for (int i = 0; i < 3; i++) assert_true(tested[i] > 50);
}

static void window_input_index_matches_naive_loop(void **state)
{
    (void)state;
    test_rng rng = {7};
    int tested = 0;
    for (int trial = 0; trial < 300; trial++) {
        layer_type t = trial % 3 == 0 ? LAYER_CONV2D : trial % 3 == 1 ? LAYER_MAXPOOL2D : LAYER_AVGPOOL2D;
        nn_shape in;
        nn_layer l = rand_window_layer(&rng, t, &in);
        nn_model m;
        if (!one_layer(&m, in, l)) continue;
        const nn_layer *L = &m.layers[0];
        int Ho = L->out.h, Wo = L->out.w, H = L->in.h, W = L->in.w, kw = L->kernel[1];
        for (int c = 0; c < L->out.c; c++)
            for (int oy = 0; oy < Ho; oy++)
                for (int ox = 0; ox < Wo; ox++)
                    for (int ky = 0; ky < L->kernel[0]; ky++)
                        for (int kx = 0; kx < kw; kx++) {
                            int iy = oy * L->stride[0] - L->pad[0] + ky * L->dilation[0];
                            int ix = ox * L->stride[1] - L->pad[1] + kx * L->dilation[1];
                            int cin = t == LAYER_CONV2D ? 0 : c;
                            int want = (iy < 0 || iy >= H || ix < 0 || ix >= W) ? -1 : (cin * H + iy) * W + ix;
                            size_t o = ((size_t)c * Ho + oy) * Wo + ox;
                            assert_int_equal(window_input_index(L, o, ky * kw + kx), want);
                        }
        assert_int_equal(window_input_index(L, shape_size(L->out), 0), -1);
        assert_int_equal(window_input_index(L, 0, L->kernel[0] * kw), -1);
        tested++;
        model_free(&m);
    }
    assert_true(tested > 100);
}

/* A layer of each affine type on a shape where it is interesting. */
static int make_affine(test_rng *rng, layer_type t, nn_model *m)
{
    nn_shape in = {rand_int(rng, 1, 3), rand_int(rng, 3, 8), rand_int(rng, 3, 8)};
    nn_layer l = layer_make(t);
    switch (t) {
    case LAYER_DENSE: {
        size_t n_in = shape_size(in);
        l.out_channels = rand_int(rng, 1, 12);
        l.in_features = (int)n_in;
        l.weight = test_rand_vec(rng, (size_t)l.out_channels * n_in, -1, 1);
        l.bias = test_rand_vec(rng, (size_t)l.out_channels, -1, 1);
        break;
    }
    case LAYER_NORMALIZE:
        l.in_features = in.c;
        l.mean = test_rand_vec(rng, (size_t)in.c, -0.5, 0.5);
        l.std = test_rand_vec(rng, (size_t)in.c, 0.1, 2);
        break;
    case LAYER_CONV2D:
    case LAYER_AVGPOOL2D:
        l = rand_window_layer(rng, t, &in);
        break;
    default:
        break;
    }
    return one_layer(m, in, l);
}

static double dot(const double *a, const double *b, size_t n, double *mag)
{
    double s = 0, g = 0;
    for (size_t i = 0; i < n; i++) {
        s += a[i] * b[i];
        g += fabs(a[i] * b[i]);
    }
    *mag = g;
    return s;
}

static void adjoint_identity_holds_for_every_affine_layer(void **state)
{
    (void)state;
    test_rng rng = {1234};
    layer_type types[] = {LAYER_DENSE, LAYER_CONV2D, LAYER_NORMALIZE, LAYER_AVGPOOL2D, LAYER_FLATTEN};
    for (int ti = 0; ti < 5; ti++) {
        int tested = 0;
        for (int trial = 0; trial < 60; trial++) {
            nn_model m;
            if (!make_affine(&rng, types[ti], &m)) continue;
            const nn_layer *L = &m.layers[0];
            size_t n_in = shape_size(L->in), n_out = shape_size(L->out), rows = 4;
            /* Leading dimensions wider than the rows; the gaps must stay untouched. */
            size_t ldx = n_in + 3, ldy = n_out + 2;
            double *x = test_rand_vec(&rng, rows * ldx, -1, 1), *dy = test_rand_vec(&rng, rows * ldy, -1, 1);
            double *y = malloc(rows * ldy * sizeof *y), *dx = malloc(rows * ldx * sizeof *dx);
            double *b = malloc(n_out * sizeof *b);
            for (size_t i = 0; i < rows * ldy; i++) y[i] = 777;
            for (size_t i = 0; i < rows * ldx; i++) dx[i] = 777;
            nn_error err;
            assert_int_equal(layer_affine_forward(L, x, rows, ldx, y, ldy, &err), NN_OK);
            assert_int_equal(layer_affine_adjoint(L, dy, rows, ldy, dx, ldx, &err), NN_OK);
            layer_affine_offset(L, b);
            for (size_t r = 0; r < rows; r++) {
                for (size_t i = n_out; i < ldy; i++) assert_true(y[r * ldy + i] == 777);
                for (size_t i = n_in; i < ldx; i++) assert_true(dx[r * ldx + i] == 777);
                double *mx = malloc(n_out * sizeof *mx);
                for (size_t o = 0; o < n_out; o++) mx[o] = y[r * ldy + o] - b[o];
                double g1, g2;
                double lhs = dot(dy + r * ldy, mx, n_out, &g1);
                double rhs = dot(dx + r * ldx, x + r * ldx, n_in, &g2);
                if (!(fabs(lhs - rhs) <= 1e-12 * (g1 + g2)))
                    fail_msg("%s: <dy,Mx> = %.17g but <M^T dy,x> = %.17g", layer_type_name(L->type), lhs, rhs);
                free(mx);
            }
            free(x), free(dy), free(y), free(dx), free(b);
            model_free(&m);
            tested++;
        }
        assert_true(tested > 20);
    }
}

/* Conv with enough rows to run several im2col chunks; every row must equal the
 * same computation done alone, forward and adjoint. */
static void conv_row_block_equals_rows_one_by_one_across_chunks(void **state)
{
    (void)state;
    test_rng rng = {99};
    nn_layer l = layer_make(LAYER_CONV2D);
    nn_shape in = {3, 28, 28};
    l.kernel[0] = l.kernel[1] = 5;
    l.pad[0] = l.pad[1] = l.pad[2] = l.pad[3] = 2;
    l.out_channels = 2;
    l.in_features = 3;
    l.weight = test_rand_vec(&rng, 2 * 3 * 25, -1, 1);
    l.bias = test_rand_vec(&rng, 2, -1, 1);
    nn_model m;
    assert_true(one_layer(&m, in, l));
    const nn_layer *L = &m.layers[0];
    size_t n_in = shape_size(L->in), n_out = shape_size(L->out), rows = 150; /* P*K = 58800 per row */
    double *x = test_rand_vec(&rng, rows * n_in, -1, 1), *dy = test_rand_vec(&rng, rows * n_out, -1, 1);
    double *y = malloc(rows * n_out * sizeof *y), *dx = malloc(rows * n_in * sizeof *dx);
    double *y1 = malloc(n_out * sizeof *y1), *dx1 = malloc(n_in * sizeof *dx1);
    nn_error err;
    assert_int_equal(layer_affine_forward(L, x, rows, n_in, y, n_out, &err), NN_OK);
    assert_int_equal(layer_affine_adjoint(L, dy, rows, n_out, dx, n_in, &err), NN_OK);
    for (size_t r = 0; r < rows; r += 7) {
        assert_int_equal(layer_affine_forward(L, x + r * n_in, 1, n_in, y1, n_out, &err), NN_OK);
        assert_int_equal(layer_affine_adjoint(L, dy + r * n_out, 1, n_out, dx1, n_in, &err), NN_OK);
        for (size_t o = 0; o < n_out; o++) assert_close(y[r * n_out + o], y1[o], 1e-14);
        for (size_t i = 0; i < n_in; i++) assert_close(dx[r * n_in + i], dx1[i], 1e-14);
    }
    free(x), free(dy), free(y), free(dx), free(y1), free(dx1);
    model_free(&m);
}

/* dy entries: uniform in [-1, 1], with a fifth exact zeros and a tenth -0 (as
 * the engine's rows hold where a line or a window cuts them). */
static void rand_rows(test_rng *rng, double *dy, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int k = rand_int(rng, 0, 9);
        dy[i] = k < 2 ? 0.0 : k == 2 ? -0.0 : test_rng_range(rng, -1, 1);
    }
}

/* A random conv as a one-layer model: 1 to 3 input channels on maps of 1 to
 * max_hw cells a side, kernels up to 6 with dilation 1 or 2 and padding up to
 * the kernel, strides 1 (stride1) or 1 to 3, 1 to max_co output channels; its
 * weights in float into *wf. 0 when the geometry leaves no output. */
static int rand_conv_model(test_rng *rng, int max_co, int max_hw, int stride1, nn_model *m, float **wf)
{
    nn_layer l = layer_make(LAYER_CONV2D);
    nn_shape in = {rand_int(rng, 1, 3), rand_int(rng, 1, max_hw), rand_int(rng, 1, max_hw)};
    l.kernel[0] = rand_int(rng, 1, 6), l.kernel[1] = rand_int(rng, 1, 6);
    l.dilation[0] = rand_int(rng, 1, 2), l.dilation[1] = rand_int(rng, 1, 2);
    l.stride[0] = stride1 ? 1 : rand_int(rng, 1, 3), l.stride[1] = stride1 ? 1 : rand_int(rng, 1, 3);
    for (int k = 0; k < 4; k++) l.pad[k] = rand_int(rng, 0, l.kernel[k % 2]);
    l.out_channels = rand_int(rng, 1, max_co);
    l.in_features = in.c;
    size_t wn = (size_t)l.out_channels * in.c * l.kernel[0] * l.kernel[1];
    l.weight = test_rand_vec(rng, wn, -1, 1);
    l.bias = test_rand_vec(rng, (size_t)l.out_channels, -1, 1);
    if (!one_layer(m, in, l)) return 0;
    *wf = malloc(wn * sizeof **wf);
    for (size_t i = 0; i < wn; i++) (*wf)[i] = (float)m->layers[0].weight[i];
    return 1;
}

/* The conv adjoint's col2im gathers each input cell's slots in registers where
 * the CPU has AVX2 and the strides are 1 (layer_workspace.plain_col2im = 0),
 * and must give the bits of the cell-by-cell scatter (plain_col2im = 1): on full
 * maps and on windowed rows (windows reaching past the map, padding), double and
 * float, maps from 1 to 41 cells wide (one to two chunks of 32 cells, and the
 * narrow variants of 8 and 16), kernels up to 6 with dilation. */
static void gathered_col2im_gives_the_scatter_bits(void **state)
{
    (void)state;
    test_rng rng = {4711};
    layer_workspace plain, gather;
    layer_workspace_init(&plain), layer_workspace_init(&gather);
    plain.plain_col2im = 1;
    int tested = 0;
    for (int trial = 0; trial < 300; trial++) {
        nn_model m;
        float *wf;
        if (!rand_conv_model(&rng, 5, 41, 1, &m, &wf)) continue;
        const nn_layer *L = &m.layers[0];
        nn_shape in = L->in;
        size_t n_in = shape_size(L->in), n_out = shape_size(L->out), rows = (size_t)rand_int(&rng, 1, 6);
        nn_error err;
        /* full maps */
        double *dy = malloc(rows * n_out * sizeof *dy), *d1 = malloc(rows * n_in * sizeof *d1);
        double *d2 = malloc(rows * n_in * sizeof *d2);
        float *fy = malloc(rows * n_out * sizeof *fy), *f1 = malloc(rows * n_in * sizeof *f1);
        float *f2 = malloc(rows * n_in * sizeof *f2);
        rand_rows(&rng, dy, rows * n_out);
        for (size_t i = 0; i < rows * n_out; i++) fy[i] = (float)dy[i];
        assert_int_equal(layer_affine_adjoint_ws(L, dy, rows, n_out, d1, n_in, &plain, &err), NN_OK);
        assert_int_equal(layer_affine_adjoint_ws(L, dy, rows, n_out, d2, n_in, &gather, &err), NN_OK);
        assert_memory_equal(d1, d2, rows * n_in * sizeof *d1);
        assert_int_equal(layer_affine_adjoint_f_ws(L, wf, fy, rows, n_out, f1, n_in, &plain, &err), NN_OK);
        assert_int_equal(layer_affine_adjoint_f_ws(L, wf, fy, rows, n_out, f2, n_in, &gather, &err), NN_OK);
        assert_memory_equal(f1, f2, rows * n_in * sizeof *f1);
        free(dy), free(d1), free(d2), free(fy), free(f1), free(f2);
        /* windowed rows: an h x w window of the output map at random origins */
        int h = rand_int(&rng, 1, L->out.h + 1), w = rand_int(&rng, 1, L->out.w + 1), hi, wi;
        layer_window_below(L, h, w, &hi, &wi);
        size_t no = (size_t)L->out_channels * (size_t)h * (size_t)w, ni = (size_t)in.c * (size_t)hi * (size_t)wi;
        int *oy = malloc(rows * sizeof *oy), *ox = malloc(rows * sizeof *ox);
        for (size_t r = 0; r < rows; r++)
            oy[r] = rand_int(&rng, -1, L->out.h - h + 1), ox[r] = rand_int(&rng, -1, L->out.w - w + 1);
        dy = malloc(rows * no * sizeof *dy), d1 = malloc(rows * ni * sizeof *d1), d2 = malloc(rows * ni * sizeof *d2);
        fy = malloc(rows * no * sizeof *fy), f1 = malloc(rows * ni * sizeof *f1), f2 = malloc(rows * ni * sizeof *f2);
        rand_rows(&rng, dy, rows * no);
        for (size_t i = 0; i < rows * no; i++) fy[i] = (float)dy[i];
        assert_int_equal(layer_affine_adjoint_window_ws(L, dy, rows, no, h, w, oy, ox, d1, ni, &plain, &err), NN_OK);
        assert_int_equal(layer_affine_adjoint_window_ws(L, dy, rows, no, h, w, oy, ox, d2, ni, &gather, &err), NN_OK);
        assert_memory_equal(d1, d2, rows * ni * sizeof *d1);
        assert_int_equal(layer_affine_adjoint_window_f_ws(L, wf, fy, rows, no, h, w, oy, ox, f1, ni, &plain, &err),
                         NN_OK);
        assert_int_equal(layer_affine_adjoint_window_f_ws(L, wf, fy, rows, no, h, w, oy, ox, f2, ni, &gather, &err),
                         NN_OK);
        assert_memory_equal(f1, f2, rows * ni * sizeof *f1);
        free(dy), free(d1), free(d2), free(fy), free(f1), free(f2), free(oy), free(ox), free(wf);
        model_free(&m);
        tested++;
    }
    print_message("  %d convs, the gathering col2im %s\n", tested,
                  __builtin_cpu_supports("avx2") ? "on (AVX2)" : "off (no AVX2: both scatter)");
    assert_true(tested > 200);
    layer_workspace_free(&plain), layer_workspace_free(&gather);
}

/* The adjoint of a conv with at most 8 output channels summed by hand, in the
 * order the library promises (layer_ops_conv_adjoint.h, adjoint_direct): per
 * input cell, from +0, each slot (ky, kx) in order whose output cell exists,
 * that slot's products over co in order, each rounded before its add. */
#define NAIVE_ADJOINT(T, wt, dy, dx)                                                                               \
    for (int ci = 0; ci < L->in.c; ci++)                                                                           \
        for (int iy = 0; iy < L->in.h; iy++)                                                                       \
            for (int ix = 0; ix < L->in.w; ix++) {                                                                 \
                T acc = 0;                                                                                         \
                for (int ky = 0; ky < kh; ky++)                                                                    \
                    for (int kx = 0; kx < kw; kx++) {                                                              \
                        int ny = iy + L->pad[0] - ky * L->dilation[0], nx = ix + L->pad[1] - kx * L->dilation[1]; \
                        if (ny < 0 || nx < 0 || ny % L->stride[0] || nx % L->stride[1]) continue;                  \
                        int oy = ny / L->stride[0], ox = nx / L->stride[1];                                        \
                        if (oy >= L->out.h || ox >= L->out.w) continue;                                            \
                        size_t k = ((size_t)ci * kh + ky) * kw + kx, o = (size_t)oy * L->out.w + ox;               \
                        T t = wt[k] * dy[o];                                                                       \
                        for (int co = 1; co < L->out_channels; co++) t += wt[co * K + k] * dy[co * plane + o];    \
                        acc += t;                                                                                  \
                    }                                                                                              \
                dx[((size_t)ci * L->in.h + iy) * L->in.w + ix] = acc;                                              \
            }

/* Convs with at most 8 output channels sum the adjoint's W^T D themselves
 * (BLAS is slow on so short an inner dimension): the adjoint must be exactly
 * the naive sum above, double and float, any stride, padding and dilation,
 * with exact zeros and -0 among the rows' entries. */
static void small_conv_adjoint_is_the_naive_sum(void **state)
{
    (void)state;
    test_rng rng = {2718};
    layer_workspace ws;
    layer_workspace_init(&ws);
    int tested = 0;
    for (int trial = 0; trial < 200; trial++) {
        nn_model m;
        float *wf;
        if (!rand_conv_model(&rng, 8, 30, 0, &m, &wf)) continue;
        const nn_layer *L = &m.layers[0];
        int kh = L->kernel[0], kw = L->kernel[1];
        size_t K = (size_t)L->in.c * kh * kw, plane = (size_t)L->out.h * L->out.w;
        size_t n_in = shape_size(L->in), n_out = shape_size(L->out), rows = (size_t)rand_int(&rng, 1, 4);
        double *dy = malloc(rows * n_out * sizeof *dy), *dx = malloc(rows * n_in * sizeof *dx);
        double *want = malloc(n_in * sizeof *want);
        float *fy = malloc(rows * n_out * sizeof *fy);
        float *fx = malloc(rows * n_in * sizeof *fx), *fwant = malloc(n_in * sizeof *fwant);
        rand_rows(&rng, dy, rows * n_out);
        for (size_t i = 0; i < rows * n_out; i++) fy[i] = (float)dy[i];
        nn_error err;
        assert_int_equal(layer_affine_adjoint_ws(L, dy, rows, n_out, dx, n_in, &ws, &err), NN_OK);
        assert_int_equal(layer_affine_adjoint_f_ws(L, wf, fy, rows, n_out, fx, n_in, &ws, &err), NN_OK);
        for (size_t r = 0; r < rows; r++) {
            const double *w = L->weight, *dyr = dy + r * n_out;
            const float *fyr = fy + r * n_out;
            NAIVE_ADJOINT(double, w, dyr, want)
            NAIVE_ADJOINT(float, wf, fyr, fwant)
            assert_memory_equal(dx + r * n_in, want, n_in * sizeof *want);
            assert_memory_equal(fx + r * n_in, fwant, n_in * sizeof *fwant);
        }
        free(dy), free(dx), free(want), free(wf), free(fy), free(fx), free(fwant);
        model_free(&m);
        tested++;
    }
    print_message("  %d convs of 1 to 8 output channels\n", tested);
    assert_true(tested > 150);
    layer_workspace_free(&ws);
}

/* One workspace reused across layers of different types and sizes (it grows
 * and is reused) gives exactly the results of the allocating calls. */
static void reused_workspace_gives_the_same_results(void **state)
{
    (void)state;
    test_rng rng = {77};
    layer_workspace ws;
    layer_workspace_init(&ws);
    for (int trial = 0; trial < 60; trial++) {
        layer_type t = trial % 3 == 0 ? LAYER_CONV2D : trial % 3 == 1 ? LAYER_AVGPOOL2D : LAYER_MAXPOOL2D;
        nn_shape in;
        nn_layer l = rand_window_layer(&rng, t, &in);
        nn_model m;
        if (!one_layer(&m, in, l)) continue;
        const nn_layer *L = &m.layers[0];
        size_t n_in = shape_size(L->in), n_out = shape_size(L->out), rows = 1 + (size_t)(trial % 5);
        double *x = test_rand_vec(&rng, rows * n_in, -1, 1), *dy = test_rand_vec(&rng, rows * n_out, -1, 1);
        double *y1 = malloc(rows * n_out * sizeof *y1), *y2 = malloc(rows * n_out * sizeof *y2);
        double *d1 = malloc(rows * n_in * sizeof *d1), *d2 = malloc(rows * n_in * sizeof *d2);
        int *a1 = malloc(rows * n_out * sizeof *a1), *a2 = malloc(rows * n_out * sizeof *a2);
        nn_error err;
        if (t == LAYER_MAXPOOL2D) {
            assert_int_equal(maxpool2d_forward(L, x, rows, n_in, y1, n_out, a1, &err), NN_OK);
            assert_int_equal(maxpool2d_forward_ws(L, x, rows, n_in, y2, n_out, a2, &ws, &err), NN_OK);
            assert_memory_equal(a1, a2, rows * n_out * sizeof *a1);
        } else {
            assert_int_equal(layer_affine_forward(L, x, rows, n_in, y1, n_out, &err), NN_OK);
            assert_int_equal(layer_affine_forward_ws(L, x, rows, n_in, y2, n_out, &ws, &err), NN_OK);
            assert_int_equal(layer_affine_adjoint(L, dy, rows, n_out, d1, n_in, &err), NN_OK);
            assert_int_equal(layer_affine_adjoint_ws(L, dy, rows, n_out, d2, n_in, &ws, &err), NN_OK);
            assert_memory_equal(d1, d2, rows * n_in * sizeof *d1);
        }
        assert_memory_equal(y1, y2, rows * n_out * sizeof *y1);
        free(x), free(dy), free(y1), free(y2), free(d1), free(d2), free(a1), free(a2);
        model_free(&m);
    }
    assert_true(ws.nd > 0 && ws.ni > 0);
    layer_workspace_free(&ws);
    assert_null(ws.d);
}

static void dense_forward_is_w_times_x_plus_b(void **state)
{
    (void)state;
    test_rng rng = {5};
    nn_layer l = layer_make(LAYER_DENSE);
    l.out_channels = 3;
    l.in_features = 4;
    l.weight = test_rand_vec(&rng, 12, -1, 1);
    l.bias = test_rand_vec(&rng, 3, -1, 1);
    nn_model m;
    assert_true(one_layer(&m, (nn_shape){4, 1, 1}, l));
    double x[4] = {0.5, -1, 2, 0.25}, y[3];
    nn_error err;
    assert_int_equal(layer_affine_forward(&m.layers[0], x, 1, 4, y, 3, &err), NN_OK);
    for (int o = 0; o < 3; o++) {
        double s = m.layers[0].bias[o];
        for (int i = 0; i < 4; i++) s += m.layers[0].weight[o * 4 + i] * x[i];
        assert_close(y[o], s, 1e-15);
    }
    model_free(&m);
}

/* rows_dgemm / rows_sgemm against naive sums for 1 to 5 rows (the GEMV path and
 * GEMM), both layouts of B, beta 0 and 1, leading dimensions above the widths;
 * with beta 0, C starts as NaN, which must not leak into the product. */
static void row_products_match_naive_sums(void **state)
{
    (void)state;
    test_rng rng = {11};
    size_t n = 7, k = 9, lda = k + 3, ldbt = k + 2, ldb = n + 1, ldc = n + 4;
    double *a = test_rand_vec(&rng, 5 * lda, -1, 1), *bt = test_rand_vec(&rng, n * ldbt, -1, 1);
    double *b = test_rand_vec(&rng, k * ldb, -1, 1), *c0 = test_rand_vec(&rng, 5 * ldc, -1, 1);
    double c[5 * 11];
    float af[5 * 12], btf[7 * 11], bf[9 * 8], cf[5 * 11];
    for (size_t i = 0; i < 5 * lda; i++) af[i] = (float)a[i];
    for (size_t i = 0; i < n * ldbt; i++) btf[i] = (float)bt[i];
    for (size_t i = 0; i < k * ldb; i++) bf[i] = (float)b[i];
    for (size_t m = 1; m <= 5; m++)
        for (int trans = 0; trans < 2; trans++)
            for (int beta = 0; beta < 2; beta++) {
                for (size_t i = 0; i < 5 * ldc; i++) {
                    c[i] = beta ? c0[i] : NAN;
                    cf[i] = beta ? (float)c0[i] : NAN;
                }
                const double *bb = trans ? bt : b;
                const float *bbf = trans ? btf : bf;
                size_t lb = trans ? ldbt : ldb;
                rows_dgemm(trans, m, n, k, a, lda, bb, lb, beta, c, ldc);
                rows_sgemm(trans, m, n, k, af, lda, bbf, lb, (float)beta, cf, ldc);
                for (size_t r = 0; r < m; r++)
                    for (size_t j = 0; j < n; j++) {
                        double want = beta ? c0[r * ldc + j] : 0.0;
                        for (size_t q = 0; q < k; q++)
                            want += a[r * lda + q] * (trans ? bt[j * ldbt + q] : b[q * ldb + j]);
                        assert_close(c[r * ldc + j], want, 1e-14);
                        assert_close(cf[r * ldc + j], want, 1e-5);
                    }
            }
    free(a), free(bt), free(b), free(c0);
}

/* Empty products: C of no columns (n = 0, leading dimensions 0, as a dense
 * layer whose packed inputs are all dead gives) and sums of no terms (k = 0: C
 * = beta C), by GEMV (one row) and GEMM (three): the right C and no call that
 * BLAS refuses, which OpenBLAS reports on stdout ("On entry to DGEMV parameter
 * number 6 had an illegal value") instead of computing; both streams are
 * caught. */
static void empty_row_products_make_no_blas_call(void **state)
{
    (void)state;
    char path[] = "/tmp/nncert_test_blas_out_XXXXXX";
    int fd = mkstemp(path), saved_out = dup(1), saved_err = dup(2);
    assert_true(fd >= 0 && saved_out >= 0 && saved_err >= 0);
    fflush(stdout), fflush(stderr);
    dup2(fd, 1), dup2(fd, 2);
    double a[3 * 6], b[6 * 4], c[3 * 4], c1[3 * 4];
    float af[3 * 6], bf[6 * 4], cf[3 * 4];
    for (int i = 0; i < 18; i++) a[i] = af[i] = (float)(i % 5) - 2.0f;
    for (int i = 0; i < 24; i++) b[i] = bf[i] = (float)(i % 3) - 1.0f;
    int wrong = 0;
    for (size_t m = 1; m <= 3; m += 2)
        for (int trans = 0; trans < 2; trans++) {
            /* n = 0: nothing written */
            for (int i = 0; i < 12; i++) c[i] = cf[i] = 7.0f;
            rows_dgemm(trans, m, 0, 6, a, 6, b, trans ? 6 : 0, 0.0, c, 0);
            rows_sgemm(trans, m, 0, 6, af, 6, bf, trans ? 6 : 0, 0.0f, cf, 0);
            for (int i = 0; i < 12; i++) wrong += c[i] != 7.0 || cf[i] != 7.0f;
            /* k = 0: C = beta C on its m x 4 entries (leading dimension 4) */
            for (int beta = 0; beta < 2; beta++) {
                for (int i = 0; i < 12; i++) c[i] = cf[i] = c1[i] = beta ? (double)i : NAN;
                rows_dgemm(trans, m, 4, 0, a, 0, b, trans ? 0 : 4, beta, c, 4);
                rows_sgemm(trans, m, 4, 0, af, 0, bf, trans ? 0 : 4, (float)beta, cf, 4);
                for (size_t i = 0; i < 12; i++) {
                    double want = i < 4 * m ? (beta ? c1[i] : 0.0) : c1[i];
                    wrong += !(c[i] == want || (isnan(want) && isnan(c[i])));
                    wrong += !(cf[i] == (float)want || (isnan(want) && isnan(cf[i])));
                }
            }
        }
    fflush(stdout), fflush(stderr);
    dup2(saved_out, 1), dup2(saved_err, 2);
    close(saved_out), close(saved_err);
    char buf[256] = {0};
    ssize_t got = pread(fd, buf, sizeof buf - 1, 0);
    close(fd);
    unlink(path);
    if (got != 0) fail_msg("BLAS printed: %s", buf);
    assert_int_equal(wrong, 0);
}

static void normalize_is_per_channel(void **state)
{
    (void)state;
    nn_layer l = layer_make(LAYER_NORMALIZE);
    l.in_features = 2;
    l.mean = malloc(2 * sizeof(double));
    l.std = malloc(2 * sizeof(double));
    l.mean[0] = 0.5, l.mean[1] = -1;
    l.std[0] = 2, l.std[1] = 0.5;
    nn_model m;
    assert_true(one_layer(&m, (nn_shape){2, 1, 2}, l));
    double x[4] = {1.5, 0.5, 0, 1}, y[4], b[4];
    nn_error err;
    assert_int_equal(layer_affine_forward(&m.layers[0], x, 1, 4, y, 4, &err), NN_OK);
    assert_close(y[0], 0.5, 1e-15);
    assert_close(y[1], 0.0, 1e-15);
    assert_close(y[2], 2.0, 1e-15);
    assert_close(y[3], 4.0, 1e-15);
    layer_affine_offset(&m.layers[0], b);
    assert_close(b[0], -0.25, 1e-15);
    assert_close(b[3], 2.0, 1e-15);
    model_free(&m);
}

static void non_affine_layer_and_short_leading_dimension_are_rejected(void **state)
{
    (void)state;
    nn_model m;
    assert_true(one_layer(&m, (nn_shape){1, 1, 4}, layer_make(LAYER_RELU)));
    double x[8] = {0}, y[8];
    nn_error err;
    assert_int_equal(layer_affine_forward(&m.layers[0], x, 1, 4, y, 4, &err), NN_EARG);
    assert_int_equal(layer_affine_adjoint(&m.layers[0], x, 1, 4, y, 4, &err), NN_EARG);
    assert_int_equal(maxpool2d_forward(&m.layers[0], x, 1, 4, y, 4, NULL, &err), NN_EARG);
    model_free(&m);
    assert_true(one_layer(&m, (nn_shape){1, 1, 4}, layer_make(LAYER_FLATTEN)));
    assert_int_equal(layer_affine_forward(&m.layers[0], x, 2, 3, y, 4, &err), NN_EARG);
    assert_non_null(strstr(err.msg, "leading dimension"));
    model_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(conv_and_pools_match_naive_loops_on_random_shapes),
        cmocka_unit_test(window_input_index_matches_naive_loop),
        cmocka_unit_test(adjoint_identity_holds_for_every_affine_layer),
        cmocka_unit_test(conv_row_block_equals_rows_one_by_one_across_chunks),
        cmocka_unit_test(reused_workspace_gives_the_same_results),
        cmocka_unit_test(gathered_col2im_gives_the_scatter_bits),
        cmocka_unit_test(small_conv_adjoint_is_the_naive_sum),
        cmocka_unit_test(dense_forward_is_w_times_x_plus_b),
        cmocka_unit_test(row_products_match_naive_sums),
        cmocka_unit_test(empty_row_products_make_no_blas_call),
        cmocka_unit_test(normalize_is_per_channel),
        cmocka_unit_test(non_affine_layer_and_short_leading_dimension_are_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
