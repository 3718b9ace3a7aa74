/* loss.c - the three losses on the output layer of the last forward pass,
 * with PyTorch's definitions and reductions:
 *   MSE   (MSELoss):           (a - t)^2, mean over all B*n elements or sum;
 *   BCE   (BCEWithLogitsLoss): max(z,0) - z t + log(1 + exp(-|z|)) from the
 *                              logits z, mean over all elements or sum;
 *   CE    (CrossEntropyLoss):  -sum_j t_j log_softmax(z)_j per row, with a
 *                              log-sum-exp shifted by the row maximum; mean
 *                              over the B rows or sum.
 * Values are accumulated in double. */
#include <math.h>

#include "core/internal.h"

/* The divisor of the mean reduction. */
static double loss_norm(const syn_net *net, size_t batch, size_t n_out)
{
    if (net->reduction == SYN_REDUCTION_SUM)
        return 1.0;
    return net->loss == SYN_LOSS_CROSS_ENTROPY ? (double)batch : (double)batch * (double)n_out;
}

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

double syn_loss_compute(const syn_net *net, const syn_workspace *ws, const float *targets,
                        size_t batch)
{
    size_t n_out = ws->widths[net->n_layers];
    const float *a = ws->act[net->n_layers - 1];
    const float *z = ws->logits;
    double total = 0.0;
    switch (net->loss) {
    case SYN_LOSS_MSE:
        for (size_t i = 0; i < batch * n_out; i++) {
            double diff = (double)a[i] - (double)targets[i];
            total += diff * diff;
        }
        break;
    case SYN_LOSS_BCE:
        for (size_t i = 0; i < batch * n_out; i++) {
            double zi = z[i], ti = targets[i];
            total += (zi > 0.0 ? zi : 0.0) - zi * ti + log1p(exp(-fabs(zi)));
        }
        break;
    case SYN_LOSS_CROSS_ENTROPY:
        for (size_t r = 0; r < batch; r++) {
            const float *zr = z + r * n_out, *tr = targets + r * n_out;
            double lse = row_logsumexp(zr, n_out);
            for (size_t j = 0; j < n_out; j++)
                if (tr[j] != 0.0f)
                    total += (double)tr[j] * (lse - (double)zr[j]);
        }
        break;
    case SYN_LOSS_COUNT_: break;
    }
    return total / loss_norm(net, batch, n_out);
}

void syn_loss_grad(const syn_net *net, const syn_workspace *ws, const float *targets,
                   size_t batch, float *dz)
{
    const syn_layer *out = &net->layers[net->n_layers - 1];
    size_t n_out = out->units, n = batch * n_out;
    const float *a = ws->act[net->n_layers - 1];
    float inv = (float)(1.0 / loss_norm(net, batch, n_out));
    switch (net->loss) {
    case SYN_LOSS_MSE: {
        float scale = 2.0f * inv;
        for (size_t i = 0; i < n; i++)
            dz[i] = scale * (a[i] - targets[i]);
        syn_activation_backward(out->activation, out->leaky_slope, a, ws->logits, dz, batch,
                                n_out);
        break;
    }
    case SYN_LOSS_BCE:
        /* d/dz of the logit form is sigmoid(z) - t, and a = sigmoid(z). */
        for (size_t i = 0; i < n; i++)
            dz[i] = (a[i] - targets[i]) * inv;
        break;
    case SYN_LOSS_CROSS_ENTROPY:
        /* d/dz_j = softmax_j * sum(t) - t_j (sum(t) = 1 for one-hot rows). */
        for (size_t r = 0; r < batch; r++) {
            const float *ar = a + r * n_out, *tr = targets + r * n_out;
            float *dr = dz + r * n_out;
            float t_sum = 0.0f;
            for (size_t j = 0; j < n_out; j++)
                t_sum += tr[j];
            for (size_t j = 0; j < n_out; j++)
                dr[j] = (ar[j] * t_sum - tr[j]) * inv;
        }
        break;
    case SYN_LOSS_COUNT_: break;
    }
}
