/* memory.c - syn_net_memory_estimate: what a network, its optimizer and a
 * trainer will allocate, computed from the description alone with every
 * product and sum checked, so a caller can refuse a network that does not
 * fit (or cannot exist) before a single large allocation. The sizes mirror
 * net.c (parameter arena), optim.c (moments), pass.c (workspace) and
 * train.c (snapshot, batch buffers). */
#include <string.h>

#include "core/internal.h"
#include "kernels/small.h"

/* Accumulates a byte count; the first overflow sticks. */
typedef struct tally {
    size_t bytes;
    int overflow;
} tally;

/* Adds count * size bytes, rounded up to the 64-byte blocks
 * syn_alloc_aligned hands out. */
static void add_block(tally *t, size_t count, size_t size)
{
    size_t bytes;
    if (t->overflow || !syn_mul_size(count, size, &bytes) ||
        !syn_add_size(bytes, SYN_ALIGN, &bytes) || !syn_add_size(t->bytes, bytes, &t->bytes))
        t->overflow = 1;
}

/* What net.c lays out from the same plans: the arenas, the widest layer,
 * and what pass.c allocates per layer. */
typedef struct layout {
    size_t n_params, n_state, units_sum, max_width, n_out;
    size_t saved_per_row, saved_fixed; /* summed over the layers */
    size_t saved_blocks;               /* layers that keep a saved block */
    size_t scratch;                    /* the largest layer's scratch at this batch */
    size_t pre_sum, n_pre; /* hidden layers keeping pre-activations (needs_z) */
    size_t delta_width[2]; /* the widest layer of each delta buffer (pass.c) */
    int small_ok;
    syn_chunk_plan chunk;  /* how an inference workspace cuts a batch (pass.c) */
} layout;

static syn_status plan_layout(const syn_net_desc *desc, size_t batch, layout *o)
{
    size_t n_in = desc->n_inputs, shape[3];
    memset(o, 0, sizeof *o);
    if (syn_input_shape_of(desc, shape, NULL) != SYN_OK)
        return SYN_ERR_INVALID_ARGUMENT;
    o->max_width = desc->n_inputs;
    o->small_ok = 1;
    o->chunk.min_rows = 1;
    for (size_t l = 0; l < desc->n_layers; l++) {
        syn_layer_plan p;
        syn_status st = syn_layer_plan_of(desc, l, shape, &p, NULL);
        if (st != SYN_OK)
            return st;
        memcpy(shape, p.out_shape, sizeof shape);
        size_t scratch;
        if (!syn_scratch_floats(p.scratch_per_row, p.scratch_rows, p.scratch_fixed, batch,
                                &scratch))
            return SYN_ERR_OVERFLOW;
        if (scratch > o->scratch)
            o->scratch = scratch;
        if (!syn_add_size(o->n_params, p.w_size, &o->n_params) ||
            !syn_add_size(o->n_params, p.b_size, &o->n_params) ||
            !syn_add_size(o->n_state, p.n_state, &o->n_state) ||
            !syn_add_size(o->units_sum, p.units, &o->units_sum) ||
            !syn_add_size(o->saved_per_row, p.saved_per_row, &o->saved_per_row) ||
            !syn_add_size(o->saved_fixed, p.saved_fixed, &o->saved_fixed))
            return SYN_ERR_OVERFLOW;
        if (p.saved_per_row > 0 || p.saved_fixed > 0)
            o->saved_blocks++;
        if (l + 1 < desc->n_layers && syn_act_info_of(desc->layers[l].activation)->needs_z) {
            if (!syn_add_size(o->pre_sum, p.units, &o->pre_sum))
                return SYN_ERR_OVERFLOW;
            o->n_pre++;
        }
        /* The kind's own answer, as net.c asks it of the built layer. */
        syn_layer probe = {.kind = desc->layers[l].kind, .activation = desc->layers[l].activation};
        if (!syn_layer_ops_of(probe.kind)->small_ok(&probe))
            o->small_ok = 0;
        size_t kg = 0, pos = 0; /* a convolution's product per output element */
        if (desc->layers[l].kind == SYN_LAYER_CONV2D && p.out_shape[0] > 0) {
            kg = p.w_size / p.out_shape[0];
            pos = p.out_shape[1] * p.out_shape[2];
        }
        syn_chunk_plan_layer(&o->chunk, desc->layers[l].kind, l, desc->n_layers, n_in, p.units,
                             p.saved_per_row, kg, pos);
        o->max_width = p.units > o->max_width ? p.units : o->max_width;
        size_t *dw = &o->delta_width[(desc->n_layers - 1 - l) % 2];
        *dw = p.units > *dw ? p.units : *dw;
        n_in = p.units;
    }
    o->n_out = n_in;
    return SYN_OK;
}

