#!/usr/bin/env bash
# Checkpoints of branch and bound (doc/bab.md "Checkpoints"): a search killed
# with SIGKILL right after its k-th snapshot and run again continues from that
# snapshot and ends with the answer, the tree (domains, rounds, leaves, depth)
# and the PGD steps of a run never interrupted; by input halves and by ReLU
# phases, killed twice, stopped by its timeout and continued with more time;
# snapshots of another job and damaged ones are refused naming the file; a
# snapshot of another build (or of format 01, which names none) is resumed
# with a note saying so; and through vnncomp, a group of ranks resumes an
# instance the same way.
. "$(dirname "$0")/lib.sh"
export OMPI_MCA_rmaps_base_oversubscribe=1 OPENBLAS_NUM_THREADS=1
PY=/usr/bin/python3
M=models/acas/acasxu_like_3x25.onnx
V=benchmarks/zoo_bab/vnnlib/acas_prop_1.vnnlib
C=$TMP/search.ckpt

# the search's own numbers from verify's stderr: answer, tree and PGD steps
tree() {
    { head -1 "$1.out"
      grep -o '[0-9]* PGD steps' "$1.err"
      grep -o 'branch and bound.*rounds' "$1.err"; } 2>/dev/null
}

# run TAG ARGS...: verify with ARGS; stdout, stderr and exit status under $TMP/TAG
run() {
    local tag=$1; shift
    "$NNCERT" verify --model "$M" --vnnlib "$V" --bab "$@" >"$TMP/$tag.out" 2>"$TMP/$tag.err" &
    { wait $!; } 2>/dev/null  # the shell would report the test's own kill
    echo $? >"$TMP/$tag.rc"
}

# kill_resume NAME KILLS ARGS...: one run never interrupted; then runs killed
# after snapshot 3 of each (KILLS times) and a last one to the end, every one
# with --checkpoint every round. Same answer, tree and steps; the checkpoint is
# gone after the answer.
kill_resume() {
    local name=$1 kills=$2; shift 2
    rm -f "$C"
    run full "$@"
    local k
    for k in $(seq "$kills"); do
        NNCERT_TEST_KILL_AFTER_SNAPSHOTS=3 run "killed$k" "$@" --checkpoint "$C" --checkpoint-every 0
        check "$name: run $k killed after its 3rd snapshot (SIGKILL), the checkpoint on disk" \
            "[ \"\$(cat $TMP/killed$k.rc)\" = 137 ] && [ -s '$C' ]" || tail -3 "$TMP/killed$k.err"
    done
    run resumed "$@" --checkpoint "$C" --checkpoint-every 0
    check "$name: the last run resumes from the checkpoint" "grep -q 'resumed from $C: [0-9]* open domains' $TMP/resumed.err" \
        || tail -3 "$TMP/resumed.err"
    check "$name: ... written by this build, so no note of another" "! grep -q 'was written by' $TMP/resumed.err"
    check "$name: same answer, tree and PGD steps as a run never killed" \
        "[ -n \"\$(tree $TMP/full)\" ] && [ \"\$(tree $TMP/full)\" = \"\$(tree $TMP/resumed)\" ]" \
        || { tree "$TMP/full"; tree "$TMP/resumed"; }
    check "$name: the answer is final, the checkpoint removed" "[ ! -e '$C' ]"
}

# 1. usage
expect_failure "--checkpoint without --bab is a usage error" "--checkpoint needs --bab" \
    "$NNCERT" verify --model "$M" --vnnlib "$V" --checkpoint "$C"
expect_failure "--checkpoint-every without --checkpoint is a usage error" "needs --checkpoint" \
    "$NNCERT" verify --model "$M" --vnnlib "$V" --bab --checkpoint-every 5
expect_failure "--checkpoint-every below 0 is a usage error" "must be >= 0" \
    "$NNCERT" verify --model "$M" --vnnlib "$V" --bab --checkpoint "$C" --checkpoint-every -1
cp "$M" "$TMP/model.onnx"
expect_failure "a checkpoint that is the model file is refused" "model.onnx" \
    "$NNCERT" verify --model "$TMP/model.onnx" --vnnlib "$V" --bab --checkpoint "$TMP/model.onnx"
check "... and the model is untouched" "cmp -s '$M' '$TMP/model.onnx'"

# 2. kill -9 and resume: the same search
kill_resume "input halves" 1 --bab-split input --bab-batch 2
# FROWN's warm starts live in the domains: a resumed child starts where its
# parent's optimization ended, as in the run never killed
kill_resume "input halves, FROWN warm starts" 1 --bab-split input --bab-batch 2 --method frown --bab-unit 1
# ... and FROWN's default batches of 8 (each state seeded from its parent)
kill_resume "input halves, FROWN in batches" 1 --bab-split input --bab-batch 2 --method frown
# batches of input halves (doc/bab.md "Batches"): units of 3 jobs, part-filled too
kill_resume "input halves in batches of 3" 1 --bab-split input --bab-batch 2 --bab-unit 3
kill_resume "ReLU phases, killed twice" 2 --bab-split relu --bab-batch 4 --bab-max-domains 1500
check "ReLU phases: the search ran into its domain limit (a long tree)" "grep -q '^unknown' $TMP/full.out"

