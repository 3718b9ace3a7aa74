/* loss.c - the losses on the output layer of the last forward pass, one row
 * of a table per syn_loss, with PyTorch's definitions and reductions
 * (https://pytorch.org/docs/stable/nn.html#loss-functions):
 *   MSE   (MSELoss):           (a - t)^2, mean over all B*n elements or sum;
 *   BCE   (BCEWithLogitsLoss): max(z,0) - z t + log(1 + exp(-|z|)) from the
 *                              logits z, mean over all elements or sum;
 *   CE    (CrossEntropyLoss):  -sum_j t_j log_softmax(z)_j per row, with a
 *                              log-sum-exp shifted by the row maximum; mean
 *                              over the B rows or sum; label_smoothing and
 *                              weight as syn_loss_options describes;
 *   HUBER (HuberLoss):         0.5 d^2 for |d| < delta, else
 *                              delta (|d| - 0.5 delta), d = a - t;
 *   L1    (L1Loss):            |a - t|.
 * Values are accumulated in double. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"

/* What a loss needs of the output: which activation it may follow, and
 * whether its gradient is taken with respect to the pre-activation z
 * (fused with the output activation) or the output a. */
typedef enum loss_output {
    OUT_ANY_BUT_SOFTMAX, /* element-wise losses on a; chained through act' */
    OUT_ANY,             /* MSE: any output (softmax's Jacobian included) */
    OUT_SIGMOID,         /* fused with a sigmoid output: dL/dz */
    OUT_SOFTMAX          /* fused with a softmax output: dL/dz */
} loss_output;

/* The inputs of one evaluation: the output layer of the last pass. */
typedef struct loss_args {
    const syn_net *net;
    const float *a, *z, *t; /* outputs, logits, targets [batch x n] */
    size_t batch, n;
} loss_args;

typedef struct loss_row {
    const char *name;   /* public short name (syn_loss_name/parse) */
    loss_output output;
    int per_row;        /* the mean divides by the rows, not the elements */
    /* The unreduced sum of the loss over the batch. */
    double (*value)(const loss_args *g);
    /* dL/d(a) (element-wise losses) or dL/dz (fused) of the summed loss,
     * times inv (the reduction's 1/divisor), into d. */
    void (*grad)(const loss_args *g, float inv, float *d);
} loss_row;

/* ---------------------------------------------------------------- MSE */

static double mse_value(const loss_args *g)
{
    double total = 0.0;
    for (size_t i = 0; i < g->batch * g->n; i++) {
        double diff = (double)g->a[i] - (double)g->t[i];
        total += diff * diff;
    }
    return total;
}

static void mse_grad(const loss_args *g, float inv, float *d)
{
    float scale = 2.0f * inv;
    for (size_t i = 0; i < g->batch * g->n; i++)
        d[i] = scale * (g->a[i] - g->t[i]);
}

/* ---------------------------------------------------------------- BCE */

static double bce_value(const loss_args *g)
{
    double total = 0.0;
    for (size_t i = 0; i < g->batch * g->n; i++) {
        double zi = g->z[i], ti = g->t[i];
        total += (zi > 0.0 ? zi : 0.0) - zi * ti + log1p(exp(-fabs(zi)));
    }
    return total;
}

/* d/dz of the logit form is sigmoid(z) - t, and a = sigmoid(z). */
static void bce_grad(const loss_args *g, float inv, float *d)
{
    for (size_t i = 0; i < g->batch * g->n; i++)
        d[i] = (g->a[i] - g->t[i]) * inv;
}

/* ------------------------------------------------------ cross-entropy */

static double row_logsumexp(const float *z, size_t n)
{
    double max = z[0];
    for (size_t j = 1; j < n; j++)
        if (z[j] > max)
            max = z[j];
    double sum = 0.0;
    for (size_t j = 0; j < n; j++)
        sum += exp((double)z[j] - max);
    return max + log(sum);
}

/* A row's effective target weights a_j = w_j ((1 - s) t_j + s / C sum(t)):
 * CrossEntropyLoss's (1 - s) nll + s / C * sum_j w_j (-log p_j) of
 * aten/src/ATen/native/LossNLL.cpp (cross_entropy_loss_label_smoothing),
 * in which the smoothing term of a row is scaled by its target mass (1 for
 * a one-hot row, 0 for an all-zero one, which so contributes nothing, as an
 * ignored row does in PyTorch). */
