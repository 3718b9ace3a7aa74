/* test_schedule.c - learning-rate schedules in the trainer:
 *  - the rate of every optimizer step against torch.optim.lr_scheduler
 *    (tests/fixtures/gen_torch_schedules.py: StepLR, CosineAnnealingLR,
 *    ExponentialLR, OneCycleLR per step, ReduceLROnPlateau fed fixed
 *    losses, LinearLR warmup chained by SequentialLR) at 1e-6 relative,
 *    read from the trainer's optimizer while each step runs;
 *  - a run resumed from a mid-epoch checkpoint, mid-warmup-then-OneCycle
 *    and mid-ReduceLROnPlateau (cuts before and after it), ends bit for bit
 *    as the uninterrupted run;
 *  - settings out of range refused (syn_schedule_check, the trainer, a
 *    checkpoint whose schedule fields were altered). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "io/crc32.h"
#include "synapse.h"

#define GOLDEN SYN_TEST_DIR "/fixtures/torch_schedule/schedules.txt"
#define REL_TOL 1e-6
#define MAX_STEPS 512

static char tmp_dir[] = "/tmp/syn_test_sched_XXXXXX";

/* A tiny regression set and net: what is trained does not matter here,
 * only that the trainer runs its steps. */
static syn_dataset *make_data(size_t rows)
{
    float x[2 * 64], y[64];
    for (size_t i = 0; i < rows && i < 64; i++) {
        x[2 * i] = (float)(i % 7) / 7.0f - 0.5f;
        x[2 * i + 1] = (float)(i % 3) / 3.0f - 0.3f;
        y[i] = 0.4f * x[2 * i] - 0.2f * x[2 * i + 1] + 0.1f;
    }
    syn_dataset *ds = NULL;
    CHECK_OK(syn_dataset_from_floats(x, rows, 2, y, 1, &ds));
    return ds;
}

static syn_net *make_net(void)
{
    syn_layer_desc layers[2] = {{.units = 4, .activation = SYN_ACT_TANH}, {.units = 1}};
    syn_net_desc desc = {.n_inputs = 2, .n_layers = 2, .layers = layers,
                         .loss = SYN_LOSS_MSE, .seed = 3};
    syn_net *net = NULL;
    CHECK_OK(syn_net_create(&desc, &net));
    return net;
}

/* ------------------------------------------------------------- golden */

typedef struct recorder {
    syn_trainer *tr;
    float lr[MAX_STEPS], momentum[MAX_STEPS];
    size_t n;
} recorder;

/* The momentum OneCycleLR cycles: beta1 of the Adam family, else momentum. */
static float momentum_of(const syn_optim_desc *d)
{
    return d->kind == SYN_OPTIM_ADAM ? d->beta1 : d->momentum;
}

static int record_lr(void *user, const syn_batch_report *report)
{
    (void)report;
    recorder *r = user;
    if (r->n < MAX_STEPS) {
        syn_optim_desc d = syn_optimizer_desc(syn_trainer_optimizer(r->tr));
        r->momentum[r->n] = momentum_of(&d);
        r->lr[r->n++] = d.lr;
    }
    return 0;
}

static int kind_of(const char *w, syn_schedule_kind *kind)
{
    for (int k = 0; k < SYN_SCHEDULE_COUNT_; k++)
        if (!strcmp(syn_schedule_name((syn_schedule_kind)k), w)) {
            *kind = (syn_schedule_kind)k;
            return 1;
        }
    return 0;
}

