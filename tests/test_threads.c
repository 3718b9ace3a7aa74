/* test_threads.c - results do not depend on the thread count, and one
 * network serves inference from many threads at once, each with its own
 * workspace. The shapes are large enough that every kernel actually runs
 * in parallel (above the thresholds in pass.c, optim.c and the GEMM). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
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
    for (int s = 0; s < STEPS; s++)
        CHECK_OK(syn_trainer_step(tr, x, y, BATCH, NULL));
    float *params = syn_net_params(net, count);
    float *copy = malloc(*count * sizeof *copy);
    memcpy(copy, params, *count * sizeof *copy);
    free(x);
    free(y);
    syn_trainer_free(tr);
    syn_net_free(net);
    return copy;
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
    size_t n1, n2, n3;
    float *p1 = train_with(1, &n1), *p2 = train_with(2, &n2), *p3 = train_with(3, &n3);
    CHECK(n1 == n2 && memcmp(p1, p2, n1 * sizeof *p1) == 0, "1 vs 2 threads: not bit-identical");
    CHECK(n1 == n3 && memcmp(p1, p3, n1 * sizeof *p1) == 0, "1 vs 3 threads: not bit-identical");
    size_t n0;
    float *p0 = train_with(0, &n0);
    CHECK(memcmp(p1, p0, n1 * sizeof *p1) == 0, "1 vs default threads: not bit-identical");
    free(p0);
    free(p1);
    free(p2);
    free(p3);
    test_concurrent_inference();
    return check_finish();
}
