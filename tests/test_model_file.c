/* test_model_file.c - the .syn model file: CRC-32, bit-exact round trips of
 * networks and optimizer state, every corrupted byte and every truncation,
 * versions and unknown sections, hostile content with valid checksums,
 * atomic saves that fail without harming the previous file, and the
 * committed v1 reference file.
 *
 * `test_model_file --write-fixtures DIR` rewrites tests/fixtures/model/
 * v1_reference.syn; it is never needed again (dense networks are still
 * written as version 1, and every later version keeps reading the file). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "io/crc32.h"
#include "io/file.h"
#include "io/model_file.h"
#include "synapse.h"

#define FIXTURE_DIR SYN_TEST_DIR "/fixtures/model"

static char tmp_root[256];

/* A path inside the test's private temporary directory. */
static const char *tmp_path(char *buf, size_t cap, const char *name)
{
    snprintf(buf, cap, "%s/%s", tmp_root, name);
    return buf;
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Recomputes the total size and both CRCs after a test edited an image,
 * so the parser gets past the checksums to the content. */
static void reseal(uint8_t *img, size_t size)
{
    put64(img + 16, size);
    put32(img + 24, syn_crc32(0, img, 24));
    put32(img + size - 4, syn_crc32(0, img, size - 4));
}

static int write_bytes(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    int ok = fwrite(data, 1, size, f) == size;
    return fclose(f) == 0 && ok;
}

static int same_bits(double a, double b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

static void fill_random(float *x, size_t n, uint64_t seed)
{
    syn_rng rng;
    syn_rng_seed(&rng, seed);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(2.0 * syn_rng_uniform(&rng) - 1.0);
}

static syn_net *make_net(size_t n_inputs, const syn_layer_desc *layers, size_t n_layers,
                         syn_loss loss, syn_reduction reduction, uint64_t seed)
{
    syn_net_desc d = {n_inputs, n_layers, layers, loss, reduction, SYN_INIT_AUTO, seed, {0, 0, 0}};
    syn_net *net = NULL;
    CHECK_OK(syn_net_create(&d, &net));
    if (!net)
        return NULL;
    /* Non-zero biases, so their round trip is visible. */
    size_t count;
    float *p = syn_net_params(net, &count);
    fill_random(p, count, seed ^ 0x5eedu);
    return net;
}

/* Scaling, class names and metadata, so everything a file holds is set. */
static void decorate(syn_net *net, uint64_t seed)
{
    size_t n = syn_net_n_inputs(net);
    float offset[16], scale[16];
    fill_random(offset, n, seed + 1);
    fill_random(scale, n, seed + 2);
    CHECK_OK(syn_net_set_input_scaling(net, offset, scale));
    const char *names[] = {"cat", "dog", "", "caf\xc3\xa9 au lait", "x,y \"quoted\""};
    CHECK_OK(syn_net_set_class_names(net, names, 5));
    syn_train_meta m;
    memset(&m, 0, sizeof m);
    m.epochs = 17;
    m.seed = seed;
    m.samples_seen = 123456789012ull;
    m.train_loss = 0.1;
    m.train_accuracy = 0.9375;
    m.val_loss = NAN;
    m.val_accuracy = -0.0;
    strcpy(m.library_version, syn_version());
    strcpy(m.optimizer, "adamw");
    CHECK_OK(syn_net_set_meta(net, &m));
}

static void check_same_net(const syn_net *a, const syn_net *b, const char *what)
{
    CHECK(syn_net_n_inputs(a) == syn_net_n_inputs(b), "%s", what);
    CHECK(syn_net_n_layers(a) == syn_net_n_layers(b), "%s", what);
    CHECK(syn_net_loss(a) == syn_net_loss(b), "%s", what);
    CHECK(syn_net_reduction(a) == syn_net_reduction(b), "%s", what);
    if (syn_net_n_layers(a) != syn_net_n_layers(b))
        return;
    for (size_t l = 0; l < syn_net_n_layers(a); l++) {
        syn_layer_desc da, db;
        size_t in_a = 0, in_b = 0;
        CHECK_OK(syn_net_layer(a, l, &da, &in_a));
        CHECK_OK(syn_net_layer(b, l, &db, &in_b));
        CHECK(da.units == db.units && da.activation == db.activation && in_a == in_b &&
                  da.no_bias == db.no_bias && same_bits(da.leaky_slope, db.leaky_slope),
              "%s: layer %zu", what, l);
    }
    size_t na, nb;
    const float *pa = syn_net_params_const(a, &na), *pb = syn_net_params_const(b, &nb);
    CHECK(na == nb && memcmp(pa, pb, na * sizeof *pa) == 0, "%s: parameters differ", what);
    const float *oa, *sa, *ob, *sb;
    syn_net_input_scaling(a, &oa, &sa);
    syn_net_input_scaling(b, &ob, &sb);
    size_t n = syn_net_n_inputs(a);
    if (oa && ob)
        CHECK(!memcmp(oa, ob, n * sizeof *oa) && !memcmp(sa, sb, n * sizeof *sa),
              "%s: scaling", what);
    else
        CHECK(!oa && !ob && !sa && !sb, "%s: scaling present in one only", what);
    CHECK(syn_net_n_class_names(a) == syn_net_n_class_names(b), "%s", what);
    for (size_t i = 0; i < syn_net_n_class_names(a); i++)
        CHECK(!strcmp(syn_net_class_name(a, i), syn_net_class_name(b, i)), "%s: name %zu",
              what, i);
    syn_train_meta ma, mb;
    syn_net_meta(a, &ma);
    syn_net_meta(b, &mb);
    CHECK(ma.epochs == mb.epochs && ma.seed == mb.seed && ma.samples_seen == mb.samples_seen,
          "%s: meta counters", what);
    CHECK(same_bits(ma.train_loss, mb.train_loss) &&
              same_bits(ma.train_accuracy, mb.train_accuracy) &&
              same_bits(ma.val_loss, mb.val_loss) && same_bits(ma.val_accuracy, mb.val_accuracy),
          "%s: meta doubles", what);
    CHECK(!strcmp(ma.library_version, mb.library_version) && !strcmp(ma.optimizer, mb.optimizer),
          "%s: meta strings", what);
}

/* Runs the same batch through both nets: outputs must be bit-identical. */
static void check_same_predictions(const syn_net *a, const syn_net *b, const char *what)
{
    enum { BATCH = 7 };
    size_t n_in = syn_net_n_inputs(a), n_out = syn_net_n_outputs(a);
    float *x = malloc(BATCH * n_in * sizeof *x), *ya = malloc(BATCH * n_out * sizeof *ya);
    syn_workspace *wa = NULL, *wb = NULL;
    CHECK_OK(syn_workspace_create(a, BATCH, &wa));
    CHECK_OK(syn_workspace_create(b, BATCH, &wb));
    if (x && ya && wa && wb) {
        fill_random(x, BATCH * n_in, 99);
        const float *out = NULL;
        CHECK_OK(syn_forward(a, wa, x, BATCH, &out));
        memcpy(ya, out, BATCH * n_out * sizeof *ya);
        CHECK_OK(syn_forward(b, wb, x, BATCH, &out));
        CHECK(!memcmp(ya, out, BATCH * n_out * sizeof *ya), "%s: predictions differ", what);
    }
    syn_workspace_free(wa);
    syn_workspace_free(wb);
    free(x);
    free(ya);
}

/* ------------------------------------------------------------------------ */

static void test_crc32(void)
{
    /* The check value of CRC-32/ISO-HDLC, and zlib's crc32 of "". */
    CHECK(syn_crc32(0, "123456789", 9) == 0xcbf43926u, "check value");
    CHECK(syn_crc32(0, "", 0) == 0, "empty");
    CHECK(syn_crc32(0, "The quick brown fox jumps over the lazy dog", 43) == 0x414fa339u,
          "fox");
    uint32_t chained = syn_crc32(syn_crc32(0, "12345", 5), "6789", 4);
    CHECK(chained == 0xcbf43926u, "chaining");
}

static void test_round_trip_activations(void)
{
    char path[512];
    tmp_path(path, sizeof path, "acts.syn");
    int case_no = 0;
    for (int act = 0; act < SYN_ACT_COUNT_; act++) {
        if (act == SYN_ACT_SOFTMAX)
            continue;
        for (int no_bias = 0; no_bias <= 1; no_bias++) {
            syn_layer_desc layers[3] = {
                DENSE(5, (syn_activation)act, act == SYN_ACT_LEAKY_RELU ? 0.2f : 0.0f, no_bias),
                DENSE(4, SYN_ACT_LEAKY_RELU, 0.0f, !no_bias), /* the 0 -> 0.01 default */
                DENSE(3, (syn_activation)act, 0.0f, no_bias),
            };
            syn_net *net = make_net(3, layers, 3, SYN_LOSS_MSE,
                                    no_bias ? SYN_REDUCTION_SUM : SYN_REDUCTION_MEAN,
                                    (uint64_t)(100 + case_no));
            if (case_no % 2 == 0)
                decorate(net, (uint64_t)case_no);
            syn_error err = {""};
            CHECK_OK(syn_net_save(net, NULL, path, &err));
            syn_net *back = NULL;
            syn_optimizer *opt = (syn_optimizer *)&err; /* must be overwritten */
            CHECK_OK(syn_net_load(path, &back, &opt, &err));
            CHECK(opt == NULL, "no optimizer in the file");
            if (back) {
                char what[64];
                snprintf(what, sizeof what, "activation %d bias %d", act, !no_bias);
                check_same_net(net, back, what);
                check_same_predictions(net, back, what);
            }
            syn_net_free(back);
            syn_net_free(net);
            case_no++;
        }
    }
    /* Classifier outputs: softmax + cross-entropy, sigmoid + BCE. */
    syn_layer_desc soft[2] = {DENSE(6, SYN_ACT_RELU, 0, 0), DENSE(4, SYN_ACT_SOFTMAX, 0, 0)};
    syn_layer_desc sig[2] = {DENSE(6, SYN_ACT_TANH, 0, 1), DENSE(1, SYN_ACT_SIGMOID, 0, 0)};
    syn_net *nets[2] = {make_net(2, soft, 2, SYN_LOSS_CROSS_ENTROPY, SYN_REDUCTION_MEAN, 7),
                        make_net(4, sig, 2, SYN_LOSS_BCE, SYN_REDUCTION_SUM, 8)};
    for (int i = 0; i < 2; i++) {
        decorate(nets[i], 50u + (uint64_t)i);
        syn_net *back = NULL;
        CHECK_OK(syn_net_save(nets[i], NULL, path, NULL));
        CHECK_OK(syn_net_load(path, &back, NULL, NULL));
        if (back) {
            check_same_net(nets[i], back, "classifier");
            check_same_predictions(nets[i], back, "classifier");
        }
        syn_net_free(back);
        syn_net_free(nets[i]);
    }
}

/* Values whose bits a careless encoder would change. */
static void test_round_trip_special_values(void)
{
    syn_layer_desc layers[1] = {DENSE(4, SYN_ACT_LINEAR, 0, 0)};
    syn_net *net = make_net(2, layers, 1, SYN_LOSS_MSE, SYN_REDUCTION_MEAN, 3);
    size_t n;
    float *p = syn_net_params(net, &n);
    uint32_t nan_payload = 0x7fc01234u, neg_nan = 0xffbfffffu;
    p[0] = -0.0f;
    p[1] = FLT_MIN / 4.0f; /* subnormal */
    p[2] = FLT_MAX;
    p[3] = -INFINITY;
    memcpy(&p[4], &nan_payload, 4);
    memcpy(&p[5], &neg_nan, 4);
    p[6] = 1.0f + FLT_EPSILON;
    uint8_t *img = NULL;
    size_t size = 0;
    CHECK_OK(syn_model_serialize(net, NULL, NULL, 0, &img, &size, NULL));
    syn_net *back = NULL;
    CHECK_OK(syn_model_parse(img, size, "special", &back, NULL, NULL));
    if (back)
        check_same_net(net, back, "special values");
    syn_net_free(back);
    free(img);
    syn_net_free(net);
}

static void test_optimizer_round_trip(void)
{
    char path[512];
    tmp_path(path, sizeof path, "optim.syn");
    for (int kind = 0; kind < SYN_OPTIM_COUNT_; kind++) {
        syn_layer_desc layers[2] = {DENSE(5, SYN_ACT_TANH, 0, 0), DENSE(2, SYN_ACT_LINEAR, 0, 1)};
        syn_net *net = make_net(3, layers, 2, SYN_LOSS_MSE, SYN_REDUCTION_MEAN, 11);
        syn_optim_desc d = syn_optim_defaults((syn_optim_kind)kind);
        d.weight_decay = 0.003f;
        if (kind == SYN_OPTIM_MOMENTUM)
            d.dampening = 0.1f;
        syn_optimizer *opt = NULL;
        CHECK_OK(syn_optimizer_create(net, &d, &opt));
        size_t n = syn_net_param_count(net);
        float *g = malloc(n * sizeof *g);
        for (uint64_t s = 0; s < 3; s++) {
            fill_random(g, n, 1000 + s);
            CHECK_OK(syn_optimizer_step(opt, net, g, n));
        }
        syn_error err;
        CHECK_OK(syn_net_save(net, opt, path, &err));
        syn_net *back = NULL;
        syn_optimizer *opt_back = NULL;
        CHECK_OK(syn_net_load(path, &back, &opt_back, &err));
        CHECK(opt_back != NULL, "optimizer %d restored", kind);
        if (back && opt_back) {
            check_same_net(net, back, "optimizer net");
            syn_optim_desc a = syn_optimizer_desc(opt), b = syn_optimizer_desc(opt_back);
            CHECK(a.kind == b.kind && same_bits(a.lr, b.lr) && same_bits(a.momentum, b.momentum) &&
                      same_bits(a.dampening, b.dampening) && same_bits(a.beta1, b.beta1) &&
                      same_bits(a.beta2, b.beta2) && same_bits(a.eps, b.eps) &&
                      same_bits(a.weight_decay, b.weight_decay),
                  "optimizer %d settings", kind);
            CHECK(syn_optimizer_steps(opt_back) == 3, "steps");
            float *m1, *v1, *m2, *v2;
            size_t c1, c2;
            syn_optimizer_moments(opt, &m1, &v1, &c1);
            syn_optimizer_moments(opt_back, &m2, &v2, &c2);
            CHECK(c1 == c2 && (!m1) == (!m2) && (!v1) == (!v2), "moment shapes");
            if (m1 && m2)
                CHECK(!memcmp(m1, m2, c1 * sizeof *m1), "first moments %d", kind);
            if (v1 && v2)
                CHECK(!memcmp(v1, v2, c1 * sizeof *v1), "second moments %d", kind);
            /* Resuming: one more identical step keeps the two in lockstep. */
            fill_random(g, n, 2000);
            CHECK_OK(syn_optimizer_step(opt, net, g, n));
            CHECK_OK(syn_optimizer_step(opt_back, back, g, n));
            CHECK(!memcmp(syn_net_params_const(net, NULL), syn_net_params_const(back, NULL),
                          n * sizeof(float)),
                  "optimizer %d: next step differs", kind);
        }
        /* Loading without asking for the optimizer still works. */
        syn_net *plain = NULL;
        CHECK_OK(syn_net_load(path, &plain, NULL, NULL));
        syn_net_free(plain);
        syn_optimizer_free(opt_back);
        syn_net_free(back);
        syn_optimizer_free(opt);
        syn_net_free(net);
        free(g);
    }
}

/* A small complete file: every section kind present. */
static void small_image(uint8_t **img, size_t *size, int with_extra)
{
    syn_layer_desc layers[2] = {DENSE(3, SYN_ACT_TANH, 0, 0), DENSE(1, SYN_ACT_SIGMOID, 0, 0)};
    syn_net *net = make_net(2, layers, 2, SYN_LOSS_BCE, SYN_REDUCTION_MEAN, 21);
    const float offset[2] = {0.5f, -1.0f}, scale[2] = {2.0f, 0.25f};
    syn_net_set_input_scaling(net, offset, scale);
    const char *names[] = {"no", "yes"};
    syn_net_set_class_names(net, names, 2);
    syn_optim_desc d = syn_optim_defaults(SYN_OPTIM_MOMENTUM);
    syn_optimizer *opt = NULL;
    syn_optimizer_create(net, &d, &opt);
    syn_model_section extra = {{'n', 'o', 't', 'e'}, "hi", 2};
    CHECK_OK(syn_model_serialize(net, opt, &extra, with_extra ? 1 : 0, img, size, NULL));
    syn_optimizer_free(opt);
    syn_net_free(net);
}

static syn_status parse_status(const uint8_t *img, size_t size, syn_error *err)
{
    syn_net *net = NULL;
    syn_optimizer *opt = NULL;
    syn_status st = syn_model_parse(img, size, "t.syn", &net, &opt, err);
    CHECK(st == SYN_OK || (net == NULL && opt == NULL), "outputs stay NULL on failure");
    syn_net_free(net);
    syn_optimizer_free(opt);
    return st;
}

static void test_every_flipped_byte(void)
{
    uint8_t *img = NULL;
    size_t size = 0;
    small_image(&img, &size, 1);
    CHECK(parse_status(img, size, NULL) == SYN_OK, "the pristine image parses");
    uint8_t *copy = malloc(size);
    int wrong = 0;
    for (size_t i = 0; i < size; i++) {
        for (int bit = 0; bit < 8; bit++) {
            memcpy(copy, img, size);
            copy[i] ^= (uint8_t)(1u << bit);
            syn_status want = i < SYN_MODEL_MAGIC_SIZE ? SYN_ERR_FORMAT : SYN_ERR_CORRUPT;
            syn_status got = parse_status(copy, size, NULL);
            if (got != want && wrong++ < 5)
                CHECK(got == want, "byte %zu bit %d: got %s", i, bit, syn_strerror(got));
        }
        memcpy(copy, img, size);
        copy[i] ^= 0xff;
        syn_status got = parse_status(copy, size, NULL);
        if (got == SYN_OK && wrong++ < 5)
            CHECK(got != SYN_OK, "byte %zu inverted still loads", i);
    }
    CHECK(wrong == 0, "%d flipped bytes were not reported as expected", wrong);

    /* Through a real file, the message names it and what is wrong. */
    char path[512];
    tmp_path(path, sizeof path, "flipped.syn");
    memcpy(copy, img, size);
    copy[size / 2] ^= 0x10;
    write_bytes(path, copy, size);
    syn_error err = {""};
    syn_net *net = NULL;
    CHECK(syn_net_load(path, &net, NULL, &err) == SYN_ERR_CORRUPT, "corrupt file");
    CHECK(strstr(err.message, path) && strstr(err.message, "CRC-32 mismatch (stored 0x"),
          "message: %s", err.message);
    free(copy);
    free(img);
}

static void test_every_truncation(void)
{
    uint8_t *img = NULL;
    size_t size = 0;
    small_image(&img, &size, 0);
    int wrong = 0;
    for (size_t len = 0; len < size; len++) {
        /* A copy of exactly len bytes, so ASan sees any read beyond it. */
        uint8_t *part = malloc(len ? len : 1);
        memcpy(part, img, len);
        syn_status got = parse_status(part, len, NULL);
        if (got != SYN_ERR_TRUNCATED && wrong++ < 5)
            CHECK(got == SYN_ERR_TRUNCATED, "length %zu: got %s", len, syn_strerror(got));
        free(part);
    }
    CHECK(wrong == 0, "%d truncations were not reported as such", wrong);
    char path[512];
    tmp_path(path, sizeof path, "truncated.syn");
    write_bytes(path, img, size - 9);
    syn_error err = {""};
    syn_net *net = NULL;
    CHECK(syn_net_load(path, &net, NULL, &err) == SYN_ERR_TRUNCATED, "truncated file");
    CHECK(strstr(err.message, path) && strstr(err.message, "truncated"), "message: %s",
          err.message);
    /* One byte too many is not a truncation but trailing garbage. */
    uint8_t *longer = malloc(size + 1);
    memcpy(longer, img, size);
    longer[size] = 0;
    CHECK(parse_status(longer, size + 1, NULL) == SYN_ERR_CORRUPT, "trailing byte");
    free(longer);
    free(img);
}

static void test_versions_and_flags(void)
{
    uint8_t *img = NULL;
    size_t size = 0;
    small_image(&img, &size, 0);
    char path[512];
    tmp_path(path, sizeof path, "v7.syn");
    syn_error err = {""};

    put32(img + 8, 7);
    reseal(img, size);
    write_bytes(path, img, size);
    syn_net *net = NULL;
    CHECK(syn_net_load(path, &net, NULL, &err) == SYN_ERR_VERSION, "version 7");
    CHECK(strstr(err.message, path) &&
              strstr(err.message, "format version 7 is newer than this library reads (2)"),
          "message: %s", err.message);

    put32(img + 8, 0);
    reseal(img, size);
    CHECK(parse_status(img, size, NULL) == SYN_ERR_VERSION, "version 0");

    /* Flag bits 0-15 are features a reader must know; 16-31 are hints. */
    put32(img + 8, 1);
    put32(img + 12, 1u << 3);
    reseal(img, size);
    CHECK(parse_status(img, size, NULL) == SYN_ERR_VERSION, "unknown required flag");
    put32(img + 12, 1u << 20);
    reseal(img, size);
    CHECK(parse_status(img, size, NULL) == SYN_OK, "unknown optional flag is ignored");
    free(img);
}

static void test_extra_sections(void)
{
    syn_layer_desc layers[1] = {DENSE(2, SYN_ACT_LINEAR, 0, 0)};
    syn_net *net = make_net(2, layers, 1, SYN_LOSS_MSE, SYN_REDUCTION_MEAN, 5);
    static const char payload[] = "rng state and epoch";
    syn_model_section extras[2] = {{{'c', 'k', 'p', 't'}, payload, sizeof payload},
                                   {{'z', 'z', '_', '9'}, NULL, 0}};
    uint8_t *img = NULL;
    size_t size = 0;
    CHECK_OK(syn_model_serialize(net, NULL, extras, 2, &img, &size, NULL));
    syn_net *back = NULL;
    CHECK_OK(syn_model_parse(img, size, NULL, &back, NULL, NULL));
    if (back)
        check_same_net(net, back, "with optional sections");
    syn_net_free(back);
    const uint8_t *found = NULL;
    size_t found_size = 0;
    CHECK_OK(syn_model_find_section(img, size, NULL, "ckpt", &found, &found_size, NULL));
    CHECK(found_size == sizeof payload && found && !memcmp(found, payload, sizeof payload),
          "extra payload");
    CHECK_OK(syn_model_find_section(img, size, NULL, "zz_9", &found, &found_size, NULL));
    CHECK(found_size == 0, "empty extra");
    CHECK(syn_model_find_section(img, size, NULL, "nope", &found, &found_size, NULL) ==
              SYN_ERR_NOT_FOUND,
          "missing extra");
    CHECK_OK(syn_model_find_section(img, size, NULL, "PARM", &found, &found_size, NULL));
    free(img);

    /* A section a reader must understand but does not: VERSION. */
    syn_model_section required = {{'C', 'K', 'P', 'T'}, payload, sizeof payload};
    CHECK_OK(syn_model_serialize(net, NULL, &required, 1, &img, &size, NULL));
    syn_error err = {""};
    CHECK(parse_status(img, size, &err) == SYN_ERR_VERSION, "unknown required section");
    CHECK(strstr(err.message, "CKPT") != NULL, "message: %s", err.message);
    free(img);

    /* The writer refuses tags that are reserved, malformed or repeated. */
    syn_model_section bad[4] = {{{'A', 'R', 'C', 'H'}, NULL, 0},
                                {{'1', 'a', 'b', 'c'}, NULL, 0},
                                {{'a', 'b', ' ', 'd'}, NULL, 0},
                                {{'m', 'e', 't', 'a'}, NULL, 0}};
    for (int i = 0; i < 4; i++)
        CHECK(syn_model_serialize(net, NULL, &bad[i], 1, &img, &size, NULL) ==
                  SYN_ERR_INVALID_ARGUMENT,
              "bad tag %d", i);
    syn_model_section twice[2] = {extras[0], extras[0]};
    CHECK(syn_model_serialize(net, NULL, twice, 2, &img, &size, NULL) ==
              SYN_ERR_INVALID_ARGUMENT,
          "duplicate extra");
    CHECK(img == NULL, "no image on failure");

    char path[512];
    tmp_path(path, sizeof path, "extra.syn");
    CHECK_OK(syn_model_write(net, NULL, extras, 1, path, NULL));
    CHECK_OK(syn_net_load(path, &back, NULL, NULL));
    syn_net_free(back);
    syn_net_free(net);
}

/* ------------------------------------------------------------------------ */
/* Hand-built images: the documented layout, and hostile content behind    */
/* valid checksums.                                                          */
/* ------------------------------------------------------------------------ */

typedef struct image {
    uint8_t bytes[1024];
    size_t len;
} image;

static void img_begin(image *im)
{
    memcpy(im->bytes, "\x89SYN\r\n\x1a\n", 8);
    put32(im->bytes + 8, 1);
    put32(im->bytes + 12, 0);
    im->len = 28;
}

static void img_section(image *im, const char *tag, const void *payload, size_t n)
{
    memcpy(im->bytes + im->len, tag, 4);
    put64(im->bytes + im->len + 4, n);
    memcpy(im->bytes + im->len + 12, payload, n);
    im->len += 12 + n;
}

static void img_finish(image *im)
{
    im->len += 4;
    reseal(im->bytes, im->len);
}

/* ARCH for n_inputs -> one layer; PARM with `count` floats 0.5, 1.5, ... */
static size_t arch_payload(uint8_t *p, uint64_t n_inputs, uint32_t loss, uint32_t n_layers,
                           uint64_t units, uint32_t act, float slope, uint32_t flags)
{
    put64(p, n_inputs);
    put32(p + 8, loss);
    put32(p + 12, 0);
    put32(p + 16, n_layers);
    put64(p + 20, units);
    put32(p + 28, act);
    memcpy(p + 32, &slope, 4); /* the test machines are little-endian IEEE */
    put32(p + 36, flags);
    return 40;
}

static size_t parm_payload(uint8_t *p, uint64_t count)
{
    put64(p, count);
    for (uint64_t i = 0; i < count && i < 64; i++) {
        float v = 0.5f + (float)i;
        memcpy(p + 8 + 4 * i, &v, 4);
    }
    return 8 + 4 * (size_t)(count < 64 ? count : 64);
}

static syn_status parse_image(const image *im)
{
    return parse_status(im->bytes, im->len, NULL);
}

static void test_hand_built(void)
{
    uint8_t arch[64], parm[300];
    size_t arch_n = arch_payload(arch, 1, SYN_LOSS_MSE, 1, 2, SYN_ACT_LINEAR, 0.0f, 1);
    size_t parm_n = parm_payload(parm, 4);
    image im;

    /* The minimal valid file, written from docs/FORMAT.md alone. */
    img_begin(&im);
    img_section(&im, "ARCH", arch, arch_n);
    img_section(&im, "PARM", parm, parm_n);
    img_finish(&im);
    syn_net *net = NULL;
    CHECK_OK(syn_model_parse(im.bytes, im.len, "hand", &net, NULL, NULL));
    if (net) {
        const float *p = syn_net_params_const(net, NULL);
        CHECK(p[0] == 0.5f && p[1] == 1.5f && p[2] == 2.5f && p[3] == 3.5f, "params");
        CHECK(syn_net_n_outputs(net) == 2 && syn_net_n_class_names(net) == 0, "shape");
        syn_train_meta m;
        syn_net_meta(net, &m);
        CHECK(isnan(m.train_loss) && m.epochs == 0, "no meta section: defaults");
    }
    syn_net_free(net);

    /* Order of sections does not matter. */
    img_begin(&im);
    img_section(&im, "PARM", parm, parm_n);
    img_section(&im, "note", "x", 1);
    img_section(&im, "ARCH", arch, arch_n);
    img_finish(&im);
    CHECK(parse_image(&im) == SYN_OK, "sections in any order");

    struct {
        const char *what;
        uint64_t n_inputs;
        uint32_t loss, n_layers;
        uint64_t units;
        uint32_t act;
        float slope;
        uint32_t flags;
    } bad_arch[] = {
        {"0 inputs", 0, 0, 1, 2, 0, 0, 1},
        {"unknown loss", 1, 9, 1, 2, 0, 0, 1},
        {"unknown activation", 1, 0, 1, 2, 77, 0, 1},
        {"0 units", 1, 0, 1, 0, 0, 0, 1},
        {"unknown layer flag", 1, 0, 1, 2, 0, 0, 3},
        {"slope on linear", 1, 0, 1, 2, 0, 0.5f, 1},
        {"negative slope", 1, 0, 1, 2, SYN_ACT_LEAKY_RELU, -0.5f, 1},
        {"NaN slope", 1, 0, 1, 2, SYN_ACT_LEAKY_RELU, NAN, 1},
        {"CE without softmax", 1, SYN_LOSS_CROSS_ENTROPY, 1, 2, 0, 0, 1},
        {"BCE without sigmoid", 1, SYN_LOSS_BCE, 1, 2, SYN_ACT_SOFTMAX, 0, 1},
        {"4e9 layers, one present", 1, 0, 0xffffffffu, 2, 0, 0, 1},
        {"0 layers", 1, 0, 0, 2, 0, 0, 1},
        {"overflowing widths", (uint64_t)1 << 62, 0, 1, (uint64_t)1 << 62, 0, 0, 1},
        {"huge width", 1, 0, 1, UINT64_MAX, 0, 0, 0},
    };
    for (size_t i = 0; i < sizeof bad_arch / sizeof bad_arch[0]; i++) {
        uint8_t a[64];
        size_t a_n = arch_payload(a, bad_arch[i].n_inputs, bad_arch[i].loss,
                                  bad_arch[i].n_layers, bad_arch[i].units, bad_arch[i].act,
                                  bad_arch[i].slope, bad_arch[i].flags);
        img_begin(&im);
        img_section(&im, "ARCH", a, a_n);
        img_section(&im, "PARM", parm, parm_n);
        img_finish(&im);
        syn_status st = parse_image(&im);
        CHECK(st == SYN_ERR_CORRUPT, "%s: got %s", bad_arch[i].what, syn_strerror(st));
    }

    /* Softmax before the output layer. */
    uint8_t two[64];
    arch_payload(two, 1, 0, 2, 2, SYN_ACT_SOFTMAX, 0, 1);
    put64(two + 40, 1);
    put32(two + 48, SYN_ACT_LINEAR);
    put32(two + 52, 0);
    put32(two + 56, 1);
    img_begin(&im);
    img_section(&im, "ARCH", two, 60);
    img_section(&im, "PARM", parm, parm_payload(parm, 7));
    img_finish(&im);
    CHECK(parse_image(&im) == SYN_ERR_CORRUPT, "softmax inside");

    struct {
        const char *what;
        uint64_t count;
        size_t extra_bytes;
    } bad_parm[] = {{"too few", 3, 0}, {"too many", 5, 0}, {"extra bytes", 4, 4},
                    {"huge count", UINT64_MAX, 0}};
    for (size_t i = 0; i < sizeof bad_parm / sizeof bad_parm[0]; i++) {
        size_t n = parm_payload(parm, bad_parm[i].count) + bad_parm[i].extra_bytes;
        img_begin(&im);
        img_section(&im, "ARCH", arch, arch_n);
        img_section(&im, "PARM", parm, n);
        img_finish(&im);
        CHECK(parse_image(&im) == SYN_ERR_CORRUPT, "PARM %s", bad_parm[i].what);
    }
    parm_n = parm_payload(parm, 4);

    /* Missing and repeated sections. */
    img_begin(&im);
    img_section(&im, "ARCH", arch, arch_n);
    img_finish(&im);
    CHECK(parse_image(&im) == SYN_ERR_CORRUPT, "no PARM");
    img_begin(&im);
    img_section(&im, "PARM", parm, parm_n);
    img_finish(&im);
    CHECK(parse_image(&im) == SYN_ERR_CORRUPT, "no ARCH");
    img_begin(&im);
    img_section(&im, "ARCH", arch, arch_n);
    img_section(&im, "PARM", parm, parm_n);
    img_section(&im, "PARM", parm, parm_n);
    img_finish(&im);
    CHECK(parse_image(&im) == SYN_ERR_CORRUPT, "PARM twice");
    img_begin(&im);
    img_finish(&im);
    CHECK(parse_image(&im) == SYN_ERR_CORRUPT, "no sections at all");

    /* Framing: lengths past the end, bad tags, stray bytes, bad sizes. */
    img_begin(&im);
    img_section(&im, "ARCH", arch, arch_n);
    img_section(&im, "PARM", parm, parm_n);
    put64(im.bytes + 28 + 4, UINT64_MAX);
    img_finish(&im);
    CHECK(parse_image(&im) == SYN_ERR_CORRUPT, "section length past the end");
    img_begin(&im);
    img_section(&im, "ARCH", arch, arch_n);
    img_section(&im, "PARM", parm, parm_n);
    img_section(&im, "a\0b\n", "", 0);
    img_finish(&im);
    CHECK(parse_image(&im) == SYN_ERR_CORRUPT, "invalid tag");
    img_begin(&im);
    img_section(&im, "ARCH", arch, arch_n);
    img_section(&im, "PARM", parm, parm_n);
    memset(im.bytes + im.len, 0, 11);
    im.len += 11;
    img_finish(&im);
    CHECK(parse_image(&im) == SYN_ERR_CORRUPT, "stray bytes before the trailer");
    img_begin(&im);
    img_section(&im, "ARCH", arch, arch_n);
    img_section(&im, "PARM", parm, parm_n);
    img_finish(&im);
    put64(im.bytes + 16, 20);
    put32(im.bytes + 24, syn_crc32(0, im.bytes, 24));
    CHECK(parse_image(&im) == SYN_ERR_CORRUPT, "recorded size smaller than a header");

    /* Optional sections with bad content. */
    uint8_t p[128];

    /* SCAL: NaN, valid, wrong count. */
    {
        float v[2] = {1.0f, NAN};
        put64(p, 1);
        memcpy(p + 8, &v[0], 4);
        memcpy(p + 12, &v[1], 4);
        img_begin(&im);
        img_section(&im, "ARCH", arch, arch_n);
        img_section(&im, "PARM", parm, parm_n);
        img_section(&im, "SCAL", p, 16);
        img_finish(&im);
        CHECK(parse_image(&im) == SYN_ERR_CORRUPT, "NaN scale");
        v[1] = 2.0f;
        memcpy(p + 12, &v[1], 4);
        img_begin(&im);
        img_section(&im, "ARCH", arch, arch_n);
        img_section(&im, "PARM", parm, parm_n);
        img_section(&im, "SCAL", p, 16);
        img_finish(&im);
        CHECK(parse_image(&im) == SYN_OK, "valid scaling");
        put64(p, 2);
        img_begin(&im);
        img_section(&im, "ARCH", arch, arch_n);
        img_section(&im, "PARM", parm, parm_n);
        img_section(&im, "SCAL", p, 16);
        img_finish(&im);
        CHECK(parse_image(&im) == SYN_ERR_CORRUPT, "scaling for 2 inputs");
    }
    /* CLAS: huge count, name past the end, NUL inside, zero count. */
    {
        uint32_t counts[4] = {0xffffffffu, 1, 1, 0};
        uint32_t lens[4] = {1, 0x7fffffffu, 3, 1};
        const char text[4][4] = {"a", "a", "a\0b", "a"};
        for (int i = 0; i < 4; i++) {
            put32(p, counts[i]);
            put32(p + 4, lens[i]);
            memcpy(p + 8, text[i], 3);
            img_begin(&im);
            img_section(&im, "ARCH", arch, arch_n);
            img_section(&im, "PARM", parm, parm_n);
            img_section(&im, "CLAS", p, 11);
            img_finish(&im);
            CHECK(parse_image(&im) == SYN_ERR_CORRUPT, "class names case %d", i);
        }
        put32(p, 2);
        put32(p + 4, 1);
        p[8] = 'a';
        put32(p + 9, 2);
        memcpy(p + 13, "bc", 2);
        img_begin(&im);
        img_section(&im, "ARCH", arch, arch_n);
        img_section(&im, "PARM", parm, parm_n);
        img_section(&im, "CLAS", p, 15);
        img_finish(&im);
        CHECK_OK(syn_model_parse(im.bytes, im.len, "clas", &net, NULL, NULL));
        if (net)
            CHECK(!strcmp(syn_net_class_name(net, 1), "bc"), "class name");
        syn_net_free(net);
    }
    /* meta: short, string past the end. */
    {
        memset(p, 0, sizeof p);
        img_begin(&im);
        img_section(&im, "ARCH", arch, arch_n);
        img_section(&im, "PARM", parm, parm_n);
        img_section(&im, "meta", p, 60);
        img_finish(&im);
        CHECK(parse_image(&im) == SYN_ERR_CORRUPT, "short meta");
        put32(p + 56, 1000);
        img_begin(&im);
        img_section(&im, "ARCH", arch, arch_n);
        img_section(&im, "PARM", parm, parm_n);
        img_section(&im, "meta", p, 64);
        img_finish(&im);
        CHECK(parse_image(&im) == SYN_ERR_CORRUPT, "meta string past the end");
        put32(p + 56, 0);
        img_begin(&im);
        img_section(&im, "ARCH", arch, arch_n);
        img_section(&im, "PARM", parm, parm_n);
        img_section(&im, "meta", p, 64);
        img_finish(&im);
        CHECK(parse_image(&im) == SYN_OK, "meta with empty strings");
    }
    /* optm: unknown kind, wrong moment count, wrong size, bad settings. */
    {
        struct {
            const char *what;
            uint32_t kind, moments;
            float lr;
            uint64_t count;
            syn_status with_opt, without_opt;
        } cases[] = {
            {"valid sgd", SYN_OPTIM_SGD, 0, 0.1f, 4, SYN_OK, SYN_OK},
            {"unknown kind", 9, 0, 0.1f, 4, SYN_ERR_CORRUPT, SYN_ERR_CORRUPT},
            {"moments for sgd", SYN_OPTIM_SGD, 1, 0.1f, 4, SYN_ERR_CORRUPT, SYN_ERR_CORRUPT},
            {"count", SYN_OPTIM_SGD, 0, 0.1f, 5, SYN_ERR_CORRUPT, SYN_ERR_CORRUPT},
            {"negative lr", SYN_OPTIM_SGD, 0, -1.0f, 4, SYN_ERR_CORRUPT, SYN_OK},
            {"momentum, no data", SYN_OPTIM_MOMENTUM, 1, 0.1f, 4, SYN_ERR_CORRUPT,
             SYN_ERR_CORRUPT},
        };
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            memset(p, 0, sizeof p);
            put32(p, cases[i].kind);
            put32(p + 4, cases[i].moments);
            memcpy(p + 8, &cases[i].lr, 4);
            put64(p + 36, 1);
            put64(p + 44, cases[i].count);
            img_begin(&im);
            img_section(&im, "ARCH", arch, arch_n);
            img_section(&im, "PARM", parm, parm_n);
            img_section(&im, "optm", p, 52);
            img_finish(&im);
            syn_net *n1 = NULL;
            syn_optimizer *o1 = NULL;
            syn_status st = syn_model_parse(im.bytes, im.len, "o", &n1, &o1, NULL);
            CHECK(st == cases[i].with_opt, "optm %s: %s", cases[i].what, syn_strerror(st));
            CHECK(st != SYN_OK || o1 != NULL, "optm %s: optimizer", cases[i].what);
            syn_optimizer_free(o1);
            syn_net_free(n1);
            st = syn_model_parse(im.bytes, im.len, "o", &n1, NULL, NULL);
            CHECK(st == cases[i].without_opt, "optm %s without optimizer: %s", cases[i].what,
                  syn_strerror(st));
            syn_net_free(n1);
        }
    }
}

/* Random damage behind valid checksums, so the parser goes deep: nothing
 * may crash, leak or read outside the image (run under ASan/valgrind). */
static void test_mutations(void)
{
    uint8_t *img = NULL;
    size_t size = 0;
    small_image(&img, &size, 1);
    uint8_t *copy = malloc(size);
    syn_rng rng;
    syn_rng_seed(&rng, 2024);
    int parsed = 0, refused = 0;
    for (int iter = 0; iter < 4000; iter++) {
        memcpy(copy, img, size);
        int edits = 1 + (int)syn_rng_below(&rng, 4);
        for (int e = 0; e < edits; e++) {
            size_t at = 28 + (size_t)syn_rng_below(&rng, size - 32);
            uint64_t how = syn_rng_below(&rng, 4);
            if (how == 0)
                copy[at] ^= (uint8_t)(1u << syn_rng_below(&rng, 8));
            else if (how == 1)
                copy[at] = (uint8_t)syn_rng_next(&rng);
            else if (how == 2)
                copy[at] = 0xff;
            else
                copy[at] = 0;
        }
        reseal(copy, size);
        syn_status st = parse_status(copy, size, NULL);
        CHECK(st == SYN_OK || st == SYN_ERR_CORRUPT || st == SYN_ERR_VERSION,
              "mutation %d: %s", iter, syn_strerror(st));
        if (st == SYN_OK)
            parsed++;
        else
            refused++;
    }
    CHECK(parsed > 0 && refused > 0, "mutations exercised both outcomes (%d, %d)", parsed,
          refused);
    free(copy);
    free(img);
}

/* ------------------------------------------------------------------------ */
/* Files on disk                                                             */
/* ------------------------------------------------------------------------ */

static void test_not_a_model(void)
{
    syn_error err = {""};
    syn_net *net = NULL;
    const char *csv = FIXTURE_DIR "/not_a_model.csv";
    CHECK(syn_net_load(csv, &net, NULL, &err) == SYN_ERR_FORMAT, "a CSV file");
    CHECK(net == NULL && strstr(err.message, csv) && strstr(err.message, "not a synapse"),
          "message: %s", err.message);
    CHECK(syn_net_load(FIXTURE_DIR "/does_not_exist.syn", &net, NULL, &err) == SYN_ERR_IO,
          "missing file");
    CHECK(strstr(err.message, "No such file") != NULL, "message: %s", err.message);
    CHECK(syn_net_load(FIXTURE_DIR, &net, NULL, &err) == SYN_ERR_IO, "a directory");
    char path[512];
    tmp_path(path, sizeof path, "empty.syn");
    write_bytes(path, "", 0);
    CHECK(syn_net_load(path, &net, NULL, &err) == SYN_ERR_TRUNCATED, "empty file");
    write_bytes(path, "\x89SY", 3);
    CHECK(syn_net_load(path, &net, NULL, &err) == SYN_ERR_TRUNCATED, "3 bytes of magic");
    write_bytes(path, "SYNAPSE\0\1\0\0\0", 12);
    CHECK(syn_net_load(path, &net, NULL, &err) == SYN_ERR_FORMAT, "other magic");
}

/* Any leftover path.tmp.* file in dir is a failed cleanup. */
static int count_temp_files(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    size_t len = strlen(prefix);
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (!strncmp(e->d_name, prefix, len) && strstr(e->d_name + len, ".tmp."))
            n++;
    closedir(d);
    return n;
}

/* Does the file at path hold exactly `net`'s parameters? */
static int holds(const char *path, const syn_net *net)
{
    syn_net *back = NULL;
    if (syn_net_load(path, &back, NULL, NULL) != SYN_OK)
        return 0;
    size_t n, m;
    const float *a = syn_net_params_const(net, &n), *b = syn_net_params_const(back, &m);
    int same = n == m && !memcmp(a, b, n * sizeof *a);
    syn_net_free(back);
    return same;
}

static void test_atomic_save(void)
{
    syn_layer_desc layers[2] = {DENSE(8, SYN_ACT_RELU, 0, 0), DENSE(3, SYN_ACT_LINEAR, 0, 0)};
    syn_net *a = make_net(4, layers, 2, SYN_LOSS_MSE, SYN_REDUCTION_MEAN, 1);
    syn_net *b = make_net(4, layers, 2, SYN_LOSS_MSE, SYN_REDUCTION_MEAN, 2);
    char path[512], other[512];
    tmp_path(path, sizeof path, "model.syn");
    syn_error err = {""};
    CHECK_OK(syn_net_save(a, NULL, path, &err));
    CHECK(holds(path, a), "A saved");
    CHECK(count_temp_files(tmp_root, "model.syn") == 0, "no temporary file left");

    /* A write that fails midway (the file size limit applies to root too):
     * the temporary file goes, the old model stays. */
    struct rlimit old_limit, small;
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    CHECK(getrlimit(RLIMIT_FSIZE, &old_limit) == 0, "getrlimit");
    small = old_limit;
    small.rlim_cur = 64;
    CHECK(setrlimit(RLIMIT_FSIZE, &small) == 0, "setrlimit");
    syn_status st = syn_net_save(b, NULL, path, &err);
    setrlimit(RLIMIT_FSIZE, &old_limit);
    signal(SIGXFSZ, old_handler);
    CHECK(st == SYN_ERR_IO, "write beyond the size limit: %s", syn_strerror(st));
    CHECK(strstr(err.message, "write failed") && strstr(err.message, "File too large"),
          "message: %s", err.message);
    CHECK(holds(path, a), "A survives a failed write");
    CHECK(count_temp_files(tmp_root, "model.syn") == 0, "temporary file removed");

    /* Targets that are not regular files are refused, and left alone. */
    tmp_path(other, sizeof other, "a_directory");
    mkdir(other, 0755);
    CHECK(syn_net_save(b, NULL, other, &err) == SYN_ERR_IO, "directory target");
    CHECK(strstr(err.message, "not a regular file") != NULL, "message: %s", err.message);
    struct stat sb;
    CHECK(stat(other, &sb) == 0 && S_ISDIR(sb.st_mode), "directory intact");

    CHECK(syn_net_save(b, NULL, "/dev/full", &err) == SYN_ERR_IO, "/dev/full");
    CHECK(stat("/dev/full", &sb) != 0 || S_ISCHR(sb.st_mode), "/dev/full intact");
    CHECK(count_temp_files("/dev", "full") <= 0, "nothing created in /dev");

    tmp_path(other, sizeof other, "link.syn");
    CHECK(symlink("model.syn", other) == 0, "symlink");
    CHECK(syn_net_save(b, NULL, other, &err) == SYN_ERR_IO, "symbolic link target");
    CHECK(lstat(other, &sb) == 0 && S_ISLNK(sb.st_mode), "link intact");

    /* Directories that do not exist or are files. */
    tmp_path(other, sizeof other, "no_such_dir/model.syn");
    CHECK(syn_net_save(b, NULL, other, &err) == SYN_ERR_IO, "missing directory");
    CHECK(strstr(err.message, "temporary file") && strstr(err.message, "No such file"),
          "message: %s", err.message);
    tmp_path(other, sizeof other, "model.syn/inner.syn");
    CHECK(syn_net_save(b, NULL, other, &err) == SYN_ERR_IO, "file as a directory");
    CHECK(strstr(err.message, "Not a directory") != NULL, "message: %s", err.message);
    CHECK(holds(path, a), "A survives every refused save");

    /* The descriptor-level writer on a full device. */
    int fd = open("/dev/full", O_WRONLY);
    if (fd >= 0) {
        uint8_t bytes[100] = {0};
        CHECK(syn_file_write_fd(fd, bytes, sizeof bytes, "/dev/full", &err) == SYN_ERR_IO,
              "/dev/full write");
        CHECK(strstr(err.message, "No space left") != NULL, "message: %s", err.message);
        close(fd);
    }

    /* A successful replacement keeps the old file's permissions. */
    chmod(path, 0600);
    CHECK_OK(syn_net_save(b, NULL, path, &err));
    CHECK(holds(path, b), "B replaced A");
    CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600, "mode kept");
    CHECK(count_temp_files(tmp_root, "model.syn") == 0, "no temporary file left");

    /* A relative path (no directory part) works too. */
    char cwd[512];
    if (getcwd(cwd, sizeof cwd) && chdir(tmp_root) == 0) {
        CHECK_OK(syn_net_save(a, NULL, "relative.syn", &err));
        CHECK(holds("relative.syn", a), "relative path");
        CHECK(chdir(cwd) == 0, "chdir back");
    }
    syn_net_free(a);
    syn_net_free(b);
}