static int set_field(syn_schedule *s, const char *field, const char *text)
{
    double v = strtod(text, NULL);
    size_t z = (size_t)strtoull(text, NULL, 10);
    if (!strcmp(field, "step_size")) s->step_size = z;
    else if (!strcmp(field, "gamma")) s->gamma = (float)v;
    else if (!strcmp(field, "t_max")) s->t_max = z;
    else if (!strcmp(field, "min_lr")) s->min_lr = (float)v;
    else if (!strcmp(field, "warmup")) s->warmup = z;
    else if (!strcmp(field, "warmup_start")) s->warmup_start = (float)v;
    else if (!strcmp(field, "pct_start")) s->pct_start = (float)v;
    else if (!strcmp(field, "div_factor")) s->div_factor = (float)v;
    else if (!strcmp(field, "final_div_factor")) s->final_div_factor = (float)v;
    else if (!strcmp(field, "patience")) s->patience = z;
    else if (!strcmp(field, "factor")) s->factor = (float)v;
    else if (!strcmp(field, "threshold")) s->threshold = (float)v;
    else if (!strcmp(field, "cooldown")) s->cooldown = z;
    else if (!strcmp(field, "eps")) s->eps = (float)v;
    else if (!strcmp(field, "no_cycle_momentum")) s->no_cycle_momentum = (int)z;
    else if (!strcmp(field, "base_momentum")) s->base_momentum = (float)v;
    else if (!strcmp(field, "max_momentum")) s->max_momentum = (float)v;
    else return 0;
    return 1;
}

static double *read_doubles(FILE *f, const char *want, size_t count)
{
    char label[32];
    size_t n = 0;
    if (fscanf(f, " array %31s %zu", label, &n) != 2 || strcmp(label, want) || n != count)
        return NULL;
    double *v = malloc((n ? n : 1) * sizeof *v);
    for (size_t i = 0; v && i < n; i++) {
        char text[64];
        if (fscanf(f, " %63s", text) != 1) {
            free(v);
            return NULL;
        }
        v[i] = strtod(text, NULL);
    }
    return v;
}

/* Runs the trainer through the case's epochs (reporting each loss) and
 * compares the rate of every step. */
static void run_golden(const char *name, const syn_schedule *sc, size_t epochs, size_t spe,
                       float base, syn_optim_kind kind, float momentum, const double *losses,
                       const double *want, const double *want_m, double *worst)
{
    syn_dataset *ds = make_data(2 * spe);
    syn_net *net = make_net();
    syn_optim_desc od = syn_optim_defaults(kind);
    od.lr = base;
    if (kind == SYN_OPTIM_ADAM)
        od.beta1 = momentum;
    else
        od.momentum = momentum;
    syn_train_desc td = {.batch_size = 2, .no_shuffle = 1, .schedule = *sc, .n_threads = 1};
    recorder *rec = calloc(1, sizeof *rec);
    CHECK_OK(syn_trainer_create(net, &od, &td, &rec->tr));
    if (!rec->tr) {
        free(rec);
        syn_net_free(net);
        syn_dataset_free(ds);
        return;
    }
    for (size_t e = 0; e < epochs; e++) {
        syn_epoch_stats stats;
        CHECK_OK(syn_trainer_epoch(rec->tr, ds, NULL, 0, record_lr, rec, &stats));
        CHECK(stats.lr == rec->lr[e * spe], "%s: epoch %zu's stats.lr is its first step's",
              name, e);
        CHECK_OK(syn_trainer_observe_loss(rec->tr, losses[e], NULL));
    }
    CHECK(rec->n == epochs * spe, "%s: %zu steps", name, rec->n);
    int bad = 0;
    for (size_t i = 0; i < rec->n && i < epochs * spe; i++) {
        double e = fabs(rec->lr[i] - want[i]) / want[i];
        double em = fabs(rec->momentum[i] - want_m[i]) / (want_m[i] > 0 ? want_m[i] : 1.0);
        e = em > e ? em : e;
        *worst = e > *worst ? e : *worst;
        if (!(e <= REL_TOL) && bad++ < 3)
            fprintf(stderr, "%s: step %zu (epoch %zu): lr %.9g momentum %.9g, PyTorch %.9g "
                    "%.9g\n", name, i, i / spe, (double)rec->lr[i], (double)rec->momentum[i],
                    want[i], want_m[i]);
        /* The pure function agrees with the trainer, but for the cuts of
         * ReduceLROnPlateau, which live in the trainer. */
        if (sc->kind != SYN_SCHEDULE_PLATEAU || i / spe < sc->warmup)
            bad += syn_schedule_lr_step(sc, base, i / spe, i % spe, spe) != rec->lr[i];
    }
    CHECK(bad == 0, "%s: %d steps off", name, bad);
    syn_trainer_free(rec->tr);
    free(rec);
    syn_net_free(net);
    syn_dataset_free(ds);
}

