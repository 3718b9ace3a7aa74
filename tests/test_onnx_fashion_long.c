/* test_onnx_fashion_long.c - the whole Fashion-MNIST test set through ONNX
 * Runtime: trains a 784-256-128-10 classifier with standard input scaling
 * for one epoch through the library, exports it to ONNX, runs the 10000 test
 * images in ONNX Runtime (onnxruntime-node, tests/onnx/run_ort.js) and
 * compares every probability with syn_forward and with `synapse predict` on
 * the saved model (when the synapse binary is built), to 1e-5, and every
 * predicted class. Skipped (exit 77) when the data set or onnxruntime-node
 * is missing. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "f32_io.h"
#include "synapse.h"

#define DATA_DIR "/usr/share/datasets/fashion-mnist"
#define TOLERANCE 1e-5
#define N_CLASSES 10

static const char *const class_names[N_CLASSES] = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static size_t argmax(const float *row)
{
    size_t best = 0;
    for (size_t j = 1; j < N_CLASSES; j++)
        if (row[j] > row[best])
            best = j;
    return best;
}

/* Is the top class of row decided by more than the tolerance? A near tie
 * may go either way in two correct implementations. */
static int clear_winner(const float *row)
{
    size_t best = argmax(row);
    for (size_t j = 0; j < N_CLASSES; j++)
        if (j != best && row[best] - row[j] <= 2 * TOLERANCE)
            return 0;
    return 1;
}

static syn_net *train_one_epoch(const syn_dataset *train)
{
    size_t n_in = syn_dataset_n_features(train);
    syn_layer_desc layers[3] = {DENSE(256, SYN_ACT_RELU, 0, 0), DENSE(128, SYN_ACT_RELU, 0, 0),
                                DENSE(N_CLASSES, SYN_ACT_SOFTMAX, 0, 0)};
    syn_net_desc desc = {n_in, 3, layers, SYN_LOSS_CROSS_ENTROPY, SYN_REDUCTION_MEAN,
                         SYN_INIT_AUTO, 7, {0, 0, 0}};
    syn_net *net = NULL;
    CHECK_OK(syn_net_create(&desc, &net));
    float *offset = malloc(n_in * sizeof *offset), *scale = malloc(n_in * sizeof *scale);
    CHECK_OK(syn_dataset_fit_scaling(train, NULL, 0, SYN_SCALE_STANDARD, offset, scale));
    CHECK_OK(syn_net_set_input_scaling(net, offset, scale));
    CHECK_OK(syn_net_set_class_names(net, class_names, N_CLASSES));
    free(offset);
    free(scale);
    syn_optim_desc opt = syn_optim_defaults(SYN_OPTIM_ADAM);
    syn_train_desc td = {0};
    td.batch_size = 128;
    td.seed = 3;
    syn_trainer *tr = NULL;
    syn_epoch_stats stats;
    CHECK_OK(syn_trainer_create(net, &opt, &td, &tr));
    CHECK_OK(syn_trainer_epoch(tr, train, NULL, 0, NULL, NULL, &stats));
    printf("trained 1 epoch: loss %.4f, accuracy %.4f\n", stats.loss, stats.accuracy);
    syn_trainer_free(tr);
    return net;
}

/* Reads `synapse predict` CSV: header, then "name,p_1,...,p_10" rows. */
static size_t read_predict_csv(const char *path, size_t rows, float *probs, size_t *pred)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char line[4096];
    size_t r = 0;
    if (!fgets(line, sizeof line, f)) {
        fclose(f);
        return 0;
    }
    while (r < rows && fgets(line, sizeof line, f)) {
        char *comma = strchr(line, ',');
        if (!comma)
            break;
        *comma = '\0';
        pred[r] = N_CLASSES;
        for (size_t c = 0; c < N_CLASSES; c++)
            if (strcmp(line, class_names[c]) == 0)
                pred[r] = c;
        char *p = comma + 1;
        for (size_t j = 0; j < N_CLASSES; j++) {
            char *end;
            probs[r * N_CLASSES + j] = strtof(p, &end);
            p = end + (*end == ',');
        }
        r++;
    }
    fclose(f);
    return r;
}

