/* gemm_builtin_driver.h - the blocking and threading shared by the built-in
 * GEMM kernels. Each gemm_builtin_<isa>.c defines, then includes this file:
 *
 *   DRV_MR, DRV_NR   register tile: rows of op(A), columns of op(B)
 *   DRV_KC           depth of one k block
 *   DRV_FUNC         the name of the entry point to define
 *   drv_tile(ta, mr, nr, kc, a, lda, b, ldb, packed, c, ldc, accumulate)
 *       C[mr x nr] (+)= op(A)[mr x kc] * B[kc x nr]; a points at op(A)[i0][p0]
 *       (element (r, p) at a[p*lda + r] when ta, else a[r*lda + p]); B is
 *       row p at b + p*ldb, either packed (ldb == DRV_NR, zero-padded to
 *       DRV_NR columns) or straight from the caller (only nr columns exist).
 *       Every element is formed as acc = 0; acc = fma(a, b, acc) for p in
 *       order; then C = acc or C = C + acc. Masked and full variants all do
 *       exactly this, so a tile's shape never changes the bits.
 *   drv_pack_bt(nr, kc, b, ldb, pb)
 *       pb[p*DRV_NR + j] = b[j*ldb + p] (op(B) = B^T), zero for nr <= j.
 *   drv_pack_b(nr, kc, b, ldb, pb)
 *       pb[p*DRV_NR + j] = b[p*ldb + j], zero for nr <= j.
 *
 * Why this shape: A is never packed (for the NN/NT products of a dense layer
 * it is the small activation batch, read row by row from L2; for TN it is
 * already k-major). B is packed one k-block by DRV_NR sliver at a time into
 * a stack buffer that stays in L1: always when it must be transposed (NT),
 * otherwise when k is short and more than one tile reads the sliver.
 * Blocks of k are summed in order, so an element of C depends only on
 * (m, n, k) and DRV_KC; threads only choose which output tiles they own. */
#ifndef SYN_KERNELS_GEMM_BUILTIN_DRIVER_H
#define SYN_KERNELS_GEMM_BUILTIN_DRIVER_H

#include <stddef.h>

#include "base/pool.h"

/* Below this many multiply-adds (~2 us on one AVX-512 core) waking a second
 * thread costs more than it saves. */
#define DRV_PARALLEL_MIN_MACS 262144.0
/* Up to this depth B is copied even when it needs no transposing. */
#define DRV_PACK_B_MAX_K 64
/* A row group of at most this many tiles keeps its k block of A in L2. */
#define DRV_MAX_TILES_PER_GROUP 16

typedef struct drv_args {
    int trans_a, trans_b;
    size_t m, n, k;
    const float *a;
    size_t lda;
    const float *b;
    size_t ldb;
    float beta;
    float *c;
    size_t ldc;
} drv_args;

