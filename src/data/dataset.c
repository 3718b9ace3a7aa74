/* dataset.c - owns struct syn_dataset: the in-memory constructors, the
 * accessors, batch gathering (uint8 to float, labels to one-hot), fitting
 * the imputation of a CSV's missing fields and the input scaling, and the
 * train/validation split. The file loaders live
 * in csv.c and idx.c and build datasets through dataset_internal.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/dataset_internal.h"
#include "base/util.h"

struct syn_dataset {
    syn_dataset_parts p;
};

/* ------------------------------------------------------------------ parts */

void syn_free_strings(char **strings, size_t count)
{
    if (!strings)
        return;
    for (size_t i = 0; i < count; i++)
        free(strings[i]);
    free(strings);
}

void syn_dataset_parts_release(syn_dataset_parts *parts)
{
    if (!parts)
        return;
    free(parts->x_f32);
    free(parts->x_u8);
    free(parts->labels);
    free(parts->targets);
    syn_free_strings(parts->class_names, parts->n_class_names);
    syn_free_strings(parts->feature_names, parts->feature_names ? parts->n_features : 0);
    syn_encoding_free(parts->encoding);
    free(parts->missing);
    memset(parts, 0, sizeof *parts);
}

static int parts_consistent(const syn_dataset_parts *p)
{
    if (p->n_samples == 0 || p->n_features == 0)
        return 0;
    if ((p->x_f32 == NULL) == (p->x_u8 == NULL))
        return 0;
    if (p->labels && p->targets)
        return 0;
    if (p->labels && p->n_classes == 0)
        return 0;
    if (!p->labels && p->n_classes != 0)
        return 0;
    if ((p->targets == NULL) != (p->n_targets == 0))
        return 0;
    if ((p->class_names == NULL) != (p->n_class_names == 0))
        return 0;
    if (p->encoding && (p->encoding->n_inputs != p->n_features || !p->x_f32))
        return 0;
    if ((p->missing || p->learned) && !p->encoding)
        return 0;
    if (p->labels) {
        for (size_t i = 0; i < p->n_samples; i++)
            if (p->labels[i] >= p->n_classes)
                return 0;
    }
    return 1;
}

syn_status syn_dataset_adopt(syn_dataset_parts *parts, syn_dataset **out)
{
    if (!parts)
        return SYN_ERR_INVALID_ARGUMENT;
    if (!out || !parts_consistent(parts)) {
        syn_dataset_parts_release(parts);
        return SYN_ERR_INVALID_ARGUMENT;
    }
    syn_dataset *ds = malloc(sizeof *ds);
    if (!ds) {
        syn_dataset_parts_release(parts);
        return SYN_ERR_OUT_OF_MEMORY;
    }
    ds->p = *parts;
    memset(parts, 0, sizeof *parts);
    *out = ds;
    return SYN_OK;
}

void syn_dataset_free(syn_dataset *ds)
{
    if (!ds)
        return;
    syn_dataset_parts_release(&ds->p);
    free(ds);
}

/* ------------------------------------------------------------ constructors */

/* malloc'd copy of count elements of `size` bytes; *status tells why NULL. */
static void *copy_array(const void *src, size_t count, size_t size, syn_status *status)
{
    size_t bytes;
    if (!syn_mul_size(count, size, &bytes)) {
        *status = SYN_ERR_OVERFLOW;
        return NULL;
    }
    void *copy = malloc(bytes ? bytes : 1);
    if (!copy) {
        *status = SYN_ERR_OUT_OF_MEMORY;
        return NULL;
    }
    memcpy(copy, src, bytes);
    return copy;
}

/* Checks the shared arguments of the constructors and the size of x. */
static syn_status check_shape(const void *x, size_t n_samples, size_t n_features,
                              syn_dataset **out, size_t *n_values)
{
    if (!x || !out || n_samples == 0 || n_features == 0)
        return SYN_ERR_INVALID_ARGUMENT;
    if (!syn_mul_size(n_samples, n_features, n_values))
        return SYN_ERR_OVERFLOW;
    return SYN_OK;
}

