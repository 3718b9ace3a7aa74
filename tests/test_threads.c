/* test_threads.c - results do not depend on the thread count (1, 2, 3, 8
 * and the adaptive default), on a quiet machine and with a competing busy
 * process this test starts and stops itself; no thread outlives the
 * objects that started it (syn_*_free); and one network serves inference
 * from many threads at once, each with its own workspace. The shapes are
 * large enough that every kernel actually runs in parallel (above the
 * thresholds in pass.c, optim.c and the GEMM). */
#define _GNU_SOURCE /* prctl */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "check.h"
#include "thread_count.h"
#include "kernels/gemm.h"
#include "synapse.h"

#define N_IN 300
#define BATCH 64
#define N_OUT 10
#define STEPS 5

static syn_net *make_net(void)
{
    syn_layer_desc layers[3] = {{.units = 256, .activation = SYN_ACT_RELU},
                                {.units = 128, .activation = SYN_ACT_TANH},
                                {.units = N_OUT, .activation = SYN_ACT_SOFTMAX}};
    syn_net_desc desc = {.n_inputs = N_IN, .n_layers = 3, .layers = layers,
                         .loss = SYN_LOSS_CROSS_ENTROPY, .seed = 5};
    syn_net *net = NULL;
    syn_net_create(&desc, &net);
    return net;
}

static void fill(float *x, float *y, size_t batch)
{
    syn_rng rng;
    syn_rng_seed(&rng, 3);
    for (size_t i = 0; i < batch * N_IN; i++)
        x[i] = (float)syn_rng_uniform(&rng);
    memset(y, 0, batch * N_OUT * sizeof *y);
    for (size_t r = 0; r < batch; r++)
        y[r * N_OUT + syn_rng_below(&rng, N_OUT)] = 1.0f;
}

/* A process that spins on a core, ending itself within 120 s should this
 * test die first (and with it, on Linux); -1 if fork failed. */
static pid_t start_busy(void)
{
    pid_t pid = fork();
    if (pid == 0) {
#ifdef __linux__
        prctl(PR_SET_PDEATHSIG, SIGKILL);
#endif
        alarm(120);
        volatile unsigned long spin = 0;
        for (;;)
            spin++;
    }
    return pid;
}

