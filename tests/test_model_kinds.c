/* test_model_kinds.c - model files of networks with dropout, batch-norm
 * and layer-norm layers (format version 2): bit-exact round trips of
 * parameters, attributes and running statistics, predictions unchanged
 * after a load, a dense network still written as version 1, and hostile
 * files: every new field spoiled (with valid CRCs) is refused with a
 * message naming the layer and the field. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "f32_io.h"
#include "io/crc32.h"
#include "io/model_file.h"
#include "synapse.h"

#define N_IN 5
#define ROWS 16

static const syn_layer_desc layers[] = {
    {.units = 6, .activation = SYN_ACT_RELU},
    {.kind = SYN_LAYER_BATCHNORM, .activation = SYN_ACT_TANH, .momentum = 0.25f},
    {.kind = SYN_LAYER_DROPOUT, .rate = 0.375f},
    {.units = 4},
    {.kind = SYN_LAYER_LAYERNORM, .eps = 1e-3f, .activation = SYN_ACT_SIGMOID},
    {.units = 3, .activation = SYN_ACT_SOFTMAX},
};
#define N_LAYERS (sizeof layers / sizeof layers[0])

/* A trained-looking net: a few training passes move the running
 * statistics, and gamma/beta get values of their own. */
static syn_net *make_net(float *x)
{
    syn_net_desc desc = {.n_inputs = N_IN, .n_layers = N_LAYERS, .layers = layers,
                         .loss = SYN_LOSS_CROSS_ENTROPY, .seed = 5};
    syn_net *net = NULL;
    syn_workspace *ws = NULL;
    CHECK_OK(syn_net_create(&desc, &net));
    CHECK_OK(syn_workspace_create(net, ROWS, &ws));
    syn_rng rng;
    syn_rng_seed(&rng, 8);
    for (size_t i = 0; i < ROWS * N_IN; i++)
        x[i] = (float)(4.0 * syn_rng_uniform(&rng) - 1.0);
    size_t n;
    float *p = syn_net_params(net, &n);
    for (size_t i = 0; i < n; i++)
        p[i] += (float)(0.1 * syn_rng_uniform(&rng));
    for (uint64_t step = 0; step < 3; step++)
        CHECK_OK(syn_forward_train(net, ws, x, ROWS, 1, step, NULL));
    syn_workspace_free(ws);
    return net;
}

static void predict(const syn_net *net, const float *x, float *out)
{
    syn_workspace *ws = NULL;
    const float *y;
    CHECK_OK(syn_workspace_create(net, ROWS, &ws));
    CHECK_OK(syn_forward(net, ws, x, ROWS, &y));
    if (y)
        memcpy(out, y, ROWS * 3 * sizeof(float));
    syn_workspace_free(ws);
}

