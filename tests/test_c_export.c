/* test_c_export.c - the generated C header: for nets with every activation,
 * with and without input scaling and biases, exports a header, compiles a
 * separate program that includes it with -std=c99 -Wall -Wextra -Werror
 * -pedantic (with cc, and with gcc and clang when both are installed), runs
 * it on inputs from a file and compares its outputs, argmax and class names
 * with the library's.
 *
 * Tolerance: the header sums each dot product in float in sixteen partial
 * sums (input i into sum i % 16, folded to eight, added pairwise) and adds
 * the bias last;
 * syn_forward may use a blocked or vectorized GEMM that sums in another
 * order. Reordering a float
 * sum of n terms moves it by at most about n * 2^-24 * sum|w_i x_i|; for
 * these nets (n <= 16, |w_i x_i| summing to a few units) that is below 1e-6,
 * and activations only shrink differences (all are 1-Lipschitz; softmax
 * outputs are in [0, 1]). So outputs must agree to 1e-6 absolute plus 1e-6
 * relative. The weights themselves must round-trip bit for bit. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "synapse.h"
#include "header_cc.h"

#define TOLERANCE 1e-6
#define ROWS 25

static char tmp_dir[64];

typedef struct spec {
    const char *name;
    size_t n_inputs, n_layers;
    syn_layer_desc layers[5];
    int scaling, class_names;
} spec;

static const spec specs[] = {
    {"relu_softmax", 5, 2, {DENSE(8, SYN_ACT_RELU, 0, 0), DENSE(3, SYN_ACT_SOFTMAX, 0, 0)}, 1, 1},
    {"sigmoid", 4, 2, {DENSE(6, SYN_ACT_SIGMOID, 0, 0), DENSE(2, SYN_ACT_SIGMOID, 0, 0)}, 0, 0},
    {"tanh_nobias", 3, 2, {DENSE(7, SYN_ACT_TANH, 0, 1), DENSE(2, SYN_ACT_LINEAR, 0, 0)}, 1, 0},
    {"leaky", 6, 3,
     {DENSE(9, SYN_ACT_LEAKY_RELU, 0.2f, 0), DENSE(5, SYN_ACT_LEAKY_RELU, 0, 0),
      DENSE(4, SYN_ACT_LINEAR, 0, 1)}, 0, 1},
    {"single", 4, 1, {DENSE(3, SYN_ACT_LINEAR, 0, 1)}, 0, 0},
    {"single_scaled", 4, 1, {DENSE(1, SYN_ACT_SIGMOID, 0, 0)}, 1, 0},
    {"deep_mixed", 16, 4,
     {DENSE(16, SYN_ACT_RELU, 0, 0), DENSE(12, SYN_ACT_TANH, 0, 1),
      DENSE(10, SYN_ACT_SIGMOID, 0, 0), DENSE(6, SYN_ACT_SOFTMAX, 0, 0)}, 1, 1},
    /* The activation table's newer rows, parameters default and not. */
    {"gelu_silu", 5, 4,
     {DENSE(9, SYN_ACT_GELU, 0, 0), DENSE(8, SYN_ACT_SILU, 0, 0),
      DENSE(7, SYN_ACT_GELU_TANH, 0, 1), DENSE(3, SYN_ACT_LINEAR, 0, 0)}, 1, 0},
    {"elu_softplus", 6, 5,
     {DENSE(8, SYN_ACT_ELU, 0, 0), DENSE(7, SYN_ACT_ELU, 0.5f, 0),
      DENSE(6, SYN_ACT_SOFTPLUS, 0, 0), DENSE(5, SYN_ACT_SOFTPLUS, 2.0f, 0),
      DENSE(3, SYN_ACT_SOFTMAX, 0, 0)}, 0, 1},
    /* Layer kinds: batch norm (running statistics), dropout (the identity),
     * layer norm; with and without beta, eps of their own. */
    {"kinds", 6, 5,
     {DENSE(8, SYN_ACT_RELU, 0, 0), {.kind = SYN_LAYER_BATCHNORM, .activation = SYN_ACT_TANH},
      {.kind = SYN_LAYER_DROPOUT, .rate = 0.3f},
      {.kind = SYN_LAYER_LAYERNORM, .activation = SYN_ACT_RELU}, DENSE(3, SYN_ACT_SOFTMAX, 0, 0)},
     1, 1},
    /* The activations with a C form in the table (GELU both ways, SiLU,
     * ELU, Softplus), with a parameter and with the default. */
    {"modern_acts", 5, 5,
     {DENSE(8, SYN_ACT_GELU, 0, 0), DENSE(7, SYN_ACT_GELU_TANH, 0, 0),
      DENSE(6, SYN_ACT_SILU, 0, 1), DENSE(5, SYN_ACT_ELU, 0.5f, 0),
      DENSE(4, SYN_ACT_SOFTPLUS, 2.0f, 0)}, 1, 0},
    {"default_params", 4, 2,
     {DENSE(6, SYN_ACT_SOFTPLUS, 0, 0), DENSE(3, SYN_ACT_ELU, 0, 0)}, 0, 0},
    {"kinds_nobeta", 5, 4,
     {DENSE(6, SYN_ACT_LINEAR, 0, 1),
      {.kind = SYN_LAYER_BATCHNORM, .no_bias = 1, .eps = 1e-3f, .momentum = 0.2f},
      {.kind = SYN_LAYER_LAYERNORM, .no_bias = 1, .eps = 1e-2f},
      {.kind = SYN_LAYER_DROPOUT, .rate = 0.5f}},
     0, 0},
};
#define N_SPECS (sizeof specs / sizeof specs[0])

