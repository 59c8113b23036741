/* Job descriptions: INI files through inih, command-line overrides, typed values.
 *
 * inih does not tell its handler the line number (Debian builds it without
 * INI_HANDLER_LINENO), so the file is fed through ini_parse_stream with a reader
 * that counts lines: inih calls the handler for a key right after reading its
 * line, so the count is the key's line. The first error wins and nothing of a
 * bad file is kept. Values are type-checked as they are set, so a wrong type is
 * reported with its line before any work starts; domain checks (is this a
 * method name?) are the caller's, through job_fail, which names the origin. */
#include "job.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>

#define LIST_MAX 100000000L  /* values a list may expand to */

int job_init(job *j, const job_key *schema, int n_keys, nn_error *err)
{
    memset(j, 0, sizeof *j);
    j->schema = schema;
    j->n_keys = n_keys;
    j->value = nn_calloc((size_t)n_keys, sizeof *j->value, "job values", err);
    j->origin = nn_calloc((size_t)n_keys, sizeof *j->origin, "job values", err);
    if (!j->value || !j->origin) {
        job_free(j);
        return NN_ENOMEM;
    }
    return NN_OK;
}

void job_free(job *j)
{
    if (!j) return;
    for (int i = 0; i < j->n_keys; i++) {
        if (j->value) free(j->value[i]);
        if (j->origin) free(j->origin[i]);
    }
    free(j->value);
    free(j->origin);
    free(j->file);
    memset(j, 0, sizeof *j);
}

int job_find(const job *j, const char *key)
{
    for (int i = 0; i < j->n_keys; i++)
        if (!strcmp(j->schema[i].key, key)) return i;
    return -1;
}

static const char *type_name(job_type t)
{
    switch (t) {
    case JOB_INT: return "an integer";
    case JOB_REAL: return "a number";
    case JOB_BOOL: return "true or false";
    case JOB_LIST: return "a list of indices like '0-9, 17'";
    case JOB_SELECT: return "'all' or a list of indices like '0-9, 17'";
    default: return "text";
    }
}

static int parse_long(const char *s, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    while (end && isspace((unsigned char)*end)) end++;
    if (errno || end == s || *end) return -1;
    *out = v;
    return 0;
}

static int parse_bool(const char *s, int *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1"}, *const no[] = {"false", "no", "off", "0"};
    for (int i = 0; i < 4; i++) {
        if (!strcasecmp(s, yes[i])) return *out = 1, 0;
        if (!strcasecmp(s, no[i])) return *out = 0, 0;
    }
    return -1;
}