static void test_round_trip(void)
{
    float x[ROWS * N_IN], want[ROWS * 3], got[ROWS * 3];
    syn_net *net = make_net(x);
    uint8_t *img = NULL;
    size_t size = 0;
    syn_error err = {{0}};
    CHECK_OK(syn_model_serialize(net, NULL, NULL, 0, &img, &size, &err));
    CHECK(img && img[8] == 2 && img[9] == 0, "a network with other kinds is version 2");
    syn_net *back = NULL;
    CHECK(syn_model_parse(img, size, "rt", &back, NULL, &err) == SYN_OK, "parse: %s",
          err.message);
    if (back) {
        size_t n1, n2, s1, s2;
        const float *p1 = syn_net_params_const(net, &n1), *p2 = syn_net_params_const(back, &n2);
        float *st1 = syn_net_state(net, &s1), *st2 = syn_net_state(back, &s2);
        CHECK(n1 == n2 && !memcmp(p1, p2, n1 * sizeof(float)), "parameters bit for bit");
        CHECK(s1 == s2 && s1 == 2 * 6 && !memcmp(st1, st2, s1 * sizeof(float)),
              "running statistics bit for bit");
        for (size_t l = 0; l < N_LAYERS; l++) {
            syn_layer_desc a, b;
            syn_net_layer(net, l, &a, NULL);
            syn_net_layer(back, l, &b, NULL);
            CHECK(a.kind == b.kind && a.units == b.units && a.activation == b.activation &&
                      a.rate == b.rate && a.eps == b.eps && a.momentum == b.momentum &&
                      a.no_bias == b.no_bias,
                  "layer %zu described the same", l);
        }
        syn_layer_desc d;
        syn_net_layer(back, 1, &d, NULL);
        CHECK(d.momentum == 0.25f && d.eps == 1e-5f, "BN attributes (effective values)");
        syn_net_layer(back, 2, &d, NULL);
        CHECK(d.rate == 0.375f, "dropout rate");
        predict(net, x, want);
        predict(back, x, got);
        CHECK(!memcmp(want, got, sizeof want), "predictions bit for bit after a load");
        uint8_t *again = NULL;
        size_t again_size = 0;
        CHECK_OK(syn_model_serialize(back, NULL, NULL, 0, &again, &again_size, NULL));
        CHECK(again_size == size && !memcmp(again, img, size), "written again: same bytes");
        free(again);
    }
    syn_net_free(back);
    free(img);
    syn_net_free(net);

    /* Dense only: still version 1, which every earlier library reads. */
    syn_layer_desc dense[2] = {{.units = 3, .activation = SYN_ACT_TANH}, {.units = 1}};
    syn_net_desc desc = {.n_inputs = 2, .n_layers = 2, .layers = dense};
    CHECK_OK(syn_net_create(&desc, &net));
    CHECK_OK(syn_model_serialize(net, NULL, NULL, 0, &img, &size, NULL));
    CHECK(img && img[8] == 1, "dense network: version 1");
    free(img);
    syn_net_free(net);
}

/* ---- hostile files --------------------------------------------------- */

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void wr32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void wrf(uint8_t *p, float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    wr32(p, u);
}

/* Valid CRCs again after an edit, so the content checks are what fail. */
static void reseal(uint8_t *img, size_t size)
{
    wr32(img + 24, syn_crc32(0, img, 24));
    wr32(img + size - 4, syn_crc32(0, img, size - 4));
}

/* Offset of the payload of section tag. */
static size_t find(const uint8_t *img, size_t size, const char *tag)
{
    for (size_t pos = 28; pos + 12 <= size - 4;) {
        uint64_t len = rd32(img + pos + 4) | (uint64_t)rd32(img + pos + 8) << 32;
        if (!memcmp(img + pos, tag, 4))
            return pos + 12;
        pos += 12 + (size_t)len;
    }
    return 0;
}

/* Offset of layer l's record in ARCH (version 2 records). */
static size_t layer_at(const uint8_t *img, size_t size, size_t l)
{
    size_t pos = find(img, size, "ARCH") + 20;
    for (size_t k = 0; k < l; k++)
        pos += 28 + 4 * (size_t)rd32(img + pos + 24);
    return pos;
}

typedef void (*spoil_fn)(uint8_t *img, size_t size);

static void expect_refused(const uint8_t *good, size_t size, spoil_fn spoil, const char *needle)
{
    uint8_t *img = malloc(size);
    if (!img)
        return;
    memcpy(img, good, size);
    spoil(img, size);
    reseal(img, size);
    syn_net *net = NULL;
    syn_error err = {{0}};
    syn_status st = syn_model_parse(img, size, "hostile", &net, NULL, &err);
    CHECK(st == SYN_ERR_CORRUPT && !net, "refused (%s): status %d", needle, (int)st);
    CHECK(strstr(err.message, needle) != NULL, "\"%s\" names \"%s\"", err.message, needle);
    syn_net_free(net);
    free(img);
}

