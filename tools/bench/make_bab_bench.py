#!/usr/bin/python3
"""Writes the branch-and-bound benchmark folder benchmarks/zoo_bab/ (doc/bab.md "Benchmark").

usage: make_bab_bench.py [--out DIR]   (default benchmarks/zoo_bab; the model paths
                                       in instances.csv assume that place)

VNN-LIB properties in the style of ACAS Xu's properties 1-5 on the ACAS Xu-like
networks of tools/models/acas_like.py (inputs normalized as ACAS Xu's), and
l_inf robustness properties of MNIST / Fashion-MNIST test images on two zoo MLPs
and a zoo CNN, with instances.csv in VNN-COMP's layout (onnx,vnnlib,timeout;
paths relative to the folder). Deterministic: the same bytes on every run
(gzip without a time stamp, numbers printed as the exact doubles).
"""
import argparse
import gzip
import io
import math
import os
import sys

import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.path.insert(0, os.path.join(ROOT, "tools", "ref"))

ACAS_NETS = ("acasxu_like_2x12", "acasxu_like_3x25", "acasxu_like_6x50")
ACAS_TIMEOUT = 60
IMAGE_TIMEOUT = 60

# Output atoms: ("ge"|"le", i, j) is Y_i >= Y_j or Y_i <= Y_j; ("ge"|"le", i, c) with
# a float c compares with a constant. A property's unsafe set is OR over cases of
# AND over a case's atoms.


def _box(lo, hi):
    return [float(v) for v in lo], [float(v) for v in hi]


def acas_properties():
    """Boxes in normalized inputs (ACAS Xu's constants); doc/acas_like.md gives the
    physical ranges and what the rule says about each."""
    props = []
    # 1, 2: ACAS Xu's box of properties 1 and 2: far away (rho >= 55,947.691 ft),
    # fast ownship (v_own >= 1,145 ft/s), slow intruder (v_int <= 60 ft/s).
    lo, hi = _box([0.6, -0.5, -0.5, 0.45, -0.5], [0.6798577687, 0.5, 0.5, 0.5, -0.45])
    props.append({"name": "prop_1", "lo": lo, "hi": hi, "cases": [[("ge", 0, 0.1)]],
                  "doc": "far intruder: the COC score stays below 0.1 (unsafe: Y_0 >= 0.1)"})
    props.append({"name": "prop_2", "lo": lo, "hi": hi, "cases": [[("ge", 0, j) for j in range(1, 5)]],
                  "doc": "far intruder: COC is not the largest score (unsafe: Y_0 >= Y_j for every j)"})
    # 3: head-on and directly ahead as ACAS Xu's property 3 (theta within +-0.06 rad,
    # psi >= 3.10, v_own >= 980, v_int >= 960), but at 10,000-12,000 ft: at ACAS Xu's
    # 1,500-1,800 ft this rule's closing speed leaves no time to turn, and COC is its
    # answer (at 8,000 ft too for the fastest intruders).
    r = [(10000.0 - 19791.091) / 60261.0, (12000.0 - 19791.091) / 60261.0]
    lo, hi = _box([r[0], -0.0095492966, 0.4933803236, 0.3, 0.3], [r[1], 0.0095492966, 0.5, 0.5, 0.5])
    props.append({"name": "prop_3", "lo": lo, "hi": hi, "cases": [[("le", 0, j) for j in range(1, 5)]],
                  "doc": "head-on at 10,000-12,000 ft: COC is not the lowest score (unsafe: Y_0 <= Y_j for every j)"})
    # 4: ACAS Xu's property 4 box: same heading (psi = 0), 1,500-1,800 ft ahead, the
    # ownship overtaking (v_own >= 1,000, v_int 700-800).
    lo, hi = _box([-0.3035311561, -0.0095492966, 0.0, 0.3181818182, 0.0833333333],
                  [-0.2985528119, 0.0095492966, 0.0, 0.5, 0.1666666667])
    props.append({"name": "prop_4", "lo": lo, "hi": hi, "cases": [[("le", 0, j) for j in range(1, 5)]],
                  "doc": "overtaking 1,500-1,800 ft behind: COC is not the lowest score (unsafe: Y_0 <= Y_j for every j)"})
    # 5: one advisory, as ACAS Xu's property 5 (strong right for an intruder close on
    # the left); ACAS Xu's box (250-400 ft, flying away) is COC under this rule, where
    # no turn changes the closest approach. Here: the box of property 3 with the
    # intruder slightly to the left (theta 0.02-0.06 rad).
    lo, hi = _box([r[0], 0.02 / (2 * math.pi), 0.4933803236, 0.3, 0.3], [r[1], 0.0095492966, 0.5, 0.5, 0.5])
    props.append({"name": "prop_5", "lo": lo, "hi": hi, "cases": [[("le", j, 4)] for j in range(4)],
                  "doc": "head-on, slightly to the left: strong right is the lowest score "
                         "(unsafe: Y_j <= Y_4 for some j < 4)"})
    return props


