/* c_header_cnn.c - the C header of issue 15's CNN against synapse's own
 * forward pass, one image at a time on one thread (the target:
 * the header classifies an image in the time of synapse's single-thread
 * forward pass, +-30%):
 *   conv 32x3x3 relu, max-pool 2, conv 64x3x3 relu, max-pool 2,
 *   dense 128 relu, dropout 0.3, dense 10 softmax, input scaling.
 *
 *   bench_c_header_cnn [--rounds R] [--seconds S] [--cc CC]
 *
 * Exports the net's header to a temporary directory and compiles a timing
 * program with it (CC, default cc, at -O2 and at -O3 -march=native
 * -ffp-contract=fast, both -std=c99); then rounds interleaved: synapse's syn_forward at batch 1
 * with syn_workspace_set_threads(ws, 1), the -O2 program, the -O3 one,
 * each over the same images for about S seconds of CPU time (default
 * 0.5; CPU time, so that a busy machine's waits do not count). Prints
 * each side's best round in microseconds an image and the ratios
 * header / synapse (1.0 = the same time; below 1, the header is faster),
 * and checks that the outputs agree to 1e-5. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "synapse.h"

#define IMAGES 64
#define PIXELS 784

/* CPU time of this process, not wall time: on a machine shared with
 * other jobs, time spent waiting for a core is not the code's, and both
 * sides run on one thread (the header's program is timed the same way). */
static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static const syn_layer_desc layers[] = {
    {.kind = SYN_LAYER_CONV2D, .units = 32, .kernel = {3, 3}, .activation = SYN_ACT_RELU},
    {.kind = SYN_LAYER_MAXPOOL2D, .kernel = {2, 2}},
    {.kind = SYN_LAYER_CONV2D, .units = 64, .kernel = {3, 3}, .activation = SYN_ACT_RELU},
    {.kind = SYN_LAYER_MAXPOOL2D, .kernel = {2, 2}},
    {.units = 128, .activation = SYN_ACT_RELU},
    {.kind = SYN_LAYER_DROPOUT, .rate = 0.3f},
    {.units = 10, .activation = SYN_ACT_SOFTMAX},
};

/* The timing program: argv = images file, repetitions, outputs file.
 * Prints the seconds of the whole loop. */
static const char program[] =
    "#define _POSIX_C_SOURCE 200809L\n"
    "#include <stdio.h>\n#include <stdlib.h>\n#include <time.h>\n#include \"cnn.h\"\n"
    "static float scratch[CNN_SCRATCH_FLOATS];\n"
    "static float x[%d * CNN_N_INPUTS], y[%d * CNN_N_OUTPUTS];\n"
    "int main(int argc, char **argv)\n{\n"
    "    FILE *f = fopen(argv[1], \"rb\");\n"
    "    long reps = atol(argv[2]), r;\n"
    "    int i;\n    struct timespec a, b;\n"
    "    (void)argc;\n"
    "    if (!f || fread(x, sizeof x, 1, f) != 1)\n        return 2;\n"
    "    fclose(f);\n"
    "    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);\n"
    "    for (r = 0; r < reps; r++)\n"
    "        for (i = 0; i < %d; i++)\n"
    "            cnn_predict_scratch(x + i * CNN_N_INPUTS, y + i * CNN_N_OUTPUTS, scratch);\n"
    "    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);\n"
    "    f = fopen(argv[3], \"wb\");\n"
    "    if (!f || fwrite(y, sizeof y, 1, f) != 1)\n        return 3;\n"
    "    fclose(f);\n"
    "    printf(\"%%.9f\\n\", (double)(b.tv_sec - a.tv_sec) + 1e-9 * (double)(b.tv_nsec - "
    "a.tv_nsec));\n"
    "    return 0;\n}\n";

/* Seconds of one run of the compiled program over reps passes. */
static double run_header(const char *exe, const char *images, long reps, const char *outputs)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s %s %ld %s", exe, images, reps, outputs);
    FILE *p = popen(cmd, "r");
    double s = -1.0;
    if (!p || fscanf(p, "%lf", &s) != 1)
        s = -1.0;
    if (p && pclose(p) != 0)
        s = -1.0;
    return s;
}

