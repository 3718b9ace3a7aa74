/* internal.h - the private layout of networks and workspaces, shared by the
 * modules that run them (net, pass, train, model file). Not public. */
#ifndef SYN_INTERNAL_H
#define SYN_INTERNAL_H

#include "synapse.h"
#include "base/pool.h"
#include "base/util.h"
#include "layers/activation.h"
#include "layers/layer.h"

/* The loss's settings (syn_loss_options), owned by the net (loss.c). */
typedef struct syn_loss_opts {
    float label_smoothing;
    float *class_weights; /* [n_outputs], or NULL: all 1 */
    float huber_delta;    /* as set: 0 means 1.0 */
} syn_loss_opts;

struct syn_net {
    size_t n_inputs, n_layers;
    size_t in_shape[3]; /* each sample's C, H, W (flat: {n_inputs, 1, 1}) */
    syn_layer *layers;
    syn_loss loss;
    syn_reduction reduction;
    syn_loss_opts loss_opts;
    float *params; /* n_params floats, 64-byte aligned */
    size_t n_params;
    float *state;  /* n_state non-trained floats (BN running statistics), or NULL */
    size_t n_state;
    size_t min_train_batch; /* fewest rows a training pass takes (1, or 2 with BN) */
    int small_ok;  /* every layer's kind lets the small path run it */
    /* The small path's view of the layers (kernels/small.h), [n_layers],
     * when small_ok and every width is at most 16; else NULL. */
    struct syn_small_layer *small;
    size_t max_width; /* widest of inputs and layer outputs */
    /* Every number a workspace's blocks are sized from (net.c, build_layout),
     * [layout_len]: a workspace keeps a copy, and a pass compares the two
     * with one memcmp instead of walking the layers (the seed's XOR step
     * is ~150 ns, and that walk was 8% of it). */
    size_t *layout;
    size_t layout_len;
    float *scale_offset, *scale_mul; /* [n_inputs] each, or both NULL */
    char **class_names;
    size_t n_class_names;
    syn_encoding *encoding; /* the raw columns behind the inputs, or NULL */
    syn_train_meta meta;
};

/* Everything one thread needs to run passes of up to max_batch samples.
 * Buffers are allocated once by syn_workspace_create. */
struct syn_workspace {
    size_t n_layers, n_params, max_batch;
    size_t *layout;    /* a copy of the net's layout [layout_len] (syn_workspace_fits) */
    size_t layout_len;
    size_t *widths;    /* [n_layers + 1]: inputs, then each layer's units */
    float *input;      /* [max_batch x widths[0]]: scaled copy of x */
    float **act;       /* act[l]: [max_batch x widths[l+1]] layer outputs */
    float *logits;     /* [max_batch x n_outputs]: output pre-activation */
    /* pre[l]: [max_batch x widths[l+1]] pre-activations of hidden layer l
     * when its activation needs them for the derivative (the table's
     * needs_z), else NULL; the output layer's are `logits`. */
    float **pre;
    /* Ping-pong dL/dz buffers: delta[p] [max_batch x the widest layer l
     * with (n_layers - 1 - l) % 2 == p], the output layer's in delta[0]. */
    float *delta[2];
    float **saved;     /* saved[l]: what layer l keeps for backward (its plan), or NULL */
    size_t *saved_size; /* [n_layers] floats of each saved block */
    float *grads;      /* [n_params], the parameter layout */
    float *scratch;    /* the layers' shared scratch (im2col), or NULL */
    size_t scratch_size; /* its floats */
    /* Small-network path only (kernels/small.h; NULL for wider nets): the
     * gradient rows between row blocks of a backward pass, one aligned
     * 16-float vector per row of each layer's W and per bias,
     * [(units_sum + n_layers) x 16]. */
    float *small_acc;
    struct syn_small_bufs *small_bufs; /* [n_layers]: the path's view of the blocks */
    size_t last_batch; /* batch of the last forward pass, 0 = none */
    int last_train;    /* the last forward pass was in training mode */
    uint64_t last_seed, last_step; /* its dropout seed and step */
    const size_t *last_rows; /* its sample ids (dataset rows), or NULL */
    syn_pool *pool;    /* runs the parallel loops of the passes (pool.h) */
    int owns_pool;     /* 0 when lent by a trainer */
    /* Inference workspaces (syn_workspace_create_inference): no delta,
     * grads, pre or small_acc; the hidden layers' act and saved blocks hold
     * block_rows rows, and a pass runs in blocks of chunk_rows rows, the
     * last one taking the rest when fewer than min_rows would be left
     * (syn_chunk_plan). A training workspace: block_rows = chunk_rows =
     * max_batch. */
    int inference;
    size_t block_rows, chunk_rows, min_rows;
};

