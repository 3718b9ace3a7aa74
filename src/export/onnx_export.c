/* onnx_export.c - writes a network as an ONNX model (IR version 8, opset 13,
 * layout in docs/FORMAT.md, "ONNX export"): the input scaling as Sub and Mul,
 * each layer as its kind writes it (layers/, onnx_emit: dense as Gemm with
 * transB = 1, conv as Conv, ...), its activation as the matching operator,
 * Flatten or Reshape where a layer over [batch, width] meets one over
 * [batch, C, H, W], class names in metadata_props.
 * Field numbers are onnx.proto's, named in onnx.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/encoding.h"
#include "core/internal.h"
#include "io/file.h"
#include "layers/activation.h"
#include "export/onnx.h"
#include "export/protobuf.h"

#define NAME_SIZE 64

/* The layers' attribute type (layers/layer_export.h): the kinds write
 * their nodes through the sinks below. */
typedef syn_onnx_attr onnx_attr;
_Static_assert((int)SYN_ONNX_FLOAT == (int)ONNX_ATTR_TYPE_FLOAT &&
                   (int)SYN_ONNX_INT == (int)ONNX_ATTR_TYPE_INT &&
                   (int)SYN_ONNX_INTS == (int)ONNX_ATTR_TYPE_INTS,
               "attribute types are ONNX's");

/* A FLOAT TensorProto with raw_data: little-endian float32 written byte by
 * byte, so the file is the same on every host. */
static void put_tensor(syn_pb_writer *w, const char *name, const int64_t *dims, size_t n_dims,
                       const float *values, size_t count)
{
    size_t tensor = syn_pb_begin(w, ONNX_GRAPH_INITIALIZER);
    for (size_t d = 0; d < n_dims; d++)
        syn_pb_put_int64(w, ONNX_TENSOR_DIMS, dims[d]);
    syn_pb_put_varint(w, ONNX_TENSOR_DATA_TYPE, ONNX_DTYPE_FLOAT);
    syn_pb_put_string(w, ONNX_TENSOR_NAME, name);
    size_t raw = syn_pb_begin(w, ONNX_TENSOR_RAW_DATA);
    uint8_t chunk[1024];
    size_t used = 0;
    for (size_t k = 0; k < count; k++) {
        uint32_t bits;
        memcpy(&bits, &values[k], sizeof bits);
        for (int b = 0; b < 4; b++)
            chunk[used++] = (uint8_t)(bits >> (8 * b));
        if (used == sizeof chunk) {
            syn_pb_append(w, chunk, used);
            used = 0;
        }
    }
    syn_pb_append(w, chunk, used);
    syn_pb_end(w, raw);
    syn_pb_end(w, tensor);
}

static void put_node(syn_pb_writer *w, const char *op_type, const char *name,
                     const char *const *inputs, size_t n_inputs, const char *output,
                     const onnx_attr *attrs, size_t n_attrs)
{
    size_t node = syn_pb_begin(w, ONNX_GRAPH_NODE);
    for (size_t k = 0; k < n_inputs; k++)
        syn_pb_put_string(w, ONNX_NODE_INPUT, inputs[k]);
    syn_pb_put_string(w, ONNX_NODE_OUTPUT, output);
    syn_pb_put_string(w, ONNX_NODE_NAME, name);
    syn_pb_put_string(w, ONNX_NODE_OP_TYPE, op_type);
    for (size_t k = 0; k < n_attrs; k++) {
        size_t attr = syn_pb_begin(w, ONNX_NODE_ATTRIBUTE);
        syn_pb_put_string(w, ONNX_ATTR_NAME, attrs[k].name);
        if (attrs[k].type == ONNX_ATTR_TYPE_FLOAT)
            syn_pb_put_float(w, ONNX_ATTR_F, attrs[k].f);
        else if (attrs[k].type == ONNX_ATTR_TYPE_INTS)
            for (size_t j = 0; j < attrs[k].n_ints; j++)
                syn_pb_put_int64(w, ONNX_ATTR_INTS, attrs[k].ints[j]);
        else
            syn_pb_put_int64(w, ONNX_ATTR_I, attrs[k].i);
        syn_pb_put_varint(w, ONNX_ATTR_TYPE, (uint64_t)attrs[k].type);
        syn_pb_end(w, attr);
    }
    syn_pb_end(w, node);
}

