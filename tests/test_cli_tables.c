/* test_cli_tables.c - the synapse command on tables as people have them: a
 * small mixed CSV (an id, a string column, missing values in several
 * spellings, a numeric column) trained with defaults, then evaluated and
 * predicted on a test file whose columns are reordered, with an extra
 * column: the accuracy and every prediction must equal those on the
 * original order. Also a numeric table read reordered (silently misread by
 * position before models kept their column names), a missing column, a
 * headerless count mismatch, the task chosen for many integer labels and
 * --task overriding it, --max-categories, a target with a missing cell and
 * unseen categories (a warning, an error with --strict). */
#define _GNU_SOURCE /* memmem */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cli_run.h"
#include "synapse.h"

static char dir[] = "/tmp/syn_test_cli_tables_XXXXXX";

static cli_result run(const char *args)
{
    return cli_run_in(dir, args);
}

static double json_number(const char *json, const char *key)
{
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\": ", key);
    const char *p = strstr(json, pattern);
    return p ? strtod(p + strlen(pattern), NULL) : NAN;
}

/* The column order of a table: indices into the canonical order below. */
static const char *const columns[] = {"id", "island", "bill", "sex", "flipper", "species"};

/* Writes n rows of a three-species table in the given column order (and
 * an extra "note" column when `extra`); seeded, so train and test differ. */
static void write_table(const char *name, size_t n, unsigned seed, const int *order, int extra)
{
    FILE *fp = fopen(cli_path(dir, name), "w");
    CHECK(fp != NULL, "cannot write %s", name);
    if (!fp)
        return;
    for (int c = 0; c < 6; c++)
        fprintf(fp, "%s%s", c ? "," : "", columns[order[c]]);
    fprintf(fp, "%s\r\n", extra ? ",note" : "");
    static const char *const species[] = {"Adelie", "Gentoo", "Chinstrap"};
    static const char *const islands[] = {"Torgersen", "Biscoe", "Dream"};
    static const char *const missing[] = {"", "NA", "?", "null"};
    syn_rng rng;
    syn_rng_seed(&rng, seed);
    for (size_t i = 0; i < n; i++) {
        size_t s = i % 3;
        char field[6][64];
        snprintf(field[0], 64, "%zu", 1000 * seed + i);
        /* The island tells the species 80% of the time. */
        size_t island = syn_rng_uniform(&rng) < 0.8 ? s : syn_rng_below(&rng, 3);
        snprintf(field[1], 64, "\"%s\"", islands[island]);
        double bill = 38.0 + 5.0 * (double)s + 1.5 * syn_rng_normal(&rng);
        if (syn_rng_uniform(&rng) < 0.1)
            snprintf(field[2], 64, "%s", missing[syn_rng_below(&rng, 4)]);
        else
            snprintf(field[2], 64, "%.1f", bill);
        snprintf(field[3], 64, "%s", syn_rng_uniform(&rng) < 0.1 ? "?" :
                                     syn_rng_uniform(&rng) < 0.5 ? "male" : "female");
        snprintf(field[4], 64, "%.0f", 190.0 + 12.0 * (double)(s == 1) + 4 * syn_rng_normal(&rng));
        snprintf(field[5], 64, "%s", species[s]);
        for (int c = 0; c < 6; c++)
            fprintf(fp, "%s%s", c ? "," : "", field[order[c]]);
        fprintf(fp, "%s\r\n", extra ? ",x" : "");
    }
    fclose(fp);
}

