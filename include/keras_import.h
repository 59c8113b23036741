/* keras_import: Keras 2 HDF5 model files (model.save, or model.save_weights with
 * the architecture JSON of model.to_json) to nn_model, the channels-last
 * weights and the Flatten order converted to nncert's C,H,W (doc/formats.md "Keras"). */
#ifndef KERAS_IMPORT_H
#define KERAS_IMPORT_H

#include "model.h"
#include "nn_error.h"

/* Prototypes */
/* 1 when path is an HDF5 file in Keras's layout (a root 'model_config' or
 * 'layer_names' attribute, no nncert 'format'), 0 otherwise (errors included:
 * the native reader then reports them). */
int keras_file_detect(const char *path);
/* Reads the model; arch_path (may be NULL) names a JSON file holding the
 * architecture (model.to_json()), required when the file holds weights only.
 * m is initialised by the call and finalized on success; a dropped final
 * softmax is recorded in /meta import_note. */
int keras_import_file(const char *path, const char *arch_path, nn_model *m, nn_error *err);

#endif
