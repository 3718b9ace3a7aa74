/* test_progress.c - `synapse train` on a terminal: the command runs on a
 * pseudo-terminal of 80, 60 and 40 columns (and of unknown width with
 * $COLUMNS set), and every redraw of the progress bar and every line of
 * the epoch summaries must fit one column short of the width: a line that
 * wraps leaves its first half behind at each "\r" redraw (the bar was 93
 * columns before, on an 80-column terminal). */
#define _XOPEN_SOURCE 600
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "check.h"
#include "cli_run.h"

/* Runs "synapse train ..." with stderr on a new pty of `cols` columns
 * (0: the pty reports no width); returns what the terminal received. */
static char *run_on_pty(const char *dir, unsigned short cols, const char *columns_env)
{
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    if (master < 0 || grantpt(master) || unlockpt(master))
        return NULL;
    const char *slave_name = ptsname(master);
    struct winsize ws = {.ws_row = 24, .ws_col = cols};
    pid_t pid = fork();
    if (pid == 0) {
        setsid();
        int slave = open(slave_name, O_RDWR);
        if (slave < 0 || ioctl(slave, TIOCSWINSZ, &ws) != 0 || chdir(dir) != 0)
            _exit(126);
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(null, 1);
        dup2(slave, 2);
        close(master);
        if (columns_env)
            setenv("COLUMNS", columns_env, 1);
        else
            unsetenv("COLUMNS");
        execl(SYN_CLI_PATH, SYN_CLI_PATH, "train", "--data", "d.csv", "--hidden", "4",
              "--epochs", "3", "--batch", "4", "--val-split", "0.25", "--out", "m.syn",
              (char *)NULL);
        _exit(127);
    }
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        ssize_t got = buf ? read(master, buf + len, cap - len - 1) : -1;
        if (got > 0) {
            len += (size_t)got;
            if (cap - len < 2) {
                char *grown = realloc(buf, cap * 2);
                if (!grown)
                    break;
                buf = grown;
                cap *= 2;
            }
            continue;
        }
        if (got < 0 && errno == EINTR)
            continue;
        break; /* EIO: the child closed the terminal */
    }
    int status = 0;
    waitpid(pid, &status, 0);
    close(master);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "train on a pty exited %d",
          WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    if (buf)
        buf[len] = '\0';
    return buf;
}

/* Checks each piece of terminal output between "\r" and "\n" ("\033[K"
 * dropped) that the progress code draws: the bar and the epoch lines. */
static void check_fits(const char *out, size_t cols, const char *what)
{
    size_t bars = 0, widest = 0;
    const char *p = out;
    while (*p) {
        size_t len = strcspn(p, "\r\n");
        const char *piece = p;
        if (len >= 3 && !strncmp(piece, "\033[K", 3)) {
            piece += 3;
            len -= 3;
        }
        int ours = !strncmp(piece, "epoch ", 6) || (len && piece[0] == ' ');
        if (ours) {
            bars += memchr(piece, '/', len) && strstr(piece, "loss") &&
                    (size_t)(strstr(piece, "loss") - piece) < len;
            widest = len > widest ? len : widest;
            CHECK(len < cols, "%s: %zu columns on a %zu-column terminal: '%.*s'", what, len,
                  cols, (int)len, piece);
        }
        p += len + (p[len] != '\0');
    }
    CHECK(bars >= 3, "%s: %zu progress lines seen:\n%s", what, bars, out);
    printf("%s: widest line %zu\n", what, widest);
}

int main(void)
{
    char dir[] = "/tmp/syn_progress_XXXXXX";
    if (!mkdtemp(dir)) {
        fprintf(stderr, "mkdtemp failed\n");
        return 1;
    }
    int probe = posix_openpt(O_RDWR | O_NOCTTY);
    if (probe < 0) {
        printf("skipped: no pseudo-terminals here (posix_openpt: %s)\n", strerror(errno));
        return 77;
    }
    close(probe);
    FILE *fp = fopen(cli_path(dir, "d.csv"), "w");
    CHECK(fp != NULL, "write d.csv");
    if (!fp)
        return check_finish();
    fprintf(fp, "a_rather_long_feature_name,b,label\n");
    for (int i = 0; i < 200; i++)
        fprintf(fp, "%d,%d,%s\n", i % 17, (i * 7) % 11, i % 3 ? "first class" : "second");
    fclose(fp);
    static const unsigned short widths[] = {80, 60, 40};
    for (size_t i = 0; i < sizeof widths / sizeof widths[0]; i++) {
        char what[32];
        snprintf(what, sizeof what, "%u columns", widths[i]);
        char *out = run_on_pty(dir, widths[i], NULL);
        CHECK(out != NULL, "%s: no output", what);
        if (out)
            check_fits(out, widths[i], what);
        if (out && widths[i] == 80)
            CHECK(strstr(out, "] ") != NULL, "80 columns keep the bar: %s", out);
        free(out);
    }
    char *out = run_on_pty(dir, 0, "50");
    CHECK(out != NULL, "COLUMNS=50: no output");
    if (out)
        check_fits(out, 50, "COLUMNS=50 on a pty of unknown width");
    free(out);
    char rm[600];
    snprintf(rm, sizeof rm, "rm -rf '%s'", dir);
    if (system(rm) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return check_finish();
}
