/* onnx_read.c - protobuf walking for ONNX import (onnx_import.h): the
 * ModelProto, its graph, nodes, tensors and value infos into records that
 * point into the file, walked in place with the bounds-checked decoder of
 * protobuf.c; every count is checked against the bytes that back it before
 * anything is allocated. Field numbers are onnx.proto's, named in onnx.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "export/onnx.h"
#include "export/onnx_import.h"
#include "export/protobuf.h"

syn_status syn_onnx_fail(onnx_ctx *c, syn_status st, const char *fmt, ...)
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
const char *syn_onnx_shown(onnx_span s, char buf[SHOWN_NAME + 4])
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

/* The decoder's status with where it happened. */
syn_status syn_onnx_bad_wire(onnx_ctx *c, syn_status st, const char *what)
{
    if (st == SYN_ERR_TRUNCATED)
        return syn_onnx_fail(c, st, "truncated: the file ends inside %s", what);
    return syn_onnx_fail(c, st, "not a valid protobuf message in %s (%s)", what, syn_strerror(st));
}

syn_status syn_onnx_expect_wire(onnx_ctx *c, const syn_pb_field *f, unsigned wire,
                                const char *what)
{
    if (f->wire_type == wire)
        return SYN_OK;
    return syn_onnx_fail(c, SYN_ERR_CORRUPT, "%s (field %u) has wire type %u, expected %u", what,
                         (unsigned)f->number, f->wire_type, wire);
}

/* ------------------------------------------------------------------------ */
/* Messages into structs                                                     */
/* ------------------------------------------------------------------------ */

/* A repeated int64 field, one value (VARINT) or packed (LEN): appends to
 * out[*n], counting past max without storing. */
static syn_status read_int64s(onnx_ctx *c, const syn_pb_field *f, int64_t *out, size_t max,
                              size_t *n, const char *what)
{
    if (f->wire_type == SYN_PB_VARINT) {
        if (*n < max)
            out[*n] = (int64_t)f->value;
        (*n)++;
        return SYN_OK;
    }
    if (f->wire_type != SYN_PB_LEN)
        return syn_onnx_expect_wire(c, f, SYN_PB_VARINT, what);
    const uint8_t *p = f->data, *end = f->data + f->size;
    while (p < end) {
        uint64_t v;
        syn_status st = syn_pb_read_varint(&p, end, &v);
        if (st != SYN_OK)
            return syn_onnx_bad_wire(c, st, what);
        if (*n < max)
            out[*n] = (int64_t)v;
        (*n)++;
    }
    return SYN_OK;
}

/* TensorProto. dims are int64 varints, unpacked as proto2 writes them or
 * packed as some writers do. */
syn_status syn_onnx_parse_tensor(onnx_ctx *c, onnx_span body, onnx_tensor *t)
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
            st = read_int64s(c, &f, t->dims, MAX_DIMS, &t->n_dims, "TensorProto.dims");
            if (st != SYN_OK)
                return st;
            if (t->n_dims > MAX_DIMS)
                return syn_onnx_fail(c, SYN_ERR_UNSUPPORTED, "a tensor has more than %d dims",
                                     MAX_DIMS);
            break;
        case ONNX_TENSOR_DATA_TYPE:
            st = syn_onnx_expect_wire(c, &f, SYN_PB_VARINT, "TensorProto.data_type");
            if (st != SYN_OK)
                return st;
            t->data_type = (int64_t)f.value;
            break;
        case ONNX_TENSOR_SEGMENT: t->segmented = 1; break;
        case ONNX_TENSOR_NAME:
            st = syn_onnx_expect_wire(c, &f, SYN_PB_LEN, "TensorProto.name");
            if (st != SYN_OK)
                return st;
            t->name = onnx_field_span(&f);
            break;
        case ONNX_TENSOR_RAW_DATA:
            st = syn_onnx_expect_wire(c, &f, SYN_PB_LEN, "TensorProto.raw_data");
            if (st != SYN_OK)
                return st;
            t->raw = onnx_field_span(&f);
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
        return syn_onnx_bad_wire(c, st, "a tensor");
    return SYN_OK;
}

