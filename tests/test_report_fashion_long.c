/* test_report_fashion_long.c - the README's report command on
 * Fashion-MNIST: `synapse train --report` with the defaults writes a report
 * under 3 MB, and in headless Chromium it makes no request, logs no error
 * and shows `synapse eval --json`'s numbers (tests/browser/check_report.js).
 * Its first 1400 px at 1280 px wide (build dir, report-shots/
 * fashion-1280-1.png) is docs/report.png. Skipped (77) without the
 * dataset-fashion-mnist package, Chromium or Node.js, saying which. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "cli_run.h"

#define D "/usr/share/datasets/fashion-mnist"

int main(void)
{
    const char *chromium = getenv("SYN_CHROMIUM") ? getenv("SYN_CHROMIUM") : "/usr/bin/chromium";
    if (access(D "/train-images-idx3-ubyte.gz", R_OK) != 0) {
        printf("skipped: %s is not installed (package dataset-fashion-mnist)\n", D);
        return 77;
    }
    char dir[] = "/tmp/syn_test_report_fashion_XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    cli_result r = cli_run_in(dir, "train --data " D "/train-images-idx3-ubyte.gz --labels "
                              D "/train-labels-idx1-ubyte.gz --test-data "
                              D "/t10k-images-idx3-ubyte.gz --test-labels "
                              D "/t10k-labels-idx1-ubyte.gz --out fashion.syn --log "
                              "fashion.csv --report fashion.html --quiet");
    CHECK(r.code == 0, "train --report: %s", r.err);
    cli_result_free(&r);
    r = cli_run_in(dir, "eval --model fashion.syn --data " D "/t10k-images-idx3-ubyte.gz "
                   "--labels " D "/t10k-labels-idx1-ubyte.gz --json");
    CHECK(r.code == 0, "eval: %s", r.err);
    FILE *fp = fopen(cli_path(dir, "fashion.json"), "w");
    if (fp) {
        fputs(r.out, fp);
        fclose(fp);
    }
    cli_result_free(&r);
    struct stat st;
    CHECK(stat(cli_path(dir, "fashion.html"), &st) == 0 && st.st_size < 3 << 20,
          "the report is %lld bytes, under 3 MB", (long long)st.st_size);
    printf("Fashion-MNIST report: %lld bytes\n", (long long)st.st_size);
    int browsed = access(chromium, X_OK) == 0 && system("command -v node >/dev/null") == 0;
    if (browsed) {
        char shots[600], cmd[2400];
        snprintf(shots, sizeof shots, "%s", SYN_CLI_PATH);
        char *slash = strrchr(shots, '/');
        snprintf(slash ? slash + 1 : shots,
                 sizeof shots - (size_t)(slash ? slash + 1 - shots : 0), "report-shots");
        mkdir(shots, 0755);
        snprintf(cmd, sizeof cmd, "SYN_REPORT_TILES=1400 SYN_CHROMIUM_PROFILE='%s' node "
                 "'%s/browser/check_report.js' --chromium '%s' '%s/fashion.html' "
                 "'%s/fashion.json' '%s/fashion'", dir, SYN_TEST_DIR, chromium, dir, dir,
                 shots);
        int status = system(cmd);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "in Chromium (above)");
        printf("screenshots in %s\n", shots);
    } else {
        printf("skipped the browser checks: %s not found\n",
               access(chromium, X_OK) != 0 ? chromium : "node");
    }
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (check_failed_ == 0 && system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    int rc = check_finish();
    return rc == 0 && !browsed ? 77 : rc;
}
