/* fuzz_csv.c - libFuzzer target for the CSV reader. The first 4 bytes of
 * the input choose the options (delimiter, header mode, classification or
 * regression, target columns by index or by name, fixed class names,
 * no target, a memory limit, a category limit); the rest is the file, read through
 * syn_csv_parse_buffer, the loader's from-memory entry point. A dataset that loads is
 * then used: gathered, scaled and checked for consistency; its learned encoding is
 * refitted on half the rows, and the file read again through it (as eval does). Four zero bytes
 * mean the defaults, so a seed is "\0\0\0\0" + a CSV file. Also built
 * into test_fuzz_regressions (see fuzz.cmake). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "data/dataset_internal.h"
#include "synapse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define OPTION_BYTES 4

static const char delimiters[8] = {',', ';', '\t', '|', ' ', ':', '"', 0};
static const char *const one_name[] = {"label"};
static const char *const two_names[] = {"y", "x1"};
static const char *const classes[] = {"0", "1", "setosa", "versicolor", "virginica"};

/* Byte 0: delimiter (bits 0-2), header mode (3-4), regression (5),
 * no_target (6), fixed class names (7). Byte 1: target selection (bits
 * 0-1: last column, one index, names, two indices), number of fixed
 * classes (2-4) and memory limit (5-7). Bytes 2 and 3: signed target
 * indices. */
static void decode_options(const uint8_t *b, syn_csv_options *o, long indices[2])
{
    static const int headers[4] = {0, 1, -1, 2};
    static const size_t limits[8] = {0, 0, 0, 0, 1, 40, 1000, 4096};
    o->max_bytes = limits[b[1] >> 5];
    o->delimiter = delimiters[b[0] & 7];
    o->header = headers[(b[0] >> 3) & 3];
    o->regression = (b[0] >> 5) & 1;
    o->no_target = (b[0] >> 6) & 1;
    if (b[0] >> 7) {
        o->class_names = classes;
        o->n_class_names = 1 + (size_t)((b[1] >> 2) & 7) % 5;
    }
    indices[0] = (int8_t)b[2];
    indices[1] = (int8_t)b[3];
    /* Byte 3 is free unless two indices are used: a small category limit. */
    if ((b[1] & 3) != 3 && (b[3] & 0x70))
        o->max_categories = (size_t)((b[3] >> 4) & 7);
    o->strict = b[2] & 1;
    switch (b[1] & 3) {
    case 1:
        o->target_indices = indices;
        o->n_target_columns = 1;
        break;
    case 2:
        o->target_names = o->regression ? two_names : one_name;
        o->n_target_columns = o->regression ? 2 : 1;
        break;
    case 3:
        o->target_indices = indices;
        o->n_target_columns = 2;
        break;
    default:
        break;
    }
}

/* What a loaded dataset must satisfy, and a tour of its accessors. */
static void use_dataset(const syn_dataset *ds)
{
    size_t n = syn_dataset_n_samples(ds), f = syn_dataset_n_features(ds);
    size_t width = syn_dataset_target_width(ds), k = syn_dataset_n_classes(ds);
    if (n == 0 || f == 0)
        abort();
    for (size_t i = 0; i < n && k > 0; i++) {
        uint32_t label;
        if (syn_dataset_label(ds, i, &label) != SYN_OK || label >= k)
            abort();
    }
    for (size_t i = 0; i < syn_dataset_n_class_names(ds); i++)
        if (!syn_dataset_class_name(ds, i))
            abort();
    syn_dataset_feature_name(ds, 0);
    float *x = malloc(f * sizeof *x), *y = malloc((width ? width : 1) * sizeof *y);
    float *offset = malloc(f * sizeof *offset), *scale = malloc(f * sizeof *scale);
    if (x && y && offset && scale) {
        size_t rows[2] = {0, n - 1};
        for (int r = 0; r < 2; r++) {
            if (syn_dataset_gather(ds, &rows[r], 1, x, y) != SYN_OK)
                abort();
            for (size_t j = 0; j < f; j++)
                if (!isfinite(x[j]))
                    abort(); /* features are finite by the reader's rules */
        }
        if (syn_dataset_fit_scaling(ds, NULL, n, SYN_SCALE_STANDARD, offset, scale) != SYN_OK)
            abort();
    }
    free(x);
    free(y);
    free(offset);
    free(scale);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t defaults[OPTION_BYTES] = {0};
    const uint8_t *option_bytes = size >= OPTION_BYTES ? data : defaults;
    size_t skip = size >= OPTION_BYTES ? OPTION_BYTES : 0;
    syn_csv_options options = {0};
    long indices[2];
    decode_options(option_bytes, &options, indices);

    syn_dataset *ds = NULL;
    syn_error err = {{0}};
    syn_status s = syn_csv_parse_buffer(data + skip, size - skip, "fuzz.csv", &options, &ds,
                                        &err);
    if (s == SYN_OK)
        use_dataset(ds);
    else if (ds || err.message[0] == '\0')
        abort(); /* a failure hands out nothing and says why */
    const syn_encoding *enc = ds ? syn_dataset_encoding(ds) : NULL;
    if (enc) {
        if (syn_encoding_n_inputs(enc) != syn_dataset_n_features(ds))
            abort();
        size_t n = syn_dataset_n_samples(ds), half = (n + 1) / 2;
        size_t *rows = malloc(half * sizeof *rows);
        for (size_t i = 0; rows && i < half; i++)
            rows[i] = i;
        if (rows && syn_dataset_fit_imputation(ds, rows, half) != SYN_OK)
            abort();
        free(rows);
        use_dataset(ds);
        /* Read again through the learned encoding, as eval and predict do. */
        syn_csv_options again = options;
        again.encoding = enc;
        syn_dataset *back = NULL;
        s = syn_csv_parse_buffer(data + skip, size - skip, "fuzz.csv", &again, &back, &err);
        if (s == SYN_OK) {
            if (syn_dataset_n_features(back) != syn_dataset_n_features(ds))
                abort();
            use_dataset(back);
        } else if (back || err.message[0] == '\0') {
            abort();
        }
        syn_dataset_free(back);
    }
    syn_dataset_free(ds);
    return 0;
}
