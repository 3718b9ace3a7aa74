/* onnx_import.h - the private interface between the three stages of ONNX
 * import (docs/FORMAT.md, "ONNX import"), each untrusting of the file:
 *   onnx_read.c   protobuf walking: ModelProto, GraphProto, NodeProto and
 *                 TensorProto into the records below, pointing into the file;
 *                 tensor data and node attributes decoded on demand;
 *   onnx_match.c  graph matching: the single chain from the input to the
 *                 output, node by node, into found layers and input scaling;
 *   onnx_build.c  net building: a syn_net from what was matched, with its
 *                 weights, scaling and class names; and the entry points.
 * Not public. */
#ifndef SYN_ONNX_IMPORT_H
#define SYN_ONNX_IMPORT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "synapse.h"
#include "base/util.h"
#include "export/protobuf.h"

/* Limits far above any MLP; they bound the work a hostile file can cause
 * (name look-ups are linear). */
#define MAX_NODES 4096
#define MAX_TENSORS 4096
#define MAX_GRAPH_IO 4096
#define MAX_DIMS 8
#define NODE_MAX_IO 5 /* BatchNormalization has five inputs */
#define SHOWN_NAME 64

typedef struct onnx_span {
    const uint8_t *data;
    size_t size;
} onnx_span;

typedef struct onnx_tensor {
    onnx_span name;
    onnx_span body; /* the whole TensorProto, scanned again for float_data */
    int64_t data_type;
    size_t n_dims;
    int64_t dims[MAX_DIMS];
    int has_raw, external, segmented;
    onnx_span raw;
} onnx_tensor;

typedef struct onnx_node {
    onnx_span op_type, name, domain, body;
    size_t n_inputs, n_outputs;
    onnx_span inputs[NODE_MAX_IO], outputs[NODE_MAX_IO];
} onnx_node;

typedef struct onnx_value {
    onnx_span name, type;
    int has_type;
} onnx_value;

typedef struct onnx_graph {
    onnx_node *nodes;
    size_t n_nodes;
    onnx_tensor *tensors; /* initializers, then Constant node values */
    size_t n_tensors, n_initializers;
    onnx_value *inputs, *outputs;
    size_t n_inputs, n_outputs;
} onnx_graph;

/* A layer found on the chain, before the network exists. */
typedef struct found_layer {
    syn_layer_kind kind;
    size_t n_in, units;
    const onnx_tensor *weight; /* dense: W; norms: gamma (NULL: ones) */
    int transposed; /* weight stored [n_in x units] (MatMul, Gemm transB=0) */
    const onnx_tensor *bias;   /* dense: b; norms: beta */
    const onnx_tensor *mean, *var; /* batch norm: the running statistics */
    float eps, momentum, rate; /* norms, batch norm, dropout (PyTorch's meanings) */
    size_t node;               /* the node that made it, for messages */
    syn_activation activation;
    int has_activation;
    float slope;
    /* The image kinds (issue 15): conv's output channels, or a batch norm
     * 2-D's channels (its parameters and statistics are per channel; 0:
     * per unit); the window of conv and pooling as syn_layer_desc has it. */
    size_t channels;
    size_t kernel[2], stride[2], pad[2], dilation[2], groups;
    int pad_same, exclude_pad;
} found_layer;

/* The shape of one sample of a value on the chain (the batch axis left
 * out): rank and dims, DIM_UNKNOWN where the file leaves a dim symbolic;
 * rank_known 0 when not even the rank is known (an input without a
 * declared shape). */
#define DIM_UNKNOWN (-1)
typedef struct onnx_dims {
    int rank_known;
    size_t rank;
    int64_t d[MAX_DIMS];
} onnx_dims;

/* Input scaling found before the first layer: x' = (x - offset) * scale,
 * or x' = (x - offset) / divisor for a Div. Each constant broadcasts
 * against the sample shape at its node, kept for expanding it to the
 * flattened features when the net is built. */
typedef struct onnx_scaling {
    const onnx_tensor *offset, *scale;
    int divides; /* scale came from a Div: the features are divided by it */
    onnx_dims offset_dims, scale_dims;
    size_t scale_node; /* the Mul or Div, for messages */
} onnx_scaling;

