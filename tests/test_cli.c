/* test_cli.c - the synapse command end to end: exit codes and messages of
 * usage and runtime errors, then train / eval / predict / info on small
 * generated CSV files (a 3-class problem with string labels and a
 * regression), the log, the plot, --quiet, early stopping and divergence.
 * Runs the built binary (SYN_CLI_PATH) through the shell in a temporary
 * directory. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "cli_run.h"
#include "synapse.h"

static char tmp_dir[] = "/tmp/syn_test_cli_XXXXXX";

typedef cli_result result;

static char *read_all(const char *path)
{
    return cli_read_file(path, NULL);
}

static void result_free(result *r)
{
    cli_result_free(r);
}

/* Runs "synapse ARGS" in the scratch directory, stdin from `input`. */
static result run_with_input(const char *input, const char *args)
{
    return cli_run_input(tmp_dir, input, args);
}

static result run(const char *args)
{
    return cli_run_input(tmp_dir, NULL, args);
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

#define path_in_tmp(name) cli_path(tmp_dir, name)

/* ------------------------------------------------------------- data sets */

static uint64_t lcg_state = 12345;

static double uniform01(void)
{
    lcg_state = lcg_state * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(lcg_state >> 11) / 9007199254740992.0;
}

static double gaussian(void)
{
    double u = uniform01(), v = uniform01();
    return sqrt(-2.0 * log(u + 1e-300)) * cos(6.283185307179586 * v);
}

static const char *const flower_names[3] = {"setosa", "versicolor", "virginica"};

/* An iris-like problem: three well separated clusters in four features. */
static void write_flowers(const char *name, int rows, int with_label)
{
    static const double centers[3][4] = {
        {5.0, 3.4, 1.5, 0.2}, {5.9, 2.8, 4.3, 1.3}, {6.8, 3.0, 6.0, 2.3}};
    FILE *fp = fopen(path_in_tmp(name), "w");
    fprintf(fp, "sepal_length,sepal_width,petal_length,petal_width%s\n",
            with_label ? ",species" : "");
    for (int i = 0; i < rows; i++) {
        int c = i % 3;
        for (int j = 0; j < 4; j++)
            fprintf(fp, "%s%.3f", j ? "," : "", centers[c][j] + 0.2 * gaussian());
        fprintf(fp, with_label ? ",%s\n" : "\n", flower_names[c]);
    }
    fclose(fp);
}

static void write_regression(const char *name, int rows)
{
    FILE *fp = fopen(path_in_tmp(name), "w");
    fprintf(fp, "x1,x2,y\n");
    for (int i = 0; i < rows; i++) {
        double a = 4.0 * uniform01() - 2.0, b = 4.0 * uniform01() - 2.0;
        fprintf(fp, "%.4f,%.4f,%.5f\n", a, b, 2.0 * a - 3.0 * b + 0.5 + 0.02 * gaussian());
    }
    fclose(fp);
}

/* Random features with random labels: anything learnt is overfitting, so
 * the validation loss soon rises and early stopping must act. */
static void write_noise(const char *name, int rows)
{
    FILE *fp = fopen(path_in_tmp(name), "w");
    for (int i = 0; i < rows; i++) {
        for (int j = 0; j < 8; j++)
            fprintf(fp, "%.4f,", gaussian());
        fprintf(fp, "%s\n", uniform01() < 0.5 ? "yes" : "no");
    }
    fclose(fp);
}

/* The number after "key": in a JSON text, NAN if absent or null. */
static double json_number(const char *json, const char *key)
{
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\": ", key);
    const char *p = strstr(json, pattern);
    if (!p)
        return NAN;
    p += strlen(pattern);
    if (!strncmp(p, "null", 4))
        return NAN;
    return strtod(p, NULL);
}

/* ------------------------------------------------------------ the tests */

