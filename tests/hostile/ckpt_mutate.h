/* ckpt_mutate.h - mutating a synapse checkpoint the way an attacker can:
 * change bytes of its `user` block (the run options of `synapse train`)
 * and recompute the file's CRC-32, which proves nothing about who wrote
 * it (docs/FORMAT.md: 28-byte header, sections of tag, u64 length and
 * payload, a CRC-32 of everything before the 4-byte trailer). */
#ifndef SYN_CKPT_MUTATE_H
#define SYN_CKPT_MUTATE_H

#include <stdint.h>
#include <string.h>

#include "io/crc32.h"

static inline uint64_t cm_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static inline uint32_t cm_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void cm_put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* The user block's offset and length in a checkpoint image; 0 if none. */
static inline int cm_user_block(const uint8_t *file, size_t size, size_t *at, size_t *len)
{
    size_t p = 28;
    while (size >= 4 && p + 12 <= size - 4) {
        uint64_t n = cm_u64(file + p + 4);
        if (n > size - 4 - p - 12)
            return 0;
        if (!memcmp(file + p, "user", 4)) {
            *at = p + 12;
            *len = (size_t)n;
            return 1;
        }
        p += 12 + (size_t)n;
    }
    return 0;
}

/* After bytes past the header changed: the trailer's CRC again. */
static inline void cm_fix_crc(uint8_t *file, size_t size)
{
    cm_put_u32(file + size - 4, syn_crc32(0, file, size - 4));
}

/* In a version-1 block (options in a fixed order): the offset of the
 * i-th of the 7 int options (task, header, scale, activation, loss,
 * optimizer, schedule), after the 10 strings. */
static inline size_t cm_v1_int(const uint8_t *block, size_t len, int i)
{
    size_t p = 12;
    for (int s = 0; s < 10 && p + 4 <= len; s++) {
        uint32_t n = cm_u32(block + p);
        p += 4 + (n == 0xffffffffu ? 0 : n);
    }
    return p + 4 * (size_t)i;
}

/* In a version-2 block: the offset of the value of option `name` (after
 * its name and kind byte); 0 if not found. */
static inline size_t cm_v2_value(const uint8_t *block, size_t len, const char *name,
                                 uint8_t *kind)
{
    size_t p = 16, want = strlen(name);
    uint32_t count = len >= 16 ? cm_u32(block + 12) : 0;
    for (uint32_t i = 0; i < count && p + 4 <= len; i++) {
        uint32_t n = cm_u32(block + p);
        int match = n == want && p + 4 + n <= len && !memcmp(block + p + 4, name, n);
        p += 4 + n;
        if (p >= len)
            return 0;
        *kind = block[p++];
        if (match)
            return p;
        /* kinds of cli_arg_kind: FLAG 0 (u32), STRING 1, LONG 2 (u64), DOUBLE 3 (f64),
         * CHOICE 4 (string) */
        if (*kind == 1 || *kind == 4) {
            uint32_t m = p + 4 <= len ? cm_u32(block + p) : 0;
            p += 4 + (m == 0xffffffffu ? 0 : m);
        } else {
            p += *kind == 0 ? 4 : 8;
        }
    }
    return 0;
}

#endif
