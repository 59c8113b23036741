/* The report as Markdown and as one self-contained HTML page.
 *
 * Both are written by the same sequence of calls (heading, table, paragraph,
 * image) on a small writer that knows its format, so the two can never say
 * different things. The HTML page embeds its plots as base64 PNG (OpenSSL's
 * EVP_EncodeBlock) and its style sheet, so it can be mailed or attached as one
 * file; the Markdown links the PNG files next to it. Long per-image tables are
 * cut at ROW_LIMIT rows with a note saying so: the full data are in the results
 * files. */
#include "report.h"

#include <errno.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ROW_LIMIT 500

typedef struct {
    FILE *f;
    int html;
    const char *dir;
    int ncols;
    int failed;          /* an image could not be embedded */
    char why[4400];
} writer;

static void esc(writer *w, const char *s)
{
    for (; *s; s++) {
        if (w->html && *s == '<') fputs("&lt;", w->f);
        else if (w->html && *s == '>') fputs("&gt;", w->f);
        else if (w->html && *s == '&') fputs("&amp;", w->f);
        else if (w->html && *s == '"') fputs("&quot;", w->f);
        else if (!w->html && *s == '|') fputs("\\|", w->f);
        else if (*s == '\n') fputc(' ', w->f);
        else fputc(*s, w->f);
    }
}

static void heading(writer *w, int level, const char *text)
{
    if (w->html) {
        fprintf(w->f, "<h%d>", level);
        esc(w, text);
        fprintf(w->f, "</h%d>\n", level);
    } else {
        fprintf(w->f, "\n%.*s ", level, "######");
        esc(w, text);
        fputs("\n\n", w->f);
    }
}

