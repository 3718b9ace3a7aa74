/* encoding.h - the private layout of syn_encoding (encoding.c), shared by
 * the modules that build it (csv.c), keep it (net.c, dataset.c), store it
 * (model_file.c) and export it (onnx_export.c, c_export.c). Not public. */
#ifndef SYN_ENCODING_H
#define SYN_ENCODING_H

#include "synapse.h"

typedef struct syn_enc_column {
    char *name;
    syn_column_kind kind;
    size_t first, width;    /* place in the encoded vector */
    float fill;             /* numeric: imputed value */
    size_t fill_category;   /* categorical: imputed category */
    char **categories;      /* categorical: sorted by strcmp, distinct */
    size_t n_categories;
} syn_enc_column;

struct syn_encoding {
    syn_enc_column *columns;
    size_t n_columns, n_inputs;
    char **na_values;
    size_t n_na_values;
    char **target_names;
    size_t n_targets;
};

/* A new encoding of n_columns zeroed numeric columns with empty names and
 * the default missing spellings. Errors: OVERFLOW, OUT_OF_MEMORY. */
syn_status syn_encoding_new(size_t n_columns, syn_encoding **out);

/* Replaces a string list with copies of src[0..count) (src NULL: empty). */
syn_status syn_encoding_set_strings(char ***dst, size_t *n_dst, const char *const *src,
                                    size_t count);

/* Computes first/width of every column and n_inputs; checks that every
 * categorical column has distinct sorted categories and a fill category in
 * range, and every fill is finite. Returns 0 (with *why set) when not. */
int syn_encoding_finish(syn_encoding *enc, const char **why);

/* Whether s[0..len) (already trimmed) spells a missing field. */
int syn_encoding_is_missing(const syn_encoding *enc, const char *s, size_t len);

/* The index of s[0..len) among column c's categories. */
int syn_encoding_find_category(const syn_enc_column *c, const char *s, size_t len, size_t *k);

/* Drops spaces and tabs at both ends of s[0..*len). */
void syn_trim_field(const char **s, size_t *len);

/* The number a field holds (syntax of docs/DATA.md); the result kinds let
 * callers word the error. */
typedef enum syn_num_result {
    SYN_NUM_OK, SYN_NUM_EMPTY, SYN_NUM_SYNTAX, SYN_NUM_NOT_FINITE, SYN_NUM_RANGE
} syn_num_result;
syn_num_result syn_parse_number(const char *s, size_t len, char decimal_point, float *out);

/* The decimal point of the current C locale, for strtof. */
char syn_locale_decimal_point(void);

#endif
