#!/usr/bin/env bash
# `nncert inspect` on good and bad model files. The files are written here with
# h5py (variable-length strings, float32 weights: not what nncert's own writer
# produces) and the expected parameter count is computed in Python from the
# arrays themselves, independently of nncert.
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh
PY=/usr/bin/python3

# expect_exit NAME STATUS PATTERN CMD...: exact exit status, stderr matches PATTERN,
# no sanitizer report.
expect_exit() {
    local name=$1 want=$2 pattern=$3; shift 3
    "$@" >"$TMP/out" 2>"$TMP/err"
    local rc=$?
    if [ "$rc" -ne "$want" ]; then not_ok "$name" "exit $rc (want $want) from: $*" "$(head -3 "$TMP/err")"
    elif grep -qE 'AddressSanitizer|runtime error:|LeakSanitizer' "$TMP/err"; then not_ok "$name" "$(head -5 "$TMP/err")"
    elif ! grep -qE -- "$pattern" "$TMP/err"; then not_ok "$name" "stderr lacks /$pattern/:" "$(head -3 "$TMP/err")"
    else ok "$name"; fi
}

if ! $PY - "$TMP" <<'EOF' >"$TMP/expected" 2>"$TMP/pyerr"
import sys, h5py, numpy as np
d = sys.argv[1]
rng = np.random.default_rng(5)
f32 = lambda *s: rng.standard_normal(s).astype(np.float32)

def base(path, mutate=None):
    """2x6x6 -> normalize -> conv2d 3x4x4 -> maxpool (no stride attr: 2x2) -> leaky_relu
    -> flatten 12 -> param_ramp -> dense 4 -> tanh -> dense 3."""
    with h5py.File(path, "w") as f:
        f.attrs["format"] = "nncert-model"
        f.attrs["version"] = 1
        f.attrs["input_shape"] = [2, 6, 6]
        f.attrs["name"] = "cli-fixture"
        L = f.create_group("layers")
        g = L.create_group("000"); g.attrs["type"] = "normalize"
        g["mean"] = np.array([0.1, 0.2]); g["std"] = np.array([0.5, 0.25])
        g = L.create_group("001"); g.attrs["type"] = "conv2d"
        g["weight"] = f32(3, 2, 3, 3); g["bias"] = f32(3)
        g.attrs["stride"] = [1, 1]; g.attrs["padding"] = [0, 0, 0, 0]
        g = L.create_group("002"); g.attrs["type"] = "maxpool2d"; g.attrs["kernel"] = [2, 2]
        g = L.create_group("003"); g.attrs["type"] = "leaky_relu"; g.attrs["alpha"] = 0.05
        g = L.create_group("004"); g.attrs["type"] = "flatten"
        g = L.create_group("005"); g.attrs["type"] = "param_ramp"; g.attrs["eta"] = 0.01
        g["r"] = np.abs(f32(12))
        g = L.create_group("006"); g.attrs["type"] = "dense"
        g["weight"] = f32(4, 12); g["bias"] = f32(4)
        g = L.create_group("007"); g.attrs["type"] = "tanh"
        g = L.create_group("008"); g.attrs["type"] = "dense"
        g["weight"] = f32(3, 4); g["bias"] = f32(3)
        m = f.create_group("meta")
        m.attrs["accuracy"] = 0.8125
        m.attrs["dataset"] = "fixture"
        if mutate:
            mutate(f)

base(f"{d}/good.h5")
with h5py.File(f"{d}/good.h5", "r") as f:
    total = sum(ds.size for g in f["layers"].values() for ds in g.values())
print(total)

def set_ds(name, value):
    def m(f):
        del f[name]
        f[name] = value
    return m

def nan_at(name, index, value):
    def m(f):
        a = f[name][()]
        a[index] = value
        del f[name]
        f[name] = a
    return m

def del_ds(name):
    def m(f): del f[name]
    return m

def set_attr(obj, key, value):
    def m(f): f[obj].attrs[key] = value
    return m

def move(a, b):
    def m(f): f.move(a, b)
    return m

