/* bound_memory (private to src/bound): the row block bound_state_init resolves and
 * the structure behind it (widest layer, pending blocks of a residual graph), from
 * the model and options alone; bound_estimate_memory (bound.h) is built on them. */
#ifndef BOUND_MEMORY_H
#define BOUND_MEMORY_H

#include "bound_work.h"

/* Prototypes */
/* Widest layer input or output of the model (and its input). */
size_t bound_model_maxw(const nn_model *m);
/* 0 for a chain; for a residual graph the most outputs a backward pass holds rows
 * of at once (bound_work.max_live). */
int bound_graph_max_live(const nn_model *m);
/* o->row_block, or from memory when 0 (ROW_BLOCK_BYTES, FROWN's per-row bytes),
 * rounded up to whole FROWN groups: what bound_state_init puts in opt.row_block. */
size_t bound_resolve_row_block(const nn_model *m, const bound_options *o);

#endif
