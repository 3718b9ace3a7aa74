/* schedule.c - learning-rate schedules, one row of a table per
 * syn_schedule_kind, with torch.optim.lr_scheduler's definitions
 * (https://pytorch.org/docs/stable/optim.html#how-to-adjust-learning-rate):
 * StepLR, CosineAnnealingLR (first half period), ExponentialLR, OneCycleLR
 * (per step, cos annealing, two phases, cycle_momentum) and ReduceLROnPlateau (whose cuts
 * the trainer applies to its base rate, syn_trainer_observe_loss), each
 * after an optional LinearLR warmup chained as SequentialLR chains them.
 *
 * Warmup is counted in epochs, not steps: PyTorch's LinearLR and
 * SequentialLR are documented stepped once per epoch, the schedules it is
 * chained with (all but OneCycle) are per epoch, so `warmup 5` then cosine
 * is exactly SequentialLR([LinearLR(total_iters=5), CosineAnnealingLR],
 * milestones=[5]) stepped per epoch, and every step of an epoch runs at the
 * rate the log shows for it. Scalars are computed in double (PyTorch
 * computes them in Python floats), then used as float. */
#include <math.h>
#include <string.h>

#include "core/internal.h"

#define PI 3.141592653589793

typedef struct schedule_row {
    const char *name;
    int per_step;  /* the rate changes every optimizer step */
    int validated; /* reports a loss per epoch (syn_trainer_observe_loss) */
    /* The rate at step `s` of the schedule's own epoch count (after the
     * warmup), in epochs of `spe` steps (spe 1 and s 0 for per-epoch kinds). */
    double (*lr)(const syn_schedule *sc, double base, size_t epoch, size_t s, size_t spe);
    /* The kind's own fields are in range. */
    int (*ok)(const syn_schedule *sc);
} schedule_row;

static int finite_in(float v, double lo, double hi)
{
    return isfinite(v) && v >= lo && v <= hi;
}

/* ------------------------------------------------------------- kinds */

static double constant_lr(const syn_schedule *sc, double base, size_t e, size_t s, size_t spe)
{
    (void)sc, (void)e, (void)s, (void)spe;
    return base;
}

static int always_ok(const syn_schedule *sc)
{
    (void)sc;
    return 1;
}

static double step_lr(const syn_schedule *sc, double base, size_t e, size_t s, size_t spe)
{
    (void)s, (void)spe;
    size_t step = sc->step_size ? sc->step_size : 10;
    double gamma = sc->gamma != 0.0f ? sc->gamma : 0.1;
    return base * pow(gamma, (double)(e / step));
}

static int step_ok(const syn_schedule *sc)
{
    return finite_in(sc->gamma, 0.0, 1e30);
}

/* Loshchilov & Hutter 2017 (SGDR), eq. 5, one half period. */
static double cosine_lr(const syn_schedule *sc, double base, size_t e, size_t s, size_t spe)
{
    (void)s, (void)spe;
    double t_max = (double)(sc->t_max ? sc->t_max : 1);
    double t = (double)e < t_max ? (double)e : t_max;
    double min = sc->min_lr;
    return min + (base - min) * (1.0 + cos(PI * t / t_max)) / 2.0;
}

static int cosine_ok(const syn_schedule *sc)
{
    return finite_in(sc->min_lr, 0.0, 1e30);
}

static double exponential_lr(const syn_schedule *sc, double base, size_t e, size_t s,
                             size_t spe)
{
    (void)s, (void)spe;
    return base * pow((double)sc->gamma, (double)e);
}

static int exponential_ok(const syn_schedule *sc)
{
    return finite_in(sc->gamma, 1e-30, 1e30);
}

/* OneCycleLR._anneal_func for anneal_strategy "cos". */
static double cos_anneal(double start, double end, double pct)
{
    return end + (start - end) / 2.0 * (cos(PI * pct) + 1.0);
}

/* OneCycleLR's phases at a step: which phase (1 or 2) and how far into it,
 * as get_lr walks them. */
static int onecycle_phase(const syn_schedule *sc, size_t e, size_t s, size_t spe, double *pct)
{
    double total = (double)(sc->t_max ? sc->t_max : 1) * (double)spe;
    double step = (double)e * (double)spe + (double)s;
    double end1 = (double)sc->pct_start * total - 1.0, end2 = total - 1.0;
    if (step > end2)
        step = end2;
    if (end1 > 0.0 && step <= end1) {
        *pct = step / end1;
        return 1;
    }
    double span = end2 - end1;
    *pct = span > 0.0 ? (step - end1) / span : 1.0;
    return 2;
}

/* OneCycleLR.get_lr with three_phase=False: phase 1 ends at step
 * pct_start * total - 1 (initial_lr -> max_lr), phase 2 at total - 1
 * (max_lr -> initial_lr / final_div_factor). PyTorch raises past the last
 * step; here the rate stays at the last step's. A first phase that ends
 * at step 0 (pct_start * total = 1), on which PyTorch divides by zero, is
 * skipped, as one that ends before it is. */
static double onecycle_lr(const syn_schedule *sc, double base, size_t e, size_t s, size_t spe)
{
    double initial = base / sc->div_factor, min = initial / sc->final_div_factor, pct;
    if (onecycle_phase(sc, e, s, spe, &pct) == 1)
        return cos_anneal(initial, base, pct);
    return cos_anneal(base, min, pct);
}