static const char *const class_names[] = {
    "zero", "one \"quoted\"", "back\\slash", "new\nline", "caf\xc3\xa9", "what?\?=", "",
    "seven", "eight", "nine"};

static syn_net *make_net(const spec *s, uint64_t seed)
{
    syn_activation last = s->layers[s->n_layers - 1].activation;
    syn_net_desc desc = {s->n_inputs, s->n_layers, s->layers,
                         last == SYN_ACT_SOFTMAX ? SYN_LOSS_CROSS_ENTROPY : SYN_LOSS_MSE,
                         SYN_REDUCTION_MEAN, SYN_INIT_AUTO, seed, {0, 0, 0}};
    syn_net *net = NULL;
    if (syn_net_create(&desc, &net) != SYN_OK)
        return NULL;
    syn_rng rng;
    syn_rng_seed(&rng, seed * 31 + 7);
    for (size_t l = 0; l < s->n_layers; l++) {
        float *w, *b;
        size_t n_in;
        syn_layer_desc d;
        syn_net_layer(net, l, &d, &n_in);
        syn_net_layer_params(net, l, &w, &b);
        if (!w) /* dropout */
            continue;
        if (d.kind != SYN_LAYER_DENSE) /* gamma away from 1 */
            for (size_t u = 0; u < d.units; u++)
                w[u] = (float)(0.5 + syn_rng_uniform(&rng));
        /* Weights that need all 9 digits, a tiny subnormal and an exact 1. */
        w[0] = 1.0f;
        if (d.kind == SYN_LAYER_DENSE && n_in * d.units > 2)
            w[1] = 1e-40f;
        for (size_t u = 0; b && u < d.units; u++)
            b[u] = (float)(0.3 * syn_rng_normal(&rng));
    }
    /* Running statistics of a trained net (one batch norm per spec: its
     * means, then its variances). */
    size_t n_state;
    float *state = syn_net_state(net, &n_state);
    for (size_t i = 0; i < n_state; i++)
        state[i] = (float)(0.5 * syn_rng_uniform(&rng) + (i < n_state / 2 ? -0.1 : 0.2));
    if (s->scaling) {
        float offset[16], scale[16];
        for (size_t j = 0; j < s->n_inputs; j++) {
            offset[j] = (float)syn_rng_normal(&rng);
            scale[j] = (float)(0.5 + syn_rng_uniform(&rng));
        }
        syn_net_set_input_scaling(net, offset, scale);
    }
    if (s->class_names)
        syn_net_set_class_names(net, class_names, syn_net_n_outputs(net));
    return net;
}

/* The program that includes the header: reads rows of float32 from argv[1],
 * writes <prefix>_predict's outputs (as %a, exact) and argmax per row,
 * checks <prefix>_predict_batch agrees bit for bit, lists class names. */
