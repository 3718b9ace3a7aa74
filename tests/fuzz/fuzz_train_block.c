/* fuzz_train_block.c - libFuzzer target for the block `synapse train` keeps
 * in a checkpoint's `user` section (cli/train_ckpt.c): its run options,
 * stored by name, the data fingerprint, the epoch results and the
 * early-stopping state. A CRC is no proof of origin, so every input must
 * either fail with a reason or decode into options that each pass the
 * parser's own check (train_option_valid), print without reading outside
 * their tables, and encode and decode again to the same options. Also
 * built into test_fuzz_regressions (see fuzz.cmake). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "train.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_options(const train_options *o)
{
    char why[256], text[512];
    for (size_t i = 0; i < n_train_option_rows; i++) {
        if (!train_option_valid(&train_option_rows[i], o, why, sizeof why))
            abort();
        train_option_text(&train_option_rows[i], o, text, sizeof text);
    }
}

static void same_options(const train_options *a, const train_options *b)
{
    char x[512], y[512];
    for (size_t i = 0; i < n_train_option_rows; i++) {
        const train_option_row *r = &train_option_rows[i];
        if (r->resume == OPT_LOCAL)
            continue;
        train_option_text(r, a, x, sizeof x);
        train_option_text(r, b, y, sizeof y);
        if (strcmp(x, y) != 0)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The choice tables (--activation, --optimizer, --loss), as the
     * command's main fills them before anything runs. Without them every
     * stored choice word failed to decode, and a version-1 block's choice
     * was written back as no word at all. */
    train_names_init();
    train_ckpt_data d;
    if (!train_ckpt_decode(data, size, &d)) {
        if (d.error[0] == '\0')
            abort();
        return 0;
    }
    check_options(&d.options);
    /* Written again (without best weights, which need a network), it reads
     * back the same. */
    train_run run;
    memset(&run, 0, sizeof run);
    run.fingerprint = d.fingerprint;
    run.progress = d.progress;
    uint8_t *again = NULL;
    size_t again_size = 0;
    if (train_ckpt_encode(&d.options, &run, d.trained, d.n_trained, &again, &again_size)) {
        train_ckpt_data e;
        if (!train_ckpt_decode(again, again_size, &e))
            abort();
        same_options(&d.options, &e.options);
        if (e.progress.n_results != d.progress.n_results ||
            memcmp(&e.fingerprint, &d.fingerprint, sizeof e.fingerprint) != 0)
            abort();
        train_ckpt_data_free(&e);
        free(again);
    }
    train_ckpt_data_free(&d);
    return 0;
}