static float ce_target(const syn_loss_opts *o, const float *tr, size_t j, float t_sum,
                       size_t n)
{
    float s = o->label_smoothing;
    float t = s > 0.0f ? (1.0f - s) * tr[j] + s / (float)n * t_sum : tr[j];
    return o->class_weights ? o->class_weights[j] * t : t;
}

static float row_sum(const float *v, size_t n)
{
    float s = 0.0f;
    for (size_t j = 0; j < n; j++)
        s += v[j];
    return s;
}

static int ce_plain(const syn_loss_opts *o)
{
    return o->label_smoothing == 0.0f && !o->class_weights;
}

static double ce_value(const loss_args *g)
{
    const syn_loss_opts *o = &g->net->loss_opts;
    double total = 0.0;
    for (size_t r = 0; r < g->batch; r++) {
        const float *zr = g->z + r * g->n, *tr = g->t + r * g->n;
        double lse = row_logsumexp(zr, g->n);
        if (ce_plain(o)) {
            for (size_t j = 0; j < g->n; j++)
                if (tr[j] != 0.0f)
                    total += (double)tr[j] * (lse - (double)zr[j]);
            continue;
        }
        float t_sum = row_sum(tr, g->n);
        for (size_t j = 0; j < g->n; j++) {
            double aj = ce_target(o, tr, j, t_sum, g->n);
            if (aj != 0.0)
                total += aj * (lse - (double)zr[j]);
        }
    }
    return total;
}

/* d/dz_j of sum_j a_j (-log softmax_j) is softmax_j * sum(a) - a_j (for a
 * one-hot row without options, sum(a) = 1). */
static void ce_grad(const loss_args *g, float inv, float *d)
{
    const syn_loss_opts *o = &g->net->loss_opts;
    for (size_t r = 0; r < g->batch; r++) {
        const float *ar = g->a + r * g->n, *tr = g->t + r * g->n;
        float *dr = d + r * g->n;
        float t_sum = row_sum(tr, g->n);
        if (ce_plain(o)) {
            for (size_t j = 0; j < g->n; j++)
                dr[j] = (ar[j] * t_sum - tr[j]) * inv;
            continue;
        }
        float a_sum = 0.0f;
        for (size_t j = 0; j < g->n; j++) {
            dr[j] = ce_target(o, tr, j, t_sum, g->n);
            a_sum += dr[j];
        }
        for (size_t j = 0; j < g->n; j++)
            dr[j] = (ar[j] * a_sum - dr[j]) * inv;
    }
}

/* -------------------------------------------------------------- Huber */

static double huber_delta(const syn_net *net)
{
    return net->loss_opts.huber_delta != 0.0f ? net->loss_opts.huber_delta : 1.0;
}

/* torch.nn.HuberLoss: z = |d|; z < delta ? 0.5 z^2 : delta (z - 0.5 delta). */
static double huber_value(const loss_args *g)
{
    double delta = huber_delta(g->net), total = 0.0;
    for (size_t i = 0; i < g->batch * g->n; i++) {
        double z = fabs((double)g->a[i] - (double)g->t[i]);
        total += z < delta ? 0.5 * z * z : delta * (z - 0.5 * delta);
    }
    return total;
}

/* d clipped to [-delta, delta] (PyTorch's huber_backward). */
static void huber_grad(const loss_args *g, float inv, float *d)
{
    float delta = (float)huber_delta(g->net);
    for (size_t i = 0; i < g->batch * g->n; i++) {
        float diff = g->a[i] - g->t[i];
        float c = diff < -delta ? -delta : diff > delta ? delta : diff;
        d[i] = c * inv;
    }
}

/* ----------------------------------------------------------------- L1 */

static double l1_value(const loss_args *g)
{
    double total = 0.0;
    for (size_t i = 0; i < g->batch * g->n; i++)
        total += fabs((double)g->a[i] - (double)g->t[i]);
    return total;
}

/* sign(d), 0 at d = 0 (torch.sign, L1Loss's backward). */
static void l1_grad(const loss_args *g, float inv, float *d)
{
    for (size_t i = 0; i < g->batch * g->n; i++) {
        float diff = g->a[i] - g->t[i];
        d[i] = diff > 0.0f ? inv : diff < 0.0f ? -inv : 0.0f;
    }
}

