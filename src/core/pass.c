/* pass.c - workspaces and the forward and backward passes: a loop over the
 * layers, each run by its kind's ops (layers/layer.h), with the activation
 * derivative of the layer below applied between them; or the small-network
 * path (kernels/small.h) when every layer allows it. Work is split by
 * output rows or columns only, so results do not depend on the thread
 * count. */
#include <stdlib.h>
#include <string.h>

#include "data/dataset_internal.h"
#include "core/internal.h"
#include "kernels/gemm.h"
#include "kernels/small.h"
#include "layers/layer.h"

/* Element-wise loops below this size are not worth waking threads for;
 * rows per chunk of the row-wise loops (the layers' cuts, layer.h). */
#define SYN_PARALLEL_MIN SYN_LAYER_PARALLEL_MIN
#define SYN_ROWS_PER_CHUNK SYN_LAYER_ROWS_PER_CHUNK

/* The pool for a loop of `elems` elements: NULL (the caller alone) when it
 * is too small to be worth a second thread. */
static syn_pool *pool_for(const syn_workspace *ws, size_t elems)
{
    return elems > SYN_PARALLEL_MIN ? ws->pool : NULL;
}

static void workspace_release(syn_workspace *ws)
{
    if (!ws)
        return;
    for (size_t l = 0; l < ws->n_layers; l++) {
        if (ws->act)
            syn_free_aligned(ws->act[l]);
        if (ws->pre)
            syn_free_aligned(ws->pre[l]);
    }
    free(ws->act);
    free(ws->pre);
    free(ws->layout);
    free(ws->widths);
    syn_free_aligned(ws->input);
    syn_free_aligned(ws->logits);
    syn_free_aligned(ws->delta[0]);
    syn_free_aligned(ws->delta[1]);
    syn_free_aligned(ws->grads);
    syn_free_aligned(ws->small_acc);
    syn_free_aligned(ws->scratch);
    free(ws->small_bufs);
    if (ws->saved)
        for (size_t l = 0; l < ws->n_layers; l++)
            syn_free_aligned(ws->saved[l]);
    free(ws->saved);
    free(ws->saved_size);
    if (ws->owns_pool)
        syn_pool_free(ws->pool);
    free(ws);
}

void syn_workspace_free(syn_workspace *ws)
{
    workspace_release(ws);
}

/* [batch x width] floats, with the size checked, and 16 floats of slack
 * after the last row: the small-network path writes each row as a whole
 * 16-float vector, in row order (kernels/small.h). */
static float *alloc_block(size_t batch, size_t width)
{
    size_t n;
    if (!syn_mul_size(batch, width, &n) || !syn_add_size(n, SYN_SMALL_WIDTH, &n))
        return NULL;
    return syn_alloc_floats(n);
}

/* The floats of layer l's saved block for passes of max_batch rows. */
static int saved_floats(const syn_layer *layer, size_t max_batch, size_t *n)
{
    return syn_mul_size(max_batch, layer->saved_per_row, n) &&
           syn_add_size(*n, layer->saved_fixed, n);
}

/* Layer l's part of an inference workspace's plan (syn_chunk_plan): the
 * floats it holds per row, and what keeps a cut's bits those of the whole
 * batch. Element-wise and per-sample kinds compute each row alone. A
 * matrix product on the built-in tiles forms each element of C from its
 * row of A and column of B alone (kernels/gemm_builtin_driver.h), but
 * below SYN_GEMM_SMALL_MACS, or on OpenBLAS, the sums change with the
 * shape: a dense layer's blocks need that many rows, a convolution's
 * product for one sample must already be above it. */
void syn_chunk_plan_layer(syn_chunk_plan *c, syn_layer_kind kind, size_t l, size_t n_layers,
                          size_t n_in, size_t units, size_t saved_per_row, size_t kg,
                          size_t pos)
{
    if (l + 1 < n_layers && !syn_add_size(c->per_row, units, &c->per_row))
        c->whole = 1;
    if (!syn_add_size(c->per_row, saved_per_row, &c->per_row))
        c->whole = 1;
    switch (kind) {
    case SYN_LAYER_DENSE: {
        double macs = (double)units * (double)n_in;
        size_t rows = macs >= 4096.0 ? 1 : (size_t)(4096.0 / macs) + 1;
        if (!syn_gemm_rows_stable(units, n_in, rows))
            c->whole = 1;
        if (rows > c->min_rows)
            c->min_rows = rows;
        break;
    }
    case SYN_LAYER_CONV2D:
        if (!syn_gemm_rows_stable(1, kg, pos))
            c->whole = 1;
        break;
    case SYN_LAYER_DROPOUT:
    case SYN_LAYER_BATCHNORM:
    case SYN_LAYER_LAYERNORM:
    case SYN_LAYER_MAXPOOL2D:
    case SYN_LAYER_AVGPOOL2D:
    case SYN_LAYER_GLOBAL_AVGPOOL:
    case SYN_LAYER_BATCHNORM2D:
    case SYN_LAYER_DROPOUT2D:
    case SYN_LAYER_FLATTEN: break; /* each row alone in inference */
    case SYN_LAYER_COUNT_: c->whole = 1; break;
    }
}

