/* VNN-LIB reader (see include/vnnlib.h; doc/formats.md "VNN-LIB properties").
 *
 * Three passes over the text. The tokenizer builds a tree of s-expressions in an
 * array (iteratively: the nesting depth is limited, never the C stack). The
 * commands are then read in order: declare-const (and declare-fun with no
 * arguments) of X_i / Y_i Real, assert; set-logic, set-info, set-option,
 * check-sat, get-model and exit are accepted and ignored. Each assert becomes a
 * formula in disjunctive normal form whose literals are atoms: a bound on one
 * input, a linear row over the outputs, or a constant. The asserts are conjoined,
 * and every disjunct finally becomes an (input box, output conjunction) pair,
 * with equal boxes and conjunctions shared.
 *
 * Terms are linear: numbers, variables, (+ ...), (- ...), (* c t), (/ t c).
 * Variable coefficients must come out exact in double (anything else is refused:
 * a rounded coefficient would change the half-space, in no safe direction). The
 * constant part carries a bound on its rounding error; bounds and right-hand
 * sides are rounded outward for the outer (proof) set and inward for the inner
 * (counterexample) set, and strict comparisons only tighten the inner set.
 */
#include "vnnlib.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

void vnnlib_limits_default(vnnlib_limits *lim)
{
    lim->max_bytes = (size_t)1 << 28;  /* the syntax tree takes up to 24 bytes per byte of text */
    lim->max_depth = 256;
    lim->max_cases = 100000;
    lim->max_refs = (size_t)1 << 26;
}

/* Inputs or outputs of one kind: a declaration beyond this is refused before
 * anything is allocated for it (a 30-byte file must not claim gigabytes). */
#define VNNLIB_MAX_VARS (1 << 24)

static double add_up(double a, double b) { return prop_add_dir(a, b, 1); }
static double add_down(double a, double b) { return prop_add_dir(a, b, -1); }
static double div_dir(double a, double b, int dir) { return prop_div_dir(a, b, dir); }

/* ---- s-expressions ---- */

typedef struct {
    int list;               /* 1: ( ... ), 0: a token */
    int line, col;
    size_t off, len;        /* token text */
    long first, next;       /* first child, next sibling (-1: none) */
} sx_node;

typedef struct {
    const char *text;
    size_t len;
    const char *name;
    const vnnlib_limits *lim;
    nn_error *err;
    sx_node *node;
    size_t n_node, cap_node;
    /* declarations: bit 1 declared */
    unsigned char *decl[2]; /* [0] X, [1] Y, by index */
    size_t n_decl[2], cap_decl[2];
    /* atoms */
    struct atom *atom;
    size_t n_atom, cap_atom;
    /* sparse linear parts of row atoms: (var, coef) pairs */
    size_t *lin_var;
    double *lin_coef;
    size_t n_lin, cap_lin;
} parser;

enum { ATOM_TRUE, ATOM_FALSE, ATOM_XUPPER, ATOM_XLOWER, ATOM_ROW };

typedef struct atom {
    int kind;
    int line, col;
    size_t var;             /* X bound: the input index */
    double outer, inner;    /* X bound: the bound; row: the right-hand side */
    size_t lin_start, lin_len; /* row: its Y coefficients in parser.lin_* */
} atom;

