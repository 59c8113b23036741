#!/usr/bin/env bash
# Bound-engine benchmark on one core (bench_engine sets 1 BLAS thread itself, whatever
# OPENBLAS_NUM_THREADS says): GEMM peak measured in the same run, then CROWN certified
# radius (bisect, l_inf) on the 1024-wide MLPs and two MaxPool CNNs, double and single
# precision, then every model with activation steps one row at a time vs four rows per
# AVX2 vector (the ratio; the radii must agree), then the first model with 1 vs 2 BLAS
# threads (tools/bench/bench_engine.c prints the tables).
# BENCH_IMAGES (default 5) images per model. Large models come from `make zoo`; any
# that are missing are trained first (tools/models/train.py --only, the same bytes as
# `make zoo`), unless BENCH_NO_TRAIN=1, which benches what exists.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BENCH_BIN:-build/tools/bench/bench_engine}
MODELS=(models/zoo/mnist_mlp_3x1024_relu.h5 models/zoo/mnist_mlp_3x1024_tanh.h5
        models/zoo/mnist_mlp_4x1024_relu.h5 models/zoo/mnist_mlp_4x1024_tanh.h5
        models/zoo/mnist_cnn_wide_maxpool.h5 models/fmnist_cnn_lenet_maxpool.h5)
[ -x "$BIN" ] || { echo "bench_engine: $BIN not built (run make)" >&2; exit 1; }
missing=()
for m in "${MODELS[@]}"; do [ -f "$m" ] || missing+=("$(basename "$m" .h5)"); done
status=0
if [ ${#missing[@]} -gt 0 ]; then
    echo "bench_engine: models/zoo lacks ${missing[*]} (made by \`make zoo\`)."
    if [ "${BENCH_NO_TRAIN:-0}" = 1 ]; then
        echo "bench_engine: BENCH_NO_TRAIN=1: benching the models that exist."
        status=1
    else
        echo "bench_engine: training them now (tools/models/train.py --large --only ...; the whole zoo takes ~12 min)."
        only=$(IFS=,; echo "${missing[*]}")
        /usr/bin/python3 tools/models/train.py --large --out models/zoo --only "$only"
    fi
fi
present=()
for m in "${MODELS[@]}"; do [ -f "$m" ] && present+=("$m"); done
[ ${#present[@]} -gt 0 ] || { echo "bench_engine: no model to bench" >&2; exit 1; }
"$BIN" --images "${BENCH_IMAGES:-5}" "${present[@]}" || status=1
exit $status
