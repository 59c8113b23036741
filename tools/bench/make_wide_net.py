#!/usr/bin/python3
"""Writes a random 5-3x[W]-5 ReLU net (ONNX, float64) and a VNN-LIB property on it
for bench_bab_batches.sh: the case where one domain's GEMMs are already large
(doc/bab.md "Batches").

usage: make_wide_net.py W THRESHOLD OUT_ONNX OUT_VNNLIB

Weights and biases uniform in +-1/sqrt(fan_in) (PyTorch's default Linear
initialization) from numpy's generator seeded with W, so the same W gives the
same bytes. The property: inputs in [-1, 1]^5, unsafe when Y_0 >= THRESHOLD.
"""
import sys

import numpy as np
from onnx import TensorProto, helper, save


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    width, threshold = int(sys.argv[1]), float(sys.argv[2])
    rng = np.random.default_rng(width)
    sizes = [5, width, width, width, 5]
    inits, nodes, last = [], [], "x"
    for k in range(len(sizes) - 1):
        bound = 1.0 / np.sqrt(sizes[k])
        w = rng.uniform(-bound, bound, (sizes[k + 1], sizes[k]))
        b = rng.uniform(-bound, bound, sizes[k + 1])
        inits += [helper.make_tensor(f"w{k}", TensorProto.DOUBLE, w.shape, w.ravel()),
                  helper.make_tensor(f"b{k}", TensorProto.DOUBLE, b.shape, b)]
        nodes.append(helper.make_node("Gemm", [last, f"w{k}", f"b{k}"], [f"z{k}"], transB=1))
        last = f"z{k}"
        if k + 2 < len(sizes):
            nodes.append(helper.make_node("Relu", [last], [f"a{k}"]))
            last = f"a{k}"
    graph = helper.make_graph(nodes, f"wide_{width}",
                              [helper.make_tensor_value_info("x", TensorProto.DOUBLE, [1, 5])],
                              [helper.make_tensor_value_info(last, TensorProto.DOUBLE, [1, 5])], inits)
    save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), sys.argv[3])
    with open(sys.argv[4], "w") as f:
        f.writelines(f"(declare-const X_{i} Real)\n" for i in range(5))
        f.writelines(f"(declare-const Y_{i} Real)\n" for i in range(5))
        for i in range(5):
            f.write(f"(assert (>= X_{i} -1.0))\n(assert (<= X_{i} 1.0))\n")
        f.write(f"(assert (>= Y_0 {threshold!r}))\n")


if __name__ == "__main__":
    main()
