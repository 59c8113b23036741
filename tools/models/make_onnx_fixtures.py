#!/usr/bin/python3
"""Write small ONNX test models and what nncert must read from them.

usage: /usr/bin/python3 tools/models/make_onnx_fixtures.py OUTDIR

For every good fixture NAME.onnx there is NAME.expect, a text file the C tests parse:
    input C H W                 native input shape nncert must choose
    layers T1 T2 ...            native layer types after folding
    params N                    total parameter count after folding
    case K                      then K pairs of lines:
    x v1 v2 ...                 one input (C,H,W order), %.17g
    y v1 v2 ...                 PyTorch's float64 logits for it
Bad fixtures (bad_*.onnx) come with bad_*.err: a regular expression the error
message must match. Everything is seeded, so two runs write the same files.
"""
import io
import os
import sys
import warnings

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
from onnx import TensorProto, helper, numpy_helper

warnings.filterwarnings("ignore")
OUT = None
N_CASES = 4


def write_expect(name, shape, layers, params, xs, ys):
    with open(os.path.join(OUT, name + ".expect"), "w") as f:
        f.write("input %d %d %d\n" % tuple(shape))
        f.write("layers %s\n" % " ".join(layers))
        f.write("params %d\n" % params)
        f.write("case %d\n" % len(xs))
        for x, y in zip(xs, ys):
            f.write("x %s\n" % " ".join("%.17g" % v for v in np.asarray(x, dtype=np.float64).ravel()))
            f.write("y %s\n" % " ".join("%.17g" % v for v in np.asarray(y, dtype=np.float64).ravel()))


def export(model, example, name, preserve=False, dynamic=True, opset=13, folding=True):
    f = io.BytesIO()
    kw = dict(input_names=["input"], output_names=["logits"], opset_version=opset, do_constant_folding=folding)
    if dynamic:
        kw["dynamic_axes"] = {"input": {0: "batch"}, "logits": {0: "batch"}}
    if preserve:
        kw["training"] = torch.onnx.TrainingMode.PRESERVE
    torch.onnx.export(model, example, f, **kw)
    with open(os.path.join(OUT, name + ".onnx"), "wb") as g:
        g.write(f.getvalue())


def torch_cases(model, in_shape, seed):
    """Logits of the float model, evaluated in float64 (float32 weights are exact doubles)."""
    gen = torch.Generator().manual_seed(seed)
    xs = [torch.rand((1,) + tuple(in_shape), generator=gen, dtype=torch.float64) for _ in range(N_CASES)]
    m64 = model.double().eval()
    with torch.no_grad():
        ys = [m64(x).numpy() for x in xs]
    model.float()
    return [x.numpy() for x in xs], ys


def randomize_bn(bn, gen):
    with torch.no_grad():
        bn.weight.copy_(torch.rand(bn.num_features, generator=gen) + 0.5)
        bn.bias.copy_(torch.rand(bn.num_features, generator=gen) - 0.5)
        bn.running_mean.copy_(torch.rand(bn.num_features, generator=gen) - 0.5)
        bn.running_var.copy_(torch.rand(bn.num_features, generator=gen) + 0.25)


# ---------------------------------------------------------------- good models

def mlp_gemm():
    torch.manual_seed(1)
    m = nn.Sequential(nn.Linear(12, 8), nn.ReLU(), nn.Linear(8, 6), nn.Tanh(), nn.Linear(6, 3)).eval()
    export(m, torch.zeros(1, 12), "mlp_gemm")
    xs, ys = torch_cases(m, (12,), 11)
    write_expect("mlp_gemm", (1, 1, 12), ["dense", "relu", "dense", "tanh", "dense"],
                 12 * 8 + 8 + 8 * 6 + 6 + 6 * 3 + 3, xs, ys)


class MatMulNet(nn.Module):
    """x @ W + b (MatMul + Add), per-feature input normalization, assorted activations."""

    def __init__(self):
        super().__init__()
        g = torch.Generator().manual_seed(2)
        self.mean = nn.Parameter(torch.rand(10, generator=g), requires_grad=False)
        self.std = nn.Parameter(torch.rand(10, generator=g) + 0.5, requires_grad=False)
        self.w1 = nn.Parameter(torch.randn(10, 7, generator=g))
        self.b1 = nn.Parameter(torch.randn(7, generator=g))
        self.w2 = nn.Parameter(torch.randn(7, 5, generator=g))
        self.b2 = nn.Parameter(torch.randn(5, generator=g))
        self.w3 = nn.Parameter(torch.randn(5, 4, generator=g))

    def forward(self, x):
        x = (x - self.mean) / self.std
        # ONNX attributes are float32: use the slope the file can hold exactly
        x = F.leaky_relu(x @ self.w1 + self.b1, float(np.float32(0.2)))
        x = torch.sigmoid(x @ self.w2 + self.b2)
        x = torch.atan(x)
        return x @ self.w3 * 2.0 - 1.0


def mlp_matmul():
    m = MatMulNet().eval()
    export(m, torch.zeros(1, 10), "mlp_matmul")
    xs, ys = torch_cases(m, (10,), 12)
    # per-feature normalization forces the flat input to be 10 channels of 1x1
    write_expect("mlp_matmul", (10, 1, 1), ["normalize", "dense", "leaky_relu", "dense", "sigmoid", "arctan", "dense"],
                 20 + 77 + 40 + 24, xs, ys)


