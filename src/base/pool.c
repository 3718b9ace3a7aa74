/* pool.c - the thread runtime of pool.h: workers on pthreads, a job
 * published as one contiguous range of chunks per thread that the others
 * take from when their own is done, waiting that spins briefly and then
 * sleeps on a condition variable, and the policy that picks how many
 * threads a run uses.
 *
 * The job. Chunks [0, n) are split into one contiguous range per thread
 * of the run (thread i owns [i*n/T, (i+1)*n/T), the caller is thread 0), as
 * a static split would cut them; a thread runs its own range from the front
 * and then takes the next chunks of the others' ranges, so on a quiet
 * machine every thread keeps the same rows in every region of a step (its
 * cache holds what it wrote), and on a busy one nobody waits for a thread
 * that is late: the others run its range. Each range is one atomic word,
 * (generation << 32 | next chunk), on a cache line of its own. The caller,
 * the only writer of generations, first closes the last job's ranges (odd
 * generation, no chunk left), writes the job's fields, opens this job's
 * ranges, then publishes the even generation in `gen` (a seqlock: a worker
 * that read fields of a later job can no longer claim a chunk of the one it
 * saw). A chunk is claimed by a compare-and-swap that keeps the generation,
 * so a late worker can never take a chunk of the next job with the last
 * job's function. Nobody waits for a worker that has claimed nothing: the
 * caller takes chunks itself from the start, and only waits for chunks
 * already in flight.
 *
 * Waiting. A thread that waits (a worker for the next job, the caller for
 * chunks in flight) first spins with `pause` for a few microseconds, then
 * spins calling sched_yield, which costs nothing on an idle core and hands
 * the core to any other runnable thread on a busy one (the caller, a
 * descheduled worker, the user's other work), then sleeps on a condition
 * variable: a sleeping caller frees its core, and the scheduler moves the
 * worker it waits for there.
 *
 * The policy (thread count 0). Per run the caller times its own chunks,
 * which estimates what the run would cost on one thread (its time per chunk
 * times the chunks, at most the threads times the wall time); over a window
 * of runs (16; a new pool's first, 4) it compares the median run's gain,
 * plus the time between runs, with the wall time it really took. Waiting for a worker
 * that the OS descheduled shows up as a speedup below 1, a worker that
 * never arrives in time as one near 1: below 1.02 the pool runs on one
 * thread, and tries one more again after a pause that doubles
 * while tries fail and halves when one passes (10 ms to 1 s). A try ends as
 * soon as it has lost 1 ms, so a failed one costs about that, at most
 * ~0.1% of a loaded second, and a freed core is found within a second. */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include "base/pool.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#define POOL_HAVE_MXCSR 1
#endif

/* No more threads than this, whatever the machine says. */
#define POOL_MAX_THREADS 256
/* A worker spins this long for the next job before it sleeps: longer than
 * the serial work between the parallel regions of a training step, much
 * shorter than a scheduler time slice. The first POOL_PAUSE_NS of any spin
 * use `pause` alone, the rest sched_yield too. */
#define POOL_WORKER_SPIN_NS 50000u
#define POOL_PAUSE_NS 3000u
/* The caller spins for chunks in flight at most this long, and at least
 * POOL_CALLER_SPIN_MIN_NS, before it sleeps (sleeping gives the core to the
 * worker it waits for, when that worker was descheduled). */
#define POOL_CALLER_SPIN_MAX_NS 100000u
#define POOL_CALLER_SPIN_MIN_NS 5000u
/* Adaptive policy: runs per measurement window; a window also ends as soon
 * as threads have cost this much more than one thread would have. */
#define POOL_WINDOW_RUNS 16u
/* A new pool's first window is this short: a fresh workspace (an
 * evaluation, one call of `synapse eval`) lives for few runs, and whether
 * its worker shows up at all is seen in a few. */
#define POOL_FIRST_WINDOW_RUNS 4u
#define POOL_WINDOW_LOSS_NS 1000000u
/* A gap between runs longer than this (the caller doing other things)
 * starts a new window. */
#define POOL_WINDOW_GAP_NS 5000000u
/* The first pause before one more thread is tried again: short, because a
 * brief blip of load (another process busy for a few ms every 200 ms, as a
 * browser or a monitor is) drops one window to one thread, and with a 50 ms
 * pause such blips cost ~10% of a quiet machine's speed (measured with
 * bench_busy); sustained load doubles it to POOL_PROBE_MAX_NS within 7 tries. */
