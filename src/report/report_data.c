/* The report's inputs: certify results files and sweep manifests.
 *
 * Files are read through src/io (h5_read_attrs, h5_table_read), never by HDF5
 * directly. Every error names the file and says what is wrong with it, since a
 * report is often run over dozens of files and "cannot read" alone would send
 * the user searching. A manifest's runs without a results file are no error: a
 * sweep is reported while it is still running. */
#include "report.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "results_h5.h"

void report_init(report *r) { memset(r, 0, sizeof *r); }

static char *dup_or_empty(char *s) { return s ? s : strdup(""); }

void report_file_free(report_file *f)
{
    char **s[] = {&f->path,       &f->label,    &f->kind,       &f->model,    &f->model_sha256,
                  &f->data,       &f->method,   &f->norm,       &f->target,   &f->search,
                  &f->attack,     &f->start_time, &f->end_time, &f->git_commit, &f->ranks,
                  &f->runs};
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++) free(*s[i]);
    free(f->index), free(f->slot), free(f->status), free(f->evals);
    free(f->radius), free(f->seconds), free(f->pgd_eps), free(f->milp_eps), free(f->message);
    memset(f, 0, sizeof *f);
}

static char *label_of(const char *path)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    char *l = strdup(b);
    if (!l) return NULL;
    size_t n = strlen(l);
    if (n > 3 && !strcmp(l + n - 3, ".h5")) l[n - 3] = '\0';
    return l;
}

int report_file_load(report_file *f, const char *path, nn_error *err)
{
    memset(f, 0, sizeof *f);
    if (access(path, R_OK))
        return nn_fail(err, NN_EIO, "%s: cannot read the results file: %s", path, strerror(errno));
    static const char *const keys[] = {"kind",   "model",      "model_sha256", "data",     "method",
                                       "norm",   "target",     "search",       "attack",   "start_time",
                                       "end_time", "git_commit", "ranks",      "runs"};
    enum { N_KEYS = sizeof keys / sizeof keys[0] };
    char *v[N_KEYS];
    int rc = h5_read_attrs(path, keys, N_KEYS, v, err);
    if (rc) return nn_fail(err, NN_EFORMAT, "%s: not an HDF5 file (a certify results file is HDF5)", path);
    char **dst[N_KEYS] = {&f->kind,   &f->model,      &f->model_sha256, &f->data,     &f->method,
                          &f->norm,   &f->target,     &f->search,       &f->attack,   &f->start_time,
                          &f->end_time, &f->git_commit, &f->ranks,      &f->runs};
    for (int i = 0; i < N_KEYS; i++) *dst[i] = dup_or_empty(v[i]);
    f->path = strdup(path);
    f->label = label_of(path);
    for (int i = 0; i < N_KEYS; i++)
        if (!*dst[i]) rc = NN_ENOMEM;
    if (rc || !f->path || !f->label) {
        report_file_free(f);
        return nn_fail(err, NN_ENOMEM, "%s: out of memory", path);
    }
    if (strcmp(f->kind, "certify")) {
        if (f->kind[0])
            nn_fail(err, NN_EFORMAT, "%s: not a certify results file: its kind is '%s' (nncert report reads the "
                                     "files of nncert certify)", path, f->kind);
        else
            nn_fail(err, NN_EFORMAT, "%s: not an nncert certify results file: no 'kind' attribute and no "
                                     "/results table of certify", path);
        report_file_free(f);
        return NN_EFORMAT;
    }
    const h5_column cols[] = {{"index", H5COL_INT, 1},    {"slot", H5COL_INT, 1},       {"status", H5COL_INT, 1},
                              {"evals", H5COL_INT, 1},    {"radius", H5COL_DOUBLE, 1},  {"seconds", H5COL_DOUBLE, 1},
                              {"message", H5COL_STRING, REPORT_MSG}, {"pgd_eps", H5COL_DOUBLE, 1}};
    int n_cols = h5_table_has(path, "pgd_eps") ? 8 : 7;
    void *data[8] = {0};
    char *dummy = NULL;
    rc = h5_table_read(path, "kind", &dummy, cols, n_cols, data, &f->n, err);
    free(dummy);
    if (rc) {
        char msg[sizeof err->msg];
        snprintf(msg, sizeof msg, "%s", err->msg);
        report_file_free(f);
        return nn_fail(err, NN_EFORMAT, "not a complete certify results file: %s", msg);
    }
    f->index = data[0], f->slot = data[1], f->status = data[2], f->evals = data[3];
    f->radius = data[4], f->seconds = data[5], f->message = data[6];
    f->pgd_eps = n_cols > 7 ? data[7] : NULL;
    if (h5_table_has(path, "milp_eps")) {  /* certify --method milp (doc/lp.md "Counterexamples") */
        const h5_column mc[] = {{"milp_eps", H5COL_DOUBLE, 1}};
        void *md[1] = {NULL};
        size_t mn = 0;
        rc = h5_table_read(path, "kind", &dummy, mc, 1, md, &mn, err);
        free(dummy);
        f->milp_eps = md[0];
        if (!rc && mn != f->n) rc = nn_fail(err, NN_EFORMAT, "%s: /results/milp_eps has %zu rows, /results/index %zu",
                                            path, mn, f->n);
        if (rc) {
            report_file_free(f);
            return NN_EFORMAT;
        }
    }
    for (size_t i = 0; i < f->n; i++) {
        f->message[i * REPORT_MSG + REPORT_MSG - 1] = '\0';
        if (f->status[i] < 0 || f->status[i] > 4) {
            long long st = (long long)f->status[i];
            report_file_free(f);
            return nn_fail(err, NN_EFORMAT, "%s: /results/status row %zu is %lld (expected 0..4)", path, i, st);
        }
    }
    return NN_OK;
}

