/* cnn.c - the convolutional net of issue 15 in synapse and in PyTorch, side
 * by side on Fashion-MNIST (bench/torch_cnn.py is the peer):
 *   conv 32x3x3 relu, max-pool 2, conv 64x3x3 relu, max-pool 2,
 *   dense 128 relu, dropout 0.3, dense 10 softmax; Adam 1e-3, inputs
 *   standardized by the training pixels' mean and deviation.
 *
 *   bench_cnn [--seconds S] [--rounds R] [--threads N] [--busy B] [--no-torch]
 *       training samples/s at batch 64 and 256, inference samples/s at
 *       batch 1000 and peak RSS, each side in its own child process,
 *       rounds interleaved (synapse, PyTorch, synapse, ...), the best
 *       round of each; prints the ratios (--no-torch: synapse's figures
 *       alone). --busy B: under B processes that spin (bench/load.h),
 *       started before the first round and killed after the last.
 *       --threads 0: synapse at its default thread count (adapting to
 *       load), PyTorch on 2.
 *   bench_cnn --epochs E --seeds 1,2,3 [--batch 128] [--init auto|torch]
 *       test accuracy per epoch (cosine schedule over E epochs) and wall
 *       time, both sides per seed; --init torch draws synapse's weights
 *       and biases as PyTorch's defaults do (SYN_INIT_TORCH).
 *   bench_cnn --workspaces R [--threads N]
 *       inference samples/s at batch 1000 through a training workspace and
 *       an inference one (syn_workspace_create_inference), R interleaved
 *       rounds, best of each, and whether their losses are the same bits.
 * Exits 77 when Fashion-MNIST (package dataset-fashion-mnist) or the
 * PyTorch peer is missing. */
#include "load.h" /* first: it defines _GNU_SOURCE */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "synapse.h"

#define DATA "/usr/share/datasets/fashion-mnist"
#ifndef SYN_BENCH_DIR
#define SYN_BENCH_DIR "bench"
#endif

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static const syn_layer_desc cnn_layers[] = {
    {.kind = SYN_LAYER_CONV2D, .units = 32, .kernel = {3, 3}, .activation = SYN_ACT_RELU},
    {.kind = SYN_LAYER_MAXPOOL2D, .kernel = {2, 2}},
    {.kind = SYN_LAYER_CONV2D, .units = 64, .kernel = {3, 3}, .activation = SYN_ACT_RELU},
    {.kind = SYN_LAYER_MAXPOOL2D, .kernel = {2, 2}},
    {.units = 128, .activation = SYN_ACT_RELU},
    {.kind = SYN_LAYER_DROPOUT, .rate = 0.3f},
    {.units = 10, .activation = SYN_ACT_SOFTMAX},
};

typedef struct data {
    syn_dataset *train, *test;
} data;

static int load(data *d)
{
    syn_error err = {{0}};
    syn_status st = syn_dataset_load_idx(DATA "/train-images-idx3-ubyte.gz",
                                         DATA "/train-labels-idx1-ubyte.gz", &d->train, &err);
    if (st == SYN_OK)
        st = syn_dataset_load_idx(DATA "/t10k-images-idx3-ubyte.gz",
                                  DATA "/t10k-labels-idx1-ubyte.gz", &d->test, &err);
    if (st != SYN_OK) {
        fprintf(stderr, "bench_cnn: %s\n", err.message);
        return 0;
    }
    return 1;
}

/* The net, its inputs standardized by the mean and deviation of every
 * training pixel (one pair for all, as transforms.Normalize does). */
static syn_net *make_net(const data *d, uint64_t seed, syn_init init)
{
    size_t shape[3];
    syn_dataset_shape(d->train, shape);
    syn_net_desc desc = {.n_inputs = 784, .n_layers = sizeof cnn_layers / sizeof cnn_layers[0],
                         .layers = cnn_layers, .loss = SYN_LOSS_CROSS_ENTROPY, .init = init,
                         .seed = seed, .input_shape = {shape[0], shape[1], shape[2]}};
    syn_net *net = NULL;
    if (syn_net_create(&desc, &net) != SYN_OK)
        return NULL;
    size_t n = syn_dataset_n_samples(d->train), chunk = 1000;
    float *x = malloc(chunk * 784 * sizeof(float));
    size_t *rows = malloc(chunk * sizeof(size_t));
    double s = 0, q = 0;
    for (size_t r0 = 0; r0 < n; r0 += chunk) {
        size_t m = n - r0 < chunk ? n - r0 : chunk;
        for (size_t i = 0; i < m; i++)
            rows[i] = r0 + i;
        syn_dataset_gather(d->train, rows, m, x, NULL);
        for (size_t i = 0; i < m * 784; i++) {
            s += x[i];
            q += (double)x[i] * x[i];
        }
    }
    double mean = s / ((double)n * 784), sd = sqrt(q / ((double)n * 784) - mean * mean);
    float off[784], mul[784];
    for (size_t i = 0; i < 784; i++) {
        off[i] = (float)mean;
        mul[i] = (float)(1.0 / sd);
    }
    syn_net_set_input_scaling(net, off, mul);
    free(x);
    free(rows);
    return net;
}

