/* test_checkpoint.c - training checkpoints at the library level: a run
 * interrupted at EVERY batch boundary (mid-epoch and at epoch ends), saved
 * with syn_checkpoint_save, loaded with syn_checkpoint_load into a fresh
 * network and trainer and continued, ends with parameters bit-for-bit equal
 * to those of the uninterrupted run, for several optimizers, losses and
 * batch sizes; the epoch statistics of a resumed epoch are the same bits;
 * a checkpoint reads as a plain model; bad resumes are refused; a
 * divergence in a resumed epoch rolls back to the resume point. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "synapse.h"

#define N_ROWS 37
#define N_FEATURES 5
#define N_CLASSES 3
#define N_EPOCHS 3

static char tmp_dir[] = "/tmp/syn_test_ckpt_XXXXXX";
static char ckpt_path[600];

/* One configuration of a run. */
typedef struct config {
    syn_optim_kind optim;
    syn_loss loss;
    syn_reduction reduction;
    size_t batch;
    float clip;
    int no_shuffle;
} config;

static syn_dataset *make_data(int regression)
{
    float x[N_ROWS * N_FEATURES], y[N_ROWS * 2];
    uint32_t labels[N_ROWS];
    syn_rng rng;
    syn_rng_seed(&rng, 99);
    for (size_t i = 0; i < N_ROWS; i++) {
        double s = 0.0;
        for (size_t j = 0; j < N_FEATURES; j++) {
            x[i * N_FEATURES + j] = (float)syn_rng_normal(&rng);
            s += x[i * N_FEATURES + j] * (double)(j + 1);
        }
        labels[i] = (uint32_t)(s > 1.0 ? 2 : s > -1.0 ? 1 : 0);
        y[i * 2] = (float)(0.3 * s);
        y[i * 2 + 1] = (float)(s * s * 0.1);
    }
    syn_dataset *ds = NULL;
    syn_status st = regression ? syn_dataset_from_floats(x, N_ROWS, N_FEATURES, y, 2, &ds)
                               : syn_dataset_from_labels(x, N_ROWS, N_FEATURES, labels,
                                                         N_CLASSES, &ds);
    return st == SYN_OK ? ds : NULL;
}

static syn_net *make_net(const config *c)
{
    syn_layer_desc layers[3] = {{.units = 8, .activation = SYN_ACT_TANH},
                                {.units = 6, .activation = SYN_ACT_RELU},
                                {.units = N_CLASSES, .activation = SYN_ACT_SOFTMAX}};
    if (c->loss == SYN_LOSS_MSE) {
        layers[2].units = 2;
        layers[2].activation = SYN_ACT_LINEAR;
    }
    syn_net_desc d = {.n_inputs = N_FEATURES, .n_layers = 3, .layers = layers,
                      .loss = c->loss, .reduction = c->reduction, .seed = 5};
    syn_net *net = NULL;
    return syn_net_create(&d, &net) == SYN_OK ? net : NULL;
}

static syn_optim_desc optim_of(const config *c)
{
    syn_optim_desc o = syn_optim_defaults(c->optim);
    o.lr = 0.01f;
    if (c->optim == SYN_OPTIM_RMSPROP) { /* all three arenas */
        o.momentum = 0.5f;
        o.centered = 1;
    }
    if (c->optim == SYN_OPTIM_ADAGRAD) {
        o.lr_decay = 0.01f;
        o.initial_accumulator_value = 0.1f;
    }
    return o;
}

static syn_train_desc train_of(const config *c)
{
    syn_train_desc t = {.batch_size = c->batch, .clip_norm = c->clip, .seed = 17,
                        .no_shuffle = c->no_shuffle, .n_threads = 1};
    t.schedule.kind = SYN_SCHEDULE_COSINE;
    t.schedule.t_max = N_EPOCHS;
    return t;
}

/* Interrupts the run after `stop_after` batches (counted over all epochs):
 * writes a checkpoint, as a callback of a real program would, and stops. */
