/* test_inference.c - inference workspaces (syn_workspace_create_inference):
 * the same outputs bit for bit as a training workspace, for the issue-15
 * CNN (whose batches of 1000 run in cuts of 128 rows), a wide dense net
 * with every normalization and most activations, the image nets of
 * conv_nets.h and a small net on the small-network path; the same
 * syn_evaluate results; training passes and gradients refused with
 * SYN_ERR_INFERENCE_ONLY; syn_net_memory_estimate_inference against what
 * malloc hands out. */
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "synapse.h"
#include "conv_nets.h"
#include "core/internal.h"
#include "kernels/gemm.h"

/* A wide dense net: every row holds ~11k hidden floats, so a batch of 1000
 * is cut (blocks of ~368 rows), through layer and batch norm and the
 * activations the element-wise loops compute in vector and scalar parts. */
static const syn_layer_desc wide[] = {
    {.units = 1536, .activation = SYN_ACT_TANH},
    {.kind = SYN_LAYER_LAYERNORM, .activation = SYN_ACT_GELU},
    {.kind = SYN_LAYER_BATCHNORM, .activation = SYN_ACT_SILU},
    {.kind = SYN_LAYER_LAYERNORM, .activation = SYN_ACT_ELU},
    {.kind = SYN_LAYER_BATCHNORM, .activation = SYN_ACT_SOFTPLUS},
    {.kind = SYN_LAYER_DROPOUT, .rate = 0.25f},
    {.kind = SYN_LAYER_LAYERNORM, .activation = SYN_ACT_GELU_TANH},
    {.kind = SYN_LAYER_LAYERNORM, .activation = SYN_ACT_SIGMOID},
    {.units = 10, .activation = SYN_ACT_SOFTMAX},
};
#define WIDE_LAYERS (sizeof wide / sizeof wide[0])
#define WIDE_IN 48

/* A net the small-network path takes (width <= 16). */
static const syn_layer_desc small_net[] = {
    {.units = 12, .activation = SYN_ACT_SIGMOID},
    {.units = 8, .activation = SYN_ACT_RELU},
    {.units = 3, .activation = SYN_ACT_SOFTMAX},
};

static syn_net *make_dense(const syn_layer_desc *layers, size_t n_layers, size_t n_in,
                           uint64_t seed)
{
    syn_net_desc desc = {.n_inputs = n_in, .n_layers = n_layers, .layers = layers,
                         .loss = SYN_LOSS_CROSS_ENTROPY, .seed = seed};
    syn_net *net = NULL;
    CHECK_OK(syn_net_create(&desc, &net));
    if (!net)
        return NULL;
    syn_rng rng;
    syn_rng_seed(&rng, seed + 7);
    size_t np, ns;
    float *p = syn_net_params(net, &np), *st = syn_net_state(net, &ns);
    for (size_t i = 0; i < np; i++)
        p[i] += (float)(0.2 * syn_rng_normal(&rng));
    for (size_t i = 0; i < ns; i++)
        st[i] = (float)(0.1 + syn_rng_uniform(&rng));
    return net;
}

/* A build whose GEMM is OpenBLAS (-DSYN_GEMM_PREFER_BLAS=ON, or no
 * built-in SIMD kernel) never cuts a batch: OpenBLAS picks its kernels by
 * the shape, so a cut's rows would not be the whole batch's bits. */
static int tiles_cut(void)
{
    return syn_gemm_rows_stable(1024, 1024, 1024);
}

static float *random_inputs(size_t n, uint64_t seed)
{
    syn_rng rng;
    syn_rng_seed(&rng, seed);
    float *x = malloc(n * sizeof *x);
    for (size_t i = 0; x && i < n; i++)
        x[i] = (float)syn_rng_normal(&rng);
    return x;
}

/* syn_forward through an inference workspace and a training one, for
 * every batch size listed: the outputs must be the same bits. Returns
 * the inference workspace's cut (chunk_rows). */
