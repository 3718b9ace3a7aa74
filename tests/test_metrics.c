/* test_metrics.c - the evaluation report against sklearn.metrics: the
 * predictions and scores in tests/fixtures/metrics/sklearn_metrics.txt
 * (written by gen_metrics.py there) go through syn_evaluate_targets and
 * syn_class_report on identity networks (output = input), so the library
 * scores exactly the predictions sklearn scored: a 5-class case with a class
 * never predicted and a class never present, and a 3-target regression with
 * one target near 1e4. The same networks saved as model files give the same
 * numbers through `synapse eval --json`. Then `synapse eval` on 12- and
 * 40-class models with long names: every text line fits 80 columns and no
 * 40 x 40 matrix is printed. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cli_run.h"
#include "synapse.h"

#define FIXTURE SYN_TEST_DIR "/fixtures/metrics/sklearn_metrics.txt"
#define MAX_VALUES 512

/* The numbers after "key " on the fixture's line that starts with it. */
static size_t fixture_values(const char *text, const char *key, double *out)
{
    size_t len = strlen(key), n = 0;
    for (const char *line = text; line && *line; line = strchr(line, '\n')) {
        line += *line == '\n';
        if (strncmp(line, key, len) != 0 || line[len] != ' ')
            continue;
        const char *p = line + len;
        char *end;
        while (n < MAX_VALUES) {
            double v = strtod(p, &end);
            if (end == p || *p == '\n')
                break;
            out[n++] = v;
            p = end;
        }
        return n;
    }
    return 0;
}

/* A one-layer network whose outputs equal its inputs. */
static syn_net *identity_net(size_t width, syn_activation act, syn_loss loss)
{
    syn_layer_desc layer = {.units = width, .activation = act};
    syn_net_desc desc = {.n_inputs = width, .n_layers = 1, .layers = &layer, .loss = loss};
    syn_net *net = NULL;
    float *w, *b;
    if (syn_net_create(&desc, &net) != SYN_OK || syn_net_layer_params(net, 0, &w, &b) != SYN_OK)
        return NULL;
    for (size_t i = 0; i < width; i++)
        for (size_t j = 0; j < width; j++)
            w[i * width + j] = i == j ? 1.0f : 0.0f;
    memset(b, 0, width * sizeof *b);
    return net;
}