/* ValueInfoProto of a float tensor [batch, dims...] with a symbolic batch. */
static void put_value_info(syn_pb_writer *w, uint32_t field, const char *name,
                           const size_t *dims, size_t n_dims)
{
    size_t info = syn_pb_begin(w, field);
    syn_pb_put_string(w, ONNX_VALUE_NAME, name);
    size_t type = syn_pb_begin(w, ONNX_VALUE_TYPE);
    size_t tensor = syn_pb_begin(w, ONNX_TYPE_TENSOR_TYPE);
    syn_pb_put_varint(w, ONNX_TENSOR_TYPE_ELEM_TYPE, ONNX_DTYPE_FLOAT);
    size_t shape = syn_pb_begin(w, ONNX_TENSOR_TYPE_SHAPE);
    size_t dim = syn_pb_begin(w, ONNX_SHAPE_DIM);
    syn_pb_put_string(w, ONNX_DIM_PARAM, "batch");
    syn_pb_end(w, dim);
    for (size_t k = 0; k < n_dims; k++) {
        dim = syn_pb_begin(w, ONNX_SHAPE_DIM);
        syn_pb_put_int64(w, ONNX_DIM_VALUE, (int64_t)dims[k]);
        syn_pb_end(w, dim);
    }
    syn_pb_end(w, shape);
    syn_pb_end(w, tensor);
    syn_pb_end(w, type);
    syn_pb_end(w, info);
}

/* An INT64 initializer (a Reshape's shape). */
static void put_int64_tensor(syn_pb_writer *w, const char *name, const int64_t *values,
                             size_t count)
{
    size_t tensor = syn_pb_begin(w, ONNX_GRAPH_INITIALIZER);
    syn_pb_put_int64(w, ONNX_TENSOR_DIMS, (int64_t)count);
    syn_pb_put_varint(w, ONNX_TENSOR_DATA_TYPE, ONNX_DTYPE_INT64);
    syn_pb_put_string(w, ONNX_TENSOR_NAME, name);
    size_t raw = syn_pb_begin(w, ONNX_TENSOR_RAW_DATA);
    for (size_t k = 0; k < count; k++) {
        uint8_t bytes[8];
        for (int b = 0; b < 8; b++)
            bytes[b] = (uint8_t)((uint64_t)values[k] >> (8 * b));
        syn_pb_append(w, bytes, 8);
    }
    syn_pb_end(w, raw);
    syn_pb_end(w, tensor);
}

/* Tensor ranks between the layers (docs/FORMAT.md): the image kinds
 * (those planned from a shape, but Flatten) take and give [batch, C, H, W];
 * the others [batch, width]. */
static int image_kind(syn_layer_kind kind)
{
    return syn_layer_ops_of(kind)->plan_shape != NULL && kind != SYN_LAYER_FLATTEN;
}

/* Whether the graph input is [batch, C, H, W]: the net has an image shape,
 * or starts with an image kind. */
static int image_input(const syn_net *net)
{
    return net->in_shape[1] * net->in_shape[2] > 1 || image_kind(net->layers[0].kind);
}

/* Whether the value entering layer l is [batch, C, H, W]. */
static int image_before(const syn_net *net, size_t l)
{
    return l == 0 ? image_input(net) : image_kind(net->layers[l - 1].kind);
}

/* The activation's own name (the table's): node and value names. */
static const char *activation_word(syn_activation act)
{
    return syn_act_info_of(act)->name;
}

/* The activation of layer l from `in` to `out` in opset 13 operators, as
 * torch.onnx.export writes each (the table's ONNX form); the constants
 * the decompositions need are initializers named act<l>.<what>, written
 * by put_activation_constants. */
