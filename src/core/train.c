/* train.c - the training loop (shuffle, gather a batch, forward, loss,
 * backward, divergence check, clipping, optimizer step) and evaluation.
 * Buffers are sized once for the largest batch seen; nothing is allocated
 * per step. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/dataset_internal.h"
#include "core/internal.h"

#if defined(__SSE__) || defined(__x86_64__)
#include <xmmintrin.h>
#define SYN_HAVE_MXCSR 1
#endif

/* How far an epoch has come, and its partial sums. */
typedef struct epoch_pos {
    size_t batches_done;
    double loss_sum;
    size_t correct, samples;
} epoch_pos;

struct syn_trainer {
    syn_net *net;
    syn_optimizer *opt;
    syn_workspace *ws;
    syn_pool *pool;      /* the threads of ws and opt, shared */
    syn_train_desc desc;
    float base_lr;
    syn_rng rng;         /* the shuffle generator, as it is now */
    size_t capacity;     /* batch rows the buffers hold */
    float *y_buf;        /* a batch's targets (features go to the workspace) */
    float *snapshot;     /* parameters, then the net's state (batch-norm running
                          * statistics), at the last good point (epoch start) */
    size_t *order;       /* this epoch's visiting order */
    size_t order_cap;
    size_t epochs_done;
    /* Position in the epoch in progress (batches_done 0: at a boundary). */
    epoch_pos pos;
    syn_rng epoch_rng;   /* rng before this epoch's shuffle */
    size_t epoch_rows;   /* rows of the epoch in progress */
    /* SYN_SCHEDULE_PLATEAU: ReduceLROnPlateau's rule and the epochs
     * reported to it (syn_trainer_observe_loss). */
    syn_plateau plateau;
    size_t observed;
    syn_sharded *sharded; /* with a comm: the sharded path (shard.c), else NULL */
    size_t shard_correct; /* its last batch's correct rows */
};

/* ReduceLROnPlateau's settings on syn_plateau: PyTorch cuts when more than
 * `patience` epochs did not improve, and never stops the run. */
static syn_plateau plateau_rule(const syn_schedule *sc)
{
    syn_plateau p;
    memset(&p, 0, sizeof p);
    if (sc->kind != SYN_SCHEDULE_PLATEAU)
        return p;
    p.tol = sc->threshold;
    p.patience = SIZE_MAX;
    p.lr_patience = sc->patience + 1;
    p.lr_factor = sc->factor;
    p.rel_threshold = 1;
    p.cooldown = sc->cooldown;
    return p;
}

syn_status syn_trainer_create(syn_net *net, const syn_optim_desc *optim,
                              const syn_train_desc *train, syn_trainer **out)
{
    if (!out)
        return SYN_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if (!net || !optim || !train || train->n_threads < 0 ||
        syn_schedule_check(&train->schedule) != SYN_OK || !(train->clip_norm >= 0.0f) ||
        !isfinite(train->clip_norm))
        return SYN_ERR_INVALID_ARGUMENT;
    syn_trainer *tr = calloc(1, sizeof *tr);
    if (!tr)
        return SYN_ERR_OUT_OF_MEMORY;
    tr->net = net;
    tr->desc = *train;
    tr->base_lr = optim->lr;
    tr->plateau = plateau_rule(&train->schedule);
    syn_rng_seed(&tr->rng, train->seed);
    syn_status st = syn_optimizer_create(net, optim, &tr->opt);
    size_t snap;
    if (st == SYN_OK && !syn_add_size(net->n_params, net->n_state, &snap))
        st = SYN_ERR_OVERFLOW;
    if (st == SYN_OK && !(tr->snapshot = syn_alloc_floats(snap)))
        st = SYN_ERR_OUT_OF_MEMORY;
    if (st == SYN_OK && !(tr->pool = syn_pool_create(train->n_threads)))
        st = SYN_ERR_OUT_OF_MEMORY;
    if (st == SYN_OK)
        syn_optimizer_use_pool(tr->opt, tr->pool);
    /* OneCycleLR(cycle_momentum=True) needs a momentum or beta1 to cycle
     * (PyTorch raises for an optimizer without either); until the cycle
     * starts (after a warmup) the optimizer keeps its own. */
    const syn_schedule *sc = &train->schedule;
    float own = 0.0f;
    if (st == SYN_OK && syn_schedule_momentum_step(sc, sc->warmup, 0, 1) >= 0.0) {
        if (syn_optimizer_set_momentum(tr->opt, sc->max_momentum, &own) == SYN_OK)
            syn_optimizer_set_momentum(tr->opt, own, NULL);
        else
            st = SYN_ERR_INVALID_ARGUMENT;
    }
    if (st != SYN_OK) {
        syn_trainer_free(tr);
        return st;
    }
    *out = tr;
    return SYN_OK;
}

