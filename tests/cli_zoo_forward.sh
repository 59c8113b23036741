#!/usr/bin/env bash
# The C forward pass against an independent one: for every model in models/ (and
# models/zoo/ when `make zoo` has built it), `nncert predict --logits` on the first
# test images must agree with tools/ref/torch_forward.py (PyTorch, float64, reading the
# HDF5 file itself) to 1e-9 relative in every logit; ONNX copies are compared with
# the torch reading of the .h5 of the same name (same float32 parameters). The test
# accuracy stored in /meta must be exactly what predict finds on the whole test set
# (for two committed models and the zoo's CIFAR-shaped and deep CNNs and small
# ResNet when present).
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
PY=/usr/bin/python3
N=${ZOO_FORWARD_IMAGES:-50}

# same_logits A B: A from predict, B from torch. Same INDEX LABEL PRED per line, and
# max |a - b| <= 1e-9 * max(1, |b|) over all logits; prints the worst line on failure.
same_logits() {
    awk -v tol=1e-9 '
        function abs(v) { return v < 0 ? -v : v }
        NR == FNR { a[FNR] = $0; na = FNR; next }
        {
            nb = FNR
            if (!(FNR in a)) { printf "line %d missing from %s\n", FNR, ARGV[1]; bad = 1; exit }
            nx = split(a[FNR], x, " ")
            if (nx != NF) { printf "line %d: %d fields vs %d\n", FNR, nx, NF; bad = 1; exit }
            for (i = 1; i <= 3; i++)
                if (x[i] != $i) { printf "line %d: field %d is %s vs %s\n", FNR, i, x[i], $i; bad = 1 }
            for (i = 4; i <= NF; i++) {
                d = abs(x[i] - $i); s = abs($i) > 1 ? abs($i) : 1
                if (d / s > worst) { worst = d / s; where = sprintf("line %d logit %d: %s vs %s", FNR, i - 4, x[i], $i) }
            }
        }
        END {
            if (bad) exit 1
            if (na != nb || na == 0) { printf "%d lines vs %d\n", na, nb; exit 1 }
            if (worst > tol) { printf "relative difference %.3g > %g at %s\n", worst, tol, where; exit 1 }
        }' "$1" "$2"
}