/* Bytes of hidden-layer blocks an inference workspace aims at. */
#define SYN_INFERENCE_BLOCK_BYTES ((size_t)16 << 20)

/* How an inference workspace cuts a batch into blocks of rows without
 * changing a bit (pass.c): fed one layer at a time, by pass.c from the
 * built layers and by memory.c from their plans. */
typedef struct syn_chunk_plan {
    size_t per_row;  /* floats per row of the hidden blocks (outputs, saved) */
    size_t min_rows; /* fewest rows a block may have */
    int whole;       /* 1: no cut keeps the bits, the block is the batch */
} syn_chunk_plan;

/* Adds layer l of n_layers (kind, n_in inputs, `units` outputs, saved
 * floats per row; for a convolution kg = the multiply-adds of one output
 * element and pos its output positions). */
void syn_chunk_plan_layer(syn_chunk_plan *c, syn_layer_kind kind, size_t l, size_t n_layers,
                          size_t n_in, size_t units, size_t saved_per_row, size_t kg,
                          size_t pos);
/* The rows of the blocks (block, capped at max_batch) and of a cut
 * (chunk, <= block) for passes of up to max_batch rows; small: the net
 * may take the small-network path (never cut). 0 on overflow. */
int syn_chunk_plan_rows(const syn_chunk_plan *c, int small, size_t max_batch, size_t *block,
                        size_t *chunk);

/* The trainer's one pool serves its workspace and its optimizer (the
 * objects' own pools are freed). The pool stays the caller's. */
void syn_workspace_use_pool(syn_workspace *ws, syn_pool *pool);
void syn_optimizer_use_pool(syn_optimizer *opt, syn_pool *pool);
/* Copies src's whole state (arenas, scalars, step count) into dst, an
 * optimizer of the same kind, layout and arena set; SHAPE otherwise. */
syn_status syn_optimizer_copy_state(syn_optimizer *dst, const syn_optimizer *src);

/* Is (units, activation, loss) a valid output-layer combination? */
int syn_loss_output_ok(syn_loss loss, syn_activation act);

/* syn_forward on the given rows of a dataset, gathered and scaled straight
 * into the workspace's input in one pass split over its threads (what the
 * trainer and syn_evaluate run). Errors as syn_forward's, plus SHAPE when
 * the dataset's feature count is not the net's and INVALID_ARGUMENT for a
 * row out of range. */
syn_status syn_forward_rows(const syn_net *net, syn_workspace *ws, const syn_dataset *ds,
                            const size_t *rows, size_t batch, const float **out);

/* syn_forward_rows in training mode (syn_forward_train's semantics), with
 * the dataset rows as dropout's sample ids; rows must stay valid until the
 * backward pass. */
syn_status syn_forward_rows_train(syn_net *net, syn_workspace *ws, const syn_dataset *ds,
                                  const size_t *rows, size_t batch, uint64_t seed,
                                  uint64_t step, const float **out);

/* The plan of layer l of desc with input shape in_shape (net.c): its
 * kind's plan, its output shape filled, with err naming the layer on
 * failure. */
syn_status syn_layer_plan_of(const syn_net_desc *desc, size_t l, const size_t in_shape[3],
                             syn_layer_plan *plan, syn_error *err);

/* desc's input shape, {n_inputs, 1, 1} when it gives none; INVALID_ARGUMENT
 * (err says why) when its product is not n_inputs. */
syn_status syn_input_shape_of(const syn_net_desc *desc, size_t shape[3], syn_error *err);

/* The floats of the scratch a layer with that plan (scratch_per_row,
 * scratch_rows, scratch_fixed) uses for passes of up to max_batch rows; 0
 * on overflow. */
int syn_scratch_floats(size_t per_row, size_t rows, size_t fixed, size_t max_batch, size_t *n);

