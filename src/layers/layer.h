/* layer.h - the ops table of layer kinds (issue 14). Each kind is one file
 * (dense.c, dropout.c, batchnorm.c, layernorm.c) filling one row of the
 * table in layer.c; the core (net.c, pass.c, memory.c) only ever goes
 * through these rows, so a new kind is a new file, a new enum value and a
 * new row (layer.c's _Static_assert names a missing one).
 *
 * A layer computes z = f(x) from its input block and then applies its
 * activation (a = act(z)); backward receives dL/dz and returns dL/dx, and
 * the core applies the activation derivative of the layer below. Every
 * function works on raw pointers and sizes, and splits its work by rows or
 * columns into chunks fixed by the shape (never a reduction across
 * threads), so results are the same for any thread count.
 *
 * Layer level: includes base/, kernels/ and synapse.h, nothing of the core. */
#ifndef SYN_LAYERS_LAYER_H
#define SYN_LAYERS_LAYER_H

#include <stddef.h>
#include <stdint.h>

#include "synapse.h"
#include "base/pool.h"
#include "layers/activation.h"
#include "layers/layer_export.h"

/* A layer of a built network (the net's layer table). */
typedef struct syn_layer {
    syn_layer_kind kind;
    size_t n_in, units;       /* input and output widths */
    syn_activation activation;
    float leaky_slope;        /* effective (syn_activation_param: the table's
                               * default when the desc said 0; 0 without one) */
    int has_bias;             /* dense: b; norms: beta */
    size_t w_off, b_off;      /* parameter arena: W or gamma, b or beta; (size_t)-1: none */
    size_t s_off;             /* state arena: running mean then var; (size_t)-1: none */
    float rate;               /* dropout probability */
    float eps, momentum;      /* effective values (defaults applied) */
    size_t saved_per_row, saved_fixed; /* from the plan: the workspace's saved block */
    /* Images (issue 15): shapes are channels, height, width (NCHW). */
    size_t in_shape[3], out_shape[3];
    size_t kernel[2], stride[2], dilation[2]; /* conv, pools: effective values */
    size_t pad[2];            /* padding before (top, left); after is what the output needs */
    size_t groups;            /* conv */
    int exclude_pad;          /* avg pool: count_include_pad=False */
    int pad_same;             /* conv: padding='same' (pad[] is its before part) */
    size_t channels, spatial; /* norms: statistics per channel over `spatial` floats */
    size_t scratch_per_row, scratch_rows; /* from the plan: the shared scratch block */
    size_t scratch_fixed;
    int conv_direct;          /* conv: the direct kernel set that runs it (conv_direct.h) */
    int conv_gemm_dx;         /* and its input gradient is im2col + GEMM's (conv2d.c) */
} syn_layer;

/* What a kind needs, from its description and input width: the sizes the
 * net's arenas and a workspace are laid out from (net.c, pass.c) and the
 * memory estimate is computed from (memory.c), so the two cannot drift. */
typedef struct syn_layer_plan {
    size_t units;          /* output width */
    size_t w_size, b_size; /* parameter floats: the first block, the bias block */
    size_t n_state;        /* non-trained floats saved with the model */
    size_t saved_per_row;  /* workspace floats kept for backward, per batch row */
    size_t saved_fixed;    /* and per pass */
    size_t min_train_batch; /* a training pass needs this many rows (BN: 2) */
    size_t out_shape[3];   /* C, H, W; zero: the core sets {units, 1, 1}, or the
                            * input's shape for a kind that keeps_shape */
    /* Workspace floats a pass uses only while the layer runs (im2col): the
     * workspace's one scratch block holds the largest layer's
     * scratch_per_row * min(max_batch, scratch_rows) + scratch_fixed. */
    size_t scratch_per_row, scratch_rows, scratch_fixed;
} syn_layer_plan;

/* A batch split into parts whose rows several passes compute (the shards
 * of a sharded step, spread over ranks: core/shard.c). A batch-norm layer
 * given one sums each of this pass's parts on its own, in row order, and
 * `combine` turns the parts' values into totals over every part of the
 * whole batch, added in part order: the same doubles on every rank for any
 * rank count. */
typedef struct syn_layer_sync {
    size_t n_parts;          /* this pass's parts (0: a rank with no rows) */
    const size_t *cuts;      /* [n_parts + 1] their rows in the pass */
    float *const *grads;     /* [n_parts] each part's gradient arena (backward) */
    size_t total_rows;       /* rows of the whole batch */
    double *work;            /* [n_parts x 2 x channels] room for partial sums */
    double *totals;          /* [2 x channels] room for the totals */
    /* totals[0..m) <- per j, the sum over the batch's parts of their value
     * j; this pass's parts give parts[k * m + j] (k < n_parts). A failed
     * collective leaves zeros; its status is the implementation's. Called
     * on the pass's thread, outside pool jobs. */
    void (*combine)(void *ctx, const double *parts, size_t m, double *totals);
    void *ctx;
} syn_layer_sync;