int main(void)
{
    const char *paths[4] = {DATA_DIR "/train-images-idx3-ubyte.gz",
                            DATA_DIR "/train-labels-idx1-ubyte.gz",
                            DATA_DIR "/t10k-images-idx3-ubyte.gz",
                            DATA_DIR "/t10k-labels-idx1-ubyte.gz"};
    for (int i = 0; i < 4; i++)
        if (!file_exists(paths[i])) {
            printf("SKIP: %s is not installed\n", paths[i]);
            return 77;
        }
    if (!file_exists(SYN_TEST_DIR "/onnx/node_modules/onnxruntime-node/package.json") ||
        system("node --version >/dev/null 2>&1") != 0) {
        printf("SKIP: onnxruntime-node is not installed (tests/onnx/setup.sh)\n");
        return 77;
    }
    int have_cli = file_exists(SYN_CLI_PATH);
    if (!have_cli)
        printf("note: %s is not built; skipping the synapse predict comparison\n",
               SYN_CLI_PATH);
    char dir[64] = "/tmp/syn_onnx_fashion_XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    char model_syn[128], model_onnx[128], in_path[128], ort_path[128], csv_path[128];
    char cmd[1024];
    snprintf(model_syn, sizeof model_syn, "%s/fashion.syn", dir);
    snprintf(model_onnx, sizeof model_onnx, "%s/fashion.onnx", dir);
    snprintf(in_path, sizeof in_path, "%s/test.f32", dir);
    snprintf(ort_path, sizeof ort_path, "%s/ort.f32", dir);
    snprintf(csv_path, sizeof csv_path, "%s/predict.csv", dir);

    syn_dataset *train = NULL, *test = NULL;
    syn_error err = {{0}};
    CHECK(syn_dataset_load_idx(paths[0], paths[1], &train, &err) == SYN_OK, "%s", err.message);
    CHECK(syn_dataset_load_idx(paths[2], paths[3], &test, &err) == SYN_OK, "%s", err.message);
    if (!train || !test)
        return check_finish();
    syn_net *net = train_one_epoch(train);
    CHECK_OK(syn_net_save(net, NULL, model_syn, &err));
    CHECK_OK(syn_net_export_onnx(net, model_onnx, &err));

    size_t rows = syn_dataset_n_samples(test), n_in = syn_dataset_n_features(test);
    size_t *idx = malloc(rows * sizeof *idx);
    float *x = malloc(rows * n_in * sizeof *x);
    float *lib = malloc(rows * N_CLASSES * sizeof *lib);
    float *ort = malloc(rows * N_CLASSES * sizeof *ort);
    float *cli = malloc(rows * N_CLASSES * sizeof *cli);
    size_t *cli_pred = malloc(rows * sizeof *cli_pred);
    for (size_t i = 0; i < rows; i++)
        idx[i] = i;
    CHECK_OK(syn_dataset_gather(test, idx, rows, x, NULL));
    syn_workspace *ws = NULL;
    const float *out = NULL;
    CHECK_OK(syn_workspace_create(net, rows, &ws));
    CHECK_OK(syn_forward(net, ws, x, rows, &out));
    memcpy(lib, out, rows * N_CLASSES * sizeof *lib);

    CHECK(write_f32(in_path, x, rows * n_in), "writing the inputs");
    snprintf(cmd, sizeof cmd, "node %s/onnx/run_ort.js %s %s %zu %s", SYN_TEST_DIR, model_onnx,
             in_path, n_in, ort_path);
    fflush(stdout);
    CHECK(system(cmd) == 0, "ONNX Runtime failed");
    CHECK(read_f32(ort_path, ort, rows * N_CLASSES), "ONNX Runtime outputs");

    size_t cli_rows = 0;
    if (have_cli) {
        snprintf(cmd, sizeof cmd, "%s predict --model %s --data %s --out %s", SYN_CLI_PATH,
                 model_syn, paths[2], csv_path);
        CHECK(system(cmd) == 0, "synapse predict failed: %s", cmd);
        cli_rows = read_predict_csv(csv_path, rows, cli, cli_pred);
        CHECK(cli_rows == rows, "synapse predict wrote %zu rows of %zu", cli_rows, rows);
    }

    double diff_lib = 0.0, diff_cli = 0.0;
    size_t correct = 0, class_mismatch = 0, ties = 0;
    for (size_t r = 0; r < rows; r++) {
        const float *o = ort + r * N_CLASSES;
        for (size_t j = 0; j < N_CLASSES; j++) {
            double d = fabs((double)o[j] - lib[r * N_CLASSES + j]);
            diff_lib = d > diff_lib || d != d ? d : diff_lib;
            if (r < cli_rows) {
                d = fabs((double)o[j] - cli[r * N_CLASSES + j]);
                diff_cli = d > diff_cli || d != d ? d : diff_cli;
            }
        }
        uint32_t label;
        syn_dataset_label(test, r, &label);
        correct += argmax(o) == label;
        if (!clear_winner(o)) {
            ties++;
            continue;
        }
        if (argmax(o) != argmax(lib + r * N_CLASSES) ||
            (r < cli_rows && argmax(o) != cli_pred[r]))
            class_mismatch++;
    }
    printf("ONNX Runtime on %zu test images: accuracy %.4f; max |diff| vs syn_forward %.3g, "
           "vs synapse predict %.3g; %zu near ties\n", rows, (double)correct / (double)rows,
           diff_lib, diff_cli, ties);
    CHECK(diff_lib <= TOLERANCE, "ONNX Runtime vs syn_forward: %g", diff_lib);
    CHECK(diff_cli <= TOLERANCE, "ONNX Runtime vs synapse predict: %g", diff_cli);
    CHECK(class_mismatch == 0, "%zu predicted classes differ", class_mismatch);
    CHECK((double)correct / (double)rows > 0.75, "accuracy after one epoch %zu/%zu", correct,
          rows);

    syn_workspace_free(ws);
    syn_net_free(net);
    syn_dataset_free(train);
    syn_dataset_free(test);
    free(idx);
    free(x);
    free(lib);
    free(ort);
    free(cli);
    free(cli_pred);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return check_finish();
}