/* NodeProto: names of inputs and outputs (the first NODE_MAX_IO of each,
 * and their counts), op_type, name and domain; attributes stay in body. */
static syn_status parse_node(onnx_ctx *c, onnx_span body, onnx_node *n)
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
        st = syn_onnx_expect_wire(c, &f, SYN_PB_LEN, "a NodeProto string");
        if (st != SYN_OK)
            return st;
        switch (f.number) {
        case ONNX_NODE_INPUT:
            if (n->n_inputs < NODE_MAX_IO)
                n->inputs[n->n_inputs] = onnx_field_span(&f);
            n->n_inputs++;
            break;
        case ONNX_NODE_OUTPUT:
            if (n->n_outputs < NODE_MAX_IO)
                n->outputs[n->n_outputs] = onnx_field_span(&f);
            n->n_outputs++;
            break;
        case ONNX_NODE_NAME: n->name = onnx_field_span(&f); break;
        case ONNX_NODE_OP_TYPE: n->op_type = onnx_field_span(&f); break;
        case ONNX_NODE_DOMAIN: n->domain = onnx_field_span(&f); break;
        default: break;
        }
    }
    if (st != SYN_OK)
        return syn_onnx_bad_wire(c, st, "a node");
    return SYN_OK;
}

static syn_status parse_value(onnx_ctx *c, onnx_span body, onnx_value *v)
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
        st = syn_onnx_expect_wire(c, &f, SYN_PB_LEN, "a ValueInfoProto field");
        if (st != SYN_OK)
            return st;
        if (f.number == ONNX_VALUE_NAME) {
            v->name = onnx_field_span(&f);
        } else {
            v->type = onnx_field_span(&f);
            v->has_type = 1;
        }
    }
    if (st != SYN_OK)
        return syn_onnx_bad_wire(c, st, "a graph input or output");
    return SYN_OK;
}

/* Counts the repeated fields of GraphProto, then allocates exactly that
 * many records (each field takes at least two bytes of the file). */
