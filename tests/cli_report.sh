#!/usr/bin/env bash
# 'nncert report' and certify --attack pgd: a hand-made results file with known
# radii gives the known counts, certified accuracies, quartiles and failures;
# bad inputs fail naming the file and the problem; the plots are real PNGs; the
# HTML page is self-contained; PGD's upper bound is never below a certified
# radius (an unsound certificate otherwise, which report flags); the PGD
# columns survive a resume; a sweep is reported run by run from its manifest.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
M=models/fmnist_mlp_2x20_relu.h5
D=fashion-mnist:test

# known.h5: 10 images; 0-6 certified at 0.01 .. 0.07, 7 uncertified (radius 0),
# 8 misclassified, 9 failed; PGD at twice the radius (0.005 for image 7).
# Scored radii 0, .01, ..., .07: mean = median = 0.035, Q1 0.0175, Q3 0.0525.
make_results() { # FILE SHA [UNSOUND]
    $PY - "$@" <<'PY'
import sys, h5py, numpy as np
path, sha = sys.argv[1], sys.argv[2]
unsound = len(sys.argv) > 3
f = h5py.File(path, 'w')
for k, v in dict(kind='certify', model='models/made_up.h5', model_sha256=sha, data='fashion-mnist:test',
                 method='crown', norm='inf', target='untargeted', search='bisect', attack='pgd',
                 start_time='2026-01-02T03:04:05Z', end_time='2026-01-02T03:05:00Z', git_commit='test').items():
    f.attrs[k] = np.bytes_(v)
f.attrs['ranks'] = np.int64(3)
f.attrs['runs'] = np.int64(1)
radius = np.array([0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.0, 0.0, 0.0])
status = np.array([0, 0, 0, 0, 0, 0, 0, 1, 2, 3])
pgd = np.where(status == 0, 2 * radius, np.nan)
pgd[7] = 0.005
if unsound:
    pgd[2] = 0.02   # below the certified 0.03
msg = np.zeros(10, dtype='S256')
msg[9] = b'bounds were NaN at layer 2'
g = f.create_group('results')
for name, v in dict(index=np.arange(10), slot=np.zeros(10, int), status=status, evals=np.full(10, 4),
                    radius=radius, seconds=np.full(10, 0.5), message=msg, pgd_eps=pgd).items():
    g[name] = v.astype(np.int64) if v.dtype.kind == 'i' else v
PY
}
make_results "$TMP/known.h5" aaaaaaaaaaaaaaaa
expect_success "report of a hand-made file runs" $NNCERT report "$TMP/known.h5" --eps 0.015,0.03,0.05 --out "$TMP/rep"
R=$TMP/rep/report.md
check "it prints where the report is" "grep -q '$TMP/rep/report.html' '$TMP/out'"
check "counts, accuracy and radius quartiles are the known ones" \
    "grep -qF '| known | 10 | 80.0% | 7 | 0.035 | 0.0175 | 0.035 | 0.0525 | 0.07 | 0.5 | 4 | 1 |' '$R'" || grep known "$R"
check "certified accuracy at the given eps, PGD beside it" \
    "grep -qF '| known | 80.0% | 60.0% (PGD ≤ 70.0%) | 50.0% (PGD ≤ 60.0%) | 30.0% (PGD ≤ 50.0%) |' '$R'" || grep known "$R"
check "mean certified / PGD ratio over the 8 attacked images" \
    "grep -qF '| known | 8 | 8 | 0.07 | 0.4375 | 0 |' '$R'" || grep known "$R"
check "the failure is listed with its reason" "grep -qF '| known | 9 | 0 | bounds were NaN at layer 2 |' '$R'"
check "model, SHA-256, method, norm, ranks, start and end are shown" \
    "grep -qF '| known | models/made_up.h5 | aaaaaaaaaaaa | crown | ℓ∞ | untargeted | fashion-mnist:test | 3 | 1 | yes | 2026-01-02T03:04:05Z | 2026-01-02T03:05:00Z |' '$R'"
