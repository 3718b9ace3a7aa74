/* test_idx.c - syn_dataset_load_idx on the fixtures that
 * tests/fixtures/idx/make_idx.py writes: plain and gzip happy paths (pixels
 * and labels checked), unlabelled images, and one fixture per failure, each
 * checked for its status and the offset in its message. */
#include <string.h>

#include "check.h"
#include "synapse.h"

#define FIXTURE(name) SYN_TEST_DIR "/fixtures/idx/" name

/* The fixture images: 3 of 2x3 pixels, pixel j of image i = 10 * i + j,
 * labels 2, 0, 7. */
static void check_fixture_data(const syn_dataset *ds, int labelled, const char *what)
{
    CHECK(syn_dataset_n_samples(ds) == 3, "%s: 3 images", what);
    CHECK(syn_dataset_n_features(ds) == 6, "%s: 2x3 = 6 features", what);
    const size_t rows[] = {0, 1, 2};
    float x[18], y[24];
    CHECK_OK(syn_dataset_gather(ds, rows, 3, x, y));
    int pixels_ok = 1;
    for (size_t i = 0; i < 3; i++)
        for (size_t j = 0; j < 6; j++)
            pixels_ok &= x[i * 6 + j] == (float)(10 * i + j);
    CHECK(pixels_ok, "%s: pixels", what);
    if (!labelled) {
        CHECK(syn_dataset_target_width(ds) == 0 && syn_dataset_n_classes(ds) == 0,
              "%s: unlabelled", what);
        return;
    }
    CHECK(syn_dataset_n_classes(ds) == 8, "%s: n_classes = max label + 1", what);
    CHECK(syn_dataset_n_class_names(ds) == 0, "%s: IDX has no class names", what);
    uint32_t l0 = 9, l1 = 9, l2 = 9;
    CHECK_OK(syn_dataset_label(ds, 0, &l0));
    CHECK_OK(syn_dataset_label(ds, 1, &l1));
    CHECK_OK(syn_dataset_label(ds, 2, &l2));
    CHECK(l0 == 2 && l1 == 0 && l2 == 7, "%s: labels", what);
    CHECK(y[2] == 1 && y[8 + 0] == 1 && y[16 + 7] == 1, "%s: one-hot", what);
}

static void load_ok(const char *images, const char *labels, int labelled, const char *what)
{
    syn_dataset *ds = NULL;
    syn_error err = {{0}};
    syn_status s = syn_dataset_load_idx(images, labels, &ds, &err);
    CHECK(s == SYN_OK, "%s: status %d: %s", what, (int)s, err.message);
    if (s == SYN_OK)
        check_fixture_data(ds, labelled, what);
    syn_dataset_free(ds);
}

static void expect_error(const char *images, const char *labels, syn_status want,
                         const char *where, const char *what)
{
    syn_dataset *ds = NULL;
    syn_error err = {{0}};
    syn_status s = syn_dataset_load_idx(images, labels, &ds, &err);
    CHECK(s == want, "%s: status %d, want %d (%s)", where, (int)s, (int)want, err.message);
    CHECK(ds == NULL, "%s: no dataset on failure", where);
    CHECK(strstr(err.message, where) != NULL, "message \"%s\" lacks \"%s\"", err.message, where);
    CHECK(strstr(err.message, what) != NULL, "message \"%s\" lacks \"%s\"", err.message, what);
    syn_dataset_free(ds);
}

static void test_happy_paths(void)
{
    load_ok(FIXTURE("images.idx"), FIXTURE("labels.idx"), 1, "plain");
    load_ok(FIXTURE("images.idx"), NULL, 0, "plain, no labels");
    syn_dataset *ds = NULL;
    syn_status s = syn_dataset_load_idx(FIXTURE("images.idx.gz"), NULL, &ds, NULL);
    syn_dataset_free(ds);
    if (s == SYN_ERR_UNSUPPORTED) {
        /* A build without zlib: the gzip cases must say so, not crash. */
        expect_error(FIXTURE("images.idx.gz"), NULL, SYN_ERR_UNSUPPORTED, "images.idx.gz",
                     "zlib");
        return;
    }
    load_ok(FIXTURE("images.idx.gz"), FIXTURE("labels.idx.gz"), 1, "gzip");
    load_ok(FIXTURE("images_gz_named.idx"), FIXTURE("labels.idx"), 1, "gzip named .idx");
    load_ok(FIXTURE("images.idx"), FIXTURE("labels.idx.gz"), 1, "plain images, gzip labels");

    expect_error(FIXTURE("corrupt_crc.idx.gz"), NULL, SYN_ERR_CORRUPT, "corrupt_crc.idx.gz",
                 "corrupt gzip");
    expect_error(FIXTURE("corrupt_body.idx.gz"), NULL, SYN_ERR_CORRUPT, "corrupt_body.idx.gz",
                 "corrupt gzip");
    expect_error(FIXTURE("gz_garbage.idx.gz"), NULL, SYN_ERR_CORRUPT, "gz_garbage.idx.gz",
                 "after the end of the gzip stream");
    expect_error(FIXTURE("truncated.idx.gz"), NULL, SYN_ERR_TRUNCATED, "truncated.idx.gz",
                 "expected");
    expect_error(FIXTURE("no_trailer.idx.gz"), NULL, SYN_ERR_TRUNCATED, "no_trailer.idx.gz",
                 "checksum");
}

