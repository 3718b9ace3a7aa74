/* gemm.c - backend choice for syn_gemm: runtime CPU detection, the names of
 * the backends, and the policy below.
 *
 * Policy: syn_gemm runs the built-in AVX-512 kernel, else the built-in AVX2
 * kernel, when the CPU has one; OpenBLAS (when the build found it) only on
 * CPUs with neither (older x86, other architectures), where the portable
 * kernel would be ~4x slower; the portable kernel last. Why the built-in
 * kernels come first even when OpenBLAS is linked:
 *  - Speed: on the dense-layer shapes of bench/bench_gemm.c the AVX-512
 *    kernel runs ~2x faster than OpenBLAS 0.3.21 on this project's AMD
 *    EPYC (Zen 5: OpenBLAS has no kernel for it and uses an older one).
 *  - Determinism: every element of C is formed in an order fixed by
 *    (m, n, k) alone, so results are bit-identical for any thread count, as
 *    synapse.h promises, and the caller's pool (pool.h) is the only one.
 *  - No global state and one thread pool: OpenBLAS's thread count is a
 *    process-wide setting, and its pthread pool spins beside the library's;
 *    on a two-core machine they steal cores from each other whenever GEMMs
 *    alternate with the library's parallel loops.
 * What holds with the OpenBLAS backend: the pool is not used (OpenBLAS uses
 * OPENBLAS_NUM_THREADS, or every core), so results still do not depend on
 * synapse's thread count, but they may change with OPENBLAS_NUM_THREADS, the OpenBLAS
 * version and the CPU it detects. syn_gemm_with() forces any backend (tests,
 * benchmarks); a build with -DSYN_GEMM_PREFER_BLAS=ON makes OpenBLAS the
 * default wherever it was found (CI tests that build too). */
#include "kernels/gemm.h"

/* Whether the CPU (and the OS, which must save the wide registers) can run
 * an instruction set. __builtin_cpu_supports checks both and costs a load. */
static int cpu_has(syn_gemm_kind kind)
{
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
    switch (kind) {
    case SYN_GEMM_AVX2:
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case SYN_GEMM_AVX512:
        return __builtin_cpu_supports("avx512f");
    case SYN_GEMM_AUTO:
    case SYN_GEMM_SCALAR:
    case SYN_GEMM_OPENBLAS:
    case SYN_GEMM_KIND_COUNT_: return 0;
    }
    return 0;
#else
    (void)kind;
    return 0;
#endif
}

int syn_gemm_available(syn_gemm_kind kind)
{
    switch (kind) {
    case SYN_GEMM_AUTO:
    case SYN_GEMM_SCALAR:
        return 1;
    case SYN_GEMM_AVX2:
#ifdef SYN_HAVE_AVX2
        return cpu_has(SYN_GEMM_AVX2);
#else
        return 0;
#endif
    case SYN_GEMM_AVX512:
#ifdef SYN_HAVE_AVX512
        return cpu_has(SYN_GEMM_AVX512);
#else
        return 0;
#endif
    case SYN_GEMM_OPENBLAS:
#ifdef SYN_HAVE_OPENBLAS
        return syn_gemm_blas_loadable();
#else
        return 0;
#endif
    case SYN_GEMM_KIND_COUNT_: return 0;
    }
    return 0; /* a value out of range */
}

const char *syn_gemm_kind_name(syn_gemm_kind kind)
{
    static const char *const names[SYN_GEMM_KIND_COUNT_] = {
        "auto", "builtin-scalar", "builtin-avx2", "builtin-avx512", "openblas",
    };
    return (unsigned)kind < SYN_GEMM_KIND_COUNT_ ? names[kind] : "unknown";
}

syn_gemm_kind syn_gemm_best_builtin(void)
{
    if (syn_gemm_available(SYN_GEMM_AVX512))
        return SYN_GEMM_AVX512;
    if (syn_gemm_available(SYN_GEMM_AVX2))
        return SYN_GEMM_AVX2;
    return SYN_GEMM_SCALAR;
}

/* Products this small (multiply-adds) skip packing and tiling: a direct
 * loop finishes before a tiled kernel has packed its panels. The choice
 * depends on the shape alone, so it never changes with the thread count. */
#define SYN_GEMM_SMALL_MACS 4096

/* Element (i, j) of op(A) op(B) for the small path, summed in p order. */
static inline float small_dot(int trans_a, int trans_b, size_t i, size_t j, size_t k,
                              const float *a, size_t lda, const float *b, size_t ldb)
{
    size_t a_at = trans_a ? i : i * lda, a_step = trans_a ? lda : 1;
    size_t b_at = trans_b ? j * ldb : j, b_step = trans_b ? 1 : ldb;
    float acc = 0.0f;
    for (size_t p = 0; p < k; p++)
        acc += a[a_at + p * a_step] * b[b_at + p * b_step];
    return acc;
}

/* C = beta C + op(A) op(B) for tiny shapes: four outputs of a row at a
 * time share each loaded a value and the loop control, which is most of
 * the cost at these sizes; each element is still one accumulator summed
 * in p order, like every other path. */