static void put_activation_nodes(syn_pb_writer *w, const syn_layer *layer, size_t l,
                                 const char *prefix, const char *in, const char *out)
{
    const syn_act_info *info = syn_act_info_of(layer->activation);
    char node[NAME_SIZE], t[8][NAME_SIZE], c[4][NAME_SIZE];
    const char *word = info->name;
    for (int k = 0; k < 8; k++) {
        snprintf(t[k], sizeof t[k], "%s%zu_%s.t%d", prefix, l, word, k);
        if (k < 4)
            snprintf(c[k], sizeof c[k], "act%zu.c%d", l, k);
    }
    snprintf(node, sizeof node, "%s%zu_%s", prefix, l, word);
#define NODE(op, suffix, output, attrs, n_attrs, ...)                                   \
    do {                                                                                  \
        const char *ins_[] = {__VA_ARGS__};                                               \
        char name_[NAME_SIZE + 8];                                                        \
        snprintf(name_, sizeof name_, "%s%s", node, suffix);                             \
        put_node(w, op, name_, ins_, sizeof ins_ / sizeof *ins_, output, attrs, n_attrs); \
    } while (0)
    onnx_attr attr = {NULL, 0, 0.0f, 0, NULL, 0};
    switch (info->onnx_form) {
    case SYN_ONNX_ACT_NONE: break;
    case SYN_ONNX_ACT_OP: NODE(info->onnx_op, "", out, NULL, 0, in); break;
    case SYN_ONNX_ACT_OP_ALPHA:
        attr = (onnx_attr){"alpha", ONNX_ATTR_TYPE_FLOAT, layer->leaky_slope, 0, NULL, 0};
        NODE(info->onnx_op, "", out, &attr, 1, in);
        break;
    case SYN_ONNX_ACT_SOFTMAX:
        /* axis 1 of a [batch, units] tensor: the same under the opset < 13
         * (flatten to 2-D at axis) and the opset >= 13 (one axis) rules. */
        attr = (onnx_attr){"axis", ONNX_ATTR_TYPE_INT, 0.0f, 1, NULL, 0};
        NODE("Softmax", "", out, &attr, 1, in);
        break;
    case SYN_ONNX_ACT_GELU_ERF: /* x * (Erf(x / sqrt 2) + 1) * 0.5; Erf needs no opset 20 */
        NODE("Div", "_div", t[0], NULL, 0, in, c[0]);
        NODE("Erf", "_erf", t[1], NULL, 0, t[0]);
        NODE("Add", "_add", t[2], NULL, 0, t[1], c[1]);
        NODE("Mul", "_mul", t[3], NULL, 0, in, t[2]);
        NODE("Mul", "_half", out, NULL, 0, t[3], c[2]);
        break;
    case SYN_ONNX_ACT_GELU_TANH:
        /* 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), node for node as
         * torch.onnx.export writes GELU(approximate='tanh') */
        NODE("Mul", "_square", t[0], NULL, 0, in, in);
        NODE("Mul", "_cube", t[1], NULL, 0, in, t[0]);
        NODE("Mul", "_scale", t[2], NULL, 0, c[0], t[1]);
        NODE("Add", "_inner", t[3], NULL, 0, in, t[2]);
        NODE("Mul", "_k", t[4], NULL, 0, c[1], t[3]);
        NODE("Tanh", "_tanh", t[5], NULL, 0, t[4]);
        NODE("Add", "_one", t[6], NULL, 0, c[2], t[5]);
        NODE("Mul", "_mul", t[7], NULL, 0, in, t[6]);
        NODE("Mul", "_half", out, NULL, 0, c[3], t[7]);
        break;
    case SYN_ONNX_ACT_SILU: /* x * Sigmoid(x) */
        NODE("Sigmoid", "_sigmoid", t[0], NULL, 0, in);
        NODE("Mul", "_mul", out, NULL, 0, in, t[0]);
        break;
    case SYN_ONNX_ACT_SOFTPLUS: /* Softplus(beta x) / beta */
        if (layer->leaky_slope == 1.0f) {
            NODE("Softplus", "", out, NULL, 0, in);
            break;
        }
        NODE("Mul", "_beta", t[0], NULL, 0, in, c[0]);
        NODE("Softplus", "", t[1], NULL, 0, t[0]);
        NODE("Div", "_div", out, NULL, 0, t[1], c[0]);
        break;
    case SYN_ONNX_ACT_COUNT_: break;
    }
#undef NODE
}

