/* dataset_internal.h - how the file loaders (csv.c, idx.c) hand the arrays
 * they built to dataset.c without a second copy, and their from-memory entry
 * points. Not public. */
#ifndef SYN_DATASET_INTERNAL_H
#define SYN_DATASET_INTERNAL_H

#include "data/encoding.h"
#include "synapse.h"

/* The pieces of a dataset, every pointer from malloc (or NULL). Exactly one
 * of x_f32 and x_u8 is set. At most one of labels and targets is set;
 * neither means an unlabelled dataset (target width 0). */
typedef struct syn_dataset_parts {
    size_t n_samples;
    size_t n_features;
    size_t shape[3];      /* each sample's C, H, W (IDX images), or all 0: flat */
    float *x_f32;         /* [n_samples x n_features] */
    uint8_t *x_u8;        /* [n_samples x n_features] */
    uint32_t *labels;     /* [n_samples] class ids, each < n_classes */
    size_t n_classes;
    float *targets;       /* [n_samples x n_targets] regression targets */
    size_t n_targets;
    char **class_names;   /* n_class_names strings, or NULL */
    size_t n_class_names;
    char **feature_names; /* n_features strings, or NULL */
    /* CSV: the encoding the features were read with (or NULL); learned
     * from this file when `learned`, and then `missing` (NULL when none)
     * is a bitmap [n_samples x encoding columns] of the imputed fields. */
    syn_encoding *encoding;
    int learned;
    unsigned char *missing;
    size_t n_missing, n_unseen;
} syn_dataset_parts;

/* Builds a dataset that takes over every array of parts. parts is always
 * consumed: on failure its arrays are freed too, and it is zeroed either
 * way. Errors: INVALID_ARGUMENT (inconsistent parts, a label >= n_classes),
 * OUT_OF_MEMORY. */
syn_status syn_dataset_adopt(syn_dataset_parts *parts, syn_dataset **out);

/* Frees every array of parts and zeroes it. */
void syn_dataset_parts_release(syn_dataset_parts *parts);

/* Frees `count` strings and the array holding them (either may be NULL). */
void syn_free_strings(char **strings, size_t count);

/* Whether every row index is below the dataset's sample count. */
int syn_dataset_rows_ok(const syn_dataset *ds, const size_t *rows, size_t count);

/* The features of the given rows as floats into x [count x n_features],
 * through the input scaling (x - offset) * mul when offset is not NULL:
 * the training and evaluation loops gather a batch straight into a
 * workspace's input this way, in one pass (pass.c). Rows must be valid. */
void syn_dataset_gather_scaled(const syn_dataset *ds, const size_t *rows, size_t count,
                               const float *offset, const float *mul, float *x);

/* The targets of the given rows into y [count x target width] (one-hot for
 * class labels), as syn_dataset_gather writes them. Rows must be valid. */
void syn_dataset_gather_targets(const syn_dataset *ds, const size_t *rows, size_t count,
                                float *y);

/* The file loaders on a buffer instead of a path, for tests and fuzzing:
 * the same parser, limits and errors as syn_dataset_load_csv and
 * syn_dataset_load_idx; name (may be NULL) stands for the path in messages.
 * data and images must not be NULL (size may be 0); labels NULL means
 * unlabelled images, as a NULL labels_path does. */
syn_status syn_csv_parse_buffer(const void *data, size_t size, const char *name,
                                const syn_csv_options *options, syn_dataset **out,
                                syn_error *err);
syn_status syn_idx_parse_buffer(const void *images, size_t images_size, const void *labels,
                                size_t labels_size, const char *name, syn_dataset **out,
                                syn_error *err);

#endif
