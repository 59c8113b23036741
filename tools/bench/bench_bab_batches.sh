#!/usr/bin/env bash
# Branch and bound's batches (part of `make bench`; doc/bab.md "Batches"), one
# process, one domain at a time (--bab-unit 1) against batches of 8 (the
# default; one GEMM per layer over their rows): seconds of jobs, and their
# ratio (above 1: batches are faster). Input halves: the ACAS Xu-like 6x[50]
# net's properties 1 and 2 to the end and property 3 for its first 60,000
# domains (CROWN) or 30,000 (FROWN). ReLU phases: the first 30,000 domains of
# two MLP robustness searches (benchmarks/zoo_bab/vnnlib, not in
# instances.csv) with CROWN, the whole of them with FROWN. Wide layers (CROWN,
# input halves): random 5-3x[W]-5 nets (make_wide_net.py), W = 256 for 3,000
# domains and 512 for 1,000, where one domain's GEMMs are already large. Fails
# when the answers differ. About 90 s.
set -uo pipefail
cd "$(dirname "$0")/../.."
N=bin/nncert M=models/acas/acasxu_like_6x50.onnx P=benchmarks/zoo_bab/vnnlib
[ -x "$N" ] || { echo "bench_bab_batches: no binary $N (make all)" >&2; exit 1; }
[ "$(id -u)" = 0 ] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OPENBLAS_NUM_THREADS=1
T=$(mktemp -d /tmp/nncert-batches.XXXXXX)
trap 'rm -rf "$T"' EXIT
field() { grep -o "$2" "$1" | grep -o '^[0-9.]*'; }
status=0
row() { printf '%-28s %14s %14s %8s\n' "$@"; }
# pair LABEL ARGS...: `verify ARGS` at units 1 and 8, one line of seconds of jobs
# and their ratio; the answers must be the same
pair() {
    local label=$1 u a b
    shift
    for u in 1 8; do "$N" verify "$@" --bab-unit $u >"$T/u$u.res" 2>"$T/u$u.err" || status=1; done
    a=$(field "$T/u1.err" '[0-9.]* s jobs') b=$(field "$T/u8.err" '[0-9.]* s jobs')
    row "$label" "$a" "$b" "$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", a / b }')"
    cmp -s "$T/u1.res" "$T/u8.res" || { echo "$label: the answers differ" >&2; status=1; }
}
for method in crown frown; do
    row "6x[50], $method, one process" "unit 1" "unit 8" "1/8"
    cap=60000 && [ $method = frown ] && cap=30000
    for p in 1 2; do
        pair "property $p: s of jobs" --model $M --vnnlib $P/acas_prop_$p.vnnlib --bab --method $method
    done
    pair "property 3, $cap domains" --model $M --vnnlib $P/acas_prop_3.vnnlib --bab --method $method \
        --bab-max-domains $cap
done
for method in crown frown; do
    row "ReLU phases, $method" "unit 1" "unit 8" "1/8"
    for inst in fmnist_mlp_10x20_relu:fashionmnist_11 mnist_mlp_10x20_relu:mnist_2; do
        net=${inst%%:*} img=${inst#*:}
        pair "${net%_relu} ${img#*_}: s of jobs" --model models/$net.h5 \
            --vnnlib $P/${net}_${img}_eps0.02.vnnlib.gz --bab --bab-split relu --method $method --bab-max-domains 30000
    done
done
row "wide layers, crown" "unit 1" "unit 8" "1/8"
for wc in 256:3000 512:1000; do
    w=${wc%%:*} cap=${wc#*:}
    /usr/bin/python3 tools/bench/make_wide_net.py "$w" 0.5 "$T/wide.onnx" "$T/wide.vnnlib" || { status=1; continue; }
    pair "5-3x[$w]-5, $cap domains" --model "$T/wide.onnx" --vnnlib "$T/wide.vnnlib" --bab --bab-split input \
        --method crown --bab-max-domains $cap
done
exit $status
