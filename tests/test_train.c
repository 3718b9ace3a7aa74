/* test_train.c - the trainer: full-batch, mini-batch and per-sample epochs,
 * seeded shuffling, schedules, clipping, divergence, early stop from the
 * callback, and the metrics of syn_evaluate on hand-checked cases. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "synapse.h"

static const float xor_x[8] = {0, 0, 0, 1, 1, 0, 1, 1};
static const float xor_y[4] = {0, 1, 1, 0};

static syn_net *xor_net(uint64_t seed)
{
    syn_layer_desc layers[2] = {{.units = 8, .activation = SYN_ACT_TANH},
                                {.units = 1, .activation = SYN_ACT_SIGMOID}};
    syn_net_desc desc = {.n_inputs = 2, .n_layers = 2, .layers = layers,
                         .loss = SYN_LOSS_BCE, .seed = seed};
    syn_net *net = NULL;
    syn_net_create(&desc, &net);
    return net;
}

static void test_xor_full_batch(void)
{
    syn_net *net = xor_net(3);
    syn_dataset *ds = NULL;
    CHECK_OK(syn_dataset_from_floats(xor_x, 4, 2, xor_y, 1, &ds));
    syn_optim_desc adam = syn_optim_defaults(SYN_OPTIM_ADAM);
    adam.lr = 0.05f;
    syn_train_desc td = {.batch_size = 0, .seed = 1};
    syn_trainer *tr = NULL;
    CHECK_OK(syn_trainer_create(net, &adam, &td, &tr));
    syn_epoch_stats st = {0};
    for (int e = 0; e < 400; e++)
        CHECK_OK(syn_trainer_epoch(tr, ds, NULL, 0, NULL, NULL, &st));
    CHECK(st.batches == 1 && st.samples == 4, "full batch: one batch of 4");
    CHECK(syn_optimizer_steps(syn_trainer_optimizer(tr)) == 400, "400 steps");
    CHECK(st.loss < 0.05, "XOR learned: loss %g", st.loss);
    syn_workspace *ws = NULL;
    const float *out;
    CHECK_OK(syn_workspace_create(net, 4, &ws));
    CHECK_OK(syn_forward(net, ws, xor_x, 4, &out));
    for (int i = 0; i < 4; i++)
        CHECK((out[i] > 0.5f) == (xor_y[i] > 0.5f), "XOR sample %d -> %g", i, out[i]);
    syn_workspace_free(ws);
    syn_trainer_free(tr);
    syn_dataset_free(ds);
    syn_net_free(net);
}

/* Trains 3 epochs and returns a copy of the parameters. */
static float *train_copy(uint64_t seed, size_t batch, int no_shuffle, float clip, size_t *n,
                         size_t *steps)
{
    syn_net *net = xor_net(9);
    syn_dataset *ds = NULL;
    syn_dataset_from_floats(xor_x, 4, 2, xor_y, 1, &ds);
    syn_optim_desc sgd = syn_optim_defaults(SYN_OPTIM_MOMENTUM);
    sgd.lr = 0.5f;
    syn_train_desc td = {.batch_size = batch, .seed = seed, .no_shuffle = no_shuffle,
                         .clip_norm = clip};
    syn_trainer *tr = NULL;
    CHECK_OK(syn_trainer_create(net, &sgd, &td, &tr));
    for (int e = 0; e < 3; e++)
        CHECK_OK(syn_trainer_epoch(tr, ds, NULL, 0, NULL, NULL, NULL));
    *steps = (size_t)syn_optimizer_steps(syn_trainer_optimizer(tr));
    float *p = syn_net_params(net, n), *copy = malloc(*n * sizeof *copy);
    memcpy(copy, p, *n * sizeof *copy);
    syn_trainer_free(tr);
    syn_dataset_free(ds);
    syn_net_free(net);
    return copy;
}

static void test_batching_and_shuffle(void)
{
    size_t n, steps;
    float *a = train_copy(1, 1, 0, 0, &n, &steps);
    CHECK(steps == 12, "per-sample: 4 steps an epoch, got %zu", steps);
    float *b = train_copy(1, 1, 0, 0, &n, &steps);
    CHECK(memcmp(a, b, n * sizeof *a) == 0, "same seed, same result");
    float *c = train_copy(2, 1, 0, 0, &n, &steps);
    CHECK(memcmp(a, c, n * sizeof *a) != 0, "another seed shuffles differently");
    float *d = train_copy(1, 3, 0, 0, &n, &steps);
    CHECK(steps == 6, "batch 3 of 4 rows: 2 steps an epoch, got %zu", steps);
    float *e = train_copy(1, 1, 1, 0, &n, &steps);
    float *f = train_copy(2, 1, 1, 0, &n, &steps);
    CHECK(memcmp(e, f, n * sizeof *e) == 0, "no shuffle: the seed does not matter");
    float *g = train_copy(1, 1, 0, 1e-3f, &n, &steps);
    CHECK(memcmp(a, g, n * sizeof *a) != 0, "clipping changes the steps");
    free(a), free(b), free(c), free(d), free(e), free(f), free(g);
}