static void test_golden(void)
{
    FILE *f = fopen(GOLDEN, "r");
    CHECK(f != NULL, "cannot open %s", GOLDEN);
    if (!f)
        return;
    char head[64];
    int version = 0;
    CHECK(fscanf(f, " %63s %d", head, &version) == 2 &&
              !strcmp(head, "synapse-schedule-golden") && version == 1,
          "not a schedule fixture");
    size_t n_cases = 0;
    double worst = 0.0;
    char name[64], kind_text[32], base_text[64];
    size_t epochs, spe;
    int seen[SYN_SCHEDULE_COUNT_] = {0};
    while (fscanf(f, " case %63s %31s %zu %zu %63s", name, kind_text, &epochs, &spe,
                  base_text) == 5) {
        syn_schedule_kind kind = SYN_SCHEDULE_CONSTANT;
        CHECK(kind_of(kind_text, &kind), "%s: kind %s", name, kind_text);
        syn_schedule sc = syn_schedule_defaults(kind);
        char field[32], value[64], optim[16], momentum[64];
        CHECK(fscanf(f, " optim %15s %63s", optim, momentum) == 2, "%s: optim", name);
        syn_optim_kind okind = !strcmp(optim, "adam")       ? SYN_OPTIM_ADAM
                               : !strcmp(optim, "momentum") ? SYN_OPTIM_MOMENTUM
                                                            : SYN_OPTIM_SGD;
        long at = ftell(f);
        while (fscanf(f, " set %31s %63s", field, value) == 2) {
            CHECK(set_field(&sc, field, value), "%s: field %s", name, field);
            at = ftell(f);
        }
        fseek(f, at, SEEK_SET);
        double *losses = read_doubles(f, "losses", epochs);
        double *want = read_doubles(f, "lr", epochs * spe);
        double *want_m = read_doubles(f, "momentum", epochs * spe);
        char end[8];
        CHECK(losses && want && want_m && fscanf(f, " %7s", end) == 1 && !strcmp(end, "end") &&
                  epochs * spe <= MAX_STEPS,
              "%s: malformed", name);
        CHECK_OK(syn_schedule_check(&sc));
        if (losses && want && want_m && epochs * spe <= MAX_STEPS)
            run_golden(name, &sc, epochs, spe, (float)strtod(base_text, NULL), okind,
                       (float)strtod(momentum, NULL), losses, want, want_m, &worst);
        seen[kind] = 1;
        free(losses);
        free(want);
        free(want_m);
        n_cases++;
    }
    for (int k = 0; k < SYN_SCHEDULE_COUNT_; k++)
        CHECK(seen[k], "no golden case of the %s schedule", syn_schedule_name(k));
    CHECK(n_cases == 13, "%zu cases, 13 expected", n_cases);
    printf("golden: %zu schedules; worst relative error of a step's rate %.3g\n", n_cases,
           worst);
    fclose(f);
}

/* ------------------------------------------------------------- resume */

#define RESUME_ROWS 40
#define RESUME_EPOCHS 10
#define STOP_BATCH 4

/* The loss reported after each epoch to the plateau schedule (warmup 1,
 * patience 1, cooldown 1, threshold 0.01): epoch 1 sets the best, 3 cuts
 * (two epochs without a 1% gain), 4 is the cooldown, 6 improves, 8 cuts,
 * 9 improves. A checkpoint in epoch 4 holds a cooldown, in 6 a best that
 * 6 must beat, in 8 a count of bad epochs: each must be restored. */