#define POOL_PROBE_BASE_NS 10000000u
#define POOL_PROBE_MAX_NS 1000000000u
/* One more thread must be this much faster to be kept; one fewer is kept
 * unless it is this much slower. */
#define POOL_GAIN_UP 1.05
#define POOL_LOSS_DOWN 0.97
/* A level above one is left when its window's speedup falls below this. */
#define POOL_KEEP 1.02
/* A settled speedup that falls below this fraction tries one thread fewer. */
#define POOL_DECAY 0.8

#define CLOSED_CHUNK UINT32_MAX

/* One thread's range of a job: (generation << 32 | next chunk); its end is
 * implied by the job's chunks and threads. A cache line each, so claims in
 * one range do not slow the others. */
typedef struct pool_slot {
    _Alignas(64) _Atomic uint64_t word;
} pool_slot;

typedef struct pool_worker {
    struct syn_pool *pool;
    size_t id; /* 1.. (0 is the caller) */
    pthread_t thread;
} pool_worker;

/* Measurements of the adaptive policy, over one window. */
typedef struct pool_window {
    unsigned runs;
    uint64_t start_ns, last_end_ns;
    double serial_ns;  /* what the runs' chunks would take on the caller alone */
    double par_ns;     /* what they took */
    double gain[POOL_WINDOW_RUNS]; /* per run: serial / par, at most the threads */
} pool_window;

struct syn_pool {
    int requested;        /* 0: adaptive */
    size_t max_threads;   /* the caller included */
    size_t n_workers;     /* alive */
    pool_worker *workers; /* [POOL_MAX_THREADS - 1], allocated on first use */
    pool_slot *slots;     /* [POOL_MAX_THREADS], allocated with the workers */
    size_t open_slots;    /* ranges the last job opened */
    int start_failed;     /* pthread_create failed: run with those alive */

    /* What waiting workers poll, and what finishing chunks count, each on
     * its own cache line. */
    _Alignas(64) _Atomic uint32_t gen;
    _Alignas(64) _Atomic size_t done;
    _Alignas(64) _Atomic int sleepers;
    _Atomic(syn_pool_fn) fn;
    _Atomic(void *) ctx;
    _Atomic size_t n_chunks;
    _Atomic size_t active; /* workers with id < active take part */
    _Atomic unsigned fp_mode;
    _Atomic int stop;
    _Atomic int caller_waiting;
    pthread_mutex_t lock;
    pthread_cond_t wake, finished;

    /* The adaptive policy (caller-only state). */
    size_t level;              /* threads the next run uses */
    size_t trial_from;         /* 0, or the level a trial started from */
    double trial_from_speedup;
    double settled_speedup;    /* of the level in use, when it was chosen */
    uint64_t next_probe_ns, backoff_ns;
    pool_window win;
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline void cpu_relax(void)
{
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    __builtin_ia32_pause();
#endif
}

/* One step of a spin that began at `start`: pause, or yield the core once
 * the spin is older than POOL_PAUSE_NS. */
static inline void spin_step(uint64_t start, uint64_t now)
{
    if (now - start > POOL_PAUSE_NS)
        sched_yield();
    else
        cpu_relax();
}

static unsigned fp_mode_get(void)
{
#ifdef POOL_HAVE_MXCSR
    return _mm_getcsr();
#else
    return 0;
#endif
}

static void fp_mode_set(unsigned mode)
{
#ifdef POOL_HAVE_MXCSR
    /* The control bits only: the low six are sticky exception flags. */
    if ((_mm_getcsr() ^ mode) & ~0x3fu)
        _mm_setcsr(mode);
#else
    (void)mode;
#endif
}

/* The CPUs this process may run on (its affinity mask), at least 1. */
static size_t cpu_count(void)
{
    long n = 0;
#ifdef CPU_COUNT
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        n = CPU_COUNT(&set);
#endif
    if (n <= 0)
        n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n <= 0)
        n = 1;
    return n > POOL_MAX_THREADS ? POOL_MAX_THREADS : (size_t)n;
}

/* ---------------------------------------------------------------- chunks */