static int onecycle_ok(const syn_schedule *sc)
{
    return finite_in(sc->pct_start, 0.0, 1.0) && finite_in(sc->div_factor, 1.0, 1e30) &&
           finite_in(sc->final_div_factor, 1.0, 1e30) &&
           (sc->no_cycle_momentum || (finite_in(sc->base_momentum, 0.0, 0.99999994) &&
                                      finite_in(sc->max_momentum, 0.0, 0.99999994)));
}


/* ReduceLROnPlateau keeps the rate until the trainer's cuts lower it. */
static int plateau_ok(const syn_schedule *sc)
{
    return finite_in(sc->factor, 1e-30, 0.99999994) && finite_in(sc->threshold, 0.0, 1e30) &&
           finite_in(sc->min_lr, 0.0, 1e30) && finite_in(sc->eps, 0.0, 1e30) &&
           sc->patience < SIZE_MAX;
}

static const schedule_row schedule_rows[] = {
    [SYN_SCHEDULE_CONSTANT] = {"constant", 0, 0, constant_lr, always_ok},
    [SYN_SCHEDULE_STEP] = {"step", 0, 0, step_lr, step_ok},
    [SYN_SCHEDULE_COSINE] = {"cosine", 0, 0, cosine_lr, cosine_ok},
    [SYN_SCHEDULE_EXPONENTIAL] = {"exponential", 0, 0, exponential_lr, exponential_ok},
    [SYN_SCHEDULE_ONECYCLE] = {"onecycle", 1, 0, onecycle_lr, onecycle_ok},
    [SYN_SCHEDULE_PLATEAU] = {"plateau", 0, 1, constant_lr, plateau_ok},
};
_Static_assert(sizeof schedule_rows / sizeof schedule_rows[0] == SYN_SCHEDULE_COUNT_,
               "one schedule_rows row per syn_schedule_kind");

/* ------------------------------------------------------------ public */

syn_schedule syn_schedule_defaults(syn_schedule_kind kind)
{
    syn_schedule s;
    memset(&s, 0, sizeof s);
    s.kind = kind;
    s.step_size = 10;
    s.gamma = kind == SYN_SCHEDULE_EXPONENTIAL ? 0.95f : 0.1f;
    s.t_max = 1;
    s.pct_start = 0.3f;
    s.div_factor = 25.0f;
    s.final_div_factor = 1e4f;
    s.patience = 10;
    s.factor = 0.1f;
    s.threshold = 1e-4f;
    s.eps = 1e-8f;
    s.base_momentum = 0.85f;
    s.max_momentum = 0.95f;
    return s;
}

const char *syn_schedule_name(syn_schedule_kind kind)
{
    return (unsigned)kind < SYN_SCHEDULE_COUNT_ ? schedule_rows[kind].name : "unknown";
}

syn_status syn_schedule_check(const syn_schedule *sc)
{
    if (!sc || (unsigned)sc->kind >= SYN_SCHEDULE_COUNT_)
        return SYN_ERR_INVALID_ARGUMENT;
    /* LinearLR: 0 < start_factor <= 1 (0 here means its default, 1/3). */
    if (!finite_in(sc->warmup_start, 0.0, 1.0))
        return SYN_ERR_INVALID_ARGUMENT;
    return schedule_rows[sc->kind].ok(sc) ? SYN_OK : SYN_ERR_INVALID_ARGUMENT;
}

int syn_schedule_per_step(const syn_schedule *sc)
{
    return schedule_rows[sc->kind].per_step;
}

int syn_schedule_validated(const syn_schedule *sc)
{
    return schedule_rows[sc->kind].validated;
}

float syn_schedule_lr_step(const syn_schedule *sc, float base_lr, size_t epoch, size_t step,
                           size_t steps_per_epoch)
{
    if (!sc || syn_schedule_check(sc) != SYN_OK)
        return base_lr;
    if (epoch < sc->warmup) {
        /* LinearLR(start_factor, end_factor=1, total_iters=warmup). */
        double start = sc->warmup_start != 0.0f ? sc->warmup_start : 1.0 / 3.0;
        double f = start + (1.0 - start) * (double)epoch / (double)sc->warmup;
        return (float)((double)base_lr * f);
    }
    const schedule_row *row = &schedule_rows[sc->kind];
    size_t spe = row->per_step && steps_per_epoch ? steps_per_epoch : 1;
    size_t s = row->per_step && step < spe ? step : 0;
    return (float)row->lr(sc, base_lr, epoch - sc->warmup, s, spe);
}

double syn_schedule_momentum_step(const syn_schedule *sc, size_t epoch, size_t step,
                                  size_t steps_per_epoch)
{
    if (sc->kind != SYN_SCHEDULE_ONECYCLE || sc->no_cycle_momentum || epoch < sc->warmup)
        return -1.0;
    size_t spe = steps_per_epoch ? steps_per_epoch : 1;
    double pct;
    /* Phase 1: max_momentum -> base_momentum; phase 2: back up. */
    if (onecycle_phase(sc, epoch - sc->warmup, step < spe ? step : 0, spe, &pct) == 1)
        return cos_anneal(sc->max_momentum, sc->base_momentum, pct);
    return cos_anneal(sc->base_momentum, sc->max_momentum, pct);
}

float syn_schedule_lr(const syn_schedule *schedule, float base_lr, size_t epoch)
{
    return syn_schedule_lr_step(schedule, base_lr, epoch, 0, 1);
}
