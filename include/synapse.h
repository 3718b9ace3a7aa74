/*
 * synapse.h - the public API of synapse, a C library that trains multi-layer
 * perceptrons on the CPU.
 *
 * This header is the manual. Conventions that hold everywhere:
 *  - Every fallible call returns a syn_status (SYN_OK == 0); syn_strerror()
 *    turns it into words. Calls that read files also fill an optional
 *    syn_error with the file, line, column and reason.
 *  - The library never prints, never exits and keeps no global state.
 *  - Matrices are float32, batch-major, row-major: a batch of B samples with
 *    F features is B*F floats, sample after sample.
 *  - A dense layer with n_in inputs and `units` outputs stores its weights as
 *    [units x n_in] row-major (PyTorch's nn.Linear layout) followed by its
 *    bias [units]. All layers live in one flat parameter arena, in layer
 *    order; gradients and optimizer moments use the very same layout.
 *  - Objects returned through `out` parameters are owned by the caller and
 *    released with the matching syn_<thing>_free (which accepts NULL).
 *  - A call that fails leaves its objects as they were and usable.
 */
#ifndef SYNAPSE_H
#define SYNAPSE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SYN_VERSION_MAJOR 0
#define SYN_VERSION_MINOR 1
#define SYN_VERSION_PATCH 0
#define SYN_VERSION_STRING "0.1.0"

/* The library's version string, e.g. "0.1.0". */
const char *syn_version(void);

/* ------------------------------------------------------------------------ */
/* Status codes                                                              */
/* ------------------------------------------------------------------------ */

typedef enum syn_status {
    SYN_OK = 0,
    SYN_ERR_INVALID_ARGUMENT, /* NULL pointer, zero size, unknown enum value */
    SYN_ERR_SHAPE,            /* sizes that do not fit together */
    SYN_ERR_OVERFLOW,         /* a size computation would overflow size_t */
    SYN_ERR_OUT_OF_MEMORY,    /* malloc failed */
    SYN_ERR_MEMORY_LIMIT,     /* refused: more memory than the set limit */
    SYN_ERR_STATE,            /* called out of order (backward before forward) */
    SYN_ERR_IO,               /* open/read/write/fsync/rename failed */
    SYN_ERR_PARSE,            /* malformed text input (CSV) */
    SYN_ERR_FORMAT,           /* not a file of the expected kind (bad magic) */
    SYN_ERR_VERSION,          /* a format version this library cannot read */
    SYN_ERR_CORRUPT,          /* checksum mismatch or inconsistent content */
    SYN_ERR_TRUNCATED,        /* the file ends before its content does */
    SYN_ERR_UNSUPPORTED,      /* valid input this build cannot handle */
    SYN_ERR_NOT_FOUND,        /* a named item (column, class) does not exist */
    SYN_ERR_DIVERGED,         /* NaN or Inf in the loss or the gradients */
    SYN_ERR_COMM,             /* another process failed, or stopped answering */
    SYN_ERR_INFERENCE_ONLY,   /* training or gradients asked of an inference workspace */
    SYN_STATUS_COUNT_
} syn_status;

/* A static English sentence for a status; never NULL. */
const char *syn_strerror(syn_status status);

/* Detail of a failure, filled by calls that read or write files: what went
 * wrong and where ("data.csv:12:7: expected a number, found \"abc\""). */
typedef struct syn_error {
    char message[512];
} syn_error;

/* ------------------------------------------------------------------------ */
/* Random numbers: xoshiro256** seeded through splitmix64                    */
/* ------------------------------------------------------------------------ */

/* The generator's whole state: plain data, so it can be copied, saved and
 * restored. The same seed gives the same stream on every machine. */
typedef struct syn_rng {
    uint64_t s[4];
} syn_rng;

void syn_rng_seed(syn_rng *rng, uint64_t seed);
uint64_t syn_rng_next(syn_rng *rng);
/* Uniform double in [0, 1) with 53 random bits. */
double syn_rng_uniform(syn_rng *rng);
/* Standard normal (Box-Muller; uses two uniforms per call). */
double syn_rng_normal(syn_rng *rng);
/* Uniform integer in [0, bound), unbiased; bound 0 returns 0. */
uint64_t syn_rng_below(syn_rng *rng, uint64_t bound);

/* ------------------------------------------------------------------------ */
/* Networks                                                                  */
/* ------------------------------------------------------------------------ */

typedef enum syn_activation {
    SYN_ACT_LINEAR = 0,
    SYN_ACT_SIGMOID,
    SYN_ACT_TANH,
    SYN_ACT_RELU,
    SYN_ACT_LEAKY_RELU, /* slope for x < 0 from syn_layer_desc.leaky_slope */
    SYN_ACT_SOFTMAX,    /* output layer only */
    /* The following follow torch.nn's definitions (GELU, SiLU, ELU,
     * Softplus) and may be used on any layer. */
    SYN_ACT_GELU,       /* x Phi(x) = 0.5 x (1 + erf(x / sqrt 2)), GELU(approximate='none') */
    SYN_ACT_GELU_TANH,  /* 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), 'tanh' */
    SYN_ACT_SILU,       /* x sigmoid(x) (swish) */
    SYN_ACT_ELU,        /* x > 0 ? x : alpha (e^x - 1); alpha from leaky_slope, default 1 */
    SYN_ACT_SOFTPLUS,   /* log(1 + e^(beta x)) / beta, x where beta x > 20; beta default 1 */
    SYN_ACT_COUNT_
} syn_activation;

/* The activation's short name ("relu", "leaky_relu", "gelu", "gelu_tanh",
 * ...: the names the CLI, `synapse info` and the exporters use); "unknown"
 * for a value out of range. Never NULL. */
const char *syn_activation_name(syn_activation act);
/* The activation named `name` (exactly as syn_activation_name spells it)
 * into *out. Errors: INVALID_ARGUMENT (NULL, or no such activation). */
syn_status syn_activation_parse(const char *name, syn_activation *out);

typedef enum syn_loss {
    /* Mean squared error, PyTorch's MSELoss: mean over all B*outputs
     * elements, or their sum. Any output activation. */
    SYN_LOSS_MSE = 0,
    /* Binary cross-entropy, PyTorch's BCEWithLogitsLoss: the output layer
     * must be sigmoid; the loss is computed from its logits, stably.
     * Targets in [0, 1]. Mean over all elements, or their sum. */
    SYN_LOSS_BCE,
    /* Categorical cross-entropy, PyTorch's CrossEntropyLoss: the output
     * layer must be softmax; fused with it (log-sum-exp), stable for large
     * logits. Targets are class probabilities per row (one-hot for labels).
     * Mean over the B samples, or their sum. Label smoothing and class
     * weights: syn_net_set_loss_options. */
    SYN_LOSS_CROSS_ENTROPY,
    /* Huber loss, PyTorch's HuberLoss: per element of d = output - target,
     * 0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta) (delta 1.0,
     * syn_net_set_loss_options). Any output activation but softmax. Mean
     * over all B*outputs elements, or their sum. */
    SYN_LOSS_HUBER,
    /* Mean absolute error, PyTorch's L1Loss: |output - target|, mean over
     * all elements or their sum; the gradient of |d| at d = 0 is 0, as
     * torch.sign gives it. Any output activation but softmax. */
    SYN_LOSS_L1,
    SYN_LOSS_COUNT_
} syn_loss;

/* The loss's short name ("mse", "bce", "ce", "huber", "l1": the names the
 * CLI's --loss takes), "unknown" for a value out of range. Never NULL. */
const char *syn_loss_name(syn_loss loss);
/* The loss named `name` (as syn_loss_name spells it) into *out. Errors:
 * INVALID_ARGUMENT (NULL, or no such loss). */
syn_status syn_loss_parse(const char *name, syn_loss *out);

typedef enum syn_reduction {
    SYN_REDUCTION_MEAN = 0,
    SYN_REDUCTION_SUM,
    SYN_REDUCTION_COUNT_
} syn_reduction;

typedef enum syn_init {
    SYN_INIT_AUTO = 0,       /* He normal before relu/leaky relu, else Xavier */
    SYN_INIT_UNIFORM,        /* the notebook's 2*U[0,1) - 1, i.e. U[-1, 1) */
    SYN_INIT_XAVIER_UNIFORM, /* U(-a, a), a = sqrt(6 / (n_in + units)) */
    SYN_INIT_HE_NORMAL,      /* N(0, 2 / n_in), Kaiming normal, fan-in mode */
    /* PyTorch's default for nn.Linear and nn.Conv2d (reset_parameters):
     * kaiming_uniform_(a = sqrt(5)) weights, i.e. U(-b, b) with
     * b = 1 / sqrt(fan_in), and biases U(-b, b) too. */
    SYN_INIT_TORCH,
    SYN_INIT_COUNT_
} syn_init;

/* What a layer computes. The numeric values are stored in model files and
 * never change or get reused; new kinds are appended before the count. */