/* The first chunk of thread `i`'s range when n chunks go to `threads`. */
static inline size_t range_start(size_t i, size_t n, size_t threads)
{
    return (size_t)((uint64_t)i * n / threads);
}

/* Claims and runs chunks of generation `gen` until none is left, its own
 * range (thread `self` of `threads`) first, then the others' in turn;
 * returns how many this thread ran. */
static size_t take_chunks(syn_pool *p, uint32_t gen, syn_pool_fn fn, void *ctx, size_t n,
                          size_t threads, size_t self)
{
    size_t ran = 0;
    for (size_t k = 0; k < threads; k++) {
        size_t i = self + k < threads ? self + k : self + k - threads;
        size_t end = range_start(i + 1, n, threads);
        _Atomic uint64_t *word = &p->slots[i].word;
        uint64_t t = atomic_load_explicit(word, memory_order_relaxed);
        for (;;) {
            if ((uint32_t)(t >> 32) != gen)
                return ran; /* the job is over: nothing left anywhere */
            size_t c = (size_t)(t & 0xffffffffu);
            if (c >= end)
                break;
            if (!atomic_compare_exchange_weak_explicit(word, &t, t + 1, memory_order_acq_rel,
                                                       memory_order_relaxed))
                continue;
            fn(ctx, c);
            ran++;
            if (atomic_fetch_add(&p->done, 1) + 1 == n && atomic_load(&p->caller_waiting)) {
                pthread_mutex_lock(&p->lock);
                pthread_cond_signal(&p->finished);
                pthread_mutex_unlock(&p->lock);
            }
            t = atomic_load_explicit(word, memory_order_relaxed);
        }
    }
    return ran;
}

/* Waits for an even generation other than `seen` to be published, or for
 * stop; returns it (0 on stop: generations start at 2). */
static uint32_t wait_job(syn_pool *p, uint32_t seen)
{
    uint64_t start = now_ns(), now = start;
    for (unsigned i = 0;; i++) {
        uint32_t gen = atomic_load(&p->gen);
        if (atomic_load_explicit(&p->stop, memory_order_relaxed))
            return 0;
        if (gen != seen && !(gen & 1u))
            return gen;
        if ((i & 15) == 0 && (now = now_ns()) - start > POOL_WORKER_SPIN_NS)
            break;
        spin_step(start, now);
    }
    pthread_mutex_lock(&p->lock);
    atomic_fetch_add(&p->sleepers, 1);
    uint32_t gen;
    for (;;) {
        gen = atomic_load(&p->gen);
        if (atomic_load(&p->stop)) {
            gen = 0;
            break;
        }
        if (gen != seen && !(gen & 1u))
            break;
        pthread_cond_wait(&p->wake, &p->lock);
    }
    atomic_fetch_sub(&p->sleepers, 1);
    pthread_mutex_unlock(&p->lock);
    return gen;
}

static void *worker_main(void *arg)
{
    pool_worker *w = arg;
    syn_pool *p = w->pool;
    uint32_t seen = 0;
    for (;;) {
        uint32_t gen = wait_job(p, seen);
        if (!gen)
            return NULL;
        seen = gen;
        syn_pool_fn fn = atomic_load_explicit(&p->fn, memory_order_relaxed);
        void *ctx = atomic_load_explicit(&p->ctx, memory_order_relaxed);
        size_t n = atomic_load_explicit(&p->n_chunks, memory_order_relaxed);
        size_t active = atomic_load_explicit(&p->active, memory_order_relaxed);
        unsigned mode = atomic_load_explicit(&p->fp_mode, memory_order_relaxed);
        /* Pairs with the caller's release fence after closing the last
         * job's ranges: fields of a later job imply a failed claim below. */
        atomic_thread_fence(memory_order_acquire);
        if (w->id >= active)
            continue;
        fp_mode_set(mode);
        take_chunks(p, gen, fn, ctx, n, active, w->id);
    }
}

/* Starts workers up to `want` (ids 1..want-1 alive); returns the threads a
 * run can use. Workers block every signal: they belong to the library, and
 * the program's handlers must run on its own threads. */
