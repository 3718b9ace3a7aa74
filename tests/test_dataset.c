/* test_dataset.c - in-memory datasets: constructors, accessors, gather
 * (one-hot labels, uint8 to float), fit_scaling against hand-computed
 * values, the train/validation split, and bad arguments to each. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "synapse.h"

static syn_dataset *const SENTINEL = (syn_dataset *)&check_passed_;

static void test_floats(void)
{
    const float x[] = {1, 2, 3, 4, 5, 6};
    const float t[] = {10, 11, 20, 21, 30, 31};
    syn_dataset *ds = NULL;
    CHECK_OK(syn_dataset_from_floats(x, 3, 2, t, 2, &ds));
    CHECK(syn_dataset_n_samples(ds) == 3, "n_samples");
    CHECK(syn_dataset_n_features(ds) == 2, "n_features");
    CHECK(syn_dataset_target_width(ds) == 2, "regression width is n_targets");
    CHECK(syn_dataset_n_classes(ds) == 0, "regression has no classes");
    CHECK(syn_dataset_n_class_names(ds) == 0, "no class names");
    CHECK(syn_dataset_class_name(ds, 0) == NULL, "no class names");
    CHECK(syn_dataset_feature_name(ds, 0) == NULL, "no feature names");
    uint32_t label = 99;
    CHECK(syn_dataset_label(ds, 0, &label) == SYN_ERR_INVALID_ARGUMENT, "no labels");
    CHECK(label == 99, "label untouched");

    const size_t rows[] = {2, 0};
    float gx[4], gy[4];
    CHECK_OK(syn_dataset_gather(ds, rows, 2, gx, gy));
    CHECK(gx[0] == 5 && gx[1] == 6 && gx[2] == 1 && gx[3] == 2, "gathered features");
    CHECK(gy[0] == 30 && gy[1] == 31 && gy[2] == 10 && gy[3] == 11, "gathered targets");
    CHECK_OK(syn_dataset_gather(ds, rows, 1, gx, NULL));
    syn_dataset_free(ds);

    /* Unlabelled (for prediction): no targets at all. */
    CHECK_OK(syn_dataset_from_floats(x, 3, 2, NULL, 0, &ds));
    CHECK(syn_dataset_target_width(ds) == 0, "unlabelled width 0");
    CHECK_OK(syn_dataset_gather(ds, rows, 2, gx, gy));
    syn_dataset_free(ds);
}

static void test_labels(void)
{
    const float x[] = {0, 1, 2, 3, 4, 5, 6, 7};
    const uint32_t labels[] = {0, 2, 1, 2};
    syn_dataset *ds = NULL;
    CHECK_OK(syn_dataset_from_labels(x, 4, 2, labels, 3, &ds));
    CHECK(syn_dataset_target_width(ds) == 3, "one-hot width is n_classes");
    CHECK(syn_dataset_n_classes(ds) == 3, "n_classes");
    uint32_t label;
    CHECK_OK(syn_dataset_label(ds, 1, &label));
    CHECK(label == 2, "label of sample 1, got %u", (unsigned)label);
    CHECK(syn_dataset_label(ds, 4, &label) == SYN_ERR_INVALID_ARGUMENT, "row out of range");
    CHECK(syn_dataset_label(ds, 0, NULL) == SYN_ERR_INVALID_ARGUMENT, "NULL label");

    const size_t rows[] = {3, 0, 2};
    float gx[6], gy[9];
    CHECK_OK(syn_dataset_gather(ds, rows, 3, gx, gy));
    const float want_x[] = {6, 7, 0, 1, 4, 5};
    const float want_y[] = {0, 0, 1, 1, 0, 0, 0, 1, 0};
    CHECK(memcmp(gx, want_x, sizeof want_x) == 0, "gathered features");
    CHECK(memcmp(gy, want_y, sizeof want_y) == 0, "one-hot targets");
    syn_dataset_free(ds);
}

