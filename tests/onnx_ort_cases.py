#!/usr/bin/python3
"""Inputs and comparison for tests/cli_onnx_ort.sh: nncert's logits of ONNX files
against onnxruntime's (tools/ref/ort_run.js).

prepare SHAPES OUT N: SHAPES has lines "NAME MODEL.onnx C H W" (the native input
  shape `nncert inspect` reports). For each model writes N seeded random images
  as IDX files OUT/NAME-images-idx3-ubyte / -labels-idx1-ubyte in that shape (what
  `nncert predict` reads, pixels v/255), the same pixels in the ONNX input's
  layout as OUT/NAME.in (NHWC when the graph input goes straight into a
  Transpose to NCHW), the model onnxruntime runs, and a line of OUT/jobs.
  onnxruntime runs a copy of the file in two cases: a final Softmax/LogSoftmax
  (nncert drops it: the copy also outputs the logits before it) and float64
  graphs with Conv or pooling (onnxruntime's CPU provider has no float64 kernels
  for them: the copy is the same graph in float32).
compare OUT: reads OUT/NAME.logits (nncert predict --logits) and OUT/ort.out,
  prints a TAP line per model and a summary line "# max deviation ...".
pair LABEL A B: a TAP line: two --logits files of float64 evaluations agree.

Tolerance, per image, on |nncert - onnxruntime| over the logits:
  float64 graphs: 1e-12 * (1 + max|logit|). Both sides compute in double and
  differ only in summation order: a few ulps per layer (2^-52 = 2.2e-16).
  float32 graphs: 1e-5 * (1 + max|logit|). onnxruntime rounds the input and
  every intermediate to float32 (unit roundoff u = 2^-24 = 6e-8). The a-priori
  bound of one dot product of n terms, n*u times the sum of |terms|, is up to
  784 * 6e-8 = 4.7e-5 of the terms' scale per layer here: too loose to catch
  much. Rounding errors of random signs add like sqrt(n) instead, and the
  fixtures deviate by at most 1.3e-7 (same_pad_half, measured): 1e-5 leaves a
  factor ~80 for other BLAS kernels, while the bugs this test is for (a pad
  cell, a divisor, a bias or a layout off) move logits by 1e-3 and more.
"""
import os
import struct
import sys

import numpy as np
import onnx
from onnx import TensorProto, numpy_helper

SOFTMAX = ("Softmax", "LogSoftmax")
NO_F64_KERNEL = ("Conv", "AveragePool", "MaxPool", "GlobalAveragePool")


def write_idx(path, arr):
    arr = np.ascontiguousarray(arr, dtype=np.uint8)
    with open(path, "wb") as f:
        f.write(struct.pack(">HBB", 0, 0x08, arr.ndim))
        f.write(struct.pack(">" + "I" * arr.ndim, *arr.shape))
        f.write(arr.tobytes())


def to_float32(model):
    """The same graph with every float64 tensor, value type and Cast target as float32."""
    def fix_tensor(t):
        if t.data_type == TensorProto.DOUBLE:
            t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(t).astype(np.float32), t.name))

    g = model.graph
    for t in g.initializer:
        fix_tensor(t)
    for vi in list(g.input) + list(g.output) + list(g.value_info):
        if vi.type.tensor_type.elem_type == TensorProto.DOUBLE:
            vi.type.tensor_type.elem_type = TensorProto.FLOAT
    for n in g.node:
        for a in n.attribute:
            if a.type == onnx.AttributeProto.TENSOR:
                fix_tensor(a.t)
            if n.op_type == "Cast" and a.name == "to" and a.i == TensorProto.DOUBLE:
                a.i = TensorProto.FLOAT
    return model


def ort_model(name, path, out):
    """(file onnxruntime runs, output name or '', why a copy) for one fixture."""
    model = onnx.load(path)
    g = model.graph
    notes, output = [], ""
    last = g.node[-1] if len(g.node) else None
    if last is not None and last.op_type in SOFTMAX and last.output[0] == g.output[0].name:
        output = last.input[0]
        g.output.append(onnx.helper.make_empty_tensor_value_info(output))
        notes.append("outputs the input of the final " + last.op_type)
    if g.input[0].type.tensor_type.elem_type == TensorProto.DOUBLE and any(n.op_type in NO_F64_KERNEL for n in g.node):
        to_float32(model)
        notes.append("float32 copy")
    if not notes:
        return path, "", ""
    copy = os.path.join(out, name + ".ort.onnx")
    onnx.save(model, copy)
    return copy, output, ", ".join(notes)


def is_nhwc(model):
    """The graph input is read only by a Transpose with perm (0,3,1,2)."""
    g = model.graph
    readers = [n for n in g.node if g.input[0].name in n.input]
    if len(readers) != 1 or readers[0].op_type != "Transpose":
        return False
    perm = [list(a.ints) for a in readers[0].attribute if a.name == "perm"]
    return perm == [[0, 3, 1, 2]]


