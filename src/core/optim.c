/* optim.c - the optimizer table: one row per syn_optim_kind (name, state
 * arenas, defaults, validation, step), each step one loop over the flat
 * (params, grads, state) arenas, with torch.optim's exact update rules
 * (PyTorch 1.13, single-tensor path: SGD, Adam, AdamW, RMSprop, Adagrad,
 * NAdam, RAdam; NAdam as fixed in PyTorch 2.0, see nadam_step) and global-norm
 * gradient clipping (torch.nn.utils.clip_grad_norm_); schedules are in
 * schedule.c. Scalars that PyTorch computes in Python floats (bias
 * corrections, step sizes) are computed in double here too, then used as
 * float. Adding an optimizer is one enum value (synapse.h), one row here
 * and its settings' fields in syn_optim_desc. */
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"

#define SYN_OPTIM_PARALLEL_MIN 65536
/* The arena is updated in chunks of this many elements, split over the
 * threads: the chunking, and so every result, does not depend on them. */
#define SYN_OPTIM_CHUNK 16384
#define SYN_OPTIM_MAX_ARENAS 3
#define SYN_OPTIM_MAX_SCALARS 1

struct syn_optimizer {
    syn_optim_desc desc;
    size_t n;
    uint64_t steps;
    /* The state arenas in the row's order (optim_arenas), n floats each;
     * the unused slots are NULL. */
    float *state[SYN_OPTIM_MAX_ARENAS];
    size_t n_state;
    double scalars[SYN_OPTIM_MAX_SCALARS]; /* NAdam's mu_product */
    size_t n_scalars;
    syn_pool *pool; /* runs the update loop */
    int owns_pool;  /* 0 when lent by a trainer */
};

/* ---- the update loop ---- */

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

/* ---- SGD, momentum, Nesterov ---- */

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

/* Plain SGD without weight decay, the seed's rule: p -= lr g. Its own loop,
 * free of the general one's per-element tests: on a tiny net (the seed's
 * XOR has 16 parameters) the update is one vector, and the general loop's
 * set-up was a tenth of the step. */
SYN_VECTOR_CLONES
static int sgd_plain_range(const void *args, size_t lo, size_t hi)
{
    const sgd_args *a = args;
    float *p = a->p, lr = a->lr;
    const float *g = a->g;
    int bad = 0;
    for (size_t i = lo; i < hi; i++) {
        p[i] -= lr * g[i];
        bad |= !isfinite(p[i]);
    }
    return bad;
}

static int sgd_step(syn_optimizer *opt, float *p, const float *g)
{
    const syn_optim_desc *d = &opt->desc;
    if (!opt->state[0] && d->weight_decay == 0.0f) {
        sgd_args a = {.p = p, .g = g, .lr = d->lr};
        return run_chunks(opt->n, opt->pool, sgd_plain_range, &a);
    }
    sgd_args a = {p, opt->state[0], g, d->lr, d->weight_decay, d->momentum, 1.0f - d->dampening,
                  opt->steps == 0, d->kind == SYN_OPTIM_NESTEROV};
    return run_chunks(opt->n, opt->pool, sgd_range, &a);
}

/* ---- Adam, AdamW ---- */

/* The Adam family's moment decay (Adam, AdamW, NAdam, RAdam all write it as
 * torch.optim does: m = b1 m + (1 - b1) g, v = b2 v + (1 - b2) g^2). */
typedef struct moment_rates {
    float b1, b2, one_b1, one_b2;
} moment_rates;

static moment_rates moment_rates_of(const syn_optim_desc *d)
{
    moment_rates r = {d->beta1, d->beta2, (float)(1.0 - (double)d->beta1),
                      (float)(1.0 - (double)d->beta2)};
    return r;
}

static inline void update_moments(const moment_rates *r, float *m, float *v, float g)
{
    *m = *m * r->b1 + r->one_b1 * g;
    *v = *v * r->b2 + r->one_b2 * g * g;
}