static void test_u8(void)
{
    const uint8_t x[] = {0, 128, 255, 7, 8, 9};
    const uint32_t labels[] = {1, 0};
    syn_dataset *ds = NULL;
    CHECK_OK(syn_dataset_from_u8_labels(x, 2, 3, labels, 2, &ds));
    const size_t rows[] = {0, 1, 0};
    float gx[9], gy[6];
    CHECK_OK(syn_dataset_gather(ds, rows, 3, gx, gy));
    const float want_x[] = {0, 128, 255, 7, 8, 9, 0, 128, 255};
    const float want_y[] = {0, 1, 1, 0, 0, 1};
    CHECK(memcmp(gx, want_x, sizeof want_x) == 0, "uint8 gathered unscaled as float");
    CHECK(memcmp(gy, want_y, sizeof want_y) == 0, "one-hot targets");

    float offset[3], scale[3];
    CHECK_OK(syn_dataset_fit_scaling(ds, NULL, 0, SYN_SCALE_MINMAX, offset, scale));
    CHECK(offset[0] == 0 && offset[1] == 8 && offset[2] == 9, "uint8 minimum");
    CHECK_CLOSE(scale[0], 1.0 / 7, 1e-6, 0, "uint8 range 7");
    CHECK_CLOSE(scale[1], 1.0 / 120, 1e-6, 0, "uint8 range 120");
    CHECK_CLOSE(scale[2], 1.0 / 246, 1e-6, 0, "uint8 range 246");
    CHECK_OK(syn_dataset_fit_scaling(ds, NULL, 0, SYN_SCALE_STANDARD, offset, scale));
    CHECK_CLOSE(offset[2], 132.0, 1e-6, 0, "uint8 mean");
    CHECK_CLOSE(scale[2], 1.0 / 123.0, 1e-6, 0, "uint8 population std");
    syn_dataset_free(ds);
}

/* Columns: 1..4 (range 3, mean 2.5, population std sqrt(1.25)), constant
 * 5, and -1/1 alternating (mean 0, std 1). */
static void test_scaling(void)
{
    const float x[] = {1, 5, -1, 2, 5, 1, 3, 5, -1, 4, 5, 1};
    syn_dataset *ds = NULL;
    CHECK_OK(syn_dataset_from_floats(x, 4, 3, NULL, 0, &ds));
    float offset[3], scale[3];

    CHECK_OK(syn_dataset_fit_scaling(ds, NULL, 0, SYN_SCALE_MINMAX, offset, scale));
    CHECK(offset[0] == 1 && offset[1] == 5 && offset[2] == -1, "minmax offsets are minima");
    CHECK_CLOSE(scale[0], 1.0 / 3, 1e-7, 0, "minmax scale 1/range");
    CHECK(scale[1] == 1, "constant feature: scale 1, so it maps to 0");
    CHECK(scale[2] == 0.5f, "minmax scale 1/2");

    CHECK_OK(syn_dataset_fit_scaling(ds, NULL, 0, SYN_SCALE_STANDARD, offset, scale));
    CHECK(offset[0] == 2.5f && offset[1] == 5 && offset[2] == 0, "means");
    CHECK_CLOSE(scale[0], 1.0 / sqrt(1.25), 1e-7, 0, "1 / population std");
    CHECK(scale[1] == 1, "constant feature: scale 1");
    CHECK(scale[2] == 1, "std 1");

    /* Only the given rows count (training rows only). */
    const size_t rows[] = {1, 0};
    CHECK_OK(syn_dataset_fit_scaling(ds, rows, 2, SYN_SCALE_MINMAX, offset, scale));
    CHECK(offset[0] == 1 && scale[0] == 1, "minmax over rows 0, 1");
    CHECK_OK(syn_dataset_fit_scaling(ds, rows, 2, SYN_SCALE_STANDARD, offset, scale));
    CHECK(offset[0] == 1.5f && scale[0] == 2, "standard over rows 0, 1");

    CHECK_OK(syn_dataset_fit_scaling(ds, NULL, 0, SYN_SCALE_NONE, offset, scale));
    CHECK(offset[0] == 0 && offset[2] == 0 && scale[0] == 1 && scale[2] == 1, "none");

    /* Bad arguments leave the outputs alone. */
    offset[0] = 42;
    const size_t bad_rows[] = {0, 4};
    CHECK(syn_dataset_fit_scaling(NULL, NULL, 0, SYN_SCALE_MINMAX, offset, scale) ==
          SYN_ERR_INVALID_ARGUMENT, "NULL dataset");
    CHECK(syn_dataset_fit_scaling(ds, NULL, 0, SYN_SCALE_MINMAX, NULL, scale) ==
          SYN_ERR_INVALID_ARGUMENT, "NULL offset");
    CHECK(syn_dataset_fit_scaling(ds, NULL, 0, SYN_SCALE_MINMAX, offset, NULL) ==
          SYN_ERR_INVALID_ARGUMENT, "NULL scale");
    CHECK(syn_dataset_fit_scaling(ds, NULL, 0, SYN_SCALE_COUNT_, offset, scale) ==
          SYN_ERR_INVALID_ARGUMENT, "unknown kind");
    CHECK(syn_dataset_fit_scaling(ds, NULL, 0, (syn_scale_kind)-1, offset, scale) ==
          SYN_ERR_INVALID_ARGUMENT, "negative kind");
    CHECK(syn_dataset_fit_scaling(ds, rows, 0, SYN_SCALE_MINMAX, offset, scale) ==
          SYN_ERR_INVALID_ARGUMENT, "zero rows");
    CHECK(syn_dataset_fit_scaling(ds, bad_rows, 2, SYN_SCALE_STANDARD, offset, scale) ==
          SYN_ERR_INVALID_ARGUMENT, "row out of range");
    CHECK(offset[0] == 42, "outputs untouched on failure");
    syn_dataset_free(ds);
}

