/* test_report.c - `synapse report` and `synapse train --report`: the HTML
 * file for an image classifier (IDX), a classifier whose class and column
 * names and file name are hostile HTML, and a two-output regression. In C:
 * the file is whole, small, escapes every user string, loads nothing, and
 * says in place what its inputs did not record; a log of an older synapse
 * still reads, a broken one is an error naming its line. In headless
 * Chromium (tests/browser/check_report.js): no request leaves the file, no
 * script or console error, the numbers shown equal `synapse eval --json`,
 * nothing overflows a phone-width page, and screenshots (build dir,
 * report-shots/) at 1280 and 390 px. Without Chromium or Node.js the
 * browser half is skipped (exit 77, saying so), never passed. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "synapse.h"

#include "check.h"
#include "cli_run.h"
#include "../cli/report_layers.c"
#include "../cli/sha256.c"

static char tmp_dir[] = "/tmp/syn_test_report_XXXXXX";

static cli_result run(const char *args)
{
    return cli_run_in(tmp_dir, args);
}

#define P(name) cli_path(tmp_dir, name)

static uint64_t lcg = 99;

static double uniform01(void)
{
    lcg = lcg * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(lcg >> 11) / 9007199254740992.0;
}

static void put_u32(FILE *fp, uint32_t v)
{
    unsigned char b[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 8), (unsigned char)v};
    fwrite(b, 1, 4, fp);
}

/* 8x8 images of 3 classes (a bright row band, column band or diagonal)
 * under heavy noise, so that some are misclassified. */
static void write_images(const char *images, const char *labels, uint32_t n)
{
    FILE *fi = fopen(P(images), "wb"), *fl = fopen(P(labels), "wb");
    put_u32(fi, 0x0803);
    put_u32(fi, n);
    put_u32(fi, 8);
    put_u32(fi, 8);
    put_u32(fl, 0x0801);
    put_u32(fl, n);
    for (uint32_t i = 0; i < n; i++) {
        unsigned char label = (unsigned char)(i % 3), px[64];
        for (int y = 0; y < 8; y++)
            for (int x = 0; x < 8; x++) {
                int on = label == 0 ? (y == 3 || y == 4) : label == 1 ? (x == 3 || x == 4)
                                                                      : x == y;
                double v = (on ? 75 : 50) + 220 * (uniform01() - 0.5);
                px[8 * y + x] = (unsigned char)(v < 0 ? 0 : v > 255 ? 255 : v);
            }
        fwrite(px, 1, 64, fi);
        fputc(label, fl);
    }
    fclose(fi);
    fclose(fl);
}

static const char *const hostile_classes[3] = {
    "<script>alert(1)</script>", "Tom & \"Jerry\"", "'<img src=x onerror=alert(2)>'"};

/* Classes whose names are HTML, columns too. */
static void write_hostile(const char *name, int rows)
{
    FILE *fp = fopen(P(name), "w");
    fprintf(fp, "\"<b>width</b>\",height,\"a\"\"quote\",label\n");
    for (int i = 0; i < rows; i++) {
        int c = i % 3;
        fprintf(fp, "%.4f,%.4f,%.4f,\"%s\"\n", c + 0.9 * uniform01(), 2.0 * uniform01(),
                c * 0.5 + 0.8 * uniform01(), c == 1 ? "Tom & \"\"Jerry\"\"" : hostile_classes[c]);
    }
    fclose(fp);
}

static void write_regression(const char *name, int rows)
{
    FILE *fp = fopen(P(name), "w");
    fprintf(fp, "x1,x2,x3,y1,y2\n");
    for (int i = 0; i < rows; i++) {
        double a = uniform01(), b = uniform01(), c = uniform01();
        fprintf(fp, "%.5f,%.5f,%.5f,%.5f,%.5f\n", a, b, c, 3 * a - 2 * b + 0.05 * uniform01(),
                a * b + c + 0.05 * uniform01());
    }
    fclose(fp);
}

static int contains(const char *path, const char *text)
{
    char *s = cli_read_file(path, NULL);
    int found = s && strstr(s, text);
    free(s);
    return found;
}

/* Nonzero when the file holds the bytes of s. */
static int file_has(const char *path, const char *s)
{
    size_t size = 0, len = strlen(s);
    char *b = cli_read_file(path, &size);
    int found = 0;
    for (size_t i = 0; b && !found && i + len <= size; i++)
        found = !memcmp(b + i, s, len);
    free(b);
    return found;
}

