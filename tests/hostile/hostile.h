/* hostile.h - what the tests of tests/hostile/ share: running the built
 * synapse (SYN_CLI_PATH) as a child with a hard time limit (it is killed,
 * with its process group, when the limit passes, so a hang fails the test
 * instead of stalling CI), optional resource limits and a signal sent
 * while it runs; and the counts every hostile test prints:
 * "N inputs, 0 crashes, 0 hangs, 0 files lost". A crash is a child killed
 * by a signal it was not sent (SIGSEGV, SIGABRT from a sanitizer, ...) or
 * an exit status other than the documented 0, 1, 2, 130 and 143. */
#ifndef SYN_HOSTILE_H
#define SYN_HOSTILE_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "cli_run.h"

typedef struct h_opts {
    const char *dir;         /* working directory of the child */
    const char *stdin_path;  /* NULL: /dev/null (ignored when stdin_fd >= 0) */
    int stdin_fd;            /* >= 0: this descriptor is the child's stdin */
    double timeout;          /* seconds; 0: 60 */
    rlim_t fsize, as;        /* RLIMIT_FSIZE / RLIMIT_AS in bytes; 0: unchanged */
    int signal, signal2;     /* sent after the marker appears (signal2 shortly after) */
    const char *marker;      /* a file in dir whose appearance triggers `signal`; NULL:
                                after signal_delay seconds */
    double signal_delay;
} h_opts;

typedef struct h_result {
    int exited, code;   /* exit status when exited */
    int signaled, sig;  /* the signal that ended it */
    int timed_out;      /* killed by the time limit */
    char *out, *err;    /* its stdout and stderr */
} h_result;

typedef struct h_counts {
    size_t inputs, crashes, hangs, lost;
} h_counts;

static inline double h_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static inline void h_sleep(double seconds)
{
    struct timespec ts = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
    nanosleep(&ts, NULL);
}

/* Runs synapse with argv (argv[0] is ignored, NULL-terminated). */
static inline h_result h_run(const h_opts *opt, char *const argv[])
{
    h_result r;
    memset(&r, 0, sizeof r);
    char out_path[512], err_path[512];
    snprintf(out_path, sizeof out_path, "%s/h_stdout.txt", opt->dir);
    snprintf(err_path, sizeof err_path, "%s/h_stderr.txt", opt->dir);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0);
        int in = opt->stdin_fd >= 0 ? opt->stdin_fd
                                    : open(opt->stdin_path ? opt->stdin_path : "/dev/null",
                                           O_RDONLY);
        int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (in < 0 || out < 0 || err < 0 || chdir(opt->dir) != 0)
            _exit(126);
        dup2(in, 0);
        dup2(out, 1);
        dup2(err, 2);
        struct rlimit rl;
        if (opt->fsize) {
            rl.rlim_cur = rl.rlim_max = opt->fsize;
            setrlimit(RLIMIT_FSIZE, &rl);
        }
        if (opt->as) {
            rl.rlim_cur = rl.rlim_max = opt->as;
            setrlimit(RLIMIT_AS, &rl);
        }
        char *args[64];
        int n = 0;
        args[n++] = (char *)SYN_CLI_PATH;
        for (int i = 1; argv[i] && n < 63; i++)
            args[n++] = argv[i];
        args[n] = NULL;
        execv(SYN_CLI_PATH, args);
        _exit(127);
    }
    if (pid < 0) {
        r.exited = 1;
        r.code = -1;
        return r;
    }
    setpgid(pid, pid);
    double start = h_now(), limit = opt->timeout > 0 ? opt->timeout : 60.0;
    double signalled_at = -1;
    int status = 0, sent = 0, sent2 = 0;
    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid)
            break;
        double t = h_now() - start;
        if (opt->signal && !sent) {
            char m[512];
            struct stat st;
            snprintf(m, sizeof m, "%s/%s", opt->dir, opt->marker ? opt->marker : "");
            if (opt->marker ? stat(m, &st) == 0 : t >= opt->signal_delay) {
                kill(pid, opt->signal);
                sent = 1;
                signalled_at = t;
            }
        } else if (sent && opt->signal2 && !sent2 && t - signalled_at > 0.001) {
            kill(pid, opt->signal2);
            sent2 = 1;
        }
        if (t > limit) {
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            r.timed_out = 1;
            break;
        }
        h_sleep(sent ? 0.0002 : 0.0005);
    }
    if (!r.timed_out && WIFEXITED(status)) {
        r.exited = 1;
        r.code = WEXITSTATUS(status);
    } else if (!r.timed_out && WIFSIGNALED(status)) {
        r.signaled = 1;
        r.sig = WTERMSIG(status);
    }
    r.out = cli_read_file(out_path, NULL);
    r.err = cli_read_file(err_path, NULL);
    if (!r.out)
        r.out = calloc(1, 1);
    if (!r.err)
        r.err = calloc(1, 1);
    return r;
}

