/* test_gemm.c - every GEMM backend this build and CPU can run (built-in
 * scalar / AVX2 / AVX-512, OpenBLAS, and syn_gemm's own choice) against the
 * naive syn_gemm_ref: all four transpose combinations, odd sizes, padded
 * leading dimensions, beta 0 over a NaN-filled C and beta 1; plus
 * bit-identical results of the built-in kernels for 1, 2 and 3 threads.
 *
 * Tolerance. The backends sum the k products in another order than the
 * reference (vector lanes, k blocks, FMA). Any order of a float sum of k
 * terms is within gamma_k * S of the exact value, with S = sum |a||b| (+|c|
 * for beta 1) and gamma_k ~= k u, u = 2^-24 (Higham, Accuracy and Stability
 * of Numerical Algorithms, 2nd ed., eq. 3.5). Two such sums differ by at
 * most 2 gamma_k S, so the check uses 2 (k + 2) u S: a sound bound that no
 * reordering can break, while an indexing bug is off by O(S). Products of
 * small integers are also checked for exact equality, which no reordering
 * may change either. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "kernels/gemm.h"

#define PAD 3         /* extra columns of every matrix: ld = width + PAD */
#define SENTINEL 7.5f /* C's padding must keep this value */

static uint64_t rng_state = 0x9E3779B97F4A7C15u;

/* Uniform in [-1, 1), or a small integer in [-4, 4] when integral. */
static float next_value(int integral)
{
    rng_state = rng_state * 6364136223846793005u + 1442695040888963407u;
    uint32_t bits = (uint32_t)(rng_state >> 33);
    if (integral)
        return (float)((int)(bits % 9u) - 4);
    return (float)bits / 2147483648.0f - 1.0f;
}

typedef struct problem {
    int ta, tb;
    size_t m, n, k, lda, ldb, ldc;
    float *a, *b, *c0; /* c0: C before the product (beta 1) */
} problem;

static void problem_make(problem *p, int ta, int tb, size_t m, size_t n, size_t k, int integral)
{
    p->ta = ta;
    p->tb = tb;
    p->m = m;
    p->n = n;
    p->k = k;
    size_t a_rows = ta ? k : m, a_cols = ta ? m : k;
    size_t b_rows = tb ? n : k, b_cols = tb ? k : n;
    p->lda = a_cols + PAD;
    p->ldb = b_cols + PAD;
    p->ldc = n + PAD;
    p->a = malloc(a_rows * p->lda * sizeof(float));
    p->b = malloc(b_rows * p->ldb * sizeof(float));
    p->c0 = malloc(m * p->ldc * sizeof(float));
    if (!p->a || !p->b || !p->c0) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < a_rows * p->lda; i++)
        p->a[i] = next_value(integral);
    for (size_t i = 0; i < b_rows * p->ldb; i++)
        p->b[i] = next_value(integral);
    for (size_t i = 0; i < m * p->ldc; i++)
        p->c0[i] = next_value(integral);
}

static void problem_free(problem *p)
{
    free(p->a);
    free(p->b);
    free(p->c0);
}

/* C as the product should start: NaN for beta 0 (must not be read), c0 for
 * beta 1; the padding columns hold SENTINEL. */
static void fill_c(const problem *p, float beta, float *c)
{
    for (size_t i = 0; i < p->m; i++)
        for (size_t j = 0; j < p->ldc; j++)
            c[i * p->ldc + j] = j >= p->n ? SENTINEL : beta != 0.0f ? p->c0[i * p->ldc + j] : NAN;
}

/* sum_p |op(A)[i][p]| |op(B)[p][j]| + |c0[i][j]|, in double. */
static double magnitude(const problem *p, float beta, size_t i, size_t j)
{
    double s = beta != 0.0f ? fabs((double)p->c0[i * p->ldc + j]) : 0.0;
    for (size_t q = 0; q < p->k; q++) {
        float av = p->ta ? p->a[q * p->lda + i] : p->a[i * p->lda + q];
        float bv = p->tb ? p->b[j * p->ldb + q] : p->b[q * p->ldb + j];
        s += fabs((double)av) * fabs((double)bv);
    }
    return s;
}