typedef enum syn_layer_kind {
    /* z = x W^T + b, then the activation (PyTorch's nn.Linear). */
    SYN_LAYER_DENSE = 0,
    /* PyTorch's nn.Dropout: in training each input is zeroed with
     * probability `rate` and the others scaled by 1 / (1 - rate); the
     * identity at inference. The mask is a hash of (the trainer's seed,
     * its step, the sample's dataset row, the unit): the same for any
     * thread count and after a resume. Activation must be linear. */
    SYN_LAYER_DROPOUT,
    /* PyTorch's nn.BatchNorm1d (affine, track_running_stats): training
     * normalizes each column by the batch mean and biased variance and
     * updates running_mean / running_var (unbiased) with `momentum`;
     * inference uses the running statistics. gamma, beta are parameters;
     * the running statistics are a second, non-trained arena saved with
     * the model (syn_net_state). Then the layer's activation. */
    SYN_LAYER_BATCHNORM,
    /* PyTorch's nn.LayerNorm over the features (elementwise affine):
     * each row normalized by its own mean and biased variance, then
     * gamma, beta, then the layer's activation. */
    SYN_LAYER_LAYERNORM,
    /* Layers over images (issue 15). A layer's input and output are
     * channels x height x width per sample, row-major, batch-major
     * (PyTorch's NCHW); syn_net_desc.input_shape gives the first one, and
     * each kind's output shape follows from it (syn_net_layer_shape).
     * Dense layers read any shape flattened in that order (nn.Flatten then
     * nn.Linear); dropout, batchnorm and layernorm keep the shape.
     *
     * PyTorch's nn.Conv2d(in_channels, units, kernel, stride, padding,
     * dilation, groups, bias): weights [units x in_channels/groups x kh x
     * kw], bias [units]; then the layer's activation. */
    SYN_LAYER_CONV2D,
    /* nn.MaxPool2d(kernel, stride, padding), ceil_mode false: padding is
     * implicit -inf, at most half the kernel. */
    SYN_LAYER_MAXPOOL2D,
    /* nn.AvgPool2d(kernel, stride, padding, count_include_pad), ceil_mode
     * false: zero padding, counted in the divisor unless exclude_pad. */
    SYN_LAYER_AVGPOOL2D,
    /* nn.AdaptiveAvgPool2d(1): each channel's mean, output C x 1 x 1. */
    SYN_LAYER_GLOBAL_AVGPOOL,
    /* nn.BatchNorm2d: SYN_LAYER_BATCHNORM per channel, its statistics over
     * the batch and the height and width; gamma, beta [channels]. */
    SYN_LAYER_BATCHNORM2D,
    /* nn.Dropout2d: whole channels zeroed with probability `rate` (the
     * mask a hash of (seed, step, sample, channel)), the rest scaled by
     * 1 / (1 - rate); the identity at inference. Activation linear. */
    SYN_LAYER_DROPOUT2D,
    /* nn.Flatten: output C*H*W x 1 x 1, the same floats. */
    SYN_LAYER_FLATTEN,
    SYN_LAYER_COUNT_
} syn_layer_kind;

/* One layer. A zeroed struct plus `units` is a valid linear dense layer;
 * fields after no_bias were added later and zero means their default. */
typedef struct syn_layer_desc {
    size_t units;            /* dense: output width >= 1; other kinds: 0 or
                              * the input width (their output width is it) */
    syn_activation activation; /* applied after the layer's own function */
    float leaky_slope;       /* the activation's parameter, >= 0; 0 means its
                              * default: leaky ReLU's slope 0.01, ELU's alpha 1,
                              * softplus's beta 1; reported as 0 (and ignored)
                              * for activations without one */
    int no_bias;             /* dense: no bias vector; norms: no beta */
    syn_layer_kind kind;     /* SYN_LAYER_DENSE when zero */
    float rate;              /* dropout probability, [0, 1) */
    float eps;               /* norms: added to the variance; 0 means 1e-5 */
    float momentum;          /* batch norm: running-statistics update
                              * weight in (0, 1]; 0 means 0.1 */
    /* Convolution and pooling, [0] the height and [1] the width; conv's
     * out_channels is `units`. */
    size_t kernel[2];        /* conv, max/avg pool: >= 1 each */
    size_t stride[2];        /* 0 means conv 1, pooling the kernel size */
    size_t padding[2];       /* added on both sides (top and bottom, left and
                              * right); pools: at most half the kernel */
    size_t dilation[2];      /* conv: 0 means 1 */
    size_t groups;           /* conv: 0 means 1; divides in and out channels
                              * (in_channels: depthwise) */
    int pad_same;            /* conv: padding='same' (stride 1; padding then
                              * 0): d*(k-1) in all, the odd one after */
    int exclude_pad;         /* avg pool: count_include_pad=False */
} syn_layer_desc;

typedef struct syn_net_desc {
    size_t n_inputs;              /* input width, >= 1 */
    size_t n_layers;              /* >= 1 */
    const syn_layer_desc *layers; /* n_layers entries, input to output */
    syn_loss loss;
    syn_reduction reduction;
    syn_init init;
    uint64_t seed;                /* seeds the weight initialisation */
    /* Each sample as channels x height x width (NCHW; IDX images are
     * 1 x H x W, syn_dataset_shape). All zero: flat, n_inputs x 1 x 1;
     * otherwise the product must be n_inputs. */
    size_t input_shape[3];
} syn_net_desc;

typedef struct syn_net syn_net;

/* Creates a network and initialises its weights from desc->seed (biases
 * start at zero; norm layers start at gamma 1, beta 0, running mean 0 and
 * running variance 1). Errors: INVALID_ARGUMENT (NULL, zero widths, unknown
 * enum, softmax before the last layer, BCE without a sigmoid output,
 * cross-entropy without a softmax output, a non-dense layer whose units is
 * not 0 or its input width, a dropout rate outside [0, 1) or with an
 * activation, eps or momentum out of range), OVERFLOW, OUT_OF_MEMORY. */
syn_status syn_net_create(const syn_net_desc *desc, syn_net **out);
/* The checks of syn_net_create without creating anything; err (may be
 * NULL) names the layer and field that fails, e.g. "layer 3 (dropout):
 * rate 1.5 is not in [0, 1)". */
syn_status syn_net_desc_check(const syn_net_desc *desc, syn_error *err);
/* The kind's name ("dense", "dropout", "batchnorm", "layernorm"), or NULL
 * for a value out of range. */
const char *syn_layer_kind_name(syn_layer_kind kind);
/* Deep copy: parameters, scaling, class names, encoding and metadata. */
syn_status syn_net_clone(const syn_net *net, syn_net **out);
void syn_net_free(syn_net *net);
/* Copies every parameter of src into dst; both must have the same shape. */
syn_status syn_net_copy_params(syn_net *dst, const syn_net *src);
/* Re-draws all weights with `init` from `seed`; biases back to zero, or
 * drawn as the weights are with SYN_INIT_TORCH. */
syn_status syn_net_init_weights(syn_net *net, syn_init init, uint64_t seed);

size_t syn_net_n_inputs(const syn_net *net);
size_t syn_net_n_outputs(const syn_net *net);
size_t syn_net_n_layers(const syn_net *net);
/* Total number of float parameters (weights and biases of all layers). */
size_t syn_net_param_count(const syn_net *net);
syn_loss syn_net_loss(const syn_net *net);
syn_reduction syn_net_reduction(const syn_net *net);
/* Changes the loss; the same output-activation rules as syn_net_create.
 * Changing the loss kind resets the loss options to their defaults. */
syn_status syn_net_set_loss(syn_net *net, syn_loss loss, syn_reduction reduction);

/* Settings of the net's loss, saved in its model file. A zeroed struct is
 * the default (no smoothing, no weights, delta 1.0). */
typedef struct syn_loss_options {
    /* CROSS_ENTROPY, CrossEntropyLoss(label_smoothing=): in [0, 1). The
     * target row t becomes (1 - s) t + s / C * sum(t) over the C classes
     * (for a one-hot row: PyTorch's (1 - s) one-hot + s / C). */
    float label_smoothing;
    /* CROSS_ENTROPY, CrossEntropyLoss(weight=): n_class_weights ==
     * n_outputs weights, finite, >= 0, not all 0 (copied); NULL: all 1.
     * Class j's terms are scaled by w_j, and the mean reduction divides by
     * the batch's total target weight sum_rows sum_j w_j t_j instead of the
     * row count: for one-hot rows that is PyTorch's rule for class-index
     * targets (sum of w[y_n]), combined with smoothing as PyTorch combines
     * them. (PyTorch's probability-target path divides by the row count
     * instead; the two agree without weights.) A batch whose target weight
     * is 0 has loss 0 and zero gradients, where PyTorch returns NaN. */
    const float *class_weights;
    size_t n_class_weights;
    /* HUBER, HuberLoss(delta=): > 0 and finite; 0 means 1.0. */
    float huber_delta;
} syn_loss_options;

/* Sets the loss options; a setting the net's loss does not use must stay
 * at its default (0 / NULL). Errors: INVALID_ARGUMENT (NULL net; label
 * smoothing negative, NaN or >= 1; a negative, NaN or infinite weight, or
 * all weights 0; delta negative, NaN or infinite; a setting for another
 * loss), SHAPE (n_class_weights is not n_outputs), OUT_OF_MEMORY. On an
 * error the options are unchanged. NULL options restores the defaults. */
syn_status syn_net_set_loss_options(syn_net *net, const syn_loss_options *options);
/* The net's loss options as set (huber_delta 0: the default 1.0);
 * class_weights (NULL: none) points into the net, valid until its options
 * change. Errors: INVALID_ARGUMENT (NULL). */
syn_status syn_net_loss_options(const syn_net *net, syn_loss_options *options);

/* Describes layer `layer` (0-based); n_in receives its input width. */
syn_status syn_net_layer(const syn_net *net, size_t layer, syn_layer_desc *desc, size_t *n_in);
/* The shape (channels, height, width) of the network's input, and of layer
 * `layer`'s output; their products are the widths. */
syn_status syn_net_input_shape(const syn_net *net, size_t shape[3]);
syn_status syn_net_layer_shape(const syn_net *net, size_t layer, size_t shape[3]);

/* The flat parameter arena (count floats). Writable: training updates it,
 * and a program may set any weight by hand. */
float *syn_net_params(syn_net *net, size_t *count);
const float *syn_net_params_const(const syn_net *net, size_t *count);

/* The non-trained state arena (count floats): each batch-norm layer's
 * running mean then running variance [units each], in layer order. The
 * optimizer never sees it; model files save it. Writable like the params. */
float *syn_net_state(syn_net *net, size_t *count);

/* Offsets of layer `layer`'s weights and bias inside the arena (and inside
 * the gradient and moment arenas, which share the layout). A layer without
 * bias gets b_offset == (size_t)-1. For a norm layer the "weights" are
 * gamma [units] and the bias is beta [units]; a dropout layer has neither
 * (both offsets (size_t)-1). */
syn_status syn_net_layer_offsets(const syn_net *net, size_t layer, size_t *w_offset,
                                 size_t *b_offset);
/* Pointers to the weights [units x n_in] and bias [units] of a layer; *bias
 * is NULL for a layer without bias. Either out pointer may be NULL. For a
 * norm layer: gamma and beta [units]; for dropout both are NULL. */