def unsafe_mask(p, y):
    """Rows of y (N, 5) in the unsafe set of property p (exact comparisons)."""
    y = np.asarray(y)
    out = np.zeros(len(y), dtype=bool)
    for case in p["cases"]:
        m = np.ones(len(y), dtype=bool)
        for op, i, j in case:
            rhs = y[:, j] if isinstance(j, int) else j
            m &= (y[:, i] >= rhs) if op == "ge" else (y[:, i] <= rhs)
        out |= m
    return out


def robustness_property(x, label, eps, n_out):
    """l_inf ball around image x (pixels in [0, 1]) clipped to [0, 1]; unsafe: some
    other class scores at least the label's (VNN-COMP's mnistfc layout)."""
    lo = np.maximum(0.0, x - eps)
    hi = np.minimum(1.0, x + eps)
    return {"lo": list(lo), "hi": list(hi), "cases": [[("ge", j, label)] for j in range(n_out) if j != label]}


def vnnlib_text(p, n_y, comment):
    """VNN-LIB declaring X_0 .. X_(n-1) and Y_0 .. Y_(n_y - 1) (every output, used or not)."""
    n_x = len(p["lo"])
    f = io.StringIO()
    for line in comment.splitlines():
        f.write("; %s\n" % line)
    f.write("\n")
    for i in range(n_x):
        f.write("(declare-const X_%d Real)\n" % i)
    for j in range(n_y):
        f.write("(declare-const Y_%d Real)\n" % j)
    f.write("\n")
    for i, (lo, hi) in enumerate(zip(p["lo"], p["hi"])):
        f.write("(assert (<= X_%d %s))\n(assert (>= X_%d %s))\n" % (i, repr(float(hi)), i, repr(float(lo))))
    f.write("\n")

    def atom(op, i, j):
        rhs = "Y_%d" % j if isinstance(j, int) else repr(float(j))
        return "(%s Y_%d %s)" % ("<=" if op == "le" else ">=", i, rhs)
    if len(p["cases"]) == 1:
        for a in p["cases"][0]:
            f.write("(assert %s)\n" % atom(*a))
    else:
        f.write("(assert (or\n")
        for c in p["cases"]:
            f.write("    (and %s)\n" % " ".join(atom(*a) for a in c))
        f.write("))\n")
    return f.getvalue()


def write(path, text):
    if path.endswith(".gz"):
        with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as g:
            g.write(text.encode())
    else:
        with open(path, "w") as f:
            f.write(text)


# Image instances: (model file under models/, data set, eps values, images). The
# images are the first test images the model classifies correctly.
IMAGE_SETS = [
    ("mnist_mlp_2x20_relu.h5", "mnist", (0.02, 0.04), 3),
    ("fmnist_mlp_10x20_relu.h5", "fashion-mnist", (0.005, 0.01), 3),
    ("mnist_cnn_lenet_maxpool.h5", "mnist", (0.02, 0.05), 2),
]


# Instances near the radius (raw test image numbers), where FROWN alone leaves the
# answer open and ReLU splits decide it (doc/bab.md "Split multipliers"): (model,
# data set, test image, eps). Each image is one the model classifies correctly.
NEAR_RADIUS = [
    ("fmnist_mlp_10x20_relu.h5", "fashion-mnist", 0, 0.012),
    ("fmnist_mlp_10x20_relu.h5", "fashion-mnist", 4, 0.01),
    ("fmnist_mlp_10x20_relu.h5", "fashion-mnist", 1, 0.04),
    ("fmnist_mlp_10x20_relu.h5", "fashion-mnist", 5, 0.04),
]


