#!/usr/bin/python3
# bounds_source_check.py MODEL.h5 BOUNDS.h5 [RAW.h5]: checks the /bounds/NNN/source
# labels of an `nncert bounds` file of a dense MLP (dense layers between ReLU or
# leaky ReLU layers) against bounds computed here, independently of the engine:
#  * IBP of every layer past the first from the file's bounds of the previous
#    nonlinear layer (numpy, float64, centre/radius): a side labelled IBP's is
#    that value (to 1e-9 of the magnitudes; the engine rounds outward), a neuron
#    labelled ibp_stable is stable by it, and a side labelled the method's is
#    not looser than it when intersect_ibp is on;
#  * RAW, the same command with --no-skip-stable --no-intersect-ibp: its second
#    nonlinear layer is the method's own pass on the same (exact) first layer,
#    so there a side labelled the method's has RAW's bits, and a side labelled
#    IBP's (tighter) is no looser than RAW's.
# Prints the label counts; exits non-zero with the first mismatch.
import sys
import h5py
import numpy as np

model, path = h5py.File(sys.argv[1], 'r'), sys.argv[2]
f = h5py.File(path, 'r')
raw = h5py.File(sys.argv[3], 'r') if len(sys.argv) > 3 else None
layers = model['layers']
names = sorted(layers)
kind = {n: layers[n].attrs['type'].decode() if isinstance(layers[n].attrs['type'], bytes) else layers[n].attrs['type']
        for n in names}
nl = [n for n in names if n in f['bounds']]
legend = f['bounds'].attrs['source_names']
legend = legend.decode() if isinstance(legend, bytes) else legend
assert legend == '0=exact,1=ibp_stable,2=method,3=ibp_lower,4=ibp_upper,5=ibp', legend
method = f.attrs['method'].decode() if isinstance(f.attrs['method'], bytes) else f.attrs['method']
intersect = int(f.attrs['intersect_ibp'])
counts = np.zeros(6, int)


def fail(msg):
    print('FAIL %s: %s' % (path, msg))
    sys.exit(1)


def act(n, x):
    if kind[n] == 'relu':
        return np.maximum(x, 0)
    alpha = float(layers[n].attrs['alpha'])
    return np.where(x >= 0, x, alpha * x)


for k, n in enumerate(nl):
    b = f['bounds'][n]
    lo, up, src = b['lower'][:], b['upper'][:], b['source'][:]
    counts += np.bincount(src, minlength=6)
    if src.max() > 5:
        fail('layer %s: unknown label %d' % (n, src.max()))
    if k == 0:
        if np.any(src != 0):
            fail('first nonlinear layer %s: labels other than 0 (exact)' % n)
        continue
    if np.any(src == 0):
        fail('layer %s: label 0 (exact) past the first nonlinear layer' % n)
    p = nl[k - 1]
    # IBP from the previous nonlinear layer's stored bounds through the dense layer(s)
    pl, pu = act(p, f['bounds'][p]['lower'][:]), act(p, f['bounds'][p]['upper'][:])
    mid, rad, mag = (pl + pu) / 2, (pu - pl) / 2, np.maximum(np.abs(pl), np.abs(pu))
    scale = None
    for m in names[names.index(p) + 1:names.index(n)]:
        if kind[m] != 'dense':
            fail('layer %s: the check handles dense layers only, found %s' % (m, kind[m]))
        W, c = layers[m]['weight'][:].astype(np.float64), layers[m]['bias'][:].astype(np.float64)
        mid, rad, mag = W @ mid + c, np.abs(W) @ rad, np.abs(W) @ mag + np.abs(c)
    il, iu = mid - rad, mid + rad
    tol = 1e-9 * (mag + 1e-300)
    ibp_lo = np.isin(src, (1, 3, 5))
    ibp_up = np.isin(src, (1, 4, 5))
    if np.any(np.abs(lo - il)[ibp_lo] > tol[ibp_lo]) or np.any(np.abs(up - iu)[ibp_up] > tol[ibp_up]):
        fail('layer %s: a side labelled IBP is not the IBP bound: %s' % (n, np.nonzero(
            (np.abs(lo - il) > tol) & ibp_lo | (np.abs(up - iu) > tol) & ibp_up)[0]))
    st = src == 1
    if np.any(~((il >= -tol) | (iu <= tol))[st]):
        fail('layer %s: a neuron labelled ibp_stable is not stable by IBP' % n)
    if method in ('ibp', 'crown-ibp') and np.any(src != 5):
        fail('layer %s: method %s but labels other than 5' % (n, method))
    if intersect:
        m_lo, m_up = ~ibp_lo, ~ibp_up
        if np.any((lo < il - tol)[m_lo]) or np.any((up > iu + tol)[m_up]):
            fail('layer %s: a side labelled the method is looser than IBP under intersect_ibp' % n)
    if raw is not None and k == 1 and method not in ('ibp', 'crown-ibp'):
        rl, ru = raw['bounds'][n]['lower'][:], raw['bounds'][n]['upper'][:]
        same_l, same_u = lo.view(np.uint64) == rl.view(np.uint64), up.view(np.uint64) == ru.view(np.uint64)
        if not np.all(same_l[~ibp_lo]) or not np.all(same_u[~ibp_up]):
            fail('layer %s: a side labelled the method differs from the method alone: %s' % (
                n, np.nonzero(~same_l & ~ibp_lo | ~same_u & ~ibp_up)[0]))
        lab = np.isin(src, (3, 5))
        if np.any((lo < rl)[lab]) or np.any((up > ru)[np.isin(src, (4, 5))]):
            fail('layer %s: IBP labelled tighter but the method alone is tighter' % n)
if raw is not None:  # without skip_stable and intersect_ibp every neuron is the method's own
    own = 5 if method in ('ibp', 'crown-ibp') else 2
    for k, n in enumerate(nl):
        if np.any(raw['bounds'][n]['source'][:] != (0 if k == 0 else own)):
            fail('raw layer %s: labels other than %d' % (n, 0 if k == 0 else own))
print(' '.join('%d=%d' % (i, c) for i, c in enumerate(counts)))
