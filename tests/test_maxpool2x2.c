/* test_maxpool2x2.c - the 2x2 stride-2 max pooling kernel the CPU runs
 * (kernels/maxpool2x2.h: AVX-512F, else AVX2) against the scalar rule of layers/pool2d.c (a
 * window's first largest value, its last NaN; backward: dz + 0 at that
 * element of a zeroed plane), bit for bit: forward values (NaN payloads
 * and the sign of zero included) and whole input-gradient planes, on
 * sizes odd and even, narrower and wider than a vector (1x1 outputs to
 * 40 columns), with ties, +-0, infinities and NaNs of distinct payloads.
 * Exits 77 (skipped) where the kernel is not available. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "kernels/maxpool2x2.h"

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint32_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

/* Few distinct values (ties), signed zeros, infinities, tagged NaNs. */
static float value(void)
{
    uint32_t k = next() % 16;
    if (k < 8)
        return (float)(int)(next() % 5) - 2.0f;
    if (k == 8)
        return 0.0f;
    if (k == 9)
        return -0.0f;
    if (k == 10)
        return INFINITY;
    if (k == 11)
        return -INFINITY;
    if (k == 12) {
        uint32_t bits = 0x7FC00000u | (next() & 0x3FFFFFu);
        float f;
        memcpy(&f, &bits, sizeof f);
        return f;
    }
    return (float)(next() % 1000) / 100.0f - 5.0f;
}

static void reference(const float *x, float *out, const float *dz, float *dx, size_t planes,
                      size_t ih, size_t iw)
{
    size_t oh = ih / 2, ow = iw / 2;
    memset(dx, 0, planes * ih * iw * sizeof(float));
    for (size_t p = 0; p < planes; p++)
        for (size_t r = 0; r < oh; r++)
            for (size_t c = 0; c < ow; c++) {
                const float *pl = x + p * ih * iw;
                size_t at = 2 * r * iw + 2 * c;
                float m = pl[at];
                const size_t cand[3] = {at + 1, at + iw, at + iw + 1};
                for (int k = 0; k < 3; k++) {
                    float v = pl[cand[k]];
                    if (v > m || v != v) {
                        m = v;
                        at = cand[k];
                    }
                }
                size_t o = (p * oh + r) * ow + c;
                out[o] = m;
                dx[p * ih * iw + at] += dz[o];
            }
}

int main(void)
{
    if (!syn_maxpool2x2_available()) {
        printf("skipped: the 2x2 max-pool kernel needs AVX-512F or AVX2 (compiler and CPU)\n");
        return 77;
    }
    const size_t sizes[][2] = {{2, 2}, {3, 3}, {2, 33}, {5, 32}, {26, 26}, {13, 13},
                               {11, 40}, {7, 31}, {4, 64}, {9, 2}};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        size_t ih = sizes[s][0], iw = sizes[s][1], planes = 3, oh = ih / 2, ow = iw / 2;
        size_t n_in = planes * ih * iw, n_out = planes * oh * ow;
        float *x = malloc(n_in * sizeof(float)), *dz = malloc(n_out * sizeof(float));
        float *out = malloc(n_out * sizeof(float)), *want = malloc(n_out * sizeof(float));
        float *dx = malloc(n_in * sizeof(float)), *want_dx = malloc(n_in * sizeof(float));
        for (size_t i = 0; i < n_in; i++)
            x[i] = value();
        for (size_t i = 0; i < n_out; i++)
            dz[i] = i % 7 == 0 ? -0.0f : value();
        for (size_t i = 0; i < n_in; i++)
            dx[i] = 12345.0f; /* every element must be written */
        reference(x, want, dz, want_dx, planes, ih, iw);
        syn_maxpool2x2_planes(x, out, NULL, NULL, 0, planes, ih, iw, oh, ow);
        syn_maxpool2x2_planes(x, NULL, dz, dx, 0, 1, ih, iw, oh, ow);
        syn_maxpool2x2_planes(x, NULL, dz, dx, 1, planes, ih, iw, oh, ow);
        CHECK(!memcmp(out, want, n_out * sizeof(float)), "%zux%zu: forward bits", ih, iw);
        CHECK(!memcmp(dx, want_dx, n_in * sizeof(float)), "%zux%zu: input gradient bits", ih,
              iw);
        free(x);
        free(dz);
        free(out);
        free(want);
        free(dx);
        free(want_dx);
    }
    return check_finish();
}