/* With no shuffle and batch 1, an epoch equals trainer steps in row order. */
static void test_epoch_equals_steps(void)
{
    syn_net *n1 = xor_net(4), *n2 = xor_net(4);
    syn_dataset *ds = NULL;
    syn_dataset_from_floats(xor_x, 4, 2, xor_y, 1, &ds);
    syn_optim_desc adam = syn_optim_defaults(SYN_OPTIM_ADAM);
    syn_train_desc td = {.batch_size = 1, .no_shuffle = 1};
    syn_trainer *t1 = NULL, *t2 = NULL;
    syn_trainer_create(n1, &adam, &td, &t1);
    syn_trainer_create(n2, &adam, &td, &t2);
    CHECK_OK(syn_trainer_epoch(t1, ds, NULL, 0, NULL, NULL, NULL));
    for (int i = 0; i < 4; i++)
        CHECK_OK(syn_trainer_step(t2, xor_x + 2 * i, xor_y + i, 1, NULL));
    size_t n;
    const float *p1 = syn_net_params(n1, &n), *p2 = syn_net_params(n2, NULL);
    CHECK(memcmp(p1, p2, n * sizeof(float)) == 0, "epoch == steps");
    syn_trainer_free(t1), syn_trainer_free(t2);
    syn_net_free(n1), syn_net_free(n2);
    syn_dataset_free(ds);
}

static int stop_after_two(void *user, const syn_batch_report *r)
{
    *(size_t *)user += 1;
    return r->batch == 1;
}

static void test_schedule_callback_divergence(void)
{
    syn_net *net = xor_net(5);
    syn_dataset *ds = NULL;
    syn_dataset_from_floats(xor_x, 4, 2, xor_y, 1, &ds);
    syn_optim_desc sgd = syn_optim_defaults(SYN_OPTIM_SGD);
    sgd.lr = 0.4f;
    syn_train_desc td = {.batch_size = 1,
                         .schedule = {.kind = SYN_SCHEDULE_STEP, .step_size = 1, .gamma = 0.5f}};
    syn_trainer *tr = NULL;
    syn_epoch_stats st;
    CHECK_OK(syn_trainer_create(net, &sgd, &td, &tr));
    size_t calls = 0;
    CHECK_OK(syn_trainer_epoch(tr, ds, NULL, 0, stop_after_two, &calls, &st));
    CHECK(calls == 2 && st.batches == 2 && st.samples == 2, "stopped after 2 batches");
    CHECK(st.lr == 0.4f, "epoch 0 lr %g", st.lr);
    CHECK_OK(syn_trainer_epoch(tr, ds, NULL, 0, NULL, NULL, &st));
    CHECK(st.lr == 0.2f && st.epoch == 1, "epoch 1 lr %g", st.lr);
    syn_trainer_free(tr);

    /* A learning rate that explodes: DIVERGED, parameters still finite. */
    syn_layer_desc lin = {.units = 1};
    syn_net_desc rd = {.n_inputs = 2, .n_layers = 1, .layers = &lin, .seed = 1};
    syn_net *reg = NULL;
    syn_net_create(&rd, &reg);
    float big_y[4] = {1e3f, -1e3f, 1e3f, -1e3f};
    syn_dataset *rds = NULL;
    syn_dataset_from_floats(xor_x, 4, 2, big_y, 1, &rds);
    sgd.lr = 1e20f;
    td = (syn_train_desc){.batch_size = 1};
    CHECK_OK(syn_trainer_create(reg, &sgd, &td, &tr));
    syn_status s = SYN_OK;
    for (int e = 0; e < 20 && s == SYN_OK; e++)
        s = syn_trainer_epoch(tr, rds, NULL, 0, NULL, NULL, &st);
    CHECK(s == SYN_ERR_DIVERGED, "diverged: %s", syn_strerror(s));
    size_t n;
    float *p = syn_net_params(reg, &n);
    int finite = 1;
    for (size_t i = 0; i < n; i++)
        finite &= isfinite(p[i]) != 0;
    CHECK(finite, "parameters restored to the start of the failing epoch");
    syn_trainer_free(tr);
    syn_net_free(reg);
    syn_net_free(net);
    syn_dataset_free(ds);
    syn_dataset_free(rds);
}

static int sum_correct(void *user, const syn_batch_report *r)
{
    ((size_t *)user)[0] += r->correct;
    ((size_t *)user)[1] += r->samples;
    return 0;
}

