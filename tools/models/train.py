#!/usr/bin/python3
"""Trains the nncert model zoo with PyTorch and writes native HDF5 models.

--small  the committed test models (models/, all files together < 2 MiB)
--large  the large models that `make zoo` builds into models/zoo (git-ignored),
         among them a 3x32x32 CNN on fashion-mnist-rgb32 and a 10-layer CNN
--barrier  the MNIST MLPs of the LP-barrier study (tools/barrier_report.sh) into
         models/zoo: the paper's MLP-A (1x[500]) and MLP-B (2x[100]), each trained
         normally and with PGD (Madry et al.) at l_inf eps 0.1
--only NAME[,NAME...]  just these models;  --out DIR  output folder;  --list
--table  print the markdown table of models/README.md from the files in --out

Each model file follows doc/formats.md exactly: root attrs format,
version, input_shape, name; /layers/NNN groups; /meta with the data set, the test
accuracy, seed, epochs and architecture. Training is deterministic: every model
reseeds torch and numpy with its own seed before it is built, runs with
deterministic algorithms, one PyTorch thread and OpenBLAS pinned (below) on the
CPU for a fixed number of epochs, so `--only` reproduces the same weights as a
full run, whatever OMP_NUM_THREADS or OPENBLAS_* say. Weights are stored as float32 (enough
for a trained network, half the bytes); normalization constants too, so the ONNX
copies (opset 13, for a few models) hold bit-identical parameters.

The accuracy in /meta is measured on the whole test set by tools/ref/torch_forward.py
on the written file in float64 -- the exact function `nncert predict` computes --
not by the float32 training network, so the two agree image by image.
"""
import argparse
import os
import sys
import time

# PyTorch here sums its GEMMs in Debian's OpenBLAS, whose order depends on the
# library's thread count and kernel set, both read from the environment when it
# loads (torch.set_num_threads does not reach them): a zoo trained with
# OMP_NUM_THREADS=1 differs in every weight from one trained with 2. Both are
# pinned before numpy and torch load, to what this project's 2-core machines run
# by default (2 threads; Prescott, the set Debian 12's OpenBLAS 0.3.21 falls back
# to on them), so a file is the same bytes whatever the caller's environment and
# on any x86-64 CPU, and `make zoo` reproduces the zoo files measured in the docs.
os.environ["OPENBLAS_NUM_THREADS"] = "2"
os.environ["OPENBLAS_CORETYPE"] = "Prescott"

import h5py
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "ref"))
import torch_forward  # noqa: E402  (the independent float64 reader)

SEED = 20240601


# ---------------------------------------------------------------------------
# Architectures: a list of layer tuples, shared by the torch builder, the HDF5
# writer and the architecture string in /meta.
#   ("normalize",) ("flatten",) ("dense", out) ("conv2d", out, k, stride, pad)
#   ("maxpool2d", k, stride, pad) ("avgpool2d", k, stride, pad)
#   ("relu",) ("tanh",) ("sigmoid",) ("arctan",) ("leaky_relu", alpha) ("param_ramp", eta)
#   ("add", a, b): the sum of the outputs of layers a and b (-1: the model input), a
#   residual connection; a model with one is written as a version 2 file

ACTS = {"relu": ("relu",), "tanh": ("tanh",), "sigmoid": ("sigmoid",), "arctan": ("arctan",),
        "leakyrelu": ("leaky_relu", 0.1), "paramramp": ("param_ramp", 0.01)}


def mlp(widths, act):
    layers = [("normalize",), ("flatten",)]
    for w in widths:
        layers += [("dense", w), ACTS[act]]
    return layers + [("dense", 10)]


CNN_LENET = [("normalize",),
             ("conv2d", 4, 5, 1, 0), ("relu",), ("maxpool2d", 2, 2, 0),    # 4x24x24 -> 4x12x12
             ("conv2d", 8, 5, 1, 0), ("relu",), ("maxpool2d", 2, 2, 0),    # 8x8x8 -> 8x4x4
             ("flatten",), ("dense", 10)]
