/* predict.c - `synapse predict`: runs a saved model over every row of a
 * CSV (all columns are features unless --target names columns to drop) or
 * of IDX images, and writes one CSV row per input: the predicted class
 * name and the output per class for classifiers, the outputs for
 * regression. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model_data.h"

#define PREDICT_BATCH 1024

typedef struct predict_options {
    const char *model, *data, *labels, *target, *delimiter, *out, *max_memory;
    int header, strict;
    long threads;
    size_t memory_limit;
} predict_options;

static void predict_usage(FILE *to)
{
    fprintf(to,
"usage: synapse predict --model MODEL --data FILE [--out FILE]\n"
"\n"
"Writes one CSV row per input row (or IDX image), in input order.\n"
"Classifiers: header prediction,p_<class1>,p_<class2>,...; each row holds the\n"
"predicted class name and the model's output per class (probabilities summing\n"
"to 1 for softmax models; independent sigmoid probabilities for bce models).\n"
"Regression: header output_1,output_2,... and the outputs.\n"
"\n"
"  --model MODEL         the model file (from synapse train)\n"
"  --data FILE           CSV or IDX images; \"-\" reads stdin. A CSV with a header\n"
"                        is matched to the model's columns by name (any order;\n"
"                        other columns, the target among them, are ignored);\n"
"                        without a header its columns must be the model's inputs\n"
"  --target COL          CSV column(s) to drop first (by name or 0-based index,\n"
"                        comma-separated), e.g. the label column of training data\n"
"                        without a header\n"
"  --labels FILE         accepted and ignored for IDX images\n"
"  --out FILE            where to write (default \"-\": stdout; a file is written\n"
"                        atomically and may not be an input)\n"
"  --delimiter C         CSV delimiter of --data (default ','); output uses ','\n"
"  --header, --no-header --data has / has no header row (default: detected)\n"
"  --strict              a category the model did not see in training is an error\n"
"                        (default: encoded as all zeros, counted in a warning)\n"
"  --threads N           threads (default 0: all available)\n"
"  --max-memory SIZE     refuse data that needs more memory (512M, 4G, bytes,\n"
"                        none; default: the memory available now)\n");
}

static cli_parse_result parse_predict(int argc, char **argv, predict_options *o)
{
    const cli_option table[] = {
        {"--model", CLI_STRING, &o->model, 0, 0, NULL, 0},
        {"--data", CLI_STRING, &o->data, 0, 0, NULL, 0},
        {"--labels", CLI_STRING, &o->labels, 0, 0, NULL, 0},
        {"--target", CLI_STRING, &o->target, 0, 0, NULL, 0},
        {"--out", CLI_STRING, &o->out, 0, 0, NULL, 0},
        {"--delimiter", CLI_STRING, &o->delimiter, 0, 0, NULL, 0},
        {"--header", CLI_FLAG, &o->header, 0, 0, NULL, 1},
        {"--no-header", CLI_FLAG, &o->header, 0, 0, NULL, -1},
        {"--threads", CLI_LONG, &o->threads, 0, 4096, NULL, 0},
        {"--strict", CLI_FLAG, &o->strict, 0, 0, NULL, 1},
        {"--max-memory", CLI_STRING, &o->max_memory, 0, 0, NULL, 0},
    };
    return cli_parse("predict", argc, argv, 1, table, sizeof table / sizeof table[0],
                     predict_usage, NULL, 0, NULL);
}

static void write_header(FILE *fp, const model_info *m)
{
    size_t n_out = syn_net_n_outputs(m->net);
    if (!m->classify) {
        for (size_t j = 0; j < n_out; j++)
            fprintf(fp, "%soutput_%zu", j ? "," : "", j + 1);
        fputc('\n', fp);
        return;
    }
    fputs("prediction", fp);
    for (size_t c = 0; c < n_out; c++) {
        size_t len = strlen(m->classes[c]) + 3;
        char *name = malloc(len);
        fputc(',', fp);
        if (name) {
            snprintf(name, len, "p_%s", m->classes[c]);
            cli_csv_field(fp, name);
        }
        free(name);
    }
    fputc('\n', fp);
}

/* argmax; a single output is a probability of class 1. */
static size_t predicted(const float *row, size_t n_out)
{
    if (n_out == 1)
        return row[0] >= 0.5f;
    size_t best = 0;
    for (size_t j = 1; j < n_out; j++)
        if (row[j] > row[best])
            best = j;
    return best;
}

