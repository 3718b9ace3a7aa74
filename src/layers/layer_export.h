/* layer_export.h - what a layer kind's exporters write through. Each kind
 * owns its ONNX and C forms (dense.c, batchnorm.c, ...); export/ implements
 * these sinks (onnx_export.c, c_export.c) and calls the kinds' hooks, so
 * the layers never include export/. Layer level. */
#ifndef SYN_LAYERS_LAYER_EXPORT_H
#define SYN_LAYERS_LAYER_EXPORT_H

#include <stddef.h>
#include <stdint.h>

/* Node attribute: ONNX's AttributeType values. */
enum { SYN_ONNX_FLOAT = 1, SYN_ONNX_INT = 2, SYN_ONNX_INTS = 7 };

typedef struct syn_onnx_attr {
    const char *name;
    int type;             /* SYN_ONNX_FLOAT, _INT or _INTS */
    float f;
    int64_t i;
    const int64_t *ints;  /* SYN_ONNX_INTS: n_ints values */
    size_t n_ints;
} syn_onnx_attr;

/* Names are at most SYN_ONNX_NAME - 1 bytes. */
#define SYN_ONNX_NAME 64

typedef struct syn_onnx_sink {
    void *ctx;
    /* A float initializer tensor of the given dims. */
    void (*tensor)(void *ctx, const char *name, const int64_t *dims, size_t n_dims,
                   const float *values, size_t count);
    /* One node: op_type, a unique node name, inputs, one output. */
    void (*node)(void *ctx, const char *op, const char *name, const char *const *inputs,
                 size_t n_inputs, const char *output, const syn_onnx_attr *attrs,
                 size_t n_attrs);
} syn_onnx_sink;

typedef struct syn_c_sink {
    void *ctx;
    /* printf-like text into the header. */
    void (*text)(void *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
    /* static const float PREFIX_name[count] = {...}; */
    void (*array)(void *ctx, const char *name, const float *values, size_t count);
    /* A float literal that reads back as the same bits. */
    void (*value)(void *ctx, float v);
    const char *prefix;   /* the C identifiers' prefix */
    const char *scratch;  /* c_body: a float array of the layer's c_scratch floats */
} syn_c_sink;

#endif
