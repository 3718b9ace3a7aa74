/* test_layers.c - the layer kinds (dropout, batch norm, layer norm) against
 * their definitions (PyTorch's, computed here in double), named refusals of
 * bad descriptions, thread-count bit-identity of training-mode passes,
 * central-difference gradient checks in training mode, and the memory
 * estimate against what the allocator really hands out. */
#include <malloc.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "synapse.h"

#define B 12
#define N_IN 7

static void fill(float *x, size_t n, uint64_t seed, float scale, float shift)
{
    syn_rng rng;
    syn_rng_seed(&rng, seed);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(scale * (2.0 * syn_rng_uniform(&rng) - 1.0)) + shift;
}

/* ---- descriptions refused, with the layer named ---------------------- */

static void expect_refused(const syn_layer_desc *layers, size_t n, const char *needle)
{
    syn_net_desc desc = {.n_inputs = N_IN, .n_layers = n, .layers = layers};
    syn_error err = {{0}};
    syn_net *net = NULL;
    CHECK(syn_net_desc_check(&desc, &err) == SYN_ERR_INVALID_ARGUMENT, "refused: %s", needle);
    CHECK(strstr(err.message, needle) != NULL, "message \"%s\" names \"%s\"", err.message,
          needle);
    CHECK(syn_net_create(&desc, &net) == SYN_ERR_INVALID_ARGUMENT && !net, "create refuses %s",
          needle);
}

static void test_refusals(void)
{
    syn_layer_desc a[2] = {{.kind = SYN_LAYER_DROPOUT, .rate = 1.0f}, {.units = 2}};
    expect_refused(a, 2, "layer 0 (dropout): rate 1 is not in [0, 1)");
    a[0].rate = -0.1f;
    expect_refused(a, 2, "layer 0 (dropout): rate -0.1");
    a[0].rate = NAN;
    expect_refused(a, 2, "layer 0 (dropout): rate nan");
    syn_layer_desc b[2] = {{.kind = SYN_LAYER_DROPOUT, .rate = 0.5f,
                            .activation = SYN_ACT_RELU},
                           {.units = 2}};
    expect_refused(b, 2, "layer 0 (dropout): a dropout layer takes only a rate");
    syn_layer_desc c[3] = {{.units = 5}, {.kind = SYN_LAYER_BATCHNORM, .units = 4}, {.units = 2}};
    expect_refused(c, 3, "layer 1 (batchnorm): units 4: this kind keeps its input width 5");
    c[1].units = 5;
    c[1].momentum = 1.5f;
    expect_refused(c, 3, "layer 1 (batchnorm): momentum 1.5");
    c[1].momentum = 0;
    c[1].eps = -1e-3f;
    expect_refused(c, 3, "layer 1 (batchnorm): eps");
    c[1].eps = 0;
    c[1].rate = 0.2f;
    expect_refused(c, 3, "layer 1 (batchnorm): rate");
    syn_layer_desc d[2] = {{.kind = SYN_LAYER_LAYERNORM, .momentum = 0.2f}, {.units = 2}};
    expect_refused(d, 2, "layer 0 (layernorm): rate and momentum");
    syn_layer_desc e[2] = {{.kind = (syn_layer_kind)SYN_LAYER_COUNT_}, {.units = 2}};
    expect_refused(e, 2, "layer 0: unknown kind");
    syn_layer_desc f[2] = {{.kind = SYN_LAYER_LAYERNORM, .activation = SYN_ACT_SOFTMAX},
                           {.units = 2}};
    expect_refused(f, 2, "layer 0 (layernorm): softmax before the output layer");
    syn_layer_desc g[2] = {{.units = 3, .rate = 0.5f}, {.units = 2}};
    expect_refused(g, 2, "layer 0 (dense): rate, eps and momentum");
    CHECK(strcmp(syn_layer_kind_name(SYN_LAYER_BATCHNORM), "batchnorm") == 0, "kind name");
    CHECK(syn_layer_kind_name(SYN_LAYER_COUNT_) == NULL, "no name past the count");
}

/* ---- one kind alone, against its definition ------------------------- */

static syn_net *single(syn_layer_kind kind, float rate, syn_activation act)
{
    syn_layer_desc l = {.kind = kind, .rate = rate, .activation = act};
    syn_net_desc desc = {.n_inputs = N_IN, .n_layers = 1, .layers = &l, .seed = 3};
    syn_net *net = NULL;
    CHECK_OK(syn_net_create(&desc, &net));
    return net;
}

