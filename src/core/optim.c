/* optim.c - optimizers, one loop over the flat (params, grads, moments)
 * arenas, with PyTorch 1.13's exact update rules (torch.optim.SGD, Adam,
 * AdamW, single-tensor path), global-norm gradient clipping
 * (torch.nn.utils.clip_grad_norm_); schedules are in schedule.c. Scalars
 * that PyTorch computes in Python floats (bias corrections, step sizes) are
 * computed in double here too, then used as float. */
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"

#define SYN_OPTIM_PARALLEL_MIN 65536
/* The arena is updated in chunks of this many elements, split over the
 * threads: the chunking, and so every result, does not depend on them. */
#define SYN_OPTIM_CHUNK 16384

struct syn_optimizer {
    syn_optim_desc desc;
    size_t n;
    uint64_t steps;
    float *m; /* momentum buffer or Adam's first moment; NULL for plain SGD */
    float *v; /* Adam's second moment; NULL for the SGD family */
    syn_pool *pool; /* runs the update loop */
    int owns_pool;  /* 0 when lent by a trainer */
};

syn_optim_desc syn_optim_defaults(syn_optim_kind kind)
{
    syn_optim_desc d;
    memset(&d, 0, sizeof d);
    d.kind = kind;
    d.lr = 0.01f;
    d.beta1 = 0.9f;
    d.beta2 = 0.999f;
    d.eps = 1e-8f;
    if (kind == SYN_OPTIM_MOMENTUM || kind == SYN_OPTIM_NESTEROV)
        d.momentum = 0.9f;
    if (kind == SYN_OPTIM_ADAM || kind == SYN_OPTIM_ADAMW)
        d.lr = 1e-3f;
    if (kind == SYN_OPTIM_ADAMW)
        d.weight_decay = 0.01f;
    return d;
}

const char *syn_optim_name(syn_optim_kind kind)
{
    static const char *const names[] = {"sgd", "momentum", "nesterov", "adam", "adamw"};
    return (unsigned)kind < SYN_OPTIM_COUNT_ ? names[kind] : "unknown";
}

static int desc_ok(const syn_optim_desc *d)
{
    if ((unsigned)d->kind >= SYN_OPTIM_COUNT_)
        return 0;
    if (!(d->lr >= 0.0f) || !isfinite(d->lr) || !(d->weight_decay >= 0.0f) ||
        !isfinite(d->weight_decay))
        return 0;
    if (d->kind == SYN_OPTIM_MOMENTUM || d->kind == SYN_OPTIM_NESTEROV) {
        if (!(d->momentum > 0.0f && d->momentum < 1.0f) || !(d->dampening >= 0.0f) ||
            !(d->dampening <= 1.0f))
            return 0;
        if (d->kind == SYN_OPTIM_NESTEROV && d->dampening != 0.0f)
            return 0; /* PyTorch: Nesterov needs zero dampening */
    }
    if (d->kind == SYN_OPTIM_ADAM || d->kind == SYN_OPTIM_ADAMW) {
        if (!(d->beta1 >= 0.0f && d->beta1 < 1.0f) || !(d->beta2 >= 0.0f && d->beta2 < 1.0f) ||
            !(d->eps > 0.0f) || !isfinite(d->eps))
            return 0;
    }
    return 1;
}

syn_status syn_optimizer_create(const syn_net *net, const syn_optim_desc *desc,
                                syn_optimizer **out)
{
    if (!out)
        return SYN_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if (!net || !desc || !desc_ok(desc))
        return SYN_ERR_INVALID_ARGUMENT;
    syn_optimizer *opt = calloc(1, sizeof *opt);
    if (!opt)
        return SYN_ERR_OUT_OF_MEMORY;
    opt->desc = *desc;
    opt->n = net->n_params;
    opt->pool = syn_pool_create(0);
    opt->owns_pool = 1;
    int adam = desc->kind == SYN_OPTIM_ADAM || desc->kind == SYN_OPTIM_ADAMW;
    if (desc->kind != SYN_OPTIM_SGD)
        opt->m = syn_alloc_floats(opt->n);
    if (adam)
        opt->v = syn_alloc_floats(opt->n);
    if ((desc->kind != SYN_OPTIM_SGD && !opt->m) || (adam && !opt->v) || !opt->pool) {
        syn_optimizer_free(opt);
        return SYN_ERR_OUT_OF_MEMORY;
    }
    *out = opt;
    return SYN_OK;
}

