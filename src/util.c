/* util.c - checked allocation and error-detail formatting. */
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *syn_alloc_aligned(size_t bytes)
{
    size_t rounded;
    if (!syn_add_size(bytes, SYN_ALIGN - 1, &rounded))
        return NULL;
    rounded -= rounded % SYN_ALIGN;
    if (rounded == 0)
        rounded = SYN_ALIGN;
    void *p = aligned_alloc(SYN_ALIGN, rounded);
    if (p)
        memset(p, 0, rounded);
    return p;
}

float *syn_alloc_floats(size_t n)
{
    size_t bytes;
    if (!syn_mul_size(n, sizeof(float), &bytes))
        return NULL;
    return syn_alloc_aligned(bytes);
}

void syn_free_aligned(void *p)
{
    free(p);
}

void syn_set_error(syn_error *err, const char *fmt, ...)
{
    if (!err)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
}

char *syn_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *copy = malloc(n);
    if (copy)
        memcpy(copy, s, n);
    return copy;
}
