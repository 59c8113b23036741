#!/usr/bin/env bash
# 'nncert bounds' labels every neuron's bounds with their source
# (/bounds/NNN/source): checked against IBP computed independently in numpy and
# against the method alone (--no-skip-stable --no-intersect-ibp), for every
# method, two radii, ReLU and leaky ReLU MLPs (tests/bounds_source_check.py);
# on a MaxPool CNN the pool's inputs after a ReLU carry IBP's box; the counts
# printed per layer are the file's. tests/test_bound_source.c checks the labels
# bit for bit on every layer, residual graphs included.
. "$(dirname "$0")/lib.sh"
D=fashion-mnist:test
CHECK="/usr/bin/python3 tests/bounds_source_check.py"

# labelled NAME MODEL ARGS...: the default run and the raw run, then the check.
# RAW=0: no bit comparison with the raw run (in single precision a row's float32
# GEMM rounds with the other rows of its block, which skip_stable changes).
labelled() {
    local name=$1 model=$2; shift 2
    local raw="$TMP/r.h5"; [ "${RAW:-1}" = 0 ] && raw=
    if $NNCERT bounds --model "$model" --data $D --index 0 "$@" --out "$TMP/s.h5" >/dev/null 2>"$TMP/err" &&
        $NNCERT bounds --model "$model" --data $D --index 0 "$@" --no-skip-stable --no-intersect-ibp \
            --out "$TMP/r.h5" >/dev/null 2>>"$TMP/err" &&
        $CHECK "$model" "$TMP/s.h5" $raw >"$TMP/py" 2>&1; then
        ok "$name: labels match independent IBP and the method alone ($(cat "$TMP/py"))"
    else
        not_ok "$name: labels match independent IBP and the method alone" "$(tail -3 "$TMP/err")" \
            "$(tail -3 "$TMP/py")"
    fi
}
for eps in 0.005 0.02; do
    for m in crown fastlin lbp crown-lbp crown-ibp ibp crown-quad; do
        labelled "mlp 10x20 relu, $m, eps $eps" models/fmnist_mlp_10x20_relu.h5 --eps $eps --method $m
    done
    labelled "mlp 10x20 relu, frown, eps $eps" models/fmnist_mlp_10x20_relu.h5 --eps $eps --method frown \
        --frown-iters 10
    labelled "mlp 2x20 leaky relu, crown, eps $eps" models/fmnist_mlp_2x20_leakyrelu.h5 --eps $eps
done
labelled "mlp 10x20 relu, crown, l2" models/fmnist_mlp_10x20_relu.h5 --eps 0.3 --norm 2
RAW=0 labelled "mlp 10x20 relu, crown, single precision" models/fmnist_mlp_10x20_relu.h5 --eps 0.02 \
    --precision single

# Every label occurs somewhere in these runs: the check is not vacuous.
all=$(for eps in 0.005 0.02; do $NNCERT bounds --model models/fmnist_mlp_10x20_relu.h5 --data $D --index 0 \
    --eps $eps --method lbp --out "$TMP/l$eps.h5" >/dev/null 2>&1; /usr/bin/python3 -c "
import h5py, sys
f = h5py.File(sys.argv[1], 'r')
print(' '.join(str(v) for n in f['bounds'] for v in set(f['bounds'][n]['source'][:].tolist())))" "$TMP/l$eps.h5"; done)
check "lbp on the 10x20 MLP: labels 0 to 5 all occur" \
    '[ "$(tr " " "\n" <<<"$all" | sort -u | tr -d "\n")" = 012345 ]'

# stdout: per layer the counts of the file's codes; the hint to the two flags
# only when some neuron carries IBP's bounds, and none with them.
counts_match() { /usr/bin/python3 -c "
import h5py, re, sys
import numpy as np
b = h5py.File(sys.argv[1], 'r')['bounds']
names = b.attrs['source_names']; names = names.decode() if isinstance(names, bytes) else names
names = [kv.split('=')[1] for kv in names.split(',')]
lines = [l for l in open(sys.argv[2]) if l.startswith('layer ')]
assert len(lines) == len(b), (len(lines), len(b))
for l, n in zip(lines, sorted(b)):
    m = re.match(r'layer (\d+) (\S+), (\d+) neurons:((?: \S+ \d+)+)\n', l)
    assert m and m.group(1) == n and int(m.group(3)) == len(b[n]['source']), l
    got = dict(zip(m.group(4).split()[::2], map(int, m.group(4).split()[1::2])))
    want = {names[c]: int(k) for c, k in enumerate(np.bincount(b[n]['source'][:], minlength=6)) if k}
    assert got == want, (l, want)
hint = any('--no-skip-stable --no-intersect-ibp' in l for l in open(sys.argv[2]))
assert hint == (sys.argv[3] == '1'), 'hint line'
" "$@"; }
M=models/fmnist_mlp_10x20_relu.h5
$NNCERT bounds --model $M --data $D --index 0 --eps 0.02 --method lbp --out "$TMP/o.h5" >"$TMP/o.txt" 2>&1
check "stdout: per-layer counts of the file's codes, with the hint to the flags" 'counts_match "$TMP/o.h5" "$TMP/o.txt" 1'
$NNCERT bounds --model $M --data $D --index 0 --eps 0.02 --method lbp --no-skip-stable --no-intersect-ibp \
    --out "$TMP/o.h5" >"$TMP/o.txt" 2>&1
check "stdout with --no-skip-stable --no-intersect-ibp: the method's only, no hint" \
    'counts_match "$TMP/o.h5" "$TMP/o.txt" 0 && ! grep -q "ibp" <(grep "^layer" "$TMP/o.txt")'

$NNCERT bounds --model models/fmnist_cnn_lenet_maxpool.h5 --data $D --index 0 --eps 0.02 --out "$TMP/c.h5" \
    >/dev/null 2>&1
# The first pool's ReLU had exact bounds: the whole pool input is the box (5);
# the second pool's rows whose ReLU input IBP proved stable get a pass (2-4).
check "cnn: the first layer is exact (0), a MaxPool after it carries IBP's box (5), no pool row is ibp_stable" \
    '/usr/bin/python3 -c "
import h5py, sys
b = h5py.File(sys.argv[1], \"r\")[\"bounds\"]
names = sorted(b); pools = [n for n in names if b[n].attrs[\"type\"] in (b\"maxpool2d\", \"maxpool2d\")]
assert (b[names[0]][\"source\"][:] == 0).all() and len(pools) == 2
assert (b[pools[0]][\"source\"][:] == 5).all() and (b[pools[1]][\"source\"][:] == 5).any()
assert not any((b[n][\"source\"][:] == 1).any() for n in pools)
" "$TMP/c.h5"'
expect_failure "--no-skip-stable takes no value" "takes no value" \
    $NNCERT bounds --model models/fmnist_mlp_2x20_relu.h5 --data $D --index 0 --eps 0.01 --no-skip-stable=1 \
    --out "$TMP/x.h5"
