/* small.h - the small-network path of pass.c (small_avx512.c).
 *
 * When every width of a net (its inputs and each layer's units) is at most
 * SYN_SMALL_WIDTH, a layer's products are a few dozen multiply-adds each and
 * the fixed cost of a general syn_gemm call (dispatch, loop control at
 * m, n, k <= 4) is most of a training step: the seed's XOR net spends two
 * thirds of its step there. On this path a row of a layer is one masked
 * 16-lane AVX-512 vector, and the activation (forward) or its derivative
 * (backward) is applied while the row is still in a register: a tiny net's
 * pass is one chain of dependent steps, and it no longer waits on a store,
 * a reload or a call between them.
 *   forward      z[r][:]  = sum_i x[r][i] * W^T[i][:]  (+ b afterwards)
 *   input grad   dx[r][:] = sum_o dz[r][o] * W[o][:]
 *   weight grad  dW[o][:] = sum_r dz[r][o] * x[r][:]   (db = sum_r dz[r])
 * Every element is summed in the order syn_gemm sums it (over i, over o,
 * over r), in one accumulator; only the rounding of each multiply-add may
 * differ (fused here). The choice depends on the shape and the CPU alone,
 * and nothing here is threaded, so results never depend on the thread
 * count. Masked loads and stores touch exactly the rows' own floats. */
#ifndef SYN_KERNELS_SMALL_H
#define SYN_KERNELS_SMALL_H

#include <stddef.h>

#include "synapse.h"

#define SYN_SMALL_WIDTH 16
/* Passes of more rows than this go to syn_gemm, whose kernels use threads. */
#define SYN_SMALL_ROWS 256

/* Nonzero if the path was compiled in and the CPU has AVX-512F. */
int syn_small_available(void);

/* Whether syn_small_forward applies `act` itself (sigmoid, ReLU, leaky
 * ReLU, linear: the ones with a short vector form). */
int syn_small_fuses(syn_activation act);

/* z[batch x units] = x[batch x n_in] W^T + bias, then the activation when
 * syn_small_fuses(act) (else z is left pre-activation). W is [units x n_in];
 * bias and logits may be NULL; logits, when given, receives z before the
 * activation. n_in and units are 1..SYN_SMALL_WIDTH. */
void syn_small_forward(const float *x, size_t batch, size_t n_in, const float *w,
                       const float *bias, size_t units, syn_activation act, float slope,
                       float *z, float *logits);
/* The whole forward pass of a net that small_path() admits, when every
 * hidden activation is one syn_small_fuses names (else returns 0 and does
 * nothing): reads x (already scaled), writes every layer's outputs and the
 * output logits into ws as syn_forward does, and returns 1. */
int syn_small_forward_net(const syn_net *net, syn_workspace *ws, const float *x, size_t batch);
/* dx[batch x n_in] = (dz[batch x units] W) * act'(a), where a [batch x n_in]
 * holds the previous layer's outputs and act is any hidden activation (not
 * softmax). */
void syn_small_input_grad(const float *dz, size_t batch, size_t units, const float *w,
                          size_t n_in, const float *a, syn_activation act, float slope,
                          float *dx);
/* dw[units x n_in] = dz^T x, and db[units] = the column sums of dz (db may
 * be NULL). */
void syn_small_weight_grad(const float *dz, size_t batch, size_t units, const float *x,
                           size_t n_in, float *dw, float *db);

#endif