typedef struct interrupt {
    syn_trainer *tr;
    size_t seen, stop_after;
    int saved;
    syn_status save_status;
} interrupt;

static int on_batch(void *user, const syn_batch_report *r)
{
    interrupt *in = user;
    (void)r;
    if (++in->seen != in->stop_after)
        return 0;
    const char blob[] = "user block";
    syn_error err = {{0}};
    in->save_status = syn_checkpoint_save(in->tr, blob, sizeof blob, ckpt_path, &err);
    if (in->save_status != SYN_OK)
        fprintf(stderr, "save: %s\n", err.message);
    in->saved = 1;
    return 1;
}

/* Runs epochs until N_EPOCHS are done; stats[e] receives each epoch's. */
static syn_status run_epochs(syn_trainer *tr, const syn_dataset *ds, interrupt *in,
                             syn_epoch_stats stats[N_EPOCHS])
{
    while (syn_trainer_epochs_done(tr) < N_EPOCHS) {
        syn_epoch_stats s;
        size_t e = syn_trainer_epochs_done(tr);
        syn_status st = syn_trainer_epoch(tr, ds, NULL, 0, in ? on_batch : NULL, in, &s);
        if (st != SYN_OK)
            return st;
        if (in && in->saved)
            return SYN_OK;
        stats[e] = s;
    }
    return SYN_OK;
}

static int same_stats(const syn_epoch_stats *a, const syn_epoch_stats *b)
{
    return a->epoch == b->epoch && a->batches == b->batches && a->samples == b->samples &&
           memcmp(&a->loss, &b->loss, sizeof a->loss) == 0 &&
           memcmp(&a->accuracy, &b->accuracy, sizeof a->accuracy) == 0 && a->lr == b->lr;
}

/* Resumes from ckpt_path and finishes; returns the network (caller frees). */
static syn_net *resume(const config *c, const syn_dataset *ds, syn_epoch_stats stats[N_EPOCHS],
                       size_t *first_epoch)
{
    syn_net *net = NULL;
    syn_optimizer *opt = NULL;
    syn_trainer_state state;
    void *user = NULL;
    size_t user_size = 0;
    syn_error err = {{0}};
    syn_status st = syn_checkpoint_load(ckpt_path, &net, &opt, &state, &user, &user_size, &err);
    CHECK(st == SYN_OK, "load: %s", err.message);
    if (st != SYN_OK)
        return NULL;
    CHECK(user_size == sizeof "user block" && !memcmp(user, "user block", user_size),
          "user block comes back (%zu bytes)", user_size);
    free(user);
    syn_optim_desc od = syn_optimizer_desc(opt);
    od.lr = state.base_lr;
    syn_trainer *tr = NULL;
    st = syn_trainer_create(net, &od, &state.train, &tr);
    if (st == SYN_OK)
        st = syn_trainer_restore(tr, &state, opt);
    CHECK(st == SYN_OK, "create and restore: %s", syn_strerror(st));
    *first_epoch = (size_t)state.epochs_done;
    if (st == SYN_OK)
        st = run_epochs(tr, ds, NULL, stats);
    CHECK(st == SYN_OK, "resumed epochs: %s", syn_strerror(st));
    syn_trainer_free(tr);
    syn_optimizer_free(opt);
    (void)c;
    return net;
}

