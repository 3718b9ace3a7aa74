/* net.c - creating, copying and describing networks: the layer table, the
 * flat parameter arena and its initialisation, input scaling, class names
 * and training metadata. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "kernels/small.h"

syn_status syn_layer_plan_of(const syn_net_desc *desc, size_t l, const size_t in_shape[3],
                             syn_layer_plan *plan, syn_error *err)
{
    const syn_layer_desc *ld = &desc->layers[l];
    if ((unsigned)ld->kind >= SYN_LAYER_COUNT_) {
        syn_set_error(err, "layer %zu: unknown kind %u", l, (unsigned)ld->kind);
        return SYN_ERR_INVALID_ARGUMENT;
    }
    const syn_layer_ops *ops = syn_layer_ops_of(ld->kind);
    char why[256] = "";
    int is_last = l + 1 == desc->n_layers;
    size_t n_in = in_shape[0] * in_shape[1] * in_shape[2]; /* checked by the caller */
    syn_status st = ops->plan_shape
                        ? ops->plan_shape(ld, in_shape, is_last, plan, why, sizeof why)
                        : ops->plan(ld, n_in, is_last, plan, why, sizeof why);
    if (st != SYN_OK) {
        syn_set_error(err, "layer %zu (%s): %s", l, ops->name, why);
        return st;
    }
    if (plan->out_shape[0] == 0) {
        if (ops->keeps_shape)
            memcpy(plan->out_shape, in_shape, sizeof plan->out_shape);
        else
            plan->out_shape[0] = plan->units, plan->out_shape[1] = plan->out_shape[2] = 1;
    }
    return SYN_OK;
}

syn_status syn_input_shape_of(const syn_net_desc *desc, size_t shape[3], syn_error *err)
{
    const size_t *s = desc->input_shape;
    if (s[0] == 0 && s[1] == 0 && s[2] == 0) {
        shape[0] = desc->n_inputs, shape[1] = shape[2] = 1;
        return SYN_OK;
    }
    size_t n;
    if (s[0] == 0 || s[1] == 0 || s[2] == 0 || !syn_mul_size(s[0], s[1], &n) ||
        !syn_mul_size(n, s[2], &n) || n != desc->n_inputs) {
        syn_set_error(err, "network: input shape %zux%zux%zu is not the %zu inputs", s[0], s[1],
                      s[2], desc->n_inputs);
        return SYN_ERR_INVALID_ARGUMENT;
    }
    memcpy(shape, s, 3 * sizeof *shape);
    return SYN_OK;
}

int syn_scratch_floats(size_t per_row, size_t rows, size_t fixed, size_t max_batch, size_t *n)
{
    return syn_mul_size(per_row, rows < max_batch ? rows : max_batch, n) &&
           syn_add_size(*n, fixed, n);
}

syn_status syn_net_desc_check(const syn_net_desc *desc, syn_error *err)
{
    if (!desc || !desc->layers || desc->n_inputs == 0 || desc->n_layers == 0) {
        syn_set_error(err, "network: no description, inputs or layers");
        return SYN_ERR_INVALID_ARGUMENT;
    }
    if ((unsigned)desc->loss >= SYN_LOSS_COUNT_ ||
        (unsigned)desc->reduction >= SYN_REDUCTION_COUNT_ ||
        (unsigned)desc->init >= SYN_INIT_COUNT_) {
        syn_set_error(err, "network: unknown loss, reduction or initialisation");
        return SYN_ERR_INVALID_ARGUMENT;
    }
    size_t shape[3];
    if (syn_input_shape_of(desc, shape, err) != SYN_OK)
        return SYN_ERR_INVALID_ARGUMENT;
    for (size_t l = 0; l < desc->n_layers; l++) {
        syn_layer_plan plan;
        syn_status st = syn_layer_plan_of(desc, l, shape, &plan, err);
        if (st != SYN_OK)
            return st == SYN_ERR_OVERFLOW ? st : SYN_ERR_INVALID_ARGUMENT;
        memcpy(shape, plan.out_shape, sizeof shape);
    }
    const syn_layer_desc *out = &desc->layers[desc->n_layers - 1];
    if (!syn_loss_output_ok(desc->loss, out->activation)) {
        syn_set_error(err, "network: the loss does not fit the output layer's activation "
                           "(BCE needs sigmoid, cross-entropy softmax)");
        return SYN_ERR_INVALID_ARGUMENT;
    }
    return SYN_OK;
}