syn_status syn_net_layer_params(syn_net *net, size_t layer, float **weights, float **bias);

/* Folds y'[j] = y[j] * scale[j] + offset[j] into the output layer's
 * weights and bias, so the network then predicts in the original units of
 * targets it was trained on standardised (syn_dataset_fit_target_scaling:
 * pass 1 / that scale and that offset). Only for a linear output layer;
 * offset may be NULL (zero) and must be when the layer has no bias.
 * Errors: INVALID_ARGUMENT (NULL, a non-linear output activation, a scale
 * that is not finite, an offset without a bias). */
syn_status syn_net_scale_outputs(syn_net *net, const float *scale, const float *offset);
/* Input scaling, applied by every forward pass before the first layer:
 * x'[j] = (x[j] - offset[j]) * scale[j]. Part of the model (saved with it).
 * Both NULL removes it. The arrays hold n_inputs floats and are copied. */
syn_status syn_net_set_input_scaling(syn_net *net, const float *offset, const float *scale);
/* *offset and *scale are NULL when the network has no scaling. */
syn_status syn_net_input_scaling(const syn_net *net, const float **offset, const float **scale);

/* Class names, one per output of a classifier (copied). NULL/0 clears. */
syn_status syn_net_set_class_names(syn_net *net, const char *const *names, size_t count);
size_t syn_net_n_class_names(const syn_net *net);
/* NULL if i is out of range. */
const char *syn_net_class_name(const syn_net *net, size_t i);

/* What the model file records about how a network was trained. */
typedef struct syn_train_meta {
    uint64_t epochs;
    uint64_t seed;
    uint64_t samples_seen;
    double train_loss, train_accuracy; /* NaN when unknown */
    double val_loss, val_accuracy;     /* NaN when unknown */
    char library_version[16];
    char optimizer[16];
} syn_train_meta;

syn_status syn_net_set_meta(syn_net *net, const syn_train_meta *meta);
syn_status syn_net_meta(const syn_net *net, syn_train_meta *meta);

/* ------------------------------------------------------------------------ */
/* Input encodings: raw table columns to the network's input vector          */
/* ------------------------------------------------------------------------ */

/* How the fields of a table row become the network's inputs, learned by
 * syn_dataset_load_csv from training data and kept by the network (and its
 * model file): per input column its name, its kind, the value imputed for
 * a missing field, and for a categorical column its categories. Columns
 * appear in the encoded vector in order; a numeric column takes one input
 * (the number), a categorical one takes one input per category (one-hot:
 * 1 for the field's category, 0 elsewhere; an unseen category is all
 * zeros). The network's input scaling then applies to the encoded vector.
 * The encoding also records the spellings of a missing field and the
 * names of the target columns. See docs/DATA.md. */
typedef struct syn_encoding syn_encoding;
typedef struct syn_workspace syn_workspace;

typedef enum syn_column_kind {
    SYN_COLUMN_NUMERIC = 0,
    SYN_COLUMN_CATEGORICAL,
    SYN_COLUMN_KIND_COUNT_
} syn_column_kind;

typedef struct syn_column_info {
    const char *name;     /* header name; "" for a file without header */
    syn_column_kind kind;
    size_t first_input;   /* its first input in the encoded vector */
    size_t width;         /* inputs it takes: 1, or its category count */
    float fill;           /* NUMERIC: the value imputed for a missing field */
    size_t fill_category; /* CATEGORICAL: the category imputed (most frequent) */
} syn_column_info;

/* Deep copy; free with syn_encoding_free (accepts NULL). */
syn_status syn_encoding_clone(const syn_encoding *enc, syn_encoding **out);
void syn_encoding_free(syn_encoding *enc);
size_t syn_encoding_n_columns(const syn_encoding *enc);
/* Width of the encoded vector (the network's n_inputs). */
size_t syn_encoding_n_inputs(const syn_encoding *enc);
/* Column i; Errors: INVALID_ARGUMENT (NULL, i out of range). */
syn_status syn_encoding_column(const syn_encoding *enc, size_t i, syn_column_info *info);
/* Category k of column i (in encoded order), NULL when out of range. */
const char *syn_encoding_category(const syn_encoding *enc, size_t i, size_t k);
/* The column named `name`: NOT_FOUND when there is none. */
syn_status syn_encoding_find_column(const syn_encoding *enc, const char *name, size_t *i);
/* Field texts that mean "missing" (compared ignoring ASCII case, after
 * trimming spaces; an empty field is always missing). */
size_t syn_encoding_n_na_values(const syn_encoding *enc);
const char *syn_encoding_na_value(const syn_encoding *enc, size_t k);
/* Names of the target columns the network was trained on ("" unnamed). */
size_t syn_encoding_n_targets(const syn_encoding *enc);
const char *syn_encoding_target_name(const syn_encoding *enc, size_t k);

/* Encodes one row: fields[i] is the text of column i (in the encoding's
 * column order, as the model's columns, not the file's), NULL for a
 * missing field. Writes syn_encoding_n_inputs floats to x. A numeric field
 * must be a decimal number (quotes and surrounding spaces allowed) or a
 * missing spelling; a categorical field that is not one of the column's
 * categories is encoded as all zeros and counted in *n_unseen (may be
 * NULL), or fails with NOT_FOUND when `strict`. err names the column.
 * Errors: INVALID_ARGUMENT (NULL, n_fields is not the column count),
 * PARSE (a numeric field that is not a number), NOT_FOUND. */
syn_status syn_encode_fields(const syn_encoding *enc, const char *const *fields,
                             size_t n_fields, int strict, float *x, size_t *n_unseen,
                             syn_error *err);

/* The network's encoding, NULL when it has none (a network built in
 * memory, or saved before encodings existed: its inputs are the numbers
 * of the row, in order). */
const syn_encoding *syn_net_encoding(const syn_net *net);
/* Copies enc into the network (NULL removes it). Errors: SHAPE (its
 * encoded width is not n_inputs), INVALID_ARGUMENT, OUT_OF_MEMORY. */
syn_status syn_net_set_encoding(syn_net *net, const syn_encoding *enc);

/* Predicts one raw row: encodes fields (as syn_encode_fields, not strict;
 * a network without encoding parses each of its n_inputs fields as a
 * number) and runs the forward pass; *out points at the n_outputs outputs
 * inside ws, valid until its next pass. Errors: those of syn_encode_fields
 * and syn_forward. */
syn_status syn_net_predict_fields(const syn_net *net, syn_workspace *ws,
                                  const char *const *fields, size_t n_fields,
                                  const float **out, syn_error *err);

/* ------------------------------------------------------------------------ */
/* Workspaces: activations, gradients and scratch for one thread             */
/* ------------------------------------------------------------------------ */

/* Allocates everything a forward and backward pass of up to max_batch
 * samples needs, once. A network is never written by a forward pass, so
 * many threads may run inference on one network, each with its own
 * workspace. The workspace fits any network of the same shape. */
syn_status syn_workspace_create(const syn_net *net, size_t max_batch, syn_workspace **out);
/* A workspace for inference only (syn_forward,
 * syn_loss_value, syn_evaluate, syn_net_predict_fields, on batches of up to
 * max_batch samples), with the same outputs bit for bit as a workspace of
 * syn_workspace_create: it has no gradients, no dL/dz buffers and no
 * pre-activations, and holds the hidden layers' outputs for a block of
 * rows only (about 16 MiB of them), running a larger batch through the
 * layers a block at a time; the scaled input, the outputs and the output
 * logits are kept for the whole batch. Only when every block gives the
 * same bits as the whole batch (matrix products on the built-in kernels,
 * above their small-product size; no small-network path) is a batch cut
 * into blocks, else the block is the batch. syn_net_memory_estimate_inference
 * gives its size. Training passes, backward passes and gradients are
 * refused with SYN_ERR_INFERENCE_ONLY; syn_workspace_grads gives NULL and
 * syn_workspace_activations NULL for every layer but the last. */
syn_status syn_workspace_create_inference(const syn_net *net, size_t max_batch,
                                          syn_workspace **out);
/* Whether ws was made by syn_workspace_create_inference (0 for NULL). */
int syn_workspace_is_inference(const syn_workspace *ws);
void syn_workspace_free(syn_workspace *ws);
size_t syn_workspace_max_batch(const syn_workspace *ws);
/* Threads used by the kernels of passes run with this workspace (the
 * caller's included; the workspace owns them and syn_workspace_free joins
 * them). 0 (the default) means up to the CPUs this process may run on,
 * fewer while the machine is busy (the count adapts, docs/PERFORMANCE.md);
 * n > 0 means exactly n; 1 starts no thread. Results are bit-identical for
 * any thread count. For a trainer's workspace this sets the trainer's
 * threads (its workspace and optimizer share them). */
syn_status syn_workspace_set_threads(syn_workspace *ws, int n_threads);

/* Runs x [batch x n_inputs] through the network in inference mode (dropout
 * is the identity, batch norm uses its running statistics; the network is
 * only read). *out (may be NULL) points at the outputs [batch x n_outputs]
 * inside the workspace, valid until the next pass. */
syn_status syn_forward(const syn_net *net, syn_workspace *ws, const float *x, size_t batch,
                       const float **out);
/* The same pass in training mode, as the trainer runs it: dropout draws its
 * mask from (seed, step, row r of x, unit), batch norm normalizes by the
 * batch's statistics and updates the running ones in net (so the network
 * is written: one thread at a time). syn_backward after it differentiates
 * the training-mode function (the same mask). For a network of dense
 * layers only it equals syn_forward. */
syn_status syn_forward_train(syn_net *net, syn_workspace *ws, const float *x, size_t batch,
                             uint64_t seed, uint64_t step, const float **out);
/* The loss of the last forward pass against targets [batch x n_outputs]. */
syn_status syn_loss_value(const syn_net *net, syn_workspace *ws, const float *targets,
                          size_t batch, double *loss);
/* Gradients of the loss of the last forward pass (same batch) with respect
 * to every parameter, written (not added) into the workspace's gradient
 * arena. Errors: STATE without a matching forward pass. */
