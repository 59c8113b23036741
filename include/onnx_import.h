/* onnx_import: ONNX (protobuf, generated C from onnx.proto) to nn_model.
 * Accepts the sequential feed-forward graphs of verification benchmarks and
 * folds BatchNormalization and input Sub/Div/Mul into native layers. */
#ifndef ONNX_IMPORT_H
#define ONNX_IMPORT_H

#include <stddef.h>
#include "model.h"
#include "nn_error.h"

/* Prototypes */
/* m is initialised by the call and finalized (shapes checked) on success. */
int onnx_import_file(const char *path, nn_model *m, nn_error *err);
int onnx_import_buffer(const unsigned char *bytes, size_t len, const char *name, nn_model *m, nn_error *err);

#endif