static void kind_unknown(uint8_t *img, size_t size)
{
    wr32(img + layer_at(img, size, 2) + 20, SYN_LAYER_COUNT_);
}
static void kind_swapped(uint8_t *img, size_t size)
{
    /* Dropout's record read as a layer norm: one attribute either way,
     * but layer norm's eps 0.375 passes, and the PARM count then fails. */
    wr32(img + layer_at(img, size, 2) + 20, SYN_LAYER_LAYERNORM);
}
static void attrs_too_many(uint8_t *img, size_t size)
{
    wr32(img + layer_at(img, size, 1) + 24, 1000);
}
static void attrs_count(uint8_t *img, size_t size)
{
    /* BN with one attribute: the next 4 bytes are taken as the layer's. */
    wr32(img + layer_at(img, size, 1) + 24, 1);
}
static void rate_bad(uint8_t *img, size_t size)
{
    wrf(img + layer_at(img, size, 2) + 28, 1.5f);
}
static void rate_nan(uint8_t *img, size_t size)
{
    wrf(img + layer_at(img, size, 2) + 28, NAN);
}
static void eps_nan(uint8_t *img, size_t size)
{
    wrf(img + layer_at(img, size, 1) + 28, NAN);
}
static void momentum_big(uint8_t *img, size_t size)
{
    wrf(img + layer_at(img, size, 1) + 32, 2.0f);
}
static void ln_eps_zero(uint8_t *img, size_t size)
{
    wrf(img + layer_at(img, size, 4) + 28, 0.0f);
}
static void width_bad(uint8_t *img, size_t size)
{
    wr32(img + layer_at(img, size, 4), 5); /* layer norm of 4 inputs claims 5 */
}
static void dropout_act(uint8_t *img, size_t size)
{
    wr32(img + layer_at(img, size, 2) + 8, SYN_ACT_RELU);
}
static void stat_count(uint8_t *img, size_t size)
{
    wr32(img + find(img, size, "STAT"), 11);
}
static void stat_nan(uint8_t *img, size_t size)
{
    wrf(img + find(img, size, "STAT") + 8 + 4 * 3, NAN);
}
static void stat_negative_var(uint8_t *img, size_t size)
{
    wrf(img + find(img, size, "STAT") + 8 + 4 * 7, -1.0f);
}
static void stat_renamed(uint8_t *img, size_t size)
{
    memcpy(img + find(img, size, "STAT") - 12, "stat", 4); /* now optional: skipped */
}

static void test_hostile(void)
{
    float x[ROWS * N_IN];
    syn_net *net = make_net(x);
    uint8_t *img = NULL;
    size_t size = 0;
    CHECK_OK(syn_model_serialize(net, NULL, NULL, 0, &img, &size, NULL));
    syn_net_free(net);
    if (!img)
        return;
    char unknown[64];
    snprintf(unknown, sizeof unknown, "layer 2: unknown kind %u", (unsigned)SYN_LAYER_COUNT_);
    expect_refused(img, size, kind_unknown, unknown);
    expect_refused(img, size, kind_swapped, "section PARM holds");
    expect_refused(img, size, attrs_too_many, "layer 1 (batchnorm): 1000 attributes");
    expect_refused(img, size, attrs_count, "layer 1 (batchnorm): 1 attributes, this kind has 2");
    expect_refused(img, size, rate_bad, "layer 2 (dropout): rate 1.5 is not in [0, 1)");
    expect_refused(img, size, rate_nan, "layer 2 (dropout): rate nan");
    expect_refused(img, size, eps_nan, "layer 1 (batchnorm): eps nan");
    expect_refused(img, size, momentum_big, "layer 1 (batchnorm): momentum 2 is not in (0, 1]");
    expect_refused(img, size, ln_eps_zero, "layer 4 (layernorm): eps 0 must be > 0");
    expect_refused(img, size, width_bad, "layer 4 (layernorm): units 5");
    expect_refused(img, size, dropout_act, "layer 2 (dropout): a dropout layer takes only");
    expect_refused(img, size, stat_count, "section STAT holds 11 values, the architecture "
                                          "needs 12");
    expect_refused(img, size, stat_nan, "section STAT: layer 1 (batchnorm): unit 3");
    expect_refused(img, size, stat_negative_var, "section STAT: layer 1 (batchnorm): unit 1");
    expect_refused(img, size, stat_renamed, "section STAT is missing");
    /* Every truncation of the file and every single-byte change: an error,
     * never a crash (the CRC catches these; resealed, the content checks). */
    size_t refused = 0;
    for (size_t i = 28; i < size - 4; i++) {
        uint8_t *copy = malloc(size);
        memcpy(copy, img, size);
        copy[i] ^= 0x5a;
        reseal(copy, size);
        syn_net *n = NULL;
        syn_status st = syn_model_parse(copy, size, "flip", &n, NULL, NULL);
        refused += st != SYN_OK;
        CHECK(st == SYN_OK || st == SYN_ERR_CORRUPT || st == SYN_ERR_VERSION,
              "byte %zu: status %d", i, (int)st);
        syn_net_free(n);
        free(copy);
    }
    printf("resealed single-byte changes refused: %zu of %zu\n", refused, size - 32);
    free(img);
}

