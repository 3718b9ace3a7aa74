/* cli.h - what the subcommands of the synapse command share: exit codes,
 * the option-table parser (args.c), error reporting, data loading (data.c),
 * output files (files.c) and the SVG plot (plot.c). Exit codes: 0 success,
 * 1 runtime error (one line on stderr), 2 usage error. */
#ifndef SYN_CLI_H
#define SYN_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "synapse.h"

#define SYN_EXIT_OK 0
#define SYN_EXIT_RUNTIME 1
#define SYN_EXIT_USAGE 2

int cmd_demo(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_report(int argc, char **argv);

/* ------------------------------------------------------------ args.c */

typedef enum cli_arg_kind {
    CLI_FLAG,   /* int: set to `flag_value` */
    CLI_STRING, /* const char *: the argument itself */
    CLI_LONG,   /* long in [min, max] */
    CLI_DOUBLE, /* finite double in [min, max] */
    CLI_CHOICE  /* int: index of the argument in `choices` */
} cli_arg_kind;

typedef struct cli_option {
    const char *name; /* "--data" */
    cli_arg_kind kind;
    void *dest;
    double min, max;            /* CLI_LONG, CLI_DOUBLE */
    const char *const *choices; /* CLI_CHOICE: NULL-terminated */
    int flag_value;             /* CLI_FLAG */
} cli_option;

typedef enum cli_parse_result {
    CLI_PARSED = 0, /* options stored; go on */
    CLI_HELP,       /* --help was given: usage printed, exit 0 */
    CLI_BAD_USAGE   /* message printed, exit 2 */
} cli_parse_result;

/* Parses argv[first..argc) against the table. "--name value" and
 * "--name=value" both work. Arguments that do not start with "--" (and
 * "-" alone) are positional: up to max_positional of them go to
 * positional[], counted in *n_positional. `cmd` is "train" etc., for
 * messages; usage() prints the help text. */
cli_parse_result cli_parse(const char *cmd, int argc, char **argv, int first,
                           const cli_option *options, size_t n_options, void (*usage)(FILE *),
                           const char **positional, size_t max_positional,
                           size_t *n_positional);

/* The name in names[0..n) nearest to given[0..len) by edit distance, when
 * it is near enough to be a misspelling of it; else NULL. */
const char *cli_nearest(const char *given, size_t len, const char *const *names, size_t n);

/* In an MPI job every error line says which rank wrote it: "synapse CMD
 * (rank R of N): ..." once this is set (ranks.c). */
void cli_set_rank_tag(int rank, int size);
const char *cli_rank_tag(void);

/* Prints "synapse CMD: MESSAGE (see 'synapse CMD --help')" on one line and
 * returns SYN_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Prints "synapse CMD: MESSAGE" on one line; returns SYN_EXIT_RUNTIME. */
int cli_runtime_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Reports a failed library call: the syn_error detail when the library
 * filled one, else "WHAT: <syn_strerror>". Returns SYN_EXIT_RUNTIME. */
int cli_library_error(const char *cmd, syn_status st, const syn_error *err, const char *what);
/* The same, with a leading `path` in the detail shown as `shown_as`. */
int cli_library_error_as(const char *cmd, syn_status st, const syn_error *err, const char *path,
                         const char *shown_as);

/* Splits "256,128" into positive sizes; "" and "none" give zero sizes.
 * Returns 0 on a malformed list. *out is malloc'd (free it). */
int cli_parse_size_list(const char *text, size_t **out, size_t *count);
/* A --layers spec (layer_spec.c): tokens separated by commas or blanks,
 * N[:activation] (dense; default_act without one), bn[:activation],
 * ln[:activation], dropout:P; "@path" reads them from a file ('#' starts a
 * comment). A last bare width equal to n_outputs is the output layer and
 * left out. *out (malloc'd, *n_out entries, may be 0) receives the hidden
 * layers; 0 with msg naming the token on failure. */
int cli_parse_layers(const char *spec, syn_activation default_act, size_t n_outputs,
                     syn_layer_desc **out, size_t *n_out, char *msg, size_t msg_size);

/* Parses a byte size: digits (one '.' allowed) and an optional binary unit
 * K, M, G, T, P, E (also KB/KiB, ...; 1K = 1024 bytes) or B. Returns 0 for
 * anything else, for less than one byte and for more than size_t holds. */
int cli_parse_bytes(const char *text, size_t *out);
/* "3.2 GiB", "512 MiB", "100 bytes". */
void cli_format_bytes(char *buf, size_t size, size_t bytes);

/* ------------------------------------------------------------ data.c */

typedef enum cli_task { CLI_TASK_AUTO = 0, CLI_TASK_CLASSIFY, CLI_TASK_REGRESS } cli_task;

/* How to read a data file: the CSV options of the command line. */
typedef struct cli_data_spec {
    const char *data;   /* path, or "-" for stdin where the command allows it */
    const char *labels; /* IDX labels, or NULL */
    const char *target; /* --target: names or indices, comma separated, or NULL */
    const char *delimiter;
    int header;         /* 0 detect, 1 present, -1 absent (syn_csv_options) */
    cli_task task;
    /* Classification: map labels onto these (a saved model's classes). */
    const char *const *class_names;
    size_t n_class_names;
    int no_target;      /* predict: every column is a feature */
    size_t default_targets; /* regression without --target: the last N columns */
    const char *shown_as;   /* name for `data` in messages (stdin's temporary file) */
    size_t max_bytes;       /* refuse data that needs more memory (0: no limit) */
    /* Learning an encoding (train): comma lists of --na-values,
     * --categorical and --ignore, or NULL; --max-categories (0: 100). */
    const char *na_values, *categorical, *ignore;
    size_t max_categories;
    /* Reading with a model's encoding (eval, predict, a test set). */
    const syn_encoding *encoding;
    int strict;
    /* Filled (when not NULL) with why --task auto chose the task. */
    char *task_reason;
    size_t task_reason_size;
} cli_data_spec;

/* Loads a data set as the spec says: IDX or CSV (sniffed), the auto task
 * rule, class names. On failure prints one line for `cmd` and returns
 * SYN_EXIT_RUNTIME (or SYN_EXIT_USAGE for a bad --target/--delimiter). */
int cli_load_data(const char *cmd, const cli_data_spec *spec, syn_dataset **out,
                  int *is_idx);

/* The default --max-memory: MemAvailable from /proc/meminfo, or 0 (no
 * limit) where that cannot be read. */
size_t cli_available_memory(void);

/* The memory limit from --max-memory (NULL: the available memory; "none":
 * no limit, 0). Prints a usage error and returns SYN_EXIT_USAGE for a
 * malformed size. */
int cli_memory_limit(const char *cmd, const char *text, size_t *limit);

/* Validates --delimiter: one character, or "\t"/"tab". */
int cli_parse_delimiter(const char *text, char *out);

/* Copies `source` (a pipe or FIFO; NULL: stdin) to a new temporary file,
 * refusing more than 4 x max_bytes (0: no limit); *path (malloc'd) names
 * it. The caller removes it with cli_temp_remove. */
int cli_copy_to_temp(const char *cmd, const char *source, size_t max_bytes, char **path);

/* ------------------------------------------------------------ files.c */

/* Under mpirun (ranks.c): SIGINT and SIGTERM end the rank at once (mpirun
 * sends SIGTERM to every rank when one fails, and a rank that stopped at a
 * batch boundary of its own would leave the others waiting), after writing
 * the line set by cli_signals_set_note (which may be called often: it is
 * double-buffered for the handler). */
void cli_signals_rank_mode(void);
void cli_signals_set_note(const char *line);

/* Temporary files (mkstemp on `templ`), registered so that a signal that
 * ends the command removes them (signals.c); cli_temp_remove unlinks one,
 * forgets it and frees the name (NULL is a no-op). */
int cli_temp_create(char *templ);
void cli_temp_remove(char *path);
/* "-o -": runs write(path) on a new temporary file, copies the result to
 * stdout and removes the file (the library writes only to paths). */
int cli_to_stdout_via_temp(const char *cmd, int (*write)(const char *path, void *user),
                           void *user);
/* Unregisters a temporary file that was renamed or removed elsewhere. */
void cli_temp_forget(const char *path);

/* ------------------------------------------------------------ signals.c */

/* SIGINT/SIGTERM handlers and SIGXFSZ ignored; main() calls it first. */
void cli_signals_install(void);
/* While on, the first signal only sets cli_stop_requested(). */
void cli_signals_graceful(int on);
/* The signal that asked to stop, or 0. */
int cli_stop_requested(void);
/* Blocks (1) or unblocks (0) SIGINT and SIGTERM, around a save. */
void cli_signals_block(int block);

/* Checks before a long run that `path` can be written: not a directory,
 * in a writable directory. Prints the error and returns SYN_EXIT_RUNTIME
 * when it cannot. */
int cli_check_writable(const char *cmd, const char *path);

/* Nonzero when both paths name the same existing file. */
int cli_same_file(const char *a, const char *b);

/* An output written beside its final name and renamed over it when
 * complete, so a failed run never leaves half a file behind. */
typedef struct cli_out_file {
    FILE *fp;
    char *final_path; /* NULL for stdout */
    char *temp_path;
    int write_errno;  /* the first failed write's errno, kept by the writer (0: none seen) */
} cli_out_file;

/* path NULL or "-" means stdout. */
int cli_out_open(const char *cmd, const char *path, cli_out_file *f);
/* Flushes, checks for write errors and renames; returns an exit code. */
int cli_out_commit(const char *cmd, cli_out_file *f);
/* Drops a partial output (after an error). */
void cli_out_abort(cli_out_file *f);

/* Writes a CSV field, quoting it when it holds the delimiter, a quote or
 * a line break (RFC 4180). */
void cli_csv_field(FILE *fp, const char *text);

/* s with its control bytes (and DEL) written as \xHH in buf, so that a
 * class name read from a file cannot send escape codes to the terminal;
 * cut to fit size. Returns buf. */
const char *cli_printable(const char *s, char *buf, size_t size);

/* Formats a count with a k/M suffix ("12.3k"). */
void cli_human_count(char *buf, size_t size, double value);

/* ------------------------------------------------------------ plot.c */

typedef struct cli_history {
    size_t n;               /* epochs recorded */
    size_t cap;
    double *train_loss, *train_acc, *val_loss, *val_acc; /* NaN when absent */
    /* Set before drawing: the epoch (1-based) whose weights early stopping
     * restored (0: none), and the test set's result for the saved model at
     * epoch test_epoch (1-based; 0 or NaN values: no test set). */
    size_t restored_epoch, test_epoch;
    double test_loss, test_acc;
} cli_history;

int cli_history_push(cli_history *h, double train_loss, double train_acc, double val_loss,
                     double val_acc);
void cli_history_free(cli_history *h);

/* Writes a self-contained SVG: loss per epoch (on a log axis when the
 * positive losses span more than two decades) and, when `accuracy` is
 * nonzero, accuracy per epoch; the restored epoch as a vertical line and the
 * test result as a marker. Returns 0 on a write error. */
int cli_plot_svg(FILE *fp, const cli_history *h, const char *title, int accuracy);

/* One line of a report chart: values per epoch (NaN: none that epoch). */
typedef struct cli_series {
    const char *name;  /* legend text */
    const double *v;   /* n values */
    const char *color;
    int dashed;
} cli_series;

/* A chart over epochs for the HTML report (report_html.c): one or two
 * series on plot.c's axes, a log axis where allowed and the values span
 * more than two decades, a smoothed line over faint raw values where there
 * are many epochs, and vertical marks at the best and the last epoch. */
typedef struct cli_chart {
    const char *title, *y_label;
    size_t n;                      /* epochs */
    const cli_series *series;      /* 1 or 2; the axis spans both */
    size_t n_series;
    int unit_interval;             /* accuracies: the axis stays within [0, 1] */
    int allow_log;
    double log_ratio;              /* log axis past this largest/smallest (0: 100) */
    size_t best_epoch, stop_epoch; /* 1-based; 0: no mark */
    const char *best_label, *stop_label;
} cli_chart;

/* Writes the chart as an inline <svg> element (no XML prolog), scaled by
 * its viewBox to the width of its container, and its legend as an HTML
 * <div class="legend"> after it. Returns 0 on a write error. */
int cli_chart_svg(FILE *fp, const cli_chart *c);

/* A scatter plot for the report: points (x[i], y[i]), with the diagonal
 * y = x (predicted against true, on one range) or a line at y = 0
 * (residuals). */
typedef struct cli_scatter {
    const char *title, *x_label, *y_label;
    const double *x, *y;
    size_t n;
    int diagonal, zero_line;
} cli_scatter;

int cli_scatter_svg(FILE *fp, const cli_scatter *s);

/* Trained parameters of layer l, from the arena's offsets (info.c). */
size_t cli_layer_params(const syn_net *net, size_t l);

#endif