static int fail_at(parser *ps, int line, int col, nn_code code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int fail_at(parser *ps, int line, int col, nn_code code, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return nn_fail(ps->err, code, "%s:%d:%d: %s", ps->name, line, col, msg);
}

static int grow(void **p, size_t *cap, size_t need, size_t size, const char *what, nn_error *err)
{
    if (need <= *cap) return NN_OK;
    size_t c = *cap ? *cap : 16;
    while (c < need) c *= 2;
    void *q = realloc(*p, c * size);
    if (!q) return nn_fail(err, NN_ENOMEM, "out of memory for %s", what);
    *p = q;
    *cap = c;
    return NN_OK;
}

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

static int new_node(parser *ps, int list, int line, int col, size_t off, size_t len, long *id)
{
    if (grow((void **)&ps->node, &ps->cap_node, ps->n_node + 1, sizeof *ps->node, "VNN-LIB syntax tree", ps->err))
        return NN_ENOMEM;
    ps->node[ps->n_node] = (sx_node){list, line, col, off, len, -1, -1};
    *id = (long)ps->n_node++;
    return NN_OK;
}

/* Builds the tree; the root (node 0) is a list of the top-level commands. */
static int tokenize(parser *ps)
{
    size_t depth_cap = ps->lim->max_depth + 2;
    long *open = malloc(depth_cap * sizeof *open), *last = malloc(depth_cap * sizeof *last);
    int *oline = malloc(depth_cap * sizeof *oline), *ocol = malloc(depth_cap * sizeof *ocol);
    int rc = (!open || !last || !oline || !ocol) ? nn_fail(ps->err, NN_ENOMEM, "out of memory for the parser") : NN_OK;
    long root;
    if (!rc) rc = new_node(ps, 1, 1, 1, 0, 0, &root);
    size_t depth = 0;
    if (!rc) open[0] = root, last[0] = -1;
    int line = 1, col = 1;
    const char *t = ps->text;
    for (size_t i = 0; !rc && i < ps->len;) {
        char c = t[i];
        if (c == '\n') {
            line++, col = 1, i++;
            continue;
        }
        if (is_space(c)) {
            col++, i++;
            continue;
        }
        if (c == ';') {
            while (i < ps->len && t[i] != '\n') i++;
            continue;
        }
        long id = -1;
        if (c == '(') {
            if (depth + 1 > ps->lim->max_depth) {
                rc = fail_at(ps, line, col, NN_EUNSUPPORTED, "parentheses nested deeper than %zu levels",
                             ps->lim->max_depth);
                break;
            }
            if ((rc = new_node(ps, 1, line, col, i, 1, &id))) break;
        } else if (c == ')') {
            if (depth == 0) {
                rc = fail_at(ps, line, col, NN_EFORMAT, "unbalanced ')' with no '(' open");
                break;
            }
            depth--;
            col++, i++;
            continue;
        } else if (c == '\0') {
            rc = fail_at(ps, line, col, NN_EFORMAT, "NUL byte in the text (a binary file?)");
            break;
        } else if (c == '"' || c == '|') {
            rc = fail_at(ps, line, col, NN_EUNSUPPORTED, "quoted %s are not part of the VNN-LIB subset",
                         c == '"' ? "strings" : "symbols");
            break;
        } else {
            size_t j = i;
            while (j < ps->len && !is_space(t[j]) && t[j] != '(' && t[j] != ')' && t[j] != ';' && t[j] != '"' &&
                   t[j] != '|' && t[j] != '\0')
                j++;
            if ((rc = new_node(ps, 0, line, col, i, j - i, &id))) break;
        }
        /* link id as the last child of the innermost open list */
        if (last[depth] < 0) ps->node[open[depth]].first = id;
        else ps->node[last[depth]].next = id;
        last[depth] = id;
        if (ps->node[id].list) {
            depth++;
            open[depth] = id, last[depth] = -1, oline[depth] = line, ocol[depth] = col;
            col++, i++;
        } else {
            col += (int)ps->node[id].len;
            i += ps->node[id].len;
        }
    }
    if (!rc && depth > 0)
        rc = fail_at(ps, oline[depth], ocol[depth], NN_EFORMAT,
                     "'(' is never closed (%zu still open at the end: truncated file?)", depth);
    free(open), free(last), free(oline), free(ocol);
    return rc;
}

static int tok_is(const parser *ps, long id, const char *s)
{
    const sx_node *n = &ps->node[id];
    return !n->list && n->len == strlen(s) && !memcmp(ps->text + n->off, s, n->len);
}

static int n_children(const parser *ps, long id)
{
    int k = 0;
    for (long c = ps->node[id].first; c >= 0; c = ps->node[c].next) k++;
    return k;
}

static const char *tok_show(const parser *ps, long id, char *buf, size_t cap)
{
    const sx_node *n = &ps->node[id];
    if (n->list) return "(...)";
    size_t k = n->len < cap - 4 ? n->len : cap - 4;
    memcpy(buf, ps->text + n->off, k);
    strcpy(buf + k, n->len > k ? "..." : "");
    return buf;
}

/* ---- variables ---- */

/* X_i or Y_i: kind 0 / 1 and the index; 0 if the name has another form. */
static int var_name(const parser *ps, long id, int *kind, size_t *index)
{
    const sx_node *n = &ps->node[id];
    const char *s = ps->text + n->off;
    if (n->list || n->len < 3 || (s[0] != 'X' && s[0] != 'Y') || s[1] != '_') return 0;
    if (n->len > 12 || (s[2] == '0' && n->len > 3)) return 0;
    size_t v = 0;
    for (size_t k = 2; k < n->len; k++) {
        if (s[k] < '0' || s[k] > '9') return 0;
        v = v * 10 + (size_t)(s[k] - '0');
    }
    if (v > ((size_t)1 << 31)) return 0;
    *kind = s[0] == 'Y';
    *index = v;
    return 1;
}

static int declare(parser *ps, long cmd)
{
    const sx_node *c = &ps->node[cmd];
    long head = c->first, name = ps->node[head].next;
    int fun = tok_is(ps, head, "declare-fun");
    long type = name >= 0 ? ps->node[name].next : -1;
    if (fun && type >= 0) {
        /* (declare-fun X_0 () Real) */
        if (!ps->node[type].list || ps->node[type].first >= 0)
            return fail_at(ps, c->line, c->col, NN_EUNSUPPORTED, "declare-fun with arguments is not supported");
        type = ps->node[type].next;
    }
    if (name < 0 || type < 0 || ps->node[type].next >= 0)
        return fail_at(ps, c->line, c->col, NN_EFORMAT, "expected (declare-const NAME Real)");
    int kind;
    size_t index;
    char buf[64];
    if (!var_name(ps, name, &kind, &index))
        return fail_at(ps, ps->node[name].line, ps->node[name].col, NN_EUNSUPPORTED,
                       "variable '%s' is not named X_i or Y_i (inputs and outputs of the network)",
                       tok_show(ps, name, buf, sizeof buf));
    if (!tok_is(ps, type, "Real"))
        return fail_at(ps, ps->node[type].line, ps->node[type].col, NN_EUNSUPPORTED,
                       "variable %s has sort '%s'; only Real is supported", tok_show(ps, name, buf, sizeof buf),
                       tok_show(ps, type, buf + 32, 32));
    if (index >= VNNLIB_MAX_VARS)
        return fail_at(ps, ps->node[name].line, ps->node[name].col, NN_EUNSUPPORTED,
                       "variable %s: index beyond the limit of %d variables of a kind", tok_show(ps, name, buf, sizeof buf),
                       VNNLIB_MAX_VARS);
    if (grow((void **)&ps->decl[kind], &ps->cap_decl[kind], index + 1, 1, "declarations", ps->err)) return NN_ENOMEM;
    if (index >= ps->n_decl[kind]) {
        memset(ps->decl[kind] + ps->n_decl[kind], 0, index + 1 - ps->n_decl[kind]);
        ps->n_decl[kind] = index + 1;
    }
    if (ps->decl[kind][index])
        return fail_at(ps, ps->node[name].line, ps->node[name].col, NN_EFORMAT, "%s is declared twice",
                       tok_show(ps, name, buf, sizeof buf));
    ps->decl[kind][index] = 1;
    return NN_OK;
}

/* ---- linear terms ---- */

typedef struct {
    size_t n, cap;
    size_t *var;            /* 2 * index + kind (0: X, 1: Y) */
    double *coef;
    double c;               /* constant part */
    double c_err;           /* |true constant - c| <= c_err */
} lin;

static void lin_free(lin *a) { free(a->var), free(a->coef), memset(a, 0, sizeof *a); }

/* a += k * b for constant k; coefficients must stay exact. */
static int lin_axpy(parser *ps, const sx_node *at, lin *a, double k, const lin *b)
{
    for (size_t i = 0; i < b->n; i++) {
        double add = k * b->coef[i];
        if (fma(k, b->coef[i], -add) != 0 || !isfinite(add))
            return fail_at(ps, at->line, at->col, NN_EUNSUPPORTED,
                           "a variable's coefficient is not exactly representable after this arithmetic");
        size_t j = 0;
        while (j < a->n && a->var[j] != b->var[i]) j++;
        if (j == a->n) {
            if (grow((void **)&a->var, &a->cap, a->n + 1, sizeof *a->var, "terms", ps->err)) return NN_ENOMEM;
            double *q = realloc(a->coef, a->cap * sizeof *a->coef);
            if (!q) return nn_fail(ps->err, NN_ENOMEM, "out of memory for terms");
            a->coef = q;
            a->var[j] = b->var[i], a->coef[j] = 0.0;
            a->n++;
        }
        double s = a->coef[j] + add;
        if (prop_sum_err(a->coef[j], add, s) != 0 || !isfinite(s))
            return fail_at(ps, at->line, at->col, NN_EUNSUPPORTED,
                           "a variable's coefficient is not exactly representable after this arithmetic");
        a->coef[j] = s;
    }
    double kc = k * b->c, e1 = fabs(fma(k, b->c, -kc));
    double s = a->c + kc, e2 = fabs(prop_sum_err(a->c, kc, s));
    /* error bound, itself rounded up: |k| b_err + e1 + e2 + a_err */
    double e = add_up(add_up(add_up(a->c_err, fabs(k) * b->c_err * (1 + 0x1p-50)), e1), e2);
    if (!isfinite(s) || !isfinite(e))
        return fail_at(ps, at->line, at->col, NN_EVALUE, "the arithmetic overflows double precision");
    a->c = s;
    a->c_err = e;
    return NN_OK;
}

/* A decimal or scientific number: [-+]digits[.digits][e[-+]digits] or .digits. */
static int parse_number(parser *ps, long id, double *v, int *is_num)
{
    const sx_node *n = &ps->node[id];
    const char *s = ps->text + n->off;
    size_t i = 0, len = n->len, digits = 0;
    *is_num = 0;
    if (i < len && (s[i] == '-' || s[i] == '+')) i++;
    while (i < len && s[i] >= '0' && s[i] <= '9') i++, digits++;
    if (i < len && s[i] == '.') {
        i++;
        while (i < len && s[i] >= '0' && s[i] <= '9') i++, digits++;
    }
    if (digits == 0) {
        /* not a number; but name the non-finite spellings strtod would take */
        size_t k = (s[0] == '-' || s[0] == '+') ? 1 : 0;
        if (len - k >= 3 && (!strncasecmp(s + k, "nan", 3) || !strncasecmp(s + k, "inf", 3))) {
            char buf[64];
            return fail_at(ps, n->line, n->col, NN_EVALUE, "'%s' is not a finite number", tok_show(ps, id, buf, sizeof buf));
        }
        return NN_OK;
    }
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        size_t e = ++i;
        if (i < len && (s[i] == '-' || s[i] == '+')) i++, e++;
        while (i < len && s[i] >= '0' && s[i] <= '9') i++;
        if (i == e) i = len + 1; /* exponent without digits */
    }
    char buf[128];
    if (i != len || len >= sizeof buf)
        return fail_at(ps, n->line, n->col, NN_EFORMAT, "malformed number '%s'", tok_show(ps, id, buf, 64));
    memcpy(buf, s, len);
    buf[len] = '\0';
    errno = 0;
    double x = strtod(buf, NULL);
    if (!isfinite(x) || (errno == ERANGE && fabs(x) > 1))
        return fail_at(ps, n->line, n->col, NN_EVALUE, "number '%s' is out of the range of double precision", buf);
    *v = x;
    *is_num = 1;
    return NN_OK;
}

