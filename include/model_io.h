/* model_io: reading and writing networks in the native HDF5 schema (doc/formats.md
 * "Native model file").
 * model_load() also accepts .onnx files (through onnx_import), so every command
 * that takes a model takes either. File paths appear in every error message. */
#ifndef MODEL_IO_H
#define MODEL_IO_H

#include "model.h"
#include "nn_error.h"

/* Prototypes */
/* Read a model by file name: *.onnx through the ONNX importer, anything else as
 * native HDF5. m is initialised by the call; on failure it is left empty. */
int model_load(const char *path, nn_model *m, nn_error *err);
/* Native HDF5 reader/writer (version 1 schema); the writer stores float64. */
int model_read_h5(const char *path, nn_model *m, nn_error *err);
int model_write_h5(const char *path, const nn_model *m, nn_error *err);
/* SHA-256 of a file's bytes as 64 lowercase hex digits plus NUL. */
int model_file_sha256(const char *path, char hex[65], nn_error *err);

#endif
