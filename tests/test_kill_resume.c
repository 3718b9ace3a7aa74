/* test_kill_resume.c - checkpoints survive kill -9: `synapse train` with a
 * checkpoint every few batches is killed with SIGKILL at random moments,
 * again and again, each time resumed with --resume, until it finishes; the
 * model it saves must be byte-for-byte the file an uninterrupted run saves,
 * and its --log the same rows but for the timing columns. The model is big
 * enough that a checkpoint write (about 1 MB, fsync'd) takes a measurable
 * time, and the test kills until at least one kill landed inside a write,
 * seen by the temporary file the killed write leaves behind; such leftovers
 * stay in the directory and must not disturb the resume. After every kill
 * the checkpoint on disk must load. One series runs with --threads 1, one
 * alternates --threads 2 and 1 (results do not depend on threads). */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "cli_run.h"
#include "synapse.h"

#define MIN_KILLS 8
#define MAX_KILLS 40

static char tmp_dir[] = "/tmp/syn_test_kill_XXXXXX";

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#define path_in_tmp(name) cli_path(tmp_dir, name)

/* 3000 rows of 100 features, three classes from a noisy linear rule. */
static void write_data(void)
{
    FILE *fp = fopen(path_in_tmp("data.csv"), "w");
    if (!fp)
        return;
    syn_rng rng;
    syn_rng_seed(&rng, 42);
    for (int i = 0; i < 3000; i++) {
        double s = 0.0;
        for (int j = 0; j < 100; j++) {
            double v = syn_rng_normal(&rng);
            s += j < 5 ? v : 0.05 * v;
            fprintf(fp, "%.3f,", v);
        }
        fprintf(fp, "%s\n", s > 1.0 ? "a" : s > -1.0 ? "b" : "c");
    }
    fclose(fp);
}

/* Starts `synapse train` in tmp_dir writing `out` (and `out`.log), with a
 * checkpoint `ckpt` (resumed from when it exists) unless ckpt is NULL. */
static pid_t start_train(const char *out, const char *ckpt, int threads)
{
    char log[300], threads_text[16], ckpt_path[600], out_path[600], log_path[600];
    snprintf(log, sizeof log, "%s.log", out);
    snprintf(threads_text, sizeof threads_text, "%d", threads);
    snprintf(out_path, sizeof out_path, "%s", path_in_tmp(out));
    snprintf(log_path, sizeof log_path, "%s", path_in_tmp(log));
    const char *argv[40] = {SYN_CLI_PATH, "train", "--data", path_in_tmp("data.csv"),
                            "--hidden", "256,256", "--epochs", "12", "--batch", "32",
                            "--val-split", "0.1", "--early-stop", "20", "--quiet",
                            "--threads", threads_text, "--out", out_path, "--log", log_path};
    int argc = 21;
    if (ckpt) {
        snprintf(ckpt_path, sizeof ckpt_path, "%s", path_in_tmp(ckpt));
        argv[argc++] = "--checkpoint";
        argv[argc++] = ckpt_path;
        argv[argc++] = "--checkpoint-every";
        argv[argc++] = "10";
        if (access(ckpt_path, F_OK) == 0) {
            argv[argc++] = "--resume";
            argv[argc++] = ckpt_path;
        }
    }
    argv[argc] = NULL;
    pid_t pid = fork();
    if (pid == 0) {
        execv(SYN_CLI_PATH, (char *const *)argv);
        _exit(127);
    }
    return pid;
}

static int wait_exit(pid_t pid)
{
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
}

/* Temporary files a killed checkpoint write left behind. */
static int count_leftovers(const char *ckpt)
{
    DIR *d = opendir(tmp_dir);
    char prefix[300];
    snprintf(prefix, sizeof prefix, "%s.tmp.", ckpt);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
    if (d)
        closedir(d);
    return n;
}

static char *read_file(const char *path, size_t *size)
{
    return cli_read_file(path, size);
}

/* The log without its last two columns (seconds, samples per second). */
static void strip_timing(char *log)
{
    char *src = log, *dst = log;
    while (*src) {
        char *end = strchr(src, '\n');
        size_t len = end ? (size_t)(end - src) : strlen(src);
        size_t keep = len, commas = 0;
        for (size_t i = 0; i < len; i++)
            if (src[i] == ',' && ++commas == 5)
                keep = i;
        memmove(dst, src, keep);
        dst += keep;
        *dst++ = '\n';
        src += len + (end != NULL);
    }
    *dst = '\0';
}

/* The model and log of `out` equal the reference's. */
static void compare_with_reference(const char *out, const char *series)
{
    size_t n_ref = 0, n_got = 0;
    char *ref = read_file(path_in_tmp("ref.syn"), &n_ref);
    char *got = read_file(path_in_tmp(out), &n_got);
    CHECK(ref && got && n_ref == n_got && !memcmp(ref, got, n_ref),
          "%s: the resumed model file is byte-for-byte the uninterrupted one", series);
    free(ref);
    free(got);
    syn_net *a = NULL, *b = NULL;
    CHECK_OK(syn_net_load(path_in_tmp("ref.syn"), &a, NULL, NULL));
    CHECK_OK(syn_net_load(path_in_tmp(out), &b, NULL, NULL));
    size_t na = 0, nb = 0;
    const float *pa = a ? syn_net_params_const(a, &na) : NULL;
    const float *pb = b ? syn_net_params_const(b, &nb) : NULL;
    CHECK(pa && pb && na == nb && !memcmp(pa, pb, na * sizeof(float)),
          "%s: parameters bit-identical (%zu)", series, na);
    syn_net_free(a);
    syn_net_free(b);
    char log[300];
    snprintf(log, sizeof log, "%s.log", out);
    ref = read_file(path_in_tmp("ref.syn.log"), &n_ref);
    got = read_file(path_in_tmp(log), &n_got);
    if (ref && got) {
        strip_timing(ref);
        strip_timing(got);
    }
    CHECK(ref && got && !strcmp(ref, got), "%s: --log equal but for timing:\n%s\nvs\n%s",
          series, ref ? ref : "", got ? got : "");
    free(ref);
    free(got);
}

