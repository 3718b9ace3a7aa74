/* files.c - output files of the synapse command. Outputs are written to a
 * temporary file beside their final name and renamed over it only when
 * complete, and no output may name an input, so nothing the user had is
 * lost to a failed or mistaken run. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

int cli_same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    if (!a || !b || !strcmp(a, "-") || !strcmp(b, "-"))
        return 0;
    if (stat(a, &sa) != 0 || stat(b, &sb) != 0)
        return 0;
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* The directory that holds path: "." for a bare name, "/" for a file in /. */
static void parent_dir(const char *path, char *dir, size_t size)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, size, ".");
    else
        snprintf(dir, size, "%.*s", slash == path ? 1 : (int)(slash - path), path);
}

int cli_check_writable(const char *cmd, const char *path)
{
    struct stat st;
    if (!path || !strcmp(path, "-"))
        return SYN_EXIT_OK;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return cli_runtime_error(cmd, "%s: is a directory", path);
    if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode))
        return cli_runtime_error(cmd, "%s: not a regular file; refusing to replace it", path);
    char dir[4096];
    parent_dir(path, dir, sizeof dir);
    if (access(dir, W_OK) != 0)
        return cli_runtime_error(cmd, "%s: cannot write in %s: %s", path, dir, strerror(errno));
    return SYN_EXIT_OK;
}

static char *dup_string(const char *s)
{
    size_t n = strlen(s) + 1;
    char *copy = malloc(n);
    if (copy)
        memcpy(copy, s, n);
    return copy;
}

int cli_out_open(const char *cmd, const char *path, cli_out_file *f)
{
    memset(f, 0, sizeof *f);
    if (!path || !strcmp(path, "-")) {
        f->fp = stdout;
        return SYN_EXIT_OK;
    }
    /* The rename below would replace a device or a symbolic link (as root,
     * --out /dev/full once turned the device into a regular file). */
    struct stat st;
    if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode))
        return cli_runtime_error(cmd, "%s: %s; refusing to replace it", path,
                                 S_ISDIR(st.st_mode) ? "is a directory" : "not a regular file");
    size_t n = strlen(path) + sizeof ".tmp.XXXXXX";
    f->final_path = dup_string(path);
    f->temp_path = malloc(n);
    if (!f->final_path || !f->temp_path) {
        cli_out_abort(f);
        return cli_runtime_error(cmd, "%s: out of memory", path);
    }
    snprintf(f->temp_path, n, "%s.tmp.XXXXXX", path);
    int fd = cli_temp_create(f->temp_path);
    if (fd < 0) {
        int e = errno;
        free(f->temp_path); /* nothing was created: nothing to remove */
        f->temp_path = NULL;
        cli_out_abort(f);
        return cli_runtime_error(cmd, "%s: cannot create: %s", path, strerror(e));
    }
    /* mkstemp makes the file 0600: an output replacing a file keeps that
     * file's permissions, a new one gets the usual mode. */
    if (lstat(path, &st) == 0) {
        fchmod(fd, st.st_mode & 0777);
    } else {
        mode_t mask = umask(0);
        umask(mask);
        fchmod(fd, 0666 & ~mask);
    }
    f->fp = fdopen(fd, "w");
    if (!f->fp) {
        close(fd);
        cli_out_abort(f);
        return cli_runtime_error(cmd, "%s: cannot open: %s", path, strerror(errno));
    }
    return SYN_EXIT_OK;
}

/* fsyncs the directory holding path, so that the rename survives a crash
 * (best effort: some file systems refuse to fsync a directory). */
