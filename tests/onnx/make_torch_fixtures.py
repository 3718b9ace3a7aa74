#!/usr/bin/python3
"""make_torch_fixtures.py - regenerates tests/fixtures/onnx/: small MLPs built
with PyTorch (Debian's python3-torch), exported with torch.onnx.export at
opsets 11 to 17, and their outputs on fixed inputs; plus one model rewritten
with python3-onnx into the forms other exporters use (float_data, a Constant
bias, an Identity node, initializers listed as graph inputs). tests/test_onnx.c imports
each model with syn_net_import_onnx and must reproduce the outputs.

Files per model NAME:
  NAME.onnx         the exported model (dynamic batch axis)
  NAME.input.f32    ROWS x N_INPUTS little-endian float32
  NAME.output.f32   ROWS x N_OUTPUTS little-endian float32, PyTorch's outputs
manifest.txt lists one model a line: NAME N_INPUTS N_OUTPUTS ROWS OPSET SOFTMAX
(SOFTMAX 1 when the model ends in Softmax).

Usage: /usr/bin/python3 tests/onnx/make_torch_fixtures.py [OUT_DIR]
"""
import os
import sys

import numpy as np
import torch
from torch import nn

ROWS = 32


def models():
    """(name, module, n_inputs, opset or None for torch's default)."""
    yield ("relu_softmax", nn.Sequential(
        nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 4), nn.Softmax(dim=1)), 6, 13)
    yield ("sigmoid_linear", nn.Sequential(
        nn.Linear(5, 8), nn.Sigmoid(), nn.Linear(8, 3)), 5, 11)
    yield ("tanh_nobias", nn.Sequential(
        nn.Linear(4, 7, bias=False), nn.Tanh(), nn.Linear(7, 2)), 4, None)
    yield ("leaky_softmax", nn.Sequential(
        nn.Linear(6, 10), nn.LeakyReLU(0.2), nn.Linear(10, 10), nn.LeakyReLU(),
        nn.Linear(10, 3), nn.Softmax(dim=-1)), 6, 17)
    yield ("relu_sigmoid_nobias", nn.Sequential(
        nn.Linear(3, 5), nn.ReLU(), nn.Linear(5, 2, bias=False), nn.Sigmoid()), 3, 12)
    yield ("deep_tanh", nn.Sequential(
        nn.Linear(12, 32), nn.Tanh(), nn.Linear(32, 16), nn.ReLU(),
        nn.Linear(16, 8), nn.Sigmoid(), nn.Linear(8, 1)), 12, 15)


def make_variant(out_dir, base, name):
    """Rewrites BASE.onnx with python3-onnx into forms other exporters use:
    one weight as float_data instead of raw_data, one bias as a Constant
    node, an Identity node after the input, the initializers also listed as
    graph inputs (IR version 3 style). Same inputs and outputs as BASE."""
    import shutil

    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(os.path.join(out_dir, base + ".onnx"))
    graph = model.graph
    inits = {t.name: t for t in graph.initializer}
    weight = numpy_helper.to_array(inits["0.weight"])
    bias = numpy_helper.to_array(inits["2.bias"])
    keep = [t for t in graph.initializer if t.name not in ("0.weight", "2.bias")]
    del graph.initializer[:]
    graph.initializer.extend(keep)
    graph.initializer.append(helper.make_tensor("0.weight", onnx.TensorProto.FLOAT,
                                                weight.shape, weight.flatten().tolist()))
    constant = helper.make_node("Constant", [], ["2.bias"], name="bias_constant",
                                value=numpy_helper.from_array(bias, "2.bias"))
    identity = helper.make_node("Identity", ["x"], ["x_identity"], name="input_identity")
    for node in graph.node:
        node.input[:] = ["x_identity" if i == "x" else i for i in node.input]
    nodes = [identity, constant] + list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes)
    for t in graph.initializer:
        graph.input.append(helper.make_tensor_value_info(t.name, t.data_type, t.dims))
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, os.path.join(out_dir, name + ".onnx"))
    for ext in (".input.f32", ".output.f32"):
        shutil.copy(os.path.join(out_dir, base + ext), os.path.join(out_dir, name + ext))
    opset = model.opset_import[0].version
    n_in = weight.shape[1]
    n_out = bias.shape[0]
    return f"{name} {n_in} {n_out} {ROWS} {opset} 1"


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "fixtures", "onnx")
    os.makedirs(out_dir, exist_ok=True)
    torch.manual_seed(20240601)
    manifest = []
    for name, model, n_inputs, opset in models():
        model.eval()
        with torch.no_grad():
            for p in model.parameters():  # larger than default init: exercise saturation
                p.mul_(1.5)
        x = torch.randn(ROWS, n_inputs) * 2.0
        with torch.no_grad():
            y = model(x)
        path = os.path.join(out_dir, name + ".onnx")
        kwargs = {} if opset is None else {"opset_version": opset}
        torch.onnx.export(model, x[:2], path, input_names=["x"], output_names=["y"],
                          dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}}, **kwargs)
        x.numpy().astype("<f4").tofile(os.path.join(out_dir, name + ".input.f32"))
        y.numpy().astype("<f4").tofile(os.path.join(out_dir, name + ".output.f32"))
        softmax = int(isinstance(list(model)[-1], nn.Softmax))
        used = opset if opset is not None else torch.onnx._constants.ONNX_DEFAULT_OPSET
        manifest.append(f"{name} {n_inputs} {y.shape[1]} {ROWS} {used} {softmax}")
    manifest.append(make_variant(out_dir, "relu_softmax", "relu_softmax_variant"))
    with open(os.path.join(out_dir, "manifest.txt"), "w") as f:
        f.write("# name n_inputs n_outputs rows opset softmax (make_torch_fixtures.py)\n")
        f.write("\n".join(manifest) + "\n")
    print(f"wrote {len(manifest)} models to {out_dir} with torch {torch.__version__}")


if __name__ == "__main__":
    main()