/* Labels must be valid before anything is copied: a failing call leaves
 * *out alone. */
static syn_status check_labels(const uint32_t *labels, size_t n_samples, size_t n_classes)
{
    if (!labels || n_classes == 0 || n_classes > (size_t)UINT32_MAX + 1u)
        return SYN_ERR_INVALID_ARGUMENT;
    for (size_t i = 0; i < n_samples; i++)
        if (labels[i] >= n_classes)
            return SYN_ERR_INVALID_ARGUMENT;
    return SYN_OK;
}

syn_status syn_dataset_from_floats(const float *x, size_t n_samples, size_t n_features,
                                   const float *targets, size_t n_targets, syn_dataset **out)
{
    size_t n_values, n_target_values;
    syn_status status = check_shape(x, n_samples, n_features, out, &n_values);
    if (status != SYN_OK)
        return status;
    if ((targets == NULL) != (n_targets == 0))
        return SYN_ERR_INVALID_ARGUMENT;
    if (!syn_mul_size(n_samples, n_targets, &n_target_values))
        return SYN_ERR_OVERFLOW;

    syn_dataset_parts parts = {.n_samples = n_samples, .n_features = n_features,
                               .n_targets = n_targets};
    parts.x_f32 = copy_array(x, n_values, sizeof(float), &status);
    if (parts.x_f32 && targets)
        parts.targets = copy_array(targets, n_target_values, sizeof(float), &status);
    if (!parts.x_f32 || (targets && !parts.targets)) {
        syn_dataset_parts_release(&parts);
        return status;
    }
    return syn_dataset_adopt(&parts, out);
}

/* Shared by the float and uint8 labelled constructors: x is already copied
 * into parts. */
static syn_status finish_labelled(syn_dataset_parts *parts, const uint32_t *labels,
                                  syn_dataset **out)
{
    syn_status status = SYN_OK;
    parts->labels = copy_array(labels, parts->n_samples, sizeof(uint32_t), &status);
    if (!parts->labels) {
        syn_dataset_parts_release(parts);
        return status;
    }
    return syn_dataset_adopt(parts, out);
}

/* A labelled dataset whose features are `elem` bytes each (float or uint8),
 * copied into the matching array of the parts. */
static syn_status from_labels_as(const void *x, size_t elem, size_t n_samples,
                                 size_t n_features, const uint32_t *labels, size_t n_classes,
                                 syn_dataset **out)
{
    size_t n_values;
    syn_status status = check_shape(x, n_samples, n_features, out, &n_values);
    if (status == SYN_OK)
        status = check_labels(labels, n_samples, n_classes);
    if (status != SYN_OK)
        return status;
    syn_dataset_parts parts = {.n_samples = n_samples, .n_features = n_features,
                               .n_classes = n_classes};
    void *copy = copy_array(x, n_values, elem, &status);
    if (!copy)
        return status;
    if (elem == sizeof(float))
        parts.x_f32 = copy;
    else
        parts.x_u8 = copy;
    return finish_labelled(&parts, labels, out);
}

syn_status syn_dataset_from_labels(const float *x, size_t n_samples, size_t n_features,
                                   const uint32_t *labels, size_t n_classes, syn_dataset **out)
{
    return from_labels_as(x, sizeof(float), n_samples, n_features, labels, n_classes, out);
}

syn_status syn_dataset_from_u8_labels(const uint8_t *x, size_t n_samples, size_t n_features,
                                      const uint32_t *labels, size_t n_classes,
                                      syn_dataset **out)
{
    return from_labels_as(x, sizeof(uint8_t), n_samples, n_features, labels, n_classes, out);
}

/* --------------------------------------------------------------- accessors */

size_t syn_dataset_n_samples(const syn_dataset *ds)
{
    return ds ? ds->p.n_samples : 0;
}