/* The per-batch reports add up to the epoch's statistics. */
static void test_batch_reports(void)
{
    const float x[6] = {-2, -1, 0.5f, 1, 2, 3};
    const uint32_t labels[6] = {0, 0, 1, 1, 1, 0};
    syn_layer_desc sm = {.units = 2, .activation = SYN_ACT_SOFTMAX};
    syn_net_desc cd = {.n_inputs = 1, .n_layers = 1, .layers = &sm,
                       .loss = SYN_LOSS_CROSS_ENTROPY, .seed = 3};
    syn_net *net = NULL;
    syn_dataset *ds = NULL;
    syn_trainer *tr = NULL;
    syn_net_create(&cd, &net);
    CHECK_OK(syn_dataset_from_labels(x, 6, 1, labels, 2, &ds));
    syn_optim_desc sgd = syn_optim_defaults(SYN_OPTIM_SGD);
    syn_train_desc td = {.batch_size = 4, .seed = 2};
    CHECK_OK(syn_trainer_create(net, &sgd, &td, &tr));
    size_t sums[2] = {0, 0};
    syn_epoch_stats st;
    CHECK_OK(syn_trainer_epoch(tr, ds, NULL, 0, sum_correct, sums, &st));
    CHECK(sums[1] == 6 && st.samples == 6, "samples reported %zu", sums[1]);
    CHECK(fabs(st.accuracy * 6 - (double)sums[0]) < 1e-9, "correct %zu vs accuracy %g", sums[0],
          st.accuracy);
    syn_trainer_free(tr);
    syn_dataset_free(ds);
    syn_net_free(net);
}

static void test_evaluate(void)
{
    /* Class 1 exactly when x > 0: logits (0, 10x). */
    syn_layer_desc sm = {.units = 2, .activation = SYN_ACT_SOFTMAX};
    syn_net_desc cd = {.n_inputs = 1, .n_layers = 1, .layers = &sm,
                       .loss = SYN_LOSS_CROSS_ENTROPY};
    syn_net *net = NULL;
    syn_net_create(&cd, &net);
    float *w, *b;
    syn_net_layer_params(net, 0, &w, &b);
    w[0] = 0, w[1] = 10, b[0] = b[1] = 0;
    const float x[4] = {-1, 1, 2, -3};
    const uint32_t labels[4] = {0, 1, 0, 0};
    syn_dataset *ds = NULL;
    CHECK_OK(syn_dataset_from_labels(x, 4, 1, labels, 2, &ds));
    syn_workspace *ws = NULL;
    syn_workspace_create(net, 3, &ws); /* smaller than the data: two chunks */
    syn_eval ev;
    uint64_t confusion[4];
    CHECK_OK(syn_evaluate(net, ws, ds, NULL, 0, &ev, confusion));
    CHECK(ev.accuracy == 0.75, "accuracy %g", ev.accuracy);
    CHECK(confusion[0] == 2 && confusion[1] == 1 && confusion[2] == 0 && confusion[3] == 1,
          "confusion %llu %llu %llu %llu", (unsigned long long)confusion[0],
          (unsigned long long)confusion[1], (unsigned long long)confusion[2],
          (unsigned long long)confusion[3]);
    /* Mean CE: three confident right (~0) and one x=2 wrong: log(1 + e^20) / 4. */
    CHECK_CLOSE(ev.loss, (20 + log1p(exp(-20))) / 4, 1e-5, 1e-6, "loss %g", ev.loss);
    size_t rows[2] = {1, 3};
    CHECK_OK(syn_evaluate(net, ws, ds, rows, 2, &ev, NULL));
    CHECK(ev.accuracy == 1.0 && ev.samples == 2, "subset accuracy");
    syn_workspace_free(ws);
    syn_dataset_free(ds);
    syn_net_free(net);

    /* Regression y = 2x on targets {2, 4, 7}: errors 0, 0, -1. */
    syn_layer_desc lin = {.units = 1};
    syn_net_desc rd = {.n_inputs = 1, .n_layers = 1, .layers = &lin};
    syn_net_create(&rd, &net);
    syn_net_layer_params(net, 0, &w, &b);
    w[0] = 2, b[0] = 0;
    const float rx[3] = {1, 2, 3}, ry[3] = {2, 4, 7};
    syn_dataset_from_floats(rx, 3, 1, ry, 1, &ds);
    syn_workspace_create(net, 8, &ws);
    CHECK_OK(syn_evaluate(net, ws, ds, NULL, 0, &ev, NULL));
    CHECK_CLOSE(ev.mse, 1.0 / 3, 1e-9, 0, "mse %g", ev.mse);
    CHECK_CLOSE(ev.mae, 1.0 / 3, 1e-9, 0, "mae %g", ev.mae);
    CHECK_CLOSE(ev.r2, 1 - 1 / (38.0 / 3), 1e-9, 0, "r2 %g", ev.r2); /* SS_tot = 38/3 */
    CHECK(isnan(ev.accuracy), "no accuracy for regression");
    syn_workspace_free(ws);
    syn_dataset_free(ds);
    syn_net_free(net);
}

int main(void)
{
    test_xor_full_batch();
    test_batching_and_shuffle();
    test_epoch_equals_steps();
    test_schedule_callback_divergence();
    test_batch_reports();
    test_evaluate();
    return check_finish();
}
