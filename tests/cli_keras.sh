#!/usr/bin/env bash
# Keras 2 HDF5 models: fixtures written with h5py in Keras's layout
# (tools/models/make_keras_fixtures.py), whose logits numpy computes on channels-last
# tensors; nncert must print the same logits reading the file directly (--model /
# predict MODEL) and after 'nncert import', and refuse each damaged file by name.
. "$(dirname "$0")/lib.sh"
FX="$TMP/fx"
GEN=tools/models/make_keras_fixtures.py

if /usr/bin/python3 $GEN "$FX" >"$TMP/gen.log" 2>&1; then ok "fixtures generated"
else not_ok "fixtures generated" "$(tail -5 "$TMP/gen.log")"; exit 1; fi

expect_success "import --help" "$NNCERT" import --help
check "help names Keras and --keras-config" "grep -q 'Keras 2 HDF5' '$TMP/out' && grep -q -- '--keras-config' '$TMP/out'"

# same logits as the numpy reference, read directly and after import
for net in seq_cnn func_cnn crown_mlp mlp_vec reshape_cnn; do
    data="$FX/$net-images-idx3-ubyte"
    expect_success "predict $net.h5 (Keras file read directly)" \
        "$NNCERT" predict "$FX/$net.h5" --data "$data" --logits "$TMP/$net.direct"
    check "$net: logits match the numpy channels-last reference" \
        "/usr/bin/python3 $GEN compare '$FX/$net.ref' '$TMP/$net.direct' >'$TMP/cmp' 2>&1" || cat "$TMP/cmp"
    expect_success "import $net" "$NNCERT" import "$FX/$net.h5" "$TMP/$net.native.h5"
    expect_success "predict the imported $net" \
        "$NNCERT" predict "$TMP/$net.native.h5" --data "$data" --logits "$TMP/$net.imported"
    check "$net: imported file gives identical logits" "cmp -s '$TMP/$net.direct' '$TMP/$net.imported'"
done

"$NNCERT" inspect "$TMP/seq_cnn.native.h5" >"$TMP/seq.txt" 2>&1
types=$(grep -E '^[0-9]{3} ' "$TMP/seq.txt" | awk '{print $2}' | tr '\n' ' ')
check "seq_cnn layers (got: $types)" \
    "[ '$types' = 'conv2d relu conv2d tanh maxpool2d flatten dense sigmoid dense ' ]"
check "same padding split as TensorFlow (0 top/left, 1 bottom/right on the pool)" \
    "grep -q 'maxpool2d .* pad 0,0,1,1' '$TMP/seq.txt'"
check "imported_from and the softmax note are stored" \
    "grep -q 'imported_from: seq_cnn.h5' '$TMP/seq.txt' && grep -q 'import_note: the final softmax was dropped' '$TMP/seq.txt'"
"$NNCERT" import "$FX/mlp_vec.h5" "$TMP/x.h5" >/dev/null 2>"$TMP/note"
check "import says on stderr that the softmax was dropped" "grep -q 'mlp_vec.h5: note: the final softmax was dropped' '$TMP/note'"
"$NNCERT" inspect "$TMP/mlp_vec.native.h5" >"$TMP/mlp.txt" 2>&1
types=$(grep -E '^[0-9]{3} ' "$TMP/mlp.txt" | awk '{print $2}' | tr '\n' ' ')
check "BatchNormalization after a Dense is folded (got: $types)" "[ '$types' = 'dense relu dense ' ]"
"$NNCERT" inspect "$TMP/func_cnn.native.h5" >"$TMP/func.txt" 2>&1
check "BatchNormalization after a pool becomes a normalize layer" "grep -qE '^[0-9]{3} +normalize' '$TMP/func.txt'"
"$NNCERT" inspect "$TMP/crown_mlp.native.h5" >"$TMP/crown.txt" 2>&1
check "CROWN's arctan Lambda becomes arctan" "grep -qE '^[0-9]{3} +arctan' '$TMP/crown.txt'"

# model.save_weights files: the architecture comes from model.to_json()
expect_success "import a weights-only file with --keras-config" \
    "$NNCERT" import "$FX/crown_weights.h5" "$TMP/cw.h5" --keras-config "$FX/crown_arch.json"
"$NNCERT" predict "$TMP/cw.h5" --data "$FX/crown_mlp-images-idx3-ubyte" --logits "$TMP/cw.logits" >/dev/null 2>&1
check "weights-only file + architecture: the same logits" "cmp -s '$TMP/cw.logits' '$TMP/crown_mlp.direct'"
expect_failure "a weights-only file without --keras-config" "crown_weights.h5: root attribute 'model_config' is missing: a save_weights file" \
    "$NNCERT" predict "$FX/crown_weights.h5" --data "$FX/crown_mlp-images-idx3-ubyte"
expect_failure "--keras-config with an ONNX input is a usage error" "--keras-config is for Keras files" \
    "$NNCERT" import x.onnx "$TMP/y.h5" --keras-config "$FX/crown_arch.json"
echo '{"class_name": "Sequential", "config": [' >"$TMP/broken.json"
expect_failure "a broken --keras-config file" "broken.json is not valid JSON" \
    "$NNCERT" import "$FX/crown_weights.h5" "$TMP/y.h5" --keras-config "$TMP/broken.json"

expect_failure "import of a native file says so" "seq_cnn.native.h5: is a native nncert model file" \
    "$NNCERT" import "$TMP/seq_cnn.native.h5" "$TMP/y.h5"
/usr/bin/python3 -c "import h5py; h5py.File('$TMP/plain.h5', 'w').create_group('g')"
expect_failure "import of an HDF5 file that is no model" "plain.h5: not a Keras model file: root attribute 'model_config'" \
    "$NNCERT" import "$TMP/plain.h5" "$TMP/y.h5"

# --model takes a Keras file directly
expect_success "certify --model on a Keras file" "$NNCERT" certify --model "$FX/func_cnn.h5" \
    --data "$FX/func_cnn-images-idx3-ubyte" --count 2 --out "$TMP/cert.h5"

# every damaged file: a named error, exit 1, no crash
for f in "$FX"/bad_*.h5; do
    b=$(basename "$f" .h5)
    expect_failure "refused: $b" "$b.h5: (.*)?$(cat "$FX/$b.err")" "$NNCERT" import "$f" "$TMP/bad.h5"
done
check "no output written for refused models" "[ ! -e '$TMP/bad.h5' ]"
expect_failure "damaged file through --model too" "bad_nan_weight.h5: layer 'dense_1' \(Dense\)" \
    "$NNCERT" predict "$FX/bad_nan_weight.h5" --data "$FX/crown_mlp-images-idx3-ubyte"