/* The per-step constants of an Adam update. */
typedef struct adam_args {
    float *p, *m, *v;
    const float *g;
    moment_rates r;
    float eps, step_size, bias2_sqrt, l2, decay;
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
        update_moments(&a->r, &m[i], &v[i], gi);
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
    float l2 = d->kind == SYN_OPTIM_ADAM ? d->weight_decay : 0.0f;
    float decay = d->kind == SYN_OPTIM_ADAMW
                      ? (float)(1.0 - (double)d->lr * (double)d->weight_decay)
                      : 1.0f;
    adam_args a = {p, opt->state[0], opt->state[1], g, moment_rates_of(d), d->eps, step_size,
                   bias2_sqrt, l2, decay};
    return run_chunks(opt->n, opt->pool, adam_range, &a);
}

/* ---- RMSprop ---- */

/* torch.optim.RMSprop (Hinton's lecture 6e; centered: Graves 2013, eq. 38):
 * g += wd p; sq = alpha sq + (1 - alpha) g^2; with centered,
 * ga = alpha ga + (1 - alpha) g and avg = sqrt(sq - ga^2), else
 * avg = sqrt(sq); avg += eps; with momentum, buf = momentum buf + g / avg and
 * p -= lr buf, else p -= lr g / avg. */
typedef struct rmsprop_args {
    float *p, *sq, *buf, *ga;
    const float *g;
    float lr, alpha, one_alpha, eps, momentum, wd;
} rmsprop_args;

SYN_VECTOR_CLONES
static int rmsprop_range(const void *args, size_t lo, size_t hi)
{
    const rmsprop_args *a = args;
    float *p = a->p, *sq = a->sq, *buf = a->buf, *ga = a->ga;
    const float *g = a->g;
    int bad = 0;
    for (size_t i = lo; i < hi; i++) {
        float gi = g[i];
        if (a->wd != 0.0f)
            gi += a->wd * p[i];
        sq[i] = sq[i] * a->alpha + a->one_alpha * gi * gi;
        float avg;
        if (ga) {
            ga[i] = ga[i] * a->alpha + a->one_alpha * gi;
            avg = sqrtf(sq[i] + -1.0f * ga[i] * ga[i]);
        } else {
            avg = sqrtf(sq[i]);
        }
        avg += a->eps;
        if (buf) {
            buf[i] = buf[i] * a->momentum + gi / avg;
            p[i] += -a->lr * buf[i];
        } else {
            p[i] += -a->lr * (gi / avg);
        }
        bad |= !isfinite(p[i]);
    }
    return bad;
}

static int rmsprop_step(syn_optimizer *opt, float *p, const float *g)
{
    const syn_optim_desc *d = &opt->desc;
    size_t k = 1;
    float *buf = d->momentum > 0.0f ? opt->state[k++] : NULL;
    float *ga = d->centered ? opt->state[k++] : NULL;
    rmsprop_args a = {p, opt->state[0], buf, ga, g, d->lr, d->alpha,
                      (float)(1.0 - (double)d->alpha), d->eps, d->momentum, d->weight_decay};
    return run_chunks(opt->n, opt->pool, rmsprop_range, &a);
}

/* ---- Adagrad ---- */

/* torch.optim.Adagrad (Duchi et al. 2011): g += wd p;
 * clr = lr / (1 + (t - 1) lr_decay); sum += g^2; p -= clr g / (sqrt(sum) +
 * eps); sum starts at initial_accumulator_value. */
typedef struct adagrad_args {
    float *p, *sum;
    const float *g;
    float clr, eps, wd;
} adagrad_args;

SYN_VECTOR_CLONES
static int adagrad_range(const void *args, size_t lo, size_t hi)
{
    const adagrad_args *a = args;
    float *p = a->p, *sum = a->sum;
    const float *g = a->g;
    int bad = 0;
    for (size_t i = lo; i < hi; i++) {
        float gi = g[i];
        if (a->wd != 0.0f)
            gi += a->wd * p[i];
        sum[i] += gi * gi;
        float std = sqrtf(sum[i]) + a->eps;
        p[i] += -a->clr * (gi / std);
        bad |= !isfinite(p[i]);
    }
    return bad;
}

static int adagrad_step(syn_optimizer *opt, float *p, const float *g)
{
    const syn_optim_desc *d = &opt->desc;
    double t = (double)opt->steps + 1.0;
    float clr = (float)((double)d->lr / (1.0 + (t - 1.0) * (double)d->lr_decay));
    adagrad_args a = {p, opt->state[0], g, clr, d->eps, d->weight_decay};
    return run_chunks(opt->n, opt->pool, adagrad_range, &a);
}

