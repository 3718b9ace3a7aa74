/* report.c - `synapse report`: one self-contained HTML file from a saved
 * model, its --log CSV and labelled data to evaluate it on (report_html.c
 * draws it). `synapse train --report` writes the same from the run itself
 * (train_report.c), with what only the run knows (its command line, every
 * option, its timings and peak memory). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

typedef struct report_options {
    const char *model, *data, *labels, *target, *delimiter, *max_memory, *log, *out, *title;
    int header, strict;
    long threads;
    size_t memory_limit;
} report_options;

static void report_usage(FILE *to)
{
    fprintf(to,
"usage: synapse report --model MODEL [--log LOG.csv]\n"
"                      [--data FILE [--labels FILE | --target COL]]\n"
"                      --out REPORT.html\n"
"\n"
"Writes one self-contained HTML file (no network request, inline SVG and a\n"
"short script; readable on a phone, printable) about a trained model:\n"
"provenance (versions, seed, files with size and SHA-256, CPU, threads, date),\n"
"the layer table and input preprocessing, the curves of the run from its\n"
"--log (loss, accuracy, learning rate, samples per second, the epoch the model\n"
"holds and why training stopped), the evaluation on --data (synapse eval's\n"
"numbers: classification report and confusion heat maps, or per-output scores\n"
"with predicted-vs-true and residual plots), misclassified images and the\n"
"first layer's weights for IDX images, and the timings. What the inputs do not\n"
"record, the report says it lacks. synapse train --report FILE writes the same\n"
"at the end of training, with the command line, options and timings.\n"
"\n"
"  --model MODEL         the model file (from synapse train)\n"
"  --out FILE            the HTML file to write (\"-\" for stdout)\n"
"  --log FILE            the CSV of synapse train --log (any version)\n"
"  --data FILE           labelled data to evaluate on: IDX images or CSV\n"
"  --labels FILE         IDX labels\n"
"  --target COL          CSV target column(s) (default: as synapse eval)\n"
"  --delimiter C         CSV delimiter (default ',')\n"
"  --header, --no-header the CSV has / has no header row (default: detected)\n"
"  --strict              a category the model did not see in training is an error\n"
"  --title TEXT          the report's title (default: synapse report: MODEL)\n"
"  --threads N           threads for the evaluation (default 0: all available)\n"
"  --max-memory SIZE     refuse data that needs more memory (default: the memory\n"
"                        available now)\n");
}

static cli_parse_result parse_report(int argc, char **argv, report_options *o)
{
    const cli_option table[] = {
        {"--model", CLI_STRING, &o->model, 0, 0, NULL, 0},
        {"--out", CLI_STRING, &o->out, 0, 0, NULL, 0},
        {"--log", CLI_STRING, &o->log, 0, 0, NULL, 0},
        {"--data", CLI_STRING, &o->data, 0, 0, NULL, 0},
        {"--labels", CLI_STRING, &o->labels, 0, 0, NULL, 0},
        {"--target", CLI_STRING, &o->target, 0, 0, NULL, 0},
        {"--delimiter", CLI_STRING, &o->delimiter, 0, 0, NULL, 0},
        {"--header", CLI_FLAG, &o->header, 0, 0, NULL, 1},
        {"--no-header", CLI_FLAG, &o->header, 0, 0, NULL, -1},
        {"--strict", CLI_FLAG, &o->strict, 0, 0, NULL, 1},
        {"--title", CLI_STRING, &o->title, 0, 0, NULL, 0},
        {"--threads", CLI_LONG, &o->threads, 0, 4096, NULL, 0},
        {"--max-memory", CLI_STRING, &o->max_memory, 0, 0, NULL, 0},
    };
    return cli_parse("report", argc, argv, 1, table, sizeof table / sizeof table[0],
                     report_usage, NULL, 0, NULL);
}

static int check_options(const report_options *o)
{
    if (!o->model)
        return cli_usage_error("report", "missing --model MODEL");
    if (!o->out)
        return cli_usage_error("report", "missing --out REPORT.html");
    if ((o->labels || o->target) && !o->data)
        return cli_usage_error("report", "%s needs --data FILE",
                               o->labels ? "--labels" : "--target");
    if (o->labels && o->target)
        return cli_usage_error("report", "--labels (IDX) and --target (CSV) exclude each "
                               "other");
    const char *inputs[] = {o->model, o->log, o->data, o->labels};
    for (int i = 0; i < 4; i++)
        if (inputs[i] && strcmp(o->out, "-") &&
            (!strcmp(o->out, inputs[i]) || cli_same_file(o->out, inputs[i])))
            return cli_usage_error("report", "--out %s would overwrite the input %s", o->out,
                                   inputs[i]);
    return cli_check_writable("report", strcmp(o->out, "-") ? o->out : NULL) == SYN_EXIT_OK
               ? SYN_EXIT_OK : SYN_EXIT_RUNTIME;
}

/* Appends s to buf as one shell word (single-quoted unless plain). */
void report_shell_word(char *buf, size_t size, const char *s)
{
    size_t used = strlen(buf);
    int plain = *s != '\0';
    for (const char *p = s; *p && plain; p++)
        plain = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                       "-_./=:,+%@", *p) != NULL;
    int k = plain ? snprintf(buf + used, size - used, "%s%s", used ? " " : "", s)
                  : snprintf(buf + used, size - used, "%s'", used ? " " : "");
    if (k < 0 || (size_t)k >= size - used || plain)
        return;
    used += (size_t)k;
    for (const char *p = s; *p && used + 5 < size; p++) {
        if (*p == '\'') {
            memcpy(buf + used, "'\\''", 4);
            used += 4;
        } else {
            buf[used++] = *p;
        }
    }
    if (used + 1 < size)
        buf[used++] = '\'';
    buf[used] = '\0';
}