static syn_status parse_graph(onnx_ctx *c, onnx_span body)
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
            return syn_onnx_fail(c, SYN_ERR_UNSUPPORTED, "sparse initializers are not supported");
        default: continue;
        }
        st = syn_onnx_expect_wire(c, &f, SYN_PB_LEN, "a GraphProto list");
        if (st != SYN_OK)
            return st;
    }
    if (st != SYN_OK)
        return syn_onnx_bad_wire(c, st, "the graph");
    if (n_nodes > MAX_NODES || n_inits > MAX_TENSORS || n_in > MAX_GRAPH_IO ||
        n_out > MAX_GRAPH_IO)
        return syn_onnx_fail(c, SYN_ERR_UNSUPPORTED,
                    "graph too large for an MLP (%zu nodes, %zu initializers; at most %d)",
                    n_nodes, n_inits, MAX_NODES);
    /* Constant nodes add at most one tensor each. */
    g->nodes = calloc(n_nodes ? n_nodes : 1, sizeof *g->nodes);
    g->tensors = calloc(n_inits + n_nodes ? n_inits + n_nodes : 1, sizeof *g->tensors);
    g->inputs = calloc(n_in ? n_in : 1, sizeof *g->inputs);
    g->outputs = calloc(n_out ? n_out : 1, sizeof *g->outputs);
    if (!g->nodes || !g->tensors || !g->inputs || !g->outputs)
        return syn_onnx_fail(c, SYN_ERR_OUT_OF_MEMORY, "out of memory");
    syn_pb_reader_init(&r, body.data, body.size);
    while ((st = syn_pb_next(&r, &f, &more)) == SYN_OK && more) {
        onnx_span s = onnx_field_span(&f);
        switch (f.number) {
        case ONNX_GRAPH_NODE: st = parse_node(c, s, &g->nodes[g->n_nodes++]); break;
        case ONNX_GRAPH_INITIALIZER:
            st = syn_onnx_parse_tensor(c, s, &g->tensors[g->n_tensors++]);
            break;
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

static syn_status parse_opset(onnx_ctx *c, onnx_span body)
{
    onnx_span domain = {NULL, 0};
    int64_t version = 0;
    syn_pb_reader r;
    syn_pb_field f;
    int more;
    syn_status st;
    syn_pb_reader_init(&r, body.data, body.size);
    while ((st = syn_pb_next(&r, &f, &more)) == SYN_OK && more) {
        if (f.number == ONNX_OPSET_DOMAIN && f.wire_type == SYN_PB_LEN)
            domain = onnx_field_span(&f);
        else if (f.number == ONNX_OPSET_VERSION && f.wire_type == SYN_PB_VARINT)
            version = (int64_t)f.value;
    }
    if (st != SYN_OK)
        return syn_onnx_bad_wire(c, st, "opset_import");
    if (domain.size == 0 || onnx_span_is(domain, "ai.onnx"))
        c->opset = version;
    return SYN_OK;
}

static syn_status parse_metadata(onnx_ctx *c, onnx_span body)
{
    /* An absent value is the empty string, never a NULL pointer. */
    static const uint8_t nothing[1] = {0};
    onnx_span k = {nothing, 0}, v = {nothing, 0};
    syn_pb_reader r;
    syn_pb_field f;
    int more;
    syn_status st;
    syn_pb_reader_init(&r, body.data, body.size);
    while ((st = syn_pb_next(&r, &f, &more)) == SYN_OK && more) {
        if (f.number == ONNX_ENTRY_KEY && f.wire_type == SYN_PB_LEN)
            k = onnx_field_span(&f);
        else if (f.number == ONNX_ENTRY_VALUE && f.wire_type == SYN_PB_LEN)
            v = onnx_field_span(&f);
    }
    if (st != SYN_OK)
        return syn_onnx_bad_wire(c, st, "metadata_props");
    if (onnx_span_is(k, "class_names")) {
        c->class_names = v;
        c->has_class_names = 1;
    } else if (onnx_span_is(k, "classes")) {
        c->classes = v;
        c->has_classes = 1;
    }
    return SYN_OK;
}

/* ModelProto: ir_version, opset_import, metadata_props and the graph. */
syn_status syn_onnx_read_model(onnx_ctx *c, const uint8_t *data, size_t size)
{
    if (size == 0)
        return syn_onnx_fail(c, SYN_ERR_FORMAT, "empty file, not an ONNX model");
    onnx_span graph = {NULL, 0};
    int has_graph = 0, has_ir = 0;
    syn_pb_reader r;
    syn_pb_field f;
    int more;
    syn_status st;
    syn_pb_reader_init(&r, data, size);
    while ((st = syn_pb_next(&r, &f, &more)) == SYN_OK && more) {
        switch (f.number) {
        case ONNX_MODEL_IR_VERSION:
            st = syn_onnx_expect_wire(c, &f, SYN_PB_VARINT, "ModelProto.ir_version");
            if (st != SYN_OK)
                return st;
            has_ir = 1;
            break;
        case ONNX_MODEL_GRAPH:
            st = syn_onnx_expect_wire(c, &f, SYN_PB_LEN, "ModelProto.graph");
            if (st != SYN_OK)
                return st;
            graph = onnx_field_span(&f);
            has_graph = 1;
            break;
        case ONNX_MODEL_OPSET_IMPORT:
            st = syn_onnx_expect_wire(c, &f, SYN_PB_LEN, "ModelProto.opset_import");
            if (st != SYN_OK)
                return st;
            if ((st = parse_opset(c, onnx_field_span(&f))) != SYN_OK)
                return st;
            break;
        case ONNX_MODEL_METADATA_PROPS:
            st = syn_onnx_expect_wire(c, &f, SYN_PB_LEN, "ModelProto.metadata_props");
            if (st != SYN_OK)
                return st;
            if ((st = parse_metadata(c, onnx_field_span(&f))) != SYN_OK)
                return st;
            break;
        default: break;
        }
    }
    if (st != SYN_OK) {
        size_t at = (size_t)(r.p - data);
        if (st == SYN_ERR_TRUNCATED)
            return syn_onnx_fail(c, st, "truncated: the file ends inside the field at byte %zu",
                                 at);
        return syn_onnx_fail(c, SYN_ERR_FORMAT, "not an ONNX model: bad protobuf data at byte %zu",
                             at);
    }
    if (!has_ir || !has_graph)
        return syn_onnx_fail(c, SYN_ERR_FORMAT, "not an ONNX model: no %s",
                             has_ir ? "graph (ModelProto field 7)"
                                    : "ir_version (ModelProto field 1)");
    return parse_graph(c, graph);
}

/* ------------------------------------------------------------------------ */
/* Tensors and attributes                                                    */
/* ------------------------------------------------------------------------ */

const onnx_tensor *syn_onnx_find_tensor(const onnx_ctx *c, onnx_span name)
{
    if (name.size == 0)
        return NULL;
    for (size_t i = 0; i < c->g.n_tensors; i++)
        if (onnx_span_eq(c->g.tensors[i].name, name))
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
static syn_status scan_typed_data(onnx_ctx *c, const onnx_tensor *t, size_t *count, float *dst)
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
                return syn_onnx_fail(c, SYN_ERR_CORRUPT, "packed tensor data of %zu bytes",
                                     f.size);
            for (size_t k = 0; k < f.size / width; k++, n++)
                if (dst)
                    dst[n] = is_double ? (float)syn_pb_get_f64(f.data + k * width)
                                       : syn_pb_get_f32(f.data + k * width);
        } else {
            return syn_onnx_expect_wire(c, &f, SYN_PB_LEN, "tensor data");
        }
    }
    if (st != SYN_OK)
        return syn_onnx_bad_wire(c, st, "a tensor");
    *count = n;
    return SYN_OK;
}