/* A paragraph: text is trusted (no user strings), **bold** as in Markdown. */
static void para(writer *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void para(writer *w, const char *fmt, ...)
{
    char buf[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (!w->html) {
        fprintf(w->f, "%s\n\n", buf);
        return;
    }
    fputs("<p>", w->f);
    int bold = 0;
    for (const char *p = buf; *p; p++) {
        if (p[0] == '*' && p[1] == '*') {
            fputs(bold ? "</strong>" : "<strong>", w->f);
            bold = !bold;
            p++;
        } else if (*p == '`') {
            continue;
        } else {
            char c[2] = {*p, 0};
            esc(w, c);
        }
    }
    fputs("</p>\n", w->f);
}

static void table(writer *w, int ncols, const char *const *head)
{
    w->ncols = ncols;
    if (w->html) {
        fputs("<table>\n<tr>", w->f);
        for (int i = 0; i < ncols; i++) {
            fputs("<th>", w->f);
            esc(w, head[i]);
            fputs("</th>", w->f);
        }
        fputs("</tr>\n", w->f);
    } else {
        fputs("|", w->f);
        for (int i = 0; i < ncols; i++) fputc(' ', w->f), esc(w, head[i]), fputs(" |", w->f);
        fputs("\n|", w->f);
        for (int i = 0; i < ncols; i++) fputs(i ? "---:|" : "---|", w->f);
        fputc('\n', w->f);
    }
}

/* One row; cells[i] are user text (escaped). group: a row that heads a group. */
static void row(writer *w, const char *const *cells, int group)
{
    if (w->html) {
        fputs(group ? "<tr class=\"group\">" : "<tr>", w->f);
        for (int i = 0; i < w->ncols; i++) {
            fputs("<td>", w->f);
            esc(w, cells[i] ? cells[i] : "");
            fputs("</td>", w->f);
        }
        fputs("</tr>\n", w->f);
    } else {
        fputs("|", w->f);
        for (int i = 0; i < w->ncols; i++) {
            fputs(group && cells[i] && cells[i][0] ? " **" : " ", w->f);
            esc(w, cells[i] ? cells[i] : "");
            fputs(group && cells[i] && cells[i][0] ? "** |" : " |", w->f);
        }
        fputc('\n', w->f);
    }
}

static void table_end(writer *w) { fputs(w->html ? "</table>\n" : "\n", w->f); }

static void image(writer *w, const char *file, const char *caption)
{
    if (!file) return;
    if (!w->html) {
        fprintf(w->f, "![%s](%s)\n\n", caption, file);
        return;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", w->dir, file);
    FILE *f = fopen(path, "rb");
    unsigned char *raw = NULL, *b64 = NULL;
    long n = -1;
    if (f && !fseek(f, 0, SEEK_END) && (n = ftell(f)) > 0 && !fseek(f, 0, SEEK_SET) && (raw = malloc((size_t)n)) &&
        fread(raw, 1, (size_t)n, f) == (size_t)n && (b64 = malloc(4 * ((size_t)n + 2) / 3 + 4))) {
        EVP_EncodeBlock(b64, raw, (int)n);
        fprintf(w->f, "<figure><img alt=\"%s\" src=\"data:image/png;base64,%s\"><figcaption>%s</figcaption></figure>\n",
                caption, b64, caption);
    } else if (!w->failed) {
        w->failed = 1;
        snprintf(w->why, sizeof w->why, "%s: cannot read the plot to embed it", path);
    }
    if (f) fclose(f);
    free(raw), free(b64);
}

/* ---- formatting ---- */

static const char *num(char *buf, double v, const char *fmt)
{
    if (isnan(v)) return "–";
    snprintf(buf, 32, fmt, v);
    return buf;
}

static const char *pct(char *buf, double v) { return isnan(v) ? "–" : (snprintf(buf, 32, "%.1f%%", 100 * v), buf); }

static const char *count(char *buf, size_t v)
{
    snprintf(buf, 32, "%zu", v);
    return buf;
}

static const char *short_sha(char *buf, const char *sha)
{
    snprintf(buf, 32, "%.12s", sha);
    return buf;
}

static const char *norm_name_of(const char *n)
{
    return !strcmp(n, "inf") ? "ℓ∞" : !strcmp(n, "2") ? "ℓ2" : !strcmp(n, "1") ? "ℓ1" : n;
}

/* ---- sections ---- */

static void files_table(writer *w, const report *r)
{
    static const char *const head[] = {"file", "model", "SHA-256", "method", "norm", "target", "data",
                                       "ranks", "runs", "PGD", "start", "end"};
    table(w, 12, head);
    for (size_t i = 0; i < r->n_files; i++) {
        const report_file *f = &r->files[i];
        char sha[32];
        const char *c[] = {f->label,     f->model,  short_sha(sha, f->model_sha256), f->method, norm_name_of(f->norm),
                           f->target,    f->data,   f->ranks,   f->runs,  f->pgd_eps ? "yes" : "no",
                           f->start_time, f->end_time[0] ? f->end_time : "(not finished)"};
        row(w, c, 0);
    }
    table_end(w);
}

/* The numbers of one series as table cells (11 of them after the name). */
static void stats_cells(const report_series *se, char buf[][32], const char **c)
{
    const report_stats *s = &se->st;
    c[0] = se->name;
    c[1] = count(buf[1], s->images);
    c[2] = pct(buf[2], s->accuracy);
    c[3] = count(buf[3], s->certified);
    c[4] = num(buf[4], s->mean, "%.5g");
    c[5] = num(buf[5], s->q1, "%.5g");
    c[6] = num(buf[6], s->median, "%.5g");
    c[7] = num(buf[7], s->q3, "%.5g");
    c[8] = num(buf[8], s->max, "%.5g");
    c[9] = num(buf[9], s->sec_per_task, "%.4g");
    c[10] = num(buf[10], s->evals_per_task, "%.3g");
    c[11] = count(buf[11], s->failed);
}

static const char *const stats_head[] = {"", "images", "accuracy", "certified", "mean radius", "Q1", "median",
                                         "Q3", "max", "s / task", "evals / task", "failed"};

static void numbers_table(writer *w, const report *r)
{
    const char *head[12];
    memcpy(head, stats_head, sizeof head);
    head[0] = r->manifest ? "series (model method norm)" : "file";
    table(w, 12, head);
    for (size_t i = 0; i < r->n_series; i++) {
        char buf[12][32];
        const char *c[12];
        stats_cells(&r->series[i], buf, c);
        row(w, c, 0);
    }
    table_end(w);
}

/* Sweep: one row per run (missing ones too), grouped under their series. */
static void runs_table(writer *w, const report *r)
{
    static const char *const head[] = {"run", "images", "start", "count", "rows", "accuracy", "certified",
                                       "mean radius", "median", "s / task", "failed", "status"};
    table(w, 12, head);
    for (size_t g = 0; g <= r->n_series; g++) {
        /* group g < n_series: its runs; g == n_series: the runs without results */
        if (g < r->n_series) {
            const report_series *se = &r->series[g];
            char buf[12][32];
            const char *sc[12];
            stats_cells(se, buf, sc);
            const char *c[12] = {se->name, sc[1], "", "", count(buf[0], se->st.rows), sc[2], sc[3], sc[4], sc[6], sc[9],
                                 sc[11], "group"};
            row(w, c, 1);
        } else {
            int any = 0;
            for (size_t i = 0; i < r->n_runs; i++) any |= r->runs[i].file < 0;
            if (!any) break;
            const char *c[12] = {"runs without a results file yet", "", "", "", "", "", "", "", "", "", "", ""};
            row(w, c, 1);
        }
        for (size_t i = 0; i < r->n_runs; i++) {
            const report_run *u = &r->runs[i];
            int in = 0;
            if (g < r->n_series)
                for (size_t k = 0; k < r->series[g].n_files; k++) in |= r->series[g].files[k] == u->file;
            else in = u->file < 0;
            if (!in || (g < r->n_series && u->file < 0)) continue;
            char b[12][32];
            snprintf(b[2], 32, "%ld", u->start);
            snprintf(b[3], 32, "%ld", u->count);
            if (u->file < 0) {
                const char *c[12] = {u->id, "", b[2], b[3], "", "", "", "", "", "", "", "missing"};
                row(w, c, 0);
                continue;
            }
            /* the run's own numbers: a one-file series on the fly would need the
             * stats code; rows, certified and time are plain sums */
            const report_file *f = &r->files[u->file];
            size_t st[5] = {0};
            double sec = 0, sum = 0;
            for (size_t j = 0; j < f->n; j++) {
                st[f->status[j]]++;
                sec += f->seconds[j];
                if (f->status[j] <= 1) sum += f->radius[j];
            }
            size_t scored = st[0] + st[1];
            const char *c[12] = {u->id,
                                 "",
                                 b[2],
                                 b[3],
                                 count(b[4], f->n),
                                 f->n ? pct(b[5], (double)scored / (double)f->n) : "–",
                                 count(b[6], st[0]),
                                 scored ? num(b[7], sum / (double)scored, "%.5g") : "–",
                                 "",
                                 f->n ? num(b[9], sec / (double)f->n, "%.4g") : "–",
                                 count(b[10], st[3]),
                                 f->end_time[0] ? "done" : "running or stopped"};
            row(w, c, 0);
        }
    }
    table_end(w);
    para(w, "Rows of a run count tasks (one per image, or one per image and target with target = all); the group "
            "rows count images.");
}

static void accuracy_table(writer *w, const report *r)
{
    if (!r->n_eps) {
        para(w, "No image has a positive certified radius, so there is no eps to report certified accuracy at.");
        return;
    }
    const char *head[REPORT_MAX_EPS + 2];
    char eh[REPORT_MAX_EPS + 1][48];
    head[0] = r->manifest ? "series" : "file";
    snprintf(eh[0], sizeof eh[0], "clean accuracy");
    head[1] = eh[0];
    for (size_t k = 0; k < r->n_eps; k++) {
        snprintf(eh[k + 1], sizeof eh[k + 1], "ε = %g", r->eps[k]);
        head[k + 2] = eh[k + 1];
    }
    table(w, (int)r->n_eps + 2, head);
    int any_pgd = 0;
    for (size_t i = 0; i < r->n_series; i++) {
        const report_stats *s = &r->series[i].st;
        any_pgd |= s->pgd != NULL;
        char cell[REPORT_MAX_EPS + 1][64];
        const char *c[REPORT_MAX_EPS + 2];
        c[0] = r->series[i].name;
        snprintf(cell[0], sizeof cell[0], "%.1f%%", 100 * s->accuracy);
        c[1] = cell[0];
        for (size_t k = 0; k < r->n_eps; k++) {
            double a = report_certified_at(s, r->eps[k]), p = report_pgd_robust_at(s, r->eps[k]);
            if (s->pgd) snprintf(cell[k + 1], sizeof cell[k + 1], "%.1f%% (PGD ≤ %.1f%%)", 100 * a, 100 * p);
            else snprintf(cell[k + 1], sizeof cell[k + 1], "%.1f%%", 100 * a);
            c[k + 2] = cell[k + 1];
        }
        row(w, c, 0);
    }
    table_end(w);
    para(w, "Certified accuracy: images whose certified radius is at least ε, among all images (misclassified and "
            "failed images count as not certified). %s%s",
         any_pgd ? "In parentheses, PGD's upper bound on the robust accuracy: the correctly classified images PGD "
                   "could not break at ε. " : "",
         r->eps_chosen ? "The ε were chosen from the data: round values between the 10th and 90th percentile of the "
                         "positive radii (`--eps` sets them)." : "");
}

static void compare_table(writer *w, const report *r)
{
    if (!r->n_cmp) {
        para(w, "No two %s share a model, a norm and images, so there is no per-image comparison.",
             r->manifest ? "series" : "files");
        return;
    }
    static const char *const head[] = {"A", "B", "common images", "A larger", "B larger", "ties", "mean radius A / B"};
    table(w, 7, head);
    for (size_t i = 0; i < r->n_cmp; i++) {
        const report_compare *c = &r->cmp[i];
        char b[5][32];
        const char *cells[] = {r->series[c->a].name, r->series[c->b].name, count(b[0], c->common),
                               count(b[1], c->a_wins), count(b[2], c->b_wins), count(b[3], c->ties),
                               num(b[4], c->mean_ratio, "%.4f")};
        row(w, cells, 0);
    }
    table_end(w);
    para(w, "Per image, over the images both classify correctly: the larger certified radius wins; radii within "
            "1e-3 relative (the default search tolerance) tie. The mean ratio is over images where B's radius is "
            "positive.");
}

/* A certified row next to a checked MILP counterexample at or below its radius. */
static void milp_unsound_note(writer *w, const report *r)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n_series; i++) n += r->series[i].st.milp_unsound;
    if (n)
        para(w, "**UNSOUND: %zu certified rows have a MILP counterexample (milp_eps, a point checked by the exact "
                "forward pass) at or below their certified radius. A certificate was wrong: report it with the "
                "files.**", n);
}

static void pgd_section(writer *w, const report *r)
{
    int any = 0;
    for (size_t i = 0; i < r->n_series; i++) any |= r->series[i].st.pgd != NULL;
    if (!any) {
        para(w, "No file has PGD columns; run certify with `--attack pgd` to get the upper bound beside every "
                "certified radius.");
        return;
    }
    static const char *const head[] = {"", "attacked images", "PGD found", "median PGD ε",
                                       "mean certified / PGD", "unsound"};
    table(w, 6, head);
    size_t unsound = 0;
    for (size_t i = 0; i < r->n_series; i++) {
        const report_stats *s = &r->series[i].st;
        if (!s->pgd) continue;
        char b[5][32];
        const char *c[] = {r->series[i].name, count(b[0], s->scored), count(b[1], s->pgd_found),
                           num(b[2], s->pgd_median, "%.5g"), num(b[3], s->pgd_ratio_mean, "%.4f"),
                           count(b[4], s->unsound)};
        row(w, c, 0);
        unsound += s->unsound;
    }
    table_end(w);
    if (unsound)
        para(w, "**UNSOUND: %zu certified rows have a PGD counterexample at or below their certified radius. A "
                "certificate was wrong: report it with the files.**", unsound);
    para(w, "PGD's smallest ε at which it found a re-verified counterexample is an upper bound on each image's "
            "robust radius, the certified radius a lower bound; their ratio (1 = tight) measures how much the "
            "verifier leaves on the table.");
    /* per image */
    static const char *const ih[] = {"", "image", "certified radius", "PGD ε", "certified / PGD"};
    size_t shown = 0, total = 0;
    for (size_t i = 0; i < r->n_series; i++) total += r->series[i].st.pgd ? r->series[i].st.scored : 0;
    if (w->html) fprintf(w->f, "<details><summary>Per image (%zu)</summary>\n", total);
    else heading(w, 3, "Certified radius and PGD per image");
    table(w, 5, ih);
    for (size_t i = 0; i < r->n_series && shown < ROW_LIMIT; i++) {
        const report_stats *s = &r->series[i].st;
        for (size_t j = 0; s->pgd && j < s->images && shown < ROW_LIMIT; j++) {
            if (s->state[j] != REPORT_SCORED) continue;
            char b[4][32];
            snprintf(b[0], 32, "%lld", (long long)s->image[j]);
            const char *c[] = {r->series[i].name, b[0], num(b[1], s->radius[j], "%.6g"),
                               isfinite(s->pgd[j]) ? num(b[2], s->pgd[j], "%.6g") : "none found",
                               isfinite(s->pgd[j]) && s->pgd[j] > 0 ? num(b[3], s->radius[j] / s->pgd[j], "%.4f")
                                                                     : "–"};
            row(w, c, 0);
            shown++;
        }
    }
    table_end(w);
    if (shown < total) para(w, "(the first %d of %zu rows; the results files have them all)", ROW_LIMIT, total);
    if (w->html) fputs("</details>\n", w->f);
}

static void failures_section(writer *w, const report *r)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n_files; i++)
        for (size_t j = 0; j < r->files[i].n; j++) n += r->files[i].status[j] == 3;
    if (!n) {
        para(w, "No task failed.");
        return;
    }
    para(w, "%zu tasks failed; their reasons (first %d):", n, ROW_LIMIT);
    static const char *const head[] = {"file", "image", "slot", "reason"};
    table(w, 4, head);
    size_t shown = 0;
    for (size_t i = 0; i < r->n_files && shown < ROW_LIMIT; i++) {
        const report_file *f = &r->files[i];
        for (size_t j = 0; j < f->n && shown < ROW_LIMIT; j++) {
            if (f->status[j] != 3) continue;
            char b[2][32];
            snprintf(b[0], 32, "%lld", (long long)f->index[j]);
            snprintf(b[1], 32, "%lld", (long long)f->slot[j]);
            const char *c[] = {f->label, b[0], b[1], f->message + j * REPORT_MSG};
            row(w, c, 0);
            shown++;
        }
    }
    table_end(w);
}

