/* test_onnx.c - ONNX export and import: round trips through synapse's own
 * reader, hostile input (every truncation, random bytes, flipped bytes,
 * unsupported graphs), PyTorch exports committed under tests/fixtures/onnx/,
 * and, when installed (tests/onnx/setup.sh), the real consumers:
 * onnx.checker (python3-onnx) and ONNX Runtime (onnxruntime-node). A missing
 * consumer is skipped with a note; a present one must agree. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "f32_io.h"
#include "export/onnx.h"
#include "export/protobuf.h"
#include "synapse.h"

#define ORT_TOLERANCE 1e-5
#define TORCH_TOLERANCE 1e-5

static char tmp_dir[64];

static void tmp_path(char *buf, size_t cap, const char *name)
{
    snprintf(buf, cap, "%s/%s", tmp_dir, name);
}

/* ------------------------------------------------------------------------ */
/* Small helpers                                                             */
/* ------------------------------------------------------------------------ */

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static float *forward_copy(const syn_net *net, const float *x, size_t rows)
{
    syn_workspace *ws = NULL;
    const float *out = NULL;
    size_t n_out = syn_net_n_outputs(net);
    float *copy = malloc(rows * n_out * sizeof *copy);
    if (!copy || syn_workspace_create(net, rows, &ws) != SYN_OK ||
        syn_forward(net, ws, x, rows, &out) != SYN_OK) {
        free(copy);
        syn_workspace_free(ws);
        return NULL;
    }
    memcpy(copy, out, rows * n_out * sizeof *copy);
    syn_workspace_free(ws);
    return copy;
}

static double max_abs_diff(const float *a, const float *b, size_t n)
{
    double m = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (!(d <= m))
            m = d; /* NaN propagates as the maximum */
    }
    return m;
}

static float *random_inputs(size_t rows, size_t n, uint64_t seed, double scale)
{
    syn_rng rng;
    syn_rng_seed(&rng, seed);
    float *x = malloc(rows * n * sizeof *x);
    for (size_t i = 0; x && i < rows * n; i++)
        x[i] = (float)(scale * syn_rng_normal(&rng));
    return x;
}

/* ------------------------------------------------------------------------ */
/* The networks under test                                                   */
/* ------------------------------------------------------------------------ */

typedef struct spec {
    const char *name;
    size_t n_inputs, n_layers;
    syn_layer_desc layers[5];
    int scaling, class_names;
} spec;

static const spec specs[] = {
    {"relu_softmax", 5, 2, {DENSE(8, SYN_ACT_RELU, 0, 0), DENSE(3, SYN_ACT_SOFTMAX, 0, 0)}, 1, 1},
    {"sigmoid", 4, 2, {DENSE(6, SYN_ACT_SIGMOID, 0, 0), DENSE(2, SYN_ACT_SIGMOID, 0, 0)}, 0, 0},
    {"tanh_nobias", 3, 2, {DENSE(7, SYN_ACT_TANH, 0, 1), DENSE(2, SYN_ACT_LINEAR, 0, 0)}, 1, 0},
    {"leaky", 6, 3,
     {DENSE(9, SYN_ACT_LEAKY_RELU, 0.2f, 0), DENSE(5, SYN_ACT_LEAKY_RELU, 0, 0),
      DENSE(4, SYN_ACT_LINEAR, 0, 1)}, 0, 0},
    {"linear_nobias", 4, 1, {DENSE(3, SYN_ACT_LINEAR, 0, 1)}, 0, 0},
    {"deep_mixed", 8, 4,
     {DENSE(16, SYN_ACT_RELU, 0, 0), DENSE(12, SYN_ACT_TANH, 0, 1),
      DENSE(10, SYN_ACT_SIGMOID, 0, 0), DENSE(6, SYN_ACT_SOFTMAX, 0, 0)}, 1, 1},
    /* The activation table's newer rows, parameters default and not. */
    {"gelu_silu", 5, 4,
     {DENSE(9, SYN_ACT_GELU, 0, 0), DENSE(8, SYN_ACT_SILU, 0, 0),
      DENSE(7, SYN_ACT_GELU_TANH, 0, 1), DENSE(3, SYN_ACT_LINEAR, 0, 0)}, 1, 0},
    {"elu_softplus1", 4, 3,
     {DENSE(6, SYN_ACT_ELU, 0.5f, 0), DENSE(5, SYN_ACT_SOFTPLUS, 0, 0),
      DENSE(2, SYN_ACT_ELU, 0, 0)}, 1, 0},
    {"elu_softplus", 6, 5,
     {DENSE(8, SYN_ACT_ELU, 0, 0), DENSE(7, SYN_ACT_ELU, 0.5f, 0),
      DENSE(6, SYN_ACT_SOFTPLUS, 0, 0), DENSE(5, SYN_ACT_SOFTPLUS, 2.0f, 0),
      DENSE(3, SYN_ACT_SOFTMAX, 0, 0)}, 0, 1},
    /* The layer kinds as the kinds' own ONNX emitters write them (a batch
     * norm as BatchNormalization, a layer norm in operators), read back by
     * the importer; dropout, which the export leaves out, is
     * tests/test_onnx_kinds.c's. */
    {"bn_relu", 6, 3,
     {DENSE(10, SYN_ACT_LINEAR, 0, 0),
      {.kind = SYN_LAYER_BATCHNORM, .activation = SYN_ACT_RELU},
      DENSE(3, SYN_ACT_SOFTMAX, 0, 0)}, 1, 1},
    {"ln_tanh", 5, 4,
     {DENSE(8, SYN_ACT_LINEAR, 0, 0),
      {.kind = SYN_LAYER_LAYERNORM, .activation = SYN_ACT_TANH, .eps = 1e-3f},
      DENSE(4, SYN_ACT_LINEAR, 0, 1),
      {.kind = SYN_LAYER_LAYERNORM, .no_bias = 1, .activation = SYN_ACT_SIGMOID}}, 0, 0},
    /* The activations of the table's later rows, in the forms
     * torch.onnx.export writes (Erf; Tanh of the cubic; Sigmoid and Mul;
     * Elu; Softplus, with Mul and Div for beta != 1). */
    {"modern_acts", 5, 5,
     {DENSE(8, SYN_ACT_GELU, 0, 0), DENSE(7, SYN_ACT_GELU_TANH, 0, 0),
      DENSE(6, SYN_ACT_SILU, 0, 1), DENSE(5, SYN_ACT_ELU, 0.5f, 0),
      DENSE(4, SYN_ACT_SOFTPLUS, 2.0f, 0)}, 1, 0},
    {"default_params", 4, 2,
     {DENSE(6, SYN_ACT_SOFTPLUS, 0, 0), DENSE(3, SYN_ACT_ELU, 0, 0)}, 0, 0},
    {"bn_first", 4, 2,
     {{.kind = SYN_LAYER_BATCHNORM, .momentum = 0.3f}, DENSE(3, SYN_ACT_RELU, 0, 0)}, 0, 0},
};
#define N_SPECS (sizeof specs / sizeof specs[0])

