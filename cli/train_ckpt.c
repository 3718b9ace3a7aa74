/* train_ckpt.c - what `synapse train` stores in a checkpoint besides what the
 * library stores (network, optimizer, trainer position): the run's options,
 * a fingerprint of the training data, every finished epoch's results (so
 * --log and --plot after a resume equal those of an uninterrupted run) and
 * the early-stopping state with the best weights. The block is opaque to
 * the library; it is little-endian, floats as their bit patterns, and
 * starts with a magic and a version of its own. */
#include <stdlib.h>
#include <string.h>

#include "train.h"

#define BLOCK_MAGIC "SYNTRAIN"
/* 2 added --tol, --max-epochs, the stopping rule's state and the
 * parameters in standardised target units; 1 is still read. */
#define BLOCK_VERSION 2u
#define NO_STRING 0xffffffffu

int train_progress_push(train_progress *p, const epoch_result *r)
{
    if (p->n_results == p->cap_results) {
        size_t cap = p->cap_results ? 2 * p->cap_results : 16;
        epoch_result *grown = realloc(p->results, cap * sizeof *grown);
        if (!grown)
            return 0;
        p->results = grown;
        p->cap_results = cap;
    }
    p->results[p->n_results++] = *r;
    return 1;
}

void train_progress_free(train_progress *p)
{
    free(p->results);
    memset(p, 0, sizeof *p);
}

/* FNV-1a over 64-bit words of float bits: any changed value changes it. */
static uint64_t hash_floats(uint64_t h, const float *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t bits;
        memcpy(&bits, &v[i], sizeof bits);
        h = (h ^ bits) * 0x100000001b3ull;
    }
    return h;
}

int data_fingerprint_of(const syn_dataset *ds, data_fingerprint *fp)
{
    enum { CHUNK = 256 };
    size_t n = syn_dataset_n_samples(ds), f = syn_dataset_n_features(ds);
    size_t t = syn_dataset_target_width(ds);
    memset(fp, 0, sizeof *fp);
    fp->n_samples = n;
    fp->n_features = f;
    fp->target_width = t;
    fp->n_classes = syn_dataset_n_classes(ds);
    size_t rows[CHUNK];
    float *x = malloc(CHUNK * f * sizeof(float)), *y = malloc(CHUNK * (t ? t : 1) * sizeof(float));
    uint64_t h = 0xcbf29ce484222325ull;
    int ok = x && y;
    for (size_t start = 0; ok && start < n; start += CHUNK) {
        size_t count = n - start < CHUNK ? n - start : CHUNK;
        for (size_t i = 0; i < count; i++)
            rows[i] = start + i;
        ok = syn_dataset_gather(ds, rows, count, x, t ? y : NULL) == SYN_OK;
        h = hash_floats(h, x, count * f);
        if (t)
            h = hash_floats(h, y, count * t);
    }
    fp->hash = h;
    free(x);
    free(y);
    return ok;
}

/* ------------------------------------------------------------- writing */

typedef struct block {
    uint8_t *data;
    size_t len, cap;
    int failed;
} block;

static void put(block *b, const void *src, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n)
            cap *= 2;
        uint8_t *grown = realloc(b->data, cap);
        if (!grown) {
            b->failed = 1;
            return;
        }
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, src, n);
    b->len += n;
}

static void put_u64(block *b, uint64_t v)
{
    uint8_t bytes[8];
    for (int i = 0; i < 8; i++)
        bytes[i] = (uint8_t)(v >> (8 * i));
    put(b, bytes, 8);
}

static void put_u32(block *b, uint32_t v)
{
    uint8_t bytes[4];
    for (int i = 0; i < 4; i++)
        bytes[i] = (uint8_t)(v >> (8 * i));
    put(b, bytes, 4);
}

static void put_f64(block *b, double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    put_u64(b, u);
}

static void put_f32(block *b, float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    put_u32(b, u);
}

static void put_string(block *b, const char *s)
{
    if (!s) {
        put_u32(b, NO_STRING);
        return;
    }
    size_t n = strlen(s);
    put_u32(b, (uint32_t)n);
    put(b, s, n);
}

static void put_result(block *b, const epoch_result *r)
{
    put_u64(b, r->stats.epoch);
    put_u64(b, r->stats.batches);
    put_u64(b, r->stats.samples);
    put_f64(b, r->stats.loss);
    put_f64(b, r->stats.accuracy);
    put_f32(b, r->stats.lr);
    put_f64(b, r->seconds);
    put_f64(b, r->val_loss);
    put_f64(b, r->val_acc);
}

/* The option strings, in the order train_ckpt_strings keeps them. */
static const char **string_field(train_options *o, int i)
{
    const char **fields[10] = {&o->data, &o->labels, &o->target, &o->test_data,
                               &o->test_labels, &o->delimiter, &o->hidden, &o->out,
                               &o->log, &o->plot};
    return fields[i];
}

