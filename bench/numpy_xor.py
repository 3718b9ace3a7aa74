#!/usr/bin/python3
"""The seed notebook's training loop in numpy (float64, as in the notebook):
60000 full-batch iterations of the 3-4-1 sigmoid network on XOR, timed.
Prints one JSON line with the seconds taken. Peer of `bench_train --xor`.

    /usr/bin/python3 bench/numpy_xor.py
"""
import json
import time

import numpy as np

input_data = np.array([[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]])
output_labels = np.array([[0], [1], [1], [0]])


def activate(x, deriv=False):
    if deriv:
        return x * (1 - x)
    return 1 / (1 + np.exp(-x))


np.random.seed(1)
synaptic_weight_0 = 2 * np.random.random((3, 4)) - 1
synaptic_weight_1 = 2 * np.random.random((4, 1)) - 1
start = time.perf_counter()
for j in range(60000):
    layer0 = input_data
    layer1 = activate(np.dot(layer0, synaptic_weight_0))
    layer2 = activate(np.dot(layer1, synaptic_weight_1))
    layer2_error = output_labels - layer2
    if (j % 10000) == 0:
        err = np.mean(np.abs(layer2_error))
    layer2_gradient = layer2_error * activate(layer2, deriv=True)
    layer1_error = layer2_gradient.dot(synaptic_weight_1.T)
    layer1_gradient = layer1_error * activate(layer1, deriv=True)
    synaptic_weight_1 += layer1.T.dot(layer2_gradient)
    synaptic_weight_0 += layer0.T.dot(layer1_gradient)
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "final_error": float(np.mean(np.abs(layer2_error)))}))