static void write_rows(FILE *fp, const model_info *m, const float *out, size_t count)
{
    size_t n_out = syn_net_n_outputs(m->net);
    for (size_t r = 0; r < count; r++) {
        const float *row = out + r * n_out;
        if (m->classify) {
            size_t c = predicted(row, n_out);
            /* A file gets the names as they are (they are data); a terminal
             * gets them escaped. */
            char shown[256];
            const char *name = c < m->n_classes ? m->classes[c] : "";
            cli_csv_field(fp, isatty(fileno(fp)) ? cli_printable(name, shown, sizeof shown)
                                                 : name);
            fputc(',', fp);
        }
        for (size_t j = 0; j < n_out; j++)
            fprintf(fp, "%s%.9g", j ? "," : "", (double)row[j]);
        fputc('\n', fp);
    }
}

static int predict_all(const predict_options *o, const model_info *m, const syn_dataset *ds,
                       FILE *fp)
{
    size_t n = syn_dataset_n_samples(ds), f = syn_dataset_n_features(ds);
    size_t cap = n < PREDICT_BATCH ? (n ? n : 1) : PREDICT_BATCH;
    float *x = malloc(cap * f * sizeof *x);
    size_t *rows = malloc(cap * sizeof *rows);
    syn_workspace *ws = NULL;
    syn_status st = x && rows ? SYN_OK : SYN_ERR_OUT_OF_MEMORY;
    if (st == SYN_OK)
        st = syn_workspace_create_inference(m->net, cap, &ws);
    if (st == SYN_OK)
        st = syn_workspace_set_threads(ws, (int)o->threads);
    if (st == SYN_OK)
        write_header(fp, m);
    for (size_t start = 0; st == SYN_OK && start < n; start += cap) {
        size_t count = n - start < cap ? n - start : cap;
        for (size_t i = 0; i < count; i++)
            rows[i] = start + i;
        const float *out = NULL;
        st = syn_dataset_gather(ds, rows, count, x, NULL);
        if (st == SYN_OK)
            st = syn_forward(m->net, ws, x, count, &out);
        if (st == SYN_OK)
            write_rows(fp, m, out, count);
    }
    syn_workspace_free(ws);
    free(x);
    free(rows);
    return st == SYN_OK ? SYN_EXIT_OK : cli_library_error("predict", st, NULL, o->data);
}

static int check_predict_options(const predict_options *o)
{
    if (!o->model)
        return cli_usage_error("predict", "missing --model MODEL");
    if (!o->data)
        return cli_usage_error("predict", "missing --data FILE");
    const char *inputs[] = {o->model, o->data, o->labels};
    for (int i = 0; i < 3; i++)
        if (o->out && inputs[i] && strcmp(o->out, "-") &&
            (!strcmp(o->out, inputs[i]) || cli_same_file(o->out, inputs[i])))
            return cli_usage_error("predict", "--out %s would overwrite the input %s", o->out,
                                   inputs[i]);
    return SYN_EXIT_OK;
}

/* Loads the rows to predict; a --target column is read and dropped. */
static int load_rows(const predict_options *o, const model_info *m, syn_dataset **ds)
{
    cli_data_spec spec = {.data = o->data, .labels = o->labels, .target = o->target,
                          .delimiter = o->delimiter, .header = o->header,
                          .no_target = !o->target, .max_bytes = o->memory_limit,
                          .strict = o->strict};
    /* Labels of a dropped column are read as classes (any text is one);
     * several columns must be numbers, as regression targets. */
    spec.task = o->target && strchr(o->target, ',') ? CLI_TASK_REGRESS : CLI_TASK_CLASSIFY;
    char *temp = NULL;
    int rc = model_load_data("predict", m, &spec, ds, &temp);
    if (temp) {
        cli_temp_remove(temp);
    }
    return rc;
}

int cmd_predict(int argc, char **argv)
{
    predict_options o = {.header = 0};
    cli_parse_result parsed = parse_predict(argc, argv, &o);
    if (parsed != CLI_PARSED)
        return parsed == CLI_HELP ? SYN_EXIT_OK : SYN_EXIT_USAGE;
    int rc = check_predict_options(&o);
    if (rc == SYN_EXIT_OK)
        rc = cli_memory_limit("predict", o.max_memory, &o.memory_limit);
    if (rc != SYN_EXIT_OK)
        return rc;
    model_info m;
    if ((rc = model_load("predict", o.model, &m)) != SYN_EXIT_OK)
        return rc;
    syn_dataset *ds = NULL;
    rc = load_rows(&o, &m, &ds);
    cli_out_file out;
    if (rc == SYN_EXIT_OK)
        rc = cli_out_open("predict", o.out, &out);
    if (rc == SYN_EXIT_OK) {
        rc = predict_all(&o, &m, ds, out.fp);
        if (rc == SYN_EXIT_OK)
            rc = cli_out_commit("predict", &out);
        else
            cli_out_abort(&out);
    }
    syn_dataset_free(ds);
    model_info_free(&m);
    return rc;
}