static const loss_row loss_rows[] = {
    [SYN_LOSS_MSE] = {"mse", OUT_ANY, 0, mse_value, mse_grad},
    [SYN_LOSS_BCE] = {"bce", OUT_SIGMOID, 0, bce_value, bce_grad},
    [SYN_LOSS_CROSS_ENTROPY] = {"ce", OUT_SOFTMAX, 1, ce_value, ce_grad},
    [SYN_LOSS_HUBER] = {"huber", OUT_ANY_BUT_SOFTMAX, 0, huber_value, huber_grad},
    [SYN_LOSS_L1] = {"l1", OUT_ANY_BUT_SOFTMAX, 0, l1_value, l1_grad},
};
_Static_assert(sizeof loss_rows / sizeof loss_rows[0] == SYN_LOSS_COUNT_,
               "one loss_rows row per syn_loss");

const char *syn_loss_row_name(syn_loss loss)
{
    return (unsigned)loss < SYN_LOSS_COUNT_ ? loss_rows[loss].name : NULL;
}

const char *syn_loss_name(syn_loss loss)
{
    return (unsigned)loss < SYN_LOSS_COUNT_ ? loss_rows[loss].name : "unknown";
}

syn_status syn_loss_parse(const char *name, syn_loss *out)
{
    if (!name || !out)
        return SYN_ERR_INVALID_ARGUMENT;
    for (size_t l = 0; l < SYN_LOSS_COUNT_; l++)
        if (strcmp(name, loss_rows[l].name) == 0) {
            *out = (syn_loss)l;
            return SYN_OK;
        }
    return SYN_ERR_INVALID_ARGUMENT;
}

int syn_loss_output_ok(syn_loss loss, syn_activation act)
{
    if ((unsigned)loss >= SYN_LOSS_COUNT_)
        return 0;
    switch (loss_rows[loss].output) {
    case OUT_ANY: return 1;
    case OUT_ANY_BUT_SOFTMAX: return act != SYN_ACT_SOFTMAX;
    case OUT_SIGMOID: return act == SYN_ACT_SIGMOID;
    case OUT_SOFTMAX: return act == SYN_ACT_SOFTMAX;
    }
    return 0;
}

/* ------------------------------------------------------------ options */

void syn_loss_opts_reset(syn_loss_opts *o)
{
    free(o->class_weights);
    memset(o, 0, sizeof *o);
}

syn_status syn_loss_opts_copy(syn_loss_opts *dst, const syn_loss_opts *src, const syn_net *net)
{
    float *w = NULL;
    size_t n = net->layers[net->n_layers - 1].units;
    if (src->class_weights) {
        if (!(w = malloc(n * sizeof *w)))
            return SYN_ERR_OUT_OF_MEMORY;
        memcpy(w, src->class_weights, n * sizeof *w);
    }
    free(dst->class_weights);
    *dst = *src;
    dst->class_weights = w;
    return SYN_OK;
}

syn_status syn_net_set_loss_options(syn_net *net, const syn_loss_options *options)
{
    if (!net)
        return SYN_ERR_INVALID_ARGUMENT;
    if (!options) {
        syn_loss_opts_reset(&net->loss_opts);
        return SYN_OK;
    }
    const syn_loss_options *o = options;
    size_t n_out = net->layers[net->n_layers - 1].units;
    int ce = net->loss == SYN_LOSS_CROSS_ENTROPY, huber = net->loss == SYN_LOSS_HUBER;
    /* CrossEntropyLoss: "label_smoothing ... must be in [0.0, 1.0]"; 1 would
     * leave no target at all, so it is refused too. */
    if (!(o->label_smoothing >= 0.0f && o->label_smoothing < 1.0f) ||
        !(o->huber_delta >= 0.0f) || !isfinite(o->huber_delta) ||
        (!o->class_weights && o->n_class_weights > 0))
        return SYN_ERR_INVALID_ARGUMENT;
    if ((!ce && (o->label_smoothing != 0.0f || o->class_weights)) ||
        (!huber && o->huber_delta != 0.0f))
        return SYN_ERR_INVALID_ARGUMENT;
    if (o->class_weights && o->n_class_weights != n_out)
        return SYN_ERR_SHAPE;
    if (o->class_weights) {
        int any = 0;
        for (size_t j = 0; j < n_out; j++) {
            if (!(o->class_weights[j] >= 0.0f) || !isfinite(o->class_weights[j]))
                return SYN_ERR_INVALID_ARGUMENT;
            any |= o->class_weights[j] > 0.0f;
        }
        if (!any)
            return SYN_ERR_INVALID_ARGUMENT;
    }
    syn_loss_opts next = {o->label_smoothing, (float *)o->class_weights, o->huber_delta};
    return syn_loss_opts_copy(&net->loss_opts, &next, net);
}

