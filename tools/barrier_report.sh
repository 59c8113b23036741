#!/usr/bin/env bash
# The convex-relaxation barrier study (doc/lp.md "Barrier study") on our own nets:
# the paper's two tables for MNIST MLPs, every bound computed by `nncert certify`
# through the MPI scheduler, checked for the orderings the methods guarantee.
# Run with --help for the options.
set -u
cd "$(dirname "$0")/.."

usage() {
    cat <<'EOF'
usage: tools/barrier_report.sh [options]

Trains (once, deterministically: tools/models/train.py --barrier) the MNIST MLPs
of the LP-barrier study -- MLP-A 1x[500] and MLP-B 2x[100] ReLU, normally (NOR)
and PGD-trained at l_inf 0.1 (ADV) -- and prints two markdown tables, also
written to OUT/barrier.md:

  1. certified l_inf radius per method (IBP, Fast-Lin, CROWN, FROWN, LP-LAST,
     LP-ALL, MILP; certify's bisect search, rtol 1e-3) next to PGD's upper bound
     (certify --attack pgd), with the median ratio PGD / radius and the seconds
     each column took;
  2. bounds on the robust error at l_inf radius --eps: the lower bound
     (misclassified + PGD and MILP counterexamples), the upper bounds of MILP, LP-ALL,
     CROWN and Fast-Lin (= the paper's LP-GREEDY) (misclassified + not certified),
     with seconds per column. MILP runs on the images LP-ALL and PGD leave open
     (--milp-images).

Every image is checked against the orderings the methods guarantee (doc/lp.md
"Barrier study"); a violation prints a line starting with FAILED and the exit
status is 1.

options:
  --images N           first N test images (default 100)
  --radius-images M=N[,M=N]  fewer images for one method's radius search, e.g.
                       milp=10,lp-all=20 (default: --images for every method)
  --ranks N            ranks of every certify run: mpirun -np N, rank 0 the
                       master (default 2: one computing rank); 1: a plain process
  --eps E              radius of table 2 (default 0.02)
  --milp-time-limit S  Cbc's seconds per MILP margin row (default 10); a row not
                       solved by then does not certify
  --task-timeout M=S[,M=S]  wall seconds per image for a method's runs (default
                       milp=300); M alone is both tables, r:M table 1 only, e:M
                       table 2 only (r:milp=120,e:milp=600). A radius search
                       stopped by it keeps the radius it had certified (status
                       timeout, counted in the table); at eps it does not certify
  --milp-images open|all  table 2's MILP on every image, or (default) only on
                       those neither LP-ALL certifies nor PGD breaks at eps: on
                       the others MILP's answer follows (LP-ALL's certificate is
                       MILP's; no sound method certifies a broken image)
  --methods LIST       radius methods (default ibp,fastlin,crown,frown,lp-last,
                       lp-all,milp; PGD always runs)
  --error-methods LIST robust-error methods (default fastlin,crown,lp-all,milp)
  --nets FILE[,FILE]   models (default models/zoo/mnist_mlp_{1x500,2x100}_relu
                       {,_adv}.h5, trained when missing)
  --data D             data set (default mnist:test)
  --out DIR            results, logs and barrier.md (default results/barrier);
                       finished runs are kept: a rerun computes only what is
                       missing (certify resumes its journals)
  -h, --help           this help

Environment: NNCERT (default bin/nncert).
EOF
}

NNCERT=${NNCERT:-bin/nncert}
PY=/usr/bin/python3
IMAGES=100 RANKS=2 EPS=0.02 MILP_LIMIT=10 OUT=results/barrier DATA=mnist:test
RADIUS_IMAGES="" TIMEOUTS="milp=300" MILP_IMAGES=open
METHODS="ibp,fastlin,crown,frown,lp-last,lp-all,milp"
ERROR_METHODS="fastlin,crown,lp-all,milp"
NETS=""
die() { echo "barrier_report.sh: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
    case $1 in
    -h | --help) usage; exit 0 ;;
    --images | --radius-images | --ranks | --eps | --milp-time-limit | --task-timeout | --methods | \
        --error-methods | --nets | --data | --out | --milp-images)
        [ $# -ge 2 ] || die "$1 needs a value"
        case $1 in
        --images) IMAGES=$2 ;; --radius-images) RADIUS_IMAGES=$2 ;; --ranks) RANKS=$2 ;; --eps) EPS=$2 ;;
        --milp-time-limit) MILP_LIMIT=$2 ;; --task-timeout) TIMEOUTS=$2 ;; --methods) METHODS=$2 ;;
        --error-methods) ERROR_METHODS=$2 ;; --nets) NETS=$2 ;; --data) DATA=$2 ;; --out) OUT=$2 ;;
        --milp-images) MILP_IMAGES=$2 ;;
        esac
        shift 2 ;;
    *) die "unknown option '$1' (see --help)" ;;
    esac