check "four plots are valid PNGs of plausible size" "$PY - '$TMP/rep' <<'PY'
import sys, os, struct
d = sys.argv[1]
for n in ['certified_accuracy', 'radius_histogram', 'radius_vs_pgd', 'time_vs_radius']:
    b = open(os.path.join(d, n + '.png'), 'rb').read()
    assert b[:8] == b'\x89PNG\r\n\x1a\n', n
    w, h = struct.unpack('>II', b[16:24])
    assert b[12:16] == b'IHDR' and 600 <= w <= 2000 and 400 <= h <= 2000, (n, w, h)
    assert 8000 < len(b) < 5000000, (n, len(b))
    assert b[-8:-4] == b'IEND', n
PY"
check "the HTML page embeds its four plots and links no file" "[ \$(grep -o 'data:image/png;base64,' '$TMP/rep/report.html' | wc -l) = 4 ] && [ \$(grep -o 'src=' '$TMP/rep/report.html' | wc -l) = 4 ]"
check "the Markdown links the plots next to it" "grep -q '](certified_accuracy.png)' '$R'"

# eps chosen from the data: round values between the 10th and 90th percentile
expect_success "report without --eps chooses eps" $NNCERT report "$TMP/known.h5" --out "$TMP/rep2"
check "chosen eps are the round values within the 10-90% range of the radii, 0.016-0.064" "grep -qF '| file | clean accuracy | ε = 0.02 | ε = 0.05 |' '$TMP/rep2/report.md'"

# two files of the same model: side by side and per image
make_results "$TMP/twin.h5" aaaaaaaaaaaaaaaa
$PY -c "
import h5py; f = h5py.File('$TMP/twin.h5', 'r+'); r = f['results/radius']; v = r[:]; v[:3] *= 0.5; r[...] = v
f.attrs['method'] = b'ibp'"
expect_success "two files of one model" $NNCERT report "$TMP/known.h5" "$TMP/twin.h5" --eps 0.015 --out "$TMP/rep3"
check "per-image comparison: 3 wins for known, 5 ties, mean ratio (3 x 2 + 4 x 1) / 7" "grep -qF '| known | twin | 8 | 3 | 0 | 5 | 1.4286 |' '$TMP/rep3/report.md'"

# bad inputs
make_results "$TMP/other.h5" bbbbbbbbbbbbbbbb
expect_failure "files of different models are refused, naming the file" "other.h5: model .*differs from .*known.h5" \
    $NNCERT report "$TMP/known.h5" "$TMP/other.h5" --out "$TMP/x"
expect_success "--mixed-models allows them" $NNCERT report "$TMP/known.h5" "$TMP/other.h5" --mixed-models --out "$TMP/x"
expect_failure "a missing file is named" "nope.h5: cannot read the results file" $NNCERT report "$TMP/nope.h5" --out "$TMP/x"
echo "not hdf5" >"$TMP/text.h5"
expect_failure "a non-HDF5 file is named" "text.h5: not an HDF5 file" $NNCERT report "$TMP/text.h5" --out "$TMP/x"
expect_failure "a model file is not a results file" "fmnist_mlp_2x20_relu.h5: not an nncert certify results file" \
    $NNCERT report $M --out "$TMP/x"
expect_success "attack file for the next check" $NNCERT attack --model $M --data $D --count 2 --eps 0.01 --out "$TMP/att.h5"
expect_failure "an attack results file is named by its kind" "att.h5: not a certify results file: its kind is 'attack'" \
    $NNCERT report "$TMP/att.h5" --out "$TMP/x"
$PY -c "import h5py; f = h5py.File('$TMP/cut.h5', 'w'); f.attrs['kind'] = b'certify'; f['results/index'] = [1, 2]"
expect_failure "a results file without its columns is named" "cut.h5: no dataset /results/slot" \
    $NNCERT report "$TMP/cut.h5" --out "$TMP/x"
expect_failure "--out is required" "--out DIR is required" $NNCERT report "$TMP/known.h5"
expect_failure "bad --eps is a usage error" "--eps expects a finite number" $NNCERT report "$TMP/known.h5" --eps 0.1,x --out "$TMP/x"
make_results "$TMP/unsound.h5" aaaaaaaaaaaaaaaa 1
expect_failure "a PGD point inside a certified radius is reported loudly" "UNSOUND: 1 certified rows" \
    $NNCERT report "$TMP/unsound.h5" --out "$TMP/rep4"
