/* bench_train.c - synapse's side of bench/run.sh: trains an MLP on
 * Fashion-MNIST (ReLU hidden layers, softmax cross-entropy, Adam 1e-3, as
 * the PyTorch peer does) for a fixed time and prints one JSON line with
 * training and evaluation samples/s, GFLOP/s and peak RSS. With --xor it
 * times instead the seed notebook's 60000 full-batch XOR steps.
 *
 *   bench_train --hidden 256,128 --batch 128 --seconds 3 [--threads 2]
 *   bench_train --hidden 512,256 --bn-dropout 0.2   (each hidden layer:
 *       dense, batch norm, ReLU, dropout, as torch_mlp.py --bn-dropout)
 *   bench_train --xor */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "synapse.h"

#define DATA_DIR "/usr/share/datasets/fashion-mnist"
#define MAX_LAYERS 16

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double peak_rss_mib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0;
}

static int fail(const char *what, syn_status st, const syn_error *err)
{
    fprintf(stderr, "bench_train: %s: %s%s%s\n", what, syn_strerror(st), err ? ": " : "",
            err ? err->message : "");
    return 1;
}

/* The seed's 60000 steps by hand (see examples/xor.c), timed. */
static int bench_xor(void)
{
    const float x[12] = {0, 0, 1, 0, 1, 1, 1, 0, 1, 1, 1, 1}, y[4] = {0, 1, 1, 0};
    syn_layer_desc layers[2] = {{.units = 4, .activation = SYN_ACT_SIGMOID, .no_bias = 1},
                                {.units = 1, .activation = SYN_ACT_SIGMOID, .no_bias = 1}};
    syn_net_desc desc = {.n_inputs = 3, .n_layers = 2, .layers = layers,
                         .init = SYN_INIT_UNIFORM, .seed = 1};
    syn_net *net = NULL;
    syn_workspace *ws = NULL;
    syn_optimizer *sgd = NULL;
    syn_optim_desc rule = syn_optim_defaults(SYN_OPTIM_SGD);
    rule.lr = 1.0f;
    syn_status st = syn_net_create(&desc, &net);
    if (st == SYN_OK)
        st = syn_workspace_create(net, 4, &ws);
    if (st == SYN_OK)
        st = syn_workspace_set_threads(ws, 1);
    if (st == SYN_OK)
        st = syn_optimizer_create(net, &rule, &sgd);
    if (st == SYN_OK)
        st = syn_optimizer_set_threads(sgd, 1);
    double start = now(), error = 0;
    size_t n_params = syn_net_param_count(net);
    for (int j = 0; st == SYN_OK && j < 60000; j++) {
        const float *out;
        float d_out[4];
        st = syn_forward(net, ws, x, 4, &out);
        for (int r = 0; st == SYN_OK && r < 4; r++)
            d_out[r] = out[r] - y[r];
        /* The mean absolute error, where the notebook prints it (and at
         * the end, for the JSON line). */
        if (st == SYN_OK && (j % 10000 == 0 || j == 59999)) {
            error = 0;
            for (int r = 0; r < 4; r++)
                error += fabs(d_out[r]) / 4;
        }
        if (st == SYN_OK)
            st = syn_backward_from_output(net, ws, d_out, 4);
        if (st == SYN_OK)
            st = syn_optimizer_step(sgd, net, syn_workspace_grads(ws, NULL), n_params);
    }
    double seconds = now() - start;
    syn_optimizer_free(sgd);
    syn_workspace_free(ws);
    syn_net_free(net);
    if (st != SYN_OK)
        return fail("xor", st, NULL);
    printf("{\"seconds\": %.6f, \"final_error\": %.9g}\n", seconds, error);
    return 0;
}

typedef struct options {
    size_t hidden[MAX_LAYERS];
    size_t n_hidden;
    size_t batch;
    double seconds;
    int threads;
    size_t eval_batch;
    double bn_dropout; /* < 0: plain dense ReLU layers */
} options;

static int parse(int argc, char **argv, options *o)
{
    for (int i = 1; i < argc; i++) {
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(argv[i], "--hidden") && next) {
            o->n_hidden = 0;
            for (char *s = argv[++i]; *s && o->n_hidden < MAX_LAYERS;) {
                o->hidden[o->n_hidden++] = strtoul(s, &s, 10);
                s += *s == ',';
            }
        } else if (!strcmp(argv[i], "--batch") && next) {
            o->batch = strtoul(argv[++i], NULL, 10);
        } else if (!strcmp(argv[i], "--seconds") && next) {
            o->seconds = strtod(argv[++i], NULL);
        } else if (!strcmp(argv[i], "--threads") && next) {
            o->threads = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--bn-dropout") && next) {
            o->bn_dropout = strtod(argv[++i], NULL);
        } else if (!strcmp(argv[i], "--eval-batch") && next) {
            o->eval_batch = strtoul(argv[++i], NULL, 10);
        } else {
            fprintf(stderr, "bench_train: unknown option %s\n", argv[i]);
            return 0;
        }
    }
    return o->batch > 0 && o->seconds > 0 && o->eval_batch > 0;
}

/* Floating-point operations of one training sample: forward 2*n_in*units
 * per layer, weight gradient the same, input gradient for all layers but
 * the first. Biases, activations and the optimizer are not counted. */
