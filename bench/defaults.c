/* defaults.c (bench_defaults) - synapse with default options against
 * sklearn's MLP at its defaults, on the tables of bench/tables/ (70/30
 * stratified splits, seed 0, exported by make_tables.py) and Fashion-MNIST.
 * Prints per table: rows, synapse's test score, sklearn's, the difference,
 * epochs and wall time of each; then the average difference over the
 * issue's sets and over all. sklearn runs live in the same invocation
 * (Debian's /usr/bin/python3 with python3-sklearn) when it can; otherwise
 * its committed scores are shown without times.
 *
 *   bench_defaults [--no-sklearn] [--no-fashion] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "defaults_run.h"

/* Fits sklearn on every table again (make_tables.py --score) and fills in
 * its scores, epochs and times; returns 0 when that is not possible. */
static int run_sklearn(defaults_table *t, int n, double *seconds)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s/make_tables.py' --score '%s' 2>/dev/null",
             SYN_TABLES_DIR, SYN_TABLES_DIR);
    FILE *p = popen(cmd, "r");
    if (!p)
        return 0;
    char line[512];
    int seen = 0;
    while (fgets(line, sizeof line, p)) {
        char name[64];
        double score, secs;
        long epochs;
        if (sscanf(line, "%63s %lf %ld %lf", name, &score, &epochs, &secs) != 4)
            continue;
        for (int i = 0; i < n; i++)
            if (!strcmp(t[i].name, name)) {
                t[i].sklearn_score = score;
                t[i].sklearn_epochs = epochs;
                seconds[i] = secs;
                seen++;
            }
    }
    return pclose(p) == 0 && seen == n;
}

int main(int argc, char **argv)
{
    int sklearn = 1, fashion = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--no-sklearn"))
            sklearn = 0;
        else if (!strcmp(argv[i], "--no-fashion"))
            fashion = 0;
        else {
            fprintf(stderr, "usage: bench_defaults [--no-sklearn] [--no-fashion]\n");
            return 2;
        }
    }
    defaults_table t[DEFAULTS_MAX_TABLES];
    double sk_seconds[DEFAULTS_MAX_TABLES];
    int n = defaults_read_tables(SYN_TABLES_DIR "/sklearn_scores.csv", t, DEFAULTS_MAX_TABLES);
    if (n <= 0) {
        fprintf(stderr, "bench_defaults: cannot read %s/sklearn_scores.csv\n", SYN_TABLES_DIR);
        return 1;
    }
    for (int i = 0; i < n; i++)
        sk_seconds[i] = NAN;
    if (sklearn && !run_sklearn(t, n, sk_seconds))
        printf("(sklearn could not run here: its committed scores, no times)\n");
    char dir[] = "/tmp/syn_bench_defaults_XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    printf("%-16s %6s %8s %8s %7s %7s %7s %8s %8s  %s\n", "data set", "rows", "synapse",
           "sklearn", "diff", "epochs", "sk_ep", "time_s", "sk_time", "why it stopped");
    double sum_asserted = 0.0, sum_all = 0.0;
    int n_asserted = 0, failed = 0;
    for (int i = 0; i < n; i++) {
        defaults_result r = defaults_table_run(SYN_CLI_PATH, SYN_TABLES_DIR, dir, &t[i]);
        double diff = r.score - t[i].sklearn_score;
        printf("%-16s %6ld %8.4f %8.4f %+7.4f %7ld %7ld %8.2f %8.2f  %s%s\n", t[i].name,
               t[i].rows, r.score, t[i].sklearn_score, diff, r.epochs, t[i].sklearn_epochs,
               r.seconds, sk_seconds[i], t[i].classify ? "" : "(R^2) ", r.stop);
        failed += !r.ok;
        sum_all += diff;
        if (t[i].asserted) {
            sum_asserted += diff;
            n_asserted++;
        }
    }
    printf("average difference: %+.4f over the issue's %d sets, %+.4f over all %d\n",
           sum_asserted / n_asserted, n_asserted, sum_all / n, n);
    if (fashion && access(FASHION_DIR "/train-images-idx3-ubyte.gz", R_OK) == 0) {
        defaults_result r = defaults_fashion_run(SYN_CLI_PATH, dir);
        printf("fashion-mnist    %6d %8.4f %8s %7s %7ld %7s %8.2f %8s  %s\n", 60000, r.score,
               "-", "-", r.epochs, "-", r.seconds, "-", r.stop);
        failed += !r.ok;
    }
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_defaults: could not remove %s\n", dir);
    return failed ? 1 : 0;
}