static size_t compare_forward(const char *name, const syn_net *net, size_t max_batch,
                              const size_t *batches, size_t n_batches)
{
    size_t n_in = syn_net_n_inputs(net), n_out = syn_net_n_outputs(net), cut = 0;
    float *x = random_inputs(max_batch * n_in, 99);
    syn_workspace *full = NULL, *inf = NULL;
    CHECK_OK(syn_workspace_create(net, max_batch, &full));
    CHECK_OK(syn_workspace_create_inference(net, max_batch, &inf));
    if (!x || !full || !inf)
        goto done;
    CHECK(syn_workspace_is_inference(inf) && !syn_workspace_is_inference(full),
          "%s: the kinds", name);
    cut = inf->chunk_rows;
    for (size_t k = 0; k < n_batches; k++) {
        size_t b = batches[k];
        const float *a = NULL, *c = NULL;
        /* Threads 2 for one, 1 for the other: neither changes a bit. */
        syn_workspace_set_threads(full, 1);
        syn_workspace_set_threads(inf, 2);
        CHECK_OK(syn_forward(net, full, x, b, &a));
        CHECK_OK(syn_forward(net, inf, x, b, &c));
        if (!a || !c)
            continue;
        size_t bad = 0;
        for (size_t i = 0; i < b * n_out; i++)
            bad += memcmp(&a[i], &c[i], sizeof(float)) != 0;
        CHECK(bad == 0, "%s, batch %zu (cut %zu, min %zu): %zu of %zu outputs differ", name,
              b, inf->chunk_rows, inf->min_rows, bad, b * n_out);
        CHECK(memcmp(full->logits, inf->logits, b * n_out * sizeof(float)) == 0,
              "%s, batch %zu: the logits differ", name, b);
        CHECK(syn_workspace_activations(inf, syn_net_n_layers(net) - 1) == c,
              "%s: the output layer's activations", name);
    }
done:
    syn_workspace_free(full);
    syn_workspace_free(inf);
    free(x);
    return cut;
}

static void test_same_bits(void)
{
    /* The CNN at batch 1000: cuts of 128 rows, the last one taking
     * a remainder under 4 rows (its 128 -> 10 product would otherwise be
     * small enough for gemm_small's other sums). */
    syn_net *cnn = make_net(&conv_specs[0], 3);
    const size_t cnn_batches[] = {1, 3, 127, 128, 129, 131, 132, 133, 259, 260, 517, 1000};
    if (cnn) {
        size_t cut = compare_forward("issue_cnn", cnn, 1000, cnn_batches,
                                     sizeof cnn_batches / sizeof cnn_batches[0]);
        size_t want = tiles_cut() ? 128 : 1000;
        CHECK(cut == want, "issue_cnn: cut of %zu rows, not %zu", cut, want);
    }
    syn_net_free(cnn);

    syn_net *w = make_dense(wide, WIDE_LAYERS, WIDE_IN, 5);
    const size_t wide_batches[] = {2, 367, 368, 369, 371, 372, 737, 1000};
    if (w) {
        size_t cut = compare_forward("wide", w, 1000, wide_batches,
                                     sizeof wide_batches / sizeof wide_batches[0]);
        CHECK(tiles_cut() ? cut > 1 && cut < 1000 : cut == 1000, "wide: cut of %zu rows", cut);
    }
    syn_net_free(w);

    /* The image nets of every kind: small rows, no cut below 1000, but the
     * blocks (no pre-activations, deltas) must still give the same bits. */
    for (size_t s = 0; s < N_CONV_SPECS; s++) {
        syn_net *net = make_net(&conv_specs[s], 11 + s);
        const size_t batches[] = {1, 17, 300};
        if (net)
            compare_forward(conv_specs[s].name, net, 300, batches, 3);
        syn_net_free(net);
    }

    syn_net *sm = make_dense(small_net, 3, 5, 2);
    const size_t small_batches[] = {1, 4, 9, 64, 200};
    if (sm) {
        size_t cut = compare_forward("small", sm, 200, small_batches, 5);
        CHECK(cut == 200, "small: cut of %zu rows (the small path is never cut)", cut);
    }
    syn_net_free(sm);
}

/* syn_evaluate on a uint8 image dataset through both kinds: the same loss,
 * accuracy and confusion matrix. */
static void test_evaluate(void)
{
    syn_net *net = make_net(&conv_specs[0], 4);
    size_t n = 1234;
    uint8_t *px = malloc(n * 784);
    uint32_t *labels = malloc(n * sizeof *labels);
    syn_rng rng;
    syn_rng_seed(&rng, 8);
    for (size_t i = 0; px && i < n * 784; i++)
        px[i] = (uint8_t)(syn_rng_next(&rng) >> 56);
    for (size_t i = 0; labels && i < n; i++)
        labels[i] = (uint32_t)(syn_rng_next(&rng) % 10);
    syn_dataset *ds = NULL;
    if (net && px && labels) {
        CHECK_OK(syn_dataset_from_u8_labels(px, n, 784, labels, 10, &ds));
        const size_t shape[3] = {1, 28, 28};
        CHECK_OK(syn_dataset_set_shape(ds, shape));
    }
    syn_workspace *full = NULL, *inf = NULL;
    if (ds) {
        CHECK_OK(syn_workspace_create(net, 1000, &full));
        CHECK_OK(syn_workspace_create_inference(net, 1000, &inf));
    }
    if (full && inf) {
        syn_eval a, b;
        uint64_t ca[100], cb[100];
        CHECK_OK(syn_evaluate(net, full, ds, NULL, 0, &a, ca));
        CHECK_OK(syn_evaluate(net, inf, ds, NULL, 0, &b, cb));
        CHECK(a.samples == b.samples && memcmp(&a.loss, &b.loss, sizeof a.loss) == 0 &&
                  a.accuracy == b.accuracy,
              "evaluate: loss %.17g vs %.17g, accuracy %g vs %g", a.loss, b.loss, a.accuracy,
              b.accuracy);
        CHECK(memcmp(ca, cb, sizeof ca) == 0, "evaluate: the confusion matrices differ");
    }
    syn_workspace_free(full);
    syn_workspace_free(inf);
    syn_dataset_free(ds);
    free(px);
    free(labels);
    syn_net_free(net);
}