static int grow(void **p, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap) return 0;
    size_t c = *cap ? 2 * *cap : 8;
    void *q = realloc(*p, c * elem);
    if (!q) return -1;
    *p = q, *cap = c;
    return 0;
}

static int push_file(report *r, const char *path, nn_error *err)
{
    report_file f;
    int rc = report_file_load(&f, path, err);
    if (rc) return rc;
    report_file *p = realloc(r->files, (r->n_files + 1) * sizeof *p);
    if (!p) {
        report_file_free(&f);
        return nn_fail(err, NN_ENOMEM, "out of memory");
    }
    r->files = p;
    r->files[r->n_files++] = f;
    return NN_OK;
}

static int push_series(report *r, const char *name, nn_error *err)
{
    report_series *p = realloc(r->series, (r->n_series + 1) * sizeof *p);
    if (!p) return nn_fail(err, NN_ENOMEM, "out of memory");
    r->series = p;
    report_series *s = &r->series[r->n_series];
    memset(s, 0, sizeof *s);
    if (!(s->name = strdup(name))) return nn_fail(err, NN_ENOMEM, "out of memory");
    r->n_series++;
    return NN_OK;
}

static int series_add(report_series *s, int file, nn_error *err)
{
    int *p = realloc(s->files, (s->n_files + 1) * sizeof *p);
    if (!p) return nn_fail(err, NN_ENOMEM, "out of memory");
    s->files = p;
    s->files[s->n_files++] = file;
    return NN_OK;
}

int report_add_file(report *r, const char *path, nn_error *err)
{
    int rc = push_file(r, path, err);
    if (!rc) rc = push_series(r, r->files[r->n_files - 1].label, err);
    if (!rc) rc = series_add(&r->series[r->n_series - 1], (int)r->n_files - 1, err);
    return rc;
}

/* Split a manifest line at tabs into at most n fields (in place). */
static int fields(char *line, char **f, int n)
{
    int k = 0;
    line[strcspn(line, "\r\n")] = '\0';
    for (char *p = line; k < n; k++) {
        f[k] = p;
        char *t = strchr(p, '\t');
        if (!t) return k + 1;
        *t = '\0';
        p = t + 1;
    }
    return k;
}

