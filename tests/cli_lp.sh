#!/usr/bin/env bash
# 'nncert bounds' and 'certify' with the LP methods (doc/lp.md): each method runs,
# the margins order CROWN <= LP-LAST <= LP-ALL <= MILP, lp-greedy is fastlin,
# l1 balls work, and every bad combination fails before any work, specifically.
# no-sanitizer: LP solver numerics end to end; the LP code runs under the
# sanitizers in test_bound_lp and test_bound_lp_methods.
. "$(dirname "$0")/lib.sh"
M=models/fmnist_mlp_2x20_relu.h5
D=fashion-mnist:test
PY=/usr/bin/python3

for me in crown lp-last lp-all milp; do
    expect_success "bounds --method $me runs" $NNCERT bounds --model $M --data $D --index 3 --eps 0.008 \
        --method $me --milp-time-limit 30 --out "$TMP/b_$me.h5"
    cp "$TMP/out" "$TMP/out_$me"
done
check "milp prints each row's outcome and checks its points" "grep -q 'milp row 0 (class' '$TMP/out_milp' && \
    grep -q 'proven, lower bound' '$TMP/out_milp'"
check "margins order crown <= lp-last <= lp-all <= milp" "$PY - '$TMP' <<'PY'
import sys, h5py, numpy as np
d = sys.argv[1]
lo = [h5py.File(f'{d}/b_{m}.h5', 'r')['margin/lower'][()] for m in ('crown', 'lp-last', 'lp-all', 'milp')]
tol = 1e-8 * (1 + np.abs(lo[0]))
assert all(np.all(a <= b + tol) for a, b in zip(lo, lo[1:])), lo
assert np.any(lo[2] > lo[0] + 1e-6), 'lp-all never tighter than crown'
assert h5py.File(f'{d}/b_lp-all.h5', 'r').attrs['method'] in ('lp-all', b'lp-all')
PY"
expect_success "lp-greedy runs" $NNCERT bounds --model $M --data $D --index 3 --eps 0.008 --method lp-greedy \
    --out "$TMP/g.h5"
check "lp-greedy is fastlin" "$PY -c \"import h5py; assert h5py.File('$TMP/g.h5', 'r').attrs['method'] in ('fastlin', b'fastlin')\""
expect_success "lp-all on a clipped l1 ball" $NNCERT bounds --model $M --data $D --index 3 --eps 0.2 --norm 1 \
    --clip --method lp-all --out "$TMP/l1.h5"
expect_success "certify lp-all at a fixed eps" $NNCERT certify --model $M --data $D --count 2 --eps 0.005 \
    --method lp-all --out "$TMP/c.h5"
expect_success "certify milp at a fixed eps" $NNCERT certify --model $M --data $D --count 1 --eps 0.005 \
    --method milp --milp-time-limit 20 --out "$TMP/cm.h5"
check "certify's margins order lp-all <= milp on the same image" "$PY - '$TMP' <<'PY'
import sys, h5py
d = sys.argv[1]
a, m = h5py.File(d + '/c.h5', 'r')['results'], h5py.File(d + '/cm.h5', 'r')['results']
assert a['index'][0] == m['index'][0] == 0
assert a['margin'][0] <= m['margin'][0] + 1e-8 * (1 + abs(a['margin'][0])), (a['margin'][0], m['margin'][0])
PY"

expect_success "configs/lp-all.ini runs (its [lp] keys)" \
    $NNCERT certify --config configs/lp-all.ini --count 1 --eps 0.005 --out "$TMP/cfg.h5"
expect_failure "lp_cuts is refused with method crown" "lp_cuts.*applies to methods lp-last, lp-all and milp" \
    $NNCERT certify --config configs/lp-all.ini --count 1 --method crown --out "$TMP/x.h5"

# LP-ALL's per-neuron LPs split over a rank group (row blocks of 4 on 20-wide
# layers): the same bits for N = 1, 2, 3 ranks and groups of 1 and 2.
export OMPI_MCA_rmaps_base_oversubscribe=1
ok_det=1
$NNCERT certify --model $M --data $D --count 2 --eps 0.006 --method lp-all --row-block 4 \
    --out "$TMP/d1.h5" >/dev/null 2>"$TMP/err" || ok_det=0
for cfg in "2 1" "3 2"; do
    mpirun --oversubscribe -np ${cfg% *} $NNCERT certify --model $M --data $D --count 2 --eps 0.006 --method lp-all \
        --row-block 4 --ranks-per-image ${cfg#* } --out "$TMP/d${cfg% *}.h5" >/dev/null 2>>"$TMP/err" || ok_det=0
done
check "lp-all: the same bits for 1, 2 and 3 ranks (groups of 1 and 2)" \
    "[ $ok_det = 1 ] && $PY tests/same_results.py '$TMP/d1.h5' '$TMP/d2.h5' '$TMP/d3.h5'" || tail -3 "$TMP/err"
# MILP's margin rows, a Cbc solve each, handed to a group's members one at a
# time: the results of one process (every row proven well within the limit)
ok_det=1
$NNCERT certify --model $M --data $D --count 2 --eps 0.006 --method milp --row-block 4 --milp-time-limit 60 \
    --out "$TMP/m1.h5" >/dev/null 2>"$TMP/err" || ok_det=0
mpirun --oversubscribe -np 3 $NNCERT certify --model $M --data $D --count 2 --eps 0.006 --method milp --row-block 4 \
    --milp-time-limit 60 --ranks-per-image 2 --out "$TMP/m3.h5" >/dev/null 2>>"$TMP/err" || ok_det=0
check "milp: a group of 2 gives the bits of one process" \
    "[ $ok_det = 1 ] && $PY tests/same_results.py '$TMP/m1.h5' '$TMP/m3.h5'" || tail -3 "$TMP/err"

expect_failure "lp-all refuses l2, naming the methods that take it" "not a polyhedron.*crown" \
    $NNCERT bounds --model $M --data $D --index 3 --eps 0.1 --norm 2 --method lp-all --out "$TMP/x.h5"
expect_failure "certify lp-last refuses l2" "norm.*not a polyhedron" \
    $NNCERT certify --model $M --data $D --count 1 --norm 2 --method lp-last --out "$TMP/x.h5"
expect_failure "milp refuses sigmoid nets" "milp: layer [0-9]+ is sigmoid" \
    $NNCERT bounds --model models/fmnist_mlp_10x20_sigmoid.h5 --data $D --index 0 --eps 0.01 --method milp \
    --out "$TMP/x.h5"
expect_failure "a time limit of 0 is refused" "milp-time-limit must be seconds > 0" \
    $NNCERT bounds --model $M --data $D --index 3 --eps 0.01 --method milp --milp-time-limit 0 --out "$TMP/x.h5"
expect_failure "certify refuses a negative time limit" "milp_time_limit.*> 0" \
    $NNCERT certify --model $M --data $D --count 1 --method milp --milp-time-limit -1 --out "$TMP/x.h5"
expect_failure "the time limit needs method milp" "applies to method milp only" \
    $NNCERT certify --model $M --data $D --count 1 --method crown --milp-time-limit 5 --out "$TMP/x.h5"
expect_failure "lp cuts out of range" "lp-cuts" \
    $NNCERT bounds --model $M --data $D --index 3 --eps 0.01 --method lp-all --lp-cuts 100 --out "$TMP/x.h5"
