/* conv_nets.h - the convolutional nets the export tests share
 * (test_onnx_conv.c, test_c_export_conv.c): every image kind with its
 * options (strides, pads incl. same, dilations, groups, bias or none,
 * count_include_pad both ways), the CNN, flatten explicit and
 * implicit, a conv after a dense layer, softmax over a map and an image
 * layer last; made with random weights, valid running statistics and, for
 * some, an input scaling. Include after check.h and synapse.h. */
#ifndef SYN_TEST_CONV_NETS_H
#define SYN_TEST_CONV_NETS_H

#include <stdlib.h>
#include <string.h>

typedef struct spec {
    const char *name;
    size_t shape[3];
    int scaling;
    const char *ops; /* operators the export must hold, space-separated */
    size_t n_layers;
    syn_layer_desc layers[9];
} spec;

static const spec conv_specs[] = {
    /* The CNN. */
    {"issue_cnn", {1, 28, 28}, 1, "Sub Mul Conv Relu MaxPool Flatten Gemm Softmax", 7,
     {{.kind = SYN_LAYER_CONV2D, .units = 32, .kernel = {3, 3}, .activation = SYN_ACT_RELU},
      {.kind = SYN_LAYER_MAXPOOL2D, .kernel = {2, 2}},
      {.kind = SYN_LAYER_CONV2D, .units = 64, .kernel = {3, 3}, .activation = SYN_ACT_RELU},
      {.kind = SYN_LAYER_MAXPOOL2D, .kernel = {2, 2}},
      {.units = 128, .activation = SYN_ACT_RELU},
      {.kind = SYN_LAYER_DROPOUT, .rate = 0.3f},
      {.units = 10, .activation = SYN_ACT_SOFTMAX}}},
    {"strided_grouped", {3, 9, 8}, 0,
     "Conv Tanh BatchNormalization Relu AveragePool Flatten Gemm", 6,
     {{.kind = SYN_LAYER_CONV2D, .units = 6, .kernel = {3, 2}, .stride = {2, 1},
       .padding = {1, 0}, .dilation = {1, 2}, .groups = 3, .no_bias = 1,
       .activation = SYN_ACT_TANH},
      {.kind = SYN_LAYER_BATCHNORM2D, .activation = SYN_ACT_RELU, .eps = 1e-3f},
      {.kind = SYN_LAYER_AVGPOOL2D, .kernel = {3, 3}, .stride = {2, 2}, .padding = {1, 1}},
      {.kind = SYN_LAYER_DROPOUT2D, .rate = 0.2f},
      {.kind = SYN_LAYER_FLATTEN},
      {.units = 4}}},
    {"same_depthwise_gap", {2, 7, 6}, 1,
     "Conv Elu AveragePool MaxPool GlobalAveragePool Flatten Gemm Softmax", 6,
     {{.kind = SYN_LAYER_CONV2D, .units = 4, .kernel = {4, 3}, .dilation = {2, 1},
       .pad_same = 1, .activation = SYN_ACT_ELU},
      {.kind = SYN_LAYER_CONV2D, .units = 4, .kernel = {3, 3}, .groups = 4,
       .padding = {1, 1}},
      {.kind = SYN_LAYER_AVGPOOL2D, .kernel = {2, 2}, .padding = {1, 1}, .exclude_pad = 1},
      {.kind = SYN_LAYER_MAXPOOL2D, .kernel = {3, 3}, .stride = {1, 1}, .padding = {1, 1},
       .activation = SYN_ACT_SIGMOID},
      {.kind = SYN_LAYER_GLOBAL_AVGPOOL},
      {.units = 3, .activation = SYN_ACT_SOFTMAX}}},
    /* Flat input, a dense layer, then a 1x1 conv over its units as
     * channels (a Reshape), softmax over the conv's map (flattened). */
    {"reshape_softmax_map", {0, 0, 0}, 0, "Gemm Reshape Conv Flatten Softmax", 2,
     {{.units = 6, .activation = SYN_ACT_RELU},
      {.kind = SYN_LAYER_CONV2D, .units = 5, .kernel = {1, 1},
       .activation = SYN_ACT_SOFTMAX}}},
    /* An image layer last: the output flattened to [batch, units]. */
    {"pool_last", {2, 6, 6}, 0, "Conv BatchNormalization MaxPool Sigmoid Flatten", 3,
     {{.kind = SYN_LAYER_CONV2D, .units = 3, .kernel = {3, 3}},
      {.kind = SYN_LAYER_BATCHNORM2D, .no_bias = 1},
      {.kind = SYN_LAYER_MAXPOOL2D, .kernel = {2, 2}, .activation = SYN_ACT_SIGMOID}}},
    {"dropout2d_last", {1, 5, 5}, 0, "Conv Flatten", 2,
     {{.kind = SYN_LAYER_CONV2D, .units = 2, .kernel = {2, 2}, .pad_same = 1}, /* pads 0, 1 */
      {.kind = SYN_LAYER_DROPOUT2D, .rate = 0.5f}}},
    /* Strides across the width with padding and dilation: the C header's
     * im2col copies the columns inside, [lo, hi), by formula. */
    {"wide_strides", {2, 7, 11}, 0, "Conv Flatten", 1,
     {{.kind = SYN_LAYER_CONV2D, .units = 3, .kernel = {2, 3}, .stride = {2, 3},
       .padding = {1, 2}, .dilation = {1, 2}}}},
};
#define N_CONV_SPECS (sizeof conv_specs / sizeof conv_specs[0])


static inline size_t n_inputs_of(const spec *s)
{
    return s->shape[0] ? s->shape[0] * s->shape[1] * s->shape[2] : 12;
}

static inline syn_net *make_net(const spec *s, uint64_t seed)
{
    syn_activation last = s->layers[s->n_layers - 1].activation;
    syn_net_desc desc = {.n_inputs = n_inputs_of(s), .n_layers = s->n_layers,
                         .layers = s->layers,
                         .loss = last == SYN_ACT_SOFTMAX ? SYN_LOSS_CROSS_ENTROPY : SYN_LOSS_MSE,
                         .seed = seed};
    memcpy(desc.input_shape, s->shape, sizeof desc.input_shape);
    syn_net *net = NULL;
    syn_error err = {{0}};
    CHECK(syn_net_desc_check(&desc, &err) == SYN_OK, "%s: %s", s->name, err.message);
    CHECK_OK(syn_net_create(&desc, &net));
    if (!net)
        return NULL;
    syn_rng rng;
    syn_rng_seed(&rng, seed + 1);
    size_t np, ns;
    float *p = syn_net_params(net, &np), *st = syn_net_state(net, &ns);
    for (size_t i = 0; i < np; i++)
        p[i] += (float)(0.3 * syn_rng_normal(&rng));
    /* Running means and variances alike in (0.1, 1.1): valid for both. */
    for (size_t i = 0; i < ns; i++)
        st[i] = (float)(0.1 + syn_rng_uniform(&rng));
    if (s->scaling) {
        size_t n = n_inputs_of(s);
        float *off = malloc(n * sizeof *off), *mul = malloc(n * sizeof *mul);
        for (size_t i = 0; off && mul && i < n; i++) {
            off[i] = (float)(0.2 * syn_rng_normal(&rng));
            mul[i] = (float)(0.5 + syn_rng_uniform(&rng));
        }
        CHECK(off && mul && syn_net_set_input_scaling(net, off, mul) == SYN_OK,
              "%s: scaling", s->name);
        free(off);
        free(mul);
    }
    return net;
}

#endif