static void stop_busy(pid_t pid)
{
    if (pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
}

/* Where this build's GEMM is OpenBLAS, its own threads: they start when it
 * is loaded (the first time it is chosen), stop before a fork (its atfork
 * handler; the busy process is a fork) and start again at its next call.
 * One product through it before a count puts them back, so that they are
 * not counted as the pool's. */
static void settle_openblas(void)
{
    enum { N = 256 }; /* large enough for OpenBLAS to use its threads */
    static float a[N * N], b[N * N], c[N * N];
    if (!strcmp(syn_gemm_backend(), "openblas"))
        syn_gemm_with(SYN_GEMM_OPENBLAS, 0, 0, N, N, N, a, N, b, N, 0.0f, c, N, NULL);
}

/* Trains STEPS Adam steps with n_threads; returns the parameters. */
static float *train_with(int n_threads, size_t *count)
{
    syn_net *net = make_net();
    syn_optim_desc adam = syn_optim_defaults(SYN_OPTIM_ADAM);
    syn_train_desc td = {.batch_size = BATCH, .n_threads = n_threads};
    syn_trainer *tr = NULL;
    CHECK_OK(syn_trainer_create(net, &adam, &td, &tr));
    float *x = malloc(BATCH * N_IN * sizeof *x), *y = malloc(BATCH * N_OUT * sizeof *y);
    fill(x, y, BATCH);
    settle_openblas();
    int before = count_threads();
    for (int s = 0; s < STEPS; s++)
        CHECK_OK(syn_trainer_step(tr, x, y, BATCH, NULL));
    float *params = syn_net_params(net, count);
    float *copy = malloc(*count * sizeof *copy);
    memcpy(copy, params, *count * sizeof *copy);
    free(x);
    free(y);
    syn_trainer_free(tr);
    syn_net_free(net);
    int after = count_threads_settled(before);
    CHECK(after == before, "%d threads: %d threads alive after syn_trainer_free, "
          "%d before training", n_threads, after, before);
    return copy;
}

/* A workspace and an optimizer of their own leave no thread behind. */
static void test_no_leak(void)
{
    settle_openblas();
    int before = count_threads();
    if (before < 0) {
        printf("no /proc/self/task: thread-leak checks skipped\n");
        return;
    }
    syn_net *net = make_net();
    float *x = malloc(BATCH * N_IN * sizeof *x), *y = malloc(BATCH * N_OUT * sizeof *y);
    fill(x, y, BATCH);
    syn_workspace *ws = NULL;
    syn_optimizer *opt = NULL;
    syn_optim_desc sgd = syn_optim_defaults(SYN_OPTIM_SGD);
    CHECK_OK(syn_workspace_create(net, BATCH, &ws));
    CHECK_OK(syn_workspace_set_threads(ws, 3));
    CHECK_OK(syn_optimizer_create(net, &sgd, &opt));
    CHECK_OK(syn_optimizer_set_threads(opt, 3));
    CHECK_OK(syn_forward(net, ws, x, BATCH, NULL));
    CHECK_OK(syn_backward(net, ws, y, BATCH));
    CHECK_OK(syn_optimizer_step(opt, net, syn_workspace_grads(ws, NULL),
                                syn_net_param_count(net)));
    /* Each pool that ran in parallel started 2 workers (with OpenBLAS as the
     * GEMM backend the workspace may not have: its small loops stay serial). */
    int alive = count_threads();
    CHECK(alive == before + 4 || alive == before + 2, "workspace and optimizer on 3 threads "
          "each: %d threads, want %d or %d", alive, before + 4, before + 2);
    syn_workspace_free(ws);
    int n = count_threads_settled(before + 2);
    CHECK(n == before + 2, "after syn_workspace_free: %d threads, want %d", n, before + 2);
    syn_optimizer_free(opt);
    n = count_threads_settled(before);
    CHECK(n == before, "after syn_optimizer_free: %d threads, want %d", n, before);
    free(x);
    free(y);
    syn_net_free(net);
}

typedef struct job {
    const syn_net *net;
    const float *x;
    float *out;
    syn_status status;
} job;

static void *infer(void *arg)
{
    job *j = arg;
    syn_workspace *ws = NULL;
    const float *out = NULL;
    j->status = syn_workspace_create(j->net, BATCH, &ws);
    for (int rep = 0; j->status == SYN_OK && rep < 20; rep++)
        j->status = syn_forward(j->net, ws, j->x, BATCH, &out);
    if (j->status == SYN_OK)
        memcpy(j->out, out, BATCH * N_OUT * sizeof *out);
    syn_workspace_free(ws);
    return NULL;
}

static void test_concurrent_inference(void)
{
    syn_net *net = make_net();
    float *x = malloc(BATCH * N_IN * sizeof *x), *y = malloc(BATCH * N_OUT * sizeof *y);
    fill(x, y, BATCH);
    float want[BATCH * N_OUT], got[4][BATCH * N_OUT];
    job single = {net, x, want, SYN_OK};
    infer(&single);
    CHECK_OK(single.status);
    pthread_t threads[4];
    job jobs[4];
    for (int t = 0; t < 4; t++) {
        jobs[t] = (job){net, x, got[t], SYN_OK};
        CHECK(pthread_create(&threads[t], NULL, infer, &jobs[t]) == 0, "thread %d", t);
    }
    for (int t = 0; t < 4; t++) {
        pthread_join(threads[t], NULL);
        CHECK_OK(jobs[t].status);
        CHECK(memcmp(got[t], want, sizeof want) == 0, "thread %d outputs differ", t);
    }
    free(x);
    free(y);
    syn_net_free(net);
}

int main(void)
{
    settle_runtime_threads();
    if (!strcmp(syn_gemm_backend(), "openblas"))
        printf("GEMM backend openblas (its threads are started before each count)\n");
    size_t n1;
    float *p1 = train_with(1, &n1);
    static const int counts[] = {2, 3, 8, 0};
    for (int busy = 0; busy < 2; busy++) {
        pid_t pid = busy ? start_busy() : 0;
        CHECK(pid >= 0, "%s", "fork of the busy process failed");
        for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
            size_t n;
            float *p = train_with(counts[i], &n);
            CHECK(n == n1 && memcmp(p1, p, n1 * sizeof *p1) == 0,
                  "1 vs %d threads%s: not bit-identical", counts[i],
                  busy ? " (one busy process)" : "");
            free(p);
        }
        stop_busy(pid);
    }
    free(p1);
    test_no_leak();
    test_concurrent_inference();
    return check_finish();
}