static int term(parser *ps, long id, lin *out);

/* Every argument of a list term from the second child on, as terms. */
static int term_args(parser *ps, long id, lin **args, int *n_args)
{
    int k = n_children(ps, id) - 1;
    *args = calloc((size_t)(k > 0 ? k : 1), sizeof **args);
    *n_args = k;
    if (!*args) return nn_fail(ps->err, NN_ENOMEM, "out of memory for terms");
    int i = 0, rc = NN_OK;
    for (long c = ps->node[ps->node[id].first].next; c >= 0 && !rc; c = ps->node[c].next) rc = term(ps, c, &(*args)[i++]);
    return rc;
}

static int term(parser *ps, long id, lin *out)
{
    memset(out, 0, sizeof *out);
    const sx_node *n = &ps->node[id];
    char buf[64];
    if (!n->list) {
        double v;
        int is_num, rc = parse_number(ps, id, &v, &is_num);
        if (rc) return rc;
        if (is_num) {
            out->c = v;
            return NN_OK;
        }
        int kind;
        size_t index;
        if (!var_name(ps, id, &kind, &index) || index >= ps->n_decl[kind] || !ps->decl[kind][index])
            return fail_at(ps, n->line, n->col, NN_EVALUE, "undeclared variable '%s'", tok_show(ps, id, buf, sizeof buf));
        size_t code = 2 * index + (size_t)kind;
        double unit = 1.0;
        lin one = {.n = 1, .cap = 1, .var = &code, .coef = &unit};
        return lin_axpy(ps, n, out, 1.0, &one);
    }
    long head = n->first;
    if (head < 0) return fail_at(ps, n->line, n->col, NN_EFORMAT, "empty term ()");
    if (ps->node[head].list)
        return fail_at(ps, n->line, n->col, NN_EUNSUPPORTED, "a term must start with an operator");
    lin *a = NULL;
    int k = 0, rc = term_args(ps, id, &a, &k);
    if (!rc && k == 0) rc = fail_at(ps, n->line, n->col, NN_EFORMAT, "operator '%s' without arguments",
                                    tok_show(ps, head, buf, sizeof buf));
    if (rc) goto done;
    if (tok_is(ps, head, "+")) {
        for (int i = 0; i < k && !rc; i++) rc = lin_axpy(ps, n, out, 1.0, &a[i]);
    } else if (tok_is(ps, head, "-")) {
        rc = lin_axpy(ps, n, out, k == 1 ? -1.0 : 1.0, &a[0]);
        for (int i = 1; i < k && !rc; i++) rc = lin_axpy(ps, n, out, -1.0, &a[i]);
    } else if (tok_is(ps, head, "*")) {
        /* all factors but at most one are constants */
        int var = -1;
        for (int i = 0; i < k && !rc; i++)
            if (a[i].n > 0) {
                if (var >= 0) rc = fail_at(ps, n->line, n->col, NN_EUNSUPPORTED,
                                           "non-linear term: a product of two terms with variables");
                var = i;
            }
        double prod = 1.0, perr = 0.0;  /* product of the constant factors and its error bound */
        for (int i = 0; i < k && !rc; i++) {
            if (i == var) continue;
            if (a[i].c_err > 0 || perr > 0) {
                /* (p + dp)(c + dc) - pc: |p| dc + |c| dp + dp dc, rounded up */
                perr = add_up(add_up(fabs(prod) * a[i].c_err * (1 + 0x1p-50), fabs(a[i].c) * perr * (1 + 0x1p-50)),
                              perr * a[i].c_err * (1 + 0x1p-50));
            }
            double p = prod * a[i].c;
            perr = add_up(perr, fabs(fma(prod, a[i].c, -p)));
            prod = p;
            if (!isfinite(prod) || !isfinite(perr))
                rc = fail_at(ps, n->line, n->col, NN_EVALUE, "the arithmetic overflows double precision");
        }
        if (!rc && var < 0) {
            out->c = prod, out->c_err = perr;
        } else if (!rc) {
            if (perr > 0)
                rc = fail_at(ps, n->line, n->col, NN_EUNSUPPORTED,
                             "a variable's coefficient is not exactly representable after this arithmetic");
            else rc = lin_axpy(ps, n, out, prod, &a[var]);
        }
    } else if (tok_is(ps, head, "/")) {
        if (k != 2 || a[1].n > 0)
            rc = fail_at(ps, n->line, n->col, NN_EUNSUPPORTED, "(/ t c) needs exactly a term and a constant divisor");
        else if (a[1].c == 0 || a[1].c_err > 0)
            rc = fail_at(ps, n->line, n->col, NN_EVALUE, "division by zero or by an inexact constant");
        else if (a[0].n > 0) {
            double inv = 1.0 / a[1].c;
            if (fma(inv, a[1].c, -1.0) != 0)
                rc = fail_at(ps, n->line, n->col, NN_EUNSUPPORTED,
                             "a variable's coefficient is not exactly representable after this arithmetic");
            else rc = lin_axpy(ps, n, out, inv, &a[0]);
        } else {
            /* q + rem / c1 is the exact quotient; the remainder is exact */
            double q = a[0].c / a[1].c, rem = fma(-q, a[1].c, a[0].c);
            double e = rem == 0 ? 0.0 : nextafter(fabs(rem / a[1].c), INFINITY);
            if (a[0].c_err > 0) e = add_up(e, nextafter(a[0].c_err / fabs(a[1].c), INFINITY));
            out->c = q;
            out->c_err = e;
            if (!isfinite(q)) rc = fail_at(ps, n->line, n->col, NN_EVALUE, "the arithmetic overflows double precision");
        }
    } else {
        rc = fail_at(ps, n->line, n->col, NN_EUNSUPPORTED,
                     "unsupported term operator '%s' (supported: + - * / on numbers and X_i, Y_i)",
                     tok_show(ps, head, buf, sizeof buf));
    }
done:
    for (int i = 0; i < k; i++) lin_free(&a[i]);
    free(a);
    if (rc) lin_free(out);
    return rc;
}

