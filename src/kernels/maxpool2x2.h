/* maxpool2x2.h - 2x2 stride-2 unpadded max pooling over whole planes in
 * AVX-512F (maxpool2x2_avx512.c) or AVX2 (maxpool2x2_avx2.c), the max-pool
 * layer's path for its most common window (layers/pool2d.c keeps the
 * scalar loop for other CPUs); maxpool2x2.c calls the best the CPU runs.
 *
 * 16 outputs of a row at a time (AVX2: 8): the two input rows' floats are
 * split into even and odd columns by permutes, and each window's maximum is
 * found in pool2d.c's order (row 0 then row 1, left to right; a value
 * replaces the running maximum when it is larger or NaN: ATen's first
 * largest, last NaN) with compare masks and blends, so the output is the
 * same element, bit for bit, as the scalar loop's. Backward writes each
 * input plane whole: dz + 0 at the chosen element of a window (what the
 * scalar loop's zeroed plane plus dz gives; windows do not overlap) and 0
 * elsewhere, including the last row and column an odd size leaves out.
 * Nothing here is threaded: the layer splits planes over its pool. */
#ifndef SYN_KERNELS_MAXPOOL2X2_H
#define SYN_KERNELS_MAXPOOL2X2_H

#include <stddef.h>

/* Nonzero if a kernel was compiled in that the CPU runs. */
int syn_maxpool2x2_available(void);

/* Planes [lo, hi) of in [planes x ih x iw] pooled into out [planes x oh x
 * ow] (oh = ih / 2, ow = iw / 2) when d_in is NULL; else d_in [planes x ih
 * x iw] from dz [planes x oh x ow] and in. */
void syn_maxpool2x2_planes(const float *in, float *out, const float *dz, float *d_in,
                           size_t lo, size_t hi, size_t ih, size_t iw, size_t oh, size_t ow);

/* The kernels behind syn_maxpool2x2_planes, by instruction set. */
void syn_maxpool2x2_avx512_planes(const float *in, float *out, const float *dz, float *d_in,
                                  size_t lo, size_t hi, size_t ih, size_t iw, size_t oh,
                                  size_t ow);
void syn_maxpool2x2_avx2_planes(const float *in, float *out, const float *dz, float *d_in,
                                size_t lo, size_t hi, size_t ih, size_t iw, size_t oh,
                                size_t ow);

#endif