/* A net of the spec with random weights, random biases (they start at 0),
 * random scaling and class names with characters JSON must escape. */
static syn_net *make_net(const spec *s, uint64_t seed)
{
    syn_activation last = s->layers[s->n_layers - 1].activation;
    syn_net_desc desc = {s->n_inputs, s->n_layers, s->layers,
                         last == SYN_ACT_SOFTMAX ? SYN_LOSS_CROSS_ENTROPY : SYN_LOSS_MSE,
                         SYN_REDUCTION_MEAN, SYN_INIT_AUTO, seed, {0, 0, 0}};
    syn_net *net = NULL;
    if (syn_net_create(&desc, &net) != SYN_OK)
        return NULL;
    syn_rng rng;
    syn_rng_seed(&rng, seed ^ 0x5eed);
    for (size_t l = 0; l < s->n_layers; l++) {
        float *w, *b;
        syn_layer_desc d;
        size_t n_in;
        syn_net_layer_params(net, l, &w, &b);
        syn_net_layer(net, l, &d, &n_in);
        for (size_t u = 0; b && u < d.units; u++)
            b[u] = (float)(0.5 * syn_rng_normal(&rng));
        /* norms: gamma away from 1 */
        for (size_t u = 0; d.kind != SYN_LAYER_DENSE && w && u < d.units; u++)
            w[u] = (float)(0.5 + syn_rng_uniform(&rng));
    }
    size_t n_state;
    float *state = syn_net_state(net, &n_state);
    for (size_t k = 0; k < n_state; k++) /* running means, then variances, per layer */
        state[k] = (float)(0.5 + syn_rng_uniform(&rng));
    if (s->scaling) {
        float offset[16], scale[16];
        for (size_t j = 0; j < s->n_inputs; j++) {
            offset[j] = (float)syn_rng_normal(&rng);
            scale[j] = (float)(0.25 + syn_rng_uniform(&rng));
        }
        syn_net_set_input_scaling(net, offset, scale);
    }
    if (s->class_names) {
        static const char *const names[] = {"zero", "one \"quoted\"", "back\\slash",
                                            "new\nline", "caf\xc3\xa9",  "tab\tand ?\?="};
        syn_net_set_class_names(net, names, syn_net_n_outputs(net));
    }
    return net;
}

/* ------------------------------------------------------------------------ */
/* Round trip through synapse's own reader                                   */
/* ------------------------------------------------------------------------ */

static void check_same_net(const syn_net *a, const syn_net *b, const char *name)
{
    CHECK(syn_net_n_inputs(a) == syn_net_n_inputs(b), "%s: inputs", name);
    CHECK(syn_net_n_layers(a) == syn_net_n_layers(b), "%s: layers", name);
    CHECK(syn_net_loss(a) == syn_net_loss(b), "%s: loss %d vs %d", name, (int)syn_net_loss(a),
          (int)syn_net_loss(b));
    if (syn_net_n_layers(a) != syn_net_n_layers(b))
        return;
    for (size_t l = 0; l < syn_net_n_layers(a); l++) {
        syn_layer_desc da, db;
        size_t ia, ib;
        syn_net_layer(a, l, &da, &ia);
        syn_net_layer(b, l, &db, &ib);
        CHECK(da.units == db.units && ia == ib && da.activation == db.activation &&
                  da.leaky_slope == db.leaky_slope && da.no_bias == db.no_bias,
              "%s: layer %zu differs", name, l);
    }
    size_t na, nb;
    const float *pa = syn_net_params_const(a, &na), *pb = syn_net_params_const(b, &nb);
    CHECK(na == nb && memcmp(pa, pb, na * sizeof *pa) == 0, "%s: parameters differ", name);
    const float *oa, *sa, *ob, *sb;
    syn_net_input_scaling(a, &oa, &sa);
    syn_net_input_scaling(b, &ob, &sb);
    size_t n = syn_net_n_inputs(a);
    CHECK((!oa && !ob) || (oa && ob && memcmp(oa, ob, n * 4) == 0 && memcmp(sa, sb, n * 4) == 0),
          "%s: scaling differs", name);
    CHECK(syn_net_n_class_names(a) == syn_net_n_class_names(b), "%s: class name count", name);
    for (size_t i = 0; i < syn_net_n_class_names(a) && i < syn_net_n_class_names(b); i++)
        CHECK(strcmp(syn_net_class_name(a, i), syn_net_class_name(b, i)) == 0,
              "%s: class %zu \"%s\" vs \"%s\"", name, i, syn_net_class_name(a, i),
              syn_net_class_name(b, i));
}

static void test_round_trip(void)
{
    for (size_t k = 0; k < N_SPECS; k++) {
        const spec *s = &specs[k];
        syn_net *net = make_net(s, 100 + k), *back = NULL;
        char path[128];
        snprintf(path, sizeof path, "%s/%s.onnx", tmp_dir, s->name);
        syn_error err = {{0}};
        CHECK(net != NULL, "%s: make_net", s->name);
        if (!net)
            continue;
        CHECK_OK(syn_net_export_onnx(net, path, &err));
        syn_status st = syn_net_import_onnx(path, &back, &err);
        CHECK(st == SYN_OK, "%s: import: %s", s->name, err.message);
        if (back) {
            check_same_net(net, back, s->name);
            float *x = random_inputs(9, s->n_inputs, 7 + k, 2.0);
            float *ya = forward_copy(net, x, 9), *yb = forward_copy(back, x, 9);
            CHECK(ya && yb && memcmp(ya, yb, 9 * syn_net_n_outputs(net) * 4) == 0,
                  "%s: predictions differ after the round trip", s->name);
            free(x);
            free(ya);
            free(yb);
        }
        syn_net_free(back);
        syn_net_free(net);
    }
    /* The header of the file: ir_version 8 (field 1), then producer_name. */
    syn_net *net = make_net(&specs[0], 1);
    uint8_t *data = NULL;
    size_t size = 0;
    CHECK_OK(syn_onnx_serialize(net, &data, &size, NULL));
    CHECK(size > 4 && data[0] == 0x08 && data[1] == SYN_ONNX_IR_VERSION && data[2] == 0x12,
          "file starts with ir_version 8 and producer_name");
    free(data);
    syn_net_free(net);
}

/* ------------------------------------------------------------------------ */
/* Hostile input                                                             */
/* ------------------------------------------------------------------------ */

static int is_input_error(syn_status st)
{
    return st == SYN_ERR_FORMAT || st == SYN_ERR_TRUNCATED || st == SYN_ERR_CORRUPT;
}

/* Parses an exact-size heap copy, so AddressSanitizer sees any over-read. */
static syn_status parse_copy(const uint8_t *data, size_t size, syn_net **out, syn_error *err)
{
    uint8_t *copy = malloc(size ? size : 1);
    if (size)
        memcpy(copy, data, size);
    syn_status st = syn_onnx_parse(copy, size, "cut.onnx", out, err);
    free(copy);
    return st;
}