static const char *const css =
    "body{font-family:'DejaVu Sans',Helvetica,Arial,sans-serif;margin:2em auto;max-width:1200px;color:#222}"
    "h1{font-size:1.6em}h2{margin-top:1.6em;border-bottom:1px solid #ccc}"
    "table{border-collapse:collapse;margin:0.6em 0;font-size:0.9em}"
    "th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f2f2f2}"
    "td:first-child,th:first-child{text-align:left}tr.group td{background:#eef3fa;font-weight:bold}"
    "figure{margin:1em 0}img{max-width:100%;border:1px solid #ddd}figcaption{color:#555;font-size:0.9em}";

static void document(writer *w, const report *r)
{
    char now[32];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(now, sizeof now, "%Y-%m-%d %H:%M UTC", &tm);
    if (w->html)
        fprintf(w->f, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>nncert report</title>"
                      "<style>%s</style></head><body>\n", css);
    heading(w, 1, "nncert report");
    if (r->manifest)
        para(w, "Sweep of manifest `%s`: %zu runs, %zu with results, in %zu series (model, method, norm). Written %s.",
             r->manifest, r->n_runs, r->n_files, r->n_series, now);
    else
        para(w, "%zu results file%s. Written %s.", r->n_files, r->n_files == 1 ? "" : "s", now);
    heading(w, 2, r->manifest ? "Runs" : "Results files");
    files_table(w, r);
    heading(w, 2, "Certified radius");
    numbers_table(w, r);
    para(w, "Accuracy: correctly classified images among all; certified: images with a positive certified radius; "
            "radius statistics over the correctly classified images (radius 0 when nothing was certified), "
            "quartiles interpolated linearly. Time and evaluations per task are over all rows.");
    if (r->manifest) {
        heading(w, 2, "Runs of the sweep");
        runs_table(w, r);
    }
    heading(w, 2, "Certified accuracy");
    accuracy_table(w, r);
    image(w, r->plots[0], "Certified accuracy against ε; dashed: the PGD upper bound");
    heading(w, 2, "Per-image comparison");
    compare_table(w, r);
    heading(w, 2, "PGD upper bounds");
    pgd_section(w, r);
    milp_unsound_note(w, r);
    image(w, r->plots[2], "Certified radius against the PGD upper bound, one point per image");
    heading(w, 2, "Distribution and cost");
    image(w, r->plots[1], "Histogram of the certified radii");
    image(w, r->plots[3], "Seconds per task against the certified radius");
    heading(w, 2, "Failures");
    failures_section(w, r);
    if (w->html) fputs("</body></html>\n", w->f);
}

int report_write(const report *r, const char *dir, nn_error *err)
{
    for (int html = 0; html < 2; html++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/report.%s", dir, html ? "html" : "md");
        writer w = {.f = fopen(path, "w"), .html = html, .dir = dir};
        if (!w.f) return nn_fail(err, NN_EIO, "%s: cannot write: %s", path, strerror(errno));
        document(&w, r);
        int bad = ferror(w.f);
        if (fclose(w.f) || bad) return nn_fail(err, NN_EIO, "%s: write failed: %s", path, strerror(errno));
        if (w.failed) return nn_fail(err, NN_EIO, "%s", w.why);
    }
    return NN_OK;
}