/* Computes the output tiles [tile_lo, tile_hi) x slivers [sl_lo, sl_hi). */
static void drv_run_task(const drv_args *g, size_t tile_lo, size_t tile_hi, size_t sl_lo,
                         size_t sl_hi)
{
    _Alignas(64) float pb[DRV_KC * DRV_NR];
    /* With a short k the tiles are bound by their stores to C, and the
     * caller's rows of B, often a power of two apart (ldb = 1024), share a
     * few L1 sets and alias with those stores (ldc too): then copy B even
     * when it needs no transposing, if several tiles reuse the copy. A long
     * k would rather stream B from L2 while computing. */
    int pack_b = g->trans_b || (tile_hi - tile_lo > 1 && g->k <= DRV_PACK_B_MAX_K);
    for (size_t p0 = 0; p0 < g->k; p0 += DRV_KC) {
        size_t kc = g->k - p0 < DRV_KC ? g->k - p0 : DRV_KC;
        int accumulate = p0 > 0 || g->beta != 0.0f;
        /* A short k block leaves room in pb for several slivers: pack them
         * all, then sweep each tile's rows of C along them, so C is written
         * row by row rather than down narrow columns (pages, L1 sets). */
        size_t chunk = DRV_KC / kc;
        for (size_t s0 = sl_lo; s0 < sl_hi; s0 += chunk) {
            size_t s1 = sl_hi - s0 < chunk ? sl_hi : s0 + chunk;
            for (size_t s = s0; pack_b && s < s1; s++) {
                size_t j0 = s * DRV_NR;
                size_t nr = g->n - j0 < DRV_NR ? g->n - j0 : DRV_NR;
                float *dst = pb + (s - s0) * kc * DRV_NR;
                if (g->trans_b)
                    drv_pack_bt(nr, kc, g->b + j0 * g->ldb + p0, g->ldb, dst);
                else
                    drv_pack_b(nr, kc, g->b + p0 * g->ldb + j0, g->ldb, dst);
            }
            for (size_t t = tile_lo; t < tile_hi; t++) {
                size_t i0 = t * DRV_MR;
                size_t mr = g->m - i0 < DRV_MR ? g->m - i0 : DRV_MR;
                const float *ap = g->trans_a ? g->a + p0 * g->lda + i0 : g->a + i0 * g->lda + p0;
                for (size_t s = s0; s < s1; s++) {
                    size_t j0 = s * DRV_NR;
                    size_t nr = g->n - j0 < DRV_NR ? g->n - j0 : DRV_NR;
                    const float *bp = pack_b ? pb + (s - s0) * kc * DRV_NR
                                             : g->b + p0 * g->ldb + j0;
                    drv_tile(g->trans_a, mr, nr, kc, ap, g->lda, bp,
                             pack_b ? DRV_NR : g->ldb, pack_b, g->c + i0 * g->ldc + j0, g->ldc,
                             accumulate);
                }
            }
        }
    }
}

/* How the output is cut into tasks: row groups of tiles x column groups of
 * slivers, task t = (t / col_groups, t % col_groups). */
typedef struct drv_grid {
    size_t n_tiles, n_slivers, row_groups, col_groups;
} drv_grid;

static void drv_task(const drv_args *g, const drv_grid *grid, size_t t)
{
    size_t cg = t % grid->col_groups, rg = t / grid->col_groups;
    drv_run_task(g, rg * grid->n_tiles / grid->row_groups,
                 (rg + 1) * grid->n_tiles / grid->row_groups,
                 cg * grid->n_slivers / grid->col_groups,
                 (cg + 1) * grid->n_slivers / grid->col_groups);
}

/* A task of the grid as a pool chunk. */
typedef struct drv_job {
    const drv_args *g;
    const drv_grid *grid;
} drv_job;

static void drv_chunk(void *ctx, size_t t)
{
    const drv_job *job = ctx;
    drv_task(job->g, job->grid, t);
}

void DRV_FUNC(int trans_a, int trans_b, size_t m, size_t n, size_t k, const float *a, size_t lda,
              const float *b, size_t ldb, float beta, float *c, size_t ldc, syn_pool *pool)
{
    drv_args g = {trans_a, trans_b, m, n, k, a, lda, b, ldb, beta, c, ldc};
    size_t n_tiles = (m + DRV_MR - 1) / DRV_MR;
    size_t n_slivers = (n + DRV_NR - 1) / DRV_NR;
    size_t threads = syn_pool_max_threads(pool);
    if ((double)m * (double)n * (double)k < DRV_PARALLEL_MIN_MACS)
        threads = 1;
    /* Columns first (each thread then packs only its own slivers of B),
     * rows when there are too few columns or too many rows for L2. The
     * grid only decides who computes a tile, never how. */
    size_t col_groups = n_slivers < threads ? n_slivers : threads;
    size_t per_col = (threads + col_groups - 1) / col_groups;
    size_t row_groups = (n_tiles + DRV_MAX_TILES_PER_GROUP - 1) / DRV_MAX_TILES_PER_GROUP;
    row_groups = (row_groups + per_col - 1) / per_col * per_col;
    if (row_groups > n_tiles)
        row_groups = n_tiles;
    drv_grid grid = {n_tiles, n_slivers, row_groups, col_groups};
    size_t n_tasks = col_groups * row_groups;
    if (threads > 1 && n_tasks > 1) {
        drv_job job = {&g, &grid};
        syn_pool_run(pool, n_tasks, drv_chunk, &job);
        return;
    }
    for (size_t t = 0; t < n_tasks; t++)
        drv_task(&g, &grid, t);
}

#endif
