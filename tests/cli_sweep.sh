#!/usr/bin/env bash
# 'nncert sweep': a grid of models x methods x norms x image ranges expands to
# one valid certify config per run and a manifest; the generated configs run;
# a bad value anywhere in the grid is reported (run, file, key) before anything
# is written; the shipped jobs/*.ini all expand.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
cat >"$TMP/s.ini" <<EOF
# a small grid
[sweep]
name = small
models = models/fmnist_mlp_2x20_relu.h5,
         models/fmnist_mlp_2x20_tanh.h5
methods = crown, ibp
norms = inf 2 1
images = 10-24
images_per_run = 6
results = $TMP/res

[job]
data = fashion-mnist:test

[certify]
rtol = 1e-2
EOF
expect_success "a grid expands" $NNCERT sweep --jobs "$TMP/s.ini" --out-dir "$TMP/runs"
check "2 models x 2 methods x 3 norms x 3 ranges = 36 runs, each a config in the manifest" "$PY - '$TMP/runs/manifest.tsv' <<'PY'
import sys, csv, os, collections
rows = list(csv.DictReader(open(sys.argv[1]), delimiter='\t'))
assert len(rows) == 36, len(rows)
assert len({r['id'] for r in rows}) == 36 and len({r['out'] for r in rows}) == 36
ranges = collections.Counter((r['start'], r['count']) for r in rows)
assert ranges == {('10', '6'): 12, ('16', '6'): 12, ('22', '3'): 12}, ranges
for r in rows:
    t = open(r['config']).read()
    assert 'model = ' + r['model'] in t and 'method = ' + r['method'] in t and 'norm = ' + r['norm'] in t
    assert 'start = ' + r['start'] in t and 'count = ' + r['count'] in t and 'out = ' + r['out'] in t
    assert 'rtol = 0.01' in t
PY"
check "the results folder is created" "[ -d '$TMP/res' ]"
cfg=$(awk -F'\t' 'NR == 37 { print $2 }' "$TMP/runs/manifest.tsv")
expect_success "a generated config runs as it is" $NNCERT certify --config "$cfg"
check "  ... with its own image range" "grep -q 'images 3, rows 3' '$TMP/out'"

sed 's/^methods = crown, ibp/methods = crown, crown2/' "$TMP/s.ini" >"$TMP/bad.ini"
expect_failure "a bad method in the grid names the run and the key" "run 10 .*crown2.*bad.ini:6: key 'method': unknown method 'crown2'" \
    $NNCERT sweep --jobs "$TMP/bad.ini" --out-dir "$TMP/runs2"
check "  ... and nothing is written" "[ ! -e '$TMP/runs2' ]"
sed 's|models/fmnist_mlp_2x20_tanh.h5|models/nope.h5|' "$TMP/s.ini" >"$TMP/bad.ini"
expect_failure "a missing model is named with its line" "bad.ini:4: key 'models': cannot read model 'models/nope.h5'" \
    $NNCERT sweep --jobs "$TMP/bad.ini" --out-dir "$TMP/runs2"
printf '[sweep]\nname = x\nmethods = crown\n[bound]\nnorm = inf\n' >"$TMP/bad.ini"
expect_failure "a sweep without models says what is missing" "needs a model" \
    $NNCERT sweep --jobs "$TMP/bad.ini" --out-dir "$TMP/runs2"
printf '[sweep]\nname = x\nmodels = models/fmnist_mlp_2x20_relu.h5\nimages = 9-3\n' >"$TMP/bad.ini"
expect_failure "a reversed image range is refused" "key 'images': expected a range" \
    $NNCERT sweep --jobs "$TMP/bad.ini" --out-dir "$TMP/runs2"
expect_failure "unknown options are usage errors" "unknown option '--frobnicate'" $NNCERT sweep --frobnicate
# A sweep over the large zoo needs `make zoo` first; without it the sweep must
# say so rather than expand runs that cannot start.
expanded=0
for f in jobs/*.ini; do
    zoo_model=$(grep -o 'models/zoo/[A-Za-z0-9_.]*' "$f" | head -n 1)
    if [ -n "$zoo_model" ] && [ ! -e "$zoo_model" ]; then
        expect_failure "shipped sweep $f without \`make zoo\` names the missing model" \
            "cannot read model '$zoo_model': No such file or directory .the large zoo models are built by .make zoo" \
            $NNCERT sweep --jobs "$f" --out-dir "$TMP/shipped/$(basename "$f" .ini)" --results "$TMP/shipped-results"
        check "  ... and writes no manifest" "[ ! -e '$TMP/shipped/$(basename "$f" .ini)' ]"
        continue
    fi
    expanded=$((expanded + 1))
    expect_success "shipped sweep $f expands" $NNCERT sweep --jobs "$f" --out-dir "$TMP/shipped/$(basename "$f" .ini)" \
        --results "$TMP/shipped-results"
done
check "the shipped sweeps cover thousands of images each" "$PY - '$TMP/shipped' $expanded <<'PY'
import sys, csv, glob
ms = glob.glob(sys.argv[1] + '/*/manifest.tsv')
assert len(ms) == int(sys.argv[2]) and len(ms) >= 2, ms
for m in ms:
    rows = list(csv.DictReader(open(m), delimiter='\t'))
    assert sum(int(r['count']) for r in rows) >= 2000, m
PY"