static void test_classification(const char *text)
{
    static double v[MAX_VALUES], truth[MAX_VALUES], pred[MAX_VALUES];
    CHECK(fixture_values(text, "classes", v) == 1, "classes line");
    size_t k = (size_t)v[0], n = fixture_values(text, "y_true", truth);
    CHECK(n > 0 && fixture_values(text, "y_pred", pred) == n, "y_true/y_pred lines");
    /* One-hot predictions through softmax(I x): argmax is the prediction. */
    float *x = calloc(n * k, sizeof *x);
    uint32_t *labels = calloc(n, sizeof *labels);
    uint64_t *confusion = calloc(k * k, sizeof *confusion);
    syn_class_metrics *cm = calloc(k, sizeof *cm);
    syn_net *net = identity_net(k, SYN_ACT_SOFTMAX, SYN_LOSS_CROSS_ENTROPY);
    syn_dataset *ds = NULL;
    syn_workspace *ws = NULL;
    for (size_t i = 0; i < n; i++) {
        x[i * k + (size_t)pred[i]] = 1.0f;
        labels[i] = (uint32_t)truth[i];
    }
    CHECK_OK(syn_dataset_from_labels(x, n, k, labels, k, &ds));
    CHECK_OK(syn_workspace_create(net, 7, &ws)); /* several batches */
    syn_eval ev;
    CHECK_OK(syn_evaluate(net, ws, ds, NULL, 0, &ev, confusion));
    size_t cells = fixture_values(text, "confusion", v);
    CHECK(cells == k * k, "confusion line has %zu cells", cells);
    size_t same = 0;
    for (size_t i = 0; i < cells; i++)
        same += confusion[i] == (uint64_t)v[i];
    CHECK(same == k * k, "confusion matrix equals sklearn's (%zu of %zu cells)", same, k * k);

    syn_class_summary sum;
    CHECK_OK(syn_class_report(confusion, k, cm, &sum));
    static const char *const keys[] = {"precision", "recall", "f1", "support"};
    for (int key = 0; key < 4; key++) {
        CHECK(fixture_values(text, keys[key], v) == k, "%s line", keys[key]);
        for (size_t c = 0; c < k; c++) {
            double got = key == 0 ? cm[c].precision : key == 1 ? cm[c].recall
                       : key == 2 ? cm[c].f1 : (double)cm[c].support;
            CHECK_CLOSE(got, v[c], 1e-12, 1e-15, "%s of class %zu: %.17g, sklearn %.17g",
                        keys[key], c, got, v[c]);
        }
    }
    CHECK(cm[3].predicted == 0 && cm[3].support > 0 && cm[3].precision == 0.0,
          "the fixture's class 3 is never predicted (precision 0 by zero_division)");
    CHECK(cm[4].support == 0 && cm[4].recall == 0.0, "class 4 has no rows (recall 0)");
    CHECK(fixture_values(text, "accuracy", v) == 1, "accuracy line");
    CHECK_CLOSE(sum.accuracy, v[0], 1e-12, 0, "accuracy %.17g, sklearn %.17g", sum.accuracy,
                v[0]);
    CHECK_CLOSE(ev.accuracy, v[0], 1e-12, 0, "syn_eval accuracy %.17g", ev.accuracy);
    CHECK(sum.samples == n && sum.macro.support == n, "totals");
    const syn_class_metrics *avg[2] = {&sum.macro, &sum.weighted};
    static const char *const avg_keys[] = {"macro", "weighted"};
    for (int a = 0; a < 2; a++) {
        CHECK(fixture_values(text, avg_keys[a], v) == 3, "%s line", avg_keys[a]);
        CHECK_CLOSE(avg[a]->precision, v[0], 1e-12, 1e-15, "%s precision %.17g, sklearn %.17g",
                    avg_keys[a], avg[a]->precision, v[0]);
        CHECK_CLOSE(avg[a]->recall, v[1], 1e-12, 1e-15, "%s recall %.17g, sklearn %.17g",
                    avg_keys[a], avg[a]->recall, v[1]);
        CHECK_CLOSE(avg[a]->f1, v[2], 1e-12, 1e-15, "%s f1 %.17g, sklearn %.17g", avg_keys[a],
                    avg[a]->f1, v[2]);
    }
    uint64_t empty[4] = {0};
    CHECK(syn_class_report(empty, 2, NULL, &sum) == SYN_ERR_INVALID_ARGUMENT, "empty matrix");
    CHECK(syn_class_report(NULL, 2, NULL, &sum) == SYN_ERR_INVALID_ARGUMENT, "NULL matrix");
    CHECK(syn_class_report(empty, SIZE_MAX, NULL, &sum) == SYN_ERR_OVERFLOW, "k*k overflow");
    syn_workspace_free(ws);
    syn_dataset_free(ds);
    syn_net_free(net);
    free(x);
    free(labels);
    free(confusion);
    free(cm);
}