syn_status syn_backward(const syn_net *net, syn_workspace *ws, const float *targets, size_t batch);
/* Like syn_backward, but starts from d_out = dL/d(output) [batch x
 * n_outputs], the gradient of any loss of the user's own with respect to the
 * network's outputs (after the output activation). */
syn_status syn_backward_from_output(const syn_net *net, syn_workspace *ws, const float *d_out,
                                    size_t batch);

/* The gradient arena (same layout as the parameters), and per layer. */
float *syn_workspace_grads(syn_workspace *ws, size_t *count);
syn_status syn_workspace_layer_grads(syn_workspace *ws, const syn_net *net, size_t layer,
                                     float **d_weights, float **d_bias);
/* Outputs (after activation) of layer `layer` in the last forward pass,
 * [batch x units]. NULL if out of range or no pass ran yet, and for every
 * layer but the last in an inference workspace. */
const float *syn_workspace_activations(const syn_workspace *ws, size_t layer);

/* ------------------------------------------------------------------------ */
/* Optimizers (PyTorch's update rules and defaults)                          */
/* ------------------------------------------------------------------------ */

typedef enum syn_optim_kind {
    SYN_OPTIM_SGD = 0,
    SYN_OPTIM_MOMENTUM, /* heavy-ball momentum, torch.optim.SGD(momentum=) */
    SYN_OPTIM_NESTEROV, /* torch.optim.SGD(momentum=, nesterov=True) */
    SYN_OPTIM_ADAM,     /* Kingma & Ba 2015 with bias correction; weight_decay is L2 */
    SYN_OPTIM_ADAMW,    /* Loshchilov & Hutter 2019: decoupled weight decay */
    SYN_OPTIM_RMSPROP,  /* torch.optim.RMSprop: alpha, eps, momentum, centered */
    SYN_OPTIM_ADAGRAD,  /* torch.optim.Adagrad: lr_decay, initial_accumulator_value */
    SYN_OPTIM_NADAM,    /* torch.optim.NAdam (Dozat 2016): betas, momentum_decay */
    SYN_OPTIM_RADAM,    /* torch.optim.RAdam (Liu et al. 2020): betas, rectified */
    SYN_OPTIM_COUNT_
} syn_optim_kind;

/* Optimizer settings; start from syn_optim_defaults(kind) and change what
 * you need (fields another kind uses are ignored). weight_decay is L2 (added
 * to the gradient, as torch.optim) for every kind but ADAMW. */
typedef struct syn_optim_desc {
    syn_optim_kind kind;
    float lr;
    float momentum;     /* MOMENTUM, NESTEROV: (0, 1); RMSPROP: [0, 1), 0 = none */
    float dampening;    /* MOMENTUM only (PyTorch forbids it with Nesterov) */
    float beta1, beta2; /* ADAM, ADAMW, NADAM, RADAM: [0, 1) */
    float eps;          /* ADAM, ADAMW, RMSPROP, ADAGRAD, NADAM, RADAM: > 0 */
    float weight_decay; /* >= 0: L2 for all but ADAMW; decoupled for ADAMW */
    float alpha;        /* RMSPROP: smoothing constant of the squared average, [0, 1] */
    int centered;       /* RMSPROP: 0 or 1, normalise by the gradient's variance */
    float lr_decay;     /* ADAGRAD: lr / (1 + (t - 1) lr_decay), >= 0 */
    float initial_accumulator_value; /* ADAGRAD: the sum's start, >= 0 */
    float momentum_decay;            /* NADAM: psi in mu_t = beta1 (1 - 0.96^(t psi) / 2) */
} syn_optim_desc;

/* PyTorch's defaults: SGD lr 0.01; momentum 0.9, dampening 0; Adam lr 1e-3,
 * betas (0.9, 0.999), eps 1e-8, weight decay 0; AdamW the same with weight
 * decay 0.01; RMSprop lr 0.01, alpha 0.99, eps 1e-8, momentum 0, not
 * centered; Adagrad lr 0.01, eps 1e-10, lr_decay 0, initial accumulator 0;
 * NAdam lr 2e-3, betas (0.9, 0.999), eps 1e-8, momentum_decay 4e-3; RAdam
 * lr 1e-3, betas (0.9, 0.999), eps 1e-8. */
syn_optim_desc syn_optim_defaults(syn_optim_kind kind);
/* Short name ("sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop",
 * "adagrad", "nadam", "radam"); "unknown" for a value out of range. */
const char *syn_optim_name(syn_optim_kind kind);
/* The optimizer named `name` (as syn_optim_name spells it) into *out.
 * Errors: INVALID_ARGUMENT (NULL, or no such optimizer). */
syn_status syn_optim_parse(const char *name, syn_optim_kind *out);
/* Checks desc as syn_optimizer_create does. Errors: INVALID_ARGUMENT, with
 * err (may be NULL) naming the optimizer and the field, e.g.
 * "rmsprop: alpha must be in [0, 1], not -1". */
syn_status syn_optim_validate(const syn_optim_desc *desc, syn_error *err);
/* How many state arenas (each one float per parameter) an optimizer of
 * this description keeps: 0 for SGD, 1 for momentum, Nesterov and Adagrad,
 * 2 for the Adam family, NAdam and RAdam, 1 to 3 for RMSprop (square_avg,
 * plus momentum_buffer with momentum, plus grad_avg when centered); 0 for
 * NULL or an unknown kind. */
size_t syn_optim_state_arenas(const syn_optim_desc *desc);

typedef struct syn_optimizer syn_optimizer;

/* Creates an optimizer with zeroed state (Adagrad's sum at
 * initial_accumulator_value) for net's parameter layout. Errors:
 * INVALID_ARGUMENT (NULL, or settings syn_optim_validate refuses),
 * OUT_OF_MEMORY. */
syn_status syn_optimizer_create(const syn_net *net, const syn_optim_desc *desc,
                                syn_optimizer **out);
void syn_optimizer_free(syn_optimizer *opt);
/* One update of net's parameters from grads (count must equal the
 * parameter count). Returns DIVERGED when an updated parameter is not
 * finite (the step overflowed); the parameters then hold those values. */
syn_status syn_optimizer_step(syn_optimizer *opt, syn_net *net, const float *grads,
                              size_t count);
syn_status syn_optimizer_set_lr(syn_optimizer *opt, float lr);
/* Threads for the update loop, as syn_workspace_set_threads (0: adaptive,
 * up to all CPUs). Element-wise, so the result does not depend on it. */
syn_status syn_optimizer_set_threads(syn_optimizer *opt, int n_threads);
syn_optim_desc syn_optimizer_desc(const syn_optimizer *opt);
/* Steps taken so far (Adam's t). */
uint64_t syn_optimizer_steps(const syn_optimizer *opt);
/* The first two state arenas (syn_optimizer_arena 0 and 1, NULL where
 * there is none): for the SGD family the momentum buffer and NULL, for
 * Adam and AdamW m and v, both NULL for plain SGD. Writable so a saved
 * state can be restored, together with syn_optimizer_set_steps. Kept for
 * the kinds it was written for; syn_optimizer_arena covers every kind. */
syn_status syn_optimizer_moments(syn_optimizer *opt, float **first, float **second,
                                 size_t *count);
/* The number of state arenas (syn_optim_state_arenas of its settings). */
size_t syn_optimizer_n_arenas(const syn_optimizer *opt);
/* State arena `index` (< syn_optimizer_n_arenas): *arena (writable, for
 * restoring), *name (torch.optim's state key: "momentum_buffer",
 * "exp_avg", "exp_avg_sq", "square_avg", "grad_avg", "sum"), *count (the
 * parameter count); each may be NULL. Errors: INVALID_ARGUMENT. */
syn_status syn_optimizer_arena(syn_optimizer *opt, size_t index, float **arena,
                               const char **name, size_t *count);
/* The state scalars (writable): NAdam's mu_product (one value), none for
 * the other kinds (*values NULL, *n 0). */
syn_status syn_optimizer_scalars(syn_optimizer *opt, double **values, size_t *n);
syn_status syn_optimizer_set_steps(syn_optimizer *opt, uint64_t steps);

/* torch.nn.utils.clip_grad_norm_: if the global L2 norm of grads exceeds
 * max_norm, scales them by max_norm / (norm + 1e-6). *norm (may be NULL)
 * receives the norm before clipping. */
syn_status syn_clip_grad_norm(float *grads, size_t count, float max_norm, double *norm);

/* ------------------------------------------------------------------------ */
/* Learning-rate schedules (torch.optim.lr_scheduler)                        */
/* ------------------------------------------------------------------------ */

/* A schedule gives the rate of each epoch (each step, for ONECYCLE) from
 * the base rate (the optimizer's lr, syn_trainer_state.base_lr). Old
 * kinds read 0 in a field as PyTorch's default; start a new kind from
 * syn_schedule_defaults, which fills every field with PyTorch's defaults. */
typedef enum syn_schedule_kind {
    SYN_SCHEDULE_CONSTANT = 0,
    SYN_SCHEDULE_STEP,   /* lr * gamma^floor(epoch / step_size) (StepLR) */
    /* min_lr + (lr - min_lr) * (1 + cos(pi * epoch / t_max)) / 2, then min_lr
     * from epoch t_max on (CosineAnnealingLR's first half period). */
    SYN_SCHEDULE_COSINE,
    /* lr * gamma^epoch (ExponentialLR; gamma > 0, no default in PyTorch:
     * syn_schedule_defaults gives 0.95). */
    SYN_SCHEDULE_EXPONENTIAL,
    /* OneCycleLR per optimizer step, three_phase=False, anneal_strategy
     * "cos", over t_max epochs of the trainer's steps: from lr / div_factor
     * up to lr (max_lr) over the first pct_start of the steps, then down to
     * lr / div_factor / final_div_factor. As cycle_momentum=True (PyTorch's
     * default), the momentum (beta1 of Adam, AdamW, NAdam, RAdam; the
     * momentum of momentum, Nesterov and RMSprop) moves the other way, from
     * max_momentum down to base_momentum and back (after a warmup, which
     * keeps the optimizer's own); the trainer refuses an
     * optimizer without one (plain SGD, Adagrad, RMSprop without momentum:
     * set no_cycle_momentum, cycle_momentum=False). */
    SYN_SCHEDULE_ONECYCLE,
    /* ReduceLROnPlateau(mode "min", threshold_mode "rel") on a loss the
     * caller reports after each epoch (syn_trainer_observe_loss, e.g. the
     * validation loss): when it has not fallen below best * (1 -
     * threshold) for more than `patience` epochs, lr becomes max(lr *
     * factor, min_lr) (unless that changes it by eps or less), then
     * `cooldown` epochs are not counted. */
    SYN_SCHEDULE_PLATEAU,
    SYN_SCHEDULE_COUNT_
} syn_schedule_kind;