/* Checks that tensor t holds float or double data for exactly the elements
 * its dims announce, and returns that count: the bytes are in the file, so
 * allocating for them is justified. */
syn_status syn_onnx_tensor_count(onnx_ctx *c, const onnx_tensor *t, size_t *count)
{
    char nb[SHOWN_NAME + 4];
    *count = 0;
    if (t->external || t->segmented)
        return syn_onnx_fail(c, SYN_ERR_UNSUPPORTED,
                             "tensor \"%s\": external or segmented data is not supported",
                             syn_onnx_shown(t->name, nb));
    if (t->data_type != ONNX_DTYPE_FLOAT && t->data_type != ONNX_DTYPE_DOUBLE)
        return syn_onnx_fail(c, SYN_ERR_UNSUPPORTED,
                             "tensor \"%s\": data type %lld is not supported "
                             "(float = 1, double = 11)",
                             syn_onnx_shown(t->name, nb), (long long)t->data_type);
    size_t want = 1;
    for (size_t d = 0; d < t->n_dims; d++) {
        if (t->dims[d] < 0 || (uint64_t)t->dims[d] > SIZE_MAX ||
            !syn_mul_size(want, (size_t)t->dims[d], &want))
            return syn_onnx_fail(c, SYN_ERR_CORRUPT, "tensor \"%s\": bad dimension %lld",
                        syn_onnx_shown(t->name, nb), (long long)t->dims[d]);
    }
    size_t have = 0;
    if (t->has_raw) {
        size_t width = t->data_type == ONNX_DTYPE_DOUBLE ? 8 : 4;
        if (t->raw.size % width != 0)
            return syn_onnx_fail(c, SYN_ERR_CORRUPT, "tensor \"%s\": raw_data of %zu bytes",
                                 syn_onnx_shown(t->name, nb), t->raw.size);
        have = t->raw.size / width;
    } else {
        syn_status st = scan_typed_data(c, t, &have, NULL);
        if (st != SYN_OK)
            return st;
    }
    if (have != want)
        return syn_onnx_fail(c, SYN_ERR_CORRUPT,
                             "tensor \"%s\": its dims make %zu elements, its data holds %zu",
                             syn_onnx_shown(t->name, nb), want, have);
    *count = want;
    return SYN_OK;
}