static void put_floats(block *b, const float *v, size_t n)
{
    put_u64(b, n);
    for (size_t i = 0; i < n; i++)
        put_f32(b, v[i]);
}

static void put_plateau(block *b, const syn_plateau *r)
{
    put_f64(b, r->tol);
    put_u64(b, r->patience);
    put_u64(b, r->lr_patience);
    put_f32(b, r->lr_factor);
    put_u32(b, r->have_best ? 1u : 0u);
    put_f64(b, r->best);
    put_u64(b, r->best_epoch);
    put_u64(b, r->since_best);
    put_u64(b, r->since_cut);
    put_u64(b, r->n_cuts);
}

int train_ckpt_encode(const train_options *o, const train_run *run, const float *trained,
                      size_t n_trained, uint8_t **out, size_t *size)
{
    block b = {NULL, 0, 0, 0};
    train_options copy = *o;
    put(&b, BLOCK_MAGIC, 8);
    put_u32(&b, BLOCK_VERSION);
    for (int i = 0; i < 10; i++)
        put_string(&b, *string_field(&copy, i));
    const int ints[7] = {o->task, o->header, o->scale, o->activation, o->loss, o->optimizer,
                         o->schedule};
    for (int i = 0; i < 7; i++)
        put_u32(&b, (uint32_t)ints[i]);
    put_f64(&b, o->val_split);
    put_f64(&b, o->lr);
    put_f64(&b, o->weight_decay);
    const long longs[5] = {o->batch, o->epochs, o->seed, o->early_stop, o->checkpoint_every};
    for (int i = 0; i < 5; i++)
        put_u64(&b, (uint64_t)longs[i]);
    const data_fingerprint *fp = &run->fingerprint;
    put_u64(&b, fp->n_samples);
    put_u64(&b, fp->n_features);
    put_u64(&b, fp->target_width);
    put_u64(&b, fp->n_classes);
    put_u64(&b, fp->hash);
    const train_progress *p = &run->progress;
    put_u64(&b, p->samples_seen);
    put_u64(&b, p->n_results);
    for (size_t i = 0; i < p->n_results; i++)
        put_result(&b, &p->results[i]);
    put_u32(&b, p->have_best ? 1u : 0u);
    put_result(&b, &p->best);
    put_u64(&b, p->best_epoch);
    size_t n_best = 0;
    const float *best = p->have_best && run->best ? syn_net_params_const(run->best, &n_best)
                                                  : NULL;
    put_floats(&b, best, n_best);
    put_f64(&b, o->tol);
    put_u64(&b, (uint64_t)o->max_epochs);
    put_plateau(&b, &p->plateau);
    put_floats(&b, trained, trained ? n_trained : 0);
    if (b.failed) {
        free(b.data);
        return 0;
    }
    *out = b.data;
    *size = b.len;
    return 1;
}

/* ------------------------------------------------------------- reading */

typedef struct cursor {
    const uint8_t *p;
    size_t left;
    int bad;
} cursor;

static const uint8_t *take(cursor *c, size_t n)
{
    if (c->bad || c->left < n) {
        c->bad = 1;
        return NULL;
    }
    const uint8_t *at = c->p;
    c->p += n;
    c->left -= n;
    return at;
}

