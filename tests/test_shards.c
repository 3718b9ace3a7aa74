/* test_shards.c - the sharded training path (synapse.h, "several
 * processes"; src/core/shard.c) without MPI: a job of N ranks is N threads
 * in this process joined by a syn_comm of barriers. Checks that
 *  - the parameters after every epoch are bit-identical for N = 1, 2, 3, 4,
 *    5 and 13 ranks (13 > SYN_SHARDS: a rank with no shard) and for
 *    syn_comm_single, on dense + dropout + layernorm nets, mean and sum
 *    reductions, batches of 12, 6, 3 and 2 shards that do not divide
 *    evenly, a last partial batch, class weights (the mean divides by the
 *    target weight); every rank ends with the same bits; the same with
 *    batch norm (statistics over the global batch): BatchNorm1d alone,
 *    twice with dropout and layer norm, with class weights, with the sum
 *    reduction, and BatchNorm2d after a conv with 2-d dropout and pooling;
 *  - syn_shard_count's table;
 *  - the sharded step is the plain step's gradient to float rounding
 *    (one SGD step, parameters within 1e-6 relative; with batch norm the
 *    running statistics too, which per-rank or per-shard statistics would
 *    miss), and the caller-array path (syn_trainer_step) matches the
 *    dataset path;
 *  - a non-finite loss on one rank's shard is DIVERGED on every rank;
 *    a failing comm surfaces as its status on every rank, and no rank
 *    waits on another, also inside batch norm's collectives. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "synapse.h"

#define N_IN 7
#define N_ROWS 1603
#define MAX_RANKS 16

/* ---------------------------------------------------------------- a comm of threads */
typedef struct world {
    int size;
    pthread_barrier_t bar;
    void *bufs[MAX_RANKS];
    int fail_call; /* the collective (counted from 1) that fails, 0: none */
    int calls[MAX_RANKS];
} world;

typedef struct rank_ctx {
    world *w;
    int rank;
} rank_ctx;

/* Every rank publishes its buffer; each computes the reduction into a
 * copy; after a second barrier each writes its copy back. */
static syn_status reduce(rank_ctx *c, void *buf, size_t n, int is_max)
{
    world *w = c->w;
    if (w->fail_call && ++w->calls[c->rank] >= w->fail_call)
        return SYN_ERR_COMM; /* every rank fails at the same call: none waits */
    w->bufs[c->rank] = buf;
    pthread_barrier_wait(&w->bar);
    void *tmp = malloc(n * 8 + 8);
    for (size_t i = 0; i < n; i++) {
        if (is_max) {
            double m = ((double *)w->bufs[0])[i];
            for (int r = 1; r < w->size; r++)
                m = fmax(m, ((double *)w->bufs[r])[i]);
            ((double *)tmp)[i] = m;
        } else {
            int64_t s = 0;
            for (int r = 0; r < w->size; r++)
                s += ((int64_t *)w->bufs[r])[i];
            ((int64_t *)tmp)[i] = s;
        }
    }
    pthread_barrier_wait(&w->bar);
    memcpy(buf, tmp, n * 8);
    free(tmp);
    pthread_barrier_wait(&w->bar);
    return SYN_OK;
}

static syn_status t_sum(void *ctx, int64_t *buf, size_t n)
{
    return reduce(ctx, buf, n, 0);
}

static syn_status t_max(void *ctx, double *buf, size_t n)
{
    return reduce(ctx, buf, n, 1);
}

static syn_status t_bcast(void *ctx, void *buf, size_t bytes, int root)
{
    rank_ctx *c = ctx;
    c->w->bufs[c->rank] = buf;
    pthread_barrier_wait(&c->w->bar);
    if (c->rank != root)
        memcpy(buf, c->w->bufs[root], bytes);
    pthread_barrier_wait(&c->w->bar);
    return SYN_OK;
}

static syn_status t_barrier(void *ctx)
{
    rank_ctx *c = ctx;
    pthread_barrier_wait(&c->w->bar);
    return SYN_OK;
}

