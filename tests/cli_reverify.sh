#!/usr/bin/env bash
# Certificates (doc/radius.md "Certificates"): FROWN's warm-started radii,
# which a cold bound at the radius does not certify, re-verify bit for bit from
# the results file (certify --reverify, bounds --from-certificate), under
# mpirun with rows split over a group and after a resume too; tampered or
# mismatched files are refused or not verified, never verified falsely. Every
# other method: tests/cli_reverify_methods.sh.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
S=models/mnist_mlp_2x20_relu.h5
W=models/mnist_mlp_10x20_relu.h5   # FROWN warm starts: cold re-checks fail here
MPI="mpirun --oversubscribe -np"
export OMPI_MCA_rmaps_base_oversubscribe=1 OPENBLAS_NUM_THREADS=1

# ---- FROWN's warm starts: what a cold bound at the radius loses ----
expect_success "certify frown, warm starts (the default)" $NNCERT certify --model $W --data mnist:test --count 10 \
    --method frown --clip --frown-iters 20 --save-certificates all --out "$TMP/w.h5"
check "a cold bound at some reported radius does not certify it" "$PY - '$NNCERT' '$W' '$TMP/w.h5' '$TMP/cold.h5' <<'PY'
import sys, subprocess, h5py
nncert, model, res, out = sys.argv[1:]
r = h5py.File(res, 'r')['results']
cold = []
for i in range(len(r['index'])):
    if r['status'][i] != 0: continue
    subprocess.run([nncert, 'bounds', '--model', model, '--data', 'mnist:test', '--index', str(r['index'][i]),
                    '--eps', repr(float(r['radius'][i])), '--method', 'frown', '--clip', '--frown-iters', '20',
                    '--out', out], check=True, capture_output=True)
    cold.append(float(h5py.File(out, 'r')['margin/lower'][:].min()))
assert len(cold) >= 5 and min(cold) <= 0, cold
PY"
reverified "warm-started FROWN radii re-verify from their certificates" "$TMP/w.h5"
check "the first line names the job replayed" \
    "head -1 '$TMP/rv.out' | grep -q 'method frown, norm inf, clip yes, target untargeted, bisect; model $W'"
check "paths of warm FROWN hold the search's evaluations, eps = radius" "$PY - '$TMP/w.h5' <<'PY'
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], 'r'); c = f['certificates']; r = f['results']
assert f.attrs['certificate_version'] == 2 and c.attrs['version'] == 2 and not c['bab_domains'][:].any()
n = c['n_path'][:]
assert np.all(n >= 2) and np.all(n <= r['evals'][:][r['status'][:] == 0].max())
for k in range(len(n)):
    p = c['path'][k]
    assert p[n[k] - 1] == c['eps'][k] and np.all(np.isnan(p[n[k]:])) and not np.any(np.isnan(p[:n[k]]))
    row = np.where((r['index'][:] == c['index'][k]) & (r['slot'][:] == c['slot'][k]))[0][0]
    assert r['radius'][row] == c['eps'][k] and r['margin'][row] == c['margin'][k]
    assert np.nanmin(c['lower'][k]) == c['margin'][k]
PY"
expect_success "bounds --from-certificate writes the certifying bounds" $NNCERT bounds --from-certificate "$TMP/w.h5" \
    --index 1 --out "$TMP/fb.h5"
check "their margin has the search's bits at the radius" "$PY - '$TMP/w.h5' '$TMP/fb.h5' <<'PY'
import sys, h5py
r = h5py.File(sys.argv[1], 'r')['results']; b = h5py.File(sys.argv[2], 'r')
row = list(r['index'][:]).index(1)
assert b['margin/lower'][:].min() == r['margin'][row] and b.attrs['eps'] == r['radius'][row]
assert b.attrs['identical'] == 1 and b.attrs['evaluations'] >= 2 and b.attrs['method'] in ('frown', b'frown')
PY"
expect_failure "bounds --from-certificate names a task without one" "has no certificate of image 0 slot 0" \
    $NNCERT bounds --from-certificate "$TMP/w.h5" --index 0 --out "$TMP/x.h5"