CNN_3X3STACK = [("normalize",),
                ("conv2d", 4, 3, 1, 1), ("relu",), ("maxpool2d", 2, 2, 0),  # 4x28x28 -> 4x14x14
                ("conv2d", 8, 3, 1, 1), ("relu",),                          # 8x14x14
                ("conv2d", 8, 3, 1, 1), ("relu",), ("maxpool2d", 2, 2, 0),  # 8x7x7
                ("conv2d", 8, 3, 1, 0), ("relu",),                          # 8x5x5
                ("flatten",), ("dense", 10)]
CNN_AVGPOOL = [("normalize",),
               ("conv2d", 4, 3, 1, 1), ("relu",), ("avgpool2d", 2, 2, 0),   # 4x14x14
               ("conv2d", 8, 3, 1, 1), ("relu",), ("avgpool2d", 3, 2, 1),   # 8x7x7, padded windows
               ("flatten",), ("dense", 10)]
CNN_MAXPOOL_K3S2 = [("normalize",),
                    ("conv2d", 4, 3, 1, 1), ("relu",), ("maxpool2d", 3, 2, 1),  # overlapping windows
                    ("conv2d", 8, 3, 1, 1), ("relu",), ("maxpool2d", 3, 2, 1),  # 8x7x7
                    ("flatten",), ("dense", 10)]
CNN_WIDE_MAXPOOL = [("normalize",),
                    ("conv2d", 16, 3, 1, 1), ("relu",), ("maxpool2d", 2, 2, 0),  # 16x14x14
                    ("conv2d", 32, 3, 1, 1), ("relu",), ("maxpool2d", 2, 2, 0),  # 32x7x7
                    ("flatten",), ("dense", 100), ("relu",), ("dense", 10)]

# The shape of the CIFAR-10 CNNs that CROWN and CNN-Cert certify (3x32x32, two
# strided 4x4 convolutions, one hidden dense layer), trained on
# fashion-mnist-rgb32 (Fashion-MNIST padded to 32x32 and copied to 3 channels):
# no CIFAR data is available here, and the shape is what the engine's cost depends on.
CNN_CIFAR_SHAPED = [("normalize",),
                    ("conv2d", 16, 4, 2, 1), ("relu",),                          # 16x16x16
                    ("conv2d", 32, 4, 2, 1), ("relu",),                          # 32x8x8
                    ("flatten",), ("dense", 100), ("relu",), ("dense", 10)]
# Ten layers with weights (8 conv, 2 dense): depth is what the backward pass's cost
# grows with, and MaxPool layers between the blocks exercise their planes deep inside.
CNN_DEEP = ([("normalize",)]
            + [("conv2d", 8, 3, 1, 1), ("relu",)] * 2 + [("maxpool2d", 2, 2, 0)]    # 8x28x28 -> 8x14x14
            + [("conv2d", 16, 3, 1, 1), ("relu",)] * 3 + [("maxpool2d", 2, 2, 0)]   # 16x14x14 -> 16x7x7
            + [("conv2d", 16, 3, 1, 1), ("relu",)] * 3                              # 16x7x7
            + [("flatten",), ("dense", 64), ("relu",), ("dense", 10)])

# A small ResNet: a strided stem, then two residual blocks of two padding-preserving
# 3x3 convolutions with identity shortcuts (the bound engine's backward pass over a
# graph: rows of a block's output reach its input by both paths and are summed).
RESNET_SMALL = [("normalize",),                                                # 0
                ("conv2d", 8, 3, 2, 1), ("relu",),                             # 1, 2: 8x14x14
                ("conv2d", 8, 3, 1, 1), ("relu",), ("conv2d", 8, 3, 1, 1),     # 3, 4, 5
                ("add", 5, 2), ("relu",),                                      # 6, 7: block 1
                ("conv2d", 8, 3, 1, 1), ("relu",), ("conv2d", 8, 3, 1, 1),     # 8, 9, 10
                ("add", 10, 7), ("relu",),                                     # 11, 12: block 2
                ("avgpool2d", 2, 2, 0),                                        # 8x7x7
                ("flatten",), ("dense", 10)]

DATA = {"fmnist": "fashion-mnist", "mnist": "mnist"}


