/* train.c - `synapse train`: reads a data set, builds a multi-layer
 * perceptron, trains it epoch by epoch with syn_trainer_epoch, reports
 * progress (progress.c), writes the optional log and plot, and saves the
 * model with its scaling, class names and training metadata. Owns the
 * options: parsing, the memory limit (refused before allocating), and
 * --resume, which takes the run's options from a checkpoint, checks the
 * data against it and puts the trainer back where it stopped. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "train.h"

/* The defaults that depend on the data (choose_plan; docs/CLI.md). */
#define VAL_FRACTION 0.1    /* the validation split taken by default ... */
#define VAL_MIN_ROWS 100    /* ... when it gives at least this many rows */
#define STEPS_PER_EPOCH 256 /* batch: the training rows / this, ... */
#define BATCH_MIN 32        /* ... as a power of 2 in [BATCH_MIN, BATCH_MAX] */
#define BATCH_MAX 256
#define PATIENCE 10         /* sklearn's n_iter_no_change */
#define TOL 1e-4            /* sklearn's tol, here relative (PyTorch's "rel") */
#define LR_FACTOR 0.1f      /* ReduceLROnPlateau's factor */
#define MAX_EPOCHS 1000
#define NARROW_HIDDEN "128" /* the hidden layers below WIDE_ROWS training rows */
#define WIDE_HIDDEN "256,128"
#define WIDE_ROWS 10000
/* A run that stops on its own runs long on small data, so it also
 * regularises: L2 (coupled, PyTorch's weight_decay) of WEIGHT_PRIOR / the
 * training rows. On the mean loss this is a fixed Gaussian prior on the
 * weights (ridge regression's fixed lambda on the summed loss), so its
 * pull fades as the data grows: 0.03 at 100 rows, 5.6e-5 for
 * Fashion-MNIST's 54000. */
#define WEIGHT_PRIOR 3.0

static void train_usage(FILE *to)
{
    fprintf(to,
"usage: synapse train --data FILE [--labels FILE | --target COL] --out MODEL\n"
"                     [options]\n"
"\n"
"Trains a network (dense, convolution, normalization and dropout layers) on a CSV\n"
"or IDX data set and saves it to MODEL.\n"
"\n"
"data:\n"
"  --data FILE           training data: IDX images (plain or gzip) or CSV\n"
"  --labels FILE         IDX labels for IDX images (implies IDX)\n"
"  --target COL          CSV target column(s): a name or a 0-based index\n"
"                        (negative counts from the end), comma-separated for\n"
"                        several regression targets (default: the last column)\n"
"  --test-data FILE      data to evaluate on after training (same format)\n"
"  --test-labels FILE    IDX labels of --test-data\n"
"  --task auto|classify|regress\n"
"                        auto (default): classification when the single target\n"
"                        column holds strings or at most 20 distinct integers;\n"
"                        regression when a target value is a non-integer number\n"
"                        (\"0.5\", \"2.0\", \"1e3\"), the target holds more than 20\n"
"                        distinct integers, or several target columns are given.\n"
"                        The choice and its reason are printed. IDX data is\n"
"                        always classification.\n"
"  --na-values A,B,...   CSV fields that mean \"missing\" (default\n"
"                        NA,N/A,NaN,null,?; case ignored; an empty field is\n"
"                        always missing): imputed with the training mean\n"
"                        (numbers) or most frequent category\n"
"  --categorical COL,... one-hot encode these columns even if they hold numbers\n"
"                        (a column with any text is categorical anyway)\n"
"  --ignore COL,...      leave these columns out (an id, free text)\n"
"  --max-categories N    refuse a categorical column with more categories (100)\n"
"  --strict              a --test-data category unseen in training is an error\n"
"  --delimiter C         CSV field delimiter (default ','; \"tab\" or \"\\t\" for\n"
"                        tabs)\n"
"  --header, --no-header the CSV has / has no header row (default: detected)\n"
"  --val-split F         hold out this fraction of the rows for validation\n"
"                        (default: 0.1, stratified, when that is at least %d\n"
"                        rows and the run stops on its own; else none, and the\n"
"                        training loss is monitored)\n"
"  --scale minmax|standard|none\n"
"                        input scaling fitted on the training rows and stored in\n"
"                        the model (default standard)\n"
"  --input-shape C,H,W   each row is an image of C channels, H x W (NCHW), for\n"
"                        convolution layers (IDX images have theirs: 1,H,W)\n"
"\n"
"network:\n"
"  --init MODEL          fine-tune MODEL (e.g. one made by 'synapse import' from\n"
"                        PyTorch): its layers, loss, input scaling and classes\n"
"                        are kept, so --hidden, --activation, --loss and --scale\n"
"                        do not apply; not with --checkpoint or --resume\n"
"  --hidden N,N,...      hidden layer widths (default %s; %s from %d\n"
"                        training rows; \"none\" or \"\" for none)\n"
"  --layers SPEC         the hidden layers as a list instead of --hidden, e.g.\n"
"                        \"512:relu,bn,dropout:0.2,256,ln,dropout:0.2\": N[:act]\n"
"                        dense (--activation without one), bn[:act] batch norm,\n"
"                        ln[:act] layer norm, dropout:P; may end with the output\n"
"                        width; @FILE reads the list from FILE (# comments)\n"
"                        images (--input-shape, IDX): conv:C:K[:sN:pN:same:dN:gN:\n"
"                        nobias:act], maxpool:K[:sN:pN],\n"
"                        avgpool:K[:sN:pN:exclude], gap, bn2d[:act], dropout2d:P,\n"
"                        flatten; a bare activation is the layer before's\n"
"                        (conv:32:3,relu,maxpool:2,...)\n"
"  --activation A        hidden activation: linear|sigmoid|tanh|relu|leaky_relu|\n"
"                        gelu|gelu_tanh|silu|elu|softplus (default relu;\n"
"                        PyTorch's definitions, parameters at their defaults)\n"
"  --loss mse|bce|ce|huber|l1\n"
"                        default ce (softmax outputs) for classes, mse (linear\n"
"                        outputs) for regression. bce gives one sigmoid output\n"
"                        per class (or per target, which must lie in [0, 1]);\n"
"                        mse, huber and l1 on classes fit linear outputs to\n"
"                        one-hot rows.\n"
"  --huber-delta X       huber's delta, in standardised target units (default\n"
"                        1.0)\n"
"  --label-smoothing X   ce: mix each one-hot target with uniform, in [0, 1)\n"
"                        (PyTorch's label_smoothing; default 0)\n"
"  --class-weights W     ce: per-class weights, 'balanced' (training rows /\n"
"                        (classes * the class's rows), sklearn's rule) or a list\n"
"                        W1,W2,... in class order; the mean divides by the rows'\n"
"                        total weight, as PyTorch's weight= does\n"
"\n"
"training:\n"
"  --optimizer NAME      sgd|momentum|nesterov|adam|adamw|rmsprop|adagrad|nadam|\n"
"                        radam (default adam; torch.optim's rules and defaults)\n"
"  --lr X                learning rate (default PyTorch's: 0.001 for adam, adamw,\n"
"                        radam; 0.002 nadam; 0.01 else)\n"
"  --momentum X          momentum, nesterov (default 0.9), rmsprop (default 0)\n"
"  --beta1 X, --beta2 X  adam, adamw, nadam, radam (default 0.9, 0.999)\n"
"  --eps X               adam family, rmsprop, adagrad, nadam, radam (default\n"
"                        1e-8; adagrad 1e-10)\n"
"  --alpha X             rmsprop's smoothing constant (default 0.99)\n"
"  --centered            rmsprop: normalise by the gradient's variance\n"
"  --lr-decay X          adagrad: lr / (1 + (step - 1) X) (default 0)\n"
"  --initial-accumulator X  adagrad's initial sum (default 0)\n"
"  --momentum-decay X    nadam (default 0.004)\n"
"  --weight-decay X      (default without --epochs: %g / training rows; with\n"
"                        --epochs N: 0; adamw: 0.01)\n"
"  --batch N             mini-batch size (default: the training rows / %d\n"
"                        rounded down to a power of 2, from %d to %d; 0 for\n"
"                        full batch)\n"
"  --epochs N            exactly N passes over the training rows (default: stop\n"
"                        on its own, see --early-stop)\n"
"  --schedule constant|step|cosine|exponential|onecycle|plateau\n"
"                        learning-rate schedule (default with --epochs: cosine,\n"
"                        annealed to 0 over N; without --epochs: constant, x%g\n"
"                        after %d epochs without improvement). step: x0.1\n"
"                        (--gamma) every N/3 epochs; exponential: x--gamma per\n"
"                        epoch (default: to 1/100 of --lr over the run); onecycle\n"
"                        (needs --epochs): PyTorch's OneCycleLR per step, peak\n"
"                        --lr, momentum (Adam's beta1) cycled 0.95-0.85-0.95;\n"
"                        plateau: ReduceLROnPlateau on the validation loss (x0.1\n"
"                        after 10 epochs without improvement)\n"
"  --warmup N            first N epochs: the rate rises linearly from --lr/3 to\n"
"                        --lr, then the schedule starts (LinearLR, SequentialLR)\n"
"  --gamma X             step and exponential schedules' factor\n"
"  --weight-init auto|torch|he|xavier|uniform\n"
"                        how weights start: auto (default) He normal before\n"
"                        relu-like activations, else Xavier uniform, biases 0;\n"
"                        torch as nn.Linear/nn.Conv2d do, U(+-1/sqrt(fan_in))\n"
"                        weights and biases; uniform U[-1, 1) (the notebook)\n"
"  --seed N              seeds weights, shuffling and the split (default 1)\n"
"  --early-stop P        stop when the monitored loss (validation, else training)\n"
"                        has not improved by --tol for P epochs (default %d\n"
"                        without --epochs; off with --epochs N unless given);\n"
"                        with validation rows the best epoch's weights are kept\n"
"  --tol X               relative improvement that counts, absolute below a loss\n"
"                        of 1 (default %g; 0 with --epochs N --early-stop P)\n"
"  --max-epochs N        the cap of a run without --epochs (default %d)\n"
"  --threads N           threads (default 0: all available)\n"
"  --max-memory SIZE     refuse data and networks that need more memory than SIZE\n"
"                        (512M, 4G, bytes; none for no limit; default: the memory\n"
"                        available now)\n"
"\n"
"checkpoints:\n"
"  --checkpoint FILE     write a checkpoint (model, optimizer, position, options)\n"
"                        atomically after each epoch\n"
"  --checkpoint-every N  also every N batches (counted over the whole run)\n"
"  --resume FILE         continue the run a checkpoint holds, bit for bit: its\n"
"                        options are used (any given must agree), the data must\n"
"                        be the same; checkpoints go on to FILE unless\n"
"                        --checkpoint names another\n"
"\n"
"output:\n"
"  --out MODEL           the model file to write (required; written atomically)\n"
"  --log FILE.csv        one row per epoch: epoch,train_loss,train_accuracy,\n"
"                        val_loss,val_accuracy,seconds,samples_per_second, saved\n"
"                        (1: the epoch --out holds, restored by early stopping or\n"
"                        the last), test_loss,test_accuracy (on the saved row;\n"
"                        empty fields where there is no value), lr, and on the\n"
"                        last row stop (why the run stopped)\n"
"  --plot FILE.svg       loss and accuracy curves as a self-contained SVG, the\n"
"                        restored epoch and the test result marked; a log loss\n"
"                        axis when the loss spans more than two decades\n"
"  --report FILE.html    a self-contained HTML report at the end (synapse report\n"
"                        --help): curves, the test set's evaluation (else the\n"
"                        validation rows'), provenance, timings\n"
"  --shards              sum each batch's gradient over fixed shards in exact\n"
"                        fixed point, as every mpirun job does: the same model\n"
"                        for any number of ranks (slower than the default float\n"
"                        path); a checkpoint records it, and its resume goes on\n"
"                        sharded\n"
"  --rank-timeout S      under mpirun: a rank that waits S seconds (120) for the\n"
"                        others ends the job with an error naming its step\n"
"  --quiet               no progress and no 'saved' line: only errors and, with\n"
"                        --test-data, the test result on stdout\n"
"  --silent              print nothing but errors, not even the test result\n"
"\n"
"Progress goes to stderr (a redrawn bar on a terminal, one line per epoch\n"
"otherwise); the test result and the saved model's name go to stdout.\n"
"Exit status: 0 success, 1 runtime error (also when training diverges; the last\n"
"good model is still saved, if an epoch finished), 2 usage error, 130/143 stopped\n"
"by Ctrl-C/SIGTERM (at the next batch: the finished epochs' model and, with\n"
"--checkpoint, a checkpoint to --resume are saved first).\n", VAL_MIN_ROWS, NARROW_HIDDEN,
            WIDE_HIDDEN, WIDE_ROWS, WEIGHT_PRIOR, STEPS_PER_EPOCH, BATCH_MIN, BATCH_MAX,
            (double)LR_FACTOR, PATIENCE / 2, PATIENCE, TOL, MAX_EPOCHS);
}

