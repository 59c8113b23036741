#!/usr/bin/env bash
# nncert predict: logits of random models with every layer type agree with an
# independent float64 PyTorch forward pass (tools/ref/torch_forward.py) on real
# Fashion-MNIST images; options, the --logits format, and errors.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh

PY=/usr/bin/python3
DATA=fashion-mnist:test

# Random models written straight with h5py (schema: doc/formats.md).
$PY - "$TMP" <<'EOF' || { not_ok "generate test models with h5py"; exit 1; }
import sys, h5py, numpy as np
out = sys.argv[1]
rng = np.random.default_rng(7)

def write(path, shape, layers, name="test", version=1):
    with h5py.File(path, "w") as f:
        f.attrs["format"] = "nncert-model"
        f.attrs["version"] = np.int64(version)
        f.attrs["input_shape"] = np.array(shape, dtype=np.int64)
        f.attrs["name"] = name
        g = f.create_group("layers")
        for i, (kind, data, attrs) in enumerate(layers):
            lg = g.create_group("%03d" % i)
            lg.attrs["type"] = kind
            for k, v in data.items():
                lg.create_dataset(k, data=v)
            for k, v in attrs.items():
                lg.attrs[k] = v

def ints(*v): return np.array(v, dtype=np.int64)
def dense(i, o, s=1.0): return ("dense", {"weight": rng.normal(0, s / np.sqrt(i), (o, i)), "bias": rng.normal(0, 0.1, o)}, {})
def conv(ci, co, k, **a):
    return ("conv2d", {"weight": rng.normal(0, 1 / np.sqrt(ci * k * k), (co, ci, k, k)).astype(np.float32),
                       "bias": rng.normal(0, 0.1, co)}, a)

# 1x28x28 -> every layer type; shapes: conv 4x28x27 -> maxpool 4x14x13 -> conv 3x8x7 -> avgpool 3x4x4
write(out + "/cnn.h5", (1, 28, 28), [
    ("normalize", {"mean": np.array([0.3]), "std": np.array([0.35])}, {}),
    conv(1, 4, 3, stride=ints(1, 1), padding=ints(1, 0, 1, 1), dilation=ints(1, 2)),
    ("leaky_relu", {}, {"alpha": 0.1}),
    ("maxpool2d", {}, {"kernel": ints(3, 3), "stride": ints(2, 2), "padding": ints(1, 1, 0, 1)}),
    conv(4, 3, 3, stride=ints(2, 2), padding=ints(2, 1, 1, 1)),
    ("tanh", {}, {}),
    ("avgpool2d", {}, {"kernel": ints(3, 2), "stride": ints(2, 2), "padding": ints(1, 0, 0, 1)}),
    ("flatten", {}, {}),
    dense(48, 20),
    ("param_ramp", {"r": rng.uniform(0.1, 1.0, 20)}, {"eta": 0.2}),
    dense(20, 16),
    ("sigmoid", {}, {}),
    dense(16, 12),
    ("arctan", {}, {}),
    dense(12, 10),
    ("relu", {}, {}),
    dense(10, 10, 3.0),
])
write(out + "/mlp.h5", (1, 1, 784), [dense(784, 32), ("relu", {}, {}), dense(32, 10)])
# residual connections (version 2): a skip from the model input, a block whose
# shortcut is the identity, and one whose shortcut is a 1x1 convolution
def add(a, b): return ("add", {}, {"inputs": ints(a, b)})
def reading(layer, src): return (layer[0], layer[1], dict(layer[2], inputs=ints(src)))
write(out + "/res.h5", (1, 28, 28), [
    ("normalize", {"mean": np.array([0.3]), "std": np.array([0.35])}, {}),   # 0
    add(0, -1),                                                               # 1: normalized + raw image
    conv(1, 4, 3, padding=ints(1, 1, 1, 1)),                                  # 2
    ("relu", {}, {}),                                                         # 3
    conv(4, 4, 3, padding=ints(1, 1, 1, 1)),                                  # 4
    ("relu", {}, {}),                                                         # 5
    conv(4, 4, 3, padding=ints(1, 1, 1, 1)),                                  # 6
    add(6, 3),                                                                # 7: identity shortcut
    ("relu", {}, {}),                                                         # 8
    conv(4, 4, 3, stride=ints(2, 2), padding=ints(1, 1, 1, 1)),               # 9: 4x14x14
    ("tanh", {}, {}),                                                         # 10
    reading(conv(4, 4, 1, stride=ints(2, 2)), 8),                             # 11: 1x1 shortcut of layer 8
    add(10, 11),                                                              # 12
    ("maxpool2d", {}, {"kernel": ints(2, 2), "stride": ints(2, 2)}),          # 13: 4x7x7
    ("flatten", {}, {}),
    dense(196, 10),
], version=2)
write(out + "/rgb.h5", (3, 32, 32), [("flatten", {}, {}), dense(3072, 10)])
write(out + "/five.h5", (1, 28, 28), [("flatten", {}, {}), dense(784, 5)])
EOF