/* ---------------------------------------------------------------- the runs */
typedef struct setup {
    int kind; /* 0: dense, 1: + dropout and layernorm, 2: batch norm, 3: + dropout,
               * 4: batch norm twice + dropout and layernorm, 5: conv + batch norm 2d */
    syn_reduction reduction;
    size_t batch, epochs;
    int poison_row;       /* >= 0: this row's feature is NaN */
    int weighted;         /* class weights and label smoothing on the loss */
} setup;

static syn_net *make_net(const setup *s)
{
    syn_layer_desc dense[3] = {{.units = 24, .activation = SYN_ACT_RELU},
                               {.units = 24, .activation = SYN_ACT_TANH},
                               {.units = 3, .activation = SYN_ACT_SOFTMAX}};
    syn_layer_desc mixed[5] = {{.units = 24, .activation = SYN_ACT_RELU},
                               {.kind = SYN_LAYER_DROPOUT, .rate = 0.3f,
                                .activation = SYN_ACT_LINEAR},
                               {.kind = SYN_LAYER_LAYERNORM, .activation = SYN_ACT_LINEAR},
                               {.units = 12, .activation = SYN_ACT_TANH},
                               {.units = 3, .activation = SYN_ACT_SOFTMAX}};
    /* Products wide enough for one pass over a rank's shards
     * (syn_net_rows_split_ok): kinds 0 and 3; kind 1's layer norm takes a
     * pass per shard. */
    syn_layer_desc drop[4] = {{.units = 24, .activation = SYN_ACT_RELU},
                              {.kind = SYN_LAYER_DROPOUT, .rate = 0.3f,
                               .activation = SYN_ACT_LINEAR},
                              {.units = 24, .activation = SYN_ACT_TANH},
                              {.units = 3, .activation = SYN_ACT_SOFTMAX}};
    /* No bias before a batch norm (it would cancel): its gradient is 0 but
     * for rounding, which Adam would scale to whole steps, so the sharded
     * and the plain runs would part by lr a step there. */
    syn_layer_desc bn[3] = {{.units = 24, .activation = SYN_ACT_LINEAR, .no_bias = 1},
                            {.kind = SYN_LAYER_BATCHNORM, .activation = SYN_ACT_RELU},
                            {.units = 3, .activation = SYN_ACT_SOFTMAX}};
    syn_net_desc d = {.n_inputs = N_IN, .loss = SYN_LOSS_CROSS_ENTROPY, .seed = 11,
                      .reduction = s->reduction};
    /* Batch norm with layers that take a part (shard) at a time inside the
     * rank's one pass: layer norm, and conv, pooling and 2-d dropout over
     * the 7 inputs as a 1 x 7 x 1 image. */
    syn_layer_desc bn_mixed[7] = {{.units = 24, .activation = SYN_ACT_LINEAR, .no_bias = 1},
                                  {.kind = SYN_LAYER_BATCHNORM, .activation = SYN_ACT_RELU},
                                  {.kind = SYN_LAYER_DROPOUT, .rate = 0.3f,
                                   .activation = SYN_ACT_LINEAR},
                                  {.kind = SYN_LAYER_LAYERNORM, .activation = SYN_ACT_LINEAR},
                                  {.units = 12, .activation = SYN_ACT_TANH, .no_bias = 1},
                                  {.kind = SYN_LAYER_BATCHNORM, .activation = SYN_ACT_LINEAR},
                                  {.units = 3, .activation = SYN_ACT_SOFTMAX}};
    syn_layer_desc bn_conv[6] = {{.kind = SYN_LAYER_CONV2D, .units = 4, .kernel = {3, 1},
                                  .padding = {1, 0}, .no_bias = 1},
                                 {.kind = SYN_LAYER_BATCHNORM2D, .activation = SYN_ACT_RELU},
                                 {.kind = SYN_LAYER_DROPOUT2D, .rate = 0.25f},
                                 {.kind = SYN_LAYER_MAXPOOL2D, .kernel = {2, 1}},
                                 {.kind = SYN_LAYER_FLATTEN},
                                 {.units = 3, .activation = SYN_ACT_SOFTMAX}};
    const syn_layer_desc *layers[6] = {dense, mixed, bn, drop, bn_mixed, bn_conv};
    const size_t counts[6] = {3, 5, 3, 4, 7, 6};
    d.layers = layers[s->kind];
    d.n_layers = counts[s->kind];
    if (s->kind == 5) {
        d.input_shape[0] = 1;
        d.input_shape[1] = N_IN;
        d.input_shape[2] = 1;
    }
    syn_net *net = NULL;
    syn_net_create(&d, &net);
    if (net && s->weighted) {
        /* Class 1 weighs nothing: a shard may hold no target weight. */
        static const float w[3] = {0.5f, 0.0f, 3.0f};
        syn_loss_options o = {.label_smoothing = 0.0f, .class_weights = w,
                              .n_class_weights = 3};
        syn_net_set_loss_options(net, &o);
    }
    return net;
}