/* One layer's view of a pass. */
typedef struct syn_layer_pass {
    const float *in;       /* [batch x n_in] the layer's input */
    float *out;            /* [batch x units] its output (after activation) */
    float *logits;         /* output layer: receives z before the activation */
    const float *params;   /* the net's parameter arena */
    const float *state;    /* the net's state arena */
    float *state_out;      /* the same, writable, in training mode only */
    float *saved;          /* the layer's saved block (NULL if it keeps none) */
    size_t batch;
    int train;             /* training mode (dropout masks, batch statistics) */
    uint64_t seed, step;   /* dropout: the trainer's seed and step */
    const size_t *sample;  /* dropout: each row's sample id; NULL: the row */
    syn_pool *pool;        /* NULL: run on the caller */
    float *scratch;        /* the shared scratch block (plan.scratch_*), or NULL */
    /* Training statistics over a batch several passes share (batch norm),
     * or NULL: over this pass's rows. */
    const syn_layer_sync *sync;
} syn_layer_pass;

typedef struct syn_layer_ops {
    const char *name;      /* "dense", ...: messages, CLI, info */
    /* Checks d against an input of n_in and fills the plan; on failure
     * writes what is wrong into why (why_size bytes). */
    syn_status (*plan)(const syn_layer_desc *d, size_t n_in, int is_last, syn_layer_plan *p,
                       char *why, size_t why_size);
    /* Fills a layer record's kind-specific fields from d (offsets are the
     * core's). */
    void (*setup)(syn_layer *l, const syn_layer_desc *d);
    /* Initial parameters and state; draws from rng only if it has weights. */
    void (*init)(const syn_layer *l, float *params, float *state, syn_init init, syn_rng *rng);
    /* z = f(in) into out (and logits), then the activation. */
    void (*forward)(const syn_layer *l, const syn_layer_pass *p);
    /* From dz = dL/dz [batch x units]: the parameter gradients into grads
     * (the gradient arena, same layout as params) and, if d_in is not
     * NULL, dL/d(in) [batch x n_in]. Reads what forward left in p. */
    void (*backward)(const syn_layer *l, const syn_layer_pass *p, const float *dz, float *grads,
                     float *d_in);
    /* May the small-network path (kernels/small.h) run this layer? */
    int (*small_ok)(const syn_layer *l);
    /* Kinds over images: plan from the input's shape {C, H, W} (n_in is
     * their product), used instead of plan when not NULL. */
    syn_status (*plan_shape)(const syn_layer_desc *d, const size_t in_shape[3], int is_last,
                             syn_layer_plan *p, char *why, size_t why_size);
    int keeps_shape; /* output shape = input shape (element-wise kinds) */
    /* The model file's attributes of the kind (docs/FORMAT.md, ARCH v2):
     * attrs writes them (at most SYN_LAYER_MAX_ATTRS floats) and returns
     * their count; set_attrs puts n read ones into d, 0 (why filled) when n
     * is not the kind's count (the values are checked by plan). */
    size_t (*attrs)(const syn_layer *l, float *out);
    int (*set_attrs)(syn_layer_desc *d, const float *v, size_t n, char *why, size_t why_size);
    /* Whether a file's state block for the layer is one it could have
     * written (finite statistics, variances >= 0); NULL for kinds without
     * state. */
    int (*state_ok)(const syn_layer *l, const float *state, char *why, size_t why_size);
    /* Exports (layer_export.h), inference form, before the activation
     * (which the exporter adds). onnx_emit writes the nodes and
     * initializers that compute z from tensor `in` into tensor `out`
     * (initializer names made unique with the layer's index) and returns
     * 1, or returns 0 when z is `in` itself (dropout: no node); c_data writes the
     * layer's arrays and c_body the statements computing z[units] from the
     * float arrays named src and dst (no allocation). NULL: the format
     * cannot express the kind, and the exporter refuses it naming the
     * layer. */
    int (*onnx_emit)(const syn_layer *l, size_t index, const float *params, const float *state,
                     const char *in, const char *out, const syn_onnx_sink *sink);
    void (*c_data)(const syn_layer *l, size_t index, const float *params, const float *state,
                   const syn_c_sink *sink);
    void (*c_body)(const syn_layer *l, size_t index, const char *src, const char *dst,
                   const syn_c_sink *sink);
    /* Floats of the header's scratch (sink->scratch) c_body uses besides
     * src and dst (a convolution's im2col); NULL: none. */
    size_t (*c_scratch)(const syn_layer *l);
} syn_layer_ops;

#define SYN_LAYER_MAX_ATTRS 12

/* set_attrs' count check, shared by the kinds: 0 with why filled unless n
 * is `want`. */
int syn_layer_attr_count(size_t n, size_t want, char *why, size_t why_size);

/* Attributes that are sizes (kernel, stride, ...), stored as floats: each
 * of v[0..n) must be an integer in [0, 2^24] (exact in a float); 0 with
 * why filled otherwise. */
