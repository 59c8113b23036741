/* Model loading by file name, and file checksums for results provenance.
 *
 * The suffix decides the reader: ".onnx" (any case) goes to the ONNX importer;
 * an HDF5 file in Keras's layout (a root 'model_config' or 'layer_names', no
 * nncert 'format') to the Keras importer; everything else is read as a native
 * HDF5 model, whose reader rejects non-HDF5 files with a message that mentions
 * the suffix rule. Every error message starts
 * with the path, whichever reader produced it. */
#include "model_io.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "keras_import.h"
#include "onnx_import.h"

static int has_onnx_suffix(const char *path)
{
    size_t n = strlen(path);
    return n >= 5 && strcasecmp(path + n - 5, ".onnx") == 0;
}

int model_load(const char *path, nn_model *m, nn_error *err)
{
    nn_error local;
    if (!err) err = &local;
    nn_error_clear(err);
    if (!path || !*path) {
        model_init(m);
        return nn_fail(err, NN_EARG, "no model file given");
    }
    if (!has_onnx_suffix(path))
        return keras_file_detect(path) ? keras_import_file(path, NULL, m, err) : model_read_h5(path, m, err);

    int rc = onnx_import_file(path, m, err);
    if (rc) {
        if (!strstr(err->msg, path)) nn_error_prefix(err, "%s: ", path);
        return rc;
    }
    if (!m->source) {
        size_t n = strlen(path) + 1;
        if (!(m->source = malloc(n))) {
            model_free(m);
            return nn_fail(err, NN_ENOMEM, "%s: out of memory", path);
        }
        memcpy(m->source, path, n);
    }
    return NN_OK;
}

int model_file_sha256(const char *path, char hex[65], nn_error *err)
{
    hex[0] = '\0';
    FILE *f = fopen(path, "rb");
    if (!f) return nn_fail(err, NN_EIO, "%s: cannot open for checksum: %s", path, strerror(errno));
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(ctx);
        fclose(f);
        return nn_fail(err, NN_ENOMEM, "%s: cannot set up SHA-256", path);
    }
    /* Streamed: model files can be larger than we want to hold twice in memory. */
    static const size_t chunk = 1 << 16;
    unsigned char *buf = malloc(chunk);
    int rc = buf ? NN_OK : nn_fail(err, NN_ENOMEM, "%s: out of memory for checksum", path);
    size_t got;
    while (!rc && (got = fread(buf, 1, chunk, f)) > 0)
        if (EVP_DigestUpdate(ctx, buf, got) != 1) rc = nn_fail(err, NN_EIO, "%s: SHA-256 update failed", path);
    if (!rc && ferror(f)) rc = nn_fail(err, NN_EIO, "%s: read error while computing checksum", path);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    if (!rc && (EVP_DigestFinal_ex(ctx, md, &len) != 1 || len != 32))
        rc = nn_fail(err, NN_EIO, "%s: SHA-256 finalisation failed", path);
    if (!rc) {
        static const char digits[] = "0123456789abcdef";
        for (unsigned i = 0; i < 32; i++) {
            hex[2 * i] = digits[md[i] >> 4];
            hex[2 * i + 1] = digits[md[i] & 15];
        }
        hex[64] = '\0';
    }
    free(buf);
    EVP_MD_CTX_free(ctx);
    fclose(f);
    return rc;
}