void syn_trainer_free(syn_trainer *tr)
{
    if (!tr)
        return;
    syn_optimizer_free(tr->opt);
    syn_sharded_free(tr->sharded);
    syn_workspace_free(tr->ws);
    syn_pool_free(tr->pool);
    syn_free_aligned(tr->y_buf);
    syn_free_aligned(tr->snapshot);
    free(tr->order);
    free(tr);
}

syn_optimizer *syn_trainer_optimizer(syn_trainer *tr)
{
    return tr ? tr->opt : NULL;
}

syn_workspace *syn_trainer_workspace(syn_trainer *tr)
{
    return tr ? tr->ws : NULL;
}

size_t syn_trainer_epochs_done(const syn_trainer *tr)
{
    return tr ? tr->epochs_done : 0;
}

const syn_net *syn_trainer_net_internal(const syn_trainer *tr)
{
    return tr->net;
}

const syn_optimizer *syn_trainer_optimizer_internal(const syn_trainer *tr)
{
    return tr->opt;
}

/* The batch size an epoch of n_rows rows runs with. */
static size_t epoch_batch(const syn_train_desc *desc, size_t n_rows)
{
    return desc->batch_size == 0 || desc->batch_size > n_rows ? n_rows : desc->batch_size;
}

syn_status syn_trainer_get_state(const syn_trainer *tr, syn_trainer_state *state)
{
    if (!tr || !state)
        return SYN_ERR_INVALID_ARGUMENT;
    memset(state, 0, sizeof *state);
    int mid = tr->pos.batches_done > 0;
    state->epochs_done = tr->epochs_done;
    state->batches_done = tr->pos.batches_done;
    state->n_rows = mid ? tr->epoch_rows : 0;
    /* Mid-epoch the generator has already drawn this epoch's permutation;
     * the state keeps it from before, so a resume redraws the same one. */
    state->rng = mid ? tr->epoch_rng : tr->rng;
    state->loss_sum = tr->pos.loss_sum;
    state->correct = tr->pos.correct;
    state->samples = tr->pos.samples;
    state->base_lr = tr->base_lr;
    state->train = tr->desc;
    state->plateau = tr->plateau;
    state->observed = tr->observed;
    return SYN_OK;
}

/* A mid-epoch state must describe a position some epoch can reach. */
static int state_consistent(const syn_trainer_state *s)
{
    const syn_plateau *p = &s->plateau;
    if (s->observed > s->epochs_done || (p->have_best && !(p->best == p->best)) ||
        p->best_epoch > s->epochs_done || p->since_best > s->epochs_done ||
        p->since_cut > s->epochs_done || p->n_cuts > s->epochs_done ||
        p->cooldown_left > s->train.schedule.cooldown)
        return 0;
    if (s->batches_done == 0)
        return s->n_rows == 0 && s->samples == 0 && s->correct == 0 && s->loss_sum == 0.0;
    if (s->n_rows == 0 || s->n_rows > SIZE_MAX || s->epochs_done > SIZE_MAX)
        return 0;
    size_t batch = epoch_batch(&s->train, (size_t)s->n_rows);
    size_t n_batches = ((size_t)s->n_rows + batch - 1) / batch;
    return s->batches_done <= n_batches && s->samples <= s->n_rows &&
           s->correct <= s->samples && isfinite(s->loss_sum);
}

