/* activation.c - element-wise activations and their derivatives, on
 * row-major [rows x cols] blocks. Derivatives are taken from the outputs a,
 * so the forward pass keeps only post-activation values. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "base/util.h"
#include "layers/activation.h"

/* exp(x) for float, within 2 ulp of expf over its range (NaN stays NaN),
 * written so that compilers vectorize loops that call it (no libm call, no
 * branch): Cody &
 * Waite range reduction x = n ln2 + r with |r| <= ln2 / 2, then Cephes'
 * degree-6 minimax polynomial for e^r (cephes/single/expf.c), then 2^n
 * built in the exponent bits. Inputs are clamped to where expf is normal;
 * below that the result is the smallest normal instead of a denormal,
 * which flush-to-zero training would drop anyway. */
static inline float fast_expf(float x_in)
{
    float x = x_in < 88.3762626647949f ? x_in : 88.3762626647949f;
    x = x > -87.3365478515625f ? x : -87.3365478515625f; /* NaN ends here too */
    /* Round x / ln2 to nearest with the 1.5 * 2^23 trick (no floorf call). */
    float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r = x - n * 0.693359375f + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    int32_t bits = ((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    /* NaN in, NaN out, as expf (a select: the loop stays vectorized). */
    return x_in == x_in ? p * scale : x_in;
}

static inline float sigmoidf(float z)
{
    /* e^-|z| never overflows; both halves of the identity are exact. */
    float e = fast_expf(-fabsf(z));
    float s = 1.0f / (1.0f + e);
    return z >= 0.0f ? s : e * s;
}

static void softmax_row(float *row, size_t cols)
{
    float max = row[0];
    for (size_t j = 1; j < cols; j++)
        if (row[j] > max)
            max = row[j];
    float sum = 0.0f;
    for (size_t j = 0; j < cols; j++) {
        row[j] = fast_expf(row[j] - max);
        sum += row[j];
    }
    float inv = 1.0f / sum;
    for (size_t j = 0; j < cols; j++)
        row[j] *= inv;
}

SYN_VECTOR_CLONES
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
        /* Written so that NaN stays NaN, as in PyTorch. */
        for (size_t i = 0; i < n; i++)
            z[i] = z[i] < 0.0f ? 0.0f : z[i];
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

SYN_VECTOR_CLONES
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
