/* model_data.c - what eval and predict share: loading a saved model and
 * the facts the command line derives from it (is it a classifier, what
 * are its classes), and reading data with "-" meaning stdin. */
#include <stdlib.h>
#include <string.h>

#include "model_data.h"

void model_info_free(model_info *m)
{
    syn_net_free(m->net);
    for (size_t i = 0; m->owned_names && i < m->n_classes; i++)
        free(m->owned_names[i]);
    free(m->owned_names);
    free(m->classes);
    memset(m, 0, sizeof *m);
}

/* A cross-entropy model saved without class names (by a program of the
 * user's) still has classes: its output indices. */
static int number_classes(model_info *m)
{
    size_t n = syn_net_n_outputs(m->net);
    m->owned_names = calloc(n, sizeof(char *));
    if (!m->owned_names)
        return 0;
    m->n_classes = n;
    for (size_t i = 0; i < n; i++) {
        char id[32];
        snprintf(id, sizeof id, "%zu", i);
        if (!(m->owned_names[i] = malloc(strlen(id) + 1)))
            return 0;
        strcpy(m->owned_names[i], id);
    }
    return 1;
}

int model_load(const char *cmd, const char *path, model_info *m)
{
    memset(m, 0, sizeof *m);
    syn_error err = {{0}};
    syn_status st = syn_net_load(path, &m->net, NULL, &err);
    if (st != SYN_OK)
        return cli_library_error(cmd, st, &err, path);
    m->path = path;
    size_t n = syn_net_n_class_names(m->net);
    int ok = 1;
    if (n == 0 && syn_net_loss(m->net) == SYN_LOSS_CROSS_ENTROPY)
        ok = number_classes(m);
    else
        m->n_classes = n;
    m->classify = m->n_classes > 0;
    /* A classifier of one class (a file written elsewhere: train refuses
     * one class) has no second class for its single output to pick. */
    if (ok && m->n_classes == 1) {
        int rc = cli_runtime_error(cmd, "%s: a classifier of a single class; it needs at "
                                   "least 2 classes to predict", path);
        model_info_free(m);
        return rc;
    }
    m->classes = calloc(m->n_classes + 1, sizeof(char *));
    ok = ok && m->classes;
    for (size_t i = 0; ok && i < m->n_classes; i++)
        m->classes[i] = m->owned_names ? m->owned_names[i] : syn_net_class_name(m->net, i);
    if (!ok) {
        model_info_free(m);
        return cli_runtime_error(cmd, "out of memory");
    }
    return SYN_EXIT_OK;
}

int model_load_data(const char *cmd, const model_info *m, cli_data_spec *spec,
                    syn_dataset **out, char **temp_path)
{
    *temp_path = NULL;
    const char *given = spec->data;
    /* The model's columns, by name where the file has a header. */
    spec->encoding = syn_net_encoding(m->net);
    if (!strcmp(spec->data, "-")) {
        int rc = cli_copy_to_temp(cmd, NULL, spec->max_bytes, temp_path);
        if (rc != SYN_EXIT_OK)
            return rc;
        spec->data = *temp_path;
        spec->shown_as = "stdin";
    }
    int rc = cli_load_data(cmd, spec, out, NULL);
    spec->data = given;
    spec->shown_as = NULL;
    if (rc != SYN_EXIT_OK)
        return rc;
    const char *shown = strcmp(given, "-") ? given : "stdin";
    size_t unseen = syn_dataset_n_unseen(*out);
    if (unseen)
        fprintf(stderr, "synapse %s: warning: %s: %zu field%s held a category the model did "
                "not see in training (encoded as all zeros; --strict makes this an error)\n",
                cmd, shown, unseen, unseen == 1 ? "" : "s");
    /* A model that records no columns (saved before synapse read raw
     * tables, or built by a program) reads numbers only, as it always did:
     * no encoding or imputation learned from the data being scored. Its
     * width is the file's column count. */
    const syn_encoding *read = spec->encoding ? NULL : syn_dataset_encoding(*out);
    size_t have = read ? syn_encoding_n_columns(read) : syn_dataset_n_features(*out);
    size_t want = syn_net_n_inputs(m->net), text = 0;
    for (size_t i = 0; read && i < have; i++) {
        syn_column_info c;
        text += syn_encoding_column(read, i, &c) == SYN_OK && c.kind != SYN_COLUMN_NUMERIC;
    }
    int rc2 = SYN_EXIT_OK;
    if (have != want)
        rc2 = cli_runtime_error(cmd, "%s has %zu feature columns but the model takes %zu "
                                "inputs%s", shown, have, want,
                                have > want && spec->no_target
                                    ? " (drop the target column with --target COL)" : "");
    else if (read && (text || syn_dataset_n_missing(*out)))
        rc2 = cli_runtime_error(cmd, "%s: %s records no input columns (it was saved before "
                                "models kept them), so every feature must be a number: "
                                "found %s", shown, m->path,
                                text ? "a column of text" : "missing fields");
    if (rc2 != SYN_EXIT_OK) {
        syn_dataset_free(*out);
        *out = NULL;
    }
    return rc2;
}
