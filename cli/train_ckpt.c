/* train_ckpt.c - what `synapse train` stores in a checkpoint besides what the
 * library stores (network, optimizer, trainer position): the run's options
 * (by name, each row of train_option_rows marked as stored), a fingerprint of the training data, every finished epoch's results (so
 * --log and --plot after a resume equal those of an uninterrupted run) and
 * the early-stopping state with the best weights. The block is opaque to
 * the library; it is little-endian, floats as their bit patterns, and
 * starts with a magic and a version of its own. Like every file, a
 * checkpoint is hostile until checked (its CRCs prove nothing: anyone can
 * recompute them), so decoding checks every option as the parser would and
 * the progress against itself before the command uses any of it. Version 1
 * blocks (options in a fixed order) still read, through the same checks. */
#include <stdlib.h>
#include <string.h>

#include "train.h"

#define BLOCK_MAGIC "SYNTRAIN"
/* 3 added the stopping rule's state (syn_plateau) and a regression's
 * parameters in standardised target units; 1 and 2 still read. */
#define BLOCK_VERSION 3u
/* An option name longer than this is not one of ours. */
#define MAX_NAME 64u
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

static int stored(const train_option_row *r)
{
    return r->resume != OPT_LOCAL;
}

/* A string option that was not given is left out: reading it back gives
 * the same NULL, and a checkpoint whose newer options (--report) are unset
 * still resumes in the synapse before them, which refuses names it does
 * not know. */
static int stored_value(const train_option_row *r, const train_options *o)
{
    return stored(r) &&
           !(r->kind == CLI_STRING && !*(const char *const *)((const char *)o + r->offset));
}

/* Each stored option as its name, its kind and its value; a choice as the
 * chosen word (or none for a sentinel default), so that neither a new row
 * nor a new choice moves what an older checkpoint means. */
