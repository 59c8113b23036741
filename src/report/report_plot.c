/* The report's pictures, drawn with PLplot into PNG files by its cairo driver
 * (pngcairo, Debian's plplot-driver-cairo): anti-aliased lines and UTF-8 text
 * through pango, so eps and the norm are written as people write them.
 *
 * PLplot keeps one global stream; each plot is plinit .. plend on its own, so a
 * failure in one plot leaves nothing half-set for the next. PLplot would call
 * exit() on a fatal error (an unknown device, mostly): the device is checked
 * before plinit, and the exit handler records the message instead of letting
 * the library end the process where it can. Colors: cmap0 0 is the white
 * background, 1 black (axes, text), 2 the light grid, 3 red (unsound points),
 * 4.. one per series (the "tab10" palette, colorblind-friendly enough and
 * distinct in print). */
#include "report.h"

#include <math.h>
#include <plplot.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define W 960
#define H 620
#define FIRST_SERIES_COLOR 4
#define N_SERIES_COLORS 10

static char plot_error[256];

static int on_exit_handler(PLCHAR_VECTOR msg)
{
    snprintf(plot_error, sizeof plot_error, "%s", msg ? msg : "PLplot failed");
    return 0;
}

static void on_abort(PLCHAR_VECTOR msg) { snprintf(plot_error, sizeof plot_error, "%s", msg ? msg : "PLplot error"); }

static const int palette[N_SERIES_COLORS][3] = {
    {31, 119, 180}, {255, 127, 14}, {44, 160, 44},  {214, 39, 40},  {148, 103, 189},
    {140, 86, 75},  {227, 119, 194}, {127, 127, 127}, {188, 189, 34}, {23, 190, 207},
};

static int color_of(size_t series) { return FIRST_SERIES_COLOR + (int)(series % N_SERIES_COLORS); }

static int have_device(const char *name)
{
    /* the caller owns the arrays; n is their size on the way in */
    const char *menu_a[256], *dev_a[256], **menu = menu_a, **dev = dev_a;
    int n = 256;
    plgFileDevs(&menu, &dev, &n);
    for (int i = 0; i < n; i++)
        if (!strcmp(dev[i], name)) return 1;
    return 0;
}

static void set_colors(double alpha)
{
    plscmap0n(FIRST_SERIES_COLOR + N_SERIES_COLORS);
    plscol0a(0, 255, 255, 255, 1.0);
    plscol0a(1, 0, 0, 0, 1.0);
    plscol0a(2, 225, 225, 225, 1.0);
    plscol0a(3, 220, 0, 0, 1.0);
    for (int i = 0; i < N_SERIES_COLORS; i++)
        plscol0a(FIRST_SERIES_COLOR + i, palette[i][0], palette[i][1], palette[i][2], alpha);
}

static void begin(const char *path)
{
    plsexit(on_exit_handler);
    plsabort(on_abort);
    plsdev("pngcairo");
    plsfnam(path);
    plspage(0, 0, W, H, 0, 0);
    set_colors(1.0);
    plinit();
    pladv(0);
    plschr(0, 1.15);
    plvpor(0.12, 0.97, 0.12, 0.91);
}

/* Window, grid, frame with ticks and labels. */
static void axes(double x0, double x1, double y0, double y1, const char *xl, const char *yl, const char *title)
{
    plwind(x0, x1, y0, y1);
    plwidth(1.0);
    pllsty(1);
    plcol0(2);
    plbox("g", 0, 0, "g", 0, 0);
    plcol0(1);
    /* f: fixed-point labels; PLplot's "(x10^-2)" would sit outside the page */
    plbox("bcnstf", 0, 0, "bcnstvf", 0, 0);
    pllab(xl, yl, "");
    plschr(0, 1.35);
    plmtex("t", 1.2, 0.5, 0.5, title);
    plschr(0, 1.15);
}

typedef struct {
    int n;
    int opt[2 * 64 + 1];
    const char *text[2 * 64 + 1];
    int color[2 * 64 + 1], style[2 * 64 + 1];
    double width[2 * 64 + 1], scale[2 * 64 + 1];
    int number[2 * 64 + 1];
    const char *symbol[2 * 64 + 1];
    char own[2 * 64 + 1][160];
} legend;

