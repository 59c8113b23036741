#!/usr/bin/python3
"""The images of one net that the barrier study's robust-error table leaves open
at eps (doc/lp.md "Barrier study"), for MILP to decide: correctly classified,
not certified by LP-ALL, and not broken by PGD (nncert attack at eps, or the
radius run's PGD at an eps <= eps). On every other image MILP's answer is known
without running it: LP-ALL's certificate is MILP's too (MILP's margin bound is
never below LP-ALL's), and no sound method certifies an image PGD broke.

usage: barrier_open.py OUT NET_BASENAME DATA EPS
Writes OUT/NET_e_milp.images (JSON: the open images' indices in DATA, in order)
and, when there are any, their pixels and labels as OUT/NET_e_milp_HASH_{x,y}.npy
(uint8 levels: certify scales them by 1/255 exactly as it does IDX data, so
each image is the same doubles as in DATA). Prints "HASH COUNT" (HASH names the
set, so that another set is another certify job).
"""
import hashlib
import json
import math
import os
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "ref"))
import torch_forward  # noqa: E402  (the data sets' reader)


def rows(path, cols):
    with h5py.File(path, "r") as f:
        r = f["results"]
        idx = r["index"][:]
        return {int(i): {c: r[c][k].item() for c in cols} for k, i in enumerate(idx)}


def main(argv):
    if len(argv) != 4:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    out, b, data, eps = argv[0], argv[1], argv[2], float(argv[3])
    lp = rows(os.path.join(out, b + "_e_lp-all.h5"), ["status"])
    atk = rows(os.path.join(out, b + "_e_pgd.h5"), ["status"])
    pgd = rows(os.path.join(out, b + "_r_pgd.h5"), ["pgd_eps"])
    open_ = []
    for i in sorted(lp):
        broken = atk[i]["status"] == 0 or (i in pgd and not math.isnan(pgd[i]["pgd_eps"]) and pgd[i]["pgd_eps"] <= eps)
        if lp[i]["status"] in (1, 4) and atk[i]["status"] != 2 and not broken:   # uncertified, timeout
            open_.append(i)
    h = hashlib.sha256(json.dumps(open_).encode()).hexdigest()[:12]
    with open(os.path.join(out, b + "_e_milp.images"), "w") as f:
        json.dump({"images": open_, "hash": h}, f)
    if open_:
        images, labels = torch_forward.load_idx(data)
        x = np.ascontiguousarray(images[open_]).astype(np.uint8)
        np.save(os.path.join(out, "%s_e_milp_%s_x.npy" % (b, h)), x)
        np.save(os.path.join(out, "%s_e_milp_%s_y.npy" % (b, h)), labels[open_].astype(np.int64))
    print(h, len(open_))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