static size_t start_workers(syn_pool *p, size_t want)
{
    if (p->n_workers + 1 >= want || p->start_failed)
        return p->n_workers + 1 < want ? p->n_workers + 1 : want;
    /* Allocated on the first start, so a pool that never runs in parallel
     * (a small network's) costs a few hundred bytes. */
    if (!p->workers && !(p->workers = calloc(POOL_MAX_THREADS - 1, sizeof *p->workers))) {
        p->start_failed = 1;
        return 1;
    }
    if (!p->slots) {
        p->slots = aligned_alloc(_Alignof(pool_slot), POOL_MAX_THREADS * sizeof *p->slots);
        if (!p->slots) {
            p->start_failed = 1;
            return 1;
        }
        for (size_t i = 0; i < POOL_MAX_THREADS; i++)
            atomic_init(&p->slots[i].word, (uint64_t)CLOSED_CHUNK);
    }
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    while (p->n_workers + 1 < want) {
        pool_worker *w = &p->workers[p->n_workers];
        w->pool = p;
        w->id = p->n_workers + 1;
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
            p->start_failed = 1;
            break;
        }
        p->n_workers++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return p->n_workers + 1 < want ? p->n_workers + 1 : want;
}

static void stop_workers(syn_pool *p)
{
    if (!p->n_workers)
        return;
    pthread_mutex_lock(&p->lock);
    atomic_store(&p->stop, 1);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    for (size_t i = 0; i < p->n_workers; i++)
        pthread_join(p->workers[i].thread, NULL);
    p->n_workers = 0;
    p->start_failed = 0;
    atomic_store(&p->stop, 0);
}

/* ---------------------------------------------------------------- policy */

static void window_reset(syn_pool *p)
{
    p->win = (pool_window){0};
}

static void policy_reset(syn_pool *p)
{
    p->level = p->max_threads;
    p->trial_from = 0;
    p->settled_speedup = 0.0;
    p->backoff_ns = POOL_PROBE_BASE_NS;
    p->next_probe_ns = 0;
    window_reset(p);
}

static void trial(syn_pool *p, size_t to, double speedup)
{
    p->trial_from = p->level;
    p->trial_from_speedup = speedup;
    p->level = to;
}

/* Decides the next level from a finished window with speedup s. */
static void policy_decide(syn_pool *p, double s, uint64_t now)
{
    if (p->trial_from) {
        int up = p->level > p->trial_from;
        int keep = up ? s > p->trial_from_speedup * POOL_GAIN_UP
                      : s >= p->trial_from_speedup * POOL_LOSS_DOWN;
        if (!keep) {
            p->level = p->trial_from;
            p->settled_speedup = p->trial_from_speedup;
            if (up)
                p->backoff_ns = p->backoff_ns * 2 > POOL_PROBE_MAX_NS ? POOL_PROBE_MAX_NS
                                                                      : p->backoff_ns * 2;
        } else {
            p->settled_speedup = s;
            /* Halved, not reset: on a machine whose load comes and goes a
             * try that just passed often fails next time. */
            if (up)
                p->backoff_ns = p->backoff_ns / 2 < POOL_PROBE_BASE_NS ? POOL_PROBE_BASE_NS
                                                                      : p->backoff_ns / 2;
        }
        p->trial_from = 0;
        p->next_probe_ns = now + p->backoff_ns;
        return;
    }
    if (p->level > 1 && s < POOL_KEEP) {
        /* Threads give nothing (workers late or absent) or cost more than
         * they give: one thread, try again later. */
        p->level = 1;
        p->settled_speedup = 1.0;
        p->next_probe_ns = now + p->backoff_ns;
        return;
    }
    if (p->settled_speedup == 0.0)
        p->settled_speedup = s;
    if (p->level > 2 && s < p->settled_speedup * POOL_DECAY)
        trial(p, p->level - 1, s);
    else if (p->level < p->max_threads && now >= p->next_probe_ns)
        trial(p, p->level + 1, s);
}