/* Lays out the arenas from the kinds' plans: per layer its first block (W
 * or gamma) then its bias block, and its state. Fails on overflow. */
static syn_status build_layers(syn_net *net, const syn_net_desc *desc)
{
    size_t offset = 0, state = 0, n_in = desc->n_inputs, max_width = desc->n_inputs;
    size_t shape[3];
    if (syn_input_shape_of(desc, shape, NULL) != SYN_OK)
        return SYN_ERR_INVALID_ARGUMENT;
    memcpy(net->in_shape, shape, sizeof shape);
    net->min_train_batch = 1;
    net->small_ok = 1;
    for (size_t l = 0; l < desc->n_layers; l++) {
        const syn_layer_desc *ld = &desc->layers[l];
        syn_layer *layer = &net->layers[l];
        syn_layer_plan plan;
        syn_status st = syn_layer_plan_of(desc, l, shape, &plan, NULL);
        if (st != SYN_OK)
            return st;
        memcpy(layer->in_shape, shape, sizeof shape);
        memcpy(layer->out_shape, plan.out_shape, sizeof shape);
        memcpy(shape, plan.out_shape, sizeof shape);
        layer->scratch_per_row = plan.scratch_per_row;
        layer->scratch_rows = plan.scratch_rows;
        layer->scratch_fixed = plan.scratch_fixed;
        layer->kind = ld->kind;
        layer->n_in = n_in;
        layer->units = plan.units;
        layer->activation = ld->activation;
        layer->leaky_slope = syn_activation_param(ld->activation, ld->leaky_slope);
        layer->has_bias = plan.b_size > 0;
        layer->saved_per_row = plan.saved_per_row;
        layer->saved_fixed = plan.saved_fixed;
        layer->w_off = layer->b_off = layer->s_off = (size_t)-1;
        if (plan.w_size > 0) {
            layer->w_off = offset;
            if (!syn_add_size(offset, plan.w_size, &offset))
                return SYN_ERR_OVERFLOW;
        }
        if (plan.b_size > 0) {
            layer->b_off = offset;
            if (!syn_add_size(offset, plan.b_size, &offset))
                return SYN_ERR_OVERFLOW;
        }
        if (plan.n_state > 0) {
            layer->s_off = state;
            if (!syn_add_size(state, plan.n_state, &state))
                return SYN_ERR_OVERFLOW;
        }
        if (plan.min_train_batch > net->min_train_batch)
            net->min_train_batch = plan.min_train_batch;
        const syn_layer_ops *ops = syn_layer_ops_of(ld->kind);
        ops->setup(layer, ld);
        if (!ops->small_ok(layer))
            net->small_ok = 0;
        if (plan.units > max_width)
            max_width = plan.units;
        n_in = plan.units;
    }
    net->n_params = offset;
    net->n_state = state;
    net->max_width = max_width;
    return SYN_OK;
}

int syn_net_keeps_pre(const syn_net *net, size_t l)
{
    return l + 1 < net->n_layers && syn_act_info_of(net->layers[l].activation)->needs_z;
}

/* Values per layer in net->layout, after the three of the net. */
#define LAYOUT_PER_LAYER 9

/* The net's layout: what a workspace made for it sized its blocks from
 * (widths, saved and scratch blocks, kept pre-activations) and where its
 * gradient blocks sit in the arena (the small path points into them). */
static syn_status build_layout(syn_net *net)
{
    size_t n;
    if (!syn_mul_size(net->n_layers, LAYOUT_PER_LAYER, &n) || !syn_add_size(n, 3, &n))
        return SYN_ERR_OVERFLOW;
    size_t *v = calloc(n, sizeof *v);
    if (!v)
        return SYN_ERR_OUT_OF_MEMORY;
    v[0] = net->n_inputs;
    v[1] = net->n_params;
    v[2] = net->n_layers;
    for (size_t l = 0; l < net->n_layers; l++) {
        const syn_layer *layer = &net->layers[l];
        size_t *e = v + 3 + l * LAYOUT_PER_LAYER;
        e[0] = layer->units;
        e[1] = layer->saved_per_row;
        e[2] = layer->saved_fixed;
        e[3] = layer->scratch_per_row;
        e[4] = layer->scratch_rows;
        e[5] = (size_t)syn_net_keeps_pre(net, l);
        e[6] = layer->w_off;
        e[7] = layer->b_off;
        e[8] = layer->scratch_fixed;
    }
    net->layout = v;
    net->layout_len = n;
    return SYN_OK;
}