int syn_chunk_plan_rows(const syn_chunk_plan *c, int small, size_t max_batch, size_t *block,
                        size_t *chunk)
{
    *block = *chunk = max_batch;
    if (small || c->whole || c->per_row == 0)
        return 1;
    size_t rows = SYN_INFERENCE_BLOCK_BYTES / sizeof(float) / c->per_row;
    size_t min_rows = c->min_rows > 0 ? c->min_rows : 1;
    if (rows < min_rows)
        rows = min_rows;
    /* Whole chunks of the layers' 16-row cuts. */
    size_t r16 = SYN_ROWS_PER_CHUNK, b;
    if (!syn_add_size(rows, r16 - 1, &rows))
        return 0;
    rows -= rows % r16;
    /* A cut leaves at least min_rows, or the last block takes them. */
    if (!syn_add_size(rows, min_rows - 1, &b))
        return 0;
    if (b < max_batch) {
        *block = b;
        *chunk = rows;
    }
    return 1;
}

/* The inference workspace's plan from the built layers. */
static int net_chunk_rows(const syn_net *net, size_t max_batch, size_t *block, size_t *chunk,
                          size_t *min_rows)
{
    syn_chunk_plan c = {0, 1, 0};
    for (size_t l = 0; l < net->n_layers; l++) {
        const syn_layer *y = &net->layers[l];
        size_t kg = 0, pos = 0;
        if (y->kind == SYN_LAYER_CONV2D) {
            kg = y->in_shape[0] / y->groups * y->kernel[0] * y->kernel[1];
            pos = y->out_shape[1] * y->out_shape[2];
        }
        syn_chunk_plan_layer(&c, y->kind, l, net->n_layers, y->n_in, y->units,
                             y->saved_per_row, kg, pos);
    }
    int small = net->small_ok && net->max_width <= SYN_SMALL_WIDTH;
    *min_rows = c.min_rows;
    return syn_chunk_plan_rows(&c, small, max_batch, block, chunk);
}

/* Both kinds of workspace: a training one (every block for max_batch
 * rows), or an inference one (no backward blocks; hidden layers' blocks
 * for block_rows rows). */
static syn_status workspace_create(const syn_net *net, size_t max_batch, int inference,
                                   syn_workspace **out)
{
    if (!out)
        return SYN_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if (!net || max_batch == 0)
        return SYN_ERR_INVALID_ARGUMENT;
    size_t probe, block = max_batch, chunk = max_batch;
    if (!syn_mul_size(max_batch, net->max_width, &probe) ||
        !syn_mul_size(probe, sizeof(float), &probe))
        return SYN_ERR_OVERFLOW;
    size_t min_rows = 1;
    if (inference && !net_chunk_rows(net, max_batch, &block, &chunk, &min_rows))
        return SYN_ERR_OVERFLOW;
    syn_workspace *ws = calloc(1, sizeof *ws);
    if (!ws)
        return SYN_ERR_OUT_OF_MEMORY;
    ws->n_layers = net->n_layers;
    ws->n_params = net->n_params;
    ws->max_batch = max_batch;
    ws->inference = inference;
    ws->block_rows = block;
    ws->chunk_rows = chunk;
    ws->min_rows = min_rows;
    ws->widths = calloc(net->n_layers + 1, sizeof *ws->widths);
    ws->act = calloc(net->n_layers, sizeof *ws->act);
    ws->pre = calloc(net->n_layers, sizeof *ws->pre);
    ws->saved = calloc(net->n_layers, sizeof *ws->saved);
    ws->saved_size = calloc(net->n_layers, sizeof *ws->saved_size);
    ws->layout = malloc(net->layout_len * sizeof *ws->layout);
    ws->layout_len = net->layout_len;
    ws->pool = syn_pool_create(0);
    ws->owns_pool = 1;
    syn_status st = SYN_OK;
    if (!ws->widths || !ws->act || !ws->pre || !ws->saved || !ws->saved_size || !ws->pool ||
        !ws->layout) {
        workspace_release(ws);
        return SYN_ERR_OUT_OF_MEMORY;
    }
    memcpy(ws->layout, net->layout, net->layout_len * sizeof *ws->layout);
    ws->widths[0] = net->n_inputs;
    for (size_t l = 0; l < net->n_layers; l++) {
        /* The output layer's block holds the whole batch: the caller's. */
        size_t rows = l + 1 == net->n_layers ? max_batch : block;
        size_t scratch;
        if (!syn_scratch_floats(net->layers[l].scratch_per_row, net->layers[l].scratch_rows,
                                net->layers[l].scratch_fixed, block, &scratch))
            st = SYN_ERR_OVERFLOW;
        else if (scratch > ws->scratch_size)
            ws->scratch_size = scratch;
        ws->widths[l + 1] = net->layers[l].units;
        ws->act[l] = alloc_block(rows, net->layers[l].units);
        if (!ws->act[l])
            st = SYN_ERR_OUT_OF_MEMORY;
        if (!inference && syn_net_keeps_pre(net, l) &&
            !(ws->pre[l] = alloc_block(max_batch, net->layers[l].units)))
            st = SYN_ERR_OUT_OF_MEMORY;
        size_t saved;
        if (!saved_floats(&net->layers[l], block, &saved)) {
            st = SYN_ERR_OVERFLOW;
        } else if (saved > 0) {
            ws->saved_size[l] = saved;
            if (!(ws->saved[l] = syn_alloc_floats(saved)))
                st = SYN_ERR_OUT_OF_MEMORY;
        }
    }
    ws->input = alloc_block(max_batch, net->n_inputs);
    ws->logits = alloc_block(max_batch, net->layers[net->n_layers - 1].units);
    if (!inference) {
        /* Backward leaves dL/dz of layer l in delta[(n_layers - 1 - l) % 2]
         * (backpropagate): each buffer is as wide as its own layers. */
        size_t width[2] = {0, 0};
        for (size_t l = 0; l < net->n_layers; l++) {
            size_t *w = &width[(net->n_layers - 1 - l) % 2];
            *w = net->layers[l].units > *w ? net->layers[l].units : *w;
        }
        ws->delta[0] = alloc_block(max_batch, width[0]);
        ws->delta[1] = alloc_block(max_batch, width[1]);
        ws->grads = syn_alloc_floats(net->n_params);
        if (!ws->delta[0] || !ws->delta[1] || !ws->grads)
            st = SYN_ERR_OUT_OF_MEMORY;
    }
    if (st == SYN_OK && ws->scratch_size > 0 &&
        !(ws->scratch = syn_alloc_floats(ws->scratch_size)))
        st = SYN_ERR_OUT_OF_MEMORY;
    if (!ws->input || !ws->logits)
        st = SYN_ERR_OUT_OF_MEMORY;
    if (st == SYN_OK && net->small_ok && net->max_width <= SYN_SMALL_WIDTH) {
        /* The small path's forward reads only `out`; its backward also
         * the gradient rows, which an inference workspace lacks. */
        size_t rows = net->n_layers; /* one per bias */
        for (size_t l = 0; l < net->n_layers; l++)
            rows += net->layers[l].units;
        size_t n;
        if (!syn_mul_size(rows, SYN_SMALL_WIDTH, &n))
            st = SYN_ERR_OVERFLOW;
        else if ((!inference && !(ws->small_acc = syn_alloc_floats(n))) ||
                 !(ws->small_bufs = calloc(net->n_layers, sizeof *ws->small_bufs)))
            st = SYN_ERR_OUT_OF_MEMORY;
        for (size_t l = 0; st == SYN_OK && l < net->n_layers; l++) {
            const syn_layer *layer = &net->layers[l];
            ws->small_bufs[l] = (syn_small_bufs){
                .out = ws->act[l],
                .dw = inference ? NULL : ws->grads + layer->w_off,
                .db = !inference && layer->has_bias ? ws->grads + layer->b_off : NULL,
            };
        }
    }
    if (st != SYN_OK) {
        workspace_release(ws);
        return st;
    }
    *out = ws;
    return SYN_OK;
}

