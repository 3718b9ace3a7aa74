/* model_data.h - a saved model as eval and predict see it (model_data.c). */
#ifndef SYN_CLI_MODEL_DATA_H
#define SYN_CLI_MODEL_DATA_H

#include "cli.h"

typedef struct model_info {
    syn_net *net;
    int classify;         /* the model has classes */
    size_t n_classes;
    const char **classes; /* n_classes names */
    char **owned_names;   /* numbered classes made up for a model without names */
    const char *path;     /* the model file, for messages */
} model_info;

/* Loads MODEL; prints the error and returns SYN_EXIT_RUNTIME on failure. */
int model_load(const char *cmd, const char *path, model_info *m);
void model_info_free(model_info *m);

/* Loads spec's data ("-" is stdin, copied to *temp_path, which the caller
 * removes and frees) and checks its width against the model. */
int model_load_data(const char *cmd, const model_info *m, cli_data_spec *spec,
                    syn_dataset **out, char **temp_path);

#endif
