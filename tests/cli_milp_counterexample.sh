#!/usr/bin/env bash
# MILP counterexamples end to end (doc/lp.md "Counterexamples"): certify and
# bounds with --method milp save the points Cbc found and the exact forward
# pass confirmed; each saved point, read back, lies in the eps ball and the clip
# box, and 'nncert predict' on it gives another class than the image's; a
# certified image saves none; a rerun (journal) and 2 ranks keep the same bits.
# no-sanitizer: Cbc end to end; test_milp_check runs the check under them.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
M=models/fmnist_mlp_2x20_relu.h5
MPI="mpirun --oversubscribe -np"
# test images 1 and 2 of Fashion-MNIST as doubles: in the clipped l_inf ball of
# eps 0.04 the MILP breaks image 1 (margin -0.44) and certifies image 2 (5.49)
$PY - "$TMP" <<'PY'
import gzip, sys, numpy as np
d = sys.argv[1]
raw = gzip.open('/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz').read()
lab = gzip.open('/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz').read()
x = np.frombuffer(raw, np.uint8, 3 * 784, 16).reshape(3, 1, 28, 28)[1:].astype(np.float64) / 255
np.save(d + '/X.npy', x)
np.save(d + '/Y.npy', np.frombuffer(lab, np.uint8, 3, 8)[1:].astype(np.int64))
PY
D="npy:$TMP/X.npy,labels=$TMP/Y.npy"

# check.py FILE NORM EPS CLIP: the rows' MILP fields and /milp_counterexamples
# agree, every point is in the region and its saved logits change the class;
# writes the points and the images' predictions for 'nncert predict'.
cat >"$TMP/check.py" <<'PY'
import sys, h5py, numpy as np
f, norm, eps, clip = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4] == '1'
x0 = np.load(f.rsplit('/', 1)[0] + '/X.npy').reshape(2, -1)
h = h5py.File(f, 'r')
r = h['results']
me, mc, st = r['milp_eps'][:], r['milp_class'][:], r['status'][:]
have = mc >= 0
assert list(st) == [1, 0] and list(have) == [True, False], (st, mc)   # image 1 broken, image 2 certified
assert np.all(np.isnan(me[~have])) and np.all(me[have] == r['hi'][have]), (me, r['hi'][:])
c = h['milp_counterexamples']
assert list(c['index'][:]) == list(r['index'][have]) and list(c['slot'][:]) == list(r['slot'][have])
assert np.all(c['eps'][:] == me[have])
pts, z = c['x'][:], c['logits'][:]
for k, i in enumerate(c['index'][:]):
    d = pts[k] - x0[i]
    dist = np.max(np.abs(d)) if norm == 'inf' else np.sum(np.abs(d))
    assert dist <= eps, (dist, eps)
    assert not clip or (pts[k].min() >= 0 and pts[k].max() <= 1)
    p = int(r['prediction'][have][k])
    assert np.argmax(z[k]) == mc[have][k] != p and z[k][mc[have][k]] > z[k][p]
np.save(f + '.P.npy', pts.reshape(-1, 1, 28, 28))
np.save(f + '.L.npy', r['prediction'][have].astype(np.int64))
PY
# predicted.py FILE LOGITS: 'nncert predict' on the saved points gives the saved class and logits
cat >"$TMP/predicted.py" <<'PY'
import sys, h5py, numpy as np
h = h5py.File(sys.argv[1], 'r')
rows = [l.split() for l in open(sys.argv[2])]
want, z = h['milp_counterexamples/logits'][:], None
assert len(rows) == len(want) >= 1
for row, w in zip(rows, want):
    label, pred, z = int(row[1]), int(row[2]), np.array([float(v) for v in row[3:]])
    assert pred != label and pred == int(np.argmax(w)), (pred, label)
    assert np.allclose(z, w, rtol=1e-12, atol=1e-12), (z, w)
PY

expect_success "certify --method milp at eps 0.04, clipped" $NNCERT certify --model $M --data "$D" --eps 0.04 \
    --clip --method milp --milp-time-limit 20 --out "$TMP/c.h5"
check "the MILP's point of image 1 is saved, in the clipped ball; certified image 2 saves none" \
    "$PY $TMP/check.py $TMP/c.h5 inf 0.04 1"
expect_success "nncert predict runs on the saved point" $NNCERT predict $M --data "npy:$TMP/c.h5.P.npy,labels=$TMP/c.h5.L.npy" \
    --logits "$TMP/c.pl"
check "predict on the saved point: another class, the saved logits" "$PY $TMP/predicted.py $TMP/c.h5 $TMP/c.pl"

cp "$TMP/c.h5" "$TMP/c_first.h5"
expect_success "a rerun finds every task done" $NNCERT certify --model $M --data "$D" --eps 0.04 --clip \
    --method milp --milp-time-limit 20 --out "$TMP/c.h5"
