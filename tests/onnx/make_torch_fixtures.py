#!/usr/bin/python3
"""make_torch_fixtures.py - regenerates tests/fixtures/onnx/: small MLPs built
with PyTorch (Debian's python3-torch), exported with torch.onnx.export at
opsets 11 to 17, and their outputs on fixed inputs; plus one model rewritten
with python3-onnx into the forms other exporters use (float_data, a Constant
bias, an Identity node, initializers listed as graph inputs); and MLPs with
what PyTorch users put around them: input normalization (x - mean) / std or
x / 255, nn.Flatten of image-shaped inputs, x.view(x.size(0), -1) and
x.view(-1, n), a Reshape to [0, -1], class names in metadata_props
"classes"; and the layer kinds: BatchNorm1d, LayerNorm at opset 17 and
written out in operators before it, Dropout; and the activations GELU (erf
and tanh), SiLU, ELU, Softplus; and convolutional nets (issue 15): Conv2d
with padding, stride, dilation, groups, bias or none, BatchNorm2d,
MaxPool2d, AvgPool2d both ways of count_include_pad, AdaptiveAvgPool2d(1),
torch.flatten and x.view(x.size(0), -1), behind a (x - mean) / std
normalization per channel. tests/test_onnx.c imports each model with syn_net_import_onnx and
must reproduce the outputs.

Files per model NAME:
  NAME.onnx         the exported model (dynamic batch axis)
  NAME.input.f32    ROWS x N_INPUTS little-endian float32 (each sample
                    flattened row-major when the model takes images)
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


class Normalize(nn.Module):
    """(x - mean) / std, the input normalization PyTorch users put in front
    of a model (torchvision's transforms.Normalize, folded into the model);
    mean or std may be None for Div alone or Sub alone."""

    def __init__(self, mean, std):
        super().__init__()
        self.mean = mean
        self.std = std

    def forward(self, x):
        if self.mean is not None:
            x = x - self.mean
        if self.std is not None:
            x = x / self.std
        return x


class View(nn.Module):
    """x.view(x.size(0), -1) (exported as Shape, Gather, Unsqueeze, Concat,
    Reshape) or x.view(-1, n) (a Reshape to a constant [-1, n])."""

    def __init__(self, features=None):
        super().__init__()
        self.features = features

    def forward(self, x):
        if self.features is None:
            return x.view(x.size(0), -1)
        return x.view(-1, self.features)


def wrapped_models():
    """What PyTorch users put around an MLP: (name, module, sample shape,
    opset, scale of the inputs, metadata_props to add)."""
    g = torch.Generator().manual_seed(20261201)
    mean6 = torch.rand(6, generator=g) * 4 - 2
    std6 = torch.rand(6, generator=g) * 2 + 0.5
    yield ("norm_sub_div", nn.Sequential(
        Normalize(mean6, std6), nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 4),
        nn.Softmax(dim=1)), (6,), 13, 2.0,
        {"classes": '["cat", "dog", "bird", "fish"]'})
    yield ("div_only", nn.Sequential(
        Normalize(None, 255.0), nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 2)), (5,), 11, 255.0,
        {})
    yield ("image_flatten", nn.Sequential(
        Normalize(0.5, 0.25), nn.Flatten(), nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 3),
        nn.Softmax(dim=1)), (1, 4, 4), 13, 1.0, {"classes": "[0, 1, 2]"})
    mean_c = (torch.rand(1, 3, 1, 1, generator=g) - 0.5)
    std_c = torch.rand(1, 3, 1, 1, generator=g) + 0.5
    yield ("channels_view", nn.Sequential(
        Normalize(mean_c, std_c), View(), nn.Linear(12, 6), nn.Sigmoid(), nn.Linear(6, 2)),
        (3, 2, 2), 17, 1.0, {})
    yield ("view_minus1", nn.Sequential(
        View(10), nn.Linear(10, 4), nn.LeakyReLU(0.1), nn.Linear(4, 3)), (2, 5), 11, 1.0, {})


def layer_kind_models():
    """BatchNorm1d (after Linear, and first), LayerNorm at opset 17 (one
    LayerNormalization node) and before it (written out in ReduceMean, Sub,
    Pow, Sqrt, Div, Mul, Add), without affine, and Dropout (dropped by the
    export in eval mode): (name, module, sample shape, opset, input scale,
    metadata). Norm parameters and running statistics are drawn away from
    their initial 1 and 0 so the test sees them."""
    yield ("bn_relu_dropout", nn.Sequential(
        nn.Linear(6, 12), nn.BatchNorm1d(12), nn.ReLU(), nn.Dropout(0.3), nn.Linear(12, 4),
        nn.Softmax(dim=1)), (6,), 13, 2.0, {})
    yield ("bn_first", nn.Sequential(nn.BatchNorm1d(5), nn.Linear(5, 3)), (5,), 11, 3.0, {})
    yield ("layernorm17", nn.Sequential(
        nn.Linear(6, 8), nn.LayerNorm(8), nn.Tanh(), nn.Linear(8, 2)), (6,), 17, 2.0, {})
    yield ("layernorm13", nn.Sequential(
        nn.Linear(6, 8), nn.LayerNorm(8), nn.Tanh(), nn.Linear(8, 2)), (6,), 13, 2.0, {})
    yield ("layernorm_plain15", nn.Sequential(
        nn.Linear(5, 7), nn.ReLU(), nn.LayerNorm(7, elementwise_affine=False), nn.Linear(7, 3)),
        (5,), 15, 2.0, {})


def activation_models():
    """The activations added with the table (torch.nn.GELU both ways, SiLU,
    ELU, Softplus with beta 1 and 2), at opsets 13 and 17, as
    torch.onnx.export writes them (Erf, Tanh, Mul, Add; Sigmoid then Mul;
    Elu; Softplus, with Mul and Div around it for beta)."""
    acts = [("gelu", nn.GELU()), ("gelu_tanh", nn.GELU(approximate="tanh")),
            ("silu", nn.SiLU()), ("elu", nn.ELU(alpha=0.7)), ("softplus", nn.Softplus()),
            ("softplus_beta2", nn.Softplus(beta=2.0))]
    for k, (name, act) in enumerate(acts):
        yield (f"act_{name}", nn.Sequential(nn.Linear(5, 9), act, nn.Linear(9, 3)), (5,),
               13 if k % 2 == 0 else 17, 2.0, {})


class FlattenView(nn.Module):
    """x.view(x.size(0), -1) between the convolutions and the classifier."""

    def forward(self, x):
        return x.view(x.size(0), -1)


def cnn_models():
    """Convolutional nets as PyTorch users write them (issue 15), eval mode:
    (name, module, sample shape, opset, input scale, metadata). The export
    folds a BatchNorm2d right after a Conv into the Conv's weights, so the
    first has one after a pool (a BatchNormalization node); the second's
    AvgPool2d with count_include_pad exports as Pad then AveragePool."""
    g = torch.Generator().manual_seed(20261215)
    mean_c = torch.rand(1, 2, 1, 1, generator=g) - 0.5
    std_c = torch.rand(1, 2, 1, 1, generator=g) + 0.5
    yield ("cnn_bn_pool", nn.Sequential(
        Normalize(mean_c, std_c),
        nn.Conv2d(2, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.BatchNorm2d(4),
        nn.Conv2d(4, 6, 3, stride=2, dilation=1, groups=2, bias=False), nn.ReLU(),
        nn.Dropout(0.25),
        nn.Flatten(), nn.Linear(6 * 2 * 2, 8), nn.ReLU(), nn.Dropout(0.5), nn.Linear(8, 3),
        nn.Softmax(dim=1)), (2, 10, 10), 13, 1.0, {})
    yield ("cnn_avg_gap", nn.Sequential(
        nn.Conv2d(1, 4, (3, 2), padding=(1, 0), dilation=(1, 2)), nn.BatchNorm2d(4),
        nn.Tanh(), nn.AvgPool2d(2, padding=1, count_include_pad=False),
        nn.Conv2d(4, 4, 3, padding=1, groups=4), nn.ELU(),
        nn.AvgPool2d(3, stride=1, padding=1), nn.Conv2d(4, 5, 1),
        nn.AdaptiveAvgPool2d(1), FlattenView(), nn.Linear(5, 2)), (1, 9, 8), 17, 1.0, {})


def perturb_norms(model, g, x):
    """Random gamma and beta for every norm layer, and running statistics
    as training on x leaves them (momentum None: the plain average over
    the passes), so the model is one a training run could have made."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d, nn.LayerNorm)) and \
                    m.weight is not None:
                m.weight.copy_(torch.rand(m.weight.shape, generator=g) + 0.5)
                m.bias.copy_(torch.rand(m.bias.shape, generator=g) - 0.5)
        bns = [m for m in model.modules() if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d))]
        for m in bns:
            m.momentum = None
        model.train()
        for k in range(4):
            model(x[8 * k:8 * k + 8])
        for m in bns:
            m.momentum = 0.1
        model.eval()