syn_status syn_trainer_restore(syn_trainer *tr, const syn_trainer_state *state,
                               const syn_optimizer *opt)
{
    if (!tr || !state || !state_consistent(state))
        return SYN_ERR_INVALID_ARGUMENT;
    if (state->batches_done > 0 && (state->train.batch_size != tr->desc.batch_size ||
                                    !state->train.no_shuffle != !tr->desc.no_shuffle))
        return SYN_ERR_STATE;
    if (opt) {
        syn_status st = syn_optimizer_copy_state(tr->opt, opt);
        if (st != SYN_OK)
            return st;
    }
    tr->epochs_done = (size_t)state->epochs_done;
    tr->pos.batches_done = (size_t)state->batches_done;
    tr->pos.loss_sum = state->loss_sum;
    tr->pos.correct = (size_t)state->correct;
    tr->pos.samples = (size_t)state->samples;
    tr->epoch_rows = (size_t)state->n_rows;
    tr->epoch_rng = state->rng;
    tr->rng = state->rng;
    /* The rule's counters; its settings stay the trainer's own. */
    const syn_plateau *p = &state->plateau;
    tr->plateau.have_best = p->have_best;
    tr->plateau.best = p->best;
    tr->plateau.best_epoch = p->best_epoch;
    tr->plateau.since_best = p->since_best;
    tr->plateau.since_cut = p->since_cut;
    tr->plateau.n_cuts = p->n_cuts;
    tr->plateau.cooldown_left = p->cooldown_left;
    tr->observed = (size_t)state->observed;
    return SYN_OK;
}

/* Makes the workspace and batch buffers hold `batch` rows. Only grows, so
 * after the first batch of an epoch nothing is allocated. */
static syn_status ensure_capacity(syn_trainer *tr, size_t batch)
{
    /* The sharded path passes one shard at a time. */
    if (tr->sharded) {
        if (batch > SIZE_MAX / SYN_SHARDS)
            return SYN_ERR_OVERFLOW;
        batch = syn_sharded_pass_rows(tr->sharded, batch);
    }
    if (tr->ws && batch <= tr->capacity)
        return SYN_OK;
    syn_workspace *ws = NULL;
    size_t ny;
    if (!syn_mul_size(batch, syn_net_n_outputs(tr->net), &ny))
        return SYN_ERR_OVERFLOW;
    syn_status st = syn_workspace_create(tr->net, batch, &ws);
    if (st != SYN_OK)
        return st;
    float *y = syn_alloc_floats(ny);
    if (!y) {
        syn_workspace_free(ws);
        return SYN_ERR_OUT_OF_MEMORY;
    }
    syn_workspace_use_pool(ws, tr->pool);
    syn_workspace_free(tr->ws);
    syn_free_aligned(tr->y_buf);
    tr->ws = ws;
    tr->y_buf = y;
    tr->capacity = batch;
    return SYN_OK;
}

/* Flush-to-zero and denormals-are-zero while training: denormal operands
 * cost ~100 cycles each on x86, and Adam's second moments and tiny
 * gradients produce them (PyTorch loses ~15% without
 * torch.set_flush_denormal). MXCSR is per-thread CPU state: it is set on the
 * caller for the call and put back when the call returns; the pool's
 * workers run every chunk in the caller's mode (pool.h), so every thread
 * computes with the same mode and results stay independent of the thread
 * count. */
typedef struct fp_mode {
    unsigned caller;
} fp_mode;

#ifdef SYN_HAVE_MXCSR
#define SYN_FTZ_DAZ 0x8040u /* FTZ (bit 15) | DAZ (bit 6) */
#endif

static fp_mode fp_enter(void)
{
    fp_mode m = {0};
#ifdef SYN_HAVE_MXCSR
    m.caller = _mm_getcsr();
    _mm_setcsr(m.caller | SYN_FTZ_DAZ);
#endif
    return m;
}

static void fp_leave(fp_mode m)
{
#ifdef SYN_HAVE_MXCSR
    _mm_setcsr(m.caller);
#else
    (void)m;
#endif
}

/* Sum of squared gradients in double: NaN or Inf when any gradient is.
 * Eight running sums (a fixed split, so the result is always the same)
 * instead of one keep the adds from waiting on each other. */
static double grad_square_sum(const float *g, size_t n)
{
    double part[8] = {0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++)
            part[k] += (double)g[i + (size_t)k] * (double)g[i + (size_t)k];
    for (; i < n; i++)
        part[0] += (double)g[i] * (double)g[i];
    return ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
}

