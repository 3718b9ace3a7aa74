/* onnx_match.c - graph matching for ONNX import (onnx_import.h): the graph
 * must be one chain from its input to its output (docs/FORMAT.md, "ONNX
 * import"): optional Sub/Mul input scaling, then Gemm or MatMul (+ Add)
 * layers each followed by at most one activation, as PyTorch's
 * torch.onnx.export of Linear layers and synapse's own export write them.
 * Each node is checked against the chain and recorded as what it means;
 * a node that fits nowhere is refused by name. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "export/onnx.h"
#include "export/onnx_import.h"
#include "layers/activation.h"
#include "layers/layer.h"

static const char supported_ops[] =
    "Gemm, MatMul, Conv, MaxPool, AveragePool, GlobalAveragePool, Pad before AveragePool or "
    "Conv, Add, Sub, Mul, Div, BatchNormalization, LayerNormalization, Dropout, Relu, "
    "LeakyRelu, Sigmoid, Tanh, Softmax, Elu, Softplus, Identity, Flatten, Reshape, Constant; "
    "Shape, Gather, Unsqueeze, Concat for a Reshape's shape; ReduceMean, Pow, Sqrt in a "
    "LayerNorm; Erf, Tanh, Mul, Add in GELU";

/* ------------------------------------------------------------------------ */
/* The chain                                                                 */
/* ------------------------------------------------------------------------ */

/* A value of a shape computation (Shape, Gather, Unsqueeze, Concat, or an
 * INT64 constant): a scalar or a vector of at most MAX_DIMS entries, each
 * a number, the batch size or unknown (a symbolic dim of the input). */
#define SV_BATCH INT64_MIN
#define SV_UNKNOWN (INT64_MIN + 1)
typedef struct shape_value {
    onnx_span name;
    int scalar;
    size_t n;
    int64_t v[MAX_DIMS];
} shape_value;

/* A value the chain passed through, with its sample shape (for Shape). */
typedef struct chain_value {
    onnx_span name;
    onnx_dims dims;
} chain_value;

typedef struct walk {
    onnx_span current; /* the value the chain has reached */
    onnx_dims dims;    /* its sample shape */
    int64_t batch;     /* the input's declared batch dim (DIM_UNKNOWN if symbolic) */
    int softmax_seen;  /* nothing but Identity may follow Softmax */
    chain_value *values;
    size_t n_values;
    shape_value *shapes;
    size_t n_shapes;
    /* A LayerNorm written out in primitives (torch.onnx.export before
     * opset 17): the step reached (0: none) and the values it made. */
    int ln_stage;
    onnx_span ln_x, ln_mean, ln_diff, ln_sq, ln_var, ln_vare, ln_std;
    float ln_eps;
    int ln_affine; /* after one: 1 a Mul may be gamma, 2 an Add may be beta */
    /* An activation written out in operators (act_forms below): the form,
     * the step reached, the value it started from, each step's output and
     * the parameter captured. */
    int form, form_step;
    onnx_span form_x, form_out[12];
    float form_param;
    int form_have_param;
    onnx_span pre_act; /* the value before the open layer's activation */
    /* A Pad of zeros waiting for the AveragePool or Conv that takes it:
     * [top, left, bottom, right]. */
    int pad_pending;
    int64_t pads[4];
} walk;

/* The image kinds' matching (below), which batch norm over maps uses. */
static syn_status image_input(onnx_ctx *c, size_t index, const onnx_node *n, const walk *w,
                              size_t in[3]);
static found_layer *image_layer(onnx_ctx *c, walk *w, size_t index, syn_layer_kind kind,
                                const size_t in[3], const size_t out[3]);

static void flat_dims(onnx_dims *d, size_t features)
{
    d->rank_known = 1;
    d->rank = 1;
    d->d[0] = features > 0 && features <= INT32_MAX ? (int64_t)features : DIM_UNKNOWN;
}

static syn_status node_fail(onnx_ctx *c, size_t index, const onnx_node *n, syn_status st,
                            const char *what)
{
    char nb[SHOWN_NAME + 4], ob[SHOWN_NAME + 4];
    return syn_onnx_fail(c, st, "node %zu \"%s\" (%s): %s", index, syn_onnx_shown(n->name, nb),
                         syn_onnx_shown(n->op_type, ob), what);
}

