#!/usr/bin/python3
"""An independent falsifier for VNN-LIB instances: searches each property's unsafe
set with the PyTorch float64 forward pass of tools/ref/torch_forward.py (none of
nncert's C code), so that an `unsat` answer can be contradicted from outside.

usage: bab_reference.py INSTANCES.csv OUT.tsv [--seed S]

Per instance it tries a grid over the box (for few free inputs: the corners and
up to about 100,000 grid points), 20,000 uniform random points (500 for more
than 16 inputs) and 5 signed-gradient (PGD) runs of 100 steps per disjunct, and
writes one line
    onnx <TAB> vnnlib <TAB> found|none <TAB> best
`found` when some point of the box satisfies every row of a disjunct by at least
1e-7 (points closer to the boundary than that are not counted either way); best
is the smallest value reached of max_rows (a . y - rhs), minimized over the
disjuncts (<= 0: inside the unsafe set). A `.onnx` model is read through the
`.h5` beside it (models/README.md: the same float32 numbers).

Reads the VNN-LIB subset that tools/bench/make_bab_bench.py writes and VNN-COMP's
single-box properties use: declarations, bounds of X_i by constants at the top
level, and output atoms (<= or >= between a Y_i and a Y_j or a constant), either
as top-level asserts (one disjunct) or as one (or (and ...) ...). Anything else is
refused with the file and the construct.
"""
import argparse
import gzip
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "ref"))
import torch_forward  # noqa: E402

MARGIN = 1e-7


class PropError(Exception):
    pass


def tokens(text):
    out = []
    for line in text.splitlines():
        line = line.split(";", 1)[0]
        out += line.replace("(", " ( ").replace(")", " ) ").split()
    return out


def parse_sexprs(toks, path):
    stack, cur = [], []
    for t in toks:
        if t == "(":
            stack.append(cur)
            cur = []
        elif t == ")":
            if not stack:
                raise PropError("%s: unbalanced ')'" % path)
            done, cur = cur, stack.pop()
            cur.append(done)
        else:
            cur.append(t)
    if stack:
        raise PropError("%s: unbalanced '('" % path)
    return cur


def var(tok, prefix):
    if isinstance(tok, str) and tok.startswith(prefix + "_") and tok[2:].isdigit():
        return int(tok[2:])
    return None


def read_property(path):
    """(lo, hi, cases, n_y): cases a list of lists of rows (a as {index: coef}, rhs),
    each row meaning a . y <= rhs."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt") as f:
        exprs = parse_sexprs(tokens(f.read()), path)
    n_x = n_y = 0
    lo, hi, top_rows, cases = {}, {}, [], None

    def atom(e):
        if not (isinstance(e, list) and len(e) == 3 and e[0] in ("<=", ">=")):
            raise PropError("%s: unsupported construct %r" % (path, e))
        op, a, b = e
        ia, jb = var(a, "Y"), var(b, "Y")
        if ia is None:
            raise PropError("%s: an output atom must start with Y_i: %r" % (path, e))
        sign = 1.0 if op == "<=" else -1.0   # sign * (Y_a - b) <= 0
        if jb is not None:
            return ({ia: sign, jb: -sign}, 0.0)
        return ({ia: sign}, sign * float(b))

    for e in exprs:
        if not isinstance(e, list) or not e:
            raise PropError("%s: unexpected %r" % (path, e))
        if e[0] == "declare-const":
            ix, iy = var(e[1], "X"), var(e[1], "Y")
            if ix is not None:
                n_x = max(n_x, ix + 1)
            elif iy is not None:
                n_y = max(n_y, iy + 1)
            continue
        if e[0] != "assert" or len(e) != 2:
            raise PropError("%s: unsupported %r" % (path, e[0]))
        body = e[1]
        if body[0] in ("<=", ">=") and var(body[1], "X") is not None:
            i, v = var(body[1], "X"), float(body[2])
            (hi if body[0] == "<=" else lo)[i] = v
        elif body[0] in ("<=", ">="):
            top_rows.append(atom(body))
        elif body[0] == "or":
            if cases is not None:
                raise PropError("%s: more than one (or ...)" % path)
            cases = []
            for c in body[1:]:
                if not (isinstance(c, list) and c and c[0] == "and"):
                    raise PropError("%s: a disjunct must be (and ...): %r" % (path, c))
                cases.append([atom(a) for a in c[1:]])
        else:
            raise PropError("%s: unsupported assert %r" % (path, body[0]))
    if len(lo) != n_x or len(hi) != n_x:
        raise PropError("%s: every X_i needs a lower and an upper bound" % path)
    if cases is None:
        cases = [top_rows]
    else:
        cases = [c + top_rows for c in cases]
    lo = np.array([lo[i] for i in range(n_x)])
    hi = np.array([hi[i] for i in range(n_x)])
    return lo, hi, cases, n_y


def violation(y, cases, n_y):
    """(N,) min over cases of max over rows of (a . y - rhs), and y's magnitude."""
    best = None
    for rows in cases:
        A = torch.zeros((len(rows), n_y), dtype=torch.float64)
        rhs = torch.tensor([r for _, r in rows], dtype=torch.float64)
        for k, (a, _) in enumerate(rows):
            for j, c in a.items():
                A[k, j] = c
        v = (y @ A.T - rhs).max(dim=1).values
        best = v if best is None else torch.minimum(best, v)
    return best