static void test_help_and_version(void)
{
    result r = run("--version");
    CHECK(r.code == 0 && strstr(r.out, syn_version()), "--version: %d '%s'", r.code, r.out);
    result_free(&r);
    static const char *const cmds[] = {"train", "eval", "predict", "info", "demo",
                                       "export", "import", "report"};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        char args[64], want[64];
        snprintf(args, sizeof args, "%s --help", cmds[i]);
        snprintf(want, sizeof want, "usage: synapse %s", cmds[i]);
        r = run(args);
        CHECK(r.code == 0 && strstr(r.out, want) && !*r.err, "%s: %d '%s'", args, r.code,
              r.err);
        /* Every line fits an 80-column terminal. */
        size_t widest = 0, width = 0;
        for (const char *c = r.out; *c; c++) {
            width = *c == '\n' ? 0 : width + 1;
            widest = width > widest ? width : widest;
        }
        CHECK(widest <= 80, "%s: a line of %zu columns", args, widest);
        result_free(&r);
    }
    r = run("train --help");
    CHECK(strstr(r.out, "auto") && strstr(r.out, "non-integer"), "--help states the auto rule");
    result_free(&r);
}

/* A usage error: exit 2 and one line naming the problem and the help. */
static void expect_usage(const char *args, const char *fragment)
{
    result r = run(args);
    CHECK(r.code == 2, "%s: exit %d, want 2", args, r.code);
    CHECK(strstr(r.err, fragment), "%s: stderr '%s' lacks '%s'", args, r.err, fragment);
    CHECK(count_lines(r.err) == 1, "%s: %zu lines on stderr", args, count_lines(r.err));
    CHECK(!*r.out, "%s: nothing on stdout", args);
    result_free(&r);
}

/* A runtime error: exit 1 and one line holding `fragment`. */
static void expect_runtime(const char *args, const char *fragment)
{
    result r = run(args);
    CHECK(r.code == 1, "%s: exit %d, want 1", args, r.code);
    CHECK(strstr(r.err, fragment), "%s: stderr '%s' lacks '%s'", args, r.err, fragment);
    CHECK(count_lines(r.err) == 1, "%s: %zu lines on stderr: %s", args, count_lines(r.err),
          r.err);
    result_free(&r);
}

static void test_usage_errors(void)
{
    expect_usage("frobnicate", "unknown command");
    expect_usage("train --data flowers.csv --out m.syn --bogus", "unknown option '--bogus'");
    expect_usage("train --data flowers.csv --out m.syn --bogus",
                 "see 'synapse train --help'");
    expect_usage("train --data flowers.csv", "missing --out");
    expect_usage("train --out m.syn", "missing --data");
    expect_usage("train --data flowers.csv --out m.syn --epochs abc", "--epochs");
    expect_usage("train --data flowers.csv --out m.syn --epochs 0", "--epochs");
    expect_usage("train --data flowers.csv --out m.syn --batch 1.5", "--batch");
    expect_usage("train --data flowers.csv --out m.syn --lr 1e-3x", "--lr");
    expect_usage("train --data flowers.csv --out m.syn --lr -1", "--lr");
    expect_usage("train --data flowers.csv --out m.syn --optimizer adamax", "--optimizer");
    expect_usage("train --data flowers.csv --out m.syn --optimizer adam --alpha 0.9", "--alpha");
    expect_usage("train --data flowers.csv --out m.syn --optimizer rmsprop --alpha -1", "--alpha");
    expect_usage("train --data flowers.csv --out m.syn --optimizer nadam --beta1 1",
                 "beta1");
    expect_usage("train --data flowers.csv --out m.syn --activation softmax", "softmax");
    expect_usage("train --data flowers.csv --out m.syn --activation swish", "--activation");
    expect_usage("train --data flowers.csv --out m.syn --hidden 16,,8", "--hidden");
    expect_usage("train --data flowers.csv --out m.syn --epochs", "needs a value");
    expect_usage("train --data flowers.csv --out m.syn --epochs 3 --max-epochs 5",
                 "--max-epochs caps");
    expect_usage("train --data flowers.csv --out m.syn --epochs 3 --tol 1e-3", "--tol");
    expect_usage("train --data flowers.csv --out m.syn --tol 2", "--tol");
    expect_usage("train --data flowers.csv --out flowers.csv", "overwrite");
    expect_usage("eval --data flowers.csv", "missing --model");
    expect_usage("eval --model m.syn --data flowers.csv --json extra", "unexpected argument");
    expect_usage("predict --model m.syn", "missing --data");
    expect_usage("info", "missing MODEL");
    expect_usage("info --nope m.syn", "unknown option");
    /* A slip gets the nearest option of that command (and only a slip). */
    expect_usage("train --data flowers.csv --out m.syn --epoch 3",
                 "unknown option '--epoch'; did you mean '--epochs'?");
    expect_usage("train --data flowers.csv --out m.syn --max-memroy 1G", "did you mean "
                 "'--max-memory'?");
    expect_usage("eval --modle m.syn --data flowers.csv", "did you mean '--model'?");
    expect_usage("predict --model m.syn --dat flowers.csv", "did you mean '--data'?");
    expect_usage("export m.syn --ot m.onnx", "did you mean '--out'?");
    expect_usage("trian --data flowers.csv", "did you mean 'train'?");
    result far = run("train --data flowers.csv --out m.syn --zzzzzz");
    CHECK(far.code == 2 && !strstr(far.err, "did you mean"), "no guess for --zzzzzz: %s",
          far.err);
    result_free(&far);
    far = run("demo xor --sed 3");
    CHECK(far.code == 2 && strstr(far.err, "did you mean '--seed'?"), "demo: %s", far.err);
    result_free(&far);
    /* The refused --out left the input as it was. */
    char *text = read_all(path_in_tmp("flowers.csv"));
    CHECK(text && !strncmp(text, "sepal_length,", 13), "input untouched");
    free(text);
}

