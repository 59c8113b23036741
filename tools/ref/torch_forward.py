#!/usr/bin/python3
"""Reference forward pass of an nncert native model (HDF5, doc/formats.md).

Builds a float64 PyTorch network from the HDF5 file alone -- independent of the C
code -- and prints one line per image, "INDEX LABEL PRED l0 ... l9" with %.17g
logits: the format of `nncert predict --logits FILE`, so the two can be compared
number by number (tests/cli_zoo_forward.sh). tools/models/train.py imports load_model()
and load_idx() from here so the accuracy it stores is the one this file computes.

usage: torch_forward.py MODEL.h5 --data fashion-mnist:test|fashion-mnist-rgb32:test|mnist:test|PATH
                        [--start S] [--count N (0 = to the end)]
"""
import argparse
import gzip
import os
import struct
import sys

import h5py
import numpy as np
import torch
import torch.nn.functional as F


class ModelError(Exception):
    """A file that is not a valid nncert model; the message names file and layer."""


# ---------------------------------------------------------------------------
# Data: IDX files (gzip or raw), the same names as include/dataset.h resolves.

# Derived data sets, computed on load from a named one (src/io/dataset.c keeps the
# same table): name -> (base name, zero pixels added on each side, channels).
# fashion-mnist-rgb32 gives the 3x32x32 shape of CIFAR-10 to data we have.
DERIVED = {"fashion-mnist-rgb32": ("fashion-mnist", 2, 3)}


def data_paths(spec):
    """(images, labels) paths for 'fashion-mnist:test' etc. or an IDX image path
    (a derived name gives the files of its base)."""
    root = os.environ.get("NNCERT_DATA", "/usr/local/share/nncert")
    named = {"fashion-mnist": "/usr/share/datasets/fashion-mnist",
             "mnist": os.path.join(root, "mnist")}
    if ":" in spec and spec.split(":", 1)[0] in DERIVED:
        spec = DERIVED[spec.split(":", 1)[0]][0] + ":" + spec.split(":", 1)[1]
    if ":" in spec and spec.split(":", 1)[0] in named:
        name, split = spec.split(":", 1)
        if split not in ("test", "train"):
            raise ValueError("data set '%s': split must be 'test' or 'train'" % spec)
        prefix = "t10k" if split == "test" else "train"
        d = named[name]
        return (os.path.join(d, prefix + "-images-idx3-ubyte.gz"),
                os.path.join(d, prefix + "-labels-idx1-ubyte.gz"))
    if "," in spec:
        images, labels = spec.split(",", 1)
        return images, labels
    if "images-idx3" not in spec:
        raise ValueError("data set '%s': not a known name and no 'images-idx3' in the path" % spec)
    return spec, spec.replace("images-idx3", "labels-idx1")


def _read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4:
        raise ValueError("%s: truncated IDX header" % path)
    zero, dtype, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype != 0x08 or ndim < 1:
        raise ValueError("%s: not an unsigned-byte IDX file (magic %02x%02x%02x%02x)"
                         % (path, raw[0], raw[1], raw[2], raw[3]))
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    count = int(np.prod(dims))
    body = raw[4 + 4 * ndim:]
    if len(body) != count:
        raise ValueError("%s: %d data bytes, header says %d" % (path, len(body), count))
    return np.frombuffer(body, dtype=np.uint8).reshape(dims)


def derive(images, pad, channels):
    """uint8 [N,H,W] -> [N,channels,H+2pad,W+2pad]: zero border, the one channel
    copied. Done on the bytes, so v / 255 later gives exactly the C loader's pixels."""
    n, h, w = images.shape
    out = np.zeros((n, channels, h + 2 * pad, w + 2 * pad), dtype=np.uint8)
    out[:, :, pad:pad + h, pad:pad + w] = images[:, None, :, :]
    return out


def load_idx(spec):
    """(images uint8 [N,H,W] or [N,C,H,W], labels int64 [N]) of a data set name or
    path: rank-3 IDX image files give [N,H,W] (one channel), rank-4 ones [N,C,H,W]."""
    ipath, lpath = data_paths(spec)
    images = _read_idx(ipath)
    labels = _read_idx(lpath).astype(np.int64)
    if images.ndim not in (3, 4) or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
        raise ValueError("%s / %s: image dims %s do not match label dims %s"
                         % (ipath, lpath, images.shape, labels.shape))
    name = spec.split(":", 1)[0]
    if name in DERIVED and ":" in spec:
        images = derive(images, DERIVED[name][1], DERIVED[name][2])
    return images, labels


def to_unit(images_u8):
    """Pixels as float64 in [0, 1]: v / 255, exactly as the C loader divides."""
    return torch.from_numpy(images_u8.astype(np.float64)) / 255.0


# ---------------------------------------------------------------------------
# Model: one closure per layer, all in float64.