/* The small path's view of the layers (kernels/small.h), for nets it may
 * run: built once per network, since the arena never moves. */
static syn_status build_small(syn_net *net)
{
    free(net->small);
    net->small = NULL;
    /* The CPU is asked here, once, not on every pass. */
    if (!net->small_ok || net->max_width > SYN_SMALL_WIDTH || !syn_small_available())
        return SYN_OK;
    net->small = calloc(net->n_layers, sizeof *net->small);
    if (!net->small)
        return SYN_ERR_OUT_OF_MEMORY;
    for (size_t l = 0; l < net->n_layers; l++) {
        const syn_layer *layer = &net->layers[l];
        net->small[l] = (syn_small_layer){
            .n_in = layer->n_in,
            .units = layer->units,
            .act = layer->activation,
            .slope = layer->leaky_slope,
            .w = net->params + layer->w_off,
            .b = layer->has_bias ? net->params + layer->b_off : NULL,
        };
        syn_small_prepare(&net->small[l]);
    }
    return SYN_OK;
}

static void init_meta(syn_train_meta *meta)
{
    memset(meta, 0, sizeof *meta);
    meta->train_loss = meta->train_accuracy = NAN;
    meta->val_loss = meta->val_accuracy = NAN;
}

syn_status syn_net_create(const syn_net_desc *desc, syn_net **out)
{
    if (!out)
        return SYN_ERR_INVALID_ARGUMENT;
    *out = NULL;
    syn_status st = syn_net_desc_check(desc, NULL);
    if (st != SYN_OK)
        return st;
    size_t table_bytes;
    if (!syn_mul_size(desc->n_layers, sizeof(syn_layer), &table_bytes))
        return SYN_ERR_OVERFLOW;
    syn_net *net = calloc(1, sizeof *net);
    if (!net)
        return SYN_ERR_OUT_OF_MEMORY;
    net->layers = calloc(1, table_bytes);
    if (!net->layers) {
        free(net);
        return SYN_ERR_OUT_OF_MEMORY;
    }
    net->n_inputs = desc->n_inputs;
    net->n_layers = desc->n_layers;
    net->loss = desc->loss;
    net->reduction = desc->reduction;
    init_meta(&net->meta);
    st = build_layers(net, desc);
    if (st == SYN_OK) {
        net->params = syn_alloc_floats(net->n_params);
        if (net->n_state > 0)
            net->state = syn_alloc_floats(net->n_state);
        if (!net->params || (net->n_state > 0 && !net->state))
            st = SYN_ERR_OUT_OF_MEMORY;
    }
    if (st == SYN_OK)
        st = build_layout(net);
    if (st == SYN_OK)
        st = build_small(net);
    if (st == SYN_OK)
        st = syn_net_init_weights(net, desc->init, desc->seed);
    if (st != SYN_OK) {
        syn_net_free(net);
        return st;
    }
    *out = net;
    return SYN_OK;
}

static void free_class_names(char **names, size_t count)
{
    if (!names)
        return;
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
}

void syn_net_free(syn_net *net)
{
    if (!net)
        return;
    free(net->layers);
    free(net->layout);
    free(net->small);
    syn_free_aligned(net->params);
    syn_free_aligned(net->state);
    syn_free_aligned(net->scale_offset);
    syn_free_aligned(net->scale_mul);
    free_class_names(net->class_names, net->n_class_names);
    syn_encoding_free(net->encoding);
    free(net->loss_opts.class_weights);
    free(net);
}