static double median_of(double *v, unsigned n)
{
    for (unsigned i = 1; i < n; i++)
        for (unsigned j = i; j > 0 && v[j - 1] > v[j]; j--) {
            double t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Closes the window when it is complete; `serial` and `par` are this run's
 * one-thread estimate and real time.
 *
 * A run's estimate is its caller's time per chunk: when the OS takes the
 * caller's core away in the middle of its own chunks (another process on a
 * loaded machine), that time is inflated by the pause and the run reads as a
 * large speedup that the threads never gave. So a run's gain is capped at
 * its thread count, and the window takes the median of its runs' gains:
 * one such run among 16 no longer decides. */
static void policy_account(syn_pool *p, uint64_t start, uint64_t end, double serial,
                           double par)
{
    pool_window *w = &p->win;
    if (w->runs && start - w->last_end_ns > POOL_WINDOW_GAP_NS)
        window_reset(p);
    if (!w->runs)
        w->start_ns = start;
    double cap = (double)(p->level > 1 ? p->level : 1) * par;
    if (serial > cap)
        serial = cap;
    w->gain[w->runs] = par > 0.0 ? serial / par : 1.0;
    w->runs++;
    w->last_end_ns = end;
    w->serial_ns += serial;
    w->par_ns += par;
    unsigned want = p->settled_speedup == 0.0 && !p->trial_from ? POOL_FIRST_WINDOW_RUNS
                                                                 : POOL_WINDOW_RUNS;
    if (w->runs < want && w->par_ns - w->serial_ns < POOL_WINDOW_LOSS_NS)
        return;
    /* The serial work between runs is the same on any number of threads. */
    double outside = (double)(end - w->start_ns) - w->par_ns;
    if (outside < 0.0)
        outside = 0.0;
    double gain = median_of(w->gain, w->runs);
    double s = p->level <= 1 ? 1.0 : (outside + gain * w->par_ns) / (outside + w->par_ns);
    window_reset(p);
    policy_decide(p, s, end);
}

/* ---------------------------------------------------------------- API */

syn_pool *syn_pool_create(int n_threads)
{
    if (n_threads < 0)
        return NULL;
    /* Aligned for the cache-line members (sizeof is a multiple of it). */
    syn_pool *p = aligned_alloc(_Alignof(syn_pool), sizeof *p);
    if (!p)
        return NULL;
    memset(p, 0, sizeof *p);
    if (pthread_mutex_init(&p->lock, NULL) != 0) {
        free(p);
        return NULL;
    }
    if (pthread_cond_init(&p->wake, NULL) != 0) {
        pthread_mutex_destroy(&p->lock);
        free(p);
        return NULL;
    }
    if (pthread_cond_init(&p->finished, NULL) != 0) {
        pthread_cond_destroy(&p->wake);
        pthread_mutex_destroy(&p->lock);
        free(p);
        return NULL;
    }
    atomic_init(&p->gen, 0u);
    syn_pool_set_threads(p, n_threads);
    return p;
}

void syn_pool_free(syn_pool *p)
{
    if (!p)
        return;
    stop_workers(p);
    pthread_cond_destroy(&p->finished);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->lock);
    free(p->slots);
    free(p->workers);
    free(p);
}

int syn_pool_set_threads(syn_pool *p, int n_threads)
{
    if (!p || n_threads < 0)
        return 1;
    size_t max = n_threads > 0 ? (size_t)n_threads : cpu_count();
    if (max > POOL_MAX_THREADS)
        max = POOL_MAX_THREADS;
    if (max < p->n_workers + 1)
        stop_workers(p);
    p->requested = n_threads;
    p->max_threads = max;
    policy_reset(p);
    return 0;
}

size_t syn_pool_max_threads(const syn_pool *p)
{
    return p ? p->max_threads : 1;
}

size_t syn_pool_active_threads(const syn_pool *p)
{
    return p ? p->level : 1;
}

size_t syn_pool_live_workers(const syn_pool *p)
{
    return p ? p->n_workers : 0;
}

static void run_serial(size_t n, syn_pool_fn fn, void *ctx)
{
    for (size_t c = 0; c < n; c++)
        fn(ctx, c);
}

/* Waits for the chunks other threads have in flight: spins about twice the
 * caller's own time per chunk, then sleeps. */
