/* checkpoint.c - training checkpoints: a model file (network and optimizer
 * state, written atomically by model_file.c) with two optional sections, the
 * trainer's position ("ckpt") and an opaque block of the caller's ("user").
 * Optional sections keep a checkpoint readable as a plain model by every
 * reader. Layout of "ckpt" in docs/FORMAT.md (version 1, before the
 * schedules of issue 14, still reads); values are little-endian and
 * floats travel as their bit patterns, so a resumed run continues bit for
 * bit. */
#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "io/file.h"
#include "io/model_file.h"

#define CKPT_TAG "ckpt"
#define USER_TAG "user"
/* 2 appended the schedules' fields and ReduceLROnPlateau's state, 3
 * OneCycleLR's momentum cycling; 1 and 2 still read (their runs did not
 * cycle the momentum, and go on without). */
#define CKPT_VERSION 3u
/* version; epochs, batches, rows; rng; loss sum, correct, samples; base lr;
 * batch size, no_shuffle, clip norm; schedule (kind, step size, gamma,
 * t_max, min lr); threads; seed. */
#define CKPT_V1_SIZE (4u + 3u * 8u + 4u * 8u + 3u * 8u + 4u + 8u + 4u + 4u + \
                      4u + 8u + 4u + 8u + 4u + 4u + 8u)
/* Version 2 adds: warmup, warmup_start, pct_start, div_factor,
 * final_div_factor, patience, factor, threshold, cooldown, eps; the plateau
 * rule's have_best, best, best_epoch, since_best, since_cut, n_cuts,
 * cooldown_left; the epochs observed. */
#define CKPT_V2_SIZE (CKPT_V1_SIZE + 8u + 4u * 4u + 8u + 4u + 4u + 8u + 4u + \
                      4u + 8u + 8u * 5u + 8u)
/* Version 3 adds: no_cycle_momentum, base_momentum, max_momentum. */
#define CKPT_SIZE (CKPT_V2_SIZE + 4u + 4u + 4u)

typedef struct writer {
    uint8_t *p;
} writer;

static void w_u32(writer *w, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        *w->p++ = (uint8_t)(v >> (8 * i));
}

static void w_u64(writer *w, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        *w->p++ = (uint8_t)(v >> (8 * i));
}

static void w_f32(writer *w, float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    w_u32(w, u);
}

static void w_f64(writer *w, double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    w_u64(w, u);
}

typedef struct reader {
    const uint8_t *p;
} reader;

static uint32_t r_u32(reader *r)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v |= (uint32_t)*r->p++ << (8 * i);
    return v;
}

static uint64_t r_u64(reader *r)
{
    uint64_t lo = r_u32(r);
    return lo | (uint64_t)r_u32(r) << 32;
}