int main(int argc, char **argv)
{
    int rounds = 5;
    double seconds = 0.5;
    const char *cc = "cc";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
            rounds = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
            seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--cc") && i + 1 < argc)
            cc = argv[++i];
        else {
            fprintf(stderr, "usage: %s [--rounds R] [--seconds S] [--cc CC]\n", argv[0]);
            return 2;
        }
    }
    char dir[] = "/tmp/syn_bench_c_header_XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    syn_net_desc desc = {.n_inputs = PIXELS, .n_layers = sizeof layers / sizeof layers[0],
                         .layers = layers, .loss = SYN_LOSS_CROSS_ENTROPY, .seed = 1,
                         .input_shape = {1, 28, 28}};
    syn_net *net = NULL;
    if (syn_net_create(&desc, &net) != SYN_OK)
        return 1;
    float offset[PIXELS], scale[PIXELS];
    for (int i = 0; i < PIXELS; i++) {
        offset[i] = 0.286f; /* Fashion-MNIST's pixel mean and 1 / deviation */
        scale[i] = 1.0f / 0.353f;
    }
    syn_net_set_input_scaling(net, offset, scale);
    static float x[IMAGES * PIXELS], want[IMAGES * 10], got[IMAGES * 10];
    syn_rng rng;
    syn_rng_seed(&rng, 7);
    for (size_t i = 0; i < sizeof x / sizeof *x; i++)
        x[i] = (float)syn_rng_uniform(&rng); /* pixels in [0, 1) */
    char header[128], src[128], images[128], outputs[128], exe[2][128], cmd[1024];
    snprintf(header, sizeof header, "%s/cnn.h", dir);
    snprintf(src, sizeof src, "%s/main.c", dir);
    snprintf(images, sizeof images, "%s/images.f32", dir);
    snprintf(outputs, sizeof outputs, "%s/outputs.f32", dir);
    syn_error err = {{0}};
    FILE *f = fopen(src, "w");
    int ok = syn_net_export_c(net, header, "cnn", &err) == SYN_OK && f &&
             fprintf(f, program, IMAGES, IMAGES, IMAGES) > 0;
    if (f)
        ok = fclose(f) == 0 && ok;
    f = fopen(images, "wb");
    ok = ok && f && fwrite(x, sizeof x, 1, f) == 1;
    if (f)
        ok = fclose(f) == 0 && ok;
    static const char *const flags[2] = {"-O2", "-O3 -march=native -ffp-contract=fast"};
    for (int k = 0; ok && k < 2; k++) {
        snprintf(exe[k], sizeof exe[k], "%s/cnn_%s", dir, k ? "O3" : "O2");
        snprintf(cmd, sizeof cmd, "%s -std=c99 %s -I%s -o %s %s -lm", cc, flags[k], dir, exe[k],
                 src);
        ok = system(cmd) == 0;
    }
    if (!ok) {
        fprintf(stderr, "could not export or compile the header: %s\n", err.message);
        return 1;
    }
    syn_workspace *ws = NULL;
    syn_workspace_create(net, 1, &ws);
    syn_workspace_set_threads(ws, 1);
    /* Repetitions for about `seconds` a round, from one timed pass. */
    const float *y;
    double t0 = now();
    for (int i = 0; i < IMAGES; i++) {
        syn_forward(net, ws, x + i * PIXELS, 1, &y);
        memcpy(want + i * 10, y, 10 * sizeof(float));
    }
    double pass = now() - t0;
    long reps = (long)(seconds / (pass > 1e-6 ? pass : 1e-6));
    reps = reps < 1 ? 1 : reps;
    double best[3] = {INFINITY, INFINITY, INFINITY};
    for (int r = 0; r < rounds; r++) {
        t0 = now();
        for (long k = 0; k < reps; k++)
            for (int i = 0; i < IMAGES; i++)
                syn_forward(net, ws, x + i * PIXELS, 1, &y);
        double s = now() - t0;
        best[0] = s < best[0] ? s : best[0];
        for (int k = 0; k < 2; k++) {
            s = run_header(exe[k], images, reps, outputs);
            if (s < 0) {
                fprintf(stderr, "the header program failed\n");
                return 1;
            }
            best[1 + k] = s < best[1 + k] ? s : best[1 + k];
        }
    }
    double diff = 0;
    f = fopen(outputs, "rb");
    if (!f || fread(got, sizeof got, 1, f) != 1)
        diff = INFINITY;
    if (f)
        fclose(f);
    for (int i = 0; i < IMAGES * 10; i++)
        diff = fmax(diff, fabs((double)got[i] - want[i]));
    double per = 1e6 / ((double)reps * IMAGES);
    printf("issue-15 CNN, one 28x28 image at a time, one thread, best of %d rounds of %ld x %d "
           "images\n", rounds, reps, IMAGES);
    printf("synapse syn_forward (batch 1)      %8.1f us/image\n", best[0] * per);
    printf("C header, %s -O2                 %8.1f us/image   ratio %.2f\n", cc, best[1] * per,
           best[1] / best[0]);
    printf("C header, %s -O3 -march=native -ffp-contract=fast %8.1f us/image   ratio %.2f\n", cc,
           best[2] * per, best[2] / best[0]);
    printf("max |header - syn_forward| %.3g (%s 1e-5)\n", diff,
           diff <= 1e-5 ? "within" : "NOT within");
    syn_workspace_free(ws);
    syn_net_free(net);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return diff <= 1e-5 ? 0 : 1;
}
