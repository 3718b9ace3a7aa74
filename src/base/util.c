/* util.c - checked allocation and error-detail formatting. */
#include "base/util.h"

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

int syn_buf_reserve(syn_buf *b, size_t extra)
{
    if (b->status != SYN_OK)
        return 0;
    size_t need;
    if (!syn_add_size(b->size, extra, &need)) {
        b->status = SYN_ERR_OVERFLOW;
        return 0;
    }
    if (need <= b->cap)
        return 1;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    uint8_t *grown = realloc(b->data, cap);
    if (!grown) {
        b->status = SYN_ERR_OUT_OF_MEMORY;
        return 0;
    }
    b->data = grown;
    b->cap = cap;
    return 1;
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
