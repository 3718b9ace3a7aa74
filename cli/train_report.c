/* train_report.c - `synapse train --report FILE.html`: the report of
 * report_html.c written at the end of the run, from the saved model read
 * back from --out (so it shows what `synapse eval` of that file shows),
 * with what only the run itself knows: its command line and every option
 * (defaults included), its epochs, why it stopped, how long loading,
 * training and evaluating took, and its peak memory. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "report.h"
#include "train.h"

#define OPTION_TEXT 512

/* The process's peak resident memory, or 0 where it cannot be read. */
static size_t peak_memory(void)
{
    struct rusage u;
    if (getrusage(RUSAGE_SELF, &u) != 0 || u.ru_maxrss <= 0)
        return 0;
    return (size_t)u.ru_maxrss * 1024; /* Linux: kilobytes */
}

static int fill_history(const train_run *run, const train_report_facts *f, report_history *h)
{
    const train_progress *p = &run->progress;
    memset(h, 0, sizeof *h);
    for (size_t i = 0; i < p->n_results; i++) {
        const epoch_result *r = &p->results[i];
        report_epoch e = {r->stats.loss, r->stats.accuracy, r->val_loss, r->val_acc,
                          r->seconds, r->seconds > 0 ? (double)r->stats.samples / r->seconds
                                                     : NAN, (double)r->stats.lr};
        if (!report_history_push(h, &e))
            return 0;
    }
    h->saved_epoch = f->saved_epoch;
    h->restored = f->restored;
    h->has_lr = h->has_seconds = h->has_samples_per_second = h->has_stop = 1;
    snprintf(h->stop_reason, sizeof h->stop_reason, "%s", f->stop ? f->stop : "");
    return 1;
}

/* Every option as it was in effect, one row per field (--header/--no-header
 * once). names and values point into text (n_rows x OPTION_TEXT each). */
static size_t fill_options(const train_options *o, char *text, const char **names,
                           const char **values)
{
    size_t n = 0;
    for (size_t i = 0; i < n_train_option_rows; i++) {
        const train_option_row *r = &train_option_rows[i];
        int repeat = 0;
        for (size_t j = 0; j < i; j++)
            repeat |= train_option_rows[j].offset == r->offset;
        if (repeat)
            continue;
        char *name = text + 2 * n * OPTION_TEXT, *value = name + OPTION_TEXT;
        train_option_label(r, name, OPTION_TEXT);
        train_option_text(r, o, value, OPTION_TEXT);
        names[n] = name;
        values[n] = value;
        n++;
    }
    return n;
}

int train_report(const train_options *o, const train_run *run, const train_report_facts *f)
{
    model_info m;
    int rc = model_load("train", o->out, &m);
    if (rc != SYN_EXIT_OK)
        return rc;
    report_history h;
    size_t rows = n_train_option_rows;
    char *text = malloc(2 * rows * OPTION_TEXT);
    const char **names = malloc(rows * sizeof *names), **values = malloc(rows * sizeof *values);
    if (!fill_history(run, f, &h) || !text || !names || !values) {
        rc = cli_runtime_error("train", "out of memory writing --report");
    } else {
        char title[512], what[768], short_what[64];
        snprintf(title, sizeof title, "synapse train: %s", o->data);
        report_input in = {.title = title, .model_path = o->out, .model = &m, .history = &h,
                           .command_line = f->command, .option_names = names,
                           .option_values = values,
                           .n_options = fill_options(o, text, names, values),
                           .reproduce = f->command, .seed = (uint64_t)o->seed,
                           .have_seed = 1, .threads = o->threads, .is_idx = run->is_idx,
                           .eval_what = what, .eval_short = short_what,
                           .load_seconds = run->load_seconds,
                           .train_seconds = f->train_seconds,
                           .eval_seconds = f->eval_seconds, .peak_memory = peak_memory()};
        /* The test set scores the saved model as synapse eval would; without
         * one a classifier's validation rows do (a regression's rows hold the
         * standardised targets it trained on, not the data's units). */
        if (run->test) {
            snprintf(what, sizeof what, "the test set %s", o->test_data);
            snprintf(short_what, sizeof short_what, "the test set");
            in.eval_data = run->test;
        } else if (run->n_val && !run->plan.scale_targets) {
            snprintf(what, sizeof what, "the %zu validation rows of %s (no --test-data)",
                     run->n_val, o->data);
            snprintf(short_what, sizeof short_what, "the validation rows");
            in.eval_data = run->data;
            in.eval_rows = run->val_rows;
            in.n_eval_rows = run->n_val;
        } else {
            snprintf(what, sizeof what, "Not evaluated: the run had no --test-data%s (synapse "
                     "report --data FILE evaluates the model on data you give).",
                     run->n_val ? "" : " and no validation rows");
        }
        const char *roles[] = {"training data", "training labels", "test data", "test labels",
                               "fine-tuned from (--init)", "resumed from (--resume)",
                               "model (--out)"};
        const char *paths[] = {o->data, o->labels, o->test_data, o->test_labels, o->init,
                               o->resume, o->out};
        for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
            if (paths[i] && in.n_files < REPORT_MAX_FILES)
                in.files[in.n_files++] = (report_file){roles[i], paths[i]};
        rc = report_write("train", o->report, &in);
    }
    free(text);
    free(names);
    free(values);
    report_history_free(&h);
    model_info_free(&m);
    return rc;
}