static void test_dropout(void)
{
    enum { R = 64, U = 256 };
    syn_layer_desc l = {.kind = SYN_LAYER_DROPOUT, .rate = 0.3f};
    syn_net_desc desc = {.n_inputs = U, .n_layers = 1, .layers = &l};
    syn_net *net = NULL;
    syn_workspace *ws = NULL;
    CHECK_OK(syn_net_create(&desc, &net));
    CHECK_OK(syn_workspace_create(net, R, &ws));
    if (!net || !ws)
        return;
    CHECK(syn_net_param_count(net) == 0, "dropout has no parameters");
    float *x = malloc(R * U * sizeof(float));
    fill(x, R * U, 1, 1.0f, 2.0f); /* all positive: a zero is a dropped unit */
    const float *y;
    CHECK_OK(syn_forward(net, ws, x, R, &y));
    CHECK(memcmp(x, y, R * U * sizeof(float)) == 0, "identity at inference");
    CHECK_OK(syn_forward_train(net, ws, x, R, 5, 9, &y));
    size_t dropped = 0, scaled = 0;
    for (size_t i = 0; i < (size_t)R * U; i++) {
        dropped += y[i] == 0.0f;
        scaled += y[i] == x[i] * (1.0f / 0.7f);
    }
    double frac = (double)dropped / (R * U);
    /* 16384 Bernoulli(0.3) draws: sd 0.0036, so 0.28..0.32 is > 5 sd. */
    CHECK(frac > 0.28 && frac < 0.32, "dropped fraction %.4f near 0.3", frac);
    CHECK(dropped + scaled == (size_t)R * U, "kept units scaled by 1/(1-p)");
    float *y1 = malloc(R * U * sizeof(float));
    memcpy(y1, y, R * U * sizeof(float));
    CHECK_OK(syn_forward_train(net, ws, x, R, 5, 9, &y));
    CHECK(memcmp(y, y1, R * U * sizeof(float)) == 0, "same (seed, step): same mask");
    CHECK_OK(syn_forward_train(net, ws, x, R, 5, 10, &y));
    CHECK(memcmp(y, y1, R * U * sizeof(float)) != 0, "next step: another mask");
    CHECK_OK(syn_forward_train(net, ws, x, R, 6, 9, &y));
    CHECK(memcmp(y, y1, R * U * sizeof(float)) != 0, "another seed: another mask");
    /* Rows are independent draws: row 0 and row 1 differ. */
    CHECK(memcmp(y1, y1 + U, U * sizeof(float)) != 0, "rows differ");
    /* Backward uses the same mask: d_in = d_out * mask / (1 - p). */
    CHECK_OK(syn_forward_train(net, ws, x, R, 5, 9, &y));
    size_t n_grads;
    syn_workspace_grads(ws, &n_grads);
    CHECK(n_grads == 0, "no gradients");
    free(x);
    free(y1);
    syn_workspace_free(ws);
    syn_net_free(net);
}