static cli_parse_result parse_train(int argc, char **argv, train_options *o)
{
    return train_options_parse(argc, argv, o, train_usage);
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
    if (o->max_epochs && o->epochs)
        return cli_usage_error(cmd, "--max-epochs caps a run that stops on its own; with "
                               "--epochs N the run takes exactly N epochs");
    if (o->tol >= 0.0 && o->epochs && !o->early_stop)
        return cli_usage_error(cmd, "--tol belongs to the stopping rule: with --epochs N "
                               "add --early-stop P, or drop --epochs");
    if (o->schedule == SYN_SCHEDULE_ONECYCLE && !o->epochs)
        return cli_usage_error(cmd, "--schedule onecycle needs --epochs N: the cycle spans "
                               "the run's steps");
    long cap = o->epochs ? o->epochs : o->max_epochs ? o->max_epochs : MAX_EPOCHS;
    if (o->warmup >= cap)
        return cli_usage_error(cmd, "--warmup %ld leaves none of the run's %ld epochs%s for "
                               "the schedule", o->warmup, cap, o->epochs ? "" : " (its cap)");
    if (o->gamma >= 0.0 && o->schedule != SYN_SCHEDULE_STEP &&
        o->schedule != SYN_SCHEDULE_EXPONENTIAL)
        return cli_usage_error(cmd, "--gamma belongs to --schedule step or exponential");
    if (!strcmp(o->data, "-"))
        return cli_usage_error(cmd, "--data cannot be stdin for training");
    /* stdout carries train's results, and a checkpoint is rewritten in place. */
    if (!strcmp(o->out, "-"))
        return cli_usage_error(cmd, "--out - : a model cannot go to stdout, where train "
                               "prints its results; name a file");
    if (o->report && !strcmp(o->report, "-"))
        return cli_usage_error(cmd, "--report - : the report is a file (train prints its "
                               "results on stdout)");
    if (o->checkpoint && !strcmp(o->checkpoint, "-"))
        return cli_usage_error(cmd, "--checkpoint - : a checkpoint is a file rewritten "
                               "during the run; name a file");
    if (o->checkpoint_every && !o->checkpoint)
        return cli_usage_error(cmd, "--checkpoint-every needs --checkpoint FILE");
    if (o->init && (o->checkpoint || o->resume))
        return cli_usage_error(cmd, "--init does not combine with --checkpoint or --resume");
    const char *inputs[] = {o->data, o->labels, o->test_data, o->test_labels, o->resume,
                            o->init};
    const char *outputs[] = {o->out, o->log, o->plot, o->checkpoint, o->report};
    const char *out_names[] = {"--out", "--log", "--plot", "--checkpoint", "--report"};
    enum { N_OUT = sizeof outputs / sizeof outputs[0] };
    for (int i = 0; i < N_OUT; i++)
        for (int j = 0; j < 6; j++)
            /* The checkpoint a run resumes from is the one it goes on writing. */
            if (outputs[i] && inputs[j] && !(i == 3 && j == 4) &&
                (!strcmp(outputs[i], inputs[j]) || cli_same_file(outputs[i], inputs[j])))
                return cli_usage_error(cmd, "%s %s would overwrite the input %s", out_names[i],
                                       outputs[i], inputs[j]);
    for (int i = 0; i < N_OUT; i++)
        for (int j = i + 1; j < N_OUT; j++)
            if (outputs[i] && outputs[j] && strcmp(outputs[i], "-") &&
                (!strcmp(outputs[i], outputs[j]) || cli_same_file(outputs[i], outputs[j])))
                return cli_usage_error(cmd, "%s and %s name the same file %s", out_names[i],
                                       out_names[j], outputs[i]);
    /* Fail before a long training run, not after it. (An MPI rank but
     * rank 0 writes nothing: its machine need not have the directories.) */
    for (int i = 0; i < N_OUT && !o->no_output; i++)
        if (cli_check_writable(cmd, outputs[i]) != SYN_EXIT_OK)
            return SYN_EXIT_RUNTIME;
    return SYN_EXIT_OK;
}