/* What every report must be, read as text. */
static void check_html(const char *name)
{
    size_t size = 0;
    char *s = cli_read_file(P(name), &size);
    CHECK(s && !strncmp(s, "<!DOCTYPE html>", 15) && strstr(s, "</html>\n"), "%s: whole", name);
    CHECK(size < 3u << 20, "%s: %zu bytes, under 3 MB", name, size);
    if (!s)
        return;
    /* The only URL is the SVG namespace, which is a name, not a request. */
    size_t urls = 0;
    for (const char *p = s; (p = strstr(p, "://")); p++)
        urls += strncmp(p - 4, "http://www.w3.org/2000/svg", 26) != 0;
    CHECK(urls == 0, "%s: no URL but the SVG namespace (%zu)", name, urls);
    CHECK(!strstr(s, " src=\"") && !strstr(s, " href=\"") && !strstr(s, "@import") &&
          !strstr(s, "url("), "%s: nothing to load", name);
    size_t scripts = 0;
    for (const char *p = s; (p = strstr(p, "<script")); p++)
        scripts++;
    CHECK(scripts == 1, "%s: one <script>, the report's own (%zu)", name, scripts);
    CHECK(!strstr(s, "<b>width") && !strstr(s, "<img") && !strstr(s, "& \"Jerry"),
          "%s: no user string unescaped", name);
    free(s);
}

static int train_and_report(const char *name, const char *train_args, const char *data_args,
                            const char *eval_args)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "train %s --out %s.syn --log %s.csv --report %s-train.html "
             "--quiet", train_args, name, name, name);
    cli_result r = run(cmd);
    CHECK(r.code == 0, "%s: train --report: %s", name, r.err);
    cli_result_free(&r);
    snprintf(cmd, sizeof cmd, "report --model %s.syn --log %s.csv %s --out %s-report.html",
             name, name, data_args, name);
    r = run(cmd);
    CHECK(r.code == 0 && !*r.out, "%s: report: %d %s", name, r.code, r.err);
    cli_result_free(&r);
    snprintf(cmd, sizeof cmd, "eval --model %s.syn %s --json", name, eval_args);
    r = run(cmd);
    CHECK(r.code == 0, "%s: eval --json: %s", name, r.err);
    char json[256];
    snprintf(json, sizeof json, "%s.json", name);
    FILE *fp = fopen(P(json), "w");
    fputs(r.out, fp);
    fclose(fp);
    cli_result_free(&r);
    char html[2][256];
    snprintf(html[0], sizeof html[0], "%s-train.html", name);
    snprintf(html[1], sizeof html[1], "%s-report.html", name);
    for (int i = 0; i < 2; i++)
        check_html(html[i]);
    /* What only the run knows is in --report's file; synapse report says
     * it lacks it. */
    CHECK(contains(P(html[0]), "data-field=\"command\">synapse train ") &&
          contains(P(html[0]), "Every option, defaults included") &&
          contains(P(html[0]), "Peak memory of the training process"),
          "%s: train --report records the command line, options and memory", name);
    CHECK(contains(P(html[1]), "The training command line was not recorded") &&
          contains(P(html[1]), "Peak memory: not recorded"),
          "%s: synapse report says what it lacks", name);
    return 1;
}

static void test_images(void)
{
    write_images("train-images", "train-labels", 300);
    write_images("test-images", "test-labels", 90);
    train_and_report("img", "--data train-images --labels train-labels --test-data "
                     "test-images --test-labels test-labels --hidden 16 --epochs 30 "
                     "--batch 32 --seed 3",
                     "--data test-images --labels test-labels",
                     "--data test-images --labels test-labels");
    CHECK(contains(P("img-report.html"), "id=\"misclassified\"") &&
          contains(P("img-report.html"), "data-gray=\""), "misclassified images drawn");
    CHECK(contains(P("img-report.html"), "id=\"weights\"") &&
          contains(P("img-report.html"), "of the first dense layer as a 8x8 image"),
          "first-layer weights drawn");
    CHECK(contains(P("img-train.html"), "faint: each epoch, solid: smoothed"),
          "30 epochs: a smoothed line over the raw values");
}