syn_status syn_workspace_create(const syn_net *net, size_t max_batch, syn_workspace **out)
{
    return workspace_create(net, max_batch, 0, out);
}

syn_status syn_workspace_create_inference(const syn_net *net, size_t max_batch,
                                          syn_workspace **out)
{
    return workspace_create(net, max_batch, 1, out);
}

int syn_workspace_is_inference(const syn_workspace *ws)
{
    return ws ? ws->inference : 0;
}

size_t syn_workspace_max_batch(const syn_workspace *ws)
{
    return ws ? ws->max_batch : 0;
}

syn_status syn_workspace_set_threads(syn_workspace *ws, int n_threads)
{
    if (!ws || n_threads < 0)
        return SYN_ERR_INVALID_ARGUMENT;
    syn_pool_set_threads(ws->pool, n_threads);
    return SYN_OK;
}

void syn_workspace_use_pool(syn_workspace *ws, syn_pool *pool)
{
    if (ws->owns_pool)
        syn_pool_free(ws->pool);
    ws->pool = pool;
    ws->owns_pool = 0;
}

/* The blocks were sized from the layout (net.c, build_layout): the same layout
 * fits, whatever net it came from. */
int syn_workspace_fits(const syn_workspace *ws, const syn_net *net)
{
    return ws->layout_len == net->layout_len &&
           !memcmp(ws->layout, net->layout, net->layout_len * sizeof *ws->layout);
}

static syn_status check_pass(const syn_net *net, const syn_workspace *ws, const void *data,
                             size_t batch)
{
    if (!net || !ws || !data || batch == 0)
        return SYN_ERR_INVALID_ARGUMENT;
    if (batch > ws->max_batch || !syn_workspace_fits(ws, net))
        return SYN_ERR_SHAPE;
    return SYN_OK;
}

typedef struct scale_job {
    const float *x, *offset, *mul;
    float *input;
    size_t n;
} scale_job;

static void scale_rows(void *ctx, size_t lo, size_t hi)
{
    const scale_job *j = ctx;
    for (size_t r = lo; r < hi; r++) {
        const float *src = j->x + r * j->n;
        float *dst = j->input + r * j->n;
        for (size_t c = 0; c < j->n; c++)
            dst[c] = (src[c] - j->offset[c]) * j->mul[c];
    }
}