static void test_truncation(void)
{
    syn_net *net = make_net(&specs[0], 3);
    uint8_t *data = NULL;
    size_t size = 0;
    CHECK_OK(syn_onnx_serialize(net, &data, &size, NULL));
    size_t bad = 0;
    for (size_t len = 0; len < size; len++) {
        syn_net *out = (syn_net *)&bad; /* must be reset to NULL */
        syn_error err = {{0}};
        syn_status st = parse_copy(data, len, &out, &err);
        if (!is_input_error(st) || out != NULL || err.message[0] == '\0') {
            if (bad++ < 5)
                fprintf(stderr, "length %zu of %zu: status %d: %s\n", len, size, (int)st,
                        err.message);
        }
        if (st == SYN_OK)
            syn_net_free(out);
    }
    CHECK(bad == 0, "%zu of %zu truncations were not FORMAT/TRUNCATED/CORRUPT", bad, size);
    syn_net *full = NULL;
    CHECK_OK(parse_copy(data, size, &full, NULL));
    syn_net_free(full);
    syn_error err = {{0}};
    syn_net *out = NULL;
    CHECK(syn_onnx_parse(data, size / 2, "half.onnx", &out, &err) == SYN_ERR_TRUNCATED &&
              strstr(err.message, "half.onnx: truncated") != NULL,
          "half a file: %s", err.message);
    free(data);
    syn_net_free(net);
}

static void test_random_bytes(void)
{
    syn_rng rng;
    syn_rng_seed(&rng, 42);
    uint8_t buf[600];
    size_t accepted = 0;
    for (int round = 0; round < 3000; round++) {
        size_t len = (size_t)syn_rng_below(&rng, sizeof buf);
        for (size_t i = 0; i < len; i++)
            buf[i] = (uint8_t)syn_rng_next(&rng);
        syn_net *out = NULL;
        syn_status st = parse_copy(buf, len, &out, NULL);
        accepted += st == SYN_OK;
        syn_net_free(out);
    }
    CHECK(accepted == 0, "%zu random buffers parsed as networks", accepted);
    /* Flipped bytes of a valid file: any status, but never a crash, and a
     * success must be a usable network. */
    syn_net *net = make_net(&specs[5], 5);
    uint8_t *data = NULL;
    size_t size = 0;
    syn_onnx_serialize(net, &data, &size, NULL);
    size_t ok = 0;
    for (int round = 0; round < 3000 && data; round++) {
        uint8_t *copy = malloc(size);
        memcpy(copy, data, size);
        int flips = 1 + (int)syn_rng_below(&rng, 4);
        for (int f = 0; f < flips; f++)
            copy[syn_rng_below(&rng, size)] = (uint8_t)syn_rng_next(&rng);
        syn_net *out = NULL;
        if (syn_onnx_parse(copy, size, "flip.onnx", &out, NULL) == SYN_OK) {
            ok++;
            float *x = calloc(syn_net_n_inputs(out), sizeof *x);
            free(forward_copy(out, x, 1));
            free(x);
        }
        syn_net_free(out);
        free(copy);
    }
    printf("flipped-byte files: %zu of 3000 still parsed (weights changed)\n", ok);
    CHECK(1, "flips");
    free(data);
    syn_net_free(net);
    /* Not ONNX at all: a .syn model file, an empty file, a missing file. */
    char syn_path[128], empty[128];
    tmp_path(syn_path, sizeof syn_path, "model.syn");
    tmp_path(empty, sizeof empty, "empty.onnx");
    net = make_net(&specs[1], 9);
    syn_net_save(net, NULL, syn_path, NULL);
    syn_net_free(net);
    fclose(fopen(empty, "wb"));
    syn_error err = {{0}};
    syn_net *out = NULL;
    syn_status st = syn_net_import_onnx(syn_path, &out, &err);
    CHECK(is_input_error(st) && out == NULL, "a .syn file: %d %s", (int)st, err.message);
    st = syn_net_import_onnx(empty, &out, &err);
    CHECK(st == SYN_ERR_FORMAT && strstr(err.message, "empty"), "empty: %s", err.message);
    st = syn_net_import_onnx("/nonexistent/x.onnx", &out, &err);
    CHECK(st == SYN_ERR_IO, "missing file: %d", (int)st);
    CHECK(syn_net_import_onnx(NULL, &out, NULL) == SYN_ERR_INVALID_ARGUMENT, "NULL path");
    CHECK(syn_net_export_onnx(NULL, syn_path, NULL) == SYN_ERR_INVALID_ARGUMENT, "NULL net");
}

/* ------------------------------------------------------------------------ */
/* Hand-built graphs                                                         */
/* ------------------------------------------------------------------------ */

static void put_value(syn_pb_writer *w, uint32_t field, const char *name, int64_t width)
{
    size_t v = syn_pb_begin(w, field);
    syn_pb_put_string(w, ONNX_VALUE_NAME, name);
    size_t t = syn_pb_begin(w, ONNX_VALUE_TYPE);
    size_t tt = syn_pb_begin(w, ONNX_TYPE_TENSOR_TYPE);
    syn_pb_put_varint(w, ONNX_TENSOR_TYPE_ELEM_TYPE, ONNX_DTYPE_FLOAT);
    size_t sh = syn_pb_begin(w, ONNX_TENSOR_TYPE_SHAPE);
    size_t d = syn_pb_begin(w, ONNX_SHAPE_DIM);
    syn_pb_put_string(w, ONNX_DIM_PARAM, "N");
    syn_pb_end(w, d);
    d = syn_pb_begin(w, ONNX_SHAPE_DIM);
    syn_pb_put_int64(w, ONNX_DIM_VALUE, width);
    syn_pb_end(w, d);
    syn_pb_end(w, sh);
    syn_pb_end(w, tt);
    syn_pb_end(w, t);
    syn_pb_end(w, v);
}

static void put_node(syn_pb_writer *w, const char *op, const char *name, const char *in0,
                     const char *in1, const char *out)
{
    size_t n = syn_pb_begin(w, ONNX_GRAPH_NODE);
    syn_pb_put_string(w, ONNX_NODE_INPUT, in0);
    if (in1)
        syn_pb_put_string(w, ONNX_NODE_INPUT, in1);
    syn_pb_put_string(w, ONNX_NODE_OUTPUT, out);
    syn_pb_put_string(w, ONNX_NODE_NAME, name);
    syn_pb_put_string(w, ONNX_NODE_OP_TYPE, op);
    syn_pb_end(w, n);
}

/* A 2x2 float initializer named W, packed float_data. */
static void put_weight(syn_pb_writer *w)
{
    size_t t = syn_pb_begin(w, ONNX_GRAPH_INITIALIZER);
    syn_pb_put_int64(w, ONNX_TENSOR_DIMS, 2);
    syn_pb_put_int64(w, ONNX_TENSOR_DIMS, 2);
    syn_pb_put_varint(w, ONNX_TENSOR_DATA_TYPE, ONNX_DTYPE_FLOAT);
    syn_pb_put_string(w, ONNX_TENSOR_NAME, "W");
    size_t fd = syn_pb_begin(w, ONNX_TENSOR_FLOAT_DATA);
    /* 1, 2, 3, 4 as little-endian float32 */
    const uint8_t values[16] = {0, 0, 0x80, 0x3f, 0, 0, 0,    0x40,
                                0, 0, 0x40, 0x40, 0, 0, 0x80, 0x40};
    syn_pb_append(w, values, sizeof values);
    syn_pb_end(w, fd);
    syn_pb_end(w, t);
}