static void wait_done(syn_pool *p, size_t n, double chunk_ns)
{
    if (atomic_load(&p->done) == n)
        return;
    double budget = 2.0 * chunk_ns;
    if (budget < POOL_CALLER_SPIN_MIN_NS)
        budget = POOL_CALLER_SPIN_MIN_NS;
    if (budget > POOL_CALLER_SPIN_MAX_NS)
        budget = POOL_CALLER_SPIN_MAX_NS;
    uint64_t start = now_ns(), now = start;
    for (unsigned i = 0; atomic_load(&p->done) != n; i++) {
        if ((i & 15) == 0 && (double)((now = now_ns()) - start) > budget)
            break;
        spin_step(start, now);
    }
    if (atomic_load(&p->done) == n)
        return;
    pthread_mutex_lock(&p->lock);
    atomic_store(&p->caller_waiting, 1);
    while (atomic_load(&p->done) != n)
        pthread_cond_wait(&p->finished, &p->lock);
    atomic_store(&p->caller_waiting, 0);
    pthread_mutex_unlock(&p->lock);
}

void syn_pool_run(syn_pool *p, size_t n, syn_pool_fn fn, void *ctx)
{
    if (!p || n < 2 || p->max_threads < 2 || n >= CLOSED_CHUNK) {
        run_serial(n, fn, ctx);
        return;
    }
    size_t level = p->requested ? p->max_threads : p->level;
    if (level < 2) {
        uint64_t start = now_ns();
        run_serial(n, fn, ctx);
        uint64_t end = now_ns();
        policy_account(p, start, end, (double)(end - start), (double)(end - start));
        return;
    }
    level = start_workers(p, level);
    if (level < 2) {
        run_serial(n, fn, ctx);
        return;
    }
    /* Close the last job's ranges, write this job, open its ranges, then
     * publish it (see the top). */
    uint32_t gen = atomic_load_explicit(&p->gen, memory_order_relaxed) + 2u;
    if (gen < 2u) /* wrapped: 0 means stop to a worker */
        gen = 2u;
    for (size_t i = 0; i < p->open_slots; i++)
        atomic_store_explicit(&p->slots[i].word, ((uint64_t)(gen - 1u) << 32) | CLOSED_CHUNK,
                              memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    atomic_store_explicit(&p->fn, fn, memory_order_relaxed);
    atomic_store_explicit(&p->ctx, ctx, memory_order_relaxed);
    atomic_store_explicit(&p->n_chunks, n, memory_order_relaxed);
    atomic_store_explicit(&p->active, level, memory_order_relaxed);
    atomic_store_explicit(&p->fp_mode, fp_mode_get(), memory_order_relaxed);
    atomic_store_explicit(&p->done, 0, memory_order_relaxed);
    for (size_t i = 0; i < level; i++)
        atomic_store_explicit(&p->slots[i].word, ((uint64_t)gen << 32) | range_start(i, n, level),
                              memory_order_relaxed);
    p->open_slots = level;
    uint64_t start = now_ns();
    atomic_store(&p->gen, gen);
    if (atomic_load(&p->sleepers) > 0) {
        pthread_mutex_lock(&p->lock);
        pthread_cond_broadcast(&p->wake);
        pthread_mutex_unlock(&p->lock);
    }
    size_t own = take_chunks(p, gen, fn, ctx, n, level, 0);
    uint64_t own_end = now_ns();
    double chunk_ns = own ? (double)(own_end - start) / (double)own : 0.0;
    wait_done(p, n, chunk_ns);
    uint64_t end = now_ns();
    if (!p->requested && own) {
        /* Without a chunk of its own the caller has no estimate: such a run
         * (rare) is left out of the window. */
        policy_account(p, start, end, chunk_ns * (double)n, (double)(end - start));
    }
}

typedef struct range_job {
    syn_pool_range_fn fn;
    void *ctx;
    size_t n, block;
} range_job;

static void range_chunk(void *ctx, size_t chunk)
{
    const range_job *job = ctx;
    size_t lo = chunk * job->block;
    size_t hi = job->n - lo < job->block ? job->n : lo + job->block;
    job->fn(job->ctx, lo, hi);
}

void syn_pool_run_ranges(syn_pool *pool, size_t n, size_t block, syn_pool_range_fn fn,
                         void *ctx)
{
    if (n == 0)
        return;
    if (block == 0)
        block = n;
    size_t chunks = n / block + (n % block != 0);
    if (!pool || chunks < 2 || pool->max_threads < 2) {
        fn(ctx, 0, n);
        return;
    }
    range_job job = {fn, ctx, n, block};
    syn_pool_run(pool, chunks, range_chunk, &job);
}