syn_status syn_dataset_shape(const syn_dataset *ds, size_t shape[3])
{
    if (!ds || !shape)
        return SYN_ERR_INVALID_ARGUMENT;
    if (ds->p.shape[0] == 0) {
        shape[0] = ds->p.n_features;
        shape[1] = shape[2] = 1;
    } else {
        memcpy(shape, ds->p.shape, 3 * sizeof *shape);
    }
    return SYN_OK;
}

syn_status syn_dataset_set_shape(syn_dataset *ds, const size_t shape[3])
{
    size_t n;
    if (!ds || !shape || shape[0] == 0 || shape[1] == 0 || shape[2] == 0 ||
        !syn_mul_size(shape[0], shape[1], &n) || !syn_mul_size(n, shape[2], &n) ||
        n != ds->p.n_features)
        return SYN_ERR_SHAPE;
    memcpy(ds->p.shape, shape, 3 * sizeof *shape);
    return SYN_OK;
}

size_t syn_dataset_n_features(const syn_dataset *ds)
{
    return ds ? ds->p.n_features : 0;
}

size_t syn_dataset_target_width(const syn_dataset *ds)
{
    if (!ds)
        return 0;
    return ds->p.labels ? ds->p.n_classes : ds->p.n_targets;
}

size_t syn_dataset_n_classes(const syn_dataset *ds)
{
    return ds ? ds->p.n_classes : 0;
}

syn_status syn_dataset_set_n_classes(syn_dataset *ds, size_t n_classes)
{
    if (!ds || !ds->p.labels || n_classes < ds->p.n_classes || n_classes > UINT32_MAX)
        return SYN_ERR_INVALID_ARGUMENT;
    /* Names, when the file gave them, must cover every class. */
    if (ds->p.class_names && n_classes != ds->p.n_class_names)
        return SYN_ERR_SHAPE;
    ds->p.n_classes = n_classes;
    return SYN_OK;
}

syn_status syn_dataset_label(const syn_dataset *ds, size_t i, uint32_t *label)
{
    if (!ds || !label || !ds->p.labels || i >= ds->p.n_samples)
        return SYN_ERR_INVALID_ARGUMENT;
    *label = ds->p.labels[i];
    return SYN_OK;
}

const char *syn_dataset_class_name(const syn_dataset *ds, size_t i)
{
    if (!ds || !ds->p.class_names || i >= ds->p.n_class_names)
        return NULL;
    return ds->p.class_names[i];
}

size_t syn_dataset_n_class_names(const syn_dataset *ds)
{
    return ds ? ds->p.n_class_names : 0;
}

const char *syn_dataset_feature_name(const syn_dataset *ds, size_t i)
{
    if (!ds || !ds->p.feature_names || i >= ds->p.n_features)
        return NULL;
    return ds->p.feature_names[i];
}

/* ------------------------------------------------------------------ gather */

int syn_dataset_rows_ok(const syn_dataset *ds, const size_t *rows, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (rows[i] >= ds->p.n_samples)
            return 0;
    return 1;
}

SYN_VECTOR_CLONES
void syn_dataset_gather_scaled(const syn_dataset *ds, const size_t *rows, size_t count,
                               const float *offset, const float *mul, float *x)
{
    size_t f = ds->p.n_features;
    size_t row_bytes = f * (ds->p.x_f32 ? sizeof(float) : 1);
    for (size_t i = 0; i < count; i++) {
        float *dst = x + i * f;
        /* Training visits rows in random order, so the hardware prefetcher
         * cannot see the next row coming: ask for it a row ahead. */
        if (i + 1 < count && rows[i + 1] != rows[i] + 1) {
            const char *next = ds->p.x_f32 ? (const char *)(ds->p.x_f32 + rows[i + 1] * f)
                                           : (const char *)(ds->p.x_u8 + rows[i + 1] * f);
            for (size_t at = 0; at < row_bytes; at += 64)
                __builtin_prefetch(next + at);
        }
        if (ds->p.x_f32) {
            const float *src = ds->p.x_f32 + rows[i] * f;
            if (offset)
                for (size_t j = 0; j < f; j++)
                    dst[j] = (src[j] - offset[j]) * mul[j];
            else
                memcpy(dst, src, f * sizeof(float));
        } else {
            const uint8_t *src = ds->p.x_u8 + rows[i] * f;
            if (offset)
                for (size_t j = 0; j < f; j++)
                    dst[j] = ((float)src[j] - offset[j]) * mul[j];
            else
                for (size_t j = 0; j < f; j++)
                    dst[j] = (float)src[j];
        }
    }
}

