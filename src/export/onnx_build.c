/* onnx_build.c - net building for ONNX import (onnx_import.h): a syn_net
 * from the layers, input scaling and class names the chain matched, and
 * the entry points syn_onnx_parse and syn_net_import_onnx that run the
 * three stages. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "io/file.h"
#include "export/onnx.h"
#include "export/onnx_import.h"

/* ------------------------------------------------------------------------ */
/* Building the network                                                      */
/* ------------------------------------------------------------------------ */

/* A checked tensor of 1 or n elements, broadcast to n floats. */
static syn_status broadcast(onnx_ctx *c, const onnx_tensor *t, size_t n, float fill, float *dst)
{
    if (!t) {
        for (size_t k = 0; k < n; k++)
            dst[k] = fill;
        return SYN_OK;
    }
    size_t count;
    syn_status st = syn_onnx_tensor_count(c, t, &count);
    if (st != SYN_OK)
        return st;
    char nb[SHOWN_NAME + 4];
    if (count != n && count != 1)
        return syn_onnx_fail(c, SYN_ERR_SHAPE, "tensor \"%s\" has %zu elements, expected %zu or 1",
                             syn_onnx_shown(t->name, nb), count, n);
    if (count == n)
        return syn_onnx_tensor_floats(c, t, n, dst);
    float one;
    if ((st = syn_onnx_tensor_floats(c, t, 1, &one)) != SYN_OK)
        return st;
    for (size_t k = 0; k < n; k++)
        dst[k] = one;
    return SYN_OK;
}

/* Tensors with float_data are decoded into a scratch buffer first. */
/* A dense layer's W into synapse's [units x n_in]; tensors with
 * float_data are decoded into a scratch buffer first. */
static syn_status load_dense(onnx_ctx *c, const found_layer *fl, float *w)
{
    size_t count = fl->units * fl->n_in;
    float *tmp = malloc(count * sizeof *tmp);
    if (!tmp)
        return syn_onnx_fail(c, SYN_ERR_OUT_OF_MEMORY, "out of memory");
    syn_status st = syn_onnx_tensor_floats(c, fl->weight, count, tmp);
    if (st == SYN_OK) {
        for (size_t u = 0; u < fl->units; u++)
            for (size_t i = 0; i < fl->n_in; i++)
                w[u * fl->n_in + i] =
                    fl->transposed ? tmp[i * fl->units + u] : tmp[u * fl->n_in + i];
    }
    free(tmp);
    return st;
}

/* A batch norm's running statistics into the net's state arena; a file's
 * variance must be one a training run could have made (finite, >= 0),
 * else inference would take the square root of a negative number. */
static syn_status load_running(onnx_ctx *c, const found_layer *fl, size_t n, float *mean,
                               float *var)
{
    syn_status st = broadcast(c, fl->mean, n, 0.0f, mean);
    if (st == SYN_OK)
        st = broadcast(c, fl->var, n, 1.0f, var);
    for (size_t u = 0; st == SYN_OK && u < n; u++)
        if (!isfinite(mean[u]) || !(var[u] >= 0.0f) || !isfinite(var[u])) {
            const onnx_node *node = &c->g.nodes[fl->node];
            char nb[SHOWN_NAME + 4];
            st = syn_onnx_fail(c, SYN_ERR_CORRUPT, "node %zu \"%s\" (BatchNormalization): "
                               "feature %zu has running mean %g and variance %g", fl->node,
                               syn_onnx_shown(node->name, nb), u, (double)mean[u],
                               (double)var[u]);
        }
    return st;
}

static syn_status load_weights(onnx_ctx *c, syn_net *net)
{
    syn_status st = SYN_OK;
    for (size_t l = 0; l < c->n_layers && st == SYN_OK; l++) {
        const found_layer *fl = &c->layers[l];
        const syn_layer *layer = &net->layers[l];
        /* Per-channel parameters for conv and batch norm 2-D. */
        size_t n = fl->channels ? fl->channels : fl->units;
        float *w, *b;
        syn_net_layer_params(net, l, &w, &b);
        switch (fl->kind) {
        case SYN_LAYER_DENSE: st = load_dense(c, fl, w); break;
        case SYN_LAYER_CONV2D: {
            /* ONNX's [oc x C/group x kh x kw] is synapse's layout. */
            size_t count;
            st = syn_onnx_tensor_count(c, fl->weight, &count);
            if (st == SYN_OK)
                st = syn_onnx_tensor_floats(c, fl->weight, count, w);
            break;
        }
        case SYN_LAYER_BATCHNORM:
        case SYN_LAYER_BATCHNORM2D:
            st = load_running(c, fl, n, net->state + layer->s_off, net->state + layer->s_off + n);
            if (st == SYN_OK)
                st = broadcast(c, fl->weight, n, 1.0f, w);
            break;
        case SYN_LAYER_LAYERNORM: st = broadcast(c, fl->weight, n, 1.0f, w); break;
        case SYN_LAYER_DROPOUT:
        case SYN_LAYER_MAXPOOL2D:
        case SYN_LAYER_AVGPOOL2D:
        case SYN_LAYER_GLOBAL_AVGPOOL:
        case SYN_LAYER_DROPOUT2D:
        case SYN_LAYER_FLATTEN:
        case SYN_LAYER_COUNT_: break;
        }
        if (st == SYN_OK && b)
            st = broadcast(c, fl->bias, n, 0.0f, b);
    }
    return st;
}

