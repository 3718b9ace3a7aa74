/* shard.c - the gradient of one global batch computed in fixed micro-shards
 * and summed in exact fixed point, so that it does not depend on how many
 * processes share the batch (synapse.h, "several processes"; docs/
 * ARCHITECTURE.md). The trainer (train.c) calls syn_sharded_batch instead
 * of its forward/backward pass when it has a comm, then clips and steps as
 * on the plain path.
 *
 * One step: the rank's shards run forward, loss and backward on their
 * rows, in one pass over all of them where every row comes out as in a
 * pass of its shard alone (syn_net_rows_split_ok: then only the weight
 * gradients are taken a shard at a time, syn_backward_split), else a pass
 * per shard; each shard's gradient goes straight into its slot of a
 * buffer and stays in float, in the loss's sum units (times the
 * shard's mean divisor); one max all-reduce gives every parameter block's
 * (BLOCK_PARAMS = 256 parameters of one W or b) largest magnitude over all
 * shards (and any rank's failure); from it each block gets a power-of-two
 * scale 2^e with S * max * 2^e < 2^30 (S the batch's shards); the shards
 * are rounded to integers at that scale and summed, locally and by one
 * int64 all-reduce; the sum goes back to float divided by the global
 * divisor. Rounding to the grid happens once per shard element, before
 * any sum, so every rank count sees the same integers.
 *
 * Two lanes a word: every partial sum of an element stays within about
 * 2^30, so elements 2i and 2i + 1 share the int64 word lo + hi * 2^32
 * (lo, hi signed): adding words adds both lanes exactly, as integers
 * (any sum of words is sum(lo) + sum(hi) * 2^32, below 2^63), and the
 * lanes come back out: the low one is the word's low 32 bits read as a
 * signed number (|sum(lo)| < 2^31), the high one (word - low) / 2^32. The
 * all-reduce moves 4 bytes a parameter, not 8.
 * Precision: the grid 2^-e is at most S * max * 2^-29, 1/64 of float's
 * ulp at S * max, the size the same shards' float sum can reach and round
 * to; small blocks keep max close to their elements (docs/ARCHITECTURE.md,
 * "Several processes").
 *
 * The per-shard losses, divisors and correct counts travel in the same
 * all-reduce, one slot per shard (its owner's value plus zeros: exact),
 * and are combined in shard order.
 *
 * Batch norm: a rank passes its shards at once in parts (run_parts), and
 * each batch-norm layer's per-shard sums travel the same way, one slot per
 * shard, added in shard order on every rank (bn_combine): 3 sum_i64
 * all-reduces a layer inside the passes, which every rank makes whatever
 * happened locally (bn_finish).
 *
 * Speed: rounding to an integer is g * 2^e + 1.5*2^52, round-to-nearest-
 * even for |g * 2^e| < 2^51 (the bound keeps it below 2^30), and the bits of
 * that double are those of 1.5*2^52 plus the integer: the local sum adds
 * the bits as uint64 (exact, modulo 2^64, and it vectorizes, where int64
 * conversions do not before AVX-512) in tiles that stay in L1 while each
 * shard's gradient is read once, takes the n offsets off at the end and
 * packs the lanes. The way back unpacks a tile, adds the offset and
 * subtracts 1.5*2^52 in double, exact.
 * The block maxima are taken, on the one-pass path, as the backward pass
 * finishes each shard's layer (syn_backward_split_each: its gradient is
 * still in cache, and the pass over every shard's gradient afterwards is
 * gone), in chunks of blocks on the pool; else a shard a thread. These loops are built for
 * AVX-512 and AVX2 beside the baseline (SYN_VECTOR_CLONES): integer adds
 * and maxima, and double operations that -std=c11 never contracts into
 * FMAs, so every build gives every rank the same integers. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/dataset_internal.h"
#include "core/internal.h"

/* Parameters per exponent block: small enough that a block's elements
 * share a magnitude (a block's largest sets its grid), large enough that
 * the maxima all-reduce stays small (8 bytes per block: 1/128 of the sums'
 * 4 bytes a parameter). */
#define BLOCK_PARAMS 256
/* A block's shards, all of them, add to at most 2^LANE_BITS at its scale,
 * so a sum fits a 32-bit lane and two lanes one int64 word. */
#define LANE_BITS 30

