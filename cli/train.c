/* train.c - `synapse train`: reads a data set, builds a multi-layer
 * perceptron, trains it epoch by epoch with syn_trainer_epoch, reports
 * progress (progress.c), writes the optional log and plot, and saves the
 * model with its scaling, class names and training metadata. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "train.h"

static const char *const activation_names[] = {"sigmoid", "tanh", "relu", "leaky_relu",
                                               "linear", NULL};
static const syn_activation activation_values[] = {SYN_ACT_SIGMOID, SYN_ACT_TANH,
                                                   SYN_ACT_RELU, SYN_ACT_LEAKY_RELU,
                                                   SYN_ACT_LINEAR};
static const char *const loss_names[] = {"mse", "bce", "ce", NULL};
static const char *const optimizer_names[] = {"sgd", "momentum", "nesterov", "adam", "adamw",
                                              NULL};
static const char *const schedule_names[] = {"constant", "step", "cosine", NULL};
static const char *const scale_names[] = {"none", "minmax", "standard", NULL};
static const char *const task_names[] = {"auto", "classify", "regress", NULL};

static void train_usage(FILE *to)
{
    fprintf(to,
"usage: synapse train --data FILE [--labels FILE | --target COL] --out MODEL [options]\n"
"\n"
"Trains a multi-layer perceptron on a CSV or IDX data set and saves it to MODEL.\n"
"\n"
"data:\n"
"  --data FILE           training data: IDX images (plain or gzip) or CSV\n"
"  --labels FILE         IDX labels for IDX images (implies IDX)\n"
"  --target COL          CSV target column(s): a name or a 0-based index (negative\n"
"                        counts from the end), comma-separated for several\n"
"                        regression targets (default: the last column)\n"
"  --test-data FILE      data to evaluate on after training (same format)\n"
"  --test-labels FILE    IDX labels of --test-data\n"
"  --task auto|classify|regress\n"
"                        auto (default): classification when the single target\n"
"                        column holds strings or integers; regression when a\n"
"                        target value is a non-integer number (\"0.5\", \"2.0\",\n"
"                        \"1e3\") or several target columns are given. IDX data is\n"
"                        always classification.\n"
"  --delimiter C         CSV field delimiter (default ','; \"tab\" or \"\\t\" for tabs)\n"
"  --header, --no-header the CSV has / has no header row (default: detected)\n"
"  --val-split F         hold out this fraction of the rows for validation (0)\n"
"  --scale minmax|standard|none\n"
"                        input scaling fitted on the training rows and stored in\n"
"                        the model (default standard)\n"
"\n"
"network:\n"
"  --hidden N,N,...      hidden layer widths (default 128; \"none\" or \"\" for none)\n"
"  --activation A        hidden activation: sigmoid|tanh|relu|leaky_relu|linear\n"
"                        (default relu)\n"
"  --loss mse|bce|ce     default ce (softmax outputs) for classes, mse (linear\n"
"                        outputs) for regression. bce gives one sigmoid output per\n"
"                        class (or per target, which must lie in [0, 1]); mse on\n"
"                        classes fits linear outputs to one-hot rows.\n"
"\n"
"training:\n"
"  --optimizer sgd|momentum|nesterov|adam|adamw   (default adam)\n"
"  --lr X                learning rate (default 0.001 for adam/adamw, 0.01 else)\n"
"  --weight-decay X      (default 0; 0.01 for adamw)\n"
"  --batch N             mini-batch size (default 128; 0 for full batch)\n"
"  --epochs N            passes over the training rows (default 10)\n"
"  --schedule constant|step|cosine\n"
"                        learning-rate schedule per epoch (default cosine, annealed\n"
"                        to 0 over --epochs; step: x0.1 every epochs/3 epochs)\n"
"  --seed N              seeds weights, shuffling and the split (default 1)\n"
"  --early-stop P        stop when the validation loss has not improved for P\n"
"                        epochs and keep the best weights (needs --val-split)\n"
"  --threads N           threads (default 0: all available)\n"
"\n"
"output:\n"
"  --out MODEL           the model file to write (required; written atomically)\n"
"  --log FILE.csv        one row per epoch: epoch,train_loss,train_accuracy,\n"
"                        val_loss,val_accuracy,seconds,samples_per_second\n"
"                        (empty fields where there is no value)\n"
"  --plot FILE.svg       loss and accuracy curves as a self-contained SVG\n"
"  --quiet               print nothing but errors\n"
"\n"
"Progress goes to stderr (a redrawn bar on a terminal, one line per epoch\n"
"otherwise); the test result and the saved model's name go to stdout.\n"
"Exit status: 0 success, 1 runtime error (also when training diverges; the last\n"
"good model is still saved), 2 usage error.\n");
}

static void set_defaults(train_options *o)
{
    memset(o, 0, sizeof *o);
    o->hidden = "128";
    o->activation = 2; /* relu */
    o->loss = -1;      /* inferred from the data */
    o->optimizer = SYN_OPTIM_ADAM;
    o->lr = -1.0;
    o->weight_decay = -1.0;
    o->batch = 128;
    o->epochs = 10;
    o->schedule = SYN_SCHEDULE_COSINE;
    o->seed = 1;
    o->scale = SYN_SCALE_STANDARD;
    o->header = 0; /* detect */
}