static void test_mixed_table(void)
{
    static const int canonical[] = {0, 1, 2, 3, 4, 5}, shuffled[] = {5, 4, 3, 0, 2, 1};
    write_table("train.csv", 300, 1, canonical, 0);
    write_table("test.csv", 90, 2, canonical, 0);
    write_table("test_reordered.csv", 90, 2, shuffled, 1);
    cli_result r = run("train --data train.csv --target species --ignore id --epochs 15 "
                       "--batch 16 --out m.syn");
    CHECK(r.code == 0, "train on a mixed table: %s", r.err);
    CHECK(strstr(r.err, "classification, 3 classes (the target holds text labels); 4 columns "
                 "(2 categorical) -> 7 inputs;") && strstr(r.err, "missing fields imputed"),
          "what was read: %.200s", r.err);
    cli_result_free(&r);

    cli_result a = run("eval --model m.syn --data test.csv --json");
    cli_result b = run("eval --model m.syn --data test_reordered.csv --json");
    double acc_a = json_number(a.out, "accuracy"), acc_b = json_number(b.out, "accuracy");
    CHECK(a.code == 0 && b.code == 0, "eval: %s %s", a.err, b.err);
    CHECK(acc_a > 0.8, "the table is learned: accuracy %g", acc_a);
    CHECK(acc_a == acc_b && json_number(a.out, "loss") == json_number(b.out, "loss"),
          "reordered columns score the same: %g vs %g", acc_a, acc_b);
    cli_result_free(&a);
    cli_result_free(&b);
    a = run("predict --model m.syn --data test.csv");
    b = run("predict --model m.syn --data test_reordered.csv");
    CHECK(a.code == 0 && b.code == 0 && !strcmp(a.out, b.out) && strlen(a.out) > 100,
          "the same predictions, target and extra column ignored: %s %s", a.err, b.err);
    cli_result_free(&a);
    cli_result_free(&b);

    /* A column the model needs, missing. */
    FILE *fp = fopen(cli_path(dir, "no_bill.csv"), "w");
    if (fp) {
        fputs("island,sex,flipper\nDream,male,190\n", fp);
        fclose(fp);
    }
    r = run("predict --model m.syn --data no_bill.csv");
    CHECK(r.code == 1 && strstr(r.err, "no_bill.csv:1:1: expected a column named \"bill\""),
          "missing column named: %s", r.err);
    cli_result_free(&r);
    /* An island never seen in training. */
    fp = fopen(cli_path(dir, "mars.csv"), "w");
    if (fp) {
        fputs("island,bill,sex,flipper\nMars,40,male,190\nDream,NA,female,191\n", fp);
        fclose(fp);
    }
    r = run("predict --model m.syn --data mars.csv");
    CHECK(r.code == 0 && strstr(r.err, "warning: mars.csv: 1 field held a category") &&
              strstr(r.out, "prediction,p_Adelie"), "unseen: a warning: %s", r.err);
    cli_result_free(&r);
    r = run("predict --model m.syn --data mars.csv --strict");
    CHECK(r.code == 1 && strstr(r.err, "mars.csv:2:1: expected one of the 3 categories of "
                                "column \"island\", found \"Mars\""), "--strict: %s", r.err);
    cli_result_free(&r);
    r = run("info m.syn");
    CHECK(r.code == 0 && strstr(r.out, "island") && strstr(r.out, "categorical") &&
              strstr(r.out, "Torgersen"), "info lists the columns: %s", r.out);
    cli_result_free(&r);
    r = run("train --data train.csv --target species --ignore id --max-categories 2 "
            "--epochs 1 --out m2.syn");
    CHECK(r.code == 1 && strstr(r.err, "train.csv:") &&
              strstr(r.err, "expected at most 2 categories in column \"island\""),
          "--max-categories: %s", r.err);
    cli_result_free(&r);
}

/* Numbers only: a reordered file used to be read by position. */
/* The exports record the encoding: the C header's arrays build the input
 * vector from raw fields (the rule docs/FORMAT.md states), and the result
 * matches `synapse predict` on the same row; ONNX carries it as JSON. */
static const char encode_prog[] =
    "#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n#include \"peng.h\"\n"
    "static const char *const names[] = {\"island\", \"bill\", \"sex\", \"flipper\"};\n"
    "static const char *const row[] = {\"Dream\", \"NA\", \"male\", \"197\"};\n"
    "static const char *field(const char *name) {\n"
    "    for (int i = 0; i < 4; i++) if (!strcmp(names[i], name)) return row[i];\n"
    "    return \"\";\n}\n"
    "static int missing(const char *s) {\n"
    "    if (!*s) return 1;\n"
    "    for (size_t k = 0; k < PENG_N_MISSING; k++) if (!strcmp(s, peng_missing[k])) return 1;\n"
    "    return 0;\n}\n"
    "int main(void) {\n"
    "    float x[PENG_N_INPUTS] = {0}, out[PENG_N_OUTPUTS];\n"
    "    for (size_t i = 0; i < PENG_N_COLUMNS; i++) {\n"
    "        const char *s = field(peng_column_names[i]);\n"
    "        size_t at = peng_column_first[i];\n"
    "        if (peng_column_kinds[i] == 0) {\n"
    "            x[at] = missing(s) ? peng_column_fill[i] : strtof(s, NULL);\n"
    "            continue;\n"
    "        }\n"
    "        for (size_t k = 0; k < peng_column_width[i]; k++)\n"
    "            x[at + k] = missing(s) ? k == peng_column_fill_category[i]\n"
    "                                   : !strcmp(s, peng_input_category[at + k]);\n"
    "    }\n"
    "    peng_predict(x, out);\n"
    "    printf(\"%s\", peng_class_names[peng_argmax(out)]);\n"
    "    for (int j = 0; j < PENG_N_OUTPUTS; j++) printf(\",%.9g\", out[j]);\n"
    "    printf(\"\\n\");\n    return 0;\n}\n";