/* Copies x into the workspace, applying the network's input scaling. */
static void load_input(const syn_net *net, syn_workspace *ws, const float *x, size_t batch)
{
    size_t n = net->n_inputs;
    if (!net->scale_offset) {
        /* syn_net_predict_fields encodes straight into ws->input. */
        if (x != ws->input)
            memcpy(ws->input, x, batch * n * sizeof(float));
        return;
    }
    scale_job job = {x, net->scale_offset, net->scale_mul, ws->input, n};
    syn_pool_run_ranges(pool_for(ws, batch * n), batch, SYN_ROWS_PER_CHUNK, scale_rows, &job);
}

/* Whether a pass of `batch` rows takes the small-network path
 * (kernels/small.h): a function of the shape, the layers and the CPU only.
 * net->small exists only when every layer's small_ok says so; a dense
 * layer's is its activation row's small_path, so a net with an activation
 * the small kernels lack goes through syn_gemm and the table's own
 * derivative. */
static int small_path(const syn_net *net, const syn_workspace *ws, size_t batch)
{
#ifdef SYN_HAVE_AVX512
    /* net->small and ws->small_bufs exist for such shapes (a workspace made
     * for a net of the same shape whose activations the path lacks has no
     * blocks for it). net->small exists only where the CPU has the path
     * (net.c, build_small). */
    return net->small && ws->small_bufs && batch <= SYN_SMALL_ROWS;
#else
    (void)net, (void)ws, (void)batch;
    return 0;
#endif
}

#ifdef SYN_HAVE_AVX512
/* The small path's plain description (kernels/small.h): the net's layer
 * table and the workspace's blocks, both built when they were created. */
static const syn_small_net *small_desc(const syn_net *net, syn_workspace *ws,
                                       syn_small_net *sn)
{
    *sn = (syn_small_net){.n_layers = net->n_layers,
                          .layers = net->small,
                          .bufs = ws->small_bufs,
                          .input = ws->input,
                          .logits = ws->logits,
                          .acc = ws->small_acc,
                          .grads = ws->grads,
                          .n_grads = net->n_params,
                          .activate = syn_activation_forward};
    return sn;
}
#endif

/* Layer l's view of the pass that ws holds (or is about to run), for its
 * rows [start, start + batch): the input, output and logits blocks hold
 * the whole batch, the hidden blocks only the rows of the cut (start > 0
 * only in an inference workspace, forward_layers). */
static syn_layer_pass layer_pass_rows(const syn_net *net, float *state_out, syn_workspace *ws,
                                      size_t l, size_t start, size_t batch)
{
    int last = l + 1 == net->n_layers;
    size_t out_at = last ? start * net->layers[l].units : 0;
    syn_layer_pass p = {
        .in = l == 0 ? ws->input + start * net->n_inputs : ws->act[l - 1],
        .out = ws->act[l] + out_at,
        /* z before the activation: the output layer's logits, or a hidden
         * layer's pre-activations when its derivative needs them. */
        .logits = last ? ws->logits + out_at : ws->pre[l],
        .params = net->params,
        .state = net->state,
        .state_out = state_out,
        .saved = ws->saved[l],
        .batch = batch,
        .train = ws->last_train,
        .seed = ws->last_seed,
        .step = ws->last_step,
        .sample = ws->last_rows ? ws->last_rows + start : NULL,
        .pool = ws->pool,
        .scratch = ws->scratch,
    };
    return p;
}

/* Layer l's view of a pass over all `batch` rows at once. */
static syn_layer_pass layer_pass(const syn_net *net, float *state_out, syn_workspace *ws,
                                 size_t l, size_t batch)
{
    return layer_pass_rows(net, state_out, ws, l, 0, batch);
}

/* How the next pass runs: inference (train 0), or training with dropout's
 * seed, step and sample ids (rows, NULL: the row index). */
static void set_mode(syn_workspace *ws, int train, uint64_t seed, uint64_t step,
                     const size_t *rows)
{
    ws->last_train = train;
    ws->last_seed = seed;
    ws->last_step = step;
    ws->last_rows = rows;
}

/* The layers of a forward pass whose input is in ws->input (x: the same
 * input where the caller has it unscaled, for the small path to read in
 * place), in the mode set_mode chose; state_out is the net's state in
 * training mode, else NULL. */
static void forward_layers(const syn_net *net, float *state_out, syn_workspace *ws,
                           const float *x, size_t batch, const float **out)
{
    ws->last_batch = batch;
    if (out)
        *out = ws->act[net->n_layers - 1];
#ifdef SYN_HAVE_AVX512
    if (small_path(net, ws, batch)) {
        syn_small_net sn;
        syn_small_forward_net(small_desc(net, ws, &sn), x, batch);
        return;
    }
#else
    (void)x;
#endif
    /* An inference workspace runs a large batch a cut of rows at a time
     * (its hidden blocks hold block_rows rows); every cut gives each row
     * the bits the whole batch would (syn_chunk_plan_layer). */
    for (size_t start = 0; start < batch;) {
        size_t n = batch - start;
        if (n > ws->chunk_rows && n - ws->chunk_rows >= ws->min_rows)
            n = ws->chunk_rows;
        for (size_t l = 0; l < net->n_layers; l++) {
            const syn_layer *layer = &net->layers[l];
            syn_layer_pass p = layer_pass_rows(net, state_out, ws, l, start, n);
            syn_layer_ops_of(layer->kind)->forward(layer, &p);
        }
        start += n;
    }
}