check "and marked in the report" "grep -q 'UNSOUND' '$TMP/rep4/report.md'"
# certify --method milp's milp_eps: a checked counterexample at or below a
# certified radius is unsound too; above every radius it is not
add_milp() { # FROM TO EPS_OF_IMAGE_3
    $PY - "$@" <<'PY'
import sys, shutil, h5py, numpy as np
shutil.copy(sys.argv[1], sys.argv[2])
with h5py.File(sys.argv[2], 'r+') as f:
    m = np.full(10, np.nan)
    m[3] = float(sys.argv[3])    # image 3 is certified at 0.04
    f['results']['milp_eps'] = m
PY
}
add_milp "$TMP/known.h5" "$TMP/milp_ok.h5" 0.045
expect_success "a MILP counterexample above the radius is fine" $NNCERT report "$TMP/milp_ok.h5" --out "$TMP/rep5"
add_milp "$TMP/known.h5" "$TMP/milp_bad.h5" 0.04
expect_failure "a MILP counterexample at the certified radius is reported loudly" \
    "UNSOUND: 1 certified rows have a MILP counterexample" $NNCERT report "$TMP/milp_bad.h5" --out "$TMP/rep6"
check "and marked in the report" "grep -q 'UNSOUND: 1 certified rows have a MILP' '$TMP/rep6/report.md' && \
    ! grep -q UNSOUND '$TMP/rep5/report.md'"

# certify --attack pgd: the upper bound is never below the certified radius
expect_success "certify --attack pgd runs" $NNCERT certify --model $M --data $D --count 8 --attack pgd \
    --save-attacks 0-2 --out "$TMP/p.h5"
check "pgd_eps > radius for every certified row, found for most" "$PY - '$TMP/p.h5' <<'PY'
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], 'r'); r = f['results']
s, rad, pgd = r['status'][:], r['radius'][:], r['pgd_eps'][:]
c = s == 0
assert c.sum() >= 5, s
bad = c & ~(pgd > rad) & ~np.isnan(pgd)
assert not bad.any(), ('UNSOUND: PGD below a certified radius', r['index'][:][bad], rad[bad], pgd[bad])
assert np.isfinite(pgd[c]).sum() >= c.sum() - 1
assert np.all(np.isnan(pgd[s >= 2])) and np.all(r['pgd_class'][:][s >= 2] == -1)
assert f.attrs['attack'] in (b'pgd', 'pgd')
x, z = f['attacks/x_adv'][:], f['attacks/logits'][:]
assert x.shape[1] == 784 and z.shape[1] == 10 and 1 <= len(x) <= 3
for k, i in enumerate(f['attacks/index'][:]):
    row = list(r['index'][:]).index(i)
    assert z[k].argmax() != r['prediction'][row] or z[k].max() == z[k][r['prediction'][row]]
    assert np.all((x[k] >= 0) & (x[k] <= 1))
PY"
expect_success "certify --attack pgd with every target runs" $NNCERT certify --model $M --data $D --count 2 \
    --target all --method crown-ibp --attack pgd --out "$TMP/pall.h5"
check "each target's PGD bound (towards that class) lies above its certified radius" "$PY - '$TMP/pall.h5' <<'PY'
import sys, h5py, numpy as np
r = h5py.File(sys.argv[1], 'r')['results']
s, rad, pgd, cls, t = (r[k][:] for k in ('status', 'radius', 'pgd_eps', 'pgd_class', 'target'))
c = s == 0
assert c.sum() >= 9 and not (c & (pgd <= rad)).any(), (rad[c], pgd[c])
found = c & np.isfinite(pgd)
assert found.any() and np.all(cls[found] == t[found])
PY"
cp "$TMP/p.h5" "$TMP/p_before.h5"
expect_success "the same job resumes with more images" $NNCERT certify --model $M --data $D --count 10 --attack pgd \
    --save-attacks 0-2 --out "$TMP/p.h5"