/* Each rank (a thread) builds its own copy: the arrays are its own, since
 * shared static ones raced (every rank rewrote the poisoned row while
 * another copied it; ThreadSanitizer found it, and test_shards failed now
 * and then under load). */
static syn_dataset *make_data(const setup *s)
{
    float *x = malloc(N_ROWS * N_IN * sizeof *x);
    uint32_t *y = malloc(N_ROWS * sizeof *y);
    syn_dataset *ds = NULL;
    if (x && y) {
        syn_rng rng;
        syn_rng_seed(&rng, 4);
        for (size_t i = 0; i < N_ROWS * N_IN; i++)
            x[i] = (float)(syn_rng_uniform(&rng) * 4.0 - 2.0);
        for (size_t r = 0; r < N_ROWS; r++)
            y[r] = (uint32_t)((x[r * N_IN] + x[r * N_IN + 1] > 0) + (x[r * N_IN + 2] > 1));
        if (s->poison_row >= 0)
            x[s->poison_row * N_IN] = NAN;
        syn_dataset_from_labels(x, N_ROWS, N_IN, y, 3, &ds);
    }
    free(x);
    free(y);
    return ds;
}

typedef struct rank_run {
    const setup *s;
    const syn_comm *comm;  /* NULL: plain path */
    float *params;         /* out: after training */
    size_t n_params;
    syn_status st;
    double loss;
} rank_run;

static void *train_rank(void *arg)
{
    rank_run *rr = arg;
    syn_net *net = make_net(rr->s);
    syn_dataset *ds = make_data(rr->s);
    syn_optim_desc od = syn_optim_defaults(SYN_OPTIM_ADAM);
    syn_train_desc td = {.batch_size = rr->s->batch, .seed = 9, .n_threads = 1};
    syn_trainer *tr = NULL;
    rr->st = syn_trainer_create(net, &od, &td, &tr);
    if (rr->st == SYN_OK && rr->comm)
        rr->st = syn_trainer_set_comm(tr, rr->comm);
    for (size_t e = 0; rr->st == SYN_OK && e < rr->s->epochs; e++) {
        syn_epoch_stats stats;
        rr->st = syn_trainer_epoch(tr, ds, NULL, 0, NULL, NULL, &stats);
        rr->loss = stats.loss;
    }
    const float *p = syn_net_params(net, &rr->n_params);
    rr->params = malloc(rr->n_params * sizeof(float));
    memcpy(rr->params, p, rr->n_params * sizeof(float));
    syn_trainer_free(tr);
    syn_dataset_free(ds);
    syn_net_free(net);
    return NULL;
}

/* A job of n ranks (n = 0: one process through syn_comm_single; n < 0:
 * the plain path). Returns rank 0's run; checks every rank agrees. */
