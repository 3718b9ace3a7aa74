/* test_cli_export.c - `synapse export` and `synapse import` end to end: a
 * model trained by the command is exported to ONNX and imported back, and
 * both models predict the same; the C header export compiles; usage and
 * runtime errors give exit codes 2 and 1 with a message. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "cli_run.h"
#include "synapse.h"

static char dir[] = "/tmp/syn_test_export_XXXXXX";

static void write_data(void)
{
    char path[256];
    snprintf(path, sizeof path, "%s/train.csv", dir);
    FILE *fp = fopen(path, "w");
    syn_rng rng;
    syn_rng_seed(&rng, 4);
    fprintf(fp, "a,b,c,kind\n");
    for (int i = 0; i < 300; i++) {
        double a = syn_rng_uniform(&rng), b = syn_rng_uniform(&rng), c = syn_rng_uniform(&rng);
        fprintf(fp, "%.4f,%.4f,%.4f,%s\n", a * 10, b, c - 5,
                a + b > 1 ? (c > 0.5 ? "up" : "side") : "down");
    }
    fclose(fp);
    snprintf(path, sizeof path, "%s/features.csv", dir);
    fp = fopen(path, "w");
    fprintf(fp, "a,b,c\n1.5,0.2,-4.9\n9.1,0.9,-4.1\n4,0.5,-4.5\n");
    fclose(fp);
}

/* Expects exit code `code` and `needle` in stderr. */
static void expect(const char *args, int code, const char *needle)
{
    cli_result r = cli_run_in(dir, args);
    CHECK(r.code == code, "synapse %s: exit %d, want %d (%s)", args, r.code, code, r.err);
    if (needle)
        CHECK(strstr(r.err, needle) != NULL, "synapse %s: stderr lacks \"%s\": %s", args,
              needle, r.err);
    cli_result_free(&r);
}