static void test_hostile(void)
{
    write_hostile("we<i>rd&.csv", 240);
    write_hostile("test.csv", 90);
    train_and_report("hostile", "--data 'we<i>rd&.csv' --test-data test.csv --hidden 8 "
                     "--epochs 5 --seed 2", "--data test.csv", "--data test.csv");
    CHECK(contains(P("hostile-report.html"), "&lt;script&gt;alert(1)&lt;/script&gt;") &&
          contains(P("hostile-report.html"), "Tom &amp; &quot;Jerry&quot;") &&
          contains(P("hostile-train.html"), "we&lt;i&gt;rd&amp;.csv") &&
          contains(P("hostile-train.html"), "&lt;b&gt;width&lt;/b&gt;"),
          "class, column and file names escaped");
    /* Bytes that are not UTF-8 become U+FFFD; control bytes are dropped. */
    FILE *fp = fopen(P("bytes.csv"), "w");
    fputs("a,b,label\n1,2,x\xffy\n2,3,ok\x01\n1.5,2.5,x\xffy\n2.2,3.1,ok\x01\n", fp);
    fclose(fp);
    cli_result b = run("train --data bytes.csv --hidden 2 --epochs 2 --out bytes.syn "
                       "--report bytes.html --quiet");
    CHECK(b.code == 0 && contains(P("bytes.html"), "x\xEF\xBF\xBDy") &&
          !file_has(P("bytes.html"), "\x01") && !file_has(P("bytes.html"), "\xff"),
          "non-UTF-8 and control bytes: %s", b.err);
    cli_result_free(&b);
    /* Without a test set, a classifier's validation rows are evaluated. */
    cli_result r = run("train --data test.csv --val-split 0.3 --hidden 4 --epochs 3 "
                       "--out v.syn --report v.html --quiet");
    CHECK(r.code == 0 && contains(P("v.html"), "validation rows of test.csv"),
          "no --test-data: the validation rows: %s", r.err);
    cli_result_free(&r);
}

static void test_regression(void)
{
    write_regression("regdata.csv", 200);
    write_regression("reg_test.csv", 60);
    train_and_report("reg", "--data regdata.csv --target y1,y2 --test-data reg_test.csv "
                     "--hidden 8 --epochs 8 --seed 4", "--data reg_test.csv --target y1,y2",
                     "--data reg_test.csv --target y1,y2");
    CHECK(contains(P("reg-report.html"), "y1: predicted vs true") &&
          contains(P("reg-report.html"), "y2: residual (true - predicted)"),
          "residual and predicted-vs-true plots per output");
}

/* A log of the synapse before the lr and stop columns, no log, a broken log. */
static void test_logs(void)
{
    char *log = cli_read_file(P("hostile.csv"), NULL);
    CHECK(log && !strncmp(log, "epoch,train_loss,train_accuracy,val_loss,val_accuracy,seconds,"
                          "samples_per_second,saved,test_loss,test_accuracy,lr,stop\n", 115),
          "the log's header gains lr and stop at its end");
    CHECK(log && strstr(log, ",all 5 epochs of --epochs ran\n"), "the last row's stop: %s", log);
    free(log);
    FILE *fp = fopen(P("old.csv"), "w");
    fputs("epoch,train_loss,train_accuracy,val_loss,val_accuracy,seconds,samples_per_second,"
          "saved,test_loss,test_accuracy\n1,0.9,0.5,,,0.1,1000,0,,\n2,0.7,0.6,,,0.1,1000,1,"
          "0.8,0.55\n", fp);
    fclose(fp);
    cli_result r = run("report --model hostile.syn --log old.csv --data test.csv --out old.html");
    CHECK(r.code == 0 && contains(P("old.html"), "Learning rate: not recorded (a log of a "
                                                  "synapse before the lr column)") &&
          contains(P("old.html"), "not recorded (a log of a synapse before the stop column)"),
          "an older log reads, and the report says what it lacks: %s", r.err);
    cli_result_free(&r);
    r = run("report --model hostile.syn --out nolog.html");
    CHECK(r.code == 0 && contains(P("nolog.html"), "No log was given") &&
          contains(P("nolog.html"), "Not evaluated: no --data was given"),
          "no log, no data: said in place: %s", r.err);
    check_html("nolog.html");
    cli_result_free(&r);
    fp = fopen(P("bad.csv"), "w");
    fputs("epoch,train_loss\n1,0.5\n2,abc\n", fp);
    fclose(fp);
    r = run("report --model hostile.syn --log bad.csv --out bad.html");
    CHECK(r.code == 1 && strstr(r.err, "bad.csv:3: column train_loss is not a number") &&
          access(P("bad.html"), F_OK) != 0, "a broken log: %d %s", r.code, r.err);
    cli_result_free(&r);
    r = run("report --model hostile.syn --log hostile.syn --out bad.html");
    CHECK(r.code == 1 && strstr(r.err, "hostile.syn:1:"), "a model as log: %s", r.err);
    cli_result_free(&r);
    r = run("report --model hostile.syn --out hostile.syn");
    CHECK(r.code == 2 && strstr(r.err, "would overwrite the input"), "--out over the model");
    cli_result_free(&r);
    r = run("report --log hostile.csv --out x.html");
    CHECK(r.code == 2 && strstr(r.err, "missing --model"), "--model is required");
    cli_result_free(&r);
}