/* One step on x/y of `batch` rows already sized for. A non-finite loss
 * stops before the step; a non-finite gradient makes the step's parameters
 * non-finite, which the optimizer reports, so no separate pass over the
 * gradients is needed unless clipping wants their norm. */
/* One step on (x, y), or, with x NULL, on the given rows of ds: their
 * features go straight into the workspace (syn_forward_rows, which checks
 * the rows) and their targets into tr->y_buf. */
static syn_status train_batch(syn_trainer *tr, const float *x, const float *y,
                              const syn_dataset *ds, const size_t *rows, size_t batch,
                              double *loss)
{
    syn_status st;
    /* Training mode: dropout's mask from (the seed, the optimizer's step
     * count, which a checkpoint restores, the dataset row), batch norm's
     * batch statistics. */
    uint64_t step = syn_optimizer_steps(tr->opt);
    if (tr->sharded) {
        syn_shard_batch sb = {.net = tr->net, .ws = tr->ws, .y_buf = tr->y_buf, .ds = ds,
                              .rows = rows, .x = x, .y = y, .batch = batch,
                              .classify = ds && syn_dataset_n_classes(ds) > 0,
                              .seed = tr->desc.seed, .step = step};
        st = syn_sharded_batch(tr->sharded, &sb, loss, &tr->shard_correct);
        if (st != SYN_OK)
            return st;
        if (!isfinite(*loss))
            return SYN_ERR_DIVERGED;
    } else if (x) {
        st = syn_forward_train(tr->net, tr->ws, x, batch, tr->desc.seed, step, NULL);
    } else {
        st = syn_forward_rows_train(tr->net, tr->ws, ds, rows, batch, tr->desc.seed, step,
                                    NULL);
        if (st == SYN_OK)
            syn_dataset_gather_targets(ds, rows, batch, tr->y_buf);
        y = tr->y_buf;
    }
    if (!tr->sharded) {
        if (st == SYN_OK)
            st = syn_loss_value(tr->net, tr->ws, y, batch, loss);
        if (st != SYN_OK)
            return st;
        if (!isfinite(*loss))
            return SYN_ERR_DIVERGED;
        st = syn_backward(tr->net, tr->ws, y, batch);
        if (st != SYN_OK)
            return st;
    }
    size_t n;
    float *g = syn_workspace_grads(tr->ws, &n);
    if (tr->desc.clip_norm > 0.0f) {
        double sq = grad_square_sum(g, n);
        if (!isfinite(sq))
            return SYN_ERR_DIVERGED;
        /* clip_grad_norm_'s rule, reusing the norm computed above. */
        double coef = (double)tr->desc.clip_norm / (sqrt(sq) + 1e-6);
        if (coef < 1.0)
            for (size_t i = 0; i < n; i++)
                g[i] *= (float)coef;
    }
    return syn_optimizer_step(tr->opt, tr->net, g, n);
}

syn_status syn_trainer_step(syn_trainer *tr, const float *x, const float *y, size_t batch,
                            double *loss)
{
    if (!tr || !x || !y || batch == 0)
        return SYN_ERR_INVALID_ARGUMENT;
    syn_status st = ensure_capacity(tr, batch);
    if (st != SYN_OK)
        return st;
    double value = 0.0;
    fp_mode mode = fp_enter();
    st = train_batch(tr, x, y, NULL, NULL, batch, &value);
    fp_leave(mode);
    if (loss)
        *loss = value;
    return st;
}

/* Predicted class of one output row: argmax, or the 0.5 threshold of a
 * single sigmoid/linear output. */
static size_t predicted_class(const float *row, size_t n_out)
{
    if (n_out == 1)
        return row[0] >= 0.5f ? 1 : 0;
    size_t best = 0;
    for (size_t j = 1; j < n_out; j++)
        if (row[j] > row[best])
            best = j;
    return best;
}

/* The class a target row encodes (one-hot or a single 0/1 column). */
static size_t target_class(const float *row, size_t n_out)
{
    return predicted_class(row, n_out);
}

size_t syn_count_correct(const float *out, const float *y, size_t batch, size_t n_out)
{
    size_t correct = 0;
    for (size_t r = 0; r < batch; r++)
        correct += predicted_class(out + r * n_out, n_out) == target_class(y + r * n_out, n_out);
    return correct;
}

