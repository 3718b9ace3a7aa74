/* csv.c - owns syn_dataset_load_csv: a streaming RFC 4180 reader (quoted
 * fields, doubled quotes, embedded newlines, CRLF), header detection,
 * target column selection, strict number parsing, the mapping of class
 * labels to class ids, and the input encoding: learned from the file (the
 * kind, categories and missing fields of each column; a second pass when a
 * column is text) or applied from a model's, its columns found by name.
 * Every error names path:line:column. The rules are written up for users
 * in docs/DATA.md. */
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/dataset_internal.h"
#include "data/encoding.h"
#include "base/util.h"

#ifdef SYN_HAVE_ZLIB
#include <unistd.h>
#include <zlib.h>
#endif

#define CSV_CHUNK ((size_t)1 << 16)
#define CSV_FIRST_ROWS ((size_t)256)
#define CSV_QUOTE_MAX 40

/* ------------------------------------------------------------------ reader */

/* One field of a record: text[start .. start + len) of the record, followed
 * by a NUL. line and col (1-based, in bytes) are where the field starts. */
typedef struct csv_field {
    size_t start, len;
    size_t line, col;
    int quoted;
} csv_field;

typedef struct csv_record {
    char *text;
    size_t text_len, text_cap;
    csv_field *fields;
    size_t n_fields, fields_cap;
    size_t end_line, end_col; /* just past the last field */
    size_t limit;             /* options.max_bytes: a row may not buffer more (0: none) */
} csv_record;

/* Bytes come through a fixed buffer, so files of any size stream through
 * in constant memory apart from the parsed values. */
typedef struct csv_reader {
    FILE *fp;
#ifdef SYN_HAVE_ZLIB
    gzFile gz;            /* a gzip-compressed file, read through zlib */
#endif
    const char *gz_error; /* zlib's reason for a failed read */
    unsigned char *buf;
    size_t len, pos;
    int at_eof;
    int read_errno; /* nonzero once fread failed */
    size_t line, col; /* position of the next byte */
} csv_reader;

/* A class label string to class id table (open addressing, FNV-1a). */
typedef struct class_map {
    char **names; /* [count], by class id */
    size_t count, cap;
    size_t *slots; /* class id + 1; 0 is an empty slot */
    size_t n_slots;
} class_map;

typedef struct csv_load {
    const char *path;
    syn_error *err;
    syn_csv_options opt;
    char decimal_point; /* of the current C locale, for strtof */
    csv_reader rd;
    csv_record rec[2];
    size_t n_cols;
    unsigned char *is_target; /* [n_cols] */
    size_t *slot;             /* [n_cols]: index among features or targets */
    size_t n_features, n_targets;
    size_t n_rows, cap_rows;
    float *x;         /* [cap_rows x n_features] */
    float *targets;   /* [cap_rows x n_targets], regression */
    uint32_t *labels; /* [cap_rows], classification */
    class_map classes;
    int fixed_classes; /* the classes came from options.class_names */
    char **feature_names;
    /* The input encoding: learned from the file in a first pass over it
     * (learn), or a copy of options.encoding applied in one pass. */
    syn_encoding *enc;
    int learn;
    int has_header;
    size_t *feature_col;      /* [n_cols]: the encoding column of a file column, or NONE */
    struct col_stats *stats;  /* [n_stats], learning only */
    size_t n_stats;
    unsigned char *missing;   /* learning: bitmap [n_rows x n_columns] of imputed fields */
    size_t n_missing, n_unseen;
    size_t missing_rows;      /* rows the bitmap holds */
    size_t scanned_rows;      /* rows seen by the learning pass */
    /* Learning: the values are stored in the first pass too while every
     * input column is numeric, so an all-numeric file is read once. */
    int storing;
} csv_load;

#define NONE ((size_t)-1)

/* What the learning pass notes about one input column. */
typedef struct col_stats {
    int numeric;        /* every present field so far is a number */
    int forced;         /* options.categorical names it */
    size_t present;
    class_map texts;    /* distinct texts, while at most max_categories */
    size_t *counts;     /* [texts.count] occurrences */
    size_t counts_cap;
    int exploded;       /* a text beyond max_categories was seen */
    size_t boom_line, boom_col;
} col_stats;

static int rd_fill(csv_reader *r)
{
    if (r->at_eof)
        return 0;
#ifdef SYN_HAVE_ZLIB
    if (r->gz) {
        int got = gzread(r->gz, r->buf, (unsigned)CSV_CHUNK);
        r->pos = 0;
        r->len = got > 0 ? (size_t)got : 0;
        if (got <= 0) {
            int code = Z_OK;
            const char *why = gzerror(r->gz, &code);
            r->at_eof = 1;
            if (got < 0 || (code != Z_OK && code != Z_STREAM_END)) {
                /* zlib names the descriptor first ("<fd:4>: ..."): not a path. */
                const char *colon = why && why[0] == '<' ? strstr(why, ": ") : NULL;
                r->read_errno = EIO;
                r->gz_error = colon ? colon + 2 : why ? why : "read error";
            }
            return 0;
        }
        return 1;
    }
#endif
    r->len = fread(r->buf, 1, CSV_CHUNK, r->fp);
    r->pos = 0;
    if (r->len == 0) {
        r->at_eof = 1;
        if (ferror(r->fp))
            r->read_errno = errno ? errno : EIO;
        return 0;
    }
    return 1;
}

/* The next byte without consuming it, or -1 at the end of the file. */
static inline int rd_peek(csv_reader *r)
{
    if (r->pos == r->len && !rd_fill(r))
        return -1;
    return r->buf[r->pos];
}

/* Consumes one byte, keeping line and column right. */
static inline int rd_get(csv_reader *r)
{
    int c = rd_peek(r);
    if (c < 0)
        return c;
    r->pos++;
    if (c == '\n') {
        r->line++;
        r->col = 1;
    } else {
        r->col++;
    }
    return c;
}

/* ------------------------------------------------------------- messages */

/* Copies a field into out as printable text, cut after CSV_QUOTE_MAX bytes,
 * for quoting in a message. */