static void legend_add(legend *l, const char *text, int color, int line_style, const char *symbol)
{
    if (l->n >= 2 * 64 + 1) return;
    int i = l->n++;
    snprintf(l->own[i], sizeof l->own[i], "%s", text);
    l->text[i] = l->own[i];
    l->opt[i] = symbol ? PL_LEGEND_SYMBOL : PL_LEGEND_LINE;
    l->color[i] = color, l->style[i] = line_style, l->width[i] = 2.5;
    l->scale[i] = 1.0, l->number[i] = 1, l->symbol[i] = symbol ? symbol : "";
}

static void legend_draw(legend *l, int position)
{
    if (!l->n) return;
    double w, h;
    plschr(0, 1.0);
    pllegend(&w, &h, PL_LEGEND_BACKGROUND | PL_LEGEND_BOUNDING_BOX, position | PL_POSITION_INSIDE, 0.02, 0.03, 0.1, 0,
             1, 1, 0, 0, l->n, l->opt, 1.0, 1.0, 1.8, 0.0, l->color, l->text, NULL, NULL, NULL, NULL, l->color,
             l->style, l->width, l->color, l->scale, l->number, l->symbol);
    plschr(0, 1.15);
}

static int end(const char *path, nn_error *err)
{
    plend();
    if (plot_error[0]) return nn_fail(err, NN_EIO, "%s: PLplot: %s", path, plot_error);
    FILE *f = fopen(path, "rb");
    if (!f) return nn_fail(err, NN_EIO, "%s: PLplot wrote no file", path);
    fclose(f);
    return NN_OK;
}

static const char *norm_words(const report *r)
{
    const char *n = r->n_files ? r->files[0].norm : "";
    for (size_t i = 1; i < r->n_files; i++)
        if (strcmp(r->files[i].norm, n)) return "norm of each run";
    return !strcmp(n, "inf") ? "ℓ∞" : !strcmp(n, "2") ? "ℓ2" : !strcmp(n, "1") ? "ℓ1" : "norm";
}

static double series_max_radius(const report_stats *s)
{
    double m = 0;
    for (size_t i = 0; i < s->images; i++)
        if (s->state[i] == REPORT_SCORED && s->radius[i] > m) m = s->radius[i];
    return m;
}

static double series_max_pgd(const report_stats *s)
{
    double m = 0;
    for (size_t i = 0; s->pgd && i < s->images; i++)
        if (s->state[i] == REPORT_SCORED && isfinite(s->pgd[i]) && s->pgd[i] > m) m = s->pgd[i];
    return m;
}

static double upper_of(const report *r, int with_pgd)
{
    double m = 0;
    for (size_t i = 0; i < r->n_series; i++) {
        m = fmax(m, series_max_radius(&r->series[i].st));
        if (with_pgd) m = fmax(m, series_max_pgd(&r->series[i].st));
    }
    return m > 0 ? m * 1.05 : 1e-3;
}

#define CURVE_POINTS 400

static void plot_accuracy(const report *r, const char *path)
{
    int any_pgd = 0;
    for (size_t i = 0; i < r->n_series; i++) any_pgd |= r->series[i].st.pgd != NULL;
    double xmax = upper_of(r, any_pgd);
    begin(path);
    char xl[96];
    snprintf(xl, sizeof xl, "ε (%s radius)", norm_words(r));
    axes(0, xmax, 0, 100, xl, "accuracy (% of images)", "Certified accuracy vs ε (solid), PGD upper bound (dashed)");
    double x[CURVE_POINTS], y[CURVE_POINTS];
    legend l = {0};
    for (size_t i = 0; i < r->n_series; i++) {
        const report_stats *s = &r->series[i].st;
        for (int k = 0; k < CURVE_POINTS; k++) {
            x[k] = xmax * k / (CURVE_POINTS - 1);
            y[k] = 100 * report_certified_at(s, x[k]);
        }
        plcol0(color_of(i));
        plwidth(2.5);
        pllsty(1);
        plline(CURVE_POINTS, x, y);
        legend_add(&l, r->series[i].name, color_of(i), 1, NULL);
        if (s->pgd) {
            for (int k = 0; k < CURVE_POINTS; k++) y[k] = 100 * report_pgd_robust_at(s, x[k]);
            pllsty(2);
            plline(CURVE_POINTS, x, y);
            char t[160];
            snprintf(t, sizeof t, "%s: PGD", r->series[i].name);
            legend_add(&l, t, color_of(i), 2, NULL);
        }
    }
    pllsty(1);
    plwidth(1.0);
    legend_draw(&l, PL_POSITION_TOP | PL_POSITION_RIGHT);
}