static cli_parse_result parse_train(int argc, char **argv, train_options *o)
{
    const cli_option table[] = {
        {"--data", CLI_STRING, &o->data, 0, 0, NULL, 0},
        {"--labels", CLI_STRING, &o->labels, 0, 0, NULL, 0},
        {"--target", CLI_STRING, &o->target, 0, 0, NULL, 0},
        {"--test-data", CLI_STRING, &o->test_data, 0, 0, NULL, 0},
        {"--test-labels", CLI_STRING, &o->test_labels, 0, 0, NULL, 0},
        {"--task", CLI_CHOICE, &o->task, 0, 0, task_names, 0},
        {"--delimiter", CLI_STRING, &o->delimiter, 0, 0, NULL, 0},
        {"--header", CLI_FLAG, &o->header, 0, 0, NULL, 1},
        {"--no-header", CLI_FLAG, &o->header, 0, 0, NULL, -1},
        {"--val-split", CLI_DOUBLE, &o->val_split, 0, 0.99, NULL, 0},
        {"--scale", CLI_CHOICE, &o->scale, 0, 0, scale_names, 0},
        {"--hidden", CLI_STRING, &o->hidden, 0, 0, NULL, 0},
        {"--activation", CLI_CHOICE, &o->activation, 0, 0, activation_names, 0},
        {"--loss", CLI_CHOICE, &o->loss, 0, 0, loss_names, 0},
        {"--optimizer", CLI_CHOICE, &o->optimizer, 0, 0, optimizer_names, 0},
        {"--lr", CLI_DOUBLE, &o->lr, 1e-12, 1e12, NULL, 0},
        {"--weight-decay", CLI_DOUBLE, &o->weight_decay, 0, 1e6, NULL, 0},
        {"--batch", CLI_LONG, &o->batch, 0, 1e8, NULL, 0},
        {"--epochs", CLI_LONG, &o->epochs, 1, 1e7, NULL, 0},
        {"--schedule", CLI_CHOICE, &o->schedule, 0, 0, schedule_names, 0},
        {"--seed", CLI_LONG, &o->seed, 0, 9.2e18, NULL, 0},
        {"--early-stop", CLI_LONG, &o->early_stop, 1, 1e7, NULL, 0},
        {"--threads", CLI_LONG, &o->threads, 0, 4096, NULL, 0},
        {"--out", CLI_STRING, &o->out, 0, 0, NULL, 0},
        {"--log", CLI_STRING, &o->log, 0, 0, NULL, 0},
        {"--plot", CLI_STRING, &o->plot, 0, 0, NULL, 0},
        {"--quiet", CLI_FLAG, &o->quiet, 0, 0, NULL, 1},
    };
    return cli_parse("train", argc, argv, 1, table, sizeof table / sizeof table[0],
                     train_usage, NULL, 0, NULL);
}

/* Checks that need several options at once; returns an exit code. */
static int check_train_options(const train_options *o)
{
    const char *cmd = "train";
    if (!o->data)
        return cli_usage_error(cmd, "missing --data FILE");
    if (!o->out)
        return cli_usage_error(cmd, "missing --out MODEL");
    if (o->labels && o->target)
        return cli_usage_error(cmd, "--labels (IDX) and --target (CSV) exclude each other");
    if (o->test_labels && !o->test_data)
        return cli_usage_error(cmd, "--test-labels needs --test-data");
    if (o->early_stop && o->val_split <= 0.0)
        return cli_usage_error(cmd, "--early-stop needs a validation set: add --val-split F");
    if (!strcmp(o->data, "-"))
        return cli_usage_error(cmd, "--data cannot be stdin for training");
    const char *inputs[] = {o->data, o->labels, o->test_data, o->test_labels};
    const char *outputs[] = {o->out, o->log, o->plot};
    const char *out_names[] = {"--out", "--log", "--plot"};
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 4; j++)
            if (outputs[i] && inputs[j] &&
                (!strcmp(outputs[i], inputs[j]) || cli_same_file(outputs[i], inputs[j])))
                return cli_usage_error(cmd, "%s %s would overwrite the input %s", out_names[i],
                                       outputs[i], inputs[j]);
    /* Fail before a long training run, not after it. */
    for (int i = 0; i < 3; i++)
        if (cli_check_writable(cmd, outputs[i]) != SYN_EXIT_OK)
            return SYN_EXIT_RUNTIME;
    return SYN_EXIT_OK;
}