class CnnBN(nn.Module):
    def __init__(self):
        super().__init__()
        g = torch.Generator().manual_seed(3)
        self.register_buffer("mean", torch.tensor([0.4, 0.5, 0.6]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.2, 0.25, 0.3]).view(1, 3, 1, 1))
        self.c1 = nn.Conv2d(3, 4, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(4)
        self.pool1 = nn.MaxPool2d(2)
        self.c2 = nn.Conv2d(4, 5, 3, stride=2, padding=2, dilation=2)
        self.pool2 = nn.AvgPool2d(2, stride=1)
        self.fc1 = nn.Linear(5 * 1 * 1, 6)
        self.bn2 = nn.BatchNorm1d(6)
        self.fc2 = nn.Linear(6, 3)
        randomize_bn(self.bn1, g)
        randomize_bn(self.bn2, g)

    def forward(self, x):
        x = (x - self.mean) / self.std
        x = self.pool1(F.relu(self.bn1(self.c1(x))))
        x = self.pool2(torch.tanh(self.c2(x)))
        x = torch.flatten(x, 1)
        return self.fc2(F.relu(self.bn2(self.fc1(x))))


def cnn_bn():
    torch.manual_seed(3)
    m = CnnBN().eval()
    export(m, torch.zeros(1, 3, 8, 8), "cnn_bn", preserve=True)
    xs, ys = torch_cases(m, (3, 8, 8), 13)
    # 8x8 -conv p1-> 8x8 -pool2-> 4x4 -conv k3 d2 s2 p2-> 2x2 -avg2 s1-> 1x1
    write_expect("cnn_bn", (3, 8, 8),
                 ["normalize", "conv2d", "relu", "maxpool2d", "conv2d", "tanh", "avgpool2d", "flatten", "dense", "relu",
                  "dense"],
                 6 + 4 * 27 + 4 + 5 * 36 + 5 + 5 * 6 + 6 + 6 * 3 + 3, xs, ys)


class CnnGap(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 3, (3, 2), stride=(1, 2), padding=(1, 0))
        self.pool = nn.MaxPool2d(3, stride=2, padding=1)
        self.c2 = nn.Conv2d(3, 4, 2)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        x = self.pool(F.leaky_relu(self.c1(x), float(np.float32(0.01))))
        x = torch.sigmoid(self.c2(x))
        x = self.gap(x)
        x = x.view(x.size(0), -1)
        return self.fc(x)


class ResBlocks(nn.Module):
    """Two residual blocks: an identity shortcut and a 1x1-conv projection shortcut,
    BatchNormalization after every conv (folded) and one after an add (its own
    per-channel layer)."""

    def __init__(self):
        super().__init__()
        self.c0 = nn.Conv2d(2, 4, 3, padding=1)
        self.c1, self.b1 = nn.Conv2d(4, 4, 3, padding=1), nn.BatchNorm2d(4)
        self.c2, self.b2 = nn.Conv2d(4, 4, 3, padding=1), nn.BatchNorm2d(4)
        self.c3, self.b3 = nn.Conv2d(4, 6, 3, stride=2, padding=1), nn.BatchNorm2d(6)
        self.c4, self.b4 = nn.Conv2d(6, 6, 3, padding=1), nn.BatchNorm2d(6)
        self.proj, self.bp = nn.Conv2d(4, 6, 1, stride=2), nn.BatchNorm2d(6)
        self.post = nn.BatchNorm2d(6)
        self.fc = nn.Linear(6 * 3 * 3, 3)

    def forward(self, x):
        x = F.relu(self.c0(x))
        y = F.relu(self.b1(self.c1(x)))
        x = F.relu(self.b2(self.c2(y)) + x)
        y = F.relu(self.b3(self.c3(x)))
        x = F.relu(self.post(self.b4(self.c4(y)) + self.bp(self.proj(x))))
        return self.fc(x.flatten(1))


def res_blocks():
    torch.manual_seed(5)
    gen = torch.Generator().manual_seed(15)
    m = ResBlocks()
    for bn in (m.b1, m.b2, m.b3, m.b4, m.bp, m.post):
        randomize_bn(bn, gen)
    with torch.no_grad():
        m.post.weight.abs_().add_(0.1)   # a standalone BatchNormalization needs a positive scale
    m.eval()
    export(m, torch.zeros(1, 2, 6, 6), "res_blocks", preserve=True)
    xs, ys = torch_cases(m, (2, 6, 6), 16)
    write_expect("res_blocks", (2, 6, 6),
                 ["conv2d", "relu", "conv2d", "relu", "conv2d", "add", "relu", "conv2d", "relu", "conv2d", "conv2d",
                  "add", "normalize", "relu", "flatten", "dense"],
                 (4 * 18 + 4) + 2 * (4 * 36 + 4) + (6 * 36 + 6) + (6 * 54 + 6) + (6 * 4 + 6) + 12 + (3 * 54 + 3),
                 xs, ys)


def cnn_gap():
    torch.manual_seed(4)
    m = CnnGap().eval()
    export(m, torch.zeros(1, 1, 7, 9), "cnn_gap", dynamic=False)
    xs, ys = torch_cases(m, (1, 7, 9), 14)
    write_expect("cnn_gap", (1, 7, 9),
                 ["conv2d", "leaky_relu", "maxpool2d", "conv2d", "sigmoid", "avgpool2d", "flatten", "dense"],
                 3 * 6 + 3 + 4 * 12 + 4 + 4 * 2 + 2, xs, ys)


def handmade():
    """DOUBLE tensors in double_data, Constant/Transpose/Identity/Dropout, Gemm alpha/beta
    with transB=0, scalar Sub/Mul normalization, Reshape of the input, padded AveragePool."""
    rng = np.random.default_rng(5)
    wc = rng.standard_normal((2, 1, 2, 2))
    bc = rng.standard_normal(2)
    wt = rng.standard_normal((5, 24))          # stored [out,in], Transposed to [in,out] for MatMul
    b1 = rng.standard_normal((1, 5))
    w2 = rng.standard_normal((5, 3))           # Gemm transB = 0: [in,out]
    c2 = rng.standard_normal((1, 3))

    def dt(name, a):
        t = helper.make_tensor(name, TensorProto.DOUBLE, a.shape, a.ravel().tolist())
        return t

    nodes = [
        helper.make_node("Constant", [], ["half"], value=helper.make_tensor("h", TensorProto.DOUBLE, [], [0.5])),
        helper.make_node("Sub", ["input", "half"], ["n1"], name="center"),
        helper.make_node("Mul", ["n1", "four"], ["n2"], name="scale"),
        helper.make_node("Reshape", ["n2", "img_shape"], ["img"], name="to_image"),
        helper.make_node("Conv", ["img", "wc", "bc"], ["c"], name="conv", pads=[1, 1, 0, 0]),
        helper.make_node("Identity", ["c"], ["c_id"], name="ident"),
        helper.make_node("AveragePool", ["c_id"], ["p"], name="avg", kernel_shape=[2, 2], strides=[1, 1],
                         pads=[1, 0, 0, 1], count_include_pad=0),
        helper.make_node("Relu", ["p"], ["r"], name="relu"),
        helper.make_node("Flatten", ["r"], ["f"], name="flat", axis=1),
        helper.make_node("Transpose", ["wt"], ["wt_T"], name="wT", perm=[1, 0]),
        helper.make_node("MatMul", ["f", "wt_T"], ["mm"], name="mm"),
        helper.make_node("Add", ["b1", "mm"], ["h1"], name="bias1"),
        helper.make_node("Dropout", ["h1"], ["d"], name="drop"),
        helper.make_node("Tanh", ["d"], ["t"], name="tanh"),
        helper.make_node("Gemm", ["t", "w2", "c2"], ["logits"], name="gemm", alpha=0.75, beta=-2.0, transB=0),
    ]
    inits = [dt("four", np.array([4.0])), numpy_helper.from_array(np.array([1, 1, 3, 4], dtype=np.int64), "img_shape"),
             dt("wc", wc), dt("bc", bc), dt("wt", wt), dt("b1", b1), dt("w2", w2), dt("c2", c2)]
    graph = helper.make_graph(nodes, "handmade", [helper.make_tensor_value_info("input", TensorProto.DOUBLE, ["N", 12])],
                              [helper.make_tensor_value_info("logits", TensorProto.DOUBLE, ["N", 3])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="make_onnx_fixtures")
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(OUT, "handmade.onnx"))

    T = lambda a: torch.tensor(a, dtype=torch.float64)
    gen = torch.Generator().manual_seed(15)
    xs, ys = [], []
    for _ in range(N_CASES):
        x = torch.rand(1, 12, generator=gen, dtype=torch.float64)
        h = ((x - 0.5) * 4.0).view(1, 1, 3, 4)
        h = F.conv2d(F.pad(h, (1, 0, 1, 0)), T(wc), T(bc))                 # pads top=1,left=1
        # AveragePool pads [top=1, left=0, bottom=0, right=1], padding cells not counted
        ones = torch.ones_like(h)
        hp, op = F.pad(h, (0, 1, 1, 0)), F.pad(ones, (0, 1, 1, 0))
        h = F.avg_pool2d(hp, 2, 1, divisor_override=1) / F.avg_pool2d(op, 2, 1, divisor_override=1)
        h = torch.relu(h).flatten(1)
        h = torch.tanh(h @ T(wt).T + T(b1))
        ys.append((0.75 * (h @ T(w2)) - 2.0 * T(c2)).numpy())
        xs.append(x.numpy())
    # input 12 -> reshaped to 1x3x4; normalization is scalar, so it stays one channel
    write_expect("handmade", (1, 3, 4), ["normalize", "conv2d", "avgpool2d", "relu", "flatten", "dense", "tanh", "dense"],
                 2 + 2 * 4 + 2 + 5 * 24 + 5 + 5 * 3 + 3, xs, ys)


def input_ranks():
    """The graph input as exporters write it: [F], [1,1,F] and [1,H,W] for MLPs
    (VNN-COMP's MNIST nets take [1,1,784]), and [1,H,W,C] read by a Transpose
    to NCHW (tf2onnx). The .expect inputs are in the native C,H,W order."""
    def cases(m, shape, seed, to_native=lambda x: x):
        gen = torch.Generator().manual_seed(seed)
        xs = [torch.rand(shape, generator=gen, dtype=torch.float64) for _ in range(N_CASES)]
        m64 = m.double().eval()
        with torch.no_grad():
            ys = [m64(x).numpy() for x in xs]
        m.float()
        return [to_native(x).numpy() for x in xs], ys

    for name, shape, seed in (("in_rank1", (12,), 21), ("in_rank3_flat", (1, 1, 12), 22)):
        torch.manual_seed(seed)
        m = nn.Sequential(nn.Linear(12, 5), nn.ReLU(), nn.Linear(5, 3)).eval()
        export(m, torch.zeros(shape), name, dynamic=False)
        xs, ys = cases(m, shape, seed)
        # MatMul + Add keep the leading dims; Gemm needs 2-D
        write_expect(name, (1, 1, 12), ["dense", "relu", "dense"], 12 * 5 + 5 + 5 * 3 + 3, xs, ys)

    torch.manual_seed(23)
    m = nn.Sequential(nn.Flatten(), nn.Linear(12, 4), nn.Tanh(), nn.Linear(4, 2)).eval()
    export(m, torch.zeros(1, 3, 4), "in_rank3_image", dynamic=False)
    xs, ys = cases(m, (1, 3, 4), 23)
    write_expect("in_rank3_image", (1, 3, 4), ["flatten", "dense", "tanh", "dense"], 12 * 4 + 4 + 4 * 2 + 2, xs, ys)

    class Nhwc(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(2, 3, 3)
            self.fc = nn.Linear(3 * 3 * 4, 2)

        def forward(self, x):
            return self.fc(torch.flatten(F.relu(self.conv(x.permute(0, 3, 1, 2))), 1))

    torch.manual_seed(24)
    m = Nhwc().eval()
    export(m, torch.zeros(1, 5, 6, 2), "in_nhwc")
    xs, ys = cases(m, (1, 5, 6, 2), 24, lambda x: x.permute(0, 3, 1, 2))
    write_expect("in_nhwc", (2, 5, 6), ["conv2d", "relu", "flatten", "dense"], 3 * 18 + 3 + 36 * 2 + 2, xs, ys)


class ViewNet(nn.Module):
    """x.view(x.size(0), -1): with a symbolic batch PyTorch writes Shape, Gather,
    Unsqueeze, Concat and Reshape (Unsqueeze's axes an attribute before opset 13)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 2)
        self.fc = nn.Linear(2 * 3 * 3, 3)

    def forward(self, x):
        x = F.relu(self.conv(x))
        return self.fc(x.view(x.size(0), -1))


def flatten_chains():
    for opset in (11, 13):
        name = "flatten_chain_op%d" % opset
        torch.manual_seed(30 + opset)
        m = ViewNet().eval()
        export(m, torch.zeros(1, 1, 4, 4), name, opset=opset)
        xs, ys = torch_cases(m, (1, 4, 4), 30 + opset)
        write_expect(name, (1, 4, 4), ["conv2d", "relu", "flatten", "dense"], 2 * 4 + 2 + 18 * 3 + 3, xs, ys)


def final_softmax():
    """Softmax (opset 13, axis -1) and LogSoftmax (opset 11, axis 1) as the last
    node are dropped: the expected outputs are the logits before them."""
    for name, opset, final in (("softmax_last", 13, nn.Softmax(dim=-1)), ("logsoftmax_last", 11, nn.LogSoftmax(dim=1))):
        torch.manual_seed(40 + opset)
        body = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 4)).eval()
        export(nn.Sequential(body, final).eval(), torch.zeros(1, 6), name, opset=opset)
        xs, ys = torch_cases(body, (6,), 40 + opset)
        write_expect(name, (1, 1, 6), ["dense", "relu", "dense"], 6 * 5 + 5 + 5 * 4 + 4, xs, ys)


def same_pad_half():
    """auto_pad SAME_UPPER on Conv (kernel 2x3) and AveragePool, SAME_LOWER on
    MaxPool with stride 2, float16 initializers (raw_data and int32_data bits)
    cast to float; numpy/PyTorch float64 reference with the pads ONNX defines."""
    rng = np.random.default_rng(50)
    wc = rng.standard_normal((3, 2, 2, 3)).astype(np.float16)
    bc = rng.standard_normal(3).astype(np.float16)
    wf = rng.standard_normal((2, 27)).astype(np.float16)
    bf = rng.standard_normal(2).astype(np.float32)
    # subnormal halves (below 2^-14) in both storage forms, and a negative zero
    wc[0, 0, 0, :2] = np.float16(-3.0e-5), np.float16(6e-8)
    wf[0, :3] = np.float16(4.5e-5), np.float16(-6e-8), np.float16(-0.0)
    # make_tensor stores each half's bits in int32_data (no raw_data)
    half_bits = helper.make_tensor("wf16", TensorProto.FLOAT16, wf.shape, wf.astype(np.float32).ravel().tolist())
    nodes = [
        helper.make_node("Cast", ["wc16"], ["wc"], name="cast_wc", to=TensorProto.FLOAT),
        helper.make_node("Cast", ["bc16"], ["bc"], name="cast_bc", to=TensorProto.FLOAT),
        helper.make_node("Cast", ["wf16"], ["wf"], name="cast_wf", to=TensorProto.FLOAT),
        helper.make_node("Conv", ["input", "wc", "bc"], ["c"], name="conv", kernel_shape=[2, 3], auto_pad="SAME_UPPER"),
        helper.make_node("Relu", ["c"], ["r"], name="relu"),
        helper.make_node("MaxPool", ["r"], ["m"], name="mp", kernel_shape=[2, 2], strides=[2, 2], auto_pad="SAME_LOWER"),
        helper.make_node("AveragePool", ["m"], ["a"], name="ap", kernel_shape=[3, 3], auto_pad="SAME_UPPER"),
        helper.make_node("Flatten", ["a"], ["f"], name="flat"),
        helper.make_node("Gemm", ["f", "wf", "bf"], ["logits"], name="fc", transB=1),
    ]
    inits = [numpy_helper.from_array(wc, "wc16"), numpy_helper.from_array(bc, "bc16"), half_bits,
             numpy_helper.from_array(bf, "bf")]
    graph = helper.make_graph(nodes, "same_pad_half",
                              [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 2, 5, 5])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 2])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="make_onnx_fixtures")
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, os.path.join(OUT, "same_pad_half.onnx"))

    T = lambda a: torch.tensor(np.asarray(a, dtype=np.float64))
    gen = torch.Generator().manual_seed(51)
    xs, ys = [], []
    for _ in range(N_CASES):
        x = torch.rand(1, 2, 5, 5, generator=gen, dtype=torch.float64)
        # conv 2x3, stride 1, in 5x5: total pads H 1 -> (0,1), W 2 -> (1,1); F.pad is (left,right,top,bottom)
        h = torch.relu(F.conv2d(F.pad(x, (1, 1, 0, 1)), T(wc), T(bc)))
        # maxpool 2x2 stride 2, in 5: out 3, total 1, SAME_LOWER puts it first
        h = F.max_pool2d(F.pad(h, (1, 0, 1, 0), value=-np.inf), 2, 2)
        # avgpool 3x3 stride 1, in 3: total 2 -> (1,1); padding cells not counted
        hp, op = F.pad(h, (1, 1, 1, 1)), F.pad(torch.ones_like(h), (1, 1, 1, 1))
        h = F.avg_pool2d(hp, 3, 1, divisor_override=1) / F.avg_pool2d(op, 3, 1, divisor_override=1)
        ys.append((h.flatten(1) @ T(wf).T + T(bf)).numpy())
        xs.append(x.numpy())
    write_expect("same_pad_half", (2, 5, 5), ["conv2d", "relu", "maxpool2d", "avgpool2d", "flatten", "dense"],
                 3 * 12 + 3 + 2 * 27 + 2, xs, ys)


class CeilPools(nn.Module):
    """PyTorch's pooling options as exporters write them: ceil_mode on MaxPool and
    AveragePool (the last window reaches past the input: extra cells at the end),
    count_include_pad True (declared padding counts in the divisor, the ceil
    cells do not) and False."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3, padding=1)
        self.mp = nn.MaxPool2d(3, stride=2, ceil_mode=True)                                   # 8 -> 4 (floor: 3)
        self.ap1 = nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=True)  # 4 -> 3 (floor: 2)
        self.ap2 = nn.AvgPool2d(2, stride=2, ceil_mode=True, count_include_pad=False)         # 3 -> 2 (floor: 1)
        self.fc = nn.Linear(2 * 2 * 2, 3)

    def forward(self, x):
        x = torch.tanh(self.mp(self.conv(x)))
        return self.fc(torch.flatten(self.ap2(self.ap1(x)), 1))


def pool_ceil():
    torch.manual_seed(55)
    m = CeilPools().eval()
    export(m, torch.zeros(1, 1, 8, 8), "pool_ceil")
    xs, ys = torch_cases(m, (1, 8, 8), 56)
    write_expect("pool_ceil", (1, 8, 8), ["conv2d", "maxpool2d", "tanh", "avgpool2d", "avgpool2d", "flatten", "dense"],
                 18 + 2 + 8 * 3 + 3, xs, ys)
    # ceil((5 + 2 - 2) / 2) + 1 = 4 windows, but the 4th would start at 6 - 1 = 5,
    # past the input and its leading padding: dropped (3, as floor gives here).
    # No layer after it fixes the size: onnxruntime's kernels drop that window too,
    # but its loader's shape inference does not, and refuses a Gemm of 9 inputs.
    m = nn.Sequential(nn.MaxPool2d(2, stride=2, padding=1, ceil_mode=True), nn.Flatten()).eval()
    export(m, torch.zeros(1, 1, 5, 5), "pool_ceil_drop")
    xs, ys = torch_cases(m, (1, 5, 5), 58)
    write_expect("pool_ceil_drop", (1, 5, 5), ["maxpool2d", "flatten"], 0, xs, ys)


def pool_window_ref(x, op, k, s, pads, ceil, counted):
    """Pooling of one [C,H,W] array by the definition: windows from ONNX's output
    size (ceil_mode with the last window starting inside the input or its leading
    padding), max or sum over the real cells, the average divided by the window's
    cells inside the input grown by `counted` padding cells per side."""
    c_n, h, w = x.shape

    def size(n, kk, ss, a, b):
        span = n + a + b - kk
        o = (-(-span // ss) if ceil else span // ss) + 1
        return o - 1 if ceil and (o - 1) * ss >= n + a else o
    ho, wo = size(h, k[0], s[0], pads[0], pads[2]), size(w, k[1], s[1], pads[1], pads[3])
    y = np.zeros((c_n, ho, wo))
    for oy in range(ho):
        for ox in range(wo):
            y0, x0 = oy * s[0] - pads[0], ox * s[1] - pads[1]
            rows = [r for r in range(y0, y0 + k[0]) if 0 <= r < h]
            cols = [q for q in range(x0, x0 + k[1]) if 0 <= q < w]
            n_div = (len([r for r in range(y0, y0 + k[0]) if -counted[0] <= r < h + counted[2]]) *
                     len([q for q in range(x0, x0 + k[1]) if -counted[1] <= q < w + counted[3]]))
            win = x[:, rows][:, :, cols].reshape(c_n, -1)
            y[:, oy, ox] = win.max(axis=1) if op == "max" else win.sum(axis=1) / n_div
    return y


def pool_ceil_asym():
    """ceil_mode and count_include_pad with asymmetric pads, auto_pad VALID and
    SAME_LOWER, which PyTorch cannot express: numpy float64 reference by the
    definition (pool_window_ref), onnxruntime cross-checks it (tests/cli_onnx_ort.sh)."""
    rng = np.random.default_rng(59)
    wf = rng.standard_normal((3, 2 * 2 * 2))
    bf = rng.standard_normal(3)
    nodes = [
        # 8x9 -> 5x4 (floor: 4x3): the last row window covers row 7, a declared padding
        # row (counted) and a ceil row (not counted); the last column window column 8
        # and a ceil column
        helper.make_node("AveragePool", ["input"], ["a1"], name="ap_cip", kernel_shape=[3, 2], strides=[2, 3],
                         pads=[1, 1, 1, 0], ceil_mode=1, count_include_pad=1),
        helper.make_node("Relu", ["a1"], ["r"], name="relu"),
        # 5x4 -> 3x3: rows: ceil((5+2-2)/2)+1 = 4, but the 4th window would start at
        # 6-1 = 5, past the input and its top padding: dropped; columns: 3 (floor: 2)
        helper.make_node("MaxPool", ["r"], ["m"], name="mp_ceil", kernel_shape=[2, 2], strides=[2, 2],
                         pads=[1, 1, 1, 0], ceil_mode=1),
        # 3x3: VALID, ceil: 2x2 with the cut windows averaged over their real cells
        helper.make_node("AveragePool", ["m"], ["a2"], name="ap_valid", kernel_shape=[2, 2], strides=[2, 2],
                         auto_pad="VALID", ceil_mode=1, count_include_pad=1),
        # SAME_LOWER, stride 1 kernel 2: one padding row/column at the top/left, counted
        helper.make_node("AveragePool", ["a2"], ["a3"], name="ap_same", kernel_shape=[2, 2], auto_pad="SAME_LOWER",
                         count_include_pad=1),
        helper.make_node("Flatten", ["a3"], ["f"], name="flat"),
        helper.make_node("Gemm", ["f", "wf", "bf"], ["logits"], name="fc", transB=1),
    ]
    inits = [f32("wf", wf), f32("bf", bf)]
    graph = helper.make_graph(nodes, "pool_ceil_asym",
                              [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 2, 8, 9])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 3])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="make_onnx_fixtures")
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(OUT, "pool_ceil_asym.onnx"))
    w32, b32 = wf.astype(np.float32).astype(np.float64), bf.astype(np.float32).astype(np.float64)
    rs = np.random.default_rng(60)
    xs, ys = [], []
    for _ in range(N_CASES):
        x = rs.random((2, 8, 9))
        h = pool_window_ref(x, "avg", (3, 2), (2, 3), (1, 1, 1, 0), True, (1, 1, 1, 0))
        h = pool_window_ref(np.maximum(h, 0), "max", (2, 2), (2, 2), (1, 1, 1, 0), True, (0, 0, 0, 0))
        h = pool_window_ref(h, "avg", (2, 2), (2, 2), (0, 0, 0, 0), True, (0, 0, 0, 0))
        h = pool_window_ref(h, "avg", (2, 2), (1, 1), (1, 1, 0, 0), False, (1, 1, 0, 0))
        ys.append(w32 @ h.ravel() + b32)
        xs.append(x)
    write_expect("pool_ceil_asym", (2, 8, 9), ["avgpool2d", "relu", "maxpool2d", "avgpool2d", "avgpool2d", "flatten",
                                               "dense"], 3 * 8 + 3, xs, ys)


