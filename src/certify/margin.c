/* Margin specifications and target choice (doc/radius.md, "Target choice").
 *
 * A certificate for class c against target j is a lower bound > 0 on z_c - z_j over
 * the region; untargeted robustness is the conjunction over every j != c, so it is
 * the minimum over n-1 rows. The reference runs pick one target per image: the
 * runner-up logit (top2), the least likely class, or a random class that is
 * neither c, top2 nor least. The random choice depends only on (seed, image index)
 * so that any process certifying an image picks the same target. */
#include "certify.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const mode_names[] = {"untargeted", "class", "top2", "least", "random", "all"};

const char *cert_target_mode_name(cert_target_mode mode)
{
    return (unsigned)mode < sizeof mode_names / sizeof mode_names[0] ? mode_names[mode] : "?";
}

int cert_target_parse(const char *text, int n_classes, cert_target_spec *spec, nn_error *err)
{
    memset(spec, 0, sizeof *spec);
    if (!text || !*text) return nn_fail(err, NN_EARG, "empty target");
    static const struct { const char *name; cert_target_mode mode; } named[] = {
        {"untargeted", TARGET_UNTARGETED}, {"top2", TARGET_TOP2}, {"least", TARGET_LEAST},
        {"random", TARGET_RANDOM},         {"all", TARGET_ALL},
    };
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++)
        if (!strcmp(text, named[i].name)) {
            spec->mode = named[i].mode;
            return NN_OK;
        }
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || end == text || *end != '\0' || v < 0 || v > 1000000)
        return nn_fail(err, NN_EARG,
                       "unknown target '%s' (expected untargeted, top2, least, random, all or a class number)", text);
    if (n_classes > 0 && v >= n_classes)
        return nn_fail(err, NN_EARG, "target class %ld out of range: the model has %d classes", v, n_classes);
    spec->mode = TARGET_CLASS;
    spec->cls = (int)v;
    return NN_OK;
}

/* Largest (sign = +1) or smallest (sign = -1) logit among classes != c; first on ties. */
static int extreme_other(const double *logits, int n, int c, int sign)
{
    int best = -1;
    for (int j = 0; j < n; j++) {
        if (j == c) continue;
        if (best < 0 || sign * (logits[j] - logits[best]) > 0) best = j;
    }
    return best;
}

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

int cert_choose_targets(const cert_target_spec *spec, const double *logits, int n_classes, int c, long image_index,
                        int *targets, int *n_targets, nn_error *err)
{
    *n_targets = 0;
    if (n_classes < 2) return nn_fail(err, NN_EVALUE, "a margin needs at least 2 classes, the model has %d", n_classes);
    if (c < 0 || c >= n_classes) return nn_fail(err, NN_EVALUE, "class %d out of range [0, %d)", c, n_classes);
    switch (spec->mode) {
    case TARGET_UNTARGETED:
        targets[(*n_targets)++] = CERT_UNTARGETED;
        return NN_OK;
    case TARGET_CLASS:
        if (spec->cls < 0 || spec->cls >= n_classes)
            return nn_fail(err, NN_EARG, "target class %d out of range: the model has %d classes", spec->cls,
                           n_classes);
        if (spec->cls == c)
            return nn_fail(err, NN_EARG, "target class %d is the predicted class of image %ld", spec->cls,
                           image_index);
        targets[(*n_targets)++] = spec->cls;
        return NN_OK;
    case TARGET_TOP2:
        targets[(*n_targets)++] = extreme_other(logits, n_classes, c, +1);
        return NN_OK;
    case TARGET_LEAST:
        targets[(*n_targets)++] = extreme_other(logits, n_classes, c, -1);
        return NN_OK;
    case TARGET_RANDOM: {
        int top2 = extreme_other(logits, n_classes, c, +1);
        int least = extreme_other(logits, n_classes, c, -1);
        int k = 0;
        for (int j = 0; j < n_classes; j++)
            if (j != c && j != top2 && j != least) targets[k++] = j;
        if (k == 0)
            return nn_fail(err, NN_EVALUE,
                           "random target: no class other than the prediction, top2 and least (%d classes)",
                           n_classes);
        /* Seed and index mixed through two rounds so neighbouring indices decorrelate. */
        uint64_t state = spec->seed ^ (0xD1B54A32D192ED03ull * ((uint64_t)image_index + 1));
        splitmix64(&state);
        uint64_t r = splitmix64(&state);
        int pick = (int)(((r >> 11) * 0x1.0p-53) * k);
        if (pick >= k) pick = k - 1;
        targets[0] = targets[pick];
        *n_targets = 1;
        return NN_OK;
    }
    case TARGET_ALL:
        for (int j = 0; j < n_classes; j++)
            if (j != c) targets[(*n_targets)++] = j;
        return NN_OK;
    }
    return nn_fail(err, NN_EARG, "unknown target mode %d", (int)spec->mode);
}

size_t cert_margin_rows(int c, int target, int n_classes, double *C, size_t ldc, int *row_target)
{
    size_t rows = 0;
    for (int j = 0; j < n_classes; j++) {
        if (j == c || (target != CERT_UNTARGETED && j != target)) continue;
        double *row = C + rows * ldc;
        memset(row, 0, (size_t)n_classes * sizeof *row);
        row[c] = 1.0;
        row[j] = -1.0;
        if (row_target) row_target[rows] = j;
        rows++;
    }
    return rows;
}

double cert_margin_of_logits(const double *logits, int n_classes, int c, int target)
{
    double m = 0.0;
    int first = 1;
    for (int j = 0; j < n_classes; j++) {
        if (j == c || (target != CERT_UNTARGETED && j != target)) continue;
        double d = logits[c] - logits[j];
        if (first || d < m) m = d;
        first = 0;
    }
    return m;
}
