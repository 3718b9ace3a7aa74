/* test_cli_layers.c - `synapse train --layers` (a spec on the command line
 * or in a file), its errors naming the token, and `synapse info`'s layer
 * table; a model with batch norm and dropout is saved, predicts and
 * exports. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cli_run.h"
#include "synapse.h"

static char dir[] = "/tmp/syn_test_cli_layers_XXXXXX";

static cli_result run(const char *args)
{
    return cli_run_in(dir, args);
}

static void write_text(const char *name, const char *text)
{
    FILE *f = fopen(cli_path(dir, name), "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

/* Two classes from three features. */
static void write_data(void)
{
    FILE *f = fopen(cli_path(dir, "d.csv"), "w");
    if (!f)
        return;
    fprintf(f, "a,b,c,y\n");
    syn_rng rng;
    syn_rng_seed(&rng, 3);
    for (int i = 0; i < 200; i++) {
        double a = 2 * syn_rng_uniform(&rng) - 1, b = 2 * syn_rng_uniform(&rng) - 1,
               c = 2 * syn_rng_uniform(&rng) - 1;
        fprintf(f, "%.6f,%.6f,%.6f,%s\n", a, b, c, a + b * c > 0 ? "pos" : "neg");
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
    cli_result r = run("train --data d.csv --layers '16:tanh,bn,dropout:0.25,8,ln:relu,2' "
                       "--epochs 5 --seed 2 --out m.syn --quiet");
    CHECK(r.code == 0, "train --layers: %s", r.err);
    cli_result_free(&r);
    r = run("info m.syn");
    CHECK(r.code == 0 && strstr(r.out, "  layer  kind        output  activation   parameters"),
          "info: the table's head: %s", r.out);
    CHECK(strstr(r.out, "  1      dense           16  tanh                 64  256 bytes\n") &&
              strstr(r.out, "  2      batchnorm       16  linear               32  256 bytes"
                            "  momentum 0.1\n") &&
              strstr(r.out, "  3      dropout         16  linear                0    0 bytes"
                            "  p 0.25\n") &&
              strstr(r.out, "  5      layernorm        8  relu                 16\n") == NULL &&
              strstr(r.out, "  5      layernorm        8  relu                 16   64 bytes\n") &&
              strstr(r.out, "  6      dense            2  softmax              18") &&
              strstr(r.out, "  total                                          266"),
          "info: the rows (the trailing 2 is the output layer): %s", r.out);
    CHECK(strstr(r.out, "memory: ") && strstr(r.out, "to train with adam at batch 128"),
          "info: the memory line");
    CHECK(strstr(r.out, "more to evaluate or predict at batch 1024 (inference workspace)"),
          "info: the inference memory line");
    cli_result_free(&r);
    /* The same spec from a file, with comments and newlines: same model. */
    write_text("net.txt", "# two blocks\n16:tanh bn dropout:0.25\n8, ln:relu  # then out\n");
    r = run("train --data d.csv --layers @net.txt --epochs 5 --seed 2 --out f.syn --quiet");
    CHECK(r.code == 0, "train --layers @file: %s", r.err);
    cli_result_free(&r);
    char *a = cli_read_file(cli_path(dir, "m.syn"), NULL), *b = NULL;
    size_t na = 0, nb = 0;
    free(a);
    a = cli_read_file(cli_path(dir, "m.syn"), &na);
    b = cli_read_file(cli_path(dir, "f.syn"), &nb);
    CHECK(a && b && na == nb && !memcmp(a, b, na), "the file spec trains the same model");
    free(a);
    free(b);
    /* Predictions of the saved model are its inference outputs. */
    r = run("predict --model m.syn --data d.csv --out p.csv");
    CHECK(r.code == 0, "predict: %s", r.err);
    cli_result_free(&r);

    expect_error("train --data d.csv --layers '16,dropout:1.5' --epochs 1 --out x.syn",
                 "--layers: 'dropout:1.5': the dropout rate must be a number in [0, 1)");
    expect_error("train --data d.csv --layers '16,drop:0.5' --epochs 1 --out x.syn",
                 "--layers: 'drop:0.5' is not a layer");
    expect_error("train --data d.csv --layers '16:gelux' --epochs 1 --out x.syn",
                 "--layers: '16:gelux': unknown activation 'gelux'");
    expect_error("train --data d.csv --layers '0,4' --epochs 1 --out x.syn",
                 "--layers: '0': a width must be from 1 to 16777216");
    expect_error("train --data d.csv --layers 'dropout' --epochs 1 --out x.syn",
                 "'dropout': dropout needs its rate");
    expect_error("train --data d.csv --layers '8,bn:softmax' --epochs 1 --out x.syn",
                 "--layers: layer 1 (batchnorm): softmax before the output layer");
    expect_error("train --data d.csv --layers 8 --hidden 8 --epochs 1 --out x.syn",
                 "--layers and --hidden both describe the hidden layers");
    expect_error("train --data d.csv --layers @missing.txt --epochs 1 --out x.syn",
                 "--layers: cannot open 'missing.txt'");

    /* --weight-init: torch draws the biases U(-1/sqrt(fan_in), ..), auto
     * leaves them at zero; a step of lr 1e-12 barely moves either. */
    for (int torch = 0; torch < 2; torch++) {
        char args[300];
        snprintf(args, sizeof args,
                 "train --data d.csv --hidden 16 --epochs 1 --lr 1e-12 --out w%d.syn --quiet%s",
                 torch, torch ? " --weight-init torch" : "");
        r = run(args);
        CHECK(r.code == 0, "%s: %s", args, r.err);
        cli_result_free(&r);
        char name[16];
        snprintf(name, sizeof name, "w%d.syn", torch);
        syn_net *wn = NULL;
        CHECK_OK(syn_net_load(cli_path(dir, name), &wn, NULL, NULL));
        float *w = NULL, *b = NULL;
        double bmax = 0, wmax = 0;
        if (wn && syn_net_layer_params(wn, 0, &w, &b) == SYN_OK)
            for (int i = 0; i < 16; i++) {
                bmax = fabs(b[i]) > bmax ? fabs(b[i]) : bmax;
                for (int j = 0; j < 3; j++)
                    wmax = fabs(w[i * 3 + j]) > wmax ? fabs(w[i * 3 + j]) : wmax;
            }
        if (torch)
            CHECK(bmax > 0.1 && bmax < 0.578 && wmax < 0.578,
                  "--weight-init torch: biases up to %g, weights up to %g, want within 1/sqrt(3)",
                  bmax, wmax);
        else
            CHECK(bmax < 1e-6, "--weight-init auto: biases up to %g, want 0", bmax);
        syn_net_free(wn);
    }
    expect_error("train --data d.csv --weight-init kaiming --epochs 1 --out x.syn",
                 "--weight-init");
    expect_error("train --data d.csv --init w0.syn --weight-init he --epochs 1 --out x.syn",
                 "drop --hidden, --layers, --activation, --loss, --scale and --weight-init");

    /* Both exports write every kind (test_c_export and test_onnx check
     * their outputs against syn_forward). */
    r = run("export --format c m.syn -o m.h");
    CHECK(r.code == 0, "export c: %s", r.err);
    cli_result_free(&r);
    r = run("export --format onnx m.syn -o m.onnx");
    CHECK(r.code == 0, "export onnx: %s", r.err);
    cli_result_free(&r);

    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return check_finish();
}