syn_status syn_net_clone(const syn_net *net, syn_net **out)
{
    if (!net || !out)
        return SYN_ERR_INVALID_ARGUMENT;
    *out = NULL;
    syn_net *copy = calloc(1, sizeof *copy);
    if (!copy)
        return SYN_ERR_OUT_OF_MEMORY;
    *copy = *net;
    copy->layers = NULL;
    copy->params = NULL;
    copy->state = NULL;
    copy->small = NULL;
    copy->layout = NULL;
    copy->scale_offset = copy->scale_mul = NULL;
    copy->class_names = NULL;
    copy->n_class_names = 0;
    copy->encoding = NULL;
    copy->loss_opts.class_weights = NULL;
    syn_status st = SYN_OK;
    copy->layers = malloc(net->n_layers * sizeof(syn_layer));
    copy->params = syn_alloc_floats(net->n_params);
    if (net->n_state > 0)
        copy->state = syn_alloc_floats(net->n_state);
    if (!copy->layers || !copy->params || (net->n_state > 0 && !copy->state)) {
        st = SYN_ERR_OUT_OF_MEMORY;
    } else {
        memcpy(copy->layers, net->layers, net->n_layers * sizeof(syn_layer));
        memcpy(copy->params, net->params, net->n_params * sizeof(float));
        if (net->n_state > 0)
            memcpy(copy->state, net->state, net->n_state * sizeof(float));
        st = build_layout(copy);
        if (st == SYN_OK)
            st = build_small(copy);
        if (st == SYN_OK)
            st = syn_net_set_input_scaling(copy, net->scale_offset, net->scale_mul);
    }
    if (st == SYN_OK)
        st = syn_net_set_class_names(copy, (const char *const *)net->class_names,
                                     net->n_class_names);
    if (st == SYN_OK)
        st = syn_net_set_encoding(copy, net->encoding);
    if (st == SYN_OK)
        st = syn_loss_opts_copy(&copy->loss_opts, &net->loss_opts, net);
    if (st != SYN_OK) {
        syn_net_free(copy);
        return st;
    }
    *out = copy;
    return SYN_OK;
}

static int same_shape(const syn_net *a, const syn_net *b)
{
    if (a->n_inputs != b->n_inputs || a->n_layers != b->n_layers ||
        a->n_params != b->n_params || a->n_state != b->n_state)
        return 0;
    for (size_t l = 0; l < a->n_layers; l++)
        if (a->layers[l].kind != b->layers[l].kind || a->layers[l].units != b->layers[l].units ||
            a->layers[l].has_bias != b->layers[l].has_bias ||
            memcmp(a->layers[l].out_shape, b->layers[l].out_shape, 3 * sizeof(size_t)) != 0)
            return 0;
    return 1;
}

syn_status syn_net_copy_params(syn_net *dst, const syn_net *src)
{
    if (!dst || !src)
        return SYN_ERR_INVALID_ARGUMENT;
    if (!same_shape(dst, src))
        return SYN_ERR_SHAPE;
    memcpy(dst->params, src->params, src->n_params * sizeof(float));
    if (src->n_state > 0)
        memcpy(dst->state, src->state, src->n_state * sizeof(float));
    return SYN_OK;
}

syn_status syn_net_scale_outputs(syn_net *net, const float *scale, const float *offset)
{
    if (!net || !scale)
        return SYN_ERR_INVALID_ARGUMENT;
    syn_layer *out = &net->layers[net->n_layers - 1];
    if (out->kind != SYN_LAYER_DENSE || out->activation != SYN_ACT_LINEAR ||
        (offset && !out->has_bias))
        return SYN_ERR_INVALID_ARGUMENT;
    for (size_t o = 0; o < out->units; o++)
        if (!isfinite(scale[o]) || (offset && !isfinite(offset[o])))
            return SYN_ERR_INVALID_ARGUMENT;
    /* scale * (W x + b) + offset = (scale W) x + (scale b + offset). */
    for (size_t o = 0; o < out->units; o++) {
        float *w = net->params + out->w_off + o * out->n_in;
        for (size_t i = 0; i < out->n_in; i++)
            w[i] *= scale[o];
        if (out->has_bias) {
            float *b = net->params + out->b_off + o;
            *b = *b * scale[o] + (offset ? offset[o] : 0.0f);
        }
    }
    return SYN_OK;
}

syn_status syn_net_init_weights(syn_net *net, syn_init init, uint64_t seed)
{
    if (!net || (unsigned)init >= SYN_INIT_COUNT_)
        return SYN_ERR_INVALID_ARGUMENT;
    syn_rng rng;
    syn_rng_seed(&rng, seed);
    /* One generator through the layers in order: kinds without weights
     * draw nothing, so a dense net's weights are what they always were. */
    for (size_t l = 0; l < net->n_layers; l++)
        syn_layer_ops_of(net->layers[l].kind)
            ->init(&net->layers[l], net->params, net->state, init, &rng);
    return SYN_OK;
}