static int load_training_data(const train_options *o, train_run *run)
{
    cli_data_spec spec = {.data = o->data, .labels = o->labels, .target = o->target,
                          .delimiter = o->delimiter, .header = o->header,
                          .task = (cli_task)o->task};
    return cli_load_data("train", &spec, &run->data, &run->is_idx);
}

/* The test set is read like the training set, its labels mapped onto the
 * training set's classes. */
static int load_test_data(const train_options *o, train_run *run)
{
    cli_data_spec spec = {.data = o->test_data, .labels = o->test_labels, .target = o->target,
                          .delimiter = o->delimiter, .header = o->header,
                          .task = CLI_TASK_CLASSIFY, .default_targets = 1,
                          .class_names = (const char *const *)run->class_names,
                          .n_class_names = run->n_class_names};
    if (!run->classify) {
        spec.task = CLI_TASK_REGRESS;
        spec.default_targets = syn_dataset_target_width(run->data);
        spec.class_names = NULL;
        spec.n_class_names = 0;
    }
    int rc = cli_load_data("train", &spec, &run->test, NULL);
    if (rc == SYN_EXIT_OK &&
        syn_dataset_n_features(run->test) != syn_dataset_n_features(run->data))
        rc = cli_runtime_error("train", "%s has %zu features but %s has %zu", o->test_data,
                               syn_dataset_n_features(run->test), o->data,
                               syn_dataset_n_features(run->data));
    return rc;
}

/* Class names for the model: the CSV's labels, or the class ids ("0".."9"
 * for IDX digits). */
static int make_class_names(train_run *run)
{
    size_t n = syn_dataset_n_classes(run->data);
    run->class_names = calloc(n ? n : 1, sizeof(char *));
    if (!run->class_names)
        return 0;
    run->n_class_names = n;
    for (size_t i = 0; i < n; i++) {
        const char *name = syn_dataset_class_name(run->data, i);
        char id[32];
        if (!name) {
            snprintf(id, sizeof id, "%zu", i);
            name = id;
        }
        size_t len = strlen(name) + 1;
        if (!(run->class_names[i] = malloc(len)))
            return 0;
        memcpy(run->class_names[i], name, len);
    }
    return 1;
}

/* The output layer and loss for the data and --loss; returns an exit code. */
static int output_layer(const train_options *o, const train_run *run, syn_layer_desc *out,
                        syn_loss *loss)
{
    out->units = syn_dataset_target_width(run->data);
    if (o->loss < 0)
        *loss = run->classify ? SYN_LOSS_CROSS_ENTROPY : SYN_LOSS_MSE;
    else
        *loss = (syn_loss)o->loss;
    if (*loss == SYN_LOSS_CROSS_ENTROPY && !run->classify)
        return cli_usage_error("train", "--loss ce needs class labels; this is a regression "
                               "(try --task classify or --loss mse)");
    out->activation = *loss == SYN_LOSS_CROSS_ENTROPY ? SYN_ACT_SOFTMAX
                      : *loss == SYN_LOSS_BCE        ? SYN_ACT_SIGMOID
                                                     : SYN_ACT_LINEAR;
    return SYN_EXIT_OK;
}

static int build_net(const train_options *o, train_run *run)
{
    size_t *widths, n_hidden;
    if (!cli_parse_size_list(o->hidden, &widths, &n_hidden))
        return cli_usage_error("train", "--hidden expects widths like 256,128 (or none), "
                               "got '%s'", o->hidden);
    syn_layer_desc *layers = calloc(n_hidden + 1, sizeof *layers);
    if (!layers) {
        free(widths);
        return cli_runtime_error("train", "out of memory");
    }
    for (size_t i = 0; i < n_hidden; i++) {
        layers[i].units = widths[i];
        layers[i].activation = activation_values[o->activation];
    }
    free(widths);
    syn_loss loss;
    int rc = output_layer(o, run, &layers[n_hidden], &loss);
    syn_net_desc desc = {.n_inputs = syn_dataset_n_features(run->data),
                         .n_layers = n_hidden + 1, .layers = layers, .loss = loss,
                         .reduction = SYN_REDUCTION_MEAN, .init = SYN_INIT_AUTO,
                         .seed = (uint64_t)o->seed};
    syn_status st = rc == SYN_EXIT_OK ? syn_net_create(&desc, &run->net) : SYN_OK;
    free(layers);
    if (rc == SYN_EXIT_OK && st != SYN_OK)
        rc = cli_library_error("train", st, NULL, "creating the network");
    return rc;
}

/* Splits off the validation rows, then fits the scaling on the training
 * rows only, so no statistic of the validation rows leaks into the model. */