def scale_params(model):
    with torch.no_grad():
        for p in model.parameters():  # larger than default init: exercise saturation
            p.mul_(1.5)


def export_model(out_dir, name, model, x, opset, metadata, prepared=False):
    """Exports model on inputs x (dynamic batch axis), writes its inputs
    (flattened per sample) and outputs; returns the manifest line."""
    import onnx

    model.eval()
    if not prepared:
        scale_params(model)
    with torch.no_grad():
        y = model(x)
    path = os.path.join(out_dir, name + ".onnx")
    kwargs = {} if opset is None else {"opset_version": opset}
    torch.onnx.export(model, x[:2], path, input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}}, **kwargs)
    if metadata:
        m = onnx.load(path)
        onnx.helper.set_model_props(m, metadata)
        onnx.save(m, path)
    x.reshape(x.shape[0], -1).numpy().astype("<f4").tofile(
        os.path.join(out_dir, name + ".input.f32"))
    y.numpy().astype("<f4").tofile(os.path.join(out_dir, name + ".output.f32"))
    softmax = int(isinstance(list(model)[-1], nn.Softmax))
    used = opset if opset is not None else torch.onnx._constants.ONNX_DEFAULT_OPSET
    n_inputs = int(np.prod(x.shape[1:]))
    return f"{name} {n_inputs} {y.shape[1]} {x.shape[0]} {used} {softmax}"


