/* header_cc.h - builds and runs the programs the C-header tests write
 * (test_c_export.c, test_c_export_conv.c): each includes a generated header
 * and is compiled with -std=c99 -Wall -Wextra -Werror -pedantic -O2 by cc,
 * and by gcc and clang too when they are installed. */
#ifndef SYN_TEST_HEADER_CC_H
#define SYN_TEST_HEADER_CC_H

#include <stdio.h>
#include <stdlib.h>

static const char *const header_compilers[] = {"cc", "gcc", "clang"};
#define N_HEADER_COMPILERS (sizeof header_compilers / sizeof header_compilers[0])

/* Whether compiler c is to be tried: cc always, the others when present. */
static inline int header_compiler_present(size_t c)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", header_compilers[c]);
    return c == 0 || system(cmd) == 0;
}

/* Compiles prog into exe with compiler c (returns 0 when that failed),
 * then runs `exe input > out`, its status in *run_rc. */
static inline int header_compile_run(size_t c, const char *prog, const char *exe,
                                     const char *input, const char *out, int *run_rc)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s -std=c99 -Wall -Wextra -Werror -pedantic -O2 -o %s %s -lm",
             header_compilers[c], exe, prog);
    fflush(stdout);
    if (system(cmd) != 0)
        return 0;
    snprintf(cmd, sizeof cmd, "%s %s > %s", exe, input, out);
    *run_rc = system(cmd);
    return 1;
}

#endif