# 3. the timeout keeps the checkpoint; a longer --timeout continues it
rm -f "$C"
run short --bab-split relu --bab-max-domains 0 --timeout 1 --checkpoint "$C" --checkpoint-every 30
check "a search stopped by --timeout answers timeout and keeps its checkpoint" \
    "grep -q '^timeout' $TMP/short.out && [ -s '$C' ] && grep -q 'kept' $TMP/short.err" || tail -3 "$TMP/short.err"
run longer --bab-split relu --bab-max-domains 0 --timeout 2 --checkpoint "$C" --checkpoint-every 30
check "a rerun with a longer --timeout continues it (timeout counts both runs)" \
    "grep -q 'resumed from' $TMP/longer.err && grep -q '^timeout' $TMP/longer.out" || tail -3 "$TMP/longer.err"

# 3b. the writer's build: not part of the job (the search resumes), but named
# when it is not this binary's. rebuild IN OUT BUILD: the file with BUILD as its
# writer (format 02), or with none (BUILD "v1": format 01), checksum right.
rebuild() {
    $PY - "$1" "$2" "$3" <<'EOF2'
import struct, sys, zlib
b = open(sys.argv[1], "rb").read()
assert b[:8] == b"NNCKPT02", b[:8]
n = struct.unpack_from("<I", b, 8)[0]
ident, nb = b[12:12 + n], b[12 + n]
rest = b[12 + n + 1 + nb:-4]  # u64 len | state
if sys.argv[3] == "v1":
    out = b"NNCKPT01" + struct.pack("<I", n) + ident + rest
else:
    w = sys.argv[3].encode()
    out = b"NNCKPT02" + struct.pack("<I", n) + ident + bytes([len(w)]) + w + rest
open(sys.argv[2], "wb").write(out + struct.pack("<I", zlib.crc32(out)))
EOF2
}
cp "$C" "$TMP/kept.ckpt"
rebuild "$TMP/kept.ckpt" "$C" 0123456789ab
run other --bab-split relu --bab-max-domains 0 --timeout 3 --checkpoint "$C" --checkpoint-every 30
check "a snapshot of another build is resumed, and the note names both builds" \
    "grep -q 'resumed from' $TMP/other.err && grep -q '^timeout' $TMP/other.out && grep -q \"$C was written by another build (git 0123456789ab; this is [^ ;]*)\" $TMP/other.err" \
    || tail -3 "$TMP/other.err"
rebuild "$TMP/kept.ckpt" "$C" v1
run old --bab-split relu --bab-max-domains 0 --timeout 3 --checkpoint "$C" --checkpoint-every 30
check "a snapshot of format 01 (no build) is resumed, and the note says its build is unknown" \
    "grep -q 'resumed from' $TMP/old.err && grep -q 'was written by a build that did not record itself' $TMP/old.err" \
    || tail -3 "$TMP/old.err"
rebuild "$TMP/kept.ckpt" "$C" "$(printf 'a\tb')"
run ctl --bab-split relu --bab-max-domains 0 --timeout 3 --checkpoint "$C" --checkpoint-every 30
check "a build name with a control byte is printed with it replaced" "grep -q 'another build (git a?b;' $TMP/ctl.err" \
    || tail -3 "$TMP/ctl.err"

# 4. refused snapshots, each naming the file
expect_failure "a checkpoint of another job (other --bab-batch) is refused, naming the setting" \
    "search.ckpt belongs to another job \(this job: 'batch=3'; the file: 'batch=8'\)" \
    "$NNCERT" verify --model "$M" --vnnlib "$V" --bab --bab-split relu --bab-max-domains 0 --bab-batch 3 \
    --timeout 1 --checkpoint "$C"
# an identity is outside data: a terminal escape in it is printed as '?'
$PY - "$TMP/kept.ckpt" "$TMP/esc.ckpt" <<'EOF2'
import struct, sys, zlib
b = open(sys.argv[1], "rb").read()
n = struct.unpack_from("<I", b, 8)[0]
ident = b[12:12 + n] + b" x=\x1b[2J"
out = b[:8] + struct.pack("<I", len(ident)) + ident + b[12 + n:-4]
open(sys.argv[2], "wb").write(out + struct.pack("<I", zlib.crc32(out)))
EOF2
expect_failure "... and a setting with a control byte is printed with it replaced" \
    "esc.ckpt belongs to another job \(this job: \(nothing\); the file: 'x=\?\[2J'\)" \
    "$NNCERT" verify --model "$M" --vnnlib "$V" --bab --bab-split relu --bab-max-domains 0 --timeout 1 \
    --checkpoint "$TMP/esc.ckpt"