/* The scalar constants of layer l's activation nodes. */
static void put_activation_constants(syn_pb_writer *w, const syn_layer *layer, size_t l)
{
    float v[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    size_t n = 0;
    switch (syn_act_info_of(layer->activation)->onnx_form) {
    case SYN_ONNX_ACT_NONE:
    case SYN_ONNX_ACT_OP:
    case SYN_ONNX_ACT_OP_ALPHA:
    case SYN_ONNX_ACT_SOFTMAX:
    case SYN_ONNX_ACT_SILU:
    case SYN_ONNX_ACT_COUNT_: break;
    case SYN_ONNX_ACT_GELU_ERF:
        v[0] = 1.41421356237309505f, v[1] = 1.0f, v[2] = 0.5f, n = 3;
        break;
    case SYN_ONNX_ACT_GELU_TANH:
        v[0] = 0.044715f, v[1] = 0.79788456080286535f, v[2] = 1.0f, v[3] = 0.5f, n = 4;
        break;
    case SYN_ONNX_ACT_SOFTPLUS:
        v[0] = layer->leaky_slope, n = layer->leaky_slope == 1.0f ? 0 : 1;
        break;
    }
    for (size_t k = 0; k < n; k++) {
        char name[NAME_SIZE];
        snprintf(name, sizeof name, "act%zu.c%zu", l, k);
        put_tensor(w, name, NULL, 0, &v[k], 1);
    }
}

/* Sub(input, offset) then Mul(., scale): exactly the float operations of
 * syn_forward's (x - offset) * scale, so results match bit for bit. */
static void put_scaling(syn_pb_writer *w, char *current)
{
    const char *sub_in[2] = {current, "input_offset"};
    put_node(w, "Sub", "scale_sub", sub_in, 2, "input_centered", NULL, 0);
    const char *mul_in[2] = {"input_centered", "input_scale"};
    put_node(w, "Mul", "scale_mul", mul_in, 2, "input_scaled", NULL, 0);
    snprintf(current, NAME_SIZE, "input_scaled");
}

/* The sinks the layer kinds write through (layers/layer_export.h): the
 * graph's nodes and its initializers are written in two passes, nodes
 * first, as the file has always been laid out. */
static void sink_node(void *ctx, const char *op, const char *name, const char *const *inputs,
                      size_t n_inputs, const char *output, const syn_onnx_attr *attrs,
                      size_t n_attrs)
{
    put_node(ctx, op, name, inputs, n_inputs, output, attrs, n_attrs);
}

static void sink_tensor(void *ctx, const char *name, const int64_t *dims, size_t n_dims,
                        const float *values, size_t count)
{
    put_tensor(ctx, name, dims, n_dims, values, count);
}

static void skip_node(void *ctx, const char *op, const char *name, const char *const *inputs,
                      size_t n_inputs, const char *output, const syn_onnx_attr *attrs,
                      size_t n_attrs)
{
    (void)ctx, (void)op, (void)name, (void)inputs, (void)n_inputs, (void)output, (void)attrs,
        (void)n_attrs;
}

static void skip_tensor(void *ctx, const char *name, const int64_t *dims, size_t n_dims,
                        const float *values, size_t count)
{
    (void)ctx, (void)name, (void)dims, (void)n_dims, (void)values, (void)count;
}

/* `current` [batch, C, H, W] into [batch, C*H*W] as value `out`. */
static void put_flatten(syn_pb_writer *w, const char *node, char *current, const char *out)
{
    const char *in[1] = {current};
    onnx_attr axis = {"axis", ONNX_ATTR_TYPE_INT, 0.0f, 1, NULL, 0};
    put_node(w, "Flatten", node, in, 1, out, &axis, 1);
    snprintf(current, NAME_SIZE, "%s", out);
}

/* What layer l needs in front: an implicit Flatten before a kind over
 * [batch, width] that follows an image (a dense layer reads the floats of
 * a C x H x W map in their row-major order, as Flatten lays them out), or
 * a Reshape of [batch, width] to the image a kind over images takes. */
static void put_layer_input(syn_pb_writer *w, const syn_net *net, size_t l, char *current)
{
    const syn_layer *layer = &net->layers[l];
    const char *name = syn_layer_ops_of(layer->kind)->name;
    char node[NAME_SIZE], out[NAME_SIZE];
    int have = image_before(net, l), want = image_kind(layer->kind);
    if (layer->kind == SYN_LAYER_FLATTEN || have == want)
        return;
    snprintf(out, sizeof out, "%s%zu_input", name, l);
    if (have) {
        snprintf(node, sizeof node, "%s%zu_flatten", name, l);
        put_flatten(w, node, current, out);
        return;
    }
    char shape[NAME_SIZE];
    snprintf(node, sizeof node, "%s%zu_reshape", name, l);
    snprintf(shape, sizeof shape, "%s%zu.shape", name, l);
    const char *in[2] = {current, shape};
    put_node(w, "Reshape", node, in, 2, out, NULL, 0);
    snprintf(current, NAME_SIZE, "%s", out);
}

/* The initializer put_layer_input's Reshape reads: [0 (the batch), C, H, W]. */
static void put_layer_input_shape(syn_pb_writer *w, const syn_net *net, size_t l)
{
    const syn_layer *layer = &net->layers[l];
    if (!image_kind(layer->kind) || image_before(net, l))
        return;
    char shape[NAME_SIZE];
    snprintf(shape, sizeof shape, "%s%zu.shape", syn_layer_ops_of(layer->kind)->name, l);
    int64_t dims[4] = {0, (int64_t)layer->in_shape[0], (int64_t)layer->in_shape[1],
                       (int64_t)layer->in_shape[2]};
    put_int64_tensor(w, shape, dims, 4);
}

static void put_layer_nodes(syn_pb_writer *w, const syn_net *net, size_t l, char *current)
{
    const syn_layer *layer = &net->layers[l];
    const syn_layer_ops *ops = syn_layer_ops_of(layer->kind);
    int last = l + 1 == net->n_layers, image = image_kind(layer->kind);
    int act_op = syn_act_info_of(layer->activation)->onnx_form != SYN_ONNX_ACT_NONE;
    /* synapse's softmax is over a sample's units: an image is flattened
     * first (ONNX's Softmax at opset 13 is over one axis). */
    int softmax = layer->activation == SYN_ACT_SOFTMAX;
    char node[NAME_SIZE], out[NAME_SIZE];
    put_layer_input(w, net, l, current);
    if (last && !act_op && !image)
        snprintf(out, sizeof out, "output");
    else
        snprintf(out, sizeof out, "%s%zu_linear", ops->name, l);
    syn_onnx_sink nodes = {w, skip_tensor, sink_node};
    if (ops->onnx_emit(layer, l, net->params, net->state, current, out, &nodes)) {
        snprintf(current, NAME_SIZE, "%s", out);
    } else if (last && !act_op && !image) {
        /* A layer that is its input (dropout) at the end: the graph's
         * output still needs its name. */
        const char *in[1] = {current};
        snprintf(node, sizeof node, "%s%zu_identity", ops->name, l);
        put_node(w, "Identity", node, in, 1, "output", NULL, 0);
        snprintf(current, NAME_SIZE, "output");
    }
    if (act_op && image && softmax) {
        snprintf(node, sizeof node, "%s%zu_flatten_out", ops->name, l);
        snprintf(out, sizeof out, "%s%zu_flat", ops->name, l);
        put_flatten(w, node, current, out);
        image = 0;
    }
    if (act_op) {
        if (last && !image)
            snprintf(out, sizeof out, "output");
        else
            snprintf(out, sizeof out, "%s%zu_%s", ops->name, l,
                     activation_word(layer->activation));
        put_activation_nodes(w, layer, l, ops->name, current, out);
        snprintf(current, NAME_SIZE, "%s", out);
    }
    /* The graph's output is [batch, units], as syn_forward's rows. */
    if (last && image) {
        snprintf(node, sizeof node, "%s%zu_flatten_out", ops->name, l);
        put_flatten(w, node, current, "output");
    }
}

static void put_initializers(syn_pb_writer *w, const syn_net *net)
{
    if (net->scale_offset) {
        /* Per feature: over [C, H, W] for an image input (broadcast along
         * the batch). */
        int image = image_input(net);
        int64_t dims[3] = {(int64_t)net->n_inputs, 0, 0};
        if (image)
            for (int k = 0; k < 3; k++)
                dims[k] = (int64_t)net->in_shape[k];
        put_tensor(w, "input_offset", dims, image ? 3 : 1, net->scale_offset, net->n_inputs);
        put_tensor(w, "input_scale", dims, image ? 3 : 1, net->scale_mul, net->n_inputs);
    }
    syn_onnx_sink tensors = {w, sink_tensor, skip_node};
    for (size_t l = 0; l < net->n_layers; l++) {
        syn_layer_ops_of(net->layers[l].kind)
            ->onnx_emit(&net->layers[l], l, net->params, net->state, "", "", &tensors);
        put_layer_input_shape(w, net, l);
        put_activation_constants(w, &net->layers[l], l);
    }
}

static void put_graph(syn_pb_writer *w, const syn_net *net)
{
    size_t graph = syn_pb_begin(w, ONNX_MODEL_GRAPH);
    char current[NAME_SIZE] = "input";
    if (net->scale_offset)
        put_scaling(w, current);
    for (size_t l = 0; l < net->n_layers; l++)
        put_layer_nodes(w, net, l, current);
    syn_pb_put_string(w, ONNX_GRAPH_NAME, "synapse_mlp");
    put_initializers(w, net);
    size_t flat = net->n_inputs, units = net->layers[net->n_layers - 1].units;
    if (image_input(net))
        put_value_info(w, ONNX_GRAPH_INPUT, "input", net->in_shape, 3);
    else
        put_value_info(w, ONNX_GRAPH_INPUT, "input", &flat, 1);
    put_value_info(w, ONNX_GRAPH_OUTPUT, "output", &units, 1);
    syn_pb_end(w, graph);
}

/* A JSON string literal: quote, backslash and control characters escaped,
 * other bytes (UTF-8) as they are. */
static void put_json_string(syn_pb_writer *w, const char *s)
{
    syn_pb_append(w, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[8];
        if (*p == '"' || *p == '\\') {
            esc[0] = '\\';
            esc[1] = (char)*p;
            syn_pb_append(w, esc, 2);
        } else if (*p < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", (unsigned)*p);
            syn_pb_append(w, esc, 6);
        } else {
            syn_pb_append(w, p, 1);
        }
    }
    syn_pb_append(w, "\"", 1);
}

/* metadata_props {key: "class_names", value: JSON array of strings}. */
static void put_class_names(syn_pb_writer *w, const syn_net *net)
{
    if (net->n_class_names == 0)
        return;
    size_t entry = syn_pb_begin(w, ONNX_MODEL_METADATA_PROPS);
    syn_pb_put_string(w, ONNX_ENTRY_KEY, "class_names");
    size_t value = syn_pb_begin(w, ONNX_ENTRY_VALUE);
    syn_pb_append(w, "[", 1);
    for (size_t i = 0; i < net->n_class_names; i++) {
        if (i > 0)
            syn_pb_append(w, ", ", 2);
        put_json_string(w, net->class_names[i]);
    }
    syn_pb_append(w, "]", 1);
    syn_pb_end(w, value);
    syn_pb_end(w, entry);
}

static void put_json_strings(syn_pb_writer *w, char *const *s, size_t n)
{
    syn_pb_append(w, "[", 1);
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            syn_pb_append(w, ", ", 2);
        put_json_string(w, s[i]);
    }
    syn_pb_append(w, "]", 1);
}