/* The first layer of net whose kind is not in the `ok` bit set
 * (1u << SYN_LAYER_DENSE, ...), or n_layers: what a writer that knows only
 * some kinds refuses, naming the layer. */
size_t syn_net_first_kind_not(const syn_net *net, unsigned ok);

/* Do net and ws have the same shape? */
int syn_workspace_fits(const syn_workspace *ws, const syn_net *net);
/* Does layer l keep its pre-activations for the activation derivative
 * (the table's needs_z; the output layer's are the logits, kept anyway)? */
int syn_net_keeps_pre(const syn_net *net, size_t l);

/* Losses (loss.c): one row of a table per syn_loss. */
/* The loss's short name ("mse", "bce", "ce", "huber", "l1"), NULL for a
 * value out of range: the table's name column, for syn_loss_name/parse. */
const char *syn_loss_row_name(syn_loss loss);
/* Copies src's options into dst (a net's of net's output width); frees
 * dst's weights first. */
syn_status syn_loss_opts_copy(syn_loss_opts *dst, const syn_loss_opts *src, const syn_net *net);
void syn_loss_opts_reset(syn_loss_opts *o);
/* The share of a batch in a whole-set mean of the net's loss: the divisor
 * its mean reduction used (the rows, or the target weight with class
 * weights); for the sum reduction, the rows. The loss of many batches is
 * then sum(loss_b * share_b) / sum(share_b), exactly the loss of the set. */
double syn_loss_share(const syn_net *net, const float *targets, size_t batch);
/* Both work on the output layer of the last pass. */
double syn_loss_compute(const syn_net *net, const syn_workspace *ws, const float *targets,
                        size_t batch);
/* Writes dL/dz of the output layer (pre-activation) into dz [batch x n_out]. */
void syn_loss_grad(const syn_net *net, const syn_workspace *ws, const float *targets,
                   size_t batch, float *dz);
/* The same for rows [lo, lo + batch) of the last pass alone, as if they were
 * a pass of their own (targets and dz: those rows'): every loss is a
 * function of each row, so the sharded path (shard.c) gets each shard's
 * loss and gradient out of one pass over all of a rank's shards. */
double syn_loss_compute_rows(const syn_net *net, const syn_workspace *ws,
                             const float *targets, size_t lo, size_t batch);
void syn_loss_grad_rows(const syn_net *net, const syn_workspace *ws, const float *targets,
                        size_t lo, size_t batch, float *dz);

/* OneCycleLR's momentum cycling (optim.c): sets beta1 (Adam, AdamW, NAdam,
 * RAdam) or the momentum (momentum, Nesterov, RMSprop with a momentum
 * buffer; > 0) to m in [0, 1); *previous (may be NULL) receives the value
 * it replaced. UNSUPPORTED for an optimizer without one. */
syn_status syn_optimizer_set_momentum(syn_optimizer *opt, float m, float *previous);

/* Schedules (schedule.c): does the rate change every step (OneCycle), and
 * does the schedule watch a loss per epoch (ReduceLROnPlateau)? Both for
 * a schedule syn_schedule_check accepts. */
int syn_schedule_per_step(const syn_schedule *sc);
int syn_schedule_validated(const syn_schedule *sc);
/* ONECYCLE with cycle_momentum: the momentum (or beta1) of a step, like
 * syn_schedule_lr_step's rate; -1 when the schedule does not cycle it (or
 * during the warmup, which leaves it as the optimizer has it). */
double syn_schedule_momentum_step(const syn_schedule *sc, size_t epoch, size_t step,
                                  size_t steps_per_epoch);

/* The network and optimizer a trainer works on (train.c), for writing
 * checkpoints (checkpoint.c). */
const syn_net *syn_trainer_net_internal(const syn_trainer *tr);
const syn_optimizer *syn_trainer_optimizer_internal(const syn_trainer *tr);

/* syn_forward_train with each row's sample id for dropout (ids[r]). */
syn_status syn_forward_train_ids(syn_net *net, syn_workspace *ws, const float *x,
                                 size_t batch, uint64_t seed, uint64_t step,
                                 const size_t *ids);