base(f"{d}/missing_bias.h5", del_ds("layers/006/bias"))
base(f"{d}/wrong_shape.h5", set_ds("layers/006/weight", np.zeros((4, 13), np.float32)))
base(f"{d}/wrong_rank.h5", set_ds("layers/001/weight", np.zeros((3, 2, 9), np.float32)))
base(f"{d}/nan.h5", nan_at("layers/008/weight", (2, 1), np.nan))
base(f"{d}/inf.h5", nan_at("layers/001/bias", 0, np.inf))
base(f"{d}/int_weight.h5", set_ds("layers/008/weight", np.zeros((3, 4), np.int32)))
base(f"{d}/unknown_type.h5", set_attr("layers/007", "type", "gelu"))
base(f"{d}/wrong_format.h5", set_attr("/", "format", "keras"))
base(f"{d}/version4.h5", set_attr("/", "version", 4))
base(f"{d}/gap.h5", move("layers/008", "layers/009"))
base(f"{d}/std_len.h5", set_ds("layers/000/std", np.array([1.0, 1.0, 1.0])))
base(f"{d}/neg_std.h5", set_ds("layers/000/std", np.array([1.0, -1.0])))
base(f"{d}/no_alpha.h5", lambda f: f["layers/003"].attrs.__delitem__("alpha"))
raw = open(f"{d}/good.h5", "rb").read()
open(f"{d}/truncated.h5", "wb").write(raw[: len(raw) // 2])
open(f"{d}/text.h5", "w").write("not a model\n")
EOF
then
    not_ok "fixtures written with h5py" "$(tail -3 "$TMP/pyerr")"
    exit 1
fi
ok "fixtures written with h5py"
expected=$(cat "$TMP/expected")

expect_success "inspect prints a good h5py-written model" "$NNCERT" inspect "$TMP/good.h5"
check "total parameter count matches the arrays in the file ($expected)" \
    "grep -qx 'total parameters: $expected' '$TMP/out'"
check "pool without stride attribute steps by its kernel: 3x4x4 -> 3x2x2" \
    "grep -qE '^002 +maxpool2d +3x4x4 +-> 3x2x2 .*stride 2x2' '$TMP/out'"
check "input shape, name and meta attributes are printed" \
    "grep -q '^input shape: 2x6x6 (72 values)' '$TMP/out' && grep -q '^name: cli-fixture' '$TMP/out' \
     && grep -q '^meta accuracy: 0.8125' '$TMP/out' && grep -q '^meta dataset: fixture' '$TMP/out'"
check "hyper-parameters of leaky_relu and param_ramp are printed" \
    "grep -qE '^003 +leaky_relu .*alpha 0.05' '$TMP/out' && grep -qE '^005 +param_ramp .* 12  eta 0.01' '$TMP/out'"

expect_exit "missing file: exit 1, names the file" 1 "no-such\\.h5: cannot open: No such file" \
    "$NNCERT" inspect "$TMP/no-such.h5"
expect_exit "directory: exit 1" 1 "is a directory" "$NNCERT" inspect "$TMP"
expect_exit "device file: exit 1, no hang" 1 "/dev/null: is not a regular file" "$NNCERT" inspect /dev/null
expect_exit "text file: not HDF5" 1 "text\\.h5: not an HDF5 file" "$NNCERT" inspect "$TMP/text.h5"
cp "$TMP/text.h5" "$TMP/text.onnx"
expect_exit "a .onnx name goes to the ONNX importer, whose error names the file" 1 "text\\.onnx" \
    "$NNCERT" inspect "$TMP/text.onnx"
check "... and not to the HDF5 reader" "! grep -q 'not an HDF5 file' '$TMP/err'"
expect_exit "truncated file: exit 1 with HDF5's reason" 1 "truncated\\.h5: .*truncated or corrupt" \
    "$NNCERT" inspect "$TMP/truncated.h5"
expect_exit "missing dataset names layer and field" 1 "missing_bias\\.h5: layers/006 \\(dense\\): dataset 'bias' \\[out\\] is missing" \
    "$NNCERT" inspect "$TMP/missing_bias.h5"
expect_exit "dense weight not fitting its input: expected vs found" 1 "layer 006 \\(dense\\): weight is \\[4,13\\] but the input has 12 values" \
    "$NNCERT" inspect "$TMP/wrong_shape.h5"
expect_exit "conv weight of wrong rank: expected vs found" 1 "layers/001 \\(conv2d\\): dataset 'weight' has rank 3 \\[3,2,9\\], expected rank 4 \\[Co,Ci,kH,kW\\]" \
    "$NNCERT" inspect "$TMP/wrong_rank.h5"
expect_exit "NaN weight is located" 1 "layers/008 \\(dense\\): dataset 'weight'\\[2,1\\] is NaN" \
    "$NNCERT" inspect "$TMP/nan.h5"
expect_exit "Inf bias is located" 1 "layers/001 \\(conv2d\\): dataset 'bias'\\[0\\] is \\+Inf" \
    "$NNCERT" inspect "$TMP/inf.h5"
expect_exit "integer weights are a type error" 1 "layers/008 \\(dense\\): dataset 'weight' has type integer, expected float32 or float64" \
    "$NNCERT" inspect "$TMP/int_weight.h5"
expect_exit "unknown layer type lists the known ones" 1 "layers/007: unknown layer type 'gelu' \\(known: normalize, dense, conv2d, .*param_ramp, add\\)" \
    "$NNCERT" inspect "$TMP/unknown_type.h5"
expect_exit "wrong format attribute" 1 "'format' is 'keras', expected 'nncert-model'" \
    "$NNCERT" inspect "$TMP/wrong_format.h5"
expect_exit "a future version is refused" 1 "'version' is 4; this nncert reads versions 1 to 3" \
    "$NNCERT" inspect "$TMP/version4.h5"
expect_exit "layer numbering gap" 1 "layers/009 is out of sequence: 9 layer groups must be numbered 000 to 008" \
    "$NNCERT" inspect "$TMP/gap.h5"
expect_exit "normalize mean/std lengths disagree" 1 "layers/000 \\(normalize\\): dataset 'mean' has 2 entries but 'std' has 3" \
    "$NNCERT" inspect "$TMP/std_len.h5"
expect_exit "negative std is a value error" 1 "layer 000 \\(normalize\\): std\\[1\\] = -1 must be positive" \
    "$NNCERT" inspect "$TMP/neg_std.h5"
expect_exit "leaky_relu without alpha" 1 "layers/003 \\(leaky_relu\\): attribute 'alpha' is missing" \
    "$NNCERT" inspect "$TMP/no_alpha.h5"

expect_exit "no MODEL is a usage error (exit 2)" 2 "missing MODEL" "$NNCERT" inspect
expect_exit "unknown option is a usage error (exit 2)" 2 "unknown option '--frobnicate'" \
    "$NNCERT" inspect --frobnicate "$TMP/good.h5"
expect_exit "two models are a usage error (exit 2)" 2 "expected one MODEL" \
    "$NNCERT" inspect "$TMP/good.h5" "$TMP/good.h5"
expect_success "--help exits 0" "$NNCERT" inspect --help
check "--help describes MODEL" "grep -q 'usage: nncert inspect MODEL' '$TMP/out'"