/* ---- a checkpoint mid-epoch resumes bit for bit ---------------------- */

#define RES_ROWS 61 /* batches of 8: a last batch of 5 */
#define EPOCHS 3

typedef struct stop_at {
    syn_trainer *tr;
    const char *path;
    size_t seen, after;
    int saved;
} stop_at;

static int on_batch(void *user, const syn_batch_report *r)
{
    stop_at *s = user;
    (void)r;
    if (++s->seen != s->after)
        return 0;
    syn_error err = {{0}};
    CHECK(syn_checkpoint_save(s->tr, NULL, 0, s->path, &err) == SYN_OK, "save: %s",
          err.message);
    s->saved = 1;
    return 1;
}

static syn_net *train(syn_dataset *ds, const char *path, size_t stop_after)
{
    syn_net_desc desc = {.n_inputs = N_IN, .n_layers = N_LAYERS, .layers = layers,
                         .loss = SYN_LOSS_CROSS_ENTROPY, .seed = 3};
    syn_net *net = NULL;
    syn_trainer *tr = NULL;
    syn_optim_desc od = syn_optim_defaults(SYN_OPTIM_ADAM);
    syn_train_desc td = {.batch_size = 8, .seed = 99, .n_threads = 1};
    CHECK_OK(syn_net_create(&desc, &net));
    CHECK_OK(syn_trainer_create(net, &od, &td, &tr));
    stop_at s = {tr, path, 0, stop_after, 0};
    while (tr && syn_trainer_epochs_done(tr) < EPOCHS && !s.saved)
        CHECK_OK(syn_trainer_epoch(tr, ds, NULL, 0, stop_after ? on_batch : NULL, &s, NULL));
    syn_trainer_free(tr);
    if (!stop_after)
        return net;
    syn_net_free(net);
    /* Resume from the file into a fresh trainer, as a new process would. */
    syn_optimizer *opt = NULL;
    syn_trainer_state state;
    syn_error err = {{0}};
    net = NULL;
    CHECK(syn_checkpoint_load(path, &net, &opt, &state, NULL, NULL, &err) == SYN_OK,
          "load: %s", err.message);
    if (!net)
        return NULL;
    od = syn_optimizer_desc(opt);
    od.lr = state.base_lr;
    CHECK_OK(syn_trainer_create(net, &od, &state.train, &tr));
    CHECK_OK(syn_trainer_restore(tr, &state, opt));
    while (tr && syn_trainer_epochs_done(tr) < EPOCHS)
        CHECK_OK(syn_trainer_epoch(tr, ds, NULL, 0, NULL, NULL, NULL));
    syn_trainer_free(tr);
    syn_optimizer_free(opt);
    return net;
}

