#!/usr/bin/env bash
# Branch and bound's batches of input halves (part of `make bench`; doc/bab.md
# "Batches"): the ACAS Xu-like 6x[50] net's properties 1 and 2 to the end and
# property 3 for 10 s, CROWN, one process, one domain at a time (--bab-unit 1,
# the default) against batches of 8 (one GEMM per layer over their rows): seconds
# of jobs or domains bounded, and their ratio (above 1: batches are faster).
# Fails when the answers of properties 1 and 2 differ. About 30 s.
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
printf '%-28s %14s %14s %8s\n' "6x[50], CROWN, one process" "unit 1" "unit 8" "1/8"
for p in 1 2 3; do
    to=() && [ $p = 3 ] && to=(--timeout 10)
    for u in 1 8; do
        "$N" verify --model $M --vnnlib $P/acas_prop_$p.vnnlib --bab --bab-unit $u "${to[@]}" \
            >"$T/p${p}_$u.res" 2>"$T/p${p}_$u.err" || status=1
    done
    if [ $p = 3 ]; then
        a=$(field "$T/p3_1.err" '[0-9]* domains bounded') b=$(field "$T/p3_8.err" '[0-9]* domains bounded')
        printf '%-28s %14s %14s %8s\n' "property 3: domains in 10 s" "$a" "$b" \
            "$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", b / a }')"
    else
        a=$(field "$T/p${p}_1.err" '[0-9.]* s jobs') b=$(field "$T/p${p}_8.err" '[0-9.]* s jobs')
        printf '%-28s %14s %14s %8s\n' "property $p: s of jobs" "$a" "$b" \
            "$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", a / b }')"
        cmp -s "$T/p${p}_1.res" "$T/p${p}_8.res" || { echo "property $p: the answers differ" >&2; status=1; }
    fi
done
exit $status
