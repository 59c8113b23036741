/* vnnlib: VNN-LIB properties (the SMT-LIB subset VNN-COMP writes) read into a
 * prop_spec: input boxes and conjunctions of linear output constraints in
 * disjunctive normal form (doc/formats.md "VNN-LIB properties"). */
#ifndef VNNLIB_H
#define VNNLIB_H

#include <stddef.h>
#include "nn_error.h"
#include "property.h"

typedef struct {
    size_t max_bytes;       /* text (after gunzip) longer than this is refused */
    size_t max_depth;       /* deepest nesting of parentheses */
    size_t max_cases;       /* disjuncts of the normal form */
    size_t max_refs;        /* constraint references summed over all disjuncts */
} vnnlib_limits;

/* Prototypes */
void vnnlib_limits_default(vnnlib_limits *lim);
/* Parse text[0 .. len); name appears in messages as "name:line:column: problem".
 * lim NULL: the defaults. p is initialised by the call (empty on failure). */
int vnnlib_parse(const char *text, size_t len, const char *name, const vnnlib_limits *lim, prop_spec *p,
                 nn_error *err);
/* Read a file, gzip-compressed or plain, and parse it. */
int vnnlib_read(const char *path, const vnnlib_limits *lim, prop_spec *p, nn_error *err);

#endif
