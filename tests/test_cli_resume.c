/* test_cli_resume.c - the synapse command's checkpoints, resume checks,
 * divergence with checkpoints and memory limits, end to end: --checkpoint
 * does not change the model; --resume of a finished checkpoint gives the
 * same model and log; a resume with other options or other data is
 * refused; a diverging run names the epoch and batch, suggests the learning
 * rate and leaves a finite model and checkpoint; --max-memory refuses data
 * and networks before allocating them; huge and garbage sizes give a clear
 * message and exit 1 or 2. Runs the built binary (SYN_CLI_PATH) through
 * the shell in a temporary directory. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "cli_run.h"
#include "synapse.h"

static char tmp_dir[] = "/tmp/syn_test_cli_resume_XXXXXX";

typedef cli_result result;

static char *read_all(const char *path, size_t *size)
{
    return cli_read_file(path, size);
}

#define path_in_tmp(name) cli_path(tmp_dir, name)

static result run(const char *args)
{
    return cli_run_in(tmp_dir, args);
}

/* Runs and checks the exit code and a fragment of stderr. */
static void expect(const char *args, int code, const char *fragment)
{
    result r = run(args);
    CHECK(r.code == code && strstr(r.err, fragment),
          "synapse %s: want exit %d and \"%s\", got %d: %s", args, code, fragment, r.code,
          r.err);
    CHECK(!strchr(r.err, '\n') || strchr(r.err, '\n')[1] == '\0' || code == 0,
          "one line: %s", r.err);
    free(r.out);
    free(r.err);
}

static int same_file(const char *a, const char *b)
{
    size_t na = 0, nb = 0;
    char *x = read_all(path_in_tmp(a), &na), *y = read_all(path_in_tmp(b), &nb);
    int same = x && y && na == nb && !memcmp(x, y, na);
    free(x);
    free(y);
    return same;
}

static int all_finite(const syn_net *net)
{
    size_t n = 0;
    const float *p = syn_net_params_const(net, &n);
    for (size_t i = 0; i < n; i++)
        if (!isfinite(p[i]))
            return 0;
    return n > 0;
}

static void write_data(void)
{
    FILE *fp = fopen(path_in_tmp("d.csv"), "w");
    FILE *rp = fopen(path_in_tmp("reg.csv"), "w");
    FILE *op = fopen(path_in_tmp("other.csv"), "w");
    FILE *wp = fopen(path_in_tmp("wide.csv"), "w");
    if (!fp || !rp || !op || !wp)
        return;
    syn_rng rng;
    syn_rng_seed(&rng, 7);
    fprintf(fp, "a,b,c,d,label\n");
    fprintf(op, "a,b,c,d,label\n");
    fprintf(rp, "x1,x2,y\n");
    for (int i = 0; i < 400; i++) {
        double v[4], s = 0.0;
        for (int j = 0; j < 4; j++) {
            v[j] = syn_rng_normal(&rng);
            s += v[j];
        }
        const char *label = s > 0.5 ? "hi" : s < -0.5 ? "lo" : "mid";
        fprintf(fp, "%.4f,%.4f,%.4f,%.4f,%s\n", v[0], v[1], v[2], v[3], label);
        fprintf(op, "%.4f,%.4f,%.4f,%.4f,%s\n", v[0] + (i == 7), v[1], v[2], v[3], label);
        fprintf(rp, "%.4f,%.4f,%.4f\n", v[0], v[1], 3.0 * v[0] - v[1]);
    }
    /* Enough rows for the default validation split; noisy labels, so the
     * validation loss turns and the stopping rule acts within a few dozen
     * epochs. */
    fprintf(wp, "a,b,c,label\n");
    for (int i = 0; i < 1200; i++) {
        double v[3];
        for (int j = 0; j < 3; j++)
            v[j] = syn_rng_normal(&rng);
        int noisy = syn_rng_normal(&rng) > 0.8;
        fprintf(wp, "%.4f,%.4f,%.4f,%s\n", v[0], v[1], v[2],
                (v[0] + v[1] * v[2] > 0) != noisy ? "yes" : "no");
    }
    fclose(fp);
    fclose(rp);
    fclose(op);
    fclose(wp);
}

