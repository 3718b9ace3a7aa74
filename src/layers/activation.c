/* activation.c - the activation table (activation.h): element-wise
 * activations and their derivatives on row-major [rows x cols] blocks.
 * Derivatives come from the outputs a where that is exact (sigmoid, tanh,
 * the ReLUs, softmax), so those layers keep only post-activation values;
 * the rows with needs_z (GELU, SiLU, ELU, softplus) read the
 * pre-activation z, which the workspace then keeps (core/pass.c). The
 * formulas are PyTorch's (torch.nn.GELU, SiLU, ELU, Softplus; their CPU
 * kernels in aten/src/ATen/native/cpu/Activation.cpp), cited per row. */
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

/* ---- forward and backward per activation (blocks of n = rows * cols) ---- */

static void linear_forward(float *z, size_t rows, size_t cols, float p)
{
    (void)z, (void)rows, (void)cols, (void)p;
}

static void linear_backward(const float *a, const float *z, float *d, size_t rows, size_t cols,
                            float p)
{
    (void)a, (void)z, (void)d, (void)rows, (void)cols, (void)p;
}

SYN_VECTOR_CLONES
static void sigmoid_forward(float *z, size_t rows, size_t cols, float p)
{
    (void)p;
    size_t n = rows * cols;
    for (size_t i = 0; i < n; i++)
        z[i] = sigmoidf(z[i]);
}

SYN_VECTOR_CLONES
static void sigmoid_backward(const float *a, const float *z, float *d, size_t rows, size_t cols,
                             float p)
{
    (void)z, (void)p;
    size_t n = rows * cols;
    for (size_t i = 0; i < n; i++)
        d[i] *= a[i] * (1.0f - a[i]);
}

static void tanh_forward(float *z, size_t rows, size_t cols, float p)
{
    (void)p;
    size_t n = rows * cols;
    for (size_t i = 0; i < n; i++)
        z[i] = tanhf(z[i]);
}

SYN_VECTOR_CLONES
static void tanh_backward(const float *a, const float *z, float *d, size_t rows, size_t cols,
                          float p)
{
    (void)z, (void)p;
    size_t n = rows * cols;
    for (size_t i = 0; i < n; i++)
        d[i] *= 1.0f - a[i] * a[i];
}

SYN_VECTOR_CLONES
static void relu_forward(float *z, size_t rows, size_t cols, float p)
{
    (void)p;
    size_t n = rows * cols;
    /* Written so that NaN stays NaN, as in PyTorch. */
    for (size_t i = 0; i < n; i++)
        z[i] = z[i] < 0.0f ? 0.0f : z[i];
}

SYN_VECTOR_CLONES
static void relu_backward(const float *a, const float *z, float *d, size_t rows, size_t cols,
                          float p)
{
    (void)z, (void)p;
    size_t n = rows * cols;
    /* a > 0 exactly when z > 0; PyTorch also takes 0 at z == 0. */
    for (size_t i = 0; i < n; i++)
        d[i] = a[i] > 0.0f ? d[i] : 0.0f;
}

SYN_VECTOR_CLONES
static void leaky_forward(float *z, size_t rows, size_t cols, float slope)
{
    size_t n = rows * cols;
    for (size_t i = 0; i < n; i++)
        z[i] = z[i] > 0.0f ? z[i] : z[i] * slope;
}

