/* test_csv.c - syn_dataset_load_csv on the fixtures in tests/fixtures/csv:
 * labels (integers, strings, given class names), regression, header
 * detection and forcing, target selection, RFC 4180 quoting, line endings,
 * delimiters, a generated file larger than the read buffer, and one fixture
 * per error, each checked for its status and its file:line:column. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "data/dataset_internal.h"
#include "synapse.h"

#define FIXTURE(name) SYN_TEST_DIR "/fixtures/csv/" name

static syn_dataset *load(const char *path, const syn_csv_options *opt)
{
    syn_dataset *ds = NULL;
    syn_error err = {{0}};
    syn_status s = syn_dataset_load_csv(path, opt, &ds, &err);
    CHECK(s == SYN_OK, "%s: status %d: %s", path, (int)s, err.message);
    return s == SYN_OK ? ds : NULL;
}

/* The load fails with `want` and the message names `where` (file:line:col)
 * and contains `what`. */
static void expect_error(const char *path, const syn_csv_options *opt, syn_status want,
                         const char *where, const char *what)
{
    syn_dataset *ds = NULL;
    syn_error err = {{0}};
    syn_status s = syn_dataset_load_csv(path, opt, &ds, &err);
    CHECK(s == want, "%s: status %d, want %d (%s)", path, (int)s, (int)want, err.message);
    CHECK(ds == NULL, "%s: no dataset on failure", path);
    CHECK(strstr(err.message, where) != NULL, "message \"%s\" lacks \"%s\"", err.message, where);
    CHECK(strstr(err.message, what) != NULL, "message \"%s\" lacks \"%s\"", err.message, what);
    syn_dataset_free(ds);
}

/* The encoding learned from CSV text (a copy the caller frees). */
static syn_encoding *encoding_of(const char *text)
{
    syn_dataset *ds = NULL;
    syn_error err = {{0}};
    syn_encoding *enc = NULL;
    syn_status s = syn_csv_parse_buffer(text, strlen(text), "train.csv", NULL, &ds, &err);
    CHECK(s == SYN_OK, "training text: %s", err.message);
    if (s == SYN_OK)
        CHECK_OK(syn_encoding_clone(syn_dataset_encoding(ds), &enc));
    syn_dataset_free(ds);
    return enc;
}

static float feature(const syn_dataset *ds, size_t row, size_t j)
{
    float x[16] = {0};
    CHECK(syn_dataset_n_features(ds) <= 16, "test helper holds 16 features");
    CHECK_OK(syn_dataset_gather(ds, &row, 1, x, NULL));
    return x[j];
}

static uint32_t label(const syn_dataset *ds, size_t row)
{
    uint32_t l = 999;
    CHECK_OK(syn_dataset_label(ds, row, &l));
    return l;
}

static int name_is(const char *name, const char *want)
{
    return name && strcmp(name, want) == 0;
}

static void test_integer_labels(void)
{
    syn_dataset *ds = load(FIXTURE("int_labels.csv"), NULL);
    if (!ds)
        return;
    CHECK(syn_dataset_n_samples(ds) == 4 && syn_dataset_n_features(ds) == 2, "shape");
    /* Labels 10, 2, 1, 02 sort numerically; "02" is class "2". */
    CHECK(syn_dataset_n_classes(ds) == 3, "3 classes, got %zu", syn_dataset_n_classes(ds));
    CHECK(name_is(syn_dataset_class_name(ds, 0), "1") &&
          name_is(syn_dataset_class_name(ds, 1), "2") &&
          name_is(syn_dataset_class_name(ds, 2), "10"), "classes in numeric order");
    CHECK(label(ds, 0) == 2 && label(ds, 1) == 1 && label(ds, 2) == 0 && label(ds, 3) == 1,
          "labels mapped");
    CHECK(name_is(syn_dataset_feature_name(ds, 0), "x1") &&
          name_is(syn_dataset_feature_name(ds, 1), "x2"), "header detected, names stored");
    CHECK(feature(ds, 2, 0) == -300.0f && feature(ds, 2, 1) == 4.0f, "exponent, spaces");
    syn_dataset_free(ds);

    /* A model's classes: "02" still finds "2". */
    const char *const names[] = {"10", "1", "2"};
    syn_csv_options opt = {.class_names = names, .n_class_names = 3};
    ds = load(FIXTURE("int_labels.csv"), &opt);
    if (!ds)
        return;
    CHECK(label(ds, 0) == 0 && label(ds, 1) == 2 && label(ds, 2) == 1 && label(ds, 3) == 2,
          "labels mapped onto the given classes");
    syn_dataset_free(ds);
}