def _attr_ints(g, name, n, where, default=None):
    if name not in g.attrs:
        if default is not None:
            return list(default)
        raise ModelError("%s: missing attribute '%s'" % (where, name))
    v = np.asarray(g.attrs[name]).reshape(-1)
    if v.size != n or not np.issubdtype(v.dtype, np.integer):
        raise ModelError("%s: attribute '%s' must be %d integers, got %r" % (where, name, n, v))
    return [int(t) for t in v]


def _dataset(g, name, where, ndim):
    if name not in g:
        raise ModelError("%s: missing dataset '%s'" % (where, name))
    v = np.asarray(g[name][()], dtype=np.float64)
    if v.ndim != ndim:
        raise ModelError("%s: dataset '%s' has %d dimensions, expected %d" % (where, name, v.ndim, ndim))
    if not np.all(np.isfinite(v)):
        raise ModelError("%s: dataset '%s' holds NaN or Inf" % (where, name))
    return torch.from_numpy(v)


def _str(v):
    return v.decode() if isinstance(v, bytes) else str(v)


def _pad4(x, pad, value):
    top, left, bottom, right = pad
    if pad == [0, 0, 0, 0]:
        return x
    return F.pad(x, (left, right, top, bottom), mode="constant", value=value)


def _layer(g, where):
    """A float64 function for one /layers/NNN group."""
    if "type" not in g.attrs:
        raise ModelError("%s: missing attribute 'type'" % where)
    kind = _str(g.attrs["type"])
    if kind == "normalize":
        mean, std = _dataset(g, "mean", where, 1), _dataset(g, "std", where, 1)
        if mean.shape != std.shape or torch.any(std <= 0):
            raise ModelError("%s: mean/std shapes differ or std <= 0" % where)

        def f(x):
            shape = (1, -1) + (1,) * (x.dim() - 2)
            return (x - mean.view(shape)) / std.view(shape)
        return kind, f
    if kind == "dense":
        w, b = _dataset(g, "weight", where, 2), _dataset(g, "bias", where, 1)
        if b.shape[0] != w.shape[0]:
            raise ModelError("%s: bias has %d entries, weight has %d rows" % (where, b.shape[0], w.shape[0]))

        def f(x):
            x = x.reshape(x.shape[0], -1)
            if x.shape[1] != w.shape[1]:
                raise ModelError("%s: input has %d values, weight has %d columns" % (where, x.shape[1], w.shape[1]))
            return F.linear(x, w, b)
        return kind, f
    if kind == "conv2d":
        w, b = _dataset(g, "weight", where, 4), _dataset(g, "bias", where, 1)
        stride = _attr_ints(g, "stride", 2, where, (1, 1))
        pad = _attr_ints(g, "padding", 4, where, (0, 0, 0, 0))
        dil = _attr_ints(g, "dilation", 2, where, (1, 1))
        return kind, lambda x: F.conv2d(_pad4(x, pad, 0.0), w, b, stride=stride, dilation=dil)
    if kind in ("maxpool2d", "avgpool2d"):
        k = _attr_ints(g, "kernel", 2, where)
        stride = _attr_ints(g, "stride", 2, where)
        pad = _attr_ints(g, "padding", 4, where, (0, 0, 0, 0))
        if kind == "maxpool2d":
            # Padding cells are not inputs: -inf never wins a max over a window
            # that holds at least one real cell.
            return kind, lambda x: F.max_pool2d(_pad4(x, pad, float("-inf")), k, stride)

        # count_padding (version 3): padding cells per side the divisor counts
        counted = _attr_ints(g, "count_padding", 4, where, (0, 0, 0, 0))
        if any(c < 0 or c > p for c, p in zip(counted, pad)):
            raise ModelError("%s: count_padding %r must lie between 0 and the padding %r" % (where, counted, pad))

        def f(x):
            # Sum of real cells / number of real and counted padding cells, also for
            # asymmetric padding, which torch's avg_pool2d cannot express.
            s = F.avg_pool2d(_pad4(x, pad, 0.0), k, stride, divisor_override=1)
            ones = _pad4(torch.ones((1, 1) + tuple(x.shape[2:]), dtype=x.dtype), counted, 1.0)
            n = F.avg_pool2d(_pad4(ones, [p - c for p, c in zip(pad, counted)], 0.0), k, stride, divisor_override=1)
            return s / n
        return kind, f
    if kind == "flatten":
        return kind, lambda x: x.reshape(x.shape[0], -1)
    if kind == "relu":
        return kind, torch.relu
    if kind == "tanh":
        return kind, torch.tanh
    if kind == "sigmoid":
        return kind, torch.sigmoid
    if kind == "arctan":
        return kind, torch.atan
    if kind == "leaky_relu":
        if "alpha" not in g.attrs:
            raise ModelError("%s: missing attribute 'alpha'" % where)
        alpha = float(g.attrs["alpha"])
        return kind, lambda x: torch.where(x >= 0, x, alpha * x)
    if kind == "param_ramp":
        if "eta" not in g.attrs:
            raise ModelError("%s: missing attribute 'eta'" % where)
        eta = float(g.attrs["eta"])
        r = _dataset(g, "r", where, 1)

        def f(x):
            rr = r.view((1,) + tuple(x.shape[1:]))
            return torch.where(x < 0, eta * x, torch.where(x <= rr, x, eta * x + (1.0 - eta) * rr))
        return kind, f
    if kind == "add":
        return kind, None   # two inputs: Model.__call__ sums them
    raise ModelError("%s: unknown layer type '%s'" % (where, kind))