/* ModelProto with ir_version 8 and opset 13 up to its open graph; returns
 * the graph's mark for finish_model. */
static size_t begin_model(syn_pb_writer *w)
{
    syn_pb_put_int64(w, ONNX_MODEL_IR_VERSION, 8);
    size_t op = syn_pb_begin(w, ONNX_MODEL_OPSET_IMPORT);
    syn_pb_put_int64(w, ONNX_OPSET_VERSION, 13);
    syn_pb_end(w, op);
    return syn_pb_begin(w, ONNX_MODEL_GRAPH);
}

/* Closes the graph, parses the model as "model.onnx" and frees w. */
static syn_status finish_model(syn_pb_writer *w, size_t graph, syn_net **out, syn_error *err)
{
    syn_pb_end(w, graph);
    syn_status st = w->status;
    if (st == SYN_OK)
        st = syn_onnx_parse(w->data, w->size, "model.onnx", out, err);
    syn_pb_writer_free(w);
    return st;
}

typedef enum graph_kind { GRAPH_CONV, GRAPH_BRANCH, GRAPH_OK_MATMUL, GRAPH_OK_GEMM } graph_kind;

static syn_status parse_graph_kind(graph_kind kind, syn_net **out, syn_error *err)
{
    syn_pb_writer w = {0};
    size_t g = begin_model(&w);
    switch (kind) {
    case GRAPH_CONV:
        put_node(&w, "Identity", "Identity_0", "x", NULL, "a");
        put_node(&w, "MatMul", "MatMul_1", "a", "W", "b");
        put_node(&w, "Relu", "Relu_2", "b", NULL, "c");
        put_node(&w, "ConvTranspose", "ConvTranspose_3", "c", "W", "y");
        break;
    case GRAPH_BRANCH: /* y = Relu(x W) + x W: the value b is used twice */
        put_node(&w, "MatMul", "MatMul_0", "x", "W", "b");
        put_node(&w, "Relu", "Relu_1", "b", NULL, "c");
        put_node(&w, "Add", "Add_2", "c", "b", "y");
        break;
    case GRAPH_OK_MATMUL:
        put_node(&w, "MatMul", "MatMul_0", "x", "W", "b");
        put_node(&w, "Add", "Add_1", "W_bias", "b", "c");
        put_node(&w, "Tanh", "Tanh_2", "c", NULL, "y");
        break;
    case GRAPH_OK_GEMM: { /* Gemm without attributes: transB = 0, W is [n_in x units] */
        size_t n = syn_pb_begin(&w, ONNX_GRAPH_NODE);
        syn_pb_put_string(&w, ONNX_NODE_INPUT, "x");
        syn_pb_put_string(&w, ONNX_NODE_INPUT, "W");
        syn_pb_put_string(&w, ONNX_NODE_INPUT, "W_bias");
        syn_pb_put_string(&w, ONNX_NODE_OUTPUT, "c");
        syn_pb_put_string(&w, ONNX_NODE_OP_TYPE, "Gemm");
        syn_pb_end(&w, n);
        put_node(&w, "Tanh", "Tanh_1", "c", NULL, "y");
        break;
    }
    }
    put_weight(&w);
    if (kind >= GRAPH_OK_MATMUL) { /* the bias: a scalar broadcast to 2 units */
        size_t t = syn_pb_begin(&w, ONNX_GRAPH_INITIALIZER);
        syn_pb_put_varint(&w, ONNX_TENSOR_DATA_TYPE, ONNX_DTYPE_FLOAT);
        syn_pb_put_string(&w, ONNX_TENSOR_NAME, "W_bias");
        syn_pb_put_float(&w, ONNX_TENSOR_FLOAT_DATA, 0.5f); /* unpacked float_data */
        syn_pb_end(&w, t);
    }
    put_value(&w, ONNX_GRAPH_INPUT, "x", 2);
    put_value(&w, ONNX_GRAPH_OUTPUT, "y", 2);
    return finish_model(&w, g, out, err);
}

static void test_unsupported(void)
{
    syn_net *out = NULL;
    syn_error err = {{0}};
    syn_status st = parse_graph_kind(GRAPH_CONV, &out, &err);
    printf("Conv graph: %s\n", err.message);
    CHECK(st == SYN_ERR_UNSUPPORTED && out == NULL, "Conv: status %d", (int)st);
    CHECK(strstr(err.message, "model.onnx: node 3 \"ConvTranspose_3\"") != NULL &&
              strstr(err.message, "operator ConvTranspose is not supported") != NULL &&
              strstr(err.message, "Gemm") != NULL,
          "Conv message: %s", err.message);
    st = parse_graph_kind(GRAPH_BRANCH, &out, &err);
    printf("branching graph: %s\n", err.message);
    CHECK(st == SYN_ERR_UNSUPPORTED && strstr(err.message, "Add_2"), "branch: %s", err.message);
    /* MatMul + Add (bias first) + Tanh, and Gemm with transB = 0 + Tanh, with
     * float_data weights: supported. W = [[1, 2], [3, 4]] as [n_in x units],
     * so y_u = tanh(sum_i x_i W[i][u] + 0.5). */
    for (graph_kind kind = GRAPH_OK_MATMUL; kind <= GRAPH_OK_GEMM; kind++) {
        st = parse_graph_kind(kind, &out, &err);
        CHECK(st == SYN_OK, "graph %d: %s", (int)kind, err.message);
        if (!out)
            continue;
        float x[2] = {0.25f, -0.5f}, *y = forward_copy(out, x, 1);
        CHECK(y && fabsf(y[0] - tanhf(0.25f * 1 - 0.5f * 3 + 0.5f)) < 1e-6f &&
                  fabsf(y[1] - tanhf(0.25f * 2 - 0.5f * 4 + 0.5f)) < 1e-6f,
              "graph %d: values", (int)kind);
        CHECK(syn_net_loss(out) == SYN_LOSS_MSE, "MSE without softmax");
        free(y);
        syn_net_free(out);
        out = NULL;
    }
}

/* What PyTorch users put around a model, hand-built: a graph from input x
 * of sample shape dims (a symbolic batch first) through the nodes, with
 * initializers W (a [n_in x 2] MatMul weight of 0.5 each), S (an INT64
 * shape vector), C (a float constant of n_c elements, each c) and Z (a
 * scalar INT64 0). */
typedef struct tnode {
    const char *op, *name, *in0, *in1, *out; /* in1 may list more inputs: "a,b,c" */
} tnode;

typedef struct tgraph {
    int64_t dims[4];
    size_t rank;
    size_t n_in;
    int64_t shape[4];
    size_t shape_n;
    size_t n_c;
    float c;
    tnode nodes[8];
} tgraph;

