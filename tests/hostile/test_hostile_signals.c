/* test_hostile_signals.c - signals, pipes and resource limits (issue 11):
 *  4. SIGINT after the first checkpoint: exit 130, the model of the
 *     finished epochs saved, the checkpoint resumes to the model of an
 *     uninterrupted run byte for byte, no temporary file left; SIGTERM
 *     twice at once: exit 143 at once, no temporary file; SIGTERM while
 *     predict copies stdin: exit 143, the copy removed (it exited 130 with
 *     nothing saved and .tmp files left);
 *  2. pipes and FIFOs as --data: the same predictions as from the file
 *     (a FIFO hung train and eval; a pipe lost its first 4 KiB);
 *  7. `ulimit -v 160M`: --version and a small train end in time (OpenBLAS's
 *     thread start retried a 128 MiB allocation forever), skipped under
 *     ASan and valgrind, which need more address space themselves. */
#include <stdint.h>

#include "check.h"
#include "hostile.h"
#include "kernels/gemm.h"

static char dir[] = "/tmp/syn_hostile_signals_XXXXXX";
static h_counts counts;

static const char *path(const char *name)
{
    return cli_path(dir, name);
}

static void write_data(void)
{
    FILE *fp = fopen(path("big.csv"), "w");
    uint64_t s = 5;
    fputs("a,b,c,label\n", fp);
    for (int i = 0; i < 1000; i++) {
        double v[3];
        for (int j = 0; j < 3; j++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            v[j] = (double)(s >> 11) / 9007199254740992.0;
        }
        fprintf(fp, "%.4f,%.4f,%.4f,%s\n", v[0], v[1], v[2], v[0] + v[1] > v[2] + 0.5 ? "p" : "q");
    }
    fclose(fp);
}

/* 40 epochs of 1000 batches: the run is still going when the signal lands
 * after the first (4 under valgrind, where each epoch takes ~50x longer). */
static char TRAIN_EPOCHS[16] = "40";
#define TRAIN "train --data big.csv --batch 1 --hidden 8 --threads 1 "

static char **h_argv_epochs(const char *line)
{
    char full[1024];
    snprintf(full, sizeof full, "%s --epochs %s", line, TRAIN_EPOCHS);
    return h_argv(full);
}

static void test_sigint_saves_and_resumes(void)
{
    h_opts o = {.dir = dir, .stdin_fd = -1, .signal = SIGINT, .marker = "c.ckpt"};
    h_result r = h_run(&o, h_argv_epochs(TRAIN "--out m.syn --checkpoint c.ckpt --log m.csv"));
    h_count(&counts, &r, "SIGINT during train");
    CHECK(r.exited && r.code == 130, "SIGINT: exit 130, got %d/%d", r.code, r.sig);
    CHECK(strstr(r.err, "interrupted by SIGINT") && strstr(r.err, "saved m.syn") &&
              strstr(r.err, "--resume c.ckpt"),
          "SIGINT: says what was saved and how to resume: %s", r.err);
    CHECK(!h_leftover(dir, "m.syn.tmp") && !h_leftover(dir, "c.ckpt.tmp") &&
              !h_leftover(dir, "m.csv.tmp"),
          "%s", "SIGINT: no temporary file left");
    h_free(&r);
    h_opts plain = {.dir = dir, .stdin_fd = -1};
    r = h_run(&plain, h_argv("info m.syn"));
    CHECK(r.exited && r.code == 0 && strstr(r.out, "epochs"), "the saved model loads: %s",
          r.err);
    h_free(&r);
    r = h_run(&plain, h_argv("train --resume c.ckpt --out resumed.syn --quiet"));
    CHECK(r.exited && r.code == 0, "resume after SIGINT: %s", r.err);
    h_free(&r);
    r = h_run(&plain, h_argv_epochs(TRAIN "--out ref.syn --quiet"));
    h_free(&r);
    CHECK(h_same_file(path("resumed.syn"), path("ref.syn")),
          "%s", "the resumed run ends as the uninterrupted one, byte for byte");
}

static void test_double_sigterm(void)
{
    /* Valgrind's own start-up takes seconds, before any handler is in. */
    h_opts o = {.dir = dir, .stdin_fd = -1, .signal = SIGTERM, .signal2 = SIGTERM,
                .signal_delay = h_under_valgrind() ? 5.0 : 0.3, .timeout = 90};
    h_result r = h_run(&o, h_argv(TRAIN "--epochs 100000 --out d.syn --log d.csv"));
    h_count(&counts, &r, "SIGTERM twice");
    CHECK(r.exited && r.code == 143, "two SIGTERMs: exit 143, got %d/%d", r.code, r.sig);
    CHECK(!h_leftover(dir, "d.csv.tmp") && !h_leftover(dir, "d.syn.tmp"), "%s",
          "two SIGTERMs: no temporary file left");
    h_free(&r);
}