static int prepare_rows_and_scaling(const train_options *o, train_run *run)
{
    size_t n = syn_dataset_n_samples(run->data), f = syn_dataset_n_features(run->data);
    run->train_rows = malloc(n * sizeof(size_t));
    run->val_rows = malloc(n * sizeof(size_t));
    float *offset = malloc(f * sizeof(float)), *scale = malloc(f * sizeof(float));
    syn_status st = run->train_rows && run->val_rows && offset && scale ? SYN_OK
                                                                        : SYN_ERR_OUT_OF_MEMORY;
    if (st == SYN_OK)
        st = syn_split_rows(n, o->val_split, (uint64_t)o->seed, run->train_rows, &run->n_train,
                            run->val_rows, &run->n_val);
    if (st == SYN_ERR_INVALID_ARGUMENT) {
        free(offset);
        free(scale);
        return cli_runtime_error("train", "--val-split %g leaves no training rows out of %zu",
                                 o->val_split, n);
    }
    if (st == SYN_OK && o->scale != SYN_SCALE_NONE)
        st = syn_dataset_fit_scaling(run->data, run->train_rows, run->n_train,
                                     (syn_scale_kind)o->scale, offset, scale);
    if (st == SYN_OK && o->scale != SYN_SCALE_NONE)
        st = syn_net_set_input_scaling(run->net, offset, scale);
    free(offset);
    free(scale);
    if (st == SYN_OK && run->classify)
        st = syn_net_set_class_names(run->net, (const char *const *)run->class_names,
                                     run->n_class_names);
    return st == SYN_OK ? SYN_EXIT_OK : cli_library_error("train", st, NULL, "preparing data");
}

static int create_trainer(const train_options *o, train_run *run)
{
    syn_optim_desc optim = syn_optim_defaults((syn_optim_kind)o->optimizer);
    if (o->lr > 0.0)
        optim.lr = (float)o->lr;
    if (o->weight_decay >= 0.0)
        optim.weight_decay = (float)o->weight_decay;
    syn_train_desc td = {.batch_size = (size_t)o->batch, .n_threads = (int)o->threads,
                         .seed = (uint64_t)o->seed};
    td.schedule.kind = (syn_schedule_kind)o->schedule;
    td.schedule.t_max = (size_t)o->epochs;
    td.schedule.step_size = o->epochs >= 3 ? (size_t)o->epochs / 3 : 1;
    td.schedule.gamma = 0.1f;
    syn_status st = syn_trainer_create(run->net, &optim, &td, &run->trainer);
    size_t eval_batch = 1024;
    if (st == SYN_OK)
        st = syn_workspace_create(run->net, eval_batch, &run->eval_ws);
    if (st == SYN_OK)
        st = syn_workspace_set_threads(run->eval_ws, (int)o->threads);
    return st == SYN_OK ? SYN_EXIT_OK
                        : cli_library_error("train", st, NULL, "creating the trainer");
}

static void free_run(train_run *run)
{
    syn_trainer_free(run->trainer);
    syn_workspace_free(run->eval_ws);
    syn_net_free(run->net);
    syn_net_free(run->best);
    syn_dataset_free(run->data);
    syn_dataset_free(run->test);
    for (size_t i = 0; run->class_names && i < run->n_class_names; i++)
        free(run->class_names[i]);
    free(run->class_names);
    free(run->train_rows);
    free(run->val_rows);
    cli_history_free(&run->history);
}

static int setup(const train_options *o, train_run *run)
{
    int rc = load_training_data(o, run);
    if (rc == SYN_EXIT_OK) {
        run->classify = syn_dataset_n_classes(run->data) > 0;
        if (!make_class_names(run))
            rc = cli_runtime_error("train", "out of memory");
    }
    if (rc == SYN_EXIT_OK && o->test_data)
        rc = load_test_data(o, run);
    if (rc == SYN_EXIT_OK)
        rc = build_net(o, run);
    if (rc == SYN_EXIT_OK)
        rc = prepare_rows_and_scaling(o, run);
    if (rc == SYN_EXIT_OK)
        rc = create_trainer(o, run);
    return rc;
}

int cmd_train(int argc, char **argv)
{
    train_options o;
    set_defaults(&o);
    cli_parse_result parsed = parse_train(argc, argv, &o);
    if (parsed != CLI_PARSED)
        return parsed == CLI_HELP ? SYN_EXIT_OK : SYN_EXIT_USAGE;
    int rc = check_train_options(&o);
    if (rc != SYN_EXIT_OK)
        return rc;
    train_run run;
    memset(&run, 0, sizeof run);
    rc = setup(&o, &run);
    if (rc == SYN_EXIT_OK)
        rc = train_loop(&o, &run);
    free_run(&run);
    return rc;
}
