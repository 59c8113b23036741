#!/usr/bin/env bash
# Outputs never replace inputs (doc/formats.md): every command that writes
# refuses an output that is the same file as one of its inputs (model, data and
# label files, job file, sweep file, results files), found by device and inode,
# so hard links, symlinks and other spellings are caught, before anything is
# written; the inputs are left byte for byte as they were.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
export OPENBLAS_NUM_THREADS=1

D=$TMP/w
mkdir -p "$D"
cp models/mnist_mlp_2x20_relu.h5 "$D/model.h5"
cp models/fmnist_mlp_2x20_relu.onnx "$D/model.onnx"
# two Fashion-MNIST test images and their labels as raw IDX files
gzip -dc /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz | head -c $((16 + 2 * 784)) >"$D/x-images-idx3"
printf '\x00\x00\x08\x03\x00\x00\x00\x02\x00\x00\x00\x1c\x00\x00\x00\x1c' | dd of="$D/x-images-idx3" bs=1 conv=notrunc status=none
printf '\x00\x00\x08\x01\x00\x00\x00\x02\x09\x02' >"$D/x-labels-idx1"
DATA="$D/x-images-idx3"
ln "$D/model.h5" "$D/model-hard.h5"
ln -s model.h5 "$D/model-sym.h5"
ln "$D/x-images-idx3" "$D/images-hard.h5"
ln -s x-labels-idx1 "$D/labels-sym.h5"
sums() { (cd "$D" && sha256sum model.h5 model.onnx x-images-idx3 x-labels-idx1 job.ini sweep.ini 2>/dev/null); }
cat >"$D/job.ini" <<INI
[job]
model = $D/model.h5
data = $DATA
count = 2
out = $D/job.ini
INI
cat >"$D/sweep.ini" <<INI
[sweep]
name = s
models = $D/model.h5
methods = ibp
norms = inf
[job]
data = $DATA
count = 2
INI
before=$(sums)
MSG='refusing to write .*: it is the'

expect_failure "certify --force-new: a hard link to the model as --out is refused" "$MSG model" \
    "$NNCERT" certify --model "$D/model.h5" --data "$DATA" --count 2 --out "$D/model-hard.h5" --force-new
expect_failure "certify --force-new: a symlink to the model as --out is refused" "$MSG model" \
    "$NNCERT" certify --model "$D/model.h5" --data "$DATA" --count 2 --out "$D/model-sym.h5" --force-new
expect_failure "certify: the model by another spelling is refused" "$MSG model" \
    "$NNCERT" certify --model "$D/model.h5" --data "$DATA" --count 2 --out "$D/../w/./model.h5"
expect_failure "certify --force-new: the image file (hard link) as --out is refused" "$MSG data file" \
    "$NNCERT" certify --model "$D/model.h5" --data "$DATA" --count 2 --out "$D/images-hard.h5" --force-new
expect_failure "certify --force-new: the label file (symlink) as --out is refused" "$MSG label file" \
    "$NNCERT" certify --model "$D/model.h5" --data "$DATA" --count 2 --out "$D/labels-sym.h5" --force-new
ln "$D/model.h5" "$D/r.h5.journal"
expect_failure "certify --force-new: a journal that is the model is refused" "r.h5.journal: it is the model" \
    "$NNCERT" certify --model "$D/model.h5" --data "$DATA" --count 2 --out "$D/r.h5" --force-new
rm -f "$D/r.h5.journal"
expect_failure "certify --force-new: the job file as out is refused" "$MSG job file" \
    "$NNCERT" certify --config "$D/job.ini" --force-new
check "certify: no results file was created by a refused run" '[ ! -e "$D/r.h5" ]'

expect_failure "bounds: a hard link to the model as --out is refused" "$MSG model" \
    "$NNCERT" bounds --model "$D/model.h5" --data "$DATA" --index 0 --eps 0.01 --out "$D/model-hard.h5"
expect_failure "attack: the image file as --out is refused" "$MSG data file" \
    "$NNCERT" attack --model "$D/model.h5" --data "$DATA" --eps 0.1 --out "$D/images-hard.h5"
expect_failure "predict: the label file as --logits is refused" "$MSG label file" \
    "$NNCERT" predict "$D/model.h5" --data "$DATA" --logits "$D/labels-sym.h5"
ln "$D/model.onnx" "$D/onnx-hard.h5"
expect_failure "import: a hard link to the ONNX input as output is refused" "$MSG model" \
    "$NNCERT" import "$D/model.onnx" "$D/onnx-hard.h5"

# report and sweep write fixed names into a folder
expect_success "certify: a fresh output next to the inputs is written" \
    "$NNCERT" certify --model "$D/model.h5" --data "$DATA" --count 2 --out "$D/r.h5"
mkdir -p "$D/rep"
ln "$D/r.h5" "$D/rep/report.md"
expect_failure "report: a results file that DIR/report.md would replace is refused" "$MSG results file" \
    "$NNCERT" report "$D/r.h5" --out "$D/rep"
check "report: the results file is intact" 'cmp -s "$D/r.h5" "$D/rep/report.md" && [ ! -e "$D/rep/report.html" ]'
mkdir -p "$D/sw"
ln "$D/sweep.ini" "$D/sw/manifest.tsv"
expect_failure "sweep: a sweep file that DIR/manifest.tsv would replace is refused" "$MSG sweep file" \
    "$NNCERT" sweep --jobs "$D/sweep.ini" --out-dir "$D/sw"

after=$(sums)
check "every input is byte for byte unchanged" '[ "$before" = "$after" ]' || diff <(echo "$before") <(echo "$after")
