/* small.h - the small-network path of pass.c (small_avx512.c).
 *
 * When every width of a net (its inputs and each layer's units) is at most
 * SYN_SMALL_WIDTH, a layer's products are a few dozen multiply-adds each and
 * the fixed cost of a general syn_gemm call (dispatch, loop control at
 * m, n, k <= 4) is most of a training step. On this path a row of a layer
 * is one 16-lane AVX-512 vector, and the activation (forward) or its
 * derivative (backward) is applied while the row is still in a register:
 *   forward      z[r][:]  = sum_i x[r][i] * W^T[i][:]  (+ b afterwards)
 *   input grad   dx[r][:] = sum_o dz[r][o] * W[o][:]
 *   weight grad  dW[o][:] = sum_r dz[r][o] * x[r][:]   (db = sum_r dz[r])
 * The forward and the backward pass are one call each, rows going through
 * every layer in blocks of 4 in registers, the 4 rows in lockstep (see
 * small_avx512.c). Every element is summed in the order syn_gemm sums it
 * (over i, over o, over r), in one accumulator; only the rounding of each
 * multiply-add (fused here) and of the sigmoid's exp and reciprocal may
 * differ. The choice depends on the shape and the CPU alone,
 * and nothing here is threaded, so results never depend on the thread
 * count.
 *
 * A tiny net's step is one chain of dependent instructions, and a store
 * -> load round trip takes ~11 cycles when the load matches one whole
 * store, 13 to 19 when the load is masked, the store is masked or the load
 * spans several stores (bench/forwarding.c). So rows of the workspace blocks
 * (activations, inputs) are read and written as whole vectors:
 * the blocks carry SYN_SMALL_WIDTH floats of slack after their last row,
 * a store of row r spills into row r + 1, which is written next, and the
 * lanes a load reads past its row are never used. Weights are read as
 * aligned vectors of the parameter arena; gradients are stored masked. */
#ifndef SYN_KERNELS_SMALL_H
#define SYN_KERNELS_SMALL_H

#include <stddef.h>
#include <stdint.h>

#include "synapse.h"

#define SYN_SMALL_WIDTH 16
/* Passes of more rows than this go to syn_gemm, whose kernels use threads. */
#define SYN_SMALL_ROWS 256

/* Index vectors of a layer's packed pass (small_avx512.c). */
#define SYN_SMALL_N_INDEX 7

/* One dense layer as the path sees it: plain sizes and pointers, built by
 * the core (net.c, once per network) for a net whose every layer's kind
 * admits the path. The kernels include nothing of the core or the layers. */
typedef struct syn_small_layer {
    size_t n_in, units;   /* both <= SYN_SMALL_WIDTH */
    syn_activation act;   /* the layer's activation (its code, synapse.h) */
    float slope;          /* leaky ReLU's effective slope */
    const float *w;       /* W [units x n_in] in the parameter arena */
    const float *b;       /* bias [units], NULL without */
    /* Filled by syn_small_prepare, from the fields above: the largest
     * batch the packed pass takes through this layer (0: none), and the
     * permute indices of that pass, which depend on the shape alone. */
    size_t packed_rows;
    int32_t index[SYN_SMALL_N_INDEX][SYN_SMALL_WIDTH];
} syn_small_layer;

/* A layer's blocks in a workspace (pass.c, once per workspace). */
typedef struct syn_small_bufs {
    float *out;           /* the layer's output rows [batch x units] (+16 slack) */
    float *dw, *db;       /* its gradient blocks (db NULL without bias) */
} syn_small_bufs;

typedef struct syn_small_net {
    size_t n_layers;
    const syn_small_layer *layers;
    const syn_small_bufs *bufs;
    const float *input;   /* the scaled input rows backward reads */
    float *logits;        /* the output layer's pre-activation rows */
    /* Gradient rows between row blocks of a backward pass: one aligned
     * 16-float vector per row of each W and per bias,
     * [(sum of units + n_layers) x 16]. */
    float *acc;
    /* The workspace's whole gradient arena (64-byte aligned, whole
     * 16-float vectors long) and its n_grads floats: a packed backward
     * pass of a net with at most 16 parameters writes it as one vector,
     * which the optimizer's load then gets straight from the store. */
    float *grads;
    size_t n_grads;
    /* Applies an activation the path does not fuse (tanh, softmax) over
     * stored rows: activation.c's syn_activation_forward. */
    void (*activate)(syn_activation act, float slope, float *rows, size_t n_rows,
                     size_t units);
} syn_small_net;

/* Nonzero if the path was compiled in and the CPU has AVX-512F. */
int syn_small_available(void);
/* Completes a layer whose other fields are set (net.c, once per net). */
void syn_small_prepare(syn_small_layer *layer);

/* The whole forward pass: reads x [batch x n_inputs] (already scaled),
 * writes every layer's outputs and the output logits. Sigmoid, ReLU, leaky
 * ReLU and linear are applied in the register; tanh and softmax by
 * sn->activate over the stored rows, which are read back. */
void syn_small_forward_net(const syn_small_net *sn, const float *x, size_t batch);
/* The whole backward pass, into the gradient blocks: from d, the rows
 * [batch x outputs] of dL/dz of the output layer, or of dL/d(outputs)
 * when output_derivative is set (the output activation is then applied
 * here, and must not be softmax). Reads the layers' outputs and the input
 * that the forward pass of the same rows left. */
void syn_small_backward_net(const syn_small_net *sn, const float *d, int output_derivative,
                            size_t batch);

#endif