expect_failure "bounds --from-certificate takes no method" "unknown option '--method'" \
    $NNCERT bounds --from-certificate "$TMP/w.h5" --index 1 --method crown --out "$TMP/x.h5"

# ---- over MPI: one worker, and a group that splits every layer's rows ----
expect_success "certify frown under mpirun -np 2" $MPI 2 $NNCERT certify --model $W --data mnist:test --count 4 \
    --method frown --clip --frown-iters 20 --save-certificates all --out "$TMP/p2.h5"
reverified "radii of mpirun -np 2 re-verify in one process" "$TMP/p2.h5"
expect_success "certify frown under mpirun -np 3, ranks_per_image 2" $MPI 3 $NNCERT certify --model $W \
    --data mnist:test --count 4 --method frown --clip --frown-iters 20 --ranks-per-image 2 --row-block 4 \
    --save-certificates all --out "$TMP/p3.h5"
reverified "radii of a rank group re-verify in one process" "$TMP/p3.h5"

# ---- a resumed job keeps its certificates (journal); a list saves only those ----
expect_success "certify 3 images" $NNCERT certify --model $W --data mnist:test --count 3 --method frown --clip \
    --frown-iters 20 --save-certificates all --out "$TMP/res.h5"
expect_success "resume to 6 images, certificates of 2 and 4 only" $NNCERT certify --model $W --data mnist:test \
    --count 6 --method frown --clip --frown-iters 20 --save-certificates 2,4 --out "$TMP/res.h5"
check "the resumed file holds the first run's certificates and the second's list" "$PY - '$TMP/res.h5' <<'PY'
import sys, h5py
c = h5py.File(sys.argv[1], 'r')['certificates']
assert sorted(c['index'][:]) == [1, 2, 4], c['index'][:]
PY"
expect_success "they re-verify" $NNCERT certify --reverify "$TMP/res.h5"
check "--images picks some" "$NNCERT certify --reverify '$TMP/res.h5' --images 4 | tail -1 | grep -q '^certificates 1: verified 1'"
expect_failure "a bad save_certificates value is a usage error" "expected 'all' or a list of indices" \
    $NNCERT certify --model $W --data mnist:test --count 1 --save-certificates some --out "$TMP/x.h5"

# ---- tampered files: refused, or not verified; never verified falsely ----
# not_reverified NAME FILE PATTERN: --reverify exits 1 (no crash, no sanitizer
# report) and its stdout matches PATTERN (grep -E).
not_reverified() {
    local name=$1 f=$2 pattern=$3 rc=0
    $NNCERT certify --reverify "$f" >"$TMP/out" 2>"$TMP/err" || rc=$?
    if [ $rc -ne 1 ]; then not_ok "$name" "exit $rc from certify --reverify $f" "$(tail -3 "$TMP/err")"
    elif grep -qE 'AddressSanitizer|runtime error:|LeakSanitizer' "$TMP/err"; then not_ok "$name" "$(head -5 "$TMP/err")"
    elif ! grep -qE -- "$pattern" "$TMP/out"; then not_ok "$name" "stdout lacks /$pattern/:" "$(tail -4 "$TMP/out")"
    else ok "$name"; fi
}
tamper() {  # tamper NAME PYTHON: a copy of w.h5 (no journal) edited by PYTHON, f the file
    cp "$TMP/w.h5" "$TMP/t_$1.h5"
    $PY - "$TMP/t_$1.h5" <<PY
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], 'r+'); c = f['certificates']; r = f['results']
row = lambda k: np.where((r['index'][:] == c['index'][k]) & (r['slot'][:] == c['slot'][k]))[0][0]
$2
PY
}
tamper big "k = 0; e = 0.3
p = c['path'][k]; p[c['n_path'][k] - 1] = e; c['path'][k] = p; c['eps'][k] = e; r['radius'][row(k)] = e"
not_reverified "a radius raised in /results and the certificate is not verified" "$TMP/t_big.h5" \
    "radius 0.29999999999999999 .*: NOT VERIFIED, differs"