void syn_optimizer_free(syn_optimizer *opt)
{
    if (!opt)
        return;
    syn_free_aligned(opt->m);
    syn_free_aligned(opt->v);
    if (opt->owns_pool)
        syn_pool_free(opt->pool);
    free(opt);
}

void syn_optimizer_use_pool(syn_optimizer *opt, syn_pool *pool)
{
    if (opt->owns_pool)
        syn_pool_free(opt->pool);
    opt->pool = pool;
    opt->owns_pool = 0;
}

/* An update of elements [lo, hi); nonzero if it made one non-finite. */
typedef int (*range_fn)(const void *args, size_t lo, size_t hi);

typedef struct update_job {
    range_fn range;
    const void *args;
    atomic_int bad; /* an OR over chunks: the same whoever ran them */
} update_job;

static void update_chunk(void *ctx, size_t lo, size_t hi)
{
    update_job *job = ctx;
    if (job->range(job->args, lo, hi))
        atomic_store_explicit(&job->bad, 1, memory_order_relaxed);
}

/* range over [0, n) in chunks of SYN_OPTIM_CHUNK on the pool when n is
 * large (element-wise: the cut never changes a value); nonzero if any
 * chunk reported a non-finite parameter. */
static int run_chunks(size_t n, syn_pool *pool, range_fn range, const void *args)
{
    if (n <= SYN_OPTIM_PARALLEL_MIN)
        return range(args, 0, n);
    update_job job = {range, args, 0};
    syn_pool_run_ranges(pool, n, SYN_OPTIM_CHUNK, update_chunk, &job);
    return atomic_load_explicit(&job.bad, memory_order_relaxed);
}

/* torch.optim.SGD: d = g + wd p; buf = d (first step) or
 * momentum buf + (1 - dampening) d; d = buf, or d + momentum buf for
 * Nesterov; p -= lr d. */
typedef struct sgd_args {
    float *p, *buf;
    const float *g;
    float lr, wd, mu, keep;
    int first, nesterov;
} sgd_args;

SYN_VECTOR_CLONES
static int sgd_range(const void *args, size_t lo, size_t hi)
{
    const sgd_args *a = args;
    float *p = a->p, *buf = a->buf;
    const float *g = a->g;
    int bad = 0;
    for (size_t i = lo; i < hi; i++) {
        float step = g[i];
        if (a->wd != 0.0f)
            step += a->wd * p[i];
        if (buf) {
            buf[i] = a->first ? step : buf[i] * a->mu + a->keep * step;
            step = a->nesterov ? step + a->mu * buf[i] : buf[i];
        }
        p[i] -= a->lr * step;
        bad |= !isfinite(p[i]);
    }
    return bad;
}

static int sgd_step(syn_optimizer *opt, float *p, const float *g)
{
    const syn_optim_desc *d = &opt->desc;
    sgd_args a = {p, opt->m, g, d->lr, d->weight_decay, d->momentum, 1.0f - d->dampening,
                  opt->steps == 0, d->kind == SYN_OPTIM_NESTEROV};
    return run_chunks(opt->n, opt->pool, sgd_range, &a);
}

/* The per-step constants of an Adam update. */
typedef struct adam_args {
    float *p, *m, *v;
    const float *g;
    float b1, b2, one_b1, one_b2, eps, step_size, bias2_sqrt, l2, decay;
} adam_args;

/* Elements [lo, hi) of an Adam update; nonzero if a parameter became
 * non-finite. Built for several instruction sets, picked at load time:
 * every element is computed by the same IEEE operations in each (no
 * contraction in ISO C mode), so the clones give identical results. */
SYN_VECTOR_CLONES
static int adam_range(const void *args, size_t lo, size_t hi)
{
    const adam_args *a = args;
    float *p = a->p, *m = a->m, *v = a->v;
    const float *g = a->g;
    int bad = 0;
    for (size_t i = lo; i < hi; i++) {
        float gi = g[i];
        if (a->decay != 1.0f)
            p[i] *= a->decay;
        if (a->l2 != 0.0f)
            gi += a->l2 * p[i];
        m[i] = m[i] * a->b1 + a->one_b1 * gi;
        v[i] = v[i] * a->b2 + a->one_b2 * gi * gi;
        float denom = sqrtf(v[i]) / a->bias2_sqrt + a->eps;
        p[i] -= a->step_size * (m[i] / denom);
        bad |= !isfinite(p[i]);
    }
    return bad;
}