static rank_run run_job(const setup *s, int n, int fail_call)
{
    rank_run runs[MAX_RANKS];
    memset(runs, 0, sizeof runs);
    if (n <= 0) {
        syn_comm single = syn_comm_single();
        runs[0] = (rank_run){.s = s, .comm = n == 0 ? &single : NULL};
        train_rank(&runs[0]);
        return runs[0];
    }
    world w = {.size = n, .fail_call = fail_call};
    pthread_barrier_init(&w.bar, NULL, (unsigned)n);
    rank_ctx ctx[MAX_RANKS];
    syn_comm comms[MAX_RANKS];
    pthread_t th[MAX_RANKS];
    for (int r = 0; r < n; r++) {
        ctx[r] = (rank_ctx){&w, r};
        comms[r] = (syn_comm){.rank = r, .size = n, .ctx = &ctx[r], .sum_i64 = t_sum,
                              .max_f64 = t_max, .broadcast = t_bcast, .barrier = t_barrier};
        runs[r] = (rank_run){.s = s, .comm = &comms[r]};
        pthread_create(&th[r], NULL, train_rank, &runs[r]);
    }
    for (int r = 0; r < n; r++)
        pthread_join(th[r], NULL);
    pthread_barrier_destroy(&w.bar);
    for (int r = 1; r < n; r++) {
        CHECK(runs[r].st == runs[0].st, "rank %d status %d, rank 0 %d", r, runs[r].st,
              runs[0].st);
        CHECK(!memcmp(runs[r].params, runs[0].params, runs[0].n_params * sizeof(float)),
              "%d ranks: rank %d's parameters differ from rank 0's", n, r);
        CHECK(runs[r].loss == runs[0].loss || (isnan(runs[r].loss) && isnan(runs[0].loss)),
              "rank %d loss %.17g vs %.17g", r, runs[r].loss, runs[0].loss);
        free(runs[r].params);
    }
    return runs[0];
}

static void identity_across_ranks(const setup *s, const char *name)
{
    rank_run one = run_job(s, 0, 0);
    CHECK(one.st == SYN_OK, "%s: single: %s", name, syn_strerror(one.st));
    const int ns[] = {1, 2, 3, 4, 5, 13};
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
        rank_run r = run_job(s, ns[i], 0);
        CHECK(r.st == SYN_OK, "%s: %d ranks: %s", name, ns[i], syn_strerror(r.st));
        CHECK(r.n_params == one.n_params &&
                  !memcmp(r.params, one.params, one.n_params * sizeof(float)),
              "%s: %d ranks differ from one process", name, ns[i]);
        CHECK(r.loss == one.loss, "%s: %d ranks: loss %.17g vs %.17g", name, ns[i], r.loss,
              one.loss);
        free(r.params);
    }
    /* The plain path is the same training to float rounding. */
    rank_run plain = run_job(s, -1, 0);
    double worst = 0.0;
    for (size_t i = 0; i < one.n_params; i++) {
        double d = fabs((double)plain.params[i] - (double)one.params[i]);
        worst = d > worst ? d : worst;
    }
    CHECK(worst < 2e-3, "%s: sharded vs plain after %zu epochs: max |diff| %g", name,
          s->epochs, worst);
    free(plain.params);
    free(one.params);
}

/* One SGD step from the same start: the sharded gradient is the plain one
 * to rounding; the caller-array path equals the dataset path. With batch
 * norm the running statistics too: statistics of each rank's or shard's
 * rows alone would miss by far more than rounding. */