static void test_runtime_errors(void)
{
    expect_runtime("train --data no_such.csv --out m.syn", "no_such.csv");
    expect_runtime("eval --model no_such.syn --data flowers.csv", "no_such.syn");
    expect_runtime("info no_such.syn", "no_such.syn");
    char args[1024];
    /* Text where a number must be: a regression target. */
    snprintf(args, sizeof args, "train --data '%s/fixtures/cli/malformed.csv' --target b "
             "--task regress --out m.syn", SYN_TEST_DIR);
    expect_runtime(args, "malformed.csv:3:5:");
    result r = run(args);
    CHECK(strstr(r.err, "abc") && !strncmp(r.err, "synapse train: ", 15), "'%s'", r.err);
    result_free(&r);
    CHECK(access(path_in_tmp("m.syn"), F_OK) != 0, "no model after a failed load");
    /* Not a model file. */
    expect_runtime("info flowers.csv", "flowers.csv");
}

/* The trained classifier, through eval, predict and info. */
static void check_classifier(void)
{
    result r = run("eval --model flowers.syn --data flowers_test.csv --json");
    double acc = json_number(r.out, "accuracy");
    CHECK(r.code == 0 && acc >= 0.95, "eval --json: exit %d accuracy %g: %s%s", r.code, acc,
          r.out, r.err);
    CHECK(count_lines(r.out) == 1 && r.out[0] == '{', "one JSON object");
    CHECK(strstr(r.out, "\"per_class\"") && strstr(r.out, "\"confusion\"") &&
          strstr(r.out, "\"name\": \"versicolor\"") && json_number(r.out, "samples") == 90,
          "per-class metrics: %s", r.out);
    result_free(&r);

    r = run("eval --model flowers.syn --data flowers_test.csv");
    CHECK(r.code == 0 && strstr(r.out, "accuracy") && strstr(r.out, "confusion") &&
          strstr(r.out, "virginica"), "eval text: %s", r.out);
    result_free(&r);

    r = run("predict --model flowers.syn --data features.csv");
    CHECK(r.code == 0 && count_lines(r.out) == 31, "predict: exit %d, %zu lines", r.code,
          count_lines(r.out));
    CHECK(!strncmp(r.out, "prediction,p_setosa,p_versicolor,p_virginica\n", 45), "header '%.60s'",
          r.out);
    const char *line = strchr(r.out, '\n');
    int rows_ok = 0, names_ok = 0, correct = 0;
    for (int i = 0; line && line[1]; i++) {
        line++;
        char name[64];
        double p[3];
        if (sscanf(line, "%63[^,],%lf,%lf,%lf", name, &p[0], &p[1], &p[2]) == 4) {
            rows_ok += fabs(p[0] + p[1] + p[2] - 1.0) < 1e-5;
            for (int c = 0; c < 3; c++)
                names_ok += !strcmp(name, flower_names[c]);
            correct += !strcmp(name, flower_names[i % 3]);
        }
        line = strchr(line, '\n');
    }
    CHECK(rows_ok == 30 && names_ok == 30, "probabilities sum to 1 (%d), names (%d)", rows_ok,
          names_ok);
    CHECK(correct >= 28, "%d of 30 predictions right", correct);

    result s = run_with_input("features.csv", "predict --model flowers.syn --data - --out -");
    CHECK(s.code == 0 && !strcmp(s.out, r.out), "stdin to stdout gives the same rows: %s",
          s.err);
    result_free(&s);
    s = run("predict --model flowers.syn --data flowers_test.csv --target species "
            "--out pred.csv");
    char *file = read_all(path_in_tmp("pred.csv"));
    CHECK(s.code == 0 && file && count_lines(file) == 91 && !*s.out,
          "--target dropped, --out written: %s", s.err);
    free(file);
    result_free(&s);
    result_free(&r);

    /* With a header, the model's columns are found by name: the target
     * column is one of the extra columns ignored, no --target needed. */
    s = run("predict --model flowers.syn --data flowers_test.csv --target species");
    result t = run("predict --model flowers.syn --data flowers_test.csv");
    CHECK(s.code == 0 && t.code == 0 && !strcmp(s.out, t.out) && count_lines(t.out) == 91,
          "the target is ignored by name: %s", t.err);
    result_free(&s);
    result_free(&t);

    r = run("info flowers.syn");
    CHECK(r.code == 0 && strstr(r.out, "layers") && strstr(r.out, "setosa") &&
          strstr(r.out, "softmax") && strstr(r.out, "parameters") && strstr(r.out, "adam"),
          "info: %s", r.out);
    result_free(&r);
}

