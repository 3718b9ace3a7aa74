/* test_hostile_inputs.c - hostile inputs to every reader and argument of
 * the command (issue 11):
 *  6. /dev/zero as every input (model, checkpoint, --init, ONNX, data,
 *     labels) ends at once (the readers read it whole: 5.7 GB in 20 s);
 *     a 24 MB CSV line under --max-memory 10M is refused (it took 5.1 GB
 *     for 200 MB); eval of a 100k-class model is refused under the limit
 *     (its confusion matrix took 80 GB outside it). Where the address
 *     space can be limited (not under ASan or valgrind), these run under
 *     `ulimit -v 1G`, so an unbounded read fails the test;
 *  9. '-' is stdout for export and import, refused for train --out; class
 *     names with escape codes are escaped on output; a column too narrow
 *     to scale is named; an exploding finite loss is warned of and printed
 *     in %g; a gzip CSV trains; a log that hits `ulimit -f` says "File too
 *     large"; a replaced output keeps its permissions;
 *  and argument abuse: every malformed command line ends with exit 1 or 2,
 *  in time. Counts: "N inputs, 0 crashes, 0 hangs, 0 files lost". */
#include <stdint.h>

#include "check.h"
#include "hostile.h"
#include "synapse.h"

static char dir[] = "/tmp/syn_hostile_inputs_XXXXXX";
static h_counts counts;
static rlim_t address_limit;

static const char *path(const char *name)
{
    return cli_path(dir, name);
}

static h_result run_limited(const char *line, rlim_t fsize)
{
    h_opts o = {.dir = dir, .stdin_fd = -1, .timeout = 30, .as = address_limit,
                .fsize = fsize};
    h_result r = h_run(&o, h_argv(line));
    h_count(&counts, &r, line);
    return r;
}

static h_result run(const char *line)
{
    return run_limited(line, 0);
}

static void expect(const char *line, int code, const char *fragment)
{
    h_result r = run(line);
    CHECK(r.exited && r.code == code && strstr(r.err, fragment), "%s: want exit %d and \"%s\", "
          "got %d: %s", line, code, fragment, r.code, r.err);
    h_free(&r);
}

static void write_text(const char *name, const char *text)
{
    FILE *fp = fopen(path(name), "w");
    fputs(text, fp);
    fclose(fp);
}

static void test_dev_zero(void)
{
    static const char *const lines[] = {
        "info /dev/zero", "import --format onnx /dev/zero -o z.syn",
        "predict --model /dev/zero --data three.csv",
        "train --data three.csv --out z.syn --init /dev/zero",
        "train --data three.csv --out z.syn --resume /dev/zero",
        "train --data /dev/zero --out z.syn", "eval --model ref.syn --data /dev/zero",
        "predict --model ref.syn --data /dev/zero",
        "export --format onnx /dev/zero -o z.onnx"};
    /* Under valgrind (each child ~50x slower) every third. */
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i += h_under_valgrind() ? 3 : 1) {
        h_result r = run(lines[i]);
        CHECK(r.exited && r.code == 1 && !r.timed_out, "%s: exit 1 at once, got %d (%s)",
              lines[i], r.code, r.err);
        h_free(&r);
    }
}

static void test_long_line(void)
{
    FILE *fp = fopen(path("long.csv"), "w");
    fputs("a,b,label\n", fp);
    static char chunk[1 << 16];
    memset(chunk, '1', sizeof chunk);
    for (int i = 0; i < 384; i++) /* 24 MiB */
        fwrite(chunk, 1, sizeof chunk, fp);
    fputs(",2,x\n1,2,y\n", fp);
    fclose(fp);
    expect("train --data long.csv --out z.syn --max-memory 10M", 1, "memory limit");
}