def model(name, layers, epochs, onnx=False, input_shape=(1, 28, 28), lr=1e-3, batch=128, gain=None, data=None,
          adv_eps=None):
    """gain: Glorot-uniform initialisation with this gain instead of torch's default;
    deep sigmoid stacks need it (gain 4 offsets sigmoid's slope 1/4 at 0) to train at all.
    data: a data set name (as --data takes it, without split) other than the one the
    name's prefix implies. adv_eps: train on PGD examples of this l_inf radius
    (pgd_batch) instead of the clean images."""
    return {"name": name, "data": data or DATA[name.split("_")[0]], "layers": layers, "epochs": epochs,
            "onnx": onnx, "input_shape": input_shape, "lr": lr, "batch": batch, "gain": gain, "adv_eps": adv_eps}


def small_models():
    ms = []
    for ds, ep in (("fmnist", 5), ("mnist", 20)):   # mnist: 8,000 training images
        for act in ("relu", "tanh", "sigmoid", "arctan", "leakyrelu"):
            ms.append(model("%s_mlp_2x20_%s" % (ds, act), mlp([20, 20], act), ep,
                            onnx=(ds == "fmnist" and act in ("relu", "arctan"))))
    ms += [
        model("fmnist_mlp_10x20_relu", mlp([20] * 10, "relu"), 8),
        model("fmnist_mlp_10x20_sigmoid", mlp([20] * 10, "sigmoid"), 8, gain=4.0),
        model("fmnist_mlp_12x20_relu", mlp([20] * 12, "relu"), 8),
        # The one model stored with a flat 1x1x784 input: both layouts must load.
        model("fmnist_mlp_12x20_sigmoid", mlp([20] * 12, "sigmoid"), 8, input_shape=(1, 1, 784),
              gain=4.0),
        model("fmnist_mlp_2x20_paramramp", mlp([20, 20], "paramramp"), 5),
        model("fmnist_cnn_lenet_maxpool", CNN_LENET, 3, onnx=True),
        model("fmnist_cnn_3x3stack_maxpool", CNN_3X3STACK, 2),
        model("fmnist_cnn_avgpool", CNN_AVGPOOL, 2, onnx=True),
        model("fmnist_cnn_maxpool_k3s2", CNN_MAXPOOL_K3S2, 2, onnx=True),
        model("mnist_cnn_lenet_maxpool", CNN_LENET, 8),
        model("mnist_mlp_10x20_relu", mlp([20] * 10, "relu"), 20),
    ]
    return ms


def large_models():
    ms = []
    for ds, ep in (("mnist", 20), ("fmnist", 5)):
        for widths in ([100] * 3, [1024] * 3, [1024] * 4):
            for act in ("relu", "tanh", "sigmoid"):
                ms.append(model("%s_mlp_%dx%d_%s" % (ds, len(widths), widths[0], act), mlp(widths, act), ep))
        ms.append(model("%s_cnn_wide_maxpool" % ds, CNN_WIDE_MAXPOOL, 6 if ds == "mnist" else 3))
    ms += [
        model("fmnist_cnn_cifar_shaped", CNN_CIFAR_SHAPED, 3, input_shape=(3, 32, 32), data="fashion-mnist-rgb32"),
        model("fmnist_cnn_deep", CNN_DEEP, 3),
        model("fmnist_resnet_small", RESNET_SMALL, 3),
    ]
    return ms


# PGD training (Madry et al.): every batch is replaced by PGD examples of the
# current radius, ADV_STEPS signed-gradient steps of 2.5 eps / ADV_STEPS from a
# uniform random start, projected on the ball and the pixel range [0, 1]. The
# radius ramps up linearly over the first ADV_RAMP epochs: a small MLP trained at
# the full radius from the first step can stall at chance level.
ADV_EPS = 0.1    # the paper's ADV nets of its radius study (MNIST, l_inf 0.1)
ADV_STEPS = 10
ADV_RAMP = 5


def barrier_models():
    """MLP-A and MLP-B of the convex-relaxation-barrier study (doc/lp.md "Barrier
    study"), normally and PGD-trained, 20 epochs as the other MNIST models."""
    ms = []
    for widths in ([500], [100, 100]):
        base = "mnist_mlp_%dx%d_relu" % (len(widths), widths[0])
        ms.append(model(base, mlp(widths, "relu"), 20))
        ms.append(model(base + "_adv", mlp(widths, "relu"), 20, adv_eps=ADV_EPS))
    return ms