static void sleep_seconds(double t)
{
    struct timespec ts = {(time_t)t, (long)((t - (double)(time_t)t) * 1e9)};
    nanosleep(&ts, NULL);
}

/* Polls until a checkpoint write of pid is under way (a new temporary
 * file), the process ends, or the deadline passes. */
static void wait_for_write(pid_t pid, const char *ckpt, int before, double deadline)
{
    while (count_leftovers(ckpt) <= before && now_seconds() < deadline) {
        siginfo_t info;
        memset(&info, 0, sizeof info);
        if (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) != 0 ||
            info.si_pid == pid)
            return;
    }
}

typedef struct series_stats {
    int kills, in_write, resumes, restarts;
} series_stats;

/* Kills and resumes until the run finishes with at least MIN_KILLS kills,
 * one of them inside a checkpoint write; returns the counts. */
static series_stats kill_series(const char *out, const char *ckpt, int threads, double run_time,
                                syn_rng *rng)
{
    series_stats s = {0, 0, 0, 0};
    int attempt = 0;
    for (;;) {
        int enough = s.kills >= MIN_KILLS && s.in_write >= 1;
        int resuming = access(path_in_tmp(ckpt), F_OK) == 0;
        /* Alternate thread counts in the second series. */
        int t = threads > 1 && attempt % 2 ? 1 : threads;
        pid_t pid = start_train(out, ckpt, t);
        attempt++;
        s.resumes += resuming;
        if (enough || s.kills >= MAX_KILLS) {
            int code = wait_exit(pid);
            CHECK(code == 0, "%s: the last run exits 0, got %d", out, code);
            break;
        }
        int before = count_leftovers(ckpt);
        /* Mostly short delays: a run must be killed several times before it
         * is done. The slice of a write is hit by chance; once the other
         * kills are done without such a hit, the kill waits for a new
         * temporary file to appear. */
        double delay = run_time * (0.02 + 0.25 * syn_rng_uniform(rng));
        if (s.kills >= MIN_KILLS - 1 && s.in_write == 0)
            wait_for_write(pid, ckpt, before, now_seconds() + 2.0 * run_time);
        else
            sleep_seconds(delay);
        int killed = kill(pid, SIGKILL) == 0;
        int code = wait_exit(pid);
        if (code == 0) {
            /* Finished before the kill: not enough kills yet, so start a
             * new run from scratch (the leftovers stay). */
            remove(path_in_tmp(ckpt));
            remove(path_in_tmp(out));
            s.restarts++;
            continue;
        }
        CHECK(killed && code == 128 + SIGKILL, "%s: killed by SIGKILL (exit %d)", out, code);
        s.kills++;
        s.in_write += count_leftovers(ckpt) > before;
        /* Whatever the moment of the kill, the checkpoint on disk is whole. */
        if (access(path_in_tmp(ckpt), F_OK) == 0) {
            syn_net *net = NULL;
            syn_optimizer *opt = NULL;
            syn_trainer_state state;
            syn_error err = {{0}};
            syn_status st = syn_checkpoint_load(path_in_tmp(ckpt), &net, &opt, &state, NULL,
                                                NULL, &err);
            CHECK(st == SYN_OK, "after kill %d the checkpoint loads: %s", s.kills,
                  err.message);
            syn_net_free(net);
            syn_optimizer_free(opt);
        }
    }
    return s;
}

int main(void)
{
    if (!mkdtemp(tmp_dir)) {
        perror("mkdtemp");
        return 1;
    }
    write_data();
    double t0 = now_seconds();
    CHECK(wait_exit(start_train("ref.syn", NULL, 1)) == 0, "the reference run");
    double t1 = now_seconds();
    /* Uninterrupted with checkpoints: the same model, and the time a run
     * with checkpoints takes, to aim the kills. */
    CHECK(wait_exit(start_train("plain.syn", "plain.ckpt", 1)) == 0, "a run with checkpoints");
    double run_time = now_seconds() - t1;
    compare_with_reference("plain.syn", "uninterrupted with checkpoints");
    printf("reference %.2fs, with checkpoints %.2fs\n", t1 - t0, run_time);

    syn_rng rng;
    syn_rng_seed(&rng, (uint64_t)time(NULL));
    const int threads[2] = {1, 2};
    const char *outs[2] = {"k1.syn", "k2.syn"}, *ckpts[2] = {"k1.ckpt", "k2.ckpt"};
    for (int i = 0; i < 2; i++) {
        series_stats s = kill_series(outs[i], ckpts[i], threads[i], run_time, &rng);
        printf("threads %d%s: %d kills (%d during a checkpoint write), %d resumes, "
               "%d restarts from scratch\n", threads[i], threads[i] > 1 ? "/1" : "", s.kills,
               s.in_write, s.resumes, s.restarts);
        CHECK(s.kills >= MIN_KILLS && s.in_write >= 1,
              "enough kills (%d), one inside a write (%d)", s.kills, s.in_write);
        compare_with_reference(outs[i], threads[i] > 1 ? "threads 2/1" : "threads 1");
    }

    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
    if (check_failed_ == 0 && system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmp_dir);
    else if (check_failed_)
        fprintf(stderr, "files kept in %s\n", tmp_dir);
    return check_finish();
}