void syn_dataset_gather_targets(const syn_dataset *ds, const size_t *rows, size_t count,
                                float *y)
{
    size_t width = syn_dataset_target_width(ds);
    for (size_t i = 0; i < count; i++) {
        float *dst = y + i * width;
        if (ds->p.labels) {
            memset(dst, 0, width * sizeof(float));
            dst[ds->p.labels[rows[i]]] = 1.0f;
        } else if (width > 0) {
            memcpy(dst, ds->p.targets + rows[i] * width, width * sizeof(float));
        }
    }
}

syn_status syn_dataset_gather(const syn_dataset *ds, const size_t *rows, size_t count, float *x,
                              float *y)
{
    if (!ds || !rows || !x || count == 0)
        return SYN_ERR_INVALID_ARGUMENT;
    /* All rows are checked before anything is written, so a failing call
     * leaves x and y untouched. Sizes of x and y fit because the caller
     * allocated them; count * width cannot overflow for a real buffer. */
    if (!syn_dataset_rows_ok(ds, rows, count))
        return SYN_ERR_INVALID_ARGUMENT;
    syn_dataset_gather_scaled(ds, rows, count, NULL, NULL, x);
    if (y)
        syn_dataset_gather_targets(ds, rows, count, y);
    return SYN_OK;
}

const syn_encoding *syn_dataset_encoding(const syn_dataset *ds)
{
    return ds ? ds->p.encoding : NULL;
}

size_t syn_dataset_n_unseen(const syn_dataset *ds)
{
    return ds ? ds->p.n_unseen : 0;
}

size_t syn_dataset_n_missing(const syn_dataset *ds)
{
    return ds ? ds->p.n_missing : 0;
}

/* ------------------------------------------------------------- imputation */

static int is_missing(const syn_dataset *ds, size_t row, size_t col)
{
    size_t bit = row * ds->p.encoding->n_columns + col;
    return ds->p.missing && (ds->p.missing[bit / 8] >> (bit % 8)) & 1u;
}

/* The fill of one column from the present fields of the given rows: the
 * mean (in double) of a numeric column, the most frequent category of a
 * categorical one (the first in category order on a tie). Returns 0 when
 * no row has the field, leaving the fill as it was. */
static int fit_fill(const syn_dataset *ds, const size_t *rows, size_t count,
                    syn_enc_column *c, size_t col, size_t *tally)
{
    const float *x = ds->p.x_f32;
    size_t f = ds->p.n_features, present = 0;
    double sum = 0.0;
    if (c->kind == SYN_COLUMN_CATEGORICAL)
        memset(tally, 0, c->width * sizeof *tally);
    for (size_t i = 0; i < count; i++) {
        size_t r = rows ? rows[i] : i;
        if (is_missing(ds, r, col))
            continue;
        present++;
        const float *v = x + r * f + c->first;
        if (c->kind == SYN_COLUMN_NUMERIC) {
            sum += v[0];
            continue;
        }
        for (size_t k = 0; k < c->width; k++)
            if (v[k] != 0.0f)
                tally[k]++;
    }
    if (present == 0)
        return 0;
    if (c->kind == SYN_COLUMN_NUMERIC) {
        c->fill = (float)(sum / (double)present);
        return 1;
    }
    size_t best = 0;
    for (size_t k = 1; k < c->width; k++)
        if (tally[k] > tally[best])
            best = k;
    c->fill_category = best;
    return 1;
}