static double flops_per_sample(const syn_net *net)
{
    double total = 0;
    for (size_t l = 0; l < syn_net_n_layers(net); l++) {
        syn_layer_desc d;
        size_t n_in;
        syn_net_layer(net, l, &d, &n_in);
        if (d.kind != SYN_LAYER_DENSE)
            continue;
        double macs = (double)n_in * (double)d.units;
        total += (l == 0 ? 4.0 : 6.0) * macs;
    }
    return total;
}

/* Trains for o->seconds after a short warm-up; returns samples/s. */
static syn_status time_training(syn_trainer *tr, const syn_dataset *ds, double seconds,
                                double *rate)
{
    syn_epoch_stats stats;
    size_t n = syn_dataset_n_samples(ds), chunk = 8192 < n ? 8192 : n;
    size_t *rows = malloc(chunk * sizeof *rows);
    if (!rows)
        return SYN_ERR_OUT_OF_MEMORY;
    syn_rng rng;
    syn_rng_seed(&rng, 7);
    syn_status st = SYN_OK;
    double start = 0, done = 0;
    for (int warm = 1; warm >= 0 && st == SYN_OK; warm--) {
        start = now();
        done = 0;
        double budget = warm ? seconds / 6 : seconds;
        while (st == SYN_OK && now() - start < budget) {
            size_t offset = (size_t)syn_rng_below(&rng, n - chunk + 1);
            for (size_t i = 0; i < chunk; i++)
                rows[i] = offset + i;
            st = syn_trainer_epoch(tr, ds, rows, chunk, NULL, NULL, &stats);
            done += (double)stats.samples;
        }
    }
    *rate = done / (now() - start);
    free(rows);
    return st;
}

static syn_status time_eval(const syn_net *net, const syn_dataset *ds, size_t batch,
                            int threads, double seconds, double *rate)
{
    syn_workspace *ws = NULL;
    syn_status st = syn_workspace_create(net, batch, &ws);
    if (st == SYN_OK)
        st = syn_workspace_set_threads(ws, threads);
    syn_eval ev;
    double start = now(), done = 0;
    while (st == SYN_OK && now() - start < seconds) {
        st = syn_evaluate(net, ws, ds, NULL, 0, &ev, NULL);
        done += (double)ev.samples;
    }
    *rate = done / (now() - start);
    syn_workspace_free(ws);
    return st;
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "--xor"))
        return bench_xor();
    options o = {.hidden = {256, 128}, .n_hidden = 2, .batch = 128, .seconds = 3,
                 .threads = 2, .eval_batch = 1000, .bn_dropout = -1};
    if (!parse(argc, argv, &o))
        return 2;
    syn_error err = {{0}};
    syn_dataset *ds = NULL;
    syn_status st = syn_dataset_load_idx(DATA_DIR "/train-images-idx3-ubyte.gz",
                                         DATA_DIR "/train-labels-idx1-ubyte.gz", &ds, &err);
    if (st != SYN_OK)
        return fail("loading Fashion-MNIST", st, &err);
    syn_layer_desc layers[3 * MAX_LAYERS + 1];
    size_t n_layers = 0;
    for (size_t l = 0; l < o.n_hidden; l++) {
        if (o.bn_dropout < 0) {
            layers[n_layers++] =
                (syn_layer_desc){.units = o.hidden[l], .activation = SYN_ACT_RELU};
            continue;
        }
        layers[n_layers++] = (syn_layer_desc){.units = o.hidden[l]};
        layers[n_layers++] =
            (syn_layer_desc){.kind = SYN_LAYER_BATCHNORM, .activation = SYN_ACT_RELU};
        layers[n_layers++] =
            (syn_layer_desc){.kind = SYN_LAYER_DROPOUT, .rate = (float)o.bn_dropout};
    }
    layers[n_layers++] = (syn_layer_desc){.units = 10, .activation = SYN_ACT_SOFTMAX};
    syn_net_desc desc = {.n_inputs = 784, .n_layers = n_layers, .layers = layers,
                         .loss = SYN_LOSS_CROSS_ENTROPY, .seed = 1};
    syn_net *net = NULL;
    syn_trainer *tr = NULL;
    float offset[784], scale[784];
    for (int j = 0; j < 784; j++)
        offset[j] = 0, scale[j] = 1.0f / 255;
    syn_optim_desc adam = syn_optim_defaults(SYN_OPTIM_ADAM);
    syn_train_desc td = {.batch_size = o.batch, .n_threads = o.threads, .seed = 1};
    st = syn_net_create(&desc, &net);
    if (st == SYN_OK)
        st = syn_net_set_input_scaling(net, offset, scale);
    if (st == SYN_OK)
        st = syn_trainer_create(net, &adam, &td, &tr);
    double train_rate = 0, eval_rate = 0;
    if (st == SYN_OK)
        st = time_training(tr, ds, o.seconds, &train_rate);
    if (st == SYN_OK)
        st = time_eval(net, ds, o.eval_batch, o.threads, o.seconds / 2, &eval_rate);
    if (st != SYN_OK)
        return fail("training", st, NULL);
    printf("{\"train_samples_per_s\": %.1f, \"eval_samples_per_s\": %.1f, "
           "\"train_gflops\": %.2f, \"peak_rss_mib\": %.1f}\n",
           train_rate, eval_rate, train_rate * flops_per_sample(net) * 1e-9, peak_rss_mib());
    syn_trainer_free(tr);
    syn_net_free(net);
    syn_dataset_free(ds);
    return 0;
}