static void one_step_matches_plain(int kind)
{
    enum { B = 300 }; /* 4 shards */
    setup s = {.kind = kind, .batch = B, .epochs = 1, .poison_row = -1};
    static float x[B * N_IN], y[B * 3];
    syn_rng rng;
    syn_rng_seed(&rng, 8);
    for (size_t i = 0; i < sizeof x / sizeof x[0]; i++)
        x[i] = (float)(syn_rng_uniform(&rng) * 2 - 1);
    memset(y, 0, sizeof y);
    for (int r = 0; r < B; r++)
        y[r * 3 + r % 3] = 1.0f;
    float *after[2] = {NULL, NULL}, *state[2] = {NULL, NULL};
    size_t n = 0, n_state = 0;
    for (int mode = 0; mode < 2; mode++) {
        syn_net *net = make_net(&s);
        syn_optim_desc od = syn_optim_defaults(SYN_OPTIM_SGD);
        od.lr = 1.0f;
        syn_train_desc td = {.batch_size = B, .seed = 1};
        syn_trainer *tr = NULL;
        CHECK_OK(syn_trainer_create(net, &od, &td, &tr));
        syn_comm single = syn_comm_single();
        if (mode)
            CHECK_OK(syn_trainer_set_comm(tr, &single));
        double loss;
        CHECK_OK(syn_trainer_step(tr, x, y, B, &loss));
        const float *p = syn_net_params(net, &n);
        after[mode] = malloc(n * sizeof(float));
        memcpy(after[mode], p, n * sizeof(float));
        const float *st = syn_net_state(net, &n_state);
        state[mode] = malloc((n_state + 1) * sizeof(float));
        if (n_state)
            memcpy(state[mode], st, n_state * sizeof(float));
        syn_trainer_free(tr);
        syn_net_free(net);
    }
    int close = 1, same = 1;
    for (size_t i = 0; i < n; i++) {
        double a = after[0][i], b = after[1][i];
        close &= fabs(a - b) <= 1e-6 * fabs(a) + 1e-7;
        same &= a == b;
    }
    CHECK(close, "kind %d, one SGD step: sharded and plain parameters differ beyond rounding",
          kind);
    (void)same;
    int close_state = 1;
    for (size_t i = 0; i < n_state; i++)
        close_state &= fabs((double)state[0][i] - state[1][i]) <= 1e-6 * fabs(state[0][i]) +
                                                                   1e-7;
    CHECK(close_state, "kind %d: running statistics after one sharded step are not the "
          "plain step's", kind);
    free(after[0]);
    free(after[1]);
    free(state[0]);
    free(state[1]);
}

static void failures(void)
{
    setup s = {.kind = 0, .batch = 400, .epochs = 1, .poison_row = 1000};
    for (int n = 1; n <= 4; n++) {
        rank_run r = run_job(&s, n, 0);
        CHECK(r.st == SYN_ERR_DIVERGED, "NaN row, %d ranks: %s", n, syn_strerror(r.st));
        free(r.params);
    }
    s.poison_row = -1;
    rank_run r = run_job(&s, 3, 5);
    CHECK(r.st == SYN_ERR_COMM, "failing comm, 3 ranks: %s", syn_strerror(r.st));
    free(r.params);
    /* Batch norm: a NaN row, and a comm failing inside the forward pass
     * (collective 2: the first layer's variance) and the backward pass
     * (collective 4 of a step with 2 batch-norm layers' 6 + 2). */
    s.kind = 4;
    s.poison_row = 1000;
    for (int n = 1; n <= 4; n++) {
        r = run_job(&s, n, 0);
        CHECK(r.st == SYN_ERR_DIVERGED, "batch norm, NaN row, %d ranks: %s", n,
              syn_strerror(r.st));
        free(r.params);
    }
    s.poison_row = -1;
    const int fail_at[] = {2, 4, 7};
    for (size_t i = 0; i < 3; i++) {
        r = run_job(&s, 3, fail_at[i]);
        CHECK(r.st == SYN_ERR_COMM, "batch norm, comm failing at call %d, 3 ranks: %s",
              fail_at[i], syn_strerror(r.st));
        free(r.params);
    }
    s.kind = 0;
    syn_net *net = make_net(&s);
    syn_optim_desc od = syn_optim_defaults(SYN_OPTIM_ADAM);
    syn_train_desc td = {.batch_size = 400};
    syn_trainer *tr = NULL;
    CHECK_OK(syn_trainer_create(net, &od, &td, &tr));
    syn_comm single = syn_comm_single();
    syn_comm bad = single;
    bad.size = 0;
    CHECK(syn_trainer_set_comm(tr, &bad) == SYN_ERR_INVALID_ARGUMENT, "size 0 refused");
    bad = single;
    bad.sum_i64 = NULL;
    CHECK(syn_trainer_set_comm(tr, &bad) == SYN_ERR_INVALID_ARGUMENT, "NULL function");
    CHECK_OK(syn_trainer_set_comm(tr, NULL));
    syn_trainer_free(tr);
    syn_net_free(net);
}