/* The words of argv as one shell command, "synapse" first; malloc'd. */
char *report_command_line(int argc, char **argv)
{
    size_t size = 16;
    for (int i = 0; i < argc; i++) {
        size_t len = strlen(argv[i]);
        if (len > (SIZE_MAX - size) / 4 - 4)
            return NULL;
        size += 4 * len + 4;
    }
    char *buf = malloc(size);
    if (!buf)
        return NULL;
    snprintf(buf, size, "synapse");
    for (int i = 0; i < argc; i++)
        report_shell_word(buf, size, argv[i]);
    return buf;
}

int report_history_read(const char *cmd, const char *path, report_history *h)
{
    char safe[256], why[192];
    cli_printable(path, safe, sizeof safe);
    memset(h, 0, sizeof *h);
    FILE *fp = fopen(path, "r");
    if (!fp)
        return cli_runtime_error(cmd, "%s: %s", safe, strerror(errno));
    size_t line = 0;
    int ok = report_history_parse(fp, h, &line, why, sizeof why);
    fclose(fp);
    if (!ok)
        return cli_runtime_error(cmd, "%s:%zu: %s (is it a --log file of synapse train?)", safe,
                                 line, why);
    h->source = path;
    return SYN_EXIT_OK;
}

int cmd_report(int argc, char **argv)
{
    report_options o = {.header = 0};
    cli_parse_result parsed = parse_report(argc, argv, &o);
    if (parsed != CLI_PARSED)
        return parsed == CLI_HELP ? SYN_EXIT_OK : SYN_EXIT_USAGE;
    int rc = check_options(&o);
    if (rc == SYN_EXIT_OK)
        rc = cli_memory_limit("report", o.max_memory, &o.memory_limit);
    if (rc != SYN_EXIT_OK)
        return rc;
    model_info m;
    rc = model_load("report", o.model, &m);
    if (rc != SYN_EXIT_OK)
        return rc;
    size_t matrix = eval_memory(&m);
    if (o.data && m.classify && (matrix == 0 || (o.memory_limit && matrix > o.memory_limit))) {
        size_t k = m.n_classes;
        model_info_free(&m);
        return cli_runtime_error("report", "the confusion matrix of %zu classes needs more "
                                 "than --max-memory", k);
    }
    report_history h;
    memset(&h, 0, sizeof h);
    if (o.log)
        rc = report_history_read("report", o.log, &h);
    syn_dataset *ds = NULL;
    char *temp = NULL;
    int is_idx = 0;
    if (rc == SYN_EXIT_OK && o.data) {
        cli_data_spec spec = {.data = o.data, .labels = o.labels, .target = o.target,
                              .delimiter = o.delimiter, .header = o.header,
                              .task = m.classify ? CLI_TASK_CLASSIFY : CLI_TASK_REGRESS,
                              .class_names = m.classify ? m.classes : NULL,
                              .n_class_names = m.classify ? m.n_classes : 0,
                              .default_targets = m.classify ? 1 : syn_net_n_outputs(m.net),
                              .max_bytes = o.memory_limit, .strict = o.strict};
        rc = model_load_data("report", &m, &spec, &ds, &temp);
        /* IDX is the format of image data sets (the images section). */
        is_idx = o.labels != NULL;
    }
    char title[512], what[512];
    snprintf(title, sizeof title, "synapse report: %s", o.model);
    snprintf(what, sizeof what, "%s", o.data ? (strcmp(o.data, "-") ? o.data : "stdin")
                                             : "Not evaluated: no --data was given (synapse "
                                               "report --data FILE evaluates the model).");
    char *command = report_command_line(argc, argv);
    report_input in = {.title = o.title ? o.title : title, .model_path = o.model, .model = &m,
                       .history = &h, .reproduce = command, .threads = o.threads,
                       .eval_data = ds, .eval_what = what, .is_idx = is_idx,
                       .load_seconds = NAN, .train_seconds = NAN, .eval_seconds = NAN};
    const char *roles[] = {"model", "log", "evaluation data", "evaluation labels"};
    const char *paths[] = {o.model, o.log, o.data && strcmp(o.data, "-") ? o.data : NULL,
                           o.labels};
    for (int i = 0; i < 4; i++)
        if (paths[i])
            in.files[in.n_files++] = (report_file){roles[i], paths[i]};
    if (rc == SYN_EXIT_OK)
        rc = report_write("report", o.out, &in);
    free(command);
    if (temp)
        cli_temp_remove(temp);
    syn_dataset_free(ds);
    report_history_free(&h);
    model_info_free(&m);
    return rc;
}
