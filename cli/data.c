/* data.c - how the synapse command turns file names and CSV options into a
 * syn_dataset: IDX or CSV sniffed from the first bytes, --target parsed
 * into names or indices, the auto task rule (classification unless the
 * single target holds a non-integer number, or there are several targets),
 * labels mapped onto a saved model's classes, and stdin through a
 * temporary file (the loaders read paths). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef SYN_HAVE_ZLIB
#include <zlib.h>
#endif

#include "cli.h"

enum { SNIFF_CSV, SNIFF_IDX, SNIFF_GZIP, SNIFF_GZIP_CSV };

/* An IDX file starts with two zero bytes, a type code 0x08..0x0E and a
 * dimension count; gzip with 1f 8b. Returns -1 (errno set) if unreadable. */
static int is_idx_magic(const unsigned char *m, size_t got)
{
    return got == 4 && m[0] == 0 && m[1] == 0 && m[2] >= 0x08 && m[2] <= 0x0e && m[3] >= 1;
}

/* Inside a gzip file, the same rule tells IDX from CSV (both read gzip). */
static int sniff(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return -1;
    unsigned char m[4] = {0};
    size_t got = fread(m, 1, sizeof m, fp);
    fclose(fp);
    if (got >= 2 && m[0] == 0x1f && m[1] == 0x8b) {
#ifdef SYN_HAVE_ZLIB
        gzFile gz = gzopen(path, "rb");
        int n = gz ? gzread(gz, m, sizeof m) : -1;
        if (gz)
            gzclose(gz);
        /* Unreadable gzip: the IDX reader names the damage. */
        return n >= 0 && !is_idx_magic(m, (size_t)n) ? SNIFF_GZIP_CSV : SNIFF_GZIP;
#else
        return SNIFF_GZIP;
#endif
    }
    return is_idx_magic(m, got) ? SNIFF_IDX : SNIFF_CSV;
}

int cli_parse_delimiter(const char *text, char *out)
{
    if (!strcmp(text, "\\t") || !strcmp(text, "tab")) {
        *out = '\t';
        return 1;
    }
    if (strlen(text) != 1 || text[0] == '"' || text[0] == '\n' || text[0] == '\r')
        return 0;
    *out = text[0];
    return 1;
}

/* --target as the library wants it: all names or all indices. */
typedef struct target_list {
    char *buf;            /* the comma list, split in place */
    const char **names;
    long *indices;
    size_t count;
} target_list;

static void target_list_free(target_list *t)
{
    free(t->buf);
    free(t->names);
    free(t->indices);
    memset(t, 0, sizeof *t);
}

static int is_index(const char *s, long *value)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end)
        return 0;
    *value = v;
    return 1;
}

/* Splits a comma list for `flag`; returns 0 after printing a usage error.
 * With `indices`, a list of integers becomes t->indices instead. */
static int split_list(const char *cmd, const char *flag, const char *text, int indices,
                      target_list *t);

static int parse_targets(const char *cmd, const char *text, target_list *t)
{
    return split_list(cmd, "--target", text, 1, t);
}

static int split_list(const char *cmd, const char *flag, const char *text, int indices,
                      target_list *t)
{
    memset(t, 0, sizeof *t);
    size_t n = 1, len = strlen(text);
    for (size_t i = 0; i < len; i++)
        n += text[i] == ',';
    t->buf = malloc(len + 1);
    t->names = calloc(n, sizeof *t->names);
    t->indices = calloc(n, sizeof *t->indices);
    if (!t->buf || !t->names || !t->indices) {
        target_list_free(t);
        cli_runtime_error(cmd, "out of memory");
        return 0;
    }
    memcpy(t->buf, text, len + 1);
    size_t n_index = 0;
    char *p = t->buf;
    for (size_t k = 0; k < n; k++) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        if (!*p) {
            target_list_free(t);
            cli_usage_error(cmd, "%s has an empty entry in '%s'", flag, text);
            return 0;
        }
        t->names[k] = p;
        n_index += indices && is_index(p, &t->indices[k]);
        p = comma ? comma + 1 : p + strlen(p);
    }
    t->count = n;
    if (n_index != 0 && n_index != n) {
        target_list_free(t);
        cli_usage_error(cmd, "--target takes column names or indices, not both: '%s'", text);
        return 0;
    }
    if (n_index) {
        free(t->names);
        t->names = NULL;
    } else {
        free(t->indices);
        t->indices = NULL;
    }
    return 1;
}

/* Integer labels with more distinct values than this read as a count or
 * a measurement (an age, a year, a price in cents), not as classes: with
 * 181 distinct ages a classifier would learn 181 unrelated outputs. */
#define MAX_AUTO_INTEGER_CLASSES 20