static void shard_counts(void)
{
    const size_t batch[] = {1, 63, 127, 128, 191, 192, 256, 383, 384, 511, 512, 767, 768,
                            100000};
    const size_t want[] = {1, 1, 1, 2, 2, 3, 4, 4, 6, 6, 8, 8, 12, 12};
    for (size_t i = 0; i < sizeof batch / sizeof batch[0]; i++)
        CHECK(syn_shard_count(batch[i]) == want[i], "batch %zu: %zu shards, want %zu",
              batch[i], syn_shard_count(batch[i]), want[i]);
}

int main(void)
{
    shard_counts();
    setup dense = {.kind = 0, .reduction = SYN_REDUCTION_MEAN, .batch = 770, .epochs = 2,
                   .poison_row = -1};
    identity_across_ranks(&dense, "dense, batch 770 (12 shards; last batch 63)");
    /* The last batch, 304 rows, has 4 shards of 76 rows: more than the
     * 73 of a whole batch's 6. */
    setup mixed = {.kind = 1, .reduction = SYN_REDUCTION_MEAN, .batch = 433, .epochs = 2,
                   .poison_row = -1};
    identity_across_ranks(&mixed, "dropout + layernorm, batch 433 (6 shards; last 4)");
    setup drop = {.kind = 3, .reduction = SYN_REDUCTION_MEAN, .batch = 433, .epochs = 2,
                  .poison_row = -1};
    identity_across_ranks(&drop, "dropout, one pass per rank, batch 433 (6 shards; last 4)");
    setup drop_sum = {.kind = 3, .reduction = SYN_REDUCTION_SUM, .batch = 770, .epochs = 1,
                      .poison_row = -1, .weighted = 0};
    identity_across_ranks(&drop_sum, "dropout, sum reduction, batch 770 (12 shards)");
    setup sum = {.kind = 1, .reduction = SYN_REDUCTION_SUM, .batch = 200, .epochs = 1,
                 .poison_row = -1};
    identity_across_ranks(&sum, "sum reduction, batch 200 (3 shards)");
    setup two = {.kind = 0, .reduction = SYN_REDUCTION_MEAN, .batch = 130, .epochs = 1,
                 .poison_row = -1};
    identity_across_ranks(&two, "batch 130 (2 shards)");
    /* The mean divides by the batch's target weight, not its rows. */
    setup weighted = {.kind = 1, .reduction = SYN_REDUCTION_MEAN, .batch = 770, .epochs = 1,
                      .poison_row = -1, .weighted = 1};
    identity_across_ranks(&weighted, "class weights, batch 770 (12 shards)");
    /* Batch norm: statistics over the global batch, whatever the ranks. */
    setup bn = {.kind = 2, .reduction = SYN_REDUCTION_MEAN, .batch = 770, .epochs = 2,
                .poison_row = -1};
    identity_across_ranks(&bn, "batch norm, batch 770 (12 shards; last batch 63)");
    setup bn_mixed = {.kind = 4, .reduction = SYN_REDUCTION_MEAN, .batch = 433, .epochs = 2,
                      .poison_row = -1};
    identity_across_ranks(&bn_mixed, "batch norm twice + dropout + layernorm, batch 433");
    setup bn_weighted = {.kind = 4, .reduction = SYN_REDUCTION_MEAN, .batch = 770,
                         .epochs = 1, .poison_row = -1, .weighted = 1};
    identity_across_ranks(&bn_weighted, "batch norm, class weights, batch 770");
    setup bn_sum = {.kind = 2, .reduction = SYN_REDUCTION_SUM, .batch = 200, .epochs = 1,
                    .poison_row = -1};
    identity_across_ranks(&bn_sum, "batch norm, sum reduction, batch 200 (3 shards)");
    setup bn_conv = {.kind = 5, .reduction = SYN_REDUCTION_MEAN, .batch = 433, .epochs = 2,
                     .poison_row = -1};
    identity_across_ranks(&bn_conv, "conv + batch norm 2d + dropout 2d + pool, batch 433");
    one_step_matches_plain(0);
    one_step_matches_plain(2);
    one_step_matches_plain(4);
    one_step_matches_plain(5);
    failures();
    return check_finish();
}
