#!/usr/bin/env bash
# LP benchmark (part of `make bench`; doc/lp.md "Costs"): one image through
# `nncert bounds` with CROWN, LP-LAST and LP-ALL (all margins, both sides), one
# core, on the paper's MLP-B shape, the 2x[100] ReLU MNIST MLP of the barrier
# study (models/zoo/mnist_mlp_2x100_relu.h5, trained here in seconds by
# tools/models/train.py --barrier unless BENCH_NO_TRAIN=1; the committed 2x[20]
# when it is absent), the radius search of that image by CROWN, LP-LAST and
# LP-ALL, and LP-ALL's per-neuron split over a rank group: one
# fixed-eps certify task with ranks_per_image 1 (-np 2) and 2 (-np 3), efficiency
# = t1 / (2 t2) of the task's own seconds (the results file's; median of three
# interleaved runs) and of the master's wall clock with mpirun's start-up. CPU seconds are the process's own
# (user + system), which a busy shared machine does not inflate.
set -uo pipefail
cd "$(dirname "$0")/../.."
[ "$(id -u)" = 0 ] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OPENBLAS_NUM_THREADS=1 OMPI_MCA_rmaps_base_oversubscribe=1
T=$(mktemp -d /tmp/nncert-bench-lp.XXXXXX)
trap 'rm -rf "$T"' EXIT
N=bin/nncert
M=models/zoo/mnist_mlp_2x100_relu.h5 EPS=0.02 DATA=mnist:test
if [ ! -f "$M" ] && [ "${BENCH_NO_TRAIN:-0}" != 1 ]; then
    OMP_NUM_THREADS=1 /usr/bin/python3 tools/models/train.py --barrier --only mnist_mlp_2x100_relu >"$T/train.log" 2>&1 \
        || echo "bench_lp: training $M failed: $(tail -1 "$T/train.log")" >&2
fi
[ -f "$M" ] || { M=models/fmnist_mlp_2x20_relu.h5 EPS=0.01 DATA=fashion-mnist:test; }
echo "== bench_lp: $M, image 0, eps $EPS (inf), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
# timed WHAT CMD...: CMD's output in $T/out, its wall and CPU seconds in $wall, $cpu
timed() {
    local what=$1 user sys
    shift
    /usr/bin/time -o "$T/t" -f "%e %U %S" "$@" >"$T/out" 2>&1 || { echo "bench_lp: $what failed" >&2; exit 1; }
    read -r wall user sys <"$T/t"
    cpu=$(echo "$user + $sys" | bc)
}
for me in crown lp-last lp-all; do
    timed "$me" $N bounds --model "$M" --data "$DATA" --index 0 --eps $EPS --method $me --out "$T/b.h5"
    printf '%-8s %8.2f s CPU  %8.2f s wall  %s\n' "$me" "$cpu" "$wall" \
        "$(sed -n 's/.*min margin lower bound \([^ ]*\).*/min margin >= \1/p' "$T/out")"
done
# the radius search of image 0 by each method, one core: what certification
# costs, where the LP methods solve only the margin rows CROWN leaves open, and
# LP-ALL its per-neuron LPs only where CROWN does not certify (doc/lp.md
# "Least work")
for me in crown lp-last lp-all; do
    timed "$me radius search" $N certify --model "$M" --data "$DATA" --count 1 --method $me --out "$T/r-$me.h5"
    printf 'radius search %-8s %8.2f s CPU  %s, %s\n' "$me" "$cpu" \
        "$(sed -n 's/^mean certified radius ([^)]*): \([^ ]*\).*/radius \1/p' "$T/out")" \
        "$(sed -n 's/^bound evaluations \([0-9]*\).*/\1 evaluations/p' "$T/out")"
done
# three interleaved repetitions of each configuration, the median efficiency:
# one run of each on this shared machine varied by up to 15 %
for rep in 1 2 3; do
    for cfg in "2 1" "3 2"; do
        /usr/bin/time -o "$T/t${cfg% *}.$rep" -f "%e %U %S" mpirun --oversubscribe -np ${cfg% *} $N certify \
            --model "$M" --data "$DATA" --count 1 --eps $EPS --method lp-all --ranks-per-image ${cfg#* } \
            --out "$T/c${cfg% *}.$rep.h5" >/dev/null 2>&1 || { echo "bench_lp: mpirun -np ${cfg% *} failed" >&2; exit 1; }
    done
done
# the task's own seconds (results/seconds: no process start-up) next to the wall clock
task_s() { /usr/bin/python3 -c "import h5py,sys; print(float(h5py.File(sys.argv[1],'r')['results/seconds'][0]))" "$1" 2>/dev/null || echo 0; }
for rep in 1 2 3; do
    read -r t1 u1 s1 <"$T/t2.$rep"
    read -r t2 u2 s2 <"$T/t3.$rep"
    k1=$(task_s "$T/c2.$rep.h5") k2=$(task_s "$T/c3.$rep.h5")
    printf '%s %s %s %s %s %s\n' "$(echo "100 * $t1 / (2 * $t2)" | bc -l)" "$t1" "$t2" "$k1" "$k2" \
        "$(echo "100 * $k1 / (2 * $k2)" | bc -l)"
done | sort -g >"$T/eff"
while read -r e t1 t2 k1 k2 ke; do
    printf 'lp-all certify, 1 image: 1 worker %.2f s, a group of 2 %.2f s wall: efficiency %.0f%% (task alone %.2f s and %.2f s: %.0f%%)\n' \
        "$t1" "$t2" "$e" "$k1" "$k2" "$ke"
done <"$T/eff"
# the headline is the task's own seconds: mpirun's start-up (0.35 s for -np 2
# or 3 here, against 0.03 s for the task's other serial work) is not the split's
printf 'lp-all per-neuron split over 2 ranks: median efficiency %.0f%% of 3 runs (the task'"'"'s own seconds; %.0f%% on the wall clock with mpirun start-up)\n' \
    "$(cut -d' ' -f6 "$T/eff" | sort -g | sed -n 2p)" "$(sed -n 2p "$T/eff" | cut -d' ' -f1)"