static void put_text(syn_pb_writer *w, const char *s)
{
    syn_pb_append(w, s, strlen(s));
}

/* metadata_props "input_encoding": how a table row becomes the "input"
 * vector (docs/FORMAT.md), as JSON: {"columns": [{"name", "kind",
 * "first_input", "width", "fill" or "categories" and "fill_category"}],
 * "missing": [...], "targets": [...]}. Consumers build the vector from it. */
static void put_encoding(syn_pb_writer *w, const syn_net *net)
{
    const syn_encoding *enc = net->encoding;
    if (!enc)
        return;
    size_t entry = syn_pb_begin(w, ONNX_MODEL_METADATA_PROPS);
    syn_pb_put_string(w, ONNX_ENTRY_KEY, "input_encoding");
    size_t value = syn_pb_begin(w, ONNX_ENTRY_VALUE);
    put_text(w, "{\"columns\": [");
    for (size_t i = 0; i < enc->n_columns; i++) {
        const syn_enc_column *c = &enc->columns[i];
        char part[96];
        put_text(w, i ? ", {\"name\": " : "{\"name\": ");
        put_json_string(w, c->name);
        snprintf(part, sizeof part, ", \"kind\": \"%s\", \"first_input\": %zu, \"width\": %zu",
                 c->kind == SYN_COLUMN_NUMERIC ? "numeric" : "categorical", c->first,
                 c->width);
        put_text(w, part);
        if (c->kind == SYN_COLUMN_NUMERIC) {
            snprintf(part, sizeof part, ", \"fill\": %.9g}", (double)c->fill);
            put_text(w, part);
            continue;
        }
        put_text(w, ", \"categories\": ");
        put_json_strings(w, c->categories, c->n_categories);
        snprintf(part, sizeof part, ", \"fill_category\": %zu}", c->fill_category);
        put_text(w, part);
    }
    put_text(w, "], \"missing\": ");
    put_json_strings(w, enc->na_values, enc->n_na_values);
    put_text(w, ", \"targets\": ");
    put_json_strings(w, enc->target_names, enc->n_targets);
    put_text(w, "}");
    syn_pb_end(w, value);
    syn_pb_end(w, entry);
}