/* Decodes element k of a tensor already checked by syn_onnx_tensor_count. */
static float tensor_at(const onnx_tensor *t, size_t k)
{
    if (t->data_type == ONNX_DTYPE_DOUBLE)
        return (float)syn_pb_get_f64(t->raw.data + 8 * k);
    return syn_pb_get_f32(t->raw.data + 4 * k);
}

/* All count elements of a checked tensor as floats. */
syn_status syn_onnx_tensor_floats(onnx_ctx *c, const onnx_tensor *t, size_t count, float *dst)
{
    if (t->has_raw) {
        for (size_t k = 0; k < count; k++)
            dst[k] = tensor_at(t, k);
        return SYN_OK;
    }
    size_t n;
    return scan_typed_data(c, t, &n, dst);
}

/* Finds attribute `name` of a node (the last one wins, as in protobuf). */
syn_status syn_onnx_node_attr(onnx_ctx *c, const onnx_node *n, const char *name,
                              onnx_attr_value *a)
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
        st = syn_onnx_expect_wire(c, &f, SYN_PB_LEN, "NodeProto.attribute");
        if (st != SYN_OK)
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
                v.t = onnx_field_span(&af);
                v.has_t = 1;
            } else if (af.number == ONNX_ATTR_S && af.wire_type == SYN_PB_LEN) {
                v.s = onnx_field_span(&af);
                v.has_s = 1;
            } else if (af.number == ONNX_ATTR_INTS) {
                st = read_int64s(c, &af, v.ints, MAX_DIMS, &v.n_ints, "AttributeProto.ints");
                if (st != SYN_OK)
                    return st;
            }
        }
        if (st != SYN_OK)
            return syn_onnx_bad_wire(c, st, "an attribute");
        if (match) {
            *a = v;
            a->found = 1;
        }
    }
    if (st != SYN_OK)
        return syn_onnx_bad_wire(c, st, "a node");
    return SYN_OK;
}

/* The input's declared type, if any: float, and its shape: the first dim
 * is the batch, the rest the sample shape (flattenable to the features
 * of the first layer). */
syn_status syn_onnx_input_shape(onnx_ctx *c, const onnx_value *v, onnx_dims *dims,
                                int64_t *batch)
{
    memset(dims, 0, sizeof *dims);
    *batch = DIM_UNKNOWN;
    if (!v->has_type)
        return SYN_OK;
    syn_pb_reader r;
    syn_pb_field f;
    int more;
    syn_status st;
    onnx_span tensor = {NULL, 0}, shape = {NULL, 0};
    int has_tensor = 0, has_shape = 0;
    int64_t elem = ONNX_DTYPE_FLOAT;
    syn_pb_reader_init(&r, v->type.data, v->type.size);
    while ((st = syn_pb_next(&r, &f, &more)) == SYN_OK && more)
        if (f.number == ONNX_TYPE_TENSOR_TYPE && f.wire_type == SYN_PB_LEN) {
            tensor = onnx_field_span(&f);
            has_tensor = 1;
        }
    if (st != SYN_OK)
        return syn_onnx_bad_wire(c, st, "the input's type");
    if (!has_tensor)
        return syn_onnx_fail(c, SYN_ERR_UNSUPPORTED, "the graph input is not a tensor");
    syn_pb_reader_init(&r, tensor.data, tensor.size);
    while ((st = syn_pb_next(&r, &f, &more)) == SYN_OK && more) {
        if (f.number == ONNX_TENSOR_TYPE_ELEM_TYPE && f.wire_type == SYN_PB_VARINT)
            elem = (int64_t)f.value;
        else if (f.number == ONNX_TENSOR_TYPE_SHAPE && f.wire_type == SYN_PB_LEN) {
            shape = onnx_field_span(&f);
            has_shape = 1;
        }
    }
    if (st != SYN_OK)
        return syn_onnx_bad_wire(c, st, "the input's type");
    if (elem != ONNX_DTYPE_FLOAT)
        return syn_onnx_fail(c, SYN_ERR_UNSUPPORTED, "the graph input has element type %lld; only "
                             "float (1) is supported", (long long)elem);
    if (!has_shape)
        return SYN_OK;
    /* Dims past the batch, DIM_UNKNOWN where symbolic (dim_param) or out
     * of range; more than MAX_DIMS of them leave the shape unknown. */
    size_t rank = 0;
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
        int64_t dim = has_value && value <= INT32_MAX ? (int64_t)value : DIM_UNKNOWN;
        if (rank == 0)
            *batch = dim;
        else if (rank <= MAX_DIMS)
            dims->d[rank - 1] = dim;
        rank++;
    }
    if (st != SYN_OK)
        return syn_onnx_bad_wire(c, st, "the input's shape");
    if (rank >= 2 && rank <= MAX_DIMS + 1) {
        dims->rank_known = 1;
        dims->rank = rank - 1;
    }
    return SYN_OK;
}

