#!/usr/bin/env bash
# End-to-end FROWN and CROWN-Quad: certify runs, PGD never succeeds inside their
# radii, FROWN's margin bounds at least CROWN's in the bounds file, CROWN-Quad's
# ReLU-only refusal, and strict FROWN options.
. "$(dirname "$0")/lib.sh"
M=models/mnist_mlp_2x20_sigmoid.h5
R=models/fmnist_mlp_2x20_relu.h5
PY=/usr/bin/python3

expect_success "certify frown runs" $NNCERT certify --model $M --data mnist:test --count 6 --norm 2 --method frown --frown-iters 30 --out "$TMP/f.h5"
expect_success "certify crown runs" $NNCERT certify --model $M --data mnist:test --count 6 --norm 2 --out "$TMP/c.h5"
expect_success "certify frown with groups runs" $NNCERT certify --model $R --data fashion-mnist:test --count 6 --method frown --frown-group 4 --frown-lr 0.05 --frown-patience 3 --frown-threshold 0.001 --frown-warm 0 --out "$TMP/fg.h5"
expect_success "certify crown-quad runs" $NNCERT certify --model $R --data fashion-mnist:test --count 6 --method crown-quad --out "$TMP/q.h5"
expect_success "attack search runs (l2)" $NNCERT attack --model $M --data mnist:test --count 6 --norm 2 --search --out "$TMP/a2.h5"
expect_success "attack search runs (linf)" $NNCERT attack --model $R --data fashion-mnist:test --count 6 --search --out "$TMP/ai.h5"

check "PGD never succeeds inside a frown or crown-quad radius" "$PY - '$TMP/f.h5' '$TMP/a2.h5' '$TMP/fg.h5' '$TMP/q.h5' '$TMP/ai.h5' <<'PY'
import sys, h5py, numpy as np
f, a2, fg, q, ai = (h5py.File(p, 'r')['results'] for p in sys.argv[1:])
for r, a in ((f, a2), (fg, ai), (q, ai)):
    ok = (a['status'][:] == 0) & (r['status'][:] == 0)
    assert ok.any()
    assert np.all(a['dist'][:][ok] > r['radius'][:][ok]), (a['dist'][:], r['radius'][:])
PY"
check "frown certifies a larger mean radius than crown on a sigmoid net" "$PY - '$TMP/f.h5' '$TMP/c.h5' <<'PY'
import sys, h5py, numpy as np
f, c = (h5py.File(p, 'r')['results'] for p in sys.argv[1:])
ok = c['status'][:] <= 1
assert f['radius'][:][ok].mean() > c['radius'][:][ok].mean() * 1.01, (f['radius'][:], c['radius'][:])
PY"

expect_success "bounds frown runs" $NNCERT bounds --model $M --data mnist:test --index 3 --eps 0.3 --norm 2 --method frown --out "$TMP/bf.h5"
expect_success "bounds crown runs" $NNCERT bounds --model $M --data mnist:test --index 3 --eps 0.3 --norm 2 --method crown --out "$TMP/bc.h5"
check "frown margins and layer bounds at least crown's (both sides)" "$PY - '$TMP/bf.h5' '$TMP/bc.h5' <<'PY'
import sys, h5py, numpy as np
f, c = (h5py.File(p, 'r') for p in sys.argv[1:])
tol = lambda x: 1e-12 * (1 + np.abs(x))
assert np.all(f['margin/lower'][:] >= c['margin/lower'][:] - tol(c['margin/lower'][:]))
assert np.all(f['margin/upper'][:] <= c['margin/upper'][:] + tol(c['margin/upper'][:]))
assert np.any(f['margin/lower'][:] > c['margin/lower'][:] + 1e-6)
assert np.any(f['margin/upper'][:] < c['margin/upper'][:] - 1e-6)
k = sorted(f['bounds'])[1]  # the second nonlinear layer: same committed inputs in both
assert np.all(f['bounds'][k]['lower'][:] >= c['bounds'][k]['lower'][:])
assert f.attrs['method'] in (b'frown', 'frown')
PY"

expect_failure "crown-quad refuses a tanh net" "quadratic bounds need a ReLU" $NNCERT certify --model models/mnist_mlp_2x20_tanh.h5 --data mnist:test --count 1 --method crown-quad --out "$TMP/x.h5"
expect_failure "frown group 0 is rejected" "--frown-group" $NNCERT certify --model $R --data fashion-mnist:test --method frown --frown-group 0 --out "$TMP/x.h5"
expect_failure "frown lr 0 is rejected" "key 'frown_lr': must be > 0" $NNCERT certify --model $R --data fashion-mnist:test --method frown --frown-lr 0 --out "$TMP/x.h5"
expect_failure "frown warm 2 is rejected" "--frown-warm" $NNCERT certify --model $R --data fashion-mnist:test --method frown --frown-warm 2 --out "$TMP/x.h5"
expect_failure "negative threshold is rejected" "--frown-threshold must be >= 0" $NNCERT bounds --model $R --data fashion-mnist:test --index 0 --eps 0.1 --frown-threshold -1 --out "$TMP/x.h5"
$NNCERT certify --model $R --data fashion-mnist:test --method frown --frown-iters x --out "$TMP/x.h5" >/dev/null 2>&1
check "bad frown option values exit with status 2" "[ $? = 2 ]"
check "certify --help documents the frown options" "$NNCERT certify --help | grep -q -- '--frown-threshold T'"