/* A scaling constant over the n flattened features: t broadcasts against
 * the sample shape d it met (checked by onnx_match.c), so feature f, at
 * row-major multi-index (i_0, ..., i_r-1) of d, takes t's element at the
 * same right-aligned index, 0 along t's dims of 1. A shape not known in
 * full leaves t a vector of n elements or one. */
static syn_status expand(onnx_ctx *c, const onnx_tensor *t, const onnx_dims *d, size_t n,
                         float fill, float *dst)
{
    size_t count;
    syn_status st = t ? syn_onnx_tensor_count(c, t, &count) : SYN_OK;
    if (st != SYN_OK)
        return st;
    if (!t || count == 1 || onnx_dims_size(d) != n)
        return broadcast(c, t, n, fill, dst);
    float *values = malloc(count * sizeof *values);
    if (!values)
        return syn_onnx_fail(c, SYN_ERR_OUT_OF_MEMORY, "out of memory");
    st = syn_onnx_tensor_floats(c, t, count, values);
    for (size_t f = 0; st == SYN_OK && f < n; f++) {
        size_t rest = f, at = 0, stride = 1;
        for (size_t k = 0; k < d->rank; k++) {
            size_t dim = (size_t)d->d[d->rank - 1 - k], i = rest % dim;
            rest /= dim;
            if (k < t->n_dims) {
                size_t tdim = (size_t)t->dims[t->n_dims - 1 - k];
                at += (tdim == 1 ? 0 : i) * stride;
                stride *= tdim;
            }
        }
        dst[f] = values[at];
    }
    free(values);
    return st;
}