/* Everything that trains or differentiates refuses an inference workspace
 * by name, before it changes anything. */
static void test_refusals(void)
{
    CHECK(strcmp(syn_strerror(SYN_ERR_INFERENCE_ONLY), "unknown status") != 0,
          "SYN_ERR_INFERENCE_ONLY has words");
    syn_net *net = make_dense(wide, WIDE_LAYERS, WIDE_IN, 6);
    syn_workspace *inf = (syn_workspace *)1;
    CHECK(syn_workspace_create_inference(NULL, 16, &inf) == SYN_ERR_INVALID_ARGUMENT &&
              inf == NULL,
          "no network: refused, *out NULL");
    CHECK(syn_workspace_create_inference(net, 0, &inf) == SYN_ERR_INVALID_ARGUMENT,
          "max_batch 0 refused");
    CHECK(syn_workspace_create_inference(net, 16, NULL) == SYN_ERR_INVALID_ARGUMENT,
          "no out pointer refused");
    CHECK(syn_workspace_create_inference(net, SIZE_MAX / 2, &inf) == SYN_ERR_OVERFLOW,
          "a batch whose blocks overflow refused");
    CHECK(!syn_workspace_is_inference(NULL), "NULL is no inference workspace");
    inf = NULL;
    if (net)
        CHECK_OK(syn_workspace_create_inference(net, 16, &inf));
    float *x = random_inputs(16 * WIDE_IN, 3), y[16 * 10] = {0};
    if (!inf || !x)
        goto done;
    for (size_t r = 0; r < 16; r++)
        y[r * 10 + r % 10] = 1.0f;
    size_t ns;
    const float *state = syn_net_state(net, &ns);
    float *before = malloc(ns * sizeof *before);
    if (before)
        memcpy(before, state, ns * sizeof *before);
    const float *out = NULL;
    CHECK(syn_forward_train(net, inf, x, 16, 1, 0, &out) == SYN_ERR_INFERENCE_ONLY,
          "syn_forward_train refused");
    CHECK(before && memcmp(before, state, ns * sizeof *before) == 0,
          "the refused training pass left batch norm's statistics alone");
    CHECK(syn_workspace_activations(inf, 0) == NULL, "no pass ran yet");
    CHECK_OK(syn_forward(net, inf, x, 16, &out));
    double loss = 0;
    CHECK_OK(syn_loss_value(net, inf, y, 16, &loss));
    CHECK(loss > 0, "the loss of an inference pass: %g", loss);
    CHECK(syn_backward(net, inf, y, 16) == SYN_ERR_INFERENCE_ONLY, "syn_backward refused");
    CHECK(syn_backward_from_output(net, inf, y, 16) == SYN_ERR_INFERENCE_ONLY,
          "syn_backward_from_output refused");
    size_t cuts[2] = {0, 16};
    float *parts[1] = {NULL};
    CHECK(syn_backward_split(net, inf, 16, cuts, 1, parts) == SYN_ERR_INFERENCE_ONLY,
          "syn_backward_split refused");
    float *dw = NULL, *db = NULL;
    CHECK(syn_workspace_layer_grads(inf, net, 0, &dw, &db) == SYN_ERR_INFERENCE_ONLY,
          "syn_workspace_layer_grads refused");
    size_t count = 1;
    CHECK(syn_workspace_grads(inf, &count) == NULL && count == 0, "no gradient arena");
    CHECK(syn_workspace_activations(inf, 0) == NULL, "a hidden layer's outputs: NULL");
    CHECK(syn_workspace_activations(inf, WIDE_LAYERS - 1) == out, "the outputs");
    syn_dataset *ds = NULL;
    size_t rows[16];
    for (size_t r = 0; r < 16; r++)
        rows[r] = r;
    CHECK_OK(syn_dataset_from_floats(x, 16, WIDE_IN, y, 10, &ds));
    if (ds)
        CHECK(syn_forward_rows_train(net, inf, ds, rows, 16, 1, 0, &out) ==
                  SYN_ERR_INFERENCE_ONLY,
              "syn_forward_rows_train refused");
    syn_dataset_free(ds);
    free(before);
done:
    syn_workspace_free(inf);
    syn_net_free(net);
    free(x);
}