typedef struct syn_schedule {
    syn_schedule_kind kind;
    size_t step_size; /* STEP; 0 means 10 */
    float gamma;      /* STEP (0 means 0.1), EXPONENTIAL (> 0) */
    size_t t_max;     /* COSINE: epochs of the half period; ONECYCLE: epochs of
                       * the cycle; 0 means 1 */
    float min_lr;     /* COSINE; PLATEAU (the floor of the cuts, >= 0) */
    /* Linear warmup before any kind, per epoch (LinearLR then
     * SequentialLR): epochs 0 .. warmup-1 run at lr * f, f rising linearly
     * from warmup_start to 1 (LinearLR(start_factor=warmup_start,
     * total_iters=warmup)); epoch `warmup` is the schedule's epoch 0 (its
     * milestone). 0: no warmup. */
    size_t warmup;
    float warmup_start;     /* in (0, 1]; 0 means LinearLR's 1/3 */
    float pct_start;        /* ONECYCLE: in [0, 1], 0.3 by default */
    float div_factor;       /* ONECYCLE: >= 1, 25 by default */
    float final_div_factor; /* ONECYCLE: >= 1, 1e4 by default */
    size_t patience;        /* PLATEAU: 10 by default */
    float factor;           /* PLATEAU: in [0, 1), 0.1 by default */
    float threshold;        /* PLATEAU: >= 0, 1e-4 by default */
    size_t cooldown;        /* PLATEAU: 0 by default */
    float eps;              /* PLATEAU: >= 0, 1e-8 by default */
    int no_cycle_momentum;  /* ONECYCLE: nonzero is cycle_momentum=False */
    float base_momentum;    /* ONECYCLE: in [0, 1), 0.85 by default */
    float max_momentum;     /* ONECYCLE: in [0, 1), 0.95 by default */
} syn_schedule;

/* PyTorch's defaults for a kind (STEP: step 10, gamma 0.1; COSINE: t_max
 * 1, min_lr 0; EXPONENTIAL: gamma 0.95; ONECYCLE: t_max 1, pct_start 0.3,
 * div_factor 25, final_div_factor 1e4, cycled momentum 0.85 to 0.95;
 * PLATEAU: patience 10, factor 0.1,
 * threshold 1e-4, cooldown 0, min_lr 0, eps 1e-8), no warmup. */
syn_schedule syn_schedule_defaults(syn_schedule_kind kind);
/* Short name ("constant", "step", "cosine", "exponential", "onecycle",
 * "plateau"); "unknown" out of range. */
const char *syn_schedule_name(syn_schedule_kind kind);
/* Errors: INVALID_ARGUMENT (NULL, unknown kind, a field out of the range
 * above, NaN). */
syn_status syn_schedule_check(const syn_schedule *schedule);

/* The learning rate of 0-based `epoch` given the base rate, for the
 * per-epoch kinds (ONECYCLE: of the epoch's first step with one step per
 * epoch; PLATEAU: base_lr, which the trainer's cuts lower). */
float syn_schedule_lr(const syn_schedule *schedule, float base_lr, size_t epoch);
/* The learning rate of step `step` (0-based, in the epoch) of `epoch` in an
 * epoch of steps_per_epoch steps: ONECYCLE's per-step rate; the other
 * kinds' rate of the epoch. */
float syn_schedule_lr_step(const syn_schedule *schedule, float base_lr, size_t epoch,
                           size_t step, size_t steps_per_epoch);

/* ------------------------------------------------------------------------ */
/* Datasets                                                                  */
/* ------------------------------------------------------------------------ */

/* A dataset holds n samples of n_features features, stored as float32 or as
 * uint8 (images stay uint8 in memory and are converted one batch at a time),
 * and either class labels (n_classes classes, optional names) or float
 * regression targets (n_targets columns). */
typedef struct syn_dataset syn_dataset;

/* In-memory datasets; the arrays are copied. n_samples and n_features must
 * be >= 1. targets may be NULL with n_targets 0: an unlabelled dataset
 * (target width 0), e.g. for prediction. Every label must be < n_classes.
 * Errors: INVALID_ARGUMENT, OVERFLOW, OUT_OF_MEMORY. */
syn_status syn_dataset_from_floats(const float *x, size_t n_samples, size_t n_features,
                                   const float *targets, size_t n_targets, syn_dataset **out);
syn_status syn_dataset_from_labels(const float *x, size_t n_samples, size_t n_features,
                                   const uint32_t *labels, size_t n_classes, syn_dataset **out);
syn_status syn_dataset_from_u8_labels(const uint8_t *x, size_t n_samples, size_t n_features,
                                      const uint32_t *labels, size_t n_classes,
                                      syn_dataset **out);
void syn_dataset_free(syn_dataset *ds);

size_t syn_dataset_n_samples(const syn_dataset *ds);
size_t syn_dataset_n_features(const syn_dataset *ds);
/* Each sample's shape (channels, height, width; NCHW): 1 x H x W for IDX
 * images of [N x H x W], C x H x W for [N x C x H x W], else (and for
 * CSV, until set) n_features x 1 x 1. What syn_net_desc.input_shape takes. */
syn_status syn_dataset_shape(const syn_dataset *ds, size_t shape[3]);
/* Gives the samples a shape (CSV data holding images); SHAPE unless every
 * dimension is >= 1 and their product is n_features. */
syn_status syn_dataset_set_shape(syn_dataset *ds, const size_t shape[3]);
/* Width of the target rows that syn_dataset_gather writes: n_classes for a
 * labelled dataset (one-hot), n_targets for regression. */
size_t syn_dataset_target_width(const syn_dataset *ds);
/* n_classes, or 0 for a regression dataset. */
size_t syn_dataset_n_classes(const syn_dataset *ds);
/* Raises the class count of a labelled dataset, e.g. to a model's when the
 * file's labels do not reach its last class (IDX gives max label + 1).
 * Errors: INVALID_ARGUMENT (unlabelled, or fewer classes than the labels
 * need), SHAPE (the dataset has class names of another count). */
syn_status syn_dataset_set_n_classes(syn_dataset *ds, size_t n_classes);
/* Label of sample i (labelled datasets only, else INVALID_ARGUMENT). */
syn_status syn_dataset_label(const syn_dataset *ds, size_t i, uint32_t *label);
/* Class names from the file (CSV string labels); NULL when none. */
const char *syn_dataset_class_name(const syn_dataset *ds, size_t i);
size_t syn_dataset_n_class_names(const syn_dataset *ds);
/* Names of the feature columns (CSV header); NULL when none. For an
 * encoded CSV these are the encoded inputs ("color=red" per category). */
const char *syn_dataset_feature_name(const syn_dataset *ds, size_t i);
/* The encoding a CSV was read with (learned, or the one passed in the
 * options); NULL for other datasets. Owned by the dataset. */
const syn_encoding *syn_dataset_encoding(const syn_dataset *ds);
/* Fields whose category the given encoding did not know (encoded as
 * zeros), and missing fields that were imputed, while reading. */
size_t syn_dataset_n_unseen(const syn_dataset *ds);
size_t syn_dataset_n_missing(const syn_dataset *ds);
/* Re-fits the imputation of a dataset read with a learned encoding on
 * samples rows[0..count) only (all if rows is NULL: what the loader did):
 * the mean of each numeric column and the most frequent category of each
 * categorical one, over the fields present in those rows (a column with
 * none there keeps the fill it had), then rewrites every missing field of
 * every row with them. Call it with the training rows before fitting the
 * scaling, so validation rows do not leak into training. Errors:
 * INVALID_ARGUMENT (a row out of range), STATE (the dataset has no
 * learned encoding). */
syn_status syn_dataset_fit_imputation(syn_dataset *ds, const size_t *rows, size_t count);

/* Copies samples rows[0..count) into x [count x n_features] as float and,
 * if y is not NULL, their targets into y [count x target_width]. uint8
 * features come out unscaled (0..255). count must be >= 1 and every row
 * < n_samples; rows are checked before anything is written. */
syn_status syn_dataset_gather(const syn_dataset *ds, const size_t *rows, size_t count, float *x,
                              float *y);

typedef enum syn_scale_kind {
    SYN_SCALE_NONE = 0,
    SYN_SCALE_MINMAX,   /* to [0, 1]; a constant feature maps to 0 */
    SYN_SCALE_STANDARD, /* zero mean, unit variance (population); constant -> 0 */
    SYN_SCALE_COUNT_
} syn_scale_kind;

/* Fits a scaling on samples rows[0..count) (all samples if rows is NULL)
 * and writes offset and scale [n_features] for syn_net_set_input_scaling.
 * SYN_SCALE_NONE writes offset 0 and scale 1. */
syn_status syn_dataset_fit_scaling(const syn_dataset *ds, const size_t *rows, size_t count,
                                   syn_scale_kind kind, float *offset, float *scale);

/* Splits 0..n-1 into a shuffled training part and a validation part of
 * round(n * val_fraction) rows, from seed. train and val hold n and
 * n_val rows (either may be NULL to skip writing it). Errors:
 * INVALID_ARGUMENT for n == 0, val_fraction outside [0, 1), or a split that
 * leaves no training row. */
syn_status syn_split_rows(size_t n, double val_fraction, uint64_t seed, size_t *train,
                          size_t *n_train, size_t *val, size_t *n_val);

/* syn_split_rows that keeps each class's share (sklearn's
 * train_test_split(stratify=y)): from a labelled dataset it takes
 * round(count * val_fraction) rows of each class, but never a class's last
 * training row, chosen by one seeded shuffle; a regression dataset is split
 * as syn_split_rows splits it. train and val must hold n_samples rows each
 * (either may be NULL). Errors: INVALID_ARGUMENT (NULL ds, val_fraction
 * outside [0, 1)), OVERFLOW, OUT_OF_MEMORY. */
