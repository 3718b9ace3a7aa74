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

/* log(x) for a positive normal float, vectorizable: x = m 2^e with m in
 * [sqrt(1/2), sqrt 2), then Cephes' degree-9 polynomial for log(1 + f),
 * f = m - 1 (cephes/single/logf.c, as in sse_mathfun's log_ps; within an
 * ulp or two), and e ln 2 added in two parts (Cody & Waite). Callers pass
 * x >= the smallest normal (fast_expf's results are). */
static inline float fast_logf(float x)
{
    int32_t bits;
    memcpy(&bits, &x, sizeof bits);
    int32_t e = ((bits >> 23) & 0xff) - 126;
    bits = (bits & 0x007fffff) | 0x3f000000; /* m in [0.5, 1) */
    float m;
    memcpy(&m, &bits, sizeof m);
    int small = m < 0.707106781186547524f;
    float ef = (float)(small ? e - 1 : e);
    float f = small ? m + m - 1.0f : m - 1.0f;
    float z = f * f;
    float y = 7.0376836292e-2f;
    y = y * f - 1.1514610310e-1f;
    y = y * f + 1.1676998740e-1f;
    y = y * f - 1.2420140846e-1f;
    y = y * f + 1.4249322787e-1f;
    y = y * f - 1.6668057665e-1f;
    y = y * f + 2.0000714765e-1f;
    y = y * f - 2.4999993993e-1f;
    y = y * f + 3.3333331174e-1f;
    y = y * f * z;
    y += ef * -2.12194440e-4f;
    y += -0.5f * z;
    return f + y + ef * 0.693359375f;
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
 * phi(x) = exp(-x^2 / 2) / sqrt(2 pi) (GeluBackwardKernelImpl). */
#define SYN_SQRT1_2 0.70710678118654752440f
#define SYN_INV_SQRT_2PI 0.39894228040143267794f
#define SYN_SQRT_2_PI 0.79788456080286535588f /* sqrt(2 / pi) */
#define SYN_GELU_KAPPA 0.044715f

/* Phi(x) and phi(x), vectorizable (no libm call, no branch), with relative
 * precision in both tails. Phi(-|x|) = erfc(z) / 2, z = |x| / sqrt 2, by
 * Numerical Recipes' erfcc (Press et al., 2nd ed., sec. 6.2: a Chebyshev
 * fit of fractional error below 1.2e-7 for every z >= 0):
 * erfc(z) = t exp(-z^2 + P(t)), t = 1 / (1 + z / 2). exp(-z^2) =
 * exp(-x^2 / 2) is also phi's, so it is computed once, and without the
 * relative error x^2 / 2 * 2^-24 that rounding x^2 would leave in it: x is
 * split into hi (12 significant bits, so hi^2 is exact) and lo, and
 * exp(-x^2 / 2) = exp(-hi^2 / 2) exp(-lo (2 hi + lo) / 2). Phi(x) for
 * x >= 0 is 1 - Phi(-x). Against the float64 reference within 1e-6
 * relative (test_tables prints the worst); 1 + erff(x / sqrt 2), as
 * PyTorch computes it, loses all precision below x = -5 or so. */
static inline void gauss_cdf_pdf(float x, float *cdf, float *pdf)
{
    float ax = fabsf(x), hi;
    uint32_t bits;
    memcpy(&bits, &ax, sizeof bits);
    bits &= 0xFFFFF000u;
    memcpy(&hi, &bits, sizeof hi);
    float lo = ax - hi;
    float g = fast_expf(-0.5f * (hi * hi)) * fast_expf(-0.5f * (lo * (2.0f * hi + lo)));
    float t = 1.0f / (1.0f + 0.5f * (ax * SYN_SQRT1_2));
    float q = 0.17087277f;
    q = q * t - 0.82215223f;
    q = q * t + 1.48851587f;
    q = q * t - 1.13520398f;
    q = q * t + 0.27886807f;
    q = q * t - 0.18628806f;
    q = q * t + 0.09678418f;
    q = q * t + 0.37409196f;
    q = q * t + 1.00002368f;
    q = q * t - 1.26551223f;
    float tail = 0.5f * t * g * fast_expf(q); /* Phi(-|x|) */
    *cdf = x >= 0.0f ? 1.0f - tail : tail;
    *pdf = SYN_INV_SQRT_2PI * g;
}

SYN_VECTOR_CLONES
static void gelu_forward(float *z, size_t rows, size_t cols, float p)
{
    (void)p;
    size_t n = rows * cols;
    for (size_t i = 0; i < n; i++) {
        float cdf, pdf;
        gauss_cdf_pdf(z[i], &cdf, &pdf);
        z[i] = z[i] * cdf;
    }
}

SYN_VECTOR_CLONES
static void gelu_backward(const float *a, const float *z, float *d, size_t rows, size_t cols,
                          float p)
{
    (void)a, (void)p;
    size_t n = rows * cols;
    for (size_t i = 0; i < n; i++) {
        float cdf, pdf;
        gauss_cdf_pdf(z[i], &cdf, &pdf);
        d[i] *= cdf + z[i] * pdf;
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

/* ELU (torch.nn.ELU): x for x > 0, else alpha (e^x - 1); derivative 1 or
 * alpha e^x (PyTorch's elu_backward from the input, not the result).
 * e^x - 1 loses its relative precision near 0 when computed so, hence
 * Kahan's expm1: with u = e^x, (u - 1) x / log u, whose ratio (u - 1) /
 * log u is insensitive to u's rounding (Goldberg 1991, "What every
 * computer scientist should know about floating-point arithmetic", thm 4's
 * companion); x itself where u rounds to 1, and u - 1 below x = -20 where
 * it is exact to float and log u would stop at fast_expf's floor. */
static inline float fast_expm1f(float x)
{
    float u = fast_expf(x);
    float kahan = (u - 1.0f) * x / fast_logf(u);
    return u == 1.0f ? x : x < -20.0f ? u - 1.0f : kahan;
}

SYN_VECTOR_CLONES
static void elu_forward(float *z, size_t rows, size_t cols, float alpha)
{
    size_t n = rows * cols;
    for (size_t i = 0; i < n; i++) {
        /* Written so that NaN goes through the negative side and stays NaN. */
        float neg = alpha * fast_expm1f(z[i] > 0.0f ? 0.0f : z[i]);
        z[i] = z[i] > 0.0f ? z[i] : neg;
    }
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
 * sigmoid(beta x), 1 above the threshold. log(1 + e) for small e through
 * the same device as fast_expm1f: log(w) e / (w - 1), w = 1 + e rounded. */
#define SYN_SOFTPLUS_THRESHOLD 20.0f

static inline float fast_log1pf(float e)
{
    float w = 1.0f + e;
    float goldberg = fast_logf(w) * e / (w - 1.0f);
    return w == 1.0f ? e : goldberg;
}

SYN_VECTOR_CLONES
static void softplus_forward(float *z, size_t rows, size_t cols, float beta)
{
    size_t n = rows * cols;
    for (size_t i = 0; i < n; i++) {
        float bx = z[i] * beta;
        /* NaN goes through the log and stays NaN. */
        float soft = fast_log1pf(fast_expf(bx > SYN_SOFTPLUS_THRESHOLD ? 0.0f : bx)) / beta;
        z[i] = bx > SYN_SOFTPLUS_THRESHOLD ? z[i] : soft;
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
