/* test_cli_conv.c - convolutional nets from the command line (issue 15):
 * `train --layers` with conv, pooling, bn2d, dropout2d, flatten and bare
 * activation tokens on CSV rows given a shape by --input-shape; errors
 * naming the token or the layer; `synapse info` showing the shapes; the
 * model predicting the same as `eval` reads it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cli_run.h"
#include "synapse.h"

static char dir[] = "/tmp/syn_test_cli_conv_XXXXXX";

static cli_result run(const char *args)
{
    return cli_run_in(dir, args);
}

/* 120 rows of 2x5x5 "images": class 1 when the first channel's centre is
 * brighter than its border. */
static void write_data(void)
{
    FILE *f = fopen(cli_path(dir, "img.csv"), "w");
    if (!f)
        return;
    for (int c = 0; c < 50; c++)
        fprintf(f, "p%d,", c);
    fprintf(f, "y\n");
    syn_rng rng;
    syn_rng_seed(&rng, 5);
    for (int i = 0; i < 120; i++) {
        int cls = i % 2;
        for (int c = 0; c < 50; c++) {
            int h = (c % 25) / 5, w = c % 5, centre = h > 0 && h < 4 && w > 0 && w < 4;
            double v = syn_rng_uniform(&rng) + (cls && c < 25 && centre ? 0.8 : 0.0);
            fprintf(f, "%.4f,", v);
        }
        fprintf(f, "%s\n", cls ? "bright" : "dim");
    }
    fclose(f);
}

static void expect_error(const char *args, const char *needle)
{
    cli_result r = run(args);
    CHECK(r.code == 2 && strstr(r.err, needle), "%s: exit %d, \"%s\" should say \"%s\"", args,
          r.code, r.err, needle);
    cli_result_free(&r);
}

int main(void)
{
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    write_data();
    const char *base = "train --data img.csv --target y --epochs 2 --seed 1";
    char args[512];
    snprintf(args, sizeof args, "%s --input-shape 2,5,5 --layers "
             "'conv:4:3:p1,relu,bn2d:relu,maxpool:2,conv:6:2:same:g2:tanh,dropout2d:0.1,"
             "avgpool:2:s1:p1:exclude,gap,flatten,8:relu' --out m.syn", base);
    cli_result r = run(args);
    CHECK(r.code == 0, "train a CNN: exit %d: %s", r.code, r.err);
    cli_result_free(&r);
    r = run("info m.syn");
    CHECK(r.code == 0 && strstr(r.out, "  input               2x5x5\n") &&
              strstr(r.out, "  1      conv2d       4x5x5  relu") &&
              strstr(r.out, "kernel 3x3, padding 1x1\n") &&
              strstr(r.out, "  4      conv2d       6x2x2  tanh") &&
              strstr(r.out, "kernel 2x2, same, groups 2\n") &&
              strstr(r.out, "  6      avgpool2d    6x3x3  linear") &&
              strstr(r.out, "padding not counted\n") && strstr(r.out, "  7      globalavgpool"),
          "info shows the shapes: %s", r.out);
    cli_result_free(&r);
    r = run("eval --model m.syn --data img.csv --target y");
    CHECK(r.code == 0 && strstr(r.out, "accuracy"), "eval reads the CNN: exit %d: %s%s",
          r.code, r.out, r.err);
    cli_result_free(&r);
    /* Errors: the token, the shape, the layer. */
    snprintf(args, sizeof args, "%s --input-shape 2,5,4 --layers conv:4:3 --out x.syn", base);
    expect_error(args, "--input-shape 2,5,4 does not multiply to the data's 50 features");
    snprintf(args, sizeof args, "%s --input-shape 2,5 --layers conv:4:3 --out x.syn", base);
    expect_error(args, "--input-shape expects channels,height,width");
    snprintf(args, sizeof args, "%s --input-shape 2,5,5 --layers conv:4:3:q1 --out x.syn",
             base);
    expect_error(args, "'conv:4:3:q1': 'q1' is not an option of this layer");
    snprintf(args, sizeof args, "%s --input-shape 2,5,5 --layers conv:4 --out x.syn", base);
    expect_error(args, "'conv:4': a convolution is conv:CHANNELS:KERNEL");
    snprintf(args, sizeof args, "%s --input-shape 2,5,5 --layers relu,8 --out x.syn", base);
    expect_error(args, "'relu': an activation token must follow a layer without one");
    snprintf(args, sizeof args, "%s --input-shape 2,5,5 --layers maxpool:3x6 --out x.syn",
             base);
    expect_error(args, "layer 0 (maxpool2d): input 2x5x5 is smaller than the window 3x6");
    snprintf(args, sizeof args, "%s --layers conv:4:3 --out x.syn", base);
    expect_error(args, "layer 0 (conv2d): input 50x1x1 is smaller than the kernel 3x3");
    r = run("export --format onnx m.syn -o m.onnx");
    CHECK(r.code == 0, "ONNX export of a CNN (test_onnx_conv checks the file): %s", r.err);
    cli_result_free(&r);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return check_finish();
}