syn_status syn_split_rows_stratified(const syn_dataset *ds, double val_fraction, uint64_t seed,
                                     size_t *train, size_t *n_train, size_t *val,
                                     size_t *n_val);

/* Regression targets: fits a standardisation of each target column on
 * rows[0..count) (all rows if rows is NULL), writing offset (the mean) and
 * scale (1 / population std; 1 for a constant column) [n_targets], and
 * applies one in place, t' = (t - offset) * scale. Training on standardised
 * targets and folding the inverse into the network afterwards
 * (syn_net_scale_outputs) makes the learning rate mean the same whatever
 * the targets' units. Errors: INVALID_ARGUMENT (NULL, a labelled or
 * unlabelled dataset, a bad row, a scale that is not finite and nonzero). */
syn_status syn_dataset_fit_target_scaling(const syn_dataset *ds, const size_t *rows,
                                          size_t count, float *offset, float *scale);
syn_status syn_dataset_scale_targets(syn_dataset *ds, const float *offset, const float *scale);

typedef struct syn_csv_options {
    char delimiter;      /* 0 means ',' */
    int header;          /* 0 detect, 1 present, -1 absent */
    /* The target columns: by name (needs a header) or by 0-based index.
     * A negative index counts from the end (-1: the last column).
     * n_target_columns 0 means one column, the last. */
    const char *const *target_names;
    const long *target_indices;
    size_t n_target_columns;
    int regression;      /* 0: the single target column holds class labels
                          * (integers or strings); 1: float targets */
    /* With classification: class names to map labels onto (a saved model's
     * classes); NULL builds them from the file in order of first use, with
     * integer labels sorted numerically. */
    const char *const *class_names;
    size_t n_class_names;
    int no_target;       /* nonzero: every column is a feature (predict);
                          * regression is then ignored */
    /* > 0: refuse (MEMORY_LIMIT) a file whose features and targets would
     * take more than this many bytes in memory, before allocating them;
     * 0: no limit. */
    size_t max_bytes;
    /* Spellings of a missing feature field, compared ignoring ASCII case
     * after trimming (an empty field is always missing); NULL/0 means NA,
     * N/A, NaN, null and ?. */
    const char *const *na_values;
    size_t n_na_values;
    /* Feature columns (header names, or 0-based indices written as
     * decimal text in a file without header) to one-hot encode even when
     * every value is a number (a zip code), and columns to leave out
     * entirely (an id). */
    const char *const *categorical;
    size_t n_categorical;
    const char *const *ignore;
    size_t n_ignore;
    /* Most categories a categorical column may have; 0 means 100. */
    size_t max_categories;
    /* Not NULL: read the columns of this encoding (a saved model's) instead
     * of learning one. With a header they are selected by name, in any
     * order, other columns ignored (NOT_FOUND names a missing one); without
     * one the file's feature columns must be the encoding's, in order.
     * Then categorical, ignore and na_values are the encoding's, and with
     * no target given the encoding's targets are used when the header has
     * them (else the dataset is unlabelled). */
    const syn_encoding *encoding;
    /* With encoding: a category the encoding does not know is an error
     * (NOT_FOUND) instead of all zeros. */
    int strict;
} syn_csv_options;

/* Reads a CSV file (RFC 4180 quoting; path "-" is not special here). Every
 * row must have the header's field count. Without options->encoding it
 * learns one (syn_dataset_encoding): numeric columns, categorical columns
 * (any text) one-hot encoded, missing fields imputed; with it, it reads
 * that encoding's columns (by name given a header). On failure err says
 * file:line:column and what was expected. options may be NULL: ','
 * delimiter, header detected, last column as class labels, which is also
 * what a zeroed struct means. Rules in docs/DATA.md. Errors: IO, PARSE,
 * NOT_FOUND (target column, class, a column of the encoding or of the
 * categorical/ignore lists, an unseen category with strict), SHAPE (no
 * feature column, a headerless file whose columns are not the
 * encoding's), INVALID_ARGUMENT (contradictory options), MEMORY_LIMIT
 * (options->max_bytes). */
syn_status syn_dataset_load_csv(const char *path, const syn_csv_options *options,
                                syn_dataset **out, syn_error *err);

/* Reads IDX images (uint8, any dimensions after the first, which counts
 * samples) and IDX labels (uint8, one dimension), plain or gzip. labels_path
 * may be NULL for unlabelled images. n_classes is the largest label + 1; no
 * class names. Errors: IO, FORMAT (bad magic, type or dimension count,
 * trailing bytes), UNSUPPORTED (a non-uint8 type; gzip without zlib), SHAPE
 * (label count differs), TRUNCATED, CORRUPT (bad gzip), OVERFLOW. */
syn_status syn_dataset_load_idx(const char *images_path, const char *labels_path,
                                syn_dataset **out, syn_error *err);
/* syn_dataset_load_idx that refuses (MEMORY_LIMIT), from the headers and
 * before allocating, images and labels that would take more than max_bytes
 * in memory (one byte per pixel, four per label); 0 means no limit. */
syn_status syn_dataset_load_idx_limited(const char *images_path, const char *labels_path,
                                        size_t max_bytes, syn_dataset **out, syn_error *err);

/* ------------------------------------------------------------------------ */
/* Training                                                                  */
/* ------------------------------------------------------------------------ */

typedef struct syn_train_desc {
    size_t batch_size;     /* 0: full batch; 1: per sample */
    int no_shuffle;        /* nonzero: visit rows in the given order */
    float clip_norm;       /* > 0: clip the global gradient norm to it */
    syn_schedule schedule;
    int n_threads;         /* 0: up to all CPUs, adapting to load; n: exactly n */
    uint64_t seed;         /* drives the shuffling */
} syn_train_desc;

typedef struct syn_trainer syn_trainer;

/* What the trainer reports after each batch. */
typedef struct syn_batch_report {
    size_t epoch;     /* 0-based */
    size_t batch;     /* 0-based index within the epoch */
    size_t n_batches; /* batches in this epoch */
    size_t samples;   /* rows in this batch */
    double loss;      /* this batch's loss, reduced as the net's loss is */
    size_t correct;   /* rows classified right (labelled data), else 0 */
} syn_batch_report;

/* Per-batch callback; return nonzero to stop the epoch early (the trainer
 * then returns SYN_OK and the stats cover the batches done). */
typedef int (*syn_batch_fn)(void *user, const syn_batch_report *report);

typedef struct syn_epoch_stats {
    size_t epoch;     /* 0-based epoch just finished */
    size_t batches;   /* batches completed (on DIVERGED, batch `batches` failed) */
    size_t samples;
    double loss;      /* mean of per-sample losses over the epoch, as trained
                       * (with class weights: of the batches' losses, each
                       * weighted by its rows) */
    double accuracy;  /* fraction correct (classifiers), NaN for regression */
    float lr;         /* learning rate of the epoch's first step (a per-step
                       * schedule changes it at every step) */
} syn_epoch_stats;

/* A trainer owns the optimizer, a workspace, batch buffers and the shuffle
 * generator; it trains `net`, which must outlive it. */
syn_status syn_trainer_create(syn_net *net, const syn_optim_desc *optim,
                              const syn_train_desc *train, syn_trainer **out);
void syn_trainer_free(syn_trainer *tr);
syn_optimizer *syn_trainer_optimizer(syn_trainer *tr);
syn_workspace *syn_trainer_workspace(syn_trainer *tr);
/* Forward, backward, optional clipping and one optimizer step on a batch
 * (any size; buffers grow to fit). Returns DIVERGED without changing the
 * parameters when the loss is not finite (or, with clipping, a gradient),
 * and DIVERGED after the step when a non-finite gradient or the step itself
 * made a parameter non-finite: keep a copy to go back to
 * (syn_trainer_epoch does). */
syn_status syn_trainer_step(syn_trainer *tr, const float *x, const float *y, size_t batch,
                            double *loss);
/* One pass over dataset rows rows[0..n_rows) (all rows if NULL), shuffled
 * unless no_shuffle, in mini-batches; sets the scheduled learning rate
 * first. After syn_trainer_restore of a mid-epoch state it continues that
 * epoch at its next batch, with the same permutation, and the stats cover
 * the whole epoch. Returns DIVERGED when a loss, a gradient or an updated
 * parameter is not finite: the parameters and the position are then put
 * back to the start of the epoch (for an epoch resumed mid-way: to the
 * point it was resumed from, the last good state this trainer has seen),
 * and stats->batches names the batch that failed. The optimizer moments
 * are not rolled back. Training runs with denormals flushed to zero
 * (FTZ/DAZ, restored on return), which on_batch also sees. */
syn_status syn_trainer_epoch(syn_trainer *tr, const syn_dataset *ds, const size_t *rows,
                             size_t n_rows, syn_batch_fn on_batch, void *user,
                             syn_epoch_stats *stats);
/* Epochs finished so far. */
size_t syn_trainer_epochs_done(const syn_trainer *tr);
/* The learning rate the schedule starts from (syn_trainer_state.base_lr):
 * the next epoch's rate is computed from it. Lowering it on a plateau
 * (syn_plateau) is PyTorch's ReduceLROnPlateau. Errors: INVALID_ARGUMENT
 * (NULL, lr not finite or negative). */
syn_status syn_trainer_set_base_lr(syn_trainer *tr, float lr);
/* Reports the loss of the epoch just finished (the validation loss, as
 * ReduceLROnPlateau is meant to watch) to a SYN_SCHEDULE_PLATEAU schedule:
 * call it once after each syn_trainer_epoch. When the schedule cuts, the
 * base rate becomes max(base * factor, min_lr) (kept when that moves it by
 * eps or less) and *lowered (may be NULL) is 1. Losses of warmup epochs
 * are not counted (the schedule starts after them); for other kinds it
 * does nothing. The rule's state is part of syn_trainer_state. Errors:
 * INVALID_ARGUMENT (NULL trainer), STATE (no epoch finished since the last
 * report). */
