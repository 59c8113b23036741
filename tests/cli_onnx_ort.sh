#!/usr/bin/env bash
# Every good ONNX fixture (tools/models/make_onnx_fixtures.py) through `nncert predict`
# and through onnxruntime (tools/ref/ort_run.js, one node process for all of them):
# the logits must agree within the tolerance tests/onnx_ort_cases.py justifies. The
# pooling fixtures also go through native files and tools/ref/torch_forward.py.
# no-sanitizer: logits against onnxruntime, numerics only; the import itself runs
# under the sanitizers in test_onnx_import and the ONNX fuzz corpus replay.
. "$(dirname "$0")/lib.sh"
FX="$TMP/fx" W="$TMP/w"
PY=/usr/bin/python3

if [ ! -d tools/ref/ort/node_modules/onnxruntime-node ] || ! command -v node >/dev/null 2>&1; then
    ok "# SKIP onnxruntime-node is not installed (tools/install/install-deps.sh installs it)"
    exit 0
fi

if $PY tools/models/make_onnx_fixtures.py "$FX" >"$TMP/gen.log" 2>&1; then ok "fixtures generated"
else not_ok "fixtures generated" "$(tail -5 "$TMP/gen.log")"; exit 1; fi

# native input shapes as nncert reads them: "NAME FILE C H W"
: >"$TMP/shapes"
for f in "$FX"/*.onnx; do
    name=$(basename "$f" .onnx)
    case $name in bad_*) continue ;; esac
    shape=$("$NNCERT" inspect "$f" 2>"$TMP/err" | sed -n 's/^input shape: \([0-9]*\)x\([0-9]*\)x\([0-9]*\) .*/\1 \2 \3/p')
    if [ -z "$shape" ]; then not_ok "inspect $name" "$(head -3 "$TMP/err")"; continue; fi
    echo "$name $f $shape" >>"$TMP/shapes"
done
n=$(wc -l <"$TMP/shapes")
check "every good fixture imports ($n)" "[ $n -ge 30 ]"

if $PY tests/onnx_ort_cases.py prepare "$TMP/shapes" "$W" 8 >"$TMP/prep.log" 2>&1; then ok "inputs prepared"
else not_ok "inputs prepared" "$(tail -5 "$TMP/prep.log")"; exit 1; fi

failed=0
while read -r name f _; do
    "$NNCERT" predict "$f" --data "$W/$name-images-idx3-ubyte" --logits "$W/$name.logits" >/dev/null 2>"$TMP/err" ||
        { failed=1; not_ok "predict $name" "$(head -3 "$TMP/err")"; }
done <"$TMP/shapes"
[ $failed -eq 0 ] && ok "nncert predict ran on every fixture"

if node tools/ref/ort_run.js --jobs "$W/jobs" >"$W/ort.out" 2>"$TMP/ort.err"; then ok "onnxruntime ran every fixture"
else not_ok "onnxruntime ran every fixture" "$(head -5 "$TMP/ort.err")"; fi

$PY tests/onnx_ort_cases.py compare "$W"

# The pooling fixtures through the native file: imported .h5 (count_padding,
# ceil cells as padding) predicted by nncert and by tools/ref/torch_forward.py
for name in pool_ceil pool_ceil_drop pool_ceil_asym pad_nodes; do
    data="$W/$name-images-idx3-ubyte,$W/$name-labels-idx1-ubyte"
    if "$NNCERT" import "$FX/$name.onnx" "$W/$name.h5" >/dev/null 2>"$TMP/err" &&
        "$NNCERT" predict "$W/$name.h5" --data "$data" --logits "$W/$name.h5.logits" >/dev/null 2>>"$TMP/err" &&
        $PY tools/ref/torch_forward.py "$W/$name.h5" --data "$data" >"$W/$name.torch" 2>>"$TMP/err"; then
        $PY tests/onnx_ort_cases.py pair "$name.h5: nncert and torch_forward.py logits agree" "$W/$name.h5.logits" "$W/$name.torch"
        check "$name.h5: the same logits as the .onnx" "cmp -s '$W/$name.logits' '$W/$name.h5.logits'"
    else
        not_ok "$name.h5: import, predict and torch_forward.py" "$(head -3 "$TMP/err")"
    fi
done