static size_t heap_in_use(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

/* The estimate against the bytes malloc hands out for the workspace and
 * one pass, within 0.05% + 12 KiB as test_layers.c (small structs, malloc's
 * headers, page rounding); leaving out the conv scratch or counting the
 * hidden blocks for the whole batch fails it. */
static void check_estimate(const char *name, const syn_net_desc *desc, size_t batch)
{
    size_t est = 0;
    CHECK_OK(syn_net_memory_estimate_inference(desc, batch, &est));
    syn_net *net = NULL;
    CHECK_OK(syn_net_create(desc, &net));
    float *x = calloc(batch * desc->n_inputs, sizeof(float));
    if (!net || !x)
        goto done;
    size_t base = heap_in_use();
    syn_workspace *ws = NULL;
    CHECK_OK(syn_workspace_create_inference(net, batch, &ws));
    syn_workspace_set_threads(ws, 1);
    CHECK_OK(syn_forward(net, ws, x, batch, NULL));
    size_t real = heap_in_use() - base;
    double slack = 0.0005 * (double)real + 12288.0;
    printf("inference estimate, %s at %zu: %zu estimated, %zu allocated\n", name, batch, est,
           real);
    CHECK(fabs((double)est - (double)real) <= slack, "%s at %zu: estimate %zu, allocated %zu",
          name, batch, est, real);
    syn_workspace_free(ws);
done:
    free(x);
    syn_net_free(net);
}

static void test_memory_estimate(void)
{
    char *volatile probe = malloc(1 << 20);
    if (probe)
        probe[0] = 1;
    size_t before = heap_in_use();
    free(probe);
    if (before < (1 << 20) || heap_in_use() >= before) {
        printf("memory estimate: skipped (mallinfo2 does not see this allocator)\n");
        return;
    }
    for (size_t s = 0; s < N_CONV_SPECS; s++) {
        const spec *sp = &conv_specs[s];
        syn_net_desc desc = {.n_inputs = n_inputs_of(sp), .n_layers = sp->n_layers,
                             .layers = sp->layers, .loss = SYN_LOSS_MSE, .seed = 1};
        if (sp->layers[sp->n_layers - 1].activation == SYN_ACT_SOFTMAX)
            desc.loss = SYN_LOSS_CROSS_ENTROPY;
        memcpy(desc.input_shape, sp->shape, sizeof desc.input_shape);
        check_estimate(sp->name, &desc, s == 0 ? 1000 : 200);
        if (s == 0) {
            check_estimate(sp->name, &desc, 64);
            /* Cut into blocks, the CNN's inference workspace at batch 1000
             * is a fraction of a training one (~28 MiB against ~330). */
            size_t inf = 0, train = 0, bare = 0;
            CHECK_OK(syn_net_memory_estimate_inference(&desc, 1000, &inf));
            CHECK_OK(syn_net_memory_estimate(&desc, SYN_OPTIM_SGD, 1000, &train));
            CHECK_OK(syn_net_memory_estimate(&desc, SYN_OPTIM_SGD, 0, &bare));
            printf("issue_cnn at 1000: inference workspace %zu bytes, training %zu\n", inf,
                   train - bare);
            CHECK(!tiles_cut() || (inf < ((size_t)40 << 20) && inf * 8 < train - bare),
                  "issue_cnn at 1000: inference %zu, training %zu", inf, train - bare);
        }
    }
    syn_net_desc wd = {.n_inputs = WIDE_IN, .n_layers = WIDE_LAYERS, .layers = wide,
                       .loss = SYN_LOSS_CROSS_ENTROPY, .seed = 1};
    check_estimate("wide", &wd, 1000);
    check_estimate("wide", &wd, 100);
    syn_net_desc sd = {.n_inputs = 5, .n_layers = 3, .layers = small_net,
                       .loss = SYN_LOSS_CROSS_ENTROPY, .seed = 1};
    check_estimate("small", &sd, 64);
    size_t b;
    CHECK(syn_net_memory_estimate_inference(&sd, 0, &b) == SYN_ERR_INVALID_ARGUMENT,
          "max_batch 0 refused");
    CHECK(syn_net_memory_estimate_inference(NULL, 1, &b) == SYN_ERR_INVALID_ARGUMENT,
          "NULL refused");
}

int main(void)
{
    test_same_bits();
    test_evaluate();
    test_refusals();
    test_memory_estimate();
    return check_finish();
}
