/* fuzz_report_log.c - libFuzzer target for the --log reader of `synapse
 * report` (cli/report_log.c): a log file is anyone's, so every input must
 * either fail with a reason and leave nothing allocated, or give epochs
 * whose saved epoch is among them and a stop reason that is a string. Also
 * built into test_fuzz_regressions (see fuzz.cmake). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* fmemopen refuses an empty buffer; an empty file is the "empty" error. */
    static const uint8_t nothing[1] = {0};
    FILE *fp = fmemopen((void *)(size ? data : nothing), size ? size : 0, "r");
    if (!fp)
        return 0;
    report_history h;
    size_t line = 0; /* the failing line; not checked: any is possible */
    char why[192];
    int ok = report_history_parse(fp, &h, &line, why, sizeof why);
    fclose(fp);
    if (!ok) {
        if (!why[0] || h.epochs || h.n_epochs)
            abort();
        return 0;
    }
    if (h.saved_epoch > h.n_epochs || !memchr(h.stop_reason, '\0', sizeof h.stop_reason) ||
        (h.restored && h.saved_epoch >= h.n_epochs))
        abort();
    double sum = 0;
    for (size_t i = 0; i < h.n_epochs; i++)
        sum += h.epochs[i].train_loss + h.epochs[i].lr; /* every epoch is readable */
    (void)sum;
    report_history_free(&h);
    return 0;
}