/* ---- NAdam ---- */

typedef struct nadam_args {
    float *p, *m, *v;
    const float *g;
    moment_rates r;
    float bias2, eps, c_grad, c_avg, wd;
} nadam_args;

SYN_VECTOR_CLONES
static int nadam_range(const void *args, size_t lo, size_t hi)
{
    const nadam_args *a = args;
    float *p = a->p, *m = a->m, *v = a->v;
    const float *g = a->g;
    int bad = 0;
    for (size_t i = lo; i < hi; i++) {
        float gi = g[i];
        if (a->wd != 0.0f)
            gi += a->wd * p[i];
        update_moments(&a->r, &m[i], &v[i], gi);
        float denom = sqrtf(v[i] / a->bias2) + a->eps;
        p[i] += a->c_grad * (gi / denom);
        p[i] += a->c_avg * (m[i] / denom);
        bad |= !isfinite(p[i]);
    }
    return bad;
}

/* torch.optim.NAdam (Dozat 2016): with mu_t = b1 (1 - 0.5 0.96^(t psi))
 * (psi = momentum_decay) and mu_product = prod_{i <= t} mu_i (state, a
 * float32 scalar in PyTorch, updated here in float as there):
 * g += wd p; m, v as Adam; denom = sqrt(v / (1 - b2^t)) + eps;
 * p -= lr (1 - mu_t) / (1 - mu_product) g / denom;
 * p -= lr mu_{t+1} / (1 - mu_product mu_{t+1}) m / denom.
 * PyTorch 1.13 multiplied mu_t into the second denominator twice
 * (mu_product * mu * mu_next); PyTorch 2.0 fixed it to the paper's rule
 * followed here. */
static int nadam_step(syn_optimizer *opt, float *p, const float *g)
{
    const syn_optim_desc *d = &opt->desc;
    double t = (double)opt->steps + 1.0, b1 = d->beta1, psi = d->momentum_decay;
    double bias2 = 1.0 - pow((double)d->beta2, t);
    double mu = b1 * (1.0 - 0.5 * pow(0.96, t * psi));
    double mu_next = b1 * (1.0 - 0.5 * pow(0.96, (t + 1.0) * psi));
    float mu_product = (float)opt->scalars[0] * (float)mu;
    opt->scalars[0] = mu_product;
    double mu_product_next = (double)mu_product * mu_next;
    double lr = d->lr;
    nadam_args a = {p, opt->state[0], opt->state[1], g, moment_rates_of(d), (float)bias2, d->eps,
                    (float)(-lr * (1.0 - mu) / (1.0 - (double)mu_product)),
                    (float)(-lr * mu_next / (1.0 - mu_product_next)), d->weight_decay};
    return run_chunks(opt->n, opt->pool, nadam_range, &a);
}

/* ---- RAdam ---- */

typedef struct radam_args {
    float *p, *m, *v;
    const float *g;
    moment_rates r;
    float bias1, lr, bias2_sqrt, rect, eps, wd;
    int rectified;
} radam_args;

SYN_VECTOR_CLONES
static int radam_range(const void *args, size_t lo, size_t hi)
{
    const radam_args *a = args;
    float *p = a->p, *m = a->m, *v = a->v;
    const float *g = a->g;
    int bad = 0;
    for (size_t i = lo; i < hi; i++) {
        float gi = g[i];
        if (a->wd != 0.0f)
            gi += a->wd * p[i];
        update_moments(&a->r, &m[i], &v[i], gi);
        float corrected = m[i] / a->bias1;
        if (a->rectified) {
            float adaptive = a->bias2_sqrt / (sqrtf(v[i]) + a->eps);
            p[i] += -1.0f * (corrected * a->lr * adaptive * a->rect);
        } else {
            p[i] += -1.0f * (corrected * a->lr);
        }
        bad |= !isfinite(p[i]);
    }
    return bad;
}

/* torch.optim.RAdam (Liu et al. 2020, Alg. 2): m, v as Adam (L2 weight
 * decay); rho_inf = 2 / (1 - b2) - 1, rho_t = rho_inf - 2 t b2^t / (1 -
 * b2^t); when rho_t > 5 (PyTorch's threshold), p -= lr m / (1 - b1^t)
 * r_t sqrt(1 - b2^t) / (sqrt(v) + eps) with the rectification
 * r_t = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2)
 * rho_t)), else the un-adapted p -= lr m / (1 - b1^t). */
