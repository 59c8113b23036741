#!/usr/bin/env bash
# 'nncert certify --bab' (doc/bab.md "Certified radii"): branch and bound at the
# eps the bounds leave uncertified. The radii grow past CROWN's and an exact
# MILP certifies each of them; the settings are the job's identity (a job
# without them keeps its old one); an INI [bab] section equals the flags; a
# rank group gives one process's bits; bad settings fail before any work.
# no-sanitizer: LP and MILP leaves end to end; the search runs under the
# sanitizers in test_bab.
. "$(dirname "$0")/lib.sh"
M=models/fmnist_mlp_2x20_relu.h5
D=fashion-mnist:test
PY=/usr/bin/python3
MPI="mpirun --oversubscribe -np"
BASE=(--model $M --data $D --count 3 --clip --rtol 0.05)
BAB=(--bab --bab-candidates 4 --bab-max-domains 400)

expect_failure "--bab-split needs --bab" "bab_split.*needs bab = true" \
    $NNCERT certify "${BASE[@]}" --out "$TMP/e.h5" --bab-split relu
expect_failure "--bab searches l_inf balls only" "bab.*l_inf balls only.*norm is 2" \
    $NNCERT certify "${BASE[@]}" --out "$TMP/e.h5" --bab --norm 2
expect_failure "--bab-timeout must be >= 0" "bab_timeout.*>= 0" \
    $NNCERT certify "${BASE[@]}" --out "$TMP/e.h5" --bab --bab-timeout -1
expect_failure "--bab-candidates must be >= 1" "bab_candidates" \
    $NNCERT certify "${BASE[@]}" --out "$TMP/e.h5" --bab --bab-candidates 0
expect_failure "--bab-unit needs --bab" "bab_unit.*needs bab = true" \
    $NNCERT certify "${BASE[@]}" --out "$TMP/e.h5" --bab-unit 4
expect_failure "--bab-unit must be >= 1" "bab_unit" \
    $NNCERT certify "${BASE[@]}" --out "$TMP/e.h5" --bab --bab-unit 0
expect_failure "--bab-unit batches the linear passes only" "bab_unit.*needs method crown, fastlin or frown, not ibp" \
    $NNCERT certify "${BASE[@]}" --out "$TMP/e.h5" --bab --bab-unit 2 --method ibp
expect_failure "--bab-split names its choices" "bab_split.*auto, input or relu" \
    $NNCERT certify "${BASE[@]}" --out "$TMP/e.h5" --bab --bab-split sideways
check "nothing was written by the refused jobs" "[ ! -e '$TMP/e.h5' ]"

expect_success "certify without --bab" $NNCERT certify "${BASE[@]}" --out "$TMP/crown.h5"
expect_success "certify --bab" $NNCERT certify "${BASE[@]}" "${BAB[@]}" --out "$TMP/bab.h5"
check "every radius with --bab is at least CROWN's, and one is larger" "$PY - '$TMP' <<'PY'
import sys, h5py, numpy as np
d = sys.argv[1]
c, b = (h5py.File(f'{d}/{n}.h5', 'r')['results'] for n in ('crown', 'bab'))
assert (c['status'][()] == 0).all() and (b['status'][()] == 0).all(), (c['status'][()], b['status'][()])
assert (b['radius'][()] >= c['radius'][()]).all(), (c['radius'][()], b['radius'][()])
assert (b['radius'][()] > c['radius'][()] * 1.05).any(), (c['radius'][()], b['radius'][()])
assert (b['margin'][()] > 0).all()
PY"
# the exact MILP at each reported radius: certified there too
unsafe=""
for i in 0 1 2; do
    r=$($PY -c "import h5py; print(repr(float(h5py.File('$TMP/bab.h5','r')['results/radius'][$i])))")
    $NNCERT certify --model $M --data $D --start $i --count 1 --clip --eps "$r" --method milp \
        --milp-time-limit 60 --out "$TMP/milp$i.h5" >/dev/null 2>&1 || unsafe="$unsafe run$i"
    st=$($PY -c "import h5py; print(int(h5py.File('$TMP/milp$i.h5','r')['results/status'][0]))" 2>/dev/null)
    [ "$st" = 0 ] || unsafe="$unsafe image$i(eps=$r,status=$st)"
done
check "MILP certifies every --bab radius" "[ -z '$unsafe' ]" || echo "#   $unsafe"

