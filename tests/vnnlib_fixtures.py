#!/usr/bin/python3
"""Tiny ONNX models and VNN-LIB properties for tests/cli_verify.sh, and the checks
that judge nncert's answers independently (numpy forward pass, sampling).

usage: vnnlib_fixtures.py make OUTDIR
       vnnlib_fixtures.py check OUTDIR NAME RESULT ...  per pair, "NAME ok" when the
                                                        counterexample of RESULT (sat) lies
                                                        in the property NAME, else "NAME bad"
       vnnlib_fixtures.py hits OUTDIR NAME ...          per property, "NAME N": the points of
                                                        the unsafe set sampling finds

Every property NAME.vnnlib comes with NAME.json: its model, boxes (lists of
[lo, hi]) and conjunctions (lists of [row, rhs], row . Y <= rhs); the property is
every box with every conjunction. Everything is seeded.
"""
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def save_mlp(path, ws):
    """Gemm/Relu chain, input [1, n]."""
    nodes, inits = [], []
    cur = "x"
    for i, (w, b) in enumerate(ws):
        inits += [numpy_helper.from_array(w.astype(np.float32), "W%d" % i),
                  numpy_helper.from_array(b.astype(np.float32), "B%d" % i)]
        out = "g%d" % i
        nodes.append(helper.make_node("Gemm", [cur, "W%d" % i, "B%d" % i], [out], transB=1))
        cur = out
        if i + 1 < len(ws):
            nodes.append(helper.make_node("Relu", [cur], ["r%d" % i]))
            cur = "r%d" % i
    nodes.append(helper.make_node("Identity", [cur], ["y"]))
    g = helper.make_graph(nodes, "mlp",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, ws[0][0].shape[1]])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, ws[-1][0].shape[0]])], inits)
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), path)


