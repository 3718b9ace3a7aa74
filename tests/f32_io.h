/* f32_io.h - little-endian float32 files, the exchange format between the
 * C tests and the external consumers they drive (ONNX Runtime's script,
 * the PyTorch fixture generator): byte by byte, so any host reads them the
 * same. */
#ifndef SYN_F32_IO_H
#define SYN_F32_IO_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

static inline int write_f32(const char *path, const float *v, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t bits;
        memcpy(&bits, &v[i], 4);
        for (int b = 0; b < 4; b++)
            fputc((int)((bits >> (8 * b)) & 0xff), f);
    }
    return fclose(f) == 0;
}

/* Reads exactly n floats; returns 0 if the file holds another count. */
static inline int read_f32(const char *path, float *v, size_t n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    int ok = 1;
    for (size_t i = 0; i < n && ok; i++) {
        uint32_t bits = 0;
        for (int b = 0; b < 4 && ok; b++) {
            int c = fgetc(f);
            ok = c != EOF;
            bits |= (uint32_t)(c & 0xff) << (8 * b);
        }
        memcpy(&v[i], &bits, 4);
    }
    ok = ok && fgetc(f) == EOF;
    fclose(f);
    return ok;
}

#endif
