/* bench_mpi.c - data-parallel training throughput, run by bench/mpi.sh:
 *
 *   mpirun -np 2 bench_mpi --hidden 256,128 --batch 512 --threads 1
 *   bench_mpi --hidden 256,128 --batch 512 --threads 2 [--shards] [--bn]
 *
 * Trains a 784-H-10 ReLU/softmax net with Adam on 6144 random uint8
 * images (the shape of Fashion-MNIST: the work per step is that of real
 * data) for --seconds after one warm-up epoch, whole epochs, and prints
 * one line on rank 0: samples/s, and per step the seconds spent in the
 * comm's collectives (timed around each call: waiting for the slowest
 * rank included) and outside them (compute), the bytes all-reduced, and
 * the gradient all-reduce alone (after a barrier: no waiting in it).
 * Without mpirun it trains in one process: the plain float path, or with
 * --shards the one-process comm (the sharded path N ranks run). --bn puts
 * a BatchNorm1d (ReLU after it) behind each hidden layer, which then has
 * no bias and no activation of its own: 784-H-bn-H-bn-10. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "synapse.h"
#include "synapse_mpi.h"

static double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* A comm that times the one it wraps. */
typedef struct timed {
    const syn_comm *inner;
    double seconds;
    double bytes;
} timed;

static syn_status t_sum(void *ctx, int64_t *buf, size_t n)
{
    timed *t = ctx;
    double t0 = now_seconds();
    syn_status st = t->inner->sum_i64(t->inner->ctx, buf, n);
    t->seconds += now_seconds() - t0;
    t->bytes += 8.0 * (double)n;
    return st;
}

static syn_status t_max(void *ctx, double *buf, size_t n)
{
    timed *t = ctx;
    double t0 = now_seconds();
    syn_status st = t->inner->max_f64(t->inner->ctx, buf, n);
    t->seconds += now_seconds() - t0;
    t->bytes += 8.0 * (double)n;
    return st;
}

static syn_status t_bcast(void *ctx, void *buf, size_t bytes, int root)
{
    timed *t = ctx;
    return t->inner->broadcast(t->inner->ctx, buf, bytes, root);
}

static syn_status t_barrier(void *ctx)
{
    timed *t = ctx;
    return t->inner->barrier(t->inner->ctx);
}

static int count_batches(void *user, const syn_batch_report *r)
{
    (void)r;
    (*(size_t *)user)++;
    return 0;
}