check "the resumed rows keep their PGD values" "grep -q 'resumed: 8 rows' '$TMP/out' && $PY - '$TMP/p_before.h5' '$TMP/p.h5' <<'PY'
import sys, h5py, numpy as np
a, b = (h5py.File(p, 'r')['results'] for p in sys.argv[1:])
assert len(b['index']) == 10
key = lambda r: {int(i): (e, l, c) for i, e, l, c in zip(r['index'][:], r['pgd_eps'][:], r['pgd_lo'][:], r['pgd_class'][:])}
ka, kb = key(a), key(b)
for i, v in ka.items():
    assert np.array_equal(np.array(v), np.array(kb[i]), equal_nan=True), (i, v, kb[i])
PY"
rm -f "$TMP/p.h5"
expect_success "the results file is rebuilt from the journal" $NNCERT certify --model $M --data $D --count 10 --attack pgd \
    --save-attacks 0-2 --out "$TMP/p.h5"
check "nothing was recomputed and the PGD values and counterexamples are back" "grep -q 'resumed: 10 rows' '$TMP/out' && $PY - '$TMP/p_before.h5' '$TMP/p.h5' <<'PY'
import sys, h5py, numpy as np
a, b = (h5py.File(p, 'r') for p in sys.argv[1:])
ea = dict(zip(a['results/index'][:], a['results/pgd_eps'][:]))
eb = dict(zip(b['results/index'][:], b['results/pgd_eps'][:]))
assert all(np.array_equal(ea[i], eb[i], equal_nan=True) for i in ea)
assert np.array_equal(a['attacks/x_adv'][:], b['attacks/x_adv'][:])
PY"
expect_failure "attack is part of the job: a run without it is refused" "attack = pgd" \
    $NNCERT certify --model $M --data $D --count 10 --out "$TMP/p.h5"
expect_failure "attack pgd refuses norm 1" "pgd attacks norms inf and 2 only" \
    $NNCERT certify --model $M --data $D --count 2 --attack pgd --norm 1 --out "$TMP/x.h5"
expect_success "report of a real run" $NNCERT report "$TMP/p.h5" --out "$TMP/rep5"

# a sweep: 2 methods x 2 image ranges, one run left out
cat >"$TMP/s.ini" <<EOF
[sweep]
name = tiny
models = $M
methods = crown, ibp
images = 0-7
images_per_run = 4
results = $TMP/sres

[job]
data = $D

[certify]
rtol = 1e-2
attack = pgd
EOF
expect_success "the sweep expands" $NNCERT sweep --jobs "$TMP/s.ini" --out-dir "$TMP/sruns"
ok_runs=1
while IFS=$'\t' read -r id cfg out rest; do
    [ "$id" = id ] || [ "$id" = 0004-fmnist_mlp_2x20_relu-ibp-inf-000004 ] && continue
    $NNCERT certify --config "$cfg" >/dev/null 2>&1 || ok_runs=0
done <"$TMP/sruns/manifest.tsv"
check "three of its four runs ran" "[ $ok_runs = 1 ]"
expect_success "report --manifest runs" $NNCERT report --manifest "$TMP/sruns/manifest.tsv" --out "$TMP/srep"
check "one row per run, grouped by model, method and norm; the missing run is listed" "$PY - '$TMP/srep/report.md' <<'PY'
import sys
t = open(sys.argv[1]).read()
for run in ['0001-fmnist_mlp_2x20_relu-crown-inf-000000', '0002-fmnist_mlp_2x20_relu-crown-inf-000004',
            '0003-fmnist_mlp_2x20_relu-ibp-inf-000000']:
    assert ('| ' + run + ' |') in t, run
assert '| 0004-fmnist_mlp_2x20_relu-ibp-inf-000004 |' in t and 'missing |' in t
assert '| **fmnist_mlp_2x20_relu.h5 crown inf** | **8** |' in t
assert '| **fmnist_mlp_2x20_relu.h5 ibp inf** | **4** |' in t
assert '| fmnist_mlp_2x20_relu.h5 crown inf | fmnist_mlp_2x20_relu.h5 ibp inf | ' in t   # compared per image
PY"
expect_failure "a manifest that is not one is named" "s.ini:1: not a sweep manifest" \
    $NNCERT report --manifest "$TMP/s.ini" --out "$TMP/x"