static void test_bad_arguments(void)
{
    syn_layer_desc layers[1] = {DENSE(2, SYN_ACT_LINEAR, 0, 0)};
    syn_net *net = make_net(2, layers, 1, SYN_LOSS_MSE, SYN_REDUCTION_MEAN, 5);
    syn_net *other = make_net(3, layers, 1, SYN_LOSS_MSE, SYN_REDUCTION_MEAN, 5);
    char path[512];
    tmp_path(path, sizeof path, "args.syn");
    syn_error err;
    CHECK(syn_net_save(NULL, NULL, path, NULL) == SYN_ERR_INVALID_ARGUMENT, "NULL net");
    CHECK(syn_net_save(net, NULL, NULL, &err) == SYN_ERR_INVALID_ARGUMENT, "NULL path");
    CHECK(syn_net_save(net, NULL, "", NULL) == SYN_ERR_INVALID_ARGUMENT, "empty path");
    syn_net *out = NULL;
    CHECK(syn_net_load(NULL, &out, NULL, NULL) == SYN_ERR_INVALID_ARGUMENT, "NULL path");
    CHECK(syn_net_load(path, NULL, NULL, &err) == SYN_ERR_INVALID_ARGUMENT, "NULL out");
    CHECK(syn_model_parse(NULL, 0, NULL, &out, NULL, NULL) == SYN_ERR_TRUNCATED, "no bytes");
    CHECK(syn_model_parse(NULL, 5, NULL, &out, NULL, NULL) == SYN_ERR_INVALID_ARGUMENT,
          "NULL data");
    syn_optim_desc d = syn_optim_defaults(SYN_OPTIM_ADAM);
    syn_optimizer *opt = NULL;
    CHECK_OK(syn_optimizer_create(other, &d, &opt));
    CHECK(syn_net_save(net, opt, path, &err) == SYN_ERR_SHAPE, "optimizer of another net");
    CHECK(access(path, F_OK) != 0, "nothing written");
    syn_optimizer_free(opt);
    syn_net_free(other);
    syn_net_free(net);
}

