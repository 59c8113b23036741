#!/usr/bin/env bash
# tools/barrier_report.sh end to end on the committed 2x[20] ReLU MLP of MNIST,
# 3 images (the LP and MILP radius searches on 1), 2 ranks: both tables come out
# with every column, in the order the methods guarantee, and the script's own
# checks catch results that break an ordering (doctored result files).
# no-sanitizer: a shell and Python driver over certify runs that the other
# scripts already test under the sanitizers; under them LP-ALL and MILP take minutes.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
export OMPI_MCA_rmaps_base_oversubscribe=1
S=tools/barrier_report.sh
O=$TMP/b
NET=models/mnist_mlp_2x20_relu.h5
ARGS=(--nets $NET --images 3 --radius-images lp-last=1,lp-all=1,milp=1 --ranks 2 --eps 0.01
      --milp-time-limit 2 --task-timeout r:milp=30,lp-all=60 --out $O)

expect_success "--help documents the options" $S --help
check "--help names every option" "for o in --images --radius-images --ranks --eps --milp-time-limit \
    --task-timeout --methods --error-methods --nets --data --out; do grep -q -- \"\$o\" '$TMP/out' || exit 1; done"
expect_failure "an unknown method is refused" "unknown method 'crow'" $S --methods ibp,crow --out $TMP/x
expect_failure "a bad time limit is refused" "--task-timeout: '0' is not a positive number" \
    $S --task-timeout milp=0 --out $TMP/x
expect_failure "a missing model is refused" "nope.h5: no such model file" $S --nets nope.h5 --out $TMP/x

NNCERT=$NNCERT $S "${ARGS[@]}" >$TMP/report 2>$TMP/report.err
rc=$?
check "the study runs and its checks pass" "[ $rc -eq 0 ]" || tail -20 $TMP/report.err $TMP/report
check "stdout is barrier.md" "cmp -s $TMP/report $O/barrier.md"
check "every certify run went through the scheduler with 2 ranks" "$PY - $O <<'PY'
import glob, sys, h5py
fs = [f for f in glob.glob(sys.argv[1] + '/*.h5') if not f.endswith('_e_pgd.h5')]
assert len(fs) == 12, fs    # PGD's search and 7 methods of table 1, 4 of table 2 (MILP on the open images)
for f in fs:
    assert int(h5py.File(f, 'r').attrs['ranks']) == 2, f
PY"

check "table 2's MILP ran on the images LP-ALL and PGD leave open, and only there" "$PY - $O 0.01 <<'PY'
import json, math, sys, h5py
o, eps = sys.argv[1], float(sys.argv[2])
b = o + '/mnist_mlp_2x20_relu'
res = lambda f: h5py.File(f, 'r')['results']
lp, atk, pgd = res(b + '_e_lp-all.h5'), res(b + '_e_pgd.h5'), res(b + '_r_pgd.h5')
st = dict(zip(lp['index'][:], lp['status'][:]))
broken = {i for i, s in zip(atk['index'][:], atk['status'][:]) if s == 0}
broken |= {i for i, e in zip(pgd['index'][:], pgd['pgd_eps'][:]) if e <= eps}
want = [i for i in range(3) if st[i] in (1, 4) and i not in broken]
got = json.load(open(b + '_e_milp.images'))['images']
assert got == want and len(want) >= 1, (got, want)   # at least one: the MILP run is not empty
m = res(b + '_e_milp.h5')
assert sorted(m['index'][:]) == list(range(len(want))), m['index'][:]
assert all(s in (0, 1, 4) for s in m['status'][:])
PY"

check "per-table time limits reach the right runs" "grep -q -- '--task-timeout 30 ' $O/*_r_milp.cmd && \
    ! grep -q -- '--task-timeout' $O/*_e_milp.cmd && grep -q -- '--task-timeout 60 ' $O/*_e_lp-all.cmd && \
    grep -q -- '--task-timeout 60 ' $O/*_r_lp-all.cmd && grep -q -- '--milp-time-limit 2 ' $O/*_e_milp.cmd"

# The tables: structure, orderings of the printed figures.
check "tables have every column, images and seconds, and orderings hold" "$PY - $TMP/report <<'PY'
import re, sys
t = open(sys.argv[1]).read()
assert '## Table 1: certified l_inf radius and PGD\'s upper bound, images 0-2' in t, t
assert '## Table 1: certified l_inf radius and PGD\'s upper bound, images 0-0' in t, t
assert '## Table 2: bounds on the robust error at l_inf eps = 0.01, images 0-2' in t, t
assert 'All orderings hold' in t and 'FAILED' not in t
rows = lambda head: [l for l in t.split(head, 1)[1].split('\n\n', 2)[1].splitlines()]
# table 1 on the first image: every method
r1 = rows('images 0-0\n')
hdr = [c.strip() for c in r1[0].split('|')[1:-1]]
assert hdr == ['net (test accuracy)', '', 'IBP', 'Fast-Lin', 'CROWN', 'FROWN', 'LP-LAST', 'LP-ALL', 'MILP', 'PGD'], hdr
cells = lambda l: [c.strip() for c in l.split('|')[1:-1]]
mean = dict(zip(hdr[2:], (float(c.split()[0]) for c in cells(r1[2])[2:])))
assert cells(r1[2])[1] == 'mean radius' and cells(r1[3])[1] == 'median PGD / radius'
assert cells(r1[4])[1] == 'seconds (images)' and all(re.fullmatch(r'[0-9.]+ \((1|3)\)', c) for c in cells(r1[4])[2:])
rt = 1.001
for a, b in [('IBP', 'Fast-Lin'), ('IBP', 'CROWN'), ('CROWN', 'LP-LAST'), ('LP-LAST', 'LP-ALL'),
             ('Fast-Lin', 'LP-ALL'), ('CROWN', 'FROWN'), ('LP-ALL', 'MILP')]:
    assert mean[a] <= mean[b] * rt, (a, b, mean)
