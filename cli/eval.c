/* eval.c - `synapse eval`: a saved model on labelled data. Classifiers get
 * loss, accuracy and the classification report (syn_class_report on
 * syn_evaluate's confusion matrix), the matrix and the most-confused pairs;
 * regressions MSE, RMSE, MAE and R^2 per output and overall. As text that
 * fits 80 columns or as one JSON object. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eval.h"

#define EVAL_BATCH 1024
#define MAX_PRINTED_CLASSES 30

typedef struct eval_options {
    const char *model, *data, *labels, *target, *delimiter, *max_memory;
    int header, json, strict;
    long threads;
    size_t memory_limit;
} eval_options;

static void eval_usage(FILE *to)
{
    fprintf(to,
"usage: synapse eval --model MODEL --data FILE [--labels FILE | --target COL]\n"
"                    [--json]\n"
"\n"
"Evaluates a saved model on labelled data. Classifiers: loss, accuracy,\n"
"per-class precision, recall, F1 and support with macro and weighted averages\n"
"(sklearn's classification_report; a class never predicted has precision 0),\n"
"the confusion matrix (rows: true class, columns: predicted; up to 30 classes)\n"
"and the most-confused pairs. Regression: MSE, RMSE, MAE and R^2 per output\n"
"and their mean.\n"
"Labels are mapped onto the model's class names; a label the model does not\n"
"know is an error.\n"
"\n"
"  --model MODEL         the model file (from synapse train)\n"
"  --data FILE           IDX images or CSV (\"-\" reads stdin)\n"
"  --labels FILE         IDX labels\n"
"  --target COL          CSV target column(s) by name or 0-based index (default:\n"
"                        the model's target by name in a file with a header, else\n"
"                        the last column, or the last N for N regression outputs)\n"
"\n"
"A CSV with a header is matched to the model by column name: any order, extra\n"
"columns ignored, a missing one named in the error. Without a header the columns\n"
"must be the model's, in its order, then the target(s).\n"
"  --delimiter C         CSV delimiter (default ',')\n"
"  --header, --no-header the CSV has / has no header row (default: detected)\n"
"  --strict              a category the model did not see in training is an error\n"
"                        (default: encoded as all zeros, counted in a warning)\n"
"  --threads N           threads (default 0: all available)\n"
"  --max-memory SIZE     refuse data that needs more memory (512M, 4G, bytes,\n"
"                        none; default: the memory available now)\n"
"  --json                print one JSON object (keys in docs/CLI.md): samples,\n"
"                        loss, accuracy, per_class, macro_avg, weighted_avg,\n"
"                        most_confused, confusion; for regression mse, rmse,\n"
"                        mae, r2 and per_target. Undefined values are null.\n");
}

static cli_parse_result parse_eval(int argc, char **argv, eval_options *o)
{
    const cli_option table[] = {
        {"--model", CLI_STRING, &o->model, 0, 0, NULL, 0},
        {"--data", CLI_STRING, &o->data, 0, 0, NULL, 0},
        {"--labels", CLI_STRING, &o->labels, 0, 0, NULL, 0},
        {"--target", CLI_STRING, &o->target, 0, 0, NULL, 0},
        {"--delimiter", CLI_STRING, &o->delimiter, 0, 0, NULL, 0},
        {"--header", CLI_FLAG, &o->header, 0, 0, NULL, 1},
        {"--no-header", CLI_FLAG, &o->header, 0, 0, NULL, -1},
        {"--threads", CLI_LONG, &o->threads, 0, 4096, NULL, 0},
        {"--strict", CLI_FLAG, &o->strict, 0, 0, NULL, 1},
        {"--max-memory", CLI_STRING, &o->max_memory, 0, 0, NULL, 0},
        {"--json", CLI_FLAG, &o->json, 0, 0, NULL, 1},
    };
    return cli_parse("eval", argc, argv, 1, table, sizeof table / sizeof table[0], eval_usage,
                     NULL, 0, NULL);
}

/* ------------------------------------------------------------------ JSON */

static void json_string(FILE *fp, const char *s)
{
    fputc('"', fp);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(fp, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", fp);
        else if (*p == '\t')
            fputs("\\t", fp);
        else if (*p == '\r')
            fputs("\\r", fp);
        else if (*p < 0x20)
            fprintf(fp, "\\u%04x", *p);
        else
            fputc(*p, fp);
    }
    fputc('"', fp);
}

