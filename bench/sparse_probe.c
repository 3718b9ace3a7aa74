/* sparse_probe.c - would skipping zero pixels make evaluation faster? The
 * first layer of 784-256-128-10 is 86% of an evaluation's arithmetic, and
 * Fashion-MNIST's images are half zeros. This times that layer's product
 * for 1000 test images (z = x W^T, 1000 x 256 x 784) two ways on one
 * thread: syn_gemm (the dense kernel evaluation uses), and a product that
 * skips every zero pixel. The sparse one keeps W^T (64-byte aligned) in
 * blocks of 32 rows (32 KB, held in L1 while every image passes over them),
 * finds each image's non-zero pixels in a block from a bitmask, and adds
 * x[k] W^T[k] into the image's 256 outputs, 16 vectors in registers. It
 * prints the fraction of non-zero pixels, both times, their ratio and the
 * largest difference between the two results (the sums are not in the same
 * order). Not part of the library: a measurement kept so that it can be
 * repeated.
 *
 *   bench_sparse_probe */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/gemm.h"
#include "synapse.h"

#define DATA_DIR "/usr/share/datasets/fashion-mnist"
#define ROWS 1000
#define IN 784
#define OUT 256
#define BLOCK 32 /* rows of W^T per block */
#define REPEAT 10

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define N_BLOCKS ((IN + BLOCK - 1) / BLOCK)

/* z[ROWS x OUT] = x[ROWS x IN] wt[IN x OUT], skipping x's zeros. */
__attribute__((target("avx512f"))) static void sparse_product(const float *x, const float *wt,
                                                               uint32_t *masks, float *z)
{
    for (size_t r = 0; r < ROWS; r++)
        for (size_t b = 0; b < N_BLOCKS; b++) {
            uint32_t m = 0;
            for (size_t j = 0; j < BLOCK && b * BLOCK + j < IN; j++)
                m |= (uint32_t)(x[r * IN + b * BLOCK + j] != 0.0f) << j;
            masks[r * N_BLOCKS + b] = m;
        }
    memset(z, 0, (size_t)ROWS * OUT * sizeof *z);
    for (size_t b = 0; b < N_BLOCKS; b++) {
        const float *wb = wt + b * BLOCK * OUT;
        for (size_t r = 0; r < ROWS; r++) {
            uint32_t m = masks[r * N_BLOCKS + b];
            if (!m)
                continue;
            float *zr = z + r * OUT;
            const float *xr = x + r * IN + b * BLOCK;
            __m512 acc[OUT / 16];
            for (int v = 0; v < OUT / 16; v++)
                acc[v] = _mm512_loadu_ps(zr + 16 * v);
            while (m) {
                int j = __builtin_ctz(m);
                m &= m - 1;
                __m512 xj = _mm512_set1_ps(xr[j]);
                for (int v = 0; v < OUT / 16; v++)
                    acc[v] = _mm512_fmadd_ps(xj, _mm512_load_ps(wb + j * OUT + 16 * v), acc[v]);
            }
            for (int v = 0; v < OUT / 16; v++)
                _mm512_storeu_ps(zr + 16 * v, acc[v]);
        }
    }
}

int main(void)
{
    if (!__builtin_cpu_supports("avx512f")) {
        printf("bench_sparse_probe: needs AVX-512\n");
        return 0;
    }
    syn_error err = {{0}};
    syn_dataset *ds = NULL;
    syn_status st = syn_dataset_load_idx(DATA_DIR "/t10k-images-idx3-ubyte.gz",
                                         DATA_DIR "/t10k-labels-idx1-ubyte.gz", &ds, &err);
    if (st != SYN_OK) {
        fprintf(stderr, "bench_sparse_probe: %s: %s\n", syn_strerror(st), err.message);
        return 1;
    }
    size_t rows[ROWS];
    for (size_t i = 0; i < ROWS; i++)
        rows[i] = i;
    float *x = malloc(sizeof(float) * ROWS * IN), *w = malloc(sizeof(float) * OUT * IN);
    float *wt = aligned_alloc(64, sizeof(float) * OUT * IN);
    float *z_dense = malloc(sizeof(float) * ROWS * OUT);
    float *z_sparse = malloc(sizeof(float) * ROWS * OUT);
    uint32_t *masks = malloc(sizeof(uint32_t) * ROWS * N_BLOCKS);
    if (!x || !w || !wt || !z_dense || !z_sparse || !masks) {
        fprintf(stderr, "bench_sparse_probe: out of memory\n");
        return 1;
    }
    st = syn_dataset_gather(ds, rows, ROWS, x, NULL);
    syn_dataset_free(ds);
    if (st != SYN_OK) {
        fprintf(stderr, "bench_sparse_probe: %s\n", syn_strerror(st));
        return 1;
    }
    syn_rng rng;
    syn_rng_seed(&rng, 1);
    for (size_t i = 0; i < (size_t)OUT * IN; i++)
        w[i] = (float)(syn_rng_uniform(&rng) - 0.5) * 0.1f;
    for (size_t k = 0; k < IN; k++)
        for (size_t j = 0; j < OUT; j++)
            wt[k * OUT + j] = w[j * IN + k];
    size_t nonzero = 0;
    for (size_t i = 0; i < (size_t)ROWS * IN; i++) {
        x[i] /= 255.0f; /* the scaling the benchmarks train with */
        nonzero += x[i] != 0.0f;
    }
    double dense = 1e30, sparse = 1e30;
    for (int rep = 0; rep < REPEAT; rep++) {
        double t = now();
        syn_gemm(0, 1, ROWS, OUT, IN, x, IN, w, IN, 0.0f, z_dense, OUT, NULL);
        t = now() - t;
        dense = t < dense ? t : dense;
        t = now();
        sparse_product(x, wt, masks, z_sparse);
        t = now() - t;
        sparse = t < sparse ? t : sparse;
    }
    double worst = 0;
    for (size_t i = 0; i < (size_t)ROWS * OUT; i++)
        worst = fmax(worst, fabs((double)z_dense[i] - (double)z_sparse[i]));
    printf("non-zero pixels: %.1f%%\n", 100.0 * (double)nonzero / ((double)ROWS * IN));
    printf("1000x256x784 on 1 thread, best of %d: dense syn_gemm %.3f ms (%.0f GFLOP/s), "
           "zero-skipping %.3f ms; sparse is %.2fx the dense speed; largest difference %.2g\n",
           REPEAT, 1e3 * dense, 2e-9 * ROWS * OUT * IN / dense, 1e3 * sparse, dense / sparse,
           worst);
    free(x), free(w), free(wt), free(z_dense), free(z_sparse), free(masks);
    return 0;
}
#else
int main(void)
{
    printf("bench_sparse_probe: needs x86-64 with AVX-512\n");
    return 0;
}
#endif