/* predict copying a stdin that never ends, then SIGTERM. */
static void test_sigterm_stdin_copy(void)
{
    int fds[2];
    if (pipe(fds) != 0)
        return;
    if (write(fds[1], "a,b,c\n", 6) != 6)
        return;
    setenv("TMPDIR", dir, 1);
    h_opts o = {.dir = dir, .stdin_fd = fds[0], .signal = SIGTERM,
                .signal_delay = h_under_valgrind() ? 5.0 : 0.5, .timeout = 60};
    h_result r = h_run(&o, h_argv("predict --model ref.syn --data -"));
    unsetenv("TMPDIR");
    close(fds[0]);
    close(fds[1]);
    h_count(&counts, &r, "SIGTERM during predict --data -");
    CHECK(r.exited && r.code == 143, "SIGTERM while copying stdin: exit 143, got %d/%d",
          r.code, r.sig);
    CHECK(!h_leftover(dir, "synapse-"), "%s", "the copy of stdin is removed");
    h_free(&r);
}

/* Defect 2: the same predictions from the file, a FIFO and a pipe. */
static void test_pipes(void)
{
    h_opts o = {.dir = dir, .stdin_fd = -1, .timeout = 30};
    h_result ref = h_run(&o, h_argv("predict --model ref.syn --data big.csv --target label"));
    CHECK(ref.exited && ref.code == 0, "predict from the file: %s", ref.err);
    mkfifo(path("fifo.csv"), 0600);
    const char *how[] = {"fifo", "/dev/stdin"};
    for (int k = 0; k < 2; k++) {
        int fds[2] = {-1, -1};
        if (k == 1 && pipe(fds) != 0)
            break;
        pid_t writer = fork();
        if (writer == 0) {
            int out = k == 0 ? open(path("fifo.csv"), O_WRONLY) : fds[1];
            size_t n;
            char *data = cli_read_file(path("big.csv"), &n);
            if (out >= 0 && data && write(out, data, n) != (ssize_t)n)
                _exit(1);
            _exit(0);
        }
        if (k == 1)
            close(fds[1]);
        h_opts p = {.dir = dir, .stdin_fd = k == 1 ? fds[0] : -1, .timeout = 30};
        h_result r = h_run(&p, h_argv(k == 0 ? "predict --model ref.syn --data fifo.csv "
                                               "--target label"
                                             : "predict --model ref.syn --data /dev/stdin "
                                               "--target label"));
        if (k == 1)
            close(fds[0]);
        kill(writer, SIGKILL);
        waitpid(writer, NULL, 0);
        h_count(&counts, &r, how[k]);
        CHECK(r.exited && r.code == 0 && !strcmp(r.out, ref.out),
              "%s: the predictions of the file: exit %d %s", how[k], r.code, r.err);
        h_free(&r);
    }
    /* train from a FIFO (it blocked forever). */
    pid_t writer = fork();
    if (writer == 0) {
        int out = open(path("fifo.csv"), O_WRONLY);
        size_t n;
        char *data = cli_read_file(path("big.csv"), &n);
        if (out >= 0 && data && write(out, data, n) != (ssize_t)n)
            _exit(1);
        _exit(0);
    }
    h_result r = h_run(&o, h_argv("train --data fifo.csv --out f.syn --epochs 1 --quiet"));
    kill(writer, SIGKILL);
    waitpid(writer, NULL, 0);
    h_count(&counts, &r, "train from a FIFO");
    CHECK(r.exited && r.code == 0, "train from a FIFO: %d %s", r.code, r.err);
    h_free(&r);
    h_free(&ref);
}

static void test_address_limit(void)
{
    if (!h_address_limits_testable()) {
        printf("ulimit -v: skipped (AddressSanitizer or valgrind reserve more)\n");
        return;
    }
    h_opts o = {.dir = dir, .stdin_fd = -1, .as = (rlim_t)160 << 20, .timeout = 30};
    h_result r = h_run(&o, h_argv("--version"));
    h_count(&counts, &r, "ulimit -v: --version");
    CHECK(r.exited && r.code == 0, "--version under ulimit -v: %d/%d timed out %d", r.code,
          r.sig, r.timed_out);
    h_free(&r);
    /* A build that chooses OpenBLAS (-DSYN_GEMM_PREFER_BLAS=ON) loads it for
     * training, and its thread start-up needs more address space. */
    if (!strcmp(syn_gemm_backend(), "openblas")) {
        printf("ulimit -v: train skipped (this build's GEMM is OpenBLAS)\n");
        return;
    }
    r = h_run(&o, h_argv("train --data big.csv --out v.syn --epochs 1 --quiet"));
    h_count(&counts, &r, "ulimit -v: train");
    CHECK(r.exited && r.code == 0, "train under ulimit -v: %d/%d timed out %d %s", r.code,
          r.sig, r.timed_out, r.err);
    h_free(&r);
}

int main(void)
{
    if (!mkdtemp(dir))
        return perror("mkdtemp"), 1;
    if (h_under_valgrind())
        snprintf(TRAIN_EPOCHS, sizeof TRAIN_EPOCHS, "4");
    write_data();
    h_opts o = {.dir = dir, .stdin_fd = -1};
    h_result r = h_run(&o, h_argv("train --data big.csv --out ref.syn --epochs 1 --hidden 4 "
                                  "--quiet"));
    h_free(&r);
    test_address_limit();
    test_pipes();
    test_sigint_saves_and_resumes();
    test_double_sigterm();
    test_sigterm_stdin_copy();
    return h_finish(&counts, dir);
}