static const char *combo_name(int ta, int tb)
{
    static const char *const names[4] = {"NN", "NT", "TN", "TT"};
    return names[ta * 2 + tb];
}

/* Runs one backend on one problem for both betas against the reference. */
static void check_one(syn_gemm_kind kind, const problem *p, int integral, int n_threads)
{
    size_t size = p->m * p->ldc;
    float *want = malloc(size * sizeof(float)), *got = malloc(size * sizeof(float));
    if (!want || !got) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    for (int bi = 0; bi < 2; bi++) {
        float beta = (float)bi;
        fill_c(p, beta, want);
        fill_c(p, beta, got);
        syn_gemm_ref(p->ta, p->tb, p->m, p->n, p->k, p->a, p->lda, p->b, p->ldb, beta, want,
                     p->ldc);
        syn_pool *pool = syn_pool_create(n_threads);
        syn_gemm_with(kind, p->ta, p->tb, p->m, p->n, p->k, p->a, p->lda, p->b, p->ldb, beta,
                      got, p->ldc, pool);
        syn_pool_free(pool);
        size_t bad = 0, bad_i = 0, bad_j = 0;
        double bad_err = 0.0, bad_tol = 0.0;
        for (size_t i = 0; i < p->m; i++) {
            for (size_t j = 0; j < p->ldc; j++) {
                float g = got[i * p->ldc + j], w = want[i * p->ldc + j];
                double err = fabs((double)g - (double)w), tol;
                if (j >= p->n)
                    tol = -1.0; /* padding: must be exactly SENTINEL */
                else if (integral)
                    tol = 0.0;
                else
                    tol = 2.0 * (double)(p->k + 2) * ldexp(1.0, -24) * magnitude(p, beta, i, j);
                int ok = j >= p->n ? g == SENTINEL : (isfinite(g) && err <= tol);
                if (!ok && bad++ == 0) {
                    bad_i = i;
                    bad_j = j;
                    bad_err = err;
                    bad_tol = tol;
                }
            }
        }
        CHECK(bad == 0,
              "%s %s m=%zu n=%zu k=%zu beta=%g threads=%d%s: %zu bad, first C[%zu][%zu] "
              "= %g want %g (err %g, tol %g)",
              syn_gemm_kind_name(kind), combo_name(p->ta, p->tb), p->m, p->n, p->k,
              (double)beta, n_threads, integral ? " integral" : "", bad, bad_i, bad_j,
              (double)got[bad_i * p->ldc + bad_j], (double)want[bad_i * p->ldc + bad_j],
              bad_err, bad_tol);
    }
    free(want);
    free(got);
}

/* Shapes beyond the small cube: several k blocks (k > 256), several column
 * slivers and row groups, the dense-layer shapes of 784-256-128-10 at batch
 * 32, and the tall/flat edge cases (n or k of 10). */
static const size_t big_shapes[][3] = {
    {100, 257, 33}, {257, 100, 7},  {33, 17, 600}, {17, 40, 257}, {200, 70, 513},
    {32, 256, 784}, {32, 784, 10},  {10, 784, 32}, {32, 10, 128}, {250, 3, 300},
    {3, 300, 250},  {1, 1000, 100}, {1000, 1, 100}, {13, 65, 1},
};

static void check_backend(syn_gemm_kind kind)
{
    static const size_t sizes[] = {1, 3, 7, 17, 33};
    const size_t ns = sizeof sizes / sizeof sizes[0];
    for (int combo = 0; combo < 4; combo++) {
        int ta = combo >> 1, tb = combo & 1;
        for (size_t x = 0; x < ns; x++)
            for (size_t y = 0; y < ns; y++)
                for (size_t z = 0; z < ns; z++) {
                    problem p;
                    problem_make(&p, ta, tb, sizes[x], sizes[y], sizes[z], 0);
                    check_one(kind, &p, 0, 1);
                    problem_free(&p);
                }
        for (size_t s = 0; s < sizeof big_shapes / sizeof big_shapes[0]; s++) {
            for (int integral = 0; integral < 2; integral++) {
                problem p;
                problem_make(&p, ta, tb, big_shapes[s][0], big_shapes[s][1], big_shapes[s][2],
                             integral);
                check_one(kind, &p, integral, 2);
                problem_free(&p);
            }
        }
    }
}