/* ---- atoms ---- */

static int add_atom(parser *ps, const atom *a, size_t *id)
{
    if (grow((void **)&ps->atom, &ps->cap_atom, ps->n_atom + 1, sizeof *ps->atom, "constraints", ps->err))
        return NN_ENOMEM;
    ps->atom[ps->n_atom] = *a;
    *id = ps->n_atom++;
    return NN_OK;
}

/* The atom for d <= 0 (strict: d < 0), d = sum coef var + c, at node at. */
static int make_atom(parser *ps, const sx_node *at, const lin *d, int strict, size_t *id)
{
    atom a = {.line = at->line, .col = at->col};
    size_t nv = 0, ny = 0, last = 0;
    for (size_t i = 0; i < d->n; i++)
        if (d->coef[i] != 0) {
            nv++, last = i;
            ny += d->var[i] & 1;
        }
    double n_hi = add_up(-d->c, d->c_err), n_lo = add_down(-d->c, -d->c_err); /* -c lies in [n_lo, n_hi] */
    if (nv == 0) {
        /* a constant comparison: true only if it holds for every value of the constant */
        if (n_lo > 0 || (n_lo == 0 && !strict && d->c_err == 0)) a.kind = ATOM_TRUE;
        else if (n_hi < 0 || (n_hi == 0 && strict)) a.kind = ATOM_FALSE;
        else return fail_at(ps, at->line, at->col, NN_EUNSUPPORTED,
                            "a comparison of constants that rounding leaves undecided");
    } else if (ny == 0 && nv == 1) {
        double k = d->coef[last];
        a.var = d->var[last] >> 1;
        if (k > 0) {
            a.kind = ATOM_XUPPER;
            a.outer = div_dir(n_hi, k, 1);
            a.inner = div_dir(n_lo, k, -1);
            if (strict) a.inner = nextafter(a.inner, -INFINITY);
        } else {
            a.kind = ATOM_XLOWER;
            a.outer = div_dir(n_hi, k, -1);
            a.inner = div_dir(n_lo, k, 1);
            if (strict) a.inner = nextafter(a.inner, INFINITY);
        }
    } else if (ny == 0) {
        return fail_at(ps, at->line, at->col, NN_EUNSUPPORTED,
                       "a constraint over several inputs is not a box bound (only X_i <= c, X_i >= c are supported)");
    } else if (ny != nv) {
        return fail_at(ps, at->line, at->col, NN_EUNSUPPORTED,
                       "a constraint mixing inputs X and outputs Y is not supported");
    } else {
        a.kind = ATOM_ROW;
        a.outer = n_hi;
        a.inner = strict ? nextafter(n_lo, -INFINITY) : n_lo;
        a.lin_start = ps->n_lin;
        a.lin_len = nv;
        if (grow((void **)&ps->lin_var, &ps->cap_lin, ps->n_lin + nv, sizeof *ps->lin_var, "constraints", ps->err))
            return NN_ENOMEM;
        double *q = realloc(ps->lin_coef, ps->cap_lin * sizeof *q);
        if (!q) return nn_fail(ps->err, NN_ENOMEM, "out of memory for constraints");
        ps->lin_coef = q;
        for (size_t i = 0; i < d->n; i++)
            if (d->coef[i] != 0) {
                ps->lin_var[ps->n_lin] = d->var[i] >> 1;
                ps->lin_coef[ps->n_lin++] = d->coef[i];
            }
    }
    if (a.kind != ATOM_TRUE && a.kind != ATOM_FALSE && (!isfinite(a.outer) || !isfinite(a.inner)))
        return fail_at(ps, at->line, at->col, NN_EVALUE, "the bound overflows double precision");
    return add_atom(ps, &a, id);
}