size_t syn_net_n_inputs(const syn_net *net)
{
    return net ? net->n_inputs : 0;
}

size_t syn_net_n_outputs(const syn_net *net)
{
    return net ? net->layers[net->n_layers - 1].units : 0;
}

size_t syn_net_n_layers(const syn_net *net)
{
    return net ? net->n_layers : 0;
}

size_t syn_net_param_count(const syn_net *net)
{
    return net ? net->n_params : 0;
}

syn_loss syn_net_loss(const syn_net *net)
{
    return net ? net->loss : SYN_LOSS_MSE;
}

syn_reduction syn_net_reduction(const syn_net *net)
{
    return net ? net->reduction : SYN_REDUCTION_MEAN;
}

syn_status syn_net_set_loss(syn_net *net, syn_loss loss, syn_reduction reduction)
{
    if (!net || (unsigned)loss >= SYN_LOSS_COUNT_ || (unsigned)reduction >= SYN_REDUCTION_COUNT_)
        return SYN_ERR_INVALID_ARGUMENT;
    if (!syn_loss_output_ok(loss, net->layers[net->n_layers - 1].activation))
        return SYN_ERR_INVALID_ARGUMENT;
    if (loss != net->loss)
        syn_loss_opts_reset(&net->loss_opts);
    net->loss = loss;
    net->reduction = reduction;
    return SYN_OK;
}

syn_status syn_net_layer(const syn_net *net, size_t layer, syn_layer_desc *desc, size_t *n_in)
{
    if (!net || layer >= net->n_layers)
        return SYN_ERR_INVALID_ARGUMENT;
    const syn_layer *l = &net->layers[layer];
    if (desc) {
        memset(desc, 0, sizeof *desc);
        desc->kind = l->kind;
        /* A convolution's units are its output channels (its width is
         * channels x height x width); every other kind's, its width. */
        desc->units = l->kind == SYN_LAYER_CONV2D ? l->out_shape[0] : l->units;
        desc->activation = l->activation;
        desc->leaky_slope = l->leaky_slope; /* 0 without a parameter */
        desc->no_bias = l->w_off != (size_t)-1 && !l->has_bias; /* kinds with weights */
        desc->rate = l->rate;
        desc->eps = l->eps;
        desc->momentum = l->momentum;
        memcpy(desc->kernel, l->kernel, sizeof desc->kernel);
        memcpy(desc->stride, l->stride, sizeof desc->stride);
        memcpy(desc->dilation, l->dilation, sizeof desc->dilation);
        if (l->pad_same)
            desc->pad_same = 1;
        else
            memcpy(desc->padding, l->pad, sizeof desc->padding);
        desc->groups = l->groups;
        desc->exclude_pad = l->exclude_pad;
    }
    if (n_in)
        *n_in = l->n_in;
    return SYN_OK;
}

syn_status syn_net_input_shape(const syn_net *net, size_t shape[3])
{
    if (!net || !shape)
        return SYN_ERR_INVALID_ARGUMENT;
    memcpy(shape, net->in_shape, 3 * sizeof *shape);
    return SYN_OK;
}

syn_status syn_net_layer_shape(const syn_net *net, size_t layer, size_t shape[3])
{
    if (!net || !shape || layer >= net->n_layers)
        return SYN_ERR_INVALID_ARGUMENT;
    memcpy(shape, net->layers[layer].out_shape, 3 * sizeof *shape);
    return SYN_OK;
}

float *syn_net_params(syn_net *net, size_t *count)
{
    if (count)
        *count = net ? net->n_params : 0;
    return net ? net->params : NULL;
}

const float *syn_net_params_const(const syn_net *net, size_t *count)
{
    if (count)
        *count = net ? net->n_params : 0;
    return net ? net->params : NULL;
}

size_t syn_net_first_kind_not(const syn_net *net, unsigned ok)
{
    for (size_t l = 0; l < net->n_layers; l++)
        if (!(ok & (1u << net->layers[l].kind)))
            return l;
    return net->n_layers;
}

float *syn_net_state(syn_net *net, size_t *count)
{
    if (count)
        *count = net ? net->n_state : 0;
    return net ? net->state : NULL;
}