check "the file rebuilt from the journal keeps the point, bit for bit" "$PY - $TMP <<'PY'
import sys, h5py, numpy as np
a, b = (h5py.File(sys.argv[1] + f, 'r') for f in ('/c_first.h5', '/c.h5'))
for k in ('x', 'logits', 'eps', 'index'):
    assert np.array_equal(a['milp_counterexamples/' + k][:], b['milp_counterexamples/' + k][:]), k
assert np.array_equal(a['results/milp_class'][:], b['results/milp_class'][:])
PY"
expect_success "2 ranks" $MPI 2 $NNCERT certify --model $M --data "$D" --eps 0.04 --clip --method milp \
    --milp-time-limit 20 --out "$TMP/c2.h5"
check "2 ranks save the same point" "$PY - $TMP <<'PY'
import sys, h5py, numpy as np
a, b = (h5py.File(sys.argv[1] + f, 'r') for f in ('/c.h5', '/c2.h5'))
assert np.array_equal(a['milp_counterexamples/x'][:], b['milp_counterexamples/x'][:])
assert np.array_equal(a['results/milp_eps'][:], b['results/milp_eps'][:], equal_nan=True)
PY"

expect_success "certify --method milp on the l1 ball of eps 3, clipped" $NNCERT certify --model $M --data "$D" \
    --eps 3 --norm 1 --clip --method milp --milp-time-limit 20 --out "$TMP/l1.h5"
check "the l1 point lies in the l1 ball and the clip box" "$PY $TMP/check.py $TMP/l1.h5 1 3 1"
expect_success "nncert predict runs on the l1 point" $NNCERT predict $M --data "npy:$TMP/l1.h5.P.npy,labels=$TMP/l1.h5.L.npy" \
    --logits "$TMP/l1.pl"
check "predict on the l1 point: another class" "$PY $TMP/predicted.py $TMP/l1.h5 $TMP/l1.pl"

expect_success "certify without --method milp has no MILP columns" $NNCERT certify --model $M --data "$D" \
    --eps 0.04 --clip --method crown --out "$TMP/crown.h5"
check "no milp_eps, no /milp_counterexamples" "$PY -c \"import h5py; f = h5py.File('$TMP/crown.h5', 'r'); \
assert 'milp_eps' not in f['results'] and 'milp_counterexamples' not in f\""

# bounds --out: /milp per margin row
for i in 0 1; do
    expect_success "bounds --method milp on image $i" $NNCERT bounds --model $M --data "$D" --index $i --eps 0.04 \
        --clip --method milp --milp-time-limit 20 --out "$TMP/b$i.h5"
done
check "bounds: image 1's counterexample rows hold in the ball, image 2 has none" "$PY - $TMP <<'PY'
import sys, h5py, numpy as np
d = sys.argv[1]
x0 = np.load(d + '/X.npy').reshape(2, -1)
for i, broken in ((0, True), (1, False)):
    f = h5py.File(f'{d}/b{i}.h5', 'r')
    m, lo = f['milp'], f['margin/lower'][:]
    ce, hp, pt, v = m['counterexample'][:], m['has_point'][:], m['point'][:], m['value'][:]
    assert np.array_equal(m['lower'][:], lo) and len(ce) == len(lo) == 9
    assert ce.any() == broken and np.all(ce <= hp) and np.all(v[ce == 1] < 0), (ce, v)
    assert np.all(np.isnan(pt[hp == 0])) and np.all(np.isnan(v[hp == 0]))
    for k in np.flatnonzero(hp):
        assert np.max(np.abs(pt[k] - x0[i])) <= 0.04 and pt[k].min() >= 0 and pt[k].max() <= 1
    np.save(f'{d}/b{i}.P.npy', pt[ce == 1].reshape(-1, 1, 28, 28))
    np.save(f'{d}/b{i}.L.npy', np.full(int(ce.sum()), int(f.attrs['prediction']), np.int64))
    np.save(f'{d}/b{i}.T.npy', f['margin/target'][:][ce == 1])
PY"
expect_success "nncert predict on bounds' counterexamples" $NNCERT predict $M --data "npy:$TMP/b0.P.npy,labels=$TMP/b0.L.npy" \
    --logits "$TMP/b0.pl"
check "each row's class beats the prediction at its saved point" "$PY - $TMP <<'PY'
import sys, numpy as np
d = sys.argv[1]
rows = [l.split() for l in open(d + '/b0.pl')]
t = np.load(d + '/b0.T.npy')
assert len(rows) == len(t) >= 1
for row, j in zip(rows, t):
    label, z = int(row[1]), [float(v) for v in row[3:]]
    assert z[j] > z[label] and int(row[2]) != label, (z, j, label)
PY"