assert max(v for k, v in mean.items() if k != 'PGD') < mean['PGD'], mean
assert mean['IBP'] < mean['CROWN'], mean   # the comparison is not vacuous
# table 1 on all 3 images: the cheap methods
r3 = rows('images 0-2\n')
assert [c.strip() for c in r3[0].split('|')[1:-1]][2:] == ['IBP', 'Fast-Lin', 'CROWN', 'FROWN', 'PGD'], r3[0]
assert '3 of 3' in r3[2] or '2 of 3' in r3[2], r3[2]
# table 2
r2 = rows('images 0-2\n\nRobust')
hdr2 = cells(r2[0])
assert hdr2 == ['net', 'test error', 'PGD + MILP (lower)', 'MILP (upper)', 'LP-ALL (upper)', 'CROWN (upper)',
                'Fast-Lin (upper)'], hdr2
v = [float(c.split()[0]) for c in cells(r2[2])[1:]]
assert re.fullmatch(r'[0-9.]+ % \(run on [1-3] open\)', cells(r2[2])[3]), r2[2]
assert v[0] <= v[1] <= v[2] <= v[3] <= v[4] and v[3] <= v[5], v
assert cells(r2[3])[0] == 'seconds' and all(re.fullmatch(r'[0-9.]+', c) for c in cells(r2[3])[2:]), r2[3]
PY" || cat $TMP/report

# A rerun with the same options computes nothing and prints the same tables.
NNCERT=$NNCERT $S "${ARGS[@]}" >$TMP/report2 2>$TMP/report2.err
check "a rerun reuses every finished run" "[ $? -eq 0 ] && ! grep -q '[0-9]:[0-9][0-9] ' $TMP/report2.err && \
    cmp -s $TMP/report $TMP/report2"

# Teeth: doctored results must be caught by the script's checks.
doctor() {  # FILE COLUMN INDEX VALUE: set /results/COLUMN of image INDEX
    $PY - "$@" <<'PY'
import sys, h5py, numpy as np
f, col, idx, val = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
with h5py.File(f, 'r+') as h:
    r = h['results']
    i = int(np.nonzero(r['index'][:] == idx)[0][0])
    d = r[col][:]
    d[i] = val
    r[col][...] = d
PY
}
B=$O/mnist_mlp_2x20_relu
cp $B"_r_crown.h5" $TMP/keep.h5
pgd=$($PY -c "import h5py; r = h5py.File('${B}_r_pgd.h5', 'r')['results']; print(repr(float(r['pgd_eps'][list(r['index'][:]).index(0)])))")
doctor $B"_r_crown.h5" radius 0 "$pgd"
expect_failure "a radius at PGD's counterexample is caught" "FAILED: .*image 0: CROWN radius .* >= PGD's counterexample" \
    $S "${ARGS[@]}"
check "... with a FAILED line in barrier.md too" "grep -q '^FAILED: .*CROWN radius' $O/barrier.md"
cp $TMP/keep.h5 $B"_r_crown.h5"
ibp=$($PY -c "import h5py; r = h5py.File('${B}_r_ibp.h5', 'r')['results']; print(repr(float(r['radius'][list(r['index'][:]).index(0)])))")
doctor $B"_r_crown.h5" hi 0 "$ibp"
expect_failure "a stronger method failing below a weaker one's radius is caught" \
    "FAILED: .*image 0: IBP radius .* yet CROWN \(never looser\) fails" $S "${ARGS[@]}"
cp $TMP/keep.h5 $B"_r_crown.h5"
# A checked MILP counterexample (certify's milp_eps, milp_class) on table 2's
# open image counts in the lower bound, and a certificate next to one is caught.
cp $B"_e_milp.h5" $TMP/keep_milp.h5
open=$($PY -c "import json; print(json.load(open('${B}_e_milp.images'))['images'][0])")
doctor $B"_e_milp.h5" status 0 1
doctor $B"_e_milp.h5" milp_class 0 3
doctor $B"_e_milp.h5" milp_eps 0 0.01
NNCERT=$NNCERT $S "${ARGS[@]}" >$TMP/report3 2>$TMP/report3.err
check "a MILP counterexample raises table 2's lower bound by its image" "[ $? -eq 0 ] && $PY - $TMP/report \
    $TMP/report3 <<'PY'
import sys
def lower(f):
    t = open(f).read().split('Robust error', 1)[1]
    row = [l for l in t.splitlines() if l.startswith('| mnist_mlp_2x20_relu')][0]
    return float(row.split('|')[3].split()[0])
a, b = lower(sys.argv[1]), lower(sys.argv[2])
assert abs(b - (a + 100 / 3)) < 0.1, (a, b)
PY"
doctor $B"_e_milp.h5" status 0 0
expect_failure "a certificate where the MILP found a counterexample is caught" \
    "FAILED: .*image $open: MILP certifies eps 0.01 where the MILP found a counterexample" $S "${ARGS[@]}"
cp $TMP/keep_milp.h5 $B"_e_milp.h5"
cp $B"_e_lp-all.h5" $TMP/keep.h5
doctor $B"_e_crown.h5" status 0 0
doctor $B"_e_lp-all.h5" status 0 1
expect_failure "a certificate lost by the stronger method is caught" \
    "FAILED: .*image 0: certified at eps 0.01 by CROWN but not by LP-ALL" $S "${ARGS[@]}"