/* "synapse 0.1.0 multi-layer perceptron: 4 inputs -> 8 relu -> 3 softmax,
 * input scaling (Sub, Mul)". */
static void put_doc_string(syn_pb_writer *w, const syn_net *net)
{
    size_t doc = syn_pb_begin(w, ONNX_MODEL_DOC_STRING);
    char part[96];
    int image = image_input(net);
    int n = image ? snprintf(part, sizeof part, "synapse %s network: %zux%zux%zu inputs",
                             SYN_VERSION_STRING, net->in_shape[0], net->in_shape[1],
                             net->in_shape[2])
                  : snprintf(part, sizeof part, "synapse %s multi-layer perceptron: %zu inputs",
                             SYN_VERSION_STRING, net->n_inputs);
    syn_pb_append(w, part, (size_t)n);
    for (size_t l = 0; l < net->n_layers; l++) {
        const syn_layer *layer = &net->layers[l];
        if (layer->kind == SYN_LAYER_DENSE)
            n = snprintf(part, sizeof part, " -> %zu %s%s", layer->units,
                         activation_word(layer->activation), layer->has_bias ? "" : " (no bias)");
        else
            n = snprintf(part, sizeof part, " -> %s %s", syn_layer_kind_name(layer->kind),
                         activation_word(layer->activation));
        syn_pb_append(w, part, (size_t)n);
    }
    if (net->scale_offset) {
        static const char scaling[] = "; input scaling (x - offset) * scale";
        syn_pb_append(w, scaling, sizeof scaling - 1);
    }
    syn_pb_end(w, doc);
}