/* Two epoch logs equal but in the last two fields of each row (the
 * epoch's seconds and samples per second). */
/* Blanks a log row's seconds and samples_per_second (its 6th and 7th
 * fields) in place. */
static void drop_time_fields(char *row)
{
    char *start = row;
    for (int k = 0; k < 5 && start; k++) {
        start = strchr(start, ',');
        start = start ? start + 1 : NULL;
    }
    char *end = start ? strchr(start, ',') : NULL;
    end = end ? strchr(end + 1, ',') : NULL;
    if (start && end)
        memmove(start, end, strlen(end) + 1);
}

static int same_log_but_times(const char *a, const char *b)
{
    size_t na = 0, nb = 0;
    char *x = read_all(path_in_tmp(a), &na), *y = read_all(path_in_tmp(b), &nb);
    int same = x && y;
    size_t rows_a = 0, rows_b = 0;
    for (size_t i = 0; same && i < na; i++)
        rows_a += x[i] == '\n';
    for (size_t i = 0; same && i < nb; i++)
        rows_b += y[i] == '\n';
    same = same && rows_a == rows_b;
    for (char *p = x, *q = y; same && *p && *q;) {
        char *pe = strchr(p, '\n'), *qe = strchr(q, '\n');
        if (!pe || !qe)
            break;
        *pe = *qe = '\0';
        drop_time_fields(p);
        drop_time_fields(q);
        same = strcmp(p, q) == 0;
        p = pe + 1;
        q = qe + 1;
    }
    free(x);
    free(y);
    return same && na > 0 && nb > 0;
}

/* A run without --epochs stops on its own; its last checkpoint is the one
 * before the stopping epoch, so a resume must rerun that epoch with the
 * patience counters, the best weights and the cut learning rate as they
 * were, and stop there too: the same model and log as the uninterrupted
 * run. Once with a validation split (wide.csv: best weights restored), once
 * a regression (standardised targets: the checkpoint holds the model in
 * the data's units, eval on it works, and the block the trained
 * parameters). */
static void test_auto_resume(void)
{
    const char *const setups[2] = {"--data wide.csv --hidden 32",
                                   "--data reg.csv --hidden 8 --max-epochs 60"};
    for (int i = 0; i < 2; i++) {
        char args[512];
        snprintf(args, sizeof args, "train %s --quiet --out ref%d.syn --log ref%d.csv",
                 setups[i], i, i);
        result r = run(args);
        CHECK(r.code == 0, "reference %d: %s", i, r.err);
        free(r.out);
        free(r.err);
        snprintf(args, sizeof args, "train %s --out a%d.syn --log a%d.csv --checkpoint a%d.ckpt",
                 setups[i], i, i, i);
        r = run(args);
        CHECK(r.code == 0 && strstr(r.err, "stopped at epoch ") &&
                  (i == 1 || strstr(r.err, "; restored epoch ")),
              "run %d with checkpoints: %s", i, r.err);
        CHECK(i == 1 || strstr(r.err, "learning rate 0.001 -> 0.0001"), "a cut: %s", r.err);
        free(r.out);
        free(r.err);
        char a[32], b[32], ref[32], alog[32], blog[32];
        snprintf(a, sizeof a, "a%d.syn", i);
        snprintf(b, sizeof b, "b%d.syn", i);
        snprintf(ref, sizeof ref, "ref%d.syn", i);
        snprintf(alog, sizeof alog, "a%d.csv", i);
        snprintf(blog, sizeof blog, "b%d.csv", i);
        CHECK(same_file(ref, a), "run %d: checkpoints do not change the model", i);
        snprintf(args, sizeof args, "train --resume a%d.ckpt --out b%d.syn --log b%d.csv "
                 "--quiet", i, i, i);
        r = run(args);
        CHECK(r.code == 0, "resume %d: %s", i, r.err);
        free(r.out);
        free(r.err);
        CHECK(same_file(ref, b), "run %d: the resumed model equals the uninterrupted one", i);
        /* The rerun epoch was timed again: all but its seconds and rate. */
        CHECK(same_log_but_times(alog, blog), "run %d: the resumed log too", i);
    }
    result r = run("eval --model a1.ckpt --data reg.csv");
    const char *r2 = strstr(r.out, "r2 ");
    CHECK(r.code == 0 && r2 && strtod(r2 + 3, NULL) > 0.9, "the checkpoint predicts in the "
          "data's units: %s%s", r.out, r.err);
    free(r.out);
    free(r.err);
}