SYN_VECTOR_CLONES
static void leaky_backward(const float *a, const float *z, float *d, size_t rows, size_t cols,
                           float slope)
{
    (void)z;
    size_t n = rows * cols;
    /* The slope is non-negative, so a > 0 exactly when z > 0. */
    for (size_t i = 0; i < n; i++)
        d[i] = a[i] > 0.0f ? d[i] : d[i] * slope;
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
static void softmax_forward(float *z, size_t rows, size_t cols, float p)
{
    (void)p;
    for (size_t r = 0; r < rows; r++)
        softmax_row(z + r * cols, cols);
}

SYN_VECTOR_CLONES
static void softmax_backward(const float *a, const float *z, float *d, size_t rows, size_t cols,
                             float p)
{
    (void)z, (void)p;
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
}

/* GELU, exact form (torch.nn.GELU(approximate='none')): x Phi(x) =
 * 0.5 x (1 + erf(x / sqrt 2)); derivative Phi(x) + x phi(x) with
 * phi(x) = exp(-x^2 / 2) / sqrt(2 pi) (GeluBackwardKernelImpl). Phi is
 * written 0.5 erfc(-x / sqrt 2), the same function without the
 * cancellation of 1 + erf for negative x: glibc's erfcf is within an ulp or
 * two over the whole range, so the output keeps its relative precision in
 * the left tail too (1 + erff loses it there, as does PyTorch's 1.5e-7
 * vectorized erf). */
#define SYN_SQRT1_2 0.70710678118654752440f
#define SYN_INV_SQRT_2PI 0.39894228040143267794f
#define SYN_SQRT_2_PI 0.79788456080286535588f /* sqrt(2 / pi) */
#define SYN_GELU_KAPPA 0.044715f

static void gelu_forward(float *z, size_t rows, size_t cols, float p)
{
    (void)p;
    size_t n = rows * cols;
    for (size_t i = 0; i < n; i++)
        z[i] = 0.5f * z[i] * erfcf(-z[i] * SYN_SQRT1_2);
}

static void gelu_backward(const float *a, const float *z, float *d, size_t rows, size_t cols,
                          float p)
{
    (void)a, (void)p;
    size_t n = rows * cols;
    for (size_t i = 0; i < n; i++) {
        float x = z[i];
        float cdf = 0.5f * erfcf(-x * SYN_SQRT1_2);
        float pdf = SYN_INV_SQRT_2PI * fast_expf(-0.5f * x * x);
        d[i] *= cdf + x * pdf;
    }
}

/* GELU, tanh approximation (torch.nn.GELU(approximate='tanh')):
 * 0.5 x (1 + tanh(u)) with u = sqrt(2/pi) (x + 0.044715 x^3), and
 * PyTorch's derivative 0.5 (1 + t) + 0.5 x (1 - t^2) sqrt(2/pi) (1 + 3
 * 0.044715 x^2). Both through 0.5 (1 + tanh(u)) = sigmoid(2u) = s and
 * 1 - t^2 = 4 s (1 - s): the same functions, without 1 + tanh's
 * cancellation for negative x, and vectorizable (sigmoidf). */
SYN_VECTOR_CLONES
static void gelu_tanh_forward(float *z, size_t rows, size_t cols, float p)
{
    (void)p;
    size_t n = rows * cols;
    for (size_t i = 0; i < n; i++) {
        float x = z[i];
        float u = SYN_SQRT_2_PI * (x + SYN_GELU_KAPPA * x * x * x);
        z[i] = x * sigmoidf(2.0f * u);
    }
}

SYN_VECTOR_CLONES
static void gelu_tanh_backward(const float *a, const float *z, float *d, size_t rows,
                               size_t cols, float p)
{
    (void)a, (void)p;
    size_t n = rows * cols;
    for (size_t i = 0; i < n; i++) {
        float x = z[i], x2 = x * x;
        float s = sigmoidf(2.0f * SYN_SQRT_2_PI * (x + SYN_GELU_KAPPA * x2 * x));
        float du = SYN_SQRT_2_PI * (1.0f + 3.0f * SYN_GELU_KAPPA * x2);
        d[i] *= s + 2.0f * x * s * (1.0f - s) * du;
    }
}

/* SiLU (torch.nn.SiLU): x sigmoid(x); derivative s (1 + x (1 - s)). */
SYN_VECTOR_CLONES
static void silu_forward(float *z, size_t rows, size_t cols, float p)
{
    (void)p;
    size_t n = rows * cols;
    for (size_t i = 0; i < n; i++)
        z[i] = z[i] * sigmoidf(z[i]);
}

SYN_VECTOR_CLONES
static void silu_backward(const float *a, const float *z, float *d, size_t rows, size_t cols,
                          float p)
{
    (void)a, (void)p;
    size_t n = rows * cols;
    for (size_t i = 0; i < n; i++) {
        float s = sigmoidf(z[i]);
        d[i] *= s * (1.0f + z[i] * (1.0f - s));
    }
}

/* ELU (torch.nn.ELU): x for x > 0, else alpha (e^x - 1), through expm1f so
 * that small |x| keeps its relative precision; derivative 1 or alpha e^x
 * (PyTorch's elu_backward from the input, not the result). */
static void elu_forward(float *z, size_t rows, size_t cols, float alpha)
{
    size_t n = rows * cols;
    for (size_t i = 0; i < n; i++)
        z[i] = z[i] > 0.0f ? z[i] : alpha * expm1f(z[i]);
}

SYN_VECTOR_CLONES
static void elu_backward(const float *a, const float *z, float *d, size_t rows, size_t cols,
                         float alpha)
{
    (void)a;
    size_t n = rows * cols;
    for (size_t i = 0; i < n; i++)
        d[i] = z[i] > 0.0f ? d[i] : d[i] * alpha * fast_expf(z[i]);
}

/* Softplus (torch.nn.Softplus, beta 1, threshold 20): log(1 + e^(beta x))
 * / beta, and x itself where beta x > threshold; derivative
 * sigmoid(beta x), 1 above the threshold. */
#define SYN_SOFTPLUS_THRESHOLD 20.0f

static void softplus_forward(float *z, size_t rows, size_t cols, float beta)
{
    size_t n = rows * cols;
    for (size_t i = 0; i < n; i++) {
        float bx = z[i] * beta;
        z[i] = bx > SYN_SOFTPLUS_THRESHOLD ? z[i] : log1pf(fast_expf(bx)) / beta;
    }
}

SYN_VECTOR_CLONES
static void softplus_backward(const float *a, const float *z, float *d, size_t rows,
                              size_t cols, float beta)
{
    (void)a;
    size_t n = rows * cols;
    for (size_t i = 0; i < n; i++) {
        float bx = z[i] * beta;
        d[i] = bx > SYN_SOFTPLUS_THRESHOLD ? d[i] : d[i] * sigmoidf(bx);
    }
}

/* ---- the table ---- */

static const syn_act_info act_table[] = {
    [SYN_ACT_LINEAR] = {"linear", NULL, 0.0f, 0, 0, 0, 1, linear_forward, linear_backward,
                        SYN_ONNX_ACT_NONE, NULL, NULL},
    [SYN_ACT_SIGMOID] = {"sigmoid", NULL, 0.0f, 0, 0, 0, 1, sigmoid_forward, sigmoid_backward,
                         SYN_ONNX_ACT_OP, "Sigmoid",
                         "if (x >= 0.0f)\n        return 1.0f / (1.0f + expf(-x));\n"
                         "    return expf(x) / (1.0f + expf(x));"},
    [SYN_ACT_TANH] = {"tanh", NULL, 0.0f, 0, 0, 0, 1, tanh_forward, tanh_backward,
                      SYN_ONNX_ACT_OP, "Tanh", "return tanhf(x);"},
    [SYN_ACT_RELU] = {"relu", NULL, 0.0f, 0, 1, 0, 1, relu_forward, relu_backward,
                      SYN_ONNX_ACT_OP, "Relu", "return x < 0.0f ? 0.0f : x;"},
    [SYN_ACT_LEAKY_RELU] = {"leaky_relu", "slope", 0.01f, 0, 1, 0, 1, leaky_forward,
                            leaky_backward, SYN_ONNX_ACT_OP_ALPHA, "LeakyRelu",
                            "return x > 0.0f ? x : x * p;"},
    [SYN_ACT_SOFTMAX] = {"softmax", NULL, 0.0f, 0, 0, 1, 1, softmax_forward, softmax_backward,
                         SYN_ONNX_ACT_SOFTMAX, "Softmax", NULL},
    [SYN_ACT_GELU] = {"gelu", NULL, 0.0f, 1, 0, 0, 0, gelu_forward, gelu_backward,
                      SYN_ONNX_ACT_GELU_ERF, NULL,
                      "return 0.5f * x * erfcf(-x * 0.70710678118654752f);"},
    [SYN_ACT_GELU_TANH] = {"gelu_tanh", NULL, 0.0f, 1, 0, 0, 0, gelu_tanh_forward,
                           gelu_tanh_backward, SYN_ONNX_ACT_GELU_TANH, NULL,
                           "return 0.5f * x * (1.0f + tanhf(0.79788456080286535f * "
                           "(x + 0.044715f * x * x * x)));"},
    [SYN_ACT_SILU] = {"silu", NULL, 0.0f, 1, 0, 0, 0, silu_forward, silu_backward,
                      SYN_ONNX_ACT_SILU, NULL,
                      "if (x >= 0.0f)\n        return x / (1.0f + expf(-x));\n"
                      "    return x * expf(x) / (1.0f + expf(x));"},
    [SYN_ACT_ELU] = {"elu", "alpha", 1.0f, 1, 0, 0, 0, elu_forward, elu_backward,
                     SYN_ONNX_ACT_OP_ALPHA, "Elu", "return x > 0.0f ? x : p * expm1f(x);"},
    [SYN_ACT_SOFTPLUS] = {"softplus", "beta", 1.0f, 1, 0, 0, 0, softplus_forward,
                          softplus_backward, SYN_ONNX_ACT_SOFTPLUS, "Softplus",
                          "return x * p > 20.0f ? x : log1pf(expf(x * p)) / p;"},
};
_Static_assert(sizeof act_table / sizeof act_table[0] == SYN_ACT_COUNT_,
               "one activation table row per syn_activation");

const syn_act_info *syn_act_info_of(syn_activation act)
{
    return &act_table[act];
}

float syn_activation_param(syn_activation act, float requested)
{
    const syn_act_info *info = &act_table[act];
    if (!info->param_name)
        return 0.0f;
    return requested != 0.0f ? requested : info->default_param;
}

int syn_activation_param_ok(syn_activation act, float requested)
{
    if ((unsigned)act >= SYN_ACT_COUNT_ || !isfinite(requested) || requested < 0.0f)
        return 0;
    return 1;
}

void syn_activation_forward(syn_activation act, float param, float *z_to_a, size_t rows,
                            size_t cols)
{
    act_table[act].forward(z_to_a, rows, cols, param);
}

void syn_activation_backward(syn_activation act, float param, const float *a, const float *z,
                             float *d, size_t rows, size_t cols)
{
    act_table[act].backward(a, z, d, rows, cols, param);
}

const char *syn_activation_name(syn_activation act)
{
    return (unsigned)act < SYN_ACT_COUNT_ ? act_table[act].name : "unknown";
}

syn_status syn_activation_parse(const char *name, syn_activation *out)
{
    if (!name || !out)
        return SYN_ERR_INVALID_ARGUMENT;
    for (size_t a = 0; a < SYN_ACT_COUNT_; a++)
        if (strcmp(name, act_table[a].name) == 0) {
            *out = (syn_activation)a;
            return SYN_OK;
        }
    return SYN_ERR_INVALID_ARGUMENT;
}