static void json_number(FILE *fp, double v)
{
    if (isfinite(v))
        fprintf(fp, "%.10g", v);
    else
        fputs("null", fp);
}

/* --------------------------------------------------------------- layout */

#define TEXT_WIDTH 80    /* every line of the text report fits this */
#define MAX_PAIRS EVAL_MAX_PAIRS
#define NAME_COLUMN_MAX 36

/* Display columns of UTF-8 text: one per code point (wide scripts are
 * counted as one; a class name rarely mixes them in). */
static size_t text_columns(const char *s)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        n += (*p & 0xC0) != 0x80;
    return n;
}

#define LABEL_SIZE 1024
#define MAX_COLLISION_CHECK 1000 /* more classes than this are always numbered */

/* safe (printable) cut to `width` columns, in out: a name that is too long
 * keeps its head and its tail around a '~', since class names often differ
 * only at the end ("digit 1", "digit 10"). Cuts at code-point boundaries. */
static void fit_text(const char *safe, size_t width, char *out, size_t size)
{
    size_t cols = text_columns(safe);
    if (cols <= width || width < 3) {
        snprintf(out, size, "%.*s", cols <= width ? (int)strlen(safe) : (int)width, safe);
        return;
    }
    size_t tail = (width - 1) / 2, head = width - 1 - tail, seen = 0;
    const char *p = safe, *tail_at = NULL, *head_end = NULL;
    for (; *p; p++) {
        if ((*p & 0xC0) == 0x80)
            continue;
        if (seen == head)
            head_end = p;
        if (seen == cols - tail)
            tail_at = p;
        seen++;
    }
    snprintf(out, size, "%.*s~%s", (int)(head_end - safe), safe, tail_at ? tail_at : "");
}

/* Class c's label in `width` columns: its name, or "N:name" (N its place
 * among the model's outputs, from 0) when numbered. */
static void class_label(const model_info *m, size_t c, int numbered, size_t width, char *out,
                        size_t size)
{
    char safe[LABEL_SIZE], prefix[24] = "";
    cli_printable(m->classes[c], safe, sizeof safe);
    if (numbered)
        snprintf(prefix, sizeof prefix, "%zu:", c);
    size_t used = strlen(prefix);
    char fitted[LABEL_SIZE];
    fit_text(safe, width > used ? width - used : 0, fitted, sizeof fitted);
    snprintf(out, size, "%s%s", prefix, fitted);
}