static void test_classifier(void)
{
    result r = run("train --data flowers.csv --test-data flowers_test.csv --hidden 16 "
                   "--epochs 40 --batch 16 --lr 0.01 --out flowers.syn --log log.csv "
                   "--plot plot.svg");
    CHECK(r.code == 0, "train: exit %d: %s", r.code, r.err);
    /* What was read, what was chosen, then one line per epoch. */
    CHECK(count_lines(r.err) == 42 && strstr(r.err, "epoch 40/40 loss "), "a line per epoch");
    CHECK(!strncmp(r.err, "synapse train: flowers.csv: classification, 3 classes (the target "
                   "holds text labels); 4 columns (0 categorical) -> 4 inputs\n", 108),
          "what was read, first: %.120s", r.err);
    CHECK(strstr(r.err, "\ntrain: 4 features, 240 rows, all for training; hidden 16;") &&
              strstr(r.err, "batch 16, adam lr 0.01 weight decay 0; 40 epochs\n"),
          "then what was chosen: %s", r.err);
    CHECK(strstr(r.out, "test: loss") && strstr(r.out, "accuracy"), "test result: %s", r.out);
    result_free(&r);

    char *log = read_all(path_in_tmp("log.csv"));
    CHECK(log && !strncmp(log, "epoch,train_loss,train_accuracy,val_loss,val_accuracy,seconds,"
                          "samples_per_second,saved,test_loss,test_accuracy\n", 108),
          "log header");
    CHECK(log && count_lines(log) == 41, "a log row per epoch");
    CHECK(log && strstr(log, "\n1,") && strstr(log, "\n40,") && strstr(log, ",,"),
          "1-based epochs, empty val columns");
    free(log);
    char *svg = read_all(path_in_tmp("plot.svg"));
    CHECK(svg && (!strncmp(svg, "<?xml", 5) || !strncmp(svg, "<svg", 4)) &&
          strstr(svg, "</svg>") && strstr(svg, "Accuracy"), "plot is an SVG");
    CHECK(svg && !strstr(svg, "href") && !strstr(svg, "<script") && !strstr(svg, "@import"),
          "plot is self-contained");
    free(svg);
    check_classifier();

    r = run("train --data flowers.csv --hidden 8 --epochs 3 --out quiet.syn --log q.csv "
            "--plot q.svg --quiet");
    CHECK(r.code == 0 && !*r.out && !*r.err, "--quiet prints nothing: '%s' '%s'", r.out, r.err);
    result_free(&r);
    svg = read_all(path_in_tmp("q.svg"));
    CHECK(svg && strstr(svg, ">loss<") && !strstr(svg, "log scale"),
          "3 epochs, a loss within two decades: a linear axis");
    free(svg);
    /* --quiet still gives the test result, alone on stdout; --silent not even that. */
    r = run("train --data flowers.csv --test-data flowers_test.csv --hidden 8 --epochs 2 "
            "--out quiet.syn --quiet");
    CHECK(r.code == 0 && !strncmp(r.out, "test: loss ", 11) && count_lines(r.out) == 1 &&
          !*r.err, "--quiet with --test-data: '%s' '%s'", r.out, r.err);
    result_free(&r);
    r = run("train --data flowers.csv --test-data flowers_test.csv --hidden 8 --epochs 2 "
            "--out quiet.syn --silent");
    CHECK(r.code == 0 && !*r.out && !*r.err, "--silent prints nothing: '%s' '%s'", r.out, r.err);
    result_free(&r);
}

