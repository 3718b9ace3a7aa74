/* activation.h - element-wise activations over raw blocks (activation.c).
 * Layer level: includes nothing of the core. */
#ifndef SYN_LAYERS_ACTIVATION_H
#define SYN_LAYERS_ACTIVATION_H

#include <stddef.h>

#include "synapse.h"

/* Activations (activation.c), on a [rows x cols] row-major block. */
void syn_activation_forward(syn_activation act, float slope, float *z_to_a, size_t rows,
                            size_t cols);
/* Turns dL/da in `d` into dL/dz in place, from the outputs a. */
void syn_activation_backward(syn_activation act, float slope, const float *a, float *d,
                             size_t rows, size_t cols);

#endif
