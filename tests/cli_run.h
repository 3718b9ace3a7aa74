/* cli_run.h - what the tests of the command line share: reading a whole
 * file, and running the built synapse command (SYN_CLI_PATH) through the
 * shell inside a scratch directory, capturing its exit code, stdout and
 * stderr. */
#ifndef SYN_CLI_RUN_H
#define SYN_CLI_RUN_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

typedef struct cli_result {
    int code;
    char *out, *err;
} cli_result;

/* dir/name in one of 8 rotating buffers: a call's result stays valid for
 * the next 7 calls, enough for one command line's paths. */
static inline const char *cli_path(const char *dir, const char *name)
{
    static char buf[8][512];
    static int next;
    char *p = buf[next++ % 8];
    snprintf(p, sizeof buf[0], "%s/%s", dir, name);
    return p;
}

/* The whole file, NUL-terminated (NULL if it cannot be read); *size (may
 * be NULL) receives its length. */
static inline char *cli_read_file(const char *path, size_t *size)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    size_t cap = 4096, len = 0, got;
    char *buf = malloc(cap);
    while (buf && (got = fread(buf + len, 1, cap - len - 1, fp)) > 0) {
        len += got;
        if (cap - len < 2) {
            char *grown = realloc(buf, cap * 2);
            if (!grown) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = grown;
            cap *= 2;
        }
    }
    fclose(fp);
    if (buf) {
        buf[len] = '\0';
        if (size)
            *size = len;
    }
    return buf;
}

static inline void cli_result_free(cli_result *r)
{
    free(r->out);
    free(r->err);
}

/* Runs "synapse ARGS" in dir with stdin from `input` (a path relative to
 * dir, or NULL for /dev/null). */
static inline cli_result cli_run_input(const char *dir, const char *input, const char *args)
{
    char cmd[8192], out_path[512], err_path[512];
    snprintf(out_path, sizeof out_path, "%s/stdout.txt", dir);
    snprintf(err_path, sizeof err_path, "%s/stderr.txt", dir);
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' %s < %s > '%s' 2> '%s'", dir, SYN_CLI_PATH,
             args, input ? input : "/dev/null", out_path, err_path);
    int status = system(cmd);
    cli_result r = {WIFEXITED(status) ? WEXITSTATUS(status) : -1,
                    cli_read_file(out_path, NULL), cli_read_file(err_path, NULL)};
    if (!r.out)
        r.out = calloc(1, 1);
    if (!r.err)
        r.err = calloc(1, 1);
    return r;
}

static inline cli_result cli_run_in(const char *dir, const char *args)
{
    return cli_run_input(dir, NULL, args);
}

#endif