done
[[ $IMAGES =~ ^[1-9][0-9]*$ ]] || die "--images must be a positive integer, got '$IMAGES'"
[[ $RANKS =~ ^[1-9][0-9]*$ ]] || die "--ranks must be a positive integer, got '$RANKS'"
[[ $MILP_IMAGES == open || $MILP_IMAGES == all ]] || die "--milp-images must be open or all, got '$MILP_IMAGES'"
if [ "$MILP_IMAGES" = open ] && [[ ,$ERROR_METHODS, == *,milp,* ]] && [[ ,$ERROR_METHODS, != *,lp-all,* ]]; then
    die "--milp-images open needs lp-all among --error-methods (or use --milp-images all)"
fi
ALL_METHODS=" ibp fastlin crown frown lp-last lp-all milp "
for m in ${METHODS//,/ } ${ERROR_METHODS//,/ }; do
    [[ $ALL_METHODS == *" $m "* ]] || die "unknown method '$m' (one of:$ALL_METHODS)"
done
# "m=v,m=v": every key a method (with $3, also r:METHOD or e:METHOD), every
# value a positive number
check_pairs() {
    local kv k
    for kv in ${2//,/ }; do
        [[ $kv == *=* ]] || die "$1: '$kv' is not METHOD=VALUE"
        k=${kv%%=*}
        [ -n "${3:-}" ] && k=${k#[re]:}
        [[ $ALL_METHODS == *" $k "* ]] || die "$1: unknown method '${kv%%=*}'"
        [[ ${kv#*=} =~ ^[0-9]+([.][0-9]*)?$ ]] && [[ ! ${kv#*=} =~ ^0*[.]?0*$ ]] ||
            die "$1: '${kv#*=}' is not a positive number"
    done
}
check_pairs --radius-images "$RADIUS_IMAGES"
check_pairs --task-timeout "$TIMEOUTS" prefixed
# lookup PAIRS METHOD DEFAULT: the value for METHOD, else DEFAULT
lookup() {
    local kv
    for kv in ${1//,/ }; do [ "${kv%%=*}" = "$2" ] && { echo "${kv#*=}"; return; }; done
    echo "$3"
}

if [ -z "$NETS" ]; then
    for n in mnist_mlp_1x500_relu mnist_mlp_1x500_relu_adv mnist_mlp_2x100_relu mnist_mlp_2x100_relu_adv; do
        NETS+="${NETS:+,}models/zoo/$n.h5"
        if [ ! -f "models/zoo/$n.h5" ]; then
            echo "training models/zoo/$n.h5 (tools/models/train.py --barrier)" >&2
            $PY tools/models/train.py --barrier --only "$n" >&2 || die "training $n failed"
        fi
    done
fi
for net in ${NETS//,/ }; do [ -f "$net" ] || die "$net: no such model file"; done

mkdir -p "$OUT" || die "cannot create $OUT"
export OPENBLAS_NUM_THREADS=1
[ "$(id -u)" = 0 ] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
launch() { if [ "$RANKS" -gt 1 ]; then mpirun --oversubscribe -np "$RANKS" "$@"; else "$@"; fi; }

# run TAG CMD...: run CMD (its --out is OUT/TAG.h5). TAG.cmd keeps the command
# of the run in OUT/TAG.h5: the same command finished (TAG.done) is skipped, the
# same one unfinished resumes (certify's journal), another one starts afresh.
# The seconds of every invocation add up in TAG.wall.
status=0
run() {
    local tag=$1; shift
    local cmd="$*"
    if [ "$(cat "$OUT/$tag.cmd" 2>/dev/null)" = "$cmd" ]; then
        [ -f "$OUT/$tag.done" ] && return 0
    else
        rm -f "$OUT/$tag".{h5,h5.journal,wall,done,log}
        echo "$cmd" >"$OUT/$tag.cmd"
    fi
    echo "$(date +%T) $tag" >&2
    local t0 t1 rc
    t0=$(date +%s.%N)
    "$@" >>"$OUT/$tag.log" 2>&1
    rc=$?
    t1=$(date +%s.%N)
    echo "$t0 $t1" >>"$OUT/$tag.wall"
    if [ $rc -ne 0 ]; then
        echo "FAILED: $tag exited with status $rc (log $OUT/$tag.log):" >&2
        tail -5 "$OUT/$tag.log" >&2
        status=1
        return 1
    fi
    touch "$OUT/$tag.done"
}

# one_run NET KIND METHOD: the run of table 1 (KIND r) or 2 (KIND e)
one_run() {
    local net=$1 kind=$2 m=$3 b n data extra=() to
    b=$(basename "$net" .h5)
    if [ "$m" = pgd ]; then
        if [ "$kind" = r ]; then
            # PGD's radius upper bound: certify's attack after each IBP search (the
            # ibp column's run repeats the search alone, for its time)
            run "${b}_r_pgd" launch "$NNCERT" certify --model "$net" --data "$DATA" --count "$IMAGES" \
                --method ibp --attack pgd --out "$OUT/${b}_r_pgd.h5"
        else
            # PGD at exactly eps (a plain process: attack has no scheduler)
            run "${b}_e_pgd" "$NNCERT" attack --model "$net" --data "$DATA" --count "$IMAGES" --eps "$EPS" \
                --out "$OUT/${b}_e_pgd.h5"
        fi
        return
    fi
    n=$IMAGES data=$DATA
    if [ "$kind" = e ] && [ "$m" = milp ] && [ "$MILP_IMAGES" = open ]; then
        # the images LP-ALL and PGD leave open, as NumPy arrays of the same pixels
        [ -f "$OUT/${b}_e_lp-all.done" ] && [ -f "$OUT/${b}_e_pgd.done" ] && [ -f "$OUT/${b}_r_pgd.done" ] || {
            echo "FAILED: ${b}_e_milp needs the lp-all and PGD runs" >&2; status=1; return; }
        local open
        open=$($PY tools/barrier_open.py "$OUT" "$b" "$DATA" "$EPS") || {
            echo "FAILED: tools/barrier_open.py $OUT $b" >&2; status=1; return; }
        n=${open#* }
        data="npy:$OUT/${b}_e_milp_${open% *}_x.npy,labels=$OUT/${b}_e_milp_${open% *}_y.npy"
        if [ "$n" = 0 ]; then   # nothing open: nothing to run
            rm -f "$OUT/${b}_e_milp".{h5,h5.journal,wall,log,cmd}
            touch "$OUT/${b}_e_milp.done"
            return
        fi
    fi
    [ "$kind$m" = emilp ] && [ "$MILP_IMAGES" = all ] && rm -f "$OUT/${b}_e_milp.images"
    if [ "$kind" = r ]; then
        n=$(lookup "$RADIUS_IMAGES" "$m" "$IMAGES")
        [ "$n" -gt "$IMAGES" ] && n=$IMAGES
    else
        extra+=(--eps "$EPS")
    fi
    [ "$m" = milp ] && extra+=(--milp-time-limit "$MILP_LIMIT")
    to=$(lookup "$TIMEOUTS" "$kind:$m" "$(lookup "$TIMEOUTS" "$m" 0)")
    [ "$to" != 0 ] && extra+=(--task-timeout "$to")
    run "${b}_${kind}_$m" launch "$NNCERT" certify --model "$net" --data "$data" --count "$n" \
        --method "$m" "${extra[@]}" --out "$OUT/${b}_${kind}_$m.h5"
}

# Cheapest first, every net, so that the short columns are there early.
for step in r:pgd e:pgd r:ibp e:ibp r:fastlin e:fastlin r:crown e:crown r:frown e:frown e:lp-all r:lp-last \
    e:milp r:lp-all r:milp e:lp-last; do
    kind=${step%%:*} m=${step#*:}
    if [ "$m" != pgd ]; then
        list=$([ "$kind" = r ] && echo "$METHODS" || echo "$ERROR_METHODS")
        [[ ",$list," == *",$m,"* ]] || continue
    fi
    for net in ${NETS//,/ }; do one_run "$net" "$kind" "$m"; done
done

$PY tools/barrier_tables.py --out "$OUT" --nets "$NETS" --images "$IMAGES" --eps "$EPS" \
    --methods "$METHODS" --error-methods "$ERROR_METHODS" --ranks "$RANKS" --milp-time-limit "$MILP_LIMIT" \
    --task-timeout "$TIMEOUTS" >"$OUT/barrier.md.tmp"
rc=$?
cat "$OUT/barrier.md.tmp"
mv "$OUT/barrier.md.tmp" "$OUT/barrier.md"
echo "tables written to $OUT/barrier.md" >&2
[ $rc -ne 0 ] && status=1
exit $status