static double log_min(const char *log, int col, size_t *at, size_t *rows);

static void test_regression(void)
{
    result r = run("train --data reg.csv --hidden 32 --epochs 60 --batch 16 --lr 0.01 "
                   "--out reg.syn --plot reg.svg --log reg_log.csv --quiet");
    CHECK(r.code == 0, "train regression: %s", r.err);
    result_free(&r);
    r = run("eval --model reg.syn --data reg.csv --json");
    double r2 = json_number(r.out, "r2");
    CHECK(r.code == 0 && r2 > 0.95 && strstr(r.out, "\"accuracy\": null") &&
          !isnan(json_number(r.out, "mse")) && !isnan(json_number(r.out, "mae")),
          "regression eval: %s", r.out);
    result_free(&r);
    r = run("predict --model reg.syn --data reg.csv --target y");
    CHECK(r.code == 0 && !strncmp(r.out, "output_1\n", 9) && count_lines(r.out) == 201,
          "regression predict: %.40s", r.out);
    result t = run("predict --model reg.syn --data reg.csv");
    CHECK(t.code == 0 && !strcmp(t.out, r.out), "the target found by name: %s", t.err);
    result_free(&t);
    result_free(&r);
    char *svg = read_all(path_in_tmp("reg.svg"));
    CHECK(svg && strstr(svg, "</svg>") && !strstr(svg, "Accuracy"), "loss panel only");
    /* The training loss falls by more than two decades here: a log axis. */
    char *log = read_all(path_in_tmp("reg_log.csv"));
    size_t rows = 0, at = 0;
    double low = log ? log_min(log, 1, &at, &rows) : NAN;
    double first = log && strchr(log, '\n') ? strtod(strchr(strchr(log, '\n') + 1, ',') + 1,
                                                     NULL) : NAN;
    CHECK(first / low > 100 && svg && strstr(svg, "loss (log scale)"),
          "loss %g -> %g: log axis %d", first, low, svg && strstr(svg, "log scale"));
    free(log);
    free(svg);
    r = run("info reg.syn");
    CHECK(r.code == 0 && strstr(r.out, "linear") && strstr(r.out, "mse"), "%s", r.out);
    result_free(&r);
}

/* Targets far from 0 in large units (a price, a count): with nothing but
 * --data and --out the run standardises them while training, folds the
 * scale back into the output layer and stops on its own; the model then
 * predicts in the data's units. Before, 10 epochs of Adam moved the output
 * bias by about 0.001 a step toward a mean of 5000 (R^2 far below 0). */