syn_status syn_net_memory_estimate(const syn_net_desc *desc, syn_optim_kind optim, size_t batch,
                                   size_t *bytes)
{
    if (!desc || !bytes || !desc->layers || desc->n_inputs == 0 || desc->n_layers == 0 ||
        (unsigned)optim >= SYN_OPTIM_COUNT_)
        return SYN_ERR_INVALID_ARGUMENT;
    layout o;
    syn_status st = plan_layout(desc, batch, &o);
    if (st != SYN_OK)
        return st;
    size_t n_params = o.n_params, units_sum = o.units_sum, max_width = o.max_width;
    size_t n_out = o.n_out;
    /* The state arenas of the kind's default settings (optim.c's table). */
    syn_optim_desc od = syn_optim_defaults(optim);
    size_t moments = syn_optim_state_arenas(&od);
    tally t = {0, 0};
    add_block(&t, desc->n_layers, sizeof(syn_layer)); /* the layer table */
    add_block(&t, n_params, sizeof(float));           /* parameters */
    if (o.n_state > 0)
        add_block(&t, o.n_state, sizeof(float));      /* state (running statistics) */
    add_block(&t, desc->n_inputs, sizeof(float));     /* input scaling offset */
    add_block(&t, desc->n_inputs, sizeof(float));     /* and multiplier */
    for (size_t m = 0; m < moments; m++)
        add_block(&t, n_params, sizeof(float));
    size_t snapshot;
    if (!syn_add_size(n_params, o.n_state, &snapshot))
        return SYN_ERR_OVERFLOW;
    add_block(&t, snapshot, sizeof(float)); /* the trainer's snapshot */
    if (batch > 0) {
        /* Workspace: gradients, scaled input, activations, logits, two
         * delta buffers (each as wide as its layers), and for nets of width <= 16 the small path's
         * gradient rows (whole vectors, no rounding); then the trainer's
         * batch targets (its features are gathered straight into the
         * workspace's input). */
        size_t per_row = 0;
        int ok = syn_add_size(per_row, desc->n_inputs, &per_row) &&
                 syn_add_size(per_row, units_sum, &per_row) &&
                 syn_add_size(per_row, n_out, &per_row) &&
                 syn_add_size(per_row, o.delta_width[0], &per_row) &&
                 syn_add_size(per_row, o.delta_width[1], &per_row) &&
                 syn_add_size(per_row, n_out, &per_row) &&
                 syn_add_size(per_row, o.pre_sum, &per_row);
        size_t rows;
        if (!ok || !syn_mul_size(batch, per_row, &rows))
            return SYN_ERR_OVERFLOW;
        add_block(&t, n_params, sizeof(float));
        add_block(&t, rows, sizeof(float));
        add_block(&t, desc->n_layers, 5 * sizeof(size_t)); /* widths, pointers, saved, pre */
        if (o.saved_blocks > 0) { /* the layers' saved blocks */
            size_t saved;
            if (!syn_mul_size(batch, o.saved_per_row, &saved) ||
                !syn_add_size(saved, o.saved_fixed, &saved))
                return SYN_ERR_OVERFLOW;
            add_block(&t, saved, sizeof(float));
            add_block(&t, o.saved_blocks, SYN_ALIGN);
        }
        if (o.scratch > 0) /* the layers' shared scratch (im2col) */
            add_block(&t, o.scratch, sizeof(float));
        if (o.small_ok && max_width <= SYN_SMALL_WIDTH) { /* the small path's rows */
            add_block(&t, units_sum, SYN_SMALL_WIDTH * sizeof(float));
            add_block(&t, desc->n_layers, SYN_SMALL_WIDTH * sizeof(float));
            add_block(&t, desc->n_layers, sizeof(syn_small_layer));
            add_block(&t, desc->n_layers, sizeof(syn_small_bufs));
        }
        /* Each of the n_layers + 6 blocks may be rounded up to SYN_ALIGN,
         * and the n_layers + 4 row blocks have 16 floats (SYN_ALIGN bytes)
         * of slack (pass.c). */
        add_block(&t, desc->n_layers, 2 * SYN_ALIGN);
        add_block(&t, 6 + 4, SYN_ALIGN);
        add_block(&t, o.n_pre, 2 * SYN_ALIGN); /* the kept pre-activation blocks */
    }
    if (t.overflow)
        return SYN_ERR_OVERFLOW;
    *bytes = t.bytes;
    return SYN_OK;
}