int syn_layer_attr_sizes(const float *v, size_t n, size_t *out, char *why, size_t why_size);

/* Rows for the kinds without attributes (no_attrs writes none, set_no_attrs
 * accepts none) and without a small-path form (not_small: 0). */
size_t syn_layer_no_attrs(const syn_layer *l, float *out);
int syn_layer_set_no_attrs(syn_layer_desc *d, const float *v, size_t n, char *why,
                           size_t why_size);
int syn_layer_not_small(const syn_layer *l);

/* The row of a kind; kind must be below SYN_LAYER_COUNT_. */
const syn_layer_ops *syn_layer_ops_of(syn_layer_kind kind);

extern const syn_layer_ops syn_dense_ops, syn_dropout_ops, syn_batchnorm_ops,
    syn_layernorm_ops;
extern const syn_layer_ops syn_conv2d_ops, syn_maxpool2d_ops, syn_avgpool2d_ops,
    syn_global_avgpool_ops, syn_batchnorm2d_ops, syn_dropout2d_ops, syn_flatten_ops;

/* A dense layer's input gradient d_in = dz W over p's rows, the part of its
 * backward after the weight gradient: the sharded path (core/pass.c) runs
 * the weight gradients a shard at a time and this over all rows at once. */
void syn_dense_input_grad(const syn_layer *l, const syn_layer_pass *p, const float *dz,
                          float *d_in);

/* Weights drawn as dense.c draws them (SYN_INIT_AUTO resolved from the
 * activation: He normal before ReLU, else Xavier uniform) for fan_in inputs
 * and fan_out outputs per weight (PyTorch's _calculate_fan_in_and_fan_out). */
void syn_layer_init_weights(float *w, size_t n, size_t fan_in, size_t fan_out, syn_init init,
                            syn_activation act, syn_rng *rng);
/* n biases of a layer with fan_in inputs per output: zero, or with
 * SYN_INIT_TORCH drawn from U(-1/sqrt(fan_in), 1/sqrt(fan_in)). */
void syn_layer_init_bias(float *b, size_t n, size_t fan_in, syn_init init, syn_rng *rng);

/* The output length of a window of k taps dilated by dil (0 or 1: none)
 * at stride s over n inputs with pad_total padding in all (PyTorch's
 * floor((n + pad - dil*(k-1) - 1) / s) + 1, ceil_mode false); 0 when the
 * padded input is shorter than the window or a size overflows. */
int syn_layer_window_out(size_t n, size_t k, size_t s, size_t dil, size_t pad_total,
                         size_t *out);

/* The fields of a description a kind may take (syn_layer_check_fields). */
enum {
    SYN_FIELD_ACTIVATION = 1, /* activation, leaky_slope (then checked as common) */
    SYN_FIELD_BIAS = 2,       /* no_bias (moot, so never refused, without a bias) */
    SYN_FIELD_RATE = 4,
    SYN_FIELD_NORM = 8,       /* eps, momentum */
    SYN_FIELD_WINDOW = 16,    /* kernel, stride, padding */
    SYN_FIELD_CONV = 32,      /* dilation, groups, pad_same */
    SYN_FIELD_EXCLUDE = 64,   /* exclude_pad */
};
/* Refuses a field set in d that the kind does not take (a mask of
 * SYN_FIELD_*), then checks the activation as syn_layer_check_common does
 * (an activation-free kind: linear only); 0 with why filled on failure. */
int syn_layer_check_fields(const syn_layer_desc *d, unsigned takes, int is_last, char *why,
                           size_t why_size);

/* Loops over this many elements run on the caller alone. */
#define SYN_LAYER_PARALLEL_MIN 16384
/* Rows and columns per chunk: fixed cuts, whatever the threads. */
#define SYN_LAYER_ROWS_PER_CHUNK 16
#define SYN_LAYER_COLS_PER_CHUNK 64

/* pool when a loop of elems elements is worth threads, else NULL. */
syn_pool *syn_layer_pool_for(syn_pool *pool, size_t elems);

/* z += bias per row (bias may be NULL), logits = z when logits is not NULL,
 * then the layer's activation: one pass over the block while it is in
 * cache, rows split over the pool. */
void syn_layer_bias_activate(const syn_layer *l, const float *bias, float *z, float *logits,
                             size_t batch, syn_pool *pool);

/* Column sums: sum[c] = sum over rows of m[r][c], in row order, columns
 * split over the pool in fixed blocks. */
void syn_layer_column_sums(float *sum, const float *m, size_t rows, size_t cols,
                           syn_pool *pool);

/* The checks every kind shares (activation and its parameter; softmax only
 * last); 0 with why filled on failure. */
int syn_layer_check_common(const syn_layer_desc *d, int is_last, char *why, size_t why_size);

/* Non-dense kinds: their width is their input's; desc->units may say it. */
int syn_layer_check_same_width(const syn_layer_desc *d, size_t n_in, char *why,
                               size_t why_size);

#endif