static const char *shown(char out[CSV_QUOTE_MAX + 4], const char *s, size_t len)
{
    size_t n = len < CSV_QUOTE_MAX ? len : CSV_QUOTE_MAX;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        out[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    if (n < len) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
    return out;
}

static const char *char_shown(char out[8], int c)
{
    if (c < 0)
        return "end of file";
    if (c == '\n' || c == '\r')
        return "end of line";
    if (c < 0x20 || c == 0x7f)
        snprintf(out, 8, "0x%02x", (unsigned)c & 0xffu);
    else
        snprintf(out, 8, "'%c'", c);
    return out;
}

/* ------------------------------------------------------------- records */

static syn_status grow_bytes(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return SYN_OK;
    size_t new_cap = *cap ? *cap : 64;
    while (new_cap < need)
        if (!syn_mul_size(new_cap, 2, &new_cap))
            return SYN_ERR_OVERFLOW;
    size_t bytes;
    if (!syn_mul_size(new_cap, elem, &bytes))
        return SYN_ERR_OVERFLOW;
    void *q = realloc(*p, bytes);
    if (!q)
        return SYN_ERR_OUT_OF_MEMORY;
    *p = q;
    *cap = new_cap;
    return SYN_OK;
}

/* A row's text and field table count against the memory limit too: one
 * 200 MB line must not take gigabytes under --max-memory 10M. */
static int rec_over_limit(const csv_record *rec, size_t text_need, size_t fields_need)
{
    return rec->limit && (text_need > rec->limit ||
                          fields_need > (rec->limit - text_need) / sizeof(csv_field));
}

static syn_status rec_push(csv_record *rec, char c)
{
    size_t need;
    if (!syn_add_size(rec->text_len, 2, &need)) /* the byte and a NUL */
        return SYN_ERR_OVERFLOW;
    if (need > rec->text_cap && rec_over_limit(rec, need, rec->fields_cap))
        return SYN_ERR_MEMORY_LIMIT;
    syn_status s = grow_bytes((void **)&rec->text, &rec->text_cap, need, 1);
    if (s == SYN_OK)
        rec->text[rec->text_len++] = c;
    return s;
}

static syn_status rec_begin_field(csv_record *rec, const csv_reader *r, int quoted)
{
    if (rec->n_fields + 1 > rec->fields_cap &&
        rec_over_limit(rec, rec->text_cap, rec->n_fields + 1))
        return SYN_ERR_MEMORY_LIMIT;
    syn_status s = grow_bytes((void **)&rec->fields, &rec->fields_cap, rec->n_fields + 1,
                              sizeof(csv_field));
    if (s != SYN_OK)
        return s;
    rec->fields[rec->n_fields++] = (csv_field){.start = rec->text_len, .line = r->line,
                                               .col = r->col, .quoted = quoted};
    return SYN_OK;
}

static syn_status rec_end_field(csv_record *rec)
{
    csv_field *f = &rec->fields[rec->n_fields - 1];
    f->len = rec->text_len - f->start;
    return rec_push(rec, '\0');
}

static syn_status nul_error(csv_load *L)
{
    syn_set_error(L->err, "%s:%zu:%zu: expected text, found a NUL byte (is this a binary file?)",
                  L->path, L->rd.line, L->rd.col);
    return SYN_ERR_PARSE;
}

/* Reads a quoted field; the opening quote is the next byte. */
static syn_status read_quoted(csv_load *L, csv_record *rec, char delim)
{
    csv_reader *r = &L->rd;
    const csv_field *f = &rec->fields[rec->n_fields - 1];
    rd_get(r);
    for (;;) {
        if (rd_peek(r) == 0)
            return nul_error(L);
        int c = rd_get(r);
        if (c < 0) {
            syn_set_error(L->err, "%s:%zu:%zu: expected a closing quote for the field opened "
                          "here, found end of file", L->path, f->line, f->col);
            return SYN_ERR_PARSE;
        }
        if (c == '"') {
            if (rd_peek(r) != '"')
                break;
            rd_get(r);
        }
        syn_status s = rec_push(rec, (char)c);
        if (s != SYN_OK)
            return s;
    }
    /* Spaces after the closing quote are tolerated; anything else is not. */
    while ((rd_peek(r) == ' ' || rd_peek(r) == '\t') && rd_peek(r) != delim)
        rd_get(r);
    int c = rd_peek(r);
    if (c != delim && c != '\n' && c != '\r' && c >= 0) {
        char buf[8];
        syn_set_error(L->err, "%s:%zu:%zu: expected a delimiter or end of line after the "
                      "closing quote, found %s", L->path, r->line, r->col, char_shown(buf, c));
        return SYN_ERR_PARSE;
    }
    return SYN_OK;
}

static syn_status read_unquoted(csv_load *L, csv_record *rec, char delim)
{
    csv_reader *r = &L->rd;
    for (;;) {
        int c = rd_peek(r);
        if (c < 0 || c == delim || c == '\n' || c == '\r')
            return SYN_OK;
        if (c == 0)
            return nul_error(L);
        rd_get(r);
        syn_status s = rec_push(rec, (char)c);
        if (s != SYN_OK)
            return s;
    }
}

/* Consumes "\n", "\r\n" or a lone "\r" (old Mac files) after a record. */
static void skip_line_end(csv_reader *r)
{
    if (rd_peek(r) == '\r') {
        rd_get(r);
        if (rd_peek(r) == '\n') {
            rd_get(r);
        } else {
            r->line++;
            r->col = 1;
        }
    } else if (rd_peek(r) == '\n') {
        rd_get(r);
    }
}

/* Reads one record into rec; *got is 0 at the end of the file. */
static syn_status read_record(csv_load *L, csv_record *rec, int *got)
{
    csv_reader *r = &L->rd;
    char delim = L->opt.delimiter;
    rec->n_fields = 0;
    rec->text_len = 0;
    *got = rd_peek(r) >= 0;
    if (!*got)
        return r->read_errno ? SYN_ERR_IO : SYN_OK;
    for (;;) {
        int quoted = rd_peek(r) == '"';
        syn_status s = rec_begin_field(rec, r, quoted);
        if (s == SYN_OK)
            s = quoted ? read_quoted(L, rec, delim) : read_unquoted(L, rec, delim);
        if (s == SYN_OK)
            s = rec_end_field(rec);
        if (s == SYN_ERR_MEMORY_LIMIT)
            syn_set_error(L->err, "%s:%zu:%zu: this row needs more than the memory limit of %zu "
                          "bytes to be read", L->path, r->line, r->col, rec->limit);
        if (s != SYN_OK)
            return s;
        if (rd_peek(r) != delim)
            break;
        rd_get(r);
    }
    rec->end_line = r->line;
    rec->end_col = r->col;
    skip_line_end(r);
    return r->read_errno ? SYN_ERR_IO : SYN_OK;
}

static int rec_is_blank(const csv_record *rec)
{
    return rec->n_fields == 1 && rec->fields[0].len == 0 && !rec->fields[0].quoted;
}

static const char *field_text(const csv_record *rec, size_t j)
{
    return rec->text + rec->fields[j].start;
}

/* The next non-blank record. Blank lines may only end the file: a blank
 * line followed by data would drop a row silently, so it is an error. */
static syn_status next_row(csv_load *L, csv_record *rec, int *got)
{
    size_t blank_line = 0;
    for (;;) {
        syn_status s = read_record(L, rec, got);
        if (s != SYN_OK || !*got)
            return s;
        if (!rec_is_blank(rec)) {
            if (blank_line == 0)
                return SYN_OK;
            if (L->n_cols)
                syn_set_error(L->err, "%s:%zu:1: expected a row of %zu fields, found a blank "
                              "line (blank lines are allowed only at the end)", L->path,
                              blank_line, L->n_cols);
            else
                syn_set_error(L->err, "%s:%zu:1: expected a header or a data row, found a "
                              "blank line", L->path, blank_line);
            return SYN_ERR_PARSE;
        }
        if (blank_line == 0)
            blank_line = rec->fields[0].line;
    }
}

/* -------------------------------------------------------------- numbers */

static void trim(const char **s, size_t *len)
{
    syn_trim_field(s, len);
}

static size_t count_digits(const char *s, size_t len)
{
    size_t n = 0;
    while (n < len && s[n] >= '0' && s[n] <= '9')
        n++;
    return n;
}

/* Plain decimal notation only: [+-] digits [. digits] [e [+-] digits].
 * strtof alone would also take "nan", "inf", hex floats and trailing
 * garbage, which are never meant as data here. */
static int is_decimal(const char *s, size_t len)
{
    size_t i = (len > 0 && (s[0] == '+' || s[0] == '-')) ? 1 : 0;
    size_t int_digits = count_digits(s + i, len - i);
    i += int_digits;
    size_t frac_digits = 0;
    if (i < len && s[i] == '.') {
        i++;
        frac_digits = count_digits(s + i, len - i);
        i += frac_digits;
    }
    if (int_digits + frac_digits == 0)
        return 0;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-'))
            i++;
        size_t exp_digits = count_digits(s + i, len - i);
        if (exp_digits == 0)
            return 0;
        i += exp_digits;
    }
    return i == len;
}

static int is_integer(const char *s, size_t len)
{
    size_t i = (len > 0 && (s[0] == '+' || s[0] == '-')) ? 1 : 0;
    return len > i && count_digits(s + i, len - i) == len - i;
}

/* "nan", "inf", "infinity" in any case and with a sign: numbers that
 * strtof would accept but a feature must not be. */
static int is_non_finite_word(const char *s, size_t len)
{
    static const char *const words[] = {"nan", "inf", "infinity"};
    if (len > 0 && (s[0] == '+' || s[0] == '-'))
        s++, len--;
    for (size_t w = 0; w < sizeof words / sizeof words[0]; w++) {
        size_t n = strlen(words[w]);
        size_t i = 0;
        while (i < n && i < len && (s[i] | 0x20) == words[w][i])
            i++;
        if (i == n && n == len)
            return 1;
    }
    return 0;
}

/* strtof reads the locale's decimal point; a program may have changed
 * LC_NUMERIC, so '.' is swapped for it on a copy when they differ. */
static syn_num_result convert(const char *s, size_t len, char decimal_point, float *out)
{
    char local[64];
    char *copy = NULL;
    const char *text = s;
    if (decimal_point != '.') {
        copy = len < sizeof local ? local : malloc(len + 1);
        if (!copy)
            return SYN_NUM_RANGE;
        for (size_t i = 0; i < len; i++)
            copy[i] = s[i] == '.' ? decimal_point : s[i];
        copy[len] = '\0';
        text = copy;
    }
    /* The field is followed by a space, tab or NUL, where strtof stops. */
    float v = strtof(text, NULL);
    if (copy && copy != local)
        free(copy);
    if (!isfinite(v))
        return SYN_NUM_RANGE;
    *out = v;
    return SYN_NUM_OK;
}

syn_num_result syn_parse_number(const char *s, size_t len, char decimal_point, float *out)
{
    trim(&s, &len);
    if (len == 0)
        return SYN_NUM_EMPTY;
    if (is_non_finite_word(s, len))
        return SYN_NUM_NOT_FINITE;
    if (!is_decimal(s, len))
        return SYN_NUM_SYNTAX;
    return convert(s, len, decimal_point, out);
}

static int field_is_number(const csv_record *rec, size_t j)
{
    float ignored;
    return syn_parse_number(field_text(rec, j), rec->fields[j].len, '.', &ignored) == SYN_NUM_OK;
}

