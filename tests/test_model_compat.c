/* test_model_compat.c - model files written by earlier versions keep loading
 * and predicting the same bits. tests/fixtures/model/csv_v1/ holds a CSV
 * classifier (string class labels, standard scaling) and a regressor
 * (minmax scaling) written by the synapse command before models stored
 * their input columns (make.sh there), with the predictions that build made.
 * Each model is loaded, run on its CSV and compared with them, also through
 * syn_net_predict_fields from the rows' raw text fields. On the machine
 * that wrote them (AVX-512) the outputs are the same bits, which the test
 * prints; the kernels are chosen by CPU and differ in the rounding of fused
 * multiply-adds (docs/ARCHITECTURE.md), so elsewhere, and under valgrind,
 * which has no AVX-512, they are checked to 1e-5 relative. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cli_run.h"
#include "synapse.h"

#define DIR SYN_TEST_DIR "/fixtures/model/csv_v1"

/* The same up to the rounding of another CPU's kernels. */
static int close_to(float got, float want)
{
    return fabsf(got - want) <= 1e-6f + 1e-5f * fabsf(want);
}

/* The floats of a predictions file (header skipped; a leading class-name
 * field skipped when `named`), row after row; *n receives the count. */
static float *read_predictions(const char *path, int named, size_t *n)
{
    char *text = cli_read_file(path, NULL);
    if (!text)
        return NULL;
    size_t cap = 1024, count = 0;
    float *v = malloc(cap * sizeof *v);
    char *save = NULL;
    char *line = strtok_r(text, "\n", &save); /* the header */
    while (v && (line = strtok_r(NULL, "\n", &save)) != NULL) {
        char *p = line;
        if (named)
            p = strchr(p, ',') ? strchr(p, ',') + 1 : p + strlen(p);
        while (*p) {
            char *end;
            float f = strtof(p, &end);
            if (end == p)
                break;
            if (count == cap) {
                float *grown = realloc(v, 2 * cap * sizeof *v);
                if (!grown) {
                    free(v);
                    v = NULL;
                    break;
                }
                v = grown;
                cap *= 2;
            }
            v[count++] = f;
            p = *end == ',' ? end + 1 : end;
        }
    }
    free(text);
    *n = count;
    return v;
}

/* Loads model, reads csv with target column `target`, runs every row and
 * compares the outputs with the committed predictions, bit for bit. */
static void check_model(const char *model, const char *csv, const char *target,
                        const char *predictions, int classifier)
{
    syn_net *net = NULL;
    syn_error err = {{0}};
    syn_status st = syn_net_load(model, &net, NULL, &err);
    CHECK(st == SYN_OK, "%s: %s", model, err.message);
    if (st != SYN_OK)
        return;
    const float *offset, *scale;
    CHECK_OK(syn_net_input_scaling(net, &offset, &scale));
    CHECK(offset && scale, "%s keeps its input scaling", model);
    CHECK((syn_net_n_class_names(net) == 3) == classifier, "%s: %zu class names", model,
          syn_net_n_class_names(net));
    if (classifier) {
        CHECK(!strcmp(syn_net_class_name(net, 0), "Adelie") &&
              !strcmp(syn_net_class_name(net, 2), "Chinstrap"), "%s: class names", model);
    }

    const char *names[] = {target};
    syn_csv_options o = {.target_names = names, .n_target_columns = 1,
                         .regression = !classifier};
    syn_dataset *ds = NULL;
    st = syn_dataset_load_csv(csv, &o, &ds, &err);
    CHECK(st == SYN_OK, "%s: %s", csv, err.message);
    size_t n_want = 0;
    float *want = read_predictions(predictions, classifier, &n_want);
    CHECK(want != NULL, "cannot read %s", predictions);
    size_t n = ds ? syn_dataset_n_samples(ds) : 0, f = ds ? syn_dataset_n_features(ds) : 0;
    size_t n_out = syn_net_n_outputs(net);
    CHECK(n_want == n * n_out, "%s: %zu values for %zu rows of %zu outputs", predictions,
          n_want, n, n_out);
    CHECK(f == syn_net_n_inputs(net), "%zu features for %zu inputs", f, syn_net_n_inputs(net));
    if (st == SYN_OK && want && n_want == n * n_out && f == syn_net_n_inputs(net)) {
        float *x = malloc(n * f * sizeof *x);
        size_t *rows = malloc(n * sizeof *rows);
        syn_workspace *ws = NULL;
        const float *out = NULL;
        for (size_t i = 0; rows && i < n; i++)
            rows[i] = i;
        CHECK(x && rows, "out of memory");
        if (x && rows) {
            CHECK_OK(syn_dataset_gather(ds, rows, n, x, NULL));
            CHECK_OK(syn_workspace_create(net, n, &ws));
            CHECK_OK(syn_forward(net, ws, x, n, &out));
        }
        size_t differ = 0, bits = 0;
        for (size_t i = 0; out && i < n * n_out; i++) {
            differ += !close_to(out[i], want[i]);
            bits += memcmp(&out[i], &want[i], sizeof(float)) == 0;
        }
        CHECK(out && differ == 0, "%s: %zu of %zu outputs differ from %s", model, differ,
              n * n_out, predictions);
        printf("%s: %zu of %zu outputs bit-identical to the old build's\n", model, bits,
               n * n_out);
        /* The raw-field API on the same rows: such a model's inputs are the
         * row's numbers, in order (the target is the last field). */
        char *text = cli_read_file(csv, NULL), *save = NULL;
        char *line = text ? strtok_r(text, "\n", &save) : NULL;
        size_t row = 0, same = 0;
        while (ws && (line = strtok_r(NULL, "\n", &save)) != NULL && row < n) {
            const char *fields[16];
            size_t k = 0;
            for (char *p = line; k < 16 && p; k++) {
                fields[k] = p;
                p = strchr(p, ',');
                if (p)
                    *p++ = '\0';
            }
            const float *got = NULL;
            syn_error e = {{0}};
            int ok = k == f + 1 && syn_net_predict_fields(net, ws, fields, f, &got, &e) ==
                                       SYN_OK;
            for (size_t o = 0; ok && o < n_out; o++)
                ok = close_to(got[o], want[row * n_out + o]);
            same += ok;
            row++;
        }
        CHECK(same == n, "%s: %zu of %zu rows predicted from raw fields give the old "
              "outputs", model, same, n);
        free(text);
        syn_workspace_free(ws);
        free(x);
        free(rows);
    }
    free(want);
    syn_dataset_free(ds);
    syn_net_free(net);
}

int main(void)
{
    check_model(DIR "/classifier.syn", DIR "/penguins.csv", "species",
                DIR "/classifier_predictions.csv", 1);
    check_model(DIR "/regressor.syn", DIR "/houses.csv", "price",
                DIR "/regressor_predictions.csv", 0);
    return check_finish();
}