def _inputs(g, kind, index, version, where):
    """The layers whose outputs layer `index` reads (-1: the model input)."""
    want = 2 if kind == "add" else 1
    if "inputs" not in g.attrs:
        if want == 2:
            raise ModelError("%s: an add layer needs attribute 'inputs'" % where)
        return [index - 1]
    if version < 2:
        raise ModelError("%s: attribute 'inputs' needs version 2" % where)
    v = [int(t) for t in np.asarray(g.attrs["inputs"]).reshape(-1)]
    if len(v) != want or any(t < -1 or t >= index for t in v):
        raise ModelError("%s: attribute 'inputs' %r must be %d earlier layer indices or -1" % (where, v, want))
    return v


class Model:
    """A native model as float64 torch functions, with its root and /meta attributes."""

    def __init__(self, path):
        self.path = path
        try:
            h5 = h5py.File(path, "r")
        except OSError as e:
            raise ModelError("%s: cannot open as HDF5 (%s)" % (path, e))
        with h5:
            if _str(h5.attrs.get("format", "")) != "nncert-model":
                raise ModelError("%s: root attribute format is not 'nncert-model'" % path)
            version = int(h5.attrs.get("version", -1))
            if version not in (1, 2, 3):
                raise ModelError("%s: root attribute version must be 1, 2 or 3" % path)
            self.input_shape = _attr_ints(h5, "input_shape", 3, path)
            self.name = _str(h5.attrs.get("name", ""))
            if "layers" not in h5:
                raise ModelError("%s: no /layers group" % path)
            names = sorted(h5["layers"].keys())
            self.layers = [_layer(h5["layers"][n], "%s: layer %s" % (path, n)) for n in names]
            self.inputs = [_inputs(h5["layers"][n], self.layers[i][0], i, version, "%s: layer %s" % (path, n))
                           for i, n in enumerate(names)]
            self.meta = {k: h5["meta"].attrs[k] for k in h5["meta"].attrs} if "meta" in h5 else {}

    def __call__(self, x):
        """Logits [N, classes] of images x [N, ...] (any layout of C*H*W values)."""
        x = x.reshape((x.shape[0],) + tuple(self.input_shape)).to(torch.float64)
        outs = []
        for (kind, f), ins in zip(self.layers, self.inputs):
            src = [x if k < 0 else outs[k] for k in ins]
            outs.append(src[0] + src[1] if kind == "add" else f(src[0]))
        return outs[-1].reshape(x.shape[0], -1)


def load_model(path):
    return Model(path)


def logits_of(model, images_u8, batch=1000):
    """float64 logits of uint8 images, in batches to bound memory."""
    out = []
    with torch.no_grad():
        for s in range(0, images_u8.shape[0], batch):
            out.append(model(to_unit(images_u8[s:s + batch])))
    return torch.cat(out).numpy() if out else np.zeros((0, 0))


def write_lines(out, logits, labels, start):
    """The `nncert predict --logits` format: INDEX LABEL PRED l0 ... with %.17g."""
    for i, row in enumerate(logits):
        # np.argmax takes the first maximum, like forward_argmax.
        out.write("%d %d %d %s\n" % (start + i, labels[i], int(np.argmax(row)),
                                      " ".join("%.17g" % v for v in row)))


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model")
    p.add_argument("--data", required=True)
    p.add_argument("--start", type=int, default=0)
    p.add_argument("--count", type=int, default=0, help="images; 0 = to the end")
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    try:
        model = load_model(a.model)
        images, labels = load_idx(a.data)
    except (ModelError, ValueError, OSError) as e:
        print("torch_forward: %s" % e, file=sys.stderr)
        return 1
    n = images.shape[0]
    if a.start < 0 or a.start >= n or a.count < 0:
        print("torch_forward: --start %d / --count %d outside %d images" % (a.start, a.count, n), file=sys.stderr)
        return 2
    end = n if a.count == 0 else min(n, a.start + a.count)
    try:
        logits = logits_of(model, images[a.start:end])
    except (ModelError, RuntimeError) as e:
        print("torch_forward: %s: %s" % (a.model, e), file=sys.stderr)
        return 1
    write_lines(sys.stdout, logits, labels[a.start:end], a.start)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