def pgd_batch(net, x, y, eps, gen):
    """PGD examples of the batch (x, y) within the l_inf ball of radius eps."""
    if eps <= 0:
        return x
    step = 2.5 * eps / ADV_STEPS
    lo, hi = torch.clamp(x - eps, min=0.0), torch.clamp(x + eps, max=1.0)
    xa = torch.min(torch.max(x + (2 * torch.rand(x.shape, generator=gen) - 1) * eps, lo), hi)
    for _ in range(ADV_STEPS):
        xa.requires_grad_(True)
        loss = F.cross_entropy(net(xa), y)
        g, = torch.autograd.grad(loss, xa)
        xa = torch.min(torch.max(xa.detach() + step * g.sign(), lo), hi)
    return xa.detach()


def arch_string(layers):
    def one(t):
        return t[0] if len(t) == 1 else "%s(%s)" % (t[0], ",".join(str(v) for v in t[1:]))
    return " ".join(one(t) for t in layers)


# ---------------------------------------------------------------------------
# Torch modules for training (float32).

class Normalize(nn.Module):
    def __init__(self, mean, std):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1))

    def forward(self, x):
        return (x - self.mean) / self.std


class ParamRamp(nn.Module):
    """phi(z) = eta z (z < 0), z (0 <= z <= r), eta z + (1 - eta) r (z > r), r learned per neuron."""

    def __init__(self, n, eta):
        super().__init__()
        self.eta = eta
        self.r = nn.Parameter(torch.ones(n))

    def forward(self, z):
        r = self.r.view((1,) + tuple(z.shape[1:]))
        return torch.where(z < 0, self.eta * z, torch.where(z <= r, z, self.eta * z + (1 - self.eta) * r))

    def project(self):
        # The relaxation's six cases (doc/bounds.md "Relaxations") assume r >= 0; keep r there.
        with torch.no_grad():
            self.r.clamp_(min=0.0)


class Arctan(nn.Module):
    def forward(self, x):
        return torch.atan(x)


class Add(nn.Module):
    """Placeholder of an add layer; Graph sums the two outputs it names."""

    def forward(self, x):
        return x


class Graph(nn.Module):
    """The layers of a model with residual connections: each reads the output
    before it, an add the two outputs it names (-1: the model input)."""

    def __init__(self, mods, layers):
        super().__init__()
        self.mods = nn.ModuleList(mods)
        self.adds = [t[1:] if t[0] == "add" else None for t in layers]

    def __iter__(self):
        return iter(self.mods)

    def forward(self, x):
        inp, outs = x, []
        for mod, add in zip(self.mods, self.adds):
            if add is None:
                x = mod(x)
            else:
                x = sum(outs[k] if k >= 0 else inp for k in add)
            outs.append(x)
        return x


def is_graph(spec):
    return any(t[0] == "add" for t in spec["layers"])


def build(spec, mean, std):
    """(nn.Sequential or Graph, output shape) from the layer tuples."""
    c, h, w = spec["input_shape"]
    mods = []
    for t in spec["layers"]:
        k = t[0]
        if k == "add":
            mods.append(Add())   # shape unchanged: the branches' outputs have the same shape
        elif k == "normalize":
            mods.append(Normalize(mean, std))
        elif k == "flatten":
            mods.append(nn.Flatten())
            c, h, w = c * h * w, 1, 1
        elif k == "dense":
            mods.append(nn.Linear(c * h * w, t[1]))
            c, h, w = t[1], 1, 1
        elif k == "conv2d":
            _, co, ks, s, p = t
            mods.append(nn.Conv2d(c, co, ks, stride=s, padding=p))
            c, h, w = co, (h + 2 * p - ks) // s + 1, (w + 2 * p - ks) // s + 1
        elif k in ("maxpool2d", "avgpool2d"):
            _, ks, s, p = t
            mods.append(nn.MaxPool2d(ks, s, p) if k == "maxpool2d"
                        else nn.AvgPool2d(ks, s, p, count_include_pad=False))
            h, w = (h + 2 * p - ks) // s + 1, (w + 2 * p - ks) // s + 1
        elif k == "relu":
            mods.append(nn.ReLU())
        elif k == "tanh":
            mods.append(nn.Tanh())
        elif k == "sigmoid":
            mods.append(nn.Sigmoid())
        elif k == "arctan":
            mods.append(Arctan())
        elif k == "leaky_relu":
            mods.append(nn.LeakyReLU(t[1]))
        elif k == "param_ramp":
            mods.append(ParamRamp(c * h * w, t[1]))
        else:
            raise ValueError("unknown layer %r" % (t,))
    if is_graph(spec):
        return Graph(mods, spec["layers"]), (c, h, w)
    return nn.Sequential(*mods), (c, h, w)


