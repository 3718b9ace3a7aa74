/* test_idx_fashion_long.c - the real Fashion-MNIST files installed by
 * Debian's dataset-fashion-mnist load as 60000 and 10000 images of 784
 * uint8 pixels with labels 0..9, 6000 and 1000 per class. Skips (exit 77)
 * when the files are not installed. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "synapse.h"

#define FASHION_DIR "/usr/share/datasets/fashion-mnist/"

static void check_split(const char *images, const char *labels, size_t n)
{
    syn_dataset *ds = NULL;
    syn_error err = {{0}};
    syn_status s = syn_dataset_load_idx(images, labels, &ds, &err);
    CHECK(s == SYN_OK, "%s: status %d: %s", images, (int)s, err.message);
    if (s != SYN_OK)
        return;
    CHECK(syn_dataset_n_samples(ds) == n, "%zu images, got %zu", n, syn_dataset_n_samples(ds));
    CHECK(syn_dataset_n_features(ds) == 784, "28x28 pixels");
    CHECK(syn_dataset_n_classes(ds) == 10, "10 classes");
    size_t per_class[10] = {0};
    int in_range = 1;
    for (size_t i = 0; i < syn_dataset_n_samples(ds); i++) {
        uint32_t label = 99;
        CHECK_OK(syn_dataset_label(ds, i, &label));
        in_range &= label < 10;
        if (label < 10)
            per_class[label]++;
    }
    CHECK(in_range, "labels in 0..9");
    for (size_t c = 0; c < 10; c++)
        CHECK(per_class[c] == n / 10, "class %zu has %zu samples", c, per_class[c]);

    /* Pixels come back unscaled: some are 255, none above. */
    float x[784];
    float max = 0;
    for (size_t row = 0; row < 50; row++) {
        CHECK_OK(syn_dataset_gather(ds, &row, 1, x, NULL));
        for (size_t j = 0; j < 784; j++)
            max = x[j] > max ? x[j] : max;
    }
    CHECK(max == 255.0f, "max pixel of the first 50 images is 255, got %g", (double)max);
    syn_dataset_free(ds);
}

int main(void)
{
    const char *train_images = FASHION_DIR "train-images-idx3-ubyte.gz";
    if (access(train_images, R_OK) != 0) {
        printf("skipped: %s is not installed\n", train_images);
        return 77;
    }
    syn_dataset *probe = NULL;
    if (syn_dataset_load_idx(FASHION_DIR "t10k-labels-idx1-ubyte.gz", NULL, &probe, NULL) ==
        SYN_ERR_UNSUPPORTED) {
        printf("skipped: this build reads no gzip (no zlib)\n");
        return 77;
    }
    syn_dataset_free(probe);
    check_split(train_images, FASHION_DIR "train-labels-idx1-ubyte.gz", 60000);
    check_split(FASHION_DIR "t10k-images-idx3-ubyte.gz", FASHION_DIR "t10k-labels-idx1-ubyte.gz",
                10000);
    return check_finish();
}