/* ---- formulas in disjunctive normal form ---- */

typedef struct {
    size_t n;               /* disjuncts */
    size_t *start;          /* [n + 1] */
    size_t *ref;            /* atom ids, start[n] of them */
} dnf;

static void dnf_free(dnf *f) { free(f->start), free(f->ref), memset(f, 0, sizeof *f); }

static int dnf_make(parser *ps, dnf *f, size_t n, size_t refs)
{
    f->n = n;
    f->start = malloc((n + 1) * sizeof *f->start);
    f->ref = malloc((refs ? refs : 1) * sizeof *f->ref);
    if (!f->start || !f->ref) {
        dnf_free(f);
        return nn_fail(ps->err, NN_ENOMEM, "out of memory for the normal form");
    }
    f->start[0] = 0;
    return NN_OK;
}

/* One disjunct holding atom a (none for TRUE; no disjunct at all for FALSE). */
static int dnf_atom(parser *ps, size_t a, dnf *f)
{
    int k = ps->atom[a].kind;
    if (k == ATOM_FALSE) return dnf_make(ps, f, 0, 0);
    int rc = dnf_make(ps, f, 1, 1);
    if (rc) return rc;
    f->start[1] = k == ATOM_TRUE ? 0 : 1;
    f->ref[0] = a;
    return NN_OK;
}

/* Product of parts[0 .. k): every choice of one disjunct per part. Parts with a
 * single disjunct are appended to every disjunct once at the end. */
static int dnf_and(parser *ps, const sx_node *at, dnf *parts, int k, dnf *out)
{
    size_t n = 1, common = 0;
    size_t refs = 0;  /* refs of the product of the multi-disjunct parts */
    for (int i = 0; i < k; i++) {
        if (parts[i].n == 0) return dnf_make(ps, out, 0, 0);
        if (parts[i].n == 1) {
            common += parts[i].start[1];
            continue;
        }
        if (n > ps->lim->max_cases / parts[i].n)
            return fail_at(ps, at->line, at->col, NN_EUNSUPPORTED,
                           "the disjunctive normal form has more than %zu disjuncts", ps->lim->max_cases);
        /* refs' = refs * n_i + n * refs_i */
        double r = (double)refs * (double)parts[i].n + (double)n * (double)parts[i].start[parts[i].n];
        n *= parts[i].n;
        if (r + (double)n * (double)common > (double)ps->lim->max_refs)
            return fail_at(ps, at->line, at->col, NN_EUNSUPPORTED,
                           "the disjunctive normal form needs more than %zu constraint references", ps->lim->max_refs);
        refs = (size_t)r;
    }
    if ((double)refs + (double)n * (double)common > (double)ps->lim->max_refs)
        return fail_at(ps, at->line, at->col, NN_EUNSUPPORTED,
                       "the disjunctive normal form needs more than %zu constraint references", ps->lim->max_refs);
    int rc = dnf_make(ps, out, n, refs + n * common);
    if (rc) return rc;
    size_t *pick = calloc((size_t)(k > 0 ? k : 1), sizeof *pick), w = 0;
    if (!pick) {
        dnf_free(out);
        return nn_fail(ps->err, NN_ENOMEM, "out of memory for the normal form");
    }
    for (size_t d = 0; d < n; d++) {
        for (int i = 0; i < k; i++) {
            const dnf *p = &parts[i];
            size_t j = p->n == 1 ? 0 : pick[i];
            for (size_t r = p->start[j]; r < p->start[j + 1]; r++) out->ref[w++] = p->ref[r];
        }
        out->start[d + 1] = w;
        for (int i = k - 1; i >= 0; i--) {  /* next choice, odometer style */
            if (parts[i].n == 1) continue;
            if (++pick[i] < parts[i].n) break;
            pick[i] = 0;
        }
    }
    free(pick);
    return NN_OK;
}

static int dnf_or(parser *ps, const sx_node *at, dnf *parts, int k, dnf *out)
{
    size_t n = 0, refs = 0;
    for (int i = 0; i < k; i++) {
        n += parts[i].n, refs += parts[i].start[parts[i].n];
        if (n > ps->lim->max_cases)
            return fail_at(ps, at->line, at->col, NN_EUNSUPPORTED,
                           "the disjunctive normal form has more than %zu disjuncts", ps->lim->max_cases);
        if (refs > ps->lim->max_refs)
            return fail_at(ps, at->line, at->col, NN_EUNSUPPORTED,
                           "the disjunctive normal form needs more than %zu constraint references", ps->lim->max_refs);
    }
    int rc = dnf_make(ps, out, n, refs);
    if (rc) return rc;
    size_t d = 0, w = 0;
    for (int i = 0; i < k; i++)
        for (size_t j = 0; j < parts[i].n; j++) {
            for (size_t r = parts[i].start[j]; r < parts[i].start[j + 1]; r++) out->ref[w++] = parts[i].ref[r];
            out->start[++d] = w;
        }
    return NN_OK;
}

static int formula(parser *ps, long id, dnf *out);