static syn_status node_failf(onnx_ctx *c, size_t index, const onnx_node *n, syn_status st,
                             const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;

static syn_status node_failf(onnx_ctx *c, size_t index, const onnx_node *n, syn_status st,
                             const char *fmt, ...)
{
    char msg[sizeof c->err->message];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return node_fail(c, index, n, st, msg);
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
    layer->kind = SYN_LAYER_DENSE;
    layer->node = index;
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
    if (!layer || layer->kind != SYN_LAYER_DENSE || layer->bias || layer->has_activation)
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

/* Whether constant t broadcasts against sample shape d (ONNX's
 * multidirectional broadcasting, numpy's rule) without enlarging it: its
 * dims right-aligned with d's are 1 or equal, and a dim on the batch axis
 * is 1. A dim of d the file left symbolic is learnt from t. With d's rank
 * unknown, t must be a vector over the last axis. */
static syn_status scaling_broadcasts(onnx_ctx *c, size_t index, const onnx_node *n,
                                     const onnx_tensor *t, onnx_dims *d)
{
    if (!d->rank_known) {
        for (size_t k = 0; k + 1 < t->n_dims; k++)
            if (t->dims[k] != 1)
                return node_fail(c, index, n, SYN_ERR_UNSUPPORTED,
                                 "a constant of more than one axis needs the graph input's "
                                 "shape declared");
        return SYN_OK;
    }
    if (t->n_dims > d->rank + 1 || (t->n_dims == d->rank + 1 && t->dims[0] != 1))
        return node_failf(c, index, n, SYN_ERR_SHAPE, "its constant of %zu dims would change "
                          "the batch axis of a sample of rank %zu", t->n_dims, d->rank);
    for (size_t k = 0; k < t->n_dims && k < d->rank; k++) {
        int64_t tk = t->dims[t->n_dims - 1 - k];
        int64_t *dk = &d->d[d->rank - 1 - k];
        if (tk == 1 || tk == *dk)
            continue;
        if (*dk != DIM_UNKNOWN)
            return node_failf(c, index, n, SYN_ERR_SHAPE, "its constant's dim %lld does not "
                              "broadcast against the sample's dim %lld", (long long)tk,
                              (long long)*dk);
        *dk = tk;
    }
    return SYN_OK;
}

/* Input scaling before the first layer, the forms synapse's export and
 * torchvision-style normalization write: Sub(x, offset), then Mul(x,
 * scale) or Div(x, divisor); each may be alone. Becomes synapse's
 * (x - offset) * scale (a divisor's reciprocal: onnx_build.c). */
static syn_status add_scaling(onnx_ctx *c, size_t index, const onnx_node *n, int is_sub,
                              int is_div, onnx_span other, walk *w)
{
    onnx_scaling *sc = &c->scaling;
    if (c->n_layers > 0)
        return node_fail(c, index, n, SYN_ERR_UNSUPPORTED,
                         "Sub, Mul and Div are supported only as input scaling before the first "
                         "layer");
    if ((is_sub && (sc->offset || sc->scale)) || (!is_sub && sc->scale))
        return node_fail(c, index, n, SYN_ERR_UNSUPPORTED,
                         "input scaling must be at most one Sub followed by one Mul or Div");
    const onnx_tensor *t;
    syn_status st = operand(c, index, n, other, &t);
    if (st != SYN_OK)
        return st;
    size_t count;
    if ((st = syn_onnx_tensor_count(c, t, &count)) != SYN_OK)
        return st;
    if (count != 1 && (st = scaling_broadcasts(c, index, n, t, &w->dims)) != SYN_OK)
        return st;
    if (is_sub) {
        sc->offset = t;
        sc->offset_dims = w->dims;
    } else {
        sc->scale = t;
        sc->scale_dims = w->dims;
        sc->divides = is_div;
        sc->scale_node = index;
    }
    return SYN_OK;
}

/* A Flatten or Reshape before the first layer reorders nothing (both are
 * row-major), but a per-feature scaling constant recorded against a
 * sample shape that is not fully known could not be laid out over the
 * flattened features. */
static syn_status check_relayout(onnx_ctx *c, size_t index, const onnx_node *n, const walk *w)
{
    if (c->n_layers > 0 || (w->dims.rank_known && w->dims.rank == 1))
        return SYN_OK;
    const onnx_scaling *sc = &c->scaling;
    const onnx_tensor *t[2] = {sc->offset, sc->scale};
    const onnx_dims *d[2] = {&sc->offset_dims, &sc->scale_dims};
    for (int k = 0; k < 2; k++) {
        size_t count = 0;
        if (!t[k] || onnx_dims_size(d[k]) != 0)
            continue;
        syn_status st = syn_onnx_tensor_count(c, t[k], &count);
        if (st != SYN_OK)
            return st;
        if (count != 1)
            return node_fail(c, index, n, SYN_ERR_UNSUPPORTED,
                             "input scaling by per-feature constants before it needs the graph "
                             "input's shape declared");
    }
    return SYN_OK;
}

/* ------------------------------------------------------------------------ */
/* Shapes: Flatten, Reshape and the computations of Reshape's shape          */
/* ------------------------------------------------------------------------ */

static const chain_value *find_chain_value(const walk *w, onnx_span name)
{
    for (size_t i = w->n_values; i-- > 0;)
        if (onnx_span_eq(w->values[i].name, name))
            return &w->values[i];
    return NULL;
}

/* A shape operand: the output of an earlier shape node, or an INT64
 * initializer or Constant. */
static syn_status shape_operand(onnx_ctx *c, size_t index, const onnx_node *n, const walk *w,
                                onnx_span name, shape_value *out)
{
    for (size_t i = w->n_shapes; i-- > 0;)
        if (onnx_span_eq(w->shapes[i].name, name)) {
            *out = w->shapes[i];
            return SYN_OK;
        }
    const onnx_tensor *t = syn_onnx_find_tensor(c, name);
    if (!t) {
        char nb[SHOWN_NAME + 4];
        return node_failf(c, index, n, SYN_ERR_UNSUPPORTED, "input \"%s\" is not a shape "
                          "(from Shape, Gather, Unsqueeze, Concat or an INT64 constant)",
                          syn_onnx_shown(name, nb));
    }
    memset(out, 0, sizeof *out);
    syn_status st = syn_onnx_tensor_ints(c, t, out->v, &out->n);
    out->scalar = t->n_dims == 0;
    for (size_t k = 0; st == SYN_OK && k < out->n; k++)
        if (out->v[k] == SV_BATCH || out->v[k] == SV_UNKNOWN)
            st = node_fail(c, index, n, SYN_ERR_CORRUPT, "a shape constant out of range");
    return st;
}

/* An axis attribute in [-rank, rank), normalized; -1 when out of range. */
static int64_t norm_axis(int64_t axis, size_t rank)
{
    if (axis < 0)
        axis += (int64_t)rank;
    return axis >= 0 && axis < (int64_t)rank ? axis : -1;
}

/* Shape, Gather, Unsqueeze and Concat: PyTorch's x.view(x.size(0), -1)
 * exports as Shape(x) -> Gather(0) -> Unsqueeze -> Concat([.., -1]) ->
 * Reshape. They are evaluated here on shapes whose batch entry stays
 * symbolic; anything else a shape computation needs is refused. */
static syn_status shape_node(onnx_ctx *c, size_t index, const onnx_node *n, walk *w)
{
    if (n->n_outputs != 1 || n->outputs[0].size == 0 || n->n_inputs == 0 ||
        n->n_inputs > NODE_MAX_IO)
        return node_fail(c, index, n, SYN_ERR_UNSUPPORTED,
                         "unexpected number of inputs or outputs");
    shape_value out, in;
    memset(&out, 0, sizeof out);
    out.name = n->outputs[0];
    syn_status st = SYN_OK;
    if (onnx_span_is(n->op_type, "Shape")) {
        const chain_value *v = find_chain_value(w, n->inputs[0]);
        char nb[SHOWN_NAME + 4];
        if (!v)
            return node_failf(c, index, n, SYN_ERR_UNSUPPORTED, "the shape of \"%s\", which "
                              "is not a value of the chain", syn_onnx_shown(n->inputs[0], nb));
        if (!v->dims.rank_known)
            return node_fail(c, index, n, SYN_ERR_UNSUPPORTED,
                             "the shape of a value of unknown rank (declare the graph input's "
                             "shape)");
        /* Opset 15 adds start and end: a slice of the full shape. */
        size_t rank = v->dims.rank + 1;
        onnx_attr_value start, end;
        if ((st = syn_onnx_node_attr(c, n, "start", &start)) != SYN_OK ||
            (st = syn_onnx_node_attr(c, n, "end", &end)) != SYN_OK)
            return st;
        int64_t lo = start.found ? start.i : 0, hi = end.found ? end.i : (int64_t)rank;
        lo = lo < 0 ? lo + (int64_t)rank : lo;
        hi = hi < 0 ? hi + (int64_t)rank : hi;
        lo = lo < 0 ? 0 : lo > (int64_t)rank ? (int64_t)rank : lo;
        hi = hi < lo ? lo : hi > (int64_t)rank ? (int64_t)rank : hi;
        for (int64_t k = lo; k < hi; k++) {
            int64_t dim = k == 0 ? SV_BATCH : v->dims.d[k - 1];
            out.v[out.n++] = dim == DIM_UNKNOWN ? SV_UNKNOWN : dim;
        }
    } else if (onnx_span_is(n->op_type, "Gather")) {
        shape_value idx;
        onnx_attr_value axis;
        if (n->n_inputs != 2)
            return node_fail(c, index, n, SYN_ERR_UNSUPPORTED, "Gather takes two inputs");
        if ((st = shape_operand(c, index, n, w, n->inputs[0], &in)) != SYN_OK ||
            (st = shape_operand(c, index, n, w, n->inputs[1], &idx)) != SYN_OK ||
            (st = syn_onnx_node_attr(c, n, "axis", &axis)) != SYN_OK)
            return st;
        if (in.scalar || (axis.found && norm_axis(axis.i, 1) != 0))
            return node_fail(c, index, n, SYN_ERR_UNSUPPORTED,
                             "Gather is supported on a shape vector along axis 0");
        for (size_t k = 0; k < idx.n; k++) {
            int64_t at = idx.v[k] < 0 ? idx.v[k] + (int64_t)in.n : idx.v[k];
            if (at < 0 || at >= (int64_t)in.n)
                return node_failf(c, index, n, SYN_ERR_CORRUPT, "index %lld out of a shape of "
                                  "%zu", (long long)idx.v[k], in.n);
            out.v[out.n++] = in.v[at];
        }
        out.scalar = idx.scalar;
    } else if (onnx_span_is(n->op_type, "Unsqueeze")) {
        /* axes: an attribute before opset 13, the second input from it */
        onnx_attr_value axes;
        shape_value ax;
        memset(&ax, 0, sizeof ax);
        if ((st = shape_operand(c, index, n, w, n->inputs[0], &in)) != SYN_OK)
            return st;
        if (n->n_inputs == 2) {
            if ((st = shape_operand(c, index, n, w, n->inputs[1], &ax)) != SYN_OK)
                return st;
        } else {
            if ((st = syn_onnx_node_attr(c, n, "axes", &axes)) != SYN_OK)
                return st;
            ax.n = axes.n_ints <= MAX_DIMS ? axes.n_ints : 0;
            memcpy(ax.v, axes.ints, sizeof ax.v);
        }
        if (!in.scalar || ax.n != 1 || norm_axis(ax.v[0], 1) != 0)
            return node_fail(c, index, n, SYN_ERR_UNSUPPORTED,
                             "Unsqueeze is supported from a scalar to a vector (axes = [0])");
        out.v[out.n++] = in.v[0];
    } else { /* Concat */
        onnx_attr_value axis;
        if ((st = syn_onnx_node_attr(c, n, "axis", &axis)) != SYN_OK)
            return st;
        if (axis.found && norm_axis(axis.i, 1) != 0)
            return node_fail(c, index, n, SYN_ERR_UNSUPPORTED,
                             "Concat of shapes is supported along axis 0");
        for (size_t i = 0; i < n->n_inputs; i++) {
            if ((st = shape_operand(c, index, n, w, n->inputs[i], &in)) != SYN_OK)
                return st;
            if (in.scalar || out.n + in.n > MAX_DIMS)
                return node_failf(c, index, n, SYN_ERR_UNSUPPORTED, "Concat of shapes is "
                                  "supported for vectors of at most %d entries in all",
                                  MAX_DIMS);
            memcpy(out.v + out.n, in.v, in.n * sizeof *in.v);
            out.n += in.n;
        }
    }
    w->shapes[w->n_shapes++] = out;
    return SYN_OK;
}

/* Reshape(x, shape) that keeps the batch as the first axis: shape is
 * [0 or -1 or x.size(0), dims...] (0 copies the input's dim, -1 is
 * inferred: ONNX's Reshape). The sample may be regrouped (a Flatten
 * expressed as view(-1, n)), never merged with the batch. */
static syn_status reshape_node(onnx_ctx *c, size_t index, const onnx_node *n, walk *w)
{
    if (n->n_inputs != 2)
        return node_fail(c, index, n, SYN_ERR_UNSUPPORTED,
                         "Reshape takes its shape as a second input (opset 5 and later)");
    shape_value sv;
    onnx_attr_value allowzero;
    syn_status st = shape_operand(c, index, n, w, n->inputs[1], &sv);
    if (st == SYN_OK)
        st = syn_onnx_node_attr(c, n, "allowzero", &allowzero);
    if (st != SYN_OK)
        return st;
    if (sv.scalar || sv.n < 2)
        return node_fail(c, index, n, SYN_ERR_UNSUPPORTED,
                         "Reshape to fewer than two axes would merge the batch into the features");
    const onnx_dims *d = &w->dims;
    int64_t out[MAX_DIMS];
    size_t infer = SIZE_MAX;
    for (size_t k = 0; k < sv.n; k++) {
        int64_t e = sv.v[k];
        if (e == 0 && allowzero.found && allowzero.i != 0)
            return node_fail(c, index, n, SYN_ERR_UNSUPPORTED,
                             "a dim of size 0 (allowzero = 1) is not supported");
        if (e == 0 && k > 0 && d->rank_known && k - 1 >= d->rank)
            return node_failf(c, index, n, SYN_ERR_CORRUPT, "shape entry %zu copies a dim the "
                              "input (of rank %zu) does not have", k, d->rank + 1);
        if (e == 0)
            e = k == 0 ? SV_BATCH : d->rank_known ? d->d[k - 1] : DIM_UNKNOWN;
        if (e == SV_UNKNOWN)
            e = DIM_UNKNOWN;
        else if (e == -1) {
            if (infer != SIZE_MAX)
                return node_fail(c, index, n, SYN_ERR_CORRUPT, "more than one -1 in the shape");
            infer = k;
            e = DIM_UNKNOWN;
        } else if (e < 0 && e != SV_BATCH) {
            return node_failf(c, index, n, SYN_ERR_CORRUPT, "shape entry %lld", (long long)e);
        }
        if (k > 0 && e == SV_BATCH)
            return node_fail(c, index, n, SYN_ERR_UNSUPPORTED,
                             "the batch size must stay the first axis");
        out[k] = e;
    }
    /* The first axis must stay the batch: 0, x.size(0), the input's own
     * fixed batch size, or -1 with the sample's size given by the rest. */
    size_t old_size = onnx_dims_size(d), new_size = 1;
    int rest_known = 1;
    for (size_t k = 1; k < sv.n; k++)
        if (k != infer && (out[k] < 0 || !syn_mul_size(new_size, (size_t)out[k], &new_size)))
            rest_known = 0;
    if (infer == 0) {
        if (!rest_known)
            return node_fail(c, index, n, SYN_ERR_UNSUPPORTED,
                             "with -1 for the batch, the other dims must be known");
        if (old_size != 0 && old_size != new_size)
            return node_failf(c, index, n, SYN_ERR_SHAPE, "Reshape to samples of %zu "
                              "features would change the batch (a sample has %zu)", new_size,
                              old_size);
    } else if (out[0] != SV_BATCH && !(w->batch > 0 && out[0] == w->batch)) {
        return node_fail(c, index, n, SYN_ERR_UNSUPPORTED,
                         "the first axis must stay the batch (0, -1 or x.size(0))");
    } else if (infer != SIZE_MAX) {
        if (old_size != 0 && rest_known) {
            if (new_size == 0 || old_size % new_size != 0)
                return node_failf(c, index, n, SYN_ERR_SHAPE, "a sample of %zu features does "
                                  "not regroup with dims of product %zu", old_size, new_size);
            out[infer] = (int64_t)(old_size / new_size);
        }
    } else if (old_size != 0 && rest_known && old_size != new_size) {
        return node_failf(c, index, n, SYN_ERR_SHAPE, "Reshape to samples of %zu features, "
                          "the input's have %zu", new_size, old_size);
    }
    onnx_dims nd;
    memset(&nd, 0, sizeof nd);
    nd.rank_known = 1;
    nd.rank = sv.n - 1;
    for (size_t k = 1; k < sv.n; k++)
        nd.d[k - 1] = out[k] >= 0 && out[k] <= INT32_MAX ? out[k] : DIM_UNKNOWN;
    w->dims = nd;
    return SYN_OK;
}

static syn_status set_activation(onnx_ctx *c, size_t index, const onnx_node *n, syn_activation act,
                                 walk *w)
{
    found_layer *layer = open_layer(c);
    if (!layer || layer->has_activation)
        return node_fail(c, index, n, SYN_ERR_UNSUPPORTED,
                         "an activation must follow a layer (Gemm, MatMul, BatchNormalization, "
                         "LayerNormalization)");
    if (layer->kind == SYN_LAYER_DROPOUT)
        return node_fail(c, index, n, SYN_ERR_UNSUPPORTED,
                         "an activation right after Dropout (synapse's dropout layer is linear; "
                         "put the activation before it)");
    syn_status st;
    layer->slope = 0.0f;
    if (act == SYN_ACT_LEAKY_RELU) {
        onnx_attr_value alpha;
        if ((st = syn_onnx_node_attr(c, n, "alpha", &alpha)) != SYN_OK)
            return st;
        float slope = alpha.found ? alpha.f : 0.01f; /* ONNX's default alpha */
        if (!isfinite(slope) || slope < 0.0f)
            return node_fail(c, index, n, SYN_ERR_UNSUPPORTED, "alpha must be >= 0");
        /* synapse reads a slope of 0 as "the default"; 0 is plain Relu. */
        if (slope == 0.0f)
            act = SYN_ACT_RELU;
        layer->slope = slope;
    } else if (act == SYN_ACT_ELU) {
        onnx_attr_value alpha;
        if ((st = syn_onnx_node_attr(c, n, "alpha", &alpha)) != SYN_OK)
            return st;
        float a = alpha.found ? alpha.f : 1.0f; /* ONNX's and PyTorch's default */
        if (!isfinite(a) || a <= 0.0f)
            return node_fail(c, index, n, SYN_ERR_UNSUPPORTED, "alpha must be > 0");
        layer->slope = a;
    } else if (act == SYN_ACT_SOFTPLUS) {
        layer->slope = 1.0f; /* ONNX's Softplus: beta 1 */
    } else if (act == SYN_ACT_SOFTMAX) {
        onnx_attr_value axis;
        if (w->dims.rank_known && w->dims.rank != 1)
            return node_fail(c, index, n, SYN_ERR_UNSUPPORTED, "Softmax over one axis of a "
                             "map (synapse's is over a sample's units: Flatten first)");
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
    w->pre_act = n->inputs[0];
    return SYN_OK;
}

static int op_activation(onnx_span op, syn_activation *act)
{
    /* The activation table's single-operator forms (layers/activation.c). */
    for (int a = 0; a < SYN_ACT_COUNT_; a++) {
        const syn_act_info *info = syn_act_info_of((syn_activation)a);
        if (info->onnx_op && onnx_span_is(op, info->onnx_op)) {
            *act = (syn_activation)a;
            return 1;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Layers of other kinds: Dropout, BatchNormalization, LayerNormalization    */
/* ------------------------------------------------------------------------ */

/* A layer whose width is its input's: that width from the sample shape,
 * else the open layer, else `fallback` (a norm's gamma; 0: unknown). */
static syn_status same_width_layer(onnx_ctx *c, size_t index, const onnx_node *n, walk *w,
                                   syn_layer_kind kind, size_t fallback, found_layer **out)
{
    size_t width = 0;
    found_layer *prev = open_layer(c);
    if (w->dims.rank_known && w->dims.rank != 1)
        return node_failf(c, index, n, SYN_ERR_UNSUPPORTED, "its input has samples of %zu "
                          "axes; it is supported on [batch, features]", w->dims.rank);
    if (w->dims.rank_known && w->dims.d[0] >= 0)
        width = (size_t)w->dims.d[0];
    else if (prev)
        width = prev->units;
    else
        width = fallback;
    if (width == 0)
        return node_fail(c, index, n, SYN_ERR_UNSUPPORTED,
                         "the width of its input is unknown (declare the graph input's shape)");
    if (fallback != 0 && fallback != width)
        return node_failf(c, index, n, SYN_ERR_SHAPE, "its parameters have %zu elements for "
                          "%zu features", fallback, width);
    found_layer *layer = &c->layers[c->n_layers++];
    memset(layer, 0, sizeof *layer);
    layer->kind = kind;
    layer->node = index;
    layer->n_in = layer->units = width;
    layer->activation = SYN_ACT_LINEAR;
    flat_dims(&w->dims, width);
    *out = layer;
    return SYN_OK;
}

/* A per-feature constant operand of a norm: its element count. */
static syn_status norm_operand(onnx_ctx *c, size_t index, const onnx_node *n, onnx_span name,
                               const onnx_tensor **t, size_t *count)
{
    syn_status st = operand(c, index, n, name, t);
    if (st == SYN_OK)
        st = syn_onnx_tensor_count(c, *t, count);
    return st;
}

/* An epsilon attribute (absent: ONNX's and PyTorch's 1e-5). synapse reads
 * an eps of 0 as the default, so 0 cannot be kept and is refused. */
static syn_status norm_eps(onnx_ctx *c, size_t index, const onnx_node *n, float *eps)
{
    onnx_attr_value a;
    syn_status st = syn_onnx_node_attr(c, n, "epsilon", &a);
    if (st != SYN_OK)
        return st;
    *eps = a.found ? a.f : 1e-5f;
    if (!(*eps > 0.0f) || !isfinite(*eps))
        return node_failf(c, index, n, SYN_ERR_UNSUPPORTED, "epsilon %g (must be > 0)",
                          (double)*eps);
    return SYN_OK;
}

/* Dropout (identity at inference): a dropout layer keeping its ratio, from
 * the attribute (before opset 12) or a constant second input; a third input
 * training_mode must be a constant false. */
static syn_status dropout_node(onnx_ctx *c, size_t index, const onnx_node *n, walk *w)
{
    onnx_attr_value ratio_attr;
    syn_status st = syn_onnx_node_attr(c, n, "ratio", &ratio_attr);
    if (st != SYN_OK)
        return st;
    float ratio = ratio_attr.found ? ratio_attr.f : 0.5f; /* ONNX's default */
    const onnx_tensor *t;
    size_t count;
    if (n->n_inputs >= 2 && n->inputs[1].size > 0) {
        if ((st = norm_operand(c, index, n, n->inputs[1], &t, &count)) != SYN_OK ||
            (count == 1 && (st = syn_onnx_tensor_floats(c, t, 1, &ratio)) != SYN_OK))
            return st;
        if (count != 1)
            return node_fail(c, index, n, SYN_ERR_CORRUPT, "ratio must be a scalar");
    }
    if (n->n_inputs >= 3 && n->inputs[2].size > 0) {
        const onnx_tensor *mode = syn_onnx_find_tensor(c, n->inputs[2]);
        if (!mode || mode->n_dims != 0 || mode->data_type != ONNX_DTYPE_BOOL ||
            !mode->has_raw || mode->raw.size != 1 || mode->raw.data[0] != 0)
            return node_fail(c, index, n, SYN_ERR_UNSUPPORTED,
                             "training_mode must be a constant false (an inference graph)");
    }
    if (!(ratio >= 0.0f && ratio < 1.0f))
        return node_failf(c, index, n, SYN_ERR_UNSUPPORTED, "ratio %g (must be in [0, 1))",
                          (double)ratio);
    found_layer *layer;
    if ((st = same_width_layer(c, index, n, w, SYN_LAYER_DROPOUT, 0, &layer)) != SYN_OK)
        return st;
    layer->rate = ratio;
    return SYN_OK;
}

/* BatchNormalization at inference (PyTorch's BatchNorm1d in eval mode):
 * X, scale (gamma), B (beta), input_mean, input_var. ONNX's momentum is
 * PyTorch's 1 - momentum (both only matter to further training). */
static syn_status batchnorm_node(onnx_ctx *c, size_t index, const onnx_node *n, walk *w)
{
    if (n->n_inputs != 5)
        return node_fail(c, index, n, SYN_ERR_UNSUPPORTED,
                         "BatchNormalization takes X, scale, B, mean and var");
    onnx_attr_value mode, spatial, momentum;
    syn_status st;
    if ((st = syn_onnx_node_attr(c, n, "training_mode", &mode)) != SYN_OK ||
        (st = syn_onnx_node_attr(c, n, "spatial", &spatial)) != SYN_OK ||
        (st = syn_onnx_node_attr(c, n, "momentum", &momentum)) != SYN_OK)
        return st;
    if ((mode.found && mode.i != 0) || (spatial.found && spatial.i != 1))
        return node_fail(c, index, n, SYN_ERR_UNSUPPORTED,
                         "only inference mode (training_mode 0, spatial 1) is supported");
    float m = momentum.found ? 1.0f - momentum.f : 0.1f;
    if (!(m > 0.0f && m <= 1.0f))
        return node_failf(c, index, n, SYN_ERR_UNSUPPORTED, "momentum %g (PyTorch's 1 - %g "
                          "must be in (0, 1])", momentum.f, momentum.f);
    const onnx_tensor *t[4];
    size_t count[4];
    for (int k = 0; k < 4; k++)
        if ((st = norm_operand(c, index, n, n->inputs[k + 1], &t[k], &count[k])) != SYN_OK)
            return st;
    for (int k = 1; k < 4; k++)
        if (count[k] != count[0])
            return node_fail(c, index, n, SYN_ERR_SHAPE,
                             "scale, B, mean and var differ in size");
    float eps;
    found_layer *layer;
    if ((st = norm_eps(c, index, n, &eps)) != SYN_OK)
        return st;
    if (w->dims.rank_known && w->dims.rank == 3) {
        /* BatchNorm2d: per channel of [batch, C, H, W]. */
        size_t in[3];
        if ((st = image_input(c, index, n, w, in)) != SYN_OK)
            return st;
        if (count[0] != in[0])
            return node_failf(c, index, n, SYN_ERR_SHAPE, "its parameters have %zu elements "
                              "for %zu channels", count[0], in[0]);
        layer = image_layer(c, w, index, SYN_LAYER_BATCHNORM2D, in, in);
        if (!layer)
            return SYN_ERR_UNSUPPORTED;
        layer->channels = in[0];
    } else if ((st = same_width_layer(c, index, n, w, SYN_LAYER_BATCHNORM, count[0],
                                      &layer)) != SYN_OK) {
        return st;
    }
    layer->weight = t[0];
    layer->bias = t[1];
    layer->mean = t[2];
    layer->var = t[3];
    layer->eps = eps;
    layer->momentum = m;
    return SYN_OK;
}

/* LayerNormalization (opset 17) over the last axis: X, Scale, B. */
static syn_status layernorm_node(onnx_ctx *c, size_t index, const onnx_node *n, walk *w)
{
    if (n->n_inputs < 2 || n->n_inputs > 3)
        return node_fail(c, index, n, SYN_ERR_UNSUPPORTED,
                         "LayerNormalization takes X, Scale and an optional B");
    onnx_attr_value axis;
    syn_status st = syn_onnx_node_attr(c, n, "axis", &axis);
    if (st != SYN_OK)
        return st;
    if (axis.found && axis.i != -1 && axis.i != 1)
        return node_fail(c, index, n, SYN_ERR_UNSUPPORTED,
                         "only a LayerNormalization over the last axis is supported");
    const onnx_tensor *gamma, *beta = NULL;
    size_t count, beta_count;
    if ((st = norm_operand(c, index, n, n->inputs[1], &gamma, &count)) != SYN_OK)
        return st;
    if (n->n_inputs == 3 && n->inputs[2].size > 0) {
        if ((st = norm_operand(c, index, n, n->inputs[2], &beta, &beta_count)) != SYN_OK)
            return st;
        if (beta_count != count)
            return node_fail(c, index, n, SYN_ERR_SHAPE, "Scale and B differ in size");
    }
    float eps;
    found_layer *layer;
    if ((st = norm_eps(c, index, n, &eps)) != SYN_OK ||
        (st = same_width_layer(c, index, n, w, SYN_LAYER_LAYERNORM, count, &layer)) != SYN_OK)
        return st;
    layer->weight = gamma;
    layer->bias = beta;
    layer->eps = eps;
    return SYN_OK;
}

/* A ReduceMean over the last axis with keepdims (the attribute, or the
 * second input from opset 18). */
static syn_status mean_over_last(onnx_ctx *c, size_t index, const onnx_node *n, const walk *w)
{
    onnx_attr_value axes, keep;
    shape_value ax;
    syn_status st;
    memset(&ax, 0, sizeof ax);
    if ((st = syn_onnx_node_attr(c, n, "axes", &axes)) != SYN_OK ||
        (st = syn_onnx_node_attr(c, n, "keepdims", &keep)) != SYN_OK)
        return st;
    if (n->n_inputs == 2) {
        if ((st = shape_operand(c, index, n, w, n->inputs[1], &ax)) != SYN_OK)
            return st;
    } else {
        ax.n = axes.n_ints <= MAX_DIMS ? axes.n_ints : 0;
        memcpy(ax.v, axes.ints, sizeof ax.v);
    }
    if ((keep.found && keep.i != 1) || ax.n != 1 || (ax.v[0] != -1 && ax.v[0] != 1) ||
        (w->dims.rank_known && w->dims.rank != 1))
        return node_fail(c, index, n, SYN_ERR_UNSUPPORTED,
                         "ReduceMean is supported as part of a LayerNorm over the features "
                         "(axes = [-1], keepdims = 1)");
    return SYN_OK;
}

/* The float value of a one-element constant operand. */
static syn_status scalar_operand(onnx_ctx *c, size_t index, const onnx_node *n, onnx_span name,
                                 float *v)
{
    const onnx_tensor *t;
    size_t count;
    syn_status st = norm_operand(c, index, n, name, &t, &count);
    if (st == SYN_OK && count != 1)
        st = node_fail(c, index, n, SYN_ERR_UNSUPPORTED, "expected a one-element constant");
    return st == SYN_OK ? syn_onnx_tensor_floats(c, t, 1, v) : st;
}

/* One step of a LayerNorm in primitives, as torch.onnx.export writes
 * nn.LayerNorm before opset 17 (PyTorch's definition, biased variance):
 *   m = ReduceMean(x), d = Sub(x, m), q = Pow(d, 2), v = ReduceMean(q),
 *   e = Add(v, eps), s = Sqrt(e), y = Div(d, s)  [, Mul(y, gamma), Add(., beta)]
 * The chain stays at x until the Div; any other node breaks off. */
static syn_status ln_step(onnx_ctx *c, size_t index, const onnx_node *n, walk *w)
{
    static const char *const expect[] = {"", "Sub", "Pow", "ReduceMean", "Add", "Sqrt", "Div"};
    onnx_span in0 = n->inputs[0], in1 = n->n_inputs > 1 ? n->inputs[1] : in0;
    onnx_span out = n->outputs[0];
    syn_status st = SYN_OK;
    float v = 0.0f;
    int ok = n->n_outputs == 1 && out.size > 0;
    switch (w->ln_stage) {
    case 1:
        ok = ok && onnx_span_is(n->op_type, "Sub") && n->n_inputs == 2 &&
             onnx_span_eq(in0, w->ln_x) && onnx_span_eq(in1, w->ln_mean);
        w->ln_diff = out;
        break;
    case 2: /* Pow(d, 2), or Mul(d, d) as other exporters write it */
        ok = ok && n->n_inputs == 2 && onnx_span_eq(in0, w->ln_diff);
        if (ok && onnx_span_is(n->op_type, "Pow"))
            ok = (st = scalar_operand(c, index, n, in1, &v)) == SYN_OK && v == 2.0f;
        else
            ok = ok && onnx_span_is(n->op_type, "Mul") && onnx_span_eq(in1, w->ln_diff);
        w->ln_sq = out;
        break;
    case 3:
        ok = ok && onnx_span_is(n->op_type, "ReduceMean") && onnx_span_eq(in0, w->ln_sq);
        if (ok && (st = mean_over_last(c, index, n, w)) != SYN_OK)
            return st;
        w->ln_var = out;
        break;
    case 4: {
        int first = onnx_span_eq(in0, w->ln_var);
        ok = ok && onnx_span_is(n->op_type, "Add") && n->n_inputs == 2 &&
             (first || onnx_span_eq(in1, w->ln_var));
        if (ok && (st = scalar_operand(c, index, n, first ? in1 : in0, &w->ln_eps)) != SYN_OK)
            return st;
        w->ln_vare = out;
        break;
    }
    case 5:
        ok = ok && onnx_span_is(n->op_type, "Sqrt") && onnx_span_eq(in0, w->ln_vare);
        w->ln_std = out;
        break;
    case 6:
        ok = ok && onnx_span_is(n->op_type, "Div") && n->n_inputs == 2 &&
             onnx_span_eq(in0, w->ln_diff) && onnx_span_eq(in1, w->ln_std);
        break;
    default: ok = 0; break;
    }
    if (st != SYN_OK)
        return st;
    if (!ok)
        return node_failf(c, index, n, SYN_ERR_UNSUPPORTED, "a LayerNorm written out in "
                          "operators (ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div) expects "
                          "%s of the values before here", expect[w->ln_stage]);
    if (w->ln_stage++ < 6)
        return SYN_OK;
    w->ln_stage = 0;
    if (!(w->ln_eps > 0.0f) || !isfinite(w->ln_eps))
        return node_failf(c, index, n, SYN_ERR_UNSUPPORTED, "epsilon %g (must be > 0)",
                          (double)w->ln_eps);
    found_layer *layer;
    if ((st = same_width_layer(c, index, n, w, SYN_LAYER_LAYERNORM, 0, &layer)) != SYN_OK)
        return st;
    layer->eps = w->ln_eps;
    w->ln_affine = 1;
    w->current = out;
    w->values[w->n_values].name = out;
    w->values[w->n_values++].dims = w->dims;
    return SYN_OK;
}

/* Mul then Add of constants right after a LayerNorm in operators: its
 * gamma and beta (elementwise_affine). */
static syn_status ln_affine(onnx_ctx *c, size_t index, const onnx_node *n, int is_mul,
                            onnx_span other, walk *w)
{
    found_layer *layer = open_layer(c);
    const onnx_tensor *t;
    size_t count;
    syn_status st = norm_operand(c, index, n, other, &t, &count);
    if (st != SYN_OK)
        return st;
    if (count != layer->units)
        return node_failf(c, index, n, SYN_ERR_SHAPE, "a LayerNorm's %s of %zu elements for "
                          "%zu features", is_mul ? "weight" : "bias", count, layer->units);
    if (is_mul)
        layer->weight = t;
    else
        layer->bias = t;
    w->ln_affine = is_mul ? 2 : 0;
    return SYN_OK;
}

/* ------------------------------------------------------------------------ */
/* Activations written out in operators                                      */
/* ------------------------------------------------------------------------ */

/* Operands of a form's step: the value the form starts from, an earlier
 * step's output, a constant of a known value, the form's parameter (a
 * constant, the same wherever it appears), or none (a unary step). */
enum { OP_X = -1, OP_C = -2, OP_P = -3, OP_NONE = -4 };

typedef struct form_step {
    const char *op;
    int a, b;       /* OP_* or the index of an earlier step */
    float value;    /* of an OP_C operand */
} form_step;

typedef struct act_form {
    syn_activation act;
    size_t n_steps;
    form_step steps[9];
} act_form;

/* torch.onnx.export's forms, node for node (onnx_export.c writes the same;
 * PyTorch's definitions: torch.nn.GELU, approximate 'none' and 'tanh';
 * torch.nn.Softplus with beta != 1, threshold left to Softplus). Mul and
 * Add match either operand order. */
static const act_form act_forms[] = {
    {SYN_ACT_GELU, 5,
     {{"Div", OP_X, OP_C, 1.41421356f}, {"Erf", 0, OP_NONE, 0}, {"Add", 1, OP_C, 1.0f},
      {"Mul", OP_X, 2, 0}, {"Mul", 3, OP_C, 0.5f}}},
    {SYN_ACT_GELU_TANH, 9,
     {{"Mul", OP_X, OP_X, 0}, {"Mul", OP_X, 0, 0}, {"Mul", 1, OP_C, 0.044715f},
      {"Add", OP_X, 2, 0}, {"Mul", 3, OP_C, 0.797884583f}, {"Tanh", 4, OP_NONE, 0},
      {"Add", 5, OP_C, 1.0f}, {"Mul", OP_X, 6, 0}, {"Mul", 7, OP_C, 0.5f}}},
    {SYN_ACT_SOFTPLUS, 3,
     {{"Mul", OP_X, OP_P, 0}, {"Softplus", 0, OP_NONE, 0}, {"Div", 1, OP_P, 0}}},
};

/* Whether operand code `code` is input `name` of node n at step k. */
static int form_operand(onnx_ctx *c, const walk *w, int code, float value, onnx_span name,
                        float *param, int *have_param)
{
    if (code >= 0)
        return onnx_span_eq(name, w->form_out[code]);
    if (code == OP_X)
        return onnx_span_eq(name, w->form_x);
    const onnx_tensor *t = syn_onnx_find_tensor(c, name);
    size_t count;
    float v;
    if (!t || t->data_type != ONNX_DTYPE_FLOAT || t->external || t->segmented ||
        syn_onnx_tensor_count(c, t, &count) != SYN_OK || count != 1 ||
        syn_onnx_tensor_floats(c, t, 1, &v) != SYN_OK)
        return 0;
    if (code == OP_C)
        return fabsf(v - value) <= 1e-6f * fabsf(value);
    if (*have_param)
        return v == *param;
    *param = v;
    *have_param = 1;
    return 1;
}

/* Does node n match step k of form f (either operand order for Mul and
 * Add)? Records the parameter it meets. */
static int form_matches(onnx_ctx *c, walk *w, const act_form *f, size_t k, const onnx_node *n)
{
    const form_step *s = &f->steps[k];
    int unary = s->b == OP_NONE;
    if (!onnx_span_is(n->op_type, s->op) || n->n_outputs != 1 ||
        n->n_inputs != (unary ? 1u : 2u))
        return 0;
    int commutes = !strcmp(s->op, "Mul") || !strcmp(s->op, "Add");
    for (int order = 0; order < (commutes && !unary ? 2 : 1); order++) {
        float param = w->form_param;
        int have = w->form_have_param;
        onnx_span first = n->inputs[order], second = unary ? first : n->inputs[!order];
        if (form_operand(c, w, s->a, s->value, first, &param, &have) &&
            (unary || form_operand(c, w, s->b, s->value, second, &param, &have))) {
            w->form_param = param;
            w->form_have_param = have;
            return 1;
        }
    }
    return 0;
}

/* A node that may start or continue an activation form on the open layer.
 * Returns 1 when it took the node (st set), 0 when the node is none of
 * this. */
static int act_form_node(onnx_ctx *c, size_t index, const onnx_node *n, walk *w,
                         syn_status *st)
{
    *st = SYN_OK;
    found_layer *layer = open_layer(c);
    if (w->form < 0) {
        int on_chain = n->n_inputs > 0 && (onnx_span_eq(n->inputs[0], w->current) ||
                                           (n->n_inputs > 1 &&
                                            onnx_span_eq(n->inputs[1], w->current)));
        if (!layer || layer->has_activation || layer->kind == SYN_LAYER_DROPOUT || !on_chain)
            return 0;
        for (size_t f = 0; f < sizeof act_forms / sizeof act_forms[0]; f++) {
            w->form = (int)f;
            w->form_step = 0;
            w->form_x = w->current;
            w->form_param = 0.0f;
            w->form_have_param = 0;
            if (form_matches(c, w, &act_forms[f], 0, n)) {
                w->form_out[0] = n->outputs[0];
                w->form_step = 1;
                return 1;
            }
        }
        w->form = -1;
        return 0;
    }
    const act_form *f = &act_forms[w->form];
    if (!form_matches(c, w, f, (size_t)w->form_step, n)) {
        *st = node_failf(c, index, n, SYN_ERR_UNSUPPORTED, "%s is written out in operators "
                         "here, and step %d should be %s as torch.onnx.export writes it",
                         syn_act_info_of(f->act)->name, w->form_step + 1,
                         f->steps[w->form_step].op);
        return 1;
    }
    w->form_out[w->form_step++] = n->outputs[0];
    if ((size_t)w->form_step < f->n_steps)
        return 1;
    w->form = -1;
    float param = f->act == SYN_ACT_SOFTPLUS ? w->form_param : 0.0f;
    if (f->act == SYN_ACT_SOFTPLUS && (!(param > 0.0f) || !isfinite(param))) {
        *st = node_failf(c, index, n, SYN_ERR_UNSUPPORTED, "softplus beta %g (must be > 0)",
                         (double)param);
        return 1;
    }
    layer->activation = f->act;
    layer->slope = param;
    layer->has_activation = 1;
    w->pre_act = w->form_x;
    w->current = n->outputs[0];
    w->values[w->n_values].name = w->current;
    w->values[w->n_values++].dims = w->dims;
    return 1;
}

/* A Gemm or MatMul takes [batch, features]: its sample is one axis. */
static syn_status layer_input(onnx_ctx *c, size_t index, const onnx_node *n, const walk *w)
{
    if (w->dims.rank_known && w->dims.rank != 1)
        return node_failf(c, index, n, SYN_ERR_UNSUPPORTED, "its input has samples of %zu "
                          "axes; a layer takes [batch, features] (Flatten or Reshape first)",
                          w->dims.rank);
    return SYN_OK;
}

/* ------------------------------------------------------------------------ */
/* Image kinds: Conv, MaxPool, AveragePool, GlobalAveragePool, Pad           */
/* ------------------------------------------------------------------------ */

static int image_kind(syn_layer_kind kind)
{
    return kind == SYN_LAYER_CONV2D || kind == SYN_LAYER_MAXPOOL2D ||
           kind == SYN_LAYER_AVGPOOL2D || kind == SYN_LAYER_GLOBAL_AVGPOOL ||
           kind == SYN_LAYER_BATCHNORM2D || kind == SYN_LAYER_DROPOUT2D;
}

/* The sample shape C, H, W an image kind reads: the chain's value must be
 * [batch, C, H, W] with every dim known, and come from the graph input
 * (through the scaling) or an image kind. */
static syn_status image_input(onnx_ctx *c, size_t index, const onnx_node *n, const walk *w,
                              size_t in[3])
{
    const onnx_dims *d = &w->dims;
    if (!d->rank_known || d->rank != 3)
        return node_fail(c, index, n, SYN_ERR_UNSUPPORTED, "it takes [batch, C, H, W] "
                         "(declare the graph input's shape)");
    for (int k = 0; k < 3; k++) {
        if (d->d[k] <= 0 || d->d[k] > (int64_t)1 << 24)
            return node_fail(c, index, n, SYN_ERR_UNSUPPORTED,
                             "its input's C, H and W must be known and at most 2^24");
        in[k] = (size_t)d->d[k];
    }
    const found_layer *prev = open_layer(c);
    if (prev && !image_kind(prev->kind))
        return node_fail(c, index, n, SYN_ERR_UNSUPPORTED, "an image layer after a layer "
                         "over [batch, features] (a Reshape back into maps) is not supported");
    return SYN_OK;
}

/* A new layer of an image kind over in[3] giving out[3]; NULL (the error
 * set) when a size overflows. */
static found_layer *image_layer(onnx_ctx *c, walk *w, size_t index, syn_layer_kind kind,
                                const size_t in[3], const size_t out[3])
{
    size_t n_in, units;
    if (!syn_mul_size(in[0], in[1], &n_in) || !syn_mul_size(n_in, in[2], &n_in) ||
        !syn_mul_size(out[0], out[1], &units) || !syn_mul_size(units, out[2], &units) ||
        units > (size_t)INT32_MAX || n_in > (size_t)INT32_MAX) {
        node_fail(c, index, &c->g.nodes[index], SYN_ERR_UNSUPPORTED,
                  "its input or output has more than 2^31 floats per sample");
        return NULL;
    }
    if (c->n_layers == 0) {
        c->image = 1;
        memcpy(c->input_shape, in, sizeof c->input_shape);
    }
    found_layer *layer = &c->layers[c->n_layers++];
    memset(layer, 0, sizeof *layer);
    layer->kind = kind;
    layer->node = index;
    layer->n_in = n_in;
    layer->units = units;
    layer->activation = SYN_ACT_LINEAR;
    w->dims.rank_known = 1;
    w->dims.rank = 3;
    for (int k = 0; k < 3; k++)
        w->dims.d[k] = (int64_t)out[k];
    return layer;
}

/* An INTS attribute of exactly `want` values each in [lo, 2^24], or
 * `fill` when absent. */
static syn_status ints_attr(onnx_ctx *c, size_t index, const onnx_node *n, const char *name,
                            size_t want, int64_t lo, int64_t fill, int64_t *out)
{
    onnx_attr_value a;
    syn_status st = syn_onnx_node_attr(c, n, name, &a);
    if (st != SYN_OK)
        return st;
    for (size_t k = 0; k < want; k++)
        out[k] = fill;
    if (!a.found)
        return SYN_OK;
    if (a.n_ints != want)
        return node_failf(c, index, n, SYN_ERR_UNSUPPORTED, "%s has %zu values, a 2-D window "
                          "takes %zu", name, a.n_ints, want);
    for (size_t k = 0; k < want; k++) {
        if (a.ints[k] < lo || a.ints[k] > (int64_t)1 << 24)
            return node_failf(c, index, n, SYN_ERR_UNSUPPORTED, "%s value %lld is out of "
                              "range", name, (long long)a.ints[k]);
        out[k] = a.ints[k];
    }
    return SYN_OK;
}

/* What the window nodes share: no auto_pad (torch.onnx.export writes
 * explicit pads), the pads [top, left, bottom, right] plus a pending
 * Pad's, and the output of one axis. */
static syn_status window_pads(onnx_ctx *c, size_t index, const onnx_node *n, walk *w,
                              int64_t pads[4], int *padded_before)
{
    onnx_attr_value autopad;
    syn_status st = syn_onnx_node_attr(c, n, "auto_pad", &autopad);
    int explicit_pads = autopad.has_s && (onnx_span_is(autopad.s, "NOTSET") ||
                                          onnx_span_is(autopad.s, "VALID"));
    if (st == SYN_OK && autopad.found && !explicit_pads)
        st = node_fail(c, index, n, SYN_ERR_UNSUPPORTED, "auto_pad SAME_UPPER or SAME_LOWER is "
                       "not supported (explicit pads are)");
    if (st == SYN_OK)
        st = ints_attr(c, index, n, "pads", 4, 0, 0, pads);
    if (st != SYN_OK)
        return st;
    *padded_before = w->pad_pending;
    for (int k = 0; w->pad_pending && k < 4; k++)
        pads[k] += w->pads[k];
    w->pad_pending = 0;
    return SYN_OK;
}

/* Conv(X, W [oc x C/group x kh x kw], B?) as nn.Conv2d exports it. Pads
 * must be symmetric, or those of padding='same' (stride 1, d (k - 1) in all,
 * the odd one after). */
static syn_status conv_node(onnx_ctx *c, size_t index, const onnx_node *n, walk *w)
{
    size_t in[3], out[3];
    syn_status st = image_input(c, index, n, w, in);
    if (st != SYN_OK)
        return st;
    if (n->n_inputs < 2 || n->n_inputs > 3 || n->n_outputs != 1)
        return node_fail(c, index, n, SYN_ERR_UNSUPPORTED, "Conv takes X, W and an optional B");
    const onnx_tensor *wt, *b = NULL;
    size_t count;
    if ((st = operand(c, index, n, n->inputs[1], &wt)) != SYN_OK ||
        (st = syn_onnx_tensor_count(c, wt, &count)) != SYN_OK)
        return st;
    if (wt->n_dims != 4 || count == 0)
        return node_fail(c, index, n, SYN_ERR_UNSUPPORTED, "the weight must be 4-D "
                         "[out, in / group, kh, kw] (a 2-D convolution)");
    int64_t kernel[2], strides[2], dil[2], pads[4], group = 1;
    int padded_before;
    onnx_attr_value ga;
    if ((st = ints_attr(c, index, n, "kernel_shape", 2, 1, 0, kernel)) != SYN_OK ||
        (st = ints_attr(c, index, n, "strides", 2, 1, 1, strides)) != SYN_OK ||
        (st = ints_attr(c, index, n, "dilations", 2, 1, 1, dil)) != SYN_OK ||
        (st = syn_onnx_node_attr(c, n, "group", &ga)) != SYN_OK ||
        (st = window_pads(c, index, n, w, pads, &padded_before)) != SYN_OK)
        return st;
    if (ga.found)
        group = ga.i;
    size_t oc = (size_t)wt->dims[0];
    if (group < 1 || group > (int64_t)in[0] || (int64_t)in[0] % group != 0 ||
        (int64_t)oc % group != 0 ||
        wt->dims[1] * group != (int64_t)in[0])
        return node_failf(c, index, n, SYN_ERR_SHAPE, "group %lld and a weight of %lld input "
                          "channels do not fit %zu channels and %zu outputs", (long long)group,
                          (long long)wt->dims[1], in[0], oc);
    found_layer tmp;
    memset(&tmp, 0, sizeof tmp);
    for (int a = 0; a < 2; a++) {
        if (kernel[a] == 0)
            kernel[a] = wt->dims[2 + a];
        if (kernel[a] != wt->dims[2 + a])
            return node_fail(c, index, n, SYN_ERR_SHAPE, "kernel_shape differs from the "
                             "weight's");
        tmp.kernel[a] = (size_t)kernel[a];
        tmp.stride[a] = (size_t)strides[a];
        tmp.dilation[a] = (size_t)dil[a];
    }
    int symmetric = pads[0] == pads[2] && pads[1] == pads[3];
    int same = strides[0] == 1 && strides[1] == 1;
    for (int a = 0; a < 2; a++) {
        int64_t total = dil[a] * (kernel[a] - 1);
        same = same && pads[a] + pads[2 + a] == total && pads[a] == total / 2;
    }
    if (!symmetric && !same)
        return node_fail(c, index, n, SYN_ERR_UNSUPPORTED, "asymmetric pads are not "
                         "supported but padding='same' (stride 1, the odd one after)");
    tmp.pad_same = !symmetric;
    out[0] = oc;
    for (int a = 0; a < 2; a++) {
        tmp.pad[a] = symmetric ? (size_t)pads[a] : 0;
        if (!syn_layer_window_out(in[1 + a], tmp.kernel[a], tmp.stride[a], tmp.dilation[a],
                                  (size_t)(pads[a] + pads[2 + a]), &out[1 + a]))
            return node_failf(c, index, n, SYN_ERR_SHAPE, "its input %zux%zux%zu is smaller "
                              "than the kernel", in[0], in[1], in[2]);
    }
    if (n->n_inputs == 3 && n->inputs[2].size > 0) {
        if ((st = operand(c, index, n, n->inputs[2], &b)) != SYN_OK ||
            (st = syn_onnx_tensor_count(c, b, &count)) != SYN_OK)
            return st;
        if (count != oc)
            return node_fail(c, index, n, SYN_ERR_SHAPE, "bias size differs from the output "
                             "channels");
    }
    found_layer *layer = image_layer(c, w, index, SYN_LAYER_CONV2D, in, out);
    if (!layer)
        return SYN_ERR_UNSUPPORTED;
    size_t units = layer->units, n_in = layer->n_in;
    *layer = tmp;
    layer->kind = SYN_LAYER_CONV2D;
    layer->node = index;
    layer->n_in = n_in;
    layer->units = units;
    layer->activation = SYN_ACT_LINEAR;
    layer->channels = oc;
    layer->groups = (size_t)group;
    layer->weight = wt;
    layer->bias = b;
    return SYN_OK;
}

/* MaxPool and AveragePool as nn.MaxPool2d and nn.AvgPool2d export them:
 * ceil_mode 0, no dilation, symmetric pads; AveragePool's pads count
 * as PyTorch's count_include_pad says (ONNX's default 0 is its False), a
 * Pad of zeros before it as padding that counts. */
static syn_status pool_node(onnx_ctx *c, size_t index, const onnx_node *n, walk *w, int avg)
{
    size_t in[3], out[3];
    syn_status st = image_input(c, index, n, w, in);
    if (st != SYN_OK)
        return st;
    if (n->n_inputs != 1 || n->n_outputs < 1 || (n->n_outputs > 1 && n->outputs[1].size > 0))
        return node_fail(c, index, n, SYN_ERR_UNSUPPORTED, "a pool takes one input and gives "
                         "one output (no Indices)");
    int64_t kernel[2], strides[2], dil[2], pads[4];
    int padded_before;
    onnx_attr_value ceil, order, cip;
    if ((st = ints_attr(c, index, n, "kernel_shape", 2, 1, 0, kernel)) != SYN_OK ||
        (st = ints_attr(c, index, n, "strides", 2, 1, 1, strides)) != SYN_OK ||
        (st = ints_attr(c, index, n, "dilations", 2, 1, 1, dil)) != SYN_OK ||
        (st = syn_onnx_node_attr(c, n, "ceil_mode", &ceil)) != SYN_OK ||
        (st = syn_onnx_node_attr(c, n, "storage_order", &order)) != SYN_OK ||
        (st = syn_onnx_node_attr(c, n, "count_include_pad", &cip)) != SYN_OK)
        return st;
    int64_t own[4];
    memcpy(own, w->pads, sizeof own);
    int pending = w->pad_pending;
    if ((st = window_pads(c, index, n, w, pads, &padded_before)) != SYN_OK)
        return st;
    if (kernel[0] == 0 || kernel[1] == 0)
        return node_fail(c, index, n, SYN_ERR_CORRUPT, "kernel_shape is required");
    if (dil[0] != 1 || dil[1] != 1 || (ceil.found && ceil.i != 0) ||
        (order.found && order.i != 0))
        return node_fail(c, index, n, SYN_ERR_UNSUPPORTED, "only dilations 1, ceil_mode 0 and "
                         "storage_order 0 are supported");
    if (pads[0] != pads[2] || pads[1] != pads[3])
        return node_fail(c, index, n, SYN_ERR_UNSUPPORTED, "asymmetric pads are not "
                         "supported");
    int include = cip.found && cip.i != 0;
    int node_pads = pads[0] != (pending ? own[0] : 0) || pads[1] != (pending ? own[1] : 0);
    if (pending && node_pads && !include)
        return node_fail(c, index, n, SYN_ERR_UNSUPPORTED, "a Pad before it and pads of its "
                         "own that do not count (count_include_pad 0) cannot be one window");
    if (!avg && padded_before)
        return node_fail(c, index, n, SYN_ERR_UNSUPPORTED, "a Pad of zeros before MaxPool "
                         "(synapse's max pooling pads with -inf)");
    found_layer tmp;
    memset(&tmp, 0, sizeof tmp);
    out[0] = in[0];
    for (int a = 0; a < 2; a++) {
        tmp.kernel[a] = (size_t)kernel[a];
        tmp.stride[a] = (size_t)strides[a];
        tmp.pad[a] = (size_t)pads[a];
        if (tmp.pad[a] > tmp.kernel[a] / 2)
            return node_failf(c, index, n, SYN_ERR_UNSUPPORTED, "pad %zu is more than half "
                              "the kernel %zu (PyTorch's limit)", tmp.pad[a], tmp.kernel[a]);
        if (!syn_layer_window_out(in[1 + a], tmp.kernel[a], tmp.stride[a], 1, 2 * tmp.pad[a],
                                  &out[1 + a]))
            return node_failf(c, index, n, SYN_ERR_SHAPE, "its input %zux%zux%zu is smaller "
                              "than the window", in[0], in[1], in[2]);
    }
    tmp.exclude_pad = avg && !include && !padded_before && (pads[0] || pads[1]);
    found_layer *layer =
        image_layer(c, w, index, avg ? SYN_LAYER_AVGPOOL2D : SYN_LAYER_MAXPOOL2D, in, out);
    if (!layer)
        return SYN_ERR_UNSUPPORTED;
    size_t units = layer->units, n_in = layer->n_in;
    syn_layer_kind kind = layer->kind;
    *layer = tmp;
    layer->kind = kind;
    layer->node = index;
    layer->n_in = n_in;
    layer->units = units;
    layer->activation = SYN_ACT_LINEAR;
    return SYN_OK;
}

static syn_status gap_node(onnx_ctx *c, size_t index, const onnx_node *n, walk *w)
{
    size_t in[3], out[3];
    syn_status st = image_input(c, index, n, w, in);
    if (st != SYN_OK)
        return st;
    if (n->n_inputs != 1 || n->n_outputs != 1)
        return node_fail(c, index, n, SYN_ERR_UNSUPPORTED, "unexpected number of inputs or "
                         "outputs");
    out[0] = in[0];
    out[1] = out[2] = 1;
    return image_layer(c, w, index, SYN_LAYER_GLOBAL_AVGPOOL, in, out) ? SYN_OK
                                                                         : SYN_ERR_UNSUPPORTED;
}

/* Pad(x, pads[, 0]) in constant mode over H and W only, as
 * torch.onnx.export writes before an AveragePool with count_include_pad
 * (or a Conv): kept for the node after it. pads is the attribute before
 * opset 11, then an INT64 input: [x1_begin, x2_begin, ..., x1_end, ...]. */
static syn_status pad_node(onnx_ctx *c, size_t index, const onnx_node *n, walk *w)
{
    size_t in[3];
    syn_status st = image_input(c, index, n, w, in);
    if (st != SYN_OK)
        return st;
    if (n->n_outputs != 1 || n->n_inputs < 1 || n->n_inputs > 3 || w->pad_pending)
        return node_fail(c, index, n, SYN_ERR_UNSUPPORTED, "unexpected inputs or outputs");
    onnx_attr_value mode, value, pads_attr;
    if ((st = syn_onnx_node_attr(c, n, "mode", &mode)) != SYN_OK ||
        (st = syn_onnx_node_attr(c, n, "value", &value)) != SYN_OK ||
        (st = syn_onnx_node_attr(c, n, "pads", &pads_attr)) != SYN_OK)
        return st;
    if (mode.found && !(mode.has_s && onnx_span_is(mode.s, "constant")))
        return node_fail(c, index, n, SYN_ERR_UNSUPPORTED, "only the constant mode is "
                         "supported");
    int64_t p[MAX_DIMS];
    size_t np = 0;
    float fill = value.found ? value.f : 0.0f;
    if (n->n_inputs >= 2 && n->inputs[1].size > 0) {
        const onnx_tensor *t = syn_onnx_find_tensor(c, n->inputs[1]);
        if (!t)
            return node_fail(c, index, n, SYN_ERR_UNSUPPORTED, "pads must be a constant");
        if ((st = syn_onnx_tensor_ints(c, t, p, &np)) != SYN_OK)
            return st;
    } else {
        np = pads_attr.n_ints <= MAX_DIMS ? pads_attr.n_ints : 0;
        memcpy(p, pads_attr.ints, sizeof p);
    }
    if (n->n_inputs == 3 && n->inputs[2].size > 0 &&
        (st = scalar_operand(c, index, n, n->inputs[2], &fill)) != SYN_OK)
        return st;
    if (np != 8 || p[0] || p[1] || p[4] || p[5] || fill != 0.0f)
        return node_fail(c, index, n, SYN_ERR_UNSUPPORTED, "only zeros around H and W of "
                         "[batch, C, H, W] are supported");
    for (int k = 0; k < 4; k++) {
        w->pads[k] = p[k < 2 ? 2 + k : 4 + k];
        if (w->pads[k] < 0 || w->pads[k] > (int64_t)1 << 24)
            return node_fail(c, index, n, SYN_ERR_UNSUPPORTED, "pads out of range");
    }
    w->pad_pending = 1;
    return SYN_OK;
}

/* Flatten or a Reshape to [batch, features] after an image layer: an
 * explicit flatten layer (the network keeps the architecture it had). */
static void flatten_layer(onnx_ctx *c, size_t index, walk *w)
{
    found_layer *prev = open_layer(c);
    found_layer *layer = &c->layers[c->n_layers++];
    memset(layer, 0, sizeof *layer);
    layer->kind = SYN_LAYER_FLATTEN;
    layer->node = index;
    layer->n_in = layer->units = prev->units;
    layer->activation = SYN_ACT_LINEAR;
    flat_dims(&w->dims, prev->units);
}

static int after_image(onnx_ctx *c)
{
    const found_layer *l = open_layer(c);
    return l && image_kind(l->kind);
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
    if (onnx_span_is(n->op_type, "Shape") || onnx_span_is(n->op_type, "Gather") ||
        onnx_span_is(n->op_type, "Unsqueeze") || onnx_span_is(n->op_type, "Concat"))
        return shape_node(c, index, n, w);
    if (w->ln_stage > 0)
        return ln_step(c, index, n, w);
    syn_status form_st;
    if (!(w->ln_affine != 0 && onnx_span_is(n->op_type, "Mul")) &&
        act_form_node(c, index, n, w, &form_st))
        return form_st;
    int on_chain = n->n_inputs > 0 && onnx_span_eq(n->inputs[0], w->current);
    if (onnx_span_is(n->op_type, "Identity") && n->n_inputs == 1 && n->n_outputs == 1 &&
        !on_chain && syn_onnx_find_tensor(c, n->inputs[0])) {
        /* torch.onnx.export shares equal constants this way (a fresh
         * BatchNorm's running_var is its weight): an alias. */
        onnx_tensor *t = &c->g.tensors[c->g.n_tensors++];
        *t = *syn_onnx_find_tensor(c, n->inputs[0]);
        t->name = n->outputs[0];
        return SYN_OK;
    }
    int conv = onnx_span_is(n->op_type, "Conv"), maxpool = onnx_span_is(n->op_type, "MaxPool");
    int avgpool = onnx_span_is(n->op_type, "AveragePool");
    int gap = onnx_span_is(n->op_type, "GlobalAveragePool"), pad = onnx_span_is(n->op_type, "Pad");
    if (w->pad_pending && !conv && !avgpool)
        return node_fail(c, index, n, SYN_ERR_UNSUPPORTED,
                         "a Pad must be followed by the AveragePool or Conv it pads for");
    if (conv || maxpool || avgpool || gap || pad) {
        char vb[SHOWN_NAME + 4];
        if (!on_chain)
            return node_failf(c, index, n, SYN_ERR_UNSUPPORTED, "does not continue the chain "
                              "from \"%s\"", syn_onnx_shown(w->current, vb));
        if (w->softmax_seen)
            return node_fail(c, index, n, SYN_ERR_UNSUPPORTED,
                             "Softmax must be the last operator");
        syn_status st = conv      ? conv_node(c, index, n, w)
                        : gap     ? gap_node(c, index, n, w)
                        : pad     ? pad_node(c, index, n, w)
                                  : pool_node(c, index, n, w, avgpool);
        if (st != SYN_OK)
            return st;
        w->ln_affine = 0;
        w->current = n->outputs[0];
        w->values[w->n_values].name = w->current;
        w->values[w->n_values++].dims = w->dims;
        return SYN_OK;
    }
    int dropout = onnx_span_is(n->op_type, "Dropout");
    int batchnorm = onnx_span_is(n->op_type, "BatchNormalization");
    int layernorm = onnx_span_is(n->op_type, "LayerNormalization");
    int reduce_mean = onnx_span_is(n->op_type, "ReduceMean");
    if (dropout || batchnorm || layernorm || (reduce_mean && on_chain)) {
        /* Extra outputs (Dropout's mask, the norms' statistics) are the
         * training graph's; the chain goes on from the first. */
        syn_status st = SYN_OK;
        w->ln_affine = 0;
        if (!on_chain || n->n_outputs == 0 || n->outputs[0].size == 0) {
            char vb[SHOWN_NAME + 4];
            return node_failf(c, index, n, SYN_ERR_UNSUPPORTED, "does not continue the chain "
                              "from \"%s\"", syn_onnx_shown(w->current, vb));
        }
        if (w->softmax_seen)
            return node_fail(c, index, n, SYN_ERR_UNSUPPORTED,
                             "Softmax must be the last operator");
        if (reduce_mean) {
            if ((st = mean_over_last(c, index, n, w)) != SYN_OK)
                return st;
            w->ln_x = w->current;
            w->ln_mean = n->outputs[0];
            w->ln_stage = 1;
            return SYN_OK;
        }
        st = dropout ? dropout_node(c, index, n, w)
             : batchnorm ? batchnorm_node(c, index, n, w) : layernorm_node(c, index, n, w);
        if (st != SYN_OK)
            return st;
        w->current = n->outputs[0];
        w->values[w->n_values].name = w->current;
        w->values[w->n_values++].dims = w->dims;
        return SYN_OK;
    }
    syn_activation act = SYN_ACT_LINEAR;
    int is_act = op_activation(n->op_type, &act);
    int gemm = onnx_span_is(n->op_type, "Gemm"), matmul = onnx_span_is(n->op_type, "MatMul");
    int add = onnx_span_is(n->op_type, "Add"), sub = onnx_span_is(n->op_type, "Sub");
    int mul = onnx_span_is(n->op_type, "Mul"), identity = onnx_span_is(n->op_type, "Identity");
    int div = onnx_span_is(n->op_type, "Div"), flatten = onnx_span_is(n->op_type, "Flatten");
    int reshape = onnx_span_is(n->op_type, "Reshape");
    if (!(is_act || gemm || matmul || add || sub || mul || div || identity || flatten ||
          reshape)) {
        snprintf(msg, sizeof msg, "operator %s is not supported (supported: %s)",
                 syn_onnx_shown(n->op_type, ob), supported_ops);
        return node_fail(c, index, n, SYN_ERR_UNSUPPORTED, msg);
    }
    size_t want_inputs = (gemm || matmul || add || sub || mul || div || reshape) ? 2 : 1;
    if (reshape && n->n_inputs == 1)
        want_inputs = 1; /* refused below with its reason */
    if (n->n_inputs < want_inputs || n->n_inputs > (gemm ? 3 : want_inputs) ||
        n->n_outputs != 1 || n->outputs[0].size == 0)
        return node_fail(c, index, n, SYN_ERR_UNSUPPORTED, "unexpected number of inputs or "
                         "outputs");
    /* Which input carries the chain: the first, or either for Add/Mul. */
    int from_second = (add || mul) && onnx_span_eq(n->inputs[1], w->current) &&
                      !onnx_span_eq(n->inputs[0], w->current);
    if ((sub || div) && onnx_span_eq(n->inputs[1], w->current))
        return node_fail(c, index, n, SYN_ERR_UNSUPPORTED,
                         "the chain must be the first operand (x - c, x / c)");
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
    if (gemm || matmul) {
        st = layer_input(c, index, n, w);
        if (st == SYN_OK)
            st = start_layer(c, index, n, gemm);
        if (st == SYN_OK && c->n_layers == 1 && w->dims.rank_known && w->dims.d[0] >= 0 &&
            (size_t)w->dims.d[0] != c->layers[0].n_in)
            st = syn_onnx_fail(c, SYN_ERR_SHAPE, "the input has %lld features, the first "
                               "layer takes %zu", (long long)w->dims.d[0], c->layers[0].n_in);
        if (st == SYN_OK)
            flat_dims(&w->dims, c->layers[c->n_layers - 1].units);
    } else if (mul && open_layer(c) && open_layer(c)->activation == SYN_ACT_SIGMOID &&
               open_layer(c)->has_activation && onnx_span_eq(other, w->pre_act)) {
        /* x * Sigmoid(x): SiLU, as torch.onnx.export writes nn.SiLU */
        open_layer(c)->activation = SYN_ACT_SILU;
    } else if ((mul && w->ln_affine == 1) || (add && w->ln_affine != 0)) {
        st = ln_affine(c, index, n, mul, other, w);
    } else if (add) {
        st = add_bias(c, index, n, other);
    } else if (sub || mul || div) {
        st = add_scaling(c, index, n, sub, div, other, w);
    } else if (is_act) {
        st = set_activation(c, index, n, act, w);
    } else if (flatten) {
        onnx_attr_value axis;
        st = syn_onnx_node_attr(c, n, "axis", &axis);
        if (st == SYN_OK && axis.found && axis.i != 1)
            st = node_fail(c, index, n, SYN_ERR_UNSUPPORTED, "Flatten must have axis = 1");
        if (st == SYN_OK)
            st = check_relayout(c, index, n, w);
        if (st == SYN_OK && after_image(c))
            flatten_layer(c, index, w);
        else if (st == SYN_OK)
            flat_dims(&w->dims, onnx_dims_size(&w->dims));
    } else if (reshape) {
        st = check_relayout(c, index, n, w);
        if (st == SYN_OK)
            st = reshape_node(c, index, n, w);
        if (st == SYN_OK && after_image(c)) {
            if (w->dims.rank_known && w->dims.rank == 1)
                flatten_layer(c, index, w);
            else
                st = node_fail(c, index, n, SYN_ERR_UNSUPPORTED, "after an image layer, a "
                               "Reshape must flatten each sample (to [batch, features])");
        }
    }
    if (st != SYN_OK)
        return st;
    if (!((mul || add) && w->ln_affine != 0))
        w->ln_affine = 0;
    w->current = n->outputs[0];
    w->values[w->n_values].name = w->current;
    w->values[w->n_values++].dims = w->dims;
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
    walk w;
    memset(&w, 0, sizeof w);
    w.current = input->name;
    w.form = -1;
    if ((st = syn_onnx_input_shape(c, input, &w.dims, &w.batch)) != SYN_OK)
        return st;
    size_t slots = c->g.n_nodes + 1;
    c->layers = calloc(slots, sizeof *c->layers);
    w.values = calloc(slots, sizeof *w.values);
    w.shapes = calloc(slots, sizeof *w.shapes);
    if (!c->layers || !w.values || !w.shapes)
        st = syn_onnx_fail(c, SYN_ERR_OUT_OF_MEMORY, "out of memory");
    if (st == SYN_OK) {
        w.values[w.n_values].name = w.current;
        w.values[w.n_values++].dims = w.dims;
    }
    for (size_t i = 0; i < c->g.n_nodes && st == SYN_OK; i++)
        st = visit_node(c, i, &c->g.nodes[i], &w);
    free(w.values);
    free(w.shapes);
    if (st != SYN_OK)
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
    return SYN_OK;
}