# ---------------------------------------------------------------------------
# HDF5 writer (doc/formats.md "Native model file": version 1, version 2 for graphs).

def _ints(v):
    return np.asarray(v, dtype=np.int32)


def _f32(t):
    return t.detach().cpu().numpy().astype(np.float32)


def _group(parent, name):
    # Groups without modification times, so that training twice gives the same bytes.
    gcpl = h5py.h5p.create(h5py.h5p.GROUP_CREATE)
    gcpl.set_obj_track_times(False)
    return h5py.Group(h5py.h5g.create(parent.id, name.encode(), gcpl=gcpl))


def write_h5(path, spec, net, meta):
    tmp = path + ".tmp"
    fcpl = h5py.h5p.create(h5py.h5p.FILE_CREATE)
    fcpl.set_obj_track_times(False)
    fapl = h5py.h5p.create(h5py.h5p.FILE_ACCESS)
    fapl.set_libver_bounds(h5py.h5f.LIBVER_V18, h5py.h5f.LIBVER_V110)
    with h5py.File(h5py.h5f.create(tmp.encode(), h5py.h5f.ACC_TRUNC, fcpl=fcpl, fapl=fapl)) as f:
        f.attrs["format"] = "nncert-model"
        f.attrs["version"] = np.int32(2 if is_graph(spec) else 1)
        f.attrs["input_shape"] = _ints(spec["input_shape"])
        f.attrs["name"] = spec["name"]
        layers = _group(f, "layers")
        for i, (t, mod) in enumerate(zip(spec["layers"], net)):
            g = _group(layers, "%03d" % i)
            g.attrs["type"] = t[0]

            def ds(name, arr):
                g.create_dataset(name, data=arr, track_times=False)
            if t[0] == "normalize":
                ds("mean", _f32(mod.mean.view(-1)))
                ds("std", _f32(mod.std.view(-1)))
            elif t[0] in ("dense", "conv2d"):
                ds("weight", _f32(mod.weight))
                ds("bias", _f32(mod.bias))
                if t[0] == "conv2d":
                    p = t[4]
                    g.attrs["stride"] = _ints([t[3], t[3]])
                    g.attrs["padding"] = _ints([p, p, p, p])
                    g.attrs["dilation"] = _ints([1, 1])
            elif t[0] in ("maxpool2d", "avgpool2d"):
                _, ks, s, p = t
                g.attrs["kernel"] = _ints([ks, ks])
                g.attrs["stride"] = _ints([s, s])
                g.attrs["padding"] = _ints([p, p, p, p])
            elif t[0] == "add":
                g.attrs["inputs"] = _ints([t[1], t[2]])
            elif t[0] == "leaky_relu":
                g.attrs["alpha"] = np.float64(t[1])
            elif t[0] == "param_ramp":
                g.attrs["eta"] = np.float64(t[1])
                ds("r", _f32(mod.r))
        m = _group(f, "meta")
        for k, v in meta.items():
            m.attrs[k] = v
    os.replace(tmp, path)


def export_onnx(path, spec, net):
    net.eval()
    x = torch.zeros((1,) + tuple(spec["input_shape"]), dtype=torch.float32)
    torch.onnx.export(net, x, path, opset_version=13, input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})


# ---------------------------------------------------------------------------

_DATA_CACHE = {}


def data(name, split):
    key = (name, split)
    if key not in _DATA_CACHE:
        _DATA_CACHE[key] = torch_forward.load_idx("%s:%s" % (name, split))
    return _DATA_CACHE[key]