int main(int argc, char **argv)
{
    size_t h1 = 256, h2 = 128, batch = 512;
    int threads = 1, shards = 0, bn = 0;
    double seconds = 5.0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--hidden") && i + 1 < argc)
            sscanf(argv[++i], "%zu,%zu", &h1, &h2);
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc)
            batch = (size_t)atol(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
            seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--shards"))
            shards = 1;
        else if (!strcmp(argv[i], "--bn"))
            bn = 1;
    }
    int mpi = getenv("OMPI_COMM_WORLD_SIZE") != NULL;
    syn_mpi *m = NULL;
    syn_comm single = syn_comm_single(), wrapped;
    timed tm = {0};
    const syn_comm *comm = NULL;
    if (mpi) {
        if (syn_mpi_prepare() != SYN_OK)
            return 1;
        MPI_Init(&argc, &argv);
        if (syn_mpi_create(MPI_COMM_WORLD, 600.0, &m) != SYN_OK)
            return 1;
        comm = syn_mpi_comm(m);
    } else if (shards) {
        comm = &single;
    }
    if (comm) {
        tm.inner = comm;
        wrapped = (syn_comm){.rank = comm->rank, .size = comm->size, .ctx = &tm,
                             .sum_i64 = t_sum, .max_f64 = t_max, .broadcast = t_bcast,
                             .barrier = t_barrier};
    }
    const size_t n_rows = 6144, n_in = 784;
    uint8_t *x = malloc(n_rows * n_in);
    uint32_t *y = malloc(n_rows * sizeof *y);
    syn_rng rng;
    syn_rng_seed(&rng, 1);
    for (size_t i = 0; i < n_rows * n_in; i++)
        x[i] = (uint8_t)syn_rng_below(&rng, 256);
    for (size_t r = 0; r < n_rows; r++)
        y[r] = (uint32_t)syn_rng_below(&rng, 10);
    syn_dataset *ds = NULL;
    syn_layer_desc layers[3] = {{.units = h1, .activation = SYN_ACT_RELU},
                                {.units = h2, .activation = SYN_ACT_RELU},
                                {.units = 10, .activation = SYN_ACT_SOFTMAX}};
    syn_layer_desc bn_layers[5] = {
        {.units = h1, .activation = SYN_ACT_LINEAR, .no_bias = 1},
        {.kind = SYN_LAYER_BATCHNORM, .activation = SYN_ACT_RELU},
        {.units = h2, .activation = SYN_ACT_LINEAR, .no_bias = 1},
        {.kind = SYN_LAYER_BATCHNORM, .activation = SYN_ACT_RELU},
        {.units = 10, .activation = SYN_ACT_SOFTMAX}};
    syn_net_desc nd = {.n_inputs = n_in, .n_layers = bn ? 5 : 3, .layers = bn ? bn_layers : layers,
                       .loss = SYN_LOSS_CROSS_ENTROPY, .seed = 1};
    syn_net *net = NULL;
    syn_trainer *tr = NULL;
    syn_optim_desc od = syn_optim_defaults(SYN_OPTIM_ADAM);
    syn_train_desc td = {.batch_size = batch, .n_threads = threads, .seed = 2};
    if (syn_dataset_from_u8_labels(x, n_rows, n_in, y, 10, &ds) != SYN_OK ||
        syn_net_create(&nd, &net) != SYN_OK || syn_trainer_create(net, &od, &td, &tr) != SYN_OK ||
        (comm && syn_trainer_set_comm(tr, &wrapped) != SYN_OK)) {
        fprintf(stderr, "bench_mpi: setup failed\n");
        return 1;
    }
    size_t n_params = 0;
    syn_net_params(net, &n_params);
    syn_epoch_stats stats;
    syn_trainer_epoch(tr, ds, NULL, 0, NULL, NULL, &stats); /* warm-up */
    tm.seconds = tm.bytes = 0.0;
    size_t steps = 0, samples = 0;
    double t0 = now_seconds(), elapsed = 0.0;
    do {
        if (syn_trainer_epoch(tr, ds, NULL, 0, count_batches, &steps, &stats) != SYN_OK)
            return 1;
        samples += stats.samples;
        elapsed = now_seconds() - t0;
        /* Every rank must run the same epochs: rank 0's clock decides. */
        if (comm) {
            double go = elapsed < seconds ? 1.0 : 0.0;
            if (comm->rank != 0)
                go = 0.0;
            if (comm->max_f64(comm->ctx, &go, 1) != SYN_OK)
                return 1;
            if (go == 0.0)
                break;
        }
    } while (comm || elapsed < seconds);
    /* The all-reduce alone, ranks lined up by a barrier first so that no
     * waiting for a slower rank is in it: the median and the best of 21. */
    double pure = 0.0, pure_min = 0.0;
    if (comm) {
        /* The trainer's: two 32-bit fixed-point lanes a word (shard.c). */
        size_t n = n_params / 2 + n_params % 2 + 3 * SYN_SHARDS;
        int64_t *buf = calloc(n, sizeof *buf);
        double t[21];
        for (int i = 0; i < 21 && buf; i++) {
            comm->barrier(comm->ctx);
            double s0 = now_seconds();
            comm->sum_i64(comm->ctx, buf, n);
            t[i] = now_seconds() - s0;
        }
        for (int i = 0; i < 21 && buf; i++) /* insertion sort */
            for (int k = i; k > 0 && t[k] < t[k - 1]; k--) {
                double x = t[k];
                t[k] = t[k - 1];
                t[k - 1] = x;
            }
        pure = buf ? t[10] : 0.0;
        pure_min = buf ? t[0] : 0.0;
        free(buf);
    }
    if (!comm || comm->rank == 0)
        printf("{\"ranks\": %d, \"threads\": %d, \"sharded\": %d, \"bn\": %d, \"params\": %zu, "
               "\"samples_per_s\": %.1f, \"step_s\": %.6g, \"comm_s_per_step\": %.6g, "
               "\"compute_s_per_step\": %.6g, \"bytes_per_step\": %.0f, \"allreduce_s\": %.6g, \"allreduce_min_s\": %.6g}\n",
               comm ? comm->size : 1, threads, comm != NULL, bn, n_params,
               (double)samples / elapsed, elapsed / (double)steps, tm.seconds / (double)steps,
               (elapsed - tm.seconds) / (double)steps, tm.bytes / (double)steps, pure, pure_min);
    syn_trainer_free(tr);
    syn_net_free(net);
    syn_dataset_free(ds);
    free(x);
    free(y);
    if (m) {
        syn_mpi_free(m);
        MPI_Finalize();
    }
    return 0;
}