static void test_exports(void)
{
    cli_result r = run("export --format c m.syn -o peng.h --prefix peng");
    CHECK(r.code == 0, "export c: %s", r.err);
    cli_result_free(&r);
    FILE *fp = fopen(cli_path(dir, "encode.c"), "w");
    if (fp) {
        fputs(encode_prog, fp);
        fclose(fp);
    }
    fp = fopen(cli_path(dir, "row.csv"), "w");
    if (fp) {
        fputs("flipper,sex,bill,island\n197,male,NA,Dream\n", fp);
        fclose(fp);
    }
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "cd '%s' && cc -std=c99 -Wall -Wextra -Werror -pedantic -o encode "
             "encode.c -lm && ./encode > encoded.txt", dir);
    CHECK(system(cmd) == 0, "the header's encoding arrays compile and run");
    char *got = cli_read_file(cli_path(dir, "encoded.txt"), NULL);
    r = run("predict --model m.syn --data row.csv");
    const char *want = strchr(r.out, '\n');
    CHECK(r.code == 0 && want && got, "predict the row: %s", r.err);
    if (got && want) {
        /* Same class; probabilities to float rounding (expf vs synapse's exp). */
        size_t n_class = strcspn(got, ",");
        CHECK(!strncmp(got, want + 1, n_class + 1), "same class: %s vs %s", got, want + 1);
        const char *a = got + n_class, *b = want + 1 + n_class;
        for (int j = 0; j < 3 && *a == ',' && *b == ','; j++) {
            char *ea, *eb;
            double pa = strtod(a + 1, &ea), pb = strtod(b + 1, &eb);
            CHECK(fabs(pa - pb) <= 1e-6, "output %d: %g vs %g", j, pa, pb);
            a = ea;
            b = eb;
        }
    }
    free(got);
    cli_result_free(&r);

    r = run("export --format onnx m.syn -o m.onnx");
    CHECK(r.code == 0, "export onnx: %s", r.err);
    cli_result_free(&r);
    size_t size = 0;
    char *onnx = cli_read_file(cli_path(dir, "m.onnx"), &size);
    CHECK(onnx && memmem(onnx, size, "input_encoding", 14) &&
              memmem(onnx, size, "\"categories\": [\"Biscoe\", \"Dream\", \"Torgersen\"]", 45),
          "metadata_props input_encoding");
    free(onnx);
    /* The JSON parses, and onnx.checker accepts the file, where installed. */
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 -c 'import onnx' 2>/dev/null");
    if (system(cmd) != 0) {
        printf("note: python3-onnx not installed, onnx.checker part skipped\n");
        return;
    }
    snprintf(cmd, sizeof cmd, "cd '%s' && /usr/bin/python3 -c \"import json, onnx; "
             "m = onnx.load('m.onnx'); onnx.checker.check_model(m, full_check=True); "
             "e = json.loads({p.key: p.value for p in m.metadata_props}['input_encoding']); "
             "assert [c['name'] for c in e['columns']] == ['island', 'bill', 'sex', 'flipper']; "
             "assert e['targets'] == ['species']\"", dir);
    CHECK(system(cmd) == 0, "onnx.checker and the metadata JSON");
}

static void test_numeric_reordered(void)
{
    FILE *a = fopen(cli_path(dir, "num.csv"), "w");
    FILE *b = fopen(cli_path(dir, "num_reordered.csv"), "w");
    CHECK(a && b, "cannot write");
    if (!a || !b)
        return;
    fputs("x1,x2,x3,label\n", a);
    fputs("label,x3,x1,x2\n", b);
    syn_rng rng;
    syn_rng_seed(&rng, 5);
    for (int i = 0; i < 150; i++) {
        int c = i % 3;
        double x1 = c + 0.3 * syn_rng_normal(&rng), x2 = 10.0 * syn_rng_uniform(&rng);
        double x3 = -2.0 * c + 0.3 * syn_rng_normal(&rng);
        fprintf(a, "%.3f,%.3f,%.3f,c%d\n", x1, x2, x3, c);
        fprintf(b, "c%d,%.3f,%.3f,%.3f\n", c, x3, x1, x2);
    }
    fclose(a);
    fclose(b);
    cli_result r = run("train --data num.csv --epochs 15 --batch 16 --out num.syn --quiet");
    CHECK(r.code == 0, "train: %s", r.err);
    cli_result_free(&r);
    cli_result x = run("eval --model num.syn --data num.csv --json");
    cli_result y = run("eval --model num.syn --data num_reordered.csv --json");
    double ax = json_number(x.out, "accuracy"), ay = json_number(y.out, "accuracy");
    CHECK(x.code == 0 && y.code == 0 && ax > 0.9 && ax == ay,
          "by name, not by position: %g vs %g %s", ax, ay, y.err);
    cli_result_free(&x);
    cli_result_free(&y);
    /* Without a header: positional, the count checked. */
    a = fopen(cli_path(dir, "num_nohdr.csv"), "w");
    if (a) {
        fputs("1,2,3,4,c0\n", a);
        fclose(a);
    }
    r = run("eval --model num.syn --data num_nohdr.csv");
    CHECK(r.code == 1 && strstr(r.err, "num_nohdr.csv:1:1: expected 3 input columns"),
          "headerless count mismatch: %s", r.err);
    cli_result_free(&r);
}