def make_reshape_zero(out_dir, base, name):
    """Rewrites BASE.onnx (a Reshape to a Constant [-1, n]) into a Reshape to
    an INT64 initializer [0, -1] (0 copies the batch: ONNX's Reshape), the
    form other exporters write. Same inputs and outputs as BASE."""
    import shutil

    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(os.path.join(out_dir, base + ".onnx"))
    graph = model.graph
    reshape = next(n for n in graph.node if n.op_type == "Reshape")
    old_shape = reshape.input[1]
    reshape.input[1] = "batch_shape"
    nodes = [n for n in graph.node if not (n.op_type == "Constant" and n.output[0] == old_shape)]
    del graph.node[:]
    graph.node.extend(nodes)
    graph.initializer.append(numpy_helper.from_array(np.array([0, -1], dtype=np.int64),
                                                     "batch_shape"))
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, os.path.join(out_dir, name + ".onnx"))
    for ext in (".input.f32", ".output.f32"):
        shutil.copy(os.path.join(out_dir, base + ext), os.path.join(out_dir, name + ext))


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
    for name, model, sample, opset, scale, metadata in wrapped_models():
        torch.manual_seed(20261201 + len(manifest))  # each model its own stream
        x = torch.randn(ROWS, *sample) * scale
        line = export_model(out_dir, name, model, x, opset, metadata)
        manifest.append(line)
        if name == "view_minus1":
            make_reshape_zero(out_dir, name, "reshape_zero")
            manifest.append(line.replace(name, "reshape_zero", 1))
    g = torch.Generator().manual_seed(20261202)
    for name, model, sample, opset, scale, metadata in layer_kind_models():
        torch.manual_seed(20261201 + len(manifest))
        x = torch.randn(ROWS, *sample) * scale
        scale_params(model)
        perturb_norms(model, g, x)
        manifest.append(export_model(out_dir, name, model, x, opset, metadata, prepared=True))
    for name, model, sample, opset, scale, metadata in activation_models():
        torch.manual_seed(20261201 + len(manifest))
        x = torch.randn(ROWS, *sample) * scale
        manifest.append(export_model(out_dir, name, model, x, opset, metadata))
    for name, model, sample, opset, scale, metadata in cnn_models():
        torch.manual_seed(20261201 + len(manifest))
        x = torch.randn(ROWS, *sample) * scale
        scale_params(model)
        perturb_norms(model, g, x)
        manifest.append(export_model(out_dir, name, model, x, opset, metadata, prepared=True))
    with open(os.path.join(out_dir, "manifest.txt"), "w") as f:
        f.write("# name n_inputs n_outputs rows opset softmax (make_torch_fixtures.py)\n")
        f.write("\n".join(manifest) + "\n")
    print(f"wrote {len(manifest)} models to {out_dir} with torch {torch.__version__}")


if __name__ == "__main__":
    main()