static const double plateau_losses[RESUME_EPOCHS] = {5.0,   1.0,  1.0,   0.995, 0.995,
                                                     0.995, 0.98, 0.975, 0.975, 0.97};

typedef struct saver {
    syn_trainer *tr;
    const char *path;
    size_t stop_epoch;
    int saved;
    float lr[RESUME_EPOCHS * RESUME_ROWS / 4];
    size_t n;
} saver;

static int save_mid(void *user, const syn_batch_report *report)
{
    saver *s = user;
    if (s->n < sizeof s->lr / sizeof s->lr[0])
        s->lr[s->n++] = syn_optimizer_desc(syn_trainer_optimizer(s->tr)).lr;
    if (report->epoch == s->stop_epoch && report->batch == STOP_BATCH && s->path) {
        CHECK_OK(syn_checkpoint_save(s->tr, NULL, 0, s->path, NULL));
        s->saved = 1;
    }
    return 0;
}

/* Epochs from where tr stands to RESUME_EPOCHS, each loss reported. */
static void finish(syn_trainer *tr, const syn_dataset *ds, saver *s, const double *losses,
                   size_t *cuts)
{
    while (syn_trainer_epochs_done(tr) < RESUME_EPOCHS) {
        syn_epoch_stats stats;
        if (syn_trainer_epoch(tr, ds, NULL, 0, save_mid, s, &stats) != SYN_OK) {
            CHECK(0, "an epoch failed");
            return;
        }
        int lowered = 0;
        double loss = losses ? losses[syn_trainer_epochs_done(tr) - 1] : stats.loss;
        CHECK_OK(syn_trainer_observe_loss(tr, loss, &lowered));
        *cuts += (size_t)lowered;
    }
}

static void check_resume(const char *name, const syn_schedule *sc, size_t stop_epoch,
                         const double *losses)
{
    char path[128], what[64];
    snprintf(what, sizeof what, "%s, stopped in epoch %zu", name, stop_epoch);
    snprintf(path, sizeof path, "%s/%s.ckpt", tmp_dir, name);
    syn_dataset *ds = make_data(RESUME_ROWS);
    syn_net *net = make_net();
    syn_optim_desc od = syn_optim_defaults(SYN_OPTIM_ADAM);
    od.lr = 0.05f;
    syn_train_desc td = {.batch_size = 4, .schedule = *sc, .n_threads = 2, .seed = 9};
    syn_trainer *tr = NULL;
    CHECK_OK(syn_trainer_create(net, &od, &td, &tr));
    saver whole = {tr, path, stop_epoch, 0, {0}, 0};
    size_t cuts_whole = 0, cuts_before = 0, cuts_after = 0;
    finish(tr, ds, &whole, losses, &cuts_whole);
    CHECK(whole.saved, "%s: the checkpoint was written", what);

    syn_net *net2 = NULL;
    syn_optimizer *opt = NULL;
    syn_trainer_state state;
    CHECK_OK(syn_checkpoint_load(path, &net2, &opt, &state, NULL, NULL, NULL));
    syn_trainer *tr2 = NULL;
    if (net2 && opt) {
        syn_optim_desc od2 = syn_optimizer_desc(opt);
        od2.lr = state.base_lr;
        CHECK_OK(syn_trainer_create(net2, &od2, &state.train, &tr2));
    }
    if (tr2)
        CHECK_OK(syn_trainer_restore(tr2, &state, opt));
    cuts_before = state.plateau.n_cuts;
    saver rest = {tr2, NULL, 0, 0, {0}, 0};
    if (tr2)
        finish(tr2, ds, &rest, losses, &cuts_after);
    size_t n_after = rest.n, skip = whole.n - n_after;
    CHECK(n_after > 0 && memcmp(whole.lr + skip, rest.lr, n_after * sizeof(float)) == 0,
          "%s: the resumed run steps at the same rates", what);
    size_t n = 0;
    const float *a = syn_net_params_const(net, &n), *b = net2 ? syn_net_params_const(net2, NULL)
                                                             : NULL;
    CHECK(b && memcmp(a, b, n * sizeof *a) == 0, "%s: resumed parameters are bit-identical",
          what);
    if (sc->kind == SYN_SCHEDULE_PLATEAU)
        CHECK(cuts_before > 0 && cuts_after > 0 && cuts_whole == cuts_before + cuts_after,
              "%s: cuts before (%zu) and after (%zu) the checkpoint, %zu in all", what,
              cuts_before, cuts_after, cuts_whole);
    syn_trainer_state s1, s2;
    syn_trainer_get_state(tr, &s1);
    if (tr2) {
        syn_trainer_get_state(tr2, &s2);
        CHECK(s1.base_lr == s2.base_lr && s1.plateau.n_cuts == s2.plateau.n_cuts &&
                  s1.plateau.best == s2.plateau.best && s1.observed == s2.observed,
              "%s: the schedule's state ends the same", what);
    }
    syn_trainer_free(tr);
    syn_trainer_free(tr2);
    syn_optimizer_free(opt);
    syn_net_free(net);
    syn_net_free(net2);
    syn_dataset_free(ds);
    unlink(path);
}