/* Comparison (op a b ...) as a chain of atoms a op b, b op c, ... */
static int comparison(parser *ps, long id, int le, int strict, dnf *out)
{
    const sx_node *n = &ps->node[id];
    int k = n_children(ps, id) - 1;
    if (k < 2) return fail_at(ps, n->line, n->col, NN_EFORMAT, "a comparison needs at least two terms");
    lin *a = NULL;
    int na = 0, rc = term_args(ps, id, &a, &na);
    dnf *parts = calloc((size_t)(2 * k), sizeof *parts);
    int np = 0;
    if (!parts && !rc) rc = nn_fail(ps->err, NN_ENOMEM, "out of memory for the normal form");
    for (int i = 0; !rc && i + 1 < k; i++) {
        /* d = left - right (<=), right - left (>=); equality is both */
        for (int side = 0; !rc && side < (le == 2 ? 2 : 1); side++) {
            int l = (le == 1 || (le == 2 && side == 0)) ? i : i + 1, r = l == i ? i + 1 : i;
            lin d = {0};
            rc = lin_axpy(ps, n, &d, 1.0, &a[l]);
            if (!rc) rc = lin_axpy(ps, n, &d, -1.0, &a[r]);
            size_t at = 0;
            if (!rc) rc = make_atom(ps, n, &d, strict, &at);
            if (!rc) rc = dnf_atom(ps, at, &parts[np++]);
            lin_free(&d);
        }
    }
    if (!rc) rc = dnf_and(ps, n, parts, np, out);
    for (int i = 0; i < np; i++) dnf_free(&parts[i]);
    for (int i = 0; i < na; i++) lin_free(&a[i]);
    free(parts), free(a);
    return rc;
}

static int formula(parser *ps, long id, dnf *out)
{
    memset(out, 0, sizeof *out);
    const sx_node *n = &ps->node[id];
    char buf[64];
    if (!n->list) {
        if (tok_is(ps, id, "true") || tok_is(ps, id, "false")) {
            atom a = {.kind = tok_is(ps, id, "true") ? ATOM_TRUE : ATOM_FALSE, .line = n->line, .col = n->col};
            size_t at;
            int rc = add_atom(ps, &a, &at);
            return rc ? rc : dnf_atom(ps, at, out);
        }
        return fail_at(ps, n->line, n->col, NN_EUNSUPPORTED, "'%s' is not a formula (expected a comparison, and, or)",
                       tok_show(ps, id, buf, sizeof buf));
    }
    long head = n->first;
    if (head < 0 || ps->node[head].list)
        return fail_at(ps, n->line, n->col, NN_EFORMAT, "a formula must start with an operator");
    if (tok_is(ps, head, "<=")) return comparison(ps, id, 1, 0, out);
    if (tok_is(ps, head, "<")) return comparison(ps, id, 1, 1, out);
    if (tok_is(ps, head, ">=")) return comparison(ps, id, 0, 0, out);
    if (tok_is(ps, head, ">")) return comparison(ps, id, 0, 1, out);
    if (tok_is(ps, head, "=")) return comparison(ps, id, 2, 0, out);
    int is_and = tok_is(ps, head, "and");
    if (!is_and && !tok_is(ps, head, "or"))
        return fail_at(ps, n->line, n->col, NN_EUNSUPPORTED,
                       "unsupported operator '%s' (supported: and, or, <=, >=, <, >, =)",
                       tok_show(ps, head, buf, sizeof buf));
    int k = n_children(ps, id) - 1;
    dnf *parts = calloc((size_t)(k > 0 ? k : 1), sizeof *parts);
    if (!parts) return nn_fail(ps->err, NN_ENOMEM, "out of memory for the normal form");
    int rc = NN_OK, np = 0;
    for (long c = ps->node[head].next; c >= 0 && !rc; c = ps->node[c].next) rc = formula(ps, c, &parts[np++]);
    if (!rc) rc = is_and ? dnf_and(ps, n, parts, np, out) : dnf_or(ps, n, parts, np, out);
    for (int i = 0; i < np; i++) dnf_free(&parts[i]);
    free(parts);
    return rc;
}

/* ---- the property from the normal form ---- */

static uint64_t hash_bytes(const void *p, size_t n, uint64_t h)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001B3ull;
    return h;
}

typedef struct {
    size_t cap;             /* power of two */
    size_t *slot;           /* index + 1; 0 empty */
    uint64_t *key;
} index_table;

static int table_init(index_table *t, size_t n, nn_error *err)
{
    t->cap = 16;
    while (t->cap < 2 * n + 2) t->cap *= 2;
    t->slot = calloc(t->cap, sizeof *t->slot);
    t->key = calloc(t->cap, sizeof *t->key);
    if (!t->slot || !t->key) return nn_fail(err, NN_ENOMEM, "out of memory for the property");
    return NN_OK;
}

static void table_free(index_table *t) { free(t->slot), free(t->key); }

