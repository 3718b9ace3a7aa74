/* test_hostile_ckpt.c - `synapse train --resume` on checkpoints whose run
 * options were changed and whose CRC-32 was recomputed (a CRC is not
 * authentication). Regression of issue 11, defect 1: a version-1 block
 * with --activation 99 (or --optimizer 77, --loss 50) made the command
 * index its tables with the value and crash (exit 139); now each is
 * refused with a message naming the option. Then a mutation loop over a
 * version-2 checkpoint: every option value set to garbage, and random
 * bytes of the block changed; every run must end with a documented exit
 * status, in time, and leave the data and an existing --out intact when
 * it fails. SYN_HOSTILE_MUTATIONS sets the random mutations (default 8;
 * test_hostile_ckpt_long runs more). */
#include <stdint.h>

#include "check.h"
#include "ckpt_mutate.h"
#include "hostile.h"
#include "synapse.h"

#ifndef N_MUTATIONS
#define N_MUTATIONS 8
#define N_GARBAGE 2 /* of the garbage patterns below: valgrind runs this */
#endif
#ifndef N_GARBAGE
#define N_GARBAGE 5
#endif

static char dir[] = "/tmp/syn_hostile_ckpt_XXXXXX";
static h_counts counts;

static const char *path(const char *name)
{
    return cli_path(dir, name);
}

static int write_file(const char *name, const uint8_t *data, size_t n)
{
    FILE *fp = fopen(path(name), "wb");
    int ok = fp && fwrite(data, 1, n, fp) == n;
    return fp ? (fclose(fp) == 0 && ok) : 0;
}

/* Resumes from `ckpt` over an existing keep.syn; checks the outcome. */
static h_result resume(const char *ckpt, const char *what)
{
    h_opts o = {.dir = dir, .stdin_fd = -1, .timeout = 60};
    char line[512];
    snprintf(line, sizeof line, "train --resume %s --out keep.syn --quiet --threads 1", ckpt);
    h_result r = h_run(&o, h_argv(line));
    h_count(&counts, &r, what);
    if (r.exited && r.code != 0 &&
        (!h_same_file(path("keep.syn"), path("keep.ref")) ||
         !h_same_file(path("three.csv"), path("three.ref")))) {
        counts.lost++;
        printf("LOST: %s: a failed resume changed keep.syn or three.csv\n", what);
    }
    h_copy(path("keep.ref"), path("keep.syn"));
    return r;
}

/* Defect 1 on the version-1 fixture: each value out of its table. */
static void test_v1_out_of_range(void)
{
    static const struct {
        int index;
        uint32_t value;
        const char *args, *expect;
    } cases[] = {
        {3, 99, "", "--activation 99"},
        {5, 77, "", "--optimizer 77"},
        {4, 50, "--loss ce", "--loss 50"},
        {6, 0x80000000u, "", "--schedule"},
        {1, 5, "", "--header/--no-header 5"},
    };
    size_t size = 0;
    uint8_t *ref = (uint8_t *)cli_read_file(SYN_TEST_DIR "/fixtures/model/ckpt_v1/v1.ckpt",
                                             &size);
    size_t at = 0, len = 0;
    CHECK(ref && cm_user_block(ref, size, &at, &len), "the v1 fixture has a user block");
    if (!ref || !cm_user_block(ref, size, &at, &len))
        return;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t *m = malloc(size);
        memcpy(m, ref, size);
        cm_put_u32(m + at + cm_v1_int(m + at, len, cases[i].index), cases[i].value);
        cm_fix_crc(m, size);
        write_file("bad.ckpt", m, size);
        free(m);
        h_opts o = {.dir = dir, .stdin_fd = -1, .timeout = 60};
        char line[256];
        snprintf(line, sizeof line, "train --resume bad.ckpt --out keep.syn --quiet %s",
                 cases[i].args);
        h_result r = h_run(&o, h_argv(line));
        h_count(&counts, &r, cases[i].expect);
        CHECK(r.exited && r.code == 1, "%s: exit 1, not %s %d", cases[i].expect,
              r.exited ? "exit" : "signal", r.exited ? r.code : r.sig);
        CHECK(strstr(r.err, "run options cannot be used") && strstr(r.err, cases[i].expect),
              "%s: named in the message: %s", cases[i].expect, r.err);
        CHECK(h_same_file(path("keep.syn"), path("keep.ref")), "%s: keep.syn kept",
              cases[i].expect);
        h_free(&r);
    }
    free(ref);
}