syn_status syn_dataset_fit_imputation(syn_dataset *ds, const size_t *rows, size_t count)
{
    if (!ds)
        return SYN_ERR_INVALID_ARGUMENT;
    if (!ds->p.encoding || !ds->p.learned)
        return SYN_ERR_STATE;
    if (!rows)
        count = ds->p.n_samples;
    if (count == 0 || (rows && !syn_dataset_rows_ok(ds, rows, count)))
        return SYN_ERR_INVALID_ARGUMENT;
    syn_encoding *enc = ds->p.encoding;
    size_t widest = 1;
    for (size_t j = 0; j < enc->n_columns; j++)
        if (enc->columns[j].width > widest)
            widest = enc->columns[j].width;
    size_t *tally = calloc(widest, sizeof *tally);
    if (!tally)
        return SYN_ERR_OUT_OF_MEMORY;
    size_t f = ds->p.n_features;
    for (size_t j = 0; j < enc->n_columns; j++) {
        syn_enc_column *c = &enc->columns[j];
        fit_fill(ds, rows, count, c, j, tally);
        for (size_t r = 0; ds->p.missing && r < ds->p.n_samples; r++) {
            if (!is_missing(ds, r, j))
                continue;
            float *v = ds->p.x_f32 + r * f + c->first;
            if (c->kind == SYN_COLUMN_NUMERIC) {
                v[0] = c->fill;
            } else {
                memset(v, 0, c->width * sizeof *v);
                v[c->fill_category] = 1.0f;
            }
        }
    }
    free(tally);
    return SYN_OK;
}

/* ----------------------------------------------------------------- scaling */

static double feature_value(const syn_dataset *ds, size_t row, size_t j)
{
    size_t at = row * ds->p.n_features + j;
    return ds->p.x_f32 ? (double)ds->p.x_f32[at] : (double)ds->p.x_u8[at];
}

/* The dataset row behind the i-th fitted row (rows NULL: all rows). */
static size_t fit_row(const size_t *rows, size_t i)
{
    return rows ? rows[i] : i;
}

/* Min-max: x' = (x - min) / (max - min). A constant feature keeps scale 1,
 * so it maps to 0 instead of dividing by zero. */
static void fit_minmax(const syn_dataset *ds, const size_t *rows, size_t count, float *offset,
                       float *scale)
{
    for (size_t j = 0; j < ds->p.n_features; j++) {
        double lo = feature_value(ds, fit_row(rows, 0), j);
        double hi = lo;
        for (size_t i = 1; i < count; i++) {
            double v = feature_value(ds, fit_row(rows, i), j);
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
        }
        offset[j] = (float)lo;
        scale[j] = hi > lo ? (float)(1.0 / (hi - lo)) : 1.0f;
    }
}

/* Standardisation with the population standard deviation (numpy's std,
 * sklearn's StandardScaler), in double and in two passes (mean first, then
 * squared deviations) so large offsets do not cancel. A constant feature
 * keeps scale 1 and maps to 0. */
static syn_status fit_standard(const syn_dataset *ds, const size_t *rows, size_t count,
                               float *offset, float *scale)
{
    size_t f = ds->p.n_features;
    size_t bytes;
    if (!syn_mul_size(f, 2 * sizeof(double), &bytes))
        return SYN_ERR_OVERFLOW;
    double *mean = calloc(f, 2 * sizeof(double));
    if (!mean)
        return SYN_ERR_OUT_OF_MEMORY;
    double *sq = mean + f;
    /* Row-major walks keep the reads sequential for wide datasets. */
    for (size_t i = 0; i < count; i++)
        for (size_t j = 0; j < f; j++)
            mean[j] += feature_value(ds, fit_row(rows, i), j);
    for (size_t j = 0; j < f; j++)
        mean[j] /= (double)count;
    for (size_t i = 0; i < count; i++) {
        for (size_t j = 0; j < f; j++) {
            double d = feature_value(ds, fit_row(rows, i), j) - mean[j];
            sq[j] += d * d;
        }
    }
    for (size_t j = 0; j < f; j++) {
        double std = sqrt(sq[j] / (double)count);
        offset[j] = (float)mean[j];
        scale[j] = std > 0.0 ? (float)(1.0 / std) : 1.0f;
    }
    free(mean);
    return SYN_OK;
}