static void test_string_labels(void)
{
    syn_dataset *ds = load(FIXTURE("str_labels.csv"), NULL);
    if (!ds)
        return;
    CHECK(syn_dataset_n_samples(ds) == 4, "no header detected: 4 rows");
    CHECK(syn_dataset_feature_name(ds, 0) == NULL, "no feature names without a header");
    CHECK(syn_dataset_n_class_names(ds) == 3, "3 class names");
    CHECK(name_is(syn_dataset_class_name(ds, 0), "setosa") &&
          name_is(syn_dataset_class_name(ds, 1), "versicolor") &&
          name_is(syn_dataset_class_name(ds, 2), "virginica"), "first-appearance order");
    CHECK(label(ds, 0) == 0 && label(ds, 1) == 1 && label(ds, 2) == 0 && label(ds, 3) == 2,
          "labels");
    CHECK(feature(ds, 1, 0) == 4.9f && feature(ds, 3, 1) == 3.0f, "values");
    syn_dataset_free(ds);

    const char *const names[] = {"virginica", "setosa", "versicolor"};
    syn_csv_options opt = {.class_names = names, .n_class_names = 3};
    ds = load(FIXTURE("str_labels.csv"), &opt);
    if (!ds)
        return;
    CHECK(syn_dataset_n_classes(ds) == 3, "n_classes from the given names");
    CHECK(name_is(syn_dataset_class_name(ds, 0), "virginica"), "given names kept");
    CHECK(label(ds, 0) == 1 && label(ds, 1) == 2 && label(ds, 2) == 1 && label(ds, 3) == 0,
          "mapped onto the given names");
    syn_dataset_free(ds);

    /* More classes than the file uses is fine (a model knows them all). */
    const char *const more[] = {"a", "setosa", "versicolor", "virginica", "b"};
    opt.class_names = more;
    opt.n_class_names = 5;
    ds = load(FIXTURE("str_labels.csv"), &opt);
    CHECK(syn_dataset_n_classes(ds) == 5 && label(ds, 3) == 3, "superset of classes");
    syn_dataset_free(ds);

    const char *const fewer[] = {"setosa", "versicolor"};
    opt.class_names = fewer;
    opt.n_class_names = 2;
    expect_error(FIXTURE("str_labels.csv"), &opt, SYN_ERR_NOT_FOUND, "str_labels.csv:4:9",
                 "\"virginica\"");
}

static void test_regression(void)
{
    const char *const names[] = {"y1", "y2"};
    syn_csv_options opt = {.regression = 1, .target_names = names,
                           .n_target_columns = 2};
    syn_dataset *ds = load(FIXTURE("regression2.csv"), &opt);
    if (!ds)
        return;
    CHECK(syn_dataset_n_samples(ds) == 2 && syn_dataset_n_features(ds) == 2, "shape");
    CHECK(syn_dataset_target_width(ds) == 2 && syn_dataset_n_classes(ds) == 0, "2 targets");
    size_t rows[] = {1, 0};
    float x[4], y[4];
    CHECK_OK(syn_dataset_gather(ds, rows, 2, x, y));
    CHECK(x[0] == 5 && x[1] == 6 && y[0] == 7.5f && y[1] == -8 && y[2] == 3 && y[3] == 4,
          "targets");
    syn_dataset_free(ds);

    /* The same columns by negative index, in the other order. */
    const long idx[] = {-1, -2};
    syn_csv_options by_index = {.regression = 1, .target_indices = idx,
                                .n_target_columns = 2};
    ds = load(FIXTURE("regression2.csv"), &by_index);
    if (!ds)
        return;
    CHECK_OK(syn_dataset_gather(ds, rows, 1, x, y));
    CHECK(y[0] == -8 && y[1] == 7.5f, "target order follows the options");
    CHECK(name_is(syn_dataset_feature_name(ds, 1), "b"), "feature names skip targets");
    syn_dataset_free(ds);

    syn_csv_options one = {.regression = 1};
    ds = load(FIXTURE("regression2.csv"), &one);
    CHECK(syn_dataset_n_features(ds) == 3 && syn_dataset_target_width(ds) == 1,
          "default target: the last column");
    syn_dataset_free(ds);
    expect_error(FIXTURE("bad_target.csv"), &one, SYN_ERR_PARSE, "bad_target.csv:3:5",
                 "regression target");
}

