/* onnx_import.c - reads an ONNX model holding a multi-layer perceptron
 * (rules in docs/FORMAT.md, "ONNX import"): PyTorch's torch.onnx.export of
 * Linear layers and activations, and synapse's own export. The graph must be
 * one chain from its input to its output: optional Sub/Mul input scaling,
 * then Gemm or MatMul (+ Add) layers each followed by at most one
 * activation. The file is untrusted: it is walked in place with the
 * bounds-checked decoder of protobuf.c, every count is checked against the
 * bytes that back it before anything is allocated, and every failure is a
 * status with a message. Field numbers are onnx.proto's, named in onnx.h. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "io/model_file.h"
#include "export/onnx.h"
#include "export/protobuf.h"

/* Limits far above any MLP; they bound the work a hostile file can cause
 * (name look-ups are linear). */
#define MAX_NODES 4096
#define MAX_TENSORS 4096
#define MAX_GRAPH_IO 4096
#define MAX_DIMS 8
#define NODE_MAX_IO 4
#define SHOWN_NAME 64

static const char supported_ops[] =
    "Gemm, MatMul, Add, Sub, Mul, Relu, LeakyRelu, Sigmoid, Tanh, Softmax, Identity, "
    "Flatten, Constant";

typedef struct span {
    const uint8_t *data;
    size_t size;
} span;

typedef struct onnx_tensor {
    span name;
    span body; /* the whole TensorProto, scanned again for float_data */
    int64_t data_type;
    size_t n_dims;
    int64_t dims[MAX_DIMS];
    int has_raw, external, segmented;
    span raw;
} onnx_tensor;

typedef struct onnx_node {
    span op_type, name, domain, body;
    size_t n_inputs, n_outputs;
    span inputs[NODE_MAX_IO], outputs[NODE_MAX_IO];
} onnx_node;

typedef struct onnx_value {
    span name, type;
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
    size_t n_in, units;
    const onnx_tensor *weight;
    int transposed; /* weight stored [n_in x units] (MatMul, Gemm transB=0) */
    const onnx_tensor *bias;
    syn_activation activation;
    int has_activation;
    float slope;
} found_layer;

typedef struct ctx {
    const char *name;
    syn_error *err;
    int64_t opset;
    onnx_graph g;
    found_layer *layers;
    size_t n_layers;
    const onnx_tensor *offset, *scale; /* Sub and Mul before the first layer */
    span class_names;
    int has_class_names;
} ctx;

