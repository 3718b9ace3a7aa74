/* activation.c - element-wise activations and their derivatives, on
 * row-major [rows x cols] blocks. Derivatives are taken from the outputs a,
 * so the forward pass keeps only post-activation values. */
#include <math.h>

#include "internal.h"

static float sigmoidf(float z)
{
    /* Two branches so exp never overflows. */
    if (z >= 0.0f)
        return 1.0f / (1.0f + expf(-z));
    float e = expf(z);
    return e / (1.0f + e);
}

static void softmax_row(float *row, size_t cols)
{
    float max = row[0];
    for (size_t j = 1; j < cols; j++)
        if (row[j] > max)
            max = row[j];
    float sum = 0.0f;
    for (size_t j = 0; j < cols; j++) {
        row[j] = expf(row[j] - max);
        sum += row[j];
    }
    float inv = 1.0f / sum;
    for (size_t j = 0; j < cols; j++)
        row[j] *= inv;
}

void syn_activation_forward(syn_activation act, float slope, float *z, size_t rows,
                            size_t cols)
{
    size_t n = rows * cols;
    switch (act) {
    case SYN_ACT_LINEAR: break;
    case SYN_ACT_SIGMOID:
        for (size_t i = 0; i < n; i++)
            z[i] = sigmoidf(z[i]);
        break;
    case SYN_ACT_TANH:
        for (size_t i = 0; i < n; i++)
            z[i] = tanhf(z[i]);
        break;
    case SYN_ACT_RELU:
        for (size_t i = 0; i < n; i++)
            z[i] = z[i] > 0.0f ? z[i] : 0.0f;
        break;
    case SYN_ACT_LEAKY_RELU:
        for (size_t i = 0; i < n; i++)
            z[i] = z[i] > 0.0f ? z[i] : z[i] * slope;
        break;
    case SYN_ACT_SOFTMAX:
        for (size_t r = 0; r < rows; r++)
            softmax_row(z + r * cols, cols);
        break;
    case SYN_ACT_COUNT_: break;
    }
}

void syn_activation_backward(syn_activation act, float slope, const float *a, float *d,
                             size_t rows, size_t cols)
{
    size_t n = rows * cols;
    switch (act) {
    case SYN_ACT_LINEAR: break;
    case SYN_ACT_SIGMOID:
        for (size_t i = 0; i < n; i++)
            d[i] *= a[i] * (1.0f - a[i]);
        break;
    case SYN_ACT_TANH:
        for (size_t i = 0; i < n; i++)
            d[i] *= 1.0f - a[i] * a[i];
        break;
    case SYN_ACT_RELU:
        /* a > 0 exactly when z > 0; PyTorch also takes 0 at z == 0. */
        for (size_t i = 0; i < n; i++)
            d[i] = a[i] > 0.0f ? d[i] : 0.0f;
        break;
    case SYN_ACT_LEAKY_RELU:
        /* The slope is non-negative, so a > 0 exactly when z > 0. */
        for (size_t i = 0; i < n; i++)
            d[i] = a[i] > 0.0f ? d[i] : d[i] * slope;
        break;
    case SYN_ACT_SOFTMAX:
        /* Jacobian-vector product: dz = a * (d - <d, a>). */
        for (size_t r = 0; r < rows; r++) {
            const float *ar = a + r * cols;
            float *dr = d + r * cols;
            float dot = 0.0f;
            for (size_t j = 0; j < cols; j++)
                dot += dr[j] * ar[j];
            for (size_t j = 0; j < cols; j++)
                dr[j] = ar[j] * (dr[j] - dot);
        }
        break;
    case SYN_ACT_COUNT_: break;
    }
}
