/* args.c - the option parser every subcommand shares: one table per
 * command, strict number parsing (whole argument, range checked), byte
 * sizes (--max-memory), and the one-line error messages with their exit
 * codes. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* " (rank R of N)" in an MPI job (ranks.c), else "". */
static char rank_tag[48];

void cli_set_rank_tag(int rank, int size)
{
    snprintf(rank_tag, sizeof rank_tag, " (rank %d of %d)", rank, size);
}

const char *cli_rank_tag(void)
{
    return rank_tag;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "synapse %s%s: ", cmd, rank_tag);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see 'synapse %s --help')\n", cmd);
    return SYN_EXIT_USAGE;
}

int cli_runtime_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "synapse %s%s: ", cmd, rank_tag);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return SYN_EXIT_RUNTIME;
}

int cli_library_error(const char *cmd, syn_status st, const syn_error *err, const char *what)
{
    if (err && err->message[0]) {
        /* The detail is one line by contract; cut at a stray newline anyway. */
        size_t len = strcspn(err->message, "\r\n");
        return cli_runtime_error(cmd, "%.*s", (int)len, err->message);
    }
    return cli_runtime_error(cmd, "%s: %s", what, syn_strerror(st));
}

int cli_library_error_as(const char *cmd, syn_status st, const syn_error *err, const char *path,
                         const char *shown_as)
{
    size_t n = strlen(path);
    if (!shown_as || !err || strncmp(err->message, path, n) != 0)
        return cli_library_error(cmd, st, err, shown_as ? shown_as : path);
    size_t len = strcspn(err->message + n, "\r\n");
    return cli_runtime_error(cmd, "%s%.*s", shown_as, (int)len, err->message + n);
}

static int parse_long_strict(const char *text, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || end == text || *end)
        return 0;
    *out = v;
    return 1;
}

static int parse_double_strict(const char *text, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (errno || end == text || *end || !isfinite(v))
        return 0;
    *out = v;
    return 1;
}

static int choice_index(const char *const *choices, const char *text)
{
    for (int i = 0; choices[i]; i++)
        if (!strcmp(choices[i], text))
            return i;
    return -1;
}

static void list_choices(const char *const *choices, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; choices[i] && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? "|" : "", choices[i]);
}

/* Stores `value` for option o; returns 0 after printing a usage error. */
static int store_value(const char *cmd, const cli_option *o, const char *value)
{
    long l;
    double d;
    char buf[256];
    switch (o->kind) {
    case CLI_STRING:
        *(const char **)o->dest = value;
        return 1;
    case CLI_LONG:
        if (!parse_long_strict(value, &l) || (double)l < o->min || (double)l > o->max) {
            cli_usage_error(cmd, "%s expects an integer in [%.0f, %.0f], got '%s'", o->name,
                            o->min, o->max, value);
            return 0;
        }
        *(long *)o->dest = l;
        return 1;
    case CLI_DOUBLE:
        if (!parse_double_strict(value, &d) || d < o->min || d > o->max) {
            cli_usage_error(cmd, "%s expects a number in [%g, %g], got '%s'", o->name, o->min,
                            o->max, value);
            return 0;
        }
        *(double *)o->dest = d;
        return 1;
    case CLI_CHOICE:
        if ((l = choice_index(o->choices, value)) < 0) {
            list_choices(o->choices, buf, sizeof buf);
            cli_usage_error(cmd, "%s expects one of %s, got '%s'", o->name, buf, value);
            return 0;
        }
        *(int *)o->dest = (int)l;
        return 1;
    case CLI_FLAG:
        break;
    }
    return 0;
}

static const cli_option *find_option(const cli_option *options, size_t n, const char *name,
                                     size_t name_len)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(options[i].name) == name_len && !strncmp(options[i].name, name, name_len))
            return &options[i];
    return NULL;
}

/* Levenshtein distance of a[0..na) and b[0..nb), capped at CAP_DISTANCE
 * (names are short; longer ones are not worth suggesting). */
#define CAP_DISTANCE 8
#define MAX_NAME 64
static size_t edit_distance(const char *a, size_t na, const char *b, size_t nb)
{
    if (na >= MAX_NAME || nb >= MAX_NAME)
        return CAP_DISTANCE;
    size_t row[MAX_NAME + 1];
    for (size_t j = 0; j <= nb; j++)
        row[j] = j;
    for (size_t i = 1; i <= na; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= nb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            best = up + 1 < best ? up + 1 : best;
            best = row[j - 1] + 1 < best ? row[j - 1] + 1 : best;
            row[j] = best;
            diag = up;
        }
    }
    return row[nb] < CAP_DISTANCE ? row[nb] : CAP_DISTANCE;
}

/* Close enough to be a slip: at most 2 edits, or a third of the name for
 * long ones (--valsplit, --max-memroy). */
static int near_enough(size_t distance, size_t len)
{
    return distance <= (len / 3 > 2 ? len / 3 : 2);
}

const char *cli_nearest(const char *given, size_t len, const char *const *names, size_t n)
{
    const char *best = NULL;
    size_t best_d = CAP_DISTANCE;
    for (size_t i = 0; i < n; i++) {
        size_t d = edit_distance(given, len, names[i], strlen(names[i]));
        if (d < best_d) {
            best_d = d;
            best = names[i];
        }
    }
    return best && near_enough(best_d, len) ? best : NULL;
}