/* --input-shape C,H,W: the samples' shape (channels, height, width), for
 * CSV rows that hold images; IDX images have theirs from the header. */
static int set_input_shape(const train_options *o, syn_dataset *data)
{
    size_t *dims, n;
    if (!cli_parse_size_list(o->input_shape, &dims, &n) || n != 3) {
        free(dims);
        return cli_usage_error("train", "--input-shape expects channels,height,width like "
                               "1,28,28, got '%s'", o->input_shape);
    }
    syn_status st = syn_dataset_set_shape(data, dims);
    free(dims);
    if (st != SYN_OK)
        return cli_usage_error("train", "--input-shape %s does not multiply to the data's %zu "
                               "features", o->input_shape, syn_dataset_n_features(data));
    return SYN_EXIT_OK;
}

/* With --init the model decides the task: a softmax or sigmoid output with
 * cross-entropy / BCE is a classifier whose classes the labels map onto
 * (by name when the model has names), anything else a regression on as
 * many targets as it has outputs. */
static int init_data_spec(const syn_net *net, cli_data_spec *spec, const char ***names)
{
    syn_loss loss = syn_net_loss(net);
    if (loss == SYN_LOSS_MSE || loss == SYN_LOSS_HUBER || loss == SYN_LOSS_L1) {
        spec->task = CLI_TASK_REGRESS;
        spec->default_targets = syn_net_n_outputs(net);
        return 1;
    }
    spec->task = CLI_TASK_CLASSIFY;
    size_t n = syn_net_n_class_names(net);
    if (n == 0)
        return 1;
    *names = malloc(n * sizeof **names);
    if (!*names)
        return 0;
    for (size_t i = 0; i < n; i++)
        (*names)[i] = syn_net_class_name(net, i);
    spec->class_names = *names;
    spec->n_class_names = n;
    return 1;
}

static int load_training_data(const train_options *o, train_run *run)
{
    cli_data_spec spec = {.data = o->data, .labels = o->labels, .target = o->target,
                          .delimiter = o->delimiter, .header = o->header,
                          .task = (cli_task)o->task, .max_bytes = o->memory_limit,
                          .na_values = o->na_values, .categorical = o->categorical,
                          .ignore = o->ignore, .max_categories = (size_t)o->max_categories,
                          .task_reason = run->task_reason,
                          .task_reason_size = sizeof run->task_reason};
    const char **names = NULL;
    if (run->net && !init_data_spec(run->net, &spec, &names))
        return cli_runtime_error("train", "out of memory");
    /* A fine-tuned model reads the data through its own encoding. */
    if (run->net && syn_net_encoding(run->net)) {
        if (o->na_values || o->categorical || o->ignore || o->max_categories)
            return cli_usage_error("train", "--init takes the columns from %s: drop "
                                   "--na-values, --categorical, --ignore and "
                                   "--max-categories", o->init);
        spec.encoding = syn_net_encoding(run->net);
    }
    int rc = cli_load_data("train", &spec, &run->data, &run->is_idx);
    free(names);
    if (rc == SYN_EXIT_OK && o->input_shape)
        rc = set_input_shape(o, run->data);
    size_t n_out = run->net ? syn_net_n_outputs(run->net) : 0;
    /* Labels of a model without class names: ids 0 .. outputs - 1. */
    if (rc == SYN_EXIT_OK && n_out && syn_dataset_n_classes(run->data) > 0 &&
        syn_dataset_n_classes(run->data) < n_out &&
        syn_dataset_set_n_classes(run->data, n_out) != SYN_OK)
        rc = cli_runtime_error("train", "%s: its labels do not fit the %zu classes of %s",
                               o->data, n_out, o->init);
    return rc;
}

/* --init: the model to fine-tune, and a refusal of the options it makes
 * meaningless (the architecture, loss and scaling are the model's). */
static int load_init_model(int argc, char **argv, const train_options *o, train_run *run)
{
    train_options given;
    memset(&given, 0, sizeof given);
    given.activation = given.loss = given.scale = given.weight_init = INT_MIN;
    parse_train(argc, argv, &given);
    if (given.hidden || given.layers || given.activation != INT_MIN || given.loss != INT_MIN ||
        given.scale != INT_MIN || given.weight_init != INT_MIN)
        return cli_usage_error("train", "--init takes the layers, weights, loss and scaling "
                               "from %s: drop --hidden, --layers, --activation, --loss, "
                               "--scale and --weight-init",
                               o->init);
    syn_error err = {{0}};
    syn_status st = syn_net_load(o->init, &run->net, NULL, &err);
    return st == SYN_OK ? SYN_EXIT_OK : cli_library_error("train", st, &err, o->init);
}

/* The loaded model must take the data's features and give its targets. */
static int check_init_fits(const train_options *o, const train_run *run)
{
    size_t f = syn_dataset_n_features(run->data), t = syn_dataset_target_width(run->data);
    if (syn_net_n_inputs(run->net) != f || syn_net_n_outputs(run->net) != t)
        return cli_runtime_error("train", "%s takes %zu inputs and gives %zu outputs, but %s "
                                 "has %zu features and %zu targets", o->init,
                                 syn_net_n_inputs(run->net), syn_net_n_outputs(run->net),
                                 o->data, f, t);
    return SYN_EXIT_OK;
}

/* The test set is read like the training set, its labels mapped onto the
 * training set's classes. */
