#!/usr/bin/env bash
# --data cifar10:... and npy:...: CIFAR-10 batches and .npy arrays the test writes
# (tools/models/make_data_fixtures.py), read through probe models whose logits are
# chosen pixels and a checksum, compared with what numpy says the images are; and
# one damaged file per class of damage, each refused with a named error.
. "$(dirname "$0")/lib.sh"
FX="$TMP/fx"
GEN=tools/models/make_data_fixtures.py

if /usr/bin/python3 $GEN "$FX" >"$TMP/gen.log" 2>&1; then ok "fixtures generated"
else not_ok "fixtures generated" "$(tail -5 "$TMP/gen.log")"; exit 1; fi

while IFS=$'\t' read -r name spec model start count; do
    expect_success "predict on $name" "$NNCERT" predict "$model" --data "$spec" --start "$start" --count "$count" \
        --logits "$TMP/$name.logits"
    check "$name: images and labels read as numpy wrote them" \
        "/usr/bin/python3 $GEN compare '$FX/$name.expect' '$TMP/$name.logits' >'$TMP/cmp' 2>&1" || cat "$TMP/cmp"
done <"$FX/good.txt"

while IFS=$'\t' read -r name spec model regex args; do
    # shellcheck disable=SC2086
    expect_failure "refused: $name" "$regex" "$NNCERT" predict "$model" --data "$spec" $args
done <"$FX/bad.txt"

expect_success "certify reads cifar10: too" "$NNCERT" certify --model "$FX/probe_cifar.h5" --data "cifar10:$FX/cifar" \
    --count 1 --target all --out "$TMP/c.h5"

# outputs never replace inputs: the guard knows these data sets' files too
cp "$FX/lab_i8.npy" "$TMP/lab.npy"
cp "$FX/cifar/data_batch_2.bin" "$TMP/batch.bin"
before=$(cd "$TMP" && sha256sum lab.npy batch.bin)
expect_failure "predict: the npy label file as --logits is refused" "it is the label file" \
    "$NNCERT" predict "$FX/probe_small.h5" --data "npy:$FX/u8.npy,labels=$TMP/lab.npy" --logits "$TMP/lab.npy"
expect_failure "certify: the CIFAR-10 batch file as --out is refused" "it is the data file" \
    "$NNCERT" certify --model "$FX/probe_cifar.h5" --data "cifar10:$TMP/batch.bin" --count 1 --out "$TMP/batch.bin"
check "the refused runs left the data files as they were" \
    '[ "$before" = "$(cd "$TMP" && sha256sum lab.npy batch.bin)" ]'