models=$(ls models/*.h5 models/zoo/*.h5 2>/dev/null)
check "models/ holds trained models" '[ -n "$models" ]'
# The zoo's CNNs of the "deep nets" work: the CIFAR-shaped one reads the derived
# fashion-mnist-rgb32 (its /meta dataset), so its logits also check that nncert
# and the reference derive the same pixels. Absent before `make zoo`.
NEW_ZOO="fmnist_cnn_cifar_shaped fmnist_cnn_deep fmnist_resnet_small"
for name in $NEW_ZOO; do
    [ -f "models/zoo/$name.h5" ] || ok "predict logits of $name.h5 equal torch float64 # SKIP models/zoo/$name.h5 absent (make zoo)"
done

# One Python process (torch starts slowly) reads every model: $TMP/NAME.torch gets
# the reference logits of the first $N test images, $TMP/NAME.meta the line
# "DATASET CORRECT TEST_IMAGES" from /meta; a model it cannot read gets no files.
# shellcheck disable=SC2086
$PY - "$TMP" "$N" $models <<'EOF_PY' 2>"$TMP/torch.err"
import os, sys
sys.path.insert(0, "tools/ref")
import torch_forward as tf
tmp, n = sys.argv[1], int(sys.argv[2])
for path in sys.argv[3:]:
    name = os.path.basename(path)[:-3]
    try:
        model = tf.load_model(path)
        data = model.meta["dataset"]
        data = data.decode() if isinstance(data, bytes) else str(data)
        images, labels = tf.load_idx(data + ":test")
        logits = tf.logits_of(model, images[:n])
    except Exception as e:
        print("%s: %s" % (path, e), file=sys.stderr)
        continue
    with open(os.path.join(tmp, name + ".torch"), "w") as f:
        tf.write_lines(f, logits, labels[:n], 0)
    with open(os.path.join(tmp, name + ".meta"), "w") as f:
        f.write("%s %d %d\n" % (data, int(model.meta["correct"]), int(model.meta["test_images"])))
EOF_PY

for h5 in $models; do
    name=$(basename "$h5" .h5)
    ref="$TMP/$name.torch"
    if [ ! -f "$ref" ]; then
        not_ok "torch reads $name" "$(grep -F "$h5" "$TMP/torch.err" | head -3)"
        continue
    fi
    read -r dataset _ _ <"$TMP/$name.meta"
    data="$dataset:test"
    for m in "$h5" "${h5%.h5}.onnx"; do
        [ -f "$m" ] || continue
        got="$TMP/$name.${m##*.}.nncert"
        label="predict logits of $(basename "$m") equal torch float64 on $N images"
        if ! "$NNCERT" predict "$m" --data "$data" --start 0 --count "$N" --logits "$got" >"$TMP/out" 2>"$TMP/err"; then
            not_ok "$label" "predict failed: $(tail -3 "$TMP/err")"
        elif msg=$(same_logits "$got" "$ref"); then
            ok "$label"
        else
            not_ok "$label" "$msg"
        fi
    done
done

# The comparison itself must be able to fail: two different models disagree.
a=models/fmnist_mlp_2x20_relu.h5 b=models/fmnist_mlp_2x20_tanh.h5
if [ -f "$a" ] && [ -f "$b" ]; then
    $PY tools/ref/torch_forward.py "$a" --data fashion-mnist:test --count 5 >"$TMP/a" 2>/dev/null
    $PY tools/ref/torch_forward.py "$b" --data fashion-mnist:test --count 5 >"$TMP/b" 2>/dev/null
    check "logit comparison rejects a different model" '! same_logits "$TMP/a" "$TMP/b" >/dev/null'
    # One logit moved in its 8th significant digit must be caught too.
    awk 'NR == 3 { $6 = $6 * (1 + 1e-8) } { print }' OFMT=%.17g CONVFMT=%.17g "$TMP/a" >"$TMP/a2"
    check "logit comparison rejects a 1e-8 relative change" '! same_logits "$TMP/a2" "$TMP/a" >/dev/null'
fi

# Stored accuracy = predict on the full test set (both deterministic, same data).
zoo_acc=""
for name in $NEW_ZOO; do
    if [ -f "models/zoo/$name.h5" ]; then zoo_acc="$zoo_acc models/zoo/$name.h5"
    else ok "accuracy in /meta of $name equals predict on the whole test set # SKIP models/zoo/$name.h5 absent"; fi
done
for h5 in models/fmnist_mlp_2x20_relu.h5 models/mnist_cnn_lenet_maxpool.h5 $zoo_acc; do
    name=$(basename "$h5" .h5)
    [ -f "$TMP/$name.meta" ] || { not_ok "accuracy of $name" "$h5 missing or unreadable"; continue; }
    read -r dataset want total <"$TMP/$name.meta"
    data="$dataset:test"
    label="accuracy in /meta of $name ($want/$total) equals predict on the whole test set"
    if ! "$NNCERT" predict "$h5" --data "$data" --logits "$TMP/full" >"$TMP/out" 2>"$TMP/err"; then
        not_ok "$label" "predict failed: $(tail -3 "$TMP/err")"
        continue
    fi
    got=$(awk '$2 == $3 { c++ } END { print c + 0 }' "$TMP/full")
    lines=$(wc -l <"$TMP/full")
    if [ "$got" = "$want" ] && [ "$lines" = "$total" ] && grep -qw "$want" "$TMP/out"; then
        ok "$label"
    else
        not_ok "$label" "predict: $got correct of $lines lines; stdout: $(head -3 "$TMP/out")"
    fi
done
