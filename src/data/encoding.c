/* encoding.c - owns syn_encoding: the per-column description of how the
 * raw fields of a table row become a network's input vector (numeric
 * columns with their imputed value, categorical columns one-hot over
 * their learned categories, the spellings of a missing field, the target
 * names), its accessors, and the encoding of one row of text fields
 * (syn_encode_fields; syn_net_predict_fields is in core/net_fields.c). The CSV reader (csv.c)
 * learns encodings and applies them to whole files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/encoding.h"
#include "base/util.h"

/* The spellings pandas' read_csv treats as missing that real exports use
 * most (pandas.read_csv, na_values: "NA", "N/A", "NaN", "null", ...),
 * compared ignoring case; "?" is the UCI repository's. */
static const char *const default_na[] = {"NA", "N/A", "NaN", "null", "?"};

syn_status syn_encoding_set_strings(char ***dst, size_t *n_dst, const char *const *src,
                                    size_t count)
{
    char **copy = NULL;
    if (src && count) {
        copy = calloc(count, sizeof *copy);
        if (!copy)
            return SYN_ERR_OUT_OF_MEMORY;
        for (size_t i = 0; i < count; i++) {
            copy[i] = syn_strdup(src[i] ? src[i] : "");
            if (!copy[i]) {
                for (size_t j = 0; j < i; j++)
                    free(copy[j]);
                free(copy);
                return SYN_ERR_OUT_OF_MEMORY;
            }
        }
    } else {
        count = 0;
    }
    for (size_t i = 0; *dst && i < *n_dst; i++)
        free((*dst)[i]);
    free(*dst);
    *dst = copy;
    *n_dst = count;
    return SYN_OK;
}

syn_status syn_encoding_new(size_t n_columns, syn_encoding **out)
{
    *out = NULL;
    syn_encoding *enc = calloc(1, sizeof *enc);
    if (!enc)
        return SYN_ERR_OUT_OF_MEMORY;
    size_t bytes;
    if (!syn_mul_size(n_columns ? n_columns : 1, sizeof *enc->columns, &bytes)) {
        free(enc);
        return SYN_ERR_OVERFLOW;
    }
    enc->columns = calloc(1, bytes);
    syn_status st = enc->columns ? SYN_OK : SYN_ERR_OUT_OF_MEMORY;
    enc->n_columns = enc->columns ? n_columns : 0;
    for (size_t i = 0; st == SYN_OK && i < n_columns; i++) {
        enc->columns[i].name = syn_strdup("");
        enc->columns[i].width = 1;
        if (!enc->columns[i].name)
            st = SYN_ERR_OUT_OF_MEMORY;
    }
    if (st == SYN_OK)
        st = syn_encoding_set_strings(&enc->na_values, &enc->n_na_values, default_na,
                                      sizeof default_na / sizeof default_na[0]);
    if (st != SYN_OK) {
        syn_encoding_free(enc);
        return st;
    }
    enc->n_inputs = n_columns;
    *out = enc;
    return SYN_OK;
}

void syn_encoding_free(syn_encoding *enc)
{
    if (!enc)
        return;
    for (size_t i = 0; i < enc->n_columns; i++) {
        syn_enc_column *c = &enc->columns[i];
        free(c->name);
        for (size_t k = 0; c->categories && k < c->n_categories; k++)
            free(c->categories[k]);
        free(c->categories);
    }
    free(enc->columns);
    syn_encoding_set_strings(&enc->na_values, &enc->n_na_values, NULL, 0);
    syn_encoding_set_strings(&enc->target_names, &enc->n_targets, NULL, 0);
    free(enc);
}

