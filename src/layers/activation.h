/* activation.h - the activation table (activation.c): one row per
 * syn_activation with its name, parameter, flags, forward and backward over
 * raw row-major [rows x cols] blocks, and its ONNX and C forms. Adding an
 * activation is one enum value (synapse.h) and one row; the
 * _Static_assert beside the table and the switches without `default:`
 * over the forms (exporters) name every place a new row must be filled in.
 * Layer level: includes nothing of the core. */
#ifndef SYN_LAYERS_ACTIVATION_H
#define SYN_LAYERS_ACTIVATION_H

#include <stddef.h>

#include "synapse.h"

/* How the ONNX exporter writes an activation (export/onnx_export.c): the
 * opset 13 operators, or their decomposition where opset 13 has none. */
typedef enum syn_onnx_act_form {
    SYN_ONNX_ACT_NONE = 0,  /* linear: no node */
    SYN_ONNX_ACT_OP,        /* one operator (onnx_op) without attributes */
    SYN_ONNX_ACT_OP_ALPHA,  /* one operator with float attribute alpha = parameter */
    SYN_ONNX_ACT_SOFTMAX,   /* Softmax, axis 1 */
    SYN_ONNX_ACT_GELU_ERF,  /* 0.5 x (1 + Erf(x / sqrt 2)): what torch.onnx.export writes */
    SYN_ONNX_ACT_GELU_TANH, /* 0.5 x (1 + Tanh(sqrt(2/pi) (x + 0.044715 x^3))) */
    SYN_ONNX_ACT_SILU,      /* x * Sigmoid(x) */
    SYN_ONNX_ACT_SOFTPLUS,  /* Softplus(beta x) / beta (Softplus alone when beta is 1) */
    SYN_ONNX_ACT_COUNT_
} syn_onnx_act_form;

/* Forward in place: z (pre-activation) in, a out. param is the layer's
 * effective parameter (syn_activation_param). */
typedef void (*syn_act_forward_fn)(float *z_to_a, size_t rows, size_t cols, float param);
/* Turns dL/da in d into dL/dz in place, from the outputs a and (for rows
 * with needs_z) the pre-activations z; z may be NULL for the others. */
typedef void (*syn_act_backward_fn)(const float *a, const float *z, float *d, size_t rows,
                                    size_t cols, float param);

typedef struct syn_act_info {
    const char *name;       /* "relu": CLI, info, messages, exports; syn_activation_parse */
    const char *param_name; /* "slope", "alpha", "beta", or NULL without a parameter */
    float default_param;    /* what a layer's leaky_slope of 0 means */
    unsigned needs_z : 1;     /* backward reads the pre-activation z */
    unsigned he_init : 1;     /* SYN_INIT_AUTO picks He normal (else Xavier uniform) */
    unsigned output_only : 1; /* only on the last layer (softmax) */
    unsigned small_path : 1;  /* kernels/small_avx512.c implements it */
    syn_act_forward_fn forward;
    syn_act_backward_fn backward;
    syn_onnx_act_form onnx_form;
    const char *onnx_op; /* the ONNX operator of the OP forms */
    /* C form (export/c_export.c): the body of
     * `static inline float f(float x, float p)` computing a from z = x and
     * the parameter p, with only <math.h>; NULL for linear and for
     * output_only rows, which the exporter writes row-wise. */
    const char *c_body;
} syn_act_info;

/* The table row of act (a valid value below SYN_ACT_COUNT_). */
const syn_act_info *syn_act_info_of(syn_activation act);

/* The parameter a layer runs with: `requested` when nonzero, else the
 * row's default; 0 for activations without a parameter. */
float syn_activation_param(syn_activation act, float requested);
/* Is requested a valid parameter for act: finite and >= 0 (0 = the
 * default; leaky slope, ELU alpha and softplus beta are never negative)? */
int syn_activation_param_ok(syn_activation act, float requested);

/* The table's forward and backward, for callers that hold an enum value. */
void syn_activation_forward(syn_activation act, float param, float *z_to_a, size_t rows,
                            size_t cols);
void syn_activation_backward(syn_activation act, float param, const float *a, const float *z,
                             float *d, size_t rows, size_t cols);

#endif