# max relative difference of the logit columns of two logits files; same INDEX LABEL PRED
compare_logits() {
    $PY - "$1" "$2" <<'EOF'
import sys
a = [l.split() for l in open(sys.argv[1])]
b = [l.split() for l in open(sys.argv[2])]
if len(a) != len(b) or not a:
    print("lines: %d vs %d" % (len(a), len(b))); sys.exit(1)
worst = 0.0
for x, y in zip(a, b):
    if x[:3] != y[:3] or len(x) != len(y):
        print("columns differ: %s vs %s" % (x[:3], y[:3])); sys.exit(1)
    for u, v in zip(x[3:], y[3:]):
        u, v = float(u), float(v)
        worst = max(worst, abs(u - v) / (1 + abs(v)))
print("max relative difference %.3g" % worst)
sys.exit(0 if worst <= 1e-10 else 1)
EOF
}

for m in cnn mlp res; do
    if $NNCERT predict "$TMP/$m.h5" --data $DATA --start 100 --count 200 --batch 64 \
        --logits "$TMP/$m.c.txt" >"$TMP/$m.out" 2>"$TMP/$m.err"; then
        ok "predict $m runs on 200 Fashion-MNIST images"
    else
        not_ok "predict $m runs on 200 Fashion-MNIST images" "$(cat "$TMP/$m.err")"
    fi
    if $PY tools/ref/torch_forward.py "$TMP/$m.h5" --data $DATA --start 100 --count 200 >"$TMP/$m.t.txt" 2>"$TMP/$m.terr"; then
        ok "torch_forward.py runs on $m"
    else
        not_ok "torch_forward.py runs on $m" "$(cat "$TMP/$m.terr")"
    fi
    if diff=$(compare_logits "$TMP/$m.c.txt" "$TMP/$m.t.txt"); then
        ok "$m: every logit within 1e-10 of the float64 PyTorch pass, same predictions ($diff)"
    else
        not_ok "$m: every logit within 1e-10 of the float64 PyTorch pass, same predictions" "$diff"
    fi
done

check "logits file has 200 lines of INDEX LABEL PRED + 10 logits, indices 100..299" \
    '[ "$(wc -l <"$TMP/cnn.c.txt")" -eq 200 ] && [ "$(awk "NF != 13" "$TMP/cnn.c.txt" | wc -l)" -eq 0 ] &&
     [ "$(head -1 "$TMP/cnn.c.txt" | cut -d" " -f1)" = 100 ] && [ "$(tail -1 "$TMP/cnn.c.txt" | cut -d" " -f1)" = 299 ]'
correct=$(awk '$2 == $3' "$TMP/mlp.c.txt" | wc -l)
check "printed correct count and accuracy agree with the logits file ($correct/200)" \
    'grep -qx "images: 200" "$TMP/mlp.out" && grep -qx "correct: $correct" "$TMP/mlp.out" &&
     grep -qx "accuracy: $(awk -v c=$correct "BEGIN{printf \"%.2f\", 100*c/200}") %" "$TMP/mlp.out"'
check "throughput lines are printed" 'grep -qE "^seconds: [0-9.]+$" "$TMP/mlp.out" && grep -qE "^images/s: [0-9.]+$" "$TMP/mlp.out"'

expect_success "batch size 1 runs" $NNCERT predict "$TMP/cnn.h5" --data $DATA --start 100 --count 200 --batch=1 --logits "$TMP/cnn.b1.txt"
if compare_logits "$TMP/cnn.b1.txt" "$TMP/cnn.c.txt" >/dev/null; then ok "batch size does not change the logits"
else not_ok "batch size does not change the logits"; fi

expect_success "MLP with input 1x1x784 accepts 1x28x28 images" $NNCERT predict "$TMP/mlp.h5" --data $DATA --count 5

# residual graphs: inspect shows the edges, PGD runs through the graph's gradient
# and re-checks its counterexamples by the forward pass; certify and bounds run
# the bound engine over the graph, and no attack beats a certified radius
expect_success "inspect prints a residual model" $NNCERT inspect "$TMP/res.h5"
check "  ... with its edges (add inputs, a shortcut reading layer 8)" \
    "grep -qE '^007 +add .*inputs 6 \+ 3' '$TMP/out' && grep -qE '^011 +conv2d .*input 8 ' '$TMP/out' &&
     grep -qE '^001 +add .*inputs 0 \+ -1' '$TMP/out'"
expect_success "attack runs PGD through the residual graph" \
    $NNCERT attack --model "$TMP/res.h5" --data $DATA --count 60 --eps 0.3 --out "$TMP/res.att.h5"
check "  ... and finds re-checked counterexamples at eps 0.3" \
    "$PY -c \"import h5py,sys; s=h5py.File('$TMP/res.att.h5')['results/status'][()]; sys.exit(0 if (s == 0).any() else 1)\""
expect_success "certify bounds the residual graph (crown)" \
    $NNCERT certify --model "$TMP/res.h5" --data $DATA --start 7 --count 18 --out "$TMP/res.cert.h5"
expect_success "  ... and in single precision" \
    $NNCERT certify --model "$TMP/res.h5" --data $DATA --start 7 --count 18 --precision single --out "$TMP/res.certs.h5"