struct syn_sharded {
    syn_comm comm;
    size_t n_params;
    size_t n_blocks;
    size_t *block_start; /* [n_blocks + 1] parameter blocks (BLOCK_PARAMS of a W or b) */
    int *exps;           /* [n_blocks] this step's scale exponents */
    double *maxes;       /* [n_blocks + 2]: block maxima, failure status, non-finite */
    double *part_maxes;  /* [local_cap x n_blocks] each local shard's block maxima */
    size_t local_cap;    /* shards a rank owns at most: ceil(SYN_SHARDS / size) */
    size_t stride;       /* floats per shard gradient: n_params in whole 64-byte lines */
    float *grads;        /* [local_cap x stride] this step's shard gradients */
    double norm[SYN_SHARDS];
    size_t n_pairs;      /* int64 words of the fixed-point sums: ceil(n_params / 2) */
    int64_t *acc;        /* [n_pairs + 3 * SYN_SHARDS] fixed point, two 32-bit lanes a
                          * word (elements 2i, 2i + 1), then the slots */
    size_t *ids;         /* [ids_cap] sample ids 0.. of a caller's batch */
    size_t ids_cap;
    int split;           /* one pass over a rank's shards (syn_net_rows_split_ok) */
    /* Batch norm: one pass over a rank's shards in parts, its statistics
     * over the whole batch (run_parts, bn_combine). */
    int bn;
    size_t bn_channels;  /* the widest batch-norm layer's channels */
    double *bn_work;     /* [local_cap x 2 x bn_channels] the parts' sums */
    double *bn_totals;   /* [2 x bn_channels] */
    int64_t *bn_slots;   /* [SYN_SHARDS x 2 x bn_channels] one slot per shard */
    size_t *bn_sizes;    /* [n_bn_calls] each collective of a step: its values */
    size_t n_bn_calls;   /* 3 a batch-norm layer: mean, variance, gradient */
    size_t bn_done;      /* this step's collectives so far */
    syn_status bn_status; /* the first failed one's */
    size_t step_shards, step_first, step_local; /* this step's shards and the rank's */
};

static syn_status comm_ok(const syn_comm *c)
{
    if (!c || c->size < 1 || c->rank < 0 || c->rank >= c->size || !c->sum_i64 ||
        !c->max_f64 || !c->broadcast || !c->barrier)
        return SYN_ERR_INVALID_ARGUMENT;
    return SYN_OK;
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

/* The parameter blocks: every W and b of the layer table, in arena order,
 * cut into blocks of BLOCK_PARAMS (the last of each shorter). */
static syn_status make_blocks(syn_sharded *sh, const syn_net *net)
{
    size_t n = 0;
    size_t *layer_start = malloc((2 * net->n_layers + 1) * sizeof(size_t));
    if (!layer_start)
        return SYN_ERR_OUT_OF_MEMORY;
    for (size_t l = 0; l < net->n_layers; l++) {
        if (net->layers[l].w_off != (size_t)-1)
            layer_start[n++] = net->layers[l].w_off;
        if (net->layers[l].b_off != (size_t)-1)
            layer_start[n++] = net->layers[l].b_off;
    }
    qsort(layer_start, n, sizeof(size_t), cmp_size);
    if (n == 0)
        layer_start[n++] = 0; /* no parameters: one empty block */
    layer_start[n] = net->n_params;
    /* ceil(size / BLOCK_PARAMS) blocks a W or b, one at least. */
    sh->block_start = malloc((n + net->n_params / BLOCK_PARAMS + 1) * sizeof(size_t));
    if (!sh->block_start) {
        free(layer_start);
        return SYN_ERR_OUT_OF_MEMORY;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        size_t at = layer_start[i];
        do {
            sh->block_start[k++] = at;
            at += BLOCK_PARAMS;
        } while (at < layer_start[i + 1]);
    }
    sh->block_start[k] = net->n_params;
    sh->n_blocks = k;
    free(layer_start);
    return SYN_OK;
}

/* Batch-norm layers (net->n_state > 0: the only kinds with state): their
 * collectives in step order, forward (mean, then variance: channels values
 * each) up the net, backward (sums of dz and dz * xh: twice that) down. */
static syn_status bn_setup(syn_sharded *sh, const syn_net *net)
{
    size_t n_bn = 0, wide = 0;
    for (size_t l = 0; l < net->n_layers; l++) {
        const syn_layer *layer = &net->layers[l];
        if (layer->kind != SYN_LAYER_BATCHNORM && layer->kind != SYN_LAYER_BATCHNORM2D)
            continue;
        n_bn++;
        wide = layer->channels > wide ? layer->channels : wide;
    }
    sh->bn = n_bn > 0;
    if (!sh->bn)
        return SYN_OK;
    size_t per, slots;
    if (wide > SIZE_MAX / 2 / SYN_SHARDS / sizeof(double) ||
        !syn_mul_size(2 * wide, sh->local_cap, &per) || !syn_mul_size(2 * wide, SYN_SHARDS,
                                                                       &slots))
        return SYN_ERR_OVERFLOW;
    sh->bn_channels = wide;
    sh->n_bn_calls = 3 * n_bn;
    sh->bn_work = calloc(per, sizeof *sh->bn_work);
    sh->bn_totals = calloc(2 * wide, sizeof *sh->bn_totals);
    sh->bn_slots = calloc(slots, sizeof *sh->bn_slots);
    sh->bn_sizes = calloc(sh->n_bn_calls, sizeof *sh->bn_sizes);
    if (!sh->bn_work || !sh->bn_totals || !sh->bn_slots || !sh->bn_sizes)
        return SYN_ERR_OUT_OF_MEMORY;
    size_t k = 0;
    for (size_t l = 0; l < net->n_layers; l++)
        if (net->layers[l].kind == SYN_LAYER_BATCHNORM ||
            net->layers[l].kind == SYN_LAYER_BATCHNORM2D) {
            sh->bn_sizes[k++] = net->layers[l].channels;
            sh->bn_sizes[k++] = net->layers[l].channels;
        }
    for (size_t l = net->n_layers; l-- > 0;)
        if (net->layers[l].kind == SYN_LAYER_BATCHNORM ||
            net->layers[l].kind == SYN_LAYER_BATCHNORM2D)
            sh->bn_sizes[k++] = 2 * net->layers[l].channels;
    return SYN_OK;
}

void syn_sharded_free(syn_sharded *sh)
{
    if (!sh)
        return;
    free(sh->block_start);
    free(sh->exps);
    free(sh->maxes);
    free(sh->part_maxes);
    syn_free_aligned(sh->grads);
    free(sh->acc);
    free(sh->ids);
    free(sh->bn_work);
    free(sh->bn_totals);
    free(sh->bn_slots);
    free(sh->bn_sizes);
    free(sh);
}

syn_status syn_sharded_create(const syn_net *net, const syn_comm *comm, syn_sharded **out)
{
    *out = NULL;
    syn_status st = comm_ok(comm);
    if (st != SYN_OK)
        return st;
    syn_sharded *sh = calloc(1, sizeof *sh);
    if (!sh)
        return SYN_ERR_OUT_OF_MEMORY;
    sh->comm = *comm;
    sh->n_params = net->n_params;
    sh->local_cap = (SYN_SHARDS + (size_t)comm->size - 1) / (size_t)comm->size;
    size_t n_grads, n_acc;
    sh->n_pairs = net->n_params / 2 + net->n_params % 2;
    st = make_blocks(sh, net);
    sh->stride = net->n_params + (16 - net->n_params % 16) % 16;
    if (st == SYN_OK && (sh->stride < net->n_params ||
                         !syn_mul_size(sh->local_cap, sh->stride, &n_grads) ||
                         !syn_add_size(sh->n_pairs, 3 * SYN_SHARDS, &n_acc) ||
                         !syn_mul_size(n_acc, sizeof(int64_t), &n_acc)))
        st = SYN_ERR_OVERFLOW;
    if (st == SYN_OK) {
        sh->exps = calloc(sh->n_blocks, sizeof *sh->exps);
        sh->maxes = calloc(sh->n_blocks + 2, sizeof *sh->maxes);
        sh->part_maxes = calloc(sh->local_cap * sh->n_blocks, sizeof *sh->part_maxes);
        sh->grads = syn_alloc_floats(n_grads > 0 ? n_grads : 1);
        sh->acc = malloc(n_acc);
        if (!sh->exps || !sh->maxes || !sh->part_maxes || !sh->grads || !sh->acc)
            st = SYN_ERR_OUT_OF_MEMORY;
    }
    if (st == SYN_OK)
        st = bn_setup(sh, net);
    if (st != SYN_OK) {
        syn_sharded_free(sh);
        return st;
    }
    /* Shards of a batch of more than one hold SYN_SHARD_ROWS rows or more;
     * a batch of one shard is always one pass, whatever the rank count. */
    sh->split = syn_net_rows_split_ok(net, SYN_SHARD_ROWS);
    *out = sh;
    return SYN_OK;
}

size_t syn_shard_count(size_t batch)
{
    static const size_t counts[] = {12, 8, 6, 4, 3, 2};
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++)
        if (batch / counts[i] >= SYN_SHARD_ROWS)
            return counts[i];
    return 1;
}