static syn_status fail(ctx *c, syn_status st, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static syn_status fail(ctx *c, syn_status st, const char *fmt, ...)
{
    if (!c->err)
        return st;
    char detail[sizeof c->err->message];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    syn_set_error(c->err, "%s: %s", c->name, detail);
    return st;
}

/* A name from the file, printable and bounded, for messages. */
static const char *shown(span s, char buf[SHOWN_NAME + 4])
{
    size_t n = s.size < SHOWN_NAME ? s.size : SHOWN_NAME;
    for (size_t i = 0; i < n; i++) {
        uint8_t ch = s.data[i];
        buf[i] = ch >= 0x20 && ch < 0x7f && ch != '"' ? (char)ch : '?';
    }
    if (s.size > SHOWN_NAME) {
        memcpy(buf + n, "...", 3);
        n += 3;
    }
    buf[n] = '\0';
    return buf;
}

static int span_eq(span a, span b)
{
    return a.size == b.size && (a.size == 0 || memcmp(a.data, b.data, a.size) == 0);
}

static int span_is(span a, const char *s)
{
    return syn_pb_span_eq(a.data, a.size, s);
}

static span field_span(const syn_pb_field *f)
{
    span s = {f->data, f->size};
    return s;
}

/* The decoder's status with where it happened. */
static syn_status bad_wire(ctx *c, syn_status st, const char *what)
{
    if (st == SYN_ERR_TRUNCATED)
        return fail(c, st, "truncated: the file ends inside %s", what);
    return fail(c, st, "not a valid protobuf message in %s (%s)", what, syn_strerror(st));
}

static syn_status expect_wire(ctx *c, const syn_pb_field *f, unsigned wire, const char *what)
{
    if (f->wire_type == wire)
        return SYN_OK;
    return fail(c, SYN_ERR_CORRUPT, "%s (field %u) has wire type %u, expected %u", what,
                (unsigned)f->number, f->wire_type, wire);
}

/* ------------------------------------------------------------------------ */
/* Messages into structs                                                     */
/* ------------------------------------------------------------------------ */

/* TensorProto. dims are int64 varints, unpacked as proto2 writes them or
 * packed as some writers do. */
static syn_status parse_tensor(ctx *c, span body, onnx_tensor *t)
{
    memset(t, 0, sizeof *t);
    t->body = body;
    syn_pb_reader r;
    syn_pb_field f;
    int more;
    syn_status st;
    syn_pb_reader_init(&r, body.data, body.size);
    while ((st = syn_pb_next(&r, &f, &more)) == SYN_OK && more) {
        switch (f.number) {
        case ONNX_TENSOR_DIMS:
            if (f.wire_type == SYN_PB_VARINT) {
                if (t->n_dims == MAX_DIMS)
                    return fail(c, SYN_ERR_UNSUPPORTED, "a tensor has more than %d dims",
                                MAX_DIMS);
                t->dims[t->n_dims++] = (int64_t)f.value;
            } else if (f.wire_type == SYN_PB_LEN) {
                const uint8_t *p = f.data, *end = f.data + f.size;
                while (p < end) {
                    uint64_t v;
                    st = syn_pb_read_varint(&p, end, &v);
                    if (st != SYN_OK)
                        return bad_wire(c, st, "a tensor's packed dims");
                    if (t->n_dims == MAX_DIMS)
                        return fail(c, SYN_ERR_UNSUPPORTED, "a tensor has more than %d dims",
                                    MAX_DIMS);
                    t->dims[t->n_dims++] = (int64_t)v;
                }
            } else {
                return expect_wire(c, &f, SYN_PB_VARINT, "TensorProto.dims");
            }
            break;
        case ONNX_TENSOR_DATA_TYPE:
            if ((st = expect_wire(c, &f, SYN_PB_VARINT, "TensorProto.data_type")) != SYN_OK)
                return st;
            t->data_type = (int64_t)f.value;
            break;
        case ONNX_TENSOR_SEGMENT: t->segmented = 1; break;
        case ONNX_TENSOR_NAME:
            if ((st = expect_wire(c, &f, SYN_PB_LEN, "TensorProto.name")) != SYN_OK)
                return st;
            t->name = field_span(&f);
            break;
        case ONNX_TENSOR_RAW_DATA:
            if ((st = expect_wire(c, &f, SYN_PB_LEN, "TensorProto.raw_data")) != SYN_OK)
                return st;
            t->raw = field_span(&f);
            t->has_raw = 1;
            break;
        case ONNX_TENSOR_EXTERNAL_DATA: t->external = 1; break;
        case ONNX_TENSOR_DATA_LOCATION:
            if (f.wire_type == SYN_PB_VARINT && f.value == 1)
                t->external = 1;
            break;
        default: break;
        }
    }
    if (st != SYN_OK)
        return bad_wire(c, st, "a tensor");
    return SYN_OK;
}

/* NodeProto: names of inputs and outputs (the first NODE_MAX_IO of each,
 * and their counts), op_type, name and domain; attributes stay in body. */
static syn_status parse_node(ctx *c, span body, onnx_node *n)
{
    memset(n, 0, sizeof *n);
    n->body = body;
    syn_pb_reader r;
    syn_pb_field f;
    int more;
    syn_status st;
    syn_pb_reader_init(&r, body.data, body.size);
    while ((st = syn_pb_next(&r, &f, &more)) == SYN_OK && more) {
        if (f.number > ONNX_NODE_DOMAIN || f.number == ONNX_NODE_ATTRIBUTE ||
            f.number == ONNX_NODE_DOC_STRING)
            continue;
        if ((st = expect_wire(c, &f, SYN_PB_LEN, "a NodeProto string")) != SYN_OK)
            return st;
        switch (f.number) {
        case ONNX_NODE_INPUT:
            if (n->n_inputs < NODE_MAX_IO)
                n->inputs[n->n_inputs] = field_span(&f);
            n->n_inputs++;
            break;
        case ONNX_NODE_OUTPUT:
            if (n->n_outputs < NODE_MAX_IO)
                n->outputs[n->n_outputs] = field_span(&f);
            n->n_outputs++;
            break;
        case ONNX_NODE_NAME: n->name = field_span(&f); break;
        case ONNX_NODE_OP_TYPE: n->op_type = field_span(&f); break;
        case ONNX_NODE_DOMAIN: n->domain = field_span(&f); break;
        default: break;
        }
    }
    if (st != SYN_OK)
        return bad_wire(c, st, "a node");
    return SYN_OK;
}

static syn_status parse_value(ctx *c, span body, onnx_value *v)
{
    memset(v, 0, sizeof *v);
    syn_pb_reader r;
    syn_pb_field f;
    int more;
    syn_status st;
    syn_pb_reader_init(&r, body.data, body.size);
    while ((st = syn_pb_next(&r, &f, &more)) == SYN_OK && more) {
        if (f.number != ONNX_VALUE_NAME && f.number != ONNX_VALUE_TYPE)
            continue;
        if ((st = expect_wire(c, &f, SYN_PB_LEN, "a ValueInfoProto field")) != SYN_OK)
            return st;
        if (f.number == ONNX_VALUE_NAME) {
            v->name = field_span(&f);
        } else {
            v->type = field_span(&f);
            v->has_type = 1;
        }
    }
    if (st != SYN_OK)
        return bad_wire(c, st, "a graph input or output");
    return SYN_OK;
}

/* Counts the repeated fields of GraphProto, then allocates exactly that
 * many records (each field takes at least two bytes of the file). */
static syn_status parse_graph(ctx *c, span body)
{
    onnx_graph *g = &c->g;
    size_t n_nodes = 0, n_inits = 0, n_in = 0, n_out = 0;
    syn_pb_reader r;
    syn_pb_field f;
    int more;
    syn_status st;
    syn_pb_reader_init(&r, body.data, body.size);
    while ((st = syn_pb_next(&r, &f, &more)) == SYN_OK && more) {
        switch (f.number) {
        case ONNX_GRAPH_NODE: n_nodes++; break;
        case ONNX_GRAPH_INITIALIZER: n_inits++; break;
        case ONNX_GRAPH_INPUT: n_in++; break;
        case ONNX_GRAPH_OUTPUT: n_out++; break;
        case ONNX_GRAPH_SPARSE_INITIALIZER:
            return fail(c, SYN_ERR_UNSUPPORTED, "sparse initializers are not supported");
        default: continue;
        }
        if ((st = expect_wire(c, &f, SYN_PB_LEN, "a GraphProto list")) != SYN_OK)
            return st;
    }
    if (st != SYN_OK)
        return bad_wire(c, st, "the graph");
    if (n_nodes > MAX_NODES || n_inits > MAX_TENSORS || n_in > MAX_GRAPH_IO ||
        n_out > MAX_GRAPH_IO)
        return fail(c, SYN_ERR_UNSUPPORTED,
                    "graph too large for an MLP (%zu nodes, %zu initializers; at most %d)",
                    n_nodes, n_inits, MAX_NODES);
    /* Constant nodes add at most one tensor each. */
    g->nodes = calloc(n_nodes ? n_nodes : 1, sizeof *g->nodes);
    g->tensors = calloc(n_inits + n_nodes ? n_inits + n_nodes : 1, sizeof *g->tensors);
    g->inputs = calloc(n_in ? n_in : 1, sizeof *g->inputs);
    g->outputs = calloc(n_out ? n_out : 1, sizeof *g->outputs);
    if (!g->nodes || !g->tensors || !g->inputs || !g->outputs)
        return fail(c, SYN_ERR_OUT_OF_MEMORY, "out of memory");
    syn_pb_reader_init(&r, body.data, body.size);
    while ((st = syn_pb_next(&r, &f, &more)) == SYN_OK && more) {
        span s = field_span(&f);
        switch (f.number) {
        case ONNX_GRAPH_NODE: st = parse_node(c, s, &g->nodes[g->n_nodes++]); break;
        case ONNX_GRAPH_INITIALIZER: st = parse_tensor(c, s, &g->tensors[g->n_tensors++]); break;
        case ONNX_GRAPH_INPUT: st = parse_value(c, s, &g->inputs[g->n_inputs++]); break;
        case ONNX_GRAPH_OUTPUT: st = parse_value(c, s, &g->outputs[g->n_outputs++]); break;
        default: break;
        }
        if (st != SYN_OK)
            return st;
    }
    g->n_initializers = g->n_tensors;
    return st;
}

static syn_status parse_opset(ctx *c, span body)
{
    span domain = {NULL, 0};
    int64_t version = 0;
    syn_pb_reader r;
    syn_pb_field f;
    int more;
    syn_status st;
    syn_pb_reader_init(&r, body.data, body.size);
    while ((st = syn_pb_next(&r, &f, &more)) == SYN_OK && more) {
        if (f.number == ONNX_OPSET_DOMAIN && f.wire_type == SYN_PB_LEN)
            domain = field_span(&f);
        else if (f.number == ONNX_OPSET_VERSION && f.wire_type == SYN_PB_VARINT)
            version = (int64_t)f.value;
    }
    if (st != SYN_OK)
        return bad_wire(c, st, "opset_import");
    if (domain.size == 0 || span_is(domain, "ai.onnx"))
        c->opset = version;
    return SYN_OK;
}

static syn_status parse_metadata(ctx *c, span body)
{
    /* An absent value is the empty string, never a NULL pointer. */
    static const uint8_t nothing[1] = {0};
    span k = {nothing, 0}, v = {nothing, 0};
    syn_pb_reader r;
    syn_pb_field f;
    int more;
    syn_status st;
    syn_pb_reader_init(&r, body.data, body.size);
    while ((st = syn_pb_next(&r, &f, &more)) == SYN_OK && more) {
        if (f.number == ONNX_ENTRY_KEY && f.wire_type == SYN_PB_LEN)
            k = field_span(&f);
        else if (f.number == ONNX_ENTRY_VALUE && f.wire_type == SYN_PB_LEN)
            v = field_span(&f);
    }
    if (st != SYN_OK)
        return bad_wire(c, st, "metadata_props");
    if (span_is(k, "class_names")) {
        c->class_names = v;
        c->has_class_names = 1;
    }
    return SYN_OK;
}

/* ModelProto: ir_version, opset_import, metadata_props and the graph. */
static syn_status parse_model(ctx *c, const uint8_t *data, size_t size)
{
    if (size == 0)
        return fail(c, SYN_ERR_FORMAT, "empty file, not an ONNX model");
    span graph = {NULL, 0};
    int has_graph = 0, has_ir = 0;
    syn_pb_reader r;
    syn_pb_field f;
    int more;
    syn_status st;
    syn_pb_reader_init(&r, data, size);
    while ((st = syn_pb_next(&r, &f, &more)) == SYN_OK && more) {
        switch (f.number) {
        case ONNX_MODEL_IR_VERSION:
            if ((st = expect_wire(c, &f, SYN_PB_VARINT, "ModelProto.ir_version")) != SYN_OK)
                return st;
            has_ir = 1;
            break;
        case ONNX_MODEL_GRAPH:
            if ((st = expect_wire(c, &f, SYN_PB_LEN, "ModelProto.graph")) != SYN_OK)
                return st;
            graph = field_span(&f);
            has_graph = 1;
            break;
        case ONNX_MODEL_OPSET_IMPORT:
            if ((st = expect_wire(c, &f, SYN_PB_LEN, "ModelProto.opset_import")) != SYN_OK)
                return st;
            if ((st = parse_opset(c, field_span(&f))) != SYN_OK)
                return st;
            break;
        case ONNX_MODEL_METADATA_PROPS:
            if ((st = expect_wire(c, &f, SYN_PB_LEN, "ModelProto.metadata_props")) != SYN_OK)
                return st;
            if ((st = parse_metadata(c, field_span(&f))) != SYN_OK)
                return st;
            break;
        default: break;
        }
    }
    if (st != SYN_OK) {
        size_t at = (size_t)(r.p - data);
        if (st == SYN_ERR_TRUNCATED)
            return fail(c, st, "truncated: the file ends inside the field at byte %zu", at);
        return fail(c, SYN_ERR_FORMAT, "not an ONNX model: bad protobuf data at byte %zu", at);
    }
    if (!has_ir || !has_graph)
        return fail(c, SYN_ERR_FORMAT, "not an ONNX model: no %s",
                    has_ir ? "graph (ModelProto field 7)" : "ir_version (ModelProto field 1)");
    return parse_graph(c, graph);
}

/* ------------------------------------------------------------------------ */
/* Tensors and attributes                                                    */
/* ------------------------------------------------------------------------ */

static const onnx_tensor *find_tensor(const ctx *c, span name)
{
    if (name.size == 0)
        return NULL;
    for (size_t i = 0; i < c->g.n_tensors; i++)
        if (span_eq(c->g.tensors[i].name, name))
            return &c->g.tensors[i];
    return NULL;
}

static double double_bits(uint64_t bits)
{
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

/* Counts float_data (field 4) or double_data (field 10) elements, packed
 * or not, and decodes them into dst when dst is not NULL. */
static syn_status scan_typed_data(ctx *c, const onnx_tensor *t, size_t *count, float *dst)
{
    int is_double = t->data_type == ONNX_DTYPE_DOUBLE;
    uint32_t field = is_double ? ONNX_TENSOR_DOUBLE_DATA : ONNX_TENSOR_FLOAT_DATA;
    unsigned fixed_wire = is_double ? SYN_PB_FIXED64 : SYN_PB_FIXED32;
    size_t width = is_double ? 8 : 4, n = 0;
    *count = 0;
    syn_pb_reader r;
    syn_pb_field f;
    int more;
    syn_status st;
    syn_pb_reader_init(&r, t->body.data, t->body.size);
    while ((st = syn_pb_next(&r, &f, &more)) == SYN_OK && more) {
        if (f.number != field)
            continue;
        if (f.wire_type == fixed_wire) {
            if (dst)
                dst[n] = is_double ? (float)double_bits(f.value) : syn_pb_float_bits(f.value);
            n++;
        } else if (f.wire_type == SYN_PB_LEN) {
            if (f.size % width != 0)
                return fail(c, SYN_ERR_CORRUPT, "packed tensor data of %zu bytes", f.size);
            for (size_t k = 0; k < f.size / width; k++, n++)
                if (dst)
                    dst[n] = is_double ? (float)syn_pb_get_f64(f.data + k * width)
                                       : syn_pb_get_f32(f.data + k * width);
        } else {
            return expect_wire(c, &f, SYN_PB_LEN, "tensor data");
        }
    }
    if (st != SYN_OK)
        return bad_wire(c, st, "a tensor");
    *count = n;
    return SYN_OK;
}

/* Checks that tensor t holds float or double data for exactly the elements
 * its dims announce, and returns that count: the bytes are in the file, so
 * allocating for them is justified. */
static syn_status tensor_count(ctx *c, const onnx_tensor *t, size_t *count)
{
    char nb[SHOWN_NAME + 4];
    *count = 0;
    if (t->external || t->segmented)
        return fail(c, SYN_ERR_UNSUPPORTED, "tensor \"%s\": external or segmented data is "
                    "not supported", shown(t->name, nb));
    if (t->data_type != ONNX_DTYPE_FLOAT && t->data_type != ONNX_DTYPE_DOUBLE)
        return fail(c, SYN_ERR_UNSUPPORTED, "tensor \"%s\": data type %lld is not supported "
                    "(float = 1, double = 11)", shown(t->name, nb), (long long)t->data_type);
    size_t want = 1;
    for (size_t d = 0; d < t->n_dims; d++) {
        if (t->dims[d] < 0 || (uint64_t)t->dims[d] > SIZE_MAX ||
            !syn_mul_size(want, (size_t)t->dims[d], &want))
            return fail(c, SYN_ERR_CORRUPT, "tensor \"%s\": bad dimension %lld",
                        shown(t->name, nb), (long long)t->dims[d]);
    }
    size_t have = 0;
    if (t->has_raw) {
        size_t width = t->data_type == ONNX_DTYPE_DOUBLE ? 8 : 4;
        if (t->raw.size % width != 0)
            return fail(c, SYN_ERR_CORRUPT, "tensor \"%s\": raw_data of %zu bytes",
                        shown(t->name, nb), t->raw.size);
        have = t->raw.size / width;
    } else {
        syn_status st = scan_typed_data(c, t, &have, NULL);
        if (st != SYN_OK)
            return st;
    }
    if (have != want)
        return fail(c, SYN_ERR_CORRUPT, "tensor \"%s\": its dims make %zu elements, its data "
                    "holds %zu", shown(t->name, nb), want, have);
    *count = want;
    return SYN_OK;
}

/* Decodes element k of a tensor already checked by tensor_count. */
static float tensor_at(const onnx_tensor *t, size_t k)
{
    if (t->data_type == ONNX_DTYPE_DOUBLE)
        return (float)syn_pb_get_f64(t->raw.data + 8 * k);
    return syn_pb_get_f32(t->raw.data + 4 * k);
}

/* All count elements of a checked tensor as floats. */
static syn_status tensor_floats(ctx *c, const onnx_tensor *t, size_t count, float *dst)
{
    if (t->has_raw) {
        for (size_t k = 0; k < count; k++)
            dst[k] = tensor_at(t, k);
        return SYN_OK;
    }
    size_t n;
    return scan_typed_data(c, t, &n, dst);
}

typedef struct onnx_attr_value {
    int found;
    int has_f, has_i, has_t;
    float f;
    int64_t i;
    span t;
} onnx_attr_value;

/* Finds attribute `name` of a node (the last one wins, as in protobuf). */
static syn_status node_attr(ctx *c, const onnx_node *n, const char *name, onnx_attr_value *a)
{
    memset(a, 0, sizeof *a);
    syn_pb_reader r, ar;
    syn_pb_field f, af;
    int more, amore;
    syn_status st;
    syn_pb_reader_init(&r, n->body.data, n->body.size);
    while ((st = syn_pb_next(&r, &f, &more)) == SYN_OK && more) {
        if (f.number != ONNX_NODE_ATTRIBUTE)
            continue;
        if ((st = expect_wire(c, &f, SYN_PB_LEN, "NodeProto.attribute")) != SYN_OK)
            return st;
        onnx_attr_value v;
        memset(&v, 0, sizeof v);
        int match = 0;
        syn_pb_reader_init(&ar, f.data, f.size);
        while ((st = syn_pb_next(&ar, &af, &amore)) == SYN_OK && amore) {
            if (af.number == ONNX_ATTR_NAME && af.wire_type == SYN_PB_LEN) {
                match = syn_pb_span_eq(af.data, af.size, name);
            } else if (af.number == ONNX_ATTR_F && af.wire_type == SYN_PB_FIXED32) {
                v.f = syn_pb_float_bits(af.value);
                v.has_f = 1;
            } else if (af.number == ONNX_ATTR_I && af.wire_type == SYN_PB_VARINT) {
                v.i = (int64_t)af.value;
                v.has_i = 1;
            } else if (af.number == ONNX_ATTR_T && af.wire_type == SYN_PB_LEN) {
                v.t = field_span(&af);
                v.has_t = 1;
            }
        }
        if (st != SYN_OK)
            return bad_wire(c, st, "an attribute");
        if (match) {
            *a = v;
            a->found = 1;
        }
    }
    if (st != SYN_OK)
        return bad_wire(c, st, "a node");
    return SYN_OK;
}

/* ------------------------------------------------------------------------ */
/* The chain                                                                 */
/* ------------------------------------------------------------------------ */

typedef struct walk {
    span current;     /* the value the chain has reached */
    int softmax_seen; /* nothing but Identity may follow Softmax */
} walk;

static syn_status node_fail(ctx *c, size_t index, const onnx_node *n, syn_status st,
                            const char *what)
{
    char nb[SHOWN_NAME + 4], ob[SHOWN_NAME + 4];
    return fail(c, st, "node %zu \"%s\" (%s): %s", index, shown(n->name, nb),
                shown(n->op_type, ob), what);
}

/* The constant operand `name` of node n: an initializer or a Constant. */
static syn_status operand(ctx *c, size_t index, const onnx_node *n, span name,
                          const onnx_tensor **t)
{
    *t = find_tensor(c, name);
    if (*t)
        return SYN_OK;
    char nb[SHOWN_NAME + 4], msg[128];
    snprintf(msg, sizeof msg, "input \"%s\" is not an initializer or a Constant; only a "
             "single chain of layers is supported", shown(name, nb));
    return node_fail(c, index, n, SYN_ERR_UNSUPPORTED, msg);
}

static syn_status add_constant(ctx *c, size_t index, const onnx_node *n)
{
    onnx_attr_value a;
    syn_status st = node_attr(c, n, "value", &a);
    if (st != SYN_OK)
        return st;
    if (!a.found || !a.has_t || n->n_outputs != 1)
        return node_fail(c, index, n, SYN_ERR_UNSUPPORTED,
                         "only a Constant with a tensor \"value\" attribute is supported");
    onnx_tensor *t = &c->g.tensors[c->g.n_tensors];
    st = parse_tensor(c, a.t, t);
    if (st != SYN_OK)
        return st;
    t->name = n->outputs[0];
    c->g.n_tensors++;
    return SYN_OK;
}

static found_layer *open_layer(ctx *c)
{
    return c->n_layers > 0 ? &c->layers[c->n_layers - 1] : NULL;
}

/* Gemm (Y = alpha * A * B' + beta * C) or MatMul starts a layer. */
static syn_status start_layer(ctx *c, size_t index, const onnx_node *n, int gemm)
{
    const onnx_tensor *w, *b = NULL;
    syn_status st = operand(c, index, n, n->inputs[1], &w);
    if (st != SYN_OK)
        return st;
    int trans_b = 0;
    if (gemm) {
        onnx_attr_value ta, tb, alpha, beta;
        if ((st = node_attr(c, n, "transA", &ta)) != SYN_OK ||
            (st = node_attr(c, n, "transB", &tb)) != SYN_OK ||
            (st = node_attr(c, n, "alpha", &alpha)) != SYN_OK ||
            (st = node_attr(c, n, "beta", &beta)) != SYN_OK)
            return st;
        if (ta.found && ta.i != 0)
            return node_fail(c, index, n, SYN_ERR_UNSUPPORTED, "transA = 1 is not supported");
        if (tb.found && tb.i != 0 && tb.i != 1)
            return node_fail(c, index, n, SYN_ERR_CORRUPT, "transB must be 0 or 1");
        if ((alpha.found && alpha.f != 1.0f) || (beta.found && beta.f != 1.0f))
            return node_fail(c, index, n, SYN_ERR_UNSUPPORTED,
                             "only alpha = 1 and beta = 1 are supported");
        trans_b = tb.found && tb.i == 1;
        if (n->n_inputs > 2 && n->inputs[2].size > 0 &&
            (st = operand(c, index, n, n->inputs[2], &b)) != SYN_OK)
            return st;
    }
    size_t count;
    if ((st = tensor_count(c, w, &count)) != SYN_OK)
        return st;
    if (w->n_dims != 2 || w->dims[0] == 0 || w->dims[1] == 0)
        return node_fail(c, index, n, SYN_ERR_UNSUPPORTED,
                         "the weight must be a non-empty matrix");
    found_layer *layer = &c->layers[c->n_layers];
    memset(layer, 0, sizeof *layer);
    layer->weight = w;
    layer->transposed = !trans_b;
    layer->units = (size_t)(trans_b ? w->dims[0] : w->dims[1]);
    layer->n_in = (size_t)(trans_b ? w->dims[1] : w->dims[0]);
    layer->activation = SYN_ACT_LINEAR;
    found_layer *prev = open_layer(c);
    if (prev && prev->units != layer->n_in) {
        char msg[160];
        snprintf(msg, sizeof msg, "weight for %zu inputs after a layer of %zu units",
                 layer->n_in, prev->units);
        return node_fail(c, index, n, SYN_ERR_SHAPE, msg);
    }
    if (b) {
        if ((st = tensor_count(c, b, &count)) != SYN_OK)
            return st;
        if (count != layer->units && count != 1)
            return node_fail(c, index, n, SYN_ERR_SHAPE, "bias size differs from units");
        layer->bias = b;
    }
    c->n_layers++;
    return SYN_OK;
}

/* Add after MatMul (or a bias-free Gemm): the layer's bias. */
static syn_status add_bias(ctx *c, size_t index, const onnx_node *n, span other)
{
    found_layer *layer = open_layer(c);
    if (!layer || layer->bias || layer->has_activation)
        return node_fail(c, index, n, SYN_ERR_UNSUPPORTED,
                         "Add is supported only as the bias right after MatMul or Gemm");
    const onnx_tensor *b;
    size_t count;
    syn_status st = operand(c, index, n, other, &b);
    if (st == SYN_OK)
        st = tensor_count(c, b, &count);
    if (st != SYN_OK)
        return st;
    if (count != layer->units && count != 1)
        return node_fail(c, index, n, SYN_ERR_SHAPE, "bias size differs from units");
    layer->bias = b;
    return SYN_OK;
}

/* Sub then Mul before the first layer: synapse's (x - offset) * scale. */
static syn_status add_scaling(ctx *c, size_t index, const onnx_node *n, int is_sub,
                              span other)
{
    if (c->n_layers > 0)
        return node_fail(c, index, n, SYN_ERR_UNSUPPORTED,
                         "Sub and Mul are supported only as input scaling before the first "
                         "layer");
    if ((is_sub && (c->offset || c->scale)) || (!is_sub && c->scale))
        return node_fail(c, index, n, SYN_ERR_UNSUPPORTED,
                         "input scaling must be at most one Sub followed by one Mul");
    const onnx_tensor *t;
    syn_status st = operand(c, index, n, other, &t);
    if (st != SYN_OK)
        return st;
    size_t count;
    if ((st = tensor_count(c, t, &count)) != SYN_OK)
        return st;
    if (is_sub)
        c->offset = t;
    else
        c->scale = t;
    return SYN_OK;
}

static syn_status set_activation(ctx *c, size_t index, const onnx_node *n, syn_activation act,
                                 walk *w)
{
    found_layer *layer = open_layer(c);
    if (!layer || layer->has_activation)
        return node_fail(c, index, n, SYN_ERR_UNSUPPORTED,
                         "an activation must follow a Gemm or MatMul layer");
    syn_status st;
    layer->slope = 0.0f;
    if (act == SYN_ACT_LEAKY_RELU) {
        onnx_attr_value alpha;
        if ((st = node_attr(c, n, "alpha", &alpha)) != SYN_OK)
            return st;
        float slope = alpha.found ? alpha.f : 0.01f; /* ONNX's default alpha */
        if (!isfinite(slope) || slope < 0.0f)
            return node_fail(c, index, n, SYN_ERR_UNSUPPORTED, "alpha must be >= 0");
        /* synapse reads a slope of 0 as "the default"; 0 is plain Relu. */
        if (slope == 0.0f)
            act = SYN_ACT_RELU;
        layer->slope = slope;
    } else if (act == SYN_ACT_SOFTMAX) {
        onnx_attr_value axis;
        if ((st = node_attr(c, n, "axis", &axis)) != SYN_OK)
            return st;
        /* Default axis: 1 before opset 13, -1 from it; on [batch, units]
         * both mean the units. */
        if (axis.found && axis.i != 1 && axis.i != -1)
            return node_fail(c, index, n, SYN_ERR_UNSUPPORTED,
                             "Softmax must be over the last axis (1 or -1)");
        w->softmax_seen = 1;
    }
    layer->activation = act;
    layer->has_activation = 1;
    return SYN_OK;
}

static int op_activation(span op, syn_activation *act)
{
    static const struct {
        const char *op;
        syn_activation act;
    } table[] = {{"Relu", SYN_ACT_RELU},       {"Sigmoid", SYN_ACT_SIGMOID},
                 {"Tanh", SYN_ACT_TANH},       {"LeakyRelu", SYN_ACT_LEAKY_RELU},
                 {"Softmax", SYN_ACT_SOFTMAX}};
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (span_is(op, table[i].op)) {
            *act = table[i].act;
            return 1;
        }
    return 0;
}

/* One node of the chain: checks that it continues from w->current, records
 * what it means and moves w->current to its output. */
static syn_status visit_node(ctx *c, size_t index, const onnx_node *n, walk *w)
{
    char msg[sizeof c->err->message];
    char ob[SHOWN_NAME + 4];
    if (n->domain.size > 0 && !span_is(n->domain, "ai.onnx")) {
        snprintf(msg, sizeof msg, "operator domain \"%s\" is not supported",
                 shown(n->domain, ob));
        return node_fail(c, index, n, SYN_ERR_UNSUPPORTED, msg);
    }
    if (span_is(n->op_type, "Constant"))
        return add_constant(c, index, n);
    syn_activation act = SYN_ACT_LINEAR;
    int is_act = op_activation(n->op_type, &act);
    int gemm = span_is(n->op_type, "Gemm"), matmul = span_is(n->op_type, "MatMul");
    int add = span_is(n->op_type, "Add"), sub = span_is(n->op_type, "Sub");
    int mul = span_is(n->op_type, "Mul"), identity = span_is(n->op_type, "Identity");
    int flatten = span_is(n->op_type, "Flatten");
    if (!(is_act || gemm || matmul || add || sub || mul || identity || flatten)) {
        snprintf(msg, sizeof msg, "operator %s is not supported (supported: %s)",
                 shown(n->op_type, ob), supported_ops);
        return node_fail(c, index, n, SYN_ERR_UNSUPPORTED, msg);
    }
    size_t want_inputs = gemm ? 2 : (matmul || add || sub || mul) ? 2 : 1;
    if (n->n_inputs < want_inputs || n->n_inputs > (gemm ? 3 : want_inputs) ||
        n->n_outputs != 1 || n->outputs[0].size == 0)
        return node_fail(c, index, n, SYN_ERR_UNSUPPORTED, "unexpected number of inputs or "
                         "outputs");
    /* Which input carries the chain: the first, or either for Add/Mul. */
    int from_second = (add || mul) && span_eq(n->inputs[1], w->current) &&
                      !span_eq(n->inputs[0], w->current);
    if (!span_eq(n->inputs[from_second], w->current)) {
        char vb[SHOWN_NAME + 4];
        snprintf(msg, sizeof msg, "does not continue the chain from \"%s\"; only a single "
                 "chain from input to output is supported", shown(w->current, vb));
        return node_fail(c, index, n, SYN_ERR_UNSUPPORTED, msg);
    }
    if (w->softmax_seen && !identity)
        return node_fail(c, index, n, SYN_ERR_UNSUPPORTED, "Softmax must be the last operator");
    syn_status st = SYN_OK;
    span other = n->inputs[!from_second];
    if (gemm || matmul)
        st = start_layer(c, index, n, gemm);
    else if (add)
        st = add_bias(c, index, n, other);
    else if (sub || mul)
        st = add_scaling(c, index, n, sub, other);
    else if (is_act)
        st = set_activation(c, index, n, act, w);
    else if (flatten) {
        onnx_attr_value axis;
        st = node_attr(c, n, "axis", &axis);
        if (st == SYN_OK && axis.found && axis.i != 1)
            st = node_fail(c, index, n, SYN_ERR_UNSUPPORTED, "Flatten must have axis = 1");
    }
    if (st != SYN_OK)
        return st;
    w->current = n->outputs[0];
    return SYN_OK;
}

/* The one graph input that is not an initializer (older exporters list
 * initializers as inputs too). */
static syn_status find_input(ctx *c, const onnx_value **input)
{
    *input = NULL;
    size_t found = 0;
    for (size_t i = 0; i < c->g.n_inputs; i++) {
        if (find_tensor(c, c->g.inputs[i].name))
            continue;
        if (found++ == 0)
            *input = &c->g.inputs[i];
    }
    if (found != 1)
        return fail(c, SYN_ERR_UNSUPPORTED, "the graph has %zu data inputs; exactly one is "
                    "supported", found);
    if (c->g.n_outputs != 1)
        return fail(c, SYN_ERR_UNSUPPORTED, "the graph has %zu outputs; exactly one is "
                    "supported", c->g.n_outputs);
    return SYN_OK;
}

/* The input's declared type, if any: float, and [batch, n] or flattenable
 * to n features per sample. Returns the declared feature count in *width
 * (0 when unknown). */
static syn_status input_width(ctx *c, const onnx_value *v, size_t *width)
{
    *width = 0;
    if (!v->has_type)
        return SYN_OK;
    syn_pb_reader r;
    syn_pb_field f;
    int more;
    syn_status st;
    span tensor = {NULL, 0}, shape = {NULL, 0};
    int has_tensor = 0, has_shape = 0;
    int64_t elem = ONNX_DTYPE_FLOAT;
    syn_pb_reader_init(&r, v->type.data, v->type.size);
    while ((st = syn_pb_next(&r, &f, &more)) == SYN_OK && more)
        if (f.number == ONNX_TYPE_TENSOR_TYPE && f.wire_type == SYN_PB_LEN) {
            tensor = field_span(&f);
            has_tensor = 1;
        }
    if (st != SYN_OK)
        return bad_wire(c, st, "the input's type");
    if (!has_tensor)
        return fail(c, SYN_ERR_UNSUPPORTED, "the graph input is not a tensor");
    syn_pb_reader_init(&r, tensor.data, tensor.size);
    while ((st = syn_pb_next(&r, &f, &more)) == SYN_OK && more) {
        if (f.number == ONNX_TENSOR_TYPE_ELEM_TYPE && f.wire_type == SYN_PB_VARINT)
            elem = (int64_t)f.value;
        else if (f.number == ONNX_TENSOR_TYPE_SHAPE && f.wire_type == SYN_PB_LEN) {
            shape = field_span(&f);
            has_shape = 1;
        }
    }
    if (st != SYN_OK)
        return bad_wire(c, st, "the input's type");
    if (elem != ONNX_DTYPE_FLOAT)
        return fail(c, SYN_ERR_UNSUPPORTED, "the graph input has element type %lld; only "
                    "float (1) is supported", (long long)elem);
    if (!has_shape)
        return SYN_OK;
    /* Product of the dims after the first (the batch); unknown if any is
     * symbolic. */
    size_t rank = 0, product = 1;
    int known = 1;
    syn_pb_reader_init(&r, shape.data, shape.size);
    while ((st = syn_pb_next(&r, &f, &more)) == SYN_OK && more) {
        if (f.number != ONNX_SHAPE_DIM || f.wire_type != SYN_PB_LEN)
            continue;
        int has_value = 0;
        uint64_t value = 0;
        syn_pb_reader dr;
        syn_pb_field df;
        int dmore;
        syn_pb_reader_init(&dr, f.data, f.size);
        while ((st = syn_pb_next(&dr, &df, &dmore)) == SYN_OK && dmore)
            if (df.number == ONNX_DIM_VALUE && df.wire_type == SYN_PB_VARINT) {
                value = df.value;
                has_value = 1;
            }
        if (st != SYN_OK)
            break;
        if (rank++ == 0)
            continue;
        if (!has_value || value > SIZE_MAX || !syn_mul_size(product, (size_t)value, &product))
            known = 0;
    }
    if (st != SYN_OK)
        return bad_wire(c, st, "the input's shape");
    if (rank >= 2 && known)
        *width = product;
    return SYN_OK;
}

static syn_status walk_graph(ctx *c)
{
    const onnx_value *input;
    syn_status st = find_input(c, &input);
    if (st != SYN_OK)
        return st;
    c->layers = calloc(c->g.n_nodes ? c->g.n_nodes : 1, sizeof *c->layers);
    if (!c->layers)
        return fail(c, SYN_ERR_OUT_OF_MEMORY, "out of memory");
    walk w = {input->name, 0};
    for (size_t i = 0; i < c->g.n_nodes; i++)
        if ((st = visit_node(c, i, &c->g.nodes[i], &w)) != SYN_OK)
            return st;
    char vb[SHOWN_NAME + 4], ob[SHOWN_NAME + 4];
    if (!span_eq(w.current, c->g.outputs[0].name))
        return fail(c, SYN_ERR_UNSUPPORTED, "the chain from the input ends at \"%s\", not at "
                    "the graph output \"%s\"", shown(w.current, vb),
                    shown(c->g.outputs[0].name, ob));
    if (c->n_layers == 0)
        return fail(c, SYN_ERR_UNSUPPORTED, "the graph has no Gemm or MatMul layer");
    size_t width;
    if ((st = input_width(c, input, &width)) != SYN_OK)
        return st;
    if (width != 0 && width != c->layers[0].n_in)
        return fail(c, SYN_ERR_SHAPE, "the input has %zu features, the first layer takes %zu",
                    width, c->layers[0].n_in);
    return SYN_OK;
}

/* ------------------------------------------------------------------------ */
/* Building the network                                                      */
/* ------------------------------------------------------------------------ */

/* A checked tensor of 1 or n elements, broadcast to n floats. */
static syn_status broadcast(ctx *c, const onnx_tensor *t, size_t n, float fill, float *dst)
{
    if (!t) {
        for (size_t k = 0; k < n; k++)
            dst[k] = fill;
        return SYN_OK;
    }
    size_t count;
    syn_status st = tensor_count(c, t, &count);
    if (st != SYN_OK)
        return st;
    char nb[SHOWN_NAME + 4];
    if (count != n && count != 1)
        return fail(c, SYN_ERR_SHAPE, "tensor \"%s\" has %zu elements, expected %zu or 1",
                    shown(t->name, nb), count, n);
    if (count == n)
        return tensor_floats(c, t, n, dst);
    float one;
    if ((st = tensor_floats(c, t, 1, &one)) != SYN_OK)
        return st;
    for (size_t k = 0; k < n; k++)
        dst[k] = one;
    return SYN_OK;
}

/* Tensors with float_data are decoded into a scratch buffer first. */
static syn_status load_weights(ctx *c, syn_net *net)
{
    syn_status st = SYN_OK;
    for (size_t l = 0; l < c->n_layers && st == SYN_OK; l++) {
        const found_layer *fl = &c->layers[l];
        float *w, *b;
        syn_net_layer_params(net, l, &w, &b);
        size_t count = fl->units * fl->n_in;
        float *tmp = malloc(count * sizeof *tmp);
        if (!tmp)
            return fail(c, SYN_ERR_OUT_OF_MEMORY, "out of memory");
        st = tensor_floats(c, fl->weight, count, tmp);
        if (st == SYN_OK) {
            for (size_t u = 0; u < fl->units; u++)
                for (size_t i = 0; i < fl->n_in; i++)
                    w[u * fl->n_in + i] =
                        fl->transposed ? tmp[i * fl->units + u] : tmp[u * fl->n_in + i];
        }
        free(tmp);
        if (st == SYN_OK && b)
            st = broadcast(c, fl->bias, fl->units, 0.0f, b);
    }
    return st;
}

static syn_status load_scaling(ctx *c, syn_net *net)
{
    if (!c->offset && !c->scale)
        return SYN_OK;
    size_t n = net->n_inputs;
    float *offset = malloc(n * sizeof *offset), *scale = malloc(n * sizeof *scale);
    syn_status st = offset && scale ? SYN_OK : fail(c, SYN_ERR_OUT_OF_MEMORY, "out of memory");
    if (st == SYN_OK)
        st = broadcast(c, c->offset, n, 0.0f, offset);
    if (st == SYN_OK)
        st = broadcast(c, c->scale, n, 1.0f, scale);
    if (st == SYN_OK && syn_net_set_input_scaling(net, offset, scale) != SYN_OK)
        st = fail(c, SYN_ERR_CORRUPT, "the input scaling (Sub, Mul) is not finite");
    free(offset);
    free(scale);
    return st;
}

/* Decodes a JSON string body starting after its opening quote; writes the
 * UTF-8 bytes at *out and advances *p past the closing quote. */
static int json_string(const uint8_t **p, const uint8_t *end, char **out)
{
    const uint8_t *q = *p;
    char *o = *out;
    while (q < end && *q != '"') {
        if (*q < 0x20)
            return 0;
        if (*q != '\\') {
            *o++ = (char)*q++;
            continue;
        }
        if (++q == end)
            return 0;
        uint8_t e = *q++;
        const char *simple = strchr("\"\\/bfnrt", e);
        if (e != 'u') {
            if (!simple || e == 0)
                return 0;
            static const char decoded[] = "\"\\/\b\f\n\r\t";
            *o++ = decoded[simple - "\"\\/bfnrt"];
            continue;
        }
        unsigned cp = 0;
        for (int pass = 0; pass < 2; pass++) {
            if (end - q < 4)
                return 0;
            unsigned v = 0;
            for (int k = 0; k < 4; k++) {
                int h = q[k];
                int d = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10
                        : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
                if (d < 0)
                    return 0;
                v = v * 16 + (unsigned)d;
            }
            q += 4;
            if (pass == 0) {
                cp = v;
                if (cp < 0xd800 || cp > 0xdfff)
                    break;
                /* A high surrogate needs "\u" and a low one after it. */
                if (cp > 0xdbff || end - q < 2 || q[0] != '\\' || q[1] != 'u')
                    return 0;
                q += 2;
            } else {
                if (v < 0xdc00 || v > 0xdfff)
                    return 0;
                cp = 0x10000 + ((cp - 0xd800) << 10) + (v - 0xdc00);
            }
        }
        if (cp == 0)
            return 0;
        if (cp < 0x80) {
            *o++ = (char)cp;
        } else if (cp < 0x800) {
            *o++ = (char)(0xc0 | (cp >> 6));
            *o++ = (char)(0x80 | (cp & 0x3f));
        } else if (cp < 0x10000) {
            *o++ = (char)(0xe0 | (cp >> 12));
            *o++ = (char)(0x80 | ((cp >> 6) & 0x3f));
            *o++ = (char)(0x80 | (cp & 0x3f));
        } else {
            *o++ = (char)(0xf0 | (cp >> 18));
            *o++ = (char)(0x80 | ((cp >> 12) & 0x3f));
            *o++ = (char)(0x80 | ((cp >> 6) & 0x3f));
            *o++ = (char)(0x80 | (cp & 0x3f));
        }
    }
    if (q == end)
        return 0;
    *o++ = '\0';
    *out = o;
    *p = q + 1;
    return 1;
}

static const uint8_t *skip_ws(const uint8_t *p, const uint8_t *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

/* metadata_props "class_names": a JSON array of strings, one per output.
 * Every decoded string is no longer than its JSON form, so one buffer the
 * size of the value holds them all. */
static syn_status load_class_names(ctx *c, syn_net *net)
{
    if (!c->has_class_names)
        return SYN_OK;
    span v = c->class_names;
    char *text = malloc(v.size + 1);
    const char **names = calloc(v.size / 2 + 1, sizeof *names);
    syn_status st = SYN_OK;
    size_t count = 0;
    int ok = text && names;
    if (!ok)
        st = fail(c, SYN_ERR_OUT_OF_MEMORY, "out of memory");
    const uint8_t *p = v.data, *end = v.data + v.size;
    char *o = text;
    p = skip_ws(p, end);
    if (ok)
        ok = p < end && *p++ == '[';
    p = skip_ws(p, end);
    if (ok && p < end && *p == ']') {
        p++;
    } else {
        while (ok) {
            ok = p < end && *p++ == '"';
            if (ok) {
                names[count++] = o;
                ok = json_string(&p, end, &o);
            }
            p = skip_ws(p, end);
            if (!ok || p == end)
                break;
            if (*p == ']') {
                p++;
                break;
            }
            ok = *p++ == ',';
            p = skip_ws(p, end);
        }
    }
    if (st == SYN_OK && (!ok || skip_ws(p, end) != end))
        st = fail(c, SYN_ERR_CORRUPT, "metadata \"class_names\" is not a JSON array of "
                  "strings");
    if (st == SYN_OK && count != 0 && count != syn_net_n_outputs(net))
        st = fail(c, SYN_ERR_CORRUPT, "metadata \"class_names\" has %zu names for %zu outputs",
                  count, syn_net_n_outputs(net));
    if (st == SYN_OK && syn_net_set_class_names(net, names, count) != SYN_OK)
        st = fail(c, SYN_ERR_OUT_OF_MEMORY, "out of memory");
    free(text);
    free(names);
    return st;
}

static syn_status build_net(ctx *c, syn_net **out)
{
    syn_layer_desc *descs = calloc(c->n_layers, sizeof *descs);
    if (!descs)
        return fail(c, SYN_ERR_OUT_OF_MEMORY, "out of memory");
    for (size_t l = 0; l < c->n_layers; l++) {
        descs[l].units = c->layers[l].units;
        descs[l].activation = c->layers[l].activation;
        descs[l].leaky_slope = c->layers[l].slope;
        descs[l].no_bias = c->layers[l].bias == NULL;
    }
    syn_activation last = c->layers[c->n_layers - 1].activation;
    syn_net_desc desc = {
        .n_inputs = c->layers[0].n_in,
        .n_layers = c->n_layers,
        .layers = descs,
        .loss = last == SYN_ACT_SOFTMAX ? SYN_LOSS_CROSS_ENTROPY : SYN_LOSS_MSE,
        .reduction = SYN_REDUCTION_MEAN,
        .init = SYN_INIT_AUTO,
        .seed = 0,
    };
    syn_net *net = NULL;
    syn_status st = syn_net_create(&desc, &net);
    free(descs);
    if (st != SYN_OK)
        return fail(c, st == SYN_ERR_INVALID_ARGUMENT ? SYN_ERR_UNSUPPORTED : st,
                    "cannot build the network: %s", syn_strerror(st));
    st = load_weights(c, net);
    if (st == SYN_OK)
        st = load_scaling(c, net);
    if (st == SYN_OK)
        st = load_class_names(c, net);
    if (st != SYN_OK) {
        syn_net_free(net);
        return st;
    }
    *out = net;
    return SYN_OK;
}

static void free_ctx(ctx *c)
{
    free(c->g.nodes);
    free(c->g.tensors);
    free(c->g.inputs);
    free(c->g.outputs);
    free(c->layers);
}

syn_status syn_onnx_parse(const uint8_t *data, size_t size, const char *name, syn_net **out,
                          syn_error *err)
{
    if (!out || (!data && size > 0)) {
        syn_set_error(err, "import_onnx: NULL data or output");
        return SYN_ERR_INVALID_ARGUMENT;
    }
    *out = NULL;
    ctx c;
    memset(&c, 0, sizeof c);
    c.name = name ? name : "<memory>";
    c.err = err;
    syn_status st = parse_model(&c, data, size);
    if (st == SYN_OK)
        st = walk_graph(&c);
    if (st == SYN_OK)
        st = build_net(&c, out);
    free_ctx(&c);
    return st;
}

/* ONNX has no magic, but a ModelProto starts with a field tag: a field
 * number of at least 1 and a wire type protobuf defines (0 varint, 1
 * 64-bit, 2 length-delimited, 5 32-bit); a zero byte (/dev/zero) or
 * other garbage is refused before more is read. And a protobuf message
 * cannot exceed 2 GiB (protobuf's documented limit, which ONNX's external
 * data format exists to get around), so no more is read. */
static syn_status onnx_head_check(const uint8_t *head, size_t len, const char *name,
                                  uint64_t *limit, syn_error *err)
{
    *limit = ((uint64_t)1 << 31) + 1;
    unsigned wire = len ? head[0] & 7u : 0;
    if (len && (head[0] >> 3 == 0 || (wire != 0 && wire != 1 && wire != 2 && wire != 5))) {
        syn_set_error(err, "%s: not an ONNX model: bad protobuf data at byte 0", name);
        return SYN_ERR_FORMAT;
    }
    return SYN_OK;
}

syn_status syn_net_import_onnx(const char *path, syn_net **out, syn_error *err)
{
    if (!path || !out) {
        syn_set_error(err, "import_onnx: NULL path or output");
        return SYN_ERR_INVALID_ARGUMENT;
    }
    *out = NULL;
    uint8_t *data;
    size_t size;
    syn_status st = syn_model_read_file(path, onnx_head_check, &data, &size, err);
    if (st == SYN_OK)
        st = syn_onnx_parse(data, size, path, out, err);
    free(data);
    return st;
}