def prepare(shapes, out, count):
    os.makedirs(out, exist_ok=True)
    jobs, meta = [], []
    for line in open(shapes):
        if not line.strip():
            continue
        name, path, c, h, w = line.split()
        c, h, w = int(c), int(h), int(w)
        rng = np.random.default_rng(sum(name.encode()) * 7919 + len(name))
        images = rng.integers(0, 256, size=(count, c, h, w), dtype=np.uint8)
        images[0] = 0          # the all-zero image: biases alone
        images[1] = 255        # saturated
        write_idx(os.path.join(out, name + "-images-idx3-ubyte"), images)
        write_idx(os.path.join(out, name + "-labels-idx1-ubyte"), np.zeros(count, dtype=np.uint8))
        model = onnx.load(path)
        x = images.astype(np.float64) / 255.0
        if is_nhwc(model):
            x = x.transpose(0, 2, 3, 1)
        with open(os.path.join(out, name + ".in"), "w") as f:
            for row in x.reshape(count, -1):
                f.write(" ".join("%.17g" % v for v in row) + "\n")
        run, output, note = ort_model(name, path, out)
        f64 = model.graph.input[0].type.tensor_type.elem_type == TensorProto.DOUBLE and "float32 copy" not in note
        jobs.append(" ".join([name, run, os.path.join(out, name + ".in")] + ([output] if output else [])))
        meta.append("%s %s %s\n" % (name, "f64" if f64 else "f32", note.replace(" ", "_") or "-"))
    with open(os.path.join(out, "jobs"), "w") as f:
        f.write("\n".join(jobs) + "\n")
    with open(os.path.join(out, "meta"), "w") as f:
        f.writelines(meta)


TOL = {"f64": 1e-12, "f32": 1e-5}


def compare(out):
    ort = {}
    for line in open(os.path.join(out, "ort.out")):
        t = line.split()
        ort.setdefault(t[0], []).append(np.array([float(v) for v in t[2:]]))
    worst = {"f64": (0.0, ""), "f32": (0.0, "")}
    n_ok = n = 0
    for line in open(os.path.join(out, "meta")):
        name, kind, note = line.split()
        n += 1
        label = "%s: nncert and onnxruntime logits agree (%s%s)" % (name, kind, "" if note == "-" else ", " + note.replace("_", " "))
        try:
            ours = [np.array([float(v) for v in l.split()[3:]]) for l in open(os.path.join(out, name + ".logits"))]
        except OSError as e:
            print("not ok - %s\n#   no nncert logits: %s" % (label, e))
            continue
        theirs = ort.get(name, [])
        if len(ours) != len(theirs) or not ours or any(a.shape != b.shape for a, b in zip(ours, theirs)):
            print("not ok - %s\n#   %d nncert rows, %d onnxruntime rows, or their lengths differ" % (label, len(ours), len(theirs)))
            continue
        dev = max(float(np.max(np.abs(a - b))) for a, b in zip(ours, theirs))
        rel = max(float(np.max(np.abs(a - b))) / (1.0 + float(np.max(np.abs(b)))) for a, b in zip(ours, theirs))
        if rel > worst[kind][0]:
            worst[kind] = (rel, name)
        if rel <= TOL[kind]:
            n_ok += 1
            print("ok - %s: max |diff| %.3g, scaled %.3g <= %g" % (label, dev, rel, TOL[kind]))
        else:
            print("not ok - %s\n#   max |diff| %.3g, scaled %.3g > %g" % (label, dev, rel, TOL[kind]))
    print("# %d of %d models agree; max scaled deviation float32 %.3g (%s), float64 %.3g (%s)"
          % (n_ok, n, worst["f32"][0], worst["f32"][1], worst["f64"][0], worst["f64"][1]))


def pair(label, a, b):
    """TAP line: two `predict --logits` files (both float64 evaluations) agree
    within 1e-12 * (1 + max|logit|), summation order apart."""
    rows = [[np.array([float(v) for v in l.split()[3:]]) for l in open(f)] for f in (a, b)]
    if len(rows[0]) != len(rows[1]) or not rows[0] or any(x.shape != y.shape for x, y in zip(*rows)):
        print("not ok - %s\n#   %d and %d rows, or their lengths differ" % (label, len(rows[0]), len(rows[1])))
        return
    rel = max(float(np.max(np.abs(x - y))) / (1.0 + float(np.max(np.abs(y)))) for x, y in zip(*rows))
    print("%s - %s: scaled deviation %.3g%s" % ("ok" if rel <= TOL["f64"] else "not ok", label, rel,
                                                 "" if rel <= TOL["f64"] else " > %g" % TOL["f64"]))


def main(argv):
    if len(argv) == 4 and argv[0] == "prepare":
        prepare(argv[1], argv[2], int(argv[3]))
    elif len(argv) == 2 and argv[0] == "compare":
        compare(argv[1])
    elif len(argv) == 4 and argv[0] == "pair":
        pair(argv[1], argv[2], argv[3])
    else:
        sys.exit("usage: onnx_ort_cases.py prepare SHAPES OUT N | compare OUT | pair LABEL A B")


if __name__ == "__main__":
    main(sys.argv[1:])