/* Parses field j of rec as a float; `what` names the column's role. */
static syn_status field_float(csv_load *L, const csv_record *rec, size_t j, const char *what,
                              float *out)
{
    const csv_field *f = &rec->fields[j];
    syn_num_result res = syn_parse_number(field_text(rec, j), f->len, L->decimal_point, out);
    if (res == SYN_NUM_OK)
        return SYN_OK;
    char buf[CSV_QUOTE_MAX + 4];
    const char *value = shown(buf, field_text(rec, j), f->len);
    const char *fmt = "%s:%zu:%zu: expected a number (%s), found \"%s\"";
    if (res == SYN_NUM_EMPTY)
        fmt = "%s:%zu:%zu: expected a number (%s), found an empty field%s";
    else if (res == SYN_NUM_NOT_FINITE)
        fmt = "%s:%zu:%zu: expected a finite number (%s), found \"%s\"";
    else if (res == SYN_NUM_RANGE)
        fmt = "%s:%zu:%zu: expected a number in float range (%s), found \"%s\"";
    if (res == SYN_NUM_EMPTY)
        value = "";
    syn_set_error(L->err, fmt, L->path, f->line, f->col, what, value);
    return SYN_ERR_PARSE;
}

/* ------------------------------------------------------------ class map */

static uint64_t hash_text(const char *s, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a, 64-bit */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
    return h;
}

static int name_equals(const char *name, const char *s, size_t len)
{
    return strncmp(name, s, len) == 0 && name[len] == '\0';
}

/* The slot holding s, or the empty slot where it would go. */
static size_t map_slot(const class_map *m, const char *s, size_t len)
{
    size_t mask = m->n_slots - 1;
    size_t i = (size_t)hash_text(s, len) & mask;
    while (m->slots[i] && !name_equals(m->names[m->slots[i] - 1], s, len))
        i = (i + 1) & mask;
    return i;
}

static int map_find(const class_map *m, const char *s, size_t len, size_t *id)
{
    if (m->n_slots == 0)
        return 0;
    size_t i = map_slot(m, s, len);
    if (!m->slots[i])
        return 0;
    *id = m->slots[i] - 1;
    return 1;
}

/* Doubles the slot table, keeping it at most half full. */
static syn_status map_rehash(class_map *m)
{
    size_t n_slots = m->n_slots ? m->n_slots : 32;
    if (m->n_slots && !syn_mul_size(n_slots, 2, &n_slots))
        return SYN_ERR_OVERFLOW;
    size_t *slots = calloc(n_slots, sizeof *slots);
    if (!slots)
        return SYN_ERR_OUT_OF_MEMORY;
    free(m->slots);
    m->slots = slots;
    m->n_slots = n_slots;
    for (size_t id = 0; id < m->count; id++) {
        size_t i = map_slot(m, m->names[id], strlen(m->names[id]));
        m->slots[i] = id + 1;
    }
    return SYN_OK;
}

/* Adds s (not yet present) as class id m->count. */
static syn_status map_add(class_map *m, const char *s, size_t len)
{
    if (m->count >= UINT32_MAX)
        return SYN_ERR_OVERFLOW; /* labels are uint32 */
    syn_status st = SYN_OK;
    if ((m->count + 1) * 2 > m->n_slots)
        st = map_rehash(m);
    if (st == SYN_OK)
        st = grow_bytes((void **)&m->names, &m->cap, m->count + 1, sizeof(char *));
    if (st != SYN_OK)
        return st;
    char *name = malloc(len + 1);
    if (!name)
        return SYN_ERR_OUT_OF_MEMORY;
    memcpy(name, s, len);
    name[len] = '\0';
    m->names[m->count] = name;
    m->slots[map_slot(m, s, len)] = ++m->count;
    return SYN_OK;
}

static void map_free(class_map *m)
{
    syn_free_strings(m->names, m->count);
    free(m->slots);
    memset(m, 0, sizeof *m);
}

/* An integer written without '+', leading zeros or "-0", so that "07",
 * "+7" and "7" are one class. out holds len + 1 bytes. */
static void canonical_int(const char *s, size_t len, char *out)
{
    int negative = s[0] == '-';
    size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
    while (i + 1 < len && s[i] == '0')
        i++;
    size_t n = 0;
    if (negative && !(len - i == 1 && s[i] == '0'))
        out[n++] = '-';
    memcpy(out + n, s + i, len - i);
    out[n + len - i] = '\0';
}

/* Numeric order of two canonical integers of any length. */
static int compare_canonical(const char *a, const char *b)
{
    int neg_a = a[0] == '-', neg_b = b[0] == '-';
    if (neg_a != neg_b)
        return neg_a ? -1 : 1;
    size_t la = strlen(a), lb = strlen(b);
    int mag = la != lb ? (la < lb ? -1 : 1) : strcmp(a, b);
    return neg_a ? -mag : mag;
}

typedef struct ranked_class {
    char *canonical;
    size_t id;
} ranked_class;

static int compare_ranked(const void *pa, const void *pb)
{
    const ranked_class *a = pa, *b = pb;
    int c = compare_canonical(a->canonical, b->canonical);
    if (c == 0)
        c = a->id < b->id ? -1 : (a->id > b->id);
    return c;
}

/* ---------------------------------------------------------------- setup */

static syn_status check_options(csv_load *L)
{
    const syn_csv_options *o = &L->opt;
    const char *why = NULL;
    if (o->delimiter == '"' || o->delimiter == '\n' || o->delimiter == '\r')
        why = "the delimiter cannot be a quote or a line break";
    else if (o->header < -1 || o->header > 1)
        why = "header must be 0 (detect), 1 (present) or -1 (absent)";
    else if (o->n_target_columns && o->target_names && o->target_indices)
        why = "give target columns by name or by index, not both";
    else if (o->n_target_columns && !o->target_names && !o->target_indices)
        why = "n_target_columns is set but no names or indices are given";
    else if (o->no_target && o->n_target_columns)
        why = "no_target excludes target columns";
    else if (!o->regression && o->n_target_columns > 1)
        why = "classification takes one target column";
    else if (o->n_class_names && !o->class_names)
        why = "n_class_names is set but class_names is NULL";
    else if (o->n_class_names && (o->regression || o->no_target))
        why = "class names need a classification target";
    else if (o->target_names && o->n_target_columns && o->header < 0)
        why = "target columns by name need a header row";
    else if ((o->n_na_values && !o->na_values) || (o->n_categorical && !o->categorical) ||
             (o->n_ignore && !o->ignore))
        why = "a count is set but its list is NULL";
    else if (o->encoding && (o->n_na_values || o->n_categorical || o->n_ignore))
        why = "na_values, categorical and ignore come from the encoding when one is given";
    if (!why)
        return SYN_OK;
    syn_set_error(L->err, "%s: invalid CSV options: %s", L->path, why);
    return SYN_ERR_INVALID_ARGUMENT;
}

/* Seeds the class map with the caller's class names (a saved model's). */
static syn_status load_fixed_classes(csv_load *L)
{
    for (size_t k = 0; k < L->opt.n_class_names; k++) {
        const char *name = L->opt.class_names[k];
        size_t id;
        syn_status s = SYN_OK;
        if (!name)
            s = SYN_ERR_INVALID_ARGUMENT;
        else if (map_find(&L->classes, name, strlen(name), &id))
            s = SYN_ERR_INVALID_ARGUMENT;
        if (s != SYN_OK) {
            syn_set_error(L->err, "%s: invalid CSV options: class name %zu is %s", L->path, k,
                          name ? "given twice" : "NULL");
            return s;
        }
        s = map_add(&L->classes, name, strlen(name));
        if (s != SYN_OK)
            return s;
    }
    L->fixed_classes = L->opt.n_class_names > 0;
    return SYN_OK;
}

static syn_status mark_target(csv_load *L, size_t col, const csv_record *first)
{
    if (L->is_target[col]) {
        syn_set_error(L->err, "%s:%zu:%zu: target column %zu is given twice", L->path,
                      first->fields[0].line, first->fields[0].col, col);
        return SYN_ERR_INVALID_ARGUMENT;
    }
    L->is_target[col] = 1;
    L->slot[col] = L->n_targets++;
    return SYN_OK;
}

/* The file column named `name` in the header, or NONE. */
/* The column of the header holding the nth (from 0) occurrence of name. A
 * file may repeat a name; a model's columns of that name then match its
 * occurrences in order. */
static size_t column_named_nth(const csv_record *header, const char *name, size_t nth)
{
    for (size_t j = 0; j < header->n_fields; j++) {
        const char *s = field_text(header, j);
        size_t len = header->fields[j].len;
        if (!header->fields[j].quoted)
            trim(&s, &len);
        if (name_equals(name, s, len) && nth-- == 0)
            return j;
    }
    return NONE;
}

static size_t column_named(const csv_record *header, const char *name)
{
    return column_named_nth(header, name, 0);
}

static syn_status target_by_name(csv_load *L, const char *name, const csv_record *header)
{
    size_t j = column_named(header, name);
    if (j != NONE)
        return mark_target(L, j, header);
    syn_set_error(L->err, "%s:%zu:%zu: expected a column named \"%s\" in the header, found none",
                  L->path, header->fields[0].line, header->fields[0].col, name);
    return SYN_ERR_NOT_FOUND;
}