syn_status syn_trainer_observe_loss(syn_trainer *tr, double loss, int *lowered);

/* ---------------------------------------------------------------- several processes
 * Data-parallel training (docs/ARCHITECTURE.md, "Several processes"). The
 * library knows no transport: a trainer is given a syn_comm, a table of
 * collective operations over the processes ("ranks") of one job, which
 * synapse_mpi.h implements on MPI and a caller may implement on anything.
 * Every rank calls every function in the same order with the same sizes.
 * Each returns SYN_OK, or a status (SYN_ERR_COMM) on every rank that could
 * not complete it; a rank that sees a failure must not call another.
 *
 * With a comm, each global batch of B rows is cut into S = syn_shard_count(B)
 * micro-shards with fixed boundaries, shard k holding rows
 * [k*B/S, (k+1)*B/S); rank r of n owns shards [r*S/n, (r+1)*S/n). Each
 * shard's gradient is computed on its own and converted to exact fixed
 * point (one power-of-two scale per block of 256 parameters, chosen from
 * the largest magnitude over all shards so that no sum needs 32 bits; two
 * such sums travel in one int64, docs/ARCHITECTURE.md); integer sums
 * do not depend on their order, so the parameters after every step are
 * bit-identical for any number of ranks at the same global batch, one rank
 * included. Without a comm (NULL) the trainer takes the plain path: one
 * pass over the whole batch in float, whose sums run over all B rows in
 * another grouping, so its last bits differ from the sharded path's. */
/* At most this many shards: 12 = lcm(1, 2, 3, 4). */
#define SYN_SHARDS 12
/* Rows a shard has at least (when the batch has them): a shard costs a
 * pass over the gradient arena, so shards of fewer rows cost more than
 * they share. */
#define SYN_SHARD_ROWS 64

/* The shards of a batch of `batch` rows: the largest of 1, 2, 3, 4, 6, 8
 * and 12 that leaves every shard SYN_SHARD_ROWS rows or more (1 for a
 * smaller batch): a function of the batch alone, so that the result cannot
 * depend on the rank count; divisible by 2 and 3 where the batch allows,
 * so 2, 3 or 4 ranks get equal shares. More ranks than shards leave ranks
 * idle. */
size_t syn_shard_count(size_t batch);

typedef struct syn_comm {
    int rank, size;  /* this process, and how many there are (size >= 1) */
    void *ctx;       /* the implementation's, passed to every function */
    /* buf[0..n) <- the element-wise sum of every rank's buf (wrapping
     * arithmetic never happens: the trainer keeps every partial sum below
     * 2^63 in magnitude, in any order). */
    syn_status (*sum_i64)(void *ctx, int64_t *buf, size_t n);
    /* buf[0..n) <- the element-wise maximum of every rank's buf. */
    syn_status (*max_f64)(void *ctx, double *buf, size_t n);
    /* bytes of buf on rank root -> buf on every rank. */
    syn_status (*broadcast)(void *ctx, void *buf, size_t bytes, int root);
    syn_status (*barrier)(void *ctx);
} syn_comm;

/* The comm of a job of one process (rank 0 of 1; every operation a no-op):
 * the sharded, rank-count-independent path on a single process, e.g. to
 * check or continue an N-rank run without MPI. */
syn_comm syn_comm_single(void);

/* Trains through comm from the next batch on (NULL: back to the plain
 * path). comm is copied; its ctx must outlive the trainer's use of it.
 * Every rank must create its trainer from the same network, options and
 * seed, and pass the same dataset rows to syn_trainer_epoch (or the same
 * whole batch to syn_trainer_step): each rank then computes its shards of
 * every batch, and all of them make the same step. Batch norm's statistics
 * are over the whole global batch: each shard's sums, added in shard order
 * through sum_i64 inside the forward and backward passes (3 collectives a
 * batch-norm layer a step). Errors: INVALID_ARGUMENT (size < 1, rank out of
 * range, a NULL function), OUT_OF_MEMORY. Memory per rank, on top of a
 * plain trainer's (syn_net_memory_estimate does not count it):
 * ceil(SYN_SHARDS / size) * 4 + 4 bytes per parameter (the shards' gradients
 * and the fixed-point sums), 8 * ceil(SYN_SHARDS / size) + 20 bytes per 256
 * parameters (block maxima), with batch norm (ceil(SYN_SHARDS / size) + 13) * 16
 * bytes per channel of its widest layer; the workspace holds one shard's
 * rows, or all of the rank's shards' when it passes them at once (batch
 * norm always does). The trainer's workspace is replaced
 * (syn_trainer_workspace returns the new one). */
syn_status syn_trainer_set_comm(syn_trainer *tr, const syn_comm *comm);

/* When to stop, and when to lower the learning rate, from one number per
 * epoch (a validation loss, or the training loss without validation rows):
 * the rule of sklearn's MLP (tol, n_iter_no_change) and of PyTorch's
 * ReduceLROnPlateau (threshold_mode "rel", patience, factor). An epoch
 * improves when its loss is below best - tol * max(|best|, 1): relative,
 * and absolute below 1, where a loss falling towards 0 would otherwise
 * improve forever by ever smaller amounts (sklearn's tol is absolute).
 * The losses synapse trains on are scale-free (cross-entropy in nats, MSE
 * on standardised targets), so 1 is a meaningful unit. With rel_threshold
 * set the rule is PyTorch's ReduceLROnPlateau exactly (mode "min",
 * threshold_mode "rel"): an epoch improves when its loss is below
 * best * (1 - tol) (any finite loss improves on no best), and after a cut
 * `cooldown` epochs are not counted towards the next; ReduceLROnPlateau's
 * `patience` P is lr_patience P + 1 here (it cuts when more than P epochs
 * did not improve). The trainer's SYN_SCHEDULE_PLATEAU runs on it. Plain
 * data, so a checkpoint can hold it: set the settings, zero the rest. */
typedef struct syn_plateau {
    double tol;           /* relative improvement that counts; >= 0 */
    size_t patience;      /* stop after this many epochs without one; >= 1 */
    size_t lr_patience;   /* ask for a lower rate after this many epochs
                           * without one since the best or the last cut;
                           * 0: never */
    float lr_factor;      /* the rate's multiplier at a cut, in (0, 1) */
    /* State. */
    int have_best;
    double best;          /* the lowest loss so far */
    size_t best_epoch;    /* 0-based epoch that reached it */
    size_t since_best;    /* epochs since then */
    size_t since_cut;     /* epochs since the best or the last cut */
    size_t n_cuts;        /* cuts asked for so far */
    /* Settings, appended (0 for the rule above). */
    int rel_threshold;    /* nonzero: ReduceLROnPlateau's rel threshold */
    size_t cooldown;      /* epochs after a cut that are not counted */
    /* State. */
    size_t cooldown_left; /* of the cooldown after the last cut */
} syn_plateau;

typedef enum syn_plateau_action {
    SYN_PLATEAU_IMPROVED = 0, /* a new best: keep these weights */
    SYN_PLATEAU_WAIT,         /* no improvement, patience remains */
    SYN_PLATEAU_CUT_LR,       /* no improvement for lr_patience: lower the rate */
    SYN_PLATEAU_STOP          /* no improvement for patience epochs */
} syn_plateau_action;

/* Records epoch `epoch`'s loss (a NaN never improves) and says what to do.
 * Errors: INVALID_ARGUMENT (NULL, bad settings). */
syn_status syn_plateau_update(syn_plateau *p, size_t epoch, double loss,
                              syn_plateau_action *action);

/* Where a trainer stands, as plain data: enough, with the network's
 * parameters and the optimizer's moments, to continue training bit for bit
 * as if it had never stopped. syn_trainer_epoch advances the position
 * before it calls the batch callback, so a callback sees the state just
 * after its batch's update and can checkpoint it. */
typedef struct syn_trainer_state {
    uint64_t epochs_done;   /* epochs finished */
    uint64_t batches_done;  /* batches finished in the epoch in progress; 0 at
                             * an epoch boundary */
    uint64_t n_rows;        /* rows of the epoch in progress (0 at a boundary) */
    /* The generator before the shuffle of the epoch in progress (at a
     * boundary: before the next epoch's), so a resumed epoch redraws the
     * very same permutation. */
    syn_rng rng;
    /* Partial sums of the epoch in progress, as syn_epoch_stats uses them:
     * the loss summed per sample, rows classified right, rows trained. */
    double loss_sum;
    uint64_t correct;
    uint64_t samples;
    float base_lr;          /* the learning rate the schedule starts from */
    syn_train_desc train;   /* the trainer's settings */
    /* SYN_SCHEDULE_PLATEAU's rule (its settings from train.schedule) and
     * the epochs reported to it so far; zeroed for other kinds. */
    syn_plateau plateau;
    uint64_t observed;
} syn_trainer_state;

/* Fills *state with the trainer's position. Errors: INVALID_ARGUMENT. */
syn_status syn_trainer_get_state(const syn_trainer *tr, syn_trainer_state *state);
/* Puts a trainer (fresh from syn_trainer_create, on the network holding the
 * saved parameters) at a saved position; opt (may be NULL: keep the
 * trainer's own moments) gives the optimizer moments and step count, as
 * syn_checkpoint_load returns them. The trainer keeps its own settings; to
 * continue bit for bit, create it with state->train and state->base_lr (and
 * the same optimizer settings). The next syn_trainer_epoch then continues
 * the epoch in progress at batch state->batches_done, with the same rows
 * (it returns STATE for another row count). Errors: INVALID_ARGUMENT
 * (inconsistent state), STATE (a mid-epoch state from a trainer with
 * another batch size or shuffle setting), SHAPE (opt is of another kind or
 * layout). */
syn_status syn_trainer_restore(syn_trainer *tr, const syn_trainer_state *state,
                               const syn_optimizer *opt);