# ReLU-phase searches that CROWN does not finish in seconds, for
# tools/bench/bench_bab_batches.sh (batches of ReLU phases against one at a
# time); in vnnlib/ but not in instances.csv: (model, data set, test image, eps).
BATCH_BENCH = [
    ("fmnist_mlp_10x20_relu.h5", "fashion-mnist", 11, 0.02),
    ("mnist_mlp_10x20_relu.h5", "mnist", 2, 0.02),
]


def image_property(model, data, idx, eps, why):
    """The l_inf robustness property of a test image the model classifies
    correctly, as (file name, VNN-LIB text)."""
    import torch_forward as tf
    images, labels = tf.load_idx("%s:test" % data)
    net = tf.load_model(os.path.join(ROOT, "models", model))
    if int(np.argmax(tf.logits_of(net, images[idx:idx + 1])[0])) != int(labels[idx]):
        raise SystemExit("make_bab_bench.py: %s misclassifies %s test image %d" % (model, data, idx))
    x = images[idx].reshape(-1).astype(np.float64) / 255.0
    p = robustness_property(x, int(labels[idx]), eps, 10)
    name = "%s_%s_%d_eps%g.vnnlib.gz" % (model[:-3], data.replace("-", ""), idx, eps)
    return name, vnnlib_text(
        p, 10, "l_inf robustness of %s test image %d (label %d) at eps %g, clipped to [0, 1]%s\n"
               "(tools/bench/make_bab_bench.py); unsafe: another class scores >= the label's"
               % (data, idx, int(labels[idx]), eps, why))


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "zoo_bab"))
    a = ap.parse_args(argv)
    os.makedirs(os.path.join(a.out, "vnnlib"), exist_ok=True)
    # paths as seen from benchmarks/zoo_bab, wherever --out is (the same bytes)
    models_rel = "../../models"
    acas_rel = models_rel + "/acas"
    lines = []
    for p in acas_properties():
        name = "acas_%s.vnnlib" % p["name"]
        write(os.path.join(a.out, "vnnlib", name), vnnlib_text(
            p, 5, "ACAS Xu-like property %s (tools/bench/make_bab_bench.py, doc/acas_like.md)\n%s"
               % (p["name"][5:], p["doc"])))
        for net in ACAS_NETS:
            lines.append("%s/%s.onnx,vnnlib/%s,%d" % (acas_rel, net, name, ACAS_TIMEOUT))
    import torch_forward as tf
    for model, data, epss, count in IMAGE_SETS:
        images, labels = tf.load_idx("%s:test" % data)
        net = tf.load_model(os.path.join(ROOT, "models", model))
        chosen, k = [], 0
        while len(chosen) < count:
            logits = tf.logits_of(net, images[k:k + 1])
            if int(np.argmax(logits[0])) == int(labels[k]):
                chosen.append(k)
            k += 1
        stem = model[:-3]
        for idx in chosen:
            x = images[idx].reshape(-1).astype(np.float64) / 255.0
            for eps in epss:
                p = robustness_property(x, int(labels[idx]), eps, 10)
                name = "%s_%s_%d_eps%g.vnnlib.gz" % (stem, data.replace("-", ""), idx, eps)
                write(os.path.join(a.out, "vnnlib", name), vnnlib_text(
                    p, 10, "l_inf robustness of %s test image %d (label %d) at eps %g, clipped to [0, 1]\n"
                       "(tools/bench/make_bab_bench.py); unsafe: another class scores >= the label's"
                       % (data, idx, int(labels[idx]), eps)))
                lines.append("%s/%s,vnnlib/%s,%d" % (models_rel, model, name, IMAGE_TIMEOUT))
    for model, data, idx, eps in NEAR_RADIUS:
        name, text = image_property(model, data, idx, eps, ", near its radius")
        write(os.path.join(a.out, "vnnlib", name), text)
        lines.append("%s/%s,vnnlib/%s,%d" % (models_rel, model, name, IMAGE_TIMEOUT))
    for model, data, idx, eps in BATCH_BENCH:
        name, text = image_property(model, data, idx, eps, "")
        write(os.path.join(a.out, "vnnlib", name), text)
    with open(os.path.join(a.out, "instances.csv"), "w") as f:
        f.write("".join(l + "\n" for l in lines))
    print("%s: %d instances" % (os.path.join(a.out, "instances.csv"), len(lines)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