static int build(parser *ps, const dnf *f, prop_spec *p)
{
    size_t nx = ps->n_decl[0], ny = ps->n_decl[1];
    for (int kind = 0; kind < 2; kind++)
        for (size_t i = 0; i < ps->n_decl[kind]; i++)
            if (!ps->decl[kind][i])
                return nn_fail(ps->err, NN_EFORMAT, "%s: %c_%zu is not declared but %c_%zu is (variables must be "
                               "numbered from 0 without gaps)", ps->name, kind ? 'Y' : 'X', i, kind ? 'Y' : 'X',
                               ps->n_decl[kind] - 1);
    if (nx == 0) return nn_fail(ps->err, NN_EFORMAT, "%s: no input variable X_0 is declared", ps->name);
    if (ny == 0) return nn_fail(ps->err, NN_EFORMAT, "%s: no output variable Y_0 is declared", ps->name);
    if (f->n == 0)
        return nn_fail(ps->err, NN_EVALUE, "%s: the assertions are unsatisfiable as written (every disjunct "
                       "contains a false constant comparison)", ps->name);
    p->n_x = nx, p->n_y = ny;
    size_t nd = f->n, rows_total = 0;
    for (size_t d = 0; d < nd; d++)
        for (size_t r = f->start[d]; r < f->start[d + 1]; r++) rows_total += ps->atom[f->ref[r]].kind == ATOM_ROW;
    int rc = NN_OK;
    double *lo = malloc(nx * sizeof *lo), *hi = malloc(nx * sizeof *hi), *li = malloc(nx * sizeof *li),
           *hin = malloc(nx * sizeof *hin);
    size_t *lo_at = malloc(nx * sizeof *lo_at), *hi_at = malloc(nx * sizeof *hi_at);
    index_table bt = {0}, ct = {0};
    p->lo = malloc(nd * nx * sizeof *p->lo), p->hi = malloc(nd * nx * sizeof *p->hi);
    p->lo_in = malloc(nd * nx * sizeof *p->lo_in), p->hi_in = malloc(nd * nx * sizeof *p->hi_in);
    p->conj_start = malloc((nd + 1) * sizeof *p->conj_start);
    p->row = calloc((rows_total ? rows_total : 1) * ny, sizeof *p->row);
    p->rhs = malloc((rows_total ? rows_total : 1) * sizeof *p->rhs);
    p->rhs_in = malloc((rows_total ? rows_total : 1) * sizeof *p->rhs_in);
    p->case_box = malloc(nd * sizeof *p->case_box), p->case_conj = malloc(nd * sizeof *p->case_conj);
    if (!lo || !hi || !li || !hin || !lo_at || !hi_at || !p->lo || !p->hi || !p->lo_in || !p->hi_in ||
        !p->conj_start || !p->row || !p->rhs || !p->rhs_in || !p->case_box || !p->case_conj)
        rc = nn_fail(ps->err, NN_ENOMEM, "out of memory for the property (%zu disjuncts x %zu inputs)", nd, nx);
    if (!rc) rc = table_init(&bt, nd, ps->err);
    if (!rc) rc = table_init(&ct, nd, ps->err);
    if (!rc) p->conj_start[0] = 0;
    for (size_t d = 0; !rc && d < nd; d++) {
        for (size_t i = 0; i < nx; i++) lo[i] = li[i] = -INFINITY, hi[i] = hin[i] = INFINITY, lo_at[i] = hi_at[i] = 0;
        size_t row0 = p->n_rows;
        for (size_t r = f->start[d]; r < f->start[d + 1]; r++) {
            size_t id = f->ref[r];
            const atom *a = &ps->atom[id];
            if (a->kind == ATOM_XUPPER) {
                if (a->outer < hi[a->var]) hi[a->var] = a->outer, hi_at[a->var] = id;
                if (a->inner < hin[a->var]) hin[a->var] = a->inner;
            } else if (a->kind == ATOM_XLOWER) {
                if (a->outer > lo[a->var]) lo[a->var] = a->outer, lo_at[a->var] = id;
                if (a->inner > li[a->var]) li[a->var] = a->inner;
            } else if (a->kind == ATOM_ROW) {
                double *row = p->row + p->n_rows * ny;
                for (size_t t = 0; t < a->lin_len; t++) row[ps->lin_var[a->lin_start + t]] = ps->lin_coef[a->lin_start + t];
                p->rhs[p->n_rows] = a->outer;
                p->rhs_in[p->n_rows++] = a->inner;
            }
        }
        for (size_t i = 0; !rc && i < nx; i++) {
            if (lo[i] == -INFINITY || hi[i] == INFINITY)
                rc = nn_fail(ps->err, NN_EVALUE, "%s: input X_%zu has no %s bound%s (an unbounded input set "
                             "cannot be verified)", ps->name, i, lo[i] == -INFINITY ? "lower" : "upper",
                             nd > 1 ? " in one of the disjuncts" : "");
            else if (lo[i] > hi[i]) {
                const atom *al = &ps->atom[lo_at[i]], *ah = &ps->atom[hi_at[i]];
                rc = nn_fail(ps->err, NN_EVALUE, "%s:%d:%d: input X_%zu has lower bound %.17g (here) above its "
                             "upper bound %.17g (line %d, column %d): the input box is empty", ps->name, al->line,
                             al->col, i, lo[i], hi[i], ah->line, ah->col);
            }
        }
        if (rc) break;
        /* share equal boxes */
        uint64_t h = hash_bytes(lo, nx * sizeof *lo, hash_bytes(hi, nx * sizeof *hi, 0xCBF29CE484222325ull));
        h = hash_bytes(li, nx * sizeof *li, hash_bytes(hin, nx * sizeof *hin, h));
        size_t s = h & (bt.cap - 1), box = SIZE_MAX;
        for (; bt.slot[s]; s = (s + 1) & (bt.cap - 1)) {
            size_t b = bt.slot[s] - 1;
            if (bt.key[s] == h && !memcmp(p->lo + b * nx, lo, nx * sizeof *lo) &&
                !memcmp(p->hi + b * nx, hi, nx * sizeof *hi) && !memcmp(p->lo_in + b * nx, li, nx * sizeof *li) &&
                !memcmp(p->hi_in + b * nx, hin, nx * sizeof *hin)) {
                box = b;
                break;
            }
        }
        if (box == SIZE_MAX) {
            box = p->n_boxes++;
            memcpy(p->lo + box * nx, lo, nx * sizeof *lo), memcpy(p->hi + box * nx, hi, nx * sizeof *hi);
            memcpy(p->lo_in + box * nx, li, nx * sizeof *li), memcpy(p->hi_in + box * nx, hin, nx * sizeof *hin);
            bt.slot[s] = box + 1, bt.key[s] = h;
        }
        /* share equal conjunctions (the rows just written) */
        size_t nr = p->n_rows - row0, conj = SIZE_MAX;
        h = hash_bytes(p->row + row0 * ny, nr * ny * sizeof *p->row, 0xCBF29CE484222325ull ^ nr);
        h = hash_bytes(p->rhs + row0, nr * sizeof *p->rhs, hash_bytes(p->rhs_in + row0, nr * sizeof *p->rhs, h));
        s = h & (ct.cap - 1);
        for (; ct.slot[s]; s = (s + 1) & (ct.cap - 1)) {
            size_t c = ct.slot[s] - 1, c0 = p->conj_start[c];
            if (ct.key[s] == h && p->conj_start[c + 1] - c0 == nr &&
                !memcmp(p->row + c0 * ny, p->row + row0 * ny, nr * ny * sizeof *p->row) &&
                !memcmp(p->rhs + c0, p->rhs + row0, nr * sizeof *p->rhs) &&
                !memcmp(p->rhs_in + c0, p->rhs_in + row0, nr * sizeof *p->rhs)) {
                conj = c;
                break;
            }
        }
        if (conj == SIZE_MAX) {
            conj = p->n_conj++;
            p->conj_start[conj + 1] = p->n_rows;
            ct.slot[s] = conj + 1, ct.key[s] = h;
        } else {
            memset(p->row + row0 * ny, 0, nr * ny * sizeof *p->row);
            p->n_rows = row0;
        }
        p->case_box[p->n_cases] = box;
        p->case_conj[p->n_cases++] = conj;
    }
    free(lo), free(hi), free(li), free(hin), free(lo_at), free(hi_at);
    table_free(&bt), table_free(&ct);
    return rc;
}

