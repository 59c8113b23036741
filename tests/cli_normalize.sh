#!/usr/bin/env bash
# --mean/--std (and the job keys mean, std): the normalization is prepended to the
# model, so a model given --mean/--std must give the same logits and the same
# certified radii as the same model with a normalize layer written into the file;
# PGD below a certified radius must find nothing; the results carry the values
# as attributes and resuming with other values is refused.
. "$(dirname "$0")/lib.sh"

/usr/bin/python3 - "$TMP" <<'EOF' >"$TMP/gen.log" 2>&1 || { not_ok "fixtures generated" "$(tail -3 "$TMP/gen.log")"; exit 1; }
import sys, h5py, numpy as np
out = sys.argv[1]
rng = np.random.default_rng(3)
mean, std = np.array([0.3, 0.5, 0.4]), np.array([0.2, 0.25, 0.3])
w1, b1 = rng.normal(0, 0.4, (12, 48)), rng.normal(0, 0.2, 12)
w2, b2 = rng.normal(0, 0.4, (3, 12)), rng.normal(0, 0.2, 3)
def model(path, norm):
    with h5py.File(path, "w") as f:
        f.attrs["format"] = np.bytes_("nncert-model")
        f.attrs["version"] = np.int32(1)
        f.attrs["input_shape"] = np.array([3, 4, 4], dtype=np.int32)
        layers = ([("normalize", {"mean": mean, "std": std})] if norm else []) + [
            ("dense", {"weight": w1, "bias": b1}), ("relu", {}), ("dense", {"weight": w2, "bias": b2})]
        for i, (t, data) in enumerate(layers):
            g = f.create_group("layers/%03d" % i)
            g.attrs["type"] = np.bytes_(t)
            for k, v in data.items():
                g[k] = v
model(out + "/plain.h5", False)
model(out + "/normed.h5", True)
x = rng.integers(0, 256, (8, 3, 4, 4), dtype=np.uint8)
z = ((x / 255 - mean[None, :, None, None]) / std[None, :, None, None]).reshape(8, 48)
y = np.maximum(z @ w1.T + b1, 0) @ w2.T + b2
np.save(out + "/x.npy", x)
np.save(out + "/y.npy", np.argmax(y, axis=1))
EOF
ok "fixtures generated"
D="npy:$TMP/x.npy,labels=$TMP/y.npy"
NORM=(--mean 0.3,0.5,0.4 --std 0.2,0.25,0.3)

expect_success "predict with --mean/--std" "$NNCERT" predict "$TMP/plain.h5" --data "$D" "${NORM[@]}" --logits "$TMP/a.logits"
expect_success "predict the model with a normalize layer" "$NNCERT" predict "$TMP/normed.h5" --data "$D" --logits "$TMP/b.logits"
check "identical logits" "[ -s '$TMP/a.logits' ] && cmp -s '$TMP/a.logits' '$TMP/b.logits'"
"$NNCERT" predict "$TMP/plain.h5" --data "$D" --logits "$TMP/c.logits" >/dev/null 2>&1
check "without them the logits differ" "! cmp -s '$TMP/a.logits' '$TMP/c.logits'"

expect_success "certify with --mean/--std" "$NNCERT" certify --model "$TMP/plain.h5" --data "$D" "${NORM[@]}" --out "$TMP/a.h5"
expect_success "certify the model with a normalize layer" "$NNCERT" certify --model "$TMP/normed.h5" --data "$D" --out "$TMP/b.h5"
printf '[job]\nmodel = %s\ndata = %s\nout = %s\nmean = 0.3, 0.5, 0.4\nstd = 0.2,0.25,0.3\n' "$TMP/plain.h5" "$D" "$TMP/j.h5" >"$TMP/job.ini"
expect_success "certify with the job keys mean, std" "$NNCERT" certify --config "$TMP/job.ini"
/usr/bin/python3 - "$TMP" <<'EOF' >"$TMP/cmp.log" 2>&1
import sys, h5py, numpy as np
t = sys.argv[1]
r = {k: h5py.File("%s/%s.h5" % (t, k), "r") for k in "abj"}
ra, rb, rj = (np.array(r[k]["results/radius"]) for k in "abj")
assert np.array_equal(ra, rb) and np.array_equal(ra, rj), (ra, rb, rj)
assert np.all(ra[np.isfinite(ra)] >= 0) and np.sum(ra > 0) >= 4, ra
for k in "aj":
    assert r[k].attrs["mean"].decode() == "0.29999999999999999,0.5,0.40000000000000002", r[k].attrs["mean"]
    assert r[k].attrs["std"].decode() == "0.20000000000000001,0.25,0.29999999999999999", r[k].attrs["std"]