def search(model_path, prop_path, seed):
    lo, hi, cases, n_y = read_property(prop_path)
    model = torch_forward.load_model(model_path)
    n = len(lo)
    lo_t, hi_t = torch.from_numpy(lo), torch.from_numpy(hi)
    f = model  # [N, n] -> [N, outputs], float64

    best = float("inf")
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        free = [i for i in range(n) if hi[i] > lo[i]]
        if len(free) <= 8:
            k = max(2, int(100000 ** (1.0 / max(1, len(free)))))
            axes = [np.linspace(lo[i], hi[i], k) if i in free else np.array([lo[i]]) for i in range(n)]
            grid = torch.from_numpy(np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, n))
            for s in range(0, grid.shape[0], 20000):
                best = min(best, float(violation(f(grid[s:s + 20000]), cases, n_y).min()))
        # uniform points find little in many dimensions: fewer there
        for _ in range(4 if n <= 16 else 1):
            x = lo_t + (hi_t - lo_t) * torch.rand((5000 if n <= 16 else 500, n), generator=gen, dtype=torch.float64)
            best = min(best, float(violation(f(x), cases, n_y).min()))
    steps, width = 100, hi_t - lo_t
    for c in range(len(cases)):
        # 5 runs at once: the centre, then uniform random starts
        x = lo_t + width * torch.rand((5, n), generator=gen, dtype=torch.float64)
        x[0] = (lo_t + hi_t) / 2
        for _ in range(steps):
            x.requires_grad_(True)
            v = violation(f(x), [cases[c]], n_y)
            g, = torch.autograd.grad(v.sum(), x)
            with torch.no_grad():
                best = min(best, float(v.min()))
                x = torch.minimum(torch.maximum(x - 2.5 / steps * width * torch.sign(g), lo_t), hi_t)
        with torch.no_grad():
            best = min(best, float(violation(f(x), [cases[c]], n_y).min()))
    return ("found" if best <= -MARGIN else "none"), best


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("instances")
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    root = os.path.dirname(os.path.abspath(a.instances))
    lines = []
    with open(a.instances) as f:
        for raw in f:
            raw = raw.strip()
            if not raw or raw.startswith("#"):
                continue
            onnx, vnn, _ = [t.strip() for t in raw.split(",")]
            model = os.path.join(root, onnx)
            if model.endswith(".onnx"):
                model = model[:-5] + ".h5"
            try:
                found, best = search(model, os.path.join(root, vnn), a.seed)
            except (PropError, OSError, ValueError, torch_forward.ModelError) as e:
                print("bab_reference.py: %s" % e, file=sys.stderr)
                return 1
            lines.append("%s\t%s\t%s\t%.9g\n" % (onnx, vnn, found, best))
    with open(a.out, "w") as f:
        f.writelines(lines)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
