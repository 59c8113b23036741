#!/usr/bin/env bash
# no-sanitizer: 30 mpirun jobs of numerics; tests/cli_dist.sh runs the same MPI
# paths (row split included) under the sanitizers.
# 'nncert certify' gives the same radii bit for bit for 1, 2, 3 and 5 ranks and
# every group size (the per-neuron row split included: row blocks of 4 rows on
# 20-wide layers, and CNN layers split row by row) on a small MLP with all
# targets, a deep MLP, two CNNs, and FROWN (warm starts, groups) on two of them.
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
# the automatic row block: LeNet's conv-shaped layers past the first are split
# row by row (bound_rows_block_free), whatever the row block
determinism "cnn lenet maxpool, rows split one by one" models/fmnist_cnn_lenet_maxpool.h5 --count 3
# FROWN: warm starts per row across a search, forgotten between tasks (all targets
# run as separate tasks on whichever rank is free), groups of 2 rows.
determinism "frown mlp 2x20, all targets" models/fmnist_mlp_2x20_relu.h5 --count 3 --target all --row-block 4 \
    --method frown --frown-iters 15
determinism "frown mlp 10x20 sigmoid, G = 2" models/fmnist_mlp_10x20_sigmoid.h5 --count 3 --row-block 4 \
    --method frown --frown-iters 15 --frown-group 2
# A residual graph (written here, version 2): the backward pass over the graph,
# its merged row blocks and its windows, split over ranks by rows of 64.
$PY - "$TMP/res.h5" <<'PYEOF' || not_ok "write the residual test model"
import sys, h5py, numpy as np
rng = np.random.default_rng(11)
def conv(ci, co, k, s, p):
    return ("conv2d", {"weight": rng.normal(0, 1 / np.sqrt(ci * k * k), (co, ci, k, k)), "bias": rng.normal(0, 0.1, co)},
            {"stride": np.array([s, s]), "padding": np.array([p] * 4)})
layers = [conv(1, 4, 3, 2, 1), ("relu", {}, {}), conv(4, 4, 3, 1, 1), ("relu", {}, {}), conv(4, 4, 3, 1, 1),
          ("add", {}, {"inputs": np.array([4, 1])}), ("relu", {}, {}), ("flatten", {}, {}),
          ("dense", {"weight": rng.normal(0, 1 / 28, (10, 784)), "bias": rng.normal(0, 0.1, 10)}, {})]
with h5py.File(sys.argv[1], "w") as f:
    f.attrs["format"] = "nncert-model"; f.attrs["version"] = np.int64(2)
    f.attrs["input_shape"] = np.array([1, 28, 28]); f.attrs["name"] = "res"
    for i, (kind, data, attrs) in enumerate(layers):
        g = f.create_group("layers/%03d" % i); g.attrs["type"] = kind
        for k, v in data.items(): g.create_dataset(k, data=v)
        for k, v in attrs.items(): g.attrs[k] = v
PYEOF
# (images 4 and 7 are the ones this random model classifies correctly)
determinism "residual graph, fixed eps" "$TMP/res.h5" --start 4 --count 4 --eps 0.002 --row-block 64
