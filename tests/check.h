/* check.h - the tiny test harness every test executable uses. CHECK counts
 * a pass or prints the failure with its place; check_finish() prints
 * "N passed, N failed" and gives the exit code. */
#ifndef SYN_CHECK_H
#define SYN_CHECK_H

#include <math.h>
#include <stdio.h>

static int check_passed_, check_failed_;

#define CHECK(cond, ...)                                                                       \
    do {                                                                                       \
        if (cond) {                                                                            \
            check_passed_++;                                                                   \
        } else {                                                                               \
            check_failed_++;                                                                   \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                     \
            fprintf(stderr, __VA_ARGS__);                                                      \
            fputc('\n', stderr);                                                               \
        }                                                                                      \
    } while (0)

/* |got - want| <= atol + rtol * |want| */
#define CHECK_CLOSE(got, want, rtol, atol, ...)                                                \
    CHECK(fabs((double)(got) - (double)(want)) <= (atol) + (rtol)*fabs((double)(want)),        \
          __VA_ARGS__)

#define CHECK_OK(expr) CHECK((expr) == SYN_OK, "%s", "expected SYN_OK")

static inline int check_finish(void)
{
    printf("%d passed, %d failed\n", check_passed_, check_failed_);
    return check_failed_ == 0 && check_passed_ > 0 ? 0 : 1;
}

/* A dense layer's description, designated (syn_layer_desc has more fields
 * than these four, which -Wmissing-field-initializers would name). */
#define DENSE(u, act, slope, no_bias_)                                         \
    {.units = (u), .activation = (act), .leaky_slope = (slope), .no_bias = (no_bias_)}

#endif