static int radam_step(syn_optimizer *opt, float *p, const float *g)
{
    const syn_optim_desc *d = &opt->desc;
    double t = (double)opt->steps + 1.0, b2 = d->beta2;
    double bias1 = 1.0 - pow((double)d->beta1, t), bias2 = 1.0 - pow(b2, t);
    double rho_inf = 2.0 / (1.0 - b2) - 1.0;
    double rho_t = rho_inf - 2.0 * t * pow(b2, t) / bias2;
    int rectified = rho_t > 5.0;
    double rect = rectified ? sqrt((rho_t - 4.0) * (rho_t - 2.0) * rho_inf /
                                   ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t))
                            : 0.0;
    radam_args a = {p, opt->state[0], opt->state[1], g, moment_rates_of(d), (float)bias1, d->lr,
                    (float)sqrt(bias2), (float)rect, d->eps, d->weight_decay, rectified};
    return run_chunks(opt->n, opt->pool, radam_range, &a);
}

/* ---- validation ---- */

/* Each check names the field it refuses (syn_optim_validate's message). */
#define REFUSE(...)                                                                            \
    do {                                                                                       \
        syn_set_error(err, __VA_ARGS__);                                                       \
        return 0;                                                                              \
    } while (0)

static int in_unit(float x) /* [0, 1) */
{
    return x >= 0.0f && x < 1.0f;
}

static int non_negative(float x)
{
    return x >= 0.0f && isfinite(x); /* NaN fails the comparison */
}

static int positive(float x)
{
    return x > 0.0f && isfinite(x);
}

static int common_ok(const syn_optim_desc *d, syn_error *err)
{
    if (!non_negative(d->lr))
        REFUSE("lr must be finite and >= 0, not %g", (double)d->lr);
    if (!non_negative(d->weight_decay))
        REFUSE("weight_decay must be finite and >= 0, not %g", (double)d->weight_decay);
    return 1;
}

static int betas_ok(const syn_optim_desc *d, syn_error *err)
{
    if (!in_unit(d->beta1))
        REFUSE("beta1 must be in [0, 1), not %g", (double)d->beta1);
    if (!in_unit(d->beta2))
        REFUSE("beta2 must be in [0, 1), not %g", (double)d->beta2);
    /* eps > 0 (PyTorch allows 0, which divides 0 by 0 on a zero gradient). */
    if (!positive(d->eps))
        REFUSE("eps must be finite and > 0, not %g", (double)d->eps);
    return 1;
}

static int sgd_ok(const syn_optim_desc *d, syn_error *err)
{
    return common_ok(d, err);
}

static int momentum_ok(const syn_optim_desc *d, syn_error *err)
{
    if (!common_ok(d, err))
        return 0;
    if (!(d->momentum > 0.0f && d->momentum < 1.0f))
        REFUSE("momentum must be in (0, 1), not %g", (double)d->momentum);
    if (!(d->dampening >= 0.0f && d->dampening <= 1.0f))
        REFUSE("dampening must be in [0, 1], not %g", (double)d->dampening);
    if (d->kind == SYN_OPTIM_NESTEROV && d->dampening != 0.0f)
        REFUSE("nesterov needs dampening 0, not %g", (double)d->dampening); /* as PyTorch */
    return 1;
}

static int adam_ok(const syn_optim_desc *d, syn_error *err)
{
    return common_ok(d, err) && betas_ok(d, err);
}

static int rmsprop_ok(const syn_optim_desc *d, syn_error *err)
{
    if (!common_ok(d, err))
        return 0;
    if (!(d->alpha >= 0.0f && d->alpha <= 1.0f))
        REFUSE("alpha must be in [0, 1], not %g", (double)d->alpha);
    if (!positive(d->eps))
        REFUSE("eps must be finite and > 0, not %g", (double)d->eps);
    if (!(d->momentum >= 0.0f && d->momentum < 1.0f))
        REFUSE("momentum must be in [0, 1), not %g", (double)d->momentum);
    if (d->centered != 0 && d->centered != 1)
        REFUSE("centered must be 0 or 1, not %d", d->centered);
    return 1;
}