static int compare_labels(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Whether the names cut to `width` columns stop telling classes apart (then
 * they are numbered). Past MAX_COLLISION_CHECK classes, or without memory
 * for the check, the answer is yes. */
static int labels_collide(const model_info *m, size_t k, size_t width)
{
    if (k > MAX_COLLISION_CHECK)
        return 1;
    /* A cut label is at most `width` code points of up to 4 bytes, or 4
     * bytes of "\xHH" per control byte; widths are at most NAME_COLUMN_MAX. */
    size_t stride = 4 * (width < NAME_COLUMN_MAX ? width : NAME_COLUMN_MAX) + 8;
    char *labels = malloc(k * stride);
    char **sorted = malloc(k * sizeof *sorted);
    int collide = !labels || !sorted;
    for (size_t c = 0; !collide && c < k; c++) {
        sorted[c] = labels + c * stride;
        class_label(m, c, 0, width, sorted[c], stride);
    }
    if (!collide) {
        qsort(sorted, k, sizeof *sorted, compare_labels);
        for (size_t c = 1; c < k && !collide; c++)
            collide = !strcmp(sorted[c - 1], sorted[c]);
    }
    free(labels);
    free(sorted);
    return collide;
}

/* Prints a label in exactly `width` columns, padded on the right (left !=
 * 0) or on the left. */
static void print_label(const char *label, size_t width, int left)
{
    size_t cols = text_columns(label), pad = cols < width ? width - cols : 0;
    if (left)
        printf("%s%*s", label, (int)pad, "");
    else
        printf("%*s%s", (int)pad, "", label);
}

static void print_class(const model_info *m, size_t c, int numbered, size_t width, int left)
{
    char label[LABEL_SIZE];
    class_label(m, c, numbered, width, label, sizeof label);
    print_label(label, width, left);
}

/* The printable width of the widest class name, within [floor_width, cap]. */
static size_t widest_name(const model_info *m, size_t k, size_t floor_width, size_t cap)
{
    size_t w = floor_width;
    char safe[LABEL_SIZE];
    for (size_t c = 0; c < k && w < cap; c++) {
        size_t cols = text_columns(cli_printable(m->classes[c], safe, sizeof safe));
        w = cols > w ? cols : w;
    }
    return w < cap ? w : cap;
}

static size_t digits(uint64_t v)
{
    size_t n = 1;
    while (v >= 10) {
        v /= 10;
        n++;
    }
    return n;
}

/* ------------------------------------------------------- confused pairs */

/* The MAX_PAIRS largest off-diagonal cells, largest first (ties in matrix
 * order), by insertion into a short sorted list: no k x k copy. */
static size_t most_confused(const uint64_t *confusion, size_t k, confused_pair *pairs)
{
    size_t n = 0;
    for (size_t r = 0; r < k; r++) {
        for (size_t c = 0; c < k; c++) {
            uint64_t v = confusion[r * k + c];
            if (r == c || v == 0 || (n == MAX_PAIRS && v <= pairs[n - 1].count))
                continue;
            size_t at = n < MAX_PAIRS ? n++ : n - 1;
            while (at > 0 && pairs[at - 1].count < v) {
                pairs[at] = pairs[at - 1];
                at--;
            }
            pairs[at] = (confused_pair){r, c, v};
        }
    }
    return n;
}

/* ------------------------------------------------------------------ JSON */

static void json_metrics(const syn_class_metrics *m)
{
    printf("\"precision\": ");
    json_number(stdout, m->precision);
    printf(", \"recall\": ");
    json_number(stdout, m->recall);
    printf(", \"f1\": ");
    json_number(stdout, m->f1);
    printf(", \"support\": %llu, \"predicted\": %llu", (unsigned long long)m->support,
           (unsigned long long)m->predicted);
}

static void json_target(const syn_target_eval *t)
{
    printf("\"mse\": ");
    json_number(stdout, t->mse);
    printf(", \"rmse\": ");
    json_number(stdout, t->rmse);
    printf(", \"mae\": ");
    json_number(stdout, t->mae);
    printf(", \"r2\": ");
    json_number(stdout, t->r2);
}


const char *eval_target_name(const eval_report *r, size_t j, char *buf, size_t size)
{
    if (r->target_names && r->target_names[j])
        return r->target_names[j];
    snprintf(buf, size, "output_%zu", j + 1);
    return buf;
}

static void print_json(const model_info *m, const eval_report *r)
{
    printf("{\"samples\": %zu, \"loss\": ", r->ev.samples);
    json_number(stdout, r->ev.loss);
    printf(", \"accuracy\": ");
    json_number(stdout, r->ev.accuracy);
    if (!m->classify) {
        printf(", ");
        json_target(&r->overall);
        printf(", \"per_target\": [");
        for (size_t j = 0; j < r->n_targets; j++) {
            char buf[32];
            printf("%s{\"name\": ", j ? ", " : "");
            json_string(stdout, eval_target_name(r, j, buf, sizeof buf));
            printf(", ");
            json_target(&r->targets[j]);
            printf("}");
        }
        printf("]}\n");
        return;
    }
    printf(", \"zero_division\": 0, \"per_class\": [");
    for (size_t c = 0; c < r->k; c++) {
        printf("%s{\"name\": ", c ? ", " : "");
        json_string(stdout, m->classes[c]);
        printf(", ");
        json_metrics(&r->cm[c]);
        printf("}");
    }
    printf("], \"macro_avg\": {");
    json_metrics(&r->summary.macro);
    printf("}, \"weighted_avg\": {");
    json_metrics(&r->summary.weighted);
    printf("}, \"most_confused\": [");
    for (size_t i = 0; i < r->n_pairs; i++) {
        printf("%s{\"true\": ", i ? ", " : "");
        json_string(stdout, m->classes[r->pairs[i].truth]);
        printf(", \"predicted\": ");
        json_string(stdout, m->classes[r->pairs[i].predicted]);
        printf(", \"count\": %llu}", (unsigned long long)r->pairs[i].count);
    }
    printf("], \"confusion\": [");
    for (size_t row = 0; row < r->k; row++) {
        printf("%s[", row ? ", " : "");
        for (size_t c = 0; c < r->k; c++)
            printf("%s%llu", c ? ", " : "", (unsigned long long)r->confusion[row * r->k + c]);
        printf("]");
    }
    printf("]}\n");
}

/* ------------------------------------------------------------------ text */

static void print_metric(const char *name, double v)
{
    if (isnan(v))
        printf("%-10s n/a\n", name);
    else
        printf("%-10s %.6g\n", name, v);
}

/* The matrix in blocks of as many columns as fit TEXT_WIDTH, headed by the
 * class names cut to the cell width. */
static void print_confusion(const model_info *m, const eval_report *r)
{
    size_t k = r->k;
    if (k > MAX_PRINTED_CLASSES) {
        printf("\nconfusion matrix: %zu classes are too many to read as a table; "
               "see --json\n", k);
        return;
    }
    uint64_t largest = 0;
    for (size_t i = 0; i < k * k; i++)
        largest = r->confusion[i] > largest ? r->confusion[i] : largest;
    size_t row_w = widest_name(m, k, 4, 16), cell = widest_name(m, k, 3, 8);
    cell = digits(largest) > cell ? digits(largest) : cell;
    int number_rows = labels_collide(m, k, row_w), number_cols = labels_collide(m, k, cell);
    size_t per_block = (TEXT_WIDTH - 1 - row_w) / (cell + 1);
    per_block = per_block ? per_block : 1;
    printf("\nconfusion matrix (rows: true class, columns: predicted)\n%s",
           number_rows || number_cols ? "(N:name: the class's place among the model's outputs, "
                                        "from 0)\n" : "");
    for (size_t first = 0; first < k; first += per_block) {
        size_t last = first + per_block < k ? first + per_block : k;
        if (per_block < k)
            printf("%scolumns %zu-%zu of %zu\n", first ? "\n" : "", first + 1, last, k);
        printf("%*s", (int)row_w, "");
        for (size_t c = first; c < last; c++) {
            putchar(' ');
            print_class(m, c, number_cols, cell, 0);
        }
        putchar('\n');
        for (size_t row = 0; row < k; row++) {
            print_class(m, row, number_rows, row_w, 1);
            for (size_t c = first; c < last; c++)
                printf(" %*llu", (int)cell, (unsigned long long)r->confusion[row * k + c]);
            putchar('\n');
        }
    }
}

static void print_pairs(const model_info *m, const eval_report *r)
{
    if (r->n_pairs == 0) {
        printf("\nno class was confused with another\n");
        return;
    }
    printf("\nmost confused (true -> predicted: rows, share of the true class)\n");
    size_t name_w = widest_name(m, r->k, 4, (TEXT_WIDTH - 22) / 2);
    int numbered = labels_collide(m, r->k, name_w);
    for (size_t i = 0; i < r->n_pairs; i++) {
        const confused_pair *p = &r->pairs[i];
        uint64_t support = r->cm[p->truth].support;
        print_class(m, p->truth, numbered, name_w, 0);
        printf(" -> ");
        print_class(m, p->predicted, numbered, name_w, 1);
        printf(" %7llu %5.1f%%\n", (unsigned long long)p->count,
               100.0 * (double)p->count / (double)support);
    }
}

static void print_class_row(const char *label, size_t name_w, const syn_class_metrics *c)
{
    print_label(label, name_w, 1);
    printf(" %9.4f %9.4f %9.4f %9llu\n", c->precision, c->recall, c->f1,
           (unsigned long long)c->support);
}

static void print_classifier(const model_info *m, const eval_report *r)
{
    print_metric("accuracy", r->ev.accuracy);
    size_t name_w = widest_name(m, r->k, 12, NAME_COLUMN_MAX), unpredicted = 0;
    printf("\n%-*s %9s %9s %9s %9s\n", (int)name_w, "class", "precision", "recall", "f1",
           "support");
    int numbered = labels_collide(m, r->k, name_w);
    for (size_t c = 0; c < r->k; c++) {
        char label[LABEL_SIZE];
        class_label(m, c, numbered, name_w, label, sizeof label);
        print_class_row(label, name_w, &r->cm[c]);
        unpredicted += r->cm[c].predicted == 0;
    }
    print_class_row("macro avg", name_w, &r->summary.macro);
    print_class_row("weighted avg", name_w, &r->summary.weighted);
    if (unpredicted)
        printf("%zu class%s never predicted: precision 0 (sklearn's zero_division=0)\n",
               unpredicted, unpredicted == 1 ? " was" : "es were");
    print_confusion(m, r);
    print_pairs(m, r);
}

static void print_target_row(const char *name, size_t name_w, const syn_target_eval *t)
{
    char safe[LABEL_SIZE], label[LABEL_SIZE];
    fit_text(cli_printable(name, safe, sizeof safe), name_w, label, sizeof label);
    print_label(label, name_w, 1);
    double v[4] = {t->mse, t->rmse, t->mae, t->r2};
    for (int j = 0; j < 4; j++) {
        if (isnan(v[j]))
            printf(" %10s", "n/a");
        else
            printf(" %10.4g", v[j]);
    }
    putchar('\n');
}

/* The overall scores as `name value` lines (as before per-output scores
 * existed, so scripts reading them keep working), then with several
 * outputs a table of each one's. */
static void print_regression(const eval_report *r)
{
    print_metric("mse", r->overall.mse);
    print_metric("rmse", r->overall.rmse);
    print_metric("mae", r->overall.mae);
    print_metric("r2", r->overall.r2);
    if (r->n_targets < 2)
        return;
    char buf[32], safe[LABEL_SIZE];
    size_t name_w = 12;
    for (size_t j = 0; j < r->n_targets; j++) {
        size_t cols = text_columns(cli_printable(eval_target_name(r, j, buf, sizeof buf), safe,
                                                 sizeof safe));
        name_w = cols > name_w ? cols : name_w;
    }
    name_w = name_w < NAME_COLUMN_MAX ? name_w : NAME_COLUMN_MAX;
    printf("\n%-*s %10s %10s %10s %10s\n", (int)name_w, "target", "mse", "rmse", "mae", "r2");
    for (size_t j = 0; j < r->n_targets; j++)
        print_target_row(eval_target_name(r, j, buf, sizeof buf), name_w, &r->targets[j]);
    print_target_row("mean", name_w, &r->overall);
}

static void print_text(const model_info *m, const eval_report *r)
{
    printf("%-10s %zu\n", "samples", r->ev.samples);
    print_metric("loss", r->ev.loss);
    if (m->classify)
        print_classifier(m, r);
    else
        print_regression(r);
}

/* The model's names for its regression outputs (from the CSV header it was
 * trained on), or NULL. names has room for n_out. */
static const char *const *output_names(const model_info *m, size_t n_out, const char **names)
{
    const syn_encoding *enc = syn_net_encoding(m->net);
    if (!enc || syn_encoding_n_targets(enc) != n_out)
        return NULL;
    for (size_t j = 0; j < n_out; j++)
        names[j] = syn_encoding_target_name(enc, j);
    return names;
}

int eval_compute(const char *cmd, const model_info *m, const syn_dataset *ds,
                 const size_t *rows, size_t n_rows, long threads, const char *shown,
                 eval_report *r)
{
    size_t n_out = syn_net_n_outputs(m->net), k = n_out == 1 ? 2 : n_out;
    size_t n = rows ? n_rows : syn_dataset_n_samples(ds);
    memset(r, 0, sizeof *r);
    if (syn_dataset_target_width(ds) != n_out)
        return cli_runtime_error(cmd, "%s has %zu target columns but the model has %zu "
                                 "outputs (choose them with --target)", shown,
                                 syn_dataset_target_width(ds), n_out);
    syn_workspace *ws = NULL;
    /* Sized and counted against --max-memory by the caller (eval_memory). */
    r->confusion = m->classify ? calloc(k * k, sizeof *r->confusion) : NULL;
    r->cm = m->classify ? calloc(k, sizeof *r->cm) : NULL;
    r->targets = m->classify ? NULL : calloc(n_out, sizeof *r->targets);
    r->names_storage = m->classify ? NULL : calloc(n_out, sizeof *r->names_storage);
    r->k = k;
    r->n_targets = m->classify ? 0 : n_out;
    syn_status st = (m->classify ? r->confusion && r->cm : r->targets && r->names_storage)
                        ? SYN_OK : SYN_ERR_OUT_OF_MEMORY;
    if (st == SYN_OK)
        st = syn_workspace_create_inference(m->net, n < EVAL_BATCH ? (n ? n : 1) : EVAL_BATCH,
                                            &ws);
    if (st == SYN_OK)
        st = syn_workspace_set_threads(ws, (int)threads);
    if (st == SYN_OK)
        st = syn_evaluate_targets(m->net, ws, ds, rows, n_rows, &r->ev, r->confusion,
                                  r->targets);
    if (st == SYN_OK && m->classify) {
        st = syn_class_report(r->confusion, k, r->cm, &r->summary);
        r->n_pairs = most_confused(r->confusion, k, r->pairs);
    }
    syn_workspace_free(ws);
    if (st != SYN_OK)
        return cli_library_error(cmd, st, NULL, shown);
    if (!m->classify) {
        r->target_names = output_names(m, n_out, r->names_storage);
        r->overall = (syn_target_eval){.mse = r->ev.mse, .mae = r->ev.mae, .r2 = r->ev.r2};
        for (size_t j = 0; j < n_out; j++)
            r->overall.rmse += r->targets[j].rmse / (double)n_out;
    }
    return SYN_EXIT_OK;
}

void eval_report_free(eval_report *r)
{
    free(r->confusion);
    free(r->cm);
    free(r->targets);
    free(r->names_storage);
    memset(r, 0, sizeof *r);
}

static int evaluate(const eval_options *o, const model_info *m, const syn_dataset *ds)
{
    eval_report r;
    int rc = eval_compute("eval", m, ds, NULL, 0, o->threads, o->data, &r);
    if (rc == SYN_EXIT_OK)
        (o->json ? print_json : print_text)(m, &r);
    eval_report_free(&r);
    return rc;
}

/* Bytes eval allocates beside the network and the data: the k x k matrix
 * and the per-class rows, or the per-output rows; 0 when that does not fit
 * size_t. */
size_t eval_memory(const model_info *m)
{
    size_t n_out = syn_net_n_outputs(m->net), k = n_out == 1 ? 2 : n_out;
    if (!m->classify)
        return n_out > SIZE_MAX / (sizeof(syn_target_eval) + sizeof(char *))
                   ? 0 : n_out * (sizeof(syn_target_eval) + sizeof(char *));
    if (k > SIZE_MAX / k / sizeof(uint64_t) / 2)
        return 0;
    return k * k * sizeof(uint64_t) + k * sizeof(syn_class_metrics);
}

int cmd_eval(int argc, char **argv)
{
    eval_options o = {.header = 0};
    cli_parse_result parsed = parse_eval(argc, argv, &o);
    if (parsed != CLI_PARSED)
        return parsed == CLI_HELP ? SYN_EXIT_OK : SYN_EXIT_USAGE;
    if (!o.model)
        return cli_usage_error("eval", "missing --model MODEL");
    if (!o.data)
        return cli_usage_error("eval", "missing --data FILE");
    if (o.labels && o.target)
        return cli_usage_error("eval", "--labels (IDX) and --target (CSV) exclude each other");
    int rc = cli_memory_limit("eval", o.max_memory, &o.memory_limit);
    if (rc != SYN_EXIT_OK)
        return rc;
    model_info m;
    rc = model_load("eval", o.model, &m);
    if (rc != SYN_EXIT_OK)
        return rc;
    /* The k x k confusion matrix is held to the limit, before the data is
     * read (a 100k-class model would need 80 GB for it). */
    size_t n_out = syn_net_n_outputs(m.net), k = n_out == 1 ? 2 : n_out;
    size_t matrix = eval_memory(&m);
    if (m.classify && (matrix == 0 || (o.memory_limit && matrix > o.memory_limit))) {
        char need[48] = "more than this machine can address", limit[32];
        if (matrix)
            cli_format_bytes(need, sizeof need, matrix);
        cli_format_bytes(limit, sizeof limit, o.memory_limit);
        model_info_free(&m);
        return cli_runtime_error("eval", "the confusion matrix of %zu classes needs %s, more "
                                 "than --max-memory %s", k, need, limit);
    }
    cli_data_spec spec = {.data = o.data, .labels = o.labels, .target = o.target,
                          .delimiter = o.delimiter, .header = o.header,
                          .task = m.classify ? CLI_TASK_CLASSIFY : CLI_TASK_REGRESS,
                          .class_names = m.classify ? m.classes : NULL,
                          .n_class_names = m.classify ? m.n_classes : 0,
                          .default_targets = m.classify ? 1 : syn_net_n_outputs(m.net),
                          .max_bytes = o.memory_limit, .strict = o.strict};
    syn_dataset *ds = NULL;
    char *temp = NULL;
    rc = model_load_data("eval", &m, &spec, &ds, &temp);
    if (temp) {
        cli_temp_remove(temp);
    }
    if (rc == SYN_EXIT_OK)
        rc = evaluate(&o, &m, ds);
    syn_dataset_free(ds);
    model_info_free(&m);
    return rc;
}