/* A batch's share of an epoch total: weighted by its samples under the mean
 * reduction, so total / samples is the loss of the whole pass as the net's
 * reduction defines it (mean), or the mean per-sample sum (sum). */
static double loss_as_sum(const syn_net *net, double loss, size_t batch)
{
    return net->reduction == SYN_REDUCTION_SUM ? loss : loss * (double)batch;
}

static syn_status prepare_order(syn_trainer *tr, const size_t *rows, size_t n_rows)
{
    if (n_rows > tr->order_cap) {
        size_t bytes;
        if (!syn_mul_size(n_rows, sizeof(size_t), &bytes))
            return SYN_ERR_OVERFLOW;
        size_t *order = malloc(bytes);
        if (!order)
            return SYN_ERR_OUT_OF_MEMORY;
        free(tr->order);
        tr->order = order;
        tr->order_cap = n_rows;
    }
    for (size_t i = 0; i < n_rows; i++)
        tr->order[i] = rows ? rows[i] : i;
    if (!tr->desc.no_shuffle)
        for (size_t i = n_rows; i > 1; i--) { /* Fisher-Yates */
            size_t j = (size_t)syn_rng_below(&tr->rng, i);
            size_t t = tr->order[i - 1];
            tr->order[i - 1] = tr->order[j];
            tr->order[j] = t;
        }
    return SYN_OK;
}

/* Gets the visiting order of the epoch about to run (or, mid-epoch, of the
 * epoch in progress, redrawn from the generator it started with) and sets
 * the point a divergence rolls back to. */
static syn_status begin_epoch(syn_trainer *tr, const size_t *rows, size_t n_rows,
                              epoch_pos *good)
{
    if (tr->pos.batches_done == 0) {
        tr->epoch_rng = tr->rng;
        tr->epoch_rows = n_rows;
        memset(&tr->pos, 0, sizeof tr->pos);
    } else if (n_rows != tr->epoch_rows) {
        return SYN_ERR_STATE;
    } else {
        tr->rng = tr->epoch_rng;
    }
    syn_status st = prepare_order(tr, rows, n_rows);
    if (st != SYN_OK) {
        tr->rng = tr->epoch_rng;
        return st;
    }
    *good = tr->pos;
    memcpy(tr->snapshot, tr->net->params, tr->net->n_params * sizeof(float));
    if (tr->net->n_state > 0)
        memcpy(tr->snapshot + tr->net->n_params, tr->net->state,
               tr->net->n_state * sizeof(float));
    return SYN_OK;
}