#define TRAIN "train --data d.csv --hidden 16 --epochs 3 --batch 16 --val-split 0.2 --quiet "

static void test_checkpoint_and_resume(void)
{
    result r = run(TRAIN "--out ref.syn --log ref.csv");
    CHECK(r.code == 0, "reference run: %s", r.err);
    free(r.out);
    free(r.err);
    r = run(TRAIN "--out a.syn --log a.csv --checkpoint a.ckpt --checkpoint-every 5");
    CHECK(r.code == 0, "run with checkpoints: %s", r.err);
    free(r.out);
    free(r.err);
    CHECK(same_file("ref.syn", "a.syn"), "checkpoints do not change the model");
    /* The checkpoint is a model file too. */
    r = run("info a.ckpt");
    CHECK(r.code == 0 && strstr(r.out, "epochs           3"), "info on a checkpoint: %s%s",
          r.out, r.err);
    free(r.out);
    free(r.err);
    r = run("eval --model a.ckpt --data d.csv");
    CHECK(r.code == 0, "eval with a checkpoint: %s", r.err);
    free(r.out);
    free(r.err);
    /* --resume alone (with --out): the run is done, the model the same. */
    r = run("train --resume a.ckpt --out b.syn --log b.csv --quiet");
    CHECK(r.code == 0, "resume of a finished run: %s", r.err);
    free(r.out);
    free(r.err);
    CHECK(same_file("ref.syn", "b.syn"), "resumed model equals the uninterrupted one");
    /* The log rows come back from the checkpoint: timing included. */
    CHECK(same_file("a.csv", "b.csv"), "the log is replayed from the checkpoint");

    expect("train --resume a.ckpt --out c.syn --lr 0.5", 2, "--lr is 0.5 but the checkpoint");
    expect("train --resume a.ckpt --out c.syn --hidden 8", 2, "--hidden is '8'");
    expect("train --resume a.ckpt --out c.syn --optimizer sgd", 2, "trained with adam");
    expect("train --resume a.ckpt --out c.syn --data other.csv", 1, "other values");
    /* A plain run's checkpoint: sharded sums would not continue it. */
    expect("train --resume a.ckpt --out c.syn --shards", 2,
           "trained on one process without --shards; --shards sums");
    /* The optimizers' own options and the new activations go through a
     * checkpoint too, and must agree on resume. */
    r = run(TRAIN "--out r.syn --optimizer rmsprop --centered --momentum 0.5 --alpha 0.9 "
                  "--activation gelu --checkpoint r.ckpt");
    CHECK(r.code == 0, "rmsprop run: %s", r.err);
    free(r.out);
    free(r.err);
    r = run("train --resume r.ckpt --out r2.syn --quiet");
    CHECK(r.code == 0 && same_file("r.syn", "r2.syn"), "rmsprop resume: %s", r.err);
    free(r.out);
    free(r.err);
    expect("train --resume r.ckpt --out c.syn --alpha 0.5", 2, "--alpha is 0.5");
    expect("train --resume a.ckpt --out c.syn --data reg.csv", 1, "rows");
    expect("train --resume ref.syn --out c.syn", 1, "not a checkpoint");
    expect("train --resume nope.ckpt --out c.syn", 1, "nope.ckpt");
    expect("train --resume d.csv --out c.syn", 1, "d.csv");
    expect(TRAIN "--out c.syn --checkpoint-every 3", 2, "needs --checkpoint");
    expect(TRAIN "--out c.syn --checkpoint c.syn", 2, "same file");
    expect(TRAIN "--out c.syn --checkpoint d.csv", 2, "overwrite the input");
    expect(TRAIN "--out c.syn --checkpoint c.ckpt --checkpoint-every 0", 2, "checkpoint-every");
    expect(TRAIN "--out c.syn --checkpoint no_dir/c.ckpt", 1, "no_dir");
}

