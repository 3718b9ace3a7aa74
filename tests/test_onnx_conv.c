/* test_onnx_conv.c - ONNX export of the image kinds (issue 15): Conv
 * (strides, pads incl. 'same', dilations, groups, bias or none), MaxPool,
 * AveragePool (count_include_pad both ways), GlobalAveragePool,
 * BatchNormalization per channel, Dropout2d removed, Flatten explicit and
 * implicit before a dense layer, Reshape before an image kind after a flat
 * one, softmax over a flattened image, the input [batch, C, H, W] with its
 * scaling over [C, H, W]. Every export passes onnx.checker (full_check,
 * which infers every shape) and holds the operators it should; ONNX
 * Runtime's outputs equal syn_forward's to 1e-5. Either consumer missing
 * skips its part (tests/onnx/setup.sh installs them). Each export imports
 * back (syn_net_import_onnx) into the same layers, the flatten made
 * explicit and dropout gone, computing the same outputs; what synapse
 * cannot express (a conv after a Reshape of a dense layer's output, a
 * MaxPool with ceil_mode, asymmetric Conv pads) is refused naming the
 * node. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "f32_io.h"
#include "synapse.h"

#define ROWS 5
#define TOLERANCE 1e-5

#include "conv_nets.h"

#define specs conv_specs
#define N_SPECS N_CONV_SPECS

static char dir[] = "/tmp/syn_test_onnx_conv_XXXXXX";

static int have(const char *probe)
{
    return system(probe) == 0;
}

/* The kinds of net's layers but dropout and flatten (an import makes the
 * exporter's implicit Flatten explicit and has no dropout). */
static size_t core_kinds(const syn_net *net, syn_layer_kind *kinds)
{
    size_t n = 0;
    for (size_t l = 0; l < syn_net_n_layers(net); l++) {
        syn_layer_desc d;
        size_t n_in;
        if (syn_net_layer(net, l, &d, &n_in) != SYN_OK)
            continue;
        if (d.kind != SYN_LAYER_DROPOUT && d.kind != SYN_LAYER_DROPOUT2D &&
            d.kind != SYN_LAYER_FLATTEN)
            kinds[n++] = d.kind;
    }
    return n;
}

/* The export imports back into the same computation. */
static void check_round_trip(const spec *s, const syn_net *net, const char *model,
                             const float *x, const float *want)
{
    syn_net *back = NULL;
    syn_error err = {{0}};
    syn_status st = syn_net_import_onnx(model, &back, &err);
    if (!strcmp(s->name, "reshape_softmax_map")) {
        CHECK(st == SYN_ERR_UNSUPPORTED && strstr(err.message, "(Conv)") &&
                  strstr(err.message, "an image layer after a layer over"),
              "%s: import refused naming the Conv: %s", s->name, err.message);
        syn_net_free(back);
        return;
    }
    CHECK(st == SYN_OK, "%s: import: %s", s->name, err.message);
    if (!back)
        return;
    syn_layer_kind a[16], b[16];
    size_t na = core_kinds(net, a), nb = core_kinds(back, b);
    CHECK(na == nb && !memcmp(a, b, na * sizeof *a), "%s: imported kinds differ", s->name);
    size_t n_out = syn_net_n_outputs(net);
    CHECK(syn_net_n_inputs(back) == syn_net_n_inputs(net) &&
              syn_net_n_outputs(back) == n_out, "%s: imported widths", s->name);
    syn_workspace *ws = NULL;
    const float *y = NULL;
    if (syn_workspace_create(back, ROWS, &ws) == SYN_OK &&
        syn_forward(back, ws, x, ROWS, &y) == SYN_OK) {
        double diff = 0;
        for (size_t i = 0; i < ROWS * n_out; i++)
            diff = fmax(diff, fabs((double)y[i] - want[i]));
        CHECK(diff <= 1e-6, "%s: the imported net differs by %g", s->name, diff);
    } else {
        CHECK(0, "%s: imported net's forward", s->name);
    }
    syn_workspace_free(ws);
    syn_net_free(back);
}

/* A copy of the issue CNN's export with one node spoiled by python3-onnx
 * must be refused naming that node and saying why. */