static void test_batchnorm(void)
{
    syn_net *net = single(SYN_LAYER_BATCHNORM, 0, SYN_ACT_LINEAR);
    syn_workspace *ws = NULL;
    if (!net)
        return;
    CHECK_OK(syn_workspace_create(net, B, &ws));
    float x[B * N_IN];
    fill(x, B * N_IN, 2, 3.0f, 1.5f);
    float *gamma, *beta;
    CHECK_OK(syn_net_layer_params(net, 0, &gamma, &beta));
    size_t n_state;
    float *state = syn_net_state(net, &n_state);
    CHECK(n_state == 2 * N_IN, "running mean and var: %zu floats", n_state);
    CHECK(state[0] == 0.0f && state[N_IN] == 1.0f && gamma[0] == 1.0f && beta[0] == 0.0f,
          "PyTorch's initial values");
    for (int c = 0; c < N_IN; c++) {
        gamma[c] = 0.5f + 0.1f * (float)c;
        beta[c] = -0.2f * (float)c;
    }
    const float *y;
    CHECK_OK(syn_forward_train(net, ws, x, B, 0, 0, &y));
    double worst = 0, worst_rs = 0;
    for (int c = 0; c < N_IN; c++) {
        double m = 0, v = 0;
        for (int r = 0; r < B; r++)
            m += x[r * N_IN + c];
        m /= B;
        for (int r = 0; r < B; r++)
            v += (x[r * N_IN + c] - m) * (x[r * N_IN + c] - m);
        for (int r = 0; r < B; r++) {
            double want = (x[r * N_IN + c] - m) / sqrt(v / B + 1e-5) * gamma[c] + beta[c];
            worst = fmax(worst, fabs(y[r * N_IN + c] - want));
        }
        /* running = 0.9 * initial + 0.1 * batch (unbiased variance). */
        worst_rs = fmax(worst_rs, fabs(state[c] - 0.1 * m));
        worst_rs = fmax(worst_rs, fabs(state[N_IN + c] - (0.9 + 0.1 * v / (B - 1))));
    }
    CHECK(worst < 2e-6, "training output = batch-normalized, worst %.3g", worst);
    CHECK(worst_rs < 1e-6, "running statistics updated, worst %.3g", worst_rs);
    CHECK_OK(syn_forward(net, ws, x, B, &y));
    worst = 0;
    for (int r = 0; r < B; r++)
        for (int c = 0; c < N_IN; c++) {
            double want = (x[r * N_IN + c] - state[c]) / sqrt(state[N_IN + c] + 1e-5) *
                              gamma[c] + beta[c];
            worst = fmax(worst, fabs(y[r * N_IN + c] - want));
        }
    CHECK(worst < 2e-6, "inference output from the running statistics, worst %.3g", worst);
    CHECK(syn_forward_train(net, ws, x, 1, 0, 0, &y) == SYN_ERR_SHAPE,
          "one row: no batch variance (PyTorch refuses it too)");
    syn_workspace_free(ws);
    syn_net_free(net);
}

static void test_layernorm(void)
{
    syn_net *net = single(SYN_LAYER_LAYERNORM, 0, SYN_ACT_TANH);
    syn_workspace *ws = NULL;
    if (!net)
        return;
    CHECK_OK(syn_workspace_create(net, B, &ws));
    float x[B * N_IN];
    fill(x, B * N_IN, 4, 2.0f, -0.5f);
    float *gamma, *beta;
    CHECK_OK(syn_net_layer_params(net, 0, &gamma, &beta));
    for (int c = 0; c < N_IN; c++) {
        gamma[c] = 1.5f - 0.1f * (float)c;
        beta[c] = 0.05f * (float)c;
    }
    const float *y;
    CHECK_OK(syn_forward(net, ws, x, B, &y));
    double worst = 0;
    for (int r = 0; r < B; r++) {
        double m = 0, v = 0;
        for (int c = 0; c < N_IN; c++)
            m += x[r * N_IN + c];
        m /= N_IN;
        for (int c = 0; c < N_IN; c++)
            v += (x[r * N_IN + c] - m) * (x[r * N_IN + c] - m);
        for (int c = 0; c < N_IN; c++) {
            double want =
                tanh((x[r * N_IN + c] - m) / sqrt(v / N_IN + 1e-5) * gamma[c] + beta[c]);
            worst = fmax(worst, fabs(y[r * N_IN + c] - want));
        }
    }
    CHECK(worst < 2e-6, "layer norm then tanh, worst %.3g", worst);
    float y0[B * N_IN];
    memcpy(y0, y, sizeof y0);
    CHECK_OK(syn_forward_train(net, ws, x, B, 0, 0, &y));
    CHECK(memcmp(y0, y, sizeof y0) == 0, "the same in training mode");
    syn_workspace_free(ws);
    syn_net_free(net);
}

/* ---- a net of every kind: threads, gradients, memory ----------------- */

#define MIX_LAYERS 7
static const syn_layer_desc mix[MIX_LAYERS] = {
    {.units = 9, .activation = SYN_ACT_TANH},
    {.kind = SYN_LAYER_BATCHNORM, .activation = SYN_ACT_SIGMOID},
    {.kind = SYN_LAYER_DROPOUT, .rate = 0.25f},
    {.units = 8, .activation = SYN_ACT_LINEAR, .no_bias = 1},
    {.kind = SYN_LAYER_LAYERNORM, .activation = SYN_ACT_TANH},
    {.kind = SYN_LAYER_BATCHNORM, .no_bias = 1, .momentum = 0.3f, .eps = 1e-3f},
    {.units = 4, .activation = SYN_ACT_SOFTMAX},
};