static void test_task_and_targets(void)
{
    FILE *fp = fopen(cli_path(dir, "ages.csv"), "w");
    CHECK(fp != NULL, "cannot write");
    if (!fp)
        return;
    fputs("height,age\n", fp);
    for (int i = 0; i < 120; i++)
        fprintf(fp, "%d,%d\n", 100 + i, 20 + i % 30);
    fclose(fp);
    cli_result r = run("train --data ages.csv --epochs 2 --out ages.syn");
    CHECK(r.code == 0 && strstr(r.err, "regression, 1 target (the target holds 30 distinct "
                                "integers, more than 20 classes; --task classify"),
          "many integers: regression, said why: %s", r.err);
    cli_result_free(&r);
    r = run("train --data ages.csv --epochs 2 --task classify --out ages_c.syn");
    CHECK(r.code == 0 && strstr(r.err, "classification, 30 classes (--task classify)"),
          "--task overrides: %s", r.err);
    cli_result_free(&r);
    fp = fopen(cli_path(dir, "hole.csv"), "w");
    if (fp) {
        fputs("a,b,label\n1,2,x\n3,4,NA\n5,6,y\n", fp);
        fclose(fp);
    }
    r = run("train --data hole.csv --epochs 1 --out hole.syn");
    CHECK(r.code == 1 && strstr(r.err, "hole.csv:3:5: expected a class label, found a missing "
                                "value \"NA\""), "target with a missing cell: %s", r.err);
    cli_result_free(&r);
    fp = fopen(cli_path(dir, "empty_col.csv"), "w");
    if (fp) {
        fputs("a,b,label\n1,,x\n3,NA,y\n", fp);
        fclose(fp);
    }
    r = run("train --data empty_col.csv --epochs 1 --out e.syn");
    CHECK(r.code == 1 && strstr(r.err, "empty_col.csv:1:3: expected values in column \"b\""),
          "entirely missing column: %s", r.err);
    cli_result_free(&r);
}

/* Two prediction files agree: the same text but for numbers, which may
 * differ by the rounding of another CPU's kernels (test_model_compat). */
static int same_predictions(const char *a, const char *b)
{
    while (*a && *b) {
        char *ea, *eb;
        double x = strtod(a, &ea), y = strtod(b, &eb);
        if (ea != a && eb != b) {
            if (fabs(x - y) > 1e-6 + 1e-5 * fabs(y))
                return 0;
            a = ea;
            b = eb;
        } else if (*a++ != *b++) {
            return 0;
        }
    }
    return *a == *b;
}

/* Models saved before they kept their columns: the same predictions, and
 * numbers only (no imputation learned from the scored data). */
static void test_old_models(void)
{
    const char *fx = SYN_TEST_DIR "/fixtures/model/csv_v1";
    char args[1024];
    snprintf(args, sizeof args, "predict --model '%s/classifier.syn' --data '%s/penguins.csv' "
             "--target species", fx, fx);
    cli_result r = run(args);
    char path[512];
    snprintf(path, sizeof path, "%s/classifier_predictions.csv", fx);
    char *want = cli_read_file(path, NULL);
    CHECK(r.code == 0 && want && same_predictions(r.out, want), "old classifier, same output: "
          "%s", r.err);
    free(want);
    cli_result_free(&r);
    FILE *fp = fopen(cli_path(dir, "old_na.csv"), "w");
    if (fp) {
        fputs("bill_length,bill_depth,flipper,mass,species\n38,18,190,NA,Adelie\n"
              "39,17,191,3000,Gentoo\n", fp);
        fclose(fp);
    }
    snprintf(args, sizeof args, "eval --model '%s/classifier.syn' --data old_na.csv", fx);
    r = run(args);
    CHECK(r.code == 1 && strstr(r.err, "records no input columns") &&
              strstr(r.err, "missing fields"), "old model, missing value: %s", r.err);
    cli_result_free(&r);
}

int main(void)
{
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_mixed_table();
    test_exports();
    test_numeric_reordered();
    test_task_and_targets();
    test_old_models();
    int rc = check_finish();
    if (rc == 0) {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", dir);
    } else {
        fprintf(stderr, "files kept in %s\n", dir);
    }
    return rc;
}