static syn_status load_scaling(onnx_ctx *c, syn_net *net)
{
    const onnx_scaling *sc = &c->scaling;
    if (!sc->offset && !sc->scale)
        return SYN_OK;
    size_t n = net->n_inputs;
    float *offset = malloc(n * sizeof *offset), *scale = malloc(n * sizeof *scale);
    syn_status st =
        offset && scale ? SYN_OK : syn_onnx_fail(c, SYN_ERR_OUT_OF_MEMORY, "out of memory");
    if (st == SYN_OK)
        st = expand(c, sc->offset, &sc->offset_dims, n, 0.0f, offset);
    if (st == SYN_OK)
        st = expand(c, sc->scale, &sc->scale_dims, n, 1.0f, scale);
    /* x / s becomes x * (1 / s): within an ulp of PyTorch's division. */
    for (size_t j = 0; st == SYN_OK && sc->divides && j < n; j++) {
        if (scale[j] == 0.0f || !isfinite(scale[j])) {
            const onnx_node *node = &c->g.nodes[sc->scale_node];
            char nb[SHOWN_NAME + 4];
            st = syn_onnx_fail(c, SYN_ERR_UNSUPPORTED, "node %zu \"%s\" (Div): divides "
                               "feature %zu by %g", sc->scale_node,
                               syn_onnx_shown(node->name, nb), j, (double)scale[j]);
        }
        scale[j] = 1.0f / scale[j];
    }
    if (st == SYN_OK && syn_net_set_input_scaling(net, offset, scale) != SYN_OK)
        st = syn_onnx_fail(c, SYN_ERR_CORRUPT, "the input scaling (%s) is not finite",
                           sc->divides ? "Sub, Div" : "Sub, Mul");
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

/* A JSON number token (RFC 8259's grammar) copied as written: a plain
 * "classes" list may hold label values rather than names. */
static int json_number(const uint8_t **p, const uint8_t *end, char **out)
{
    const uint8_t *q = *p, *start = q;
    if (q < end && *q == '-')
        q++;
    if (q == end || !(*q >= '0' && *q <= '9'))
        return 0;
    if (*q == '0')
        q++;
    else
        while (q < end && *q >= '0' && *q <= '9')
            q++;
    if (q < end && *q == '.') {
        if (++q == end || !(*q >= '0' && *q <= '9'))
            return 0;
        while (q < end && *q >= '0' && *q <= '9')
            q++;
    }
    if (q < end && (*q == 'e' || *q == 'E')) {
        if (++q < end && (*q == '+' || *q == '-'))
            q++;
        if (q == end || !(*q >= '0' && *q <= '9'))
            return 0;
        while (q < end && *q >= '0' && *q <= '9')
            q++;
    }
    memcpy(*out, start, (size_t)(q - start));
    *out += q - start;
    *(*out)++ = '\0';
    *p = q;
    return 1;
}

/* Whether count class names fit net: one per output, or two for a single
 * output after a Sigmoid (the probability of the second class, as a
 * synapse binary classifier stores them). */
static int class_count_fits(const syn_net *net, size_t count)
{
    size_t n_out = syn_net_n_outputs(net);
    return count == n_out || (n_out == 1 && count == 2 &&
                              net->layers[net->n_layers - 1].activation == SYN_ACT_SIGMOID);
}

/* metadata_props "class_names" (synapse's export), else "classes": a JSON
 * array of strings (or numbers), one per output. Every decoded string is
 * no longer than its JSON form, so one buffer the size of the value holds
 * them all. */
static syn_status load_class_names(onnx_ctx *c, syn_net *net)
{
    if (!c->has_class_names && !c->has_classes)
        return SYN_OK;
    const char *key = c->has_class_names ? "class_names" : "classes";
    onnx_span v = c->has_class_names ? c->class_names : c->classes;
    char *text = malloc(v.size + 1);
    const char **names = calloc(v.size / 2 + 1, sizeof *names);
    syn_status st = SYN_OK;
    size_t count = 0;
    int ok = text && names;
    if (!ok)
        st = syn_onnx_fail(c, SYN_ERR_OUT_OF_MEMORY, "out of memory");
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
            ok = p < end;
            if (ok) {
                names[count++] = o;
                ok = *p == '"' ? (p++, json_string(&p, end, &o)) : json_number(&p, end, &o);
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
        st = syn_onnx_fail(c, SYN_ERR_CORRUPT, "metadata \"%s\" is not a JSON array of "
                           "strings", key);
    if (st == SYN_OK && count != 0 && !class_count_fits(net, count))
        st = syn_onnx_fail(c, SYN_ERR_CORRUPT, "metadata \"%s\" has %zu names for %zu "
                           "outputs", key, count, syn_net_n_outputs(net));
    if (st == SYN_OK && syn_net_set_class_names(net, names, count) != SYN_OK)
        st = syn_onnx_fail(c, SYN_ERR_OUT_OF_MEMORY, "out of memory");
    free(text);
    free(names);
    return st;
}

static syn_status build_net(onnx_ctx *c, syn_net **out)
{
    syn_layer_desc *descs = calloc(c->n_layers, sizeof *descs);
    if (!descs)
        return syn_onnx_fail(c, SYN_ERR_OUT_OF_MEMORY, "out of memory");
    for (size_t l = 0; l < c->n_layers; l++) {
        const found_layer *fl = &c->layers[l];
        descs[l].units = fl->units;
        descs[l].activation = fl->activation;
        descs[l].leaky_slope = fl->slope;
        descs[l].no_bias = fl->bias == NULL;
        descs[l].kind = fl->kind;
        descs[l].rate = fl->rate;
        descs[l].eps = fl->eps;
        descs[l].momentum = fl->momentum;
        for (int a = 0; a < 2; a++) {
            descs[l].kernel[a] = fl->kernel[a];
            descs[l].stride[a] = fl->stride[a];
            descs[l].padding[a] = fl->pad[a];
            descs[l].dilation[a] = fl->dilation[a];
        }
        descs[l].groups = fl->groups;
        descs[l].pad_same = fl->pad_same;
        descs[l].exclude_pad = fl->exclude_pad;
        /* The image kinds' width follows from the shape; conv's units
         * are its output channels. */
        if (fl->kind == SYN_LAYER_CONV2D)
            descs[l].units = fl->channels;
        else if (fl->kind != SYN_LAYER_DENSE && fl->kind != SYN_LAYER_BATCHNORM &&
                 fl->kind != SYN_LAYER_LAYERNORM && fl->kind != SYN_LAYER_DROPOUT)
            descs[l].units = 0;
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
    if (c->image)
        memcpy(desc.input_shape, c->input_shape, sizeof desc.input_shape);
    syn_net *net = NULL;
    syn_error why = {{0}};
    syn_status st = syn_net_desc_check(&desc, &why);
    if (st == SYN_OK)
        st = syn_net_create(&desc, &net);
    free(descs);
    if (st != SYN_OK)
        return syn_onnx_fail(c, st == SYN_ERR_INVALID_ARGUMENT ? SYN_ERR_UNSUPPORTED : st,
                             "cannot build the network: %s",
                             why.message[0] ? why.message : syn_strerror(st));
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

static void free_ctx(onnx_ctx *c)
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
    onnx_ctx c;
    memset(&c, 0, sizeof c);
    c.name = name ? name : "<memory>";
    c.err = err;
    syn_status st = syn_onnx_read_model(&c, data, size);
    if (st == SYN_OK)
        st = syn_onnx_match(&c);
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
    syn_status st = syn_file_read(path, onnx_head_check, &data, &size, err);
    if (st == SYN_OK)
        st = syn_onnx_parse(data, size, path, out, err);
    free(data);
    return st;
}