static syn_status parse_tgraph(const tgraph *t, syn_net **out, syn_error *err)
{
    syn_pb_writer w = {0};
    size_t g = begin_model(&w);
    const char *last = "x";
    for (size_t k = 0; k < 8 && t->nodes[k].op; k++) {
        const tnode *tn = &t->nodes[k];
        size_t node = syn_pb_begin(&w, ONNX_GRAPH_NODE);
        syn_pb_put_string(&w, ONNX_NODE_INPUT, tn->in0);
        for (const char *p = tn->in1; p && *p;) {
            size_t len = strcspn(p, ",");
            syn_pb_put_bytes(&w, ONNX_NODE_INPUT, p, len);
            p += len + (p[len] == ',');
        }
        syn_pb_put_string(&w, ONNX_NODE_OUTPUT, tn->out);
        syn_pb_put_string(&w, ONNX_NODE_NAME, tn->name);
        syn_pb_put_string(&w, ONNX_NODE_OP_TYPE, tn->op);
        syn_pb_end(&w, node);
        last = tn->out;
    }
    size_t init = syn_pb_begin(&w, ONNX_GRAPH_INITIALIZER);
    syn_pb_put_int64(&w, ONNX_TENSOR_DIMS, (int64_t)t->n_in);
    syn_pb_put_int64(&w, ONNX_TENSOR_DIMS, 2);
    syn_pb_put_varint(&w, ONNX_TENSOR_DATA_TYPE, ONNX_DTYPE_FLOAT);
    syn_pb_put_string(&w, ONNX_TENSOR_NAME, "W");
    for (size_t k = 0; k < 2 * t->n_in; k++)
        syn_pb_put_float(&w, ONNX_TENSOR_FLOAT_DATA, 0.5f);
    syn_pb_end(&w, init);
    init = syn_pb_begin(&w, ONNX_GRAPH_INITIALIZER);
    syn_pb_put_int64(&w, ONNX_TENSOR_DIMS, (int64_t)t->shape_n);
    syn_pb_put_varint(&w, ONNX_TENSOR_DATA_TYPE, ONNX_DTYPE_INT64);
    syn_pb_put_string(&w, ONNX_TENSOR_NAME, "S");
    for (size_t k = 0; k < t->shape_n; k++)
        syn_pb_put_int64(&w, ONNX_TENSOR_INT64_DATA, t->shape[k]);
    syn_pb_end(&w, init);
    init = syn_pb_begin(&w, ONNX_GRAPH_INITIALIZER);
    syn_pb_put_varint(&w, ONNX_TENSOR_DATA_TYPE, ONNX_DTYPE_INT64);
    syn_pb_put_string(&w, ONNX_TENSOR_NAME, "Z");
    syn_pb_put_int64(&w, ONNX_TENSOR_INT64_DATA, 0);
    syn_pb_end(&w, init);
    init = syn_pb_begin(&w, ONNX_GRAPH_INITIALIZER);
    if (t->n_c > 1)
        syn_pb_put_int64(&w, ONNX_TENSOR_DIMS, (int64_t)t->n_c);
    syn_pb_put_varint(&w, ONNX_TENSOR_DATA_TYPE, ONNX_DTYPE_FLOAT);
    syn_pb_put_string(&w, ONNX_TENSOR_NAME, "C");
    for (size_t k = 0; k < (t->n_c ? t->n_c : 1); k++)
        syn_pb_put_float(&w, ONNX_TENSOR_FLOAT_DATA, t->c);
    syn_pb_end(&w, init);
    size_t v = syn_pb_begin(&w, ONNX_GRAPH_INPUT);
    syn_pb_put_string(&w, ONNX_VALUE_NAME, "x");
    size_t ty = syn_pb_begin(&w, ONNX_VALUE_TYPE);
    size_t tt = syn_pb_begin(&w, ONNX_TYPE_TENSOR_TYPE);
    syn_pb_put_varint(&w, ONNX_TENSOR_TYPE_ELEM_TYPE, ONNX_DTYPE_FLOAT);
    size_t sh = syn_pb_begin(&w, ONNX_TENSOR_TYPE_SHAPE);
    size_t d = syn_pb_begin(&w, ONNX_SHAPE_DIM);
    syn_pb_put_string(&w, ONNX_DIM_PARAM, "N");
    syn_pb_end(&w, d);
    for (size_t k = 0; k < t->rank; k++) {
        d = syn_pb_begin(&w, ONNX_SHAPE_DIM);
        syn_pb_put_int64(&w, ONNX_DIM_VALUE, t->dims[k]);
        syn_pb_end(&w, d);
    }
    syn_pb_end(&w, sh);
    syn_pb_end(&w, tt);
    syn_pb_end(&w, ty);
    syn_pb_end(&w, v);
    put_value(&w, ONNX_GRAPH_OUTPUT, last, 2);
    return finish_model(&w, g, out, err);
}

