/* memory.c - syn_net_memory_estimate: what a network, its optimizer and a
 * trainer will allocate, computed from the description alone with every
 * product and sum checked, so a caller can refuse a network that does not
 * fit (or cannot exist) before a single large allocation. The sizes mirror
 * net.c (parameter arena), optim.c (moments), pass.c (workspace) and
 * train.c (snapshot, batch buffers). */
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

/* The parameter count and widest layer of desc, as net.c lays them out,
 * and the widths of the hidden layers whose pre-activations pass.c keeps
 * (pre_sum over n_pre layers). */
static int arena_size(const syn_net_desc *desc, size_t *n_params, size_t *units_sum,
                      size_t *max_width, size_t *pre_sum, size_t *n_pre)
{
    size_t total = 0, sum = 0, n_in = desc->n_inputs, widest = desc->n_inputs;
    *pre_sum = *n_pre = 0;
    for (size_t l = 0; l < desc->n_layers; l++) {
        size_t units = desc->layers[l].units, w;
        if (!syn_mul_size(n_in, units, &w) || !syn_add_size(total, w, &total) ||
            (!desc->layers[l].no_bias && !syn_add_size(total, units, &total)) ||
            !syn_add_size(sum, units, &sum))
            return 0;
        if (l + 1 < desc->n_layers && syn_act_info_of(desc->layers[l].activation)->needs_z) {
            if (!syn_add_size(*pre_sum, units, pre_sum))
                return 0;
            ++*n_pre;
        }
        widest = units > widest ? units : widest;
        n_in = units;
    }
    *n_params = total;
    *units_sum = sum;
    *max_width = widest;
    return 1;
}

syn_status syn_net_memory_estimate(const syn_net_desc *desc, syn_optim_kind optim, size_t batch,
                                   size_t *bytes)
{
    if (!desc || !bytes || !desc->layers || desc->n_inputs == 0 || desc->n_layers == 0 ||
        (unsigned)optim >= SYN_OPTIM_COUNT_)
        return SYN_ERR_INVALID_ARGUMENT;
    for (size_t l = 0; l < desc->n_layers; l++)
        if (desc->layers[l].units == 0 ||
            (unsigned)desc->layers[l].activation >= SYN_ACT_COUNT_)
            return SYN_ERR_INVALID_ARGUMENT;
    size_t n_params, units_sum, max_width, pre_sum, n_pre;
    if (!arena_size(desc, &n_params, &units_sum, &max_width, &pre_sum, &n_pre))
        return SYN_ERR_OVERFLOW;
    size_t n_out = desc->layers[desc->n_layers - 1].units;
    /* The state arenas of the kind's default settings (optim.c's table). */
    syn_optim_desc od = syn_optim_defaults(optim);
    size_t moments = syn_optim_state_arenas(&od);
    tally t = {0, 0};
    add_block(&t, desc->n_layers, sizeof(syn_layer)); /* the layer table */
    add_block(&t, n_params, sizeof(float));           /* parameters */
    add_block(&t, desc->n_inputs, sizeof(float));     /* input scaling offset */
    add_block(&t, desc->n_inputs, sizeof(float));     /* and multiplier */
    for (size_t m = 0; m < moments; m++)
        add_block(&t, n_params, sizeof(float));
    add_block(&t, n_params, sizeof(float)); /* the trainer's snapshot */
    if (batch > 0) {
        /* Workspace: gradients, scaled input, activations, logits, two
         * delta buffers, and for nets of width <= 16 the small path's
         * gradient rows (whole vectors, no rounding); then the trainer's
         * batch targets (its features are gathered straight into the
         * workspace's input). */
        size_t per_row = 0;
        int ok = syn_add_size(per_row, desc->n_inputs, &per_row) &&
                 syn_add_size(per_row, units_sum, &per_row) &&
                 syn_add_size(per_row, n_out, &per_row) &&
                 syn_add_size(per_row, max_width, &per_row) &&
                 syn_add_size(per_row, max_width, &per_row) &&
                 syn_add_size(per_row, n_out, &per_row) &&
                 syn_add_size(per_row, pre_sum, &per_row);
        size_t rows;
        if (!ok || !syn_mul_size(batch, per_row, &rows))
            return SYN_ERR_OVERFLOW;
        add_block(&t, n_params, sizeof(float));
        add_block(&t, rows, sizeof(float));
        add_block(&t, desc->n_layers, 3 * sizeof(size_t)); /* widths, pointers */
        if (max_width <= SYN_SMALL_WIDTH) { /* the small path's gradient rows */
            add_block(&t, units_sum, SYN_SMALL_WIDTH * sizeof(float));
            add_block(&t, desc->n_layers, SYN_SMALL_WIDTH * sizeof(float));
        }
        /* Each of the n_layers + 6 blocks may be rounded up to SYN_ALIGN,
         * and the n_layers + 4 row blocks have 16 floats (SYN_ALIGN bytes)
         * of slack (pass.c). */
        add_block(&t, desc->n_layers, 2 * SYN_ALIGN);
        add_block(&t, 6 + 4, SYN_ALIGN);
        add_block(&t, n_pre, 2 * SYN_ALIGN); /* the kept pre-activation blocks */
    }
    if (t.overflow)
        return SYN_ERR_OVERFLOW;
    *bytes = t.bytes;
    return SYN_OK;
}