# certificates: a radius branch and bound certified re-verifies from the file
expect_success "certify --bab --save-certificates all" $NNCERT certify "${BASE[@]}" "${BAB[@]}" \
    --save-certificates all --out "$TMP/babc.h5"
check "every radius has a certificate; those beyond CROWN's name branch and bound's domain count" "$PY - '$TMP' <<'PY'
import sys, h5py, numpy as np
d = sys.argv[1]
f = h5py.File(d + '/babc.h5', 'r'); r = f['results']; c = f['certificates']
crown = h5py.File(d + '/crown.h5', 'r')['results/radius'][()]
assert f.attrs['certificate_version'] == 2 and len(c['index']) == 3
for k in range(3):
    i = int(c['index'][k])
    assert c['eps'][k] == r['radius'][i] and c['margin'][k] == r['margin'][i]
    beyond = r['radius'][i] > crown[i]
    assert (c['bab_domains'][k] > 0) == beyond, (k, c['bab_domains'][k], r['radius'][i], crown[i])
    if beyond:  # the bounds' rows left it open; the margin is the search's
        assert np.nanmin(c['lower'][k]) <= 0 < c['margin'][k]
assert (c['bab_domains'][:] > 0).any()
PY"
reverified "radii certified by branch and bound re-verify from their certificates" "$TMP/babc.h5"

check "the [bab] settings in force are the job's identity" "$PY - '$TMP' <<'PY'
import sys, h5py
d = sys.argv[1]
b = h5py.File(d + '/bab.h5', 'r').attrs['job_key'].decode()
c = h5py.File(d + '/crown.h5', 'r').attrs['job_key'].decode()
for k in ('bab = true', 'bab_split = auto', 'bab_candidates = 4', 'bab_max_domains = 400', 'bab_timeout = 0'):
    assert k in b, (k, b)
assert 'bab' not in c, c
PY"
expect_success "the same job again resumes" $NNCERT certify "${BASE[@]}" "${BAB[@]}" --out "$TMP/bab.h5"
check "... with nothing computed again" "grep -q 'resumed: 3 rows' '$TMP/out' && grep -q 'rows 3:' '$TMP/out'" ||
    tail -3 "$TMP/out"
expect_failure "other --bab settings are another job" "another job|different job|job differs|--force-new" \
    $NNCERT certify "${BASE[@]}" --bab --bab-candidates 2 --bab-max-domains 400 --out "$TMP/bab.h5"
expect_failure "the job without --bab is another job" "another job|different job|job differs|--force-new" \
    $NNCERT certify "${BASE[@]}" --out "$TMP/bab.h5"

cat >"$TMP/job.ini" <<EOF
[job]
model = $M
data = $D
count = 3
out = $TMP/ini.h5
[bound]
clip = true
[certify]
rtol = 0.05
[bab]
bab = true
bab_candidates = 4
bab_max_domains = 400
EOF
expect_success "a [bab] section in a job file" $NNCERT certify --config "$TMP/job.ini"
sed -i 's/^bab = true/bab = false/; /^bab_/d' "$TMP/job.ini"
expect_success "... bab = false in the file" $NNCERT certify --config "$TMP/job.ini" --out "$TMP/ini_false.h5"

check "the job file gives the flags' radii; bab = false gives CROWN's" "$PY - '$TMP' <<'PY'
import sys, h5py, numpy as np
d = sys.argv[1]
r = lambda n: h5py.File(f'{d}/{n}.h5', 'r')['results/radius'][()]
assert np.array_equal(r('ini'), r('bab')), (r('ini'), r('bab'))
assert np.array_equal(r('ini_false'), r('crown')), (r('ini_false'), r('crown'))
assert 'bab' not in h5py.File(f'{d}/ini_false.h5', 'r').attrs['job_key'].decode()
PY"

expect_success "mpirun -np 3, a rank group of 2 per image" $MPI 3 $NNCERT certify "${BASE[@]}" "${BAB[@]}" \
    --ranks-per-image 2 --out "$TMP/g2.h5"
expect_success "mpirun -np 3, images over two workers" $MPI 3 $NNCERT certify "${BASE[@]}" "${BAB[@]}" \
    --out "$TMP/w2.h5"
check "every row, in every column but seconds and rank, is one process's bits" \
    "$PY tests/same_results.py '$TMP/bab.h5' '$TMP/g2.h5' '$TMP/w2.h5'"