syn_status syn_dataset_fit_scaling(const syn_dataset *ds, const size_t *rows, size_t count,
                                   syn_scale_kind kind, float *offset, float *scale)
{
    if (!ds || !offset || !scale || (unsigned)kind >= SYN_SCALE_COUNT_)
        return SYN_ERR_INVALID_ARGUMENT;
    if (!rows)
        count = ds->p.n_samples;
    else if (count == 0 || !syn_dataset_rows_ok(ds, rows, count))
        return SYN_ERR_INVALID_ARGUMENT;

    switch (kind) {
    case SYN_SCALE_MINMAX:
        fit_minmax(ds, rows, count, offset, scale);
        return SYN_OK;
    case SYN_SCALE_STANDARD:
        return fit_standard(ds, rows, count, offset, scale);
    case SYN_SCALE_NONE:
    case SYN_SCALE_COUNT_: /* refused above */
        break;
    }
    for (size_t j = 0; j < ds->p.n_features; j++) {
        offset[j] = 0.0f;
        scale[j] = 1.0f;
    }
    return SYN_OK;
}

/* ------------------------------------------------------------------- split */

/* 0..n-1 in a seeded random order: Fisher-Yates (Knuth's Algorithm P),
 * from the top down; syn_rng_below is unbiased, so every permutation is
 * equally likely. Returns NULL (and *st) on failure. */
static size_t *shuffled_rows(size_t n, uint64_t seed, syn_status *st)
{
    size_t bytes;
    if (!syn_mul_size(n, sizeof(size_t), &bytes)) {
        *st = SYN_ERR_OVERFLOW;
        return NULL;
    }
    size_t *perm = malloc(bytes);
    if (!perm) {
        *st = SYN_ERR_OUT_OF_MEMORY;
        return NULL;
    }
    syn_rng rng;
    syn_rng_seed(&rng, seed);
    for (size_t i = 0; i < n; i++)
        perm[i] = i;
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = (size_t)syn_rng_below(&rng, (uint64_t)i + 1);
        size_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    *st = SYN_OK;
    return perm;
}

syn_status syn_split_rows(size_t n, double val_fraction, uint64_t seed, size_t *train,
                          size_t *n_train, size_t *val, size_t *n_val)
{
    /* The negated comparison also refuses NaN. */
    if (n == 0 || !(val_fraction >= 0.0 && val_fraction < 1.0))
        return SYN_ERR_INVALID_ARGUMENT;
    size_t val_count = (size_t)floor((double)n * val_fraction + 0.5);
    if (val_count >= n)
        return SYN_ERR_INVALID_ARGUMENT; /* no training rows would be left */
    syn_status st;
    size_t *perm = shuffled_rows(n, seed, &st);
    if (!perm)
        return st;
    if (val)
        memcpy(val, perm, val_count * sizeof(size_t));
    if (train)
        memcpy(train, perm + val_count, (n - val_count) * sizeof(size_t));
    if (n_val)
        *n_val = val_count;
    if (n_train)
        *n_train = n - val_count;
    free(perm);
    return SYN_OK;
}