static int write_program(const char *path, const char *header, const char *p, const char *up,
                         int has_names)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return 0;
    fprintf(f,
            "#include <stdio.h>\n#include <string.h>\n#include \"%s\"\n"
            "#define ROWS %d\n"
            "int main(int argc, char **argv)\n{\n"
            "    static float x[ROWS][%s_N_INPUTS], y[ROWS][%s_N_OUTPUTS];\n"
            "    static float yb[ROWS][%s_N_OUTPUTS];\n"
            "    FILE *in;\n    int r, j;\n"
            "    if (argc != 2 || !(in = fopen(argv[1], \"rb\")))\n        return 2;\n"
            "    if (fread(x, sizeof x, 1, in) != 1)\n        return 3;\n"
            "    fclose(in);\n"
            "    for (r = 0; r < ROWS; r++) {\n"
            "        %s_predict(x[r], y[r]);\n"
            "        for (j = 0; j < %s_N_OUTPUTS; j++)\n"
            "            printf(\"%%a \", (double)y[r][j]);\n"
            "        printf(\"argmax %%d\\n\", %s_argmax(y[r]));\n"
            "    }\n"
            "    %s_predict_batch(&x[0][0], ROWS, &yb[0][0]);\n"
            "    if (memcmp(y, yb, sizeof y) != 0)\n        return 4;\n",
            header, ROWS, up, up, up, p, up, p, p);
    if (has_names)
        fprintf(f,
                "    for (j = 0; j < %s_N_CLASSES; j++) {\n"
                "        const char *c = %s_class_names[j];\n"
                "        printf(\"class\");\n"
                "        while (*c)\n            printf(\" %%d\", (unsigned char)*c++);\n"
                "        printf(\"\\n\");\n"
                "    }\n",
                up, p);
    fprintf(f, "    return 0;\n}\n");
    return fclose(f) == 0;
}

static void check_output(const char *out_path, const syn_net *net, const float *want,
                         const char *name, double *worst)
{
    FILE *f = fopen(out_path, "r");
    CHECK(f != NULL, "%s: no output", name);
    if (!f)
        return;
    size_t n_out = syn_net_n_outputs(net);
    for (size_t r = 0; r < ROWS; r++) {
        size_t best = 0;
        for (size_t j = 0; j < n_out; j++) {
            double got = NAN;
            CHECK(fscanf(f, "%la", &got) == 1, "%s: row %zu col %zu unreadable", name, r, j);
            double w = want[r * n_out + j], d = fabs(got - w);
            CHECK_CLOSE(got, w, TOLERANCE, TOLERANCE, "%s: row %zu col %zu: %a vs %a", name, r,
                        j, got, w);
            if (d > *worst)
                *worst = d;
            if (want[r * n_out + j] > want[r * n_out + best])
                best = j;
        }
        int arg = -1;
        CHECK(fscanf(f, " argmax %d", &arg) == 1 && (size_t)arg == best,
              "%s: row %zu argmax %d vs %zu", name, r, arg, best);
    }
    for (size_t i = 0; i < syn_net_n_class_names(net); i++) {
        const char *want_name = syn_net_class_name(net, i);
        char got[64] = {0};
        size_t len = 0;
        int ok = fscanf(f, " class") == 0;
        int c;
        while (ok && len + 1 < sizeof got && (c = fgetc(f)) == ' ') {
            int v;
            ok = fscanf(f, "%d", &v) == 1;
            got[len++] = (char)v;
        }
        CHECK(ok && strcmp(got, want_name) == 0, "%s: class %zu \"%s\" vs \"%s\"", name, i, got,
              want_name);
    }
    fclose(f);
}


