#!/usr/bin/env bash
# 'nncert certify --bab' killed inside a task (doc/bab.md "Certified radii"):
# every branch-and-bound search of a radius search journals its snapshots
# (--bab-checkpoint-every 0: every round) and its outcome. The master kills
# itself by SIGKILL right after its k-th such record is journaled
# (NNCERT_TEST_KILL_AFTER_LAYERS, a known point whatever the speed), with one
# process and with a group of 2 ranks sharing the searches; the rerun takes the
# finished searches as they ended and continues the one cut short from its
# last snapshot (it says how many), journals nothing twice (the records of the
# two runs together are those of an uninterrupted run), and gives its rows
# bit for bit. Runs under the sanitizers too (about 15 s there): the records'
# encoding, the journal's replay and the resumed searches.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
export OPENBLAS_NUM_THREADS=1 OMPI_MCA_rmaps_base_oversubscribe=1
MPI="mpirun --oversubscribe -np"
SAME="$PY tests/same_results.py"
JOB=(--model models/fmnist_mlp_2x20_relu.h5 --data fashion-mnist:test --count 3 --clip --rtol 0.05
     --bab --bab-candidates 4 --bab-max-domains 400 --flush-seconds 0)

expect_failure "--bab-checkpoint-every needs --bab" "bab_checkpoint_every.*needs bab = true" \
    $NNCERT certify --model models/fmnist_mlp_2x20_relu.h5 --data fashion-mnist:test --count 1 \
    --bab-checkpoint-every 5 --out "$TMP/e.h5"
expect_failure "--bab-checkpoint-every must be >= 0" "bab_checkpoint_every.*>= 0" \
    $NNCERT certify "${JOB[@]}" --bab-checkpoint-every -1 --out "$TMP/e.h5"

# The branch-and-bound records of a journal: "snapshots outcomes searches
# repeated" (a search = (task, image, eps, class, target); repeated = outcomes
# of a search journaled more than once).
records() {
    $PY -c "
import sys, struct, collections
b = open(sys.argv[1], 'rb').read(); p = 8; snaps = 0; outs = collections.Counter()
while p + 12 <= len(b):
    l, t = struct.unpack_from('<II', b, p)
    if p + 12 + l > len(b): break
    if t == 5 and l >= 8 + 32:
        task, version, done = struct.unpack_from('<qII', b, p + 8)
        if version == 2:
            if done: outs[(task, b[p + 24:p + 48])] += 1
            else: snaps += 1
    p += 12 + l
print(snaps, sum(outs.values()), len(outs), sum(n - 1 for n in outs.values()))" "$1"
}

$NNCERT certify "${JOB[@]}" --bab-checkpoint-every 0 --out "$TMP/ref.h5" >/dev/null 2>&1
read -r snaps outs searches reps <<<"$(records "$TMP/ref.h5.journal")"
check "an uninterrupted run journals snapshots, and each search's outcome once" \
    "[ $snaps -ge 10 ] && [ $outs -ge 6 ] && [ $outs = $searches ] && [ $reps = 0 ]" ||
    echo "# snapshots $snaps, outcomes $outs, searches $searches, repeated $reps"
$NNCERT certify "${JOB[@]}" --out "$TMP/paced.h5" >/dev/null 2>&1
check "at the default pace (60 s) a short run journals outcomes only, with the same rows" \
    "[ \"\$(records '$TMP/paced.h5.journal')\" = '0 $outs $outs 0' ] && $SAME '$TMP/ref.h5' '$TMP/paced.h5'"


# name, records before the kill, searches the rerun takes as ended and
# continues, launcher... ($EXTRA: more options of the job)
resume() {
    local name=$1 k=$2 ended=$3 continued=$4; shift 4
    rm -f "$TMP/k.h5" "$TMP/k.h5.journal"
    die_after_records "$k" "$@" certify "${JOB[@]}" "${EXTRA[@]}" --bab-checkpoint-every 0 --out "$TMP/k.h5"
    read -r s o _ _ <<<"$(records "$TMP/k.h5.journal")"
    check "$name: killed after $k journaled records" "[ $((s + o)) = $k ]" || cat "$TMP/kill.log"
    "$@" certify "${JOB[@]}" "${EXTRA[@]}" --bab-checkpoint-every 0 --out "$TMP/k.h5" >"$TMP/out" 2>"$TMP/err"
    check "$name: the rerun finishes" "[ $? -eq 0 ]" || tail -3 "$TMP/err"
    check "$name: the rerun takes $ended search(es) as they ended and continues $continued" \
        "grep -q ': $ended branch-and-bound search(es) taken from the journal as they ended, $continued continued from their last snapshot' '$TMP/err'" ||
        cat "$TMP/err"
    check "$name: nothing journaled twice (both runs' records are the uninterrupted run's)" \
        "[ \"\$(records '$TMP/k.h5.journal')\" = '$snaps $outs $outs 0' ]" ||
        echo "# $(records "$TMP/k.h5.journal") against $snaps $outs $outs 0"
    check "$name: rows bit-identical to the uninterrupted run" "$SAME '$TMP/ref.h5' '$TMP/k.h5'"
}
# 4 records: image 0 finished, image 1's first two searches ended (the second
# after one snapshot), the third not started
EXTRA=()
resume "one process, between searches" 4 2 0 $NNCERT
# 20 records: image 2's first search ended, its second cut short mid-search
resume "one process, inside a search" 20 1 1 $NNCERT
EXTRA=(--ranks-per-image 2)
resume "a group of 2 ranks, inside a search" 20 1 1 $MPI 3 $NNCERT

# A rerun by another build: the killed run's journal rewritten as if another
# binary (git 0123456789ab) had started it. Killed after its first record, no
# row is finished yet, but the search's snapshot is that build's work: the
# rerun says so, continues, and ends with the uninterrupted run's rows.
rm -f "$TMP/b.h5" "$TMP/b.h5.journal"
die_after_records 1 $NNCERT certify "${JOB[@]}" --bab-checkpoint-every 0 --out "$TMP/b.h5"
$PY - "$TMP/b.h5.journal" <<'EOF2'
import re, struct, sys, zlib
path = sys.argv[1]
b = open(path, "rb").read()
out, p, runs = bytearray(b[:8]), 8, 0
while p + 12 <= len(b):
    n, t = struct.unpack_from("<II", b, p)
    data = b[p + 8:p + 8 + n]
    if t == 2:
        data, k = re.subn(rb" git=\S+", b" git=0123456789ab", data)
        runs += k
    out += struct.pack("<II", len(data), t) + data + struct.pack("<I", zlib.crc32(struct.pack("<I", t) + data))
    p += 12 + n
assert runs == 1, runs
open(path, "wb").write(out)
EOF2
$NNCERT certify "${JOB[@]}" --bab-checkpoint-every 0 --out "$TMP/b.h5" >"$TMP/out" 2>"$TMP/err"
check "a rerun by another build, with only a search's snapshot journaled, names that build" \
    "grep -q 'b.h5 was run before by another build (git 0123456789ab; this is [^ ;]*): its 0 finished rows are kept as they are and its [1-9][0-9]* record(s) of unfinished tasks used again' '$TMP/err'" ||
    cat "$TMP/err"
check "... and ends with the uninterrupted run's rows" "$SAME '$TMP/ref.h5' '$TMP/b.h5'"
