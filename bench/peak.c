/* peak.c - measures this machine's fp32 FMA peak: a loop of independent
 * vector FMAs (12 accumulators, enough to cover FMA latency x throughput),
 * on one thread and on all threads. bench/run.sh divides synapse's GFLOP/s
 * by it. Prints one JSON line. */
#include <stdio.h>
#include <time.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif
#ifdef _OPENMP
#include <omp.h>
#endif

#define ITERS 20000000L

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#if defined(__x86_64__) && defined(__GNUC__)
/* Twelve named accumulators (an array would live in memory): twelve
 * independent FMA chains cover latency 4 x 2 FMA ports with room to spare.
 * Returns the flops done; the sum is stored so the loop is not removed. */
#define FMA_BODY(T, FMA)                                                                  \
    T a0 = init, a1 = init, a2 = init, a3 = init, a4 = init, a5 = init;                   \
    T a6 = init, a7 = init, a8 = init, a9 = init, a10 = init, a11 = init;                 \
    for (long it = 0; it < ITERS; it++) {                                                  \
        a0 = FMA(a0, m, c), a1 = FMA(a1, m, c), a2 = FMA(a2, m, c), a3 = FMA(a3, m, c);   \
        a4 = FMA(a4, m, c), a5 = FMA(a5, m, c), a6 = FMA(a6, m, c), a7 = FMA(a7, m, c);   \
        a8 = FMA(a8, m, c), a9 = FMA(a9, m, c), a10 = FMA(a10, m, c);                     \
        a11 = FMA(a11, m, c);                                                              \
    }                                                                                      \
    T sum = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11;

__attribute__((target("avx512f"))) static double fma_avx512(float *sink)
{
    __m512 init = _mm512_set1_ps(1.0f), m = _mm512_set1_ps(0.999999f);
    __m512 c = _mm512_set1_ps(1e-7f);
    FMA_BODY(__m512, _mm512_fmadd_ps)
    *sink = _mm512_reduce_add_ps(sum);
    return 2.0 * 16 * 12 * (double)ITERS;
}

__attribute__((target("avx2,fma"))) static double fma_avx2(float *sink)
{
    __m256 init = _mm256_set1_ps(1.0f), m = _mm256_set1_ps(0.999999f);
    __m256 c = _mm256_set1_ps(1e-7f);
    FMA_BODY(__m256, _mm256_fmadd_ps)
    float out[8];
    _mm256_storeu_ps(out, sum);
    *sink = out[0];
    return 2.0 * 8 * 12 * (double)ITERS;
}
#endif

static double fma_loop(float *sink)
{
#if defined(__x86_64__) && defined(__GNUC__)
    if (__builtin_cpu_supports("avx512f"))
        return fma_avx512(sink);
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return fma_avx2(sink);
#endif
    float acc = 1.0f;
    for (long it = 0; it < ITERS; it++)
        acc = acc * 0.999999f + 1e-7f;
    *sink = acc;
    return 2.0 * (double)ITERS;
}

int main(void)
{
    float sink[64] = {0};
    double start = now(), flops = fma_loop(&sink[0]);
    double one = flops / (now() - start) * 1e-9, all = one;
    int threads = 1;
#ifdef _OPENMP
    threads = omp_get_max_threads();
    double total = 0;
    start = now();
#pragma omp parallel reduction(+ : total)
    total += fma_loop(&sink[omp_get_thread_num() % 64]);
    all = total / (now() - start) * 1e-9;
#endif
    printf("{\"gflops_1_thread\": %.1f, \"gflops_all\": %.1f, \"threads\": %d, \"sink\": %g}\n",
           one, all, threads, (double)sink[0]);
    return 0;
}