run fresh --bab-split relu --bab-max-domains 0 --bab-batch 3 --timeout 1 --checkpoint "$C" --force-new
check "--force-new starts afresh" "[ \"\$(cat $TMP/fresh.rc)\" = 0 ] && ! grep -q 'resumed' $TMP/fresh.err"
cp "$C" "$TMP/good.ckpt"
$PY - "$C" <<'EOF'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
b[len(b) // 2] ^= 0x40
open(sys.argv[1], "wb").write(b)
EOF
expect_failure "a damaged checkpoint (one bit flipped) is refused" "search.ckpt: damaged checkpoint \\(checksum" \
    "$NNCERT" verify --model "$M" --vnnlib "$V" --bab --bab-split relu --bab-max-domains 0 --bab-batch 3 \
    --timeout 1 --checkpoint "$C"
# a well-formed file whose snapshot is cut short: the decoder's own checks
$PY - "$TMP/good.ckpt" "$C" <<'EOF'
import struct, sys, zlib
b = open(sys.argv[1], "rb").read()
n = struct.unpack_from("<I", b, 8)[0]
nb = b[12 + n]
head = 8 + 4 + n + 1 + nb + 8
state = b[head:-4][:200]
out = b[:head - 8] + struct.pack("<Q", len(state)) + state
open(sys.argv[2], "wb").write(out + struct.pack("<I", zlib.crc32(out)))
EOF
expect_failure "a snapshot cut short (checksum right) is refused" "search.ckpt: branch-and-bound checkpoint: .*runs past the end" \
    "$NNCERT" verify --model "$M" --vnnlib "$V" --bab --bab-split relu --bab-max-domains 0 --bab-batch 3 \
    --timeout 1 --checkpoint "$C"

# 5. vnncomp: a rank group's leader writes the snapshots; a rerun after the job
# was killed resumes the instance and ends with the tree of an unbroken run
A=$(pwd)/models/acas
mkdir -p "$TMP/bench"
printf '%s\n' "$A/acasxu_like_2x12.onnx,$(pwd)/$V,60" "$A/acasxu_like_3x25.onnx,$(pwd)/$V,60" >"$TMP/bench/instances.csv"
BAB=(--bab --bab-split relu --bab-batch 4 --bab-max-domains 1500)
domains() {
    $PY -c "import h5py, sys; r = h5py.File(sys.argv[1], 'r')['results']; print(list(r['result']), list(r['bab_domains']), list(r['bab_open']))" "$1"
}
"$NNCERT" vnncomp --instances "$TMP/bench/instances.csv" --out "$TMP/vfull.csv" "${BAB[@]}" >"$TMP/vfull.out" 2>&1
check "vnncomp, one process: both instances answered" "[ -s '$TMP/vfull.csv' ]" || tail -3 "$TMP/vfull.out"
NNCERT_TEST_KILL_AFTER_SNAPSHOTS=3 mpirun -np 3 "$NNCERT" vnncomp --instances "$TMP/bench/instances.csv" \
    --out "$TMP/v.csv" "${BAB[@]}" --ranks-per-instance 2 --checkpoint-every 0 >"$TMP/vkill.out" 2>&1 &
{ wait $!; } 2>/dev/null
check "vnncomp, 3 ranks, a group of 2: the leader killed after its 3rd snapshot, the job stopped, a snapshot left" \
    "[ ! -e '$TMP/v.csv' ] && ls '$TMP/v.csv.bab/'instance-*.ckpt >/dev/null 2>&1" || tail -3 "$TMP/vkill.out"
mpirun -np 3 "$NNCERT" vnncomp --instances "$TMP/bench/instances.csv" --out "$TMP/v.csv" "${BAB[@]}" \
    --ranks-per-instance 2 --checkpoint-every 0 >"$TMP/vres.out" 2>&1
check "the rerun resumes the instance from its snapshot" "grep -q 'resumed from .*instance-[0-9]*.ckpt: [0-9]* open domains' '$TMP/vres.out'" \
    || tail -5 "$TMP/vres.out"
check "... answers, domains bounded and open are an unbroken one-process run's ($(domains "$TMP/vfull.h5" 2>&1))" \
    "[ \"\$(domains '$TMP/vfull.h5')\" = \"\$(domains '$TMP/v.h5')\" ]" || domains "$TMP/v.h5"
check "... and no snapshot is left once every answer is journaled" "[ -z \"\$(ls '$TMP/v.csv.bab')\" ]"