static syn_status target_by_index(csv_load *L, long index, const csv_record *first)
{
    size_t col;
    int ok;
    if (index >= 0) {
        col = (size_t)index;
        ok = col < L->n_cols;
    } else {
        /* -(index + 1) cannot overflow, even for LONG_MIN. */
        size_t from_end = (size_t)(-(index + 1));
        ok = from_end < L->n_cols;
        col = ok ? L->n_cols - 1 - from_end : 0;
    }
    if (!ok) {
        syn_set_error(L->err, "%s:%zu:%zu: expected a target column index in [-%zu, %zu), "
                      "found %ld", L->path, first->fields[0].line, first->fields[0].col,
                      L->n_cols, L->n_cols, index);
        return SYN_ERR_NOT_FOUND;
    }
    return mark_target(L, col, first);
}

/* Header detection: the first row is a header if one of its feature
 * fields is not a number while the same field of the second row is (or
 * there is no second row). Target columns are left out because labels
 * may be words in every row. A header whose names all look like numbers
 * is not detected; options.header = 1 forces it. */
static int looks_like_header(const csv_load *L, const csv_record *first,
                             const csv_record *second)
{
    for (size_t j = 0; j < L->n_cols; j++) {
        if (L->is_target[j] || field_is_number(first, j))
            continue;
        if (!second || (j < second->n_fields && field_is_number(second, j)))
            return 1;
    }
    return 0;
}


/* The text of field j of rec with spaces around it trimmed. */
static void field_trimmed(const csv_record *rec, size_t j, const char **s, size_t *len)
{
    *s = field_text(rec, j);
    *len = rec->fields[j].len;
    trim(s, len);
}


/* A column of options.categorical or options.ignore: a header name, or
 * in a file without header a 0-based index. `what` names the option. */
static syn_status option_column(csv_load *L, const csv_record *first, const char *name,
                                const char *what, size_t *col)
{
    long index;
    char *end;
    if (!name) {
        syn_set_error(L->err, "%s: invalid CSV options: a %s column is NULL", L->path, what);
        return SYN_ERR_INVALID_ARGUMENT;
    }
    if (L->has_header) {
        *col = column_named(first, name);
    } else {
        index = strtol(name, &end, 10);
        *col = end != name && !*end && index >= 0 && (size_t)index < L->n_cols
                   ? (size_t)index : NONE;
    }
    if (*col != NONE)
        return SYN_OK;
    syn_set_error(L->err, "%s:%zu:%zu: expected a column %s \"%s\" (%s), found none", L->path,
                  first->fields[0].line, first->fields[0].col,
                  L->has_header ? "named" : "index below the field count, not", name, what);
    return SYN_ERR_NOT_FOUND;
}

/* The targets: as the options say, else (with an encoding, a header and
 * no_target unset) the encoding's target names, else the last column. */
static syn_status resolve_targets(csv_load *L, const csv_record *first)
{
    const syn_csv_options *o = &L->opt;
    syn_status s = SYN_OK;
    if (!o->no_target && o->n_target_columns == 0) {
        const syn_encoding *e = o->encoding;
        int named = e && L->has_header && e->n_targets && e->target_names[0][0];
        if (!named) {
            /* By position: the last columns, as many as the encoding's targets. */
            size_t k = e && e->n_targets ? e->n_targets : 1;
            for (size_t j = L->n_cols - (k < L->n_cols ? k : 1); s == SYN_OK && j < L->n_cols;
                 j++)
                s = mark_target(L, j, first);
            return s;
        }
        for (size_t k = 0; s == SYN_OK && k < e->n_targets; k++) {
            size_t j = column_named(first, e->target_names[k]);
            if (j == NONE) {
                syn_set_error(L->err, "%s:%zu:%zu: expected a column named \"%s\" (the "
                              "model's target) in the header, found none", L->path,
                              first->fields[0].line, first->fields[0].col,
                              e->target_names[k]);
                return SYN_ERR_NOT_FOUND;
            }
            s = mark_target(L, j, first);
        }
        return s;
    }
    for (size_t k = 0; s == SYN_OK && k < o->n_target_columns; k++) {
        if (o->target_names && !o->target_names[k]) {
            syn_set_error(L->err, "%s: invalid CSV options: target name %zu is NULL", L->path, k);
            return SYN_ERR_INVALID_ARGUMENT;
        }
        s = o->target_names ? target_by_name(L, o->target_names[k], first)
                            : target_by_index(L, o->target_indices[k], first);
    }
    return s;
}

/* Does the first row name a column of the encoding? A data row rarely
 * holds a column's name, so one is enough to take it as a header whose
 * missing names are then reported by name. */
static int names_encoding(const csv_load *L, const csv_record *first)
{
    const syn_encoding *e = L->opt.encoding;
    for (size_t i = 0; i < e->n_columns; i++)
        if (e->columns[i].name[0] && column_named(first, e->columns[i].name) != NONE)
            return 1;
    return 0;
}

static int header_wanted(const csv_load *L, const csv_record *first, const csv_record *second)
{
    if (L->opt.header != 0)
        return L->opt.header > 0;
    /* Names can only be looked up in a header, so asking for one says there is one. */
    if (L->opt.target_names && L->opt.n_target_columns)
        return 1;
    if (L->opt.encoding && names_encoding(L, first))
        return 1;
    /* A model trained on a file without header matches by position. */
    if (L->opt.encoding && !L->opt.encoding->columns[0].name[0])
        return 0;
    return looks_like_header(L, first, second);
}

/* A saved encoding's columns: by name with a header (any order, extra
 * columns ignored), else the file's feature columns in order. */
static syn_status map_encoding(csv_load *L, const csv_record *first)
{
    const syn_encoding *e = L->opt.encoding;
    if (L->has_header) {
        for (size_t i = 0; i < e->n_columns; i++) {
            size_t nth = 0;
            for (size_t k = 0; k < i; k++)
                nth += strcmp(e->columns[k].name, e->columns[i].name) == 0;
            size_t j = column_named_nth(first, e->columns[i].name, nth);
            if (j == NONE || L->is_target[j]) {
                syn_set_error(L->err, "%s:%zu:%zu: expected a column named \"%s\" (an input "
                              "of the model) in the header, found %s", L->path,
                              first->fields[0].line, first->fields[0].col, e->columns[i].name,
                              j == NONE ? "none" : "it chosen as a target");
                return SYN_ERR_NOT_FOUND;
            }
            L->feature_col[j] = i;
        }
        return SYN_OK;
    }
    size_t n = 0;
    for (size_t j = 0; j < L->n_cols; j++)
        if (!L->is_target[j])
            L->feature_col[j] = n++;
    if (n == e->n_columns)
        return SYN_OK;
    syn_set_error(L->err, "%s:%zu:%zu: expected %zu input columns (the model's, in its order, "
                  "in a file without header) besides %zu target column(s), found %zu", L->path,
                  first->fields[0].line, first->fields[0].col, e->n_columns, L->n_targets, n);
    return SYN_ERR_SHAPE;
}

/* Learning: every column that is not a target or ignored is an input. */
static syn_status new_encoding(csv_load *L, const csv_record *first)
{
    const syn_csv_options *o = &L->opt;
    syn_status s = SYN_OK;
    for (size_t k = 0; s == SYN_OK && k < o->n_ignore; k++) {
        size_t j;
        s = option_column(L, first, o->ignore[k], "ignore", &j);
        if (s == SYN_OK && !L->is_target[j])
            L->feature_col[j] = NONE - 1; /* marked; numbered below */
    }
    size_t n = 0;
    for (size_t j = 0; s == SYN_OK && j < L->n_cols; j++)
        if (!L->is_target[j])
            L->feature_col[j] = L->feature_col[j] == NONE - 1 ? NONE : n++;
    if (s != SYN_OK)
        return s;
    if (n == 0) {
        syn_set_error(L->err, "%s:%zu:%zu: expected at least one feature column, found none "
                      "(all %zu columns are targets or ignored)", L->path,
                      first->fields[0].line, first->fields[0].col, L->n_cols);
        return SYN_ERR_SHAPE;
    }
    s = syn_encoding_new(n, &L->enc);
    if (s == SYN_OK && o->n_na_values)
        s = syn_encoding_set_strings(&L->enc->na_values, &L->enc->n_na_values, o->na_values,
                                     o->n_na_values);
    if (s == SYN_OK && !(L->stats = calloc(n, sizeof *L->stats)))
        s = SYN_ERR_OUT_OF_MEMORY;
    if (s == SYN_OK)
        L->n_stats = n;
    for (size_t i = 0; s == SYN_OK && i < n; i++)
        L->stats[i].numeric = 1;
    for (size_t k = 0; s == SYN_OK && k < o->n_categorical; k++) {
        size_t j;
        s = option_column(L, first, o->categorical[k], "categorical", &j);
        if (s == SYN_OK && L->feature_col[j] != NONE)
            L->stats[L->feature_col[j]].forced = 1;
    }
    const char *why;
    L->storing = s == SYN_OK && o->n_categorical == 0 && syn_encoding_finish(L->enc, &why);
    L->n_features = n;
    return s;
}