/* A 100000-class softmax model: its confusion matrix needs 80 GB. */
static void test_many_classes(void)
{
    syn_layer_desc layer = {.units = 100000, .activation = SYN_ACT_SOFTMAX};
    syn_net_desc d = {.n_inputs = 2, .n_layers = 1, .layers = &layer,
                      .loss = SYN_LOSS_CROSS_ENTROPY, .reduction = SYN_REDUCTION_MEAN,
                      .init = SYN_INIT_AUTO, .seed = 1};
    syn_net *net = NULL;
    CHECK_OK(syn_net_create(&d, &net));
    CHECK_OK(syn_net_save(net, NULL, path("wide.syn"), NULL));
    syn_net_free(net);
    write_text("wide.csv", "a,b,label\n1,2,1\n3,4,2\n");
    expect("eval --model wide.syn --data wide.csv --max-memory 1G", 1, "confusion matrix");
}

static void test_dash(void)
{
    h_result r = run("export --format onnx ref.syn -o ref.onnx");
    h_free(&r);
    r = run("export --format onnx ref.syn -o -");
    size_t n = 0;
    char *file = cli_read_file(path("ref.onnx"), &n);
    size_t got = 0;
    char *out = cli_read_file(path("h_stdout.txt"), &got);
    CHECK(r.exited && r.code == 0 && file && out && n == got && !memcmp(file, out, n),
          "export -o -: the ONNX file on stdout (%zu bytes of %zu): %s", got, n, r.err);
    CHECK(access(path("-"), F_OK) != 0, "%s", "export -o -: no file named '-'");
    free(file);
    free(out);
    h_free(&r);
    r = run("import --format onnx ref.onnx -o -");
    out = cli_read_file(path("h_stdout.txt"), &got);
    CHECK(r.exited && r.code == 0 && out && got > 8 && !memcmp(out, "\x89SYN", 4),
          "import -o -: a model on stdout: %s", r.err);
    free(out);
    h_free(&r);
    expect("train --data three.csv --out - --epochs 1", 2, "--out -");
    CHECK(access(path("-"), F_OK) != 0, "%s", "no file named '-'");
}

static void test_escapes(void)
{
    write_text("esc.csv", "a,b,label\n1,2,\x1b[31mred\n3,4,blue\n5,6,\x1b[31mred\n7,1,blue\n");
    h_result r = run("train --data esc.csv --out esc.syn --epochs 1 --hidden 2 --quiet");
    CHECK(r.exited && r.code == 0, "escape names train: %s", r.err);
    h_free(&r);
    const char *lines[] = {"info esc.syn", "eval --model esc.syn --data esc.csv"};
    for (int i = 0; i < 2; i++) {
        r = run(lines[i]);
        CHECK(r.code == 0 && !strchr(r.out, '\x1b') && strstr(r.out, "\\x1b[31mred"),
              "%s: the name escaped: %s", lines[i], r.out);
        h_free(&r);
    }
}

static void test_messages(void)
{
    write_text("tiny.csv", "a,b,label\n0,1,x\n1e-42,2,y\n0,3,x\n0,1,y\n");
    expect("train --data tiny.csv --out z.syn --epochs 1", 1, "feature 1 ('a')");
    /* One step an epoch (batch 128 over 60 rows), so the first epoch's loss
     * is still the start's and the growth shows between epochs. */
    h_result r = run("train --data three.csv --out boom.syn --lr 1e12 --epochs 3 --batch 128");
    CHECK(strstr(r.err, "warning: the training loss grew") != NULL,
          "an exploding loss is warned of: %s", r.err);
    int long_number = 0;
    for (const char *p = r.err; *p; p++) {
        size_t digits = strspn(p, "0123456789");
        long_number |= digits >= 16;
        p += digits ? digits - 1 : 0;
    }
    CHECK(!long_number, "no 16-digit numbers: %s", r.err);
    h_free(&r);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "gzip -c '%s' > '%s'", path("three.csv"), path("three.csv.gz"));
    if (system(cmd) == 0) {
        r = run("train --data three.csv.gz --out gz.syn --epochs 1 --quiet");
        CHECK(r.exited && r.code == 0, "a gzip CSV trains: %s", r.err);
        h_free(&r);
    }
    r = run_limited("train --data three.csv --out lim.syn --epochs 200 --hidden 2 --log "
                    "lim.csv --quiet", 2048);
    CHECK(r.exited && r.code == 1 && strstr(r.err, "lim.csv") &&
              strstr(r.err, "File too large"),
          "a log past ulimit -f says why: %s", r.err);
    h_free(&r);
    write_text("p.csv", "old\n");
    chmod(path("p.csv"), 0640);
    r = run("predict --model ref.syn --data three.csv --target label --out p.csv");
    struct stat st;
    CHECK(r.code == 0 && stat(path("p.csv"), &st) == 0 && (st.st_mode & 0777) == 0640,
          "a replaced output keeps its mode 0640: %o %s", (unsigned)(st.st_mode & 0777), r.err);
    h_free(&r);
}