static void test_divergence(void)
{
    result r = run("train --data reg.csv --hidden 16 --optimizer sgd --lr 1e9 --epochs 3 "
                   "--batch 20 --out div.syn --checkpoint div.ckpt --checkpoint-every 1");
    CHECK(r.code == 1, "divergence exits 1, got %d", r.code);
    CHECK(strstr(r.err, "diverged at epoch 1, batch ") && strstr(r.err, "learning rate") &&
              strstr(r.err, "--lr"),
          "the message names epoch, batch and the learning rate: %s", r.err);
    /* No epoch finished: the random start is not written as a model. */
    CHECK(strstr(r.err, "nothing was saved") != NULL, "the message says so: %s", r.err);
    CHECK(access(path_in_tmp("div.syn"), F_OK) != 0, "%s", "no model written");
    free(r.out);
    free(r.err);
    syn_net *net = NULL;
    /* Checkpoints are written only after good steps: whatever is on disk
     * is finite and resumable. */
    if (access(path_in_tmp("div.ckpt"), F_OK) == 0) {
        syn_optimizer *opt = NULL;
        syn_trainer_state st;
        CHECK_OK(syn_checkpoint_load(path_in_tmp("div.ckpt"), &net, &opt, &st, NULL, NULL,
                                     NULL));
        CHECK(net && all_finite(net), "the checkpoint holds a finite state");
        syn_net_free(net);
        syn_optimizer_free(opt);
    }
}

static void test_memory_limits(void)
{
    const char *base = "train --data d.csv --out m.syn --quiet ";
    char args[512];
    snprintf(args, sizeof args, "%s--max-memory 1K", base);
    expect(args, 1, "(--max-memory 1 KiB)");
    snprintf(args, sizeof args, "%s--max-memory 100K --hidden 4000", base);
    expect(args, 1, "the network needs ");
    snprintf(args, sizeof args, "%s--max-memory 100K --hidden 4000", base);
    expect(args, 1, "more than --max-memory 100 KiB");
    snprintf(args, sizeof args, "%s--hidden 16000000,16000000 --max-memory 1T", base);
    /* d.csv is small: the default batch is the smallest, 32. */
    expect(args, 1, "PiB (parameters, gradients, adam state (2 arenas), workspace for batch 32)");
    /* Every optimizer is named by the library's table (the CLI's own list
     * had only the first five), and RMSprop's extra arenas are counted. */
    snprintf(args, sizeof args, "%s--max-memory 100K --hidden 4000 --optimizer radam", base);
    expect(args, 1, "radam state (2 arenas)");
    snprintf(args, sizeof args,
             "%s--max-memory 100K --hidden 4000 --optimizer rmsprop --centered --momentum 0.5",
             base);
    expect(args, 1, "rmsprop state (3 arenas)");
    /* The default limit is the available memory. */
    snprintf(args, sizeof args, "%s--hidden 16777216,16777216,16777216", base);
    expect(args, 1, "PiB (parameters");
    snprintf(args, sizeof args, "%s--hidden 4000000000,4000000000", base);
    expect(args, 2, "--hidden expects widths from 1 to 16777216");
    snprintf(args, sizeof args, "%s--batch 999999999999", base);
    expect(args, 2, "--batch expects an integer");
    const char *bad[] = {"99999999999999999999999G", "12Q", "-5G", "0", "1e9", "G", "",
                         "1..5G", "5 G", "0.1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(args, sizeof args, "%s--max-memory '%s'", base, bad[i]);
        expect(args, 2, "--max-memory expects a size");
    }
    const char *good[] = {"1G", "1.5G", "512MiB", "4096m", "none", "100000000", "2GB"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        snprintf(args, sizeof args, "%s--epochs 1 --hidden 8 --max-memory %s", base, good[i]);
        expect(args, 0, "");
    }
    expect("eval --model m.syn --data d.csv --max-memory 1K", 1, "--max-memory 1 KiB");
    expect("predict --model m.syn --data d.csv --target label --max-memory 1K", 1,
           "--max-memory 1 KiB");
    expect("eval --model m.syn --data d.csv --max-memory 1X", 2, "--max-memory expects");
    expect("predict --model m.syn --data d.csv --target label --max-memory x", 2,
           "--max-memory expects");
}

