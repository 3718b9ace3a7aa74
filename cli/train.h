/* train.h - what the two halves of `synapse train` share: the options
 * (parsed in train.c) and the state of one run (set up in train.c, trained,
 * reported and saved in train_loop.c). */
#ifndef SYN_CLI_TRAIN_H
#define SYN_CLI_TRAIN_H

#include "cli.h"

typedef struct train_options {
    const char *data, *labels, *target, *test_data, *test_labels;
    const char *delimiter, *hidden;
    const char *input_shape;  /* --input-shape C,H,W (CSV images), or NULL */
    const char *layers; /* --layers SPEC or @FILE (layer_spec.c); not with --hidden */
    const char *out, *log, *plot, *report;
    const char *checkpoint, *resume, *max_memory;
    const char *init;  /* --init MODEL: fine-tune a saved (or imported) model */
    const char *na_values, *categorical, *ignore; /* CSV encoding: comma lists */
    const char *class_weights; /* --class-weights: "balanced" or a list; NULL: none */
    double label_smoothing;    /* --label-smoothing, in [0, 1) */
    double gamma;              /* --gamma of step and exponential; < 0: the default */
    long warmup;               /* --warmup N epochs; 0: none */
    double huber_delta;        /* --huber-delta; 0: 1.0 */
    long max_categories;
    int strict;        /* --test-data: an unseen category is an error */
    int task, header, scale, activation, loss, optimizer, schedule;
    int weight_init;   /* --weight-init, a syn_init */
    int quiet;         /* 1 --quiet: only errors and the test result; 2 --silent */
    double val_split, lr, weight_decay;
    /* Optimizer settings (syn_optim_desc); < 0: the optimizer's default. */
    double momentum, beta1, beta2, eps, alpha, lr_decay, initial_accumulator, momentum_decay;
    int centered;      /* --centered (RMSprop) */
    double tol;        /* --tol: relative improvement; < 0: the default */
    long batch, epochs, seed, early_stop, threads, checkpoint_every;
    long max_epochs;   /* --max-epochs: the cap without --epochs; 0: the default */
    size_t memory_limit; /* bytes, from --max-memory or the available memory; 0: none */
    int shards;        /* --shards: the rank-count-independent path on one process */
    double rank_timeout; /* --rank-timeout: seconds a rank waits for the others */
    int no_output;     /* an MPI rank other than 0: writes no file */
} train_options;

/* What one finished epoch measured. */
typedef struct epoch_result {
    syn_epoch_stats stats;
    double seconds;            /* the training pass only */
    double val_loss, val_acc;  /* NaN without validation */
} epoch_result;

/* The command's own training state besides the trainer's: what a
 * checkpoint must carry so that a resumed run ends as an uninterrupted one,
 * log and plot included. */
typedef struct train_progress {
    epoch_result *results;     /* every finished epoch, in order */
    size_t n_results, cap_results;
    uint64_t samples_seen;
    int have_best;             /* early stopping: run->best holds the weights */
    epoch_result best;
    size_t best_epoch;
    syn_plateau plateau;       /* the stopping rule's settings and counters */
} train_progress;

/* What `train` chose from the options and the data (train.c, choose_plan):
 * the same options on the same data always choose the same, so a resumed
 * run recomputes it instead of storing it. */
typedef struct train_plan {
    const char *hidden;        /* --hidden, or the default for the rows */
    size_t batch;              /* rows per step; 0: full batch */
    double val_fraction;
    int stratified;            /* the validation rows keep the class shares */
    int auto_val;              /* the fraction was chosen, not given */
    size_t max_epochs;         /* --epochs N, or the cap of a run that stops itself */
    int auto_epochs;           /* no --epochs: the rule stops the run */
    int stopping;              /* a syn_plateau rule runs (auto, or --early-stop) */
    syn_schedule_kind schedule;
    int cut_lr;                /* the rule's lr cuts are applied */
    int plateau;               /* the schedule watches the monitored loss */
    int scale_targets;         /* regression targets standardised while training */
} train_plan;