static int parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    while (end && isspace((unsigned char)*end)) end++;
    if (errno || end == s || *end || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

/* Walks "a, b-c, ..."; calls add for each range unless add is NULL. */
static int parse_list(const char *s, long *n_total, int (*add)(void *, long, long), void *ctx)
{
    *n_total = 0;
    const char *p = s;
    while (*p) {
        while (isspace((unsigned char)*p)) p++;
        char *end;
        errno = 0;
        long a = strtol(p, &end, 10), b = a;
        if (errno || end == p || a < 0) return -1;
        p = end;
        while (isspace((unsigned char)*p)) p++;
        if (*p == '-') {
            p++;
            errno = 0;
            b = strtol(p, &end, 10);
            if (errno || end == p || b < a) return -1;
            p = end;
        }
        if (b - a >= LIST_MAX - *n_total) return -1;  /* b - a + 1 > ..., without overflow at b = LONG_MAX */
        *n_total += b - a + 1;
        if (add && add(ctx, a, b)) return -1;
        while (isspace((unsigned char)*p)) p++;
        if (*p == ',') {  /* a trailing comma is fine: "1, 2," before a continuation line */
            p++;
            while (isspace((unsigned char)*p)) p++;
        } else if (*p) {
            return -1;
        }
    }
    return 0;
}

static int check_type(const job_key *k, const char *v)
{
    long l;
    double d;
    int b;
    if (!*v) return -1;
    switch (k->type) {
    case JOB_INT: return parse_long(v, &l);
    case JOB_REAL: return parse_double(v, &d);
    case JOB_BOOL: return parse_bool(v, &b);
    case JOB_LIST: return parse_list(v, &l, NULL, NULL);
    case JOB_SELECT: return strcmp(v, "all") ? parse_list(v, &l, NULL, NULL) : 0;
    default: return 0;
    }
}

/* Why job_text could not write value back so that loading it gives it again
 * (inih's line limit and comment rules), or NULL. Jobs travel as their text:
 * to the worker ranks and into the results identity. */
static const char *unwritable(const char *key, const char *value)
{
    for (const char *line = value; line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        size_t n = strcspn(line, "\n");
        if (strlen(key) + n + 8 >= INI_MAX_LINE) return "a line of it is too long for a job file";
        size_t lead = strspn(line, " \t");
        if (lead < n && (line[lead] == ';' || line[lead] == '#')) return "a line of it starts with a comment character";
        for (size_t k = 1; k < n; k++)
            if (line[k] == ';' && (line[k - 1] == ' ' || line[k - 1] == '\t'))
                return "it holds ' ;', which starts a comment in a job file";
    }
    return NULL;
}

static int put(job *j, int i, const char *value, const char *origin, nn_error *err)
{
    char *v = strdup(value), *o = strdup(origin);
    if (!v || !o) {
        free(v);
        free(o);
        return nn_fail(err, NN_ENOMEM, "out of memory for job values");
    }
    free(j->value[i]);
    free(j->origin[i]);
    j->value[i] = v;
    j->origin[i] = o;
    return NN_OK;
}

int job_set(job *j, const char *key, const char *value, const char *origin, nn_error *err)
{
    int i = job_find(j, key);
    if (i < 0) return nn_fail(err, NN_EARG, "%s: unknown key '%s'", origin, key);
    if (check_type(&j->schema[i], value))
        return nn_fail(err, NN_EARG, "%s: key '%s': expected %s, got '%s'", origin, key, type_name(j->schema[i].type),
                       value);
    const char *why = unwritable(key, value);
    if (why) return nn_fail(err, NN_EARG, "%s: key '%s': %s", origin, key, why);
    return put(j, i, value, origin, err);
}

/* ---- INI reading ---- */

typedef struct {
    job *j;
    const char *name;     /* file name for messages */
    FILE *f;              /* file source, or */
    const char *text;     /* text source */
    int line;             /* lines read so far = line of the current handler call */
    int indented;         /* the current line starts with white space (a continuation) */
    int last_key;         /* key of the previous handler call, -1 if none */
    int *seen_line;       /* [n_keys] line where the key was set, 0 if not yet */
    nn_error *err;
    int failed;
} ini_ctx;

static int ctx_fail(ini_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int ctx_fail(ini_ctx *c, const char *fmt, ...)
{
    if (c->failed) return 0;
    c->failed = 1;
    char msg[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    nn_fail(c->err, NN_EARG, "%s:%d: %s", c->name, c->line, msg);
    return 0;
}

/* One line per call, as fgets would return it; a line that does not fit is an
 * error (inih would otherwise read its tail as a line of its own). */
static char *read_line(char *str, int num, void *stream)
{
    ini_ctx *c = stream;
    int n = 0, ch = 0;
    for (;;) {
        if (c->f) ch = fgetc(c->f);
        else ch = *c->text ? (unsigned char)*c->text++ : EOF;
        if (ch == EOF) break;
        if (n < num - 1) str[n] = (char)ch;
        n++;
        if (ch == '\n') break;
    }
    if (n == 0) return NULL;
    c->line++;
    c->indented = str[0] == ' ' || str[0] == '\t';
    if (n > num - 1) {
        ctx_fail(c, "line is longer than %d characters", num - 2);
        n = num - 1;
        str[n - 1] = '\n';
    }
    str[n] = '\0';
    return str;
}

static int on_pair(void *user, const char *section, const char *name, const char *value)
{
    ini_ctx *c = user;
    job *j = c->j;
    if (c->failed) return 0;
    int i = job_find(j, name);
    int section_known = 0;
    for (int k = 0; k < j->n_keys; k++) section_known |= !strcmp(j->schema[k].section, section);
    if (!section_known) {
        char list[400] = "";
        for (int k = 0; k < j->n_keys; k++) {
            int first = 1;
            for (int m = 0; m < k; m++) first &= strcmp(j->schema[m].section, j->schema[k].section) != 0;
            if (first && strlen(list) + strlen(j->schema[k].section) + 4 < sizeof list) {
                if (list[0]) strcat(list, ", ");
                strcat(list, "[");
                strcat(list, j->schema[k].section);
                strcat(list, "]");
            }
        }
        if (!*section) return ctx_fail(c, "key '%s' is outside any section (expected one of %s)", name, list);
        return ctx_fail(c, "unknown section [%s] (expected one of %s)", section, list);
    }
    if (i < 0) return ctx_fail(c, "unknown key '%s' in section [%s]", name, section);
    if (strcmp(j->schema[i].section, section))
        return ctx_fail(c, "key '%s' belongs in section [%s], not [%s]", name, j->schema[i].section, section);
    if (c->indented && i == c->last_key && j->value[i]) {
        /* an indented line continues the value above it */
        size_t a = strlen(j->value[i]), b = strlen(value);
        char *v = realloc(j->value[i], a + b + 2);
        if (!v) return ctx_fail(c, "out of memory");
        v[a] = '\n';
        memcpy(v + a + 1, value, b + 1);
        j->value[i] = v;
        if (check_type(&j->schema[i], v))
            return ctx_fail(c, "key '%s': expected %s, got '%s'", name, type_name(j->schema[i].type), value);
        return 1;
    }
    c->last_key = i;
    if (c->seen_line[i]) return ctx_fail(c, "key '%s' given twice (first at line %d)", name, c->seen_line[i]);
    c->seen_line[i] = c->line;
    if (check_type(&j->schema[i], value))
        return ctx_fail(c, "key '%s': expected %s, got '%s'", name, type_name(j->schema[i].type), value);
    char origin[600];
    snprintf(origin, sizeof origin, "%s:%d", c->name, c->line);
    if (put(j, i, value, origin, c->err)) {
        c->failed = 1;
        return 0;
    }
    return 1;
}

static int load(job *j, ini_ctx *c)
{
    job staged;
    int rc = job_init(&staged, j->schema, j->n_keys, c->err);
    if (rc) return rc;
    c->seen_line = calloc((size_t)j->n_keys, sizeof *c->seen_line);
    if (!c->seen_line) {
        job_free(&staged);
        return nn_fail(c->err, NN_ENOMEM, "out of memory reading %s", c->name);
    }
    c->j = &staged;
    int line = ini_parse_stream(read_line, c, on_pair, c);
    if (!c->failed && line > 0) {
        c->line = line;
        ctx_fail(c, "syntax error (expected '[section]', 'key = value' or a comment)");
    } else if (!c->failed && line < 0) {
        nn_fail(c->err, NN_ENOMEM, "%s: out of memory while parsing", c->name);
        c->failed = 1;
    }
    free(c->seen_line);
    if (c->failed) {
        job_free(&staged);
        return c->err ? (int)c->err->code : NN_EARG;
    }
    for (int i = 0; i < j->n_keys; i++) {
        const char *why = staged.value[i] ? unwritable(j->schema[i].key, staged.value[i]) : NULL;
        if (why) {
            nn_fail(c->err, NN_EARG, "%s: key '%s': %s", staged.origin[i], j->schema[i].key, why);
            job_free(&staged);
            return NN_EARG;
        }
    }
    /* Commit: the file's values, under any values set before. */
    for (int i = 0; i < j->n_keys; i++)
        if (staged.value[i] && !j->value[i]) {
            j->value[i] = staged.value[i], j->origin[i] = staged.origin[i];
            staged.value[i] = staged.origin[i] = NULL;
        }
    job_free(&staged);
    return NN_OK;
}

int job_load_ini(job *j, const char *path, nn_error *err)
{
    FILE *f = fopen(path, "r");
    if (!f) return nn_fail(err, NN_EIO, "%s: cannot open the config file: %s", path, strerror(errno));
    ini_ctx c = {.name = path, .f = f, .err = err, .last_key = -1};
    int rc = load(j, &c);
    fclose(f);
    if (!rc) {
        free(j->file);
        if (!(j->file = strdup(path))) return nn_fail(err, NN_ENOMEM, "out of memory");
    }
    return rc;
}

int job_load_text(job *j, const char *text, const char *name, nn_error *err)
{
    ini_ctx c = {.name = name, .text = text, .err = err, .last_key = -1};
    return load(j, &c);
}

/* ---- values ---- */

const char *job_value(const job *j, const char *key)
{
    int i = job_find(j, key);
    if (i < 0) return NULL;
    return j->value[i] ? j->value[i] : j->schema[i].def;
}

int job_is_set(const job *j, const char *key)
{
    int i = job_find(j, key);
    return i >= 0 && j->value[i] != NULL;
}

int job_fail(const job *j, const char *key, nn_error *err, nn_code code, const char *fmt, ...)
{
    int i = job_find(j, key);
    const char *origin = i >= 0 && j->origin[i] ? j->origin[i] : "default";
    char msg[800];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return nn_fail(err, code, "%s: key '%s': %s", origin, key, msg);
}

static const char *typed(const job *j, const char *key, job_type t, nn_error *err)
{
    int i = job_find(j, key);
    if (i < 0 || j->schema[i].type != t) {
        nn_fail(err, NN_EARG, "job: key '%s' is not a key of type %s in the schema", key, type_name(t));
        return NULL;
    }
    const char *v = job_value(j, key);
    if (!v) nn_fail(err, NN_EARG, "key '%s' is required (in section [%s])", key, j->schema[i].section);
    return v;
}

int job_get_long(const job *j, const char *key, long lo, long hi, long *out, nn_error *err)
{
    const char *v = typed(j, key, JOB_INT, err);
    if (!v) return NN_EARG;
    long l;
    if (parse_long(v, &l)) return job_fail(j, key, err, NN_EARG, "expected an integer, got '%s'", v);
    if (l < lo || l > hi) return job_fail(j, key, err, NN_EARG, "%ld is outside [%ld, %ld]", l, lo, hi);
    *out = l;
    return NN_OK;
}

int job_get_double(const job *j, const char *key, double *out, nn_error *err)
{
    const char *v = typed(j, key, JOB_REAL, err);
    if (!v) return NN_EARG;
    if (parse_double(v, out)) return job_fail(j, key, err, NN_EARG, "expected a finite number, got '%s'", v);
    return NN_OK;
}

int job_get_bool(const job *j, const char *key, int *out, nn_error *err)
{
    const char *v = typed(j, key, JOB_BOOL, err);
    if (!v) return NN_EARG;
    if (parse_bool(v, out)) return job_fail(j, key, err, NN_EARG, "expected true or false, got '%s'", v);
    return NN_OK;
}

typedef struct {
    long *v;
    size_t n;
} list_acc;

static int list_add(void *ctx, long a, long b)
{
    list_acc *acc = ctx;
    for (long x = a; x <= b; x++) acc->v[acc->n++] = x;
    return 0;
}

static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

static int get_list(const job *j, const char *key, const char *v, long **vals, size_t *n, nn_error *err)
{
    long total;
    if (parse_list(v, &total, NULL, NULL)) return job_fail(j, key, err, NN_EARG, "expected %s, got '%s'",
                                                           type_name(j->schema[job_find(j, key)].type), v);
    list_acc acc = {nn_malloc((size_t)(total > 0 ? total : 1) * sizeof(long), "index list", err), 0};
    if (!acc.v) return NN_ENOMEM;
    parse_list(v, &total, list_add, &acc);
    qsort(acc.v, acc.n, sizeof *acc.v, cmp_long);
    size_t k = 0;
    for (size_t i = 0; i < acc.n; i++)
        if (k == 0 || acc.v[i] != acc.v[k - 1]) acc.v[k++] = acc.v[i];
    *vals = acc.v;
    *n = k;
    return NN_OK;
}

int job_get_list(const job *j, const char *key, long **vals, size_t *n, nn_error *err)
{
    *vals = NULL;
    *n = 0;
    const char *v = typed(j, key, JOB_LIST, err);
    return v ? get_list(j, key, v, vals, n, err) : NN_EARG;
}

int job_get_select(const job *j, const char *key, int *all, long **vals, size_t *n, nn_error *err)
{
    *all = 0;
    *vals = NULL;
    *n = 0;
    const char *v = typed(j, key, JOB_SELECT, err);
    if (!v) return NN_EARG;
    if (!strcmp(v, "all")) return *all = 1, NN_OK;
    return get_list(j, key, v, vals, n, err);
}

/* ---- canonical text ---- */

char *job_text(const job *j, int identity_only)
{
    size_t cap = 256;
    for (int i = 0; i < j->n_keys; i++) {
        const char *v = j->value[i] ? j->value[i] : j->schema[i].def;
        cap += strlen(j->schema[i].section) + strlen(j->schema[i].key) + (v ? 5 * strlen(v) : 0) + 16;
    }
    char *s = malloc(cap);
    if (!s) return NULL;
    size_t len = 0;
    s[0] = '\0';
    const char *section = NULL;
    /* sections in order of first appearance, keys in schema order within each */
    for (int i = 0; i < j->n_keys; i++) {
        int first = 1;
        for (int m = 0; m < i; m++) first &= strcmp(j->schema[m].section, j->schema[i].section) != 0;
        if (!first) continue;
        section = j->schema[i].section;
        int header = 0;
        for (int k = i; k < j->n_keys; k++) {
            if (strcmp(j->schema[k].section, section)) continue;
            if (identity_only && !j->schema[k].identity) continue;
            const char *v = j->value[k] ? j->value[k] : j->schema[k].def;
            if (!v) continue;
            if (!header) len += (size_t)sprintf(s + len, "%s[%s]\n", len ? "\n" : "", section), header = 1;
            len += (size_t)sprintf(s + len, "%s = ", j->schema[k].key);
            for (const char *p = v; *p; p++) {
                s[len++] = *p;
                if (*p == '\n') len += (size_t)sprintf(s + len, "    ");  /* continuation line */
            }
            s[len++] = '\n';
            s[len] = '\0';
        }
    }
    return s;
}

/* The value of "key = value" lines of text for key, or NULL. */
static const char *find_line(const char *text, const char *key, size_t key_len, size_t *len)
{
    for (const char *p = text; p && *p;) {
        const char *e = strchr(p, '\n');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n > key_len + 2 && !strncmp(p, key, key_len) && p[key_len] == ' ' && p[key_len + 1] == '=') {
            *len = n;
            return p;
        }
        p = e ? e + 1 : NULL;
    }
    return NULL;
}

void job_text_diff(const char *a, const char *b, char *out, size_t size)
{
    snprintf(out, size, "the job texts are equal");
    const char *texts[2] = {a, b};
    for (int side = 0; side < 2; side++)
        for (const char *p = texts[side]; p && *p;) {
            const char *e = strchr(p, '\n');
            size_t n = e ? (size_t)(e - p) : strlen(p);
            const char *eq = memchr(p, '=', n);
            if (eq && eq > p && p[0] != '[') {
                size_t key_len = (size_t)(eq - p - 1), m = 0;
                const char *q = find_line(texts[!side], p, key_len, &m);
                if (!q || m != n || strncmp(p, q, n)) {
                    const char *la = side ? q : p, *lb = side ? p : q;
                    size_t na = side ? m : n, nb = side ? n : m;
                    snprintf(out, size, "'%.*s' vs '%.*s'", la ? (int)na : 9, la ? la : "(not set)", lb ? (int)nb : 9,
                             lb ? lb : "(not set)");
                    return;
                }
            }
            p = e ? e + 1 : NULL;
        }
}