/* Parameters of two model files: the same bits (*exact), or the same to
 * the rounding of another CPU's kernels. */
static int close_models(const char *a, const char *b, int *exact)
{
    syn_net *x = NULL, *y = NULL;
    int ok = syn_net_load(a, &x, NULL, NULL) == SYN_OK &&
             syn_net_load(b, &y, NULL, NULL) == SYN_OK;
    size_t nx = 0, ny = 0;
    const float *p = ok ? syn_net_params_const(x, &nx) : NULL;
    const float *q = ok ? syn_net_params_const(y, &ny) : NULL;
    ok = ok && nx == ny && nx > 0;
    *exact = ok;
    for (size_t i = 0; ok && i < nx; i++) {
        *exact &= p[i] == q[i];
        ok = fabsf(p[i] - q[i]) <= 1e-6f + 1e-5f * fabsf(q[i]);
    }
    syn_net_free(x);
    syn_net_free(y);
    return ok;
}

#define SHARDS_V3 SYN_TEST_DIR "/fixtures/model/ckpt_v3_shards"

/* A checkpoint of a --shards run written before checkpoints recorded
 * --shards (tests/fixtures/model/ckpt_v3_shards/README) still resumes with
 * --shards to the model of the uninterrupted run. */
static void test_shards_fixture(void)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "cp '%s/d.csv' '%s/shards.ckpt' '%s/whole.syn' '%s/'", SHARDS_V3,
             SHARDS_V3, SHARDS_V3, tmp_dir);
    CHECK(system(cmd) == 0, "copying %s", SHARDS_V3);
    result r = run("train --resume shards.ckpt --shards --out v3.syn --quiet");
    CHECK(r.code == 0, "resume of the v3 --shards checkpoint: %s", r.err);
    free(r.out);
    free(r.err);
    int exact = 0;
    char a[512], b[512];
    snprintf(a, sizeof a, "%s", path_in_tmp("v3.syn"));
    snprintf(b, sizeof b, "%s", path_in_tmp("whole.syn"));
    CHECK(close_models(a, b, &exact), "the resumed v3 checkpoint ends at the uninterrupted "
          "run's model");
    printf("v3 --shards checkpoint: resumed model %s the fixture's\n",
           exact ? "has the bits of" : "is within 1e-5 of");
    /* The (finished) checkpoint of that resume records --shards and
     * resumes without it (test_mpi resumes one mid-run that way, to the
     * uninterrupted model); the old one without --shards takes the plain
     * path (it records nothing), as before. */
    snprintf(cmd, sizeof cmd, "cp '%s/shards.ckpt' '%s/old.ckpt'", SHARDS_V3, tmp_dir);
    CHECK(system(cmd) == 0, "copying %s", SHARDS_V3);
    r = run("train --resume shards.ckpt --out v3b.syn --quiet");
    CHECK(r.code == 0 && same_file("v3.syn", "v3b.syn"), "the finished checkpoint resumes "
          "without --shards: %s", r.err);
    free(r.out);
    free(r.err);
    r = run("train --resume old.ckpt --out v3c.syn --quiet");
    CHECK(r.code == 0 && !same_file("v3.syn", "v3c.syn"), "the old checkpoint without "
          "--shards: the plain path: %s", r.err);
    free(r.out);
    free(r.err);
}

int main(void)
{
    if (!mkdtemp(tmp_dir)) {
        perror("mkdtemp");
        return 1;
    }
    write_data();
    test_auto_resume();
    test_checkpoint_and_resume();
    test_divergence();
    test_memory_limits();
    test_shards_fixture();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
    if (check_failed_ == 0 && system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmp_dir);
    else if (check_failed_)
        fprintf(stderr, "files kept in %s\n", tmp_dir);
    return check_finish();
}