/* Training passes and gradients need the blocks an inference workspace
 * does not have. */
static syn_status check_trainable(const syn_workspace *ws)
{
    return ws->inference ? SYN_ERR_INFERENCE_ONLY : SYN_OK;
}

syn_status syn_forward(const syn_net *net, syn_workspace *ws, const float *x, size_t batch,
                       const float **out)
{
    syn_status st = check_pass(net, ws, x, batch);
    if (st != SYN_OK)
        return st;
    load_input(net, ws, x, batch);
    set_mode(ws, 0, 0, 0, NULL);
    /* Unscaled input is read where it is, not from the copy just made. */
    forward_layers(net, NULL, ws, net->scale_offset ? ws->input : x, batch, out);
    return SYN_OK;
}

syn_status syn_forward_train(syn_net *net, syn_workspace *ws, const float *x, size_t batch,
                             uint64_t seed, uint64_t step, const float **out)
{
    syn_status st = syn_forward_train_ids(net, ws, x, batch, seed, step, NULL);
    if (st == SYN_OK && out)
        *out = ws->act[net->n_layers - 1];
    return st;
}

syn_status syn_forward_train_ids(syn_net *net, syn_workspace *ws, const float *x,
                                 size_t batch, uint64_t seed, uint64_t step,
                                 const size_t *ids)
{
    syn_status st = check_pass(net, ws, x, batch);
    if (st == SYN_OK)
        st = check_trainable(ws);
    if (st != SYN_OK)
        return st;
    if (batch < net->min_train_batch)
        return SYN_ERR_SHAPE;
    load_input(net, ws, x, batch);
    set_mode(ws, 1, seed, step, ids);
    forward_layers(net, net->state, ws, net->scale_offset ? ws->input : x, batch, NULL);
    return SYN_OK;
}

/* Rows of a batch gathered per chunk: enough to be worth a thread. */
#define SYN_GATHER_ROWS 16

typedef struct gather_job {
    const syn_dataset *ds;
    const size_t *rows;
    const float *offset, *mul;
    float *input;
    size_t n;
} gather_job;

static void gather_rows(void *ctx, size_t lo, size_t hi)
{
    const gather_job *j = ctx;
    syn_dataset_gather_scaled(j->ds, j->rows + lo, hi - lo, j->offset, j->mul,
                              j->input + lo * j->n);
}

/* Gathers and scales the rows into ws->input: the shared start of
 * syn_forward_rows and syn_forward_rows_train. */
static syn_status gather_input(const syn_net *net, syn_workspace *ws, const syn_dataset *ds,
                               const size_t *rows, size_t batch)
{
    syn_status st = check_pass(net, ws, rows, batch);
    if (st != SYN_OK)
        return st;
    if (!ds)
        return SYN_ERR_INVALID_ARGUMENT;
    if (syn_dataset_n_features(ds) != net->n_inputs)
        return SYN_ERR_SHAPE;
    if (!syn_dataset_rows_ok(ds, rows, batch))
        return SYN_ERR_INVALID_ARGUMENT;
    /* One pass from the dataset's rows (uint8 or float) to the scaled
     * input, in fixed blocks of rows split over the threads. */
    size_t n = net->n_inputs;
    gather_job job = {ds, rows, net->scale_offset, net->scale_mul, ws->input, n};
    syn_pool_run_ranges(pool_for(ws, batch * n), batch, SYN_GATHER_ROWS, gather_rows, &job);
    return SYN_OK;
}

syn_status syn_forward_rows(const syn_net *net, syn_workspace *ws, const syn_dataset *ds,
                            const size_t *rows, size_t batch, const float **out)
{
    syn_status st = gather_input(net, ws, ds, rows, batch);
    if (st != SYN_OK)
        return st;
    set_mode(ws, 0, 0, 0, NULL);
    forward_layers(net, NULL, ws, ws->input, batch, out);
    return SYN_OK;
}

syn_status syn_forward_rows_train(syn_net *net, syn_workspace *ws, const syn_dataset *ds,
                                  const size_t *rows, size_t batch, uint64_t seed,
                                  uint64_t step, const float **out)
{
    if (ws && ws->inference)
        return SYN_ERR_INFERENCE_ONLY;
    if (net && batch > 0 && batch < net->min_train_batch)
        return SYN_ERR_SHAPE;
    syn_status st = gather_input(net, ws, ds, rows, batch);
    if (st != SYN_OK)
        return st;
    set_mode(ws, 1, seed, step, rows);
    forward_layers(net, net->state, ws, ws->input, batch, out);
    return SYN_OK;
}

syn_status syn_loss_value(const syn_net *net, syn_workspace *ws, const float *targets,
                          size_t batch, double *loss)
{
    syn_status st = check_pass(net, ws, targets, batch);
    if (st != SYN_OK)
        return st;
    if (!loss)
        return SYN_ERR_INVALID_ARGUMENT;
    if (ws->last_batch != batch)
        return SYN_ERR_STATE;
    *loss = syn_loss_compute(net, ws, targets, batch);
    return SYN_OK;
}