static syn_trainer *make_trainer(syn_net *net, size_t batch, size_t epochs, int threads,
                                 uint64_t seed)
{
    syn_optim_desc od = syn_optim_defaults(SYN_OPTIM_ADAM);
    od.lr = 1e-3f;
    syn_train_desc td = {.batch_size = batch, .n_threads = threads, .seed = seed};
    if (epochs > 0) {
        td.schedule.kind = SYN_SCHEDULE_COSINE;
        td.schedule.t_max = epochs;
    }
    syn_trainer *tr = NULL;
    return syn_trainer_create(net, &od, &td, &tr) == SYN_OK ? tr : NULL;
}

static double evaluate(const data *d, syn_net *net, int threads, double *seconds)
{
    syn_workspace *ws = NULL;
    syn_eval ev;
    if (syn_workspace_create_inference(net, 1000, &ws) != SYN_OK)
        return NAN;
    syn_workspace_set_threads(ws, threads);
    double t0 = now();
    syn_status st = syn_evaluate(net, ws, d->test, NULL, 0, &ev, NULL);
    if (seconds)
        *seconds = now() - t0;
    syn_workspace_free(ws);
    return st == SYN_OK ? ev.accuracy : NAN;
}

/* Training samples/s at `batch` on the first 8192 rows after one warm-up
 * epoch of them, then inference samples/s over the 10000 test images at
 * batch 1000, and the peak RSS: one JSON line on stdout (run in a child,
 * so that each side's peak is its own). */
static int synapse_rates(const data *d, size_t batch, double seconds, int threads)
{
    syn_net *net = make_net(d, 1, SYN_INIT_AUTO);
    syn_trainer *tr = net ? make_trainer(net, batch, 0, threads, 1) : NULL;
    if (!tr)
        return 1;
    size_t rows[8192];
    for (size_t i = 0; i < 8192; i++)
        rows[i] = i;
    syn_epoch_stats stats;
    syn_trainer_epoch(tr, d->train, rows, 8192, NULL, NULL, &stats);
    size_t samples = 0;
    double t0 = now(), t;
    do {
        if (syn_trainer_epoch(tr, d->train, rows, 8192, NULL, NULL, &stats) != SYN_OK)
            return 1;
        samples += stats.samples;
    } while ((t = now() - t0) < seconds);
    double eval_s = 0;
    evaluate(d, net, threads, &eval_s); /* warm */
    evaluate(d, net, threads, &eval_s);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("{\"train\": %.1f, \"infer\": %.1f, \"rss_mib\": %.1f}\n", (double)samples / t,
           10000.0 / eval_s, (double)ru.ru_maxrss / 1024.0);
    fflush(stdout);
    syn_trainer_free(tr);
    syn_net_free(net);
    return 0;
}

/* Runs a child (synapse_rates after fork, or argv via exec) and reads its
 * JSON line: training and inference samples/s, and its own peak RSS. */
typedef struct result {
    double train, infer, rss_mib;
    int ok;
} result;

static result run_child(const data *d, size_t batch, double seconds, int threads,
                        char *const *argv)
{
    result r = {0, 0, 0, 0};
    int fd[2];
    if (pipe(fd) != 0)
        return r;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]);
        if (argv) {
            execv(argv[0], argv);
            _exit(127);
        }
        _exit(synapse_rates(d, batch, seconds, threads));
    }
    close(fd[1]);
    char line[256] = "";
    FILE *f = fdopen(fd[0], "r");
    if (!f || !fgets(line, sizeof line, f))
        line[0] = '\0';
    if (f)
        fclose(f);
    int status;
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return r;
    r.ok = sscanf(line, "{\"train\": %lf, \"infer\": %lf, \"rss_mib\": %lf}", &r.train,
                  &r.infer, &r.rss_mib) == 3;
    return r;
}