static size_t shard_rows_max(size_t batch)
{
    /* The most rows a shard of any batch of up to `batch` rows holds (a
     * last, smaller batch may have fewer shards of more rows): below 12
     * shards a batch has fewer than 2 * SYN_SHARD_ROWS rows a shard, as
     * the next count up leaves fewer than SYN_SHARD_ROWS and the counts
     * are at most 2 apart; at 12 the batch's own shards are the largest. */
    size_t k = syn_shard_count(batch);
    size_t own = batch / k + (batch % k != 0);
    size_t small = batch < 2 * SYN_SHARD_ROWS ? batch : 2 * SYN_SHARD_ROWS;
    return own > small ? own : small;
}

size_t syn_sharded_pass_rows(const syn_sharded *sh, size_t batch)
{
    size_t one = shard_rows_max(batch);
    if (!sh->split && !sh->bn)
        return one;
    /* All of a rank's shards in one pass: at most local_cap of them. */
    return one > batch / sh->local_cap ? batch : one * sh->local_cap;
}

/* Shard k of K over `batch` rows: [lo, hi). batch * K cannot overflow:
 * the trainer checks batch <= SIZE_MAX / SYN_SHARDS. */
static void shard_bounds(size_t batch, size_t k, size_t *lo, size_t *hi)
{
    size_t n = syn_shard_count(batch);
    *lo = k * batch / n;
    *hi = (k + 1) * batch / n;
}

/* The shards rank `rank` of `size` owns: [first, end). */
static void owned_shards(const syn_comm *c, size_t n_shards, size_t *first, size_t *end)
{
    *first = (size_t)c->rank * n_shards / (size_t)c->size;
    *end = ((size_t)c->rank + 1) * n_shards / (size_t)c->size;
}

typedef struct convert_job {
    const syn_sharded *sh;
    size_t n_local;
    double unit[SYN_SHARDS]; /* each local shard's factor to sum units */
    float *out;
    double divisor;
} convert_job;