typedef struct act_grad_job {
    const syn_layer *layer;
    const float *a, *z;
    float *d;
} act_grad_job;

static void act_grad_rows(void *ctx, size_t lo, size_t hi)
{
    const act_grad_job *j = ctx;
    size_t u = j->layer->units;
    for (size_t r = lo; r < hi; r++)
        syn_activation_backward(j->layer->activation, j->layer->leaky_slope, j->a + r * u,
                                j->z ? j->z + r * u : NULL, j->d + r * u, 1, u);
}

/* The previous layer's activation derivative from its outputs a and (when
 * kept) pre-activations z, rows split over threads. */
static void activation_grad(const syn_layer *layer, const float *a, const float *z, float *d,
                            size_t batch, const syn_workspace *ws)
{
    size_t u = layer->units;
    if (batch * u <= SYN_PARALLEL_MIN) {
        syn_activation_backward(layer->activation, layer->leaky_slope, a, z, d, batch, u);
        return;
    }
    act_grad_job job = {layer, a, z, d};
    syn_pool_run_ranges(ws->pool, batch, SYN_ROWS_PER_CHUNK, act_grad_rows, &job);
}

/* Backpropagates dL/dz of the output layer, held in ws->delta[0], through
 * the pass (and mode) the last forward pass ran. */
static void backpropagate(const syn_net *net, syn_workspace *ws, size_t batch)
{
#ifdef SYN_HAVE_AVX512
    if (small_path(net, ws, batch)) {
        syn_small_net sn;
        syn_small_backward_net(small_desc(net, ws, &sn), ws->delta[0], 0, batch);
        return;
    }
#endif
    int cur = 0;
    for (size_t l = net->n_layers; l-- > 0;) {
        const syn_layer *layer = &net->layers[l];
        syn_layer_pass p = layer_pass(net, NULL, ws, l, batch);
        float *d_prev = l > 0 ? ws->delta[1 - cur] : NULL;
        syn_layer_ops_of(layer->kind)->backward(layer, &p, ws->delta[cur], ws->grads, d_prev);
        if (!d_prev)
            break;
        activation_grad(&net->layers[l - 1], p.in, ws->pre[l - 1], d_prev, batch, ws);
        cur = 1 - cur;
    }
}

syn_status syn_backward(const syn_net *net, syn_workspace *ws, const float *targets,
                        size_t batch)
{
    syn_status st = check_pass(net, ws, targets, batch);
    if (st == SYN_OK)
        st = check_trainable(ws);
    if (st != SYN_OK)
        return st;
    if (ws->last_batch != batch)
        return SYN_ERR_STATE;
    syn_loss_grad(net, ws, targets, batch, ws->delta[0]);
    backpropagate(net, ws, batch);
    return SYN_OK;
}

syn_status syn_backward_from_output(const syn_net *net, syn_workspace *ws, const float *d_out,
                                    size_t batch)
{
    syn_status st = check_pass(net, ws, d_out, batch);
    if (st == SYN_OK)
        st = check_trainable(ws);
    if (st != SYN_OK)
        return st;
    if (ws->last_batch != batch)
        return SYN_ERR_STATE;
    const syn_layer *out = &net->layers[net->n_layers - 1];
#ifdef SYN_HAVE_AVX512
    /* The small path applies an element-wise output derivative itself. */
    if (small_path(net, ws, batch) && !syn_act_info_of(out->activation)->output_only) {
        syn_small_net sn;
        syn_small_backward_net(small_desc(net, ws, &sn), d_out, 1, batch);
        return SYN_OK;
    }
#endif
    memcpy(ws->delta[0], d_out, batch * out->units * sizeof(float));
    syn_activation_backward(out->activation, out->leaky_slope, ws->act[net->n_layers - 1],
                            ws->logits, ws->delta[0], batch, out->units);
    backpropagate(net, ws, batch);
    return SYN_OK;
}

int syn_net_rows_split_ok(const syn_net *net, size_t min_rows)
{
    /* The small path (passes up to SYN_SMALL_ROWS rows) sums its own way. */
    if (net->small && net->max_width <= SYN_SMALL_WIDTH)
        return 0;
    for (size_t l = 0; l < net->n_layers; l++) {
        const syn_layer *layer = &net->layers[l];
        switch (layer->kind) {
        case SYN_LAYER_DENSE:
            if (!syn_gemm_rows_stable(layer->units, layer->n_in, min_rows) ||
                (l > 0 && !syn_gemm_rows_stable(layer->n_in, layer->units, min_rows)))
                return 0;
            break;
        case SYN_LAYER_DROPOUT:
        case SYN_LAYER_FLATTEN:
            break; /* element-wise, keyed by the sample id */
        case SYN_LAYER_BATCHNORM:
        case SYN_LAYER_LAYERNORM:
        case SYN_LAYER_CONV2D:
        case SYN_LAYER_MAXPOOL2D:
        case SYN_LAYER_AVGPOOL2D:
        case SYN_LAYER_GLOBAL_AVGPOOL:
        case SYN_LAYER_BATCHNORM2D:
        case SYN_LAYER_DROPOUT2D:
        case SYN_LAYER_COUNT_: return 0;
        }
    }
    return 1;
}

