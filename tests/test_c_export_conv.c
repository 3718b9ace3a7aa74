/* test_c_export_conv.c - the C header of convolutional nets (issue 15):
 * for every net of conv_nets.h (each image kind and its options, the
 * issue's CNN), exports a header, compiles a program including it with
 * -std=c99 -Wall -Wextra -Werror -pedantic -O2 (cc, and gcc and clang when
 * installed), runs PREFIX_predict_scratch on a caller-provided scratch of
 * PREFIX_SCRATCH_FLOATS floats (and PREFIX_predict, the scratch on the
 * stack, which must give the same bits) and compares with syn_forward.
 *
 * Tolerance 1e-5 (absolute, plus as much relative): the header sums each
 * output of a convolution over (channel, tap) in that order in float,
 * synapse's GEMM in blocks; a conv of the CNN sums 288 products,
 * so a reordering moves an output by about 288 * 2^-24 times the sum of
 * |w x| (a few units here): below 1e-4 relative in the worst case, far
 * less in practice, which is what 1e-5 checks (the issue asks for 1e-5). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "synapse.h"
#include "conv_nets.h"
#include "header_cc.h"

#define ROWS 4
#define TOLERANCE 1e-5

static char dir[] = "/tmp/syn_test_c_export_conv_XXXXXX";

static int write_program(const char *path, const char *header, const char *p, const char *up)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return 0;
    fprintf(f,
            "#include <stdio.h>\n#include <string.h>\n#include \"%s\"\n"
            "static float scratch[%s_SCRATCH_FLOATS];\n"
            "int main(int argc, char **argv)\n{\n"
            "    static float x[%s_N_INPUTS], y[%s_N_OUTPUTS], y2[%s_N_OUTPUTS];\n"
            "    FILE *in = fopen(argv[1], \"rb\");\n"
            "    int j, same = 1;\n"
            "    (void)argc;\n"
            "    if (!in)\n        return 2;\n"
            "    while (fread(x, sizeof(float), %s_N_INPUTS, in) == %s_N_INPUTS) {\n"
            "        %s_predict_scratch(x, y, scratch);\n"
            "        %s_predict(x, y2);\n"
            "        same = same && memcmp(y, y2, sizeof y) == 0;\n"
            "        for (j = 0; j < %s_N_OUTPUTS; j++)\n"
            "            printf(\"%%.9g \", (double)y[j]);\n"
            "        printf(\"\\n\");\n"
            "    }\n"
            "    fclose(in);\n"
            "    return same ? 0 : 3;\n}\n",
            header, up, up, up, up, up, up, p, p, up);
    return fclose(f) == 0;
}

static void test_spec(const spec *s, size_t k, double *worst)
{
    syn_net *net = make_net(s, 70 + k);
    if (!net)
        return;
    char prefix[48], up[48], header[160], prog[160], input[160];
    snprintf(prefix, sizeof prefix, "m_%s", s->name);
    for (size_t i = 0; i < sizeof up; i++)
        up[i] = (char)(prefix[i] >= 'a' && prefix[i] <= 'z' ? prefix[i] - 32 : prefix[i]);
    snprintf(header, sizeof header, "%s/%s.h", dir, s->name);
    snprintf(prog, sizeof prog, "%s/%s_main.c", dir, s->name);
    snprintf(input, sizeof input, "%s/%s.in", dir, s->name);
    syn_error err = {{0}};
    CHECK(syn_net_export_c(net, header, prefix, &err) == SYN_OK, "%s: %s", s->name, err.message);
    CHECK(write_program(prog, header, prefix, up), "%s: program", s->name);
    size_t n_in = n_inputs_of(s), n_out = syn_net_n_outputs(net);
    float *x = malloc(ROWS * n_in * sizeof *x);
    if (!x) {
        CHECK(0, "out of memory");
        syn_net_free(net);
        return;
    }
    syn_rng rng;
    syn_rng_seed(&rng, 900 + k);
    for (size_t i = 0; i < ROWS * n_in; i++)
        x[i] = (float)(2.0 * syn_rng_normal(&rng));
    FILE *f = fopen(input, "wb");
    CHECK(f && fwrite(x, sizeof(float), ROWS * n_in, f) == ROWS * n_in, "%s: inputs", s->name);
    if (f)
        fclose(f);
    syn_workspace *ws = NULL;
    const float *want = NULL;
    CHECK_OK(syn_workspace_create(net, ROWS, &ws));
    CHECK_OK(syn_forward(net, ws, x, ROWS, &want));
    for (size_t c = 0; want && c < N_HEADER_COMPILERS; c++) {
        if (!header_compiler_present(c))
            continue;
        char exe[200], out[210];
        int rc = 0;
        snprintf(exe, sizeof exe, "%s/%s_%s", dir, s->name, header_compilers[c]);
        snprintf(out, sizeof out, "%s.out", exe);
        int built = header_compile_run(c, prog, exe, input, out, &rc);
        CHECK(built, "%s: %s failed to compile the header", s->name, header_compilers[c]);
        if (!built)
            continue;
        CHECK(rc == 0, "%s: the %s program failed (%d; 3: predict and predict_scratch differ)",
              s->name, header_compilers[c], rc);
        FILE *o = fopen(out, "r");
        double diff = 0;
        size_t read = 0;
        for (size_t i = 0; o && i < ROWS * n_out; i++) {
            double v;
            if (fscanf(o, "%lf", &v) != 1)
                break;
            read++;
            diff = fmax(diff, fabs(v - want[i]) / (1.0 + fabs(want[i])));
        }
        if (o)
            fclose(o);
        CHECK(read == ROWS * n_out, "%s: %zu outputs read", s->name, read);
        CHECK(diff <= TOLERANCE, "%s (%s): the header differs from syn_forward by %g", s->name,
              header_compilers[c], diff);
        *worst = fmax(*worst, diff);
    }
    syn_workspace_free(ws);
    free(x);
    syn_net_free(net);
}

/* The scratch the header declares is what its layers use: for the issue's
 * CNN two buffers of conv 1's 32x26x26 output and conv 2's im2col of
 * 32*3*3 rows x 11*11 positions, each row padded to 128 (a multiple of the
 * header's 16-position register blocks). */
static void test_scratch_define(void)
{
    syn_net *net = make_net(&conv_specs[0], 70);
    if (!net)
        return;
    char header[160], line[256];
    snprintf(header, sizeof header, "%s/scratch.h", dir);
    CHECK_OK(syn_net_export_c(net, header, "cnn", NULL));
    FILE *f = fopen(header, "r");
    int width = 0, scratch = 0;
    while (f && fgets(line, sizeof line, f)) {
        width |= strstr(line, "#define CNN_MAX_WIDTH 21632\n") != NULL;
        scratch |= strstr(line, "#define CNN_SCRATCH_FLOATS (2 * CNN_MAX_WIDTH + 36864)") != NULL;
    }
    if (f)
        fclose(f);
    CHECK(width && scratch, "the issue CNN's MAX_WIDTH and SCRATCH_FLOATS");
    syn_net_free(net);
}

int main(void)
{
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    double worst = 0;
    for (size_t k = 0; k < N_CONV_SPECS; k++)
        test_spec(&conv_specs[k], k, &worst);
    test_scratch_define();
    printf("C header vs syn_forward, %zu nets: max diff %.3g\n", N_CONV_SPECS, worst);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return check_finish();
}