def train_one(spec, out_dir, log):
    t0 = time.time()
    images, labels = data(spec["data"], "train")
    x64 = images.astype(np.float64) / 255.0
    # Per-channel statistics of the training set, rounded to float32 so that the
    # HDF5 file, the ONNX copy and the training network hold the same numbers.
    # One channel keeps the whole-array reduction the committed models were made
    # with (an axis reduction sums in another order and could move a bit).
    channels = spec["input_shape"][0]
    if channels == 1:
        mean = [float(np.float32(x64.mean()))]
        std = [float(np.float32(x64.std()))]
    else:
        per = x64.reshape(x64.shape[0], channels, -1)
        mean = [float(np.float32(per[:, k].mean())) for k in range(channels)]
        std = [float(np.float32(per[:, k].std())) for k in range(channels)]
        del per
    torch.manual_seed(spec["seed"])
    np.random.seed(spec["seed"])
    net, out_shape = build(spec, mean, std)
    if spec["gain"] is not None:
        for m in net:
            if isinstance(m, (nn.Linear, nn.Conv2d)):
                nn.init.xavier_uniform_(m.weight, gain=spec["gain"])
                nn.init.zeros_(m.bias)
    if out_shape != (10, 1, 1):
        raise ValueError("%s: output shape %s, expected 10 classes" % (spec["name"], out_shape))
    x = torch.from_numpy(x64.astype(np.float32)).view((-1,) + tuple(spec["input_shape"]))
    del x64  # 1.5 GB for the 3x32x32 training set
    y = torch.from_numpy(labels)
    opt = torch.optim.Adam(net.parameters(), lr=spec["lr"])
    ramps = [m for m in net if isinstance(m, ParamRamp)]
    gen = torch.Generator().manual_seed(spec["seed"])
    adv_gen = torch.Generator().manual_seed(spec["seed"] + 1)  # PGD's random starts
    net.train()
    for epoch in range(spec["epochs"]):
        perm = torch.randperm(x.shape[0], generator=gen)
        total = 0.0
        adv_eps = spec["adv_eps"] * min(1.0, (epoch + 1) / ADV_RAMP) if spec["adv_eps"] else 0.0
        for s in range(0, x.shape[0], spec["batch"]):
            idx = perm[s:s + spec["batch"]]
            xb = pgd_batch(net, x[idx], y[idx], adv_eps, adv_gen)
            opt.zero_grad()
            loss = F.cross_entropy(net(xb), y[idx])
            loss.backward()
            opt.step()
            for rp in ramps:
                rp.project()
            total += loss.item() * idx.shape[0]
        log("  %s epoch %d/%d loss %.4f%s" % (spec["name"], epoch + 1, spec["epochs"], total / x.shape[0],
                                               " (PGD eps %g)" % adv_eps if adv_eps else ""))

    path = os.path.join(out_dir, spec["name"] + ".h5")
    # trained_with keeps the script's old path "tools/train.py": it is part of the
    # file's bytes, and retraining must reproduce the committed models exactly.
    meta = {"dataset": spec["data"], "accuracy": 0.0, "correct": np.int32(0), "test_images": np.int32(0),
            "trained_with": "PyTorch %s, tools/train.py (Adam lr %g, batch %d, float32)"
                            % (torch.__version__, spec["lr"], spec["batch"]),
            "seed": np.int32(spec["seed"]), "epochs": np.int32(spec["epochs"]),
            "architecture": arch_string(spec["layers"])}
    if spec["adv_eps"]:
        meta["trained_with"] += (", PGD training at l_inf eps %g (%d steps of 2.5 eps/%d, random start, "
                                 "eps ramped over %d epochs)" % (spec["adv_eps"], ADV_STEPS, ADV_STEPS, ADV_RAMP))
        meta["adv_eps"] = np.float64(spec["adv_eps"])
    write_h5(path, spec, net, meta)
    # Accuracy of the file as written, in float64 through the independent reader.
    timages, tlabels = data(spec["data"], "test")
    logits = torch_forward.logits_of(torch_forward.load_model(path), timages)
    # The float32 training network and the float64 reader of the file must agree up
    # to float32 rounding; a gap means the writer or the reader lays a tensor out wrong.
    net.eval()
    with torch.no_grad():
        ref = net(torch.from_numpy(timages[:500].astype(np.float32) / np.float32(255.0))
                  .view((-1,) + tuple(spec["input_shape"]))).double().numpy()
    gap = np.max(np.abs(ref - logits[:500]) / np.maximum(1.0, np.abs(logits[:500])))
    if gap > 1e-4:
        raise RuntimeError("%s: file and training network disagree (relative gap %.3g)" % (path, gap))
    pred = logits.argmax(axis=1)
    correct = int((pred == tlabels).sum())
    meta.update(accuracy=np.float64(correct / len(tlabels)), correct=np.int32(correct),
                test_images=np.int32(len(tlabels)))
    write_h5(path, spec, net, meta)
    if spec["onnx"]:
        export_onnx(os.path.join(out_dir, spec["name"] + ".onnx"), spec, net)
    log("%s: test accuracy %.4f (%d/%d), float32/float64 gap %.1e, %.1f s"
        % (spec["name"], correct / len(tlabels), correct, len(tlabels), gap, time.time() - t0))