typedef struct onnx_ctx {
    const char *name;
    syn_error *err;
    int64_t opset;
    onnx_graph g;
    found_layer *layers;
    size_t n_layers;
    onnx_scaling scaling;
    onnx_span class_names; /* metadata_props "class_names" (synapse's own) */
    int has_class_names;
    onnx_span classes; /* metadata_props "classes", read when class_names is absent */
    int has_classes;
    int image;                /* the first layer is an image kind: the net has */
    size_t input_shape[3];    /* this input shape (C, H, W) */
} onnx_ctx;

typedef struct onnx_attr_value {
    int found;
    int has_f, has_i, has_t, has_s;
    float f;
    int64_t i;
    onnx_span t;
    onnx_span s; /* a string (auto_pad, Pad's mode) */
    size_t n_ints; /* ints: the count in the file, the first MAX_DIMS kept */
    int64_t ints[MAX_DIMS];
} onnx_attr_value;

static inline int onnx_span_eq(onnx_span a, onnx_span b)
{
    return a.size == b.size && (a.size == 0 || memcmp(a.data, b.data, a.size) == 0);
}

static inline int onnx_span_is(onnx_span a, const char *s)
{
    return syn_pb_span_eq(a.data, a.size, s);
}

static inline onnx_span onnx_field_span(const syn_pb_field *f)
{
    onnx_span s = {f->data, f->size};
    return s;
}

/* The number of features of a sample shape: 0 when not all dims are known
 * (or the product overflows). */
static inline size_t onnx_dims_size(const onnx_dims *d)
{
    if (!d->rank_known)
        return 0;
    size_t n = 1;
    for (size_t i = 0; i < d->rank; i++)
        if (d->d[i] < 0 || !syn_mul_size(n, (size_t)d->d[i], &n))
            return 0;
    return n;
}

/* Sets the context's error to "name: detail" and returns st. */
syn_status syn_onnx_fail(onnx_ctx *c, syn_status st, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* A name from the file, printable and bounded, for messages; buf holds
 * SHOWN_NAME + 4 bytes. */
const char *syn_onnx_shown(onnx_span s, char buf[SHOWN_NAME + 4]);

/* The decoder's status with where it happened (what). */
syn_status syn_onnx_bad_wire(onnx_ctx *c, syn_status st, const char *what);

/* CORRUPT unless field f has wire type `wire`. */
syn_status syn_onnx_expect_wire(onnx_ctx *c, const syn_pb_field *f, unsigned wire,
                                const char *what);

/* Parses a ModelProto image into c->g, c->opset and the metadata synapse
 * reads; everything points into data. */
syn_status syn_onnx_read_model(onnx_ctx *c, const uint8_t *data, size_t size);

/* One TensorProto body into *t (initializers and Constant values). */
syn_status syn_onnx_parse_tensor(onnx_ctx *c, onnx_span body, onnx_tensor *t);

/* The initializer or Constant value called name, or NULL. */
const onnx_tensor *syn_onnx_find_tensor(const onnx_ctx *c, onnx_span name);

/* Checks that t holds float or double data for exactly the elements its
 * dims announce and returns that count. */
syn_status syn_onnx_tensor_count(onnx_ctx *c, const onnx_tensor *t, size_t *count);

/* All count elements of a tensor checked by syn_onnx_tensor_count, as
 * floats. */
syn_status syn_onnx_tensor_floats(onnx_ctx *c, const onnx_tensor *t, size_t count,
                                  float *dst);

/* Attribute `name` of node n (the last one wins, as in protobuf). */
syn_status syn_onnx_node_attr(onnx_ctx *c, const onnx_node *n, const char *name,
                              onnx_attr_value *a);

/* The declared sample shape of graph input v (the first dim is the
 * batch): float elements required; *batch receives the batch dim's value
 * (DIM_UNKNOWN when symbolic or undeclared). */
syn_status syn_onnx_input_shape(onnx_ctx *c, const onnx_value *v, onnx_dims *dims,
                                int64_t *batch);

/* The elements of an INT64 tensor of rank 0 or 1 with at most MAX_DIMS
 * elements (shape operands: Reshape's shape, Gather's indices, axes). */
syn_status syn_onnx_tensor_ints(onnx_ctx *c, const onnx_tensor *t, int64_t out[MAX_DIMS],
                                size_t *count);

/* Walks the chain of c->g from its one input to its one output into
 * c->layers and the input scaling. */
syn_status syn_onnx_match(onnx_ctx *c);

#endif