static int is_integer_text(const char *s)
{
    const char *p = s + (*s == '+' || *s == '-');
    if (!*p)
        return 0;
    for (; *p; p++)
        if (*p < '0' || *p > '9')
            return 0;
    return 1;
}

/* A label that is a number but not written as an integer ("0.5", "1e3",
 * "2.0") makes the auto task a regression. */
static int is_non_integer_number(const char *s)
{
    char *end;
    errno = 0;
    strtod(s, &end);
    return end != s && !*end && !is_integer_text(s);
}

/* The auto task rule on a file read as classes: a non-integer number makes
 * it a regression, and so do many distinct integers. Returns 1 for a
 * regression; `why` receives the reason either way. */
static int labels_look_continuous(const syn_dataset *ds, char *why, size_t size)
{
    size_t n = syn_dataset_n_class_names(ds), integers = 0;
    for (size_t i = 0; i < n; i++) {
        const char *name = syn_dataset_class_name(ds, i);
        if (name && is_non_integer_number(name)) {
            snprintf(why, size, "the target holds a non-integer number (\"%.40s\")", name);
            return 1;
        }
        integers += name && is_integer_text(name);
    }
    if (integers == n && n > MAX_AUTO_INTEGER_CLASSES) {
        snprintf(why, size, "the target holds %zu distinct integers, more than %d classes; "
                 "--task classify makes them classes", n, MAX_AUTO_INTEGER_CLASSES);
        return 1;
    }
    if (integers == n)
        snprintf(why, size, "the target holds %zu distinct integers (at most %d are classes; "
                 "--task regress makes it a number)", n, MAX_AUTO_INTEGER_CLASSES);
    else
        snprintf(why, size, "the target holds text labels");
    return 0;
}

/* A loader's failure; a memory-limit refusal also names the limit and how
 * to change it. */
static int data_error(const char *cmd, const cli_data_spec *spec, syn_status st,
                      const syn_error *err)
{
    if (st != SYN_ERR_MEMORY_LIMIT)
        return cli_library_error_as(cmd, st, err, spec->data, spec->shown_as);
    char limit[32];
    cli_format_bytes(limit, sizeof limit, spec->max_bytes);
    const char *msg = err->message, *prefix = "";
    size_t n = strlen(spec->data);
    if (spec->shown_as && !strncmp(msg, spec->data, n)) {
        prefix = spec->shown_as;
        msg += n;
    }
    return cli_runtime_error(cmd, "%s%.*s (--max-memory %s)", prefix, (int)strcspn(msg, "\r\n"),
                             msg, limit);
}

size_t cli_available_memory(void)
{
    FILE *fp = fopen("/proc/meminfo", "r");
    if (!fp)
        return 0;
    char line[256];
    unsigned long long kib = 0;
    int found = 0;
    while (!found && fgets(line, sizeof line, fp))
        found = sscanf(line, "MemAvailable: %llu kB", &kib) == 1;
    fclose(fp);
    if (!found || kib == 0 || kib > SIZE_MAX / 1024)
        return 0;
    return (size_t)kib * 1024;
}

int cli_memory_limit(const char *cmd, const char *text, size_t *limit)
{
    if (!text) {
        *limit = cli_available_memory();
        return SYN_EXIT_OK;
    }
    if (!strcmp(text, "none")) {
        *limit = 0;
        return SYN_EXIT_OK;
    }
    if (!cli_parse_bytes(text, limit))
        return cli_usage_error(cmd, "--max-memory expects a size like 512M, 4G or 1000000 "
                               "(bytes), or none; got '%s'", text);
    return SYN_EXIT_OK;
}

static int load_idx(const char *cmd, const cli_data_spec *spec, syn_dataset **out)
{
    syn_error err = {{0}};
    const char *labels = spec->no_target ? NULL : spec->labels;
    if (!labels && !spec->no_target)
        return cli_usage_error(cmd, "%s holds IDX images: give their labels with --labels",
                               spec->data);
    syn_status st = syn_dataset_load_idx_limited(spec->data, labels, spec->max_bytes, out,
                                                 &err);
    if (st != SYN_OK)
        return data_error(cmd, spec, st, &err);
    size_t have = syn_dataset_n_classes(*out);
    if (!labels || !spec->n_class_names || have == spec->n_class_names)
        return SYN_EXIT_OK;
    if (have > spec->n_class_names) {
        syn_dataset_free(*out);
        *out = NULL;
        return cli_runtime_error(cmd, "%s: labels go up to %zu but the model has %zu classes",
                                 labels, have - 1, spec->n_class_names);
    }
    /* The model knows more classes than this file's labels reach. */
    st = syn_dataset_set_n_classes(*out, spec->n_class_names);
    if (st != SYN_OK) {
        syn_dataset_free(*out);
        *out = NULL;
        return cli_library_error(cmd, st, NULL, spec->data);
    }
    return SYN_EXIT_OK;
}