/* ------------------------------------------------------------------------ */
/* The committed v1 reference file                                           */
/* ------------------------------------------------------------------------ */

static const char reference_note[] = "synapse model file format v1 reference fixture";

/* Builds the network and optimizer the reference file holds, from values
 * exact in binary so they can be checked with ==. */
static void reference_model(syn_net **net_out, syn_optimizer **opt_out)
{
    syn_layer_desc layers[2] = {DENSE(4, SYN_ACT_LEAKY_RELU, 0.25f, 0),
                                DENSE(3, SYN_ACT_SOFTMAX, 0, 0)};
    syn_net *net = make_net(3, layers, 2, SYN_LOSS_CROSS_ENTROPY, SYN_REDUCTION_MEAN, 0);
    size_t n;
    float *p = syn_net_params(net, &n);
    for (size_t i = 0; i < n; i++)
        p[i] = (float)((int)i - 15) / 8.0f;
    const float offset[3] = {1.0f, 2.0f, -3.0f}, scale[3] = {0.5f, 0.25f, 2.0f};
    syn_net_set_input_scaling(net, offset, scale);
    const char *names[3] = {"setosa", "versicolor", "virginica"};
    syn_net_set_class_names(net, names, 3);
    syn_train_meta m;
    memset(&m, 0, sizeof m);
    m.epochs = 12;
    m.seed = 42;
    m.samples_seen = 1800;
    m.train_loss = 0.125;
    m.train_accuracy = 0.75;
    m.val_loss = NAN;
    m.val_accuracy = 0.5;
    strcpy(m.library_version, "0.1.0");
    strcpy(m.optimizer, "adam");
    syn_net_set_meta(net, &m);
    syn_optim_desc d = syn_optim_defaults(SYN_OPTIM_ADAM);
    d.lr = 0.0625f;
    syn_optimizer *opt = NULL;
    syn_optimizer_create(net, &d, &opt);
    float *first, *second;
    syn_optimizer_moments(opt, &first, &second, NULL);
    for (size_t i = 0; i < n; i++) {
        first[i] = (float)i / 16.0f;
        second[i] = (float)i / 64.0f;
    }
    syn_optimizer_set_steps(opt, 7);
    *net_out = net;
    *opt_out = opt;
}

