/* busy.c - bench_busy: synapse's thread runtime on a machine that is not
 * quiet. It starts its own competing load (processes that spin, forked here,
 * bounded in time by alarm() and killed at the end, on error and on a
 * signal), then, under 0, 1 and 2 such processes, measures each target row
 * at the default thread count, --threads 1 and --threads 2, interleaved
 * (round after round, the three settings in rotating order), and prints
 * per row the median rates and the median of the per-round ratios:
 *
 *   default / best   default over the faster of 1 and 2 threads in the same
 *                    round (target under one busy process: >= 0.9)
 *   default / 1      (target under two busy processes: >= 0.8)
 *
 * Rows: Fashion-MNIST training, 784-256-128-10 at batch 32, 128 and 512 and
 * 784-32-10 at batch 128 (Adam, as bench_train), samples/s; and evaluation
 * as `synapse eval` runs it (a fresh workspace of batch 1000 per pass over
 * the 10,000 test images, syn_evaluate), samples/s.
 *
 *   bench_busy [--seconds S] [--rounds R] [--loads 0,1,2] [--rows WORD]
 *
 * S (default 1) is the time of one measurement, R (default 3) the rounds;
 * --rows keeps only the rows whose name contains WORD ("eval", "b512"). */
#include "load.h" /* first: it defines _GNU_SOURCE */

#include <stdlib.h>
#include <time.h>

#include "synapse.h"

#define DATA_DIR "/usr/share/datasets/fashion-mnist"
#define MAX_ROUNDS 15
#define N_SETTINGS 3

static const int settings[N_SETTINGS] = {0, 1, 2}; /* --threads of each column */

typedef struct row {
    const char *name;
    size_t hidden[2], n_hidden, batch;
    int eval;
} row;

static const row rows[] = {
    {"train 784-256-128-10 b32", {256, 128}, 2, 32, 0},
    {"train 784-256-128-10 b128", {256, 128}, 2, 128, 0},
    {"train 784-256-128-10 b512", {256, 128}, 2, 512, 0},
    {"train 784-32-10 b128", {32, 0}, 1, 128, 0},
    {"eval 784-256-128-10 b1000", {256, 128}, 2, 1000, 1},
};
#define N_ROWS (sizeof rows / sizeof rows[0])

/* ---------------------------------------------------------------- the load */

/* ---------------------------------------------------------------- the rows */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static syn_status make_net(const row *r, syn_net **net)
{
    syn_layer_desc layers[3];
    for (size_t l = 0; l < r->n_hidden; l++)
        layers[l] = (syn_layer_desc){.units = r->hidden[l], .activation = SYN_ACT_RELU};
    layers[r->n_hidden] = (syn_layer_desc){.units = 10, .activation = SYN_ACT_SOFTMAX};
    syn_net_desc desc = {.n_inputs = 784, .n_layers = r->n_hidden + 1, .layers = layers,
                         .loss = SYN_LOSS_CROSS_ENTROPY, .seed = 1};
    syn_status st = syn_net_create(&desc, net);
    float offset[784], scale[784];
    for (int j = 0; j < 784; j++)
        offset[j] = 0, scale[j] = 1.0f / 255;
    if (st == SYN_OK)
        st = syn_net_set_input_scaling(*net, offset, scale);
    return st;
}

/* Training samples/s over `seconds`, on shuffled 8192-row slices as
 * bench_train does; the trainer (and its pool) is new, as in a new run. */
static syn_status time_train(const row *r, const syn_dataset *ds, int threads, double seconds,
                             double *rate)
{
    syn_net *net = NULL;
    syn_trainer *tr = NULL;
    syn_optim_desc adam = syn_optim_defaults(SYN_OPTIM_ADAM);
    syn_train_desc td = {.batch_size = r->batch, .n_threads = threads, .seed = 1};
    size_t n = syn_dataset_n_samples(ds), chunk = 8192 < n ? 8192 : n;
    size_t *order = malloc(chunk * sizeof *order);
    syn_status st = order ? make_net(r, &net) : SYN_ERR_OUT_OF_MEMORY;
    if (st == SYN_OK)
        st = syn_trainer_create(net, &adam, &td, &tr);
    syn_rng rng;
    syn_rng_seed(&rng, 7);
    double start = now(), done = 0;
    while (st == SYN_OK && now() - start < seconds) {
        size_t offset = (size_t)syn_rng_below(&rng, n - chunk + 1);
        for (size_t i = 0; i < chunk; i++)
            order[i] = offset + i;
        syn_epoch_stats stats;
        st = syn_trainer_epoch(tr, ds, order, chunk, NULL, NULL, &stats);
        done += (double)stats.samples;
    }
    *rate = done / (now() - start);
    syn_trainer_free(tr);
    syn_net_free(net);
    free(order);
    return st;
}

/* Evaluation samples/s: what `synapse eval --threads T` does per call (a
 * workspace of batch 1000, its thread count, syn_evaluate over the set). */