/* Accepted forms compute what ONNX would; refused ones name their node. */
static void test_wrapped_graphs(void)
{
    static const struct {
        const char *what;
        tgraph g;
        syn_status want;
        const char *message; /* in the error, or NULL */
        float y0;            /* y[0] for x = 1, 2, 3, ... when accepted */
    } cases[] = {
        {"Reshape [0, -1] of [N, 2, 3]",
         {{2, 3}, 2, 6, {0, -1}, 2, 1, 1.0f,
          {{"Reshape", "r", "x", "S", "a"}, {"MatMul", "m", "a", "W", "y"}}},
         SYN_OK, NULL, 0.5f * 21},
        {"Sub then Div by 4, then Reshape [-1, 6]",
         {{2, 3}, 2, 6, {-1, 6}, 2, 1, 4.0f,
          {{"Sub", "s", "x", "C", "a"}, {"Div", "d", "a", "C", "b"},
           {"Reshape", "r", "b", "S", "c"}, {"MatMul", "m", "c", "W", "y"}}},
         SYN_OK, NULL, 0.5f * (21 - 24) / 4},
        {"Div by a per-feature vector",
         {{3}, 1, 3, {0}, 0, 3, 2.0f,
          {{"Div", "d", "x", "C", "a"}, {"MatMul", "m", "a", "W", "y"}}},
         SYN_OK, NULL, 0.5f * 6 / 2},
        {"Shape, Gather, Unsqueeze, Concat, Reshape",
         {{2, 3}, 2, 6, {-1}, 1, 1, 1.0f,
          {{"Shape", "sh", "x", NULL, "s0"}, {"Gather", "ga", "s0", "Z", "s1"},
           {"Unsqueeze", "un", "s1", "Z", "s2"}, {"Concat", "co", "s2", "S", "s3"},
           {"Reshape", "r", "x", "s3", "a"}, {"MatMul", "m", "a", "W", "y"}}},
         SYN_OK, NULL, 0.5f * 21},
        {"Reshape that changes the batch",
         {{2, 3}, 2, 3, {-1, 3}, 2, 1, 1.0f,
          {{"Reshape", "bad_reshape", "x", "S", "a"}, {"MatMul", "m", "a", "W", "y"}}},
         SYN_ERR_SHAPE, "node 0 \"bad_reshape\" (Reshape): Reshape to samples of 3 features "
         "would change the batch", 0},
        {"Reshape to a fixed batch",
         {{2, 3}, 2, 6, {4, 6}, 2, 1, 1.0f,
          {{"Reshape", "fixed", "x", "S", "a"}, {"MatMul", "m", "a", "W", "y"}}},
         SYN_ERR_UNSUPPORTED, "\"fixed\" (Reshape): the first axis must stay the batch", 0},
        {"Reshape to one axis",
         {{2, 3}, 2, 6, {-1}, 1, 1, 1.0f,
          {{"Reshape", "flat", "x", "S", "a"}, {"MatMul", "m", "a", "W", "y"}}},
         SYN_ERR_UNSUPPORTED, "\"flat\" (Reshape): Reshape to fewer than two axes", 0},
        {"a layer on an unflattened sample",
         {{2, 3}, 2, 6, {0}, 0, 1, 1.0f, {{"MatMul", "mm", "x", "W", "y"}}},
         SYN_ERR_UNSUPPORTED, "\"mm\" (MatMul): its input has samples of 2 axes", 0},
        {"Div after the first layer",
         {{3}, 1, 3, {0}, 0, 1, 2.0f,
          {{"MatMul", "m", "x", "W", "a"}, {"Div", "late", "a", "C", "y"}}},
         SYN_ERR_UNSUPPORTED, "\"late\" (Div): Sub, Mul and Div are supported only as input", 0},
        {"Mul then Div",
         {{3}, 1, 3, {0}, 0, 1, 2.0f,
          {{"Mul", "mu", "x", "C", "a"}, {"Div", "twice", "a", "C", "b"},
           {"MatMul", "m", "b", "W", "y"}}},
         SYN_ERR_UNSUPPORTED, "\"twice\" (Div): input scaling must be at most one Sub", 0},
        {"a constant divided by the input",
         {{3}, 1, 3, {0}, 0, 1, 2.0f,
          {{"Div", "inv", "C", "x", "a"}, {"MatMul", "m", "a", "W", "y"}}},
         SYN_ERR_UNSUPPORTED, "\"inv\" (Div): the chain must be the first operand", 0},
        {"Div by zero",
         {{3}, 1, 3, {0}, 0, 1, 0.0f,
          {{"Div", "zero", "x", "C", "a"}, {"MatMul", "m", "a", "W", "y"}}},
         SYN_ERR_UNSUPPORTED, "node 0 \"zero\" (Div): divides feature 0 by 0", 0},
        {"a per-feature constant that does not broadcast",
         {{2, 3}, 2, 6, {0, -1}, 2, 2, 1.0f,
          {{"Sub", "wide", "x", "C", "a"}, {"Reshape", "r", "a", "S", "b"},
           {"MatMul", "m", "b", "W", "y"}}},
         SYN_ERR_SHAPE, "\"wide\" (Sub): its constant's dim 2 does not broadcast", 0},
        {"BatchNormalization with a negative running variance",
         {{3}, 1, 3, {0}, 0, 3, -1.0f,
          {{"BatchNormalization", "neg_var", "x", "C,C,C,C", "a"},
           {"MatMul", "m", "a", "W", "y"}}},
         SYN_ERR_CORRUPT, "\"neg_var\" (BatchNormalization): feature 0 has running mean -1 "
         "and variance -1", 0},
        {"BatchNormalization with gamma 2, beta, mean and var 2",
         {{3}, 1, 3, {0}, 0, 3, 2.0f,
          {{"BatchNormalization", "bn", "x", "C,C,C,C", "a"},
           {"MatMul", "m", "a", "W", "y"}}},
         SYN_OK, NULL, 3.0f}, /* 0.5 * sum_j ((x_j - 2) / sqrt(2 + 1e-5) * 2 + 2), x = 1, 2, 3 */
        {"an activation after Dropout",
         {{3}, 1, 3, {0}, 0, 1, 0.25f,
          {{"MatMul", "m", "x", "W", "a"}, {"Dropout", "drop", "a", "C", "b"},
           {"Relu", "late_relu", "b", NULL, "y"}}},
         SYN_ERR_UNSUPPORTED, "\"late_relu\" (Relu): an activation right after Dropout", 0},
        {"ReduceMean that is no LayerNorm",
         {{3}, 1, 3, {0}, 0, 1, 1.0f,
          {{"ReduceMean", "rm", "x", NULL, "a"}, {"MatMul", "m", "a", "W", "y"}}},
         SYN_ERR_UNSUPPORTED, "\"rm\" (ReduceMean): ReduceMean is supported as part of a "
         "LayerNorm", 0},
        {"Gather out of range",
         {{2, 3}, 2, 6, {5}, 1, 1, 1.0f,
          {{"Shape", "sh", "x", NULL, "s0"}, {"Gather", "far", "s0", "S", "s1"},
           {"Reshape", "r", "x", "s1", "a"}, {"MatMul", "m", "a", "W", "y"}}},
         SYN_ERR_CORRUPT, "\"far\" (Gather): index 5 out of a shape of 3", 0},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        syn_net *net = NULL;
        syn_error err = {{0}};
        syn_status st = parse_tgraph(&cases[k].g, &net, &err);
        CHECK(st == cases[k].want, "%s: status %d (%s), expected %d", cases[k].what, (int)st,
              err.message, (int)cases[k].want);
        if (cases[k].message)
            CHECK(strstr(err.message, cases[k].message) != NULL, "%s: message \"%s\"",
                  cases[k].what, err.message);
        if (!net)
            continue;
        size_t n = syn_net_n_inputs(net);
        CHECK(n == cases[k].g.n_in, "%s: %zu inputs", cases[k].what, n);
        float x[8];
        for (size_t i = 0; i < n && i < 8; i++)
            x[i] = (float)(i + 1);
        float *y = forward_copy(net, x, 1);
        CHECK(y && fabsf(y[0] - cases[k].y0) <= 1e-6f * (1 + fabsf(cases[k].y0)),
              "%s: y[0] %g, expected %g", cases[k].what, y ? (double)y[0] : NAN,
              (double)cases[k].y0);
        free(y);
        syn_net_free(net);
    }
}

/* Class names: from metadata_props "classes" (a plain list, strings or
 * numbers) when synapse's own "class_names" is absent; and a binary
 * classifier's two names for its one Sigmoid output survive a round trip. */
