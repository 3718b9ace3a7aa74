/* test_demo_xor.c - `synapse demo xor --notebook-weights` against the seed
 * notebook's own code run in float64 numpy (tests/fixtures/xor_reference.py
 * wrote xor_reference.txt): the six printed errors, the final error and the
 * hidden activations for [0, 1, 1] must agree to 1e-3 relative, and Adam must
 * reach the same error in fewer iterations. */
#include <stdlib.h>
#include <string.h>

#include "check.h"

#define MAX_ERRORS 16

typedef struct trace {
    double errors[MAX_ERRORS];
    int n_errors;
    double final_error;
    double hidden[4];
    long adam_iterations;
} trace;

static void read_reference(trace *t)
{
    FILE *f = fopen(SYN_TEST_DIR "/fixtures/xor_reference.txt", "r");
    char line[512];
    CHECK(f != NULL, "cannot open the numpy reference");
    while (f && fgets(line, sizeof line, f)) {
        if (!strncmp(line, "Error:", 6) && t->n_errors < MAX_ERRORS)
            t->errors[t->n_errors++] = strtod(line + 6, NULL);
        else if (!strncmp(line, "Final:", 6))
            t->final_error = strtod(line + 6, NULL);
        else if (!strncmp(line, "Hidden011:", 10))
            sscanf(line + 10, "%lf %lf %lf %lf", &t->hidden[0], &t->hidden[1], &t->hidden[2],
                   &t->hidden[3]);
    }
    if (f)
        fclose(f);
}

static int run_demo(trace *t)
{
    FILE *p = popen(SYN_CLI_PATH " demo xor --notebook-weights", "r");
    char line[512];
    CHECK(p != NULL, "cannot run the CLI");
    if (!p)
        return -1;
    while (fgets(line, sizeof line, p)) {
        const char *hid = strstr(line, "synaptic_weight_0)) = [");
        const char *adam = strstr(line, "at iteration ");
        if (!strncmp(line, "Error:", 6) && t->n_errors < MAX_ERRORS)
            t->errors[t->n_errors++] = strtod(line + 6, NULL);
        else if (!strncmp(line, "after ", 6) && strstr(line, "Error:"))
            t->final_error = strtod(strstr(line, "Error:") + 6, NULL);
        else if (hid)
            sscanf(hid + 23, "%lf %lf %lf %lf", &t->hidden[0], &t->hidden[1], &t->hidden[2],
                   &t->hidden[3]);
        if (adam)
            t->adam_iterations = strtol(adam + 13, NULL, 10);
    }
    return pclose(p);
}

int main(void)
{
    trace want = {0}, got = {0};
    read_reference(&want);
    int status = run_demo(&got);
    CHECK(status == 0, "demo exit status %d", status);
    CHECK(want.n_errors == 6, "reference has %d errors", want.n_errors);
    CHECK(got.n_errors == want.n_errors, "demo printed %d errors, want %d", got.n_errors,
          want.n_errors);
    for (int i = 0; i < want.n_errors && i < got.n_errors; i++)
        CHECK_CLOSE(got.errors[i], want.errors[i], 1e-3, 0, "Error at %d: %.9g vs numpy %.9g",
                    i * 10000, got.errors[i], want.errors[i]);
    CHECK_CLOSE(got.final_error, want.final_error, 1e-3, 0, "final error %.9g vs %.9g",
                got.final_error, want.final_error);
    for (int h = 0; h < 4; h++)
        CHECK_CLOSE(got.hidden[h], want.hidden[h], 1e-3, 0, "hidden %d: %.9g vs %.9g", h,
                    got.hidden[h], want.hidden[h]);
    CHECK(got.adam_iterations > 0 && got.adam_iterations < 60000,
          "Adam reached the error after %ld iterations", got.adam_iterations);
    return check_finish();
}