syn_status syn_net_loss_options(const syn_net *net, syn_loss_options *options)
{
    if (!net || !options)
        return SYN_ERR_INVALID_ARGUMENT;
    const syn_loss_opts *o = &net->loss_opts;
    memset(options, 0, sizeof *options);
    options->label_smoothing = o->label_smoothing;
    options->class_weights = o->class_weights;
    options->n_class_weights = o->class_weights ? net->layers[net->n_layers - 1].units : 0;
    options->huber_delta = o->huber_delta;
    return SYN_OK;
}

/* ----------------------------------------------------------- reduction */

/* Sum over the batch of the rows' target weights sum_j w_j t_j. */
static double target_weight(const syn_net *net, const float *t, size_t batch, size_t n)
{
    const float *w = net->loss_opts.class_weights;
    double total = 0.0;
    for (size_t r = 0; r < batch; r++)
        for (size_t j = 0; j < n; j++)
            total += (double)w[j] * (double)t[r * n + j];
    return total;
}

static int weighted_mean(const syn_net *net)
{
    return net->reduction == SYN_REDUCTION_MEAN && net->loss == SYN_LOSS_CROSS_ENTROPY &&
           net->loss_opts.class_weights;
}

/* The divisor of the mean reduction: rows or elements, or with class
 * weights the target weight (0 when the batch has none). */
static double loss_norm(const syn_net *net, const float *targets, size_t batch, size_t n_out)
{
    if (net->reduction == SYN_REDUCTION_SUM)
        return 1.0;
    if (weighted_mean(net))
        return target_weight(net, targets, batch, n_out);
    return loss_rows[net->loss].per_row ? (double)batch : (double)batch * (double)n_out;
}

double syn_loss_divisor(const syn_net *net, const float *targets, size_t batch)
{
    return loss_norm(net, targets, batch, net->layers[net->n_layers - 1].units);
}

double syn_loss_share(const syn_net *net, const float *targets, size_t batch)
{
    if (weighted_mean(net))
        return target_weight(net, targets, batch, net->layers[net->n_layers - 1].units);
    return (double)batch;
}

double syn_loss_compute_rows(const syn_net *net, const syn_workspace *ws,
                             const float *targets, size_t lo, size_t batch)
{
    size_t n_out = ws->widths[net->n_layers];
    loss_args g = {net, ws->act[net->n_layers - 1] + lo * n_out, ws->logits + lo * n_out,
                   targets, batch, n_out};
    double norm = loss_norm(net, targets, batch, n_out);
    /* No target weight in the batch: nothing to learn from it. */
    if (norm == 0.0)
        return 0.0;
    return loss_rows[net->loss].value(&g) / norm;
}

double syn_loss_compute(const syn_net *net, const syn_workspace *ws, const float *targets,
                        size_t batch)
{
    return syn_loss_compute_rows(net, ws, targets, 0, batch);
}

void syn_loss_grad_rows(const syn_net *net, const syn_workspace *ws, const float *targets,
                        size_t lo, size_t batch, float *dz)
{
    const syn_layer *out = &net->layers[net->n_layers - 1];
    size_t n_out = out->units;
    loss_args g = {net, ws->act[net->n_layers - 1] + lo * n_out, ws->logits + lo * n_out,
                   targets, batch, n_out};
    const loss_row *row = &loss_rows[net->loss];
    double norm = loss_norm(net, targets, batch, n_out);
    if (norm == 0.0) {
        memset(dz, 0, batch * n_out * sizeof *dz);
        return;
    }
    row->grad(&g, (float)(1.0 / norm), dz);
    /* Element-wise losses are taken on the output a: chain through a'(z). */
    if (row->output == OUT_ANY || row->output == OUT_ANY_BUT_SOFTMAX)
        syn_activation_backward(out->activation, out->leaky_slope, g.a, g.z, dz, batch, n_out);
}

void syn_loss_grad(const syn_net *net, const syn_workspace *ws, const float *targets,
                   size_t batch, float *dz)
{
    syn_loss_grad_rows(net, ws, targets, 0, batch, dz);
}