static syn_net *mix_net(size_t n_inputs, const syn_layer_desc *layers, size_t n)
{
    syn_net_desc desc = {.n_inputs = n_inputs, .n_layers = n, .layers = layers,
                         .loss = SYN_LOSS_CROSS_ENTROPY, .init = SYN_INIT_XAVIER_UNIFORM,
                         .seed = 11};
    syn_net *net = NULL;
    CHECK_OK(syn_net_create(&desc, &net));
    return net;
}

static void one_hot(float *t, size_t rows, size_t k, uint64_t seed)
{
    syn_rng rng;
    syn_rng_seed(&rng, seed);
    memset(t, 0, rows * k * sizeof(float));
    for (size_t r = 0; r < rows; r++)
        t[r * k + syn_rng_below(&rng, k)] = 1.0f;
}

/* Loss of the training-mode pass at the net's current parameters (the same
 * dropout mask: same seed and step), in double. */
static double train_loss(syn_net *net, syn_workspace *ws, const float *x, const float *t)
{
    double loss = 0;
    CHECK_OK(syn_forward_train(net, ws, x, B, 42, 7, NULL));
    CHECK_OK(syn_loss_value(net, ws, t, B, &loss));
    return loss;
}

/* Every parameter's gradient (dense weights and biases, gamma, beta, and
 * through the norms' and dropout's input gradients every layer below)
 * against central differences of the training-mode loss, dropout's mask
 * fixed by (seed, step). The differences are of a float32 forward pass:
 * with h = 1e-2 on losses ~1 their rounding noise is ~1e-7 / 1e-2 = 1e-5,
 * and the O(h^2) truncation of these smooth functions (tanh, sigmoid,
 * softmax; no kinks) is ~1e-5 relative. Hence |a - n| <= 2e-3 |n| +
 * 2e-4 max|n|: a wrong term (a missing batch-mean correction, a sign)
 * misses by far more, as a deliberately broken formula did. */
static void test_gradcheck(void)
{
    syn_net *net = mix_net(N_IN, mix, MIX_LAYERS);
    syn_workspace *ws = NULL;
    if (!net)
        return;
    CHECK_OK(syn_workspace_create(net, B, &ws));
    float x[B * N_IN], t[B * 4];
    fill(x, B * N_IN, 8, 1.5f, 0.3f);
    one_hot(t, B, 4, 9);
    size_t n;
    float *p = syn_net_params(net, &n);
    /* gamma and beta away from 1 and 0, so their gradients are not special. */
    for (size_t l = 0; l < MIX_LAYERS; l++) {
        float *g, *b;
        if (mix[l].kind == SYN_LAYER_DENSE || mix[l].kind == SYN_LAYER_DROPOUT)
            continue;
        CHECK_OK(syn_net_layer_params(net, l, &g, &b));
        size_t in;
        syn_net_layer(net, l, NULL, &in);
        for (size_t c = 0; c < in; c++) {
            g[c] = 0.7f + 0.05f * (float)c;
            if (b)
                b[c] = 0.1f - 0.03f * (float)c;
        }
    }
    train_loss(net, ws, x, t);
    CHECK_OK(syn_backward(net, ws, t, B));
    size_t ng;
    float *grads = syn_workspace_grads(ws, &ng);
    CHECK(ng == n, "gradient arena matches");
    float *analytic = malloc(n * sizeof(float));
    double *numeric = malloc(n * sizeof(double));
    memcpy(analytic, grads, n * sizeof(float));
    double scale = 0;
    for (size_t i = 0; i < n; i++) {
        float keep = p[i];
        const float h = 1e-2f;
        p[i] = keep + h;
        double up = train_loss(net, ws, x, t);
        p[i] = keep - h;
        double down = train_loss(net, ws, x, t);
        p[i] = keep;
        numeric[i] = (up - down) / (2.0 * (double)h);
        scale = fmax(scale, fabs(numeric[i]));
    }
    size_t bad = 0;
    for (size_t i = 0; i < n; i++)
        if (fabs(analytic[i] - numeric[i]) > 2e-3 * fabs(numeric[i]) + 2e-4 * scale) {
            if (bad++ < 5)
                CHECK(0, "param %zu: analytic %.6g numeric %.6g", i, (double)analytic[i],
                      numeric[i]);
        }
    CHECK(bad == 0, "%zu of %zu gradients agree with central differences (scale %.3g)",
          n - bad, n, scale);
    free(analytic);
    free(numeric);
    syn_workspace_free(ws);
    syn_net_free(net);
}