static uint64_t get_u64(cursor *c)
{
    const uint8_t *p = take(c, 8);
    uint64_t v = 0;
    for (int i = 0; p && i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static uint32_t get_u32(cursor *c)
{
    const uint8_t *p = take(c, 4);
    uint32_t v = 0;
    for (int i = 0; p && i < 4; i++)
        v |= (uint32_t)p[i] << (8 * i);
    return v;
}

static double get_f64(cursor *c)
{
    uint64_t u = get_u64(c);
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

static float get_f32(cursor *c)
{
    uint32_t u = get_u32(c);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* A malloc'd copy of a stored string; NULL for none (or on failure, with
 * c->bad set). */
static char *get_string(cursor *c)
{
    uint32_t n = get_u32(c);
    if (c->bad || n == NO_STRING)
        return NULL;
    const uint8_t *p = take(c, n);
    char *s = p ? malloc((size_t)n + 1) : NULL;
    if (!s) {
        c->bad = 1;
        return NULL;
    }
    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

static void get_result(cursor *c, epoch_result *r)
{
    r->stats.epoch = (size_t)get_u64(c);
    r->stats.batches = (size_t)get_u64(c);
    r->stats.samples = (size_t)get_u64(c);
    r->stats.loss = get_f64(c);
    r->stats.accuracy = get_f64(c);
    r->stats.lr = get_f32(c);
    r->seconds = get_f64(c);
    r->val_loss = get_f64(c);
    r->val_acc = get_f64(c);
}

/* n floats stored by put_floats into a malloc'd array (NULL for none). */
static int get_floats(cursor *c, float **out, size_t *count)
{
    uint64_t n = get_u64(c);
    if (c->bad || n > c->left / 4 || (n > 0 && !(*out = malloc((size_t)n * 4))))
        return 0;
    *count = (size_t)n;
    for (size_t i = 0; i < *count; i++)
        (*out)[i] = get_f32(c);
    return !c->bad;
}

static void get_plateau(cursor *c, syn_plateau *r)
{
    r->tol = get_f64(c);
    r->patience = (size_t)get_u64(c);
    r->lr_patience = (size_t)get_u64(c);
    r->lr_factor = get_f32(c);
    r->have_best = get_u32(c) != 0;
    r->best = get_f64(c);
    r->best_epoch = (size_t)get_u64(c);
    r->since_best = (size_t)get_u64(c);
    r->since_cut = (size_t)get_u64(c);
    r->n_cuts = (size_t)get_u64(c);
}

/* Bytes one stored epoch result takes. */
#define RESULT_BYTES (3 * 8 + 2 * 8 + 4 + 3 * 8)

int train_ckpt_decode(const uint8_t *data, size_t size, train_ckpt_data *d)
{
    memset(d, 0, sizeof *d);
    cursor c = {data, size, 0};
    const uint8_t *magic = take(&c, 8);
    if (!magic || memcmp(magic, BLOCK_MAGIC, 8) != 0)
        return 0;
    uint32_t version = get_u32(&c);
    if (version < 1 || version > BLOCK_VERSION)
        return 0;
    train_options *o = &d->options;
    for (int i = 0; i < 10; i++)
        *string_field(o, i) = d->strings.s[i] = get_string(&c);
    int *ints[7] = {&o->task, &o->header, &o->scale, &o->activation, &o->loss, &o->optimizer,
                    &o->schedule};
    for (int i = 0; i < 7; i++)
        *ints[i] = (int)(int32_t)get_u32(&c);
    o->val_split = get_f64(&c);
    o->lr = get_f64(&c);
    o->weight_decay = get_f64(&c);
    long *longs[5] = {&o->batch, &o->epochs, &o->seed, &o->early_stop, &o->checkpoint_every};
    for (int i = 0; i < 5; i++)
        *longs[i] = (long)get_u64(&c);
    d->fingerprint.n_samples = get_u64(&c);
    d->fingerprint.n_features = get_u64(&c);
    d->fingerprint.target_width = get_u64(&c);
    d->fingerprint.n_classes = get_u64(&c);
    d->fingerprint.hash = get_u64(&c);
    train_progress *p = &d->progress;
    p->samples_seen = get_u64(&c);
    uint64_t n = get_u64(&c);
    if (c.bad || n > c.left / RESULT_BYTES)
        return train_ckpt_data_free(d), 0;
    for (uint64_t i = 0; i < n; i++) {
        epoch_result r;
        get_result(&c, &r);
        if (!train_progress_push(p, &r))
            return train_ckpt_data_free(d), 0;
    }
    p->have_best = get_u32(&c) != 0;
    get_result(&c, &p->best);
    p->best_epoch = (size_t)get_u64(&c);
    if (!get_floats(&c, &d->best, &d->n_best))
        return train_ckpt_data_free(d), 0;
    if (version == 1) {
        /* Before version 2: --epochs N always, and --early-stop P compared
         * validation losses strictly (tol 0) from the best epoch stored. */
        o->tol = -1.0;
        o->max_epochs = 0;
        p->plateau.patience = o->early_stop > 0 ? (size_t)o->early_stop : 0;
        p->plateau.have_best = p->have_best;
        p->plateau.best = p->best.val_loss;
        p->plateau.best_epoch = p->best_epoch;
        size_t done = p->n_results ? p->results[p->n_results - 1].stats.epoch + 1 : 0;
        p->plateau.since_best = p->have_best ? done - 1 - p->best_epoch : 0;
    } else {
        o->tol = get_f64(&c);
        o->max_epochs = (long)get_u64(&c);
        get_plateau(&c, &p->plateau);
        if (!get_floats(&c, &d->trained, &d->n_trained))
            return train_ckpt_data_free(d), 0;
    }
    if (c.bad || c.left != 0 || !o->data || (version == 1 && !o->hidden))
        return train_ckpt_data_free(d), 0;
    return 1;
}

void train_ckpt_data_free(train_ckpt_data *d)
{
    for (int i = 0; i < 10; i++)
        free(d->strings.s[i]);
    train_progress_free(&d->progress);
    free(d->best);
    free(d->trained);
    memset(d, 0, sizeof *d);
}
