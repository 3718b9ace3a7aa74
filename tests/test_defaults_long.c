/* test_defaults_long.c - the targets of `synapse train`'s defaults: with
 * nothing but --data, --test-data and --target, on each of the issue's
 * tables (bench/tables/, 70/30 stratified splits of sklearn's bundled sets
 * and make_moons/make_circles, exported by make_tables.py), the test score
 * is within 2 points of accuracy (0.05 of R^2) of sklearn's MLP at its
 * defaults (scores committed in sklearn_scores.csv) and at least equal on
 * average; Fashion-MNIST with default options (no --epochs) reaches 0.895
 * test accuracy in at most 60 s of wall time. bench_defaults prints the
 * same runs as a table. Fashion-MNIST is skipped (the rest still runs) when
 * dataset-fashion-mnist is not installed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../bench/defaults_run.h"
#include "check.h"

#define TABLES_DIR SYN_TEST_DIR "/../bench/tables"
#define ACCURACY_MARGIN 0.02
#define R2_MARGIN 0.05
#define FASHION_MIN_ACCURACY 0.895
#define FASHION_MAX_SECONDS 60.0

int main(void)
{
    defaults_table t[DEFAULTS_MAX_TABLES];
    int n = defaults_read_tables(TABLES_DIR "/sklearn_scores.csv", t, DEFAULTS_MAX_TABLES);
    CHECK(n > 0, "cannot read %s/sklearn_scores.csv", TABLES_DIR);
    if (n <= 0)
        return check_finish();
    char dir[] = "/tmp/syn_test_defaults_XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    double sum = 0.0;
    int n_asserted = 0;
    for (int i = 0; i < n; i++) {
        if (!t[i].asserted)
            continue;
        defaults_result r = defaults_table_run(SYN_CLI_PATH, TABLES_DIR, dir, &t[i]);
        double margin = t[i].classify ? ACCURACY_MARGIN : R2_MARGIN;
        printf("%-14s synapse %.4f sklearn %.4f (%ld epochs, %.2f s) %s\n", t[i].name,
               r.score, t[i].sklearn_score, r.epochs, r.seconds, r.stop);
        CHECK(r.ok, "%s: train failed: %s", t[i].name, r.stop);
        /* A tiny slack for the printed rounding of both scores. */
        CHECK(r.score >= t[i].sklearn_score - margin - 1e-9,
              "%s: synapse %.4f is more than %.2f below sklearn's %.4f", t[i].name, r.score,
              margin, t[i].sklearn_score);
        sum += r.score - t[i].sklearn_score;
        n_asserted++;
    }
    CHECK(n_asserted > 0 && sum >= 0.0, "synapse is below sklearn on average: %+.4f over %d",
          n_asserted ? sum / n_asserted : 0.0, n_asserted);
    printf("average difference %+.4f over %d tables\n", n_asserted ? sum / n_asserted : 0.0,
           n_asserted);

    if (access(FASHION_DIR "/train-images-idx3-ubyte.gz", R_OK) != 0) {
        printf("Fashion-MNIST skipped: %s is not installed (package dataset-fashion-mnist)\n",
               FASHION_DIR);
    } else {
        defaults_result r = defaults_fashion_run(SYN_CLI_PATH, dir);
        printf("Fashion-MNIST: test accuracy %.4f, %ld epochs, %.1f s wall; %s\n", r.score,
               r.epochs, r.seconds, r.stop);
        CHECK(r.ok, "Fashion-MNIST: train failed: %s", r.stop);
        CHECK(r.score >= FASHION_MIN_ACCURACY, "Fashion-MNIST accuracy %.4f < %.3f", r.score,
              FASHION_MIN_ACCURACY);
        CHECK(r.seconds <= FASHION_MAX_SECONDS, "Fashion-MNIST took %.1f s > %.0f s", r.seconds,
              FASHION_MAX_SECONDS);
    }
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return check_finish();
}
