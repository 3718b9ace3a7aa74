/* test_limits.c - sizes that cannot be: networks, workspaces, trainers and
 * estimates with huge dimensions fail with OVERFLOW (or OUT_OF_MEMORY for a
 * size that is addressable but not available), never with a crash or a
 * giant allocation; syn_net_memory_estimate matches the arithmetic; the IDX
 * and CSV loaders refuse data past a byte limit with MEMORY_LIMIT before
 * allocating it (an IDX header claiming 4 billion images is refused from
 * its header alone). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "cli_run.h"
#include "synapse.h"

static char tmp_dir[] = "/tmp/syn_test_limits_XXXXXX";

#define path_in_tmp(name) cli_path(tmp_dir, name)

static syn_status create(size_t n_inputs, const size_t *widths, size_t n, syn_net **out)
{
    syn_layer_desc layers[4];
    memset(layers, 0, sizeof layers);
    for (size_t i = 0; i < n; i++)
        layers[i].units = widths[i];
    syn_net_desc d = {.n_inputs = n_inputs, .n_layers = n, .layers = layers};
    return syn_net_create(&d, out);
}

static void test_huge_networks(void)
{
    const size_t third = SIZE_MAX / 3, half = SIZE_MAX / 2;
    const size_t cases[][3] = {
        {2, third, 1},            /* 2 * SIZE_MAX/3 weights, plus a bias: floats overflow */
        {third, 4, 1},            /* the product overflows */
        {half, half, 1},          /* the product overflows */
        {1, half, 1},             /* SIZE_MAX/2 floats: bytes overflow */
        {4000000000u, 4000000000u, 2}, /* 1.6e19 weights */
        {1, SIZE_MAX, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t widths[2] = {cases[i][1], cases[i][2]};
        syn_net *net = (syn_net *)1;
        syn_status st = create(cases[i][0], widths, 2, &net);
        CHECK(st == SYN_ERR_OVERFLOW || st == SYN_ERR_OUT_OF_MEMORY,
              "case %zu: %s", i, syn_strerror(st));
        CHECK(net == NULL, "case %zu: no network", i);
        syn_layer_desc layers[2] = {{.units = widths[0]}, {.units = widths[1]}};
        syn_net_desc d = {.n_inputs = cases[i][0], .n_layers = 2, .layers = layers};
        size_t bytes = 0;
        CHECK(syn_net_memory_estimate(&d, SYN_OPTIM_ADAM, 128, &bytes) == SYN_ERR_OVERFLOW,
              "case %zu: the estimate overflows", i);
    }
}

static void test_estimate(void)
{
    syn_layer_desc layers[2] = {{.units = 10, .activation = SYN_ACT_RELU},
                                {.units = 3, .activation = SYN_ACT_SOFTMAX}};
    syn_net_desc d = {.n_inputs = 4, .n_layers = 2, .layers = layers,
                      .loss = SYN_LOSS_CROSS_ENTROPY};
    size_t sgd = 0, adam = 0, adam_batch = 0, big = 0;
    CHECK_OK(syn_net_memory_estimate(&d, SYN_OPTIM_SGD, 0, &sgd));
    CHECK_OK(syn_net_memory_estimate(&d, SYN_OPTIM_ADAM, 0, &adam));
    CHECK_OK(syn_net_memory_estimate(&d, SYN_OPTIM_ADAM, 64, &adam_batch));
    size_t n_params = 4 * 10 + 10 + 10 * 3 + 3;
    /* Two moment arenas of n_params floats, each rounded to 64 bytes. */
    CHECK(adam - sgd >= 2 * n_params * 4 && adam - sgd <= 2 * (n_params * 4 + 128),
          "Adam adds two moment arenas: %zu", adam - sgd);
    /* Per row: input twice, 10 + 3 activations, 3 logits, deltas of 3 (the
     * output layer's) and 10 (the hidden one's), 3 targets. */
    size_t per_row = 4 + 10 + 3 + 3 + 3 + 10 + 4 + 3;
    CHECK(adam_batch - adam >= 64 * per_row * 4 + n_params * 4,
          "the workspace for 64 rows: %zu", adam_batch - adam);
    /* A real allocation of the same thing fits in the estimate. */
    syn_net *net = NULL;
    CHECK_OK(syn_net_create(&d, &net));
    CHECK(syn_net_param_count(net) == n_params, "parameters");
    syn_net_free(net);
    CHECK(syn_net_memory_estimate(&d, SYN_OPTIM_SGD, SIZE_MAX / 8, &big) == SYN_ERR_OVERFLOW,
          "a huge batch overflows");
    CHECK(syn_net_memory_estimate(NULL, SYN_OPTIM_SGD, 1, &big) == SYN_ERR_INVALID_ARGUMENT,
          "NULL");
    CHECK(syn_net_memory_estimate(&d, SYN_OPTIM_COUNT_, 1, &big) == SYN_ERR_INVALID_ARGUMENT,
          "unknown optimizer");
    layers[0].units = 0;
    CHECK(syn_net_memory_estimate(&d, SYN_OPTIM_SGD, 1, &big) == SYN_ERR_INVALID_ARGUMENT,
          "zero width");
}