static void test_failures(void)
{
    expect_error(FIXTURE("bad_magic.idx"), NULL, SYN_ERR_FORMAT, "bad_magic.idx: offset 0",
                 "found 01 02");
    expect_error(FIXTURE("float_type.idx"), NULL, SYN_ERR_UNSUPPORTED,
                 "float_type.idx: offset 2", "0x0D (float32)");
    expect_error(FIXTURE("unknown_type.idx"), NULL, SYN_ERR_FORMAT,
                 "unknown_type.idx: offset 2", "found 0x42");
    expect_error(FIXTURE("images_1d.idx"), NULL, SYN_ERR_FORMAT, "images_1d.idx: offset 3",
                 "found 1 dimensions");
    expect_error(FIXTURE("images.idx"), FIXTURE("labels_2d.idx"), SYN_ERR_FORMAT,
                 "labels_2d.idx: offset 3", "found 2 dimensions");
    expect_error(FIXTURE("truncated_header.idx"), NULL, SYN_ERR_TRUNCATED,
                 "truncated_header.idx: offset 4", "expected 3 dimension sizes (12 bytes), "
                 "found 6 bytes");
    expect_error(FIXTURE("truncated_data.idx"), NULL, SYN_ERR_TRUNCATED,
                 "truncated_data.idx: offset 26", "expected 18 bytes of data after the 16-byte "
                 "header, found 10");
    expect_error(FIXTURE("images.idx"), FIXTURE("labels_count.idx"), SYN_ERR_SHAPE,
                 "labels_count.idx: offset 4", "expected 3 labels (one per image), found 4");
    expect_error(FIXTURE("trailing.idx"), NULL, SYN_ERR_FORMAT, "trailing.idx: offset 34",
                 "expected the end of the file");
    expect_error(FIXTURE("zero_dim.idx"), NULL, SYN_ERR_FORMAT, "zero_dim.idx: offset 8",
                 "dimension 1");
    expect_error(FIXTURE("empty.idx"), NULL, SYN_ERR_TRUNCATED, "empty.idx: offset 0",
                 "found 0 bytes");
    expect_error(FIXTURE("huge_claim.idx"), NULL, SYN_ERR_TRUNCATED, "huge_claim.idx",
                 "found 100");
    expect_error(FIXTURE("overflow.idx"), NULL, SYN_ERR_OVERFLOW, "overflow.idx: offset 4",
                 "multiply");
    expect_error(FIXTURE("missing.idx"), NULL, SYN_ERR_IO, "missing.idx", "cannot open");
    expect_error(FIXTURE("images.idx"), FIXTURE("missing_labels.idx"), SYN_ERR_IO,
                 "missing_labels.idx", "cannot open");
    /* Labels given as images: one dimension is too few. */
    expect_error(FIXTURE("labels.idx"), NULL, SYN_ERR_FORMAT, "labels.idx: offset 3",
                 "at least 2 dimensions");
}

static void test_bad_arguments(void)
{
    syn_dataset *ds = NULL;
    syn_error err;
    CHECK(syn_dataset_load_idx(NULL, NULL, &ds, &err) == SYN_ERR_INVALID_ARGUMENT, "images");
    CHECK(syn_dataset_load_idx(FIXTURE("images.idx"), NULL, NULL, &err) ==
          SYN_ERR_INVALID_ARGUMENT, "out");
    CHECK(syn_dataset_load_idx(FIXTURE("bad_magic.idx"), NULL, &ds, NULL) == SYN_ERR_FORMAT,
          "err may be NULL");
    CHECK(ds == NULL, "out untouched");
}

int main(void)
{
    test_happy_paths();
    test_failures();
    test_bad_arguments();
    return check_finish();
}