/* The commands in order; the asserts are conjoined once at the end (one product,
 * not one per assert, so thousands of input bounds cost linear time). */
static int top_level(parser *ps, prop_spec *p)
{
    dnf *parts = NULL;
    size_t n_parts = 0, cap_parts = 0;
    int rc = NN_OK;
    char buf[64];
    for (long c = ps->node[0].first; c >= 0 && !rc; c = ps->node[c].next) {
        const sx_node *n = &ps->node[c];
        if (!n->list || n->first < 0 || ps->node[n->first].list) {
            rc = fail_at(ps, n->line, n->col, NN_EFORMAT, "expected a command such as (assert ...) or "
                         "(declare-const ...), found '%s'", tok_show(ps, c, buf, sizeof buf));
            break;
        }
        long head = n->first;
        if (tok_is(ps, head, "declare-const") || tok_is(ps, head, "declare-fun")) {
            rc = declare(ps, c);
        } else if (tok_is(ps, head, "assert")) {
            long f = ps->node[head].next;
            if (f < 0 || ps->node[f].next >= 0) {
                rc = fail_at(ps, n->line, n->col, NN_EFORMAT, "assert takes exactly one formula");
                break;
            }
            if (n_parts > (size_t)INT32_MAX - 1) {
                rc = fail_at(ps, n->line, n->col, NN_EUNSUPPORTED, "too many asserts");
                break;
            }
            if ((rc = grow((void **)&parts, &cap_parts, n_parts + 1, sizeof *parts, "asserts", ps->err))) break;
            if (!(rc = formula(ps, f, &parts[n_parts]))) n_parts++;
        } else if (tok_is(ps, head, "set-logic") || tok_is(ps, head, "set-info") || tok_is(ps, head, "set-option") ||
                   tok_is(ps, head, "check-sat") || tok_is(ps, head, "get-model") || tok_is(ps, head, "exit")) {
            continue;
        } else {
            rc = fail_at(ps, n->line, n->col, NN_EUNSUPPORTED, "unsupported command '%s'",
                         tok_show(ps, head, buf, sizeof buf));
        }
    }
    if (!rc && n_parts == 0) rc = nn_fail(ps->err, NN_EFORMAT, "%s: no assert (an empty or truncated file?)", ps->name);
    dnf all = {0};
    if (!rc) rc = dnf_and(ps, &ps->node[0], parts, (int)n_parts, &all);
    if (!rc) rc = build(ps, &all, p);
    dnf_free(&all);
    for (size_t i = 0; i < n_parts; i++) dnf_free(&parts[i]);
    free(parts);
    return rc;
}

int vnnlib_parse(const char *text, size_t len, const char *name, const vnnlib_limits *lim, prop_spec *p,
                 nn_error *err)
{
    prop_spec_init(p);
    vnnlib_limits def;
    if (!lim) vnnlib_limits_default(&def), lim = &def;
    if (len > lim->max_bytes)
        return nn_fail(err, NN_EUNSUPPORTED, "%s: %zu bytes exceed the limit of %zu bytes for a property", name, len,
                       lim->max_bytes);
    if (len > (size_t)INT32_MAX)
        return nn_fail(err, NN_EUNSUPPORTED, "%s: %zu bytes: too large to number its lines and columns", name, len);
    parser ps = {.text = text, .len = len, .name = name, .lim = lim, .err = err};
    int rc = tokenize(&ps);
    if (!rc) rc = top_level(&ps, p);
    free(ps.node), free(ps.decl[0]), free(ps.decl[1]), free(ps.atom), free(ps.lin_var), free(ps.lin_coef);
    if (rc) prop_spec_free(p);
    return rc;
}

int vnnlib_read(const char *path, const vnnlib_limits *lim, prop_spec *p, nn_error *err)
{
    prop_spec_init(p);
    vnnlib_limits def;
    if (!lim) vnnlib_limits_default(&def), lim = &def;
    errno = 0;
    gzFile gz = gzopen(path, "rb");
    if (!gz) return nn_fail(err, NN_EIO, "cannot open %s: %s", path, errno ? strerror(errno) : "out of memory");
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    int rc = buf ? NN_OK : nn_fail(err, NN_ENOMEM, "out of memory reading %s", path);
    while (!rc) {
        if (len == cap) {
            if (cap > lim->max_bytes) {
                rc = nn_fail(err, NN_EUNSUPPORTED, "%s: more than %zu bytes (after decompression): too large for a "
                             "property", path, lim->max_bytes);
                break;
            }
            char *q = realloc(buf, cap * 2);
            if (!q) {
                rc = nn_fail(err, NN_ENOMEM, "out of memory reading %s", path);
                break;
            }
            buf = q, cap *= 2;
        }
        size_t want = cap - len > (1u << 30) ? (1u << 30) : cap - len;
        int r = gzread(gz, buf + len, (unsigned)want);
        if (r < 0) {
            int zerr;
            const char *msg = gzerror(gz, &zerr);
            rc = nn_fail(err, zerr == Z_ERRNO ? NN_EIO : NN_EFORMAT, "%s: %s", path,
                         zerr == Z_ERRNO ? strerror(errno) : msg);
            break;
        }
        if (r == 0) {
            int zerr;
            const char *msg = gzerror(gz, &zerr);
            if (zerr != Z_OK && zerr != Z_STREAM_END)
                rc = nn_fail(err, NN_EFORMAT, "%s: %s (truncated gzip file?)", path, msg);
            break;
        }
        len += (size_t)r;
    }
    gzclose(gz);
    if (!rc) rc = vnnlib_parse(buf, len, path, lim, p, err);
    free(buf);
    return rc;
}