static void test_class_names(void)
{
    static const struct {
        const char *fixture;
        const char *names[4];
        size_t n;
    } cases[] = {{"norm_sub_div", {"cat", "dog", "bird", "fish"}, 4},
                 {"image_flatten", {"0", "1", "2"}, 3}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char path[512];
        snprintf(path, sizeof path, "%s/fixtures/onnx/%s.onnx", SYN_TEST_DIR, cases[k].fixture);
        syn_net *net = NULL;
        syn_error err = {{0}};
        CHECK(syn_net_import_onnx(path, &net, &err) == SYN_OK, "%s: %s", path, err.message);
        if (!net)
            continue;
        CHECK(syn_net_n_class_names(net) == cases[k].n, "%s: %zu class names",
              cases[k].fixture, syn_net_n_class_names(net));
        for (size_t i = 0; i < cases[k].n && i < syn_net_n_class_names(net); i++)
            CHECK(!strcmp(syn_net_class_name(net, i), cases[k].names[i]), "%s: class %zu is %s",
                  cases[k].fixture, i, syn_net_class_name(net, i));
        syn_net_free(net);
    }
    syn_layer_desc layers[2] = {{.units = 3, .activation = SYN_ACT_TANH},
                                {.units = 1, .activation = SYN_ACT_SIGMOID}};
    syn_net_desc desc = {.n_inputs = 2, .n_layers = 2, .layers = layers,
                         .loss = SYN_LOSS_BCE, .seed = 3};
    syn_net *net = NULL, *back = NULL;
    const char *names[2] = {"no", "yes"};
    CHECK_OK(syn_net_create(&desc, &net));
    CHECK_OK(syn_net_set_class_names(net, names, 2));
    char path[128];
    snprintf(path, sizeof path, "%s/binary.onnx", tmp_dir);
    syn_error err = {{0}};
    CHECK_OK(syn_net_export_onnx(net, path, &err));
    CHECK(syn_net_import_onnx(path, &back, &err) == SYN_OK, "binary classifier: %s",
          err.message);
    CHECK(back && syn_net_n_class_names(back) == 2 && !strcmp(syn_net_class_name(back, 1), "yes"),
          "binary classifier: class names lost");
    syn_net_free(back);
    syn_net_free(net);
}

/* ------------------------------------------------------------------------ */
/* External consumers                                                        */
/* ------------------------------------------------------------------------ */

static int have_python_onnx(void)
{
    return system("/usr/bin/python3 -c 'import onnx' >/dev/null 2>&1") == 0;
}

static int have_ort(void)
{
    return file_exists(SYN_TEST_DIR "/onnx/node_modules/onnxruntime-node/package.json") &&
           system("node --version >/dev/null 2>&1") == 0;
}

static void test_onnx_checker(void)
{
    if (!have_python_onnx()) {
        printf("SKIP onnx.checker: python3-onnx is not installed (tests/onnx/setup.sh)\n");
        return;
    }
    char cmd[4096];
    int n = snprintf(cmd, sizeof cmd,
                     "/usr/bin/python3 -c 'import sys, onnx\n"
                     "for p in sys.argv[1:]:\n"
                     "    m = onnx.load(p)\n"
                     "    onnx.checker.check_model(m, full_check=True)\n"
                     "    assert m.ir_version == 8 and m.opset_import[0].version in (13, 17), p\n"
                     "    assert m.producer_name == \"synapse\", p\n"
                     "print(\"onnx.checker: %%d models pass (onnx %%s)\" %% "
                     "(len(sys.argv) - 1, onnx.__version__))'");
    for (size_t k = 0; k < N_SPECS; k++)
        n += snprintf(cmd + n, sizeof cmd - (size_t)n, " %s/%s.onnx", tmp_dir, specs[k].name);
    fflush(stdout);
    CHECK(system(cmd) == 0, "onnx.checker.check_model(full_check=True) rejected an export");
    /* The class names come back through onnx's own metadata reader. */
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c 'import sys, json, onnx\n"
             "m = onnx.load(sys.argv[1])\n"
             "names = json.loads({p.key: p.value for p in m.metadata_props}[\"class_names\"])\n"
             "assert names[:3] == [\"zero\", \"one \\\"quoted\\\"\", \"back\\\\slash\"], names\n'"
             " %s/relu_softmax.onnx", tmp_dir);
    CHECK(system(cmd) == 0, "class_names metadata is not the expected JSON array");
}

/* Runs the model in ONNX Runtime on x [rows x n_in]; NULL on failure. */
static float *run_ort(const char *model, const float *x, size_t rows, size_t n_in,
                      size_t n_out)
{
    char in_path[128], out_path[128], cmd[1024];
    tmp_path(in_path, sizeof in_path, "ort_in.f32");
    tmp_path(out_path, sizeof out_path, "ort_out.f32");
    remove(out_path);
    if (!write_f32(in_path, x, rows * n_in))
        return NULL;
    snprintf(cmd, sizeof cmd, "node %s/onnx/run_ort.js %s %s %zu %s", SYN_TEST_DIR, model,
             in_path, n_in, out_path);
    fflush(stdout);
    if (system(cmd) != 0)
        return NULL;
    float *y = malloc(rows * n_out * sizeof *y);
    if (y && !read_f32(out_path, y, rows * n_out)) {
        free(y);
        return NULL;
    }
    return y;
}

static double compare_with_ort(const syn_net *net, const char *model, const float *x,
                               size_t rows, const char *what)
{
    size_t n_in = syn_net_n_inputs(net), n_out = syn_net_n_outputs(net);
    float *want = forward_copy(net, x, rows);
    float *got = run_ort(model, x, rows, n_in, n_out);
    CHECK(got != NULL, "%s: ONNX Runtime failed", what);
    double diff = got && want ? max_abs_diff(got, want, rows * n_out) : INFINITY;
    CHECK(diff <= ORT_TOLERANCE, "%s: ONNX Runtime differs from syn_forward by %g", what, diff);
    free(want);
    free(got);
    return diff;
}