/* Training-mode forward, backward and running statistics of a wide net
 * (wide enough that every loop splits over threads) for 1, 2, 3, 8
 * threads: bit-identical. */
static void test_threads(void)
{
    enum { R = 96, IN = 300 };
    const syn_layer_desc wide[] = {
        {.units = 200, .activation = SYN_ACT_RELU},
        {.kind = SYN_LAYER_BATCHNORM, .activation = SYN_ACT_TANH},
        {.kind = SYN_LAYER_DROPOUT, .rate = 0.4f},
        {.units = 180},
        {.kind = SYN_LAYER_LAYERNORM, .activation = SYN_ACT_RELU},
        {.units = 10, .activation = SYN_ACT_SOFTMAX},
    };
    size_t n_layers = sizeof wide / sizeof wide[0];
    float *x = malloc(R * IN * sizeof(float)), t[R * 10];
    fill(x, R * IN, 12, 1.0f, 0.0f);
    one_hot(t, R, 10, 13);
    float *ref_out = NULL, *ref_grads = NULL, *ref_state = NULL;
    size_t n_params = 0, n_state = 0;
    const int threads[] = {1, 2, 3, 8};
    for (int k = 0; k < 4; k++) {
        syn_net *net = mix_net(IN, wide, n_layers);
        syn_workspace *ws = NULL;
        if (!net)
            break;
        CHECK_OK(syn_workspace_create(net, R, &ws));
        CHECK_OK(syn_workspace_set_threads(ws, threads[k]));
        const float *out;
        for (uint64_t step = 0; step < 3; step++)
            CHECK_OK(syn_forward_train(net, ws, x, R, 77, step, &out));
        CHECK_OK(syn_backward(net, ws, t, R));
        float *g = syn_workspace_grads(ws, &n_params);
        float *s = syn_net_state(net, &n_state);
        if (k == 0) {
            ref_out = malloc(R * 10 * sizeof(float));
            ref_grads = malloc(n_params * sizeof(float));
            ref_state = malloc(n_state * sizeof(float));
            memcpy(ref_out, out, R * 10 * sizeof(float));
            memcpy(ref_grads, g, n_params * sizeof(float));
            memcpy(ref_state, s, n_state * sizeof(float));
        } else {
            CHECK(memcmp(ref_out, out, R * 10 * sizeof(float)) == 0, "%d threads: outputs",
                  threads[k]);
            CHECK(memcmp(ref_grads, g, n_params * sizeof(float)) == 0,
                  "%d threads: gradients", threads[k]);
            CHECK(memcmp(ref_state, s, n_state * sizeof(float)) == 0,
                  "%d threads: running statistics", threads[k]);
        }
        syn_workspace_free(ws);
        syn_net_free(net);
    }
    free(x);
    free(ref_out);
    free(ref_grads);
    free(ref_state);
}