#define BINS 30

static void plot_histogram(const report *r, const char *path)
{
    double xmax = upper_of(r, 0), width = xmax / BINS;
    double counts[64][BINS];
    size_t ns = r->n_series < 64 ? r->n_series : 64;
    double ymax = 1;
    for (size_t i = 0; i < ns; i++) {
        const report_stats *s = &r->series[i].st;
        memset(counts[i], 0, sizeof counts[i]);
        for (size_t j = 0; j < s->images; j++) {
            if (s->state[j] != REPORT_SCORED) continue;
            int b = (int)(s->radius[j] / width);
            counts[i][b < 0 ? 0 : b >= BINS ? BINS - 1 : b]++;
        }
        for (int b = 0; b < BINS; b++) ymax = fmax(ymax, counts[i][b]);
    }
    begin(path);
    set_colors(0.30);  /* translucent fills, so overlapping series stay visible */
    char xl[96];
    snprintf(xl, sizeof xl, "certified radius (%s)", norm_words(r));
    axes(0, xmax, 0, ymax * 1.1, xl, "images", "Certified radius of the correctly classified images");
    legend l = {0};
    for (size_t i = 0; i < ns; i++) {
        plcol0(color_of(i));
        for (int b = 0; b < BINS; b++) {
            if (!counts[i][b]) continue;
            double px[4] = {b * width, (b + 1) * width, (b + 1) * width, b * width};
            double py[4] = {0, 0, counts[i][b], counts[i][b]};
            plfill(4, px, py);
        }
        /* outline as a step line, opaque */
        double sx[2 * BINS + 2], sy[2 * BINS + 2];
        int m = 0;
        sx[m] = 0, sy[m++] = 0;
        for (int b = 0; b < BINS; b++) {
            sx[m] = b * width, sy[m++] = counts[i][b];
            sx[m] = (b + 1) * width, sy[m++] = counts[i][b];
        }
        sx[m] = BINS * width, sy[m++] = 0;
        int c = color_of(i) - FIRST_SERIES_COLOR;
        plscol0a(color_of(i), palette[c][0], palette[c][1], palette[c][2], 1.0);
        plcol0(color_of(i));
        plwidth(2.0);
        plline(m, sx, sy);
        plscol0a(color_of(i), palette[c][0], palette[c][1], palette[c][2], 0.30);
        legend_add(&l, r->series[i].name, color_of(i), 1, NULL);
    }
    set_colors(1.0);
    legend_draw(&l, PL_POSITION_TOP | PL_POSITION_RIGHT);
}