static void put_options(block *b, const train_options *o)
{
    uint32_t n = 0;
    for (size_t i = 0; i < n_train_option_rows; i++)
        n += stored_value(&train_option_rows[i], o);
    put_u32(b, n);
    for (size_t i = 0; i < n_train_option_rows; i++) {
        const train_option_row *r = &train_option_rows[i];
        const void *at = (const char *)o + r->offset;
        if (!stored_value(r, o))
            continue;
        put_string(b, r->name);
        uint8_t kind = (uint8_t)r->kind;
        put(b, &kind, 1);
        switch (r->kind) {
        case CLI_STRING: put_string(b, *(const char *const *)at); break;
        case CLI_LONG: put_u64(b, (uint64_t)*(const long *)at); break;
        case CLI_DOUBLE: put_f64(b, *(const double *)at); break;
        case CLI_FLAG: put_u32(b, (uint32_t)*(const int *)at); break;
        case CLI_CHOICE: {
            int v = *(const int *)at;
            put_string(b, v >= 0 ? r->choices[v] : NULL);
            break;
        }
        }
    }
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
    put(&b, BLOCK_MAGIC, 8);
    put_u32(&b, BLOCK_VERSION);
    put_options(&b, o);
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

/* n floats stored by put_floats into a malloc'd array (NULL for none);
 * returns 0 when cut short or out of memory. */
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

/* Before version 3 only --early-stop P stopped a run, on validation losses
 * compared strictly: its counters follow from the best epoch recorded. */
static void plateau_from_progress(train_progress *p)
{
    syn_plateau *r = &p->plateau;
    memset(r, 0, sizeof *r);
    r->have_best = p->have_best;
    r->best = p->best.val_loss;
    r->best_epoch = p->best_epoch;
    r->since_best = p->have_best ? p->n_results - 1 - p->best_epoch : 0;
    r->since_cut = r->since_best;
}

/* Bytes one stored epoch result takes. */
#define RESULT_BYTES (3 * 8 + 2 * 8 + 4 + 3 * 8)

/* Fails the decode with a reason; returns 0. */
static int fail(train_ckpt_data *d, const char *fmt, const char *arg)
{
    char why[sizeof d->error];
    snprintf(why, sizeof why, fmt, arg);
    train_ckpt_data_free(d);
    memcpy(d->error, why, sizeof why);
    return 0;
}

/* Reads one value of r's kind into o (strings into d->strings); version 1
 * stored choices as indices, version 2 as words. Returns 0 with d->error
 * set on a malformed value. */
static int get_value(cursor *c, uint32_t version, const train_option_row *r,
                     train_ckpt_data *d)
{
    train_options *o = &d->options;
    void *at = (char *)o + r->offset;
    size_t slot = (size_t)(r - train_option_rows);
    char *text = NULL;
    switch (r->kind) {
    case CLI_STRING: {
        size_t before = c->left;
        free(d->strings.s[slot]);
        text = d->strings.s[slot] = get_string(c);
        *(const char **)at = text;
        if (text && strlen(text) != before - c->left - 4) {
            snprintf(d->error, sizeof d->error, "its %s holds a NUL byte", r->name);
            return 0;
        }
        return 1;
    }
    case CLI_LONG: *(long *)at = (long)(int64_t)get_u64(c); return 1;
    case CLI_DOUBLE: *(double *)at = get_f64(c); return 1;
    case CLI_FLAG: *(int *)at = (int)(int32_t)get_u32(c); return 1;
    case CLI_CHOICE:
        if (version == 1) {
            *(int *)at = (int)(int32_t)get_u32(c);
            /* Version 1's --activation indices were of its own list; the
             * list is now the library's names by enum value. */
            if (!strcmp(r->name, "--activation")) {
                static const syn_activation v1_activations[] = {
                    SYN_ACT_SIGMOID, SYN_ACT_TANH, SYN_ACT_RELU, SYN_ACT_LEAKY_RELU,
                    SYN_ACT_LINEAR};
                int v = *(int *)at;
                if (v < 0 || v >= (int)(sizeof v1_activations / sizeof v1_activations[0])) {
                    snprintf(d->error, sizeof d->error, "its --activation %d is out of range",
                             v);
                    return 0;
                }
                *(int *)at = (int)v1_activations[v];
            }
            return 1;
        }
        text = get_string(c);
        if (c->bad)
            return 1;
        *(int *)at = -1;
        for (int k = 0; text && r->choices[k]; k++)
            if (!strcmp(r->choices[k], text))
                *(int *)at = k;
        if (text && *(int *)at < 0) {
            snprintf(d->error, sizeof d->error, "%s '%.64s' is not one of its choices",
                     r->name, text);
            free(text);
            return 0;
        }
        free(text);
        return 1;
    }
    return 0;
}

/* Version 1: the options in a fixed order, by kind. */
static const char *const v1_order[] = {
    "--data", "--labels", "--target", "--test-data", "--test-labels", "--delimiter",
    "--hidden", "--out", "--log", "--plot", "--task", "--header", "--scale", "--activation",
    "--loss", "--optimizer", "--schedule", "--val-split", "--lr", "--weight-decay", "--batch",
    "--epochs", "--seed", "--early-stop", "--checkpoint-every"};

static int get_options(cursor *c, uint32_t version, train_ckpt_data *d)
{
    train_options_defaults(&d->options);
    d->strings.s = calloc(n_train_option_rows, sizeof *d->strings.s);
    if (!d->strings.s) {
        snprintf(d->error, sizeof d->error, "out of memory");
        return 0;
    }
    if (version == 1) {
        for (size_t i = 0; i < sizeof v1_order / sizeof v1_order[0] && !c->bad; i++)
            if (!get_value(c, 1, train_option_find(v1_order[i]), d))
                return 0;
        return 1;
    }
    uint32_t n = get_u32(c);
    unsigned char *seen = calloc(n_train_option_rows, 1);
    if (!seen) {
        snprintf(d->error, sizeof d->error, "out of memory");
        return 0;
    }
    int ok = 1;
    for (uint32_t i = 0; ok && i < n && !c->bad; i++) {
        uint32_t len = get_u32(c);
        const uint8_t *name = len <= MAX_NAME ? take(c, len) : NULL;
        if (c->bad || !name) {
            c->bad = 1;
            break;
        }
        char key[MAX_NAME + 1];
        memcpy(key, name, len);
        key[len] = '\0';
        const train_option_row *r = train_option_find(key);
        const uint8_t *kind = take(c, 1);
        if (!r || !stored(r) || memchr(key, '\0', len)) {
            /* An option of a newer synapse would change the run. */
            snprintf(d->error, sizeof d->error, "it stores an option '%.64s' that this "
                     "version of synapse train does not know", key);
            ok = 0;
        } else if (seen[r - train_option_rows]++) {
            snprintf(d->error, sizeof d->error, "it stores %s twice", r->name);
            ok = 0;
        } else if (kind && *kind != (uint8_t)r->kind) {
            snprintf(d->error, sizeof d->error, "it stores %s as a value of kind %u, not %u",
                     r->name, *kind, (unsigned)r->kind);
            ok = 0;
        } else if (kind) {
            ok = get_value(c, version, r, d);
        }
    }
    const train_option_row *shards = train_option_find("--shards");
    d->has_shards = shards && seen[shards - train_option_rows];
    free(seen);
    return ok;
}

/* Every option as the parser would have checked it; strings must hold no
 * NUL (get_string keeps the stored length). */
static int check_options(train_ckpt_data *d)
{
    for (size_t i = 0; i < n_train_option_rows; i++) {
        const train_option_row *r = &train_option_rows[i];
        if (!train_option_valid(r, &d->options, d->error, sizeof d->error))
            return 0;
    }
    /* Before version 3 --hidden had a default of its own ("128"), stored. */
    if (!d->options.data || (d->version < 3 && !d->options.hidden)) {
        snprintf(d->error, sizeof d->error, "it stores no %s",
                 d->options.data ? "--hidden" : "--data");
        return 0;
    }
    return 1;
}

/* The progress must be what a run writes: epochs in order, one result
 * each, the best epoch among them. */
static int check_progress(train_ckpt_data *d)
{
    const train_progress *p = &d->progress;
    for (size_t i = 0; i < p->n_results; i++)
        if (p->results[i].stats.epoch != i) {
            snprintf(d->error, sizeof d->error, "its epoch results are out of order (result "
                     "%zu is of epoch %zu)", i, p->results[i].stats.epoch);
            return 0;
        }
    int stopping = d->options.early_stop || !d->options.epochs;
    if (p->have_best && (p->best_epoch >= p->n_results || !stopping)) {
        snprintf(d->error, sizeof d->error, "its best epoch %zu is not one of its %zu "
                 "epochs", p->best_epoch, p->n_results);
        return 0;
    }
    const syn_plateau *r = &p->plateau;
    if ((r->have_best && r->best_epoch >= p->n_results) || r->since_best > p->n_results ||
        r->since_cut > p->n_results || r->n_cuts > p->n_results) {
        snprintf(d->error, sizeof d->error, "its stopping rule's counters do not fit its %zu "
                 "epochs", p->n_results);
        return 0;
    }
    if (!p->have_best && d->n_best) {
        snprintf(d->error, sizeof d->error, "it stores best weights without a best epoch");
        return 0;
    }
    return 1;
}

int train_ckpt_decode(const uint8_t *data, size_t size, train_ckpt_data *d)
{
    memset(d, 0, sizeof *d);
    cursor c = {data, size, 0};
    const uint8_t *magic = take(&c, 8);
    if (!magic || memcmp(magic, BLOCK_MAGIC, 8) != 0)
        return fail(d, "%s", "its block does not start with " BLOCK_MAGIC);
    uint32_t version = get_u32(&c);
    if (c.bad || version == 0 || version > BLOCK_VERSION) {
        char v[32];
        snprintf(v, sizeof v, "%u", (unsigned)version);
        return fail(d, "its block has version %s; this synapse reads 1 to 3", v);
    }
    if (!get_options(&c, version, d)) {
        char why[sizeof d->error];
        memcpy(why, d->error, sizeof why);
        return fail(d, "%s", c.bad ? "the block is cut short" : why);
    }
    d->fingerprint.n_samples = get_u64(&c);
    d->fingerprint.n_features = get_u64(&c);
    d->fingerprint.target_width = get_u64(&c);
    d->fingerprint.n_classes = get_u64(&c);
    d->fingerprint.hash = get_u64(&c);
    train_progress *p = &d->progress;
    p->samples_seen = get_u64(&c);
    uint64_t n = get_u64(&c);
    if (c.bad || n > c.left / RESULT_BYTES)
        return fail(d, "%s", "the block is cut short");
    for (uint64_t i = 0; i < n; i++) {
        epoch_result r;
        get_result(&c, &r);
        if (!train_progress_push(p, &r))
            return fail(d, "%s", "out of memory");
    }
    uint32_t have_best = get_u32(&c);
    p->have_best = have_best != 0;
    get_result(&c, &p->best);
    p->best_epoch = (size_t)get_u64(&c);
    if (!get_floats(&c, &d->best, &d->n_best))
        return fail(d, "%s", c.bad ? "the block is cut short" : "out of memory");
    d->version = version;
    if (version < 3) {
        if (p->have_best && p->best_epoch < p->n_results)
            plateau_from_progress(p);
    } else {
        get_plateau(&c, &p->plateau);
        if (!get_floats(&c, &d->trained, &d->n_trained))
            return fail(d, "%s", c.bad ? "the block is cut short" : "out of memory");
    }
    if (c.bad || c.left != 0)
        return fail(d, "%s", c.bad ? "the block is cut short" : "bytes follow the block");
    if (have_best > 1)
        return fail(d, "%s", "its early-stopping flag is neither 0 nor 1");
    char why[sizeof d->error];
    if (!check_options(d) || !check_progress(d)) {
        memcpy(why, d->error, sizeof why);
        return fail(d, "%s", why);
    }
    return 1;
}

void train_ckpt_data_free(train_ckpt_data *d)
{
    for (size_t i = 0; d->strings.s && i < n_train_option_rows; i++)
        free(d->strings.s[i]);
    free(d->strings.s);
    train_progress_free(&d->progress);
    free(d->best);
    free(d->trained);
    memset(d, 0, sizeof *d);
}