syn_status syn_net_memory_estimate_inference(const syn_net_desc *desc, size_t max_batch,
                                             size_t *bytes)
{
    if (!desc || !bytes || !desc->layers || desc->n_inputs == 0 || desc->n_layers == 0 ||
        max_batch == 0)
        return SYN_ERR_INVALID_ARGUMENT;
    layout o;
    syn_status st = plan_layout(desc, max_batch, &o);
    if (st != SYN_OK)
        return st;
    size_t block, chunk;
    int small = o.small_ok && o.max_width <= SYN_SMALL_WIDTH;
    if (!syn_chunk_plan_rows(&o.chunk, small, max_batch, &block, &chunk))
        return SYN_ERR_OVERFLOW;
    /* The scratch of a block's passes. */
    if (block != max_batch && (st = plan_layout(desc, block, &o)) != SYN_OK)
        return st;
    /* pass.c: the input, the output layer's outputs and logits for the
     * whole batch, the hidden layers' outputs for a block, no gradients,
     * deltas or pre-activations. */
    size_t hidden = o.units_sum - o.n_out, whole, part, floats;
    int ok = syn_add_size(desc->n_inputs, o.n_out, &whole) &&
             syn_add_size(whole, o.n_out, &whole) && syn_mul_size(whole, max_batch, &whole) &&
             syn_mul_size(hidden, block, &part) && syn_add_size(whole, part, &floats);
    if (!ok)
        return SYN_ERR_OVERFLOW;
    tally t = {0, 0};
    add_block(&t, desc->n_layers, 5 * sizeof(size_t)); /* widths, pointers, saved, pre */
    add_block(&t, floats, sizeof(float));
    if (o.saved_blocks > 0) {
        size_t saved;
        if (!syn_mul_size(block, o.saved_per_row, &saved) ||
            !syn_add_size(saved, o.saved_fixed, &saved))
            return SYN_ERR_OVERFLOW;
        add_block(&t, saved, sizeof(float));
        add_block(&t, o.saved_blocks, SYN_ALIGN);
    }
    if (o.scratch > 0)
        add_block(&t, o.scratch, sizeof(float));
    if (small)
        add_block(&t, desc->n_layers, sizeof(syn_small_bufs));
    /* The n_layers + 2 row blocks: 16 floats of slack each, and rounding. */
    add_block(&t, desc->n_layers + 2, 2 * SYN_ALIGN);
    if (t.overflow)
        return SYN_ERR_OVERFLOW;
    *bytes = t.bytes;
    return SYN_OK;
}