static void plot_vs_pgd(const report *r, const char *path)
{
    double m = upper_of(r, 1);
    begin(path);
    char xl[96], yl[96];
    snprintf(xl, sizeof xl, "certified radius, a lower bound (%s)", norm_words(r));
    snprintf(yl, sizeof yl, "PGD smallest ε, an upper bound (%s)", norm_words(r));
    axes(0, m, 0, m, xl, yl, "Certified radius vs PGD upper bound, per image");
    double dx[2] = {0, m}, dy[2] = {0, m};
    plcol0(1);
    pllsty(3);
    plline(2, dx, dy);
    pllsty(1);
    legend l = {0};
    legend_add(&l, "y = x: a point below is an unsound certificate", 1, 3, NULL);
    size_t bad = 0;
    for (size_t i = 0; i < r->n_series; i++) {
        const report_stats *s = &r->series[i].st;
        if (!s->pgd) continue;
        double *x = malloc((s->images + 1) * sizeof *x), *y = malloc((s->images + 1) * sizeof *y);
        if (!x || !y) {
            free(x), free(y);
            continue;
        }
        int n = 0, nb = 0;
        for (size_t j = 0; j < s->images; j++)
            if (s->state[j] == REPORT_SCORED && isfinite(s->pgd[j])) x[n] = s->radius[j], y[n++] = s->pgd[j];
        plcol0(color_of(i));
        plschr(0, 0.9);
        plstring(n, x, y, "●");
        for (int j = 0; j < n; j++)
            if (y[j] <= x[j] && x[j] > 0) x[nb] = x[j], y[nb++] = y[j];
        if (nb) {
            plcol0(3);
            plschr(0, 1.6);
            plstring(nb, x, y, "✕");
            bad += (size_t)nb;
        }
        plschr(0, 1.15);
        legend_add(&l, r->series[i].name, color_of(i), 1, "●");
        free(x), free(y);
    }
    if (bad) legend_add(&l, "UNSOUND: PGD below the certified radius", 3, 1, "✕");
    legend_draw(&l, PL_POSITION_TOP | PL_POSITION_LEFT);
}

static void plot_time(const report *r, const char *path)
{
    double xmax = upper_of(r, 0), ymax = 0;
    for (size_t i = 0; i < r->n_series; i++)
        for (size_t k = 0; k < r->series[i].n_files; k++) {
            const report_file *f = &r->files[r->series[i].files[k]];
            for (size_t j = 0; j < f->n; j++)
                if (f->status[j] <= 1) ymax = fmax(ymax, f->seconds[j]);
        }
    /* small models take milliseconds per task: label in the unit that reads */
    double unit = ymax < 1 ? 1000 : 1;
    begin(path);
    char xl[96];
    snprintf(xl, sizeof xl, "certified radius (%s)", norm_words(r));
    axes(0, xmax, 0, ymax > 0 ? ymax * unit * 1.1 : 1, xl, unit > 1 ? "milliseconds per task" : "seconds per task",
         "Time per task (radius search) against its certified radius");
    legend l = {0};
    for (size_t i = 0; i < r->n_series; i++) {
        plcol0(color_of(i));
        plschr(0, 0.9);
        for (size_t k = 0; k < r->series[i].n_files; k++) {
            const report_file *f = &r->files[r->series[i].files[k]];
            double *x = malloc((f->n + 1) * sizeof *x), *y = malloc((f->n + 1) * sizeof *y);
            int n = 0;
            for (size_t j = 0; x && y && j < f->n; j++)
                if (f->status[j] <= 1) x[n] = f->radius[j], y[n++] = f->seconds[j] * unit;
            if (n) plstring(n, x, y, "●");
            free(x), free(y);
        }
        plschr(0, 1.15);
        legend_add(&l, r->series[i].name, color_of(i), 1, "●");
    }
    legend_draw(&l, PL_POSITION_TOP | PL_POSITION_RIGHT);
}

int report_plot(report *r, const char *dir, nn_error *err)
{
    if (!have_device("pngcairo"))
        return nn_fail(err, NN_EIO, "PLplot has no pngcairo device: install the Debian package plplot-driver-cairo");
    static const char *const names[4] = {"certified_accuracy.png", "radius_histogram.png", "radius_vs_pgd.png",
                                         "time_vs_radius.png"};
    int any_pgd = 0;
    for (size_t i = 0; i < r->n_series; i++) any_pgd |= r->series[i].st.pgd != NULL;
    for (int p = 0; p < 4; p++) {
        free(r->plots[p]);
        r->plots[p] = NULL;
        if (p == 2 && !any_pgd) continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[p]);
        plot_error[0] = '\0';
        if (p == 0) plot_accuracy(r, path);
        else if (p == 1) plot_histogram(r, path);
        else if (p == 2) plot_vs_pgd(r, path);
        else plot_time(r, path);
        int rc = end(path, err);
        if (rc) return rc;
        if (!(r->plots[p] = strdup(names[p]))) return nn_fail(err, NN_ENOMEM, "out of memory");
    }
    return NN_OK;
}
