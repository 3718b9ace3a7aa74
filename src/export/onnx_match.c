/* onnx_match.c - graph matching for ONNX import (onnx_import.h): the graph
 * must be one chain from its input to its output (docs/FORMAT.md, "ONNX
 * import"): optional Sub/Mul input scaling, then Gemm or MatMul (+ Add)
 * layers each followed by at most one activation, as PyTorch's
 * torch.onnx.export of Linear layers and synapse's own export write them.
 * Each node is checked against the chain and recorded as what it means;
 * a node that fits nowhere is refused by name. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "export/onnx.h"
#include "export/onnx_import.h"
#include "layers/activation.h"

static const char supported_ops[] =
    "Gemm, MatMul, Add, Sub, Mul, Relu, LeakyRelu, Sigmoid, Tanh, Softmax, Elu, Softplus, "
    "Identity, Flatten, Constant";

/* ------------------------------------------------------------------------ */
/* The chain                                                                 */
/* ------------------------------------------------------------------------ */

typedef struct walk {
    onnx_span current;     /* the value the chain has reached */
    int softmax_seen; /* nothing but Identity may follow Softmax */
} walk;

static syn_status node_fail(onnx_ctx *c, size_t index, const onnx_node *n, syn_status st,
                            const char *what)
{
    char nb[SHOWN_NAME + 4], ob[SHOWN_NAME + 4];
    return syn_onnx_fail(c, st, "node %zu \"%s\" (%s): %s", index, syn_onnx_shown(n->name, nb),
                         syn_onnx_shown(n->op_type, ob), what);
}

/* The constant operand `name` of node n: an initializer or a Constant. */
static syn_status operand(onnx_ctx *c, size_t index, const onnx_node *n, onnx_span name,
                          const onnx_tensor **t)
{
    *t = syn_onnx_find_tensor(c, name);
    if (*t)
        return SYN_OK;
    char nb[SHOWN_NAME + 4], msg[128];
    snprintf(msg, sizeof msg, "input \"%s\" is not an initializer or a Constant; only a "
             "single chain of layers is supported", syn_onnx_shown(name, nb));
    return node_fail(c, index, n, SYN_ERR_UNSUPPORTED, msg);
}

static syn_status add_constant(onnx_ctx *c, size_t index, const onnx_node *n)
{
    onnx_attr_value a;
    syn_status st = syn_onnx_node_attr(c, n, "value", &a);
    if (st != SYN_OK)
        return st;
    if (!a.found || !a.has_t || n->n_outputs != 1)
        return node_fail(c, index, n, SYN_ERR_UNSUPPORTED,
                         "only a Constant with a tensor \"value\" attribute is supported");
    onnx_tensor *t = &c->g.tensors[c->g.n_tensors];
    st = syn_onnx_parse_tensor(c, a.t, t);
    if (st != SYN_OK)
        return st;
    t->name = n->outputs[0];
    c->g.n_tensors++;
    return SYN_OK;
}

static found_layer *open_layer(onnx_ctx *c)
{
    return c->n_layers > 0 ? &c->layers[c->n_layers - 1] : NULL;
}

/* Gemm (Y = alpha * A * B' + beta * C) or MatMul starts a layer. */
static syn_status start_layer(onnx_ctx *c, size_t index, const onnx_node *n, int gemm)
{
    const onnx_tensor *w, *b = NULL;
    syn_status st = operand(c, index, n, n->inputs[1], &w);
    if (st != SYN_OK)
        return st;
    int trans_b = 0;
    if (gemm) {
        onnx_attr_value ta, tb, alpha, beta;
        if ((st = syn_onnx_node_attr(c, n, "transA", &ta)) != SYN_OK ||
            (st = syn_onnx_node_attr(c, n, "transB", &tb)) != SYN_OK ||
            (st = syn_onnx_node_attr(c, n, "alpha", &alpha)) != SYN_OK ||
            (st = syn_onnx_node_attr(c, n, "beta", &beta)) != SYN_OK)
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
    if ((st = syn_onnx_tensor_count(c, w, &count)) != SYN_OK)
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
        if ((st = syn_onnx_tensor_count(c, b, &count)) != SYN_OK)
            return st;
        if (count != layer->units && count != 1)
            return node_fail(c, index, n, SYN_ERR_SHAPE, "bias size differs from units");
        layer->bias = b;
    }
    c->n_layers++;
    return SYN_OK;
}