static int adagrad_ok(const syn_optim_desc *d, syn_error *err)
{
    if (!common_ok(d, err))
        return 0;
    if (!non_negative(d->lr_decay))
        REFUSE("lr_decay must be finite and >= 0, not %g", (double)d->lr_decay);
    if (!non_negative(d->initial_accumulator_value))
        REFUSE("initial_accumulator_value must be finite and >= 0, not %g",
               (double)d->initial_accumulator_value);
    if (!positive(d->eps))
        REFUSE("eps must be finite and > 0, not %g", (double)d->eps);
    return 1;
}

static int nadam_ok(const syn_optim_desc *d, syn_error *err)
{
    if (!common_ok(d, err) || !betas_ok(d, err))
        return 0;
    if (!non_negative(d->momentum_decay))
        REFUSE("momentum_decay must be finite and >= 0, not %g", (double)d->momentum_decay);
    return 1;
}

/* ---- the table ---- */

/* The state arenas a description keeps, in order (names as torch.optim's
 * state keys). */
static size_t no_arenas(const syn_optim_desc *d, const char **names)
{
    (void)d, (void)names;
    return 0;
}

static size_t momentum_arenas(const syn_optim_desc *d, const char **names)
{
    (void)d;
    names[0] = "momentum_buffer";
    return 1;
}

static size_t adam_arenas(const syn_optim_desc *d, const char **names)
{
    (void)d;
    names[0] = "exp_avg";
    names[1] = "exp_avg_sq";
    return 2;
}

static size_t rmsprop_arenas(const syn_optim_desc *d, const char **names)
{
    size_t k = 0;
    names[k++] = "square_avg";
    if (d->momentum > 0.0f)
        names[k++] = "momentum_buffer";
    if (d->centered)
        names[k++] = "grad_avg";
    return k;
}

static size_t adagrad_arenas(const syn_optim_desc *d, const char **names)
{
    (void)d;
    names[0] = "sum";
    return 1;
}

typedef struct optim_info {
    const char *name;
    /* Fills names[0..k) (at most SYN_OPTIM_MAX_ARENAS), returns k. */
    size_t (*arenas)(const syn_optim_desc *d, const char **names);
    size_t n_scalars; /* state scalars (NAdam's mu_product) */
    float lr;         /* PyTorch's default learning rate */
    float eps;        /* and eps, where the optimizer has one */
    int (*valid)(const syn_optim_desc *d, syn_error *err);
    int (*step)(syn_optimizer *opt, float *p, const float *g);
} optim_info;

static const optim_info optim_table[] = {
    [SYN_OPTIM_SGD] = {"sgd", no_arenas, 0, 0.01f, 1e-8f, sgd_ok, sgd_step},
    [SYN_OPTIM_MOMENTUM] = {"momentum", momentum_arenas, 0, 0.01f, 1e-8f, momentum_ok,
                            sgd_step},
    [SYN_OPTIM_NESTEROV] = {"nesterov", momentum_arenas, 0, 0.01f, 1e-8f, momentum_ok,
                            sgd_step},
    [SYN_OPTIM_ADAM] = {"adam", adam_arenas, 0, 1e-3f, 1e-8f, adam_ok, adam_step},
    [SYN_OPTIM_ADAMW] = {"adamw", adam_arenas, 0, 1e-3f, 1e-8f, adam_ok, adam_step},
    [SYN_OPTIM_RMSPROP] = {"rmsprop", rmsprop_arenas, 0, 0.01f, 1e-8f, rmsprop_ok,
                           rmsprop_step},
    [SYN_OPTIM_ADAGRAD] = {"adagrad", adagrad_arenas, 0, 0.01f, 1e-10f, adagrad_ok,
                           adagrad_step},
    [SYN_OPTIM_NADAM] = {"nadam", adam_arenas, 1, 2e-3f, 1e-8f, nadam_ok, nadam_step},
    [SYN_OPTIM_RADAM] = {"radam", adam_arenas, 0, 1e-3f, 1e-8f, adam_ok, radam_step},
};
_Static_assert(sizeof optim_table / sizeof optim_table[0] == SYN_OPTIM_COUNT_,
               "one optimizer table row per syn_optim_kind");