/* The block holding element i < n_params: the last b with start <= i. */
static size_t block_of(const syn_sharded *sh, size_t i)
{
    size_t lo = 0, hi = sh->n_blocks; /* start[lo] <= i < start[hi] */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (sh->block_start[mid] <= i)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/* A 32-bit lane's two's-complement bits as the integer they hold. */
static int64_t lane_value(uint64_t bits)
{
    uint64_t u = bits & UINT64_C(0xffffffff);
    return u < UINT64_C(0x80000000) ? (int64_t)u : (int64_t)u - INT64_C(0x100000000);
}

#define ROUNDER 6755399441055744.0 /* 1.5 * 2^52 */
/* Its bits: for an integer |v| < 2^51, ROUNDER + v is exact and its bits
 * are ROUNDER_BITS + v, so a rounded value becomes an integer, and back, by
 * integer adds that vectorize (int64 <-> double conversions do not before
 * AVX-512). */
#define ROUNDER_BITS UINT64_C(0x4338000000000000)

/* Elements summed at a time in to_fixed (even): their running sums stay
 * in L1 while every shard's stream goes by once. */
#define TILE 512

/* The words of elements [lo, hi) (lo even: the pool's ranges are whole
 * multiples of an even size): element i's sum over local shards of
 * round(g * unit * 2^e) in lane i % 2 of acc[i / 2], as a two's-
 * complement 32-bit field (the high lane's value times 2^32 plus the low
 * lane's, modulo 2^64). Per element, so the chunks (fixed by the pool) and
 * tiles cannot change a value. */
SYN_VECTOR_CLONES
static void to_fixed(void *ctx, size_t lo, size_t hi)
{
    const convert_job *j = ctx;
    const syn_sharded *sh = j->sh;
    uint64_t sum[TILE + 1];
    /* Each term is bits(ROUNDER) + its integer (mod 2^64). */
    uint64_t bias = (uint64_t)j->n_local * ROUNDER_BITS;
    size_t b = block_of(sh, lo);
    for (size_t t = lo; t < hi; t += TILE) {
        size_t n = hi - t < TILE ? hi - t : TILE;
        if (j->n_local == 0)
            for (size_t i = 0; i < n; i++)
                sum[i] = 0;
        sum[n] = bias; /* an odd last element's partner: 0 */
        for (size_t at = t; at < t + n;) {
            while (sh->block_start[b + 1] <= at)
                b++;
            size_t end = sh->block_start[b + 1] < t + n ? sh->block_start[b + 1] : t + n;
            for (size_t s = 0; s < j->n_local; s++) {
                const float *g = sh->grads + s * sh->stride;
                double k = ldexp(j->unit[s], sh->exps[b]);
                if (s == 0) { /* the first shard sets the sums: no zeroing pass */
                    for (size_t i = at; i < end; i++) {
                        double r = (double)g[i] * k + ROUNDER;
                        memcpy(&sum[i - t], &r, sizeof r);
                    }
                    continue;
                }
                for (size_t i = at; i < end; i++) {
                    double r = (double)g[i] * k + ROUNDER;
                    uint64_t u;
                    memcpy(&u, &r, sizeof u);
                    sum[i - t] += u;
                }
            }
            at = end;
        }
        uint64_t *out = (uint64_t *)sh->acc + t / 2;
        for (size_t i = 0; i < (n + 1) / 2; i++)
            out[i] = (sum[2 * i] - bias) + ((sum[2 * i + 1] - bias) << 32);
    }
}

/* out[i] = acc[i] * 2^-e / divisor, rounded once to float, over elements
 * [lo, hi), lo even. */
SYN_VECTOR_CLONES
static void from_fixed(void *ctx, size_t lo, size_t hi)
{
    const convert_job *j = ctx;
    const syn_sharded *sh = j->sh;
    int64_t q[TILE + 1];
    size_t b = block_of(sh, lo);
    for (size_t t = lo; t < hi; t += TILE) {
        size_t n = hi - t < TILE ? hi - t : TILE;
        const uint64_t *in = (const uint64_t *)sh->acc + t / 2;
        for (size_t i = 0; i < (n + 1) / 2; i++) {
            /* |lane| <= 2^30 (block_exponent): the low lane is its own
             * 32 bits, the high lane what is left above them. */
            int64_t low = lane_value(in[i]);
            q[2 * i] = low;
            q[2 * i + 1] = lane_value((in[i] - (uint64_t)low) >> 32);
        }
        for (size_t at = t; at < t + n;) {
            while (sh->block_start[b + 1] <= at)
                b++;
            size_t end = sh->block_start[b + 1] < t + n ? sh->block_start[b + 1] : t + n;
            double unscale = ldexp(1.0, -sh->exps[b]); /* exact: a power of two */
            for (size_t i = at; i < end; i++) {
                uint64_t u = (uint64_t)q[i - t] + ROUNDER_BITS; /* exact */
                double v;
                memcpy(&v, &u, sizeof v);
                j->out[i] = (float)((v - ROUNDER) * unscale / j->divisor);
            }
            at = end;
        }
    }
}

/* The largest bits of |g| in block b (see block_maxima). */
static inline int32_t block_top(const syn_sharded *sh, const float *g, size_t b)
{
    int32_t top = 0;
    for (size_t i = sh->block_start[b]; i < sh->block_start[b + 1]; i++) {
        int32_t u;
        memcpy(&u, &g[i], sizeof u);
        u &= 0x7fffffff;
        top = u > top ? u : top;
    }
    return top;
}

/* Largest |g| per block into maxes (times unit); nonzero if any g is not
 * finite. On the bits, to vectorize without -ffast-math: |g| orders as its
 * bits without the sign (a signed int32 maximum, which gcc vectorizes even
 * on SSE2), and Inf and NaN are the bits >= 0x7f800000. */
SYN_VECTOR_CLONES
static int block_maxima(const syn_sharded *sh, const float *g, double unit, double *maxes)
{
    int32_t worst = 0;
    for (size_t b = 0; b < sh->n_blocks; b++) {
        int32_t top = block_top(sh, g, b);
        worst = top > worst ? top : worst;
        float m;
        memcpy(&m, &top, sizeof m);
        double scaled = (double)m * unit;
        if (top < 0x7f800000 && scaled > maxes[b])
            maxes[b] = scaled;
    }
    return worst >= 0x7f800000;
}

/* Blocks per chunk of a layer's maxima on the pool. */
#define MAXIMA_CHUNK 64

/* The maxima of shard `part`'s blocks [b_lo, b_hi) (one W or b) into its
 * row of part_maxes, taken as syn_backward_split_each finishes them: a
 * non-finite block stores +Inf (the flag; no finite maximum is). */
typedef struct layer_maxima {
    syn_sharded *sh;
    float *const *g;
    const double *unit;
    syn_pool *pool;
    size_t part, b_lo, b_hi;
    size_t covered[SYN_SHARDS]; /* parameters done, a shard */
} layer_maxima;

SYN_VECTOR_CLONES
static void block_maxima_chunk(void *ctx, size_t c)
{
    const layer_maxima *j = ctx;
    const syn_sharded *sh = j->sh;
    const float *g = j->g[j->part];
    double *row = sh->part_maxes + j->part * sh->n_blocks;
    size_t end = j->b_lo + (c + 1) * MAXIMA_CHUNK;
    end = end < j->b_hi ? end : j->b_hi;
    for (size_t b = j->b_lo + c * MAXIMA_CHUNK; b < end; b++) {
        int32_t top = block_top(sh, g, b);
        float m;
        memcpy(&m, &top, sizeof m);
        row[b] = top < 0x7f800000 ? (double)m * j->unit[j->part] : INFINITY;
    }
}

static void part_done(void *ctx, const syn_layer *layer, size_t part)
{
    layer_maxima *j = ctx;
    /* A dense layer (syn_backward_split_each's only kind with parameters):
     * W [units x n_in], then b [units] if it has one. */
    size_t offs[2] = {layer->w_off, layer->has_bias ? layer->b_off : (size_t)-1};
    size_t sizes[2] = {layer->units * layer->n_in, layer->units};
    for (int k = 0; k < 2; k++) {
        if (offs[k] == (size_t)-1 || sizes[k] == 0)
            continue;
        j->part = part;
        j->b_lo = block_of(j->sh, offs[k]);
        j->b_hi = block_of(j->sh, offs[k] + sizes[k] - 1) + 1;
        size_t n = j->b_hi - j->b_lo;
        syn_pool_run(j->pool, n / MAXIMA_CHUNK + (n % MAXIMA_CHUNK != 0), block_maxima_chunk, j);
        j->covered[part] += sizes[k];
    }
}

typedef struct maxima_job {
    const syn_sharded *sh;
    float *const *g;
    const double *unit;
    int bad[SYN_SHARDS];
} maxima_job;

/* Shard t's block maxima into its own row of part_maxes. */
static void shard_maxima(void *ctx, size_t t)
{
    maxima_job *j = ctx;
    double *row = j->sh->part_maxes + t * j->sh->n_blocks;
    memset(row, 0, j->sh->n_blocks * sizeof *row);
    j->bad[t] = block_maxima(j->sh, j->g[t], j->unit[t], row);
}

/* block_maxima of n shards, a shard a thread; a maximum is exact in any
 * order, so the rows merge into sh->maxes as they come. */
static int shards_maxima(syn_sharded *sh, syn_pool *pool, float *const *g, const double *unit,
                         size_t n)
{
    maxima_job job = {.sh = sh, .g = g, .unit = unit};
    syn_pool_run(pool, n, shard_maxima, &job);
    int bad = 0;
    for (size_t t = 0; t < n; t++) {
        bad |= job.bad[t];
        for (size_t b = 0; b < sh->n_blocks; b++) {
            double m = sh->part_maxes[t * sh->n_blocks + b];
            sh->maxes[b] = m > sh->maxes[b] ? m : sh->maxes[b];
        }
    }
    return bad;
}

/* The exponent e of a block whose shard magnitudes are at most m, so that
 * the sum of n_shards of them at 2^e stays within 2^LANE_BITS (to a
 * rounding of each: m * 2^e < 2^30 / n_shards rounds to at most its
 * ceiling, so a lane's sum is below 2^30 + n_shards). */
static int block_exponent(double m, size_t n_shards)
{
    if (!(m > 0.0))
        return 0;
    int x;
    frexp(m * (double)n_shards, &x); /* m * n_shards < 2^x */
    return LANE_BITS - x;
}

static uint64_t double_bits(double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    return u;
}

static double bits_double(int64_t i)
{
    double v;
    memcpy(&v, &i, sizeof v);
    return v;
}

/* Sample ids 0..batch-1 for a caller's batch (dropout's keys, as the plain
 * path gives them). */
static syn_status ensure_ids(syn_sharded *sh, size_t batch)
{
    if (batch <= sh->ids_cap)
        return SYN_OK;
    size_t *ids = malloc(batch * sizeof *ids);
    if (!ids)
        return SYN_ERR_OUT_OF_MEMORY;
    for (size_t i = 0; i < batch; i++)
        ids[i] = i;
    free(sh->ids);
    sh->ids = ids;
    sh->ids_cap = batch;
    return SYN_OK;
}

/* Forward, loss and backward of one shard; the gradient goes into `into`
 * (n_params floats, 64-byte aligned, whole vectors: the small path's
 * stores). */
static syn_status run_shard(const syn_shard_batch *a, size_t lo, size_t n, float *into,
                            double *loss, double *norm, size_t *correct)
{
    syn_status st;
    const float *y;
    size_t n_out = syn_net_n_outputs(a->net);
    if (a->ds) {
        st = syn_forward_rows_train(a->net, a->ws, a->ds, a->rows + lo, n, a->seed, a->step,
                                    NULL);
        if (st == SYN_OK)
            syn_dataset_gather_targets(a->ds, a->rows + lo, n, a->y_buf);
        y = a->y_buf;
    } else {
        st = syn_forward_train_ids(a->net, a->ws, a->x + lo * a->net->n_inputs, n, a->seed,
                                   a->step, a->ids + lo);
        y = a->y + lo * n_out;
    }
    if (st == SYN_OK)
        st = syn_loss_value(a->net, a->ws, y, n, loss);
    if (st != SYN_OK)
        return st;
    *norm = syn_loss_divisor(a->net, y, n);
    *correct = a->classify ? syn_count_correct(syn_workspace_activations(
                                                   a->ws, a->net->n_layers - 1),
                                               y, n, n_out)
                           : 0;
    if (!isfinite(*loss))
        return SYN_OK; /* reported through the all-reduce, as every rank must */
    /* The backward pass writes the shard's gradient in place. */
    float *own = a->ws->grads;
    a->ws->grads = into;
    st = syn_backward(a->net, a->ws, y, n);
    a->ws->grads = own;
    return st;
}

/* Shards first..end-1 in one pass over their rows (sh->split): forward,
 * each shard's loss, divisor, correct rows and dL/dz from its own rows,
 * then one backward whose weight gradients are taken a shard at a time
 * into the shards' slots (syn_backward_split). Every row comes out as in a
 * pass of its shard alone, so the shards' gradients are those of
 * run_shard, bit for bit, and the rank count cannot change them; what is
 * saved is the pass per shard: each matrix product runs over all of the
 * rank's rows. */
static syn_status run_local(syn_sharded *sh, const syn_shard_batch *a, size_t first,
                            size_t end, int64_t *slot, convert_job *job, int *bad)
{
    syn_net *net = a->net;
    syn_workspace *ws = a->ws;
    size_t n_local = end - first, cuts[SYN_SHARDS + 1], base = 0, hi = 0;
    for (size_t k = first; k < end; k++) {
        size_t lo;
        shard_bounds(a->batch, k, &lo, &hi);
        if (k == first)
            base = lo;
        cuts[k - first] = lo - base;
    }
    size_t rows = hi - base, n_out = syn_net_n_outputs(net);
    cuts[n_local] = rows;
    syn_status st;
    const float *y;
    if (a->ds) {
        st = syn_forward_rows_train(net, ws, a->ds, a->rows + base, rows, a->seed, a->step,
                                    NULL);
        if (st == SYN_OK)
            syn_dataset_gather_targets(a->ds, a->rows + base, rows, a->y_buf);
        y = a->y_buf;
    } else {
        st = syn_forward_train_ids(net, ws, a->x + base * net->n_inputs, rows, a->seed,
                                   a->step, a->ids + base);
        y = a->y + base * n_out;
    }
    if (st != SYN_OK)
        return st;
    const float *out = syn_workspace_activations(ws, net->n_layers - 1);
    float *into[SYN_SHARDS];
    for (size_t s = 0; s < n_local; s++) {
        size_t r = cuts[s], n = cuts[s + 1] - r, k = first + s;
        const float *ys = y + r * n_out;
        double value = syn_loss_compute_rows(net, ws, ys, r, n);
        double norm = syn_loss_divisor(net, ys, n);
        size_t right = a->classify ? syn_count_correct(out + r * n_out, ys, n, n_out) : 0;
        slot[k] = (int64_t)double_bits(value);
        slot[SYN_SHARDS + k] = (int64_t)double_bits(norm);
        slot[2 * SYN_SHARDS + k] = (int64_t)right;
        *bad |= !isfinite(value);
        job->unit[s] = net->reduction == SYN_REDUCTION_SUM ? 1.0 : norm;
        into[s] = sh->grads + s * sh->stride;
        syn_loss_grad_rows(net, ws, ys, r, n, ws->delta[0] + r * n_out);
    }
    if (*bad)
        return SYN_OK; /* reported through the all-reduce, as every rank must */
    /* Each shard's block maxima as the backward pass writes its layers. */
    layer_maxima lm = {.sh = sh, .g = into, .unit = job->unit, .pool = ws->pool};
    st = syn_backward_split_each(net, ws, rows, cuts, n_local, into, part_done, &lm);
    if (st != SYN_OK)
        return st;
    for (size_t t = 0; t < n_local; t++) {
        if (lm.covered[t] != sh->n_params) { /* not every block: all of them again */
            *bad |= shards_maxima(sh, ws->pool, into, job->unit, n_local);
            return SYN_OK;
        }
    }
    for (size_t t = 0; t < n_local; t++)
        for (size_t b = 0; b < sh->n_blocks; b++) {
            double m = sh->part_maxes[t * sh->n_blocks + b];
            *bad |= m == INFINITY;
            sh->maxes[b] = m > sh->maxes[b] && m != INFINITY ? m : sh->maxes[b];
        }
    return SYN_OK;
}

/* syn_layer_sync's combine: the rank's shards' values go into their own
 * slots of a buffer of one slot per shard of the batch (as 64-bit
 * patterns, zero elsewhere), one sum_i64 all-reduce gives every rank every
 * slot exactly (one nonzero term each), and the totals add the slots in
 * shard order, so they are the same doubles for any rank count. After a
 * failed collective no other is made (syn_comm's rule): zeros, and the
 * step returns the failure. */
static void bn_combine(void *ctx, const double *parts, size_t m, double *totals)
{
    syn_sharded *sh = ctx;
    size_t n = sh->step_shards;
    int64_t *buf = sh->bn_slots;
    memset(buf, 0, n * m * sizeof *buf);
    for (size_t k = 0; k < sh->step_local; k++)
        for (size_t j = 0; j < m; j++)
            buf[(sh->step_first + k) * m + j] = (int64_t)double_bits(parts[k * m + j]);
    sh->bn_done++;
    if (sh->bn_status == SYN_OK)
        sh->bn_status = sh->comm.sum_i64(sh->comm.ctx, buf, n * m);
    for (size_t j = 0; j < m; j++)
        totals[j] = 0.0;
    if (sh->bn_status != SYN_OK)
        return;
    for (size_t k = 0; k < n; k++)
        for (size_t j = 0; j < m; j++)
            totals[j] += bits_double(buf[k * m + j]);
}

/* The step's batch-norm collectives this rank has not made (it failed, or
 * its loss was not finite, so it skipped the backward pass), with zeros:
 * every rank makes all of them, in order, whatever happened locally. */
static void bn_finish(syn_sharded *sh)
{
    sh->step_local = 0;
    while (sh->bn_done < sh->n_bn_calls)
        bn_combine(sh, NULL, sh->bn_sizes[sh->bn_done], sh->bn_totals);
}

/* run_local for a net with batch norm: one pass over the rank's shards in
 * parts (syn_forward_parts_train: each shard's rows as in a pass of its own
 * but batch norm's statistics over the whole batch), and, as batch norm's
 * backward adds every shard's dz, every shard's dL/dz in the loss's sum
 * units (times its mean divisor) before the backward pass, not after it. A
 * rank without shards still runs batch norm's collectives and running
 * statistics. */
static syn_status run_parts(syn_sharded *sh, const syn_shard_batch *a, size_t first,
                            size_t end, int64_t *slot, convert_job *job, int *bad)
{
    syn_net *net = a->net;
    syn_workspace *ws = a->ws;
    size_t n_local = end - first, cuts[SYN_SHARDS + 1], base = 0, hi = 0;
    for (size_t k = first; k < end; k++) {
        size_t lo;
        shard_bounds(a->batch, k, &lo, &hi);
        if (k == first)
            base = lo;
        cuts[k - first] = lo - base;
    }
    size_t rows = hi - base, n_out = syn_net_n_outputs(net);
    cuts[n_local] = rows;
    float *into[SYN_SHARDS];
    for (size_t s = 0; s < n_local; s++)
        into[s] = sh->grads + s * sh->stride;
    syn_layer_sync sync = {.n_parts = n_local, .cuts = cuts, .grads = into,
                           .total_rows = a->batch, .work = sh->bn_work,
                           .totals = sh->bn_totals, .combine = bn_combine, .ctx = sh};
    syn_status st = syn_forward_parts_train(
        net, ws, a->ds, a->ds ? a->rows + base : NULL, a->ds ? NULL : a->x + base * net->n_inputs,
        a->ds ? NULL : a->ids + base, a->seed, a->step, &sync, SYN_SHARD_ROWS);
    if (st != SYN_OK || n_local == 0)
        return st;
    const float *y;
    if (a->ds) {
        syn_dataset_gather_targets(a->ds, a->rows + base, rows, a->y_buf);
        y = a->y_buf;
    } else {
        y = a->y + base * n_out;
    }
    const float *out = syn_workspace_activations(ws, net->n_layers - 1);
    for (size_t s = 0; s < n_local; s++) {
        size_t r = cuts[s], n = cuts[s + 1] - r, k = first + s;
        const float *ys = y + r * n_out;
        double value = syn_loss_compute_rows(net, ws, ys, r, n);
        double norm = syn_loss_divisor(net, ys, n);
        size_t right = a->classify ? syn_count_correct(out + r * n_out, ys, n, n_out) : 0;
        slot[k] = (int64_t)double_bits(value);
        slot[SYN_SHARDS + k] = (int64_t)double_bits(norm);
        slot[2 * SYN_SHARDS + k] = (int64_t)right;
        *bad |= !isfinite(value);
        job->unit[s] = 1.0;
        float *d = ws->delta[0] + r * n_out;
        syn_loss_grad_rows(net, ws, ys, r, n, d);
        if (net->reduction != SYN_REDUCTION_SUM)
            for (size_t i = 0; i < n * n_out; i++)
                d[i] = (float)((double)d[i] * norm);
    }
    if (*bad)
        return SYN_OK; /* reported through the all-reduce, as every rank must */
    st = syn_backward_parts(net, ws, &sync, SYN_SHARD_ROWS);
    if (st == SYN_OK)
        *bad |= shards_maxima(sh, ws->pool, into, job->unit, n_local);
    return st;
}

syn_status syn_sharded_batch(syn_sharded *sh, syn_shard_batch *a, double *loss,
                             size_t *correct)
{
    const syn_comm *c = &sh->comm;
    size_t n_shards = syn_shard_count(a->batch), first, end;
    owned_shards(c, n_shards, &first, &end);
    syn_status st = SYN_OK;
    if (!a->ds) {
        st = ensure_ids(sh, a->batch);
        a->ids = sh->ids;
    }
    size_t slots = 3 * SYN_SHARDS;
    int64_t *slot = sh->acc + sh->n_pairs;
    memset(slot, 0, slots * sizeof *slot);
    memset(sh->maxes, 0, (sh->n_blocks + 2) * sizeof *sh->maxes);
    int bad = 0;
    convert_job job = {.sh = sh, .n_local = end - first};
    sh->bn_done = 0;
    sh->bn_status = SYN_OK;
    sh->step_shards = n_shards;
    sh->step_first = first;
    sh->step_local = end - first;
    if (st == SYN_OK && sh->bn)
        st = a->batch < a->net->min_train_batch
                 ? SYN_ERR_SHAPE
                 : run_parts(sh, a, first, end, slot, &job, &bad);
    if (sh->bn) {
        bn_finish(sh);
        if (sh->bn_status != SYN_OK)
            return sh->bn_status;
    }
    if (st == SYN_OK && !sh->bn && sh->split && end > first)
        st = run_local(sh, a, first, end, slot, &job, &bad);
    for (size_t k = first; !sh->split && !sh->bn && st == SYN_OK && k < end; k++) {
        size_t lo, hi, right = 0;
        shard_bounds(a->batch, k, &lo, &hi);
        double value = 0.0, norm = 1.0;
        float *g = sh->grads + (k - first) * sh->stride;
        st = run_shard(a, lo, hi - lo, g, &value, &norm, &right);
        if (st != SYN_OK)
            break;
        slot[k] = (int64_t)double_bits(value);
        slot[SYN_SHARDS + k] = (int64_t)double_bits(norm);
        slot[2 * SYN_SHARDS + k] = (int64_t)right;
        if (!isfinite(value)) {
            bad = 1;
            continue;
        }
        /* Sum units: the shard's mean times its divisor. */
        double unit = a->net->reduction == SYN_REDUCTION_SUM ? 1.0 : norm;
        job.unit[k - first] = unit;
        bad |= block_maxima(sh, g, unit, sh->maxes);
    }
    /* Every rank reaches the collectives, whatever failed locally, so that
     * no rank waits for one that gave up. */
    sh->maxes[sh->n_blocks] = (double)st;
    sh->maxes[sh->n_blocks + 1] = bad;
    syn_status cst = c->max_f64(c->ctx, sh->maxes, sh->n_blocks + 2);
    if (cst != SYN_OK)
        return cst;
    if (sh->maxes[sh->n_blocks] != 0.0)
        return (syn_status)(int)sh->maxes[sh->n_blocks];
    if (sh->maxes[sh->n_blocks + 1] != 0.0)
        return SYN_ERR_DIVERGED;
    for (size_t b = 0; b < sh->n_blocks; b++)
        sh->exps[b] = block_exponent(sh->maxes[b], n_shards);
    syn_pool_run_ranges(sh->n_params > 16384 ? a->ws->pool : NULL, sh->n_params, 16384,
                        to_fixed, &job);
    cst = c->sum_i64(c->ctx, sh->acc, sh->n_pairs + slots);
    if (cst != SYN_OK)
        return cst;
    /* The batch's loss and divisor, in shard order. */
    double total_norm = 0.0, total_loss = 0.0;
    size_t total_right = 0;
    for (size_t k = 0; k < n_shards; k++) {
        double v = bits_double(slot[k]), norm = bits_double(slot[SYN_SHARDS + k]);
        total_loss += a->net->reduction == SYN_REDUCTION_SUM ? v : v * norm;
        total_norm += norm;
        total_right += (size_t)slot[2 * SYN_SHARDS + k];
    }
    /* With class weights a batch may hold no target weight: then, as on
     * one pass, its loss is 0 and so is every gradient (all shards'). */
    int sum = a->net->reduction == SYN_REDUCTION_SUM || total_norm == 0.0;
    *loss = sum ? total_loss : total_loss / total_norm;
    *correct = total_right;
    size_t n;
    job.out = syn_workspace_grads(a->ws, &n);
    job.divisor = sum ? 1.0 : total_norm;
    syn_pool_run_ranges(sh->n_params > 16384 ? a->ws->pool : NULL, sh->n_params, 16384,
                        from_fixed, &job);
    return SYN_OK;
}