/* What the allocator has handed out: small blocks plus mmap'd ones. */
static size_t heap_in_use(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

/* syn_net_memory_estimate against the bytes a network, its trainer (with
 * optimizer and workspace) really take from malloc, for nets of every
 * kind. The estimate counts arenas and blocks, not the few small structs,
 * malloc's headers and the page rounding of mmap'd blocks (~5 KiB here),
 * hence the slack of 0.05% + 12 KiB; leaving out the layers' saved blocks
 * (32 KiB at batch 4096) or the running statistics fails it. */
static void test_memory_estimate(void)
{
    /* volatile: the compiler may not drop the pair. */
    char *volatile probe = malloc(1 << 20);
    if (probe)
        probe[0] = 1;
    size_t before = heap_in_use();
    free(probe);
    if (before < (1 << 20) || heap_in_use() >= before) {
        printf("memory estimate: skipped (mallinfo2 does not see this allocator: a "
               "sanitizer or valgrind)\n");
        return;
    }
    const syn_layer_desc fashion[] = {
        {.units = 512}, {.kind = SYN_LAYER_BATCHNORM, .activation = SYN_ACT_RELU},
        {.kind = SYN_LAYER_DROPOUT, .rate = 0.2f}, {.units = 256},
        {.kind = SYN_LAYER_LAYERNORM, .activation = SYN_ACT_RELU},
        {.kind = SYN_LAYER_DROPOUT, .rate = 0.2f}, {.units = 10, .activation = SYN_ACT_SOFTMAX},
    };
    struct { size_t n_in; const syn_layer_desc *layers; size_t n; size_t batch; } cases[] = {
        {784, fashion, 7, 128}, {784, fashion, 7, 1000}, {N_IN, mix, MIX_LAYERS, 64},
        {N_IN, mix, MIX_LAYERS, 4096},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        syn_net_desc desc = {.n_inputs = cases[k].n_in, .n_layers = cases[k].n,
                             .layers = cases[k].layers, .loss = SYN_LOSS_CROSS_ENTROPY,
                             .seed = 1};
        size_t est = 0;
        CHECK_OK(syn_net_memory_estimate(&desc, SYN_OPTIM_ADAM, cases[k].batch, &est));
        size_t base = heap_in_use();
        syn_net *net = NULL;
        syn_trainer *tr = NULL;
        CHECK_OK(syn_net_create(&desc, &net));
        syn_optim_desc od = {.kind = SYN_OPTIM_ADAM, .lr = 1e-3f, .beta1 = 0.9f,
                             .beta2 = 0.999f, .eps = 1e-8f};
        syn_train_desc td = {.batch_size = cases[k].batch, .n_threads = 1};
        CHECK_OK(syn_net_set_input_scaling(net, (float[784]){0}, (float[784]){0}));
        CHECK_OK(syn_trainer_create(net, &od, &td, &tr));
        size_t nb = cases[k].batch, ni = cases[k].n_in;
        float *x = calloc(nb * ni, sizeof(float)), *y = calloc(nb * 10, sizeof(float));
        for (size_t r = 0; r < nb; r++)
            y[r * 10 + r % 10] = 1.0f;
        size_t extra = (nb * ni + nb * 10) * sizeof(float); /* the test's own x, y */
        double loss;
        CHECK_OK(syn_trainer_step(tr, x, y, nb, &loss));
        size_t real = heap_in_use() - base - extra;
        double slack = 0.0005 * (double)real + 12288.0;
        printf("memory estimate, case %zu: %zu estimated, %zu allocated\n", k, est, real);
        CHECK(fabs((double)est - (double)real) <= slack,
              "case %zu: estimate %zu bytes, allocated %zu", k, est, real);
        free(x);
        free(y);
        syn_trainer_free(tr);
        syn_net_free(net);
    }
}

/* With batch norm a last batch of one row (no variance) is left out of the
 * epoch, as DataLoader's drop_last would; one row in all is refused. */
static void test_trailing_row(void)
{
    enum { ROWS = 17 };
    float x[ROWS * N_IN];
    uint32_t labels[ROWS];
    fill(x, ROWS * N_IN, 21, 1.0f, 0.0f);
    for (int r = 0; r < ROWS; r++)
        labels[r] = (uint32_t)(r % 4);
    syn_dataset *ds = NULL;
    CHECK_OK(syn_dataset_from_labels(x, ROWS, N_IN, labels, 4, &ds));
    syn_net *net = mix_net(N_IN, mix, MIX_LAYERS);
    syn_trainer *tr = NULL;
    syn_optim_desc od = syn_optim_defaults(SYN_OPTIM_SGD);
    syn_train_desc td = {.batch_size = 8, .n_threads = 1, .seed = 2};
    if (net)
        CHECK_OK(syn_trainer_create(net, &od, &td, &tr));
    if (tr && ds) {
        syn_epoch_stats st;
        CHECK_OK(syn_trainer_epoch(tr, ds, NULL, 0, NULL, NULL, &st));
        CHECK(st.batches == 2 && st.samples == 16, "17 rows in 8s: %zu batches, %zu samples",
              st.batches, st.samples);
        size_t one = 3;
        CHECK(syn_trainer_epoch(tr, ds, &one, 1, NULL, NULL, &st) == SYN_ERR_SHAPE,
              "a one-row epoch with batch norm is refused");
        CHECK(syn_trainer_epochs_done(tr) == 1, "the refused epoch did not count");
    }
    syn_trainer_free(tr);
    syn_net_free(net);
    syn_dataset_free(ds);
}

int main(void)
{
    test_trailing_row();
    test_refusals();
    test_dropout();
    test_batchnorm();
    test_layernorm();
    test_gradcheck();
    test_threads();
    test_memory_estimate();
    return check_finish();
}
