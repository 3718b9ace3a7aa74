/* report.h - the HTML report of a training run (`synapse report`, and
 * `synapse train --report`): what a run recorded, gathered by the caller,
 * and the writer (report_html.c) that evaluates the model and draws it all
 * into one self-contained file. */
#ifndef SYN_CLI_REPORT_H
#define SYN_CLI_REPORT_H

#include "eval.h"

/* One epoch as the --log CSV records it; NaN for what it does not. */
typedef struct report_epoch {
    double train_loss, train_acc, val_loss, val_acc;
    double seconds, samples_per_second, lr;
} report_epoch;

/* The run's history: from the --log CSV (report_log.c) or from the
 * training itself. */
typedef struct report_history {
    report_epoch *epochs;
    size_t n_epochs, cap;
    const char *source;      /* the log's path, or NULL: no log was given */
    size_t saved_epoch;      /* 1-based epoch the model holds; 0: not recorded */
    int restored;            /* early stopping restored saved_epoch's weights */
    char stop_reason[160];   /* why training stopped; "": not recorded */
    /* Columns the log had (an older log lacks lr and stop). */
    int has_lr, has_seconds, has_samples_per_second, has_stop;
} report_history;

/* report_log.c: reads a --log CSV of any synapse version from fp by its
 * header's column names (unknown columns are skipped, missing ones are
 * NaN). Returns 1, or 0 for a file that is not such a log, with the line
 * (from 1) and the reason in why (h is then empty). Prints nothing. */
int report_history_parse(FILE *fp, report_history *h, size_t *line, char *why,
                         size_t why_size);
/* report.c: report_history_parse of the file at path, h->source = path;
 * prints one line for `cmd` and returns SYN_EXIT_RUNTIME on failure. */
int report_history_read(const char *cmd, const char *path, report_history *h);
int report_history_push(report_history *h, const report_epoch *e);
void report_history_free(report_history *h);

/* A data file the run read, listed with its size and SHA-256. */
typedef struct report_file {
    const char *role; /* "training data", "test labels", ... */
    const char *path;
} report_file;

#define REPORT_MAX_FILES 8

typedef struct report_input {
    const char *title;
    const char *model_path;
    const model_info *model;
    const report_history *history;
    /* Provenance. The command line as given (NULL: not recorded), and every
     * option with the value it had, defaults included (n_options 0: not
     * recorded). */
    const char *command_line;
    const char *const *option_names, *const *option_values;
    size_t n_options;
    const char *reproduce;       /* the command that makes the run again (or the report) */
    uint64_t seed;
    int have_seed;
    report_file files[REPORT_MAX_FILES];
    size_t n_files;
    long threads;                /* as asked (0: all available) */
    /* The evaluation: rows of eval_data (all when eval_rows is NULL). */
    const syn_dataset *eval_data;
    const size_t *eval_rows;
    size_t n_eval_rows;
    const char *eval_what;       /* "the test set FILE", ...; or why there is none */
    const char *eval_short;      /* for the summary (NULL: eval_what's file name) */
    int is_idx;                  /* images: the misclassified grid, the weights */
    /* Timings (NaN: not recorded) and the peak resident memory (0: not
     * recorded) of the training process. */
    double load_seconds, train_seconds, eval_seconds;
    size_t peak_memory;
} report_input;

/* Writes the report to path (atomically: cli_out_open). Returns an exit
 * code; errors print one line for `cmd`. */
int report_write(const char *cmd, const char *path, const report_input *in);

/* report.c: argv as one shell command line ("synapse", then argv[0..argc),
 * each word quoted where the shell would split or expand it); malloc'd,
 * NULL when out of memory. */
char *report_command_line(int argc, char **argv);
/* Appends one shell word (quoted as needed) to buf. */
void report_shell_word(char *buf, size_t size, const char *s);

/* sha256.c: the SHA-256 of a file as 64 hex digits, and its size; 0 when
 * it cannot be read (errno says why). */
int report_sha256_file(const char *path, char hex[65], uint64_t *size);

/* ------------------------------------------------------ report_layers.c */

/* One row of the model's layer table, from the public API. */
typedef struct report_layer {
    char kind[32];        /* "dense", "dropout", "batchnorm", ... */
    char detail[160];     /* activation, bias, rate, eps, ... */
    size_t n_in, units;   /* input and output width */
    size_t params;        /* trained parameters */
    size_t state;         /* floats kept but not trained (running statistics) */
    size_t bytes;         /* of both (float32) */
} report_layer;

/* Fills rows[0..syn_net_n_layers) (the caller allocates them). Returns
 * 0 when the library refuses a layer. Built only from synapse.h, so that
 * new layer kinds are one case here. */
int report_layers(const syn_net *net, report_layer *rows);

#endif