static void test_resume(void)
{
    char dir[] = "/tmp/syn_kinds_XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK(0, "mkdtemp");
        return;
    }
    char path[64];
    snprintf(path, sizeof path, "%s/run.ckpt", dir);
    float x[RES_ROWS * N_IN];
    uint32_t labels[RES_ROWS];
    syn_rng rng;
    syn_rng_seed(&rng, 4);
    for (size_t i = 0; i < RES_ROWS * N_IN; i++)
        x[i] = (float)(2.0 * syn_rng_uniform(&rng) - 1.0);
    for (size_t r = 0; r < RES_ROWS; r++)
        labels[r] = (uint32_t)syn_rng_below(&rng, 3);
    syn_dataset *ds = NULL;
    CHECK_OK(syn_dataset_from_labels(x, RES_ROWS, N_IN, labels, 3, &ds));
    syn_net *whole = train(ds, path, 0), *resumed = train(ds, path, 11); /* epoch 1, batch 3 */
    if (whole && resumed) {
        size_t n, m, sn, sm;
        const float *a = syn_net_params_const(whole, &n), *b = syn_net_params_const(resumed, &m);
        float *sa = syn_net_state(whole, &sn), *sb = syn_net_state(resumed, &sm);
        CHECK(n == m && !memcmp(a, b, n * sizeof(float)),
              "resumed run ends on the same parameters (dropout masks, Adam)");
        CHECK(sn == sm && !memcmp(sa, sb, sn * sizeof(float)),
              "and the same running statistics");
    }
    syn_net_free(whole);
    syn_net_free(resumed);
    syn_dataset_free(ds);
    unlink(path);
    rmdir(dir);
}

/* ---- a committed version-2 file keeps loading and predicting ---------- */

#define FIXTURE SYN_TEST_DIR "/fixtures/model/v2_kinds"

/* `test_model_kinds --write-fixture` wrote tests/fixtures/model/v2_kinds.syn
 * and its predictions (v2_kinds.out.f32) with the code of format version 2;
 * every later version must keep reading them. */
static int write_fixture(void)
{
    float x[ROWS * N_IN], y[ROWS * 3];
    syn_net *net = make_net(x);
    predict(net, x, y);
    syn_error err = {{0}};
    int ok = syn_net_save(net, NULL, FIXTURE ".syn", &err) == SYN_OK &&
             write_f32(FIXTURE ".out.f32", y, ROWS * 3);
    if (!ok)
        fprintf(stderr, "write_fixture: %s\n", err.message);
    syn_net_free(net);
    return ok ? 0 : 1;
}

static void test_v2_fixture(void)
{
    float x[ROWS * N_IN], want[ROWS * 3], got[ROWS * 3];
    syn_net *fresh = make_net(x); /* the inputs the fixture was written with */
    syn_net_free(fresh);
    syn_net *net = NULL;
    syn_error err = {{0}};
    CHECK(syn_net_load(FIXTURE ".syn", &net, NULL, &err) == SYN_OK, "v2 fixture: %s",
          err.message);
    CHECK(read_f32(FIXTURE ".out.f32", want, ROWS * 3), "v2 fixture predictions");
    if (!net)
        return;
    predict(net, x, got);
    /* Bits on the machine that wrote it; elsewhere the kernels' FMA
     * rounding may differ (docs/ARCHITECTURE.md), hence 1e-5. */
    int same = !memcmp(got, want, sizeof got);
    double worst = 0;
    for (size_t i = 0; i < ROWS * 3; i++)
        worst = fmax(worst, fabs((double)got[i] - want[i]) / (fabs(want[i]) + 1e-6));
    CHECK(worst <= 1e-5, "v2 fixture predicts as written (worst relative %g)", worst);
    printf("v2 fixture: predictions %s\n", same ? "bit for bit" : "within 1e-5");
    syn_net_free(net);
}

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "--write-fixture"))
        return write_fixture();
    test_v2_fixture();
    test_round_trip();
    test_hostile();
    test_resume();
    return check_finish();
}