int main(void)
{
    if (!mkdtemp(dir))
        return 1;
    write_data();
    expect("train --data train.csv --hidden 16 --epochs 5 --quiet --out m.syn", 0, NULL);
    expect("export --format onnx m.syn -o m.onnx", 0, NULL);
    expect("import --format onnx m.onnx -o back.syn", 0, NULL);
    cli_result a = cli_run_in(dir, "predict --model m.syn --data features.csv");
    cli_result b = cli_run_in(dir, "predict --model back.syn --data features.csv");
    CHECK(a.code == 0 && b.code == 0, "predict: %d %d", a.code, b.code);
    CHECK(strstr(a.out, "prediction,p_") != NULL, "predict header: %s", a.out);
    CHECK(strcmp(a.out, b.out) == 0, "imported model predicts the same:\n%s\nvs\n%s", a.out,
          b.out);
    cli_result_free(&a);
    cli_result_free(&b);
    cli_result info = cli_run_in(dir, "info back.syn");
    CHECK(info.code == 0 && strstr(info.out, "side") != NULL, "class names survive: %s",
          info.out);
    cli_result_free(&info);

    expect("export --format c m.syn -o m.h --prefix kinds", 0, NULL);
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && printf '#include \"m.h\"\\nint main(void){float o[KINDS_N_OUTPUTS];"
             "const float x[KINDS_N_INPUTS]={1.5f,0.2f,-4.9f};kinds_predict(x,o);"
             "return kinds_argmax(o)<0;}\\n' > use.c && cc -std=c99 -Wall -Wextra -Werror "
             "-pedantic use.c -o use -lm && ./use",
             dir);
    CHECK(system(cmd) == 0, "the C header compiles and runs");

    /* Fine-tuning a model imported from PyTorch (6 inputs, 4 softmax
     * outputs, no class names): labels 0..3 map onto its outputs. */
    char cmd2[1024];
    snprintf(cmd2, sizeof cmd2, "cp '%s/fixtures/onnx/relu_softmax.onnx' '%s/torch.onnx'",
             SYN_TEST_DIR, dir);
    CHECK(system(cmd2) == 0, "copy the PyTorch fixture");
    char path[256];
    snprintf(path, sizeof path, "%s/six.csv", dir);
    FILE *fp = fopen(path, "w");
    for (int i = 0; i < 64; i++)
        fprintf(fp, "%d,%d,%d,%d,%d,%d,%d\n", i % 3, i % 5, i % 7, i % 2, i % 4, i % 6, i % 4);
    fclose(fp);
    expect("import --format onnx torch.onnx -o torch.syn", 0, NULL);
    expect("train --data six.csv --init torch.syn --epochs 1 --quiet --out tuned.syn", 0, NULL);
    cli_result tuned = cli_run_in(dir, "info tuned.syn");
    CHECK(tuned.code == 0 && strstr(tuned.out, "16") && strstr(tuned.out, "epochs           1"),
          "the fine-tuned model keeps the imported layers: %s", tuned.out);
    cli_result_free(&tuned);
    expect("train --data six.csv --init torch.syn --hidden 8 --out x.syn", 2, "--init");
    expect("train --data train.csv --init torch.syn --out x.syn", 1, "torch.syn");

    /* Class names on import: given on the command line (a list or @FILE,
     * which replace the metadata's), or from metadata_props "classes". */
    expect("import --format onnx torch.onnx -o named.syn --class-names cat,dog,bird,fish", 0,
           NULL);
    snprintf(path, sizeof path, "%s/six_x.csv", dir);
    fp = fopen(path, "w");
    fprintf(fp, "1,2,3,0,1,2\n0,4,6,1,3,5\n");
    fclose(fp);
    cli_result named = cli_run_in(dir, "predict --model named.syn --data six_x.csv");
    CHECK(named.code == 0 && (strstr(named.out, "\ncat,") || strstr(named.out, "\ndog,") ||
                              strstr(named.out, "\nbird,") || strstr(named.out, "\nfish,")) &&
              strstr(named.out, "p_fish"),
          "predict names the classes: %s", named.out);
    cli_result_free(&named);
    snprintf(path, sizeof path, "%s/names.txt", dir);
    fp = fopen(path, "w");
    fprintf(fp, "north\r\neast\r\nsouth\r\nwest\r\n");
    fclose(fp);
    snprintf(cmd2, sizeof cmd2, "cp '%s/fixtures/onnx/norm_sub_div.onnx' '%s/norm.onnx'",
             SYN_TEST_DIR, dir);
    CHECK(system(cmd2) == 0, "copy the PyTorch fixture");
    expect("import --format onnx norm.onnx -o file.syn --class-names @names.txt", 0, NULL);
    info = cli_run_in(dir, "info file.syn");
    CHECK(info.code == 0 && strstr(info.out, "west") && !strstr(info.out, "fish"),
          "class names from a file replace the metadata's: %s", info.out);
    cli_result_free(&info);
    expect("import --format onnx norm.onnx -o meta.syn", 0, NULL);
    info = cli_run_in(dir, "info meta.syn");
    CHECK(info.code == 0 && strstr(info.out, "fish"), "class names from metadata \"classes\": %s",
          info.out);
    cli_result_free(&info);
    expect("import --format onnx torch.onnx -o x.syn --class-names a,b", 2, "2 names");
    expect("import --format onnx torch.onnx -o x.syn --class-names a,,c,d", 2, "empty entry");
    expect("import --format onnx torch.onnx -o x.syn --class-names @nothere.txt", 1,
           "nothere.txt");
    fp = fopen(path, "w");
    fprintf(fp, "north\n\nsouth\nwest\n");
    fclose(fp);
    expect("import --format onnx torch.onnx -o x.syn --class-names @names.txt", 2, "line 2");

    expect("export m.syn -o x.onnx", 2, "--format");
    expect("export --format onnx m.syn", 2, "-o");
    expect("export --format svg m.syn -o x", 2, "svg");
    expect("export --format c m.syn -o x.h --prefix 9bad", 2, "identifier");
    expect("export --format onnx missing.syn -o x.onnx", 1, "missing.syn");
    expect("import --format onnx train.csv -o x.syn", 1, "train.csv");
    expect("import --format onnx m.onnx -o m.onnx", 1, "overwrite");
    expect("export --help", 0, NULL);
    expect("import --help", 0, NULL);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return check_finish();
}
