/* test_onnx_kinds.c - ONNX export of the layer kinds: batch norm as
 * BatchNormalization with the running statistics, layer norm decomposed
 * (opset 13 has no LayerNormalization), dropout dropped (inference), each
 * followed by its activation. Every export passes onnx.checker
 * (full_check) and ONNX Runtime's outputs equal syn_forward's to 1e-5;
 * either consumer missing skips its part (tests/onnx/setup.sh installs
 * them). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "f32_io.h"
#include "synapse.h"

#define ROWS 9
#define TOLERANCE 1e-5

typedef struct spec {
    const char *name;
    size_t n_inputs, n_layers;
    syn_layer_desc layers[6];
} spec;

static const spec specs[] = {
    {"bn_dropout", 6, 5,
     {{.units = 8, .activation = SYN_ACT_RELU},
      {.kind = SYN_LAYER_BATCHNORM, .activation = SYN_ACT_TANH},
      {.kind = SYN_LAYER_DROPOUT, .rate = 0.3f},
      {.kind = SYN_LAYER_LAYERNORM, .activation = SYN_ACT_RELU},
      {.units = 3, .activation = SYN_ACT_SOFTMAX}}},
    {"norms_no_beta_dropout_last", 5, 4,
     {{.units = 6, .no_bias = 1},
      {.kind = SYN_LAYER_BATCHNORM, .no_bias = 1, .eps = 1e-3f, .momentum = 0.2f},
      {.kind = SYN_LAYER_LAYERNORM, .no_bias = 1, .eps = 1e-2f, .activation = SYN_ACT_SIGMOID},
      {.kind = SYN_LAYER_DROPOUT, .rate = 0.5f}}},
    {"layernorm_out", 4, 2,
     {{.units = 5, .activation = SYN_ACT_TANH}, {.kind = SYN_LAYER_LAYERNORM}}},
};
#define N_SPECS (sizeof specs / sizeof specs[0])

static char dir[] = "/tmp/syn_test_onnx_kinds_XXXXXX";

static syn_net *make_net(const spec *s, uint64_t seed)
{
    syn_activation last = s->layers[s->n_layers - 1].activation;
    syn_net_desc desc = {.n_inputs = s->n_inputs, .n_layers = s->n_layers, .layers = s->layers,
                         .loss = last == SYN_ACT_SOFTMAX ? SYN_LOSS_CROSS_ENTROPY : SYN_LOSS_MSE,
                         .seed = seed};
    syn_net *net = NULL;
    CHECK_OK(syn_net_create(&desc, &net));
    if (!net)
        return NULL;
    syn_rng rng;
    syn_rng_seed(&rng, seed + 1);
    size_t n;
    float *p = syn_net_params(net, &n), *st = syn_net_state(net, &n);
    size_t np;
    syn_net_params(net, &np);
    for (size_t i = 0; i < np; i++)
        p[i] += (float)(0.3 * syn_rng_normal(&rng));
    /* One batch norm per spec: its means, then its variances (> 0). */
    for (size_t i = 0; i < n; i++)
        st[i] = (float)(i < n / 2 ? syn_rng_normal(&rng) : 0.1 + syn_rng_uniform(&rng));
    return net;
}

static int have(const char *probe)
{
    return system(probe) == 0;
}

int main(void)
{
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    int checker = have("/usr/bin/python3 -c 'import onnx' >/dev/null 2>&1");
    char probe[600];
    snprintf(probe, sizeof probe,
             "test -f %s/onnx/node_modules/onnxruntime-node/package.json && node --version "
             ">/dev/null 2>&1", SYN_TEST_DIR);
    int ort = have(probe);
    double worst = 0;
    for (size_t k = 0; k < N_SPECS; k++) {
        const spec *s = &specs[k];
        syn_net *net = make_net(s, 40 + k);
        if (!net)
            continue;
        char model[256], in_path[256], out_path[256], cmd[2048];
        snprintf(model, sizeof model, "%s/%s.onnx", dir, s->name);
        snprintf(in_path, sizeof in_path, "%s/in.f32", dir);
        snprintf(out_path, sizeof out_path, "%s/out.f32", dir);
        syn_error err = {{0}};
        CHECK(syn_net_export_onnx(net, model, &err) == SYN_OK, "%s: export: %s", s->name,
              err.message);
        if (checker) {
            snprintf(cmd, sizeof cmd,
                     "/usr/bin/python3 -c 'import sys, onnx\n"
                     "m = onnx.load(sys.argv[1])\n"
                     "onnx.checker.check_model(m, full_check=True)\n"
                     "ops = [n.op_type for n in m.graph.node]\n"
                     "assert \"Dropout\" not in ops, ops\n"
                     "print(sys.argv[1].rsplit(\"/\", 1)[1], ops)' %s", model);
            fflush(stdout);
            CHECK(system(cmd) == 0, "%s: onnx.checker", s->name);
        }
        if (!ort) {
            syn_net_free(net);
            continue;
        }
        size_t n_in = s->n_inputs, n_out = syn_net_n_outputs(net);
        float x[ROWS * 8], want[ROWS * 8], got[ROWS * 8];
        syn_rng rng;
        syn_rng_seed(&rng, 9 + k);
        for (size_t i = 0; i < ROWS * n_in; i++)
            x[i] = (float)(2.0 * syn_rng_normal(&rng));
        syn_workspace *ws = NULL;
        const float *y = NULL;
        CHECK_OK(syn_workspace_create(net, ROWS, &ws));
        CHECK_OK(syn_forward(net, ws, x, ROWS, &y));
        if (y)
            memcpy(want, y, ROWS * n_out * sizeof(float));
        syn_workspace_free(ws);
        CHECK(write_f32(in_path, x, ROWS * n_in), "write input");
        snprintf(cmd, sizeof cmd, "node %s/onnx/run_ort.js %s %s %zu %s >/dev/null",
                 SYN_TEST_DIR, model, in_path, n_in, out_path);
        int ran = system(cmd) == 0 && read_f32(out_path, got, ROWS * n_out);
        CHECK(ran, "%s: ONNX Runtime ran", s->name);
        double diff = 0;
        for (size_t i = 0; ran && i < ROWS * n_out; i++)
            diff = fmax(diff, fabs((double)got[i] - want[i]));
        CHECK(ran && diff <= TOLERANCE, "%s: ONNX Runtime differs from syn_forward by %g",
              s->name, diff);
        worst = fmax(worst, diff);
        syn_net_free(net);
    }
    if (!checker)
        printf("SKIP onnx.checker: python3-onnx is not installed (tests/onnx/setup.sh)\n");
    if (ort)
        printf("ONNX Runtime vs syn_forward, %zu nets: max |diff| %.3g\n", N_SPECS, worst);
    else
        printf("SKIP ONNX Runtime: run tests/onnx/setup.sh to install onnxruntime-node\n");
    snprintf(probe, sizeof probe, "rm -rf '%s'", dir);
    if (system(probe) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return check_finish();
}