/* Decides the header, the targets and the input columns. */
static syn_status resolve_columns(csv_load *L, const csv_record *first, const csv_record *second)
{
    L->n_cols = first->n_fields;
    L->is_target = calloc(L->n_cols, 1);
    L->slot = calloc(L->n_cols, sizeof(size_t));
    L->feature_col = malloc(L->n_cols * sizeof(size_t));
    if (!L->is_target || !L->slot || !L->feature_col)
        return SYN_ERR_OUT_OF_MEMORY;
    for (size_t j = 0; j < L->n_cols; j++)
        L->feature_col[j] = NONE;
    syn_status s = SYN_OK;
    if (L->opt.encoding) {
        /* The header decides whether targets are found by name. When the
         * first row does not name the model's columns, it is a header if it
         * looks like one with the targets taken by position. */
        const syn_csv_options *o = &L->opt;
        int named = o->encoding->columns[0].name[0] != '\0';
        L->has_header = header_wanted(L, first, second);
        if (o->header == 0 && named && !names_encoding(L, first) &&
            !(o->target_names && o->n_target_columns)) {
            L->has_header = 0;
            s = resolve_targets(L, first);
            L->has_header = s == SYN_OK && looks_like_header(L, first, second);
            memset(L->is_target, 0, L->n_cols);
            L->n_targets = 0;
        }
        if (s == SYN_OK)
            s = resolve_targets(L, first);
        if (s == SYN_OK)
            s = map_encoding(L, first);
        if (s == SYN_OK)
            s = syn_encoding_clone(L->opt.encoding, &L->enc);
    } else {
        s = resolve_targets(L, first);
        if (s == SYN_OK)
            L->has_header = header_wanted(L, first, second);
        if (s == SYN_OK)
            s = new_encoding(L, first);
    }
    if (s == SYN_OK && !L->learn)
        L->n_features = L->enc->n_inputs;
    return s;
}

static syn_status check_field_count(csv_load *L, const csv_record *rec);

/* Names from the header: the encoding's columns and targets. */
static syn_status store_names(csv_load *L, const csv_record *header)
{
    syn_encoding *e = L->enc;
    if (!L->learn)
        return SYN_OK;
    char **targets = calloc(L->n_targets ? L->n_targets : 1, sizeof *targets);
    if (!targets)
        return SYN_ERR_OUT_OF_MEMORY;
    syn_encoding_set_strings(&e->target_names, &e->n_targets, NULL, 0);
    e->target_names = targets;
    e->n_targets = L->n_targets;
    for (size_t j = 0; j < L->n_cols; j++) {
        char **dst = L->is_target[j] ? &e->target_names[L->slot[j]]
                     : L->feature_col[j] != NONE ? &e->columns[L->feature_col[j]].name : NULL;
        if (!dst)
            continue;
        const char *s = field_text(header, j);
        size_t len = header->fields[j].len;
        if (!header->fields[j].quoted)
            trim(&s, &len);
        char *name = malloc(len + 1);
        if (!name)
            return SYN_ERR_OUT_OF_MEMORY;
        memcpy(name, s, len);
        name[len] = '\0';
        free(*dst);
        *dst = name;
    }
    /* Unnamed targets (no header) stay "". */
    for (size_t k = 0; k < e->n_targets; k++)
        if (!e->target_names[k] && !(e->target_names[k] = syn_strdup("")))
            return SYN_ERR_OUT_OF_MEMORY;
    return SYN_OK;
}

/* Learning pass, one field of input column i: kind, distinct texts (up to
 * max_categories) with their counts, and the sum of the numbers. */
static syn_status learn_field(csv_load *L, const csv_record *rec, size_t j, size_t i)
{
    col_stats *c = &L->stats[i];
    const char *s;
    size_t len;
    field_trimmed(rec, j, &s, &len);
    if (syn_encoding_is_missing(L->enc, s, len))
        return SYN_OK;
    c->present++;
    /* Only the syntax here: the values (and their range) are read, and
     * the mean taken, in the second pass. */
    if (c->numeric && !c->forced && !is_decimal(s, len)) {
        if (is_non_finite_word(s, len)) {
            float ignored;
            return field_float(L, rec, j, "feature", &ignored);
        }
        c->numeric = 0; /* text: a categorical column */
        L->storing = 0;
    }
    if (c->exploded)
        return SYN_OK;
    size_t id;
    if (map_find(&c->texts, s, len, &id)) {
        c->counts[id]++;
        return SYN_OK;
    }
    if (c->texts.count == L->opt.max_categories) {
        c->exploded = 1;
        c->boom_line = rec->fields[j].line;
        c->boom_col = rec->fields[j].col;
        return SYN_OK;
    }
    syn_status st = map_add(&c->texts, s, len);
    if (st == SYN_OK)
        st = grow_bytes((void **)&c->counts, &c->counts_cap, c->texts.count, sizeof(size_t));
    if (st == SYN_OK)
        c->counts[c->texts.count - 1] = 1;
    return st;
}

static syn_status add_row(csv_load *L, const csv_record *rec);

/* The first pass found a column of text: the values stored so far are
 * dropped, the second pass reads them encoded. */
static syn_status stop_storing(csv_load *L)
{
    L->storing = 0;
    free(L->x);
    free(L->targets);
    free(L->labels);
    free(L->missing);
    L->x = L->targets = NULL;
    L->labels = NULL;
    L->missing = NULL;
    L->n_rows = L->cap_rows = L->missing_rows = L->n_missing = 0;
    map_free(&L->classes);
    return load_fixed_classes(L);
}

static syn_status learn_row(csv_load *L, const csv_record *rec)
{
    syn_status s = check_field_count(L, rec);
    int was_storing = L->storing;
    for (size_t j = 0; s == SYN_OK && j < L->n_cols; j++)
        if (L->feature_col[j] != NONE)
            s = learn_field(L, rec, j, L->feature_col[j]);
    if (s == SYN_OK)
        L->scanned_rows++;
    if (s == SYN_OK && was_storing && !L->storing)
        s = stop_storing(L);
    if (s == SYN_OK && L->storing)
        s = add_row(L, rec);
    return s;
}

typedef struct counted_text {
    const char *text;
    size_t count;
} counted_text;

static int compare_counted(const void *pa, const void *pb)
{
    return strcmp(((const counted_text *)pa)->text, ((const counted_text *)pb)->text);
}

/* A categorical column's categories, sorted (so the encoding does not
 * depend on the order of the rows), and the most frequent as its fill. */
static syn_status make_categories(const col_stats *c, syn_enc_column *col)
{
    size_t n = c->texts.count;
    counted_text *t = calloc(n, sizeof *t);
    char **names = calloc(n, sizeof *names);
    syn_status s = t && names ? SYN_OK : SYN_ERR_OUT_OF_MEMORY;
    for (size_t k = 0; s == SYN_OK && k < n; k++)
        t[k] = (counted_text){c->texts.names[k], c->counts[k]};
    if (s == SYN_OK)
        qsort(t, n, sizeof *t, compare_counted);
    size_t best = 0;
    for (size_t k = 0; s == SYN_OK && k < n; k++) {
        if (t[k].count > t[best].count)
            best = k;
        if (!(names[k] = syn_strdup(t[k].text)))
            s = SYN_ERR_OUT_OF_MEMORY;
    }
    if (s == SYN_OK) {
        col->categories = names;
        col->n_categories = n;
        col->fill_category = best;
        names = NULL;
    }
    syn_free_strings(names, n);
    free(t);
    return s;
}

/* The column of the file that holds input column i, for messages. */
static size_t file_column(const csv_load *L, size_t i)
{
    for (size_t j = 0; j < L->n_cols; j++)
        if (L->feature_col[j] == i)
            return j;
    return 0;
}