static const char *python(void)
{
    return access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : NULL;
}

static int rates(const data *d, double seconds, int rounds, int threads, int torch_too)
{
    const size_t batches[] = {64, 256};
    char peer[512], sec[32], thr[16], bs[16];
    snprintf(peer, sizeof peer, "%s/torch_cnn.py", SYN_BENCH_DIR);
    snprintf(sec, sizeof sec, "%g", seconds);
    /* --threads 0: synapse's default (up to all CPUs, adapting to load)
     * against PyTorch tuned on 2. */
    snprintf(thr, sizeof thr, "%d", threads > 0 ? threads : 2);
    printf("synapse vs PyTorch %s (threads %d%s, %g s a round, best of %d rounds)\n",
           "conv32-pool-conv64-pool-128-dropout-10", threads,
           threads > 0 ? "" : ": synapse's default, PyTorch on 2", seconds, rounds);
    double infer_s = 0, infer_t = 0, rss_s = 0, rss_t = 0;
    for (size_t b = 0; b < 2; b++) {
        snprintf(bs, sizeof bs, "%zu", batches[b]);
        char *argv[] = {(char *)python(), peer, "--batch", bs, "--seconds", sec, "--threads",
                        thr, NULL};
        result best_s = {0, 0, 0, 0}, best_t = {0, 0, 0, 0};
        for (int k = 0; k < rounds; k++) {
            result s = run_child(d, batches[b], seconds, threads, NULL);
            result t = argv[0] && torch_too ? run_child(d, batches[b], seconds, threads, argv)
                                            : (result){0, 0, 0, 0};
            if (!s.ok) {
                fprintf(stderr, "bench_cnn: the synapse run failed\n");
                return 1;
            }
            if (!torch_too) {
                printf("synapse batch %zu: train %.0f samples/s, inference %.0f samples/s, "
                       "peak RSS %.1f MiB\n", batches[b], s.train, s.infer, s.rss_mib);
                fflush(stdout);
                continue;
            }
            if (!t.ok) {
                printf("skipped: the PyTorch peer (%s) did not run\n", peer);
                return 77;
            }
            if (s.train > best_s.train)
                best_s = s;
            if (t.train > best_t.train)
                best_t = t;
            infer_s = fmax(infer_s, s.infer);
            infer_t = fmax(infer_t, t.infer);
            rss_s = fmax(rss_s, s.rss_mib);
            rss_t = fmax(rss_t, t.rss_mib);
        }
        if (!torch_too)
            continue;
        printf("train batch %3zu: synapse %8.0f samples/s, PyTorch %8.0f: ratio %.2f\n",
               batches[b], best_s.train, best_t.train, best_s.train / best_t.train);
    }
    if (!torch_too)
        return 0;
    printf("inference batch 1000: synapse %8.0f samples/s, PyTorch %8.0f: ratio %.2f\n",
           infer_s, infer_t, infer_s / infer_t);
    printf("peak RSS: synapse %.1f MiB, PyTorch %.1f MiB: ratio %.2f\n", rss_s, rss_t,
           rss_s / rss_t);
    return 0;
}

/* Inference at batch 1000 over the 10000 test images through a training
 * workspace and through an inference one (its hidden layers in cuts of 128
 * rows), interleaved, best of `rounds` each; the two must agree. */
static int workspaces(const data *d, int rounds, int threads)
{
    syn_net *net = make_net(d, 1, SYN_INIT_AUTO);
    if (!net)
        return 1;
    syn_workspace *ws[2] = {NULL, NULL};
    if (syn_workspace_create(net, 1000, &ws[0]) != SYN_OK ||
        syn_workspace_create_inference(net, 1000, &ws[1]) != SYN_OK)
        return 1;
    double best[2] = {INFINITY, INFINITY};
    syn_eval ev[2];
    for (int k = 0; k < rounds; k++)
        for (int w = 0; w < 2; w++) {
            syn_workspace_set_threads(ws[w], threads);
            double t0 = now();
            if (syn_evaluate(net, ws[w], d->test, NULL, 0, &ev[w], NULL) != SYN_OK)
                return 1;
            best[w] = fmin(best[w], now() - t0);
        }
    printf("inference batch 1000 (best of %d): training workspace %.0f samples/s, inference "
           "workspace %.0f samples/s: ratio %.2f; loss %s\n", rounds, 10000.0 / best[0],
           10000.0 / best[1], best[0] / best[1],
           memcmp(&ev[0].loss, &ev[1].loss, sizeof ev[0].loss) ? "DIFFERS" : "identical");
    syn_workspace_free(ws[0]);
    syn_workspace_free(ws[1]);
    syn_net_free(net);
    return 0;
}