static int write_reference(const char *dir)
{
    syn_net *net;
    syn_optimizer *opt;
    reference_model(&net, &opt);
    syn_model_section note = {{'n', 'o', 't', 'e'}, reference_note, sizeof reference_note - 1};
    char path[512];
    snprintf(path, sizeof path, "%s/v1_reference.syn", dir);
    syn_error err = {""};
    syn_status st = syn_model_write(net, opt, &note, 1, path, &err);
    if (st != SYN_OK)
        fprintf(stderr, "%s\n", err.message);
    syn_optimizer_free(opt);
    syn_net_free(net);
    return st == SYN_OK ? 0 : 1;
}

static void test_v1_reference(void)
{
    const char *path = FIXTURE_DIR "/v1_reference.syn";
    syn_error err = {""};
    syn_net *net = NULL;
    syn_optimizer *opt = NULL;
    CHECK_OK(syn_net_load(path, &net, &opt, &err));
    syn_net *want = NULL;
    syn_optimizer *want_opt = NULL;
    reference_model(&want, &want_opt);
    if (net && opt) {
        check_same_net(want, net, "v1 reference");
        syn_layer_desc d;
        syn_net_layer(net, 0, &d, NULL);
        CHECK(d.activation == SYN_ACT_LEAKY_RELU && d.leaky_slope == 0.25f, "leaky layer");
        CHECK(!strcmp(syn_net_class_name(net, 2), "virginica"), "class name");
        syn_optim_desc od = syn_optimizer_desc(opt);
        CHECK(od.kind == SYN_OPTIM_ADAM && od.lr == 0.0625f && od.beta2 == 0.999f, "optimizer");
        CHECK(syn_optimizer_steps(opt) == 7, "steps");
        float *m, *v;
        size_t n;
        syn_optimizer_moments(opt, &m, &v, &n);
        CHECK(n == 31 && m[30] == 30.0f / 16.0f && v[5] == 5.0f / 64.0f, "moments");
    }
    uint8_t *file = NULL, *fresh = NULL;
    size_t file_size = 0, fresh_size = 0;
    CHECK_OK(syn_file_read(path, NULL, &file, &file_size, NULL));
    const uint8_t *note = NULL;
    size_t note_size = 0;
    CHECK_OK(syn_model_find_section(file, file_size, path, "note", &note, &note_size, NULL));
    CHECK(note_size == sizeof reference_note - 1 && !memcmp(note, reference_note, note_size),
          "note section");
    /* A network of dense layers is still written as version 1, byte for
     * byte this file (old readers read it): any change to that layout
     * needs a new version. */
    syn_model_section extra = {{'n', 'o', 't', 'e'}, reference_note, sizeof reference_note - 1};
    CHECK_OK(syn_model_serialize(want, want_opt, &extra, 1, &fresh, &fresh_size, NULL));
    CHECK(fresh_size == file_size && !memcmp(fresh, file, file_size),
          "the writer no longer produces the v1 reference file");
    free(file);
    free(fresh);
    syn_optimizer_free(opt);
    syn_net_free(net);
    syn_optimizer_free(want_opt);
    syn_net_free(want);
}

static void remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    char path[1024];
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat sb;
        if (lstat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
            remove_tree(path);
        else
            unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "--write-fixtures"))
        return write_reference(argv[2]);
    const char *base = getenv("TMPDIR");
    snprintf(tmp_root, sizeof tmp_root, "%s/syn_model_XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmp_root)) {
        fprintf(stderr, "cannot create a temporary directory: %s\n", strerror(errno));
        return 1;
    }
    test_crc32();
    test_round_trip_activations();
    test_round_trip_special_values();
    test_optimizer_round_trip();
    test_every_flipped_byte();
    test_every_truncation();
    test_versions_and_flags();
    test_extra_sections();
    test_hand_built();
    test_mutations();
    test_not_a_model();
    test_atomic_save();
    test_bad_arguments();
    test_v1_reference();
    remove_tree(tmp_root);
    return check_finish();
}