/* The version-1 fixture still resumes, to the model it was written with. */
static void test_v1_resumes(void)
{
    h_copy(SYN_TEST_DIR "/fixtures/model/ckpt_v1/v1.ckpt", path("v1.ckpt"));
    h_opts o = {.dir = dir, .stdin_fd = -1};
    h_result r = h_run(&o, h_argv("train --resume v1.ckpt --out v1_again.syn --quiet"));
    CHECK(r.exited && r.code == 0, "v1 checkpoint resumes: %s", r.err);
    /* The same network, bit for bit; today's file also records the input
     * columns it was trained on (a COLS section the old one lacks). */
    syn_net *again = NULL, *v1 = NULL;
    CHECK(syn_net_load(path("v1_again.syn"), &again, NULL, NULL) == SYN_OK &&
              syn_net_load(SYN_TEST_DIR "/fixtures/model/ckpt_v1/v1.syn", &v1, NULL, NULL) ==
                  SYN_OK, "both models load");
    if (again && v1) {
        size_t na = 0, nb = 0;
        const float *pa = syn_net_params_const(again, &na), *pb = syn_net_params_const(v1, &nb);
        const float *oa, *sa, *ob, *sb;
        syn_net_input_scaling(again, &oa, &sa);
        syn_net_input_scaling(v1, &ob, &sb);
        size_t ni = syn_net_n_inputs(v1);
        int same = na == nb && !memcmp(pa, pb, na * sizeof *pa) &&
                   syn_net_n_inputs(again) == ni && (oa == NULL) == (ob == NULL) &&
                   (!oa || (!memcmp(oa, ob, ni * sizeof *oa) && !memcmp(sa, sb, ni * sizeof *sa)));
        for (size_t i = 0; same && i < syn_net_n_class_names(v1); i++)
            same = !strcmp(syn_net_class_name(again, i), syn_net_class_name(v1, i));
        CHECK(same, "the v1 checkpoint's run gives the network written with it");
        CHECK(syn_net_encoding(again) && !syn_net_encoding(v1), "and now records its columns");
    }
    syn_net_free(again);
    syn_net_free(v1);
    h_free(&r);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t next_random(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Runs `train ARGS --checkpoint CKPT --quiet --threads 1` and reads the
 * checkpoint it wrote, with its user block's place; NULL (a failed check)
 * if there is no block of at least min_len bytes. */
static uint8_t *reference_checkpoint(const char *args, const char *ckpt, size_t min_len,
                                     size_t *size, size_t *at, size_t *len)
{
    h_opts o = {.dir = dir, .stdin_fd = -1};
    char line[512];
    snprintf(line, sizeof line, "train %s --checkpoint %s --quiet --threads 1", args, ckpt);
    h_result r = h_run(&o, h_argv(line));
    CHECK(r.exited && r.code == 0, "the reference run %s: %s", ckpt, r.err);
    h_free(&r);
    uint8_t *file = (uint8_t *)cli_read_file(path(ckpt), size);
    if (!file || !cm_user_block(file, *size, at, len) || *len < min_len) {
        CHECK(0, "%s has a user block", ckpt);
        free(file);
        return NULL;
    }
    return file;
}

/* A checkpoint of options stored by name (version 2 and later), each
 * option's value replaced by garbage, then random bytes of the block. */
static void test_v2_mutations(size_t n_random)
{
    size_t size = 0, at = 0, len = 0;
    /* String options the run leaves unset are not stored (a checkpoint of a
     * run without --report resumes in older versions): set each one named
     * below, so that each one's value is there to spoil. */
    uint8_t *ref = reference_checkpoint("--data three.csv --out ref.syn --hidden 3 --epochs 2 "
                                        "--val-split 0.25 --early-stop 2 --target label "
                                        "--delimiter , --log ref.log",
                                        "v2.ckpt", 1, &size, &at, &len);
    if (!ref)
        return;
    static const char *const names[] = {
        "--data", "--target", "--task", "--delimiter", "--header", "--val-split", "--scale",
        "--hidden", "--activation", "--loss", "--optimizer", "--lr", "--weight-decay",
        "--batch", "--epochs", "--schedule", "--seed", "--early-stop", "--checkpoint-every",
        "--out", "--log", "--label-smoothing", "--huber-delta", "--warmup", "--gamma"};
    static const uint8_t garbage[][8] = {
        {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
        {0x63, 0, 0, 0, 0, 0, 0, 0},
        {0, 0, 0, 0, 0, 0, 0xf0, 0x7f}, /* +inf as f64 */
        {0, 0, 0, 0x80, 0, 0, 0, 0x80},
        {5, 0, 0, 0, 'x', 'y', 'z', 'w'}};
    uint8_t *m = malloc(size);
    size_t refused = 0;
    /* Under valgrind (each child ~50x slower) every third option, once. */
    int vg = h_under_valgrind();
    size_t tried = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i += vg ? 3 : 1)
        for (size_t g = 0; g < (vg ? 1 : N_GARBAGE); g++) {
            tried++;
            uint8_t kind;
            memcpy(m, ref, size);
            size_t v = cm_v2_value(m + at, len, names[i], &kind);
            CHECK(v > 0, "%s is stored", names[i]);
            if (!v)
                continue;
            size_t n = kind == 0 ? 4 : 8;
            memcpy(m + at + v, garbage[g], v + n <= len ? n : len - v);
            cm_fix_crc(m, size);
            write_file("m.ckpt", m, size);
            char what[128];
            snprintf(what, sizeof what, "%s garbage %zu", names[i], g);
            h_result res = resume("m.ckpt", what);
            refused += res.exited && res.code != 0;
            h_free(&res);
        }
    /* Random flips spare the value of --epochs: a flip there can make a
     * valid run of millions of epochs, which would be a long run, not a
     * hang. */
    uint8_t kind;
    size_t epochs_at = cm_v2_value(ref + at, len, "--epochs", &kind);
    for (size_t k = 0; k < n_random; k++) {
        memcpy(m, ref, size);
        size_t flips = 1 + next_random() % 4;
        for (size_t f = 0; f < flips; f++) {
            size_t byte = next_random() % len;
            if (epochs_at && byte >= epochs_at && byte < epochs_at + 8)
                continue;
            m[at + byte] ^= (uint8_t)(1u << (next_random() % 8));
        }
        cm_fix_crc(m, size);
        write_file("m.ckpt", m, size);
        char what[64];
        snprintf(what, sizeof what, "random mutation %zu", k);
        h_result res = resume("m.ckpt", what);
        h_free(&res);
    }
    printf("option garbage: %zu of %zu refused\n", refused, tried);
    free(m);
    free(ref);
}

/* Version 3 adds the stopping rule's counters after the best weights (72
 * bytes: docs/FORMAT.md) and a regression's trained parameters (a u64
 * count, 0 for a classifier, last): counters past the epochs recorded are
 * refused by name, not trusted. */
static void test_v3_counters(void)
{
    size_t size = 0, at = 0, len = 0;
    uint8_t *m = reference_checkpoint("--data three.csv --out ref3.syn --hidden 3 "
                                      "--max-epochs 3 --val-split 0.25", "v3.ckpt", 8 + 72,
                                      &size, &at, &len);
    if (!m)
        return;
    CHECK(cm_u64(m + at + len - 8) == 0, "a classifier stores no trained parameters");
    size_t since_best = at + len - 8 - 72 + 48;
    for (int i = 0; i < 8; i++)
        m[since_best + i] = 0xff;
    cm_fix_crc(m, size);
    write_file("m3.ckpt", m, size);
    h_result r = resume("m3.ckpt", "v3 counters");
    CHECK(r.exited && r.code == 1 && strstr(r.err, "its stopping rule's counters do not fit"),
          "counters refused: %s", r.err);
    h_free(&r);
    free(m);
}

int main(void)
{
    if (!mkdtemp(dir))
        return perror("mkdtemp"), 1;
    h_copy(SYN_TEST_DIR "/fixtures/model/ckpt_v1/three.csv", path("three.csv"));
    h_copy(path("three.csv"), path("three.ref"));
    h_copy(SYN_TEST_DIR "/fixtures/model/ckpt_v1/v1.syn", path("keep.syn"));
    h_copy(path("keep.syn"), path("keep.ref"));
    test_v1_out_of_range();
    test_v1_resumes();
    test_v3_counters();
    const char *env = getenv("SYN_HOSTILE_MUTATIONS");
    test_v2_mutations(env ? (size_t)strtoul(env, NULL, 10)
                          : h_under_valgrind() ? N_MUTATIONS / 2 : N_MUTATIONS);
    return h_finish(&counts, dir);
}
