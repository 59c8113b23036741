#!/usr/bin/env bash
# End-to-end 'nncert bounds', 'certify' and 'attack' on a small zoo model: files
# readable by h5py with the agreed names, radii re-verify at exactly their eps,
# PGD never succeeds inside a certified radius, and bad options fail specifically.
. "$(dirname "$0")/lib.sh"
M=models/fmnist_mlp_2x20_relu.h5
D=fashion-mnist:test
PY=/usr/bin/python3

expect_success "certify bisect runs" $NNCERT certify --model $M --data $D --count 6 --out "$TMP/c.h5"
expect_success "certify crown15 runs" $NNCERT certify --model $M --data $D --count 6 --search crown15 --out "$TMP/c15.h5"
expect_success "attack search runs" $NNCERT attack --model $M --data $D --count 6 --search --out "$TMP/a.h5"
expect_success "certify all targets runs" $NNCERT certify --model $M --data $D --count 2 --target all --method crown-ibp --out "$TMP/call.h5"
expect_success "bounds runs" $NNCERT bounds --model $M --data $D --index 3 --eps 0.005 --method crown --out "$TMP/b.h5"

check "h5dump reads the certify file" "h5dump -H '$TMP/c.h5' >/dev/null 2>&1"
check "certify file has the agreed columns and attributes" "$PY - '$TMP/c.h5' <<'PY'
import sys, h5py
f = h5py.File(sys.argv[1], 'r')
for k in ['index','label','prediction','target','status','radius','lo','hi','margin','evals','seconds']:
    assert k in f['results'], k
for a in ['method','norm','model','model_sha256','command_line','software_version']:
    assert a in f.attrs, a
assert len(f['results/radius']) == 6
assert f.attrs['method'] in (b'crown', 'crown')
PY"
check "all targets give one row per other class" "$PY -c \"
import h5py; f = h5py.File('$TMP/call.h5','r'); r = f['results']
import collections; c = collections.Counter(r['index'][:])
assert all(v == 9 for v in c.values()), c
\""

