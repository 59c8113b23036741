#!/usr/bin/env bash
# no-sanitizer
# Certificates of every method (doc/radius.md "Certificates"): each reported
# radius re-verifies bit for bit from the results file (certify --reverify):
# every bound method and the norms it takes, Ti-Lin's and FROWN's MaxPool
# planes, the crown15 search with target all, a fixed eps. Numerics only: the
# file handling runs under the sanitizers in tests/cli_reverify.sh.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
S=models/mnist_mlp_2x20_relu.h5
CNN=models/mnist_cnn_lenet_maxpool.h5
export OPENBLAS_NUM_THREADS=1

# ---- every method, every norm it takes, three searches and targets ----
for spec in "ibp inf" "crown-ibp 2" "lbp 1" "crown-lbp inf" "fastlin 2" "crown 1" "crown-quad inf" \
            "lp-last 1" "lp-all inf" "frown 2"; do
    set -- $spec
    fast=; case $1 in lp-*) fast="--rtol 0.05 --count 2" ;; esac   # the LP methods: fewer, shorter searches
    expect_success "certify $1 norm $2 saves certificates" $NNCERT certify --model $S --data mnist:test --count 3 \
        --method $1 --norm $2 --save-certificates all $fast --out "$TMP/m_$1.h5"
    reverified "$1 norm $2: every radius re-verifies bit for bit" "$TMP/m_$1.h5"
done
# lp-all where CROWN certifies first (doc/lp.md "Least work"): the
# certificate replays CROWN's evaluation, and the bounds file says so
expect_success "certify lp-all at a small fixed eps" $NNCERT certify --model $S --data mnist:test --count 2 \
    --method lp-all --eps 0.002 --save-certificates all --out "$TMP/lpg.h5"
reverified "lp-all radii CROWN decided re-verify" "$TMP/lpg.h5"
expect_success "bounds --from-certificate of an lp-all task" $NNCERT bounds --from-certificate "$TMP/lpg.h5" \
    --index 0 --out "$TMP/lpg_b.h5"
check "its bounds are CROWN's, which decided, and the job's method is named" "$PY - '$TMP/lpg.h5' '$TMP/lpg_b.h5' <<'PY'
import sys, h5py
r = h5py.File(sys.argv[1], 'r')['results']; b = h5py.File(sys.argv[2], 'r')
row = list(r['index'][:]).index(0)
a = {k: (v.decode() if isinstance(v, bytes) else str(v)) for k, v in b.attrs.items()}
assert a['method'] == 'crown' and a['job_method'] == 'lp-all', a
assert b['margin/lower'][:].min() == r['margin'][row] > 0
PY"
expect_success "certify crown (Ti-Lin MaxPool planes) on a CNN" $NNCERT certify --model $CNN --data mnist:test \
    --count 2 --save-certificates all --out "$TMP/cnn.h5"
reverified "Ti-Lin CNN radii re-verify" "$TMP/cnn.h5"
expect_success "certify frown on a CNN (MaxPool problems)" $NNCERT certify --model $CNN --data mnist:test \
    --count 1 --method frown --frown-iters 5 --save-certificates all --out "$TMP/cnnf.h5"
reverified "FROWN CNN radii re-verify" "$TMP/cnnf.h5"
expect_success "certify frown crown15 search, target all" $NNCERT certify --model $S --data mnist:test --count 2 \
    --method frown --frown-iters 20 --clip --search crown15 --target all --save-certificates all --out "$TMP/c15.h5"
reverified "crown15 radii of every target re-verify" "$TMP/c15.h5"
expect_success "certify frown at a fixed eps" $NNCERT certify --model $S --data mnist:test --count 4 \
    --method frown --eps 0.01 --save-certificates all --out "$TMP/fix.h5"
reverified "fixed-eps certificates re-verify" "$TMP/fix.h5"