/* A checkpoint of a run without --report does not name the option, so the
 * synapse before it (which refuses options it does not know) resumes it;
 * with --report it is stored and a resume writes the report again. */
static void test_checkpoint(void)
{
    cli_result r = run("train --data test.csv --hidden 4 --epochs 2 --out c1.syn "
                       "--checkpoint c1.ckpt --quiet");
    CHECK(r.code == 0 && !file_has(P("c1.ckpt"), "--report") && file_has(P("c1.ckpt"), "--lr"),
          "no --report, none stored: %s", r.err);
    cli_result_free(&r);
    r = run("train --data test.csv --hidden 4 --epochs 2 --out c2.syn --checkpoint c2.ckpt "
            "--report c2.html --quiet");
    CHECK(r.code == 0 && file_has(P("c2.ckpt"), "--report"), "--report stored: %s", r.err);
    cli_result_free(&r);
    remove(P("c2.html"));
    r = run("train --resume c2.ckpt --out c3.syn --quiet");
    CHECK(r.code == 0 && contains(P("c2.html"), "</html>"), "a resume writes it again: %s",
          r.err);
    cli_result_free(&r);
}

/* The layer table of a network with the newer layer kinds, built through
 * the library (train does not make them yet): report_layers.c itself, then
 * synapse report on the saved model. */
static void test_layer_kinds(void)
{
    syn_layer_desc layers[4] = {
        {.units = 8, .activation = SYN_ACT_RELU},
        {.kind = SYN_LAYER_BATCHNORM, .activation = SYN_ACT_LINEAR},
        {.kind = SYN_LAYER_DROPOUT, .rate = 0.25f},
        {.units = 3, .activation = SYN_ACT_SOFTMAX}};
    syn_net_desc desc = {.n_inputs = 4, .n_layers = 4, .layers = layers,
                         .loss = SYN_LOSS_CROSS_ENTROPY, .seed = 1};
    syn_net *net = NULL;
    CHECK_OK(syn_net_create(&desc, &net));
    report_layer rows[4];
    CHECK(net && report_layers(net, rows), "the table of four kinds");
    size_t total = 0, state = 0;
    for (int i = 0; net && i < 4; i++) {
        total += rows[i].params;
        state += rows[i].state;
    }
    CHECK(net && total == syn_net_param_count(net) && state == 16,
          "parameters %zu = syn_net_param_count, running statistics %zu", total, state);
    CHECK(!strcmp(rows[0].kind, "dense") && rows[0].params == 40 && rows[0].units == 8 &&
          !strcmp(rows[0].detail, "relu"), "dense: %s %s %zu", rows[0].kind, rows[0].detail,
          rows[0].params);
    CHECK(!strcmp(rows[1].kind, "batchnorm") && rows[1].units == 8 && rows[1].params == 16 &&
          rows[1].bytes == 32 * sizeof(float) &&
          !strcmp(rows[1].detail, "eps 1e-05, momentum 0.1, then linear"),
          "batch norm: %s %zu %zu", rows[1].detail, rows[1].params, rows[1].bytes);
    CHECK(!strcmp(rows[2].kind, "dropout") && rows[2].units == 8 && rows[2].params == 0 &&
          !strcmp(rows[2].detail, "rate 0.25 (training only)"), "dropout: %s", rows[2].detail);
    CHECK(!strcmp(rows[3].kind, "dense") && rows[3].n_in == 8 && rows[3].params == 27,
          "the output layer");
    /* And through a model file, in the HTML. */
    CHECK(net && syn_net_save(net, NULL, P("kinds.syn"), NULL) == SYN_OK, "kinds.syn saved");
    syn_net_free(net);
    cli_result r = run("report --model kinds.syn --out kinds.html");
    CHECK(r.code == 0 && contains(P("kinds.html"), "<td>batchnorm</td><td>eps 1e-05, momentum "
                                                   "0.1, then linear</td><td class=\"num\">8"
                                                   "</td><td class=\"num\">8</td><td class="
                                                   "\"num\">16</td>") &&
          contains(P("kinds.html"), "<td>dropout</td><td>rate 0.25 (training only)</td>") &&
          contains(P("kinds.html"), "data-metric=\"params\" data-value=\"83\""),
          "the report's table: %s", r.err);
    cli_result_free(&r);
    check_html("kinds.html");
}

