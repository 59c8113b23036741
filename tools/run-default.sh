#!/usr/bin/env bash
# The default job behind `make run`: certify the first images of the Fashion-MNIST
# test set on a bundled model with CROWN and write results/default.h5. Until the
# bound engine's certify command exists it runs `nncert predict` on the same model.
set -euo pipefail
cd "$(dirname "$0")/.."
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
MODEL=${MODEL:-models/fmnist_mlp_2x20_relu.h5}
mkdir -p results
bin/nncert inspect "$MODEL"
bin/nncert predict "$MODEL" --data fashion-mnist:test --count 1000
