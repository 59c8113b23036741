#!/usr/bin/env bash
# no-sanitizer: 18 mpirun jobs of numerics; tests/cli_dist.sh runs the same MPI
# paths (row split included) under the sanitizers.
# 'nncert certify' gives the same radii bit for bit for 1, 2, 3 and 5 ranks and
# every group size (the per-neuron row split included: row blocks of 4 rows on
# 20-wide layers) on a small MLP with all targets, a deep MLP and a CNN.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
D=fashion-mnist:test
export OPENBLAS_NUM_THREADS=1 OMPI_MCA_rmaps_base_oversubscribe=1
MPI="mpirun --oversubscribe -np"
SAME="/usr/bin/python3 tests/same_results.py"

# determinism NAME MODEL ARGS...: one process, then N ranks x groups.
determinism() {
    local name=$1 model=$2; shift 2
    local files=() ok=1
    $NNCERT certify --model "$model" --data $D "$@" --out "$TMP/$name-1.h5" >/dev/null 2>"$TMP/err" || ok=0
    for cfg in "2 1" "3 1" "3 2" "5 1" "5 2" "5 all"; do
        local n=${cfg% *} g=${cfg#* }
        $MPI "$n" $NNCERT certify --model "$model" --data $D "$@" --ranks-per-image "$g" \
            --out "$TMP/$name-$n-$g.h5" >/dev/null 2>>"$TMP/err" || ok=0
        files+=("$TMP/$name-$n-$g.h5")
    done
    if [ $ok = 1 ] && $SAME "$TMP/$name-1.h5" "${files[@]}" 2>"$TMP/py"; then
        ok "$name: the same bits for N = 1, 2, 3, 5 and ranks_per_image 1, 2, all"
    else
        not_ok "$name: the same bits for N = 1, 2, 3, 5 and ranks_per_image 1, 2, all" "$(tail -3 "$TMP/err")" \
            "$(tail -3 "$TMP/py")"
    fi
}
# row_block 4: the 20-wide layers have 5 row blocks, so groups of 2 and 4 split them.
determinism "mlp 2x20, all targets" models/fmnist_mlp_2x20_relu.h5 --count 5 --target all --row-block 4
determinism "mlp 10x20" models/fmnist_mlp_10x20_relu.h5 --count 6 --row-block 4
determinism "cnn avgpool, fixed eps" models/fmnist_cnn_avgpool.h5 --count 3 --eps 0.004 --row-block 64