static void sync_directory(const char *path)
{
    char dir[4096];
    parent_dir(path, dir, sizeof dir);
    int fd = open(dir, O_RDONLY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

int cli_out_commit(const char *cmd, cli_out_file *f)
{
    if (!f->final_path) {
        int bad = fflush(stdout) != 0 || ferror(stdout);
        return bad ? cli_runtime_error(cmd, "cannot write to stdout") : SYN_EXIT_OK;
    }
    int bad = fflush(f->fp) != 0 || ferror(f->fp);
    int e = errno;
    /* An earlier failure (a full disk during the run) keeps its own reason. */
    if (f->write_errno) {
        bad = 1;
        e = f->write_errno;
    }
    /* Durable before the rename, as the library's saves are. */
    if (!bad && fsync(fileno(f->fp)) != 0) {
        bad = 1;
        e = errno;
    }
    if (fclose(f->fp) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    f->fp = NULL;
    cli_signals_block(1);
    if (!bad && rename(f->temp_path, f->final_path) != 0) {
        bad = 1;
        e = errno;
    }
    if (!bad)
        cli_temp_forget(f->temp_path);
    cli_signals_block(0);
    if (!bad)
        sync_directory(f->final_path);
    if (bad) {
        int rc = cli_runtime_error(cmd, "%s: cannot write: %s", f->final_path, strerror(e));
        cli_out_abort(f);
        return rc;
    }
    free(f->final_path);
    free(f->temp_path);
    f->final_path = f->temp_path = NULL;
    return SYN_EXIT_OK;
}

void cli_out_abort(cli_out_file *f)
{
    if (f->fp && f->fp != stdout)
        fclose(f->fp);
    if (f->temp_path && f->final_path) {
        remove(f->temp_path);
        cli_temp_forget(f->temp_path);
    }
    free(f->final_path);
    free(f->temp_path);
    memset(f, 0, sizeof *f);
}

void cli_csv_field(FILE *fp, const char *text)
{
    if (!strpbrk(text, ",\"\r\n")) {
        fputs(text, fp);
        return;
    }
    fputc('"', fp);
    for (const char *p = text; *p; p++) {
        if (*p == '"')
            fputc('"', fp);
        fputc(*p, fp);
    }
    fputc('"', fp);
}

void cli_human_count(char *buf, size_t size, double value)
{
    if (value >= 1e6)
        snprintf(buf, size, "%.1fM", value / 1e6);
    else if (value >= 1e3)
        snprintf(buf, size, "%.1fk", value / 1e3);
    else
        snprintf(buf, size, "%.0f", value);
}

int cli_to_stdout_via_temp(const char *cmd, int (*write)(const char *path, void *user),
                           void *user)
{
    const char *dir = getenv("TMPDIR");
    if (!dir || !*dir)
        dir = "/tmp";
    size_t n = strlen(dir) + sizeof "/synapse-output-XXXXXX";
    char *path = malloc(n);
    if (!path)
        return cli_runtime_error(cmd, "out of memory");
    snprintf(path, n, "%s/synapse-output-XXXXXX", dir);
    int fd = cli_temp_create(path);
    if (fd < 0) {
        int e = errno;
        free(path);
        return cli_runtime_error(cmd, "cannot create a temporary file in %s: %s", dir,
                                 strerror(e));
    }
    close(fd);
    int rc = write(path, user);
    FILE *in = rc == SYN_EXIT_OK ? fopen(path, "rb") : NULL;
    if (rc == SYN_EXIT_OK && !in)
        rc = cli_runtime_error(cmd, "%s: cannot read back: %s", path, strerror(errno));
    char buf[1 << 16];
    size_t got;
    while (in && (got = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, got, stdout) != got)
            break;
    if (in)
        fclose(in);
    if (rc == SYN_EXIT_OK && (fflush(stdout) != 0 || ferror(stdout)))
        rc = cli_runtime_error(cmd, "cannot write to stdout");
    cli_temp_remove(path);
    return rc;
}

const char *cli_printable(const char *s, char *buf, size_t size)
{
    size_t used = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && used + 5 < size; p++) {
        if (*p < 0x20 || *p == 0x7f)
            used += (size_t)snprintf(buf + used, size - used, "\\x%02x", *p);
        else
            buf[used++] = (char)*p;
    }
    buf[used] = '\0';
    return buf;
}