/* After the learning pass: each column's kind, categories and fill. */
static syn_status finish_learning(csv_load *L, const csv_record *first)
{
    syn_encoding *e = L->enc;
    for (size_t i = 0; i < e->n_columns; i++) {
        col_stats *c = &L->stats[i];
        syn_enc_column *col = &e->columns[i];
        const csv_field *at = &first->fields[file_column(L, i)];
        char label[256];
        if (col->name[0])
            snprintf(label, sizeof label, "column \"%.200s\"", col->name);
        else
            snprintf(label, sizeof label, "column %zu", file_column(L, i) + 1);
        if (c->present == 0) {
            syn_set_error(L->err, "%s:%zu:%zu: expected values in %s, found none: all %zu of "
                          "its fields are missing (ignore the column)", L->path, at->line,
                          at->col, label, L->scanned_rows);
            return SYN_ERR_PARSE;
        }
        if (c->numeric && !c->forced) {
            col->kind = SYN_COLUMN_NUMERIC; /* its mean comes after the second pass */
            continue;
        }
        if (c->exploded) {
            syn_set_error(L->err, "%s:%zu:%zu: expected at most %zu categories in %s, found "
                          "more (this field is category %zu); raise the limit, or ignore "
                          "the column if it is an id or free text", L->path, c->boom_line,
                          c->boom_col, L->opt.max_categories, label,
                          L->opt.max_categories + 1);
            return SYN_ERR_PARSE;
        }
        col->kind = SYN_COLUMN_CATEGORICAL;
        syn_status s = make_categories(c, col);
        if (s != SYN_OK)
            return s;
    }
    const char *why = "";
    if (!syn_encoding_finish(e, &why)) {
        syn_set_error(L->err, "%s: cannot encode the columns: %s", L->path, why);
        return SYN_ERR_OVERFLOW;
    }
    L->n_features = e->n_inputs;
    return SYN_OK;
}

/* Bytes one row takes in the arrays: features, then targets or a label. */
static int row_bytes(const csv_load *L, size_t *out)
{
    size_t floats = L->n_features, bytes;
    if (L->opt.regression && !syn_add_size(floats, L->n_targets, &floats))
        return 0;
    if (!syn_mul_size(floats, sizeof(float), &bytes))
        return 0;
    if (!L->opt.regression && !L->opt.no_target && !syn_add_size(bytes, sizeof(uint32_t), &bytes))
        return 0;
    *out = bytes;
    return 1;
}

/* With options.max_bytes: caps the new capacity at the rows the limit
 * holds, and refuses when not even one more row fits. */
static syn_status limit_rows(csv_load *L, size_t *cap)
{
    size_t per_row;
    if (L->opt.max_bytes == 0)
        return SYN_OK;
    if (!row_bytes(L, &per_row))
        return SYN_ERR_OVERFLOW;
    size_t max_rows = per_row ? L->opt.max_bytes / per_row : SIZE_MAX;
    if (*cap > max_rows)
        *cap = max_rows;
    if (*cap > L->n_rows)
        return SYN_OK;
    syn_set_error(L->err, "%s:%zu: row %zu would take the data past the limit of %zu bytes "
                  "(%zu bytes per row)", L->path, L->rd.line, L->n_rows + 1, L->opt.max_bytes,
                  per_row);
    return SYN_ERR_MEMORY_LIMIT;
}

/* Room for one more row: the arrays double, so n rows cost O(n) copies. */
static syn_status reserve_row(csv_load *L)
{
    if (L->n_rows < L->cap_rows)
        return SYN_OK;
    size_t cap = L->cap_rows ? 0 : CSV_FIRST_ROWS;
    if (L->cap_rows && !syn_mul_size(L->cap_rows, 2, &cap))
        return SYN_ERR_OVERFLOW;
    syn_status limited = limit_rows(L, &cap);
    if (limited != SYN_OK)
        return limited;
    size_t x_bytes, t_bytes, l_bytes;
    if (!syn_mul_size(cap, L->n_features, &x_bytes) ||
        !syn_mul_size(x_bytes, sizeof(float), &x_bytes) ||
        !syn_mul_size(cap, L->n_targets, &t_bytes) ||
        !syn_mul_size(t_bytes, sizeof(float), &t_bytes) ||
        !syn_mul_size(cap, sizeof(uint32_t), &l_bytes))
        return SYN_ERR_OVERFLOW;
    float *x = realloc(L->x, x_bytes);
    if (!x)
        return SYN_ERR_OUT_OF_MEMORY;
    L->x = x;
    if (L->opt.regression) {
        float *t = realloc(L->targets, t_bytes);
        if (!t)
            return SYN_ERR_OUT_OF_MEMORY;
        L->targets = t;
    } else if (!L->opt.no_target) {
        uint32_t *labels = realloc(L->labels, l_bytes);
        if (!labels)
            return SYN_ERR_OUT_OF_MEMORY;
        L->labels = labels;
    }
    L->cap_rows = cap;
    return SYN_OK;
}

static syn_status check_field_count(csv_load *L, const csv_record *rec)
{
    if (rec->n_fields == L->n_cols)
        return SYN_OK;
    size_t line = rec->end_line, col = rec->end_col;
    if (rec->n_fields > L->n_cols) {
        line = rec->fields[L->n_cols].line;
        col = rec->fields[L->n_cols].col;
    }
    syn_set_error(L->err, "%s:%zu:%zu: expected %zu fields, found %zu", L->path, line, col,
                  L->n_cols, rec->n_fields);
    return SYN_ERR_PARSE;
}

/* Maps a label to its class id, adding a class unless they are fixed. */

/* Maps a label to its class id, adding a class unless they are fixed. */
static syn_status label_of(csv_load *L, const csv_record *rec, size_t j, uint32_t *label)
{
    const csv_field *f = &rec->fields[j];
    const char *s = field_text(rec, j);
    size_t len = f->len;
    if (!f->quoted)
        trim(&s, &len);
    if (len == 0) {
        syn_set_error(L->err, "%s:%zu:%zu: expected a class label, found an empty field",
                      L->path, f->line, f->col);
        return SYN_ERR_PARSE;
    }
    size_t id;
    int found = map_find(&L->classes, s, len, &id);
    if (!found && L->fixed_classes && is_integer(s, len)) {
        char canon[64];
        if (len < sizeof canon) {
            canonical_int(s, len, canon);
            found = map_find(&L->classes, canon, strlen(canon), &id);
        }
    }
    if (!found && L->fixed_classes) {
        char buf[CSV_QUOTE_MAX + 4];
        syn_set_error(L->err, "%s:%zu:%zu: expected one of the %zu known classes, found "
                      "\"%s\"", L->path, f->line, f->col, L->classes.count, shown(buf, s, len));
        return SYN_ERR_NOT_FOUND;
    }
    if (!found) {
        syn_status st = map_add(&L->classes, s, len);
        if (st != SYN_OK)
            return st;
        id = L->classes.count - 1;
    }
    *label = (uint32_t)id;
    return SYN_OK;
}

/* Makes the imputed-field bitmap hold at least `rows` rows (new bits 0). */
static syn_status grow_missing(csv_load *L, size_t rows)
{
    size_t n_cols = L->enc->n_columns, bits, bytes;
    if (rows <= L->missing_rows)
        return SYN_OK;
    if (!syn_mul_size(rows, n_cols, &bits) || !syn_add_size(bits, 7, &bits))
        return SYN_ERR_OVERFLOW;
    bytes = bits / 8;
    size_t old_bytes = L->missing ? (L->missing_rows * n_cols + 7) / 8 : 0;
    unsigned char *grown = realloc(L->missing, bytes);
    if (!grown)
        return SYN_ERR_OUT_OF_MEMORY;
    memset(grown + old_bytes, 0, bytes - old_bytes);
    L->missing = grown;
    L->missing_rows = rows;
    return SYN_OK;
}

/* Records that field (row, column i) was imputed, for syn_dataset_fit_imputation. */
static syn_status note_missing(csv_load *L, size_t i)
{
    L->n_missing++;
    if (!L->learn)
        return SYN_OK;
    if (L->n_rows >= L->missing_rows) {
        /* The rows the learning pass counted, or while it stores the
         * values (rows not known yet) twice the rows so far. */
        size_t rows = L->scanned_rows;
        if ((L->storing || rows <= L->n_rows) && !syn_mul_size(L->n_rows + 1, 2, &rows))
            return SYN_ERR_OVERFLOW;
        syn_status s = grow_missing(L, rows);
        if (s != SYN_OK)
            return s;
    }
    size_t bit = L->n_rows * L->enc->n_columns + i;
    L->missing[bit / 8] |= (unsigned char)(1u << (bit % 8));
    return SYN_OK;
}

/* Input column i from field j of rec into the encoded row x. */
static syn_status encode_field(csv_load *L, const csv_record *rec, size_t j, size_t i, float *x)
{
    const syn_enc_column *c = &L->enc->columns[i];
    const char *s;
    size_t len;
    field_trimmed(rec, j, &s, &len);
    int missing = syn_encoding_is_missing(L->enc, s, len);
    float *out = x + c->first;
    if (c->kind == SYN_COLUMN_NUMERIC) {
        if (missing) {
            *out = c->fill;
            return note_missing(L, i);
        }
        return field_float(L, rec, j, "feature", out);
    }
    memset(out, 0, c->width * sizeof *out);
    size_t k = c->fill_category;
    if (missing) {
        out[k] = 1.0f;
        return note_missing(L, i);
    }
    if (syn_encoding_find_category(c, s, len, &k)) {
        out[k] = 1.0f;
        return SYN_OK;
    }
    if (L->opt.strict || L->learn) {
        char buf[CSV_QUOTE_MAX + 4];
        const csv_field *f = &rec->fields[j];
        syn_set_error(L->err, "%s:%zu:%zu: expected one of the %zu categories of column "
                      "\"%s\", found \"%s\"", L->path, f->line, f->col, c->n_categories,
                      c->name, shown(buf, s, len));
        return SYN_ERR_NOT_FOUND;
    }
    L->n_unseen++; /* all zeros: no category's weights take part */
    return SYN_OK;
}