/* Full training, test accuracy per epoch. */
static int accuracy(const data *d, size_t epochs, const char *seeds, size_t batch, int threads,
                    syn_init init, int torch_too)
{
    char list[128];
    snprintf(list, sizeof list, "%s", seeds);
    for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
        uint64_t seed = strtoull(tok, NULL, 10);
        syn_net *net = make_net(d, seed, init);
        syn_trainer *tr = net ? make_trainer(net, batch, epochs, threads, seed) : NULL;
        if (!tr)
            return 1;
        double t0 = now(), acc = NAN;
        for (size_t e = 0; e < epochs; e++) {
            syn_epoch_stats stats;
            if (syn_trainer_epoch(tr, d->train, NULL, 0, NULL, NULL, &stats) != SYN_OK)
                return 1;
            acc = evaluate(d, net, threads, NULL);
            printf("synapse seed %llu epoch %2zu: train loss %.4f, test accuracy %.4f "
                   "(%.0f s)\n", (unsigned long long)seed, e + 1, stats.loss, acc,
                   now() - t0);
            fflush(stdout);
        }
        printf("synapse seed %llu: test accuracy %.4f after %zu epochs, %.0f s\n",
               (unsigned long long)seed, acc, epochs, now() - t0);
        syn_trainer_free(tr);
        syn_net_free(net);
        if (torch_too && python()) {
            char cmd[768];
            snprintf(cmd, sizeof cmd, "%s %s/torch_cnn.py --epochs %zu --seed %llu "
                     "--batch %zu --threads %d", python(), SYN_BENCH_DIR, epochs,
                     (unsigned long long)seed, batch, threads);
            fflush(stdout);
            if (system(cmd) != 0)
                fprintf(stderr, "bench_cnn: the PyTorch peer failed\n");
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    double seconds = 6;
    int rounds = 2, threads = 2, torch_too = 1, ws_rounds = 0, busy = 0;
    size_t epochs = 0, batch = 128;
    const char *seeds = "1,2,3";
    syn_init init = SYN_INIT_AUTO;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
            seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
            rounds = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--epochs") && i + 1 < argc)
            epochs = (size_t)atol(argv[++i]);
        else if (!strcmp(argv[i], "--seeds") && i + 1 < argc)
            seeds = argv[++i];
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc)
            batch = (size_t)atol(argv[++i]);
        else if (!strcmp(argv[i], "--init") && i + 1 < argc && !strcmp(argv[i + 1], "torch"))
            init = SYN_INIT_TORCH, i++;
        else if (!strcmp(argv[i], "--init") && i + 1 < argc && !strcmp(argv[i + 1], "auto"))
            init = SYN_INIT_AUTO, i++;
        else if (!strcmp(argv[i], "--busy") && i + 1 < argc && atoi(argv[i + 1]) >= 0 &&
                 atoi(argv[i + 1]) <= MAX_BUSY)
            busy = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--no-torch"))
            torch_too = 0;
        else if (!strcmp(argv[i], "--workspaces") && i + 1 < argc)
            ws_rounds = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_cnn [--seconds S] [--rounds R] [--threads N] "
                            "[--busy 0-8] [--no-torch] | --epochs E [--seeds 1,2,3] [--batch B] "
                            "[--init auto|torch] [--no-torch] | --workspaces R "
                            "[--threads N]\n");
            return 2;
        }
    }
    if (access(DATA "/train-images-idx3-ubyte.gz", R_OK) != 0) {
        printf("skipped: %s is not installed (package dataset-fashion-mnist)\n", DATA);
        return 77;
    }
    data d = {NULL, NULL};
    if (!load(&d))
        return 1;
    if (busy > 0) {
        load_signals();
        if (!start_load(busy, 3600))
            return 1;
        printf("under %d busy process%s\n", busy, busy > 1 ? "es" : "");
    }
    int rc = ws_rounds > 0 ? workspaces(&d, ws_rounds, threads)
             : epochs > 0  ? accuracy(&d, epochs, seeds, batch, threads, init, torch_too)
                           : rates(&d, seconds, rounds, threads, torch_too);
    stop_load();
    syn_dataset_free(d.train);
    syn_dataset_free(d.test);
    return rc;
}