static void test_header_modes(void)
{
    /* Detection says "no header" for an all-numeric first row. */
    syn_csv_options opt = {.no_target = 1};
    syn_dataset *ds = load(FIXTURE("numeric_header.csv"), &opt);
    CHECK(syn_dataset_n_samples(ds) == 3 && syn_dataset_n_features(ds) == 3, "3x3, no header");
    CHECK(syn_dataset_target_width(ds) == 0, "no_target: unlabelled");
    syn_dataset_free(ds);

    opt.header = 1;
    ds = load(FIXTURE("numeric_header.csv"), &opt);
    CHECK(syn_dataset_n_samples(ds) == 2, "forced header: 2 data rows");
    CHECK(name_is(syn_dataset_feature_name(ds, 2), "3"), "numeric names kept");
    CHECK(feature(ds, 0, 0) == 4, "first data row");
    syn_dataset_free(ds);

    /* Without a header, the names are values: the columns turn categorical. */
    syn_csv_options none = {.header = -1};
    ds = load(FIXTURE("int_labels.csv"), &none);
    if (ds) {
        syn_column_info info;
        CHECK(syn_dataset_n_samples(ds) == 5, "the header read as a row");
        CHECK_OK(syn_encoding_column(syn_dataset_encoding(ds), 0, &info));
        CHECK(info.kind == SYN_COLUMN_CATEGORICAL && info.width == 5, "x1 is categorical");
        syn_dataset_free(ds);
    }
    syn_csv_options bad = {.header = 2};
    expect_error(FIXTURE("int_labels.csv"), &bad, SYN_ERR_INVALID_ARGUMENT, "int_labels.csv",
                 "header");
}

static void test_target_selection(void)
{
    const char *const names[] = {"species"};
    const long first[] = {0}, from_end[] = {-3}, out_of_range[] = {3}, too_negative[] = {-4};
    syn_csv_options by_name = {.target_names = names, .n_target_columns = 1};
    syn_csv_options by_index = {.target_indices = first, .n_target_columns = 1};
    syn_csv_options by_negative = {.target_indices = from_end,
                                   .n_target_columns = 1};
    const syn_csv_options *all[] = {&by_name, &by_index, &by_negative};
    for (size_t k = 0; k < 3; k++) {
        syn_dataset *ds = load(FIXTURE("target_first.csv"), all[k]);
        if (!ds)
            continue;
        CHECK(syn_dataset_n_samples(ds) == 3 && syn_dataset_n_features(ds) == 2, "shape %zu", k);
        CHECK(name_is(syn_dataset_feature_name(ds, 0), "sepal_length"), "names %zu", k);
        CHECK(name_is(syn_dataset_class_name(ds, 1), "virginica"), "classes %zu", k);
        CHECK(label(ds, 2) == 0 && feature(ds, 1, 1) == 3.3f, "values %zu", k);
        syn_dataset_free(ds);
    }

    const char *const missing[] = {"petal"};
    syn_csv_options no_such = {.target_names = missing, .n_target_columns = 1};
    expect_error(FIXTURE("target_first.csv"), &no_such, SYN_ERR_NOT_FOUND,
                 "target_first.csv:1:1", "\"petal\"");
    syn_csv_options high = {.target_indices = out_of_range,
                            .n_target_columns = 1};
    expect_error(FIXTURE("target_first.csv"), &high, SYN_ERR_NOT_FOUND, "target_first.csv:1:1",
                 "found 3");
    syn_csv_options low = {.target_indices = too_negative, .n_target_columns = 1};
    expect_error(FIXTURE("target_first.csv"), &low, SYN_ERR_NOT_FOUND, "target_first.csv:1:1",
                 "found -4");
    syn_csv_options names_without_header = {.header = -1, .target_names = names,
                                            .n_target_columns = 1};
    expect_error(FIXTURE("target_first.csv"), &names_without_header, SYN_ERR_INVALID_ARGUMENT,
                 "target_first.csv", "header");
    const long twice[] = {0, -4};
    syn_csv_options dup = {.regression = 1, .target_indices = twice,
                           .n_target_columns = 2};
    expect_error(FIXTURE("regression2.csv"), &dup, SYN_ERR_INVALID_ARGUMENT,
                 "regression2.csv:1:1", "twice");
    syn_csv_options two_labels = {.target_indices = twice, .n_target_columns = 2};
    expect_error(FIXTURE("regression2.csv"), &two_labels, SYN_ERR_INVALID_ARGUMENT,
                 "regression2.csv", "one target column");
}

