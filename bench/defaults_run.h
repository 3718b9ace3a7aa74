/* defaults_run.h - what bench_defaults and tests/test_defaults_long share:
 * the reference table of sklearn's scores (bench/tables/sklearn_scores.csv,
 * written by bench/tables/make_tables.py) and one `synapse train` run with
 * default options on a table or on Fashion-MNIST, timed, its test score
 * and epoch count read from its output. POSIX only (system, mkdtemp). */
#ifndef SYN_DEFAULTS_RUN_H
#define SYN_DEFAULTS_RUN_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#define DEFAULTS_MAX_TABLES 32
#define FASHION_DIR "/usr/share/datasets/fashion-mnist"

typedef struct defaults_table {
    char name[64];
    int classify;
    long rows, features;
    double sklearn_score;
    long sklearn_epochs;
    int asserted;      /* one of the sets, not a check of the rules */
} defaults_table;

typedef struct defaults_result {
    int ok;            /* the run exited 0 and printed a test score */
    double score;      /* accuracy, or R^2 */
    long epochs;
    double seconds;    /* wall time of the whole command */
    char stop[256];    /* the line saying why it stopped */
} defaults_result;

static inline double defaults_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Reads sklearn_scores.csv; returns the number of tables, -1 on error. */
static inline int defaults_read_tables(const char *path, defaults_table *t, int max)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        return -1;
    char line[512];
    int n = 0;
    if (!fgets(line, sizeof line, fp)) {
        fclose(fp);
        return -1;
    }
    while (n < max && fgets(line, sizeof line, fp)) {
        char task[16];
        defaults_table *d = &t[n];
        if (sscanf(line, "%63[^,],%15[^,],%ld,%ld,%lf,%ld,%d", d->name, task, &d->rows,
                   &d->features, &d->sklearn_score, &d->sklearn_epochs, &d->asserted) != 7)
            continue;
        d->classify = strcmp(task, "classify") == 0;
        n++;
    }
    fclose(fp);
    return n;
}

/* The text of a small file (at most size - 1 bytes), "" if unreadable. */
static inline void defaults_slurp(const char *path, char *buf, size_t size)
{
    FILE *fp = fopen(path, "r");
    size_t n = fp ? fread(buf, 1, size - 1, fp) : 0;
    buf[n] = '\0';
    if (fp)
        fclose(fp);
}

/* Runs `cli train ARGS --out m.syn` in dir with defaults otherwise and
 * reads the test score, the epochs and the stop line. */
static inline defaults_result defaults_train(const char *cli, const char *dir, const char *args,
                                             int classify)
{
    defaults_result r;
    memset(&r, 0, sizeof r);
    char cmd[8192], path[4096];
    int k = snprintf(cmd, sizeof cmd, "cd '%s' && '%s' train %s --out m.syn > out.txt "
                     "2> err.txt", dir, cli, args);
    if (k < 0 || (size_t)k >= sizeof cmd) {
        snprintf(r.stop, sizeof r.stop, "the command is too long");
        return r;
    }
    double start = defaults_now();
    int status = system(cmd);
    r.seconds = defaults_now() - start;
    static char out[1 << 16], err[1 << 20];
    snprintf(path, sizeof path, "%s/out.txt", dir);
    defaults_slurp(path, out, sizeof out);
    snprintf(path, sizeof path, "%s/err.txt", dir);
    defaults_slurp(path, err, sizeof err);
    const char *key = classify ? "accuracy " : "r2 ";
    const char *test = strstr(out, "test: ");
    const char *at = test ? strstr(test, key) : NULL;
    const char *saved = strstr(out, "parameters, ");
    r.ok = WIFEXITED(status) && WEXITSTATUS(status) == 0 && at && saved;
    if (at)
        r.score = strtod(at + strlen(key), NULL);
    if (saved)
        r.epochs = strtol(saved + strlen("parameters, "), NULL, 10);
    const char *stop = strstr(err, "stopped at epoch");
    if (stop)
        snprintf(r.stop, sizeof r.stop, "%.*s", (int)strcspn(stop, "\n"), stop);
    else if (!r.ok)
        snprintf(r.stop, sizeof r.stop, "%.*s", (int)strcspn(err, "\n"), err);
    return r;
}

/* One table with default options: --data, --test-data, --target only. */
static inline defaults_result defaults_table_run(const char *cli, const char *tables_dir,
                                                 const char *dir, const defaults_table *t)
{
    char args[4096];
    int k = snprintf(args, sizeof args, "--data '%s/%s_train.csv' --test-data "
                     "'%s/%s_test.csv' --target target", tables_dir, t->name, tables_dir,
                     t->name);
    if (k < 0 || (size_t)k >= sizeof args) {
        defaults_result r;
        memset(&r, 0, sizeof r);
        snprintf(r.stop, sizeof r.stop, "the table's path is too long");
        return r;
    }
    return defaults_train(cli, dir, args, t->classify);
}

/* Fashion-MNIST with default options (no --epochs). */
static inline defaults_result defaults_fashion_run(const char *cli, const char *dir)
{
    return defaults_train(cli, dir,
                          "--data " FASHION_DIR "/train-images-idx3-ubyte.gz "
                          "--labels " FASHION_DIR "/train-labels-idx1-ubyte.gz "
                          "--test-data " FASHION_DIR "/t10k-images-idx3-ubyte.gz "
                          "--test-labels " FASHION_DIR "/t10k-labels-idx1-ubyte.gz",
                          1);
}

#endif
