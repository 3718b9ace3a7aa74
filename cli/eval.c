/* eval.c - `synapse eval`: a saved model on labelled data. Classifiers get
 * loss, accuracy, per-class precision/recall/F1 (from syn_evaluate's
 * confusion matrix) and the matrix; regressions MSE, MAE and R^2. As text
 * or as one JSON object. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model_data.h"

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
"usage: synapse eval --model MODEL --data FILE [--labels FILE | --target COL] [--json]\n"
"\n"
"Evaluates a saved model on labelled data. Classifiers: loss, accuracy,\n"
"per-class precision, recall, F1 and support, and the confusion matrix (rows:\n"
"true class, columns: predicted). Regression: loss, MSE, MAE and R^2.\n"
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
"  --json                print one JSON object: samples, loss, accuracy (null for\n"
"                        regression), per_class [{name, precision, recall, f1,\n"
"                        support}], confusion; mse, mae, r2 for regression.\n"
"                        Undefined values (NaN) are null.\n");
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

/* --------------------------------------------------------------- metrics */

typedef struct class_metrics {
    double precision, recall, f1;
    uint64_t support;
} class_metrics;

static double ratio(uint64_t num, uint64_t den)
{
    return den ? (double)num / (double)den : NAN;
}

static void per_class(const uint64_t *confusion, size_t k, class_metrics *out)
{
    for (size_t c = 0; c < k; c++) {
        uint64_t row = 0, col = 0;
        for (size_t j = 0; j < k; j++) {
            row += confusion[c * k + j];
            col += confusion[j * k + c];
        }
        uint64_t tp = confusion[c * k + c];
        out[c].precision = ratio(tp, col);
        out[c].recall = ratio(tp, row);
        double p = out[c].precision, r = out[c].recall;
        out[c].f1 = isnan(p) || isnan(r) ? NAN : p + r > 0 ? 2 * p * r / (p + r) : 0.0;
        out[c].support = row;
    }
}

static void print_json(const model_info *m, const syn_eval *ev, const class_metrics *cm,
                       const uint64_t *confusion, size_t k)
{
    printf("{\"samples\": %zu, \"loss\": ", ev->samples);
    json_number(stdout, ev->loss);
    printf(", \"accuracy\": ");
    json_number(stdout, ev->accuracy);
    if (!m->classify) {
        printf(", \"mse\": ");
        json_number(stdout, ev->mse);
        printf(", \"mae\": ");
        json_number(stdout, ev->mae);
        printf(", \"r2\": ");
        json_number(stdout, ev->r2);
        printf("}\n");
        return;
    }
    printf(", \"per_class\": [");
    for (size_t c = 0; c < k; c++) {
        printf("%s{\"name\": ", c ? ", " : "");
        json_string(stdout, c < m->n_classes ? m->classes[c] : "");
        printf(", \"precision\": ");
        json_number(stdout, cm[c].precision);
        printf(", \"recall\": ");
        json_number(stdout, cm[c].recall);
        printf(", \"f1\": ");
        json_number(stdout, cm[c].f1);
        printf(", \"support\": %llu}", (unsigned long long)cm[c].support);
    }
    printf("], \"confusion\": [");
    for (size_t r = 0; r < k; r++) {
        printf("%s[", r ? ", " : "");
        for (size_t c = 0; c < k; c++)
            printf("%s%llu", c ? ", " : "", (unsigned long long)confusion[r * k + c]);
        printf("]");
    }
    printf("]}\n");
}

static void print_metric(const char *name, double v)
{
    if (isnan(v))
        printf("%-10s n/a\n", name);
    else
        printf("%-10s %.6g\n", name, v);
}

static void print_confusion(const model_info *m, const uint64_t *confusion, size_t k)
{
    if (k > MAX_PRINTED_CLASSES) {
        printf("\nconfusion matrix: %zu classes, see --json\n", k);
        return;
    }
    printf("\nconfusion matrix (rows: true class, columns: predicted, in class order)\n");
    for (size_t r = 0; r < k; r++) {
        char name[256];
        printf("%-16.16s", cli_printable(m->classes[r], name, sizeof name));
        for (size_t c = 0; c < k; c++)
            printf(" %6llu", (unsigned long long)confusion[r * k + c]);
        printf("\n");
    }
}

static void print_text(const model_info *m, const syn_eval *ev, const class_metrics *cm,
                       const uint64_t *confusion, size_t k)
{
    printf("%-10s %zu\n", "samples", ev->samples);
    print_metric("loss", ev->loss);
    if (!m->classify) {
        print_metric("mse", ev->mse);
        print_metric("mae", ev->mae);
        print_metric("r2", ev->r2);
        return;
    }
    print_metric("accuracy", ev->accuracy);
    printf("\n%-16s %9s %9s %9s %9s\n", "class", "precision", "recall", "f1", "support");
    for (size_t c = 0; c < k; c++) {
        char name[256];
        printf("%-16.16s", cli_printable(m->classes[c], name, sizeof name));
        double v[3] = {cm[c].precision, cm[c].recall, cm[c].f1};
        for (int j = 0; j < 3; j++) {
            if (isnan(v[j]))
                printf(" %9s", "n/a");
            else
                printf(" %9.4f", v[j]);
        }
        printf(" %9llu\n", (unsigned long long)cm[c].support);
    }
    print_confusion(m, confusion, k);
}

static int evaluate(const eval_options *o, const model_info *m, const syn_dataset *ds)
{
    size_t n_out = syn_net_n_outputs(m->net), k = n_out == 1 ? 2 : n_out;
    size_t n = syn_dataset_n_samples(ds);
    if (syn_dataset_target_width(ds) != n_out)
        return cli_runtime_error("eval", "%s has %zu target columns but the model has %zu "
                                 "outputs (choose them with --target)", o->data,
                                 syn_dataset_target_width(ds), n_out);
    syn_workspace *ws = NULL;
    uint64_t *confusion = calloc(k * k, sizeof *confusion);
    class_metrics *cm = calloc(k, sizeof *cm);
    syn_eval ev;
    syn_status st = confusion && cm ? SYN_OK : SYN_ERR_OUT_OF_MEMORY;
    if (st == SYN_OK)
        st = syn_workspace_create(m->net, n < EVAL_BATCH ? n : EVAL_BATCH, &ws);
    if (st == SYN_OK)
        st = syn_workspace_set_threads(ws, (int)o->threads);
    if (st == SYN_OK)
        st = syn_evaluate(m->net, ws, ds, NULL, 0, &ev, m->classify ? confusion : NULL);
    int rc = st == SYN_OK ? SYN_EXIT_OK : cli_library_error("eval", st, NULL, o->data);
    if (rc == SYN_EXIT_OK) {
        if (m->classify)
            per_class(confusion, k, cm);
        (o->json ? print_json : print_text)(m, &ev, cm, confusion, k);
    }
    syn_workspace_free(ws);
    free(confusion);
    free(cm);
    return rc;
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
    size_t matrix = m.classify ? k * k * sizeof(uint64_t) + k * sizeof(class_metrics) : 0;
    if (m.classify && (k > SIZE_MAX / k / sizeof(uint64_t) / 2 ||
                       (o.memory_limit && matrix > o.memory_limit))) {
        char need[48] = "more than this machine can address", limit[32];
        if (k <= SIZE_MAX / k / sizeof(uint64_t) / 2)
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