syn_status syn_encoding_clone(const syn_encoding *enc, syn_encoding **out)
{
    if (!enc || !out)
        return SYN_ERR_INVALID_ARGUMENT;
    syn_encoding *copy = NULL;
    syn_status st = syn_encoding_new(enc->n_columns, &copy);
    for (size_t i = 0; st == SYN_OK && i < enc->n_columns; i++) {
        const syn_enc_column *src = &enc->columns[i];
        syn_enc_column *dst = &copy->columns[i];
        char *name = syn_strdup(src->name);
        if (!name) {
            st = SYN_ERR_OUT_OF_MEMORY;
            break;
        }
        free(dst->name);
        *dst = *src;
        dst->name = name;
        dst->categories = NULL;
        dst->n_categories = 0;
        st = syn_encoding_set_strings(&dst->categories, &dst->n_categories,
                                      (const char *const *)src->categories, src->n_categories);
    }
    if (st == SYN_OK)
        st = syn_encoding_set_strings(&copy->na_values, &copy->n_na_values,
                                      (const char *const *)enc->na_values, enc->n_na_values);
    if (st == SYN_OK)
        st = syn_encoding_set_strings(&copy->target_names, &copy->n_targets,
                                      (const char *const *)enc->target_names, enc->n_targets);
    if (st != SYN_OK) {
        syn_encoding_free(copy);
        return st;
    }
    copy->n_inputs = enc->n_inputs;
    *out = copy;
    return SYN_OK;
}

int syn_encoding_finish(syn_encoding *enc, const char **why)
{
    size_t at = 0;
    for (size_t i = 0; i < enc->n_columns; i++) {
        syn_enc_column *c = &enc->columns[i];
        if (c->kind == SYN_COLUMN_NUMERIC) {
            if (c->n_categories || !(c->fill - c->fill == 0.0f)) {
                *why = "a numeric column with categories or a fill that is not finite";
                return 0;
            }
            c->width = 1;
        } else if (c->kind == SYN_COLUMN_CATEGORICAL) {
            if (c->n_categories == 0 || c->fill_category >= c->n_categories) {
                *why = "a categorical column without categories or with a fill out of range";
                return 0;
            }
            for (size_t k = 1; k < c->n_categories; k++)
                if (strcmp(c->categories[k - 1], c->categories[k]) >= 0) {
                    *why = "categories that are not distinct and sorted";
                    return 0;
                }
            c->width = c->n_categories;
        } else {
            *why = "an unknown column kind";
            return 0;
        }
        c->first = at;
        if (!syn_add_size(at, c->width, &at)) {
            *why = "an encoded width that overflows";
            return 0;
        }
    }
    if (enc->n_columns == 0 || at == 0) {
        *why = "no input column";
        return 0;
    }
    enc->n_inputs = at;
    return 1;
}

void syn_trim_field(const char **s, size_t *len)
{
    while (*len > 0 && (**s == ' ' || **s == '\t'))
        (*s)++, (*len)--;
    while (*len > 0 && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t'))
        (*len)--;
}

static int equal_ignoring_case(const char *a, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char x = (unsigned char)a[i], y = (unsigned char)s[i];
        if (x == '\0')
            return 0;
        if (x >= 'A' && x <= 'Z')
            x = (unsigned char)(x + 32);
        if (y >= 'A' && y <= 'Z')
            y = (unsigned char)(y + 32);
        if (x != y)
            return 0;
    }
    return a[len] == '\0';
}

int syn_encoding_is_missing(const syn_encoding *enc, const char *s, size_t len)
{
    if (len == 0)
        return 1;
    for (size_t k = 0; k < enc->n_na_values; k++)
        if (equal_ignoring_case(enc->na_values[k], s, len))
            return 1;
    return 0;
}

/* strcmp order of a category against s[0..len), which holds no NUL. */
static int compare_text(const char *category, const char *s, size_t len)
{
    int c = strncmp(category, s, len);
    if (c != 0)
        return c;
    return category[len] != '\0';
}