syn_status syn_split_rows_stratified(const syn_dataset *ds, double val_fraction, uint64_t seed,
                                     size_t *train, size_t *n_train, size_t *val,
                                     size_t *n_val)
{
    if (!ds || !(val_fraction >= 0.0 && val_fraction < 1.0))
        return SYN_ERR_INVALID_ARGUMENT;
    const syn_dataset_parts *p = &ds->p;
    if (!p->labels)
        return syn_split_rows(p->n_samples, val_fraction, seed, train, n_train, val, n_val);
    /* quota[c]: the validation rows class c gives, then what is left of it. */
    size_t *quota = calloc(p->n_classes, sizeof *quota);
    if (!quota)
        return SYN_ERR_OUT_OF_MEMORY;
    for (size_t i = 0; i < p->n_samples; i++)
        quota[p->labels[i]]++;
    for (size_t c = 0; c < p->n_classes; c++) {
        size_t want = (size_t)floor((double)quota[c] * val_fraction + 0.5);
        quota[c] = quota[c] == 0 ? 0 : want < quota[c] ? want : quota[c] - 1;
    }
    syn_status st;
    size_t *perm = shuffled_rows(p->n_samples, seed, &st);
    if (!perm) {
        free(quota);
        return st;
    }
    /* One pass in the shuffled order: a row goes to validation while its
     * class still owes rows, so the chosen rows are a uniform draw within
     * each class and both parts keep the shuffled order. */
    size_t nv = 0, nt = 0;
    for (size_t i = 0; i < p->n_samples; i++) {
        size_t row = perm[i];
        uint32_t c = p->labels[row];
        if (quota[c] > 0) {
            quota[c]--;
            if (val)
                val[nv] = row;
            nv++;
        } else {
            if (train)
                train[nt] = row;
            nt++;
        }
    }
    free(perm);
    free(quota);
    if (n_val)
        *n_val = nv;
    if (n_train)
        *n_train = nt;
    return SYN_OK;
}

/* ------------------------------------------------------- target scaling */

syn_status syn_dataset_fit_target_scaling(const syn_dataset *ds, const size_t *rows,
                                          size_t count, float *offset, float *scale)
{
    if (!ds || !offset || !scale || !ds->p.targets)
        return SYN_ERR_INVALID_ARGUMENT;
    if (!rows)
        count = ds->p.n_samples;
    else if (count == 0 || !syn_dataset_rows_ok(ds, rows, count))
        return SYN_ERR_INVALID_ARGUMENT;
    size_t t = ds->p.n_targets;
    /* Per column, in double and in two passes, as fit_standard does for
     * features (the columns are few; the reads stride over rows). */
    for (size_t j = 0; j < t; j++) {
        double mean = 0.0, sq = 0.0;
        for (size_t i = 0; i < count; i++)
            mean += (double)ds->p.targets[fit_row(rows, i) * t + j];
        mean /= (double)count;
        for (size_t i = 0; i < count; i++) {
            double d = (double)ds->p.targets[fit_row(rows, i) * t + j] - mean;
            sq += d * d;
        }
        double std = sqrt(sq / (double)count);
        offset[j] = (float)mean;
        scale[j] = std > 0.0 && isfinite(1.0 / std) ? (float)(1.0 / std) : 1.0f;
    }
    return SYN_OK;
}

syn_status syn_dataset_scale_targets(syn_dataset *ds, const float *offset, const float *scale)
{
    if (!ds || !offset || !scale || !ds->p.targets)
        return SYN_ERR_INVALID_ARGUMENT;
    size_t t = ds->p.n_targets;
    for (size_t j = 0; j < t; j++)
        if (!isfinite(offset[j]) || !isfinite(scale[j]) || scale[j] == 0.0f)
            return SYN_ERR_INVALID_ARGUMENT;
    for (size_t i = 0; i < ds->p.n_samples; i++)
        for (size_t j = 0; j < t; j++) {
            float *v = &ds->p.targets[i * t + j];
            *v = (float)(((double)*v - (double)offset[j]) * (double)scale[j]);
        }
    return SYN_OK;
}
