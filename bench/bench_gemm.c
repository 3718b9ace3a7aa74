/* bench_gemm.c - GFLOP/s of every GEMM backend (built-in scalar, AVX2,
 * AVX-512, OpenBLAS) on the three products of each dense layer of the
 * 784-256-128-10, 784-1024-1024-10 and 784-32-10 networks at batch 32, 128
 * and 512, and the ratio of the best built-in kernel to OpenBLAS. Built-in
 * kernels run with n_threads = 2 (or --threads); OpenBLAS with its own thread
 * count (OPENBLAS_NUM_THREADS, default every core). Each backend is timed in
 * ROUNDS rounds interleaved with the others; the best round counts. Prints
 * numbers; not a test.
 *
 * usage: bench_gemm [--seconds S] [--threads T] [--only BACKEND] [--cpu-time]
 *   --seconds   length of one timed round (default 0.02)
 *   --threads   n_threads of the built-in kernels (default 2)
 *   --only      measure one backend ("builtin-avx512", "openblas", ...)
 *   --cpu-time  divide by the CPU time of the whole process instead of the
 *               wall time: GFLOP/s per busy core, which other processes
 *               competing for the cores do not distort. Compare backends
 *               on one thread this way (--threads 1, OPENBLAS_NUM_THREADS=1).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/gemm.h"

static clockid_t bench_clock = CLOCK_MONOTONIC;

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(bench_clock, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct shape {
    const char *net;
    size_t batch, layer;
    const char *what; /* fwd: Z = X W^T, dX = dZ W, dW = dZ^T X */
    int ta, tb;
    size_t m, n, k;
} shape;

/* Seconds per call of one product, over enough calls to last `seconds`. */
static double time_round(syn_gemm_kind kind, const shape *s, const float *a, const float *b,
                         float *c, double seconds, syn_pool *threads)
{
    size_t lda = s->ta ? s->m : s->k, ldb = s->tb ? s->k : s->n;
    /* Warm up (caches, thread pools) and size the round from one call. */
    syn_gemm_with(kind, s->ta, s->tb, s->m, s->n, s->k, a, lda, b, ldb, 0.0f, c, s->n, threads);
    double t0 = now_seconds();
    syn_gemm_with(kind, s->ta, s->tb, s->m, s->n, s->k, a, lda, b, ldb, 0.0f, c, s->n, threads);
    double once = now_seconds() - t0;
    long reps = once > 0.0 ? (long)(seconds / once) + 1 : 1000;
    t0 = now_seconds();
    for (long r = 0; r < reps; r++)
        syn_gemm_with(kind, s->ta, s->tb, s->m, s->n, s->k, a, lda, b, ldb, 0.0f, c, s->n,
                      threads);
    return (now_seconds() - t0) / (double)reps;
}

static void pause_seconds(double seconds)
{
    struct timespec ts = {0, (long)(seconds * 1e9)};
    nanosleep(&ts, NULL);
}

#define MAX_SHAPES 96
#define ROUNDS 5

/* The three products of every dense layer (the first layer has no input
 * gradient to compute). */
static size_t list_shapes(shape *out)
{
    static const struct {
        const char *name;
        size_t widths[4];
        size_t n_widths;
    } nets[] = {
        {"784-256-128-10", {784, 256, 128, 10}, 4},
        {"784-1024-1024-10", {784, 1024, 1024, 10}, 4},
        {"784-32-10", {784, 32, 10, 0}, 3},
    };
    static const size_t batches[] = {32, 128, 512};
    size_t count = 0;
    for (size_t ni = 0; ni < sizeof nets / sizeof nets[0]; ni++) {
        for (size_t bi = 0; bi < sizeof batches / sizeof batches[0]; bi++) {
            size_t batch = batches[bi];
            for (size_t l = 0; l + 1 < nets[ni].n_widths; l++) {
                size_t in = nets[ni].widths[l], out_w = nets[ni].widths[l + 1];
                const char *net = nets[ni].name;
                out[count++] = (shape){net, batch, l + 1, "fwd", 0, 1, batch, out_w, in};
                if (l > 0)
                    out[count++] = (shape){net, batch, l + 1, "dX", 0, 0, batch, in, out_w};
                out[count++] = (shape){net, batch, l + 1, "dW", 1, 0, out_w, in, batch};
            }
        }
    }
    return count;
}