static float r_f32(reader *r)
{
    uint32_t u = r_u32(r);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static double r_f64(reader *r)
{
    uint64_t u = r_u64(r);
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

static void encode_state(const syn_trainer_state *s, uint8_t out[CKPT_SIZE])
{
    writer w = {out};
    w_u32(&w, CKPT_VERSION);
    w_u64(&w, s->epochs_done);
    w_u64(&w, s->batches_done);
    w_u64(&w, s->n_rows);
    for (int i = 0; i < 4; i++)
        w_u64(&w, s->rng.s[i]);
    w_f64(&w, s->loss_sum);
    w_u64(&w, s->correct);
    w_u64(&w, s->samples);
    w_f32(&w, s->base_lr);
    w_u64(&w, s->train.batch_size);
    w_u32(&w, s->train.no_shuffle ? 1u : 0u);
    w_f32(&w, s->train.clip_norm);
    w_u32(&w, (uint32_t)s->train.schedule.kind);
    w_u64(&w, s->train.schedule.step_size);
    w_f32(&w, s->train.schedule.gamma);
    w_u64(&w, s->train.schedule.t_max);
    w_f32(&w, s->train.schedule.min_lr);
    w_u32(&w, (uint32_t)s->train.n_threads);
    w_u64(&w, s->train.seed);
    const syn_schedule *sc = &s->train.schedule;
    w_u64(&w, sc->warmup);
    w_f32(&w, sc->warmup_start);
    w_f32(&w, sc->pct_start);
    w_f32(&w, sc->div_factor);
    w_f32(&w, sc->final_div_factor);
    w_u64(&w, sc->patience);
    w_f32(&w, sc->factor);
    w_f32(&w, sc->threshold);
    w_u64(&w, sc->cooldown);
    w_f32(&w, sc->eps);
    const syn_plateau *p = &s->plateau;
    w_u32(&w, p->have_best ? 1u : 0u);
    w_f64(&w, p->best);
    w_u64(&w, p->best_epoch);
    w_u64(&w, p->since_best);
    w_u64(&w, p->since_cut);
    w_u64(&w, p->n_cuts);
    w_u64(&w, p->cooldown_left);
    w_u64(&w, s->observed);
    w_u32(&w, sc->no_cycle_momentum ? 1u : 0u);
    w_f32(&w, sc->base_momentum);
    w_f32(&w, sc->max_momentum);
    assert(w.p == out + CKPT_SIZE);
}

/* Version 2's fields after version 1's; 0 when a field does not fit size_t. */
static int decode_v2(reader *r, syn_trainer_state *s)
{
    syn_schedule *sc = &s->train.schedule;
    uint64_t warmup = r_u64(r);
    sc->warmup_start = r_f32(r);
    sc->pct_start = r_f32(r);
    sc->div_factor = r_f32(r);
    sc->final_div_factor = r_f32(r);
    uint64_t patience = r_u64(r);
    sc->factor = r_f32(r);
    sc->threshold = r_f32(r);
    uint64_t cooldown = r_u64(r);
    sc->eps = r_f32(r);
    syn_plateau *p = &s->plateau;
    uint32_t have_best = r_u32(r);
    p->best = r_f64(r);
    uint64_t counts[5];
    for (int i = 0; i < 5; i++)
        counts[i] = r_u64(r);
    s->observed = r_u64(r);
    for (int i = 0; i < 5; i++)
        if (counts[i] > SIZE_MAX)
            return 0;
    if (warmup > SIZE_MAX || patience > SIZE_MAX || cooldown > SIZE_MAX || have_best > 1)
        return 0;
    sc->warmup = (size_t)warmup;
    sc->patience = (size_t)patience;
    sc->cooldown = (size_t)cooldown;
    p->have_best = (int)have_best;
    p->best_epoch = (size_t)counts[0];
    p->since_best = (size_t)counts[1];
    p->since_cut = (size_t)counts[2];
    p->n_cuts = (size_t)counts[3];
    p->cooldown_left = (size_t)counts[4];
    return 1;
}

static syn_status decode_state(const uint8_t *data, size_t size, const char *path,
                               syn_trainer_state *s, syn_error *err)
{
    reader r = {data};
    if (size < 4) {
        syn_set_error(err, "%s: section ckpt: %zu bytes, too short", path, size);
        return SYN_ERR_CORRUPT;
    }
    uint32_t version = r_u32(&r);
    if (version == 0 || version > CKPT_VERSION) {
        syn_set_error(err, "%s: section ckpt: version %u, this library reads 1 to %u", path,
                      (unsigned)version, CKPT_VERSION);
        return SYN_ERR_VERSION;
    }
    size_t want = version == 1 ? CKPT_V1_SIZE : version == 2 ? CKPT_V2_SIZE : CKPT_SIZE;
    if (size != want) {
        syn_set_error(err, "%s: section ckpt: %zu bytes, expected %zu", path, size, want);
        return SYN_ERR_CORRUPT;
    }
    memset(s, 0, sizeof *s);
    s->epochs_done = r_u64(&r);
    s->batches_done = r_u64(&r);
    s->n_rows = r_u64(&r);
    for (int i = 0; i < 4; i++)
        s->rng.s[i] = r_u64(&r);
    s->loss_sum = r_f64(&r);
    s->correct = r_u64(&r);
    s->samples = r_u64(&r);
    s->base_lr = r_f32(&r);
    uint64_t batch = r_u64(&r);
    uint32_t no_shuffle = r_u32(&r);
    s->train.clip_norm = r_f32(&r);
    uint32_t kind = r_u32(&r);
    uint64_t step_size = r_u64(&r);
    s->train.schedule.gamma = r_f32(&r);
    uint64_t t_max = r_u64(&r);
    s->train.schedule.min_lr = r_f32(&r);
    uint32_t threads = r_u32(&r);
    s->train.seed = r_u64(&r);
    int v2_ok = version == 1 || decode_v2(&r, s);
    uint32_t no_cycle = 1;
    if (version >= 3) {
        no_cycle = r_u32(&r);
        s->train.schedule.base_momentum = r_f32(&r);
        s->train.schedule.max_momentum = r_f32(&r);
    }
    s->train.schedule.no_cycle_momentum = (int)no_cycle;
    if (batch > SIZE_MAX || step_size > SIZE_MAX || t_max > SIZE_MAX || no_shuffle > 1 ||
        kind >= SYN_SCHEDULE_COUNT_ || threads > 0x7fffffffu || !v2_ok || no_cycle > 1 ||
        (version == 1 && kind > SYN_SCHEDULE_COSINE) || s->observed > s->epochs_done ||
        (s->plateau.have_best && isnan(s->plateau.best)) ||
        (s->batches_done > 0 && s->n_rows == 0) || s->correct > s->samples) {
        syn_set_error(err, "%s: section ckpt: a field is out of range", path);
        return SYN_ERR_CORRUPT;
    }
    s->train.batch_size = (size_t)batch;
    s->train.no_shuffle = (int)no_shuffle;
    s->train.schedule.kind = (syn_schedule_kind)kind;
    s->train.schedule.step_size = (size_t)step_size;
    s->train.schedule.t_max = (size_t)t_max;
    s->train.n_threads = (int)threads;
    if (syn_schedule_check(&s->train.schedule) != SYN_OK) {
        syn_set_error(err, "%s: section ckpt: the %s schedule's settings are out of range",
                      path, syn_schedule_name(s->train.schedule.kind));
        return SYN_ERR_CORRUPT;
    }
    return SYN_OK;
}

syn_status syn_checkpoint_save(const syn_trainer *tr, const void *user_data, size_t user_size,
                               const char *path, syn_error *err)
{
    if (!tr || !path || !*path || (!user_data && user_size > 0)) {
        syn_set_error(err, "checkpoint: NULL trainer, path or user data");
        return SYN_ERR_INVALID_ARGUMENT;
    }
    syn_trainer_state state;
    syn_status st = syn_trainer_get_state(tr, &state);
    if (st != SYN_OK)
        return st;
    uint8_t ckpt[CKPT_SIZE];
    encode_state(&state, ckpt);
    syn_model_section extras[2] = {{{'c', 'k', 'p', 't'}, ckpt, sizeof ckpt},
                                   {{'u', 's', 'e', 'r'}, user_data, user_size}};
    return syn_model_write(syn_trainer_net_internal(tr), syn_trainer_optimizer_internal(tr),
                           extras, user_size > 0 ? 2 : 1, path, err);
}

/* Copies the user section out, if there is one. */
static syn_status copy_user(const uint8_t *data, size_t size, const char *path,
                            void **user_data, size_t *user_size, syn_error *err)
{
    const uint8_t *payload = NULL;
    size_t payload_size = 0;
    syn_status st = syn_model_find_section(data, size, path, USER_TAG, &payload,
                                           &payload_size, err);
    if (st == SYN_ERR_NOT_FOUND || (st == SYN_OK && payload_size == 0))
        return SYN_OK;
    if (st != SYN_OK)
        return st;
    void *copy = malloc(payload_size);
    if (!copy) {
        syn_set_error(err, "%s: out of memory", path);
        return SYN_ERR_OUT_OF_MEMORY;
    }
    memcpy(copy, payload, payload_size);
    *user_data = copy;
    *user_size = payload_size;
    return SYN_OK;
}

syn_status syn_checkpoint_load(const char *path, syn_net **net, syn_optimizer **opt,
                               syn_trainer_state *state, void **user_data, size_t *user_size,
                               syn_error *err)
{
    if (net)
        *net = NULL;
    if (opt)
        *opt = NULL;
    if (user_data)
        *user_data = NULL;
    if (user_size)
        *user_size = 0;
    if (!path || !net || !opt || !state || !user_data != !user_size) {
        syn_set_error(err, "checkpoint: NULL path or output");
        return SYN_ERR_INVALID_ARGUMENT;
    }
    uint8_t *data = NULL;
    size_t size = 0;
    const uint8_t *payload = NULL;
    size_t payload_size = 0;
    syn_net *n = NULL;
    syn_optimizer *o = NULL;
    void *user = NULL;
    size_t n_user = 0;
    syn_status st = syn_file_read(path, syn_model_head_limit, &data, &size, err);
    if (st == SYN_OK)
        st = syn_model_parse(data, size, path, &n, &o, err);
    if (st == SYN_OK) {
        st = syn_model_find_section(data, size, path, CKPT_TAG, &payload, &payload_size, err);
        if (st == SYN_ERR_NOT_FOUND) {
            syn_set_error(err, "%s: a model file but not a checkpoint (no ckpt section)", path);
            st = SYN_ERR_FORMAT;
        }
    }
    if (st == SYN_OK && !o) {
        syn_set_error(err, "%s: section ckpt without optimizer state (no optm section)", path);
        st = SYN_ERR_CORRUPT;
    }
    if (st == SYN_OK)
        st = decode_state(payload, payload_size, path, state, err);
    if (st == SYN_OK && user_data)
        st = copy_user(data, size, path, &user, &n_user, err);
    free(data);
    if (st != SYN_OK) {
        syn_net_free(n);
        syn_optimizer_free(o);
        return st;
    }
    *net = n;
    *opt = o;
    if (user_data) {
        *user_data = user;
        *user_size = n_user;
    }
    return SYN_OK;
}