def pad_nodes():
    """Explicit zero Pad nodes (tf2onnx writes them; PyTorch before AvgPool2d with
    count_include_pad): before a Conv (opset 11+ pads input) and before an
    AveragePool with ceil_mode (the zeros are real cells to it, so they count in
    the divisor; the ceil cells past them do not). numpy float64 reference on the
    padded arrays themselves."""
    rng = np.random.default_rng(61)
    wc, bc = rng.standard_normal((2, 1, 3, 3)), rng.standard_normal(2)
    wf, bf = rng.standard_normal((2, 2 * 4 * 3)), rng.standard_normal(2)
    i64 = lambda n, a: numpy_helper.from_array(np.array(a, dtype=np.int64), n)
    nodes = [
        helper.make_node("Pad", ["input", "p1"], ["x1"], name="pad_conv", mode="constant"),
        helper.make_node("Conv", ["x1", "wc", "bc"], ["c"], name="conv"),
        helper.make_node("Relu", ["c"], ["r"], name="relu"),
        helper.make_node("Pad", ["r", "p2", "zero"], ["x2"], name="pad_avg"),
        helper.make_node("AveragePool", ["x2"], ["a"], name="avg", kernel_shape=[2, 3], strides=[2, 2], ceil_mode=1),
        helper.make_node("Flatten", ["a"], ["f"], name="flat"),
        helper.make_node("Gemm", ["f", "wf", "bf"], ["logits"], name="fc", transB=1),
    ]
    inits = [i64("p1", [0, 0, 1, 0, 0, 0, 2, 1]), i64("p2", [0, 0, 1, 1, 0, 0, 1, 1]), f32("zero", 0.0),
             f32("wc", wc), f32("bc", bc), f32("wf", wf), f32("bf", bf)]
    graph = helper.make_graph(nodes, "pad_nodes", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 1, 4, 5])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 2])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="make_onnx_fixtures")
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, os.path.join(OUT, "pad_nodes.onnx"))
    q = lambda a: a.astype(np.float32).astype(np.float64)
    wc, bc, wf, bf = q(wc), q(bc), q(wf), q(bf)
    rs = np.random.default_rng(62)
    xs, ys = [], []
    for _ in range(N_CASES):
        x = rs.random((1, 4, 5))
        xp = np.pad(x, ((0, 0), (1, 2), (0, 1)))                       # 7x6
        c = np.array([[[np.sum(wc[o, 0] * xp[0, i:i + 3, j:j + 3]) + bc[o] for j in range(4)] for i in range(5)]
                      for o in range(2)])                              # 2x5x4
        hp = np.pad(np.maximum(c, 0), ((0, 0), (1, 1), (1, 1)))        # 2x7x6
        # k 2x3, s 2 with ceil: rows ceil(5/2)+1 = 4 (floor 3), columns ceil(3/2)+1 = 3
        # (floor 2); the last windows reach one cell past the padded map
        h = pool_window_ref(hp, "avg", (2, 3), (2, 2), (0, 0, 0, 0), True, (0, 0, 0, 0))
        ys.append(wf @ h.ravel() + bf)
        xs.append(x)
    write_expect("pad_nodes", (1, 4, 5), ["conv2d", "relu", "avgpool2d", "flatten", "dense"],
                 18 + 2 + 2 * 24 + 2, xs, ys)


