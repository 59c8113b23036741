#!/usr/bin/env bash
# no-sanitizer: (b) runs under ulimit -v, where ASan cannot reserve its shadow.
# Memory (doc/scheduler.md "Memory"): a job whose estimate exceeds --max-memory,
# or the default limit (here ulimit -v), is refused before any work, naming the
# limit's source and the keys that lower it, with no results file left behind;
# an allocation that fails mid-task is a failed row with its reason (the run
# goes on), and a rerun without the limit computes those rows again.
. "$(dirname "$0")/lib.sh"
D=fashion-mnist:test
M=models/fmnist_mlp_2x20_relu.h5
C=models/fmnist_cnn_lenet_maxpool.h5
PY=/usr/bin/python3

# (a) refused before any work
expect_failure "--max-memory 1M is refused, naming the limit and row_block" \
    "memory: a worker rank needs about .* its limit is 1.0 MiB \(from max_memory \(--max-memory\)\).*row_block" \
    $NNCERT certify --model $M --data $D --count 3 --eps 0.001 --max-memory 1M --out "$TMP/a.h5"
check "the refused job left no results file or journal" "[ ! -e '$TMP/a.h5' ] && [ ! -e '$TMP/a.h5.journal' ]"
expect_failure "a bad --max-memory is a usage error" "max_memory.*expected a size" \
    $NNCERT certify --model $M --data $D --count 1 --max-memory 12X --out "$TMP/a.h5"
# a limit row_block can meet: the largest row block that fits is suggested and works
LIM=56M
expect_failure "a limit only a smaller row block meets suggests one" "row_block = [0-9]+ \(--row-block" \
    $NNCERT certify --model $C --data $D --count 2 --eps 0.001 --max-memory $LIM --out "$TMP/a.h5"
RB=$(grep -oE 'row_block = [0-9]+' "$TMP/err" | head -1 | grep -oE '[0-9]+$')
expect_success "the suggested --row-block $RB fits the same limit" $NNCERT certify --model $C --data $D --count 2 \
    --eps 0.001 --max-memory $LIM --row-block "${RB:-0}" --out "$TMP/rb.h5"
expect_failure "frown names frown_group" "frown_group = [0-9]+|frown_warm = 0" \
    $NNCERT certify --model $C --data $D --count 1 --eps 0.001 --method frown --row-block 1 --max-memory $LIM \
    --out "$TMP/a.h5"
expect_success "max_memory is not part of the job: a rerun with another limit resumes" \
    $NNCERT certify --model $C --data $D --count 2 --eps 0.001 --max-memory 4G --row-block "${RB:-0}" --out "$TMP/rb.h5"
check "... and finds every row finished" "grep -q 'resumed: 2 rows' '$TMP/out'"

# (b) under ulimit -v: the default limit refuses LBP's linear bounds before any work
(ulimit -v 300000; timeout -s KILL 120 $NNCERT certify --model $C --data $D --count 3 --eps 0.001 --method lbp \
    --out "$TMP/v.h5" >"$TMP/out" 2>"$TMP/err"; echo $? >"$TMP/rc")
check "ulimit -v: refused before work, from RLIMIT_AS" "[ \$(cat '$TMP/rc') = 1 ] && \
    grep -q 'from RLIMIT_AS (ulimit -v' '$TMP/err' && [ ! -e '$TMP/v.h5' ]" || head -3 "$TMP/err"
# the same with the check overridden: the allocation fails mid-task, rows fail with the reason
(ulimit -v 300000; timeout -s KILL 120 $NNCERT certify --model $C --data $D --count 3 --eps 0.001 --method lbp \
    --max-memory 100G --out "$TMP/v.h5" >"$TMP/out" 2>"$TMP/err"; echo $? >"$TMP/rc")
check "ulimit -v: the run completes with failed rows naming the allocation" "[ \$(cat '$TMP/rc') = 1 ] && \
    grep -q 'failed 3' '$TMP/out' && [ \$(grep -c 'failed: out of memory allocating .* for LBP' '$TMP/err') = 3 ]" \
    || { head -3 "$TMP/err"; cat "$TMP/out"; }
check "the failed rows are in the results file with their reason" "$PY - '$TMP/v.h5' <<'PY'
import sys, h5py
r = h5py.File(sys.argv[1], 'r')['results']
assert sorted(r['index'][()]) == [0, 1, 2], r['index'][()]
assert all(s == 3 for s in r['status'][()]), r['status'][()]
assert all(b'out of memory' in m for m in r['message'][()]), r['message'][()]
PY"
expect_success "a rerun without the limit" $NNCERT certify --model $C --data $D --count 3 --eps 0.001 --method lbp \
    --out "$TMP/v.h5"
check "... computes the failed rows again" "grep -q 'failed 0' '$TMP/out' && ! grep -q 'resumed:' '$TMP/out'"
check "... and the file holds one finished row per image" "$PY - '$TMP/v.h5' <<'PY'
import sys, h5py
r = h5py.File(sys.argv[1], 'r')['results']
assert sorted(r['index'][()]) == [0, 1, 2], r['index'][()]
assert all(s in (0, 1) for s in r['status'][()]), r['status'][()]
PY"