syn_status syn_trainer_epoch(syn_trainer *tr, const syn_dataset *ds, const size_t *rows,
                             size_t n_rows, syn_batch_fn on_batch, void *user,
                             syn_epoch_stats *stats)
{
    if (!tr || !ds)
        return SYN_ERR_INVALID_ARGUMENT;
    if (!rows)
        n_rows = syn_dataset_n_samples(ds);
    if (n_rows == 0)
        return SYN_ERR_INVALID_ARGUMENT;
    if (syn_dataset_n_features(ds) != syn_net_n_inputs(tr->net) ||
        syn_dataset_target_width(ds) != syn_net_n_outputs(tr->net))
        return SYN_ERR_SHAPE;
    size_t batch = epoch_batch(&tr->desc, n_rows);
    epoch_pos good;
    syn_status st = ensure_capacity(tr, batch);
    if (st == SYN_OK)
        st = begin_epoch(tr, rows, n_rows, &good);
    if (st != SYN_OK)
        return st;
    size_t n_out = syn_net_n_outputs(tr->net);
    int classify = syn_dataset_n_classes(ds) > 0;
    size_t n_batches = (n_rows + batch - 1) / batch, b = tr->pos.batches_done;
    /* A last batch too small for a training pass (one row with batch norm,
     * whose variance needs two: PyTorch refuses it too) is left out of the
     * epoch, as DataLoader's drop_last would. */
    if (n_rows % batch != 0 && n_rows % batch < tr->net->min_train_batch) {
        if (n_batches == 1) {
            tr->rng = tr->epoch_rng;
            return SYN_ERR_SHAPE;
        }
        n_batches--;
    }
    const syn_schedule *sched = &tr->desc.schedule;
    int per_step = syn_schedule_per_step(sched);
    float lr = syn_schedule_lr_step(sched, tr->base_lr, tr->epochs_done, 0, n_batches);
    syn_optimizer_set_lr(tr->opt, lr);
    for (; b < n_batches; b++) {
        size_t count = n_rows - b * batch < batch ? n_rows - b * batch : batch;
        double loss = 0.0;
        if (per_step) {
            syn_optimizer_set_lr(tr->opt, syn_schedule_lr_step(sched, tr->base_lr,
                                                               tr->epochs_done, b, n_batches));
            double m = syn_schedule_momentum_step(sched, tr->epochs_done, b, n_batches);
            if (m >= 0.0)
                syn_optimizer_set_momentum(tr->opt, (float)m, NULL);
        }
        st = train_batch(tr, NULL, NULL, ds, tr->order + b * batch, count, &loss);
        if (st != SYN_OK)
            break;
        /* The outputs are those of the forward pass before the update. */
        size_t right = !classify     ? 0
                       : tr->sharded ? tr->shard_correct
                                     : syn_count_correct(syn_workspace_activations(
                                                             tr->ws, tr->net->n_layers - 1),
                                                         tr->y_buf, count, n_out);
        /* The position moves before the callback sees it, so a checkpoint
         * taken there holds this batch's update and its sums. */
        tr->pos.correct += right;
        tr->pos.loss_sum += loss_as_sum(tr->net, loss, count);
        tr->pos.samples += count;
        tr->pos.batches_done = b + 1;
        syn_batch_report report = {.epoch = tr->epochs_done, .batch = b,
                                   .n_batches = n_batches, .samples = count, .loss = loss,
                                   .correct = right};
        if (on_batch && on_batch(user, &report)) {
            b++;
            break;
        }
    }
    if (stats) {
        size_t done = tr->pos.samples;
        stats->epoch = tr->epochs_done;
        stats->batches = b;
        stats->samples = done;
        stats->loss = done ? tr->pos.loss_sum / (double)done : NAN;
        stats->accuracy = classify && done ? (double)tr->pos.correct / (double)done : NAN;
        stats->lr = lr;
    }
    if (st == SYN_OK) {
        tr->epochs_done++;
        memset(&tr->pos, 0, sizeof tr->pos);
    } else {
        if (st == SYN_ERR_DIVERGED) {
            memcpy(tr->net->params, tr->snapshot, tr->net->n_params * sizeof(float));
            if (tr->net->n_state > 0)
                memcpy(tr->net->state, tr->snapshot + tr->net->n_params,
                       tr->net->n_state * sizeof(float));
            tr->pos = good;
        }
        /* Whatever the position, the next call redraws this epoch's order. */
        tr->rng = tr->epoch_rng;
    }
    return st;
}

/* Accumulators of syn_evaluate. Regression keeps, per output column, the
 * error sums and the target's running mean and sum of squared deviations
 * (Welford's update), so R^2's denominator does not cancel catastrophically
 * for targets far from zero, as sum(y^2) - sum(y)^2 / n would. */
typedef struct eval_sums {
    double loss, weight; /* batch losses times their shares, and the shares */
    size_t correct, seen;
    double *abs_err, *sq_err, *y_mean, *y_m2; /* n_outputs each, regression */
} eval_sums;

static void add_batch(const syn_net *net, const float *out, const float *y, size_t count,
                      int classify, eval_sums *s, uint64_t *confusion)
{
    size_t n_out = syn_net_n_outputs(net);
    for (size_t r = 0; r < count; r++) {
        const float *o = out + r * n_out, *t = y + r * n_out;
        if (classify) {
            size_t p = predicted_class(o, n_out), c = target_class(t, n_out);
            s->correct += p == c;
            if (confusion) {
                size_t n_classes = n_out == 1 ? 2 : n_out;
                confusion[c * n_classes + p]++;
            }
            continue;
        }
        s->seen++;
        for (size_t j = 0; j < n_out; j++) {
            double diff = (double)o[j] - (double)t[j];
            s->abs_err[j] += fabs(diff);
            s->sq_err[j] += diff * diff;
            double delta = (double)t[j] - s->y_mean[j];
            s->y_mean[j] += delta / (double)s->seen;
            s->y_m2[j] += delta * ((double)t[j] - s->y_mean[j]);
        }
    }
}