class GroupConvs(nn.Module):
    """Grouped convolutions (depthwise, and 2 groups of a 1x1 conv), as MobileNet-like
    exports write them: imported as full convs with zero blocks."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(2, 4, 3)
        self.dw = nn.Conv2d(4, 4, 2, groups=4)
        self.g2 = nn.Conv2d(4, 6, 1, groups=2)
        self.fc = nn.Linear(6 * 3 * 3, 3)

    def forward(self, x):
        x = torch.tanh(self.dw(torch.relu(self.c1(x))))
        return self.fc(torch.flatten(self.g2(x), 1))


def group_conv():
    torch.manual_seed(63)
    m = GroupConvs().eval()
    export(m, torch.zeros(1, 2, 6, 6), "group_conv")
    xs, ys = torch_cases(m, (2, 6, 6), 64)
    write_expect("group_conv", (2, 6, 6), ["conv2d", "relu", "conv2d", "tanh", "conv2d", "flatten", "dense"],
                 (4 * 2 * 9 + 4) + (4 * 4 * 4 + 4) + (6 * 4 + 6) + (54 * 3 + 3), xs, ys)


def gemm_const_a():
    """Gemm with the constant as A: op(A) op(x) with transB = 1 on the row input
    gives a column [5,1]; a per-row bias [5,1] Add folds into it; the next Gemm
    takes the column as B with transA = 1 on its stored [in,out] constant, and
    alpha/beta; the graph output is the column [3,1]. numpy float64 reference."""
    rng = np.random.default_rng(60)
    a1 = rng.standard_normal((5, 4))
    c1 = rng.standard_normal((5, 1))
    b1 = rng.standard_normal((5, 1))
    a2 = rng.standard_normal((5, 3))          # transA = 1: op(A) = a2.T, [3,5]
    c2 = rng.standard_normal((3, 1))
    d = lambda n, a: helper.make_tensor(n, TensorProto.DOUBLE, a.shape, a.ravel().tolist())
    nodes = [
        helper.make_node("Gemm", ["a1", "input", "c1"], ["z1"], name="fc1", transB=1),
        helper.make_node("Add", ["z1", "b1"], ["z1b"], name="shift"),
        helper.make_node("Relu", ["z1b"], ["r"], name="relu"),
        helper.make_node("Gemm", ["a2", "r", "c2"], ["logits"], name="fc2", transA=1, alpha=0.5, beta=-1.5),
    ]
    graph = helper.make_graph(nodes, "gemm_const_a", [helper.make_tensor_value_info("input", TensorProto.DOUBLE, [1, 4])],
                              [helper.make_tensor_value_info("logits", TensorProto.DOUBLE, [3, 1])],
                              [d("a1", a1), d("c1", c1), d("b1", b1), d("a2", a2), d("c2", c2)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="make_onnx_fixtures")
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, os.path.join(OUT, "gemm_const_a.onnx"))
    rs = np.random.default_rng(61)
    xs, ys = [], []
    for _ in range(N_CASES):
        x = rs.random((1, 4))
        h = np.maximum(a1 @ x.T + c1 + b1, 0)
        ys.append(0.5 * (a2.T @ h) - 1.5 * c2)
        xs.append(x)
    write_expect("gemm_const_a", (1, 1, 4), ["dense", "relu", "dense"], 5 * 4 + 5 + 3 * 5 + 3, xs, ys)


class OpsetNet(nn.Module):
    """What PyTorch writes for opsets 7 to 17: BatchNormalization (spatial in 7-8),
    the view chain (Cast of its constants in 7-8, Unsqueeze axes an attribute
    before 13, an input after), Dropout, a final LogSoftmax (axis 1 coerces to
    2-D before 13)."""

    def __init__(self):
        super().__init__()
        self.c, self.bn, self.d = nn.Conv2d(1, 2, 3, padding=1), nn.BatchNorm2d(2), nn.Dropout(0.3)
        self.fc = nn.Linear(2 * 3 * 3, 4)

    def logits(self, x):
        x = F.max_pool2d(F.relu(self.bn(self.c(x))), 2)
        return self.fc(self.d(x.view(x.size(0), -1)))

    def forward(self, x):
        return F.log_softmax(self.logits(x), dim=1)


class Logits(nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net.logits(x)


def opsets():
    for opset in range(7, 18):
        name = "opset%d" % opset
        torch.manual_seed(70)
        m = OpsetNet()
        randomize_bn(m.bn, torch.Generator().manual_seed(71))
        m.eval()
        export(m, torch.zeros(1, 1, 6, 6), name, opset=opset, preserve=True)  # BatchNormalization kept, not fused in float32
        xs, ys = torch_cases(Logits(m), (1, 6, 6), 72)
        write_expect(name, (1, 6, 6), ["conv2d", "relu", "maxpool2d", "flatten", "dense"], 2 * 9 + 2 + 18 * 4 + 4, xs, ys)


def dropout_inputs():
    """Dropout as opset 12+ writes it: ratio and training_mode as inputs;
    inference (training_mode false) is the identity. numpy float64 reference."""
    rng = np.random.default_rng(80)
    w = rng.standard_normal((3, 4))
    b = rng.standard_normal(3)
    d = lambda n, a: helper.make_tensor(n, TensorProto.DOUBLE, np.shape(a), np.ravel(a).tolist())
    nodes = [helper.make_node("Dropout", ["input", "ratio", "train"], ["x"], name="drop"),
             helper.make_node("Gemm", ["x", "w", "b"], ["logits"], name="fc", transB=1)]
    inits = [d("ratio", np.array(0.25)), helper.make_tensor("train", TensorProto.BOOL, [], [False]), d("w", w), d("b", b)]
    graph = helper.make_graph(nodes, "dropout_inputs", [helper.make_tensor_value_info("input", TensorProto.DOUBLE, [1, 4])],
                              [helper.make_tensor_value_info("logits", TensorProto.DOUBLE, [1, 3])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="make_onnx_fixtures")
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, os.path.join(OUT, "dropout_inputs.onnx"))
    rs = np.random.default_rng(81)
    xs = [rs.random((1, 4)) for _ in range(N_CASES)]
    write_expect("dropout_inputs", (1, 1, 4), ["dense"], 15, xs, [x @ w.T + b for x in xs])


def weight_first():
    """W @ x as converters of .nnet files write it: MatMul(W, x) on a vector
    input [3] (the result is a vector again), and on a column input [4,1]
    (Gemm with a constant A and transB = 0, then MatMul(W, column)), with a
    scalar input shift and per-row biases. numpy float64 references."""
    rng = np.random.default_rng(90)
    d = lambda n, a: helper.make_tensor(n, TensorProto.DOUBLE, np.shape(a), np.ravel(a).tolist())

    def save(name, nodes, inits, in_shape, out_shape):
        graph = helper.make_graph(nodes, name, [helper.make_tensor_value_info("input", TensorProto.DOUBLE, in_shape)],
                                  [helper.make_tensor_value_info("logits", TensorProto.DOUBLE, out_shape)], inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="make_onnx_fixtures")
        onnx.checker.check_model(model, full_check=True)
        onnx.save(model, os.path.join(OUT, name + ".onnx"))

    w1, b1, w2, b2 = rng.standard_normal((5, 3)), rng.standard_normal(5), rng.standard_normal((2, 5)), rng.standard_normal(2)
    save("matmul_weight_first", [helper.make_node("MatMul", ["w1", "input"], ["z"], name="mm1"),
                                 helper.make_node("Add", ["z", "b1"], ["zb"], name="bias1"),
                                 helper.make_node("Relu", ["zb"], ["r"], name="relu"),
                                 helper.make_node("MatMul", ["w2", "r"], ["y"], name="mm2"),
                                 helper.make_node("Add", ["y", "b2"], ["logits"], name="bias2")],
         [d("w1", w1), d("b1", b1), d("w2", w2), d("b2", b2)], [3], [2])
    rs = np.random.default_rng(91)
    xs = [rs.random(3) for _ in range(N_CASES)]
    write_expect("matmul_weight_first", (1, 1, 3), ["dense", "relu", "dense"], 15 + 5 + 10 + 2, xs,
                 [w2 @ np.maximum(w1 @ x + b1, 0) + b2 for x in xs])

    a1, c1, w3 = rng.standard_normal((3, 4)), rng.standard_normal((3, 1)), rng.standard_normal((2, 3))
    save("column_input", [helper.make_node("Sub", ["input", "half"], ["n"], name="center"),
                          helper.make_node("Gemm", ["a1", "n", "c1"], ["z"], name="fc"),
                          helper.make_node("Tanh", ["z"], ["t"], name="tanh"),
                          helper.make_node("MatMul", ["w3", "t"], ["logits"], name="mm")],
         [d("half", np.array(0.5)), d("a1", a1), d("c1", c1), d("w3", w3)], [4, 1], [2, 1])
    xs = [rs.random((4, 1)) for _ in range(N_CASES)]
    write_expect("column_input", (1, 1, 4), ["normalize", "dense", "tanh", "dense"], 2 + 12 + 3 + 6 + 2, xs,
                 [w3 @ np.tanh(a1 @ (x - 0.5) + c1) for x in xs])


class UnsqueezeNet(nn.Module):
    """A [N,H,W] input given its channel axis by x.unsqueeze(1) before a Conv."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)
        self.fc = nn.Linear(2 * 3 * 3, 3)

    def forward(self, x):
        return self.fc(torch.flatten(torch.relu(self.conv(x.unsqueeze(1))), 1))