static void test_constructor_errors(void)
{
    const float x[] = {1, 2, 3, 4};
    const uint8_t x8[] = {1, 2, 3, 4};
    const uint32_t labels[] = {0, 3};
    syn_dataset *ds = SENTINEL;
    CHECK(syn_dataset_from_floats(NULL, 2, 2, NULL, 0, &ds) == SYN_ERR_INVALID_ARGUMENT, "x");
    CHECK(syn_dataset_from_floats(x, 0, 2, NULL, 0, &ds) == SYN_ERR_INVALID_ARGUMENT, "n 0");
    CHECK(syn_dataset_from_floats(x, 2, 0, NULL, 0, &ds) == SYN_ERR_INVALID_ARGUMENT, "f 0");
    CHECK(syn_dataset_from_floats(x, 2, 2, NULL, 0, NULL) == SYN_ERR_INVALID_ARGUMENT, "out");
    CHECK(syn_dataset_from_floats(x, 2, 2, NULL, 1, &ds) == SYN_ERR_INVALID_ARGUMENT,
          "targets NULL with n_targets 1");
    CHECK(syn_dataset_from_floats(x, 2, 2, x, 0, &ds) == SYN_ERR_INVALID_ARGUMENT,
          "targets with n_targets 0");
    CHECK(syn_dataset_from_floats(x, SIZE_MAX, 2, NULL, 0, &ds) == SYN_ERR_OVERFLOW,
          "n * f overflows");
    CHECK(syn_dataset_from_floats(x, 2, 2, x, SIZE_MAX, &ds) == SYN_ERR_OVERFLOW,
          "n * n_targets overflows");

    CHECK(syn_dataset_from_labels(x, 2, 2, labels, 3, &ds) == SYN_ERR_INVALID_ARGUMENT,
          "label 3 >= n_classes 3");
    CHECK(syn_dataset_from_labels(x, 2, 2, labels, 0, &ds) == SYN_ERR_INVALID_ARGUMENT,
          "n_classes 0");
    CHECK(syn_dataset_from_labels(x, 2, 2, NULL, 4, &ds) == SYN_ERR_INVALID_ARGUMENT,
          "labels NULL");
    CHECK(syn_dataset_from_labels(NULL, 2, 2, labels, 4, &ds) == SYN_ERR_INVALID_ARGUMENT,
          "x NULL");
    CHECK(syn_dataset_from_labels(x, 2, 2, labels, 4, NULL) == SYN_ERR_INVALID_ARGUMENT,
          "out NULL");
    CHECK(syn_dataset_from_labels(x, SIZE_MAX / 2, 4, labels, 4, &ds) == SYN_ERR_OVERFLOW,
          "overflow");
    CHECK(syn_dataset_from_u8_labels(x8, 2, 2, labels, 3, &ds) == SYN_ERR_INVALID_ARGUMENT,
          "u8 label 3 >= n_classes 3");
    CHECK(syn_dataset_from_u8_labels(x8, 0, 2, labels, 4, &ds) == SYN_ERR_INVALID_ARGUMENT,
          "u8 n 0");
    CHECK(syn_dataset_from_u8_labels(x8, 2, 0, labels, 4, &ds) == SYN_ERR_INVALID_ARGUMENT,
          "u8 f 0");
    CHECK(syn_dataset_from_u8_labels(NULL, 2, 2, labels, 4, &ds) == SYN_ERR_INVALID_ARGUMENT,
          "u8 x NULL");
    CHECK(syn_dataset_from_u8_labels(x8, 2, 2, NULL, 4, &ds) == SYN_ERR_INVALID_ARGUMENT,
          "u8 labels NULL");
    CHECK(ds == SENTINEL, "out untouched on failure");
}