/* The uninterrupted run, then one interrupted run per batch boundary. */
static void check_config(const config *c, const char *name)
{
    syn_dataset *ds = make_data(c->loss == SYN_LOSS_MSE);
    syn_net *ref = make_net(c);
    syn_trainer *tr = NULL;
    syn_optim_desc od = optim_of(c);
    syn_train_desc td = train_of(c);
    syn_epoch_stats ref_stats[N_EPOCHS];
    CHECK(ds && ref && syn_trainer_create(ref, &od, &td, &tr) == SYN_OK, "%s: setup", name);
    if (!tr) {
        syn_net_free(ref);
        syn_dataset_free(ds);
        return;
    }
    CHECK_OK(run_epochs(tr, ds, NULL, ref_stats));
    syn_trainer_free(tr);
    size_t batch = c->batch == 0 || c->batch > N_ROWS ? N_ROWS : c->batch;
    size_t per_epoch = (N_ROWS + batch - 1) / batch, total = per_epoch * N_EPOCHS;
    size_t n_params = syn_net_param_count(ref), equal = 0;
    for (size_t k = 1; k <= total; k++) {
        syn_net *net = make_net(c);
        tr = NULL;
        interrupt in = {.stop_after = k};
        syn_epoch_stats stats[N_EPOCHS];
        if (!net || syn_trainer_create(net, &od, &td, &tr) != SYN_OK) {
            CHECK(0, "%s: setup of run %zu", name, k);
            syn_net_free(net);
            continue;
        }
        in.tr = tr;
        syn_status st = run_epochs(tr, ds, &in, stats);
        CHECK(st == SYN_OK && in.saved && in.save_status == SYN_OK, "%s: run to batch %zu",
              name, k);
        syn_trainer_free(tr);
        syn_net_free(net);
        size_t first = 0;
        syn_net *done = resume(c, ds, stats, &first);
        if (!done)
            continue;
        int same = !memcmp(syn_net_params_const(done, NULL), syn_net_params_const(ref, NULL),
                           n_params * sizeof(float));
        equal += same;
        CHECK(same, "%s: resumed after batch %zu of %zu: parameters differ", name, k, total);
        for (size_t e = first; e < N_EPOCHS; e++)
            CHECK(same_stats(&stats[e], &ref_stats[e]),
                  "%s: batch %zu: epoch %zu stats differ (loss %.17g vs %.17g)", name, k, e,
                  stats[e].loss, ref_stats[e].loss);
        syn_net_free(done);
    }
    printf("%s: %zu of %zu resumes bit-identical\n", name, equal, total);
    syn_net_free(ref);
    syn_dataset_free(ds);
}

/* A checkpoint is a model file; bad resumes are refused with the right
 * status. */