/* Fills the target part of the CSV options; returns an exit code. */
static int csv_targets(const char *cmd, const cli_data_spec *spec, target_list *t,
                       syn_csv_options *o, long *default_indices)
{
    memset(t, 0, sizeof *t);
    if (spec->no_target)
        return SYN_EXIT_OK;
    if (spec->target) {
        if (!parse_targets(cmd, spec->target, t))
            return SYN_EXIT_USAGE;
        o->target_names = t->names;
        o->target_indices = t->indices;
        o->n_target_columns = t->count;
    } else if (spec->default_targets > 1 && !spec->encoding) {
        /* (A model's encoding names its targets: the loader finds them.) */
        /* A model with several outputs was trained on the last columns. */
        size_t k = spec->default_targets;
        for (size_t i = 0; i < k; i++)
            default_indices[i] = -(long)(k - i);
        o->target_indices = default_indices;
        o->n_target_columns = k;
    }
    if (spec->task == CLI_TASK_CLASSIFY && o->n_target_columns > 1) {
        target_list_free(t);
        return cli_usage_error(cmd, "classification takes one --target column");
    }
    o->regression = spec->task == CLI_TASK_REGRESS || o->n_target_columns > 1;
    return SYN_EXIT_OK;
}

/* --na-values, --categorical and --ignore as lists for the loader. */
typedef struct encoding_lists {
    target_list na, categorical, ignore;
} encoding_lists;

static void encoding_lists_free(encoding_lists *l)
{
    target_list_free(&l->na);
    target_list_free(&l->categorical);
    target_list_free(&l->ignore);
}

static int csv_encoding(const char *cmd, const cli_data_spec *spec, encoding_lists *l,
                        syn_csv_options *o)
{
    memset(l, 0, sizeof *l);
    o->encoding = spec->encoding;
    o->strict = spec->strict;
    o->max_categories = spec->max_categories;
    if ((spec->na_values && !split_list(cmd, "--na-values", spec->na_values, 0, &l->na)) ||
        (spec->categorical &&
         !split_list(cmd, "--categorical", spec->categorical, 0, &l->categorical)) ||
        (spec->ignore && !split_list(cmd, "--ignore", spec->ignore, 0, &l->ignore))) {
        encoding_lists_free(l);
        return SYN_EXIT_USAGE;
    }
    o->na_values = l->na.names;
    o->n_na_values = l->na.count;
    o->categorical = l->categorical.names;
    o->n_categorical = l->categorical.count;
    o->ignore = l->ignore.names;
    o->n_ignore = l->ignore.count;
    return SYN_EXIT_OK;
}

static int load_csv(const char *cmd, const cli_data_spec *spec, syn_dataset **out)
{
    syn_csv_options o = {.header = spec->header};
    if (spec->delimiter && !cli_parse_delimiter(spec->delimiter, &o.delimiter))
        return cli_usage_error(cmd, "--delimiter expects one character, got '%s'",
                               spec->delimiter);
    target_list t;
    long *defaults = calloc(spec->default_targets + 1, sizeof *defaults);
    if (!defaults)
        return cli_runtime_error(cmd, "out of memory");
    int rc = csv_targets(cmd, spec, &t, &o, defaults);
    if (rc != SYN_EXIT_OK) {
        free(defaults);
        return rc;
    }
    o.no_target = spec->no_target;
    if (!o.regression && !o.no_target) {
        o.class_names = spec->class_names;
        o.n_class_names = spec->n_class_names;
    }
    o.max_bytes = spec->max_bytes;
    encoding_lists lists;
    rc = csv_encoding(cmd, spec, &lists, &o);
    if (rc != SYN_EXIT_OK) {
        target_list_free(&t);
        free(defaults);
        return rc;
    }
    syn_error err = {{0}};
    syn_status st = syn_dataset_load_csv(spec->data, &o, out, &err);
    char why[160] = "";
    if (o.regression)
        snprintf(why, sizeof why, spec->task == CLI_TASK_REGRESS ? "--task regress"
                                                                 : "several target columns");
    else if (spec->task == CLI_TASK_CLASSIFY)
        snprintf(why, sizeof why, "--task classify");
    if (st == SYN_OK && spec->task == CLI_TASK_AUTO && !o.regression && !o.no_target &&
        !o.n_class_names && labels_look_continuous(*out, why, sizeof why)) {
        syn_dataset_free(*out);
        *out = NULL;
        o.regression = 1;
        st = syn_dataset_load_csv(spec->data, &o, out, &err);
    }
    if (spec->task_reason && spec->task_reason_size)
        snprintf(spec->task_reason, spec->task_reason_size, "%s", why);
    encoding_lists_free(&lists);
    target_list_free(&t);
    free(defaults);
    if (st != SYN_OK)
        return data_error(cmd, spec, st, &err);
    return SYN_EXIT_OK;
}

