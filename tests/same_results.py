#!/usr/bin/python3
# same_results.py REF FILE...: every row of the certify results REF equals the row
# of the same (index, slot) in each FILE, in every column but seconds and rank,
# compared as bits (NaN and -0.0 included). Used by the tests/cli_*.sh scripts.
import sys
import h5py
import numpy as np


def load(path):
    r = h5py.File(path, 'r')['results']
    order = np.lexsort((r['slot'][:], r['index'][:]))
    return {k: r[k][:][order] for k in r if k not in ('seconds', 'rank')}


ref = load(sys.argv[1])
assert len(ref['index']) > 0, sys.argv[1] + ' has no rows'
for path in sys.argv[2:]:
    other = load(path)
    assert sorted(ref) == sorted(other), (path, sorted(ref), sorted(other))
    for k in ref:
        x, y = ref[k], other[k]
        if x.dtype.kind == 'f':
            x, y = x.view(np.uint64), y.view(np.uint64)
        assert x.shape == y.shape and np.array_equal(x, y), (path, k, ref[k], other[k])