/* A target field that spells a missing value cannot train or score. */
static syn_status missing_target(csv_load *L, const csv_record *rec, size_t j)
{
    const char *s;
    size_t len;
    field_trimmed(rec, j, &s, &len);
    if (len == 0 || !syn_encoding_is_missing(L->enc, s, len))
        return SYN_OK;
    char buf[CSV_QUOTE_MAX + 4];
    const csv_field *f = &rec->fields[j];
    syn_set_error(L->err, "%s:%zu:%zu: expected a %s, found a missing value \"%s\" (rows "
                  "without a target cannot be used: remove them)", L->path, f->line, f->col,
                  L->opt.regression ? "number (regression target)" : "class label",
                  shown(buf, s, len));
    return SYN_ERR_PARSE;
}

static syn_status add_row(csv_load *L, const csv_record *rec)
{
    syn_status s = check_field_count(L, rec);
    /* The second pass must see the rows the first one learned from. */
    if (s == SYN_OK && L->learn && L->n_rows >= L->scanned_rows) {
        syn_set_error(L->err, "%s:%zu: the file changed while it was read (it has more than "
                      "the %zu rows first read)", L->path, rec->fields[0].line,
                      L->scanned_rows);
        return SYN_ERR_IO;
    }
    if (s == SYN_OK)
        s = reserve_row(L);
    if (s != SYN_OK)
        return s;
    float *x = L->x + L->n_rows * L->n_features;
    for (size_t j = 0; s == SYN_OK && j < L->n_cols; j++) {
        if (L->is_target[j]) {
            s = missing_target(L, rec, j);
            if (s == SYN_OK && L->opt.regression)
                s = field_float(L, rec, j, "regression target",
                                &L->targets[L->n_rows * L->n_targets + L->slot[j]]);
            else if (s == SYN_OK)
                s = label_of(L, rec, j, &L->labels[L->n_rows]);
        } else if (L->feature_col[j] != NONE) {
            s = encode_field(L, rec, j, L->feature_col[j], x);
        }
    }
    if (s == SYN_OK)
        L->n_rows++;
    return s;
}


static syn_status order_integer_classes(csv_load *L)
{
    class_map *m = &L->classes;
    size_t n = m->count;
    for (size_t id = 0; id < n; id++)
        if (!is_integer(m->names[id], strlen(m->names[id])))
            return SYN_OK;
    ranked_class *rank = calloc(n, sizeof *rank);
    size_t *new_id = calloc(n, sizeof *new_id);
    char **names = calloc(n, sizeof *names);
    syn_status s = rank && new_id && names ? SYN_OK : SYN_ERR_OUT_OF_MEMORY;
    for (size_t id = 0; s == SYN_OK && id < n; id++) {
        rank[id].id = id;
        rank[id].canonical = malloc(strlen(m->names[id]) + 1);
        if (!rank[id].canonical)
            s = SYN_ERR_OUT_OF_MEMORY;
        else
            canonical_int(m->names[id], strlen(m->names[id]), rank[id].canonical);
    }
    if (s == SYN_OK) {
        qsort(rank, n, sizeof *rank, compare_ranked);
        size_t n_classes = 0;
        for (size_t k = 0; k < n; k++) {
            if (n_classes == 0 || strcmp(rank[k].canonical, names[n_classes - 1]) != 0) {
                names[n_classes++] = rank[k].canonical;
                rank[k].canonical = NULL;
            }
            new_id[rank[k].id] = n_classes - 1;
        }
        for (size_t i = 0; i < L->n_rows; i++)
            L->labels[i] = (uint32_t)new_id[L->labels[i]];
        /* The slot table indexes the old names; it is not needed again. */
        map_free(m);
        m->names = names;
        m->count = n_classes;
        m->cap = n_classes;
        names = NULL;
    }
    /* Canonical texts that were not moved into names: merged duplicates,
     * or all of them after a failure. */
    if (rank)
        for (size_t k = 0; k < n; k++)
            free(rank[k].canonical);
    free(rank);
    free(new_id);
    free(names);
    return s;
}

/* The dataset's names of the encoded inputs: a numeric column's name, and
 * "name=category" for each input of a categorical column. */
static syn_status encoded_names(csv_load *L)
{
    const syn_encoding *e = L->enc;
    if (!(L->feature_names = calloc(e->n_inputs, sizeof(char *))))
        return SYN_ERR_OUT_OF_MEMORY;
    for (size_t i = 0; i < e->n_columns; i++) {
        const syn_enc_column *c = &e->columns[i];
        for (size_t k = 0; k < c->width; k++) {
            const char *cat = c->kind == SYN_COLUMN_CATEGORICAL ? c->categories[k] : NULL;
            size_t len = strlen(c->name) + (cat ? strlen(cat) + 1 : 0) + 1;
            char *name = malloc(len);
            if (!name)
                return SYN_ERR_OUT_OF_MEMORY;
            snprintf(name, len, cat ? "%s=%s" : "%s", c->name, cat);
            L->feature_names[c->first + k] = name;
        }
    }
    return SYN_OK;
}

/* Hands the arrays to a dataset; L keeps nothing that the dataset owns. */
static syn_status build_dataset(csv_load *L, syn_dataset **out)
{
    syn_dataset_parts parts = {.n_samples = L->n_rows, .n_features = L->n_features};
    if (!L->opt.regression && !L->opt.no_target && !L->fixed_classes) {
        syn_status s = order_integer_classes(L);
        if (s != SYN_OK)
            return s;
    }
    if (L->has_header) {
        syn_status s = encoded_names(L);
        if (s != SYN_OK)
            return s;
    }
    /* Give back the slack of the last doubling. */
    float *x = realloc(L->x, L->n_rows * L->n_features * sizeof(float));
    if (x)
        L->x = x;
    /* The dataset reads a bit for every row. */
    if (L->missing) {
        syn_status s = grow_missing(L, L->n_rows);
        if (s != SYN_OK)
            return s;
    }
    parts.x_f32 = L->x;
    parts.feature_names = L->feature_names;
    parts.encoding = L->enc;
    parts.learned = L->learn;
    parts.missing = L->missing;
    parts.n_missing = L->n_missing;
    parts.n_unseen = L->n_unseen;
    L->x = NULL;
    L->feature_names = NULL;
    L->enc = NULL;
    L->missing = NULL;
    if (L->opt.regression) {
        parts.targets = L->targets;
        parts.n_targets = L->n_targets;
        L->targets = NULL;
    } else if (!L->opt.no_target) {
        parts.labels = L->labels;
        parts.n_classes = L->classes.count;
        parts.class_names = L->classes.names;
        parts.n_class_names = L->classes.count;
        L->labels = NULL;
        L->classes.names = NULL;
        L->classes.count = 0;
    }
    syn_status s = syn_dataset_adopt(&parts, out);
    /* The means of the numeric columns, and every missing field filled. */
    if (s == SYN_OK && L->learn)
        s = syn_dataset_fit_imputation(*out, NULL, 0);
    if (s != SYN_OK) {
        syn_dataset_free(*out);
        *out = NULL;
    }
    return s;
}

static syn_status empty_file_error(csv_load *L)
{
    int nothing = L->rd.line == 1 && L->rd.col == 1;
    syn_set_error(L->err, "%s:1:1: expected a header or a data row, found %s", L->path,
                  nothing ? "an empty file" : "only blank lines");
    return SYN_ERR_PARSE;
}


/* One pass over the file: the first row (the header, or data), then every
 * row through row_fn. The first pass also decides the columns. */
static syn_status scan_file(csv_load *L, syn_status (*row_fn)(csv_load *, const csv_record *))
{
    csv_record *first = &L->rec[0], *second = &L->rec[1];
    int got;
    syn_status s = next_row(L, first, &got);
    if (s != SYN_OK)
        return s;
    if (!got)
        return empty_file_error(L);
    s = next_row(L, second, &got);
    if (s == SYN_OK && !L->is_target)
        s = resolve_columns(L, first, got ? second : NULL);
    if (s != SYN_OK)
        return s;
    if (L->has_header) {
        s = store_names(L, first);
        if (s == SYN_OK && !got) {
            syn_set_error(L->err, "%s:%zu:1: expected data rows after the header, found end "
                          "of file", L->path, L->rd.line);
            s = SYN_ERR_PARSE;
        }
    } else {
        s = row_fn(L, first);
    }
    while (s == SYN_OK && got) {
        s = row_fn(L, second);
        if (s == SYN_OK)
            s = next_row(L, second, &got);
    }
    return s;
}