static void test_regression_defaults(void)
{
    FILE *fp = fopen(path_in_tmp("price.csv"), "w");
    fprintf(fp, "a,b,price\n");
    for (int i = 0; i < 300; i++) {
        double a = uniform01(), b = uniform01();
        fprintf(fp, "%.4f,%.4f,%.2f\n", a, b, 5000.0 + 800.0 * a - 1200.0 * b * b +
                10.0 * gaussian());
    }
    fclose(fp);
    result r = run("train --data price.csv --out price.syn");
    CHECK(r.code == 0 && strstr(r.err, "\ntrain: 2 features, 300 rows, all for training (too "
                                "few for a validation split); hidden 128; batch 32") &&
              strstr(r.err, "; targets standardised while training\n") &&
              strstr(r.err, "stops when the training loss has not improved by 0.0001 "
                     "(relative) for 10 epochs, at most 1000 epochs") &&
              strstr(r.err, "stopped at epoch "),
          "the plan and the stop: %s", r.err);
    result_free(&r);
    r = run("eval --model price.syn --data price.csv --json");
    double r2 = json_number(r.out, "r2");
    CHECK(r.code == 0 && r2 > 0.97, "R^2 %g in the data's units: %s", r2, r.out);
    result_free(&r);
}

/* Minimum of column `col` of a log, its 1-based row, and the row count. */
static double log_min(const char *log, int col, size_t *at, size_t *rows)
{
    double best = INFINITY;
    *rows = *at = 0;
    for (const char *line = strchr(log, '\n'); line && line[1]; line = strchr(line, '\n')) {
        line++;
        const char *field = line;
        for (int c = 0; c < col && field; c++) {
            field = strchr(field, ',');
            field = field ? field + 1 : NULL;
        }
        double v = field ? strtod(field, NULL) : NAN;
        (*rows)++;
        if (v < best) {
            best = v;
            *at = *rows;
        }
    }
    return best;
}

static void test_early_stop(void)
{
    /* A constant rate, so a plain run of as many epochs as the best one
     * must give exactly the restored weights. */
    const char *common = "--data noise.csv --hidden 64,64 --lr 0.01 --batch 16 "
                         "--schedule constant --val-split 0.3 --seed 5";
    char args[512];
    snprintf(args, sizeof args, "train %s --epochs 300 --early-stop 4 --out early.syn "
             "--log early.csv --plot early.svg --test-data noise.csv", common);
    result r = run(args);
    const char *test_line = strstr(r.out, "test: loss ");
    double test_loss = test_line ? strtod(test_line + 11, NULL) : NAN;
    CHECK(r.code == 0 && strstr(r.err, "stopped at epoch") &&
          strstr(r.err, "validation loss has not improved for 4 epochs"), "early stop: %d %s",
          r.code, r.err);
    CHECK(strstr(r.err, "; restored epoch"), "%s", r.err);
    result_free(&r);
    char *log = read_all(path_in_tmp("early.csv"));
    size_t rows = 0, best_epoch = 0;
    double best = log ? log_min(log, 3, &best_epoch, &rows) : NAN;
    CHECK(rows >= 5 && rows < 300 && rows == best_epoch + 4, "stopped after %zu epochs, best %zu",
          rows, best_epoch);
    /* The restored epoch's row, and only it, says saved and has the test
     * result (the same as on stdout); the plot marks both. */
    char row_start[32];
    snprintf(row_start, sizeof row_start, "\n%zu,", best_epoch);
    const char *row = log ? strstr(log, row_start) : NULL;
    const char *tail = NULL;
    for (int c = 0, i = 0; row && row[++i] && row[i] != '\n';)
        if (row[i] == ',' && ++c == 7)
            tail = row + i + 1;
    double logged = tail && !strncmp(tail, "1,", 2) ? strtod(tail + 2, NULL) : NAN;
    CHECK(fabs(logged - test_loss) <= 1e-3 * fabs(test_loss), "log row %zu: saved, test loss "
          "%g (stdout %g): %.100s", best_epoch, logged, test_loss, row ? row + 1 : "(none)");
    size_t saved_rows = 0;
    for (const char *p = log; p && (p = strstr(p, ",1,")); p++)
        saved_rows += 1;
    CHECK(saved_rows == 1, "one saved row, not %zu", saved_rows);
    free(log);
    char mark[48];
    snprintf(mark, sizeof mark, "restored epoch %zu<", best_epoch);
    char *svg = read_all(path_in_tmp("early.svg"));
    CHECK(svg && strstr(svg, mark) && strstr(svg, ">test "), "the plot marks the restored "
          "epoch and the test result");
    free(svg);
    r = run("info early.syn");
    const char *v = strstr(r.out, "val loss");
    double saved = v ? strtod(v + strlen("val loss"), NULL) : NAN;
    CHECK(fabs(saved - best) <= 1e-5 * fabs(best), "saved model is the best epoch: %g vs %g",
          saved, best);
    result_free(&r);

    snprintf(args, sizeof args, "train %s --epochs %zu --out plain.syn --quiet", common,
             best_epoch);
    r = run(args);
    result_free(&r);
    result a = run("predict --model early.syn --data noise.csv --target -1");
    result b = run("predict --model plain.syn --data noise.csv --target -1");
    CHECK(a.code == 0 && b.code == 0 && !strcmp(a.out, b.out),
          "restored weights equal a run of %zu epochs", best_epoch);
    result_free(&a);
    result_free(&b);
}