static void test_regression(const char *text)
{
    static double v[MAX_VALUES], truth[MAX_VALUES], pred[MAX_VALUES];
    CHECK(fixture_values(text, "targets", v) == 1, "targets line");
    size_t t = (size_t)v[0], cells = fixture_values(text, "reg_true", truth);
    CHECK(t > 0 && cells % t == 0 && fixture_values(text, "reg_pred", pred) == cells,
          "reg_true/reg_pred lines");
    size_t n = cells / t;
    float *x = malloc(cells * sizeof *x), *y = malloc(cells * sizeof *y);
    for (size_t i = 0; i < cells; i++) {
        x[i] = (float)pred[i];
        y[i] = (float)truth[i];
    }
    syn_net *net = identity_net(t, SYN_ACT_LINEAR, SYN_LOSS_MSE);
    syn_dataset *ds = NULL;
    syn_workspace *ws = NULL;
    syn_target_eval per[8];
    syn_eval ev;
    CHECK_OK(syn_dataset_from_floats(x, n, t, y, t, &ds));
    CHECK_OK(syn_workspace_create(net, 16, &ws));
    CHECK_OK(syn_evaluate_targets(net, ws, ds, NULL, 0, &ev, NULL, per));
    static const char *const keys[] = {"mse", "rmse", "mae", "r2"};
    double rmse_mean = 0.0;
    for (size_t j = 0; j < t; j++)
        rmse_mean += per[j].rmse / (double)t;
    for (int key = 0; key < 4; key++) {
        CHECK(fixture_values(text, keys[key], v) == t, "%s line", keys[key]);
        for (size_t j = 0; j < t; j++) {
            double got = key == 0 ? per[j].mse : key == 1 ? per[j].rmse
                       : key == 2 ? per[j].mae : per[j].r2;
            CHECK_CLOSE(got, v[j], 1e-9, 1e-12, "%s of target %zu: %.17g, sklearn %.17g",
                        keys[key], j, got, v[j]);
        }
        char mean_key[16];
        snprintf(mean_key, sizeof mean_key, "%s_mean", keys[key]);
        CHECK(fixture_values(text, mean_key, v) == 1, "%s line", mean_key);
        double got = key == 0 ? ev.mse : key == 1 ? rmse_mean : key == 2 ? ev.mae : ev.r2;
        CHECK_CLOSE(got, v[0], 1e-9, 1e-12, "%s: %.17g, sklearn %.17g", mean_key, got, v[0]);
    }
    /* r2_score's force_finite: a constant target scores 1 when exact, else 0. */
    const float cx[3] = {4, 4, 5}, cy[3] = {4, 4, 4};
    syn_dataset *flat = NULL;
    syn_net *one = identity_net(1, SYN_ACT_LINEAR, SYN_LOSS_MSE);
    CHECK_OK(syn_dataset_from_floats(cx, 3, 1, cy, 1, &flat));
    syn_workspace_free(ws);
    ws = NULL;
    CHECK_OK(syn_workspace_create(one, 4, &ws));
    CHECK_OK(syn_evaluate_targets(one, ws, flat, NULL, 0, &ev, NULL, per));
    CHECK(ev.r2 == 0.0 && per[0].r2 == 0.0, "constant target, imperfect: r2 %g", ev.r2);
    size_t exact[2] = {0, 1};
    CHECK_OK(syn_evaluate_targets(one, ws, flat, exact, 2, &ev, NULL, per));
    CHECK(ev.r2 == 1.0, "constant target, exact: r2 %g", ev.r2);
    syn_dataset_free(flat);
    syn_net_free(one);
    syn_workspace_free(ws);
    syn_dataset_free(ds);
    syn_net_free(net);
    free(x);
    free(y);
}

/* The number after the n-th (from 0) occurrence of "key": in a JSON text,
 * NaN when there is none. */
static double json_nth(const char *json, const char *key, size_t n)
{
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\": ", key);
    const char *p = json;
    for (size_t i = 0; p && i <= n; i++) {
        p = strstr(p, pattern);
        p = p ? p + strlen(pattern) : NULL;
    }
    return p ? strtod(p, NULL) : NAN;
}

/* The same predictions through `synapse eval --json`: the identity
 * networks saved as model files, the predictions as the CSV's features. */