/* Back to the first byte for the second pass (a file or a memory stream). */
static syn_status rewind_reader(csv_load *L)
{
    csv_reader *r = &L->rd;
    int failed;
#ifdef SYN_HAVE_ZLIB
    if (r->gz)
        failed = gzrewind(r->gz) != 0;
    else
#endif
        failed = fseek(r->fp, 0, SEEK_SET) != 0;
    if (failed) {
        syn_set_error(L->err, "%s: cannot read it a second time: %s", L->path, strerror(errno));
        return SYN_ERR_IO;
    }
    clearerr(r->fp);
    r->len = r->pos = 0;
    r->at_eof = 0;
    r->line = r->col = 1;
    if (rd_fill(r) && r->len >= 3 && memcmp(r->buf, "\xef\xbb\xbf", 3) == 0)
        r->pos = 3;
    return SYN_OK;
}

/* Learning reads the file twice: first the kind, categories and mean of
 * each column, then the values, encoded. A given encoding needs one pass. */
/* A first row the detection took for data while every feature of it is
 * text can still be a header: a table of categories (colors, sizes) has
 * no number to tell by. It is one when each of its texts occurs only
 * there in its column, while some column repeats its values (so that
 * occurring once means something). */
static int text_header(const csv_load *L, const csv_record *first)
{
    if (L->has_header || L->opt.header != 0 || L->scanned_rows < 3)
        return 0;
    int repeats = 0;
    for (size_t j = 0; j < L->n_cols; j++) {
        if (L->feature_col[j] == NONE)
            continue;
        const col_stats *c = &L->stats[L->feature_col[j]];
        const char *s;
        size_t len, id;
        field_trimmed(first, j, &s, &len);
        if (c->numeric || !map_find(&c->texts, s, len, &id) || c->counts[id] != 1)
            return 0;
        for (size_t k = 0; !repeats && k < c->texts.count; k++)
            repeats = c->counts[k] > 1;
    }
    return repeats;
}

/* Forgets what the learning pass saw, to run it again. */
static void reset_learning(csv_load *L)
{
    for (size_t i = 0; i < L->n_stats; i++) {
        col_stats *c = &L->stats[i];
        map_free(&c->texts);
        free(c->counts);
        *c = (col_stats){.numeric = 1, .forced = c->forced};
    }
    L->scanned_rows = 0;
    if (L->storing)
        stop_storing(L);
}

static syn_status parse_rows(csv_load *L)
{
    syn_status s = SYN_OK;
    if (L->learn) {
        s = scan_file(L, learn_row);
        if (s == SYN_OK && text_header(L, &L->rec[0])) {
            reset_learning(L);
            L->has_header = 1;
            s = rewind_reader(L);
            if (s == SYN_OK)
                s = scan_file(L, learn_row);
        }
        if (s == SYN_OK)
            s = finish_learning(L, &L->rec[0]);
        /* All numeric: the first pass stored the values already. */
        if (s == SYN_OK && L->storing)
            return SYN_OK;
        if (s == SYN_OK)
            s = rewind_reader(L);
    }
    if (s == SYN_OK)
        s = scan_file(L, add_row);
    return s;
}

/* Opens L->path, or reads the buffer `mem` when it is not NULL (through
 * fmemopen, so both take the very same path through the reader). */
static syn_status open_reader(csv_load *L, const void *mem, size_t mem_size)
{
    csv_reader *r = &L->rd;
    r->line = 1;
    r->col = 1;
    r->buf = malloc(CSV_CHUNK);
    if (!r->buf)
        return SYN_ERR_OUT_OF_MEMORY;
    r->fp = mem ? fmemopen((void *)mem, mem_size, "rb") : fopen(L->path, "rb");
    if (!r->fp) {
        syn_set_error(L->err, "%s: cannot open: %s", L->path, strerror(errno));
        return SYN_ERR_IO;
    }
#ifdef SYN_HAVE_ZLIB
    /* A gzip-compressed CSV (1f 8b) is read through zlib, streaming as the
     * plain one is; line and column count the uncompressed text. */
    unsigned char magic[2];
    if (!mem && fread(magic, 1, 2, r->fp) == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
        int fd = dup(fileno(r->fp));
        rewind(r->fp);
        if (fd < 0 || lseek(fd, 0, SEEK_SET) != 0 || !(r->gz = gzdopen(fd, "rb"))) {
            if (fd >= 0)
                close(fd);
            syn_set_error(L->err, "%s: cannot read the gzip stream", L->path);
            return SYN_ERR_IO;
        }
    } else if (!mem) {
        rewind(r->fp);
    }
#endif
    /* A UTF-8 byte order mark (spreadsheet exports) is not part of the data. */
    if (rd_fill(r) && r->len >= 3 && memcmp(r->buf, "\xef\xbb\xbf", 3) == 0)
        r->pos = 3;
    return SYN_OK;
}

static void close_load(csv_load *L)
{
#ifdef SYN_HAVE_ZLIB
    if (L->rd.gz)
        gzclose(L->rd.gz);
#endif
    if (L->rd.fp)
        fclose(L->rd.fp);
    free(L->rd.buf);
    for (int i = 0; i < 2; i++) {
        free(L->rec[i].text);
        free(L->rec[i].fields);
    }
    for (size_t i = 0; L->stats && i < L->n_stats; i++) {
        map_free(&L->stats[i].texts);
        free(L->stats[i].counts);
    }
    free(L->stats);
    syn_encoding_free(L->enc);
    free(L->missing);
    free(L->feature_col);
    free(L->is_target);
    free(L->slot);
    free(L->x);
    free(L->targets);
    free(L->labels);
    map_free(&L->classes);
    syn_free_strings(L->feature_names, L->n_features);
}

char syn_locale_decimal_point(void)
{
    const struct lconv *lc = localeconv();
    return lc && lc->decimal_point && lc->decimal_point[0] ? lc->decimal_point[0] : '.';
}

/* The loader behind both entry points: the file at path, or the buffer
 * mem (not NULL) with path naming it in messages. */
static syn_status load_csv(const char *path, const void *mem, size_t mem_size,
                           const syn_csv_options *options, syn_dataset **out, syn_error *err)
{
    csv_load L = {.path = path, .err = err};
    /* No options: comma-separated, header detected, last column a label. */
    if (options)
        L.opt = *options;
    if (L.opt.delimiter == 0)
        L.opt.delimiter = ',';
    if (L.opt.max_categories == 0)
        L.opt.max_categories = 100;
    L.learn = L.opt.encoding == NULL;
    /* A row may always buffer 64 KiB, so a tiny limit is still reported
     * by the data's own check (rows times bytes per row). */
    L.rec[0].limit = L.rec[1].limit =
        L.opt.max_bytes && L.opt.max_bytes < 65536 ? 65536 : L.opt.max_bytes;
    L.decimal_point = syn_locale_decimal_point();
    syn_status s = check_options(&L);
    /* With no target column, regression has nothing to apply to: no_target
     * wins (it used to leave an empty target array that the dataset
     * refused, with no message). */
    if (L.opt.no_target)
        L.opt.regression = 0;
    if (s == SYN_OK)
        s = load_fixed_classes(&L);
    if (s == SYN_OK)
        s = open_reader(&L, mem, mem_size);
    if (s == SYN_OK)
        s = parse_rows(&L);
    if (s == SYN_OK)
        s = build_dataset(&L, out);
    if (s == SYN_ERR_IO && L.rd.gz_error) {
        syn_set_error(err, "%s:%zu:%zu: corrupt gzip stream: %s", path, L.rd.line, L.rd.col,
                      L.rd.gz_error);
        s = SYN_ERR_CORRUPT;
    } else if (s == SYN_ERR_IO && L.rd.read_errno) {
        syn_set_error(err, "%s: read error: %s", path, strerror(L.rd.read_errno));
    } else if (s == SYN_ERR_OUT_OF_MEMORY || (s == SYN_ERR_OVERFLOW && !L.enc))
        syn_set_error(err, "%s: %s while reading line %zu", path, syn_strerror(s), L.rd.line);
    close_load(&L);
    return s;
}

syn_status syn_dataset_load_csv(const char *path, const syn_csv_options *options,
                                syn_dataset **out, syn_error *err)
{
    if (!path || !out) {
        syn_set_error(err, "invalid argument: %s is NULL", path ? "out" : "path");
        return SYN_ERR_INVALID_ARGUMENT;
    }
    return load_csv(path, NULL, 0, options, out, err);
}

syn_status syn_csv_parse_buffer(const void *data, size_t size, const char *name,
                                const syn_csv_options *options, syn_dataset **out,
                                syn_error *err)
{
    if (!data || !out) {
        syn_set_error(err, "invalid argument: %s is NULL", data ? "out" : "data");
        return SYN_ERR_INVALID_ARGUMENT;
    }
    return load_csv(name ? name : "<memory>", data, size, options, out, err);
}
