/* test_fuzz_regressions.c - replays every committed fuzz input through the
 * fuzz targets' own entry points, without libFuzzer: the seed corpora in
 * tests/fuzz/corpus/<target>/ and the inputs that once crashed, in
 * tests/fuzz/regressions/<target>/. fuzz.cmake links each tests/fuzz/fuzz_*.c
 * in with LLVMFuzzerTestOneInput renamed syn_fuzz_entry_<target> and lists
 * the targets in fuzz_targets.inc. A target reports a broken rule with
 * abort() and a memory error crashes (or, in the sanitizer and valgrind runs
 * of CI, is reported), so reaching the end is the test. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

#ifdef SYN_FUZZ_TARGETS_INC

typedef int (*fuzz_entry)(const uint8_t *data, size_t size);

#define SYN_FUZZ_TARGET(name) int syn_fuzz_entry_##name(const uint8_t *data, size_t size);
#include "fuzz_targets.inc"
#undef SYN_FUZZ_TARGET

static const struct {
    const char *name;
    fuzz_entry entry;
} targets[] = {
#define SYN_FUZZ_TARGET(name) {#name, syn_fuzz_entry_##name},
#include "fuzz_targets.inc"
#undef SYN_FUZZ_TARGET
};

/* Reads a whole file; an empty file gives a 1-byte buffer and *size 0, so
 * the entry point always sees a valid pointer, as under libFuzzer. */
static uint8_t *read_all(const char *path, size_t *size)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    size_t cap = 4096, len = 0;
    uint8_t *buf = malloc(cap);
    while (buf) {
        len += fread(buf + len, 1, cap - len, fp);
        if (len < cap)
            break;
        uint8_t *bigger = realloc(buf, cap * 2);
        if (!bigger) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = bigger;
        cap *= 2;
    }
    int failed = ferror(fp);
    fclose(fp);
    if (failed) {
        free(buf);
        return NULL;
    }
    *size = len;
    return buf;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs every file of dir (a missing directory has none) through entry, in
 * name order; returns how many ran. */
static size_t replay_dir(const char *dir, fuzz_entry entry)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    char **names = NULL;
    size_t n = 0, cap = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            char **bigger = realloc(names, cap * sizeof *names);
            if (!bigger)
                break;
            names = bigger;
        }
        names[n] = malloc(strlen(e->d_name) + 1);
        if (!names[n])
            break;
        strcpy(names[n++], e->d_name);
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof *names, by_name);
    for (size_t i = 0; i < n; i++) {
        char *path = malloc(strlen(dir) + strlen(names[i]) + 2);
        size_t size = 0;
        uint8_t *data = NULL;
        if (path) {
            sprintf(path, "%s/%s", dir, names[i]);
            data = read_all(path, &size);
        }
        CHECK(data != NULL && entry(data, size) == 0, "%s/%s: unreadable, or the target "
              "returned nonzero", dir, names[i]);
        free(data);
        free(path);
        free(names[i]);
    }
    free(names);
    return n;
}

int main(void)
{
    size_t total = 0;
    for (size_t t = 0; t < sizeof targets / sizeof targets[0]; t++) {
        static const char *const kinds[] = {"corpus", "regressions"};
        for (int k = 0; k < 2; k++) {
            char dir[1024];
            int len = snprintf(dir, sizeof dir, "%s/fuzz/%s/%s", SYN_TEST_DIR, kinds[k],
                               targets[t].name);
            CHECK(len > 0 && (size_t)len < sizeof dir, "path too long: %s", dir);
            size_t n = replay_dir(dir, targets[t].entry);
            printf("fuzz_%s: %zu %s inputs\n", targets[t].name, n, kinds[k]);
            total += n;
        }
    }
    CHECK(total > 0, "no fuzz input found under %s/fuzz", SYN_TEST_DIR);
    return check_finish();
}

#else

int main(void)
{
    printf("skipped: tests/fuzz/fuzz.cmake is not included by CMakeLists.txt\n");
    return 77;
}

#endif
