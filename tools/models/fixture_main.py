"""The command line shared by the fixture writers make_keras_fixtures.py and make_data_fixtures.py.

    SCRIPT OUTDIR                   write the fixtures
    SCRIPT compare EXPECT LOGITS    compare `nncert predict --logits` output (INDEX LABEL PRED v...)
                                    with EXPECT (INDEX LABEL v... per image): exit 1 on any
                                    difference in index or label, or a relative one above the tolerance
"""
import os
import sys

import numpy as np


def compare(expect, logits, tol):
    want = [l.split() for l in open(expect) if l.strip()]
    got = [l.split() for l in open(logits) if l.strip()]
    if len(want) != len(got):
        print("%d lines, expected %d" % (len(got), len(want)))
        return 1
    worst = 0.0
    for w, g in zip(want, got):
        if w[:2] != g[:2]:
            print("index/label %s, expected %s" % (g[:2], w[:2]))
            return 1
        a, b = np.array(w[2:], dtype=float), np.array(g[3:], dtype=float)
        if a.shape != b.shape:
            print("%d values, expected %d" % (b.size, a.size))
            return 1
        worst = max(worst, float(np.max(np.abs(a - b) / (1 + np.abs(a)))))
    print("max relative difference %.3g" % worst)
    return 0 if worst < tol else 1


def write_expect(path, first, labels, rows):
    with open(path, "w") as f:
        for i, (lab, row) in enumerate(zip(labels, rows)):
            f.write("%d %d %s\n" % (first + i, lab, " ".join("%.17g" % v for v in row)))


def main(doc, generate, tol):
    if len(sys.argv) == 4 and sys.argv[1] == "compare":
        sys.exit(compare(sys.argv[2], sys.argv[3], tol))
    if len(sys.argv) != 2:
        sys.exit(doc)
    os.makedirs(sys.argv[1], exist_ok=True)
    generate(sys.argv[1])