/* Add after MatMul (or a bias-free Gemm): the layer's bias. */
static syn_status add_bias(onnx_ctx *c, size_t index, const onnx_node *n, onnx_span other)
{
    found_layer *layer = open_layer(c);
    if (!layer || layer->bias || layer->has_activation)
        return node_fail(c, index, n, SYN_ERR_UNSUPPORTED,
                         "Add is supported only as the bias right after MatMul or Gemm");
    const onnx_tensor *b;
    size_t count;
    syn_status st = operand(c, index, n, other, &b);
    if (st == SYN_OK)
        st = syn_onnx_tensor_count(c, b, &count);
    if (st != SYN_OK)
        return st;
    if (count != layer->units && count != 1)
        return node_fail(c, index, n, SYN_ERR_SHAPE, "bias size differs from units");
    layer->bias = b;
    return SYN_OK;
}

/* Sub then Mul before the first layer: synapse's (x - offset) * scale. */
static syn_status add_scaling(onnx_ctx *c, size_t index, const onnx_node *n, int is_sub,
                              onnx_span other)
{
    if (c->n_layers > 0)
        return node_fail(c, index, n, SYN_ERR_UNSUPPORTED,
                         "Sub and Mul are supported only as input scaling before the first layer");
    if ((is_sub && (c->offset || c->scale)) || (!is_sub && c->scale))
        return node_fail(c, index, n, SYN_ERR_UNSUPPORTED,
                         "input scaling must be at most one Sub followed by one Mul");
    const onnx_tensor *t;
    syn_status st = operand(c, index, n, other, &t);
    if (st != SYN_OK)
        return st;
    size_t count;
    if ((st = syn_onnx_tensor_count(c, t, &count)) != SYN_OK)
        return st;
    if (is_sub)
        c->offset = t;
    else
        c->scale = t;
    return SYN_OK;
}

