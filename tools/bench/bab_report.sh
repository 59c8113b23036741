#!/usr/bin/env bash
# Branch and bound measured on the project's own benchmark (doc/bab.md "Benchmark"):
# every instance bound-only, with --bab and with MILP, an independent falsifier,
# the known answers, the solved counts, and the scaling of one hard instance over
# 1 and 2 ranks. Fails (exit 1) when any answers contradict each other.
set -uo pipefail

usage() {
    cat <<'EOF'
usage: tools/bench/bab_report.sh [options]

Runs a VNN-COMP benchmark folder (default benchmarks/zoo_bab, written by
tools/bench/make_bab_bench.py) three ways and prints Markdown tables:
  bound-only   nncert vnncomp (CROWN on every box, PGD)
  --bab        nncert vnncomp --bab (branch and bound, default settings: CROWN)
  frown+betas  nncert vnncomp --bab --method frown (FROWN with the split
               constraints' multipliers, beta-CROWN)
  MILP         nncert verify --method milp per instance (Cbc; the known answers
               where it finishes), killed after --milp-kill seconds
  reference    tools/bench/bab_reference.py: PyTorch float64 grid, random and
               PGD search of each unsafe set, independent of nncert's C code
then the scaling of one hard instance: vnncomp --bab with --ranks-per-instance 1
(mpirun -np 2: a master and one worker) and 2 (-np 3), and one process's
'verify --bab' time split for the estimate at 1,000 ranks.

Exit status 1 when an unsat answer meets a sat answer or a point the reference
found (a wrong answer), or the two group sizes answer differently; 2 on usage
errors.

options:
  --instances F       instances.csv (default benchmarks/zoo_bab/instances.csv)
  --out DIR           keep every run's files and report.md there (default: a
                      temporary folder, removed)
  --only REGEX        instances whose line matches (grep -E)
  --milp-time-limit S MILP seconds per row (default 10)
  --milp-kill S       MILP wall seconds per instance before it is killed (default 120)
  --no-milp           skip MILP
  --scale NAME        the scaling instance: a line of the list matching NAME
                      (default fmnist_mlp_10x20_relu_fashionmnist_0_eps0.012:
                      since stuck leaves get split multipliers, the older
                      default, image 0 at eps 0.01, takes a third of a second)
  --scale-timeout S   its timeout (default 300)
  --scale-candidates K  its --bab-candidates (default 1, as doc/bab.md's
                      figures were measured)
  --scale-batch B     its --bab-batch (default 32: a round of 64 jobs, 8 units
                      of 8, so a group of two has units to share; the
                      default 8 gives two units a round)
  --light NAME        the instance of light jobs for the time split (default
                      acasxu_like_6x50.onnx,vnnlib/acas_prop_3, a search to the
                      domain limit; the scaling runs pass --bab-max-domains
                      200000, which a timeout otherwise lifts)
  --light-timeout S   its timeout (default 30)
  --no-scale          skip the scaling part
  --nncert B          the binary (default bin/nncert)
  --help
EOF
}

cd "$(dirname "$0")/../.."
INST=benchmarks/zoo_bab/instances.csv OUT= ONLY= MILP_LIMIT=10 MILP_KILL=120 DO_MILP=1 DO_SCALE=1
SCALE=fmnist_mlp_10x20_relu_fashionmnist_0_eps0.012 SCALE_T=300 SCALE_K=1 SCALE_B=32 LIGHT=acasxu_like_6x50.onnx,vnnlib/acas_prop_3
LIGHT_T=30
N=bin/nncert
while [ $# -gt 0 ]; do
    case $1 in
    --help | -h) usage; exit 0 ;;
    --no-milp) DO_MILP=0; shift; continue ;;
    --no-scale) DO_SCALE=0; shift; continue ;;
    --instances | --out | --only | --milp-time-limit | --milp-kill | --scale | --scale-timeout | --scale-candidates | --scale-batch | \
        --light | --light-timeout | --nncert)
        [ $# -ge 2 ] || { echo "bab_report.sh: $1 needs a value" >&2; exit 2; } ;;
    *) echo "bab_report.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
    esac
    case $1 in
    --instances) INST=$2 ;;
    --out) OUT=$2 ;;
    --only) ONLY=$2 ;;
    --milp-time-limit) MILP_LIMIT=$2 ;;
    --milp-kill) MILP_KILL=$2 ;;
    --scale) SCALE=$2 ;;
    --scale-timeout) SCALE_T=$2 ;;
    --scale-candidates) SCALE_K=$2 ;;
    --scale-batch) SCALE_B=$2 ;;
    --light) LIGHT=$2 ;;
    --light-timeout) LIGHT_T=$2 ;;
    --nncert) N=$2 ;;
    esac
    shift 2