/* A pipe, FIFO or device (`--data <(...)`, /dev/stdin) can be read only
 * once, and the loaders open their path twice or more (the sniff, the
 * auto task's second pass): such an input is first copied, once, to a
 * temporary file. The copy is held to 4 x --max-memory (no data set takes
 * less memory than a quarter of its text: a float per 4-byte "0.1,"), and
 * for text it stops after the first NUL byte, where the CSV reader stops
 * anyway (so /dev/zero fails at once). */
static int is_stream(const char *path)
{
    struct stat st;
    return path && strcmp(path, "-") && stat(path, &st) == 0 && !S_ISREG(st.st_mode) &&
           !S_ISDIR(st.st_mode);
}

int cli_load_data(const char *cmd, const cli_data_spec *spec, syn_dataset **out, int *is_idx)
{
    *out = NULL;
    if (is_stream(spec->data) || is_stream(spec->labels)) {
        cli_data_spec copy = *spec;
        char *data_tmp = NULL, *labels_tmp = NULL;
        int rc = SYN_EXIT_OK;
        if (is_stream(spec->data) &&
            (rc = cli_copy_to_temp(cmd, spec->data, spec->max_bytes, &data_tmp)) == 0) {
            copy.data = data_tmp;
            copy.shown_as = spec->shown_as ? spec->shown_as : spec->data;
        }
        if (rc == SYN_EXIT_OK && is_stream(spec->labels) &&
            (rc = cli_copy_to_temp(cmd, spec->labels, spec->max_bytes, &labels_tmp)) == 0)
            copy.labels = labels_tmp;
        if (rc == SYN_EXIT_OK)
            rc = cli_load_data(cmd, &copy, out, is_idx);
        cli_temp_remove(data_tmp);
        cli_temp_remove(labels_tmp);
        return rc;
    }
    int kind = sniff(spec->data);
    if (kind < 0)
        return cli_runtime_error(cmd, "%s: cannot open: %s", spec->data, strerror(errno));
    int idx = (kind != SNIFF_CSV && kind != SNIFF_GZIP_CSV) || (spec->labels && !spec->no_target);
    if (is_idx)
        *is_idx = idx;
    return idx ? load_idx(cmd, spec, out) : load_csv(cmd, spec, out);
}

int cli_copy_to_temp(const char *cmd, const char *source, size_t max_bytes, char **path)
{
    FILE *in = source ? fopen(source, "rb") : stdin;
    const char *name = source ? source : "stdin";
    if (!in)
        return cli_runtime_error(cmd, "%s: cannot open: %s", name, strerror(errno));
    const char *dir = getenv("TMPDIR");
    if (!dir || !*dir)
        dir = "/tmp";
    size_t n = strlen(dir) + sizeof "/synapse-input-XXXXXX";
    *path = malloc(n);
    int fd = -1;
    if (*path) {
        snprintf(*path, n, "%s/synapse-input-XXXXXX", dir);
        fd = cli_temp_create(*path);
    }
    if (fd < 0) {
        int e = errno;
        free(*path);
        *path = NULL;
        if (source)
            fclose(in);
        return cli_runtime_error(cmd, "cannot create a temporary file in %s: %s", dir,
                                 strerror(e));
    }
    size_t cap = max_bytes == 0 ? SIZE_MAX : max_bytes > SIZE_MAX / 4 ? SIZE_MAX : 4 * max_bytes;
    FILE *fp = fdopen(fd, "wb");
    char buf[1 << 16];
    size_t got, total = 0;
    int bad = !fp, text = -1, too_big = 0;
    while (!bad && (got = fread(buf, 1, sizeof buf, in)) > 0) {
        if (text < 0) /* the sniff's rule: an IDX magic or gzip's 1f 8b is binary */
            text = !(is_idx_magic((const unsigned char *)buf, got < 4 ? got : 4) ||
                     (got >= 2 && (unsigned char)buf[0] == 0x1f &&
                      (unsigned char)buf[1] == 0x8b));
        too_big = got > cap - total;
        if (too_big)
            break;
        total += got;
        bad = fwrite(buf, 1, got, fp) != got;
        if (text == 1 && memchr(buf, 0, got))
            break;
    }
    bad = bad || ferror(in);
    if (source)
        fclose(in);
    if (fp ? fclose(fp) != 0 : close(fd) != 0)
        bad = 1;
    if (bad || too_big) {
        char limit[32];
        cli_format_bytes(limit, sizeof limit, max_bytes);
        cli_temp_remove(*path);
        *path = NULL;
        if (too_big)
            return cli_runtime_error(cmd, "%s: more than %s arrived, 4 x --max-memory %s, "
                                     "which no data set within the limit needs", name,
                                     limit, limit);
        return cli_runtime_error(cmd, "cannot copy %s to a temporary file", name);
    }
    return SYN_EXIT_OK;
}
