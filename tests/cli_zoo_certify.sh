#!/usr/bin/env bash
# Certify smoke test on the zoo's CIFAR-shaped (3x32x32, on the derived
# fashion-mnist-rgb32) and 10-layer CNNs and small ResNet, which `make zoo` builds
# into models/zoo/: CROWN at a fixed eps and an IBP radius search run without
# failed rows, the radius re-verifies at exactly its eps, and the CIFAR-shaped
# model refuses the 1x28x28 set it was not trained on. On the ResNet, a CROWN
# radius search (double and single) is never beaten by a PGD attack and
# re-verifies. Each check is a TAP "# SKIP" when the model
# is absent. Kept to a few bound evaluations: both builds run it.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
PY=/usr/bin/python3

# rows FILE: "status radius evals" per row of /results, in index order.
rows() {
    $PY -c "
import sys, h5py
r = h5py.File(sys.argv[1], 'r')['results']
for i in sorted(range(len(r['index'])), key=lambda i: r['index'][i]):
    print(int(r['status'][i]), repr(float(r['radius'][i])), int(r['evals'][i]))" "$1"
}

for spec in fmnist_cnn_cifar_shaped:fashion-mnist-rgb32 fmnist_cnn_deep:fashion-mnist fmnist_resnet_small:fashion-mnist; do
    mname=${spec%%:*} data=${spec##*:}:test M=models/zoo/${spec%%:*}.h5
    if [ ! -f "$M" ]; then
        ok "certify $mname: crown at a fixed eps, ibp radius search and re-verification # SKIP $M absent (make zoo builds it)"
        continue
    fi

    # Images 0 and 1 are classified correctly by both models and CROWN certifies
    # image 0 at 0.001 (about a quarter of a grey level): one evaluation each.
    expect_success "certify $mname: crown at eps 0.001 runs" \
        $NNCERT certify --model "$M" --data "$data" --count 2 --eps 0.001 --method crown --out "$TMP/$mname-crown.h5"
    # Status 0 certified, 1 not, 2 misclassified, 3 failed.
    check "certify $mname: crown at eps 0.001 certifies image 0, one evaluation per image, no failed rows" \
        'rows "$TMP/$mname-crown.h5" | awk "NR == 1 && !(\$1 == 0 && \$3 == 1) { bad = 1 }
                                           NR == 2 && !(\$1 <= 1 && \$3 == 1) { bad = 1 }
                                           END { exit bad || NR != 2 }"'

    expect_success "certify $mname: ibp radius search runs" \
        $NNCERT certify --model "$M" --data "$data" --count 1 --method ibp --out "$TMP/$mname-ibp.h5"
    read -r st rad ev < <(rows "$TMP/$mname-ibp.h5")
    check "certify $mname: ibp radius search certifies a positive radius in several evaluations" \
        '[ "$st" = 0 ] && $PY -c "import sys; sys.exit(not float(\"$rad\") > 0)" && [ "$ev" -gt 1 ]'
    expect_success "certify $mname: ibp radius re-verifies at exactly that eps" \
        $NNCERT certify --model "$M" --data "$data" --count 1 --eps "$rad" --method ibp --out "$TMP/$mname-ibp-v.h5"
    check "certify $mname: the re-verification certifies" '[ "$(rows "$TMP/$mname-ibp-v.h5" | cut -d" " -f1)" = 0 ]'
done

M=models/zoo/fmnist_cnn_cifar_shaped.h5
if [ -f "$M" ]; then
    expect_failure "certify fmnist_cnn_cifar_shaped on 1x28x28 fashion-mnist is refused, naming both shapes" \
        "expects inputs 3x32x32 but fashion-mnist:test holds 1x28x28 images" \
        $NNCERT certify --model "$M" --data fashion-mnist:test --count 1 --eps 0.001 --out "$TMP/wrong.h5"
else
    ok "certify fmnist_cnn_cifar_shaped on 1x28x28 is refused # SKIP $M absent (make zoo builds it)"
fi

M=models/zoo/fmnist_resnet_small.h5
if [ -f "$M" ]; then
    expect_success "certify fmnist_resnet_small: crown radius search, double and single" \
        sh -c "$NNCERT certify --model $M --data fashion-mnist:test --count 2 --out $TMP/rn.h5 &&
               $NNCERT certify --model $M --data fashion-mnist:test --count 2 --precision single --out $TMP/rns.h5"
    expect_success "attack fmnist_resnet_small: PGD radius search" \
        $NNCERT attack --model "$M" --data fashion-mnist:test --count 2 --search --out "$TMP/rna.h5"
    check "fmnist_resnet_small: both images certified, every radius below PGD's distance" "$PY - '$TMP/rn.h5' '$TMP/rns.h5' '$TMP/rna.h5' <<'PY'
import h5py, sys, numpy as np
c, s, a = (h5py.File(f)['results'] for f in sys.argv[1:4])
assert np.all(c['status'][()] == 0) and np.all(s['status'][()] == 0), (c['status'][()], s['status'][()])
found = a['status'][()] == 0
for r in (c['radius'][()], s['radius'][()]):
    assert np.all(r > 0) and np.all(a['dist'][()][found] > r[found]), (r, a['dist'][()])
PY"
    read -r st rad ev < <(rows "$TMP/rn.h5" | sed -n 1p)
    expect_success "certify fmnist_resnet_small: the crown radius re-verifies at exactly that eps" \
        $NNCERT certify --model "$M" --data fashion-mnist:test --count 1 --eps "$rad" --out "$TMP/rn-v.h5"
    check "  ... and certifies" '[ "$(rows "$TMP/rn-v.h5" | cut -d" " -f1)" = 0 ]'
else
    ok "certify fmnist_resnet_small: crown radius search below PGD, re-verified # SKIP $M absent (make zoo builds it)"
fi
