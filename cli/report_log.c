/* report_log.c - the run's history for the report: a --log CSV of any
 * synapse version, read by its header's column names (so a log from before
 * the lr and stop columns still reads; what it lacks is NaN, and the report
 * says so), or epochs pushed by train itself. The log is a file from
 * anywhere: every field is checked and an error names its line. Parsing
 * prints nothing (tests/fuzz/fuzz_report_log.c runs it); report.c says
 * what failed. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

#define MAX_LOG_LINE 4096
#define MAX_LOG_FIELDS 64

enum log_column {
    COL_EPOCH, COL_TRAIN_LOSS, COL_TRAIN_ACC, COL_VAL_LOSS, COL_VAL_ACC, COL_SECONDS,
    COL_SPS, COL_SAVED, COL_TEST_LOSS, COL_TEST_ACC, COL_LR, COL_STOP, COL_COUNT
};

static const char *const column_names[COL_COUNT] = {
    "epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "seconds",
    "samples_per_second", "saved", "test_loss", "test_accuracy", "lr", "stop"};

int report_history_push(report_history *h, const report_epoch *e)
{
    if (h->n_epochs == h->cap) {
        size_t cap = h->cap ? 2 * h->cap : 64;
        if (cap > SIZE_MAX / sizeof *h->epochs)
            return 0;
        report_epoch *grown = realloc(h->epochs, cap * sizeof *grown);
        if (!grown)
            return 0;
        h->epochs = grown;
        h->cap = cap;
    }
    h->epochs[h->n_epochs++] = *e;
    return 1;
}

void report_history_free(report_history *h)
{
    free(h->epochs);
    memset(h, 0, sizeof *h);
}

/* Splits a CSV line (RFC 4180 quotes, as cli_csv_field writes them) in
 * place; returns the field count, or -1 for more than `max` fields or an
 * unclosed quote. */
static int split_fields(char *line, char **fields, int max)
{
    int n = 0;
    char *p = line;
    for (;;) {
        if (n == max)
            return -1;
        char *out = p;
        fields[n++] = p;
        if (*p == '"') {
            p++;
            for (;;) {
                if (!*p)
                    return -1;
                if (*p == '"' && p[1] == '"') {
                    *out++ = '"';
                    p += 2;
                } else if (*p == '"') {
                    p++;
                    break;
                } else {
                    *out++ = *p++;
                }
            }
        }
        while (*p && *p != ',')
            *out++ = *p++;
        int more = *p == ',';
        *out = '\0';
        if (!more)
            return n;
        p++;
    }
}

/* A number field; empty is NaN. Returns 0 for anything else. */
static int parse_number(const char *s, double *v)
{
    if (!*s) {
        *v = NAN;
        return 1;
    }
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    return end != s && *end == '\0' && errno != ERANGE;
}

static int read_row(char **fields, int n, const int *where, report_history *h, char *why,
                    size_t why_size)
{
    double v[COL_COUNT];
    for (int c = 0; c < COL_COUNT; c++) {
        v[c] = NAN;
        if (c == COL_STOP || where[c] < 0 || where[c] >= n)
            continue;
        if (!parse_number(fields[where[c]], &v[c])) {
            snprintf(why, why_size, "column %s is not a number", column_names[c]);
            return 0;
        }
    }
    if (!(v[COL_EPOCH] == (double)(h->n_epochs + 1))) {
        snprintf(why, why_size, "epoch %g where epoch %zu was due", v[COL_EPOCH],
                 h->n_epochs + 1);
        return 0;
    }
    report_epoch e = {v[COL_TRAIN_LOSS], v[COL_TRAIN_ACC], v[COL_VAL_LOSS], v[COL_VAL_ACC],
                      v[COL_SECONDS], v[COL_SPS], v[COL_LR]};
    if (!report_history_push(h, &e)) {
        snprintf(why, why_size, "out of memory");
        return 0;
    }
    if (v[COL_SAVED] == 1.0)
        h->saved_epoch = h->n_epochs;
    if (where[COL_STOP] >= 0 && where[COL_STOP] < n && fields[where[COL_STOP]][0])
        snprintf(h->stop_reason, sizeof h->stop_reason, "%s", fields[where[COL_STOP]]);
    return 1;
}

int report_history_parse(FILE *fp, report_history *h, size_t *line_no, char *why,
                         size_t why_size)
{
    memset(h, 0, sizeof *h);
    char line[MAX_LOG_LINE + 2];
    char *fields[MAX_LOG_FIELDS];
    int where[COL_COUNT];
    int ok = 1, have_header = 0;
    *line_no = 0;
    why[0] = '\0';
    while (ok && fgets(line, sizeof line, fp)) {
        ++*line_no;
        size_t len = strlen(line);
        if (len > MAX_LOG_LINE || (len && line[len - 1] != '\n' && !feof(fp))) {
            snprintf(why, why_size, "line too long");
            ok = 0;
            break;
        }
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0])
            continue;
        int n = split_fields(line, fields, MAX_LOG_FIELDS);
        if (n < 0) {
            snprintf(why, why_size, "not a CSV line (an open quote or too many fields)");
            ok = 0;
            break;
        }
        if (!have_header) {
            for (int c = 0; c < COL_COUNT; c++) {
                where[c] = -1;
                for (int i = 0; i < n; i++)
                    if (!strcmp(fields[i], column_names[c]))
                        where[c] = i;
            }
            if (where[COL_EPOCH] < 0 || where[COL_TRAIN_LOSS] < 0) {
                snprintf(why, why_size, "the header has no epoch and train_loss columns");
                ok = 0;
                break;
            }
            h->has_lr = where[COL_LR] >= 0;
            h->has_seconds = where[COL_SECONDS] >= 0;
            h->has_samples_per_second = where[COL_SPS] >= 0;
            h->has_stop = where[COL_STOP] >= 0;
            have_header = 1;
            continue;
        }
        ok = read_row(fields, n, where, h, why, why_size);
    }
    if (ok && ferror(fp)) {
        snprintf(why, why_size, "%s", strerror(errno ? errno : EIO));
        ok = 0;
    }
    if (ok && !have_header) {
        snprintf(why, why_size, "empty");
        ok = 0;
    }
    if (!ok) {
        report_history_free(h);
        return 0;
    }
    h->restored = h->saved_epoch && h->saved_epoch < h->n_epochs;
    return 1;
}