def save_cnn(path, cw, cb, w, b):
    """Conv 3x3 (pad 1) -> Relu -> Flatten -> Gemm, input [1, 1, 4, 4]."""
    inits = [numpy_helper.from_array(a.astype(np.float32), n) for a, n in ((cw, "CW"), (cb, "CB"), (w, "W"), (b, "B"))]
    nodes = [helper.make_node("Conv", ["x", "CW", "CB"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node("Flatten", ["r"], ["f"], axis=1),
             helper.make_node("Gemm", ["f", "W", "B"], ["y"], transB=1)]
    g = helper.make_graph(nodes, "cnn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 4, 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, w.shape[0]])], inits)
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), path)


def forward(model, x):
    """Outputs of many inputs x [N, n] in float64 with the float32 weights."""
    if model["kind"] == "mlp":
        h = x
        for i, (w, b) in enumerate(model["ws"]):
            h = h @ w.T + b
            if i + 1 < len(model["ws"]):
                h = np.maximum(h, 0)
        return h
    cw, cb, w, b = model["cw"], model["cb"], model["w"], model["b"]
    img = np.pad(x.reshape(-1, 1, 4, 4), ((0, 0), (0, 0), (1, 1), (1, 1)))
    c = np.zeros((x.shape[0], cw.shape[0], 4, 4))
    for o in range(cw.shape[0]):
        for i in range(4):
            for j in range(4):
                c[:, o, i, j] = np.einsum("nkl,kl->n", img[:, 0, i:i + 3, j:j + 3], cw[o, 0]) + cb[o]
    return np.maximum(c, 0).reshape(x.shape[0], -1) @ w.T + b


def models():
    rng = np.random.default_rng(7)
    f32 = lambda a: a.astype(np.float32).astype(np.float64)
    sizes = [2, 16, 16, 3]
    ws = [(f32(rng.normal(0, 1.2 / np.sqrt(sizes[k]), (sizes[k + 1], sizes[k]))), f32(rng.normal(0, 0.3, sizes[k + 1])))
          for k in range(3)]
    cnn = {"kind": "cnn", "cw": f32(rng.normal(0, 0.5, (2, 1, 3, 3))), "cb": f32(rng.normal(0, 0.1, 2)),
           "w": f32(rng.normal(0, 0.3, (3, 32))), "b": f32(rng.normal(0, 0.1, 3))}
    return {"mlp": {"kind": "mlp", "ws": ws}, "cnn": cnn}


def vnnlib_text(n, k, boxes, conjs, strict=False):
    t = ["; written by tests/vnnlib_fixtures.py"]
    t += ["(declare-const X_%d Real)" % i for i in range(n)]
    t += ["(declare-const Y_%d Real)" % j for j in range(k)]
    box_terms = ["(and %s)" % " ".join("(>= X_%d %.17g) (<= X_%d %.17g)" % (i, lo, i, hi)
                                       for i, (lo, hi) in enumerate(b)) for b in boxes]
    t.append("(assert (or %s))" % " ".join(box_terms) if len(boxes) > 1 else "(assert %s)" % box_terms[0])
    op = "<" if strict else "<="
    conj_terms = []
    for c in conjs:
        rows = []
        for row, rhs in c:
            terms = " ".join("(* %.17g Y_%d)" % (a, j) for j, a in enumerate(row) if a != 0)
            rows.append("(%s (+ %s) %.17g)" % (op, terms, rhs))
        conj_terms.append("(and %s)" % " ".join(rows))
    t.append("(assert (or %s))" % " ".join(conj_terms))
    return "\n".join(t) + "\n"


def write_prop(out, name, model, n, k, boxes, conjs, strict=False):
    with open(os.path.join(out, name + ".vnnlib"), "w") as f:
        f.write(vnnlib_text(n, k, boxes, conjs, strict))
    with open(os.path.join(out, name + ".json"), "w") as f:
        json.dump({"model": model, "boxes": boxes, "conjs": conjs}, f)


def sample(model, boxes, conjs, rng, count=20000):
    """Points of the unsafe set among uniform samples and corners of every box."""
    hits = 0
    for b in boxes:
        lo, hi = np.array(b).T
        x = lo + (hi - lo) * rng.random((count, len(lo)))
        x[:64] = np.where(rng.random((64, len(lo))) < 0.5, lo, hi)
        y = forward(model, x)
        for c in conjs:
            ok = np.ones(len(x), bool)
            for row, rhs in c:
                ok &= y @ np.array(row) <= rhs
            hits += int(ok.sum())
    return hits


def margin_row(k, c, j):
    """Y_j - Y_c >= 0 as a row: Y_c - Y_j <= 0."""
    r = [0.0] * k
    r[c], r[j] = 1.0, -1.0
    return [r, 0.0]


def make(out):
    os.makedirs(out, exist_ok=True)
    ms = models()
    save_mlp(os.path.join(out, "mlp.onnx"), ms["mlp"]["ws"])
    cnn = ms["cnn"]
    save_cnn(os.path.join(out, "cnn.onnx"), cnn["cw"], cnn["cb"], cnn["w"], cnn["b"])
    rng = np.random.default_rng(3)
    mlp = ms["mlp"]
    # robust points of the MLP: a class with a clear margin at the grid point
    g = np.stack(np.meshgrid(np.linspace(-1, 1, 41), np.linspace(-1, 1, 41)), -1).reshape(-1, 2)
    y = forward(mlp, g)
    top = np.sort(y, 1)
    marg = top[:, -1] - top[:, -2]
    order = np.argsort(-marg)
    x0, x1 = g[order[0]], g[order[5]]
    c0, c1 = int(np.argmax(y[order[0]])), int(np.argmax(y[order[5]]))
    eps = 0.02
    box0 = [[float(v - eps), float(v + eps)] for v in x0]
    box1 = [[float(v - eps), float(v + eps)] for v in x1]
    others = lambda c: [[margin_row(3, c, j)] for j in range(3) if j != c]
    # 1. unsat with an output disjunction (any other class at least as large)
    write_prop(out, "unsat", "mlp", 2, 3, [box0], others(c0))
    # 2. sat: some output difference reaches 80% of its maximum over the whole square
    full = [[-1.0, 1.0], [-1.0, 1.0]]
    j = (c0 + 1) % 3
    d = y[:, j] - y[:, c0]
    t = float(d.max() - 0.2 * (d.max() - d.min()))
    row = [0.0] * 3
    row[c0], row[j] = 1.0, -1.0
    write_prop(out, "sat", "mlp", 2, 3, [full], [[[row, -t]]])
    # 3. two robust boxes of the same class: unsat (or-of-boxes)
    if c1 == c0:
        write_prop(out, "orbox_unsat", "mlp", 2, 3, [box0, box1], others(c0))
    else:
        write_prop(out, "orbox_unsat", "mlp", 2, 3, [box0], others(c0))
    # 4. a robust box or the whole square, the sat constraint: sat, in the second box
    write_prop(out, "orbox_sat", "mlp", 2, 3, [box0, full], [[[row, -t]]])
    # 5. zero width: X_1 fixed, strict comparisons
    zbox = [box0[0], [float(x0[1]), float(x0[1])]]
    write_prop(out, "zero_width", "mlp", 2, 3, [zbox], others(c0), strict=True)
    # 6. many boxes for the timeout: 3000 small boxes over the square
    centers = rng.uniform(-0.9, 0.9, (3000, 2))
    many = [[[float(v - 0.01), float(v + 0.01)] for v in cc] for cc in centers]
    write_prop(out, "many", "mlp", 2, 3, many, [[margin_row(3, 0, 1)], [margin_row(3, 0, 2)]])
    # 7. the CNN: an image +- eps clipped to [0, 1] (an exact clipped ball)
    img = rng.uniform(0, 1, 16)
    img[:4] = 0.0
    img[4:6] = 1.0
    yc = forward(cnn, img[None])[0]
    cc = int(np.argmax(yc))
    for name, e in (("cnn_small", 0.002), ("cnn_large", 1.0)):
        box = [[float(max(v - e, 0)), float(min(v + e, 1))] for v in img]
        write_prop(out, name, "cnn", 16, 3, [box], others(cc))
    # 8. a box with other widths per pixel for a zoo model (784 inputs, 10 outputs):
    # the declarations and the box; the test adds the output assert
    zr = np.random.default_rng(1)
    img = zr.uniform(0, 1, 784)
    img[:200] = 0
    with open(os.path.join(out, "zoo_box.vnnlib"), "w") as f:
        f.writelines("(declare-const X_%d Real)\n" % i for i in range(784))
        f.writelines("(declare-const Y_%d Real)\n" % j for j in range(10))
        for i in range(784):
            e = 0.01 * zr.uniform(0.2, 1)
            f.write("(assert (<= X_%d %.17g))\n(assert (>= X_%d %.17g))\n" % (i, min(img[i] + e, 1), i, max(img[i] - e, 0)))
    # 9. random properties for the soundness loop
    for r in range(8):
        m = "mlp" if r % 3 else "cnn"
        n = 2 if m == "mlp" else 16
        cen = rng.uniform(-0.5, 0.5, n) if m == "mlp" else rng.uniform(0, 1, n)
        hw = rng.uniform(0, 0.1, n) * (rng.random(n) > 0.2)
        box = [[float(a - h), float(a + h)] for a, h in zip(cen, hw)]
        rowr = rng.uniform(-1, 1, 3)
        lo_hi = np.array(box).T
        xs = lo_hi[0] + (lo_hi[1] - lo_hi[0]) * rng.random((256, n))
        v = forward(ms[m], xs) @ rowr
        rhs = float(v.min() - rng.uniform(-0.2, 0.6) * (v.max() - v.min() + 1e-3))
        write_prop(out, "rand%d" % r, m, n, 3, [box], [[[list(map(float, rowr)), rhs]]])


def load(out, name):
    with open(os.path.join(out, name + ".json")) as f:
        return json.load(f)


def check(out, name, result):
    """The sat result's counterexample: in a box, outputs as the model gives
    them, and some conjunction holds."""
    p = load(out, name)
    model = models()[p["model"]]
    lines = open(result).read().split("\n")
    if lines[0] != "sat":
        return "not sat: %s" % lines[0]
    vals = {}
    body = " ".join(lines[1:]).replace("(", " ").replace(")", " ").split()
    for a, b in zip(body[::2], body[1::2]):
        vals[a] = float(b)
    n = len(p["boxes"][0])
    k = len(p["conjs"][0][0][0])
    x = np.array([vals["X_%d" % i] for i in range(n)])
    yr = np.array([vals["Y_%d" % j] for j in range(k)])
    y = forward(model, x[None])[0]
    if np.abs(y - yr).max() > 1e-9 * (1 + np.abs(y).max()):
        return "printed outputs %s differ from the forward pass %s" % (yr, y)
    inbox = [all(lo <= v <= hi for v, (lo, hi) in zip(x, b)) for b in p["boxes"]]
    if not any(inbox):
        return "x = %s lies in no box" % x
    holds = any(all(np.dot(row, y) <= rhs for row, rhs in c) for c in p["conjs"])
    if not holds:
        return "no conjunction holds at y = %s" % y
    return "ok box %d" % inbox.index(True)


def hits(out, name):
    p = load(out, name)
    return sample(models()[p["model"]], p["boxes"], p["conjs"], np.random.default_rng(11))


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "make":
        make(sys.argv[2])
    elif len(sys.argv) >= 5 and len(sys.argv) % 2 == 1 and sys.argv[1] == "check":
        for name, result in zip(sys.argv[3::2], sys.argv[4::2]):
            print(name, check(sys.argv[2], name, result))
    elif len(sys.argv) >= 4 and sys.argv[1] == "hits":
        for name in sys.argv[3:]:
            print(name, hits(sys.argv[2], name))
    else:
        sys.exit(__doc__)