syn_status syn_backward_split(const syn_net *net, syn_workspace *ws, size_t batch,
                              const size_t *cuts, size_t n_parts, float *const *grads)
{
    return syn_backward_split_each(net, ws, batch, cuts, n_parts, grads, NULL, NULL);
}

syn_status syn_backward_split_each(const syn_net *net, syn_workspace *ws, size_t batch,
                                   const size_t *cuts, size_t n_parts, float *const *grads,
                                   syn_part_done_fn done, void *ctx)
{
    if (!net || !ws || !cuts || !grads || batch == 0 || n_parts == 0 ||
        cuts[n_parts] != batch)
        return SYN_ERR_INVALID_ARGUMENT;
    if (batch > ws->max_batch || !syn_workspace_fits(ws, net))
        return SYN_ERR_SHAPE;
    if (ws->inference)
        return SYN_ERR_INFERENCE_ONLY;
    if (ws->last_batch != batch)
        return SYN_ERR_STATE;
    int cur = 0;
    for (size_t l = net->n_layers; l-- > 0;) {
        const syn_layer *layer = &net->layers[l];
        const syn_layer_ops *ops = syn_layer_ops_of(layer->kind);
        syn_layer_pass p = layer_pass(net, NULL, ws, l, batch);
        float *d_prev = l > 0 ? ws->delta[1 - cur] : NULL;
        const float *dz = ws->delta[cur];
        if (layer->kind == SYN_LAYER_DENSE) {
            /* Each part's weight gradient as a pass of its rows alone. */
            for (size_t s = 0; s < n_parts; s++) {
                syn_layer_pass part = p;
                size_t lo = cuts[s];
                part.batch = cuts[s + 1] - lo;
                part.in = p.in + lo * layer->n_in;
                ops->backward(layer, &part, dz + lo * layer->units, grads[s], NULL);
                if (done)
                    done(ctx, layer, s);
            }
            if (d_prev)
                syn_dense_input_grad(layer, &p, dz, d_prev);
        } else {
            ops->backward(layer, &p, dz, grads[0], d_prev); /* no parameters */
        }
        if (!d_prev)
            break;
        activation_grad(&net->layers[l - 1], p.in, ws->pre[l - 1], d_prev, batch, ws);
        cur = 1 - cur;
    }
    return SYN_OK;
}

float *syn_workspace_grads(syn_workspace *ws, size_t *count)
{
    if (count)
        *count = ws && !ws->inference ? ws->n_params : 0;
    return ws ? ws->grads : NULL;
}

syn_status syn_workspace_layer_grads(syn_workspace *ws, const syn_net *net, size_t layer,
                                     float **d_weights, float **d_bias)
{
    if (!ws || !net || layer >= net->n_layers)
        return SYN_ERR_INVALID_ARGUMENT;
    if (!syn_workspace_fits(ws, net))
        return SYN_ERR_SHAPE;
    if (ws->inference)
        return SYN_ERR_INFERENCE_ONLY;
    const syn_layer *l = &net->layers[layer];
    if (d_weights)
        *d_weights = l->w_off != (size_t)-1 ? ws->grads + l->w_off : NULL;
    if (d_bias)
        *d_bias = l->has_bias ? ws->grads + l->b_off : NULL;
    return SYN_OK;
}

const float *syn_workspace_activations(const syn_workspace *ws, size_t layer)
{
    if (!ws || layer >= ws->n_layers || ws->last_batch == 0 ||
        (ws->inference && layer + 1 < ws->n_layers))
        return NULL;
    return ws->act[layer];
}

/* ------------------------------------------------------------ a pass in parts
 * A sharded step's pass over a rank's shards ("parts") when the net has
 * batch norm (shard.c): each layer runs once over all rows where every row
 * comes out as in a pass of its part alone (dropout and flatten: by row;
 * dense: on products whose rows do not depend on the row count), batch
 * norm once with the sync (statistics over the whole batch), and every
 * other layer once per part on that part's rows (the views below), so each
 * part's values never depend on which parts share the pass. */

static int is_batchnorm(const syn_layer *layer)
{
    return layer->kind == SYN_LAYER_BATCHNORM || layer->kind == SYN_LAYER_BATCHNORM2D;
}

/* May layer l run once over all parts (rows of at least min_rows each)? */
static int whole_ok(const syn_net *net, size_t l, size_t min_rows)
{
    const syn_layer *layer = &net->layers[l];
    switch (layer->kind) {
    case SYN_LAYER_DENSE:
        return syn_gemm_rows_stable(layer->units, layer->n_in, min_rows) &&
               (l == 0 || syn_gemm_rows_stable(layer->n_in, layer->units, min_rows));
    case SYN_LAYER_DROPOUT:
    case SYN_LAYER_FLATTEN: return 1;
    case SYN_LAYER_BATCHNORM:
    case SYN_LAYER_LAYERNORM:
    case SYN_LAYER_CONV2D:
    case SYN_LAYER_MAXPOOL2D:
    case SYN_LAYER_AVGPOOL2D:
    case SYN_LAYER_GLOBAL_AVGPOOL:
    case SYN_LAYER_BATCHNORM2D:
    case SYN_LAYER_DROPOUT2D:
    case SYN_LAYER_COUNT_: return 0;
    }
    return 0;
}