def print_table(specs, out):
    """Rows for models/README.md, read back from the written files."""
    print("| model | data | architecture | test accuracy | parameters | size (h5 / onnx) |")
    print("|---|---|---|---|---|---|")
    for s in specs:
        path = os.path.join(out, s["name"] + ".h5")
        if not os.path.exists(path):
            print("train.py: %s missing" % path, file=sys.stderr)
            return 1
        with h5py.File(path, "r") as f:
            acc = float(f["meta"].attrs["accuracy"])
            params = sum(g[d].size for g in f["layers"].values() for d in g)
        onnx_path = os.path.join(out, s["name"] + ".onnx")
        size = "%.0f KiB" % (os.path.getsize(path) / 1024)
        if os.path.exists(onnx_path):
            size += " / %.0f KiB" % (os.path.getsize(onnx_path) / 1024)
        shape = "x".join(str(v) for v in s["input_shape"])
        print("| `%s` | %s | %s: %s | %.2f %% | %d | %s |"
              % (s["name"], s["data"], shape, arch_string(s["layers"]), 100 * acc, params, size))
    return 0


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--small", action="store_true", help="committed test models (default --out models)")
    g.add_argument("--large", action="store_true", help="large models (default --out models/zoo)")
    g.add_argument("--barrier", action="store_true",
                   help="MLP-A/MLP-B, normal and PGD-trained, of tools/barrier_report.sh (default --out models/zoo)")
    p.add_argument("--only", help="comma-separated model names")
    p.add_argument("--out", help="output folder")
    p.add_argument("--list", action="store_true", help="print the model names and exit")
    p.add_argument("--table", action="store_true", help="markdown table of the trained files in --out")
    a = p.parse_args(argv)

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    specs = small_models() if a.small else large_models() if a.large else barrier_models()
    for s in specs:
        s["seed"] = SEED
    if a.list:
        for s in specs:
            print("%-32s %-14s %s" % (s["name"], s["data"], arch_string(s["layers"])))
        return 0
    if a.only:
        wanted = a.only.split(",")
        unknown = [w for w in wanted if w not in {s["name"] for s in specs}]
        if unknown:
            print("train.py: unknown model(s) %s (see --list)" % ", ".join(unknown), file=sys.stderr)
            return 2
        specs = [s for s in specs if s["name"] in wanted]
    out = a.out or ("models" if a.small else os.path.join("models", "zoo"))
    if a.table:
        return print_table(specs, out)
    os.makedirs(out, exist_ok=True)
    t0 = time.time()
    # Every data set first, so a missing one stops the run before any training.
    for name in sorted({s["data"] for s in specs}):
        try:
            data(name, "train")
            data(name, "test")
        except (OSError, ValueError) as e:
            print("train.py: data set %s unavailable (%s); tools/install/install-deps.sh installs it"
                  % (name, e), file=sys.stderr)
            return 1
    for s in specs:
        train_one(s, out, lambda msg: print(msg, flush=True))
    print("trained %d model(s) in %.1f s" % (len(specs), time.time() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