static void test_onnx_runtime(void)
{
    if (!have_ort()) {
        printf("SKIP ONNX Runtime: run tests/onnx/setup.sh to install onnxruntime-node\n");
        return;
    }
    double worst = 0.0;
    for (size_t k = 0; k < N_SPECS; k++) {
        const spec *s = &specs[k];
        syn_net *net = make_net(s, 100 + k);
        char path[128];
        snprintf(path, sizeof path, "%s/%s.onnx", tmp_dir, s->name);
        float *x = random_inputs(37, s->n_inputs, 11 + k, 3.0);
        double d = compare_with_ort(net, path, x, 37, s->name);
        worst = d > worst ? d : worst;
        free(x);
        syn_net_free(net);
    }
    printf("ONNX Runtime vs syn_forward, %zu random nets: max |diff| %.3g\n", N_SPECS, worst);

    /* Fashion-MNIST-sized: 784-256-128-10, standard scaling, real images when
     * the data set is installed, random pixels otherwise. */
    const size_t rows = 300, n_in = 784;
    float *x = malloc(rows * n_in * sizeof *x);
    syn_dataset *ds = NULL;
    const char *images = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz";
    int real = file_exists(images) && syn_dataset_load_idx(images, NULL, &ds, NULL) == SYN_OK &&
               syn_dataset_n_features(ds) == n_in;
    size_t idx[300];
    for (size_t i = 0; i < rows; i++)
        idx[i] = i;
    if (real) {
        syn_dataset_gather(ds, idx, rows, x, NULL);
    } else {
        syn_rng rng;
        syn_rng_seed(&rng, 77);
        for (size_t i = 0; i < rows * n_in; i++)
            x[i] = (float)syn_rng_below(&rng, 256);
        syn_dataset_from_floats(x, rows, n_in, NULL, 0, &ds);
    }
    syn_layer_desc layers[3] = {DENSE(256, SYN_ACT_RELU, 0, 0), DENSE(128, SYN_ACT_RELU, 0, 0),
                                DENSE(10, SYN_ACT_SOFTMAX, 0, 0)};
    syn_net_desc desc = {n_in, 3, layers, SYN_LOSS_CROSS_ENTROPY, SYN_REDUCTION_MEAN,
                         SYN_INIT_AUTO, 2024, {0, 0, 0}};
    syn_net *net = NULL;
    CHECK_OK(syn_net_create(&desc, &net));
    float *offset = malloc(n_in * sizeof *offset), *scale = malloc(n_in * sizeof *scale);
    CHECK_OK(syn_dataset_fit_scaling(ds, idx, rows, SYN_SCALE_STANDARD, offset, scale));
    CHECK_OK(syn_net_set_input_scaling(net, offset, scale));
    char path[128];
    tmp_path(path, sizeof path, "fashion.onnx");
    CHECK_OK(syn_net_export_onnx(net, path, NULL));
    double d = compare_with_ort(net, path, x, rows, "784-256-128-10");
    printf("ONNX Runtime vs syn_forward, 784-256-128-10 with scaling on %zu %s rows: "
           "max |diff| %.3g\n", rows, real ? "Fashion-MNIST" : "random", d);
    free(offset);
    free(scale);
    free(x);
    syn_dataset_free(ds);
    syn_net_free(net);
}

/* ------------------------------------------------------------------------ */
/* PyTorch exports (tests/fixtures/onnx, from tests/onnx/make_torch_fixtures.py) */
/* ------------------------------------------------------------------------ */

/* A few epochs on targets near the model's own outputs must lower the loss:
 * the imported network trains like any other. */
static void fine_tune(syn_net *net, const float *x, const float *y, size_t rows, int softmax,
                      const char *name)
{
    size_t n_in = syn_net_n_inputs(net), n_out = syn_net_n_outputs(net);
    syn_dataset *ds = NULL;
    if (softmax) {
        uint32_t *labels = malloc(rows * sizeof *labels);
        for (size_t r = 0; r < rows; r++) /* the class PyTorch ranks second */
            labels[r] = (uint32_t)((r + 1) % n_out);
        syn_dataset_from_labels(x, rows, n_in, labels, n_out, &ds);
        free(labels);
    } else {
        float *t = malloc(rows * n_out * sizeof *t);
        for (size_t i = 0; i < rows * n_out; i++)
            t[i] = y[i] + 0.5f;
        syn_dataset_from_floats(x, rows, n_in, t, n_out, &ds);
        free(t);
    }
    syn_workspace *ws = NULL;
    syn_eval before, after;
    syn_optim_desc opt = syn_optim_defaults(SYN_OPTIM_ADAM);
    opt.lr = 0.01f;
    syn_train_desc td = {0};
    td.batch_size = 8;
    td.seed = 1;
    syn_trainer *tr = NULL;
    CHECK_OK(syn_workspace_create(net, rows, &ws));
    CHECK_OK(syn_evaluate(net, ws, ds, NULL, 0, &before, NULL));
    CHECK_OK(syn_trainer_create(net, &opt, &td, &tr));
    syn_epoch_stats stats;
    syn_status st = SYN_OK;
    for (int e = 0; e < 5 && st == SYN_OK; e++)
        st = syn_trainer_epoch(tr, ds, NULL, 0, NULL, NULL, &stats);
    CHECK(st == SYN_OK, "%s: training failed: %s", name, syn_strerror(st));
    CHECK_OK(syn_evaluate(net, ws, ds, NULL, 0, &after, NULL));
    CHECK(after.loss < before.loss, "%s: fine-tuning loss %g -> %g", name, before.loss,
          after.loss);
    syn_trainer_free(tr);
    syn_workspace_free(ws);
    syn_dataset_free(ds);
}

static void test_torch_fixtures(void)
{
    const char *dir = SYN_TEST_DIR "/fixtures/onnx";
    char path[512], line[256];
    snprintf(path, sizeof path, "%s/manifest.txt", dir);
    FILE *manifest = fopen(path, "r");
    CHECK(manifest != NULL, "%s is missing (tests/onnx/make_torch_fixtures.py)", path);
    if (!manifest)
        return;
    size_t models = 0;
    double worst = 0.0;
    while (fgets(line, sizeof line, manifest)) {
        char name[64];
        size_t n_in, n_out, rows;
        int opset, softmax;
        if (line[0] == '#' ||
            sscanf(line, "%63s %zu %zu %zu %d %d", name, &n_in, &n_out, &rows, &opset,
                   &softmax) != 6)
            continue;
        models++;
        float *x = malloc(rows * n_in * sizeof *x), *y = malloc(rows * n_out * sizeof *y);
        snprintf(path, sizeof path, "%s/%s.input.f32", dir, name);
        CHECK(read_f32(path, x, rows * n_in), "%s: inputs", name);
        snprintf(path, sizeof path, "%s/%s.output.f32", dir, name);
        CHECK(read_f32(path, y, rows * n_out), "%s: outputs", name);
        snprintf(path, sizeof path, "%s/%s.onnx", dir, name);
        syn_net *net = NULL;
        syn_error err = {{0}};
        syn_status st = syn_net_import_onnx(path, &net, &err);
        CHECK(st == SYN_OK, "%s (opset %d): %s", name, opset, err.message);
        if (net) {
            CHECK(syn_net_n_inputs(net) == n_in && syn_net_n_outputs(net) == n_out,
                  "%s: shape", name);
            CHECK(syn_net_loss(net) == (softmax ? SYN_LOSS_CROSS_ENTROPY : SYN_LOSS_MSE),
                  "%s: loss", name);
            float *got = forward_copy(net, x, rows);
            double d = got ? max_abs_diff(got, y, rows * n_out) : INFINITY;
            CHECK(d <= TORCH_TOLERANCE, "%s: differs from PyTorch by %g", name, d);
            worst = d > worst ? d : worst;
            free(got);
            fine_tune(net, x, y, rows, softmax, name);
        }
        syn_net_free(net);
        free(x);
        free(y);
    }
    fclose(manifest);
    CHECK(models >= 6, "only %zu fixture models", models);
    printf("PyTorch fixtures: %zu models imported, max |diff| vs torch %.3g\n", models, worst);
}

int main(void)
{
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/syn_test_onnx_XXXXXX");
    if (!mkdtemp(tmp_dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_round_trip();
    test_truncation();
    test_random_bytes();
    test_unsupported();
    test_wrapped_graphs();
    test_class_names();
    test_torch_fixtures();
    test_onnx_checker();
    test_onnx_runtime();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmp_dir);
    return check_finish();
}