syn_status syn_net_layer_offsets(const syn_net *net, size_t layer, size_t *w_offset,
                                 size_t *b_offset)
{
    if (!net || layer >= net->n_layers)
        return SYN_ERR_INVALID_ARGUMENT;
    if (w_offset)
        *w_offset = net->layers[layer].w_off;
    if (b_offset)
        *b_offset = net->layers[layer].b_off;
    return SYN_OK;
}

syn_status syn_net_layer_params(syn_net *net, size_t layer, float **weights, float **bias)
{
    if (!net || layer >= net->n_layers)
        return SYN_ERR_INVALID_ARGUMENT;
    const syn_layer *l = &net->layers[layer];
    if (weights)
        *weights = l->w_off != (size_t)-1 ? net->params + l->w_off : NULL;
    if (bias)
        *bias = l->has_bias ? net->params + l->b_off : NULL;
    return SYN_OK;
}

syn_status syn_net_set_input_scaling(syn_net *net, const float *offset, const float *scale)
{
    if (!net || (!offset) != (!scale))
        return SYN_ERR_INVALID_ARGUMENT;
    if (!offset) {
        syn_free_aligned(net->scale_offset);
        syn_free_aligned(net->scale_mul);
        net->scale_offset = net->scale_mul = NULL;
        return SYN_OK;
    }
    for (size_t j = 0; j < net->n_inputs; j++)
        if (!isfinite(offset[j]) || !isfinite(scale[j]))
            return SYN_ERR_INVALID_ARGUMENT;
    float *new_offset = syn_alloc_floats(net->n_inputs);
    float *new_scale = syn_alloc_floats(net->n_inputs);
    if (!new_offset || !new_scale) {
        syn_free_aligned(new_offset);
        syn_free_aligned(new_scale);
        return SYN_ERR_OUT_OF_MEMORY;
    }
    memcpy(new_offset, offset, net->n_inputs * sizeof(float));
    memcpy(new_scale, scale, net->n_inputs * sizeof(float));
    syn_free_aligned(net->scale_offset);
    syn_free_aligned(net->scale_mul);
    net->scale_offset = new_offset;
    net->scale_mul = new_scale;
    return SYN_OK;
}

syn_status syn_net_input_scaling(const syn_net *net, const float **offset, const float **scale)
{
    if (!net)
        return SYN_ERR_INVALID_ARGUMENT;
    if (offset)
        *offset = net->scale_offset;
    if (scale)
        *scale = net->scale_mul;
    return SYN_OK;
}

syn_status syn_net_set_class_names(syn_net *net, const char *const *names, size_t count)
{
    if (!net || (count > 0 && !names))
        return SYN_ERR_INVALID_ARGUMENT;
    for (size_t i = 0; i < count; i++)
        if (!names[i])
            return SYN_ERR_INVALID_ARGUMENT;
    char **copy = NULL;
    if (count > 0) {
        copy = calloc(count, sizeof *copy);
        if (!copy)
            return SYN_ERR_OUT_OF_MEMORY;
        for (size_t i = 0; i < count; i++) {
            copy[i] = syn_strdup(names[i]);
            if (!copy[i]) {
                free_class_names(copy, count);
                return SYN_ERR_OUT_OF_MEMORY;
            }
        }
    }
    free_class_names(net->class_names, net->n_class_names);
    net->class_names = copy;
    net->n_class_names = count;
    return SYN_OK;
}

size_t syn_net_n_class_names(const syn_net *net)
{
    return net ? net->n_class_names : 0;
}

const char *syn_net_class_name(const syn_net *net, size_t i)
{
    return net && i < net->n_class_names ? net->class_names[i] : NULL;
}

syn_status syn_net_set_meta(syn_net *net, const syn_train_meta *meta)
{
    if (!net || !meta)
        return SYN_ERR_INVALID_ARGUMENT;
    net->meta = *meta;
    net->meta.library_version[sizeof net->meta.library_version - 1] = '\0';
    net->meta.optimizer[sizeof net->meta.optimizer - 1] = '\0';
    return SYN_OK;
}

syn_status syn_net_meta(const syn_net *net, syn_train_meta *meta)
{
    if (!net || !meta)
        return SYN_ERR_INVALID_ARGUMENT;
    *meta = net->meta;
    return SYN_OK;
}
