/* signals.c - what Ctrl-C and SIGTERM do to the synapse command. While
 * `train` runs its epochs (cli_signals_graceful(1)), the first signal only
 * asks it to stop at the next batch boundary: the loop then saves the last
 * good model (and a checkpoint with --checkpoint), says what it saved and
 * how to resume, and exits 128 + the signal (130, 143). Any other time, and
 * on a second signal, the command exits at once, after removing the
 * temporary files it registered (cli_temp_create, cli_out_open). Saves run
 * with the signals blocked (cli_signals_block), so a signal never cuts one
 * in half: the rename lands or nothing does. The handler touches only the
 * fixed table below and calls only async-signal-safe unlink and _exit.
 * This is the command's state; the library keeps none and installs no
 * handler. */
#include <pthread.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#define MAX_TEMPS 16
#define MAX_PATH 4096

static char temp_paths[MAX_TEMPS][MAX_PATH];
static volatile sig_atomic_t temp_used[MAX_TEMPS];
static volatile sig_atomic_t graceful, stop_signal;

static volatile sig_atomic_t in_save, pending;

/* MPI jobs (cli_signals_rank_mode): the line a signal prints. */
static volatile sig_atomic_t rank_mode, note_index = -1;
static char notes[2][512];

static void exit_now(int sig)
{
    int n = note_index;
    if (rank_mode && n >= 0) {
        ssize_t w = write(STDERR_FILENO, notes[n], strlen(notes[n]));
        (void)w;
    }
    for (int i = 0; i < MAX_TEMPS; i++)
        if (temp_used[i])
            unlink(temp_paths[i]);
    _exit(128 + sig);
}

static void on_signal(int sig)
{
    if (graceful && !stop_signal && !rank_mode) {
        stop_signal = sig;
        return;
    }
    /* pthread_sigmask blocks them in the saving thread only; another
     * thread (the library's pool) may still take one: it waits for the
     * save to end. */
    if (in_save) {
        pending = sig;
        return;
    }
    exit_now(sig);
}

void cli_signals_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    /* Under `ulimit -f` a write past the limit raises SIGXFSZ, whose default
     * kills the process with the temporary file left and nothing said;
     * ignored, the write fails with EFBIG and the usual path reports it,
     * removes the temporary file and keeps the previous output. */
    signal(SIGXFSZ, SIG_IGN);
}

void cli_signals_rank_mode(void)
{
    rank_mode = 1;
}

void cli_signals_set_note(const char *line)
{
    int next = note_index == 0 ? 1 : 0;
    snprintf(notes[next], sizeof notes[next], "%s\n", line);
    note_index = next;
}

void cli_signals_graceful(int on)
{
    graceful = on;
}

int cli_stop_requested(void)
{
    return stop_signal;
}

void cli_signals_block(int block)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    if (block) {
        pthread_sigmask(SIG_BLOCK, &set, NULL);
        in_save = 1;
        return;
    }
    in_save = 0;
    if (pending)
        exit_now(pending);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

static void temp_register(const char *path)
{
    if (strlen(path) >= MAX_PATH)
        return;
    for (int i = 0; i < MAX_TEMPS; i++)
        if (!temp_used[i]) {
            memcpy(temp_paths[i], path, strlen(path) + 1);
            temp_used[i] = 1;
            return;
        }
}

void cli_temp_forget(const char *path)
{
    for (int i = 0; path && i < MAX_TEMPS; i++)
        if (temp_used[i] && !strcmp(temp_paths[i], path))
            temp_used[i] = 0;
}

int cli_temp_create(char *templ)
{
    /* Blocked, so that a signal cannot land between the file's creation and
     * its registration. */
    cli_signals_block(1);
    int fd = mkstemp(templ);
    if (fd >= 0)
        temp_register(templ);
    cli_signals_block(0);
    return fd;
}

void cli_temp_remove(char *path)
{
    if (!path)
        return;
    cli_signals_block(1);
    remove(path);
    cli_temp_forget(path);
    cli_signals_block(0);
    free(path);
}
