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
 *    (m, n, k) alone, so results are bit-identical for any n_threads, as
 *    synapse.h promises, and n_threads is obeyed exactly (1 = no threads).
 *  - No global state and one thread pool: OpenBLAS's thread count is a
 *    process-wide setting, and its pthread pool spins beside OpenMP's; on a
 *    two-core machine they steal cores from each other whenever GEMMs
 *    alternate with the library's OpenMP loops.
 * What holds with the OpenBLAS backend: n_threads is ignored (OpenBLAS uses
 * OPENBLAS_NUM_THREADS, or every core), so results still do not depend on
 * n_threads, but they may change with OPENBLAS_NUM_THREADS, the OpenBLAS
 * version and the CPU it detects. syn_gemm_with() forces any backend (tests,
 * benchmarks); a build with -DSYN_GEMM_PREFER_BLAS=ON makes OpenBLAS the
 * default wherever it was found (CI tests that build too). */
#include "gemm.h"

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
    default:
        return 0;
    }
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
        return 1;
#else
        return 0;
#endif
    default:
        return 0;
    }
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

void syn_gemm_with(syn_gemm_kind kind, int trans_a, int trans_b, size_t m, size_t n, size_t k,
                   const float *a, size_t lda, const float *b, size_t ldb, float beta, float *c,
                   size_t ldc, int n_threads)
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
    if (kind == SYN_GEMM_AUTO)
        kind = auto_kind();
    if (!syn_gemm_available(kind))
        kind = syn_gemm_best_builtin();
    switch (kind) {
    case SYN_GEMM_OPENBLAS:
        if (syn_gemm_blas(trans_a, trans_b, m, n, k, a, lda, b, ldb, beta, c, ldc))
            return;
        /* Sizes beyond BLAS's int: the built-in kernel handles them. */
        syn_gemm_with(syn_gemm_best_builtin(), trans_a, trans_b, m, n, k, a, lda, b, ldb, beta,
                      c, ldc, n_threads);
        return;
    case SYN_GEMM_AVX512:
        syn_gemm_builtin_avx512(trans_a, trans_b, m, n, k, a, lda, b, ldb, beta, c, ldc,
                                n_threads);
        return;
    case SYN_GEMM_AVX2:
        syn_gemm_builtin_avx2(trans_a, trans_b, m, n, k, a, lda, b, ldb, beta, c, ldc,
                              n_threads);
        return;
    default:
        syn_gemm_builtin_scalar(trans_a, trans_b, m, n, k, a, lda, b, ldb, beta, c, ldc,
                                n_threads);
        return;
    }
}

void syn_gemm(int trans_a, int trans_b, size_t m, size_t n, size_t k, const float *a,
              size_t lda, const float *b, size_t ldb, float beta, float *c, size_t ldc,
              int n_threads)
{
    syn_gemm_with(SYN_GEMM_AUTO, trans_a, trans_b, m, n, k, a, lda, b, ldb, beta, c, ldc,
                  n_threads);
}

const char *syn_gemm_backend(void)
{
    return syn_gemm_kind_name(auto_kind());
}