/* torch.optim.Adam / AdamW (Kingma & Ba 2015, Alg. 1; Loshchilov & Hutter
 * 2019, Alg. 2): m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
 * p -= (lr / (1 - b1^t)) m / (sqrt(v) / sqrt(1 - b2^t) + eps). AdamW first
 * decays p *= 1 - lr wd; Adam adds wd p to g instead (L2). */
static int adam_step(syn_optimizer *opt, float *p, const float *g)
{
    const syn_optim_desc *d = &opt->desc;
    double t = (double)opt->steps + 1.0;
    double bias1 = 1.0 - pow((double)d->beta1, t);
    double bias2 = 1.0 - pow((double)d->beta2, t);
    float step_size = (float)((double)d->lr / bias1);
    float bias2_sqrt = (float)sqrt(bias2);
    float b1 = d->beta1, b2 = d->beta2, eps = d->eps;
    float one_b1 = (float)(1.0 - (double)d->beta1), one_b2 = (float)(1.0 - (double)d->beta2);
    float l2 = d->kind == SYN_OPTIM_ADAM ? d->weight_decay : 0.0f;
    float decay = d->kind == SYN_OPTIM_ADAMW
                      ? (float)(1.0 - (double)d->lr * (double)d->weight_decay)
                      : 1.0f;
    adam_args a = {p, opt->m, opt->v, g, b1, b2, one_b1, one_b2, eps, step_size, bias2_sqrt,
                   l2, decay};
    return run_chunks(opt->n, opt->pool, adam_range, &a);
}

syn_status syn_optimizer_step(syn_optimizer *opt, syn_net *net, const float *grads,
                              size_t count)
{
    if (!opt || !net || !grads)
        return SYN_ERR_INVALID_ARGUMENT;
    if (count != opt->n || net->n_params != opt->n)
        return SYN_ERR_SHAPE;
    int bad;
    if (opt->desc.kind == SYN_OPTIM_ADAM || opt->desc.kind == SYN_OPTIM_ADAMW)
        bad = adam_step(opt, net->params, grads);
    else
        bad = sgd_step(opt, net->params, grads);
    opt->steps++;
    return bad ? SYN_ERR_DIVERGED : SYN_OK;
}

syn_status syn_optimizer_set_lr(syn_optimizer *opt, float lr)
{
    if (!opt || !(lr >= 0.0f) || !isfinite(lr))
        return SYN_ERR_INVALID_ARGUMENT;
    opt->desc.lr = lr;
    return SYN_OK;
}

syn_status syn_optimizer_set_threads(syn_optimizer *opt, int n_threads)
{
    if (!opt || n_threads < 0)
        return SYN_ERR_INVALID_ARGUMENT;
    syn_pool_set_threads(opt->pool, n_threads);
    return SYN_OK;
}

syn_optim_desc syn_optimizer_desc(const syn_optimizer *opt)
{
    if (!opt)
        return syn_optim_defaults(SYN_OPTIM_SGD);
    return opt->desc;
}

uint64_t syn_optimizer_steps(const syn_optimizer *opt)
{
    return opt ? opt->steps : 0;
}

syn_status syn_optimizer_moments(syn_optimizer *opt, float **first, float **second,
                                 size_t *count)
{
    if (!opt)
        return SYN_ERR_INVALID_ARGUMENT;
    if (first)
        *first = opt->m;
    if (second)
        *second = opt->v;
    if (count)
        *count = opt->n;
    return SYN_OK;
}

syn_status syn_optimizer_set_steps(syn_optimizer *opt, uint64_t steps)
{
    if (!opt)
        return SYN_ERR_INVALID_ARGUMENT;
    opt->steps = steps;
    return SYN_OK;
}

syn_status syn_clip_grad_norm(float *grads, size_t count, float max_norm, double *norm)
{
    if (!grads || count == 0 || !(max_norm > 0.0f) || !isfinite(max_norm))
        return SYN_ERR_INVALID_ARGUMENT;
    double sum = 0.0;
    for (size_t i = 0; i < count; i++)
        sum += (double)grads[i] * (double)grads[i];
    double total = sqrt(sum);
    if (norm)
        *norm = total;
    double coef = (double)max_norm / (total + 1e-6);
    if (coef < 1.0) {
        float c = (float)coef;
        for (size_t i = 0; i < count; i++)
            grads[i] *= c;
    }
    return SYN_OK;
}