/* The view of rows [lo, hi) of a pass p of layer l: what a pass of those
 * rows alone would see (a kind with a per-pass saved block is batch norm,
 * which never runs in part views). */
static syn_layer_pass part_view(const syn_layer *layer, const syn_layer_pass *p, size_t lo,
                                size_t hi)
{
    syn_layer_pass v = *p;
    v.in = p->in + lo * layer->n_in;
    v.out = p->out + lo * layer->units;
    v.logits = p->logits ? p->logits + lo * layer->units : NULL;
    v.saved = p->saved ? p->saved + lo * layer->saved_per_row : NULL;
    v.sample = p->sample ? p->sample + lo : NULL;
    v.batch = hi - lo;
    return v;
}

syn_status syn_forward_parts_train(syn_net *net, syn_workspace *ws, const syn_dataset *ds,
                                   const size_t *rows, const float *x, const size_t *ids,
                                   uint64_t seed, uint64_t step, const syn_layer_sync *sync,
                                   size_t min_rows)
{
    if (!net || !ws || !sync || (sync->n_parts > 0 && sync->cuts[0] != 0))
        return SYN_ERR_INVALID_ARGUMENT;
    size_t n = sync->n_parts, batch = n > 0 ? sync->cuts[n] : 0;
    if (ws->inference)
        return SYN_ERR_INFERENCE_ONLY;
    syn_status st = SYN_OK;
    if (batch > 0 && ds)
        st = gather_input(net, ws, ds, rows, batch);
    else if (batch > 0 && (st = check_pass(net, ws, x, batch)) == SYN_OK)
        load_input(net, ws, x, batch);
    if (st != SYN_OK)
        return st;
    if (!syn_workspace_fits(ws, net))
        return SYN_ERR_SHAPE;
    set_mode(ws, 1, seed, step, ds ? rows : ids);
    ws->last_batch = batch;
    for (size_t l = 0; l < net->n_layers; l++) {
        const syn_layer *layer = &net->layers[l];
        const syn_layer_ops *ops = syn_layer_ops_of(layer->kind);
        syn_layer_pass p = layer_pass(net, net->state, ws, l, batch);
        if (is_batchnorm(layer)) {
            p.sync = sync; /* also with no rows: the totals, the running statistics */
            ops->forward(layer, &p);
        } else if (batch == 0) {
            continue;
        } else if (n == 1 || whole_ok(net, l, min_rows)) {
            ops->forward(layer, &p);
        } else {
            for (size_t s = 0; s < n; s++) {
                syn_layer_pass v = part_view(layer, &p, sync->cuts[s], sync->cuts[s + 1]);
                ops->forward(layer, &v);
            }
        }
    }
    return SYN_OK;
}

syn_status syn_backward_parts(const syn_net *net, syn_workspace *ws, const syn_layer_sync *sync,
                              size_t min_rows)
{
    if (!net || !ws || !sync)
        return SYN_ERR_INVALID_ARGUMENT;
    size_t n = sync->n_parts, batch = n > 0 ? sync->cuts[n] : 0;
    if (!syn_workspace_fits(ws, net))
        return SYN_ERR_SHAPE;
    if (ws->inference)
        return SYN_ERR_INFERENCE_ONLY;
    if (ws->last_batch != batch)
        return SYN_ERR_STATE;
    int cur = 0;
    for (size_t l = net->n_layers; l-- > 0;) {
        const syn_layer *layer = &net->layers[l];
        const syn_layer_ops *ops = syn_layer_ops_of(layer->kind);
        syn_layer_pass p = layer_pass(net, NULL, ws, l, batch);
        float *d_prev = l > 0 ? ws->delta[1 - cur] : NULL;
        const float *dz = ws->delta[cur];
        if (is_batchnorm(layer)) {
            p.sync = sync;
            ops->backward(layer, &p, dz, NULL, d_prev);
        } else if (batch == 0) {
            /* nothing: only batch norm's totals need every rank */
        } else if (layer->kind == SYN_LAYER_DENSE && (n == 1 || whole_ok(net, l, min_rows))) {
            for (size_t s = 0; s < n; s++) {
                size_t lo = sync->cuts[s];
                syn_layer_pass v = part_view(layer, &p, lo, sync->cuts[s + 1]);
                ops->backward(layer, &v, dz + lo * layer->units, sync->grads[s], NULL);
            }
            if (d_prev)
                syn_dense_input_grad(layer, &p, dz, d_prev);
        } else if (layer->w_off == (size_t)-1 && layer->b_off == (size_t)-1 &&
                   whole_ok(net, l, min_rows)) {
            ops->backward(layer, &p, dz, sync->grads[0], d_prev); /* no parameters */
        } else {
            for (size_t s = 0; s < n; s++) {
                size_t lo = sync->cuts[s];
                syn_layer_pass v = part_view(layer, &p, lo, sync->cuts[s + 1]);
                ops->backward(layer, &v, dz + lo * layer->units, sync->grads[s],
                              d_prev ? d_prev + lo * layer->n_in : NULL);
            }
        }
        if (!d_prev)
            break;
        if (batch > 0)
            activation_grad(&net->layers[l - 1], p.in, ws->pre[l - 1], d_prev, batch, ws);
        cur = 1 - cur;
    }
    return SYN_OK;
}
