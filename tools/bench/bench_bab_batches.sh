#!/usr/bin/env bash
# Branch and bound's batches (part of `make bench`; doc/bab.md "Batches"), one
# process, one domain at a time (--bab-unit 1) against batches of 8 (the
# default; one GEMM per layer over their rows): seconds of jobs, and their
# ratio (above 1: batches are faster). Input halves: the ACAS Xu-like 6x[50]
# net's properties 1 and 2 to the end and property 3 for its first 60,000
# domains (CROWN) or 30,000 (FROWN). ReLU phases (CROWN): the first 30,000
# domains of two MLP robustness searches (benchmarks/zoo_bab/vnnlib, not in
# instances.csv). Wide layers (CROWN, input halves): random 5-3x[W]-5 nets
# (make_wide_net.py), W = 256 for 3,000 domains and 512 for 1,000, where one
# domain's GEMMs are already large. Fails when the answers differ. About 90 s.
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
for method in crown frown; do
    printf '%-28s %14s %14s %8s\n' "6x[50], $method, one process" "unit 1" "unit 8" "1/8"
    for p in 1 2 3; do
        cap=60000 && [ $method = frown ] && cap=30000
        lim=() && [ $p = 3 ] && lim=(--bab-max-domains $cap)
        for u in 1 8; do
            "$N" verify --model $M --vnnlib $P/acas_prop_$p.vnnlib --bab --method $method --bab-unit $u "${lim[@]}" \
                >"$T/p${p}_$u.res" 2>"$T/p${p}_$u.err" || status=1
        done
        a=$(field "$T/p${p}_1.err" '[0-9.]* s jobs') b=$(field "$T/p${p}_8.err" '[0-9.]* s jobs')
        name="property $p: s of jobs" && [ $p = 3 ] && name="property 3, $cap domains"
        printf '%-28s %14s %14s %8s\n' "$name" "$a" "$b" "$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", a / b }')"
        cmp -s "$T/p${p}_1.res" "$T/p${p}_8.res" || { echo "$method property $p: the answers differ" >&2; status=1; }
    done
done
printf '%-28s %14s %14s %8s\n' "ReLU phases, crown" "unit 1" "unit 8" "1/8"
for inst in fmnist_mlp_10x20_relu:fashionmnist_11 mnist_mlp_10x20_relu:mnist_2; do
    net=${inst%%:*} img=${inst#*:}
    for u in 1 8; do
        "$N" verify --model models/$net.h5 --vnnlib $P/${net}_${img}_eps0.02.vnnlib.gz --bab --bab-split relu \
            --method crown --bab-unit $u --bab-max-domains 30000 >"$T/r_$u.res" 2>"$T/r_$u.err" || status=1
    done
    a=$(field "$T/r_1.err" '[0-9.]* s jobs') b=$(field "$T/r_8.err" '[0-9.]* s jobs')
    printf '%-28s %14s %14s %8s\n' "${net%_relu} ${img#*_}: s of jobs" "$a" "$b" \
        "$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", a / b }')"
    cmp -s "$T/r_1.res" "$T/r_8.res" || { echo "ReLU phases, $net $img: the answers differ" >&2; status=1; }
done
printf '%-28s %14s %14s %8s\n' "wide layers, crown" "unit 1" "unit 8" "1/8"
for wc in 256:3000 512:1000; do
    w=${wc%%:*} cap=${wc#*:}
    /usr/bin/python3 tools/bench/make_wide_net.py "$w" 0.5 "$T/wide.onnx" "$T/wide.vnnlib" || { status=1; continue; }
    for u in 1 8; do
        "$N" verify --model "$T/wide.onnx" --vnnlib "$T/wide.vnnlib" --bab --bab-split input --method crown \
            --bab-unit $u --bab-max-domains $cap >"$T/w_$u.res" 2>"$T/w_$u.err" || status=1
    done
    a=$(field "$T/w_1.err" '[0-9.]* s jobs') b=$(field "$T/w_8.err" '[0-9.]* s jobs')
    printf '%-28s %14s %14s %8s\n' "5-3x[$w]-5, $cap domains" "$a" "$b" \
        "$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", a / b }')"
    cmp -s "$T/w_1.res" "$T/w_8.res" || { echo "wide layers, W = $w: the answers differ" >&2; status=1; }
done
exit $status
