/* train.h - what the two halves of `synapse train` share: the options
 * (parsed in train.c) and the state of one run (set up in train.c, trained,
 * reported and saved in train_loop.c). */
#ifndef SYN_CLI_TRAIN_H
#define SYN_CLI_TRAIN_H

#include "cli.h"

typedef struct train_options {
    const char *data, *labels, *target, *test_data, *test_labels;
    const char *delimiter, *hidden;
    const char *out, *log, *plot;
    int task, header, scale, activation, loss, optimizer, schedule, quiet;
    double val_split, lr, weight_decay;
    long batch, epochs, seed, early_stop, threads;
} train_options;

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
} train_run;

/* Trains, saves the model and reports; returns the exit code. */
int train_loop(const train_options *o, train_run *run);

#endif