int syn_encoding_find_category(const syn_enc_column *c, const char *s, size_t len, size_t *k)
{
    size_t lo = 0, hi = c->n_categories;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int cmp = compare_text(c->categories[mid], s, len);
        if (cmp == 0) {
            *k = mid;
            return 1;
        }
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

/* ------------------------------------------------------------ accessors */

size_t syn_encoding_n_columns(const syn_encoding *enc)
{
    return enc ? enc->n_columns : 0;
}

size_t syn_encoding_n_inputs(const syn_encoding *enc)
{
    return enc ? enc->n_inputs : 0;
}

syn_status syn_encoding_column(const syn_encoding *enc, size_t i, syn_column_info *info)
{
    if (!enc || !info || i >= enc->n_columns)
        return SYN_ERR_INVALID_ARGUMENT;
    const syn_enc_column *c = &enc->columns[i];
    *info = (syn_column_info){.name = c->name, .kind = c->kind, .first_input = c->first,
                              .width = c->width, .fill = c->fill,
                              .fill_category = c->fill_category};
    return SYN_OK;
}

const char *syn_encoding_category(const syn_encoding *enc, size_t i, size_t k)
{
    if (!enc || i >= enc->n_columns || k >= enc->columns[i].n_categories)
        return NULL;
    return enc->columns[i].categories[k];
}

syn_status syn_encoding_find_column(const syn_encoding *enc, const char *name, size_t *i)
{
    if (!enc || !name || !i)
        return SYN_ERR_INVALID_ARGUMENT;
    for (size_t j = 0; j < enc->n_columns; j++)
        if (!strcmp(enc->columns[j].name, name)) {
            *i = j;
            return SYN_OK;
        }
    return SYN_ERR_NOT_FOUND;
}

size_t syn_encoding_n_na_values(const syn_encoding *enc)
{
    return enc ? enc->n_na_values : 0;
}

const char *syn_encoding_na_value(const syn_encoding *enc, size_t k)
{
    return enc && k < enc->n_na_values ? enc->na_values[k] : NULL;
}

size_t syn_encoding_n_targets(const syn_encoding *enc)
{
    return enc ? enc->n_targets : 0;
}

const char *syn_encoding_target_name(const syn_encoding *enc, size_t k)
{
    return enc && k < enc->n_targets ? enc->target_names[k] : NULL;
}

/* ---------------------------------------------------------- one row */

/* The name of column i for messages: its header name, else its number. */
static const char *column_label(const syn_encoding *enc, size_t i, char *buf, size_t cap)
{
    if (enc->columns[i].name[0])
        snprintf(buf, cap, "\"%.200s\"", enc->columns[i].name);
    else
        snprintf(buf, cap, "%zu", i + 1);
    return buf;
}

syn_status syn_encode_fields(const syn_encoding *enc, const char *const *fields,
                             size_t n_fields, int strict, float *x, size_t *n_unseen,
                             syn_error *err)
{
    if (!enc || !fields || !x) {
        syn_set_error(err, "invalid argument: NULL encoding, fields or output");
        return SYN_ERR_INVALID_ARGUMENT;
    }
    if (n_fields != enc->n_columns) {
        syn_set_error(err, "expected %zu fields (the encoding's columns), found %zu",
                      enc->n_columns, n_fields);
        return SYN_ERR_INVALID_ARGUMENT;
    }
    char decimal_point = syn_locale_decimal_point();
    size_t unseen = 0;
    char label[256];
    for (size_t i = 0; i < enc->n_columns; i++) {
        const syn_enc_column *c = &enc->columns[i];
        const char *s = fields[i] ? fields[i] : "";
        size_t len = strlen(s);
        syn_trim_field(&s, &len);
        int missing = !fields[i] || syn_encoding_is_missing(enc, s, len);
        float *out = x + c->first;
        if (c->kind == SYN_COLUMN_NUMERIC) {
            if (missing) {
                *out = c->fill;
                continue;
            }
            syn_num_result r = syn_parse_number(s, len, decimal_point, out);
            if (r != SYN_NUM_OK) {
                syn_set_error(err, "column %s: expected a %snumber, found \"%.40s\"",
                              column_label(enc, i, label, sizeof label),
                              r == SYN_NUM_NOT_FINITE ? "finite " : "", s);
                return SYN_ERR_PARSE;
            }
            continue;
        }
        size_t k = c->fill_category;
        memset(out, 0, c->width * sizeof *out);
        if (!missing && !syn_encoding_find_category(c, s, len, &k)) {
            if (strict) {
                syn_set_error(err, "column %s: expected one of its %zu categories, found "
                              "\"%.40s\"", column_label(enc, i, label, sizeof label),
                              c->n_categories, s);
                return SYN_ERR_NOT_FOUND;
            }
            unseen++;
            continue;
        }
        out[k] = 1.0f;
    }
    if (n_unseen)
        *n_unseen = unseen;
    return SYN_OK;
}

