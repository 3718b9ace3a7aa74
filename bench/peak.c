/* peak.c - measures this machine's fp32 FMA peak: a loop of independent
 * vector FMAs (12 accumulators, enough to cover FMA latency x throughput),
 * on one thread and on one thread per CPU at once (pthreads). bench/run.sh
 * divides synapse's GFLOP/s by it. Prints one JSON line.
 *
 * The accumulators start from distinct values read through a volatile: with
 * one common start value the compiler proves the twelve chains equal and
 * keeps one (one vfmadd in the loop, twelve counted), which read ~1.5x the
 * real peak. `objdump -d build/bench_peak` shows twelve vfmadd...ps in the
 * loop of fma_avx512 / fma_avx2. */
#define _GNU_SOURCE /* sched_getaffinity */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
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
 * Each starts from its own value (see the top). Returns the flops done; the
 * sum is stored so the loop is not removed. */
static volatile float start_values[12] = {1.00f, 1.01f, 1.02f, 1.03f, 1.04f, 1.05f,
                                          1.06f, 1.07f, 1.08f, 1.09f, 1.10f, 1.11f};
#define FMA_BODY(T, SET1, FMA)                                                            \
    T a0 = SET1(start_values[0]), a1 = SET1(start_values[1]);                             \
    T a2 = SET1(start_values[2]), a3 = SET1(start_values[3]);                             \
    T a4 = SET1(start_values[4]), a5 = SET1(start_values[5]);                             \
    T a6 = SET1(start_values[6]), a7 = SET1(start_values[7]);                             \
    T a8 = SET1(start_values[8]), a9 = SET1(start_values[9]);                             \
    T a10 = SET1(start_values[10]), a11 = SET1(start_values[11]);                         \
    for (long it = 0; it < ITERS; it++) {                                                  \
        a0 = FMA(a0, m, c), a1 = FMA(a1, m, c), a2 = FMA(a2, m, c), a3 = FMA(a3, m, c);   \
        a4 = FMA(a4, m, c), a5 = FMA(a5, m, c), a6 = FMA(a6, m, c), a7 = FMA(a7, m, c);   \
        a8 = FMA(a8, m, c), a9 = FMA(a9, m, c), a10 = FMA(a10, m, c);                     \
        a11 = FMA(a11, m, c);                                                              \
    }                                                                                      \
    T sum = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11;

__attribute__((target("avx512f"))) static double fma_avx512(float *sink)
{
    __m512 m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
    FMA_BODY(__m512, _mm512_set1_ps, _mm512_fmadd_ps)
    *sink = _mm512_reduce_add_ps(sum);
    return 2.0 * 16 * 12 * (double)ITERS;
}

__attribute__((target("avx2,fma"))) static double fma_avx2(float *sink)
{
    __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
    FMA_BODY(__m256, _mm256_set1_ps, _mm256_fmadd_ps)
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

/* All threads start the loop together and the clock covers the slowest. */
typedef struct peak_thread {
    pthread_barrier_t *go;
    double flops;
    float sink;
} peak_thread;

static void *peak_main(void *arg)
{
    peak_thread *t = arg;
    pthread_barrier_wait(t->go);
    t->flops = fma_loop(&t->sink);
    return NULL;
}

static int cpu_count(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

#define MAX_THREADS 256

int main(void)
{
    float sink = 0;
    double start = now(), flops = fma_loop(&sink);
    double one = flops / (now() - start) * 1e-9;
    int threads = cpu_count();
    if (threads > MAX_THREADS)
        threads = MAX_THREADS;
    static peak_thread t[MAX_THREADS];
    static pthread_t id[MAX_THREADS];
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, (unsigned)threads + 1);
    int started = 0;
    for (; started < threads; started++) {
        t[started].go = &go;
        if (pthread_create(&id[started], NULL, peak_main, &t[started]) != 0)
            break;
    }
    if (started < threads) {
        fprintf(stderr, "bench_peak: could not start %d threads\n", threads);
        return 1;
    }
    pthread_barrier_wait(&go);
    start = now();
    double total = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(id[i], NULL);
        total += t[i].flops;
        sink += t[i].sink;
    }
    double all = total / (now() - start) * 1e-9;
    pthread_barrier_destroy(&go);
    printf("{\"gflops_1_thread\": %.1f, \"gflops_all\": %.1f, \"threads\": %d, \"sink\": %g}\n",
           one, all, threads, (double)sink);
    return 0;
}
