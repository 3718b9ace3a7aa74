/* forwarding.c - what the small-network path's whole-vector loads and
 * stores (src/kernels/small.h) rest on: how long a load waits for a store
 * it reads from, by the shape of the two. Each line times a dependent chain
 * store -> load -> store ... and prints cycles per round trip at the clock
 * a chain of dependent adds measures, and the ratio to the matching case
 * (a whole-vector load of exactly what one whole-vector store wrote).
 *
 *   bench_forwarding */
#include <stdio.h>
#include <time.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define ROUNDS 20000000L

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static float buf[64] __attribute__((aligned(64)));

/* Cycles per round: a chain of ROUNDS dependent integer adds. */
static double seconds_per_cycle(void)
{
    long x = 0;
    double t = now();
    for (long i = 0; i < ROUNDS; i++)
        __asm__ volatile("add $1, %0" : "+r"(x));
    return (now() - t) / (double)ROUNDS;
}

/* One chain per case; `asm volatile` keeps the compiler from forwarding
 * the value through a register itself. */
#define CHAIN(STORE, LOAD)                                                                   \
    __attribute__((target("avx512f"))) static double chain_##STORE##_##LOAD(void)           \
    {                                                                                        \
        __m512 v = _mm512_set1_ps(1.0f);                                                     \
        double t = now();                                                                    \
        for (long i = 0; i < ROUNDS; i++) {                                                  \
            STORE_##STORE(v);                                                                \
            __asm__ volatile("" ::: "memory");                                               \
            v = LOAD_##LOAD();                                                               \
        }                                                                                    \
        double s = now() - t;                                                                \
        _mm512_store_ps(buf + 32, v);                                                        \
        return s / (double)ROUNDS;                                                           \
    }

#define STORE_whole(v) _mm512_store_ps(buf, v)
#define STORE_masked(v) _mm512_mask_storeu_ps(buf, 0xF, v)
#define STORE_rows(v) /* four 4-float rows as four overlapping vector stores */                \
    (_mm512_storeu_ps(buf, v), _mm512_storeu_ps(buf + 4, v), _mm512_storeu_ps(buf + 8, v),    \
     _mm512_storeu_ps(buf + 12, v))
#define LOAD_whole() _mm512_load_ps(buf)
#define LOAD_masked() _mm512_maskz_loadu_ps(0xF, buf)
#define LOAD_scalar() _mm512_set1_ps(buf[1])

CHAIN(whole, whole)
CHAIN(whole, scalar)
CHAIN(whole, masked)
CHAIN(masked, whole)
CHAIN(masked, scalar)
CHAIN(rows, whole)

int main(void)
{
    if (!__builtin_cpu_supports("avx512f")) {
        printf("bench_forwarding: this CPU has no AVX-512F\n");
        return 0;
    }
    double cycle = seconds_per_cycle();
    struct {
        const char *name;
        double (*run)(void);
    } cases[] = {
        {"whole store -> whole load (the match)", chain_whole_whole},
        {"whole store -> scalar load inside it", chain_whole_scalar},
        {"whole store -> masked load", chain_whole_masked},
        {"masked store -> whole load", chain_masked_whole},
        {"masked store -> scalar load", chain_masked_scalar},
        {"4 overlapping stores -> whole load", chain_rows_whole},
    };
    double base = 0;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        double s = cases[c].run();
        if (c == 0)
            base = s;
        printf("%-40s %6.1f cycles  %5.1fx\n", cases[c].name, s / cycle, s / base);
    }
    return 0;
}

#else
int main(void)
{
    printf("bench_forwarding: x86-64 with GCC or clang only\n");
    return 0;
}
#endif