static void test_resume(void)
{
    syn_schedule one = syn_schedule_defaults(SYN_SCHEDULE_ONECYCLE);
    one.warmup = 2;
    one.t_max = RESUME_EPOCHS - 2;
    check_resume("onecycle", &one, 3, NULL);
    check_resume("onecycle", &one, 1, NULL);
    syn_schedule plat = syn_schedule_defaults(SYN_SCHEDULE_PLATEAU);
    plat.warmup = 1;
    plat.patience = 1;
    plat.threshold = 0.01f;
    plat.cooldown = 1;
    plat.factor = 0.7f;
    for (size_t stop = 4; stop <= 8; stop += 2)
        check_resume("plateau", &plat, stop, plateau_losses);
}

/* ----------------------------------------------------------- refusals */

static void test_refused(void)
{
    syn_schedule s;
    CHECK(syn_schedule_check(NULL) == SYN_ERR_INVALID_ARGUMENT, "NULL");
    s = syn_schedule_defaults(SYN_SCHEDULE_COSINE);
    s.kind = SYN_SCHEDULE_COUNT_;
    CHECK(syn_schedule_check(&s) == SYN_ERR_INVALID_ARGUMENT, "unknown kind");
    /* Each kind's fields out of range, one at a time. */
    const struct {
        syn_schedule_kind kind;
        const char *field, *value;
    } cases[] = {
        {SYN_SCHEDULE_STEP, "gamma", "nan"},
        {SYN_SCHEDULE_STEP, "gamma", "-0.5"},
        {SYN_SCHEDULE_COSINE, "min_lr", "-1"},
        {SYN_SCHEDULE_EXPONENTIAL, "gamma", "0"},
        {SYN_SCHEDULE_EXPONENTIAL, "gamma", "inf"},
        {SYN_SCHEDULE_ONECYCLE, "pct_start", "-0.1"},
        {SYN_SCHEDULE_ONECYCLE, "pct_start", "1.5"},
        {SYN_SCHEDULE_ONECYCLE, "div_factor", "0.5"},
        {SYN_SCHEDULE_ONECYCLE, "final_div_factor", "nan"},
        {SYN_SCHEDULE_PLATEAU, "factor", "1"},
        {SYN_SCHEDULE_PLATEAU, "factor", "0"},
        {SYN_SCHEDULE_PLATEAU, "threshold", "nan"},
        {SYN_SCHEDULE_PLATEAU, "threshold", "-1e-4"},
        {SYN_SCHEDULE_PLATEAU, "eps", "-1"},
        {SYN_SCHEDULE_PLATEAU, "min_lr", "nan"},
        {SYN_SCHEDULE_CONSTANT, "warmup_start", "1.5"},
        {SYN_SCHEDULE_COSINE, "warmup_start", "-0.2"},
        {SYN_SCHEDULE_COSINE, "warmup_start", "nan"},
    };
    syn_net *net = make_net();
    syn_optim_desc od = syn_optim_defaults(SYN_OPTIM_SGD);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        s = syn_schedule_defaults(cases[i].kind);
        CHECK_OK(syn_schedule_check(&s));
        set_field(&s, cases[i].field, cases[i].value);
        CHECK(syn_schedule_check(&s) == SYN_ERR_INVALID_ARGUMENT, "%s %s = %s refused",
              syn_schedule_name(cases[i].kind), cases[i].field, cases[i].value);
        syn_train_desc td = {.schedule = s};
        syn_trainer *tr = NULL;
        CHECK(syn_trainer_create(net, &od, &td, &tr) == SYN_ERR_INVALID_ARGUMENT && !tr,
              "the trainer refuses %s %s = %s", syn_schedule_name(cases[i].kind),
              cases[i].field, cases[i].value);
    }
    /* OneCycleLR(cycle_momentum=True) needs a momentum or beta1: plain SGD,
     * Adagrad and RMSprop without momentum are refused, as PyTorch raises
     * for an optimizer without either (plain SGD it would turn into
     * momentum SGD); cycle_momentum=False takes any. */
    const syn_optim_kind none[] = {SYN_OPTIM_SGD, SYN_OPTIM_ADAGRAD, SYN_OPTIM_RMSPROP};
    for (int k = 0; k < 3; k++) {
        syn_schedule one = syn_schedule_defaults(SYN_SCHEDULE_ONECYCLE);
        syn_optim_desc o = syn_optim_defaults(none[k]);
        syn_train_desc td = {.schedule = one};
        syn_trainer *tr = NULL;
        CHECK(syn_trainer_create(net, &o, &td, &tr) == SYN_ERR_INVALID_ARGUMENT && !tr,
              "onecycle cycling the momentum of %s refused", syn_optim_name(none[k]));
        td.schedule.no_cycle_momentum = 1;
        CHECK_OK(syn_trainer_create(net, &o, &td, &tr));
        syn_trainer_free(tr);
    }
    const struct {
        const char *field, *value;
    } moms[] = {{"base_momentum", "1"}, {"max_momentum", "-0.1"}, {"max_momentum", "nan"}};
    for (int k = 0; k < 3; k++) {
        s = syn_schedule_defaults(SYN_SCHEDULE_ONECYCLE);
        set_field(&s, moms[k].field, moms[k].value);
        CHECK(syn_schedule_check(&s) == SYN_ERR_INVALID_ARGUMENT, "%s %s", moms[k].field,
              moms[k].value);
    }
    /* A zeroed struct of an old kind still means PyTorch's defaults. */
    syn_schedule zero = {.kind = SYN_SCHEDULE_STEP};
    CHECK_OK(syn_schedule_check(&zero));
    CHECK_CLOSE(syn_schedule_lr(&zero, 1.0f, 10), 0.1, 1e-7, 0, "step 10, gamma 0.1");
    /* observe_loss: nothing to do for other kinds, STATE before an epoch. */
    syn_schedule plat = syn_schedule_defaults(SYN_SCHEDULE_PLATEAU);
    syn_train_desc td = {.schedule = plat};
    syn_trainer *tr = NULL;
    CHECK_OK(syn_trainer_create(net, &od, &td, &tr));
    CHECK(syn_trainer_observe_loss(tr, 1.0, NULL) == SYN_ERR_STATE, "no epoch yet");
    CHECK(syn_trainer_observe_loss(NULL, 1.0, NULL) == SYN_ERR_INVALID_ARGUMENT, "NULL");
    syn_trainer_free(tr);
    syn_net_free(net);
}