static void test_accessor_and_gather_errors(void)
{
    CHECK(syn_dataset_n_samples(NULL) == 0, "NULL n_samples");
    CHECK(syn_dataset_n_features(NULL) == 0, "NULL n_features");
    CHECK(syn_dataset_target_width(NULL) == 0, "NULL width");
    CHECK(syn_dataset_n_classes(NULL) == 0, "NULL n_classes");
    CHECK(syn_dataset_n_class_names(NULL) == 0, "NULL n_class_names");
    CHECK(syn_dataset_class_name(NULL, 0) == NULL, "NULL class name");
    CHECK(syn_dataset_feature_name(NULL, 0) == NULL, "NULL feature name");
    uint32_t label;
    CHECK(syn_dataset_label(NULL, 0, &label) == SYN_ERR_INVALID_ARGUMENT, "NULL label ds");
    syn_dataset_free(NULL);

    const float x[] = {1, 2, 3, 4};
    const uint32_t labels[] = {0, 1};
    syn_dataset *ds = NULL;
    CHECK_OK(syn_dataset_from_labels(x, 2, 2, labels, 2, &ds));
    const size_t rows[] = {0, 2};
    float gx[4] = {-1, -1, -1, -1}, gy[4] = {-1, -1, -1, -1};
    CHECK(syn_dataset_gather(NULL, rows, 1, gx, gy) == SYN_ERR_INVALID_ARGUMENT, "NULL ds");
    CHECK(syn_dataset_gather(ds, NULL, 1, gx, gy) == SYN_ERR_INVALID_ARGUMENT, "NULL rows");
    CHECK(syn_dataset_gather(ds, rows, 1, NULL, gy) == SYN_ERR_INVALID_ARGUMENT, "NULL x");
    CHECK(syn_dataset_gather(ds, rows, 0, gx, gy) == SYN_ERR_INVALID_ARGUMENT, "count 0");
    CHECK(syn_dataset_gather(ds, rows, 2, gx, gy) == SYN_ERR_INVALID_ARGUMENT, "row 2 of 2");
    CHECK(gx[0] == -1 && gy[0] == -1, "x and y untouched when a row is out of range");
    syn_dataset_free(ds);
}

static int is_permutation(const size_t *a, size_t na, const size_t *b, size_t nb, size_t n)
{
    unsigned char seen[64] = {0};
    if (na + nb != n || n > sizeof seen)
        return 0;
    for (size_t i = 0; i < na + nb; i++) {
        size_t r = i < na ? a[i] : b[i - na];
        if (r >= n || seen[r])
            return 0;
        seen[r] = 1;
    }
    return 1;
}