static void test_spec(const spec *s, size_t k, double *worst)
{
    syn_net *net = make_net(s, 40 + k);
    CHECK(net != NULL, "%s: make_net", s->name);
    if (!net)
        return;
    char prefix[32], up[32], header[128], prog[128], input[128];
    snprintf(prefix, sizeof prefix, "m_%s", s->name);
    for (size_t i = 0; i < sizeof up; i++)
        up[i] = (char)(prefix[i] >= 'a' && prefix[i] <= 'z' ? prefix[i] - 32 : prefix[i]);
    snprintf(header, sizeof header, "%s/%s.h", tmp_dir, s->name);
    snprintf(prog, sizeof prog, "%s/%s_main.c", tmp_dir, s->name);
    snprintf(input, sizeof input, "%s/%s.in", tmp_dir, s->name);
    syn_error err = {{0}};
    CHECK(syn_net_export_c(net, header, prefix, &err) == SYN_OK, "%s: %s", s->name, err.message);
    CHECK(write_program(prog, header, prefix, up, s->class_names), "%s: program", s->name);

    /* Inputs in native float layout: the program runs on this machine. */
    float x[ROWS * 16];
    syn_rng rng;
    syn_rng_seed(&rng, 900 + k);
    for (size_t i = 0; i < ROWS * s->n_inputs; i++)
        x[i] = (float)(2.5 * syn_rng_normal(&rng));
    FILE *f = fopen(input, "wb");
    CHECK(f && fwrite(x, sizeof(float), ROWS * s->n_inputs, f) == ROWS * s->n_inputs,
          "%s: inputs", s->name);
    if (f)
        fclose(f);
    syn_workspace *ws = NULL;
    const float *want = NULL;
    CHECK_OK(syn_workspace_create(net, ROWS, &ws));
    CHECK_OK(syn_forward(net, ws, x, ROWS, &want));

    for (size_t c = 0; c < N_HEADER_COMPILERS; c++) {
        if (!header_compiler_present(c))
            continue;
        char exe[160], out[170];
        int rc = 0;
        snprintf(exe, sizeof exe, "%s/%s_%s", tmp_dir, s->name, header_compilers[c]);
        snprintf(out, sizeof out, "%s.out", exe);
        int built = header_compile_run(c, prog, exe, input, out, &rc);
        CHECK(built, "%s: %s failed to compile the header", s->name, header_compilers[c]);
        if (!built)
            continue;
        CHECK(rc == 0, "%s: the %s program failed (%d)", s->name, header_compilers[c], rc);
        if (rc == 0)
            check_output(out, net, want, s->name, worst);
    }
    syn_workspace_free(ws);
    syn_net_free(net);
}

/* Every weight in the header reads back as the same float. */
static void test_exact_weights(void)
{
    static const spec s = {"exact", 3, 1, {DENSE(4, SYN_ACT_LINEAR, 0, 0)}, 0, 0};
    syn_net *net = make_net(&s, 5);
    float *w, *b;
    syn_net_layer_params(net, 0, &w, &b);
    const float special[12] = {0.1f, -0.0f, 1e-45f, 3.4028235e38f, 1.17549435e-38f,
                               16777217.0f, 0.333333343f, -2.5f, 1.0f, 7.0f, 1e-7f, 100.0f};
    memcpy(w, special, sizeof special);
    char header[128];
    snprintf(header, sizeof header, "%s/exact.h", tmp_dir);
    CHECK_OK(syn_net_export_c(net, header, "exact", NULL));
    FILE *f = fopen(header, "r");
    char line[512];
    size_t found = 0;
    int in_w = 0;
    while (f && fgets(line, sizeof line, f)) {
        if (strstr(line, "exact_w0[12]"))
            in_w = 1;
        else if (in_w && line[0] == '}')
            in_w = 0;
        else if (in_w)
            for (char *p = strtok(line, ", \n"); p; p = strtok(NULL, ", \n"))
                if (found < 12) {
                    float v = strtof(p, NULL);
                    CHECK(memcmp(&v, &special[found], 4) == 0, "weight %zu: %s", found, p);
                    found++;
                }
    }
    if (f)
        fclose(f);
    CHECK(found == 12, "found %zu weights", found);
    syn_error err = {{0}};
    CHECK(syn_net_export_c(net, header, "2bad", &err) == SYN_ERR_INVALID_ARGUMENT &&
              strstr(err.message, "2bad"), "bad prefix: %s", err.message);
    CHECK(syn_net_export_c(net, header, "a-b", NULL) == SYN_ERR_INVALID_ARGUMENT, "a-b");
    CHECK(syn_net_export_c(NULL, header, "x", NULL) == SYN_ERR_INVALID_ARGUMENT, "NULL net");
    CHECK(syn_net_export_c(net, tmp_dir, "x", &err) == SYN_ERR_IO, "a directory: %s",
          err.message);
    CHECK_OK(syn_net_export_c(net, header, NULL, NULL)); /* NULL prefix: "model" */
    syn_net_free(net);
}

int main(void)
{
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/syn_test_c_export_XXXXXX");
    if (!mkdtemp(tmp_dir)) {
        perror("mkdtemp");
        return 1;
    }
    double worst = 0.0;
    for (size_t k = 0; k < N_SPECS; k++)
        test_spec(&specs[k], k, &worst);
    printf("generated C vs syn_forward, %zu nets: max |diff| %.3g\n", N_SPECS, worst);
    test_exact_weights();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmp_dir);
    return check_finish();
}