/* INT64 elements: raw_data (8 bytes each, little-endian) or int64_data,
 * packed or not. */
syn_status syn_onnx_tensor_ints(onnx_ctx *c, const onnx_tensor *t, int64_t out[MAX_DIMS],
                                size_t *count)
{
    char nb[SHOWN_NAME + 4];
    *count = 0;
    if (t->external || t->segmented)
        return syn_onnx_fail(c, SYN_ERR_UNSUPPORTED, "tensor \"%s\": external or segmented data "
                             "is not supported", syn_onnx_shown(t->name, nb));
    if (t->data_type != ONNX_DTYPE_INT64)
        return syn_onnx_fail(c, SYN_ERR_UNSUPPORTED, "tensor \"%s\": data type %lld where a "
                             "shape or index (INT64 = 7) is expected", syn_onnx_shown(t->name, nb),
                             (long long)t->data_type);
    if (t->n_dims > 1 || (t->n_dims == 1 && (t->dims[0] < 0 || t->dims[0] > MAX_DIMS)))
        return syn_onnx_fail(c, SYN_ERR_UNSUPPORTED, "tensor \"%s\": a shape or index must be "
                             "a scalar or a vector of at most %d elements",
                             syn_onnx_shown(t->name, nb), MAX_DIMS);
    size_t want = t->n_dims == 1 ? (size_t)t->dims[0] : 1, n = 0;
    if (t->has_raw) {
        if (t->raw.size != 8 * want)
            return syn_onnx_fail(c, SYN_ERR_CORRUPT, "tensor \"%s\": raw_data of %zu bytes for "
                                 "%zu int64 elements", syn_onnx_shown(t->name, nb), t->raw.size,
                                 want);
        for (n = 0; n < want; n++) {
            uint64_t u = 0;
            for (int k = 7; k >= 0; k--)
                u = u << 8 | t->raw.data[8 * n + (size_t)k];
            out[n] = (int64_t)u;
        }
    } else {
        syn_pb_reader r;
        syn_pb_field f;
        int more;
        syn_status st;
        syn_pb_reader_init(&r, t->body.data, t->body.size);
        while ((st = syn_pb_next(&r, &f, &more)) == SYN_OK && more) {
            if (f.number == ONNX_TENSOR_INT64_DATA &&
                (st = read_int64s(c, &f, out, MAX_DIMS, &n, "TensorProto.int64_data")) != SYN_OK)
                return st;
        }
        if (st != SYN_OK)
            return syn_onnx_bad_wire(c, st, "a tensor");
        if (n != want)
            return syn_onnx_fail(c, SYN_ERR_CORRUPT, "tensor \"%s\": its dims make %zu "
                                 "elements, its data holds %zu", syn_onnx_shown(t->name, nb),
                                 want, n);
    }
    *count = want;
    return SYN_OK;
}