done
[ -f "$INST" ] || { echo "bab_report.sh: no instance list $INST (tools/bench/make_bab_bench.py writes it)" >&2; exit 2; }
[ -x "$N" ] || { echo "bab_report.sh: no binary $N (make all)" >&2; exit 2; }
N=$(cd "$(dirname "$N")" && pwd)/$(basename "$N")
[ "$(id -u)" = 0 ] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OPENBLAS_NUM_THREADS=1 OMPI_MCA_rmaps_base_oversubscribe=1
PY=/usr/bin/python3
TOOLS=$PWD/tools/bench
if [ -n "$OUT" ]; then mkdir -p "$OUT" && T=$(cd "$OUT" && pwd); else T=$(mktemp -d /tmp/nncert-bab.XXXXXX); trap 'rm -rf "$T"' EXIT; fi
DIR=$(cd "$(dirname "$INST")" && pwd)
# the instances to run, with absolute paths (the benchmark's folder is left untouched)
abs_list() { awk -F, -v d="$DIR" '/^[[:space:]]*(#|$)/ {next} {
    for (i = 1; i <= 3; i++) gsub(/^[[:space:]]+|[[:space:]]+$/, "", $i)
    print ($1 ~ /^\// ? "" : d "/") $1 "," ($2 ~ /^\// ? "" : d "/") $2 "," $3 }'; }
LIST=$T/instances.csv
if [ -n "$ONLY" ]; then grep -E -- "$ONLY" "$INST" | abs_list >"$LIST"; else abs_list <"$INST" >"$LIST"; fi
n=$(wc -l <"$LIST")
[ "$n" -gt 0 ] || { echo "bab_report.sh: no instance matches '$ONLY'" >&2; exit 2; }
status=0

{
echo "## Branch and bound on $(basename "$DIR") ($n instances)"
echo
echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the start;"
echo "nncert $(git describe --always --dirty 2>/dev/null || echo '?'); wall seconds per instance."
echo
} | tee "$T/report.md"

run_vnncomp() {  # $1 = name, then vnncomp options
    local name=$1; shift
    "$N" vnncomp --instances "$LIST" --out "$T/$name.csv" --force-new "$@" >"$T/$name.out" 2>"$T/$name.err"
    local rc=$?
    if [ $rc -ne 0 ] && [ $rc -ne 1 ]; then echo "bab_report.sh: vnncomp $name failed ($rc):" >&2; tail -3 "$T/$name.err" >&2; exit 1; fi
    if [ $rc -eq 1 ]; then echo "bab_report.sh: vnncomp $name: some instance is an error:" >&2; grep -i error "$T/$name.err" | head -3 >&2; status=1; fi
}
echo "bab_report.sh: bound-only ..." >&2
run_vnncomp bound
echo "bab_report.sh: --bab ..." >&2
run_vnncomp bab --bab
echo "bab_report.sh: --bab --method frown ..." >&2
run_vnncomp beta --bab --method frown

echo "bab_report.sh: MILP ..." >&2
: >"$T/milp.tsv"
while IFS=, read -r onnx vnn timeout; do
    if [ "$DO_MILP" = 0 ]; then continue; fi
    t0=$(date +%s.%N)
    res=$(timeout -s KILL "$MILP_KILL" "$N" verify --model "$onnx" --vnnlib "$vnn" --timeout "$timeout" \
        --method milp --milp-time-limit "$MILP_LIMIT" 2>>"$T/milp.err" | head -1)
    [ -n "$res" ] || res=killed
    printf '%s\t%s\t%s\t%.3f\n' "$onnx" "$vnn" "$res" "$(echo "$(date +%s.%N) - $t0" | bc)" >>"$T/milp.tsv"
done <"$LIST"

echo "bab_report.sh: reference search ..." >&2
$PY "$TOOLS/bab_reference.py" "$LIST" "$T/ref.tsv" || { echo "bab_report.sh: reference search failed" >&2; exit 1; }

$PY "$TOOLS/bab_table.py" answers --instances "$LIST" --bound "$T/bound.csv" --bab "$T/bab.csv" --bab-h5 "$T/bab.h5" \
    --beta "$T/beta.csv" --beta-h5 "$T/beta.h5" --milp "$T/milp.tsv" --ref "$T/ref.tsv" | tee -a "$T/report.md"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

if [ "$DO_SCALE" = 1 ]; then
    line=$(grep -F -- "$SCALE" "$INST" | abs_list | head -1)
    light=$(grep -F -- "$LIGHT" "$INST" | abs_list | head -1)
    if [ -z "$line" ] || [ -z "$light" ]; then
        echo "bab_report.sh: no instance matches '$SCALE' or '$LIGHT' for the scaling part" >&2; exit 2
    fi
    echo "bab_report.sh: scaling on $(echo "$line" | cut -d, -f1-2), timeout $SCALE_T s ..." >&2
    S=$T/scale.csv
    echo "$line" | awk -F, -v t="$SCALE_T" '{print $1 "," $2 "," t}' >"$S"
    for g in 1 2; do
        /usr/bin/time -o "$T/g$g.time" -f "%U %S" mpirun -np $((g + 1)) "$N" vnncomp --instances "$S" \
            --out "$T/g$g.csv" --force-new --bab --bab-candidates "$SCALE_K" --bab-batch "$SCALE_B" \
            --bab-max-domains 200000 \
            --ranks-per-instance $g >"$T/g$g.out" 2>"$T/g$g.err" \
            || { echo "bab_report.sh: mpirun -np $((g + 1)) failed:" >&2; tail -3 "$T/g$g.err" >&2; exit 1; }
    done
    split_run() {  # $1 = name, $2 = instance line, $3 = timeout, then verify's options
        local name=$1 m p t=$3
        m=$(echo "$2" | cut -d, -f1) p=$(echo "$2" | cut -d, -f2)
        shift 3
        "$N" verify --model "$m" --vnnlib "$p" --timeout "$t" --bab --bab-max-domains 200000 "$@" \
            >/dev/null 2>"$T/split_$name.err"
    }
    split_run heavy "$line" "$SCALE_T" --bab-candidates "$SCALE_K" --bab-batch "$SCALE_B"
    split_run light "$light" "$LIGHT_T"
    cpu() { awk '{print $1 + $2}' "$1"; }
    {
    echo
    $PY "$TOOLS/bab_table.py" scaling --g1 "$T/g1.csv" --g1-h5 "$T/g1.h5" --g1-cpu "$(cpu "$T/g1.time")" \
        --g2 "$T/g2.csv" --g2-h5 "$T/g2.h5" --g2-cpu "$(cpu "$T/g2.time")" \
        --log "$(basename "$(echo "$line" | cut -d, -f1)") $(basename "$(echo "$line" | cut -d, -f2)"), $SCALE_T s=$T/split_heavy.err" \
        --log "$(basename "$(echo "$light" | cut -d, -f1)") $(basename "$(echo "$light" | cut -d, -f2)"), $LIGHT_T s=$T/split_light.err"
    } | tee -a "$T/report.md"
    [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
fi
echo
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$T/report.md"
[ $status -eq 0 ] || echo "bab_report.sh: FAILED (see above)" >&2
exit $status