assert "mean" not in r["b"].attrs
# PGD just below each certified radius (attack --eps is one value: the smallest)
pos = ra[ra > 0]
print("%.17g" % (0.999 * pos.min()))
EOF
py_rc=$?
check "same radii with --mean/--std, the job keys and a normalize layer; attributes stored" "[ $py_rc -eq 0 ]" ||
    cat "$TMP/cmp.log"
eps=$(tail -1 "$TMP/cmp.log")
expect_success "attack below the smallest certified radius" "$NNCERT" attack --model "$TMP/plain.h5" --data "$D" \
    "${NORM[@]}" --eps "$eps" --out "$TMP/atk.h5"
/usr/bin/python3 -c "
import h5py, numpy as np, sys
f = h5py.File('$TMP/atk.h5', 'r'); s = np.array(f['results/status'])
sys.exit(0 if np.all(s != 0) and f.attrs['mean'].decode().startswith('0.29999') else 1)"
py_rc=$?
check "PGD finds no counterexample inside a certified radius" "[ $py_rc -eq 0 ]"
expect_success "bounds with --mean/--std" "$NNCERT" bounds --model "$TMP/plain.h5" --data "$D" --index 0 --eps 0.01 \
    "${NORM[@]}" --out "$TMP/bd.h5"

expect_failure "resume with another --mean is refused" "written by another job .*mean = " \
    "$NNCERT" certify --model "$TMP/plain.h5" --data "$D" --mean 0.3,0.5,0.5 --std 0.2,0.25,0.3 --out "$TMP/a.h5"
expect_failure "resume without --mean is refused" "written by another job" \
    "$NNCERT" certify --model "$TMP/plain.h5" --data "$D" --out "$TMP/a.h5"

# bad values: usage errors naming the option
expect_failure "two values for three channels" "2 mean/std values do not fit the model input 3x4x4" \
    "$NNCERT" predict "$TMP/plain.h5" --data "$D" --mean 0.1,0.2
expect_failure "std zero" "--std '0.2,0': 0 is not positive" "$NNCERT" predict "$TMP/plain.h5" --data "$D" --std 0.2,0
expect_failure "std negative (certify)" "key 'std': --std '-1': -1 is not positive" \
    "$NNCERT" certify --model "$TMP/plain.h5" --data "$D" --std -1 --out "$TMP/x.h5"
expect_failure "not a number" "--mean 'a,b,c': expected finite numbers" \
    "$NNCERT" bounds --model "$TMP/plain.h5" --data "$D" --index 0 --eps 0.01 --mean a,b,c --out "$TMP/x.h5"
expect_failure "NaN" "--mean 'nan': expected finite numbers" \
    "$NNCERT" attack --model "$TMP/plain.h5" --data "$D" --eps 0.01 --mean nan --out "$TMP/x.h5"
expect_failure "count mismatch" "--mean has 3 values but --std has 2" \
    "$NNCERT" predict "$TMP/plain.h5" --data "$D" --mean 1,2,3 --std 1,2
"$NNCERT" predict "$TMP/plain.h5" --data "$D" --std 0 >/dev/null 2>&1
check "bad --std is a usage error (exit 2)" "[ $? -eq 2 ]"