static void gemm_small(int trans_a, int trans_b, size_t m, size_t n, size_t k, const float *a,
                       size_t lda, const float *b, size_t ldb, float beta, float *c, size_t ldc)
{
    size_t a_step = trans_a ? lda : 1, b_step = trans_b ? 1 : ldb;
    size_t b_next = trans_b ? ldb : 1; /* from column j to column j + 1 */
    for (size_t i = 0; i < m; i++) {
        float *ci = c + i * ldc;
        const float *ai = trans_a ? a + i : a + i * lda;
        size_t j = 0;
        for (; j + 4 <= n; j += 4) {
            const float *bj = trans_b ? b + j * ldb : b + j;
            float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;
            for (size_t p = 0; p < k; p++) {
                float av = ai[p * a_step];
                const float *bp = bj + p * b_step;
                s0 += av * bp[0];
                s1 += av * bp[b_next];
                s2 += av * bp[2 * b_next];
                s3 += av * bp[3 * b_next];
            }
            if (beta != 0.0f)
                s0 += ci[j], s1 += ci[j + 1], s2 += ci[j + 2], s3 += ci[j + 3];
            ci[j] = s0, ci[j + 1] = s1, ci[j + 2] = s2, ci[j + 3] = s3;
        }
        for (; j < n; j++) {
            float acc = small_dot(trans_a, trans_b, i, j, k, a, lda, b, ldb);
            ci[j] = beta != 0.0f ? ci[j] + acc : acc;
        }
    }
}

static syn_gemm_kind auto_kind(void)
{
#ifdef SYN_GEMM_PREFER_BLAS
    if (syn_gemm_available(SYN_GEMM_OPENBLAS))
        return SYN_GEMM_OPENBLAS;
#endif
    syn_gemm_kind best = syn_gemm_best_builtin();
    if (best == SYN_GEMM_SCALAR && syn_gemm_available(SYN_GEMM_OPENBLAS))
        return SYN_GEMM_OPENBLAS;
    return best;
}

int syn_gemm_rows_stable(size_t n, size_t k, size_t min_m)
{
    /* Below SYN_GEMM_SMALL_MACS a product takes gemm_small, whose sums are
     * not the tiles'; OpenBLAS picks kernels by the shape. The built-in
     * tiles sum each element over k blocks in order, the same in full and
     * masked tiles, so a row of C does not depend on m or on its place. */
    if (!((double)min_m * (double)n * (double)k > SYN_GEMM_SMALL_MACS))
        return 0;
    return auto_kind() != SYN_GEMM_OPENBLAS;
}

void syn_gemm_with(syn_gemm_kind kind, int trans_a, int trans_b, size_t m, size_t n, size_t k,
                   const float *a, size_t lda, const float *b, size_t ldb, float beta, float *c,
                   size_t ldc, syn_pool *pool)
{
    if (m == 0 || n == 0)
        return;
    if (k == 0) {
        /* An empty sum: C = beta * C, and beta 0 must not read C. */
        if (beta == 0.0f)
            for (size_t i = 0; i < m; i++)
                for (size_t j = 0; j < n; j++)
                    c[i * ldc + j] = 0.0f;
        return;
    }
    if (kind == SYN_GEMM_AUTO) {
        if ((double)m * (double)n * (double)k <= SYN_GEMM_SMALL_MACS) {
            gemm_small(trans_a, trans_b, m, n, k, a, lda, b, ldb, beta, c, ldc);
            return;
        }
        kind = auto_kind();
    }
    if (!syn_gemm_available(kind))
        kind = syn_gemm_best_builtin();
    switch (kind) {
    case SYN_GEMM_OPENBLAS:
        if (syn_gemm_blas(trans_a, trans_b, m, n, k, a, lda, b, ldb, beta, c, ldc))
            return;
        /* Sizes beyond BLAS's int: the built-in kernel handles them. */
        syn_gemm_with(syn_gemm_best_builtin(), trans_a, trans_b, m, n, k, a, lda, b, ldb, beta,
                      c, ldc, pool);
        return;
    case SYN_GEMM_AVX512:
        syn_gemm_builtin_avx512(trans_a, trans_b, m, n, k, a, lda, b, ldb, beta, c, ldc,
                                pool);
        return;
    case SYN_GEMM_AVX2:
        syn_gemm_builtin_avx2(trans_a, trans_b, m, n, k, a, lda, b, ldb, beta, c, ldc,
                              pool);
        return;
    case SYN_GEMM_AUTO: /* resolved above; syn_gemm_available made it one that runs */
    case SYN_GEMM_SCALAR:
    case SYN_GEMM_KIND_COUNT_: break;
    }
    syn_gemm_builtin_scalar(trans_a, trans_b, m, n, k, a, lda, b, ldb, beta, c, ldc, pool);
}

void syn_gemm(int trans_a, int trans_b, size_t m, size_t n, size_t k, const float *a,
              size_t lda, const float *b, size_t ldb, float beta, float *c, size_t ldc,
              syn_pool *pool)
{
    syn_gemm_with(SYN_GEMM_AUTO, trans_a, trans_b, m, n, k, a, lda, b, ldb, beta, c, ldc,
                  pool);
}

const char *syn_gemm_backend(void)
{
    return syn_gemm_kind_name(auto_kind());
}