/* The auto task rule: integer labels are classes, a non-integer number
 * makes a regression, --task overrides. */
static void test_auto_task(void)
{
    FILE *ints = fopen(path_in_tmp("ints.csv"), "w");
    FILE *reals = fopen(path_in_tmp("reals.csv"), "w");
    for (int i = 0; i < 60; i++) {
        double x = uniform01();
        fprintf(ints, "%.3f,%.3f,%d\n", x, uniform01(), x < 0.3 ? 0 : x < 0.6 ? 1 : 2);
        fprintf(reals, "%.3f,%.3f,%s\n", x, uniform01(), i == 7 ? "2.5" : x < 0.5 ? "1" : "3");
    }
    fclose(ints);
    fclose(reals);
    result r = run("train --data ints.csv --epochs 2 --out ints.syn --quiet");
    result i = run("info ints.syn");
    CHECK(r.code == 0 && strstr(i.out, "classes (3): 0, 1, 2"), "integers are classes: %s",
          i.out);
    result_free(&r);
    result_free(&i);
    r = run("train --data reals.csv --epochs 2 --out reals.syn --quiet");
    i = run("info reals.syn");
    CHECK(r.code == 0 && strstr(i.out, "classes: none") && strstr(i.out, "mse"),
          "a non-integer number makes a regression: %s", i.out);
    result_free(&r);
    result_free(&i);
    r = run("train --data ints.csv --task regress --target -1 --epochs 2 --out r2.syn "
            "--quiet");
    i = run("info r2.syn");
    CHECK(r.code == 0 && strstr(i.out, "classes: none"), "--task regress: %s", i.out);
    result_free(&r);
    result_free(&i);
    expect_usage("train --data ints.csv --task classify --target 0,1 --out m.syn",
                 "one --target");
    expect_usage("train --data ints.csv --target 0,x --out m.syn", "not both");
    expect_runtime("train --data flowers.csv --target nope --out m.syn", "nope");
    expect_runtime("train --data flowers.csv --out no_dir/m.syn", "no_dir");
}

static void test_divergence(void)
{
    /* Batch 128: 2 steps an epoch, so the first epoch ends before the blow-up. */
    result r = run("train --data reg.csv --hidden 16 --optimizer sgd --lr 1e9 --epochs 5 "
                   "--batch 128 --out diverged.syn");
    CHECK(r.code == 1, "divergence exits 1, got %d", r.code);
    CHECK(strstr(r.err, "diverged at epoch ") && strstr(r.err, ", batch ") &&
              strstr(r.err, "learning rate") &&
              strstr(r.err, "--lr"),
          "message: %s", r.err);
    result_free(&r);
    r = run("info diverged.syn");
    CHECK(r.code == 0, "the last good model was saved and loads: %s", r.err);
    result_free(&r);
}

int main(void)
{
    if (!mkdtemp(tmp_dir)) {
        perror("mkdtemp");
        return 1;
    }
    write_flowers("flowers.csv", 240, 1);
    write_flowers("flowers_test.csv", 90, 1);
    write_flowers("features.csv", 30, 0);
    write_regression("reg.csv", 200);
    write_noise("noise.csv", 120);

    test_help_and_version();
    test_usage_errors();
    test_runtime_errors();
    test_classifier();
    test_regression();
    test_regression_defaults();
    test_early_stop();
    test_auto_task();
    test_divergence();

    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
    if (check_failed_ == 0 && system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmp_dir);
    else if (check_failed_)
        fprintf(stderr, "files kept in %s\n", tmp_dir);
    return check_finish();
}
