/* pool.h - the library's thread runtime: a pool runs n chunks of a function
 * over a context, on the calling thread and on worker threads it owns. A
 * base-level module: it includes nothing of the core (no synapse.h), so the
 * kernels and the core can both use it.
 *
 * Contract:
 *  - syn_pool_run(pool, n, fn, ctx) calls fn(ctx, c) exactly once for every
 *    chunk c in [0, n) and returns when all have returned. Which thread runs
 *    a chunk, and in which order, is not defined: a chunk must own its
 *    outputs and its arithmetic must not depend on who runs it, so results
 *    never depend on the thread count. The calling thread always works too.
 *    Each thread of a run starts on its own contiguous share of the chunks
 *    (thread i of T: [i*n/T, (i+1)*n/T), the caller first), as a static
 *    split would, and then takes chunks left in the others' shares, so
 *    nobody waits for a thread that is late. Which thread ran a chunk is
 *    never visible in the results.
 *  - Chunks run in the calling thread's floating-point mode (MXCSR on x86:
 *    flush-to-zero, denormals-are-zero, rounding), copied into every worker
 *    for the job.
 *  - A pool is used by one thread at a time (like a workspace); runs do not
 *    nest (fn must not call syn_pool_run on the same pool).
 *  - A NULL pool, or a pool of one thread, runs the chunks in order on the
 *    caller and starts no thread.
 *  - Workers start on the first run that wants them and are joined by
 *    syn_pool_free (and by a thread-count change that removes them); nothing
 *    outlives the pool. Waiting spins briefly, then sleeps.
 *  - The runtime never fails: when a worker cannot be started, the chunks
 *    run on fewer threads (the results are the same).
 *  - Thread count 0 is adaptive: up to the CPUs the process may run on, and
 *    the pool uses fewer when its workers arrive late (a busy machine),
 *    probing back up from time to time. A count n > 0 is obeyed exactly. */
#ifndef SYN_POOL_H
#define SYN_POOL_H

#include <stddef.h>

typedef struct syn_pool syn_pool;

typedef void (*syn_pool_fn)(void *ctx, size_t chunk);

/* A pool of n_threads threads (the caller included), 0 = adaptive. Returns
 * NULL when out of memory or n_threads < 0. Starts no thread. */
syn_pool *syn_pool_create(int n_threads);
/* Joins the workers and frees the pool; NULL is ignored. */
void syn_pool_free(syn_pool *pool);
/* Changes the thread count (0 = adaptive); workers beyond it are joined.
 * Returns nonzero for a negative count. */
int syn_pool_set_threads(syn_pool *pool, int n_threads);
/* The most threads a run may use (1 for NULL): what a caller sizes its split
 * for. It never changes the results, only how fine the chunks are. */
size_t syn_pool_max_threads(const syn_pool *pool);
/* Runs fn(ctx, c) for c in [0, n_chunks), see the contract above. */
void syn_pool_run(syn_pool *pool, size_t n_chunks, syn_pool_fn fn, void *ctx);

/* Ranges: [0, n) cut into blocks of `block` items (the last may be
 * shorter), fn(ctx, lo, hi) once per block on the pool; with a NULL pool,
 * or one block, a single call fn(ctx, 0, n). So fn's results must not
 * depend on how the range is cut (element-wise or row-wise work). */
typedef void (*syn_pool_range_fn)(void *ctx, size_t lo, size_t hi);
void syn_pool_run_ranges(syn_pool *pool, size_t n, size_t block, syn_pool_range_fn fn,
                         void *ctx);

/* For tests and benchmarks: the threads the adaptive policy would use for
 * the next run, and the worker threads now alive. */
size_t syn_pool_active_threads(const syn_pool *pool);
size_t syn_pool_live_workers(const syn_pool *pool);

#endif