/* A data set's identity: its shape and a hash of every feature and target,
 * so a resume can refuse data other than the checkpoint's. */
typedef struct data_fingerprint {
    uint64_t n_samples, n_features, target_width, n_classes, hash;
} data_fingerprint;

typedef struct train_run {
    syn_dataset *data, *test;
    int is_idx, classify;
    char **class_names;
    size_t n_class_names;
    size_t *train_rows, *val_rows;
    size_t n_train, n_val;
    syn_net *net;
    syn_net *best;      /* early stopping: the best weights so far */
    syn_trainer *trainer;
    syn_workspace *eval_ws;
    cli_history history;
    char task_reason[160];    /* why --task auto chose the task */
    train_progress progress;  /* restored from --resume, then kept by the loop */
    data_fingerprint fingerprint;
    train_plan plan;
    /* Regression targets as trained: t' = (t - offset) * scale (n_targets
     * each; NULL unless plan.scale_targets). */
    float *target_offset, *target_scale;
    size_t n_targets;
    int raw_targets;    /* resuming a checkpoint of before target scaling */
    int argc;           /* the command line, for --report and the log */
    char **argv;
    double load_seconds; /* reading the data and building the run */
} train_run;

/* ------------------------------------------------- train_options.c */

extern const char *train_activation_names[], *train_optimizer_names[], *train_loss_names[];
extern const char *const train_schedule_names[], *const train_scale_names[],
    *const train_task_names[], *const train_init_names[];
/* Fills train_activation_names, train_optimizer_names and train_loss_names
 * from the library (main.c calls it first). */
void train_names_init(void);

/* How a resume treats an option. */
typedef enum train_opt_resume {
    OPT_LOCAL, /* not stored: it belongs to this invocation (--quiet, --threads, ...) */
    OPT_TAKE,  /* stored; taken from the checkpoint unless given (paths, --checkpoint-every) */
    OPT_MATCH  /* stored; a value given on resume must equal the stored one */
} train_opt_resume;

/* One option of `synapse train`. Its name is also its key in a checkpoint. */
typedef struct train_option_row {
    const char *name;           /* "--lr" */
    cli_arg_kind kind;          /* STRING: const char *; LONG: long; DOUBLE: double;
                                   CHOICE, FLAG: int */
    size_t offset;              /* of the field in train_options */
    double min, max;            /* LONG, DOUBLE: the range the parser accepts */
    const char *const *choices; /* CHOICE */
    int flag_value;             /* FLAG (flags may share a field: --header/--no-header) */
    double def;                 /* the default of a number, choice or flag */
    const char *def_text;       /* the default of a string */
    train_opt_resume resume;
    const char *default_means;  /* how a sentinel default reads ("the default"), or NULL */
} train_option_row;

extern const train_option_row train_option_rows[];
extern const size_t n_train_option_rows;

void train_options_defaults(train_options *o);
/* Values no parse produces, to tell which options were given. */
void train_options_sentinels(train_options *o);
cli_parse_result train_options_parse(int argc, char **argv, train_options *o,
                                     void (*usage)(FILE *));
const train_option_row *train_option_find(const char *name);
/* Whether o's value of r is one the parser could have produced (or the
 * default); if not, a reason in why. */
int train_option_valid(const train_option_row *r, const train_options *o, char *why,
                       size_t size);
/* The value as a user wrote it ("adam", "'256,128'", "the default"). */
void train_option_text(const train_option_row *r, const train_options *o, char *buf,
                       size_t size);
/* "--header/--no-header" for flags sharing a field, else the name. */
void train_option_label(const train_option_row *r, char *buf, size_t size);
/* --resume: takes the stored options into o unless given (given_opts holds
 * sentinels elsewhere); a given option must agree with a stored OPT_MATCH
 * one. Returns an exit code (usage error on a disagreement). */