/* A checkpoint is hostile: schedule fields altered (and the CRCs made to
 * match) are refused as CORRUPT, not trained with. */
static void test_hostile_checkpoint(void)
{
    char path[128];
    snprintf(path, sizeof path, "%s/hostile.ckpt", tmp_dir);
    syn_dataset *ds = make_data(8);
    syn_net *net = make_net();
    syn_optim_desc od = syn_optim_defaults(SYN_OPTIM_SGD);
    syn_train_desc td = {.batch_size = 4, .schedule = syn_schedule_defaults(SYN_SCHEDULE_PLATEAU)};
    syn_trainer *tr = NULL;
    CHECK_OK(syn_trainer_create(net, &od, &td, &tr));
    CHECK_OK(syn_trainer_epoch(tr, ds, NULL, 0, NULL, NULL, NULL));
    CHECK_OK(syn_trainer_observe_loss(tr, 0.5, NULL));
    CHECK_OK(syn_checkpoint_save(tr, NULL, 0, path, NULL));
    FILE *f = fopen(path, "rb");
    uint8_t *img = malloc(1 << 16);
    size_t size = f ? fread(img, 1, 1 << 16, f) : 0;
    if (f)
        fclose(f);
    size_t at = 0;
    for (size_t i = 28; i + 12 < size; i++)
        if (!memcmp(img + i, "ckpt", 4)) {
            at = i + 12;
            break;
        }
    CHECK(at > 0, "a ckpt section");
    /* Offsets in the version 2 payload (docs/FORMAT.md). */
    /* v1's 144 bytes; warmup u64, four f32, patience u64, then factor;
     * factor, threshold f32, cooldown u64, eps f32, then have_best. */
    const size_t factor_at = 144 + 8 + 16 + 8, have_best_at = factor_at + 4 + 4 + 8 + 4;
    const struct {
        size_t off;
        uint32_t value;
        const char *what;
    } spoils[] = {{factor_at, 0x3f800000u, "factor 1"},
                  {factor_at, 0x7fc00000u, "factor NaN"},
                  {have_best_at, 2u, "have_best 2"},
                  {0, 4u, "version 4"}};
    for (size_t k = 0; at && k < sizeof spoils / sizeof spoils[0]; k++) {
        uint8_t *copy = malloc(size);
        memcpy(copy, img, size);
        for (int b = 0; b < 4; b++)
            copy[at + spoils[k].off + (size_t)b] = (uint8_t)(spoils[k].value >> (8 * b));
        uint32_t crc = syn_crc32(0, copy, size - 4);
        for (int b = 0; b < 4; b++)
            copy[size - 4 + (size_t)b] = (uint8_t)(crc >> (8 * b));
        f = fopen(path, "wb");
        fwrite(copy, 1, size, f);
        fclose(f);
        syn_net *n2 = NULL;
        syn_optimizer *o2 = NULL;
        syn_trainer_state st;
        syn_error err = {{0}};
        syn_status got = syn_checkpoint_load(path, &n2, &o2, &st, NULL, NULL, &err);
        syn_status want = k == 3 ? SYN_ERR_VERSION : SYN_ERR_CORRUPT;
        CHECK(got == want && !n2 && err.message[0], "%s: %s (%s)", spoils[k].what,
              syn_strerror(got), err.message);
        free(copy);
    }
    free(img);
    syn_trainer_free(tr);
    syn_net_free(net);
    syn_dataset_free(ds);
    unlink(path);
}

int main(void)
{
    if (!mkdtemp(tmp_dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_golden();
    test_resume();
    test_refused();
    test_hostile_checkpoint();
    rmdir(tmp_dir);
    return check_finish();
}