syn_optim_desc syn_optim_defaults(syn_optim_kind kind)
{
    syn_optim_desc d;
    memset(&d, 0, sizeof d);
    d.kind = kind;
    d.lr = (unsigned)kind < SYN_OPTIM_COUNT_ ? optim_table[kind].lr : 0.01f;
    d.eps = (unsigned)kind < SYN_OPTIM_COUNT_ ? optim_table[kind].eps : 1e-8f;
    d.beta1 = 0.9f;
    d.beta2 = 0.999f;
    if (kind == SYN_OPTIM_RMSPROP)
        d.alpha = 0.99f;
    if (kind == SYN_OPTIM_NADAM)
        d.momentum_decay = 4e-3f;
    if (kind == SYN_OPTIM_MOMENTUM || kind == SYN_OPTIM_NESTEROV)
        d.momentum = 0.9f;
    if (kind == SYN_OPTIM_ADAMW)
        d.weight_decay = 0.01f;
    return d;
}

const char *syn_optim_name(syn_optim_kind kind)
{
    return (unsigned)kind < SYN_OPTIM_COUNT_ ? optim_table[kind].name : "unknown";
}

syn_status syn_optim_parse(const char *name, syn_optim_kind *out)
{
    if (!name || !out)
        return SYN_ERR_INVALID_ARGUMENT;
    for (size_t k = 0; k < SYN_OPTIM_COUNT_; k++)
        if (strcmp(name, optim_table[k].name) == 0) {
            *out = (syn_optim_kind)k;
            return SYN_OK;
        }
    return SYN_ERR_INVALID_ARGUMENT;
}

syn_status syn_optim_validate(const syn_optim_desc *desc, syn_error *err)
{
    if (!desc) {
        syn_set_error(err, "no optimizer description");
        return SYN_ERR_INVALID_ARGUMENT;
    }
    if ((unsigned)desc->kind >= SYN_OPTIM_COUNT_) {
        syn_set_error(err, "unknown optimizer kind %d", (int)desc->kind);
        return SYN_ERR_INVALID_ARGUMENT;
    }
    const optim_info *info = &optim_table[desc->kind];
    syn_error own;
    if (!info->valid(desc, err ? err : &own)) {
        if (err) { /* "rmsprop: alpha must be ..." */
            char what[sizeof err->message];
            snprintf(what, sizeof what, "%s", err->message);
            syn_set_error(err, "%s: %s", info->name, what);
        }
        return SYN_ERR_INVALID_ARGUMENT;
    }
    return SYN_OK;
}

size_t syn_optim_state_arenas(const syn_optim_desc *desc)
{
    if (!desc || (unsigned)desc->kind >= SYN_OPTIM_COUNT_)
        return 0;
    const char *names[SYN_OPTIM_MAX_ARENAS];
    return optim_table[desc->kind].arenas(desc, names);
}

/* ---- optimizer objects ---- */

syn_status syn_optimizer_create(const syn_net *net, const syn_optim_desc *desc,
                                syn_optimizer **out)
{
    if (!out)
        return SYN_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if (!net || syn_optim_validate(desc, NULL) != SYN_OK)
        return SYN_ERR_INVALID_ARGUMENT;
    syn_optimizer *opt = calloc(1, sizeof *opt);
    if (!opt)
        return SYN_ERR_OUT_OF_MEMORY;
    const optim_info *info = &optim_table[desc->kind];
    const char *names[SYN_OPTIM_MAX_ARENAS];
    opt->desc = *desc;
    opt->desc.centered = desc->centered != 0;
    opt->n = net->n_params;
    opt->pool = syn_pool_create(0);
    opt->owns_pool = 1;
    opt->n_state = info->arenas(desc, names);
    opt->n_scalars = info->n_scalars;
    opt->scalars[0] = 1.0; /* NAdam's mu_product starts at 1 */
    int ok = opt->pool != NULL;
    for (size_t k = 0; k < opt->n_state; k++)
        ok &= (opt->state[k] = syn_alloc_floats(opt->n)) != NULL;
    if (!ok) {
        syn_optimizer_free(opt);
        return SYN_ERR_OUT_OF_MEMORY;
    }
    /* torch.optim.Adagrad: state['sum'] = full_like(p, initial_accumulator_value). */
    if (desc->kind == SYN_OPTIM_ADAGRAD)
        for (size_t i = 0; i < opt->n; i++)
            opt->state[0][i] = desc->initial_accumulator_value;
    *out = opt;
    return SYN_OK;
}