int main(int argc, char **argv)
{
    double seconds = 0.02;
    int threads = 2;
    const char *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            seconds = atof(argv[++i]);
        } else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
            threads = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
            only = argv[++i];
        } else if (strcmp(argv[i], "--cpu-time") == 0) {
            bench_clock = CLOCK_PROCESS_CPUTIME_ID;
        } else {
            fprintf(stderr, "usage: bench_gemm [--seconds S] [--threads T] [--only BACKEND] "
                            "[--cpu-time]\n");
            return 2;
        }
    }
    if (!(seconds > 0.0))
        seconds = 0.02;
    static const syn_gemm_kind kinds[] = {SYN_GEMM_SCALAR, SYN_GEMM_AVX2, SYN_GEMM_AVX512,
                                          SYN_GEMM_OPENBLAS};
    enum { N_KINDS = sizeof kinds / sizeof kinds[0] };
    static shape shapes[MAX_SHAPES];
    static double gflops[MAX_SHAPES][N_KINDS];
    size_t n_shapes = list_shapes(shapes);

    size_t max_elems = 1024 * 1024;
    float *a = malloc(max_elems * sizeof(float)), *b = malloc(max_elems * sizeof(float));
    float *c = malloc(max_elems * sizeof(float));
    if (!a || !b || !c) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < max_elems; i++) {
        a[i] = (float)((i * 7919u) % 1000u) / 1000.0f - 0.5f;
        b[i] = (float)((i * 104729u) % 1000u) / 1000.0f - 0.5f;
    }
    /* Rounds alternate the backends on each shape and the best round counts,
     * so that a core borrowed by another process for a while hurts none of
     * them more than the others. After OpenBLAS, a pause: its pthread pool
     * keeps spinning for a while after a call and would steal a core from
     * the pool threads of the built-in kernel measured next. */
    for (size_t si = 0; si < n_shapes; si++) {
        double best[N_KINDS];
        for (size_t ki = 0; ki < N_KINDS; ki++)
            best[ki] = INFINITY;
        for (int round = 0; round < ROUNDS; round++) {
            for (size_t ki = 0; ki < N_KINDS; ki++) {
                if (!syn_gemm_available(kinds[ki]) ||
                    (only && strcmp(only, syn_gemm_kind_name(kinds[ki])) != 0))
                    continue;
                syn_pool *pool = syn_pool_create(threads);
                double t = time_round(kinds[ki], &shapes[si], a, b, c, seconds, pool);
                syn_pool_free(pool);
                if (t < best[ki])
                    best[ki] = t;
                if (kinds[ki] == SYN_GEMM_OPENBLAS)
                    pause_seconds(0.1);
            }
        }
        const shape *s = &shapes[si];
        double flops = 2.0 * (double)s->m * (double)s->n * (double)s->k;
        for (size_t ki = 0; ki < N_KINDS; ki++)
            gflops[si][ki] = isfinite(best[ki]) ? flops / best[ki] * 1e-9 : 0.0;
    }

    printf("syn_gemm backend: %s; built-in threads: %d; OpenBLAS: its own "
           "(OPENBLAS_NUM_THREADS or all cores); GFLOP/s per %s second, best of %d rounds\n",
           syn_gemm_backend(), threads,
           bench_clock == CLOCK_MONOTONIC ? "wall-clock" : "process CPU", ROUNDS);
    printf("%-16s %5s %2s %-3s %2s %5s %5s %5s", "net", "batch", "L", "op", "tr", "m", "n", "k");
    for (size_t ki = 0; ki < N_KINDS; ki++) {
        const char *name = syn_gemm_kind_name(kinds[ki]);
        printf(" %8s", strncmp(name, "builtin-", 8) == 0 ? name + 8 : name);
    }
    printf(" %9s\n", "best/blas");
    double log_ratio_sum = 0.0;
    int n_ratios = 0;
    for (size_t si = 0; si < n_shapes; si++) {
        const shape *s = &shapes[si];
        printf("%-16s %5zu %2zu %-3s %c%c %5zu %5zu %5zu", s->net, s->batch, s->layer, s->what,
               s->ta ? 'T' : 'N', s->tb ? 'T' : 'N', s->m, s->n, s->k);
        double best_builtin = 0.0, blas = 0.0;
        for (size_t ki = 0; ki < N_KINDS; ki++) {
            double gf = gflops[si][ki];
            if (gf > 0.0)
                printf(" %8.1f", gf);
            else
                printf(" %8s", "-");
            if (kinds[ki] == SYN_GEMM_OPENBLAS)
                blas = gf;
            else if (gf > best_builtin)
                best_builtin = gf;
        }
        if (blas > 0.0) {
            printf(" %9.2f\n", best_builtin / blas);
            log_ratio_sum += log(best_builtin / blas);
            n_ratios++;
        } else {
            printf(" %9s\n", "-");
        }
    }
    if (n_ratios > 0)
        printf("geometric mean of best built-in / OpenBLAS: %.2f over %d shapes\n",
               exp(log_ratio_sum / n_ratios), n_ratios);
    free(a);
    free(b);
    free(c);
    return 0;
}
