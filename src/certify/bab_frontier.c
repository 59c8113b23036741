/* The frontier of branch and bound: a binary heap of open domains (doc/bab.md
 * "Frontier"). The order depends on the domains only, never on when they were
 * bounded, so any schedule that bounds the same domains expands the same tree. */
#include "bab_frontier.h"

#include <stdlib.h>

void bab_domain_free(bab_domain *d)
{
    if (!d) return;
    free(d->lo), free(d->hi), free(d->splits), free(d->pre), free(d->warm), free(d->open);
    free(d);
}

void bab_frontier_init(bab_frontier *f) { f->item = NULL, f->n = f->cap = 0, f->depth_first = 0; }

void bab_frontier_free(bab_frontier *f)
{
    for (size_t i = 0; i < f->n; i++) bab_domain_free(f->item[i]);
    free(f->item);
    bab_frontier_init(f);
}

/* a goes before b */
static int before(const bab_frontier *f, const bab_domain *a, const bab_domain *b)
{
    if (f->depth_first && a->depth != b->depth) return a->depth > b->depth;
    if (a->key != b->key) return a->key < b->key;
    return a->id < b->id;
}

static void sift_up(bab_frontier *f, size_t i)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!before(f, f->item[i], f->item[p])) break;
        bab_domain *t = f->item[i];
        f->item[i] = f->item[p], f->item[p] = t;
        i = p;
    }
}

static void sift_down(bab_frontier *f, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < f->n && before(f, f->item[l], f->item[m])) m = l;
        if (r < f->n && before(f, f->item[r], f->item[m])) m = r;
        if (m == i) return;
        bab_domain *t = f->item[i];
        f->item[i] = f->item[m], f->item[m] = t;
        i = m;
    }
}

int bab_frontier_push(bab_frontier *f, bab_domain *d, nn_error *err)
{
    if (f->n == f->cap) {
        size_t cap = f->cap ? 2 * f->cap : 64;
        bab_domain **item = realloc(f->item, cap * sizeof *item);
        if (!item) {
            bab_domain_free(d);
            return nn_fail(err, NN_ENOMEM, "out of memory for %zu open branch-and-bound domains", cap);
        }
        f->item = item, f->cap = cap;
    }
    f->item[f->n++] = d;
    sift_up(f, f->n - 1);
    return NN_OK;
}

bab_domain *bab_frontier_pop(bab_frontier *f)
{
    if (f->n == 0) return NULL;
    bab_domain *d = f->item[0];
    f->item[0] = f->item[--f->n];
    if (f->n) sift_down(f, 0);
    return d;
}

void bab_frontier_set_depth_first(bab_frontier *f, int on)
{
    if (f->depth_first == !!on) return;
    f->depth_first = !!on;
    for (size_t i = f->n / 2; i-- > 0;) sift_down(f, i);
}