void syn_optimizer_free(syn_optimizer *opt)
{
    if (!opt)
        return;
    for (size_t k = 0; k < SYN_OPTIM_MAX_ARENAS; k++)
        syn_free_aligned(opt->state[k]);
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

syn_status syn_optimizer_step(syn_optimizer *opt, syn_net *net, const float *grads,
                              size_t count)
{
    if (!opt || !net || !grads)
        return SYN_ERR_INVALID_ARGUMENT;
    if (count != opt->n || net->n_params != opt->n)
        return SYN_ERR_SHAPE;
    int bad = optim_table[opt->desc.kind].step(opt, net->params, grads);
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

syn_status syn_optimizer_set_momentum(syn_optimizer *opt, float m, float *previous)
{
    if (!opt || !(m >= 0.0f && m < 1.0f))
        return SYN_ERR_INVALID_ARGUMENT;
    /* OneCycleLR sets group["betas"][0] when the optimizer has betas, else
     * group["momentum"]; without a buffer to carry it (plain SGD, RMSprop
     * created without momentum) or a momentum at all (Adagrad) it cannot. */
    float *at = NULL;
    switch (opt->desc.kind) {
    case SYN_OPTIM_ADAM:
    case SYN_OPTIM_ADAMW:
    case SYN_OPTIM_NADAM:
    case SYN_OPTIM_RADAM: at = &opt->desc.beta1; break;
    case SYN_OPTIM_MOMENTUM:
    case SYN_OPTIM_NESTEROV:
    case SYN_OPTIM_RMSPROP:
        if (opt->desc.momentum > 0.0f && m > 0.0f)
            at = &opt->desc.momentum;
        break;
    case SYN_OPTIM_SGD:
    case SYN_OPTIM_ADAGRAD:
    case SYN_OPTIM_COUNT_: break;
    }
    if (!at)
        return SYN_ERR_UNSUPPORTED;
    if (previous)
        *previous = *at;
    *at = m;
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
        *first = opt->state[0];
    if (second)
        *second = opt->state[1];
    if (count)
        *count = opt->n;
    return SYN_OK;
}

size_t syn_optimizer_n_arenas(const syn_optimizer *opt)
{
    return opt ? opt->n_state : 0;
}

syn_status syn_optimizer_arena(syn_optimizer *opt, size_t index, float **arena,
                               const char **name, size_t *count)
{
    if (!opt || index >= opt->n_state)
        return SYN_ERR_INVALID_ARGUMENT;
    const char *names[SYN_OPTIM_MAX_ARENAS];
    optim_table[opt->desc.kind].arenas(&opt->desc, names);
    if (arena)
        *arena = opt->state[index];
    if (name)
        *name = names[index];
    if (count)
        *count = opt->n;
    return SYN_OK;
}

syn_status syn_optimizer_scalars(syn_optimizer *opt, double **values, size_t *n)
{
    if (!opt)
        return SYN_ERR_INVALID_ARGUMENT;
    if (values)
        *values = opt->n_scalars ? opt->scalars : NULL;
    if (n)
        *n = opt->n_scalars;
    return SYN_OK;
}

syn_status syn_optimizer_set_steps(syn_optimizer *opt, uint64_t steps)
{
    if (!opt)
        return SYN_ERR_INVALID_ARGUMENT;
    opt->steps = steps;
    return SYN_OK;
}

syn_status syn_optimizer_copy_state(syn_optimizer *dst, const syn_optimizer *src)
{
    if (!dst || !src)
        return SYN_ERR_INVALID_ARGUMENT;
    if (dst->desc.kind != src->desc.kind || dst->n != src->n || dst->n_state != src->n_state ||
        dst->n_scalars != src->n_scalars)
        return SYN_ERR_SHAPE;
    for (size_t k = 0; k < src->n_state; k++)
        memcpy(dst->state[k], src->state[k], src->n * sizeof(float));
    memcpy(dst->scalars, src->scalars, sizeof src->scalars);
    dst->steps = src->steps;
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