int train_options_merge(train_options *o, const train_options *given_opts,
                        const train_options *stored);

/* Trains, saves the model and reports; returns the exit code. */
int train_loop(const train_options *o, train_run *run);

/* ---------------------------------------------------- train_report.c */

/* What the loop knows at the end of a run, for --report. */
typedef struct train_report_facts {
    size_t saved_epoch;   /* 1-based epoch the model holds */
    int restored;         /* early stopping restored it */
    const char *stop;     /* why the run stopped */
    const char *command;  /* the command line, or NULL */
    double train_seconds, eval_seconds; /* this invocation's passes */
} train_report_facts;

/* Writes --report from the saved model (read back from --out, as synapse
 * report reads it), the run's epochs, options and timings, evaluated on
 * the test set (or the validation rows). Returns an exit code. */
int train_report(const train_options *o, const train_run *run, const train_report_facts *f);

/* ------------------------------------------------------ train_ckpt.c */

/* Appends an epoch to progress; returns 0 when out of memory. */
int train_progress_push(train_progress *p, const epoch_result *r);
void train_progress_free(train_progress *p);

/* Hashes every row of ds (features and targets as float bits). */
int data_fingerprint_of(const syn_dataset *ds, data_fingerprint *fp);

/* ranks.c: training as one rank of an MPI job, or --shards. */
/* Under mpirun: MPI_Init and the MPI comm; with shards alone: the
 * one-process comm; else NULL. Returns an exit code. */
int cli_ranks_start(int shards, double timeout, const syn_comm **comm);
/* The one-process comm (--shards) for a run that is not yet sharded: a
 * resume of a sharded checkpoint without mpirun or --shards. */
void cli_ranks_single(const syn_comm **comm);
/* Ends MPI (MPI_Abort when rc is an error, so that no rank waits for this
 * one); returns rc. */
int cli_ranks_end(int rc);
/* The trainer's per-batch report: where a failure message says it was. */
void cli_ranks_batch_done(const syn_batch_report *r);
/* Reports a failed collective (SYN_ERR_COMM, or st) naming rank and step. */
int cli_ranks_failed(syn_status st);
/* Before the first step: every rank has the same data. */
int cli_ranks_check_data(const syn_comm *c, const train_options *o, const syn_dataset *ds);

/* Serialises the options, the data fingerprint, the progress (with the
 * stopping rule's state), the best weights (run->best, if any) and
 * `trained` (n_trained floats, may be NULL) into a malloc'd block for
 * syn_checkpoint_save. */
int train_ckpt_encode(const train_options *o, const train_run *run, const float *trained,
                      size_t n_trained, uint8_t **out, size_t *size);

/* Strings decoded from a checkpoint; they back the train_options fields
 * (one slot per row of train_option_rows). */
typedef struct train_ckpt_strings {
    char **s;
} train_ckpt_strings;

/* A decoded block: the options stored, the fingerprint, the progress and
 * the best weights (n_best floats, or NULL). */
typedef struct train_ckpt_data {
    train_options options;
    train_ckpt_strings strings;
    data_fingerprint fingerprint;
    train_progress progress;
    float *best;
    size_t n_best;
    /* The parameters in standardised target units (a regression, whose
     * checkpoint holds the model in the data's units); NULL otherwise. */
    float *trained;
    size_t n_trained;
    uint32_t version; /* of the block */
    /* It stores --shards (whether the run was sharded: --shards or mpirun);
     * checkpoints before it did not, and resume as the command line says. */
    int has_shards;
    char error[256]; /* why a decode failed */
} train_ckpt_data;

/* Returns 0 for a block this version cannot use, with the reason in
 * out->error: every option is checked as the parser checks it, and the
 * progress against itself. */
int train_ckpt_decode(const uint8_t *data, size_t size, train_ckpt_data *out);
void train_ckpt_data_free(train_ckpt_data *d);

#endif