/* Bytes that a network of this description, an optimizer of this kind and
 * a trainer running batches of `batch` rows allocate together: parameters,
 * the trainer's snapshot of them, the optimizer state arenas of the kind's
 * default settings (syn_optim_state_arenas of syn_optim_defaults(optim):
 * RMSprop with momentum or centered keeps more), and for batch > 0 the
 * workspace (gradients, activations, what each layer keeps for backward,
 * scratch) and the batch buffers (batch 0 counts the network and optimizer
 * only); batch norm's running statistics too. Not counted: the trainer's
 * row order (one size_t per training row) and the dataset. Computed from
 * the description alone, by the same per-kind plans the constructors use
 * (tests/test_layers.c compares it with what malloc hands out), so a
 * program can refuse a network before allocating anything. Errors:
 * INVALID_ARGUMENT (NULL, zero widths or layers, a layer syn_net_create
 * would refuse, unknown optimizer), OVERFLOW (the total does not fit
 * size_t: no such network can be allocated). */
syn_status syn_net_memory_estimate(const syn_net_desc *desc, syn_optim_kind optim, size_t batch,
                                   size_t *bytes);
/* Bytes that syn_workspace_create_inference allocates for a network of this
 * description and max_batch (> 0) samples, computed the same way (its
 * test compares it with what malloc hands out). Errors as
 * syn_net_memory_estimate's; INVALID_ARGUMENT for max_batch 0. */
syn_status syn_net_memory_estimate_inference(const syn_net_desc *desc, size_t max_batch,
                                             size_t *bytes);

/* Evaluation of net on dataset rows (all if rows is NULL). */
typedef struct syn_eval {
    size_t samples;
    double loss;      /* reduced as the net's loss would: per-sample mean */
    double accuracy;  /* NaN for regression */
    double mse, mae, r2; /* regression metrics, NaN for classifiers */
} syn_eval;

/* confusion (may be NULL) receives n_classes*n_classes counts, row = true
 * class, column = predicted. ws must hold at least one sample.
 * Regression follows sklearn.metrics: mse, mae and r2 are the
 * multioutput='uniform_average' of the per-output scores (for r2 the mean
 * of the outputs' R^2, not their pooled variance), and a constant target
 * column scores R^2 1.0 when predicted exactly, else 0.0 (r2_score's
 * force_finite=True). */
syn_status syn_evaluate(const syn_net *net, syn_workspace *ws, const syn_dataset *ds,
                        const size_t *rows, size_t n_rows, syn_eval *result,
                        uint64_t *confusion);

/* One regression output's scores, as sklearn.metrics' mean_squared_error,
 * root_mean_squared_error (sqrt of this column's MSE), mean_absolute_error
 * and r2_score give them for that column alone. */
typedef struct syn_target_eval {
    double mse, rmse, mae, r2;
} syn_target_eval;

/* syn_evaluate, and per_target (may be NULL; else syn_net_n_outputs
 * entries) receives each output's scores; all NaN for a classifier. The
 * overall RMSE in sklearn's uniform_average sense is the mean of the
 * entries' rmse, not sqrt(result->mse). Errors as syn_evaluate's. */
syn_status syn_evaluate_targets(const syn_net *net, syn_workspace *ws, const syn_dataset *ds,
                                const size_t *rows, size_t n_rows, syn_eval *result,
                                uint64_t *confusion, syn_target_eval *per_target);

/* A classification report from a confusion matrix (row = true class,
 * column = predicted), with sklearn.metrics.precision_recall_fscore_support
 * definitions. A ratio whose denominator is zero (the precision of a class
 * never predicted, the recall of a class with no samples) is 0, as sklearn
 * gives it by default (zero_division="warn", which warns and uses 0);
 * `predicted` and `support` let a caller tell such a 0 apart. F1 is
 * 2 tp / (2 tp + fp + fn), 0 when that denominator is 0. */
typedef struct syn_class_metrics {
    double precision, recall, f1;
    uint64_t support;   /* rows of this true class */
    uint64_t predicted; /* rows predicted as this class */
} syn_class_metrics;

typedef struct syn_class_summary {
    uint64_t samples;  /* the matrix's total */
    double accuracy;   /* trace / total */
    /* average='macro': the unweighted mean over all n_classes classes
     * (zeros included); average='weighted': weighted by support. Their
     * support and predicted are the totals. */
    syn_class_metrics macro, weighted;
} syn_class_summary;

/* Fills per_class[n_classes] (may be NULL) and *summary (may be NULL).
 * Errors: INVALID_ARGUMENT (confusion NULL, n_classes 0, an empty matrix),
 * OVERFLOW (n_classes * n_classes does not fit size_t, or the counts'
 * total does not fit uint64_t). */
syn_status syn_class_report(const uint64_t *confusion, size_t n_classes,
                            syn_class_metrics *per_class, syn_class_summary *summary);

/* ------------------------------------------------------------------------ */
/* Model files (.syn): see docs/FORMAT.md                                    */
/* ------------------------------------------------------------------------ */

/* Writes the network (and, if opt is not NULL, its optimizer state) to
 * path atomically: a temporary file in the same directory, fsync, rename.
 * On any failure the previous file at path is untouched. Errors:
 * INVALID_ARGUMENT (NULL net or path), SHAPE (opt is for another layout),
 * IO (err names the failed step; a path that exists but is not a regular
 * file, e.g. a directory, a device or a symbolic link, is refused). */
syn_status syn_net_save(const syn_net *net, const syn_optimizer *opt, const char *path,
                        syn_error *err);
/* Reads a model file. If opt_out is not NULL and the file holds optimizer
 * state, *opt_out receives a restored optimizer (else NULL). Errors: IO,
 * FORMAT (not a synapse file), VERSION, TRUNCATED, CORRUPT. */
syn_status syn_net_load(const char *path, syn_net **out, syn_optimizer **opt_out,
                        syn_error *err);

/* ------------------------------------------------------------------------ */
/* Export and import: ONNX and C headers (docs/FORMAT.md)                    */
/* ------------------------------------------------------------------------ */

/* Writes net as an ONNX model (IR version 8, opset 13, or 17 with a layer
 * norm) to path atomically, as syn_net_save does: input "input" [batch x
 * n_inputs], output "output" [batch x n_outputs] (probabilities for a
 * softmax output), the input scaling as Sub and Mul, each dense layer as
 * Gemm, dropout as Dropout (the identity at inference), batch norm as
 * BatchNormalization with its running statistics, layer norm as
 * LayerNormalization, each followed by its activation; class
 * names in metadata_props "class_names" (a JSON array). Errors:
 * INVALID_ARGUMENT, OVERFLOW, OUT_OF_MEMORY, IO. */
syn_status syn_net_export_onnx(const syn_net *net, const char *path, syn_error *err);

/* Reads an ONNX model that is one chain from its input to its output:
 * optional input scaling (Sub, then Mul or Div, by constants that
 * broadcast over the sample: (x - mean) / std), then per layer Gemm
 * (transA 0, transB 0 or 1, alpha and beta 1) or MatMul [+ Add],
 * BatchNormalization (inference), LayerNormalization (or the operators
 * torch.onnx.export writes nn.LayerNorm as before opset 17) or Dropout,
 * then at most one of Relu, LeakyRelu, Sigmoid, Tanh, Elu, Softplus,
 * Softmax (last only), or GELU (erf or tanh), SiLU, Softplus(beta) in the
 * operators torch.onnx.export writes them as;
 * Identity, Flatten (axis 1), Reshape to [batch, ...] (a constant shape
 * such as [-1, n] or [0, -1], or one computed by Shape, Gather, Unsqueeze
 * and Concat as x.view(x.size(0), -1) exports) and Constant are allowed.
 * Weights are float or double initializers or Constants. Class names come
 * from metadata_props "class_names", else "classes" (JSON lists). This
 * covers torch.onnx.export of Linear layers and synapse's own export. The
 * loss is cross-entropy after a Softmax, else MSE. Errors:
 * IO, FORMAT (not ONNX), TRUNCATED, CORRUPT, SHAPE, UNSUPPORTED (err names
 * the first node that does not fit, e.g. "node 3 "Conv_3" (Conv): operator
 * Conv is not supported (supported: ...)"), OUT_OF_MEMORY. */
syn_status syn_net_import_onnx(const char *path, syn_net **out, syn_error *err);

/* Writes one self-contained C99 header to path (atomically) that computes
 * net's forward pass: weights as static const float arrays, input scaling,
 * activations inline, no allocation, only <math.h>. With prefix "iris" it
 * defines IRIS_N_INPUTS, IRIS_N_OUTPUTS, static inline functions
 * iris_predict(const float *input, float *output) for one sample,
 * iris_predict_batch(input, n, output), iris_argmax(const float *output),
 * and iris_class_names[] when net has class names. prefix must be a C
 * identifier; NULL means "model". Errors: INVALID_ARGUMENT, OUT_OF_MEMORY,
 * IO. */
syn_status syn_net_export_c(const syn_net *net, const char *path, const char *prefix,
                            syn_error *err);

/* ------------------------------------------------------------------------ */
/* Checkpoints: a model file that can also continue training                 */
/* ------------------------------------------------------------------------ */

/* Writes the trainer's network, optimizer state and position (see
 * syn_trainer_state) and an opaque block of the caller's own data (may be
 * NULL with user_size 0) to path, atomically as syn_net_save does, so a
 * crash at any moment leaves either the previous checkpoint or the new one.
 * The file is a model file with two extra optional sections (docs/FORMAT.md),
 * so syn_net_load reads it as a model too. Call it between epochs or from
 * the batch callback. Errors: INVALID_ARGUMENT, OVERFLOW, OUT_OF_MEMORY, IO
 * (err names the failed step). */
syn_status syn_checkpoint_save(const syn_trainer *tr, const void *user_data, size_t user_size,
                               const char *path, syn_error *err);
/* Reads a checkpoint: *net receives the network, *opt the optimizer (with
 * its moments and step count), *state the position, *user_data a malloc'd
 * copy of the caller's block (release it with free(); NULL when the block
 * was empty) and *user_size its size. user_data and user_size may be NULL
 * together. Errors: those of syn_net_load, and FORMAT (a model file that is
 * not a checkpoint), CORRUPT (a damaged checkpoint section). */
syn_status syn_checkpoint_load(const char *path, syn_net **net, syn_optimizer **opt,
                               syn_trainer_state *state, void **user_data, size_t *user_size,
                               syn_error *err);

#ifdef __cplusplus
}
#endif

#endif /* SYNAPSE_H */