static void test_cli_numbers(const char *text, const char *dir)
{
    static double v[MAX_VALUES], truth[MAX_VALUES], pred[MAX_VALUES];
    fixture_values(text, "classes", v);
    size_t k = (size_t)v[0], n = fixture_values(text, "y_true", truth);
    fixture_values(text, "y_pred", pred);
    syn_net *net = identity_net(k, SYN_ACT_SOFTMAX, SYN_LOSS_CROSS_ENTROPY);
    const char *names[8] = {"c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7"};
    CHECK(net && k <= 8, "identity classifier");
    if (!net || k > 8)
        return;
    CHECK_OK(syn_net_set_class_names(net, names, k));
    CHECK_OK(syn_net_save(net, NULL, cli_path(dir, "id.syn"), NULL));
    syn_net_free(net);
    FILE *fp = fopen(cli_path(dir, "id.csv"), "w");
    for (size_t i = 0; fp && i < n; i++) {
        for (size_t c = 0; c < k; c++)
            fprintf(fp, "%d,", c == (size_t)pred[i]);
        fprintf(fp, "c%d\n", (int)truth[i]);
    }
    if (fp)
        fclose(fp);
    cli_result r = cli_run_input(dir, NULL, "eval --model id.syn --data id.csv --no-header "
                                            "--json");
    CHECK(r.code == 0, "eval of the identity classifier: %s", r.err);
    static const char *const keys[] = {"precision", "recall", "f1"};
    for (int key = 0; key < 3; key++) {
        fixture_values(text, keys[key], v);
        for (size_t c = 0; c < k; c++)
            CHECK_CLOSE(json_nth(r.out, keys[key], c), v[c], 1e-9, 1e-12,
                        "eval --json %s of c%zu: %s", keys[key], c, r.out);
        double avg[3];
        fixture_values(text, "macro", avg);
        CHECK_CLOSE(json_nth(r.out, keys[key], k), avg[key], 1e-9, 1e-12, "macro %s",
                    keys[key]);
        fixture_values(text, "weighted", avg);
        CHECK_CLOSE(json_nth(r.out, keys[key], k + 1), avg[key], 1e-9, 1e-12, "weighted %s",
                    keys[key]);
    }
    fixture_values(text, "accuracy", v);
    CHECK_CLOSE(json_nth(r.out, "accuracy", 0), v[0], 1e-9, 0, "accuracy: %s", r.out);
    cli_result_free(&r);

    fixture_values(text, "targets", v);
    size_t t = (size_t)v[0], cells = fixture_values(text, "reg_true", truth);
    fixture_values(text, "reg_pred", pred);
    net = identity_net(t, SYN_ACT_LINEAR, SYN_LOSS_MSE);
    CHECK_OK(syn_net_save(net, NULL, cli_path(dir, "idr.syn"), NULL));
    syn_net_free(net);
    fp = fopen(cli_path(dir, "idr.csv"), "w");
    for (size_t i = 0; fp && i < cells / t; i++) {
        for (size_t j = 0; j < t; j++)
            fprintf(fp, "%.9g,", pred[i * t + j]);
        for (size_t j = 0; j < t; j++)
            fprintf(fp, "%.9g%s", truth[i * t + j], j + 1 < t ? "," : "\n");
    }
    if (fp)
        fclose(fp);
    r = cli_run_input(dir, NULL, "eval --model idr.syn --data idr.csv --no-header --json");
    CHECK(r.code == 0, "eval of the identity regression: %s", r.err);
    static const char *const reg_keys[] = {"mse", "rmse", "mae", "r2"};
    for (int key = 0; key < 4; key++) {
        char mean_key[16];
        snprintf(mean_key, sizeof mean_key, "%s_mean", reg_keys[key]);
        fixture_values(text, mean_key, v);
        CHECK_CLOSE(json_nth(r.out, reg_keys[key], 0), v[0], 1e-8, 1e-12,
                    "eval --json overall %s: %s", reg_keys[key], r.out);
        fixture_values(text, reg_keys[key], v);
        for (size_t j = 0; j < t; j++)
            CHECK_CLOSE(json_nth(r.out, reg_keys[key], 1 + j), v[j], 1e-8, 1e-12,
                        "eval --json %s of output %zu: %s", reg_keys[key], j + 1, r.out);
    }
    cli_result_free(&r);
}