/* sklearn.metrics.r2_score of one column with force_finite=True: a
 * constant target scores 1.0 when predicted exactly, else 0.0. */
static double r2_of(double sq_err, double ss_tot)
{
    if (ss_tot > 0.0)
        return 1.0 - sq_err / ss_tot;
    return sq_err == 0.0 ? 1.0 : 0.0;
}

static void finish_eval(const syn_net *net, const eval_sums *s, size_t n, int classify,
                        syn_eval *result, syn_target_eval *per_target)
{
    size_t n_out = syn_net_n_outputs(net);
    result->samples = n;
    /* With class weights, the batches' losses weighted by their target
     * weight: the loss of the whole set (0 when it has no target weight). */
    result->loss = s->weight > 0.0 ? s->loss / s->weight : 0.0;
    result->accuracy = classify ? (double)s->correct / (double)n : NAN;
    result->mse = result->mae = result->r2 = NAN;
    if (classify) {
        for (size_t j = 0; per_target && j < n_out; j++)
            per_target[j] = (syn_target_eval){NAN, NAN, NAN, NAN};
        return;
    }
    /* Overall: sklearn's multioutput='uniform_average', the mean of the
     * per-column scores (for MSE and MAE that is the mean over all
     * elements, every column having n rows). */
    double sq = 0.0, abs = 0.0, r2 = 0.0;
    for (size_t j = 0; j < n_out; j++) {
        double col_r2 = r2_of(s->sq_err[j], s->y_m2[j]);
        if (per_target)
            per_target[j] = (syn_target_eval){.mse = s->sq_err[j] / (double)n,
                                              .rmse = sqrt(s->sq_err[j] / (double)n),
                                              .mae = s->abs_err[j] / (double)n,
                                              .r2 = col_r2};
        sq += s->sq_err[j];
        abs += s->abs_err[j];
        r2 += col_r2;
    }
    double elems = (double)n * (double)n_out;
    result->mse = sq / elems;
    result->mae = abs / elems;
    result->r2 = r2 / (double)n_out;
}

syn_status syn_evaluate_targets(const syn_net *net, syn_workspace *ws, const syn_dataset *ds,
                                const size_t *rows, size_t n_rows, syn_eval *result,
                                uint64_t *confusion, syn_target_eval *per_target)
{
    if (!net || !ws || !ds || !result)
        return SYN_ERR_INVALID_ARGUMENT;
    if (!rows)
        n_rows = syn_dataset_n_samples(ds);
    if (n_rows == 0)
        return SYN_ERR_INVALID_ARGUMENT;
    size_t n_out = syn_net_n_outputs(net), n_classes = syn_dataset_n_classes(ds);
    if (syn_dataset_n_features(ds) != net->n_inputs || syn_dataset_target_width(ds) != n_out ||
        !syn_workspace_fits(ws, net))
        return SYN_ERR_SHAPE;
    int classify = n_classes > 0;
    size_t cap = ws->max_batch, ny, n_sums;
    if (!syn_mul_size(cap, n_out, &ny) || !syn_mul_size(n_out, 4, &n_sums))
        return SYN_ERR_OVERFLOW;
    float *y = syn_alloc_floats(ny);
    size_t *idx = malloc(cap * sizeof *idx);
    double *sums = calloc(n_sums, sizeof *sums);
    eval_sums s = {0};
    if (sums) {
        s.abs_err = sums;
        s.sq_err = sums + n_out;
        s.y_mean = sums + 2 * n_out;
        s.y_m2 = sums + 3 * n_out;
    }
    syn_status st = y && idx && sums ? SYN_OK : SYN_ERR_OUT_OF_MEMORY;
    if (st == SYN_OK && confusion) {
        size_t k = n_out == 1 ? 2 : n_out;
        memset(confusion, 0, k * k * sizeof *confusion);
    }
    for (size_t start = 0; st == SYN_OK && start < n_rows; start += cap) {
        size_t count = n_rows - start < cap ? n_rows - start : cap;
        for (size_t i = 0; i < count; i++)
            idx[i] = rows ? rows[start + i] : start + i;
        const float *out = NULL;
        double loss = 0.0;
        st = syn_forward_rows(net, ws, ds, idx, count, &out);
        if (st == SYN_OK) {
            syn_dataset_gather_targets(ds, idx, count, y);
            st = syn_loss_value(net, ws, y, count, &loss);
        }
        if (st != SYN_OK)
            break;
        if (net->reduction == SYN_REDUCTION_SUM) {
            s.loss += loss;
            s.weight += (double)count;
        } else {
            double share = syn_loss_share(net, y, count);
            s.loss += loss * share;
            s.weight += share;
        }
        add_batch(net, out, y, count, classify, &s, confusion);
    }
    if (st == SYN_OK)
        finish_eval(net, &s, n_rows, classify, result, per_target);
    syn_free_aligned(y);
    free(idx);
    free(sums);
    return st;
}