/* Malformed command lines: each must end with 1 or 2, in time. */
static void test_argument_abuse(void)
{
    static char huge[9000];
    memset(huge, 'x', sizeof huge - 1);
    static const char *const lines[] = {
        "", "train", "train --data", "train --data three.csv --out", "train --epochs -1",
        "train --data three.csv --out z.syn --epochs 99999999999999999999",
        "train --data three.csv --out z.syn --lr nan", "train --data three.csv --out z.syn --lr inf",
        "train --data three.csv --out z.syn --lr 1e400",
        "train --data three.csv --out z.syn --hidden 99999999999",
        "train --data three.csv --out z.syn --hidden 4,,4",
        "train --data three.csv --out z.syn --hidden -4",
        "train --data three.csv --out z.syn --delimiter ab",
        "train --data three.csv --out z.syn --target 99",
        "train --data three.csv --out z.syn --target nosuch",
        "train --data three.csv --out z.syn --max-memory -5G",
        "train --data three.csv --out z.syn --max-memory 1e9",
        "train --data three.csv --out z.syn --batch 1e3", "train --data three.csv --out three.csv",
        "train --data three.csv --out z.syn --log z.syn", "train --data nosuch --out z.syn",
        "train --data . --out z.syn", "train --data three.csv --out /",
        "train --data three.csv --out z.syn --val-split 1", "predict", "predict --model",
        "predict --model ref.syn --data three.csv --out /dev/full",
        "eval --model ref.syn --data three.csv --labels three.csv", "info", "info a b",
        "export --format xml ref.syn -o z", "import --format onnx", "demo nosuch",
        "--versions", "train --=", "train ---data three.csv"};
    /* Under valgrind every sixth. */
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i += h_under_valgrind() ? 6 : 1) {
        h_result r = run(lines[i]);
        CHECK(r.exited && (r.code == 1 || r.code == 2) && r.err[0],
              "'%s': exit 1 or 2 with a message, got %d", lines[i], r.code);
        h_free(&r);
    }
    char line[9200];
    snprintf(line, sizeof line, "train --data %s --out z.syn", huge);
    h_result r = run(line);
    CHECK(r.exited && (r.code == 1 || r.code == 2) && r.err[0],
          "a 9000-byte path: exit 1 or 2 with a message, got %d", r.code);
    h_free(&r);
}

int main(void)
{
    if (!mkdtemp(dir))
        return perror("mkdtemp"), 1;
    address_limit = h_address_limits_testable() ? (rlim_t)1 << 30 : 0;
    if (!address_limit)
        printf("(no ulimit -v: AddressSanitizer or valgrind reserve more)\n");
    h_copy(SYN_TEST_DIR "/fixtures/model/ckpt_v1/three.csv", path("three.csv"));
    h_copy(SYN_TEST_DIR "/fixtures/model/ckpt_v1/v1.syn", path("ref.syn"));
    h_copy(path("three.csv"), path("three.ref"));
    h_copy(path("ref.syn"), path("ref.ref"));
    test_dev_zero();
    /* A 24 MB line and a 100k-class model take minutes under valgrind; the
     * ASan run checks them. */
    if (!h_under_valgrind()) {
        test_long_line();
        test_many_classes();
    }
    test_dash();
    test_escapes();
    test_messages();
    test_argument_abuse();
    counts.lost += !h_same_file(path("three.csv"), path("three.ref")) +
                   !h_same_file(path("ref.syn"), path("ref.ref"));
    return h_finish(&counts, dir);
}