static void check_refusals(void)
{
    config c = {SYN_OPTIM_ADAM, SYN_LOSS_CROSS_ENTROPY, SYN_REDUCTION_MEAN, 5, 0, 0};
    syn_dataset *ds = make_data(0);
    syn_net *net = make_net(&c);
    syn_trainer *tr = NULL;
    syn_optim_desc od = optim_of(&c);
    syn_train_desc td = train_of(&c);
    CHECK_OK(syn_trainer_create(net, &od, &td, &tr));
    interrupt in = {.tr = tr, .stop_after = 3};
    syn_epoch_stats stats[N_EPOCHS];
    CHECK_OK(run_epochs(tr, ds, &in, stats));

    /* As a model: syn_net_load and the same parameters. */
    syn_net *as_model = NULL;
    syn_optimizer *opt = NULL;
    syn_error err = {{0}};
    CHECK(syn_net_load(ckpt_path, &as_model, &opt, &err) == SYN_OK, "as model: %s",
          err.message);
    CHECK(as_model && opt && !memcmp(syn_net_params_const(as_model, NULL),
                                     syn_net_params_const(net, NULL),
                                     syn_net_param_count(net) * sizeof(float)),
          "a checkpoint loads as the model it holds");
    CHECK(opt && syn_optimizer_steps(opt) == 3, "optimizer steps saved");

    syn_trainer_state st;
    syn_net *n2 = NULL;
    syn_optimizer *o2 = NULL;
    CHECK_OK(syn_checkpoint_load(ckpt_path, &n2, &o2, &st, NULL, NULL, &err));
    CHECK(st.batches_done == 3 && st.n_rows == N_ROWS && st.samples == 15 &&
              st.epochs_done == 0 && st.base_lr == od.lr && st.train.batch_size == 5,
          "the position moved before the callback: %llu batches, %llu samples",
          (unsigned long long)st.batches_done, (unsigned long long)st.samples);
    /* Another batch size mid-epoch: STATE. */
    syn_train_desc other = td;
    other.batch_size = 6;
    syn_trainer *t2 = NULL;
    CHECK_OK(syn_trainer_create(n2, &od, &other, &t2));
    CHECK(syn_trainer_restore(t2, &st, o2) == SYN_ERR_STATE, "another batch size refused");
    syn_trainer_free(t2);
    /* Another optimizer kind: SHAPE. */
    syn_optim_desc sgd = syn_optim_defaults(SYN_OPTIM_MOMENTUM);
    CHECK_OK(syn_trainer_create(n2, &sgd, &td, &t2));
    CHECK(syn_trainer_restore(t2, &st, o2) == SYN_ERR_SHAPE, "another optimizer refused");
    syn_trainer_free(t2);
    /* An inconsistent state: INVALID_ARGUMENT. */
    CHECK_OK(syn_trainer_create(n2, &od, &td, &t2));
    syn_trainer_state bad = st;
    bad.batches_done = 1000;
    CHECK(syn_trainer_restore(t2, &bad, o2) == SYN_ERR_INVALID_ARGUMENT, "bad position");
    bad = st;
    bad.correct = bad.samples + 1;
    CHECK(syn_trainer_restore(t2, &bad, o2) == SYN_ERR_INVALID_ARGUMENT, "bad counts");
    /* Resuming the epoch on other rows: STATE. */
    CHECK_OK(syn_trainer_restore(t2, &st, o2));
    size_t rows[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    CHECK(syn_trainer_epoch(t2, ds, rows, 10, NULL, NULL, NULL) == SYN_ERR_STATE,
          "a mid-epoch state continues on the same rows only");
    syn_trainer_free(t2);
    syn_net_free(n2);
    syn_optimizer_free(o2);

    /* A plain model is not a checkpoint. */
    char model_path[700];
    snprintf(model_path, sizeof model_path, "%s/plain.syn", tmp_dir);
    CHECK_OK(syn_net_save(net, NULL, model_path, NULL));
    n2 = NULL;
    o2 = NULL;
    CHECK(syn_checkpoint_load(model_path, &n2, &o2, &st, NULL, NULL, &err) == SYN_ERR_FORMAT &&
              strstr(err.message, "not a checkpoint"),
          "plain model refused: %s", err.message);
    CHECK(!n2 && !o2, "nothing returned on failure");
    CHECK(syn_checkpoint_load(NULL, &n2, &o2, &st, NULL, NULL, &err) ==
              SYN_ERR_INVALID_ARGUMENT, "NULL path");
    CHECK(syn_checkpoint_save(NULL, NULL, 0, ckpt_path, &err) == SYN_ERR_INVALID_ARGUMENT,
          "NULL trainer");
    CHECK(syn_checkpoint_save(tr, NULL, 5, ckpt_path, &err) == SYN_ERR_INVALID_ARGUMENT,
          "NULL user data with a size");
    /* Truncated checkpoint: the model file's own error. */
    FILE *fp = fopen(ckpt_path, "r+b");
    if (fp) {
        CHECK(ftruncate(fileno(fp), 100) == 0, "truncate");
        fclose(fp);
    }
    CHECK(syn_checkpoint_load(ckpt_path, &n2, &o2, &st, NULL, NULL, &err) == SYN_ERR_TRUNCATED,
          "truncated checkpoint: %s", err.message);

    syn_net_free(as_model);
    syn_optimizer_free(opt);
    syn_trainer_free(tr);
    syn_net_free(net);
    syn_dataset_free(ds);
}

/* A divergence in a resumed epoch puts the parameters and position back to
 * the resume point; at an epoch boundary, back to the epoch start. */
static void check_divergence_rollback(void)
{
    config c = {SYN_OPTIM_SGD, SYN_LOSS_MSE, SYN_REDUCTION_MEAN, 4, 0, 0};
    syn_dataset *ds = make_data(1);
    syn_net *net = make_net(&c);
    syn_optim_desc od = syn_optim_defaults(SYN_OPTIM_SGD);
    od.lr = 1e30f;
    syn_train_desc td = train_of(&c);
    td.schedule.kind = SYN_SCHEDULE_CONSTANT;
    syn_trainer *tr = NULL;
    CHECK_OK(syn_trainer_create(net, &od, &td, &tr));
    syn_trainer_state mid = {0};
    mid.batches_done = 2;
    mid.n_rows = N_ROWS;
    mid.samples = 8;
    mid.loss_sum = 1.5;
    mid.train = td;
    syn_rng_seed(&mid.rng, 3);
    CHECK_OK(syn_trainer_restore(tr, &mid, NULL));
    size_t n = syn_net_param_count(net);
    float *before = malloc(n * sizeof(float));
    memcpy(before, syn_net_params_const(net, NULL), n * sizeof(float));
    syn_epoch_stats s;
    syn_status st = syn_trainer_epoch(tr, ds, NULL, 0, NULL, NULL, &s);
    CHECK(st == SYN_ERR_DIVERGED, "lr 1e30 diverges: %s", syn_strerror(st));
    CHECK(s.batches >= 2, "the failing batch is after the resume point (%zu)", s.batches);
    CHECK(!memcmp(before, syn_net_params_const(net, NULL), n * sizeof(float)),
          "parameters back at the resume point");
    syn_trainer_state after;
    CHECK_OK(syn_trainer_get_state(tr, &after));
    CHECK(after.batches_done == 2 && after.samples == 8 && after.loss_sum == 1.5 &&
              !memcmp(&after.rng, &mid.rng, sizeof mid.rng),
          "position back at the resume point (%llu batches)",
          (unsigned long long)after.batches_done);
    free(before);
    syn_trainer_free(tr);
    syn_net_free(net);
    syn_dataset_free(ds);
}

int main(void)
{
    if (!mkdtemp(tmp_dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(ckpt_path, sizeof ckpt_path, "%s/run.ckpt", tmp_dir);
    const config configs[] = {
        {SYN_OPTIM_ADAM, SYN_LOSS_CROSS_ENTROPY, SYN_REDUCTION_MEAN, 5, 0.0f, 0},
        {SYN_OPTIM_MOMENTUM, SYN_LOSS_CROSS_ENTROPY, SYN_REDUCTION_SUM, 8, 1.0f, 0},
        {SYN_OPTIM_ADAMW, SYN_LOSS_MSE, SYN_REDUCTION_MEAN, 6, 0.5f, 0},
        {SYN_OPTIM_NESTEROV, SYN_LOSS_MSE, SYN_REDUCTION_MEAN, 4, 0.0f, 1},
        {SYN_OPTIM_SGD, SYN_LOSS_CROSS_ENTROPY, SYN_REDUCTION_MEAN, 1, 0.0f, 0},
        {SYN_OPTIM_RMSPROP, SYN_LOSS_CROSS_ENTROPY, SYN_REDUCTION_MEAN, 7, 0.0f, 0},
        {SYN_OPTIM_ADAGRAD, SYN_LOSS_MSE, SYN_REDUCTION_MEAN, 9, 0.0f, 0},
        {SYN_OPTIM_NADAM, SYN_LOSS_CROSS_ENTROPY, SYN_REDUCTION_SUM, 6, 1.0f, 0},
        {SYN_OPTIM_RADAM, SYN_LOSS_MSE, SYN_REDUCTION_MEAN, 5, 0.0f, 0},
    };
    const char *names[] = {"adam/ce/batch 5", "momentum/ce-sum/batch 8 clip",
                           "adamw/mse/batch 6 clip", "nesterov/mse/no shuffle",
                           "sgd/ce/batch 1", "rmsprop centered momentum/ce/batch 7",
                           "adagrad lr_decay/mse/batch 9", "nadam/ce-sum/batch 6 clip",
                           "radam/mse/batch 5"};
    for (size_t i = 0; i < sizeof configs / sizeof configs[0]; i++)
        check_config(&configs[i], names[i]);
    check_refusals();
    check_divergence_rollback();

    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmp_dir);
    return check_finish();
}