/* The divisor of a pass's loss and gradient (loss.c): for the mean
 * reduction the rows, the elements or, with class weights, the batch's
 * target weight (0 when it has none), as PyTorch's reduction='mean'
 * divides; 1 for sum. */
double syn_loss_divisor(const syn_net *net, const float *targets, size_t batch);

/* Rows of out [batch x n_out] whose predicted class is y's (train.c). */
size_t syn_count_correct(const float *out, const float *y, size_t batch, size_t n_out);

/* Whether every row of a training pass over min_rows rows or more comes
 * out the same, bit for bit, whatever other rows share the pass (dense,
 * dropout and flatten layers on the built-in matrix products, pass.c). */
int syn_net_rows_split_ok(const syn_net *net, size_t min_rows);
/* syn_backward's propagation, after dL/dz of the output is in delta[0],
 * with the parameter gradients of rows [cuts[s], cuts[s + 1]) into
 * grads[s] (n_params floats each) as if each part were a pass of its own,
 * and the deltas over all rows at once; for a net syn_net_rows_split_ok
 * accepts, cuts[0] = 0 and cuts[n_parts] = batch. */
syn_status syn_backward_split(const syn_net *net, syn_workspace *ws, size_t batch,
                              const size_t *cuts, size_t n_parts, float *const *grads);
/* syn_backward_split calling done(ctx, layer, s) as soon as part s's
 * gradient of a layer with parameters is in grads[s] (while it is still
 * in cache: shard.c takes its block maxima there). */
typedef void (*syn_part_done_fn)(void *ctx, const syn_layer *layer, size_t part);
syn_status syn_backward_split_each(const syn_net *net, syn_workspace *ws, size_t batch,
                                   const size_t *cuts, size_t n_parts, float *const *grads,
                                   syn_part_done_fn done, void *ctx);

/* A training pass over the parts sync describes (rows [cuts[k],
 * cuts[k + 1]) of the dataset's rows, or of x with dropout's ids), each
 * part's rows coming out as in a pass of that part alone, with batch norm's
 * statistics over the whole batch through sync (pass.c; shard.c calls it
 * for nets with batch norm, with parts of min_rows rows or more). With no
 * parts it runs batch norm's collectives and running statistics only. */
syn_status syn_forward_parts_train(syn_net *net, syn_workspace *ws, const syn_dataset *ds,
                                   const size_t *rows, const float *x, const size_t *ids,
                                   uint64_t seed, uint64_t step, const syn_layer_sync *sync,
                                   size_t min_rows);
/* Its backward from dL/dz in delta[0]: part k's parameter gradients into
 * sync->grads[k]. */
syn_status syn_backward_parts(const syn_net *net, syn_workspace *ws, const syn_layer_sync *sync,
                              size_t min_rows);

/* The sharded gradient of a global batch (shard.c; synapse.h, "several
 * processes"). */
typedef struct syn_sharded syn_sharded;

/* One global batch: dataset rows (ds, rows) or a caller's arrays (x, y). */
typedef struct syn_shard_batch {
    syn_net *net;
    syn_workspace *ws;     /* holds syn_sharded_pass_rows(sh, batch) rows */
    float *y_buf;          /* the same rows of targets (dataset path) */
    const syn_dataset *ds;
    const size_t *rows;
    const float *x, *y;
    const size_t *ids;     /* filled by syn_sharded_batch on the x path */
    size_t batch;
    int classify;          /* count correct rows */
    uint64_t seed, step;
} syn_shard_batch;

/* Errors: INVALID_ARGUMENT for a bad comm, OVERFLOW, OUT_OF_MEMORY. */
syn_status syn_sharded_create(const syn_net *net, const syn_comm *comm, syn_sharded **out);
void syn_sharded_free(syn_sharded *sh);
/* The most rows one pass of the sharded path runs for batches of up to
 * `batch` rows: what the workspace must fit. */
size_t syn_sharded_pass_rows(const syn_sharded *sh, size_t batch);
/* The combined gradient of the batch into the workspace's gradient arena,
 * with the batch's loss and correct rows: the same on every rank. Returns
 * DIVERGED on every rank when any shard's loss or gradient is not finite,
 * a rank's local failure on every rank, or the comm's error. */
syn_status syn_sharded_batch(syn_sharded *sh, syn_shard_batch *a, double *loss,
                             size_t *correct);

#endif
