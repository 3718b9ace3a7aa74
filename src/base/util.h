/* util.h - internal helpers shared by every module: checked size arithmetic,
 * 64-byte aligned allocation and error-detail formatting. Not public. */
#ifndef SYN_UTIL_H
#define SYN_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "synapse.h"

#define SYN_ALIGN 64

/* *out = a * b; returns 0 on overflow. */
static inline int syn_mul_size(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > SIZE_MAX / a)
        return 0;
    *out = a * b;
    return 1;
}

/* *out = a + b; returns 0 on overflow. */
static inline int syn_add_size(size_t a, size_t b, size_t *out)
{
    if (b > SIZE_MAX - a)
        return 0;
    *out = a + b;
    return 1;
}

/* GCC's function multi-versioning for element loops: an AVX-512 and an
 * AVX2 build beside the baseline one, chosen once by the loader. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__ELF__)
#define SYN_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define SYN_VECTOR_CLONES
#endif

/* A growing byte buffer (zero-initialise to start). The first failure,
 * OVERFLOW or OUT_OF_MEMORY, is kept in status and every later reserve
 * fails, so a writer can emit everything and check once at the end. */
typedef struct syn_buf {
    uint8_t *data;
    size_t size, cap;
    syn_status status;
} syn_buf;

/* Room for `extra` more bytes after b->size (capacity doubles); returns 0
 * when there is none, with the failure recorded. */
int syn_buf_reserve(syn_buf *b, size_t extra);

/* n floats, 64-byte aligned, zeroed; NULL on overflow or failure (n == 0
 * still returns a valid, freeable block). The block extends, zeroed, to a
 * multiple of 64 bytes, so whole aligned 16-float vectors covering any of
 * its floats may be read (the small-network path does). Free with
 * syn_free_aligned. */
float *syn_alloc_floats(size_t n);
void *syn_alloc_aligned(size_t bytes);
void syn_free_aligned(void *p);

/* printf-style into err->message when err is not NULL. */
void syn_set_error(syn_error *err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* strdup that returns NULL on failure (strdup is not C11). */
char *syn_strdup(const char *s);

#endif