static syn_status time_eval(const syn_net *net, const row *r, const syn_dataset *ds,
                            int threads, double seconds, double *rate)
{
    syn_status st = SYN_OK;
    double start = now(), done = 0;
    while (st == SYN_OK && now() - start < seconds) {
        syn_workspace *ws = NULL;
        syn_eval ev;
        st = syn_workspace_create(net, r->batch, &ws);
        if (st == SYN_OK)
            st = syn_workspace_set_threads(ws, threads);
        if (st == SYN_OK)
            st = syn_evaluate(net, ws, ds, NULL, 0, &ev, NULL);
        syn_workspace_free(ws);
        done += (double)syn_dataset_n_samples(ds);
    }
    *rate = done / (now() - start);
    return st;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

typedef struct options {
    double seconds;
    int rounds;
    int loads[4], n_loads;
    const char *rows; /* NULL: every row */
} options;

static int parse(int argc, char **argv, options *o)
{
    for (int i = 1; i < argc; i++) {
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(argv[i], "--seconds") && next) {
            o->seconds = strtod(argv[++i], NULL);
        } else if (!strcmp(argv[i], "--rounds") && next) {
            o->rounds = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--rows") && next) {
            o->rows = argv[++i];
        } else if (!strcmp(argv[i], "--loads") && next) {
            o->n_loads = 0;
            for (char *s = argv[++i]; *s && o->n_loads < 4;) {
                long v = strtol(s, &s, 10);
                if (v < 0 || v > MAX_BUSY)
                    return 0;
                o->loads[o->n_loads++] = (int)v;
                s += *s == ',';
            }
        } else {
            return 0;
        }
    }
    return o->seconds > 0 && o->seconds <= 60 && o->rounds > 0 && o->rounds <= MAX_ROUNDS &&
           o->n_loads > 0;
}

static int wanted(const options *o, size_t ri)
{
    return !o->rows || strstr(rows[ri].name, o->rows);
}

int main(int argc, char **argv)
{
    options o = {.seconds = 1.0, .rounds = 3, .loads = {0, 1, 2}, .n_loads = 3};
    if (!parse(argc, argv, &o)) {
        fprintf(stderr, "usage: bench_busy [--seconds S (<= 60)] [--rounds R (<= %d)] "
                        "[--loads 0,1,2 (each <= %d)] [--rows WORD]\n", MAX_ROUNDS, MAX_BUSY);
        return 2;
    }
    load_signals();
    syn_error err = {{0}};
    syn_dataset *train = NULL, *test = NULL;
    syn_status st = syn_dataset_load_idx(DATA_DIR "/train-images-idx3-ubyte.gz",
                                         DATA_DIR "/train-labels-idx1-ubyte.gz", &train, &err);
    if (st == SYN_OK)
        st = syn_dataset_load_idx(DATA_DIR "/t10k-images-idx3-ubyte.gz",
                                  DATA_DIR "/t10k-labels-idx1-ubyte.gz", &test, &err);
    if (st != SYN_OK) {
        fprintf(stderr, "bench_busy: loading Fashion-MNIST (dataset-fashion-mnist): %s: %s\n",
                syn_strerror(st), err.message);
        return 1;
    }
    syn_net *eval_net = NULL;
    st = make_net(&rows[N_ROWS - 1], &eval_net);
    /* One measurement per row, setting and round, plus slack: the bound on
     * the busy processes of one load level. */
    unsigned bound = (unsigned)(o.seconds * N_ROWS * N_SETTINGS * o.rounds * 2.0) + 30;
    printf("%-4s %-26s %10s %10s %10s %8s %8s\n", "busy", "row", "default/s", "1 thr/s",
           "2 thr/s", "def/best", "def/1");
    for (int li = 0; st == SYN_OK && li < o.n_loads; li++) {
        int load = o.loads[li];
        if (!start_load(load, bound)) {
            st = SYN_ERR_IO;
            break;
        }
        double rate[N_ROWS][N_SETTINGS][MAX_ROUNDS];
        for (int round = 0; st == SYN_OK && round < o.rounds; round++)
            for (size_t ri = 0; st == SYN_OK && ri < N_ROWS; ri++)
                for (int k = 0; st == SYN_OK && k < N_SETTINGS && wanted(&o, ri); k++) {
                    int si = (k + round + (int)ri) % N_SETTINGS; /* rotating order */
                    double *out = &rate[ri][si][round];
                    st = rows[ri].eval
                             ? time_eval(eval_net, &rows[ri], test, settings[si], o.seconds,
                                         out)
                             : time_train(&rows[ri], train, settings[si], o.seconds, out);
                }
        stop_load();
        for (size_t ri = 0; st == SYN_OK && ri < N_ROWS; ri++) {
            if (!wanted(&o, ri))
                continue;
            double med[N_SETTINGS], vs_best[MAX_ROUNDS], vs_one[MAX_ROUNDS];
            for (int si = 0; si < N_SETTINGS; si++) {
                double v[MAX_ROUNDS];
                memcpy(v, rate[ri][si], sizeof v);
                med[si] = median(v, o.rounds);
            }
            for (int r = 0; r < o.rounds; r++) {
                double d = rate[ri][0][r], one = rate[ri][1][r], two = rate[ri][2][r];
                vs_best[r] = d / (one > two ? one : two);
                vs_one[r] = d / one;
            }
            printf("%-4d %-26s %10.0f %10.0f %10.0f %7.2fx %7.2fx\n", load, rows[ri].name,
                   med[0], med[1], med[2], median(vs_best, o.rounds), median(vs_one, o.rounds));
        }
        fflush(stdout);
    }
    stop_load();
    syn_net_free(eval_net);
    syn_dataset_free(train);
    syn_dataset_free(test);
    if (st != SYN_OK) {
        fprintf(stderr, "bench_busy: %s\n", syn_strerror(st));
        return 1;
    }
    return 0;
}