check "... the others are verified and identical" \
    "grep -q '^certificates 8: verified 7, not verified 1, identical 7, refused 0' '$TMP/out'"
tamper ulp "k = 1; l = c['lower'][k]; j = [i for i in range(len(l)) if not np.isnan(l[i]) and l[i] > np.nanmin(l)][0]
l[j] = np.nextafter(l[j], np.inf); c['lower'][k] = l"
not_reverified "a row bound one ulp off: verified but differs" "$TMP/t_ulp.h5" \
    "^certificates 8: verified 8, not verified 0, identical 7, refused 0"
tamper path "for k in range(len(c['index'])):
    p = c['path'][k]; p[0] = 0.002; c['path'][k] = p"
not_reverified "other warm-start paths are replayed (soundly), not identically" "$TMP/t_path.h5" \
    ": (verified|NOT VERIFIED), differs$"
tamper nan "p = c['path'][0]; p[0] = np.nan; c['path'][0] = p"
expect_failure "a NaN eps in a path is refused" "refused: .*path\[0\] = nan is not an eps" \
    $NNCERT certify --reverify "$TMP/t_nan.h5"
tamper neg "p = c['path'][0]; p[0] = -0.01; c['path'][0] = p"
expect_failure "a negative eps in a path is refused" "path\[0\] = -0.01 is not an eps" \
    $NNCERT certify --reverify "$TMP/t_neg.h5"
tamper row "r['radius'][row(0)] = r['radius'][row(0)] * 1.5"
expect_failure "a radius raised in /results alone is refused" "is not its /results row" \
    $NNCERT certify --reverify "$TMP/t_row.h5"
tamper margin "l = c['lower'][0]; l[np.nanargmin(l)] += 1; c['lower'][0] = l"
expect_failure "row bounds that disagree with the margin are refused" "is not the least row bound" \
    $NNCERT certify --reverify "$TMP/t_margin.h5"
tamper npath "c['n_path'][0] = 0"
expect_failure "an empty path is refused" "n_path\[0\] = 0, expected 1 to 60" \
    $NNCERT certify --reverify "$TMP/t_npath.h5"
tamper hash "c['image_hash'][0] = c['image_hash'][0] ^ 1"
expect_failure "a certificate of another image is refused" "image [0-9]+ is not the image .* certified" \
    $NNCERT certify --reverify "$TMP/t_hash.h5"
tamper config "t = f.attrs['config']; t = t.decode() if isinstance(t, bytes) else t
f.attrs['config'] = np.bytes_(t.replace('clip = true', 'clip = false'))"
expect_failure "a config that is not its job_key's job is refused" \
    "its config is not the job its job_key names .*'clip = true' vs 'clip = false'" \
    $NNCERT certify --reverify "$TMP/t_config.h5"
tamper version "f.attrs['certificate_version'] = np.int64(3)"
expect_failure "another certificate version is refused" "certificate_version 3, this build reads 1 to 2" \
    $NNCERT certify --reverify "$TMP/t_version.h5"
tamper v1 "del c['bab_domains']; f.attrs['certificate_version'] = np.int64(1); c.attrs['version'] = np.int64(1)"
reverified "a version 1 file (no bab_domains column, written before it existed) still re-verifies" "$TMP/t_v1.h5"
expect_failure "another model is refused" "has SHA-256 .*, not the model_sha256" \
    $NNCERT certify --reverify "$TMP/w.h5" --model $S
expect_failure "another data set is refused image by image" "refused: data set 'fashion-mnist:test': image 1 is not" \
    $NNCERT certify --reverify "$TMP/w.h5" --data fashion-mnist:test
$NNCERT certify --model $S --data mnist:test --count 1 --out "$TMP/none.h5" >/dev/null 2>&1
expect_failure "a file without certificates says how to get them" "has no certificates .*--save-certificates all" \
    $NNCERT certify --reverify "$TMP/none.h5"
expect_failure "a missing file is named" "nope.h5" $NNCERT certify --reverify "$TMP/nope.h5"
expect_failure "--reverify takes no job options" "takes only --model, --data and --images" \
    $NNCERT certify --reverify "$TMP/w.h5" --method crown
