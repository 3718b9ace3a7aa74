/* onnx.h - the private side of ONNX export and import (docs/FORMAT.md, "ONNX
 * export"): the field numbers of the onnx.proto messages synapse reads and
 * writes, and the in-memory serializer and parser behind
 * syn_net_export_onnx and syn_net_import_onnx. Not public. */
#ifndef SYN_ONNX_H
#define SYN_ONNX_H

#include <stddef.h>
#include <stdint.h>

#include "synapse.h"

/* Field numbers from onnx/onnx.proto (proto2, package onnx). They are part
 * of the wire format and never change between ONNX releases. */
enum {
    /* ModelProto */
    ONNX_MODEL_IR_VERSION = 1,       /* int64 */
    ONNX_MODEL_PRODUCER_NAME = 2,    /* string */
    ONNX_MODEL_PRODUCER_VERSION = 3, /* string */
    ONNX_MODEL_DOMAIN = 4,           /* string */
    ONNX_MODEL_MODEL_VERSION = 5,    /* int64 */
    ONNX_MODEL_DOC_STRING = 6,       /* string */
    ONNX_MODEL_GRAPH = 7,            /* GraphProto */
    ONNX_MODEL_OPSET_IMPORT = 8,     /* repeated OperatorSetIdProto */
    ONNX_MODEL_METADATA_PROPS = 14,  /* repeated StringStringEntryProto */

    /* OperatorSetIdProto */
    ONNX_OPSET_DOMAIN = 1,  /* string */
    ONNX_OPSET_VERSION = 2, /* int64 */

    /* StringStringEntryProto */
    ONNX_ENTRY_KEY = 1,
    ONNX_ENTRY_VALUE = 2,

    /* GraphProto */
    ONNX_GRAPH_NODE = 1,        /* repeated NodeProto */
    ONNX_GRAPH_NAME = 2,        /* string */
    ONNX_GRAPH_INITIALIZER = 5, /* repeated TensorProto */
    ONNX_GRAPH_SPARSE_INITIALIZER = 15,
    ONNX_GRAPH_DOC_STRING = 10,
    ONNX_GRAPH_INPUT = 11,      /* repeated ValueInfoProto */
    ONNX_GRAPH_OUTPUT = 12,     /* repeated ValueInfoProto */

    /* NodeProto */
    ONNX_NODE_INPUT = 1,     /* repeated string */
    ONNX_NODE_OUTPUT = 2,    /* repeated string */
    ONNX_NODE_NAME = 3,      /* string */
    ONNX_NODE_OP_TYPE = 4,   /* string */
    ONNX_NODE_ATTRIBUTE = 5, /* repeated AttributeProto */
    ONNX_NODE_DOC_STRING = 6,
    ONNX_NODE_DOMAIN = 7,    /* string */

    /* AttributeProto */
    ONNX_ATTR_NAME = 1,  /* string */
    ONNX_ATTR_F = 2,     /* float (fixed32) */
    ONNX_ATTR_I = 3,     /* int64 */
    ONNX_ATTR_S = 4,     /* bytes */
    ONNX_ATTR_T = 5,     /* TensorProto */
    ONNX_ATTR_INTS = 8,  /* repeated int64 */
    ONNX_ATTR_TYPE = 20, /* AttributeType enum */

    /* AttributeProto.AttributeType */
    ONNX_ATTR_TYPE_FLOAT = 1,
    ONNX_ATTR_TYPE_INT = 2,
    ONNX_ATTR_TYPE_TENSOR = 4,
    ONNX_ATTR_TYPE_INTS = 7,

    /* ValueInfoProto */
    ONNX_VALUE_NAME = 1, /* string */
    ONNX_VALUE_TYPE = 2, /* TypeProto */

    /* TypeProto: tensor_type = 1; TypeProto.Tensor: elem_type = 1,
     * shape = 2; TensorShapeProto: dim = 1; Dimension: dim_value = 1,
     * dim_param = 2. */
    ONNX_TYPE_TENSOR_TYPE = 1,
    ONNX_TENSOR_TYPE_ELEM_TYPE = 1,
    ONNX_TENSOR_TYPE_SHAPE = 2,
    ONNX_SHAPE_DIM = 1,
    ONNX_DIM_VALUE = 1,
    ONNX_DIM_PARAM = 2,

    /* TensorProto */
    ONNX_TENSOR_DIMS = 1,          /* repeated int64 (unpacked in proto2) */
    ONNX_TENSOR_DATA_TYPE = 2,     /* int32, TensorProto.DataType */
    ONNX_TENSOR_SEGMENT = 3,
    ONNX_TENSOR_FLOAT_DATA = 4,    /* repeated float, packed */
    ONNX_TENSOR_INT64_DATA = 7,    /* repeated int64, packed */
    ONNX_TENSOR_NAME = 8,          /* string */
    ONNX_TENSOR_RAW_DATA = 9,      /* bytes, little-endian elements */
    ONNX_TENSOR_DOUBLE_DATA = 10,  /* repeated double, packed */
    ONNX_TENSOR_EXTERNAL_DATA = 13,
    ONNX_TENSOR_DATA_LOCATION = 14,

    /* TensorProto.DataType */
    ONNX_DTYPE_FLOAT = 1,
    ONNX_DTYPE_INT64 = 7,
    ONNX_DTYPE_BOOL = 9,
    ONNX_DTYPE_DOUBLE = 11
};

/* What syn_net_export_onnx writes (docs/FORMAT.md). */
#define SYN_ONNX_IR_VERSION 8
#define SYN_ONNX_OPSET 13

/* Builds the ONNX image of net in a malloc'd buffer the caller frees.
 * Errors: INVALID_ARGUMENT, OVERFLOW, OUT_OF_MEMORY. */
syn_status syn_onnx_serialize(const syn_net *net, uint8_t **out, size_t *out_size,
                              syn_error *err);

/* Parses an ONNX model of any content without reading outside it and
 * without allocating more than its size justifies; name (may be NULL)
 * prefixes messages. Errors: FORMAT, TRUNCATED, CORRUPT, SHAPE,
 * UNSUPPORTED, OUT_OF_MEMORY. */
syn_status syn_onnx_parse(const uint8_t *data, size_t size, const char *name, syn_net **out,
                          syn_error *err);

#endif