syn_status syn_evaluate(const syn_net *net, syn_workspace *ws, const syn_dataset *ds,
                        const size_t *rows, size_t n_rows, syn_eval *result,
                        uint64_t *confusion)
{
    return syn_evaluate_targets(net, ws, ds, rows, n_rows, result, confusion, NULL);
}

syn_status syn_trainer_set_base_lr(syn_trainer *tr, float lr)
{
    if (!tr || !(lr >= 0.0f) || !isfinite(lr))
        return SYN_ERR_INVALID_ARGUMENT;
    tr->base_lr = lr;
    return SYN_OK;
}

static syn_status single_sum_i64(void *ctx, int64_t *buf, size_t n)
{
    (void)ctx, (void)buf, (void)n;
    return SYN_OK;
}

static syn_status single_max_f64(void *ctx, double *buf, size_t n)
{
    (void)ctx, (void)buf, (void)n;
    return SYN_OK;
}

static syn_status single_broadcast(void *ctx, void *buf, size_t bytes, int root)
{
    (void)ctx, (void)buf, (void)bytes;
    return root == 0 ? SYN_OK : SYN_ERR_INVALID_ARGUMENT;
}

static syn_status single_barrier(void *ctx)
{
    (void)ctx;
    return SYN_OK;
}

syn_comm syn_comm_single(void)
{
    syn_comm c = {.rank = 0, .size = 1, .ctx = NULL, .sum_i64 = single_sum_i64,
                  .max_f64 = single_max_f64, .broadcast = single_broadcast,
                  .barrier = single_barrier};
    return c;
}

syn_status syn_trainer_set_comm(syn_trainer *tr, const syn_comm *comm)
{
    if (!tr)
        return SYN_ERR_INVALID_ARGUMENT;
    syn_sharded *sh = NULL;
    if (comm) {
        syn_status st = syn_sharded_create(tr->net, comm, &sh);
        if (st != SYN_OK)
            return st;
    }
    syn_sharded_free(tr->sharded);
    tr->sharded = sh;
    /* The workspace is sized for the other path's passes: size it anew. */
    syn_workspace_free(tr->ws);
    tr->ws = NULL;
    tr->capacity = 0;
    return SYN_OK;
}

syn_status syn_trainer_observe_loss(syn_trainer *tr, double loss, int *lowered)
{
    if (lowered)
        *lowered = 0;
    if (!tr)
        return SYN_ERR_INVALID_ARGUMENT;
    const syn_schedule *sc = &tr->desc.schedule;
    if (!syn_schedule_validated(sc))
        return SYN_OK;
    if (tr->observed >= tr->epochs_done)
        return SYN_ERR_STATE;
    size_t epoch = tr->epochs_done - 1;
    tr->observed = tr->epochs_done;
    /* SequentialLR: the schedule starts at the milestone after warmup. */
    if (epoch < sc->warmup)
        return SYN_OK;
    syn_plateau_action action;
    syn_status st = syn_plateau_update(&tr->plateau, epoch, loss, &action);
    if (st != SYN_OK || action != SYN_PLATEAU_CUT_LR)
        return st;
    /* ReduceLROnPlateau._reduce_lr, in Python floats. */
    double old_lr = tr->base_lr, new_lr = old_lr * (double)sc->factor;
    if (new_lr < (double)sc->min_lr)
        new_lr = sc->min_lr;
    if (old_lr - new_lr > (double)sc->eps) {
        tr->base_lr = (float)new_lr;
        if (lowered)
            *lowered = 1;
    }
    return SYN_OK;
}
