#!/usr/bin/env bash
# Branch and bound on the project's benchmark (part of `make bench`; doc/bab.md
# "Benchmark"): tools/bench/bab_report.sh on a short subset (the 2x[12] ACAS Xu-like
# net's properties and two MNIST images: bound-only vs --bab vs MILP, checked
# against each other and a PyTorch search; the 6x[50] net's property 3 on groups
# of 1 and 2 ranks for 10 s each), about 2 minutes on this 2-core machine.
# BENCH_BAB=full runs the whole benchmark and the default scaling instance
# (about 30 minutes). Fails when any answers contradict each other.
set -uo pipefail
cd "$(dirname "$0")/../.."
if [ "${BENCH_BAB:-}" = full ]; then exec tools/bench/bab_report.sh; fi
exec tools/bench/bab_report.sh --only 'acasxu_like_2x12|mnist_mlp_2x20_relu_mnist_[12]_' \
    --scale acasxu_like_6x50.onnx,vnnlib/acas_prop_3 --scale-timeout 10 --scale-candidates 4 --light-timeout 10