static void test_quoting_and_layout(void)
{
    syn_dataset *ds = load(FIXTURE("quoted.csv"), NULL);
    if (ds) {
        CHECK(syn_dataset_n_samples(ds) == 3, "3 rows, one spanning two lines");
        CHECK(name_is(syn_dataset_feature_name(ds, 1), "b, quoted"), "delimiter in quotes");
        CHECK(name_is(syn_dataset_class_name(ds, 1), "multi\nline \"label\""),
              "newline and doubled quotes in a field");
        CHECK(name_is(syn_dataset_class_name(ds, 2), "c,d"), "delimiter in a label");
        CHECK(feature(ds, 0, 0) == 1.5f && feature(ds, 2, 1) == 6, "quoted numbers");
        syn_dataset_free(ds);
    }
    /* Line numbers stay right after a field with an embedded newline. */
    syn_csv_options numeric = {.encoding = encoding_of("a,b,label\n1,2,z\n")};
    expect_error(FIXTURE("quoted_bad_number.csv"), &numeric, SYN_ERR_PARSE,
                 "quoted_bad_number.csv:4:3", "\"x\"");
    syn_encoding_free((syn_encoding *)numeric.encoding);

    const char *same[] = {"crlf.csv", "no_newline.csv", "trailing_blank.csv", "bom.csv"};
    for (size_t k = 0; k < 4; k++) {
        char path[512];
        snprintf(path, sizeof path, "%s/fixtures/csv/%s", SYN_TEST_DIR, same[k]);
        ds = load(path, NULL);
        if (!ds)
            continue;
        size_t want = k == 3 ? 1 : 2;
        CHECK(syn_dataset_n_samples(ds) == want, "%s: rows", same[k]);
        CHECK(name_is(syn_dataset_feature_name(ds, 0), "a"), "%s: first name", same[k]);
        CHECK(name_is(syn_dataset_class_name(ds, 0), "x"), "%s: label without \\r", same[k]);
        CHECK(feature(ds, 0, 1) == 2, "%s: value", same[k]);
        syn_dataset_free(ds);
    }

    syn_csv_options semi = {.delimiter = ';'};
    ds = load(FIXTURE("semicolon.csv"), &semi);
    if (ds) {
        CHECK(syn_dataset_n_samples(ds) == 2 && feature(ds, 0, 0) == 1.5f, "';' delimiter");
        syn_dataset_free(ds);
    }
}

static void test_errors(void)
{
    expect_error(FIXTURE("empty.csv"), NULL, SYN_ERR_PARSE, "empty.csv:1:1", "empty file");
    expect_error(FIXTURE("only_blank.csv"), NULL, SYN_ERR_PARSE, "only_blank.csv:1:1",
                 "blank");
    expect_error(FIXTURE("header_only.csv"), NULL, SYN_ERR_PARSE, "header_only.csv:2:1",
                 "expected data rows");
    expect_error(FIXTURE("field_count.csv"), NULL, SYN_ERR_PARSE, "field_count.csv:3:4",
                 "expected 3 fields, found 2");
    expect_error(FIXTURE("field_extra.csv"), NULL, SYN_ERR_PARSE, "field_extra.csv:2:7",
                 "expected 3 fields, found 4");
    /* Text in a column the model reads as numbers. */
    syn_csv_options numeric = {.encoding = encoding_of("a,b,c,label\n1,2,3,x\n")};
    expect_error(FIXTURE("bad_number.csv"), &numeric, SYN_ERR_PARSE, "bad_number.csv:3:5",
                 "expected a number (feature), found \"oops\"");
    syn_encoding_free((syn_encoding *)numeric.encoding);
    /* "nan" spells a missing value: a column with no value at all. */
    expect_error(FIXTURE("nan.csv"), NULL, SYN_ERR_PARSE, "nan.csv:1:3",
                 "expected values in column \"b\", found none");
    expect_error(FIXTURE("inf.csv"), NULL, SYN_ERR_PARSE, "inf.csv:2:3", "\"inf\"");
    expect_error(FIXTURE("range.csv"), NULL, SYN_ERR_PARSE, "range.csv:2:3", "float range");
    expect_error(FIXTURE("blank_middle.csv"), NULL, SYN_ERR_PARSE, "blank_middle.csv:3:1",
                 "blank line");
    expect_error(FIXTURE("unterminated.csv"), NULL, SYN_ERR_PARSE, "unterminated.csv:2:5",
                 "closing quote");
    expect_error(FIXTURE("after_quote.csv"), NULL, SYN_ERR_PARSE, "after_quote.csv:2:6",
                 "found 'x'");
    expect_error(FIXTURE("one_column.csv"), NULL, SYN_ERR_SHAPE, "one_column.csv:1:1",
                 "feature column");
    expect_error(FIXTURE("nul.csv"), NULL, SYN_ERR_PARSE, "nul.csv:2:4", "NUL");
    expect_error(FIXTURE("empty_label.csv"), NULL, SYN_ERR_PARSE, "empty_label.csv:2:5",
                 "class label");
    expect_error(FIXTURE("does_not_exist.csv"), NULL, SYN_ERR_IO, "does_not_exist.csv",
                 "cannot open");
}