/* FIPS 180-2's examples, and lengths around the block and buffer edges
 * against `sha256sum` where it exists. */
static void test_sha256(void)
{
    static const struct { const char *text; const char *hex; } v[] = {
        {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"}};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        FILE *fp = fopen(P("sha.bin"), "wb");
        fputs(v[i].text, fp);
        fclose(fp);
        char hex[65];
        uint64_t size = 0;
        CHECK(report_sha256_file(P("sha.bin"), hex, &size) && !strcmp(hex, v[i].hex) &&
              size == strlen(v[i].text), "sha256 of '%s': %s", v[i].text, hex);
    }
    FILE *fp = fopen(P("sha.bin"), "wb");
    for (int i = 0; i < 1000000; i++)
        fputc('a', fp);
    fclose(fp);
    char hex[65];
    uint64_t size = 0;
    CHECK(report_sha256_file(P("sha.bin"), hex, &size) &&
          !strcmp(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0") &&
          size == 1000000, "sha256 of a million 'a': %s", hex);
    CHECK(!report_sha256_file(P("no-such-file"), hex, &size), "a missing file");
}

static int have_program(const char *name)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", name);
    return system(cmd) == 0;
}

/* The browser half; returns 0 when it had to be skipped. */
static int test_in_browser(void)
{
    const char *chromium = getenv("SYN_CHROMIUM") ? getenv("SYN_CHROMIUM") : "/usr/bin/chromium";
    if (access(chromium, X_OK) != 0 || !have_program("node")) {
        printf("skipped the browser checks: %s not found (apt-get install chromium nodejs; "
               "SYN_CHROMIUM names another Chromium)\n",
               access(chromium, X_OK) != 0 ? chromium : "node");
        return 0;
    }
    char shots[600];
    snprintf(shots, sizeof shots, "%s", SYN_CLI_PATH);
    char *slash = strrchr(shots, '/');
    snprintf(slash ? slash + 1 : shots, sizeof shots - (size_t)(slash ? slash + 1 - shots : 0),
             "report-shots");
    mkdir(shots, 0755);
    /* All six reports in one browser: starting Chromium is most of the cost. */
    const char *names[] = {"img", "hostile", "reg"};
    char cmd[8192];
    int used = snprintf(cmd, sizeof cmd, "SYN_CHROMIUM_PROFILE='%s' node '%s/browser/"
                        "check_report.js' --chromium '%s'", tmp_dir, SYN_TEST_DIR, chromium);
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 2; k++) {
            const char *kind = k ? "report" : "train";
            used += snprintf(cmd + used, sizeof cmd - (size_t)used, " '%s/%s-%s.html' "
                             "'%s/%s.json' '%s/%s-%s'", tmp_dir, names[i], kind, tmp_dir,
                             names[i], shots, names[i], kind);
        }
    snprintf(cmd + used, sizeof cmd - (size_t)used, " > '%s/browser.txt' 2>&1", tmp_dir);
    int status = system(cmd);
    char *said = cli_read_file(P("browser.txt"), NULL);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the reports in Chromium: %s",
          said ? said : "");
    if (said)
        printf("browser checks: %s", said);
    free(said);
    printf("screenshots in %s\n", shots);
    return 1;
}

int main(void)
{
    if (!mkdtemp(tmp_dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_sha256();
    test_images();
    test_hostile();
    test_regression();
    test_logs();
    test_layer_kinds();
    test_checkpoint();
    int browsed = test_in_browser();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
    if (check_failed_ == 0 && system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmp_dir);
    else if (check_failed_)
        fprintf(stderr, "files kept in %s\n", tmp_dir);
    int rc = check_finish();
    return rc == 0 && !browsed ? 77 : rc;
}