def unsqueeze_input():
    for opset in (11, 13):
        name = "unsqueeze_op%d" % opset
        torch.manual_seed(95)
        m = UnsqueezeNet().eval()
        export(m, torch.zeros(1, 5, 5), name, opset=opset)
        xs, ys = torch_cases(m, (5, 5), 96)
        write_expect(name, (1, 5, 5), ["conv2d", "relu", "flatten", "dense"], 2 * 9 + 2 + 18 * 3 + 3, xs, ys)


def fashion_models():
    """28x28 models for the CLI test on Fashion-MNIST (predict on .onnx vs imported .h5)."""
    torch.manual_seed(7)
    cnn = nn.Sequential(nn.Conv2d(1, 3, 5, stride=3), nn.BatchNorm2d(3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                        nn.Linear(3 * 4 * 4, 10)).eval()
    randomize_bn(cnn[1], torch.Generator().manual_seed(8))
    export(cnn, torch.zeros(1, 1, 28, 28), "fashion_cnn", preserve=True)

    class Mlp(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Flatten(), nn.Linear(784, 16), nn.Sigmoid(), nn.Linear(16, 10))

        def forward(self, x):
            return self.body((x - 0.2860) / 0.3530)

    export(Mlp().eval(), torch.zeros(1, 1, 28, 28), "fashion_mlp")


# ----------------------------------------------------------------- bad models

def save_bad(name, nodes, inits, pattern, in_shape=(1, 4), out_shape=(1, 2), check=True):
    graph = helper.make_graph(nodes, name, [helper.make_tensor_value_info("input", TensorProto.FLOAT, list(in_shape))],
                              [helper.make_tensor_value_info("out", TensorProto.FLOAT, list(out_shape))], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    if check:
        onnx.checker.check_model(model)
    onnx.save(model, os.path.join(OUT, name + ".onnx"))
    with open(os.path.join(OUT, name + ".err"), "w") as f:
        f.write(pattern + "\n")


def f32(name, a):
    return numpy_helper.from_array(np.asarray(a, dtype=np.float32), name)


def bad_models():
    rng = np.random.default_rng(6)
    w = f32("w", rng.standard_normal((2, 4)))
    b = f32("b", np.zeros(2))
    save_bad("bad_softmax", [helper.make_node("Softmax", ["input"], ["z"], name="prob"),
                             helper.make_node("Gemm", ["z", "w", "b"], ["out"], name="fc", transB=1)], [w, b],
             "node 'prob' \\(op Softmax\\) is only supported as the last node")
    save_bad("bad_softmax_axis", [helper.make_node("Gemm", ["input", "w", "b"], ["z"], name="fc", transB=1),
                                  helper.make_node("Softmax", ["z"], ["out"], name="prob", axis=0)], [w, b],
             "node 'prob' \\(op Softmax\\): attribute 'axis' = 0 does not take the softmax over all 2 outputs")
    save_bad("bad_unknown_op", [helper.make_node("Gemm", ["input", "w", "b"], ["z"], name="fc", transB=1),
                                helper.make_node("Erf", ["z"], ["out"], name="erf")], [w, b],
             "node 'erf' \\(op Erf\\) is not supported; supported ops: Gemm")
    w4 = f32("w4", rng.standard_normal((4, 4)))
    save_bad("bad_residual", [helper.make_node("Gemm", ["input", "w4"], ["z"], name="fc", transB=1),
                              helper.make_node("Relu", ["z"], ["r"], name="act"),
                              helper.make_node("Add", ["r", "input"], ["s"], name="skip"),
                              helper.make_node("Gemm", ["s", "w", "b"], ["out"], name="head", transB=1)], [w4, w, b],
             "graph input 'input' is read 2 times \\(by 'fc', 'skip'\\)")
    save_bad("bad_fork", [helper.make_node("Gemm", ["input", "w4"], ["z"], name="fc", transB=1),
                          helper.make_node("Relu", ["z"], ["r"], name="act"),
                          helper.make_node("Tanh", ["z"], ["t"], name="act2"),
                          helper.make_node("Mul", ["r", "t"], ["s"], name="join"),
                          helper.make_node("Gemm", ["s", "w", "b"], ["out"], name="head", transB=1)], [w4, w, b],
             "node 'join' \\(op Mul\\) combines two computed values \\('r' and 't'\\): only Add of two values")
    w3 = f32("w3", rng.standard_normal((3, 4)))
    save_bad("bad_add_shapes", [helper.make_node("Gemm", ["input", "w4"], ["z"], name="fc", transB=1),
                                helper.make_node("Gemm", ["z", "w3"], ["y"], name="fc3", transB=1),
                                helper.make_node("Add", ["z", "y"], ["s"], name="join"),
                                helper.make_node("Gemm", ["s", "w", "b"], ["out"], name="head", transB=1)],
             [w4, w3, w, b], "node 'join' \\(op Add\\): layer 002 \\(add\\): its inputs have shapes 4x1x1 "
             "\\(layer 0\\) and 3x1x1 \\(layer 1\\)", check=False)
    save_bad("bad_concat", [helper.make_node("Concat", ["input", "input"], ["c"], name="cat", axis=1),
                            helper.make_node("Gemm", ["c", "w", "b"], ["out"], name="fc", transB=1)],
             [w, b], "graph input 'input' is read 2 times")
    wg = f32("wg", rng.standard_normal((3, 1, 3, 3)))
    save_bad("bad_group_conv", [helper.make_node("Conv", ["input", "wg"], ["c"], name="dw", group=3),
                                helper.make_node("Flatten", ["c"], ["out"], name="flat")], [wg],
             "node 'dw' \\(op Conv\\): weight 'wg' of 3 output and 1 input channels per group, group 3, does not fit "
             "a value of 2 channels", in_shape=(1, 2, 5, 5), out_shape=(1, 27), check=False)
    save_bad("bad_ceil_pool", [helper.make_node("MaxPool", ["input"], ["p"], name="mp", kernel_shape=[2, 2], ceil_mode=2),
                               helper.make_node("Flatten", ["p"], ["out"], name="flat")], [],
             "node 'mp' \\(op MaxPool\\): attribute 'ceil_mode' = 2 must be 0 or 1", in_shape=(1, 1, 5, 5),
             out_shape=(1, 9), check=False)
    save_bad("bad_avg_pad", [helper.make_node("AveragePool", ["input"], ["p"], name="ap", kernel_shape=[2, 2],
                                              pads=[1, 1, 1, 1], count_include_pad=-1),
                             helper.make_node("Flatten", ["p"], ["out"], name="flat")], [],
             "node 'ap' \\(op AveragePool\\): attribute 'count_include_pad' = -1 must be 0 or 1", in_shape=(1, 1, 4, 4),
             out_shape=(1, 25), check=False)
    save_bad("bad_pad_maxpool", [helper.make_node("Pad", ["input", "pp"], ["x"], name="pad"),
                                 helper.make_node("MaxPool", ["x"], ["p"], name="mp", kernel_shape=[2, 2]),
                                 helper.make_node("Flatten", ["p"], ["out"], name="flat")],
             [numpy_helper.from_array(np.array([0, 0, 1, 1, 0, 0, 1, 1], dtype=np.int64), "pp")],
             "node 'pad' \\(op Pad\\): non-zero pads are supported only when a Conv or an AveragePool reads the result, "
             "next \\(node 'mp' \\(op MaxPool\\) follows\\)", in_shape=(1, 1, 4, 4), out_shape=(1, 25))
    save_bad("bad_pad_reflect", [helper.make_node("Pad", ["input", "pp"], ["x"], name="pad", mode="reflect"),
                                 helper.make_node("AveragePool", ["x"], ["p"], name="ap", kernel_shape=[2, 2]),
                                 helper.make_node("Flatten", ["p"], ["out"], name="flat")],
             [numpy_helper.from_array(np.array([0, 0, 1, 1, 0, 0, 1, 1], dtype=np.int64), "pp")],
             "node 'pad' \\(op Pad\\): only padding with the constant 0 is supported \\(mode 'reflect'\\)",
             in_shape=(1, 1, 4, 4), out_shape=(1, 25))
    save_bad("bad_negative_std", [helper.make_node("Div", ["input", "s"], ["n"], name="norm"),
                                  helper.make_node("Gemm", ["n", "w", "b"], ["out"], name="fc", transB=1)],
             [f32("s", [-0.5]), w, b], "node 'norm' \\(op Div\\): input normalization of channel 0 .*std > 0")
    save_bad("bad_zero_std", [helper.make_node("Mul", ["input", "s"], ["n"], name="norm"),
                              helper.make_node("Gemm", ["n", "w", "b"], ["out"], name="fc", transB=1)],
             [f32("s", [0.0]), w, b], "node 'norm' \\(op Mul\\): input normalization of channel 0 .*std > 0")
    save_bad("bad_transA", [helper.make_node("Gemm", ["input", "w", "b"], ["out"], name="fc", transA=1, transB=1)],
             [f32("w", rng.standard_normal((2, 1))), b],
             "node 'fc' \\(op Gemm\\): attribute 'transA' = 1 is not supported on the computed input A", in_shape=(1, 1),
             out_shape=(1, 2),
             check=False)
    save_bad("bad_unknown_attr", [helper.make_node("Relu", ["input"], ["r"], name="act", slope=3),
                                  helper.make_node("Gemm", ["r", "w", "b"], ["out"], name="fc", transB=1)], [w, b],
             "node 'act' \\(op Relu\\): attribute 'slope' is not supported", check=False)
    save_bad("bad_bias_shape", [helper.make_node("MatMul", ["input", "wt"], ["z"], name="mm"),
                                helper.make_node("Add", ["z", "bb"], ["out"], name="bias")],
             [f32("wt", rng.standard_normal((4, 2))), f32("bb", np.zeros((2, 1)))],
             "node 'bias' \\(op Add\\): constant 'bb' of shape \\[2,1\\] against a value of shape \\[1,2\\] is not per-channel")
    save_bad("bad_transpose", [helper.make_node("Transpose", ["input"], ["t"], name="swap", perm=[0, 1, 3, 2]),
                               helper.make_node("Flatten", ["t"], ["out"], name="flat")], [],
             "node 'swap' \\(op Transpose\\): a Transpose of a computed value is only supported as perm \\(0,3,1,2\\)",
             in_shape=(1, 1, 2, 3), out_shape=(1, 6))
    save_bad("bad_input_rank5", [helper.make_node("Flatten", ["input"], ["out"], name="flat")], [],
             "graph input 'input' has rank 5; supported are \\[F\\], \\[N,F\\]", in_shape=(1, 1, 1, 2, 3),
             out_shape=(1, 6))
    save_bad("bad_gather_2d", [helper.make_node("Gather", ["tbl", "i"], ["g"], name="pick"),
                               helper.make_node("Reshape", ["input", "g"], ["out"], name="rs")],
             [numpy_helper.from_array(np.array([[1, 4], [4, 1]], dtype=np.int64), "tbl"),
              numpy_helper.from_array(np.array(0, dtype=np.int64), "i")],
             "node 'pick' \\(op Gather\\): only gathering from a 1-D constant", out_shape=(1, 4))
    save_bad("bad_cast_truncates", [helper.make_node("Cast", ["s"], ["si"], name="toint", to=TensorProto.INT64),
                                    helper.make_node("Reshape", ["input", "si"], ["out"], name="rs")],
             [f32("s", [1.0, 4.5])], "node 'toint' \\(op Cast\\): casting 4.5 to INT64 would truncate it",
             out_shape=(1, 4))
    save_bad("bad_gemm_outer", [helper.make_node("Gemm", ["a", "input"], ["out"], name="outer")],
             [f32("a", rng.standard_normal((2, 1)))],
             "node 'outer' \\(op Gemm\\): with the computed value as B, op\\(B\\) is a row", out_shape=(2, 4), check=False)
    save_bad("bad_dropout_training", [helper.make_node("Dropout", ["input", "", "train"], ["d"], name="drop"),
                                      helper.make_node("Gemm", ["d", "w", "b"], ["out"], name="fc", transB=1)],
             [helper.make_tensor("train", TensorProto.BOOL, [], [True]), w, b],
             "node 'drop' \\(op Dropout\\): training_mode must be a constant false")
    save_bad("bad_same_and_pads", [helper.make_node("MaxPool", ["input"], ["p"], name="mp", kernel_shape=[2, 2],
                                                    auto_pad="SAME_UPPER", pads=[1, 1, 1, 1]),
                                   helper.make_node("Flatten", ["p"], ["out"], name="flat")], [],
             "node 'mp' \\(op MaxPool\\): 'pads' together with auto_pad SAME_UPPER", in_shape=(1, 1, 4, 4),
             out_shape=(1, 16), check=False)
    save_bad("bad_matmul_row_second", [helper.make_node("MatMul", ["wm", "input"], ["out"], name="mm")],
             [f32("wm", rng.standard_normal((2, 1)))],
             "node 'mm' \\(op MatMul\\): with a constant first operand the computed value must be a vector",
             out_shape=(2, 4), check=False)
    save_bad("bad_unsqueeze_last", [helper.make_node("Unsqueeze", ["input", "ax"], ["u"], name="unsq"),
                                    helper.make_node("Flatten", ["u"], ["out"], name="flat")],
             [numpy_helper.from_array(np.array([3], dtype=np.int64), "ax")],
             "node 'unsq' \\(op Unsqueeze\\): from \\[1,2,3\\] to \\[1,2,3,1\\] moves an axis",
             in_shape=(1, 2, 3), out_shape=(1, 6))
    # dims promise 2x4 floats, the data holds 3: must be refused, not read past the end
    liar = TensorProto()
    liar.name = "w"
    liar.data_type = TensorProto.FLOAT
    liar.dims.extend([2, 4])
    liar.float_data.extend([1.0, 2.0, 3.0])
    save_bad("bad_lying_dims", [helper.make_node("Gemm", ["input", "w", "b"], ["out"], name="fc", transB=1)],
             [liar, b], "initializer 'w': dims promise 8 elements but the data holds 3", check=False)
    raw_liar = numpy_helper.from_array(np.ones((2, 4), dtype=np.float32), "w")
    raw_liar.raw_data = raw_liar.raw_data[:20]
    save_bad("bad_lying_raw", [helper.make_node("Gemm", ["input", "w", "b"], ["out"], name="fc", transB=1)],
             [raw_liar, b], "initializer 'w': dims promise 8 elements but the data holds 5", check=False)
    ext = TensorProto()
    ext.name = "w"
    ext.data_type = TensorProto.FLOAT
    ext.dims.extend([2, 4])
    ext.data_location = TensorProto.EXTERNAL
    e = ext.external_data.add()
    e.key, e.value = "location", "weights.bin"
    save_bad("bad_external", [helper.make_node("Gemm", ["input", "w", "b"], ["out"], name="fc", transB=1)],
             [ext, b], "initializer 'w': external tensor data is not supported", check=False)


def main():
    global OUT
    if len(sys.argv) != 2:
        sys.exit("usage: make_onnx_fixtures.py OUTDIR")
    OUT = sys.argv[1]
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(1)
    mlp_gemm()
    mlp_matmul()
    cnn_bn()
    cnn_gap()
    res_blocks()
    handmade()
    input_ranks()
    flatten_chains()
    final_softmax()
    same_pad_half()
    pool_ceil()
    pool_ceil_asym()
    pad_nodes()
    group_conv()
    gemm_const_a()
    opsets()
    dropout_inputs()
    weight_first()
    unsqueeze_input()
    fashion_models()
    bad_models()


if __name__ == "__main__":
    main()