static void check_refusal(const char *model, const char *edit, const char *node_op,
                          const char *why)
{
    char spoiled[300], cmd[2048];
    snprintf(spoiled, sizeof spoiled, "%s/spoiled.onnx", dir);
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c 'import sys, onnx, onnx.helper as h\n"
             "m = onnx.load(sys.argv[1])\n"
             "n = next(n for n in m.graph.node if n.op_type == sys.argv[3])\n"
             "%s\n"
             "onnx.save(m, sys.argv[2])' %s %s %s", edit, model, spoiled, node_op);
    CHECK(system(cmd) == 0, "spoil %s", node_op);
    syn_net *net = NULL;
    syn_error err = {{0}};
    syn_status st = syn_net_import_onnx(spoiled, &net, &err);
    char op[64];
    snprintf(op, sizeof op, "(%s)", node_op);
    printf("spoiled %s: %s\n", node_op, err.message);
    CHECK(st == SYN_ERR_UNSUPPORTED && net == NULL && strstr(err.message, op) &&
              strstr(err.message, why), "refusal of %s: %s", node_op, err.message);
    syn_net_free(net);
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
        syn_net *net = make_net(s, 70 + k);
        if (!net)
            continue;
        char model[256], in_path[256], out_path[256], cmd[2048], shape[64] = "";
        snprintf(model, sizeof model, "%s/%s.onnx", dir, s->name);
        snprintf(in_path, sizeof in_path, "%s/in.f32", dir);
        snprintf(out_path, sizeof out_path, "%s/out.f32", dir);
        if (s->shape[0])
            snprintf(shape, sizeof shape, "%zu,%zu,%zu", s->shape[0], s->shape[1], s->shape[2]);
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
                     "missing = [o for o in sys.argv[2].split() if o not in ops]\n"
                     "assert not missing, (missing, ops)\n"
                     "dims = [d.dim_value for d in "
                     "m.graph.input[0].type.tensor_type.shape.dim[1:]]\n"
                     "want = [int(v) for v in sys.argv[3].split(\",\")] if sys.argv[3] "
                     "else [12]\n"
                     "assert dims == want, (dims, want)\n"
                     "print(sys.argv[1].rsplit(\"/\", 1)[1], ops)' %s '%s' '%s'",
                     model, s->ops, shape);
            fflush(stdout);
            CHECK(system(cmd) == 0, "%s: onnx.checker", s->name);
        }
        if (!ort) {
            syn_net_free(net);
            continue;
        }
        size_t n_in = n_inputs_of(s), n_out = syn_net_n_outputs(net);
        float *x = malloc(ROWS * n_in * sizeof *x), *want = malloc(ROWS * n_out * sizeof *want);
        float *got = malloc(ROWS * n_out * sizeof *got);
        if (!x || !want || !got) {
            CHECK(0, "out of memory");
            free(x), free(want), free(got);
            syn_net_free(net);
            continue;
        }
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
        snprintf(cmd, sizeof cmd, "node %s/onnx/run_ort.js %s %s %zu %s %s >/dev/null",
                 SYN_TEST_DIR, model, in_path, n_in, out_path, shape);
        int ran = system(cmd) == 0 && read_f32(out_path, got, ROWS * n_out);
        CHECK(ran, "%s: ONNX Runtime ran", s->name);
        double diff = 0;
        for (size_t i = 0; ran && i < ROWS * n_out; i++)
            diff = fmax(diff, fabs((double)got[i] - want[i]) / fmax(1.0, fabs(want[i])));
        CHECK(ran && diff <= TOLERANCE, "%s: ONNX Runtime differs from syn_forward by %g",
              s->name, diff);
        check_round_trip(s, net, model, x, want);
        worst = fmax(worst, diff);
        free(x), free(want), free(got);
        syn_net_free(net);
    }
    if (checker) {
        char model[256];
        snprintf(model, sizeof model, "%s/issue_cnn.onnx", dir);
        check_refusal(model, "n.attribute.append(h.make_attribute(\"ceil_mode\", 1))",
                      "MaxPool", "ceil_mode 0");
        check_refusal(model, "del n.attribute[:]\n"
                      "n.attribute.append(h.make_attribute(\"pads\", [0, 0, 1, 0]))",
                      "Conv", "asymmetric pads");
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