static void test_huge_batches(void)
{
    syn_layer_desc layers[1] = {{.units = 2}};
    syn_net_desc d = {.n_inputs = 3, .n_layers = 1, .layers = layers};
    syn_net *net = NULL;
    CHECK_OK(syn_net_create(&d, &net));
    syn_workspace *ws = (syn_workspace *)1;
    CHECK(syn_workspace_create(net, SIZE_MAX / 2, &ws) == SYN_ERR_OVERFLOW && !ws,
          "workspace for SIZE_MAX/2 rows");
    syn_status st;
    /* A trainer with a huge batch size: epochs clamp it to the rows; a step
     * with a huge batch fails in the size arithmetic. */
    syn_optim_desc od = syn_optim_defaults(SYN_OPTIM_ADAM);
    syn_train_desc td = {.batch_size = SIZE_MAX, .n_threads = 1};
    syn_trainer *tr = NULL;
    CHECK_OK(syn_trainer_create(net, &od, &td, &tr));
    float x[6] = {1, 2, 3, 4, 5, 6}, y[4] = {1, 0, 0, 1};
    syn_dataset *ds = NULL;
    CHECK_OK(syn_dataset_from_floats(x, 2, 3, y, 2, &ds));
    syn_epoch_stats s;
    CHECK_OK(syn_trainer_epoch(tr, ds, NULL, 0, NULL, NULL, &s));
    CHECK(s.batches == 1 && s.samples == 2, "batch clamped to the rows");
    st = syn_trainer_step(tr, x, y, SIZE_MAX / 2, NULL);
    CHECK(st == SYN_ERR_OVERFLOW, "a step of SIZE_MAX/2 rows: %s", syn_strerror(st));
    syn_trainer_free(tr);
    syn_dataset_free(ds);
    syn_net_free(net);
}

static void write_bytes(const char *path, const void *data, size_t n)
{
    FILE *fp = fopen(path, "wb");
    if (fp) {
        fwrite(data, 1, n, fp);
        fclose(fp);
    }
}

static void test_idx_limit(void)
{
    /* 3 images of 2x2, and their labels. */
    unsigned char images[16 + 12] = {0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 2};
    unsigned char labels[8 + 3] = {0, 0, 8, 1, 0, 0, 0, 3, 0, 1, 2};
    for (int i = 0; i < 12; i++)
        images[16 + i] = (unsigned char)(i * 20);
    write_bytes(path_in_tmp("img.idx"), images, sizeof images);
    write_bytes(path_in_tmp("lab.idx"), labels, sizeof labels);
    syn_dataset *ds = NULL;
    syn_error err = {{0}};
    /* 12 pixel bytes + 12 label bytes = 24. */
    CHECK_OK(syn_dataset_load_idx_limited(path_in_tmp("img.idx"), path_in_tmp("lab.idx"), 24,
                                          &ds, &err));
    syn_dataset_free(ds);
    ds = NULL;
    syn_status st = syn_dataset_load_idx_limited(path_in_tmp("img.idx"),
                                                 path_in_tmp("lab.idx"), 23, &ds, &err);
    CHECK(st == SYN_ERR_MEMORY_LIMIT && !ds && strstr(err.message, "limit of 23"),
          "23 bytes refused: %s", err.message);
    CHECK_OK(syn_dataset_load_idx_limited(path_in_tmp("img.idx"), NULL, 12, &ds, &err));
    syn_dataset_free(ds);
    ds = NULL;
    /* A header of 4e9 images of 65536 pixels, in a 16-byte file: refused from
     * the header (before reading, so not TRUNCATED). */
    unsigned char huge[16] = {0, 0, 8, 3, 0xee, 0x6b, 0x28, 0x00, 0, 0, 1, 0, 0, 0, 1, 0};
    write_bytes(path_in_tmp("huge.idx"), huge, sizeof huge);
    st = syn_dataset_load_idx_limited(path_in_tmp("huge.idx"), NULL, (size_t)1 << 30, &ds,
                                      &err);
    CHECK(st == SYN_ERR_MEMORY_LIMIT, "a lying header is refused by the limit: %s (%s)",
          syn_strerror(st), err.message);
    st = syn_dataset_load_idx(path_in_tmp("huge.idx"), NULL, &ds, &err);
    CHECK(st == SYN_ERR_TRUNCATED, "without a limit it is a truncated file: %s",
          syn_strerror(st));
}

static void test_csv_limit(void)
{
    FILE *fp = fopen(path_in_tmp("d.csv"), "w");
    if (!fp)
        return;
    fprintf(fp, "a,b,label\n");
    for (int i = 0; i < 1000; i++)
        fprintf(fp, "%d,%d,%s\n", i, i * 2, i % 3 ? "x" : "y");
    fclose(fp);
    /* A row is two floats and a label: 12 bytes; 1000 rows are 12000. */
    syn_csv_options o = {.max_bytes = 12000};
    syn_dataset *ds = NULL;
    syn_error err = {{0}};
    CHECK_OK(syn_dataset_load_csv(path_in_tmp("d.csv"), &o, &ds, &err));
    CHECK(ds && syn_dataset_n_samples(ds) == 1000, "1000 rows in exactly the limit");
    syn_dataset_free(ds);
    ds = NULL;
    o.max_bytes = 11999;
    syn_status st = syn_dataset_load_csv(path_in_tmp("d.csv"), &o, &ds, &err);
    CHECK(st == SYN_ERR_MEMORY_LIMIT && !ds && strstr(err.message, "row 1000"),
          "one byte less: %s", err.message);
    o.max_bytes = 5;
    st = syn_dataset_load_csv(path_in_tmp("d.csv"), &o, &ds, &err);
    CHECK(st == SYN_ERR_MEMORY_LIMIT && strstr(err.message, "row 1 "), "not even one row: %s",
          err.message);
    o.max_bytes = 0;
    o.regression = 1;
    o.n_target_columns = 0;
    st = syn_dataset_load_csv(path_in_tmp("d.csv"), &o, &ds, &err);
    CHECK(st == SYN_ERR_PARSE, "(regression on string labels is a parse error)");
}

int main(void)
{
    if (!mkdtemp(tmp_dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_huge_networks();
    test_estimate();
    test_huge_batches();
    test_idx_limit();
    test_csv_limit();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmp_dir);
    return check_finish();
}