static int load_test_data(const train_options *o, train_run *run)
{
    cli_data_spec spec = {.data = o->test_data, .labels = o->test_labels, .target = o->target,
                          .delimiter = o->delimiter, .header = o->header,
                          .task = CLI_TASK_CLASSIFY, .default_targets = 1,
                          .class_names = (const char *const *)run->class_names,
                          .n_class_names = run->n_class_names,
                          .max_bytes = o->memory_limit, .strict = o->strict,
                          .encoding = syn_dataset_encoding(run->data)};
    if (!run->classify) {
        spec.task = CLI_TASK_REGRESS;
        spec.default_targets = syn_dataset_target_width(run->data);
        spec.class_names = NULL;
        spec.n_class_names = 0;
    }
    if (spec.encoding)
        spec.target = NULL; /* the encoding names the targets */
    int rc = cli_load_data("train", &spec, &run->test, NULL);
    size_t unseen = rc == SYN_EXIT_OK ? syn_dataset_n_unseen(run->test) : 0;
    if (unseen)
        fprintf(stderr, "synapse train: warning: %s: %zu field%s held a category not seen in "
                "training (encoded as all zeros; --strict makes this an error)\n",
                o->test_data, unseen, unseen == 1 ? "" : "s");
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

/* Bytes the loaded data set and the command's row arrays (training and
 * validation rows, the trainer's order) take. */
static size_t data_memory(const train_run *run)
{
    size_t n = syn_dataset_n_samples(run->data), f = syn_dataset_n_features(run->data);
    size_t t = syn_dataset_target_width(run->data);
    double bytes = (double)n * ((double)f * (run->is_idx ? 1.0 : 4.0) +
                                (run->classify ? 4.0 : 4.0 * (double)t) + 3.0 * sizeof(size_t));
    return bytes >= (double)SIZE_MAX ? SIZE_MAX : (size_t)bytes;
}

/* *sum += more; returns 0 on overflow. */
static int add_bytes(size_t *sum, size_t more)
{
    if (more > SIZE_MAX - *sum)
        return 0;
    *sum += more;
    return 1;
}

/* The optimizer options and the kinds that have each setting (bit k: kind
 * k); one that another kind would ignore is refused instead. */
#define KIND(k) (1u << (k))
typedef struct optim_option {
    const char *name;
    size_t at;      /* offsetof(train_options, ...) of its double (< 0: not given) */
    size_t desc_at; /* offsetof(syn_optim_desc, ...) of the float it sets */
    unsigned kinds;
} optim_option;

#define ADAM_FAMILY                                                                            \
    (KIND(SYN_OPTIM_ADAM) | KIND(SYN_OPTIM_ADAMW) | KIND(SYN_OPTIM_NADAM) | KIND(SYN_OPTIM_RADAM))
#define OPTIM_OPTION(name, member, field, kinds)                                               \
    {name, offsetof(train_options, member), offsetof(syn_optim_desc, field), kinds}
static const optim_option optim_options[] = {
    OPTIM_OPTION("--momentum", momentum, momentum,
                 KIND(SYN_OPTIM_MOMENTUM) | KIND(SYN_OPTIM_NESTEROV) | KIND(SYN_OPTIM_RMSPROP)),
    OPTIM_OPTION("--beta1", beta1, beta1, ADAM_FAMILY),
    OPTIM_OPTION("--beta2", beta2, beta2, ADAM_FAMILY),
    OPTIM_OPTION("--eps", eps, eps,
                 ADAM_FAMILY | KIND(SYN_OPTIM_RMSPROP) | KIND(SYN_OPTIM_ADAGRAD)),
    OPTIM_OPTION("--alpha", alpha, alpha, KIND(SYN_OPTIM_RMSPROP)),
    OPTIM_OPTION("--lr-decay", lr_decay, lr_decay, KIND(SYN_OPTIM_ADAGRAD)),
    OPTIM_OPTION("--initial-accumulator", initial_accumulator, initial_accumulator_value,
                 KIND(SYN_OPTIM_ADAGRAD)),
    OPTIM_OPTION("--momentum-decay", momentum_decay, momentum_decay, KIND(SYN_OPTIM_NADAM)),
};

/* The optimizer's settings: its defaults, then the options given. */
static int optim_settings(const train_options *o, syn_optim_desc *d)
{
    syn_optim_kind kind = (syn_optim_kind)o->optimizer;
    *d = syn_optim_defaults(kind);
    for (size_t i = 0; i < sizeof optim_options / sizeof optim_options[0]; i++) {
        const optim_option *op = &optim_options[i];
        double v = *(const double *)((const char *)o + op->at);
        if (v >= 0.0 && !(op->kinds & KIND(kind)))
            return cli_usage_error("train", "%s does not apply to --optimizer %s", op->name,
                                   syn_optim_name(kind));
        if (v >= 0.0)
            *(float *)((char *)d + op->desc_at) = (float)v;
    }
    if (o->centered && kind != SYN_OPTIM_RMSPROP)
        return cli_usage_error("train", "--centered applies to --optimizer rmsprop only");
    d->centered = o->centered != 0;
    syn_error err;
    if (syn_optim_validate(d, &err) != SYN_OK)
        return cli_usage_error("train", "%s", err.message);
    return SYN_EXIT_OK;
}

/* Refuses, before anything is allocated, a network that cannot exist or
 * that does not fit in the memory limit next to the data. */
static int check_network_memory(const train_options *o, const train_run *run,
                                const syn_net_desc *desc)
{
    size_t n = syn_dataset_n_samples(run->data);
    size_t batch = run->plan.batch == 0 || run->plan.batch > n ? n : run->plan.batch;
    size_t eval_batch = n < 1024 ? n : 1024;
    size_t need = 0, eval_ws = 0, bare = 0, one_arena = 0;
    syn_optim_kind kind = (syn_optim_kind)o->optimizer;
    syn_status st = syn_net_memory_estimate(desc, kind, batch, &need);
    /* The estimate counts the state arenas of the optimizer's defaults;
     * RMSprop with --momentum or --centered keeps one or two more, each the
     * size of a momentum buffer (an estimate with momentum less one
     * without). */
    syn_optim_desc chosen, defaults = syn_optim_defaults(kind);
    int rc = optim_settings(o, &chosen);
    if (rc != SYN_EXIT_OK)
        return rc;
    size_t extra = 0;
    if (syn_optim_state_arenas(&chosen) > syn_optim_state_arenas(&defaults))
        extra = syn_optim_state_arenas(&chosen) - syn_optim_state_arenas(&defaults);
    if (st == SYN_OK && extra > 0 &&
        (st = syn_net_memory_estimate(desc, SYN_OPTIM_MOMENTUM, 0, &one_arena)) == SYN_OK &&
        (st = syn_net_memory_estimate(desc, SYN_OPTIM_SGD, 0, &bare)) == SYN_OK &&
        (one_arena - bare > SIZE_MAX / extra || !add_bytes(&need, extra * (one_arena - bare))))
        st = SYN_ERR_OVERFLOW;
    if (st == SYN_OK)
        st = syn_net_memory_estimate_inference(desc, eval_batch, &eval_ws);
    if (st == SYN_OK)
        st = syn_net_memory_estimate(desc, SYN_OPTIM_SGD, 0, &bare);
    /* The validation workspace (inference only), and early stopping's copy
     * of the network. */
    if (st == SYN_OK &&
        (!add_bytes(&need, eval_ws) || (run->plan.stopping && !add_bytes(&need, bare))))
        st = SYN_ERR_OVERFLOW;
    if (st == SYN_ERR_OVERFLOW)
        return cli_runtime_error("train", "the network is too large: its size overflows this "
                                 "machine's address space (%s %s)",
                                 o->layers ? "--layers" : "--hidden",
                                 o->layers ? o->layers : run->plan.hidden);
    if (st != SYN_OK)
        return cli_library_error("train", st, NULL, "sizing the network");
    size_t limit = o->memory_limit, data = data_memory(run);
    if (limit == 0 || (need <= limit && data <= limit - need))
        return SYN_EXIT_OK;
    /* What the optimizer keeps, from the library's table. */
    char state[64];
    size_t arenas = syn_optim_state_arenas(&chosen);
    if (arenas == 0)
        snprintf(state, sizeof state, "no optimizer state");
    else
        snprintf(state, sizeof state, "%s state (%zu arena%s)", syn_optim_name(kind), arenas,
                 arenas == 1 ? "" : "s");
    char need_text[32], limit_text[32], data_text[32];
    cli_format_bytes(need_text, sizeof need_text, need);
    cli_format_bytes(limit_text, sizeof limit_text, limit);
    cli_format_bytes(data_text, sizeof data_text, data);
    if (need > limit)
        return cli_runtime_error("train", "the network needs %s (parameters, gradients, %s, "
                                 "workspace for batch %zu), more than --max-memory %s",
                                 need_text, state, batch, limit_text);
    return cli_runtime_error("train", "the network needs %s (parameters, gradients, %s, "
                             "workspace for batch %zu) and the data %s: more than "
                             "--max-memory %s", need_text, state, batch, data_text,
                             limit_text);
}

/* The largest power of 2 that is at most v (v >= 1). */
static size_t pow2_floor(size_t v)
{
    size_t p = 1;
    while (p <= v / 2)
        p *= 2;
    return p;
}

/* The defaults that depend on the data, and the rule that ends the run.
 * Small data needs optimizer steps, not epochs: the batch is about
 * STEPS_PER_EPOCH-th of the training rows, never below BATCH_MIN (Keras's
 * default, 32) nor above BATCH_MAX, so that tiny tables still get several
 * steps an epoch and large ones keep many. A validation split is taken
 * only when it gives VAL_MIN_ROWS rows, enough for its loss to rank epochs;
 * below that the training loss is monitored, as sklearn's MLP does. */
static void choose_plan(const train_options *o, train_run *run)
{
    train_plan *pl = &run->plan;
    size_t n = syn_dataset_n_samples(run->data);
    pl->auto_epochs = o->epochs == 0;
    pl->stopping = pl->auto_epochs || o->early_stop > 0;
    pl->plateau = o->schedule == SYN_SCHEDULE_PLATEAU;
    /* --epochs N without --early-stop trains on every row, as it always did;
     * a plateau schedule watches a validation loss when there is one. */
    pl->auto_val = o->val_split < 0.0 && (pl->stopping || pl->plateau);
    pl->val_fraction = o->val_split < 0.0 ? 0.0 : o->val_split;
    if (pl->auto_val)
        pl->val_fraction = floor((double)n * VAL_FRACTION + 0.5) >= VAL_MIN_ROWS ? VAL_FRACTION
                                                                                 : 0.0;
    pl->stratified = pl->auto_val && run->classify;
    size_t n_val = (size_t)floor((double)n * pl->val_fraction + 0.5);
    size_t n_train = n > n_val ? n - n_val : 1;
    if (o->batch >= 0) {
        pl->batch = (size_t)o->batch;
    } else {
        size_t b = pow2_floor(n_train / STEPS_PER_EPOCH ? n_train / STEPS_PER_EPOCH : 1);
        pl->batch = b < BATCH_MIN ? BATCH_MIN : b > BATCH_MAX ? BATCH_MAX : b;
    }
    pl->max_epochs = (size_t)(o->epochs ? o->epochs : o->max_epochs ? o->max_epochs
                                                                       : MAX_EPOCHS);
    /* Capacity grows with the data: on the tables of bench/tables/ (at most
     * 1800 rows) the two-layer net overfits (wine 1.000 -> 0.981, friedman1
     * R^2 0.92 -> 0.90), on Fashion-MNIST's 54000 the one-layer net
     * underfits (0.890 -> 0.898). */
    pl->hidden = o->hidden ? o->hidden : n_train >= WIDE_ROWS ? WIDE_HIDDEN : NARROW_HIDDEN;
    pl->schedule = o->schedule >= 0     ? (syn_schedule_kind)o->schedule
                   : pl->auto_epochs    ? SYN_SCHEDULE_CONSTANT
                                        : SYN_SCHEDULE_COSINE;
    pl->cut_lr = pl->auto_epochs && o->schedule < 0;
    /* MSE, Huber or L1 on a linear output: standardised targets, folded
     * back at the end (a fine-tuned model keeps the units it was trained
     * in); Huber's delta is then in units of each target's spread. */
    syn_loss loss = o->loss < 0 ? SYN_LOSS_MSE : (syn_loss)o->loss;
    pl->scale_targets = !run->classify && !o->init && !run->raw_targets &&
                        (loss == SYN_LOSS_MSE || loss == SYN_LOSS_HUBER || loss == SYN_LOSS_L1);
}

/* The stopping rule's settings (its counters start at zero). */
static syn_plateau plan_rule(const train_options *o, const train_plan *pl)
{
    syn_plateau r;
    memset(&r, 0, sizeof r);
    r.tol = o->tol >= 0.0 ? o->tol : pl->auto_epochs ? TOL : 0.0;
    /* With a plateau schedule the default patience lets it cut once (after
     * PATIENCE + 1 epochs, ReduceLROnPlateau's rule) and see the lower rate
     * for as long again before the run stops. */
    size_t patience = pl->plateau ? 2 * (PATIENCE + 1) : PATIENCE;
    r.patience = (size_t)(o->early_stop > 0 ? (size_t)o->early_stop : patience);
    r.lr_patience = pl->cut_lr ? r.patience / 2 : 0;
    r.lr_factor = LR_FACTOR;
    return r;
}

/* Copies the settings of `from` into `to`, keeping to's counters. */
static void set_rule_settings(syn_plateau *to, const syn_plateau *from)
{
    to->tol = from->tol;
    to->patience = from->patience;
    to->lr_patience = from->lr_patience;
    to->lr_factor = from->lr_factor;
}

/* The hidden layers from --layers, or from --hidden's widths. */
static int hidden_layers(const train_options *o, const train_run *run, syn_layer_desc **out,
                         size_t *n_hidden)
{
    syn_activation act = (syn_activation)o->activation; /* the names are by enum value */
    if (o->layers) {
        if (o->hidden)
            return cli_usage_error("train", "--layers and --hidden both describe the hidden "
                                   "layers: give one");
        char msg[256];
        if (!cli_parse_layers(o->layers, act, syn_dataset_target_width(run->data), out,
                              n_hidden, msg, sizeof msg))
            return cli_usage_error("train", "--layers: %s", msg);
        return SYN_EXIT_OK;
    }
    size_t *widths;
    if (!cli_parse_size_list(run->plan.hidden, &widths, n_hidden))
        return cli_usage_error("train", "--hidden expects widths from 1 to 16777216 like "
                               "256,128 (or none), got '%s'", run->plan.hidden);
    *out = calloc(*n_hidden + 1, sizeof **out);
    if (!*out) {
        free(widths);
        return cli_runtime_error("train", "out of memory");
    }
    for (size_t i = 0; i < *n_hidden; i++) {
        (*out)[i].units = widths[i];
        (*out)[i].activation = act;
    }
    free(widths);
    return SYN_EXIT_OK;
}

static int build_net(const train_options *o, train_run *run)
{
    syn_layer_desc *hidden = NULL;
    size_t n_hidden = 0;
    int rc = hidden_layers(o, run, &hidden, &n_hidden);
    if (rc != SYN_EXIT_OK)
        return rc;
    syn_layer_desc *layers = calloc(n_hidden + 1, sizeof *layers);
    if (!layers) {
        free(hidden);
        return cli_runtime_error("train", "out of memory");
    }
    if (n_hidden > 0)
        memcpy(layers, hidden, n_hidden * sizeof *layers);
    free(hidden);
    syn_loss loss;
    rc = output_layer(o, run, &layers[n_hidden], &loss);
    syn_net_desc desc = {.n_inputs = syn_dataset_n_features(run->data),
                         .n_layers = n_hidden + 1, .layers = layers, .loss = loss,
                         .reduction = SYN_REDUCTION_MEAN, .init = (syn_init)o->weight_init,
                         .seed = (uint64_t)o->seed};
    /* The data's shape (IDX images, --input-shape) is the network's. */
    size_t shape[3];
    if (syn_dataset_shape(run->data, shape) == SYN_OK && (shape[1] > 1 || shape[2] > 1))
        memcpy(desc.input_shape, shape, sizeof shape);
    syn_error err = {{0}};
    if (rc == SYN_EXIT_OK && syn_net_desc_check(&desc, &err) != SYN_OK)
        rc = cli_usage_error("train", "%s: %s", o->layers ? "--layers" : "the network",
                             err.message);
    if (rc == SYN_EXIT_OK)
        rc = check_network_memory(o, run, &desc);
    syn_status st = rc == SYN_EXIT_OK ? syn_net_create(&desc, &run->net) : SYN_OK;
    free(layers);
    if (rc == SYN_EXIT_OK && st != SYN_OK)
        rc = cli_library_error("train", st, NULL, "creating the network");
    return rc;
}

/* Standardises the regression targets on the training rows (validation
 * rows too, with the same statistics); finish_model folds the inverse into
 * the output layer. */
static syn_status scale_targets(train_run *run)
{
    size_t t = syn_dataset_target_width(run->data);
    run->n_targets = t;
    run->target_offset = malloc(t * sizeof(float));
    run->target_scale = malloc(t * sizeof(float));
    if (!run->target_offset || !run->target_scale)
        return SYN_ERR_OUT_OF_MEMORY;
    syn_status st = syn_dataset_fit_target_scaling(run->data, run->train_rows, run->n_train,
                                                   run->target_offset, run->target_scale);
    return st == SYN_OK ? syn_dataset_scale_targets(run->data, run->target_offset,
                                                    run->target_scale)
                        : st;
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
    const train_plan *pl = &run->plan;
    if (st == SYN_OK && pl->stratified)
        st = syn_split_rows_stratified(run->data, pl->val_fraction, (uint64_t)o->seed,
                                       run->train_rows, &run->n_train, run->val_rows,
                                       &run->n_val);
    else if (st == SYN_OK)
        st = syn_split_rows(n, pl->val_fraction, (uint64_t)o->seed, run->train_rows,
                            &run->n_train, run->val_rows, &run->n_val);
    if (st == SYN_ERR_INVALID_ARGUMENT) {
        free(offset);
        free(scale);
        return cli_runtime_error("train", "--val-split %g leaves no training rows out of %zu",
                                 pl->val_fraction, n);
    }
    if (st == SYN_OK && pl->scale_targets)
        st = scale_targets(run);
    /* A fine-tuned model keeps the scaling it was trained with. */
    int fit = o->scale != SYN_SCALE_NONE && !o->init;
    /* Imputation before scaling, both on the training rows only. A data set
     * read through a fine-tuned model's encoding has nothing to fit. */
    const syn_encoding *enc = syn_dataset_encoding(run->data);
    int learned = enc && !(o->init && syn_net_encoding(run->net));
    if (st == SYN_OK && learned)
        st = syn_dataset_fit_imputation(run->data, run->train_rows, run->n_train);
    if (st == SYN_OK && learned && !syn_net_encoding(run->net))
        st = syn_net_set_encoding(run->net, syn_dataset_encoding(run->data));
    if (st == SYN_OK && fit)
        st = syn_dataset_fit_scaling(run->data, run->train_rows, run->n_train,
                                     (syn_scale_kind)o->scale, offset, scale);
    /* A spread below ~3e-39 makes 1/spread overflow a float; the network
     * would refuse the scale as "invalid argument" without saying where. */
    for (size_t j = 0; st == SYN_OK && fit && j < f; j++)
        if (!isfinite(scale[j])) {
            const char *name = syn_dataset_feature_name(run->data, j);
            free(offset);
            free(scale);
            return cli_runtime_error("train", "%s: feature %zu%s%s%s: its values differ by so "
                                     "little that scaling them (--scale %s divides by their "
                                     "spread) overflows a float; drop or rescale the column, "
                                     "or use --scale none", o->data, j + 1,
                                     name ? " ('" : "", name ? name : "", name ? "')" : "",
                                     train_scale_names[o->scale]);
        }
    if (st == SYN_OK && fit)
        st = syn_net_set_input_scaling(run->net, offset, scale);
    free(offset);
    free(scale);
    if (st == SYN_OK && run->classify && !syn_net_n_class_names(run->net))
        st = syn_net_set_class_names(run->net, (const char *const *)run->class_names,
                                     run->n_class_names);
    return st == SYN_OK ? SYN_EXIT_OK : cli_library_error("train", st, NULL, "preparing data");
}

/* --class-weights balanced: sklearn's compute_class_weight("balanced"),
 * n_samples / (n_classes * count_c) over the training rows, which (as
 * sklearn) must hold every class. */
static int balanced_weights(const train_run *run, float *w, size_t k)
{
    size_t *count = calloc(k, sizeof *count);
    if (!count)
        return cli_runtime_error("train", "out of memory");
    for (size_t i = 0; i < run->n_train; i++) {
        uint32_t label = 0;
        if (syn_dataset_label(run->data, run->train_rows[i], &label) == SYN_OK && label < k)
            count[label]++;
    }
    int rc = SYN_EXIT_OK;
    for (size_t c = 0; c < k && rc == SYN_EXIT_OK; c++) {
        if (count[c] == 0) {
            const char *name = c < run->n_class_names ? run->class_names[c] : NULL;
            char shown[256];
            rc = cli_runtime_error("train", "--class-weights balanced: class %zu%s%s%s has no "
                                   "training row, so it has no weight (give the weights as a "
                                   "list)", c, name ? " ('" : "",
                                   name ? cli_printable(name, shown, sizeof shown) : "",
                                   name ? "')" : "");
            break;
        }
        w[c] = (float)((double)run->n_train / ((double)k * (double)count[c]));
    }
    free(count);
    return rc;
}

/* --class-weights W1,W2,...: one finite weight >= 0 per class, not all 0. */
static int listed_weights(const char *text, float *w, size_t k)
{
    const char *p = text;
    size_t n = 0;
    int any = 0;
    for (;;) {
        char *end;
        errno = 0;
        double v = strtod(p, &end);
        if (end == p || errno || !isfinite(v) || v < 0.0 || v > 3.4e38 ||
            (*end != ',' && *end != '\0'))
            return cli_usage_error("train", "--class-weights expects 'balanced' or %zu "
                                   "numbers >= 0 like 1,2.5,...; item %zu of '%s' is not one",
                                   k, n + 1, text);
        if (n < k)
            w[n] = (float)v;
        any |= v > 0.0;
        n++;
        if (*end == '\0')
            break;
        p = end + 1;
    }
    if (n != k)
        return cli_usage_error("train", "--class-weights lists %zu weights, but the data has "
                               "%zu classes", n, k);
    if (!any)
        return cli_usage_error("train", "--class-weights are all 0: no row would count");
    return SYN_EXIT_OK;
}

/* --label-smoothing, --class-weights and --huber-delta onto the net's loss
 * (after the split: balanced weights count the training rows). A resumed
 * run recomputes the same settings from the same options and rows. */
static int apply_loss_options(const train_options *o, train_run *run)
{
    syn_loss loss = syn_net_loss(run->net);
    if (o->label_smoothing == 0.0 && !o->class_weights && o->huber_delta == 0.0)
        return SYN_EXIT_OK;
    const char *name = (unsigned)loss < SYN_LOSS_COUNT_ ? train_loss_names[loss] : "?";
    if ((o->label_smoothing > 0.0 || o->class_weights) && loss != SYN_LOSS_CROSS_ENTROPY)
        return cli_usage_error("train", "%s applies to the cross-entropy loss (--loss ce, the "
                               "default for classes), not to this run's %s",
                               o->class_weights ? "--class-weights" : "--label-smoothing",
                               name);
    if (o->huber_delta > 0.0 && loss != SYN_LOSS_HUBER)
        return cli_usage_error("train", "--huber-delta applies to --loss huber, not to this "
                               "run's %s", name);
    if (o->label_smoothing >= 1.0)
        return cli_usage_error("train", "--label-smoothing must be below 1 (1 would leave no "
                               "target), got %g", o->label_smoothing);
    size_t k = syn_net_n_outputs(run->net);
    float *w = NULL;
    int rc = SYN_EXIT_OK;
    if (o->class_weights) {
        if (!(w = malloc(k * sizeof *w)))
            return cli_runtime_error("train", "out of memory");
        rc = !strcmp(o->class_weights, "balanced") ? balanced_weights(run, w, k)
                                                   : listed_weights(o->class_weights, w, k);
    }
    syn_loss_options lo = {.label_smoothing = (float)o->label_smoothing,
                           .class_weights = w, .n_class_weights = w ? k : 0,
                           .huber_delta = (float)o->huber_delta};
    syn_status st = rc == SYN_EXIT_OK ? syn_net_set_loss_options(run->net, &lo) : SYN_OK;
    free(w);
    if (rc == SYN_EXIT_OK && st != SYN_OK)
        rc = cli_library_error("train", st, NULL, "setting the loss options");
    return rc;
}

/* Whether OneCycleLR can cycle the optimizer's momentum (beta1 of the Adam
 * family): PyTorch raises for Adagrad, and would turn plain SGD into
 * momentum SGD; those (and RMSprop without momentum) run the cycle of the
 * rate alone, as cycle_momentum=False. */
static int has_momentum(const syn_optim_desc *d)
{
    switch (d->kind) {
    case SYN_OPTIM_MOMENTUM:
    case SYN_OPTIM_NESTEROV:
    case SYN_OPTIM_ADAM:
    case SYN_OPTIM_ADAMW:
    case SYN_OPTIM_NADAM:
    case SYN_OPTIM_RADAM: return 1;
    case SYN_OPTIM_RMSPROP: return d->momentum > 0.0f;
    case SYN_OPTIM_SGD:
    case SYN_OPTIM_ADAGRAD:
    case SYN_OPTIM_COUNT_: break;
    }
    return 0;
}

static int create_trainer(const train_options *o, train_run *run)
{
    syn_optim_desc optim;
    int rc = optim_settings(o, &optim);
    if (rc != SYN_EXIT_OK)
        return rc;
    if (o->lr > 0.0)
        optim.lr = (float)o->lr;
    if (o->weight_decay >= 0.0)
        optim.weight_decay = (float)o->weight_decay;
    else if (run->plan.auto_epochs && optim.weight_decay == 0.0f)
        optim.weight_decay = (float)(WEIGHT_PRIOR / (double)run->n_train);
    const train_plan *pl = &run->plan;
    syn_train_desc td = {.batch_size = pl->batch, .n_threads = (int)o->threads,
                         .seed = (uint64_t)o->seed};
    /* The schedule's own epochs follow the warmup (SequentialLR). */
    size_t warmup = (size_t)o->warmup, span = pl->max_epochs - warmup;
    td.schedule = syn_schedule_defaults(pl->schedule);
    td.schedule.warmup = warmup;
    td.schedule.t_max = span;
    td.schedule.step_size = span >= 3 ? span / 3 : 1;
    td.schedule.gamma = o->gamma >= 0.0                        ? (float)o->gamma
                        : pl->schedule == SYN_SCHEDULE_EXPONENTIAL ? (float)pow(0.01, 1.0 / span)
                                                                   : 0.1f;
    td.schedule.no_cycle_momentum = !has_momentum(&optim);
    syn_status st = syn_trainer_create(run->net, &optim, &td, &run->trainer);
    size_t eval_batch = 1024;
    if (st == SYN_OK)
        st = syn_workspace_create_inference(run->net, eval_batch, &run->eval_ws);
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
    free(run->target_offset);
    free(run->target_scale);
    cli_history_free(&run->history);
    train_progress_free(&run->progress);
}

/* One line on what was read: the task and why, the columns and inputs. */
static void describe_data(const train_options *o, const train_run *run)
{
    const syn_encoding *enc = syn_dataset_encoding(run->data);
    char task[64];
    if (run->classify)
        snprintf(task, sizeof task, "classification, %zu classes",
                 syn_dataset_n_classes(run->data));
    else
        snprintf(task, sizeof task, "regression, %zu target%s",
                 syn_dataset_target_width(run->data),
                 syn_dataset_target_width(run->data) == 1 ? "" : "s");
    fprintf(stderr, "synapse train: %s: %s", o->data, task);
    if (run->task_reason[0])
        fprintf(stderr, " (%s)", run->task_reason);
    if (enc) {
        size_t n = syn_encoding_n_columns(enc), categorical = 0;
        for (size_t i = 0; i < n; i++) {
            syn_column_info info;
            if (syn_encoding_column(enc, i, &info) == SYN_OK &&
                info.kind == SYN_COLUMN_CATEGORICAL)
                categorical++;
        }
        fprintf(stderr, "; %zu column%s (%zu categorical) -> %zu inputs", n, n == 1 ? "" : "s",
                categorical, syn_encoding_n_inputs(enc));
        if (syn_dataset_n_missing(run->data))
            fprintf(stderr, "; %zu missing field%s imputed", syn_dataset_n_missing(run->data),
                    syn_dataset_n_missing(run->data) == 1 ? "" : "s");
    }
    fputc('\n', stderr);
}

static int setup(int argc, char **argv, const train_options *o, train_run *run)
{
    int rc = o->init ? load_init_model(argc, argv, o, run) : SYN_EXIT_OK;
    if (rc == SYN_EXIT_OK)
        rc = load_training_data(o, run);
    if (rc == SYN_EXIT_OK) {
        run->classify = syn_dataset_n_classes(run->data) > 0;
        /* Softmax over one class is always 1: nothing would be learned, and
         * eval and predict would have no second class to name. */
        const char *only = syn_dataset_class_name(run->data, 0);
        char shown[256];
        if (syn_dataset_n_classes(run->data) == 1)
            rc = cli_runtime_error("train", "%s: every row has the same class%s%s%s; a "
                                   "classifier needs at least 2 classes (for a numeric "
                                   "target, try --task regress)", o->data, only ? " '" : "",
                                   only ? cli_printable(only, shown, sizeof shown) : "",
                                   only ? "'" : "");
        else if (!make_class_names(run))
            rc = cli_runtime_error("train", "out of memory");
    }
    if (rc == SYN_EXIT_OK && (o->checkpoint || o->resume) &&
        !data_fingerprint_of(run->data, &run->fingerprint))
        rc = cli_runtime_error("train", "out of memory");
    if (rc == SYN_EXIT_OK) {
        choose_plan(o, run);
        run->progress.plateau = plan_rule(o, &run->plan);
        rc = o->init ? check_init_fits(o, run) : build_net(o, run);
    }
    if (rc == SYN_EXIT_OK)
        rc = prepare_rows_and_scaling(o, run);
    if (rc == SYN_EXIT_OK)
        rc = apply_loss_options(o, run);
    /* After the imputation is fitted: the test set is read with it. */
    if (rc == SYN_EXIT_OK && o->test_data)
        rc = load_test_data(o, run);

    if (rc == SYN_EXIT_OK)
        rc = create_trainer(o, run);
    return rc;
}

/* ---------------------------------------------------------------- resume */

/* A checkpoint's contents while the run is set up from it. */
typedef struct resume_ctx {
    syn_net *net;
    syn_optimizer *opt;
    syn_trainer_state state;
    train_ckpt_data data;
} resume_ctx;

static int load_resume(int argc, char **argv, train_options *o, resume_ctx *ctx)
{
    train_options given;
    train_options_sentinels(&given);
    /* The same arguments parsed again can only succeed, silently. */
    parse_train(argc, argv, &given);
    void *block = NULL;
    size_t size = 0;
    syn_error err = {{0}};
    syn_status st = syn_checkpoint_load(o->resume, &ctx->net, &ctx->opt, &ctx->state, &block,
                                        &size, &err);
    if (st != SYN_OK)
        return cli_library_error("train", st, &err, o->resume);
    int ok = block && train_ckpt_decode(block, size, &ctx->data);
    free(block);
    if (!block)
        return cli_runtime_error("train", "%s: a checkpoint, but not one of synapse train (its "
                                 "run options are missing)", o->resume);
    if (!ok)
        return cli_runtime_error("train", "%s: its run options cannot be used: %s", o->resume,
                                 ctx->data.error);
    return train_options_merge(o, &given, &ctx->data.options);
}

/* A resume trains the way the checkpoint's run did: a sharded one (--shards
 * or mpirun, of any size) on the sharded path, whose sums do not depend on
 * the rank count; a plain one only on the plain path, since sharded sums
 * round otherwise and could not continue it bit for bit. A checkpoint
 * written before --shards was stored goes the command line's way. The
 * checkpoints the run writes record what it does. */
static int resume_sharding(train_options *o, const resume_ctx *ctx, const syn_comm **comm)
{
    if (ctx->data.has_shards && ctx->data.options.shards && !*comm) {
        cli_ranks_single(comm);
    } else if (ctx->data.has_shards && !ctx->data.options.shards && *comm) {
        return cli_usage_error("train", "--resume %s: the checkpoint was trained on one "
                               "process without --shards; %s sums the gradients another "
                               "way and could not continue it bit for bit (resume it "
                               "without mpirun and --shards)", o->resume,
                               o->shards ? "--shards" : "mpirun");
    }
    o->shards = *comm != NULL;
    return SYN_EXIT_OK;
}

/* Checks the data against the checkpoint and puts network, trainer and
 * progress back where the checkpoint left them. */
static int apply_resume(const train_options *o, train_run *run, resume_ctx *ctx)
{
    const data_fingerprint *a = &run->fingerprint, *b = &ctx->data.fingerprint;
    if (a->n_samples != b->n_samples || a->n_features != b->n_features ||
        a->target_width != b->target_width || a->n_classes != b->n_classes)
        return cli_runtime_error("train", "--resume %s: %s has %llu rows, %llu features and "
                                 "%llu targets, but the checkpoint was trained on %llu rows, "
                                 "%llu features and %llu targets", o->resume, o->data,
                                 (unsigned long long)a->n_samples,
                                 (unsigned long long)a->n_features,
                                 (unsigned long long)a->target_width,
                                 (unsigned long long)b->n_samples,
                                 (unsigned long long)b->n_features,
                                 (unsigned long long)b->target_width);
    if (a->hash != b->hash)
        return cli_runtime_error("train", "--resume %s: %s has the shape of the checkpoint's "
                                 "data but other values", o->resume, o->data);
    syn_status st = syn_net_copy_params(run->net, ctx->net);
    /* A regression's checkpoint holds the model in the data's units and,
     * for the run, the parameters as trained. */
    if (st == SYN_OK && (ctx->data.trained || run->plan.scale_targets)) {
        size_t n_params = 0;
        float *params = syn_net_params(run->net, &n_params);
            if (ctx->data.n_trained != n_params || !run->plan.scale_targets)
            return cli_runtime_error("train", "--resume %s: its trained parameters do not fit "
                                     "this run (a regression's checkpoint stores them)",
                                     o->resume);
        memcpy(params, ctx->data.trained, n_params * sizeof(float));
    }
    if (st == SYN_OK)
        st = syn_trainer_restore(run->trainer, &ctx->state, ctx->opt);
    /* The rate as the stopping rule's cuts left it. */
    if (st == SYN_OK)
        st = syn_trainer_set_base_lr(run->trainer, ctx->state.base_lr);
    if (st != SYN_OK)
        return cli_runtime_error("train", "--resume %s: the checkpoint does not fit this run's "
                                 "network or trainer (%s)", o->resume, syn_strerror(st));
    train_progress *p = &ctx->data.progress;
    if (p->n_results != ctx->state.epochs_done)
        return cli_runtime_error("train", "--resume %s: it records %zu finished epochs but its "
                                 "trainer %llu", o->resume, p->n_results,
                                 (unsigned long long)ctx->state.epochs_done);
    if (p->have_best) {
        if (ctx->data.n_best != syn_net_param_count(run->net))
            return cli_runtime_error("train", "--resume %s: its best weights do not fit the "
                                     "network", o->resume);
        if (syn_net_clone(run->net, &run->best) != SYN_OK)
            return cli_runtime_error("train", "out of memory");
        memcpy(syn_net_params(run->best, NULL), ctx->data.best,
               ctx->data.n_best * sizeof(float));
    }
    syn_plateau rule = run->progress.plateau;
    run->progress = *p;
    set_rule_settings(&run->progress.plateau, &rule);
    memset(p, 0, sizeof *p);
    size_t cap = run->plan.max_epochs;
    if (!o->quiet && ctx->state.epochs_done >= (uint64_t)cap)
        fprintf(stderr, "resuming %s: all %zu epochs are done\n", o->resume, cap);
    else if (!o->quiet)
        fprintf(stderr, "resuming %s at epoch %llu/%zu, batch %llu\n", o->resume,
                (unsigned long long)ctx->state.epochs_done + 1, cap,
                (unsigned long long)ctx->state.batches_done + 1);
    return SYN_EXIT_OK;
}

/* An MPI rank other than 0 trains as rank 0 does but says and writes
 * nothing: rank 0 prints, and writes the model, log, plot, report and
 * checkpoints (errors still reach stderr, tagged with the rank). */
static void silence_rank(train_options *o)
{
    o->quiet = 2;
    o->log = o->plot = o->report = o->checkpoint = NULL;
    o->checkpoint_every = 0;
    o->no_output = 1;
    if (!freopen("/dev/null", "w", stdout))
        fclose(stdout);
}

int cmd_train(int argc, char **argv)
{
    train_options o;
    train_options_defaults(&o);
    cli_parse_result parsed = parse_train(argc, argv, &o);
    if (parsed != CLI_PARSED)
        return parsed == CLI_HELP ? SYN_EXIT_OK : SYN_EXIT_USAGE;
    const syn_comm *comm = NULL;
    int rc = cli_ranks_start(o.shards, o.rank_timeout, &comm);
    if (rc != SYN_EXIT_OK)
        return cli_ranks_end(rc);
    o.shards = comm != NULL; /* what checkpoints record: mpirun is sharded */
    resume_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    if (o.resume)
        rc = load_resume(argc, argv, &o, &ctx);
    if (rc == SYN_EXIT_OK && o.resume)
        rc = resume_sharding(&o, &ctx, &comm);
    if (rc == SYN_EXIT_OK && comm && comm->rank != 0)
        silence_rank(&o);
    if (rc == SYN_EXIT_OK)
        rc = cli_memory_limit("train", o.max_memory, &o.memory_limit);
    if (rc == SYN_EXIT_OK)
        rc = check_train_options(&o);
    train_run run;
    memset(&run, 0, sizeof run);
    /* A checkpoint written before the targets were standardised resumes
     * as it was trained. */
    run.raw_targets = o.resume && ctx.data.version < 3;
    run.argc = argc;
    run.argv = argv;
    struct timespec started, done;
    clock_gettime(CLOCK_MONOTONIC, &started);
    if (rc == SYN_EXIT_OK)
        rc = setup(argc, argv, &o, &run);
    if (rc == SYN_EXIT_OK && o.resume)
        rc = apply_resume(&o, &run, &ctx);
    clock_gettime(CLOCK_MONOTONIC, &done);
    run.load_seconds = (double)(done.tv_sec - started.tv_sec) +
                       1e-9 * (double)(done.tv_nsec - started.tv_nsec);
    syn_net_free(ctx.net);
    syn_optimizer_free(ctx.opt);
    ctx.net = NULL;
    ctx.opt = NULL;
    if (rc == SYN_EXIT_OK && comm)
        rc = cli_ranks_check_data(comm, &o, run.data);
    if (rc == SYN_EXIT_OK && comm) {
        syn_status st = syn_trainer_set_comm(run.trainer, comm);
        if (st != SYN_OK)
            rc = cli_library_error("train", st, NULL, "sharding the batches");
    }
    if (rc == SYN_EXIT_OK && !o.quiet)
        describe_data(&o, &run);
    if (rc == SYN_EXIT_OK)
        rc = train_loop(&o, &run);
    free_run(&run);
    /* Last: o's strings may point into the decoded checkpoint. */
    train_ckpt_data_free(&ctx.data);
    return cli_ranks_end(rc);
}