static void test_bad_arguments(void)
{
    syn_dataset *ds = NULL;
    syn_error err;
    CHECK(syn_dataset_load_csv(NULL, NULL, &ds, &err) == SYN_ERR_INVALID_ARGUMENT, "path");
    CHECK(syn_dataset_load_csv(FIXTURE("str_labels.csv"), NULL, NULL, &err) ==
          SYN_ERR_INVALID_ARGUMENT, "out");
    CHECK(syn_dataset_load_csv(FIXTURE("str_labels.csv"), NULL, &ds, NULL) == SYN_OK,
          "err may be NULL");
    syn_dataset_free(ds);
    ds = NULL;
    CHECK(syn_dataset_load_csv(FIXTURE("empty.csv"), NULL, &ds, NULL) == SYN_ERR_PARSE,
          "err may be NULL on failure");

    syn_csv_options quote = {.delimiter = '"'};
    syn_csv_options both = {.target_names = (const char *const[]){"a"},
                            .target_indices = (const long[]){0}, .n_target_columns = 1};
    syn_csv_options neither = {.n_target_columns = 1};
    syn_csv_options contradiction = {.no_target = 1,
                                     .target_indices = (const long[]){0},
                                     .n_target_columns = 1};
    syn_csv_options names_null = {.n_class_names = 2};
    syn_csv_options names_regression = {.regression = 1, .n_class_names = 1,
                                        .class_names = (const char *const[]){"a"}};
    syn_csv_options names_twice = {.n_class_names = 2,
                                   .class_names = (const char *const[]){"a", "a"}};
    syn_csv_options name_null = {.n_class_names = 1,
                                 .class_names = (const char *const[]){NULL}};
    syn_csv_options target_null = {.n_target_columns = 1,
                                   .target_names = (const char *const[]){NULL}};
    const syn_csv_options *bad[] = {&quote, &both, &neither, &contradiction, &names_null,
                                    &names_regression, &names_twice, &name_null, &target_null};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
        expect_error(FIXTURE("regression2.csv"), bad[k], SYN_ERR_INVALID_ARGUMENT,
                     "regression2.csv", "");
}

/* A generated file many times the 64 KiB read buffer, so records and
 * quoted fields straddle buffer refills; row i is (i, "i.5", label i % 7). */
static void test_large_file(void)
{
    char path[] = "/tmp/synapse_test_csv_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp");
    if (fd < 0)
        return;
    FILE *f = fdopen(fd, "w");
    const size_t n = 50000;
    fprintf(f, "id,\"value\nwith newline\",label\r\n");
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%zu,\"%zu.5\",\"class %zu\"\r\n", i, i, i % 7);
    fclose(f);
    syn_dataset *ds = load(path, NULL);
    remove(path);
    if (!ds)
        return;
    CHECK(syn_dataset_n_samples(ds) == n, "all rows: %zu", syn_dataset_n_samples(ds));
    CHECK(syn_dataset_n_classes(ds) == 7, "7 string classes");
    int ok = 1;
    for (size_t i = 0; i < n && ok; i += 997) {
        ok = feature(ds, i, 0) == (float)i && feature(ds, i, 1) == (float)i + 0.5f &&
             label(ds, i) == i % 7;
    }
    CHECK(ok, "sampled rows hold their values");
    CHECK(name_is(syn_dataset_feature_name(ds, 1), "value\nwith newline"), "header name");
    syn_dataset_free(ds);
}

int main(void)
{
    test_integer_labels();
    test_string_labels();
    test_regression();
    test_header_modes();
    test_target_selection();
    test_quoting_and_layout();
    test_errors();
    test_bad_arguments();
    test_large_file();
    return check_finish();
}