int report_load_manifest(report *r, const char *path, nn_error *err)
{
    FILE *m = fopen(path, "r");
    if (!m) return nn_fail(err, NN_EIO, "%s: cannot read the manifest: %s", path, strerror(errno));
    if (!(r->manifest = strdup(path))) {
        fclose(m);
        return nn_fail(err, NN_ENOMEM, "out of memory");
    }
    char line[16384];
    int rc = NN_OK, lineno = 0;
    size_t cap = 0;
    static const char *const header[] = {"id", "config", "out", "model", "method", "norm", "start", "count"};
    while (!rc && fgets(line, sizeof line, m)) {
        lineno++;
        char *f[8];
        int n = fields(line, f, 8);
        if (lineno == 1) {
            for (int i = 0; !rc && i < 8; i++)
                if (n != 8 || strcmp(f[i], header[i]))
                    rc = nn_fail(err, NN_EFORMAT, "%s:1: not a sweep manifest (expected the header 'id config out "
                                                  "model method norm start count', tab-separated)", path);
            continue;
        }
        if (n == 1 && !f[0][0]) continue;
        if (n != 8) {
            rc = nn_fail(err, NN_EFORMAT, "%s:%d: %d fields where a run has 8", path, lineno, n);
            break;
        }
        if (grow((void **)&r->runs, &cap, r->n_runs, sizeof *r->runs)) {
            rc = nn_fail(err, NN_ENOMEM, "out of memory");
            break;
        }
        report_run *u = &r->runs[r->n_runs++];
        memset(u, 0, sizeof *u);
        u->file = -1;
        u->id = strdup(f[0]), u->out = strdup(f[2]), u->model = strdup(f[3]);
        u->method = strdup(f[4]), u->norm = strdup(f[5]);
        u->start = strtol(f[6], NULL, 10), u->count = strtol(f[7], NULL, 10);
        if (!u->id || !u->out || !u->model || !u->method || !u->norm) {
            rc = nn_fail(err, NN_ENOMEM, "out of memory");
            break;
        }
        if (access(u->out, F_OK)) continue;  /* not run yet */
        if ((rc = push_file(r, u->out, err))) {
            nn_error_prefix(err, "%s:%d: run %s: ", path, lineno, u->id);
            break;
        }
        u->file = (int)r->n_files - 1;
        /* its series: model, method, norm */
        char name[1024];
        const char *b = strrchr(u->model, '/');
        snprintf(name, sizeof name, "%s %s %s", b ? b + 1 : u->model, u->method, u->norm);
        size_t s = 0;
        while (s < r->n_series && strcmp(r->series[s].name, name)) s++;
        if (s == r->n_series && (rc = push_series(r, name, err))) break;
        rc = series_add(&r->series[s], u->file, err);
    }
    if (!rc && lineno == 0) rc = nn_fail(err, NN_EFORMAT, "%s: empty manifest", path);
    fclose(m);
    return rc;
}

int report_check_same_model(const report *r, nn_error *err)
{
    for (size_t i = 1; i < r->n_files; i++) {
        const report_file *a = &r->files[0], *b = &r->files[i];
        if (strcmp(a->model_sha256, b->model_sha256))
            return nn_fail(err, NN_EARG,
                           "%s: model %s (SHA-256 %.12s...) differs from %s's model %s (SHA-256 %.12s...): files of "
                           "different models are not compared side by side (report them separately, or a sweep "
                           "by --manifest)",
                           b->path, b->model, b->model_sha256, a->path, a->model, a->model_sha256);
        if (strcmp(a->data, b->data))
            return nn_fail(err, NN_EARG, "%s: data set '%s' differs from %s's '%s': the images are not the same",
                           b->path, b->data, a->path, a->data);
    }
    return NN_OK;
}

void report_free(report *r)
{
    for (size_t i = 0; i < r->n_files; i++) report_file_free(&r->files[i]);
    free(r->files);
    for (size_t i = 0; i < r->n_runs; i++) {
        report_run *u = &r->runs[i];
        free(u->id), free(u->out), free(u->model), free(u->method), free(u->norm);
    }
    free(r->runs);
    free(r->manifest);
    for (size_t i = 0; i < r->n_series; i++) {
        report_stats *s = &r->series[i].st;
        free(r->series[i].name), free(r->series[i].files);
        free(s->image), free(s->state), free(s->radius), free(s->pgd);
    }
    free(r->series);
    free(r->cmp);
    for (int i = 0; i < 4; i++) free(r->plots[i]);
    memset(r, 0, sizeof *r);
}
