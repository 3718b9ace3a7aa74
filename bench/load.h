/* load.h - the competing load a benchmark starts and stops itself: n
 * processes that spin, each ending itself after a bound even if the
 * benchmark dies without killing it (and with it, on Linux). Included by
 * bench/busy.c and bench/cnn.c; defines _GNU_SOURCE's prctl use, so it
 * comes before the other includes. Benchmarks only: the library keeps no
 * such state. */
#ifndef SYN_BENCH_LOAD_H
#define SYN_BENCH_LOAD_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* prctl */
#endif
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#define MAX_BUSY 8

static pid_t busy_pids[MAX_BUSY];
static volatile sig_atomic_t n_busy;

static void stop_load(void)
{
    for (int i = 0; i < n_busy; i++)
        kill(busy_pids[i], SIGKILL);
    for (int i = 0; i < n_busy; i++)
        waitpid(busy_pids[i], NULL, 0);
    n_busy = 0;
}

static void on_signal(int sig)
{
    /* Async-signal-safe: kill and _exit only. */
    for (int i = 0; i < n_busy; i++)
        kill(busy_pids[i], SIGKILL);
    _exit(128 + sig);
}

/* Starts n processes that spin, each ending itself after `bound` seconds
 * even if this process dies without killing it (and with it, on Linux). */
static int start_load(int n, unsigned bound)
{
    if (n > MAX_BUSY)
        n = MAX_BUSY;
    for (int i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid < 0) {
            fprintf(stderr, "busy load: fork: %s\n", strerror(errno));
            stop_load();
            return 0;
        }
        if (pid == 0) {
#ifdef __linux__
            prctl(PR_SET_PDEATHSIG, SIGKILL);
#endif
            signal(SIGALRM, SIG_DFL);
            alarm(bound);
            volatile unsigned long spin = 0;
            for (;;)
                spin++;
        }
        busy_pids[n_busy++] = pid;
    }
    return 1;
}

/* Load handling on: a signal kills the load before the benchmark ends. */
static void load_signals(void)
{
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGHUP, on_signal);
}

#endif