/* "unknown option '--epoch'; did you mean '--epochs'?" for every command. */
static void unknown_option(const char *cmd, const cli_option *options, size_t n,
                           const char *name, size_t len)
{
    const char *best = NULL;
    size_t best_d = CAP_DISTANCE;
    for (size_t i = 0; i < n; i++) {
        size_t d = edit_distance(name, len, options[i].name, strlen(options[i].name));
        if (d < best_d) {
            best_d = d;
            best = options[i].name;
        }
    }
    if (best && near_enough(best_d, len))
        cli_usage_error(cmd, "unknown option '%.*s'; did you mean '%s'?", (int)len, name, best);
    else
        cli_usage_error(cmd, "unknown option '%.*s'", (int)len, name);
}

cli_parse_result cli_parse(const char *cmd, int argc, char **argv, int first,
                           const cli_option *options, size_t n_options, void (*usage)(FILE *),
                           const char **positional, size_t max_positional,
                           size_t *n_positional)
{
    size_t n_pos = 0;
    for (int i = first; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return CLI_HELP;
        }
        if (strncmp(a, "--", 2) != 0 || !strcmp(a, "--")) {
            if (a[0] == '-' && a[1] != '\0' && strcmp(a, "--") != 0)
                return cli_usage_error(cmd, "unknown option '%s'", a), CLI_BAD_USAGE;
            if (n_pos >= max_positional)
                return cli_usage_error(cmd, "unexpected argument '%s'", a), CLI_BAD_USAGE;
            positional[n_pos++] = a;
            continue;
        }
        const char *eq = strchr(a, '=');
        size_t name_len = eq ? (size_t)(eq - a) : strlen(a);
        const cli_option *o = find_option(options, n_options, a, name_len);
        if (!o) {
            unknown_option(cmd, options, n_options, a, name_len);
            return CLI_BAD_USAGE;
        }
        if (o->kind == CLI_FLAG) {
            if (eq)
                return cli_usage_error(cmd, "%s takes no value", o->name), CLI_BAD_USAGE;
            *(int *)o->dest = o->flag_value;
            continue;
        }
        const char *value = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (!value)
            return cli_usage_error(cmd, "%s needs a value", o->name), CLI_BAD_USAGE;
        if (!store_value(cmd, o, value))
            return CLI_BAD_USAGE;
    }
    if (n_positional)
        *n_positional = n_pos;
    return CLI_PARSED;
}

int cli_parse_size_list(const char *text, size_t **out, size_t *count)
{
    *out = NULL;
    *count = 0;
    if (!strcmp(text, "") || !strcmp(text, "none"))
        return 1;
    size_t n = 1;
    for (const char *p = text; *p; p++)
        n += *p == ',';
    size_t *sizes = malloc(n * sizeof *sizes);
    if (!sizes)
        return 0;
    const char *p = text;
    for (size_t k = 0; k < n; k++) {
        char *end;
        errno = 0;
        /* strtoul accepts a sign; a width must be written as plain digits. */
        if (*p < '0' || *p > '9') {
            free(sizes);
            return 0;
        }
        unsigned long long v = strtoull(p, &end, 10);
        if (errno || v == 0 || v > (1ull << 24) || (*end != ',' && *end != '\0')) {
            free(sizes);
            return 0;
        }
        sizes[k] = (size_t)v;
        p = end + (*end == ',');
    }
    *out = sizes;
    *count = n;
    return 1;
}

/* Binary multiples: K is 1024 bytes, M 1024 K, ... */
static int unit_shift(const char *unit, unsigned *shift)
{
    static const char letters[] = "KMGTPE";
    *shift = 0;
    if (!strcmp(unit, "") || !strcmp(unit, "B"))
        return 1;
    char c = unit[0] >= 'a' && unit[0] <= 'z' ? (char)(unit[0] - 'a' + 'A') : unit[0];
    const char *at = c ? strchr(letters, c) : NULL;
    if (!at || (strcmp(unit + 1, "") && strcmp(unit + 1, "B") && strcmp(unit + 1, "iB")))
        return 0;
    *shift = 10u * (unsigned)(at - letters + 1);
    return 1;
}

int cli_parse_bytes(const char *text, size_t *out)
{
    /* Digits with at most one '.', then the unit: no sign, no exponent,
     * no spaces, so "1e9" or "-5G" are not sizes. */
    const char *p = text;
    size_t digits = 0, dots = 0;
    for (; (*p >= '0' && *p <= '9') || *p == '.'; p++) {
        digits += *p != '.';
        dots += *p == '.';
    }
    unsigned shift;
    if (digits == 0 || dots > 1 || !unit_shift(p, &shift))
        return 0;
    char number[64];
    size_t len = (size_t)(p - text);
    if (len >= sizeof number)
        return 0;
    memcpy(number, text, len);
    number[len] = '\0';
    errno = 0;
    double value = strtod(number, NULL);
    if (errno || !isfinite(value))
        return 0;
    value = ldexp(value, (int)shift);
    /* 2^64 is exactly representable; anything at or past SIZE_MAX + 1 is out. */
    if (value < 1.0 || value >= ldexp(1.0, (int)(sizeof(size_t) * 8)))
        return 0;
    *out = (size_t)value;
    return 1;
}

void cli_format_bytes(char *buf, size_t size, size_t bytes)
{
    static const char *const units[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    double v = (double)bytes;
    size_t u = 0;
    while (v >= 1024.0 && u + 1 < sizeof units / sizeof units[0]) {
        v /= 1024.0;
        u++;
    }
    if (u == 0)
        snprintf(buf, size, "%zu bytes", bytes);
    else
        snprintf(buf, size, "%.*f %s", v < 100.0 && v != floor(v) ? 1 : 0, v, units[u]);
}