expect_success "  ... and by lbp with the l2 norm" \
    $NNCERT certify --model "$TMP/res.h5" --data $DATA --start 7 --count 18 --method lbp --norm 2 --out "$TMP/res.certl.h5"
expect_success "attack at the same images" \
    $NNCERT attack --model "$TMP/res.h5" --data $DATA --start 7 --count 18 --search --out "$TMP/res.att4.h5"
check "  ... certified radii are positive, below every attack's distance; single within 1% of double" \
    "$PY - '$TMP/res.cert.h5' '$TMP/res.certs.h5' '$TMP/res.att4.h5' <<'PY'
import h5py, sys, numpy as np
c, s, a = (h5py.File(f)['results'] for f in sys.argv[1:4])
ok = c['status'][()] == 0
assert ok.sum() >= 3, c['status'][()]
r = c['radius'][()]
assert np.all(r[ok] > 0), r
found = a['status'][()] == 0
assert np.all(a['dist'][()][found & ok] > r[found & ok]), (a['dist'][()], r)
rs = s['radius'][()]
assert np.all(np.abs(rs[ok] - r[ok]) <= 0.01 * r[ok] + 1e-3), (rs, r)
PY"
expect_success "bounds of the residual graph" \
    $NNCERT bounds --model "$TMP/res.h5" --data $DATA --index 1 --eps 0.01 --out "$TMP/res.b.h5"
check "  ... ordered bounds of every nonlinear layer, source codes" "$PY - '$TMP/res.b.h5' <<'PY'
import h5py, sys, numpy as np
f = h5py.File(sys.argv[1])
names = list(f['bounds'].keys())
assert len(names) >= 5, names
for i, k in enumerate(sorted(names)):
    g = f['bounds'][k]
    assert np.all(g['lower'][()] <= g['upper'][()]), k
    src = g['source'][()]  # doc/formats.md: 0 exact on the first layer only
    assert src.max() <= 5 and (np.all(src == 0) if i == 0 else not np.any(src == 0)), (k, src)
PY"

# ---- errors ----
expect_failure "image shape must match the model input" "1x28x28.*3x32x32" \
    $NNCERT predict "$TMP/rgb.h5" --data $DATA --count 5
expect_failure "labels beyond the model's classes are an error" "label [0-9]+ of image [0-9]+ is outside the model's 5 classes" \
    $NNCERT predict "$TMP/five.h5" --data $DATA --count 50
# A label the model cannot predict would be reported as a misclassification.
expect_failure "certify refuses labels beyond the model's classes" "label [0-9]+ of image [0-9]+ is outside the model's 5 classes" \
    $NNCERT certify --model "$TMP/five.h5" --data $DATA --count 50 --out "$TMP/five.cert.h5"
check "  ... before writing a results file" "[ ! -e '$TMP/five.cert.h5' ]"
expect_failure "attack refuses them" "outside the model's 5 classes" \
    $NNCERT attack --model "$TMP/five.h5" --data $DATA --count 50 --eps 0.1 --out "$TMP/five.att.h5"
expect_failure "bounds refuses them" "outside the model's 5 classes" \
    $NNCERT bounds --model "$TMP/five.h5" --data $DATA --index 0 --eps 0.01 --out "$TMP/five.b.h5"
expect_failure "a missing model file is named" "$TMP/nope.h5" $NNCERT predict "$TMP/nope.h5" --data $DATA
expect_failure "an unwritable logits file is named" "cannot write logits file $TMP/no/dir/l.txt" \
    $NNCERT predict "$TMP/mlp.h5" --data $DATA --count 5 --logits "$TMP/no/dir/l.txt"
expect_failure "start past the end of the data set" "past the end" \
    $NNCERT predict "$TMP/mlp.h5" --data $DATA --start 10000

usage_status() {  # NAME PATTERN ARGS...: exit status 2 and PATTERN on stderr
    local name=$1 pattern=$2; shift 2
    $NNCERT predict "$@" >"$TMP/out" 2>"$TMP/err"
    local rc=$?
    if [ "$rc" -eq 2 ] && grep -qE -- "$pattern" "$TMP/err"; then ok "$name"
    else not_ok "$name" "exit $rc" "$(head -3 "$TMP/err")"; fi
}
usage_status "missing --data is a usage error" "missing --data" "$TMP/mlp.h5"
usage_status "missing MODEL is a usage error" "missing MODEL" --data $DATA
usage_status "unknown option is a usage error" "unknown option '--bogus'" "$TMP/mlp.h5" --data $DATA --bogus
usage_status "--batch 0 is a usage error" "--batch expects an integer" "$TMP/mlp.h5" --data $DATA --batch 0
usage_status "--count without a value is a usage error" "--count needs a value" "$TMP/mlp.h5" --data $DATA --count
usage_status "negative --start is a usage error" "--start expects an integer" "$TMP/mlp.h5" --data $DATA --start -1
if $NNCERT predict --help | grep -q -- "--logits FILE"; then ok "--help describes the options"; else not_ok "--help describes the options"; fi
