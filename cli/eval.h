/* eval.h - the evaluation `synapse eval` prints (eval.c), shared with
 * `synapse report` so that both show the same numbers from the same code. */
#ifndef SYN_CLI_EVAL_H
#define SYN_CLI_EVAL_H

#include "model_data.h"

#define EVAL_MAX_PAIRS 10 /* most-confused pairs listed */

typedef struct confused_pair {
    size_t truth, predicted;
    uint64_t count;
} confused_pair;

/* What eval computes: for a classifier the confusion matrix (k x k, row =
 * true class), syn_class_report's rows and summary and the most-confused
 * pairs; for a regression the per-output scores and their averages. */
typedef struct eval_report {
    syn_eval ev;
    uint64_t *confusion;
    size_t k;                       /* classes (classifiers) */
    syn_class_metrics *cm;          /* k entries */
    syn_class_summary summary;
    confused_pair pairs[EVAL_MAX_PAIRS];
    size_t n_pairs;
    syn_target_eval *targets;       /* n_targets entries (regression) */
    syn_target_eval overall;        /* uniform averages */
    size_t n_targets;
    const char *const *target_names; /* n_targets, or NULL */
    const char **names_storage;
} eval_report;

/* Bytes eval_compute allocates beside the network and the data; 0 when
 * that does not fit size_t. */
size_t eval_memory(const model_info *m);

/* Evaluates m on ds's rows (all when rows is NULL) with `threads` threads.
 * On failure prints one line for `cmd` and returns SYN_EXIT_RUNTIME; free r
 * with eval_report_free either way. `shown` names the data in messages. */
int eval_compute(const char *cmd, const model_info *m, const syn_dataset *ds,
                 const size_t *rows, size_t n_rows, long threads, const char *shown,
                 eval_report *r);
void eval_report_free(eval_report *r);

/* The name of regression output j: the model's, else "output_<j+1>". */
const char *eval_target_name(const eval_report *r, size_t j, char *buf, size_t size);

#endif