/* Code points on the longest line of text. */
static size_t widest_line(const char *text)
{
    size_t widest = 0, cols = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        if (*p == '\n') {
            widest = cols > widest ? cols : widest;
            cols = 0;
        } else {
            cols += (*p & 0xC0) != 0x80;
        }
    }
    return cols > widest ? cols : widest;
}

/* k classes named prefix, the class number, suffix. */
static void write_classes_csv(const char *path, size_t k, const char *prefix,
                              const char *suffix)
{
    FILE *fp = fopen(path, "w");
    if (!fp)
        return;
    fprintf(fp, "x1,x2,label\n");
    for (size_t i = 0; i < 4 * k; i++)
        fprintf(fp, "%zu,%zu,%s %zu%s\n", i % k, (i * 7) % 13, prefix, i % k, suffix);
    fclose(fp);
}

static void test_cli_width(const char *dir)
{
    /* Long names, with a multi-byte character, that differ only at the end,
     * and 3 that differ only in the middle: cut, they are numbered. */
    static const size_t sizes[] = {12, 40, 3};
    static const char *const suffixes[] = {"", "", " and then the same long common suffix"};
    for (size_t s = 0; s < 3; s++) {
        size_t k = sizes[s];
        char cmd[512];
        write_classes_csv(cli_path(dir, "c.csv"), k,
                          "a rather long class name for the Überprüfung of widths", suffixes[s]);
        cli_result r = cli_run_input(dir, NULL, "train --data c.csv --epochs 1 --out c.syn "
                                                "--quiet");
        CHECK(r.code == 0, "train %zu classes: %s", k, r.err);
        cli_result_free(&r);
        r = cli_run_input(dir, NULL, "eval --model c.syn --data c.csv");
        CHECK(r.code == 0, "eval: %s", r.err);
        size_t widest = widest_line(r.out);
        CHECK(widest <= 80, "%zu classes: a line of %zu columns:\n%s", k, widest, r.out);
        CHECK(strstr(r.out, "macro avg") && strstr(r.out, "weighted avg"), "averages: %s",
              r.out);
        int matrix = strstr(r.out, "rows: true class, columns: predicted") != NULL;
        CHECK(k <= 30 ? matrix : !matrix && strstr(r.out, "see --json"),
              "%zu classes: matrix printed %d:\n%s", k, matrix, r.out);
        CHECK(k != 3 || (strstr(r.out, "\n0:a rather") && strstr(r.out, "\n2:a rather")),
              "names that cut alike are numbered:\n%s", r.out);
        cli_result_free(&r);
        snprintf(cmd, sizeof cmd, "eval --model c.syn --data c.csv --json");
        r = cli_run_input(dir, NULL, cmd);
        CHECK(r.code == 0 && strstr(r.out, "\"macro_avg\": {\"precision\": ") &&
              strstr(r.out, "\"most_confused\": [") && strstr(r.out, "\"confusion\": [["),
              "json keys: %s", r.out);
        cli_result_free(&r);
    }
}

int main(void)
{
    char *text = cli_read_file(FIXTURE, NULL);
    CHECK(text != NULL, "cannot read %s", FIXTURE);
    if (text) {
        test_classification(text);
        test_regression(text);
    }
    char dir[] = "/tmp/syn_metrics_XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK(0, "mkdtemp");
        free(text);
        return check_finish();
    }
    if (text)
        test_cli_numbers(text, dir);
    free(text);
    test_cli_width(dir);
    char rm[600];
    snprintf(rm, sizeof rm, "rm -rf '%s'", dir);
    if (system(rm) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return check_finish();
}
