#!/usr/bin/env bash
# 'nncert certify --method lp-all' resumed inside an image (doc/lp.md
# "Checkpoints"): the job is killed by SIGKILL right after its k-th layer is
# journaled (NNCERT_TEST_KILL_AFTER_LAYERS, a known point whatever the speed),
# with 1 rank, 2 ranks and a group of 2 ranks splitting the rows; the rerun
# takes up the journaled layers instead of computing them again (it says how
# many, and no (task, eps, layer) is ever journaled twice: a computed layer is
# always journaled), and its rows are bit-identical to an uninterrupted run.
# no-sanitizer: LP solver numerics end to end, seconds per image; the journal
# and message code runs under the sanitizers in test_cert_store and test_scheduler.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
export OPENBLAS_NUM_THREADS=1 OMPI_MCA_rmaps_base_oversubscribe=1
MPI="mpirun --oversubscribe -np"
SAME="$PY tests/same_results.py"
# one image, 2 radius-search steps of 9 journaled layers (the first of the 10 is
# exact and always computed)
JOB=(--model models/fmnist_mlp_10x20_relu.h5 --data fashion-mnist:test --count 1 --method lp-all --rtol 0.5
     --row-block 4 --flush-seconds 0)

# The checkpoint records of a journal: "n keys dups" (keys = distinct (task,
# eps, layer); dups = records whose key came before).
layers() {
    $PY -c "
import sys, struct
b = open(sys.argv[1], 'rb').read(); p = 8; keys = set(); n = dups = 0
while p + 12 <= len(b):
    l, t = struct.unpack_from('<II', b, p)
    if p + 12 + l > len(b): break
    if t == 5:
        task, = struct.unpack_from('<q', b, p + 8)
        eps, = struct.unpack_from('<Q', b, p + 8 + 8 + 16)
        layer, = struct.unpack_from('<i', b, p + 8 + 8 + 32)
        k = (task, eps, layer); n += 1; dups += k in keys; keys.add(k)
    p += 12 + l
print(n, len(keys), dups)" "$1"
}


$NNCERT certify "${JOB[@]}" --out "$TMP/ref.h5" >/dev/null 2>&1
read -r total _ refdups <<<"$(layers "$TMP/ref.h5.journal")"
check "an uninterrupted run journals each of its 18 layers once" "[ '$total $refdups' = '18 0' ]" ||
    echo "# $total records, $refdups repeated"

# name, layers before the kill, launcher... ($EXTRA: more options of the job)
EXTRA=()
resume() {
    local name=$1 k=$2; shift 2
    rm -f "$TMP/k.h5" "$TMP/k.h5.journal"
    die_after_records "$k" "$@" certify "${JOB[@]}" "${EXTRA[@]}" --out "$TMP/k.h5"
    check "$name: killed after $k journaled layers" "[ \"\$(layers '$TMP/k.h5.journal')\" = '$k $k 0' ]" ||
        cat "$TMP/kill.log"
    "$@" certify "${JOB[@]}" "${EXTRA[@]}" --out "$TMP/k.h5" >"$TMP/out" 2>"$TMP/err"
    check "$name: the rerun finishes" "[ $? -eq 0 ]" || tail -3 "$TMP/err"
    check "$name: the rerun takes up the $k journaled layers" \
        "grep -q '$k record(s) journaled for unfinished tasks by earlier runs (layers, branch-and-bound searches) are used again' '$TMP/err' &&
         grep -q 'image 0 slot 0: $k layer(s) taken from the journal, not computed again' '$TMP/err'" ||
        cat "$TMP/err"
    check "$name: no journaled layer is computed again" "[ \"\$(layers '$TMP/k.h5.journal')\" = '18 18 0' ]" ||
        echo "# records, keys, repeated: $(layers "$TMP/k.h5.journal")"
    check "$name: rows bit-identical to the uninterrupted run" "$SAME '$TMP/ref.h5' '$TMP/k.h5'"
}
# inside the second search step (9 + 3), inside the first, and at its end
resume "1 rank" 12 $NNCERT
resume "2 ranks" 5 $MPI 2 $NNCERT
EXTRA=(--ranks-per-image 2)
resume "a group of 2 ranks splitting the rows" 9 $MPI 3 $NNCERT