static inline void h_free(h_result *r)
{
    free(r->out);
    free(r->err);
}

/* Counts one run; returns nonzero when it crashed or hung (and says so). */
static inline int h_count(h_counts *c, const h_result *r, const char *what)
{
    c->inputs++;
    if (r->timed_out) {
        c->hangs++;
        printf("HANG: %s\n", what);
        return 1;
    }
    int documented = r->exited && (r->code == 0 || r->code == 1 || r->code == 2 ||
                                   r->code == 130 || r->code == 143);
    if (!documented) {
        c->crashes++;
        printf("CRASH: %s: %s %d; stderr: %.300s\n", what, r->exited ? "exit" : "signal",
               r->exited ? r->code : r->sig, r->err);
        return 1;
    }
    return 0;
}

/* One argv from a string split at spaces (in a static buffer: valid until
 * the next call). */
static inline char **h_argv(const char *line)
{
    static char buf[4096];
    static char *argv[64];
    snprintf(buf, sizeof buf, "synapse %s", line);
    int n = 0;
    for (char *p = strtok(buf, " "); p && n < 63; p = strtok(NULL, " "))
        argv[n++] = p;
    argv[n] = NULL;
    return argv;
}

static inline void h_print_counts(const h_counts *c)
{
    printf("%zu inputs, %zu crashes, %zu hangs, %zu files lost\n", c->inputs, c->crashes,
           c->hangs, c->lost);
}

/* The end of every hostile test: the counts (which must be clean), the
 * scratch directory removed, "N passed, N failed" and the exit code. */
static inline int h_finish(const h_counts *c, const char *dir)
{
    h_print_counts(c);
    CHECK(c->crashes == 0 && c->hangs == 0 && c->lost == 0, "%zu crashes, %zu hangs, "
          "%zu files lost", c->crashes, c->hangs, c->lost);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return check_finish();
}

/* Whether this test runs under valgrind (which makes every child ~50x
 * slower: the tests then do less of the same). */
static inline int h_under_valgrind(void)
{
    const char *pre = getenv("LD_PRELOAD");
    return pre && strstr(pre, "vgpreload") != NULL;
}

/* Under valgrind or AddressSanitizer, address-space limits (ulimit -v)
 * cannot be tested: both reserve far more address space than they use. */
static inline int h_address_limits_testable(void)
{
#if defined(__SANITIZE_ADDRESS__)
    return 0;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
    return 0;
#endif
#endif
    return !h_under_valgrind();
}

/* Copies a file; returns 0 on failure. */
static inline int h_copy(const char *from, const char *to)
{
    size_t n = 0;
    char *data = cli_read_file(from, &n);
    FILE *fp = data ? fopen(to, "wb") : NULL;
    int ok = fp && fwrite(data, 1, n, fp) == n;
    if (fp)
        ok = fclose(fp) == 0 && ok;
    free(data);
    return ok;
}

static inline int h_same_file(const char *a, const char *b)
{
    size_t na = 0, nb = 0;
    char *x = cli_read_file(a, &na), *y = cli_read_file(b, &nb);
    int same = x && y && na == nb && memcmp(x, y, na) == 0;
    free(x);
    free(y);
    return same;
}

/* Whether a file matching dir/prefix* exists (a leftover temporary). */
static inline int h_leftover(const char *dir, const char *prefix)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "ls -a '%s' | grep -q '^%s'", dir, prefix);
    return system(cmd) == 0;
}

#endif