syn_status syn_onnx_serialize(const syn_net *net, uint8_t **out, size_t *out_size,
                              syn_error *err)
{
    if (!net || !out || !out_size) {
        syn_set_error(err, "export_onnx: NULL argument");
        return SYN_ERR_INVALID_ARGUMENT;
    }
    *out = NULL;
    *out_size = 0;
    for (size_t l = 0; l < net->n_layers; l++)
        if (!syn_layer_ops_of(net->layers[l].kind)->onnx_emit) {
            syn_set_error(err, "export_onnx: layer %zu (%s): ONNX cannot express this kind", l,
                          syn_layer_kind_name(net->layers[l].kind));
            return SYN_ERR_INVALID_ARGUMENT;
        }
    if (net->n_inputs > (size_t)INT64_MAX || net->max_width > (size_t)INT64_MAX) {
        syn_set_error(err, "export_onnx: a width does not fit ONNX's int64 dims");
        return SYN_ERR_OVERFLOW;
    }
    syn_pb_writer w = {0};
    syn_pb_put_int64(&w, ONNX_MODEL_IR_VERSION, SYN_ONNX_IR_VERSION);
    syn_pb_put_string(&w, ONNX_MODEL_PRODUCER_NAME, "synapse");
    syn_pb_put_string(&w, ONNX_MODEL_PRODUCER_VERSION, SYN_VERSION_STRING);
    put_doc_string(&w, net);
    size_t opset = syn_pb_begin(&w, ONNX_MODEL_OPSET_IMPORT);
    syn_pb_put_string(&w, ONNX_OPSET_DOMAIN, "");
    syn_pb_put_int64(&w, ONNX_OPSET_VERSION, SYN_ONNX_OPSET);
    syn_pb_end(&w, opset);
    put_class_names(&w, net);
    put_encoding(&w, net);
    /* The graph goes last: a file cut anywhere then lacks a graph or ends
     * inside it, so every truncation is detected. */
    put_graph(&w, net);
    if (w.status != SYN_OK) {
        syn_set_error(err, "export_onnx: %s", syn_strerror(w.status));
        syn_pb_writer_free(&w);
        return w.status;
    }
    *out = w.data;
    *out_size = w.size;
    return SYN_OK;
}

syn_status syn_net_export_onnx(const syn_net *net, const char *path, syn_error *err)
{
    if (!net || !path) {
        syn_set_error(err, "export_onnx: NULL argument");
        return SYN_ERR_INVALID_ARGUMENT;
    }
    uint8_t *data;
    size_t size;
    syn_status st = syn_onnx_serialize(net, &data, &size, err);
    if (st != SYN_OK)
        return st;
    st = syn_file_replace(data, size, path, err);
    free(data);
    return st;
}