static syn_status set_activation(onnx_ctx *c, size_t index, const onnx_node *n, syn_activation act,
                                 walk *w)
{
    found_layer *layer = open_layer(c);
    if (!layer || layer->has_activation)
        return node_fail(c, index, n, SYN_ERR_UNSUPPORTED,
                         "an activation must follow a Gemm or MatMul layer");
    syn_status st;
    layer->slope = 0.0f;
    const syn_act_info *info = syn_act_info_of(act);
    if (info->onnx_form == SYN_ONNX_ACT_OP_ALPHA) { /* LeakyRelu, Elu */
        onnx_attr_value alpha;
        if ((st = syn_onnx_node_attr(c, n, "alpha", &alpha)) != SYN_OK)
            return st;
        /* ONNX's default alpha is the table's default (0.01, 1). */
        float param = alpha.found ? alpha.f : info->default_param;
        if (!isfinite(param) || param < 0.0f)
            return node_fail(c, index, n, SYN_ERR_UNSUPPORTED, "alpha must be >= 0");
        /* synapse reads a parameter of 0 as "the default"; a LeakyRelu of
         * slope 0 is plain Relu (an Elu of alpha 0 is refused: no synapse
         * activation is max(x, 0) with ELU's name). */
        if (param == 0.0f && act == SYN_ACT_LEAKY_RELU)
            act = SYN_ACT_RELU;
        else if (param == 0.0f)
            return node_fail(c, index, n, SYN_ERR_UNSUPPORTED, "alpha must be > 0");
        layer->slope = param;
    } else if (info->onnx_form == SYN_ONNX_ACT_SOFTMAX) {
        onnx_attr_value axis;
        if ((st = syn_onnx_node_attr(c, n, "axis", &axis)) != SYN_OK)
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

/* The activation whose table row is this one ONNX operator (Relu, Sigmoid,
 * Tanh, LeakyRelu, Softmax, Elu, and Softplus: ONNX's has no threshold,
 * which changes its value by less than e^-20 relative, and beta 1). The
 * decomposed forms (GELU through Erf, SiLU as x * Sigmoid(x)) are chains of
 * several nodes, not matched here. */
static int op_activation(onnx_span op, syn_activation *act)
{
    for (int a = 0; a < SYN_ACT_COUNT_; a++) {
        const syn_act_info *info = syn_act_info_of((syn_activation)a);
        if (info->onnx_op && onnx_span_is(op, info->onnx_op)) {
            *act = (syn_activation)a;
            return 1;
        }
    }
    return 0;
}

/* One node of the chain: checks that it continues from w->current, records
 * what it means and moves w->current to its output. */
static syn_status visit_node(onnx_ctx *c, size_t index, const onnx_node *n, walk *w)
{
    char msg[sizeof c->err->message];
    char ob[SHOWN_NAME + 4];
    if (n->domain.size > 0 && !onnx_span_is(n->domain, "ai.onnx")) {
        snprintf(msg, sizeof msg, "operator domain \"%s\" is not supported",
                 syn_onnx_shown(n->domain, ob));
        return node_fail(c, index, n, SYN_ERR_UNSUPPORTED, msg);
    }
    if (onnx_span_is(n->op_type, "Constant"))
        return add_constant(c, index, n);
    syn_activation act = SYN_ACT_LINEAR;
    int is_act = op_activation(n->op_type, &act);
    int gemm = onnx_span_is(n->op_type, "Gemm"), matmul = onnx_span_is(n->op_type, "MatMul");
    int add = onnx_span_is(n->op_type, "Add"), sub = onnx_span_is(n->op_type, "Sub");
    int mul = onnx_span_is(n->op_type, "Mul"), identity = onnx_span_is(n->op_type, "Identity");
    int flatten = onnx_span_is(n->op_type, "Flatten");
    if (!(is_act || gemm || matmul || add || sub || mul || identity || flatten)) {
        snprintf(msg, sizeof msg, "operator %s is not supported (supported: %s)",
                 syn_onnx_shown(n->op_type, ob), supported_ops);
        return node_fail(c, index, n, SYN_ERR_UNSUPPORTED, msg);
    }
    size_t want_inputs = gemm ? 2 : (matmul || add || sub || mul) ? 2 : 1;
    if (n->n_inputs < want_inputs || n->n_inputs > (gemm ? 3 : want_inputs) ||
        n->n_outputs != 1 || n->outputs[0].size == 0)
        return node_fail(c, index, n, SYN_ERR_UNSUPPORTED, "unexpected number of inputs or "
                         "outputs");
    /* Which input carries the chain: the first, or either for Add/Mul. */
    int from_second = (add || mul) && onnx_span_eq(n->inputs[1], w->current) &&
                      !onnx_span_eq(n->inputs[0], w->current);
    if (!onnx_span_eq(n->inputs[from_second], w->current)) {
        char vb[SHOWN_NAME + 4];
        snprintf(msg, sizeof msg, "does not continue the chain from \"%s\"; only a single "
                 "chain from input to output is supported", syn_onnx_shown(w->current, vb));
        return node_fail(c, index, n, SYN_ERR_UNSUPPORTED, msg);
    }
    if (w->softmax_seen && !identity)
        return node_fail(c, index, n, SYN_ERR_UNSUPPORTED, "Softmax must be the last operator");
    syn_status st = SYN_OK;
    onnx_span other = n->inputs[!from_second];
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
        st = syn_onnx_node_attr(c, n, "axis", &axis);
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
static syn_status find_input(onnx_ctx *c, const onnx_value **input)
{
    *input = NULL;
    size_t found = 0;
    for (size_t i = 0; i < c->g.n_inputs; i++) {
        if (syn_onnx_find_tensor(c, c->g.inputs[i].name))
            continue;
        if (found++ == 0)
            *input = &c->g.inputs[i];
    }
    if (found != 1)
        return syn_onnx_fail(c, SYN_ERR_UNSUPPORTED,
                             "the graph has %zu data inputs; exactly one is supported", found);
    if (c->g.n_outputs != 1)
        return syn_onnx_fail(c, SYN_ERR_UNSUPPORTED, "the graph has %zu outputs; exactly one is "
                             "supported", c->g.n_outputs);
    return SYN_OK;
}

syn_status syn_onnx_match(onnx_ctx *c)
{
    const onnx_value *input;
    syn_status st = find_input(c, &input);
    if (st != SYN_OK)
        return st;
    c->layers = calloc(c->g.n_nodes ? c->g.n_nodes : 1, sizeof *c->layers);
    if (!c->layers)
        return syn_onnx_fail(c, SYN_ERR_OUT_OF_MEMORY, "out of memory");
    walk w = {input->name, 0};
    for (size_t i = 0; i < c->g.n_nodes; i++)
        if ((st = visit_node(c, i, &c->g.nodes[i], &w)) != SYN_OK)
            return st;
    char vb[SHOWN_NAME + 4], ob[SHOWN_NAME + 4];
    if (!onnx_span_eq(w.current, c->g.outputs[0].name))
        return syn_onnx_fail(c, SYN_ERR_UNSUPPORTED,
                             "the chain from the input ends at \"%s\", not at "
                             "the graph output \"%s\"",
                             syn_onnx_shown(w.current, vb),
                             syn_onnx_shown(c->g.outputs[0].name, ob));
    if (c->n_layers == 0)
        return syn_onnx_fail(c, SYN_ERR_UNSUPPORTED, "the graph has no Gemm or MatMul layer");
    size_t width;
    if ((st = syn_onnx_input_width(c, input, &width)) != SYN_OK)
        return st;
    if (width != 0 && width != c->layers[0].n_in)
        return syn_onnx_fail(c, SYN_ERR_SHAPE,
                             "the input has %zu features, the first layer takes %zu", width,
                             c->layers[0].n_in);
    return SYN_OK;
}