# Every reported radius re-verifies at exactly that eps with 'nncert certify --eps'
# (by the method that found it, or by one that is never looser: crown-lbp for lbp;
# one results file per check: a file of another job is refused, not overwritten).
# A row with a target class (targeted, all targets, top2, ...) re-verifies for
# that class alone.
reverify() { # FILE METHOD [MODEL [OPTION...]]
    local ok_all=1 idx rad tgt st file=$1 meth=$2 model=${3:-$M}
    shift $(($# < 3 ? $# : 3))
    while read -r idx rad tgt; do
        [ "$rad" = "0.0" ] && continue
        local v="$TMP/v_${file##*/}_${meth}_${idx}_$tgt.h5" targeted=()
        [ "$tgt" -ge 0 ] && targeted=(--target "$tgt")
        $NNCERT certify --model $model --data $D --start "$idx" --count 1 --eps "$rad" --method "$meth" \
            "${targeted[@]}" "$@" --out "$v" >/dev/null 2>&1 || ok_all=0
        st=$($PY -c "import h5py; print(int(h5py.File('$v','r')['results/status'][0]))")
        [ "$st" = "0" ] || ok_all=0
    done < <($PY -c "
import h5py; f = h5py.File('$file','r'); r = f['results']
for i, s, x, t in zip(r['index'][:], r['status'][:], r['radius'][:], r['target'][:]):
    if s == 0: print(i, repr(float(x)), int(t))
")
    [ $ok_all = 1 ]
}
check "every reported radius re-verifies at exactly that eps" "reverify '$TMP/c.h5' crown"
expect_success "certify all targets with crown runs" $NNCERT certify --model $M --data $D --count 2 --target all --out "$TMP/call_crown.h5"
check "every per-target radius re-verifies at exactly that eps for its target" "reverify '$TMP/call_crown.h5' crown"
expect_success "certify top2 runs" $NNCERT certify --model $M --data $D --count 4 --target top2 --out "$TMP/ctop2.h5"
check "every top2 radius re-verifies against its recorded target" "reverify '$TMP/ctop2.h5' crown"
for meth in lbp crown-lbp; do
    expect_success "certify --method $meth runs" $NNCERT certify --model $M --data $D --count 6 --method $meth --out "$TMP/c_$meth.h5"
    check "$meth radii re-verify at exactly that eps" "reverify '$TMP/c_$meth.h5' $meth"
    check "$meth certified something and says so in the file" "$PY -c \"
import h5py; f = h5py.File('$TMP/c_$meth.h5','r')
assert f.attrs['method'] in (b'$meth', '$meth'); assert (f['results/status'][:] == 0).any()
\""
done
check "crown-lbp certifies at every lbp radius (never looser)" "reverify '$TMP/c_lbp.h5' crown-lbp"

# Single precision (float32 backward passes with a rounding budget): the same
# checks, on the MLP and on a MaxPool CNN (float transposed convolutions).
CNN=models/fmnist_cnn_lenet_maxpool.h5
expect_success "certify single precision runs" $NNCERT certify --model $M --data $D --count 6 --precision single --out "$TMP/cs.h5"
expect_success "certify single precision CNN runs" $NNCERT certify --model $CNN --data $D --count 3 --precision single --out "$TMP/ccs.h5"
check "single-precision radii re-verify at exactly that eps (MLP)" "reverify '$TMP/cs.h5' crown $M --precision single"
check "single-precision radii re-verify at exactly that eps (CNN)" "reverify '$TMP/ccs.h5' crown $CNN --precision single"
check "single-precision file says so; radii within 2% of double, some certified" "$PY - '$TMP/c.h5' '$TMP/cs.h5' '$TMP/ccs.h5' <<'PY'
import sys, h5py, numpy as np
d, s, sc = (h5py.File(p, 'r') for p in sys.argv[1:])
assert s.attrs['precision'] in (b'single', 'single') and d.attrs['precision'] in (b'double', 'double')
rd, rs = d['results/radius'][:], s['results/radius'][:]
assert np.all(np.abs(rs - rd) <= 0.02 * rd), (rd, rs)
assert (s['results/status'][:] == 0).any() and (sc['results/status'][:] == 0).any()
PY"
expect_failure "unknown precision is rejected" "unknown precision 'half'" $NNCERT certify --model $M --data $D --precision half --out "$TMP/x.h5"
expect_success "bounds --method lbp runs" $NNCERT bounds --model $M --data $D --index 3 --eps 0.005 --method lbp --out "$TMP/b_lbp.h5"
check "lbp bounds file: method attribute, ordered bounds and margins" "$PY - '$TMP/b_lbp.h5' <<'PY'
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], 'r')
assert f.attrs['method'] in (b'lbp', 'lbp')
assert np.all(f['margin/lower'][:] <= f['margin/upper'][:])
for k in f['bounds']:
    assert np.all(f['bounds'][k]['lower'][:] <= f['bounds'][k]['upper'][:])
PY"

check "PGD never succeeds inside a certified radius (double, crown15, single); bracket holds" "$PY - '$TMP/c.h5' '$TMP/c15.h5' '$TMP/a.h5' '$TMP/cs.h5' <<'PY'
import sys, h5py, numpy as np
c, c15, a, cs = (h5py.File(p, 'r')['results'] for p in sys.argv[1:])
assert (a['status'][:] == 0).any()
for r in (c, c15, cs):
    ok = a['status'][:] == 0
    assert np.all(a['dist'][:][ok] > r['radius'][:][ok]), (a['dist'][:], r['radius'][:])
assert np.all(c['lo'][:] < c['hi'][:])
assert np.all(c['hi'][:] <= c['lo'][:] * 1.001 + 1e-15)
assert c['evals'][:].sum() < c15['evals'][:].sum()
PY"
check "attack counterexamples are in [0,1] and flip the prediction" "$PY - '$TMP/a.h5' <<'PY'
import sys, h5py, numpy as np
r = h5py.File(sys.argv[1], 'r')['results']
x, z, ok = r['x_adv'][:], r['logits'][:], r['status'][:] == 0
assert x.shape[1] == 784 and z.shape[1] == 10
assert np.all((x[ok] >= 0) & (x[ok] <= 1))
assert np.all(z[ok].argmax(1) != r['prediction'][:][ok])
PY"
check "bounds file has /bounds/NNN and /margin with the agreed names" "$PY - '$TMP/b.h5' <<'PY'
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], 'r')
assert len(f['bounds']) >= 1
for k in f['bounds']:
    g = f['bounds'][k]; assert len(k) == 3
    assert np.all(g['lower'][:] <= g['upper'][:]); assert 'type' in g.attrs
assert len(f['margin/lower']) == 9 and len(f['margin/target']) == 9
assert np.all(f['margin/lower'][:] <= f['margin/upper'][:])
for a in ['model','index','label','prediction','eps','norm','method','lines','maxpool','precision','software_version']:
    assert a in f.attrs, a
PY"

expect_failure "unknown method is rejected" "unknown method 'crown2'" $NNCERT certify --model $M --data $D --method crown2 --out "$TMP/x.h5"
expect_failure "negative eps is rejected" "--eps must be >= 0" $NNCERT bounds --model $M --data $D --index 0 --eps -0.1 --out "$TMP/x.h5"
expect_failure "index out of range is rejected" "past the end" $NNCERT bounds --model $M --data $D --index 10000 --eps 0.1 --out "$TMP/x.h5"
expect_failure "unknown option is rejected" "unknown option '--frobnicate'" $NNCERT attack --model $M --data $D --eps 0.1 --frobnicate 1 --out "$TMP/x.h5"
expect_failure "attack needs eps or search" "exactly one of --eps" $NNCERT attack --model $M --data $D --out "$TMP/x.h5"
expect_failure "bad target is rejected" "unknown target 'top3'" $NNCERT certify --model $M --data $D --target top3 --out "$TMP/x.h5"
expect_failure "missing model file names the file" "nope.h5" $NNCERT certify --model "$TMP/nope.h5" --data $D --out "$TMP/x.h5"
$NNCERT certify --model $M --data $D --method bogus --out "$TMP/x.h5" >/dev/null 2>&1
check "usage errors exit with status 2" "[ $? = 2 ]"