static void test_split(void)
{
    size_t train[10], val[10], n_train = 0, n_val = 0;
    CHECK_OK(syn_split_rows(10, 0.3, 42, train, &n_train, val, &n_val));
    CHECK(n_val == 3 && n_train == 7, "round(10 * 0.3) = 3 validation rows");
    CHECK(is_permutation(train, n_train, val, n_val, 10), "disjoint and complete");

    size_t train2[10], val2[10], n_train2, n_val2;
    CHECK_OK(syn_split_rows(10, 0.3, 42, train2, &n_train2, val2, &n_val2));
    CHECK(memcmp(train, train2, sizeof train2[0] * 7) == 0 &&
          memcmp(val, val2, sizeof val2[0] * 3) == 0, "same seed, same split");
    /* Golden (checked against a Python model of xoshiro256** seeded by
     * splitmix64(42), Fisher-Yates from the top).
     * A change here changes every user's validation set. */
    const size_t want_val[] = {7, 3, 8};
    CHECK(memcmp(val, want_val, sizeof want_val) == 0, "golden split: %zu %zu %zu", val[0],
          val[1], val[2]);

    CHECK_OK(syn_split_rows(10, 0.3, 43, train2, &n_train2, val2, &n_val2));
    CHECK(memcmp(train, train2, sizeof train2[0] * 7) != 0, "another seed, another order");

    CHECK_OK(syn_split_rows(10, 0.0, 1, train, &n_train, NULL, &n_val));
    CHECK(n_val == 0 && n_train == 10, "no validation");
    CHECK_OK(syn_split_rows(3, 0.5, 1, NULL, &n_train, val, &n_val));
    CHECK(n_val == 2 && n_train == 1, "round(1.5) = 2");
    CHECK_OK(syn_split_rows(5, 0.5, 1, NULL, NULL, NULL, NULL));

    CHECK(syn_split_rows(0, 0.2, 1, train, &n_train, val, &n_val) == SYN_ERR_INVALID_ARGUMENT,
          "n 0");
    CHECK(syn_split_rows(10, 1.0, 1, train, &n_train, val, &n_val) == SYN_ERR_INVALID_ARGUMENT,
          "fraction 1");
    CHECK(syn_split_rows(10, -0.1, 1, train, &n_train, val, &n_val) ==
          SYN_ERR_INVALID_ARGUMENT, "negative fraction");
    CHECK(syn_split_rows(10, NAN, 1, train, &n_train, val, &n_val) == SYN_ERR_INVALID_ARGUMENT,
          "NaN fraction");
    CHECK(syn_split_rows(1, 0.6, 1, train, &n_train, val, &n_val) == SYN_ERR_INVALID_ARGUMENT,
          "no training row left");
    CHECK(syn_split_rows(SIZE_MAX, 0.1, 1, NULL, NULL, NULL, NULL) == SYN_ERR_OVERFLOW,
          "n * sizeof(size_t) overflows");
}

/* A dataset whose labels stop short of a model's last class is widened. */
static void test_set_n_classes(void)
{
    const float x[3] = {1, 2, 3};
    const uint32_t labels[3] = {0, 2, 1};
    syn_dataset *ds = NULL, *reg = NULL;
    CHECK(syn_dataset_from_labels(x, 3, 1, labels, 3, &ds) == SYN_OK, "labels");
    CHECK(syn_dataset_set_n_classes(ds, 2) == SYN_ERR_INVALID_ARGUMENT, "fewer than needed");
    CHECK(syn_dataset_n_classes(ds) == 3, "unchanged after a failure");
    CHECK(syn_dataset_set_n_classes(ds, 5) == SYN_OK, "widened");
    CHECK(syn_dataset_n_classes(ds) == 5 && syn_dataset_target_width(ds) == 5, "width 5");
    float y[5], feature;
    size_t row = 1;
    CHECK(syn_dataset_gather(ds, &row, 1, &feature, y) == SYN_OK, "gather");
    CHECK(y[2] == 1 && y[4] == 0 && y[0] == 0, "one-hot over 5 classes");
    CHECK(syn_dataset_from_floats(x, 3, 1, x, 1, &reg) == SYN_OK, "regression");
    CHECK(syn_dataset_set_n_classes(reg, 4) == SYN_ERR_INVALID_ARGUMENT, "regression refused");
    CHECK(syn_dataset_set_n_classes(NULL, 4) == SYN_ERR_INVALID_ARGUMENT, "NULL");
    syn_dataset_free(ds);
    syn_dataset_free(reg);
}

int main(void)
{
    test_set_n_classes();
    test_floats();
    test_labels();
    test_u8();
    test_scaling();
    test_constructor_errors();
    test_accessor_and_gather_errors();
    test_split();
    return check_finish();
}