/* The built-in kernels promise the same bits for any thread count. */
static void check_thread_invariance(syn_gemm_kind kind)
{
    static const size_t shapes[][3] = {
        {128, 256, 784}, {512, 10, 128}, {64, 784, 10}, {1024, 784, 32}, {97, 301, 515},
    };
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        for (int combo = 0; combo < 4; combo++) {
            problem p;
            problem_make(&p, combo >> 1, combo & 1, shapes[s][0], shapes[s][1], shapes[s][2],
                         0);
            size_t size = p.m * p.ldc;
            float *one = malloc(size * sizeof(float)), *other = malloc(size * sizeof(float));
            if (!one || !other) {
                fprintf(stderr, "out of memory\n");
                exit(1);
            }
            for (int bi = 0; bi < 2; bi++) {
                float beta = (float)bi;
                fill_c(&p, beta, one);
                syn_gemm_with(kind, p.ta, p.tb, p.m, p.n, p.k, p.a, p.lda, p.b, p.ldb, beta,
                              one, p.ldc, NULL);
                static const int threads[] = {2, 3, 0};
                for (size_t t = 0; t < 3; t++) {
                    fill_c(&p, beta, other);
                    syn_pool *pool = syn_pool_create(threads[t]);
                    syn_gemm_with(kind, p.ta, p.tb, p.m, p.n, p.k, p.a, p.lda, p.b, p.ldb, beta,
                                  other, p.ldc, pool);
                    syn_pool_free(pool);
                    CHECK(memcmp(one, other, size * sizeof(float)) == 0,
                          "%s %s m=%zu n=%zu k=%zu beta=%g: threads=%d differs from threads=1",
                          syn_gemm_kind_name(kind), combo_name(p.ta, p.tb), p.m, p.n, p.k,
                          (double)beta, threads[t]);
                }
            }
            free(one);
            free(other);
            problem_free(&p);
        }
    }
}

/* k == 0 is an empty sum: beta 0 zeroes C (without reading it), beta 1
 * leaves it; m or n == 0 touches nothing. */
static void check_empty(void)
{
    float c[6] = {NAN, NAN, NAN, NAN, NAN, NAN}, a[1] = {1.0f}, b[1] = {1.0f};
    syn_gemm(0, 0, 2, 3, 0, a, 1, b, 3, 0.0f, c, 3, NULL);
    int zero = 1;
    for (int i = 0; i < 6; i++)
        zero = zero && c[i] == 0.0f;
    CHECK(zero, "%s", "k = 0 with beta 0 must zero C");
    for (int i = 0; i < 6; i++)
        c[i] = (float)i;
    syn_gemm(0, 0, 2, 3, 0, a, 1, b, 3, 1.0f, c, 3, NULL);
    CHECK(c[5] == 5.0f, "%s", "k = 0 with beta 1 must keep C");
    syn_gemm(0, 0, 0, 3, 4, a, 4, b, 3, 0.0f, c, 3, NULL);
    syn_gemm(0, 0, 2, 0, 4, a, 4, b, 1, 0.0f, c, 1, NULL);
    CHECK(c[0] == 0.0f && c[5] == 5.0f, "%s", "m or n = 0 must not touch C");
}

int main(void)
{
    const char *backend = syn_gemm_backend();
    CHECK(backend != NULL && strcmp(backend, "unknown") != 0, "backend name %s",
          backend ? backend : "(null)");
    printf("syn_gemm backend: %s\n", backend ? backend : "(null)");
    check_empty();
    for (int kind = SYN_GEMM_AUTO; kind < SYN_GEMM_KIND_COUNT_; kind++) {
        const char *name = syn_gemm_kind_name((syn_gemm_kind)kind);
        if (!syn_gemm_available((syn_gemm_kind)kind)) {
            printf("%-16s not available in this build or on this CPU: skipped\n", name);
            continue;
        }
        int before = check_failed_;
        check_backend((syn_gemm_kind)kind);
        if (kind != SYN_GEMM_AUTO && kind != SYN_GEMM_OPENBLAS)
            check_thread_invariance((syn_gemm_kind)kind);
        printf("%-16s %s\n", name, check_failed_ == before ? "ok" : "FAILED");
    }
    return check_finish();
}
